// Helpers shared by the kernel files (not part of the public header).
#ifndef PANGU_KERNELS_INTERNAL_H
#define PANGU_KERNELS_INTERNAL_H

#include <stdint.h>
#include <string.h>

#define PG_AVX2 __attribute__((target("avx2,fma,f16c")))
#ifdef PG_EMULATE_ISA
// Test builds: AVX-512 and AMX emulated on AVX2 (emulated_isa.h); every CPU check says yes.
#include "emulated_isa.h"
#define PG_AVX512 PG_AVX2
#define PG_VNNI PG_AVX2
#define PG_AMX PG_AVX2
#define PG_BF16 PG_AVX2
#define PG_CPU_SUPPORTS_AVX512(feature) 1
#else
#include <immintrin.h>
/// AVX2 plus AVX-512 F / BW / VL: the float prefill kernel's 512-bit path (`pg_has_avx512`).
#define PG_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))
/// PG_AVX512 plus VNNI (`vpdpbusd`): the integer kernels' dot step on CPUs that have it
/// (`pg_has_avx512_vnni`).
#define PG_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
/// PG_AVX512 plus AVX-512 BF16 (`vdpbf16ps`): bf16 W against bf16 x (`pg_has_avx512_bf16`).
#define PG_BF16 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512bf16")))
/// PG_VNNI plus AMX tiles and their int8 and bf16 products (`pg_has_amx`).
#define PG_AMX \
    __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni,amx-tile,amx-int8,amx-bf16")))
/// `__builtin_cpu_supports`, which reports AVX-512 features only where the OS saves the registers.
#define PG_CPU_SUPPORTS_AVX512(feature) __builtin_cpu_supports(feature)
#endif
#define PG_INLINE static inline __attribute__((always_inline))

static inline float bf16_to_float(uint16_t bits) {
    uint32_t wide = (uint32_t)bits << 16;
    float value;
    memcpy(&value, &wide, 4);
    return value;
}

static inline float f16_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exponent = (h >> 10) & 0x1F;
    uint32_t mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {  // subnormal: normalise
        int shift = 0;
        while ((mantissa & 0x400) == 0) {
            mantissa <<= 1;
            shift++;
        }
        bits = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 0x3FF) << 13);
    }
    float value;
    memcpy(&value, &bits, 4);
    return value;
}

/// 16 float elements (weights, or a KV cache row's) from `index` (f32, f16 or bf16) as f32; `mask`
/// selects the first ones (the rest 0).
PG_INLINE PG_AVX512 __m512 load16(const void *w, int64_t index, int dtype, __mmask16 mask) {
    switch (dtype) {
    case PG_DTYPE_F32: return _mm512_maskz_loadu_ps(mask, (const float *)w + index);
    case PG_DTYPE_F16: return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, (const uint16_t *)w + index));
    default:
        return _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, (const uint16_t *)w + index)), 16));
    }
}

/// 16 vectors of 16 lanes transposed in place (r[i] lane j <- r[j] lane i).
PG_INLINE PG_AVX512 void transpose16(__m512 r[16]) {
    __m512 a[16];
    for (int i = 0; i < 8; i++) {
        a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++) {
            const __m512d lo = _mm512_castps_pd(a[4 * i + j]), hi = _mm512_castps_pd(a[4 * i + j + 2]);
            r[4 * i + 2 * j] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo, hi));
            r[4 * i + 2 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo, hi));
        }
    // r[4 i + j]'s 128-bit lane L now holds column 4 L + j of rows 4 i ..< 4 i + 4.
    for (int j = 0; j < 4; j++) {
        const __m512 d0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x44), d1 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xEE);
        const __m512 e0 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x44),
                     e1 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xEE);
        a[j] = _mm512_shuffle_f32x4(d0, e0, 0x88);
        a[4 + j] = _mm512_shuffle_f32x4(d0, e0, 0xDD);
        a[8 + j] = _mm512_shuffle_f32x4(d1, e1, 0x88);
        a[12 + j] = _mm512_shuffle_f32x4(d1, e1, 0xDD);
    }
    for (int i = 0; i < 16; i++) r[i] = a[i];
}

/// e^x for 16 lanes: attention.c's `exp8` on 512-bit registers, 2^n by `vscalefps`.
PG_INLINE PG_AVX512 __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/// Q8_0: 34-byte blocks (f16 scale, 32 x int8).
enum { PG_Q8_BLOCK = 32, PG_Q8_BYTES = 34 };

static inline float q8_0_element(const void *w, int64_t index) {
    const uint8_t *block = (const uint8_t *)w + (index / PG_Q8_BLOCK) * PG_Q8_BYTES;
    uint16_t scale;
    memcpy(&scale, block, 2);
    return f16_to_float(scale) * (float)(int8_t)block[2 + index % PG_Q8_BLOCK];
}

