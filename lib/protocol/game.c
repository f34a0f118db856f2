/* The incentive game state machine (spec/game.md, include/pol/game.h).
 *
 * An action or a tick changes the state in place, inside a transaction with
 * an undo journal, so a refused action leaves nothing behind: before the
 * first change of an account or a task, the transaction saves its old value
 * (by index); accounts and tasks it appends are dropped by restoring the
 * counts; the clock, jackpot, action count and chain are saved at its start.
 * A refusal restores all of it; success forgets the journal. The cost of a
 * transaction is what it touches, not the size of the state. Every change
 * of an account or a task goes through acct_w / task_w, which save it; the
 * arrays are grown before a transaction starts and never during one, so the
 * pointers they return stay valid until it ends. Byte blobs (task json,
 * envelopes) are immutable once stored; those stored by a refused action
 * are freed, the others at destroy.
 *
 * Lookups do not scan: hash indices map an account key and a task id to
 * the index (kindex; a refusal removes what its appends added), and the
 * tasks with a deadline sit in a min-heap ordered by (deadline, index),
 * so a tick finds the due deadlines in the order of [G-TIME-1] without
 * visiting the others. The heap is brought in line with every task a
 * transaction touched when it ends, kept or undone (heap_fix). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol/game.h"
#include "pol/pinpoint.h"
#include "pol/task.h"
#include "pol/wire.h"

/* ------------------------------------------------------------------ state */

typedef struct acct {
    uint8_t key[POL_PUBKEY_LEN];
    uint64_t balance;
    uint64_t nonce; /* the last one applied */
    uint64_t saved; /* the transaction that saved it in the journal (0: none) */
} acct;

typedef struct saved_acct {
    size_t i;
    acct old;
} saved_acct;

typedef struct saved_task {
    size_t i;
    pol_game_task old;
} saved_task;

/* The undo journal of the transaction in progress: what the state was at
 * its start (scalars and counts) and the old value of every account and
 * task it changed, each saved once, before its first change. */
typedef struct journal {
    uint64_t txn;           /* the transaction's number: 1, 2, ... */
    uint64_t now, jackpot, n_applied;
    pol_digest chain;
    size_t n_acct, n_task, n_blob;
    saved_acct *acct;
    size_t n_saved_acct, cap_saved_acct;
    saved_task *task;
    size_t n_saved_task, cap_saved_task;
} journal;

/* An open-addressing hash table (linear probing) from a 32-byte key (an
 * account's public key, a task's id) to its index in the accounts or tasks
 * array: slot holds index + 1, 0 when empty. Its size is a power of two at
 * least twice the array's capacity, so it is at most half full; it is
 * rebuilt when the array grows (before a transaction, never during one). */
typedef struct kindex {
    uint32_t *slot;
    size_t mask; /* slots - 1 */
} kindex;

/* A task's deadline in the heap of deadlines: ordered by (at, task index),
 * the order in which ticks process them [G-TIME-1]. */
typedef struct due {
    uint64_t at;
    uint32_t i;
} due;

/* Everything an action may change, and the journal to take it back. */
typedef struct gstate {
    uint64_t now, jackpot, n_applied;
    pol_digest chain;
    size_t n_acct, cap_acct;
    acct *acct;
    size_t n_task, cap_task;
    pol_game_task *task;
    uint64_t *task_saved;   /* (cap_task) as acct.saved, for each task */
    kindex acct_ix;         /* account key -> index */
    kindex task_ix;         /* task id -> index */
    /* a binary min-heap of the deadlines of the tasks that have one (cap_task
     * entries), and each task's position in it + 1 (0: none) */
    due *heap;
    size_t n_heap;
    uint32_t *heap_pos;
    journal j;
} gstate;

struct pol_game {
    pol_genesis gen;
    pol_digest id;
    uint64_t total;
    gstate s;
    /* immutable blobs, freed at destroy */
    void **blob;
    size_t n_blob, cap_blob;
    /* log lines of the action in progress, '\n'-separated */
    pol_game_log_fn log;
    void *log_user;
    char *logbuf;
    size_t log_len, log_cap;
};

static void state_free(gstate *s)
{
    free(s->acct);
    free(s->task);
    free(s->task_saved);
    free(s->acct_ix.slot);
    free(s->task_ix.slot);
    free(s->heap);
    free(s->heap_pos);
    free(s->j.acct);
    free(s->j.task);
    memset(s, 0, sizeof *s);
}

static const uint8_t *acct_key(const gstate *s, size_t i) { return s->acct[i].key; }
static const uint8_t *task_key(const gstate *s, size_t i) { return s->task[i].id.b; }
typedef const uint8_t *(*key_fn)(const gstate *, size_t);

/* The first slot to probe for key: its first 8 bytes, mixed. Account keys
 * and task ids are uniform enough (public keys, SHA-256 digests). */
static size_t kindex_home(const kindex *x, const uint8_t *key)
{
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--)
        h = (h << 8) | key[i];
    h *= 0x9e3779b97f4a7c15u;
    return (size_t)(h ^ (h >> 29)) & x->mask;
}

/* The index of key, or -1. */
static ptrdiff_t kindex_find(const gstate *s, const kindex *x, key_fn keyof,
                             const uint8_t key[32])
{
    if (!x->slot)
        return -1;
    for (size_t p = kindex_home(x, key);; p = (p + 1) & x->mask) {
        const uint32_t v = x->slot[p];
        if (!v)
            return -1;
        if (memcmp(keyof(s, v - 1), key, 32) == 0)
            return (ptrdiff_t)(v - 1);
    }
}

/* Adds index i under its key (the table has room: it is at most half full). */
static void kindex_add(const gstate *s, kindex *x, key_fn keyof, size_t i)
{
    size_t p = kindex_home(x, keyof(s, i));
    while (x->slot[p])
        p = (p + 1) & x->mask;
    x->slot[p] = (uint32_t)(i + 1);
}

/* Removes index i, shifting back the entries after it in its run so that
 * every entry stays reachable from its home slot. */
static void kindex_remove(const gstate *s, kindex *x, key_fn keyof, size_t i)
{
    size_t p = kindex_home(x, keyof(s, i));
    while (x->slot[p] != i + 1) {
        if (!x->slot[p])
            return; /* not there */
        p = (p + 1) & x->mask;
    }
    for (size_t q = p;;) {
        x->slot[p] = 0;
        for (;;) {
            q = (q + 1) & x->mask;
            if (!x->slot[q])
                return;
            const size_t h = kindex_home(x, keyof(s, x->slot[q] - 1));
            /* the entry at q stays unless its home is cyclically outside (p, q] */
            const int stays = p <= q ? (p < h && h <= q) : (p < h || h <= q);
            if (!stays)
                break;
        }
        x->slot[p] = x->slot[q];
        p = q;
    }
}

/* Makes the table hold at least 2 * cap slots, re-adding indices 0 .. n-1. */
static pol_status kindex_fit(const gstate *s, kindex *x, key_fn keyof, size_t n, size_t cap)
{
    size_t size = 16;
    while (size < 2 * cap)
        size *= 2;
    if (x->slot && x->mask + 1 >= size)
        return POL_OK;
    uint32_t *slot = calloc(size, sizeof *slot);
    if (!slot)
        return pol_errorf(POL_ERR_NOMEM, "game: index of %zu slots", size);
    free(x->slot);
    x->slot = slot;
    x->mask = size - 1;
    for (size_t i = 0; i < n; i++)
        kindex_add(s, x, keyof, i);
    return POL_OK;
}

/* Resizes the array *p of `old` elements of `size` bytes to `cap`
 * elements, the new ones zeroed. Returns 0 (and *p unchanged) when out of
 * memory. */
static int resize_zeroed(void **p, size_t old, size_t cap, size_t size)
{
    void *q = realloc(*p, cap * size);
    if (!q)
        return 0;
    memset((char *)q + old * size, 0, (cap - old) * size);
    *p = q;
    return 1;
}

/* Room for one more account and one more task (caps permitting), made
 * before a transaction: the arrays never move during one. The task arrays
 * (tasks, their journal marks, the deadline heap and its positions) grow
 * together; after a partial failure some are merely larger than cap_task. */
static pol_status state_reserve(gstate *s)
{
    if (s->n_acct == s->cap_acct && s->cap_acct < POL_GAME_MAX_ACCOUNTS) {
        size_t cap = s->cap_acct < 8 ? 16 : 2 * s->cap_acct;
        cap = cap < POL_GAME_MAX_ACCOUNTS ? cap : POL_GAME_MAX_ACCOUNTS;
        if (!resize_zeroed((void **)&s->acct, s->cap_acct, cap, sizeof *s->acct))
            return pol_errorf(POL_ERR_NOMEM, "game: %zu accounts", cap);
        s->cap_acct = cap;
    }
    if (s->n_task == s->cap_task && s->cap_task < POL_GAME_MAX_TASKS) {
        size_t cap = s->cap_task < 8 ? 16 : 2 * s->cap_task;
        cap = cap < POL_GAME_MAX_TASKS ? cap : POL_GAME_MAX_TASKS;
        const size_t old = s->cap_task;
        if (!resize_zeroed((void **)&s->task, old, cap, sizeof *s->task) ||
            !resize_zeroed((void **)&s->task_saved, old, cap, sizeof *s->task_saved) ||
            !resize_zeroed((void **)&s->heap, old, cap, sizeof *s->heap) ||
            !resize_zeroed((void **)&s->heap_pos, old, cap, sizeof *s->heap_pos))
            return pol_errorf(POL_ERR_NOMEM, "game: %zu tasks", cap);
        s->cap_task = cap;
    }
    POL_TRY(kindex_fit(s, &s->acct_ix, acct_key, s->n_acct, s->cap_acct));
    return kindex_fit(s, &s->task_ix, task_key, s->n_task, s->cap_task);
}

