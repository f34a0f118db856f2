/* libpol — the CUDA backend of the exact kernels.
 *
 * Every exact op of pol/kernels.h has a CUDA kernel (the .cu files of kernels/) that
 * returns the same bits as the CPU reference for every finite input: the
 * reductions follow the orders of pol/kernels.h and pol/reduce.h, and the
 * transcendentals come from pol/cmath.h, compiled for host and device alike.
 * Launch configuration (tile shape, split of K, block and grid sizes, the
 * GPU model) changes which thread computes which output, never an output.
 * NaN outputs are NaN on both sides but the device may return another NaN
 * payload than the host (the CPU propagates input payloads, the GPU returns
 * 0x7FFFFFFF); finite training never meets them.
 *
 * Tolerant mode (the "tolerant" section below) is the one exception: on a
 * context made with POL_KERNELS_BLAS, the GEMMs of linear and matmul nodes
 * go to cuBLAS and are not reproducible; every other op stays exact.
 *
 * In a build without CUDA (`make cuda=0`, or no nvcc) every function here
 * exists and returns POL_ERR_UNSUPPORTED (void functions do nothing; the
 * predicates return 0), so programs link and report it cleanly.
 *
 * Contracts common to the functions here:
 *   - pointer arguments are non-NULL unless stated;
 *   - "device tensor": a pol_tensor whose `data` is a device pointer (owns 0),
 *     e.g. from pol_cuda_tensor_alloc; host code must not dereference it;
 *   - one pol_cuda is used by one host thread at a time; all its work runs
 *     in order on one CUDA stream;
 *   - errors of asynchronous work surface at the next call that waits
 *     (pol_cuda_sync, downloads, node evaluation) as POL_ERR_CUDA.
 */
#ifndef POL_CUDA_H
#define POL_CUDA_H

#include <stddef.h>

#include "pol/graph.h"
#include "pol/kernels.h"
#include "pol/status.h"
#include "pol/task.h"
#include "pol/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if this libpol was built with the CUDA backend, else 0. */
int pol_cuda_built(void);

/* Returns: POL_OK when the backend is built and a CUDA device is usable;
 *          POL_ERR_UNSUPPORTED (built without CUDA); POL_ERR_CUDA (no device
 *          or no driver; the message says which). */
POL_WARN_UNUSED pol_status pol_cuda_available(void);

/* Name ("NVIDIA H100 80GB HBM3") and compute capability of the current
 * device. Out: name (NUL-terminated, truncated to cap), *major, *minor
 * (either may be NULL). */
POL_WARN_UNUSED pol_status pol_cuda_device_info(char *name, size_t cap, int *major, int *minor);

/* ------------------------------------------------------------ context -- */

typedef struct pol_cuda pol_cuda;

/* Creates a device context on the current device: one stream, a small
 * scratch area for reductions, and an arena of arena_bytes (0: none yet;
 * pol_cuda_reserve makes one). Returns: POL_OK; POL_ERR_UNSUPPORTED;
 * POL_ERR_CUDA; POL_ERR_NOMEM. Out: *c, NULL on failure. */
POL_WARN_UNUSED pol_status pol_cuda_create(pol_cuda **c, size_t arena_bytes);

/* Waits for outstanding work and frees everything. NULL is a no-op. */
void pol_cuda_destroy(pol_cuda *c);

/* Makes the arena at least `bytes` large. Only possible while nothing is
 * allocated from it (right after create or pol_cuda_reset): the arena is
 * allocated once per run, not per step.
 * Returns: POL_OK; POL_ERR_INVALID_ARG (arena in use and too small);
 *          POL_ERR_CUDA (out of device memory). */
POL_WARN_UNUSED pol_status pol_cuda_reserve(pol_cuda *c, size_t bytes);

/* Takes `bytes` (rounded up to 256) from the arena. Out: *dptr.
 * Returns: POL_OK; POL_ERR_NOMEM (the arena is full). */
POL_WARN_UNUSED pol_status pol_cuda_alloc(pol_cuda *c, size_t bytes, void **dptr);

