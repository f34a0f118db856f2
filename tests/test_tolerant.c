/* Tolerant mode on the CPU: distances (against hand-computed values), the
 * OpenBLAS backend, profiling, and verification by distance against the
 * profiled threshold. An honest run is accepted across backends (OpenBLAS
 * with 1 and 2 threads, the exact fast kernels); parameter noise above the
 * threshold in one interval is rejected naming that interval, and so are
 * made-up optimizer moments committed with honest parameters (each state
 * group has its own threshold); the
 * false-reject rate of honest runs over 20 seeds is measured and printed.
 * Which configurations a profile measures (the GPU sources of
 * spec/profiling.md [P-SRC-2]) is checked against what the machine running
 * the suite has: a CUDA device or not. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pol/cuda.h"
#include "pol/distance.h"
#include "pol/fileio.h"
#include "pol/profile.h"
#include "pol/safetensors.h"
#include "pol/train.h"
#include "pol/verify.h"
#include "pol/wire.h"
#include "testutil.h"

#define DATA "spec/vectors/tiny/tiny.safetensors"
#define DATA_SHA "7e04c78ec915dbc4db2e0f46adfaef293338b5f70a2aa5f6a9a90024ba3f0595"
#define N_SEEDS 20

static char dir[1024];
static char data_abs[4096];
static uint64_t suite_seed;

#define ADAMW "{\"type\":\"adamw\",\"lr\":0.01,\"weight_decay\":0.05}"
#define SGD "{\"type\":\"sgd\",\"lr\":0.1,\"momentum\":0.9,\"weight_decay\":0.001}"

/* The tiny task made tolerant and wider (K = 320 in the second layer, so
 * OpenBLAS and the canonical chunked order really differ): 14 steps, k = 4;
 * gpu_math (NULL: no key) is written after the mode; the optimizer is
 * AdamW unless opt (a JSON object) says otherwise. */
static void write_task_opt(const char *path, uint64_t seed, const char *mode,
                           const char *gpu_math, const char *opt)
{
    char buf[2048], math[64] = "";
    if (gpu_math)
        snprintf(math, sizeof math, ",\"gpu_math\":\"%s\"", gpu_math);
    int n = snprintf(buf, sizeof buf,
        "{\"format\":\"libpol-task-v1\","
        "\"model\":{\"type\":\"mlp\",\"layers\":[6,320,64,3],\"activation\":\"gelu\"},"
        "\"dataset\":{\"path\":\"%s\",\"sha256\":\"" DATA_SHA "\"},"
        "\"seed\":%llu,\"steps\":14,\"batch_size\":16,\"checkpoint_every\":4,"
        "\"optimizer\":%s,"
        "\"schedule\":{\"type\":\"warmup_cosine\",\"warmup_steps\":3,\"min_lr\":0.001},"
        "\"mode\":\"%s\"%s}\n", data_abs, (unsigned long long)seed, opt ? opt : ADAMW, mode,
        math);
    assert_int_equal(pol_write_file_atomic(path, buf, (size_t)n, 1), POL_OK);
}

static void write_task_math(const char *path, uint64_t seed, const char *mode,
                            const char *gpu_math)
{
    write_task_opt(path, seed, mode, gpu_math, NULL);
}

static void write_task(const char *path, uint64_t seed, const char *mode)
{
    write_task_math(path, seed, mode, NULL);
}

static pol_ctx *make_ctx(pol_kernels k, int threads)
{
    pol_ctx *c;
    pol_ctx_opts o = { .threads = threads, .kernels = k };
    assert_int_equal(pol_ctx_create(&c, &o), POL_OK);
    return c;
}

/* Trains seed's task under (k, threads) into <dir>/s<seed>/{task.json,run,store}
 * and builds its certificate. */
static void solve(uint64_t seed, pol_kernels k, int threads, char *task_path, char *store,
                  pol_cert *c)
{
    char base[1200], run[1300];
    snprintf(base, sizeof base, "%s/s%llu-%d-%d", dir, (unsigned long long)seed, (int)k, threads);
    assert_int_equal(pol_mkdir_p(base), POL_OK);
    snprintf(task_path, 1300, "%s/task.json", base);
    snprintf(run, sizeof run, "%s/run", base);
    snprintf(store, 1300, "%s/store", base);
    write_task(task_path, seed, "tolerant");
    pol_ctx *ctx = make_ctx(k, threads);
    pol_run_opts ro = { 0 };
    ro.task_path = task_path, ro.out_dir = run;
    pol_run_result rr;
    assert_int_equal(pol_run_train(ctx, &ro, &rr), POL_OK);
    pol_ctx_destroy(ctx);
    assert_int_equal(pol_cert_from_run(run, task_path, c), POL_OK);
    assert_int_equal(c->mode, POL_MODE_TOLERANT);
    assert_int_equal(pol_store_put_run(run, store), POL_OK);
}

static pol_verify_result res;

static void verify(pol_ctx *ctx, const pol_cert *c, const char *task_path, const char *store,
                   const pol_threshold *t, size_t nt)
{
    pol_verify_opts o = { 0 };
    o.task_path = task_path, o.store_dir = store, o.samples = 1000;
    o.thresholds = t, o.n_thresholds = nt;
    assert_int_equal(pol_verify(ctx, c, &o, &res), POL_OK);
}

/* The profile of seed 1's honest OpenBLAS run (made once). */
static pol_threshold *thr;
static size_t n_thr;

static int setup(void **st)
{
    (void)st;
    suite_seed = tu_seed();
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    if (!realpath(DATA, data_abs))
        return -1;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    free(thr);
    return 0;
}

/* ------------------------------------------------------------ distances -- */

static void test_distance_values(void **st)
{
    (void)st;
    const float a[3] = { 1, 2, 2 }, b[3] = { 1, 0, 2 };
    pol_distance d;
    assert_int_equal(pol_distance_f32(a, b, 3, &d), POL_OK);
    assert_int_equal(d.n, 3);
    assert_true(d.l1 == 2.0 && d.l2 == 2.0 && d.linf == 2.0);
    assert_true(fabs(d.l1_rel - 2.0 / 3.0) < 1e-15);
    assert_true(fabs(d.l2_rel - 2.0 / sqrt(5.0)) < 1e-15);
    assert_true(d.linf_rel == 1.0);
    /* a.b = 5, |a| = 3, |b| = sqrt 5: 1 - cos = 1 - sqrt(5)/3 */
    assert_true(fabs(d.cosine - (1.0 - sqrt(5.0) / 3.0)) < 1e-15);
    assert_int_equal(pol_distance_f32(a, a, 3, &d), POL_OK);
    assert_true(d.l1 == 0 && d.l2 == 0 && d.linf == 0 && d.l2_rel == 0 && d.cosine == 0);
    const float x[2] = { 1, 0 }, y[2] = { 0, 1 }, z[2] = { -1, 0 }, zero[2] = { 0, 0 };
    assert_int_equal(pol_distance_f32(x, y, 2, &d), POL_OK);
    assert_true(fabs(d.cosine - 1.0) < 1e-15 && fabs(d.l2 - sqrt(2.0)) < 1e-15);
    assert_int_equal(pol_distance_f32(x, z, 2, &d), POL_OK);
    assert_true(fabs(d.cosine - 2.0) < 1e-15 && d.l2_rel == 2.0);
    /* zero vectors */
    assert_int_equal(pol_distance_f32(zero, zero, 2, &d), POL_OK);
    assert_true(d.l2_rel == 0.0 && d.l1_rel == 0.0 && d.linf_rel == 0.0 && d.cosine == 0.0);
    assert_int_equal(pol_distance_f32(x, zero, 2, &d), POL_OK);
    assert_true(isinf(d.l2_rel) && d.l2 == 1.0 && d.cosine == 1.0);
    assert_int_equal(pol_distance_f32(zero, x, 2, &d), POL_OK);
    assert_true(d.l2_rel == 1.0 && d.cosine == 1.0);
    assert_int_equal(pol_distance_f32(NULL, NULL, 0, &d), POL_OK);
    assert_true(d.n == 0 && d.l2 == 0 && d.cosine == 0);
    /* tiny relative differences keep their precision in the cosine distance:
     * a = (1, 1), b = (1, 1 + e), e = 2^-20: cos^2 = 1 - x with
     * x = e^2 / (4 + 4e + 2e^2), so 1 - cos = x / (1 + sqrt(1 - x)) ~= e^2 / 8 */
    const float p[2] = { 1, 1 }, q[2] = { 1, 1.0f + 0x1p-20f };
    assert_int_equal(pol_distance_f32(p, q, 2, &d), POL_OK);
    const double e = 0x1p-20, x2 = e * e / (4 + 4 * e + 2 * e * e);
    const double want = x2 / (1 + sqrt(1 - x2)); /* ~1.1e-13 */
    if (!(fabs(d.cosine - want) < 1e-6 * want))
        fail_msg("cosine distance %.17g, want %.17g", d.cosine, want);
    /* NaN and infinity are errors */
    const float bad[2] = { NAN, 0 }, inf[2] = { INFINITY, 0 };
    assert_int_equal(pol_distance_f32(bad, x, 2, &d), POL_ERR_FORMAT);
    assert_int_equal(pol_distance_f32(x, inf, 2, &d), POL_ERR_FORMAT);
    assert_int_equal(pol_distance_f32(NULL, x, 2, &d), POL_ERR_INVALID_ARG);
    /* names */
    assert_true(pol_is_param_name("l0.W") && pol_is_param_name("l12.b"));
    assert_false(pol_is_param_name("l0.W.m") || pol_is_param_name("counters.step") ||
                 pol_is_param_name("l.W") || pol_is_param_name("lx.b"));
    for (int m = 1; m <= POL_METRIC_COUNT; m++)
        assert_int_equal(pol_metric_from_name(pol_metric_name((pol_metric)m)), m);
    assert_int_equal(pol_metric_from_name("l3"), 0);
}

