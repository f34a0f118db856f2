/* Certificates and verification (exact mode, CPU): an honest run is
 * accepted; each way of cheating is rejected with the interval where the
 * cheat was made named. The cheater here is consistent: after its cheat it
 * trains on honestly from the state it produced, and its certificate
 * commits to the states it really holds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "pol/fileio.h"
#include "pol/safetensors.h"
#include "pol/train.h"
#include "pol/keys.h"
#include "pol/verify.h"
#include "pol/version.h"
#include "testutil.h"

#define TASK "spec/vectors/tiny/adamw-gelu.json" /* 14 steps, k = 4: 4 intervals */

static pol_task task;
static pol_dataset ds;
static pol_ctx *ctx;

static int setup(void **st)
{
    (void)st;
    tu_seed();
    if (pol_task_load(TASK, &task) ||
        pol_dataset_load(task.dataset_path, &task.dataset_sha256, 6, 3, &ds) ||
        pol_ctx_create(&ctx, NULL))
        return -1;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    pol_dataset_free(&ds);
    pol_ctx_destroy(ctx);
    return 0;
}

/* Rewrites a checkpoint after `mutate` changed its tensors, with metadata
 * (state hash, step) made consistent again, as a cheater would. */
typedef void (*mutate_fn)(pol_st_file *f);

static void forge(const char *path, mutate_fn mutate)
{
    pol_st_file f;
    assert_int_equal(pol_st_load(path, NULL, &f), POL_OK);
    mutate(&f);
    const pol_tensor *ts[64];
    for (size_t i = 0; i < f.n; i++) ts[i] = &f.tensors[i];
    pol_digest h;
    assert_int_equal(pol_state_hash(ts, f.n, &h), POL_OK);
    char hex[65], step[32];
    pol_digest_to_hex(&h, hex);
    snprintf(step, sizeof step, "%llu",
             (unsigned long long)*(uint64_t *)pol_st_get(&f, "counters.step")->data);
    const char *meta[12];
    size_t m = 0;
    for (size_t i = 0; i < f.n_meta; i++) {
        const char *k = f.meta[2 * i];
        meta[2 * m] = k;
        meta[2 * m + 1] = !strcmp(k, "state_hash") ? hex : !strcmp(k, "step") ? step : f.meta[2 * i + 1];
        m++;
    }
    assert_int_equal(pol_st_save(path, ts, f.n, meta, m, 1), POL_OK);
    pol_st_free(&f);
}

static void flip_bit(pol_st_file *f) { ((uint8_t *)pol_st_get(f, "l1.W")->data)[5] ^= 0x04; }
static void zero_last_layer(pol_st_file *f)
{
    const pol_tensor *t = pol_st_get(f, "l2.W");
    memset(t->data, 0, t->nbytes);
}
static void skip_counter(pol_st_file *f) { *(uint64_t *)pol_st_get(f, "counters.step")->data += 1; }

typedef enum { HONEST, FLIP_BIT, SKIP_STEP, DATA_ORDER, LEARNING_RATE, FINAL_WEIGHTS } cheat;

/* Builds a certificate and a store by training interval after interval;
 * interval `bad` is where the cheat happens. */
