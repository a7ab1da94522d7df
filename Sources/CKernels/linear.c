// Linear-layer kernels: x [m, k] f32 times W [n, k]^T (f32, f16, bf16, or
// Q8_0 / Q4_0 / Q4_K / Q6_K widened to f32; MatMul routes the block formats to
// the integer paths in quantized.c and kquant_dot.c, except k-quant prefill).
//
// Three AVX2 + FMA paths, all f32 accumulation (W widened in registers:
// bf16 by zero-extend + shift, f16 by F16C, Q8_0 / Q4_0 by sign extension
// times the block scale, Q4_K / Q6_K by unpacking 8 quants of one sub-block
// and applying its scale (and min)):
//  - m = 1 (decode): 2 (short rows) or 8 W rows per step, one FMA chain each;
//    limited by memory bandwidth.
//  - m < PG_MIN_PACKED_ROWS (batched decode): dot products, 3 W rows x 4 x
//    rows in registers, W read straight from memory.
//  - larger m (prefill): W packed per k-block into 16-row f32 panels, then an
//    outer-product micro-kernel (6 x rows x 16 W rows = 12 accumulators) runs
//    over L2-resident x blocks (MC rows x KC columns).
// On AVX-512 CPUs the last two run on 512-bit registers (`outer_zmm`, `micro_zmm`).
#include "CKernels.h"
#include "kernels_internal.h"
#include "kquants.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

/// Packed path blocking: a 16 x KC f32 panel (16 KiB) stays in L1, an
/// MC x KC x block (96 KiB) in L2. Tuned on Zen 3 (see docs/benchmarks.md).
#ifndef PG_KC
#define PG_KC 256
#define PG_MC 96
#endif
#ifndef PG_NC
#define PG_NC 64
#endif
#ifndef PG_MIN_PACKED_ROWS
#define PG_MIN_PACKED_ROWS 64
#endif
/// How far ahead in each W row the f32 / f16 / bf16 decode path prefetches (see `micro`):
/// 512 bytes on AVX2 CPUs (measured on a Zen 3), 2 KiB where AVX-512 is on. A Zen 5 core,
/// at about 3x the Zen 3's bandwidth, read bf16 rows of k = 6144 at 31-32 GB/s with 512,
/// 35-36 with 1-4 KiB, against 41-45 for a plain read (C harness, W of 200 MB).
#define PG_ROW_PREFETCH_BYTES 512
#define PG_ROW_PREFETCH_BYTES_AVX512 2048
/// How far ahead the decode path prefetches W when its rows are short (see `linear_rows_avx2`).
#define PG_DECODE_ROWS_AHEAD_BYTES (16 * 1024)

/// Bytes per element of the float weight types (f32: 4; f16, bf16: 2).
static inline int64_t float_element_bytes(int dtype) { return dtype == PG_DTYPE_F32 ? 4 : 2; }

/// Whether `rows` float W rows of length k fit in L1 (32 KiB), so one stream prefetch covers them.
static inline int rows_fit_l1(int64_t rows, int64_t k, int dtype) {
    return rows * k * float_element_bytes(dtype) <= 32 * 1024;
}

int pg_has_avx2_fma(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    }
    return cached;
}

int pg_has_avx512(void) {
    static int cached = -1;
    if (cached < 0) {
        const char *isa = getenv("PANGU_KERNEL_ISA");
        cached = pg_has_avx2_fma() && !(isa && strcmp(isa, "avx2") == 0) && PG_CPU_SUPPORTS_AVX512("avx512f") &&
                         PG_CPU_SUPPORTS_AVX512("avx512bw") && PG_CPU_SUPPORTS_AVX512("avx512vl")
                     ? 1
                     : 0;
    }
    return cached;
}

int pg_has_avx512_vnni(void) {
    static int cached = -1;
    if (cached < 0) cached = pg_has_avx512() && PG_CPU_SUPPORTS_AVX512("avx512vnni") ? 1 : 0;
    return cached;
}

