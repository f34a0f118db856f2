/* Wire formats: certificate, report, task and profile encodings, hostile input
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
#include "pol/hash.h"
#include "pol/keys.h"
#include "pol/profile.h"
#include "pol/task.h"
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

/* ------------------------------------------------------------------ task */

static const char TASK_JSON[] =
    "{\n"
    "  \"format\": \"libpol-task-v1\",\n"
    "  \"model\": { \"type\": \"mlp\", \"layers\": [6, 5, 3], \"activation\": \"relu\" },\n"
    "  \"dataset\": { \"path\": \"tiny.safetensors\", \"sha256\": "
    "\"7e04c78ec915dbc4db2e0f46adfaef293338b5f70a2aa5f6a9a90024ba3f0595\" },\n"
    "  \"seed\": 12345678901,\n"
    "  \"steps\": 10,\n"
    "  \"batch_size\": 40,\n"
    "  \"checkpoint_every\": 3,\n"
    "  \"optimizer\": { \"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9, \"weight_decay\": 0.001 },\n"
    "  \"mode\": \"exact\"\n"
    "}\n";

/* Packs a Task message with the given fields (no validation). */
static void pack_task(const uint8_t *json, size_t json_len, const uint8_t *id, size_t id_len,
                      uint8_t **buf, size_t *len)
{
    Pol__V1__Task m = POL__V1__TASK__INIT;
    m.task_json = (ProtobufCBinaryData){json_len, (uint8_t *)(uintptr_t)json};
    m.id = (ProtobufCBinaryData){id_len, (uint8_t *)(uintptr_t)id};
    *len = protobuf_c_message_get_packed_size(&m.base);
    *buf = malloc(*len ? *len : 1);
    assert_non_null(*buf);
    assert_int_equal(protobuf_c_message_pack(&m.base, *buf), *len);
}

/* [W-TASK-1] [W-CANON-2] the exact bytes travel; the id is SHA-256 of them
 * and agrees with the task parser's id. */
static void test_task_round_trip(void **st)
{
    (void)st;
    const uint8_t *json = (const uint8_t *)TASK_JSON;
    const size_t n = sizeof TASK_JSON - 1;
    uint8_t *buf, *buf2, *got;
    size_t len, len2, got_len;
    pol_digest id, want;
    assert_int_equal(pol_task_msg_encode(json, n, &buf, &len), POL_OK);
    assert_int_equal(pol_task_msg_encode(json, n, &buf2, &len2), POL_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);
    free(buf2);
    if (pol_task_msg_decode(buf, len, &got, &got_len, &id) != POL_OK)
        fail_msg("decode: %s", pol_last_error());
    assert_int_equal(got_len, n);
    assert_memory_equal(got, json, n);
    assert_int_equal(got[n], 0);
    assert_int_equal(pol_sha256(json, n, &want), POL_OK);
    assert_true(pol_digest_equal(&id, &want));
    pol_task t;
    assert_int_equal(pol_task_parse(got, got_len, NULL, &t), POL_OK);
    assert_true(pol_digest_equal(&t.id, &id));
    /* one changed byte of JSON (still valid JSON) is another task */
    got[strlen("{\n  \"format\": \"libpol-task-v1\",\n  \"model\": { \"type\": \"mlp\", "
               "\"layers\": [")] = '7';
    assert_int_equal(pol_task_msg_encode(got, got_len, &buf2, &len2), POL_OK);
    assert_int_equal(len, len2);
    assert_memory_not_equal(buf, buf2, len);
    free(buf2);
    free(got);
    free(buf);
}

/* [W-TASK-2] a receiver recomputes the id: a changed task or a changed id
 * is a hash mismatch, not a different task. */
static void test_task_hash_mismatch(void **st)
{
    (void)st;
    const uint8_t *json = (const uint8_t *)TASK_JSON;
    const size_t n = sizeof TASK_JSON - 1;
    pol_digest id;
    assert_int_equal(pol_sha256(json, n, &id), POL_OK);
    uint8_t *copy = malloc(n), *buf, *got = (uint8_t *)"x";
    size_t len, got_len = 9;
    pol_digest out;
    memcpy(copy, json, n);
    copy[n / 2] ^= 0x01;
    pack_task(copy, n, id.b, 32, &buf, &len);
    assert_int_equal(pol_task_msg_decode(buf, len, &got, &got_len, &out), POL_ERR_HASH_MISMATCH);
    assert_non_null(strstr(pol_last_error(), "SHA-256"));
    assert_null(got);
    assert_int_equal(got_len, 0);
    assert_true(pol_digest_equal(&out, &(pol_digest){{0}}));
    free(buf);
    id.b[31] ^= 0x80;
    pack_task(json, n, id.b, 32, &buf, &len);
    assert_int_equal(pol_task_msg_decode(buf, len, &got, &got_len, &out), POL_ERR_HASH_MISMATCH);
    free(buf);
    free(copy);
}