static void build(const char *dir, cheat how, size_t bad, pol_cert *c, char *store)
{
    pol_task alt = task; /* same id: a cheater claims the real task */
    if (how == DATA_ORDER) alt.seed ^= 1;
    if (how == LEARNING_RATE) alt.lr *= 2.0f;
    pol_trainer *honest, *cheater;
    assert_int_equal(pol_trainer_create(&honest, ctx, &task, &ds), POL_OK);
    assert_int_equal(pol_trainer_create(&cheater, ctx, &alt, &ds), POL_OK);
    const uint64_t k = task.checkpoint_every;
    size_t n = 0;
    uint64_t steps[16];
    pol_digest hashes[16];
    char path[1200], prev[1200] = "";
    snprintf(store, 1100, "%s/store", dir);
    assert_int_equal(pol_mkdir_p(store), POL_OK);
    for (uint64_t s = 0;;) {
        snprintf(path, sizeof path, "%s/c%zu.safetensors", dir, n);
        pol_trainer *tr = (n == bad + 1 && (how == DATA_ORDER || how == LEARNING_RATE)) ? cheater : honest;
        if (n > 0) {
            assert_int_equal(pol_trainer_load(tr, prev, NULL), POL_OK);
            uint64_t end = s + k < task.steps ? s + k : task.steps;
            if (n == bad + 1 && how == SKIP_STEP) end -= 1;
            while (pol_trainer_steps_done(tr) < end)
                assert_int_equal(pol_trainer_step(tr, NULL), POL_OK);
            s = s + k < task.steps ? s + k : task.steps;
        }
        assert_int_equal(pol_trainer_save(tr, path, 1, NULL), POL_OK);
        if (n == bad + 1 && how == FLIP_BIT) forge(path, flip_bit);
        if (n == bad + 1 && how == SKIP_STEP) forge(path, skip_counter);
        if (n == bad + 1 && how == FINAL_WEIGHTS) forge(path, zero_last_layer);
        assert_int_equal(pol_trainer_load(honest, path, NULL), POL_OK);
        assert_int_equal(pol_trainer_state_hash(honest, &hashes[n]), POL_OK);
        steps[n] = s;
        char dst[1300], hex[65];
        pol_digest_to_hex(&hashes[n], hex);
        snprintf(dst, sizeof dst, "%s/%s.safetensors", store, hex);
        uint8_t *buf;
        size_t len;
        assert_int_equal(pol_read_file(path, 1 << 24, &buf, &len), POL_OK);
        assert_int_equal(pol_write_file_atomic(dst, buf, len, 1), POL_OK);
        free(buf);
        snprintf(prev, sizeof prev, "%s", path);
        n++;
        if (s == task.steps) break;
    }
    pol_trainer_destroy(honest);
    pol_trainer_destroy(cheater);
    assert_int_equal(pol_cert_alloc(c, n), POL_OK);
    memcpy(c->ckpt_steps, steps, n * sizeof *steps);
    memcpy(c->ckpt_hashes, hashes, n * sizeof *hashes);
    for (size_t i = 0; i + 1 < n; i++) c->update_norms[i] = 1.0 + (double)i;
    c->task_id = task.id;
    c->mode = POL_MODE_EXACT;
    c->spec_version = 1;
    c->checkpoint_every = k;
    c->steps = task.steps;
    c->final_state_hash = hashes[n - 1];
    assert_int_equal(pol_merkle_root(hashes, n, &c->ckpt_root), POL_OK);
}

static pol_verify_result res;

static void verify_all(const pol_cert *c, const char *store)
{
    pol_verify_opts o = { 0 };
    o.task_path = TASK, o.store_dir = store, o.samples = 1000;
    assert_int_equal(pol_verify(ctx, c, &o, &res), POL_OK);
}

