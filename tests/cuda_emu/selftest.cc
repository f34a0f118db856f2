/* The CUDA emulator's own checks, each shown to fire (and not to fire on
 * correct code): barrier divergence, launch limits, host pointers passed to
 * kernels, host code touching device memory, unordered legacy-stream work,
 * events that time nothing, device-memory exhaustion, copies into
 * adjacent allocations, and what a process holds when it exits. Also the emulator's model of cuBLAS: its SGEMM and
 * GemmEx (FP32 compute) against OpenBLAS's cblas_sgemm, whose column-major
 * arguments mean what cuBLAS's do (the reference BLAS interface). Exit
 * status 0 when every expectation holds. Run by make emu-test. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cblas.h>
#include <math.h>

#include <vector>

#include "cublas_v2.h"
#include "cuda_runtime.h"

namespace {

int failures;

void expect(bool ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

__global__ void fill(int n, float *out)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        out[i] = (float)i;
}

/* Reverses each block's slice through shared memory; `sync` 0 leaves out
 * the barrier (a race the shuffled order exposes), 2 lets thread 0 skip it. */
__global__ void reverse(int sync, const float *in, float *out)
{
    __shared__ float buf[64];
    const int t = threadIdx.x, base = blockIdx.x * 64;
    buf[t] = in[base + t];
    if (sync == 1 || (sync == 2 && t != 0))
        __syncthreads();
    out[base + t] = buf[63 - t];
}

/* Runs f() in a child process (a failure that spoils the emulated context
 * stays there). Returns its wait status. */
template <typename F> int in_child(F f)
{
    fflush(stdout);
    pid_t p = fork();
    if (p == 0)
        _exit(f() ? 0 : 1);
    int status = 0;
    waitpid(p, &status, 0);
    return status;
}

/* 1 when f() dies of SIGSEGV in a child process. */
template <typename F> bool segfaults(F f)
{
    const int status = in_child([&] { f(); return true; });
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}


/* One column-major GEMM, C = alpha op(A) op(B) + beta C, through the
 * emulator's cuBLAS (cublasSgemm, or cublasGemmEx with FP32 compute when
 * `ex`) and through OpenBLAS on the same host data. `swap` passes the
 * emulator the other operation for A and B (a caller's mistake the check
 * must notice). Returns true when every entry agrees within float
 * rounding of the sum of the terms' magnitudes. */
bool gemm_agrees(cudaStream_t st, cublasHandle_t h, bool ta, bool tb, int m, int n, int k,
                 int pad, float alpha, float beta, bool ex, bool swap)
{
    const int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    const int lda = ar + pad, ldb = br + pad, ldc = m + pad;
    std::vector<float> A((size_t)lda * ac), B((size_t)ldb * bc), C((size_t)ldc * n), R, G;
    unsigned x = 12345u + (unsigned)(m * 31 + n * 7 + k);
    auto rnd = [&] { x = x * 1664525u + 1013904223u; return (float)((int)(x >> 9) % 2001 - 1000) / 256.0f; };
    for (float &v : A) v = rnd();
    for (float &v : B) v = rnd();
    for (float &v : C) v = rnd();
    R = C;
    cblas_sgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m,
                n, k, alpha, A.data(), lda, B.data(), ldb, beta, R.data(), ldc);
    float *dA, *dB, *dC;
    cudaMalloc(&dA, A.size() * 4);
    cudaMalloc(&dB, B.size() * 4);
    cudaMalloc(&dC, C.size() * 4);
    cudaMemcpyAsync(dA, A.data(), A.size() * 4, cudaMemcpyHostToDevice, st);
    cudaMemcpyAsync(dB, B.data(), B.size() * 4, cudaMemcpyHostToDevice, st);
    cudaMemcpyAsync(dC, C.data(), C.size() * 4, cudaMemcpyHostToDevice, st);
    const cublasOperation_t oa = (ta != swap) ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t ob = (tb != swap) ? CUBLAS_OP_T : CUBLAS_OP_N;
    const int la = swap ? (ta ? m : k) + pad : lda, lb = swap ? (tb ? k : n) + pad : ldb;
    cublasStatus_t s =
        ex ? cublasGemmEx(h, oa, ob, m, n, k, &alpha, dA, CUDA_R_32F, la, dB, CUDA_R_32F, lb,
                          &beta, dC, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT)
           : cublasSgemm(h, oa, ob, m, n, k, &alpha, dA, la, dB, lb, &beta, dC, ldc);
    G.resize(C.size());
    cudaMemcpyAsync(G.data(), dC, G.size() * 4, cudaMemcpyDeviceToHost, st);
    cudaStreamSynchronize(st);
    cudaFree(dA);
    cudaFree(dB);
    cudaFree(dC);
    if (s != CUBLAS_STATUS_SUCCESS)
        return false;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double mag = fabs((double)beta * C[i + (size_t)j * ldc]);
            for (int l = 0; l < k; l++)
                mag += fabs((double)alpha * A[ta ? l + (size_t)i * lda : i + (size_t)l * lda] *
                            B[tb ? j + (size_t)l * ldb : l + (size_t)j * ldb]);
            const double d = fabs((double)G[i + (size_t)j * ldc] - R[i + (size_t)j * ldc]);
            if (!(d <= (k + 2) * 0x1p-23 * mag + 0x1p-126))
                return false;
        }
    /* the padding rows of C are not written */
    for (int j = 0; j < n; j++)
        for (int i = m; i < ldc; i++)
            if (G[i + (size_t)j * ldc] != C[i + (size_t)j * ldc])
                return false;
    return true;
}

} // namespace

