/* The whole game on loopback, one process per party (pol-referee run,
 * pol-solver serve, pol-verifier serve, pol-whistleblower, pol-submit): for
 * every cheating switch of the solver the verifier rejects, the dispute
 * pinpoints (interval, step, node) where the cheat was made and the cheater
 * is slashed; an honest task is paid; a lazy verifier's forced error is
 * caught by a whistleblower who collects the jackpot; a tolerant-mode task,
 * posted with its signed profile, is paid to an honest solver and its
 * tampering solver is slashed by a transition dispute, also when it
 * trains with OpenBLAS. After every game the
 * test reads the referee's log through its own mirror and checks it:
 * conservation (pol_game_check and the balances summed), honest parties
 * never below their start. The referee's account of each network dispute
 * (its "cost" line) must stay within the round bound, and the same dispute
 * re-run in process must give the same pin and the same number of rounds,
 * within pol_dispute_bound. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "pol/fileio.h"
#include "pol/game.h"
#include "pol/keys.h"
#include "pol/pinpoint.h"
#include "pol/roles.h"
#include "pol/verify.h"
#include "testutil.h"

#define TINY "spec/vectors/tiny"
#define CHEAT_TASK TINY "/adamw-gelu.json" /* 14 steps, k = 4 */
#define HONEST_TASK TINY "/sgd-relu.json"
#define START 1000u
#define SUBMITTER_START 10000u
#define JACKPOT 500u
#define PAYOUT 300u

static char dir[512], bin[512];
static int port_base;
static int game_no;
static pid_t pids[16];
static size_t n_pids;
static const char *const NAMES[] = { "referee", "submitter", "solver", "verifier", "wb" };
static pol_keypair keys[5];
static uint8_t pubs[5][32];
static char hexk[5][65];

static void kill_all(void)
{
    for (size_t i = 0; i < n_pids; i++)
        kill(pids[i], SIGTERM);
    for (size_t i = 0; i < n_pids; i++)
        waitpid(pids[i], NULL, 0);
    n_pids = 0;
}

/* Runs a program of build/bin in the background; output to dir/NAME.log. */
static void POL_PRINTF(2, 3) spawn(const char *name, const char *fmt, ...)
{
    char args[3000], cmd[4000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "exec %s/%s >%s/g%d-%s.log 2>&1", bin, args, dir, game_no, name);
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    assert_true(n_pids < 16);
    pids[n_pids++] = p;
}