static void test_honest_accepted(void **st)
{
    (void)st;
    char *dir = strdup(tu_tmpdir()), store[1100];
    pol_cert c;
    build(dir, HONEST, 99, &c, store);
    verify_all(&c, store);
    if (!res.accept) fail_msg("honest run rejected: %s", res.reason);
    assert_true(res.init_checked);
    assert_int_equal(res.n_picked, 4);
    assert_int_equal(res.steps_rerun, 14);
    /* the certificate built from a pol-solver run is the same commitment */
    char run[1200];
    snprintf(run, sizeof run, "%s/run", dir);
    pol_run_opts ro = { 0 };
    ro.task_path = TASK, ro.out_dir = run;
    pol_run_result rr;
    assert_int_equal(pol_run_train(ctx, &ro, &rr), POL_OK);
    pol_cert d;
    assert_int_equal(pol_cert_from_run(run, TASK, &d), POL_OK);
    assert_int_equal(d.n_checkpoints, c.n_checkpoints);
    assert_memory_equal(d.ckpt_root.b, c.ckpt_root.b, 32);
    assert_int_equal(pol_cert_check(&d), POL_OK);
    assert_true(d.update_norms[0] > 0.0);
    char store2[1300];
    snprintf(store2, sizeof store2, "%s/store2", dir);
    assert_int_equal(pol_store_put_run(run, store2), POL_OK);
    assert_int_equal(pol_store_put_run(run, store2), POL_OK); /* idempotent */
    verify_all(&d, store2);
    assert_true(res.accept);
    /* a run continued from step 4: its certificate must name a parent
     * ([V-VER-2]), or nobody could check its start; no file on refusal */
    char run2[1300], cert[1400], from[1300];
    snprintf(run2, sizeof run2, "%s/run2", dir);
    snprintf(cert, sizeof cert, "%s/cert.pol", run2);
    snprintf(from, sizeof from, "%s/ckpt-00000004.safetensors", run);
    ro.out_dir = run2, ro.from = from;
    assert_int_equal(pol_run_train(ctx, &ro, &rr), POL_OK);
    pol_keypair kp;
    pol_digest pid;
    memset(pid.b, 0x5a, 32);
    assert_int_equal(pol_keypair_generate(&kp), POL_OK);
    assert_int_equal(pol_cert_issue(run2, TASK, &kp, "cpu", NULL, cert, NULL), POL_ERR_INVALID_ARG);
    assert_non_null(strstr(pol_last_error(), "starts at step 4, not 0"));
    assert_int_equal(access(cert, F_OK), -1);
    assert_int_equal(pol_cert_issue(run2, TASK, &kp, "cpu", &pid, cert, NULL), POL_OK);
    pol_keypair_clear(&kp);
    pol_cert_free(&c);
    pol_cert_free(&d);
    free(dir);
}

static void expect_reject(cheat how, size_t bad, const char *what)
{
    char *dir = strdup(tu_tmpdir()), store[1100];
    pol_cert c;
    build(dir, how, bad, &c, store);
    verify_all(&c, store);
    if (res.accept)
        fail_msg("%s in interval %zu was accepted", what, bad);
    if (res.failed_interval != (int64_t)bad)
        fail_msg("%s in interval %zu: rejected at interval %lld (%s)", what, bad,
                 (long long)res.failed_interval, res.reason);
    pol_cert_free(&c);
    free(dir);
}

static void test_cheats_rejected(void **st)
{
    (void)st;
    for (size_t bad = 0; bad < 4; bad++) {
        expect_reject(FLIP_BIT, bad, "a flipped bit");
        expect_reject(SKIP_STEP, bad, "a skipped step");
        expect_reject(DATA_ORDER, bad, "a different data order");
        expect_reject(LEARNING_RATE, bad, "a different learning rate");
    }
    expect_reject(FINAL_WEIGHTS, 3, "replaced final weights");
}

/* [V-VER-7] Without the solver's checkpoints: an empty store, the whole run
 * re-trained; the verdict and evidence of the sampled verification. */
