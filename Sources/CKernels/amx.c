// Q8_0x16 / Q4_0x16 / Q4_Kx8 prefill on AMX (Intel Xeon since Sapphire Rapids): one `tdpbssd`
// multiplies 16 x rows by 16 W rows over a block of 32 (8192 int8 products, signed by signed, so
// neither side needs an offset; Q4_K's unsigned nibbles by `tdpbsud`), in the tile unit beside
// the vector ports, which only scale each block's 16 x 16 sums into f32 (convert, multiply by
// d_w, FMA by d_x; for Q4_K's sub-blocks d_w is d sc, and s_x dmin mn comes off).
//
// Opt-in (`PANGU_KERNEL_ISA=amx`) until measured on such a CPU: `pg_has_amx`. Its tests run on
// any AVX2 CPU in the emulated build (emulated_isa.h). bf16 weights: amx_bf16.c.
#include "CKernels.h"
#include "kernels_internal.h"
#include "kquants.h"

#include <stdlib.h>
#ifndef PG_EMULATE_ISA
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/// Whether the CPU has AMX tiles with int8 and bf16 products and the OS lets this process use them
/// (Linux asks each process to request the tile state once: ARCH_REQ_XCOMP_PERM).
static int amx_available(void) {
#ifdef PG_EMULATE_ISA
    return 1;
#else
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned features = 1u << 22 | 1u << 24 | 1u << 25;  // AMX-BF16, AMX-TILE, AMX-INT8
    if ((edx & features) != features) return 0;
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#endif
}

int pg_has_amx(void) {
    static int cached = -1;
    if (cached < 0) {
        const char *isa = getenv("PANGU_KERNEL_ISA");
        cached = isa && strcmp(isa, "amx") == 0 && pg_has_avx512_vnni() && amx_available() ? 1 : 0;
    }
    return cached;
}

int pg_isa_emulated(void) {
#ifdef PG_EMULATE_ISA
    return 1;
#else
    return 0;
#endif
}

/// x rows per tile, and W rows per tile (a pair of groups of 8).
enum { AMX_M = 16, AMX_N = 16 };

/// A pair's unit of 32 columns (a Q8_0 / Q4_0 block, a Q4_K sub-block) in the tiles' layout:
/// 8 rows of 64 bytes, row t holding weights 4t ..< 4t + 4 of each of the 16 W rows (the B
/// operand of `tdpbssd` / `tdpbsud`), then the 16 rows' scale d_w, then (Q4_K) their min.
enum { PANEL_WEIGHTS = 8 * 64, PANEL_MINS = PANEL_WEIGHTS + AMX_N * 4, PANEL_UNIT = PANEL_MINS + AMX_N * 4 };

/// Tiles 0-1: two units' 16 x 16 s32 sums; 2-3: their 16 x rows (32 bytes each);
/// 4-5: their panel units. Two units are in flight, so one's sums are scaled while the
/// tile unit multiplies the other.
PG_INLINE PG_AMX void configure_tiles(void) {
    const uint8_t rows[6] = {AMX_M, AMX_M, AMX_M, AMX_M, PG_Q8_BLOCK / 4, PG_Q8_BLOCK / 4};
    const uint16_t colsb[6] = {AMX_N * 4, AMX_N * 4, PG_Q8_BLOCK, PG_Q8_BLOCK, AMX_N * 4, AMX_N * 4};
    load_tile_config(6, rows, colsb);
}

/// One block of a Q8_0x16 group (16 rows, the pair `p`) into `panel`: chunk t is row t already
/// (4 quants of each of 16 rows).
PG_INLINE PG_AMX void panel_q8_0(const uint8_t *p, uint8_t *panel) {
    memcpy(panel, p + 32, 8 * 64);
    _mm512_storeu_ps(panel + PANEL_WEIGHTS, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)));
}

/// One block of a Q4_0x16 group (16 rows, the pair `p`) into `panel`: chunk c's low nibbles are
/// weights 4c ..< 4c + 4, its high nibbles weights 16 + 4c ..< 20 + 4c (rows c and c + 4), less
/// the offset of 8.
PG_INLINE PG_AMX void panel_q4_0(const uint8_t *p, uint8_t *panel) {
    const __m512i low = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(8);
    for (int c = 0; c < 4; c++) {
        const __m512i packed = _mm512_loadu_si512(p + 32 + 64 * c);
        _mm512_storeu_si512(panel + 64 * c, _mm512_sub_epi8(_mm512_and_si512(packed, low), eight));
        _mm512_storeu_si512(panel + 64 * (c + 4),
                            _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(packed, 4), low), eight));
    }
    _mm512_storeu_ps(panel + PANEL_WEIGHTS, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)));
}