static int POL_PRINTF(1, 2) run(const char *fmt, ...)
{
    char args[3000], cmd[4000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s/%s >>%s/g%d-run.log 2>&1", bin, args, dir, game_no);
    return tu_system(cmd);
}

/* Waits (20 s at most) until a log holds a string. */
static void wait_log(const char *name, const char *what)
{
    char path[700];
    snprintf(path, sizeof path, "%s/g%d-%s.log", dir, game_no, name);
    for (int i = 0; i < 200; i++) {
        uint8_t *buf;
        size_t len;
        if (!pol_read_file(path, 1 << 24, &buf, &len)) {
            int found = strstr((char *)buf, what) != NULL;
            free(buf);
            if (found)
                return;
        }
        usleep(100 * 1000);
    }
    fail_msg("%s never printed '%s'", path, what);
}

static int port(int i) { return port_base + 10 * game_no + i; }

/* A genesis, a referee and the parties' endpoints (solver :1, verifier :2,
 * whistleblower :3). */
static void start_game_taxed(uint32_t forced_ppm, uint32_t tax_ppm)
{
    game_no++;
    char gen[700];
    snprintf(gen, sizeof gen, "%s/g%d.genesis", dir, game_no);
    assert_int_equal(run("pol-referee genesis --referee-key %s --fund %s=%u --fund %s=%u "
                         "--fund %s=%u --fund %s=%u --jackpot %u --jackpot-payout %u "
                         "--forced-error-ppm %u --jackpot-tax-ppm %u "
                         "--windows 30000,30000,3000,15000,120000 --out %s",
                         hexk[0], hexk[1], SUBMITTER_START, hexk[2], START, hexk[3], START,
                         hexk[4], START, JACKPOT, PAYOUT, forced_ppm, tax_ppm, gen), 0);
    spawn("referee", "pol-referee run --db %s/g%d.db --listen 127.0.0.1:%d --key %s/referee.key "
          "--genesis %s --data-dir " TINY, dir, game_no, port(0), dir, gen);
    wait_log("referee", "listening");
}

static void start_game(uint32_t forced_ppm)
{
    start_game_taxed(forced_ppm, 0);
}

static void start_solver(const char *extra)
{
    spawn("solver", "pol-solver serve --referee 127.0.0.1:%d --key %s/solver.key --listen "
          "127.0.0.1:%d --work %s/g%d-solver --data-dir " TINY " --tasks 1 --timeout 200 %s",
          port(0), dir, port(1), dir, game_no, extra);
    wait_log("solver", "serving");
}

static void start_verifier(const char *extra)
{
    spawn("verifier", "pol-verifier serve --referee 127.0.0.1:%d --key %s/verifier.key --listen "
          "127.0.0.1:%d --work %s/g%d-verifier --data-dir " TINY " --timeout 200 %s", port(0),
          dir, port(2), dir, game_no, extra);
    wait_log("verifier", "serving");
}

static int submit_profiled(const char *task, const char *profile)
{
    char opt[700] = "";
    if (profile)
        snprintf(opt, sizeof opt, "--profile %s", profile);
    return run("pol-submit --referee 127.0.0.1:%d --key %s/submitter.key --task %s --bounty 100 "
               "--fee 10 --solver-bond 100 --verifier-bond 50 --challenge-bond 50 --wait "
               "--timeout 200 %s", port(0), dir, task, opt);
}

static int submit(const char *task)
{
    return submit_profiled(task, NULL);
}

/* The game as the referee's log says, checked by a mirror of our own. */
static pol_mirror *mirror(void)
{
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port(0));
    pol_mirror *m;
    assert_int_equal(pol_mirror_open(addr, &keys[1], pubs[0], 10000, &m), POL_OK);
    const pol_game *g = pol_mirror_game(m);
    assert_int_equal(pol_game_check(g), POL_OK);
    uint64_t sum = pol_game_jackpot(g);
    for (size_t i = 0; i < pol_game_n_accounts(g); i++) {
        uint8_t k[32];
        uint64_t b;
        assert_int_equal(pol_game_account(g, i, k, &b), POL_OK);
        sum += b;
    }
    assert_int_equal(sum, pol_game_total_supply(g)); /* nothing left in escrow */
    return m;
}

static uint64_t bal(pol_mirror *m, int who) { return pol_game_balance(pol_mirror_game(m), pubs[who]); }

static void only_task(pol_mirror *m, pol_game_task *t)
{
    assert_int_equal(pol_game_n_tasks(pol_mirror_game(m)), 1);
    assert_int_equal(pol_game_task_at(pol_mirror_game(m), 0, t), POL_OK);
}

/* The same dispute in process: its rounds within pol_dispute_bound, its pin
 * the network's. */
