/* Training determinism and checkpoints: run-to-run, 1-vs-2 threads and
 * fast-vs-reference kernels give the same checkpoint hashes; resume from any
 * checkpoint continues bit for bit; the golden traces in spec/vectors/tiny
 * still match; bad inputs fail cleanly without overwriting anything.
 *
 * POL_WRITE_GOLDEN=1 rewrites spec/vectors/tiny/expected-*.json instead of
 * comparing (only after a deliberate change of the numerics, spec/). */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "pol/fileio.h"
#include "pol/safetensors.h"
#include "pol/train.h"
#include "testutil.h"

#define VEC "spec/vectors/tiny/"
static const char *const TASKS[] = { VEC "adamw-gelu.json", VEC "sgd-relu.json" };

/* ------------------------------------------------------------ helpers -- */

static int g_sync;                  /* pol_run_opts.sync_checkpoints of run() */

static void run(const char *task, const char *dir, int threads, pol_kernels k, int resume,
                const char *from, pol_status want, pol_run_result *res)
{
    pol_ctx *ctx;
    pol_ctx_opts o = { .threads = threads, .kernels = k };
    assert_int_equal(pol_ctx_create(&ctx, &o), POL_OK);
    pol_run_opts ro = { 0 };
    ro.task_path = task, ro.out_dir = dir, ro.resume = resume, ro.from = from;
    ro.sync_checkpoints = g_sync;
    pol_run_result r;
    pol_status st = pol_run_train(ctx, &ro, &r);
    pol_ctx_destroy(ctx);
    if (st != want)
        fail_msg("run %s -> %s: status %d (%s), want %d", task, dir, st, pol_last_error(), want);
    if (res)
        *res = r;
}

static char *slurp(const char *path)
{
    uint8_t *buf;
    size_t len;
    if (pol_read_file(path, 1 << 26, &buf, &len))
        fail_msg("read %s: %s", path, pol_last_error());
    char *s = realloc(buf, len + 1);
    s[len] = '\0';
    return s;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void cat_path(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

/* A digest over every file's name and bytes in dir: "nothing was touched". */
static void dir_digest(const char *dir, pol_digest *out)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    assert_true(n >= 0);
    pol_sha256_ctx *h;
    assert_int_equal(pol_sha256_new(&h), POL_OK);
    for (int i = 0; i < n; i++) {
        char p[1024];
        cat_path(p, sizeof p, dir, ents[i]->d_name);
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
            char *s = slurp(p);
            assert_int_equal(pol_sha256_update(h, ents[i]->d_name, strlen(ents[i]->d_name) + 1), POL_OK);
            assert_int_equal(pol_sha256_update(h, s, (size_t)sb.st_size), POL_OK);
            free(s);
        }
        free(ents[i]);
    }
    free(ents);
    assert_int_equal(pol_sha256_final(h, out), POL_OK);
    pol_sha256_free(h);
}

static char *mkdir_tmp(void)
{
    const char *d = tu_tmpdir();
    assert_non_null(d);
    return strdup(d);
}

/* ------------------------------------------------------ determinism -- */

static void test_run_to_run_threads_kernels(void **st)
{
    (void)st;
    for (int t = 0; t < 2; t++) {
        char *a = mkdir_tmp(), *b = mkdir_tmp(), *c = mkdir_tmp(), pa[1100], pb[1100], pc[1100];
        pol_run_result ra, rb, rc;
        run(TASKS[t], a, 1, POL_KERNELS_FAST, 0, NULL, POL_OK, &ra);
        run(TASKS[t], b, 2, POL_KERNELS_FAST, 0, NULL, POL_OK, &rb);
        run(TASKS[t], c, 1, POL_KERNELS_REF, 0, NULL, POL_OK, &rc);
        assert_memory_equal(ra.final_state_hash.b, rb.final_state_hash.b, 32);
        assert_memory_equal(ra.final_state_hash.b, rc.final_state_hash.b, 32);
        /* every checkpoint hash, not just the last */
        cat_path(pa, sizeof pa, a, "trace.json");
        cat_path(pb, sizeof pb, b, "trace.json");
        cat_path(pc, sizeof pc, c, "trace.json");
        char *sa = slurp(pa), *sb = slurp(pb), *sc = slurp(pc);
        assert_string_equal(sa, sb);
        assert_string_equal(sa, sc);
        free(sa), free(sb), free(sc), free(a), free(b), free(c);
    }
}

/* [C-WHEN-3] Checkpoints written by the background writer (the default) and
 * on the training thread give byte-identical run directories: every
 * checkpoint file and trace.json, for 1 and 2 threads. */
