/* A pinpoint party played over a transport, and the party program's side
 * that answers its queries (spec/pinpoint-wire.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob_cache.h"
#include "pol/pinwire.h"

struct pol_pin_remote {
    pol_digest id;
    pol_pin_transport tr;
    uint32_t seq; /* the last seq sent */
    pol_pin_remote_stats stats;
    pol__blob_cache cache; /* [PW-BLOB-5] */
};

pol_status pol_pin_remote_create(pol_pin_remote **rp, const pol_digest *dispute_id,
                                 const pol_pin_transport *tr)
{
    *rp = NULL;
    if (!tr->call || !tr->fetch)
        return pol_errorf(POL_ERR_INVALID_ARG, "pin remote: transport without call or fetch");
    pol_pin_remote *r = calloc(1, sizeof *r);
    if (!r)
        return pol_errorf(POL_ERR_NOMEM, "pin remote");
    r->id = *dispute_id;
    r->tr = *tr;
    pol_status st = pol__blob_cache_init(&r->cache, POL_PIN_REMOTE_CACHE_ENTRIES,
                                         POL_PIN_REMOTE_CACHE_BYTES);
    if (st) {
        free(r);
        return st;
    }
    *rp = r;
    return POL_OK;
}

void pol_pin_remote_destroy(pol_pin_remote *rp)
{
    if (!rp)
        return;
    pol__blob_cache_free(&rp->cache);
    free(rp);
}

pol_pin_remote_stats pol_pin_remote_get_stats(const pol_pin_remote *rp) { return rp->stats; }

/* ------------------------------------------------------ one exchange -- */

/* Sends one query and decodes its answer; checks the echo [PW-ECHO-1].
 * *ans is malloc'd on success (free it), NULL on failure. */
static pol_status ask_with(pol_pin_remote *r, uint32_t kind, uint64_t a, uint64_t b, uint64_t c,
                           uint32_t tree, const pol_digest *d, size_t nd, pol_pin_answer **ans)
{
    *ans = NULL;
    if (r->seq == UINT32_MAX)
        return pol_errorf(POL_ERR_TOO_LARGE, "pin remote: out of query numbers");
    pol_pin_query q;
    memset(&q, 0, sizeof q);
    q.dispute_id = r->id, q.seq = ++r->seq, q.kind = kind;
    q.a = a, q.b = b, q.c = c, q.tree = tree, q.n_digests = nd;
    for (size_t i = 0; i < nd && i < 3; i++)
        q.digests[i] = d[i];
    r->stats.queries++;
    uint8_t *qb = NULL, *ab = NULL;
    size_t ql = 0, al = 0;
    pol_status st = pol_pin_query_encode(&q, &qb, &ql);
    if (st != POL_OK)
        return st;
    r->stats.bytes_sent += ql;
    st = r->tr.call(r->tr.io, qb, ql, &ab, &al);
    free(qb);
    if (st != POL_OK) {
        free(ab);
        return st;
    }
    r->stats.bytes_answers += al;
    pol_pin_answer *x = malloc(sizeof *x);
    if (!x) {
        free(ab);
        return pol_errorf(POL_ERR_NOMEM, "pin remote: answer");
    }
    st = pol_pin_answer_decode(ab, al, x);
    free(ab);
    if (st == POL_OK && !pol_digest_equal(&x->dispute_id, &r->id))
        st = pol_errorf(POL_ERR_MISMATCH, "pin answer %u: another dispute's id", q.seq);
    else if (st == POL_OK && (x->seq != q.seq || x->kind != kind))
        st = pol_errorf(POL_ERR_MISMATCH, "pin answer: seq %u kind %u, asked seq %u kind %u",
                        x->seq, x->kind, q.seq, kind);
    if (st != POL_OK) {
        free(x);
        return st;
    }
    *ans = x;
    return POL_OK;
}

static pol_status ask(pol_pin_remote *r, uint32_t kind, uint64_t a, uint64_t b, uint64_t c,
                      uint32_t tree, pol_pin_answer **ans)
{
    return ask_with(r, kind, a, b, c, tree, NULL, 0, ans);
}

