/* The network layer: Request/Response codecs, framing, the client call and
 * the poll-driven server over 127.0.0.1 (spec/net.md), and a party's mirror
 * of the referee's log over it. Test names cite the spec ids they prove. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.pb-c.h"
#include "pol/fileio.h"
#include "pol/game.h"
#include "pol/net.h"
#include "pol/roles.h"
#include "pol/safetensors.h"
#include "testutil.h"

static tu_rng R;
static pol_keypair KS, KC, KO; /* server, client, some other party */
static uint8_t PS[32], PC[32], PO[32];

static int setup(void **st)
{
    (void)st;
    tu_rng_init(&R, tu_seed());
    if (pol_keypair_generate(&KS) || pol_keypair_generate(&KC) || pol_keypair_generate(&KO) ||
        pol_keypair_pubkey(&KS, PS) || pol_keypair_pubkey(&KC, PC) || pol_keypair_pubkey(&KO, PO))
        return -1;
    return 0;
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)tu_next(&R);
}

static uint8_t *rand_bytes(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    fill(p, n);
    return p;
}

static int64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ================================================================ codecs */

static void random_request(pol_net_request *r, uint32_t kind)
{
    memset(r, 0, sizeof *r);
    r->id = tu_next(&R);
    r->time_ms = tu_next(&R) >> 20;
    r->kind = kind;
    if (kind == POL_NET_EVENTS)
        r->events_from = tu_next(&R) & 1 ? 0 : tu_next(&R) % 1000;
    if (kind == POL_NET_BLOB)
        fill(r->blob_hash.b, 32);
    if (kind == POL_NET_ACTION || kind == POL_NET_PIN) {
        r->data_len = (kind == POL_NET_ACTION ? 1 : 0) + tu_next(&R) % 300;
        r->data = rand_bytes(r->data_len);
    }
}

static void assert_request_equal(const pol_net_request *a, const pol_net_request *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->time_ms, b->time_ms);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->events_from, b->events_from);
    assert_memory_equal(a->blob_hash.b, b->blob_hash.b, 32);
    assert_int_equal(a->data_len, b->data_len);
    if (a->data_len)
        assert_memory_equal(a->data, b->data, a->data_len);
}

/* A successful response of `kind` with random contents. */
static void random_response(pol_net_response *r, uint32_t kind)
{
    memset(r, 0, sizeof *r);
    r->id = tu_next(&R);
    fill(r->request_id.b, 32);
    r->kind = kind;
    if (kind == POL_NET_ACTION)
        r->applied_seq = tu_next(&R);
    if (kind == POL_NET_BLOB || kind == POL_NET_PIN) {
        r->data_len = tu_next(&R) % 500;
        r->data = rand_bytes(r->data_len);
    }
    if (kind == POL_NET_EVENTS) {
        r->n_events = 1 + tu_next(&R) % 20;
        r->events = calloc(r->n_events, sizeof *r->events);
        assert_non_null(r->events);
        uint64_t first = 1 + tu_next(&R) % 100;
        for (size_t i = 0; i < r->n_events; i++) {
            r->events[i].seq = first + i;
            r->events[i].time_ms = tu_next(&R) >> 24;
            if (i % 3 != 2) { /* every third one is a tick */
                r->events[i].action_len = 1 + tu_next(&R) % 200;
                r->events[i].action = rand_bytes(r->events[i].action_len);
            }
        }
        r->head_seq = first + r->n_events - 1 + tu_next(&R) % 3;
        if (first == 1) {
            r->genesis_len = 1 + tu_next(&R) % 100;
            r->genesis = rand_bytes(r->genesis_len);
        }
    }
}

static void assert_response_equal(const pol_net_response *a, const pol_net_response *b)
{
    assert_int_equal(a->id, b->id);
    assert_memory_equal(a->request_id.b, b->request_id.b, 32);
    assert_int_equal(a->status, b->status);
    assert_string_equal(a->error, b->error);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->applied_seq, b->applied_seq);
    assert_int_equal(a->n_events, b->n_events);
    for (size_t i = 0; i < a->n_events; i++) {
        assert_int_equal(a->events[i].seq, b->events[i].seq);
        assert_int_equal(a->events[i].time_ms, b->events[i].time_ms);
        assert_int_equal(a->events[i].action_len, b->events[i].action_len);
        if (a->events[i].action_len)
            assert_memory_equal(a->events[i].action, b->events[i].action,
                                a->events[i].action_len);
    }
    assert_int_equal(a->head_seq, b->head_seq);
    assert_int_equal(a->genesis_len, b->genesis_len);
    if (a->genesis_len)
        assert_memory_equal(a->genesis, b->genesis, a->genesis_len);
    assert_int_equal(a->data_len, b->data_len);
    if (a->data_len)
        assert_memory_equal(a->data, b->data, a->data_len);
}

/* [N-REQ-1] [N-RESP-1] [W-CANON-2]: every kind round-trips, encoding is
 * deterministic. */
static void test_codec_roundtrip(void **st)
{
    (void)st;
    for (int round = 0; round < 20; round++) {
        for (uint32_t k = POL_NET_ACTION; k <= POL_NET_PIN; k++) {
            pol_net_request q, q2;
            uint8_t *b1, *b2;
            size_t n1, n2;
            random_request(&q, k);
            assert_int_equal(pol_net_request_encode(&q, &b1, &n1), POL_OK);
            assert_int_equal(pol_net_request_encode(&q, &b2, &n2), POL_OK);
            assert_int_equal(n1, n2);
            assert_memory_equal(b1, b2, n1);
            assert_int_equal(pol_net_request_decode(b1, n1, &q2), POL_OK);
            assert_request_equal(&q, &q2);
            free(b1);
            free(b2);
            pol_net_request_free(&q);
            pol_net_request_free(&q2);

            pol_net_response r, r2;
            random_response(&r, k);
            assert_int_equal(pol_net_response_encode(&r, &b1, &n1), POL_OK);
            assert_int_equal(pol_net_response_decode(b1, n1, &r2), POL_OK);
            assert_response_equal(&r, &r2);
            free(b1);
            pol_net_response_free(&r);
            pol_net_response_free(&r2);
        }
    }
    /* An error response carries a status and a message, no payload. */
    pol_net_response e, e2;
    uint8_t *b;
    size_t n;
    memset(&e, 0, sizeof e);
    e.id = 7;
    e.status = POL_ERR_NOT_FOUND;
    snprintf(e.error, sizeof e.error, "no blob with that hash");
    assert_int_equal(pol_net_response_encode(&e, &b, &n), POL_OK);
    assert_int_equal(pol_net_response_decode(b, n, &e2), POL_OK);
    assert_response_equal(&e, &e2);
    free(b);
    /* events_from 0 and an empty PIN query are values, not absences. */
    pol_net_request q = {0}, q2;
    q.kind = POL_NET_EVENTS;
    assert_int_equal(pol_net_request_encode(&q, &b, &n), POL_OK);
    assert_int_equal(pol_net_request_decode(b, n, &q2), POL_OK);
    assert_int_equal(q2.kind, POL_NET_EVENTS);
    free(b);
    q.kind = POL_NET_PIN;
    assert_int_equal(pol_net_request_encode(&q, &b, &n), POL_OK);
    assert_int_equal(pol_net_request_decode(b, n, &q2), POL_OK);
    assert_int_equal(q2.kind, POL_NET_PIN);
    assert_int_equal(q2.data_len, 0);
    pol_net_request_free(&q2);
    free(b);
}

