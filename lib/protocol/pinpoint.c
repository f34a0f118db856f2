/* The pinpoint protocol (spec/pinpoint.md): node records, the replaying
 * party, the dispute driver and the referee. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pol/cmath.h"
#include "pol/distance.h"
#include "pol/fileio.h"
#include "pol/pinpoint.h"
#include "pol/rng.h"
#include "pol/train.h"

static const char *const counter_names[3] = { "counters.data_cursor", "counters.data_epoch",
                                              "counters.step" };

/* ====================================================== node records == */

pol_status pol_node_record_hash(const pol_node_record *r, pol_digest *out)
{
    memset(out, 0, sizeof *out);
    if (r->n_in < 0 || r->n_in > POL_NODE_MAX_IN)
        return pol_errorf(POL_ERR_INVALID_ARG, "node record: %d inputs", r->n_in);
    static const char tag[] = "libpol/node/v1"; /* written with its NUL */
    uint8_t buf[1 + sizeof tag + 4 + 8 + 16 + 4 + 32 * (POL_NODE_MAX_IN + 1)], *p = buf;
    *p++ = 0x03;
    memcpy(p, tag, sizeof tag), p += sizeof tag;
    const uint32_t words[8] = { (uint32_t)r->op, (uint32_t)r->params.trans_a,
                                (uint32_t)r->params.trans_b, 0, 0, 0, 0, (uint32_t)r->n_in };
    uint32_t w[8];
    memcpy(w, words, sizeof w);
    memcpy(&w[3], &r->params.beta1, 4), memcpy(&w[4], &r->params.beta2, 4);
    memcpy(&w[5], &r->params.eps, 4), memcpy(&w[6], &r->params.wd, 4);
    for (int i = 0; i < 8; i++, p += 4)
        for (int b = 0; b < 4; b++)
            p[b] = (uint8_t)(w[i] >> (8 * b));
    for (int i = 0; i < r->n_in; i++, p += 32)
        memcpy(p, r->in[i].b, 32);
    memcpy(p, r->out.b, 32), p += 32;
    return pol_sha256(buf, (size_t)(p - buf), out);
}

pol_status pol_step_records(const pol_graph *g, pol_node_record *recs, pol_digest *leaves)
{
    const int nt = pol_graph_n_tensors(g), nn = pol_graph_n_nodes(g);
    pol_digest *h = calloc((size_t)nt, sizeof *h);
    uint8_t *have = calloc((size_t)nt, 1);
    pol_status st = h && have ? POL_OK : pol_errorf(POL_ERR_NOMEM, "node records");
    for (int i = 0; !st && i < nn; i++) {
        const pol_node *n = pol_graph_node(g, i);
        pol_node_record r = { 0 };
        r.op = n->op, r.params = n->params, r.n_in = n->n_in;
        for (int k = 0; !st && k <= n->n_in; k++) {
            const int id = k < n->n_in ? n->in[k] : n->out;
            if (!have[id] && !(st = pol_tensor_hash(pol_graph_tensor(g, id), &h[id])))
                have[id] = 1;
            if (!st)
                *(k < n->n_in ? &r.in[k] : &r.out) = h[id];
        }
        if (!st)
            st = pol_node_record_hash(&r, &leaves[i]);
        if (recs)
            recs[i] = r;
    }
    free(h), free(have);
    return st;
}

pol_status pol_step_node_root(const pol_graph *g, pol_digest *root)
{
    const int nn = pol_graph_n_nodes(g);
    pol_digest *leaves = malloc((size_t)(nn ? nn : 1) * sizeof *leaves);
    if (!leaves)
        return pol_errorf(POL_ERR_NOMEM, "node records");
    pol_status st = pol_step_records(g, NULL, leaves);
    if (!st)
        st = pol_merkle_root(leaves, (size_t)nn, root);
    free(leaves);
    return st;
}

/* ========================================================== helpers == */

static pol_status tensor_copy(pol_tensor *dst, const pol_tensor *src)
{
    pol_tensor_free(dst);
    pol_status st = pol_tensor_alloc(dst, src->name, src->dtype, src->ndim, src->shape);
    if (!st && src->nbytes)
        memcpy(dst->data, src->data, src->nbytes);
    return st;
}

static void opening_clear(pol_pin_opening *o)
{
    pol_tensor_free(&o->end);
    for (int i = 0; i < POL_NODE_MAX_IN; i++)
        pol_tensor_free(&o->in[i].t);
    for (int i = 0; i < 3; i++)
        pol_tensor_free(&o->counters[i].t);
}

void pol_pin_opening_free(pol_pin_opening *o)
{
    if (!o)
        return;
    opening_clear(o);
    memset(o, 0, sizeof *o);
}

/* The node that outputs tensor id, or -1. */
static int producer(const pol_graph *g, int id)
{
    for (int i = 0; i < pol_graph_n_nodes(g); i++)
        if (pol_graph_node(g, i)->out == id)
            return i;
    return -1;
}

/* The number of checkpoints of a task: 0, k, 2k, ..., steps (C-TRACE). */
static size_t n_checkpoints(const pol_task *t)
{
    return (size_t)(t->steps / t->checkpoint_every + 1 + (t->steps % t->checkpoint_every != 0));
}

static uint64_t ckpt_step(const pol_task *t, size_t i)
{
    const uint64_t s = (uint64_t)i * t->checkpoint_every;
    return s < t->steps ? s : t->steps;
}

/* ====================================================== the replayer == */

struct pol_replayer {
    pol_ctx *ctx;
    const pol_task *task;
    const pol_dataset *ds;
    pol_trainer *tr;
    const pol_graph *g;
    char dir[POL_PATH_MAX];
    pol_cheat cheat;
    size_t n_ckpt;
    pol_digest *ckpt;      /* (n_ckpt) */
    int n_nodes, n_tensors, n_state;
    /* the captured step (P-L3, P-REF) */
    int64_t cs;            /* its index; -1: none */
    int capture;
    pol_node_record *recs; /* (n_nodes) */
    pol_digest *rec_leaves;
    pol_tensor *snap;      /* (n_tensors) every graph tensor before the commit */
    /* the captured step's start and end states, name order, with their leaves */
    int max_state;         /* room in each: the trainer's state tensors */
    pol_tensor *start, *end;
    pol_digest *start_leaves, *end_leaves;
    const pol_tensor **ts, **order; /* (max_state) scratch lists */
    pol_tensor *keep;      /* (max_state) the state a skipped step restores */
    /* the state hashes of one interval (P-TD-L2), cached */
    int64_t trace_iv;      /* -1: none */
    size_t trace_n;
    pol_digest *trace;     /* (trace_n) */
};

static pol_status replay_hook(void *arg, pol_graph *g, int node)
{
    pol_replayer *rp = arg;
    const uint64_t s = pol_trainer_steps_done(rp->tr);
    const pol_model *m = pol_trainer_model(rp->tr);
    if (node == -1 && rp->cheat.kind == POL_CHEAT_WRONG_DATA && s == rp->cheat.step) {
        pol_tensor *x = pol_graph_tensor(g, m->in_x), *y = pol_graph_tensor(g, m->in_y);
        const size_t row = x->nbytes / (size_t)x->shape[0];
        uint8_t tmp[4096];
        for (size_t o = 0; o < row; o += sizeof tmp) { /* swap rows 0 and 1 */
            size_t len = row - o < sizeof tmp ? row - o : sizeof tmp;
            uint8_t *a = (uint8_t *)x->data + o, *b = (uint8_t *)x->data + row + o;
            memcpy(tmp, a, len), memcpy(a, b, len), memcpy(b, tmp, len);
        }
        int32_t t = pol_i32(y)[0];
        pol_i32(y)[0] = pol_i32(y)[1], pol_i32(y)[1] = t;
    }
    if (node >= 0 && rp->cheat.kind == POL_CHEAT_TAMPER_NODE && s == rp->cheat.step &&
        node == rp->cheat.node) {
        pol_tensor *o = pol_graph_tensor(g, pol_graph_node(g, node)->out);
        if (o->nbytes >= 4) /* the top mantissa bit of element 0: a change that is rarely absorbed */
            ((uint8_t *)o->data)[2] ^= 0x40;
    }
    if (rp->capture && node == rp->n_nodes - 1) {
        pol_status st = POL_OK;
        for (int i = 0; !st && i < rp->n_tensors; i++)
            st = tensor_copy(&rp->snap[i], pol_graph_tensor(g, i));
        return st ? st : pol_step_records(g, rp->recs, rp->rec_leaves);
    }
    return POL_OK;
}

/* MOMENTS: the step, then its committed optimizer group cheat.node doubled. */
static pol_status made_up_moments(pol_replayer *rp)
{
    const pol_tensor **ts = rp->ts;
    int n = 0;
    pol_status st = pol_trainer_step(rp->tr, NULL);
    if (!st)
        st = pol_trainer_state(rp->tr, ts, rp->max_state, &n);
    for (int i = 0; !st && i < n; i++)
        if (rp->cheat.node != POL_GROUP_PARAMS && pol_state_group_of(ts[i]->name) == rp->cheat.node)
            for (int64_t e = 0; e < pol_tensor_numel(ts[i]); e++)
                pol_f32(ts[i])[e] *= 2;
    return st;
}

/* One step of the party's own computation, cheats included. */
static pol_status do_step(pol_replayer *rp)
{
    const int at = pol_trainer_steps_done(rp->tr) == rp->cheat.step;
    if (at && rp->cheat.kind == POL_CHEAT_MOMENTS)
        return made_up_moments(rp);
    if (!at || rp->cheat.kind != POL_CHEAT_SKIP_STEP)
        return pol_trainer_step(rp->tr, NULL);
    const pol_tensor **ts = rp->ts;
    pol_tensor *keep = rp->keep;
    memset(keep, 0, (size_t)rp->max_state * sizeof *keep);
    int n = 0;
    pol_status st = pol_trainer_state(rp->tr, ts, rp->max_state, &n);
    for (int i = 0; !st && i < n; i++)
        st = tensor_copy(&keep[i], ts[i]);
    if (!st)
        st = pol_trainer_step(rp->tr, NULL); /* evaluated, then undone but for the step count */
    for (int i = 0; !st && i < n; i++)
        if (strcmp(ts[i]->name, "counters.step"))
            memcpy(ts[i]->data, keep[i].data, ts[i]->nbytes);
    for (int i = 0; i < n; i++)
        pol_tensor_free(&keep[i]);
    return st;
}

