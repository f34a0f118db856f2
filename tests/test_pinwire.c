/* Pinpoint disputes over the wire (spec/pinpoint-wire.md): the PinQuery /
 * PinAnswer codec, tensor blobs, and disputes whose parties are reached
 * through an in-memory transport (call -> pol_pin_serve on a replayer,
 * fetch -> a blob table the sink fills). A dispute through remote parties
 * must end exactly as the same dispute run directly; a transport that lies
 * makes its party lose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pinpoint.pb-c.h"
#include "../lib/protocol/blob_cache.h"
#include "pol/pinwire.h"
#include "testutil.h"

#define TASK "spec/vectors/tiny/adamw-gelu.json" /* 14 steps, k = 4, 35 nodes, 21 state tensors */

static pol_task task;
static pol_dataset ds;
static pol_ctx *ctx;
static pol_replayer *honest;
static pol_party honest_party;
static char dir[1024];
static tu_rng rng;

static int setup(void **st)
{
    (void)st;
    tu_rng_init(&rng, tu_seed());
    if (pol_task_load(TASK, &task) ||
        pol_dataset_load(task.dataset_path, &task.dataset_sha256, 6, 3, &ds) ||
        pol_ctx_create(&ctx, NULL))
        return -1;
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/honest", dir);
    if (pol_replayer_create(&honest, ctx, &task, &ds, sub, NULL))
        return -1;
    honest_party = pol_replayer_party(honest, "honest");
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    pol_replayer_destroy(honest);
    pol_dataset_free(&ds);
    pol_ctx_destroy(ctx);
    return 0;
}

static pol_replayer *cheater(pol_cheat_kind kind, uint64_t step, int node)
{
    static int n;
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/cheat%d", dir, n++);
    pol_cheat c = { kind, step, node };
    pol_replayer *rp;
    assert_int_equal(pol_replayer_create(&rp, ctx, &task, &ds, sub, &c), POL_OK);
    return rp;
}

static void random_digest(pol_digest *d)
{
    for (int i = 0; i < 32; i++)
        d->b[i] = (uint8_t)tu_next(&rng);
}

/* ============================================ the in-memory transport == */

typedef enum hostility {
    HONEST = 0,
    BAD_SEQ,   /* the echoed seq is off by one */
    BAD_ID,    /* the echoed dispute id has one bit flipped */
    TRUNCATE,  /* the answer loses its last byte */
    FLIP_BLOB, /* a fetched blob has one byte flipped */
} hostility;

typedef struct blob {
    pol_digest h;
    uint8_t *b;
    size_t n;
    int fetched; /* times mem_fetch served it */
} blob;

typedef struct mem_io {
    const pol_party *local;
    const pol_pin_served *served; /* when non-NULL: answers instead of local */
    pol_digest id;
    blob *blobs;
    size_t n_blobs, cap_blobs;
    hostility how;
    uint32_t when_kind; /* the query kind whose answer is spoiled (not FLIP_BLOB) */
    int spoiled;        /* times the hostility struck */
} mem_io;

static pol_status sink(void *arg, const pol_digest *h, const uint8_t *b, size_t n)
{
    mem_io *io = arg;
    for (size_t i = 0; i < io->n_blobs; i++)
        if (pol_digest_equal(&io->blobs[i].h, h))
            return POL_OK;
    if (io->n_blobs == io->cap_blobs) {
        io->cap_blobs = io->cap_blobs ? 2 * io->cap_blobs : 16;
        io->blobs = realloc(io->blobs, io->cap_blobs * sizeof *io->blobs);
        assert_non_null(io->blobs);
    }
    blob *e = &io->blobs[io->n_blobs++];
    e->h = *h, e->n = n, e->fetched = 0, e->b = malloc(n ? n : 1);
    assert_non_null(e->b);
    memcpy(e->b, b, n);
    return POL_OK;
}

static pol_status mem_call(void *arg, const uint8_t *q, size_t qlen, uint8_t **a, size_t *alen)
{
    mem_io *io = arg;
    pol_status st = io->served ? pol_pin_serve_any(io->served, &io->id, q, qlen, sink, io, a, alen)
                               : pol_pin_serve(io->local, &io->id, q, qlen, sink, io, a, alen);
    if (st != POL_OK || io->how == HONEST || io->how == FLIP_BLOB || io->spoiled)
        return st;
    pol_pin_query qq;
    assert_int_equal(pol_pin_query_decode(q, qlen, &qq), POL_OK);
    if (qq.kind != io->when_kind)
        return st;
    io->spoiled++;
    if (io->how == TRUNCATE) {
        (*alen)--;
        return st;
    }
    pol_pin_answer *x = malloc(sizeof *x);
    assert_non_null(x);
    assert_int_equal(pol_pin_answer_decode(*a, *alen, x), POL_OK);
    free(*a);
    if (io->how == BAD_SEQ)
        x->seq++;
    else
        x->dispute_id.b[7] ^= 0x10;
    assert_int_equal(pol_pin_answer_encode(x, a, alen), POL_OK);
    free(x);
    return st;
}

static pol_status mem_fetch(void *arg, const pol_digest *h, uint8_t **b, size_t *n)
{
    mem_io *io = arg;
    for (size_t i = 0; i < io->n_blobs; i++) {
        if (!pol_digest_equal(&io->blobs[i].h, h))
            continue;
        io->blobs[i].fetched++;
        *n = io->blobs[i].n;
        *b = malloc(*n ? *n : 1);
        assert_non_null(*b);
        memcpy(*b, io->blobs[i].b, *n);
        if (io->how == FLIP_BLOB && !io->spoiled++)
            (*b)[*n - 1] ^= 0x01; /* the last data byte */
        return POL_OK;
    }
    return pol_errorf(POL_ERR_NOT_FOUND, "no such blob");
}

static void mem_free(mem_io *io)
{
    for (size_t i = 0; i < io->n_blobs; i++)
        free(io->blobs[i].b);
    free(io->blobs);
}

/* ============================================================ disputes == */

static pol_dispute_result direct, remote;
static pol_pin_remote_stats stats[2];

static void run_direct(const pol_party *s, const pol_party *c)
{
    pol_dispute_opts o = { .arity = 2 };
    assert_int_equal(pol_dispute_run(&task, &ds, s, c, &o, &direct), POL_OK);
}

/* The dispute between s and c with both reached over the transport; the
 * solver's transport is spoiled as hs says at kind ks, the challenger's as
 * hc at kc. */
