/* Wire formats: certificate and report encodings, hostile input
 * (spec/wire.md). Test names cite the spec ids they prove. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pol.pb-c.h"
#include "pol/wire.h"
#include "testutil.h"

static tu_rng R;

static int setup(void **st)
{
    (void)st;
    tu_rng_init(&R, tu_seed());
    return 0;
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)tu_next(&R);
}

static void random_cert(pol_cert *c, size_t n)
{
    assert_int_equal(pol_cert_alloc(c, n), POL_OK);
    fill(c->task_id.b, 32);
    fill(c->solver_key, 32);
    c->mode = 1 + (uint32_t)(tu_next(&R) & 1);
    c->spec_version = (uint32_t)(tu_next(&R) % 5);
    snprintf(c->device, sizeof c->device, "cpu avx512 x%u", (unsigned)(tu_next(&R) % 64));
    c->checkpoint_every = 1 + tu_next(&R) % 100;
    for (size_t i = 0; i < n; i++) {
        c->ckpt_steps[i] = i * c->checkpoint_every;
        fill(c->ckpt_hashes[i].b, 32);
    }
    c->steps = c->ckpt_steps[n - 1];
    for (size_t i = 0; i + 1 < n; i++)
        c->update_norms[i] = (double)tu_uniform(&R, 0.0f, 10.0f);
    fill(c->ckpt_root.b, 32);
    c->final_state_hash = c->ckpt_hashes[n - 1];
    c->has_parent = (int)(tu_next(&R) & 1);
    if (c->has_parent)
        fill(c->parent_id.b, 32);
}

static void assert_cert_equal(const pol_cert *a, const pol_cert *b)
{
    assert_memory_equal(a->task_id.b, b->task_id.b, 32);
    assert_memory_equal(a->solver_key, b->solver_key, 32);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->spec_version, b->spec_version);
    assert_string_equal(a->device, b->device);
    assert_int_equal(a->checkpoint_every, b->checkpoint_every);
    assert_int_equal(a->steps, b->steps);
    assert_int_equal(a->n_checkpoints, b->n_checkpoints);
    assert_memory_equal(a->ckpt_steps, b->ckpt_steps, a->n_checkpoints * sizeof(uint64_t));
    assert_memory_equal(a->ckpt_hashes, b->ckpt_hashes, a->n_checkpoints * sizeof(pol_digest));
    assert_memory_equal(a->update_norms, b->update_norms,
                        (a->n_checkpoints - 1) * sizeof(double));
    assert_memory_equal(a->ckpt_root.b, b->ckpt_root.b, 32);
    assert_memory_equal(a->final_state_hash.b, b->final_state_hash.b, 32);
    assert_int_equal(a->has_parent, b->has_parent);
    if (a->has_parent)
        assert_memory_equal(a->parent_id.b, b->parent_id.b, 32);
}

static void random_report(pol_report *r, size_t n)
{
    memset(r, 0, sizeof *r);
    fill(r->cert_id.b, 32);
    fill(r->task_id.b, 32);
    fill(r->verifier_key, 32);
    fill(r->beacon, 32);
    r->n_intervals = n;
    r->intervals = calloc(n ? n : 1, sizeof *r->intervals);
    assert_non_null(r->intervals);
    for (size_t i = 0; i < n; i++) {
        r->intervals[i].index = tu_next(&R) % 1000;
        r->intervals[i].reason = 1 + (uint32_t)(tu_next(&R) % 3);
        r->intervals[i].result = 1 + (uint32_t)(tu_next(&R) % 3);
        r->intervals[i].distance = (tu_next(&R) & 1) ? (double)tu_uniform(&R, 0, 1) : 0.0;
        r->intervals[i].threshold = (double)tu_uniform(&R, 0, 1);
    }
    r->verdict = (tu_next(&R) & 1) ? POL_VERDICT_ACCEPT : POL_VERDICT_REJECT;
    if (r->verdict == POL_VERDICT_REJECT) {
        r->has_failure = 1;
        r->failing_interval = tu_next(&R) % 1000;
        fill(r->expected_hash.b, 32);
        fill(r->recomputed_hash.b, 32);
        snprintf(r->reason, sizeof r->reason, "interval %llu: end state differs",
                 (unsigned long long)r->failing_interval);
    }
    r->cost_fraction = (double)tu_uniform(&R, 0, 0.1f);
    r->detect_p[0] = 0.25;
    r->detect_p[1] = 0.99;
    r->detect_p[2] = 1.0;
}

static void assert_report_equal(const pol_report *a, const pol_report *b)
{
    assert_memory_equal(a->cert_id.b, b->cert_id.b, 32);
    assert_memory_equal(a->task_id.b, b->task_id.b, 32);
    assert_memory_equal(a->verifier_key, b->verifier_key, 32);
    assert_memory_equal(a->beacon, b->beacon, 32);
    assert_int_equal(a->verdict, b->verdict);
    assert_int_equal(a->n_intervals, b->n_intervals);
    if (a->n_intervals)
        assert_memory_equal(a->intervals, b->intervals, a->n_intervals * sizeof *a->intervals);
    assert_int_equal(a->has_failure, b->has_failure);
    assert_int_equal(a->failing_interval, b->failing_interval);
    assert_memory_equal(a->expected_hash.b, b->expected_hash.b, 32);
    assert_memory_equal(a->recomputed_hash.b, b->recomputed_hash.b, 32);
    assert_memory_equal(&a->cost_fraction, &b->cost_fraction, sizeof(double));
    assert_memory_equal(a->detect_p, b->detect_p, sizeof a->detect_p);
    assert_string_equal(a->reason, b->reason);
}

/* ------------------------------------------------------------ round trips */

