/* libpol — the canonical reductions (spec/arithmetic.md, A-RED-1, A-MAX,
 * A-XENT), one header for host and CUDA device.
 *
 * Every function here is `static inline` (POL_HD) and compiles unchanged as
 * C17 and as CUDA device code, so the CPU kernels and the GPU kernels reduce
 * in the same order and agree bit for bit. Each is sequential on purpose: a
 * caller parallelises over independent outputs (columns, rows), never inside
 * one reduction.
 */
#ifndef POL_REDUCE_H
#define POL_REDUCE_H

#include <stdint.h>

#include "pol/cmath.h"
#include "pol/kernels.h"

/* Sequential sum from +0 of x[0], x[stride], ..., x[(n-1)*stride]. */
POL_HD float pol_seq_sum(const float *x, int64_t n, int64_t stride)
{
    float s = 0.0f;
    for (int64_t k = 0; k < n; k++)
        s = pol_fadd(s, x[k * stride]);
    return s;
}

/* Canonical sum: chunks of POL_KC summed sequentially from +0, chunk sums
 * added left to right from +0. */
POL_HD float pol_canon_sum(const float *x, int64_t n, int64_t stride)
{
    float total = 0.0f;
    for (int64_t c = 0; c < n; c += POL_KC) {
        int64_t len = n - c < POL_KC ? n - c : POL_KC;
        total = pol_fadd(total, pol_seq_sum(x + c * stride, len, stride));
    }
    return total;
}

/* Row max of A-MAX: sequential from x[0]; a NaN x_j is skipped, a NaN x[0]
 * stays (comparisons with NaN are false). n >= 1. */
POL_HD float pol_row_max(const float *x, int64_t n)
{
    float m = x[0];
    for (int64_t j = 1; j < n; j++)
        m = (x[j] > m) ? x[j] : m;
    return m;
}

/* One row of the softmax cross-entropy: returns s = canonical sum of
 * e_j = exp(x_j - m) with m the row max; stores m, and e_j when e != NULL. */
POL_HD float pol_xent_row(int64_t C, const float *x, float *e, float *m_out)
{
    float m = pol_row_max(x, C);
    float total = 0.0f, chunk = 0.0f;
    for (int64_t j = 0; j < C; j++) {
        float ej = pol_expf(pol_fsub(x[j], m));
        if (e)
            e[j] = ej;
        chunk = pol_fadd(chunk, ej);
        if ((j + 1) % POL_KC == 0 || j + 1 == C) {
            total = pol_fadd(total, chunk);
            chunk = 0.0f;
        }
    }
    *m_out = m;
    return total;
}

/* The loss term of one row (A-XENT): l = log(s) - (x_y - m), s and m from
 * pol_xent_row. */
POL_HD float pol_xent_row_loss(float s, float m, float x_y)
{
    return pol_fsub(pol_logf(s), pol_fsub(x_y, m));
}

#endif /* POL_REDUCE_H */
