/* pol-solver as a user meets it: help, usage errors (exit 2), run errors
 * (exit 1 with a message), --json output, inspect; and pol-verifier
 * profile's GPU sources (--gpu, and a task's gpu_math) on the machine that
 * runs it. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "pol/cuda.h"
#include "testutil.h"

#define TASK "spec/vectors/tiny/adamw-gelu.json"

static char bin[512], vbin[512], wbin[512], kbin[512], sbin[512], dir[512], out_path[600],
    err_path[600];

static int setup(void **st)
{
    (void)st;
    tu_bin("pol-solver", bin, sizeof bin);
    tu_bin("pol-verifier", vbin, sizeof vbin);
    tu_bin("pol-whistleblower", wbin, sizeof wbin);
    tu_bin("pol-keygen", kbin, sizeof kbin);
    tu_bin("pol-submit", sbin, sizeof sbin);
    const char *d = tu_tmpdir();
    if (!d)
        return -1;
    snprintf(dir, sizeof dir, "%s", d);
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    return 0;
}

/* Runs program prog with args (a printf format and its values); returns the
 * exit status. */
static int run_prog(const char *prog, const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s", prog, args, out_path, err_path);
    return tu_system(cmd);
}
#define solver(...) run_prog(bin, __VA_ARGS__)
#define verifier(...) run_prog(vbin, __VA_ARGS__)
#define whistleblower(...) run_prog(wbin, __VA_ARGS__)
#define keygen(...) run_prog(kbin, __VA_ARGS__)
#define submit(...) run_prog(sbin, __VA_ARGS__)

/* 1 if <dir>/name exists. */
static int exists(const char *name)
{
    char p[1200];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return lstat(p, &sb) == 0;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_help_and_usage(void **st)
{
    (void)st;
    assert_int_equal(solver("--help"), 0);
    assert_non_null(strstr(read_all(out_path), "usage: pol-solver train"));
    assert_int_equal(solver("train --help"), 0);
    assert_int_equal(solver("--version"), 0);
    assert_int_equal(solver(""), 2);
    assert_int_equal(solver("frobnicate"), 2);
    assert_int_equal(solver("train --task %s", TASK), 2);
    assert_non_null(strstr(read_all(err_path), "--out"));
    assert_int_equal(solver("train --task %s --out %s/x --threads 0", TASK, dir), 2);
    assert_int_equal(solver("train --task %s --out %s/x --kernels turbo", TASK, dir), 2);
    assert_int_equal(solver("train --task %s --out %s/x --resume --from y", TASK, dir), 2);
    assert_int_equal(solver("inspect"), 2);
    /* the cuBLAS math is the task's (spec/task.md [T-KEY-4]), not an option */
    assert_int_equal(solver("train --task %s --out %s/x --kernels blas --device cuda --tf32", TASK,
                            dir), 2);
    const char *err = read_all(err_path);
    assert_non_null(strstr(err, "--tf32 is no longer an option"));
    assert_non_null(strstr(err, "\"gpu_math\""));
    assert_false(exists("x"));
    assert_int_equal(solver("train --help"), 0);
    assert_non_null(strstr(read_all(out_path), "gpu_math"));
}

/* The serving programs give their state back on every early exit: help,
 * usage errors and a key that cannot be read (under `make asan-test` a
 * leak would change the exit status). Nothing is written. */
static void test_serve_usage(void **st)
{
    (void)st;
    char common[1200];
    snprintf(common, sizeof common, "--referee 127.0.0.1:1 --listen 127.0.0.1:0 --work %s/sw",
             dir);
    assert_int_equal(verifier("serve --help"), 0);
    assert_non_null(strstr(read_all(out_path), "--referee"));
    assert_int_equal(verifier("serve --cheat sloppy"), 2);
    assert_non_null(strstr(read_all(err_path), "--cheat wants lazy or reject"));
    assert_int_equal(verifier("serve --samples 12x %s --key k", common), 2);
    assert_int_equal(verifier("serve --key k"), 2);
    assert_non_null(strstr(read_all(err_path), "--listen"));
    assert_int_equal(verifier("serve %s --key %s/no-such.key", common, dir), 1);
    assert_int_equal(whistleblower("--help"), 0);
    assert_int_equal(whistleblower("--version"), 0);
    assert_int_equal(whistleblower("--timeout 0 %s --key k", common), 2);
    assert_non_null(strstr(read_all(err_path), "--timeout wants seconds, 1..2592000"));
    assert_int_equal(whistleblower("%s", common), 2);
    assert_int_equal(whistleblower("%s --key %s/no-such.key", common, dir), 1);
    assert_false(exists("sw"));
}

/* Every program answers --help and --version (exit 0, on stdout) and an
 * unknown option with exit 2. */
static void test_every_program_help_version(void **st)
{
    (void)st;
    static const char *const progs[] = { "pol-keygen",  "pol-referee", "pol-solver",
                                         "pol-submit",  "pol-verifier", "pol-whistleblower" };
    for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
        char path[512], want[64];
        tu_bin(progs[i], path, sizeof path);
        if (run_prog(path, "--help") != 0 || !strstr(read_all(out_path), "usage:"))
            fail_msg("%s --help: no usage on stdout with exit 0", progs[i]);
        snprintf(want, sizeof want, "%s (libpol ", progs[i]);
        if (run_prog(path, "--version") != 0 || strncmp(read_all(out_path), want, strlen(want)))
            fail_msg("%s --version: want \"%s...\" with exit 0, got \"%s\"", progs[i], want,
                     read_all(out_path));
        if (run_prog(path, "--no-such-option") != 2)
            fail_msg("%s --no-such-option: want exit 2", progs[i]);
    }
}

