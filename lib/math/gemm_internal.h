/* Internals of the fast GEMM, shared by the dispatcher (gemm.c), the SIMD
 * micro-kernels (gemm_avx2.c, gemm_avx512.c) and the tests.
 *
 * The driver packs A into MR-row panels and B into NR-column panels, both
 * k-major (panel[k*MR + i], panel[k*NR + j]), zero-padded past the edge of
 * the matrix, with K cut into the canonical chunks of POL_KC. A micro-kernel
 * computes one MR x NR tile of C for one chunk:
 *     s[i][j] = +0;  for k = 0..kc-1: s[i][j] = fma(a[k*MR+i], b[k*NR+j], s[i][j])
 *     c[i][j] = (first ? +0 : c[i][j]) + s[i][j]
 *     if bias: c[i][j] = c[i][j] + bias[j]
 * which is exactly one step of A-RED-2 for each element. c has row stride
 * ldc and always holds a full tile (the driver gives edge tiles a scratch
 * tile); bias, when non-NULL, holds NR values. */
#ifndef POL_GEMM_INTERNAL_H
#define POL_GEMM_INTERNAL_H

#include <stdint.h>

#include "pol/kernels.h"

#if defined(__GNUC__)
#define POL_GEMM_HIDDEN __attribute__((visibility("hidden")))
#else
#define POL_GEMM_HIDDEN
#endif

/* Micro-kernel paths, lowest first. */
enum {
    POL_GEMM_ISA_SCALAR = 0,
    POL_GEMM_ISA_AVX2 = 1,
    POL_GEMM_ISA_AVX512 = 2,
    POL_GEMM_ISA_COUNT = 3
};

typedef void (*pol_gemm_ukernel)(int64_t kc, const float *a, const float *b, float *c,
                                 int64_t ldc, int first, const float *bias);

/* Packs rows [0, rn) and k in [0, kc) of the strided matrix whose element
 * (r, k) is src[r*rs + k*ks] into panels of w rows, k-major, zero-padding
 * the last panel to w rows: panel p holds dst[p*kc*w + k*w + (r - p*w)].
 * Either rs == 1 or ks == 1. Pure data movement: no arithmetic. */
typedef void (*pol_gemm_packer)(const float *src, int64_t rs, int64_t ks, int64_t rn, int64_t kc,
                                int w, float *dst);

/* One micro-kernel and the blocking that suits it. mc is a multiple of mr,
 * nc of nr; mr * nr <= POL_GEMM_MAX_TILE. */
typedef struct pol_gemm_kernel {
    const char *name;
    int mr, nr;
    int64_t mc, nc;
    pol_gemm_ukernel kernel;
    pol_gemm_packer pack;
} pol_gemm_kernel;

#define POL_GEMM_MAX_TILE 512

/* The portable packer. */
POL_GEMM_HIDDEN void pol_gemm_pack_generic(const float *src, int64_t rs, int64_t ks, int64_t rn,
                                           int64_t kc, int w, float *dst);

#if defined(__x86_64__) || defined(__i386__)
#define POL_GEMM_HAVE_X86 1
POL_GEMM_HIDDEN extern const pol_gemm_kernel pol_gemm_kernel_avx2;
POL_GEMM_HIDDEN extern const pol_gemm_kernel pol_gemm_kernel_avx512;
#endif

/* Name of a path ("scalar", "avx2", "avx512"), NULL if out of range. */
POL_GEMM_HIDDEN const char *pol_gemm_isa_name(int isa);

/* The best path this CPU runs, ignoring POL_GEMM_ISA. */
POL_GEMM_HIDDEN int pol_gemm_isa_best(void);

/* The path pol_fast_gemm uses: the best one, lowered by POL_GEMM_ISA when
 * that names a lower one. Read once per process. */
POL_GEMM_HIDDEN int pol_gemm_isa_active(void);

/* Least work (flops) worth a task of its own; fewer threads are used for
 * smaller GEMMs. Tests set it to 0 so that small shapes get split too. */
POL_GEMM_HIDDEN extern double pol_gemm_task_flops;

/* pol_fast_gemm on a chosen path; isa must be <= pol_gemm_isa_best().
 * For the tests and the benchmark. */
POL_GEMM_HIDDEN void pol_gemm_run_isa(pol_pool *pool, const pol_gemm_args *g, int isa);

#endif /* POL_GEMM_INTERNAL_H */