/// Q4_0: 18-byte blocks (f16 scale, 16 bytes of nibble pairs: low = j, high = j + 16).
enum { PG_Q4_BYTES = 18 };

static inline float q4_0_element(const void *w, int64_t index) {
    const uint8_t *block = (const uint8_t *)w + (index / PG_Q8_BLOCK) * PG_Q4_BYTES;
    uint16_t scale;
    memcpy(&scale, block, 2);
    int j = (int)(index % PG_Q8_BLOCK);
    int q = j < 16 ? (block[2 + j] & 0x0F) : (block[2 + j - 16] >> 4);
    return f16_to_float(scale) * (float)(q - 8);
}

PG_INLINE PG_AVX2 float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// ---- quantized activations (quantized.c, kquant_dot.c) ----------------

/// 32 scaled activations (4 vectors, in order) rounded to nearest even and packed to int8.
PG_INLINE PG_AVX2 __m256i pack_int8(const __m256 v[4]) {
    __m256i i32[4];
    for (int c = 0; c < 4; c++) i32[c] = _mm256_cvtps_epi32(v[c]);  // the MXCSR default: nearest even
    // Pack 32-bit lanes to bytes; the packs interleave 128-bit halves, so restore the order after.
    __m256i i8 = _mm256_packs_epi16(_mm256_packs_epi32(i32[0], i32[1]), _mm256_packs_epi32(i32[2], i32[3]));
    return _mm256_permutevar8x32_epi32(i8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/// The sum of 32 int8 values.
PG_INLINE PG_AVX2 int sum_int8(__m256i i8) {
    __m256i sums = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), i8), _mm256_set1_epi16(1));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/// Layout of quantized activations: int8 q[m][k], then (64-byte aligned) f32 d, f32 s = d *
/// (sum of the block's q) (for Q4_0's offset of 8) and s32 o = -8 * (sum of the block's q)
/// (the same offset in integer units, for Q4_0x16's wide tile), each laid out by tiles of 8
/// rows: [m / 8 (rounded up)][k / 32][8], rows past m zero. One block's scales for a tile are
/// one vector, and a tile's scales are contiguous.
static inline int64_t padded_rows(int64_t m) { return (m + 7) / 8 * 8; }

/// Index of row i's scale of block b (see the layout above).
static inline int64_t scale_index(int64_t i, int64_t b, int64_t numBlocks) { return (i / 8 * numBlocks + b) * 8 + i % 8; }

static inline size_t scales_offset(int64_t m, int64_t k) { return ((size_t)(m * k) + 63) / 64 * 64; }

/// The scale arrays d, s and o of quantized activations at `qx` (see the layout above).
typedef struct {
    float *d, *s;
    int32_t *o;
} pg_activation_scales;

/// o, from s.
static inline int32_t *activation_offsets(const float *s, int64_t m, int64_t k) {
    return (int32_t *)(s + padded_rows(m) * (k / PG_Q8_BLOCK));
}

static inline pg_activation_scales activation_scales(const void *qx, int64_t m, int64_t k) {
    float *d = (float *)((uint8_t *)qx + scales_offset(m, k));
    float *s = d + padded_rows(m) * (k / PG_Q8_BLOCK);
    return (pg_activation_scales){d, s, activation_offsets(s, m, k)};
}

/// Sets row i's scales of block b from its scale d and the sum of its quants.
static inline void set_block_scales(pg_activation_scales a, int64_t i, int64_t b, int64_t numBlocks, float d, int sum) {
    const int64_t at = scale_index(i, b, numBlocks);
    a.d[at] = d;
    a.s[at] = d * (float)sum;
    a.o[at] = -8 * sum;
}

/// Zeroes the scales of the rows past m in the last tile of 8 (the kernels read whole tiles).
static inline void zero_padding_scales(pg_activation_scales a, int64_t m, int64_t numBlocks) {
    for (int64_t i = m; i < padded_rows(m); i++)
        for (int64_t b = 0; b < numBlocks; b++) set_block_scales(a, i, b, numBlocks, 0, 0);
}

/// Blocks of x per scale in Q4_0 products: 8 where k is a multiple of 256, whose activations
/// take the k rounding (one scale per 256; `MatMul.Activations`), so Q4_0x16's wide tile applies
/// x's scale once per 8 blocks; otherwise 1.
static inline int64_t q4_0_scale_span(int64_t k) { return k % 256 == 0 ? 256 / PG_Q8_BLOCK : 1; }

/// Eight s32 partial sums of u . x over one block (u unsigned bytes), as f32.
PG_INLINE PG_AVX2 __m256 block_dot(__m256i u, __m256i x) {
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1)));
}

/// Q4_K / Q6_K rows [r0, r1) against activations in the layout above (kquant_dot.c).
PG_AVX2 void pg_kquant_rows_int8(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int dtype, int64_t r0, int64_t r1, float *out, int64_t ldo);

// ---- layouts repacked in groups of rows (q8_0x16.c, q4_0x16.c, q4_Kx8.c, q6_Kx8.c) ----