static void rounds_check(const char *task_path, const pol_cheat *cheat, const pol_game_task *t,
                         unsigned net_rounds)
{
    pol_task task;
    pol_dataset ds;
    pol_ctx *ctx;
    pol_replayer *h, *c;
    char d1[700], d2[700];
    snprintf(d1, sizeof d1, "%s/g%d-honest", dir, game_no);
    snprintf(d2, sizeof d2, "%s/g%d-cheat", dir, game_no);
    assert_int_equal(pol_task_load(task_path, &task), POL_OK);
    assert_int_equal(pol_dataset_load(task.dataset_path, &task.dataset_sha256, task.sizes[0],
                                      task.sizes[task.n_layers], &ds), POL_OK);
    assert_int_equal(pol_ctx_create(&ctx, NULL), POL_OK);
    assert_int_equal(pol_replayer_create(&h, ctx, &task, &ds, d1, NULL), POL_OK);
    assert_int_equal(pol_replayer_create(&c, ctx, &task, &ds, d2, cheat), POL_OK);
    pol_party sp = pol_replayer_party(c, "solver"), cp = pol_replayer_party(h, "challenger");
    pol_dispute_result *res = calloc(1, sizeof *res);
    assert_non_null(res);
    assert_int_equal(pol_dispute_run(&task, &ds, &sp, &cp, NULL, res), POL_OK);
    print_message("    in process: %u rounds (bound %u), %llu bytes\n", res->rounds, res->bound,
                  (unsigned long long)res->bytes);
    assert_true(res->rounds <= res->bound);
    assert_int_equal(res->rounds, net_rounds); /* the network dispute took as many */
    assert_int_equal(res->kind, t->pin_kind);
    assert_int_equal(res->interval, t->interval);
    assert_int_equal(res->step, t->step);
    assert_int_equal(res->node, t->node);
    free(res);
    pol_replayer_destroy(c);
    pol_replayer_destroy(h);
    pol_ctx_destroy(ctx);
    pol_dataset_free(&ds);
}

/* A tolerant task's dispute in process: the transition dispute between a
 * replayer with the same cheat (OpenBLAS when blas) and the library's
 * search, under the tolerance of the posted profile; the network's pin. */
static void transition_check(const char *task_path, const char *profile, int blas,
                             const pol_cheat *cheat, const pol_game_task *t)
{
    pol_task task;
    pol_dataset ds;
    pol_ctx *ctx;
    pol_replayer *c;
    pol_pin_tolerance tol;
    char d[700];
    uint8_t *env;
    size_t len;
    snprintf(d, sizeof d, "%s/g%d-transition", dir, game_no);
    assert_int_equal(pol_read_file(profile, 1 << 24, &env, &len), POL_OK);
    assert_int_equal(pol_task_load(task_path, &task), POL_OK);
    assert_int_equal(pol_role_profile_tolerance(env, len, &task.id, &tol), POL_OK);
    free(env);
    assert_int_equal(pol_dataset_load(task.dataset_path, &task.dataset_sha256, task.sizes[0],
                                      task.sizes[task.n_layers], &ds), POL_OK);
    pol_ctx_opts o = { .threads = 1, .kernels = blas ? POL_KERNELS_BLAS : POL_KERNELS_FAST };
    assert_int_equal(pol_ctx_create(&ctx, &o), POL_OK);
    assert_int_equal(pol_replayer_create(&c, ctx, &task, &ds, d, cheat), POL_OK);
    pol_party_tol sp = pol_replayer_party_tol(c, "solver");
    pol_tol_search *s;
    assert_int_equal(pol_tol_search_create(&s, &task, &ds, &sp, &tol), POL_OK);
    pol_tol_challenger ch = pol_tol_search_challenger(s, "search");
    pol_dispute_result *res = calloc(1, sizeof *res);
    assert_non_null(res);
    assert_int_equal(pol_dispute_run_transition(&task, &ds, &sp, &ch, NULL, &tol, res), POL_OK);
    print_message("    in process: %s loses, %s at (%lld, %lld, %lld), %u rounds\n",
                  res->loser ? "challenger" : "solver", pol_dispute_reason_name(res->reason),
                  (long long)res->interval, (long long)res->step, (long long)res->node,
                  res->rounds);
    assert_int_equal(res->loser, t->loser == POL_GAME_LOSER_SOLVER ? POL_PARTY_SOLVER
                                                                   : POL_PARTY_CHALLENGER);
    assert_int_equal(res->reason, t->reason);
    assert_int_equal(res->kind, t->pin_kind);
    assert_int_equal(res->interval, t->interval);
    assert_int_equal(res->step, t->step);
    assert_int_equal(res->node, t->node);
    free(res);
    pol_tol_search_destroy(s);
    pol_replayer_destroy(c);
    pol_ctx_destroy(ctx);
    pol_dataset_free(&ds);
}

/* The game's only task failed by a ruling against the solver: the honest
 * challenger (account 3) gets the cheater's bond, the cheater (2) lost it,
 * the submitter (1) is refunded. Out: *t, the task. */
