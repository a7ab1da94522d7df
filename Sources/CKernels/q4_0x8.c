// Q4_0 repacked in groups of 8 rows ("Q4_0x8", PG_DTYPE_Q4_0X8): the integer
// kernels' layout for Q4_0 weights, made once at load by `pg_repack_q4_0x8`.
//
// For each group of 8 W rows and each block of 32 columns, 144 bytes: the 8
// rows' f16 scales, then 4 chunks of 32 bytes; chunk c holds bytes 4c ..< 4c + 4
// of each row's 16 nibble bytes, row after row. One chunk's low nibbles are then
// weights 4c ..< 4c + 4 of all 8 rows, its high nibbles weights 16 + 4c ..< 20 + 4c,
// so a 32-bit lane of a register is one row: `vpmaddubsw` against the matching 4
// activation bytes (broadcast) leaves each row's products in its own lane. The 8
// products of a block add up in 16 bits (|sum| <= 8 * 2 * 15 * 127 < 2^15), and
// one `vpmaddwd`, one convert and one FMA with the 8 rows' scales finish the block
// for 8 rows at once: no horizontal sums and no scalar scale arithmetic, which
// left the row-by-row Q4_0 kernels compute-bound (`quantized.c`). On AVX-512 VNNI
// CPUs one `vpdpbusd` replaces `vpmaddubsw` + `vpaddw`, and in batches a 512-bit
// register holds two adjacent groups (`q4_0x8_pair_vnni`).
#include "CKernels.h"
#include "kernels_internal.h"

enum { GROUP_BYTES = 8 * PG_Q4_BYTES };

void pg_repack_q4_0x8(const void *src, int64_t n, int64_t k, void *dst) {
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    for (int64_t g = 0; g < n / 8; g++)
        for (int64_t b = 0; b < numBlocks; b++) {
            uint8_t *out = (uint8_t *)dst + (g * numBlocks + b) * GROUP_BYTES;
            for (int r = 0; r < 8; r++) {
                const uint8_t *block = (const uint8_t *)src + ((g * 8 + r) * numBlocks + b) * PG_Q4_BYTES;
                memcpy(out + 2 * r, block, 2);
                for (int c = 0; c < 4; c++) memcpy(out + 16 + 32 * c + 4 * r, block + 2 + 4 * c, 4);
            }
        }
}

float pg_q4_0x8_element(const void *w, int64_t k, int64_t row, int64_t col) {
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    const uint8_t *group = (const uint8_t *)w + ((row / 8) * numBlocks + col / PG_Q8_BLOCK) * GROUP_BYTES;
    const int r = (int)(row % 8), j = (int)(col % PG_Q8_BLOCK), byte = j % 16;
    uint16_t scale;
    memcpy(&scale, group + 2 * r, 2);
    const uint8_t packed = group[16 + 32 * (byte / 4) + 4 * r + byte % 4];
    return f16_to_float(scale) * (float)((j < 16 ? packed & 0x0F : packed >> 4) - 8);
}

