#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol/cmath.h"
#include "pol/cuda.h"
#include "pol/rng.h"
#include "pol/safetensors.h"
#include "pol/train.h"
#include "pol/version.h"

/* Every checkpoint must be a file the safetensors reader's defaults accept. */
_Static_assert(POL_TRAINER_MAX_STATE <= POL_ST_DEFAULT_MAX_TENSORS,
               "a checkpoint of the largest model exceeds the safetensors tensor cap");

struct pol_trainer {
    pol_ctx *ctx;
    const pol_task *task;
    const pol_dataset *ds;
    pol_model model;
    pol_tensor meta_step, meta_epoch, meta_cursor; /* U64 (1) each */
    /* (n_state) every tensor of the state: model.state's, then the three
     * counters. Fixed once built: graph tensors do not move after the
     * freeze, and a load swaps data buffers, not tensors. */
    const pol_tensor **state;
    int n_state;
    uint32_t *perm;      /* permutation of the current epoch */
    uint64_t perm_epoch; /* epoch perm belongs to; UINT64_MAX: none */
    pol_node_hook hook;  /* pol_trainer_set_node_hook; NULL: none */
    void *hook_arg;
};

static uint64_t *u64(const pol_tensor *t) { return (uint64_t *)t->data; }

/* The task's gpu_math on the context's CUDA device (spec/task.md [T-KEY-4]):
 * what its cuBLAS GEMMs compute with, if the context has them. Set at
 * creation and again before every step, so that a context shared with a
 * trainer of another task still runs this task's math. */
static pol_status apply_math(const pol_trainer *tr)
{
    struct pol_cuda *c = pol_ctx_cuda(tr->ctx);
    return c ? pol_cuda_set_math(c, tr->task->gpu_math) : POL_OK;
}

/* Fills tr->state: every tensor of the state, in no particular order (the
 * hash sorts). */
static pol_status state_list(pol_trainer *tr)
{
    const int n = tr->model.n_state + 3;
    if (!(tr->state = malloc((size_t)n * sizeof *tr->state)))
        return pol_errorf(POL_ERR_NOMEM, "state list of %d tensors", n);
    for (int i = 0; i < tr->model.n_state; i++)
        tr->state[i] = pol_graph_tensor(tr->model.graph, tr->model.state[i]);
    tr->state[n - 3] = &tr->meta_step;
    tr->state[n - 2] = &tr->meta_epoch;
    tr->state[n - 1] = &tr->meta_cursor;
    tr->n_state = n;
    return POL_OK;
}

/* Device runs (pol_ctx_device == CUDA) keep the state on the device; these
 * two copy it to the host before it is hashed, saved or read, and back to
 * the device after a checkpoint replaced it. No-ops on the CPU. */
static pol_status state_to_host(const pol_trainer *tr)
{
    for (int i = 0; i < tr->model.n_state; i++) {
        pol_status st = pol_graph_download(tr->model.graph, tr->model.state[i]);
        if (st)
            return st;
    }
    return POL_OK;
}

static pol_status state_to_device(const pol_trainer *tr)
{
    for (int i = 0; i < tr->model.n_state; i++) {
        pol_status st = pol_graph_upload(tr->model.graph, tr->model.state[i]);
        if (st)
            return st;
    }
    return POL_OK;
}