/// Repacks rows [0, n) (n a multiple of 16) of a format of 32-weight blocks, each an f16 scale and
/// `quantBytes` of quants, into groups of 16 rows (Q8_0x16, Q4_0x16): per group and block, the 16
/// rows' scales, then chunks of 64 bytes, chunk t holding quant bytes 4t ..< 4t + 4 of each row.
static inline void repack_x16(const void *src, int64_t n, int64_t k, int quantBytes, void *dst) {
    const int64_t numBlocks = k / PG_Q8_BLOCK, blockBytes = 2 + quantBytes;
    for (int64_t g = 0; g < n / 16; g++)
        for (int64_t b = 0; b < numBlocks; b++) {
            uint8_t *out = (uint8_t *)dst + (g * numBlocks + b) * 16 * blockBytes;
            for (int r = 0; r < 16; r++) {
                const uint8_t *block = (const uint8_t *)src + ((g * 16 + r) * numBlocks + b) * blockBytes;
                memcpy(out + 2 * r, block, 2);
                for (int t = 0; t < quantBytes / 4; t++) memcpy(out + 32 + 64 * t + 4 * r, block + 2 + 4 * t, 4);
            }
        }
}

/// Quant byte `byte` of row `row`'s block holding column `col` in a `repack_x16` layout, and that
/// block's scale.
static inline uint8_t x16_quant_byte(const void *w, int64_t k, int quantBytes, int64_t row, int64_t col, int byte,
                                     float *scale) {
    const uint8_t *block =
        (const uint8_t *)w + ((row / 16) * (k / PG_Q8_BLOCK) + col / PG_Q8_BLOCK) * 16 * (2 + quantBytes);
    const int r = (int)(row % 16);
    uint16_t bits;
    memcpy(&bits, block + 2 * r, 2);
    *scale = f16_to_float(bits);
    return block[32 + 64 * (byte / 4) + 4 * r + byte % 4];
}

/// 4 activation bytes broadcast to every 32-bit lane (one lane per W row).
PG_INLINE PG_AVX2 __m256i broadcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/// How far ahead of the block being multiplied decode prefetches W: about 1 KiB. Two to
/// four Q4_0x8 / Q8_0x8 (8-row) blocks ahead (576 and 544 bytes) left the kernels at 80-85 % of a
/// streaming read on one thread; 1-1.5 KiB reached 87-93 % (bw harness, best of 5, 3 runs).
#define PG_DECODE_PREFETCH_BYTES 1024

/// The same for the 256-bit VNNI tiles, which run decode alone on AVX-512 VNNI CPUs
/// (`interleaved_rows`): 8 KiB. 1 KiB left a Zen 5 core reading W
/// at 33-34 GB/s (Q4_0) against a plain read's 41-45; 4 KiB gave 40, 8 KiB 44-45.5 (C harness,
/// W of 113 MB).
#define PG_VNNI_DECODE_PREFETCH_BYTES (8 * 1024)

/// The same for the Q4_0 / Q4_K / Q6_K pair tiles (batches; two streams, so about twice as far),
/// in their first x tile's pass. Q4_K_M decode of 4 and 16 sequences at 2 threads (68-75 GB/s
/// window): one super-block ahead 118-124 and 263-278 tok/s, 8 KiB 113-126 and 271-274, 12-13.7
/// KiB 159-166 and 330. Q4_0 (46-48 GB/s): 1 KiB 189 and 350, 8-16 KiB 205-210 and 402-428.
#define PG_PAIR_PREFETCH_BYTES (12 * 1024)

/// The Q8_0x16 tile's in batches, in every x tile. Its 8-row pair tile (two streams, first x
/// tile only) measured: 12 KiB made 16 sequences 270 -> 215-220 tok/s at 2 threads, 6 KiB
/// changed nothing, 3 KiB 265-270 -> 299-301 (47-48 GB/s window) and at one thread 142 -> 163.
#define PG_Q8_PREFETCH_BYTES (4 * 1024)

/// The first `group`-sized step at least `bytes` ahead (PG_DECODE_PREFETCH_AHEAD: decode's 1 KiB).
#define PG_PREFETCH_AHEAD(bytes, group) (((bytes) / (group) + 1) * (group))
#define PG_DECODE_PREFETCH_AHEAD(group) PG_PREFETCH_AHEAD(PG_DECODE_PREFETCH_BYTES, group)

/// Prefetches `bytes` bytes from `p` (decode: the next blocks of W while these compute).
/// Keep each call to a few lines, spread over the work: the k-quant kernels once
/// prefetched the whole next super-block (19-27 lines) at the start of each, and decode
/// read 52-63 % (Q6_Kx8) and 71-83 % (Q4_Kx8) of a one-thread streaming read; an eighth
/// per sub-block, 76-83 % and 83-92 % (C harness, three runs).
PG_INLINE void prefetch_bytes(const uint8_t *p, int bytes) {
    for (int line = 0; line < bytes; line += 64) _mm_prefetch((const char *)p + line, _MM_HINT_T0);
}

