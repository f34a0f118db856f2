/* Out of memory: every allocation libpol's main operations make, failed in
 * turn.
 *
 * The suite defines malloc, calloc, realloc, free, aligned_alloc and
 * posix_memalign itself. Its libpol is linked in statically and the
 * executable's definitions come first for the shared libraries too, so
 * libpol, OpenSSL, libsecp256k1, protobuf-c, SQLite and the C library's own
 * strdup or scandir all allocate through them; each passes the call on to the
 * allocator that follows in the lookup order (dlsym RTLD_NEXT: the C
 * library's, or a sanitizer's, so that under ASan the suite also finds the
 * leaks, double frees and uses after free of the failure paths) unless a
 * fault is armed. A fault acts on the nth allocation counted from the moment
 * it is armed:
 *   ONCE    that allocation alone fails (memory was short for a moment);
 *   STICKY  that allocation and every later one fail (memory stays short).
 * Each case runs its operation once undisturbed, counting N allocations, then
 * again with the fault on allocation 1, 2, ..., N (STRIDE below says which
 * are skipped in the slower modes and builds).
 *
 * What is checked: no crash; an operation either succeeds with exactly the
 * undisturbed result, or returns POL_ERR_NOMEM with a message; in particular
 * no verifier reports a mismatch, a bad signature or malformed input because
 * memory ran out, as that would accuse an honest party; nothing already
 * written is lost, and an interrupted training run resumes to the very files
 * of an undisturbed one. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "pol/cert.h"
#include "pol/fileio.h"
#include "pol/keys.h"
#include "pol/ledger.h"
#include "pol/pinpoint.h"
#include "pol/train.h"
#include "pol/verify.h"
#include "testutil.h"

/* ------------------------------------------------------- interposers -- */

enum { OFF, ONCE, STICKY };

static int MODE;    /* the armed fault; OFF when none */
static long NTH;    /* the allocation it acts on, counted from 1 */
static long CALLS;  /* allocations since the last arm() */
static long FAILED; /* allocations failed since the last arm() */

/* The interposers run before a sanitizer's runtime is ready (it resolves
 * its own functions with dlsym, which allocates): they are not instrumented. */
#define RAW __attribute__((no_sanitize("address", "thread", "undefined")))

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static void *(*real_aligned_alloc)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);

/* dlsym may allocate while it resolves the allocator itself: those few
 * early blocks come from here and are never freed. */
static _Alignas(max_align_t) char BOOT[1 << 14];
static size_t BOOT_USED;
static int RESOLVING;

RAW static void *boot_alloc(size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (n > sizeof BOOT - BOOT_USED)
        abort();
    void *p = BOOT + BOOT_USED;
    BOOT_USED += n;
    return p; /* static storage: already zero */
}

RAW static int in_boot(const void *p)
{
    return (const char *)p >= BOOT && (const char *)p < BOOT + sizeof BOOT;
}

RAW static void resolve(void)
{
    if (real_posix_memalign)
        return;
    RESOLVING = 1;
#define RESOLVE(var, name) var = (__typeof__(var))dlsym(RTLD_NEXT, name)
    RESOLVE(real_malloc, "malloc");
    RESOLVE(real_calloc, "calloc");
    RESOLVE(real_realloc, "realloc");
    RESOLVE(real_free, "free");
    RESOLVE(real_aligned_alloc, "aligned_alloc");
    RESOLVE(real_posix_memalign, "posix_memalign");
#undef RESOLVE
    RESOLVING = 0;
    if (!real_malloc || !real_calloc || !real_realloc || !real_free || !real_aligned_alloc ||
        !real_posix_memalign)
        abort();
}

/* Counts an allocation; nonzero when the armed fault fails it. Threads (the
 * pool, the background checkpoint writer) allocate too, hence the atomics. */
/* jansson's own allocations are never failed: its parser does not survive
 * one (it asserts, or reads past its buffer: jansson issue #362, open as of
 * 2.14), which no caller can help. (Where jansson does report running out
 * of memory, json_error_out_of_memory, libpol says POL_ERR_NOMEM; that path
 * is not reached here.) */
RAW static int in_jansson(void *caller)
{
    Dl_info di;
    return dladdr(caller, &di) && di.dli_fname && strstr(di.dli_fname, "libjansson");
}

