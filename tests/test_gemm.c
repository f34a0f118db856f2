/* GEMM: every fast path equals the reference bit for bit, and the reference
 * is the canonical order of A-RED-2.
 *
 * Each fast path this CPU has (scalar, avx2, avx512) is run directly through
 * the internal hook pol_gemm_run_isa, on 1, 2 and 3 threads, for all four
 * transpose combinations, with and without bias, on random and awkward
 * inputs (subnormals, signed zeros, infinities) and on shapes that hit every
 * edge of the blocking. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../lib/math/gemm_internal.h"
#include "pol/kernels.h"
#include "pol/threads.h"
#include "testutil.h"

static pol_pool *pools[3]; /* 1 (NULL), 2 and 3 threads */
static tu_rng rng;

static int group_setup(void **state)
{
    (void)state;
    tu_rng_init(&rng, tu_seed());
    pol_gemm_task_flops = 0; /* split even the small shapes over the threads */
    pools[0] = NULL;
    if (pol_pool_create(&pools[1], 2) != POL_OK || pol_pool_create(&pools[2], 3) != POL_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pol_pool_destroy(pools[1]);
    pol_pool_destroy(pools[2]);
    return 0;
}

/* ------------------------------------------------------------- helpers */

typedef struct gcase {
    pol_gemm_args g;
    float *mem[4]; /* what to free */
} gcase;

enum { FILL_UNIFORM, FILL_AWKWARD, FILL_SPECIAL };

static float *alloc_f(size_t n, int misalign, float **base)
{
    *base = malloc((n + 1) * sizeof(float));
    assert_non_null(*base);
    return *base + (misalign ? 1 : 0);
}

static void fill(float *x, size_t n, int kind)
{
    if (kind == FILL_UNIFORM) {
        tu_fill_uniform(&rng, x, n, -1.0f, 1.0f);
        return;
    }
    tu_fill_awkward(&rng, x, n, 2.0f);
    if (kind == FILL_SPECIAL)
        for (size_t i = 0; i < n; i++) {
            uint64_t r = tu_next(&rng) & 63;
            if (r == 0) x[i] = INFINITY;
            else if (r == 1) x[i] = -INFINITY;
            else if (r == 2) x[i] = 3e38f;
        }
}

static void case_init(gcase *c, int64_t M, int64_t N, int64_t K, int ta, int tb, int bias,
                      int kind, int misalign)
{
    memset(c, 0, sizeof *c);
    c->g.M = M;
    c->g.N = N;
    c->g.K = K;
    c->g.trans_a = ta;
    c->g.trans_b = tb;
    float *A = alloc_f((size_t)(M * K), misalign, &c->mem[0]);
    float *B = alloc_f((size_t)(K * N), misalign, &c->mem[1]);
    fill(A, (size_t)(M * K), kind);
    fill(B, (size_t)(K * N), kind);
    c->g.A = A;
    c->g.B = B;
    if (bias) {
        float *b = alloc_f((size_t)N, misalign, &c->mem[2]);
        fill(b, (size_t)N, kind == FILL_SPECIAL ? FILL_AWKWARD : kind);
        c->g.bias = b;
    }
    c->g.C = alloc_f((size_t)(M * N), misalign, &c->mem[3]);
}

static void case_free(gcase *c)
{
    for (int i = 0; i < 4; i++)
        free(c->mem[i]);
}

/* C is overwritten, never read: start it full of NaNs. */
static void poison(float *x, size_t n)
{
    uint32_t bits = 0x7fc01234u;
    for (size_t i = 0; i < n; i++)
        memcpy(&x[i], &bits, 4);
}

static void report_diff(const gcase *c, const char *what, const float *want, const float *got,
                        long at)
{
    uint32_t w, g;
    memcpy(&w, &want[at], 4);
    memcpy(&g, &got[at], 4);
    print_error("%s: M=%lld N=%lld K=%lld ta=%d tb=%d bias=%d: C[%lld][%lld] want %a (%08x) "
                "got %a (%08x)\n",
                what, (long long)c->g.M, (long long)c->g.N, (long long)c->g.K, c->g.trans_a,
                c->g.trans_b, c->g.bias != NULL, (long long)(at / c->g.N),
                (long long)(at % c->g.N), (double)want[at], w, (double)got[at], g);
}

/* The reference result, then every path on the given thread counts. */
static void check_case(gcase *c, unsigned thread_mask)
{
    size_t n = (size_t)(c->g.M * c->g.N);
    float *want = malloc((n ? n : 1) * sizeof(float));
    assert_non_null(want);
    poison(c->g.C, n);
    pol_ref_gemm(&c->g);
    memcpy(want, c->g.C, n * sizeof(float));
    for (int isa = 0; isa <= pol_gemm_isa_best(); isa++) {
        for (int t = 0; t < 3; t++) {
            if (!(thread_mask >> t & 1))
                continue;
            poison(c->g.C, n);
            pol_gemm_run_isa(pools[t], &c->g, isa);
            long at = tu_first_bit_diff(want, c->g.C, n);
            if (at >= 0) {
                char what[64];
                snprintf(what, sizeof what, "%s, %d thread(s)", pol_gemm_isa_name(isa), t + 1);
                report_diff(c, what, want, c->g.C, at);
                fail();
            }
        }
    }
    free(want);
}

static void run_one(int64_t M, int64_t N, int64_t K, int ta, int tb, int bias, int kind,
                    int misalign, unsigned thread_mask)
{
    gcase c;
    case_init(&c, M, N, K, ta, tb, bias, kind, misalign);
    check_case(&c, thread_mask);
    case_free(&c);
}

/* --------------------------------------------------------------- tests */

static void test_tiny_and_k_edges(void **state)
{
    (void)state;
    static const int64_t ks[] = {1, 2, 255, 256, 257, 511, 512, 513};
    for (int tr = 0; tr < 4; tr++)
        for (int bias = 0; bias < 2; bias++) {
            run_one(1, 1, 1, tr & 1, tr >> 1, bias, FILL_AWKWARD, 0, 7);
            for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++)
                run_one(3 + q, 17 + 5 * q, ks[q], tr & 1, tr >> 1, bias,
                        q & 1 ? FILL_AWKWARD : FILL_UNIFORM, 0, 7);
        }
}

