#include "pol/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol/cmath.h"
#include "pol/rng.h"

static void fmt(char *buf, const char *f, int i, const char *suffix)
{
    snprintf(buf, POL_NAME_MAX, f, i, suffix);
}

/* Optimizer nodes for one parameter `p` (STATE id) with gradient `g`. */
static pol_status add_optimizer(const pol_task *t, pol_model *m, int p, int g)
{
    pol_graph *G = m->graph;
    const pol_tensor *pt = pol_graph_tensor(G, p);
    char name[3 * POL_NAME_MAX], pname[POL_NAME_MAX]; /* too long a name is refused by the graph */
    snprintf(pname, sizeof pname, "%s", pt->name);
    /* Adding tensors may move the graph's tensor array: keep copies, not pt. */
    const int ndim = pt->ndim;
    int64_t shape[POL_MAX_DIMS];
    memcpy(shape, pt->shape, sizeof shape);
    pt = NULL;
    pol_node_params np = { 0 };
    np.beta1 = t->beta1, np.beta2 = t->beta2, np.eps = t->eps, np.wd = t->weight_decay;
    int newp;
    if (t->optimizer == POL_OPTIM_ADAMW) {
        int mo, vo, mn, vn;
        snprintf(name, sizeof name, "%s.m", pname);
        POL_TRY(pol_graph_add_tensor(G, name, POL_TENSOR_STATE, POL_F32, ndim, shape, &mo));
        snprintf(name, sizeof name, "%s.v", pname);
        POL_TRY(pol_graph_add_tensor(G, name, POL_TENSOR_STATE, POL_F32, ndim, shape, &vo));
        snprintf(name, sizeof name, "opt.%s.m", pname);
        POL_TRY(pol_graph_add_node(G, POL_OP_ADAM_M, name, (int[]){ mo, g }, 2, &np, &mn));
        snprintf(name, sizeof name, "opt.%s.v", pname);
        POL_TRY(pol_graph_add_node(G, POL_OP_ADAM_V, name, (int[]){ vo, g }, 2, &np, &vn));
        snprintf(name, sizeof name, "opt.%s", pname);
        POL_TRY(pol_graph_add_node(G, POL_OP_ADAMW_PARAM, name, (int[]){ p, mn, vn, m->in_hyper }, 4,
                               &np, &newp));
        POL_TRY(pol_graph_set_update(G, mo, mn));
        POL_TRY(pol_graph_set_update(G, vo, vn));
        m->state[m->n_state++] = mo;
        m->state[m->n_state++] = vo;
    } else {
        int bo, bn;
        snprintf(name, sizeof name, "%s.buf", pname);
        POL_TRY(pol_graph_add_tensor(G, name, POL_TENSOR_STATE, POL_F32, ndim, shape, &bo));
        snprintf(name, sizeof name, "opt.%s.buf", pname);
        POL_TRY(pol_graph_add_node(G, POL_OP_SGD_BUF, name, (int[]){ bo, g, p }, 3, &np, &bn));
        snprintf(name, sizeof name, "opt.%s", pname);
        POL_TRY(pol_graph_add_node(G, POL_OP_SGD_PARAM, name, (int[]){ p, bn, m->in_hyper }, 3, &np,
                               &newp));
        POL_TRY(pol_graph_set_update(G, bo, bn));
        m->state[m->n_state++] = bo;
    }
    return pol_graph_set_update(G, p, newp);
}

/* Tensor ids of each layer while the graph is built, (L) each. */
typedef struct layer_ids {
    int *pre, *act; /* forward outputs */
    int *W, *b, *dW, *db;
} layer_ids;

