/* PinQuery / PinAnswer <-> C, and tensor blobs (spec/pinpoint-wire.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pinpoint.pb-c.h"
#include "pol/pinwire.h"
#include "wire_internal.h"

static ProtobufCBinaryData bin(const void *p, size_t n)
{
    ProtobufCBinaryData b = {n, (uint8_t *)(uintptr_t)p};
    return b;
}

/* ================================================================ query == */

/* Which of a, b, c, tree a kind uses, as bits 1, 2, 4, 8 [PW-Q-2]. */
static unsigned query_args(uint32_t kind)
{
    switch (kind) {
    case POL_PINQ_COMMIT: return 0;
    case POL_PINQ_CKPT: return 1;
    case POL_PINQ_STATE: return 1 | 2;
    case POL_PINQ_ROOTS: return 1;
    case POL_PINQ_SUBTREE: return 1 | 2 | 4 | 8;
    case POL_PINQ_OPEN: return 1 | 2 | 8;
    case POL_PINQ_TRACE_ROOT: return 1;
    case POL_PINQ_TRACE: return 1 | 2;
    case POL_PINQ_NAME_STEP: return 1;
    case POL_PINQ_NAME_LEAF: return 1;
    default: return 0;
    }
}

/* How many digests a query of each kind carries [PW-Q-3]. */
static size_t query_digests(uint32_t kind)
{
    return kind == POL_PINQ_NAME_STEP ? 1 : kind == POL_PINQ_NAME_LEAF ? 3 : 0;
}

/* [PW-Q-1, PW-Q-2], shared by the encoder (INVALID_ARG) and decoder (FORMAT). */
static pol_status query_valid(const pol_pin_query *q, pol_status bad)
{
    if (q->seq == 0)
        return pol_errorf(bad, "pin query: seq 0 (queries count from 1)");
    if (q->kind < POL_PINQ_COMMIT || q->kind > POL_PINQ_KIND_MAX)
        return pol_errorf(bad, "pin query: kind %u outside 1..%d", q->kind, POL_PINQ_KIND_MAX);
    if (q->tree > POL_TREE_STATE)
        return pol_errorf(bad, "pin query: tree %u is not 0 or 1", q->tree);
    const unsigned use = query_args(q->kind);
    if ((!(use & 1) && q->a) || (!(use & 2) && q->b) || (!(use & 4) && q->c) ||
        (!(use & 8) && q->tree))
        return pol_errorf(bad, "pin query: kind %u carries an argument it does not use", q->kind);
    if (q->n_digests != query_digests(q->kind))
        return pol_errorf(bad, "pin query: kind %u with %zu digests, want %zu", q->kind,
                          q->n_digests, query_digests(q->kind));
    return POL_OK;
}

pol_status pol_pin_query_encode(const pol_pin_query *q, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    pol_status st = query_valid(q, POL_ERR_INVALID_ARG);
    if (st != POL_OK)
        return st;
    Pol__V1__PinQuery m = POL__V1__PIN_QUERY__INIT;
    m.dispute_id = bin(q->dispute_id.b, 32);
    m.seq = q->seq, m.kind = q->kind, m.a = q->a, m.b = q->b, m.c = q->c, m.tree = q->tree;
    ProtobufCBinaryData d[3];
    for (size_t i = 0; i < q->n_digests; i++)
        d[i] = bin(q->digests[i].b, 32);
    m.n_digests = q->n_digests;
    m.digests = q->n_digests ? d : NULL;
    return pol__wire_pack(&m.base, buf, len);
}

pol_status pol_pin_query_decode(const uint8_t *buf, size_t len, pol_pin_query *q)
{
    ProtobufCMessage *msg;
    memset(q, 0, sizeof *q);
    pol_status st = pol__wire_unpack(&pol__v1__pin_query__descriptor, buf, len,
                                     POL_PINWIRE_MAX_QUERY, POL_PINWIRE_BUDGET, "pin query", &msg);
    if (st != POL_OK)
        return st;
    const Pol__V1__PinQuery *m = (const Pol__V1__PinQuery *)msg;
    st = pol__wire_get32(&m->dispute_id, "pin query dispute_id", q->dispute_id.b);
    q->seq = m->seq, q->kind = m->kind, q->a = m->a, q->b = m->b, q->c = m->c, q->tree = m->tree;
    if (st == POL_OK && m->n_digests > 3)
        st = pol_errorf(POL_ERR_FORMAT, "pin query: %zu digests (at most 3)", m->n_digests);
    for (size_t i = 0; st == POL_OK && i < m->n_digests; i++)
        st = pol__wire_get32(&m->digests[i], "pin query digest", q->digests[i].b);
    if (st == POL_OK)
        q->n_digests = m->n_digests;
    pol__wire_free(msg);
    if (st == POL_OK)
        st = query_valid(q, POL_ERR_FORMAT);
    if (st != POL_OK)
        memset(q, 0, sizeof *q);
    return st;
}

