// bf16 weights at prefill sizes on AVX-512 BF16 CPUs: `vdpbf16ps` multiplies pairs of
// bf16 and adds both products to an f32 lane, twice the multiply-adds of an f32 FMA on
// the same register width. The activations are rounded to bf16 (to nearest even) for
// it, as llama.cpp's bf16 path does; products and sums stay f32.
//
// The blocking of linear.c's packed path, on pairs of columns: per group of 64 W rows
// and block of KC columns, W is packed into panels of 32 rows, [pair][32 rows] of 32-bit
// pairs (two 512-bit registers per pair), and x, per block of MC rows, into [row][pair].
// An 8 x 32 micro-kernel then runs 16 accumulators: per pair, 2 panel loads, 8 x
// broadcasts and 16 `vdpbf16ps`.
#include "CKernels.h"
#include "kernels_internal.h"

#include <stdlib.h>

enum { KC = 256, PAIRS = KC / 2, MC = 96, NC = 64, NR = 32, MR = 8 };

/// x rows [i0, i1), columns [j0, j0 + kc), rounded to bf16 into xb [row][PAIRS] pairs (an odd
/// kc's last pair padded with zero).
PG_INLINE PG_BF16 void pack_x(const float *x, int64_t k, int64_t i0, int64_t i1, int64_t j0, int64_t kc,
                              uint32_t *xb) {
    for (int64_t i = i0; i < i1; i++) {
        const float *row = x + i * k + j0;
        uint16_t *dst = (uint16_t *)(xb + (i - i0) * PAIRS);
        for (int64_t t = 0; t < kc; t += 32) {
            const int64_t left = kc - t < 32 ? kc - t : 32;
            const __mmask16 low = left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1);
            const __mmask16 high = left >= 32 ? 0xFFFF : left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : 0;
            const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(high, row + t + 16),
                                                   _mm512_maskz_loadu_ps(low, row + t));
            const int64_t even = (left + 1) / 2 * 2;  // masked-off columns load as zero: the padding
            _mm512_mask_storeu_epi16(dst + t, even >= 32 ? ~(__mmask32)0 : (__mmask32)((1u << even) - 1),
                                     (__m512i)v);
        }
    }
}

/// W rows [r, r + rows) (rows <= NR), columns [j0, j0 + kc), into a panel [pair][NR] of 32-bit
/// pairs; rows past `rows` and an odd kc's last half pair zero. Full steps of 8 pairs x 8 rows
/// go through `transpose8` (a 32-bit transpose, so it moves pairs as well as floats).
PG_INLINE PG_BF16 void pack_w(const uint16_t *w, int64_t k, int64_t r, int64_t rows, int64_t j0, int64_t kc,
                              uint32_t *panel) {
    const int64_t pairs = (kc + 1) / 2, full = kc / 2 / 8 * 8;
    for (int64_t g = 0; g < NR; g += 8) {
        for (int64_t t = 0; t < full; t += 8) {
            __m256 v[8];
            for (int c = 0; c < 8; c++)
                v[c] = g + c < rows ? _mm256_loadu_ps((const float *)(w + (r + g + c) * k + j0 + 2 * t))
                                    : _mm256_setzero_ps();
            transpose8(v);
            for (int l = 0; l < 8; l++) _mm256_store_ps((float *)(panel + (t + l) * NR + g), v[l]);
        }
        for (int64_t c = 0; c < 8; c++) {
            const uint16_t *src = w + (r + g + c) * k + j0;
            for (int64_t t = full; t < pairs; t++) {
                const uint32_t lowHalf = g + c < rows ? src[2 * t] : 0;
                const uint32_t highHalf = g + c < rows && 2 * t + 1 < kc ? src[2 * t + 1] : 0;
                panel[t * NR + g + c] = lowHalf | highHalf << 16;
            }
        }
    }
}

/// out[i, 0..<cols] += x row i . the panel's 32 rows, for RX rows of packed x.
PG_INLINE PG_BF16 void outer_bf16(const uint32_t *xb, const uint32_t *panel, int64_t pairs, float *out, int64_t ldo,
                                  int64_t cols, const int RX) {
    __m512 acc[MR][2];
    for (int i = 0; i < RX; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int64_t t = 0; t < pairs; t++) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512(panel + t * NR);
        const __m512bh b1 = (__m512bh)_mm512_load_si512(panel + t * NR + 16);
        for (int i = 0; i < RX; i++) {
            const __m512bh a = (__m512bh)_mm512_set1_epi32((int)xb[i * PAIRS + t]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, b1);
        }
    }
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xFFFF : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
    for (int i = 0; i < RX; i++) {
        float *o = out + i * ldo;
        _mm512_mask_storeu_ps(o, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, o), acc[i][0]));
        _mm512_mask_storeu_ps(o + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, o + 16), acc[i][1]));
    }
}