PG_INLINE float load_w1(const void *w, int64_t index, int dtype) {
    switch (dtype) {
    case PG_DTYPE_F32: return ((const float *)w)[index];
    case PG_DTYPE_F16: return f16_to_float(((const uint16_t *)w)[index]);
    case PG_DTYPE_Q8_0: return q8_0_element(w, index);
    case PG_DTYPE_Q4_0: return q4_0_element(w, index);
    case PG_DTYPE_Q4_K: return q4_K_element(w, index);
    case PG_DTYPE_Q6_K: return q6_K_element(w, index);
    default: return bf16_to_float(((const uint16_t *)w)[index]);
    }
}

static void linear_rows_portable(const float *x, int64_t m, int64_t k, const void *w, int dtype,
                                 int64_t r0, int64_t r1, const float *bias, float *out, int64_t ldo) {
    for (int64_t i = 0; i < m; i++) {
        for (int64_t r = r0; r < r1; r++) {
            float sum = 0;
            for (int64_t j = 0; j < k; j++) sum += x[i * k + j] * load_w1(w, r * k + j, dtype);
            out[i * ldo + r] = sum + (bias ? bias[r] : 0.0f);
        }
    }
}

// ---- AVX2 + FMA ---------------------------------------------------------

PG_INLINE PG_AVX2 __m256 load_w8(const void *w, int64_t index, int dtype) {
    switch (dtype) {
    case PG_DTYPE_F32: return _mm256_loadu_ps((const float *)w + index);
    case PG_DTYPE_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + index)));
    case PG_DTYPE_Q8_0: {  // index is a multiple of 8: 8 int8 of one block, times its scale
        const uint8_t *block = (const uint8_t *)w + (index / PG_Q8_BLOCK) * PG_Q8_BYTES;
        uint16_t scale;
        memcpy(&scale, block, 2);
        __m128i q = _mm_loadl_epi64((const __m128i *)(block + 2 + index % PG_Q8_BLOCK));
        return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), _mm256_set1_ps(_cvtsh_ss(scale)));
    }
    case PG_DTYPE_Q4_0: {  // index is a multiple of 8: low nibbles (j < 16) or high nibbles of 8 bytes
        const uint8_t *block = (const uint8_t *)w + (index / PG_Q8_BLOCK) * PG_Q4_BYTES;
        uint16_t scale;
        memcpy(&scale, block, 2);
        int j = (int)(index % PG_Q8_BLOCK);
        __m128i q = _mm_loadl_epi64((const __m128i *)(block + 2 + (j & 15)));
        if (j >= 16) q = _mm_srli_epi16(q, 4);
        q = _mm_sub_epi8(_mm_and_si128(q, _mm_set1_epi8(0x0F)), _mm_set1_epi8(8));
        return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), _mm256_set1_ps(_cvtsh_ss(scale)));
    }
    case PG_DTYPE_Q4_K: return load_q4_K_8(w, index);
    case PG_DTYPE_Q6_K: return load_q6_K_8(w, index);
    default: {
        __m128i half = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + index));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16));
    }
    }
}

