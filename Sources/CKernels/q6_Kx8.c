// Q6_K repacked in groups of 8 rows ("Q6_Kx8", PG_DTYPE_Q6_KX8), made once at
// load by `pg_repack_q6_Kx8`: the layout of q4_0x16.c / q4_Kx8.c for llama.cpp's
// Q6_K (6-bit quants q, w = d sc (q - 32), one int8 scale per 16 weights).
//
// Per group of 8 W rows and super-block of 256 columns, 1712 bytes (8 x 214,
// 2 % more than Q6_K): the rows' f16 d [0, 16); scale pairs at 16 + 16 s + 2 r
// (sub-block s's two scales, for its weights 0-15 and 16-31); at 144 one int32
// per row, corr = sum_i sc(i) (q_i - 32); then `ql` in 32 chunks of 32 bytes,
// chunk (u, t) at 176 + 32 (8u + t) holding ql bytes 32u + 4t ..< + 4 of each
// row; then `qh` in 16 chunks, chunk (h, t) at 1200 + 32 (8h + t) holding qh
// bytes 32h + 4t ..< + 4 of each row. Sub-block s = 4h + g (weights 128h + 32g
// + l) takes its low 4 bits from ql chunk (2h + g % 2, l / 4) (high nibbles for
// g >= 2) and its high 2 bits from bits 2g of qh chunk (h, l / 4).
//
// The kernel multiplies the signed w = q - 32 by x + 128 (unsigned; the caller
// passes x ^ 0x80): two `vpmaddubsw` results add up in 16 bits (|sum| <= 2 * 2
// * 255 * 32 < 2^15), one `vpmaddwd` against the rows' scale takes them to 32
// bits, and per super-block 128 corr removes the + 128 again. On AVX-512 VNNI
// CPUs, batches of 2-8 take `q6_Kx8_pair_vnni`, and larger ones expand W first
// (`expanded_rows`).
#include "CKernels.h"
#include "kernels_internal.h"
#include "kquants.h"

#include <stdlib.h>

enum { KX6_BYTES = 8 * 214, KX6_SCALES = 16, KX6_CORR = 144, KX6_QL = 176, KX6_QH = 1200 };

/// q of weight i of a Q6_K super-block (0-63).
static int q6_K_quant(const uint8_t *block, int i) {
    const int h = i / 128, g = i % 128 / 32, l = i % 32;
    const uint8_t low = block[64 * h + 32 * (g & 1) + l];
    return (g < 2 ? low & 0x0F : low >> 4) | ((block[128 + 32 * h + l] >> (2 * g)) & 3) << 4;
}

void pg_repack_q6_Kx8(const void *src, int64_t n, int64_t k, void *dst) {
    const int64_t numBlocks = k / PG_QK_BLOCK;
    for (int64_t grp = 0; grp < n / 8; grp++) {
        for (int64_t b = 0; b < numBlocks; b++) {
            uint8_t *out = (uint8_t *)dst + (grp * numBlocks + b) * KX6_BYTES;
            for (int r = 0; r < 8; r++) {
                const uint8_t *block = (const uint8_t *)src + ((grp * 8 + r) * numBlocks + b) * PG_Q6K_BYTES;
                memcpy(out + 2 * r, block + 208, 2);
                int32_t corr = 0;
                for (int i = 0; i < PG_QK_BLOCK; i++) corr += (int8_t)block[192 + i / 16] * (q6_K_quant(block, i) - 32);
                memcpy(out + KX6_CORR + 4 * r, &corr, 4);
                for (int s = 0; s < 8; s++) memcpy(out + KX6_SCALES + 16 * s + 2 * r, block + 192 + 2 * s, 2);
                for (int chunk = 0; chunk < 32; chunk++) memcpy(out + KX6_QL + 32 * chunk + 4 * r, block + 4 * chunk, 4);
                for (int chunk = 0; chunk < 16; chunk++)
                    memcpy(out + KX6_QH + 32 * chunk + 4 * r, block + 128 + 4 * chunk, 4);
            }
        }
    }
}

