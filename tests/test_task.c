/* Task files: strict parsing, clear errors, the id, the schedules. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pol/task.h"
#include "testutil.h"

#define SHA "\"7e04c78ec915dbc4db2e0f46adfaef293338b5f70a2aa5f6a9a90024ba3f0595\""

/* A valid task; the cases below each break one thing. */
static const char GOOD[] =
    "{\"format\":\"libpol-task-v1\",\"model\":{\"type\":\"mlp\",\"layers\":[6,8,3],"
    "\"activation\":\"gelu\"},\"dataset\":{\"path\":\"d.safetensors\",\"sha256\":" SHA "},"
    "\"seed\":7,\"steps\":100,\"batch_size\":16,\"checkpoint_every\":10,"
    "\"optimizer\":{\"type\":\"adamw\",\"lr\":0.01,\"weight_decay\":0.05},"
    "\"schedule\":{\"type\":\"warmup_cosine\",\"warmup_steps\":10,\"min_lr\":0.001},"
    "\"mode\":\"exact\"}";

static pol_status parse(const char *s, pol_task *t)
{
    return pol_task_parse((const uint8_t *)s, strlen(s), "/base", t);
}

/* GOOD with the first occurrence of `from` replaced by `to`. */
static pol_status parse_edit(const char *from, const char *to, pol_task *t)
{
    static char buf[8192]; /* room for 1025 layer sizes */
    const char *p = strstr(GOOD, from);
    assert_non_null(p);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - GOOD), GOOD, to, p + strlen(from));
    return parse(buf, t);
}

static void test_good(void **st)
{
    (void)st;
    pol_task t;
    assert_int_equal(parse(GOOD, &t), POL_OK);
    assert_int_equal(t.n_layers, 2);
    assert_int_equal(t.sizes[0], 6);
    assert_int_equal(t.sizes[2], 3);
    assert_int_equal(t.activation, POL_ACT_GELU);
    assert_string_equal(t.dataset_path, "/base/d.safetensors");
    assert_int_equal(t.seed, 7);
    assert_int_equal(t.optimizer, POL_OPTIM_ADAMW);
    assert_true(t.lr == 0.01f && t.beta1 == 0.9f && t.beta2 == 0.999f && t.eps == 1e-8f);
    assert_true(t.weight_decay == 0.05f);
    /* the id is the SHA-256 of the exact bytes: one more space, another id */
    pol_task u;
    char spaced[sizeof GOOD + 1];
    snprintf(spaced, sizeof spaced, " %s", GOOD);
    assert_int_equal(parse(spaced, &u), POL_OK);
    assert_memory_not_equal(t.id.b, u.id.b, 32);
    pol_digest d;
    assert_int_equal(pol_sha256(GOOD, strlen(GOOD), &d), POL_OK);
    assert_memory_equal(d.b, t.id.b, 32);
}