/* =============================================================== answer == */

/* How many digests an answer of each kind carries [PW-ANS-2]. */
static size_t answer_digests(uint32_t kind)
{
    switch (kind) {
    case POL_PINQ_OPEN:
    case POL_PINQ_NAME_INTERVAL:
    case POL_PINQ_NAME_STEP:
    case POL_PINQ_NAME_LEAF: return 0;
    case POL_PINQ_ROOTS: return 2;
    default: return 1;
    }
}

static int answer_has_path(uint32_t kind)
{
    return kind == POL_PINQ_CKPT || kind == POL_PINQ_TRACE;
}

static int answer_names(uint32_t kind)
{
    return kind >= POL_PINQ_NAME_INTERVAL && kind <= POL_PINQ_NAME_LEAF;
}

static int neg_zero(float x) { return x == 0.0f && signbit(x); }

static pol_status record_valid(const pol_node_record *r, pol_status bad, const char *what)
{
    if (r->n_in < 0 || r->n_in > POL_NODE_MAX_IN)
        return pol_errorf(bad, "%s: record with %d inputs (at most %d)", what, r->n_in,
                          POL_NODE_MAX_IN);
    /* proto3 omits a float equal to 0 and so cannot carry -0.0, whose sign
     * bit the record hash covers [PW-REC-2] */
    if (neg_zero(r->params.beta1) || neg_zero(r->params.beta2) || neg_zero(r->params.eps) ||
        neg_zero(r->params.wd))
        return pol_errorf(bad, "%s: record parameter -0.0 has no encoding", what);
    return POL_OK;
}

static pol_status proof_valid(const pol_pin_wire_proof *p, pol_status bad, const char *what)
{
    if (p->path_len > POL_MERKLE_PATH_MAX)
        return pol_errorf(bad, "%s: path of %zu entries (at most %d)", what, p->path_len,
                          POL_MERKLE_PATH_MAX);
    return p->has_rec ? record_valid(&p->rec, bad, what) : POL_OK;
}

/* [PW-ANS-1 .. PW-ANS-3], shared by the encoder and the decoder. */
static pol_status answer_valid(const pol_pin_answer *a, pol_status bad)
{
    if (a->seq == 0)
        return pol_errorf(bad, "pin answer: seq 0");
    if (a->kind < POL_PINQ_COMMIT || a->kind > POL_PINQ_KIND_MAX)
        return pol_errorf(bad, "pin answer: kind %u outside 1..%d", a->kind, POL_PINQ_KIND_MAX);
    if (a->n_digests != answer_digests(a->kind))
        return pol_errorf(bad, "pin answer: kind %u with %zu digests, want %zu", a->kind,
                          a->n_digests, answer_digests(a->kind));
    if (a->kind != POL_PINQ_COMMIT && a->n)
        return pol_errorf(bad, "pin answer: n in an answer of kind %u", a->kind);
    if (a->path_len > (answer_has_path(a->kind) ? POL_MERKLE_PATH_MAX : 0))
        return pol_errorf(bad, "pin answer: path of %zu entries in an answer of kind %u",
                          a->path_len, a->kind);
    /* the challenger's names [PW-ANS-4] */
    if (a->found != 0 && (a->found != 1 || a->kind != POL_PINQ_NAME_INTERVAL))
        return pol_errorf(bad, "pin answer: found %d in an answer of kind %u", a->found, a->kind);
    if (a->index && (!answer_names(a->kind) || (a->kind == POL_PINQ_NAME_INTERVAL && !a->found)))
        return pol_errorf(bad, "pin answer: index in an answer of kind %u%s", a->kind,
                          a->kind == POL_PINQ_NAME_INTERVAL ? " that withdraws" : "");
    if (a->tree && a->kind != POL_PINQ_NAME_LEAF)
        return pol_errorf(bad, "pin answer: tree in an answer of kind %u", a->kind);
    if (a->tree > POL_TREE_STATE)
        return pol_errorf(bad, "pin answer: tree %u is not 0 or 1", a->tree);
    if (a->kind != POL_PINQ_OPEN)
        return POL_OK;
    const pol_pin_wire_opening *o = &a->opening;
    pol_status st;
    if (o->has_rec && (st = record_valid(&o->rec, bad, "pin opening")))
        return st;
    if (o->n_in < 0 || o->n_in > POL_NODE_MAX_IN)
        return pol_errorf(bad, "pin opening: %d inputs (at most %d)", o->n_in, POL_NODE_MAX_IN);
    for (int k = 0; k < o->n_in; k++)
        if ((st = proof_valid(&o->in[k], bad, "pin opening input")))
            return st;
    for (int c = 0; o->has_counters && c < 3; c++)
        if ((st = proof_valid(&o->counters[c], bad, "pin opening counter")))
            return st;
    return POL_OK;
}