/* [W-CAP-3]: every strict prefix of a request and of a response is refused
 * with a status, never accepted. */
static void test_codec_truncated(void **st)
{
    (void)st;
    pol_net_request q, q2;
    pol_net_response r, r2;
    uint8_t *b;
    size_t n;
    random_request(&q, POL_NET_ACTION);
    assert_int_equal(pol_net_request_encode(&q, &b, &n), POL_OK);
    for (size_t i = 0; i < n; i++) {
        pol_status s = pol_net_request_decode(b, i, &q2);
        assert_int_not_equal(s, POL_OK);
        assert_true(s == POL_ERR_FORMAT || s == POL_ERR_NOMEM);
        assert_true(strlen(pol_last_error()) > 0);
        assert_null(q2.data);
    }
    free(b);
    pol_net_request_free(&q);
    random_response(&r, POL_NET_EVENTS);
    assert_int_equal(pol_net_response_encode(&r, &b, &n), POL_OK);
    for (size_t i = 0; i < n; i++) {
        pol_status s = pol_net_response_decode(b, i, &r2);
        assert_true(s == POL_ERR_FORMAT || s == POL_ERR_NOMEM);
        assert_null(r2.events);
    }
    free(b);
    pol_net_response_free(&r);
}

/* Packs a raw protobuf-c message (for hand-made hostile inputs). */
static uint8_t *pack(const ProtobufCMessage *m, size_t *n)
{
    *n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(*n + 16);
    assert_non_null(b);
    assert_int_equal(protobuf_c_message_pack(m, b), *n);
    return b;
}

static pol_status decode_raw_response(const Pol__V1__Response *m)
{
    size_t n;
    uint8_t *b = pack(&m->base, &n);
    pol_net_response r;
    pol_status s = pol_net_response_decode(b, n, &r);
    pol_net_response_free(&r);
    free(b);
    return s;
}

/* [W-UNKNOWN-1] [N-REQ-2] [N-RESP-2 .. N-RESP-4] [N-CAP-1]: unknown fields,
 * wrong lengths, oversized counts, bad text and inconsistent status and
 * payload are refused by the decoder, and the encoder refuses to make them. */
static void test_codec_hostile(void **st)
{
    (void)st;
    uint8_t *b;
    size_t n;
    pol_net_request q, q2;
    random_request(&q, POL_NET_BLOB);
    assert_int_equal(pol_net_request_encode(&q, &b, &n), POL_OK);
    b = realloc(b, n + 2);
    b[n] = 15 << 3; /* field 15 (not in the schema), varint */
    b[n + 1] = 1;
    assert_int_equal(pol_net_request_decode(b, n + 2, &q2), POL_ERR_FORMAT);
    /* The cap is checked before a byte is read. */
    assert_int_equal(pol_net_request_decode(b, (size_t)POL_WIRE_MAX_ENVELOPE + 1, &q2),
                     POL_ERR_TOO_LARGE);
    free(b);

    /* A request without a kind, a 31-byte blob hash, an empty action. */
    Pol__V1__Request mq;
    pol__v1__request__init(&mq);
    mq.id = 5;
    b = pack(&mq.base, &n);
    assert_int_equal(pol_net_request_decode(b, n, &q2), POL_ERR_FORMAT);
    free(b);
    uint8_t h[32] = {1};
    mq.req_case = POL__V1__REQUEST__REQ_BLOB;
    mq.blob.data = h;
    mq.blob.len = 31;
    b = pack(&mq.base, &n);
    assert_int_equal(pol_net_request_decode(b, n, &q2), POL_ERR_FORMAT);
    free(b);
    mq.req_case = POL__V1__REQUEST__REQ_ACTION;
    mq.action.len = 0;
    b = pack(&mq.base, &n);
    assert_int_equal(pol_net_request_decode(b, n, &q2), POL_ERR_FORMAT);
    free(b);
    q.kind = 9;
    assert_int_equal(pol_net_request_encode(&q, &b, &n), POL_ERR_INVALID_ARG);
    assert_null(b);

    /* Responses. */
    Pol__V1__Response m;
    Pol__V1__LedgerEvents evs;
    uint8_t rid[33] = {2};
    pol__v1__response__init(&m);
    pol__v1__ledger_events__init(&evs);
    m.request_id.data = rid;
    m.request_id.len = 32;
    m.resp_case = POL__V1__RESPONSE__RESP_APPLIED_SEQ;
    m.applied_seq = 3;
    assert_int_equal(decode_raw_response(&m), POL_OK); /* the baseline is valid */
    m.request_id.len = 33;
    assert_int_equal(decode_raw_response(&m), POL_ERR_FORMAT);
    m.request_id.len = 32;
    m.status = POL_NET_MAX_STATUS + 1; /* a status out of range */
    m.resp_case = POL__V1__RESPONSE__RESP__NOT_SET;
    assert_int_equal(decode_raw_response(&m), POL_ERR_FORMAT);
    m.status = POL_ERR_NOT_FOUND; /* an error with a payload */
    m.resp_case = POL__V1__RESPONSE__RESP_APPLIED_SEQ;
    assert_int_equal(decode_raw_response(&m), POL_ERR_FORMAT);
    m.status = 0; /* success without a payload */
    m.resp_case = POL__V1__RESPONSE__RESP__NOT_SET;
    assert_int_equal(decode_raw_response(&m), POL_ERR_FORMAT);
    m.resp_case = POL__V1__RESPONSE__RESP_APPLIED_SEQ; /* success with an error text */
    m.error = "oops";
    assert_int_equal(decode_raw_response(&m), POL_ERR_FORMAT);
    m.status = 4;
    m.resp_case = POL__V1__RESPONSE__RESP__NOT_SET;
    m.error = "tab\there"; /* not printable */
    assert_int_equal(decode_raw_response(&m), POL_ERR_FORMAT);
    char longtxt[POL_NET_ERROR_MAX + 1];
    memset(longtxt, 'x', sizeof longtxt - 1);
    longtxt[POL_NET_ERROR_MAX] = '\0'; /* 256 bytes: one too many */
    m.error = longtxt;
    assert_int_equal(decode_raw_response(&m), POL_ERR_FORMAT);
    longtxt[POL_NET_ERROR_MAX - 1] = '\0'; /* 255: fits */
    assert_int_equal(decode_raw_response(&m), POL_OK);
    m.status = 0;
    m.error = "";

    /* Events: over the count cap; a gap; a seq past the head; seq 0. */
    size_t ne = POL_NET_MAX_EVENTS + 1;
    Pol__V1__LedgerEvent *ev = calloc(ne, sizeof *ev), **evp = calloc(ne, sizeof *evp);
    assert_true(ev && evp);
    for (size_t i = 0; i < ne; i++) {
        pol__v1__ledger_event__init(&ev[i]);
        ev[i].seq = 1 + i;
        evp[i] = &ev[i];
    }
    evs.events = evp;
    evs.head_seq = ne;
    m.resp_case = POL__V1__RESPONSE__RESP_EVENTS;
    m.events = &evs;
    evs.n_events = ne;
    assert_int_equal(decode_raw_response(&m), POL_ERR_FORMAT);
    evs.n_events = POL_NET_MAX_EVENTS; /* exactly the cap: fine */
    assert_int_equal(decode_raw_response(&m), POL_OK);
    evs.n_events = 3;
    ev[2].seq = 4;
    assert_int_equal(decode_raw_response(&m), POL_ERR_FORMAT);
    ev[2].seq = 3;
    evs.head_seq = 2;
    assert_int_equal(decode_raw_response(&m), POL_ERR_FORMAT);
    evs.head_seq = 3;
    ev[0].seq = 0;
    evs.n_events = 1;
    assert_int_equal(decode_raw_response(&m), POL_ERR_FORMAT);
    free(ev);
    free(evp);

    /* The encoder refuses the same values. */
    pol_net_response r;
    memset(&r, 0, sizeof r);
    r.kind = POL_NET_ACTION;
    r.status = POL_ERR_IO;
    assert_int_equal(pol_net_response_encode(&r, &b, &n), POL_ERR_INVALID_ARG);
    r.kind = POL_NET_NONE;
    r.error[0] = '\n';
    assert_int_equal(pol_net_response_encode(&r, &b, &n), POL_ERR_INVALID_ARG);
    assert_null(b);
    assert_int_equal(n, 0);
    pol_net_request_free(&q);
}