float pg_q6_Kx8_element(const void *w, int64_t k, int64_t row, int64_t col) {
    const uint8_t *group = (const uint8_t *)w + ((row / 8) * (k / PG_QK_BLOCK) + col / PG_QK_BLOCK) * KX6_BYTES;
    const int r = (int)(row % 8), i = (int)(col % PG_QK_BLOCK), h = i / 128, g = i % 128 / 32, l = i % 32;
    const int piece = 4 * r + l % 4;
    const uint8_t low = group[KX6_QL + 32 * (8 * (2 * h + (g & 1)) + l / 4) + piece];
    const uint8_t high = group[KX6_QH + 32 * (8 * h + l / 4) + piece];
    const int q = (g < 2 ? low & 0x0F : low >> 4) | ((high >> (2 * g)) & 3) << 4;
    const int8_t scale = (int8_t)group[KX6_SCALES + 16 * (4 * h + g) + 2 * r + l / 16];
    uint16_t d;
    memcpy(&d, group + 2 * r, 2);
    return f16_to_float(d) * (float)scale * (float)(q - 32);
}

/// The 8 rows' signed quants w = q - 32 of piece t (weights 4t ..< 4t + 4) of sub-block s.
PG_INLINE PG_AVX2 __m256i q6_piece(const uint8_t *p, int s, int t) {
    const int h = s / 4, g = s % 4;
    const __m256i ql = _mm256_loadu_si256((const __m256i *)(p + KX6_QL + 32 * (8 * (2 * h + (g & 1)) + t)));
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(p + KX6_QH + 32 * (8 * h + t)));
    const __m256i low = _mm256_and_si256(g < 2 ? ql : _mm256_srli_epi16(ql, 4), _mm256_set1_epi8(0x0F));
    const __m256i high = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * g), 4), _mm256_set1_epi8(0x30));
    return _mm256_sub_epi8(_mm256_or_si256(low, high), _mm256_set1_epi8(32));
}

/// One group of 8 W rows (all its super-blocks) against x rows [i, i + RX), RX <= 8, `q` holding x + 128.
PG_INLINE PG_AVX2 void q6_Kx8_tile_with(const int8_t *q, const float *d, const float *s, int64_t k,
                                        const uint8_t *group, int64_t i, const float *bias, float *out, int64_t ldo,
                                        int RX, int ahead) {
    (void)s;
    const int64_t numBlocks = k / PG_QK_BLOCK, numXBlocks = k / PG_Q8_BLOCK;
    __m256 acc[8];
    for (int a = 0; a < RX; a++) acc[a] = _mm256_setzero_ps();
    const uint8_t *p = group;
    for (int64_t b = 0; b < numBlocks; b++, p += KX6_BYTES) {
        __m256i sums[8];
        for (int a = 0; a < RX; a++) sums[a] = _mm256_setzero_si256();
        for (int sub = 0; sub < 8; sub++) {
            // decode: an eighth of the super-block `ahead` bytes on per sub-block (see prefetch_bytes)
            if (RX == 1) prefetch_bytes_nta(p + ahead + sub * (KX6_BYTES / 8), KX6_BYTES / 8);
            // (sc, sc) in each row's lane for the sub-block's two halves, from its (sc0, sc1) pairs.
            const __m256i pairs = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p + KX6_SCALES + 16 * sub)));
            const __m256i halves[2] = {_mm256_shufflehi_epi16(_mm256_shufflelo_epi16(pairs, 0xA0), 0xA0),
                                       _mm256_shufflehi_epi16(_mm256_shufflelo_epi16(pairs, 0xF5), 0xF5)};
            for (int t = 0; t < 8; t += 2) {
                const __m256i w0 = q6_piece(p, sub, t), w1 = q6_piece(p, sub, t + 1);
                for (int a = 0; a < RX; a++) {
                    const int8_t *x = q + (i + a) * k + b * PG_QK_BLOCK + 32 * sub + 4 * t;
                    const __m256i pair16 = _mm256_add_epi16(_mm256_maddubs_epi16(broadcast4(x), w0),
                                                            _mm256_maddubs_epi16(broadcast4(x + 4), w1));
                    sums[a] = _mm256_add_epi32(sums[a], _mm256_madd_epi16(pair16, halves[t / 4]));
                }
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
        const __m256i corr = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(p + KX6_CORR)), 7);
        for (int a = 0; a < RX; a++) {
            const __m256 dx = _mm256_set1_ps(d[scale_index(i + a, 8 * b, numXBlocks)]);
            const __m256i dot = _mm256_sub_epi32(sums[a], corr);
            acc[a] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw, dx), acc[a]);
        }
    }
    store_tile(out + i * ldo, ldo, acc, RX, bias);
}