static void test_replay(void **st)
{
    (void)st;
    const cheat cheats[] = { HONEST, FLIP_BIT, SKIP_STEP, DATA_ORDER, LEARNING_RATE };
    for (size_t ci = 0; ci < sizeof cheats / sizeof *cheats; ci++) {
        for (size_t bad = 0; bad < (cheats[ci] == HONEST ? 1u : 4u); bad++) {
            char *dir = strdup(tu_tmpdir()), store[1100], empty[1200];
            pol_cert c;
            build(dir, cheats[ci], cheats[ci] == HONEST ? 99 : bad, &c, store);
            verify_all(&c, store);
            const pol_verify_result sampled = res;
            snprintf(empty, sizeof empty, "%s/empty", dir);
            assert_int_equal(pol_mkdir_p(empty), POL_OK);
            pol_verify_opts o = { 0 };
            o.task_path = TASK, o.store_dir = empty, o.samples = POL_VERIFY_ALL, o.replay = 1;
            assert_int_equal(pol_verify(ctx, &c, &o, &res), POL_OK);
            if (res.accept != sampled.accept || res.failed_interval != sampled.failed_interval)
                fail_msg("cheat %d at %zu: replay %d at %lld (%s), sampled %d at %lld", (int)ci,
                         bad, res.accept, (long long)res.failed_interval, res.reason,
                         sampled.accept, (long long)sampled.failed_interval);
            assert_memory_equal(res.expected.b, sampled.expected.b, 32);
            assert_memory_equal(res.got.b, sampled.got.b, 32);
            assert_true(res.init_checked);
            if (cheats[ci] == HONEST) {
                assert_int_equal(res.steps_rerun, 14);
                assert_true(res.cost_fraction == 1.0);
                assert_int_equal(res.n_picked, 4); /* the report lists every interval */
            } else {
                assert_non_null(strstr(res.reason, "replay"));
            }
            /* a replay needs samples = every interval, and no parent */
            o.samples = 1000;
            assert_int_equal(pol_verify(ctx, &c, &o, &res), POL_ERR_INVALID_ARG);
            o.samples = POL_VERIFY_ALL;
            c.has_parent = 1;
            assert_int_equal(pol_verify(ctx, &c, &o, &res), POL_ERR_INVALID_ARG);
            assert_non_null(strstr(pol_last_error(), "a replay needs"));
            assert_false(res.accept);
            pol_cert_free(&c);
            free(dir);
        }
    }
}

