// Attention of one query head over a paged KV cache, and the SwiGLU
// activation: the row-wise parts of a decoder layer that are too slow as
// scalar loops (one exp per score or per activation).
#include "CKernels.h"
#include "kernels_internal.h"

#include <math.h>

/// e^x for 8 lanes: x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-6
/// polynomial, 2^n through the exponent bits. Relative error about 2e-7;
/// inputs are clamped to [-87, 88] (no infinities or denormals).
PG_INLINE PG_AVX2 __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), x);  // ln2 split in two for precision
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860677e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

/// Slot of every context position (block table lookup), written to `slots`.
static void context_slots(const int64_t *blockTable, int64_t blockSize, int64_t numContext, int64_t *slots) {
    for (int64_t pos = 0; pos < numContext; pos++)
        slots[pos] = blockTable[pos / blockSize] * blockSize + pos % blockSize;
}

static void softmax_portable(float *x, int64_t count) {
    float max = -INFINITY, sum = 0;
    for (int64_t i = 0; i < count; i++) max = fmaxf(max, x[i]);
    for (int64_t i = 0; i < count; i++) sum += (x[i] = expf(x[i] - max));
    for (int64_t i = 0; i < count; i++) x[i] /= sum;
}

static void attention_portable(const float *q, const float *keys, const float *values, int64_t kvStride,
                               const int64_t *slots, int64_t numContext, int64_t headDim, float scale, float *scores,
                               float *out) {
    for (int64_t pos = 0; pos < numContext; pos++) {
        float dot = 0;
        for (int64_t j = 0; j < headDim; j++) dot += q[j] * keys[slots[pos] * kvStride + j];
        scores[pos] = dot * scale;
    }
    softmax_portable(scores, numContext);
    for (int64_t j = 0; j < headDim; j++) out[j] = 0;
    for (int64_t pos = 0; pos < numContext; pos++)
        for (int64_t j = 0; j < headDim; j++) out[j] += scores[pos] * values[slots[pos] * kvStride + j];
}

static PG_AVX2 void softmax_avx2(float *x, int64_t count) {
    __m256 maxv = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) maxv = _mm256_max_ps(maxv, _mm256_loadu_ps(x + i));
    float lanes[8], max = -INFINITY;
    _mm256_storeu_ps(lanes, maxv);
    for (int l = 0; l < 8; l++) max = fmaxf(max, lanes[l]);
    for (int64_t t = i; t < count; t++) max = fmaxf(max, x[t]);
    __m256 sumv = _mm256_setzero_ps();
    const __m256 m = _mm256_set1_ps(max);
    for (i = 0; i + 8 <= count; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
        _mm256_storeu_ps(x + i, e);
        sumv = _mm256_add_ps(sumv, e);
    }
    float sum = hsum(sumv);
    for (int64_t t = i; t < count; t++) sum += (x[t] = expf(x[t] - max));
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (i = 0; i + 8 <= count; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (int64_t t = i; t < count; t++) x[t] /= sum;
}

/// headDim a multiple of 32: 4 FMA chains per score; the output accumulated in
/// registers 64 columns (8 vectors) at a time.
static PG_AVX2 void attention_avx2(const float *q, const float *keys, const float *values, int64_t kvStride,
                                   const int64_t *slots, int64_t numContext, int64_t headDim, float scale,
                                   float *scores, float *out) {
    for (int64_t pos = 0; pos < numContext; pos++) {
        const float *key = keys + slots[pos] * kvStride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t j = 0; j < headDim; j += 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(key + j), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 8), _mm256_loadu_ps(key + j + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 16), _mm256_loadu_ps(key + j + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 24), _mm256_loadu_ps(key + j + 24), a3);
        }
        scores[pos] = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))) * scale;
    }
    softmax_avx2(scores, numContext);
    for (int64_t j0 = 0; j0 < headDim; j0 += 64) {
        const int64_t width = headDim - j0 < 64 ? headDim - j0 : 64;  // 32 or 64
        __m256 acc[8];
        for (int c = 0; c < 8; c++) acc[c] = _mm256_setzero_ps();
        for (int64_t pos = 0; pos < numContext; pos++) {
            const float *value = values + slots[pos] * kvStride + j0;
            const __m256 p = _mm256_set1_ps(scores[pos]);
            for (int c = 0; c < width / 8; c++) acc[c] = _mm256_fmadd_ps(p, _mm256_loadu_ps(value + 8 * c), acc[c]);
        }
        for (int c = 0; c < width / 8; c++) _mm256_storeu_ps(out + j0 + 8 * c, acc[c]);
    }
}

void pg_attention_head(const float *q, const float *keys, const float *values, int64_t kvStride,
                       const int64_t *blockTable, int64_t blockSize, int64_t numContext, int64_t headDim, float scale,
                       float *scratch, float *out) {
    if (numContext <= 0) return;
    int64_t *slots = (int64_t *)(scratch + (numContext + 1) / 2 * 2);  // 8-byte aligned after the scores
    context_slots(blockTable, blockSize, numContext, slots);
    if (pg_has_avx2_fma() && headDim % 32 == 0)
        attention_avx2(q, keys, values, kvStride, slots, numContext, headDim, scale, scratch, out);
    else
        attention_portable(q, keys, values, kvStride, slots, numContext, headDim, scale, scratch, out);
}

static PG_AVX2 void silu_mul_avx2(float *gate, const float *up, int64_t count) {
    int64_t i = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= count; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 sigmoid = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_mul_ps(g, sigmoid), _mm256_loadu_ps(up + i)));
    }
    for (; i < count; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void pg_silu_mul(float *gate, const float *up, int64_t count) {
    if (pg_has_avx2_fma()) {
        silu_mul_avx2(gate, up, count);
        return;
    }
    for (int64_t i = 0; i < count; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}