/* Fetches the blob named h and decodes it, after checking its hash
 * [PW-BLOB-4]; a blob fetched before is decoded from the cache [PW-BLOB-5]. */
static pol_status fetch_tensor(pol_pin_remote *r, const pol_digest *h, pol_tensor *t)
{
    const pol__blob_entry *hit = pol__blob_cache_find(&r->cache, h);
    if (hit) {
        r->stats.blob_hits++;
        return pol_tensor_blob_decode(hit->b, hit->n, t);
    }
    uint8_t *blob = NULL;
    size_t len = 0;
    pol_status st = r->tr.fetch(r->tr.io, h, &blob, &len);
    if (st != POL_OK) {
        free(blob);
        return st;
    }
    r->stats.blobs++;
    r->stats.bytes_blobs += len;
    pol_digest got;
    if (len > POL_PINWIRE_MAX_BLOB)
        st = pol_errorf(POL_ERR_TOO_LARGE, "pin remote: blob of %zu bytes exceeds the cap", len);
    else if ((st = pol_sha256(blob, len, &got)) == POL_OK && !pol_digest_equal(&got, h)) {
        char hex[POL_DIGEST_HEX_LEN + 1];
        pol_digest_to_hex(h, hex);
        st = pol_errorf(POL_ERR_HASH_MISMATCH, "pin remote: blob %.16s... does not hash to its "
                        "name", hex);
    }
    if (st == POL_OK)
        st = pol_tensor_blob_decode(blob, len, t);
    if (st == POL_OK)
        pol__blob_cache_put(&r->cache, h, blob, len);
    else
        free(blob);
    return st;
}

/* ------------------------------------------------- party callbacks -- */

static pol_status failed(pol_pin_remote *r, pol_status st)
{
    if (st != POL_OK)
        r->stats.failures++;
    return st;
}

static pol_status rm_commit(void *self, size_t *n, pol_digest *root)
{
    pol_pin_remote *r = self;
    pol_pin_answer *x;
    pol_status st = ask(r, POL_PINQ_COMMIT, 0, 0, 0, 0, &x);
    if (st == POL_OK) {
        if (x->n > SIZE_MAX)
            st = pol_errorf(POL_ERR_FORMAT, "pin remote: %llu checkpoints",
                            (unsigned long long)x->n);
        *n = (size_t)x->n, *root = x->digests[0];
    }
    free(x);
    return failed(r, st);
}

/* A query answered by one hash and its inclusion proof (ckpt, trace). */
static pol_status ask_proven(pol_pin_remote *r, uint32_t kind, uint64_t a, uint64_t b,
                             pol_digest *h, pol_digest *path, size_t *path_len)
{
    pol_pin_answer *x;
    pol_status st = ask(r, kind, a, b, 0, 0, &x);
    if (st == POL_OK && x->path_len > *path_len)
        st = pol_errorf(POL_ERR_TOO_LARGE, "pin remote: path of %zu entries, room for %zu",
                        x->path_len, *path_len);
    if (st == POL_OK) {
        *h = x->digests[0];
        memcpy(path, x->path, x->path_len * sizeof *path);
        *path_len = x->path_len;
    }
    free(x);
    return failed(r, st);
}

static pol_status rm_ckpt(void *self, size_t i, pol_digest *h, pol_digest *path, size_t *path_len)
{
    return ask_proven(self, POL_PINQ_CKPT, i, 0, h, path, path_len);
}

static pol_status rm_state(void *self, size_t interval, uint64_t steps, pol_digest *h)
{
    pol_pin_remote *r = self;
    pol_pin_answer *x;
    pol_status st = ask(r, POL_PINQ_STATE, interval, steps, 0, 0, &x);
    if (st == POL_OK)
        *h = x->digests[0];
    free(x);
    return failed(r, st);
}

