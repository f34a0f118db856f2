/* The training-step graph: a referee re-running any single node with the
 * reference kernels on the node's inputs gets the output hash the fast
 * evaluation produced; the whole graph's gradients match finite differences
 * of the loss computed in double; the graph refuses malformed nodes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pol/model.h"
#include "testutil.h"

static tu_rng R;

/* A small task (no dataset needed to build the graph). */
static void make_task(pol_task *t, pol_activation act, pol_optimizer opt)
{
    memset(t, 0, sizeof *t);
    t->n_layers = 3;
    t->sizes[0] = 7, t->sizes[1] = 9, t->sizes[2] = 5, t->sizes[3] = 4;
    t->activation = act;
    t->seed = tu_next(&R);
    t->steps = 10, t->batch = 6, t->checkpoint_every = 5, t->mode = POL_MODE_EXACT;
    t->optimizer = opt;
    t->lr = 0.05f, t->beta1 = 0.9f, t->beta2 = 0.99f, t->eps = 1e-8f, t->weight_decay = 0.01f;
    t->schedule = POL_SCHED_CONSTANT;
}

static void fill_inputs(pol_model *m, const pol_task *t)
{
    pol_tensor *x = pol_graph_tensor(m->graph, m->in_x), *y = pol_graph_tensor(m->graph, m->in_y),
               *h = pol_graph_tensor(m->graph, m->in_hyper);
    tu_fill_uniform(&R, pol_f32(x), (size_t)pol_tensor_numel(x), -2.0f, 2.0f);
    for (int64_t i = 0; i < t->batch; i++)
        pol_i32(y)[i] = (int32_t)(tu_next(&R) % (uint64_t)t->sizes[t->n_layers]);
    pol_f32(h)[0] = t->lr, pol_f32(h)[1] = 0.1f, pol_f32(h)[2] = 0.01f;
}

static void test_single_node_replay(void **st)
{
    (void)st;
    for (int variant = 0; variant < 2; variant++) {
        pol_task t;
        make_task(&t, variant ? POL_ACT_RELU : POL_ACT_GELU, variant ? POL_OPTIM_SGD : POL_OPTIM_ADAMW);
        pol_model m;
        assert_int_equal(pol_model_build(&t, &m), POL_OK);
        pol_model_init_params(&t, &m);
        fill_inputs(&m, &t);
        pol_ctx *ctx;
        pol_ctx_opts o = { .threads = 2, .kernels = POL_KERNELS_FAST };
        assert_int_equal(pol_ctx_create(&ctx, &o), POL_OK);
        assert_int_equal(pol_graph_eval(m.graph, ctx), POL_OK);
        for (int i = 0; i < pol_graph_n_nodes(m.graph); i++) {
            const pol_node *nd = pol_graph_node(m.graph, i);
            const pol_tensor *in[POL_NODE_MAX_IN];
            for (int k = 0; k < nd->n_in; k++)
                in[k] = pol_graph_tensor(m.graph, nd->in[k]);
            const pol_tensor *o_t = pol_graph_tensor(m.graph, nd->out);
            pol_tensor out;
            assert_int_equal(pol_tensor_alloc(&out, o_t->name, POL_F32, o_t->ndim, o_t->shape), POL_OK);
            assert_int_equal(pol_node_eval(nd->op, &nd->params, in, nd->n_in, &out, POL_KERNELS_REF, NULL),
                             POL_OK);
            pol_digest a, b;
            assert_int_equal(pol_graph_node_hash(m.graph, i, &a), POL_OK);
            assert_int_equal(pol_tensor_hash(&out, &b), POL_OK);
            if (memcmp(a.b, b.b, 32))
                fail_msg("node %d (%s): reference replay differs from the fast evaluation", i, nd->name);
            pol_tensor_free(&out);
        }
        pol_ctx_destroy(ctx);
        pol_model_free(&m);
    }
}

/* ------------------------------------------ whole-graph gradient check -- */

typedef struct {
    const pol_task *t;
    const double *x; /* (B, D) */
    const int32_t *y;
    double *p[2 * POL_MLP_MAX_LAYERS]; /* W0, b0, W1, ... in double */
} net_d;

static double act_d(const pol_task *t, double v)
{
    if (t->activation == POL_ACT_RELU)
        return v > 0 ? v : 0;
    return 0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
}