/* ------------------------------------------------------------- encoding -- */

/* Message structs for one answer, all in one allocation. */
typedef struct proof_msg {
    Pol__V1__PinProof m;
    ProtobufCBinaryData path[POL_MERKLE_PATH_MAX];
    Pol__V1__NodeRecord rec;
    ProtobufCBinaryData rec_in[POL_NODE_MAX_IN];
} proof_msg;

typedef struct answer_msg {
    Pol__V1__PinAnswer m;
    ProtobufCBinaryData digests[2];
    ProtobufCBinaryData path[POL_MERKLE_PATH_MAX];
    Pol__V1__PinOpening op;
    Pol__V1__NodeRecord rec;
    ProtobufCBinaryData rec_in[POL_NODE_MAX_IN];
    proof_msg in[POL_NODE_MAX_IN], counters[3];
    Pol__V1__PinProof *in_p[POL_NODE_MAX_IN], *counters_p[3];
} answer_msg;

static void record_to_msg(const pol_node_record *r, Pol__V1__NodeRecord *m,
                          ProtobufCBinaryData in[POL_NODE_MAX_IN])
{
    pol__v1__node_record__init(m);
    m->op = (uint32_t)r->op;
    m->trans_a = r->params.trans_a, m->trans_b = r->params.trans_b;
    m->beta1 = r->params.beta1, m->beta2 = r->params.beta2;
    m->eps = r->params.eps, m->wd = r->params.wd;
    for (int k = 0; k < r->n_in; k++)
        in[k] = bin(r->in[k].b, 32);
    m->n_in = (size_t)r->n_in;
    m->in = r->n_in ? in : NULL;
    m->out = bin(r->out.b, 32);
}

static Pol__V1__PinProof *proof_to_msg(const pol_pin_wire_proof *p, proof_msg *pm)
{
    pol__v1__pin_proof__init(&pm->m);
    if (p->has_tensor)
        pm->m.tensor = bin(p->tensor.b, 32);
    pm->m.index = p->index;
    for (size_t i = 0; i < p->path_len; i++)
        pm->path[i] = bin(p->path[i].b, 32);
    pm->m.n_path = p->path_len;
    pm->m.path = p->path_len ? pm->path : NULL;
    if (p->has_rec) {
        record_to_msg(&p->rec, &pm->rec, pm->rec_in);
        pm->m.rec = &pm->rec;
    }
    return &pm->m;
}

