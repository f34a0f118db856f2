/* The solver and verifier programs end to end: pol-keygen, pol-solver train
 * --key --store, pol-verifier check (accept = exit 0, reject = exit 3);
 * a certificate re-signed by another key and a certificate checked against
 * another task are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pol/cert.h"
#include "pol/fileio.h"
#include "pol/keys.h"
#include "pol/train.h"
#include "pol/wire.h"
#include "testutil.h"

#define TASK "spec/vectors/tiny/adamw-gelu.json"
#define OTHER_TASK "spec/vectors/tiny/sgd-relu.json"

static char dir[512], bin[512];

static int run(const char *fmt, ...)
{
    char args[3000], cmd[4000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s/%s >>%s/log 2>&1", bin, args, dir);
    return tu_system(cmd);
}

/* A certificate built from the checkpoint files alone equals the one built
 * from the run's trace: hashes, steps, root, and bit-identical update norms. */
static void test_cert_from_checkpoints(void **st)
{
    (void)st;
    assert_int_equal(run("pol-solver train --task %s --out %s/run2", TASK, dir), 0);
    char rd[700];
    snprintf(rd, sizeof rd, "%s/run2", dir);
    pol_cert a, b;
    assert_int_equal(pol_cert_from_run(rd, TASK, &a), POL_OK);
    pol_trace tr;
    assert_int_equal(pol_trace_load(rd, &tr), POL_OK);
    char(*paths)[800] = calloc(tr.n, sizeof *paths);
    const char **pp = calloc(tr.n, sizeof *pp);
    assert_non_null(paths);
    assert_non_null(pp);
    for (size_t i = 0; i < tr.n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", rd, tr.e[i].file);
        pp[i] = paths[i];
    }
    pol_task task;
    assert_int_equal(pol_task_load(TASK, &task), POL_OK);
    assert_int_equal(pol_cert_from_checkpoints(&task, pp, tr.n, &b), POL_OK);
    assert_int_equal(a.n_checkpoints, b.n_checkpoints);
    assert_true(pol_digest_equal(&a.ckpt_root, &b.ckpt_root));
    assert_true(pol_digest_equal(&a.final_state_hash, &b.final_state_hash));
    for (size_t i = 0; i < a.n_checkpoints; i++)
        assert_int_equal(a.ckpt_steps[i], b.ckpt_steps[i]);
    for (size_t i = 0; i + 1 < a.n_checkpoints; i++)
        assert_memory_equal(&a.update_norms[i], &b.update_norms[i], sizeof(double));
    pol_cert_free(&b);
    /* out of order: the first file is not step 0 */
    assert_int_equal(pol_cert_from_checkpoints(&task, pp + 1, tr.n - 1, &b), POL_ERR_MISMATCH);
    pol_cert_free(&a);
    pol_trace_free(&tr);
    free(paths), free(pp);
}

static int setup(void **st)
{
    (void)st;
    const char *d = tu_tmpdir();
    if (!d) return -1;
    snprintf(dir, sizeof dir, "%s", d);
    const char *b = getenv("POL_BIN");
    snprintf(bin, sizeof bin, "%s", b && *b ? b : "build/bin");
    return 0;
}

