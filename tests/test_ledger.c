/* The referee's ledger: events, projections, dispute journal, blobs, file
 * identity and crash safety (spec/ledger.md). Test names cite the spec ids
 * they prove. Every test works in a fresh temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pol/fileio.h"
#include "pol/hash.h"
#include "pol/ledger.h"
#include "testutil.h"

static tu_rng R;

static int setup(void **st)
{
    (void)st;
    tu_rng_init(&R, tu_seed());
    return 0;
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)tu_next(&R);
}

/* The temporary directories made so far, removed by teardown. */
static char dirs[32][520];
static int n_dirs;

/* A path in a fresh temporary directory; static storage. */
static const char *fresh_path(const char *name)
{
    static char buf[600];
    const char *dir = tu_tmpdir();
    assert_non_null(dir);
    assert_true(n_dirs < 32);
    snprintf(dirs[n_dirs++], sizeof dirs[0], "%s", dir);
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

static int teardown(void **st)
{
    (void)st;
    for (int i = 0; i < n_dirs; i++) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dirs[i]);
        if (tu_system(cmd) != 0)
            return -1;
    }
    return 0;
}

static pol_ledger *open_new(const char *path, const uint8_t *g, size_t glen)
{
    pol_ledger *l = NULL;
    assert_int_equal(pol_ledger_open(path, g, glen, &l), POL_OK);
    assert_non_null(l);
    return l;
}

/* Appends an action of random bytes; returns its seq. */
static uint64_t append_random(pol_ledger *l, uint64_t time_ms, size_t len, pol_digest *id)
{
    uint8_t *a = malloc(len);
    assert_non_null(a);
    fill(a, len);
    assert_int_equal(pol_sha256(a, len, id), POL_OK);
    uint64_t seq = 0;
    assert_int_equal(pol_ledger_append(l, time_ms, a, len, id, NULL, 0, &seq), POL_OK);
    free(a);
    return seq;
}

/* Runs SQL on the file through a separate raw connection (a hand edit). */
static int raw_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static void read_whole(const char *path, uint8_t **buf, size_t *len)
{
    assert_int_equal(pol_read_file(path, 1u << 26, buf, len), POL_OK);
}

/* ---------------------------------------------------------------- events */

typedef struct {
    uint64_t n;
    uint64_t last_seq;
    uint64_t last_time;
    uint64_t stop_at; /* return POL_ERR_RULES at this seq; 0: never */
} walk;

static pol_status walk_fn(void *ctx, uint64_t seq, uint64_t time_ms, const uint8_t *action,
                          size_t action_len, const pol_digest *id)
{
    walk *w = ctx;
    if (w->stop_at && seq == w->stop_at)
        return POL_ERR_RULES;
    if (w->n && (seq != w->last_seq + 1 || time_ms < w->last_time))
        return POL_ERR_INTERNAL;
    pol_digest h = {{0}};
    if (action_len) {
        if (pol_sha256(action, action_len, &h))
            return POL_ERR_INTERNAL;
    } else if (action) {
        return POL_ERR_INTERNAL; /* a tick's action is NULL */
    }
    if (!pol_digest_equal(&h, id))
        return POL_ERR_HASH_MISMATCH;
    w->n++;
    w->last_seq = seq;
    w->last_time = time_ms;
    return POL_OK;
}

/* [L-EV-1] [L-EV-2] [L-EV-5] round trips, gapless seqs, ticks, iteration */
static void test_events_round_trip(void **st)
{
    (void)st;
    const char *path = fresh_path("ledger.db");
    uint8_t genesis[100];
    fill(genesis, sizeof genesis);
    pol_ledger *l = open_new(path, genesis, sizeof genesis);

    const uint8_t *g;
    size_t glen;
    pol_ledger_genesis(l, &g, &glen);
    assert_int_equal(glen, sizeof genesis);
    assert_memory_equal(g, genesis, glen);

    uint64_t head, head_time;
    assert_int_equal(pol_ledger_head(l, &head, &head_time), POL_OK);
    assert_int_equal(head, 0);
    assert_int_equal(head_time, 0);

    enum { N = 40 };
    static const size_t lens[] = {0, 1, 32, 1000, 70000};
    uint8_t *actions[N];
    size_t alen[N];
    uint64_t times[N];
    uint64_t t = tu_next(&R) % 1000000;
    for (int i = 0; i < N; i++) {
        alen[i] = lens[tu_next(&R) % 5];
        actions[i] = alen[i] ? malloc(alen[i]) : NULL;
        fill(actions[i], alen[i]);
        if (alen[i])
            actions[i][0] = (uint8_t)i; /* no two actions alike */
        t += tu_next(&R) % 3; /* equal times allowed */
        times[i] = t;
        pol_digest id = {{0}};
        if (alen[i])
            assert_int_equal(pol_sha256(actions[i], alen[i], &id), POL_OK);
        uint64_t seq = 0;
        /* a tick may pass NULL or a zero id */
        const pol_digest *idp = alen[i] || (i & 1) ? &id : NULL;
        assert_int_equal(pol_ledger_append(l, times[i], actions[i], alen[i], idp, NULL, 0, &seq),
                         POL_OK);
        assert_int_equal(seq, (uint64_t)i + 1);
    }
    assert_int_equal(pol_ledger_head(l, &head, &head_time), POL_OK);
    assert_int_equal(head, N);
    assert_int_equal(head_time, times[N - 1]);

    /* read back after a reopen without genesis */
    pol_ledger_close(l);
    l = open_new(path, NULL, 0);
    pol_ledger_genesis(l, &g, &glen);
    assert_int_equal(glen, sizeof genesis);
    assert_memory_equal(g, genesis, glen);
    for (int i = 0; i < N; i++) {
        uint64_t tm;
        uint8_t *a;
        size_t len;
        pol_digest id, want = {{0}};
        assert_int_equal(pol_ledger_event(l, (uint64_t)i + 1, &tm, &a, &len, &id), POL_OK);
        assert_int_equal(tm, times[i]);
        assert_int_equal(len, alen[i]);
        if (alen[i]) {
            assert_memory_equal(a, actions[i], len);
            assert_int_equal(pol_sha256(actions[i], alen[i], &want), POL_OK);
            uint64_t found;
            assert_int_equal(pol_ledger_find(l, &want, &found), POL_OK);
            assert_int_equal(found, (uint64_t)i + 1);
        } else {
            assert_null(a);
        }
        assert_memory_equal(id.b, want.b, 32);
        free(a);
    }
    uint64_t tm;
    uint8_t *a = (uint8_t *)1;
    size_t len = 1;
    pol_digest id;
    assert_int_equal(pol_ledger_event(l, N + 1, &tm, &a, &len, &id), POL_ERR_NOT_FOUND);
    assert_null(a);
    assert_int_equal(len, 0);
    assert_int_equal(pol_ledger_event(l, 0, &tm, &a, &len, &id), POL_ERR_NOT_FOUND);
    pol_digest nobody;
    fill(nobody.b, 32);
    uint64_t found = 7;
    assert_int_equal(pol_ledger_find(l, &nobody, &found), POL_ERR_NOT_FOUND);
    assert_int_equal(found, 0);

    /* iteration: all, a window, a stop */
    walk w = {0};
    uint64_t n;
    assert_int_equal(pol_ledger_events(l, 0, 0, walk_fn, &w, &n), POL_OK);
    assert_int_equal(n, N);
    assert_int_equal(w.n, N);
    memset(&w, 0, sizeof w);
    assert_int_equal(pol_ledger_events(l, 11, 5, walk_fn, &w, &n), POL_OK);
    assert_int_equal(n, 5);
    assert_int_equal(w.last_seq, 15);
    memset(&w, 0, sizeof w);
    w.stop_at = 20;
    assert_int_equal(pol_ledger_events(l, 1, 0, walk_fn, &w, &n), POL_ERR_RULES);
    assert_int_equal(n, 19);
    memset(&w, 0, sizeof w);
    assert_int_equal(pol_ledger_events(l, N + 1, 0, walk_fn, &w, &n), POL_OK);
    assert_int_equal(n, 0);

    pol_ledger_close(l);
    for (int i = 0; i < N; i++)
        free(actions[i]);
}