/* [W-CERT-1] [W-CANON-2] round trip, deterministic encoding */
static void test_cert_round_trip(void **st)
{
    (void)st;
    static const size_t sizes[] = {2, 3, 17, 1000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        pol_cert c, d;
        uint8_t *buf, *buf2;
        size_t len, len2;
        random_cert(&c, sizes[k]);
        assert_int_equal(pol_cert_encode(&c, &buf, &len), POL_OK);
        assert_int_equal(pol_cert_decode(buf, len, &d), POL_OK);
        assert_cert_equal(&c, &d);
        assert_int_equal(pol_cert_encode(&d, &buf2, &len2), POL_OK);
        assert_int_equal(len, len2);
        assert_memory_equal(buf, buf2, len);
        free(buf);
        free(buf2);
        pol_cert_free(&c);
        pol_cert_free(&d);
    }
}

/* [W-REPORT-1] */
static void test_report_round_trip(void **st)
{
    (void)st;
    for (size_t n = 0; n < 40; n += 7) {
        pol_report r, d;
        uint8_t *buf, *buf2;
        size_t len, len2;
        random_report(&r, n);
        assert_int_equal(pol_report_encode(&r, &buf, &len), POL_OK);
        if (pol_report_decode(buf, len, &d) != POL_OK)
            fail_msg("decode: %s", pol_last_error());
        assert_report_equal(&r, &d);
        assert_int_equal(pol_report_encode(&d, &buf2, &len2), POL_OK);
        assert_int_equal(len, len2);
        assert_memory_equal(buf, buf2, len);
        free(buf);
        free(buf2);
        pol_report_free(&r);
        pol_report_free(&d);
    }
}

