/* bench/game — the referee's cost of one game action and of one tick as the
 * game grows (spec/game.md, include/pol/game.h).
 *
 * Each row builds a game through the public API (signed actions only) with
 * N background tasks in a mix of states (open; claimed; claimed with the
 * referee's beacon; submitted; reported) plus REPS tasks for each timed
 * operation, then times, as medians over REPS runs of one call each:
 *
 *   claim          pol_game_apply of a claim on an open task
 *   report         pol_game_apply of an accepting report on a submitted task
 *                  (opens and checks the inner report envelope too)
 *   refused claim  pol_game_apply of a claim the rules refuse (the submitter
 *                  claims its own task): the game must stay as it was
 *   idle tick      pol_game_advance by 1 ms, no deadline due
 *   expiring tick  pol_game_advance to one claimed task's solve deadline:
 *                  that task times out (bond to the submitter, task open)
 *
 * The timing tasks are posted after the background ones, so every lookup of
 * a task by id passes all N of them. Envelopes are sealed before the clock
 * starts: the times are the referee's (signature checks included). Every
 * call's result is checked (status, the task's new state and outcome, the
 * moved balances, the action count and chain of a refused action) and the
 * game's invariants (pol_game_check, and the conservation of money summed
 * here through the query API) hold after the build and after the timings,
 * before anything is reported.
 *
 *   build/bench/game [--out DIR] [--quick] [--raw FILE]
 *                    [--before FILE --before-label TEXT --label TEXT]
 *
 * --raw FILE writes the medians as "N operation microseconds" lines;
 * --before FILE (such a file, from a build of an older library) adds the
 * older numbers and the ratio to the table, labelled --before-label; this
 * build's column is labelled --label.
 * scripts/bench-game-compare.sh runs both for a given older commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "pol/fileio.h"
#include "pol/game.h"
#include "pol/wire.h"

#define REPS 21
#define QUICK_REPS 5
#define WINDOW 1000000ull /* every window, ms: nothing expires unless the bench says so */
#define T0 1000000ull     /* genesis time */
#define BOUNTY 1000u
#define FEE 100u
#define SBOND 500u
#define VBOND 200u
#define CBOND 300u
#define FUNDS (1ull << 40) /* each funded party's starting balance */

enum { REF, SUB, SOL, VER, N_PARTY };

/* the timed operations, then the build's mean cost per action */
enum { OP_CLAIM, OP_REPORT, OP_REFUSED, OP_IDLE_TICK, OP_EXPIRE_TICK, OP_BUILD, N_OP };
static const char *const op_name[N_OP] = { "claim", "report", "refused claim", "idle tick",
                                           "expiring tick", "building: mean per action" };

typedef struct party {
    pol_keypair kp;
    uint8_t pub[POL_PUBKEY_LEN];
    uint64_t nonce; /* the last one the game applied */
} party;

typedef struct bg {
    party pt[N_PARTY];
    pol_digest gid;
    pol_game *g;
    uint64_t now;
    uint64_t rng;
} bg;

static void fail(const char *what)
{
    fprintf(stderr, "bench/game: %s (last error: %s)\n", what, pol_last_error());
    exit(1);
}

static void need(int ok, const char *what)
{
    if (!ok)
        fail(what);
}

static void fill(bg *b, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)bench_splitmix(&b->rng);
}

static void make_party(bg *b, party *p)
{
    uint8_t sk[32];
    do
        fill(b, sk, sizeof sk);
    while (pol_keypair_from_secret(sk, &p->kp) != POL_OK);
    need(pol_keypair_pubkey(&p->kp, p->pub) == POL_OK, "public key");
    p->nonce = 0;
}

