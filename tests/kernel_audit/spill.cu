/* kernel-audit-expect: resources
 *
 * Planted for scripts/kernel-audit.sh --selftest: 96 running sums per thread
 * under __launch_bounds__(1024, 2), which leaves 32 registers a thread, so
 * ptxas spills them to local memory (spill stores and loads, a stack frame):
 * the fate of a GEMM tile grown too large. */
#define SUMS 96

__global__ void __launch_bounds__(1024, 2) spill_kernel(const float *a, int n, float *y)
{
    float acc[SUMS];
#pragma unroll
    for (int j = 0; j < SUMS; j++)
        acc[j] = a[j];
    for (int i = 0; i < n; i++) {
        const float x = a[SUMS + i];
#pragma unroll
        for (int j = 0; j < SUMS; j++)
            acc[j] = __fmaf_rn(acc[j], x, a[j * 7 + i]);
    }
#pragma unroll
    for (int j = 0; j < SUMS; j++)
        y[j * blockDim.x + threadIdx.x] = acc[j];
}