/* K == 0: every element is +0 (+ bias); M or N == 0: nothing is written. */
static void test_empty(void **state)
{
    (void)state;
    float bias[5] = {1.5f, -0.0f, 0.0f, -2.0f, 1e-45f}, C[15], sentinel = 42.0f;
    float A[1] = {7.0f}, B[1] = {9.0f};
    pol_gemm_args g = {3, 5, 0, 0, 0, A, B, NULL, C};
    for (int withb = 0; withb < 2; withb++) {
        g.bias = withb ? bias : NULL;
        for (int isa = 0; isa <= pol_gemm_isa_best(); isa++)
            for (int t = 0; t < 3; t++) {
                poison(C, 15);
                pol_gemm_run_isa(pools[t], &g, isa);
                for (int i = 0; i < 15; i++) {
                    float want = withb ? 0.0f + bias[i % 5] : 0.0f;
                    assert_memory_equal(&C[i], &want, 4);
                }
                /* -0 bias gives +0 */
                if (withb)
                    assert_false(signbit(C[1]));
            }
        poison(C, 15);
        pol_ref_gemm(&g);
        for (int i = 0; i < 15; i++) {
            float want = withb ? 0.0f + bias[i % 5] : 0.0f;
            assert_memory_equal(&C[i], &want, 4);
        }
    }
    pol_gemm_args e[2] = {{0, 5, 3, 0, 0, A, B, NULL, &sentinel},
                          {5, 0, 3, 1, 1, A, B, bias, &sentinel}};
    for (int q = 0; q < 2; q++) {
        pol_ref_gemm(&e[q]);
        pol_fast_gemm(pools[1], &e[q]);
        for (int isa = 0; isa <= pol_gemm_isa_best(); isa++)
            pol_gemm_run_isa(pools[2], &e[q], isa);
        assert_true(sentinel == 42.0f);
    }
}