static void test_background_writer_same_files(void **st)
{
    (void)st;
    for (int t = 0; t < 2; t++)
        for (int threads = 1; threads <= 2; threads++) {
            char *a = mkdir_tmp(), *b = mkdir_tmp();
            pol_run_result ra, rb;
            g_sync = 1;
            run(TASKS[t], a, threads, POL_KERNELS_FAST, 0, NULL, POL_OK, &ra);
            g_sync = 0;
            run(TASKS[t], b, threads, POL_KERNELS_FAST, 0, NULL, POL_OK, &rb);
            assert_int_equal(ra.checkpoints, rb.checkpoints);
            assert_true(ra.checkpoints >= 3);
            assert_memory_equal(ra.final_state_hash.b, rb.final_state_hash.b, 32);
            pol_digest da, db;
            dir_digest(a, &da);
            dir_digest(b, &db);
            assert_memory_equal(da.b, db.b, 32);
            assert_true(rb.checkpoint_write_seconds > 0.0);
            free(a), free(b);
        }
}

/* A write that fails in the background writer stops the run with the
 * writer's status and message; the trace keeps the checkpoints that were
 * written, no temporary file is left, and --resume then completes the very
 * run. The failure: from the first step on, no file may grow past one byte
 * (RLIMIT_FSIZE, with SIGXFSZ ignored so write() fails with EFBIG). */
static struct rlimit saved_fsize;

static void limit_files_after_step_1(void *arg, uint64_t step, uint64_t total, float loss)
{
    (void)arg, (void)total, (void)loss;
    if (step == 1) {
        struct rlimit r = saved_fsize;
        r.rlim_cur = 1;
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &r), 0);
    }
}

static void test_background_writer_failure(void **st)
{
    (void)st;
    char *a = mkdir_tmp(), *b = mkdir_tmp(), pa[1100], pb[1100];
    run(TASKS[0], a, 1, POL_KERNELS_FAST, 0, NULL, POL_OK, NULL);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
    void (*old)(int) = signal(SIGXFSZ, SIG_IGN);
    pol_ctx *ctx;
    pol_ctx_opts o = { .threads = 1, .kernels = POL_KERNELS_FAST };
    assert_int_equal(pol_ctx_create(&ctx, &o), POL_OK);
    pol_run_opts ro = { 0 };
    ro.task_path = TASKS[0], ro.out_dir = b, ro.progress = limit_files_after_step_1;
    pol_run_result r;
    pol_status s = pol_run_train(ctx, &ro, &r);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", pol_last_error());
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
    signal(SIGXFSZ, old);
    pol_ctx_destroy(ctx);
    if (s != POL_ERR_IO)
        fail_msg("status %d (%s), want POL_ERR_IO", s, msg);
    if (!strstr(msg, "ckpt-00000004"))
        fail_msg("the message does not name the checkpoint: %s", msg);
    assert_true(r.steps_run >= 4 && r.steps_run < 14);
    pol_trace t;
    assert_int_equal(pol_trace_load(b, &t), POL_OK);
    assert_int_equal(t.n, 1);
    pol_trace_free(&t);
    struct dirent **ents;
    int n = scandir(b, &ents, NULL, alphasort);
    assert_int_equal(n, 4); /* ., .., ckpt-00000000.safetensors, trace.json */
    assert_string_equal(ents[2]->d_name, "ckpt-00000000.safetensors");
    assert_string_equal(ents[3]->d_name, "trace.json");
    for (int i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    run(TASKS[0], b, 1, POL_KERNELS_FAST, 1, NULL, POL_OK, NULL);
    pol_digest da, db;
    dir_digest(a, &da);
    dir_digest(b, &db);
    assert_memory_equal(da.b, db.b, 32);
    cat_path(pa, sizeof pa, a, "trace.json");
    cat_path(pb, sizeof pb, b, "trace.json");
    char *sa = slurp(pa), *sb = slurp(pb);
    assert_string_equal(sa, sb);
    free(sa), free(sb), free(a), free(b);
}

/* Another run of the same task in a fresh directory, started from each
 * checkpoint of a finished run, ends on the same final state. */
static void test_resume_from_every_checkpoint(void **st)
{
    (void)st;
    char *a = mkdir_tmp(), p[1100];
    pol_run_result ra;
    run(TASKS[0], a, 1, POL_KERNELS_FAST, 0, NULL, POL_OK, &ra);
    cat_path(p, sizeof p, a, "trace.json");
    char *trace = slurp(p);
    json_t *root = json_loads(trace, 0, NULL);
    json_t *arr = json_object_get(root, "checkpoints");
    assert_true(json_array_size(arr) >= 3);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char *b = mkdir_tmp(), ck[1100];
        cat_path(ck, sizeof ck, a, json_string_value(json_object_get(json_array_get(arr, i), "file")));
        pol_run_result rb;
        run(TASKS[0], b, 2, POL_KERNELS_FAST, 0, ck, POL_OK, &rb);
        assert_memory_equal(ra.final_state_hash.b, rb.final_state_hash.b, 32);
        free(b);
    }
    json_decref(root);
    free(trace), free(a);
}