/// The tile on AVX2 CPUs: decode prefetches the next super-block.
PG_INLINE PG_AVX2 void q6_Kx8_tile(const int8_t *q, const float *d, const float *s, int64_t k, const uint8_t *group,
                                   int64_t i, const float *bias, float *out, int64_t ldo, int RX) {
    q6_Kx8_tile_with(q, d, s, k, group, i, bias, out, ldo, RX, KX6_BYTES);
}

/// The tile for decode on AVX-512 VNNI CPUs: about 8 KiB ahead, as `q4_Kx8_tile_vnni`.
PG_INLINE PG_AVX2 void q6_Kx8_tile_vnni(const int8_t *q, const float *d, const float *s, int64_t k,
                                        const uint8_t *group, int64_t i, const float *bias, float *out, int64_t ldo,
                                        int RX) {
    q6_Kx8_tile_with(q, d, s, k, group, i, bias, out, ldo, RX,
                     PG_PREFETCH_AHEAD(PG_VNNI_DECODE_PREFETCH_BYTES, KX6_BYTES));
}

/// `q6_piece` of two adjacent groups (`p`, `p + groupStride`), first group low.
PG_INLINE PG_VNNI __m512i q6_piece_pair(const uint8_t *p, int64_t groupStride, int s, int t) {
    const int h = s / 4, g = s % 4;
    const __m512i ql = load_pair(p + KX6_QL + 32 * (8 * (2 * h + (g & 1)) + t), groupStride);
    const __m512i qh = load_pair(p + KX6_QH + 32 * (8 * h + t), groupStride);
    const __m512i low = _mm512_and_si512(g < 2 ? ql : _mm512_srli_epi16(ql, 4), _mm512_set1_epi8(0x0F));
    const __m512i high =
        _mm512_and_si512(_mm512_slli_epi16(_mm512_srl_epi16(qh, _mm_cvtsi32_si128(2 * g)), 4), _mm512_set1_epi8(0x30));
    return _mm512_sub_epi8(_mm512_or_si512(low, high), _mm512_set1_epi8(32));
}

/// Sub-block `sub`'s two scales (for its weights 0-15 and 16-31) of two adjacent groups' 16
/// rows, times d_w, first group low.
PG_INLINE PG_VNNI void q6_scales_pair(const uint8_t *p, int64_t groupStride, int sub, __m512 dw, __m512 scales[2]) {
    const __m256i bytes = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(p + KX6_SCALES + 16 * sub))),
        _mm_loadu_si128((const __m128i *)(p + groupStride + KX6_SCALES + 16 * sub)), 1);
    const __m512i pairs = _mm512_cvtepi8_epi16(bytes);  // (sc0, sc1) in each row's 32-bit lane
    scales[0] = _mm512_mul_ps(dw, _mm512_cvtepi32_ps(_mm512_madd_epi16(pairs, _mm512_set1_epi32(1))));
    scales[1] = _mm512_mul_ps(dw, _mm512_cvtepi32_ps(_mm512_madd_epi16(pairs, _mm512_set1_epi32(1 << 16))));
}

