// Integer dot products for block-quantized weights (Q8_0, Q4_0) at decode
// and batched-decode sizes.
//
// The activations are quantized once per linear call to 8-bit blocks of 32
// (`pg_quantize_activations`), so each block's dot product stays in integer
// arithmetic: |w| x sign(x, w) with `vpmaddubsw` (u8 x s8 -> s16 pairs), then
// `vpmaddwd` against ones (-> 8 s32), converted to f32 once per block and
// scaled by d_w * d_x. W is read once, straight from memory: 34 bytes per 32
// weights for Q8_0, 18 for Q4_0 (bf16: 64).
#include "CKernels.h"
#include "kernels_internal.h"

#include <math.h>

/// Layout of quantized activations: int8 q[m][k], then (64-byte aligned) f32 d[m][k / 32],
/// then f32 s[m][k / 32] = d * (sum of the block's q) (for Q4_0's offset of 8).
static size_t scales_offset(int64_t m, int64_t k) { return ((size_t)(m * k) + 63) / 64 * 64; }

size_t pg_quantized_activation_bytes(int64_t m, int64_t k) {
    return scales_offset(m, k) + 2 * sizeof(float) * (size_t)(m * (k / PG_Q8_BLOCK));
}

static void quantize_block_portable(const float *x, int8_t *q, float *d, float *s) {
    float max = 0;
    for (int j = 0; j < PG_Q8_BLOCK; j++) max = fmaxf(max, fabsf(x[j]));
    float inverse = max > 0 ? 127.0f / max : 0.0f;
    int sum = 0;
    for (int j = 0; j < PG_Q8_BLOCK; j++) {
        q[j] = (int8_t)nearbyintf(x[j] * inverse);
        sum += q[j];
    }
    *d = max / 127.0f;
    *s = *d * (float)sum;
}

static PG_AVX2 void quantize_block_avx2(const float *x, int8_t *q, float *d, float *s) {
    __m256 v[4];
    const __m256 signBit = _mm256_set1_ps(-0.0f);
    __m256 max = _mm256_setzero_ps();
    for (int c = 0; c < 4; c++) {
        v[c] = _mm256_loadu_ps(x + 8 * c);
        max = _mm256_max_ps(max, _mm256_andnot_ps(signBit, v[c]));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(max), _mm256_extractf128_ps(max, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float maxAbs = _mm_cvtss_f32(m4);
    const __m256 inverse = _mm256_set1_ps(maxAbs > 0 ? 127.0f / maxAbs : 0.0f);
    __m256i i32[4];
    for (int c = 0; c < 4; c++) i32[c] = _mm256_cvtps_epi32(_mm256_mul_ps(v[c], inverse));  // nearest even
    // Pack 32-bit lanes to bytes; the packs interleave 128-bit halves, so restore the order after.
    __m256i i16a = _mm256_packs_epi32(i32[0], i32[1]);
    __m256i i16b = _mm256_packs_epi32(i32[2], i32[3]);
    __m256i i8 = _mm256_packs_epi16(i16a, i16b);
    i8 = _mm256_permutevar8x32_epi32(i8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, i8);
    *d = maxAbs / 127.0f;
    __m256i sums = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), i8), _mm256_set1_epi16(1));
    *s = *d * hsum(_mm256_cvtepi32_ps(sums));
}

void pg_quantize_activations(const float *x, int64_t m, int64_t k, void *qx) {
    int8_t *q = (int8_t *)qx;
    int64_t numBlocks = m * (k / PG_Q8_BLOCK);
    float *d = (float *)((uint8_t *)qx + scales_offset(m, k));
    float *s = d + numBlocks;
    int avx2 = pg_has_avx2_fma();
    for (int64_t b = 0; b < numBlocks; b++) {  // rows are whole blocks, so block b starts at x + 32 b
        if (avx2) quantize_block_avx2(x + b * PG_Q8_BLOCK, q + b * PG_Q8_BLOCK, d + b, s + b);
        else quantize_block_portable(x + b * PG_Q8_BLOCK, q + b * PG_Q8_BLOCK, d + b, s + b);
    }
}

// ---- portable ------------------------------------------------------------