/* Grows a journal array of n elements of size `size` to hold one more. */
static pol_status journal_room(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return POL_OK;
    size_t c = *cap ? 2 * *cap : 8;
    void *q = realloc(*p, c * size);
    if (!q)
        return pol_errorf(POL_ERR_NOMEM, "game: undo journal of %zu entries", c);
    *p = q;
    *cap = c;
    return POL_OK;
}

/* Account i, to be changed: its old value goes to the journal first (once
 * per transaction; an account the transaction appended needs none). */
static pol_status acct_w(gstate *s, size_t i, acct **out)
{
    journal *j = &s->j;
    acct *a = &s->acct[i];
    if (i < j->n_acct && a->saved != j->txn) {
        POL_TRY(journal_room((void **)&j->acct, &j->cap_saved_acct, j->n_saved_acct,
                             sizeof *j->acct));
        j->acct[j->n_saved_acct].i = i;
        j->acct[j->n_saved_acct++].old = *a;
        a->saved = j->txn;
    }
    *out = a;
    return POL_OK;
}

/* Task i, to be changed: as acct_w. */
static pol_status task_w(gstate *s, size_t i, pol_game_task **out)
{
    journal *j = &s->j;
    if (i < j->n_task && s->task_saved[i] != j->txn) {
        POL_TRY(journal_room((void **)&j->task, &j->cap_saved_task, j->n_saved_task,
                             sizeof *j->task));
        j->task[j->n_saved_task].i = i;
        j->task[j->n_saved_task++].old = s->task[i];
        s->task_saved[i] = j->txn;
    }
    *out = &s->task[i];
    return POL_OK;
}

/* Stores a copy of bytes for the game's lifetime. */
static pol_status blob_put(pol_game *g, const uint8_t *p, size_t n, const uint8_t **out)
{
    if (g->n_blob == g->cap_blob) {
        size_t cap = g->cap_blob ? 2 * g->cap_blob : 16;
        void **b = realloc(g->blob, cap * sizeof *b);
        if (!b)
            return pol_errorf(POL_ERR_NOMEM, "game: blob table");
        g->blob = b;
        g->cap_blob = cap;
    }
    uint8_t *c = malloc(n ? n : 1);
    if (!c)
        return pol_errorf(POL_ERR_NOMEM, "game: %zu bytes", n);
    if (n)
        memcpy(c, p, n);
    g->blob[g->n_blob++] = c;
    *out = c;
    return POL_OK;
}

static void blob_rollback(pol_game *g, size_t mark)
{
    while (g->n_blob > mark)
        free(g->blob[--g->n_blob]);
}

/* ------------------------------------------------------------------- log */

typedef struct hx8 {
    char s[9];
} hx8;

/* The first 4 bytes of a key or id in hex, for log lines. */
static hx8 hx(const uint8_t *p)
{
    hx8 h;
    snprintf(h.s, sizeof h.s, "%02x%02x%02x%02x", p[0], p[1], p[2], p[3]);
    return h;
}

/* Best effort: a line that cannot be stored is dropped; the state never
 * depends on the log. */
