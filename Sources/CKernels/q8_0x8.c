// Q8_0 repacked in groups of 8 rows ("Q8_0x8", PG_DTYPE_Q8_0X8), made once at
// load by `pg_repack_q8_0x8`: the layout of q4_0x8.c for Q8_0.
//
// Per group of 8 W rows and block of 32 columns, 272 bytes (8 x 34, as Q8_0):
// the rows' f16 scales, then 8 chunks of 32 bytes, chunk t holding quants
// 4t ..< 4t + 4 of each row in row order. The quants are signed, so each chunk
// is multiplied as |w| x sign(x, w) (`vpsignb`); one `vpmaddubsw` result can
// reach 2 * 128 * 127, so each goes to 32 bits at once (`vpmaddwd` against
// ones), and one convert and one FMA by d_w d_x finish a block for 8 rows. On
// AVX-512 VNNI CPUs, see `q8_0x8_pair_vnni`.
#include "CKernels.h"
#include "kernels_internal.h"

enum { GROUP_BYTES = 8 * PG_Q8_BYTES };

void pg_repack_q8_0x8(const void *src, int64_t n, int64_t k, void *dst) {
    repack_scaled_pieces(src, n, k, dst, 8);
}

float pg_q8_0x8_element(const void *w, int64_t k, int64_t row, int64_t col) {
    const uint8_t *group = (const uint8_t *)w + ((row / 8) * (k / PG_Q8_BLOCK) + col / PG_Q8_BLOCK) * GROUP_BYTES;
    const int r = (int)(row % 8), j = (int)(col % PG_Q8_BLOCK);
    uint16_t scale;
    memcpy(&scale, group + 2 * r, 2);
    return f16_to_float(scale) * (float)(int8_t)group[16 + 32 * (j / 4) + 4 * r + j % 4];
}

/// One group of 8 W rows (all its blocks) against x rows [i, i + RX), with the ISA's
/// dot step (see `pg_dot_step`).
PG_INLINE PG_AVX2 void q8_0x8_tile_with(const int8_t *q, const float *d, int64_t k, const uint8_t *group, int64_t i,
                                        float *out, int64_t ldo, int RX, pg_dot_step step, int prefetchBytes) {
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    __m256 acc[8];
    for (int a = 0; a < RX; a++) acc[a] = _mm256_setzero_ps();
    const uint8_t *p = group;
    for (int64_t b = 0; b < numBlocks; b++, p += GROUP_BYTES) {
        // `prefetchBytes` ahead, in decode and in the first x tile of each W chunk (the pass that
        // brings the chunk into L2): 16-sequence decode +7 % (Q8_0) / +20 % (Q4_0) at 2 threads.
        if (RX == 1 || i == 0) prefetch_bytes(p + PG_PREFETCH_AHEAD(prefetchBytes, GROUP_BYTES), GROUP_BYTES);
        __m256i sums[8];
        for (int a = 0; a < RX; a++) sums[a] = _mm256_setzero_si256();
        for (int t = 0; t < 8; t++) {
            const __m256i w = _mm256_loadu_si256((const __m256i *)(p + 16 + 32 * t));
            const __m256i magnitude = _mm256_sign_epi8(w, w);
            for (int a = 0; a < RX; a++) {
                const __m256i x = _mm256_sign_epi8(broadcast4(q + (i + a) * k + b * PG_Q8_BLOCK + 4 * t), w);
                sums[a] = step(sums[a], magnitude, x);
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
        for (int a = 0; a < RX; a++) {
            const __m256 dx = _mm256_set1_ps(d[scale_index(i + a, b, numBlocks)]);
            acc[a] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[a]), _mm256_mul_ps(dw, dx), acc[a]);
        }
    }
    add_tile(out + i * ldo, ldo, acc, RX);
}

PG_INLINE PG_AVX2 void q8_0x8_tile(const int8_t *q, const float *d, const float *s, int64_t k, const uint8_t *group,
                                   int64_t i, float *out, int64_t ldo, int RX) {
    (void)s;
    q8_0x8_tile_with(q, d, k, group, i, out, ldo, RX, dot_step_avx2, PG_DECODE_PREFETCH_BYTES);
}