static void test_rejects(void **st)
{
    (void)st;
    static const struct { const char *from, *to; pol_status want; } cases[] = {
        { "{\"format\"", "[{\"format\"", POL_ERR_FORMAT },                 /* not an object */
        { "\"mode\":\"exact\"}", "\"mode\":\"exact\"", POL_ERR_FORMAT },   /* truncated */
        { "libpol-task-v1", "libpol-task-v9", POL_ERR_FORMAT },
        { "\"seed\":7,", "", POL_ERR_FORMAT },                             /* missing key */
        { "\"seed\":7,", "\"seed\":7,\"sede\":1,", POL_ERR_FORMAT },        /* unknown key */
        { "\"seed\":7,", "\"seed\":7,\"seed\":8,", POL_ERR_FORMAT },        /* duplicate key */
        { "\"seed\":7", "\"seed\":-7", POL_ERR_FORMAT },
        { "\"seed\":7", "\"seed\":\"7\"", POL_ERR_FORMAT },
        { "\"steps\":100", "\"steps\":0", POL_ERR_FORMAT },
        { "\"steps\":100", "\"steps\":16777216", POL_ERR_FORMAT },
        { "\"batch_size\":16", "\"batch_size\":0", POL_ERR_FORMAT },
        { "\"checkpoint_every\":10", "\"checkpoint_every\":101", POL_ERR_FORMAT },
        { "[6,8,3]", "[6]", POL_ERR_FORMAT },
        { "[6,8,3]", "[6,0,3]", POL_ERR_FORMAT },
        { "[6,8,3]", "[6,8,1]", POL_ERR_FORMAT },
        { "[6,8,3]", "[6,8.5,3]", POL_ERR_FORMAT },
        { "\"gelu\"", "\"tanh\"", POL_ERR_FORMAT },
        { "\"mlp\"", "\"cnn\"", POL_ERR_FORMAT },
        { SHA, "\"7e04\"", POL_ERR_FORMAT },
        { SHA, "\"zz04c78ec915dbc4db2e0f46adfaef293338b5f70a2aa5f6a9a90024ba3f0595\"", POL_ERR_FORMAT },
        { "\"d.safetensors\"", "\"\"", POL_ERR_FORMAT },
        { "\"lr\":0.01", "\"lr\":-0.01", POL_ERR_FORMAT },
        { "\"lr\":0.01", "\"lr\":\"fast\"", POL_ERR_FORMAT },
        { "\"adamw\"", "\"lion\"", POL_ERR_FORMAT },
        { "\"weight_decay\":0.05", "\"weight_decay\":0.05,\"momentum\":0.9", POL_ERR_FORMAT },
        { "\"min_lr\":0.001", "\"min_lr\":0.5", POL_ERR_FORMAT },
        { "\"warmup_steps\":10", "\"warmup_steps\":1000", POL_ERR_FORMAT },
        { "\"warmup_cosine\"", "\"step\"", POL_ERR_FORMAT },
        { "\"exact\"", "\"sloppy\"", POL_ERR_FORMAT },
        { "\"exact\"", "\"Tolerant\"", POL_ERR_FORMAT },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pol_task t;
        pol_status s = parse_edit(cases[i].from, cases[i].to, &t);
        if (s != cases[i].want)
            fail_msg("case %zu (%s -> %s): status %d, want %d (%s)", i, cases[i].from, cases[i].to,
                     s, cases[i].want, pol_last_error());
        assert_true(strlen(pol_last_error()) > 0);
    }
    pol_task t;
    assert_int_equal(parse("", &t), POL_ERR_FORMAT);
    assert_int_equal(pol_task_parse((const uint8_t *)GOOD, POL_TASK_MAX_BYTES + 1, NULL, &t),
                     POL_ERR_TOO_LARGE);
    assert_int_equal(pol_task_load("/nonexistent/task.json", &t), POL_ERR_NOT_FOUND);
}

static void test_schedule(void **st)
{
    (void)st;
    pol_task t;
    assert_int_equal(parse(GOOD, &t), POL_OK);
    /* warmup: lr0 * (s+1)/W, rising to lr0 at the last warmup step */
    assert_true(pol_task_lr(&t, 0) == 0.01f * (1.0f / 10.0f));
    assert_true(pol_task_lr(&t, 9) == 0.01f * (10.0f / 10.0f));
    /* cosine: starts at lr0, decreases monotonically, ends near min_lr */
    float prev = pol_task_lr(&t, 10);
    assert_true(fabsf(prev - 0.01f) < 1e-8f);
    for (uint64_t s = 11; s < 100; s++) {
        float lr = pol_task_lr(&t, s);
        assert_true(lr <= prev);
        double p = (double)(s - 10) / 90.0;
        double want = 0.001 + 0.009 * 0.5 * (1.0 + cos(M_PI * p));
        assert_true(fabs(lr - want) < 1e-8);
        prev = lr;
    }
    assert_true(prev >= 0.001f && prev < 0.00101f);
    /* constant */
    assert_int_equal(parse_edit("\"schedule\":{\"type\":\"warmup_cosine\",\"warmup_steps\":10,"
                                "\"min_lr\":0.001},", "", &t), POL_OK);
    assert_true(pol_task_lr(&t, 0) == 0.01f && pol_task_lr(&t, 99) == 0.01f);
}

/* T-KEY-4: gpu_math is optional, for tolerant tasks alone; absent means
 * fp32; a bad value or type, or the key in an exact task, is refused with a
 * message naming it. */