/* [W-TASK-3] empty, oversized and wrongly sized fields; unknown fields; caps. */
static void test_task_invalid(void **st)
{
    (void)st;
    const uint8_t *json = (const uint8_t *)TASK_JSON;
    const size_t n = sizeof TASK_JSON - 1;
    uint8_t *buf, *got;
    size_t len, got_len;
    pol_digest id, out;
    assert_int_equal(pol_sha256(json, n, &id), POL_OK);
    assert_int_equal(pol_task_msg_encode(json, 0, &buf, &len), POL_ERR_INVALID_ARG);
    assert_null(buf);
    /* the id is exactly 32 bytes [W-LEN-1] */
    static const size_t bad[] = {0, 31, 33};
    uint8_t id33[33];
    memcpy(id33, id.b, 32);
    id33[32] = 0;
    for (size_t k = 0; k < 3; k++) {
        pack_task(json, n, id33, bad[k], &buf, &len);
        assert_int_equal(pol_task_msg_decode(buf, len, &got, &got_len, &out), POL_ERR_FORMAT);
        assert_non_null(strstr(pol_last_error(), "id"));
        free(buf);
    }
    /* an empty task, with the id of the empty string */
    pol_digest e;
    assert_int_equal(pol_sha256("", 0, &e), POL_OK);
    pack_task(NULL, 0, e.b, 32, &buf, &len);
    assert_int_equal(pol_task_msg_decode(buf, len, &got, &got_len, &out), POL_ERR_FORMAT);
    free(buf);
    /* a task larger than the task cap, inside the message cap */
    const size_t big_n = POL_TASK_MAX_BYTES + (size_t)1;
    uint8_t *big = malloc(big_n);
    assert_non_null(big);
    memset(big, ' ', big_n);
    assert_int_equal(pol_task_msg_encode(big, big_n, &buf, &len), POL_ERR_TOO_LARGE);
    assert_int_equal(pol_sha256(big, big_n, &e), POL_OK);
    pack_task(big, big_n, e.b, 32, &buf, &len);
    assert_true(len <= POL_WIRE_MAX_TASK);
    assert_int_equal(pol_task_msg_decode(buf, len, &got, &got_len, &out), POL_ERR_TOO_LARGE);
    free(buf);
    /* the largest task fits [W-CAP-1] */
    assert_int_equal(pol_task_msg_encode(big, big_n - 1, &buf, &len), POL_OK);
    assert_int_equal(pol_task_msg_decode(buf, len, &got, &got_len, &out), POL_OK);
    assert_int_equal(got_len, big_n - 1);
    free(got);
    free(buf);
    assert_int_equal(pol_task_msg_decode(big, POL_WIRE_MAX_TASK + (size_t)1, &got, &got_len, &out),
                     POL_ERR_TOO_LARGE);
    free(big);
    /* [W-UNKNOWN-1] */
    assert_int_equal(pol_task_msg_encode(json, n, &buf, &len), POL_OK);
    uint8_t *p = malloc(len + 2);
    memcpy(p, buf, len);
    p[len] = 3 << 3; /* field 3, varint 1 */
    p[len + 1] = 1;
    assert_int_equal(pol_task_msg_decode(p, len + 2, &got, &got_len, &out), POL_ERR_FORMAT);
    assert_non_null(strstr(pol_last_error(), "unknown field"));
    free(p);
    free(buf);
    /* [W-CANON-1] the id written before the JSON: valid protobuf, not canonical */
    pol_digest id2;
    assert_int_equal(pol_sha256("{}", 2, &id2), POL_OK);
    uint8_t swapped[2 + 32 + 2 + 2] = {2 << 3 | 2, 32};
    memcpy(swapped + 2, id2.b, 32);
    memcpy(swapped + 34, (const uint8_t[]){1 << 3 | 2, 2, '{', '}'}, 4);
    assert_int_equal(pol_task_msg_decode(swapped, sizeof swapped, &got, &got_len, &out),
                     POL_ERR_FORMAT);
    assert_non_null(strstr(pol_last_error(), "canonical"));
    memcpy(swapped, (const uint8_t[]){1 << 3 | 2, 2, '{', '}', 2 << 3 | 2, 32}, 6);
    memcpy(swapped + 6, id2.b, 32);
    assert_int_equal(pol_task_msg_decode(swapped, sizeof swapped, &got, &got_len, &out), POL_OK);
    assert_int_equal(got_len, 2);
    free(got);
}

