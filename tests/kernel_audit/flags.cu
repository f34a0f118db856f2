/* kernel-audit-expect: flags
 * kernel-audit-drop: -prec-div=true
 *
 * Planted for scripts/kernel-audit.sh --selftest: a lost -prec-div=true.
 * Without fast math nvcc's default is the same IEEE division, so the PTX
 * does not change (div.rn.f32); the flag rule still rejects the build, as
 * it must state every IEEE setting itself. */
__global__ void div_kernel(int n, const float *a, const float *b, float *y)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] = __fdiv_rn(a[i], b[i]);
}