static void ruled_against_solver(pol_mirror *m, pol_game_task *t)
{
    only_task(m, t);
    assert_int_equal(t->state, POL_GAME_TASK_FAILED);
    assert_int_equal(t->outcome, POL_GAME_OUT_RULED_SOLVER);
    assert_true(t->has_ruling);
    assert_int_equal(t->loser, POL_GAME_LOSER_SOLVER);
    assert_int_equal(bal(m, 3), START + 100);     /* + the slashed solver bond */
    assert_int_equal(bal(m, 2), START - 100);     /* the cheater lost its bond */
    assert_int_equal(bal(m, 1), SUBMITTER_START); /* bounty and fee refunded */
}

static void cheat_game_of(const char *task_path, const char *profile, const char *solver_opts,
                          const char *sw, pol_cheat_kind kind, uint64_t step, int node,
                          pol_pin_kind pin, int64_t pin_node, uint32_t reason)
{
    char extra[256];
    snprintf(extra, sizeof extra, "--cheat %s %s", sw, solver_opts);
    start_game(0);
    start_verifier("");
    start_solver(extra);
    /* the task failed: the solver was slashed */
    assert_int_equal(submit_profiled(task_path, profile), 3);
    pol_mirror *m = mirror();
    pol_game_task t;
    ruled_against_solver(m, &t);
    print_message("    %-22s ruling: %s lost, reason %u, pin %u (%lld, %lld, %lld)\n", sw,
                  t.loser ? "challenger" : "solver", t.reason, t.pin_kind, (long long)t.interval,
                  (long long)t.step, (long long)t.node);
    assert_int_equal(t.reason, reason);
    assert_int_equal(t.pin_kind, pin);
    assert_int_equal(t.interval, (int64_t)(step / 4));
    assert_int_equal(t.step, (int64_t)step);
    assert_int_equal(t.node, pin_node);
    pol_mirror_close(m);
    kill_all();
    /* the referee's own account of the network dispute: rounds within the bound */
    char path[700];
    snprintf(path, sizeof path, "%s/g%d-referee.log", dir, game_no);
    uint8_t *buf;
    size_t len;
    assert_int_equal(pol_read_file(path, 1 << 24, &buf, &len), POL_OK);
    buf[len - 1] = '\0';
    const char *cost = strstr((char *)buf, ": cost: ");
    assert_non_null(cost);
    unsigned rounds, l1, l2, l3, bound;
    assert_int_equal(sscanf(cost, ": cost: %u rounds (levels 1/2/3: %u/%u/%u; bound %u)", &rounds,
                            &l1, &l2, &l3, &bound), 5);
    print_message("    network: %u rounds (%u/%u/%u), bound %u\n", rounds, l1, l2, l3, bound);
    assert_true(rounds <= bound);
    assert_int_equal(rounds, l1 + l2 + l3);
    /* a tolerant task's dispute is a transition dispute with the profile's
     * per-op thresholds [R-DSP-6]: one naming round a level */
    assert_int_equal(strstr((char *)buf, "tolerant: the profile's per-op thresholds, transition "
                            "dispute") != NULL, profile != NULL);
    free(buf);
    pol_cheat c = { kind, step, node };
    if (profile) {
        assert_int_equal(bound, 3);
        assert_true(l1 == 1 && l2 == 1 && l3 == 1);
        transition_check(task_path, profile, strstr(solver_opts, "blas") != NULL, &c, &t);
    } else {
        rounds_check(task_path, &c, &t, rounds);
    }
}

static void cheat_game(const char *sw, pol_cheat_kind kind, uint64_t step, int node,
                       pol_pin_kind pin, int64_t pin_node, uint32_t reason)
{
    cheat_game_of(CHEAT_TASK, NULL, "", sw, kind, step, node, pin, pin_node, reason);
}

static void test_tamper_node(void **st)
{
    (void)st;
    cheat_game("tamper-node:6:19", POL_CHEAT_TAMPER_NODE, 6, 19, POL_PIN_NODE, 19,
               POL_DISPUTE_WRONG_RESULT);
}