static void game_new(bg *b, uint64_t seed)
{
    memset(b, 0, sizeof *b);
    b->rng = seed;
    for (int i = 0; i < N_PARTY; i++)
        make_party(b, &b->pt[i]);
    pol_genesis_account acc[N_PARTY - 1];
    pol_genesis gen = { 0 };
    memcpy(gen.referee_key, b->pt[REF].pub, POL_PUBKEY_LEN);
    for (int i = SUB; i < N_PARTY; i++) {
        memcpy(acc[i - 1].key, b->pt[i].pub, POL_PUBKEY_LEN);
        acc[i - 1].balance = FUNDS;
    }
    gen.n_accounts = N_PARTY - 1;
    gen.accounts = acc;
    gen.jackpot = 1000000;
    gen.jackpot_payout = 10000;
    gen.forced_error_ppm = 100000;
    gen.jackpot_tax_ppm = 20000;
    gen.solve_window_ms = gen.verify_window_ms = gen.challenge_window_ms = WINDOW;
    gen.reveal_window_ms = gen.dispute_window_ms = WINDOW;
    gen.genesis_time_ms = T0;
    uint8_t *buf;
    size_t len;
    need(pol_genesis_encode(&gen, &buf, &len) == POL_OK, "genesis");
    need(pol_sha256(buf, len, &b->gid) == POL_OK, "game id");
    need(pol_game_create(buf, len, &b->g) == POL_OK, "game");
    free(buf);
    b->now = T0;
}

/* An envelope of action a by party who, with the party's next nonce. */
typedef struct sealed {
    uint8_t *env;
    size_t len;
    int who;
} sealed;

static sealed seal(bg *b, int who, pol_game_action *a)
{
    sealed s = { NULL, 0, who };
    a->game_id = b->gid;
    a->nonce = b->pt[who].nonce + 1;
    need(pol_game_action_seal(a, &b->pt[who].kp, &s.env, &s.len) == POL_OK, "seal");
    return s;
}

/* Applies a sealed envelope at the bench's clock; the party's nonce moves
 * on success. */
static pol_status apply(bg *b, sealed *s, pol_game_applied *info)
{
    pol_status st = pol_game_apply(b->g, s->env, s->len, b->now, info);
    if (st == POL_OK)
        b->pt[s->who].nonce++;
    free(s->env);
    s->env = NULL;
    return st;
}

static void act(bg *b, int who, pol_game_action *a, const char *what)
{
    sealed s = seal(b, who, a);
    pol_game_applied info;
    if (apply(b, &s, &info) != POL_OK)
        fail(what);
}

/* A small exact-mode task; the seed makes each one distinct. */
static void task_text(unsigned seed, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "{\"format\":\"libpol-task-v1\",\"model\":{\"type\":\"mlp\",\"layers\":[4,6,2],"
             "\"activation\":\"gelu\"},\"dataset\":{\"path\":\"bench.safetensors\",\"sha256\":"
             "\"%064x\"},\"seed\":%u,\"steps\":8,\"batch_size\":4,\"checkpoint_every\":8,"
             "\"optimizer\":{\"type\":\"adamw\",\"lr\":0.001,\"weight_decay\":0.01},"
             "\"schedule\":{\"type\":\"constant\"},\"mode\":\"exact\"}",
             0x5eed, seed);
}

static void post(bg *b, unsigned seed, pol_digest *id)
{
    char json[1024];
    task_text(seed, json, sizeof json);
    pol_game_action a = { 0 };
    a.kind = POL_GAME_POST_TASK;
    a.task_json = (const uint8_t *)json;
    a.task_json_len = strlen(json);
    a.bounty = BOUNTY;
    a.verifier_fee = FEE;
    a.solver_bond = SBOND;
    a.verifier_bond = VBOND;
    a.challenge_bond = CBOND;
    need(pol_sha256(json, a.task_json_len, id) == POL_OK, "task id");
    act(b, SUB, &a, "post_task");
}

static pol_game_action claim_of(bg *b, const pol_digest *id)
{
    uint8_t secret[32];
    fill(b, secret, sizeof secret);
    pol_game_action a = { 0 };
    a.kind = POL_GAME_CLAIM;
    a.task_id = *id;
    need(pol_game_commit(secret, &a.commit) == POL_OK, "commit");
    snprintf(a.endpoint, sizeof a.endpoint, "127.0.0.1:7001");
    return a;
}

