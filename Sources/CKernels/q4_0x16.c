// Q4_0 repacked in groups of 16 rows ("Q4_0x16", PG_DTYPE_Q4_0X16): the integer kernels' layout
// for Q4_0 weights, made once at load by `pg_repack_q4_0x16`.
//
// Per group of 16 W rows and block of 32 columns, 288 bytes (16 x 18, as Q4_0): the rows' f16
// scales (32 bytes), then 4 chunks of 64 bytes; chunk c holds bytes 4c ..< 4c + 4 of each row's
// 16 nibble bytes, row after row. One chunk's low nibbles are then weights 4c ..< 4c + 4 of all
// 16 rows, its high nibbles weights 16 + 4c ..< 20 + 4c, so a 32-bit lane of a 512-bit register
// is one row: `vpdpbusd` against the matching 4 activation bytes (broadcast) leaves each row's
// products in its own lane, and one convert and one FMA with the rows' scales finish the block
// for 16 rows at once: no horizontal sums and no scalar scale arithmetic, which left the
// row-by-row Q4_0 kernels compute-bound (`quantized.c`). Groups of 8 rows (Q4_0x8 until this
// layout) took two 256-bit loads and an insert per chunk for a 512-bit register: see
// `q4_0x16_pair_vnni`. AVX2 CPUs take each group as two halves of 8 rows (`x16_halves_avx2`),
// with `vpmaddubsw` (the 8 products of a block add up in 16 bits: |sum| <= 8 * 2 * 15 * 127 <
// 2^15) and one `vpmaddwd` per block.
#include "CKernels.h"
#include "kernels_internal.h"

enum { GROUP_ROWS = 16, BLOCK_BYTES = GROUP_ROWS * PG_Q4_BYTES };
enum { SCALES_BYTES = 2 * GROUP_ROWS, CHUNK_BYTES = 4 * GROUP_ROWS };

void pg_repack_q4_0x16(const void *src, int64_t n, int64_t k, void *dst) {
    repack_x16(src, n, k, PG_Q4_BYTES - 2, dst);
}

float pg_q4_0x16_element(const void *w, int64_t k, int64_t row, int64_t col) {
    const int j = (int)(col % PG_Q8_BLOCK);
    float scale;
    const uint8_t packed = x16_quant_byte(w, k, PG_Q4_BYTES - 2, row, col, j % 16, &scale);
    return scale * (float)((j < 16 ? packed & 0x0F : packed >> 4) - 8);
}

/// A group on AVX2 (`x16_tile_avx2`).
PG_INLINE PG_AVX2 void q4_0x16_tile(const int8_t *q, const float *d, const float *s, int64_t k, const uint8_t *group,
                                    int64_t i, const float *bias, float *out, int64_t ldo, int RX) {
    x16_tile_avx2(q, d, s, k, group, PG_Q4_BYTES - 2, i, bias, out, ldo, RX);
}

/// One group (16 W rows) against x rows [i, i + RX) on 512-bit registers with `vpdpbusd`, one
/// load per chunk. Each x row keeps one chain of sums, fed the low nibbles of a chunk for every x
/// row, then the high ones, so 8 x rows are 8 chains between dependent `vpdpbusd` (two chains per
/// row cost an add per block: C harness, m = 512, 64.2 -> 65.5 % of the peak). Decode streams W
/// PG_VNNI_DECODE_PREFETCH_BYTES ahead, non-temporally; a batch's first x tile over each W chunk
/// brings it into L2, as far ahead as the pair tile of Q4_0x8 did in each of its two streams.
PG_INLINE PG_VNNI void q4_0x16_tile_vnni(const int8_t *q, const float *d, const float *s, int64_t k,
                                         const uint8_t *group, int64_t i, const float *bias, float *out, int64_t ldo,
                                         int RX) {
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    const __m512i low = _mm512_set1_epi8(0x0F);
    const __m256 eight = _mm256_set1_ps(8.0f);
    const int64_t ahead = RX == 1 ? PG_PREFETCH_AHEAD(PG_VNNI_DECODE_PREFETCH_BYTES, BLOCK_BYTES)
                                  : PG_PREFETCH_AHEAD(2 * PG_PAIR_PREFETCH_BYTES, BLOCK_BYTES);
    __m512 acc[8];
    for (int a = 0; a < RX; a++) acc[a] = _mm512_setzero_ps();
    const uint8_t *p = group;
    for (int64_t b = 0; b < numBlocks; b++, p += BLOCK_BYTES) {
        if (RX == 1) prefetch_bytes_nta(p + ahead, BLOCK_BYTES);  // decode: W read once (see prefetch_bytes_nta)
        else if (i == 0) prefetch_bytes(p + ahead, BLOCK_BYTES);
        __m512i sums[8];
        for (int a = 0; a < RX; a++) sums[a] = _mm512_setzero_si512();
        for (int c = 0; c < 4; c++) {
            const __m512i packed = _mm512_loadu_si512(p + SCALES_BYTES + CHUNK_BYTES * c);
            const __m512i lo = _mm512_and_si512(packed, low);
            const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low);
            for (int a = 0; a < RX; a++)
                sums[a] = _mm512_dpbusd_epi32(sums[a], lo, broadcast4_512(q + (i + a) * k + b * PG_Q8_BLOCK + 4 * c));
            for (int a = 0; a < RX; a++)
                sums[a] =
                    _mm512_dpbusd_epi32(sums[a], hi, broadcast4_512(q + (i + a) * k + b * PG_Q8_BLOCK + 16 + 4 * c));
        }
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
        const int64_t at = scale_index(i, b, numBlocks);  // the tile's rows' scales are adjacent
        add_block16(acc, sums, dw, d + at, s + at, eight, RX);
    }
    store_tile16(out + i * ldo, ldo, acc, RX, bias);
}