static void POL_PRINTF(2, 3) logf_(pol_game *g, const char *fmt, ...)
{
    if (!g->log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = strlen(line);
    if (g->log_len + len + 2 > g->log_cap) {
        size_t cap = 2 * (g->log_len + len + 2);
        char *b = realloc(g->logbuf, cap);
        if (!b)
            return;
        g->logbuf = b;
        g->log_cap = cap;
    }
    memcpy(g->logbuf + g->log_len, line, len);
    g->log_len += len;
    g->logbuf[g->log_len++] = '\n';
}

static void log_flush(pol_game *g)
{
    size_t i = 0;
    while (g->log && i < g->log_len) {
        char *nl = memchr(g->logbuf + i, '\n', g->log_len - i);
        *nl = '\0';
        g->log(g->log_user, g->logbuf + i);
        i = (size_t)(nl - g->logbuf) + 1;
    }
    g->log_len = 0;
}

/* ----------------------------------------------------------------- money */

static ptrdiff_t acct_find(const gstate *s, const uint8_t key[POL_PUBKEY_LEN])
{
    return kindex_find(s, &s->acct_ix, acct_key, key);
}

/* Pays `amount` to the account of `key`, which has acted before (every
 * party the rules pay signed an action of the task). */
static pol_status credit(gstate *s, const uint8_t key[POL_PUBKEY_LEN], uint64_t amount)
{
    ptrdiff_t i = acct_find(s, key);
    acct *a;
    if (i < 0)
        return pol_errorf(POL_ERR_INTERNAL, "game: paying unknown account %s", hx(key).s);
    if (s->acct[i].balance + amount < s->acct[i].balance)
        return pol_errorf(POL_ERR_INTERNAL, "game: balance overflow");
    POL_TRY(acct_w(s, (size_t)i, &a));
    a->balance += amount;
    return POL_OK;
}

/* Moves all of *held to key / to the pool. *held is a field of a task the
 * transaction saved already (task_w); so are the tasks of every function
 * below that takes a pol_game_task *. */
static pol_status release(gstate *s, uint64_t *held, const uint8_t key[POL_PUBKEY_LEN])
{
    uint64_t v = *held;
    *held = 0;
    return credit(s, key, v);
}

static pol_status to_pool(gstate *s, uint64_t *held)
{
    if (s->jackpot + *held < s->jackpot)
        return pol_errorf(POL_ERR_INTERNAL, "game: jackpot overflow");
    s->jackpot += *held;
    *held = 0;
    return POL_OK;
}

/* floor(x * ppm / 10^6) without overflow [G-SETTLE-2]. */
static uint64_t ppm_of(uint64_t x, uint32_t ppm)
{
    return (x / POL_GAME_PPM) * ppm + (x % POL_GAME_PPM) * ppm / POL_GAME_PPM;
}

/* floor(x * a / b) for b > 0, at most x when a <= b (a, b are ppm values),
 * without overflow: x = q*b + r, so x*a/b = q*a + floor(r*a/b), r*a < 2^40. */
static uint64_t scale_ppm(uint64_t x, uint32_t a, uint32_t b)
{
    const uint64_t q = x / b, r = x % b;
    const uint64_t hi = (uint64_t)a > UINT64_MAX / (q ? q : 1) ? UINT64_MAX : q * a;
    const uint64_t lo = r * a / b;
    return hi > UINT64_MAX - lo ? UINT64_MAX : hi + lo;
}

/* Pays task t's jackpot payout to key; returns the amount: the genesis
 * payout, capped by the pool and by the task's share
 * floor(bounty * jackpot_tax_ppm / forced_error_ppm), so that a task's
 * expected payout is at most the tax it pays [G-OUT-6]. */
static pol_status jackpot_pay(const pol_game *g, gstate *s, const pol_game_task *t,
                              const uint8_t key[POL_PUBKEY_LEN], uint64_t *paid)
{
    uint64_t v = g->gen.jackpot_payout < s->jackpot ? g->gen.jackpot_payout : s->jackpot;
    const uint32_t fp = g->gen.forced_error_ppm;
    const uint64_t share = fp ? scale_ppm(t->bounty, g->gen.jackpot_tax_ppm, fp) : 0;
    if (share < v)
        v = share;
    s->jackpot -= v;
    *paid = v;
    return credit(s, key, v);
}

/* ------------------------------------------------------------ task steps */

static const char *role_name(uint32_t r)
{
    return r == POL_GAME_ROLE_VERIFIER ? "verifier" : "whistleblower";
}

static void round_reset(pol_game_task *t)
{
    t->has_verifier = t->has_whistleblower = 0;
    memset(t->verifier, 0, sizeof t->verifier);
    memset(t->whistleblower, 0, sizeof t->whistleblower);
    memset(t->verifier_endpoint, 0, sizeof t->verifier_endpoint);
    memset(t->whistleblower_endpoint, 0, sizeof t->whistleblower_endpoint);
    t->has_cert = t->has_report = 0;
    t->cert_env = t->report_env = NULL;
    t->cert_env_len = t->report_env_len = 0;
    memset(&t->cert_id, 0, sizeof t->cert_id);
    memset(&t->cert_root, 0, sizeof t->cert_root);
    memset(&t->report_id, 0, sizeof t->report_id);
    t->verdict = 0;
    t->challenger_role = POL_GAME_ROLE_NONE;
    memset(t->challenger, 0, sizeof t->challenger);
}

/* A claim's beacon lives as long as the claim: a forced restart keeps it
 * (round_reset does not touch it), a new claim or a solve timeout clears
 * it [G-BEACON-1]. */
static void beacon_clear(pol_game_task *t)
{
    t->has_beacon = 0;
    memset(t->beacon, 0, sizeof t->beacon);
}

/* Exactly the tolerant-mode tasks carry a profile [G-POST-2]. */
static int task_tolerant(const pol_game_task *t)
{
    return t->profile_env_len > 0;
}

/* The claim's forced round, if it had one, ends with the task or the claim
 * [G-OUT-5]. shown: the task settled, so a certificate other than the
 * forced one stood, and in exact mode the forced one was wrong. */
static pol_status forced_resolve(pol_game *g, gstate *s, pol_game_task *t, int shown)
{
    pol_game_forced_round *f = &t->forced_round;
    pol_status st;
    uint64_t paid = 0, bond = f->held_verifier;
    if (!f->set)
        return POL_OK;
    if (!f->has_verifier) {
        /* no report: nothing held */
    } else if (!shown || (f->verdict == POL_VERDICT_ACCEPT && task_tolerant(t))) {
        if ((st = release(s, &f->held_verifier, f->verifier)) ||
            (f->has_whistleblower &&
             (st = release(s, &f->held_whistleblower, f->whistleblower))))
            return st;
        logf_(g, "task %s: forced round: %s, its bonds back", hx(t->id.b).s,
              shown ? "accepting a tolerant-mode certificate is not punished"
                    : "no certificate stood after it");
    } else if (f->verdict == POL_VERDICT_REJECT) {
        if ((st = release(s, &f->held_verifier, f->verifier)) ||
            (st = jackpot_pay(g, s, t, f->verifier, &paid)))
            return st;
        logf_(g, "task %s: forced error caught by verifier %s, jackpot %llu paid", hx(t->id.b).s,
              hx(f->verifier).s, (unsigned long long)paid);
    } else if (f->has_whistleblower) {
        if ((st = release(s, &f->held_verifier, f->whistleblower)) ||
            (st = release(s, &f->held_whistleblower, f->whistleblower)) ||
            (st = jackpot_pay(g, s, t, f->whistleblower, &paid)))
            return st;
        logf_(g, "task %s: forced error accepted by verifier %s, caught by whistleblower "
              "%s: bond %llu and jackpot %llu paid", hx(t->id.b).s, hx(f->verifier).s,
              hx(f->whistleblower).s, (unsigned long long)bond, (unsigned long long)paid);
    } else {
        if ((st = to_pool(s, &f->held_verifier)))
            return st;
        logf_(g, "task %s: forced error accepted by verifier %s: bond %llu slashed to the "
              "jackpot", hx(t->id.b).s, hx(f->verifier).s, (unsigned long long)bond);
    }
    memset(f, 0, sizeof *f);
    return POL_OK;
}

/* The task ends (SETTLED, FAILED) or its claim lapses (OPEN): the claim's
 * forced round is resolved [G-OUT-5]. */
static pol_status finish(pol_game *g, gstate *s, pol_game_task *t, uint32_t state,
                         uint32_t outcome)
{
    t->state = state;
    t->outcome = outcome;
    t->deadline_ms = 0;
    return forced_resolve(g, s, t, state == POL_GAME_TASK_SETTLED);
}

/* The solver is paid: bounty minus tax, its bond back; the verifier gets
 * the fee and its bond when pay_fee, else the fee returns to the submitter
 * (and any verifier bond still held goes back to the verifier)
 * [G-SETTLE-1]. */
static pol_status settle_accepted(pol_game *g, gstate *s, pol_game_task *t, int pay_fee,
                                  uint32_t outcome)
{
    pol_status st;
    uint64_t tax = ppm_of(t->held_bounty, g->gen.jackpot_tax_ppm);
    uint64_t pay = t->held_bounty - tax;
    t->held_bounty = tax;
    if ((st = to_pool(s, &t->held_bounty)) || (st = credit(s, t->solver, pay)) ||
        (st = release(s, &t->held_solver, t->solver)))
        return st;
    if (pay_fee && t->has_verifier) {
        if ((st = release(s, &t->held_fee, t->verifier)))
            return st;
    } else if ((st = release(s, &t->held_fee, t->submitter))) {
        return st;
    }
    if (t->has_verifier && (st = release(s, &t->held_verifier, t->verifier)))
        return st;
    if (t->has_whistleblower && (st = release(s, &t->held_whistleblower, t->whistleblower)))
        return st;
    logf_(g, "task %s: settled: solver %s paid %llu (tax %llu)%s",
          hx(t->id.b).s, hx(t->solver).s, (unsigned long long)pay, (unsigned long long)tax,
          pay_fee && t->has_verifier ? ", verifier fee paid" : ", fee back to the submitter");
    return finish(g, s, t, POL_GAME_TASK_SETTLED, outcome);
}

/* The outcome of a round whose certificate was not a forced error (or
 * whose task had its forced round) [G-OUT-2], [G-OUT-3]. */
static pol_status outcome_unforced(pol_game *g, gstate *s, pol_game_task *t, uint64_t at)
{
    if (!t->has_report || (t->verdict == POL_VERDICT_ACCEPT && !t->has_whistleblower))
        return settle_accepted(g, s, t, t->has_report, POL_GAME_OUT_ACCEPTED);
    if (t->verdict == POL_VERDICT_REJECT) {
        t->challenger_role = POL_GAME_ROLE_VERIFIER;
        memcpy(t->challenger, t->verifier, POL_PUBKEY_LEN);
    } else {
        t->challenger_role = POL_GAME_ROLE_WHISTLEBLOWER;
        memcpy(t->challenger, t->whistleblower, POL_PUBKEY_LEN);
    }
    t->state = POL_GAME_TASK_DISPUTE;
    t->deadline_ms = at + g->gen.dispute_window_ms;
    logf_(g, "task %s: dispute: %s %s against solver %s (ruling due by %llu)", hx(t->id.b).s,
          role_name(t->challenger_role), hx(t->challenger).s, hx(t->solver).s,
          (unsigned long long)t->deadline_ms);
    return POL_OK;
}

/* The verify window passed without a report, or the challenge window
 * closed [G-TIME-4]. */
static pol_status close_round(pol_game *g, gstate *s, pol_game_task *t, uint64_t at)
{
    if (!t->has_report)
        logf_(g, "task %s: no report by the verify deadline", hx(t->id.b).s);
    if (t->forced_done)
        return outcome_unforced(g, s, t, at);
    t->state = POL_GAME_TASK_AWAIT_REVEAL;
    t->deadline_ms = at + g->gen.reveal_window_ms;
    logf_(g, "task %s: round closed, solver %s must reveal by %llu", hx(t->id.b).s,
          hx(t->solver).s, (unsigned long long)t->deadline_ms);
    return POL_OK;
}

/* A forced error was revealed [G-OUT-1]: the round's report and challenge
 * wait, bonds held, for the task's end (forced_resolve). */
static pol_status outcome_forced(pol_game *g, pol_game_task *t, uint64_t at)
{
    pol_game_forced_round *f = &t->forced_round;
    memset(f, 0, sizeof *f);
    f->set = 1;
    f->ckpt_root = t->cert_root;
    if (t->has_report) {
        f->has_verifier = 1;
        memcpy(f->verifier, t->verifier, POL_PUBKEY_LEN);
        f->verdict = t->verdict;
        f->held_verifier = t->held_verifier;
        t->held_verifier = 0;
    }
    if (t->has_whistleblower) {
        f->has_whistleblower = 1;
        memcpy(f->whistleblower, t->whistleblower, POL_PUBKEY_LEN);
        f->held_whistleblower = t->held_whistleblower;
        t->held_whistleblower = 0;
    }
    logf_(g, "task %s: forced error revealed (%s); %s", hx(t->id.b).s,
          !t->has_report ? "no report"
          : t->verdict == POL_VERDICT_REJECT ? "the verifier rejected it"
          : t->has_whistleblower ? "the verifier accepted it, a whistleblower challenged"
                                 : "the verifier accepted it",
          t->has_report ? "its bonds are held until the task ends" : "nothing held");
    round_reset(t);
    t->forced_done = 1;
    t->outcome = POL_GAME_OUT_FORCED;
    t->state = POL_GAME_TASK_CLAIMED;
    t->rounds++;
    t->deadline_ms = at + g->gen.solve_window_ms;
    logf_(g, "task %s: round restarts, solver %s must submit by %llu", hx(t->id.b).s,
          hx(t->solver).s, (unsigned long long)t->deadline_ms);
    return POL_OK;
}

/* The deadline of task t expired: the party whose move it was loses
 * [G-TIME-5 .. G-TIME-7]. */
static pol_status expire(pol_game *g, gstate *s, pol_game_task *t)
{
    const uint64_t at = t->deadline_ms;
    pol_status st;
    switch (t->state) {
    case POL_GAME_TASK_CLAIMED: {
        uint64_t bond = t->held_solver;
        if ((st = release(s, &t->held_solver, t->submitter)))
            return st;
        logf_(g, "task %s: solver %s missed the solve deadline, bond %llu to the submitter; "
              "task open again", hx(t->id.b).s, hx(t->solver).s, (unsigned long long)bond);
        round_reset(t);
        beacon_clear(t);
        t->forced_done = 1; /* only a task's first claim draws [G-TIME-5] */
        t->has_solver = 0;
        memset(t->solver, 0, sizeof t->solver);
        return finish(g, s, t, POL_GAME_TASK_OPEN, POL_GAME_OUT_SOLVE_TIMEOUT);
    }
    case POL_GAME_TASK_SUBMITTED:
    case POL_GAME_TASK_REPORTED:
        return close_round(g, s, t, at);
    case POL_GAME_TASK_AWAIT_REVEAL: {
        const int reject = t->has_report && t->verdict == POL_VERDICT_REJECT;
        if (reject) {
            t->challenger_role = POL_GAME_ROLE_VERIFIER;
            memcpy(t->challenger, t->verifier, POL_PUBKEY_LEN);
        } else if (t->has_whistleblower) {
            t->challenger_role = POL_GAME_ROLE_WHISTLEBLOWER;
            memcpy(t->challenger, t->whistleblower, POL_PUBKEY_LEN);
        }
        if (t->challenger_role != POL_GAME_ROLE_NONE)
            st = release(s, &t->held_solver, t->challenger);
        else
            st = to_pool(s, &t->held_solver);
        if (st)
            return st;
        if (reject && (st = release(s, &t->held_fee, t->verifier)))
            return st;
        if (t->has_verifier && (st = release(s, &t->held_verifier, t->verifier)))
            return st;
        if (t->has_whistleblower &&
            (st = release(s, &t->held_whistleblower, t->whistleblower)))
            return st;
        if ((st = release(s, &t->held_fee, t->submitter)) ||
            (st = release(s, &t->held_bounty, t->submitter)))
            return st;
        logf_(g, "task %s: solver %s did not reveal: bond to %s, bounty back to the submitter",
              hx(t->id.b).s, hx(t->solver).s,
              t->challenger_role != POL_GAME_ROLE_NONE ? role_name(t->challenger_role)
                                                       : "the jackpot");
        return finish(g, s, t, POL_GAME_TASK_FAILED, POL_GAME_OUT_REVEAL_TIMEOUT);
    }
    case POL_GAME_TASK_DISPUTE:
        if ((st = release(s, &t->held_solver, t->solver)) ||
            (t->has_verifier && (st = release(s, &t->held_verifier, t->verifier))) ||
            (t->has_whistleblower &&
             (st = release(s, &t->held_whistleblower, t->whistleblower))) ||
            (st = release(s, &t->held_fee, t->submitter)) ||
            (st = release(s, &t->held_bounty, t->submitter)))
            return st;
        logf_(g, "task %s: no ruling in time: bonds back, bounty back to the submitter",
              hx(t->id.b).s);
        return finish(g, s, t, POL_GAME_TASK_FAILED, POL_GAME_OUT_DISPUTE_TIMEOUT);
    default:
        return pol_errorf(POL_ERR_INTERNAL, "game: deadline in state %u", t->state);
    }
}

static int has_deadline(uint32_t state)
{
    return state >= POL_GAME_TASK_CLAIMED && state <= POL_GAME_TASK_DISPUTE;
}

/* ------------------------------------------------------- deadline heap */

/* Between transactions the heap holds (deadline_ms, i) for exactly the
 * tasks i < n_task in a state with a deadline; its top is the smallest
 * deadline, ties to the smallest index. heap_fix(i) brings task i's entry
 * in line with the task as it is now; a transaction calls it for every
 * task it changed (those in its journal, those it appended) when it ends,
 * kept or undone, and a tick for each task it expires, at once. The heap's
 * layout may then differ from before, but not the set of its entries,
 * which is all that decides the order of due deadlines. Its arrays have
 * room for cap_task entries: no allocation during a transaction. */
static int due_less(due a, due b)
{
    return a.at < b.at || (a.at == b.at && a.i < b.i);
}

static void heap_set(gstate *s, size_t p, due d)
{
    s->heap[p] = d;
    s->heap_pos[d.i] = (uint32_t)(p + 1);
}

static void heap_up(gstate *s, size_t p)
{
    const due d = s->heap[p];
    while (p > 0) {
        const size_t q = (p - 1) / 2;
        if (!due_less(d, s->heap[q]))
            break;
        heap_set(s, p, s->heap[q]);
        p = q;
    }
    heap_set(s, p, d);
}

static void heap_down(gstate *s, size_t p)
{
    const due d = s->heap[p];
    for (;;) {
        size_t c = 2 * p + 1;
        if (c >= s->n_heap)
            break;
        if (c + 1 < s->n_heap && due_less(s->heap[c + 1], s->heap[c]))
            c++;
        if (!due_less(s->heap[c], d))
            break;
        heap_set(s, p, s->heap[c]);
        p = c;
    }
    heap_set(s, p, d);
}

/* Task i (i < cap_task; i >= n_task: a dropped task) as it is now. */
static void heap_fix(gstate *s, size_t i)
{
    const int want = i < s->n_task && has_deadline(s->task[i].state);
    const size_t p1 = s->heap_pos[i];
    if (!want) {
        if (!p1)
            return;
        s->heap_pos[i] = 0;
        const due last = s->heap[--s->n_heap];
        if (p1 - 1 < s->n_heap) {
            heap_set(s, p1 - 1, last);
            heap_up(s, p1 - 1);
            heap_down(s, s->heap_pos[last.i] - 1);
        }
        return;
    }
    const size_t p = p1 ? p1 - 1 : s->n_heap++;
    heap_set(s, p, (due){s->task[i].deadline_ms, (uint32_t)i});
    heap_up(s, p);
    heap_down(s, s->heap_pos[i] - 1);
}

/* Processes every deadline <= now in (deadline, index) order, each at its
 * own time [G-TIME-1], [G-TIME-2]: the heap's top while it is due. Windows
 * are >= 1 ms, so every step clears a deadline or moves it later: the loop
 * ends. */
static pol_status advance_state(pol_game *g, gstate *s, uint64_t now)
{
    while (s->n_heap && s->heap[0].at <= now) {
        const size_t best = s->heap[0].i;
        pol_game_task *t;
        POL_TRY(task_w(s, best, &t));
        POL_TRY(expire(g, s, t));
        heap_fix(s, best);
    }
    s->now = now;
    return POL_OK;
}

/* ----------------------------------------------------------------- rules */

static ptrdiff_t task_find(const gstate *s, const pol_digest *id)
{
    return kindex_find(s, &s->task_ix, task_key, id->b);
}

/* The action's task, which must be in `state`, to be changed (task_w). */
static pol_status need_task(gstate *s, const pol_game_action *a, uint32_t state,
                            pol_game_task **out)
{
    *out = NULL;
    const ptrdiff_t i = task_find(s, &a->task_id);
    if (i < 0)
        return pol_errorf(POL_ERR_RULES, "%s: no task %s", pol_game_kind_name(a->kind),
                          hx(a->task_id.b).s);
    if (s->task[i].state != state)
        return pol_errorf(POL_ERR_RULES, "%s: task %s is %s, not %s (or its deadline passed)",
                          pol_game_kind_name(a->kind), hx(a->task_id.b).s,
                          pol_game_task_state_name(s->task[i].state),
                          pol_game_task_state_name(state));
    return task_w(s, (size_t)i, out);
}

static pol_status debit(acct *who, uint64_t amount, const char *what)
{
    if (who->balance < amount)
        return pol_errorf(POL_ERR_RULES, "%s: balance %llu of %s is below %llu", what,
                          (unsigned long long)who->balance, hx(who->key).s,
                          (unsigned long long)amount);
    who->balance -= amount;
    return POL_OK;
}

static int same(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, POL_PUBKEY_LEN) == 0;
}

