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
#include "kquants.h"

#include <math.h>

/// W rows per chunk of the batched path (see `batch_rows`).
#ifndef PG_Q_CHUNK
#define PG_Q_CHUNK 64
#endif

size_t pg_quantized_activation_bytes(int64_t m, int64_t k) {
    return scales_offset(m, k) + 3 * sizeof(float) * (size_t)(padded_rows(m) * (k / PG_Q8_BLOCK));
}

/// One block of x into q; returns its scale and sets `sum` to the sum of its quants.
static float quantize_block_portable(const float *x, int8_t *q, int *sum) {
    float max = 0;
    for (int j = 0; j < PG_Q8_BLOCK; j++) max = fmaxf(max, fabsf(x[j]));
    float inverse = max > 0 ? 127.0f / max : 0.0f;
    *sum = 0;
    for (int j = 0; j < PG_Q8_BLOCK; j++) {
        q[j] = (int8_t)nearbyintf(x[j] * inverse);
        *sum += q[j];
    }
    return max / 127.0f;
}

static PG_AVX2 float quantize_block_avx2(const float *x, int8_t *q, int *sum) {
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
    for (int c = 0; c < 4; c++) v[c] = _mm256_mul_ps(v[c], inverse);
    const __m256i i8 = pack_int8(v);
    _mm256_storeu_si256((__m256i *)q, i8);
    *sum = sum_int8(i8);
    return maxAbs / 127.0f;
}

void pg_quantize_activations(const float *x, int64_t m, int64_t k, void *qx) {
    pg_quantize_activation_rows(x, m, k, 0, m, qx);
}

void pg_quantize_activation_rows(const float *x, int64_t m, int64_t k, int64_t r0, int64_t r1, void *qx) {
    int8_t *q = (int8_t *)qx;
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    const pg_activation_scales scales = activation_scales(qx, m, k);
    if (r1 == m) zero_padding_scales(scales, m, numBlocks);
    int avx2 = pg_has_avx2_fma();
    for (int64_t i = r0; i < r1; i++) {
        for (int64_t b = 0; b < numBlocks; b++) {
            const int64_t at = i * k + b * PG_Q8_BLOCK;
            int sum;
            const float d =
                avx2 ? quantize_block_avx2(x + at, q + at, &sum) : quantize_block_portable(x + at, q + at, &sum);
            set_block_scales(scales, i, b, numBlocks, d, sum);
        }
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
                if (dtype == PG_DTYPE_Q4_K || dtype == PG_DTYPE_Q6_K) {  // weights decoded one by one
                    float dot = 0;
                    for (int64_t j = b * PG_Q8_BLOCK; j < (b + 1) * PG_Q8_BLOCK; j++)
                        dot += (dtype == PG_DTYPE_Q4_K ? q4_K_element(w, r * k + j) : q6_K_element(w, r * k + j)) *
                               (float)q[i * k + j];
                    sum += dot * d[scale_index(i, b, numBlocks)];
                    continue;
                }
                const uint8_t *block = (const uint8_t *)w + (r * numBlocks + b) * blockBytes;
                uint16_t scale;
                memcpy(&scale, block, 2);
                int dot = 0;
                const int8_t *xq = q + (i * numBlocks + b) * PG_Q8_BLOCK;
                for (int j = 0; j < PG_Q8_BLOCK; j++) dot += block_int(block, dtype, j) * xq[j];
                sum += (float)dot * f16_to_float(scale) * d[scale_index(i, b, numBlocks)];
            }
            out[i * ldo + r] = sum + (bias ? bias[r] : 0.0f);
        }
    }
}

void pg_offset_activations(void *qx, int64_t m, int64_t k) {
    uint8_t *q = (uint8_t *)qx;
    for (int64_t j = 0; j < m * k; j++) q[j] ^= 0x80;
}

/// The plain loop over a matrix repacked in groups of 8 rows, read through `element`;
/// `offset` 0x80 undoes `pg_offset_activations`.
static void interleaved_rows_portable(const int8_t *q, const float *d, int64_t m, int64_t k, const void *w, int64_t r0,
                                      int64_t r1, float *out, int64_t ldo,
                                      float (*element)(const void *, int64_t, int64_t, int64_t), int offset) {
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    for (int64_t i = 0; i < m; i++)
        for (int64_t r = r0; r < r1; r++) {
            float sum = 0;
            for (int64_t j = 0; j < k; j++)
                sum += element(w, k, r, j) * (float)(int8_t)(q[i * k + j] ^ offset) *
                       d[scale_index(i, j / PG_Q8_BLOCK, numBlocks)];
            out[i * ldo + r] += sum;
        }
}