/* [L-EV-3] time never goes backwards; a refused append writes nothing */
static void test_time_monotonic(void **st)
{
    (void)st;
    pol_ledger *l = open_new(fresh_path("ledger.db"), (const uint8_t *)"g", 1);
    pol_digest id;
    assert_int_equal(append_random(l, 1000, 10, &id), 1);
    uint64_t seq = 9;
    assert_int_equal(pol_ledger_append(l, 999, NULL, 0, NULL, NULL, 0, &seq),
                     POL_ERR_INVALID_ARG);
    assert_int_equal(seq, 0);
    uint8_t a[5] = {1, 2, 3, 4, 5};
    pol_digest ida;
    assert_int_equal(pol_sha256(a, 5, &ida), POL_OK);
    assert_int_equal(pol_ledger_append(l, 0, a, 5, &ida, NULL, 0, &seq), POL_ERR_INVALID_ARG);
    assert_int_equal(pol_ledger_append(l, (uint64_t)INT64_MAX + 1, NULL, 0, NULL, NULL, 0, &seq),
                     POL_ERR_INVALID_ARG);
    uint64_t head, t;
    assert_int_equal(pol_ledger_head(l, &head, &t), POL_OK);
    assert_int_equal(head, 1);
    assert_int_equal(t, 1000);
    /* equal time is fine; the refused action is not "present" */
    assert_int_equal(pol_ledger_find(l, &ida, &seq), POL_ERR_NOT_FOUND);
    assert_int_equal(pol_ledger_append(l, 1000, a, 5, &ida, NULL, 0, &seq), POL_OK);
    assert_int_equal(seq, 2);
    assert_int_equal(pol_ledger_append(l, (uint64_t)INT64_MAX, NULL, 0, NULL, NULL, 0, &seq),
                     POL_OK);
    assert_int_equal(seq, 3);
    pol_ledger_close(l);
}

/* [L-EV-4] exactly once: a retried action gets its first seq back */
static void test_duplicate_id(void **st)
{
    (void)st;
    pol_ledger *l = open_new(fresh_path("ledger.db"), (const uint8_t *)"g", 1);
    uint8_t a[64];
    fill(a, sizeof a);
    pol_digest id;
    assert_int_equal(pol_sha256(a, sizeof a, &id), POL_OK);
    uint64_t seq;
    assert_int_equal(pol_ledger_append(l, 10, NULL, 0, NULL, NULL, 0, &seq), POL_OK);
    assert_int_equal(pol_ledger_append(l, 20, a, sizeof a, &id, NULL, 0, &seq), POL_OK);
    assert_int_equal(seq, 2);
    pol_digest other;
    assert_int_equal(append_random(l, 30, 10, &other), 3);
    /* the retry: later time, earlier time, with rows: all refused the same way */
    const pol_ledger_row row = {"accounts", (const uint8_t *)"k", 1, "999"};
    static const uint64_t retry_times[] = {40, 5, 30};
    for (int i = 0; i < 3; i++) {
        seq = 0;
        assert_int_equal(pol_ledger_append(l, retry_times[i], a, sizeof a, &id, &row, 1, &seq),
                         POL_ERR_EXISTS);
        assert_int_equal(seq, 2);
    }
    uint64_t head, t;
    assert_int_equal(pol_ledger_head(l, &head, &t), POL_OK);
    assert_int_equal(head, 3);
    assert_int_equal(t, 30);
    char *v = NULL;
    assert_int_equal(pol_ledger_projection(l, "accounts", (const uint8_t *)"k", 1, &v, &seq),
                     POL_ERR_NOT_FOUND);
    /* ticks carry no id and are never deduplicated */
    assert_int_equal(pol_ledger_append(l, 30, NULL, 0, NULL, NULL, 0, &seq), POL_OK);
    assert_int_equal(pol_ledger_append(l, 30, NULL, 0, NULL, NULL, 0, &seq), POL_OK);
    assert_int_equal(seq, 5);
    pol_ledger_close(l);
}