/* All M, N in the list, all four transposes; K, bias, fill, alignment and
 * thread count rotate so the grid stays quick. */
static void test_shape_grid(void **state)
{
    (void)state;
    static const int64_t dims[] = {1, 3, 7, 13, 17, 31, 33, 65, 100};
    static const int64_t ks[] = {1, 7, 64, 255, 256, 257, 300, 513};
    const int nd = sizeof dims / sizeof dims[0], nk = sizeof ks / sizeof ks[0];
    int q = 0;
    for (int a = 0; a < nd; a++)
        for (int b = 0; b < nd; b++)
            for (int tr = 0; tr < 4; tr++, q++)
                run_one(dims[a], dims[b], ks[(q + a) % nk], tr & 1, tr >> 1, q & 1,
                        q % 3 == 0 ? FILL_AWKWARD : FILL_UNIFORM, q % 5 == 0,
                        1u << (q % 3));
}

/* Shapes past the cache blocks (several MC row blocks and NC column blocks,
 * many chunks) on every thread count. */
static void test_large(void **state)
{
    (void)state;
    run_one(129, 67, 600, 0, 0, 1, FILL_UNIFORM, 0, 7);
    run_one(129, 67, 600, 1, 1, 0, FILL_AWKWARD, 1, 7);
    run_one(350, 1030, 40, 0, 1, 1, FILL_UNIFORM, 0, 7);
    run_one(37, 530, 700, 1, 0, 1, FILL_AWKWARD, 0, 7);
    run_one(700, 3, 300, 0, 0, 0, FILL_UNIFORM, 1, 7);
}

/* Infinities and overflow: the NaNs they make are the default NaN on every
 * path, so the bits still agree. */
static void test_specials(void **state)
{
    (void)state;
    for (int tr = 0; tr < 4; tr++)
        run_one(45, 37, 520, tr & 1, tr >> 1, tr & 1, FILL_SPECIAL, 0, 7);
}

/* An independent spelling of A-RED-2, written from the spec text: chunk q
 * covers k in [q*KC, min((q+1)*KC, K)); chunk sums are fma chains from +0;
 * the total is +0 plus the chunk sums left to right, then the bias. */
static float spec_dot(const pol_gemm_args *g, int64_t i, int64_t j)
{
    const int64_t KC = 256; /* spec value, deliberately not POL_KC */
    int64_t nchunks = (g->K + KC - 1) / KC;
    float total = 0.0f;
    for (int64_t q = 0; q < nchunks; q++) {
        int64_t lo = q * KC, hi = lo + KC < g->K ? lo + KC : g->K;
        assert_true(hi - lo >= 1 && hi - lo <= KC);
        float s = 0.0f;
        for (int64_t k = lo; k < hi; k++) {
            float a = g->trans_a ? g->A[k * g->M + i] : g->A[i * g->K + k];
            float b = g->trans_b ? g->B[j * g->K + k] : g->B[k * g->N + j];
            s = fmaf(a, b, s);
        }
        total = total + s;
    }
    if (g->bias)
        total = total + g->bias[j];
    return total;
}

/* The reference follows the canonical order, not just some order: it matches
 * spec_dot everywhere, a single unchunked fma chain differs somewhere, and a
 * hand-made case gives the value only chunking gives. */