/// out[(i+b)*ldo + r+a] += sum_{j0<=j<j1} x[i+b, j] W[r+a, j], a < RW, b < RX.
PG_INLINE PG_AVX2 void micro(const float *x, int64_t k, const void *w, int dtype, int64_t r, int64_t i,
                             int64_t j0, int64_t j1, float *out, int64_t ldo, const int RW, const int RX,
                             const int rowAheadBytes) {
    __m256 acc[8][4];
    for (int a = 0; a < RW; a++)
        for (int b = 0; b < (RX == 1 ? 2 : RX); b++) acc[a][b] = _mm256_setzero_ps();
    // The next RW rows follow these in memory: in the first pass over this group (x
    // rows from 0), prefetch them at the rate this group is consumed, so DRAM latency
    // overlaps the FMAs. Decode (RX = 1) prefetches PG_DECODE_ROWS_AHEAD_BYTES ahead
    // of the group instead (several groups of its 2 short rows; see
    // `linear_rows_avx2`), or, when 8 rows are more than L1 holds (long rows), each
    // of the RW rows is a stream prefetched `rowAheadBytes` ahead, running on
    // into the same row of the next group. (bf16 decode, one thread, C harness
    // against a streaming read: at k = 6144, 8 rows x 12 KiB ahead read 82-86 % of
    // it, 512 bytes per row 100-110 %.)
    const int64_t elementBytes = float_element_bytes(dtype);
    const char *ahead = (const char *)w + (RX == 1 ? r * k * elementBytes + PG_DECODE_ROWS_AHEAD_BYTES
                                                   : (r + RW) * k * elementBytes);
    const int prefetch = i == 0 && (dtype == PG_DTYPE_F32 || dtype == PG_DTYPE_F16 || dtype == PG_DTYPE_BF16);
    const int perRow = RX == 1 && !rows_fit_l1(RW, k, dtype);
    int64_t j = j0;
    // Decode (RX = 1) keeps two sums per row, for alternate steps of 8, in acc[a][0] and
    // acc[a][1], so a row's FMAs are two chains of their latency instead of one: one chain
    // of 2 rows consumed 32 bytes of bf16 per 4 cycles, 34 GB/s on a Zen 5 core at 4.3 GHz,
    // against a streaming read's 43.
    for (int step = 0; j + 8 <= j1; j += 8, step ^= 1) {
        if (prefetch && perRow) {
            if (((j - j0) * elementBytes) % 64 == 0) {  // one line per row per 64 bytes consumed
                const int64_t t = j + rowAheadBytes / elementBytes;
                for (int a = 0; a < RW; a++) {
                    const int64_t at = t < k ? (r + a) * k + t : (r + RW + a) * k + (t - k);
                    _mm_prefetch((const char *)w + at * elementBytes, _MM_HINT_T0);
                }
            }
        } else if (prefetch) {
            for (int64_t b = 0; b < RW * 8 * elementBytes; b += 64)
                _mm_prefetch(ahead + (j - j0) * RW * elementBytes + b, _MM_HINT_T0);
        }
        __m256 wv[8];
        for (int a = 0; a < RW; a++) wv[a] = load_w8(w, (r + a) * k + j, dtype);
        if (RX == 1) {
            const __m256 xv = _mm256_loadu_ps(x + i * k + j);
            if (step)
                for (int a = 0; a < RW; a++) acc[a][1] = _mm256_fmadd_ps(wv[a], xv, acc[a][1]);
            else
                for (int a = 0; a < RW; a++) acc[a][0] = _mm256_fmadd_ps(wv[a], xv, acc[a][0]);
            continue;
        }
        for (int b = 0; b < RX; b++) {
            __m256 xv = _mm256_loadu_ps(x + (i + b) * k + j);
            for (int a = 0; a < RW; a++) acc[a][b] = _mm256_fmadd_ps(wv[a], xv, acc[a][b]);
        }
    }
    if (RX == 1)
        for (int a = 0; a < RW; a++) acc[a][0] = _mm256_add_ps(acc[a][0], acc[a][1]);
    for (int a = 0; a < RW; a++) {
        for (int b = 0; b < RX; b++) {
            float sum = hsum(acc[a][b]);
            for (int64_t t = j; t < j1; t++) sum += x[(i + b) * k + t] * load_w1(w, (r + a) * k + t, dtype);
            out[(i + b) * ldo + r + a] += sum;
        }
    }
}