/* [G-POST-2]: a tolerant-mode task comes with its profile, an exact one
 * without. */
static pol_status profile_fits(const pol_game_action *a, const pol_task *task)
{
    if (task->mode != POL_MODE_TOLERANT) {
        if (a->profile_len)
            return pol_errorf(POL_ERR_RULES, "post_task: an exact-mode task takes no profile");
        return POL_OK;
    }
    if (!a->profile_len)
        return pol_errorf(POL_ERR_RULES, "post_task: a tolerant-mode task needs its profile "
                          "(a signed ProfileReport)");
    pol_profile_report r;
    pol_status st = pol_game_profile_open(a->profile, a->profile_len, &task->id, &r, NULL);
    pol_profile_report_free(&r);
    if (st != POL_OK)
        return pol_errorf(st, "post_task: profile: %s", pol_last_error());
    return POL_OK;
}

static pol_status rule_post(pol_game *g, gstate *s, acct *who, const pol_game_action *a)
{
    pol_task task;
    pol_status st = pol_task_parse(a->task_json, a->task_json_len, ".", &task);
    if (st != POL_OK)
        return pol_errorf(POL_ERR_RULES, "post_task: not a task: %s", pol_last_error());
    if ((st = profile_fits(a, &task)))
        return st;
    if (task_find(s, &task.id) >= 0)
        return pol_errorf(POL_ERR_RULES, "post_task: task %s already posted", hx(task.id.b).s);
    if (s->n_task >= POL_GAME_MAX_TASKS)
        return pol_errorf(POL_ERR_RULES, "post_task: the game holds %u tasks already",
                          POL_GAME_MAX_TASKS);
    if (s->n_task >= s->cap_task) /* state_reserve made room */
        return pol_errorf(POL_ERR_INTERNAL, "game: no room for task %zu", s->n_task);
    if (a->bounty + a->verifier_fee < a->bounty)
        return pol_errorf(POL_ERR_RULES, "post_task: bounty + verifier fee overflows");
    if ((st = debit(who, a->bounty + a->verifier_fee, "post_task")))
        return st;
    /* appended: a refusal drops it with the count, nothing to save */
    pol_game_task *t = &s->task[s->n_task];
    memset(t, 0, sizeof *t);
    if ((st = blob_put(g, a->task_json, a->task_json_len, &t->task_json)))
        return st;
    if (a->profile_len && (st = blob_put(g, a->profile, a->profile_len, &t->profile_env)))
        return st;
    s->n_task++;
    t->task_json_len = a->task_json_len;
    t->profile_env_len = a->profile_len;
    t->id = task.id;
    kindex_add(s, &s->task_ix, task_key, s->n_task - 1); /* a refusal removes it */
    t->state = POL_GAME_TASK_OPEN;
    t->posted_ms = s->now;
    memcpy(t->submitter, who->key, POL_PUBKEY_LEN);
    t->bounty = t->held_bounty = a->bounty;
    t->verifier_fee = t->held_fee = a->verifier_fee;
    t->solver_bond = a->solver_bond;
    t->verifier_bond = a->verifier_bond;
    t->challenge_bond = a->challenge_bond;
    logf_(g, "task %s: posted by %s (bounty %llu, fee %llu%s)", hx(t->id.b).s, hx(who->key).s,
          (unsigned long long)a->bounty, (unsigned long long)a->verifier_fee,
          a->profile_len ? ", tolerant mode, profiled" : "");
    return POL_OK;
}