#define fails() fails_(__builtin_return_address(0))
RAW static int fails_(void *caller)
{
    int mode = __atomic_load_n(&MODE, __ATOMIC_SEQ_CST);
    if (mode == OFF || in_jansson(caller))
        return 0;
    long n = __atomic_add_fetch(&CALLS, 1, __ATOMIC_SEQ_CST);
    if (n < NTH || (mode == ONCE && n != NTH))
        return 0;
    __atomic_add_fetch(&FAILED, 1, __ATOMIC_SEQ_CST);
    return 1;
}

RAW void *malloc(size_t n)
{
    if (!real_malloc) {
        if (RESOLVING)
            return boot_alloc(n);
        resolve();
    }
    if (fails()) {
        errno = ENOMEM;
        return NULL;
    }
    return real_malloc(n);
}

RAW void *calloc(size_t n, size_t size)
{
    if (!real_calloc) {
        if (RESOLVING)
            return size && n > SIZE_MAX / size ? NULL : boot_alloc(n * size);
        resolve();
    }
    if (fails()) {
        errno = ENOMEM;
        return NULL;
    }
    return real_calloc(n, size);
}

RAW void *realloc(void *p, size_t n)
{
    if (!real_realloc)
        resolve();
    if (in_boot(p)) { /* never during the suite's own work; kept simple */
        void *q = malloc(n);
        if (q)
            memcpy(q, p, n < (size_t)(BOOT + sizeof BOOT - (char *)p) ? n : 0);
        return q;
    }
    if (fails()) {
        errno = ENOMEM;
        return NULL;
    }
    return real_realloc(p, n);
}

RAW void free(void *p)
{
    if (!p || in_boot(p))
        return;
    if (!real_free)
        resolve();
    real_free(p);
}

RAW void *aligned_alloc(size_t align, size_t n)
{
    resolve();
    if (fails()) {
        errno = ENOMEM;
        return NULL;
    }
    return real_aligned_alloc(align, n);
}

RAW int posix_memalign(void **p, size_t align, size_t n)
{
    resolve();
    if (fails())
        return ENOMEM;
    return real_posix_memalign(p, align, n);
}

static void arm(int mode, long nth)
{
    __atomic_store_n(&MODE, OFF, __ATOMIC_SEQ_CST);
    __atomic_store_n(&CALLS, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&FAILED, 0, __ATOMIC_SEQ_CST);
    NTH = nth;
    __atomic_store_n(&MODE, mode, __ATOMIC_SEQ_CST);
}

/* Counting without failing: an armed fault that never acts. */
static void count(void) { arm(ONCE, 0); }

static void disarm(void) { __atomic_store_n(&MODE, OFF, __ATOMIC_SEQ_CST); }

/* -------------------------------------------------------------- sweep -- */

static const char TASK[] = "spec/vectors/tiny/adamw-gelu.json"; /* 14 steps, k = 4 */
static const char *const MODE_NAME[] = { "", "once", "from then on" };

/* Allocations swept: every one failing once, every 5th failing for good
 * (after the first failure, most later ones are never reached). Under the
 * sanitizers, which run the suite many times slower, every 11th and 29th. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
static const long STRIDE[] = { 1, 11, 29 };
#else
static const long STRIDE[] = { 1, 1, 5 };
#endif

/* A failure under a fault: POL_ERR_NOMEM with a message. Any other status
 * would send the caller after the wrong cause (a damaged file, a cheating
 * party), and a verdict is never a status. */
static void expect_nomem(const char *what, int mode, long nth, pol_status s)
{
    if (s != POL_ERR_NOMEM || !pol_last_error()[0])
        fail_msg("%s, allocation %ld failing %s: status %d (%s: %s), want POL_ERR_NOMEM", what,
                 nth, MODE_NAME[mode], s, pol_strerror(s), pol_last_error());
}

typedef struct {
    long runs, ok, nomem;
} tally;

static void report(const char *what, long n, const tally *t)
{
    printf("  %-34s %5ld allocations; %5ld faulty runs: %5ld succeeded, %5ld POL_ERR_NOMEM\n",
           what, n, t->runs, t->ok, t->nomem);
}

/* ------------------------------------------------------ training runs -- */