/// Rows r..r+RW of W against x rows [i0, i1), RX rows at a time, with RX tails.
PG_INLINE PG_AVX2 void row_group(const float *x, int64_t k, const void *w, int dtype, int64_t r, int64_t i0,
                                 int64_t i1, int64_t j0, int64_t j1, float *out, int64_t ldo, const int RW) {
    int64_t i = i0;
    for (; i + 4 <= i1; i += 4) micro(x, k, w, dtype, r, i, j0, j1, out, ldo, RW, 4, PG_ROW_PREFETCH_BYTES);
    switch (i1 - i) {
    case 3: micro(x, k, w, dtype, r, i, j0, j1, out, ldo, RW, 3, PG_ROW_PREFETCH_BYTES); break;
    case 2: micro(x, k, w, dtype, r, i, j0, j1, out, ldo, RW, 2, PG_ROW_PREFETCH_BYTES); break;
    case 1: micro(x, k, w, dtype, r, i, j0, j1, out, ldo, RW, 1, PG_ROW_PREFETCH_BYTES); break;
    default: break;
    }
}

/// In-register 8x8 transpose: afterwards v[l] holds element l of each former v[0..7].
PG_INLINE PG_AVX2 void transpose8(__m256 v[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]);
    }
    for (int h = 0; h < 2; h++) {
        u[4 * h + 0] = _mm256_shuffle_ps(t[4 * h + 0], t[4 * h + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h + 0], t[4 * h + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        v[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/// Packs W rows [r, r + rows) x columns [j0, j0 + kc) as f32 into `panel`
/// laid out [kc][16] (column-major 16-row strip), zero-padding rows >= `rows`.
/// Full 8-column steps go through 8x8 register transposes.
PG_INLINE PG_AVX2 void pack_panel(const void *w, int64_t k, int dtype, int64_t r, int64_t rows, int64_t j0,
                                  int64_t kc, float *panel) {
    int64_t t = 0;
    for (; t + 8 <= kc; t += 8) {
        for (int half = 0; half < 2; half++) {
            __m256 v[8];
            for (int c = 0; c < 8; c++) {
                int64_t row = half * 8 + c;
                v[c] = row < rows ? load_w8(w, (r + row) * k + j0 + t, dtype) : _mm256_setzero_ps();
            }
            transpose8(v);
            for (int l = 0; l < 8; l++) _mm256_store_ps(panel + (t + l) * 16 + half * 8, v[l]);
        }
    }
    for (; t < kc; t++)
        for (int64_t c = 0; c < 16; c++) panel[t * 16 + c] = c < rows ? load_w1(w, (r + c) * k + j0 + t, dtype) : 0.0f;
}

/// out[i, 0..<cols] += sum_t x[i, t] * panel[t, 0..<16] for MR rows of x (outer products:
/// 2 W vectors x MR broadcasts of x per step, MR x 2 accumulators, no horizontal sums).
PG_INLINE PG_AVX2 void outer(const float *x, int64_t k, const float *panel, int64_t kc, float *out, int64_t ldo,
                             int64_t cols, const int MR) {
    __m256 acc[6][2];
    const float *rows[6];
    for (int i = 0; i < MR; i++) {
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
        rows[i] = x + i * k;
    }
    const float *b = panel;
    for (int64_t t = 0; t < kc; t++, b += 16) {
        __m256 b0 = _mm256_load_ps(b);
        __m256 b1 = _mm256_load_ps(b + 8);
        for (int i = 0; i < MR; i++) {
            __m256 a = _mm256_broadcast_ss(rows[i] + t);
            acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
        }
    }
    for (int i = 0; i < MR; i++) {
        float *o = out + i * ldo;
        if (cols == 16) {
            _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), acc[i][0]));
            _mm256_storeu_ps(o + 8, _mm256_add_ps(_mm256_loadu_ps(o + 8), acc[i][1]));
        } else {
            float lanes[16];
            _mm256_storeu_ps(lanes, acc[i][0]);
            _mm256_storeu_ps(lanes + 8, acc[i][1]);
            for (int64_t c = 0; c < cols; c++) o[c] += lanes[c];
        }
    }
}

/// The 6-row case as its own function, so its loop gets all registers to itself.
static __attribute__((noinline)) PG_AVX2 void outer6(const float *x, int64_t k, const float *panel, int64_t kc,
                                                     float *out, int64_t ldo, int64_t cols) {
    outer(x, k, panel, kc, out, ldo, cols, 6);
}

/// One packed 16-row panel against x rows [i0, i1), 6 rows per micro-kernel call.
PG_INLINE PG_AVX2 void panel_rows(const float *x, int64_t k, const float *panel, int64_t kc, int64_t i0, int64_t i1,
                                  float *out, int64_t ldo, int64_t cols) {
    int64_t i = i0;
    for (; i + 6 <= i1; i += 6) outer6(x + i * k, k, panel, kc, out + i * ldo, ldo, cols);
    switch (i1 - i) {
    case 5: outer(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 5); break;
    case 4: outer(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 4); break;
    case 3: outer(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 3); break;
    case 2: outer(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 2); break;
    case 1: outer(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 1); break;
    default: break;
    }
}

/// `outer` on 512-bit registers for AVX-512 CPUs: MR x rows against `panels` (1 or 2)
/// adjacent 16-row panels, one register per panel row, up to 16 accumulators. The same
/// FMAs in the same order as `outer`, so the results are identical, at twice the width.
PG_INLINE PG_AVX512 void outer_zmm(const float *x, int64_t k, const float *panel, int64_t kc, float *out, int64_t ldo,
                                   int64_t cols, const int MR, const int panels) {
    __m512 acc[8][2];
    const float *rows[8];
    for (int i = 0; i < MR; i++) {
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        rows[i] = x + i * k;
    }
    const float *second = panel + 16 * PG_KC;
    for (int64_t t = 0; t < kc; t++) {
        const __m512 b0 = _mm512_load_ps(panel + 16 * t);
        const __m512 b1 = panels == 2 ? _mm512_load_ps(second + 16 * t) : b0;
        for (int i = 0; i < MR; i++) {
            const __m512 a = _mm512_set1_ps(rows[i][t]);
            acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
            if (panels == 2) acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
        }
    }
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = panels < 2 ? 0 : cols >= 32 ? 0xFFFF : (__mmask16)((1u << (cols - 16)) - 1);
    for (int i = 0; i < MR; i++) {
        float *o = out + i * ldo;
        _mm512_mask_storeu_ps(o, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, o), acc[i][0]));
        if (panels == 2) _mm512_mask_storeu_ps(o + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, o + 16), acc[i][1]));
    }
}