/// A super-block's share of the + 128 on x for two adjacent groups' 16 rows: -128 d_w corr.
PG_INLINE PG_VNNI __m512 offset_pair(const uint8_t *p, int64_t groupStride, __m512 dw) {
    const __m512i corr =
        _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(p + KX6_CORR))),
                           _mm256_loadu_si256((const __m256i *)(p + groupStride + KX6_CORR)), 1);
    return _mm512_mul_ps(_mm512_mul_ps(dw, _mm512_set1_ps(-128.0f)), _mm512_cvtepi32_ps(corr));
}

/// Sub-block `sub` of super-block b (at p) for x rows [i, i + RX) into `block`: each half's 4
/// `vpdpbusd` per x row, scaled by d_w sc.
PG_INLINE PG_VNNI void q6_pair_sub(const int8_t *q, int64_t k, const uint8_t *p, int64_t groupStride, int64_t i,
                                   int64_t b, int sub, __m512 dw, __m512 *block, int RX) {
    if (i == 0) {  // the pass that brings the chunk into L2: an eighth of a super-block, 12 KiB on
        const int64_t ahead = PG_PREFETCH_AHEAD(PG_PAIR_PREFETCH_BYTES, KX6_BYTES) + sub * (KX6_BYTES / 8);
        prefetch_bytes(p + ahead, KX6_BYTES / 8);
        prefetch_bytes(p + groupStride + ahead, KX6_BYTES / 8);
    }
    __m512 scales[2];
    q6_scales_pair(p, groupStride, sub, dw, scales);
    for (int half = 0; half < 2; half++) {
        __m512i sums[8];
        for (int a = 0; a < RX; a++) sums[a] = _mm512_setzero_si512();
        for (int t = 4 * half; t < 4 * half + 4; t++) {
            const __m512i w = q6_piece_pair(p, groupStride, sub, t);
            for (int a = 0; a < RX; a++)
                sums[a] = _mm512_dpbusd_epi32(sums[a],
                                              broadcast4_512(q + (i + a) * k + b * PG_QK_BLOCK + 32 * sub + 4 * t), w);
        }
        for (int a = 0; a < RX; a++) block[a] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[a]), scales[half], block[a]);
    }
}

/// `q6_Kx8_tile` for two adjacent groups (16 W rows) on 512-bit registers with `vpdpbusd`
/// (x + 128 unsigned times w = q - 32): each half sub-block's 4 `vpdpbusd` per x row are
/// scaled in f32 by d_w sc (16 rows per register, made once per tile) into the super-block's
/// sum, 128 d_w corr takes the offset out again, and d_x scales what is left.
PG_INLINE PG_VNNI void q6_Kx8_pair_vnni(const int8_t *q, const float *d, const float *s, int64_t k,
                                        const uint8_t *group, int64_t groupStride, int64_t i, const float *bias,
                                        float *out, int64_t ldo, int RX) {
    (void)s;
    const int64_t numBlocks = k / PG_QK_BLOCK, numXBlocks = k / PG_Q8_BLOCK;
    // The sums start at the bias, set before the loop (a choice in it doubled this tile's time).
    const __m512 start = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    for (int a = 0; a < RX; a++) _mm512_storeu_ps(out + (i + a) * ldo, start);
    const uint8_t *p = group;
    for (int64_t b = 0; b < numBlocks; b++, p += KX6_BYTES) {
        const __m512 dw = scales_pair(p, groupStride);
        __m512 block[8];  // starts at -128 d_w corr, the offset's share
        const __m512 offset = offset_pair(p, groupStride, dw);
        for (int a = 0; a < RX; a++) block[a] = offset;
        // Unrolled for tiles of 8 x rows, so each piece's shifts and offsets are constants: at m = 8,
        // 0.49 -> 0.40 ms for a 6144 x 1536 matrix. Tiles of 4 keep the loop: unrolled, they took 0.58
        // ms at m = 4 against 0.32-0.40 (C harness, one thread).
        if (RX == 8) {
#pragma clang loop unroll(full)
            for (int sub = 0; sub < 8; sub++) q6_pair_sub(q, k, p, groupStride, i, b, sub, dw, block, 8);
        } else {
#pragma clang loop unroll(disable)
            for (int sub = 0; sub < 8; sub++) q6_pair_sub(q, k, p, groupStride, i, b, sub, dw, block, RX);
        }
        // d_x scales the super-block's sums straight into out (8 more registers would not fit).
        for (int a = 0; a < RX; a++) {
            float *o = out + (i + a) * ldo;
            const __m512 dx = _mm512_set1_ps(d[scale_index(i + a, 8 * b, numXBlocks)]);
            _mm512_storeu_ps(o, _mm512_fmadd_ps(block[a], dx, _mm512_loadu_ps(o)));
        }
    }
}