static void test_train_json_and_inspect(void **st)
{
    (void)st;
    assert_int_equal(solver("train --task %s --out %s/run --threads 2 --json", TASK, dir), 0);
    json_error_t e;
    json_t *r = json_loads(read_all(out_path), 0, &e);
    assert_non_null(r);
    const char *final = json_string_value(json_object_get(r, "final_state_hash"));
    assert_non_null(final);
    assert_int_equal(strlen(final), 64);
    assert_int_equal(json_integer_value(json_object_get(r, "steps")), 14);
    assert_int_equal(json_integer_value(json_object_get(r, "checkpoints")), 5); /* 0,4,8,12,14 */
    assert_true(json_is_real(json_object_get(r, "final_loss")));
    /* no cuBLAS here: no GEMM math to report */
    assert_true(json_is_null(json_object_get(r, "gpu_math")));
    assert_null(json_object_get(r, "tf32"));
    char final_copy[65];
    snprintf(final_copy, sizeof final_copy, "%s", final);
    json_decref(r);

    /* inspect the last checkpoint: same state hash, verified */
    assert_int_equal(solver("inspect %s/run/ckpt-00000014.safetensors --json", dir), 0);
    r = json_loads(read_all(out_path), 0, &e);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "state_hash")), final_copy);
    assert_int_equal(json_integer_value(json_object_get(r, "step")), 14);
    json_decref(r);
    assert_int_equal(solver("inspect %s/run/ckpt-00000004.safetensors", dir), 0);
    assert_non_null(strstr(read_all(out_path), "l0.W"));

    /* a second run into the same directory is refused, exit 1 */
    assert_int_equal(solver("train --task %s --out %s/run", TASK, dir), 1);
    assert_non_null(strstr(read_all(err_path), "--resume"));

    /* a corrupted checkpoint: inspect fails with a message */
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "cp %s/run/ckpt-00000004.safetensors %s/bad.safetensors && "
             "printf '\\377' | dd of=%s/bad.safetensors bs=1 seek=$(( $(stat -c %%s %s/bad.safetensors) - 5 )) "
             "conv=notrunc status=none", dir, dir, dir, dir);
    assert_int_equal(tu_system(cmd), 0);
    assert_int_equal(solver("inspect %s/bad.safetensors", dir), 1);
    assert_non_null(strstr(read_all(err_path), "hash"));
    assert_int_equal(solver("inspect %s/missing.safetensors", dir), 1);
}

/* Numbers on the command lines: digits only, in range, never saturated or
 * wrapped (a --timeout of 2^64 s once overflowed into a deadline in the
 * past); the serving commands' usage errors print the serve usage. */
