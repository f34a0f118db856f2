/* pol-whistleblower — checks the verifiers (spec/game.md): re-runs the
 * verification of every certificate a verifier accepted, challenges a wrong
 * acceptance with a bond, and answers the referee's pinpoint queries.
 *
 *   pol-whistleblower --referee ADDR --key FILE --listen ADDR --work DIR [options]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol/fileio.h"
#include "pol/game.h"
#include "pol/keys.h"
#include "pol/roles.h"
#include "cli_num.h"
#include "role_cli.h"
#include "pol/version.h"

static const char USAGE[] =
    "usage: pol-whistleblower --referee ADDR --key FILE --listen ADDR --work DIR [options]\n"
    "\n"
    "Watches the game kept by the referee. For every report that ACCEPTs a\n"
    "certificate, it verifies the certificate itself (checkpoints fetched from the\n"
    "solver, every interval re-run; a tolerant-mode task is compared by l2_rel\n"
    "distance against the interval thresholds of the profile posted with it). When\n"
    "the certificate is wrong it\n"
    "challenges the report, putting up the task's challenge bond: a caught forced\n"
    "error pays the jackpot and the lazy verifier's bond; a real error goes to a\n"
    "dispute, where it answers the referee's pinpoint queries with an honest replay\n"
    "(a tolerant-mode task: by searching the solver's data for its first leaf out\n"
    "of the profile's per-op tolerance).\n"
    "  --referee ADDR     the referee, HOST:PORT\n"
    "  --key FILE         the whistleblower's secret key (pol-keygen)\n"
    "  --listen ADDR      where to answer the referee, HOST:PORT (port 0: any)\n"
    "  --work DIR         work directory (fetched checkpoints, replays)\n"
    "  --data-dir DIR     where the tasks' datasets are (default .)\n"
    "  --party KEY=ADDR   a solver's endpoint, where the game carries none (repeatable)\n"
    "  --tasks N          stop after N checked tasks ended (default 0: never)\n"
    "  --timeout S        give up after S seconds, 1..2592000 (default 600)\n"
    "  -v, --verbose      print the game's log lines\n"
    "\n"
    "Exit status: 0 on success, 1 on an error (message on stderr), 2 on bad usage.\n";


static int fail(pol_status st)
{
    fprintf(stderr, "pol-whistleblower: error: %s (%s, code %d)\n", pol_last_error(),
            pol_strerror(st), (int)st);
    return 1;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "pol-whistleblower: %s\n%s", msg, USAGE);
    return 2;
}



#define MAX_SEEN 1024

typedef struct wstate {
    pol_mirror *m;
    pol_role_server *srv;
    pol_role_challenger *ch;
    pol_keypair kp;
    uint8_t me[POL_PUBKEY_LEN];
    const char *work, *data_dir;
    pol_digest seen[MAX_SEEN]; /* reports checked */
    pol_digest task[MAX_SEEN]; /* their tasks */
    uint32_t shown[MAX_SEEN];
    size_t n_seen;
} wstate;

static int seen(const wstate *w, const pol_digest *d)
{
    for (size_t i = 0; i < w->n_seen; i++)
        if (pol_digest_equal(&w->seen[i], d))
            return 1;
    return 0;
}

static pol_status recheck(wstate *w, const pol_game_task *t, const char *ep)
{
    char hex[65], why[256] = "";
    pol_digest_to_hex(&t->id, hex);
    int accept = 0;
    pol_status st = pol_role_check_cert(t, &w->kp, w->work, w->data_dir, POL_VERIFY_ALL, &accept, NULL, NULL,
                                        why);
    if (st) {
        printf("error      task %.16s: cannot re-check: %s\n", hex, pol_last_error());
        return POL_OK;
    }
    if (accept) {
        printf("checked    task %.16s: the verifier was right to accept\n", hex);
        fflush(stdout);
        return POL_OK;
    }
    pol_game_action a = { 0 };
    a.kind = POL_GAME_CHALLENGE;
    a.task_id = t->id;
    a.report_id = t->report_id;
    pol_role_action_endpoint(&a, ep);
    st = pol_mirror_act(w->m, &a, NULL);
    if (st == POL_ERR_RULES) {
        printf("challenge  task %.16s refused: %s\n", hex, pol_last_error());
        return POL_OK;
    }
    if (!st)
        printf("challenged task %.16s: the verifier accepted a wrong certificate (%s)\n", hex, why);
    fflush(stdout);
    return st;
}

/* Tasks checked that have ended; prints each end once. */
static long ended(wstate *w)
{
    long n = 0;
    for (size_t i = 0; i < w->n_seen; i++) {
        pol_game_task t;
        if (pol_game_task_find(pol_mirror_game(w->m), &w->task[i], &t))
            continue;
        /* a forced round restarts the task: its first report's story ends there */
        int over = t.state == POL_GAME_TASK_SETTLED || t.state == POL_GAME_TASK_FAILED ||
                   !pol_digest_equal(&t.report_id, &w->seen[i]);
        if (!over)
            continue;
        n++;
        if (!w->shown[i]) {
            char hex[65];
            pol_digest_to_hex(&t.id, hex);
            w->shown[i] = 1;
            printf("finished   task %.16s round: %s; balance %llu\n", hex,
                   t.outcome == POL_GAME_OUT_FORCED ? "forced error revealed"
                                                    : pol_game_task_state_name(t.state),
                   (unsigned long long)pol_game_balance(pol_mirror_game(w->m), w->me));
            fflush(stdout);
        }
    }
    return n;
}