static void test_state_distance(void **st)
{
    (void)st;
    int64_t s2 = 2, s1 = 1;
    pol_tensor w1, w2, c1, c2, m1, m2;
    assert_int_equal(pol_tensor_alloc(&w1, "l0.W", POL_F32, 1, &s2), POL_OK);
    assert_int_equal(pol_tensor_alloc(&w2, "l0.W", POL_F32, 1, &s2), POL_OK);
    assert_int_equal(pol_tensor_alloc(&m1, "l0.W.m", POL_F32, 1, &s1), POL_OK);
    assert_int_equal(pol_tensor_alloc(&m2, "l0.W.m", POL_F32, 1, &s1), POL_OK);
    assert_int_equal(pol_tensor_alloc(&c1, "counters.step", POL_U64, 1, &s1), POL_OK);
    assert_int_equal(pol_tensor_alloc(&c2, "counters.step", POL_U64, 1, &s1), POL_OK);
    float *a = w1.data, *b = w2.data;
    a[0] = 3, a[1] = 4, b[0] = 3, b[1] = 0; /* d = (0, 4), |b| = 3 */
    *(float *)m1.data = 100, *(float *)m2.data = 0;
    const pol_tensor *A[3] = { &c1, &w1, &m1 }, *B[3] = { &m2, &w2, &c2 };
    pol_distance d;
    pol_tensor_distance per[3];
    size_t np;
    assert_int_equal(pol_state_distance(A, 3, B, 3, pol_is_param_name, &d, per, &np), POL_OK);
    assert_true(d.l2 == 4.0 && fabs(d.l2_rel - 4.0 / 3.0) < 1e-15 && d.n == 2);
    assert_int_equal(np, 2); /* the F32 tensors, in name order */
    assert_string_equal(per[0].name, "l0.W");
    assert_string_equal(per[1].name, "l0.W.m");
    assert_true(per[1].d.l1 == 100.0 && isinf(per[1].d.l1_rel));
    /* everything: both float tensors */
    assert_int_equal(pol_state_distance(A, 3, B, 3, NULL, &d, NULL, NULL), POL_OK);
    assert_true(d.l1 == 104.0 && d.n == 3);
    /* counters must be equal; names must match; shapes must match */
    *(uint64_t *)c1.data = 1;
    assert_int_equal(pol_state_distance(A, 3, B, 3, NULL, &d, NULL, NULL), POL_ERR_MISMATCH);
    *(uint64_t *)c1.data = 0;
    const pol_tensor *A2[3] = { &c1, &w1, &w1 };
    assert_int_equal(pol_state_distance(A2, 3, B, 3, NULL, &d, NULL, NULL), POL_ERR_MISMATCH);
    assert_int_equal(pol_state_distance(A, 2, B, 3, NULL, &d, NULL, NULL), POL_ERR_MISMATCH);
    const pol_tensor *A3[3] = { &c1, &w1, &m1 }, *B3[3] = { &w2, &c2, &m2 };
    m2.shape[0] = 2; /* pretend: shape differs */
    assert_int_equal(pol_state_distance(A3, 3, B3, 3, NULL, &d, NULL, NULL), POL_ERR_SHAPE);
    m2.shape[0] = 1;
    ((float *)w1.data)[0] = NAN;
    assert_int_equal(pol_state_distance(A, 3, B, 3, NULL, &d, NULL, NULL), POL_ERR_FORMAT);
    pol_tensor_free(&w1), pol_tensor_free(&w2), pol_tensor_free(&m1);
    pol_tensor_free(&m2), pol_tensor_free(&c1), pol_tensor_free(&c2);
    double t;
    /* group 0 is the parameters */
    const pol_threshold tt[4] = { { 4, 1e-6, POL_GROUP_PARAMS }, { 2, 5e-7, POL_GROUP_PARAMS },
                                  { 4, 3e-5, POL_GROUP_M }, { 8, 7e-5, POL_GROUP_M } };
    assert_int_equal(pol_threshold_for(tt, 4, POL_GROUP_PARAMS, 4, &t), POL_OK);
    assert_true(t == 1e-6);
    assert_int_equal(pol_threshold_for(tt, 4, POL_GROUP_PARAMS, 1, &t), POL_OK);
    assert_true(t == 5e-7);
    assert_int_equal(pol_threshold_for(tt, 4, POL_GROUP_PARAMS, 3, &t), POL_OK);
    assert_true(t == 1e-6);
    assert_int_equal(pol_threshold_for(tt, 4, POL_GROUP_PARAMS, 5, &t), POL_ERR_NOT_FOUND);
    assert_int_equal(pol_threshold_for(tt, 4, POL_GROUP_M, 2, &t), POL_OK);
    assert_true(t == 3e-5);
    assert_int_equal(pol_threshold_for(tt, 4, POL_GROUP_M, 5, &t), POL_OK);
    assert_true(t == 7e-5);
    assert_int_equal(pol_threshold_for(tt, 4, POL_GROUP_M, 9, &t), POL_ERR_NOT_FOUND);
    /* a group without any threshold: a profile from before optimizer-state thresholds */
    assert_int_equal(pol_threshold_for(tt, 4, POL_GROUP_V, 4, &t), POL_ERR_NOT_FOUND);
    assert_non_null(strstr(pol_last_error(), "predates optimizer-state thresholds"));
    assert_non_null(strstr(pol_last_error(), "group v"));
}