static void run_remote(const pol_party *s, const pol_party *c, hostility hs, uint32_t ks,
                       hostility hc, uint32_t kc)
{
    mem_io io[2] = { { .local = s, .how = hs, .when_kind = ks },
                     { .local = c, .how = hc, .when_kind = kc } };
    pol_pin_remote *rp[2];
    pol_party view[2];
    random_digest(&io[0].id);
    io[1].id = io[0].id;
    for (int w = 0; w < 2; w++) {
        pol_pin_transport tr = { &io[w], mem_call, mem_fetch };
        assert_int_equal(pol_pin_remote_create(&rp[w], &io[w].id, &tr), POL_OK);
        view[w] = pol_pin_remote_party(rp[w], w ? c->name : s->name);
    }
    pol_dispute_opts o = { .arity = 2 };
    assert_int_equal(pol_dispute_run(&task, &ds, &view[0], &view[1], &o, &remote), POL_OK);
    for (int w = 0; w < 2; w++) {
        stats[w] = pol_pin_remote_get_stats(rp[w]);
        /* a spoiled answer is refused, and the dispute asks that party no more */
        assert_int_equal(stats[w].failures, io[w].how ? 1 : 0);
        assert_int_equal(io[w].spoiled, io[w].how ? 1 : 0);
        pol_pin_remote_destroy(rp[w]);
        mem_free(&io[w]);
    }
    print_message("    %-10s vs %-10s: %s loses, %s; %llu + %llu queries, %llu + %llu answer "
                  "bytes, %llu blobs of %llu bytes\n", s->name, c->name,
                  remote.loser ? "challenger" : "solver", pol_dispute_reason_name(remote.reason),
                  (unsigned long long)stats[0].queries, (unsigned long long)stats[1].queries,
                  (unsigned long long)stats[0].bytes_answers,
                  (unsigned long long)stats[1].bytes_answers, (unsigned long long)stats[0].blobs,
                  (unsigned long long)stats[0].bytes_blobs);
}

/* PW-SERVE-1 / PW-ECHO-1 end to end: the same dispute, the same result. */
static void expect_same(void)
{
    assert_int_equal(remote.loser, direct.loser);
    assert_int_equal(remote.reason, direct.reason);
    assert_string_equal(remote.why, direct.why);
    assert_int_equal(remote.kind, direct.kind);
    assert_int_equal(remote.interval, direct.interval);
    assert_int_equal(remote.step, direct.step);
    assert_int_equal(remote.node, direct.node);
    assert_int_equal(remote.rounds, direct.rounds);
    assert_memory_equal(remote.rounds_level, direct.rounds_level, sizeof direct.rounds_level);
    assert_int_equal(remote.bytes, direct.bytes); /* the opening arrived whole */
    assert_int_equal(remote.referee_nodes, direct.referee_nodes);
}

static void both_ways(const pol_party *s, const pol_party *c)
{
    run_direct(s, c);
    run_remote(s, c, HONEST, 0, HONEST, 0);
    expect_same();
    /* every query was answered: the seq counts them all */
    assert_true(stats[0].queries > 0 && stats[1].queries > 0);
    assert_true(stats[0].bytes_sent > 0 && stats[0].bytes_answers > 0);
    assert_int_equal(stats[1].blobs, 0); /* only the solver opens */
    if (direct.kind == POL_PIN_NODE || direct.kind == POL_PIN_STATE)
        assert_true(stats[0].blobs > 0 && stats[0].bytes_blobs > 0);
}

