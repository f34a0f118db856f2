#include "pol/graph.h"
#include "pol/cuda.h"

#include <stdlib.h>
#include <string.h>

#define GRAPH_MAX_TENSORS 65536

typedef struct {
    pol_tensor t;
    pol_tensor_kind kind;
    int dev_fed; /* gathered on the device: the next pol_graph_eval skips its upload */
} tensor_slot;

typedef struct {
    int state, node;
} update_pair;

struct pol_graph {
    tensor_slot *tensors;
    int n_tensors, cap_tensors;
    pol_node *nodes;
    int n_nodes, cap_nodes;
    update_pair *updates;
    int n_updates, cap_updates;
    int frozen;
    pol_cuda_graph *dev; /* device copies, made by the first CUDA evaluation */
};

/* ------------------------------------------------------------- op table -- */

typedef struct {
    const char *name;
    int n_in;
} op_info;

static const op_info OPS[] = {
    [POL_OP_LINEAR] = { "linear", 3 },        [POL_OP_MATMUL] = { "matmul", 2 },
    [POL_OP_BIAS_GRAD] = { "bias_grad", 1 },  [POL_OP_RELU] = { "relu", 1 },
    [POL_OP_RELU_BWD] = { "relu_bwd", 2 },    [POL_OP_GELU] = { "gelu", 1 },
    [POL_OP_GELU_BWD] = { "gelu_bwd", 2 },    [POL_OP_XENT_LOSS] = { "xent_loss", 2 },
    [POL_OP_XENT_BWD] = { "xent_bwd", 2 },    [POL_OP_ADAM_M] = { "adam_m", 2 },
    [POL_OP_ADAM_V] = { "adam_v", 2 },        [POL_OP_ADAMW_PARAM] = { "adamw_param", 4 },
    [POL_OP_SGD_BUF] = { "sgd_buf", 3 },      [POL_OP_SGD_PARAM] = { "sgd_param", 3 },
};
#define N_OPS ((int)(sizeof OPS / sizeof OPS[0]))

const char *pol_op_name(pol_op op)
{
    if ((int)op <= 0 || (int)op >= N_OPS)
        return NULL;
    return OPS[op].name;
}

/* ---------------------------------------------------- shape inference -- */

