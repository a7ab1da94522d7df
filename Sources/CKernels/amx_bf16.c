// bf16 weights against f32 activations on AMX (`tdpbf16ps`; opt-in with amx.c's int8 tiles,
// `pg_has_amx`). The tiles multiply bf16 by bf16, and x rounded to bf16 alone is 0.3-0.6 %
// off the reference logits (docs/benchmarks.md), so x goes in as three bf16 parts: hi =
// bf16(x), mid = bf16(x - hi), lo = bf16(x - hi - mid), which add up to x to about 2^-26
// (two parts, 2^-18, left the kernel tests' sums 2.4e-5 off). Each product of a part with a
// bf16 weight is exact, and the tile sums in f32, so the result is an f32 product's; three
// products per weight still leave the tile unit well ahead of 512-bit FMAs.
//
// W is tile A as it lies in memory (16 W rows, 32 weights each: 64 bytes per row); x is tile B,
// packed once per call into pairs of K per x row (`pg_pack_bf16_parts`, shared by the tasks).
// C is then W rows by x rows.
#include "CKernels.h"
#include "kernels_internal.h"

enum {
    TILE = 16,   // x rows and W rows per tile
    CHUNK = 32,  // K per tile product
    PARTS = 3,
    /// One packed part of x for a tile and chunk: 16 rows (K pairs) x 16 x rows x 2 bf16.
    PART_BYTES = TILE * TILE * 4,
};

int64_t pg_bf16_parts_bytes(int64_t m, int64_t k) {
    return m >= TILE && k % CHUNK == 0 && pg_has_amx() ? m / TILE * (k / CHUNK) * PARTS * PART_BYTES : 0;
}

/// 8 f32 rounded to bf16 (nearest even; no NaNs here), as f32 bit patterns.
PG_INLINE PG_AVX2 __m256i bf16_round8(__m256 v) {
    const __m256i bits = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7FFF)), lsb);
    return _mm256_and_si256(rounded, _mm256_set1_epi32((int)0xFFFF0000u));
}

/// The bf16 halves of 16 such patterns (a: values 0-7, b: 8-15) as 8 pairs, value 2q low in lane q.
PG_INLINE PG_AVX2 __m256i bf16_pairs(__m256i a, __m256i b) {
    const __m256i packed = _mm256_packus_epi32(_mm256_srli_epi32(a, 16), _mm256_srli_epi32(b, 16));
    return _mm256_permute4x64_epi64(packed, 0xD8);  // packus interleaves the 128-bit halves
}