static pol_status rule_claim(pol_game *g, gstate *s, acct *who, const pol_game_action *a,
                             pol_game_task **claimed)
{
    pol_game_task *t;
    pol_status st;
    if ((st = need_task(s, a, POL_GAME_TASK_OPEN, &t)))
        return st;
    if (same(who->key, t->submitter))
        return pol_errorf(POL_ERR_RULES, "claim: the submitter cannot solve its own task");
    if ((st = debit(who, t->solver_bond, "claim")))
        return st;
    round_reset(t);
    beacon_clear(t);
    t->held_solver = t->solver_bond;
    t->has_solver = 1;
    memcpy(t->solver, who->key, POL_PUBKEY_LEN);
    snprintf(t->solver_endpoint, sizeof t->solver_endpoint, "%s", a->endpoint);
    t->commit = a->commit;
    t->revealed = t->forced = 0;
    t->state = POL_GAME_TASK_CLAIMED;
    t->deadline_ms = s->now + g->gen.solve_window_ms;
    t->rounds++;
    *claimed = t; /* claim_chain is set once the chain is extended */
    logf_(g, "task %s: claimed by %s (bond %llu, certificate due by %llu)", hx(t->id.b).s,
          hx(who->key).s, (unsigned long long)t->solver_bond,
          (unsigned long long)t->deadline_ms);
    return POL_OK;
}

/* Opens an inner envelope of `type` and requires `signer` to have signed it. */
static pol_status open_inner(const pol_game_action *a, uint32_t type, const uint8_t *signer,
                             uint8_t **body, size_t *body_len)
{
    uint8_t who[POL_PUBKEY_LEN];
    pol_status st = pol_envelope_open(a->inner, a->inner_len, type, body, body_len, who);
    if (st != POL_OK)
        return pol_errorf(st, "%s: inner envelope: %s", pol_game_kind_name(a->kind),
                          pol_last_error());
    if (!same(who, signer)) {
        free(*body);
        *body = NULL;
        return pol_errorf(POL_ERR_RULES, "%s: inner envelope signed by %s, not by the actor %s",
                          pol_game_kind_name(a->kind), hx(who).s, hx(signer).s);
    }
    return POL_OK;
}

static pol_status cert_fits(const pol_game_task *t, const uint8_t *signer, const pol_cert *c)
{
    pol_task task;
    pol_status st;
    if ((st = pol_cert_check(c)))
        return pol_errorf(POL_ERR_RULES, "submit_cert: %s", pol_last_error());
    if (!pol_digest_equal(&c->task_id, &t->id))
        return pol_errorf(POL_ERR_RULES, "submit_cert: certificate is for task %s",
                          hx(c->task_id.b).s);
    if (!same(c->solver_key, signer))
        return pol_errorf(POL_ERR_RULES, "submit_cert: certificate names solver %s",
                          hx(c->solver_key).s);
    if ((st = pol_task_parse(t->task_json, t->task_json_len, ".", &task)))
        return pol_errorf(POL_ERR_INTERNAL, "submit_cert: stored task: %s", pol_last_error());
    if (c->steps != task.steps || c->checkpoint_every != task.checkpoint_every ||
        c->mode != (uint32_t)task.mode)
        return pol_errorf(POL_ERR_RULES, "submit_cert: steps, checkpoint interval or mode "
                          "differ from the task's");
    if (c->has_parent)
        return pol_errorf(POL_ERR_RULES, "submit_cert: the certificate continues another "
                          "(has a parent); a game's task is trained from its initialisation");
    return POL_OK;
}

static pol_status rule_cert(pol_game *g, gstate *s, acct *who, const pol_game_action *a)
{
    pol_game_task *t;
    pol_status st;
    if ((st = need_task(s, a, POL_GAME_TASK_CLAIMED, &t)))
        return st;
    if (!same(who->key, t->solver))
        return pol_errorf(POL_ERR_RULES, "submit_cert: %s is not the task's solver",
                          hx(who->key).s);
    if (!t->has_beacon)
        return pol_errorf(POL_ERR_RULES, "submit_cert: task %s has no beacon yet (the referee "
                          "applies one right after the claim; submit once it is in)",
                          hx(t->id.b).s);
    uint8_t *body;
    size_t body_len;
    if ((st = open_inner(a, POL_MSG_CERTIFICATE, who->key, &body, &body_len)))
        return st;
    pol_cert c;
    st = pol_cert_decode(body, body_len, &c);
    free(body);
    if (st != POL_OK)
        return pol_errorf(st, "submit_cert: %s", pol_last_error());
    st = cert_fits(t, who->key, &c);
    const pol_digest root = c.ckpt_root;
    pol_cert_free(&c);
    if (st != POL_OK)
        return st;
    if (t->forced_round.set && pol_digest_equal(&root, &t->forced_round.ckpt_root))
        return pol_errorf(POL_ERR_RULES, "submit_cert: checkpoint root %s is the forced "
                          "round's; the restarted round needs another certificate",
                          hx(root.b).s);
    if ((st = blob_put(g, a->inner, a->inner_len, &t->cert_env)) ||
        (st = pol_envelope_id(a->inner, a->inner_len, &t->cert_id)))
        return st;
    t->cert_env_len = a->inner_len;
    t->cert_root = root;
    t->has_cert = 1;
    t->state = POL_GAME_TASK_SUBMITTED;
    t->deadline_ms = s->now + g->gen.verify_window_ms;
    logf_(g, "task %s: certificate %s submitted by %s (report due by %llu)", hx(t->id.b).s,
          hx(t->cert_id.b).s, hx(who->key).s, (unsigned long long)t->deadline_ms);
    return POL_OK;
}

static pol_status rule_report(pol_game *g, gstate *s, acct *who, const pol_game_action *a)
{
    pol_game_task *t;
    pol_status st;
    if ((st = need_task(s, a, POL_GAME_TASK_SUBMITTED, &t)))
        return st;
    if (same(who->key, t->solver) || same(who->key, t->submitter))
        return pol_errorf(POL_ERR_RULES, "submit_report: the solver or submitter cannot verify");
    uint8_t *body;
    size_t body_len;
    if ((st = open_inner(a, POL_MSG_REPORT, who->key, &body, &body_len)))
        return st;
    pol_report r;
    st = pol_report_decode(body, body_len, &r);
    free(body);
    if (st != POL_OK)
        return pol_errorf(st, "submit_report: %s", pol_last_error());
    const int fits = pol_digest_equal(&r.cert_id, &t->cert_id) &&
                     pol_digest_equal(&r.task_id, &t->id) && same(r.verifier_key, who->key);
    const uint32_t verdict = r.verdict;
    pol_report_free(&r);
    if (!fits)
        return pol_errorf(POL_ERR_RULES, "submit_report: the report is not about this task's "
                          "current certificate, or names another verifier");
    if ((st = debit(who, t->verifier_bond, "submit_report")))
        return st;
    if ((st = blob_put(g, a->inner, a->inner_len, &t->report_env)) ||
        (st = pol_envelope_id(a->inner, a->inner_len, &t->report_id)))
        return st;
    t->report_env_len = a->inner_len;
    t->has_report = 1;
    t->verdict = verdict;
    t->held_verifier = t->verifier_bond;
    t->has_verifier = 1;
    memcpy(t->verifier, who->key, POL_PUBKEY_LEN);
    snprintf(t->verifier_endpoint, sizeof t->verifier_endpoint, "%s", a->endpoint);
    t->state = POL_GAME_TASK_REPORTED;
    t->deadline_ms = s->now + g->gen.challenge_window_ms;
    logf_(g, "task %s: report %s by verifier %s: %s (bond %llu, challenges until %llu)",
          hx(t->id.b).s, hx(t->report_id.b).s, hx(who->key).s,
          verdict == POL_VERDICT_ACCEPT ? "accept" : "reject",
          (unsigned long long)t->verifier_bond, (unsigned long long)t->deadline_ms);
    return POL_OK;
}

static pol_status rule_challenge(pol_game *g, gstate *s, acct *who, const pol_game_action *a)
{
    pol_game_task *t;
    pol_status st;
    if ((st = need_task(s, a, POL_GAME_TASK_REPORTED, &t)))
        return st;
    if (t->verdict != POL_VERDICT_ACCEPT)
        return pol_errorf(POL_ERR_RULES, "challenge: only an accepting report can be challenged");
    if (t->has_whistleblower)
        return pol_errorf(POL_ERR_RULES, "challenge: this round was challenged already");
    if (same(who->key, t->solver) || same(who->key, t->submitter) ||
        same(who->key, t->verifier))
        return pol_errorf(POL_ERR_RULES, "challenge: the solver, verifier or submitter cannot "
                          "challenge");
    if (!pol_digest_equal(&a->report_id, &t->report_id))
        return pol_errorf(POL_ERR_RULES, "challenge: report %s is not the task's report %s",
                          hx(a->report_id.b).s, hx(t->report_id.b).s);
    if ((st = debit(who, t->challenge_bond, "challenge")))
        return st;
    t->held_whistleblower = t->challenge_bond;
    t->has_whistleblower = 1;
    memcpy(t->whistleblower, who->key, POL_PUBKEY_LEN);
    snprintf(t->whistleblower_endpoint, sizeof t->whistleblower_endpoint, "%s", a->endpoint);
    logf_(g, "task %s: challenged by whistleblower %s (bond %llu)", hx(t->id.b).s,
          hx(who->key).s, (unsigned long long)t->challenge_bond);
    return POL_OK;
}