static void beacon(bg *b, const pol_digest *id)
{
    pol_game_action a = { 0 };
    a.kind = POL_GAME_BEACON;
    a.task_id = *id;
    fill(b, a.beacon, sizeof a.beacon);
    act(b, REF, &a, "beacon");
}

/* Submits a certificate of the solver for task id: *cert_id, its envelope id. */
static void submit(bg *b, const pol_digest *id, pol_digest *cert_id)
{
    pol_cert c;
    need(pol_cert_alloc(&c, 2) == POL_OK, "certificate");
    c.task_id = *id;
    memcpy(c.solver_key, b->pt[SOL].pub, POL_PUBKEY_LEN);
    c.mode = POL_MODE_EXACT;
    c.spec_version = 1;
    snprintf(c.device, sizeof c.device, "cpu");
    c.steps = c.checkpoint_every = 8;
    c.ckpt_steps[0] = 0;
    c.ckpt_steps[1] = 8;
    fill(b, c.ckpt_hashes[0].b, 32);
    fill(b, c.ckpt_hashes[1].b, 32);
    need(pol_merkle_root(c.ckpt_hashes, 2, &c.ckpt_root) == POL_OK, "merkle root");
    c.final_state_hash = c.ckpt_hashes[1];
    c.update_norms[0] = 0.25;
    uint8_t *body, *inner;
    size_t body_len, inner_len;
    need(pol_cert_encode(&c, &body, &body_len) == POL_OK, "certificate encoding");
    need(pol_envelope_seal(POL_MSG_CERTIFICATE, body, body_len, &b->pt[SOL].kp, &inner,
                           &inner_len) == POL_OK,
         "certificate envelope");
    need(pol_envelope_id(inner, inner_len, cert_id) == POL_OK, "certificate id");
    free(body);
    pol_cert_free(&c);
    pol_game_action a = { 0 };
    a.kind = POL_GAME_SUBMIT_CERT;
    a.task_id = *id;
    a.inner = inner;
    a.inner_len = inner_len;
    act(b, SOL, &a, "submit_cert");
    free(inner);
}

/* The verifier's accepting report on certificate cert_id of task id, sealed
 * (not applied). */
static sealed report_of(bg *b, const pol_digest *id, const pol_digest *cert_id)
{
    pol_report r;
    memset(&r, 0, sizeof r);
    r.cert_id = *cert_id;
    r.task_id = *id;
    memcpy(r.verifier_key, b->pt[VER].pub, POL_PUBKEY_LEN);
    r.verdict = POL_VERDICT_ACCEPT;
    r.cost_fraction = 0.5;
    fill(b, r.beacon, sizeof r.beacon);
    uint8_t *body, *inner;
    size_t body_len, inner_len;
    need(pol_report_encode(&r, &body, &body_len) == POL_OK, "report encoding");
    need(pol_envelope_seal(POL_MSG_REPORT, body, body_len, &b->pt[VER].kp, &inner, &inner_len) ==
             POL_OK,
         "report envelope");
    free(body);
    pol_game_action a = { 0 };
    a.kind = POL_GAME_SUBMIT_REPORT;
    a.task_id = *id;
    a.inner = inner;
    a.inner_len = inner_len;
    snprintf(a.endpoint, sizeof a.endpoint, "127.0.0.1:7002");
    sealed s = seal(b, VER, &a);
    free(inner);
    return s;
}

static pol_game_task task(bg *b, const pol_digest *id)
{
    pol_game_task t;
    need(pol_game_task_find(b->g, id, &t) == POL_OK, "task lookup");
    return t;
}

/* Money is conserved: free balances + every task's escrow + the jackpot ==
 * the total supply, summed here from the query API; and pol_game_check. */