static void test_bad_certificates(void **st)
{
    (void)st;
    char *dir = strdup(tu_tmpdir()), store[1100];
    pol_cert c;
    build(dir, HONEST, 99, &c, store);
    /* swapped checkpoints (root recomputed: internally consistent) */
    pol_digest t = c.ckpt_hashes[1];
    c.ckpt_hashes[1] = c.ckpt_hashes[2], c.ckpt_hashes[2] = t;
    assert_int_equal(pol_merkle_root(c.ckpt_hashes, c.n_checkpoints, &c.ckpt_root), POL_OK);
    verify_all(&c, store);
    assert_false(res.accept);
    assert_int_equal(res.failed_interval, 0);
    c.ckpt_hashes[2] = c.ckpt_hashes[1], c.ckpt_hashes[1] = t;
    assert_int_equal(pol_merkle_root(c.ckpt_hashes, c.n_checkpoints, &c.ckpt_root), POL_OK);
    /* a certificate for another task */
    c.task_id.b[3] ^= 1;
    verify_all(&c, store);
    assert_false(res.accept);
    assert_non_null(strstr(res.reason, "another task"));
    c.task_id.b[3] ^= 1;
    /* a root that does not match the hashes */
    c.ckpt_root.b[0] ^= 1;
    verify_all(&c, store);
    assert_false(res.accept);
    c.ckpt_root.b[0] ^= 1;
    /* a certificate whose spec version or mode is not the task's */
    c.spec_version = POL_SPEC_VERSION + 1;
    verify_all(&c, store);
    assert_false(res.accept);
    assert_non_null(strstr(res.reason, "spec version, mode, k or steps differ from the task's"));
    c.spec_version = POL_SPEC_VERSION, c.mode = POL_MODE_TOLERANT;
    verify_all(&c, store);
    assert_false(res.accept);
    assert_non_null(strstr(res.reason, "spec version, mode, k or steps differ from the task's"));
    c.mode = POL_MODE_EXACT;
    /* a checkpoint left out: steps 0, 8, 12, 14 are multiples of k (consistent
     * by themselves) but 8 is not the next one after 0 */
    pol_cert d;
    assert_int_equal(pol_cert_alloc(&d, c.n_checkpoints - 1), POL_OK);
    d.task_id = c.task_id, d.mode = c.mode, d.spec_version = c.spec_version;
    d.checkpoint_every = c.checkpoint_every, d.steps = c.steps;
    d.final_state_hash = c.final_state_hash;
    for (size_t i = 0, j = 0; i < c.n_checkpoints; i++) {
        if (i == 1)
            continue;
        d.ckpt_steps[j] = c.ckpt_steps[i], d.ckpt_hashes[j] = c.ckpt_hashes[i];
        if (j > 0)
            d.update_norms[j - 1] = 1.0;
        j++;
    }
    assert_int_equal(pol_merkle_root(d.ckpt_hashes, d.n_checkpoints, &d.ckpt_root), POL_OK);
    assert_int_equal(pol_cert_check(&d), POL_ERR_FORMAT);
    verify_all(&d, store);
    assert_false(res.accept);
    assert_int_equal(res.failed_interval, -1);
    assert_int_equal(res.steps_rerun, 0);
    assert_non_null(strstr(res.reason, "checkpoint 1 at step 8 is not the next multiple of k "
                                       "after step 0"));
    pol_cert_free(&d);
    /* interval 1 said to start at step 4 from the state of step 8; only that
     * interval re-run (the largest update, no random sample) */
    const pol_digest h4 = c.ckpt_hashes[1];
    c.ckpt_hashes[1] = c.ckpt_hashes[2];
    assert_int_equal(pol_merkle_root(c.ckpt_hashes, c.n_checkpoints, &c.ckpt_root), POL_OK);
    c.update_norms[1] = 100.0;
    pol_verify_opts o1 = { 0 };
    o1.task_path = TASK, o1.store_dir = store, o1.samples = 0, o1.top_q = 1;
    assert_int_equal(pol_verify(ctx, &c, &o1, &res), POL_OK);
    assert_false(res.accept);
    assert_int_equal(res.failed_interval, 1);
    assert_non_null(strstr(res.reason, "the start checkpoint is at step 8, the certificate says 4"));
    c.ckpt_hashes[1] = h4, c.update_norms[1] = 2.0;
    assert_int_equal(pol_merkle_root(c.ckpt_hashes, c.n_checkpoints, &c.ckpt_root), POL_OK);
    verify_all(&c, store);
    assert_true(res.accept);
    /* a checkpoint missing from the store is an error, not a verdict */
    char hex[65], p[1300];
    pol_digest_to_hex(&c.ckpt_hashes[2], hex);
    snprintf(p, sizeof p, "%s/%s.safetensors", store, hex);
    assert_int_equal(remove(p), 0);
    pol_verify_opts o = { 0 };
    o.task_path = TASK, o.store_dir = store, o.samples = 1000;
    assert_int_equal(pol_verify(ctx, &c, &o, &res), POL_ERR_NOT_FOUND);
    assert_false(res.accept);
    /* a file there that is no checkpoint of ours (a well-formed safetensors
     * file of one F16 tensor): the solver's fault, a reject, not an error */
    static const char hdr[] = "{\"x\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}";
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    const uint64_t hl = sizeof hdr - 1;
    uint8_t le[8];
    for (int b = 0; b < 8; b++)
        le[b] = (uint8_t)(hl >> (8 * b));
    assert_int_equal(fwrite(le, 1, 8, f), 8);
    assert_int_equal(fwrite(hdr, 1, hl, f), hl);
    assert_int_equal(fwrite("\0\0", 1, 2, f), 2);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(pol_verify(ctx, &c, &o, &res), POL_OK);
    assert_false(res.accept);
    assert_int_equal(res.failed_interval, 2);
    assert_non_null(strstr(res.reason, "the stored start checkpoint is not the committed state"));
    pol_cert_free(&c);
    free(dir);
}