/* The exit check: with POL_EMU_LEAKS=fail, a process that exits holding
 * device memory (or a stream) ends with status 86; one that released
 * everything, with its own. Run first, while this process holds nothing
 * the children would inherit. */
void check_exit_leaks()
{
    fflush(stdout);
    int status[2] = { 0, 0 };
    for (int leak = 0; leak < 2; leak++) {
        pid_t p = fork();
        if (p == 0) {
            setenv("POL_EMU_LEAKS", "fail", 1);
            if (leak && !freopen("/dev/null", "w", stderr)) /* its report is expected */
                _exit(1);
            void *d = nullptr;
            cudaStream_t s;
            if (cudaMalloc(&d, 256) != cudaSuccess ||
                cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess)
                _exit(1);
            if (!leak && (cudaFree(d) != cudaSuccess || cudaStreamDestroy(s) != cudaSuccess))
                _exit(1);
            exit(0); /* exit, not _exit: the check runs with the static destructors */
        }
        waitpid(p, &status[leak], 0);
    }
    expect(WIFEXITED(status[0]) && WEXITSTATUS(status[0]) == 0,
           "a process that released its device memory and stream exits with its own status");
    expect(WIFEXITED(status[1]) && WEXITSTATUS(status[1]) == 86,
           "with POL_EMU_LEAKS=fail, one that exits holding device memory ends with status 86");
}