static void check_money(bg *b)
{
    uint64_t sum = pol_game_jackpot(b->g);
    for (size_t i = 0; i < pol_game_n_accounts(b->g); i++) {
        uint8_t key[POL_PUBKEY_LEN];
        uint64_t v;
        need(pol_game_account(b->g, i, key, &v) == POL_OK, "account");
        sum += v;
    }
    for (size_t i = 0; i < pol_game_n_tasks(b->g); i++) {
        pol_game_task t;
        need(pol_game_task_at(b->g, i, &t) == POL_OK, "task");
        sum += t.held_bounty + t.held_fee + t.held_solver + t.held_verifier +
               t.held_whistleblower + t.forced_round.held_verifier +
               t.forced_round.held_whistleblower;
    }
    need(sum == pol_game_total_supply(b->g), "money is not conserved");
    need(pol_game_check(b->g) == POL_OK, "pol_game_check");
}

/* Tasks by state, [state] for states 1 .. 8. */
static void count_states(bg *b, size_t n[9])
{
    memset(n, 0, 9 * sizeof *n);
    for (size_t i = 0; i < pol_game_n_tasks(b->g); i++) {
        pol_game_task t;
        need(pol_game_task_at(b->g, i, &t) == POL_OK, "task");
        need(t.state >= 1 && t.state <= 8, "task state");
        n[t.state]++;
    }
}

static double us_since(double t0)
{
    return 1e6 * (bench_now() - t0);
}

typedef struct result {
    size_t n;            /* background tasks */
    size_t tasks;        /* tasks in the game when timed */
    double build_s;      /* building the game (every action signed and applied) */
    double us[N_OP];     /* medians */
} result;