static void test_encoder_refuses_invalid(void **st)
{
    (void)st;
    pol_cert c;
    uint8_t *buf;
    size_t len;
    random_cert(&c, 3);
    c.update_norms[1] = 0.0 / 0.0;
    assert_int_equal(pol_cert_encode(&c, &buf, &len), POL_ERR_INVALID_ARG);
    assert_null(buf);
    c.update_norms[1] = 1;
    c.device[0] = '\n';
    assert_int_equal(pol_cert_encode(&c, &buf, &len), POL_ERR_INVALID_ARG);
    pol_cert_free(&c);

    pol_report r;
    random_report(&r, 2);
    r.verdict = 7;
    assert_int_equal(pol_report_encode(&r, &buf, &len), POL_ERR_INVALID_ARG);
    r.verdict = POL_VERDICT_ACCEPT;
    r.has_failure = 0;
    r.detect_p[1] = 1.5;
    assert_int_equal(pol_report_encode(&r, &buf, &len), POL_ERR_INVALID_ARG);
    r.detect_p[1] = 0.5;
    r.intervals[0].reason = 0;
    assert_int_equal(pol_report_encode(&r, &buf, &len), POL_ERR_INVALID_ARG);
    r.intervals[0].reason = POL_PICK_TOPQ;
    r.verdict = POL_VERDICT_REJECT;
    r.reason[0] = '\0';
    assert_int_equal(pol_report_encode(&r, &buf, &len), POL_ERR_INVALID_ARG);
    pol_report_free(&r);
}

/* ------------------------------------------------------- hostile input */

static int is_clean_error(pol_status s)
{
    return (s == POL_ERR_FORMAT || s == POL_ERR_NOMEM || s == POL_ERR_TOO_LARGE) &&
           pol_last_error()[0] != '\0';
}

/* Decodes p[0..n) as a certificate (is_cert) or a report. The outcome must be
 * a clean error, or a value whose canonical encoding is exactly p. */
static void check_decode(const uint8_t *p, size_t n, int is_cert, const char *what, size_t where)
{
    pol_cert c;
    pol_report r;
    uint8_t *re = NULL;
    size_t re_len = 0;
    pol_clear_error();
    pol_status s = is_cert ? pol_cert_decode(p, n, &c) : pol_report_decode(p, n, &r);
    if (s == POL_OK) {
        pol_status e = is_cert ? pol_cert_encode(&c, &re, &re_len) : pol_report_encode(&r, &re, &re_len);
        if (e != POL_OK || re_len != n || memcmp(re, p, n) != 0)
            fail_msg("%s %zu: accepted, but not the canonical encoding of what it decoded", what,
                     where);
        free(re);
        if (is_cert)
            pol_cert_free(&c);
        else
            pol_report_free(&r);
    } else if (!is_clean_error(s)) {
        fail_msg("%s %zu: %s (%s)", what, where, pol_strerror(s), pol_last_error());
    }
}

/* Every prefix and every 1-bit flip: a clean error or a different value
 * (whose canonical encoding is then exactly the changed bytes). Buffers are
 * allocated at their exact size so ASan catches any overread. [W-CANON-1] */
static void hostile(const uint8_t *buf, size_t len, int is_cert)
{
    for (size_t k = 0; k < len; k++) {
        uint8_t *p = malloc(k ? k : 1);
        memcpy(p, buf, k);
        check_decode(p, k, is_cert, "truncated to", k);
        free(p);
    }
    uint8_t *p = malloc(len);
    for (size_t bit = 0; bit < len * 8; bit++) {
        memcpy(p, buf, len);
        p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        check_decode(p, len, is_cert, "flipped bit", bit);
    }
    free(p);
}

static void test_cert_hostile(void **st)
{
    (void)st;
    pol_cert c;
    uint8_t *buf;
    size_t len;
    random_cert(&c, 3);
    assert_int_equal(pol_cert_encode(&c, &buf, &len), POL_OK);
    hostile(buf, len, 1);
    free(buf);
    pol_cert_free(&c);
}

static void test_report_hostile(void **st)
{
    (void)st;
    pol_report r;
    uint8_t *buf;
    size_t len;
    random_report(&r, 3);
    assert_int_equal(pol_report_encode(&r, &buf, &len), POL_OK);
    hostile(buf, len, 0);
    free(buf);
    pol_report_free(&r);
}

