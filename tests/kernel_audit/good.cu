/* kernel-audit-expect: pass
 *
 * The audit's control (scripts/kernel-audit.sh --selftest): an exact kernel
 * of the usual shape, which must pass. Shared header arithmetic (pol/cmath.h:
 * correctly rounded ops, libpol's own exp and tanh), a written fma, division
 * and square root, relu's select (a max.f32 in the PTX), a canonical sum,
 * a shared-memory tile and an integer atomic flag. */
#include <stdint.h>

#include "pol/cmath.h"
#include "pol/reduce.h"

__global__ void good_kernel(int64_t n, const float *x, float *y, int *flag)
{
    __shared__ float tile[128];
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    const float v = i < n ? x[i] : 0.0f;
    tile[threadIdx.x % 128] = v;
    __syncthreads();
    if (i >= n)
        return;
    if (v != v)
        atomicOr(flag, 1); /* an integer flag, not a float reduction */
    const float r = v > 0.0f ? v : 0.0f;
    const float e = pol_expf(pol_fma(v, 0.5f, tile[(threadIdx.x + 1) % 128]));
    const float g = pol_gelu_f(pol_fdiv(r, pol_fsqrt(pol_fadd(e, 1.0f))));
    y[i] = pol_fsub(g, pol_canon_sum(x, i < 300 ? i : 300, 1));
}
