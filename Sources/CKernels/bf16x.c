// bf16 W against x rounded to bf16 ("bf16 activations", `KernelPool.bf16Activations`, opt-in):
// AVX-512 BF16's `vdpbf16ps` multiplies 32 bf16 pairs per instruction, twice the f32 FMA's
// products, where f32 x leaves bf16 W on the FMA's rate. Each product of two bf16 is exact in
// f32 and the sums are f32, so the only difference from the f32 path is x's rounding to
// nearest even (about 2^-9 relative per element).
//
// x is rounded once per call by `pg_pack_bf16x`, in one of two layouts:
//  - m >= 16 (prefill): tiles of 16 rows, [k / 2][16 rows] words of 2 bf16 (row i's elements
//    2p and 2p + 1 in word p), rows past m zero. A 32-row tile multiplies by 8 W rows at a
//    time: per word of K, 2 loads of x and 8 W words broadcast from memory, 16 `vdpbf16ps`,
//    each W row's 2 x 16 sums in registers; a 16 x 16 transpose writes them as out rows.
//    x comes in panels of PANEL_TILES tiles and K in chunks of KC words, so a W chunk (8 rows x
//    KC words, 24 KiB) stays in L1 across a panel, and the panel in L2. The first tile of a panel
//    prefetches the next 8 W rows as fast as it reads its own: one W matrix of 6144 x 1536 at
//    m = 16 went 1.26 -> 0.89 ms, at m = 64 2.84 -> 2.46 ms (97 % of the `vdpbf16ps` peak).
//  - m < 16 (decode): rows of bf16 as W's, dot products of W rows against x rows.
#include "CKernels.h"
#include "kernels_internal.h"

enum { LANE_ROWS = 16, W_ROWS = 8, KC = 768, PANEL_TILES = 8, DECODE_AHEAD_BYTES = 16 * 1024 };

int pg_has_avx512_bf16(void) {
    static int cached = -1;
    if (cached < 0) cached = pg_has_avx512() && PG_CPU_SUPPORTS_AVX512("avx512bf16") ? 1 : 0;
    return cached;
}

int64_t pg_bf16x_units(int64_t m) { return m < LANE_ROWS ? m : (m + LANE_ROWS - 1) / LANE_ROWS; }

int64_t pg_bf16x_bytes(int64_t m, int64_t k) {
    if (m <= 0 || k <= 0 || k % 2 != 0 || !pg_has_avx512_bf16()) return 0;
    return (m < LANE_ROWS ? m : pg_bf16x_units(m) * LANE_ROWS) * k * 2;
}

/// Elements [0, count) of x (count <= 32) rounded to bf16 (nearest even), as 16 words of pairs.
PG_INLINE PG_BF16 __m512i round_pairs(const float *x, int64_t count) {
    static const uint16_t highHalves[32] = {1,  3,  5,  7,  9,  11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31,
                                            33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 55, 57, 59, 61, 63};
    const __mmask16 low = count >= 16 ? 0xFFFF : (__mmask16)((1u << count) - 1);
    const __mmask16 high = count >= 32 ? 0xFFFF : count <= 16 ? 0 : (__mmask16)((1u << (count - 16)) - 1);
    __m512i halves[2] = {_mm512_castps_si512(_mm512_maskz_loadu_ps(low, x)),
                         _mm512_castps_si512(_mm512_maskz_loadu_ps(high, x + 16))};
    for (int h = 0; h < 2; h++) {  // + 0x7FFF + the kept half's lowest bit: nearest, ties to even
        const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(halves[h], 16), _mm512_set1_epi32(1));
        halves[h] = _mm512_add_epi32(halves[h], _mm512_add_epi32(odd, _mm512_set1_epi32(0x7FFF)));
    }
    return _mm512_permutex2var_epi16(halves[0], _mm512_loadu_si512(highHalves), halves[1]);
}

PG_BF16 void pg_pack_bf16x(const float *x, int64_t m, int64_t k, int64_t u0, int64_t u1, void *dst) {
    const int64_t words = k / 2;
    uint32_t *out = (uint32_t *)dst;
    if (m < LANE_ROWS) {  // units are rows, kept row-major
        for (int64_t i = u0; i < u1; i++)
            for (int64_t p = 0; p < words; p += 16) {
                const int64_t n = words - p < 16 ? words - p : 16;
                _mm512_mask_storeu_ps(out + i * words + p, (__mmask16)((1u << n) - 1),
                                      _mm512_castsi512_ps(round_pairs(x + i * k + 2 * p, 2 * n)));
            }
        return;
    }
    for (int64_t t = u0; t < u1; t++)
        for (int64_t p = 0; p < words; p += 16) {
            const int64_t n = words - p < 16 ? words - p : 16;
            __m512 rows[16];
            for (int l = 0; l < 16; l++) {
                const int64_t i = t * LANE_ROWS + l;
                rows[l] = i < m ? _mm512_castsi512_ps(round_pairs(x + i * k + 2 * p, 2 * n)) : _mm512_setzero_ps();
            }
            transpose16(rows);
            for (int64_t j = 0; j < n; j++) _mm512_storeu_ps(out + (t * words + p + j) * LANE_ROWS, rows[j]);
        }
}

