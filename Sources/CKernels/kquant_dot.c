// Integer dot products for llama.cpp's k-quants (Q4_K, Q6_K) at decode and
// batched-decode sizes, for matrices whose row count is not a multiple of 8
// (the others are repacked at load: q4_Kx8.c, q6_Kx8.c), and the activation
// rounding llama.cpp uses for them (its Q8_K). The activations share
// quantized.c's layout; prefill on such matrices widens them into linear.c's
// f32 panels.
#include "CKernels.h"
#include "kernels_internal.h"
#include "kquants.h"

#include <math.h>

/// llama.cpp's Q8_K rounding of one group of 256 (see `pg_quantize_activations_k`); writes
/// the quants, and the group's scale and each block of 32's sum of quants.
static void quantize_group_k_portable(const float *x, int8_t *q, float *scale, int sums[8]) {
    float max = 0, maxAbs = 0;  // the signed value of largest magnitude (first one wins)
    for (int j = 0; j < PG_QK_BLOCK; j++)
        if (fabsf(x[j]) > maxAbs) {
            maxAbs = fabsf(x[j]);
            max = x[j];
        }
    const float inverse = maxAbs > 0 ? -127.0f / max : 0.0f;
    for (int j = 0; j < PG_QK_BLOCK; j++) {
        float v = nearbyintf(inverse * x[j]);
        q[j] = (int8_t)(v > 127 ? 127 : v);
    }
    *scale = maxAbs > 0 ? 1.0f / inverse : 0.0f;
    for (int b = 0; b < PG_QK_BLOCK / PG_Q8_BLOCK; b++) {
        sums[b] = 0;
        for (int j = 0; j < PG_Q8_BLOCK; j++) sums[b] += q[b * PG_Q8_BLOCK + j];
    }
}