/* Copies run `a`'s first `keep` checkpoints into `b` with a trace cut to
 * them; returns a's trace entries (json_decref) for the file names. */
static json_t *cut_run(const char *a, const char *b, size_t keep)
{
    char p[1100], q[1100];
    cat_path(p, sizeof p, a, "trace.json");
    char *full = slurp(p);
    json_t *root = json_loads(full, 0, NULL), *all = json_deep_copy(root);
    free(full);
    json_t *arr = json_object_get(root, "checkpoints");
    while (json_array_size(arr) > keep)
        json_array_remove(arr, json_array_size(arr) - 1);
    for (size_t i = 0; i < keep; i++) {
        const char *f = json_string_value(json_object_get(json_array_get(arr, i), "file"));
        cat_path(p, sizeof p, a, f);
        cat_path(q, sizeof q, b, f);
        uint8_t *buf;
        size_t len;
        assert_int_equal(pol_read_file(p, 1 << 26, &buf, &len), POL_OK);
        spit(q, buf, len);
        free(buf);
    }
    char *cut = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    cat_path(q, sizeof q, b, "trace.json");
    spit(q, cut, strlen(cut));
    free(cut);
    json_decref(root);
    return all;
}

/* The name of checkpoint i in a trace made by cut_run. */
static const char *ckpt_file(json_t *all, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(all, "checkpoints"), i), "file"));
}

/* A run cut short (trace and checkpoints up to some step) and resumed with
 * --resume produces the very same trace as the uninterrupted run. */
static void test_resume_after_interruption(void **st)
{
    (void)st;
    char *a = mkdir_tmp(), *b = mkdir_tmp(), p[1100], q[1100];
    run(TASKS[0], a, 1, POL_KERNELS_FAST, 0, NULL, POL_OK, NULL);
    cat_path(p, sizeof p, a, "trace.json");
    char *full = slurp(p);
    json_decref(cut_run(a, b, 2));
    run(TASKS[0], b, 2, POL_KERNELS_FAST, 1, NULL, POL_OK, NULL);
    cat_path(q, sizeof q, b, "trace.json");
    char *resumed = slurp(q);
    assert_string_equal(full, resumed);
    free(full), free(resumed), free(a), free(b);
}

/* --resume guards what is on disk ([C-WHEN-2], [C-RUN-2]): a checkpoint
 * written before an interruption cut the trace is taken when it holds this
 * run's state, and the run ends as an uninterrupted one; a foreign file at
 * a checkpoint's name stops the run (EXISTS) and stays as it was; a folder
 * without a trace, or with another task's, is refused and left untouched. */
static void test_resume_guards(void **st)
{
    (void)st;
    char *a = mkdir_tmp(), *b = mkdir_tmp(), *c = mkdir_tmp(), *d = mkdir_tmp();
    char p[1100], q[1100];
    run(TASKS[0], a, 1, POL_KERNELS_FAST, 0, NULL, POL_OK, NULL);
    cat_path(p, sizeof p, a, "trace.json");
    char *full = slurp(p);
    /* b: checkpoints 0 and 4 in the trace, checkpoint 8 written but not traced */
    json_t *all = cut_run(a, b, 2);
    assert_non_null(all);
    cat_path(p, sizeof p, a, ckpt_file(all, 2));
    cat_path(q, sizeof q, b, ckpt_file(all, 2));
    char *c8 = slurp(p);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    spit(q, c8, (size_t)sb.st_size);
    free(c8);
    run(TASKS[0], b, 1, POL_KERNELS_FAST, 1, NULL, POL_OK, NULL);
    cat_path(q, sizeof q, b, "trace.json");
    char *resumed = slurp(q);
    assert_string_equal(resumed, full);
    free(resumed);
    /* c: the same, but the file at checkpoint 8's name holds checkpoint 0 */
    json_decref(cut_run(a, c, 2));
    cat_path(p, sizeof p, a, ckpt_file(all, 0));
    cat_path(q, sizeof q, c, ckpt_file(all, 2));
    char *c0 = slurp(p);
    assert_int_equal(stat(p, &sb), 0);
    const size_t n0 = (size_t)sb.st_size;
    spit(q, c0, n0);
    pol_digest before, after;
    dir_digest(c, &before);
    run(TASKS[0], c, 1, POL_KERNELS_FAST, 1, NULL, POL_ERR_EXISTS, NULL);
    assert_non_null(strstr(pol_last_error(), "does not hold this run's state at step 8"));
    dir_digest(c, &after);
    assert_memory_equal(after.b, before.b, 32); /* the foreign file, the trace: as they were */
    free(c0);
    /* d: no trace; b: another task's run */
    run(TASKS[0], d, 1, POL_KERNELS_FAST, 1, NULL, POL_ERR_NOT_FOUND, NULL);
    dir_digest(b, &before);
    run(TASKS[1], b, 1, POL_KERNELS_FAST, 1, NULL, POL_ERR_MISMATCH, NULL);
    assert_non_null(strstr(pol_last_error(), "belongs to another task"));
    dir_digest(b, &after);
    assert_memory_equal(after.b, before.b, 32);
    json_decref(all);
    free(full), free(a), free(b), free(c), free(d);
}