/* The state groups: names, predicates, and the distance of each group. */
static void test_state_groups(void **st)
{
    (void)st;
    static const char *const names[POL_GROUP_COUNT] = { "", "m", "v", "buf" };
    for (int g = 0; g < POL_GROUP_COUNT; g++) {
        assert_string_equal(pol_group_name((pol_state_group)g), names[g]);
        assert_int_equal(pol_group_from_name(names[g]), g);
        assert_non_null(pol_group_filter((pol_state_group)g));
    }
    assert_null(pol_group_name((pol_state_group)POL_GROUP_COUNT));
    assert_null(pol_group_filter((pol_state_group)POL_GROUP_COUNT));
    assert_int_equal(pol_group_from_name("M"), -1);
    assert_int_equal(pol_group_from_name("params"), -1);
    assert_int_equal(pol_group_from_name(NULL), -1);
    static const struct { const char *name; int group; } cases[] = {
        { "l0.W", POL_GROUP_PARAMS }, { "l12.b", POL_GROUP_PARAMS }, { "l0.W.m", POL_GROUP_M },
        { "l3.b.m", POL_GROUP_M },    { "l0.W.v", POL_GROUP_V },     { "l1.b.buf", POL_GROUP_BUF },
        { "counters.step", -1 },      { "l0.W.w", -1 },              { "l0.X.m", -1 },
        { "x.m", -1 },                { "l0.W.m.m", -1 },            { "l0.W.bu", -1 },
        { "m", -1 },                  { ".m", -1 },                  { "l0.Wm", -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (pol_state_group_of(cases[i].name) != cases[i].group)
            fail_msg("%s: group %d, want %d", cases[i].name, pol_state_group_of(cases[i].name),
                     cases[i].group);
        assert_int_equal(pol_is_m_name(cases[i].name), cases[i].group == POL_GROUP_M);
        assert_int_equal(pol_is_v_name(cases[i].name), cases[i].group == POL_GROUP_V);
        assert_int_equal(pol_is_buf_name(cases[i].name), cases[i].group == POL_GROUP_BUF);
    }
    /* per-group aggregates in one pass equal pol_state_distance with each filter */
    int64_t s2 = 2, s1 = 1;
    pol_tensor t[2][4];
    static const char *const tn[4] = { "l0.W", "l0.W.m", "l0.W.v", "counters.step" };
    for (int side = 0; side < 2; side++)
        for (int k = 0; k < 4; k++)
            assert_int_equal(pol_tensor_alloc(&t[side][k], tn[k], k == 3 ? POL_U64 : POL_F32, 1,
                                              k == 3 ? &s1 : &s2), POL_OK);
    const float va[3][2] = { { 3, 4 }, { 1, -1 }, { 0.5f, 0.25f } };
    const float vb[3][2] = { { 3, 0 }, { 0.5f, -1 }, { 0.5f, 0.25f } };
    for (int k = 0; k < 3; k++) {
        memcpy(t[0][k].data, va[k], sizeof va[k]);
        memcpy(t[1][k].data, vb[k], sizeof vb[k]);
    }
    const pol_tensor *A[4] = { &t[0][3], &t[0][2], &t[0][0], &t[0][1] };
    const pol_tensor *B[4] = { &t[1][0], &t[1][1], &t[1][2], &t[1][3] };
    pol_distance dg[POL_GROUP_COUNT], d;
    unsigned present;
    assert_int_equal(pol_state_distance_groups(A, 4, B, 4, dg, &present), POL_OK);
    assert_int_equal(present, (1u << POL_GROUP_PARAMS) | (1u << POL_GROUP_M) | (1u << POL_GROUP_V));
    for (int g = 0; g < POL_GROUP_COUNT; g++) {
        assert_int_equal(pol_state_distance(A, 4, B, 4, pol_group_filter((pol_state_group)g), &d,
                                            NULL, NULL), POL_OK);
        assert_memory_equal(&d, &dg[g], sizeof d);
    }
    assert_true(dg[POL_GROUP_PARAMS].l2 == 4.0 && dg[POL_GROUP_M].l2 == 0.5);
    assert_true(dg[POL_GROUP_V].l2 == 0.0 && dg[POL_GROUP_BUF].n == 0);
    /* the checks of pol_state_distance: a differing counter, a non-finite moment */
    *(uint64_t *)t[0][3].data = 1;
    assert_int_equal(pol_state_distance_groups(A, 4, B, 4, dg, &present), POL_ERR_MISMATCH);
    assert_int_equal(present, 0);
    *(uint64_t *)t[0][3].data = 0;
    ((float *)t[1][2].data)[1] = INFINITY;
    assert_int_equal(pol_state_distance_groups(A, 4, B, 4, dg, &present), POL_ERR_FORMAT);
    for (int side = 0; side < 2; side++)
        for (int k = 0; k < 4; k++)
            pol_tensor_free(&t[side][k]);
}

/* ------------------------------------------------------------- backends -- */

static void test_blas_backend(void **st)
{
    (void)st;
    /* OpenBLAS GEMM against the reference on every transpose, with and without bias */
    tu_rng r;
    tu_rng_init(&r, suite_seed);
    const int64_t M = 37, N = 29, K = 300;
    float *A = malloc(M * K * 4), *B = malloc(K * N * 4), *bias = malloc(N * 4);
    float *C1 = malloc(M * N * 4), *C2 = malloc(M * N * 4);
    tu_fill_uniform(&r, A, (size_t)(M * K), -1, 1);
    tu_fill_uniform(&r, B, (size_t)(K * N), -1, 1);
    tu_fill_uniform(&r, bias, (size_t)N, -1, 1);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int hb = 0; hb < 2; hb++)
                for (int th = 1; th <= 2; th++) {
                    pol_gemm_args g = { M, N, K, ta, tb, A, B, hb ? bias : NULL, C1 };
                    pol_ref_gemm(&g);
                    g.C = C2;
                    pol_blas_gemm(th, &g);
                    pol_distance d;
                    assert_int_equal(pol_distance_f32(C2, C1, (size_t)(M * N), &d), POL_OK);
                    if (!(d.l2_rel < 1e-6))
                        fail_msg("blas gemm ta=%d tb=%d bias=%d threads=%d: l2_rel %g", ta, tb, hb,
                                 th, d.l2_rel);
                }
    /* K = 0: the bias (or zero) */
    pol_gemm_args g0 = { 2, 3, 0, 0, 0, A, B, bias, C1 };
    pol_blas_gemm(1, &g0);
    assert_memory_equal(C1, bias, 12);
    free(A), free(B), free(bias), free(C1), free(C2);
    /* an exact-mode task refuses the BLAS kernels */
    char path[1300];
    snprintf(path, sizeof path, "%s/exact.json", dir);
    write_task(path, 1, "exact");
    pol_task t;
    pol_dataset ds;
    assert_int_equal(pol_task_load(path, &t), POL_OK);
    assert_int_equal(pol_dataset_load(t.dataset_path, &t.dataset_sha256, 6, 3, &ds), POL_OK);
    pol_ctx *ctx = make_ctx(POL_KERNELS_BLAS, 1);
    pol_trainer *tr;
    assert_int_equal(pol_trainer_create(&tr, ctx, &t, &ds), POL_ERR_UNSUPPORTED);
    pol_ctx_destroy(ctx);
    pol_dataset_free(&ds);
}

/* ---------------------------------------------------- profile and verify -- */

