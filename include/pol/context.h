/* libpol — the context: thread pool, kernel choice, floating-point checks.
 *
 * A context is created once per program (or per training run) and passed to
 * everything that computes. It is not thread-safe: one thread uses it at a
 * time (its pool runs kernels on several).
 */
#ifndef POL_CONTEXT_H
#define POL_CONTEXT_H

#include "pol/status.h"
#include "pol/threads.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pol_kernels {
    POL_KERNELS_FAST = 0, /* blocked/vectorised kernels (default) */
    POL_KERNELS_REF = 1,  /* plain reference kernels: slow, the oracle */
    POL_KERNELS_BLAS = 2, /* tolerant mode only: GEMMs by OpenBLAS (pol_blas_gemm, with
                             the context's thread count), other ops by the fast
                             kernels; on a CUDA device, GEMMs by cuBLAS (pol/cuda.h,
                             pol_cuda_set_tolerant) with the math of the task's
                             gpu_math (pol_cuda_set_math, set by the trainer).
                             Not bitwise reproducible;
                             exact-mode tasks refuse it. */
} pol_kernels;

/* Where pol_graph_eval runs (pol/graph.h, pol/cuda.h). */
#define POL_DEVICE_CPU 0
#define POL_DEVICE_CUDA 1

typedef struct pol_ctx_opts {
    int threads;         /* >= 1; 0 means 1 */
    pol_kernels kernels; /* which CPU kernels the graph evaluator calls */
    int device;          /* 0 cpu, 1 cuda (POL_DEVICE_*); cuda makes a device context */
} pol_ctx_opts;

typedef struct pol_ctx pol_ctx;

/* Checks that the calling thread's floating-point environment is canonical:
 * round to nearest even, subnormals neither flushed (FTZ) nor treated as zero
 * (DAZ). Exact mode refuses to run otherwise (spec/arithmetic.md).
 * Returns: POL_OK or POL_ERR_FPENV with a message naming the problem. */
POL_WARN_UNUSED pol_status pol_check_fpenv(void);

/* Creates a context. opts may be NULL (1 thread, fast kernels, CPU).
 * With device POL_DEVICE_CUDA it also creates a CUDA device context.
 * Returns: POL_OK; POL_ERR_FPENV (see pol_check_fpenv); POL_ERR_INVALID_ARG;
 *          POL_ERR_NOMEM; POL_ERR_UNSUPPORTED (CUDA asked, built without it);
 *          POL_ERR_CUDA (no usable device). Out: *ctx, NULL on failure. */
POL_WARN_UNUSED pol_status pol_ctx_create(pol_ctx **ctx, const pol_ctx_opts *opts);

/* Frees the context and joins its threads. NULL is a no-op. */
void pol_ctx_destroy(pol_ctx *ctx);

/* The context's pool (NULL when it has one thread) and options. */
pol_pool *pol_ctx_pool(const pol_ctx *ctx);
int pol_ctx_threads(const pol_ctx *ctx);
pol_kernels pol_ctx_kernels(const pol_ctx *ctx);
int pol_ctx_device(const pol_ctx *ctx);

/* The CUDA device context (pol/cuda.h) of a POL_DEVICE_CUDA context, else NULL. */
struct pol_cuda *pol_ctx_cuda(const pol_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* POL_CONTEXT_H */
