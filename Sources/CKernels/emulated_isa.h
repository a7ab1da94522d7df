// Test builds only (`PANGU_EMULATE_ISA=1 swift build`, see Package.swift): the AVX-512 and AMX
// intrinsics the kernels use, emulated with SIMDe (Debian's libsimde-dev) and plain C, so their
// AVX-512 VNNI and AMX paths run, and are tested, on any CPU with AVX2. The target is then built
// with -mavx2 -mfma -mf16c, SIMDe uses AVX2 natively, and PG_AVX512 / PG_VNNI / PG_AMX compile
// as AVX2 code (kernels_internal.h). An intrinsic missing from the lists below fails to compile
// there ("requires target feature"), so a new one is added here, not silently run natively.
#ifndef PANGU_EMULATED_ISA_H
#define PANGU_EMULATED_ISA_H

#include <immintrin.h>
#include <simde/x86/avx512.h>
#include <stdint.h>
#include <string.h>

#define __m512 simde__m512
#define __m512i simde__m512i
#define __m512d simde__m512d

#undef _mm256_dpbusd_epi32
#define _mm256_dpbusd_epi32 simde_mm256_dpbusd_epi32
#undef _mm512_add_epi32
#define _mm512_add_epi32 simde_mm512_add_epi32
#undef _mm512_add_ps
#define _mm512_add_ps simde_mm512_add_ps
#undef _mm512_and_si512
#define _mm512_and_si512 simde_mm512_and_si512
#undef _mm512_castpd_ps
#define _mm512_castpd_ps simde_mm512_castpd_ps
#undef _mm512_castps512_ps256
#define _mm512_castps512_ps256 simde_mm512_castps512_ps256
#undef _mm512_castps_pd
#define _mm512_castps_pd simde_mm512_castps_pd
#undef _mm512_castps_si512
#define _mm512_castps_si512 simde_mm512_castps_si512
#undef _mm512_castsi256_si512
#define _mm512_castsi256_si512 simde_mm512_castsi256_si512
#undef _mm512_castsi512_ps
#define _mm512_castsi512_ps simde_mm512_castsi512_ps
#undef _mm512_ternarylogic_epi32
#define _mm512_ternarylogic_epi32 simde_mm512_ternarylogic_epi32
#undef _mm512_cmpgt_epi32_mask
#define _mm512_cmpgt_epi32_mask simde_mm512_cmpgt_epi32_mask
#undef _mm512_cvtepi8_epi16
#define _mm512_cvtepi8_epi16 simde_mm512_cvtepi8_epi16
#undef _mm512_div_ps
#define _mm512_div_ps simde_mm512_div_ps
#undef _mm512_dpbusd_epi32
#define _mm512_dpbusd_epi32 simde_mm512_dpbusd_epi32
#undef _mm512_extractf64x4_pd
#define _mm512_extractf64x4_pd simde_mm512_extractf64x4_pd
#undef _mm512_fmadd_ps
#define _mm512_fmadd_ps simde_mm512_fmadd_ps
#undef _mm512_fmsub_ps
#define _mm512_fmsub_ps simde_mm512_fmsub_ps
#undef _mm512_fnmadd_ps
#define _mm512_fnmadd_ps simde_mm512_fnmadd_ps
#undef _mm512_inserti64x4
#define _mm512_inserti64x4 simde_mm512_inserti64x4
#undef _mm512_load_ps
#define _mm512_load_ps simde_mm512_load_ps
#undef _mm512_loadu_ps
#define _mm512_loadu_ps simde_mm512_loadu_ps
#undef _mm512_loadu_si512
#define _mm512_loadu_si512 simde_mm512_loadu_si512
#undef _mm512_madd_epi16
#define _mm512_madd_epi16 simde_mm512_madd_epi16
#undef _mm512_mask_max_ps
#define _mm512_mask_max_ps simde_mm512_mask_max_ps
#undef _mm512_maskz_mov_ps
#define _mm512_maskz_mov_ps simde_mm512_maskz_mov_ps
#undef _mm512_max_ps
#define _mm512_max_ps simde_mm512_max_ps
#undef _mm512_min_ps
#define _mm512_min_ps simde_mm512_min_ps
#undef _mm512_mul_ps
#define _mm512_mul_ps simde_mm512_mul_ps
#undef _mm512_or_si512
#define _mm512_or_si512 simde_mm512_or_si512
#undef _mm512_permutex2var_epi16
#define _mm512_permutex2var_epi16 simde_mm512_permutex2var_epi16
#undef _mm512_roundscale_ps
#define _mm512_roundscale_ps simde_mm512_roundscale_ps
#undef _mm512_scalef_ps
#define _mm512_scalef_ps simde_mm512_scalef_ps
#undef _mm512_set1_epi32
#define _mm512_set1_epi32 simde_mm512_set1_epi32
#undef _mm512_set1_epi8
#define _mm512_set1_epi8 simde_mm512_set1_epi8
#undef _mm512_set1_ps
#define _mm512_set1_ps simde_mm512_set1_ps
#undef _mm512_setzero_ps
#define _mm512_setzero_ps simde_mm512_setzero_ps
#undef _mm512_setzero_si512
#define _mm512_setzero_si512 simde_mm512_setzero_si512
#undef _mm512_shuffle_f32x4
#define _mm512_shuffle_f32x4 simde_mm512_shuffle_f32x4
#undef _mm512_slli_epi16
#define _mm512_slli_epi16 simde_mm512_slli_epi16
#undef _mm512_slli_epi32
#define _mm512_slli_epi32 simde_mm512_slli_epi32
#undef _mm512_srl_epi16
#define _mm512_srl_epi16 simde_mm512_srl_epi16
#undef _mm512_srli_epi16
#define _mm512_srli_epi16 simde_mm512_srli_epi16
#undef _mm512_srli_epi32
#define _mm512_srli_epi32 simde_mm512_srli_epi32
#undef _mm512_storeu_ps
#define _mm512_storeu_ps simde_mm512_storeu_ps
#undef _mm512_storeu_si512
#define _mm512_storeu_si512 simde_mm512_storeu_si512
#undef _mm512_sub_epi8
#define _mm512_sub_epi8 simde_mm512_sub_epi8
#undef _mm512_sub_ps
#define _mm512_sub_ps simde_mm512_sub_ps
#undef _mm512_unpackhi_pd
#define _mm512_unpackhi_pd simde_mm512_unpackhi_pd
#undef _mm512_unpackhi_ps
#define _mm512_unpackhi_ps simde_mm512_unpackhi_ps
#undef _mm512_unpacklo_pd
#define _mm512_unpacklo_pd simde_mm512_unpacklo_pd
#undef _mm512_unpacklo_ps
#define _mm512_unpacklo_ps simde_mm512_unpacklo_ps
#undef _mm512_xor_si512
#define _mm512_xor_si512 simde_mm512_xor_si512