/// dst[c * ld + r] = src[r * 16 + c] for an 8 x 8 block of 32-bit values.
PG_INLINE PG_AVX2 void transpose8(const uint32_t *src, uint32_t *dst, int64_t ld) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps((const float *)(src + 16 * i));
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps((float *)(dst + i * ld), _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
        _mm256_storeu_ps((float *)(dst + (i + 4) * ld), _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
}

/// x tiles [t0, t1) (rows 16 t ..< 16 t + 16) as tile B parts: for tile t and chunk c, parts hi,
/// mid and lo, each row p holding K pair p of each of the 16 x rows (bf16 2p low): a part's
/// pairs row by row, then transposed.
PG_AVX2 void pg_pack_bf16_parts(const float *x, int64_t k, int64_t t0, int64_t t1, void *parts) {
    const int64_t numChunks = k / CHUNK;
    uint32_t *out = (uint32_t *)parts + t0 * numChunks * PARTS * TILE * TILE;
    _Alignas(32) uint32_t pairs[PARTS][TILE][TILE];  // part, x row, pair
    for (int64_t t = t0; t < t1; t++)
        for (int64_t c = 0; c < numChunks; c++, out += PARTS * TILE * TILE) {
            for (int a = 0; a < TILE; a++) {
                __m256 v[4];
                for (int q = 0; q < 4; q++) v[q] = _mm256_loadu_ps(x + (t * TILE + a) * k + c * CHUNK + 8 * q);
                for (int p = 0; p < PARTS; p++) {
                    __m256i r[4];
                    for (int q = 0; q < 4; q++) {
                        r[q] = bf16_round8(v[q]);
                        v[q] = _mm256_sub_ps(v[q], _mm256_castsi256_ps(r[q]));
                    }
                    _mm256_store_si256((__m256i *)pairs[p][a], bf16_pairs(r[0], r[1]));
                    _mm256_store_si256((__m256i *)(pairs[p][a] + 8), bf16_pairs(r[2], r[3]));
                }
            }
            for (int p = 0; p < PARTS; p++)
                for (int a0 = 0; a0 < TILE; a0 += 8)
                    for (int j0 = 0; j0 < TILE; j0 += 8)
                        transpose8(&pairs[p][a0][j0], out + p * TILE * TILE + j0 * TILE + a0, TILE);
        }
}

/// Tiles 0-3: the sums of W rows [r, r + 16) and [r + 16, r + 32) (tiles 4, 5) with two x
/// tiles (6, 7: one part of each at a time): four accumulators, each part another 32 of K.
PG_INLINE PG_AMX void configure_tiles(void) {
    const uint8_t rows[8] = {TILE, TILE, TILE, TILE, TILE, TILE, TILE, TILE};
    const uint16_t colsb[8] = {64, 64, 64, 64, 64, 64, 64, 64};
    load_tile_config(8, rows, colsb);
}

/// out[i + a][r + b] = bias + sum, for the tile's W rows b < 32 and x rows a < 16.
PG_INLINE void store_sums(const float *sums0, const float *sums1, int64_t r, int64_t i, const float *bias,
                          float *out, int64_t ldo) {
    for (int a = 0; a < TILE; a++)
        for (int b = 0; b < 2 * TILE; b++)
            out[(i + a) * ldo + r + b] =
                (bias ? bias[r + b] : 0.0f) + (b < TILE ? sums0 : sums1)[(b % TILE) * TILE + a];
}

/// W rows [r, r + 32) against the packed x tiles at `xt` (two, or one where `two` is 0),
/// written to x rows [i, i + 16 (+ 16)).
PG_INLINE PG_AMX void tile_block(const uint16_t *w, int64_t k, int64_t r, const uint8_t *xt, int64_t i, int two,
                                 const float *bias, float *out, int64_t ldo) {
    const int64_t numChunks = k / CHUNK, tileBytes = numChunks * PARTS * PART_BYTES;
    _tile_zero(0);
    _tile_zero(2);
    if (two) {
        _tile_zero(1);
        _tile_zero(3);
    }
    for (int64_t c = 0; c < numChunks; c++) {
        _tile_loadd(4, w + r * k + c * CHUNK, k * 2);
        _tile_loadd(5, w + (r + TILE) * k + c * CHUNK, k * 2);
        for (int p = 0; p < PARTS; p++) {
            const uint8_t *part = xt + (c * PARTS + p) * PART_BYTES;
            _tile_loadd(6, part, 64);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(2, 5, 6);
            if (two) {
                _tile_loadd(7, part + tileBytes, 64);
                _tile_dpbf16ps(1, 4, 7);
                _tile_dpbf16ps(3, 5, 7);
            }
        }
    }
    _Alignas(64) float sums[4][TILE * TILE];
    _tile_stored(0, sums[0], 64);
    _tile_stored(2, sums[2], 64);
    store_sums(sums[0], sums[2], r, i, bias, out, ldo);
    if (two) {
        _tile_stored(1, sums[1], 64);
        _tile_stored(3, sums[3], 64);
        store_sums(sums[1], sums[3], r, i + TILE, bias, out, ldo);
    }
}

PG_AMX void pg_linear_rows_bf16_parts(const void *parts, const float *x, int64_t m, int64_t k, const void *w,
                                      int64_t r0, int64_t r1, const float *bias, float *out, int64_t ldo) {
    const int64_t m16 = m / TILE * TILE, rAMX = r0 + (r1 - r0) / (2 * TILE) * (2 * TILE);
    if (rAMX > r0) {
        // x tiles in blocks of up to 1 MiB (L2), each against every W row pair of this range.
        const int64_t tileBytes = k / CHUNK * PARTS * PART_BYTES;
        int64_t block = (1 << 20) / tileBytes / 2 * 2;
        block = block < 2 ? 2 : block;
        configure_tiles();
        for (int64_t t0 = 0; t0 < m16 / TILE; t0 += block) {
            const int64_t t1 = t0 + block < m16 / TILE ? t0 + block : m16 / TILE;
            for (int64_t r = r0; r < rAMX; r += 2 * TILE)
                for (int64_t t = t0; t < t1; t += 2)
                    tile_block(w, k, r, (const uint8_t *)parts + t * tileBytes, t * TILE, t + 1 < t1, bias, out, ldo);
        }
        _tile_release();
    }
    if (rAMX < r1) pg_linear_rows(x, m16, k, w, PG_DTYPE_BF16, rAMX, r1, bias, out, ldo);
    if (m16 < m) pg_linear_rows(x + m16 * k, m - m16, k, w, PG_DTYPE_BF16, r0, r1, bias, out + m16 * ldo, ldo);
}