/* The certificate of a run continued from checkpoint `from` of c, whose
 * proof is the certificate with id *parent_id. */
static void child_of(const pol_cert *c, size_t from, const pol_digest *parent_id, pol_cert *d)
{
    const size_t n = c->n_checkpoints - from;
    assert_int_equal(pol_cert_alloc(d, n), POL_OK);
    d->task_id = c->task_id, d->mode = c->mode, d->spec_version = c->spec_version;
    d->checkpoint_every = c->checkpoint_every, d->steps = c->steps;
    d->final_state_hash = c->final_state_hash;
    memcpy(d->ckpt_steps, c->ckpt_steps + from, n * sizeof *d->ckpt_steps);
    memcpy(d->ckpt_hashes, c->ckpt_hashes + from, n * sizeof *d->ckpt_hashes);
    memcpy(d->update_norms, c->update_norms + from, (n - 1) * sizeof *d->update_norms);
    d->has_parent = 1, d->parent_id = *parent_id;
    assert_int_equal(pol_merkle_root(d->ckpt_hashes, n, &d->ckpt_root), POL_OK);
    assert_int_equal(pol_cert_check(d), POL_OK);
}

/* [V-VER-2] A continued run's start state is checked against its parent. */
static void test_parent(void **st)
{
    (void)st;
    char *dir = strdup(tu_tmpdir()), *dir2 = strdup(tu_tmpdir()), store[1100], store2[1100];
    pol_cert parent, forged, child;
    pol_digest pid;
    memset(pid.b, 0x5a, 32);
    build(dir, HONEST, 99, &parent, store);
    pol_verify_opts o = { 0 };
    o.task_path = TASK, o.store_dir = store, o.samples = POL_VERIFY_ALL;
    o.parent = &parent, o.parent_id = pid;
    /* a true continuation from the parent's checkpoint 1 (step 4) */
    child_of(&parent, 1, &pid, &child);
    assert_int_equal(pol_verify(ctx, &child, &o, &res), POL_OK);
    assert_true(res.accept);
    assert_int_equal(res.parent_checkpoint, 1);
    assert_false(res.init_checked);
    assert_int_equal(res.n_picked, 3);
    /* the same checkpoint at another step of the parent */
    parent.ckpt_steps[1] += 1;
    assert_int_equal(pol_verify(ctx, &child, &o, &res), POL_OK);
    assert_false(res.accept);
    assert_int_equal(res.failed_interval, -1);
    assert_non_null(strstr(res.reason, "is not a checkpoint of the parent certificate"));
    parent.ckpt_steps[1] -= 1;
    /* no parent, or another one: the verification cannot be carried out */
    o.parent = NULL;
    assert_int_equal(pol_verify(ctx, &child, &o, &res), POL_ERR_INVALID_ARG);
    assert_non_null(strstr(pol_last_error(), "parent certificate"));
    o.parent = &parent, o.parent_id.b[0] ^= 1;
    assert_int_equal(pol_verify(ctx, &child, &o, &res), POL_ERR_MISMATCH);
    o.parent_id = pid;
    pol_cert_free(&child);
    /* a forged start: a consistent run on from a tampered state (interval 0
     * of the cheat flips a bit) claims a parent that never held it. Every
     * interval of it re-runs true; only the start gives it away. */
    build(dir2, FLIP_BIT, 0, &forged, store2);
    child_of(&forged, 1, &pid, &child);
    o.store_dir = store2;
    assert_int_equal(pol_verify(ctx, &child, &o, &res), POL_OK);
    assert_false(res.accept);
    assert_int_equal(res.failed_interval, -1);
    assert_int_equal(res.steps_rerun, 0);
    pol_cert_free(&child);
    /* nothing to re-run is refused, not accepted */
    o.store_dir = store, o.samples = 0, o.top_q = 0;
    assert_int_equal(pol_verify(ctx, &parent, &o, &res), POL_ERR_INVALID_ARG);
    pol_cert_free(&forged);
    pol_cert_free(&parent);
    free(dir);
    free(dir2);
}