pol_status pol_trainer_create(pol_trainer **out, pol_ctx *ctx, const pol_task *task,
                              const pol_dataset *ds)
{
    if (!out || !ctx || !task || !ds)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_trainer_create: NULL argument");
    *out = NULL;
    if (task->mode == POL_MODE_EXACT && pol_ctx_kernels(ctx) == POL_KERNELS_BLAS)
        return pol_errorf(POL_ERR_UNSUPPORTED, "the BLAS kernels are not bitwise reproducible: an "
                          "exact-mode task needs the fast or reference kernels");
    if (!pol_gpu_math_name(task->gpu_math))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_trainer_create: unknown gpu_math %d",
                          (int)task->gpu_math);
    if (ds->dim != task->sizes[0])
        return pol_errorf(POL_ERR_SHAPE, "dataset features have dimension %lld, the model wants %lld",
                          (long long)ds->dim, (long long)task->sizes[0]);
    if (ds->n_train < task->batch)
        return pol_errorf(POL_ERR_SHAPE, "batch size %lld exceeds the %lld training samples",
                          (long long)task->batch, (long long)ds->n_train);
    if (ds->n_train > UINT32_MAX)
        return pol_errorf(POL_ERR_TOO_LARGE, "more than 2^32-1 training samples");
    pol_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return pol_errorf(POL_ERR_NOMEM, "trainer");
    tr->ctx = ctx, tr->task = task, tr->ds = ds;
    tr->perm_epoch = UINT64_MAX;
    const int64_t one = 1;
    pol_status st = pol_model_build(task, &tr->model);
    if (!st) st = pol_tensor_alloc(&tr->meta_step, "counters.step", POL_U64, 1, &one);
    if (!st) st = pol_tensor_alloc(&tr->meta_epoch, "counters.data_epoch", POL_U64, 1, &one);
    if (!st) st = pol_tensor_alloc(&tr->meta_cursor, "counters.data_cursor", POL_U64, 1, &one);
    if (!st && !(tr->perm = malloc((size_t)ds->n_train * sizeof *tr->perm)))
        st = pol_errorf(POL_ERR_NOMEM, "permutation of %lld samples", (long long)ds->n_train);
    if (!st)
        st = state_list(tr);
    if (!st)
        st = apply_math(tr);
    if (st) {
        pol_trainer_destroy(tr);
        return st;
    }
    pol_model_init_params(task, &tr->model);
    *out = tr;
    return POL_OK;
}

void pol_trainer_destroy(pol_trainer *tr)
{
    if (!tr)
        return;
    pol_model_free(&tr->model);
    pol_tensor_free(&tr->meta_step);
    pol_tensor_free(&tr->meta_epoch);
    pol_tensor_free(&tr->meta_cursor);
    free(tr->perm);
    free(tr->state);
    free(tr);
}

uint64_t pol_trainer_steps_done(const pol_trainer *tr) { return *u64(&tr->meta_step); }

pol_status pol_trainer_state(const pol_trainer *tr, const pol_tensor **out, int cap, int *n)
{
    if (!tr || !out || !n)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_trainer_state: NULL argument");
    if (cap < tr->n_state)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_trainer_state: room for %d tensors, %d needed",
                          cap, tr->n_state);
    pol_status st = state_to_host(tr);
    if (st)
        return st;
    memcpy(out, tr->state, (size_t)tr->n_state * sizeof *out);
    *n = tr->n_state;
    return POL_OK;
}
const pol_model *pol_trainer_model(const pol_trainer *tr) { return &tr->model; }

/* The state hash with the leaves (one SHA-256 per tensor) computed on the
 * context's threads; the same value as pol_state_hash (encoding.md E-STATE). */
typedef struct {
    const pol_tensor **order;
    pol_digest *leaves;
    pol_status *st;
} leaf_job;

static void leaf_task(void *arg, int i)
{
    const leaf_job *j = arg;
    j->st[i] = pol_tensor_hash(j->order[i], &j->leaves[i]);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const pol_tensor *const *)a)->name, (*(const pol_tensor *const *)b)->name);
}