// ---- prefill: each chunk of W expanded once, then met by every x tile ----
//
// Built from ql and qh on the fly, a pair's piece took about 10 instructions beside its 8
// `vpdpbusd` (one per x row), on the two pipes left over by them: the tile reached 45-51 % of the
// peak at m = 512. Prefill expands each chunk of W once into a pair's pieces as int8, its scales
// d_w sc and its offset -128 d_w corr as f32 (`expand_pair`, 5.2 KB per super-block against
// 3.4 KB), and every x tile then loads them as they are (`q6_expanded_tile`): 49-51 -> 69-73 %
// at m = 512 and 45 -> 49-52 % at m = 16 (6144 x 1536, one thread). In a Q4_K_M prefill, whose
// Q6_K ffn_down and attn_v take about a sixth of the time, the Q6_Kx8 share fell by 27 %.

enum { EX_OFFSET = 0, EX_SCALES = 64, EX_PIECES = 64 + 16 * 64, EX_BYTES = EX_PIECES + 64 * 64 };

/// Batches of at least this many x rows expand W. A batch of 8 (one x tile) kept the pair tile:
/// expanded, Q4_K_M decode of 8 sequences (the Q6_K LM head read from memory) went 291-301 -> 284-286
/// tok/s at 2 threads.
#define Q6_EXPAND_MIN_ROWS 9

/// The pair of groups at p (and p + groupStride), all its super-blocks, into e: per super-block the
/// 16 rows' offsets at EX_OFFSET, sub-block half h's 16 scales at EX_SCALES + 64 h, and piece t of
/// sub-block s (16 rows x 4 quants w = q - 32) at EX_PIECES + 64 (8 s + t).
PG_INLINE PG_VNNI void expand_pair(const uint8_t *p, int64_t groupStride, int64_t numBlocks, uint8_t *e) {
    for (int64_t b = 0; b < numBlocks; b++, p += KX6_BYTES, e += EX_BYTES) {
        const __m512 dw = scales_pair(p, groupStride);
        _mm512_storeu_ps(e + EX_OFFSET, offset_pair(p, groupStride, dw));
        for (int sub = 0; sub < 8; sub++) {
            const int64_t ahead = PG_PREFETCH_AHEAD(PG_PAIR_PREFETCH_BYTES, KX6_BYTES) + sub * (KX6_BYTES / 8);
            prefetch_bytes(p + ahead, KX6_BYTES / 8);
            prefetch_bytes(p + groupStride + ahead, KX6_BYTES / 8);
            __m512 scales[2];
            q6_scales_pair(p, groupStride, sub, dw, scales);
            _mm512_storeu_ps(e + EX_SCALES + 64 * (2 * sub), scales[0]);
            _mm512_storeu_ps(e + EX_SCALES + 64 * (2 * sub + 1), scales[1]);
        }
        // Sub-blocks 4h ..< 4h + 4 share their qh chunk, and two by two their ql chunks.
        const __m512i nibble = _mm512_set1_epi8(0x0F), bits = _mm512_set1_epi8(0x30), bias = _mm512_set1_epi8(32);
        for (int h = 0; h < 2; h++)
            for (int t = 0; t < 8; t++) {
                const __m512i ql0 = load_pair(p + KX6_QL + 32 * (8 * (2 * h) + t), groupStride);
                const __m512i ql1 = load_pair(p + KX6_QL + 32 * (8 * (2 * h + 1) + t), groupStride);
                const __m512i qh = load_pair(p + KX6_QH + 32 * (8 * h + t), groupStride);
                const __m512i low[4] = {_mm512_and_si512(ql0, nibble), _mm512_and_si512(ql1, nibble),
                                        _mm512_and_si512(_mm512_srli_epi16(ql0, 4), nibble),
                                        _mm512_and_si512(_mm512_srli_epi16(ql1, 4), nibble)};
                const __m512i high[4] = {_mm512_slli_epi16(qh, 4), _mm512_slli_epi16(qh, 2), qh,
                                         _mm512_srli_epi16(qh, 2)};
                for (int g = 0; g < 4; g++)  // (high & 0x30) | low, minus 32
                    _mm512_storeu_si512(e + EX_PIECES + 64 * (8 * (4 * h + g) + t),
                                        _mm512_sub_epi8(_mm512_ternarylogic_epi32(high[g], bits, low[g], 0xEA), bias));
            }
    }
}

