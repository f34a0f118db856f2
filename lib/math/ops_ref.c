/* Reference kernels for every op except the GEMM (gemm_ref.c): plain loops in
 * the order of spec/arithmetic.md. */
#include "pol/cmath.h"
#include "pol/kernels.h"
#include "reduce.h"


void pol_ref_bias_grad(int64_t M, int64_t N, const float *dy, float *db)
{
    for (int64_t j = 0; j < N; j++)
        db[j] = pol_canon_sum(dy + j, M, N);
}

void pol_ref_relu(int64_t n, const float *x, float *y)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void pol_ref_relu_bwd(int64_t n, const float *x, const float *dy, float *dx)
{
    for (int64_t i = 0; i < n; i++)
        dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

void pol_ref_gelu(int64_t n, const float *x, float *y)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = pol_gelu_f(x[i]);
}

void pol_ref_gelu_bwd(int64_t n, const float *x, const float *dy, float *dx)
{
    for (int64_t i = 0; i < n; i++)
        dx[i] = dy[i] * pol_gelu_grad_f(x[i]);
}

void pol_ref_xent_loss(int64_t B, int64_t C, const float *logits, const int32_t *labels,
                       float *loss)
{
    float total = 0.0f, chunk = 0.0f;
    for (int64_t i = 0; i < B; i++) {
        const float *x = logits + i * C;
        float m;
        float s = pol_xent_row(C, x, NULL, &m);
        float l = pol_logf(s) - (x[labels[i]] - m);
        chunk = chunk + l;
        if ((i + 1) % POL_KC == 0 || i + 1 == B) {
            total = total + chunk;
            chunk = 0.0f;
        }
    }
    *loss = total / (float)B;
}

void pol_ref_xent_bwd(int64_t B, int64_t C, const float *logits, const int32_t *labels,
                      float *dlogits)
{
    for (int64_t i = 0; i < B; i++) {
        const float *x = logits + i * C;
        float *d = dlogits + i * C;
        float m;
        float s = pol_xent_row(C, x, d, &m); /* d holds e_j for now */
        for (int64_t j = 0; j < C; j++)
            d[j] = (d[j] / s - (j == labels[i] ? 1.0f : 0.0f)) / (float)B;
    }
}

void pol_ref_adam_m(int64_t n, const pol_opt_scalars *s, const float *m, const float *g,
                    float *m_out)
{
    const float omb1 = 1.0f - s->beta1;
    for (int64_t i = 0; i < n; i++)
        m_out[i] = s->beta1 * m[i] + omb1 * g[i];
}

void pol_ref_adam_v(int64_t n, const pol_opt_scalars *s, const float *v, const float *g,
                    float *v_out)
{
    const float omb2 = 1.0f - s->beta2;
    for (int64_t i = 0; i < n; i++)
        v_out[i] = s->beta2 * v[i] + omb2 * (g[i] * g[i]);
}

void pol_ref_adamw_param(int64_t n, const pol_opt_scalars *s, const float *p, const float *m,
                         const float *v, float *p_out)
{
    const float decay = 1.0f - s->lr * s->wd;
    for (int64_t i = 0; i < n; i++) {
        float mhat = m[i] / s->bc1;
        float den = pol_fsqrt(v[i] / s->bc2) + s->eps;
        p_out[i] = p[i] * decay - s->lr * (mhat / den);
    }
}

void pol_ref_sgd_buf(int64_t n, const pol_opt_scalars *s, const float *b, const float *g,
                     const float *p, float *b_out)
{
    for (int64_t i = 0; i < n; i++)
        b_out[i] = s->beta1 * b[i] + (g[i] + s->wd * p[i]);
}

void pol_ref_sgd_param(int64_t n, const pol_opt_scalars *s, const float *p, const float *b,
                       float *p_out)
{
    for (int64_t i = 0; i < n; i++)
        p_out[i] = p[i] - s->lr * b[i];
}