static pol_status rule_reveal(pol_game *g, gstate *s, acct *who, const pol_game_action *a)
{
    pol_game_task *t;
    pol_status st;
    if ((st = need_task(s, a, POL_GAME_TASK_AWAIT_REVEAL, &t)))
        return st;
    if (!same(who->key, t->solver))
        return pol_errorf(POL_ERR_RULES, "reveal: %s is not the task's solver", hx(who->key).s);
    pol_digest c;
    int forced;
    if ((st = pol_game_commit(a->secret, &c)))
        return st;
    if (!pol_digest_equal(&c, &t->commit))
        return pol_errorf(POL_ERR_RULES, "reveal: the secret does not open the claim's commit");
    if ((st = pol_game_forced_draw(a->secret, &t->id, t->beacon, g->gen.forced_error_ppm,
                                   &forced)))
        return st;
    t->revealed = 1;
    t->forced = forced;
    logf_(g, "task %s: solver %s revealed: %s", hx(t->id.b).s, hx(who->key).s,
          forced ? "forced error" : "no forced error");
    return forced ? outcome_forced(g, t, s->now) : outcome_unforced(g, s, t, s->now);
}

/* [G-BEACON-1]: the referee's randomness for the claim's draw, once. */
static pol_status rule_beacon(pol_game *g, gstate *s, const pol_game_action *a)
{
    pol_game_task *t;
    pol_status st;
    if ((st = need_task(s, a, POL_GAME_TASK_CLAIMED, &t)))
        return st;
    if (t->has_beacon)
        return pol_errorf(POL_ERR_RULES, "beacon: task %s has its beacon already (one per claim)",
                          hx(t->id.b).s);
    t->has_beacon = 1;
    memcpy(t->beacon, a->beacon, sizeof t->beacon);
    logf_(g, "task %s: beacon %s from the referee (round %llu)", hx(t->id.b).s,
          hx(a->beacon).s, (unsigned long long)t->rounds);
    return POL_OK;
}

static pol_status rule_ruling(pol_game *g, gstate *s, const pol_game_action *a)
{
    pol_game_task *t;
    pol_status st;
    if ((st = need_task(s, a, POL_GAME_TASK_DISPUTE, &t)))
        return st;
    t->has_ruling = 1;
    t->loser = a->loser;
    t->reason = a->reason;
    t->pin_kind = a->pin_kind;
    t->interval = a->interval;
    t->step = a->step;
    t->node = a->node;
    t->transcript = a->transcript;
    const int by_v = t->challenger_role == POL_GAME_ROLE_VERIFIER;
    uint64_t *cbond = by_v ? &t->held_verifier : &t->held_whistleblower;
    logf_(g, "task %s: ruling: %s lost (%s)", hx(t->id.b).s,
          a->loser == POL_GAME_LOSER_SOLVER ? "solver" : role_name(t->challenger_role),
          pol_dispute_reason_name((pol_dispute_reason)a->reason));
    if (a->loser == POL_GAME_LOSER_SOLVER) {
        if ((st = release(s, &t->held_solver, t->challenger)) ||
            (st = release(s, cbond, t->challenger)) ||
            (!by_v && (st = release(s, &t->held_verifier, t->challenger))) ||
            (st = release(s, &t->held_fee, t->submitter)) ||
            (st = release(s, &t->held_bounty, t->submitter)))
            return st;
        return finish(g, s, t, POL_GAME_TASK_FAILED, POL_GAME_OUT_RULED_SOLVER);
    }
    if ((st = release(s, cbond, t->solver)))
        return st;
    return settle_accepted(g, s, t, !by_v, POL_GAME_OUT_RULED_CHALLENGER);
}

/* ------------------------------------------------------------- the game */

pol_status pol_game_profile_open(const uint8_t *env, size_t len, const pol_digest *task_id,
                                 pol_profile_report *out, uint8_t signer[POL_PUBKEY_LEN])
{
    uint8_t *body = NULL, who[POL_PUBKEY_LEN];
    size_t body_len = 0;
    memset(out, 0, sizeof *out);
    if (signer)
        memset(signer, 0, POL_PUBKEY_LEN);
    pol_status st = pol_envelope_open(env, len, POL_MSG_PROFILE, &body, &body_len, who);
    if (st != POL_OK)
        return st;
    st = pol_profile_report_decode(body, body_len, out);
    free(body);
    if (st != POL_OK)
        return st;
    if (task_id && !pol_digest_equal(&out->task_id, task_id)) {
        st = pol_errorf(POL_ERR_RULES, "the profile is for task %s, not %s",
                        hx(out->task_id.b).s, hx(task_id->b).s);
        pol_profile_report_free(out);
        return st;
    }
    if (signer)
        memcpy(signer, who, POL_PUBKEY_LEN);
    return POL_OK;
}

pol_status pol_game_commit(const uint8_t secret[32], pol_digest *out)
{
    uint8_t m[sizeof POL_GAME_TAG_SECRET + 32];
    memcpy(m, POL_GAME_TAG_SECRET, sizeof POL_GAME_TAG_SECRET); /* with its NUL */
    memcpy(m + sizeof POL_GAME_TAG_SECRET, secret, 32);
    return pol_sha256(m, sizeof m, out);
}

pol_status pol_game_forced_draw(const uint8_t secret[32], const pol_digest *task_id,
                                const uint8_t beacon[32], uint32_t ppm, int *forced)
{
    *forced = 0;
    if (ppm > POL_GAME_PPM)
        return pol_errorf(POL_ERR_INVALID_ARG, "forced draw: ppm %u above 10^6", ppm);
    const size_t t = sizeof POL_GAME_TAG_FORCED;
    uint8_t m[sizeof POL_GAME_TAG_FORCED + 96];
    memcpy(m, POL_GAME_TAG_FORCED, t);
    memcpy(m + t, secret, 32);
    memcpy(m + t + 32, task_id->b, 32);
    memcpy(m + t + 64, beacon, 32);
    pol_digest h;
    POL_TRY(pol_sha256(m, sizeof m, &h));
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = (x << 8) | h.b[i];
    /* 10^6 does not divide 2^64, so floor((2^64 - 1) / 10^6) == floor(2^64 / 10^6). */
    *forced = x < (uint64_t)ppm * (UINT64_MAX / POL_GAME_PPM);
    return POL_OK;
}

pol_status pol_game_create(const uint8_t *genesis, size_t len, pol_game **out)
{
    *out = NULL;
    pol_game *g = calloc(1, sizeof *g);
    if (!g)
        return pol_errorf(POL_ERR_NOMEM, "game: create");
    pol_status st = pol_genesis_decode(genesis, len, &g->gen);
    if (st == POL_OK)
        st = pol_sha256(genesis, len, &g->id);
    if (st != POL_OK) {
        pol_game_destroy(g);
        return st;
    }
    g->s.acct = calloc(g->gen.n_accounts, sizeof *g->s.acct);
    if (!g->s.acct) {
        st = pol_errorf(POL_ERR_NOMEM, "game: %zu accounts", g->gen.n_accounts);
        pol_game_destroy(g); /* after the message: it reads g */
        return st;
    }
    g->s.n_acct = g->s.cap_acct = g->gen.n_accounts;
    g->total = g->gen.jackpot;
    for (size_t i = 0; i < g->gen.n_accounts; i++) {
        memcpy(g->s.acct[i].key, g->gen.accounts[i].key, POL_PUBKEY_LEN);
        g->s.acct[i].balance = g->gen.accounts[i].balance;
        g->total += g->gen.accounts[i].balance; /* no overflow: checked by the decoder */
    }
    /* the genesis keys are distinct (checked by the decoder) */
    if ((st = kindex_fit(&g->s, &g->s.acct_ix, acct_key, g->s.n_acct, g->s.cap_acct))) {
        pol_game_destroy(g);
        return st;
    }
    g->s.jackpot = g->gen.jackpot;
    g->s.now = g->gen.genesis_time_ms;
    g->s.chain = g->id;
    *out = g;
    return POL_OK;
}

void pol_game_destroy(pol_game *g)
{
    if (!g)
        return;
    state_free(&g->s);
    blob_rollback(g, 0);
    free(g->blob);
    free(g->logbuf);
    pol_genesis_free(&g->gen);
    free(g);
}

void pol_game_set_log(pol_game *g, pol_game_log_fn fn, void *user)
{
    g->log = fn;
    g->log_user = user;
}

static pol_status check_time(const pol_game *g, uint64_t now_ms)
{
    if (now_ms < g->s.now)
        return pol_errorf(POL_ERR_INVALID_ARG, "game: time %llu is before the clock %llu",
                          (unsigned long long)now_ms, (unsigned long long)g->s.now);
    if (now_ms > POL_GAME_MAX_TIME_MS)
        return pol_errorf(POL_ERR_INVALID_ARG, "game: time %llu past 2^62 ms",
                          (unsigned long long)now_ms);
    return POL_OK;
}

/* Starts a transaction on g->s: an empty journal that remembers the
 * scalars, the counts and the blobs as they are now. */
static void txn_begin(pol_game *g)
{
    gstate *s = &g->s;
    journal *j = &s->j;
    j->txn++;
    j->now = s->now;
    j->jackpot = s->jackpot;
    j->n_applied = s->n_applied;
    j->chain = s->chain;
    j->n_acct = s->n_acct;
    j->n_task = s->n_task;
    j->n_blob = g->n_blob;
    j->n_saved_acct = j->n_saved_task = 0;
    g->log_len = 0;
}

/* Ends the transaction: keeps its changes and sends its log lines (st ==
 * POL_OK), or undoes every change, newest first, and drops its blobs and
 * log lines. Returns st. */
