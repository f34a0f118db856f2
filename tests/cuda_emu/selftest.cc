/* The CUDA emulator's own checks, each shown to fire (and not to fire on
 * correct code): barrier divergence, launch limits, host pointers passed to
 * kernels, host code touching device memory, unordered legacy-stream work,
 * events that time nothing, device-memory exhaustion, and copies into
 * adjacent allocations. Exit status 0 when every expectation holds.
 * Run by make emu-test. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

} // namespace

int main()
{
    cudaStream_t st;
    cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking);
    float *a = nullptr, *b = nullptr;
    cudaMalloc(&a, 64 * 8 * sizeof(float));
    cudaMalloc(&b, 64 * 8 * sizeof(float));
    float host[512];

    /* a correct kernel runs and copies back */
    pol_emu::launch(dim3(3), dim3(64), st, fill)(512, a);
    bool ok = cudaGetLastError() == cudaSuccess &&
              cudaMemcpyAsync(host, a, sizeof host, cudaMemcpyDeviceToHost, st) == cudaSuccess;
    expect(ok && host[0] == 0.0f && host[511] == 511.0f, "a grid-stride kernel fills 512 values");

    /* barriers: with one the reversal is right; without, the shuffled order
     * shows the race; a barrier some threads skip fails the launch */
    pol_emu::launch(dim3(8), dim3(64), st, reverse)(1, a, b);
    cudaMemcpyAsync(host, b, sizeof host, cudaMemcpyDeviceToHost, st);
    expect(cudaGetLastError() == cudaSuccess && host[0] == 63.0f && host[511] == 448.0f,
           "shared-memory reversal with __syncthreads is right");
    bool raced = false;
    for (int rep = 0; rep < 4 && !raced; rep++) {
        pol_emu::launch(dim3(8), dim3(64), st, reverse)(0, a, b);
        cudaMemcpyAsync(host, b, sizeof host, cudaMemcpyDeviceToHost, st);
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

    /* last, since it spoils the context: a barrier thread 0 skips */
    pol_emu::launch(dim3(8), dim3(64), st, reverse)(2, a, b);
    expect(cudaGetLastError() == cudaErrorLaunchFailure &&
               cudaStreamSynchronize(st) == cudaErrorLaunchFailure,
           "a __syncthreads skipped by one thread fails the launch, and the context");

    printf("%s: %d failures\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