static int same_shape(const pol_tensor *a, const pol_tensor *b)
{
    if (a->ndim != b->ndim || a->dtype != b->dtype)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

static int is_f32(const pol_tensor *t, int ndim) { return t->dtype == POL_F32 && t->ndim == ndim; }

/* Checks the inputs of `op` and computes the output shape (always F32).
 * `what` names the node in messages. */
static pol_status infer(pol_op op, const pol_node_params *p, const pol_tensor *const *in, int n_in,
                        const char *what, int *ndim, int64_t *shape)
{
    if ((int)op <= 0 || (int)op >= N_OPS)
        return pol_errorf(POL_ERR_INVALID_ARG, "node %s: unknown op %d", what, (int)op);
    if (n_in != OPS[op].n_in)
        return pol_errorf(POL_ERR_INVALID_ARG, "node %s: op %s takes %d inputs, got %d", what,
                          OPS[op].name, OPS[op].n_in, n_in);
    for (int i = 0; i < n_in; i++)
        if (!in[i] || !in[i]->data)
            return pol_errorf(POL_ERR_INVALID_ARG, "node %s: input %d missing", what, i);
    const pol_tensor *a = in[0], *b = n_in > 1 ? in[1] : NULL;
    switch (op) {
    case POL_OP_LINEAR:
        if (!is_f32(a, 2) || !is_f32(b, 2) || !is_f32(in[2], 1) || a->shape[1] != b->shape[1] ||
            in[2]->shape[0] != b->shape[0])
            return pol_errorf(POL_ERR_SHAPE, "node %s: linear wants x (B,I), W (O,I), b (O)", what);
        *ndim = 2, shape[0] = a->shape[0], shape[1] = b->shape[0];
        return POL_OK;
    case POL_OP_MATMUL: {
        if (!is_f32(a, 2) || !is_f32(b, 2))
            return pol_errorf(POL_ERR_SHAPE, "node %s: matmul wants two F32 matrices", what);
        int64_t M = p->trans_a ? a->shape[1] : a->shape[0];
        int64_t Ka = p->trans_a ? a->shape[0] : a->shape[1];
        int64_t Kb = p->trans_b ? b->shape[1] : b->shape[0];
        int64_t N = p->trans_b ? b->shape[0] : b->shape[1];
        if (Ka != Kb)
            return pol_errorf(POL_ERR_SHAPE, "node %s: matmul inner sizes %lld != %lld", what,
                              (long long)Ka, (long long)Kb);
        *ndim = 2, shape[0] = M, shape[1] = N;
        return POL_OK;
    }
    case POL_OP_BIAS_GRAD:
        if (!is_f32(a, 2))
            return pol_errorf(POL_ERR_SHAPE, "node %s: bias_grad wants dy (B,O)", what);
        *ndim = 1, shape[0] = a->shape[1];
        return POL_OK;
    case POL_OP_RELU:
    case POL_OP_GELU:
        if (a->dtype != POL_F32)
            return pol_errorf(POL_ERR_SHAPE, "node %s: %s wants F32", what, OPS[op].name);
        break;
    case POL_OP_RELU_BWD:
    case POL_OP_GELU_BWD:
    case POL_OP_ADAM_M:
    case POL_OP_ADAM_V:
        if (a->dtype != POL_F32 || !same_shape(a, b))
            return pol_errorf(POL_ERR_SHAPE, "node %s: %s wants two F32 tensors of one shape",
                              what, OPS[op].name);
        break;
    case POL_OP_XENT_LOSS:
    case POL_OP_XENT_BWD:
        if (!is_f32(a, 2) || b->dtype != POL_I32 || b->ndim != 1 || b->shape[0] != a->shape[0] ||
            a->shape[1] < 1)
            return pol_errorf(POL_ERR_SHAPE, "node %s: %s wants logits (B,C>=1), labels I32 (B)",
                              what, OPS[op].name);
        if (op == POL_OP_XENT_LOSS)
            *ndim = 0;
        else
            *ndim = 2, shape[0] = a->shape[0], shape[1] = a->shape[1];
        return POL_OK;
    case POL_OP_ADAMW_PARAM:
    case POL_OP_SGD_BUF:
    case POL_OP_SGD_PARAM: {
        int last = n_in - 1;
        if (a->dtype != POL_F32)
            return pol_errorf(POL_ERR_SHAPE, "node %s: %s wants F32", what, OPS[op].name);
        for (int i = 1; i < n_in; i++) {
            int hyper = (op != POL_OP_SGD_BUF && i == last);
            if (hyper ? !(is_f32(in[i], 1) && in[i]->shape[0] == POL_HYPER_LEN)
                      : !same_shape(a, in[i]))
                return pol_errorf(POL_ERR_SHAPE, "node %s: %s input %d has the wrong shape", what,
                                  OPS[op].name, i);
        }
        break;
    }
    }
    *ndim = a->ndim;
    for (int i = 0; i < a->ndim; i++)
        shape[i] = a->shape[i];
    return POL_OK;
}

/* -------------------------------------------------------- evaluation -- */

static pol_opt_scalars scalars(const pol_node_params *p, const pol_tensor *hyper)
{
    pol_opt_scalars s = { 0 };
    s.beta1 = p->beta1, s.beta2 = p->beta2, s.eps = p->eps, s.wd = p->wd;
    if (hyper) {
        const float *h = pol_f32(hyper);
        s.lr = h[0], s.bc1 = h[1], s.bc2 = h[2];
    }
    return s;
}

static pol_status run_op(pol_op op, const pol_node_params *p, const pol_tensor *const *in,
                         pol_tensor *out, pol_kernels kernels, pol_pool *pool)
{
    const int fast = kernels != POL_KERNELS_REF;
    const pol_tensor *a = in[0];
    int64_t n = pol_tensor_numel(a);
    switch (op) {
    case POL_OP_LINEAR:
    case POL_OP_MATMUL: {
        pol_gemm_args g = { 0 };
        g.M = out->shape[0], g.N = out->shape[1];
        g.A = pol_f32(a), g.B = pol_f32(in[1]), g.C = pol_f32(out);
        if (op == POL_OP_LINEAR) {
            g.K = a->shape[1], g.trans_b = 1, g.bias = pol_f32(in[2]);
        } else {
            g.trans_a = p->trans_a, g.trans_b = p->trans_b;
            g.K = p->trans_a ? a->shape[0] : a->shape[1];
        }
        if (kernels == POL_KERNELS_BLAS)
            pol_blas_gemm(pool ? pol_pool_threads(pool) : 1, &g);
        else
            fast ? pol_fast_gemm(pool, &g) : pol_ref_gemm(&g);
        return POL_OK;
    }
    case POL_OP_BIAS_GRAD:
        fast ? pol_fast_bias_grad(pool, a->shape[0], a->shape[1], pol_f32(a), pol_f32(out))
             : pol_ref_bias_grad(a->shape[0], a->shape[1], pol_f32(a), pol_f32(out));
        return POL_OK;
    case POL_OP_RELU:
        fast ? pol_fast_relu(pool, n, pol_f32(a), pol_f32(out)) : pol_ref_relu(n, pol_f32(a), pol_f32(out));
        return POL_OK;
    case POL_OP_GELU:
        fast ? pol_fast_gelu(pool, n, pol_f32(a), pol_f32(out)) : pol_ref_gelu(n, pol_f32(a), pol_f32(out));
        return POL_OK;
    case POL_OP_RELU_BWD:
        fast ? pol_fast_relu_bwd(pool, n, pol_f32(a), pol_f32(in[1]), pol_f32(out))
             : pol_ref_relu_bwd(n, pol_f32(a), pol_f32(in[1]), pol_f32(out));
        return POL_OK;
    case POL_OP_GELU_BWD:
        fast ? pol_fast_gelu_bwd(pool, n, pol_f32(a), pol_f32(in[1]), pol_f32(out))
             : pol_ref_gelu_bwd(n, pol_f32(a), pol_f32(in[1]), pol_f32(out));
        return POL_OK;
    case POL_OP_XENT_LOSS:
    case POL_OP_XENT_BWD: {
        int64_t B = a->shape[0], C = a->shape[1];
        const int32_t *y = pol_i32(in[1]);
        for (int64_t i = 0; i < B; i++)
            if (y[i] < 0 || y[i] >= C)
                return pol_errorf(POL_ERR_INVALID_ARG, "label %d at row %lld not in [0, %lld)",
                                  (int)y[i], (long long)i, (long long)C);
        if (op == POL_OP_XENT_LOSS)
            fast ? pol_fast_xent_loss(pool, B, C, pol_f32(a), y, pol_f32(out))
                 : pol_ref_xent_loss(B, C, pol_f32(a), y, pol_f32(out));
        else
            fast ? pol_fast_xent_bwd(pool, B, C, pol_f32(a), y, pol_f32(out))
                 : pol_ref_xent_bwd(B, C, pol_f32(a), y, pol_f32(out));
        return POL_OK;
    }
    case POL_OP_ADAM_M: {
        pol_opt_scalars s = scalars(p, NULL);
        fast ? pol_fast_adam_m(pool, n, &s, pol_f32(a), pol_f32(in[1]), pol_f32(out))
             : pol_ref_adam_m(n, &s, pol_f32(a), pol_f32(in[1]), pol_f32(out));
        return POL_OK;
    }
    case POL_OP_ADAM_V: {
        pol_opt_scalars s = scalars(p, NULL);
        fast ? pol_fast_adam_v(pool, n, &s, pol_f32(a), pol_f32(in[1]), pol_f32(out))
             : pol_ref_adam_v(n, &s, pol_f32(a), pol_f32(in[1]), pol_f32(out));
        return POL_OK;
    }
    case POL_OP_ADAMW_PARAM: {
        pol_opt_scalars s = scalars(p, in[3]);
        fast ? pol_fast_adamw_param(pool, n, &s, pol_f32(a), pol_f32(in[1]), pol_f32(in[2]), pol_f32(out))
             : pol_ref_adamw_param(n, &s, pol_f32(a), pol_f32(in[1]), pol_f32(in[2]), pol_f32(out));
        return POL_OK;
    }
    case POL_OP_SGD_BUF: {
        pol_opt_scalars s = scalars(p, NULL);
        fast ? pol_fast_sgd_buf(pool, n, &s, pol_f32(a), pol_f32(in[1]), pol_f32(in[2]), pol_f32(out))
             : pol_ref_sgd_buf(n, &s, pol_f32(a), pol_f32(in[1]), pol_f32(in[2]), pol_f32(out));
        return POL_OK;
    }
    case POL_OP_SGD_PARAM: {
        pol_opt_scalars s = scalars(p, in[2]);
        fast ? pol_fast_sgd_param(pool, n, &s, pol_f32(a), pol_f32(in[1]), pol_f32(out))
             : pol_ref_sgd_param(n, &s, pol_f32(a), pol_f32(in[1]), pol_f32(out));
        return POL_OK;
    }
    }
    return pol_errorf(POL_ERR_INVALID_ARG, "unknown op %d", (int)op);
}

pol_status pol_node_check(pol_op op, const pol_node_params *params, const pol_tensor *const *in,
                          int n_in, const pol_tensor *out)
{
    static const pol_node_params zero;
    if (!in || !out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_node_check: NULL argument");
    if (!params)
        params = &zero;
    int ndim;
    int64_t shape[POL_MAX_DIMS] = { 0 };
    pol_status st = infer(op, params, in, n_in, out->name, &ndim, shape);
    if (st)
        return st;
    if (out->dtype != POL_F32 || out->ndim != ndim || !out->data)
        return pol_errorf(POL_ERR_SHAPE, "node %s: output tensor has the wrong rank or dtype",
                          out->name);
    for (int i = 0; i < ndim; i++)
        if (out->shape[i] != shape[i])
            return pol_errorf(POL_ERR_SHAPE, "node %s: output dimension %d is %lld, want %lld",
                              out->name, i, (long long)out->shape[i], (long long)shape[i]);
    return POL_OK;
}

pol_status pol_node_eval(pol_op op, const pol_node_params *params, const pol_tensor *const *in,
                         int n_in, pol_tensor *out, pol_kernels kernels, pol_pool *pool)
{
    static const pol_node_params zero;
    if (!params)
        params = &zero;
    pol_status st = pol_node_check(op, params, in, n_in, out);
    if (st)
        return st;
    return run_op(op, params, in, out, kernels, pool);
}

/* -------------------------------------------------------------- graph -- */

pol_status pol_graph_create(pol_graph **g)
{
    if (!g)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_graph_create: NULL output");
    *g = calloc(1, sizeof **g);
    return *g ? POL_OK : pol_errorf(POL_ERR_NOMEM, "graph");
}

void pol_graph_destroy(pol_graph *g)
{
    if (!g)
        return;
    pol_cuda_graph_destroy(g->dev);
    for (int i = 0; i < g->n_tensors; i++)
        pol_tensor_free(&g->tensors[i].t);
    free(g->tensors);
    free(g->nodes);
    free(g->updates);
    free(g);
}

/* Grows *arr (of elements `size`) so it holds at least n+1. */
static int grow(void **arr, int *cap, int n, size_t size)
{
    if (n < *cap)
        return 1;
    int nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, (size_t)nc * size);
    if (!p)
        return 0;
    *arr = p;
    *cap = nc;
    return 1;
}

static pol_status new_tensor(pol_graph *g, const char *name, pol_tensor_kind kind, pol_dtype dtype,
                             int ndim, const int64_t *shape, int *id)
{
    if (g->frozen)
        return pol_errorf(POL_ERR_INVALID_ARG, "graph is frozen; cannot add %s", name);
    if (!pol_name_valid(name))
        return pol_errorf(POL_ERR_INVALID_ARG, "invalid tensor name '%s'", name ? name : "(null)");
    if (pol_graph_find(g, name) >= 0)
        return pol_errorf(POL_ERR_INVALID_ARG, "duplicate tensor name %s", name);
    if (g->n_tensors >= GRAPH_MAX_TENSORS)
        return pol_errorf(POL_ERR_TOO_LARGE, "graph holds more than %d tensors", GRAPH_MAX_TENSORS);
    if (!grow((void **)&g->tensors, &g->cap_tensors, g->n_tensors, sizeof *g->tensors))
        return pol_errorf(POL_ERR_NOMEM, "graph tensors");
    tensor_slot *s = &g->tensors[g->n_tensors];
    pol_status st = pol_tensor_alloc(&s->t, name, dtype, ndim, shape);
    if (st)
        return st;
    s->kind = kind;
    s->dev_fed = 0;
    *id = g->n_tensors++;
    return POL_OK;
}

pol_status pol_graph_add_tensor(pol_graph *g, const char *name, pol_tensor_kind kind,
                                pol_dtype dtype, int ndim, const int64_t *shape, int *id)
{
    if (!g || !id)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_graph_add_tensor: NULL argument");
    if (kind != POL_TENSOR_STATE && kind != POL_TENSOR_INPUT)
        return pol_errorf(POL_ERR_INVALID_ARG, "tensor %s: only STATE or INPUT may be added", name);
    return new_tensor(g, name, kind, dtype, ndim, shape, id);
}

pol_status pol_graph_add_node(pol_graph *g, pol_op op, const char *name, const int *in, int n_in,
                              const pol_node_params *params, int *out_id)
{
    static const pol_node_params zero;
    if (!g || (!in && n_in > 0))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_graph_add_node: NULL argument");
    if (!params)
        params = &zero;
    if (n_in < 0 || n_in > POL_NODE_MAX_IN)
        return pol_errorf(POL_ERR_INVALID_ARG, "node %s: %d inputs", name, n_in);
    const pol_tensor *ins[POL_NODE_MAX_IN];
    for (int i = 0; i < n_in; i++) {
        if (in[i] < 0 || in[i] >= g->n_tensors)
            return pol_errorf(POL_ERR_INVALID_ARG, "node %s: input %d has bad id %d", name, i, in[i]);
        ins[i] = &g->tensors[in[i]].t;
    }
    int ndim;
    int64_t shape[POL_MAX_DIMS] = { 0 };
    pol_status st = infer(op, params, ins, n_in, name, &ndim, shape);
    if (st)
        return st;
    if (!grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes, sizeof *g->nodes))
        return pol_errorf(POL_ERR_NOMEM, "graph nodes");
    int oid;
    st = new_tensor(g, name, POL_TENSOR_NODE, POL_F32, ndim, shape, &oid);
    if (st)
        return st;
    pol_node *nd = &g->nodes[g->n_nodes++];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    strcpy(nd->name, name);
    nd->params = *params;
    nd->n_in = n_in;
    for (int i = 0; i < n_in; i++)
        nd->in[i] = in[i];
    nd->out = oid;
    if (out_id)
        *out_id = oid;
    return POL_OK;
}