/* ============================================================= addresses */

/* [N-ADDR-1] */
static void test_addr_parse(void **st)
{
    (void)st;
    uint32_t ip;
    uint16_t port;
    assert_int_equal(pol_net_addr_parse("127.0.0.1:8080", &ip, &port), POL_OK);
    assert_int_equal(ip, 0x7f000001u);
    assert_int_equal(port, 8080);
    assert_int_equal(pol_net_addr_parse("localhost:0", &ip, &port), POL_OK);
    assert_int_equal(ip, 0x7f000001u);
    assert_int_equal(port, 0);
    assert_int_equal(pol_net_addr_parse("255.0.10.1:65535", &ip, &port), POL_OK);
    assert_int_equal(ip, 0xff000a01u);
    assert_int_equal(port, 65535);
    const char *bad[] = {"",           "127.0.0.1",       "127.0.0.1:",     ":80",
                         "1.2.3:80",   "1.2.3.4.5:80",    "256.1.1.1:80",   "01.2.3.4:80",
                         "1.2.3.4:65536", "1.2.3.4:080",  "1.2.3.4:+80",    "1.2.3.4:-1",
                         " 1.2.3.4:80", "1.2.3.4:80 ",    "example.com:80", "LOCALHOST:80",
                         "1.2.3.4:80x", "[::1]:80",       "1..3.4:80",      "1.2.3.4::80",
                         "99999999999999999999.1.1.1:1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(pol_net_addr_parse(bad[i], &ip, &port), POL_ERR_FORMAT);
        assert_true(strlen(pol_last_error()) > 0);
        assert_int_equal(port, 0);
    }
    int fd;
    assert_int_equal(pol_net_dial("127.0.0.1:0", 100, &fd), POL_ERR_FORMAT);
    assert_int_equal(fd, -1);
    assert_int_equal(pol_net_dial("nohost:1", 100, &fd), POL_ERR_FORMAT);
}

/* ============================================================ the server */

typedef struct store {
    atomic_int lie;        /* 1: blob answers have a flipped byte */
    uint8_t blob[1000];
    pol_digest blob_hash;
    uint64_t seq;          /* actions applied */
    uint64_t times[16];
    uint8_t last_signer[32];
} store;

static pol_status handler(void *ctx, const uint8_t signer[32], const pol_net_request *req,
                          const pol_digest *request_id, pol_net_response *resp)
{
    store *s = ctx;
    (void)request_id;
    memcpy(s->last_signer, signer, 32);
    resp->kind = req->kind;
    switch (req->kind) {
    case POL_NET_ACTION:
        if (s->seq >= 16)
            return pol_errorf(POL_ERR_RULES, "ledger full");
        s->times[s->seq] = req->time_ms;
        resp->applied_seq = ++s->seq;
        return POL_OK;
    case POL_NET_EVENTS: {
        uint64_t from = req->events_from ? req->events_from : 1;
        resp->head_seq = s->seq;
        resp->n_events = from <= s->seq ? s->seq - from + 1 : 0;
        resp->events = calloc(resp->n_events + 1, sizeof *resp->events);
        if (!resp->events)
            return pol_errorf(POL_ERR_NOMEM, "events");
        for (size_t i = 0; i < resp->n_events; i++) {
            resp->events[i].seq = from + i;
            resp->events[i].time_ms = s->times[from + i - 1];
        }
        if (req->events_from == 0) {
            resp->genesis = malloc(4);
            if (!resp->genesis)
                return pol_errorf(POL_ERR_NOMEM, "genesis");
            memcpy(resp->genesis, "gen!", 4);
            resp->genesis_len = 4;
        }
        return POL_OK;
    }
    case POL_NET_BLOB:
        if (memcmp(req->blob_hash.b, s->blob_hash.b, 32) != 0)
            return pol_errorf(POL_ERR_NOT_FOUND, "no blob with that hash");
        resp->data = malloc(sizeof s->blob);
        if (!resp->data)
            return pol_errorf(POL_ERR_NOMEM, "blob");
        memcpy(resp->data, s->blob, sizeof s->blob);
        resp->data_len = sizeof s->blob;
        if (atomic_load(&s->lie))
            resp->data[500] ^= 1;
        return POL_OK;
    default: /* PIN: the answer is the query reversed */
        resp->data = malloc(req->data_len + 1);
        if (!resp->data)
            return pol_errorf(POL_ERR_NOMEM, "pin");
        for (size_t i = 0; i < req->data_len; i++)
            resp->data[i] = req->data[req->data_len - 1 - i];
        resp->data_len = req->data_len;
        return POL_OK;
    }
}

typedef struct server_thread {
    pol_net_server *srv;
    store st;
    atomic_int stop;
    pthread_t th;
    char addr[32];
} server_thread;

static void *serve(void *arg)
{
    server_thread *t = arg;
    while (!atomic_load(&t->stop))
        if (pol_net_server_poll(t->srv, 20) != POL_OK)
            break;
    return NULL;
}

static size_t g_max_queued; /* pol_net_server_opts.max_queued of server_start */

/* A server signed by KS answering with fn (ctx NULL: the test store's
 * handler), polled by a thread of its own. */
static server_thread *server_start_with(pol_net_handler fn, void *ctx, int io_timeout_ms,
                                        size_t max_frame)
{
    server_thread *t = calloc(1, sizeof *t);
    assert_non_null(t);
    fill(t->st.blob, sizeof t->st.blob);
    assert_int_equal(pol_sha256(t->st.blob, sizeof t->st.blob, &t->st.blob_hash), POL_OK);
    pol_net_server_opts o = {io_timeout_ms, max_frame, 0, g_max_queued};
    assert_int_equal(pol_net_server_open("127.0.0.1:0", &KS, fn ? fn : handler, fn ? ctx : &t->st,
                                         &o, &t->srv),
                     POL_OK);
    assert_int_not_equal(pol_net_server_port(t->srv), 0);
    snprintf(t->addr, sizeof t->addr, "127.0.0.1:%u", pol_net_server_port(t->srv));
    assert_int_equal(pthread_create(&t->th, NULL, serve, t), 0);
    return t;
}

