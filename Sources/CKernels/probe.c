// Machine ceilings for the benchmarks: peak FMA and int8 dot-product rates, and
// streaming read bandwidth.
#include "CKernels.h"
#include "kernels_internal.h"

/// Makes the loops' results observable, so their chains cannot be optimised away.
static PG_AVX2 void keep(const __m256 *chains, int count) {
    __m256 total = chains[0];
    for (int c = 1; c < count; c++) total = _mm256_add_ps(total, chains[c]);
    float lanes[8];
    _mm256_storeu_ps(lanes, total);
    volatile float sink = lanes[0];
    (void)sink;
}

/// 12 independent 8-wide FMA chains: enough to cover FMA latency x throughput
/// on current x86 cores (4 cycles x 2 pipes = 8 chains needed).
static PG_AVX2 double fma_peak_avx2(int64_t iterations) {
    __m256 a[12];
    for (int c = 0; c < 12; c++) a[c] = _mm256_set1_ps(1.0f + 0.001f * (float)c);
    const __m256 scale = _mm256_set1_ps(0.9999999f);
    const __m256 add = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < iterations; it++) {
        for (int c = 0; c < 12; c++) a[c] = _mm256_fmadd_ps(a[c], scale, add);
        // Opaque to the optimiser: the chains must really run every iteration.
        __asm__ volatile(""
                         : "+x"(a[0]), "+x"(a[1]), "+x"(a[2]), "+x"(a[3]), "+x"(a[4]), "+x"(a[5]),
                           "+x"(a[6]), "+x"(a[7]), "+x"(a[8]), "+x"(a[9]), "+x"(a[10]), "+x"(a[11]));
    }
    keep(a, 12);
    return (double)iterations * 12.0 * 8.0 * 2.0;
}

#ifndef PG_EMULATE_ISA  // the emulated build measures its AVX2 loops
/// `fma_peak_avx2` on 512-bit registers: the float prefill kernel's instruction on AVX-512 CPUs.
static PG_AVX512 double fma_peak_avx512(int64_t iterations) {
    __m512 a[12];
    for (int c = 0; c < 12; c++) a[c] = _mm512_set1_ps(1.0f + 0.001f * (float)c);
    const __m512 scale = _mm512_set1_ps(0.9999999f);
    const __m512 add = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < iterations; it++) {
        for (int c = 0; c < 12; c++) a[c] = _mm512_fmadd_ps(a[c], scale, add);
        __asm__ volatile(""
                         : "+v"(a[0]), "+v"(a[1]), "+v"(a[2]), "+v"(a[3]), "+v"(a[4]), "+v"(a[5]),
                           "+v"(a[6]), "+v"(a[7]), "+v"(a[8]), "+v"(a[9]), "+v"(a[10]), "+v"(a[11]));
    }
    __m512 total = a[0];
    for (int c = 1; c < 12; c++) total = _mm512_add_ps(total, a[c]);
    volatile float sink = _mm512_reduce_add_ps(total);
    (void)sink;
    return (double)iterations * 12.0 * 16.0 * 2.0;
}

#endif

double pg_fma_peak_loop(int64_t iterations) {
#ifndef PG_EMULATE_ISA
    if (pg_has_avx512()) return fma_peak_avx512(iterations);
#endif
    if (pg_has_avx2_fma()) return fma_peak_avx2(iterations);
    volatile float a = 1.0f;
    for (int64_t it = 0; it < iterations; it++) a = a * 0.9999999f + 1e-7f;
    return (double)iterations * 2.0;
}

/// 8 independent chains of the fastest int8 multiply-accumulate AVX2 has:
/// vpmaddubsw (32 u8 x s8 products, summed in pairs to 16 bits) and vpaddw into
/// 16-bit accumulators, as the Q4_0x16 AVX2 kernel's inner loop. Kernels that widen to
/// 32 bits more often (vpmaddwd, convert, FMA per block) run below it.
static PG_AVX2 double int8_dot_peak_avx2(int64_t iterations) {
    __m256i u[8], acc[8];
    for (int c = 0; c < 8; c++) {
        u[c] = _mm256_set1_epi8((char)(3 + c));
        acc[c] = _mm256_setzero_si256();
    }
    __m256i x = _mm256_set1_epi8(-2);
    for (int64_t it = 0; it < iterations; it++) {
        for (int c = 0; c < 8; c++) acc[c] = _mm256_add_epi16(acc[c], _mm256_maddubs_epi16(u[c], x));
        __asm__ volatile("" : "+x"(x));  // a new x each iteration: the products cannot be hoisted
    }
    __m256 sums[8];
    for (int c = 0; c < 8; c++) sums[c] = _mm256_castsi256_ps(acc[c]);
    keep(sums, 8);
    return (double)iterations * 8.0 * 32.0 * 2.0;
}

#ifndef PG_EMULATE_ISA
/// 8 independent chains of AVX-512 VNNI's `vpdpbusd` on 512-bit registers (64 u8 x s8
/// products into 16 s32 sums each): the widest int8 dot product such a CPU has, so the
/// ceiling the integer kernels (`vpdpbusd` on 256-bit registers there) are measured against.
static PG_VNNI double int8_dot_peak_vnni(int64_t iterations) {
    __m512i u[8], acc[8];
    for (int c = 0; c < 8; c++) {
        u[c] = _mm512_set1_epi8((char)(3 + c));
        acc[c] = _mm512_setzero_si512();
    }
    __m512i x = _mm512_set1_epi8(-2);
    for (int64_t it = 0; it < iterations; it++) {
        for (int c = 0; c < 8; c++) acc[c] = _mm512_dpbusd_epi32(acc[c], u[c], x);
        __asm__ volatile("" : "+v"(x));
    }
    __m512i total = acc[0];
    for (int c = 1; c < 8; c++) total = _mm512_add_epi32(total, acc[c]);
    volatile int sink = _mm512_reduce_add_epi32(total);
    (void)sink;
    return (double)iterations * 8.0 * 64.0 * 2.0;
}