/* ---------------------------------------------------------- profile report */

static const char *const OPS[] = {"linear", "matmul", "bias_grad", "xent_bwd", "adamw_param"};

/* n thresholds: whole-interval ones (lengths 1.., every metric, the state
 * groups in turn) and, every third, a per-op one. */
static void random_profile(pol_profile_report *r, size_t n)
{
    memset(r, 0, sizeof *r);
    fill(r->task_id.b, 32);
    r->n_thresholds = n;
    r->thresholds = calloc(n ? n : 1, sizeof *r->thresholds);
    assert_non_null(r->thresholds);
    for (size_t i = 0; i < n; i++) {
        pol_wire_threshold *t = &r->thresholds[i];
        if (i % 3 == 2) {
            snprintf(t->op, sizeof t->op, "%s%zu", OPS[i / 3 % 5], i);
            t->metric = POL_METRIC_L2_REL;
        } else {
            t->interval_len = 1 + i / POL_METRIC_COUNT;
            t->metric = (uint32_t)(1 + i % POL_METRIC_COUNT);
            t->group = (uint32_t)(i % POL_GROUP_COUNT);
        }
        t->max_observed = (tu_next(&R) & 1) ? (double)tu_uniform(&R, 0, 1e-6f) : 0.0;
        t->threshold = t->max_observed * 4 + 0x1p-20;
        t->samples = 1 + tu_next(&R) % 100;
    }
}

static void assert_profile_equal(const pol_profile_report *a, const pol_profile_report *b)
{
    assert_memory_equal(a->task_id.b, b->task_id.b, 32);
    assert_int_equal(a->n_thresholds, b->n_thresholds);
    for (size_t i = 0; i < a->n_thresholds; i++) {
        const pol_wire_threshold *x = &a->thresholds[i], *y = &b->thresholds[i];
        assert_string_equal(x->op, y->op);
        assert_int_equal(x->interval_len, y->interval_len);
        assert_int_equal(x->metric, y->metric);
        assert_memory_equal(&x->threshold, &y->threshold, sizeof(double));
        assert_memory_equal(&x->max_observed, &y->max_observed, sizeof(double));
        assert_int_equal(x->samples, y->samples);
        assert_int_equal(x->group, y->group);
    }
}

/* [W-PROFILE-1] [W-CANON-2] */
static void test_profile_round_trip(void **st)
{
    (void)st;
    static const size_t sizes[] = {1, 2, 9, 40, POL_PROFILE_MAX_THRESHOLDS};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        pol_profile_report r, d;
        uint8_t *buf, *buf2;
        size_t len, len2;
        random_profile(&r, sizes[k]);
        assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_OK);
        assert_true(len <= POL_WIRE_MAX_PROFILE);
        if (pol_profile_report_decode(buf, len, &d) != POL_OK)
            fail_msg("decode: %s", pol_last_error());
        assert_profile_equal(&r, &d);
        assert_int_equal(pol_profile_report_encode(&d, &buf2, &len2), POL_OK);
        assert_int_equal(len, len2);
        assert_memory_equal(buf, buf2, len);
        free(buf);
        free(buf2);
        pol_profile_report_free(&r);
        pol_profile_report_free(&d);
    }
}

