/* kernel-audit-expect: resources
 *
 * Planted for scripts/kernel-audit.sh --selftest: a per-thread array read at
 * an index known only at run time cannot live in registers; ptxas gives the
 * kernel a stack frame in local memory (no spills: the stack-frame column
 * alone must reject it). */
__global__ void stack_kernel(const float *a, const int *idx, float *y)
{
    float buf[64];
    float s = a[threadIdx.x];
    for (int j = 0; j < 64; j++) {
        s = __fmaf_rn(s, s, a[j]);
        buf[j] = s;
    }
    y[threadIdx.x] = buf[idx[threadIdx.x] & 63];
}