static pol_status rm_roots(void *self, uint64_t s, pol_digest *node_root, pol_digest *state_root)
{
    pol_pin_remote *r = self;
    pol_pin_answer *x;
    pol_status st = ask(r, POL_PINQ_ROOTS, s, 0, 0, 0, &x);
    if (st == POL_OK)
        *node_root = x->digests[0], *state_root = x->digests[1];
    free(x);
    return failed(r, st);
}

static pol_status check_tree(int tree)
{
    if (tree != POL_TREE_NODES && tree != POL_TREE_STATE)
        return pol_errorf(POL_ERR_INVALID_ARG, "pin remote: tree %d", tree);
    return POL_OK;
}

static pol_status rm_subtree(void *self, uint64_t s, int tree, uint64_t lo, uint64_t hi,
                             pol_digest *root)
{
    pol_pin_remote *r = self;
    pol_pin_answer *x = NULL;
    pol_status st = check_tree(tree);
    if (st == POL_OK)
        st = ask(r, POL_PINQ_SUBTREE, s, lo, hi, (uint32_t)tree, &x);
    if (st == POL_OK)
        *root = x->digests[0];
    free(x);
    return failed(r, st);
}

static pol_status proof_in(pol_pin_remote *r, const pol_pin_wire_proof *w, pol_pin_proof *p)
{
    p->index = w->index;
    p->path_len = w->path_len;
    memcpy(p->path, w->path, w->path_len * sizeof *p->path);
    if (w->has_rec)
        p->rec = w->rec;
    return w->has_tensor ? fetch_tensor(r, &w->tensor, &p->t) : POL_OK;
}

static pol_status rm_open(void *self, uint64_t s, int tree, uint64_t index, pol_pin_opening *o)
{
    pol_pin_remote *r = self;
    pol_pin_answer *x = NULL;
    pol_status st = check_tree(tree);
    if (st == POL_OK)
        st = ask(r, POL_PINQ_OPEN, s, index, 0, (uint32_t)tree, &x);
    if (st == POL_OK) {
        const pol_pin_wire_opening *w = &x->opening;
        if (w->has_rec)
            o->rec = w->rec;
        o->start_root = w->start_root;
        o->n_in = w->n_in;
        if (w->has_end)
            st = fetch_tensor(r, &w->end, &o->end);
        for (int k = 0; st == POL_OK && k < w->n_in; k++)
            st = proof_in(r, &w->in[k], &o->in[k]);
        for (int c = 0; st == POL_OK && w->has_counters && c < 3; c++)
            st = proof_in(r, &w->counters[c], &o->counters[c]);
        if (st != POL_OK)
            pol_pin_opening_free(o);
    }
    free(x);
    return failed(r, st);
}

pol_party pol_pin_remote_party(pol_pin_remote *rp, const char *name)
{
    pol_party p = { rp, name, rm_commit, rm_ckpt, rm_state, rm_roots, rm_subtree, rm_open };
    return p;
}

/* ------------------------------------ transition disputes (5b) -- */

static pol_status rm_trace_root(void *self, size_t interval, pol_digest *root)
{
    pol_pin_remote *r = self;
    pol_pin_answer *x;
    pol_status st = ask(r, POL_PINQ_TRACE_ROOT, interval, 0, 0, 0, &x);
    if (st == POL_OK)
        *root = x->digests[0];
    free(x);
    return failed(r, st);
}

static pol_status rm_trace(void *self, size_t interval, uint64_t steps, pol_digest *h,
                           pol_digest *path, size_t *path_len)
{
    return ask_proven(self, POL_PINQ_TRACE, interval, steps, h, path, path_len);
}

pol_party_tol pol_pin_remote_party_tol(pol_pin_remote *rp, const char *name)
{
    pol_party_tol p = { pol_pin_remote_party(rp, name), rm_trace_root, rm_trace };
    return p;
}