/* Packs a ProfileReport with one Threshold t (no validation). */
static void pack_profile(const Pol__V1__Threshold *t, size_t n_copies, size_t task_id_len,
                         uint8_t **buf, size_t *len)
{
    static const uint8_t b33[33] = {7};
    Pol__V1__Threshold **tp = malloc((n_copies ? n_copies : 1) * sizeof *tp);
    assert_non_null(tp);
    for (size_t i = 0; i < n_copies; i++)
        tp[i] = (Pol__V1__Threshold *)(uintptr_t)t;
    Pol__V1__ProfileReport m = POL__V1__PROFILE_REPORT__INIT;
    m.task_id = (ProtobufCBinaryData){task_id_len, (uint8_t *)(uintptr_t)b33};
    m.n_thresholds = n_copies;
    m.thresholds = tp;
    *len = protobuf_c_message_get_packed_size(&m.base);
    *buf = malloc(*len ? *len : 1);
    assert_non_null(*buf);
    assert_int_equal(protobuf_c_message_pack(&m.base, *buf), *len);
    free(tp);
}

static void expect_profile_error(const Pol__V1__Threshold *t, size_t n_copies, size_t id_len,
                                 pol_status want, const char *needle)
{
    uint8_t *buf;
    size_t len;
    pol_profile_report d;
    pack_profile(t, n_copies, id_len, &buf, &len);
    pol_status s = pol_profile_report_decode(buf, len, &d);
    if (s != want || !strstr(pol_last_error(), needle))
        fail_msg("want %s with \"%s\", got %s: %s", pol_strerror(want), needle, pol_strerror(s),
                 pol_last_error());
    assert_null(d.thresholds);
    assert_int_equal(d.n_thresholds, 0);
    free(buf);
}

/* [W-PROFILE-2] [W-PROFILE-3] [W-LEN-1] [W-TEXT-1] every value rule, at
 * the decoder (raw messages) and at the encoder. */
