/* Internal to the CUDA backend: the device context and the launchers the
 * .cu files share. Not installed. */
#ifndef POL_KERNELS_INTERNAL_CUH
#define POL_KERNELS_INTERNAL_CUH

#include <cuda_runtime.h>

#include "pol/cuda.h"

/* POL_LAUNCH(grid, block, stream, kernel)(args...) is
 * kernel<<<grid, block, 0, stream>>>(args...). Written this way so that the
 * host emulator of tests/cuda_emu (make emu-test) compiles the same source;
 * `kernel` may be a template-id with commas. */
#if defined(POL_CUDA_EMU)
#define POL_LAUNCH(grid, block, stream, ...) pol_emu::launch((grid), (block), (stream), __VA_ARGS__)
#else
#define POL_LAUNCH(grid, block, stream, ...) __VA_ARGS__<<<(grid), (block), 0, (stream)>>>
#endif

struct pol_cuda {
    cudaStream_t stream;
    int device, n_sm;
    char *arena;            /* device; one allocation per run */
    size_t arena_cap, arena_used;
    void *scratch;          /* device; split-K chunk sums, per-row losses */
    size_t scratch_cap;
    size_t scratch_refused; /* smallest scratch size cudaMalloc refused, 0: none;
                               the automatic lean GEMM tile asks no more then */
    int *flag;              /* device; nonzero: a label was out of range */
    pol_cuda_launch launch; /* forced configuration, zeros for automatic */
    pol_status pending;     /* first error of an operation that could not report it */
    /* tolerant mode (blas.cu): node GEMMs by cuBLAS when `tolerant`, with
     * the math `math`; the handle is made on first use */
    int tolerant;
    pol_gpu_math math;
    void *blas;             /* cublasHandle_t, bound to `stream`; NULL until needed */
};

/* POL_ERR_CUDA with the runtime's message, or POL_OK for cudaSuccess. */
pol_status pol__cuda_err(cudaError_t e, const char *what);

/* A device buffer of at least `bytes` that stays valid until the next call
 * (it is reused by every op, in stream order). */
pol_status pol__cuda_scratch(pol_cuda *c, size_t bytes, void **p);

/* Threads per block and blocks of the element-wise and row kernels for n
 * independent items. */
void pol__cuda_grid(const pol_cuda *c, int64_t n, int *grid, int *block);

/* Destroys the cuBLAS handle of c, if any (pol_cuda_destroy). */
void pol__cuda_blas_destroy(pol_cuda *c);

/* dst row r := src row idx[r] for r < n, rows of `words` 4-byte words (a
 * plain copy: no arithmetic). Launch only, no wait. */
pol_status pol__cuda_gather_rows(pol_cuda *c, void *dst, const void *src, const uint32_t *idx,
                                 int64_t n, int64_t words);

/* Launches op on device tensors (no shape checks, no wait). */
pol_status pol__cuda_launch_op(pol_cuda *c, pol_op op, const pol_node_params *p,
                               const pol_tensor *const *in, pol_tensor *out);

#endif
