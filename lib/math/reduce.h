/* Internal: the canonical sum (spec/arithmetic.md A-RED-1), shared by the
 * reference and fast kernels so both use one definition. */
#ifndef POL_LIB_REDUCE_H
#define POL_LIB_REDUCE_H

#include <stdint.h>

#include "pol/cmath.h"
#include "pol/kernels.h"

/* Sequential sum from +0 of x[0], x[stride], ..., x[(n-1)*stride]. */
static inline float pol_seq_sum(const float *x, int64_t n, int64_t stride)
{
    float s = 0.0f;
    for (int64_t k = 0; k < n; k++)
        s = s + x[k * stride];
    return s;
}

/* Canonical sum: chunks of POL_KC summed sequentially from +0, chunk sums
 * added left to right from +0. */
static inline float pol_canon_sum(const float *x, int64_t n, int64_t stride)
{
    float total = 0.0f;
    for (int64_t c = 0; c < n; c += POL_KC) {
        int64_t len = n - c < POL_KC ? n - c : POL_KC;
        total = total + pol_seq_sum(x + c * stride, len, stride);
    }
    return total;
}

/* Row max of A-MAX: sequential from x[0]; a NaN x_j is skipped, a NaN x[0]
 * stays (comparisons with NaN are false). n >= 1. */
static inline float pol_row_max(const float *x, int64_t n)
{
    float m = x[0];
    for (int64_t j = 1; j < n; j++)
        m = (x[j] > m) ? x[j] : m;
    return m;
}

/* One row of the softmax cross-entropy: returns s = canonical sum of
 * e_j = exp(x_j - m) with m the row max; stores m, and e_j when e != NULL. */
static inline float pol_xent_row(int64_t C, const float *x, float *e, float *m_out)
{
    float m = pol_row_max(x, C);
    float total = 0.0f, chunk = 0.0f;
    for (int64_t j = 0; j < C; j++) {
        float ej = pol_expf(x[j] - m);
        if (e)
            e[j] = ej;
        chunk = chunk + ej;
        if ((j + 1) % POL_KC == 0 || j + 1 == C) {
            total = total + chunk;
            chunk = 0.0f;
        }
    }
    *m_out = m;
    return total;
}

#endif
