// CKernels: x86 SIMD kernels behind PanguServe's Tensors module.
//
// Every entry point checks the CPU at run time (AVX2 + FMA + F16C; AVX-512
// F/BW/VL and VNNI for the paths that have them) and falls back to portable C
// otherwise, so the library never executes an instruction the machine lacks.
// Swift calls these through `Tensors.MatMul`.
#ifndef PANGU_CKERNELS_H
#define PANGU_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Weight element types (same meaning as Swift `DType`).
enum {
    PG_DTYPE_F32 = 0,
    PG_DTYPE_F16 = 1,
    PG_DTYPE_BF16 = 2,
    /// GGUF Q8_0 blocks of 32 weights: f16 scale d, then 32 int8 q; w = d * q.
    /// Rows must hold a multiple of 32 weights.
    PG_DTYPE_Q8_0 = 3,
    /// GGUF Q4_0 blocks of 32 weights: f16 scale d, then 16 bytes; byte j holds
    /// weight j in its low nibble and weight j + 16 in its high nibble; w = d * (q - 8).
    /// Rows must hold a multiple of 32 weights.
    PG_DTYPE_Q4_0 = 4,
    /// GGUF (llama.cpp) Q4_K super-blocks of 256 weights in 144 bytes: f16 d, f16 dmin,
    /// 12 bytes of packed 6-bit scales and mins of 8 sub-blocks of 32, 128 bytes of
    /// nibbles; w = d * scale * q - dmin * min (layout in Swift `DType.q4_K`).
    /// Rows must hold a multiple of 256 weights. Load-only; f32 activations.
    PG_DTYPE_Q4_K = 5,
    /// GGUF Q6_K super-blocks of 256 weights in 210 bytes: 128 bytes of low 4 bits,
    /// 64 bytes of high 2 bits, 16 int8 scales of sub-blocks of 16, f16 d;
    /// w = d * scale * (q - 32) (layout in Swift `DType.q6_K`). Rows must hold a
    /// multiple of 256 weights. Load-only; f32 activations.
    PG_DTYPE_Q6_K = 6,
    /// Q4_0 repacked in groups of 16 rows by `pg_repack_q4_0x16` (the same 18 bytes per
    /// 32 weights; layout in q4_0x16.c and Swift `DType.q4_0x16`). The row count, and
    /// every row range passed to a kernel, is a multiple of 16. Integer kernels only.
    PG_DTYPE_Q4_0X16 = 7,
    /// Q4_K repacked in groups of 8 rows by `pg_repack_q4_Kx8` (148 bytes per 256
    /// weights; layout in q4_Kx8.c and Swift `DType.q4_Kx8`). The row count, and every row range
    /// passed to a kernel, is a multiple of 8.
    PG_DTYPE_Q4_KX8 = 8,
    /// Q6_K repacked in groups of 8 rows by `pg_repack_q6_Kx8` (214 bytes per 256
    /// weights; layout in q6_Kx8.c and Swift `DType.q6_Kx8`); rows as for Q4_Kx8.
    PG_DTYPE_Q6_KX8 = 9,
    /// Q8_0 repacked in groups of 16 rows by `pg_repack_q8_0x16` (34 bytes per 32 weights;
    /// layout in q8_0x16.c and Swift `DType.q8_0x16`). The row count, and every row range
    /// passed to a kernel, is a multiple of 16. Integer kernels only.
    PG_DTYPE_Q8_0X16 = 10,
};

/// Repacks Q4_0 rows [0, n) (n a multiple of 16, k of 32) from GGUF's layout into Q4_0x16.
void pg_repack_q4_0x16(const void *src, int64_t n, int64_t k, void *dst);

/// Weight (row, col) of a Q4_0x16 matrix with rows of k weights, as f32.
float pg_q4_0x16_element(const void *w, int64_t k, int64_t row, int64_t col);

/// Repacks Q4_K rows [0, n) (n a multiple of 8, k of 256) into Q4_Kx8.
void pg_repack_q4_Kx8(const void *src, int64_t n, int64_t k, void *dst);