static void ckpt_path(const pol_replayer *rp, size_t i, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/ckpt-%zu.safetensors", rp->dir, i);
}

/* Brings the trainer to `steps` steps, replaying from checkpoint `interval`
 * unless it already stands between that checkpoint and `steps`. */
static pol_status goto_steps(pol_replayer *rp, size_t interval, uint64_t steps)
{
    const uint64_t at = pol_trainer_steps_done(rp->tr), from = ckpt_step(rp->task, interval);
    pol_status st = POL_OK;
    if (at > steps || at < from) {
        char path[POL_PATH_MAX + 64];
        ckpt_path(rp, interval, path, sizeof path);
        st = pol_trainer_load(rp->tr, path, &rp->ckpt[interval]);
    }
    while (!st && pol_trainer_steps_done(rp->tr) < steps)
        st = do_step(rp);
    return st;
}

/* Copies the current state, name order, with its leaves. */
static pol_status grab_state(pol_replayer *rp, pol_tensor *dst, pol_digest *leaves)
{
    const pol_tensor **ts = rp->ts, **order = rp->order;
    int n = 0;
    pol_status st = pol_trainer_state(rp->tr, ts, rp->max_state, &n);
    if (!st)
        st = pol_state_leaves(ts, (size_t)n, leaves, order);
    for (int i = 0; !st && i < n; i++)
        st = tensor_copy(&dst[i], order[i]);
    if (!st)
        rp->n_state = n;
    return st;
}

static size_t interval_of(const pol_replayer *rp, uint64_t s)
{
    size_t i = (size_t)(s / rp->task->checkpoint_every);
    return i + 1 < rp->n_ckpt ? i : rp->n_ckpt - 2;
}

static pol_status ensure_step(pol_replayer *rp, uint64_t s)
{
    if (rp->cs == (int64_t)s)
        return POL_OK;
    if (s >= rp->task->steps)
        return pol_errorf(POL_ERR_INVALID_ARG, "replayer: no step %" PRIu64, s);
    rp->cs = -1;
    pol_status st = goto_steps(rp, interval_of(rp, s), s);
    if (!st)
        st = grab_state(rp, rp->start, rp->start_leaves);
    rp->capture = 1;
    if (!st)
        st = do_step(rp);
    rp->capture = 0;
    if (!st)
        st = grab_state(rp, rp->end, rp->end_leaves);
    if (!st)
        rp->cs = (int64_t)s;
    return st;
}

pol_status pol_replayer_create(pol_replayer **out, pol_ctx *ctx, const pol_task *task,
                               const pol_dataset *ds, const char *work_dir, const pol_cheat *cheat)
{
    *out = NULL;
    if (pol_ctx_device(ctx) != POL_DEVICE_CPU)
        return pol_errorf(POL_ERR_UNSUPPORTED, "the replayer needs a CPU context");
    pol_replayer *rp = calloc(1, sizeof *rp);
    if (!rp)
        return pol_errorf(POL_ERR_NOMEM, "replayer");
    rp->ctx = ctx, rp->task = task, rp->ds = ds, rp->cs = -1, rp->trace_iv = -1;
    if (cheat)
        rp->cheat = *cheat;
    snprintf(rp->dir, sizeof rp->dir, "%s", work_dir);
    rp->n_ckpt = n_checkpoints(task);
    pol_status st = pol_mkdir_p(work_dir);
    if (!st)
        st = pol_trainer_create(&rp->tr, ctx, task, ds);
    if (!st) {
        rp->g = pol_trainer_model(rp->tr)->graph;
        rp->n_nodes = pol_graph_n_nodes(rp->g), rp->n_tensors = pol_graph_n_tensors(rp->g);
        rp->ckpt = calloc(rp->n_ckpt, sizeof *rp->ckpt);
        rp->recs = calloc((size_t)rp->n_nodes, sizeof *rp->recs);
        rp->rec_leaves = calloc((size_t)rp->n_nodes, sizeof *rp->rec_leaves);
        rp->snap = calloc((size_t)rp->n_tensors, sizeof *rp->snap);
        const size_t ms = (size_t)(rp->max_state = pol_trainer_model(rp->tr)->n_state + 3);
        rp->start = calloc(ms, sizeof *rp->start), rp->end = calloc(ms, sizeof *rp->end);
        rp->start_leaves = calloc(ms, sizeof *rp->start_leaves);
        rp->end_leaves = calloc(ms, sizeof *rp->end_leaves);
        rp->ts = calloc(ms, sizeof *rp->ts), rp->order = calloc(ms, sizeof *rp->order);
        rp->keep = calloc(ms, sizeof *rp->keep);
        if (!rp->ckpt || !rp->recs || !rp->rec_leaves || !rp->snap || !rp->start || !rp->end ||
            !rp->start_leaves || !rp->end_leaves || !rp->ts || !rp->order || !rp->keep)
            st = pol_errorf(POL_ERR_NOMEM, "replayer");
    }
    if (!st)
        pol_trainer_set_node_hook(rp->tr, replay_hook, rp);
    for (size_t i = 0; !st && i < rp->n_ckpt; i++) {
        while (!st && pol_trainer_steps_done(rp->tr) < ckpt_step(task, i))
            st = do_step(rp);
        char path[POL_PATH_MAX + 64];
        ckpt_path(rp, i, path, sizeof path);
        if (!st)
            st = pol_trainer_save(rp->tr, path, 1, &rp->ckpt[i]);
    }
    if (st) {
        pol_replayer_destroy(rp);
        return st;
    }
    *out = rp;
    return POL_OK;
}

void pol_replayer_destroy(pol_replayer *rp)
{
    if (!rp)
        return;
    for (int i = 0; rp->snap && i < rp->n_tensors; i++)
        pol_tensor_free(&rp->snap[i]);
    for (int i = 0; rp->start && rp->end && i < rp->max_state; i++)
        pol_tensor_free(&rp->start[i]), pol_tensor_free(&rp->end[i]);
    pol_trainer_destroy(rp->tr);
    free(rp->snap), free(rp->recs), free(rp->rec_leaves), free(rp->ckpt);
    free(rp->start), free(rp->end), free(rp->start_leaves), free(rp->end_leaves);
    free(rp->ts), free(rp->order), free(rp->keep), free(rp->trace);
    free(rp);
}

const pol_digest *pol_replayer_checkpoints(const pol_replayer *rp, size_t *n)
{
    *n = rp->n_ckpt;
    return rp->ckpt;
}

/* ------------------------------------------------- party callbacks -- */

static pol_status rp_commit(void *self, size_t *n, pol_digest *root)
{
    pol_replayer *rp = self;
    *n = rp->n_ckpt + (rp->cheat.kind == POL_CHEAT_WRONG_COUNT);
    return pol_merkle_root(rp->ckpt, rp->n_ckpt, root);
}

static pol_status rp_ckpt(void *self, size_t i, pol_digest *h, pol_digest *path, size_t *path_len)
{
    pol_replayer *rp = self;
    if (i >= rp->n_ckpt)
        return pol_errorf(POL_ERR_INVALID_ARG, "replayer: no checkpoint %zu", i);
    *h = rp->ckpt[i];
    return pol_merkle_proof(rp->ckpt, rp->n_ckpt, i, path, path_len);
}

static pol_status rp_state(void *self, size_t interval, uint64_t steps, pol_digest *h)
{
    pol_replayer *rp = self;
    if (interval + 1 >= rp->n_ckpt || steps < ckpt_step(rp->task, interval) ||
        steps > ckpt_step(rp->task, interval + 1))
        return pol_errorf(POL_ERR_INVALID_ARG, "replayer: step %" PRIu64 " is not in interval %zu",
                          steps, interval);
    pol_status st = goto_steps(rp, interval, steps);
    if (!st)
        st = pol_trainer_state_hash(rp->tr, h);
    if (!st && rp->cheat.kind == POL_CHEAT_CONTRADICT && steps == ckpt_step(rp->task, interval + 1))
        h->b[0] ^= 0x01;
    return st;
}

static pol_status rp_roots(void *self, uint64_t s, pol_digest *node_root, pol_digest *state_root)
{
    pol_replayer *rp = self;
    pol_status st = ensure_step(rp, s);
    if (!st)
        st = pol_merkle_root(rp->rec_leaves, (size_t)rp->n_nodes, node_root);
    if (!st)
        st = pol_merkle_root(rp->end_leaves, (size_t)rp->n_state, state_root);
    return st;
}

static pol_status rp_subtree(void *self, uint64_t s, int tree, uint64_t lo, uint64_t hi,
                             pol_digest *root)
{
    pol_replayer *rp = self;
    pol_status st = ensure_step(rp, s);
    if (st)
        return st;
    const pol_digest *leaves = tree == POL_TREE_NODES ? rp->rec_leaves : rp->end_leaves;
    const uint64_t n = (uint64_t)(tree == POL_TREE_NODES ? rp->n_nodes : rp->n_state);
    if (lo >= hi || hi > n)
        return pol_errorf(POL_ERR_INVALID_ARG, "replayer: leaves [%" PRIu64 ", %" PRIu64 ")", lo, hi);
    return pol_merkle_root(leaves + lo, (size_t)(hi - lo), root);
}

static int state_index(const pol_replayer *rp, const char *name)
{
    for (int i = 0; i < rp->n_state; i++)
        if (!strcmp(rp->start[i].name, name))
            return i;
    return -1;
}

static pol_status prove_state(const pol_replayer *rp, int idx, pol_pin_proof *p)
{
    if (idx < 0)
        return pol_errorf(POL_ERR_INTERNAL, "replayer: state tensor missing");
    p->index = (uint64_t)idx, p->path_len = POL_MERKLE_PATH_MAX;
    pol_status st = tensor_copy(&p->t, &rp->start[idx]);
    return st ? st : pol_merkle_proof(rp->start_leaves, (size_t)rp->n_state, (size_t)idx, p->path,
                                      &p->path_len);
}

static pol_status prove_node(const pol_replayer *rp, int p_node, pol_pin_proof *p)
{
    p->index = (uint64_t)p_node, p->rec = rp->recs[p_node], p->path_len = POL_MERKLE_PATH_MAX;
    pol_status st = tensor_copy(&p->t, &rp->snap[pol_graph_node(rp->g, p_node)->out]);
    return st ? st : pol_merkle_proof(rp->rec_leaves, (size_t)rp->n_nodes, (size_t)p_node, p->path,
                                      &p->path_len);
}

