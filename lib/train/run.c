/* Runs: a task trained into a directory of checkpoints plus trace.json. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pol/fileio.h"
#include "../io/json_file.h"
#include "pol/train.h"

#define TRACE_NAME "trace.json"
#define TRACE_MAX_BYTES (64u << 20)
#define TRACE_MAX_ENTRIES (1u << 22)


static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void ckpt_name(char *buf, size_t cap, uint64_t step)
{
    snprintf(buf, cap, "ckpt-%08" PRIu64 ".safetensors", step);
}

#define CKPT_NAME_MAX 64
#define CKPT_PATH_MAX (POL_PATH_MAX + 80)

/* The file name of step's checkpoint and its path in dir. */
static void ckpt_path(const char *dir, uint64_t step, char name[CKPT_NAME_MAX],
                      char path[CKPT_PATH_MAX])
{
    ckpt_name(name, CKPT_NAME_MAX, step);
    snprintf(path, CKPT_PATH_MAX, "%s/%s", dir, name);
}

static int path_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static pol_status trace_push(pol_trace *t, uint64_t step, const pol_digest *h, const char *file,
                             int has_norm, double norm)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 64;
        pol_trace_entry *e = realloc(t->e, nc * sizeof *e);
        if (!e)
            return pol_errorf(POL_ERR_NOMEM, "trace");
        t->e = e, t->cap = nc;
    }
    pol_trace_entry *x = &t->e[t->n++];
    x->step = step, x->hash = *h;
    snprintf(x->file, sizeof x->file, "%s", file);
    x->has_norm = has_norm, x->update_norm = norm;
    return POL_OK;
}

/* ----------------------------------------------------- update norms -- *
 * The parameters at the previous checkpoint, kept so that each checkpoint's
 * trace entry can record the L2 norm (binary64, parameters in name order,
 * elements in order) of the change since the last one (spec C-TRACE-1). */
typedef struct {
    const pol_tensor **p; /* (n) parameters, sorted by name */
    int n;
    float *prev;
    int have;
} norm_state;

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const pol_tensor *const *)a)->name, (*(const pol_tensor *const *)b)->name);
}

static pol_status norms_init(norm_state *ns, const pol_trainer *tr)
{
    const pol_model *m = pol_trainer_model(tr);
    size_t total = 0;
    ns->n = m->n_params;
    if (!(ns->p = malloc((size_t)ns->n * sizeof *ns->p)))
        return pol_errorf(POL_ERR_NOMEM, "parameter list");
    for (int i = 0; i < m->n_params; i++) {
        ns->p[i] = pol_graph_tensor(m->graph, m->params[i]);
        total += ns->p[i]->nbytes;
    }
    qsort(ns->p, (size_t)ns->n, sizeof ns->p[0], by_name);
    ns->prev = malloc(total ? total : 1);
    return ns->prev ? POL_OK : pol_errorf(POL_ERR_NOMEM, "parameter snapshot");
}

/* p (ns->n): the parameters to read, in name order: the trainer's (host
 * copies current after a save or load, ns->p) or a snapshot's.
 * Out: *norm, the norm since the last snapshot; returns 0 if none was taken. */
static int norms_take(norm_state *ns, const pol_tensor *const *p, double *norm)
{
    int had = ns->have;
    double sum = 0.0;
    float *q = ns->prev;
    for (int i = 0; i < ns->n; i++) {
        const float *x = pol_f32(p[i]);
        const int64_t k = pol_tensor_numel(p[i]);
        for (int64_t j = 0; had && j < k; j++) {
            double d = (double)x[j] - (double)q[j];
            sum += d * d;
        }
        memcpy(q, x, p[i]->nbytes);
        q += k;
    }
    ns->have = 1;
    *norm = sqrt(sum);
    return had;
}