/// Rows [r0, r1) of the types repacked in groups of 8 rows (see `pg_linear_rows_quantized`).
static void interleaved_linear_rows(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                    const void *w, int dtype, int64_t r0, int64_t r1, const float *bias, float *out,
                                    int64_t ldo) {
    // The AVX2 and VNNI tiles write their rows with the bias (`store_tile`); AMX tiles add.
    if (!pg_has_avx2_fma() || (dtype != PG_DTYPE_Q6_KX8 && pg_has_amx()))
        for (int64_t i = 0; i < m; i++)
            for (int64_t r = r0; r < r1; r++) out[i * ldo + r] = bias ? bias[r] : 0.0f;
    if (!pg_has_avx2_fma()) {
        float (*element)(const void *, int64_t, int64_t, int64_t) =
            dtype == PG_DTYPE_Q8_0X16   ? pg_q8_0x16_element
            : dtype == PG_DTYPE_Q4_0X16 ? pg_q4_0x16_element
            : dtype == PG_DTYPE_Q4_KX8 ? pg_q4_Kx8_element
                                       : pg_q6_Kx8_element;
        interleaved_rows_portable(q, d, m, k, w, r0, r1, out, ldo, element, dtype == PG_DTYPE_Q6_KX8 ? 0x80 : 0);
    } else if ((dtype == PG_DTYPE_Q8_0X16 || dtype == PG_DTYPE_Q4_0X16 || dtype == PG_DTYPE_Q4_KX8) && pg_has_amx()) {
        pg_interleaved_rows_amx(q, d, s, m, k, w, dtype, r0 / 8, r1 / 8, bias, out, ldo);
    } else if (dtype == PG_DTYPE_Q8_0X16) {
        if (pg_has_avx512_vnni()) pg_q8_0x16_rows_vnni(q, d, s, m, k, w, r0 / 16, r1 / 16, bias, out, ldo);
        else pg_q8_0x16_rows_avx2(q, d, s, m, k, w, r0 / 16, r1 / 16, bias, out, ldo);
    } else if (dtype == PG_DTYPE_Q4_0X16) {
        if (pg_has_avx512_vnni()) pg_q4_0x16_rows_vnni(q, d, s, m, k, w, r0 / 16, r1 / 16, bias, out, ldo);
        else pg_q4_0x16_rows_avx2(q, d, s, m, k, w, r0 / 16, r1 / 16, bias, out, ldo);
    } else if (dtype == PG_DTYPE_Q4_KX8) {
        if (pg_has_avx512_vnni()) pg_q4_Kx8_rows_vnni(q, d, s, m, k, w, r0 / 8, r1 / 8, bias, out, ldo);
        else pg_q4_Kx8_rows_avx2(q, d, s, m, k, w, r0 / 8, r1 / 8, bias, out, ldo);
    } else if (pg_has_avx512_vnni()) {  // q holds x + 128 (unsigned)
        pg_q6_Kx8_rows_vnni(q, d, s, m, k, w, r0 / 8, r1 / 8, bias, out, ldo);
    } else {
        pg_q6_Kx8_rows_avx2(q, d, s, m, k, w, r0 / 8, r1 / 8, bias, out, ldo);
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

/// Decode (one x row): out[r + a] += sum over blocks of d_w d_x (w . x) for 4 W rows.
/// Q8_0 multiplies |w| by sign(x, w); Q4_0 multiplies the nibbles u = w + 8 by x
/// and subtracts 8 d_w (d_x sum x) per block, from the precomputed sums s.
PG_INLINE PG_AVX2 void decode_micro(const int8_t *q, const float *d, const float *s, int64_t numBlocks,
                                    const void *w, int dtype, int64_t blockBytes, int64_t r, float *out) {
    enum { RW = 4 };
    __m256 acc[RW];
    float offset[RW];
    const uint8_t *rows[RW];
    for (int a = 0; a < RW; a++) {
        acc[a] = _mm256_setzero_ps();
        offset[a] = 0;
        rows[a] = (const uint8_t *)w + (r + a) * numBlocks * blockBytes;
    }
    // The next group of rows follows this one: prefetch it at the rate this one is
    // consumed, so DRAM latency overlaps the arithmetic (without this the hardware
    // prefetchers leave Q4_0 decode at ~40 % of its in-cache speed).
    const char *ahead = (const char *)w + (r + RW) * numBlocks * blockBytes;
    for (int64_t blk = 0; blk < numBlocks; blk++) {
        _mm_prefetch(ahead + blk * RW * blockBytes, _MM_HINT_T0);
        _mm_prefetch(ahead + blk * RW * blockBytes + 64, _MM_HINT_T0);
        const int64_t xb = blk * 8;  // row 0's scale of this block
        const __m256i xq = _mm256_loadu_si256((const __m256i *)(q + blk * PG_Q8_BLOCK));
        for (int a = 0; a < RW; a++) {
            float dw;
            __m256i wq = load_block(rows[a] + blk * blockBytes, dtype, &dw);
            __m256i u = dtype == PG_DTYPE_Q8_0 ? _mm256_sign_epi8(wq, wq) : wq;
            __m256i xs = dtype == PG_DTYPE_Q8_0 ? _mm256_sign_epi8(xq, wq) : xq;
            acc[a] = _mm256_fmadd_ps(block_dot(u, xs), _mm256_set1_ps(dw * d[xb]), acc[a]);
            if (dtype == PG_DTYPE_Q4_0) offset[a] += dw * s[xb];
        }
    }
    for (int a = 0; a < RW; a++) out[r + a] += hsum(acc[a]) - 8 * offset[a];
}

/// Batched: one W row r against x rows [i, i + RX), RX <= 8, x rows as memory
/// operands (the caller keeps these RX rows in L1 across many W rows).
/// `table` (8 floats per block) receives d_w d_x of each block and row first, so
/// the main loop only broadcasts from it.
PG_INLINE PG_AVX2 void batch_micro(const int8_t *q, const float *d, const float *s, int64_t k,
                                   const void *w, int dtype, int64_t blockBytes, int64_t r, int64_t i, int prefetch,
                                   float *table, float *out, int64_t ldo, const int RX) {
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    const uint8_t *row = (const uint8_t *)w + r * numBlocks * blockBytes;
    const float *dTile = d + i * numBlocks, *sTile = s + i * numBlocks;  // i is a multiple of 8
    __m256 offset = _mm256_setzero_ps();
    for (int64_t blk = 0; blk < numBlocks; blk++) {
        float dw;
        uint16_t bits;
        memcpy(&bits, row + blk * blockBytes, 2);
        dw = _cvtsh_ss(bits);
        const __m256 dwv = _mm256_set1_ps(dw);
        _mm256_store_ps(table + 8 * blk, _mm256_mul_ps(dwv, _mm256_loadu_ps(dTile + 8 * blk)));
        if (dtype == PG_DTYPE_Q4_0) offset = _mm256_fmadd_ps(dwv, _mm256_loadu_ps(sTile + 8 * blk), offset);
    }
    if (prefetch)  // the next W row, while this one is in flight (first x tile only)
        for (int64_t b = 0; b < numBlocks * blockBytes; b += 64) _mm_prefetch((const char *)row + numBlocks * blockBytes + b, _MM_HINT_T0);
    __m256 acc[8];
    for (int b = 0; b < RX; b++) acc[b] = _mm256_setzero_ps();
    for (int64_t blk = 0; blk < numBlocks; blk++) {
        float dw;
        __m256i wq = load_block(row + blk * blockBytes, dtype, &dw);
        __m256i u = dtype == PG_DTYPE_Q8_0 ? _mm256_sign_epi8(wq, wq) : wq;
        for (int b = 0; b < RX; b++) {
            __m256i xq = _mm256_loadu_si256((const __m256i *)(q + (i + b) * k + blk * PG_Q8_BLOCK));
            __m256i xs = dtype == PG_DTYPE_Q8_0 ? _mm256_sign_epi8(xq, wq) : xq;
            acc[b] = _mm256_fmadd_ps(block_dot(u, xs), _mm256_broadcast_ss(table + 8 * blk + b), acc[b]);
        }
    }
    float offsets[8];
    _mm256_storeu_ps(offsets, offset);
    for (int b = 0; b < RX; b++) out[(i + b) * ldo + r] += hsum(acc[b]) - (dtype == PG_DTYPE_Q4_0 ? 8 * offsets[b] : 0);
}

/// W rows [r0, r1) in chunks of 64 (54-68 KiB of Q4_0 / Q8_0 at k = 1536, kept in
/// L2); within a chunk each tile of up to 8 x rows (in L1) meets every W row.
PG_INLINE PG_AVX2 void batch_rows(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                  const void *w, int dtype, int64_t r0, int64_t r1, float *table, float *out,
                                  int64_t ldo) {
    const int64_t blockBytes = dtype == PG_DTYPE_Q8_0 ? PG_Q8_BYTES : PG_Q4_BYTES;
    for (int64_t c0 = r0; c0 < r1; c0 += PG_Q_CHUNK) {
        const int64_t c1 = c0 + PG_Q_CHUNK < r1 ? c0 + PG_Q_CHUNK : r1;
        for (int64_t i = 0; i < m; i += 8) {
            const int64_t rows = m - i < 8 ? m - i : 8;
            for (int64_t r = c0; r < c1; r++) {
                const int prefetch = i == 0 && r + 1 < r1;
                switch (rows) {
                case 8: batch_micro(q, d, s, k, w, dtype, blockBytes, r, i, prefetch, table, out, ldo, 8); break;
                case 7: batch_micro(q, d, s, k, w, dtype, blockBytes, r, i, prefetch, table, out, ldo, 7); break;
                case 6: batch_micro(q, d, s, k, w, dtype, blockBytes, r, i, prefetch, table, out, ldo, 6); break;
                case 5: batch_micro(q, d, s, k, w, dtype, blockBytes, r, i, prefetch, table, out, ldo, 5); break;
                case 4: batch_micro(q, d, s, k, w, dtype, blockBytes, r, i, prefetch, table, out, ldo, 4); break;
                case 3: batch_micro(q, d, s, k, w, dtype, blockBytes, r, i, prefetch, table, out, ldo, 3); break;
                case 2: batch_micro(q, d, s, k, w, dtype, blockBytes, r, i, prefetch, table, out, ldo, 2); break;
                default: batch_micro(q, d, s, k, w, dtype, blockBytes, r, i, prefetch, table, out, ldo, 1); break;
                }
            }
        }
    }
}

/// m = 1: 4 W rows at a time (memory-bound); otherwise tiles of 8 x rows.
PG_INLINE PG_AVX2 void quantized_rows_avx2(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                           const void *w, int dtype, int64_t r0, int64_t r1, float *table,
                                           float *out, int64_t ldo) {
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    const int64_t blockBytes = dtype == PG_DTYPE_Q8_0 ? PG_Q8_BYTES : PG_Q4_BYTES;
    int64_t r = r0;
    if (m == 1)
        for (; r + 4 <= r1; r += 4) decode_micro(q, d, s, numBlocks, w, dtype, blockBytes, r, out);
    if (r < r1) batch_rows(q, d, s, m, k, w, dtype, r, r1, table, out, ldo);
}

static PG_AVX2 void quantized_rows_q8_0(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                        const void *w, int64_t r0, int64_t r1, float *table, float *out, int64_t ldo) {
    quantized_rows_avx2(q, d, s, m, k, w, PG_DTYPE_Q8_0, r0, r1, table, out, ldo);
}

static PG_AVX2 void quantized_rows_q4_0(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                        const void *w, int64_t r0, int64_t r1, float *table, float *out, int64_t ldo) {
    quantized_rows_avx2(q, d, s, m, k, w, PG_DTYPE_Q4_0, r0, r1, table, out, ldo);
}

void pg_linear_rows_quantized(const void *qx, int64_t m, int64_t k, const void *w, int dtype, int64_t r0, int64_t r1,
                              const float *bias, float *out, int64_t ldo) {
    if (m <= 0 || r1 <= r0) return;
    const int8_t *q = (const int8_t *)qx;
    const pg_activation_scales scales = activation_scales(qx, m, k);
    const float *d = scales.d, *s = scales.s;
    if (dtype == PG_DTYPE_Q8_0X16 || dtype == PG_DTYPE_Q4_0X16 || dtype == PG_DTYPE_Q4_KX8 || dtype == PG_DTYPE_Q6_KX8) {
        interleaved_linear_rows(q, d, s, m, k, w, dtype, r0, r1, bias, out, ldo);
        return;
    }
    float *table = pg_has_avx2_fma() ? (float *)aligned_alloc(64, sizeof(float) * 8 * (size_t)(k / PG_Q8_BLOCK)) : NULL;
    if (!table) {
        quantized_rows_portable(q, d, m, k, w, dtype, r0, r1, bias, out, ldo);
        return;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t r = r0; r < r1; r++) out[i * ldo + r] = bias ? bias[r] : 0.0f;
    if (dtype == PG_DTYPE_Q8_0) quantized_rows_q8_0(q, d, s, m, k, w, r0, r1, table, out, ldo);
    else if (dtype == PG_DTYPE_Q4_0) quantized_rows_q4_0(q, d, s, m, k, w, r0, r1, table, out, ldo);
    else pg_kquant_rows_int8(q, d, s, m, k, w, dtype, r0, r1, out, ldo);
    free(table);
}