/// Weight (row, col) of a Q4_Kx8 matrix with rows of k weights, as f32.
float pg_q4_Kx8_element(const void *w, int64_t k, int64_t row, int64_t col);

/// Repacks Q8_0 rows [0, n) (n a multiple of 16, k of 32) into Q8_0x16.
void pg_repack_q8_0x16(const void *src, int64_t n, int64_t k, void *dst);

/// Weight (row, col) of a Q8_0x16 matrix with rows of k weights, as f32.
float pg_q8_0x16_element(const void *w, int64_t k, int64_t row, int64_t col);

/// Repacks Q6_K rows [0, n) (n a multiple of 8, k of 256) into Q6_Kx8.
void pg_repack_q6_Kx8(const void *src, int64_t n, int64_t k, void *dst);

/// Weight (row, col) of a Q6_Kx8 matrix with rows of k weights, as f32.
float pg_q6_Kx8_element(const void *w, int64_t k, int64_t row, int64_t col);

/// 1 when the AVX2 + FMA + F16C kernels run on this CPU, else 0.
int pg_has_avx2_fma(void);

/// 1 when the AVX-512 F / BW / VL kernels may run on this CPU (the OS saves the 512-bit
/// registers, and `PANGU_KERNEL_ISA` is not `avx2`), else 0: the float prefill kernel then
/// runs on 512-bit registers.
int pg_has_avx512(void);

/// 1 when the integer kernels take AVX-512 VNNI's `vpdpbusd` (on 256-bit registers) on this
/// CPU, else 0. `PANGU_KERNEL_ISA=avx2` in the environment keeps them on AVX2 (for A/B runs).
int pg_has_avx512_vnni(void);

/// 1 when bf16 W runs against bf16 x on `vdpbf16ps` (AVX-512 BF16, with the AVX-512 paths), else 0.
int pg_has_avx512_bf16(void);

/// bf16 activations (opt-in): bytes of x [m, k] rounded to bf16 by `pg_pack_bf16x` for
/// `pg_linear_rows_bf16x`, or 0 where that kernel does not run (k odd, no AVX-512 BF16).
int64_t pg_bf16x_bytes(int64_t m, int64_t k);

/// The units `pg_pack_bf16x` packs x [m, k] in: m rows below 16 rows, else tiles of 16 rows.
int64_t pg_bf16x_units(int64_t m);

/// Units [u0, u1) of x [m, k] rounded to bf16 (nearest even) at their place in `dst`, laid out
/// for `pg_linear_rows_bf16x` (bf16x.c); once per call, shared by its tasks.
void pg_pack_bf16x(const float *x, int64_t m, int64_t k, int64_t u0, int64_t u1, void *dst);

/// `pg_linear_rows` for bf16 W and x packed by `pg_pack_bf16x`: the same sums, with x rounded
/// to bf16 (products exact, f32 sums).
void pg_linear_rows_bf16x(const void *xb, int64_t m, int64_t k, const void *w, int64_t r0, int64_t r1,
                          const float *bias, float *out, int64_t ldo);

/// 1 when bf16, Q8_0, Q4_0 and Q4_K prefill (16 x rows or more) runs on AMX tiles: opted into by
/// `PANGU_KERNEL_ISA=amx`, on a CPU with AMX-INT8, AMX-BF16 and AVX-512 VNNI whose OS grants
/// this process the tile state; else 0.
int pg_has_amx(void);

/// bf16 W on AMX (`pg_has_amx`): bytes of x [m, k] packed by `pg_pack_bf16_parts` for
/// `pg_linear_rows_bf16_parts`, or 0 where that kernel does not apply (m < 16, k not a
/// multiple of 32, no AMX).
int64_t pg_bf16_parts_bytes(int64_t m, int64_t k);