static pol_status rm_name_interval(void *self, int *found, size_t *interval)
{
    pol_pin_remote *r = self;
    pol_pin_answer *x;
    pol_status st = ask(r, POL_PINQ_NAME_INTERVAL, 0, 0, 0, 0, &x);
    if (st == POL_OK && x->index > SIZE_MAX)
        st = pol_errorf(POL_ERR_FORMAT, "pin remote: interval %llu",
                        (unsigned long long)x->index);
    if (st == POL_OK)
        *found = x->found, *interval = (size_t)x->index;
    free(x);
    return failed(r, st);
}

static pol_status rm_name_step(void *self, size_t interval, const pol_digest *trace_root,
                               uint64_t *step)
{
    pol_pin_remote *r = self;
    pol_pin_answer *x;
    pol_status st = ask_with(r, POL_PINQ_NAME_STEP, interval, 0, 0, 0, trace_root, 1, &x);
    if (st == POL_OK)
        *step = x->index;
    free(x);
    return failed(r, st);
}

static pol_status rm_name_leaf(void *self, uint64_t s, const pol_digest *h_s,
                               const pol_digest *node_root, const pol_digest *state_root,
                               int *tree, uint64_t *index)
{
    pol_pin_remote *r = self;
    pol_pin_answer *x;
    const pol_digest d[3] = { *h_s, *node_root, *state_root };
    pol_status st = ask_with(r, POL_PINQ_NAME_LEAF, s, 0, 0, 0, d, 3, &x);
    if (st == POL_OK)
        *tree = (int)x->tree, *index = x->index;
    free(x);
    return failed(r, st);
}

pol_tol_challenger pol_pin_remote_tol_challenger(pol_pin_remote *rp, const char *name)
{
    pol_tol_challenger c = { rp, name, rm_name_interval, rm_name_step, rm_name_leaf };
    return c;
}

/* ================================================ the answering side == */

typedef struct sink_ctx {
    pol_pin_blob_sink fn;
    void *arg;
} sink_ctx;

static int tensor_unused(const pol_tensor *t) { return t->name[0] == '\0'; }

/* Hands a tensor to the sink and names it by its leaf hash [PW-BLOB-1]. */
static pol_status tensor_out(const sink_ctx *sk, const pol_tensor *t, int *has, pol_digest *h)
{
    if (tensor_unused(t)) {
        if (t->nbytes || t->data || t->ndim)
            return pol_errorf(POL_ERR_INVALID_ARG, "pin serve: a tensor without a name");
        return POL_OK;
    }
    uint8_t *blob;
    size_t len;
    pol_status st = pol_tensor_blob_encode(t, &blob, &len);
    if (st != POL_OK)
        return st;
    st = pol_sha256(blob, len, h);
    if (st == POL_OK)
        st = sk->fn(sk->arg, h, blob, len);
    free(blob);
    *has = st == POL_OK;
    return st;
}

static int record_zero(const pol_node_record *r)
{
    static const pol_node_record zero;
    return !memcmp(r, &zero, sizeof zero);
}

static int proof_zero(const pol_pin_proof *p)
{
    return tensor_unused(&p->t) && p->index == 0 && p->path_len == 0 && record_zero(&p->rec);
}

static pol_status proof_out(const sink_ctx *sk, const pol_pin_proof *p, pol_pin_wire_proof *w)
{
    if (p->path_len > POL_MERKLE_PATH_MAX)
        return pol_errorf(POL_ERR_INVALID_ARG, "pin serve: path of %zu entries", p->path_len);
    w->index = p->index;
    w->path_len = p->path_len;
    memcpy(w->path, p->path, p->path_len * sizeof *w->path);
    w->has_rec = !record_zero(&p->rec);
    w->rec = p->rec;
    return tensor_out(sk, &p->t, &w->has_tensor, &w->tensor);
}

