// Q4_K repacked in groups of 8 rows ("Q4_Kx8", PG_DTYPE_Q4_KX8), made once at
// load by `pg_repack_q4_Kx8`: the Q4_0x16 idea (q4_0x16.c) in groups of 8 rows, for llama.cpp's Q4_K.
//
// Per group of 8 W rows and super-block of 256 columns, 1184 bytes (8 x 148,
// 3 % more than Q4_K's 8 x 144): the rows' f16 d [0, 16) and dmin [16, 32); the
// 6-bit sub-block scales unpacked to bytes, sc[s][r] at 32 + 8s + r, and mins
// mn[s][r] at 96 + 8s + r; then the nibbles in 32 chunks of 32 bytes: chunk
// (c, t) at 160 + 32 (8c + t) holds Q4_K nibble bytes 32c + 4t ..< 32c + 4t + 4
// of each row in row order. Its low nibbles are weights 64c + 4t ..< + 4 of the
// 8 rows (sub-block 2c), its high nibbles weights 64c + 32 + 4t ..< + 4
// (sub-block 2c + 1). A sub-block's 8 `vpmaddubsw` results add up in 16 bits
// (|sum| <= 8 * 2 * 15 * 127 < 2^15); one `vpmaddwd` against the rows' scales
// (sc, sc in each 32-bit lane) takes them to 32 bits (|sum| <= 8 * 63 * 30480 <
// 2^31), and a super-block ends with one convert and one FMA by d_w d_x for 8
// rows, minus dmin_w sum_s mn_s s_x (s_x = d_x sum of the sub-block's q_x). On
// AVX-512 VNNI CPUs, batches take `q4_Kx8_pair_vnni`.
#include "CKernels.h"
#include "kernels_internal.h"
#include "kquants.h"

void pg_repack_q4_Kx8(const void *src, int64_t n, int64_t k, void *dst) {
    const int64_t numBlocks = k / PG_QK_BLOCK;
    for (int64_t g = 0; g < n / 8; g++) {
        for (int64_t b = 0; b < numBlocks; b++) {
            uint8_t *out = (uint8_t *)dst + (g * numBlocks + b) * PG_Q4KX8_BYTES;
            for (int r = 0; r < 8; r++) {
                const uint8_t *block = (const uint8_t *)src + ((g * 8 + r) * numBlocks + b) * PG_Q4K_BYTES;
                memcpy(out + 2 * r, block, 2);
                memcpy(out + 16 + 2 * r, block + 2, 2);
                for (int s = 0; s < 8; s++) {
                    int sc, mn;
                    q4_K_scale_min(block + 4, s, &sc, &mn);
                    out[PG_Q4KX8_SCALES + 8 * s + r] = (uint8_t)sc;
                    out[PG_Q4KX8_MINS + 8 * s + r] = (uint8_t)mn;
                }
                for (int chunk = 0; chunk < 32; chunk++)
                    memcpy(out + PG_Q4KX8_QS + 32 * chunk + 4 * r, block + 16 + 4 * chunk, 4);
            }
        }
    }
}

float pg_q4_Kx8_element(const void *w, int64_t k, int64_t row, int64_t col) {
    const uint8_t *group = (const uint8_t *)w + ((row / 8) * (k / PG_QK_BLOCK) + col / PG_QK_BLOCK) * PG_Q4KX8_BYTES;
    const int r = (int)(row % 8), i = (int)(col % PG_QK_BLOCK), c = i / 64, high = i % 64 >= 32, byte = i % 32;
    const int s = 2 * c + high;
    uint16_t d, dmin;
    memcpy(&d, group + 2 * r, 2);
    memcpy(&dmin, group + 16 + 2 * r, 2);
    const uint8_t packed = group[PG_Q4KX8_QS + 32 * (8 * c + byte / 4) + 4 * r + byte % 4];
    return f16_to_float(d) * (float)group[PG_Q4KX8_SCALES + 8 * s + r] * (float)(high ? packed >> 4 : packed & 0x0F) -
           f16_to_float(dmin) * (float)group[PG_Q4KX8_MINS + 8 * s + r];
}