static PG_AVX2 void quantize_group_k_avx2(const float *x, int8_t *q, float *scale, int sums[8]) {
    const __m256 signBit = _mm256_set1_ps(-0.0f);
    __m256 maxV = _mm256_setzero_ps();
    for (int j = 0; j < PG_QK_BLOCK; j += 8)  // maxps returns its second operand for a NaN: NaNs are skipped
        maxV = _mm256_max_ps(_mm256_andnot_ps(signBit, _mm256_loadu_ps(x + j)), maxV);
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(maxV), _mm256_extractf128_ps(maxV, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    const float maxAbs = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
    float max = 0;  // the first value of that magnitude, with its sign (searched one value at a time: 2 %
                    // of a 16-sequence Q4_0 step)
    const __m256 target = _mm256_set1_ps(maxAbs);
    for (int j = 0; j < PG_QK_BLOCK && maxAbs > 0; j += 8) {
        const int hits = _mm256_movemask_ps(
            _mm256_cmp_ps(_mm256_andnot_ps(signBit, _mm256_loadu_ps(x + j)), target, _CMP_EQ_OQ));
        if (hits) {
            max = x[j + __builtin_ctz((unsigned)hits)];
            break;
        }
    }
    const float inverse = maxAbs > 0 ? -127.0f / max : 0.0f;
    const __m256 inv = _mm256_set1_ps(inverse), top = _mm256_set1_ps(127.0f);
    for (int b = 0; b < PG_QK_BLOCK / PG_Q8_BLOCK; b++) {
        __m256 v[4];  // min(127, .) before rounding equals after it: 127 is an integer
        for (int c = 0; c < 4; c++) v[c] = _mm256_min_ps(_mm256_mul_ps(inv, _mm256_loadu_ps(x + 32 * b + 8 * c)), top);
        const __m256i i8 = pack_int8(v);
        _mm256_storeu_si256((__m256i *)(q + 32 * b), i8);
        sums[b] = sum_int8(i8);
    }
    *scale = maxAbs > 0 ? 1.0f / inverse : 0.0f;
}

void pg_quantize_activations_k(const float *x, int64_t m, int64_t k, void *qx) {
    pg_quantize_activation_rows_k(x, m, k, 0, m, qx);
}

void pg_quantize_activation_rows_k(const float *x, int64_t m, int64_t k, int64_t r0, int64_t r1, void *qx) {
    int8_t *q = (int8_t *)qx;
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    const pg_activation_scales scales = activation_scales(qx, m, k);
    if (r1 == m) zero_padding_scales(scales, m, numBlocks);
    const int avx2 = pg_has_avx2_fma();
    for (int64_t i = r0; i < r1; i++) {
        for (int64_t g = 0; g < k / PG_QK_BLOCK; g++) {
            const int64_t at = i * k + g * PG_QK_BLOCK;
            float scale;
            int sums[PG_QK_BLOCK / PG_Q8_BLOCK];
            if (avx2) quantize_group_k_avx2(x + at, q + at, &scale, sums);
            else quantize_group_k_portable(x + at, q + at, &scale, sums);
            for (int b = 0; b < PG_QK_BLOCK / PG_Q8_BLOCK; b++)
                set_block_scales(scales, i, g * (PG_QK_BLOCK / PG_Q8_BLOCK) + b, numBlocks, scale, sums[b]);
        }
    }
}

/// One k-quant super-block of a W row as 8 vectors of 32 byte quants (one per
/// sub-block of 32, matching one activation block each) and per-sub-block factors:
/// Q4_K: unsigned nibbles, `scale[s]` = d sc_s for both halves, `offset[s]` = dmin mn_s
/// (weight = scale q - offset); Q6_K: signed q - 32, `scale[s]` / `scaleHigh[s]` = d sc
/// of the sub-block's first / second 16 weights, no offset.
PG_INLINE PG_AVX2 void kquant_unpack(const uint8_t *block, int dtype, __m256i quants[8], float scale[8],
                                     float scaleHigh[8], float offset[8]) {
    if (dtype == PG_DTYPE_Q4_K) {
        uint16_t bits[2];
        memcpy(bits, block, 4);
        const float d = _cvtsh_ss(bits[0]), dmin = _cvtsh_ss(bits[1]);
        const __m256i mask = _mm256_set1_epi8(0x0F);
        for (int c = 0; c < 4; c++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(block + 16 + 32 * c));
            quants[2 * c] = _mm256_and_si256(v, mask);
            quants[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
        }
        for (int sub = 0; sub < 8; sub++) {
            int sc, mn;
            q4_K_scale_min(block + 4, sub, &sc, &mn);
            scale[sub] = scaleHigh[sub] = d * (float)sc;
            offset[sub] = dmin * (float)mn;
        }
        return;
    }
    uint16_t bits;
    memcpy(&bits, block + 208, 2);
    const float d = _cvtsh_ss(bits);
    const __m256i mask4 = _mm256_set1_epi8(0x0F), mask2 = _mm256_set1_epi8(3), centre = _mm256_set1_epi8(32);
    for (int h = 0; h < 2; h++) {
        const __m256i ql[2] = {_mm256_loadu_si256((const __m256i *)(block + 64 * h)),
                               _mm256_loadu_si256((const __m256i *)(block + 64 * h + 32))};
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(block + 128 + 32 * h));
        for (int g = 0; g < 4; g++) {
            __m256i low = _mm256_and_si256(g >= 2 ? _mm256_srli_epi16(ql[g & 1], 4) : ql[g & 1], mask4);
            __m256i high = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * g)), mask2);
            const int sub = 4 * h + g;
            quants[sub] = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 4)), centre);
            const int8_t *scales = (const int8_t *)(block + 192 + 8 * h + 2 * g);
            scale[sub] = d * (float)scales[0];
            scaleHigh[sub] = d * (float)scales[1];
            offset[sub] = 0;
        }
    }
}

enum { PG_KQ_GROUP = 32 };  // x rows whose accumulators stay live across a W row's super-blocks