/* Each trace entry after the first records the L2 norm of the parameter
 * change since the previous checkpoint (C-TRACE-1): recomputed here from the
 * two checkpoint files, in double, parameters in name order. */
static void test_update_norms(void **st)
{
    (void)st;
    char *a = mkdir_tmp(), p[1100];
    run(TASKS[0], a, 1, POL_KERNELS_FAST, 0, NULL, POL_OK, NULL);
    pol_trace t;
    assert_int_equal(pol_trace_load(a, &t), POL_OK);
    assert_false(t.e[0].has_norm);
    for (size_t i = 1; i < t.n; i++) {
        pol_st_file f0, f1;
        cat_path(p, sizeof p, a, t.e[i - 1].file);
        assert_int_equal(pol_st_load(p, NULL, &f0), POL_OK);
        cat_path(p, sizeof p, a, t.e[i].file);
        assert_int_equal(pol_st_load(p, NULL, &f1), POL_OK);
        double sum = 0.0;
        for (size_t k = 0; k < f0.n; k++) { /* files list tensors in name order */
            const char *nm = f0.tensors[k].name;
            size_t len = strlen(nm);
            if (nm[0] != 'l' || len < 2 || nm[len - 2] != '.' || (nm[len - 1] != 'W' && nm[len - 1] != 'b'))
                continue;
            const float *x = pol_f32(&f0.tensors[k]), *y = pol_f32(pol_st_get(&f1, nm));
            for (int64_t j = 0; j < pol_tensor_numel(&f0.tensors[k]); j++) {
                double d = (double)y[j] - (double)x[j];
                sum += d * d;
            }
        }
        assert_true(t.e[i].has_norm);
        if (t.e[i].update_norm != sqrt(sum))
            fail_msg("entry %zu: update_norm %.17g, recomputed %.17g", i, t.e[i].update_norm, sqrt(sum));
        assert_true(t.e[i].update_norm > 0.0);
        pol_st_free(&f0), pol_st_free(&f1);
    }
    pol_trace_free(&t);
    free(a);
}

/* ------------------------------------------------------ golden vectors -- */

static void test_golden_traces(void **st)
{
    (void)st;
    int write = getenv("POL_WRITE_GOLDEN") && !strcmp(getenv("POL_WRITE_GOLDEN"), "1");
    for (int t = 0; t < 2; t++) {
        char *a = mkdir_tmp(), p[1100], gold[256];
        run(TASKS[t], a, 1, POL_KERNELS_FAST, 0, NULL, POL_OK, NULL);
        cat_path(p, sizeof p, a, "trace.json");
        snprintf(gold, sizeof gold, "%s", TASKS[t]);
        char *dot = strrchr(gold, '.');
        snprintf(dot, sizeof gold - (size_t)(dot - gold), ".expected-trace.json");
        char *got = slurp(p);
        if (write) {
            spit(gold, got, strlen(got));
            fprintf(stderr, "wrote %s\n", gold);
        } else {
            char *want = slurp(gold);
            if (strcmp(want, got))
                fail_msg("%s: checkpoint hashes differ from the golden trace %s — the numerics "
                         "changed. If on purpose (spec/ changed), regenerate with "
                         "POL_WRITE_GOLDEN=1.\ngot:\n%s", TASKS[t], gold, got);
            free(want);
        }
        free(got), free(a);
    }
}

/* ------------------------------------------------------- bad inputs -- */