/* [W-CAP-1] */
static void test_oversized(void **st)
{
    (void)st;
    uint8_t *big = calloc(POL_WIRE_MAX_CERT + (size_t)1, 1);
    assert_non_null(big);
    pol_cert c;
    pol_report r;
    assert_int_equal(pol_cert_decode(big, POL_WIRE_MAX_CERT + (size_t)1, &c), POL_ERR_TOO_LARGE);
    assert_int_equal(pol_report_decode(big, POL_WIRE_MAX_REPORT + (size_t)1, &r),
                     POL_ERR_TOO_LARGE);
    assert_non_null(strstr(pol_last_error(), "cap"));
    free(big);
}

/* [W-CAP-2] a message that would need far more memory than its size. */
static void test_budget(void **st)
{
    (void)st;
    const size_t n = 100000;
    uint8_t *buf = malloc(2 * n);
    for (size_t i = 0; i < n; i++) { /* field 9 (ckpt_hashes), empty bytes */
        buf[2 * i] = 9 << 3 | 2;
        buf[2 * i + 1] = 0;
    }
    pol_cert c;
    assert_int_equal(pol_cert_decode(buf, 2 * n, &c), POL_ERR_NOMEM);
    assert_non_null(strstr(pol_last_error(), "budget"));
    free(buf);
}

/* [W-UNKNOWN-1] */
static void test_unknown_field(void **st)
{
    (void)st;
    pol_cert c, d;
    uint8_t *buf;
    size_t len;
    random_cert(&c, 4);
    assert_int_equal(pol_cert_encode(&c, &buf, &len), POL_OK);
    uint8_t *p = malloc(len + 3);
    memcpy(p, buf, len);
    p[len] = 0x98; /* field 99, varint: tag 99 << 3 = 792 = 0x98 0x06 */
    p[len + 1] = 0x06;
    p[len + 2] = 0x01;
    assert_int_equal(pol_cert_decode(p, len + 3, &d), POL_ERR_FORMAT);
    assert_non_null(strstr(pol_last_error(), "unknown field"));
    free(p);
    free(buf);
    pol_cert_free(&c);

    /* nested: an unknown field inside an IntervalResult */
    uint8_t b32[32] = {1};
    uint8_t val = 1;
    ProtobufCMessageUnknownField uf = {99, PROTOBUF_C_WIRE_TYPE_VARINT, 1, &val};
    Pol__V1__IntervalResult iv = POL__V1__INTERVAL_RESULT__INIT;
    iv.reason = 1;
    iv.result = 1;
    iv.base.n_unknown_fields = 1;
    iv.base.unknown_fields = &uf;
    Pol__V1__IntervalResult *ivp = &iv;
    Pol__V1__VerificationReport m = POL__V1__VERIFICATION_REPORT__INIT;
    m.certificate_id = (ProtobufCBinaryData){32, b32};
    m.task_id = m.certificate_id;
    m.verifier_key = m.certificate_id;
    m.beacon = m.certificate_id;
    m.verdict = 1;
    m.n_intervals = 1;
    m.intervals = &ivp;
    len = protobuf_c_message_get_packed_size(&m.base);
    buf = malloc(len);
    protobuf_c_message_pack(&m.base, buf);
    pol_report r;
    assert_int_equal(pol_report_decode(buf, len, &r), POL_ERR_FORMAT);
    assert_non_null(strstr(pol_last_error(), "unknown field"));
    /* the same without the unknown field decodes */
    iv.base.n_unknown_fields = 0;
    iv.base.unknown_fields = NULL;
    free(buf);
    len = protobuf_c_message_get_packed_size(&m.base);
    buf = malloc(len);
    protobuf_c_message_pack(&m.base, buf);
    assert_int_equal(pol_report_decode(buf, len, &r), POL_OK);
    pol_report_free(&r);
    free(buf);
}