static pol_status train(const char *dir, int resume, int sync, pol_digest *final)
{
    pol_ctx *ctx;
    pol_ctx_opts o = { .threads = 1, .kernels = POL_KERNELS_FAST };
    pol_status s = pol_ctx_create(&ctx, &o);
    if (s)
        return s;
    pol_run_opts ro = { 0 };
    ro.task_path = TASK, ro.out_dir = dir, ro.resume = resume, ro.sync_checkpoints = sync;
    pol_run_result r;
    s = pol_run_train(ctx, &ro, &r);
    pol_ctx_destroy(ctx);
    if (!s && final)
        *final = r.final_state_hash;
    return s;
}

/* A run (task, dataset, trainer, checkpoints, trace.json, with the
 * background writer or without) that runs out of memory at any allocation
 * fails with POL_ERR_NOMEM or ends as an undisturbed run does; resumed, the
 * failed one ends there too, with the very same files [C-RUN-2]. */
static void test_training_run(void **st)
{
    (void)st;
    char dir[600];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    pol_digest want, got;
    assert_int_equal(train(dir, 0, 1, &want), POL_OK); /* OpenSSL's and SQLite's first use */
    size_t ref_len;
    char *ref = tu_dir_snapshot(dir, &ref_len);
    tu_dir_remove(dir);
    for (int sync = 1; sync >= 0; sync--) {
        snprintf(dir, sizeof dir, "%s", tu_tmpdir());
        count();
        assert_int_equal(train(dir, 0, sync, &got), POL_OK);
        disarm();
        const long n = CALLS;
        tu_dir_remove(dir);
        for (int mode = ONCE; mode <= STICKY; mode++) {
            tally t = { 0 };
            for (long nth = 1; nth <= n; nth += STRIDE[mode]) {
                snprintf(dir, sizeof dir, "%s", tu_tmpdir());
                arm(mode, nth);
                pol_status s = train(dir, 0, sync, &got);
                disarm();
                t.runs++;
                if (s == POL_OK) {
                    t.ok++;
                } else {
                    t.nomem++;
                    expect_nomem(sync ? "a run" : "a run with the background writer", mode,
                                 nth, s);
                    char tp[700];
                    snprintf(tp, sizeof tp, "%s/trace.json", dir);
                    s = train(dir, access(tp, F_OK) == 0, sync, &got);
                    if (s)
                        fail_msg("allocation %ld failing %s: the resumed run failed: %d (%s)",
                                 nth, MODE_NAME[mode], s, pol_last_error());
                }
                assert_memory_equal(got.b, want.b, sizeof want.b);
                size_t len;
                char *files = tu_dir_snapshot(dir, &len);
                if (len != ref_len || memcmp(files, ref, len))
                    fail_msg("allocation %ld failing %s (%s): the run directory differs from an "
                             "undisturbed run's", nth, MODE_NAME[mode],
                             sync ? "sync" : "background writer");
                free(files);
                tu_dir_remove(dir);
            }
            char what[64];
            snprintf(what, sizeof what, "run, %s, failing %s", sync ? "sync" : "background",
                     MODE_NAME[mode]);
            report(what, n, &t);
        }
    }
    free(ref);
}

/* ------------------------------------------------------- certificates -- */

static char RUN[600], STORE[700], CERT[700];
static pol_keypair KP;

static int setup_cert(void **st)
{
    (void)st;
    snprintf(RUN, sizeof RUN, "%s", tu_tmpdir());
    snprintf(STORE, sizeof STORE, "%s/store", RUN);
    snprintf(CERT, sizeof CERT, "%s.cert", RUN);
    if (train(RUN, 0, 1, NULL) || pol_keypair_generate(&KP) ||
        pol_cert_issue(RUN, TASK, &KP, "cpu", NULL, CERT, NULL) ||
        pol_store_put_run(RUN, STORE))
        return -1;
    return 0;
}

static int teardown_cert(void **st)
{
    (void)st;
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", RUN, CERT);
    pol_keypair_clear(&KP);
    return tu_system(cmd);
}