/// `prefetch_bytes` for decode's W, read once per token: non-temporal, so the stream of weights
/// does not push out of L2 and L3 what the rest of a step reads (activations, norms, the KV
/// cache, the engine's own data). ModelBench Q4_0 single-stream decode on Zen 5, alternating
/// with T0: one thread 55.4-56.6 -> 58.8-61.2 tok/s, two 69.3-71.0 -> 70.2-75.8; a plain
/// streaming read is no faster with either hint.
PG_INLINE void prefetch_bytes_nta(const uint8_t *p, int bytes) {
    for (int line = 0; line < bytes; line += 64) _mm_prefetch((const char *)p + line, _MM_HINT_NTA);
}

/// `prefetch_bytes` into L2 only (a later pass's W, which should not push this pass's out of L1).
PG_INLINE void prefetch_bytes_l2(const uint8_t *p, int bytes) {
    for (int line = 0; line < bytes; line += 64) _mm_prefetch((const char *)p + line, _MM_HINT_T1);
}

/// The int8 dot step of the interleaved kernels: acc + the u8 x s8 products of u and x,
/// summed over each 32-bit lane's 4 bytes. AVX2 takes `vpmaddubsw` (pairs to 16 bits),
/// `vpmaddwd` against ones and `vpaddd`; AVX-512 VNNI does it all in one `vpdpbusd`.
typedef __m256i (*pg_dot_step)(__m256i acc, __m256i u, __m256i x);
/// Takes a block's sums from a dot step's accumulator to 8 s32 lanes.
typedef __m256i (*pg_dot_widen)(__m256i sums);

PG_INLINE PG_AVX2 __m256i dot_step_avx2(__m256i acc, __m256i u, __m256i x) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1)));
}

/// AVX2's cheaper step where a block's sums fit 16 bits (Q4_0: 15 x 127 x 16 < 2^15):
/// `vpmaddubsw` and `vpaddw`, widened once per block by `widen16_avx2`.
PG_INLINE PG_AVX2 __m256i dot16_step_avx2(__m256i acc, __m256i u, __m256i x) {
    return _mm256_add_epi16(acc, _mm256_maddubs_epi16(u, x));
}

PG_INLINE PG_AVX2 __m256i widen16_avx2(__m256i sums) { return _mm256_madd_epi16(sums, _mm256_set1_epi16(1)); }

PG_INLINE PG_VNNI __m256i dot_step_vnni(__m256i acc, __m256i u, __m256i x) { return _mm256_dpbusd_epi32(acc, u, x); }

PG_INLINE PG_AVX2 __m256i widen_none(__m256i sums) { return sums; }

/// One group of W rows' (8, or 16 for Q8_0x16) dot products with x rows [i, i + RX), written to
/// out[(i + a) * ldo ..] plus bias[..] (NULL: none; `store_tile`).
typedef void (*pg_group_tile)(const int8_t *q, const float *d, const float *s, int64_t k, const uint8_t *group,
                              int64_t i, const float *bias, float *out, int64_t ldo, int RX);

/// Target bytes of W per chunk of the interleaved kernels (kept in L2 while every x tile meets it).
#define PG_INTERLEAVED_CHUNK_BYTES (256 * 1024)

/// Two adjacent groups' (16 W rows: `group` and `group + groupStride`) dot products with x rows
/// [i, i + RX), written as `pg_group_tile`'s to out[(i + a) * ldo .. + 16]: the AVX-512 kernels'
/// tile, one 512-bit register holding both groups' 8 lanes.
typedef void (*pg_pair_tile)(const int8_t *q, const float *d, const float *s, int64_t k, const uint8_t *group,
                             int64_t groupStride, int64_t i, const float *bias, float *out, int64_t ldo, int RX);

/// Groups [c0, c1) (of `groupRows` W rows) against x rows [i, i + RX): pairs of groups by `pair`
/// where one is given, the rest one by one by `tile`.
PG_INLINE PG_AVX2 void tile_groups(const int8_t *q, const float *d, const float *s, int64_t k, const void *w,
                                   int64_t groupStride, int groupRows, int64_t c0, int64_t c1, int64_t i,
                                   const float *bias, float *out, int64_t ldo, pg_group_tile tile, pg_pair_tile pair,
                                   int RX) {
    int64_t g = c0;
    if (pair)
        for (; g + 2 <= c1; g += 2)
            pair(q, d, s, k, (const uint8_t *)w + g * groupStride, groupStride, i, bias ? bias + g * groupRows : NULL,
                 out + g * groupRows, ldo, RX);
    for (; g < c1; g++)
        tile(q, d, s, k, (const uint8_t *)w + g * groupStride, i, bias ? bias + g * groupRows : NULL,
             out + g * groupRows, ldo, RX);
}