static void test_numbers(void **st)
{
    (void)st;
    char common[1200];
    snprintf(common, sizeof common, "--referee 127.0.0.1:1 --listen 127.0.0.1:0 --work %s/nw",
             dir);
    static const char *const bad[] = { "0", "2592001", "18446744073709552616", "-5", "' 5'",
                                       "''", "5s" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (whistleblower("--timeout %s %s --key k", bad[i], common) != 2 ||
            solver("serve --timeout %s %s --key k", bad[i], common) != 2 ||
            verifier("serve --timeout %s %s --key k", bad[i], common) != 2)
            fail_msg("--timeout %s: want exit 2 from every serving program", bad[i]);
        assert_non_null(strstr(read_all(err_path), "usage: pol-verifier serve"));
    }
    assert_int_equal(solver("serve --tasks 1x %s --key k", common), 2);
    assert_non_null(strstr(read_all(err_path), "usage: pol-solver serve"));
    assert_int_equal(solver("train --task %s --out %s/x --threads ''", TASK, dir), 2);
    assert_int_equal(submit("--referee 127.0.0.1:1 --key k --task %s --bounty "
                            "99999999999999999999", TASK), 2);
    assert_non_null(strstr(read_all(err_path), "--bounty"));
    /* check re-runs something: --samples 0 --top-q 0 is refused; all is a count */
    assert_int_equal(verifier("check --task %s --cert c --store s --samples 0 --top-q 0", TASK),
                     2);
    assert_non_null(strstr(read_all(err_path), "re-run nothing"));
    assert_int_equal(verifier("check --task %s --cert c --store s --samples most", TASK), 2);
    /* [V-TOL-2] the cosine distance cannot accept (blind to scale): a usage
     * error, before anything is read; l2_rel is still a metric */
    assert_int_equal(verifier("check --task %s --cert c --store s --metric cosine", TASK), 2);
    assert_non_null(strstr(read_all(err_path), "blind to scale"));
    assert_int_equal(verifier("check --task %s --cert c --store s --metric frob", TASK), 2);
    assert_int_equal(verifier("check --task %s --cert c --store s --metric l2_rel", TASK), 1);
    assert_int_equal(verifier("serve --samples 0x %s --key k", common), 2);
    assert_false(exists("nw"));
    assert_false(exists("x"));
}

/* A run continued from a certificate's checkpoint (spec/certificate.md
 * [V-VER-2]): pol-solver train --parent checks the start before training;
 * pol-verifier check needs the parent certificate, accepts the true one and
 * refuses another. */
static void test_parent(void **st)
{
    (void)st;
    assert_int_equal(keygen("--out %s/p", dir), 0);
    assert_int_equal(solver("train --task %s --out %s/pa --key %s/p.key --store %s/ps", TASK, dir,
                            dir, dir), 0);
    assert_int_equal(solver("train --task spec/vectors/tiny/sgd-relu.json --out %s/po --key "
                            "%s/p.key", dir, dir), 0);
    /* --parent wants --key and a start checkpoint */
    assert_int_equal(solver("train --task %s --out %s/pb --parent %s/pa/certificate.pol", TASK,
                            dir, dir), 2);
    assert_int_equal(solver("train --task %s --out %s/pb --key %s/p.key --parent "
                            "%s/pa/certificate.pol", TASK, dir, dir, dir), 2);
    assert_non_null(strstr(read_all(err_path), "--from"));
    /* a signed run from step 4 must name its parent: refused before training */
    assert_int_equal(solver("train --task %s --out %s/pb --key %s/p.key --from "
                            "%s/pa/ckpt-00000004.safetensors", TASK, dir, dir, dir), 2);
    assert_non_null(strstr(read_all(err_path), "needs --parent CERT"));
    assert_false(exists("pb"));
    /* a start that is not the parent's: refused before training */
    assert_int_equal(solver("train --task %s --out %s/pb --key %s/p.key --parent "
                            "%s/po/certificate.pol --from %s/pa/ckpt-00000004.safetensors",
                            TASK, dir, dir, dir, dir), 1);
    assert_non_null(strstr(read_all(err_path), "not a checkpoint of the parent certificate"));
    assert_false(exists("pb"));
    /* the true continuation */
    assert_int_equal(solver("train --task %s --out %s/pb --key %s/p.key --parent "
                            "%s/pa/certificate.pol --from %s/pa/ckpt-00000004.safetensors "
                            "--store %s/ps", TASK, dir, dir, dir, dir, dir), 0);
    char cmd[1400];
    /* the verifier: the parent is required, must be the named one, and holds the start */
    assert_int_equal(verifier("check --task %s --cert %s/pb/certificate.pol --store %s/ps "
                              "--samples all", TASK, dir, dir), 2);
    assert_non_null(strstr(read_all(err_path), "--parent-cert"));
    assert_int_equal(verifier("check --task %s --cert %s/pb/certificate.pol --store %s/ps "
                              "--parent-cert %s/po/certificate.pol", TASK, dir, dir, dir), 1);
    assert_non_null(strstr(read_all(err_path), "the certificate continues"));
    assert_int_equal(verifier("check --task %s --cert %s/pa/certificate.pol --store %s/ps "
                              "--parent-cert %s/po/certificate.pol", TASK, dir, dir, dir), 2);
    assert_int_equal(verifier("check --task %s --cert %s/pb/certificate.pol --store %s/ps "
                              "--samples all --parent-cert %s/pa/certificate.pol --json", TASK,
                              dir, dir, dir), 0);
    json_error_t e;
    json_t *r = json_loads(read_all(out_path), 0, &e);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "verdict")), "accept");
    assert_string_equal(json_string_value(json_object_get(r, "start")), "parent_checkpoint");
    assert_int_equal(json_integer_value(json_object_get(r, "parent_checkpoint")), 1);
    assert_int_equal(json_array_size(json_object_get(r, "checked")), 3); /* all of 4..14 */
    json_decref(r);
    /* an existing --report is refused before anything is re-run */
    snprintf(cmd, sizeof cmd, "echo keep > %s/rep.pol", dir);
    assert_int_equal(tu_system(cmd), 0);
    assert_int_equal(verifier("check --task %s --cert %s/pa/certificate.pol --store %s/ps "
                              "--key %s/p.key --report %s/rep.pol", TASK, dir, dir, dir, dir), 1);
    assert_non_null(strstr(read_all(err_path), "never overwritten"));
    assert_string_equal(read_all(out_path), "");
    /* and profile's existing --out before anything is profiled */
    assert_int_equal(verifier("profile --task %s --run %s/pa --out %s/rep.pol", TASK, dir, dir), 1);
    assert_non_null(strstr(read_all(err_path), "refusing to overwrite"));
    assert_string_equal(read_all(out_path), "");
    snprintf(cmd, sizeof cmd, "%s/rep.pol", dir);
    assert_string_equal(read_all(cmd), "keep\n"); /* unchanged */
}