static void test_every_cheat(void **st)
{
    (void)st;
    static const pol_cheat cheats[] = {
        { POL_CHEAT_TAMPER_NODE, 6, 19 }, { POL_CHEAT_TAMPER_NODE, 0, 0 },
        { POL_CHEAT_TAMPER_NODE, 13, 34 }, { POL_CHEAT_SKIP_STEP, 7, 0 },
        { POL_CHEAT_WRONG_DATA, 10, 0 },  { POL_CHEAT_WRONG_COUNT, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cheats / sizeof cheats[0]; i++) {
        pol_replayer *c = cheater(cheats[i].kind, cheats[i].step, cheats[i].node);
        pol_party cp = pol_replayer_party(c, "cheat");
        both_ways(&cp, &honest_party);
        assert_int_equal(remote.loser, POL_PARTY_SOLVER);
        both_ways(&honest_party, &cp);
        assert_int_equal(remote.loser, POL_PARTY_CHALLENGER);
        pol_replayer_destroy(c);
    }
    /* protocol-level lies on top of a tampered run, as in test_pinpoint */
    pol_replayer *t = cheater(POL_CHEAT_TAMPER_NODE, 6, 19);
    pol_party tp = pol_replayer_party(t, "tamper");
    pol_replayer *x = cheater(POL_CHEAT_CONTRADICT, 0, 0);
    pol_party xp = pol_replayer_party(x, "contradict");
    both_ways(&xp, &tp);
    assert_int_equal(remote.reason, POL_DISPUTE_CONTRADICTION);
    pol_replayer *b = cheater(POL_CHEAT_BAD_PROOF, 0, 0);
    pol_party bp = pol_replayer_party(b, "badproof");
    both_ways(&bp, &tp);
    assert_int_equal(remote.reason, POL_DISPUTE_INVALID_PROOF);
    /* nobody cheats: no disagreement */
    both_ways(&honest_party, &honest_party);
    assert_int_equal(remote.reason, POL_DISPUTE_NO_DISAGREEMENT);
    pol_replayer_destroy(t);
    pol_replayer_destroy(x);
    pol_replayer_destroy(b);
}

/* PW-ECHO-1, PW-BLOB-4: a transport that spoils one answer or blob of an
 * honest party makes it lose with NO_ANSWER: the remote view refuses the
 * bytes, so the referee never receives anything it could judge. */
static void test_hostile_transport(void **st)
{
    (void)st;
    pol_replayer *t = cheater(POL_CHEAT_TAMPER_NODE, 6, 19);
    pol_party tp = pol_replayer_party(t, "tamper");
    static const struct { hostility how; uint32_t kind; int who; int level; } cases[] = {
        { BAD_SEQ, POL_PINQ_SUBTREE, POL_PARTY_SOLVER, 3 },
        { BAD_SEQ, POL_PINQ_COMMIT, POL_PARTY_CHALLENGER, 1 },
        { BAD_ID, POL_PINQ_STATE, POL_PARTY_CHALLENGER, 2 },
        { BAD_ID, POL_PINQ_OPEN, POL_PARTY_SOLVER, 4 },
        { TRUNCATE, POL_PINQ_OPEN, POL_PARTY_SOLVER, 4 },
        { TRUNCATE, POL_PINQ_ROOTS, POL_PARTY_CHALLENGER, 3 },
        { TRUNCATE, POL_PINQ_CKPT, POL_PARTY_SOLVER, 1 },
        { FLIP_BLOB, 0, POL_PARTY_SOLVER, 4 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* the honest party is the one whose transport lies */
        const int who = cases[i].who;
        const pol_party *s = who == POL_PARTY_SOLVER ? &honest_party : &tp;
        const pol_party *c = who == POL_PARTY_SOLVER ? &tp : &honest_party;
        run_remote(s, c, who == POL_PARTY_SOLVER ? cases[i].how : HONEST, cases[i].kind,
                   who == POL_PARTY_CHALLENGER ? cases[i].how : HONEST, cases[i].kind);
        if (remote.loser != who || remote.reason != POL_DISPUTE_NO_ANSWER)
            fail_msg("case %zu: %s lost, %s: %s", i, remote.loser ? "challenger" : "solver",
                     pol_dispute_reason_name(remote.reason), remote.why);
        if (cases[i].level == 4)
            assert_int_equal(remote.kind, POL_PIN_NODE); /* it reached the opening */
    }
    pol_replayer_destroy(t);
}

/* ================================================================ codec == */

static void fill_proof(pol_pin_wire_proof *p, int with_rec)
{
    p->has_tensor = 1;
    random_digest(&p->tensor);
    p->index = tu_next(&rng);
    p->path_len = 1 + tu_next(&rng) % POL_MERKLE_PATH_MAX;
    for (size_t i = 0; i < p->path_len; i++)
        random_digest(&p->path[i]);
    if (with_rec) {
        p->has_rec = 1;
        p->rec.op = POL_OP_ADAMW_PARAM, p->rec.n_in = POL_NODE_MAX_IN;
        p->rec.params.trans_a = -1, p->rec.params.beta1 = 0.9f, p->rec.params.wd = 1e-2f;
        for (int k = 0; k < POL_NODE_MAX_IN; k++)
            random_digest(&p->rec.in[k]);
        random_digest(&p->rec.out);
    }
}

static pol_pin_answer *open_answer(void)
{
    pol_pin_answer *a = calloc(1, sizeof *a);
    assert_non_null(a);
    random_digest(&a->dispute_id);
    a->seq = 7, a->kind = POL_PINQ_OPEN;
    pol_pin_wire_opening *o = &a->opening;
    o->has_rec = 1;
    o->rec.op = POL_OP_MATMUL, o->rec.n_in = 2, o->rec.params.trans_b = 1;
    random_digest(&o->rec.in[0]), random_digest(&o->rec.in[1]), random_digest(&o->rec.out);
    o->has_end = 1;
    random_digest(&o->end);
    random_digest(&o->start_root);
    o->n_in = POL_NODE_MAX_IN;
    for (int k = 0; k < o->n_in; k++)
        fill_proof(&o->in[k], k & 1);
    o->has_counters = 1;
    for (int c = 0; c < 3; c++)
        fill_proof(&o->counters[c], 0);
    return a;
}

static void expect_answer_fails(const uint8_t *b, size_t n, pol_status want, const char *why)
{
    pol_pin_answer *x = malloc(sizeof *x);
    assert_non_null(x);
    pol_status st = pol_pin_answer_decode(b, n, x);
    if (st != want)
        fail_msg("%s: decode gave %s (%s), want %s", why, pol_strerror(st), pol_last_error(),
                 pol_strerror(want));
    assert_true(pol_last_error()[0] != '\0');
    static const pol_pin_answer zero;
    assert_memory_equal(x, &zero, sizeof zero); /* zeroed on failure */
    free(x);
}

/* PW-ANS-1..3: encode and decode are inverse; the encoding is canonical. */
static void test_answer_roundtrip(void **st)
{
    (void)st;
    pol_pin_answer *a = open_answer(), *b = malloc(sizeof *b);
    assert_non_null(b);
    uint8_t *buf, *re;
    size_t len, re_len;
    assert_int_equal(pol_pin_answer_encode(a, &buf, &len), POL_OK);
    assert_true(len <= POL_PINWIRE_MAX_ANSWER);
    assert_int_equal(pol_pin_answer_decode(buf, len, b), POL_OK);
    assert_memory_equal(a, b, sizeof *a);
    assert_int_equal(pol_pin_answer_encode(b, &re, &re_len), POL_OK);
    assert_int_equal(re_len, len);
    assert_memory_equal(re, buf, len);
    /* PW-CAP-1: the largest answer (every path full) fits the cap */
    for (int k = 0; k < POL_NODE_MAX_IN; k++)
        a->opening.in[k].path_len = POL_MERKLE_PATH_MAX;
    for (int c = 0; c < 3; c++)
        a->opening.counters[c].path_len = POL_MERKLE_PATH_MAX, a->opening.counters[c].has_rec = 1;
    for (int k = 0; k < POL_NODE_MAX_IN; k++)
        a->opening.in[k].has_rec = 1, a->opening.in[k].rec = a->opening.in[1].rec;
    for (int c = 0; c < 3; c++)
        a->opening.counters[c].rec = a->opening.in[1].rec;
    free(re);
    assert_int_equal(pol_pin_answer_encode(a, &re, &re_len), POL_OK);
    print_message("    open answer: %zu bytes; the largest possible: %zu (cap %u)\n", len, re_len,
                  POL_PINWIRE_MAX_ANSWER);
    assert_true(re_len < POL_PINWIRE_MAX_ANSWER / 2);
    free(re);
    /* every proper prefix of an OPEN answer fails (the opening is last) */
    for (size_t n = 0; n < len; n++)
        expect_answer_fails(buf, n, POL_ERR_FORMAT, "truncated");
    free(buf);
    /* the other kinds, with their shapes */
    for (uint32_t kind = POL_PINQ_COMMIT; kind < POL_PINQ_OPEN; kind++) {
        pol_pin_answer *c = calloc(1, sizeof *c);
        assert_non_null(c);
        random_digest(&c->dispute_id);
        c->seq = 1 + kind, c->kind = kind;
        c->n_digests = kind == POL_PINQ_ROOTS ? 2 : 1;
        random_digest(&c->digests[0]), random_digest(&c->digests[1]);
        if (kind == POL_PINQ_ROOTS) {
            assert_int_equal(pol_pin_answer_encode(c, &buf, &len), POL_OK);
            for (size_t n = 0; n < len; n++) /* losing a digest is refused */
                expect_answer_fails(buf, n, POL_ERR_FORMAT, "truncated roots");
            free(buf);
        } else {
            c->digests[1] = (pol_digest){ { 0 } };
        }
        if (kind == POL_PINQ_COMMIT)
            c->n = 5;
        if (kind == POL_PINQ_CKPT)
            c->path_len = POL_MERKLE_PATH_MAX;
        assert_int_equal(pol_pin_answer_encode(c, &buf, &len), POL_OK);
        assert_int_equal(pol_pin_answer_decode(buf, len, b), POL_OK);
        assert_memory_equal(c, b, sizeof *c);
        expect_answer_fails(buf, len - 1, POL_ERR_FORMAT, "last byte cut");
        free(buf);
        /* shape rules hold for the encoder too */
        c->n_digests = kind == POL_PINQ_ROOTS ? 1 : 2;
        assert_int_equal(pol_pin_answer_encode(c, &buf, &len), POL_ERR_INVALID_ARG);
        assert_null(buf);
        free(c);
    }
    free(a);
    free(b);
}

/* Packs a hand-built PinAnswer (what a hostile party may send). */
static void pack(const Pol__V1__PinAnswer *m, uint8_t **buf, size_t *len)
{
    *len = pol__v1__pin_answer__get_packed_size(m);
    *buf = malloc(*len + 16);
    assert_non_null(*buf);
    assert_int_equal(pol__v1__pin_answer__pack(m, *buf), *len);
}

/* PW-ANS-1, PW-ANS-3, PW-REC-1, PW-REC-2, W-UNKNOWN-1, W-CANON-1. */
static void test_answer_rejects(void **st)
{
    (void)st;
    static uint8_t d[POL_MERKLE_PATH_MAX + 1][32];
    ProtobufCBinaryData path[POL_MERKLE_PATH_MAX + 1];
    for (int i = 0; i <= POL_MERKLE_PATH_MAX; i++)
        d[i][0] = (uint8_t)i, path[i].len = 32, path[i].data = d[i];
    Pol__V1__PinAnswer m;
    pol__v1__pin_answer__init(&m);
    m.dispute_id = path[0], m.seq = 3, m.kind = POL_PINQ_CKPT;
    m.n_digests = 1, m.digests = path;
    m.n_path = POL_MERKLE_PATH_MAX, m.path = path;
    uint8_t *buf;
    size_t len;
    pol_pin_answer *a = malloc(sizeof *a);
    assert_non_null(a);
    pack(&m, &buf, &len);
    assert_int_equal(pol_pin_answer_decode(buf, len, a), POL_OK); /* 64 entries: fine */
    /* an unknown field (number 15, varint 1) appended */
    buf[len] = 0x78, buf[len + 1] = 0x01;
    expect_answer_fails(buf, len + 2, POL_ERR_FORMAT, "unknown field");
    assert_non_null(strstr(pol_last_error(), "unknown field"));
    free(buf);
    m.n_path = POL_MERKLE_PATH_MAX + 1; /* too many path entries */
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "65 path entries");
    free(buf);
    m.n_path = 1;
    path[1].len = 31; /* a short digest (path[1] is also digests[1], unused here) */
    m.path = &path[1];
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "31-byte path entry");
    free(buf);
    path[1].len = 32;
    m.dispute_id.len = 33;
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "33-byte dispute id");
    free(buf);
    m.dispute_id.len = 32;
    m.kind = POL_PINQ_STATE; /* a path where the kind has none */
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "state with a path");
    free(buf);
    m.n_path = 0, m.seq = 0; /* seq 0 */
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "seq 0");
    free(buf);
    m.seq = 3, m.kind = 12; /* an unknown kind */
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "kind 12");
    free(buf);
    /* PW-ANS-4: the challenger's names */
    m.kind = POL_PINQ_TRACE, m.n_path = 2, m.path = path; /* a trace: a digest and a path */
    pack(&m, &buf, &len);
    assert_int_equal(pol_pin_answer_decode(buf, len, a), POL_OK);
    free(buf);
    m.n_path = 0, m.kind = POL_PINQ_NAME_LEAF, m.n_digests = 0, m.index = 34, m.tree = 1;
    pack(&m, &buf, &len);
    assert_int_equal(pol_pin_answer_decode(buf, len, a), POL_OK);
    assert_int_equal(a->index, 34);
    assert_int_equal(a->tree, 1);
    free(buf);
    m.tree = 2;
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "leaf in tree 2");
    free(buf);
    m.tree = 1, m.n_digests = 1;
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "a name with a digest");
    free(buf);
    m.n_digests = 0, m.kind = POL_PINQ_NAME_STEP;
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "a step with a tree");
    free(buf);
    m.tree = 0, m.kind = POL_PINQ_NAME_INTERVAL, m.found = 1;
    pack(&m, &buf, &len);
    assert_int_equal(pol_pin_answer_decode(buf, len, a), POL_OK);
    assert_int_equal(a->found, 1);
    free(buf);
    m.found = 0;
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "a withdrawal that names an interval");
    free(buf);
    m.found = 1, m.kind = POL_PINQ_NAME_STEP;
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "found in a step answer");
    free(buf);
    m.found = 0, m.kind = POL_PINQ_ROOTS, m.n_digests = 2, m.digests = path;
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "an index in a roots answer");
    free(buf);
    m.index = 0, m.kind = POL_PINQ_CKPT, m.n_digests = 1;

    /* openings: a record with 5 inputs, short digests, 2 counters, -0.0 */
    Pol__V1__NodeRecord rec;
    pol__v1__node_record__init(&rec);
    rec.op = POL_OP_ADAM_M, rec.beta1 = 1.0f, rec.n_in = 2, rec.in = path, rec.out = path[9];
    Pol__V1__PinProof pr[3], *prp[3];
    for (int i = 0; i < 3; i++) {
        pol__v1__pin_proof__init(&pr[i]);
        pr[i].tensor = path[i], pr[i].n_path = 3, pr[i].path = path, prp[i] = &pr[i];
    }
    pr[0].rec = &rec;
    Pol__V1__PinOpening op;
    pol__v1__pin_opening__init(&op);
    op.start_root = path[4], op.n_in = 1, op.in = prp, op.n_counters = 3, op.counters = prp;
    m.kind = POL_PINQ_OPEN, m.n_digests = 0, m.digests = NULL, m.opening = &op;
    pack(&m, &buf, &len);
    assert_int_equal(pol_pin_answer_decode(buf, len, a), POL_OK);
    assert_int_equal(a->opening.in[0].rec.n_in, 2);
    assert_true(a->opening.in[0].rec.params.beta1 == 1.0f);
    /* beta1 = 1.0f is written 0x25 00 00 80 3f; as -0.0 (00 00 00 80) the
     * field would be a default written out: not canonical */
    static const uint8_t one[] = { 0x25, 0x00, 0x00, 0x80, 0x3f };
    uint8_t *at = memmem(buf, len, one, sizeof one);
    assert_non_null(at);
    at[3] = 0x00, at[4] = 0x80;
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "-0.0 on the wire");
    free(buf);
    rec.n_in = POL_NODE_MAX_IN + 1;
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "5 record inputs");
    free(buf);
    rec.n_in = 2, rec.out.len = 0; /* a record without its output */
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "record without out");
    free(buf);
    rec.out.len = 32;
    op.n_counters = 2;
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "2 counters");
    free(buf);
    op.n_counters = 3, pr[2].tensor.len = 16;
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "16-byte tensor id");
    free(buf);
    pr[2].tensor.len = 32, op.start_root.len = 0;
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "no start root");
    free(buf);
    op.start_root.len = 32, m.kind = POL_PINQ_SUBTREE, m.n_digests = 1, m.digests = path;
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "an opening in a subtree answer");
    free(buf);
    m.kind = POL_PINQ_OPEN, m.n_digests = 0, m.opening = NULL;
    pack(&m, &buf, &len);
    expect_answer_fails(buf, len, POL_ERR_FORMAT, "an open answer without an opening");
    free(buf);
    /* PW-CAP-1: refused before reading */
    expect_answer_fails(path[0].data, POL_PINWIRE_MAX_ANSWER + 1, POL_ERR_TOO_LARGE, "cap");

    /* PW-REC-2: the encoder refuses -0.0 rather than send +0.0 */
    pol_pin_answer *e = open_answer();
    e->opening.rec.params.eps = -0.0f;
    assert_int_equal(pol_pin_answer_encode(e, &buf, &len), POL_ERR_INVALID_ARG);
    e->opening.rec.params.eps = 0.0f;
    e->opening.in[1].path_len = POL_MERKLE_PATH_MAX + 1;
    assert_int_equal(pol_pin_answer_encode(e, &buf, &len), POL_ERR_INVALID_ARG);
    free(e);
    free(a);
}