/* Writes trace.json atomically (the previous version stays until rename). */
static pol_status trace_write(const pol_trace *t, const char *dir)
{
    char path[POL_PATH_MAX + 32], hex[65];
    snprintf(path, sizeof path, "%s/" TRACE_NAME, dir);
    json_t *root = json_object(), *arr = json_array();
    pol_digest_to_hex(&t->task_id, hex);
    json_object_set_new(root, "format", json_string("libpol-trace-v1"));
    json_object_set_new(root, "task_id", json_string(hex));
    for (size_t i = 0; i < t->n; i++) {
        json_t *o = json_object();
        pol_digest_to_hex(&t->e[i].hash, hex);
        json_object_set_new(o, "step", json_integer((json_int_t)t->e[i].step));
        json_object_set_new(o, "state_hash", json_string(hex));
        json_object_set_new(o, "file", json_string(t->e[i].file));
        if (t->e[i].has_norm)
            json_object_set_new(o, "update_norm", json_real(t->e[i].update_norm));
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "checkpoints", arr);
    char *s = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!s)
        return pol_errorf(POL_ERR_NOMEM, "trace");
    size_t len = strlen(s);
    s[len] = '\n';
    pol_status st = pol_write_file_atomic(path, (const uint8_t *)s, len + 1, 1);
    free(s);
    return st;
}

void pol_trace_free(pol_trace *t)
{
    if (!t)
        return;
    free(t->e);
    memset(t, 0, sizeof *t);
}

pol_status pol_trace_load(const char *dir, pol_trace *t)
{
    if (!dir || !t)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_trace_load: NULL argument");
    memset(t, 0, sizeof *t);
    char path[POL_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/" TRACE_NAME, dir);
    json_t *root;
    pol_status st = pol_json_read_file(path, TRACE_MAX_BYTES, &root);
    if (st)
        return st;
    json_t *fmt = json_object_get(root, "format"), *id = json_object_get(root, "task_id"),
           *arr = json_object_get(root, "checkpoints");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "libpol-trace-v1") ||
        !json_is_string(id) || pol_digest_from_hex(json_string_value(id), &t->task_id) ||
        !json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > TRACE_MAX_ENTRIES)
        st = pol_errorf(POL_ERR_FORMAT, "%s: not a libpol trace", path);
    for (size_t i = 0; !st && i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        json_t *step = json_object_get(o, "step"), *h = json_object_get(o, "state_hash"),
               *f = json_object_get(o, "file"), *un = json_object_get(o, "update_norm");
        pol_digest d;
        if (un && !(json_is_number(un) && json_number_value(un) >= 0.0 &&
                    isfinite(json_number_value(un)))) {
            st = pol_errorf(POL_ERR_FORMAT, "%s: entry %zu has a bad update_norm", path, i);
            break;
        }
        if (!json_is_integer(step) || json_integer_value(step) < 0 || !json_is_string(h) ||
            pol_digest_from_hex(json_string_value(h), &d) || !json_is_string(f) ||
            strlen(json_string_value(f)) >= sizeof t->e[0].file ||
            strchr(json_string_value(f), '/') ||
            (t->n && (uint64_t)json_integer_value(step) <= t->e[t->n - 1].step)) {
            st = pol_errorf(POL_ERR_FORMAT, "%s: checkpoint entry %zu is malformed", path, i);
            break;
        }
        char want[64];
        ckpt_name(want, sizeof want, (uint64_t)json_integer_value(step));
        if (strcmp(want, json_string_value(f))) {
            st = pol_errorf(POL_ERR_FORMAT, "%s: entry %zu names %s for step %lld", path, i,
                            json_string_value(f), (long long)json_integer_value(step));
            break;
        }
        st = trace_push(t, (uint64_t)json_integer_value(step), &d, json_string_value(f), un != NULL,
                        un ? json_number_value(un) : 0.0);
    }
    json_decref(root);
    if (st)
        pol_trace_free(t);
    return st;
}

/* The part of a checkpoint after its file is on disk: the update norm from
 * the parameters p (ns->n, name order), the trace entry, trace.json. */
static pol_status record(pol_trace *t, const char *dir, norm_state *ns,
                         const pol_tensor *const *p, uint64_t step, const char *name,
                         const pol_digest *h)
{
    double norm;
    int has_norm = norms_take(ns, p, &norm);
    pol_status st = trace_push(t, step, h, name, has_norm, norm);
    return st ? st : trace_write(t, dir);
}

/* Saves a checkpoint of the current state into dir on the calling thread and appends it to the
 * trace. A file already there is accepted only if it holds this very state
 * (a run interrupted between writing the checkpoint and the trace). */