/// Weight `j` of a Q8_0 or Q4_0 block as its integer (the block's scale not applied).
static inline int block_int(const uint8_t *block, int dtype, int j) {
    if (dtype == PG_DTYPE_Q8_0) return (int8_t)block[2 + j];
    return (j < 16 ? (block[2 + j] & 0x0F) : (block[2 + j - 16] >> 4)) - 8;
}

static void quantized_rows_portable(const int8_t *q, const float *d, int64_t m, int64_t k, const void *w, int dtype,
                                    int64_t r0, int64_t r1, const float *bias, float *out, int64_t ldo) {
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    const int64_t blockBytes = dtype == PG_DTYPE_Q8_0 ? PG_Q8_BYTES : PG_Q4_BYTES;
    for (int64_t i = 0; i < m; i++) {
        for (int64_t r = r0; r < r1; r++) {
            float sum = 0;
            for (int64_t b = 0; b < numBlocks; b++) {
                const uint8_t *block = (const uint8_t *)w + (r * numBlocks + b) * blockBytes;
                uint16_t scale;
                memcpy(&scale, block, 2);
                int dot = 0;
                const int8_t *xq = q + (i * numBlocks + b) * PG_Q8_BLOCK;
                for (int j = 0; j < PG_Q8_BLOCK; j++) dot += block_int(block, dtype, j) * xq[j];
                sum += (float)dot * f16_to_float(scale) * d[i * numBlocks + b];
            }
            out[i * ldo + r] = sum + (bias ? bias[r] : 0.0f);
        }
    }
}

// ---- AVX2 ----------------------------------------------------------------

/// A block's 32 weights as bytes (Q8_0: signed; Q4_0: the unsigned nibbles
/// 0-15, i.e. w + 8), and its scale.
PG_INLINE PG_AVX2 __m256i load_block(const uint8_t *block, int dtype, float *scale) {
    uint16_t bits;
    memcpy(&bits, block, 2);
    *scale = _cvtsh_ss(bits);
    if (dtype == PG_DTYPE_Q8_0) return _mm256_loadu_si256((const __m256i *)(block + 2));
    __m128i packed = _mm_loadu_si128((const __m128i *)(block + 2));
    __m256i nibbles = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);  // low half: weights 0-15
    return _mm256_and_si256(nibbles, _mm256_set1_epi8(0x0F));
}

/// Eight s32 partial sums of u . x over one block (u unsigned bytes), as f32.
PG_INLINE PG_AVX2 __m256 block_dot(__m256i u, __m256i x) {
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1)));
}

/// out[(i+b)*ldo + r+a] = sum over blocks of d_w d_x (w . x), for a < RW, b < RX.
/// Q8_0 multiplies |w| by sign(x, w); Q4_0 multiplies the nibbles u = w + 8 by
/// x and subtracts 8 d_w (d_x sum x) per block, from the precomputed sums s.
PG_INLINE PG_AVX2 void quantized_micro(const int8_t *q, const float *d, const float *s, int64_t numBlocks,
                                       const void *w, int dtype, int64_t blockBytes, int64_t r, int64_t i,
                                       float *out, int64_t ldo, const int RW, const int RX) {
    __m256 acc[4][4];
    float offset[4][4];
    for (int a = 0; a < RW; a++)
        for (int b = 0; b < RX; b++) {
            acc[a][b] = _mm256_setzero_ps();
            offset[a][b] = 0;
        }
    const uint8_t *rows[4];
    for (int a = 0; a < RW; a++) rows[a] = (const uint8_t *)w + (r + a) * numBlocks * blockBytes;
    // The RW rows are contiguous, and so is the next group: in the first pass over
    // this group (x rows from 0), prefetch the next one at the rate this one is
    // consumed, so DRAM latency overlaps the arithmetic. Without this the hardware
    // prefetchers leave Q4_0 decode at ~40 % of its in-cache speed.
    const char *ahead = (const char *)w + (r + RW) * numBlocks * blockBytes;
    for (int64_t blk = 0; blk < numBlocks; blk++) {
        __m256i wq[4], u[4];
        float dw[4];
        if (i == 0) {
            _mm_prefetch(ahead + blk * RW * blockBytes, _MM_HINT_T0);
            _mm_prefetch(ahead + blk * RW * blockBytes + 64, _MM_HINT_T0);
        }
        for (int a = 0; a < RW; a++) {
            wq[a] = load_block(rows[a] + blk * blockBytes, dtype, &dw[a]);
            u[a] = dtype == PG_DTYPE_Q8_0 ? _mm256_sign_epi8(wq[a], wq[a]) : wq[a];
        }
        for (int b = 0; b < RX; b++) {
            const int64_t xb = (i + b) * numBlocks + blk;
            __m256i xq = _mm256_loadu_si256((const __m256i *)(q + xb * PG_Q8_BLOCK));
            for (int a = 0; a < RW; a++) {
                __m256i xs = dtype == PG_DTYPE_Q8_0 ? _mm256_sign_epi8(xq, wq[a]) : xq;
                acc[a][b] = _mm256_fmadd_ps(block_dot(u[a], xs), _mm256_set1_ps(dw[a] * d[xb]), acc[a][b]);
                if (dtype == PG_DTYPE_Q4_0) offset[a][b] += dw[a] * s[xb];
            }
        }
    }
    for (int a = 0; a < RW; a++)
        for (int b = 0; b < RX; b++) out[(i + b) * ldo + r + a] += hsum(acc[a][b]) - 8 * offset[a][b];
}