/* PW-Q-1, PW-Q-2. */
static void test_query(void **st)
{
    (void)st;
    pol_pin_query q, r;
    memset(&q, 0, sizeof q); /* padding too: compared whole below */
    random_digest(&q.dispute_id);
    q.seq = 9, q.kind = POL_PINQ_SUBTREE, q.a = 3, q.b = 4, q.c = UINT64_MAX;
    q.tree = POL_TREE_STATE;
    uint8_t *buf;
    size_t len;
    assert_int_equal(pol_pin_query_encode(&q, &buf, &len), POL_OK);
    assert_true(len <= POL_PINWIRE_MAX_QUERY);
    assert_int_equal(pol_pin_query_decode(buf, len, &r), POL_OK);
    assert_memory_equal(&q, &r, sizeof q);
    assert_int_equal(pol_pin_query_decode(buf, len - 1, &r), POL_ERR_FORMAT);
    buf = realloc(buf, len + 2);
    buf[len] = 0x78, buf[len + 1] = 0x01;
    assert_int_equal(pol_pin_query_decode(buf, len + 2, &r), POL_ERR_FORMAT);
    free(buf);
    static const pol_pin_query bad[] = {
        { { { 0 } }, 0, POL_PINQ_COMMIT, 0, 0, 0, 0, 0, { { { 0 } } } },  /* seq 0 */
        { { { 0 } }, 1, 0, 0, 0, 0, 0, 0, { { { 0 } } } },                /* kind 0 */
        { { { 0 } }, 1, 12, 0, 0, 0, 0, 0, { { { 0 } } } },               /* kind 12 */
        { { { 0 } }, 1, POL_PINQ_OPEN, 0, 0, 0, 2, 0, { { { 0 } } } },    /* tree 2 */
        { { { 0 } }, 1, POL_PINQ_COMMIT, 1, 0, 0, 0, 0, { { { 0 } } } },  /* an argument commit has not */
        { { { 0 } }, 1, POL_PINQ_OPEN, 1, 2, 3, 0, 0, { { { 0 } } } },    /* c in an open */
        { { { 0 } }, 1, POL_PINQ_ROOTS, 1, 0, 0, 1, 0, { { { 0 } } } },   /* a tree in roots */
        /* PW-Q-3: the digests of the transition dispute's names */
        { { { 0 } }, 1, POL_PINQ_TRACE, 1, 2, 3, 0, 0, { { { 0 } } } },   /* c in a trace */
        { { { 0 } }, 1, POL_PINQ_NAME_INTERVAL, 1, 0, 0, 0, 0, { { { 0 } } } }, /* an argument */
        { { { 0 } }, 1, POL_PINQ_NAME_STEP, 1, 0, 0, 0, 0, { { { 0 } } } },  /* no trace root */
        { { { 0 } }, 1, POL_PINQ_NAME_LEAF, 1, 0, 0, 0, 1, { { { 0 } } } },  /* 1 digest of 3 */
        { { { 0 } }, 1, POL_PINQ_COMMIT, 0, 0, 0, 0, 1, { { { 0 } } } },     /* a digest in commit */
        { { { 0 } }, 1, POL_PINQ_NAME_STEP, 1, 0, 0, 1, 1, { { { 0 } } } },  /* a tree */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pol_pin_query_encode(&bad[i], &buf, &len), POL_ERR_INVALID_ARG);
        /* the decoder refuses the same values sent by hand */
        Pol__V1__PinQuery m = POL__V1__PIN_QUERY__INIT;
        m.dispute_id.len = 32, m.dispute_id.data = (uint8_t *)(uintptr_t)bad[i].dispute_id.b;
        m.seq = bad[i].seq, m.kind = bad[i].kind, m.a = bad[i].a, m.b = bad[i].b;
        m.c = bad[i].c, m.tree = bad[i].tree;
        ProtobufCBinaryData d[3];
        for (size_t k = 0; k < bad[i].n_digests; k++)
            d[k].len = 32, d[k].data = (uint8_t *)(uintptr_t)bad[i].digests[k].b;
        m.n_digests = bad[i].n_digests, m.digests = d;
        uint8_t raw[256];
        size_t n = pol__v1__pin_query__pack(&m, raw);
        assert_int_equal(pol_pin_query_decode(raw, n, &r), POL_ERR_FORMAT);
    }
    /* PW-Q-3: a leaf query with its three digests round-trips, within the cap;
     * a digest of 31 bytes does not decode */
    q.kind = POL_PINQ_NAME_LEAF, q.a = UINT64_MAX, q.b = q.c = q.tree = 0, q.n_digests = 3;
    for (int k = 0; k < 3; k++)
        random_digest(&q.digests[k]);
    assert_int_equal(pol_pin_query_encode(&q, &buf, &len), POL_OK);
    assert_true(len <= POL_PINWIRE_MAX_QUERY);
    assert_int_equal(pol_pin_query_decode(buf, len, &r), POL_OK);
    assert_memory_equal(&q, &r, sizeof q);
    free(buf);
    {
        Pol__V1__PinQuery m = POL__V1__PIN_QUERY__INIT;
        m.dispute_id.len = 32, m.dispute_id.data = q.dispute_id.b;
        m.seq = 1, m.kind = POL_PINQ_NAME_STEP, m.a = 1;
        ProtobufCBinaryData d = { 31, q.digests[0].b };
        m.n_digests = 1, m.digests = &d;
        uint8_t raw[256];
        size_t n = pol__v1__pin_query__pack(&m, raw);
        assert_int_equal(pol_pin_query_decode(raw, n, &r), POL_ERR_FORMAT);
    }
    q.n_digests = 0;
    memset(q.digests, 0, sizeof q.digests);
    /* pol_pin_serve refuses another dispute's query */
    q.kind = POL_PINQ_COMMIT, q.a = q.b = q.c = q.tree = 0;
    assert_int_equal(pol_pin_query_encode(&q, &buf, &len), POL_OK);
    pol_digest other = q.dispute_id;
    other.b[0] ^= 1;
    uint8_t *ans;
    size_t alen;
    assert_int_equal(pol_pin_serve(&honest_party, &other, buf, len, sink, NULL, &ans, &alen),
                     POL_ERR_MISMATCH);
    assert_null(ans);
    free(buf);
}