static int cert_equal(const pol_cert *a, const pol_cert *b)
{
    return !memcmp(&a->task_id, &b->task_id, sizeof a->task_id) &&
           !memcmp(a->solver_key, b->solver_key, 32) && a->mode == b->mode &&
           !strcmp(a->device, b->device) && a->n_checkpoints == b->n_checkpoints &&
           !memcmp(a->ckpt_steps, b->ckpt_steps, a->n_checkpoints * sizeof *a->ckpt_steps) &&
           !memcmp(a->ckpt_hashes, b->ckpt_hashes, a->n_checkpoints * sizeof *a->ckpt_hashes) &&
           !memcmp(&a->final_state_hash, &b->final_state_hash, sizeof a->final_state_hash);
}

/* Issuing: out of memory anywhere, no certificate file is left; otherwise
 * the file loads as the one issued undisturbed. Loading: the signature and
 * the decoding never fail for want of memory (no POL_ERR_SIGNATURE, no
 * POL_ERR_FORMAT). */
static void test_cert_issue_load(void **st)
{
    (void)st;
    pol_cert want;
    pol_digest id;
    assert_int_equal(pol_cert_load(CERT, &want, &id), POL_OK);
    char out[800];
    snprintf(out, sizeof out, "%s/issued.cert", RUN);
    count();
    assert_int_equal(pol_cert_issue(RUN, TASK, &KP, "cpu", NULL, out, NULL), POL_OK);
    disarm();
    const long n_issue = CALLS;
    assert_int_equal(unlink(out), 0);
    pol_cert c;
    count();
    assert_int_equal(pol_cert_load(CERT, &c, NULL), POL_OK);
    disarm();
    const long n_load = CALLS;
    pol_cert_free(&c);
    for (int mode = ONCE; mode <= STICKY; mode++) {
        tally ti = { 0 }, tl = { 0 };
        for (long nth = 1; nth <= n_issue; nth += STRIDE[mode]) {
            arm(mode, nth);
            pol_status s = pol_cert_issue(RUN, TASK, &KP, "cpu", NULL, out, NULL);
            disarm();
            ti.runs++;
            if (s) {
                ti.nomem++;
                expect_nomem("issuing a certificate", mode, nth, s);
                if (access(out, F_OK) == 0)
                    fail_msg("issuing, allocation %ld failing %s: %s was left behind (%s)", nth,
                             MODE_NAME[mode], out, pol_last_error());
                continue;
            }
            ti.ok++;
            assert_int_equal(pol_cert_load(out, &c, NULL), POL_OK);
            assert_true(cert_equal(&c, &want));
            pol_cert_free(&c);
            assert_int_equal(unlink(out), 0);
        }
        for (long nth = 1; nth <= n_load; nth += STRIDE[mode]) {
            pol_digest got_id;
            arm(mode, nth);
            pol_status s = pol_cert_load(CERT, &c, &got_id);
            disarm();
            tl.runs++;
            if (s) {
                tl.nomem++;
                expect_nomem("loading a certificate", mode, nth, s);
                continue;
            }
            tl.ok++;
            assert_true(cert_equal(&c, &want));
            assert_memory_equal(got_id.b, id.b, sizeof id.b);
            pol_cert_free(&c);
        }
        char what[64];
        snprintf(what, sizeof what, "issuing a certificate, failing %s", MODE_NAME[mode]);
        report(what, n_issue, &ti);
        snprintf(what, sizeof what, "loading a certificate, failing %s", MODE_NAME[mode]);
        report(what, n_load, &tl);
    }
    pol_cert_free(&want);
}

/* Verifying: a verifier out of memory says so; it never accepts a false
 * certificate nor rejects a true one. The false one claims another final
 * state, consistently (its Merkle root recomputed), as a cheater would. */
