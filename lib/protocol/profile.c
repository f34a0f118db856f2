/* Profiling tolerant-mode thresholds (pol/profile.h, spec/profiling.md). */
#include "pol/profile.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol/context.h"
#include "pol/cuda.h"
#include "pol/dataset.h"
#include "pol/fileio.h"
#include "../io/json_file.h"
#include "pol/graph.h"
#include "pol/kernels.h"
#include "pol/safetensors.h"
#include "pol/train.h"
#include "pol/wire.h"

#define OP_STEPS_MAX 3 /* intervals whose first step is profiled per op */

/* A configuration re-running intervals (spec/profiling.md [P-SRC-1],
 * [P-SRC-2]). The first is fast/1, the canonical order: one_step_min is
 * measured on it. */
typedef struct config {
    pol_kernels kernels;
    int threads;
    int device;        /* POL_DEVICE_* */
    pol_gpu_math math; /* the math of cuBLAS GEMMs (device BLAS contexts only) */
    const char *name;
} config;

static const config CPU_CONFIGS[] = {
    { POL_KERNELS_FAST, 1, POL_DEVICE_CPU, POL_GPU_MATH_FP32, "fast/1" },
    { POL_KERNELS_BLAS, 1, POL_DEVICE_CPU, POL_GPU_MATH_FP32, "blas/1" },
    { POL_KERNELS_BLAS, 2, POL_DEVICE_CPU, POL_GPU_MATH_FP32, "blas/2" },
};

/* The reduced-precision ones only for a task whose gpu_math they are */
static const config GPU_CONFIGS[] = {
    { POL_KERNELS_FAST, 1, POL_DEVICE_CUDA, POL_GPU_MATH_FP32, "cuda/exact" },
    { POL_KERNELS_BLAS, 1, POL_DEVICE_CUDA, POL_GPU_MATH_FP32, "cublas/fp32" },
    { POL_KERNELS_BLAS, 1, POL_DEVICE_CUDA, POL_GPU_MATH_TF32, "cublas/tf32" },
    { POL_KERNELS_BLAS, 1, POL_DEVICE_CUDA, POL_GPU_MATH_BF16, "cublas/bf16" },
};

#define N_CPU_CONFIGS ((int)(sizeof CPU_CONFIGS / sizeof CPU_CONFIGS[0]))
#define N_GPU_CONFIGS ((int)(sizeof GPU_CONFIGS / sizeof GPU_CONFIGS[0]))
_Static_assert(N_CPU_CONFIGS + N_GPU_CONFIGS - 1 <= POL_PROFILE_MAX_CONFIGS,
               "POL_PROFILE_MAX_CONFIGS is too small");

/* One observation: a set of distances tagged with a length or an op. */
typedef struct obs {
    uint64_t len;   /* whole intervals */
    int op;         /* pol_op for per-op observations, else 0 */
    int group;      /* whole intervals: the pol_state_group compared */
    double v[POL_METRIC_COUNT + 1];
} obs;

typedef struct obs_list {
    obs *o;
    size_t n, cap;
} obs_list;

static pol_status push(obs_list *l, const obs *x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        obs *p = realloc(l->o, cap * sizeof *p);
        if (!p)
            return pol_errorf(POL_ERR_NOMEM, "profile observations");
        l->o = p, l->cap = cap;
    }
    l->o[l->n++] = *x;
    return POL_OK;
}