/* ================================== transition disputes (PW-MAP-2) == *
 * The tolerant task; the solver a replayer (OpenBLAS or exact), served by
 * pol_pin_serve_any; the challenger the library's search, itself reading
 * the solver through a second remote view, served the same way. The same
 * dispute run directly must end the same. */

static pol_pin_tolerance wtol;

static void td_direct(const pol_task *t, const pol_party_tol *sp)
{
    pol_tol_search *s;
    assert_int_equal(pol_tol_search_create(&s, t, &ds, sp, &wtol), POL_OK);
    pol_tol_challenger c = pol_tol_search_challenger(s, "search");
    assert_int_equal(pol_dispute_run_transition(t, &ds, sp, &c, NULL, &wtol, &direct), POL_OK);
    pol_tol_search_destroy(s);
}

static void td_remote(const pol_task *t, const pol_party_tol *sp)
{
    pol_pin_served ss = { NULL, sp, NULL };
    mem_io io[3] = { { .served = &ss }, { .served = NULL }, { .served = &ss } };
    random_digest(&io[0].id);
    io[1].id = io[2].id = io[0].id;
    pol_pin_remote *rp[3];
    for (int w = 0; w < 3; w++) {
        pol_pin_transport tr = { &io[w], mem_call, mem_fetch };
        assert_int_equal(pol_pin_remote_create(&rp[w], &io[w].id, &tr), POL_OK);
    }
    /* the challenger's program: a search over its own remote view of the solver */
    pol_party_tol seen = pol_pin_remote_party_tol(rp[2], "solver");
    pol_tol_search *s;
    assert_int_equal(pol_tol_search_create(&s, t, &ds, &seen, &wtol), POL_OK);
    pol_tol_challenger local_c = pol_tol_search_challenger(s, "search");
    pol_pin_served cs = { NULL, NULL, &local_c };
    io[1].served = &cs;
    /* the referee's views */
    pol_party_tol solver = pol_pin_remote_party_tol(rp[0], sp->base.name);
    pol_tol_challenger ch = pol_pin_remote_tol_challenger(rp[1], "search");
    assert_int_equal(pol_dispute_run_transition(t, &ds, &solver, &ch, NULL, &wtol, &remote), POL_OK);
    for (int w = 0; w < 3; w++) {
        stats[w < 2 ? w : 0] = pol_pin_remote_get_stats(rp[w]);
        assert_int_equal(stats[w < 2 ? w : 0].failures, 0);
    }
    /* [PW-BLOB-5] with room for every blob the search met, none was fetched twice */
    size_t bytes = 0;
    uint64_t fetches = 0;
    int most = 0;
    for (size_t i = 0; i < io[2].n_blobs; i++) {
        bytes += io[2].blobs[i].n;
        fetches += (uint64_t)io[2].blobs[i].fetched;
        most = io[2].blobs[i].fetched > most ? io[2].blobs[i].fetched : most;
    }
    if (fetches != stats[0].blobs)
        fail_msg("%llu fetches, the remote counted %llu", (unsigned long long)fetches,
                 (unsigned long long)stats[0].blobs);
    assert_true(io[2].n_blobs <= POL_PIN_REMOTE_CACHE_ENTRIES && bytes <= POL_PIN_REMOTE_CACHE_BYTES);
    assert_true(most <= 1);
    print_message("    %-10s: %s loses, %s at (%lld, %lld, %lld); the search read %llu queries, "
                  "%llu blobs (+ %llu from its cache)\n", sp->base.name, remote.loser ? "challenger" : "solver",
                  pol_dispute_reason_name(remote.reason), (long long)remote.interval,
                  (long long)remote.step, (long long)remote.node,
                  (unsigned long long)stats[0].queries, (unsigned long long)stats[0].blobs,
                  (unsigned long long)stats[0].blob_hits);
    pol_tol_search_destroy(s);
    for (int w = 0; w < 3; w++) {
        pol_pin_remote_destroy(rp[w]);
        mem_free(&io[w]);
    }
}