#ifdef PG_EMULATE_ISA
#define dot_bf16 pg_emu_dpbf16_ps
#else
PG_INLINE PG_BF16 __m512 dot_bf16(__m512 acc, __m512i a, __m512i b) {
    return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
}
#endif

/// Words [p0, p1) of tiles t, t + 1 (V = 2) or t alone (V = 1) against the W rows at `rows[0 ..<
/// 8]` (row offsets in words); the sums go to out rows (< m) at columns [r, r + R), starting at
/// bias (first chunk) or added.
PG_INLINE PG_BF16 void lanes_tile(const uint32_t *xb, int64_t words, int64_t t, const uint32_t *w,
                                  const int64_t rows[W_ROWS], int64_t p0, int64_t p1, int first, const float *bias,
                                  float *out, int64_t ldo, int64_t m, int64_t r, int R, int prefetch, const int V) {
    __m512 acc[W_ROWS][2];
    for (int a = 0; a < W_ROWS; a++)
        for (int v = 0; v < V; v++) acc[a][v] = _mm512_setzero_ps();
    const uint32_t *x = xb + t * words * LANE_ROWS;
    for (int64_t p = p0; p < p1; p++) {
        if (prefetch && (p & 15) == 0)  // the next 8 W rows, as fast as these are read
            for (int a = 0; a < W_ROWS; a++) _mm_prefetch((const char *)(w + rows[a] + W_ROWS * words + p), _MM_HINT_T0);
        __m512i xv[2];
        for (int v = 0; v < V; v++) xv[v] = _mm512_loadu_si512(x + (v * words + p) * LANE_ROWS);
        for (int a = 0; a < W_ROWS; a++) {
            int32_t word;  // W rows may start anywhere 2-byte aligned (a mapped checkpoint)
            memcpy(&word, w + rows[a] + p, 4);
            const __m512i wv = _mm512_set1_epi32(word);
            for (int v = 0; v < V; v++) acc[a][v] = dot_bf16(acc[a][v], xv[v], wv);
        }
    }
    const __mmask16 cols = (__mmask16)((1u << R) - 1);
    const __m512 start = first && bias ? _mm512_maskz_loadu_ps(cols, bias + r) : _mm512_setzero_ps();
    for (int v = 0; v < V; v++) {
        __m512 sums[16];
        for (int a = 0; a < 16; a++) sums[a] = a < W_ROWS ? acc[a][v] : _mm512_setzero_ps();
        transpose16(sums);  // sums[l]: x row l's sums for the 8 W rows
        for (int l = 0; l < 16; l++) {
            const int64_t i = (t + v) * LANE_ROWS + l;
            if (i >= m) break;
            float *o = out + i * ldo + r;
            const __m512 before = first ? start : _mm512_maskz_loadu_ps(cols, o);
            _mm512_mask_storeu_ps(o, cols, _mm512_add_ps(before, sums[l]));
        }
    }
}

/// m >= 16: see the file comment.
PG_INLINE PG_BF16 void linear_lanes(const uint32_t *xb, int64_t m, int64_t k, const uint32_t *w, int64_t r0,
                                    int64_t r1, const float *bias, float *out, int64_t ldo) {
    const int64_t words = k / 2, tiles = pg_bf16x_units(m);
    for (int64_t p0 = 0; p0 < words; p0 += KC) {
        const int64_t p1 = p0 + KC < words ? p0 + KC : words;
        for (int64_t t0 = 0; t0 < tiles; t0 += PANEL_TILES) {
            const int64_t t1 = t0 + PANEL_TILES < tiles ? t0 + PANEL_TILES : tiles;
            for (int64_t r = r0; r < r1; r += W_ROWS) {
                const int R = r1 - r < W_ROWS ? (int)(r1 - r) : W_ROWS;
                int64_t rows[W_ROWS];  // rows past r1 repeat the last one; their sums are not stored
                for (int a = 0; a < W_ROWS; a++) rows[a] = (r + (a < R ? a : R - 1)) * words;
                int64_t t = t0;
                for (; t + 2 <= t1; t += 2)
                    lanes_tile(xb, words, t, w, rows, p0, p1, p0 == 0, bias, out, ldo, m, r, R, t == t0, 2);
                if (t < t1) lanes_tile(xb, words, t, w, rows, p0, p1, p0 == 0, bias, out, ldo, m, r, R, t == t0, 1);
            }
        }
    }
}