/// 8 bytes (one per row) widened to 32-bit lanes.
PG_INLINE PG_AVX2 __m256i bytes_to_lanes(const uint8_t *p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

/// One group of 8 W rows (all its super-blocks) against x rows [i, i + RX), RX <= 8:
/// out[(i + a) * ldo .. + 8] = bias + the 8 rows' dot products with x row i + a.
PG_INLINE PG_AVX2 void q4_Kx8_tile_with(const int8_t *q, const float *d, const float *s, int64_t k,
                                        const uint8_t *group, int64_t i, const float *bias, float *out, int64_t ldo,
                                        int RX, int ahead) {
    const int64_t numBlocks = k / PG_QK_BLOCK, numXBlocks = k / PG_Q8_BLOCK;
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256 acc[8];
    for (int a = 0; a < RX; a++) acc[a] = _mm256_setzero_ps();
    const uint8_t *p = group;
    for (int64_t b = 0; b < numBlocks; b++, p += PG_Q4KX8_BYTES) {
        __m256i sums[8];
        for (int a = 0; a < RX; a++) sums[a] = _mm256_setzero_si256();
        for (int sub = 0; sub < 8; sub++) {
            // decode: an eighth of the super-block `ahead` bytes on per sub-block (see prefetch_bytes)
            if (RX == 1) prefetch_bytes_nta(p + ahead + sub * (PG_Q4KX8_BYTES / 8), PG_Q4KX8_BYTES / 8);
            const int c = sub / 2, shift = 4 * (sub % 2);
            __m256i sub16[8];
            for (int a = 0; a < RX; a++) sub16[a] = _mm256_setzero_si256();
            for (int t = 0; t < 8; t++) {
                const __m256i packed = _mm256_loadu_si256((const __m256i *)(p + PG_Q4KX8_QS + 32 * (8 * c + t)));
                const __m256i u = _mm256_and_si256(_mm256_srli_epi16(packed, shift), low);
                for (int a = 0; a < RX; a++) {
                    const int8_t *x = q + (i + a) * k + b * PG_QK_BLOCK + 32 * sub + 4 * t;
                    sub16[a] = _mm256_add_epi16(sub16[a], _mm256_maddubs_epi16(u, broadcast4(x)));
                }
            }
            const __m256i scale = bytes_to_lanes(p + PG_Q4KX8_SCALES + 8 * sub);
            const __m256i pairs = _mm256_or_si256(scale, _mm256_slli_epi32(scale, 16));  // (sc, sc) per row
            for (int a = 0; a < RX; a++) sums[a] = _mm256_add_epi32(sums[a], _mm256_madd_epi16(sub16[a], pairs));
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 16)));
        for (int a = 0; a < RX; a++) {
            const __m256 dx = _mm256_set1_ps(d[scale_index(i + a, 8 * b, numXBlocks)]);
            acc[a] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[a]), _mm256_mul_ps(dw, dx), acc[a]);
        }
        __m256 mins[8];
        for (int a = 0; a < RX; a++) mins[a] = _mm256_setzero_ps();
        for (int sub = 0; sub < 8; sub++) {
            const __m256 mn = _mm256_cvtepi32_ps(bytes_to_lanes(p + PG_Q4KX8_MINS + 8 * sub));
            for (int a = 0; a < RX; a++)
                mins[a] = _mm256_fmadd_ps(mn, _mm256_set1_ps(s[scale_index(i + a, 8 * b + sub, numXBlocks)]), mins[a]);
        }
        for (int a = 0; a < RX; a++) acc[a] = _mm256_fnmadd_ps(dmin, mins[a], acc[a]);
    }
    store_tile(out + i * ldo, ldo, acc, RX, bias);
}

/// The tile on AVX2 CPUs: decode prefetches the next super-block.
PG_INLINE PG_AVX2 void q4_Kx8_tile(const int8_t *q, const float *d, const float *s, int64_t k, const uint8_t *group,
                                   int64_t i, const float *bias, float *out, int64_t ldo, int RX) {
    q4_Kx8_tile_with(q, d, s, k, group, i, bias, out, ldo, RX, PG_Q4KX8_BYTES);
}

/// The tile for decode on AVX-512 VNNI CPUs: about 8 KiB ahead, as the Q4_0x16 / Q8_0x16 tiles. One
/// super-block ahead left a Zen 5 core reading Q4_K_M weights at 71-75 % of a streaming read; 8 KiB
/// and more at 86-95 % (ModelBench decode, 1 thread: 36.5 -> 45-47.6 tok/s).
PG_INLINE PG_AVX2 void q4_Kx8_tile_vnni(const int8_t *q, const float *d, const float *s, int64_t k,
                                        const uint8_t *group, int64_t i, const float *bias, float *out, int64_t ldo,
                                        int RX) {
    q4_Kx8_tile_with(q, d, s, k, group, i, bias, out, ldo, RX,
                     PG_PREFETCH_AHEAD(PG_VNNI_DECODE_PREFETCH_BYTES, PG_Q4KX8_BYTES));
}

/// A pair of groups' (`p`, `p + groupStride`) 8 bytes each (one per row) as 16 f32 lanes.
PG_INLINE PG_VNNI __m512 byte_pair_to_ps(const uint8_t *p, int64_t groupStride) {
    const __m128i bytes =
        _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)p), _mm_loadl_epi64((const __m128i *)(p + groupStride)));
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes));
}