static pol_status rp_open(void *self, uint64_t s, int tree, uint64_t index, pol_pin_opening *o)
{
    pol_replayer *rp = self;
    pol_status st = ensure_step(rp, s);
    if (st)
        return st;
    st = pol_merkle_root(rp->start_leaves, (size_t)rp->n_state, &o->start_root);
    for (int c = 0; !st && c < 3; c++)
        st = prove_state(rp, state_index(rp, counter_names[c]), &o->counters[c]);
    if (!st && tree == POL_TREE_NODES) {
        if (index >= (uint64_t)rp->n_nodes)
            return pol_errorf(POL_ERR_INVALID_ARG, "replayer: no node %" PRIu64, index);
        const pol_node *n = pol_graph_node(rp->g, (int)index);
        o->rec = rp->recs[index], o->n_in = n->n_in;
        st = tensor_copy(&o->end, &rp->snap[n->out]); /* for a tolerant referee (P-TOL) */
        for (int k = 0; !st && k < n->n_in; k++) {
            const int id = n->in[k];
            switch (pol_graph_tensor_kind(rp->g, id)) {
            case POL_TENSOR_STATE:
                st = prove_state(rp, state_index(rp, rp->snap[id].name), &o->in[k]);
                break;
            case POL_TENSOR_NODE: st = prove_node(rp, producer(rp->g, id), &o->in[k]); break;
            default: st = tensor_copy(&o->in[k].t, &rp->snap[id]); break;
            }
        }
    } else if (!st) {
        if (index >= (uint64_t)rp->n_state)
            return pol_errorf(POL_ERR_INVALID_ARG, "replayer: no state leaf %" PRIu64, index);
        const pol_tensor *e = &rp->end[index];
        char src[POL_NAME_MAX + 8];
        snprintf(src, sizeof src, "opt.%s", e->name);
        const int id = pol_graph_find(rp->g, src);
        st = tensor_copy(&o->end, e);
        if (!st && id >= 0 && pol_graph_tensor_kind(rp->g, id) == POL_TENSOR_NODE)
            o->n_in = 1, st = prove_node(rp, producer(rp->g, id), &o->in[0]);
        else if (!st && strncmp(e->name, "counters.", 9))
            o->n_in = 1, st = prove_state(rp, (int)index, &o->in[0]);
    }
    if (!st && rp->cheat.kind == POL_CHEAT_BAD_PROOF) {
        o->counters[0].path[0].b[0] ^= 0x01;
        for (int k = 0; k < o->n_in; k++)
            if (o->in[k].path_len)
                o->in[k].path[0].b[0] ^= 0x01;
    }
    return st;
}

pol_party pol_replayer_party(pol_replayer *rp, const char *name)
{
    pol_party p = { rp, name, rp_commit, rp_ckpt, rp_state, rp_roots, rp_subtree, rp_open };
    return p;
}

/* The state hashes of interval iv, h(c(iv)) .. h(c(iv+1)), replayed once
 * (P-TD-L2); rp_state's cheats apply. */
static pol_status rp_trace_fill(pol_replayer *rp, size_t iv)
{
    if (rp->trace_iv == (int64_t)iv)
        return POL_OK;
    if (iv + 1 >= rp->n_ckpt)
        return pol_errorf(POL_ERR_INVALID_ARG, "replayer: no interval %zu", iv);
    const uint64_t a = ckpt_step(rp->task, iv), b = ckpt_step(rp->task, iv + 1);
    pol_digest *t = realloc(rp->trace, (size_t)(b - a + 1) * sizeof *t);
    if (!t)
        return pol_errorf(POL_ERR_NOMEM, "replayer: trace");
    rp->trace = t, rp->trace_iv = -1;
    pol_status st = POL_OK;
    for (uint64_t k = a; !st && k <= b; k++)
        st = rp_state(rp, iv, k, &t[k - a]);
    if (!st)
        rp->trace_iv = (int64_t)iv, rp->trace_n = (size_t)(b - a + 1);
    return st;
}

static pol_status rp_trace_root(void *self, size_t iv, pol_digest *root)
{
    pol_replayer *rp = self;
    pol_status st = rp_trace_fill(rp, iv);
    return st ? st : pol_merkle_root(rp->trace, rp->trace_n, root);
}

static pol_status rp_trace(void *self, size_t iv, uint64_t steps, pol_digest *h, pol_digest *path,
                           size_t *path_len)
{
    pol_replayer *rp = self;
    pol_status st = rp_trace_fill(rp, iv);
    if (st)
        return st;
    const uint64_t a = ckpt_step(rp->task, iv);
    if (steps < a || steps - a >= rp->trace_n)
        return pol_errorf(POL_ERR_INVALID_ARG, "replayer: step %" PRIu64 " is not in interval %zu",
                          steps, iv);
    *h = rp->trace[steps - a];
    return pol_merkle_proof(rp->trace, rp->trace_n, (size_t)(steps - a), path, path_len);
}

pol_party_tol pol_replayer_party_tol(pol_replayer *rp, const char *name)
{
    pol_party_tol p = { pol_replayer_party(rp, name), rp_trace_root, rp_trace };
    return p;
}

/* ====================================================== the dispute == */

const char *pol_dispute_reason_name(pol_dispute_reason r)
{
    switch (r) {
    case POL_DISPUTE_NO_DISAGREEMENT: return "no disagreement";
    case POL_DISPUTE_BAD_COMMITMENT: return "bad commitment";
    case POL_DISPUTE_NO_ANSWER: return "no answer";
    case POL_DISPUTE_INVALID_PROOF: return "invalid proof";
    case POL_DISPUTE_CONTRADICTION: return "contradiction";
    case POL_DISPUTE_WRONG_INPUT: return "wrong input";
    case POL_DISPUTE_WRONG_RESULT: return "wrong result";
    case POL_DISPUTE_REFUTED: return "challenge refuted";
    case POL_DISPUTE_WRONG_INIT: return "wrong initial state";
    case POL_DISPUTE_BAD_CLAIM: return "bad claim";
    }
    return "unknown";
}

static unsigned ceil_log(uint64_t n, unsigned base)
{
    unsigned r = 0;
    for (uint64_t p = 1; p < n; r++)
        p = p > UINT64_MAX / base ? UINT64_MAX : p * base;
    return r;
}

unsigned pol_dispute_bound(uint64_t intervals, uint64_t k, unsigned arity, uint64_t nodes,
                           uint64_t state_tensors)
{
    arity = arity < 2 ? 2 : arity;
    return ceil_log(intervals, 2) + ceil_log(k, arity) +
           ceil_log(nodes > state_tensors ? nodes : state_tensors, 2);
}

/* What the referee knows: the task, its dataset and its graph. */
typedef struct referee {
    const pol_task *task;
    const pol_dataset *ds;
    pol_model m;
    const pol_graph *g;
    int n_nodes, n_state;
    char (*names)[POL_NAME_MAX]; /* (n_state) state tensor names, name order */
    pol_dispute_result *res;
    const pol_party *p[2];
    const pol_pin_tolerance *tol; /* NULL: exact */
    const pol_digest *solver_root; /* the certificate's ckpt_root, or NULL: unbound */
    pol_status err;               /* the referee's own failure (out of memory), or POL_OK */
    char err_msg[256];
} referee;

/* The status of a check the referee makes on a party's data: nonzero when
 * the check fails. A failure of the referee's own (POL_ERR_NOMEM: its
 * hashing or recomputation had no memory) is no verdict on the party; the
 * first one is kept, the caller goes on deciding as for a failed check, and
 * own_end() then discards that decision for the status [P-REF-4]. */
static int own(referee *r, pol_status st)
{
    if (st == POL_ERR_NOMEM && !r->err) {
        r->err = st;
        snprintf(r->err_msg, sizeof r->err_msg, "%s", pol_last_error());
    }
    return st != POL_OK;
}

/* The status of a dispute that ended with st: the referee's own failure,
 * if any, replaces a decision reached after it. */
static pol_status own_end(referee *r, pol_status st)
{
    if (!st && r->err)
        st = pol_errorf(r->err, "the referee could not decide: %s", r->err_msg);
    r->err = POL_OK;
    return st;
}

/* Ends the dispute: `who` loses. Returns 1 (so callers can `return lose(...)`). */
static int lose(referee *r, int who, pol_dispute_reason why, const char *fmt, ...)
    POL_PRINTF(4, 5);
static int lose(referee *r, int who, pol_dispute_reason why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[200];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->res->loser = who, r->res->reason = why;
    snprintf(r->res->why, sizeof r->res->why, "%s (%s): %s",
             who == POL_PARTY_SOLVER ? "solver" : "challenger", r->p[who]->name, msg);
    return 1;
}

static void log_round(referee *r, int level, uint64_t bytes)
{
    pol_dispute_result *res = r->res;
    if (res->n_log < POL_DISPUTE_MAX_ROUNDS)
        res->log[res->n_log++] = (pol_dispute_round){ level, (uint32_t)bytes };
    res->bytes += bytes;
    if (level >= 1 && level <= 3) {
        res->rounds++, res->rounds_level[level]++;
        if (bytes > res->bytes_max_round)
            res->bytes_max_round = bytes;
    }
}

static int state_pos(const referee *r, const char *name)
{
    for (int i = 0; i < r->n_state; i++)
        if (!strcmp(r->names[i], name))
            return i;
    return -1;
}

static int digest_eq(const pol_digest *a, const pol_digest *b) { return !memcmp(a->b, b->b, 32); }

/* An opened tensor has the name, dtype and shape of tmpl and well-formed data. */
static int same_layout(const pol_tensor *t, const char *name, pol_dtype dt, int ndim,
                       const int64_t *shape)
{
    if (strncmp(t->name, name, POL_NAME_MAX) || t->dtype != dt || t->ndim != ndim || !t->data)
        return 0;
    for (int i = 0; i < ndim; i++)
        if (t->shape[i] != shape[i])
            return 0;
    return (int64_t)t->nbytes == pol_tensor_numel(t) * (int64_t)pol_dtype_size(dt);
}

static const int64_t one_dim[1] = { 1 };

