/* pol-referee: the referee daemon of the libpol game (spec/referee.md).
 *
 *   pol-referee genesis --referee-key HEX --fund HEXKEY=AMOUNT ... --out FILE
 *       writes a Genesis file (never overwrites)
 *   pol-referee run --db FILE --listen HOST:PORT --key KEYFILE [--genesis FILE] ...
 *       keeps the game in the ledger FILE and serves it; one line per game
 *       event on stdout
 *
 * Exit status: 0 done (or stopped by SIGINT / SIGTERM), 1 a run error, 2 a
 * usage error. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_num.h"
#include "pol/fileio.h"
#include "pol/game.h"
#include "pol/keys.h"
#include "pol/version.h"
#include "pol/referee.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pol-referee genesis --referee-key HEX --fund HEXKEY=AMOUNT [--fund ...]\n"
            "                           [--jackpot N] [--jackpot-payout N] [--forced-error-ppm N]\n"
            "                           [--jackpot-tax-ppm N]\n"
            "                           [--windows SOLVE,VERIFY,CHALLENGE,REVEAL,DISPUTE]\n"
            "                           [--genesis-time MS] --out FILE\n"
            "         writes a Genesis (windows in milliseconds, default 60000 each;\n"
            "         genesis time default now); never overwrites FILE\n"
            "       pol-referee run --db FILE --listen HOST:PORT --key KEYFILE [--genesis FILE]\n"
            "                       [--data-dir DIR] [--party HEXKEY=HOST:PORT ...]\n"
            "                       [--answer-timeout MS] [--party-clock MS] [--arity N]\n"
            "                       [--log-every]\n"
            "         keeps the game in the ledger FILE (the genesis is needed only when FILE\n"
            "         is new) and serves it on HOST:PORT (port 0: any free port); prints one\n"
            "         line per game event; disputes are run against the parties' endpoints\n"
            "         (--party gives one where the game has none); tasks' datasets are found\n"
            "         under --data-dir (default .); --log-every also prints each ledger event;\n"
            "         SIGINT or SIGTERM stops it cleanly. Disputes: --answer-timeout, the ms a\n"
            "         party has for one answer or blob (default 10000); --party-clock, its ms\n"
            "         for a whole dispute (default 300000; at most a third of the game's\n"
            "         dispute window, cut to it otherwise); --arity, the split of the\n"
            "         pinpoint protocol's second level, 2..16 (default 2)\n"
            "       pol-referee --version\n");
}

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "pol-referee: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return 2;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---------------------------------------------------------------- genesis */

