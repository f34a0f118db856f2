/* pol-solver as a user meets it: help, usage errors (exit 2), run errors
 * (exit 1 with a message), --json output, inspect. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

#define TASK "spec/vectors/tiny/adamw-gelu.json"

static char bin[512], dir[512], out_path[600], err_path[600];

static int setup(void **st)
{
    (void)st;
    tu_bin("pol-solver", bin, sizeof bin);
    const char *d = tu_tmpdir();
    if (!d)
        return -1;
    snprintf(dir, sizeof dir, "%s", d);
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    return 0;
}

/* Runs pol-solver with args; returns the exit status. */
static int solver(const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s", bin, args, out_path, err_path);
    return tu_system(cmd);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage),
        cmocka_unit_test(test_train_json_and_inspect),
        cmocka_unit_test(test_bad_task),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