/* A consistent certificate of 4 checkpoints: k = 4, 10 steps, so steps 0, 4,
 * 8 and 10 (the last need not be a multiple of k). */
static void small_cert(pol_cert *c)
{
    static const uint64_t steps[4] = { 0, 4, 8, 10 };
    assert_int_equal(pol_cert_alloc(c, 4), POL_OK);
    c->mode = POL_MODE_EXACT, c->spec_version = POL_SPEC_VERSION;
    c->checkpoint_every = 4, c->steps = 10;
    snprintf(c->device, sizeof c->device, "cpu");
    for (size_t i = 0; i < 4; i++) {
        c->ckpt_steps[i] = steps[i];
        memset(c->ckpt_hashes[i].b, (int)(0x11 * (i + 1)), 32);
        if (i < 3)
            c->update_norms[i] = 0.5 * (double)(i + 1);
    }
    assert_int_equal(pol_merkle_root(c->ckpt_hashes, 4, &c->ckpt_root), POL_OK);
    c->final_state_hash = c->ckpt_hashes[3];
}

/* pol_cert_check refuses each inconsistency of [C-CERT] with FORMAT and a
 * message naming it; the same certificate, unchanged, passes. */
static void test_cert_check(void **st)
{
    (void)st;
    static const char *const want[] = {
        "missing checkpoint arrays",
        "certificate: 1 checkpoints",
        "unknown mode 3",
        "k and steps must be positive",
        "k and steps must be positive",
        "device text not terminated",
        "last checkpoint at step 10, the task has 12",
        "starts at step 2 without a parent certificate",
        "checkpoint steps not increasing at 1",
        "checkpoint 1 at step 5 is not the next multiple of k after step 0",
        "checkpoint 3 at step 13 is not the next multiple of k after step 8 (nor the last step)",
        "update norm 1 is not finite and >= 0",
        "update norm 2 is not finite and >= 0",
        "update norm 0 is not finite and >= 0",
        "checkpoint root does not match the hashes",
        "final state hash is not the last checkpoint's",
    };
    pol_cert c;
    small_cert(&c);
    assert_int_equal(pol_cert_check(&c), POL_OK);
    c.ckpt_steps[0] = 2, c.has_parent = 1; /* a continued run may start anywhere */
    assert_int_equal(pol_cert_check(&c), POL_OK);
    pol_cert_free(&c);
    for (size_t m = 0; m < sizeof want / sizeof want[0]; m++) {
        small_cert(&c);
        switch (m) {
        case 0: free(c.update_norms), c.update_norms = NULL; break;
        case 1: c.n_checkpoints = 1; break;
        case 2: c.mode = 3; break;
        case 3: c.checkpoint_every = 0; break;
        case 4: c.steps = 0; break;
        case 5: memset(c.device, 'x', sizeof c.device); break;
        case 6: c.steps = 12; break;
        case 7: c.ckpt_steps[0] = 2; break;
        case 8: c.ckpt_steps[2] = 4; break;
        case 9: c.ckpt_steps[1] = 5; break;
        case 10: c.ckpt_steps[3] = c.steps = 13; break; /* a last interval longer than k */
        case 11: c.update_norms[1] = NAN; break;
        case 12: c.update_norms[2] = -0.25; break;
        case 13: c.update_norms[0] = INFINITY; break;
        case 14: c.ckpt_root.b[31] ^= 1; break;
        case 15: c.final_state_hash.b[0] ^= 1; break;
        }
        const pol_status got = pol_cert_check(&c);
        if (got != POL_ERR_FORMAT || !strstr(pol_last_error(), want[m]))
            fail_msg("case %zu: want FORMAT and \"%s\", got %s (%s)", m, want[m],
                     pol_strerror(got), got ? pol_last_error() : "accepted");
        pol_cert_free(&c);
    }
}