static int cmd_genesis(int argc, char **argv)
{
    pol_genesis gen;
    memset(&gen, 0, sizeof gen);
    const char *out = NULL;
    int have_key = 0, have_time = 0, rc = 2;
    uint64_t v, w[5] = { 60000, 60000, 60000, 60000, 60000 };
    gen.accounts = calloc(POL_GAME_MAX_GENESIS_ACCOUNTS, sizeof *gen.accounts);
    if (!gen.accounts) {
        fprintf(stderr, "pol-referee: out of memory\n");
        return 1;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            rc = 0;
            goto done;
        }
        if (!val) {
            rc = bad("%s needs a value (see --help)", a);
            goto done;
        }
        i++;
        if (!strcmp(a, "--referee-key")) {
            if (pol_pubkey_from_hex(val, gen.referee_key)) {
                rc = bad("--referee-key: not a valid 64-hex-digit public key: %s", val);
                goto done;
            }
            have_key = 1;
        } else if (!strcmp(a, "--fund")) {
            const char *eq = strchr(val, '=');
            char hex[65];
            if (!eq || eq - val != 64) {
                rc = bad("--fund: want HEXKEY=AMOUNT, got %s", val);
                goto done;
            }
            memcpy(hex, val, 64);
            hex[64] = '\0';
            if (gen.n_accounts == POL_GAME_MAX_GENESIS_ACCOUNTS) {
                rc = bad("--fund: too many accounts%s", "");
                goto done;
            }
            pol_genesis_account *acc = &gen.accounts[gen.n_accounts];
            if (pol_pubkey_from_hex(hex, acc->key) || cli_u64(eq + 1, 0, UINT64_MAX, &acc->balance)) {
                rc = bad("--fund: bad key or amount in %s", val);
                goto done;
            }
            gen.n_accounts++;
        } else if (!strcmp(a, "--jackpot")) {
            if (cli_u64(val, 0, UINT64_MAX, &gen.jackpot)) {
                rc = bad("--jackpot: not a number: %s", val);
                goto done;
            }
        } else if (!strcmp(a, "--jackpot-payout")) {
            if (cli_u64(val, 0, UINT64_MAX, &gen.jackpot_payout)) {
                rc = bad("--jackpot-payout: not a number: %s", val);
                goto done;
            }
        } else if (!strcmp(a, "--forced-error-ppm") || !strcmp(a, "--jackpot-tax-ppm")) {
            if (cli_u64(val, 0, POL_GAME_PPM, &v)) {
                rc = bad("ppm values are 0..1000000, got %s", val);
                goto done;
            }
            if (!strcmp(a, "--forced-error-ppm"))
                gen.forced_error_ppm = (uint32_t)v;
            else
                gen.jackpot_tax_ppm = (uint32_t)v;
        } else if (!strcmp(a, "--windows")) {
            char buf[256];
            snprintf(buf, sizeof buf, "%s", val);
            char *save = NULL, *tok = strtok_r(buf, ",", &save);
            int n = 0;
            for (; tok && n < 5; tok = strtok_r(NULL, ",", &save))
                if (cli_u64(tok, 0, UINT64_MAX, &w[n++]) || w[n - 1] == 0)
                    break;
            if (n != 5 || tok || w[n - 1] == 0) {
                rc = bad("--windows: want five positive millisecond values "
                         "SOLVE,VERIFY,CHALLENGE,REVEAL,DISPUTE, got %s", val);
                goto done;
            }
        } else if (!strcmp(a, "--genesis-time")) {
            if (cli_u64(val, 0, UINT64_MAX, &gen.genesis_time_ms)) {
                rc = bad("--genesis-time: not a number: %s", val);
                goto done;
            }
            have_time = 1;
        } else if (!strcmp(a, "--out")) {
            out = val;
        } else {
            rc = bad("unknown option %s (see --help)", a);
            goto done;
        }
    }
    if (!have_key || !gen.n_accounts || !out || !*out) {
        rc = bad("genesis needs --referee-key, at least one --fund and --out%s", "");
        goto done;
    }
    gen.solve_window_ms = w[0];
    gen.verify_window_ms = w[1];
    gen.challenge_window_ms = w[2];
    gen.reveal_window_ms = w[3];
    gen.dispute_window_ms = w[4];
    if (!have_time)
        gen.genesis_time_ms = wall_ms();
    uint8_t *buf;
    size_t len;
    pol_status st = pol_genesis_encode(&gen, &buf, &len);
    if (st != POL_OK) {
        fprintf(stderr, "pol-referee: genesis: %s\n", pol_last_error());
        rc = 2;
        goto done;
    }
    st = pol_write_file_atomic(out, buf, len, 0);
    if (st == POL_OK) {
        pol_digest id;
        char hex[POL_DIGEST_HEX_LEN + 1];
        if (pol_sha256(buf, len, &id) == POL_OK) {
            pol_digest_to_hex(&id, hex);
            printf("%s\n", hex);
        }
        rc = 0;
    } else {
        fprintf(stderr, "pol-referee: %s: %s\n", out,
                st == POL_ERR_EXISTS ? "exists; refusing to overwrite" : pol_last_error());
        rc = 1;
    }
    free(buf);
done:
    free(gen.accounts);
    return rc;
}

/* -------------------------------------------------------------------- run */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void print_line(void *user, const char *line)
{
    (void)user;
    printf("%s\n", line);
    fflush(stdout);
}