static pol_status state_hash_pool(pol_pool *pool, const pol_tensor *const *ts, int n,
                                  pol_digest *out)
{
    if (!pool)
        return pol_state_hash(ts, (size_t)n, out);
    const pol_tensor **order = malloc((size_t)n * sizeof *order);
    pol_digest *leaves = malloc((size_t)n * sizeof *leaves), root;
    pol_status *st = malloc((size_t)n * sizeof *st), s2 = POL_OK;
    if (!order || !leaves || !st) {
        s2 = pol_errorf(POL_ERR_NOMEM, "state hash of %d tensors", n);
        goto out;
    }
    memcpy(order, ts, (size_t)n * sizeof *order);
    qsort(order, (size_t)n, sizeof *order, by_name);
    leaf_job j = { order, leaves, st };
    pol_pool_run(pool, n, leaf_task, &j);
    for (int i = 0; !s2 && i < n; i++)
        if (st[i])
            s2 = pol_errorf(st[i], "state hash: tensor %s cannot be hashed", order[i]->name);
    if (!s2)
        s2 = pol_merkle_root(leaves, (size_t)n, &root);
    if (!s2)
        s2 = pol_state_hash_from_root((uint64_t)n, &root, out);
out:
    free(order), free(leaves), free(st);
    return s2;
}

pol_status pol_trainer_state_hash(const pol_trainer *tr, pol_digest *out)
{
    pol_status st = state_to_host(tr);
    return st ? st : state_hash_pool(pol_ctx_pool(tr->ctx), tr->state, tr->n_state, out);
}

/* ------------------------------------------------------------- a step -- */

/* pol_step_inputs on the context's device: on a CUDA context the batch is
 * gathered there from the dataset's device copy (pol_graph_gather_rows). */
static pol_status step_inputs(const pol_task *t, const pol_dataset *ds, const uint32_t *perm,
                              uint64_t cursor, uint64_t step, const pol_model *m, pol_ctx *ctx)
{
    const int64_t B = t->batch, N = ds->n_train;
    if (cursor > (uint64_t)N || (uint64_t)B > (uint64_t)N - cursor) /* no wrap */
        return pol_errorf(POL_ERR_FORMAT, "data cursor %" PRIu64 " leaves no room for a batch of "
                          "%lld", cursor, (long long)B);
    pol_status st = pol_graph_gather_rows(m->graph, ctx, m->in_x, &ds->train_x, perm + cursor);
    if (!st)
        st = pol_graph_gather_rows(m->graph, ctx, m->in_y, &ds->train_y, perm + cursor);
    if (st)
        return st;
    /* the optimizer scalars (A-OPT, A-SCHED) */
    float *h = pol_f32(pol_graph_tensor(m->graph, m->in_hyper));
    h[0] = pol_task_lr(t, step);
    h[1] = h[2] = h[3] = 0.0f;
    if (t->optimizer == POL_OPTIM_ADAMW) {
        h[1] = 1.0f - pol_powif(t->beta1, step + 1);
        h[2] = 1.0f - pol_powif(t->beta2, step + 1);
    }
    return POL_OK;
}

pol_status pol_step_inputs(const pol_task *t, const pol_dataset *ds, const uint32_t *perm,
                           uint64_t cursor, uint64_t step, const pol_model *m)
{
    return step_inputs(t, ds, perm, cursor, step, m, NULL);
}

/* The inputs of the next step, with the epoch's permutation cached. */
static pol_status load_inputs(pol_trainer *tr, uint64_t step)
{
    const uint64_t epoch = *u64(&tr->meta_epoch);
    if (epoch > UINT32_MAX)
        return pol_errorf(POL_ERR_FORMAT, "data epoch %" PRIu64 " out of range", epoch);
    if (tr->perm_epoch != epoch) {
        pol_status st = pol_permutation(tr->task->seed, (uint32_t)epoch,
                                        (uint32_t)tr->ds->n_train, tr->perm);
        if (st)
            return st;
        tr->perm_epoch = epoch;
    }
    return step_inputs(tr->task, tr->ds, tr->perm, *u64(&tr->meta_cursor), step, &tr->model,
                       tr->ctx);
}

void pol_trainer_set_node_hook(pol_trainer *tr, pol_node_hook fn, void *arg)
{
    tr->hook = fn, tr->hook_arg = arg;
}