pol_status pol_pin_answer_encode(const pol_pin_answer *a, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    pol_status st = answer_valid(a, POL_ERR_INVALID_ARG);
    if (st != POL_OK)
        return st;
    answer_msg *x = calloc(1, sizeof *x);
    if (!x)
        return pol_errorf(POL_ERR_NOMEM, "encode pin answer");
    Pol__V1__PinAnswer *m = &x->m;
    pol__v1__pin_answer__init(m);
    m->dispute_id = bin(a->dispute_id.b, 32);
    m->seq = a->seq, m->kind = a->kind, m->n = a->n;
    m->found = a->found != 0, m->index = a->index, m->tree = a->tree;
    for (size_t i = 0; i < a->n_digests; i++)
        x->digests[i] = bin(a->digests[i].b, 32);
    m->n_digests = a->n_digests;
    m->digests = a->n_digests ? x->digests : NULL;
    for (size_t i = 0; i < a->path_len; i++)
        x->path[i] = bin(a->path[i].b, 32);
    m->n_path = a->path_len;
    m->path = a->path_len ? x->path : NULL;
    if (a->kind == POL_PINQ_OPEN) {
        const pol_pin_wire_opening *o = &a->opening;
        pol__v1__pin_opening__init(&x->op);
        if (o->has_rec) {
            record_to_msg(&o->rec, &x->rec, x->rec_in);
            x->op.rec = &x->rec;
        }
        if (o->has_end)
            x->op.end = bin(o->end.b, 32);
        x->op.start_root = bin(o->start_root.b, 32);
        for (int k = 0; k < o->n_in; k++)
            x->in_p[k] = proof_to_msg(&o->in[k], &x->in[k]);
        x->op.n_in = (size_t)o->n_in;
        x->op.in = o->n_in ? x->in_p : NULL;
        if (o->has_counters) {
            for (int c = 0; c < 3; c++)
                x->counters_p[c] = proof_to_msg(&o->counters[c], &x->counters[c]);
            x->op.n_counters = 3;
            x->op.counters = x->counters_p;
        }
        m->opening = &x->op;
    }
    st = pol__wire_pack(&m->base, buf, len);
    free(x);
    return st;
}

/* ------------------------------------------------------------- decoding -- */

static pol_status record_from_msg(const Pol__V1__NodeRecord *m, pol_node_record *r,
                                  const char *what)
{
    if (m->n_in > POL_NODE_MAX_IN)
        return pol_errorf(POL_ERR_FORMAT, "%s: record with %zu inputs (at most %d)", what,
                          m->n_in, POL_NODE_MAX_IN);
    memset(r, 0, sizeof *r);
    r->op = (pol_op)m->op;
    r->params.trans_a = m->trans_a, r->params.trans_b = m->trans_b;
    r->params.beta1 = m->beta1, r->params.beta2 = m->beta2;
    r->params.eps = m->eps, r->params.wd = m->wd;
    r->n_in = (int)m->n_in;
    pol_status st;
    for (size_t k = 0; k < m->n_in; k++)
        if ((st = pol__wire_get32(&m->in[k], "node record input", r->in[k].b)))
            return st;
    return pol__wire_get32(&m->out, "node record output", r->out.b);
}

static pol_status proof_from_msg(const Pol__V1__PinProof *m, pol_pin_wire_proof *p)
{
    pol_status st;
    if (m->n_path > POL_MERKLE_PATH_MAX)
        return pol_errorf(POL_ERR_FORMAT, "pin proof: path of %zu entries (at most %d)",
                          m->n_path, POL_MERKLE_PATH_MAX);
    if (m->tensor.len) {
        if ((st = pol__wire_get32(&m->tensor, "pin proof tensor", p->tensor.b)))
            return st;
        p->has_tensor = 1;
    }
    p->index = m->index;
    p->path_len = m->n_path;
    for (size_t i = 0; i < m->n_path; i++)
        if ((st = pol__wire_get32(&m->path[i], "pin proof path", p->path[i].b)))
            return st;
    if (m->rec) {
        p->has_rec = 1;
        return record_from_msg(m->rec, &p->rec, "pin proof");
    }
    return POL_OK;
}