/// One W row against x rows [i0, i0 + rows), rows <= PG_KQ_GROUP (inlined with rows = 1
/// for decode, so the accumulator stays in a register).
PG_INLINE PG_AVX2 void kquant_group(const int8_t *q, const float *d, const float *s, int64_t k, const uint8_t *row,
                                    int dtype, int64_t i0, int64_t rows, float *out, int64_t ldo) {
    const int64_t blockBytes = dtype == PG_DTYPE_Q4_K ? PG_Q4K_BYTES : PG_Q6K_BYTES;
    const int64_t numBlocks = k / PG_QK_BLOCK, numXBlocks = k / PG_Q8_BLOCK;
    __m256 acc[PG_KQ_GROUP];
    float minTerm[PG_KQ_GROUP];
    for (int64_t i = 0; i < rows; i++) {
        acc[i] = _mm256_setzero_ps();
        minTerm[i] = 0;
    }
    for (int64_t b = 0; b < numBlocks; b++) {
        if (i0 == 0)  // the next row's block, while this one computes
            for (int64_t p = 0; p < blockBytes; p += 64)
                _mm_prefetch((const char *)row + (numBlocks + b) * blockBytes + p, _MM_HINT_T0);
        __m256i quants[8];
        float scale[8], scaleHigh[8], offset[8];
        kquant_unpack(row + b * blockBytes, dtype, quants, scale, scaleHigh, offset);
        for (int64_t i = 0; i < rows; i++) {
            for (int sub = 0; sub < 8; sub++) {
                const int64_t xb = 8 * b + sub, at = scale_index(i0 + i, xb, numXBlocks);
                const __m256i xq = _mm256_loadu_si256((const __m256i *)(q + (i0 + i) * k + xb * PG_Q8_BLOCK));
                const float dx = d[at];
                if (dtype == PG_DTYPE_Q4_K) {
                    acc[i] = _mm256_fmadd_ps(block_dot(quants[sub], xq), _mm256_set1_ps(scale[sub] * dx), acc[i]);
                    minTerm[i] += offset[sub] * s[at];
                } else {
                    __m256i u = _mm256_sign_epi8(quants[sub], quants[sub]);
                    __m256 factors = _mm256_set_m128(_mm_set1_ps(scaleHigh[sub] * dx), _mm_set1_ps(scale[sub] * dx));
                    acc[i] = _mm256_fmadd_ps(block_dot(u, _mm256_sign_epi8(xq, quants[sub])), factors, acc[i]);
                }
            }
        }
    }
    for (int64_t i = 0; i < rows; i++) out[(i0 + i) * ldo] += hsum(acc[i]) - minTerm[i];
}

/// Q4_K / Q6_K rows [r0, r1) against x rows [0, m) in integer arithmetic: each
/// super-block is unpacked once and meets every x row; per sub-block of 32, the same
/// `vpmaddubsw` / `vpmaddwd` step as Q4_0 (Q4_K's nibbles are unsigned; Q6_K's signed
/// quants use |w| x sign(x, w) like Q8_0), scaled by d_x times the sub-block's scale
/// (Q6_K: one per 16 weights, i.e. per half of the eight int32 lanes), minus Q4_K's
/// min times d_x sum(x).
PG_INLINE PG_AVX2 void kquant_rows(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                   const void *w, int dtype, int64_t r0, int64_t r1, float *out, int64_t ldo) {
    const int64_t rowBytes = k / PG_QK_BLOCK * (dtype == PG_DTYPE_Q4_K ? PG_Q4K_BYTES : PG_Q6K_BYTES);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w + r * rowBytes;
        if (m == 1) {
            kquant_group(q, d, s, k, row, dtype, 0, 1, out + r, ldo);
            continue;
        }
        for (int64_t i0 = 0; i0 < m; i0 += PG_KQ_GROUP)
            kquant_group(q, d, s, k, row, dtype, i0, m - i0 < PG_KQ_GROUP ? m - i0 : PG_KQ_GROUP, out + r, ldo);
    }
}

PG_AVX2 void pg_kquant_rows_int8(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int dtype, int64_t r0, int64_t r1, float *out, int64_t ldo) {
    if (dtype == PG_DTYPE_Q4_K) kquant_rows(q, d, s, m, k, w, PG_DTYPE_Q4_K, r0, r1, out, ldo);
    else kquant_rows(q, d, s, m, k, w, PG_DTYPE_Q6_K, r0, r1, out, ldo);
}