/// `pg_wide_tile` for Q4_0x16: two adjacent groups, each x broadcast feeding both. Each x row's
/// sums start from its block's offset term o (integer), so a block takes one convert and one FMA
/// by the W scales per x row and group, into a part that x's scale, shared by a span of blocks
/// (`q4_0_scale_span`), scales once per span. The per-block FMS by d_x and the offset's multiply
/// took as many slots of the two multiply pipes as 1/4 of the block's `vpdpbusd`: without them
/// (ModelBench --kernels, 6144 x 1536, one thread, % of the peak) m = 16 71 -> 78 %, m = 512 75 ->
/// 82 %. Groups of 8 rows, paired in a register by two 256-bit loads and an insert, read 76-77 %
/// and 82 % where one 512-bit load read 80-82 % and 84-86 %.
PG_INLINE PG_VNNI void q4_0x16_pair_vnni(const int8_t *q, const float *d, const int32_t *o, int64_t k,
                                         const uint8_t *group, int64_t groupStride, int64_t i, const float *bias,
                                         float *out, int64_t ldo, int RX, pg_prefetch_plan plan) {
    const int64_t numBlocks = k / PG_Q8_BLOCK, span = q4_0_scale_span(k);
    const __m512i low = _mm512_set1_epi8(0x0F);
    __m512 acc0[4], acc1[4];
    for (int a = 0; a < RX; a++) acc0[a] = acc1[a] = _mm512_setzero_ps();
    const uint8_t *p = group;
    for (int64_t b0 = 0; b0 < numBlocks; b0 += span) {
        __m512 part0[4], part1[4];
        for (int a = 0; a < RX; a++) part0[a] = part1[a] = _mm512_setzero_ps();
        for (int64_t b = b0; b < b0 + span; b++, p += BLOCK_BYTES) {
            if (plan.offset && b % plan.every == plan.phase)
                for (int g = 0; g < 2; g++) prefetch_bytes_l2(p + g * groupStride + plan.offset, BLOCK_BYTES);
            const int64_t at = scale_index(i, b, numBlocks);
            __m512i sums0[4], sums1[4];
            for (int a = 0; a < RX; a++) sums0[a] = sums1[a] = _mm512_set1_epi32(o[at + a]);
            for (int c = 0; c < 4; c++) {
                const __m512i packed0 = _mm512_loadu_si512(p + SCALES_BYTES + CHUNK_BYTES * c);
                const __m512i packed1 = _mm512_loadu_si512(p + groupStride + SCALES_BYTES + CHUNK_BYTES * c);
                const __m512i lo0 = _mm512_and_si512(packed0, low), lo1 = _mm512_and_si512(packed1, low);
                for (int a = 0; a < RX; a++) {
                    const __m512i x = broadcast4_512(q + (i + a) * k + b * PG_Q8_BLOCK + 4 * c);
                    sums0[a] = _mm512_dpbusd_epi32(sums0[a], lo0, x);
                    sums1[a] = _mm512_dpbusd_epi32(sums1[a], lo1, x);
                }
                const __m512i hi0 = _mm512_and_si512(_mm512_srli_epi16(packed0, 4), low);
                const __m512i hi1 = _mm512_and_si512(_mm512_srli_epi16(packed1, 4), low);
                for (int a = 0; a < RX; a++) {
                    const __m512i x = broadcast4_512(q + (i + a) * k + b * PG_Q8_BLOCK + 16 + 4 * c);
                    sums0[a] = _mm512_dpbusd_epi32(sums0[a], hi0, x);
                    sums1[a] = _mm512_dpbusd_epi32(sums1[a], hi1, x);
                }
            }
            const __m512 dw0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
            const __m512 dw1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + groupStride)));
            for (int a = 0; a < RX; a++) {
                part0[a] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums0[a]), dw0, part0[a]);
                part1[a] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums1[a]), dw1, part1[a]);
            }
        }
        const int64_t at = scale_index(i, b0, numBlocks);
        for (int a = 0; a < RX; a++) {
            const __m512 dx = _mm512_set1_ps(d[at + a]);
            acc0[a] = _mm512_fmadd_ps(part0[a], dx, acc0[a]);
            acc1[a] = _mm512_fmadd_ps(part1[a], dx, acc1[a]);
        }
    }
    store_tile16(out + i * ldo, ldo, acc0, RX, bias);
    store_tile16(out + i * ldo + GROUP_ROWS, ldo, acc1, RX, bias ? bias + GROUP_ROWS : NULL);
}

PG_AVX2 void pg_q4_0x16_rows_avx2(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                  const void *w, int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo) {
    interleaved_rows(q, d, s, m, k, w, k / PG_Q8_BLOCK * BLOCK_BYTES, GROUP_ROWS, g0, g1, bias, out, ldo, q4_0x16_tile,
                     NULL, 4);
}

PG_VNNI void pg_q4_0x16_rows_vnni(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                  const void *w, int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo) {
    const int64_t groupStride = k / PG_Q8_BLOCK * BLOCK_BYTES;
    if (m >= PG_WIDE_MIN_ROWS)
        wide_rows(q, d, s, m, k, w, groupStride, GROUP_ROWS, 2, g0, g1, bias, out, ldo, q4_0x16_pair_vnni,
                  q4_0x16_tile_vnni, NULL, PG_PREFETCH_AHEAD(2 * PG_PAIR_PREFETCH_BYTES, BLOCK_BYTES));
    else
        interleaved_rows(q, d, s, m, k, w, groupStride, GROUP_ROWS, g0, g1, bias, out, ldo, q4_0x16_tile_vnni, NULL,
                         8);
}
