/* libpol — the exact-mode CPU kernels of every op.
 *
 * Each op has two implementations:
 *   pol_ref_*   the reference (oracle): plain loops that follow the order of
 *               spec/arithmetic.md literally. Slow, single-threaded, obvious.
 *   pol_fast_*  the fast kernel: blocked, vectorised (AVX-512 / AVX2+FMA when
 *               the CPU has them, chosen at run time, scalar fmaf otherwise),
 *               split over the threads of a pool by independent outputs.
 * For every input, both return the same bits; the tests check this.
 *
 * Contracts common to all functions here:
 *   - all arrays are row-major, contiguous float32 (labels int32), non-NULL
 *     unless stated, and do not alias unless stated;
 *   - sizes are >= 0 and small enough that every index fits in int64;
 *   - a NULL pool runs on the calling thread;
 *   - kernels do not fail: shape checks happen when the graph is built.
 *
 * Letters: M, N, K for a GEMM (C is M x N, the reduction runs over K);
 * B for the batch, C for classes in the loss, n for an element count.
 */
#ifndef POL_KERNELS_H
#define POL_KERNELS_H

#include <stdint.h>

#include "pol/threads.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Chunk length of every canonical reduction (spec/arithmetic.md, A-RED-1). */
#define POL_KC 256

/* ---------------------------------------------------------------- GEMM --
 * C[i][j] = dot_K(A(i,:), B(:,j)) (+ bias[j])  for 0 <= i < M, 0 <= j < N,
 * where
 *   A(i,k) = trans_a ? A[k*M + i] : A[i*K + k]    (A is K x M or M x K)
 *   B(k,j) = trans_b ? B[j*K + k] : B[k*N + j]    (B is N x K or K x N)
 * and dot_K is the canonical dot product (A-RED-2):
 *   total = +0
 *   for each chunk [c, min(c+POL_KC, K)) with c = 0, POL_KC, 2*POL_KC, ...:
 *       s = +0; for k in chunk, ascending: s = fmaf(A(i,k), B(k,j), s)
 *       total = total + s
 *   if bias: total = total + bias[j]
 * C is overwritten (never read). bias may be NULL. */
typedef struct pol_gemm_args {
    int64_t M, N, K;
    int trans_a, trans_b;
    const float *A;
    const float *B;
    const float *bias; /* N values or NULL */
    float *C;          /* M x N */
} pol_gemm_args;

void pol_ref_gemm(const pol_gemm_args *g);
void pol_fast_gemm(pol_pool *pool, const pol_gemm_args *g);

/* Name of the GEMM micro-kernel pol_fast_gemm uses on this CPU:
 * "avx512", "avx2" or "scalar". */
const char *pol_fast_gemm_isa(void);

/* The tolerant-mode GEMM (POL_KERNELS_BLAS): the same contract as above
 * except the summation order, which is OpenBLAS's (cblas_sgemm with
 * alpha 1, beta 1 on C pre-filled with the bias, or beta 0). NOT bitwise
 * reproducible across thread counts, CPUs or OpenBLAS builds; never used in
 * exact mode. threads: OpenBLAS threads (a process-wide setting, so two
 * contexts with different counts must not run GEMMs concurrently). */
void pol_blas_gemm(int threads, const pol_gemm_args *g);

/* OpenBLAS's description of itself (version, core, thread model). */
const char *pol_blas_config(void);

/* ------------------------------------------------------ bias gradient --
 * db[j] = sum_K(dy[0][j], dy[1][j], ..., dy[M-1][j])   (A-RED-1)
 * dy is M x N, db has N values. */
void pol_ref_bias_grad(int64_t M, int64_t N, const float *dy, float *db);
void pol_fast_bias_grad(pol_pool *pool, int64_t M, int64_t N, const float *dy, float *db);

/* -------------------------------------------------------- activations --
 * y = relu(x) = x > 0 ? x : +0;  dx = x > 0 ? dy : +0  (x is the pre-activation).
 * y = gelu(x), tanh form; dx = dy * gelu'(x), formulas in A-GELU.
 * n elements each; y/dx may alias x/dy. */