static pol_status txn_end(pol_game *g, pol_status st)
{
    gstate *s = &g->s;
    journal *j = &s->j;
    if (st == POL_OK) {
        log_flush(g);
        for (size_t k = 0; k < j->n_saved_task; k++)
            heap_fix(s, j->task[k].i);
        for (size_t i = j->n_task; i < s->n_task; i++)
            heap_fix(s, i);
    } else {
        for (size_t k = j->n_saved_task; k-- > 0;)
            s->task[j->task[k].i] = j->task[k].old;
        for (size_t k = 0; k < j->n_saved_task; k++)
            heap_fix(s, j->task[k].i);
        while (j->n_saved_acct) {
            const saved_acct *e = &j->acct[--j->n_saved_acct];
            s->acct[e->i] = e->old;
        }
        /* appended entries leave the indices, newest first, while their
         * keys are still in place */
        while (s->n_acct > j->n_acct)
            kindex_remove(s, &s->acct_ix, acct_key, --s->n_acct);
        while (s->n_task > j->n_task) {
            kindex_remove(s, &s->task_ix, task_key, --s->n_task);
            heap_fix(s, s->n_task);
        }
        s->now = j->now;
        s->jackpot = j->jackpot;
        s->n_applied = j->n_applied;
        s->chain = j->chain;
        blob_rollback(g, j->n_blob);
        g->log_len = 0;
    }
    j->n_saved_acct = j->n_saved_task = 0;
    /* a tick that expired many deadlines grew the journal: give it back */
    if (j->cap_saved_task > 64) {
        free(j->task);
        j->task = NULL;
        j->cap_saved_task = 0;
    }
    if (j->cap_saved_acct > 1024) {
        free(j->acct);
        j->acct = NULL;
        j->cap_saved_acct = 0;
    }
    return st;
}

static pol_status apply_rules(pol_game *g, gstate *s, const pol_game_action *a,
                              const uint8_t signer[POL_PUBKEY_LEN], const pol_digest *env_id)
{
    pol_status st;
    ptrdiff_t ai = acct_find(s, signer);
    if (ai < 0) {
        if (s->n_acct >= POL_GAME_MAX_ACCOUNTS)
            return pol_errorf(POL_ERR_RULES, "game: the game holds %u accounts already",
                              POL_GAME_MAX_ACCOUNTS);
        if (s->n_acct >= s->cap_acct) /* state_reserve made room */
            return pol_errorf(POL_ERR_INTERNAL, "game: no room for account %zu", s->n_acct);
        /* appended: a refusal drops it with the count, nothing to save */
        ai = (ptrdiff_t)s->n_acct++;
        memset(&s->acct[ai], 0, sizeof s->acct[ai]);
        memcpy(s->acct[ai].key, signer, POL_PUBKEY_LEN);
        kindex_add(s, &s->acct_ix, acct_key, (size_t)ai); /* a refusal removes it */
    }
    acct *who;
    if ((st = acct_w(s, (size_t)ai, &who)))
        return st;
    if (a->kind == POL_GAME_RULING || a->kind == POL_GAME_BEACON) {
        if (!same(signer, g->gen.referee_key))
            return pol_errorf(POL_ERR_RULES, "%s: signed by %s, not by the referee",
                              pol_game_kind_name(a->kind), hx(signer).s);
    } else if (same(signer, g->gen.referee_key)) {
        return pol_errorf(POL_ERR_RULES, "%s: the referee only signs rulings and beacons",
                          pol_game_kind_name(a->kind));
    }
    pol_game_task *claimed = NULL;
    switch (a->kind) {
    case POL_GAME_POST_TASK: st = rule_post(g, s, who, a); break;
    case POL_GAME_CLAIM: st = rule_claim(g, s, who, a, &claimed); break;
    case POL_GAME_SUBMIT_CERT: st = rule_cert(g, s, who, a); break;
    case POL_GAME_SUBMIT_REPORT: st = rule_report(g, s, who, a); break;
    case POL_GAME_CHALLENGE: st = rule_challenge(g, s, who, a); break;
    case POL_GAME_REVEAL: st = rule_reveal(g, s, who, a); break;
    case POL_GAME_RULING: st = rule_ruling(g, s, a); break;
    case POL_GAME_BEACON: st = rule_beacon(g, s, a); break;
    default: st = pol_errorf(POL_ERR_INTERNAL, "game: action kind %u", a->kind); break;
    }
    if (st != POL_OK)
        return st;
    who->nonce = a->nonce;
    s->n_applied++;
    /* [G-CHAIN-1] chain = H(tag 0x00 || chain || u64le now || envelope id) */
    uint8_t m[sizeof POL_GAME_TAG_LEDGER + 32 + 8 + 32];
    size_t o = sizeof POL_GAME_TAG_LEDGER;
    memcpy(m, POL_GAME_TAG_LEDGER, o);
    memcpy(m + o, s->chain.b, 32);
    for (int i = 0; i < 8; i++)
        m[o + 32 + i] = (uint8_t)(s->now >> (8 * i));
    memcpy(m + o + 40, env_id->b, 32);
    if ((st = pol_sha256(m, sizeof m, &s->chain)))
        return st;
    if (claimed)
        claimed->claim_chain = s->chain;
    return POL_OK;
}

pol_status pol_game_apply(pol_game *g, const uint8_t *env, size_t len, uint64_t now_ms,
                          pol_game_applied *info)
{
    memset(info, 0, sizeof *info);
    pol_status st = check_time(g, now_ms);
    if (st != POL_OK)
        return st;
    uint8_t *body, signer[POL_PUBKEY_LEN];
    size_t body_len;
    if ((st = pol_envelope_open(env, len, POL_MSG_GAME_ACTION, &body, &body_len, signer)))
        return st;
    pol_game_action a;
    st = pol_game_action_decode(body, body_len, &a);
    free(body);
    if (st != POL_OK)
        return st;
    pol_digest env_id;
    ptrdiff_t ai = acct_find(&g->s, signer);
    const uint64_t last = ai < 0 ? 0 : g->s.acct[ai].nonce;
    if (!pol_digest_equal(&a.game_id, &g->id))
        st = pol_errorf(POL_ERR_RULES, "%s: game id %s is not this game's %s",
                        pol_game_kind_name(a.kind), hx(a.game_id.b).s, hx(g->id.b).s);
    else if (a.nonce != last + 1)
        st = pol_errorf(POL_ERR_RULES, "%s: nonce %llu of %s, want %llu",
                        pol_game_kind_name(a.kind), (unsigned long long)a.nonce, hx(signer).s,
                        (unsigned long long)last + 1);
    else
        st = pol_envelope_id(env, len, &env_id);
    if (st != POL_OK) {
        pol_game_action_free(&a);
        return st;
    }
    if ((st = state_reserve(&g->s))) {
        pol_game_action_free(&a);
        return st;
    }
    gstate *s = &g->s;
    txn_begin(g);
    st = advance_state(g, s, now_ms);
    if (st == POL_OK)
        st = apply_rules(g, s, &a, signer, &env_id);
    if (st == POL_OK) {
        info->seq = s->n_applied;
        info->kind = a.kind;
        memcpy(info->signer, signer, POL_PUBKEY_LEN);
        info->envelope_id = env_id;
        info->task_id = a.task_id;
        info->chain = s->chain;
        if (a.kind == POL_GAME_POST_TASK)
            info->task_id = s->task[s->n_task - 1].id;
    }
    pol_game_action_free(&a);
    st = txn_end(g, st);
    if (st != POL_OK)
        memset(info, 0, sizeof *info);
    return st;
}

pol_status pol_game_advance(pol_game *g, uint64_t now_ms)
{
    pol_status st = check_time(g, now_ms);
    if (st != POL_OK)
        return st;
    txn_begin(g);
    return txn_end(g, advance_state(g, &g->s, now_ms));
}

int pol_game_next_deadline(const pol_game *g, uint64_t *deadline_ms)
{
    *deadline_ms = g->s.n_heap ? g->s.heap[0].at : 0;
    return g->s.n_heap != 0;
}

/* ------------------------------------------------------------- invariants */

static int add_ok(uint64_t *sum, uint64_t v)
{
    if (*sum + v < *sum)
        return 0;
    *sum += v;
    return 1;
}

/* [G-INV-2]: a forced round's held bonds, and none outside a claim. */
static pol_status forced_check(const pol_game_task *t, size_t i)
{
    const pol_game_forced_round *f = &t->forced_round;
    static const pol_game_forced_round none;
    const int claim = t->state >= POL_GAME_TASK_CLAIMED && t->state <= POL_GAME_TASK_DISPUTE;
    if (!f->set || !claim) {
        if (memcmp(f, &none, sizeof none))
            return pol_errorf(POL_ERR_INTERNAL, "game: task %zu (%s) keeps a forced round", i,
                              pol_game_task_state_name(t->state));
        return POL_OK;
    }
    if (!t->forced_done || f->held_verifier != (f->has_verifier ? t->verifier_bond : 0) ||
        f->held_whistleblower != (f->has_whistleblower ? t->challenge_bond : 0) ||
        (f->has_whistleblower && (!f->has_verifier || f->verdict != POL_VERDICT_ACCEPT)))
        return pol_errorf(POL_ERR_INTERNAL, "game: task %zu: forced round's bonds", i);
    return POL_OK;
}