/// x tiles [t0, t1) (rows 16 t ..< 16 t + 16, t < m / 16) as three bf16 parts (hi + mid + lo =
/// x to about 2^-26) in AMX tiles of pairs of K, at their place in `parts`: once per call (in
/// parallel over tiles), shared by every task of `pg_linear_rows_bf16_parts`.
void pg_pack_bf16_parts(const float *x, int64_t k, int64_t t0, int64_t t1, void *parts);

/// `pg_linear_rows` for bf16 W with x also packed by `pg_pack_bf16_parts`: tiles of 16 x rows
/// by 32 W rows on AMX, the rows left over by `pg_linear_rows`.
void pg_linear_rows_bf16_parts(const void *parts, const float *x, int64_t m, int64_t k, const void *w, int64_t r0,
                               int64_t r1, const float *bias, float *out, int64_t ldo);

/// 1 in the test build with AVX-512 and AMX emulated (`PANGU_EMULATE_ISA=1`, Package.swift), else 0.
int pg_isa_emulated(void);

/// Rows [r0, r1) of a linear layer:
///   out[i * ldo + r] = bias[r] + sum_j x[i * k + j] * W[r * k + j]
/// for i < m, with W row-major [n, k] of `dtype`, x f32 [m, k], f32 accumulation.
/// `bias` may be NULL. Register-blocked (several W rows x several x rows per
/// inner loop) and cache-blocked over k and m.
void pg_linear_rows(const float *x, int64_t m, int64_t k, const void *w, int dtype,
                    int64_t r0, int64_t r1, const float *bias, float *out, int64_t ldo);

/// Bytes needed by `pg_quantize_activations` for x [m, k] (k a multiple of 32).
size_t pg_quantized_activation_bytes(int64_t m, int64_t k);

/// Quantizes activations x [m, k] to 8-bit blocks of 32 for the integer
/// kernels: per block d = max|x| / 127 (f32) and q = round-to-nearest-even(x * 127 / max|x|).
/// `qx` receives int8 q [m, k], then at the next 64-byte boundary f32 d and f32 d * (sum of
/// the block's q), each [ceil(m / 8)][k / 32][8]: tiles of 8 rows (rows past m zero), so
/// one block's scales for a tile are one vector and a tile's scales are contiguous.
void pg_quantize_activations(const float *x, int64_t m, int64_t k, void *qx);

/// Rows [r0, r1) of `pg_quantize_activations` into the layout for all m rows (ranges that
/// cover [0, m) once, on any threads, make the same bytes).
void pg_quantize_activation_rows(const float *x, int64_t m, int64_t k, int64_t r0, int64_t r1, void *qx);

/// `pg_quantize_activations` with llama.cpp's rounding for k-quant products (its Q8_K):
/// one scale per 256 (k a multiple of 256), d = max / -127 where max is the signed
/// value of largest magnitude, q = min(127, round-to-nearest-even(x / d)); stored in
/// the same layout (each block of 32 carrying its group's d).
void pg_quantize_activations_k(const float *x, int64_t m, int64_t k, void *qx);

/// Rows [r0, r1) of `pg_quantize_activations_k`, as `pg_quantize_activation_rows`.
void pg_quantize_activation_rows_k(const float *x, int64_t m, int64_t k, int64_t r0, int64_t r1, void *qx);

/// Adds 128 to every quant of activations made by `pg_quantize_activations_k`, in place
/// (XOR 0x80: the bytes then read as unsigned x + 128; scales untouched). Q6_Kx8 weights
/// take their activations so, once per call rather than once per row range.
void pg_offset_activations(void *qx, int64_t m, int64_t k);