static void test_canonical_order(void **state)
{
    (void)state;
    assert_int_equal(POL_KC, 256);
    for (int tr = 0; tr < 4; tr++) {
        gcase c;
        case_init(&c, 24, 40, 700, tr & 1, tr >> 1, tr >> 1, FILL_UNIFORM, 0);
        pol_ref_gemm(&c.g);
        long naive_diffs = 0;
        for (int64_t i = 0; i < c.g.M; i++)
            for (int64_t j = 0; j < c.g.N; j++) {
                float want = spec_dot(&c.g, i, j), got = c.g.C[i * c.g.N + j];
                assert_memory_equal(&want, &got, 4);
                float s = 0.0f; /* one chain over all of K */
                for (int64_t k = 0; k < c.g.K; k++) {
                    float a = c.g.trans_a ? c.g.A[k * c.g.M + i] : c.g.A[i * c.g.K + k];
                    float b = c.g.trans_b ? c.g.B[j * c.g.K + k] : c.g.B[k * c.g.N + j];
                    s = fmaf(a, b, s);
                }
                if (c.g.bias)
                    s = s + c.g.bias[j];
                naive_diffs += memcmp(&s, &got, 4) != 0;
            }
        assert_true(naive_diffs > 0);
        case_free(&c);
    }

    /* K = 258, A = 1: chunk 0 is 2^24 then 255 zeros, chunk 1 is 1 + 1.
     * Canonical: 2^24 + (1 + 1) = 2^24 + 2. One chain: (2^24 + 1) + 1 rounds
     * to even twice and stays 2^24. */
    float A[258], B[258], C;
    for (int k = 0; k < 258; k++) {
        A[k] = 1.0f;
        B[k] = k == 0 ? 16777216.0f : k >= 256 ? 1.0f : 0.0f;
    }
    pol_gemm_args g = {1, 1, 258, 0, 0, A, B, NULL, &C};
    pol_ref_gemm(&g);
    assert_true(C == 16777218.0f);
    for (int isa = 0; isa <= pol_gemm_isa_best(); isa++) {
        C = 0.0f;
        pol_gemm_run_isa(NULL, &g, isa);
        assert_true(C == 16777218.0f);
    }
    /* The first chunk is added to +0: a product of -0 gives +0, not -0. */
    float an = -0.0f, bp = 1.0f, bias0 = -0.0f;
    pol_gemm_args z = {1, 1, 1, 0, 0, &an, &bp, &bias0, &C};
    for (int isa = -1; isa <= pol_gemm_isa_best(); isa++) {
        C = -1.0f;
        if (isa < 0)
            pol_ref_gemm(&z);
        else
            pol_gemm_run_isa(NULL, &z, isa);
        assert_true(C == 0.0f && !signbit(C));
    }
}

/* The public entry point uses the active path and its name is a real one. */
static void test_dispatch(void **state)
{
    (void)state;
    const char *name = pol_fast_gemm_isa();
    int active = pol_gemm_isa_active();
    assert_string_equal(name, pol_gemm_isa_name(active));
    assert_true(active <= pol_gemm_isa_best());
    const char *env = getenv("POL_GEMM_ISA");
    if (env)
        for (int i = 0; i < POL_GEMM_ISA_COUNT; i++)
            if (!strcmp(env, pol_gemm_isa_name(i)))
                assert_true(active <= i);
    fprintf(stderr, "gemm: best path %s, active %s\n", pol_gemm_isa_name(pol_gemm_isa_best()),
            name);
    gcase c;
    case_init(&c, 50, 70, 300, 0, 1, 1, FILL_UNIFORM, 0);
    size_t n = (size_t)(c.g.M * c.g.N);
    float *want = malloc(n * sizeof(float));
    assert_non_null(want);
    pol_ref_gemm(&c.g);
    memcpy(want, c.g.C, n * sizeof(float));
    poison(c.g.C, n);
    pol_fast_gemm(pools[1], &c.g);
    assert_int_equal(tu_first_bit_diff(want, c.g.C, n), -1);
    free(want);
    case_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_canonical_order),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_tiny_and_k_edges),
        cmocka_unit_test(test_shape_grid),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_specials),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