static pol_status build(const pol_task *t, pol_model *m, const layer_ids *ids)
{
    pol_graph *G = m->graph;
    const int L = t->n_layers;
    const int64_t B = t->batch;
    char name[POL_NAME_MAX];
    int *pre = ids->pre, *act = ids->act, *W = ids->W, *b = ids->b, *dW = ids->dW, *db = ids->db;

    POL_TRY(pol_graph_add_tensor(G, "in.x", POL_TENSOR_INPUT, POL_F32, 2, (int64_t[]){ B, t->sizes[0] },
                             &m->in_x));
    POL_TRY(pol_graph_add_tensor(G, "in.y", POL_TENSOR_INPUT, POL_I32, 1, (int64_t[]){ B }, &m->in_y));
    POL_TRY(pol_graph_add_tensor(G, "in.hyper", POL_TENSOR_INPUT, POL_F32, 1,
                             (int64_t[]){ POL_HYPER_LEN }, &m->in_hyper));
    for (int i = 0; i < L; i++) {
        fmt(name, "l%d.%s", i, "W");
        POL_TRY(pol_graph_add_tensor(G, name, POL_TENSOR_STATE, POL_F32, 2,
                                 (int64_t[]){ t->sizes[i + 1], t->sizes[i] }, &W[i]));
        fmt(name, "l%d.%s", i, "b");
        POL_TRY(pol_graph_add_tensor(G, name, POL_TENSOR_STATE, POL_F32, 1,
                                 (int64_t[]){ t->sizes[i + 1] }, &b[i]));
        m->params[m->n_params++] = W[i];
        m->params[m->n_params++] = b[i];
        m->state[m->n_state++] = W[i];
        m->state[m->n_state++] = b[i];
    }
    /* forward */
    const pol_op act_op = t->activation == POL_ACT_GELU ? POL_OP_GELU : POL_OP_RELU;
    const pol_op act_bwd = t->activation == POL_ACT_GELU ? POL_OP_GELU_BWD : POL_OP_RELU_BWD;
    int x = m->in_x;
    for (int i = 0; i < L; i++) {
        fmt(name, "fwd.l%d.%s", i, "linear");
        POL_TRY(pol_graph_add_node(G, POL_OP_LINEAR, name, (int[]){ x, W[i], b[i] }, 3, NULL, &pre[i]));
        if (i < L - 1) {
            fmt(name, "fwd.l%d.%s", i, "act");
            POL_TRY(pol_graph_add_node(G, act_op, name, (int[]){ pre[i] }, 1, NULL, &act[i]));
            x = act[i];
        }
    }
    POL_TRY(pol_graph_add_node(G, POL_OP_XENT_LOSS, "loss", (int[]){ pre[L - 1], m->in_y }, 2, NULL,
                           &m->loss));
    /* backward */
    int dy;
    POL_TRY(pol_graph_add_node(G, POL_OP_XENT_BWD, "bwd.logits", (int[]){ pre[L - 1], m->in_y }, 2,
                           NULL, &dy));
    for (int i = L - 1; i >= 0; i--) {
        int input = i == 0 ? m->in_x : act[i - 1];
        pol_node_params tn = { 0 };
        tn.trans_a = 1;
        fmt(name, "bwd.l%d.%s", i, "dW");
        POL_TRY(pol_graph_add_node(G, POL_OP_MATMUL, name, (int[]){ dy, input }, 2, &tn, &dW[i]));
        fmt(name, "bwd.l%d.%s", i, "db");
        POL_TRY(pol_graph_add_node(G, POL_OP_BIAS_GRAD, name, (int[]){ dy }, 1, NULL, &db[i]));
        if (i > 0) {
            int dx;
            fmt(name, "bwd.l%d.%s", i, "dx");
            POL_TRY(pol_graph_add_node(G, POL_OP_MATMUL, name, (int[]){ dy, W[i] }, 2, NULL, &dx));
            fmt(name, "bwd.l%d.%s", i - 1, "act");
            POL_TRY(pol_graph_add_node(G, act_bwd, name, (int[]){ pre[i - 1], dx }, 2, NULL, &dy));
        }
    }
    /* optimizer, parameters in layer order */
    for (int i = 0; i < L; i++) {
        POL_TRY(add_optimizer(t, m, W[i], dW[i]));
        POL_TRY(add_optimizer(t, m, b[i], db[i]));
    }
    return POL_OK;
}

pol_status pol_model_build(const pol_task *t, pol_model *m)
{
    if (!t || !m)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_model_build: NULL argument");
    memset(m, 0, sizeof *m);
    if (t->n_layers < 1 || t->n_layers > POL_MLP_MAX_LAYERS)
        return pol_errorf(POL_ERR_INVALID_ARG, "model: %d layers (1..%d)", t->n_layers,
                          POL_MLP_MAX_LAYERS);
    const size_t L = (size_t)t->n_layers;
    int *scratch = malloc(6 * L * sizeof *scratch);
    m->params = malloc(2 * L * sizeof *m->params);
    m->state = malloc(6 * L * sizeof *m->state);
    pol_status st = scratch && m->params && m->state
                        ? POL_OK
                        : pol_errorf(POL_ERR_NOMEM, "model of %zu layers", L);
    if (!st)
        st = pol_graph_create(&m->graph);
    if (!st) {
        const layer_ids ids = { scratch, scratch + L, scratch + 2 * L,
                                scratch + 3 * L, scratch + 4 * L, scratch + 5 * L };
        st = build(t, m, &ids);
    }
    free(scratch);
    if (st) {
        pol_model_free(m);
        return st;
    }
    pol_graph_freeze(m->graph);
    return POL_OK;
}

void pol_model_free(pol_model *m)
{
    if (!m)
        return;
    pol_graph_destroy(m->graph);
    free(m->params), free(m->state);
    memset(m, 0, sizeof *m);
}

void pol_model_init_params(const pol_task *t, pol_model *m)
{
    for (int s = 0; s < m->n_state; s++) {
        pol_tensor *x = pol_graph_tensor(m->graph, m->state[s]);
        memset(x->data, 0, x->nbytes);
    }
    for (int i = 0; i < t->n_layers; i++) {
        const int64_t in = t->sizes[i], out = t->sizes[i + 1];
        const float bound = 1.0f / pol_fsqrt((float)in);
        float *W = pol_f32(pol_graph_tensor(m->graph, m->params[2 * i]));
        float *b = pol_f32(pol_graph_tensor(m->graph, m->params[2 * i + 1]));
        for (int64_t k = 0; k < out * in; k++)
            W[k] = pol_rng_uniform(t->seed, POL_STREAM_INIT, (uint32_t)i, (uint64_t)k, -bound, bound);
        for (int64_t o = 0; o < out; o++)
            b[o] = pol_rng_uniform(t->seed, POL_STREAM_INIT, (uint32_t)i, (uint64_t)(out * in + o),
                                   -bound, bound);
    }
}