static pol_status checkpoint(pol_trainer *tr, const char *dir, pol_trace *t, norm_state *ns)
{
    const uint64_t step = pol_trainer_steps_done(tr);
    char name[CKPT_NAME_MAX], path[CKPT_PATH_MAX];
    ckpt_path(dir, step, name, path);
    pol_digest h;
    pol_status st = pol_trainer_save(tr, path, 0, &h);
    if (st == POL_ERR_EXISTS) {
        pol_digest mine;
        st = pol_trainer_state_hash(tr, &mine);
        if (!st)
            st = pol_trainer_load(tr, path, &mine); /* verifies; state unchanged if equal */
        if (st == POL_ERR_HASH_MISMATCH || st == POL_ERR_MISMATCH || st == POL_ERR_FORMAT ||
            st == POL_ERR_SHAPE)
            return pol_errorf(POL_ERR_EXISTS, "%s exists and does not hold this run's state at "
                              "step %" PRIu64 "; not overwriting it", path, step);
        if (st)
            return st;
        h = mine;
    } else if (st) {
        return st;
    }
    return record(t, dir, ns, ns->p, step, name, &h);
}

/* ------------------------------------------------ background writer -- *
 * [C-WHEN-3] The training loop copies the state into a snapshot and goes on;
 * a writer thread hashes the snapshot, writes its file and records it
 * (record() above), exactly as checkpoint() would have. One write is in
 * flight at most: the next checkpoint, a file that already exists (whose
 * check needs the trainer, so it runs in checkpoint()) and the end of the
 * run first wait for it. The writer's hash runs on its own thread, not on
 * the context's pool, which the training loop is using. */
typedef struct writer {
    const char *dir;
    pol_digest task_id;
    pol_trace *t;               /* touched by the writer only while busy */
    norm_state *ns;
    int n;                      /* state tensors; 0 until the first snapshot */
    pol_tensor *snap;           /* (n) copies, in pol_trainer_state's order */
    const pol_tensor **snap_p;  /* (n) &snap[i] */
    const pol_tensor **params;  /* (ns->n) the parameters in snap, name order */
    const pol_tensor **live;    /* (POL_TRAINER_MAX_STATE) pol_trainer_state's answer */
    pthread_t th;
    int busy;
    uint64_t step;              /* of the snapshot */
    pol_status st;              /* the write's outcome, with its message: */
    char msg[512];              /* pol_last_error is per thread */
    double seconds;             /* time spent writing, all checkpoints */
} writer;