static void test_bad_task(void **st)
{
    (void)st;
    char p[700];
    snprintf(p, sizeof p, "%s/bad.json", dir);
    FILE *f = fopen(p, "w");
    fputs("{\"format\": \"libpol-task-v1\", \"model\": ", f);
    fclose(f);
    assert_int_equal(solver("train --task %s --out %s/r2", p, dir), 1);
    assert_non_null(strstr(read_all(err_path), "invalid JSON"));
}

/* pol-verifier profile --gpu auto|off|require and the task's gpu_math
 * (spec/profiling.md [P-SRC-2]): bad values and the old --tf32 are usage
 * errors; without a usable CUDA device, require, and a bf16 or tf32 task
 * under auto, exit 1 before writing anything (neither the profile nor the
 * envelope exists afterwards) and auto profiles the CPU alone; such a task
 * with --gpu off exits 1 whatever the machine; with a device, require and
 * auto add the GPU configurations, and the task's math after them. */
static void test_verifier_profile_gpu(void **st)
{
    (void)st;
    const pol_status avail = pol_cuda_available();
    char why[512];
    snprintf(why, sizeof why, "%s", avail ? pol_last_error() : "a usable device");
    print_message("    CUDA: %s\n", why);
    assert_int_equal(solver("train --task %s --out %s/prun", TASK, dir), 0);
    char common[1400];
    snprintf(common, sizeof common, "profile --task %s --run %s/prun --samples 2", TASK, dir);

    /* usage errors: exit 2, nothing written */
    assert_int_equal(verifier("%s --out %s/p0.json --gpu maybe", common, dir), 2);
    assert_non_null(strstr(read_all(err_path), "--gpu wants auto, off or require"));
    assert_int_equal(verifier("%s --out %s/p0.json --tf32", common, dir), 2);
    const char *err = read_all(err_path);
    assert_non_null(strstr(err, "--tf32 is no longer an option"));
    assert_non_null(strstr(err, "\"gpu_math\""));
    assert_false(exists("p0.json"));
    assert_int_equal(verifier("--help"), 0);
    const char *help = read_all(out_path);
    assert_non_null(strstr(help, "--gpu MODE"));
    assert_non_null(strstr(help, "gpu_math"));
    assert_null(strstr(help, "--tf32"));

    /* off: the CPU configurations, and the GPU line says so */
    assert_int_equal(verifier("%s --out %s/p-off.json --gpu off", common, dir), 0);
    const char *out = read_all(out_path);
    assert_non_null(strstr(out, "re-run under fast/1 blas/1 blas/2\n"));
    assert_non_null(strstr(out, "gpu          off\n"));

    /* auto (the default) */
    assert_int_equal(verifier("%s --out %s/p-auto.json", common, dir), 0);
    out = read_all(out_path);
    if (avail) {
        assert_non_null(strstr(out, "re-run under fast/1 blas/1 blas/2\n"));
        assert_non_null(strstr(out, avail == POL_ERR_UNSUPPORTED ? "gpu          built without CUDA\n"
                                                                 : "gpu          no CUDA device: "));
    } else {
        assert_non_null(strstr(out, "re-run under fast/1 blas/1 blas/2 cuda/exact cublas/fp32\n"));
        assert_non_null(strstr(out, "(sm_"));
    }
    json_error_t e;
    char path[700];
    snprintf(path, sizeof path, "%s/p-auto.json", dir);
    json_t *r = json_load_file(path, 0, &e);
    assert_non_null(r);
    assert_int_equal(json_array_size(json_object_get(r, "configs")), avail ? 3 : 5);
    assert_non_null(json_string_value(json_object_get(r, "gpu")));
    json_decref(r);

    /* the task's gpu_math: TASK made tolerant with each reduced math, and
     * a run of it (on the CPU, which ignores the key) */
    char data[4096], mtask[2][700], mrun[2][700];
    assert_non_null(realpath("spec/vectors/tiny/tiny.safetensors", data));
    static const char *const maths[2] = { "tf32", "bf16" };
    for (int k = 0; k < 2; k++) {
        snprintf(mtask[k], sizeof mtask[k], "%s/task-%s.json", dir, maths[k]);
        snprintf(mrun[k], sizeof mrun[k], "%s/prun-%s", dir, maths[k]);
        FILE *f = fopen(mtask[k], "w");
        assert_non_null(f);
        fprintf(f, "{\"format\":\"libpol-task-v1\",\"model\":{\"type\":\"mlp\",\"layers\":[6,8,8,3],"
                "\"activation\":\"gelu\"},\"dataset\":{\"path\":\"%s\",\"sha256\":"
                "\"7e04c78ec915dbc4db2e0f46adfaef293338b5f70a2aa5f6a9a90024ba3f0595\"},\"seed\":7,"
                "\"steps\":14,\"batch_size\":16,\"checkpoint_every\":4,\"optimizer\":{\"type\":"
                "\"adamw\",\"lr\":0.01},\"mode\":\"tolerant\",\"gpu_math\":\"%s\"}\n", data,
                maths[k]);
        fclose(f);
        assert_int_equal(solver("train --task %s --out %s --kernels blas", mtask[k], mrun[k]), 0);
    }
    /* with the GPU sources off: exit 1, nothing written, whatever the machine */
    assert_int_equal(verifier("profile --task %s --run %s --samples 2 --out %s/p-off-bf16.json "
                              "--gpu off", mtask[1], mrun[1], dir), 1);
    assert_non_null(strstr(read_all(err_path), "cannot be profiled with the GPU sources off"));
    assert_false(exists("p-off-bf16.json"));

    /* require, and a tf32 or bf16 task under auto: a device, or exit 1 with
     * nothing written */
    assert_int_equal(keygen("--out %s/k", dir), 0);
    for (int k = 0; k < 3; k++) {
        char what[1500];
        if (k == 0)
            snprintf(what, sizeof what, "%s --gpu require", common);
        else
            snprintf(what, sizeof what, "profile --task %s --run %s --samples 2", mtask[k - 1],
                     mrun[k - 1]);
        int rc = verifier("%s --out %s/p-req%d.json --key %s/k.key --out-envelope %s/p-req%d.pol",
                          what, dir, k, dir, dir, k);
        char p1[40], p2[40], says[80];
        snprintf(p1, sizeof p1, "p-req%d.json", k);
        snprintf(p2, sizeof p2, "p-req%d.pol", k);
        if (k == 0)
            snprintf(says, sizeof says, "GPU sources are required");
        else
            snprintf(says, sizeof says, "gpu_math %s needs a CUDA device", maths[k - 1]);
        if (avail) {
            assert_int_equal(rc, 1);
            assert_non_null(strstr(read_all(err_path), says));
            assert_false(exists(p1));
            assert_false(exists(p2));
        } else {
            assert_int_equal(rc, 0);
            snprintf(says, sizeof says, "cuda/exact cublas/fp32%s%s\n", k ? " cublas/" : "",
                     k ? maths[k - 1] : "");
            assert_non_null(strstr(read_all(out_path), says));
            assert_true(exists(p1) && exists(p2));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage),
        cmocka_unit_test(test_serve_usage),
        cmocka_unit_test(test_every_program_help_version),
        cmocka_unit_test(test_train_json_and_inspect),
        cmocka_unit_test(test_bad_task),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_parent),
        cmocka_unit_test(test_verifier_profile_gpu),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
