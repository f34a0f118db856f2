/* pol-submit — posts a training task to a game kept by a referee, and
 * follows it (spec/game.md).
 *
 *   pol-submit --referee ADDR --key KEYFILE --task FILE --bounty N [--profile FILE]
 *              [options] [--wait]
 *   pol-submit --referee ADDR --key KEYFILE --balances
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_num.h"
#include "pol/fileio.h"
#include "pol/game.h"
#include "pol/keys.h"
#include "pol/roles.h"
#include "pol/task.h"
#include "pol/version.h"
#include "pol/wire.h"

static const char USAGE[] =
    "usage: pol-submit --referee ADDR --key KEYFILE --task FILE --bounty N [options]\n"
    "       pol-submit --referee ADDR --key KEYFILE --balances\n"
    "\n"
    "Posts the task (its exact bytes; the task id is their SHA-256) with a bounty\n"
    "and the bonds the other parties must put up, and prints the task id. Every\n"
    "answer of the referee is checked: the program keeps its own copy of the game\n"
    "and applies the referee's whole event log to it.\n"
    "  --referee ADDR        the referee, HOST:PORT\n"
    "  --key FILE            the submitter's secret key (pol-keygen)\n"
    "  --task FILE           the task (JSON, spec/task.md)\n"
    "  --bounty N            paid to the solver of an accepted certificate\n"
    "  --fee N               paid to the verifier whose report stands (default bounty/10)\n"
    "  --solver-bond N       (default: the bounty)\n"
    "  --verifier-bond N     (default: bounty/2)\n"
    "  --challenge-bond N    a whistleblower's bond (default: bounty/2)\n"
    "  --profile FILE        a tolerant-mode task's thresholds: the signed ProfileReport\n"
    "                        envelope of pol-verifier profile --key K --out-envelope FILE;\n"
    "                        required for a tolerant-mode task, refused for an exact one\n"
    "  --wait                follow the task to its end, one line per change of state;\n"
    "                        exit 0 when it settled, 3 when it failed\n"
    "  --timeout S           give up waiting after S seconds (default 600)\n"
    "  --balances            print every account's balance and the jackpot, and exit\n"
    "\n"
    "Exit status: 0 on success, 1 on an error (message on stderr), 2 on bad usage,\n"
    "3 (--wait) when the task failed.\n";

static int fail(pol_status st)
{
    fprintf(stderr, "pol-submit: error: %s (%s, code %d)\n", pol_last_error(), pol_strerror(st),
            (int)st);
    return 1;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "pol-submit: %s\n%s", msg, USAGE);
    return 2;
}

static void print_balances(const pol_game *g)
{
    printf("%-66s %12s\n", "account", "balance");
    for (size_t i = 0; i < pol_game_n_accounts(g); i++) {
        uint8_t key[POL_PUBKEY_LEN];
        uint64_t bal;
        char hex[65];
        if (pol_game_account(g, i, key, &bal))
            continue;
        pol_pubkey_to_hex(key, hex);
        printf("%-66s %12" PRIu64 "\n", hex, bal);
    }
    printf("%-66s %12" PRIu64 "\n", "jackpot", pol_game_jackpot(g));
}

/* Follows a task until it settles or fails; one line per change. */
static int follow(pol_mirror *m, const pol_digest *id, unsigned timeout_s)
{
    uint32_t last_state = 0;
    uint64_t last_rounds = 0;
    const uint64_t end = pol_role_now_ms() + (uint64_t)timeout_s * 1000u;
    for (;;) {
        pol_game_task t;
        pol_status st = pol_mirror_sync(m, NULL);
        if (st)
            return fail(st);
        if ((st = pol_game_task_find(pol_mirror_game(m), id, &t)))
            return fail(st);
        if (t.state != last_state || t.rounds != last_rounds) {
            printf("state  %-12s round %" PRIu64, pol_game_task_state_name(t.state), t.rounds);
            if (t.has_ruling && t.state >= POL_GAME_TASK_SETTLED)
                printf("  ruling: %s lost, pinpointed interval %" PRId64 " step %" PRId64
                       " node %" PRId64, t.loser == POL_GAME_LOSER_SOLVER ? "solver" : "challenger",
                       t.interval, t.step, t.node);
            printf("\n");
            fflush(stdout);
            last_state = t.state;
            last_rounds = t.rounds;
        }
        if (t.state == POL_GAME_TASK_SETTLED)
            return 0;
        if (t.state == POL_GAME_TASK_FAILED)
            return 3;
        if (pol_role_now_ms() > end) {
            fprintf(stderr, "pol-submit: gave up waiting after %u s\n", timeout_s);
            return 1;
        }
        usleep(100 * 1000);
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "referee", required_argument, 0, 'r' },       { "key", required_argument, 0, 'k' },
        { "task", required_argument, 0, 't' },          { "bounty", required_argument, 0, 'b' },
        { "fee", required_argument, 0, 'f' },           { "solver-bond", required_argument, 0, 's' },
        { "verifier-bond", required_argument, 0, 'v' }, { "challenge-bond", required_argument, 0, 'c' },
        { "wait", no_argument, 0, 'w' },                { "balances", no_argument, 0, 'B' },
        { "timeout", required_argument, 0, 'T' },       { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, 'V' },             { "profile", required_argument, 0, 'p' },
        { 0, 0, 0, 0 },
    };
    const char *referee = NULL, *key_path = NULL, *task_path = NULL, *profile_path = NULL;
    uint64_t bounty = 0, fee = 0, sbond = 0, vbond = 0, cbond = 0, timeout = 600;
    int have_bounty = 0, have_fee = 0, have_s = 0, have_v = 0, have_c = 0, wait = 0, balances = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': referee = optarg; break;
        case 'k': key_path = optarg; break;
        case 't': task_path = optarg; break;
        case 'p': profile_path = optarg; break;
        case 'b': if (cli_u64(optarg, 0, UINT64_MAX, &bounty)) return usage_error("--bounty wants a number");
                  have_bounty = 1; break;
        case 'f': if (cli_u64(optarg, 0, UINT64_MAX, &fee)) return usage_error("--fee wants a number");
                  have_fee = 1; break;
        case 's': if (cli_u64(optarg, 0, UINT64_MAX, &sbond)) return usage_error("--solver-bond wants a number");
                  have_s = 1; break;
        case 'v': if (cli_u64(optarg, 0, UINT64_MAX, &vbond)) return usage_error("--verifier-bond wants a number");
                  have_v = 1; break;
        case 'c': if (cli_u64(optarg, 0, UINT64_MAX, &cbond)) return usage_error("--challenge-bond wants a number");
                  have_c = 1; break;
        case 'T': if (cli_u64(optarg, 0, UINT64_MAX, &timeout) || !timeout || timeout > 86400)
                      return usage_error("--timeout wants 1..86400 seconds");
                  break;
        case 'w': wait = 1; break;
        case 'B': balances = 1; break;
        case 'h': fputs(USAGE, stdout); return 0;
        case 'V': printf("pol-submit (libpol %s)\n", pol_version_string()); return 0;
        default: return usage_error("unknown option");
        }
    }
    if (optind != argc)
        return usage_error("unexpected argument");
    if (!referee || !key_path)
        return usage_error("--referee and --key are required");
    if (!balances && (!task_path || !have_bounty))
        return usage_error("--task and --bounty are required");
    if (!have_fee) fee = bounty / 10;
    if (!have_s) sbond = bounty;
    if (!have_v) vbond = bounty / 2;
    if (!have_c) cbond = bounty / 2;

    pol_keypair kp;
    pol_status st = pol_seckey_load(key_path, &kp);
    if (st)
        return fail(st);
    pol_mirror *m;
    st = pol_mirror_open(referee, &kp, NULL, 10000, &m);
    pol_keypair_clear(&kp);
    if (st)
        return fail(st);
    if (balances) {
        print_balances(pol_mirror_game(m));
        pol_mirror_close(m);
        return 0;
    }
    uint8_t *json = NULL, *prof = NULL;
    size_t len = 0, prof_len = 0;
    pol_task task;
    if ((st = pol_read_file(task_path, POL_TASK_MAX_BYTES, &json, &len)) ||
        (st = pol_task_load(task_path, &task)) ||
        (profile_path && (st = pol_read_file(profile_path, POL_WIRE_MAX_ENVELOPE, &prof,
                                             &prof_len)))) {
        free(json);
        pol_mirror_close(m);
        return fail(st);
    }
    if ((task.mode == POL_MODE_TOLERANT) != (prof != NULL)) {
        free(json);
        free(prof);
        pol_mirror_close(m);
        return usage_error(prof ? "--profile is for tolerant-mode tasks only"
                                : "a tolerant-mode task needs --profile");
    }
    if (prof) { /* the game would refuse it; say why before posting */
        pol_profile_report r;
        st = pol_game_profile_open(prof, prof_len, &task.id, &r, NULL);
        pol_profile_report_free(&r);
        if (st) {
            free(json);
            free(prof);
            pol_mirror_close(m);
            return fail(pol_errorf(st, "%s: %s", profile_path, pol_last_error()));
        }
    }
    pol_game_action a = { 0 };
    a.kind = POL_GAME_POST_TASK;
    a.task_json = json;
    a.task_json_len = len;
    a.bounty = bounty;
    a.verifier_fee = fee;
    a.solver_bond = sbond;
    a.verifier_bond = vbond;
    a.challenge_bond = cbond;
    a.profile = prof;
    a.profile_len = prof_len;
    uint64_t seq;
    st = pol_mirror_act(m, &a, &seq);
    free(json);
    free(prof);
    if (st) {
        pol_mirror_close(m);
        return fail(st);
    }
    char hex[65];
    pol_digest_to_hex(&task.id, hex);
    printf("%s\n", hex);
    fflush(stdout);
    int code = wait ? follow(m, &task.id, (unsigned)timeout) : 0;
    pol_mirror_close(m);
    return code;
}
