/* The exact element-wise, row and column ops on the device: bias gradient,
 * relu/gelu and their backward ops, softmax cross-entropy and its backward
 * op, the optimizer updates (pol/kernels.h, spec/arithmetic.md).
 *
 * Each output is computed by one thread with the shared host/device code
 * of pol/cmath.h and pol/reduce.h, in the order of the CPU reference; a
 * reduction is never split across threads. Grid-stride loops: the grid and
 * block sizes decide only which thread computes which output.
 *
 * Optimizer scalars: beta1, beta2, eps, wd come from the node's parameters
 * (host values, passed by value); lr, bc1, bc2 are read on the device from
 * the hyper tensor [lr, bc1, bc2, 0]. Every derived scalar (1 - beta1, ...)
 * is computed per element with the same rounded operations as the CPU.
 */
#include <stdint.h>

#include "internal.cuh"
#include "pol/cmath.h"
#include "pol/reduce.h"

#define GRID_STRIDE(i, n)                                                                        \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n);                    \
         i += (int64_t)gridDim.x * blockDim.x)

namespace {

struct opt_params {
    float beta1, beta2, eps, wd;
};

__global__ void relu_kernel(int64_t n, const float *x, float *y)
{
    GRID_STRIDE(i, n) { float v = x[i]; y[i] = v > 0.0f ? v : 0.0f; }
}

__global__ void relu_bwd_kernel(int64_t n, const float *x, const float *dy, float *dx)
{
    GRID_STRIDE(i, n) { dx[i] = x[i] > 0.0f ? dy[i] : 0.0f; }
}

__global__ void gelu_kernel(int64_t n, const float *x, float *y)
{
    GRID_STRIDE(i, n) { y[i] = pol_gelu_f(x[i]); }
}

__global__ void gelu_bwd_kernel(int64_t n, const float *x, const float *dy, float *dx)
{
    GRID_STRIDE(i, n) { dx[i] = pol_fmul(dy[i], pol_gelu_grad_f(x[i])); }
}

/* db[j] = canonical sum of column j of dy (M x N); one thread per column. */
__global__ void bias_grad_kernel(int64_t M, int64_t N, const float *dy, float *db)
{
    GRID_STRIDE(j, N) { db[j] = pol_canon_sum(dy + j, M, N); }
}

/* Per-row loss terms l_i (A-XENT); a label out of range sets *flag. */
__global__ void xent_rows_kernel(int64_t B, int64_t C, const float *logits, const int32_t *labels,
                                 float *rows, int *flag)
{
    GRID_STRIDE(i, B) {
        const float *x = logits + i * C;
        const int32_t y = labels[i];
        if (y < 0 || y >= C) {
            atomicOr(flag, 1); /* an integer flag, not a float reduction */
            rows[i] = pol_bits_float(POL_NAN_BITS);
            continue;
        }
        float m;
        float s = pol_xent_row(C, x, (float *)0, &m);
        rows[i] = pol_xent_row_loss(s, m, x[y]);
    }
}

/* loss = canonical sum of the B row terms / B, on one thread: B additions. */
__global__ void xent_sum_kernel(int64_t B, const float *rows, float *loss)
{
    if (blockIdx.x != 0 || threadIdx.x != 0)
        return;
    float total = 0.0f, chunk = 0.0f;
    for (int64_t i = 0; i < B; i++) {
        chunk = pol_fadd(chunk, rows[i]);
        if ((i + 1) % POL_KC == 0 || i + 1 == B) {
            total = pol_fadd(total, chunk);
            chunk = 0.0f;
        }
    }
    *loss = pol_fdiv(total, (float)B);
}

__global__ void xent_bwd_kernel(int64_t B, int64_t C, const float *logits, const int32_t *labels,
                                float *dlogits, int *flag)
{
    GRID_STRIDE(i, B) {
        const float *x = logits + i * C;
        float *d = dlogits + i * C;
        const int32_t y = labels[i];
        if (y < 0 || y >= C) {
            atomicOr(flag, 1);
            continue;
        }
        float m;
        float s = pol_xent_row(C, x, d, &m); /* d holds e_j for now */
        const float fb = (float)B;
        for (int64_t j = 0; j < C; j++)
            d[j] = pol_fdiv(pol_fsub(pol_fdiv(d[j], s), j == y ? 1.0f : 0.0f), fb);
    }
}

__global__ void adam_m_kernel(int64_t n, opt_params o, const float *m, const float *g, float *out)
{
    const float omb1 = pol_fsub(1.0f, o.beta1);
    GRID_STRIDE(i, n) { out[i] = pol_fadd(pol_fmul(o.beta1, m[i]), pol_fmul(omb1, g[i])); }
}

__global__ void adam_v_kernel(int64_t n, opt_params o, const float *v, const float *g, float *out)
{
    const float omb2 = pol_fsub(1.0f, o.beta2);
    GRID_STRIDE(i, n) {
        out[i] = pol_fadd(pol_fmul(o.beta2, v[i]), pol_fmul(omb2, pol_fmul(g[i], g[i])));
    }
}

__global__ void adamw_param_kernel(int64_t n, opt_params o, const float *p, const float *m,
                                   const float *v, const float *hyper, float *out)
{
    const float lr = hyper[0], bc1 = hyper[1], bc2 = hyper[2];
    const float decay = pol_fsub(1.0f, pol_fmul(lr, o.wd));
    GRID_STRIDE(i, n) {
        float mhat = pol_fdiv(m[i], bc1);
        float den = pol_fadd(pol_fsqrt(pol_fdiv(v[i], bc2)), o.eps);
        out[i] = pol_fsub(pol_fmul(p[i], decay), pol_fmul(lr, pol_fdiv(mhat, den)));
    }
}

__global__ void sgd_buf_kernel(int64_t n, opt_params o, const float *b, const float *g,
                               const float *p, float *out)
{
    GRID_STRIDE(i, n) {
        out[i] = pol_fadd(pol_fmul(o.beta1, b[i]), pol_fadd(g[i], pol_fmul(o.wd, p[i])));
    }
}

__global__ void sgd_param_kernel(int64_t n, const float *p, const float *b, const float *hyper,
                                 float *out)
{
    const float lr = hyper[0];
    GRID_STRIDE(i, n) { out[i] = pol_fsub(p[i], pol_fmul(lr, b[i])); }
}

/* dst[r][w] = src[idx[r]][w]: a batch gathered from the dataset's rows. */
__global__ void gather_rows_kernel(int64_t n, int64_t words, const uint32_t *idx,
                                   const uint32_t *src, uint32_t *dst)
{
    GRID_STRIDE(e, n * words) { dst[e] = src[(int64_t)idx[e / words] * words + e % words]; }
}

const float *F(const pol_tensor *t) { return (const float *)t->data; }

} // namespace