/* The graph evaluated node by node with the hook called around (CPU only). */
static pol_status eval_hooked(pol_trainer *tr)
{
    if (pol_ctx_device(tr->ctx) != POL_DEVICE_CPU)
        return pol_errorf(POL_ERR_UNSUPPORTED, "node hooks need a CPU context");
    pol_graph *G = tr->model.graph;
    pol_status st = tr->hook(tr->hook_arg, G, -1);
    for (int i = 0; !st && i < pol_graph_n_nodes(G); i++) {
        st = pol_graph_eval_node(G, tr->ctx, i);
        if (!st)
            st = tr->hook(tr->hook_arg, G, i);
    }
    return st;
}

pol_status pol_trainer_step(pol_trainer *tr, float *loss)
{
    const uint64_t step = *u64(&tr->meta_step);
    if (step >= tr->task->steps)
        return pol_errorf(POL_ERR_INVALID_ARG, "the task's %" PRIu64 " steps are done",
                          tr->task->steps);
    pol_status st = load_inputs(tr, step);
    if (!st)
        st = apply_math(tr);
    if (st)
        return st;
    st = tr->hook ? eval_hooked(tr) : pol_graph_eval(tr->model.graph, tr->ctx);
    if (st)
        return st;
    pol_graph_commit(tr->model.graph);
    if (loss && (st = pol_graph_download(tr->model.graph, tr->model.loss)))
        return st;
    if (loss)
        *loss = *pol_f32(pol_graph_tensor(tr->model.graph, tr->model.loss));
    /* advance the counters; drop an epoch's incomplete tail (A-DATA) */
    const uint64_t B = (uint64_t)tr->task->batch, N = (uint64_t)tr->ds->n_train;
    *u64(&tr->meta_step) = step + 1;
    uint64_t cursor = *u64(&tr->meta_cursor) + B;
    if (cursor + B > N) {
        cursor = 0;
        *u64(&tr->meta_epoch) += 1;
    }
    *u64(&tr->meta_cursor) = cursor;
    return POL_OK;
}

/* -------------------------------------------------------- checkpoints -- */

pol_status pol_state_save(const pol_tensor *const *ts, int n, const pol_digest *task_id,
                          uint64_t step, pol_pool *pool, const char *path, int overwrite,
                          pol_digest *hash)
{
    if (!ts || n <= 0 || !task_id || !path)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_state_save: missing argument");
    pol_digest h;
    pol_status st = state_hash_pool(pool, ts, n, &h);
    if (st)
        return st;
    char hex[65], task_hex[65], step_s[32], spec[16];
    pol_digest_to_hex(&h, hex);
    pol_digest_to_hex(task_id, task_hex);
    snprintf(step_s, sizeof step_s, "%" PRIu64, step);
    snprintf(spec, sizeof spec, "%d", POL_SPEC_VERSION);
    const char *meta[] = { "format", "libpol-checkpoint-v1", "spec_version", spec,
                           "libpol_version", POL_VERSION_STRING, "task_id", task_hex,
                           "step", step_s, "state_hash", hex };
    st = pol_st_save(path, ts, (size_t)n, meta, 6, overwrite);
    if (!st && hash)
        *hash = h;
    return st;
}

pol_status pol_trainer_save(const pol_trainer *tr, const char *path, int overwrite,
                            pol_digest *hash)
{
    pol_status st = state_to_host(tr);
    return st ? st : pol_state_save(tr->state, tr->n_state, &tr->task->id, *u64(&tr->meta_step),
                                    pol_ctx_pool(tr->ctx), path, overwrite, hash);
}

