// Integer dot products for llama.cpp's k-quants (Q4_K, Q6_K) at decode and
// batched-decode sizes, and the activation rounding llama.cpp uses for them
// (its Q8_K). The activations share quantized.c's layout; prefill instead
// widens k-quants into linear.c's f32 panels.
#include "CKernels.h"
#include "kernels_internal.h"
#include "kquants.h"

#include <math.h>

void pg_quantize_activations_k(const float *x, int64_t m, int64_t k, void *qx) {
    int8_t *q = (int8_t *)qx;
    const int64_t numBlocks = k / PG_Q8_BLOCK, mp = padded_rows(m);
    float *d = (float *)((uint8_t *)qx + scales_offset(m, k));
    float *s = d + numBlocks * mp;
    memset(d, 0, 2 * sizeof(float) * (size_t)(numBlocks * mp));
    for (int64_t i = 0; i < m; i++) {
        for (int64_t g = 0; g < k / PG_QK_BLOCK; g++) {
            const float *xg = x + i * k + g * PG_QK_BLOCK;
            int8_t *qg = q + i * k + g * PG_QK_BLOCK;
            float max = 0, maxAbs = 0;  // the signed value of largest magnitude (first one wins)
            for (int j = 0; j < PG_QK_BLOCK; j++)
                if (fabsf(xg[j]) > maxAbs) {
                    maxAbs = fabsf(xg[j]);
                    max = xg[j];
                }
            const float inverse = maxAbs > 0 ? -127.0f / max : 0.0f;
            for (int j = 0; j < PG_QK_BLOCK; j++) {
                float v = nearbyintf(inverse * xg[j]);
                qg[j] = (int8_t)(v > 127 ? 127 : v);
            }
            const float scale = maxAbs > 0 ? 1.0f / inverse : 0.0f;
            for (int b = 0; b < PG_QK_BLOCK / PG_Q8_BLOCK; b++) {
                int sum = 0;
                for (int j = 0; j < PG_Q8_BLOCK; j++) sum += qg[b * PG_Q8_BLOCK + j];
                const int64_t at = scale_index(i, g * (PG_QK_BLOCK / PG_Q8_BLOCK) + b, numBlocks);
                d[at] = scale;
                s[at] = scale * (float)sum;
            }
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
