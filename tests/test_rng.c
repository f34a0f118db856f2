/* Counter-based random numbers (pol/rng.h, spec/arithmetic.md A-RNG-*).
 *
 * Philox4x32 known answers are the "philox4x32 7" and "philox4x32 10" lines
 * of tests/kat_vectors in the Random123 distribution (D. E. Shaw Research,
 * github.com/DEShawResearch/random123): columns counter[4], key[2],
 * expected[4]. The pinned draws and permutation below are the worked
 * examples of spec/arithmetic.md; a change to them is a change of the spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "pol/rng.h"
#include "testutil.h"

static tu_rng R;

static int setup(void **st)
{
    (void)st;
    tu_rng_init(&R, tu_seed());
    return 0;
}

/* A-RNG-PHILOX */
static void test_philox_known_answers(void **st)
{
    (void)st;
    static const struct {
        int rounds;
        uint32_t ctr[4], key[2], out[4];
    } kat[] = {
        {7, {0, 0, 0, 0}, {0, 0}, {0x5f6fb709, 0x0d893f64, 0x4f121f81, 0x4f730a48}},
        {7,
         {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x5207ddc2, 0x45165e59, 0x4d8ee751, 0x8c52f662}},
        {7,
         {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0x4dfccaba, 0x190a87f0, 0xc47362ba, 0xb6b5242a}},
        {10, {0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {10,
         {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {10,
         {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint32_t out[4];
        pol_philox4x32(kat[i].rounds, kat[i].ctr, kat[i].key, out);
        for (int w = 0; w < 4; w++)
            if (out[w] != kat[i].out[w])
                fail_msg("philox4x32-%d vector %zu word %d: got %08x, want %08x", kat[i].rounds,
                         i, w, out[w], kat[i].out[w]);
        if (kat[i].rounds == 10) {
            pol_philox4x32_10(kat[i].ctr, kat[i].key, out);
            assert_memory_equal(out, kat[i].out, sizeof out);
        }
    }
}

/* A-RNG-DRAW: the mapping of (seed, stream, step, index) onto Philox. */
static void test_draw_layout(void **st)
{
    (void)st;
    for (int i = 0; i < 20000; i++) {
        uint64_t seed = tu_next(&R);
        uint32_t stream = (uint32_t)tu_next(&R), step = (uint32_t)tu_next(&R);
        uint64_t index = tu_next(&R) >> (tu_next(&R) & 63);
        uint64_t block = index >> 2;
        uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
        uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), step, stream};
        uint32_t w[4], v[4];
        pol_philox4x32_10(ctr, key, w);
        assert_int_equal(pol_rng_u32(seed, stream, step, index), w[index & 3]);
        pol_rng_block(seed, stream, step, block, v);
        assert_memory_equal(v, w, sizeof v);
    }
    /* index bits above 34 reach the second counter word */
    assert_int_not_equal(pol_rng_u32(1, POL_STREAM_INIT, 0, 0),
                         pol_rng_u32(1, POL_STREAM_INIT, 0, 1ull << 34));
    /* stream and step are separate counter words */
    assert_int_not_equal(pol_rng_u32(1, 1, 2, 7), pol_rng_u32(1, 2, 1, 7));
}

/* Worked examples of the spec (A-RNG-EXAMPLES). */
static void test_pinned_draws(void **st)
{
    (void)st;
    static const struct {
        uint64_t seed;
        uint32_t stream, step;
        uint64_t index;
        uint32_t want;
    } ex[] = {
{0x0ull, 1, 0u, 0x0ull, 0x2dce73e5u},
        {0x0ull, 1, 0u, 0x1ull, 0x1348e23fu},
        {0x0ull, 1, 0u, 0x2ull, 0xfcf8e0ecu},
        {0x0ull, 1, 0u, 0x3ull, 0xa287aadbu},
        {0x0ull, 1, 0u, 0x4ull, 0xe9535be3u},
        {42, 1, 0u, 0x0ull, 0x20439b04u},
        {42, 1, 1u, 0x0ull, 0x4d4512a7u},
        {42, 2, 0u, 0x5ull, 0xd58ce9beu},
        {0xffffffffffffffffull, 3, 0xffffffffu, 0xffffffffffffffffull, 0x833c3b21u},
        {0x0123456789abcdefull, 2, 3u, 0x400000000ull, 0xb82ea4e2u},
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        uint32_t got = pol_rng_u32(ex[i].seed, ex[i].stream, ex[i].step, ex[i].index);
        if (got != ex[i].want)
            fail_msg("draw %zu: got %08x, want %08x", i, got, ex[i].want);
    }
    float u = pol_rng_uniform(42, POL_STREAM_INIT, 0, 0, -0.25f, 0.25f);
    uint32_t ub;
    memcpy(&ub, &u, 4);
    if (ub != 0xbe3f78cau /* -0x1.7ef194p-3 */)
        fail_msg("uniform example: got %08x (%a)", ub, (double)u);
}

/* A-RNG-UNIT */
static void test_unit_float(void **st)
{
    (void)st;
    assert_true(pol_u32_to_unit(0) == 0.0f);
    assert_true(pol_u32_to_unit(0xff) == 0.0f);
    assert_true(pol_u32_to_unit(0x100) == 0x1p-24f);
    assert_true(pol_u32_to_unit(0x80000000u) == 0.5f);
    assert_true(pol_u32_to_unit(0xffffffffu) == 1.0f - 0x1p-24f);
    for (int i = 0; i < 100000; i++) {
        uint32_t u = (uint32_t)tu_next(&R);
        float f = pol_u32_to_unit(u);
        assert_true(f >= 0.0f && f < 1.0f);
        assert_true((uint32_t)(f * 0x1p24f) == u >> 8); /* exact */
    }
}

/* A-RNG-UNIFORM */
static void test_uniform(void **st)
{
    (void)st;
    const uint64_t seed = tu_next(&R);
    const int n = 200000;
    const float lo = -0.0625f, hi = 0.0625f;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        float x = pol_rng_uniform(seed, POL_STREAM_INIT, 3, (uint64_t)i, lo, hi);
        assert_true(x >= lo && x <= hi);
        /* the definition, written out */
        float u = pol_u32_to_unit(pol_rng_u32(seed, POL_STREAM_INIT, 3, (uint64_t)i));
        float want = lo + (hi - lo) * u;
        assert_memory_equal(&x, &want, 4);
        sum += x;
        sum2 += (double)x * x;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    double sd_want = (hi - lo) / sqrt(12.0);
    /* 8 standard errors: a false failure is far less likely than 1e-9 */
    assert_true(fabs(mean) < 8 * sd_want / sqrt((double)n));
    assert_true(fabs(sqrt(var) - sd_want) < 0.01 * sd_want);
    /* lo + (hi - lo)*u can round up to hi: the documented closed interval */
    float big = pol_fadd(1.0f, pol_fmul(pol_fsub(2.0f, 1.0f), 1.0f - 0x1p-24f));
    assert_true(big == 2.0f);
}

/* Lemire's method, written out independently, for comparison. */
static uint32_t bounded_model(uint64_t seed, uint32_t stream, uint32_t step, uint64_t *c,
                              uint32_t range, int *draws)
{
    uint32_t threshold = (uint32_t)((((uint64_t)1 << 32) - range) % range);
    for (*draws = 1;; (*draws)++) {
        uint64_t m = (uint64_t)pol_rng_u32(seed, stream, step, (*c)++) * range;
        if ((uint32_t)m >= threshold)
            return (uint32_t)(m >> 32);
    }
}

/* A-RNG-BOUNDED: exact behaviour, including the rejection path. */
static void test_bounded_exact(void **st)
{
    (void)st;
    const uint64_t seed = tu_next(&R);
    /* range 2^31 + 1 rejects almost half the words: t = 2^31 - 1 */
    const uint32_t ranges[] = {1, 2, 3, 7, 1000, 0x80000001u, 0xfffffffbu, 0xffffffffu};
    int saw_reject = 0;
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        uint64_t c1 = 0, c2 = 0;
        for (int i = 0; i < 5000; i++) {
            int draws;
            uint32_t want = bounded_model(seed, POL_STREAM_PERM, 9, &c2, ranges[r], &draws);
            uint32_t got = pol_rng_bounded(seed, POL_STREAM_PERM, 9, &c1, ranges[r]);
            assert_int_equal(got, want);
            assert_true(got < ranges[r]);
            assert_int_equal(c1, c2);
            if (draws > 1)
                saw_reject++;
        }
    }
    assert_true(saw_reject > 1000); /* the rejection path ran (range 2^31 + 1) */
    /* range 1: always 0, one word each */
    uint64_t c = 5;
    assert_int_equal(pol_rng_bounded(seed, 2, 0, &c, 1), 0);
    assert_int_equal(c, 6);
    /* range 0: 0, nothing drawn */
    assert_int_equal(pol_rng_bounded(seed, 2, 0, &c, 0), 0);
    assert_int_equal(c, 6);
    /* a word whose low product half is below the threshold is rejected:
     * find one for range 2^31 + 1 and check the next word is used instead */
    const uint32_t range = 0x80000001u, t = 0x7fffffffu;
    for (uint64_t k = 0;; k++) {
        uint32_t x = pol_rng_u32(seed, 2, 1, k);
        uint32_t l = (uint32_t)((uint64_t)x * range);
        if (l < t) {
            uint64_t ck = k;
            uint32_t got = pol_rng_bounded(seed, 2, 1, &ck, range);
            assert_true(ck >= k + 2);
            uint64_t m = (uint64_t)pol_rng_u32(seed, 2, 1, ck - 1) * range;
            assert_true((uint32_t)m >= t);
            assert_int_equal(got, (uint32_t)(m >> 32));
            break;
        }
    }
}

/* Chi-square of pol_rng_bounded on a small range. */
static void test_bounded_distribution(void **st)
{
    (void)st;
    const uint32_t range = 10;
    const int n = 200000;
    long cnt[10] = {0};
    uint64_t c = 0, seed = tu_next(&R);
    for (int i = 0; i < n; i++)
        cnt[pol_rng_bounded(seed, POL_STREAM_PERM, 0, &c, range)]++;
    double chi2 = 0, e = (double)n / range;
    for (uint32_t k = 0; k < range; k++)
        chi2 += (cnt[k] - e) * (cnt[k] - e) / e;
    printf("  bounded(10): chi-square %.2f with 9 degrees of freedom\n", chi2);
    assert_true(chi2 < 64.0); /* P(chi2_9 > 64) is about 2.3e-10 */
}

/* A-RNG-PERM */
static void test_permutation(void **st)
{
    (void)st;
    const uint32_t n = 5000;
    uint32_t *p = malloc(n * sizeof *p), *q = malloc(n * sizeof *q);
    unsigned char *seen = calloc(n, 1);
    assert_non_null(p);
    assert_non_null(q);
    assert_non_null(seen);
    uint64_t seed = tu_next(&R);
    assert_int_equal(pol_permutation(seed, 4, n, p), POL_OK);
    for (uint32_t i = 0; i < n; i++) {
        assert_true(p[i] < n);
        assert_false(seen[p[i]]);
        seen[p[i]] = 1;
    }
    /* deterministic */
    assert_int_equal(pol_permutation(seed, 4, n, q), POL_OK);
    assert_memory_equal(p, q, n * sizeof *p);
    /* the definition, written out */
    for (uint32_t i = 0; i < n; i++)
        q[i] = i;
    uint64_t c = 0;
    for (uint32_t i = n - 1; i >= 1; i--) {
        int draws;
        uint32_t j = bounded_model(seed, POL_STREAM_PERM, 4, &c, i + 1, &draws);
        uint32_t t = q[i];
        q[i] = q[j];
        q[j] = t;
    }
    assert_memory_equal(p, q, n * sizeof *p);
    /* another epoch gives another order */
    assert_int_equal(pol_permutation(seed, 5, n, q), POL_OK);
    assert_true(memcmp(p, q, n * sizeof *p) != 0);
    /* edges */
    assert_int_equal(pol_permutation(seed, 0, 0, NULL), POL_OK);
    uint32_t one = 77;
    assert_int_equal(pol_permutation(seed, 0, 1, &one), POL_OK);
    assert_int_equal(one, 0);
    assert_int_equal(pol_permutation(seed, 0, 3, NULL), POL_ERR_INVALID_ARG);
    free(p);
    free(q);
    free(seen);
}

/* All 6 orders of 3 items are about equally likely over epochs. */
static void test_permutation_uniform(void **st)
{
    (void)st;
    const int epochs = 60000;
    long cnt[6] = {0};
    uint64_t seed = tu_next(&R);
    for (int e = 0; e < epochs; e++) {
        uint32_t p[3];
        assert_int_equal(pol_permutation(seed, (uint32_t)e, 3, p), POL_OK);
        cnt[p[0] * 2 + (p[1] > p[2])]++;
    }
    double chi2 = 0, ex = epochs / 6.0;
    for (int k = 0; k < 6; k++)
        chi2 += (cnt[k] - ex) * (cnt[k] - ex) / ex;
    printf("  permutation(3): chi-square %.2f with 5 degrees of freedom\n", chi2);
    assert_true(chi2 < 55.0); /* P(chi2_5 > 55) is about 1.3e-10 */
}

static void test_pinned_permutation(void **st)
{
    (void)st;
    static const uint32_t want[16] = {0, 3, 13, 8, 12, 4, 14, 11, 9, 10, 1, 15, 7, 6, 2, 5};
    uint32_t p[16];
    assert_int_equal(pol_permutation(0x0123456789abcdefull, 3, 16, p), POL_OK);
    for (int i = 0; i < 16; i++)
        if (p[i] != want[i])
            fail_msg("permutation example position %d: got %u, want %u", i, p[i], want[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_known_answers),
        cmocka_unit_test(test_draw_layout),
        cmocka_unit_test(test_pinned_draws),
        cmocka_unit_test(test_unit_float),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_bounded_exact),
        cmocka_unit_test(test_bounded_distribution),
        cmocka_unit_test(test_permutation),
        cmocka_unit_test(test_permutation_uniform),
        cmocka_unit_test(test_pinned_permutation),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