/* One row: build a game with n background tasks, time, check. */
static void run_row(size_t n, int reps, uint64_t seed, result *res)
{
    bg b;
    game_new(&b, seed);
    const double t_build = bench_now();
    const size_t nt = n + 3 * (size_t)reps;
    pol_digest *id = malloc(nt * sizeof *id), *cert = malloc(nt * sizeof *cert);
    need(id && cert, "memory");
    /* every task posted at T0: background, then the claim, report and tick
     * targets */
    for (size_t i = 0; i < nt; i++)
        post(&b, (unsigned)i, &id[i]);
    pol_digest *claim_t = id + n, *report_t = id + n + reps, *tick_t = id + n + 2 * reps;
    /* the tick targets are claimed first, 1 ms apart: their solve deadlines
     * come before any other and one at a time */
    for (int j = 0; j < reps; j++) {
        b.now = T0 + 1 + (uint64_t)j;
        pol_game_action a = claim_of(&b, &tick_t[j]);
        act(&b, SOL, &a, "claim (tick target)");
    }
    b.now = T0 + 1 + (uint64_t)reps;
    /* background states by i mod 5: open, claimed, claimed with a beacon,
     * submitted, reported */
    for (size_t i = 0; i < n; i++) {
        const int k = (int)(i % 5);
        if (k >= 1) {
            pol_game_action a = claim_of(&b, &id[i]);
            act(&b, SOL, &a, "claim");
        }
        if (k >= 2)
            beacon(&b, &id[i]);
        if (k >= 3)
            submit(&b, &id[i], &cert[i]);
        if (k >= 4) {
            sealed s = report_of(&b, &id[i], &cert[i]);
            pol_game_applied info;
            need(apply(&b, &s, &info) == POL_OK, "report");
        }
    }
    for (int j = 0; j < reps; j++) { /* the report targets: submitted */
        pol_game_action a = claim_of(&b, &report_t[j]);
        act(&b, SOL, &a, "claim (report target)");
        beacon(&b, &report_t[j]);
        submit(&b, &report_t[j], &cert[n + reps + j]);
    }
    res->build_s = bench_now() - t_build;
    res->n = n;
    res->tasks = nt;
    res->us[OP_BUILD] = 1e6 * res->build_s / (double)pol_game_n_applied(b.g);
    need(pol_game_n_tasks(b.g) == nt, "task count");
    size_t st0[9];
    count_states(&b, st0);
    need(st0[POL_GAME_TASK_OPEN] == (n + 4) / 5 + (size_t)reps, "open tasks");
    need(st0[POL_GAME_TASK_CLAIMED] == (n + 3) / 5 + (n + 2) / 5 + (size_t)reps, "claimed tasks");
    need(st0[POL_GAME_TASK_SUBMITTED] == (n + 1) / 5 + (size_t)reps, "submitted tasks");
    need(st0[POL_GAME_TASK_REPORTED] == n / 5, "reported tasks");
    check_money(&b);

    double t[OP_BUILD][256];
    pol_game_applied info;
    /* claims on open tasks */
    for (int j = 0; j < reps; j++) {
        pol_game_action a = claim_of(&b, &claim_t[j]);
        sealed s = seal(&b, SOL, &a);
        const uint64_t bal = pol_game_balance(b.g, b.pt[SOL].pub);
        const uint64_t seq = pol_game_n_applied(b.g) + 1;
        const double t0 = bench_now();
        const pol_status st = apply(&b, &s, &info);
        t[OP_CLAIM][j] = us_since(t0);
        need(st == POL_OK && info.kind == POL_GAME_CLAIM && info.seq == seq &&
                 pol_digest_equal(&info.task_id, &claim_t[j]),
             "claim not applied");
        const pol_game_task tk = task(&b, &claim_t[j]);
        need(tk.state == POL_GAME_TASK_CLAIMED && tk.has_solver && tk.held_solver == SBOND &&
                 !memcmp(tk.solver, b.pt[SOL].pub, POL_PUBKEY_LEN) &&
                 pol_digest_equal(&tk.claim_chain, &info.chain),
             "claimed task");
        need(pol_game_balance(b.g, b.pt[SOL].pub) == bal - SBOND, "solver bond");
    }
    /* reports on submitted tasks */
    for (int j = 0; j < reps; j++) {
        sealed s = report_of(&b, &report_t[j], &cert[n + reps + j]);
        const uint64_t bal = pol_game_balance(b.g, b.pt[VER].pub);
        const double t0 = bench_now();
        const pol_status st = apply(&b, &s, &info);
        t[OP_REPORT][j] = us_since(t0);
        need(st == POL_OK && info.kind == POL_GAME_SUBMIT_REPORT, "report not applied");
        const pol_game_task tk = task(&b, &report_t[j]);
        need(tk.state == POL_GAME_TASK_REPORTED && tk.has_report &&
                 tk.verdict == POL_VERDICT_ACCEPT && tk.held_verifier == VBOND &&
                 tk.deadline_ms == b.now + WINDOW,
             "reported task");
        need(pol_game_balance(b.g, b.pt[VER].pub) == bal - VBOND, "verifier bond");
    }
    /* refused: the submitter claims its own task, one of the last open
     * background ones (indices 0, 5, 10, ...); nothing may change */
    const size_t n_open = (n + 4) / 5;
    for (int j = 0; j < reps; j++) {
        pol_game_action a = claim_of(&b, &id[5 * (n_open - 1 - (size_t)j % n_open)]);
        sealed s = seal(&b, SUB, &a);
        pol_digest c0, c1;
        pol_game_chain(b.g, &c0);
        const uint64_t bal = pol_game_balance(b.g, b.pt[SUB].pub);
        const uint64_t applied = pol_game_n_applied(b.g);
        const pol_game_task before = task(&b, &a.task_id);
        const double t0 = bench_now();
        const pol_status st = apply(&b, &s, &info);
        t[OP_REFUSED][j] = us_since(t0);
        pol_game_chain(b.g, &c1);
        const pol_game_task after = task(&b, &a.task_id);
        need(st == POL_ERR_RULES && pol_game_n_applied(b.g) == applied &&
                 pol_digest_equal(&c0, &c1) && pol_game_balance(b.g, b.pt[SUB].pub) == bal &&
                 pol_game_nonce(b.g, b.pt[SUB].pub) == b.pt[SUB].nonce &&
                 after.state == before.state && after.held_solver == before.held_solver &&
                 after.rounds == before.rounds,
             "refused claim changed the game");
    }
    check_money(&b);
    size_t st1[9];
    count_states(&b, st1);
    /* idle ticks: 1 ms each, before any deadline */
    for (int j = 0; j < reps; j++) {
        b.now++;
        const double t0 = bench_now();
        const pol_status st = pol_game_advance(b.g, b.now);
        t[OP_IDLE_TICK][j] = us_since(t0);
        need(st == POL_OK && pol_game_now(b.g) == b.now, "idle tick");
        uint64_t next;
        need(pol_game_next_deadline(b.g, &next) && next == T0 + 1 + WINDOW, "next deadline");
    }
    size_t st2[9];
    count_states(&b, st2);
    need(!memcmp(st1, st2, sizeof st1), "an idle tick changed a task");
    /* expiring ticks: each reaches the next tick target's solve deadline */
    for (int j = 0; j < reps; j++) {
        b.now = T0 + 1 + (uint64_t)j + WINDOW;
        const uint64_t bal = pol_game_balance(b.g, b.pt[SUB].pub);
        const double t0 = bench_now();
        const pol_status st = pol_game_advance(b.g, b.now);
        t[OP_EXPIRE_TICK][j] = us_since(t0);
        need(st == POL_OK, "expiring tick");
        const pol_game_task tk = task(&b, &tick_t[j]);
        need(tk.state == POL_GAME_TASK_OPEN && tk.outcome == POL_GAME_OUT_SOLVE_TIMEOUT &&
                 !tk.has_solver && !tk.held_solver,
             "timed-out task");
        need(pol_game_balance(b.g, b.pt[SUB].pub) == bal + SBOND, "bond to the submitter");
    }
    count_states(&b, st2);
    need(st2[POL_GAME_TASK_OPEN] == st1[POL_GAME_TASK_OPEN] + (size_t)reps &&
             st2[POL_GAME_TASK_CLAIMED] == st1[POL_GAME_TASK_CLAIMED] - (size_t)reps,
         "expiring ticks: states");
    check_money(&b);
    for (int o = 0; o < OP_BUILD; o++)
        res->us[o] = bench_median(t[o], reps);
    pol_game_destroy(b.g);
    for (int i = 0; i < N_PARTY; i++)
        pol_keypair_clear(&b.pt[i].kp);
    free(id);
    free(cert);
}