static server_thread *server_start(int io_timeout_ms, size_t max_frame)
{
    return server_start_with(NULL, NULL, io_timeout_ms, max_frame);
}

static void server_stop(server_thread *t)
{
    atomic_store(&t->stop, 1);
    pthread_join(t->th, NULL);
    pol_net_server_close(t->srv);
    free(t);
}

/* [N-CALL-1] [N-CALL-2] [N-REQ-1] [N-SIG-1] [N-BLOB-1]: every kind over one kept-open
 * connection, signed both ways. */
static void test_roundtrip_all_kinds(void **st)
{
    (void)st;
    server_thread *t = server_start(2000, 0);
    pol_net_conn *c;
    pol_net_response r;
    uint8_t signer[32];
    assert_int_equal(pol_net_connect(t->addr, 2000, 0, PS, &c), POL_OK);

    uint8_t action[40];
    fill(action, sizeof action);
    pol_net_request q = {0};
    q.kind = POL_NET_ACTION;
    q.data = action;
    q.data_len = sizeof action;
    for (uint64_t i = 1; i <= 3; i++) {
        q.id = 100 + i;
        q.time_ms = 1000 * i;
        assert_int_equal(pol_net_call(c, &KC, &q, &r, signer), POL_OK);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.kind, POL_NET_ACTION);
        assert_int_equal(r.id, q.id);
        assert_int_equal(r.applied_seq, i);
        assert_memory_equal(signer, PS, 32);
        pol_net_response_free(&r);
    }
    assert_memory_equal(t->st.last_signer, PC, 32); /* the server saw the client's key */

    memset(&q, 0, sizeof q);
    q.kind = POL_NET_EVENTS;
    q.id = 7;
    assert_int_equal(pol_net_call(c, &KC, &q, &r, signer), POL_OK);
    assert_int_equal(r.n_events, 3);
    assert_int_equal(r.head_seq, 3);
    assert_int_equal(r.genesis_len, 4);
    assert_memory_equal(r.genesis, "gen!", 4);
    assert_int_equal(r.events[2].time_ms, 3000);
    pol_net_response_free(&r);
    q.events_from = 2;
    assert_int_equal(pol_net_call(c, &KC, &q, &r, signer), POL_OK);
    assert_int_equal(r.n_events, 2);
    assert_int_equal(r.events[0].seq, 2);
    assert_null(r.genesis);
    pol_net_response_free(&r);

    uint8_t query[77];
    fill(query, sizeof query);
    memset(&q, 0, sizeof q);
    q.kind = POL_NET_PIN;
    q.id = 8;
    q.data = query;
    q.data_len = sizeof query;
    assert_int_equal(pol_net_call(c, &KC, &q, &r, signer), POL_OK);
    assert_int_equal(r.data_len, sizeof query);
    for (size_t i = 0; i < sizeof query; i++)
        assert_int_equal(r.data[i], query[sizeof query - 1 - i]);
    pol_net_response_free(&r);

    uint8_t *blob;
    size_t blen;
    assert_int_equal(pol_net_fetch_blob(c, &KC, &t->st.blob_hash, 4096, &blob, &blen), POL_OK);
    assert_int_equal(blen, sizeof t->st.blob);
    assert_memory_equal(blob, t->st.blob, blen);
    free(blob);

    /* An unknown blob: the server's error status comes back, the
     * connection stays usable. */
    pol_digest other;
    fill(other.b, 32);
    assert_int_equal(pol_net_fetch_blob(c, &KC, &other, 4096, &blob, &blen), POL_ERR_NOT_FOUND);
    assert_null(blob);
    assert_non_null(strstr(pol_last_error(), "no blob with that hash"));
    memset(&q, 0, sizeof q);
    q.kind = POL_NET_BLOB;
    q.blob_hash = other;
    q.id = 9;
    assert_int_equal(pol_net_call(c, &KC, &q, &r, signer), POL_OK);
    assert_int_equal(r.status, POL_ERR_NOT_FOUND);
    assert_int_equal(r.kind, POL_NET_NONE);
    assert_int_equal(r.id, 9);
    pol_net_response_free(&r);
    pol_net_close(c);
    server_stop(t);
}

/* [N-SIG-2] [N-CALL-3]: a response signed by another key than the expected
 * one is refused, and the connection is not reused. */
/* [N-SERVE-5]: a request far larger than the server's first body allocation
 * arrives whole (its signature verifies) while the buffer grows. */
static void test_large_request(void **st)
{
    (void)st;
    server_thread *t = server_start(5000, 0);
    pol_net_conn *c;
    pol_net_response r;
    uint8_t signer[32];
    assert_int_equal(pol_net_connect(t->addr, 5000, 0, PS, &c), POL_OK);
    const size_t sizes[3] = { (64u << 10) - 100, (64u << 10) + 1, 3u << 20 };
    for (int i = 0; i < 3; i++) {
        uint8_t *big = malloc(sizes[i]);
        assert_non_null(big);
        fill(big, sizes[i]);
        pol_net_request q = { 0 };
        q.kind = POL_NET_ACTION;
        q.id = 7 + (uint64_t)i;
        q.data = big;
        q.data_len = sizes[i];
        assert_int_equal(pol_net_call(c, &KC, &q, &r, signer), POL_OK);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.applied_seq, (uint64_t)i + 1);
        pol_net_response_free(&r);
        free(big);
    }
    pol_net_close(c);
    server_stop(t);
}

static void test_unexpected_server_key(void **st)
{
    (void)st;
    server_thread *t = server_start(2000, 0);
    pol_net_conn *c;
    pol_net_response r;
    uint8_t signer[32];
    pol_net_request q = {0};
    q.kind = POL_NET_EVENTS;
    assert_int_equal(pol_net_connect(t->addr, 2000, 0, PO, &c), POL_OK);
    assert_int_equal(pol_net_call(c, &KC, &q, &r, signer), POL_ERR_SIGNATURE);
    assert_int_equal(r.kind, 0);
    assert_int_equal(signer[0] | signer[31], 0);
    assert_int_equal(pol_net_call(c, &KC, &q, &r, signer), POL_ERR_NETWORK);
    pol_net_close(c);
    /* No expected key: any signer is accepted and reported. */
    assert_int_equal(pol_net_connect(t->addr, 2000, 0, NULL, &c), POL_OK);
    assert_int_equal(pol_net_call(c, &KC, &q, &r, signer), POL_OK);
    assert_memory_equal(signer, PS, 32);
    pol_net_response_free(&r);
    pol_net_close(c);
    server_stop(t);
}

/* Sends one raw frame on a fresh connection and returns the answer frame's
 * status, or the read's failure. */
static pol_status raw_exchange(const char *addr, const uint8_t *frame, size_t len,
                               pol_net_response *r)
{
    int fd;
    uint8_t *buf, *body, signer[32];
    size_t blen, body_len;
    memset(r, 0, sizeof *r);
    assert_int_equal(pol_net_dial(addr, 1000, &fd), POL_OK);
    assert_int_equal(pol_net_frame_write(fd, frame, len, 1000), POL_OK);
    pol_status s = pol_net_frame_read(fd, 0, 2000, &buf, &blen);
    close(fd);
    if (s != POL_OK)
        return s;
    assert_int_equal(pol_envelope_open(buf, blen, POL_MSG_RESPONSE, &body, &body_len, signer),
                     POL_OK);
    assert_memory_equal(signer, PS, 32);
    assert_int_equal(pol_net_response_decode(body, body_len, r), POL_OK);
    free(body);
    free(buf);
    return POL_OK;
}