static void test_skip_step(void **st)
{
    (void)st;
    cheat_game("skip-step:7", POL_CHEAT_SKIP_STEP, 7, 0, POL_PIN_STATE, 0,
               POL_DISPUTE_WRONG_RESULT);
}

static void test_wrong_data(void **st)
{
    (void)st;
    cheat_game("wrong-data:10", POL_CHEAT_WRONG_DATA, 10, 0, POL_PIN_NODE, 0,
               POL_DISPUTE_WRONG_INPUT);
}

/* [P-L1-COMMIT] A solver that certified a tampered run and answers the
 * dispute with an honest replay (pol-solver --serve-honest) is held to its
 * certificate's checkpoint root: it loses with bad commitment, nothing
 * revealed, where an unbound referee would find no disagreement. */
static void test_serve_other_run(void **st)
{
    (void)st;
    start_game(0);
    start_verifier("");
    start_solver("--cheat tamper-node:6:19 --serve-honest");
    assert_int_equal(submit_profiled(CHEAT_TASK, NULL), 3);
    pol_mirror *m = mirror();
    pol_game_task t;
    ruled_against_solver(m, &t);
    assert_int_equal(t.reason, POL_DISPUTE_BAD_COMMITMENT);
    assert_int_equal(t.pin_kind, POL_PIN_NONE);
    pol_mirror_close(m);
    kill_all();
}

/* The log of party `name` in the current game mentions what. */
static int logged(const char *name, const char *what)
{
    char path[700];
    uint8_t *buf;
    size_t len;
    snprintf(path, sizeof path, "%s/g%d-%s.log", dir, game_no, name);
    assert_int_equal(pol_read_file(path, 1 << 24, &buf, &len), POL_OK);
    char *text = calloc(1, len + 1);
    assert_non_null(text);
    memcpy(text, buf, len);
    free(buf);
    const int found = strstr(text, what) != NULL;
    free(text);
    return found;
}

/* A game of the honest task with an honest verifier and a solver started
 * with solver_opts: the solver is paid, the verifier earns its fee, every
 * bond back. */
static void honest_game(const char *solver_opts)
{
    start_game(0);
    start_verifier("");
    start_solver(solver_opts);
    assert_int_equal(submit(HONEST_TASK), 0);
    pol_mirror *m = mirror();
    pol_game_task t;
    only_task(m, &t);
    assert_int_equal(t.state, POL_GAME_TASK_SETTLED);
    assert_int_equal(t.outcome, POL_GAME_OUT_ACCEPTED);
    assert_int_equal(bal(m, 2), START + 100);
    assert_int_equal(bal(m, 3), START + 10);
    assert_int_equal(bal(m, 1), SUBMITTER_START - 110);
    pol_mirror_close(m);
    kill_all();
}

/* Honest solver, honest verifier: paid, every bond back. */
static void test_honest(void **st)
{
    (void)st;
    honest_game("");
}

/* [V-VER-7] A solver that serves its checkpoints to the referee alone
 * (pol-solver serve --withhold): the verifier replays the exact-mode run
 * without them; the honest one is paid, the cheater is still slashed. */
static void test_withheld_checkpoints(void **st)
{
    (void)st;
    honest_game("--withhold");
    assert_true(logged("verifier", "replayed the whole run"));

    start_game(0);
    start_verifier("");
    start_solver("--cheat tamper-node:6:19 --withhold");
    assert_int_equal(submit_profiled(CHEAT_TASK, NULL), 3);
    pol_mirror *m = mirror();
    pol_game_task t;
    ruled_against_solver(m, &t);
    assert_int_equal(t.step, 6);
    assert_int_equal(t.node, 19);
    assert_true(logged("verifier", "replayed the whole run"));
    pol_mirror_close(m);
    kill_all();
}

/* A solver whose --data-dir lacks the task's dataset skips the task and
 * never claims it (a claim stakes its bond); another solver takes it. */