static void test_honest_accepted_across_backends(void **st)
{
    (void)st;
    char task_path[1300], store[1300], run[1400], prof[1400];
    pol_cert c;
    solve(1, POL_KERNELS_BLAS, 1, task_path, store, &c);
    snprintf(run, sizeof run, "%s/s1-2-1/run", dir);
    snprintf(prof, sizeof prof, "%s/profile.json", dir);
    pol_profile_opts po = { .task_path = task_path, .run_dir = run, .samples = 8 };
    pol_profile p;
    assert_int_equal(pol_profile_run(&po, &p), POL_OK);
    assert_int_equal(pol_profile_write_json(&p, prof), POL_OK);
    assert_int_equal(pol_profile_write_json(&p, prof), POL_ERR_EXISTS);
    double max_seen = 0;
    unsigned groups_seen = 0;
    for (size_t i = 0; i < p.n_stats; i++) {
        const pol_profile_stat *s = &p.stats[i];
        assert_true(s->threshold >= POL_PROFILE_FACTOR * s->max);
        if (!s->op[0])
            groups_seen |= 1u << s->group;
        else
            assert_int_equal(s->group, POL_GROUP_PARAMS);
        if (!s->op[0] && s->group != POL_GROUP_PARAMS) {
            /* [P-OBS-1]: the optimizer state's groups, from the same observations */
            assert_true(s->one_step_min == 0);
            if (s->metric == POL_METRIC_L2_REL)
                printf("  profile: group %s, len %llu: n %llu, l2_rel median %.3g max %.3g -> "
                       "threshold %.3g\n", pol_group_name(s->group),
                       (unsigned long long)s->interval_len, (unsigned long long)s->n, s->median,
                       s->max, s->threshold);
            continue;
        }
        if (!s->op[0] && s->metric == POL_METRIC_L2_REL) {
            printf("  profile: len %llu: n %llu, l2_rel median %.3g max %.3g -> threshold %.3g; "
                   "one skipped step is %.3g (%.0fx the threshold)\n",
                   (unsigned long long)s->interval_len, (unsigned long long)s->n, s->median, s->max,
                   s->threshold, s->one_step_min, s->one_step_min / s->threshold);
            max_seen = s->max > max_seen ? s->max : max_seen;
            assert_true(s->one_step_min > 100 * s->threshold);
        }
    }
    /* the backends really differ on this task (else the test proves nothing) */
    assert_true(max_seen > 0);
    /* AdamW: the parameters and both moments, no SGD buffer */
    assert_int_equal(groups_seen, (1u << POL_GROUP_PARAMS) | (1u << POL_GROUP_M) |
                                      (1u << POL_GROUP_V));
    char *h = pol_profile_histogram(&p);
    assert_non_null(h);
    printf("%s", h);
    free(h);
    pol_task task;
    assert_int_equal(pol_task_load(task_path, &task), POL_OK);
    assert_int_equal(pol_profile_load_thresholds(prof, &task.id, POL_METRIC_L2_REL, &thr, &n_thr),
                     POL_OK);
    assert_int_equal(n_thr, 6); /* lengths 4 and 2, for the parameters, m and v */
    for (size_t i = 0; i < n_thr; i++)
        assert_int_equal(thr[i].group, (pol_state_group)(i / 2));
    pol_threshold *other;
    size_t n_other;
    pol_digest wrong = task.id;
    wrong.b[0] ^= 1;
    assert_int_equal(pol_profile_load_thresholds(prof, &wrong, POL_METRIC_L2_REL, &other, &n_other),
                     POL_ERR_MISMATCH);
    pol_profile_free(&p);
    /* verifier backends: fast/1, blas/1, blas/2 */
    const pol_kernels ks[3] = { POL_KERNELS_FAST, POL_KERNELS_BLAS, POL_KERNELS_BLAS };
    const int ths[3] = { 1, 1, 2 };
    for (int v = 0; v < 3; v++) {
        pol_ctx *ctx = make_ctx(ks[v], ths[v]);
        verify(ctx, &c, task_path, store, thr, n_thr);
        pol_ctx_destroy(ctx);
        if (!res.accept)
            fail_msg("honest run rejected by verifier %d: %s", v, res.reason);
        assert_true(res.tolerant);
        assert_int_equal(res.rejected_group, -1);
        assert_int_equal(res.n_picked, 4);
        for (size_t i = 0; i < res.n_picked; i++)
            assert_true(res.threshold[i] > 0 && res.distance[i] <= res.threshold[i]);
    }
    /* without thresholds a tolerant certificate cannot be verified */
    pol_ctx *ctx = make_ctx(POL_KERNELS_FAST, 1);
    pol_verify_opts o = { 0 };
    o.task_path = task_path, o.store_dir = store, o.samples = 4;
    assert_int_equal(pol_verify(ctx, &c, &o, &res), POL_ERR_INVALID_ARG);
    /* [V-TOL-2] nor with the cosine distance, which cannot see a rescaled state */
    o.thresholds = thr, o.n_thresholds = n_thr;
    o.metric = POL_METRIC_COSINE;
    assert_int_equal(pol_verify(ctx, &c, &o, &res), POL_ERR_INVALID_ARG);
    assert_non_null(strstr(pol_last_error(), "cosine"));
    assert_int_equal(res.steps_rerun, 0);
    o.metric = POL_METRIC_L2_REL;
    /* [V-TOL-3] a profile without the optimizer state's thresholds (made
     * before they existed: its JSON has no "group", so every entry is the
     * parameters') is an error naming the group, before anything is re-run */
    json_error_t je;
    json_t *root = json_load_file(prof, 0, &je), *all = json_object_get(root, "thresholds");
    assert_non_null(all);
    json_t *old = json_array();
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *e = json_array_get(all, i);
        if (strcmp(json_string_value(json_object_get(e, "group")), ""))
            continue;
        json_object_del(e, "group");
        json_array_append(old, e);
    }
    json_object_set_new(root, "thresholds", old);
    char old_prof[1500];
    snprintf(old_prof, sizeof old_prof, "%s/profile-old.json", dir);
    assert_int_equal(json_dump_file(root, old_prof, JSON_INDENT(2)), 0);
    json_decref(root);
    pol_threshold *ot;
    size_t n_ot;
    assert_int_equal(pol_profile_load_thresholds(old_prof, &task.id, POL_METRIC_L2_REL, &ot, &n_ot),
                     POL_OK);
    assert_int_equal(n_ot, 2);
    assert_true(ot[0].group == POL_GROUP_PARAMS && ot[1].group == POL_GROUP_PARAMS);
    o.thresholds = ot, o.n_thresholds = n_ot;
    o.samples = 1000;
    assert_int_equal(pol_verify(ctx, &c, &o, &res), POL_ERR_NOT_FOUND);
    assert_non_null(strstr(pol_last_error(), "group m"));
    assert_non_null(strstr(pol_last_error(), "predates optimizer-state thresholds"));
    assert_int_equal(res.steps_rerun, 0);
    free(ot);
    /* a "group" that is not one is a malformed profile */
    root = json_load_file(prof, 0, &je);
    json_object_set_new(json_array_get(json_object_get(root, "thresholds"), 0), "group",
                        json_string("w"));
    snprintf(old_prof, sizeof old_prof, "%s/profile-badgroup.json", dir);
    assert_int_equal(json_dump_file(root, old_prof, JSON_INDENT(2)), 0);
    assert_int_equal(pol_profile_load_thresholds(old_prof, &task.id, POL_METRIC_L2_REL, &ot, &n_ot),
                     POL_ERR_FORMAT);
    assert_non_null(strstr(pol_last_error(), "group"));
    json_decref(root);
    pol_ctx_destroy(ctx);
    pol_cert_free(&c);
}

/* [P-SRC-1], [P-SRC-2], [P-OBS-1], [P-JSON-2]: the configurations a profile
 * measures under each gpu mode, on the machine that runs the suite. Without
 * a usable CUDA device (this libpol built without CUDA, or no device), auto
 * and off measure the three CPU configurations and say why there is no GPU;
 * require fails before anything is read (a task path that does not exist
 * is not even looked at), and so does a task whose gpu_math is tf32 or bf16
 * under auto, once the task is read and before the run is (a run directory
 * that does not exist is not looked at); off with such a task is refused.
 * With a device, auto adds cuda/exact and cublas/fp32, and a tf32 or bf16
 * task also cublas/tf32 or cublas/bf16. `last` names the sixth
 * configuration, when there is one. */
static void check_configs(const pol_profile *p, int n_gpu, const char *gpu_text, const char *last)
{
    static const char *const names[] = { "fast/1", "blas/1", "blas/2", "cuda/exact",
                                         "cublas/fp32" };
    assert_int_equal(p->n_configs, 3 + n_gpu);
    for (int c = 0; c < p->n_configs; c++)
        assert_string_equal(p->configs[c], c < 5 ? names[c] : last);
    if (gpu_text)
        assert_string_equal(p->gpu, gpu_text);
    /* n(n+1)/2 interval observations of each re-run interval */
    const uint64_t n = (uint64_t)p->n_configs, per = n * (n + 1) / 2;
    uint64_t seen = 0;
    for (size_t i = 0; i < p->n_stats; i++)
        if (!p->stats[i].op[0] && p->stats[i].group == POL_GROUP_PARAMS &&
            p->stats[i].metric == POL_METRIC_L2_REL)
            seen += p->stats[i].n;
    assert_int_equal(seen, p->intervals_rerun * per);
    assert_int_equal(p->n_obs, seen);
}