/* [PW-BLOB-5] the cache itself: finds what it keeps, drops the oldest blobs
 * first to stay within its entries and bytes, and never keeps a blob larger
 * than its byte bound. */
static void test_blob_cache(void **st)
{
    (void)st;
    pol__blob_cache c;
    assert_int_equal(pol__blob_cache_init(&c, 3, 100), POL_OK);
    pol_digest h[6];
    for (int i = 0; i < 6; i++) {
        memset(h[i].b, 0, sizeof h[i].b);
        h[i].b[31] = (uint8_t)(i + 1);
    }
    const size_t sizes[6] = { 10, 20, 30, 40, 101, 60 };
    for (int i = 0; i < 6; i++) {
        uint8_t *b = malloc(sizes[i]);
        assert_non_null(b);
        memset(b, i, sizes[i]);
        pol__blob_cache_put(&c, &h[i], b, sizes[i]);
        if (i == 2) { /* three kept: 10 + 20 + 30 bytes */
            assert_int_equal(c.count, 3);
            assert_int_equal(c.bytes, 60);
            const pol__blob_entry *e = pol__blob_cache_find(&c, &h[1]);
            assert_non_null(e);
            assert_int_equal(e->n, 20);
            assert_int_equal(e->b[19], 1);
        }
        if (i == 3) { /* a fourth entry drops the oldest */
            assert_null(pol__blob_cache_find(&c, &h[0]));
            assert_int_equal(c.count, 3);
            assert_int_equal(c.bytes, 90);
        }
        if (i == 4) { /* larger than the whole cache: not kept, nothing dropped */
            assert_null(pol__blob_cache_find(&c, &h[4]));
            assert_int_equal(c.count, 3);
        }
        assert_true(c.count <= 3 && c.bytes <= 100);
    }
    /* 60 bytes more: 20 and 30 must go (90 + 60 > 100; 40 + 60 fits) */
    assert_null(pol__blob_cache_find(&c, &h[1]));
    assert_null(pol__blob_cache_find(&c, &h[2]));
    assert_non_null(pol__blob_cache_find(&c, &h[3]));
    assert_non_null(pol__blob_cache_find(&c, &h[5]));
    assert_int_equal(c.count, 2);
    assert_int_equal(c.bytes, 100);
    pol__blob_cache_free(&c);
}