static void test_solver_verifier(void **st)
{
    (void)st;
    assert_int_equal(run("pol-keygen --out %s/solver", dir), 0);
    assert_int_equal(run("pol-keygen --out %s/verifier", dir), 0);
    assert_int_equal(run("pol-keygen --out %s/solver", dir), 1); /* never overwrites */
    assert_int_equal(run("pol-solver train --task %s --out %s/run --key %s/solver.key --store %s/store",
                         TASK, dir, dir, dir), 0);
    /* honest: accepted, report signed */
    assert_int_equal(run("pol-verifier check --task %s --cert %s/run/certificate.pol --store %s/store "
                         "--samples 4 --key %s/verifier.key --report %s/report.pol --json",
                         TASK, dir, dir, dir, dir), 0);
    char p[700];
    uint8_t *buf, *body, signer[32];
    size_t len, blen;
    snprintf(p, sizeof p, "%s/report.pol", dir);
    assert_int_equal(pol_read_file(p, 1 << 20, &buf, &len), POL_OK);
    assert_int_equal(pol_envelope_open(buf, len, POL_MSG_REPORT, &body, &blen, signer), POL_OK);
    pol_report rep;
    assert_int_equal(pol_report_decode(body, blen, &rep), POL_OK);
    assert_int_equal(rep.verdict, POL_VERDICT_ACCEPT);
    assert_int_equal(rep.n_intervals, 4);
    pol_report_free(&rep);
    free(body), free(buf);
    /* against another task: rejected (exit 3) */
    assert_int_equal(run("pol-verifier check --task %s --cert %s/run/certificate.pol --store %s/store",
                         OTHER_TASK, dir, dir), 3);
    /* the certificate re-signed by another key: refused (exit 1) */
    snprintf(p, sizeof p, "%s/run/certificate.pol", dir);
    assert_int_equal(pol_read_file(p, 1 << 24, &buf, &len), POL_OK);
    assert_int_equal(pol_envelope_open(buf, len, POL_MSG_CERTIFICATE, &body, &blen, signer), POL_OK);
    pol_keypair other;
    uint8_t *env;
    size_t elen;
    assert_int_equal(pol_keypair_generate(&other), POL_OK);
    assert_int_equal(pol_envelope_seal(POL_MSG_CERTIFICATE, body, blen, &other, &env, &elen), POL_OK);
    snprintf(p, sizeof p, "%s/resigned.pol", dir);
    assert_int_equal(pol_write_file_atomic(p, env, elen, 0), POL_OK);
    pol_cert c;
    assert_int_equal(pol_cert_load(p, &c, NULL), POL_ERR_SIGNATURE);
    assert_int_equal(run("pol-verifier check --task %s --cert %s --store %s/store", TASK, p, dir), 1);
    pol_keypair_clear(&other);
    free(env), free(body), free(buf);
    /* a store file whose bytes were altered: the interval is rejected */
    assert_int_equal(pol_cert_load(strcat(strcpy(p, dir), "/run/certificate.pol"), &c, NULL), POL_OK);
    char hex[65], sp[800];
    pol_digest_to_hex(&c.ckpt_hashes[2], hex);
    snprintf(sp, sizeof sp, "%s/store/%s.safetensors", dir, hex);
    assert_int_equal(pol_read_file(sp, 1 << 24, &buf, &len), POL_OK);
    buf[len - 9] ^= 0x40;
    assert_int_equal(remove(sp), 0); /* the store holds a hard link to the run's file */
    assert_int_equal(pol_write_file_atomic(sp, buf, len, 0), POL_OK);
    free(buf);
    pol_cert_free(&c);
    assert_int_equal(run("pol-verifier check --task %s --cert %s/run/certificate.pol --store %s/store "
                         "--samples 4", TASK, dir, dir), 3);
    /* [V-VER-7] no store at all: the whole run replayed, accepted; against
     * another task rejected; --replay excludes --store and --samples */
    assert_int_equal(run("pol-verifier check --task %s --cert %s/run/certificate.pol --replay",
                         TASK, dir), 0);
    assert_int_equal(run("pol-verifier check --task %s --cert %s/run/certificate.pol --replay",
                         OTHER_TASK, dir), 3);
    assert_int_equal(run("pol-verifier check --task %s --cert x --replay --store y", TASK), 2);
    assert_int_equal(run("pol-verifier check --task %s --cert x --replay --samples 3", TASK), 2);
    /* usage errors */
    assert_int_equal(run("pol-verifier check --task %s", TASK), 2);
    assert_int_equal(run("pol-verifier check --task %s --cert x --store y --beacon 12", TASK), 2);
    assert_int_equal(run("pol-verifier --help"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_solver_verifier),
        cmocka_unit_test(test_cert_from_checkpoints),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
