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
/// Block by block, without a 64-bit division per position (about 5 % of decode attention).
static void context_slots(const int64_t *blockTable, int64_t blockSize, int64_t numContext, int64_t *slots) {
    for (int64_t first = 0, block = 0; first < numContext; first += blockSize, block++) {
        const int64_t base = blockTable[block] * blockSize, count = numContext - first;
        for (int64_t o = 0; o < (count < blockSize ? count : blockSize); o++) slots[first + o] = base + o;
    }
}

static void softmax_portable(float *x, int64_t count) {
    float max = -INFINITY, sum = 0;
    for (int64_t i = 0; i < count; i++) max = fmaxf(max, x[i]);
    for (int64_t i = 0; i < count; i++) sum += (x[i] = expf(x[i] - max));
    for (int64_t i = 0; i < count; i++) x[i] /= sum;
}

/// Element `index` of a KV cache stored as f32, f16 or bf16.
PG_INLINE float load_kv1(const void *cache, int64_t index, int dtype) {
    switch (dtype) {
    case PG_DTYPE_F16: return f16_to_float(((const uint16_t *)cache)[index]);
    case PG_DTYPE_BF16: return bf16_to_float(((const uint16_t *)cache)[index]);
    default: return ((const float *)cache)[index];
    }
}

static void attention_portable(const float *q, const void *keys, const void *values, int dtype, int64_t kvStride,
                               const int64_t *slots, int64_t numContext, int64_t headDim, float scale, float *scores,
                               float *out) {
    for (int64_t pos = 0; pos < numContext; pos++) {
        float dot = 0;
        for (int64_t j = 0; j < headDim; j++) dot += q[j] * load_kv1(keys, slots[pos] * kvStride + j, dtype);
        scores[pos] = dot * scale;
    }
    softmax_portable(scores, numContext);
    for (int64_t j = 0; j < headDim; j++) out[j] = 0;
    for (int64_t pos = 0; pos < numContext; pos++)
        for (int64_t j = 0; j < headDim; j++)
            out[j] += scores[pos] * load_kv1(values, slots[pos] * kvStride + j, dtype);
}

/// Elements [index, index + 8) of a KV cache, widened to f32.
PG_INLINE PG_AVX2 __m256 load_kv8(const void *cache, int64_t index, int dtype) {
    switch (dtype) {
    case PG_DTYPE_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)cache + index)));
    case PG_DTYPE_BF16: {
        __m128i half = _mm_loadu_si128((const __m128i *)((const uint16_t *)cache + index));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16));
    }
    default: return _mm256_loadu_ps((const float *)cache + index);
    }
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

/// The four sums of a[0..3]'s lanes, in order.
PG_INLINE PG_AVX2 __m128 hsum4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