static void test_bad_checkpoints(void **st)
{
    (void)st;
    char *a = mkdir_tmp(), ck[1100], bad[1100];
    run(TASKS[0], a, 1, POL_KERNELS_FAST, 0, NULL, POL_OK, NULL);
    cat_path(ck, sizeof ck, a, "ckpt-00000004.safetensors");
    struct stat sb;
    assert_int_equal(stat(ck, &sb), 0);
    char *img = slurp(ck);
    size_t len = (size_t)sb.st_size;
    pol_task task;
    pol_dataset ds;
    assert_int_equal(pol_task_load(TASKS[0], &task), POL_OK);
    assert_int_equal(pol_dataset_load(task.dataset_path, &task.dataset_sha256, 6, 3, &ds), POL_OK);
    pol_ctx *ctx;
    assert_int_equal(pol_ctx_create(&ctx, NULL), POL_OK);
    pol_trainer *tr;
    assert_int_equal(pol_trainer_create(&tr, ctx, &task, &ds), POL_OK);
    pol_digest before, after;
    assert_int_equal(pol_trainer_state_hash(tr, &before), POL_OK);
    cat_path(bad, sizeof bad, a, "bad.safetensors");
    /* truncated at several lengths */
    const size_t cuts[] = { 0, 7, 8, 100, len / 2, len - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        spit(bad, img, cuts[i]);
        pol_status s = pol_trainer_load(tr, bad, NULL);
        if (s == POL_OK)
            fail_msg("truncated checkpoint (%zu of %zu bytes) accepted", cuts[i], len);
    }
    /* one flipped bit in the tensor data: parses, but the hash disagrees */
    img[len - 3] ^= 0x10;
    spit(bad, img, len);
    assert_int_equal(pol_trainer_load(tr, bad, NULL), POL_ERR_HASH_MISMATCH);
    img[len - 3] ^= 0x10;
    /* the intact file loads, but not against another expected hash */
    assert_int_equal(pol_trainer_load(tr, ck, &before), POL_ERR_HASH_MISMATCH);
    assert_int_equal(pol_trainer_state_hash(tr, &after), POL_OK);
    assert_memory_equal(before.b, after.b, 32); /* failed loads changed nothing */
    assert_int_equal(pol_trainer_load(tr, ck, NULL), POL_OK);
    assert_int_equal(pol_trainer_steps_done(tr), 4);
    /* a data cursor near 2^64 (cursor + batch wraps), the file otherwise
     * consistent (its metadata names the state it holds): out of range */
    pol_st_file f;
    assert_int_equal(pol_st_load(ck, NULL, &f), POL_OK);
    pol_tensor *cur = (pol_tensor *)pol_st_get(&f, "counters.data_cursor");
    assert_non_null(cur);
    const uint64_t wrap = UINT64_MAX - 2;
    memcpy(cur->data, &wrap, sizeof wrap);
    const pol_tensor **ts = calloc(f.n, sizeof *ts);
    assert_non_null(ts);
    for (size_t i = 0; i < f.n; i++)
        ts[i] = &f.tensors[i];
    pol_digest forged;
    char fhex[65];
    assert_int_equal(pol_state_hash(ts, f.n, &forged), POL_OK);
    pol_digest_to_hex(&forged, fhex);
    const char **kv = calloc(2 * f.n_meta, sizeof *kv);
    assert_non_null(kv);
    for (size_t i = 0; i < 2 * f.n_meta; i++)
        kv[i] = f.meta[i];
    for (size_t i = 0; i < f.n_meta; i++)
        if (!strcmp(kv[2 * i], "state_hash"))
            kv[2 * i + 1] = fhex;
    assert_int_equal(pol_st_save(bad, ts, f.n, kv, f.n_meta, 1), POL_OK);
    assert_int_equal(pol_trainer_load(tr, bad, &forged), POL_ERR_FORMAT);
    assert_non_null(strstr(pol_last_error(), "out of range for this task"));
    free(kv), free(ts);
    pol_st_free(&f);
    /* a checkpoint of another task */
    pol_task other = task;
    other.id.b[0] ^= 1;
    pol_trainer *tr2;
    assert_int_equal(pol_trainer_create(&tr2, ctx, &other, &ds), POL_OK);
    assert_int_equal(pol_trainer_load(tr2, ck, NULL), POL_ERR_MISMATCH);
    /* ... unless the state is named by its hash [C-LOAD-1] 5 */
    pol_digest ck_hash;
    assert_int_equal(pol_trainer_state_hash(tr, &ck_hash), POL_OK);
    assert_int_equal(pol_trainer_load(tr2, ck, &ck_hash), POL_OK);
    assert_int_equal(pol_trainer_steps_done(tr2), 4);
    pol_trainer_destroy(tr2);
    pol_trainer_destroy(tr);
    pol_ctx_destroy(ctx);
    pol_dataset_free(&ds);
    free(img), free(a);
}

static void write_task(const char *path, const char *fmt, const char *sha)
{
    char buf[4096];
    int n = snprintf(buf, sizeof buf, fmt, sha);
    spit(path, buf, (size_t)n);
}