/// `pg_linear_rows` for Q8_0 / Q4_0 / Q4_K / Q6_K weights and their repacked forms with activations made by
/// `pg_quantize_activations`: each block's dot product in integer arithmetic, scaled by
/// d_w * d_x in f32. Q8_0 / Q4_0: one x row against 4 W rows at a time, read once from
/// memory; more rows: tiles of 8 x rows (kept in L1) against every W row of a 64-row
/// chunk (kept in L2). Q8_0x16 / Q4_0x16 / Q4_Kx8 / Q6_Kx8: 8 W rows per register (16 with
/// AVX-512), tiles of 4 x rows (8 with AVX-512; q8_0x16.c, q4_0x16.c, q4_Kx8.c, q6_Kx8.c; the k-quants take
/// `pg_quantize_activations_k`'s rounding, offset by `pg_offset_activations` for Q6_Kx8).
/// k-quants: each super-block unpacked once per W row and dotted with every x row.
void pg_linear_rows_quantized(const void *qx, int64_t m, int64_t k, const void *w, int dtype, int64_t r0, int64_t r1,
                              const float *bias, float *out, int64_t ldo);

/// Causal attention of `numQueries` query vectors over one KV head of a paged cache:
///   outs[i][0..<headDim] = sum_p softmax_p(scale * queries[i] . K[slot(p)]) V[slot(p)], p < numContext[i],
/// where slot(p) = blockTable[p / blockSize] * blockSize + p % blockSize and row s of
/// K (V) starts at element s * kvStride of keys (values), stored as `kvDtype`
/// (PG_DTYPE_F32, PG_DTYPE_F16 or PG_DTYPE_BF16). Every query reads the
/// same sequence's blocks (e.g. a GQA group's heads, or a run of prefill tokens), so
/// each K and V row loaded serves several queries. Every numContext[i] >= 1.
/// `scratch` holds `pg_attention_scratch_bytes` bytes, 8-byte aligned.
void pg_attention(const float *const *queries, float *const *outs, const int64_t *numContext, int64_t numQueries,
                  const void *keys, const void *values, int kvDtype, int64_t kvStride, const int64_t *blockTable,
                  int64_t blockSize, int64_t headDim, float scale, void *scratch);

/// Scratch bytes `pg_attention` needs for these contexts and head size.
size_t pg_attention_scratch_bytes(const int64_t *numContext, int64_t numQueries, int64_t headDim);

/// SwiGLU: gate[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + e^-g).
void pg_silu_mul(float *gate, const float *up, int64_t count);

/// Runs a register-only FMA loop (`iterations` rounds of independent FMAs, 16-wide
/// where `pg_has_avx512`, else 8-wide) and returns the number of floating-point
/// operations it performed (2 per lane per FMA). Time it to get the peak FMA rate of
/// one core.
double pg_fma_peak_loop(int64_t iterations);

/// Runs register-only chains of the CPU's fastest int8 multiply-accumulate and returns
/// the operations performed (2 per multiply-add): the int8 dot-product ceiling of one
/// core for the integer kernels. AVX-512 VNNI: `vpdpbusd` on 512-bit registers; AVX2:
/// `vpmaddubsw` (u8 x s8 products) into 16-bit accumulators with `vpaddw`.
double pg_int8_dot_peak_loop(int64_t iterations);

/// The same for bf16 products (2 FLOPs each): AVX-512 BF16's `vdpbf16ps` where
/// `pg_has_avx512_bf16` (the ceiling of bf16 W against bf16 x), else `pg_fma_peak_loop`.
double pg_bf16_dot_peak_loop(int64_t iterations);

/// `pg_int8_dot_peak_loop` for AMX's `tdpbssd` (16 x 16 x 64 products per instruction) where
/// `pg_has_amx`; 0 elsewhere.
double pg_amx_int8_peak_loop(int64_t iterations);

/// The same for AMX's `tdpbf16ps` (16 x 16 x 32 bf16 products, f32 sums): FLOPs.
double pg_amx_bf16_peak_loop(int64_t iterations);

/// Reads `bytes` bytes at `p` with wide loads and returns a value depending on
/// all of them (so the read cannot be optimised away): a streaming read for
/// measuring memory bandwidth.
float pg_stream_read(const void *p, size_t bytes);

/// A spin-wait hint (x86 `pause`): used by kernel threads spinning for work.
static inline void pg_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#ifdef __cplusplus
}
#endif

#endif