static void test_profile_gpu_sources(void **st)
{
    (void)st;
    char task_path[1300], store[1300], run[1400], prof[1400];
    pol_cert c;
    solve(2, POL_KERNELS_FAST, 1, task_path, store, &c);
    pol_cert_free(&c);
    snprintf(run, sizeof run, "%s/s2-0-1/run", dir);
    const pol_status avail = pol_cuda_available();
    char why[512];
    snprintf(why, sizeof why, "%s", avail ? pol_last_error() : "");
    char name[128] = "", device[200] = "";
    int major = 0, minor = 0;
    if (!avail) {
        assert_int_equal(pol_cuda_device_info(name, sizeof name, &major, &minor), POL_OK);
        snprintf(device, sizeof device, "%s (sm_%d%d)", name, major, minor);
        printf("  profile sources: CUDA device %s: GPU sources on by default\n", device);
    } else {
        /* a build with CUDA reports a missing device as POL_ERR_CUDA */
        assert_int_equal(avail, pol_cuda_built() ? POL_ERR_CUDA : POL_ERR_UNSUPPORTED);
        if (avail == POL_ERR_UNSUPPORTED)
            snprintf(device, sizeof device, "built without CUDA");
        else
            snprintf(device, sizeof device, "no CUDA device: %s", why);
        printf("  profile sources: no usable CUDA device (%s): the CPU alone\n", why);
    }
    pol_profile p;
    pol_profile_opts po = { .task_path = task_path, .run_dir = run, .samples = 2 };

    /* auto (the default) */
    assert_int_equal(pol_profile_run(&po, &p), POL_OK);
    check_configs(&p, avail ? 0 : 2, device, NULL);
    /* the JSON names them; a reader ignores gpu and does not need it (P-JSON-2) */
    snprintf(prof, sizeof prof, "%s/profile-auto.json", dir);
    assert_int_equal(pol_profile_write_json(&p, prof), POL_OK);
    json_error_t je;
    json_t *root = json_load_file(prof, 0, &je);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "gpu")), device);
    assert_int_equal(json_array_size(json_object_get(root, "configs")), (size_t)p.n_configs);
    pol_threshold *t1, *t2;
    size_t n1, n2;
    assert_int_equal(pol_profile_load_thresholds(prof, &p.task_id, POL_METRIC_L2_REL, &t1, &n1),
                     POL_OK);
    assert_int_equal(json_object_del(root, "gpu"), 0);
    snprintf(prof, sizeof prof, "%s/profile-nogpu.json", dir);
    assert_int_equal(json_dump_file(root, prof, JSON_INDENT(2)), 0);
    json_decref(root);
    assert_int_equal(pol_profile_load_thresholds(prof, &p.task_id, POL_METRIC_L2_REL, &t2, &n2),
                     POL_OK);
    assert_int_equal(n1, n2);
    assert_memory_equal(t1, t2, n1 * sizeof *t1);
    free(t1), free(t2);
    pol_profile_free(&p);

    /* off: the CPU alone, always */
    po.gpu = POL_PROFILE_GPU_OFF;
    assert_int_equal(pol_profile_run(&po, &p), POL_OK);
    check_configs(&p, 0, "off", NULL);
    pol_profile_free(&p);

    po.gpu = 3; /* no such mode */
    memset(&p, 0x55, sizeof p);
    assert_int_equal(pol_profile_run(&po, &p), POL_ERR_INVALID_ARG);
    assert_int_equal(p.n_configs, 0);

    /* require: a device or nothing, decided before any file is read (the
     * task path below does not exist) */
    pol_profile_opts nowhere = po;
    nowhere.task_path = "/nonexistent/task.json";
    nowhere.run_dir = "/nonexistent/run";
    po.gpu = nowhere.gpu = POL_PROFILE_GPU_REQUIRE;
    if (avail) {
        memset(&p, 0x55, sizeof p);
        assert_int_equal(pol_profile_run(&po, &p), avail);
        assert_non_null(strstr(pol_last_error(), "GPU sources are required"));
        assert_int_equal(p.n_configs, 0); /* zeroed: nothing to free, nothing measured */
        assert_null(p.stats);
        assert_null(p.obs);
        assert_int_equal(p.gpu[0], 0);
        assert_int_equal(pol_profile_run(&nowhere, &p), avail);
    } else {
        /* the device is there: the profile runs (the missing task is then an error) */
        assert_int_equal(pol_profile_run(&po, &p), POL_OK);
        check_configs(&p, 2, device, NULL);
        pol_profile_free(&p);
        assert_int_not_equal(pol_profile_run(&nowhere, &p), POL_OK);
    }

    /* the task's gpu_math: tf32 and bf16 need the GPU sources, under auto
     * as under require, and are refused with them off */
    static const char *const maths[2] = { "tf32", "bf16" };
    for (int k = 0; k < 2; k++) {
        char mtask[1400], mrun[1400], want[64], last[32];
        snprintf(mtask, sizeof mtask, "%s/task-%s.json", dir, maths[k]);
        snprintf(mrun, sizeof mrun, "%s/run-%s", dir, maths[k]);
        snprintf(last, sizeof last, "cublas/%s", maths[k]);
        write_task_math(mtask, 2, "tolerant", maths[k]);
        pol_task t;
        assert_int_equal(pol_task_load(mtask, &t), POL_OK);
        assert_int_equal(t.gpu_math, k ? POL_GPU_MATH_BF16 : POL_GPU_MATH_TF32);
        pol_profile_opts mo = { .task_path = mtask, .run_dir = mrun, .samples = 2,
                                .gpu = POL_PROFILE_GPU_OFF };
        memset(&p, 0x55, sizeof p);
        assert_int_equal(pol_profile_run(&mo, &p), POL_ERR_INVALID_ARG);
        snprintf(want, sizeof want, "gpu_math is %s", maths[k]);
        assert_non_null(strstr(pol_last_error(), want));
        assert_int_equal(p.n_configs, 0);
        mo.gpu = POL_PROFILE_GPU_AUTO;
        if (avail) {
            /* decided before the run is read: there is none yet */
            memset(&p, 0x55, sizeof p);
            assert_int_equal(pol_profile_run(&mo, &p), avail);
            snprintf(want, sizeof want, "gpu_math %s needs a CUDA device", maths[k]);
            assert_non_null(strstr(pol_last_error(), want));
            assert_int_equal(p.n_configs, 0);
            assert_null(p.stats);
            assert_int_equal(p.gpu[0], 0);
            mo.gpu = POL_PROFILE_GPU_REQUIRE;
            assert_int_equal(pol_profile_run(&mo, &p), avail);
            assert_non_null(strstr(pol_last_error(), "GPU sources are required"));
        } else {
            /* a run of the task (on the CPU, which ignores gpu_math), profiled
             * with the task's math after the FP32 sources */
            pol_ctx *ctx = make_ctx(POL_KERNELS_BLAS, 1);
            pol_run_opts ro = { .task_path = mtask, .out_dir = mrun };
            pol_run_result rr;
            assert_int_equal(pol_run_train(ctx, &ro, &rr), POL_OK);
            pol_ctx_destroy(ctx);
            assert_int_equal(pol_profile_run(&mo, &p), POL_OK);
            check_configs(&p, 3, device, last);
            pol_profile_free(&p);
        }
    }
}

/* [T-KEY-4]: gpu_math is the math of cuBLAS GEMMs alone. On the CPU a task
 * with "gpu_math": "bf16" trains to the same states as the task without
 * the key, with the exact kernels (bit for bit) and with OpenBLAS alike
 * (the key changes no CPU arithmetic); a hand-made task with a value that
 * is not a pol_gpu_math is refused by pol_trainer_create. */
static void test_gpu_math_on_cpu(void **st)
{
    (void)st;
    char plain[1300], bf16[1300];
    snprintf(plain, sizeof plain, "%s/gm-plain.json", dir);
    snprintf(bf16, sizeof bf16, "%s/gm-bf16.json", dir);
    write_task(plain, 5, "tolerant");
    write_task_math(bf16, 5, "tolerant", "bf16");
    static const pol_kernels K[2] = { POL_KERNELS_FAST, POL_KERNELS_BLAS };
    for (int k = 0; k < 2; k++) {
        pol_digest h[2];
        const char *tasks[2] = { plain, bf16 };
        for (int i = 0; i < 2; i++) {
            char run[1400];
            snprintf(run, sizeof run, "%s/gm-run-%d-%d", dir, k, i);
            pol_ctx *ctx = make_ctx(K[k], 1);
            pol_run_opts ro = { .task_path = tasks[i], .out_dir = run };
            pol_run_result rr;
            assert_int_equal(pol_run_train(ctx, &ro, &rr), POL_OK);
            pol_ctx_destroy(ctx);
            h[i] = rr.final_state_hash;
        }
        assert_memory_equal(h[0].b, h[1].b, 32);
    }
    pol_task t;
    pol_dataset ds;
    assert_int_equal(pol_task_load(bf16, &t), POL_OK);
    assert_int_equal(t.gpu_math, POL_GPU_MATH_BF16);
    assert_int_equal(pol_dataset_load(t.dataset_path, &t.dataset_sha256, t.sizes[0],
                                      t.sizes[t.n_layers], &ds), POL_OK);
    t.gpu_math = (pol_gpu_math)3;
    pol_ctx *ctx = make_ctx(POL_KERNELS_BLAS, 1);
    pol_trainer *tr;
    memset(&tr, 0x55, sizeof tr); /* anything but NULL: failure sets it to NULL */
    assert_int_equal(pol_trainer_create(&tr, ctx, &t, &ds), POL_ERR_INVALID_ARG);
    assert_null(tr);
    assert_non_null(strstr(pol_last_error(), "gpu_math"));
    pol_ctx_destroy(ctx);
    pol_dataset_free(&ds);
}