/* Releases every allocation of the arena at once (keeps the memory). */
void pol_cuda_reset(pol_cuda *c);

/* A device tensor of the given shape from the arena (zero-filled), with
 * the same name/dtype/shape rules as pol_tensor_alloc. */
POL_WARN_UNUSED pol_status pol_cuda_tensor_alloc(pol_cuda *c, pol_tensor *t, const char *name,
                                                 pol_dtype dtype, int ndim,
                                                 const int64_t *shape);

/* Copies n bytes host -> device / device -> host. Downloads wait for all
 * earlier work of c; uploads are ordered before later work of c. An upload's
 * src must stay as it is until c's next work or pol_cuda_sync: CUDA copies
 * from pageable memory only "might be synchronous", so the bytes may be read
 * after the call returns (the CUDA emulator reads them then). */
POL_WARN_UNUSED pol_status pol_cuda_upload(pol_cuda *c, void *dst_dev, const void *src,
                                           size_t n);
POL_WARN_UNUSED pol_status pol_cuda_download(pol_cuda *c, void *dst, const void *src_dev,
                                             size_t n);

/* Waits for all work of c. Returns: POL_OK; POL_ERR_CUDA (a kernel failed);
 * POL_ERR_INVALID_ARG (a cross-entropy label was out of range). */
POL_WARN_UNUSED pol_status pol_cuda_sync(pol_cuda *c);

/* The cudaStream_t (as void *) that all work of c runs on, in order: for
 * callers that order their own CUDA work or events with c's (a non-blocking
 * stream: work on the legacy default stream does not wait for it). NULL in
 * a build without CUDA or for a NULL c. */
void *pol_cuda_stream(pol_cuda *c);

/* ------------------------------------------------ launch configuration --
 * For tests and benchmarks: forces a launch configuration. Every choice
 * yields the same bits; only speed differs. Zero fields mean "automatic". */
typedef struct pol_cuda_launch {
    int gemm_tile;   /* 0 auto (5, 2 or 3), 1 the 128x128 tile, 2 the 64x64
                        tile, 3 64x64 with a K step of 32 (not 16), 4 the
                        128x64 tile, 5 the 128x128 tile keeping its chunk
                        totals in device memory (two blocks an SM; where an
                        operand is not float4-readable, tile 1); a split K
                        uses 3 when 3 is set, else 2 */
    int gemm_splits; /* 0 auto, 1 never split K, s > 1: split K into up to
                        s groups of whole POL_KC chunks (when K > POL_KC) */
    int block;       /* threads per block of the element-wise and row
                        kernels: 0 auto (256), else 32..1024, multiple of 32 */
    int grid_max;    /* cap on blocks of those kernels: 0 auto, else >= 1 */
    int gemm_vec;    /* 0 auto: float4 loads of each GEMM operand whose rows
                        allow them; 1 scalar loads only */
} pol_cuda_launch;

/* l may be NULL (back to automatic). Returns POL_ERR_INVALID_ARG for a
 * value out of range (the configuration is then unchanged). */
POL_WARN_UNUSED pol_status pol_cuda_set_launch(pol_cuda *c, const pol_cuda_launch *l);

/* ------------------------------------------------------------- kernels -- */

/* The exact GEMM of pol/kernels.h on device pointers (g->A, g->B, g->bias,
 * g->C); asynchronous. A split of K, and the lean 128x128 tile that the
 * automatic choice takes where the big tile fills the GPU, work in c's
 * scratch memory (grown when too small, at most 1 GiB: the lean tile needs
 * about M x N floats, a split K chunks x M x N; past that they are not
 * used). Where the device refuses the lean tile's workspace, the automatic
 * choice runs the 128x128 tile instead, and asks for no workspace that
 * large again on c. Returns POL_OK; POL_ERR_CUDA (launch failed, or no device memory
 * for the scratch); POL_ERR_TOO_LARGE (M beyond one launch's grid). */
POL_WARN_UNUSED pol_status pol_cuda_gemm(pol_cuda *c, const pol_gemm_args *g);