/* Checks a parsed checkpoint against the trainer's state layout and hashes. */
static pol_status check_checkpoint(const pol_trainer *tr, const char *path, const pol_st_file *f,
                                   const pol_digest *expect)
{
    const char *fmt = pol_st_meta(f, "format"), *task = pol_st_meta(f, "task_id"),
               *hash = pol_st_meta(f, "state_hash"), *spec = pol_st_meta(f, "spec_version");
    if (!fmt || strcmp(fmt, "libpol-checkpoint-v1") || !task || !hash || !spec)
        return pol_errorf(POL_ERR_FORMAT, "%s: not a libpol checkpoint (metadata missing)", path);
    char want[16];
    snprintf(want, sizeof want, "%d", POL_SPEC_VERSION);
    if (strcmp(spec, want))
        return pol_errorf(POL_ERR_UNSUPPORTED, "%s: spec version %s, this library implements %s",
                          path, spec, want);
    pol_digest task_id, claimed;
    if (pol_digest_from_hex(task, &task_id) || pol_digest_from_hex(hash, &claimed))
        return pol_errorf(POL_ERR_FORMAT, "%s: task_id/state_hash metadata is not 64 hex digits", path);
    /* [C-LOAD-1] 5: not when the caller names the state (a content-addressed
     * store): the state hash then fixes every tensor, whichever task wrote it */
    if (!expect && memcmp(task_id.b, tr->task->id.b, 32))
        return pol_errorf(POL_ERR_MISMATCH, "%s: checkpoint belongs to task %.16s..., not this task",
                          path, task);
    const pol_tensor *const *ts = tr->state;
    const int n = tr->n_state;
    if ((int)f->n != n)
        return pol_errorf(POL_ERR_SHAPE, "%s: %zu tensors, the state has %d", path, f->n, n);
    const pol_tensor **fs = malloc((size_t)n * sizeof *fs);
    if (!fs)
        return pol_errorf(POL_ERR_NOMEM, "checkpoint check");
    pol_status st = POL_OK;
    for (int i = 0; !st && i < n; i++) {
        const pol_tensor *a = ts[i], *b = pol_st_get(f, a->name);
        if (!b)
            st = pol_errorf(POL_ERR_SHAPE, "%s: tensor %s missing", path, a->name);
        else if (a->dtype != b->dtype || a->ndim != b->ndim || a->nbytes != b->nbytes ||
                 memcmp(a->shape, b->shape, sizeof a->shape))
            st = pol_errorf(POL_ERR_SHAPE, "%s: tensor %s has the wrong dtype or shape", path,
                            a->name);
        fs[i] = b;
    }
    pol_digest got;
    if (!st)
        st = pol_state_hash(fs, (size_t)n, &got);
    free(fs);
    if (st)
        return st;
    if (memcmp(got.b, claimed.b, 32))
        return pol_errorf(POL_ERR_HASH_MISMATCH, "%s: contents hash to a state other than the "
                          "one recorded in its metadata (corrupted?)", path);
    if (expect && memcmp(got.b, expect->b, 32)) {
        char e[65];
        pol_digest_to_hex(expect, e);
        return pol_errorf(POL_ERR_HASH_MISMATCH, "%s: state hash %s, expected %s", path, hash, e);
    }
    const uint64_t step = *(const uint64_t *)pol_st_get(f, "counters.step")->data;
    const uint64_t cursor = *(const uint64_t *)pol_st_get(f, "counters.data_cursor")->data;
    const uint64_t epoch = *(const uint64_t *)pol_st_get(f, "counters.data_epoch")->data;
    char step_txt[32];
    snprintf(step_txt, sizeof step_txt, "%" PRIu64, step);
    const char *meta_step = pol_st_meta(f, "step");
    if (!meta_step || strcmp(meta_step, step_txt))
        return pol_errorf(POL_ERR_FORMAT, "%s: metadata step \"%s\" disagrees with the counter %"
                          PRIu64, path, meta_step ? meta_step : "(missing)", step);
    if (step > tr->task->steps || cursor > (uint64_t)tr->ds->n_train ||
        (uint64_t)tr->task->batch > (uint64_t)tr->ds->n_train - cursor || epoch > UINT32_MAX)
        return pol_errorf(POL_ERR_FORMAT, "%s: counters (step %" PRIu64 ", cursor %" PRIu64
                          ") out of range for this task", path, step, cursor);
    return POL_OK;
}