/* A consistent cheater: honest training with OpenBLAS, except that at the
 * end of interval `bad` the state is altered and training goes on from
 * there. Builds the certificate by hand. With group POL_GROUP_PARAMS,
 * every parameter is multiplied by (1 +- eps) with random signs (an l2_rel
 * perturbation of eps); with POL_GROUP_M (the AdamW task) or
 * POL_GROUP_BUF (the same task with SGD and momentum), the parameters are
 * left honest and every element of every tensor of that group is set to
 * +-eps, random signs. */
static void cheat(size_t bad, double eps, pol_state_group group, pol_cert *c, char *task_path,
                  char *store)
{
    char base[1200];
    snprintf(base, sizeof base, "%s/cheat-%s-%zu-%g", dir, group ? pol_group_name(group) : "p",
             bad, eps);
    assert_int_equal(pol_mkdir_p(base), POL_OK);
    snprintf(task_path, 1300, "%s/task.json", base);
    snprintf(store, 1300, "%s/store", base);
    assert_int_equal(pol_mkdir_p(store), POL_OK);
    write_task_opt(task_path, 1, "tolerant", NULL, group == POL_GROUP_BUF ? SGD : NULL);
    static pol_task t;
    pol_dataset ds;
    assert_int_equal(pol_task_load(task_path, &t), POL_OK);
    assert_int_equal(pol_dataset_load(t.dataset_path, &t.dataset_sha256, 6, 3, &ds), POL_OK);
    pol_ctx *ctx = make_ctx(POL_KERNELS_BLAS, 1);
    pol_trainer *tr;
    assert_int_equal(pol_trainer_create(&tr, ctx, &t, &ds), POL_OK);
    tu_rng r;
    tu_rng_init(&r, suite_seed ^ bad);
    uint64_t steps[8];
    pol_digest hashes[8];
    size_t n = 0;
    for (;;) {
        if (n == bad + 1) {
            const pol_tensor *ts[POL_TRAINER_MAX_STATE];
            int nt;
            assert_int_equal(pol_trainer_state(tr, ts, POL_TRAINER_MAX_STATE, &nt), POL_OK);
            for (int i = 0; i < nt; i++) {
                float *x = ts[i]->data;
                if (pol_state_group_of(ts[i]->name) != (int)group)
                    continue;
                for (size_t j = 0; j < ts[i]->nbytes / 4; j++) {
                    const double sign = (tu_next(&r) & 1) ? 1.0 : -1.0;
                    if (group == POL_GROUP_PARAMS)
                        x[j] *= (float)(1.0 + sign * eps);
                    else
                        x[j] = (float)(sign * eps);
                }
            }
        }
        char path[1400], hex[65], dst[1400];
        snprintf(path, sizeof path, "%s/tmp.safetensors", base);
        assert_int_equal(pol_trainer_save(tr, path, 1, &hashes[n]), POL_OK);
        pol_digest_to_hex(&hashes[n], hex);
        snprintf(dst, sizeof dst, "%s/%s.safetensors", store, hex);
        assert_int_equal(rename(path, dst), 0);
        steps[n++] = pol_trainer_steps_done(tr);
        if (steps[n - 1] == t.steps)
            break;
        uint64_t end = steps[n - 1] + t.checkpoint_every;
        end = end < t.steps ? end : t.steps;
        while (pol_trainer_steps_done(tr) < end)
            assert_int_equal(pol_trainer_step(tr, NULL), POL_OK);
    }
    pol_trainer_destroy(tr);
    pol_ctx_destroy(ctx);
    pol_dataset_free(&ds);
    assert_int_equal(pol_cert_alloc(c, n), POL_OK);
    memcpy(c->ckpt_steps, steps, n * sizeof *steps);
    memcpy(c->ckpt_hashes, hashes, n * sizeof *hashes);
    c->task_id = t.id;
    c->mode = POL_MODE_TOLERANT;
    c->spec_version = 1;
    c->checkpoint_every = t.checkpoint_every;
    c->steps = t.steps;
    c->final_state_hash = hashes[n - 1];
    assert_int_equal(pol_merkle_root(hashes, n, &c->ckpt_root), POL_OK);
}

/* Interval 0 of seed 1's honest run, re-run alone (its declared update made
 * the largest) against a copy of its store whose end checkpoint is replaced:
 * by another checkpoint (not the committed state), then by a truncated file
 * (unreadable). Each is a reject at interval 0 naming the stored end
 * checkpoint, not an error; the untouched copy is accepted. */
static void test_bad_end_checkpoint(void **st)
{
    (void)st;
    assert_non_null(thr); /* from test_honest_accepted_across_backends */
    char task_path[1300], run[1300], store[1300], cmd[4000], p1[1500], p2[1500], hex[65];
    snprintf(task_path, sizeof task_path, "%s/s1-2-1/task.json", dir);
    snprintf(run, sizeof run, "%s/s1-2-1/run", dir);
    snprintf(store, sizeof store, "%s/bad-end-store", dir);
    snprintf(cmd, sizeof cmd, "cp -r %s/s1-2-1/store %s", dir, store);
    assert_int_equal(tu_system(cmd), 0);
    pol_cert c;
    assert_int_equal(pol_cert_from_run(run, task_path, &c), POL_OK);
    c.update_norms[0] = 1e9;
    pol_digest_to_hex(&c.ckpt_hashes[1], hex);
    snprintf(p1, sizeof p1, "%s/%s.safetensors", store, hex);
    pol_digest_to_hex(&c.ckpt_hashes[2], hex);
    snprintf(p2, sizeof p2, "%s/%s.safetensors", store, hex);
    pol_verify_opts o = { 0 };
    o.task_path = task_path, o.store_dir = store, o.samples = 0, o.top_q = 1;
    o.thresholds = thr, o.n_thresholds = n_thr;
    pol_ctx *ctx = make_ctx(POL_KERNELS_BLAS, 1);
    assert_int_equal(pol_verify(ctx, &c, &o, &res), POL_OK);
    if (!res.accept)
        fail_msg("the store's copy was rejected: %s", res.reason);
    assert_int_equal(res.n_picked, 1);
    uint8_t *good, *other;
    size_t n_good, n_other;
    assert_int_equal(pol_read_file(p1, 1 << 24, &good, &n_good), POL_OK);
    assert_int_equal(pol_read_file(p2, 1 << 24, &other, &n_other), POL_OK);
    const char *const want[2] = { "the stored end checkpoint is not the committed state",
                                  "the stored end checkpoint is unreadable" };
    for (int m = 0; m < 2; m++) {
        assert_int_equal(m ? pol_write_file_atomic(p1, good, n_good / 2, 1)
                           : pol_write_file_atomic(p1, other, n_other, 1),
                         POL_OK);
        assert_int_equal(pol_verify(ctx, &c, &o, &res), POL_OK);
        if (res.accept || res.failed_interval != 0 || !strstr(res.reason, want[m]))
            fail_msg("case %d: want a reject at interval 0 saying \"%s\"; got %s at %lld: %s", m,
                     want[m], res.accept ? "accept" : "reject", (long long)res.failed_interval,
                     res.reason);
    }
    free(good);
    free(other);
    pol_ctx_destroy(ctx);
    pol_cert_free(&c);
}

/* The index, among res's picks, of interval i. */
static size_t pick_of(size_t i)
{
    for (size_t k = 0; k < res.n_picked; k++)
        if (res.picked[k] == i)
            return k;
    fail_msg("interval %zu was not picked", i);
    return 0;
}

/* The l2_rel distance over the parameters between the states named a and b
 * in two stores. */
