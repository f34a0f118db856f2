/* Verification of a certificate by re-running sampled intervals. */
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pol/dataset.h"
#include "pol/fileio.h"
#include "pol/rng.h"
#include "pol/safetensors.h"
#include "pol/train.h"
#include "pol/verify.h"
#include "pol/version.h"

static const char SAMPLE_TAG[] = "libpol/verify-sample/v1"; /* hashed with its NUL */

/* ------------------------------------------------------------ sampling -- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* An interval and its declared norm, for the top-Q order (the norm travels
 * with the index: no shared state, so verifications may run at once). */
typedef struct {
    double norm;
    uint32_t i;
} norm_idx;

static int cmp_norm_desc(const void *a, const void *b)
{
    const norm_idx *x = a, *y = b;
    if (x->norm != y->norm)
        return x->norm < y->norm ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

/* How many random picks [V-PICK-2] draws: samples, at most n, leaving room
 * for the top-Q part within POL_VERIFY_MAX_PICKS. */
static uint32_t random_picks(uint32_t n, const pol_verify_opts *o)
{
    const uint32_t q = o->top_q < n ? o->top_q : n;
    const uint32_t room = POL_VERIFY_MAX_PICKS - (q < POL_VERIFY_MAX_PICKS ? q : POL_VERIFY_MAX_PICKS);
    uint32_t s = o->samples < n ? o->samples : n;
    return s < room ? s : room;
}

pol_status pol_verify_pick(const pol_cert *c, const pol_verify_opts *o, uint32_t *out, size_t *n_out)
{
    if (!c || !o || !out || !n_out || c->n_checkpoints < 2)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_verify_pick: bad argument");
    const uint32_t n = (uint32_t)(c->n_checkpoints - 1);
    uint32_t *idx = malloc((size_t)n * sizeof *idx);
    norm_idx *by_norm = malloc((size_t)n * sizeof *by_norm);
    if (!idx || !by_norm) {
        free(idx), free(by_norm);
        return pol_errorf(POL_ERR_NOMEM, "sample of %u intervals", n);
    }
    /* seed = first 8 bytes (little-endian) of SHA-256(tag NUL || beacon || cert id) */
    uint8_t msg[sizeof SAMPLE_TAG + 64];
    memcpy(msg, SAMPLE_TAG, sizeof SAMPLE_TAG);
    memcpy(msg + sizeof SAMPLE_TAG, o->beacon, 32);
    memcpy(msg + sizeof SAMPLE_TAG + 32, o->cert_id.b, 32);
    pol_digest d;
    pol_status st = pol_sha256(msg, sizeof msg, &d);
    if (st) {
        free(idx), free(by_norm);
        return st;
    }
    uint64_t seed = 0;
    for (int i = 7; i >= 0; i--)
        seed = seed << 8 | d.b[i];
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    size_t k = 0;
    uint64_t counter = 0;
    const uint32_t s = random_picks(n, o);
    for (uint32_t i = 0; i < s; i++) {
        uint32_t j = i + pol_rng_bounded(seed, POL_STREAM_VERIFY, 0, &counter, n - i);
        uint32_t t = idx[i];
        idx[i] = idx[j], idx[j] = t;
        out[k++] = idx[i];
    }
    /* the top-q declared updates */
    for (uint32_t i = 0; i < n; i++)
        by_norm[i].norm = c->update_norms[i], by_norm[i].i = i;
    qsort(by_norm, n, sizeof *by_norm, cmp_norm_desc);
    for (uint32_t i = 0; i < o->top_q && i < n && k < POL_VERIFY_MAX_PICKS; i++)
        out[k++] = by_norm[i].i;
    free(idx), free(by_norm);
    qsort(out, k, sizeof *out, cmp_u32);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || out[u - 1] != out[i])
            out[u++] = out[i];
    *n_out = u;
    return POL_OK;
}

double pol_detect_probability(size_t n, double fraction, size_t samples)
{
    if (n == 0)
        return 0.0;
    size_t bad = (size_t)ceil(fraction * (double)n - 1e-9);
    if (bad == 0)
        return 0.0;
    if (samples > n)
        samples = n;
    double miss = 1.0; /* P(all samples clean) = prod (n-bad-i)/(n-i) */
    for (size_t i = 0; i < samples; i++) {
        if (n - i <= bad)
            return 1.0;
        miss *= (double)(n - bad - i) / (double)(n - i);
    }
    return 1.0 - miss;
}