/* [L-EV-1] [L-CAP-1] argument checks, before anything is written */
static void test_append_refusals(void **st)
{
    (void)st;
    pol_ledger *l = open_new(fresh_path("ledger.db"), (const uint8_t *)"g", 1);
    uint8_t a[16];
    fill(a, sizeof a);
    pol_digest id, bad;
    assert_int_equal(pol_sha256(a, sizeof a, &id), POL_OK);
    bad = id;
    bad.b[31] ^= 1;
    uint64_t seq;
    assert_int_equal(pol_ledger_append(l, 1, a, sizeof a, &bad, NULL, 0, &seq),
                     POL_ERR_HASH_MISMATCH);
    assert_int_equal(pol_ledger_append(l, 1, a, sizeof a, NULL, NULL, 0, &seq),
                     POL_ERR_INVALID_ARG);
    assert_int_equal(pol_ledger_append(l, 1, NULL, 0, &id, NULL, 0, &seq), POL_ERR_INVALID_ARG);
    /* the cap is checked from the length alone, before any byte is read */
    assert_int_equal(
        pol_ledger_append(l, 1, a, (size_t)POL_LEDGER_MAX_ACTION + 1, &id, NULL, 0, &seq),
        POL_ERR_TOO_LARGE);
    static const char *bad_kinds[] = {"", "Accounts", "a b", "x;drop", NULL};
    for (int i = 0; i < 5; i++) {
        pol_ledger_row r = {bad_kinds[i], (const uint8_t *)"k", 1, "1"};
        assert_int_equal(pol_ledger_append(l, 1, a, sizeof a, &id, &r, 1, &seq),
                         POL_ERR_INVALID_ARG);
    }
    char longkind[POL_LEDGER_MAX_KIND + 2];
    memset(longkind, 'a', sizeof longkind - 1);
    longkind[sizeof longkind - 1] = '\0';
    pol_ledger_row r = {longkind, NULL, 0, "1"};
    assert_int_equal(pol_ledger_append(l, 1, a, sizeof a, &id, &r, 1, &seq),
                     POL_ERR_INVALID_ARG);
    longkind[POL_LEDGER_MAX_KIND] = '\0'; /* exactly the cap: fine */
    uint8_t key[POL_LEDGER_MAX_KEY + 1] = {0};
    r = (pol_ledger_row){longkind, key, sizeof key, "1"};
    assert_int_equal(pol_ledger_append(l, 1, a, sizeof a, &id, &r, 1, &seq), POL_ERR_TOO_LARGE);
    char *big = malloc(POL_LEDGER_MAX_VALUE + 2);
    assert_non_null(big);
    memset(big, 'v', POL_LEDGER_MAX_VALUE + 1);
    big[POL_LEDGER_MAX_VALUE + 1] = '\0';
    r = (pol_ledger_row){longkind, key, 5, big};
    assert_int_equal(pol_ledger_append(l, 1, a, sizeof a, &id, &r, 1, &seq), POL_ERR_TOO_LARGE);
    uint64_t head, t;
    assert_int_equal(pol_ledger_head(l, &head, &t), POL_OK);
    assert_int_equal(head, 0);
    /* at the caps: accepted */
    big[POL_LEDGER_MAX_VALUE] = '\0';
    pol_ledger_row ok = {longkind, key, POL_LEDGER_MAX_KEY, big};
    assert_int_equal(pol_ledger_append(l, 1, a, sizeof a, &id, &ok, 1, &seq), POL_OK);
    char *v;
    assert_int_equal(pol_ledger_projection(l, longkind, key, POL_LEDGER_MAX_KEY, &v, &seq),
                     POL_OK);
    assert_string_equal(v, big);
    free(v);
    free(big);
    pol_ledger_close(l);
}

/* [L-PROJ-1] projection rows are written, updated and deleted with their
 * event, in its transaction */
