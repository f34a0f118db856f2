/* The context refuses a non-canonical floating-point environment (spec
 * A-FP-*): flush-to-zero, denormals-are-zero, directed rounding. */
#include <fenv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include "pol/context.h"
#include "pol/version.h"

static void test_version(void **st)
{
    (void)st;
    assert_int_equal(pol_version(), POL_VERSION_NUMBER);
    assert_string_equal(pol_version_string(), POL_VERSION_STRING);
}

static void test_canonical_env_accepted(void **st)
{
    (void)st;
    pol_ctx *ctx;
    assert_int_equal(pol_check_fpenv(), POL_OK);
    assert_int_equal(pol_ctx_create(&ctx, NULL), POL_OK);
    pol_ctx_destroy(ctx);
}

static void test_rounding_mode_refused(void **st)
{
    (void)st;
    static const int modes[] = { FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        assert_int_equal(fesetround(modes[i]), 0);
        pol_ctx *ctx = (pol_ctx *)&ctx;
        pol_status s = pol_ctx_create(&ctx, NULL);
        fesetround(FE_TONEAREST);
        assert_int_equal(s, POL_ERR_FPENV);
        assert_null(ctx);
        assert_non_null(strstr(pol_last_error(), "round"));
    }
}

static void test_ftz_daz_refused(void **st)
{
    (void)st;
#if defined(__x86_64__) || defined(__i386__)
    const unsigned keep = _mm_getcsr();
    _mm_setcsr(keep | 0x8000u); /* FTZ */
    pol_status s = pol_check_fpenv();
    _mm_setcsr(keep);
    assert_int_equal(s, POL_ERR_FPENV);
    assert_non_null(strstr(pol_last_error(), "flush-to-zero"));
    _mm_setcsr(keep | 0x0040u); /* DAZ */
    s = pol_check_fpenv();
    _mm_setcsr(keep);
    assert_int_equal(s, POL_ERR_FPENV);
    assert_non_null(strstr(pol_last_error(), "denormals-are-zero"));
#else
    skip();
#endif
}

/* pol_errorf may wrap the message before it (its argument is the very
 * buffer it writes). */
static void test_error_wraps_itself(void **st)
{
    (void)st;
    assert_int_equal(pol_errorf(POL_ERR_IO, "inner %d", 7), POL_ERR_IO);
    assert_int_equal(pol_errorf(POL_ERR_FORMAT, "outer: %s", pol_last_error()), POL_ERR_FORMAT);
    assert_string_equal(pol_last_error(), "outer: inner 7");
    assert_int_equal(pol_errorf(POL_ERR_FORMAT, "%s; and more", pol_last_error()), POL_ERR_FORMAT);
    assert_string_equal(pol_last_error(), "outer: inner 7; and more");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_error_wraps_itself),
        cmocka_unit_test(test_canonical_env_accepted),
        cmocka_unit_test(test_rounding_mode_refused),
        cmocka_unit_test(test_ftz_daz_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