/* Older numbers: "N operation-index microseconds" lines. */
typedef struct before {
    size_t n[16];
    double us[16][N_OP];
    size_t rows;
} before;

static int before_read(const char *path, before *bf)
{
    memset(bf, 0, sizeof *bf);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n;
    int op;
    double us;
    while (fscanf(f, "%zu %d %lf", &n, &op, &us) == 3) {
        if (op < 0 || op >= N_OP)
            break;
        size_t r = 0;
        while (r < bf->rows && bf->n[r] != n)
            r++;
        if (r == bf->rows) {
            if (r == 16)
                break;
            bf->n[bf->rows++] = n;
        }
        bf->us[r][op] = us;
    }
    fclose(f);
    return 0;
}

static const double *before_of(const before *bf, size_t n)
{
    for (size_t r = 0; bf && r < bf->rows; r++)
        if (bf->n[r] == n)
            return bf->us[r];
    return NULL;
}

int main(int argc, char **argv)
{
    const char *out_dir = "bench/results", *raw = NULL, *before_path = NULL;
    const char *before_label = "before", *label = "this build";
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out_dir = argv[++i];
        else if (!strcmp(argv[i], "--raw") && i + 1 < argc) raw = argv[++i];
        else if (!strcmp(argv[i], "--before") && i + 1 < argc) before_path = argv[++i];
        else if (!strcmp(argv[i], "--before-label") && i + 1 < argc) before_label = argv[++i];
        else if (!strcmp(argv[i], "--label") && i + 1 < argc) label = argv[++i];
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else {
            printf("usage: %s [--out DIR] [--quick] [--raw FILE] [--before FILE "
                   "--before-label TEXT --label TEXT]\n", argv[0]);
            return strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    before bf;
    if (before_path && before_read(before_path, &bf)) {
        fprintf(stderr, "bench/game: cannot read %s\n", before_path);
        return 1;
    }
    const before *bp = before_path ? &bf : NULL;
    static const size_t sizes[] = { 10, 100, 1000, 10000 };
    const size_t n_sizes = quick ? 3 : sizeof sizes / sizeof *sizes;
    const int reps = quick ? QUICK_REPS : REPS;
    char cpu[256], date[64];
    bench_cpu_model(cpu, sizeof cpu);
    time_t tnow = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&tnow));
    bench_emit("# Game: the cost of one action and of one tick as the game grows\n\n"
               "- machine: %s, 2 cores shared with other work; one thread; indicative\n"
               "- date: %s%s\n"
               "- each row: N background tasks in states open, claimed, claimed with a beacon,\n"
               "  submitted, reported (N/5 each), plus %d tasks per timed operation posted after\n"
               "  them; %d accounts; sizeof(pol_game_task) = %zu bytes\n"
               "- times: median microseconds of %d calls of pol_game_apply / pol_game_advance\n"
               "  (signature checks included, envelopes sealed beforehand); every call's result\n"
               "  and the conservation of money are checked first\n"
               "- claim: on an open task; report: an accepting report on a submitted task (its\n"
               "  inner envelope is opened and checked too); refused claim: the submitter claims\n"
               "  its own task (POL_ERR_RULES, the game unchanged); idle tick: 1 ms, no deadline\n"
               "  due; expiring tick: one claimed task's solve deadline passes; building: the\n"
               "  whole game (posts, claims, beacons, certificates, reports; each envelope\n"
               "  sealed, then applied), seconds over actions applied\n",
               cpu, date, quick ? "\n- mode: --quick (fewer sizes and calls)" : "", reps,
               N_PARTY, sizeof(pol_game_task), reps);
    if (bp)
        bench_emit("- %s: the same bench built against that library, run just before %s\n\n"
                   "| N tasks | operation | %s us | %s us | %s / %s |\n"
                   "|---|---|---|---|---|\n",
                   before_label, label, before_label, label, before_label, label);
    else
        bench_emit("\n| N tasks | tasks in the game | build s (us per action) | claim us | "
                   "report us | refused claim us | idle tick us | expiring tick us |\n"
                   "|---|---|---|---|---|---|---|---|\n");
    FILE *rf = NULL;
    if (raw && !(rf = fopen(raw, "w"))) {
        fprintf(stderr, "bench/game: cannot write %s\n", raw);
        return 1;
    }
    for (size_t i = 0; i < n_sizes; i++) {
        result r;
        run_row(sizes[i], reps, 0x9a3e0000u + i, &r);
        const double *old = before_of(bp, r.n);
        if (bp) {
            for (int o = 0; o < N_OP; o++) {
                if (old && old[o] > 0)
                    bench_emit("| %zu | %s | %.2f | %.2f | %.1fx |\n", r.n, op_name[o], old[o],
                               r.us[o], old[o] / r.us[o]);
                else
                    bench_emit("| %zu | %s | - | %.2f | - |\n", r.n, op_name[o], r.us[o]);
            }
        } else {
            bench_emit("| %zu | %zu | %.2f (%.0f) | %.1f | %.1f | %.1f | %.2f | %.2f |\n", r.n,
                       r.tasks, r.build_s, r.us[OP_BUILD], r.us[OP_CLAIM], r.us[OP_REPORT], r.us[OP_REFUSED],
                       r.us[OP_IDLE_TICK], r.us[OP_EXPIRE_TICK]);
        }
        if (rf)
            for (int o = 0; o < N_OP; o++)
                fprintf(rf, "%zu %d %.3f\n", r.n, o, r.us[o]);
    }
    bench_emit("\nLoad average (1 min) after the run: %.2f.\n", bench_loadavg());
    if (rf && fclose(rf)) {
        fprintf(stderr, "bench/game: cannot write %s\n", raw);
        return 1;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/game.md", out_dir);
    pol_status st;
    if (!quick && ((st = pol_mkdir_p(out_dir)) ||
                   (st = pol_write_file_atomic(path, bench_table, bench_table_len, 1))))
        fail("write results");
    if (!quick)
        printf("wrote %s\n", path);
    return 0;
}
