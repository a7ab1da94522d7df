// bf16 weights against f32 activations on AMX (`tdpbf16ps`; opt-in with amx.c's int8 tiles,
// `pg_has_amx`). The tiles multiply bf16 by bf16, and x rounded to bf16 alone is 0.3-0.6 %
// off the reference logits (docs/benchmarks.md), so x goes in as three bf16 parts: hi =
// bf16(x), mid = bf16(x - hi), lo = bf16(x - hi - mid), which add up to x to about 2^-26
// (two parts, 2^-18, left the kernel tests' sums 2.4e-5 off). Each product of a part with a
// bf16 weight is exact, and the tile sums in f32, so the result is an f32 product's; three
// products per weight still leave the tile unit well ahead of 512-bit FMAs.
//
// W is tile A as it lies in memory (16 W rows, 32 weights each: 64 bytes per row); x is tile B,
// packed per thread into pairs of K per x row (`pack_x`). C is then W rows by x rows.
#include "CKernels.h"
#include "kernels_internal.h"

#include <stdlib.h>

enum {
    TILE = 16,   // x rows and W rows per tile
    CHUNK = 32,  // K per tile product
    PARTS = 3,
    /// One packed part of x for a tile and chunk: 16 rows (K pairs) x 16 x rows x 2 bf16.
    PART_BYTES = TILE * TILE * 4,
};

/// f32 to bf16, rounded to nearest even (no NaNs here).
static inline uint16_t bf16_round(float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    return (uint16_t)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
}

/// x rows [i0, i0 + rows) (a multiple of 16), every chunk of K, as tile B parts: for tile t and
/// chunk c, parts hi, mid and lo, each row p holding K pair p of each of the 16 x rows.
static void pack_x(const float *x, int64_t k, int64_t i0, int64_t rows, uint16_t *packed) {
    const int64_t numChunks = k / CHUNK;
    for (int64_t i = 0; i < rows; i++) {
        const float *row = x + (i0 + i) * k;
        for (int64_t c = 0; c < numChunks; c++) {
            uint16_t *part = packed + (i / TILE * numChunks + c) * PARTS * (PART_BYTES / 2) + (i % TILE) * 2;
            for (int j = 0; j < CHUNK; j++) {
                float v = row[c * CHUNK + j];
                for (int p = 0; p < PARTS; p++) {
                    const uint16_t h = bf16_round(v);
                    part[p * (PART_BYTES / 2) + (j / 2) * TILE * 2 + j % 2] = h;
                    v -= bf16_to_float(h);
                }
            }
        }
    }
}

/// Tiles 0-3: the sums of W rows [r, r + 16) and [r + 16, r + 32) (tiles 4, 5) with two x
/// tiles (6, 7: one part of each at a time): four accumulators, each part another 32 of K.
PG_INLINE PG_AMX void configure_tiles(void) {
    pg_amx_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) config.rows[t] = TILE, config.colsb[t] = 64;
    _tile_loadconfig(&config);
}

/// out[i + a][r + b] = bias + sum, for the tile's W rows b < 32 and x rows a < 16.
PG_INLINE void store_sums(const float *sums0, const float *sums1, int64_t r, int64_t i, const float *bias,
                          float *out, int64_t ldo) {
    for (int a = 0; a < TILE; a++)
        for (int b = 0; b < 2 * TILE; b++)
            out[(i + a) * ldo + r + b] = (bias ? bias[r + b] : 0.0f) + (b < TILE ? sums0 : sums1)[(b % TILE) * TILE + a];
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

PG_AMX void pg_bf16_rows_amx(const float *x, int64_t m, int64_t k, const void *w, int64_t r0, int64_t r1,
                             const float *bias, float *out, int64_t ldo, pg_linear_rows_fn rest) {
    const int64_t m16 = m / TILE * TILE, rAMX = r0 + (r1 - r0) / (2 * TILE) * (2 * TILE);
    if (m16 > 0 && rAMX > r0) {
        // x in blocks of up to 1 MiB packed (L2), each against every W row pair of this range.
        int64_t block = (1 << 20) / (k * 2 * PARTS) / (2 * TILE) * (2 * TILE);
        block = block < 2 * TILE ? 2 * TILE : block > m16 ? m16 : block;
        const int64_t tileBytes = k / CHUNK * PARTS * PART_BYTES;
        uint8_t *packed = aligned_alloc(64, (size_t)(block / TILE * tileBytes));
        configure_tiles();
        for (int64_t i0 = 0; i0 < m16; i0 += block) {
            const int64_t tiles = (i0 + block < m16 ? block : m16 - i0) / TILE;
            pack_x(x, k, i0, tiles * TILE, (uint16_t *)packed);
            for (int64_t r = r0; r < rAMX; r += 2 * TILE)
                for (int64_t t = 0; t < tiles; t += 2)
                    tile_block(w, k, r, packed + t * tileBytes, i0 + t * TILE, t + 1 < tiles, bias, out, ldo);
        }
        _tile_release();
        free(packed);
        if (rAMX < r1) rest(x, m16, k, w, rAMX, r1, bias, out, ldo);
    }
    const int64_t from = m16 > 0 && rAMX > r0 ? m16 : 0;
    if (from < m) rest(x + from * k, m - from, k, w, r0, r1, bias, out + from * ldo, ldo);
}