static void test_transition_remote(void **st)
{
    (void)st;
    static pol_task tt;
    tt = task, tt.mode = POL_MODE_TOLERANT;
    wtol.metric = POL_METRIC_L2_REL;
    for (int i = 0; i < POL_PIN_TOL_OPS; i++)
        wtol.threshold[i] = 1e-5; /* above OpenBLAS noise (1e-7), below the tamper (5e-3) */
    pol_ctx *blas;
    pol_ctx_opts o = { .threads = 1, .kernels = POL_KERNELS_BLAS };
    assert_int_equal(pol_ctx_create(&blas, &o), POL_OK);
    static const struct { pol_cheat_kind kind; uint64_t step; int node; int loser; } at[] = {
        { POL_CHEAT_NONE, 0, 0, POL_PARTY_CHALLENGER },
        { POL_CHEAT_TAMPER_NODE, 6, 19, POL_PARTY_SOLVER },
        { POL_CHEAT_SKIP_STEP, 7, 0, POL_PARTY_SOLVER },
        { POL_CHEAT_CONTRADICT, 0, 0, POL_PARTY_SOLVER },
    };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        char sub[1100];
        snprintf(sub, sizeof sub, "%s/tblas%zu", dir, i);
        pol_cheat c = { at[i].kind, at[i].step, at[i].node };
        pol_replayer *rp;
        assert_int_equal(pol_replayer_create(&rp, blas, &tt, &ds, sub, &c), POL_OK);
        pol_party_tol sp = pol_replayer_party_tol(rp, at[i].kind ? "blas-cheat" : "blas");
        td_direct(&tt, &sp);
        td_remote(&tt, &sp);
        expect_same();
        assert_int_equal(remote.loser, at[i].loser);
        if (at[i].kind == POL_CHEAT_TAMPER_NODE) {
            assert_int_equal(remote.step, 6);
            assert_int_equal(remote.node, 19);
            assert_int_equal(remote.reason, POL_DISPUTE_WRONG_RESULT);
        }
        pol_replayer_destroy(rp);
    }
    pol_ctx_destroy(blas);
    /* a side that is not the asked role has no answer */
    pol_pin_served none = { &honest_party, NULL, NULL };
    pol_pin_query q;
    memset(&q, 0, sizeof q);
    random_digest(&q.dispute_id);
    q.seq = 1, q.kind = POL_PINQ_NAME_INTERVAL;
    uint8_t *buf, *ans;
    size_t len, alen;
    assert_int_equal(pol_pin_query_encode(&q, &buf, &len), POL_OK);
    assert_int_equal(pol_pin_serve_any(&none, NULL, buf, len, sink, NULL, &ans, &alen),
                     POL_ERR_UNSUPPORTED);
    assert_null(ans);
    free(buf);
    q.kind = POL_PINQ_TRACE_ROOT;
    assert_int_equal(pol_pin_query_encode(&q, &buf, &len), POL_OK);
    assert_int_equal(pol_pin_serve(&honest_party, NULL, buf, len, sink, NULL, &ans, &alen),
                     POL_ERR_UNSUPPORTED);
    free(buf);
}

/* ================================================================ blobs == */

static void blob_of(const pol_tensor *t, uint8_t **b, size_t *n)
{
    assert_int_equal(pol_tensor_blob_encode(t, b, n), POL_OK);
}