/// `panel_rows` for AVX-512 CPUs: 8 x rows per micro-kernel call against 1 or 2 panels.
static __attribute__((noinline)) PG_AVX512 void panel_rows_zmm(const float *x, int64_t k, const float *panel,
                                                               int64_t kc, int64_t i0, int64_t i1, float *out,
                                                               int64_t ldo, int64_t cols, int panels) {
    int64_t i = i0;
    if (panels == 2) {
        for (; i + 8 <= i1; i += 8) outer_zmm(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 8, 2);
        switch (i1 - i) {
        case 7: outer_zmm(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 7, 2); break;
        case 6: outer_zmm(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 6, 2); break;
        case 5: outer_zmm(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 5, 2); break;
        case 4: outer_zmm(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 4, 2); break;
        case 3: outer_zmm(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 3, 2); break;
        case 2: outer_zmm(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 2, 2); break;
        case 1: outer_zmm(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 1, 2); break;
        default: break;
        }
    } else {
        for (; i + 8 <= i1; i += 8) outer_zmm(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 8, 1);
        for (; i < i1; i++) outer_zmm(x + i * k, k, panel, kc, out + i * ldo, ldo, cols, 1, 1);
    }
}

/// `micro` on 512-bit registers (batched decode of float W on AVX-512 CPUs): W rows
/// r..r+RW against x rows i..i+RX, 16 columns per step, the last step masked. The first
/// x tile (i = 0) prefetches the next RW rows at the rate these are consumed.
PG_INLINE PG_AVX512 void micro_zmm(const float *x, int64_t k, const void *w, int dtype, int64_t r, int64_t i,
                                   float *out, int64_t ldo, const int RW, const int RX) {
    __m512 acc[3][8];
    for (int a = 0; a < RW; a++)
        for (int b = 0; b < RX; b++) acc[a][b] = _mm512_setzero_ps();
    const int64_t elementBytes = float_element_bytes(dtype);
    const char *ahead = (const char *)w + (r + RW) * k * elementBytes;
    for (int64_t j = 0; j < k; j += 16) {
        const __mmask16 mask = k - j >= 16 ? 0xFFFF : (__mmask16)((1u << (k - j)) - 1);
        if (i == 0)
            for (int64_t b = 0; b < RW * 16 * elementBytes; b += 64)
                _mm_prefetch(ahead + j * RW * elementBytes + b, _MM_HINT_T0);
        __m512 wv[3];
        for (int a = 0; a < RW; a++) wv[a] = load16(w, (r + a) * k + j, dtype, mask);
        for (int b = 0; b < RX; b++) {
            const __m512 xv = _mm512_maskz_loadu_ps(mask, x + (i + b) * k + j);
            for (int a = 0; a < RW; a++) acc[a][b] = _mm512_fmadd_ps(wv[a], xv, acc[a][b]);
        }
    }
    for (int a = 0; a < RW; a++)
        for (int b = 0; b < RX; b++) out[(i + b) * ldo + r + a] += _mm512_reduce_add_ps(acc[a][b]);
}