size_t pol_samples_for(size_t n, double fraction, double p)
{
    for (size_t s = 1; s <= n; s++)
        if (pol_detect_probability(n, fraction, s) >= p)
            return s;
    return n;
}

/* -------------------------------------------------------------- store -- */

static void store_path(char *buf, size_t cap, const char *store, const pol_digest *h)
{
    char hex[65];
    pol_digest_to_hex(h, hex);
    snprintf(buf, cap, "%s/%s.safetensors", store, hex);
}

/* The state hash of a checkpoint file's tensors. */
static pol_status file_state_hash(const char *path, pol_digest *out)
{
    pol_st_file f;
    pol_status st = pol_st_load(path, NULL, &f);
    if (st)
        return st;
    st = pol_st_state_hash(&f, out);
    pol_st_free(&f);
    return st;
}

pol_status pol_store_put_run(const char *run_dir, const char *store_dir)
{
    pol_trace tr;
    pol_status st = pol_trace_load(run_dir, &tr);
    if (st)
        return st;
    if (!(st = pol_mkdir_p(store_dir))) {
        for (size_t i = 0; !st && i < tr.n; i++) {
            char src[POL_PATH_MAX + 80], dst[POL_PATH_MAX + 100];
            snprintf(src, sizeof src, "%s/%s", run_dir, tr.e[i].file);
            store_path(dst, sizeof dst, store_dir, &tr.e[i].hash);
            pol_digest h;
            if ((st = file_state_hash(src, &h)))
                break;
            if (!pol_digest_equal(&h, &tr.e[i].hash)) {
                st = pol_errorf(POL_ERR_HASH_MISMATCH, "%s does not hold the state its trace names", src);
                break;
            }
            struct stat sb;
            if (stat(dst, &sb) == 0) { /* already stored: must be the same state */
                if (!(st = file_state_hash(dst, &h)) && !pol_digest_equal(&h, &tr.e[i].hash))
                    st = pol_errorf(POL_ERR_HASH_MISMATCH, "store file %s holds another state", dst);
                continue;
            }
            if (link(src, dst) == 0)
                continue;
            uint8_t *buf;
            size_t len;
            if (!(st = pol_read_file(src, (size_t)1 << 40, &buf, &len))) {
                st = pol_write_file_atomic(dst, buf, len, 0);
                free(buf);
            }
        }
    }
    pol_trace_free(&tr);
    return st;
}

/* ---------------------------------------------------------- verifying -- */

pol_status pol_threshold_for(const pol_threshold *t, size_t n, pol_state_group group,
                             uint64_t len, double *out)
{
    if (!out || (n && !t))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_threshold_for: NULL argument");
    const pol_threshold *best = NULL;
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].group != group)
            continue;
        any = 1;
        if (t[i].interval_len >= len && (!best || t[i].interval_len < best->interval_len))
            best = &t[i];
    }
    if (!best && !any && group != POL_GROUP_PARAMS)
        return pol_errorf(POL_ERR_NOT_FOUND, "no threshold for state group %s: the profile "
                          "predates optimizer-state thresholds (spec/profiling.md [P-OBS-1]); "
                          "re-profile the task", pol_group_label(group));
    if (!best)
        return pol_errorf(POL_ERR_NOT_FOUND, "no threshold of the %s for intervals of %llu steps",
                          pol_group_label(group), (unsigned long long)len);
    *out = best->value;
    return POL_OK;
}

static pol_status reject(pol_verify_result *r, int64_t interval, const pol_digest *want,
                         const pol_digest *got, const char *fmt, ...) POL_PRINTF(5, 6);

static pol_status reject(pol_verify_result *r, int64_t interval, const pol_digest *want,
                         const pol_digest *got, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    r->accept = 0;
    r->failed_interval = interval;
    if (want)
        r->expected = *want;
    if (got)
        r->got = *got;
    return POL_OK;
}

/* Task binding and consistency. POL_OK with *go = 1 when the certificate
 * may be re-run, *go = 0 when it is rejected; any other status is the
 * verifier's own failure (out of memory while hashing), not a verdict. */