/// The two 256-bit halves of v, added.
PG_INLINE PG_AVX512 __m256 fold16(__m512 v) {
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/// Context positions per block: the tile's queries all meet one block's K rows
/// (16 KiB of f16 for head dim 128, in L1) before the next block, and each
/// slice of its V rows (32 or 64 columns), rather than streaming the whole context
/// from L3 once per pair of queries (1 MiB of K and V per KV head at 2,048).
enum { POSITION_BLOCK = 64 };

/// scores[i][p] = scale * q_i . K[slots[p]] for QR queries (from i) and positions
/// [p, p + 4), or the single position p when KR = 1.
PG_INLINE PG_AVX2 void score_micro(const float *const *queries, int64_t i, const void *keys, int dtype,
                                   int64_t kvStride, const int64_t *slots, int64_t p, int64_t headDim, float scale,
                                   float *scores, int64_t ld, const int QR, const int KR) {
    __m256 acc[2][4];
    int64_t key[4];
    for (int c = 0; c < KR; c++) key[c] = slots[p + c] * kvStride;
    for (int a = 0; a < QR; a++)
        for (int c = 0; c < KR; c++) acc[a][c] = _mm256_setzero_ps();
    for (int64_t j = 0; j < headDim; j += 8) {
        __m256 kv[4];
        for (int c = 0; c < KR; c++) kv[c] = load_kv8(keys, key[c] + j, dtype);
        for (int a = 0; a < QR; a++) {
            __m256 qv = _mm256_loadu_ps(queries[i + a] + j);
            for (int c = 0; c < KR; c++) acc[a][c] = _mm256_fmadd_ps(qv, kv[c], acc[a][c]);
        }
    }
    for (int a = 0; a < QR; a++) {
        float *row = scores + (i + a) * ld + p;
        if (KR == 4) _mm_storeu_ps(row, _mm_mul_ps(hsum4(acc[a][0], acc[a][1], acc[a][2], acc[a][3]), _mm_set1_ps(scale)));
        else row[0] = hsum(acc[a][0]) * scale;
    }
}

/// `score_micro` on 512-bit registers (AVX-512 CPUs), 16 columns per step and up to 4 queries.
PG_INLINE PG_AVX512 void score_micro512(const float *const *queries, int64_t i, const void *keys, int dtype,
                                        int64_t kvStride, const int64_t *slots, int64_t p, int64_t headDim,
                                        float scale, float *scores, int64_t ld, const int QR, const int KR) {
    __m512 acc[4][4];
    int64_t key[4];
    for (int c = 0; c < KR; c++) key[c] = slots[p + c] * kvStride;
    for (int a = 0; a < QR; a++)
        for (int c = 0; c < KR; c++) acc[a][c] = _mm512_setzero_ps();
    for (int64_t j = 0; j < headDim; j += 16) {
        __m512 kv[4];
        for (int c = 0; c < KR; c++) kv[c] = load16(keys, key[c] + j, dtype, 0xFFFF);
        for (int a = 0; a < QR; a++) {
            __m512 qv = _mm512_loadu_ps(queries[i + a] + j);
            for (int c = 0; c < KR; c++) acc[a][c] = _mm512_fmadd_ps(qv, kv[c], acc[a][c]);
        }
    }
    for (int a = 0; a < QR; a++) {
        float *row = scores + (i + a) * ld + p;
        if (KR == 4)
            _mm_storeu_ps(row, _mm_mul_ps(hsum4(fold16(acc[a][0]), fold16(acc[a][1]), fold16(acc[a][2]),
                                                fold16(acc[a][3])),
                                          _mm_set1_ps(scale)));
        else row[0] = _mm512_reduce_add_ps(acc[a][0]) * scale;
    }
}

/// A score or value micro-kernel (`score_micro` / `score_micro512`, `value_micro` / `value_micro512`).
typedef void (*score_micro_fn)(const float *const *queries, int64_t i, const void *keys, int dtype, int64_t kvStride,
                               const int64_t *slots, int64_t p, int64_t headDim, float scale, float *scores,
                               int64_t ld, const int QR, const int KR);
typedef void (*value_micro_fn)(float *const *outs, int64_t i, int64_t p0, int64_t end, const void *values, int dtype,
                               int64_t kvStride, const int64_t *slots, int64_t headDim, int64_t j0,
                               const float *scores, int64_t ld, const int QR, int64_t fetchEnd);

/// Positions ahead of the one being read whose K (or V) row is prefetched, into L1 and into L2:
/// rows are contiguous only within a cache block (16 rows, 4 KiB of f16 per head), and the
/// blocks are scattered, so the hardware prefetchers stop at each block's end. C harness, decode
/// over 26 layers from memory (16 sequences x 6 KV heads, context 512, f16, one Zen 5 core):
/// 8 ahead into L1 alone read 13.8-14.2 GB/s over shuffled blocks and 21.4-22.7 over contiguous
/// ones; adding 24 ahead into L2, 18.3-19.0 and 22.7-23.9.
enum { ROWS_AHEAD = 8, ROWS_FAR = 24 };

/// Prefetches the rows ROWS_AHEAD and ROWS_FAR after position p, those before `fetchEnd`.
PG_INLINE void prefetch_ahead(const void *cache, const int64_t *slots, int64_t p, int64_t fetchEnd, int64_t kvStride,
                              int64_t headDim, int dtype) {
    if (p + ROWS_AHEAD < fetchEnd) prefetch_kv_row(cache, slots[p + ROWS_AHEAD] * kvStride, headDim, dtype);
    if (p + ROWS_FAR < fetchEnd) prefetch_kv_row_l2(cache, slots[p + ROWS_FAR] * kvStride, headDim, dtype);
}

/// Scores of queries [i, i + QR) over positions [p0, end), prefetching the K rows
/// ahead up to `fetchEnd` (0: none; the other queries' passes find them in L1).
PG_INLINE void score_rows(const float *const *queries, int64_t i, int64_t p0, int64_t end, const void *keys, int dtype,
                          int64_t kvStride, const int64_t *slots, int64_t headDim, float scale, float *scores,
                          int64_t ld, const int QR, int64_t fetchEnd, score_micro_fn micro) {
    int64_t p = p0;
    for (; p + 4 <= end; p += 4) {
        for (int64_t f = p; f < p + 4; f++) prefetch_ahead(keys, slots, f, fetchEnd, kvStride, headDim, dtype);
        micro(queries, i, keys, dtype, kvStride, slots, p, headDim, scale, scores, ld, QR, 4);
    }
    for (; p < end; p++) micro(queries, i, keys, dtype, kvStride, slots, p, headDim, scale, scores, ld, QR, 1);
}

/// outs[i][j0..j0+32) = (p0 > 0 ? outs[i][j0..j0+32) : 0) + sum over p in [p0, end) of
/// scores[i][p] V[slots[p]][j0..j0+32), for QR queries (scores past a query's context are
/// zero); prefetches whole V rows ahead up to `fetchEnd` (0: none).
PG_INLINE PG_AVX2 void value_micro(float *const *outs, int64_t i, int64_t p0, int64_t end, const void *values,
                                   int dtype, int64_t kvStride, const int64_t *slots, int64_t headDim, int64_t j0,
                                   const float *scores, int64_t ld, const int QR, int64_t fetchEnd) {
    __m256 acc[2][4];
    for (int a = 0; a < QR; a++)
        for (int c = 0; c < 4; c++)
            acc[a][c] = p0 == 0 ? _mm256_setzero_ps() : _mm256_loadu_ps(outs[i + a] + j0 + 8 * c);
    for (int64_t p = p0; p < end; p++) {
        prefetch_ahead(values, slots, p, fetchEnd, kvStride, headDim, dtype);
        const int64_t value = slots[p] * kvStride + j0;
        __m256 v[4];
        for (int c = 0; c < 4; c++) v[c] = load_kv8(values, value + 8 * c, dtype);
        for (int a = 0; a < QR; a++) {
            __m256 s = _mm256_broadcast_ss(scores + (i + a) * ld + p);
            for (int c = 0; c < 4; c++) acc[a][c] = _mm256_fmadd_ps(s, v[c], acc[a][c]);
        }
    }
    for (int a = 0; a < QR; a++)
        for (int c = 0; c < 4; c++) _mm256_storeu_ps(outs[i + a] + j0 + 8 * c, acc[a][c]);
}

/// `value_micro` on 512-bit registers (AVX-512 CPUs): 64 columns from j0, up to 4 queries.
PG_INLINE PG_AVX512 void value_micro512(float *const *outs, int64_t i, int64_t p0, int64_t end, const void *values,
                                        int dtype, int64_t kvStride, const int64_t *slots, int64_t headDim, int64_t j0,
                                        const float *scores, int64_t ld, const int QR, int64_t fetchEnd) {
    __m512 acc[4][4];
    for (int a = 0; a < QR; a++)
        for (int c = 0; c < 4; c++)
            acc[a][c] = p0 == 0 ? _mm512_setzero_ps() : _mm512_loadu_ps(outs[i + a] + j0 + 16 * c);
    for (int64_t p = p0; p < end; p++) {
        prefetch_ahead(values, slots, p, fetchEnd, kvStride, headDim, dtype);
        const int64_t value = slots[p] * kvStride + j0;
        __m512 v[4];
        for (int c = 0; c < 4; c++) v[c] = load16(values, value + 16 * c, dtype, 0xFFFF);
        for (int a = 0; a < QR; a++) {
            const __m512 s = _mm512_set1_ps(scores[(i + a) * ld + p]);
            for (int c = 0; c < 4; c++) acc[a][c] = _mm512_fmadd_ps(s, v[c], acc[a][c]);
        }
    }
    for (int a = 0; a < QR; a++)
        for (int c = 0; c < 4; c++) _mm512_storeu_ps(outs[i + a] + j0 + 16 * c, acc[a][c]);
}

/// The end of queries [i, i + n)'s longest context within the block at p0 (p0 when none reaches it).
static inline int64_t block_end(const int64_t *numContext, int64_t i, int n, int64_t p0) {
    int64_t end = numContext[i];
    for (int a = 1; a < n; a++) end = numContext[i + a] > end ? numContext[i + a] : end;
    end = end < p0 + POSITION_BLOCK ? end : p0 + POSITION_BLOCK;
    return end > p0 ? end : p0;
}

static int64_t max_context(const int64_t *numContext, int64_t numQueries) {
    int64_t max = 0;
    for (int64_t q = 0; q < numQueries; q++) max = numContext[q] > max ? numContext[q] : max;
    return max;
}

/// The queries of the next tile when `left` remain: QR, else 2 (decode's GQA pair), else 1.
static inline int tile_queries(int64_t left, int QR) { return left >= QR ? QR : left >= 2 ? 2 : 1; }

/// headDim a multiple of `columns`. Queries go in tiles of QR (the rest by 2 and 1), so each K
/// and V row loaded serves QR of them (a GQA group's query heads, or neighbouring tokens); V
/// in slices of `columns`. Inlined with constant micro-kernels: AVX2 (tiles of 2, 32 columns)
/// and AVX-512 (tiles of 4, 64 columns; 32 registers).
PG_INLINE void attention_tiles(const float *const *queries, float *const *outs, const int64_t *numContext,
                               int64_t numQueries, const void *keys, const void *values, int dtype, int64_t kvStride,
                               const int64_t *slots, int64_t headDim, float scale, float *scores, int64_t ld,
                               const int QR, score_micro_fn score, value_micro_fn value, const int columns) {
    const int64_t last = max_context(numContext, numQueries);
    // The first tile's pass over a block (for V, its first slice) prefetches the rows ahead for
    // all, up to the longest context.
    int n;
    for (int64_t p0 = 0; p0 < ld; p0 += POSITION_BLOCK)
        for (int64_t i = 0; i < numQueries; i += n) {
            n = tile_queries(numQueries - i, QR);
            const int64_t end = block_end(numContext, i, n, p0), fetch = i == 0 ? last : 0;
            if (n == QR)
                score_rows(queries, i, p0, end, keys, dtype, kvStride, slots, headDim, scale, scores, ld, QR, fetch,
                           score);
            else if (n == 2)
                score_rows(queries, i, p0, end, keys, dtype, kvStride, slots, headDim, scale, scores, ld, 2, fetch,
                           score);
            else
                score_rows(queries, i, p0, end, keys, dtype, kvStride, slots, headDim, scale, scores, ld, 1, fetch,
                           score);
        }
    for (int64_t q = 0; q < numQueries; q++) {
        softmax_avx2(scores + q * ld, numContext[q]);
        for (int64_t p = numContext[q]; p < ld; p++) scores[q * ld + p] = 0;
    }
    // Every query has a position in the first block, so p0 = 0 writes each output once.
    for (int64_t p0 = 0; p0 < ld; p0 += POSITION_BLOCK)
        for (int64_t j0 = 0; j0 < headDim; j0 += columns)
            for (int64_t i = 0; i < numQueries; i += n) {
                n = tile_queries(numQueries - i, QR);
                const int64_t end = block_end(numContext, i, n, p0), fetch = i == 0 && j0 == 0 ? last : 0;
                if (end == p0) continue;
                if (n == QR)
                    value(outs, i, p0, end, values, dtype, kvStride, slots, headDim, j0, scores, ld, QR, fetch);
                else if (n == 2)
                    value(outs, i, p0, end, values, dtype, kvStride, slots, headDim, j0, scores, ld, 2, fetch);
                else
                    value(outs, i, p0, end, values, dtype, kvStride, slots, headDim, j0, scores, ld, 1, fetch);
            }
}

/// One copy of `attention_tiles` per ISA and cache type, so its loads are compiled with the type known.
typedef void (*attention_fn)(const float *const *queries, float *const *outs, const int64_t *numContext,
                             int64_t numQueries, const void *keys, const void *values, int64_t kvStride,
                             const int64_t *slots, int64_t headDim, float scale, float *scores, int64_t ld);
#define PG_ATTENTION_FOR(name, isa, code, QR, score, value, columns)                                              \
    static isa void name(const float *const *queries, float *const *outs, const int64_t *numContext,             \
                         int64_t numQueries, const void *keys, const void *values, int64_t kvStride,             \
                         const int64_t *slots, int64_t headDim, float scale, float *scores, int64_t ld) {        \
        attention_tiles(queries, outs, numContext, numQueries, keys, values, code, kvStride, slots, headDim, scale, \
                        scores, ld, QR, score, value, columns);                                                   \
    }
PG_ATTENTION_FOR(attention_f32, PG_AVX2, PG_DTYPE_F32, 2, score_micro, value_micro, 32)
PG_ATTENTION_FOR(attention_f16, PG_AVX2, PG_DTYPE_F16, 2, score_micro, value_micro, 32)
PG_ATTENTION_FOR(attention_bf16, PG_AVX2, PG_DTYPE_BF16, 2, score_micro, value_micro, 32)
// AVX-512: 1.65x the AVX2 copy's rate on a Zen 5 core (C harness, a 512-token prefill's
// attention over one KV head, f16 cache: 100 -> 167 GFLOP/s).
PG_ATTENTION_FOR(attention512_f32, PG_AVX512, PG_DTYPE_F32, 4, score_micro512, value_micro512, 64)
PG_ATTENTION_FOR(attention512_f16, PG_AVX512, PG_DTYPE_F16, 4, score_micro512, value_micro512, 64)
PG_ATTENTION_FOR(attention512_bf16, PG_AVX512, PG_DTYPE_BF16, 4, score_micro512, value_micro512, 64)

/// Floats per row of the score matrix: the longest context, rounded up to 8.
static int64_t score_stride(const int64_t *numContext, int64_t numQueries) {
    return (max_context(numContext, numQueries) + 7) / 8 * 8;
}

/// Whether `pg_attention_lanes` takes these queries: 16 or more (a prefill tile), on AVX-512.
static int lanes_path(int64_t numQueries, int64_t headDim) {
    return numQueries >= 16 && headDim % 16 == 0 && pg_has_avx512();
}

size_t pg_attention_scratch_bytes(const int64_t *numContext, int64_t numQueries, int64_t headDim) {
    int64_t ld = score_stride(numContext, numQueries);
    int64_t scores = numQueries * ld * (int64_t)sizeof(float);
    if (lanes_path(numQueries, headDim)) {
        const int64_t lanes = pg_attention_lanes_bytes(numQueries, ld, headDim);
        scores = lanes > scores ? lanes : scores;
    }
    return (size_t)(ld * (int64_t)sizeof(int64_t) + scores);
}

void pg_attention(const float *const *queries, float *const *outs, const int64_t *numContext, int64_t numQueries,
                  const void *keys, const void *values, int kvDtype, int64_t kvStride, const int64_t *blockTable,
                  int64_t blockSize, int64_t headDim, float scale, void *scratch) {
    int64_t ld = score_stride(numContext, numQueries);
    if (ld == 0) return;
    int64_t *slots = (int64_t *)scratch;
    float *scores = (float *)(slots + ld);
    context_slots(blockTable, blockSize, max_context(numContext, numQueries), slots);
    if (lanes_path(numQueries, headDim)) {
        pg_attention_lanes(queries, outs, numContext, numQueries, keys, values, kvDtype, kvStride, slots,
                           max_context(numContext, numQueries), headDim, scale, slots + ld);
        return;
    }
    if (pg_has_avx512() && headDim % 64 == 0) {
        attention_fn run = kvDtype == PG_DTYPE_F16    ? attention512_f16
                           : kvDtype == PG_DTYPE_BF16 ? attention512_bf16
                                                      : attention512_f32;
        run(queries, outs, numContext, numQueries, keys, values, kvStride, slots, headDim, scale, scores, ld);
        return;
    }
    if (pg_has_avx2_fma() && headDim % 32 == 0) {
        attention_fn run = kvDtype == PG_DTYPE_F16    ? attention_f16
                           : kvDtype == PG_DTYPE_BF16 ? attention_bf16
                                                      : attention_f32;
        run(queries, outs, numContext, numQueries, keys, values, kvStride, slots, headDim, scale, scores, ld);
        return;
    }
    for (int64_t q = 0; q < numQueries; q++)
        attention_portable(queries[q], keys, values, kvDtype, kvStride, slots, numContext[q], headDim, scale, scores,
                           outs[q]);
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

/// `silu_mul_avx2` on 512-bit registers: 1.7 % of a Q8_0 prefill of 512 tokens on the AVX2 copy.
static PG_AVX512 void silu_mul_avx512(float *gate, const float *up, int64_t count) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < count; i += 16) {
        const __mmask16 mask = count - i >= 16 ? 0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        const __m512 g = _mm512_maskz_loadu_ps(mask, gate + i);
        const __m512 sigmoid = _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), g))));
        const __m512 u = _mm512_maskz_loadu_ps(mask, up + i);
        _mm512_mask_storeu_ps(gate + i, mask, _mm512_mul_ps(_mm512_mul_ps(g, sigmoid), u));
    }
}

void pg_silu_mul(float *gate, const float *up, int64_t count) {
    if (pg_has_avx512()) {
        silu_mul_avx512(gate, up, count);
        return;
    }
    if (pg_has_avx2_fma()) {
        silu_mul_avx2(gate, up, count);
        return;
    }
    for (int64_t i = 0; i < count; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}