pol_status pol_graph_set_update(pol_graph *g, int state_tensor, int node_tensor)
{
    if (!g || state_tensor < 0 || state_tensor >= g->n_tensors || node_tensor < 0 ||
        node_tensor >= g->n_tensors)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_graph_set_update: bad tensor id");
    const tensor_slot *s = &g->tensors[state_tensor], *n = &g->tensors[node_tensor];
    if (s->kind != POL_TENSOR_STATE || n->kind != POL_TENSOR_NODE || !same_shape(&s->t, &n->t))
        return pol_errorf(POL_ERR_SHAPE, "update %s <- %s: kinds or shapes do not fit", s->t.name,
                          n->t.name);
    if (!grow((void **)&g->updates, &g->cap_updates, g->n_updates, sizeof *g->updates))
        return pol_errorf(POL_ERR_NOMEM, "graph updates");
    g->updates[g->n_updates++] = (update_pair){ state_tensor, node_tensor };
    return POL_OK;
}

void pol_graph_freeze(pol_graph *g) { g->frozen = 1; }
int pol_graph_n_nodes(const pol_graph *g) { return g->n_nodes; }
int pol_graph_n_tensors(const pol_graph *g) { return g->n_tensors; }

const pol_node *pol_graph_node(const pol_graph *g, int i)
{
    return (i >= 0 && i < g->n_nodes) ? &g->nodes[i] : NULL;
}