PG_INLINE PG_VNNI void q8_0x8_tile_vnni(const int8_t *q, const float *d, const float *s, int64_t k,
                                        const uint8_t *group, int64_t i, float *out, int64_t ldo, int RX) {
    (void)s;
    q8_0x8_tile_with(q, d, k, group, i, out, ldo, RX, dot_step_vnni, PG_VNNI_DECODE_PREFETCH_BYTES);
}

/// `q8_0x8_tile` for two adjacent groups (16 W rows) on 512-bit registers with `vpdpbusd`.
/// W is made unsigned, u = w + 128 (one XOR per 64 bytes, shared by the tile's x rows), so
/// x needs no sign work: d_w d_x sum(w q_x) = d_w (d_x sum(u q_x) - 128 s_x), with s_x =
/// d_x sum(q_x) from the activations (as Q4_0's offset of 8). Each x row keeps 2 chains of
/// sums (piece t % 2); tiles of up to 8 x rows, as Q4_0x8's.
PG_INLINE PG_VNNI void q8_0x8_pair_vnni(const int8_t *q, const float *d, const float *s, int64_t k,
                                        const uint8_t *group, int64_t groupStride, int64_t i, float *out, int64_t ldo,
                                        int RX) {
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    const __m512i offset = _mm512_set1_epi8((char)0x80);
    const __m256 bias = _mm256_set1_ps(128.0f);
    __m512 acc[8];
    for (int a = 0; a < RX; a++) acc[a] = _mm512_setzero_ps();
    const uint8_t *p = group;
    for (int64_t b = 0; b < numBlocks; b++, p += GROUP_BYTES) {
        if (RX == 1 || i == 0) {  // as q8_0x8_tile_with, for both groups, PG_Q8_PAIR_PREFETCH_BYTES ahead
            prefetch_bytes(p + PG_PREFETCH_AHEAD(PG_Q8_PAIR_PREFETCH_BYTES, GROUP_BYTES), GROUP_BYTES);
            prefetch_bytes(p + groupStride + PG_PREFETCH_AHEAD(PG_Q8_PAIR_PREFETCH_BYTES, GROUP_BYTES), GROUP_BYTES);
        }
        __m512i sums[8][2];
        for (int a = 0; a < RX; a++) sums[a][0] = sums[a][1] = _mm512_setzero_si512();
        for (int t = 0; t < 8; t++) {
            const __m512i u = _mm512_xor_si512(load_pair(p + 16 + 32 * t, groupStride), offset);
            for (int a = 0; a < RX; a++)
                sums[a][t % 2] = _mm512_dpbusd_epi32(sums[a][t % 2], u,
                                                     broadcast4_512(q + (i + a) * k + b * PG_Q8_BLOCK + 4 * t));
        }
        const __m512 dw = scales_pair(p, groupStride);
        const int64_t at = scale_index(i, b, numBlocks);  // the tile's rows' scales are adjacent
        float offsets[8];
        offset_terms(offsets, s + at, bias);
        for (int a = 0; a < RX; a++) {
            const __m512i sum = _mm512_add_epi32(sums[a][0], sums[a][1]);
            const __m512 x =
                _mm512_fmsub_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(d[at + a]), _mm512_set1_ps(offsets[a]));
            acc[a] = _mm512_fmadd_ps(x, dw, acc[a]);
        }
    }
    add_tile16(out + i * ldo, ldo, acc, RX);
}

PG_AVX2 void pg_q8_0x8_rows_avx2(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, float *out, int64_t ldo) {
    interleaved_rows(q, d, s, m, k, w, k / PG_Q8_BLOCK * GROUP_BYTES, g0, g1, out, ldo, q8_0x8_tile, NULL, 4);
}

PG_VNNI void pg_q8_0x8_rows_vnni(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, float *out, int64_t ldo) {
    interleaved_rows(q, d, s, m, k, w, k / PG_Q8_BLOCK * GROUP_BYTES, g0, g1, out, ldo, q8_0x8_tile_vnni,
                     q8_0x8_pair_vnni, 8);
}