/* The opening mapping [PW-OPEN-1]. */
static pol_status opening_out(const sink_ctx *sk, const pol_pin_opening *o,
                              pol_pin_wire_opening *w)
{
    if (o->n_in < 0 || o->n_in > POL_NODE_MAX_IN)
        return pol_errorf(POL_ERR_INVALID_ARG, "pin serve: opening with %d inputs", o->n_in);
    w->has_rec = !record_zero(&o->rec);
    w->rec = o->rec;
    w->start_root = o->start_root;
    w->n_in = o->n_in;
    pol_status st = tensor_out(sk, &o->end, &w->has_end, &w->end);
    for (int k = 0; st == POL_OK && k < o->n_in; k++)
        st = proof_out(sk, &o->in[k], &w->in[k]);
    w->has_counters = !proof_zero(&o->counters[0]) || !proof_zero(&o->counters[1]) ||
                      !proof_zero(&o->counters[2]);
    for (int c = 0; st == POL_OK && w->has_counters && c < 3; c++)
        st = proof_out(sk, &o->counters[c], &w->counters[c]);
    return st;
}

static pol_status serve_open(const pol_party *p, const pol_pin_query *q, const sink_ctx *sk,
                             pol_pin_answer *x)
{
    pol_pin_opening *o = calloc(1, sizeof *o);
    if (!o)
        return pol_errorf(POL_ERR_NOMEM, "pin serve: opening");
    pol_status st = p->open(p->self, q->a, (int)q->tree, q->b, o);
    if (st == POL_OK)
        st = opening_out(sk, o, &x->opening);
    pol_pin_opening_free(o);
    free(o);
    return st;
}

/* The callbacks of a transition dispute [PW-MAP-2]. */
static pol_status serve_tol(const pol_pin_served *w, const pol_pin_query *q, pol_pin_answer *x)
{
    const pol_party_tol *t = w->solver;
    const pol_tol_challenger *c = w->challenger;
    const int solver_kind = q->kind == POL_PINQ_TRACE_ROOT || q->kind == POL_PINQ_TRACE;
    if (solver_kind ? !t : !c)
        return pol_errorf(POL_ERR_UNSUPPORTED, "pin serve: this side is no %s of a transition "
                          "dispute", solver_kind ? "solver" : "challenger");
    if (q->kind != POL_PINQ_NAME_LEAF && q->a > SIZE_MAX)
        return pol_errorf(POL_ERR_INVALID_ARG, "pin serve: index %llu", (unsigned long long)q->a);
    switch (q->kind) {
    case POL_PINQ_TRACE_ROOT:
        x->n_digests = 1;
        return t->trace_root(t->base.self, (size_t)q->a, &x->digests[0]);
    case POL_PINQ_TRACE: {
        x->n_digests = 1;
        x->path_len = POL_MERKLE_PATH_MAX;
        pol_status st = t->trace(t->base.self, (size_t)q->a, q->b, &x->digests[0], x->path,
                                 &x->path_len);
        if (st == POL_OK && x->path_len > POL_MERKLE_PATH_MAX)
            st = pol_errorf(POL_ERR_INTERNAL, "pin serve: party wrote %zu path entries",
                            x->path_len);
        return st;
    }
    case POL_PINQ_NAME_INTERVAL: {
        size_t iv = 0;
        int found = 0;
        pol_status st = c->interval(c->self, &found, &iv);
        x->found = found != 0;
        x->index = x->found ? iv : 0; /* a withdrawal names nothing [PW-ANS-4] */
        return st;
    }
    case POL_PINQ_NAME_STEP: return c->step(c->self, (size_t)q->a, &q->digests[0], &x->index);
    default: {
        int tree = 0;
        pol_status st = c->leaf(c->self, q->a, &q->digests[0], &q->digests[1], &q->digests[2],
                                &tree, &x->index);
        if (st == POL_OK && tree != POL_TREE_NODES && tree != POL_TREE_STATE)
            st = pol_errorf(POL_ERR_INVALID_ARG, "pin serve: tree %d has no encoding", tree);
        x->tree = (uint32_t)tree;
        return st;
    }
    }
}