static void test_sampling(void **st)
{
    (void)st;
    pol_cert c;
    assert_int_equal(pol_cert_alloc(&c, 101), POL_OK);
    for (size_t i = 0; i < 100; i++) c.update_norms[i] = (double)((i * 37) % 100);
    pol_verify_opts o = { 0 };
    o.samples = 10, o.top_q = 2;
    memset(o.beacon, 7, 32);
    uint32_t a[POL_VERIFY_MAX_PICKS], b[POL_VERIFY_MAX_PICKS];
    size_t na, nb;
    assert_int_equal(pol_verify_pick(&c, &o, a, &na), POL_OK);
    assert_int_equal(pol_verify_pick(&c, &o, b, &nb), POL_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a); /* deterministic given the beacon */
    assert_true(na >= 10 && na <= 12);
    int top1 = 0, top2 = 0; /* norms 99 and 98: i*37 % 100 == 99 -> i = 27; 98 -> i = 54 */
    for (size_t i = 0; i < na; i++) {
        top1 |= a[i] == 27, top2 |= a[i] == 54;
        if (i) assert_true(a[i - 1] < a[i]);
    }
    assert_true(top1 && top2);
    o.beacon[0] ^= 1; /* another beacon, another sample */
    assert_int_equal(pol_verify_pick(&c, &o, b, &nb), POL_OK);
    assert_true(na != nb || memcmp(a, b, na * sizeof *a));
    o.samples = POL_VERIFY_ALL, o.top_q = 0; /* every interval, once each */
    assert_int_equal(pol_verify_pick(&c, &o, a, &na), POL_OK);
    assert_int_equal(na, 100);
    for (size_t i = 0; i < na; i++)
        assert_int_equal(a[i], i);
    pol_cert_free(&c);
    /* more intervals than POL_VERIFY_MAX_PICKS: the random part leaves room
     * for the top-Q part, which is always picked */
    assert_int_equal(pol_cert_alloc(&c, 5001), POL_OK);
    for (size_t i = 0; i < 5000; i++) c.update_norms[i] = i == 4321 ? 2.0 : i == 17 ? 1.5 : 0.0;
    o.samples = POL_VERIFY_ALL, o.top_q = 2;
    assert_int_equal(pol_verify_pick(&c, &o, a, &na), POL_OK);
    assert_true(na <= POL_VERIFY_MAX_PICKS && na >= POL_VERIFY_MAX_PICKS - 2);
    top1 = top2 = 0;
    for (size_t i = 0; i < na; i++)
        top1 |= a[i] == 4321, top2 |= a[i] == 17;
    assert_true(top1 && top2);
    pol_cert_free(&c);
    /* detection probability: hypergeometric miss chance */
    assert_true(pol_detect_probability(10, 0.1, 1) > 0.0999 && pol_detect_probability(10, 0.1, 1) < 0.1001);
    assert_true(pol_detect_probability(10, 0.1, 10) == 1.0);
    assert_true(pol_detect_probability(1000, 0.1, 44) > 0.99);
    assert_true(pol_detect_probability(1000, 0.1, 40) < 0.99);
    size_t need = pol_samples_for(1000, 0.1, 0.99); /* the fewest that reach 0.99 */
    assert_true(pol_detect_probability(1000, 0.1, need) >= 0.99);
    assert_true(pol_detect_probability(1000, 0.1, need - 1) < 0.99);
    assert_int_equal(pol_samples_for(5, 0.1, 1.1), 5); /* unreachable: all of them */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_honest_accepted),
        cmocka_unit_test(test_cheats_rejected),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_bad_certificates),
        cmocka_unit_test(test_parent),
        cmocka_unit_test(test_cert_check),
        cmocka_unit_test(test_sampling),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