static void test_projection(void **st)
{
    (void)st;
    const char *path = fresh_path("ledger.db");
    pol_ledger *l = open_new(path, (const uint8_t *)"g", 1);
    uint8_t alice[32], bob[32];
    fill(alice, 32);
    fill(bob, 32);
    pol_ledger_row rows[] = {
        {"accounts", alice, 32, "100"},
        {"accounts", bob, 32, "50"},
        {"tasks", (const uint8_t *)"t1", 2, "{\"state\":\"open\"}"},
        {"accounts", alice, 32, "90"}, /* a later row wins */
    };
    uint64_t seq;
    assert_int_equal(pol_ledger_append(l, 1, NULL, 0, NULL, rows, 4, &seq), POL_OK);
    char *v;
    uint64_t vseq;
    assert_int_equal(pol_ledger_projection(l, "accounts", alice, 32, &v, &vseq), POL_OK);
    assert_string_equal(v, "90");
    assert_int_equal(vseq, 1);
    free(v);

    pol_ledger_row upd[] = {{"accounts", bob, 32, "70"}, {"tasks", (const uint8_t *)"t1", 2, NULL}};
    assert_int_equal(pol_ledger_append(l, 2, NULL, 0, NULL, upd, 2, &seq), POL_OK);
    assert_int_equal(pol_ledger_projection(l, "accounts", bob, 32, &v, &vseq), POL_OK);
    assert_string_equal(v, "70");
    assert_int_equal(vseq, 2);
    free(v);
    assert_int_equal(pol_ledger_projection(l, "tasks", (const uint8_t *)"t1", 2, &v, &vseq),
                     POL_ERR_NOT_FOUND);
    assert_null(v);

    /* a row that fails inside the transaction takes its event with it: a
     * hand-made trigger refuses one key */
    pol_ledger_close(l);
    assert_int_equal(raw_sql(path, "CREATE TRIGGER refuse BEFORE INSERT ON projection "
                                   "WHEN NEW.key = x'ff' BEGIN SELECT RAISE(ABORT, 'no'); END;"),
                     SQLITE_OK);
    l = open_new(path, NULL, 0);
    uint8_t a[8];
    fill(a, sizeof a);
    pol_digest id;
    assert_int_equal(pol_sha256(a, sizeof a, &id), POL_OK);
    uint8_t ff = 0xff;
    pol_ledger_row doomed[] = {{"accounts", alice, 32, "1"}, {"accounts", &ff, 1, "2"}};
    assert_int_equal(pol_ledger_append(l, 3, a, sizeof a, &id, doomed, 2, &seq), POL_ERR_IO);
    assert_int_equal(seq, 0);
    assert_non_null(strstr(pol_last_error(), "no"));
    uint64_t head, t;
    assert_int_equal(pol_ledger_head(l, &head, &t), POL_OK);
    assert_int_equal(head, 2);
    assert_int_equal(pol_ledger_find(l, &id, &seq), POL_ERR_NOT_FOUND);
    assert_int_equal(pol_ledger_projection(l, "accounts", alice, 32, &v, &vseq), POL_OK);
    assert_string_equal(v, "90");
    free(v);
    /* and the same event without the refused row goes in as seq 3 */
    assert_int_equal(pol_ledger_append(l, 3, a, sizeof a, &id, doomed, 1, &seq), POL_OK);
    assert_int_equal(seq, 3);
    pol_ledger_close(l);
}

/* [L-SCHEMA-1] events and the journal are append-only in the file itself */
static void test_append_only_triggers(void **st)
{
    (void)st;
    const char *path = fresh_path("ledger.db");
    pol_ledger *l = open_new(path, (const uint8_t *)"g", 1);
    pol_digest id, d;
    append_random(l, 1, 10, &id);
    append_random(l, 2, 10, &id);
    fill(d.b, 32);
    assert_int_equal(pol_ledger_journal_put(l, &d, 0, 1, (const uint8_t *)"q", 1,
                                            (const uint8_t *)"a", 1),
                     POL_OK);
    pol_ledger_close(l);
    assert_int_not_equal(raw_sql(path, "DELETE FROM events WHERE seq = 1"), SQLITE_OK);
    assert_int_not_equal(raw_sql(path, "UPDATE events SET time_ms = 0"), SQLITE_OK);
    assert_int_not_equal(raw_sql(path, "INSERT INTO events VALUES (5, 3, x'', NULL)"), SQLITE_OK);
    assert_int_not_equal(raw_sql(path, "INSERT INTO events VALUES (3, 1, x'', NULL)"), SQLITE_OK);
    assert_int_not_equal(raw_sql(path, "DELETE FROM journal"), SQLITE_OK);
    assert_int_not_equal(raw_sql(path, "UPDATE journal SET answer = x'00'"), SQLITE_OK);
    assert_int_equal(raw_sql(path, "INSERT INTO events VALUES (3, 2, x'', NULL)"), SQLITE_OK);
    l = open_new(path, NULL, 0);
    uint64_t head, t;
    assert_int_equal(pol_ledger_head(l, &head, &t), POL_OK);
    assert_int_equal(head, 3);
    pol_ledger_close(l);
}

/* ------------------------------------------------------------------ file */

/* [L-FILE-5] [L-FILE-3] reopen with the same, a different or no genesis */
static void test_reopen_genesis(void **st)
{
    (void)st;
    const char *p = fresh_path("ledger.db");
    char path[600];
    snprintf(path, sizeof path, "%s", p);
    pol_ledger *l = NULL;
    assert_int_equal(pol_ledger_open(path, NULL, 0, &l), POL_ERR_NOT_FOUND);
    assert_null(l);

    uint8_t g[300];
    fill(g, sizeof g);
    l = open_new(path, g, sizeof g);
    pol_digest id;
    append_random(l, 5, 100, &id);
    pol_ledger_close(l);

    l = open_new(path, g, sizeof g);
    pol_ledger_close(l);
    uint8_t g2[300];
    memcpy(g2, g, sizeof g);
    g2[17] ^= 0x40;
    assert_int_equal(pol_ledger_open(path, g2, sizeof g2, &l), POL_ERR_MISMATCH);
    assert_null(l);
    assert_int_equal(pol_ledger_open(path, g, sizeof g - 1, &l), POL_ERR_MISMATCH);
    assert_int_equal(pol_ledger_open(path, g, 0, &l), POL_ERR_MISMATCH);
    l = open_new(path, NULL, 0);
    uint64_t seq;
    assert_int_equal(pol_ledger_find(l, &id, &seq), POL_OK);
    assert_int_equal(seq, 1);
    pol_ledger_close(l);

    /* an empty genesis is a genesis */
    char path2[600];
    snprintf(path2, sizeof path2, "%s", fresh_path("empty.db"));
    l = open_new(path2, (const uint8_t *)"", 0);
    const uint8_t *gb;
    size_t glen = 9;
    pol_ledger_genesis(l, &gb, &glen);
    assert_int_equal(glen, 0);
    pol_ledger_close(l);
    l = open_new(path2, (const uint8_t *)"", 0);
    pol_ledger_close(l);
    assert_int_equal(pol_ledger_open(path2, (const uint8_t *)"x", 1, &l), POL_ERR_MISMATCH);

    /* creation leaves no temporary file beside the ledger */
    char dir[600];
    snprintf(dir, sizeof dir, "%s", path2);
    *strrchr(dir, '/') = '\0';
    DIR *dh = opendir(dir);
    assert_non_null(dh);
    struct dirent *e;
    while ((e = readdir(dh)))
        assert_null(strstr(e->d_name, ".new-"));
    closedir(dh);

    uint8_t *huge = (uint8_t *)g; /* the cap is checked from the length alone */
    assert_int_equal(pol_ledger_open(fresh_path("big.db"), huge, POL_LEDGER_MAX_GENESIS + 1, &l),
                     POL_ERR_TOO_LARGE);
}