pol_status pol__cuda_gather_rows(pol_cuda *c, void *dst, const void *src, const uint32_t *idx,
                                 int64_t n, int64_t words)
{
    if (n <= 0 || words <= 0)
        return POL_OK;
    int grid, block;
    pol__cuda_grid(c, n * words, &grid, &block);
    POL_LAUNCH(grid, block, c->stream, gather_rows_kernel)(n, words, idx, (const uint32_t *)src,
                                                          (uint32_t *)dst);
    return pol__cuda_err(cudaGetLastError(), "gather rows");
}

pol_status pol__cuda_launch_op(pol_cuda *c, pol_op op, const pol_node_params *p,
                               const pol_tensor *const *in, pol_tensor *out)
{
    const pol_tensor *a = in[0];
    const int64_t n = pol_tensor_numel(a);
    float *y = (float *)out->data;
    const opt_params o = { p->beta1, p->beta2, p->eps, p->wd };
    int grid, block;
    pol__cuda_grid(c, n, &grid, &block);
    cudaStream_t st = c->stream;
    switch (op) {
    case POL_OP_LINEAR:
    case POL_OP_MATMUL: {
        pol_gemm_args g = {};
        g.M = out->shape[0], g.N = out->shape[1];
        g.A = F(a), g.B = F(in[1]), g.C = y;
        if (op == POL_OP_LINEAR) {
            g.K = a->shape[1], g.trans_b = 1, g.bias = F(in[2]);
        } else {
            g.trans_a = p->trans_a, g.trans_b = p->trans_b;
            g.K = p->trans_a ? a->shape[0] : a->shape[1];
        }
        /* tolerant mode only (pol_cuda_set_tolerant): cuBLAS; else the exact kernel */
        return c->tolerant ? pol_cuda_blas_gemm(c, &g) : pol_cuda_gemm(c, &g);
    }
    case POL_OP_BIAS_GRAD:
        pol__cuda_grid(c, a->shape[1], &grid, &block);
        if (a->shape[1] > 0)
            POL_LAUNCH(grid, block, st, bias_grad_kernel)(a->shape[0], a->shape[1], F(a), y);
        break;
    case POL_OP_RELU:
        if (n > 0) POL_LAUNCH(grid, block, st, relu_kernel)(n, F(a), y);
        break;
    case POL_OP_GELU:
        if (n > 0) POL_LAUNCH(grid, block, st, gelu_kernel)(n, F(a), y);
        break;
    case POL_OP_RELU_BWD:
        if (n > 0) POL_LAUNCH(grid, block, st, relu_bwd_kernel)(n, F(a), F(in[1]), y);
        break;
    case POL_OP_GELU_BWD:
        if (n > 0) POL_LAUNCH(grid, block, st, gelu_bwd_kernel)(n, F(a), F(in[1]), y);
        break;
    case POL_OP_XENT_LOSS: {
        const int64_t B = a->shape[0], C = a->shape[1];
        void *rows = NULL;
        if (B > 0) {
            pol_status s = pol__cuda_scratch(c, (size_t)B * sizeof(float), &rows);
            if (s)
                return s;
            pol__cuda_grid(c, B, &grid, &block);
            POL_LAUNCH(grid, block, st, xent_rows_kernel)(
                B, C, F(a), (const int32_t *)in[1]->data, (float *)rows, c->flag);
        }
        POL_LAUNCH(1, 1, st, xent_sum_kernel)(B, (const float *)rows, y);
        break;
    }
    case POL_OP_XENT_BWD: {
        const int64_t B = a->shape[0], C = a->shape[1];
        pol__cuda_grid(c, B, &grid, &block);
        if (B > 0)
            POL_LAUNCH(grid, block, st, xent_bwd_kernel)(
                B, C, F(a), (const int32_t *)in[1]->data, y, c->flag);
        break;
    }
    case POL_OP_ADAM_M:
        if (n > 0) POL_LAUNCH(grid, block, st, adam_m_kernel)(n, o, F(a), F(in[1]), y);
        break;
    case POL_OP_ADAM_V:
        if (n > 0) POL_LAUNCH(grid, block, st, adam_v_kernel)(n, o, F(a), F(in[1]), y);
        break;
    case POL_OP_ADAMW_PARAM:
        if (n > 0)
            POL_LAUNCH(grid, block, st, adamw_param_kernel)(
                n, o, F(a), F(in[1]), F(in[2]), F(in[3]), y);
        break;
    case POL_OP_SGD_BUF:
        if (n > 0) POL_LAUNCH(grid, block, st, sgd_buf_kernel)(n, o, F(a), F(in[1]), F(in[2]), y);
        break;
    case POL_OP_SGD_PARAM:
        if (n > 0) POL_LAUNCH(grid, block, st, sgd_param_kernel)(n, F(a), F(in[1]), F(in[2]), y);
        break;
    default:
        return pol_errorf(POL_ERR_INVALID_ARG, "unknown op %d", (int)op);
    }
    return pol__cuda_err(cudaGetLastError(), pol_op_name(op));
}
