// Attention of many queries over one KV head (a prefill tile: 16 tokens x the GQA group's heads)
// with the queries in the lanes of 512-bit registers. `attention.c`'s tiles put head dimensions
// in the lanes: each query-key dot product then ends in a horizontal sum, and each tile of 4
// queries widens the f16 K and V rows it reads again. Here each block of K (then V) rows is
// widened to f32 once, for all queries; a score is one lane of an FMA chain over the head
// dimension with the K element broadcast (no horizontal sums), the softmax runs 16 queries at a
// time, and so does P V, with the V element broadcast.
#include "CKernels.h"
#include "kernels_internal.h"

#include <math.h>

/// Positions per block of K or V rows widened to f32 (24 KiB at head dim 128: with two
/// groups' queries, 16 KiB, the block stays in a 48 KiB L1). A multiple of SCORE_TILE.
enum { LANES = 16, ROW_BLOCK = 48, SCORE_TILE = 12 };

/// The scratch of one call: queries transposed and scaled, qt[g][j][lane]; the outputs'
/// running sums, ot[g][j][lane]; scores[p][g][lane]; `rows` widened K or V rows; each lane's
/// 1 / sum of its softmax terms, and its context (0 for the lanes past the last query); each
/// group's longest context.
typedef struct {
    float *qt, *ot, *scores, *rows, *inverse;
    int32_t *context;
    int64_t *groupEnd;
} lanes_scratch;

static int64_t round64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

/// Bytes of `lanes_scratch` for `groups` groups of 16 queries and contexts up to `length`.
static int64_t lanes_bytes(int64_t groups, int64_t length, int64_t headDim) {
    return 2 * round64(groups * headDim * LANES * 4) + round64(length * groups * LANES * 4) +
           round64(ROW_BLOCK * headDim * 4) + 2 * round64(groups * LANES * 4) + round64(groups * 8) + 64;
}

static lanes_scratch lanes_layout(void *scratch, int64_t groups, int64_t length, int64_t headDim) {
    uint8_t *p = (uint8_t *)(((uintptr_t)scratch + 63) / 64 * 64);
    lanes_scratch s;
    s.qt = (float *)p, p += round64(groups * headDim * LANES * 4);
    s.ot = (float *)p, p += round64(groups * headDim * LANES * 4);
    s.scores = (float *)p, p += round64(length * groups * LANES * 4);
    s.rows = (float *)p, p += round64(ROW_BLOCK * headDim * 4);
    s.inverse = (float *)p, p += round64(groups * LANES * 4);
    s.context = (int32_t *)p, p += round64(groups * LANES * 4);
    s.groupEnd = (int64_t *)p;
    return s;
}

/// Rows [p0, p0 + count) of a K or V cache (through `slots`) as f32, `headDim` apart.
static PG_AVX512 void widen_rows(const void *cache, int dtype, int64_t kvStride, const int64_t *slots, int64_t p0,
                                 int64_t count, int64_t headDim, float *rows) {
    for (int64_t c = 0; c < count; c++) {
        const int64_t at = slots[p0 + c] * kvStride;
        if (c + 1 < count) prefetch_kv_row(cache, slots[p0 + c + 1] * kvStride, headDim, dtype);
        for (int64_t j = 0; j < headDim; j += LANES)
            _mm512_storeu_ps(rows + c * headDim + j, load16(cache, at + j, dtype, 0xFFFF));
    }
}

/// scores[c][v][lane] = qt[v][..][lane] . rows[c] for c < PT and QV groups (`stride` floats
/// between positions of `scores`).
PG_INLINE PG_AVX512 void score_tile(const float *qt, const float *rows, int64_t headDim, float *scores,
                                    int64_t stride, const int QV, const int PT) {
    __m512 acc[2][SCORE_TILE];
    for (int v = 0; v < QV; v++)
        for (int c = 0; c < PT; c++) acc[v][c] = _mm512_setzero_ps();
    for (int64_t j = 0; j < headDim; j++) {
        __m512 q[2];
        for (int v = 0; v < QV; v++) q[v] = _mm512_loadu_ps(qt + (v * headDim + j) * LANES);
        for (int c = 0; c < PT; c++) {
            const __m512 k = _mm512_set1_ps(rows[c * headDim + j]);
            for (int v = 0; v < QV; v++) acc[v][c] = _mm512_fmadd_ps(q[v], k, acc[v][c]);
        }
    }
    for (int v = 0; v < QV; v++)
        for (int c = 0; c < PT; c++) _mm512_storeu_ps(scores + c * stride + v * LANES, acc[v][c]);
}