/* Opens `path` expecting `want`, and checks the file is unchanged. */
static void refuse_unchanged(const char *path, pol_status want)
{
    uint8_t *before, *after;
    size_t nb, na;
    read_whole(path, &before, &nb);
    pol_ledger *l = (pol_ledger *)1;
    assert_int_equal(pol_ledger_open(path, (const uint8_t *)"g", 1, &l), want);
    assert_null(l);
    assert_int_equal(pol_ledger_open(path, NULL, 0, &l), want);
    read_whole(path, &after, &na);
    assert_int_equal(na, nb);
    if (nb)
        assert_memory_equal(after, before, nb);
    free(before);
    free(after);
}

/* [L-FILE-1] [L-FILE-2] [L-FILE-4] foreign files are refused and untouched */
/* A new ledger `name`, edited by hand with `sql`, is refused (FORMAT, with
 * `msg` in the message) and left as it was. */
static void refuse_edited(const char *name, const char *sql, const char *msg)
{
    char path[600];
    snprintf(path, sizeof path, "%s", fresh_path(name));
    pol_ledger *l = open_new(path, (const uint8_t *)"g", 1);
    pol_ledger_close(l);
    assert_int_equal(raw_sql(path, sql), SQLITE_OK);
    refuse_unchanged(path, POL_ERR_FORMAT);
    assert_non_null(strstr(pol_last_error(), msg));
}

static void test_refuse_foreign(void **st)
{
    (void)st;
    char path[600];
    /* a text file */
    snprintf(path, sizeof path, "%s", fresh_path("notes.txt"));
    static const char text[] = "this is not a database, and it is 4096 bytes long?\n";
    assert_int_equal(pol_write_file_atomic(path, text, sizeof text - 1, 0), POL_OK);
    refuse_unchanged(path, POL_ERR_FORMAT);

    /* random bytes the size of a few pages, and an empty file */
    uint8_t junk[8192];
    fill(junk, sizeof junk);
    snprintf(path, sizeof path, "%s", fresh_path("junk"));
    assert_int_equal(pol_write_file_atomic(path, junk, sizeof junk, 0), POL_OK);
    refuse_unchanged(path, POL_ERR_FORMAT);
    snprintf(path, sizeof path, "%s", fresh_path("empty"));
    assert_int_equal(pol_write_file_atomic(path, NULL, 0, 0), POL_OK);
    refuse_unchanged(path, POL_ERR_FORMAT);

    /* some other program's SQLite database */
    snprintf(path, sizeof path, "%s", fresh_path("other.db"));
    assert_int_equal(raw_sql(path, "CREATE TABLE t(x); INSERT INTO t VALUES (1);"), SQLITE_OK);
    refuse_unchanged(path, POL_ERR_FORMAT);
    /* ... even one that borrowed our application_id but has no meta */
    assert_int_equal(raw_sql(path, "PRAGMA application_id=1886351180"), SQLITE_OK);
    refuse_unchanged(path, POL_ERR_FORMAT);

    /* a ledger from a newer libpol */
    refuse_edited("newer.db", "UPDATE meta SET value = 2 WHERE name = 'schema_version'", "newer");
    /* a ledger whose schema_version is no positive integer, or whose meta
     * lost the genesis (hand edits) */
    refuse_edited("badver.db", "UPDATE meta SET value = 'one' WHERE name = 'schema_version'",
                  "bad schema_version");
    refuse_edited("nogenesis.db", "DELETE FROM meta WHERE name = 'genesis'",
                  "lacks schema_version or genesis");
}

/* An event deleted by a hand edit that first dropped the append-only
 * trigger: the log has a gap, and reading it stops there (FORMAT) after the
 * events before it [L-EV-5]. */
static void test_refuse_gap(void **st)
{
    (void)st;
    char path[600];
    snprintf(path, sizeof path, "%s", fresh_path("gap.db"));
    pol_ledger *l = open_new(path, (const uint8_t *)"g", 1);
    pol_digest id;
    for (int i = 0; i < 3; i++)
        append_random(l, 1000 + (uint64_t)i, 40, &id);
    pol_ledger_close(l);
    assert_int_equal(raw_sql(path, "DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq = 2"),
                     SQLITE_OK);
    assert_int_equal(pol_ledger_open(path, NULL, 0, &l), POL_OK);
    walk w = { 0 };
    uint64_t n = 0;
    assert_int_equal(pol_ledger_events(l, 1, 0, walk_fn, &w, &n), POL_ERR_FORMAT);
    assert_non_null(strstr(pol_last_error(), "event 2 missing (next is 3)"));
    assert_int_equal(w.n, 1);
    assert_int_equal(n, 1);
    pol_ledger_close(l);
}

/* ------------------------------------------------------- dispute journal */

/* The transcript hash written out by hand from spec/ledger.md [L-JNL-4]. */
typedef struct {
    uint32_t party;
    uint64_t seq;
    const char *q, *a;
} exchange;