/* [N-SERVE-2]: a request with a bad signature is answered with
 * POL_ERR_SIGNATURE (id 0, request_id the envelope id), a request envelope
 * of the wrong type with POL_ERR_MISMATCH, garbage is dropped; the server
 * keeps serving. */
static void test_bad_requests(void **st)
{
    (void)st;
    server_thread *t = server_start(2000, 0);
    pol_net_request q = {0};
    uint8_t *body, *env;
    size_t body_len, env_len;
    pol_net_response r;
    pol_digest id;
    q.kind = POL_NET_EVENTS;
    q.id = 42;
    assert_int_equal(pol_net_request_encode(&q, &body, &body_len), POL_OK);
    assert_int_equal(pol_envelope_seal(POL_MSG_REQUEST, body, body_len, &KC, &env, &env_len),
                     POL_OK);
    env[env_len - 1] ^= 0x40; /* the last byte of the signature */
    assert_int_equal(pol_envelope_id(env, env_len, &id), POL_OK);
    assert_int_equal(raw_exchange(t->addr, env, env_len, &r), POL_OK);
    assert_int_equal(r.status, POL_ERR_SIGNATURE);
    assert_int_equal(r.id, 0);
    assert_memory_equal(r.request_id.b, id.b, 32);
    assert_true(strlen(r.error) > 0);
    pol_net_response_free(&r);
    free(env);

    /* A well-signed envelope of type 7 sent as a request. */
    assert_int_equal(pol_envelope_seal(POL_MSG_RESPONSE, body, body_len, &KC, &env, &env_len),
                     POL_OK);
    assert_int_equal(raw_exchange(t->addr, env, env_len, &r), POL_OK);
    assert_int_equal(r.status, POL_ERR_MISMATCH);
    pol_net_response_free(&r);
    free(env);

    /* A signed body that is not a Request. */
    uint8_t junk[5] = {0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(pol_envelope_seal(POL_MSG_REQUEST, junk, sizeof junk, &KC, &env, &env_len),
                     POL_OK);
    assert_int_equal(raw_exchange(t->addr, env, env_len, &r), POL_OK);
    assert_int_equal(r.status, POL_ERR_FORMAT);
    pol_net_response_free(&r);
    free(env);

    /* Not an envelope at all: the connection is closed without an answer. */
    assert_int_equal(raw_exchange(t->addr, junk, sizeof junk, &r), POL_ERR_NETWORK);

    /* Still serving. */
    pol_net_conn *c;
    uint8_t signer[32];
    assert_int_equal(pol_net_connect(t->addr, 2000, 0, PS, &c), POL_OK);
    assert_int_equal(pol_net_call(c, &KC, &q, &r, signer), POL_OK);
    assert_int_equal(r.id, 42);
    pol_net_response_free(&r);
    pol_net_close(c);
    free(body);
    server_stop(t);
}

/* ------------------------------------------------- a scripted fake server */

typedef enum { FAKE_SILENT, FAKE_HUGE, FAKE_TRUNCATED } fake_mode;

typedef struct fake {
    int lfd;
    uint16_t port;
    fake_mode mode;
    atomic_int done;
    pthread_t th;
    char addr[32];
} fake;

/* Accepts one connection, reads one frame, answers as scripted, then holds
 * the connection until told to stop. FAKE_SILENT never accepts. */
static void *fake_run(void *arg)
{
    fake *f = arg;
    int fd = -1;
    if (f->mode != FAKE_SILENT) {
        struct pollfd p = {f->lfd, POLLIN, 0};
        if (poll(&p, 1, 3000) == 1)
            fd = accept(f->lfd, NULL, NULL);
    }
    if (fd >= 0) {
        uint8_t *buf;
        size_t len;
        if (pol_net_frame_read(fd, 0, 3000, &buf, &len) == POL_OK)
            free(buf);
        if (f->mode == FAKE_HUGE) {
            const uint8_t hdr[4] = {0x7f, 0xff, 0xff, 0xff};
            (void)!send(fd, hdr, 4, MSG_NOSIGNAL);
        } else {
            uint8_t part[14] = {0, 0, 0, 100}; /* 100 promised, 10 sent */
            (void)!send(fd, part, sizeof part, MSG_NOSIGNAL);
            close(fd);
            fd = -1;
        }
    }
    while (!atomic_load(&f->done))
        usleep(5000);
    if (fd >= 0)
        close(fd);
    return NULL;
}

static fake *fake_start(fake_mode mode)
{
    fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->mode = mode;
    assert_int_equal(pol_net_listen("127.0.0.1:0", &f->lfd, &f->port), POL_OK);
    snprintf(f->addr, sizeof f->addr, "127.0.0.1:%u", f->port);
    assert_int_equal(pthread_create(&f->th, NULL, fake_run, f), 0);
    return f;
}

static void fake_stop(fake *f)
{
    atomic_store(&f->done, 1);
    pthread_join(f->th, NULL);
    close(f->lfd);
    free(f);
}

static pol_status call_fake(fake *f, int timeout_ms, int64_t *elapsed)
{
    pol_net_conn *c;
    pol_net_response r;
    uint8_t signer[32];
    pol_net_request q = {0};
    q.kind = POL_NET_EVENTS;
    assert_int_equal(pol_net_connect(f->addr, timeout_ms, 0, PS, &c), POL_OK);
    int64_t t0 = ms_now();
    pol_status s = pol_net_call(c, &KC, &q, &r, signer);
    *elapsed = ms_now() - t0;
    assert_int_equal(r.kind, 0);
    pol_net_close(c);
    return s;
}

/* [N-FRAME-2]: a response frame whose length exceeds the cap is refused at
 * once, without waiting for a body that never comes; on the server side, a
 * request frame over the server's cap closes the connection at once. */
static void test_frame_over_cap(void **st)
{
    (void)st;
    fake *f = fake_start(FAKE_HUGE);
    int64_t el;
    assert_int_equal(call_fake(f, 3000, &el), POL_ERR_TOO_LARGE);
    assert_true(el < 1500);
    fake_stop(f);

    server_thread *t = server_start(3000, 4096);
    int fd;
    uint8_t *buf;
    size_t len;
    const uint8_t hdr[4] = {0, 0, 0x10, 0x01}; /* 4097 > 4096 */
    assert_int_equal(pol_net_dial(t->addr, 1000, &fd), POL_OK);
    int64_t t0 = ms_now();
    assert_int_equal(send(fd, hdr, 4, MSG_NOSIGNAL), 4);
    assert_int_equal(pol_net_frame_read(fd, 0, 2500, &buf, &len), POL_ERR_NETWORK);
    el = ms_now() - t0;
    assert_true(el < 1500); /* closed on the header, not at the 3 s deadline */
    close(fd);
    /* The frame API refuses to write what no reader may accept. */
    assert_int_equal(pol_net_frame_write(0, hdr, 0, 100), POL_ERR_INVALID_ARG);
    server_stop(t);
}

/* [N-FRAME-3]: EOF in the middle of a frame is POL_ERR_NETWORK. */
static void test_truncated_frame(void **st)
{
    (void)st;
    fake *f = fake_start(FAKE_TRUNCATED);
    int64_t el;
    assert_int_equal(call_fake(f, 3000, &el), POL_ERR_NETWORK);
    assert_non_null(strstr(pol_last_error(), "closed"));
    fake_stop(f);
}

/* [N-TIME-1]: a server that accepts nothing and says nothing gives
 * POL_ERR_TIMEOUT at the deadline, not before and not much after. */
static void test_silent_server_timeout(void **st)
{
    (void)st;
    fake *f = fake_start(FAKE_SILENT);
    int64_t el;
    const int deadline = 300;
    assert_int_equal(call_fake(f, deadline, &el), POL_ERR_TIMEOUT);
    printf("silent server: POL_ERR_TIMEOUT after %lld ms (deadline %d ms)\n", (long long)el,
           deadline);
    assert_true(el >= deadline - 5);
    assert_true(el < deadline + 400);
    fake_stop(f);
}

/* [N-SERVE-1]: a client that connects and says nothing (or half a header)
 * does not delay other clients, and is cut off at the server's deadline. */
static void test_silent_client(void **st)
{
    (void)st;
    const int io = 400;
    server_thread *t = server_start(io, 0);
    int quiet, half;
    assert_int_equal(pol_net_dial(t->addr, 1000, &quiet), POL_OK);
    assert_int_equal(pol_net_dial(t->addr, 1000, &half), POL_OK);
    int64_t t0 = ms_now();
    assert_int_equal(send(half, "\0\0", 2, MSG_NOSIGNAL), 2);
    usleep(50000);

    pol_net_conn *c;
    pol_net_response r;
    uint8_t signer[32];
    pol_net_request q = {0};
    q.kind = POL_NET_EVENTS;
    assert_int_equal(pol_net_connect(t->addr, 2000, 0, PS, &c), POL_OK);
    int64_t t1 = ms_now();
    assert_int_equal(pol_net_call(c, &KC, &q, &r, signer), POL_OK);
    int64_t served = ms_now() - t1;
    pol_net_response_free(&r);
    pol_net_close(c);
    assert_true(served < io / 2);

    uint8_t *buf;
    size_t len;
    assert_int_equal(pol_net_frame_read(quiet, 0, 3000, &buf, &len), POL_ERR_NETWORK);
    assert_int_equal(pol_net_frame_read(half, 0, 3000, &buf, &len), POL_ERR_NETWORK);
    int64_t cut = ms_now() - t0;
    printf("silent clients: another call served in %lld ms; silent ones cut after %lld ms "
           "(server deadline %d ms)\n", (long long)served, (long long)cut, io);
    assert_true(cut >= io - 60);
    assert_true(cut < io + 1000);
    close(quiet);
    close(half);
    server_stop(t);
}

/* Seals `q` as a Request envelope signed by KC. */
static void seal_request(const pol_net_request *q, uint8_t **env, size_t *env_len)
{
    uint8_t *body;
    size_t body_len;
    assert_int_equal(pol_net_request_encode(q, &body, &body_len), POL_OK);
    assert_int_equal(pol_envelope_seal(POL_MSG_REQUEST, body, body_len, &KC, env, env_len),
                     POL_OK);
    free(body);
}

/* A client socket with a 16 KiB receive buffer (set before it connects),
 * connected to t: one that will leave a large answer unread. */
static int small_window_client(const server_thread *t)
{
    const int small = 16384;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(0x7f000001u);
    sa.sin_port = htons(pol_net_server_port(t->srv));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* [N-SERVE-6]: a client that asks for an answer larger than the socket
 * buffers and never reads it does not hold up the server: another client's
 * calls are answered promptly meanwhile, the unread answer's connection is
 * closed at its deadline (its answer cut short), and a client that does read
 * gets the same large answer whole. */
static void test_unread_answer(void **st)
{
    (void)st;
    const int io = 1000;
    const size_t big = 12u << 20; /* > the kernel's largest send buffer + receive buffer */
    server_thread *t = server_start(io, 0);
    uint8_t *query = rand_bytes(big), *env;
    size_t env_len;
    pol_net_request q = {0};
    q.kind = POL_NET_PIN; /* the answer is the query reversed: as large as the query */
    q.id = 77;
    q.data = query;
    q.data_len = big;
    seal_request(&q, &env, &env_len);

    /* The stuck client: a small receive buffer, set before it connects. */
    int stuck = small_window_client(t);
    int64_t t0 = ms_now();
    assert_int_equal(pol_net_frame_write(stuck, env, env_len, 3000), POL_OK);
    int64_t sent = ms_now() - t0;
    /* The first bytes of the answer arrive: the server has built and sealed
     * it (its CPU work is done) and is sending; the deadline runs. */
    struct pollfd pf = {stuck, POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 10000), 1);
    int64_t ta = ms_now();

    pol_net_conn *c;
    pol_net_response r;
    uint8_t signer[32];
    pol_net_request e = {0};
    e.kind = POL_NET_EVENTS;
    assert_int_equal(pol_net_connect(t->addr, 3000, 0, PS, &c), POL_OK);
    int64_t worst = 0;
    int calls = 0;
    while (ms_now() < ta + io / 2) {
        int64_t t1 = ms_now();
        e.id = (uint64_t)++calls;
        assert_int_equal(pol_net_call(c, &KC, &e, &r, signer), POL_OK);
        int64_t el = ms_now() - t1;
        worst = el > worst ? el : worst;
        assert_int_equal(r.status, 0);
        pol_net_response_free(&r);
        usleep(20000);
    }
    pol_net_close(c);

    /* Past the deadline the stuck connection is gone: what the kernel still
     * held arrives, then the end of the stream before the frame is whole. */
    int64_t wait = ta + io + 400 - ms_now();
    if (wait > 0)
        usleep((useconds_t)wait * 1000);
    printf("unread answer of %zu MiB: request sent in %lld ms, answer began at %lld ms; %d "
           "other calls served in at most %lld ms meanwhile (server deadline %d ms)\n",
           big >> 20, (long long)sent, (long long)(ta - t0), calls, (long long)worst, io);
    assert_true(worst < io / 4);
    assert_true(calls >= 5);
    uint8_t *buf;
    size_t len;
    assert_int_equal(pol_net_frame_read(stuck, 0, 5000, &buf, &len), POL_ERR_NETWORK);
    assert_non_null(strstr(pol_last_error(), "closed"));
    printf("stuck connection, read after its deadline (done at %lld ms): %s\n",
           (long long)(ms_now() - ta), pol_last_error());
    close(stuck);

    /* The same large answer, read: it arrives whole within the deadline.
     * (The request was sealed beforehand and the read has a long deadline:
     * signing and checking 12 MiB is slow under valgrind.) */
    int fd;
    uint8_t *rbody;
    size_t rbody_len;
    assert_int_equal(pol_net_dial(t->addr, 1000, &fd), POL_OK);
    int64_t t2 = ms_now();
    assert_int_equal(pol_net_frame_write(fd, env, env_len, 3000), POL_OK);
    assert_int_equal(pol_net_frame_read(fd, 0, 20000, &buf, &len), POL_OK);
    int64_t whole = ms_now() - t2;
    close(fd);
    assert_int_equal(pol_envelope_open(buf, len, POL_MSG_RESPONSE, &rbody, &rbody_len, signer),
                     POL_OK);
    assert_memory_equal(signer, PS, 32);
    assert_int_equal(pol_net_response_decode(rbody, rbody_len, &r), POL_OK);
    free(rbody);
    free(buf);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.id, 77);
    assert_int_equal(r.data_len, big);
    for (size_t i = 0; i < big; i++)
        if (r.data[i] != query[big - 1 - i])
            fail_msg("byte %zu of the answer differs", i);
    printf("the same answer read by a client: whole in %lld ms\n", (long long)whole);
    pol_net_response_free(&r);
    free(env);
    free(query);
    server_stop(t);
}

