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

static inline float q4_K_element(const void *w, int64_t index) {
    const uint8_t *block = (const uint8_t *)w + (index / PG_QK_BLOCK) * PG_Q4K_BYTES;
    int i = (int)(index % PG_QK_BLOCK), chunk = i / 64, t = i % 64;
    uint16_t d, dmin;
    memcpy(&d, block, 2);
    memcpy(&dmin, block + 2, 2);
    int scale, min;
    q4_K_scale_min(block + 4, 2 * chunk + t / 32, &scale, &min);
    uint8_t byte = block[16 + 32 * chunk + t % 32];
    int q = t < 32 ? (byte & 0x0F) : (byte >> 4);
    float subScale = f16_to_float(d) * (float)scale;
    float subMin = f16_to_float(dmin) * (float)min;
    return subScale * (float)q - subMin;
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
    const uint8_t *block = (const uint8_t *)w + (index / PG_QK_BLOCK) * PG_Q4K_BYTES;
    int i = (int)(index % PG_QK_BLOCK), chunk = i / 64, t = i % 64;
    uint16_t d, dmin;
    memcpy(&d, block, 2);
    memcpy(&dmin, block + 2, 2);
    int scale, min;
    q4_K_scale_min(block + 4, 2 * chunk + t / 32, &scale, &min);
    __m128i q = _mm_loadl_epi64((const __m128i *)(block + 16 + 32 * chunk + t % 32));
    if (t >= 32) q = _mm_srli_epi16(q, 4);
    q = _mm_and_si128(q, _mm_set1_epi8(0x0F));
    __m256 subScale = _mm256_set1_ps(_cvtsh_ss(d) * (float)scale);
    __m256 subMin = _mm256_set1_ps(_cvtsh_ss(dmin) * (float)min);
    return _mm256_sub_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q)), subScale), subMin);
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

/// 32 bytes as f32 in 4 vectors (unsigned or signed bytes).
PG_INLINE PG_AVX2 void bytes_to_f32(__m256i v, int isSigned, __m256 out[4]) {
    __m128i halves[2] = {_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)};
    for (int h = 0; h < 2; h++) {
        __m128i lo = halves[h], hi = _mm_srli_si128(halves[h], 8);
        out[2 * h] = _mm256_cvtepi32_ps(isSigned ? _mm256_cvtepi8_epi32(lo) : _mm256_cvtepu8_epi32(lo));
        out[2 * h + 1] = _mm256_cvtepi32_ps(isSigned ? _mm256_cvtepi8_epi32(hi) : _mm256_cvtepu8_epi32(hi));
    }
}

/// One Q4_K super-block as 256 f32 weights in `dst`.
PG_INLINE PG_AVX2 void dequantize_q4_K_avx2(const uint8_t *block, float *dst) {
    uint16_t bits[2];
    memcpy(bits, block, 4);
    const float d = _cvtsh_ss(bits[0]), dmin = _cvtsh_ss(bits[1]);
    const __m256i mask = _mm256_set1_epi8(0x0F);
    for (int chunk = 0; chunk < 4; chunk++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(block + 16 + 32 * chunk));
        __m256i nibbles[2] = {_mm256_and_si256(v, mask), _mm256_and_si256(_mm256_srli_epi16(v, 4), mask)};
        for (int half = 0; half < 2; half++) {
            int scale, min;
            q4_K_scale_min(block + 4, 2 * chunk + half, &scale, &min);
            const __m256 sv = _mm256_set1_ps(d * (float)scale), mv = _mm256_set1_ps(dmin * (float)min);
            __m256 q[4];
            bytes_to_f32(nibbles[half], 0, q);
            for (int c = 0; c < 4; c++) _mm256_storeu_ps(dst + 64 * chunk + 32 * half + 8 * c, _mm256_fmsub_ps(q[c], sv, mv));
        }
    }
}

/// One Q6_K super-block as 256 f32 weights in `dst`.
PG_INLINE PG_AVX2 void dequantize_q6_K_avx2(const uint8_t *block, float *dst) {
    uint16_t bits;
    memcpy(&bits, block + 208, 2);
    const float d = _cvtsh_ss(bits);
    const __m256i mask4 = _mm256_set1_epi8(0x0F), mask2 = _mm256_set1_epi8(3), offset = _mm256_set1_epi8(32);
    for (int h = 0; h < 2; h++) {
        const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(block + 64 * h));
        const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(block + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(block + 128 + 32 * h));
        for (int g = 0; g < 4; g++) {
            __m256i low = g & 1 ? ql1 : ql0;
            if (g >= 2) low = _mm256_srli_epi16(low, 4);
            low = _mm256_and_si256(low, mask4);
            __m256i high = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * g)), mask2);
            __m256i q = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 4)), offset);
            __m256 values[4];
            bytes_to_f32(q, 1, values);
            const int8_t *scales = (const int8_t *)(block + 192 + 8 * h + 2 * g);
            const __m256 s0 = _mm256_set1_ps(d * (float)scales[0]), s1 = _mm256_set1_ps(d * (float)scales[1]);
            float *out = dst + 128 * h + 32 * g;
            _mm256_storeu_ps(out, _mm256_mul_ps(values[0], s0));
            _mm256_storeu_ps(out + 8, _mm256_mul_ps(values[1], s0));
            _mm256_storeu_ps(out + 16, _mm256_mul_ps(values[2], s1));
            _mm256_storeu_ps(out + 24, _mm256_mul_ps(values[3], s1));
        }
    }
}

/// Decode and batched decode (m < 64) for Q4_K / Q6_K: each super-block of a W row
/// is dequantized once into 256 f32 (vectorised, scales decoded once per sub-block)
/// and dotted with every x row; `out` already holds the bias. Widening 8 weights at a
/// time (`load_w8`) instead re-decodes the block header and scales for each 8 and
/// ran at about a tenth of this speed.
PG_INLINE PG_AVX2 void kquant_rows_avx2(const float *x, int64_t m, int64_t k, const void *w, int dtype, int64_t r0,
                                        int64_t r1, float *out, int64_t ldo) {
    const int64_t numBlocks = k / PG_QK_BLOCK;
    const int64_t blockBytes = dtype == PG_DTYPE_Q4_K ? PG_Q4K_BYTES : PG_Q6K_BYTES;
    float weights[PG_QK_BLOCK] __attribute__((aligned(32)));
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w + r * numBlocks * blockBytes;
        for (int64_t b = 0; b < numBlocks; b++) {
            if (dtype == PG_DTYPE_Q4_K) dequantize_q4_K_avx2(row + b * blockBytes, weights);
            else dequantize_q6_K_avx2(row + b * blockBytes, weights);
            for (int64_t i = 0; i < m; i++) {
                const float *xb = x + i * k + b * PG_QK_BLOCK;
                __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
                for (int j = 0; j < PG_QK_BLOCK; j += 32)
                    for (int c = 0; c < 4; c++)
                        acc[c] = _mm256_fmadd_ps(_mm256_load_ps(weights + j + 8 * c), _mm256_loadu_ps(xb + j + 8 * c), acc[c]);
                out[i * ldo + r] += hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
            }
        }
    }
}

#endif