/* The mean cross-entropy of the MLP, in double. */
static double loss_d(const net_d *n)
{
    const pol_task *t = n->t;
    double total = 0.0, a[64], h[64];
    for (int64_t r = 0; r < t->batch; r++) {
        for (int64_t k = 0; k < t->sizes[0]; k++)
            a[k] = n->x[r * t->sizes[0] + k];
        for (int l = 0; l < t->n_layers; l++) {
            int64_t I = t->sizes[l], O = t->sizes[l + 1];
            for (int64_t o = 0; o < O; o++) {
                double s = n->p[2 * l + 1][o];
                for (int64_t k = 0; k < I; k++)
                    s += n->p[2 * l][o * I + k] * a[k];
                h[o] = s;
            }
            for (int64_t o = 0; o < O; o++)
                a[o] = l < t->n_layers - 1 ? act_d(t, h[o]) : h[o];
        }
        int64_t C = t->sizes[t->n_layers];
        double m = a[0], s = 0.0;
        for (int64_t j = 1; j < C; j++) m = fmax(m, a[j]);
        for (int64_t j = 0; j < C; j++) s += exp(a[j] - m);
        total += log(s) - (a[n->y[r]] - m);
    }
    return total / (double)t->batch;
}

static void test_graph_gradients(void **st)
{
    (void)st;
    for (int variant = 0; variant < 2; variant++) {
        pol_task t;
        make_task(&t, variant ? POL_ACT_RELU : POL_ACT_GELU, POL_OPTIM_SGD);
        pol_model m;
        assert_int_equal(pol_model_build(&t, &m), POL_OK);
        pol_model_init_params(&t, &m);
        fill_inputs(&m, &t);
        pol_ctx *ctx;
        assert_int_equal(pol_ctx_create(&ctx, NULL), POL_OK);
        assert_int_equal(pol_graph_eval(m.graph, ctx), POL_OK);
        net_d n = { &t, NULL, pol_i32(pol_graph_tensor(m.graph, m.in_y)), { 0 } };
        const pol_tensor *xt = pol_graph_tensor(m.graph, m.in_x);
        double *xd = malloc(sizeof(double) * (size_t)pol_tensor_numel(xt));
        for (int64_t i = 0; i < pol_tensor_numel(xt); i++) xd[i] = pol_f32(xt)[i];
        n.x = xd;
        for (int q = 0; q < m.n_params; q++) {
            const pol_tensor *p = pol_graph_tensor(m.graph, m.params[q]);
            n.p[q] = malloc(sizeof(double) * (size_t)pol_tensor_numel(p));
            for (int64_t i = 0; i < pol_tensor_numel(p); i++) n.p[q][i] = pol_f32(p)[i];
        }
        /* the graph's loss agrees with the double loss */
        double l0 = loss_d(&n);
        float lf = *pol_f32(pol_graph_tensor(m.graph, m.loss));
        assert_true(fabs(l0 - lf) < 1e-5 * fmax(1.0, fabs(l0)));
        for (int q = 0; q < m.n_params; q++) {
            char gname[80];
            snprintf(gname, sizeof gname, "bwd.l%d.%s", q / 2, q % 2 ? "db" : "dW");
            int gid = pol_graph_find(m.graph, gname);
            assert_true(gid >= 0);
            const float *g = pol_f32(pol_graph_tensor(m.graph, gid));
            int64_t cnt = pol_tensor_numel(pol_graph_tensor(m.graph, m.params[q]));
            for (int64_t i = 0; i < cnt; i++) {
                double keep = n.p[q][i], h = 1e-6;
                n.p[q][i] = keep + h;
                double fp = loss_d(&n);
                n.p[q][i] = keep - h;
                double fm = loss_d(&n);
                n.p[q][i] = keep;
                double fd = (fp - fm) / (2 * h);
                if (fabs(g[i] - fd) > 2e-5 + 2e-3 * fabs(fd))
                    fail_msg("%s[%ld] (%s) = %.8g, finite difference %.8g", gname, (long)i,
                             variant ? "relu" : "gelu", (double)g[i], fd);
            }
        }
        for (int q = 0; q < m.n_params; q++) free(n.p[q]);
        free(xd);
        pol_ctx_destroy(ctx);
        pol_model_free(&m);
    }
}