static void *writer_main(void *arg)
{
    writer *w = arg;
    /* Below every other thread: training keeps its cores, the writer takes
     * what they leave idle (Linux; elsewhere, or if refused, normal). */
    struct sched_param sp = { 0 };
    (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
    double t0 = now();
    char name[CKPT_NAME_MAX], path[CKPT_PATH_MAX];
    ckpt_path(w->dir, w->step, name, path);
    pol_digest h;
    pol_status st = pol_state_save(w->snap_p, w->n, &w->task_id, w->step, NULL, path, 0, &h);
    if (st == POL_ERR_EXISTS) /* it was not there when the loop looked */
        st = pol_errorf(POL_ERR_EXISTS, "%s appeared while the run wrote it; not overwriting it",
                        path);
    if (!st)
        st = record(w->t, w->dir, w->ns, w->params, w->step, name, &h);
    if (st)
        snprintf(w->msg, sizeof w->msg, "%s", pol_last_error());
    w->st = st;
    w->seconds += now() - t0;
    return NULL;
}

/* Waits for the write in flight, if any; returns its status (with its
 * message as this thread's last error). */
static pol_status writer_wait(writer *w)
{
    if (!w->busy)
        return POL_OK;
    pthread_join(w->th, NULL);
    w->busy = 0;
    return w->st ? pol_errorf(w->st, "%s", w->msg) : POL_OK;
}

static pol_status writer_alloc(writer *w, const pol_tensor *const *ts, int n)
{
    if (!(w->snap = calloc((size_t)n, sizeof *w->snap)) ||
        !(w->snap_p = malloc((size_t)n * sizeof *w->snap_p)) ||
        !(w->params = malloc((size_t)(w->ns->n ? w->ns->n : 1) * sizeof *w->params)))
        return pol_errorf(POL_ERR_NOMEM, "checkpoint snapshot of %d tensors", n);
    w->n = n;
    for (int i = 0; i < n; i++) {
        pol_status st = pol_tensor_alloc(&w->snap[i], ts[i]->name, ts[i]->dtype, ts[i]->ndim,
                                         ts[i]->shape);
        if (st)
            return st;
        w->snap_p[i] = &w->snap[i];
    }
    for (int j = 0; j < w->ns->n; j++) {
        w->params[j] = NULL;
        for (int i = 0; i < n && !w->params[j]; i++)
            if (!strcmp(w->snap[i].name, w->ns->p[j]->name))
                w->params[j] = &w->snap[i];
        if (!w->params[j])
            return pol_errorf(POL_ERR_INTERNAL, "parameter %s is not in the state",
                              w->ns->p[j]->name);
    }
    return POL_OK;
}

static void writer_free(writer *w)
{
    for (int i = 0; w->snap && i < w->n; i++)
        pol_tensor_free(&w->snap[i]);
    free(w->snap), free(w->snap_p), free(w->params), free(w->live);
}

/* A checkpoint of the current state, written in the background when its
 * file does not exist yet (else by checkpoint(), which checks the file). */
static pol_status checkpoint_async(pol_trainer *tr, writer *w)
{
    const uint64_t step = pol_trainer_steps_done(tr);
    char name[CKPT_NAME_MAX], path[CKPT_PATH_MAX];
    ckpt_path(w->dir, step, name, path);
    pol_status st = writer_wait(w);
    if (st)
        return st;
    if (path_exists(path))
        return checkpoint(tr, w->dir, w->t, w->ns);
    if (!w->live && !(w->live = malloc(POL_TRAINER_MAX_STATE * sizeof *w->live)))
        return pol_errorf(POL_ERR_NOMEM, "state list");
    const pol_tensor **ts = w->live;
    int n;
    if ((st = pol_trainer_state(tr, ts, POL_TRAINER_MAX_STATE, &n)))
        return st;
    if (!w->snap && (st = writer_alloc(w, ts, n)))
        return st;
    if (n != w->n)
        return pol_errorf(POL_ERR_INTERNAL, "the state changed from %d to %d tensors", w->n, n);
    for (int i = 0; i < n; i++)
        memcpy(w->snap[i].data, ts[i]->data, ts[i]->nbytes);
    w->step = step;
    w->st = POL_OK;
    int e = pthread_create(&w->th, NULL, writer_main, w);
    if (e)
        return pol_errorf(POL_ERR_INTERNAL, "checkpoint writer thread: %s", strerror(e));
    w->busy = 1;
    return POL_OK;
}

/* Prepares the trainer's starting state per opts; fills the trace. */
static pol_status start(pol_trainer *tr, const pol_task *task, const pol_run_opts *o, pol_trace *t,
                        norm_state *ns)
{
    char path[POL_PATH_MAX + 80];
    snprintf(path, sizeof path, "%s/" TRACE_NAME, o->out_dir);
    int have_trace = path_exists(path);
    t->task_id = task->id;
    if (o->resume) {
        if (!have_trace)
            return pol_errorf(POL_ERR_NOT_FOUND, "--resume: %s has no %s", o->out_dir, TRACE_NAME);
        pol_status st = pol_trace_load(o->out_dir, t);
        if (st)
            return st;
        if (memcmp(t->task_id.b, task->id.b, 32))
            return pol_errorf(POL_ERR_MISMATCH, "%s belongs to another task", path);
        const pol_trace_entry *last = &t->e[t->n - 1];
        snprintf(path, sizeof path, "%s/%s", o->out_dir, last->file);
        st = pol_trainer_load(tr, path, &last->hash);
        if (st) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", pol_last_error());
            return pol_errorf(st == POL_ERR_HASH_MISMATCH ? POL_ERR_MISMATCH : st,
                              "resume: checkpoint does not match the trace: %s", msg);
        }
        if (pol_trainer_steps_done(tr) != last->step)
            return pol_errorf(POL_ERR_MISMATCH, "resume: %s is step %" PRIu64 ", the trace says %"
                              PRIu64, path, pol_trainer_steps_done(tr), last->step);
        double unused;
        norms_take(ns, ns->p, &unused); /* the parameters the next interval starts from */
        return POL_OK;
    }
    if (have_trace)
        return pol_errorf(POL_ERR_EXISTS, "%s already holds a run (%s); use --resume or a new "
                          "directory", o->out_dir, TRACE_NAME);
    if (o->from) {
        pol_status st = pol_trainer_load(tr, o->from, NULL);
        if (st)
            return st;
    }
    pol_status st = pol_mkdir_p(o->out_dir);
    if (st)
        return st;
    return checkpoint(tr, o->out_dir, t, ns);
}