/* PW-BLOB-1, PW-BLOB-2: SHA-256(blob) is the leaf hash; decode inverts. */
static void test_blob_roundtrip(void **st)
{
    (void)st;
    static const struct { const char *name; pol_dtype dt; int ndim; int64_t shape[4]; } ts[] = {
        { "w1", POL_F32, 2, { 3, 5 } },          { "counters.step", POL_U64, 1, { 1 } },
        { "loss", POL_F32, 0, { 0 } },           { "x.empty", POL_U8, 2, { 4, 0 } },
        { "a/b-c_d.e", POL_I32, 4, { 2, 1, 3, 2 } },
    };
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        pol_tensor t, u;
        assert_int_equal(pol_tensor_alloc(&t, ts[i].name, ts[i].dt, ts[i].ndim, ts[i].shape),
                         POL_OK);
        for (size_t j = 0; j < t.nbytes; j++)
            ((uint8_t *)t.data)[j] = (uint8_t)tu_next(&rng);
        uint8_t *b;
        size_t n;
        blob_of(&t, &b, &n);
        pol_digest want, got;
        assert_int_equal(pol_tensor_hash(&t, &want), POL_OK);
        assert_int_equal(pol_sha256(b, n, &got), POL_OK);
        assert_memory_equal(want.b, got.b, 32);
        assert_int_equal(pol_tensor_blob_decode(b, n, &u), POL_OK);
        assert_string_equal(u.name, t.name);
        assert_int_equal(u.dtype, t.dtype);
        assert_int_equal(u.ndim, t.ndim);
        assert_memory_equal(u.shape, t.shape, sizeof t.shape);
        assert_int_equal(u.nbytes, t.nbytes);
        if (t.nbytes)
            assert_memory_equal(u.data, t.data, t.nbytes);
        pol_tensor_free(&u);
        /* every truncation and one byte more are refused */
        for (size_t k = 0; k < n; k++)
            assert_int_equal(pol_tensor_blob_decode(b, k, &u), POL_ERR_FORMAT);
        b = realloc(b, n + 1);
        b[n] = 0;
        assert_int_equal(pol_tensor_blob_decode(b, n + 1, &u), POL_ERR_FORMAT);
        assert_null(u.data);
        free(b);
        pol_tensor_free(&t);
    }
    /* a tensor with no encoding has no blob */
    pol_tensor bad = { .name = "bad name", .dtype = POL_F32 };
    uint8_t *b;
    size_t n;
    assert_int_equal(pol_tensor_blob_encode(&bad, &b, &n), POL_ERR_INVALID_ARG);
    assert_null(b);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* PW-BLOB-2: hostile headers. The blob of "w" (F32, 2 x 3) is
 * 0 | tag(17) | len(4)=1 | 'w' | dtype | ndim | dims(16) | nbytes(8) | data(24). */
static void test_blob_hostile(void **st)
{
    (void)st;
    pol_tensor t;
    const int64_t shape[2] = { 2, 3 };
    assert_int_equal(pol_tensor_alloc(&t, "w", POL_F32, 2, shape), POL_OK);
    uint8_t *good;
    size_t n;
    blob_of(&t, &good, &n);
    pol_tensor_free(&t);
    assert_int_equal(n, 1 + 17 + 4 + 1 + 2 + 16 + 8 + 24);
    enum { NL = 18, NAME = 22, DT = 23, ND = 24, D0 = 25, D1 = 33, NB = 41 };
    uint8_t b[128];
    pol_tensor u;
#define HOSTILE(edit, want)                                                                     \
    do {                                                                                        \
        memcpy(b, good, n);                                                                     \
        edit;                                                                                   \
        pol_status st_ = pol_tensor_blob_decode(b, n, &u);                                      \
        if (st_ != (want))                                                                      \
            fail_msg("%s: %s (%s)", #edit, pol_strerror(st_), pol_last_error());                \
        assert_null(u.data);                                                                    \
    } while (0)
    assert_int_equal(pol_tensor_blob_decode(good, n, &u), POL_OK); /* the unspoiled blob */
    pol_tensor_free(&u);
    HOSTILE(b[0] = 1, POL_ERR_FORMAT);                        /* prefix */
    HOSTILE(b[5] ^= 0x20, POL_ERR_FORMAT);                    /* tag */
    HOSTILE(b[NL] = 0, POL_ERR_FORMAT);                       /* empty name */
    HOSTILE(b[NL] = 64, POL_ERR_FORMAT);                      /* name too long */
    HOSTILE(put64(b + NL, 0xffffffffu), POL_ERR_FORMAT);      /* and more bytes than there are */
    HOSTILE(b[NAME] = ' ', POL_ERR_FORMAT);                   /* a forbidden character */
    HOSTILE(b[NAME] = 0, POL_ERR_FORMAT);                     /* a NUL in the name */
    HOSTILE(b[DT] = 0, POL_ERR_FORMAT);                       /* unknown dtypes */
    HOSTILE(b[DT] = 5, POL_ERR_FORMAT);
    HOSTILE(b[ND] = 5, POL_ERR_FORMAT);                       /* ndim > 4 */
    HOSTILE(b[ND] = 255, POL_ERR_FORMAT);
    HOSTILE(b[ND] = 1, POL_ERR_FORMAT);                       /* ndim disagrees with the rest */
    HOSTILE(b[DT] = POL_U8, POL_ERR_FORMAT);                  /* dtype size disagrees with nbytes */
    HOSTILE(put64(b + D0, 3), POL_ERR_FORMAT);                /* dims product disagrees */
    HOSTILE(put64(b + D0, 1ull << 62), POL_ERR_FORMAT);      /* overflowing products */
    HOSTILE((put64(b + D0, 1ull << 31), put64(b + D1, 1ull << 31)), POL_ERR_FORMAT);
    HOSTILE(put64(b + D0, 1ull << 63), POL_ERR_FORMAT);      /* not an int64 */
    HOSTILE(put64(b + NB, 25), POL_ERR_FORMAT);               /* nbytes disagrees */
    HOSTILE(put64(b + NB, UINT64_MAX), POL_ERR_FORMAT);
    /* a consistent header that claims more data than there is */
    HOSTILE((put64(b + D0, 1u << 20), put64(b + NB, 12ull << 20)), POL_ERR_FORMAT);
#undef HOSTILE
    /* PW-BLOB-3: over the cap, refused before reading */
    assert_int_equal(pol_tensor_blob_decode(good, (size_t)POL_PINWIRE_MAX_BLOB + 1, &u),
                     POL_ERR_TOO_LARGE);
    free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_answer_roundtrip),
        cmocka_unit_test(test_answer_rejects),
        cmocka_unit_test(test_blob_roundtrip),
        cmocka_unit_test(test_blob_hostile),
        cmocka_unit_test(test_every_cheat),
        cmocka_unit_test(test_hostile_transport),
        cmocka_unit_test(test_blob_cache),
        cmocka_unit_test(test_transition_remote),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
