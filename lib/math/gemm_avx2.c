/* AVX2 + FMA GEMM micro-kernel: a 6 x 16 tile in 12 ymm accumulators.
 * Each lane is one element of C and runs its own fma chain over the chunk in
 * ascending k (see gemm_internal.h for the contract).
 *
 * 12 accumulators + 2 rows of B + 1 broadcast of A use 15 of the 16 ymm
 * registers; each k costs 2 vector loads and 6 broadcasts for 12 fmas. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "gemm_internal.h"

#define MR 6
#define NR 16

static void kernel_6x16(int64_t kc, const float *restrict a, const float *restrict b,
                        float *restrict c, int64_t ldc, int first, const float *bias)
{
    __m256 s0[MR], s1[MR];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        s0[i] = _mm256_setzero_ps();
        s1[i] = _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i);
            s0[i] = _mm256_fmadd_ps(ai, b0, s0[i]);
            s1[i] = _mm256_fmadd_ps(ai, b1, s1[i]);
        }
        a += MR;
        b += NR;
    }
    __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
        __m256 c0 = _mm256_add_ps(first ? zero : _mm256_loadu_ps(ci), s0[i]);
        __m256 c1 = _mm256_add_ps(first ? zero : _mm256_loadu_ps(ci + 8), s1[i]);
        if (bias) {
            c0 = _mm256_add_ps(c0, _mm256_loadu_ps(bias));
            c1 = _mm256_add_ps(c1, _mm256_loadu_ps(bias + 8));
        }
        _mm256_storeu_ps(ci, c0);
        _mm256_storeu_ps(ci + 8, c1);
    }
}

/* ------------------------------------------------------------ packing --
 * See pol_gemm_packer. Rows along memory (rs == 1): vector copies of 8.
 * Rows across memory (ks == 1): 8 x 8 blocks loaded along k and transposed
 * in registers; the ragged ends go element by element. */

/* In: r[q] = row q, 8 values along k. Out: r[k] = the 8 rows at k. */
static void transpose8(__m256 r[8])
{
    __m256 t[8], u[8];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++) {
        u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
    /* u[4i+j], 128-bit lane L: rows 4i..4i+3 at k = 4L + j */
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
        r[j + 4] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
    }
}

static void pack_avx2(const float *src, int64_t rs, int64_t ks, int64_t rn, int64_t kc, int w,
                      float *dst)
{
    if (rs == 1) {
        /* k outer: each source row is read once, front to back */
        for (int64_t k = 0; k < kc; k++) {
            const float *s = src + k * ks;
            float *d = dst + k * w;
            for (int64_t rp = 0; rp < rn; rp += w, d += kc * w) {
                int64_t n = rn - rp < w ? rn - rp : w, r = 0;
                for (; r + 8 <= n; r += 8)
                    _mm256_storeu_ps(d + r, _mm256_loadu_ps(s + rp + r));
                for (; r < n; r++)
                    d[r] = s[rp + r];
                for (; r < w; r++)
                    d[r] = 0.0f;
            }
        }
        return;
    }
    for (int64_t rp = 0; rp < rn; rp += w, dst += kc * w) {
        int64_t n = rn - rp < w ? rn - rp : w;
        const float *s = src + rp * rs;
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) {
            for (int r = 0; r < w; r += 8) {
                __m256 v[8];
#pragma GCC unroll 8
                for (int q = 0; q < 8; q++)
                    v[q] = r + q < n ? _mm256_loadu_ps(s + (r + q) * rs + k) : _mm256_setzero_ps();
                transpose8(v);
                int left = w - r;
                for (int q = 0; q < 8; q++) {
                    float *d = dst + (k + q) * w + r;
                    if (left >= 8 || (w < 8 && k + q + 1 < kc)) {
                        /* a panel narrower than 8 spills into the start of
                         * the next k's row, which is stored right after */
                        _mm256_storeu_ps(d, v[q]);
                    } else {
                        float tmp[8];
                        _mm256_storeu_ps(tmp, v[q]);
                        for (int x = 0; x < left; x++)
                            d[x] = tmp[x];
                    }
                }
            }
        }
        for (; k < kc; k++)
            for (int64_t r = 0; r < w; r++)
                dst[k * w + r] = r < n ? s[r * rs + k] : 0.0f;
    }
}

const pol_gemm_kernel pol_gemm_kernel_avx2 = {
    "avx2", MR, NR, 48 * MR, 1024, kernel_6x16, pack_avx2,
};
#endif