static void test_profile_invalid(void **st)
{
    (void)st;
    Pol__V1__Threshold t = POL__V1__THRESHOLD__INIT;
    t.op = (char *)"";
    t.interval_len = 4;
    t.metric = (char *)"l2_rel";
    t.threshold = 2.5e-6;
    t.max_observed = 6.3e-7;
    t.samples = 18;
    uint8_t *buf;
    size_t len;
    pol_profile_report d;
    pack_profile(&t, 1, 32, &buf, &len); /* the valid base case */
    assert_int_equal(pol_profile_report_decode(buf, len, &d), POL_OK);
    assert_int_equal(d.thresholds[0].metric, POL_METRIC_L2_REL);
    pol_profile_report_free(&d);
    free(buf);

    expect_profile_error(&t, 1, 31, POL_ERR_FORMAT, "task_id");
    expect_profile_error(&t, 1, 33, POL_ERR_FORMAT, "task_id");
    expect_profile_error(&t, 0, 32, POL_ERR_FORMAT, "0 thresholds");
    expect_profile_error(&t, POL_PROFILE_MAX_THRESHOLDS + 1, 32, POL_ERR_FORMAT, "thresholds");
    expect_profile_error(&t, 2, 32, POL_ERR_FORMAT, "same op");
    t.metric = (char *)"L2_rel";
    expect_profile_error(&t, 1, 32, POL_ERR_FORMAT, "unknown metric");
    t.metric = (char *)"l2_rel\x01";
    expect_profile_error(&t, 1, 32, POL_ERR_FORMAT, "unknown metric");
    t.metric = (char *)"cosine";
    t.interval_len = 0;
    expect_profile_error(&t, 1, 32, POL_ERR_FORMAT, "interval_len > 0");
    t.op = (char *)"matmul";
    t.interval_len = 3;
    expect_profile_error(&t, 1, 32, POL_ERR_FORMAT, "interval_len 0");
    t.interval_len = 0;
    t.op = (char *)"mat\tmul";
    expect_profile_error(&t, 1, 32, POL_ERR_FORMAT, "printable");
    t.op = (char *)"an_op_name_of_exactly_32_bytes__"; /* 32 bytes: one too many */
    assert_int_equal(strlen(t.op), 32);
    expect_profile_error(&t, 1, 32, POL_ERR_FORMAT, "at most 31");
    t.op = (char *)"an_op_name_of_exactly_31_bytes_";
    pack_profile(&t, 1, 32, &buf, &len);
    assert_int_equal(pol_profile_report_decode(buf, len, &d), POL_OK);
    assert_string_equal(d.thresholds[0].op, t.op);
    pol_profile_report_free(&d);
    free(buf);
    static const double bad[] = {-1e-9, 1.0 / 0.0, -1.0 / 0.0, 0.0 / 0.0};
    for (size_t k = 0; k < 4; k++) {
        t.threshold = bad[k];
        expect_profile_error(&t, 1, 32, POL_ERR_FORMAT, "finite");
        t.threshold = 1e-6;
        t.max_observed = bad[k];
        expect_profile_error(&t, 1, 32, POL_ERR_FORMAT, "finite");
        t.max_observed = 1e-7;
    }
    t.samples = 0;
    expect_profile_error(&t, 1, 32, POL_ERR_FORMAT, "no samples");
    t.samples = 18;

    /* group: "", "m", "v", "buf" exactly; "" for a per-op threshold; a
     * whole-interval key may repeat in another group */
    t.op = (char *)"";
    t.interval_len = 4;
    t.threshold = 2.5e-6;
    t.max_observed = 6.3e-7;
    static const char *const gname[POL_GROUP_COUNT] = {"", "m", "v", "buf"};
    for (int g = 0; g < POL_GROUP_COUNT; g++) {
        t.group = (char *)gname[g];
        pack_profile(&t, 1, 32, &buf, &len);
        assert_int_equal(pol_profile_report_decode(buf, len, &d), POL_OK);
        assert_int_equal(d.thresholds[0].group, g);
        pol_profile_report_free(&d);
        free(buf);
    }
    static const char *const bad_groups[] = {"M", "w", "m ", "params", "bu", "buf\x01"};
    for (size_t k = 0; k < sizeof bad_groups / sizeof bad_groups[0]; k++) {
        t.group = (char *)bad_groups[k];
        expect_profile_error(&t, 1, 32, POL_ERR_FORMAT, "unknown state group");
    }
    t.group = (char *)"m";
    t.op = (char *)"matmul";
    t.interval_len = 0;
    expect_profile_error(&t, 1, 32, POL_ERR_FORMAT, "per-op threshold (matmul) has group");
    t.group = (char *)"";

    /* the encoder refuses what the decoder would */
    pol_profile_report r;
    random_profile(&r, 6);
    r.thresholds[1].metric = 0;
    assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_ERR_INVALID_ARG);
    assert_null(buf);
    r.thresholds[1].metric = POL_METRIC_COUNT + 1;
    assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_ERR_INVALID_ARG);
    r.thresholds[1].metric = POL_METRIC_L2; /* its value from random_profile */
    r.thresholds[2].op[0] = '\x7f';
    assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_ERR_INVALID_ARG);
    memset(r.thresholds[2].op, 'a', sizeof r.thresholds[2].op); /* no NUL */
    assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_ERR_INVALID_ARG);
    snprintf(r.thresholds[2].op, sizeof r.thresholds[2].op, "linear");
    r.thresholds[0].threshold = -0.5;
    assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_ERR_INVALID_ARG);
    r.thresholds[0].threshold = 0.5;
    r.thresholds[3] = r.thresholds[0];
    assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_ERR_INVALID_ARG);
    r.thresholds[3].interval_len += 100;
    assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_OK);
    free(buf);
    /* the same key in another state group is another threshold */
    r.thresholds[3] = r.thresholds[0];
    r.thresholds[3].group = (r.thresholds[0].group + 1) % POL_GROUP_COUNT;
    assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_OK);
    free(buf);
    r.thresholds[3].group = POL_GROUP_COUNT; /* no such group */
    assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_ERR_INVALID_ARG);
    assert_non_null(strstr(pol_last_error(), "unknown state group"));
    r.thresholds[3].group = POL_GROUP_PARAMS;
    r.thresholds[3].interval_len += 100;
    r.thresholds[2].group = POL_GROUP_V; /* a per-op threshold ("linear") */
    assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_ERR_INVALID_ARG);
    r.thresholds[2].group = POL_GROUP_PARAMS;
    assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_OK);
    free(buf);
    r.n_thresholds = 0;
    assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_ERR_INVALID_ARG);
    pol_profile_report_free(&r);
}

/* [W-UNKNOWN-1] inside a Threshold; [W-CAP-1]; [W-CAP-2] many empty
 * Thresholds cost far more memory than wire bytes. */