/// `q6_Kx8_pair_vnni` on a pair expanded by `expand_pair` (e); prefetches `pfBytes` from pf on per
/// super-block (pf NULL: none).
PG_INLINE PG_VNNI void q6_expanded_tile(const int8_t *q, const float *d, int64_t k, const uint8_t *e, int64_t i,
                                        const float *bias, float *out, int64_t ldo, int RX, const uint8_t *pf,
                                        int pfBytes) {
    const int64_t numBlocks = k / PG_QK_BLOCK, numXBlocks = k / PG_Q8_BLOCK;
    __m512 acc[8];
    for (int a = 0; a < RX; a++) acc[a] = _mm512_setzero_ps();
    for (int64_t b = 0; b < numBlocks; b++, e += EX_BYTES) {
        if (pf) prefetch_bytes(pf + b * pfBytes, pfBytes);
        __m512 block[8];
        for (int a = 0; a < RX; a++) block[a] = _mm512_load_ps(e + EX_OFFSET);
        for (int half = 0; half < 16; half++) {  // sub-block half / 2, weights 16 half ..< 16 half + 16
            __m512i sums[8];
            for (int a = 0; a < RX; a++) sums[a] = _mm512_setzero_si512();
            for (int t = 0; t < 4; t++) {
                const __m512i w = _mm512_loadu_si512(e + EX_PIECES + 64 * (4 * half + t));
                for (int a = 0; a < RX; a++)
                    sums[a] = _mm512_dpbusd_epi32(sums[a], broadcast4_512(q + (i + a) * k + b * PG_QK_BLOCK +
                                                                          16 * half + 4 * t), w);
            }
            const __m512 scale = _mm512_load_ps(e + EX_SCALES + 64 * half);
            for (int a = 0; a < RX; a++) block[a] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[a]), scale, block[a]);
        }
        for (int a = 0; a < RX; a++)
            acc[a] = _mm512_fmadd_ps(block[a], _mm512_set1_ps(d[scale_index(i + a, 8 * b, numXBlocks)]), acc[a]);
    }
    store_tile16(out + i * ldo, ldo, acc, RX, bias);
}

