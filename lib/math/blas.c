/* The tolerant-mode GEMM: OpenBLAS cblas_sgemm (pol/kernels.h, pol_blas_gemm).
 *
 * Not bit-reproducible: OpenBLAS picks its own blocking, micro-kernel and
 * summation order by CPU model, build and thread count. Used only through
 * POL_KERNELS_BLAS, which exact-mode tasks refuse. */
#include <cblas.h>
#include <stddef.h>
#include <string.h>

#include "pol/kernels.h"

/* openblas_set_num_threads is global to the process; remember the last value
 * so the common case (one context) does not call it on every GEMM. */
static int g_blas_threads;

void pol_blas_gemm(int threads, const pol_gemm_args *g)
{
    const int64_t M = g->M, N = g->N, K = g->K;
    if (M <= 0 || N <= 0)
        return;
    float *C = g->C;
    if (g->bias) {
        for (int64_t i = 0; i < M; i++)
            memcpy(C + i * N, g->bias, (size_t)N * sizeof *C);
    } else {
        memset(C, 0, (size_t)(M * N) * sizeof *C);
    }
    if (K <= 0)
        return;
    if (threads < 1)
        threads = 1;
    if (threads != g_blas_threads) {
        openblas_set_num_threads(threads);
        g_blas_threads = threads;
    }
    /* row-major: A is M x K (lda K) or, transposed, K x M (lda M); B likewise */
    const blasint lda = (blasint)(g->trans_a ? M : K);
    const blasint ldb = (blasint)(g->trans_b ? K : N);
    cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                g->trans_b ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N, (blasint)K, 1.0f,
                g->A, lda, g->B, ldb, g->bias ? 1.0f : 0.0f, C, (blasint)N);
}

const char *pol_blas_config(void)
{
    return openblas_get_config();
}