/// out[.., groupRows g0 ..< groupRows g1] = bias + x W^T for groups [g0, g1) of `groupStride`
/// bytes (`groupRows` W rows each), in chunks of about PG_INTERLEAVED_CHUNK_BYTES; within a
/// chunk each tile of `height` x rows (in L1; 4, or 8 where the tiles have 32 registers) meets
/// every group, then a tile of 4 if 4 rows are left, then the rest one at a time. Inlined with
/// a constant `tile` and `pair` (NULL: none), so each call below is the tile specialised for
/// its RX.
PG_INLINE PG_AVX2 void interleaved_rows(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                        const void *w, int64_t groupStride, int groupRows, int64_t g0, int64_t g1,
                                        const float *bias, float *out, int64_t ldo, pg_group_tile tile,
                                        pg_pair_tile pair, const int height) {
    // Decode takes `tile`, one group after another, even where `pair` is given: W is then one
    // stream, where the pair tile reads two (7 KB apart for Q4_0 at k = 1536) that restart every
    // pair. Q4_0 on one Zen 5 core: 28-28.6 -> 33.5-34 GB/s of W (C harness); ModelBench
    // decode at 2 threads 55.0-55.7 -> 60.5-61.4 tok/s.
    if (m == 1 && pair) {
        tile_groups(q, d, s, k, w, groupStride, groupRows, g0, g1, 0, bias, out, ldo, tile, NULL, 1);
        return;
    }
    int64_t chunk = PG_INTERLEAVED_CHUNK_BYTES / groupStride > 0 ? PG_INTERLEAVED_CHUNK_BYTES / groupStride : 1;
    if (pair) chunk = (chunk + 1) / 2 * 2;
    for (int64_t c0 = g0; c0 < g1; c0 += chunk) {
        const int64_t c1 = c0 + chunk < g1 ? c0 + chunk : g1;
        int64_t i = 0;
        if (height == 8)
            for (; i + 8 <= m; i += 8)
                tile_groups(q, d, s, k, w, groupStride, groupRows, c0, c1, i, bias, out, ldo, tile, pair, 8);
        for (; i + 4 <= m; i += 4)
            tile_groups(q, d, s, k, w, groupStride, groupRows, c0, c1, i, bias, out, ldo, tile, pair, 4);
        for (; i < m; i++) tile_groups(q, d, s, k, w, groupStride, groupRows, c0, c1, i, bias, out, ldo, tile, pair, 1);
    }
}

/// Which of a wide tile's blocks prefetch W, and how far past the bytes they read: blocks b with
/// b % every == phase, `offset` bytes on (0: none).
typedef struct {
    int64_t offset;
    int every, phase;
} pg_prefetch_plan;

/// 32 W rows (`span` adjacent groups of `groupStride` bytes from `group`: 2 of Q4_0x16's 16 rows)
/// against x rows [i, i + RX), RX <= 4, written as `pg_group_tile`'s, from x's scales d and
/// integer offsets o (see the layout above); `plan` says where it prefetches.
typedef void (*pg_wide_tile)(const int8_t *q, const float *d, const int32_t *o, int64_t k, const uint8_t *group,
                             int64_t groupStride, int64_t i, const float *bias, float *out, int64_t ldo, int RX,
                             pg_prefetch_plan plan);

/// Batches from this many x rows take the wide tiles (`wide_rows`). 8 rows keep one pass of the
/// 8-row tiles, which brings W from memory at half the rate per x row; 12 gained nothing in the C
/// harness with W from memory, and 12-sequence decode lost 3-6 % at 2 threads.
#define PG_WIDE_MIN_ROWS 16