/// One pair's super-block of Q4_Kx8 into 8 panel units: sub-block 2c + h is nibble chunks
/// (c, t), low (h = 0) or high, unsigned; its scale d sc, its min dmin mn.
PG_INLINE PG_AMX void panel_q4_K(const uint8_t *p, int64_t groupStride, uint8_t *panel) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    for (int sub = 0; sub < 8; sub++, panel += PANEL_UNIT)
        for (int h = 0; h < 2; h++) {
            const uint8_t *group = p + h * groupStride;
            for (int t = 0; t < 8; t++) {
                const __m256i packed =
                    _mm256_loadu_si256((const __m256i *)(group + PG_Q4KX8_QS + 32 * (8 * (sub / 2) + t)));
                _mm256_storeu_si256((__m256i *)(panel + 64 * t + 32 * h),
                                    _mm256_and_si256(_mm256_srli_epi16(packed, 4 * (sub % 2)), low));
            }
            float *scale = (float *)(panel + PANEL_WEIGHTS) + 8 * h, *min = (float *)(panel + PANEL_MINS) + 8 * h;
            for (int r = 0; r < 8; r++) {
                uint16_t dw, dmin;
                memcpy(&dw, group + 2 * r, 2);
                memcpy(&dmin, group + 16 + 2 * r, 2);
                scale[r] = f16_to_float(dw) * group[PG_Q4KX8_SCALES + 8 * sub + r];
                min[r] = f16_to_float(dmin) * group[PG_Q4KX8_MINS + 8 * sub + r];
            }
        }
}

/// Pair `g` (groups g and g + 1) into `panel`, every unit of 32 columns.
PG_INLINE PG_AMX void fill_panel(const uint8_t *w, int64_t groupStride, int64_t numUnits, int64_t g, int dtype,
                                 uint8_t *panel) {
    const uint8_t *p = w + g * groupStride;
    if (dtype == PG_DTYPE_Q4_KX8) {
        for (int64_t b = 0; b < numUnits / 8; b++)
            panel_q4_K(p + b * PG_Q4KX8_BYTES, groupStride, panel + 8 * b * PANEL_UNIT);
        return;
    }
    const int64_t blockBytes = groupStride / numUnits;  // of one group of 8 rows
    for (int64_t u = 0; u < numUnits; u++, panel += PANEL_UNIT) {
        if (dtype == PG_DTYPE_Q8_0X16) panel_q8_0(p + 2 * u * blockBytes, panel);
        else panel_q4_0(p + 2 * u * blockBytes, panel);
    }
}

/// acc[a] += d_x d_w sums[a] (less s_x min, `kquant`) for the 16 x rows of a tile and unit u.
PG_INLINE PG_AMX void scale_sums(__m512 *acc, const int32_t *sums, const float *d, const float *s, int64_t i,
                                 int64_t u, int64_t numUnits, const uint8_t *unit, int kquant) {
    const __m512 dw = _mm512_loadu_ps(unit + PANEL_WEIGHTS), min = _mm512_loadu_ps(unit + PANEL_MINS);
    for (int a = 0; a < AMX_M; a++) {
        const int64_t at = scale_index(i + a, u, numUnits);
        const __m512 dot = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_loadu_si512(sums + a * AMX_N)), dw);
        acc[a] = _mm512_fmadd_ps(dot, _mm512_set1_ps(d[at]), acc[a]);
        if (kquant) acc[a] = _mm512_fnmadd_ps(min, _mm512_set1_ps(s[at]), acc[a]);
    }
}

/// x rows [i, i + 16) against one pair's panel: out[(i + a) * ldo .. + 16] += the dot products.
/// Q4_K's nibbles are unsigned (`tdpbsud`), the others' weights signed (`tdpbssd`).
PG_INLINE PG_AMX void amx_tile(const int8_t *q, const float *d, const float *s, int64_t k, const uint8_t *panel,
                               int64_t i, float *out, int64_t ldo, const int kquant) {
    const int64_t numUnits = k / PG_Q8_BLOCK;
    _Alignas(64) int32_t sums[2][AMX_M * AMX_N];
    __m512 acc[AMX_M];
    for (int a = 0; a < AMX_M; a++) acc[a] = _mm512_setzero_ps();
    const int8_t *x = q + i * k;
    for (int64_t u = 0; u < numUnits; u += 2) {
        const uint8_t *unit = panel + u * PANEL_UNIT;
        const int second = u + 1 < numUnits;
        _tile_zero(0);
        _tile_loadd(2, x + u * PG_Q8_BLOCK, k);
        _tile_loadd(4, unit, 64);
        if (kquant) _tile_dpbsud(0, 2, 4);
        else _tile_dpbssd(0, 2, 4);
        if (second) {
            _tile_zero(1);
            _tile_loadd(3, x + (u + 1) * PG_Q8_BLOCK, k);
            _tile_loadd(5, unit + PANEL_UNIT, 64);
            if (kquant) _tile_dpbsud(1, 3, 5);
            else _tile_dpbssd(1, 3, 5);
        }
        _tile_stored(0, sums[0], AMX_N * 4);
        scale_sums(acc, sums[0], d, s, i, u, numUnits, unit, kquant);
        if (second) {
            _tile_stored(1, sums[1], AMX_N * 4);
            scale_sums(acc, sums[1], d, s, i, u + 1, numUnits, unit + PANEL_UNIT, kquant);
        }
    }
    add_tile16(out + i * ldo, ldo, acc, AMX_M);
}