/// W rows r..r+RW against all m rows of x: tiles of 8 x rows (32 registers hold 24
/// accumulators), then 4, then one at a time.
PG_INLINE PG_AVX512 void row_group_zmm(const float *x, int64_t m, int64_t k, const void *w, int dtype, int64_t r,
                                       float *out, int64_t ldo, const int RW) {
    int64_t i = 0;
    for (; i + 8 <= m; i += 8) micro_zmm(x, k, w, dtype, r, i, out, ldo, RW, 8);
    for (; i + 4 <= m; i += 4) micro_zmm(x, k, w, dtype, r, i, out, ldo, RW, 4);
    for (; i < m; i++) micro_zmm(x, k, w, dtype, r, i, out, ldo, RW, 1);
}

/// Batched decode (1 < m < 64) of f32 / f16 / bf16 W on AVX-512 CPUs: 3 W rows at a time,
/// read straight from memory, against every x row while they are in L1.
static __attribute__((noinline)) PG_AVX512 void batched_rows_zmm(const float *x, int64_t m, int64_t k, const void *w,
                                                                 int dtype, int64_t r0, int64_t r1, float *out,
                                                                 int64_t ldo) {
    int64_t r = r0;
    switch (dtype) {  // each case compiled with its dtype known
    case PG_DTYPE_F32:
        for (; r + 3 <= r1; r += 3) row_group_zmm(x, m, k, w, PG_DTYPE_F32, r, out, ldo, 3);
        for (; r < r1; r++) row_group_zmm(x, m, k, w, PG_DTYPE_F32, r, out, ldo, 1);
        break;
    case PG_DTYPE_F16:
        for (; r + 3 <= r1; r += 3) row_group_zmm(x, m, k, w, PG_DTYPE_F16, r, out, ldo, 3);
        for (; r < r1; r++) row_group_zmm(x, m, k, w, PG_DTYPE_F16, r, out, ldo, 1);
        break;
    default:
        for (; r + 3 <= r1; r += 3) row_group_zmm(x, m, k, w, PG_DTYPE_BF16, r, out, ldo, 3);
        for (; r < r1; r++) row_group_zmm(x, m, k, w, PG_DTYPE_BF16, r, out, ldo, 1);
        break;
    }
}