static pol_status opening_from_msg(const Pol__V1__PinOpening *m, pol_pin_wire_opening *o)
{
    pol_status st;
    if (m->n_in > POL_NODE_MAX_IN)
        return pol_errorf(POL_ERR_FORMAT, "pin opening: %zu inputs (at most %d)", m->n_in,
                          POL_NODE_MAX_IN);
    if (m->n_counters != 0 && m->n_counters != 3)
        return pol_errorf(POL_ERR_FORMAT, "pin opening: %zu counters (0 or 3)", m->n_counters);
    if (m->rec) {
        o->has_rec = 1;
        if ((st = record_from_msg(m->rec, &o->rec, "pin opening")))
            return st;
    }
    if (m->end.len) {
        o->has_end = 1;
        if ((st = pol__wire_get32(&m->end, "pin opening end", o->end.b)))
            return st;
    }
    if ((st = pol__wire_get32(&m->start_root, "pin opening start_root", o->start_root.b)))
        return st;
    o->n_in = (int)m->n_in;
    for (size_t k = 0; k < m->n_in; k++)
        if ((st = proof_from_msg(m->in[k], &o->in[k])))
            return st;
    o->has_counters = m->n_counters == 3;
    for (size_t c = 0; c < m->n_counters; c++)
        if ((st = proof_from_msg(m->counters[c], &o->counters[c])))
            return st;
    return POL_OK;
}

static pol_status answer_from_msg(const Pol__V1__PinAnswer *m, pol_pin_answer *a)
{
    pol_status st;
    if ((st = pol__wire_get32(&m->dispute_id, "pin answer dispute_id", a->dispute_id.b)))
        return st;
    a->seq = m->seq, a->kind = m->kind, a->n = m->n;
    a->found = m->found != 0, a->index = m->index, a->tree = m->tree;
    if (m->n_digests > 2 || m->n_path > POL_MERKLE_PATH_MAX)
        return pol_errorf(POL_ERR_FORMAT, "pin answer: %zu digests, %zu path entries (at most "
                          "2 and %d)", m->n_digests, m->n_path, POL_MERKLE_PATH_MAX);
    a->n_digests = m->n_digests;
    for (size_t i = 0; i < m->n_digests; i++)
        if ((st = pol__wire_get32(&m->digests[i], "pin answer digest", a->digests[i].b)))
            return st;
    a->path_len = m->n_path;
    for (size_t i = 0; i < m->n_path; i++)
        if ((st = pol__wire_get32(&m->path[i], "pin answer path", a->path[i].b)))
            return st;
    if ((m->opening != NULL) != (m->kind == POL_PINQ_OPEN))
        return pol_errorf(POL_ERR_FORMAT, "pin answer: kind %u %s an opening", m->kind,
                          m->opening ? "with" : "without");
    if (m->opening && (st = opening_from_msg(m->opening, &a->opening)))
        return st;
    return answer_valid(a, POL_ERR_FORMAT);
}

pol_status pol_pin_answer_decode(const uint8_t *buf, size_t len, pol_pin_answer *a)
{
    ProtobufCMessage *m;
    memset(a, 0, sizeof *a);
    pol_status st = pol__wire_unpack(&pol__v1__pin_answer__descriptor, buf, len,
                                     POL_PINWIRE_MAX_ANSWER, POL_PINWIRE_BUDGET, "pin answer", &m);
    if (st != POL_OK)
        return st;
    st = answer_from_msg((const Pol__V1__PinAnswer *)m, a);
    pol__wire_free(m);
    if (st != POL_OK)
        memset(a, 0, sizeof *a);
    return st;
}

/* ========================================================= tensor blobs == */

static const char BLOB_TAG[] = "libpol/tensor/v1"; /* written with its NUL [E-TENSOR-1] */
#define BLOB_FIXED (1 + sizeof BLOB_TAG + 4)        /* prefix, tag, name length */

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

pol_status pol_tensor_blob_encode(const pol_tensor *t, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    pol_digest check;
    pol_status st = pol_tensor_hash(t, &check); /* the encoding's own well-formedness rules */
    if (st != POL_OK)
        return st;
    const size_t nl = strlen(t->name);
    const size_t hdr = BLOB_FIXED + nl + 2 + 8 * (size_t)t->ndim + 8;
    if (t->nbytes > POL_PINWIRE_MAX_BLOB - hdr)
        return pol_errorf(POL_ERR_TOO_LARGE, "tensor %s: blob of %zu data bytes exceeds the cap "
                          "of %zu", t->name, t->nbytes, (size_t)POL_PINWIRE_MAX_BLOB);
    uint8_t *p = malloc(hdr + t->nbytes);
    if (!p)
        return pol_errorf(POL_ERR_NOMEM, "tensor %s: blob of %zu bytes", t->name,
                          hdr + t->nbytes);
    size_t o = 0;
    p[o++] = 0x00;
    memcpy(p + o, BLOB_TAG, sizeof BLOB_TAG);
    o += sizeof BLOB_TAG;
    put_le(p + o, nl, 4), o += 4;
    memcpy(p + o, t->name, nl), o += nl;
    p[o++] = (uint8_t)t->dtype;
    p[o++] = (uint8_t)t->ndim;
    for (int i = 0; i < t->ndim; i++)
        put_le(p + o, (uint64_t)t->shape[i], 8), o += 8;
    put_le(p + o, t->nbytes, 8), o += 8;
    if (t->nbytes)
        memcpy(p + o, t->data, t->nbytes);
    *buf = p;
    *len = hdr + t->nbytes;
    return POL_OK;
}