/// `q6_expanded_tile` for two expanded pairs (e and e + pairBytes, 32 W rows) and up to 4 x rows:
/// each x broadcast feeds both pairs' `vpdpbusd`, where tiles of 8 x rows over one pair issued one
/// broadcast per `vpdpbusd` beside its W loads. C harness (6144 x 1536, one thread, % of the peak):
/// m = 512 62-64 -> 71-74 %, m = 64 61 -> 63-67 %, m = 16 level at 44-45 % (a quarter of its time
/// is expanding W, which reads it from memory at about 40 GB/s).
PG_INLINE PG_VNNI void q6_expanded_wide(const int8_t *q, const float *d, int64_t k, const uint8_t *e,
                                        int64_t pairBytes, int64_t i, const float *bias, float *out, int64_t ldo,
                                        int RX, const uint8_t *pf, int64_t pfStride, int pfBytes) {
    const int64_t numBlocks = k / PG_QK_BLOCK, numXBlocks = k / PG_Q8_BLOCK;
    __m512 acc0[4], acc1[4];
    for (int a = 0; a < RX; a++) acc0[a] = acc1[a] = _mm512_setzero_ps();
    for (int64_t b = 0; b < numBlocks; b++, e += EX_BYTES) {
        if (pf) {
            prefetch_bytes(pf + b * pfBytes, pfBytes);
            prefetch_bytes(pf + pfStride + b * pfBytes, pfBytes);
        }
        const uint8_t *e1 = e + pairBytes;
        __m512 block0[4], block1[4];
        for (int a = 0; a < RX; a++) {
            block0[a] = _mm512_load_ps(e + EX_OFFSET);
            block1[a] = _mm512_load_ps(e1 + EX_OFFSET);
        }
        for (int half = 0; half < 16; half++) {
            __m512i sums0[4], sums1[4];
            for (int a = 0; a < RX; a++) sums0[a] = sums1[a] = _mm512_setzero_si512();
            for (int t = 0; t < 4; t++) {
                const __m512i w0 = _mm512_loadu_si512(e + EX_PIECES + 64 * (4 * half + t));
                const __m512i w1 = _mm512_loadu_si512(e1 + EX_PIECES + 64 * (4 * half + t));
                for (int a = 0; a < RX; a++) {
                    const __m512i x = broadcast4_512(q + (i + a) * k + b * PG_QK_BLOCK + 16 * half + 4 * t);
                    sums0[a] = _mm512_dpbusd_epi32(sums0[a], x, w0);
                    sums1[a] = _mm512_dpbusd_epi32(sums1[a], x, w1);
                }
            }
            const __m512 scale0 = _mm512_load_ps(e + EX_SCALES + 64 * half);
            const __m512 scale1 = _mm512_load_ps(e1 + EX_SCALES + 64 * half);
            for (int a = 0; a < RX; a++) {
                block0[a] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums0[a]), scale0, block0[a]);
                block1[a] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums1[a]), scale1, block1[a]);
            }
        }
        for (int a = 0; a < RX; a++) {
            const __m512 dx = _mm512_set1_ps(d[scale_index(i + a, 8 * b, numXBlocks)]);
            acc0[a] = _mm512_fmadd_ps(block0[a], dx, acc0[a]);
            acc1[a] = _mm512_fmadd_ps(block1[a], dx, acc1[a]);
        }
    }
    store_tile16(out + i * ldo, ldo, acc0, RX, bias);
    store_tile16(out + i * ldo + 16, ldo, acc1, RX, bias ? bias + 16 : NULL);
}

/// x rows [i, i + RX) against the `pairs` pairs expanded at e, groups g ..< g + 2 pairs: pass `pass` of
/// `passes`, which prefetches its share of each of the next chunk's pairs, from `next` (NULL: none).
PG_INLINE PG_VNNI void expanded_pass(const int8_t *q, const float *d, int64_t k, const uint8_t *e, int64_t pairs,
                                     int64_t pairBytes, int64_t g, int64_t i, const float *bias, float *out,
                                     int64_t ldo, int RX, const uint8_t *next, int pass, int passes) {
    const int64_t numBlocks = k / PG_QK_BLOCK, raw = 2 * numBlocks * KX6_BYTES;  // a pair's bytes of W
    const int share = (int)((raw + passes - 1) / passes);
    const int perBlock = (share + (int)numBlocks * 64 - 1) / ((int)numBlocks * 64) * 64;
    int64_t j = 0;
    for (; j + 2 <= pairs; j += 2)  // two pairs at a time, the last one alone
        q6_expanded_wide(q, d, k, e + j * pairBytes, pairBytes, i, bias ? bias + 8 * (g + 2 * j) : NULL,
                         out + 8 * (g + 2 * j), ldo, RX, next ? next + j * raw + (int64_t)pass * share : NULL, raw,
                         perBlock);
    for (; j < pairs; j++)
        q6_expanded_tile(q, d, k, e + j * pairBytes, i, bias ? bias + 8 * (g + 2 * j) : NULL, out + 8 * (g + 2 * j),
                         ldo, RX, next ? next + j * raw + (int64_t)pass * share : NULL, perBlock);
}