static void test_gpu_math(void **st)
{
    (void)st;
    pol_task t;
    /* absent: fp32, in either mode */
    assert_int_equal(parse(GOOD, &t), POL_OK);
    assert_int_equal(t.gpu_math, POL_GPU_MATH_FP32);
    assert_int_equal(parse_edit("\"exact\"", "\"tolerant\"", &t), POL_OK);
    assert_int_equal(t.mode, POL_MODE_TOLERANT);
    assert_int_equal(t.gpu_math, POL_GPU_MATH_FP32);
    /* each value in a tolerant task, wherever the key stands */
    static const struct { const char *text; pol_gpu_math m; } ok[] = {
        { "fp32", POL_GPU_MATH_FP32 }, { "tf32", POL_GPU_MATH_TF32 }, { "bf16", POL_GPU_MATH_BF16 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char to[80];
        snprintf(to, sizeof to, "\"mode\":\"tolerant\",\"gpu_math\":\"%s\"", ok[i].text);
        assert_int_equal(parse_edit("\"mode\":\"exact\"", to, &t), POL_OK);
        assert_int_equal(t.gpu_math, ok[i].m);
        assert_string_equal(pol_gpu_math_name(t.gpu_math), ok[i].text);
        /* the key first, then the rest of GOOD made tolerant */
        char first[sizeof GOOD + 64];
        const char *p = strstr(GOOD, "\"exact\"");
        snprintf(first, sizeof first, "{\"gpu_math\":\"%s\",%.*s\"tolerant\"}", ok[i].text,
                 (int)(p - GOOD) - 1, GOOD + 1);
        assert_int_equal(parse(first, &t), POL_OK);
        assert_int_equal(t.gpu_math, ok[i].m);
    }
    assert_null(pol_gpu_math_name((pol_gpu_math)3));
    /* refused: in an exact task (any value), a bad value, a bad type */
    static const struct { const char *to, *says; } bad[] = {
        { "\"mode\":\"exact\",\"gpu_math\":\"fp32\"", "tolerant-mode" },
        { "\"mode\":\"exact\",\"gpu_math\":\"tf32\"", "tolerant-mode" },
        { "\"mode\":\"tolerant\",\"gpu_math\":\"fp16\"", "gpu_math \"fp16\" unknown" },
        { "\"mode\":\"tolerant\",\"gpu_math\":\"BF16\"", "gpu_math \"BF16\" unknown" },
        { "\"mode\":\"tolerant\",\"gpu_math\":\"\"", "gpu_math \"\" unknown" },
        { "\"mode\":\"tolerant\",\"gpu_math\":32", "gpu_math must be a string" },
        { "\"mode\":\"tolerant\",\"gpu_math\":null", "gpu_math must be a string" },
        { "\"mode\":\"tolerant\",\"gpu_math\":[\"tf32\"]", "gpu_math must be a string" },
        { "\"mode\":\"tolerant\",\"gpu_math\":\"tf32\",\"gpu_math\":\"bf16\"", "" },
        { "\"mode\":\"tolerant\",\"gpu-math\":\"tf32\"", "unknown key \"gpu-math\"" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&t, 0x55, sizeof t);
        pol_status s = parse_edit("\"mode\":\"exact\"", bad[i].to, &t);
        if (s != POL_ERR_FORMAT || !strstr(pol_last_error(), bad[i].says))
            fail_msg("gpu_math case %zu (%s): status %d, message \"%s\"", i, bad[i].to, s,
                     pol_last_error());
        assert_int_equal(t.gpu_math, 0); /* zeroed on failure */
        assert_int_equal(t.mode, 0);
    }
}

/* GOOD with model.layers = [6, 2, 2, ..., 2, 3]: n_layers linear layers. */
static pol_status parse_depth(int n_layers, pol_task *t)
{
    char layers[4 * (POL_MLP_MAX_LAYERS + 8)];
    size_t at = (size_t)snprintf(layers, sizeof layers, "[6");
    for (int i = 1; i < n_layers; i++)
        at += (size_t)snprintf(layers + at, sizeof layers - at, ",2");
    snprintf(layers + at, sizeof layers - at, ",3]");
    return parse_edit("[6,8,3]", layers, t);
}

/* T-MODEL-1: 1 to 1024 linear layers (2 to 1025 entries); one more is refused
 * with a message that names the range. */
static void test_layer_count(void **st)
{
    (void)st;
    pol_task t;
    assert_int_equal(parse_depth(1, &t), POL_OK);
    assert_int_equal(t.n_layers, 1);
    assert_int_equal(parse_depth(POL_MLP_MAX_LAYERS, &t), POL_OK);
    assert_int_equal(t.n_layers, 1024);
    assert_int_equal(t.sizes[0], 6);
    assert_int_equal(t.sizes[512], 2);
    assert_int_equal(t.sizes[1024], 3);
    assert_int_equal(parse_depth(POL_MLP_MAX_LAYERS + 1, &t), POL_ERR_FORMAT);
    if (!strstr(pol_last_error(), "model.layers") || !strstr(pol_last_error(), "2..1025"))
        fail_msg("1025 layers: unclear error \"%s\"", pol_last_error());
    assert_int_equal(t.n_layers, 0); /* zeroed on failure */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_layer_count),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_gpu_math),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