/* A PIN call with a `size`-byte query (the test handler answers it reversed). */
static void pin_call(pol_net_conn *c, size_t size, pol_net_response *r)
{
    uint8_t *query = rand_bytes(size), signer[32];
    pol_net_request q = {0};
    q.kind = POL_NET_PIN;
    q.id = 9;
    q.data = query;
    q.data_len = size;
    assert_int_equal(pol_net_call(c, &KC, &q, r, signer), POL_OK);
    if (r->status == 0) {
        assert_int_equal(r->data_len, size);
        for (size_t i = 0; i < size; i++)
            if (r->data[i] != query[size - 1 - i])
                fail_msg("byte %zu of the answer differs", i);
    }
    free(query);
}

/* [N-SERVE-7]: while an unread answer holds the queued bytes above the cap,
 * a large answer is refused as busy (a short error, nothing queued), a small
 * one is still given, and once the stuck connection is gone large answers
 * are given again. */
static void test_queued_cap(void **st)
{
    (void)st;
    const int io = 800;
    const size_t big = 12u << 20, mid = 200u << 10;
    g_max_queued = 1u << 20;
    server_thread *t = server_start(io, 0);
    g_max_queued = 0;
    uint8_t *query = rand_bytes(big), *env;
    size_t env_len;
    pol_net_request q = {0};
    q.kind = POL_NET_PIN;
    q.id = 5;
    q.data = query;
    q.data_len = big;
    seal_request(&q, &env, &env_len);
    int stuck = small_window_client(t);
    assert_int_equal(pol_net_frame_write(stuck, env, env_len, 3000), POL_OK);
    struct pollfd pf = {stuck, POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 10000), 1); /* its answer is queued and being sent */
    int64_t ta = ms_now();

    pol_net_conn *c;
    pol_net_response r;
    assert_int_equal(pol_net_connect(t->addr, 3000, 0, PS, &c), POL_OK);
    pin_call(c, mid, &r);
    assert_int_equal(r.status, POL_ERR_NETWORK);
    assert_non_null(strstr(r.error, "busy"));
    printf("queued cap: a %zu KiB answer while %zu MiB wait unread: %s\n", mid >> 10, big >> 20,
           r.error);
    pol_net_response_free(&r);
    pin_call(c, 1000, &r); /* small answers still go through */
    assert_int_equal(r.status, 0);
    pol_net_response_free(&r);
    pol_net_close(c);

    int64_t wait = ta + io + 400 - ms_now();
    if (wait > 0)
        usleep((useconds_t)wait * 1000);
    close(stuck);
    assert_int_equal(pol_net_connect(t->addr, 3000, 0, PS, &c), POL_OK);
    pin_call(c, mid, &r); /* the stuck answer is gone: given again */
    assert_int_equal(r.status, 0);
    pol_net_response_free(&r);
    pol_net_close(c);
    free(env);
    free(query);
    server_stop(t);
}

