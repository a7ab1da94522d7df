// Q8_0 repacked in groups of 16 rows ("Q8_0x16", PG_DTYPE_Q8_0X16), made once at load by
// `pg_repack_q8_0x16`.
//
// Per group of 16 W rows and block of 32 columns, 544 bytes (16 x 34, as Q8_0): the rows' f16
// scales (32 bytes), then 8 chunks of 64 bytes, chunk t holding quants 4t ..< 4t + 4 of each row
// in row order. On AVX-512 VNNI CPUs a chunk is one 512-bit load, one lane per row (see
// `q8_0x16_tile_vnni`); groups of 8 rows (two 32-byte halves 13 KiB apart at k = 1536) took two
// loads per chunk, and with 8 x broadcasts beside them the loads bounded the tile: C harness,
// m = 512, 57-60 -> 66-68 % of a 4.27 GHz `vpdpbusd` peak. AVX2 CPUs take each group as two
// halves of 8 rows (`x16_halves_avx2`): the quants are signed, so each chunk half is multiplied as
// |w| x sign(x, w) (`vpsignb`); one `vpmaddubsw` result can reach 2 * 128 * 127, so each goes to
// 32 bits at once (`vpmaddwd` against ones), and one convert and one FMA by d_w d_x finish a
// block for 8 rows.
#include "CKernels.h"
#include "kernels_internal.h"

enum { GROUP_ROWS = 16, BLOCK_BYTES = GROUP_ROWS * PG_Q8_BYTES };
enum { SCALES_BYTES = 2 * GROUP_ROWS, CHUNK_BYTES = 4 * GROUP_ROWS };

void pg_repack_q8_0x16(const void *src, int64_t n, int64_t k, void *dst) {
    repack_x16(src, n, k, PG_Q8_BYTES - 2, dst);
}

float pg_q8_0x16_element(const void *w, int64_t k, int64_t row, int64_t col) {
    float scale;
    const int8_t quant = (int8_t)x16_quant_byte(w, k, PG_Q8_BYTES - 2, row, col, (int)(col % PG_Q8_BLOCK), &scale);
    return scale * (float)quant;
}

/// A group on AVX2 (`x16_tile_avx2`).
PG_INLINE PG_AVX2 void q8_0x16_tile(const int8_t *q, const float *d, const float *s, int64_t k, const uint8_t *group,
                                    int64_t i, const float *bias, float *out, int64_t ldo, int RX) {
    x16_tile_avx2(q, d, s, k, group, PG_Q8_BYTES - 2, i, bias, out, ldo, RX);
}

/// One group (16 W rows) against x rows [i, i + RX) on 512-bit registers with `vpdpbusd`.
/// W is made unsigned, u = w + 128 (one XOR per chunk, shared by the tile's x rows), so x
/// needs no sign work: d_w d_x sum(w q_x) = d_w (d_x sum(u q_x) - 128 s_x), with s_x =
/// d_x sum(q_x) from the activations (as Q4_0's offset of 8). Each x row keeps one chain of
/// sums: a tile's 8 x rows are 8 chains, enough for `vpdpbusd`'s latency (two per row cost an
/// add per block: C harness, m = 512, 65 -> 66 % of the peak). W is one stream: decode prefetches it
/// PG_VNNI_DECODE_PREFETCH_BYTES ahead, batches PG_Q8_PREFETCH_BYTES (from L2 after the first x
/// tile: C harness, m = 512, +1-2 points of the peak).
PG_INLINE PG_VNNI void q8_0x16_tile_vnni(const int8_t *q, const float *d, const float *s, int64_t k,
                                         const uint8_t *group, int64_t i, const float *bias, float *out, int64_t ldo,
                                         int RX) {
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    const __m512i offset = _mm512_set1_epi8((char)0x80);
    const __m256 offset128 = _mm256_set1_ps(128.0f);
    const int64_t ahead = RX == 1 ? PG_PREFETCH_AHEAD(PG_VNNI_DECODE_PREFETCH_BYTES, BLOCK_BYTES)
                                  : PG_PREFETCH_AHEAD(PG_Q8_PREFETCH_BYTES, BLOCK_BYTES);
    __m512 acc[8];
    for (int a = 0; a < RX; a++) acc[a] = _mm512_setzero_ps();
    const uint8_t *p = group;
    for (int64_t b = 0; b < numBlocks; b++, p += BLOCK_BYTES) {
        if (RX == 1) prefetch_bytes_nta(p + ahead, BLOCK_BYTES);  // decode: W read once (see prefetch_bytes_nta)
        else prefetch_bytes(p + ahead, BLOCK_BYTES);
        __m512i sums[8];
        for (int a = 0; a < RX; a++) sums[a] = _mm512_setzero_si512();
        for (int t = 0; t < 8; t++) {
            const __m512i u = _mm512_xor_si512(_mm512_loadu_si512(p + SCALES_BYTES + CHUNK_BYTES * t), offset);
            for (int a = 0; a < RX; a++)
                sums[a] = _mm512_dpbusd_epi32(sums[a], u, broadcast4_512(q + (i + a) * k + b * PG_Q8_BLOCK + 4 * t));
        }
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
        const int64_t at = scale_index(i, b, numBlocks);  // the tile's rows' scales are adjacent
        add_block16(acc, sums, dw, d + at, s + at, offset128, RX);
    }
    store_tile16(out + i * ldo, ldo, acc, RX, bias);
}

PG_AVX2 void pg_q8_0x16_rows_avx2(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                  const void *w, int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo) {
    interleaved_rows(q, d, s, m, k, w, k / PG_Q8_BLOCK * BLOCK_BYTES, GROUP_ROWS, g0, g1, bias, out, ldo, q8_0x16_tile,
                     NULL, 4);
}

PG_VNNI void pg_q8_0x16_rows_vnni(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                  const void *w, int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo) {
    interleaved_rows(q, d, s, m, k, w, k / PG_Q8_BLOCK * BLOCK_BYTES, GROUP_ROWS, g0, g1, bias, out, ldo,
                     q8_0x16_tile_vnni, NULL, 8);
}