/* Level 1 reveal: checkpoint i of party `who`, proof checked. 0 or lost. */
static int reveal_ckpt(referee *r, int who, size_t i, size_t n, const pol_digest *root,
                       pol_digest *h, uint64_t *bytes)
{
    pol_digest path[POL_MERKLE_PATH_MAX];
    size_t len = POL_MERKLE_PATH_MAX;
    if (r->p[who]->ckpt(r->p[who]->self, i, h, path, &len))
        return lose(r, who, POL_DISPUTE_NO_ANSWER, "no checkpoint %zu", i);
    *bytes += 8 + 32 + 32 * len;
    if (len > POL_MERKLE_PATH_MAX || own(r, pol_merkle_verify(h, i, n, path, len, root)))
        return lose(r, who, POL_DISPUTE_INVALID_PROOF, "checkpoint %zu not under its root", i);
    return 0;
}

/* The initial state, recomputed from the task's seed (P-L1-INIT). */
static pol_status init_hash(referee *r, pol_digest *h)
{
    pol_ctx *ctx = NULL;
    pol_trainer *tr = NULL;
    pol_ctx_opts o = { 1, POL_KERNELS_REF, POL_DEVICE_CPU };
    pol_status st = pol_ctx_create(&ctx, &o);
    if (!st)
        st = pol_trainer_create(&tr, ctx, r->task, r->ds);
    if (!st)
        st = pol_trainer_state_hash(tr, h);
    pol_trainer_destroy(tr);
    pol_ctx_destroy(ctx);
    return st;
}

/* ------------------------------------------------------ the referee -- */

typedef struct verdict {
    pol_dispute_reason reason; /* POL_DISPUTE_REFUTED: the solver's leaf holds */
    char why[200];
    int measured;              /* P-TOL: a distance was taken */
    double dist, thr;
} verdict;

static int refute(verdict *v, pol_dispute_reason why, const char *fmt, ...) POL_PRINTF(3, 4);
static int refute(verdict *v, pol_dispute_reason why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->why, sizeof v->why, fmt, ap);
    va_end(ap);
    v->reason = why;
    return 1;
}

/* Start root and counters of an opening against the agreed start state. */
static int check_start(referee *r, const pol_digest *h_s, const pol_pin_opening *o,
                       uint64_t cnt[3], verdict *v)
{
    pol_digest h;
    if (own(r, pol_state_hash_from_root((uint64_t)r->n_state, &o->start_root, &h)) || !digest_eq(&h, h_s))
        return refute(v, POL_DISPUTE_INVALID_PROOF, "start-state root does not give the agreed state");
    for (int c = 0; c < 3; c++) {
        const pol_pin_proof *p = &o->counters[c];
        const int pos = state_pos(r, counter_names[c]);
        if (!same_layout(&p->t, counter_names[c], POL_U64, 1, one_dim) || p->index != (uint64_t)pos ||
            p->path_len > POL_MERKLE_PATH_MAX || own(r, pol_tensor_hash(&p->t, &h)) ||
            own(r, pol_merkle_verify(&h, p->index, (uint64_t)r->n_state, p->path, p->path_len,
                              &o->start_root)))
            return refute(v, POL_DISPUTE_INVALID_PROOF, "%s not proven in the start state",
                          counter_names[c]);
        memcpy(&cnt[c], p->t.data, 8);
    }
    return 0;
}

/* A node output proven by its producer's record under the node root. */
static int check_node_proof(referee *r, const pol_digest *node_root, const pol_pin_proof *p,
                            int want_producer, verdict *v)
{
    pol_digest h;
    if (want_producer < 0 || p->index != (uint64_t)want_producer)
        return refute(v, POL_DISPUTE_WRONG_INPUT, "input not from node %d", want_producer);
    if (p->path_len > POL_MERKLE_PATH_MAX || own(r, pol_node_record_hash(&p->rec, &h)) ||
        own(r, pol_merkle_verify(&h, p->index, (uint64_t)r->n_nodes, p->path, p->path_len, node_root)))
        return refute(v, POL_DISPUTE_INVALID_PROOF, "record of node %d not under the node root",
                      want_producer);
    return 0;
}

/* The step's INPUT tensors recomputed from the start counters (A-DATA, A-OPT)
 * into the referee's own graph tensors. */
static int make_inputs(referee *r, const uint64_t cnt[3], verdict *v)
{
    const uint64_t cursor = cnt[0], epoch = cnt[1], step = cnt[2];
    const int64_t B = r->task->batch, N = r->ds->n_train;
    if (cursor > (uint64_t)N || (uint64_t)B > (uint64_t)N - cursor || epoch > UINT32_MAX ||
        step >= r->task->steps) /* (no cursor + B: it could wrap) */
        return refute(v, POL_DISPUTE_WRONG_INPUT, "counters out of range");
    uint32_t *perm = malloc((size_t)N * sizeof *perm);
    if (!perm || own(r, pol_permutation(r->task->seed, (uint32_t)epoch, (uint32_t)N, perm))) {
        if (!perm)
            own(r, pol_errorf(POL_ERR_NOMEM, "referee: a permutation of %lld rows", (long long)N));
        free(perm);
        return refute(v, POL_DISPUTE_WRONG_INPUT, "permutation failed");
    }
    pol_status st = pol_step_inputs(r->task, r->ds, perm, cursor, step, &r->m);
    free(perm);
    if (own(r, st))
        return refute(v, POL_DISPUTE_WRONG_INPUT, "step inputs: %s", pol_last_error());
    return 0;
}

/* The verdict on node j once its reference output `out` (hash in want->out)
 * is computed; ev: the status of that evaluation. Exact, or P-TOL. */
static void judge_output(referee *r, int j, const pol_node *n, const pol_node_record *want,
                         const pol_tensor *out, pol_status ev, const pol_pin_opening *o,
                         verdict *v)
{
    if (own(r, ev)) { /* e.g. a label out of range: the inputs cannot be right */
        refute(v, POL_DISPUTE_WRONG_INPUT, "node %d cannot be evaluated on them", j);
        return;
    }
    if (want->op != o->rec.op || memcmp(&want->params, &o->rec.params, sizeof want->params)) {
        refute(v, POL_DISPUTE_WRONG_INPUT, "node %d: op or params differ", j);
        return;
    }
    for (int k = 0; k < n->n_in; k++)
        if (!digest_eq(&want->in[k], &o->rec.in[k])) {
            refute(v, POL_DISPUTE_WRONG_INPUT, "node %d: input %d differs from the agreed data", j,
                   k);
            return;
        }
    if (digest_eq(&want->out, &o->rec.out)) {
        refute(v, POL_DISPUTE_REFUTED, "node %d (%s) recomputed: the solver's record holds", j,
               n->name);
        return;
    }
    if (!r->tol || out->dtype != POL_F32) {
        refute(v, POL_DISPUTE_WRONG_RESULT, "node %d (%s): recomputed output differs", j, n->name);
        return;
    }
    /* P-TOL: the solver's output, proven by its record, against the reference */
    pol_digest h;
    if (!same_layout(&o->end, out->name, out->dtype, out->ndim, out->shape) ||
        own(r, pol_tensor_hash(&o->end, &h)) || !digest_eq(&h, &o->rec.out)) {
        refute(v, POL_DISPUTE_INVALID_PROOF, "node %d: opened output is not the record's", j);
        return;
    }
    const double thr = (unsigned)n->op < POL_PIN_TOL_OPS ? r->tol->threshold[n->op] : 0.0;
    pol_distance d;
    if (pol_distance_f32(o->end.data, out->data, (size_t)pol_tensor_numel(out), &d)) {
        refute(v, POL_DISPUTE_WRONG_RESULT, "node %d (%s): output not finite", j, n->name);
        return;
    }
    const double dist = pol_distance_get(&d, r->tol->metric);
    v->measured = 1, v->dist = dist, v->thr = thr;
    if (!(dist <= thr)) {
        refute(v, POL_DISPUTE_WRONG_RESULT, "node %d (%s): %s %.3g above threshold %.3g", j,
               n->name, pol_metric_name(r->tol->metric), dist, thr);
        return;
    }
    refute(v, POL_DISPUTE_REFUTED, "node %d (%s): %s %.3g within threshold %.3g", j, n->name,
           pol_metric_name(r->tol->metric), dist, thr);
}

/* P-REF-2: node leaf j. */
static pol_status judge_node(referee *r, const pol_digest *h_s, const pol_digest *node_root,
                             int j, const pol_digest *leaf, const pol_pin_opening *o, verdict *v)
{
    const pol_node *n = pol_graph_node(r->g, j);
    uint64_t cnt[3];
    pol_digest h;
    if (own(r, pol_node_record_hash(&o->rec, &h)) || !digest_eq(&h, leaf))
        return refute(v, POL_DISPUTE_INVALID_PROOF, "opened record is not the committed leaf"), POL_OK;
    if (o->n_in != n->n_in)
        return refute(v, POL_DISPUTE_WRONG_INPUT, "node %d has %d inputs", j, n->n_in), POL_OK;
    if (check_start(r, h_s, o, cnt, v))
        return POL_OK;
    int inputs_made = 0;
    const pol_tensor *in[POL_NODE_MAX_IN];
    pol_node_record want = { 0 };
    want.op = n->op, want.params = n->params, want.n_in = n->n_in;
    for (int k = 0; k < n->n_in; k++) {
        const int id = n->in[k];
        const pol_tensor *gt = pol_graph_tensor(r->g, id);
        const pol_pin_proof *p = &o->in[k];
        switch (pol_graph_tensor_kind(r->g, id)) {
        case POL_TENSOR_INPUT:
            if (!inputs_made && make_inputs(r, cnt, v))
                return POL_OK;
            inputs_made = 1;
            in[k] = gt;
            break;
        case POL_TENSOR_STATE:
            if (!same_layout(&p->t, gt->name, gt->dtype, gt->ndim, gt->shape) ||
                p->index != (uint64_t)state_pos(r, gt->name) || p->path_len > POL_MERKLE_PATH_MAX ||
                own(r, pol_tensor_hash(&p->t, &h)) ||
                own(r, pol_merkle_verify(&h, p->index, (uint64_t)r->n_state, p->path, p->path_len,
                                  &o->start_root)))
                return refute(v, POL_DISPUTE_INVALID_PROOF, "%s not proven in the start state",
                              gt->name), POL_OK;
            in[k] = &p->t;
            break;
        default: /* NODE */
            if (check_node_proof(r, node_root, p, producer(r->g, id), v))
                return POL_OK;
            if (producer(r->g, id) >= j)
                return refute(v, POL_DISPUTE_WRONG_INPUT, "input from a later node"), POL_OK;
            if (!same_layout(&p->t, gt->name, gt->dtype, gt->ndim, gt->shape) ||
                own(r, pol_tensor_hash(&p->t, &h)) || !digest_eq(&h, &p->rec.out))
                return refute(v, POL_DISPUTE_INVALID_PROOF, "%s is not its producer's output",
                              gt->name), POL_OK;
            in[k] = &p->t;
            break;
        }
        pol_status st = pol_tensor_hash(in[k], &want.in[k]);
        if (st)
            return st;
    }
    const pol_tensor *gt = pol_graph_tensor(r->g, n->out);
    pol_tensor out;
    memset(&out, 0, sizeof out);
    pol_status st = pol_tensor_alloc(&out, gt->name, gt->dtype, gt->ndim, gt->shape);
    if (st)
        return st;
    r->res->referee_nodes++;
    pol_status ev = pol_node_eval(n->op, &n->params, in, n->n_in, &out, POL_KERNELS_REF, NULL);
    st = ev ? POL_OK : pol_tensor_hash(&out, &want.out);
    if (!st)
        judge_output(r, j, n, &want, &out, ev, o, v);
    pol_tensor_free(&out);
    return st;
}