pol_tensor *pol_graph_tensor(const pol_graph *g, int id)
{
    return (id >= 0 && id < g->n_tensors) ? &g->tensors[id].t : NULL;
}

pol_tensor_kind pol_graph_tensor_kind(const pol_graph *g, int id)
{
    return (id >= 0 && id < g->n_tensors) ? g->tensors[id].kind : (pol_tensor_kind)0;
}

int pol_graph_find(const pol_graph *g, const char *name)
{
    for (int i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[i].t.name, name))
            return i;
    return -1;
}

/* Makes the device copies of a graph evaluated on a CUDA context. */
static pol_status ensure_device(pol_graph *g, pol_ctx *ctx)
{
    if (g->dev)
        return POL_OK;
    if (!pol_ctx_cuda(ctx))
        return pol_errorf(POL_ERR_INVALID_ARG, "CUDA context without a device");
    return pol_cuda_graph_create(pol_ctx_cuda(ctx), g, &g->dev);
}

pol_status pol_graph_eval_node(pol_graph *g, pol_ctx *ctx, int i)
{
    if (!g || !ctx || i < 0 || i >= g->n_nodes)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_graph_eval_node: bad argument");
    if (pol_ctx_device(ctx) == POL_DEVICE_CUDA) {
        pol_status st = ensure_device(g, ctx);
        return st ? st : pol_cuda_graph_eval_node(g->dev, i);
    }
    const pol_node *nd = &g->nodes[i];
    const pol_tensor *ins[POL_NODE_MAX_IN] = { 0 };
    for (int k = 0; k < nd->n_in; k++)
        ins[k] = &g->tensors[nd->in[k]].t;
    return run_op(nd->op, &nd->params, ins, &g->tensors[nd->out].t,
                  pol_ctx_kernels(ctx), pol_ctx_pool(ctx));
}