static int cmd_run(int argc, char **argv)
{
    pol_referee_opts o;
    memset(&o, 0, sizeof o);
    const char *key_path = NULL, *gen_path = NULL;
    pol_referee_endpoint *eps = calloc((size_t)argc, sizeof *eps);
    uint64_t v;
    int rc = 2;
    if (!eps)
        return 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            rc = 0;
            goto done;
        }
        if (!strcmp(a, "--log-every")) {
            o.log_events = 1;
            continue;
        }
        if (!val) {
            rc = bad("%s needs a value (see --help)", a);
            goto done;
        }
        i++;
        if (!strcmp(a, "--db")) {
            o.db_path = val;
        } else if (!strcmp(a, "--listen")) {
            o.listen = val;
        } else if (!strcmp(a, "--key")) {
            key_path = val;
        } else if (!strcmp(a, "--genesis")) {
            gen_path = val;
        } else if (!strcmp(a, "--data-dir")) {
            o.data_dir = val;
        } else if (!strcmp(a, "--party")) {
            const char *eq = strchr(val, '=');
            char hex[65];
            pol_referee_endpoint *e = &eps[o.n_endpoints];
            if (!eq || eq - val != 64 || strlen(eq + 1) >= sizeof e->addr || !eq[1]) {
                rc = bad("--party: want HEXKEY=HOST:PORT, got %s", val);
                goto done;
            }
            memcpy(hex, val, 64);
            hex[64] = '\0';
            if (pol_pubkey_from_hex(hex, e->key)) {
                rc = bad("--party: bad key in %s", val);
                goto done;
            }
            snprintf(e->addr, sizeof e->addr, "%s", eq + 1);
            o.n_endpoints++;
        } else if (!strcmp(a, "--answer-timeout") || !strcmp(a, "--party-clock") ||
                   !strcmp(a, "--arity")) {
            if (cli_u64(val, 1, 86400000u, &v)) {
                rc = bad("%s: want a positive number", a);
                goto done;
            }
            if (!strcmp(a, "--answer-timeout"))
                o.answer_timeout_ms = (unsigned)v;
            else if (!strcmp(a, "--party-clock"))
                o.party_clock_ms = (unsigned)v;
            else if (v < 2 || v > 16) {
                rc = bad("--arity: 2..16, got %s", val);
                goto done;
            } else
                o.arity = (unsigned)v;
        } else {
            rc = bad("unknown option %s (see --help)", a);
            goto done;
        }
    }
    if (!o.db_path || !o.listen || !key_path) {
        rc = bad("run needs --db, --listen and --key%s", "");
        goto done;
    }
    rc = 1;
    pol_keypair kp;
    pol_status st = pol_seckey_load(key_path, &kp);
    if (st != POL_OK) {
        fprintf(stderr, "pol-referee: key %s: %s\n", key_path, pol_last_error());
        goto done;
    }
    uint8_t *gen = NULL;
    size_t gen_len = 0;
    if (gen_path && (st = pol_read_file(gen_path, POL_GAME_MAX_GENESIS, &gen, &gen_len))) {
        fprintf(stderr, "pol-referee: genesis %s: %s\n", gen_path, pol_last_error());
        pol_keypair_clear(&kp);
        goto done;
    }
    o.genesis = gen;
    o.genesis_len = gen_len;
    o.endpoints = eps;
    o.log = print_line;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    pol_referee *r;
    st = pol_referee_open(&o, &kp, &r);
    pol_keypair_clear(&kp);
    free(gen);
    if (st != POL_OK) {
        fprintf(stderr, "pol-referee: %s: %s%s\n", pol_strerror(st), pol_last_error(),
                st == POL_ERR_NOT_FOUND ? " (a new ledger needs --genesis)" : "");
        goto done;
    }
    pol_digest chain;
    char hex[POL_DIGEST_HEX_LEN + 1];
    pol_game_chain(pol_referee_game(r), &chain);
    pol_digest_to_hex(&chain, hex);
    printf("pol-referee: ledger %s: %" PRIu64 " events, chain %s\n", o.db_path,
           pol_referee_head(r), hex);
    printf("pol-referee: listening on port %u\n", (unsigned)pol_referee_port(r));
    fflush(stdout);
    while (!stop) {
        st = pol_referee_poll(r, 200);
        if (st != POL_OK) {
            fprintf(stderr, "pol-referee: stopping: %s: %s\n", pol_strerror(st),
                    pol_last_error());
            pol_referee_close(r);
            goto done;
        }
    }
    pol_referee_close(r);
    printf("pol-referee: stopped\n");
    fflush(stdout);
    rc = 0;
done:
    free(eps);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("pol-referee (libpol %s, spec %d)\n", pol_version_string(), POL_SPEC_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "genesis"))
        return cmd_genesis(argc, argv);
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc, argv);
    fprintf(stderr, "pol-referee: unknown command %s (see --help)\n", argv[1]);
    return 2;
}