static void test_unservable_skipped(void **st)
{
    (void)st;
    start_game(0);
    start_verifier("");
    spawn("nodata", "pol-solver serve --referee 127.0.0.1:%d --key %s/wb.key --listen "
          "127.0.0.1:%d --work %s/g%d-nodata --data-dir %s --tasks 1 --timeout 200", port(0),
          dir, port(4), dir, game_no, dir);
    wait_log("nodata", "serving");
    spawn("submit", "pol-submit --referee 127.0.0.1:%d --key %s/submitter.key --task %s "
          "--bounty 100 --fee 10 --solver-bond 100 --verifier-bond 50 --challenge-bond 50 "
          "--wait --timeout 200", port(0), dir, HONEST_TASK);
    wait_log("nodata", "not claimed: dataset");
    start_solver("");
    wait_log("solver", "finished");
    pol_mirror *m = mirror();
    pol_game_task t;
    only_task(m, &t);
    assert_int_equal(t.state, POL_GAME_TASK_SETTLED);
    assert_int_equal(t.outcome, POL_GAME_OUT_ACCEPTED);
    assert_memory_equal(t.solver, pubs[2], 32);
    assert_int_equal(bal(m, 4), START); /* nothing staked, nothing lost */
    assert_int_equal(bal(m, 2), START + 100);
    pol_mirror_close(m);
    assert_false(logged("nodata", "claimed    task")); /* no claim line */
    kill_all();
}

/* Every claim forced: a lazy verifier approves the wrong certificate, the
 * whistleblower challenges; the honest certificate of the next round is
 * paid (tax 25%), and then the whistleblower gets the verifier's bond and
 * the jackpot payout: the task's share, bounty * 25% / 100% [G-OUT-6]. */
static void test_lazy_verifier_jackpot(void **st)
{
    (void)st;
    enum { TAX = 25, SHARE = 25 }; /* of the bounty 100 */
    start_game_taxed(1000000, 250000);
    start_verifier("--cheat lazy");
    spawn("wb", "pol-whistleblower --referee 127.0.0.1:%d --key %s/wb.key --listen 127.0.0.1:%d "
          "--work %s/g%d-wb --data-dir " TINY " --timeout 200", port(0), dir, port(3), dir,
          game_no);
    wait_log("wb", "serving");
    start_solver("");
    assert_int_equal(submit(HONEST_TASK), 0);
    pol_mirror *m = mirror();
    pol_game_task t;
    only_task(m, &t);
    assert_int_equal(t.state, POL_GAME_TASK_SETTLED);
    assert_int_equal(t.rounds, 2);            /* the forced round, then the real one */
    assert_true(SHARE < PAYOUT);
    assert_int_equal(bal(m, 4), START + 50 + SHARE); /* lazy bond + jackpot payout */
    assert_int_equal(bal(m, 3), START - 50 + 10);    /* lost its bond, then earned a fee */
    assert_int_equal(bal(m, 2), START + 100 - TAX);  /* the honest solver is paid */
    assert_int_equal(pol_game_jackpot(pol_mirror_game(m)), JACKPOT + TAX - SHARE);
    pol_mirror_close(m);
    kill_all();
}

/* A tolerant-mode copy of the cheat task beside a link to its dataset,
 * trained once and profiled with pol-verifier profile; the profile signed
 * by the submitter as a ProfileReport envelope (made once). */
static char tol_task[700], tol_profile[700];