/* P-REF-3: end-state leaf i. */
static pol_status judge_state(referee *r, const pol_digest *h_s, const pol_digest *node_root,
                              int i, const pol_digest *leaf, const pol_pin_opening *o, verdict *v)
{
    const char *name = r->names[i];
    const int cpos = !strcmp(name, counter_names[0]) ? 0 : !strcmp(name, counter_names[1]) ? 1
                   : !strcmp(name, counter_names[2]) ? 2 : -1;
    const int gid = pol_graph_find(r->g, name);
    const pol_tensor *gt = gid >= 0 ? pol_graph_tensor(r->g, gid) : NULL;
    pol_digest h;
    uint64_t cnt[3];
    if (!(cpos >= 0 ? same_layout(&o->end, name, POL_U64, 1, one_dim)
                    : gt && same_layout(&o->end, name, gt->dtype, gt->ndim, gt->shape)) ||
        own(r, pol_tensor_hash(&o->end, &h)) || !digest_eq(&h, leaf))
        return refute(v, POL_DISPUTE_INVALID_PROOF, "opened %s is not the committed leaf", name),
               POL_OK;
    if (check_start(r, h_s, o, cnt, v))
        return POL_OK;
    if (cpos >= 0) { /* A-DATA: the counters advance */
        uint64_t want[3] = { cnt[0] + (uint64_t)r->task->batch, cnt[1], cnt[2] + 1 };
        if (want[0] + (uint64_t)r->task->batch > (uint64_t)r->ds->n_train)
            want[0] = 0, want[1]++;
        uint64_t got;
        memcpy(&got, o->end.data, 8);
        if (got != want[cpos])
            return refute(v, POL_DISPUTE_WRONG_RESULT, "%s is %" PRIu64 ", not %" PRIu64, name, got,
                          want[cpos]), POL_OK;
        refute(v, POL_DISPUTE_REFUTED, "%s advanced correctly", name);
        return POL_OK;
    }
    char src[POL_NAME_MAX + 8];
    snprintf(src, sizeof src, "opt.%s", name);
    const int sid = pol_graph_find(r->g, src);
    if (o->n_in != 1)
        return refute(v, POL_DISPUTE_WRONG_INPUT, "%s: no source opened", name), POL_OK;
    if (sid >= 0 && pol_graph_tensor_kind(r->g, sid) == POL_TENSOR_NODE) { /* G-COMMIT-1 */
        if (check_node_proof(r, node_root, &o->in[0], producer(r->g, sid), v))
            return POL_OK;
        pol_tensor renamed = o->end;
        memcpy(renamed.name, src, sizeof renamed.name); /* src fits: the graph has it */
        pol_status st = pol_tensor_hash(&renamed, &h);
        if (st)
            return st;
        if (!digest_eq(&h, &o->in[0].rec.out))
            return refute(v, POL_DISPUTE_WRONG_RESULT, "%s is not the output of %s", name, src),
                   POL_OK;
    } else { /* not updated: carried over unchanged */
        const pol_pin_proof *p = &o->in[0];
        if (!same_layout(&p->t, name, o->end.dtype, o->end.ndim, o->end.shape) ||
            p->index != (uint64_t)i || p->path_len > POL_MERKLE_PATH_MAX ||
            own(r, pol_tensor_hash(&p->t, &h)) ||
            own(r, pol_merkle_verify(&h, p->index, (uint64_t)r->n_state, p->path, p->path_len,
                              &o->start_root)))
            return refute(v, POL_DISPUTE_INVALID_PROOF, "%s not proven in the start state", name),
                   POL_OK;
        if (memcmp(p->t.data, o->end.data, o->end.nbytes))
            return refute(v, POL_DISPUTE_WRONG_RESULT, "%s changed without an update", name),
                   POL_OK;
    }
    refute(v, POL_DISPUTE_REFUTED, "%s is what the step commits", name);
    return POL_OK;
}

static uint64_t proof_bytes(const pol_pin_proof *p)
{
    return p->t.nbytes + 8 + 32 * p->path_len + (p->rec.n_in ? 64 + 32 * (uint64_t)p->rec.n_in : 0);
}

/* The opening's size; with_end: count `end` (a state leaf, or P-TOL). */
static uint64_t opening_bytes(const pol_pin_opening *o, int with_end)
{
    uint64_t b = 64 + 32 * (uint64_t)o->rec.n_in + (with_end ? o->end.nbytes : 0) + 32;
    for (int k = 0; k < o->n_in; k++)
        b += proof_bytes(&o->in[k]);
    for (int c = 0; c < 3; c++)
        b += proof_bytes(&o->counters[c]);
    return b;
}

static double thread_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ------------------------------------------------------ the driver -- */

/* Level 1 (P-L1). Returns 1 when decided; else *iv, agreed and ends set. */
static pol_status level1(referee *r, size_t *iv, pol_digest *agreed, pol_digest ends[2], int *done)
{
    pol_dispute_result *res = r->res;
    const size_t n_exp = n_checkpoints(r->task);
    size_t n[2];
    pol_digest root[2], lo_h[2], hi_h[2];
    *done = 1;
    for (int w = 0; w < 2; w++)
        if (r->p[w]->commit(r->p[w]->self, &n[w], &root[w]))
            return lose(r, w, POL_DISPUTE_NO_ANSWER, "no checkpoint commitment"), POL_OK;
    log_round(r, 0, 2 * (8 + 32));
    for (int w = 0; w < 2; w++)
        if (n[w] != n_exp)
            return lose(r, w, POL_DISPUTE_BAD_COMMITMENT, "%zu checkpoints, the task has %zu", n[w],
                        n_exp), POL_OK;
    if (r->solver_root && !digest_eq(&root[POL_PARTY_SOLVER], r->solver_root))
        return lose(r, POL_PARTY_SOLVER, POL_DISPUTE_BAD_COMMITMENT, "commits to a checkpoint "
                    "root other than its certificate's"), POL_OK;
    uint64_t bytes = 16;
    for (int w = 0; w < 2; w++)
        if (reveal_ckpt(r, w, 0, n_exp, &root[w], &lo_h[w], &bytes) ||
            reveal_ckpt(r, w, n_exp - 1, n_exp, &root[w], &hi_h[w], &bytes))
            return POL_OK;
    log_round(r, 0, bytes);
    if (digest_eq(&hi_h[0], &hi_h[1]))
        return lose(r, POL_PARTY_CHALLENGER, POL_DISPUTE_NO_DISAGREEMENT,
                    "agrees with the final state"), POL_OK;
    if (!digest_eq(&lo_h[0], &lo_h[1])) { /* P-L1-INIT */
        pol_digest h;
        pol_status st = init_hash(r, &h);
        if (st)
            return st;
        res->kind = POL_PIN_INIT, res->interval = 0;
        const int w = digest_eq(&lo_h[0], &h) ? POL_PARTY_CHALLENGER : POL_PARTY_SOLVER;
        return lose(r, w, POL_DISPUTE_WRONG_INIT, "initial state is not the task's"), POL_OK;
    }
    size_t lo = 0, hi = n_exp - 1;
    while (hi - lo > 1) {
        const size_t mid = lo + (hi - lo) / 2;
        pol_digest m[2];
        bytes = 8;
        for (int w = 0; w < 2; w++)
            if (reveal_ckpt(r, w, mid, n_exp, &root[w], &m[w], &bytes))
                return POL_OK;
        log_round(r, 1, bytes);
        if (digest_eq(&m[0], &m[1]))
            lo = mid, lo_h[0] = m[0];
        else
            hi = mid, hi_h[0] = m[0], hi_h[1] = m[1];
    }
    *iv = lo, *agreed = lo_h[0], ends[0] = hi_h[0], ends[1] = hi_h[1];
    res->interval = (int64_t)lo;
    *done = 0;
    return POL_OK;
}

/* Level 2 (P-L2): the step. */
static int level2(referee *r, size_t iv, unsigned arity, const pol_digest *agreed,
                  pol_digest ends[2], uint64_t *step, pol_digest *h_s)
{
    const uint64_t a = ckpt_step(r->task, iv), b = ckpt_step(r->task, iv + 1);
    for (int w = 0; w < 2; w++) { /* P-L2-BIND: the level starts and ends where level 1 agreed */
        pol_digest ha, hb;
        if (r->p[w]->state(r->p[w]->self, iv, a, &ha) || r->p[w]->state(r->p[w]->self, iv, b, &hb))
            return lose(r, w, POL_DISPUTE_NO_ANSWER, "no replay of interval %zu", iv);
        if (!digest_eq(&ha, agreed) || !digest_eq(&hb, &ends[w]))
            return lose(r, w, POL_DISPUTE_CONTRADICTION, "replay of interval %zu contradicts its "
                        "checkpoint commitment", iv);
    }
    log_round(r, 0, 16 + 2 * 64);
    uint64_t lo = a, hi = b;
    pol_digest lo_h = *agreed;
    while (hi - lo > 1) {
        uint64_t pts[16];
        unsigned np = 0;
        for (unsigned q = 1; q < arity; q++) {
            const uint64_t p = lo + (hi - lo) * q / arity;
            if (p > lo && p < hi && (np == 0 || pts[np - 1] != p))
                pts[np++] = p;
        }
        pol_digest hv[2][16];
        for (int w = 0; w < 2; w++)
            for (unsigned q = 0; q < np; q++)
                if (r->p[w]->state(r->p[w]->self, iv, pts[q], &hv[w][q]))
                    return lose(r, w, POL_DISPUTE_NO_ANSWER, "no state after %" PRIu64 " steps",
                                pts[q]);
        log_round(r, 2, 8 * np + 2 * 32 * np);
        unsigned q = 0;
        while (q < np && digest_eq(&hv[0][q], &hv[1][q]))
            q++;
        if (q > 0)
            lo = pts[q - 1], lo_h = hv[0][q - 1];
        if (q < np)
            hi = pts[q], ends[0] = hv[0][q], ends[1] = hv[1][q];
    }
    *step = lo, *h_s = lo_h;
    return 0;
}