/// The 8-row case as its own function, so its loop gets all registers to itself.
static __attribute__((noinline)) PG_BF16 void outer_bf16_8(const uint32_t *xb, const uint32_t *panel, int64_t pairs,
                                                           float *out, int64_t ldo, int64_t cols) {
    outer_bf16(xb, panel, pairs, out, ldo, cols, MR);
}

/// One panel against packed x rows [0, rows).
PG_INLINE PG_BF16 void panel_rows_bf16(const uint32_t *xb, int64_t rows, const uint32_t *panel, int64_t pairs,
                                       float *out, int64_t ldo, int64_t cols) {
    int64_t i = 0;
    for (; i + MR <= rows; i += MR) outer_bf16_8(xb + i * PAIRS, panel, pairs, out + i * ldo, ldo, cols);
    switch (rows - i) {
    case 7: outer_bf16(xb + i * PAIRS, panel, pairs, out + i * ldo, ldo, cols, 7); break;
    case 6: outer_bf16(xb + i * PAIRS, panel, pairs, out + i * ldo, ldo, cols, 6); break;
    case 5: outer_bf16(xb + i * PAIRS, panel, pairs, out + i * ldo, ldo, cols, 5); break;
    case 4: outer_bf16(xb + i * PAIRS, panel, pairs, out + i * ldo, ldo, cols, 4); break;
    case 3: outer_bf16(xb + i * PAIRS, panel, pairs, out + i * ldo, ldo, cols, 3); break;
    case 2: outer_bf16(xb + i * PAIRS, panel, pairs, out + i * ldo, ldo, cols, 2); break;
    case 1: outer_bf16(xb + i * PAIRS, panel, pairs, out + i * ldo, ldo, cols, 1); break;
    default: break;
    }
}

static PG_BF16 void bf16_dot_rows(const float *x, int64_t m, int64_t k, const uint16_t *w, int64_t r0, int64_t r1,
                                  const float *bias, float *out, int64_t ldo, uint32_t *panels, uint32_t *xb) {
    for (int64_t rg = r0; rg < r1; rg += NC) {
        const int64_t rgEnd = rg + NC < r1 ? rg + NC : r1;
        for (int64_t i = 0; i < m; i++)
            for (int64_t r = rg; r < rgEnd; r++) out[i * ldo + r] = bias ? bias[r] : 0.0f;
        const int64_t numPanels = (rgEnd - rg + NR - 1) / NR;
        for (int64_t j0 = 0; j0 < k; j0 += KC) {
            const int64_t kc = j0 + KC < k ? KC : k - j0, pairs = (kc + 1) / 2;
            for (int64_t p = 0; p < numPanels; p++) {
                const int64_t rows = rgEnd - (rg + p * NR);
                pack_w(w, k, rg + p * NR, rows < NR ? rows : NR, j0, kc, panels + p * NR * PAIRS);
            }
            for (int64_t i0 = 0; i0 < m; i0 += MC) {
                const int64_t i1 = i0 + MC < m ? i0 + MC : m;
                pack_x(x, k, i0, i1, j0, kc, xb);
                for (int64_t p = 0; p < numPanels; p++) {
                    const int64_t cols = rgEnd - (rg + p * NR);
                    panel_rows_bf16(xb, i1 - i0, panels + p * NR * PAIRS, pairs, out + i0 * ldo + rg + p * NR, ldo,
                                    cols < NR ? cols : NR);
                }
            }
        }
    }
}

int pg_linear_rows_bf16_dot(const float *x, int64_t m, int64_t k, const void *w, int64_t r0, int64_t r1,
                            const float *bias, float *out, int64_t ldo) {
    uint32_t *panels = (uint32_t *)aligned_alloc(64, sizeof(uint32_t) * (NC / NR) * NR * PAIRS);
    uint32_t *xb = (uint32_t *)aligned_alloc(64, sizeof(uint32_t) * MC * PAIRS);
    const int done = panels && xb;
    if (done) bf16_dot_rows(x, m, k, (const uint16_t *)w, r0, r1, bias, out, ldo, panels, xb);
    free(panels);
    free(xb);
    return done;
}