/// Batched product: W rows packed 64 at a time (4 panels) per k-block, then every
/// MC-row block of x (kept in L2) runs against each panel (kept in L1); on AVX-512
/// CPUs against pairs of panels on 512-bit registers.
PG_INLINE PG_AVX2 void linear_rows_packed(const float *x, int64_t m, int64_t k, const void *w, int dtype,
                                          int64_t r0, int64_t r1, const float *bias, float *out, int64_t ldo,
                                          float *packed) {
    const int zmm = pg_has_avx512();
    for (int64_t rg = r0; rg < r1; rg += PG_NC) {
        int64_t rgEnd = rg + PG_NC < r1 ? rg + PG_NC : r1;
        // This group's output columns start at the bias here, just before the k-blocks
        // accumulate into them, so they are still in cache (one pass over all of `out`
        // up front made a whole-matrix task ~20 % slower).
        for (int64_t i = 0; i < m; i++)
            for (int64_t r = rg; r < rgEnd; r++) out[i * ldo + r] = bias ? bias[r] : 0.0f;
        int64_t numPanels = (rgEnd - rg + 15) / 16;
        for (int64_t j0 = 0; j0 < k; j0 += PG_KC) {
            int64_t kc = j0 + PG_KC < k ? PG_KC : k - j0;
            for (int64_t p = 0; p < numPanels; p++) {
                int64_t rows = rgEnd - (rg + p * 16);
                pack_panel(w, k, dtype, rg + p * 16, rows < 16 ? rows : 16, j0, kc, packed + p * 16 * PG_KC);
            }
            for (int64_t i0 = 0; i0 < m; i0 += PG_MC) {
                int64_t i1 = i0 + PG_MC < m ? i0 + PG_MC : m;
                for (int64_t p = 0; p < numPanels;) {
                    const int64_t cols = rgEnd - (rg + p * 16);
                    const int panels = zmm && p + 1 < numPanels ? 2 : 1;
                    if (zmm)
                        panel_rows_zmm(x + j0, k, packed + p * 16 * PG_KC, kc, i0, i1, out + rg + p * 16, ldo,
                                       cols < 16 * panels ? cols : 16 * panels, panels);
                    else
                        panel_rows(x + j0, k, packed + p * 16 * PG_KC, kc, i0, i1, out + rg + p * 16, ldo,
                                   cols < 16 ? cols : 16);
                    p += panels;
                }
            }
        }
    }
}

PG_INLINE PG_AVX2 void linear_rows_avx2(const float *x, int64_t m, int64_t k, const void *w, int dtype,
                                        int64_t r0, int64_t r1, const float *bias, float *out, int64_t ldo) {
    if (m >= PG_MIN_PACKED_ROWS) {
        float *packed = (float *)aligned_alloc(64, sizeof(float) * PG_NC * PG_KC);
        if (packed) linear_rows_packed(x, m, k, w, dtype, r0, r1, bias, out, ldo, packed);
        else linear_rows_portable(x, m, k, w, dtype, r0, r1, bias, out, ldo);
        free(packed);
        return;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t r = r0; r < r1; r++) out[i * ldo + r] = bias ? bias[r] : 0.0f;
    if (m == 1) {  // decode: memory-bound
        // Short rows (8 of them fit in L1) go 2 at a time, prefetched as one stream
        // PG_DECODE_ROWS_AHEAD_BYTES ahead; long rows 8 at a time, each row its own
        // prefetched stream (see `micro`). bf16 at k = 1536 against a streaming read
        // (C harness, 12 rounds): 8 rows with the next 8 prefetched read 81-90 % of
        // it on one or two threads, 2 rows with 16 KiB ahead 94-99 %.
        int64_t r = r0;
        if (rows_fit_l1(8, k, dtype))
            for (; r + 2 <= r1; r += 2) micro(x, k, w, dtype, r, 0, 0, k, out, ldo, 2, 1, PG_ROW_PREFETCH_BYTES);
        if (pg_has_avx512())
            for (; r + 8 <= r1; r += 8) micro(x, k, w, dtype, r, 0, 0, k, out, ldo, 8, 1, PG_ROW_PREFETCH_BYTES_AVX512);
        for (; r + 8 <= r1; r += 8) micro(x, k, w, dtype, r, 0, 0, k, out, ldo, 8, 1, PG_ROW_PREFETCH_BYTES);
        for (; r + 4 <= r1; r += 4) micro(x, k, w, dtype, r, 0, 0, k, out, ldo, 4, 1, PG_ROW_PREFETCH_BYTES);
        for (; r < r1; r++) micro(x, k, w, dtype, r, 0, 0, k, out, ldo, 1, 1, PG_ROW_PREFETCH_BYTES);
        return;
    }
    if (pg_has_avx512() && (dtype == PG_DTYPE_F32 || dtype == PG_DTYPE_F16 || dtype == PG_DTYPE_BF16)) {
        batched_rows_zmm(x, m, k, w, dtype, r0, r1, out, ldo);
        return;
    }
    // few rows: W straight from memory, 3 W rows x 4 x rows
    int64_t r = r0;
    for (; r + 3 <= r1; r += 3) row_group(x, k, w, dtype, r, 0, m, 0, k, out, ldo, 3);
    for (; r < r1; r++) row_group(x, k, w, dtype, r, 0, m, 0, k, out, ldo, 1);
}