/// Pairs of groups per panel chunk: about 512 KiB of panels (L2 holds 2 MiB per core on AMX
/// Xeons), so each x tile, read from L3 at k = 6144, meets 4 pairs or more.
static int64_t pairs_per_chunk(int64_t numUnits) {
    const int64_t pairs = 512 * 1024 / (numUnits * PANEL_UNIT);
    return pairs > 0 ? pairs : 1;
}

/// `pg_q8_0x16_rows_vnni` / `pg_q4_0x16_rows_vnni` with [g0, g1) counted in groups of 8 rows, as
/// this file counts them.
static void q8_0x16_rows_in_8s(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                               int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo) {
    pg_q8_0x16_rows_vnni(q, d, s, m, k, w, g0 / 2, g1 / 2, bias, out, ldo);
}

static void q4_0x16_rows_in_8s(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k, const void *w,
                               int64_t g0, int64_t g1, const float *bias, float *out, int64_t ldo) {
    pg_q4_0x16_rows_vnni(q, d, s, m, k, w, g0 / 2, g1 / 2, bias, out, ldo);
}

PG_AMX void pg_interleaved_rows_amx(const int8_t *q, const float *d, const float *s, int64_t m, int64_t k,
                                    const void *w, int dtype, int64_t g0, int64_t g1, const float *bias, float *out,
                                    int64_t ldo) {
    const int64_t numUnits = k / PG_Q8_BLOCK, m16 = m / AMX_M * AMX_M, pairs = (g1 - g0) / 2;
    const int kquant = dtype == PG_DTYPE_Q4_KX8;
    const int64_t groupStride = kquant                      ? k / PG_QK_BLOCK * PG_Q4KX8_BYTES
                                : dtype == PG_DTYPE_Q8_0X16 ? numUnits * 8 * PG_Q8_BYTES
                                                           : numUnits * 8 * PG_Q4_BYTES;
    void (*rest)(const int8_t *, const float *, const float *, int64_t, int64_t, const void *, int64_t, int64_t,
                 const float *, float *, int64_t) = kquant                      ? pg_q4_Kx8_rows_vnni
                                     : dtype == PG_DTYPE_Q8_0X16 ? q8_0x16_rows_in_8s
                                                                 : q4_0x16_rows_in_8s;
    const int64_t chunk = pairs_per_chunk(numUnits), panelBytes = numUnits * PANEL_UNIT;
    uint8_t *panels = m16 > 0 && pairs > 0 ? aligned_alloc(64, (size_t)(chunk * panelBytes)) : NULL;
    const int tiles = panels != NULL;
    if (tiles) {
        configure_tiles();
        for (int64_t p0 = 0; p0 < pairs; p0 += chunk) {
            const int64_t p1 = p0 + chunk < pairs ? p0 + chunk : pairs;
            for (int64_t p = p0; p < p1; p++)
                fill_panel(w, groupStride, numUnits, g0 + 2 * p, dtype, panels + (p - p0) * panelBytes);
            for (int64_t i = 0; i < m16; i += AMX_M)
                for (int64_t p = p0; p < p1; p++) {
                    const uint8_t *panel = panels + (p - p0) * panelBytes;
                    float *o = out + (g0 + 2 * p) * 8;
                    if (kquant) amx_tile(q, d, s, k, panel, i, o, ldo, 1);
                    else amx_tile(q, d, s, k, panel, i, o, ldo, 0);
                }
        }
        _tile_release();
        free(panels);
        if (g0 + 2 * pairs < g1) rest(q, d, s, m16, k, w, g0 + 2 * pairs, g1, bias, out, ldo);  // an odd last group
    }
    // The rows past the tiles (m16 is a multiple of 8: a tile of 8 rows of scales starts there).
    const int64_t from = tiles ? m16 : 0;
    if (from < m)
        rest(q + from * k, d + from * numUnits, s + from * numUnits, m - from, k, w, g0, g1, bias, out + from * ldo,
             ldo);
}