/// One group of 8 W rows (`group`, all its blocks) against x rows [i, i + RX):
/// out[(i + a) * ldo + r .. r + 8] = bias + the 8 rows' dot products with x row i + a.
/// Inlined with constant `step` and `widen` (the ISA's dot step, see `pg_dot_step`).
PG_INLINE PG_AVX2 void q4_0x8_tile_with(const int8_t *q, const float *d, const float *s, int64_t k,
                                        const uint8_t *group, int64_t i, const float *bias, float *out, int64_t ldo,
                                        int RX,
                                        pg_dot_step step, pg_dot_widen widen, int prefetchBytes) {
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    const __m256i low = _mm256_set1_epi8(0x0F);
    const __m256 eight = _mm256_set1_ps(8.0f);
    __m256 acc[8];
    for (int a = 0; a < RX; a++) acc[a] = _mm256_setzero_ps();
    const uint8_t *p = group;
    for (int64_t b = 0; b < numBlocks; b++, p += GROUP_BYTES) {
        // `prefetchBytes` ahead, in decode (non-temporally: `prefetch_bytes_nta`) and in the first
        // x tile of each W chunk (the pass that brings the chunk into L2): 16-sequence decode
        // +7 % (Q8_0) / +20 % (Q4_0) at 2 threads.
        if (RX == 1) prefetch_bytes_nta(p + PG_PREFETCH_AHEAD(prefetchBytes, GROUP_BYTES), GROUP_BYTES);
        else if (i == 0) prefetch_bytes(p + PG_PREFETCH_AHEAD(prefetchBytes, GROUP_BYTES), GROUP_BYTES);
        __m256i sums[8];
        for (int a = 0; a < RX; a++) sums[a] = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i packed = _mm256_loadu_si256((const __m256i *)(p + 16 + 32 * c));
            const __m256i lo = _mm256_and_si256(packed, low);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low);
            for (int a = 0; a < RX; a++) {
                const int8_t *x = q + (i + a) * k + b * PG_Q8_BLOCK;
                sums[a] = step(sums[a], lo, broadcast4(x + 4 * c));
                sums[a] = step(sums[a], hi, broadcast4(x + 16 + 4 * c));
            }
        }
        // Per row: d_w (d_x sum(u q_x) - 8 d_x sum(q_x)), u = q_w + 8 the stored nibble.
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
        for (int a = 0; a < RX; a++) {
            const int64_t at = scale_index(i + a, b, numBlocks);
            const __m256 dot = _mm256_cvtepi32_ps(widen(sums[a]));
            const __m256 x = _mm256_fmsub_ps(dot, _mm256_set1_ps(d[at]), _mm256_mul_ps(eight, _mm256_set1_ps(s[at])));
            acc[a] = _mm256_fmadd_ps(x, dw, acc[a]);
        }
    }
    store_tile(out + i * ldo, ldo, acc, RX, bias);
}

PG_INLINE PG_AVX2 void q4_0x8_tile(const int8_t *q, const float *d, const float *s, int64_t k, const uint8_t *group,
                                   int64_t i, const float *bias, float *out, int64_t ldo, int RX) {
    q4_0x8_tile_with(q, d, s, k, group, i, bias, out, ldo, RX, dot16_step_avx2, widen16_avx2, PG_DECODE_PREFETCH_BYTES);
}

PG_INLINE PG_VNNI void q4_0x8_tile_vnni(const int8_t *q, const float *d, const float *s, int64_t k,
                                        const uint8_t *group, int64_t i, const float *bias, float *out, int64_t ldo,
                                        int RX) {
    q4_0x8_tile_with(q, d, s, k, group, i, bias, out, ldo, RX, dot_step_vnni, widen_none,
                     PG_VNNI_DECODE_PREFETCH_BYTES);
}

/// `q4_0x8_tile` for two adjacent groups (16 W rows) on 512-bit registers with `vpdpbusd`.
/// Each x row keeps one chain of sums, fed the low nibbles of a chunk for every x row, then the
/// high ones, so 8 x rows are 8 chains between dependent `vpdpbusd` (two chains per row cost an
/// add per block: C harness, m = 512, 64.2 -> 65.5 % of the peak); tiles of up to 8 x rows.
PG_INLINE PG_VNNI void q4_0x8_pair_vnni(const int8_t *q, const float *d, const float *s, int64_t k,
                                        const uint8_t *group, int64_t groupStride, int64_t i, const float *bias,
                                        float *out, int64_t ldo, int RX) {
    const int64_t numBlocks = k / PG_Q8_BLOCK;
    const __m512i low = _mm512_set1_epi8(0x0F);
    const __m256 eight = _mm256_set1_ps(8.0f);
    __m512 acc[8];
    for (int a = 0; a < RX; a++) acc[a] = _mm512_setzero_ps();
    const uint8_t *p = group;
    for (int64_t b = 0; b < numBlocks; b++, p += GROUP_BYTES) {
        if (RX == 1 || i == 0) {  // as q4_0x8_tile_with, for both groups, PG_PAIR_PREFETCH_BYTES ahead
            prefetch_bytes(p + PG_PREFETCH_AHEAD(PG_PAIR_PREFETCH_BYTES, GROUP_BYTES), GROUP_BYTES);
            prefetch_bytes(p + groupStride + PG_PREFETCH_AHEAD(PG_PAIR_PREFETCH_BYTES, GROUP_BYTES), GROUP_BYTES);
        }
        __m512i sums[8];
        for (int a = 0; a < RX; a++) sums[a] = _mm512_setzero_si512();
        for (int c = 0; c < 4; c++) {
            const __m512i packed = load_pair(p + 16 + 32 * c, groupStride);
            const __m512i lo = _mm512_and_si512(packed, low);
            const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low);
            for (int a = 0; a < RX; a++)
                sums[a] = _mm512_dpbusd_epi32(sums[a], lo, broadcast4_512(q + (i + a) * k + b * PG_Q8_BLOCK + 4 * c));
            for (int a = 0; a < RX; a++)
                sums[a] =
                    _mm512_dpbusd_epi32(sums[a], hi, broadcast4_512(q + (i + a) * k + b * PG_Q8_BLOCK + 16 + 4 * c));
        }
        const __m512 dw = scales_pair(p, groupStride);
        const int64_t at = scale_index(i, b, numBlocks);  // the tile's rows' scales are adjacent
        add_block16(acc, sums, dw, d + at, s + at, eight, RX);
    }
    store_tile16(out + i * ldo, ldo, acc, RX, bias);
}