// Not in SIMDe 0.7.4: element by element.
#define PG_EMU_LANES(type, v) \
    type v##_[16];            \
    memcpy(v##_, &v, 64)

static inline __m512 pg_emu_mm512_cvtepi32_ps(__m512i a) {
    PG_EMU_LANES(int32_t, a);
    float r[16];
    for (int j = 0; j < 16; j++) r[j] = (float)a_[j];
    return simde_mm512_loadu_ps(r);
}

static inline __m512i pg_emu_mm512_cvtepu16_epi32(__m256i a) {
    uint16_t in[16];
    int32_t r[16];
    memcpy(in, &a, 32);
    for (int j = 0; j < 16; j++) r[j] = in[j];
    return simde_mm512_loadu_si512(r);
}

static inline __m512i pg_emu_mm512_cvtepu8_epi32(__m128i a) {
    uint8_t in[16];
    int32_t r[16];
    memcpy(in, &a, 16);
    for (int j = 0; j < 16; j++) r[j] = in[j];
    return simde_mm512_loadu_si512(r);
}

static inline __m512 pg_emu_mm512_cvtph_ps(__m256i a) {
    return simde_mm512_insertf32x8(simde_mm512_castps256_ps512(_mm256_cvtph_ps(_mm256_castsi256_si128(a))),
                                   _mm256_cvtph_ps(_mm256_extracti128_si256(a, 1)), 1);
}

static inline __m512 pg_emu_mm512_maskz_loadu_ps(__mmask16 mask, const void *p) {
    float r[16];
    for (int j = 0; j < 16; j++) r[j] = (mask >> j) & 1 ? ((const float *)p)[j] : 0.0f;
    return simde_mm512_loadu_ps(r);
}

static inline void pg_emu_mm512_mask_storeu_ps(void *p, __mmask16 mask, __m512 a) {
    PG_EMU_LANES(float, a);
    for (int j = 0; j < 16; j++)
        if ((mask >> j) & 1) ((float *)p)[j] = a_[j];
}

static inline __m256 pg_emu_mm256_maskz_loadu_ps(__mmask8 mask, const void *p) {
    float r[8];
    for (int j = 0; j < 8; j++) r[j] = (mask >> j) & 1 ? ((const float *)p)[j] : 0.0f;
    return _mm256_loadu_ps(r);
}

static inline __m256i pg_emu_mm256_maskz_loadu_epi16(__mmask16 mask, const void *p) {
    uint16_t r[16];
    for (int j = 0; j < 16; j++) r[j] = (mask >> j) & 1 ? ((const uint16_t *)p)[j] : 0;
    return _mm256_loadu_si256((const __m256i *)r);
}

static inline float pg_emu_mm512_reduce_add_ps(__m512 a) {
    PG_EMU_LANES(float, a);
    // The order of clang's sequence (halves, then quarters ...), so sums round as there.
    for (int width = 8; width >= 1; width /= 2)
        for (int j = 0; j < width; j++) a_[j] += a_[j + width];
    return a_[0];
}

static inline int pg_emu_mm512_reduce_add_epi32(__m512i a) {
    PG_EMU_LANES(int32_t, a);
    int sum = 0;
    for (int j = 0; j < 16; j++) sum += a_[j];
    return sum;
}

#undef _mm512_cvtepi32_ps
/// `vdpbf16ps` on words of 2 bf16: each lane adds its two products (exact in f32) in order.
static inline __m512 pg_emu_dpbf16_ps(__m512 acc, __m512i a, __m512i b) {
    PG_EMU_LANES(float, acc);
    uint16_t a_[32], b_[32];
    memcpy(a_, &a, 64);
    memcpy(b_, &b, 64);
    for (int j = 0; j < 32; j++) {
        const uint32_t wa = (uint32_t)a_[j] << 16, wb = (uint32_t)b_[j] << 16;
        float fa, fb;
        memcpy(&fa, &wa, 4);
        memcpy(&fb, &wb, 4);
        acc_[j / 2] += fa * fb;
    }
    return simde_mm512_loadu_ps(acc_);
}

#define _mm512_cvtepi32_ps pg_emu_mm512_cvtepi32_ps
#undef _mm512_cvtepu16_epi32
#define _mm512_cvtepu16_epi32 pg_emu_mm512_cvtepu16_epi32
#undef _mm512_cvtepu8_epi32
#define _mm512_cvtepu8_epi32 pg_emu_mm512_cvtepu8_epi32
#undef _mm512_cvtph_ps
#define _mm512_cvtph_ps pg_emu_mm512_cvtph_ps
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps pg_emu_mm512_maskz_loadu_ps
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps pg_emu_mm512_mask_storeu_ps
#undef _mm256_maskz_loadu_ps
#define _mm256_maskz_loadu_ps pg_emu_mm256_maskz_loadu_ps
#undef _mm256_maskz_loadu_epi16
#define _mm256_maskz_loadu_epi16 pg_emu_mm256_maskz_loadu_epi16
#undef _mm512_reduce_add_ps
#define _mm512_reduce_add_ps pg_emu_mm512_reduce_add_ps
#undef _mm512_reduce_add_epi32
#define _mm512_reduce_add_epi32 pg_emu_mm512_reduce_add_epi32

// ---- AMX: 8 tiles of up to 16 rows x 64 bytes, as the ISA reference defines them ----------

typedef struct {
    uint8_t palette, startRow, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} pg_emu_tile_config;

static _Thread_local struct {
    pg_emu_tile_config config;
    uint8_t data[8][16][64];
} pg_emu_amx;

static inline void pg_emu_tile_loadconfig(const void *config) {
    memcpy(&pg_emu_amx.config, config, 64);
    memset(pg_emu_amx.data, 0, sizeof pg_emu_amx.data);
}

static inline void pg_emu_tile_release(void) { memset(&pg_emu_amx, 0, sizeof pg_emu_amx); }

static inline void pg_emu_tile_zero(int t) { memset(pg_emu_amx.data[t], 0, sizeof pg_emu_amx.data[t]); }

static inline void pg_emu_tile_loadd(int t, const void *base, int64_t stride) {
    pg_emu_tile_zero(t);
    for (int r = 0; r < pg_emu_amx.config.rows[t]; r++)
        memcpy(pg_emu_amx.data[t][r], (const uint8_t *)base + r * stride, pg_emu_amx.config.colsb[t]);
}

static inline void pg_emu_tile_stored(int t, void *base, int64_t stride) {
    for (int r = 0; r < pg_emu_amx.config.rows[t]; r++)
        memcpy((uint8_t *)base + r * stride, pg_emu_amx.data[t][r], pg_emu_amx.config.colsb[t]);
}

/// C (int32) += A (signed bytes) . B (bytes, signed or not; 4-byte groups of K per column).
static inline void pg_emu_tile_dp_int8(int c, int a, int b, int unsignedB) {
    const pg_emu_tile_config *cfg = &pg_emu_amx.config;
    for (int m = 0; m < cfg->rows[c]; m++)
        for (int n = 0; n < cfg->colsb[c] / 4; n++) {
            int32_t sum;
            memcpy(&sum, pg_emu_amx.data[c][m] + 4 * n, 4);
            for (int k = 0; k < cfg->colsb[a] / 4; k++)
                for (int j = 0; j < 4; j++) {
                    const uint8_t y = pg_emu_amx.data[b][k][4 * n + j];
                    sum += (int8_t)pg_emu_amx.data[a][m][4 * k + j] * (unsignedB ? (int)y : (int)(int8_t)y);
                }
            memcpy(pg_emu_amx.data[c][m] + 4 * n, &sum, 4);
        }
}

/// C (f32) += A (bf16 pairs) . B (bf16, pairs of K per column), each product added in f32.
static inline void pg_emu_tile_dpbf16ps(int c, int a, int b) {
    const pg_emu_tile_config *cfg = &pg_emu_amx.config;
    for (int m = 0; m < cfg->rows[c]; m++)
        for (int n = 0; n < cfg->colsb[c] / 4; n++) {
            float sum;
            memcpy(&sum, pg_emu_amx.data[c][m] + 4 * n, 4);
            for (int k = 0; k < cfg->colsb[a] / 4; k++)
                for (int j = 0; j < 2; j++) {
                    uint16_t x, y;
                    memcpy(&x, pg_emu_amx.data[a][m] + 4 * k + 2 * j, 2);
                    memcpy(&y, pg_emu_amx.data[b][k] + 4 * n + 2 * j, 2);
                    const uint32_t xb = (uint32_t)x << 16, yb = (uint32_t)y << 16;
                    float xf, yf;
                    memcpy(&xf, &xb, 4);
                    memcpy(&yf, &yb, 4);
                    sum += xf * yf;
                }
            memcpy(pg_emu_amx.data[c][m] + 4 * n, &sum, 4);
        }
}

// clang's <immintrin.h> declares these as functions or macros for AMX CPUs.
#undef _tile_loadd
#undef _tile_stored
#undef _tile_zero
#undef _tile_dpbssd
#undef _tile_dpbsud
#undef _tile_dpbf16ps
#define _tile_loadconfig pg_emu_tile_loadconfig
#define _tile_release pg_emu_tile_release
#define _tile_zero pg_emu_tile_zero
#define _tile_loadd pg_emu_tile_loadd
#define _tile_stored pg_emu_tile_stored
#define _tile_dpbssd(c, a, b) pg_emu_tile_dp_int8(c, a, b, 0)
#define _tile_dpbsud(c, a, b) pg_emu_tile_dp_int8(c, a, b, 1)
#define _tile_dpbf16ps pg_emu_tile_dpbf16ps

#endif
