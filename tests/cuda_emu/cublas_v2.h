/* The CUDA emulator's cuBLAS: the calls kernels/blas.cu makes, with the
 * argument rules of the cuBLAS documentation and a plain column-major
 * reference GEMM behind them (tests/cuda_emu/README.md).
 *
 * It checks how libpol calls cuBLAS (the row-major to column-major
 * mapping, transposes, leading dimensions, alpha/beta and the bias), not
 * cuBLAS itself: its sums are in binary64, rounded once to binary32.
 * The handle's math mode CUBLAS_TF32_TENSOR_OP_MATH makes cublasSgemm
 * round as the TF32 compute type. The TF32 and BF16 compute types round
 * each input to a 10-bit (TF32) or 7-bit (BF16) significand, to nearest
 * even, before multiplying.
 * Every matrix an operation reads or writes must lie in device memory
 * (CUBLAS_STATUS_INVALID_VALUE otherwise, which cuBLAS itself cannot
 * always tell).
 */
#ifndef POL_CUDA_EMU_CUBLAS_H
#define POL_CUDA_EMU_CUBLAS_H

#include "cuda_runtime.h"

typedef struct pol_emu_cublas *cublasHandle_t;

enum cublasStatus_t {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
};

enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum cublasMath_t { CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3 };
enum cublasComputeType_t {
    CUBLAS_COMPUTE_32F = 68,
    CUBLAS_COMPUTE_32F_FAST_16BF = 75,
    CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
};
enum cudaDataType { CUDA_R_32F = 0 };
enum cublasGemmAlgo_t { CUBLAS_GEMM_DEFAULT = -1 };

cublasStatus_t cublasCreate(cublasHandle_t *h);
cublasStatus_t cublasDestroy(cublasHandle_t h);
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s);
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m);
const char *cublasGetStatusString(cublasStatus_t s);
const char *cublasGetStatusName(cublasStatus_t s);

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const float *alpha, const float *A, int lda,
                           const float *B, int ldb, const float *beta, float *C, int ldc);

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const void *alpha, const void *A, cudaDataType at,
                            int lda, const void *B, cudaDataType bt, int ldb, const void *beta,
                            void *C, cudaDataType ct, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t algo);

#endif