static pol_status check_binding(const pol_cert *c, const pol_task *t, pol_verify_result *r,
                                int *go)
{
    *go = 0;
    if (!pol_digest_equal(&c->task_id, &t->id))
        return reject(r, -1, &t->id, &c->task_id, "the certificate is for another task");
    pol_status st = pol_cert_check(c);
    if (st == POL_ERR_FORMAT)
        return reject(r, -1, NULL, NULL, "inconsistent certificate: %s", pol_last_error());
    if (st)
        return st;
    if (c->spec_version != POL_SPEC_VERSION || c->mode != (uint32_t)t->mode ||
        c->checkpoint_every != t->checkpoint_every || c->steps != t->steps)
        return reject(r, -1, NULL, NULL, "the certificate's spec version, mode, k or steps differ "
                      "from the task's");
    *go = 1;
    return POL_OK;
}

/* [V-VER-2] A continued run starts from a checkpoint its parent certificate
 * commits to, at the same step. POL_OK with *go as check_binding's; a
 * missing or wrong parent is the caller's error, not a verdict. */
static pol_status check_parent(const pol_cert *c, const pol_verify_opts *o, pol_verify_result *r,
                               int *go)
{
    char want[65], given[65];
    *go = 0;
    pol_digest_to_hex(&c->parent_id, want);
    if (!o->parent)
        return pol_errorf(POL_ERR_INVALID_ARG, "the certificate continues a run proven by "
                          "certificate %s: its start state is checked against that parent "
                          "certificate, which is needed", want);
    if (!pol_digest_equal(&o->parent_id, &c->parent_id)) {
        pol_digest_to_hex(&o->parent_id, given);
        return pol_errorf(POL_ERR_MISMATCH, "the parent certificate given is %s; the "
                          "certificate continues %s", given, want);
    }
    r->parent_checkpoint = pol_cert_find_checkpoint(o->parent, c->ckpt_steps[0],
                                                    &c->ckpt_hashes[0]);
    if (r->parent_checkpoint >= 0) {
        *go = 1;
        return POL_OK;
    }
    return reject(r, -1, NULL, NULL, "the first checkpoint (step %" PRIu64 ") is not a "
                  "checkpoint of the parent certificate %.16s", c->ckpt_steps[0], want);
}

/* The re-run state's hash, the evidence of a tolerant-mode reject (NULL if
 * it cannot be computed). Only a reject needs it: an accepted interval is
 * decided by the distance, so its state is not hashed (a third pass over
 * the state per sample). */
static const pol_digest *rerun_hash(const pol_trainer *tr, pol_digest *buf)
{
    return pol_trainer_state_hash(tr, buf) ? NULL : buf;
}

/* The state groups of the trainer's state (bit g: pol_state_group g). */
static pol_status state_groups(pol_trainer *tr, unsigned *mask)
{
    const pol_tensor **mine = malloc(POL_TRAINER_MAX_STATE * sizeof *mine);
    int nm = 0;
    *mask = 0;
    if (!mine)
        return pol_errorf(POL_ERR_NOMEM, "state list");
    pol_status st = pol_trainer_state(tr, mine, POL_TRAINER_MAX_STATE, &nm);
    for (int j = 0; !st && j < nm; j++) {
        const int g = pol_state_group_of(mine[j]->name);
        if (g >= 0 && mine[j]->dtype == POL_F32)
            *mask |= 1u << g;
    }
    free(mine);
    return st;
}

/* [V-TOL-3] Every group of the state has a threshold for the length of
 * every picked interval: checked before anything is re-run, so a profile
 * without optimizer-state thresholds is an error, never a verdict. */
static pol_status check_thresholds(pol_trainer *tr, const pol_cert *c, const pol_verify_opts *o,
                                   const pol_verify_result *r)
{
    unsigned groups;
    pol_status st = state_groups(tr, &groups);
    for (size_t k = 0; !st && k < r->n_picked; k++) {
        const uint32_t i = r->picked[k];
        const uint64_t len = c->ckpt_steps[i + 1] - c->ckpt_steps[i];
        double thr;
        for (int g = 0; !st && g < POL_GROUP_COUNT; g++)
            if (groups & (1u << g))
                st = pol_threshold_for(o->thresholds, o->n_thresholds, (pol_state_group)g, len,
                                       &thr);
    }
    return st;
}