static void test_graph_rejects(void **st)
{
    (void)st;
    pol_graph *g;
    assert_int_equal(pol_graph_create(&g), POL_OK);
    int a, b, c;
    assert_int_equal(pol_graph_add_tensor(g, "a", POL_TENSOR_INPUT, POL_F32, 2, (int64_t[]){ 3, 4 }, &a), POL_OK);
    assert_int_equal(pol_graph_add_tensor(g, "b", POL_TENSOR_STATE, POL_F32, 2, (int64_t[]){ 5, 3 }, &b), POL_OK);
    assert_int_equal(pol_graph_add_tensor(g, "a", POL_TENSOR_STATE, POL_F32, 1, (int64_t[]){ 1 }, &c),
                     POL_ERR_INVALID_ARG); /* duplicate name */
    assert_int_equal(pol_graph_add_tensor(g, "bad name!", POL_TENSOR_STATE, POL_F32, 1, (int64_t[]){ 1 }, &c),
                     POL_ERR_INVALID_ARG);
    assert_int_equal(pol_graph_add_node(g, POL_OP_MATMUL, "ab", (int[]){ a, b }, 2, NULL, &c), POL_ERR_SHAPE);
    pol_node_params tb = { 0 };
    tb.trans_a = 1, tb.trans_b = 1; /* (4,3) x (3,5) */
    assert_int_equal(pol_graph_add_node(g, POL_OP_MATMUL, "ab", (int[]){ a, b }, 2, &tb, &c), POL_OK);
    assert_int_equal(pol_graph_tensor(g, c)->shape[0], 4);
    assert_int_equal(pol_graph_tensor(g, c)->shape[1], 5);
    assert_int_equal(pol_graph_add_node(g, POL_OP_RELU, "r", (int[]){ 99 }, 1, NULL, &c), POL_ERR_INVALID_ARG);
    assert_int_equal(pol_graph_add_node(g, POL_OP_RELU, "r", (int[]){ a, a }, 2, NULL, &c), POL_ERR_INVALID_ARG);
    assert_int_equal(pol_graph_set_update(g, b, a), POL_ERR_SHAPE); /* a is an input */
    pol_graph_freeze(g);
    assert_int_equal(pol_graph_add_node(g, POL_OP_RELU, "r", (int[]){ a }, 1, NULL, &c), POL_ERR_INVALID_ARG);
    pol_graph_destroy(g);
}

/* pol_node_check, the referee's guard before it evaluates one node from
 * inputs a dispute handed it: every op accepts inputs of the right shapes
 * and dtypes with an output of the shape it infers, and refuses each wrong
 * shape or dtype (SHAPE), a wrong output shape (SHAPE), an unknown op, a
 * wrong input count or a missing input (INVALID_ARG). pol_node_eval refuses
 * the same and leaves its output untouched. */