/* Every length is checked against what is left before it is used. */
pol_status pol_tensor_blob_decode(const uint8_t *buf, size_t len, pol_tensor *t)
{
    memset(t, 0, sizeof *t);
    if (len > POL_PINWIRE_MAX_BLOB)
        return pol_errorf(POL_ERR_TOO_LARGE, "tensor blob: %zu bytes exceeds the cap of %zu",
                          len, (size_t)POL_PINWIRE_MAX_BLOB);
    if (!buf && len)
        return pol_errorf(POL_ERR_INVALID_ARG, "tensor blob: NULL buffer");
    if (len < BLOB_FIXED || buf[0] != 0x00 || memcmp(buf + 1, BLOB_TAG, sizeof BLOB_TAG))
        return pol_errorf(POL_ERR_FORMAT, "tensor blob: no tensor prefix and tag");
    size_t o = BLOB_FIXED;
    const uint64_t nl = get_le(buf + BLOB_FIXED - 4, 4);
    if (nl < 1 || nl >= POL_NAME_MAX || len - o < nl + 2)
        return pol_errorf(POL_ERR_FORMAT, "tensor blob: name length %llu (1..%d, within %zu "
                          "bytes)", (unsigned long long)nl, POL_NAME_MAX - 1, len);
    char name[POL_NAME_MAX];
    memcpy(name, buf + o, nl);
    name[nl] = '\0';
    o += nl;
    if (!pol_name_valid(name) || strlen(name) != nl)
        return pol_errorf(POL_ERR_FORMAT, "tensor blob: invalid tensor name");
    const pol_dtype dt = (pol_dtype)buf[o++];
    const int ndim = buf[o++];
    const size_t es = pol_dtype_size(dt);
    if (es == 0)
        return pol_errorf(POL_ERR_FORMAT, "tensor blob %s: unknown dtype %d", name, (int)dt);
    if (ndim > POL_MAX_DIMS)
        return pol_errorf(POL_ERR_FORMAT, "tensor blob %s: ndim %d (at most %d)", name, ndim,
                          POL_MAX_DIMS);
    if (len - o < 8 * (size_t)ndim + 8)
        return pol_errorf(POL_ERR_FORMAT, "tensor blob %s: truncated header", name);
    int64_t shape[POL_MAX_DIMS] = {0};
    uint64_t bytes = es;
    for (int i = 0; i < ndim; i++, o += 8) {
        const uint64_t d = get_le(buf + o, 8);
        if (d > (uint64_t)INT64_MAX || __builtin_mul_overflow(bytes, d, &bytes))
            return pol_errorf(POL_ERR_FORMAT, "tensor blob %s: dimension %d (%llu) overflows",
                              name, i, (unsigned long long)d);
        shape[i] = (int64_t)d;
    }
    const uint64_t nbytes = get_le(buf + o, 8);
    o += 8;
    if (nbytes != bytes)
        return pol_errorf(POL_ERR_FORMAT, "tensor blob %s: nbytes %llu, its shape and dtype "
                          "make %llu", name, (unsigned long long)nbytes,
                          (unsigned long long)bytes);
    if (nbytes != len - o)
        return pol_errorf(POL_ERR_FORMAT, "tensor blob %s: %zu data bytes, nbytes says %llu",
                          name, len - o, (unsigned long long)nbytes);
    pol_status st = pol_tensor_alloc(t, name, dt, ndim, shape);
    if (st != POL_OK)
        return st;
    if (nbytes)
        memcpy(t->data, buf + o, nbytes);
    return POL_OK;
}