static void test_profile_unknown_and_caps(void **st)
{
    (void)st;
    Pol__V1__Threshold t = POL__V1__THRESHOLD__INIT;
    uint8_t val = 1;
    ProtobufCMessageUnknownField uf = {9, PROTOBUF_C_WIRE_TYPE_VARINT, 1, &val};
    t.interval_len = 2;
    t.metric = (char *)"linf";
    t.samples = 1;
    t.base.n_unknown_fields = 1;
    t.base.unknown_fields = &uf;
    expect_profile_error(&t, 1, 32, POL_ERR_FORMAT, "unknown field");

    pol_profile_report d;
    uint8_t *big = calloc(POL_WIRE_MAX_PROFILE + (size_t)1, 1);
    assert_non_null(big);
    assert_int_equal(pol_profile_report_decode(big, POL_WIRE_MAX_PROFILE + (size_t)1, &d),
                     POL_ERR_TOO_LARGE);
    assert_non_null(strstr(pol_last_error(), "cap"));
    const size_t n = 200000;
    for (size_t i = 0; i < n; i++) { /* field 2 (thresholds), empty message */
        big[2 * i] = 2 << 3 | 2;
        big[2 * i + 1] = 0;
    }
    assert_int_equal(pol_profile_report_decode(big, 2 * n, &d), POL_ERR_NOMEM);
    assert_non_null(strstr(pol_last_error(), "budget"));
    free(big);
}

static int is_clean_error2(pol_status s)
{
    return (s == POL_ERR_FORMAT || s == POL_ERR_NOMEM || s == POL_ERR_TOO_LARGE ||
            s == POL_ERR_HASH_MISMATCH) &&
           pol_last_error()[0] != '\0';
}

/* Decodes p[0..n) as a Task (is_task) or a ProfileReport: a clean error, or
 * a value whose canonical encoding is exactly p. */
static void check_decode2(const uint8_t *p, size_t n, int is_task, const char *what, size_t where)
{
    uint8_t *re = NULL, *json = NULL;
    size_t re_len = 0, json_len = 0;
    pol_digest id;
    pol_profile_report r;
    pol_clear_error();
    pol_status s = is_task ? pol_task_msg_decode(p, n, &json, &json_len, &id)
                           : pol_profile_report_decode(p, n, &r);
    if (s == POL_OK) {
        pol_status e = is_task ? pol_task_msg_encode(json, json_len, &re, &re_len)
                               : pol_profile_report_encode(&r, &re, &re_len);
        if (e != POL_OK || re_len != n || memcmp(re, p, n) != 0)
            fail_msg("%s %zu: accepted, but not the canonical encoding of what it decoded", what,
                     where);
        free(re);
        free(json);
        if (!is_task)
            pol_profile_report_free(&r);
    } else if (!is_clean_error2(s)) {
        fail_msg("%s %zu: %s (%s)", what, where, pol_strerror(s), pol_last_error());
    } else if (is_task ? json != NULL : r.thresholds != NULL) {
        fail_msg("%s %zu: output left behind on failure", what, where);
    }
}

/* [W-CAP-3] [W-CANON-1] every prefix and every 1-bit flip, at exact-size
 * buffers (ASan catches an overread). */
static void hostile2(const uint8_t *buf, size_t len, int is_task)
{
    for (size_t k = 0; k < len; k++) {
        uint8_t *p = malloc(k ? k : 1);
        memcpy(p, buf, k);
        check_decode2(p, k, is_task, "truncated to", k);
        free(p);
    }
    uint8_t *p = malloc(len);
    for (size_t bit = 0; bit < len * 8; bit++) {
        memcpy(p, buf, len);
        p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        check_decode2(p, len, is_task, "flipped bit", bit);
    }
    free(p);
}

static void test_task_hostile(void **st)
{
    (void)st;
    uint8_t *buf;
    size_t len;
    assert_int_equal(pol_task_msg_encode((const uint8_t *)"{}", 2, &buf, &len), POL_OK);
    hostile2(buf, len, 1);
    free(buf);
}

static void test_profile_hostile(void **st)
{
    (void)st;
    pol_profile_report r;
    uint8_t *buf;
    size_t len;
    random_profile(&r, 3);
    assert_int_equal(pol_profile_report_encode(&r, &buf, &len), POL_OK);
    hostile2(buf, len, 0);
    free(buf);
    pol_profile_report_free(&r);
}

/* [W-PROFILE-4] the path of pol-verifier profile --key: a profile's
 * thresholds, encoded, sealed as type 4, opened and decoded again. */