static void test_node_check(void **st)
{
    (void)st;
    enum { X, X2, XI, W, WBAD, B4, B5, V6, LAB, LAB3, LABF, H, H5, O23, O24, O3, O0, O42, N_T };
    static const struct { const char *name; pol_dtype dt; int nd; int64_t s0, s1; } spec[N_T] = {
        [X] = { "x", POL_F32, 2, 2, 3 },      [X2] = { "x2", POL_F32, 2, 2, 3 },
        [XI] = { "xi", POL_I32, 2, 2, 3 },    [W] = { "w", POL_F32, 2, 4, 3 },
        [WBAD] = { "wbad", POL_F32, 2, 4, 5 }, [B4] = { "b4", POL_F32, 1, 4, 0 },
        [B5] = { "b5", POL_F32, 1, 5, 0 },    [V6] = { "v6", POL_F32, 1, 6, 0 },
        [LAB] = { "lab", POL_I32, 1, 2, 0 },  [LAB3] = { "lab3", POL_I32, 1, 3, 0 },
        [LABF] = { "labf", POL_F32, 1, 2, 0 },
        [H] = { "h", POL_F32, 1, POL_HYPER_LEN, 0 }, [H5] = { "h5", POL_F32, 1, 5, 0 },
        [O23] = { "o23", POL_F32, 2, 2, 3 },  [O24] = { "o24", POL_F32, 2, 2, 4 },
        [O3] = { "o3", POL_F32, 1, 3, 0 },    [O0] = { "o0", POL_F32, 0, 0, 0 },
        [O42] = { "o42", POL_F32, 2, 4, 2 },
    };
    pol_tensor t[N_T];
    for (int i = 0; i < N_T; i++)
        assert_int_equal(pol_tensor_alloc(&t[i], spec[i].name, spec[i].dt, spec[i].nd,
                                          (int64_t[]){ spec[i].s0, spec[i].s1 }),
                         POL_OK);
    static const struct {
        pol_op op;
        int trans_b, n_in, in[4], out;
        pol_status want;
    } cases[] = {
        /* accepted */
        { POL_OP_LINEAR, 0, 3, { X, W, B4 }, O24, POL_OK },
        { POL_OP_MATMUL, 1, 2, { X, W }, O24, POL_OK },
        { POL_OP_BIAS_GRAD, 0, 1, { X }, O3, POL_OK },
        { POL_OP_RELU, 0, 1, { X }, O23, POL_OK },
        { POL_OP_GELU_BWD, 0, 2, { X, X2 }, O23, POL_OK },
        { POL_OP_XENT_LOSS, 0, 2, { X, LAB }, O0, POL_OK },
        { POL_OP_XENT_BWD, 0, 2, { X, LAB }, O23, POL_OK },
        { POL_OP_ADAM_V, 0, 2, { X, X2 }, O23, POL_OK },
        { POL_OP_ADAMW_PARAM, 0, 4, { X, X2, X, H }, O23, POL_OK },
        { POL_OP_SGD_BUF, 0, 3, { X, X2, X }, O23, POL_OK },
        { POL_OP_SGD_PARAM, 0, 3, { X, X2, H }, O23, POL_OK },
        /* wrong inputs */
        { POL_OP_LINEAR, 0, 3, { X, WBAD, B4 }, O24, POL_ERR_SHAPE },
        { POL_OP_LINEAR, 0, 3, { X, W, B5 }, O24, POL_ERR_SHAPE },
        { POL_OP_LINEAR, 0, 3, { XI, W, B4 }, O24, POL_ERR_SHAPE },
        { POL_OP_MATMUL, 0, 2, { X, W }, O24, POL_ERR_SHAPE }, /* inner 3 != 4 */
        { POL_OP_MATMUL, 0, 2, { X, V6 }, O24, POL_ERR_SHAPE },
        { POL_OP_BIAS_GRAD, 0, 1, { V6 }, O3, POL_ERR_SHAPE },
        { POL_OP_RELU, 0, 1, { XI }, O23, POL_ERR_SHAPE },
        { POL_OP_RELU_BWD, 0, 2, { X, W }, O23, POL_ERR_SHAPE },
        { POL_OP_ADAM_M, 0, 2, { X, XI }, O23, POL_ERR_SHAPE },
        { POL_OP_XENT_LOSS, 0, 2, { X, LAB3 }, O0, POL_ERR_SHAPE },
        { POL_OP_XENT_BWD, 0, 2, { X, LABF }, O23, POL_ERR_SHAPE }, /* labels not I32 */
        { POL_OP_ADAMW_PARAM, 0, 4, { X, X2, X, H5 }, O23, POL_ERR_SHAPE },
        { POL_OP_ADAMW_PARAM, 0, 4, { X, W, X, H }, O23, POL_ERR_SHAPE },
        { POL_OP_SGD_BUF, 0, 3, { X, X2, W }, O23, POL_ERR_SHAPE },
        { POL_OP_SGD_PARAM, 0, 3, { XI, XI, H }, O23, POL_ERR_SHAPE },
        /* wrong output */
        { POL_OP_LINEAR, 0, 3, { X, W, B4 }, O42, POL_ERR_SHAPE },
        { POL_OP_XENT_LOSS, 0, 2, { X, LAB }, O3, POL_ERR_SHAPE },
        /* not an op, or the wrong number of inputs */
        { (pol_op)0, 0, 1, { X }, O23, POL_ERR_INVALID_ARG },
        { (pol_op)15, 0, 1, { X }, O23, POL_ERR_INVALID_ARG },
        { POL_OP_RELU, 0, 2, { X, X2 }, O23, POL_ERR_INVALID_ARG },
        { POL_OP_LINEAR, 0, 2, { X, W }, O24, POL_ERR_INVALID_ARG },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const pol_tensor *in[4] = { 0 };
        for (int i = 0; i < cases[c].n_in; i++)
            in[i] = &t[cases[c].in[i]];
        pol_node_params p = { 0 };
        p.trans_b = cases[c].trans_b;
        pol_tensor *out = &t[cases[c].out];
        const pol_status got = pol_node_check(cases[c].op, &p, in, cases[c].n_in, out);
        if (got != cases[c].want)
            fail_msg("case %zu (op %d): want %s, got %s (%s)", c, (int)cases[c].op,
                     pol_strerror(cases[c].want), pol_strerror(got), got ? pol_last_error() : "");
        if (got == POL_OK)
            continue;
        memset(out->data, 0x5a, out->nbytes);
        assert_int_equal(pol_node_eval(cases[c].op, &p, in, cases[c].n_in, out, POL_KERNELS_REF, NULL),
                         got);
        for (size_t b = 0; b < out->nbytes; b++)
            assert_int_equal(((const uint8_t *)out->data)[b], 0x5a);
    }
    /* a missing input */
    const pol_tensor *in1[1] = { NULL };
    assert_int_equal(pol_node_check(POL_OP_RELU, NULL, in1, 1, &t[O23]), POL_ERR_INVALID_ARG);
    for (int i = 0; i < N_T; i++)
        pol_tensor_free(&t[i]);
}