static const char TASK_FMT[] =
    "{\"format\":\"libpol-task-v1\",\"model\":{\"type\":\"mlp\",\"layers\":[6,4,3],"
    "\"activation\":\"relu\"},\"dataset\":{\"path\":\"tiny.safetensors\",\"sha256\":\"%s\"},"
    "\"seed\":1,\"steps\":4,\"batch_size\":8,\"checkpoint_every\":2,"
    "\"optimizer\":{\"type\":\"sgd\",\"lr\":0.1},\"mode\":\"exact\"}";

/* [A-FP-5]: a run whose loss turns NaN stops with POL_ERR_DIVERGED before
 * checkpointing that step; the trace keeps only valid checkpoints. The
 * dataset's training features are all NaN, so the first step's loss is. */
static void test_diverged(void **st)
{
    (void)st;
    char *a = mkdir_tmp(), task[1100], ds[1100], out[1100];
    char *img = slurp(VEC "tiny.safetensors");
    struct stat sb;
    stat(VEC "tiny.safetensors", &sb);
    uint64_t hn;
    memcpy(&hn, img, 8);
    /* train_x: F32 (96, 6) at data offsets [672, 2976) of this file */
    const uint32_t qnan = 0x7FC00000u;
    for (size_t off = 8 + hn + 672; off < 8 + hn + 2976; off += 4)
        memcpy(img + off, &qnan, 4);
    cat_path(ds, sizeof ds, a, "tiny.safetensors");
    spit(ds, img, (size_t)sb.st_size);
    pol_digest d;
    char hex[65];
    assert_int_equal(pol_sha256(img, (size_t)sb.st_size, &d), POL_OK);
    pol_digest_to_hex(&d, hex);
    cat_path(task, sizeof task, a, "task.json");
    /* GELU, not ReLU: relu(NaN) is +0 (spec/arithmetic.md), which would hide the NaN */
    write_task(task,
               "{\"format\":\"libpol-task-v1\",\"model\":{\"type\":\"mlp\",\"layers\":[6,4,3],"
               "\"activation\":\"gelu\"},\"dataset\":{\"path\":\"tiny.safetensors\",\"sha256\":\"%s\"},"
               "\"seed\":1,\"steps\":4,\"batch_size\":8,\"checkpoint_every\":2,"
               "\"optimizer\":{\"type\":\"sgd\",\"lr\":0.1},\"mode\":\"exact\"}",
               hex);
    cat_path(out, sizeof out, a, "out");
    pol_run_result res;
    run(task, out, 1, POL_KERNELS_FAST, 0, NULL, POL_ERR_DIVERGED, &res);
    assert_true(isnan(res.final_loss));
    pol_trace tr;
    assert_int_equal(pol_trace_load(out, &tr), POL_OK);
    assert_int_equal(tr.n, 1); /* the initial state only */
    assert_int_equal(tr.e[0].step, 0);
    pol_trace_free(&tr);
    free(img);
    free(a);
}

static void test_bad_dataset_and_dirs(void **st)
{
    (void)st;
    char *a = mkdir_tmp(), task[1100], ds[1100], out[1100], file[1100];
    /* the dataset next to a temporary task file */
    char *img = slurp(VEC "tiny.safetensors");
    struct stat sb;
    stat(VEC "tiny.safetensors", &sb);
    cat_path(ds, sizeof ds, a, "tiny.safetensors");
    spit(ds, img, (size_t)sb.st_size);
    pol_digest d;
    char hex[65];
    assert_int_equal(pol_sha256(img, (size_t)sb.st_size, &d), POL_OK);
    cat_path(task, sizeof task, a, "task.json");
    /* wrong dataset hash */
    write_task(task, TASK_FMT, "00000000000000000000000000000000000000000000000000000000000000ff");
    cat_path(out, sizeof out, a, "out1");
    run(task, out, 1, POL_KERNELS_FAST, 0, NULL, POL_ERR_HASH_MISMATCH, NULL);
    /* a dataset file changed after the task was written */
    pol_digest_to_hex(&d, hex);
    write_task(task, TASK_FMT, hex);
    img[sb.st_size - 1] ^= 1;
    spit(ds, img, (size_t)sb.st_size);
    run(task, out, 1, POL_KERNELS_FAST, 0, NULL, POL_ERR_HASH_MISMATCH, NULL);
    img[sb.st_size - 1] ^= 1;
    spit(ds, img, (size_t)sb.st_size);
    /* an output directory that cannot be created: its parent is a file */
    cat_path(file, sizeof file, a, "plainfile");
    spit(file, "x", 1);
    cat_path(out, sizeof out, file, "sub");
    run(task, out, 1, POL_KERNELS_FAST, 0, NULL, POL_ERR_IO, NULL);
    /* a finished run is not overwritten by a second run without --resume */
    cat_path(out, sizeof out, a, "out2");
    run(task, out, 1, POL_KERNELS_FAST, 0, NULL, POL_OK, NULL);
    pol_digest before, after;
    dir_digest(out, &before);
    run(task, out, 1, POL_KERNELS_FAST, 0, NULL, POL_ERR_EXISTS, NULL);
    /* --resume of a finished run does nothing and succeeds */
    run(task, out, 1, POL_KERNELS_FAST, 1, NULL, POL_OK, NULL);
    dir_digest(out, &after);
    assert_memory_equal(before.b, after.b, 32);
    /* a resume whose checkpoint does not match the trace */
    char tp[1200];
    cat_path(tp, sizeof tp, out, "trace.json");
    char *tr = slurp(tp);
    json_t *root = json_loads(tr, 0, NULL);
    json_t *arr = json_object_get(root, "checkpoints");
    json_t *first = json_array_get(arr, 0), *lastc = json_array_get(arr, json_array_size(arr) - 1);
    json_object_set(lastc, "state_hash", json_object_get(first, "state_hash"));
    char *forged = json_dumps(root, JSON_INDENT(1));
    spit(tp, forged, strlen(forged));
    dir_digest(out, &before);
    run(task, out, 1, POL_KERNELS_FAST, 1, NULL, POL_ERR_MISMATCH, NULL);
    dir_digest(out, &after);
    assert_memory_equal(before.b, after.b, 32);
    free(forged), free(tr);
    json_decref(root);
    free(img), free(a);
}