/* [W-CERT-2] hashes and keys of the wrong length */
static void test_wrong_length_hash(void **st)
{
    (void)st;
    uint8_t b32[33] = {1, 2, 3};
    uint64_t steps[2] = {0, 1};
    double norm = 1;
    ProtobufCBinaryData hashes[2] = {{32, b32}, {32, b32}};
    Pol__V1__Certificate m = POL__V1__CERTIFICATE__INIT;
    m.task_id = (ProtobufCBinaryData){32, b32};
    m.solver_key = m.task_id;
    m.ckpt_root = m.task_id;
    m.final_state_hash = m.task_id;
    m.n_ckpt_steps = 2;
    m.ckpt_steps = steps;
    m.n_ckpt_hashes = 2;
    m.ckpt_hashes = hashes;
    m.n_update_norms = 1;
    m.update_norms = &norm;
    uint8_t buf[512];
    pol_cert c;
    size_t len = protobuf_c_message_pack(&m.base, buf);
    assert_int_equal(pol_cert_decode(buf, len, &c), POL_OK);
    pol_cert_free(&c);
    static const size_t bad[] = {0, 31, 33};
    for (size_t k = 0; k < 3; k++) {
        m.task_id.len = bad[k];
        len = protobuf_c_message_pack(&m.base, buf);
        assert_int_equal(pol_cert_decode(buf, len, &c), POL_ERR_FORMAT);
        assert_non_null(strstr(pol_last_error(), "task_id"));
        m.task_id.len = 32;
        hashes[1].len = bad[k];
        len = protobuf_c_message_pack(&m.base, buf);
        assert_int_equal(pol_cert_decode(buf, len, &c), POL_ERR_FORMAT);
        hashes[1].len = 32;
        m.parent_id = (ProtobufCBinaryData){bad[k] ? bad[k] : 1, b32};
        len = protobuf_c_message_pack(&m.base, buf);
        assert_int_equal(pol_cert_decode(buf, len, &c), POL_ERR_FORMAT);
        m.parent_id.len = 0;
    }
    /* counts that disagree [W-CERT-3] */
    m.n_update_norms = 0;
    len = protobuf_c_message_pack(&m.base, buf);
    assert_int_equal(pol_cert_decode(buf, len, &c), POL_ERR_FORMAT);
    m.n_update_norms = 1;
    m.n_ckpt_steps = 1;
    len = protobuf_c_message_pack(&m.base, buf);
    assert_int_equal(pol_cert_decode(buf, len, &c), POL_ERR_FORMAT);
    m.n_ckpt_steps = 2;
    norm = 1.0 / 0.0;
    len = protobuf_c_message_pack(&m.base, buf);
    assert_int_equal(pol_cert_decode(buf, len, &c), POL_ERR_FORMAT);
}

/* [W-CANON-1] valid protobuf that is not the canonical encoding */
static void test_non_canonical(void **st)
{
    (void)st;
    pol_cert c, d;
    uint8_t *buf;
    size_t len;
    random_cert(&c, 2);
    c.mode = 1;
    assert_int_equal(pol_cert_encode(&c, &buf, &len), POL_OK);
    /* a default value written out: field 4 (spec_version) = 0 appended */
    uint8_t *p = malloc(len + 2);
    memcpy(p, buf, len);
    p[len] = 4 << 3;
    p[len + 1] = 0;
    assert_int_equal(pol_cert_decode(p, len + 2, &d), POL_ERR_FORMAT);
    /* field 3 (mode) repeated at the end: protobuf parsers take the last */
    p[len] = 3 << 3;
    p[len + 1] = 1;
    assert_int_equal(pol_cert_decode(p, len + 2, &d), POL_ERR_FORMAT);
    assert_non_null(strstr(pol_last_error(), "canonical"));
    free(p);
    free(buf);
    pol_cert_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cert_round_trip),
        cmocka_unit_test(test_report_round_trip),
        cmocka_unit_test(test_encoder_refuses_invalid),
        cmocka_unit_test(test_cert_hostile),
        cmocka_unit_test(test_report_hostile),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_unknown_field),
        cmocka_unit_test(test_wrong_length_hash),
        cmocka_unit_test(test_non_canonical),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