/// Decode (m = 1): one W row at a time in 4 chains of 16 words, so each thread reads one linear
/// stream, prefetched DECODE_AHEAD_BYTES ahead (rows follow each other in memory). 1B shape, one
/// Zen 5 thread: 16.3-16.6 tok/s, 96-98 % of the read ceiling, where 2 or 8 rows at a time (the
/// f32 path's way) ran 15.1-15.5, and one row without prefetching 14.7-15.1 (each matrix starts
/// cold; in a C harness of back-to-back matrices, that one read at the streaming rate).
PG_INLINE PG_BF16 void decode_rows(const uint32_t *xb, int64_t words, const uint32_t *w, int64_t r0, int64_t r1,
                                   const float *bias, float *out) {
    for (int64_t r = r0; r < r1; r++) {
        const uint32_t *row = w + r * words;
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        int64_t p = 0;
        for (; p + 64 <= words; p += 64)
            for (int c = 0; c < 4; c++) {
                _mm_prefetch((const char *)(row + p + 16 * c) + DECODE_AHEAD_BYTES, _MM_HINT_T0);
                acc[c] = dot_bf16(acc[c], _mm512_loadu_si512(xb + p + 16 * c), _mm512_loadu_si512(row + p + 16 * c));
            }
        for (; p < words; p += 16) {
            const __mmask16 mask = words - p >= 16 ? 0xFFFF : (__mmask16)((1u << (words - p)) - 1);
            acc[0] = dot_bf16(acc[0], _mm512_castps_si512(_mm512_maskz_loadu_ps(mask, xb + p)),
                              _mm512_castps_si512(_mm512_maskz_loadu_ps(mask, row + p)));
        }
        const __m512 sum = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        out[r] = (bias ? bias[r] : 0.0f) + _mm512_reduce_add_ps(sum);
    }
}

/// Batched decode (1 < m < 16): W rows `rows[0 ..< 4]` (r ..< r + R, then repeats) against x rows
/// [i, i + RX), 16 words at a time; in the first x tile (`prefetch`), the next 4 rows are
/// prefetched at the rate these are consumed.
PG_INLINE PG_BF16 void rows_tile(const uint32_t *xb, int64_t words, const uint32_t *w, const int64_t rows[4],
                                 int64_t i, const float *bias, float *out, int64_t ldo, int64_t r, int R, const int RX,
                                 int prefetch) {
    enum { RW = 4 };
    __m512 acc[RW][4];
    for (int a = 0; a < RW; a++)
        for (int b = 0; b < RX; b++) acc[a][b] = _mm512_setzero_ps();
    const char *next = (const char *)(w + rows[0] + RW * words);
    for (int64_t p = 0; p < words; p += 16) {
        if (prefetch)
            for (int a = 0; a < RW; a++) _mm_prefetch(next + 4 * RW * p + 64 * a, _MM_HINT_T0);
        const __mmask16 mask = words - p >= 16 ? 0xFFFF : (__mmask16)((1u << (words - p)) - 1);
        __m512i xv[4];
        for (int b = 0; b < RX; b++)
            xv[b] = _mm512_castps_si512(_mm512_maskz_loadu_ps(mask, xb + (i + b) * words + p));
        for (int a = 0; a < RW; a++) {
            const __m512i wv = _mm512_castps_si512(_mm512_maskz_loadu_ps(mask, w + rows[a] + p));
            for (int b = 0; b < RX; b++) acc[a][b] = dot_bf16(acc[a][b], xv[b], wv);
        }
    }
    for (int a = 0; a < R; a++)
        for (int b = 0; b < RX; b++)
            out[(i + b) * ldo + r + a] = (bias ? bias[r + a] : 0.0f) + _mm512_reduce_add_ps(acc[a][b]);
}

/// m < 16: decode row by row; batched decode 4 W rows by up to 4 x rows.
PG_INLINE PG_BF16 void linear_rows_small(const uint32_t *xb, int64_t m, int64_t k, const uint32_t *w, int64_t r0,
                                         int64_t r1, const float *bias, float *out, int64_t ldo) {
    const int64_t words = k / 2;
    if (m == 1) {
        decode_rows(xb, words, w, r0, r1, bias, out);
        return;
    }
    for (int64_t r = r0; r < r1; r += 4) {
        const int R = r1 - r < 4 ? (int)(r1 - r) : 4;
        int64_t rows[4];
        for (int a = 0; a < 4; a++) rows[a] = (r + (a < R ? a : R - 1)) * words;
        int64_t i = 0;
        for (; i + 4 <= m; i += 4) rows_tile(xb, words, w, rows, i, bias, out, ldo, r, R, 4, i == 0);
        switch (m - i) {
        case 3: rows_tile(xb, words, w, rows, i, bias, out, ldo, r, R, 3, i == 0); break;
        case 2: rows_tile(xb, words, w, rows, i, bias, out, ldo, r, R, 2, i == 0); break;
        case 1: rows_tile(xb, words, w, rows, i, bias, out, ldo, r, R, 1, i == 0); break;
        default: break;
        }
    }
}

PG_BF16 void pg_linear_rows_bf16x(const void *xb, int64_t m, int64_t k, const void *w, int64_t r0, int64_t r1,
                                  const float *bias, float *out, int64_t ldo) {
    if (m <= 0 || r1 <= r0) return;
    if (m < LANE_ROWS) linear_rows_small(xb, m, k, w, r0, r1, bias, out, ldo);
    else linear_lanes(xb, m, k, w, r0, r1, bias, out, ldo);
}