static double params_distance(const char *store_a, const pol_digest *a, const char *store_b,
                              const pol_digest *b)
{
    pol_st_file f[2];
    const pol_tensor *ts[2][POL_TRAINER_MAX_STATE];
    const char *stores[2] = { store_a, store_b };
    const pol_digest *h[2] = { a, b };
    for (int s = 0; s < 2; s++) {
        char hex[65], path[1500];
        pol_digest_to_hex(h[s], hex);
        snprintf(path, sizeof path, "%s/%s.safetensors", stores[s], hex);
        assert_int_equal(pol_st_load(path, NULL, &f[s]), POL_OK);
        assert_true(f[s].n <= POL_TRAINER_MAX_STATE);
        for (size_t j = 0; j < f[s].n; j++)
            ts[s][j] = &f[s].tensors[j];
    }
    pol_distance d;
    assert_int_equal(pol_state_distance(ts[0], f[0].n, ts[1], f[1].n, pol_is_param_name, &d, NULL,
                                        NULL), POL_OK);
    pol_st_free(&f[0]);
    pol_st_free(&f[1]);
    return d.l2_rel;
}

/* [V-TOL-3] Made-up optimizer state: the parameters committed at the end of
 * interval `bad` are honest, but every element of every AdamW first moment
 * is +-0.05; training then goes on honestly from that state. Each interval
 * re-runs within the parameters' threshold, yet the run ends far from the
 * honest one. Compared group by group, the certificate is rejected at
 * exactly `bad`, naming group m, with the group's distance and threshold in
 * the result. With the optimizer state's thresholds lifted (what comparing
 * the parameters alone amounts to) the interval ending on the made-up
 * moments is accepted: its parameters are honest. (Later intervals, re-run
 * from the made-up state, leave the honest trajectory, and their noise may
 * or may not exceed the parameters' threshold, depending on the draw.) */
static void test_moments_cheat_rejected(void **st)
{
    (void)st;
    assert_non_null(thr); /* from test_honest_accepted_across_backends */
    double t4;
    assert_int_equal(pol_threshold_for(thr, n_thr, POL_GROUP_PARAMS, 4, &t4), POL_OK);
    /* the same thresholds, the optimizer state's made useless: the
     * parameters alone are compared */
    pol_threshold *lax = malloc(n_thr * sizeof *lax);
    assert_non_null(lax);
    memcpy(lax, thr, n_thr * sizeof *lax);
    for (size_t i = 0; i < n_thr; i++)
        if (lax[i].group != POL_GROUP_PARAMS)
            lax[i].value = 1e300;
    char honest_task[1300], honest_store[1300], honest_run[1300];
    snprintf(honest_task, sizeof honest_task, "%s/s1-2-1/task.json", dir);
    snprintf(honest_run, sizeof honest_run, "%s/s1-2-1/run", dir);
    snprintf(honest_store, sizeof honest_store, "%s/s1-2-1/store", dir);
    pol_cert honest;
    assert_int_equal(pol_cert_from_run(honest_run, honest_task, &honest), POL_OK);
    pol_ctx *ctx = make_ctx(POL_KERNELS_FAST, 1);
    for (size_t bad = 0; bad < 4; bad++) {
        char task_path[1300], store[1300];
        pol_cert c;
        cheat(bad, 0.05, POL_GROUP_M, &c, task_path, store);
        /* the parameters at the cheated checkpoint are the honest run's, the
         * final ones are not (unless the cheat was at the very end) */
        assert_true(params_distance(store, &c.ckpt_hashes[bad + 1], honest_store,
                                    &honest.ckpt_hashes[bad + 1]) == 0.0);
        const double end = params_distance(store, &c.final_state_hash, honest_store,
                                           &honest.final_state_hash);
        /* the interval that ends on the made-up moments, alone (the largest
         * declared update, top-Q): its parameters are within their
         * threshold, so comparing them alone accepts it; its m group rejects */
        c.update_norms[bad] = 1e9;
        pol_verify_opts o = { 0 };
        o.task_path = task_path, o.store_dir = store, o.samples = 0, o.top_q = 1;
        o.thresholds = lax, o.n_thresholds = n_thr;
        assert_int_equal(pol_verify(ctx, &c, &o, &res), POL_OK);
        assert_true(res.n_picked == 1 && res.picked[0] == bad);
        if (!res.accept)
            fail_msg("moments cheat at %zu: rejected on the parameters alone: %s", bad,
                     res.reason);
        assert_true(res.distance[0] <= res.threshold[0]);
        o.thresholds = thr;
        assert_int_equal(pol_verify(ctx, &c, &o, &res), POL_OK);
        if (res.accept || res.failed_interval != (int64_t)bad || !strstr(res.reason, "group m"))
            fail_msg("moments cheat at interval %zu, re-run alone: want a reject in group m, "
                     "got %s: %s", bad, res.accept ? "accept" : "reject", res.reason);
        /* every interval: the first reject is there (the intervals before are honest) */
        verify(ctx, &c, task_path, store, thr, n_thr);
        if (res.accept || res.failed_interval != (int64_t)bad)
            fail_msg("moments cheat at interval %zu: want a reject there, got %s at %lld: %s", bad,
                     res.accept ? "accept" : "reject", (long long)res.failed_interval, res.reason);
        assert_non_null(strstr(res.reason, "group m"));
        assert_int_equal(res.rejected_group, POL_GROUP_M);
        const size_t k = pick_of(bad);
        assert_true(res.distance[k] > res.threshold[k]);
        double tm;
        assert_int_equal(pol_threshold_for(thr, n_thr, POL_GROUP_M,
                                           c.ckpt_steps[bad + 1] - c.ckpt_steps[bad], &tm), POL_OK);
        assert_true(res.threshold[k] == tm);
        for (size_t j = 0; j < k; j++) /* the intervals before: the parameters' values */
            assert_true(res.distance[j] <= res.threshold[j]);
        printf("  moments cheat at interval %zu: rejected, group m l2_rel %.3g (threshold %.3g); "
               "final parameters %.3g from the honest run's (l2_rel; threshold %.3g)\n", bad,
               res.distance[k], res.threshold[k], end, t4);
        if (bad < 3)
            assert_true(end > 100 * t4);
        pol_cert_free(&c);
    }
    pol_ctx_destroy(ctx);
    pol_cert_free(&honest);
    free(lax);
}

/* [P-OBS-1], [V-TOL-3] with SGD: the state groups are the parameters and
 * the momentum buffers (buf). A profile of an honest SGD run has thresholds
 * for both, the honest run is accepted by another backend, and made-up
 * buffers committed with honest parameters are rejected at exactly that
 * interval, naming group buf. */
