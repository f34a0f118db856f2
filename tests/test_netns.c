/* The game across network namespaces: referee, solver and verifier each in
 * its own namespace, joined by veth links to a bridge in a fourth ("hub")
 * namespace, all made by the test itself with ip netns / ip link, so the
 * parties talk over real (virtual) interfaces with their own addresses
 * rather than loopback. An honest task is paid; a cheating solver
 * (tamper-node:6:19) is pinpointed and slashed.
 *
 * Skipped, with the reason, when namespaces cannot be made (not root, no
 * iproute2, no permission, no bridge support). */
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
#include "pol/keys.h"
#include "testutil.h"

#define TINY "spec/vectors/tiny"

static char dir[512], bin[512], why_skip[256];
static int id; /* makes namespace and link names unique */
static int ready;
static pid_t pids[8];
static size_t n_pids;
static const char *const NS[] = { "r", "s", "v" }; /* referee, solver, verifier */
static const char *const NAMES[] = { "referee", "submitter", "solver", "verifier" };
static char hexk[4][65];

static int POL_PRINTF(1, 2) sh(const char *fmt, ...)
{
    char cmd[4000], full[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "( %s ) >>%s/netns.log 2>&1", cmd, dir);
    return tu_system(full);
}

static void teardown_ns(void)
{
    for (size_t i = 0; i < n_pids; i++)
        kill(pids[i], SIGTERM);
    for (size_t i = 0; i < n_pids; i++)
        waitpid(pids[i], NULL, 0);
    n_pids = 0;
    for (int i = 0; i < 3; i++)
        sh("ip netns del pol%d%s", id, NS[i]);
    sh("ip netns del pol%dh", id);
}

/* Three namespaces on a bridge: 10.77.<id>.1 referee, .2 solver, .3 verifier. */
static int make_ns(void)
{
    if (geteuid() != 0) {
        snprintf(why_skip, sizeof why_skip, "not root: network namespaces need CAP_SYS_ADMIN");
        return -1;
    }
    if (sh("command -v ip")) {
        snprintf(why_skip, sizeof why_skip, "iproute2 (ip) is not installed");
        return -1;
    }
    if (sh("ip netns add pol%dh", id) || sh("ip -n pol%dh link add br0 type bridge", id) ||
        sh("ip -n pol%dh link set br0 up", id)) {
        snprintf(why_skip, sizeof why_skip, "cannot create a namespace with a bridge "
                 "(permission or kernel support); see %s/netns.log", dir);
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (sh("ip netns add pol%d%s", id, NS[i]) ||
            sh("ip link add pv%d%s type veth peer name ph%d%s", id, NS[i], id, NS[i]) ||
            sh("ip link set pv%d%s netns pol%d%s", id, NS[i], id, NS[i]) ||
            sh("ip link set ph%d%s netns pol%dh", id, NS[i], id) ||
            sh("ip -n pol%dh link set ph%d%s master br0 up", id, id, NS[i]) ||
            sh("ip -n pol%d%s addr add 10.77.%d.%d/24 dev pv%d%s", id, NS[i], id % 250, i + 1, id,
               NS[i]) ||
            sh("ip -n pol%d%s link set pv%d%s up", id, NS[i], id, NS[i]) ||
            sh("ip -n pol%d%s link set lo up", id, NS[i])) {
            snprintf(why_skip, sizeof why_skip, "cannot create veth links between namespaces; "
                     "see %s/netns.log", dir);
            return -1;
        }
    }
    /* wait for carrier on every link (no ping needed) */
    for (int t = 0; t < 50; t++) {
        int up = 1;
        for (int i = 0; i < 3; i++)
            up &= !sh("ip -n pol%d%s -o link show pv%d%s | grep -q LOWER_UP", id, NS[i], id,
                      NS[i]);
        if (up)
            return 0;
        usleep(100 * 1000);
    }
    snprintf(why_skip, sizeof why_skip, "the veth links never came up");
    return -1;
}

static void POL_PRINTF(3, 4) spawn(int ns, const char *log, const char *fmt, ...)
{
    char args[3000], cmd[4000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "exec ip netns exec pol%d%s %s/%s >%s/%s.log 2>&1", id, NS[ns], bin,
             args, dir, log);
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    pids[n_pids++] = p;
}

