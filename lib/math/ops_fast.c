/* Fast kernels for every op except the GEMM (gemm.c). The per-element math
 * is the reference's (one shared inline definition in pol/cmath.h and
 * reduce.h); speed comes from splitting independent outputs over threads
 * and from loops the compiler can vectorise lane by lane, which keeps each
 * element's operation order, hence its bits. */
#include "pol/cmath.h"
#include "pol/kernels.h"
#include "reduce.h"

#include <string.h>

#define ELEM_BLOCK 16384 /* elements per task of an element-wise op */

/* ------------------------------------------------------- element-wise -- */

enum elem_op { E_RELU, E_RELU_BWD, E_GELU, E_GELU_BWD, E_ADAM_M, E_ADAM_V, E_ADAMW_P,
               E_SGD_BUF, E_SGD_P };

typedef struct {
    enum elem_op op;
    int64_t n;
    const pol_opt_scalars *s;
    const float *a, *b, *c;
    float *out;
} elem_job;

static void elem_task(void *arg, int t)
{
    const elem_job *j = arg;
    int64_t lo = (int64_t)t * ELEM_BLOCK;
    int64_t len = j->n - lo < ELEM_BLOCK ? j->n - lo : ELEM_BLOCK;
    const float *a = j->a + lo, *b = j->b ? j->b + lo : NULL, *c = j->c ? j->c + lo : NULL;
    float *o = j->out + lo;
    switch (j->op) {
    case E_RELU: pol_ref_relu(len, a, o); break;
    case E_RELU_BWD: pol_ref_relu_bwd(len, a, b, o); break;
    case E_GELU: pol_ref_gelu(len, a, o); break;
    case E_GELU_BWD: pol_ref_gelu_bwd(len, a, b, o); break;
    case E_ADAM_M: pol_ref_adam_m(len, j->s, a, b, o); break;
    case E_ADAM_V: pol_ref_adam_v(len, j->s, a, b, o); break;
    case E_ADAMW_P: pol_ref_adamw_param(len, j->s, a, b, c, o); break;
    case E_SGD_BUF: pol_ref_sgd_buf(len, j->s, a, b, c, o); break;
    case E_SGD_P: pol_ref_sgd_param(len, j->s, a, b, o); break;
    }
}

/* The element-wise reference loops are already the fast inner loops (they
 * are branch-light and vectorise); the fast path adds the thread split. */
static void elem_run(pol_pool *pool, enum elem_op op, int64_t n, const pol_opt_scalars *s,
                     const float *a, const float *b, const float *c, float *out)
{
    if (n <= 0)
        return;
    elem_job j = { op, n, s, a, b, c, out };
    pol_pool_run(pool, (int)((n + ELEM_BLOCK - 1) / ELEM_BLOCK), elem_task, &j);
}

void pol_fast_relu(pol_pool *pool, int64_t n, const float *x, float *y)
{ elem_run(pool, E_RELU, n, NULL, x, NULL, NULL, y); }
void pol_fast_relu_bwd(pol_pool *pool, int64_t n, const float *x, const float *dy, float *dx)
{ elem_run(pool, E_RELU_BWD, n, NULL, x, dy, NULL, dx); }
void pol_fast_gelu(pol_pool *pool, int64_t n, const float *x, float *y)
{ elem_run(pool, E_GELU, n, NULL, x, NULL, NULL, y); }
void pol_fast_gelu_bwd(pol_pool *pool, int64_t n, const float *x, const float *dy, float *dx)
{ elem_run(pool, E_GELU_BWD, n, NULL, x, dy, NULL, dx); }
void pol_fast_adam_m(pol_pool *pool, int64_t n, const pol_opt_scalars *s, const float *m,
                     const float *g, float *m_out)
{ elem_run(pool, E_ADAM_M, n, s, m, g, NULL, m_out); }
void pol_fast_adam_v(pol_pool *pool, int64_t n, const pol_opt_scalars *s, const float *v,
                     const float *g, float *v_out)
{ elem_run(pool, E_ADAM_V, n, s, v, g, NULL, v_out); }
void pol_fast_adamw_param(pol_pool *pool, int64_t n, const pol_opt_scalars *s, const float *p,
                          const float *m, const float *v, float *p_out)
{ elem_run(pool, E_ADAMW_P, n, s, p, m, v, p_out); }
void pol_fast_sgd_buf(pol_pool *pool, int64_t n, const pol_opt_scalars *s, const float *b,
                      const float *g, const float *p, float *b_out)
{ elem_run(pool, E_SGD_BUF, n, s, b, g, p, b_out); }
void pol_fast_sgd_param(pol_pool *pool, int64_t n, const pol_opt_scalars *s, const float *p,
                        const float *b, float *p_out)
{ elem_run(pool, E_SGD_P, n, s, p, b, NULL, p_out); }

