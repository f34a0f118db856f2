/* kernel-audit-expect: atomic
 *
 * Planted for scripts/kernel-audit.sh --selftest: a sum by float atomicAdd
 * (atom/red .add.f32), whose order of additions, and so its result, depends
 * on scheduling (spec/arithmetic.md A-RED-3). */
__global__ void atomic_sum_kernel(int n, const float *x, float *sum)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        atomicAdd(sum, x[i]);
}