pol_status pol_graph_eval(pol_graph *g, pol_ctx *ctx)
{
    const int cuda = pol_ctx_device(ctx) == POL_DEVICE_CUDA;
    if (cuda) {
        int fresh = !g->dev;
        pol_status st = ensure_device(g, ctx);
        for (int i = 0; !st && !fresh && i < g->n_tensors; i++)
            if (g->tensors[i].kind == POL_TENSOR_INPUT && !g->tensors[i].dev_fed)
                st = pol_cuda_graph_upload(g->dev, i);
        for (int i = 0; i < g->n_tensors; i++)
            g->tensors[i].dev_fed = 0;
        if (st)
            return st;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        pol_status st = pol_graph_eval_node(g, ctx, i);
        if (st)
            return st;
    }
    return cuda ? pol_cuda_graph_sync(g->dev) : POL_OK;
}

pol_status pol_graph_gather_rows(pol_graph *g, pol_ctx *ctx, int id, const pol_tensor *src,
                                 const uint32_t *rows)
{
    if (!g || id < 0 || id >= g->n_tensors || g->tensors[id].kind != POL_TENSOR_INPUT || !src ||
        !rows)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_graph_gather_rows: bad argument");
    pol_tensor *t = &g->tensors[id].t;
    if (t->ndim < 1 || src->dtype != t->dtype || src->ndim != t->ndim)
        return pol_errorf(POL_ERR_SHAPE, "gather into %s: dtype or rank differs from %s", t->name,
                          src->name);
    for (int d = 1; d < t->ndim; d++)
        if (src->shape[d] != t->shape[d])
            return pol_errorf(POL_ERR_SHAPE, "gather into %s: dimension %d is %lld in %s, %lld "
                              "here", t->name, d, (long long)src->shape[d], src->name,
                              (long long)t->shape[d]);
    const int64_t n = t->shape[0], avail = src->shape[0];
    for (int64_t r = 0; r < n; r++)
        if ((int64_t)rows[r] >= avail)
            return pol_errorf(POL_ERR_INVALID_ARG, "gather into %s: row %lld of %s does not "
                              "exist (%lld rows)", t->name, (long long)rows[r], src->name,
                              (long long)avail);
    if (n == 0)
        return POL_OK;
    const size_t row = t->nbytes / (size_t)n;
    g->tensors[id].dev_fed = 0; /* until the device path below succeeds */
    if (ctx && pol_ctx_device(ctx) == POL_DEVICE_CUDA && row % 4 == 0) {
        pol_status st = ensure_device(g, ctx);
        if (!st)
            st = pol_cuda_graph_gather_rows(g->dev, id, src, rows);
        if (!st)
            g->tensors[id].dev_fed = 1;
        if (st != POL_ERR_NOMEM)
            return st;
        /* src does not fit on the device: gather on the host, and the
         * next evaluation uploads the rows as before */
    }
    /* the host path (also for rows that are not whole 4-byte words) */
    for (int64_t r = 0; r < n; r++)
        memcpy((uint8_t *)t->data + (size_t)r * row, (const uint8_t *)src->data + rows[r] * row,
               row);
    return POL_OK;
}