/// `interleaved_rows` for batches of PG_WIDE_MIN_ROWS x rows or more, on wide tiles of 32 W rows and
/// 4 x rows. A 16-row tile of 8 x rows broadcasts each 4 bytes of x for one `vpdpbusd`: with
/// W's loads that is more vector loads than the two a cycle a Zen 5 core issues; a wide tile
/// feeds two `vpdpbusd` from each. Q4_0x8 C harness (6144 x 1536, one thread, W from memory, % of
/// the peak): m = 16 63-64 -> 66-68 %, m = 512 63-65 -> 68-70 %.
/// A task's first chunk streams from memory in its first pass; each later pass over a chunk (from
/// L2) prefetches its share of the next chunk's blocks, or of the bytes after the task (the next
/// task of a thread's share; a prefetch past W does not fault), into L2. Streaming every chunk in
/// its first pass left m = 16 at 51 %.
PG_INLINE PG_AVX2 void wide_rows(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t groupStride, int groupRows, int span, int64_t g0, int64_t g1,
                                 const float *bias, float *out, int64_t ldo, pg_wide_tile wide, pg_group_tile tile,
                                 pg_pair_tile pair, int64_t aheadBytes) {
    // o follows s for all m rows. amx.c passes d and s shifted past its tiles only with fewer than
    // PG_WIDE_MIN_ROWS rows left, which never reach here, and an odd last group (fewer rows than m)
    // only for Q4_Kx8, which has no wide tile.
    const int32_t *o = activation_offsets(s, m, k);
    int64_t chunk = PG_INTERLEAVED_CHUNK_BYTES / groupStride / span * span;
    if (chunk < span) chunk = span;
    const int passes = (int)(m / 4 + m % 4 / 2 + m % 2);
    for (int64_t c0 = g0; c0 < g1; c0 += chunk) {
        const int64_t c1 = c0 + chunk < g1 ? c0 + chunk : g1;
        int pass = 0;
        for (int64_t i = 0; i < m; pass++) {
            // The first pass streams the task's first chunk; later ones fetch the next chunk's bytes.
            pg_prefetch_plan plan = {c0 == g0 ? aheadBytes : 0, 1, 0};
            if (pass > 0) plan = (pg_prefetch_plan){(c1 - c0) * groupStride, passes - 1, pass - 1};
            const int RX = i + 4 <= m ? 4 : i + 2 <= m ? 2 : 1;
            int64_t g = c0;
            for (; g + span <= c1; g += span) {
                const uint8_t *at = (const uint8_t *)w + g * groupStride;
                const float *b = bias ? bias + g * groupRows : NULL;
                if (RX == 4) wide(q, d, o, k, at, groupStride, i, b, out + g * groupRows, ldo, 4, plan);
                else if (RX == 2) wide(q, d, o, k, at, groupStride, i, b, out + g * groupRows, ldo, 2, plan);
                else wide(q, d, o, k, at, groupStride, i, b, out + g * groupRows, ldo, 1, plan);
            }
            if (RX == 4) tile_groups(q, d, s, k, w, groupStride, groupRows, g, c1, i, bias, out, ldo, tile, pair, 4);
            else if (RX == 2)
                tile_groups(q, d, s, k, w, groupStride, groupRows, g, c1, i, bias, out, ldo, tile, pair, 2);
            else tile_groups(q, d, s, k, w, groupStride, groupRows, g, c1, i, bias, out, ldo, tile, pair, 1);
            i += RX;
        }
    }
}

/// out[a * ldo .. + 8] = acc[a] + bias[0 .. 8] (a tile's 8 rows of results for each x row a < RX;
/// no bias: NULL). The tiles cover all of k, so they write their outputs once: setting them
/// first (or reading them back to add) cost a pass whose stores waited on memory (C harness,
/// Q8_0x16 at m = 512: 61-63 -> 64-66 % of the `vpdpbusd` peak; ModelBench Q8_0 prefill +2-5 %).
PG_INLINE PG_AVX2 void store_tile(float *out, int64_t ldo, const __m256 *acc, int RX, const float *bias) {
    const __m256 b = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    for (int a = 0; a < RX; a++) _mm256_storeu_ps(out + a * ldo, _mm256_add_ps(acc[a], b));
}