static void tolerant_task(void)
{
    if (tol_task[0])
        return;
    char tdir[600], path[800], data[4096], run_dir[700];
    snprintf(tdir, sizeof tdir, "%s/tolerant", dir);
    assert_int_equal(pol_mkdir_p(tdir), POL_OK);
    uint8_t *json;
    size_t len;
    assert_int_equal(pol_read_file(CHEAT_TASK, 1 << 20, &json, &len), POL_OK);
    char *text = calloc(1, len + 16), *m;
    assert_non_null(text);
    memcpy(text, json, len);
    free(json);
    assert_non_null(m = strstr(text, "\"mode\": \"exact\""));
    memmove(m + 17, m + 14, strlen(m + 14) + 1); /* "exact" -> "tolerant" */
    memcpy(m + 9, "tolerant", 8);
    snprintf(tol_task, sizeof tol_task, "%s/adamw-gelu-tolerant.json", tdir);
    assert_int_equal(pol_write_file_atomic(tol_task, text, strlen(text), 1), POL_OK);
    free(text);
    assert_non_null(realpath(TINY "/tiny.safetensors", data));
    snprintf(path, sizeof path, "%s/tiny.safetensors", tdir);
    assert_int_equal(symlink(data, path), 0);
    pol_task t;
    assert_int_equal(pol_task_load(tol_task, &t), POL_OK);
    assert_int_equal(t.mode, POL_MODE_TOLERANT);
    snprintf(run_dir, sizeof run_dir, "%s/run", tdir);
    snprintf(tol_profile, sizeof tol_profile, "%s/profile.pol", tdir);
    assert_int_equal(run("pol-solver train --task %s --out %s", tol_task, run_dir), 0);
    assert_int_equal(run("pol-verifier profile --task %s --run %s --out %s/profile.json "
                         "--key %s/submitter.key --out-envelope %s", tol_task, run_dir, tdir,
                         dir, tol_profile), 0);
}

/* A tolerant-mode task in the game [G-POST-2]: an honest solver is
 * accepted by a verifier that compares distances against the profile's
 * thresholds; a solver that tampers with a node is rejected, the dispute
 * (pol_dispute_run_tolerant with the profile's per-op thresholds) pins
 * the tampered node and the cheater is slashed. */
static void test_tolerant_game(void **st)
{
    (void)st;
    tolerant_task();
    /* the submitter cannot post it without its profile, nor an exact task with one */
    start_game(0);
    assert_int_equal(submit(tol_task), 2);
    assert_int_equal(submit_profiled(HONEST_TASK, tol_profile), 2);
    start_verifier("");
    start_solver("");
    assert_int_equal(submit_profiled(tol_task, tol_profile), 0);
    pol_mirror *m = mirror();
    pol_game_task t;
    only_task(m, &t);
    assert_int_equal(t.state, POL_GAME_TASK_SETTLED);
    assert_int_equal(t.outcome, POL_GAME_OUT_ACCEPTED);
    assert_int_equal(t.verdict, POL_VERDICT_ACCEPT);
    assert_true(t.profile_env_len > 0);
    assert_int_equal(bal(m, 2), START + 100);
    assert_int_equal(bal(m, 3), START + 10);
    pol_mirror_close(m);
    kill_all();
    cheat_game_of(tol_task, tol_profile, "", "tamper-node:6:19", POL_CHEAT_TAMPER_NODE, 6, 19,
                  POL_PIN_NODE, 19, POL_DISPUTE_WRONG_RESULT);
}

/* A tolerant-mode task solved with OpenBLAS (pol-solver serve --kernels
 * blas), whose states differ bitwise from the exact ones: the honest solver
 * is paid (accepted, or, should a verifier reject it, the transition dispute
 * over the network leaves it paid: every node is within the profile's
 * per-op tolerance of the reference from its own inputs); an OpenBLAS
 * solver that tampers with node 19 of step 6 is rejected, pinned there by
 * the transition dispute behind the honest rounding differences before it
 * (the bitwise bisection stopped at those, P-TOL-LIMIT), and slashed. */