static void expected_digest(const pol_digest *dispute, const exchange *x, size_t n,
                            pol_digest *out)
{
    uint8_t buf[4096];
    size_t k = 0;
    static const char tag[] = "libpol/ledger-journal/v1";
    memcpy(buf, tag, sizeof tag); /* with its NUL */
    k += sizeof tag;
    memcpy(buf + k, dispute->b, 32);
    k += 32;
    for (size_t i = 0; i < n; i++) {
        buf[k++] = (uint8_t)x[i].party;
        for (int b = 0; b < 8; b++)
            buf[k++] = (uint8_t)(x[i].seq >> (8 * b));
        const char *f[2] = {x[i].q, x[i].a};
        for (int j = 0; j < 2; j++) {
            uint64_t len = strlen(f[j]);
            for (int b = 0; b < 8; b++)
                buf[k++] = (uint8_t)(len >> (8 * b));
            memcpy(buf + k, f[j], len);
            k += len;
        }
    }
    assert_true(k < sizeof buf);
    assert_int_equal(pol_sha256(buf, k, out), POL_OK);
}

static pol_status put_x(pol_ledger *l, const pol_digest *d, const exchange *x)
{
    return pol_ledger_journal_put(l, d, x->party, x->seq, (const uint8_t *)x->q, strlen(x->q),
                                  (const uint8_t *)x->a, strlen(x->a));
}

/* [L-JNL-1] [L-JNL-2] [L-JNL-3] [L-JNL-4] */
static void test_journal(void **st)
{
    (void)st;
    pol_ledger *l = open_new(fresh_path("ledger.db"), (const uint8_t *)"g", 1);
    pol_digest d, other;
    fill(d.b, 32);
    fill(other.b, 32);
    /* (party, seq) order, as hashed */
    const exchange x[] = {
        {0, 1, "bisect 0..64", "root L"}, {0, 2, "bisect 32..64", ""},
        {0, 3, "", "answer"},             {1, 1, "bisect 0..64", "root L'"},
        {1, 2, "node 17", "inputs"},
    };
    /* put interleaved, as a referee talking to both parties would */
    static const int order[] = {0, 3, 1, 4, 2};
    pol_digest dig, want;
    uint64_t count;
    expected_digest(&d, x, 0, &want);
    assert_int_equal(pol_ledger_journal_digest(l, &d, &dig, &count), POL_OK);
    assert_memory_equal(dig.b, want.b, 32);
    assert_int_equal(count, 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(put_x(l, &d, &x[order[i]]), POL_OK);
        /* a replay puts again: fine */
        assert_int_equal(put_x(l, &d, &x[order[i]]), POL_OK);
    }
    expected_digest(&d, x, 5, &want);
    assert_int_equal(pol_ledger_journal_digest(l, &d, &dig, &count), POL_OK);
    assert_memory_equal(dig.b, want.b, 32);
    assert_int_equal(count, 5);

    for (int i = 0; i < 5; i++) {
        uint8_t *q, *a;
        size_t ql, al;
        assert_int_equal(pol_ledger_journal_get(l, &d, x[i].party, x[i].seq, &q, &ql, &a, &al),
                         POL_OK);
        assert_int_equal(ql, strlen(x[i].q));
        assert_int_equal(al, strlen(x[i].a));
        if (ql)
            assert_memory_equal(q, x[i].q, ql);
        else
            assert_null(q);
        if (al)
            assert_memory_equal(a, x[i].a, al);
        else
            assert_null(a);
        free(q);
        free(a);
    }
    uint8_t *q = (uint8_t *)1, *a = (uint8_t *)1;
    size_t ql = 1, al = 1;
    assert_int_equal(pol_ledger_journal_get(l, &d, 1, 3, &q, &ql, &a, &al), POL_ERR_NOT_FOUND);
    assert_null(q);
    assert_null(a);
    assert_int_equal(ql + al, 0);
    assert_int_equal(pol_ledger_journal_get(l, &other, 0, 1, &q, &ql, &a, &al),
                     POL_ERR_NOT_FOUND);

    /* the same exchange with other bytes: refused, the stored one stays */
    exchange changed = x[1];
    changed.a = "root R";
    assert_int_equal(put_x(l, &d, &changed), POL_ERR_MISMATCH);
    changed = x[1];
    changed.q = "bisect 32..65";
    assert_int_equal(put_x(l, &d, &changed), POL_ERR_MISMATCH);
    assert_int_equal(pol_ledger_journal_digest(l, &d, &dig, &count), POL_OK);
    assert_memory_equal(dig.b, want.b, 32);

    /* gaps, a third party, seq 0 */
    exchange gap = {0, 5, "q", "a"};
    assert_int_equal(put_x(l, &d, &gap), POL_ERR_INVALID_ARG);
    gap = (exchange){1, 4, "q", "a"};
    assert_int_equal(put_x(l, &d, &gap), POL_ERR_INVALID_ARG);
    gap = (exchange){2, 1, "q", "a"};
    assert_int_equal(put_x(l, &d, &gap), POL_ERR_INVALID_ARG);
    gap = (exchange){0, 0, "q", "a"};
    assert_int_equal(put_x(l, &d, &gap), POL_ERR_INVALID_ARG);
    assert_int_equal(pol_ledger_journal_digest(l, &d, &dig, &count), POL_OK);
    assert_int_equal(count, 5);

    /* another dispute is separate, and its digest differs even with the
     * same exchanges */
    assert_int_equal(put_x(l, &other, &x[0]), POL_OK);
    expected_digest(&other, x, 1, &want);
    assert_int_equal(pol_ledger_journal_digest(l, &other, &dig, &count), POL_OK);
    assert_memory_equal(dig.b, want.b, 32);
    assert_int_equal(count, 1);
    pol_ledger_close(l);
}

/* ----------------------------------------------------------------- blobs */