/* pol_graph_gather_rows on the host (ctx NULL): the named rows, in order;
 * bad requests refused with the tensor unchanged. The CUDA path is checked
 * by pol-gpu-test (training on the device gathers every batch). */
static void test_gather_rows(void **st)
{
    (void)st;
    pol_graph *g;
    assert_int_equal(pol_graph_create(&g), POL_OK);
    int x, y, s;
    assert_int_equal(pol_graph_add_tensor(g, "x", POL_TENSOR_INPUT, POL_F32, 2, (int64_t[]){ 3, 4 }, &x), POL_OK);
    assert_int_equal(pol_graph_add_tensor(g, "y", POL_TENSOR_INPUT, POL_I32, 1, (int64_t[]){ 3 }, &y), POL_OK);
    assert_int_equal(pol_graph_add_tensor(g, "s", POL_TENSOR_STATE, POL_F32, 2, (int64_t[]){ 3, 4 }, &s), POL_OK);
    pol_graph_freeze(g);
    pol_tensor sx, sy, s5, si;
    assert_int_equal(pol_tensor_alloc(&sx, "train_x", POL_F32, 2, (int64_t[]){ 10, 4 }), POL_OK);
    assert_int_equal(pol_tensor_alloc(&sy, "train_y", POL_I32, 1, (int64_t[]){ 10 }), POL_OK);
    assert_int_equal(pol_tensor_alloc(&s5, "wide", POL_F32, 2, (int64_t[]){ 10, 5 }), POL_OK);
    assert_int_equal(pol_tensor_alloc(&si, "ints", POL_I32, 2, (int64_t[]){ 10, 4 }), POL_OK);
    for (int i = 0; i < 40; i++)
        pol_f32(&sx)[i] = (float)i;
    for (int i = 0; i < 10; i++)
        pol_i32(&sy)[i] = 100 + i;
    const uint32_t rows[3] = { 9, 0, 9 };
    assert_int_equal(pol_graph_gather_rows(g, NULL, x, &sx, rows), POL_OK);
    assert_int_equal(pol_graph_gather_rows(g, NULL, y, &sy, rows), POL_OK);
    const float *gx = pol_f32(pol_graph_tensor(g, x));
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 4; c++)
            assert_true(gx[r * 4 + c] == (float)(rows[r] * 4 + (uint32_t)c));
        assert_int_equal(pol_i32(pol_graph_tensor(g, y))[r], 100 + (int)rows[r]);
    }
    /* refused: a row past the end, a STATE tensor, dtype, rank, row size, NULLs */
    const uint32_t past[3] = { 1, 10, 2 };
    assert_int_equal(pol_graph_gather_rows(g, NULL, x, &sx, past), POL_ERR_INVALID_ARG);
    assert_non_null(strstr(pol_last_error(), "row 10"));
    assert_int_equal(pol_graph_gather_rows(g, NULL, s, &sx, rows), POL_ERR_INVALID_ARG);
    assert_int_equal(pol_graph_gather_rows(g, NULL, x, &si, rows), POL_ERR_SHAPE);
    assert_int_equal(pol_graph_gather_rows(g, NULL, x, &sy, rows), POL_ERR_SHAPE);
    assert_int_equal(pol_graph_gather_rows(g, NULL, x, &s5, rows), POL_ERR_SHAPE);
    assert_int_equal(pol_graph_gather_rows(g, NULL, x, NULL, rows), POL_ERR_INVALID_ARG);
    assert_int_equal(pol_graph_gather_rows(g, NULL, x, &sx, NULL), POL_ERR_INVALID_ARG);
    assert_int_equal(pol_graph_gather_rows(g, NULL, 99, &sx, rows), POL_ERR_INVALID_ARG);
    for (int r = 0; r < 3; r++) /* unchanged by the refusals */
        assert_true(gx[r * 4] == (float)(rows[r] * 4));
    pol_tensor_free(&sx), pol_tensor_free(&sy), pol_tensor_free(&s5), pol_tensor_free(&si);
    pol_graph_destroy(g);
}

int main(void)
{
    tu_rng_init(&R, tu_seed());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_node_replay),
        cmocka_unit_test(test_graph_gradients),
        cmocka_unit_test(test_graph_rejects),
        cmocka_unit_test(test_node_check),
        cmocka_unit_test(test_gather_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