void pol_ref_relu(int64_t n, const float *x, float *y);
void pol_ref_relu_bwd(int64_t n, const float *x, const float *dy, float *dx);
void pol_ref_gelu(int64_t n, const float *x, float *y);
void pol_ref_gelu_bwd(int64_t n, const float *x, const float *dy, float *dx);
void pol_fast_relu(pol_pool *pool, int64_t n, const float *x, float *y);
void pol_fast_relu_bwd(pol_pool *pool, int64_t n, const float *x, const float *dy, float *dx);
void pol_fast_gelu(pol_pool *pool, int64_t n, const float *x, float *y);
void pol_fast_gelu_bwd(pol_pool *pool, int64_t n, const float *x, const float *dy, float *dx);

/* ------------------------------------------- softmax cross-entropy --
 * logits is B x C, labels has B values in [0, C) (checked by the caller).
 * loss: *loss = sum_K(l_0 .. l_{B-1}) / B, where per row (A-XENT)
 *   m = max_j x_j; s = sum_K(exp(x_j - m)); l = log(s) - (x_y - m).
 * bwd:  dlogits[i][j] = (exp(x_j - m) / s - (j == y ? 1 : 0)) / B. */
void pol_ref_xent_loss(int64_t B, int64_t C, const float *logits, const int32_t *labels,
                       float *loss);
void pol_ref_xent_bwd(int64_t B, int64_t C, const float *logits, const int32_t *labels,
                      float *dlogits);
void pol_fast_xent_loss(pol_pool *pool, int64_t B, int64_t C, const float *logits,
                        const int32_t *labels, float *loss);
void pol_fast_xent_bwd(pol_pool *pool, int64_t B, int64_t C, const float *logits,
                       const int32_t *labels, float *dlogits);

/* --------------------------------------------------------- optimizers --
 * Element-wise updates; n elements; the formulas are A-OPT in the spec.
 * Scalars: the node's constant params plus the step's in.hyper tensor (pol/graph.h). Outputs may alias
 * the matching inputs (m_out == m, ...). */
typedef struct pol_opt_scalars {
    float lr;       /* learning rate of this step */
    float beta1;    /* adamw: first-moment decay; sgd: momentum */
    float beta2;    /* adamw: second-moment decay */
    float eps;      /* adamw */
    float wd;       /* weight decay */
    float bc1;      /* adamw: 1 - beta1^t */
    float bc2;      /* adamw: 1 - beta2^t */
} pol_opt_scalars;

/* m' = beta1*m + (1-beta1)*g */
void pol_ref_adam_m(int64_t n, const pol_opt_scalars *s, const float *m, const float *g,
                    float *m_out);
/* v' = beta2*v + (1-beta2)*(g*g) */
void pol_ref_adam_v(int64_t n, const pol_opt_scalars *s, const float *v, const float *g,
                    float *v_out);
/* p' = p*(1 - lr*wd) - lr*((m'/bc1) / (sqrt(v'/bc2) + eps)) */
void pol_ref_adamw_param(int64_t n, const pol_opt_scalars *s, const float *p, const float *m,
                         const float *v, float *p_out);
/* b' = beta1*b + (g + wd*p) */
void pol_ref_sgd_buf(int64_t n, const pol_opt_scalars *s, const float *b, const float *g,
                     const float *p, float *b_out);
/* p' = p - lr*b' */
void pol_ref_sgd_param(int64_t n, const pol_opt_scalars *s, const float *p, const float *b,
                       float *p_out);

void pol_fast_adam_m(pol_pool *pool, int64_t n, const pol_opt_scalars *s, const float *m,
                     const float *g, float *m_out);
void pol_fast_adam_v(pol_pool *pool, int64_t n, const pol_opt_scalars *s, const float *v,
                     const float *g, float *v_out);
void pol_fast_adamw_param(pol_pool *pool, int64_t n, const pol_opt_scalars *s, const float *p,
                          const float *m, const float *v, float *p_out);
void pol_fast_sgd_buf(pol_pool *pool, int64_t n, const pol_opt_scalars *s, const float *b,
                      const float *g, const float *p, float *b_out);
void pol_fast_sgd_param(pol_pool *pool, int64_t n, const pol_opt_scalars *s, const float *p,
                        const float *b, float *p_out);

#ifdef __cplusplus
}
#endif
#endif /* POL_KERNELS_H */