pol_status pol_run_train(pol_ctx *ctx, const pol_run_opts *o, pol_run_result *res)
{
    if (!ctx || !o || !o->task_path || !o->out_dir || !res)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_run_train: missing argument");
    if (o->resume && o->from)
        return pol_errorf(POL_ERR_INVALID_ARG, "--resume and --from exclude each other");
    memset(res, 0, sizeof *res);
    res->final_loss = NAN;
    res->test_accuracy = -1.0;
    pol_task task;
    pol_dataset ds;
    pol_trainer *tr = NULL;
    pol_trace t = { 0 };
    norm_state ns = { 0 };
    pol_status st = pol_task_load(o->task_path, &task);
    if (st)
        return st;
    st = pol_dataset_load(task.dataset_path, &task.dataset_sha256, task.sizes[0],
                          task.sizes[task.n_layers], &ds);
    if (st)
        return st;
    if (!(st = pol_trainer_create(&tr, ctx, &task, &ds)) && !(st = norms_init(&ns, tr)))
        st = start(tr, &task, o, &t, &ns);
    writer w = { .dir = o->out_dir, .task_id = task.id, .t = &t, .ns = &ns };
    double t0 = now(), tck = 0.0;
    while (!st && pol_trainer_steps_done(tr) < task.steps) {
        float loss;
        if ((st = pol_trainer_step(tr, &loss)))
            break;
        res->final_loss = loss;
        if (!isfinite(loss)) { /* [A-FP-5]: NaN bits are not portable; stop before committing */
            pol_status ws = writer_wait(&w);
            st = ws ? ws : pol_errorf(POL_ERR_DIVERGED,
                            "step %" PRIu64 ": the loss is %s; training stops (checkpoints up to "
                            "step %" PRIu64 " stay valid)",
                            pol_trainer_steps_done(tr), isnan(loss) ? "NaN" : "infinite",
                            t.n ? t.e[t.n - 1].step : 0);
            break;
        }
        res->steps_run++;
        uint64_t s = pol_trainer_steps_done(tr);
        if (s % task.checkpoint_every == 0 || s == task.steps) {
            double c0 = now();
            st = o->sync_checkpoints ? checkpoint(tr, o->out_dir, &t, &ns)
                                     : checkpoint_async(tr, &w);
            double dt = now() - c0;
            tck += dt;
            if (o->sync_checkpoints)
                w.seconds += dt;
        }
        if (o->progress)
            o->progress(o->progress_arg, s, task.steps, loss);
    }
    /* The run is done when its last checkpoint is on disk. */
    double c0 = now();
    pol_status ws = writer_wait(&w);
    tck += now() - c0;
    if (!st)
        st = ws;
    res->seconds = now() - t0;
    res->checkpoint_seconds = tck;
    res->checkpoint_write_seconds = w.seconds;
    if (!st)
        st = pol_trainer_state_hash(tr, &res->final_state_hash);
    if (!st && ds.n_test)
        st = pol_trainer_accuracy(tr, &ds.test_x, &ds.test_y, &res->test_accuracy);
    res->steps = task.steps;
    res->checkpoints = t.n;
    writer_free(&w);
    pol_trace_free(&t);
    free(ns.prev), free(ns.p);
    pol_trainer_destroy(tr);
    pol_dataset_free(&ds);
    return st;
}
