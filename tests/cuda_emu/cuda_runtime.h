/* The CUDA emulator: the part of the CUDA runtime and device language that
 * kernels/ uses, implemented on the host, so that the very source of the
 * CUDA backend compiles with g++ and runs on a machine without a GPU
 * (`make emu-test`, tests/cuda_emu/README.md).
 *
 * What it is for: the logic of the kernels and of their host side (index
 * arithmetic, tiling, padding, split-K, reduction orders, barriers, launch
 * limits, host/device pointer discipline) checked bit for bit against the
 * CPU reference. What it is not: a GPU. The arithmetic is the host's
 * (IEEE binary32, round to nearest, no FTZ), which is what the device
 * does under the backend's nvcc flags (--fmad=false -ftz=false
 * -prec-div=true -prec-sqrt=true), but the device's instructions are never
 * executed here; only a run on a GPU (`make gpu-test`) checks them.
 *
 * Execution model (emu.cc):
 *   - every call is synchronous, but streams are tracked: device work on the
 *     legacy default stream while a stream made with cudaStreamNonBlocking
 *     has work in flight (nothing has waited for it since), or the reverse,
 *     fails with cudaErrorInvalidValue, because on a device the two are not
 *     ordered (work on two non-blocking streams is not checked);
 *   - a launch runs its blocks one after another, in an order shuffled per
 *     launch, and the threads of a block as fibers; between two barriers
 *     the threads run one after another in an order shuffled per barrier,
 *     so a read of shared or global memory that another thread writes
 *     without a barrier in between gives different results from run to run
 *     and from the CPU's (POL_EMU_SEED=<n> replays an order);
 *   - __syncthreads reached by some threads of a block but not by others
 *     (one returned, the others wait) fails the launch, as a hang or
 *     undefined behaviour would on the device;
 *   - launch configurations out of the device's limits fail with
 *     cudaErrorInvalidConfiguration;
 *   - device memory (cudaMalloc) is inaccessible to host code: it is mapped
 *     PROT_NONE except while a kernel, a copy or a set runs, so host code
 *     that dereferences a device pointer faults; a raw pointer argument of a
 *     kernel must be NULL or point into device memory;
 *   - __shared__ arrays are static storage of the kernel (one block runs at
 *     a time).
 * The emulated device reports POL_EMU_SMS (default 132, an H100 SXM's
 * count) multiprocessors.
 */
#ifndef POL_CUDA_EMU_RUNTIME_H
#define POL_CUDA_EMU_RUNTIME_H

#ifndef POL_CUDA_EMU
#error "tests/cuda_emu emulates the CUDA runtime on the host: compile with -DPOL_CUDA_EMU"
#endif

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <tuple>
#include <type_traits>
#include <utility>

/* ------------------------------------------------------- device language */

#define __global__
#define __device__
#define __host__
#define __shared__ static
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

/* The built-in variables of the thread that runs now (set by the scheduler
 * before it resumes a fiber). */
extern dim3 threadIdx, blockIdx, blockDim, gridDim;

void __syncthreads(void);

struct __attribute__((aligned(16))) float4 {
    float x, y, z, w;
};
static inline float4 make_float4(float x, float y, float z, float w)
{
    return float4{ x, y, z, w };
}

/* One IEEE operation each, round to nearest even (the host's mode). */
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __fsqrt_rn(float a) { return sqrtf(a); }
static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }

/* Threads of one launch never run at the same time here. */
static inline int atomicOr(int *p, int v)
{
    int old = *p;
    *p = old | v;
    return old;
}

/* ----------------------------------------------------------- runtime API */

enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorLaunchFailure = 719,
};

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};

enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };

#define cudaStreamNonBlocking 0x01

typedef struct pol_emu_stream *cudaStream_t;

struct cudaDeviceProp {
    char name[256];
    int major, minor;
    int multiProcessorCount;
    size_t totalGlobalMem;
};

/* Events time the host: an event records when the work before it on its
 * stream has run, which here is when it is recorded. Elapsed time between
 * two events of a stream with no work of that stream between them, while
 * another stream did work, is reported as an error (cudaErrorInvalidValue):
 * on a device those events would not have waited for that work. */
typedef struct pol_emu_event *cudaEvent_t;
cudaError_t cudaEventCreate(cudaEvent_t *e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaDeviceSynchronize(void);

const char *cudaGetErrorString(cudaError_t e);
const char *cudaGetErrorName(cudaError_t e);
cudaError_t cudaGetLastError(void);
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaGetDevice(int *dev);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev);
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int dev);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
/* Device memory is POL_EMU_MEM bytes (default 16 GiB; more fails with
 * cudaErrorMemoryAllocation). */
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
cudaError_t cudaMalloc(void **p, size_t bytes);
/* as the runtime's C++ overload */
template <typename T> cudaError_t cudaMalloc(T **p, size_t bytes)
{
    return cudaMalloc(reinterpret_cast<void **>(p), bytes);
}
cudaError_t cudaFree(void *p);
cudaError_t cudaMemset(void *p, int v, size_t n);
cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t s);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind k);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind k,
                            cudaStream_t s);

/* --------------------------------------------------------------- launches */

namespace pol_emu {

/* 1 when [p, p + bytes) lies inside one device allocation (bytes 0: p
 * itself does, or is one past its end). */
bool in_device(const void *p, size_t bytes);

/* Runs body(ctx) once per thread of the launch (see the header comment);
 * a failure becomes the launch's error (cudaGetLastError). */
void run(dim3 grid, dim3 block, cudaStream_t s, void (*body)(void *), void *ctx,
         const char *bad_arg);

template <typename T> const char *check_arg(const T &v, int i)
{
    if constexpr (std::is_pointer_v<T>) {
        static const char *const what[] = { "kernel argument 0 is a host pointer",
                                            "kernel argument 1 is a host pointer",
                                            "kernel argument 2 is a host pointer",
                                            "kernel argument 3 is a host pointer",
                                            "kernel argument 4 is a host pointer",
                                            "kernel argument 5 is a host pointer",
                                            "kernel argument 6 is a host pointer",
                                            "kernel argument 7 or later is a host pointer" };
        if (v && !in_device(v, 0))
            return what[i < 7 ? i : 7];
    }
    (void)v, (void)i;
    return nullptr;
}

template <typename... P> struct launcher {
    dim3 grid, block;
    cudaStream_t stream;
    void (*kernel)(P...);

    template <typename... A> void operator()(A &&...args) const
    {
        static_assert(sizeof...(A) == sizeof...(P), "wrong number of kernel arguments");
        /* the parameters by value, converted as a launch converts them */
        std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);
        const char *bad = nullptr;
        std::apply([&](const auto &...v) {
            int i = 0;
            ((bad = bad ? bad : check_arg(v, i), i++), ...);
        }, params);
        struct ctx_t {
            void (*k)(P...);
            std::tuple<std::decay_t<P>...> *t;
        } ctx{ kernel, &params };
        /* every thread gets its own copy of the parameters, as on the device */
        run(grid, block, stream,
            [](void *c) {
                ctx_t *x = static_cast<ctx_t *>(c);
                std::tuple<std::decay_t<P>...> mine = *x->t;
                std::apply(x->k, mine);
            },
            &ctx, bad);
    }
};

template <typename... P>
launcher<P...> launch(dim3 grid, dim3 block, cudaStream_t s, void (*kernel)(P...))
{
    return launcher<P...>{ grid, block, s, kernel };
}

} // namespace pol_emu

#endif