pol_status pol_trainer_load(pol_trainer *tr, const char *path, const pol_digest *expect)
{
    if (!tr || !path)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_trainer_load: NULL argument");
    pol_st_file f;
    pol_st_limits lim = (pol_st_limits){ 0 };
    pol_status st = pol_st_load(path, &lim, &f);
    if (st)
        return st;
    st = check_checkpoint(tr, path, &f, expect);
    if (!st) {
        const pol_tensor *const *ts = tr->state;
        const int n = tr->n_state;
        const int swap = pol_ctx_device(tr->ctx) == POL_DEVICE_CPU;
        for (int i = 0; i < n; i++) {
            /* The file's buffers become the state's (same allocator, same
             * size): no copy of the state; f frees the old buffers. */
            pol_tensor *a = (pol_tensor *)ts[i], *b = (pol_tensor *)pol_st_get(&f, a->name);
            if (swap && a->owns && b->owns) {
                void *d = a->data;
                a->data = b->data, b->data = d;
            } else {
                memcpy(a->data, b->data, a->nbytes);
            }
        }
        st = state_to_device(tr);
    }
    pol_st_free(&f);
    return st;
}

/* ----------------------------------------------------------- accuracy -- */

pol_status pol_trainer_accuracy(pol_trainer *tr, const pol_tensor *x, const pol_tensor *y,
                                double *acc)
{
    const pol_task *t = tr->task;
    if (!x || !y || !acc || x->dtype != POL_F32 || x->ndim != 2 || x->shape[1] != t->sizes[0] ||
        y->dtype != POL_I32 || y->ndim != 1 || y->shape[0] != x->shape[0])
        return pol_errorf(POL_ERR_SHAPE, "accuracy: x must be (n, %lld) F32 and y (n) I32",
                          (long long)t->sizes[0]);
    pol_status st = state_to_host(tr);
    if (st)
        return st;
    const int64_t n = x->shape[0], R = 256;
    int64_t wmax = 0;
    for (int i = 0; i <= t->n_layers; i++)
        wmax = t->sizes[i] > wmax ? t->sizes[i] : wmax;
    float *a = malloc((size_t)(R * wmax) * sizeof *a), *b = malloc((size_t)(R * wmax) * sizeof *b);
    if (!a || !b) {
        free(a), free(b);
        return pol_errorf(POL_ERR_NOMEM, "accuracy buffers");
    }
    pol_pool *pool = pol_ctx_pool(tr->ctx);
    int64_t correct = 0;
    for (int64_t r0 = 0; r0 < n; r0 += R) {
        const int64_t rows = n - r0 < R ? n - r0 : R;
        memcpy(a, pol_f32(x) + r0 * t->sizes[0], (size_t)(rows * t->sizes[0]) * sizeof *a);
        for (int i = 0; i < t->n_layers; i++) {
            pol_gemm_args g = { 0 };
            g.M = rows, g.N = t->sizes[i + 1], g.K = t->sizes[i], g.trans_b = 1;
            g.A = a, g.B = pol_f32(pol_graph_tensor(tr->model.graph, tr->model.params[2 * i]));
            g.bias = pol_f32(pol_graph_tensor(tr->model.graph, tr->model.params[2 * i + 1]));
            g.C = b;
            pol_fast_gemm(pool, &g);
            if (i < t->n_layers - 1) {
                if (t->activation == POL_ACT_GELU)
                    pol_fast_gelu(pool, rows * g.N, b, b);
                else
                    pol_fast_relu(pool, rows * g.N, b, b);
            }
            float *tmp = a;
            a = b, b = tmp;
        }
        const int64_t C = t->sizes[t->n_layers];
        for (int64_t r = 0; r < rows; r++) {
            const float *row = a + r * C;
            int64_t best = 0;
            for (int64_t j = 1; j < C; j++)
                if (row[j] > row[best])
                    best = j;
            correct += best == pol_i32(y)[r0 + r];
        }
    }
    free(a), free(b);
    *acc = n ? (double)correct / (double)n : 0.0;
    return POL_OK;
}