/* Calls the served side's callback for q [PW-MAP-1, PW-MAP-2]. */
static pol_status serve_call(const pol_pin_served *w, const pol_pin_query *q, const sink_ctx *sk,
                             pol_pin_answer *x)
{
    if (q->kind > POL_PINQ_OPEN)
        return serve_tol(w, q, x);
    const pol_party *p = w->party ? w->party : w->solver ? &w->solver->base : NULL;
    if (!p)
        return pol_errorf(POL_ERR_UNSUPPORTED, "pin serve: this side answers no party queries");
    x->n_digests = q->kind == POL_PINQ_OPEN ? 0 : q->kind == POL_PINQ_ROOTS ? 2 : 1;
    if ((q->kind == POL_PINQ_CKPT || q->kind == POL_PINQ_STATE) && q->a > SIZE_MAX)
        return pol_errorf(POL_ERR_INVALID_ARG, "pin serve: index %llu", (unsigned long long)q->a);
    switch (q->kind) {
    case POL_PINQ_COMMIT: {
        size_t n = 0;
        pol_status st = p->commit(p->self, &n, &x->digests[0]);
        x->n = n;
        return st;
    }
    case POL_PINQ_CKPT: {
        x->path_len = POL_MERKLE_PATH_MAX;
        pol_status st = p->ckpt(p->self, (size_t)q->a, &x->digests[0], x->path, &x->path_len);
        if (st == POL_OK && x->path_len > POL_MERKLE_PATH_MAX)
            st = pol_errorf(POL_ERR_INTERNAL, "pin serve: party wrote %zu path entries",
                            x->path_len);
        return st;
    }
    case POL_PINQ_STATE: return p->state(p->self, (size_t)q->a, q->b, &x->digests[0]);
    case POL_PINQ_ROOTS: return p->roots(p->self, q->a, &x->digests[0], &x->digests[1]);
    case POL_PINQ_SUBTREE:
        return p->subtree(p->self, q->a, (int)q->tree, q->b, q->c, &x->digests[0]);
    default: return serve_open(p, q, sk, x);
    }
}

pol_status pol_pin_serve(const pol_party *party, const pol_digest *dispute_id, const uint8_t *q,
                         size_t qlen, pol_pin_blob_sink sink, void *sink_arg, uint8_t **a,
                         size_t *alen)
{
    pol_pin_served w = { party, NULL, NULL };
    return pol_pin_serve_any(&w, dispute_id, q, qlen, sink, sink_arg, a, alen);
}

static const char *served_name(const pol_pin_served *w)
{
    const char *n = w->party        ? w->party->name
                    : w->solver     ? w->solver->base.name
                    : w->challenger ? w->challenger->name
                                    : NULL;
    return n ? n : "party";
}

pol_status pol_pin_serve_any(const pol_pin_served *served, const pol_digest *dispute_id,
                             const uint8_t *q, size_t qlen, pol_pin_blob_sink sink,
                             void *sink_arg, uint8_t **a, size_t *alen)
{
    *a = NULL;
    *alen = 0;
    pol_pin_query qq;
    pol_status st = pol_pin_query_decode(q, qlen, &qq);
    if (st != POL_OK)
        return st;
    if (dispute_id && !pol_digest_equal(dispute_id, &qq.dispute_id))
        return pol_errorf(POL_ERR_MISMATCH, "pin serve: query %u is for another dispute", qq.seq);
    pol_pin_answer *x = calloc(1, sizeof *x);
    if (!x)
        return pol_errorf(POL_ERR_NOMEM, "pin serve: answer");
    x->dispute_id = qq.dispute_id, x->seq = qq.seq, x->kind = qq.kind; /* PW-ECHO-1 */
    const sink_ctx sk = { sink, sink_arg };
    st = serve_call(served, &qq, &sk, x);
    if (st != POL_OK) {
        char why[200];
        snprintf(why, sizeof why, "%s", pol_last_error());
        st = pol_errorf(st, "pin serve: %s has no answer to query %u (kind %u): %s",
                        served_name(served), qq.seq, qq.kind, why);
    } else {
        st = pol_pin_answer_encode(x, a, alen);
    }
    free(x);
    return st;
}