/// Groups [g0, g1) in pairs, each chunk of about PG_INTERLEAVED_CHUNK_BYTES of W expanded and then
/// met by every x tile; 0 (nothing done) where the buffer could not be had.
PG_VNNI static int expanded_rows(const int8_t *q, const float *d, int64_t m, int64_t k, const void *w, int64_t g0,
                                  int64_t g1, const float *bias, float *out, int64_t ldo) {
    const int64_t numBlocks = k / PG_QK_BLOCK, groupStride = numBlocks * KX6_BYTES, pairBytes = numBlocks * EX_BYTES;
    const int64_t chunkPairs = PG_INTERLEAVED_CHUNK_BYTES / (2 * groupStride) > 0
                                   ? PG_INTERLEAVED_CHUNK_BYTES / (2 * groupStride) : 1;
    uint8_t *e = aligned_alloc(64, (size_t)(chunkPairs * pairBytes));
    if (!e) return 0;
    for (int64_t g = g0; g + 2 <= g1; g += 2 * chunkPairs) {
        const int64_t pairs = g + 2 * chunkPairs <= g1 ? chunkPairs : (g1 - g) / 2;
        for (int64_t j = 0; j < pairs; j++)
            expand_pair((const uint8_t *)w + (g + 2 * j) * groupStride, groupStride, numBlocks, e + j * pairBytes);
        // Each pass brings its share of the next chunk's W in (where that chunk is whole), and
        // `expand_pair` reads it from L2: from memory, expanding took as long as two passes of 8 x rows
        // (C harness, m = 16). With `prefetcht0` rather than `prefetcht1` (which left an expansion
        // from L2 about twice as long as one from L1), m = 16 went 0.65-0.68 -> 0.59-0.61 ms; m = 512
        // level.
        const uint8_t *next = g + 4 * chunkPairs <= g1 ? (const uint8_t *)w + (g + 2 * chunkPairs) * groupStride : NULL;
        const int passes = (int)(m / 4 + m % 4);
        int64_t i = 0;
        int pass = 0;
        for (; i + 4 <= m; i += 4)
            expanded_pass(q, d, k, e, pairs, pairBytes, g, i, bias, out, ldo, 4, next, pass++, passes);
        for (; i < m; i++) expanded_pass(q, d, k, e, pairs, pairBytes, g, i, bias, out, ldo, 1, next, pass++, passes);
    }
    free(e);
    return 1;
}

PG_AVX2 void pg_q6_Kx8_rows_avx2(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo) {
    interleaved_rows(q, d, s, m, k, w, k / PG_QK_BLOCK * KX6_BYTES, 8, g0, g1, bias, out, ldo, q6_Kx8_tile, NULL, 4);
}

PG_VNNI void pg_q6_Kx8_rows_vnni(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                                 int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo) {
    if (m >= Q6_EXPAND_MIN_ROWS && g1 - g0 >= 2 && expanded_rows(q, d, m, k, w, g0, g1, bias, out, ldo)) {
        if ((g1 - g0) % 2 == 0) return;
        g0 = g1 - 1;  // the odd group left over
    }
    interleaved_rows(q, d, s, m, k, w, k / PG_QK_BLOCK * KX6_BYTES, 8, g0, g1, bias, out, ldo, q6_Kx8_tile_vnni,
                     q6_Kx8_pair_vnni, 8);
}