/* [N-BLOB-1]: bytes that do not hash to the asked hash are refused; a blob
 * over the caller's cap is refused before its body is read. */
static void test_blob_checks(void **st)
{
    (void)st;
    server_thread *t = server_start(2000, 0);
    pol_net_conn *c;
    uint8_t *blob;
    size_t blen;
    atomic_store(&t->st.lie, 1);
    assert_int_equal(pol_net_connect(t->addr, 2000, 0, PS, &c), POL_OK);
    assert_int_equal(pol_net_fetch_blob(c, &KC, &t->st.blob_hash, 4096, &blob, &blen),
                     POL_ERR_HASH_MISMATCH);
    assert_null(blob);
    assert_int_equal(blen, 0);
    pol_net_close(c);
    atomic_store(&t->st.lie, 0);
    assert_int_equal(pol_net_connect(t->addr, 2000, 0, PS, &c), POL_OK);
    assert_int_equal(pol_net_fetch_blob(c, &KC, &t->st.blob_hash, 999, &blob, &blen),
                     POL_ERR_TOO_LARGE);
    pol_net_close(c);
    assert_int_equal(pol_net_connect(t->addr, 2000, 0, PS, &c), POL_OK);
    assert_int_equal(pol_net_fetch_blob(c, &KC, &t->st.blob_hash, 1000, &blob, &blen), POL_OK);
    assert_int_equal(blen, 1000);
    free(blob);
    pol_net_close(c);
    server_stop(t);
}

/* [N-ADDR-2]: nobody listening gives POL_ERR_NETWORK. */
/* --------------------------------------------- a party's mirror (roles) */

/* A referee that lies in one way (mode) to a party's mirror
 * (pol/roles.h): its log is a genesis and one event. */
typedef enum { REF_HONEST, REF_GENESIS_OTHER, REF_SEQ_GAP, REF_BAD_EVENT } ref_mode;
typedef struct fake_referee {
    ref_mode mode;
    uint8_t *genesis; /* names KS, or KO for REF_GENESIS_OTHER */
    size_t genesis_len;
} fake_referee;

static pol_status fake_referee_handler(void *ctx, const uint8_t signer[32],
                                       const pol_net_request *req, const pol_digest *request_id,
                                       pol_net_response *resp)
{
    const fake_referee *f = ctx;
    (void)signer, (void)request_id;
    resp->kind = req->kind;
    if (req->kind != POL_NET_EVENTS)
        return pol_errorf(POL_ERR_UNSUPPORTED, "this referee only tells its log");
    resp->head_seq = f->mode == REF_SEQ_GAP ? 2 : 1;
    if (req->events_from > 1)
        return POL_OK;
    if (!(resp->events = calloc(1, sizeof *resp->events)))
        return pol_errorf(POL_ERR_NOMEM, "events");
    resp->n_events = 1;
    resp->events[0].seq = f->mode == REF_SEQ_GAP ? 2 : 1; /* SEQ_GAP: event 1 left out */
    resp->events[0].time_ms = 5000; /* a tick, or an action that is no envelope */
    if (f->mode == REF_BAD_EVENT) {
        if (!(resp->events[0].action = malloc(3)))
            return pol_errorf(POL_ERR_NOMEM, "action");
        memcpy(resp->events[0].action, "xyz", 3);
        resp->events[0].action_len = 3;
    }
    if (req->events_from == 0) {
        if (!(resp->genesis = malloc(f->genesis_len)))
            return pol_errorf(POL_ERR_NOMEM, "genesis");
        memcpy(resp->genesis, f->genesis, f->genesis_len);
        resp->genesis_len = f->genesis_len;
    }
    return POL_OK;
}

/* A mirror takes nothing on the referee's word: it opens on an honest log
 * (the tick applied) and refuses a genesis that names another referee than
 * the signer, a referee other than the one it was told, a log that leaves
 * out an event and an event its own game refuses. */