static void wait_log(const char *log, const char *what)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s.log", dir, log);
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

static int log_has(const char *log, const char *what)
{
    char path[700];
    uint8_t *buf;
    size_t len;
    snprintf(path, sizeof path, "%s/%s.log", dir, log);
    if (pol_read_file(path, 1 << 24, &buf, &len))
        return 0;
    int found = strstr((char *)buf, what) != NULL;
    free(buf);
    return found;
}

static void test_game_across_namespaces(void **st)
{
    (void)st;
    if (!ready) {
        print_message("    SKIPPED: %s\n", why_skip);
        skip();
    }
    const int n = id % 250;
    char gen[700];
    snprintf(gen, sizeof gen, "%s/genesis", dir);
    assert_int_equal(sh("%s/pol-referee genesis --referee-key %s --fund %s=10000 --fund %s=1000 "
                        "--fund %s=1000 --windows 30000,30000,3000,15000,120000 --out %s", bin,
                        hexk[0], hexk[1], hexk[2], hexk[3], gen), 0);
    spawn(0, "referee", "pol-referee run --db %s/ledger.db --listen 10.77.%d.1:7000 --key "
          "%s/referee.key --genesis %s --data-dir " TINY, dir, n, dir, gen);
    wait_log("referee", "listening");
    spawn(2, "verifier", "pol-verifier serve --referee 10.77.%d.1:7000 --key %s/verifier.key "
          "--listen 10.77.%d.3:7002 --work %s/verifier --data-dir " TINY " --timeout 200", n, dir,
          n, dir);
    wait_log("verifier", "serving");
    /* an honest task */
    spawn(1, "solver1", "pol-solver serve --referee 10.77.%d.1:7000 --key %s/solver.key --listen "
          "10.77.%d.2:7001 --work %s/solver1 --data-dir " TINY " --tasks 1 --timeout 200", n,
          dir, n, dir);
    wait_log("solver1", "serving");
    assert_int_equal(sh("ip netns exec pol%dv %s/pol-submit --referee 10.77.%d.1:7000 --key "
                        "%s/submitter.key --task " TINY "/sgd-relu.json --bounty 100 --wait "
                        "--timeout 200 >%s/submit1.log", id, bin, n, dir, dir), 0);
    wait_log("solver1", "finished");
    /* a cheating solver, caught across the links */
    spawn(1, "solver2", "pol-solver serve --referee 10.77.%d.1:7000 --key %s/solver.key --listen "
          "10.77.%d.2:7001 --work %s/solver2 --data-dir " TINY " --tasks 1 --timeout 200 "
          "--cheat tamper-node:6:19", n, dir, n, dir);
    wait_log("solver2", "serving");
    assert_int_equal(sh("ip netns exec pol%dv %s/pol-submit --referee 10.77.%d.1:7000 --key "
                        "%s/submitter.key --task " TINY "/adamw-gelu.json --bounty 100 --wait "
                        "--timeout 200 >%s/submit2.log", id, bin, n, dir, dir), 3);
    assert_true(log_has("submit2", "solver lost, pinpointed interval 1 step 6 node 19"));
    assert_true(log_has("referee", "challenger at 10.77."));
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
    char cwd[400];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    /* ip netns exec keeps the working directory; make the program path absolute */
    snprintf(bin, sizeof bin, "%s%s%s", b && b[0] == '/' ? "" : cwd, b && b[0] == '/' ? "" : "/",
             b && *b ? b : "build/bin");
    id = (int)(getpid() % 100000);
    for (int i = 0; i < 4; i++) {
        pol_keypair kp;
        uint8_t pub[32];
        char p[700];
        snprintf(p, sizeof p, "%s/%s.key", dir, NAMES[i]);
        if (pol_keypair_generate(&kp) || pol_seckey_save(p, &kp) || pol_keypair_pubkey(&kp, pub))
            return -1;
        pol_keypair_clear(&kp);
        pol_pubkey_to_hex(pub, hexk[i]);
    }
    ready = make_ns() == 0;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    teardown_ns();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_game_across_namespaces),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