/* pol_node_eval on device tensors: the same shape checks, then the op on
 * the device, then a wait. The optimizer scalars of the hyper input are
 * read on the device. A label out of range gives POL_ERR_INVALID_ARG (the
 * output is then unspecified, unlike on the CPU, which writes nothing).
 * Returns: POL_OK; POL_ERR_SHAPE; POL_ERR_INVALID_ARG; POL_ERR_CUDA. */
POL_WARN_UNUSED pol_status pol_cuda_node_eval(pol_cuda *c, pol_op op,
                                              const pol_node_params *params,
                                              const pol_tensor *const *in, int n_in,
                                              pol_tensor *out);

/* ------------------------------------------------------------ tolerant --
 * Tolerant mode on the GPU (spec/task.md "mode": "tolerant",
 * spec/profiling.md section 5): the GEMMs of the training step (the linear
 * node of each layer's forward pass, the matmul nodes of its backward pass)
 * run on cuBLAS on the context's stream, the CUDA counterpart of
 * POL_KERNELS_BLAS on the CPU; every other op (bias gradient, activations,
 * loss, optimizer) keeps its exact kernel. Results are checked by distance
 * against profiled thresholds, never by hash: cuBLAS's summation order
 * depends on the GPU, the cuBLAS version and the shape.
 *
 * Math (pol_cuda_set_math; a tolerant task's "gpu_math", spec/task.md
 * [T-KEY-4], which the trainer sets):
 *   - POL_GPU_MATH_FP32, the default: cublasSgemm with CUBLAS_DEFAULT_MATH,
 *     binary32 products and sums, no reduced-precision inputs;
 *   - POL_GPU_MATH_TF32: cublasGemmEx on the same binary32 matrices with
 *     CUBLAS_COMPUTE_32F_FAST_TF32: inputs rounded to TF32 (10-bit
 *     significand, relative error up to about 2^-11 per input) inside the
 *     tensor cores, binary32 accumulation;
 *   - POL_GPU_MATH_BF16: cublasGemmEx with CUBLAS_COMPUTE_32F_FAST_16BF:
 *     inputs rounded to bfloat16 (7-bit significand, about 2^-8 relative per
 *     input; cuBLAS may use TF32 instead, which is closer), binary32
 *     accumulation.
 * TF32 and BF16 differ from the CPU by far more than FP32 does (2^-24
 * relative per product), so their solvers need thresholds from a profile
 * that measured that math (spec/profiling.md [P-SRC-2]). Environment
 * variables that change cuBLAS's math behind the program's back
 * (NVIDIA_TF32_OVERRIDE) are not checked.
 *
 * One cuBLAS handle per pol_cuda, made on the first tolerant GEMM, bound to
 * its stream, destroyed by pol_cuda_destroy. cuBLAS errors are POL_ERR_CUDA
 * with a message naming the failing call. */

/* Routes the GEMMs of node evaluation (pol_cuda_node_eval, the graph
 * mirror) to cuBLAS (on != 0) or back to the exact kernel (0, the default).
 * pol_ctx_create sets it on the device of a context whose kernels are
 * POL_KERNELS_BLAS and never otherwise; the trainer refuses an exact-mode
 * task on such a context. Do not switch it on the device of a context by
 * hand: an exact-mode run would then lose its bits. pol_cuda_gemm is never
 * affected. Returns: POL_OK; POL_ERR_INVALID_ARG (c NULL). */
POL_WARN_UNUSED pol_status pol_cuda_set_tolerant(pol_cuda *c, int on);
int pol_cuda_tolerant(const pol_cuda *c); /* the setting above; 0 for NULL */

/* The math of the tolerant GEMMs (above): POL_GPU_MATH_FP32 (the default),
 * _TF32 or _BF16. A plain setting read by each cuBLAS call, no cuBLAS state:
 * it has no effect on exact GEMMs, so it is harmless on a context whose
 * GEMMs are exact. pol_trainer_create and pol_trainer_step set it to their
 * task's gpu_math on the device of a CUDA context, so a hand-made setting
 * lasts only until a trainer runs. Returns: POL_OK; POL_ERR_INVALID_ARG (c
 * NULL, or m not a pol_gpu_math; the setting is then unchanged). */