static void fill(obs *x, const pol_distance *d)
{
    for (int m = 1; m <= POL_METRIC_COUNT; m++)
        x->v[m] = pol_distance_get(d, (pol_metric)m);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double floor_of(pol_metric m)
{
    switch (m) {
    case POL_METRIC_L1_REL:
    case POL_METRIC_L2_REL:
    case POL_METRIC_LINF_REL: return POL_PROFILE_FLOOR_REL;
    case POL_METRIC_COSINE: return POL_PROFILE_FLOOR_COS;
    default: return 0.0;
    }
}

/* Summarises the values v[0..n) (sorted in place). */
static void summarise(double *v, size_t n, pol_metric m, double factor, pol_profile_stat *s)
{
    qsort(v, n, sizeof *v, cmp_double);
    s->metric = m;
    s->n = n;
    if (n) {
        double sum = 0.0;
        for (size_t i = 0; i < n; i++)
            sum += v[i];
        s->min = v[0], s->max = v[n - 1], s->mean = sum / (double)n;
        s->median = v[(n - 1) / 2];
        size_t q = (size_t)ceil(0.9 * (double)n);
        s->p90 = v[q ? q - 1 : 0];
    }
    double t = factor * s->max, f = floor_of(m);
    s->threshold = t > f ? t : f;
}

static pol_status add_stat(pol_profile *p, const pol_profile_stat *s, size_t *cap)
{
    if (p->n_stats == *cap) {
        size_t c = *cap ? 2 * *cap : 32;
        pol_profile_stat *q = realloc(p->stats, c * sizeof *q);
        if (!q)
            return pol_errorf(POL_ERR_NOMEM, "profile");
        p->stats = q, *cap = c;
    }
    p->stats[p->n_stats++] = *s;
    return POL_OK;
}

/* Copies of the float tensors of a state (the snapshot one step before the end). */
static pol_status snapshot(const pol_tensor **ts, int n, pol_tensor *out, int *n_out)
{
    *n_out = 0;
    for (int i = 0; i < n; i++) {
        pol_status st = pol_tensor_alloc(&out[i], ts[i]->name, ts[i]->dtype, ts[i]->ndim, ts[i]->shape);
        if (st)
            return st;
        *n_out = i + 1;
        memcpy(out[i].data, ts[i]->data, ts[i]->nbytes);
    }
    return POL_OK;
}

/* The configurations of one profile, each with its context and trainer. */
typedef struct run_ctx {
    int n;
    const config *cfg[POL_PROFILE_MAX_CONFIGS];
    pol_ctx *ctx[POL_PROFILE_MAX_CONFIGS];
    pol_task *task[POL_PROFILE_MAX_CONFIGS]; /* the task with the configuration's math */
    pol_trainer *tr[POL_PROFILE_MAX_CONFIGS];
} run_ctx;

/* The state lists of one interval: on the heap, since a deep model's are
 * too large for a thread's stack. */
typedef struct interval_lists {
    pol_tensor snap[POL_TRAINER_MAX_STATE];
    const pol_tensor *state[POL_PROFILE_MAX_CONFIGS][POL_TRAINER_MAX_STATE];
    const pol_tensor *ts[POL_TRAINER_MAX_STATE], *committed[POL_TRAINER_MAX_STATE];
    const pol_tensor *sp[POL_TRAINER_MAX_STATE], *pa[POL_TRAINER_MAX_STATE],
        *pb[POL_TRAINER_MAX_STATE];
} interval_lists;

static pol_status profile_interval(run_ctx *rc, const char *run_dir, const pol_trace *tr, size_t i,
                                   obs_list *ol, double *one_step, unsigned *groups)
{
    char start[POL_PATH_MAX + 80], end[POL_PATH_MAX + 80];
    snprintf(start, sizeof start, "%s/%s", run_dir, tr->e[i].file);
    snprintf(end, sizeof end, "%s/%s", run_dir, tr->e[i + 1].file);
    const uint64_t L = tr->e[i + 1].step - tr->e[i].step;
    interval_lists *li = calloc(1, sizeof *li);
    if (!li)
        return pol_errorf(POL_ERR_NOMEM, "profile: state lists");
    pol_tensor *snap = li->snap;
    int n_snap = 0;
    pol_status st = POL_OK;
    const pol_tensor *(*state)[POL_TRAINER_MAX_STATE] = li->state;
    int ns[POL_PROFILE_MAX_CONFIGS] = { 0 };
    const int nc = rc->n;
    for (int c = 0; !st && c < nc; c++) {
        if ((st = pol_trainer_load(rc->tr[c], start, &tr->e[i].hash)))
            break;
        while (!st && pol_trainer_steps_done(rc->tr[c]) < tr->e[i + 1].step) {
            if (c == 0 && pol_trainer_steps_done(rc->tr[c]) + 1 == tr->e[i + 1].step) {
                const pol_tensor **ts = li->ts;
                int n;
                if (!(st = pol_trainer_state(rc->tr[c], ts, POL_TRAINER_MAX_STATE, &n)))
                    st = snapshot(ts, n, snap, &n_snap);
                if (st)
                    break;
            }
            st = pol_trainer_step(rc->tr[c], NULL);
        }
        if (!st)
            st = pol_trainer_state(rc->tr[c], state[c], POL_TRAINER_MAX_STATE, &ns[c]);
    }
    pol_st_file f = { 0 };
    int loaded = 0;
    if (!st && !(st = pol_st_load(end, NULL, &f)))
        loaded = 1;
    const pol_tensor **committed = li->committed;
    if (!st && f.n > POL_TRAINER_MAX_STATE)
        st = pol_errorf(POL_ERR_FORMAT, "%s: %zu tensors", end, f.n);
    pol_digest h;
    for (size_t j = 0; !st && j < f.n; j++)
        committed[j] = &f.tensors[j];
    if (!st && !(st = pol_state_hash(committed, f.n, &h)) && !pol_digest_equal(&h, &tr->e[i + 1].hash))
        st = pol_errorf(POL_ERR_HASH_MISMATCH, "%s does not hold the state its trace names", end);
    pol_distance d, dg[POL_GROUP_COUNT];
    unsigned present = 0;
    /* [P-OBS-1] every group of the state, one observation each */
    for (int a = 0; !st && a < nc; a++) {
        for (int b = a + 1; !st && b <= nc; b++) {
            if (b < nc)
                st = pol_state_distance_groups(state[a], (size_t)ns[a], state[b], (size_t)ns[b],
                                               dg, &present);
            else /* against the run's own committed end state */
                st = pol_state_distance_groups(state[a], (size_t)ns[a], committed, f.n, dg,
                                               &present);
            for (int g = 0; !st && g < POL_GROUP_COUNT; g++) {
                if (!(present & (1u << g)))
                    continue;
                obs x = { .len = L, .group = g };
                fill(&x, &dg[g]);
                st = push(ol, &x);
            }
            *groups |= present;
        }
    }
    if (!st && n_snap) {
        const pol_tensor **sp = li->sp;
        for (int j = 0; j < n_snap; j++)
            sp[j] = &snap[j];
        /* counters differ by one step: compare the parameters alone */
        const pol_tensor **pa = li->pa, **pb = li->pb;
        size_t na = 0, nb = 0;
        for (int j = 0; j < ns[0]; j++)
            if (pol_is_param_name(state[0][j]->name))
                pa[na++] = state[0][j];
        for (int j = 0; j < n_snap; j++)
            if (pol_is_param_name(sp[j]->name))
                pb[nb++] = sp[j];
        if (!(st = pol_state_distance(pa, na, pb, nb, NULL, &d, NULL, NULL)) &&
            (*one_step < 0 || d.l2_rel < *one_step))
            *one_step = d.l2_rel;
    }
    for (int j = 0; j < n_snap; j++)
        pol_tensor_free(&snap[j]);
    free(li);
    if (loaded)
        pol_st_free(&f);
    return st;
}

/* One step from checkpoint i under every config; node outputs compared pairwise. */
static pol_status profile_ops(run_ctx *rc, const char *run_dir, const pol_trace *tr, size_t i,
                              obs_list *ol)
{
    char start[POL_PATH_MAX + 80];
    snprintf(start, sizeof start, "%s/%s", run_dir, tr->e[i].file);
    pol_status st = POL_OK;
    const int nc = rc->n;
    pol_graph *g[POL_PROFILE_MAX_CONFIGS];
    for (int c = 0; !st && c < nc; c++) {
        if (!(st = pol_trainer_load(rc->tr[c], start, &tr->e[i].hash)))
            st = pol_trainer_step(rc->tr[c], NULL);
        g[c] = pol_trainer_model(rc->tr[c])->graph;
        /* a device run's node outputs are on the device: bring them to the
         * host (a no-op on the CPU) */
        if (!st)
            st = pol_graph_download(g[c], -1);
    }
    if (st)
        return st;
    for (int k = 0; !st && k < pol_graph_n_nodes(g[0]); k++) {
        const pol_node *nd = pol_graph_node(g[0], k);
        for (int a = 0; !st && a < nc; a++)
            for (int b = a + 1; !st && b < nc; b++) {
                const pol_tensor *ta = pol_graph_tensor(g[a], nd->out);
                const pol_tensor *tb = pol_graph_tensor(g[b], nd->out);
                pol_distance d;
                if (!(st = pol_distance_f32(ta->data, tb->data, ta->nbytes / sizeof(float), &d))) {
                    obs x = { .op = (int)nd->op };
                    fill(&x, &d);
                    st = push(ol, &x);
                }
            }
    }
    return st;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Looks for the CUDA device of the GPU sources: POL_OK with p->gpu naming
 * it, or the failing status with p->gpu saying why and the message in why. */
static pol_status find_device(pol_profile *p, char *why, size_t cap)
{
    char name[128] = "";
    int major = 0, minor = 0;
    pol_status st = pol_cuda_available();
    if (!st)
        st = pol_cuda_device_info(name, sizeof name, &major, &minor);
    if (!st) {
        snprintf(p->gpu, sizeof p->gpu, "%s (sm_%d%d)", name, major, minor);
        return POL_OK;
    }
    snprintf(why, cap, "%s", pol_last_error()); /* copied out of pol_errorf's buffer */
    if (st == POL_ERR_UNSUPPORTED)
        snprintf(p->gpu, sizeof p->gpu, "built without CUDA");
    else
        snprintf(p->gpu, sizeof p->gpu, "no CUDA device: %.170s", why);
    return st;
}

/* The configurations of a profile of a task whose gpu_math is `math`
 * (spec/profiling.md [P-SRC-1], [P-SRC-2]): the CPU ones always, the GPU
 * ones when asked for and a CUDA device is usable, with cublas/tf32 or
 * cublas/bf16 after cublas/fp32 for a task of that math; p->gpu says which
 * device, or why none. A task of reduced-precision math requires the GPU
 * sources: it fails with them off or without a usable device, as
 * POL_PROFILE_GPU_REQUIRE does. Creates nothing. */
static pol_status choose_configs(const pol_profile_opts *o, pol_gpu_math math, run_ctx *rc,
                                 pol_profile *p)
{
    rc->n = 0;
    for (int c = 0; c < N_CPU_CONFIGS; c++)
        rc->cfg[rc->n++] = &CPU_CONFIGS[c];
    const char *mn = pol_gpu_math_name(math);
    if (o->gpu == POL_PROFILE_GPU_OFF) {
        if (math != POL_GPU_MATH_FP32)
            return pol_errorf(POL_ERR_INVALID_ARG, "profile: the task's gpu_math is %s, measured by "
                              "cuBLAS on a CUDA device (cublas/%s); it cannot be profiled with "
                              "the GPU sources off", mn, mn);
        snprintf(p->gpu, sizeof p->gpu, "off");
        return POL_OK;
    }
    char why[256];
    pol_status st = find_device(p, why, sizeof why);
    if (st) {
        if (o->gpu == POL_PROFILE_GPU_REQUIRE)
            return pol_errorf(st, "profile: GPU sources are required: %s", why);
        if (math != POL_GPU_MATH_FP32)
            return pol_errorf(st, "profile: the task's gpu_math %s needs a CUDA device "
                              "(cublas/%s): %s", mn, mn, why);
        return POL_OK;
    }
    for (int c = 0; c < N_GPU_CONFIGS; c++)
        if (GPU_CONFIGS[c].math == POL_GPU_MATH_FP32 || GPU_CONFIGS[c].math == math)
            rc->cfg[rc->n++] = &GPU_CONFIGS[c];
    return POL_OK;
}

/* The context and trainer of configuration c. */
static pol_status make_config(run_ctx *rc, int c, const pol_task *task, const pol_dataset *ds)
{
    const config *k = rc->cfg[c];
    pol_ctx_opts co = { .threads = k->threads, .kernels = k->kernels, .device = k->device };
    pol_status st = POL_OK;
    /* the trainer runs its task's gpu_math: give it the configuration's */
    if (!(rc->task[c] = malloc(sizeof *rc->task[c])))
        st = pol_errorf(POL_ERR_NOMEM, "task");
    if (!st) {
        *rc->task[c] = *task;
        rc->task[c]->gpu_math = k->math;
        st = pol_ctx_create(&rc->ctx[c], &co);
    }
    if (!st)
        st = pol_trainer_create(&rc->tr[c], rc->ctx[c], rc->task[c], ds);
    if (st) { /* name the configuration (the message is copied: it is pol_errorf's buffer) */
        char why[512];
        snprintf(why, sizeof why, "%s", pol_last_error());
        st = pol_errorf(st, "profile: configuration %s: %s", k->name, why);
    }
    return st;
}

static pol_status profile_run(const pol_profile_opts *o, pol_profile *p)
{
    run_ctx rc = { 0 };
    if (o->gpu != POL_PROFILE_GPU_AUTO && o->gpu != POL_PROFILE_GPU_OFF &&
        o->gpu != POL_PROFILE_GPU_REQUIRE)
        return pol_errorf(POL_ERR_INVALID_ARG, "profile: gpu is %d, want POL_PROFILE_GPU_AUTO, "
                          "POL_PROFILE_GPU_OFF or POL_PROFILE_GPU_REQUIRE", o->gpu);
    char why[256];
    pol_status st;
    /* before any work: a required device that is not there fails here */
    if (o->gpu == POL_PROFILE_GPU_REQUIRE && (st = find_device(p, why, sizeof why)))
        return pol_errorf(st, "profile: GPU sources are required: %s", why);
    pol_task task;
    pol_dataset ds;
    pol_trace trace;
    st = pol_task_load(o->task_path, &task);
    if (st)
        return st;
    /* the task's math may require the GPU sources: decided before the run
     * or the dataset is read */
    if ((st = choose_configs(o, task.gpu_math, &rc, p)))
        return st;
    p->factor = o->factor > 0 ? o->factor : POL_PROFILE_FACTOR;
    snprintf(p->blas_config, sizeof p->blas_config, "%s", pol_blas_config());
    /* the backends that are not bit-reproducible need a tolerant task */
    task.mode = POL_MODE_TOLERANT;
    p->task_id = task.id;
    if ((st = pol_trace_load(o->run_dir, &trace)))
        return st;
    if (!pol_digest_equal(&trace.task_id, &task.id) || trace.n < 2) {
        pol_trace_free(&trace);
        return pol_errorf(POL_ERR_MISMATCH, "%s is not a run of %s with a finished interval",
                          o->run_dir, o->task_path);
    }
    if ((st = pol_dataset_load(task.dataset_path, &task.dataset_sha256, task.sizes[0],
                               task.sizes[task.n_layers], &ds))) {
        pol_trace_free(&trace);
        return st;
    }
    for (int c = 0; c < rc.n; c++) {
        if (!st)
            st = make_config(&rc, c, &task, &ds);
        snprintf(p->configs[c], sizeof p->configs[c], "%s", rc.cfg[c]->name);
    }
    p->n_configs = rc.n;
    /* which intervals: evenly spaced, plus the last when its length differs */
    const size_t N = trace.n - 1;
    size_t s = o->samples ? o->samples : 8;
    if (s > N)
        s = N;
    size_t *pick = malloc((s + 1) * sizeof *pick), np = 0;
    if (!pick && !st)
        st = pol_errorf(POL_ERR_NOMEM, "profile");
    for (size_t j = 0; !st && j < s; j++) {
        size_t i = j * N / s;
        if (!np || pick[np - 1] != i)
            pick[np++] = i;
    }
    if (!st && pick[np - 1] != N - 1 &&
        trace.e[N].step - trace.e[N - 1].step != trace.e[1].step - trace.e[0].step)
        pick[np++] = N - 1;
    obs_list ol = { 0 };
    unsigned groups = 0;
    uint64_t lens[POL_VERIFY_MAX_PICKS] = { 0 };
    double one_step[POL_VERIFY_MAX_PICKS];
    size_t nl = 0;
    for (size_t j = 0; !st && j < np; j++) {
        uint64_t L = trace.e[pick[j] + 1].step - trace.e[pick[j]].step;
        size_t li = 0;
        while (li < nl && lens[li] != L)
            li++;
        if (li == nl) {
            if (nl == POL_VERIFY_MAX_PICKS) { /* only a trace of irregular steps gets here */
                st = pol_errorf(POL_ERR_FORMAT, "profile: the run's trace has more than %d "
                                "interval lengths", POL_VERIFY_MAX_PICKS);
                break;
            }
            lens[nl] = L, one_step[nl++] = -1.0;
        }
        st = profile_interval(&rc, o->run_dir, &trace, pick[j], &ol, &one_step[li], &groups);
        p->intervals_rerun++;
        if (!st && j < OP_STEPS_MAX)
            st = profile_ops(&rc, o->run_dir, &trace, pick[j], &ol);
    }
    /* summaries */
    double *v = st ? NULL : malloc((ol.n ? ol.n : 1) * sizeof *v);
    if (!st && !v)
        st = pol_errorf(POL_ERR_NOMEM, "profile");
    size_t cap = 0;
    uint64_t sorted[POL_VERIFY_MAX_PICKS];
    memcpy(sorted, lens, nl * sizeof *lens);
    qsort(sorted, nl, sizeof *sorted, cmp_u64);
    /* whole intervals: per group (the parameters first), length and metric */
    for (int g = 0; !st && g < POL_GROUP_COUNT; g++) {
        if (!(groups & (1u << g)))
            continue;
        for (size_t li = 0; !st && li < nl; li++) {
            for (int m = 1; !st && m <= POL_METRIC_COUNT; m++) {
                size_t n = 0;
                for (size_t k = 0; k < ol.n; k++)
                    if (!ol.o[k].op && ol.o[k].group == g && ol.o[k].len == sorted[li])
                        v[n++] = ol.o[k].v[m];
                pol_profile_stat s1 = { .interval_len = sorted[li],
                                        .group = (pol_state_group)g };
                summarise(v, n, (pol_metric)m, p->factor, &s1);
                if (m == POL_METRIC_L2_REL && g == POL_GROUP_PARAMS) /* [P-OBS-3] */
                    for (size_t q = 0; q < nl; q++)
                        if (lens[q] == sorted[li])
                            s1.one_step_min = one_step[q] > 0 ? one_step[q] : 0.0;
                st = add_stat(p, &s1, &cap);
            }
        }
    }
    for (int op = 1; !st && op < 64; op++) {
        if (!pol_op_name((pol_op)op))
            continue;
        size_t n = 0;
        for (size_t k = 0; k < ol.n; k++)
            if (ol.o[k].op == op)
                v[n++] = ol.o[k].v[POL_METRIC_L2_REL];
        if (!n)
            continue;
        pol_profile_stat s1 = { .interval_len = 0 };
        snprintf(s1.op, sizeof s1.op, "%s", pol_op_name((pol_op)op));
        summarise(v, n, POL_METRIC_L2_REL, p->factor, &s1);
        st = add_stat(p, &s1, &cap);
    }
    if (!st) {
        p->obs = malloc((ol.n ? ol.n : 1) * sizeof *p->obs);
        if (!p->obs)
            st = pol_errorf(POL_ERR_NOMEM, "profile");
        for (size_t k = 0; !st && k < ol.n; k++) /* the parameters' (histogram) */
            if (!ol.o[k].op && ol.o[k].group == POL_GROUP_PARAMS)
                p->obs[p->n_obs++] = ol.o[k].v[POL_METRIC_L2_REL];
    }
    free(v);
    free(ol.o);
    free(pick);
    for (int c = 0; c < rc.n; c++) { /* NULL (never made) is a no-op */
        pol_trainer_destroy(rc.tr[c]);
        pol_ctx_destroy(rc.ctx[c]);
        free(rc.task[c]);
    }
    pol_dataset_free(&ds);
    pol_trace_free(&trace);
    return st;
}

pol_status pol_profile_run(const pol_profile_opts *o, pol_profile *p)
{
    if (!o || !p || !o->task_path || !o->run_dir)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_profile_run: NULL argument");
    memset(p, 0, sizeof *p);
    pol_status st = profile_run(o, p);
    if (st)
        pol_profile_free(p); /* all zero again */
    return st;
}

void pol_profile_free(pol_profile *p)
{
    if (!p)
        return;
    free(p->stats);
    free(p->obs);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------- output -- */

char *pol_profile_histogram(const pol_profile *p)
{
    enum { LO = -12, HI = 0, WIDTH = 50 };
    size_t counts[HI - LO + 2] = { 0 }, zero = 0, most = 0;
    for (size_t i = 0; i < p->n_obs; i++) {
        double x = p->obs[i];
        if (x == 0.0) {
            zero++;
            continue;
        }
        int b = (int)floor(log10(x));
        b = b < LO ? LO : b > HI ? HI : b;
        counts[b - LO]++;
    }
    for (int b = 0; b <= HI - LO; b++)
        most = counts[b] > most ? counts[b] : most;
    most = zero > most ? zero : most;
    size_t cap = 128 * (HI - LO + 4), len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    len += (size_t)snprintf(out + len, cap - len, "l2_rel distances of whole intervals (%zu):\n",
                            p->n_obs);
    char bar[WIDTH + 1];
    for (int b = -1; b <= HI - LO; b++) {
        size_t c = b < 0 ? zero : counts[b];
        if (b >= 0 && !c && (b == 0 || !counts[b - 1]) && (b == HI - LO || !counts[b + 1]))
            continue; /* keep one empty bin beside each filled one */
        size_t w = most ? (c * WIDTH + most - 1) / most : 0;
        memset(bar, '#', w);
        bar[w] = '\0';
        if (b < 0)
            len += (size_t)snprintf(out + len, cap - len, "  %-18s %6zu %s\n", "0 (bitwise equal)", c, bar);
        else
            len += (size_t)snprintf(out + len, cap - len, "  [1e%+03d, 1e%+03d)   %6zu %s\n", b + LO,
                                    b + LO + 1, c, bar);
    }
    return out;
}

pol_status pol_profile_write_json(const pol_profile *p, const char *path)
{
    if (!p || !path)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_profile_write_json: NULL argument");
    char hex[65];
    pol_digest_to_hex(&p->task_id, hex);
    json_t *o = json_object(), *cfg = json_array(), *thr = json_array(), *dist = json_array();
    json_object_set_new(o, "format", json_string("libpol-profile-v1"));
    json_object_set_new(o, "task_id", json_string(hex));
    json_object_set_new(o, "rule", json_pack("{s:s, s:f, s:f, s:f}", "threshold",
                                             "max(factor * max_observed, floor)", "factor", p->factor,
                                             "floor_rel", POL_PROFILE_FLOOR_REL, "floor_cosine",
                                             POL_PROFILE_FLOOR_COS));
    for (int c = 0; c < p->n_configs; c++)
        json_array_append_new(cfg, json_string(p->configs[c]));
    json_object_set_new(o, "configs", cfg);
    json_object_set_new(o, "blas", json_string(p->blas_config));
    json_object_set_new(o, "gpu", json_string(p->gpu));
    json_object_set_new(o, "intervals_rerun", json_integer(p->intervals_rerun));
    for (size_t i = 0; i < p->n_stats; i++) {
        const pol_profile_stat *s = &p->stats[i];
        const char *g = pol_group_name(s->group);
        json_array_append_new(thr, json_pack("{s:s, s:s, s:I, s:s, s:f, s:f, s:I}", "op", s->op,
                                             "group", g ? g : "?", "interval_len",
                                             (json_int_t)s->interval_len, "metric",
                                             pol_metric_name(s->metric), "threshold", s->threshold,
                                             "max_observed", s->max, "samples", (json_int_t)s->n));
        json_t *d = json_pack("{s:s, s:s, s:I, s:s, s:I, s:f, s:f, s:f, s:f, s:f}", "op", s->op,
                              "group", g ? g : "?", "interval_len", (json_int_t)s->interval_len,
                              "metric", pol_metric_name(s->metric), "n", (json_int_t)s->n, "min",
                              s->min, "median", s->median, "p90", s->p90, "max", s->max, "mean",
                              s->mean);
        if (s->one_step_min > 0) {
            json_object_set_new(d, "one_step_min", json_real(s->one_step_min));
            json_object_set_new(d, "margin", json_real(s->one_step_min / s->threshold));
        }
        json_array_append_new(dist, d);
    }
    json_object_set_new(o, "thresholds", thr);
    json_object_set_new(o, "distribution", dist);
    char *h = pol_profile_histogram(p);
    json_object_set_new(o, "histogram", json_string(h ? h : ""));
    free(h);
    char *text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    json_decref(o);
    if (!text)
        return pol_errorf(POL_ERR_NOMEM, "profile JSON");
    size_t n = strlen(text);
    text[n] = '\n';
    pol_status st = pol_write_file_atomic(path, text, n + 1, 0);
    free(text);
    return st;
}

pol_status pol_profile_load_thresholds(const char *path, const pol_digest *task_id,
                                       pol_metric metric, pol_threshold **out, size_t *n_out)
{
    if (!path || !task_id || !out || !n_out || !pol_metric_name(metric))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_profile_load_thresholds: bad argument");
    *out = NULL, *n_out = 0;
    json_t *root;
    pol_status st = pol_json_read_file(path, POL_PROFILE_MAX_BYTES, &root);
    if (st)
        return st;
    const char *fmt = json_string_value(json_object_get(root, "format"));
    const char *tid = json_string_value(json_object_get(root, "task_id"));
    json_t *arr = json_object_get(root, "thresholds");
    pol_digest d;
    if (!fmt || strcmp(fmt, "libpol-profile-v1") || !tid || pol_digest_from_hex(tid, &d) ||
        !json_is_array(arr)) {
        json_decref(root);
        return pol_errorf(POL_ERR_FORMAT, "%s: not a libpol-profile-v1 file", path);
    }
    if (!pol_digest_equal(&d, task_id)) {
        json_decref(root);
        return pol_errorf(POL_ERR_MISMATCH, "%s is the profile of another task", path);
    }
    if (json_array_size(arr) > POL_PROFILE_MAX_THRESHOLDS) { /* [P-JSON-2] */
        size_t n_all = json_array_size(arr);
        json_decref(root);
        return pol_errorf(POL_ERR_TOO_LARGE, "%s: %zu thresholds, more than the %u a ProfileReport "
                          "may carry", path, n_all, POL_PROFILE_MAX_THRESHOLDS);
    }
    pol_threshold *t = calloc(json_array_size(arr) + 1, sizeof *t);
    size_t n = 0;
    if (!t)
        st = pol_errorf(POL_ERR_NOMEM, "thresholds");
    for (size_t i = 0; !st && i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i);
        const char *op = json_string_value(json_object_get(e, "op"));
        const char *m = json_string_value(json_object_get(e, "metric"));
        json_t *L = json_object_get(e, "interval_len"), *v = json_object_get(e, "threshold");
        json_t *gj = json_object_get(e, "group");
        if (!op || !m || !json_is_integer(L) || !json_is_number(v) || json_integer_value(L) < 0 ||
            !(json_number_value(v) >= 0) || !isfinite(json_number_value(v)) ||
            (gj && !json_is_string(gj))) {
            st = pol_errorf(POL_ERR_FORMAT, "%s: thresholds[%zu] is malformed", path, i);
            break;
        }
        /* group: absent in profiles made before optimizer-state thresholds
         * (then the parameters); present, one of "", "m", "v", "buf", and
         * "" for a per-op threshold */
        const int g = gj ? pol_group_from_name(json_string_value(gj)) : POL_GROUP_PARAMS;
        if (g < 0 || (op[0] && g != POL_GROUP_PARAMS)) {
            st = pol_errorf(POL_ERR_FORMAT, "%s: thresholds[%zu]: group \"%.16s\" is not %s", path,
                            i, json_string_value(gj),
                            op[0] ? "\"\" (a per-op threshold)"
                                  : "one of \"\" (parameters), \"m\", \"v\", \"buf\"");
            break;
        }
        if (op[0] || pol_metric_from_name(m) != metric || json_integer_value(L) == 0)
            continue;
        t[n].interval_len = (uint64_t)json_integer_value(L);
        t[n].group = (pol_state_group)g;
        t[n++].value = json_number_value(v);
    }
    json_decref(root);
    if (!st && !n)
        st = pol_errorf(POL_ERR_NOT_FOUND, "%s: no interval threshold for metric %s", path,
                        pol_metric_name(metric));
    if (st) {
        free(t);
        return st;
    }
    *out = t, *n_out = n;
    return POL_OK;
}