static void test_profile_envelope(void **st)
{
    (void)st;
    pol_profile_stat stats[3];
    memset(stats, 0, sizeof stats);
    stats[0].interval_len = 4;
    stats[0].metric = POL_METRIC_L2_REL;
    stats[0].n = 18;
    stats[0].max = 6.36e-7;
    stats[0].threshold = 4 * stats[0].max;
    stats[1] = stats[0];
    stats[1].group = POL_GROUP_M; /* the same length and metric, over the AdamW moments m */
    stats[1].n = 6;
    stats[1].max = 4.83e-9;
    stats[1].threshold = POL_PROFILE_FLOOR_REL;
    snprintf(stats[2].op, sizeof stats[2].op, "matmul");
    stats[2].metric = POL_METRIC_L2_REL;
    stats[2].n = 9;
    stats[2].max = 7.4e-7;
    stats[2].threshold = 4 * stats[2].max;
    pol_profile p;
    memset(&p, 0, sizeof p);
    fill(p.task_id.b, 32);
    p.n_stats = 3;
    p.stats = stats;

    pol_profile_report r, d;
    assert_int_equal(pol_profile_report_from(&p, &r), POL_OK);
    assert_int_equal(r.n_thresholds, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(r.thresholds[i].op, stats[i].op);
        assert_int_equal(r.thresholds[i].interval_len, stats[i].interval_len);
        assert_int_equal(r.thresholds[i].samples, stats[i].n);
        assert_true(r.thresholds[i].threshold == stats[i].threshold);
        assert_true(r.thresholds[i].max_observed == stats[i].max);
        assert_int_equal(r.thresholds[i].group, stats[i].group);
    }
    pol_keypair kp;
    uint8_t pub[32], signer[32];
    assert_int_equal(pol_keypair_generate(&kp), POL_OK);
    assert_int_equal(pol_keypair_pubkey(&kp, pub), POL_OK);
    uint8_t *body, *env, *got;
    size_t blen, elen, glen;
    assert_int_equal(pol_profile_report_encode(&r, &body, &blen), POL_OK);
    assert_int_equal(pol_envelope_seal(POL_MSG_PROFILE, body, blen, &kp, &env, &elen), POL_OK);
    pol_keypair_clear(&kp);
    assert_int_equal(pol_envelope_open(env, elen, POL_MSG_REPORT, &got, &glen, signer),
                     POL_ERR_MISMATCH);
    assert_int_equal(pol_envelope_open(env, elen, POL_MSG_PROFILE, &got, &glen, signer), POL_OK);
    assert_memory_equal(signer, pub, 32);
    assert_int_equal(glen, blen);
    assert_memory_equal(got, body, blen);
    assert_int_equal(pol_profile_report_decode(got, glen, &d), POL_OK);
    assert_profile_equal(&r, &d);
    assert_memory_equal(d.task_id.b, p.task_id.b, 32);
    free(got);
    pol_profile_report_free(&d);
    /* a changed threshold no longer carries the signature */
    env[elen - 66 - 34 - 3] ^= 1; /* inside the body: signer (2 + 32) and signature (2 + 64) follow */
    assert_int_equal(pol_envelope_open(env, elen, POL_MSG_PROFILE, &got, &glen, signer),
                     POL_ERR_SIGNATURE);

    /* a profile without stats, or with a stat breaking a rule, has no report */
    p.n_stats = 0;
    assert_int_equal(pol_profile_report_from(&p, &d), POL_ERR_INVALID_ARG);
    p.n_stats = 3;
    stats[2].interval_len = 1;
    assert_int_equal(pol_profile_report_from(&p, &d), POL_ERR_INVALID_ARG);
    assert_null(d.thresholds);
    free(env);
    free(body);
    pol_profile_report_free(&r);
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
        cmocka_unit_test(test_task_round_trip),
        cmocka_unit_test(test_task_hash_mismatch),
        cmocka_unit_test(test_task_invalid),
        cmocka_unit_test(test_task_hostile),
        cmocka_unit_test(test_profile_round_trip),
        cmocka_unit_test(test_profile_invalid),
        cmocka_unit_test(test_profile_unknown_and_caps),
        cmocka_unit_test(test_profile_hostile),
        cmocka_unit_test(test_profile_envelope),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