#endif

double pg_int8_dot_peak_loop(int64_t iterations) {
#ifndef PG_EMULATE_ISA
    if (pg_has_avx512_vnni()) return int8_dot_peak_vnni(iterations);
#endif
    if (pg_has_avx2_fma()) return int8_dot_peak_avx2(iterations);
    volatile int a = 1;
    for (int64_t it = 0; it < iterations; it++) a = a * 3 + 1;
    return (double)iterations * 2.0;
}

#ifndef PG_EMULATE_ISA
/// 12 independent chains of AVX-512 BF16's `vdpbf16ps` (32 bf16 products into 16 f32 sums each).
static PG_BF16 double bf16_dot_peak(int64_t iterations) {
    __m512 acc[12];
    for (int c = 0; c < 12; c++) acc[c] = _mm512_setzero_ps();
    __m512i x = _mm512_set1_epi32(0x3F803F80);  // bf16 pairs of 1.0
    const __m512bh w = (__m512bh)_mm512_set1_epi32(0x3F7F3F7F);
    for (int64_t it = 0; it < iterations; it++) {
        for (int c = 0; c < 12; c++) acc[c] = _mm512_dpbf16_ps(acc[c], (__m512bh)x, w);
        __asm__ volatile("" : "+v"(x));
    }
    __m512 total = acc[0];
    for (int c = 1; c < 12; c++) total = _mm512_add_ps(total, acc[c]);
    volatile float sink = _mm512_reduce_add_ps(total);
    (void)sink;
    return (double)iterations * 12.0 * 32.0 * 2.0;
}
#endif

double pg_bf16_dot_peak_loop(int64_t iterations) {
#ifndef PG_EMULATE_ISA
    if (pg_has_avx512_bf16()) return bf16_dot_peak(iterations);
#endif
    return pg_fma_peak_loop(iterations);
}

/// 4 independent accumulators of AMX's `tdpbssd` (16 x 16 sums of 64 int8 products each) or
/// `tdpbf16ps` (32 bf16 products each) on full tiles: the ceilings of the AMX kernels (amx.c,
/// amx_bf16.c).
static PG_AMX double amx_peak(int64_t iterations, int bf16) {
    const uint8_t rows[6] = {16, 16, 16, 16, 16, 16};
    const uint16_t colsb[6] = {64, 64, 64, 64, 64, 64};
    _Alignas(64) uint16_t operand[16 * 32];
    for (int j = 0; j < 16 * 32; j++) operand[j] = 0x3F80;  // bf16 1.0; int8 -128 and 63
    _Alignas(64) int32_t sums[16 * 16];
    load_tile_config(6, rows, colsb);
    _tile_loadd(4, operand, 64);
    _tile_loadd(5, operand, 64);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int64_t it = 0; it < iterations; it++) {
        if (bf16) {
            _tile_dpbf16ps(0, 4, 5);
            _tile_dpbf16ps(1, 4, 5);
            _tile_dpbf16ps(2, 4, 5);
            _tile_dpbf16ps(3, 4, 5);
        } else {
            _tile_dpbssd(0, 4, 5);
            _tile_dpbssd(1, 4, 5);
            _tile_dpbssd(2, 4, 5);
            _tile_dpbssd(3, 4, 5);
        }
    }
    _tile_stored(3, sums, 64);
    _tile_release();
    volatile int32_t sink = sums[0];
    (void)sink;
    return (double)iterations * 4.0 * 16 * 16 * (bf16 ? 32 : 64) * 2.0;
}

double pg_amx_int8_peak_loop(int64_t iterations) { return pg_has_amx() ? amx_peak(iterations, 0) : 0; }

double pg_amx_bf16_peak_loop(int64_t iterations) { return pg_has_amx() ? amx_peak(iterations, 1) : 0; }

static PG_AVX2 float stream_read_avx2(const void *p, size_t bytes) {
    const __m256i *v = (const __m256i *)p;
    size_t count = bytes / 32;
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 4 <= count; i += 4) {
        s0 = _mm256_add_epi32(s0, _mm256_loadu_si256(v + i));
        s1 = _mm256_add_epi32(s1, _mm256_loadu_si256(v + i + 1));
        s2 = _mm256_add_epi32(s2, _mm256_loadu_si256(v + i + 2));
        s3 = _mm256_add_epi32(s3, _mm256_loadu_si256(v + i + 3));
    }
    for (; i < count; i++) s0 = _mm256_add_epi32(s0, _mm256_loadu_si256(v + i));
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(s0, s1), _mm256_add_epi32(s2, s3));
    int lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, s);
    int total = 0;
    for (int l = 0; l < 8; l++) total += lanes[l];
    return (float)total;
}

float pg_stream_read(const void *p, size_t bytes) {
    if (pg_has_avx2_fma()) return stream_read_avx2(p, bytes);
    const unsigned char *b = (const unsigned char *)p;
    unsigned total = 0;
    for (size_t i = 0; i < bytes; i += 64) total += b[i];
    return (float)total;
}