/* Ends a run: closes what w holds (role_challenger_close), frees it and
 * returns rc. */
static int wstate_end(wstate *w, int rc)
{
    role_challenger_close(w->ch, w->m, w->srv, &w->kp);
    free(w);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "referee", required_argument, 0, 'r' }, { "key", required_argument, 0, 'k' },
        { "listen", required_argument, 0, 'l' },  { "work", required_argument, 0, 'w' },
        { "data-dir", required_argument, 0, 'd' }, { "party", required_argument, 0, 'P' },
        { "tasks", required_argument, 0, 't' },   { "timeout", required_argument, 0, 'T' },
        { "verbose", no_argument, 0, 'v' },       { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, 'V' },       { 0, 0, 0, 0 },
    };
    wstate *w = calloc(1, sizeof *w);
    if (!w)
        return fail(pol_errorf(POL_ERR_NOMEM, "state"));
    const char *referee = NULL, *key_path = NULL, *listen_addr = NULL;
    long tasks = 0, timeout = 600;
    int verbose = 0, c;
    w->data_dir = ".";
    while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        switch (c) {
        case 'r': referee = optarg; break;
        case 'k': key_path = optarg; break;
        case 'l': listen_addr = optarg; break;
        case 'w': w->work = optarg; break;
        case 'd': w->data_dir = optarg; break;
        case 'P': if (pol_role_peer_add(optarg))
                      return wstate_end(w, usage_error(pol_last_error()));
                  break;
        case 't': if (cli_long(optarg, 0, 1000000, &tasks))
                      return wstate_end(w, usage_error("--tasks wants 0..1000000"));
                  break;
        case 'T': if (cli_long(optarg, 1, POL_ROLE_MAX_TIMEOUT_S, &timeout))
                      return wstate_end(w, usage_error("--timeout wants seconds, 1..2592000"));
                  break;
        case 'v': verbose = 1; break;
        case 'h': fputs(USAGE, stdout); return wstate_end(w, 0);
        case 'V': printf("pol-whistleblower (libpol %s)\n", pol_version_string());
                      return wstate_end(w, 0);
        default: return wstate_end(w, usage_error("unknown option"));
        }
    }
    if (optind != argc)
        return wstate_end(w, usage_error("unexpected argument"));
    if (!referee || !key_path || !listen_addr || !w->work)
        return wstate_end(w, usage_error("--referee, --key, --listen and --work are required"));
    pol_status st;
    char blobs[4200], ep[80], me_hex[65];
    snprintf(blobs, sizeof blobs, "%s/blobs", w->work);
    if ((st = pol_seckey_load(key_path, &w->kp)) || (st = pol_keypair_pubkey(&w->kp, w->me)) ||
        (st = pol_mkdir_p(w->work)) ||
        (st = pol_role_server_open(listen_addr, &w->kp, blobs, &w->srv)) ||
        (st = pol_mirror_open(referee, &w->kp, NULL, 10000, &w->m)) ||
        (st = pol_role_challenger_create(w->m, w->work, w->data_dir, &w->ch)))
        return wstate_end(w, fail(st));
    pol_role_server_set_served_fn(w->srv, pol_role_challenger_served_fn, w->ch);
    if (verbose)
        pol_mirror_set_log(w->m, role_game_line, NULL);
    pol_pubkey_to_hex(w->me, me_hex);
    const char *colon = strrchr(listen_addr, ':');
    snprintf(ep, sizeof ep, "%.*s:%u", colon ? (int)(colon - listen_addr) : 0, listen_addr,
             pol_role_server_port(w->srv));
    printf("whistle    %s serving on %s\n", me_hex, ep);
    fflush(stdout);
    role_catch_signals();
    const uint64_t end = pol_role_now_ms() + (uint64_t)timeout * 1000u;
    while (!stop_flag && (tasks == 0 || ended(w) < tasks)) {
        if ((st = pol_role_server_poll(w->srv, 100)) || (st = role_sync_or_wait(w->m)))
            break;
        pol_role_challenger_tick(w->ch, w->srv);
        const pol_game *g = pol_mirror_game(w->m);
        for (size_t i = 0; !st && i < pol_game_n_tasks(g); i++) {
            pol_game_task t;
            if (pol_game_task_at(g, i, &t) || t.state != POL_GAME_TASK_REPORTED ||
                t.verdict != POL_VERDICT_ACCEPT || t.has_whistleblower ||
                !memcmp(t.solver, w->me, 32) || !memcmp(t.submitter, w->me, 32) ||
                !memcmp(t.verifier, w->me, 32) || seen(w, &t.report_id))
                continue;
            if (w->n_seen < MAX_SEEN) {
                w->task[w->n_seen] = t.id;
                w->seen[w->n_seen++] = t.report_id;
            }
            st = recheck(w, &t, ep);
            g = pol_mirror_game(w->m);
        }
        if (!st && pol_role_now_ms() > end)
            st = pol_errorf(POL_ERR_TIMEOUT, "gave up after %ld s", timeout);
        if (st)
            break;
    }
    role_print_served(w->srv);
    return wstate_end(w, st ? fail(st) : 0);
}