/* A store file that is there but does not load as the committed state: the
 * solver's fault, a reject [V-VER-3] (a file of another state, a bad
 * header, an unsupported dtype, too many dimensions...). Not: a missing
 * file, the verifier's own memory or disk (errors, not verdicts). */
static int file_fault(pol_status st)
{
    return st == POL_ERR_HASH_MISMATCH || st == POL_ERR_FORMAT || st == POL_ERR_SHAPE ||
           st == POL_ERR_MISMATCH || st == POL_ERR_UNSUPPORTED || st == POL_ERR_TOO_LARGE;
}

/* Tolerant mode: the re-run state against the committed end checkpoint,
 * group by group (the parameters first). */
static pol_status compare_tolerant(pol_trainer *tr, const pol_cert *c, const pol_verify_opts *o,
                                   uint32_t i, size_t pick, pol_verify_result *r, int *ok)
{
    pol_digest gb;
    const uint64_t len = c->ckpt_steps[i + 1] - c->ckpt_steps[i];
    double thr[POL_GROUP_COUNT] = { 0 };
    pol_status st = pol_threshold_for(o->thresholds, o->n_thresholds, POL_GROUP_PARAMS, len,
                                      &thr[POL_GROUP_PARAMS]);
    if (st)
        return st;
    r->threshold[pick] = thr[POL_GROUP_PARAMS];
    char path[POL_PATH_MAX + 100];
    store_path(path, sizeof path, o->store_dir, &c->ckpt_hashes[i + 1]);
    pol_st_file f;
    if ((st = pol_st_load(path, NULL, &f)))
        return file_fault(st)
                   ? reject(r, i, &c->ckpt_hashes[i + 1], rerun_hash(tr, &gb),
                            "interval %u: the stored end "
                            "checkpoint is unreadable (%s)", i, pol_last_error())
                   : st;
    int nm = 0;
    pol_digest h;
    if (f.n > POL_TRAINER_MAX_STATE) {
        pol_st_free(&f);
        return reject(r, i, &c->ckpt_hashes[i + 1], rerun_hash(tr, &gb),
                      "interval %u: the stored end checkpoint "
                      "holds %zu tensors", i, f.n);
    }
    /* ts: the stored state (f.n), mine: the re-run one; on the heap, as a
     * deep model's state lists are too large for a thread's stack */
    const pol_tensor **ts = malloc((f.n + POL_TRAINER_MAX_STATE) * sizeof *ts);
    if (!ts) {
        pol_st_free(&f);
        return pol_errorf(POL_ERR_NOMEM, "state lists");
    }
    const pol_tensor **mine = ts + f.n;
    for (size_t j = 0; j < f.n; j++)
        ts[j] = &f.tensors[j];
    if ((st = pol_state_hash(ts, f.n, &h)) ||
        (st = pol_trainer_state(tr, mine, POL_TRAINER_MAX_STATE, &nm))) {
        free(ts), pol_st_free(&f);
        return st;
    }
    if (!pol_digest_equal(&h, &c->ckpt_hashes[i + 1])) {
        free(ts), pol_st_free(&f);
        return reject(r, i, &c->ckpt_hashes[i + 1], &h, "interval %u: the stored end checkpoint "
                      "is not the committed state", i);
    }
    pol_distance d[POL_GROUP_COUNT];
    unsigned present;
    st = pol_state_distance_groups(mine, (size_t)nm, ts, f.n, d, &present);
    free(ts), pol_st_free(&f);
    if (st == POL_ERR_MISMATCH || st == POL_ERR_SHAPE || st == POL_ERR_FORMAT)
        return reject(r, i, &c->ckpt_hashes[i + 1], rerun_hash(tr, &gb),
                      "interval %u (steps %" PRIu64 "..%" PRIu64
                      "): the re-run state is not comparable with the committed one (%s)", i,
                      c->ckpt_steps[i], c->ckpt_steps[i + 1], pol_last_error());
    if (st)
        return st;
    r->distance[pick] = pol_distance_get(&d[POL_GROUP_PARAMS], r->metric);
    for (int g = 0; g < POL_GROUP_COUNT; g++) {
        if (!(present & (1u << g)))
            continue;
        if (g != POL_GROUP_PARAMS &&
            (st = pol_threshold_for(o->thresholds, o->n_thresholds, (pol_state_group)g, len,
                                    &thr[g])))
            return st;
        const double dist = pol_distance_get(&d[g], r->metric);
        const double q = thr[g] > 0 ? dist / thr[g] : dist > 0 ? INFINITY : 0.0;
        if (q > r->group_ratio[g])
            r->group_ratio[g] = q;
        if (dist <= thr[g])
            continue;
        r->distance[pick] = dist;
        r->threshold[pick] = thr[g];
        r->rejected_group = g;
        return reject(r, i, &c->ckpt_hashes[i + 1], rerun_hash(tr, &gb),
                      "interval %u (steps %" PRIu64 "..%" PRIu64 "): group %s: %s distance %.6g "
                      "exceeds the threshold %.6g", i, c->ckpt_steps[i], c->ckpt_steps[i + 1],
                      pol_group_label((pol_state_group)g), pol_metric_name(r->metric), dist,
                      thr[g]);
    }
    *ok = 1;
    return POL_OK;
}

