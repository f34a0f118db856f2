/* kernel-audit-expect: launch
 *
 * Planted for scripts/kernel-audit.sh --selftest: 80 running sums per thread
 * and no __launch_bounds__, so ptxas may use more than 64 registers a thread
 * (it does not spill); launched with 1024 threads, a block would need more
 * than the 65536 registers it may hold, and the launch fails on a GPU. */
#define SUMS 80

__global__ void regs_kernel(const float *a, int n, float *y)
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