/* Applies fn to tensor id, or to every tensor for id == -1. */
static pol_status each_tensor(pol_graph *g, int id, pol_status (*fn)(pol_cuda_graph *, int))
{
    if (!g || id < -1 || id >= g->n_tensors)
        return pol_errorf(POL_ERR_INVALID_ARG, "graph transfer: bad tensor id %d", id);
    if (!g->dev)
        return POL_OK;
    if (id >= 0)
        return fn(g->dev, id);
    for (int i = 0; i < g->n_tensors; i++) {
        pol_status st = fn(g->dev, i);
        if (st)
            return st;
    }
    return POL_OK;
}

pol_status pol_graph_download(pol_graph *g, int id)
{
    return each_tensor(g, id, pol_cuda_graph_download);
}

pol_status pol_graph_upload(pol_graph *g, int id) { return each_tensor(g, id, pol_cuda_graph_upload); }

void pol_graph_commit(pol_graph *g)
{
    if (g->dev) {
        /* asynchronous; a failure surfaces at the next wait (eval, download) */
        for (int i = 0; i < g->n_updates; i++)
            (void)!pol_cuda_graph_copy(g->dev, g->updates[i].state, g->updates[i].node);
        return;
    }
    for (int i = 0; i < g->n_updates; i++) {
        pol_tensor *s = &g->tensors[g->updates[i].state].t;
        const pol_tensor *n = &g->tensors[g->updates[i].node].t;
        memcpy(s->data, n->data, s->nbytes);
    }
}

pol_status pol_graph_node_hash(const pol_graph *g, int i, pol_digest *out)
{
    if (!g || !out || i < 0 || i >= g->n_nodes)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_graph_node_hash: bad argument");
    return pol_tensor_hash(&g->tensors[g->nodes[i].out].t, out);
}

void pol_graph_dump(const pol_graph *g, FILE *f)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const pol_node *nd = &g->nodes[i];
        const pol_tensor *o = &g->tensors[nd->out].t;
        fprintf(f, "%4d  %-12s %-28s (", i, OPS[nd->op].name, nd->name);
        for (int k = 0; k < nd->n_in; k++)
            fprintf(f, "%s%s", k ? ", " : "", g->tensors[nd->in[k]].t.name);
        fprintf(f, ") -> [");
        for (int d = 0; d < o->ndim; d++)
            fprintf(f, "%s%lld", d ? "," : "", (long long)o->shape[d]);
        fprintf(f, "]\n");
    }
}