/* [L-BLOB-1] [L-BLOB-2] */
static void test_blobs(void **st)
{
    (void)st;
    const char *p = fresh_path("ledger.db");
    char path[600];
    snprintf(path, sizeof path, "%s", p);
    pol_ledger *l = open_new(path, (const uint8_t *)"g", 1);
    size_t n = 100000 + tu_next(&R) % 1000;
    uint8_t *b = malloc(n);
    assert_non_null(b);
    fill(b, n);
    pol_digest h, h2, want;
    assert_int_equal(pol_sha256(b, n, &want), POL_OK);
    assert_int_equal(pol_ledger_blob_put(l, b, n, &h), POL_OK);
    assert_memory_equal(h.b, want.b, 32);
    assert_int_equal(pol_ledger_blob_put(l, b, n, &h2), POL_OK); /* again: a no-op */
    assert_memory_equal(h2.b, want.b, 32);
    pol_digest empty;
    assert_int_equal(pol_ledger_blob_put(l, NULL, 0, &empty), POL_OK);

    uint8_t *got;
    size_t len;
    assert_int_equal(pol_ledger_blob_get(l, &h, &got, &len), POL_OK);
    assert_int_equal(len, n);
    assert_memory_equal(got, b, n);
    free(got);
    assert_int_equal(pol_ledger_blob_get(l, &empty, &got, &len), POL_OK);
    assert_int_equal(len, 0);
    assert_null(got);
    pol_digest none;
    fill(none.b, 32);
    assert_int_equal(pol_ledger_blob_get(l, &none, &got, &len), POL_ERR_NOT_FOUND);
    assert_int_equal(pol_ledger_blob_put(l, b, (size_t)POL_LEDGER_MAX_BLOB + 1, &h2),
                     POL_ERR_TOO_LARGE);
    pol_ledger_close(l);

    /* flip one byte of the stored blob behind the ledger's back */
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT rowid FROM blobs WHERE hash = ?1", -1, &q,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_bind_blob(q, 1, h.b, 32, SQLITE_STATIC), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    sqlite3_int64 rowid = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_blob *blob;
    assert_int_equal(sqlite3_blob_open(db, "main", "blobs", "data", rowid, 1, &blob), SQLITE_OK);
    size_t at = tu_next(&R) % n;
    uint8_t byte = b[at] ^ (uint8_t)(1u << (tu_next(&R) % 8));
    assert_int_equal(sqlite3_blob_write(blob, &byte, 1, (int)at), SQLITE_OK);
    assert_int_equal(sqlite3_blob_close(blob), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    l = open_new(path, NULL, 0);
    got = (uint8_t *)1;
    len = 1;
    assert_int_equal(pol_ledger_blob_get(l, &h, &got, &len), POL_ERR_HASH_MISMATCH);
    assert_null(got);
    assert_int_equal(len, 0);
    pol_ledger_close(l);
    free(b);
}

/* ----------------------------------------------------------------- crash */

/* What the child reports after a call returned POL_OK: one write() of less
 * than PIPE_BUF bytes, so the parent never reads half a report. */
typedef struct {
    uint8_t kind; /* 'E' event, 'J' journal exchange, 'X' child failure */
    uint8_t party;
    uint64_t seq;
    pol_digest id;
} report;

/* The child: appends events (actions and ticks, with projection rows) and
 * journal exchanges until it is killed. Never returns. */
static void crash_child(const char *path, int fd, uint64_t seed, const pol_digest *dispute)
{
    tu_rng r;
    tu_rng_init(&r, seed);
    report rep = {'X', 0, 0, {{0}}};
    pol_ledger *l = NULL;
    uint64_t head, t;
    if (pol_ledger_open(path, NULL, 0, &l) || pol_ledger_head(l, &head, &t)) {
        (void)!write(fd, &rep, sizeof rep);
        _exit(1);
    }
    uint8_t *a = malloc(1 << 17);
    uint64_t jseq[2] = {0, 0};
    for (uint64_t i = 0;; i++) {
        size_t len = (tu_next(&r) % 4 == 0) ? 0 : 8 + tu_next(&r) % ((1 << 17) - 8);
        for (size_t k = 0; k < len; k++)
            a[k] = (uint8_t)tu_next(&r);
        for (int b = 0; len && b < 4; b++) { /* no two actions alike */
            a[b] = (uint8_t)(seed >> (8 * b));
            a[4 + b] = (uint8_t)(i >> (8 * b));
        }
        pol_digest id = {{0}};
        if (len && pol_sha256(a, len, &id))
            _exit(1);
        t += tu_next(&r) % 5;
        char counter[32], idx[32];
        snprintf(counter, sizeof counter, "%" PRIu64, head + 1);
        snprintf(idx, sizeof idx, "%" PRIu64, i);
        uint8_t key[8];
        for (int b = 0; b < 8; b++)
            key[b] = (uint8_t)((head + 1) >> (8 * b));
        pol_ledger_row rows[2] = {{"counter", (const uint8_t *)"n", 1, counter},
                                  {"event", key, 8, idx}};
        uint64_t seq;
        pol_status s = pol_ledger_append(l, t, a, len, len ? &id : NULL, rows, 2, &seq);
        if (s || seq != head + 1) {
            (void)!write(fd, &rep, sizeof rep);
            _exit(1);
        }
        head = seq;
        report e = {'E', 0, seq, id};
        if (write(fd, &e, sizeof e) != (ssize_t)sizeof e)
            _exit(1);

        uint8_t party = (uint8_t)(tu_next(&r) & 1);
        size_t qlen = tu_next(&r) % 300, alen = tu_next(&r) % 5000;
        for (size_t k = 0; k < qlen + alen; k++)
            a[k] = (uint8_t)tu_next(&r);
        s = pol_ledger_journal_put(l, dispute, party, jseq[party] + 1, a, qlen, a + qlen, alen);
        if (s) {
            (void)!write(fd, &rep, sizeof rep);
            _exit(1);
        }
        jseq[party]++;
        report j = {'J', party, jseq[party], {{0}}};
        if (pol_sha256(a, qlen + alen, &j.id)) /* to check the stored bytes later */
            _exit(1);
        if (write(fd, &j, sizeof j) != (ssize_t)sizeof j)
            _exit(1);
    }
}

/* [L-CRASH-1] [L-EV-2] [L-EV-4] [L-PROJ-1] [L-JNL-1] a writer killed at a
 * random moment, several times over: the ledger opens, its seqs are
 * gapless, every acknowledged write is there, at most the one write in
 * flight is there unacknowledged, and nothing is half-written. */
static void test_crash(void **st)
{
    (void)st;
    const char *p = fresh_path("ledger.db");
    char path[600];
    snprintf(path, sizeof path, "%s", p);
    uint8_t g[64];
    fill(g, sizeof g);
    pol_ledger *l = open_new(path, g, sizeof g);
    pol_ledger_close(l);

    uint64_t acked_events = 0;
    for (int round = 0; round < 6; round++) {
        pol_digest dispute;
        fill(dispute.b, 32);
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        uint64_t child_seed = tu_next(&R);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            crash_child(path, pfd[1], child_seed, &dispute);
        }
        close(pfd[1]);
        /* 0 to 150 ms: sometimes before the child has even opened */
        struct timespec ts = {0, (long)(tu_next(&R) % 150) * 1000000L};
        if (round == 0)
            ts.tv_nsec = 0;
        nanosleep(&ts, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int wst;
        assert_int_equal(waitpid(pid, &wst, 0), pid);
        assert_true(WIFSIGNALED(wst));

        /* collect the acknowledgements */
        size_t cap = 1024, n = 0;
        report *reps = malloc(cap * sizeof *reps);
        assert_non_null(reps);
        for (;;) {
            if (n == cap) {
                cap *= 2;
                reps = realloc(reps, cap * sizeof *reps);
                assert_non_null(reps);
            }
            ssize_t k = read(pfd[0], &reps[n], sizeof *reps);
            if (k == 0)
                break;
            assert_int_equal(k, sizeof *reps);
            assert_int_not_equal(reps[n].kind, 'X');
            n++;
        }
        close(pfd[0]);

        l = open_new(path, g, sizeof g);
        uint64_t head, t;
        assert_int_equal(pol_ledger_head(l, &head, &t), POL_OK);
        /* every event whole, gapless, in time order */
        walk w = {0};
        uint64_t count;
        assert_int_equal(pol_ledger_events(l, 1, 0, walk_fn, &w, &count), POL_OK);
        assert_int_equal(count, head);

        uint64_t round_events = 0, jacked[2] = {0, 0};
        for (size_t i = 0; i < n; i++) {
            if (reps[i].kind == 'E') {
                round_events++;
                assert_int_equal(reps[i].seq, acked_events + round_events);
                uint64_t tm;
                uint8_t *a;
                size_t len;
                pol_digest id;
                assert_int_equal(pol_ledger_event(l, reps[i].seq, &tm, &a, &len, &id), POL_OK);
                assert_memory_equal(id.b, reps[i].id.b, 32);
                free(a);
            } else {
                uint8_t *q, *a;
                size_t ql, al;
                assert_int_equal(pol_ledger_journal_get(l, &dispute, reps[i].party, reps[i].seq,
                                                        &q, &ql, &a, &al),
                                 POL_OK);
                uint8_t *both = malloc(ql + al + 1);
                assert_non_null(both);
                if (ql)
                    memcpy(both, q, ql);
                if (al)
                    memcpy(both + ql, a, al);
                pol_digest h;
                assert_int_equal(pol_sha256(both, ql + al, &h), POL_OK);
                assert_memory_equal(h.b, reps[i].id.b, 32);
                free(both);
                free(q);
                free(a);
                jacked[reps[i].party] = reps[i].seq;
            }
        }
        /* at most the one append in flight is there without its report */
        assert_true(head >= acked_events + round_events);
        assert_true(head <= acked_events + round_events + 1);
        uint64_t jcount;
        pol_digest jd;
        assert_int_equal(pol_ledger_journal_digest(l, &dispute, &jd, &jcount), POL_OK);
        assert_true(jcount >= jacked[0] + jacked[1]);
        assert_true(jcount <= jacked[0] + jacked[1] + 1);

        /* the projection moved with the events: the counter is the head */
        if (head) {
            char *v;
            uint64_t vseq;
            assert_int_equal(pol_ledger_projection(l, "counter", (const uint8_t *)"n", 1, &v,
                                                   &vseq),
                             POL_OK);
            assert_int_equal(strtoull(v, NULL, 10), head);
            assert_int_equal(vseq, head);
            free(v);
        }
        fprintf(stderr, "  crash round %d: killed after %" PRIu64 " acknowledged events, "
                        "head %" PRIu64 ", %" PRIu64 " journal exchanges\n",
                round, round_events, head, jcount);
        acked_events = head; /* the unacknowledged one in flight, if any, is kept */
        pol_ledger_close(l);
        free(reps);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_round_trip),
        cmocka_unit_test(test_time_monotonic),
        cmocka_unit_test(test_duplicate_id),
        cmocka_unit_test(test_append_refusals),
        cmocka_unit_test(test_projection),
        cmocka_unit_test(test_append_only_triggers),
        cmocka_unit_test(test_reopen_genesis),
        cmocka_unit_test(test_refuse_foreign),
        cmocka_unit_test(test_refuse_gap),
        cmocka_unit_test(test_journal),
        cmocka_unit_test(test_blobs),
        cmocka_unit_test(test_crash),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