int main()
{
    check_exit_leaks();
    cudaStream_t st;
    cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking);
    float *a = nullptr, *b = nullptr;
    cudaMalloc(&a, 64 * 8 * sizeof(float));
    cudaMalloc(&b, 64 * 8 * sizeof(float));
    float host[512];

    /* a correct kernel runs and copies back */
    pol_emu::launch(dim3(3), dim3(64), st, fill)(512, a);
    bool ok = cudaGetLastError() == cudaSuccess &&
              cudaMemcpyAsync(host, a, sizeof host, cudaMemcpyDeviceToHost, st) == cudaSuccess &&
              cudaStreamSynchronize(st) == cudaSuccess;
    expect(ok && host[0] == 0.0f && host[511] == 511.0f, "a grid-stride kernel fills 512 values");

    /* barriers: with one the reversal is right; without, the shuffled order
     * shows the race; a barrier some threads skip fails the launch */
    pol_emu::launch(dim3(8), dim3(64), st, reverse)(1, a, b);
    cudaMemcpyAsync(host, b, sizeof host, cudaMemcpyDeviceToHost, st);
    cudaStreamSynchronize(st);
    expect(cudaGetLastError() == cudaSuccess && host[0] == 63.0f && host[511] == 448.0f,
           "shared-memory reversal with __syncthreads is right");
    bool raced = false;
    for (int rep = 0; rep < 4 && !raced; rep++) {
        pol_emu::launch(dim3(8), dim3(64), st, reverse)(0, a, b);
        cudaMemcpyAsync(host, b, sizeof host, cudaMemcpyDeviceToHost, st);
        cudaStreamSynchronize(st);
        for (int i = 0; i < 512; i++)
            raced |= host[i] != (float)((i / 64) * 64 + 63 - i % 64);
    }
    expect(raced, "without __syncthreads the race shows in the output");

    /* launch limits and host pointers fail before any thread runs */
    pol_emu::launch(dim3(1), dim3(2048), st, fill)(1, a);
    expect(cudaGetLastError() == cudaErrorInvalidConfiguration, "2048 threads per block refused");
    pol_emu::launch(dim3(1, 70000), dim3(32), st, fill)(1, a);
    expect(cudaGetLastError() == cudaErrorInvalidConfiguration, "grid.y 70000 refused");

    const int hp = in_child([&] {
        pol_emu::launch(dim3(1), dim3(32), st, fill)(32, host);
        return cudaGetLastError() == cudaErrorLaunchFailure;
    });
    expect(WIFEXITED(hp) && WEXITSTATUS(hp) == 0,
           "a host pointer passed to a kernel fails the launch");

    /* host code touching device memory faults; the same read through a copy works */
    expect(segfaults([&] { volatile float v = a[0]; (void)v; }),
           "host code reading device memory faults");
    expect(!segfaults([&] { float v; cudaMemcpy(&v, a, 4, cudaMemcpyDeviceToHost); }),
           "the same read through cudaMemcpy does not");

    /* events: a pair on the legacy stream around work on the non-blocking one */
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    cudaStreamSynchronize(st);
    cudaEventRecord(e0);
    pol_emu::launch(dim3(1), dim3(32), st, fill)(32, a);
    cudaEventRecord(e1);
    float ms = 0;
    expect(cudaEventElapsedTime(&ms, e0, e1) == cudaErrorInvalidValue,
           "events on the legacy stream around another stream's work are refused");
    cudaEventRecord(e0, st);
    pol_emu::launch(dim3(1), dim3(32), st, fill)(32, a);
    cudaEventRecord(e1, st);
    cudaEventSynchronize(e1);
    expect(cudaEventElapsedTime(&ms, e0, e1) == cudaSuccess, "events on the work's stream time it");
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);

    /* ordering: legacy-stream work while the non-blocking stream has work in flight */
    pol_emu::launch(dim3(1), dim3(32), st, fill)(32, a);
    expect(cudaMemset(b, 0, 4) == cudaErrorInvalidValue,
           "cudaMemset on the legacy stream with the other stream's work in flight refused");
    cudaStreamSynchronize(st);
    expect(cudaMemset(b, 0, 4) == cudaSuccess, "after cudaStreamSynchronize it is fine");
    cudaDeviceSynchronize();

    /* device memory: adjacent allocations, exhaustion */
    float *x = nullptr, *y = nullptr, *z = nullptr;
    cudaMalloc(&x, 4096);
    cudaMalloc(&y, 4096);
    cudaFree(x);
    cudaMalloc(&z, 4096);
    expect(cudaMemcpy(z, host, 4096, cudaMemcpyHostToDevice) == cudaSuccess &&
               cudaMemcpy(y, host, 4096, cudaMemcpyHostToDevice) == cudaSuccess,
           "copies into freshly placed, possibly adjacent, allocations work");
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    void *huge = nullptr;
    expect(cudaMalloc(&huge, free_b + 1) == cudaErrorMemoryAllocation && !huge &&
               cudaGetLastError() == cudaErrorMemoryAllocation &&
               cudaGetLastError() == cudaSuccess,
           "more than the free memory is refused, and the error is not sticky");
    cudaFree(y);
    cudaFree(z);

    /* the emulator's cuBLAS against OpenBLAS: every operation pair, odd
     * sizes, padded leading dimensions, alpha and beta of both kinds */
    {
        cublasHandle_t h;
        cublasCreate(&h);
        cublasSetStream(h, st);
        int agree = 0, cases = 0;
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int ex = 0; ex < 2; ex++) {
                    agree += gemm_agrees(st, h, ta, tb, 13, 7, 29, 3, 0.75f, -0.5f, ex, false);
                    agree += gemm_agrees(st, h, ta, tb, 5, 17, 1, 0, 1.0f, 0.0f, ex, false);
                    agree += gemm_agrees(st, h, ta, tb, 33, 9, 64, 1, -1.25f, 1.0f, ex, false);
                    cases += 3;
                }
        expect(agree == cases, "cuBLAS SGEMM and GemmEx (FP32) agree with OpenBLAS on all 24 cases");
        int caught = 0;
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                caught += !gemm_agrees(st, h, ta, tb, 12, 12, 12, 0, 1.0f, 0.0f, false, true);
        expect(caught == 4, "a GEMM given the other operations than OpenBLAS disagrees with it");
        cublasDestroy(h);
    }

    /* a download reaches host memory when its stream is synchronized, not
     * before (pageable copies "might be synchronous": no more) */
    {
        pol_emu::launch(dim3(2), dim3(64), st, fill)(128, a);
        float early[128];
        memset(early, 0, sizeof early);
        const bool queued = cudaMemcpyAsync(early, a, sizeof early, cudaMemcpyDeviceToHost, st) ==
                            cudaSuccess;
        uint32_t bits;
        memcpy(&bits, &early[127], 4);
        const bool poisoned = bits == 0xFFFFFFFFu;
        const bool later = cudaStreamSynchronize(st) == cudaSuccess && early[0] == 0.0f &&
                           early[127] == 127.0f;
        expect(queued && poisoned && later,
               "a download read before cudaStreamSynchronize holds 0xFF bytes, after it the data");
        /* an upload reads its source when the stream next works */
        float src[4] = { 1.0f, 2.0f, 3.0f, 4.0f }, back[4];
        cudaMemcpyAsync(a, src, sizeof src, cudaMemcpyHostToDevice, st);
        src[3] = 5.0f;
        cudaMemcpyAsync(back, a, sizeof back, cudaMemcpyDeviceToHost, st);
        cudaStreamSynchronize(st);
        expect(back[0] == 1.0f && back[3] == 5.0f,
               "an upload reads its source when the stream's next work starts, not at the call");
    }

    /* last, since it spoils the context: a barrier thread 0 skips */
    pol_emu::launch(dim3(8), dim3(64), st, reverse)(2, a, b);
    expect(cudaGetLastError() == cudaErrorLaunchFailure &&
               cudaStreamSynchronize(st) == cudaErrorLaunchFailure,
           "a __syncthreads skipped by one thread fails the launch, and the context");
    cudaFree(a); /* release all, or the exit check reports them */
    cudaFree(b);
    cudaStreamDestroy(st);

    printf("%s: %d failures\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