/* Re-runs interval i (the pick-th picked) and compares its end state. */
/* Trains on to step end, counting the steps re-run. */
static pol_status step_to(pol_trainer *tr, uint64_t end, pol_verify_result *r)
{
    while (pol_trainer_steps_done(tr) < end) {
        POL_TRY(pol_trainer_step(tr, NULL));
        r->steps_rerun++;
    }
    return POL_OK;
}

/* Exact mode: the state at the end of interval i must be the committed
 * one, else interval i is rejected; how names the run ("re-run"). */
static pol_status end_state_matches(const pol_trainer *tr, const pol_cert *c, size_t i,
                                    const char *how, pol_verify_result *r, int *ok)
{
    pol_digest got;
    *ok = 0;
    POL_TRY(pol_trainer_state_hash(tr, &got));
    if (!pol_digest_equal(&got, &c->ckpt_hashes[i + 1]))
        return reject(r, (int64_t)i, &c->ckpt_hashes[i + 1], &got, "interval %zu (steps %" PRIu64
                      "..%" PRIu64 "): the %s ends on another state", i, c->ckpt_steps[i],
                      c->ckpt_steps[i + 1], how);
    *ok = 1;
    return POL_OK;
}

static pol_status rerun(pol_trainer *tr, const pol_cert *c, const pol_verify_opts *o, uint32_t i,
                        size_t pick, pol_verify_result *r, int *ok)
{
    char path[POL_PATH_MAX + 100];
    store_path(path, sizeof path, o->store_dir, &c->ckpt_hashes[i]);
    *ok = 0;
    pol_status st = pol_trainer_load(tr, path, &c->ckpt_hashes[i]);
    if (file_fault(st))
        return reject(r, i, &c->ckpt_hashes[i], NULL, "interval %u: the stored start checkpoint "
                      "is not the committed state (%s)", i, pol_last_error());
    if (st)
        return st;
    if (pol_trainer_steps_done(tr) != c->ckpt_steps[i])
        return reject(r, i, NULL, NULL, "interval %u: the start checkpoint is at step %" PRIu64
                      ", the certificate says %" PRIu64, i, pol_trainer_steps_done(tr), c->ckpt_steps[i]);
    if ((st = step_to(tr, c->ckpt_steps[i + 1], r)))
        return st;
    if (r->tolerant)
        return compare_tolerant(tr, c, o, i, pick, r, ok);
    return end_state_matches(tr, c, i, "re-run", r, ok);
}

/* [V-VER-7] Every interval in order, from the initial state the caller
 * checked: no store file is read. */
static pol_status replay(pol_trainer *tr, const pol_cert *c, pol_verify_result *r)
{
    int ok = 1;
    for (size_t i = 0; ok && i < r->n_intervals; i++) {
        if (pol_trainer_steps_done(tr) != c->ckpt_steps[i])
            return reject(r, (int64_t)i, NULL, NULL, "interval %zu: the replay is at step %" PRIu64
                          ", the certificate's checkpoint at step %" PRIu64, i,
                          pol_trainer_steps_done(tr), c->ckpt_steps[i]);
        POL_TRY(step_to(tr, c->ckpt_steps[i + 1], r));
        POL_TRY(end_state_matches(tr, c, i, "replay from the initial state", r, &ok));
    }
    return POL_OK;
}