POL_WARN_UNUSED pol_status pol_cuda_set_math(pol_cuda *c, pol_gpu_math m);
pol_gpu_math pol_cuda_math(const pol_cuda *c); /* the setting above; FP32 for NULL */

/* The tolerant GEMM on device pointers: the contract of pol/kernels.h
 * except the summation order, which is cuBLAS's (cublasSgemm with alpha 1,
 * beta 1 on C pre-filled with the bias, or beta 0; cublasGemmEx for TF32
 * and BF16), with the math of pol_cuda_set_math; asynchronous. Not bitwise
 * reproducible; never used in exact mode. Returns: POL_OK; POL_ERR_INVALID_ARG; POL_ERR_TOO_LARGE (M,
 * N or K above INT_MAX); POL_ERR_CUDA (a launch or cuBLAS call failed, named
 * in the message). */
POL_WARN_UNUSED pol_status pol_cuda_blas_gemm(pol_cuda *c, const pol_gemm_args *g);

/* -------------------------------------------------------- graph mirror --
 * The device copy of a graph's tensors, used by pol_graph_eval when the
 * context's device is CUDA (pol/graph.h says when copies happen). One
 * arena allocation holds every tensor. */
typedef struct pol_cuda_graph pol_cuda_graph;

/* Allocates device copies of every tensor of the frozen graph g and
 * uploads them all. g must outlive the mirror. Out: *dg. */
POL_WARN_UNUSED pol_status pol_cuda_graph_create(pol_cuda *c, pol_graph *g, pol_cuda_graph **dg);
void pol_cuda_graph_destroy(pol_cuda_graph *dg);

/* Host -> device (upload) or device -> host (download) of tensor `id`. */
POL_WARN_UNUSED pol_status pol_cuda_graph_upload(pol_cuda_graph *dg, int id);
POL_WARN_UNUSED pol_status pol_cuda_graph_download(pol_cuda_graph *dg, int id);

/* Evaluates node i on the device copies (asynchronous, no shape checks:
 * the graph checked them when it was built). */
POL_WARN_UNUSED pol_status pol_cuda_graph_eval_node(pol_cuda_graph *dg, int i);

/* Tensor `id` := rows rows[0..n) of the host tensor src (n = the tensor's
 * first dimension; pol_graph_gather_rows checked shapes and rows, and the
 * row size is a multiple of 4 bytes). src goes to the device on first use,
 * in its own allocation (not the arena) kept until the mirror is destroyed,
 * found again by data pointer and size; at most POL_CUDA_MAX_SOURCES
 * sources per mirror. The row indices are uploaded only when they differ
 * from the previous call's (a training step gathers its inputs and its
 * labels with the same rows). Asynchronous.
 * Returns: POL_OK; POL_ERR_INVALID_ARG; POL_ERR_NOMEM (src does not fit:
 * it would take more than half of the free device memory, the device is
 * out of memory, or POL_CUDA_MAX_SOURCES sources are there already; no
 * rows were gathered, and a source that did not fit is not tried again);
 * POL_ERR_CUDA (a transfer or launch failed). */
#define POL_CUDA_MAX_SOURCES 4
POL_WARN_UNUSED pol_status pol_cuda_graph_gather_rows(pol_cuda_graph *dg, int id,
                                                      const pol_tensor *src, const uint32_t *rows);

/* Device-to-device copy of tensor src into tensor dst (same byte size). */
POL_WARN_UNUSED pol_status pol_cuda_graph_copy(pol_cuda_graph *dg, int dst, int src);

/* Waits for the mirror's work; as pol_cuda_sync. */
POL_WARN_UNUSED pol_status pol_cuda_graph_sync(pol_cuda_graph *dg);

#ifdef __cplusplus
}
#endif
#endif /* POL_CUDA_H */