/// ot[v][j0 + t][lane] += sum over c < count of scores[c][v][lane] rows[c][j0 + t], for t < JT
/// and QV groups.
PG_INLINE PG_AVX512 void value_tile(const float *scores, int64_t stride, const float *rows, int64_t count,
                                    int64_t headDim, int64_t j0, float *ot, const int QV, const int JT) {
    __m512 acc[2][16];
    for (int v = 0; v < QV; v++)
        for (int t = 0; t < JT; t++) acc[v][t] = _mm512_loadu_ps(ot + (v * headDim + j0 + t) * LANES);
    for (int64_t c = 0; c < count; c++) {
        __m512 p[2];
        for (int v = 0; v < QV; v++) p[v] = _mm512_loadu_ps(scores + c * stride + v * LANES);
        for (int t = 0; t < JT; t++) {
            const __m512 x = _mm512_set1_ps(rows[c * headDim + j0 + t]);
            for (int v = 0; v < QV; v++) acc[v][t] = _mm512_fmadd_ps(p[v], x, acc[v][t]);
        }
    }
    for (int v = 0; v < QV; v++)
        for (int t = 0; t < JT; t++) _mm512_storeu_ps(ot + (v * headDim + j0 + t) * LANES, acc[v][t]);
}

/// Scores of QV groups (from g) against the block's positions [0, count), 12 at a time.
PG_INLINE PG_AVX512 void score_block(const lanes_scratch *s, int64_t g, int64_t groups, int64_t headDim,
                                     int64_t p0, int64_t count, const int QV) {
    const int64_t stride = groups * LANES;
    const float *qt = s->qt + g * headDim * LANES;
    float *scores = s->scores + p0 * stride + g * LANES;
    int64_t c = 0;
    for (; c + SCORE_TILE <= count; c += SCORE_TILE)
        score_tile(qt, s->rows + c * headDim, headDim, scores + c * stride, stride, QV, SCORE_TILE);
    for (; c + 4 <= count; c += 4) score_tile(qt, s->rows + c * headDim, headDim, scores + c * stride, stride, QV, 4);
    for (; c < count; c++) score_tile(qt, s->rows + c * headDim, headDim, scores + c * stride, stride, QV, 1);
}

/// P V of QV groups (from g) over the block's positions [0, count), in slices of 8 (QV = 2)
/// or 16 head dimensions.
PG_INLINE PG_AVX512 void value_block(const lanes_scratch *s, int64_t g, int64_t groups, int64_t headDim,
                                     int64_t p0, int64_t count, const int QV) {
    const int64_t stride = groups * LANES;
    const float *scores = s->scores + p0 * stride + g * LANES;
    float *ot = s->ot + g * headDim * LANES;
    for (int64_t j0 = 0; j0 < headDim; j0 += QV == 2 ? 8 : 16)
        value_tile(scores, stride, s->rows, count, headDim, j0, ot, QV, QV == 2 ? 8 : 16);
}

/// One pass over the context in blocks of ROW_BLOCK rows of K (scores) or V (`values`: P V),
/// each block widened once for every group. Groups go in pairs (24 accumulators per score
/// tile, 16 per value slice), each pair as far as the longer of its two contexts.
static PG_AVX512 void block_passes(const lanes_scratch *s, const void *cache, int dtype, int64_t kvStride,
                                   const int64_t *slots, int64_t length, int64_t groups, int64_t headDim,
                                   int values) {
    for (int64_t p0 = 0; p0 < length; p0 += ROW_BLOCK) {
        const int64_t count = length - p0 < ROW_BLOCK ? length - p0 : ROW_BLOCK;
        widen_rows(cache, dtype, kvStride, slots, p0, count, headDim, s->rows);
        for (int64_t g = 0; g < groups; g += 2) {
            const int pair = g + 1 < groups;
            int64_t end = s->groupEnd[g];
            if (pair && s->groupEnd[g + 1] > end) end = s->groupEnd[g + 1];
            const int64_t n = end - p0 < count ? end - p0 : count;
            if (n <= 0) continue;
            if (values && pair) value_block(s, g, groups, headDim, p0, n, 2);
            else if (values) value_block(s, g, groups, headDim, p0, n, 1);
            else if (pair) score_block(s, g, groups, headDim, p0, n, 2);
            else score_block(s, g, groups, headDim, p0, n, 1);
        }
    }
}