static void test_verify(void **st)
{
    (void)st;
    pol_ctx *ctx;
    pol_ctx_opts co = { .threads = 1, .kernels = POL_KERNELS_FAST };
    assert_int_equal(pol_ctx_create(&ctx, &co), POL_OK);
    pol_cert honest, forged;
    pol_digest id;
    assert_int_equal(pol_cert_load(CERT, &honest, &id), POL_OK);
    assert_int_equal(pol_cert_load(CERT, &forged, NULL), POL_OK);
    const size_t last = forged.n_checkpoints - 1;
    forged.ckpt_hashes[last].b[0] ^= 1;
    forged.final_state_hash = forged.ckpt_hashes[last];
    assert_int_equal(pol_merkle_root(forged.ckpt_hashes, forged.n_checkpoints,
                                     &forged.ckpt_root), POL_OK);
    pol_verify_opts o = { 0 };
    o.task_path = TASK, o.store_dir = STORE, o.cert_id = id, o.samples = 1000;
    const pol_cert *certs[2] = { &honest, &forged };
    for (int k = 0; k < 2; k++) {
        pol_verify_result want, got;
        count();
        assert_int_equal(pol_verify(ctx, certs[k], &o, &want), POL_OK);
        disarm();
        const long n = CALLS;
        assert_int_equal(want.accept, k == 0);
        for (int mode = ONCE; mode <= STICKY; mode++) {
            tally t = { 0 };
            for (long nth = 1; nth <= n; nth += STRIDE[mode]) {
                arm(mode, nth);
                pol_status s = pol_verify(ctx, certs[k], &o, &got);
                disarm();
                t.runs++;
                if (s) {
                    t.nomem++;
                    expect_nomem(k ? "verifying a false certificate" : "verifying a true one",
                                 mode, nth, s);
                    continue;
                }
                t.ok++;
                if (got.accept != want.accept || got.failed_interval != want.failed_interval ||
                    got.n_picked != want.n_picked)
                    fail_msg("verifying a %s certificate, allocation %ld failing %s: accept %d "
                             "(%s), want %d", k ? "false" : "true", nth, MODE_NAME[mode],
                             got.accept, got.reason, want.accept);
            }
            char what[64];
            snprintf(what, sizeof what, "verifying, %s cert, failing %s", k ? "false" : "true",
                     MODE_NAME[mode]);
            report(what, n, &t);
        }
    }
    pol_cert_free(&honest);
    pol_cert_free(&forged);
    pol_ctx_destroy(ctx);
}

/* ----------------------------------------------------------- disputes -- */

/* A dispute between an honest solver and a challenger that tampered with
 * one node: out of memory, the referee stops with POL_ERR_NOMEM, or a
 * party that could not answer loses by no answer [P-REF-4]; no other
 * verdict than the undisturbed one. */
static void test_dispute(void **st)
{
    (void)st;
    pol_task task;
    pol_dataset ds;
    pol_ctx *ctx;
    pol_ctx_opts co = { .threads = 1, .kernels = POL_KERNELS_FAST };
    assert_int_equal(pol_task_load(TASK, &task), POL_OK);
    assert_int_equal(pol_dataset_load(task.dataset_path, &task.dataset_sha256, 6, 3, &ds), POL_OK);
    assert_int_equal(pol_ctx_create(&ctx, &co), POL_OK);
    char dir[600], sub[700];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    pol_replayer *honest, *cheat;
    snprintf(sub, sizeof sub, "%s/honest", dir);
    assert_int_equal(pol_replayer_create(&honest, ctx, &task, &ds, sub, NULL), POL_OK);
    snprintf(sub, sizeof sub, "%s/cheat", dir);
    const pol_cheat c = { POL_CHEAT_TAMPER_NODE, 6, 19 };
    assert_int_equal(pol_replayer_create(&cheat, ctx, &task, &ds, sub, &c), POL_OK);
    const pol_party ph = pol_replayer_party(honest, "honest"),
                    pc = pol_replayer_party(cheat, "tamper");
    static pol_dispute_result want, got;
    for (int k = 0; k < 2; k++) { /* the cheat as the solver, then as the challenger */
        const pol_party *solver = k ? &ph : &pc, *challenger = k ? &pc : &ph;
        count();
        assert_int_equal(pol_dispute_run(&task, &ds, solver, challenger, NULL, &want), POL_OK);
        disarm();
        const long n = CALLS;
        assert_int_equal(want.loser, k ? POL_PARTY_CHALLENGER : POL_PARTY_SOLVER);
        for (int mode = ONCE; mode <= STICKY; mode++) {
            tally t = { 0 };
            long no_answer = 0;
            for (long nth = 1; nth <= n; nth += STRIDE[mode]) {
                arm(mode, nth);
                pol_status s = pol_dispute_run(&task, &ds, solver, challenger, NULL, &got);
                disarm();
                t.runs++;
                if (s) {
                    t.nomem++;
                    expect_nomem("a dispute", mode, nth, s);
                    continue;
                }
                t.ok++;
                if (got.reason == POL_DISPUTE_NO_ANSWER && want.reason != POL_DISPUTE_NO_ANSWER) {
                    no_answer++;
                    continue;
                }
                if (got.loser != want.loser || got.reason != want.reason ||
                    got.kind != want.kind || got.step != want.step || got.node != want.node)
                    fail_msg("a dispute, allocation %ld failing %s: %s lost (%s: %s); "
                             "undisturbed, %s lost (%s)", nth, MODE_NAME[mode],
                             got.loser ? "the challenger" : "the solver",
                             pol_dispute_reason_name(got.reason), got.why,
                             want.loser ? "the challenger" : "the solver",
                             pol_dispute_reason_name(want.reason));
            }
            char what[64];
            snprintf(what, sizeof what, "dispute, cheating %s, failing %s",
                     k ? "challenger" : "solver", MODE_NAME[mode]);
            report(what, n, &t);
            printf("  %-34s of which %ld lost by a party's missing answer\n", "", no_answer);
        }
    }
    pol_replayer_destroy(cheat);
    pol_replayer_destroy(honest);
    pol_ctx_destroy(ctx);
    pol_dataset_free(&ds);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(tu_system(cmd), 0);
}

