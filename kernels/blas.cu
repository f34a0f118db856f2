/* The tolerant-mode GEMM on the device: cuBLAS (pol/cuda.h,
 * pol_cuda_blas_gemm), the CUDA counterpart of pol_blas_gemm.
 *
 * Not bit-reproducible: cuBLAS picks its kernel, tiling and split of K by
 * GPU model, library version and shape, so its summation order is its own.
 * Never used in exact mode: only pol_cuda_blas_gemm itself and node
 * evaluation of a pol_cuda with `tolerant` set (pol_ctx_create sets it for
 * POL_KERNELS_BLAS, which exact-mode tasks refuse) come here.
 *
 * Row-major through column-major cuBLAS: a row-major R x S matrix is the
 * column-major S x R matrix of the same bytes, its transpose. So the
 * row-major C = op(A) op(B) (M x N) is computed as the column-major
 * C^T = op(B)^T op(A)^T (N x M, ld N): cuBLAS's first operand is B with
 * op_b (ld N, or K when B is stored transposed), its second is A with op_a
 * (ld K, or M when A is stored transposed).
 *
 * Bias: as on the CPU (lib/math/blas.c), C is pre-filled with the bias row
 * and cuBLAS runs with alpha 1, beta 1; without a bias beta is 0 and C is
 * never read (cuBLAS does not read C when beta == 0).
 *
 * Math (pol_cuda_set_math): FP32 is cublasSgemm on a handle whose math mode
 * is CUBLAS_DEFAULT_MATH, always (no tensor-op math is ever set on it). TF32
 * and BF16 are cublasGemmEx on the same binary32 matrices (CUDA_R_32F for A,
 * B, C and the scalars) with the compute types CUBLAS_COMPUTE_32F_FAST_TF32
 * and CUBLAS_COMPUTE_32F_FAST_16BF: the compute type of each call, not the
 * handle, chooses the reduced-precision inputs, so switching the math needs
 * no cuBLAS call and cannot fail.
 */
#include <limits.h>
#include <stdint.h>

#include <cublas_v2.h>

#include "internal.cuh"

namespace {

pol_status blas_err(cublasStatus_t s, const char *call)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return POL_OK;
    return pol_errorf(POL_ERR_CUDA, "%s: %s (%s)", call, cublasGetStatusString(s),
                      cublasGetStatusName(s));
}

/* The handle of c, made once (bound to c's stream, default math). */
pol_status handle(pol_cuda *c, cublasHandle_t *h)
{
    if (!c->blas) {
        cublasHandle_t nh = NULL;
        pol_status st = blas_err(cublasCreate(&nh), "cublasCreate");
        if (!st)
            st = blas_err(cublasSetStream(nh, c->stream), "cublasSetStream");
        if (!st)
            st = blas_err(cublasSetMathMode(nh, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
        if (st) {
            if (nh)
                cublasDestroy(nh);
            return st;
        }
        c->blas = (void *)nh;
    }
    *h = (cublasHandle_t)c->blas;
    return POL_OK;
}

/* C[i][j] = bias[j] for an M x N row-major C. */
__global__ void bias_rows_kernel(int64_t M, int64_t N, const float *bias, float *C)
{
    const int64_t MN = M * N;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < MN;
         e += (int64_t)gridDim.x * blockDim.x)
        C[e] = bias[e % N];
}

} // namespace

void pol__cuda_blas_destroy(pol_cuda *c)
{
    if (c && c->blas) {
        cublasDestroy((cublasHandle_t)c->blas);
        c->blas = NULL;
    }
}

extern "C" pol_status pol_cuda_set_tolerant(pol_cuda *c, int on)
{
    if (!c)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_set_tolerant: NULL context");
    c->tolerant = on != 0;
    return POL_OK;
}

extern "C" int pol_cuda_tolerant(const pol_cuda *c) { return c ? c->tolerant : 0; }

extern "C" pol_status pol_cuda_set_math(pol_cuda *c, pol_gpu_math m)
{
    if (!c)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_set_math: NULL context");
    if (m != POL_GPU_MATH_FP32 && m != POL_GPU_MATH_TF32 && m != POL_GPU_MATH_BF16)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_set_math: unknown math %d", (int)m);
    c->math = m;
    return POL_OK;
}

extern "C" pol_gpu_math pol_cuda_math(const pol_cuda *c)
{
    return c ? c->math : POL_GPU_MATH_FP32;
}

extern "C" pol_status pol_cuda_blas_gemm(pol_cuda *c, const pol_gemm_args *g)
{
    if (!c || !g || g->M < 0 || g->N < 0 || g->K < 0)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_blas_gemm: bad argument");
    const int64_t M = g->M, N = g->N, K = g->K;
    if (M == 0 || N == 0)
        return POL_OK;
    if (M > INT_MAX || N > INT_MAX || K > INT_MAX)
        return pol_errorf(POL_ERR_TOO_LARGE, "cuBLAS GEMM %lld x %lld x %lld: a size exceeds "
                          "INT_MAX", (long long)M, (long long)N, (long long)K);
    if (g->bias) {
        int grid, block;
        pol__cuda_grid(c, M * N, &grid, &block);
        POL_LAUNCH(grid, block, c->stream, bias_rows_kernel)(M, N, g->bias, g->C);
        pol_status st = pol__cuda_err(cudaGetLastError(), "cuBLAS GEMM bias launch");
        if (st)
            return st;
    }
    if (K == 0) { /* C = bias, or 0: cuBLAS need not be called */
        if (g->bias)
            return POL_OK;
        return pol__cuda_err(cudaMemsetAsync(g->C, 0, (size_t)(M * N) * sizeof(float), c->stream),
                             "cuBLAS GEMM zero fill");
    }
    cublasHandle_t h;
    pol_status st = handle(c, &h);
    if (st)
        return st;
    const float one = 1.0f, zero = 0.0f;
    const cublasOperation_t op_b = g->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                            op_a = g->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const int ldb = (int)(g->trans_b ? K : N), lda = (int)(g->trans_a ? M : K);
    const float *beta = g->bias ? &one : &zero;
    if (c->math == POL_GPU_MATH_FP32)
        return blas_err(cublasSgemm(h, op_b, op_a, (int)N, (int)M, (int)K, &one, g->B, ldb, g->A,
                                    lda, beta, g->C, (int)N),
                        "cublasSgemm");
    const cublasComputeType_t ct = c->math == POL_GPU_MATH_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                : CUBLAS_COMPUTE_32F_FAST_16BF;
    return blas_err(cublasGemmEx(h, op_b, op_a, (int)N, (int)M, (int)K, &one, g->B, CUDA_R_32F,
                                 ldb, g->A, CUDA_R_32F, lda, beta, g->C, CUDA_R_32F, (int)N, ct,
                                 CUBLAS_GEMM_DEFAULT),
                    c->math == POL_GPU_MATH_TF32 ? "cublasGemmEx (TF32)" : "cublasGemmEx (BF16)");
}
