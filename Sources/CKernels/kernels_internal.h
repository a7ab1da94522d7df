// Helpers shared by the kernel files (not part of the public header).
#ifndef PANGU_KERNELS_INTERNAL_H
#define PANGU_KERNELS_INTERNAL_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define PG_AVX2 __attribute__((target("avx2,fma,f16c")))
#define PG_INLINE static inline __attribute__((always_inline))

static inline float bf16_to_float(uint16_t bits) {
    uint32_t wide = (uint32_t)bits << 16;
    float value;
    memcpy(&value, &wide, 4);
    return value;
}

static inline float f16_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exponent = (h >> 10) & 0x1F;
    uint32_t mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {  // subnormal: normalise
        int shift = 0;
        while ((mantissa & 0x400) == 0) {
            mantissa <<= 1;
            shift++;
        }
        bits = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 0x3FF) << 13);
    }
    float value;
    memcpy(&value, &bits, 4);
    return value;
}

/// Q8_0: 34-byte blocks (f16 scale, 32 x int8).
enum { PG_Q8_BLOCK = 32, PG_Q8_BYTES = 34 };

static inline float q8_0_element(const void *w, int64_t index) {
    const uint8_t *block = (const uint8_t *)w + (index / PG_Q8_BLOCK) * PG_Q8_BYTES;
    uint16_t scale;
    memcpy(&scale, block, 2);
    return f16_to_float(scale) * (float)(int8_t)block[2 + index % PG_Q8_BLOCK];
}

/// Q4_0: 18-byte blocks (f16 scale, 16 bytes of nibble pairs: low = j, high = j + 16).
enum { PG_Q4_BYTES = 18 };

static inline float q4_0_element(const void *w, int64_t index) {
    const uint8_t *block = (const uint8_t *)w + (index / PG_Q8_BLOCK) * PG_Q4_BYTES;
    uint16_t scale;
    memcpy(&scale, block, 2);
    int j = (int)(index % PG_Q8_BLOCK);
    int q = j < 16 ? (block[2 + j] & 0x0F) : (block[2 + j - 16] >> 4);
    return f16_to_float(scale) * (float)(q - 8);
}

PG_INLINE PG_AVX2 float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#endif
