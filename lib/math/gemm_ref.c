/* The reference GEMM: the loops of pol/kernels.h (A-RED-2), literally.
 * Slow on purpose; it is the oracle the fast kernels are tested against and
 * the kernel a referee runs. fmaf here is the C library's correctly rounded
 * fused multiply-add, whatever the compiler flags. */
#include <math.h>

#include "pol/kernels.h"

static float a_at(const pol_gemm_args *g, int64_t i, int64_t k)
{
    return g->trans_a ? g->A[k * g->M + i] : g->A[i * g->K + k];
}

static float b_at(const pol_gemm_args *g, int64_t k, int64_t j)
{
    return g->trans_b ? g->B[j * g->K + k] : g->B[k * g->N + j];
}

void pol_ref_gemm(const pol_gemm_args *g)
{
    for (int64_t i = 0; i < g->M; i++) {
        for (int64_t j = 0; j < g->N; j++) {
            float total = +0.0f;
            for (int64_t c = 0; c < g->K; c += POL_KC) {
                int64_t end = c + POL_KC < g->K ? c + POL_KC : g->K;
                float s = +0.0f;
                for (int64_t k = c; k < end; k++)
                    s = fmaf(a_at(g, i, k), b_at(g, k, j), s);
                total = total + s;
            }
            if (g->bias)
                total = total + g->bias[j];
            g->C[i * g->N + j] = total;
        }
    }
}
