// Element access to llama.cpp's k-quant super-blocks (Q4_K, Q6_K) for linear.c:
// scalar decoding of one weight and AVX2 decoding of 8 consecutive weights of a
// row. Layouts: PG_DTYPE_Q4_K / PG_DTYPE_Q6_K in CKernels.h, Swift `DType`.
#ifndef PANGU_KQUANTS_H
#define PANGU_KQUANTS_H

#include "kernels_internal.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/// k-quant super-blocks: 256 weights; Q4_K 144 bytes (scales at 4, nibbles at 16),
/// Q6_K 210 bytes (ql at 0, qh at 128, int8 scales at 192, f16 d at 208).
enum { PG_QK_BLOCK = 256, PG_Q4K_BYTES = 144, PG_Q6K_BYTES = 210 };

/// Q4_Kx8 (q4_Kx8.c): bytes per group of 8 rows and super-block, and where the unpacked
/// sub-block scales, mins and the nibble chunks start.
enum { PG_Q4KX8_BYTES = 8 * 148, PG_Q4KX8_SCALES = 32, PG_Q4KX8_MINS = 96, PG_Q4KX8_QS = 160 };

/// Sub-block `s` (< 8) of a Q4_K super-block: its 6-bit scale and min from the 12
/// packed bytes (s < 4: low 6 bits of bytes s, s + 4; else nibbles of byte s + 4
/// below the top 2 bits of bytes s - 4 (scale) and s (min)).
PG_INLINE void q4_K_scale_min(const uint8_t *packed, int s, int *scale, int *min) {
    if (s < 4) {
        *scale = packed[s] & 63;
        *min = packed[s + 4] & 63;
    } else {
        *scale = (packed[s + 4] & 0x0F) | ((packed[s - 4] >> 6) << 4);
        *min = (packed[s + 4] >> 4) | ((packed[s] >> 6) << 4);
    }
}

/// Where weight `index` of Q4_K data lies: its super-block, its nibble byte and
/// half (`*high`), and its sub-block's scale d sc and min dmin mn.
static inline const uint8_t *q4_K_locate(const void *w, int64_t index, int *high, float *subScale, float *subMin) {
    const uint8_t *block = (const uint8_t *)w + (index / PG_QK_BLOCK) * PG_Q4K_BYTES;
    int i = (int)(index % PG_QK_BLOCK), chunk = i / 64, t = i % 64;
    uint16_t d, dmin;
    memcpy(&d, block, 2);
    memcpy(&dmin, block + 2, 2);
    int scale, min;
    q4_K_scale_min(block + 4, 2 * chunk + t / 32, &scale, &min);
    *high = t >= 32;
    *subScale = f16_to_float(d) * (float)scale;
    *subMin = f16_to_float(dmin) * (float)min;
    return block + 16 + 32 * chunk + t % 32;
}

static inline float q4_K_element(const void *w, int64_t index) {
    int high;
    float subScale, subMin;
    uint8_t byte = *q4_K_locate(w, index, &high, &subScale, &subMin);
    return subScale * (float)(high ? byte >> 4 : byte & 0x0F) - subMin;
}

static inline float q6_K_element(const void *w, int64_t index) {
    const uint8_t *block = (const uint8_t *)w + (index / PG_QK_BLOCK) * PG_Q6K_BYTES;
    int i = (int)(index % PG_QK_BLOCK), h = i / 128, g = i % 128 / 32, l = i % 32;
    uint8_t lowByte = block[64 * h + 32 * (g & 1) + l];
    int low = g < 2 ? (lowByte & 0x0F) : (lowByte >> 4);
    int high = (block[128 + 32 * h + l] >> (2 * g)) & 3;
    int8_t scale = (int8_t)block[192 + 8 * h + 2 * g + l / 16];
    uint16_t d;
    memcpy(&d, block + 208, 2);
    float subScale = f16_to_float(d) * (float)scale;
    return subScale * (float)((low | high << 4) - 32);
}

/// Q4_K weights index ..< index + 8 (index a multiple of 8, so one sub-block of 32):
/// 8 nibbles (low or high halves of 8 bytes) times the sub-block's scale, minus its min.
PG_INLINE PG_AVX2 __m256 load_q4_K_8(const void *w, int64_t index) {
    int high;
    float scale, min;
    __m128i q = _mm_loadl_epi64((const __m128i *)q4_K_locate(w, index, &high, &scale, &min));
    if (high) q = _mm_srli_epi16(q, 4);
    q = _mm_and_si128(q, _mm_set1_epi8(0x0F));
    return _mm256_sub_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q)), _mm256_set1_ps(scale)),
                         _mm256_set1_ps(min));
}

/// Q6_K weights index ..< index + 8 (index a multiple of 8, so one scale group of 16):
/// 4 low bits from `ql`, 2 high bits from `qh`, minus 32, times the group's scale.
PG_INLINE PG_AVX2 __m256 load_q6_K_8(const void *w, int64_t index) {
    const uint8_t *block = (const uint8_t *)w + (index / PG_QK_BLOCK) * PG_Q6K_BYTES;
    int i = (int)(index % PG_QK_BLOCK), h = i / 128, g = i % 128 / 32, l = i % 32;
    __m128i low = _mm_loadl_epi64((const __m128i *)(block + 64 * h + 32 * (g & 1) + l));
    if (g >= 2) low = _mm_srli_epi16(low, 4);
    low = _mm_and_si128(low, _mm_set1_epi8(0x0F));
    __m128i high = _mm_loadl_epi64((const __m128i *)(block + 128 + 32 * h + l));
    high = _mm_and_si128(_mm_srl_epi16(high, _mm_cvtsi32_si128(2 * g)), _mm_set1_epi8(3));
    __m128i q = _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi16(high, 4)), _mm_set1_epi8(32));
    uint16_t d;
    memcpy(&d, block + 208, 2);
    __m256 subScale = _mm256_set1_ps(_cvtsh_ss(d) * (float)(int8_t)block[192 + 8 * h + 2 * g + l / 16]);
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), subScale);
}

#endif