/// One non-inlined copy of `linear_rows_avx2` per dtype, so each inner loop is
/// compiled with its dtype known.
#define PG_LINEAR_ROWS_FOR(name, code)                                                                        \
    static PG_AVX2 void name(const float *x, int64_t m, int64_t k, const void *w, int64_t r0, int64_t r1,     \
                             const float *bias, float *out, int64_t ldo) {                                   \
        linear_rows_avx2(x, m, k, w, code, r0, r1, bias, out, ldo);                                           \
    }
PG_LINEAR_ROWS_FOR(linear_rows_f32, PG_DTYPE_F32)
PG_LINEAR_ROWS_FOR(linear_rows_f16, PG_DTYPE_F16)
PG_LINEAR_ROWS_FOR(linear_rows_bf16, PG_DTYPE_BF16)
PG_LINEAR_ROWS_FOR(linear_rows_q8_0, PG_DTYPE_Q8_0)
PG_LINEAR_ROWS_FOR(linear_rows_q4_0, PG_DTYPE_Q4_0)
PG_LINEAR_ROWS_FOR(linear_rows_q4_K, PG_DTYPE_Q4_K)
PG_LINEAR_ROWS_FOR(linear_rows_q6_K, PG_DTYPE_Q6_K)

void pg_linear_rows(const float *x, int64_t m, int64_t k, const void *w, int dtype, int64_t r0, int64_t r1,
                    const float *bias, float *out, int64_t ldo) {
    if (m <= 0 || r1 <= r0) return;
    if (!pg_has_avx2_fma()) {
        linear_rows_portable(x, m, k, w, dtype, r0, r1, bias, out, ldo);
        return;
    }
    switch (dtype) {
    case PG_DTYPE_F32: linear_rows_f32(x, m, k, w, r0, r1, bias, out, ldo); break;
    case PG_DTYPE_F16: linear_rows_f16(x, m, k, w, r0, r1, bias, out, ldo); break;
    case PG_DTYPE_Q8_0: linear_rows_q8_0(x, m, k, w, r0, r1, bias, out, ldo); break;
    case PG_DTYPE_Q4_0: linear_rows_q4_0(x, m, k, w, r0, r1, bias, out, ldo); break;
    case PG_DTYPE_Q4_K: linear_rows_q4_K(x, m, k, w, r0, r1, bias, out, ldo); break;
    case PG_DTYPE_Q6_K: linear_rows_q6_K(x, m, k, w, r0, r1, bias, out, ldo); break;
    default: linear_rows_bf16(x, m, k, w, r0, r1, bias, out, ldo); break;
    }
}