/* ------------------------------------------------------- deep models -- */

#define TINY_SHA "7e04c78ec915dbc4db2e0f46adfaef293338b5f70a2aa5f6a9a90024ba3f0595"

/* Writes dir/task.json: the tiny dataset (by absolute path), model.layers =
 * [6, 2, ..., 2, 3] (n_layers linear layers, GELU), AdamW, `steps` steps,
 * k = 2. Out: path. */
static void deep_task(const char *dir, int n_layers, int steps, char *path, size_t cap)
{
    char ds[4096];
    assert_non_null(realpath(VEC "tiny.safetensors", ds));
    size_t len = 64 * 1024, at = 0;
    char *buf = malloc(len);
    at += (size_t)snprintf(buf + at, len - at, "{\"format\":\"libpol-task-v1\",\"model\":"
                           "{\"type\":\"mlp\",\"layers\":[6");
    for (int i = 1; i < n_layers; i++)
        at += (size_t)snprintf(buf + at, len - at, ",2");
    at += (size_t)snprintf(buf + at, len - at,
                           ",3],\"activation\":\"gelu\"},\"dataset\":{\"path\":\"%s\","
                           "\"sha256\":\"" TINY_SHA "\"},"
                           "\"seed\":3,\"steps\":%d,\"batch_size\":16,\"checkpoint_every\":2,"
                           "\"optimizer\":{\"type\":\"adamw\",\"lr\":0.01,\"weight_decay\":0.05},"
                           "\"mode\":\"exact\"}", ds, steps);
    assert_true(at < len);
    cat_path(path, cap, dir, "task.json");
    spit(path, buf, at);
    free(buf);
}

/* T-MODEL-1 up to 1024 layers: a 300-layer model trains with checkpoints,
 * the same on 1 and 2 threads and on both exact kernels; a 1024-layer
 * model's state (POL_TRAINER_MAX_STATE tensors, 6147) is saved and loaded;
 * 1025 layers are refused by the model builder too. */