/// W rows r..r+RW against every x row, RX at a time (decode: 4 W rows x 1; batched: 2 x 4).
PG_INLINE PG_AVX2 void quantized_row_group(const int8_t *q, const float *d, const float *s, int64_t m,
                                           int64_t numBlocks, const void *w, int dtype, int64_t blockBytes, int64_t r,
                                           float *out, int64_t ldo, const int RW) {
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) quantized_micro(q, d, s, numBlocks, w, dtype, blockBytes, r, i, out, ldo, RW, 4);
    for (; i < m; i++) quantized_micro(q, d, s, numBlocks, w, dtype, blockBytes, r, i, out, ldo, RW, 1);
}

PG_INLINE PG_AVX2 void quantized_rows_avx2(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                           const void *w, int dtype, int64_t r0, int64_t r1, float *out, int64_t ldo) {
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    const int64_t blockBytes = dtype == PG_DTYPE_Q8_0 ? PG_Q8_BYTES : PG_Q4_BYTES;
    int64_t r = r0;
    if (m == 1) {
        for (; r + 4 <= r1; r += 4) quantized_row_group(q, d, s, m, numBlocks, w, dtype, blockBytes, r, out, ldo, 4);
    } else {
        for (; r + 2 <= r1; r += 2) quantized_row_group(q, d, s, m, numBlocks, w, dtype, blockBytes, r, out, ldo, 2);
    }
    for (; r < r1; r++) quantized_row_group(q, d, s, m, numBlocks, w, dtype, blockBytes, r, out, ldo, 1);
}

static PG_AVX2 void quantized_rows_q8_0(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                        const void *w, int64_t r0, int64_t r1, float *out, int64_t ldo) {
    quantized_rows_avx2(q, d, s, m, k, w, PG_DTYPE_Q8_0, r0, r1, out, ldo);
}

static PG_AVX2 void quantized_rows_q4_0(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                        const void *w, int64_t r0, int64_t r1, float *out, int64_t ldo) {
    quantized_rows_avx2(q, d, s, m, k, w, PG_DTYPE_Q4_0, r0, r1, out, ldo);
}

void pg_linear_rows_quantized(const void *qx, int64_t m, int64_t k, const void *w, int dtype, int64_t r0, int64_t r1,
                              const float *bias, float *out, int64_t ldo) {
    if (m <= 0 || r1 <= r0) return;
    const int8_t *q = (const int8_t *)qx;
    const float *d = (const float *)((const uint8_t *)qx + scales_offset(m, k));
    const float *s = d + m * (k / PG_Q8_BLOCK);
    if (!pg_has_avx2_fma()) {
        quantized_rows_portable(q, d, m, k, w, dtype, r0, r1, bias, out, ldo);
        return;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t r = r0; r < r1; r++) out[i * ldo + r] = bias ? bias[r] : 0.0f;
    if (dtype == PG_DTYPE_Q8_0) quantized_rows_q8_0(q, d, s, m, k, w, r0, r1, out, ldo);
    else quantized_rows_q4_0(q, d, s, m, k, w, r0, r1, out, ldo);
}