/// Rows 8h0 ..< 8(h0 + H) of one `repack_x16` group (H halves of 8 rows, all blocks) against x
/// rows [i, i + RX) on AVX2, for Q8_0x16 (`quantBytes` 32) or Q4_0x16 (16; a constant once
/// inlined), prefetching decode's W about 1 KiB ahead (in the first x tile of each W chunk too).
/// Q8_0's signed quants are multiplied as |w| x sign(x, w), each `vpmaddubsw` result going to 32
/// bits at once (it can reach 2 * 128 * 127), then scaled by d_w d_x. Q4_0's nibbles u = w + 8
/// sum in 16 bits over a block (|sum| <= 8 * 2 * 15 * 127 < 2^15), widened once, and each row
/// takes d_w (d_x sum(u q_x) - 8 s_x).
PG_INLINE PG_AVX2 void x16_halves_avx2(const int8_t *q, const float *d, const float *s, int64_t k,
                                       const uint8_t *group, const int quantBytes, int h0, const int H, int64_t i,
                                       const float *bias, float *out, int64_t ldo, int RX) {
    const int64_t numBlocks = k / PG_Q8_BLOCK, blockBytes = 16 * (2 + quantBytes);
    const int q4 = quantBytes == 16;
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256 acc[2][4];
    for (int h = 0; h < H; h++)
        for (int a = 0; a < RX; a++) acc[h][a] = _mm256_setzero_ps();
    const uint8_t *p = group;
    for (int64_t b = 0; b < numBlocks; b++, p += blockBytes) {
        if (RX == 1 && h0 == 0) prefetch_bytes_nta(p + PG_DECODE_PREFETCH_AHEAD(blockBytes), (int)blockBytes);
        else if (i == 0 && h0 == 0) prefetch_bytes(p + PG_DECODE_PREFETCH_AHEAD(blockBytes), (int)blockBytes);
        __m256i sums[2][4];
        for (int h = 0; h < H; h++)
            for (int a = 0; a < RX; a++) sums[h][a] = _mm256_setzero_si256();
        for (int t = 0; t < quantBytes / 4; t++)
            for (int h = 0; h < H; h++) {
                const __m256i w = _mm256_loadu_si256((const __m256i *)(p + 32 + 64 * t + 32 * (h0 + h)));
                // Q4_0: the low and high nibbles; Q8_0: |w| (and w, for the signs).
                const __m256i u = q4 ? _mm256_and_si256(w, low) : _mm256_sign_epi8(w, w);
                const __m256i hi = q4 ? _mm256_and_si256(_mm256_srli_epi16(w, 4), low) : w;
                for (int a = 0; a < RX; a++) {
                    const int8_t *x = q + (i + a) * k + b * PG_Q8_BLOCK;
                    if (q4) {
                        sums[h][a] = dot16_step_avx2(sums[h][a], u, broadcast4(x + 4 * t));
                        sums[h][a] = dot16_step_avx2(sums[h][a], hi, broadcast4(x + 16 + 4 * t));
                    } else {
                        sums[h][a] = dot_step_avx2(sums[h][a], u, _mm256_sign_epi8(broadcast4(x + 4 * t), w));
                    }
                }
            }
        for (int h = 0; h < H; h++) {
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 16 * (h0 + h))));
            for (int a = 0; a < RX; a++) {
                const int64_t at = scale_index(i + a, b, numBlocks);
                const __m256 dx = _mm256_set1_ps(d[at]);
                if (q4) {
                    const __m256 dot = _mm256_cvtepi32_ps(widen16_avx2(sums[h][a]));
                    const __m256 offset = _mm256_mul_ps(_mm256_set1_ps(8.0f), _mm256_set1_ps(s[at]));
                    const __m256 x = _mm256_fmsub_ps(dot, dx, offset);
                    acc[h][a] = _mm256_fmadd_ps(x, dw, acc[h][a]);
                } else {
                    acc[h][a] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[h][a]), _mm256_mul_ps(dw, dx), acc[h][a]);
                }
            }
        }
    }
    for (int h = 0; h < H; h++)
        store_tile(out + i * ldo + 8 * (h0 + h), ldo, acc[h], RX, bias ? bias + 8 * (h0 + h) : NULL);
}

/// A `repack_x16` group on AVX2: decode (one x row) takes both halves in one pass over W; batches
/// take one half at a time (16 registers hold one half's sums and totals for 4 x rows).
PG_INLINE PG_AVX2 void x16_tile_avx2(const int8_t *q, const float *d, const float *s, int64_t k, const uint8_t *group,
                                     const int quantBytes, int64_t i, const float *bias, float *out, int64_t ldo,
                                     int RX) {
    if (RX == 1) {
        x16_halves_avx2(q, d, s, k, group, quantBytes, 0, 2, i, bias, out, ldo, 1);
        return;
    }
    x16_halves_avx2(q, d, s, k, group, quantBytes, 0, 1, i, bias, out, ldo, RX);
    x16_halves_avx2(q, d, s, k, group, quantBytes, 1, 1, i, bias, out, ldo, RX);
}

/// `store_tile` for a pair tile's (or a Q8_0x16 group's) 16 rows.
PG_INLINE PG_VNNI void store_tile16(float *out, int64_t ldo, const __m512 *acc, int RX, const float *bias) {
    const __m512 b = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    for (int a = 0; a < RX; a++) _mm512_storeu_ps(out + a * ldo, _mm512_add_ps(acc[a], b));
}

/// out[a * ldo .. + 16] += acc[a], for the AMX tiles (amx.c), whose callers set out first.
PG_INLINE PG_VNNI void add_tile16(float *out, int64_t ldo, const __m512 *acc, int RX) {
    for (int a = 0; a < RX; a++) _mm512_storeu_ps(out + a * ldo, _mm512_add_ps(_mm512_loadu_ps(out + a * ldo), acc[a]));
}

/// The same 32 bytes of two groups (`p` and `p + groupStride`) in one register, first group low.
PG_INLINE PG_VNNI __m512i load_pair(const uint8_t *p, int64_t groupStride) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p)),
                              _mm256_loadu_si256((const __m256i *)(p + groupStride)), 1);
}

/// Two groups' 8 f16 scales (16 bytes at `p` and `p + groupStride`) as 16 f32, first group low.
PG_INLINE PG_VNNI __m512 scales_pair(const uint8_t *p, int64_t groupStride) {
    return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
                                                   _mm_loadu_si128((const __m128i *)(p + groupStride)), 1));
}