/* ------------------------------------------------------------- ledger -- */

static const uint8_t GENESIS[] = "a genesis";

/* Creating a ledger and appending an action: out of memory, POL_ERR_NOMEM
 * and nothing half done: the path holds no ledger or a complete one, and
 * the action is in the ledger exactly when the append succeeded. */
static void test_ledger(void **st)
{
    (void)st;
    static const uint8_t action[] = "an action";
    pol_digest id;
    assert_int_equal(pol_sha256(action, sizeof action, &id), POL_OK);
    const pol_ledger_row row = { "accounts", (const uint8_t *)"k", 1, "v" };
    long n = 0;
    tally t[3] = { { 0 } };
    for (int mode = OFF; mode <= STICKY; mode++) {
        for (long nth = 1; nth <= (mode == OFF ? 1 : n); nth += STRIDE[mode]) {
            char dir[600], path[700];
            snprintf(dir, sizeof dir, "%s", tu_tmpdir());
            snprintf(path, sizeof path, "%s/l.db", dir);
            if (mode == OFF)
                count();
            else
                arm(mode, nth);
            pol_ledger *l = NULL;
            uint64_t seq = 0;
            pol_status s = pol_ledger_open(path, GENESIS, sizeof GENESIS, &l);
            int appended = 0;
            if (!s) {
                s = pol_ledger_append(l, 5, action, sizeof action, &id, &row, 1, &seq);
                appended = !s;
            }
            disarm();
            if (mode == OFF) {
                assert_int_equal(s, POL_OK);
                n = CALLS;
            } else {
                t[mode].runs++;
                if (s) {
                    t[mode].nomem++;
                    expect_nomem("creating a ledger and appending", mode, nth, s);
                } else {
                    t[mode].ok++;
                }
            }
            pol_ledger_close(l);
            if (access(path, F_OK) == 0) { /* complete: it opens, with what was appended */
                uint64_t head, tm;
                assert_int_equal(pol_ledger_open(path, GENESIS, sizeof GENESIS, &l), POL_OK);
                assert_int_equal(pol_ledger_head(l, &head, &tm), POL_OK);
                assert_int_equal(head, appended ? 1 : 0);
                pol_ledger_close(l);
            }
            tu_dir_remove(dir);
        }
    }
    for (int mode = ONCE; mode <= STICKY; mode++) {
        char what[64];
        snprintf(what, sizeof what, "a new ledger and an append, failing %s", MODE_NAME[mode]);
        report(what, n, &t[mode]);
    }
}

int main(void)
{
    resolve();
    tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_training_run),
        cmocka_unit_test_setup_teardown(test_cert_issue_load, setup_cert, teardown_cert),
        cmocka_unit_test_setup_teardown(test_verify, setup_cert, teardown_cert),
        cmocka_unit_test(test_dispute),
        cmocka_unit_test(test_ledger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
