/* kernel-audit-expect: flags ieee
 * kernel-audit-drop: --fmad=false
 * kernel-audit-add: --fmad=true
 *
 * Planted for scripts/kernel-audit.sh --selftest: plain products compiled
 * as if the build had lost --fmad=false. nvcc then writes `a*b` as a bare
 * mul.f32, which ptxas is free to fuse with a later add (and `a*b + c`
 * straight away as fma.rn.f32, which the PTX cannot tell from a written fma:
 * so the flags are checked too). */
__global__ void fmad_kernel(int n, const float *a, const float *b, float *y)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] = a[i] * b[i];
}