static void test_deep_models(void **st)
{
    (void)st;
    char *a = mkdir_tmp(), task[1100], out[1100], out2[1100], p[1200];
    /* 300 layers: a whole run through pol_run_train */
    deep_task(a, 300, 4, task, sizeof task);
    cat_path(out, sizeof out, a, "run1");
    cat_path(out2, sizeof out2, a, "run2");
    pol_run_result r1, r2;
    run(task, out, 1, POL_KERNELS_FAST, 0, NULL, POL_OK, &r1);
    run(task, out2, 2, POL_KERNELS_REF, 0, NULL, POL_OK, &r2);
    assert_int_equal(r1.checkpoints, 3);
    assert_true(isfinite(r1.final_loss));
    assert_memory_equal(r1.final_state_hash.b, r2.final_state_hash.b, 32);
    pol_trace t1, t2;
    assert_int_equal(pol_trace_load(out, &t1), POL_OK);
    assert_int_equal(pol_trace_load(out2, &t2), POL_OK);
    assert_int_equal(t1.n, 3);
    for (size_t i = 0; i < t1.n; i++)
        assert_memory_equal(t1.e[i].hash.b, t2.e[i].hash.b, 32);
    assert_true(t1.e[2].has_norm && t1.e[2].update_norm > 0.0);
    pol_task tk;
    pol_dataset ds;
    pol_ctx *ctx;
    pol_trainer *tr, *tr2;
    assert_int_equal(pol_task_load(task, &tk), POL_OK);
    assert_int_equal(tk.n_layers, 300);
    assert_int_equal(pol_dataset_load(tk.dataset_path, &tk.dataset_sha256, 6, 3, &ds), POL_OK);
    assert_int_equal(pol_ctx_create(&ctx, NULL), POL_OK);
    assert_int_equal(pol_trainer_create(&tr, ctx, &tk, &ds), POL_OK);
    const pol_model *m = pol_trainer_model(tr);
    /* AdamW: 12 nodes per layer, less the last layer's activation */
    assert_int_equal(pol_graph_n_nodes(m->graph), 12 * 300 - 1);
    assert_int_equal(m->n_params, 600);
    assert_int_equal(m->n_state, 1800);
    cat_path(p, sizeof p, out, t1.e[1].file);
    assert_int_equal(pol_trainer_load(tr, p, &t1.e[1].hash), POL_OK);
    assert_int_equal(pol_trainer_step(tr, NULL), POL_OK);
    assert_int_equal(pol_trainer_step(tr, NULL), POL_OK);
    pol_digest h;
    assert_int_equal(pol_trainer_state_hash(tr, &h), POL_OK);
    assert_memory_equal(h.b, t1.e[2].hash.b, 32); /* resumed bit for bit */
    pol_trainer_destroy(tr);
    pol_trace_free(&t1), pol_trace_free(&t2);

    /* 1024 layers, the most: one step, a checkpoint of 6147 tensors, reloaded */
    deep_task(a, POL_MLP_MAX_LAYERS, 2, task, sizeof task);
    assert_int_equal(pol_task_load(task, &tk), POL_OK);
    assert_int_equal(tk.n_layers, 1024);
    assert_int_equal(pol_trainer_create(&tr, ctx, &tk, &ds), POL_OK);
    assert_int_equal(pol_trainer_create(&tr2, ctx, &tk, &ds), POL_OK);
    assert_int_equal(pol_graph_n_nodes(pol_trainer_model(tr)->graph), 12 * 1024 - 1);
    const pol_tensor **ts = malloc(POL_TRAINER_MAX_STATE * sizeof *ts);
    int n = 0;
    assert_int_equal(pol_trainer_state(tr, ts, POL_TRAINER_MAX_STATE - 1, &n), POL_ERR_INVALID_ARG);
    assert_int_equal(pol_trainer_state(tr, ts, POL_TRAINER_MAX_STATE, &n), POL_OK);
    assert_int_equal(n, POL_TRAINER_MAX_STATE);
    free(ts);
    float loss;
    assert_int_equal(pol_trainer_step(tr, &loss), POL_OK);
    assert_true(isfinite(loss));
    cat_path(p, sizeof p, a, "deep.safetensors");
    pol_digest saved, loaded;
    assert_int_equal(pol_trainer_save(tr, p, 0, &saved), POL_OK);
    assert_int_equal(pol_trainer_load(tr2, p, &saved), POL_OK);
    assert_int_equal(pol_trainer_steps_done(tr2), 1);
    assert_int_equal(pol_trainer_state_hash(tr2, &loaded), POL_OK);
    assert_memory_equal(saved.b, loaded.b, 32);
    pol_trainer_destroy(tr), pol_trainer_destroy(tr2);

    /* 1025 layers: the parser refuses the file (test_task.c), the builder the struct */
    pol_model bad;
    tk.n_layers = POL_MLP_MAX_LAYERS + 1;
    assert_int_equal(pol_model_build(&tk, &bad), POL_ERR_INVALID_ARG);
    assert_non_null(strstr(pol_last_error(), "1025 layers (1..1024)"));
    assert_null(bad.graph);
    pol_ctx_destroy(ctx);
    pol_dataset_free(&ds);
    free(a);
}

int main(void)
{
    tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_to_run_threads_kernels),
        cmocka_unit_test(test_background_writer_same_files),
        cmocka_unit_test(test_background_writer_failure),
        cmocka_unit_test(test_resume_from_every_checkpoint),
        cmocka_unit_test(test_resume_after_interruption),
        cmocka_unit_test(test_resume_guards),
        cmocka_unit_test(test_update_norms),
        cmocka_unit_test(test_golden_traces),
        cmocka_unit_test(test_bad_checkpoints),
        cmocka_unit_test(test_bad_dataset_and_dirs),
        cmocka_unit_test(test_diverged),
        cmocka_unit_test(test_deep_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