/// offsets[a] = scale * s[a] for a tile's 8 x rows (adjacent in the activations' layout): one
/// multiply per block for the tile, where one per x row took as many issue slots of the
/// multiply pipes as 1/8 of the block's `vpdpbusd` (Zen 5; both share the same two pipes).
/// Tiles of fewer than 8 rows read only theirs (a wide tile's 4 rows may end the last scales).
PG_INLINE PG_VNNI void offset_terms(float offsets[8], const float *s, __m256 scale, int RX) {
    const __m256 sx = RX == 8 ? _mm256_loadu_ps(s) : _mm256_maskz_loadu_ps((__mmask8)((1u << RX) - 1), s);
    _mm256_storeu_ps(offsets, _mm256_mul_ps(scale, sx));
}

/// One block of a 16-row tile into its totals: acc[a] += d_w (d_x sums[a] - offset s_x), with d_x
/// and s_x the tile's rows' adjacent scales, and `offset` the format's (Q8_0: 128, Q4_0: 8).
PG_INLINE PG_VNNI void add_block16(__m512 *acc, const __m512i *sums, __m512 dw, const float *d, const float *s,
                                   __m256 offset, int RX) {
    float offsets[8];
    offset_terms(offsets, s, offset, RX);
    for (int a = 0; a < RX; a++) {
        const __m512 x =
            _mm512_fmsub_ps(_mm512_cvtepi32_ps(sums[a]), _mm512_set1_ps(d[a]), _mm512_set1_ps(offsets[a]));
        acc[a] = _mm512_fmadd_ps(x, dw, acc[a]);
    }
}

/// 4 activation bytes broadcast to every 32-bit lane of a 512-bit register.
PG_INLINE PG_VNNI __m512i broadcast4_512(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/// Q8_0x16 / Q4_0x16 / Q4_Kx8 / Q6_Kx8 groups [g0, g1) into out, plus bias (NULL: none)
/// (q8_0x16.c, q4_0x16.c, q4_Kx8.c, q6_Kx8.c; AVX2 CPUs only, `_vnni` AVX-512 VNNI ones). The
/// Q6_Kx8 kernel takes x + 128 (`pg_offset_activations`) as `q`.
PG_VNNI void pg_q8_0x16_rows_vnni(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo);
PG_VNNI void pg_q4_0x16_rows_vnni(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo);
PG_VNNI void pg_q4_Kx8_rows_vnni(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo);
PG_VNNI void pg_q6_Kx8_rows_vnni(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo);
PG_AVX2 void pg_q8_0x16_rows_avx2(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo);
PG_AVX2 void pg_q4_0x16_rows_avx2(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo);
PG_AVX2 void pg_q4_Kx8_rows_avx2(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo);
PG_AVX2 void pg_q6_Kx8_rows_avx2(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo);

/// Configures this thread's AMX tiles (palette 1): tile t < count has rows[t] rows of colsb[t]
/// bytes, the others none.
PG_INLINE PG_AMX void load_tile_config(int count, const uint8_t *rows, const uint16_t *colsb) {
    struct {
        uint8_t palette, startRow, reserved[14];
        uint16_t colsb[16];
        uint8_t rows[16];
    } config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < count; t++) config.rows[t] = rows[t], config.colsb[t] = colsb[t];
    _tile_loadconfig(&config);
}

/// Q8_0x16 / Q4_0x16 / Q4_Kx8 (`dtype`) groups [g0, g1) added into out on AMX, 16 x rows by 16 W
/// rows (amx.c); the rest of the rows and an odd last group set by the kernels above (with bias).
PG_AMX void pg_interleaved_rows_amx(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                    const void *w, int dtype, int64_t g0, int64_t g1, const float *bias, float *out,
                                    int64_t ldo);

/// Prefetches the `headDim` elements at `index` of a KV cache of `dtype`.
PG_INLINE void prefetch_kv_row(const void *cache, int64_t index, int64_t headDim, int dtype) {
    const int size = dtype == PG_DTYPE_F32 ? 4 : 2;
    prefetch_bytes((const uint8_t *)cache + index * size, (int)headDim * size);
}

/// `prefetch_kv_row` into L2 only.
PG_INLINE void prefetch_kv_row_l2(const void *cache, int64_t index, int64_t headDim, int dtype) {
    const int size = dtype == PG_DTYPE_F32 ? 4 : 2;
    prefetch_bytes_l2((const uint8_t *)cache + index * size, (int)headDim * size);
}

/// `pg_attention` with the queries in the lanes of 512-bit registers (attention_lanes.c; AVX-512
/// CPUs, headDim a multiple of 16): `slots` holds the contexts' `length` (the longest) cache
/// slots, and `scratch` (64-byte aligned or not) `pg_attention_lanes_bytes`.
PG_AVX512 void pg_attention_lanes(const float *const *queries, float *const *outs, const int64_t *numContext,
                                  int64_t numQueries, const void *keys, const void *values, int dtype,
                                  int64_t kvStride, const int64_t *slots, int64_t length, int64_t headDim,
                                  float scale, void *scratch);
int64_t pg_attention_lanes_bytes(int64_t numQueries, int64_t length, int64_t headDim);

#endif