/* ------------------------------------------------------ bias gradient -- */

#define BIAS_COLS 256 /* columns per task */

typedef struct {
    int64_t M, N;
    const float *dy;
    float *db;
} bias_job;

/* Columns [lo, lo+w): the canonical sum down each column, vectorised across
 * columns (each lane is one column's own sequential order). */
static void bias_task(void *arg, int t)
{
    const bias_job *j = arg;
    int64_t lo = (int64_t)t * BIAS_COLS;
    int64_t w = j->N - lo < BIAS_COLS ? j->N - lo : BIAS_COLS;
    float total[BIAS_COLS] = { 0 }, chunk[BIAS_COLS];
    for (int64_t c = 0; c < j->M; c += POL_KC) {
        int64_t end = j->M - c < POL_KC ? j->M : c + POL_KC;
        for (int64_t q = 0; q < w; q++)
            chunk[q] = 0.0f;
        for (int64_t i = c; i < end; i++) {
            const float *row = j->dy + i * j->N + lo;
            for (int64_t q = 0; q < w; q++)
                chunk[q] = chunk[q] + row[q];
        }
        for (int64_t q = 0; q < w; q++)
            total[q] = total[q] + chunk[q];
    }
    memcpy(j->db + lo, total, (size_t)w * sizeof(float));
}

void pol_fast_bias_grad(pol_pool *pool, int64_t M, int64_t N, const float *dy, float *db)
{
    if (N <= 0)
        return;
    bias_job j = { M, N, dy, db };
    pol_pool_run(pool, (int)((N + BIAS_COLS - 1) / BIAS_COLS), bias_task, &j);
}

/* ------------------------------------------- softmax cross-entropy -- */

typedef struct {
    int64_t B, C;
    const float *logits;
    const int32_t *labels;
    float *out;    /* dlogits (bwd) or per-chunk loss sums (loss) */
} xent_job;

/* Loss, task t: rows of canonical chunk t; stores that chunk's sequential sum
 * of row losses, so the chunk sums can be added in order afterwards. */
static void xent_loss_task(void *arg, int t)
{
    const xent_job *j = arg;
    int64_t lo = (int64_t)t * POL_KC;
    int64_t hi = j->B - lo < POL_KC ? j->B : lo + POL_KC;
    float chunk = 0.0f;
    for (int64_t i = lo; i < hi; i++) {
        float l;
        pol_ref_xent_loss(1, j->C, j->logits + i * j->C, j->labels + i, &l);
        /* pol_ref_xent_loss on one row returns l_i / 1 == l_i exactly. */
        chunk = chunk + l;
    }
    j->out[t] = chunk;
}

#define XENT_MAX_CHUNKS 1024

void pol_fast_xent_loss(pol_pool *pool, int64_t B, int64_t C, const float *logits,
                        const int32_t *labels, float *loss)
{
    int64_t nchunks = (B + POL_KC - 1) / POL_KC;
    if (nchunks > XENT_MAX_CHUNKS || nchunks <= 1) {
        pol_ref_xent_loss(B, C, logits, labels, loss);
        return;
    }
    float sums[XENT_MAX_CHUNKS];
    xent_job j = { B, C, logits, labels, sums };
    pol_pool_run(pool, (int)nchunks, xent_loss_task, &j);
    float total = 0.0f;
    for (int64_t t = 0; t < nchunks; t++)
        total = total + sums[t];
    *loss = total / (float)B;
}

#define XENT_ROWS 64 /* rows per task of the backward op */

static void xent_bwd_task(void *arg, int t)
{
    const xent_job *j = arg;
    int64_t lo = (int64_t)t * XENT_ROWS;
    int64_t rows = j->B - lo < XENT_ROWS ? j->B - lo : XENT_ROWS;
    /* Rows are independent; the batch divisor is the full B, so scale here. */
    for (int64_t i = lo; i < lo + rows; i++) {
        const float *x = j->logits + i * j->C;
        float *d = j->out + i * j->C;
        float m;
        float total = pol_xent_row(j->C, x, d, &m); /* d holds e_j for now */
        for (int64_t q = 0; q < j->C; q++)
            d[q] = (d[q] / total - (q == j->labels[i] ? 1.0f : 0.0f)) / (float)j->B;
    }
}

void pol_fast_xent_bwd(pol_pool *pool, int64_t B, int64_t C, const float *logits,
                       const int32_t *labels, float *dlogits)
{
    if (B <= 0)
        return;
    xent_job j = { B, C, logits, labels, dlogits };
    pol_pool_run(pool, (int)((B + XENT_ROWS - 1) / XENT_ROWS), xent_bwd_task, &j);
}
