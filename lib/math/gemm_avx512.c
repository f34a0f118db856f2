/* AVX-512 GEMM micro-kernel: a 14 x 32 tile in 28 zmm accumulators.
 * Each lane is one element of C and runs its own fma chain over the chunk in
 * ascending k (see gemm_internal.h for the contract).
 *
 * 28 accumulators + 2 rows of B + 1 broadcast of A use 31 of the 32 zmm
 * registers; 28 independent chains keep two FMA pipes busy through the fma
 * latency, and each k costs 2 vector loads and 14 broadcasts for 28 fmas.
 * The driver walks a 14-row panel of A (14 KB, stays in L1) across the
 * 32-column panels of B (32 KB each, from L2). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "gemm_internal.h"

#define MR 14
#define NR 32

static void kernel_14x32(int64_t kc, const float *restrict a, const float *restrict b,
                         float *restrict c, int64_t ldc, int first, const float *bias)
{
    __m512 s0[MR], s1[MR];
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
        s0[i] = _mm512_setzero_ps();
        s1[i] = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            s0[i] = _mm512_fmadd_ps(ai, b0, s0[i]);
            s1[i] = _mm512_fmadd_ps(ai, b1, s1[i]);
        }
        a += MR;
        b += NR;
    }
    __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
        __m512 c0 = _mm512_add_ps(first ? zero : _mm512_loadu_ps(ci), s0[i]);
        __m512 c1 = _mm512_add_ps(first ? zero : _mm512_loadu_ps(ci + 16), s1[i]);
        if (bias) {
            c0 = _mm512_add_ps(c0, _mm512_loadu_ps(bias));
            c1 = _mm512_add_ps(c1, _mm512_loadu_ps(bias + 16));
        }
        _mm512_storeu_ps(ci, c0);
        _mm512_storeu_ps(ci + 16, c1);
    }
}

/* ------------------------------------------------------------ packing --
 * See pol_gemm_packer. Rows along memory (rs == 1): one masked load and
 * store per 16 rows and k. Rows across memory (ks == 1): 16 x 16 blocks
 * loaded along k and transposed in registers. */

static __mmask16 lanes(int64_t n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* In: r[q] = row q, 16 values along k. Out: r[k] = the 16 rows at k. */
static void transpose16(__m512 r[16])
{
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
    /* r[4i+j], 128-bit lane L: rows 4i..4i+3 at k = 4L + j */
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        __m512 u0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
        __m512 u1 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xdd);
        __m512 u2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
        __m512 u3 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xdd);
        t[j] = _mm512_shuffle_f32x4(u0, u2, 0x88);
        t[j + 8] = _mm512_shuffle_f32x4(u0, u2, 0xdd);
        t[j + 4] = _mm512_shuffle_f32x4(u1, u3, 0x88);
        t[j + 12] = _mm512_shuffle_f32x4(u1, u3, 0xdd);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = t[i];
}

static void pack_avx512(const float *src, int64_t rs, int64_t ks, int64_t rn, int64_t kc, int w,
                        float *dst)
{
    if (rs == 1) {
        /* k outer: each source row is read once, front to back */
        for (int64_t k = 0; k < kc; k++) {
            const float *s = src + k * ks;
            float *d = dst + k * w;
            for (int64_t rp = 0; rp < rn; rp += w, d += kc * w)
                for (int r = 0; r < w; r += 16)
                    _mm512_mask_storeu_ps(d + r, lanes(w - r),
                                          _mm512_maskz_loadu_ps(lanes(rn - rp - r), s + rp + r));
        }
        return;
    }
    for (int64_t rp = 0; rp < rn; rp += w, dst += kc * w) {
        int64_t n = rn - rp < w ? rn - rp : w;
        const float *s = src + rp * rs;
        for (int r = 0; r < w; r += 16) {
            __mmask16 store = lanes(w - r);
            for (int64_t k = 0; k < kc; k += 16) {
                __mmask16 load = lanes(kc - k);
                __m512 v[16];
#pragma GCC unroll 16
                for (int q = 0; q < 16; q++)
                    v[q] = r + q < n ? _mm512_maskz_loadu_ps(load, s + (r + q) * rs + k)
                                     : _mm512_setzero_ps();
                transpose16(v);
                int64_t kk = kc - k < 16 ? kc - k : 16;
                for (int64_t q = 0; q < kk; q++)
                    _mm512_mask_storeu_ps(dst + (k + q) * w + r, store, v[q]);
            }
        }
    }
}

const pol_gemm_kernel pol_gemm_kernel_avx512 = {
    "avx512", MR, NR, 24 * MR, 1024, kernel_14x32, pack_avx512,
};
#endif