static pol_status verify(pol_ctx *ctx, const pol_cert *c, const pol_verify_opts *o,
                         pol_verify_result *r)
{
    if (!ctx || !c || !o || !r || !o->task_path || (!o->store_dir && !o->replay))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_verify: NULL argument");
    memset(r, 0, sizeof *r);
    r->failed_interval = -1;
    r->parent_checkpoint = -1;
    r->rejected_group = -1;
    if (!o->samples && !o->top_q)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_verify: samples and top_q are both 0: "
                          "nothing would be re-run");
    pol_task task;
    pol_status st = pol_task_load(o->task_path, &task);
    if (st)
        return st;
    if (o->replay && (task.mode != POL_MODE_EXACT || c->has_parent ||
                      o->samples != POL_VERIFY_ALL))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_verify: a replay needs an exact-mode task, a "
                          "certificate without a parent and samples = every interval (a "
                          "tolerant run cannot be checked without its checkpoints)");
    if (task.mode == POL_MODE_TOLERANT) {
        r->tolerant = 1;
        r->metric = o->metric ? o->metric : POL_METRIC_L2_REL;
        if (!pol_metric_name(r->metric))
            return pol_errorf(POL_ERR_INVALID_ARG, "pol_verify: unknown metric %d", (int)o->metric);
        if (r->metric == POL_METRIC_COSINE) /* [V-TOL-2] */
            return pol_errorf(POL_ERR_INVALID_ARG, "pol_verify: the cosine distance cannot accept "
                              "an interval: it is blind to scale (a state multiplied by any "
                              "positive factor is at distance 0); use l2_rel or another metric");
        if (!o->thresholds || !o->n_thresholds)
            return pol_errorf(POL_ERR_INVALID_ARG, "a tolerant-mode certificate needs thresholds "
                              "(a profile, spec/profiling.md)");
    }
    r->n_intervals = c->n_checkpoints >= 2 ? c->n_checkpoints - 1 : 0;
    r->accept = 1; /* until a check rejects; an error return clears it */
    int go;
    if ((st = check_binding(c, &task, r, &go)) || !go)
        return st;
    if (c->has_parent && ((st = check_parent(c, o, r, &go)) || !go))
        return st;
    if ((st = pol_verify_pick(c, o, r->picked, &r->n_picked)))
        return st;
    for (int q = 0; q < 3; q++) /* of the random part actually drawn */
        r->detect_p[q] = pol_detect_probability(r->n_intervals, (double[]){ 0.01, 0.10, 0.50 }[q],
                                                random_picks((uint32_t)r->n_intervals, o));
    pol_dataset ds;
    if ((st = pol_dataset_load(task.dataset_path, &task.dataset_sha256, task.sizes[0],
                               task.sizes[task.n_layers], &ds)))
        return st;
    pol_trainer *tr;
    if ((st = pol_trainer_create(&tr, ctx, &task, &ds))) {
        pol_dataset_free(&ds);
        return st;
    }
    if (!c->has_parent) { /* the start must be the task's own initial state */
        pol_digest init;
        if (!(st = pol_trainer_state_hash(tr, &init))) {
            r->init_checked = 1;
            if (!pol_digest_equal(&init, &c->ckpt_hashes[0]))
                reject(r, -1, &init, &c->ckpt_hashes[0], "the first checkpoint is not the task's "
                       "initial state (seed, initialisation)");
        }
    }
    if (!st && r->accept && r->tolerant)
        st = check_thresholds(tr, c, o, r);
    if (!st && r->accept && o->replay)
        st = replay(tr, c, r);
    for (size_t k = 0; !st && r->accept && !o->replay && k < r->n_picked; k++) {
        int ok;
        st = rerun(tr, c, o, r->picked[k], k, r, &ok);
    }
    r->cost_fraction = c->steps ? (double)r->steps_rerun / (double)c->steps : 0.0;
    pol_trainer_destroy(tr);
    pol_dataset_free(&ds);
    return st;
}

pol_status pol_verify(pol_ctx *ctx, const pol_cert *c, const pol_verify_opts *o, pol_verify_result *r)
{
    const pol_status st = verify(ctx, c, o, r);
    if (st && r)
        r->accept = 0; /* an error is no verdict, and never reads as an accept */
    return st;
}