/// Softmax of each lane's scores over its context, unnormalised (e^(s - max), 0 past the
/// context up to `length`), and 1 / sum per lane.
static PG_AVX512 void softmax_lanes(const lanes_scratch *s, int64_t g, int64_t groups, int64_t length) {
    const int64_t stride = groups * LANES, end = s->groupEnd[g];
    const __m512i context = _mm512_loadu_si512(s->context + g * LANES);
    float *scores = s->scores + g * LANES;
    __m512 max = _mm512_set1_ps(-INFINITY), sum = _mm512_setzero_ps();
    for (int64_t p = 0; p < end; p++) {
        const __mmask16 live = _mm512_cmpgt_epi32_mask(context, _mm512_set1_epi32((int)p));
        max = _mm512_mask_max_ps(max, live, max, _mm512_loadu_ps(scores + p * stride));
    }
    for (int64_t p = 0; p < end; p++) {
        const __mmask16 live = _mm512_cmpgt_epi32_mask(context, _mm512_set1_epi32((int)p));
        const __m512 e = _mm512_maskz_mov_ps(live, exp16(_mm512_sub_ps(_mm512_loadu_ps(scores + p * stride), max)));
        _mm512_storeu_ps(scores + p * stride, e);
        sum = _mm512_add_ps(sum, e);
    }
    for (int64_t p = end; p < length; p++) _mm512_storeu_ps(scores + p * stride, _mm512_setzero_ps());
    _mm512_storeu_ps(s->inverse + g * LANES, _mm512_div_ps(_mm512_set1_ps(1.0f), sum));
}

int64_t pg_attention_lanes_bytes(int64_t numQueries, int64_t length, int64_t headDim) {
    return lanes_bytes((numQueries + LANES - 1) / LANES, length, headDim);
}

PG_AVX512 void pg_attention_lanes(const float *const *queries, float *const *outs, const int64_t *numContext,
                                  int64_t numQueries, const void *keys, const void *values, int dtype,
                                  int64_t kvStride, const int64_t *slots, int64_t length, int64_t headDim,
                                  float scale, void *scratch) {
    const int64_t groups = (numQueries + LANES - 1) / LANES;
    const lanes_scratch s = lanes_layout(scratch, groups, length, headDim);
    for (int64_t g = 0; g < groups; g++) {
        s.groupEnd[g] = 0;
        for (int l = 0; l < LANES; l++) {
            const int64_t q = g * LANES + l;
            const int64_t context = q < numQueries ? numContext[q] : 0;
            s.context[q] = (int32_t)context;
            s.groupEnd[g] = context > s.groupEnd[g] ? context : s.groupEnd[g];
        }
        for (int64_t j0 = 0; j0 < headDim; j0 += LANES) {
            __m512 r[LANES];
            for (int l = 0; l < LANES; l++) {
                const int64_t q = g * LANES + l;
                r[l] = q < numQueries ? _mm512_mul_ps(_mm512_loadu_ps(queries[q] + j0), _mm512_set1_ps(scale))
                                      : _mm512_setzero_ps();
            }
            transpose16(r);
            for (int t = 0; t < LANES; t++) _mm512_storeu_ps(s.qt + (g * headDim + j0 + t) * LANES, r[t]);
        }
    }
    block_passes(&s, keys, dtype, kvStride, slots, length, groups, headDim, 0);
    for (int64_t g = 0; g < groups; g++) softmax_lanes(&s, g, groups, length);
    memset(s.ot, 0, sizeof(float) * (size_t)(groups * headDim * LANES));
    block_passes(&s, values, dtype, kvStride, slots, length, groups, headDim, 1);
    for (int64_t g = 0; g < groups; g++)
        for (int64_t j0 = 0; j0 < headDim; j0 += LANES) {
            __m512 r[LANES];
            for (int t = 0; t < LANES; t++) r[t] = _mm512_loadu_ps(s.ot + (g * headDim + j0 + t) * LANES);
            transpose16(r);
            for (int64_t l = 0, q = g * LANES; l < LANES && q < numQueries; l++, q++)
                _mm512_storeu_ps(outs[q] + j0, _mm512_mul_ps(r[l], _mm512_set1_ps(s.inverse[q])));
        }
}