/// `pg_wide_tile` for Q4_0x8: four adjacent groups, as two pairs, each x broadcast feeding both.
/// Each x row's sums start from its block's offset term o (integer), so a block takes one convert
/// and one FMA by the W scales per x row and pair, into a part that x's scale, shared by a span of
/// blocks (`q4_0_scale_span`), scales once per span. The per-block FMS by d_x and the offset's
/// multiply took as many slots of the two multiply pipes as 1/4 of the block's `vpdpbusd`: without
/// them (ModelBench --kernels, 6144 x 1536, one thread, % of the peak) m = 16 71 -> 78 %, m = 512
/// 75 -> 82 %.
PG_INLINE PG_VNNI void q4_0x8_quad_vnni(const int8_t *q, const float *d, const int32_t *o, int64_t k,
                                        const uint8_t *group, int64_t groupStride, int64_t i, const float *bias,
                                        float *out, int64_t ldo, int RX, pg_prefetch_plan plan) {
    const int64_t numBlocks = k / PG_Q8_BLOCK, pairStride = 2 * groupStride, span = q4_0_scale_span(k);
    const __m512i low = _mm512_set1_epi8(0x0F);
    __m512 acc0[4], acc1[4];
    for (int a = 0; a < RX; a++) acc0[a] = acc1[a] = _mm512_setzero_ps();
    const uint8_t *p = group;
    for (int64_t b0 = 0; b0 < numBlocks; b0 += span) {
        __m512 part0[4], part1[4];
        for (int a = 0; a < RX; a++) part0[a] = part1[a] = _mm512_setzero_ps();
        for (int64_t b = b0; b < b0 + span; b++, p += GROUP_BYTES) {
            if (plan.offset && b % plan.every == plan.phase)
                for (int g = 0; g < 4; g++) prefetch_bytes_l2(p + g * groupStride + plan.offset, GROUP_BYTES);
            const int64_t at = scale_index(i, b, numBlocks);
            __m512i sums0[4], sums1[4];
            for (int a = 0; a < RX; a++) sums0[a] = sums1[a] = _mm512_set1_epi32(o[at + a]);
            for (int c = 0; c < 4; c++) {
                const __m512i packed0 = load_pair(p + 16 + 32 * c, groupStride);
                const __m512i packed1 = load_pair(p + pairStride + 16 + 32 * c, groupStride);
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
            const __m512 dw0 = scales_pair(p, groupStride), dw1 = scales_pair(p + pairStride, groupStride);
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
    store_tile16(out + i * ldo + 16, ldo, acc1, RX, bias ? bias + 16 : NULL);
}

PG_AVX2 void pg_q4_0x8_rows_avx2(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo) {
    interleaved_rows(q, d, s, m, k, w, k / PG_Q8_BLOCK * GROUP_BYTES, 8, g0, g1, bias, out, ldo, q4_0x8_tile, NULL, 4);
}

PG_VNNI void pg_q4_0x8_rows_vnni(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo) {
    const int64_t groupStride = k / PG_Q8_BLOCK * GROUP_BYTES;
    if (m >= PG_WIDE_MIN_ROWS)
        wide_rows(q, d, s, m, k, w, groupStride, 8, 4, g0, g1, bias, out, ldo, q4_0x8_quad_vnni, q4_0x8_tile_vnni,
                  q4_0x8_pair_vnni, PG_PREFETCH_AHEAD(PG_PAIR_PREFETCH_BYTES, GROUP_BYTES));
    else
        interleaved_rows(q, d, s, m, k, w, groupStride, 8, g0, g1, bias, out, ldo, q4_0x8_tile_vnni, q4_0x8_pair_vnni,
                         8);
}