/// `q4_Kx8_tile` for two adjacent groups (16 W rows) on 512-bit registers with `vpdpbusd`.
/// Each sub-block's 8 `vpdpbusd` per x row (nibbles times x, low and high nibbles in two
/// chains) are scaled in f32 by d_w sc (16 rows per register, made once per tile) into the
/// super-block's sum, which d_x then scales; the mins as in `q4_Kx8_tile`.
PG_INLINE PG_VNNI void q4_Kx8_pair_vnni(const int8_t *q, const float *d, const float *s, int64_t k,
                                        const uint8_t *group, int64_t groupStride, int64_t i, const float *bias,
                                        float *out, int64_t ldo, int RX) {
    const int64_t numBlocks = k / PG_QK_BLOCK, numXBlocks = k / PG_Q8_BLOCK;
    const __m512i low = _mm512_set1_epi8(0x0F);
    __m512 acc[8];
    for (int a = 0; a < RX; a++) acc[a] = _mm512_setzero_ps();
    const uint8_t *p = group;
    for (int64_t b = 0; b < numBlocks; b++, p += PG_Q4KX8_BYTES) {
        const __m512 dw = scales_pair(p, groupStride);
        __m512 block[8];
        for (int a = 0; a < RX; a++) block[a] = _mm512_setzero_ps();
        for (int c = 0; c < 4; c++) {  // sub-blocks 2c (low nibbles) and 2c + 1 (high)
            if (i == 0) {  // the pass that brings the chunk into L2: a quarter of a super-block, 12 KiB on
                const int quarter = PG_Q4KX8_BYTES / 4;
                const int64_t ahead =
                    PG_PREFETCH_AHEAD(PG_PAIR_PREFETCH_BYTES, PG_Q4KX8_BYTES) + c * quarter;
                prefetch_bytes(p + ahead, quarter);
                prefetch_bytes(p + groupStride + ahead, quarter);
            }
            __m512i sums[8][2];
            for (int a = 0; a < RX; a++) sums[a][0] = sums[a][1] = _mm512_setzero_si512();
            for (int t = 0; t < 8; t++) {
                const __m512i packed = load_pair(p + PG_Q4KX8_QS + 32 * (8 * c + t), groupStride);
                const __m512i lo = _mm512_and_si512(packed, low);
                const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low);
                for (int a = 0; a < RX; a++) {
                    const int8_t *x = q + (i + a) * k + b * PG_QK_BLOCK + 64 * c + 4 * t;
                    sums[a][0] = _mm512_dpbusd_epi32(sums[a][0], lo, broadcast4_512(x));
                    sums[a][1] = _mm512_dpbusd_epi32(sums[a][1], hi, broadcast4_512(x + 32));
                }
            }
            for (int h = 0; h < 2; h++) {
                const __m512 scale =
                    _mm512_mul_ps(dw, byte_pair_to_ps(p + PG_Q4KX8_SCALES + 8 * (2 * c + h), groupStride));
                for (int a = 0; a < RX; a++)
                    block[a] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[a][h]), scale, block[a]);
            }
        }
        for (int a = 0; a < RX; a++)
            acc[a] = _mm512_fmadd_ps(block[a], _mm512_set1_ps(d[scale_index(i + a, 8 * b, numXBlocks)]), acc[a]);
        const __m512 dmin = scales_pair(p + 16, groupStride);
        for (int sub = 0; sub < 8; sub++) {
            const __m512 mn = _mm512_mul_ps(dmin, byte_pair_to_ps(p + PG_Q4KX8_MINS + 8 * sub, groupStride));
            for (int a = 0; a < RX; a++)
                acc[a] = _mm512_fnmadd_ps(mn, _mm512_set1_ps(s[scale_index(i + a, 8 * b + sub, numXBlocks)]), acc[a]);
        }
    }
    store_tile16(out + i * ldo, ldo, acc, RX, bias);
}

PG_AVX2 void pg_q4_Kx8_rows_avx2(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo) {
    interleaved_rows(q, d, s, m, k, w, k / PG_QK_BLOCK * PG_Q4KX8_BYTES, 8, g0, g1, bias, out, ldo, q4_Kx8_tile,
                     NULL, 4);
}

PG_VNNI void pg_q4_Kx8_rows_vnni(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo) {
    // Tiles of 8 x rows: 67 % of the vpdpbusd peak on a Zen 5 core, against 62 % with tiles of 4 and
    // 25 % for the AVX2 tile (C harness, m = 512, k = 1536 and 6144).
    interleaved_rows(q, d, s, m, k, w, k / PG_QK_BLOCK * PG_Q4KX8_BYTES, 8, g0, g1, bias, out, ldo, q4_Kx8_tile_vnni,
                     q4_Kx8_pair_vnni, 8);
}