static void test_sgd_buffers(void **st)
{
    (void)st;
    char task_path[1300], store[1300], run[1400], prof[1400];
    pol_cert c;
    /* the honest run of cheat()'s SGD task (seed 1), trained alike */
    char base[1200];
    snprintf(base, sizeof base, "%s/sgd", dir);
    assert_int_equal(pol_mkdir_p(base), POL_OK);
    snprintf(task_path, sizeof task_path, "%s/task.json", base);
    snprintf(run, sizeof run, "%s/run", base);
    snprintf(store, sizeof store, "%s/store", base);
    write_task_opt(task_path, 1, "tolerant", NULL, SGD);
    pol_ctx *ctx = make_ctx(POL_KERNELS_BLAS, 1);
    pol_run_opts ro = { .task_path = task_path, .out_dir = run };
    pol_run_result rr;
    assert_int_equal(pol_run_train(ctx, &ro, &rr), POL_OK);
    pol_ctx_destroy(ctx);
    assert_int_equal(pol_cert_from_run(run, task_path, &c), POL_OK);
    assert_int_equal(pol_store_put_run(run, store), POL_OK);
    pol_profile_opts po = { .task_path = task_path, .run_dir = run, .samples = 8,
                            .gpu = POL_PROFILE_GPU_OFF };
    pol_profile p;
    assert_int_equal(pol_profile_run(&po, &p), POL_OK);
    unsigned groups = 0;
    for (size_t i = 0; i < p.n_stats; i++) {
        const pol_profile_stat *s = &p.stats[i];
        if (s->op[0])
            continue;
        groups |= 1u << s->group;
        if (s->metric == POL_METRIC_L2_REL)
            printf("  SGD profile: group %s, len %llu: n %llu, l2_rel max %.3g -> threshold %.3g\n",
                   s->group ? pol_group_name(s->group) : "(parameters)",
                   (unsigned long long)s->interval_len, (unsigned long long)s->n, s->max,
                   s->threshold);
    }
    assert_int_equal(groups, (1u << POL_GROUP_PARAMS) | (1u << POL_GROUP_BUF));
    snprintf(prof, sizeof prof, "%s/profile.json", base);
    assert_int_equal(pol_profile_write_json(&p, prof), POL_OK);
    pol_profile_free(&p);
    pol_threshold *t;
    size_t nt;
    assert_int_equal(pol_profile_load_thresholds(prof, &c.task_id, POL_METRIC_L2_REL, &t, &nt),
                     POL_OK);
    assert_int_equal(nt, 4); /* lengths 2 and 4, the parameters and buf */
    ctx = make_ctx(POL_KERNELS_FAST, 1);
    verify(ctx, &c, task_path, store, t, nt);
    if (!res.accept)
        fail_msg("honest SGD run rejected: %s", res.reason);
    printf("  SGD honest run: largest distance/threshold %.3g (parameters), %.3g (buf)\n",
           res.group_ratio[POL_GROUP_PARAMS], res.group_ratio[POL_GROUP_BUF]);
    pol_cert_free(&c);
    for (size_t bad = 0; bad < 4; bad += 2) {
        char ctask[1300], cstore[1300];
        cheat(bad, 0.05, POL_GROUP_BUF, &c, ctask, cstore);
        verify(ctx, &c, ctask, cstore, t, nt);
        if (res.accept || res.failed_interval != (int64_t)bad ||
            res.rejected_group != POL_GROUP_BUF || !strstr(res.reason, "group buf"))
            fail_msg("made-up buffers at interval %zu: want a reject there in group buf, got %s "
                     "at %lld: %s", bad, res.accept ? "accept" : "reject",
                     (long long)res.failed_interval, res.reason);
        pol_cert_free(&c);
    }
    pol_ctx_destroy(ctx);
    free(t);
}

static void test_noise_rejected(void **st)
{
    (void)st;
    assert_non_null(thr); /* from test_honest_accepted_across_backends */
    double t4;
    assert_int_equal(pol_threshold_for(thr, n_thr, POL_GROUP_PARAMS, 4, &t4), POL_OK);
    pol_ctx *ctx = make_ctx(POL_KERNELS_FAST, 1);
    for (size_t bad = 0; bad < 4; bad++) {
        char task_path[1300], store[1300];
        pol_cert c;
        /* 3x the threshold of a 4-step interval */
        cheat(bad, 3.0 * t4, POL_GROUP_PARAMS, &c, task_path, store);
        verify(ctx, &c, task_path, store, thr, n_thr);
        if (res.accept)
            fail_msg("noise of 3x the threshold in interval %zu was accepted", bad);
        if (res.failed_interval != (int64_t)bad)
            fail_msg("noise in interval %zu rejected at interval %lld (%s)", bad,
                     (long long)res.failed_interval, res.reason);
        assert_non_null(strstr(res.reason, "exceeds the threshold"));
        assert_non_null(strstr(res.reason, "group parameters"));
        assert_int_equal(res.rejected_group, POL_GROUP_PARAMS);
        const size_t k = pick_of(bad);
        assert_true(res.distance[k] > res.threshold[k]);
        /* the evidence: the re-run end state's hash, hashed only for a reject */
        assert_false(pol_digest_equal(&res.got, &(pol_digest){ { 0 } }));
        assert_false(pol_digest_equal(&res.got, &res.expected));
        pol_cert_free(&c);
        /* a third of the threshold passes: the threshold is where the line is */
        cheat(bad, t4 / 3.0, POL_GROUP_PARAMS, &c, task_path, store);
        verify(ctx, &c, task_path, store, thr, n_thr);
        if (!res.accept)
            fail_msg("noise of 1/3 the threshold in interval %zu was rejected: %s", bad, res.reason);
        pol_cert_free(&c);
    }
    pol_ctx_destroy(ctx);
}

static void test_false_reject_rate(void **st)
{
    (void)st;
    assert_non_null(thr);
    /* seed 1's thresholds, applied to the runs of 20 other seeds: the solver
     * and the verifier use different backends, rotating over the pairs */
    const pol_kernels ks[3] = { POL_KERNELS_BLAS, POL_KERNELS_BLAS, POL_KERNELS_FAST };
    const int ths[3] = { 1, 2, 1 };
    size_t rejects = 0, intervals = 0;
    double worst = 0, worst_group[POL_GROUP_COUNT] = { 0 };
    for (int s = 0; s < N_SEEDS; s++) {
        int a = s % 3, b = (s + 1 + (s / 3) % 2) % 3;
        char task_path[1300], store[1300];
        pol_cert c;
        solve(100 + (uint64_t)s, ks[a], ths[a], task_path, store, &c);
        pol_ctx *ctx = make_ctx(ks[b], ths[b]);
        verify(ctx, &c, task_path, store, thr, n_thr);
        pol_ctx_destroy(ctx);
        rejects += !res.accept;
        for (int g = 0; g < POL_GROUP_COUNT; g++)
            worst_group[g] = res.group_ratio[g] > worst_group[g] ? res.group_ratio[g]
                                                                 : worst_group[g];
        for (size_t i = 0; i < res.n_picked; i++) {
            intervals++;
            double q = res.distance[i] / res.threshold[i];
            worst = q > worst ? q : worst;
        }
        pol_cert_free(&c);
    }
    printf("  false rejects: %zu of %d honest runs (%zu intervals) at the profiled threshold; "
           "largest distance/threshold %.3g (parameters), %.3g (m), %.3g (v)\n", rejects, N_SEEDS,
           intervals, worst, worst_group[POL_GROUP_M], worst_group[POL_GROUP_V]);
    assert_true(worst_group[POL_GROUP_PARAMS] == worst);
    assert_int_equal(rejects, 0);
}

/* [P-JSON-2] a profile file holds at most POL_PROFILE_MAX_THRESHOLDS
 * thresholds (the ProfileReport cap): 4096 are read, 4097 are refused. */
static void test_profile_threshold_cap(void **st)
{
    (void)st;
    pol_digest id;
    memset(id.b, 0x42, sizeof id.b);
    char hex[65], path[1100];
    pol_digest_to_hex(&id, hex);
    snprintf(path, sizeof path, "%s/cap.json", tu_tmpdir());
    for (size_t n = POL_PROFILE_MAX_THRESHOLDS; n <= POL_PROFILE_MAX_THRESHOLDS + 1; n++) {
        json_t *root = json_object(), *arr = json_array();
        json_object_set_new(root, "format", json_string("libpol-profile-v1"));
        json_object_set_new(root, "task_id", json_string(hex));
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_object();
            json_object_set_new(e, "op", json_string(""));
            json_object_set_new(e, "interval_len", json_integer((json_int_t)i + 1));
            json_object_set_new(e, "metric", json_string("l2_rel"));
            json_object_set_new(e, "threshold", json_real(1e-6));
            json_array_append_new(arr, e);
        }
        json_object_set_new(root, "thresholds", arr);
        remove(path);
        assert_int_equal(json_dump_file(root, path, 0), 0);
        json_decref(root);
        pol_threshold *t = NULL;
        size_t nt = 0;
        pol_status s = pol_profile_load_thresholds(path, &id, POL_METRIC_L2_REL, &t, &nt);
        if (n == POL_PROFILE_MAX_THRESHOLDS) {
            assert_int_equal(s, POL_OK);
            assert_int_equal(nt, n);
        } else {
            assert_int_equal(s, POL_ERR_TOO_LARGE);
            assert_null(t);
        }
        free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_threshold_cap),
        cmocka_unit_test(test_distance_values),
        cmocka_unit_test(test_state_distance),
        cmocka_unit_test(test_state_groups),
        cmocka_unit_test(test_blas_backend),
        cmocka_unit_test(test_honest_accepted_across_backends),
        cmocka_unit_test(test_profile_gpu_sources),
        cmocka_unit_test(test_gpu_math_on_cpu),
        cmocka_unit_test(test_bad_end_checkpoint),
        cmocka_unit_test(test_noise_rejected),
        cmocka_unit_test(test_moments_cheat_rejected),
        cmocka_unit_test(test_sgd_buffers),
        cmocka_unit_test(test_false_reject_rate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