/* Level 3 (P-L3): the leftmost differing leaf. */
static int level3(referee *r, uint64_t s, const pol_digest ends[2], int *tree, uint64_t *leaf,
                  pol_digest *solver_leaf, pol_digest *node_root)
{
    pol_digest nr[2], sr[2], cur[2];
    for (int w = 0; w < 2; w++) {
        pol_digest h;
        if (r->p[w]->roots(r->p[w]->self, s, &nr[w], &sr[w]))
            return lose(r, w, POL_DISPUTE_NO_ANSWER, "no roots for step %" PRIu64, s);
        if (own(r, pol_state_hash_from_root((uint64_t)r->n_state, &sr[w], &h)) || !digest_eq(&h, &ends[w]))
            return lose(r, w, POL_DISPUTE_CONTRADICTION, "state root of step %" PRIu64
                        " contradicts its state hash", s);
    }
    log_round(r, 0, 8 + 2 * 64);
    *tree = digest_eq(&nr[0], &nr[1]) ? POL_TREE_STATE : POL_TREE_NODES;
    uint64_t lo = 0, hi = (uint64_t)(*tree == POL_TREE_NODES ? r->n_nodes : r->n_state);
    for (int w = 0; w < 2; w++)
        cur[w] = *tree == POL_TREE_NODES ? nr[w] : sr[w];
    while (hi - lo > 1) {
        uint64_t k = 1;
        while (2 * k < hi - lo)
            k *= 2;
        const uint64_t mid = lo + k;
        pol_digest lr[2][2];
        for (int w = 0; w < 2; w++) {
            pol_digest h;
            if (r->p[w]->subtree(r->p[w]->self, s, *tree, lo, mid, &lr[w][0]) ||
                r->p[w]->subtree(r->p[w]->self, s, *tree, mid, hi, &lr[w][1]))
                return lose(r, w, POL_DISPUTE_NO_ANSWER, "no subtree roots");
            if (own(r, pol_merkle_root(lr[w], 2, &h)) || !digest_eq(&h, &cur[w]))
                return lose(r, w, POL_DISPUTE_CONTRADICTION, "subtrees [%" PRIu64 ", %" PRIu64
                            ") do not hash to its earlier root", lo, hi);
        }
        log_round(r, 3, 24 + 2 * 64);
        const int left = !digest_eq(&lr[0][0], &lr[1][0]);
        if (left)
            hi = mid;
        else
            lo = mid;
        cur[0] = lr[0][!left], cur[1] = lr[1][!left];
    }
    *leaf = lo, *solver_leaf = cur[0], *node_root = nr[0];
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

static pol_status referee_init(referee *r, const pol_task *task, const pol_dataset *ds)
{
    r->task = task, r->ds = ds;
    pol_status st = pol_model_build(task, &r->m);
    if (st)
        return st;
    r->g = r->m.graph;
    r->n_nodes = pol_graph_n_nodes(r->g);
    if (!(r->names = calloc((size_t)r->m.n_state + 3, sizeof *r->names)))
        return pol_errorf(POL_ERR_NOMEM, "referee: %d state names", r->m.n_state + 3);
    for (int i = 0; i < r->m.n_state; i++)
        snprintf(r->names[r->n_state++], POL_NAME_MAX, "%s",
                 pol_graph_tensor(r->g, r->m.state[i])->name);
    for (int c = 0; c < 3; c++)
        snprintf(r->names[r->n_state++], POL_NAME_MAX, "%s", counter_names[c]);
    qsort(r->names, (size_t)r->n_state, POL_NAME_MAX, by_name);
    return POL_OK;
}

/* Level 4 (P-REF): the solver opens leaf `leaf` of one tree of step s; the
 * referee judges it against the agreed h(s) and the solver's node root. */
static pol_status level4(referee *r, uint64_t s, int tree, uint64_t leaf, const pol_digest *h_s,
                         const pol_digest *node_root, const pol_digest *leaf_h)
{
    const pol_party *solver = r->p[POL_PARTY_SOLVER];
    pol_dispute_result *res = r->res;
    pol_status st = POL_OK;
    pol_pin_opening *o = calloc(1, sizeof *o);
    if (!o)
        return pol_errorf(POL_ERR_NOMEM, "opening");
    if (solver->open(solver->self, s, tree, leaf, o)) {
        lose(r, POL_PARTY_SOLVER, POL_DISPUTE_NO_ANSWER, "no opening of leaf %" PRIu64, leaf);
    } else {
        log_round(r, 4, 24 + opening_bytes(o, tree == POL_TREE_STATE || r->tol));
        verdict v = { 0 };
        const double t0 = thread_seconds();
        st = tree == POL_TREE_NODES ? judge_node(r, h_s, node_root, (int)leaf, leaf_h, o, &v)
                                    : judge_state(r, h_s, node_root, (int)leaf, leaf_h, o, &v);
        res->referee_seconds = thread_seconds() - t0;
        if (!st)
            lose(r, v.reason == POL_DISPUTE_REFUTED ? POL_PARTY_CHALLENGER : POL_PARTY_SOLVER,
                 v.reason, "%s", v.why);
    }
    pol_pin_opening_free(o);
    free(o);
    return st;
}

static pol_status check_tol(const pol_pin_tolerance *tol)
{
    if (tol && !pol_metric_name(tol->metric))
        return pol_errorf(POL_ERR_INVALID_ARG, "tolerance: unknown metric %d", (int)tol->metric);
    for (int i = 0; tol && i < POL_PIN_TOL_OPS; i++)
        if (!(tol->threshold[i] >= 0))
            return pol_errorf(POL_ERR_INVALID_ARG, "tolerance: threshold of op %d is %g", i,
                              tol->threshold[i]);
    return POL_OK;
}

pol_status pol_dispute_run(const pol_task *task, const pol_dataset *ds, const pol_party *solver,
                           const pol_party *challenger, const pol_dispute_opts *opts,
                           pol_dispute_result *res)
{
    return pol_dispute_run_tolerant(task, ds, solver, challenger, opts, NULL, res);
}

pol_status pol_dispute_run_tolerant(const pol_task *task, const pol_dataset *ds,
                                    const pol_party *solver, const pol_party *challenger,
                                    const pol_dispute_opts *opts, const pol_pin_tolerance *tol,
                                    pol_dispute_result *res)
{
    if (!task || !ds || !solver || !challenger || !res)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_dispute_run: NULL argument");
    pol_status st = check_tol(tol);
    if (st)
        return st;
    memset(res, 0, sizeof *res);
    res->interval = res->step = res->node = -1;
    unsigned arity = opts && opts->arity ? opts->arity : 2;
    if (arity < 2 || arity > 16)
        return pol_errorf(POL_ERR_INVALID_ARG, "level-2 arity %u outside 2..16", arity);
    referee *r = calloc(1, sizeof *r);
    if (!r)
        return pol_errorf(POL_ERR_NOMEM, "referee");
    r->res = res, r->p[0] = solver, r->p[1] = challenger, r->tol = tol;
    r->solver_root = opts ? opts->solver_root : NULL;
    st = referee_init(r, task, ds);
    if (st)
        goto out;
    res->bound = pol_dispute_bound(n_checkpoints(task) - 1, task->checkpoint_every, arity,
                                   (uint64_t)r->n_nodes, (uint64_t)r->n_state);
    size_t iv = 0;
    pol_digest agreed, ends[2], h_s, leaf_h, node_root;
    uint64_t s = 0, leaf = 0;
    int done = 0, tree = 0;
    st = level1(r, &iv, &agreed, ends, &done);
    if (st || done || level2(r, iv, arity, &agreed, ends, &s, &h_s))
        goto out;
    res->step = (int64_t)s;
    if (level3(r, s, ends, &tree, &leaf, &leaf_h, &node_root))
        goto out;
    res->kind = tree == POL_TREE_NODES ? POL_PIN_NODE : POL_PIN_STATE;
    res->node = (int64_t)leaf;
    st = level4(r, s, tree, leaf, &h_s, &node_root, &leaf_h);
out:
    st = own_end(r, st);
    pol_model_free(&r->m);
    free(r->names);
    free(r);
    return st;
}

/* ================================== transition disputes (spec 5b) == */

/* Party `who` (solver) reveals h(steps) of interval iv, proven under its
 * trace root (n_tr leaves). 0 or lost. */
static int reveal_trace(referee *r, const pol_party_tol *sp, size_t iv, uint64_t steps,
                        size_t n_tr, const pol_digest *root, pol_digest *h, uint64_t *bytes)
{
    pol_digest path[POL_MERKLE_PATH_MAX];
    size_t len = POL_MERKLE_PATH_MAX;
    const uint64_t a = ckpt_step(r->task, iv);
    if (sp->trace(sp->base.self, iv, steps, h, path, &len))
        return lose(r, POL_PARTY_SOLVER, POL_DISPUTE_NO_ANSWER, "no trace hash at step %" PRIu64,
                    steps);
    *bytes += 8 + 32 + 32 * len;
    if (len > POL_MERKLE_PATH_MAX || own(r, pol_merkle_verify(h, steps - a, n_tr, path, len, root)))
        return lose(r, POL_PARTY_SOLVER, POL_DISPUTE_INVALID_PROOF,
                    "h(%" PRIu64 ") not under its trace root", steps);
    return 0;
}

/* The solver's leaf `index` of a tree of n leaves with root `root`, proven by
 * the subtree roots along its path (one message: two roots a level). */
static int prove_leaf(referee *r, uint64_t s, int tree, uint64_t index, uint64_t n,
                      const pol_digest *root, pol_digest *leaf, uint64_t *bytes)
{
    const pol_party *p = r->p[POL_PARTY_SOLVER];
    uint64_t lo = 0, hi = n;
    pol_digest cur = *root;
    while (hi - lo > 1) {
        uint64_t k = 1;
        while (2 * k < hi - lo)
            k *= 2;
        const uint64_t mid = lo + k;
        pol_digest lr[2], h;
        if (p->subtree(p->self, s, tree, lo, mid, &lr[0]) ||
            p->subtree(p->self, s, tree, mid, hi, &lr[1]))
            return lose(r, POL_PARTY_SOLVER, POL_DISPUTE_NO_ANSWER, "no subtree roots");
        *bytes += 64;
        if (own(r, pol_merkle_root(lr, 2, &h)) || !digest_eq(&h, &cur))
            return lose(r, POL_PARTY_SOLVER, POL_DISPUTE_CONTRADICTION, "subtrees [%" PRIu64
                        ", %" PRIu64 ") do not hash to its earlier root", lo, hi);
        if (index < mid)
            hi = mid, cur = lr[0];
        else
            lo = mid, cur = lr[1];
    }
    *leaf = cur;
    return 0;
}

/* P-TD-L1: the interval, named by the challenger. */
static pol_status td_level1(referee *r, const pol_party_tol *sp, const pol_tol_challenger *c,
                            size_t *iv, pol_digest ends[2], int *done)
{
    const pol_party *p = &sp->base;
    const size_t n_exp = n_checkpoints(r->task);
    size_t n;
    pol_digest root, h0, h;
    uint64_t bytes = 0;
    *done = 1;
    if (p->commit(p->self, &n, &root))
        return lose(r, POL_PARTY_SOLVER, POL_DISPUTE_NO_ANSWER, "no checkpoint commitment"), POL_OK;
    if (n != n_exp)
        return lose(r, POL_PARTY_SOLVER, POL_DISPUTE_BAD_COMMITMENT,
                    "%zu checkpoints, the task has %zu", n, n_exp), POL_OK;
    if (r->solver_root && !digest_eq(&root, r->solver_root))
        return lose(r, POL_PARTY_SOLVER, POL_DISPUTE_BAD_COMMITMENT, "commits to a checkpoint "
                    "root other than its certificate's"), POL_OK;
    if (reveal_ckpt(r, POL_PARTY_SOLVER, 0, n, &root, &h0, &bytes))
        return POL_OK;
    log_round(r, 0, 8 + 32 + bytes);
    pol_status st = init_hash(r, &h);
    if (st)
        return st;
    if (!digest_eq(&h, &h0)) {
        r->res->kind = POL_PIN_INIT, r->res->interval = 0;
        return lose(r, POL_PARTY_SOLVER, POL_DISPUTE_WRONG_INIT, "initial state is not the task's"),
               POL_OK;
    }
    int found = 0;
    if (c->interval(c->self, &found, iv))
        return lose(r, POL_PARTY_CHALLENGER, POL_DISPUTE_NO_ANSWER, "names no interval"), POL_OK;
    if (!found)
        return lose(r, POL_PARTY_CHALLENGER, POL_DISPUTE_NO_DISAGREEMENT,
                    "names no out-of-tolerance transition"), POL_OK;
    if (*iv + 1 >= n)
        return lose(r, POL_PARTY_CHALLENGER, POL_DISPUTE_BAD_CLAIM, "no interval %zu", *iv), POL_OK;
    r->res->interval = (int64_t)*iv;
    bytes = 8;
    if (reveal_ckpt(r, POL_PARTY_SOLVER, *iv, n, &root, &ends[0], &bytes) ||
        reveal_ckpt(r, POL_PARTY_SOLVER, *iv + 1, n, &root, &ends[1], &bytes))
        return POL_OK;
    log_round(r, 1, bytes);
    *done = 0;
    return POL_OK;
}

/* P-TD-L2: the step, named by the challenger under the solver's trace root. */
static int td_level2(referee *r, const pol_party_tol *sp, const pol_tol_challenger *c, size_t iv,
                     const pol_digest ends[2], uint64_t *s, pol_digest *h_s, pol_digest *h_e)
{
    const uint64_t a = ckpt_step(r->task, iv), b = ckpt_step(r->task, iv + 1);
    const size_t n_tr = (size_t)(b - a + 1);
    pol_digest root, ha, hb;
    uint64_t bytes = 32;
    if (sp->trace_root(sp->base.self, iv, &root))
        return lose(r, POL_PARTY_SOLVER, POL_DISPUTE_NO_ANSWER, "no trace of interval %zu", iv);
    if (reveal_trace(r, sp, iv, a, n_tr, &root, &ha, &bytes) ||
        reveal_trace(r, sp, iv, b, n_tr, &root, &hb, &bytes))
        return 1;
    if (!digest_eq(&ha, &ends[0]) || !digest_eq(&hb, &ends[1]))
        return lose(r, POL_PARTY_SOLVER, POL_DISPUTE_CONTRADICTION,
                    "trace of interval %zu contradicts its checkpoints", iv);
    log_round(r, 0, bytes);
    if (c->step(c->self, iv, &root, s))
        return lose(r, POL_PARTY_CHALLENGER, POL_DISPUTE_NO_ANSWER, "names no step");
    if (*s < a || *s >= b)
        return lose(r, POL_PARTY_CHALLENGER, POL_DISPUTE_BAD_CLAIM,
                    "step %" PRIu64 " is not in interval %zu", *s, iv);
    r->res->step = (int64_t)*s;
    bytes = 8;
    if (reveal_trace(r, sp, iv, *s, n_tr, &root, h_s, &bytes) ||
        reveal_trace(r, sp, iv, *s + 1, n_tr, &root, h_e, &bytes))
        return 1;
    log_round(r, 2, bytes);
    return 0;
}

/* P-TD-L3: the leaf, named by the challenger under the solver's roots. */
static int td_level3(referee *r, const pol_party_tol *sp, const pol_tol_challenger *c, uint64_t s,
                     const pol_digest *h_s, const pol_digest *h_e, int *tree, uint64_t *leaf,
                     pol_digest *leaf_h, pol_digest *node_root)
{
    pol_digest sr, h;
    if (sp->base.roots(sp->base.self, s, node_root, &sr))
        return lose(r, POL_PARTY_SOLVER, POL_DISPUTE_NO_ANSWER, "no roots for step %" PRIu64, s);
    if (own(r, pol_state_hash_from_root((uint64_t)r->n_state, &sr, &h)) || !digest_eq(&h, h_e))
        return lose(r, POL_PARTY_SOLVER, POL_DISPUTE_CONTRADICTION,
                    "state root of step %" PRIu64 " contradicts h(%" PRIu64 ")", s, s + 1);
    log_round(r, 0, 64);
    if (c->leaf(c->self, s, h_s, node_root, &sr, tree, leaf))
        return lose(r, POL_PARTY_CHALLENGER, POL_DISPUTE_NO_ANSWER, "names no leaf");
    const uint64_t n = (uint64_t)(*tree == POL_TREE_NODES ? r->n_nodes : r->n_state);
    if ((*tree != POL_TREE_NODES && *tree != POL_TREE_STATE) || *leaf >= n)
        return lose(r, POL_PARTY_CHALLENGER, POL_DISPUTE_BAD_CLAIM,
                    "no leaf %" PRIu64 " in tree %d", *leaf, *tree);
    r->res->kind = *tree == POL_TREE_NODES ? POL_PIN_NODE : POL_PIN_STATE;
    r->res->node = (int64_t)*leaf;
    uint64_t bytes = 12;
    if (prove_leaf(r, s, *tree, *leaf, n, *tree == POL_TREE_NODES ? node_root : &sr, leaf_h, &bytes))
        return 1;
    log_round(r, 3, bytes);
    return 0;
}

pol_status pol_dispute_run_transition(const pol_task *task, const pol_dataset *ds,
                                      const pol_party_tol *solver,
                                      const pol_tol_challenger *challenger,
                                      const pol_dispute_opts *opts,
                                      const pol_pin_tolerance *tol, pol_dispute_result *res)
{
    if (!task || !ds || !solver || !challenger || !res)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_dispute_run_transition: NULL argument");
    pol_status st = check_tol(tol);
    if (st)
        return st;
    memset(res, 0, sizeof *res);
    res->interval = res->step = res->node = -1;
    res->bound = 3; /* P-TD-BOUND: one naming round a level */
    referee *r = calloc(1, sizeof *r);
    if (!r)
        return pol_errorf(POL_ERR_NOMEM, "referee");
    pol_party cname = { 0 };
    cname.name = challenger->name;
    r->res = res, r->p[0] = &solver->base, r->p[1] = &cname, r->tol = tol;
    r->solver_root = opts ? opts->solver_root : NULL;
    st = referee_init(r, task, ds);
    size_t iv = 0;
    pol_digest ends[2], h_s, h_e, leaf_h, node_root;
    uint64_t s = 0, leaf = 0;
    int done = 0, tree = 0;
    if (!st)
        st = td_level1(r, solver, challenger, &iv, ends, &done);
    if (!st && !done && !td_level2(r, solver, challenger, iv, ends, &s, &h_s, &h_e) &&
        !td_level3(r, solver, challenger, s, &h_s, &h_e, &tree, &leaf, &leaf_h, &node_root))
        st = level4(r, s, tree, leaf, &h_s, &node_root, &leaf_h);
    st = own_end(r, st);
    pol_model_free(&r->m);
    free(r->names);
    free(r);
    return st;
}

/* ------------------------------------------ the honest challenger -- */

struct pol_tol_search {
    referee r;                 /* judges every leaf as the referee will */
    pol_dispute_result scratch;
    pol_pin_tolerance tol;
    const pol_party_tol *sp;
    pol_tol_search_stats stats;
    pol_digest *leaves;        /* (max(n_nodes, n_state)) */
    /* the last finding and the commitments it was made under */
    pol_tol_finding f;
    pol_digest f_trace_root, f_node_root, f_state_root;
};

static int found_at(pol_tol_finding *f, size_t iv, uint64_t s, int tree, uint64_t index,
                    pol_dispute_reason why, const char *msg)
{
    f->found = 1, f->interval = iv, f->step = s, f->tree = tree, f->index = index, f->reason = why;
    snprintf(f->why, sizeof f->why, "%s", msg);
    return 1;
}

/* Every leaf of step s, judged from the solver's h(s) and roots; the first
 * judged against the solver is the finding. */
static pol_status search_step(pol_tol_search *S, size_t iv, uint64_t s, const pol_digest *h_s,
                              const pol_digest *node_root, const pol_digest *state_root,
                              pol_tol_finding *f)
{
    referee *r = &S->r;
    const pol_party *p = &S->sp->base;
    pol_status st = POL_OK;
    S->stats.steps++;
    for (int tree = POL_TREE_NODES; !st && !f->found && tree <= POL_TREE_STATE; tree++) {
        const uint64_t n = (uint64_t)(tree == POL_TREE_NODES ? r->n_nodes : r->n_state);
        const pol_digest *root = tree == POL_TREE_NODES ? node_root : state_root;
        pol_digest h;
        for (uint64_t j = 0; j < n; j++)
            if (p->subtree(p->self, s, tree, j, j + 1, &S->leaves[j]))
                return found_at(f, iv, s, tree, j, POL_DISPUTE_NO_ANSWER, "no leaf"), POL_OK;
        if (own(r, pol_merkle_root(S->leaves, (size_t)n, &h)) || !digest_eq(&h, root))
            return found_at(f, iv, s, tree, 0, POL_DISPUTE_CONTRADICTION,
                            "leaves do not hash to the root"), POL_OK;
        for (uint64_t j = 0; !st && !f->found && j < n; j++) {
            pol_pin_opening o = { 0 };
            verdict v = { 0 };
            const unsigned before = S->scratch.referee_nodes;
            if (p->open(p->self, s, tree, j, &o)) {
                found_at(f, iv, s, tree, j, POL_DISPUTE_NO_ANSWER, "no opening");
            } else {
                st = tree == POL_TREE_NODES
                         ? judge_node(r, h_s, node_root, (int)j, &S->leaves[j], &o, &v)
                         : judge_state(r, h_s, node_root, (int)j, &S->leaves[j], &o, &v);
                S->stats.leaves++;
                S->stats.nodes_recomputed += S->scratch.referee_nodes - before;
                if (!st && v.reason != POL_DISPUTE_REFUTED)
                    found_at(f, iv, s, tree, j, v.reason, v.why);
                else if (!st && v.measured) { /* accepted with differing bits */
                    const unsigned op = (unsigned)o.rec.op;
                    S->stats.nodes_inexact++;
                    if (op < POL_PIN_TOL_OPS && v.dist > S->stats.max_dist[op])
                        S->stats.max_dist[op] = v.dist;
                    if (v.thr > 0 && v.dist / v.thr > S->stats.max_ratio)
                        S->stats.max_ratio = v.dist / v.thr;
                }
            }
            pol_pin_opening_free(&o);
        }
    }
    if (!st && f->found)
        S->f_node_root = *node_root, S->f_state_root = *state_root;
    return st;
}

/* A solver's trace hash, checked under root; 0 or a finding. */
static int search_trace(pol_tol_search *S, size_t iv, uint64_t steps, size_t n_tr,
                        const pol_digest *root, pol_digest *h, pol_tol_finding *f)
{
    pol_digest path[POL_MERKLE_PATH_MAX];
    size_t len = POL_MERKLE_PATH_MAX;
    const uint64_t a = ckpt_step(S->r.task, iv);
    if (S->sp->trace(S->sp->base.self, iv, steps, h, path, &len))
        return found_at(f, iv, steps - (steps > a), 0, 0, POL_DISPUTE_NO_ANSWER, "no trace hash");
    if (len > POL_MERKLE_PATH_MAX || own(&S->r, pol_merkle_verify(h, steps - a, n_tr, path, len, root)))
        return found_at(f, iv, steps - (steps > a), 0, 0, POL_DISPUTE_INVALID_PROOF,
                        "trace hash not under its root");
    return 0;
}

/* The steps of interval iv in order, under the solver's trace root. */
static pol_status search_interval(pol_tol_search *S, size_t iv, const pol_digest *root,
                                  pol_tol_finding *f)
{
    const uint64_t a = ckpt_step(S->r.task, iv), b = ckpt_step(S->r.task, iv + 1);
    const size_t n_tr = (size_t)(b - a + 1);
    const pol_party *p = &S->sp->base;
    memset(f, 0, sizeof *f);
    S->f_trace_root = *root;
    pol_digest h_s, h_e, nr, sr, h;
    if (search_trace(S, iv, a, n_tr, root, &h_s, f))
        return POL_OK;
    pol_status st = POL_OK;
    for (uint64_t s = a; !st && !f->found && s < b; s++, h_s = h_e) {
        if (search_trace(S, iv, s + 1, n_tr, root, &h_e, f))
            break;
        if (p->roots(p->self, s, &nr, &sr)) {
            found_at(f, iv, s, 0, 0, POL_DISPUTE_NO_ANSWER, "no roots");
            break;
        }
        if (own(&S->r, pol_state_hash_from_root((uint64_t)S->r.n_state, &sr, &h)) || !digest_eq(&h, &h_e)) {
            found_at(f, iv, s, 0, 0, POL_DISPUTE_CONTRADICTION, "state root contradicts h(s+1)");
            S->f_node_root = nr, S->f_state_root = sr;
            break;
        }
        st = search_step(S, iv, s, &h_s, &nr, &sr, f);
    }
    return st;
}

pol_status pol_tol_search_run(pol_tol_search *S, pol_tol_finding *f)
{
    const pol_party_tol *sp = S->sp;
    const size_t n = n_checkpoints(S->r.task);
    pol_digest root, h[2], init, path[POL_MERKLE_PATH_MAX];
    size_t cn;
    memset(f, 0, sizeof *f);
    if (sp->base.commit(sp->base.self, &cn, &root) || cn != n) {
        found_at(f, 0, 0, 0, 0, POL_DISPUTE_BAD_COMMITMENT, "checkpoint commitment");
        goto done;
    }
    pol_status st = init_hash(&S->r, &init);
    if (st)
        return st;
    for (size_t iv = 0; !st && !f->found && iv + 1 < n; iv++) {
        pol_digest tr, th;
        for (int e = 0; e < 2 && !f->found; e++) {
            size_t len = POL_MERKLE_PATH_MAX;
            if (sp->base.ckpt(sp->base.self, iv + (size_t)e, &h[e], path, &len) ||
                len > POL_MERKLE_PATH_MAX ||
                own(&S->r, pol_merkle_verify(&h[e], iv + (size_t)e, n, path, len, &root)))
                found_at(f, iv, ckpt_step(S->r.task, iv), 0, 0, POL_DISPUTE_INVALID_PROOF,
                         "checkpoint not under its root");
        }
        if (!f->found && iv == 0 && !digest_eq(&h[0], &init))
            found_at(f, 0, 0, 0, 0, POL_DISPUTE_WRONG_INIT, "initial state is not the task's");
        if (f->found)
            break;
        if (sp->trace_root(sp->base.self, iv, &tr)) {
            found_at(f, iv, ckpt_step(S->r.task, iv), 0, 0, POL_DISPUTE_NO_ANSWER, "no trace root");
            break;
        }
        const uint64_t a = ckpt_step(S->r.task, iv), b = ckpt_step(S->r.task, iv + 1);
        if (search_trace(S, iv, a, (size_t)(b - a + 1), &tr, &th, f) || !digest_eq(&th, &h[0]) ||
            search_trace(S, iv, b, (size_t)(b - a + 1), &tr, &th, f) || !digest_eq(&th, &h[1])) {
            if (!f->found)
                found_at(f, iv, a, 0, 0, POL_DISPUTE_CONTRADICTION, "trace contradicts checkpoints");
            S->f_trace_root = tr;
            break;
        }
        st = search_interval(S, iv, &tr, f);
    }
    if ((st = own_end(&S->r, st)))
        return st;
done:
    S->f = *f;
    return POL_OK;
}

pol_status pol_tol_search_create(pol_tol_search **sp, const pol_task *task, const pol_dataset *ds,
                                 const pol_party_tol *solver, const pol_pin_tolerance *tol)
{
    *sp = NULL;
    pol_status st = check_tol(tol);
    if (st)
        return st;
    pol_tol_search *S = calloc(1, sizeof *S);
    if (!S)
        return pol_errorf(POL_ERR_NOMEM, "search");
    S->sp = solver, S->r.res = &S->scratch;
    if (tol)
        S->tol = *tol, S->r.tol = &S->tol;
    st = referee_init(&S->r, task, ds);
    if (!st) {
        const int n = S->r.n_nodes > S->r.n_state ? S->r.n_nodes : S->r.n_state;
        if (!(S->leaves = calloc((size_t)n, sizeof *S->leaves)))
            st = pol_errorf(POL_ERR_NOMEM, "search");
    }
    if (st) {
        pol_tol_search_destroy(S);
        return st;
    }
    *sp = S;
    return POL_OK;
}

void pol_tol_search_destroy(pol_tol_search *S)
{
    if (!S)
        return;
    pol_model_free(&S->r.m);
    free(S->r.names);
    free(S->leaves);
    free(S);
}

const pol_tol_search_stats *pol_tol_search_get_stats(const pol_tol_search *S)
{
    return &S->stats;
}

/* The challenger callbacks: the cached finding where the commitments match,
 * else a new search under the dispute's commitments. */
static pol_status ts_interval(void *self, int *found, size_t *iv)
{
    pol_tol_search *S = self;
    pol_tol_finding f;
    pol_status st = pol_tol_search_run(S, &f);
    *found = f.found, *iv = f.interval;
    return st;
}

static pol_status ts_step(void *self, size_t iv, const pol_digest *root, uint64_t *s)
{
    pol_tol_search *S = self;
    if (!S->f.found || S->f.interval != iv || !digest_eq(root, &S->f_trace_root)) {
        pol_status st = search_interval(S, iv, root, &S->f);
        if (st)
            return st;
    }
    *s = S->f.step;
    return S->f.found ? POL_OK : pol_errorf(POL_ERR_MISMATCH, "search: no step to name");
}

static pol_status ts_leaf(void *self, uint64_t s, const pol_digest *h_s, const pol_digest *nr,
                          const pol_digest *sr, int *tree, uint64_t *index)
{
    pol_tol_search *S = self;
    if (!S->f.found || S->f.step != s || !digest_eq(nr, &S->f_node_root) ||
        !digest_eq(sr, &S->f_state_root)) {
        const size_t iv = S->f.interval;
        memset(&S->f, 0, sizeof S->f);
        pol_status st = search_step(S, iv, s, h_s, nr, sr, &S->f);
        if (st)
            return st;
    }
    *tree = S->f.tree, *index = S->f.index;
    return S->f.found ? POL_OK : pol_errorf(POL_ERR_MISMATCH, "search: no leaf to name");
}

pol_tol_challenger pol_tol_search_challenger(pol_tol_search *S, const char *name)
{
    pol_tol_challenger c = { S, name, ts_interval, ts_step, ts_leaf };
    return c;
}
