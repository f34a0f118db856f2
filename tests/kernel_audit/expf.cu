/* kernel-audit-expect: special
 *
 * Planted for scripts/kernel-audit.sh --selftest: CUDA's fast exponential
 * __expf is ex2.approx (an approximation of 2^x, a few ulp off); libpol's
 * kernels use pol_expf of pol/cmath.h. */
__global__ void expf_kernel(int n, const float *x, float *y)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] = __expf(x[i]);
}