static void test_tolerant_blas_game(void **st)
{
    (void)st;
    tolerant_task();
    start_game(0);
    start_verifier("");
    start_solver("--kernels blas");
    assert_int_equal(submit_profiled(tol_task, tol_profile), 0);
    wait_log("solver", "training with OpenBLAS");
    pol_mirror *m = mirror();
    pol_game_task t;
    only_task(m, &t);
    print_message("    honest OpenBLAS solver: %s, outcome %u, verdict %u%s\n",
                  pol_game_task_state_name(t.state), t.outcome, t.verdict,
                  t.has_ruling ? " (after a dispute)" : "");
    assert_int_equal(t.state, POL_GAME_TASK_SETTLED);
    if (t.has_ruling)
        assert_int_equal(t.loser, POL_GAME_LOSER_CHALLENGER);
    else
        assert_int_equal(t.outcome, POL_GAME_OUT_ACCEPTED);
    assert_int_equal(bal(m, 2), START + 100); /* paid, its bond back */
    pol_mirror_close(m);
    kill_all();
    /* a verifier that rejects it anyway: the transition dispute over the
     * network (the verifier's search finds every leaf within tolerance and
     * withdraws) leaves the solver paid; the verifier loses its bond */
    start_game(0);
    start_verifier("--cheat reject");
    start_solver("--kernels blas");
    assert_int_equal(submit_profiled(tol_task, tol_profile), 0);
    m = mirror();
    only_task(m, &t);
    print_message("    rejected anyway: %s, ruling: %s lost, %s\n",
                  pol_game_task_state_name(t.state), t.loser ? "challenger" : "solver",
                  pol_dispute_reason_name((pol_dispute_reason)t.reason));
    assert_int_equal(t.state, POL_GAME_TASK_SETTLED);
    assert_true(t.has_ruling);
    assert_int_equal(t.loser, POL_GAME_LOSER_CHALLENGER);
    assert_int_equal(t.reason, POL_DISPUTE_NO_DISAGREEMENT);
    assert_int_equal(bal(m, 2), START + 100 + 50); /* paid, and the challenger's bond */
    assert_int_equal(bal(m, 3), START - 50);
    pol_mirror_close(m);
    kill_all();
    cheat_game_of(tol_task, tol_profile, "--kernels blas", "tamper-node:6:19",
                  POL_CHEAT_TAMPER_NODE, 6, 19, POL_PIN_NODE, 19, POL_DISPUTE_WRONG_RESULT);
    /* the challenger searched the solver's data over the network */
    char path[700];
    snprintf(path, sizeof path, "%s/g%d-verifier.log", dir, game_no);
    uint8_t *buf;
    size_t len;
    assert_int_equal(pol_read_file(path, 1 << 24, &buf, &len), POL_OK);
    buf[len - 1] = '\0';
    const char *l = strstr((char *)buf, "a transition dispute; naming");
    assert_non_null(l);
    if ((l = strstr((char *)buf, "searched   "))) /* printed once it saw the ruling */
        print_message("    verifier: %.*s\n", (int)strcspn(l, "\n"), l);
    free(buf);
}

static int setup(void **st)
{
    (void)st;
    tu_seed();
    const char *d = tu_tmpdir();
    if (!d)
        return -1;
    snprintf(dir, sizeof dir, "%s", d);
    const char *b = getenv("POL_BIN");
    snprintf(bin, sizeof bin, "%s", b && *b ? b : "build/bin");
    port_base = 20000 + (int)(getpid() % 120) * 100; /* below the ephemeral range */
    for (int i = 0; i < 5; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s.key", dir, NAMES[i]);
        if (pol_keypair_generate(&keys[i]) || pol_seckey_save(p, &keys[i]) ||
            pol_keypair_pubkey(&keys[i], pubs[i]))
            return -1;
        pol_pubkey_to_hex(pubs[i], hexk[i]);
    }
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    kill_all();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_honest, teardown),
        cmocka_unit_test_teardown(test_unservable_skipped, teardown),
        cmocka_unit_test_teardown(test_tamper_node, teardown),
        cmocka_unit_test_teardown(test_serve_other_run, teardown),
        cmocka_unit_test_teardown(test_withheld_checkpoints, teardown),
        cmocka_unit_test_teardown(test_skip_step, teardown),
        cmocka_unit_test_teardown(test_wrong_data, teardown),
        cmocka_unit_test_teardown(test_lazy_verifier_jackpot, teardown),
        cmocka_unit_test_teardown(test_tolerant_game, teardown),
        cmocka_unit_test_teardown(test_tolerant_blas_game, teardown),
    };
    const char *only = getenv("POL_TEST_ONLY"); /* e.g. test_tolerant_game */
    if (only && *only)
        cmocka_set_test_filter(only);
    return cmocka_run_group_tests(tests, setup, NULL);
}