static void test_mirror_refuses_a_lying_referee(void **st)
{
    (void)st;
    pol_genesis_account acct = { .balance = 1000 };
    memcpy(acct.key, PC, 32);
    pol_genesis g = { .n_accounts = 1, .accounts = &acct, .solve_window_ms = 60000,
                      .verify_window_ms = 60000, .challenge_window_ms = 60000,
                      .reveal_window_ms = 60000, .dispute_window_ms = 60000,
                      .genesis_time_ms = 1000 };
    static const struct {
        ref_mode mode;
        int tell_key; /* the mirror is told the referee's key: 1 KS, 2 KO (wrong) */
        pol_status want;
        const char *msg;
    } cases[] = {
        { REF_HONEST, 0, POL_OK, NULL },
        { REF_HONEST, 1, POL_OK, NULL },
        { REF_HONEST, 2, POL_ERR_SIGNATURE, NULL },
        { REF_GENESIS_OTHER, 0, POL_ERR_SIGNATURE, "genesis names another referee" },
        { REF_SEQ_GAP, 0, POL_ERR_MISMATCH, NULL },
        { REF_BAD_EVENT, 0, POL_ERR_MISMATCH, "does not apply here" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fake_referee f = { .mode = cases[c].mode };
        memcpy(g.referee_key, cases[c].mode == REF_GENESIS_OTHER ? PO : PS, 32);
        assert_int_equal(pol_genesis_encode(&g, &f.genesis, &f.genesis_len), POL_OK);
        server_thread *t = server_start_with(fake_referee_handler, &f, 2000, 0);
        pol_mirror *m = NULL;
        const uint8_t *key = cases[c].tell_key == 1 ? PS : cases[c].tell_key == 2 ? PO : NULL;
        const pol_status got = pol_mirror_open(t->addr, &KC, key, 2000, &m);
        if (got != cases[c].want || (cases[c].msg && !strstr(pol_last_error(), cases[c].msg)))
            fail_msg("case %zu: want %s%s%s, got %s (%s)", c, pol_strerror(cases[c].want),
                     cases[c].msg ? " saying " : "", cases[c].msg ? cases[c].msg : "",
                     pol_strerror(got), got ? pol_last_error() : "");
        if (got == POL_OK) {
            assert_int_equal(pol_mirror_head(m), 1);
            assert_int_equal(pol_mirror_sync(m, NULL), POL_OK); /* nothing new */
            assert_int_equal(pol_mirror_head(m), 1);
        } else {
            assert_null(m);
        }
        pol_mirror_close(m);
        server_stop(t);
        free(f.genesis);
    }
}

/* A party server that answers every BLOB request with the same bytes. */
typedef struct fixed_blob {
    uint8_t *bytes;
    size_t len;
} fixed_blob;

static pol_status fixed_blob_handler(void *ctx, const uint8_t signer[32],
                                     const pol_net_request *req, const pol_digest *request_id,
                                     pol_net_response *resp)
{
    const fixed_blob *b = ctx;
    (void)signer, (void)request_id;
    if (req->kind != POL_NET_BLOB)
        return pol_errorf(POL_ERR_UNSUPPORTED, "this party only serves blobs");
    if (!(resp->data = malloc(b->len)))
        return pol_errorf(POL_ERR_NOMEM, "blob");
    memcpy(resp->data, b->bytes, b->len);
    resp->data_len = b->len;
    resp->kind = POL_NET_BLOB;
    return POL_OK;
}

/* A checkpoint is fetched by its state hash (pol_role_fetch_checkpoint):
 * bytes that hold another state are refused and nothing is stored; the
 * right ones are stored under the state hash, and a second fetch is
 * answered from the store. */
static void test_fetch_checkpoint_checks_the_state(void **st)
{
    (void)st;
    char dir[1100], path[1300], hex[65];
    snprintf(dir, sizeof dir, "%s/fetched", tu_tmpdir());
    pol_tensor w;
    assert_int_equal(pol_tensor_alloc(&w, "l1.W", POL_F32, 2, (int64_t[]){ 2, 2 }), POL_OK);
    pol_digest want;
    const pol_tensor *ts[1] = { &w };
    uint8_t *right, *wrong;
    size_t n_right, n_wrong;
    pol_f32(&w)[3] = 1.5f;
    assert_int_equal(pol_state_hash(ts, 1, &want), POL_OK);
    assert_int_equal(pol_st_serialize(ts, 1, NULL, 0, &right, &n_right), POL_OK);
    pol_f32(&w)[3] = 2.5f;
    assert_int_equal(pol_st_serialize(ts, 1, NULL, 0, &wrong, &n_wrong), POL_OK);
    pol_tensor_free(&w);
    pol_digest_to_hex(&want, hex);
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, hex);
    for (int honest = 0; honest < 2; honest++) {
        fixed_blob b = { honest ? right : wrong, honest ? n_right : n_wrong };
        server_thread *t = server_start_with(fixed_blob_handler, &b, 2000, 0);
        pol_net_conn *c;
        assert_int_equal(pol_net_connect(t->addr, 2000, 0, PS, &c), POL_OK);
        const pol_status got = pol_role_fetch_checkpoint(c, &KC, &want, dir);
        pol_net_close(c);
        server_stop(t);
        if (!honest) {
            assert_int_equal(got, POL_ERR_HASH_MISMATCH);
            assert_non_null(strstr(pol_last_error(), "the bytes received hold another state"));
            assert_int_equal(access(path, F_OK), -1);
            continue;
        }
        assert_int_equal(got, POL_OK);
        uint8_t *stored;
        size_t n_stored;
        assert_int_equal(pol_read_file(path, 1 << 20, &stored, &n_stored), POL_OK);
        assert_int_equal(n_stored, n_right);
        assert_memory_equal(stored, right, n_right);
        free(stored);
        /* there already: no call is made (the closed connection is not used) */
        assert_int_equal(pol_role_fetch_checkpoint(NULL, &KC, &want, dir), POL_OK);
    }
    free(right);
    free(wrong);
}

static void test_connection_refused(void **st)
{
    (void)st;
    int lfd, fd;
    uint16_t port;
    char addr[32];
    assert_int_equal(pol_net_listen("localhost:0", &lfd, &port), POL_OK);
    close(lfd);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    assert_int_equal(pol_net_dial(addr, 1000, &fd), POL_ERR_NETWORK);
    assert_int_equal(fd, -1);
    pol_net_conn *c;
    assert_int_equal(pol_net_connect(addr, 1000, 0, NULL, &c), POL_ERR_NETWORK);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_roundtrip),
        cmocka_unit_test(test_codec_truncated),
        cmocka_unit_test(test_codec_hostile),
        cmocka_unit_test(test_addr_parse),
        cmocka_unit_test(test_roundtrip_all_kinds),
        cmocka_unit_test(test_large_request),
        cmocka_unit_test(test_unexpected_server_key),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_frame_over_cap),
        cmocka_unit_test(test_truncated_frame),
        cmocka_unit_test(test_silent_server_timeout),
        cmocka_unit_test(test_silent_client),
        cmocka_unit_test(test_unread_answer),
        cmocka_unit_test(test_queued_cap),
        cmocka_unit_test(test_blob_checks),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_mirror_refuses_a_lying_referee),
        cmocka_unit_test(test_fetch_checkpoint_checks_the_state),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