/* [G-INV-2], [G-INV-3]: escrow and deadline by state. */
static pol_status task_check(const gstate *s, size_t i)
{
    const pol_game_task *t = &s->task[i];
    const char *sn = pol_game_task_state_name(t->state);
    if (t->state < POL_GAME_TASK_OPEN || t->state > POL_GAME_TASK_FAILED)
        return pol_errorf(POL_ERR_INTERNAL, "game: task %zu in state %u", i, t->state);
    POL_TRY(forced_check(t, i));
    if (t->state >= POL_GAME_TASK_SETTLED) {
        if (t->held_bounty || t->held_fee || t->held_solver || t->held_verifier ||
            t->held_whistleblower || t->deadline_ms)
            return pol_errorf(POL_ERR_INTERNAL, "game: task %zu is %s but holds escrow", i, sn);
        return POL_OK;
    }
    if (t->held_bounty != t->bounty || t->held_fee != t->verifier_fee)
        return pol_errorf(POL_ERR_INTERNAL, "game: task %zu (%s): bounty or fee not held", i, sn);
    if (t->state == POL_GAME_TASK_OPEN) {
        if (t->held_solver || t->held_verifier || t->held_whistleblower || t->has_solver ||
            t->has_beacon)
            return pol_errorf(POL_ERR_INTERNAL, "game: open task %zu holds bonds or a beacon", i);
        return POL_OK;
    }
    if (t->deadline_ms <= s->now)
        return pol_errorf(POL_ERR_INTERNAL, "game: task %zu (%s): deadline %llu not after the "
                          "clock %llu", i, sn, (unsigned long long)t->deadline_ms,
                          (unsigned long long)s->now);
    if (!t->has_solver || t->held_solver != t->solver_bond)
        return pol_errorf(POL_ERR_INTERNAL, "game: task %zu (%s): solver bond not held", i, sn);
    if (t->held_verifier != (t->has_report ? t->verifier_bond : 0) ||
        t->has_verifier != t->has_report)
        return pol_errorf(POL_ERR_INTERNAL, "game: task %zu (%s): verifier bond", i, sn);
    if (t->held_whistleblower != (t->has_whistleblower ? t->challenge_bond : 0))
        return pol_errorf(POL_ERR_INTERNAL, "game: task %zu (%s): challenge bond", i, sn);
    if (t->state >= POL_GAME_TASK_SUBMITTED && !t->has_cert)
        return pol_errorf(POL_ERR_INTERNAL, "game: task %zu (%s) has no certificate", i, sn);
    if (t->state >= POL_GAME_TASK_SUBMITTED && !t->has_beacon)
        return pol_errorf(POL_ERR_INTERNAL, "game: task %zu (%s) has no beacon", i, sn);
    if (t->state == POL_GAME_TASK_REPORTED && !t->has_report)
        return pol_errorf(POL_ERR_INTERNAL, "game: task %zu (%s) has no report", i, sn);
    return POL_OK;
}

/* The deadline heap holds each task with a deadline, once, with its
 * deadline, in heap order. */
static pol_status heap_check(const gstate *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_task; i++) {
        const pol_game_task *t = &s->task[i];
        const size_t p1 = s->heap_pos[i];
        if (!has_deadline(t->state)) {
            if (p1)
                return pol_errorf(POL_ERR_INTERNAL, "game: task %zu without a deadline is in "
                                  "the deadline heap", i);
            continue;
        }
        n++;
        if (!p1 || p1 > s->n_heap || s->heap[p1 - 1].i != i ||
            s->heap[p1 - 1].at != t->deadline_ms)
            return pol_errorf(POL_ERR_INTERNAL, "game: task %zu: deadline heap entry", i);
    }
    if (n != s->n_heap)
        return pol_errorf(POL_ERR_INTERNAL, "game: %zu entries in the deadline heap, %zu tasks "
                          "with a deadline", s->n_heap, n);
    for (size_t p = 1; p < s->n_heap; p++)
        if (due_less(s->heap[p], s->heap[(p - 1) / 2]))
            return pol_errorf(POL_ERR_INTERNAL, "game: deadline heap out of order at %zu", p);
    return POL_OK;
}

pol_status pol_game_check(const pol_game *g)
{
    const gstate *s = &g->s;
    uint64_t sum = s->jackpot;
    for (size_t i = 0; i < s->n_acct; i++)
        if (!add_ok(&sum, s->acct[i].balance))
            return pol_errorf(POL_ERR_INTERNAL, "game: balances overflow");
    for (size_t i = 0; i < s->n_task; i++) {
        const pol_game_task *t = &s->task[i];
        if (!add_ok(&sum, t->held_bounty) || !add_ok(&sum, t->held_fee) ||
            !add_ok(&sum, t->held_solver) || !add_ok(&sum, t->held_verifier) ||
            !add_ok(&sum, t->held_whistleblower) ||
            !add_ok(&sum, t->forced_round.held_verifier) ||
            !add_ok(&sum, t->forced_round.held_whistleblower))
            return pol_errorf(POL_ERR_INTERNAL, "game: escrow overflows");
        POL_TRY(task_check(s, i));
    }
    POL_TRY(heap_check(s));
    if (sum != g->total)
        return pol_errorf(POL_ERR_INTERNAL, "game: balances + escrow + jackpot = %llu, total "
                          "supply %llu", (unsigned long long)sum, (unsigned long long)g->total);
    return POL_OK;
}

/* ---------------------------------------------------------------- queries */

void pol_game_id(const pol_game *g, pol_digest *out) { *out = g->id; }
void pol_game_chain(const pol_game *g, pol_digest *out) { *out = g->s.chain; }
uint64_t pol_game_now(const pol_game *g) { return g->s.now; }
uint64_t pol_game_n_applied(const pol_game *g) { return g->s.n_applied; }
uint64_t pol_game_jackpot(const pol_game *g) { return g->s.jackpot; }
uint64_t pol_game_total_supply(const pol_game *g) { return g->total; }

void pol_game_referee(const pol_game *g, uint8_t key[POL_PUBKEY_LEN])
{
    memcpy(key, g->gen.referee_key, POL_PUBKEY_LEN);
}

uint64_t pol_game_balance(const pol_game *g, const uint8_t key[POL_PUBKEY_LEN])
{
    ptrdiff_t i = acct_find(&g->s, key);
    return i < 0 ? 0 : g->s.acct[i].balance;
}

uint64_t pol_game_nonce(const pol_game *g, const uint8_t key[POL_PUBKEY_LEN])
{
    ptrdiff_t i = acct_find(&g->s, key);
    return i < 0 ? 0 : g->s.acct[i].nonce;
}

size_t pol_game_n_accounts(const pol_game *g) { return g->s.n_acct; }

pol_status pol_game_account(const pol_game *g, size_t index, uint8_t key[POL_PUBKEY_LEN],
                            uint64_t *balance)
{
    if (index >= g->s.n_acct) {
        memset(key, 0, POL_PUBKEY_LEN);
        *balance = 0;
        return pol_errorf(POL_ERR_NOT_FOUND, "game: account %zu of %zu", index, g->s.n_acct);
    }
    memcpy(key, g->s.acct[index].key, POL_PUBKEY_LEN);
    *balance = g->s.acct[index].balance;
    return POL_OK;
}

size_t pol_game_n_tasks(const pol_game *g) { return g->s.n_task; }

pol_status pol_game_task_at(const pol_game *g, size_t index, pol_game_task *out)
{
    if (index >= g->s.n_task) {
        memset(out, 0, sizeof *out);
        return pol_errorf(POL_ERR_NOT_FOUND, "game: task %zu of %zu", index, g->s.n_task);
    }
    *out = g->s.task[index];
    return POL_OK;
}

pol_status pol_game_task_find(const pol_game *g, const pol_digest *id, pol_game_task *out)
{
    const ptrdiff_t i = task_find(&g->s, id);
    if (i >= 0)
        return pol_game_task_at(g, (size_t)i, out);
    memset(out, 0, sizeof *out);
    return pol_errorf(POL_ERR_NOT_FOUND, "game: no task %s", hx(id->b).s);
}

size_t pol_game_disputes(const pol_game *g, pol_game_dispute *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < g->s.n_task; i++) {
        const pol_game_task *t = &g->s.task[i];
        if (t->state != POL_GAME_TASK_DISPUTE)
            continue;
        if (n < cap) {
            pol_game_dispute *d = &out[n];
            d->task_id = t->id;
            memcpy(d->solver, t->solver, POL_PUBKEY_LEN);
            memcpy(d->challenger, t->challenger, POL_PUBKEY_LEN);
            d->challenger_role = t->challenger_role;
            snprintf(d->solver_endpoint, sizeof d->solver_endpoint, "%s", t->solver_endpoint);
            snprintf(d->challenger_endpoint, sizeof d->challenger_endpoint, "%s",
                     t->challenger_role == POL_GAME_ROLE_VERIFIER ? t->verifier_endpoint
                                                                   : t->whistleblower_endpoint);
            d->deadline_ms = t->deadline_ms;
            d->cert_env = t->cert_env;
            d->cert_env_len = t->cert_env_len;
            d->task_json = t->task_json;
            d->task_json_len = t->task_json_len;
            d->profile_env = t->profile_env;
            d->profile_env_len = t->profile_env_len;
        }
        n++;
    }
    return n;
}

const char *pol_game_task_state_name(uint32_t state)
{
    switch (state) {
    case POL_GAME_TASK_OPEN: return "open";
    case POL_GAME_TASK_CLAIMED: return "claimed";
    case POL_GAME_TASK_SUBMITTED: return "submitted";
    case POL_GAME_TASK_REPORTED: return "reported";
    case POL_GAME_TASK_AWAIT_REVEAL: return "await_reveal";
    case POL_GAME_TASK_DISPUTE: return "dispute";
    case POL_GAME_TASK_SETTLED: return "settled";
    case POL_GAME_TASK_FAILED: return "failed";
    default: return "?";
    }
}
