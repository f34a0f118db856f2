/* The pinpoint protocol (spec/pinpoint.md), exact mode, CPU, both parties in
 * process: for every cheat at several (interval, step, node) positions the
 * dispute pinpoints the cheat's location within the round bound, the
 * referee recomputes at most one node, and the honest party never loses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <math.h>

#include "pol/pinpoint.h"
#include "pol/train.h"
#include "testutil.h"

#define TASK "spec/vectors/tiny/adamw-gelu.json" /* 14 steps, k = 4, 35 nodes, 21 state tensors */

static pol_task task;
static pol_dataset ds;
static pol_ctx *ctx;
static pol_replayer *honest;
static pol_ctx *blas_ctx;                  /* OpenBLAS, one thread (section 5b) */
static pol_replayer *honest_blas, *exact_t; /* on the tolerant task: OpenBLAS, exact */
static pol_party honest_party;
static char dir[1024];

static int setup(void **st)
{
    (void)st;
    tu_seed();
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
    pol_replayer_destroy(honest_blas);
    pol_replayer_destroy(exact_t);
    pol_ctx_destroy(blas_ctx);
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

static pol_dispute_result res;

static void dispute(const pol_party *solver, const pol_party *challenger, unsigned arity)
{
    pol_dispute_opts o = { .arity = arity };
    assert_int_equal(pol_dispute_run(&task, &ds, solver, challenger, &o, &res), POL_OK);
    print_message("    %-10s vs %-10s: %s loses, %s; pin (%lld, %lld, %lld) kind %d; %u rounds "
                  "(bound %u), %llu bytes (max round %llu)\n", solver->name, challenger->name,
                  res.loser ? "challenger" : "solver", pol_dispute_reason_name(res.reason),
                  (long long)res.interval, (long long)res.step, (long long)res.node, res.kind,
                  res.rounds, res.bound, (unsigned long long)res.bytes,
                  (unsigned long long)res.bytes_max_round);
    assert_true(res.rounds <= res.bound); /* P-BOUND */
    assert_true(res.bytes_max_round <= 2048);
}

static void expect_pin(pol_pin_kind kind, uint64_t step, int64_t node)
{
    if (res.kind != kind || res.step != (int64_t)step || res.node != node ||
        res.interval != (int64_t)(step / task.checkpoint_every))
        fail_msg("pinned kind %d (%lld, %lld, %lld), the cheat was kind %d at step %llu node %lld: %s",
                 res.kind, (long long)res.interval, (long long)res.step, (long long)res.node, kind,
                 (unsigned long long)step, (long long)node, res.why);
}

/* P-REC-1: the record of a node is bound to op, params, inputs and output. */
static void test_record_hash(void **st)
{
    (void)st;
    pol_node_record r = { 0 };
    r.op = POL_OP_GELU, r.n_in = 1;
    pol_digest a, b;
    assert_int_equal(pol_node_record_hash(&r, &a), POL_OK);
    r.params.wd = -0.0f; /* the sign bit is part of the encoding */
    assert_int_equal(pol_node_record_hash(&r, &b), POL_OK);
    assert_memory_not_equal(a.b, b.b, 32);
    r.params.wd = 0.0f, r.in[0].b[31] = 1;
    assert_int_equal(pol_node_record_hash(&r, &b), POL_OK);
    assert_memory_not_equal(a.b, b.b, 32);
    r.n_in = POL_NODE_MAX_IN + 1;
    assert_int_equal(pol_node_record_hash(&r, &b), POL_ERR_INVALID_ARG);
    /* the replayer's checkpoints are the trainer's */
    size_t n;
    const pol_digest *h = pol_replayer_checkpoints(honest, &n);
    assert_int_equal(n, 5);
    pol_trainer *tr;
    pol_digest want;
    assert_int_equal(pol_trainer_create(&tr, ctx, &task, &ds), POL_OK);
    while (pol_trainer_steps_done(tr) < task.steps)
        assert_int_equal(pol_trainer_step(tr, NULL), POL_OK);
    assert_int_equal(pol_trainer_state_hash(tr, &want), POL_OK);
    assert_memory_equal(h[4].b, want.b, 32);
    pol_trainer_destroy(tr);
}

/* A solver that tampers one node is pinpointed there and loses; a challenger
 * that tampers is refuted by the honest solver's opening. */
static void test_tamper_node(void **st)
{
    (void)st;
    static const struct { uint64_t step; int node; } at[] = {
        { 0, 0 }, { 3, 9 }, { 5, 3 }, { 6, 19 }, { 9, 17 }, { 13, 34 },
    };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        pol_replayer *c = cheater(POL_CHEAT_TAMPER_NODE, at[i].step, at[i].node);
        pol_party cp = pol_replayer_party(c, "tamper");
        dispute(&cp, &honest_party, 2);
        assert_int_equal(res.loser, POL_PARTY_SOLVER);
        assert_int_equal(res.reason, POL_DISPUTE_WRONG_RESULT);
        expect_pin(POL_PIN_NODE, at[i].step, at[i].node);
        assert_int_equal(res.referee_nodes, 1);
        dispute(&honest_party, &cp, 2); /* roles swapped: the honest solver wins */
        assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
        assert_int_equal(res.reason, POL_DISPUTE_REFUTED);
        expect_pin(POL_PIN_NODE, at[i].step, at[i].node);
        assert_int_equal(res.referee_nodes, 1);
        pol_replayer_destroy(c);
    }
}

/* k-ary level 2 (P-L2-KARY): fewer rounds, same pin. */
static void test_kary(void **st)
{
    (void)st;
    pol_replayer *c = cheater(POL_CHEAT_TAMPER_NODE, 6, 19);
    pol_party cp = pol_replayer_party(c, "tamper");
    dispute(&cp, &honest_party, 4);
    assert_int_equal(res.loser, POL_PARTY_SOLVER);
    expect_pin(POL_PIN_NODE, 6, 19);
    assert_int_equal(res.rounds_level[2], 1);
    pol_replayer_destroy(c);
}

/* Skipping a step: the node records agree, the end state does not; the
 * dispute lands on the first state leaf (counters.data_cursor). */
static void test_skip_step(void **st)
{
    (void)st;
    static const uint64_t steps[] = { 2, 7, 13 };
    for (size_t i = 0; i < 3; i++) {
        pol_replayer *c = cheater(POL_CHEAT_SKIP_STEP, steps[i], 0);
        pol_party cp = pol_replayer_party(c, "skip");
        dispute(&cp, &honest_party, 2);
        assert_int_equal(res.loser, POL_PARTY_SOLVER);
        assert_int_equal(res.reason, POL_DISPUTE_WRONG_RESULT);
        expect_pin(POL_PIN_STATE, steps[i], 0);
        assert_int_equal(res.referee_nodes, 0);
        dispute(&honest_party, &cp, 2);
        assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
        expect_pin(POL_PIN_STATE, steps[i], 0);
        pol_replayer_destroy(c);
    }
}

/* Wrong data order: node 0 reads a batch the referee derives otherwise. */
static void test_wrong_data(void **st)
{
    (void)st;
    static const uint64_t steps[] = { 1, 10 };
    for (size_t i = 0; i < 2; i++) {
        pol_replayer *c = cheater(POL_CHEAT_WRONG_DATA, steps[i], 0);
        pol_party cp = pol_replayer_party(c, "data");
        dispute(&cp, &honest_party, 2);
        assert_int_equal(res.loser, POL_PARTY_SOLVER);
        assert_int_equal(res.reason, POL_DISPUTE_WRONG_INPUT);
        expect_pin(POL_PIN_NODE, steps[i], 0);
        dispute(&honest_party, &cp, 2);
        assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
        assert_int_equal(res.reason, POL_DISPUTE_REFUTED);
        pol_replayer_destroy(c);
    }
}

/* A lazy challenger that agrees everywhere: the challenge fails at once. */
static void test_lazy_challenger(void **st)
{
    (void)st;
    pol_party lazy = honest_party;
    lazy.name = "lazy";
    dispute(&honest_party, &lazy, 2);
    assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
    assert_int_equal(res.reason, POL_DISPUTE_NO_DISAGREEMENT);
    assert_int_equal(res.rounds, 0);
    assert_int_equal(res.kind, POL_PIN_NONE);
    /* a cheater whose cheat does not reach the state (the loss is not used
     * by any other node) is indistinguishable: no dispute either */
    pol_replayer *c = cheater(POL_CHEAT_TAMPER_NODE, 4, 5);
    pol_party cp = pol_replayer_party(c, "loss");
    dispute(&cp, &honest_party, 2);
    assert_int_equal(res.reason, POL_DISPUTE_NO_DISAGREEMENT);
    pol_replayer_destroy(c);
}

/* Lies at the protocol level lose, whatever the computation. */
static void test_protocol_lies(void **st)
{
    (void)st;
    pol_replayer *t = cheater(POL_CHEAT_TAMPER_NODE, 6, 19);
    pol_party tp = pol_replayer_party(t, "tamper");
    pol_replayer *c = cheater(POL_CHEAT_CONTRADICT, 0, 0);
    pol_party cp = pol_replayer_party(c, "contradict");
    dispute(&cp, &tp, 2); /* P-L2-BIND */
    assert_int_equal(res.loser, POL_PARTY_SOLVER);
    assert_int_equal(res.reason, POL_DISPUTE_CONTRADICTION);
    pol_replayer *b = cheater(POL_CHEAT_BAD_PROOF, 0, 0);
    pol_party bp = pol_replayer_party(b, "badproof");
    dispute(&bp, &tp, 2); /* P-REF-1 */
    assert_int_equal(res.loser, POL_PARTY_SOLVER);
    assert_int_equal(res.reason, POL_DISPUTE_INVALID_PROOF);
    expect_pin(POL_PIN_NODE, 6, 19);
    pol_replayer *w = cheater(POL_CHEAT_WRONG_COUNT, 0, 0);
    pol_party wp = pol_replayer_party(w, "count");
    dispute(&wp, &honest_party, 2); /* P-L1-COUNT */
    assert_int_equal(res.loser, POL_PARTY_SOLVER);
    assert_int_equal(res.reason, POL_DISPUTE_BAD_COMMITMENT);
    dispute(&honest_party, &wp, 2);
    assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
    pol_replayer_destroy(t);
    pol_replayer_destroy(c);
    pol_replayer_destroy(b);
    pol_replayer_destroy(w);
}

/* A node whose inputs come from the state: the first linear node of a step
 * (in.x, l0.W, l0.b), a hidden linear node (a node output and two state
 * tensors), adam_m (l0.W.m from the state) and adamw_param (state, two node
 * outputs, in.hyper); at the first step of an interval too, where the state
 * was loaded from a checkpoint. */
static void test_state_inputs(void **st)
{
    (void)st;
    static const struct { uint64_t step; int node; } at[] = {
        { 4, 0 }, { 8, 0 }, { 2, 2 }, { 5, 17 }, { 11, 19 },
    };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        pol_replayer *c = cheater(POL_CHEAT_TAMPER_NODE, at[i].step, at[i].node);
        pol_party cp = pol_replayer_party(c, "tamper");
        dispute(&cp, &honest_party, 2);
        assert_int_equal(res.loser, POL_PARTY_SOLVER);
        assert_int_equal(res.reason, POL_DISPUTE_WRONG_RESULT);
        expect_pin(POL_PIN_NODE, at[i].step, at[i].node);
        dispute(&honest_party, &cp, 2);
        assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
        assert_int_equal(res.reason, POL_DISPUTE_REFUTED);
        expect_pin(POL_PIN_NODE, at[i].step, at[i].node);
        pol_replayer_destroy(c);
    }
}

/* Disagreement only on the final state: every checkpoint but the last
 * agrees (the last interval is 12..14, shorter than k). */
static void test_final_only(void **st)
{
    (void)st;
    static const struct { pol_cheat_kind kind; uint64_t step; int node; int64_t pin; } at[] = {
        { POL_CHEAT_TAMPER_NODE, 12, 9, 9 },
        { POL_CHEAT_TAMPER_NODE, 13, 0, 0 },
        { POL_CHEAT_SKIP_STEP, 12, 0, 0 },
    };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        pol_replayer *c = cheater(at[i].kind, at[i].step, at[i].node);
        size_t n;
        const pol_digest *hc = pol_replayer_checkpoints(c, &n);
        const pol_digest *hh = pol_replayer_checkpoints(honest, &n);
        for (size_t j = 0; j + 1 < n; j++)
            assert_memory_equal(hc[j].b, hh[j].b, 32);
        assert_memory_not_equal(hc[n - 1].b, hh[n - 1].b, 32);
        pol_party cp = pol_replayer_party(c, "final");
        const pol_pin_kind kind = at[i].kind == POL_CHEAT_SKIP_STEP ? POL_PIN_STATE : POL_PIN_NODE;
        dispute(&cp, &honest_party, 2);
        assert_int_equal(res.loser, POL_PARTY_SOLVER);
        expect_pin(kind, at[i].step, at[i].pin);
        assert_int_equal(res.interval, (int64_t)n - 2);
        dispute(&honest_party, &cp, 3);
        assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
        expect_pin(kind, at[i].step, at[i].pin);
        pol_replayer_destroy(c);
    }
}

/* A wrapper party: forwards to `in`, but may commit to `dn` more (or fewer)
 * checkpoints and may stop answering one kind of query after `after`
 * answers to it. */
enum { Q_NONE, Q_COMMIT, Q_CKPT, Q_STATE, Q_ROOTS, Q_SUBTREE, Q_OPEN };

typedef struct wrap {
    pol_party in;
    long dn;
    int mute, after, calls;
    int corrupt_end; /* flips a bit of the opened `end` tensor */
    int bend;        /* BEND_*: how the opening of a node is bent (0: not) */
} wrap;

/* Ways to bend an otherwise honest opening of a node leaf: a bit of an
 * input's data, of its Merkle path, its leaf index, the producer record's
 * output hash of an input that a node made, and a counter of the start
 * state. */
enum { BEND_NONE, BEND_IN_DATA, BEND_IN_PATH, BEND_IN_INDEX, BEND_PRODUCER, BEND_COUNTER, N_BEND };

static pol_status gone(wrap *w, int q)
{
    return w->mute == q && w->calls++ >= w->after ? POL_ERR_TIMEOUT : POL_OK;
}

static pol_status w_commit(void *self, size_t *n, pol_digest *root)
{
    wrap *w = self;
    pol_status st = gone(w, Q_COMMIT);
    if (!st)
        st = w->in.commit(w->in.self, n, root);
    *n = (size_t)((long)*n + w->dn);
    return st;
}

static pol_status w_ckpt(void *self, size_t i, pol_digest *h, pol_digest *path, size_t *len)
{
    wrap *w = self;
    return gone(w, Q_CKPT) ? POL_ERR_TIMEOUT : w->in.ckpt(w->in.self, i, h, path, len);
}

static pol_status w_state(void *self, size_t iv, uint64_t steps, pol_digest *h)
{
    wrap *w = self;
    return gone(w, Q_STATE) ? POL_ERR_TIMEOUT : w->in.state(w->in.self, iv, steps, h);
}

static pol_status w_roots(void *self, uint64_t s, pol_digest *nr, pol_digest *sr)
{
    wrap *w = self;
    return gone(w, Q_ROOTS) ? POL_ERR_TIMEOUT : w->in.roots(w->in.self, s, nr, sr);
}

static pol_status w_subtree(void *self, uint64_t s, int tree, uint64_t lo, uint64_t hi,
                            pol_digest *root)
{
    wrap *w = self;
    return gone(w, Q_SUBTREE) ? POL_ERR_TIMEOUT : w->in.subtree(w->in.self, s, tree, lo, hi, root);
}

static pol_status w_open(void *self, uint64_t s, int tree, uint64_t index, pol_pin_opening *o)
{
    wrap *w = self;
    pol_status st = gone(w, Q_OPEN) ? POL_ERR_TIMEOUT : w->in.open(w->in.self, s, tree, index, o);
    if (!st && w->corrupt_end && o->end.nbytes)
        ((uint8_t *)o->end.data)[0] ^= 0x01;
    if (st || tree != POL_TREE_NODES || !w->bend)
        return st;
    /* the first input with what the bend needs: data, a path, a producer */
    for (int k = 0; k < o->n_in; k++) {
        pol_pin_proof *p = &o->in[k];
        const int made = p->path_len > 0 && p->rec.op != 0; /* a node's output */
        switch (w->bend) {
        case BEND_IN_DATA:
            if (!p->t.nbytes) continue;
            ((uint8_t *)p->t.data)[p->t.nbytes - 1] ^= 0x10;
            return st;
        case BEND_IN_PATH:
            if (!p->path_len) continue;
            p->path[0].b[7] ^= 0x01;
            return st;
        case BEND_IN_INDEX:
            if (!p->path_len) continue;
            p->index ^= 1;
            return st;
        case BEND_PRODUCER:
            if (!made) continue;
            p->rec.out.b[0] ^= 0x01;
            return st;
        }
    }
    if (w->bend == BEND_COUNTER && o->counters[0].t.nbytes)
        ((uint8_t *)o->counters[0].t.data)[0] ^= 0x01;
    else if (w->bend != BEND_COUNTER)
        fail_msg("no input of node %llu to bend (bend %d)", (unsigned long long)index, w->bend);
    return st;
}

static pol_party wrapped(wrap *w, const pol_party *in, const char *name, long dn, int mute,
                         int after)
{
    w->in = *in, w->dn = dn, w->mute = mute, w->after = after, w->calls = 0, w->corrupt_end = 0;
    w->bend = BEND_NONE;
    pol_party p = { w, name, w_commit, w_ckpt, w_state, w_roots, w_subtree, w_open };
    return p;
}

/* Disagreement on the number of checkpoints, too few or too many (P-L1-COMMIT). */
static void test_wrong_count(void **st)
{
    (void)st;
    static const long dn[] = { -1, 1, -4 };
    for (size_t i = 0; i < 3; i++) {
        wrap w;
        pol_party p = wrapped(&w, &honest_party, "count", dn[i], Q_NONE, 0);
        dispute(&p, &honest_party, 2);
        assert_int_equal(res.loser, POL_PARTY_SOLVER);
        assert_int_equal(res.reason, POL_DISPUTE_BAD_COMMITMENT);
        assert_int_equal(res.kind, POL_PIN_NONE);
        p = wrapped(&w, &honest_party, "count", dn[i], Q_NONE, 0);
        dispute(&honest_party, &p, 2);
        assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
        assert_int_equal(res.reason, POL_DISPUTE_BAD_COMMITMENT);
    }
}

/* A disagreement at checkpoint 0: a party trained from another seed
 * (P-L1-INIT). The party whose initial state is not the task's loses, in
 * either role; when neither is the task's, the solver is named. */
static void test_wrong_init(void **st)
{
    (void)st;
    static pol_task t1, t2; /* outlive their replayers */
    t1 = task, t1.seed = task.seed + 1;
    t2 = task, t2.seed = task.seed + 2;
    char sub[1100];
    pol_replayer *a, *b;
    snprintf(sub, sizeof sub, "%s/seed1", dir);
    assert_int_equal(pol_replayer_create(&a, ctx, &t1, &ds, sub, NULL), POL_OK);
    snprintf(sub, sizeof sub, "%s/seed2", dir);
    assert_int_equal(pol_replayer_create(&b, ctx, &t2, &ds, sub, NULL), POL_OK);
    pol_party ap = pol_replayer_party(a, "seed+1"), bp = pol_replayer_party(b, "seed+2");
    dispute(&ap, &honest_party, 2);
    assert_int_equal(res.loser, POL_PARTY_SOLVER);
    assert_int_equal(res.reason, POL_DISPUTE_WRONG_INIT);
    assert_int_equal(res.kind, POL_PIN_INIT);
    assert_int_equal(res.interval, 0);
    assert_int_equal(res.rounds, 0);
    assert_int_equal(res.referee_nodes, 0);
    dispute(&honest_party, &ap, 2);
    assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
    assert_int_equal(res.reason, POL_DISPUTE_WRONG_INIT);
    dispute(&bp, &ap, 2);
    assert_int_equal(res.loser, POL_PARTY_SOLVER);
    assert_int_equal(res.reason, POL_DISPUTE_WRONG_INIT);
    pol_replayer_destroy(a);
    pol_replayer_destroy(b);
}

/* A party that stops answering at each level loses there, whichever role
 * it has and whether its computation was right (P-LOSE-1 a). */
static void test_no_answer(void **st)
{
    (void)st;
    pol_replayer *c = cheater(POL_CHEAT_TAMPER_NODE, 6, 19);
    pol_party cp = pol_replayer_party(c, "tamper");
    static const struct { int q, after, level; } at[] = {
        { Q_COMMIT, 0, 1 }, { Q_CKPT, 0, 1 }, { Q_CKPT, 2, 1 }, { Q_CKPT, 3, 1 },
        { Q_STATE, 0, 2 }, { Q_STATE, 2, 2 }, { Q_STATE, 3, 2 }, { Q_ROOTS, 0, 3 },
        { Q_SUBTREE, 0, 3 }, { Q_SUBTREE, 4, 3 }, { Q_OPEN, 0, 4 },
    };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        for (int role = 0; role < 2; role++) {
            for (int who = 0; who < 2; who++) { /* the muted one is honest, then the cheat */
                if (at[i].q == Q_OPEN && role == POL_PARTY_CHALLENGER)
                    continue; /* the challenger never opens */
                wrap w;
                pol_party m = wrapped(&w, who ? &cp : &honest_party, "mute", 0, at[i].q,
                                      at[i].after);
                const pol_party *other = who ? &honest_party : &cp;
                dispute(role ? other : &m, role ? &m : other, 2);
                if (res.loser != role || res.reason != POL_DISPUTE_NO_ANSWER)
                    fail_msg("query %d muted after %d: %s", at[i].q, at[i].after, res.why);
                /* the levels before the silence were played to their end */
                if (at[i].level >= 2)
                    assert_int_equal(res.interval, 1);
                if (at[i].level >= 3)
                    assert_int_equal(res.step, 6);
                if (at[i].level >= 4)
                    assert_int_equal(res.node, 19);
                if (at[i].level <= 2)
                    assert_true(res.step == -1);
            }
        }
    pol_replayer_destroy(c);
}

/* An honest solver against challengers that lie at the protocol level:
 * the challenger loses every time. */
static void test_lying_challenger(void **st)
{
    (void)st;
    static const pol_cheat_kind kinds[] = { POL_CHEAT_CONTRADICT, POL_CHEAT_BAD_PROOF,
                                            POL_CHEAT_WRONG_COUNT };
    pol_replayer *t = cheater(POL_CHEAT_TAMPER_NODE, 9, 17);
    pol_party tp = pol_replayer_party(t, "tamper");
    for (size_t i = 0; i < 3; i++) {
        pol_replayer *c = cheater(kinds[i], 0, 0);
        pol_party cp = pol_replayer_party(c, "liar");
        dispute(&honest_party, &cp, 2);
        assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
        pol_replayer_destroy(c);
    }
    /* and one that computed wrong */
    dispute(&honest_party, &tp, 2);
    assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
    assert_int_equal(res.reason, POL_DISPUTE_REFUTED);
    expect_pin(POL_PIN_NODE, 9, 17);
    pol_replayer_destroy(t);
}

/* A solver that computed right but bends the proofs of its opening loses
 * with INVALID_PROOF (P-LOSE-1 b): each input must be the committed leaf of
 * the start state or its producer's output, and the start state's counters
 * must be proven too. The unbent opening wins (control). */
static void test_bent_openings(void **st)
{
    (void)st;
    pol_replayer *c = cheater(POL_CHEAT_TAMPER_NODE, 6, 19);
    pol_party cp = pol_replayer_party(c, "tamper");
    for (int bend = BEND_NONE; bend < N_BEND; bend++) {
        wrap w;
        pol_party bent = wrapped(&w, &honest_party, "bent", 0, Q_NONE, 0);
        w.bend = bend;
        dispute(&bent, &cp, 2);
        print_message("    bend %d: %s\n", bend, res.why);
        expect_pin(POL_PIN_NODE, 6, 19);
        if (bend == BEND_NONE) {
            assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
            assert_int_equal(res.reason, POL_DISPUTE_REFUTED);
        } else if (res.loser != POL_PARTY_SOLVER || res.reason != POL_DISPUTE_INVALID_PROOF) {
            fail_msg("bend %d: %s loses, %s: %s", bend, res.loser ? "challenger" : "solver",
                     pol_dispute_reason_name(res.reason), res.why);
        }
    }
    pol_replayer_destroy(c);
}

/* P-TOL: the tolerant referee. The tampered output of node `node` is at
 * distance d (l2_rel) from the honest one, measured here from the two
 * parties' own openings; a threshold of d accepts it, the next double below
 * d refutes it, and the exact referee always refutes it. */
static void test_tolerant(void **st)
{
    (void)st;
    static const struct { uint64_t step; int node; } at[] = { { 6, 19 }, { 2, 2 }, { 9, 17 } };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        pol_replayer *c = cheater(POL_CHEAT_TAMPER_NODE, at[i].step, at[i].node);
        pol_party cp = pol_replayer_party(c, "tamper");
        pol_pin_opening oc = { 0 }, oh = { 0 };
        assert_int_equal(cp.open(cp.self, at[i].step, POL_TREE_NODES, (uint64_t)at[i].node, &oc),
                         POL_OK);
        assert_int_equal(honest_party.open(honest_party.self, at[i].step, POL_TREE_NODES,
                                           (uint64_t)at[i].node, &oh), POL_OK);
        assert_int_equal(oc.end.nbytes, oh.end.nbytes);
        pol_distance d;
        assert_int_equal(pol_distance_f32(oc.end.data, oh.end.data, oc.end.nbytes / 4, &d), POL_OK);
        assert_true(d.l2_rel > 0);
        const pol_op op = oc.rec.op;
        pol_pin_opening_free(&oc), pol_pin_opening_free(&oh);
        pol_pin_tolerance tol = { POL_METRIC_L2_REL, { 0 } };
        pol_dispute_opts o = { .arity = 2 };
        tol.threshold[op] = d.l2_rel; /* just inside */
        assert_int_equal(pol_dispute_run_tolerant(&task, &ds, &cp, &honest_party, &o, &tol, &res),
                         POL_OK);
        print_message("    inside:  %s\n", res.why);
        assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
        assert_int_equal(res.reason, POL_DISPUTE_REFUTED);
        expect_pin(POL_PIN_NODE, at[i].step, at[i].node);
        assert_true(res.rounds <= res.bound);
        tol.threshold[op] = nextafter(d.l2_rel, 0); /* just outside */
        assert_int_equal(pol_dispute_run_tolerant(&task, &ds, &cp, &honest_party, &o, &tol, &res),
                         POL_OK);
        print_message("    outside: %s\n", res.why);
        assert_int_equal(res.loser, POL_PARTY_SOLVER);
        assert_int_equal(res.reason, POL_DISPUTE_WRONG_RESULT);
        expect_pin(POL_PIN_NODE, at[i].step, at[i].node);
        /* another op's threshold does not apply */
        tol.threshold[op] = 0, tol.threshold[op == POL_OP_LINEAR ? POL_OP_GELU : POL_OP_LINEAR] = 1e9;
        assert_int_equal(pol_dispute_run_tolerant(&task, &ds, &cp, &honest_party, &o, &tol, &res),
                         POL_OK);
        assert_int_equal(res.loser, POL_PARTY_SOLVER);
        /* NULL: exact */
        assert_int_equal(pol_dispute_run_tolerant(&task, &ds, &cp, &honest_party, &o, NULL, &res),
                         POL_OK);
        assert_int_equal(res.reason, POL_DISPUTE_WRONG_RESULT);
        /* an opened output that is not the one its record commits to */
        wrap w;
        pol_party bent = wrapped(&w, &cp, "bent", 0, Q_NONE, 0);
        w.corrupt_end = 1, tol.threshold[op] = 1e9;
        assert_int_equal(pol_dispute_run_tolerant(&task, &ds, &bent, &honest_party, &o, &tol, &res),
                         POL_OK);
        assert_int_equal(res.loser, POL_PARTY_SOLVER);
        assert_int_equal(res.reason, POL_DISPUTE_INVALID_PROOF);
        /* the honest solver passes in tolerant mode too */
        tol.threshold[op] = d.l2_rel;
        assert_int_equal(pol_dispute_run_tolerant(&task, &ds, &honest_party, &cp, &o, &tol, &res),
                         POL_OK);
        assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
        assert_int_equal(res.reason, POL_DISPUTE_REFUTED);
        pol_replayer_destroy(c);
    }
    /* unusable tolerances */
    pol_pin_tolerance bad = { (pol_metric)99, { 0 } };
    assert_int_equal(pol_dispute_run_tolerant(&task, &ds, &honest_party, &honest_party, NULL, &bad,
                                              &res), POL_ERR_INVALID_ARG);
    bad.metric = POL_METRIC_L2, bad.threshold[3] = -1;
    assert_int_equal(pol_dispute_run_tolerant(&task, &ds, &honest_party, &honest_party, NULL, &bad,
                                              &res), POL_ERR_INVALID_ARG);
}


/* ------------------------------------------ 5b: transition disputes -- *
 * The tiny task in tolerant mode; solvers replay with OpenBLAS GEMMs (one
 * thread) or the exact kernels; the challenger is the library's search,
 * which recomputes with the reference kernels from the solver's own inputs. */

static pol_task ttask;
static pol_pin_tolerance ttol; /* P-TD-TAU: measured once, see tol_measured */

static pol_replayer *replayer(pol_ctx *c, const pol_task *t, pol_cheat_kind kind, uint64_t step,
                              int node)
{
    static int n;
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/td%d", dir, n++);
    pol_cheat ch = { kind, step, node };
    pol_replayer *rp;
    assert_int_equal(pol_replayer_create(&rp, c, t, &ds, sub, &ch), POL_OK);
    return rp;
}

static void tdispute(const pol_task *t, const pol_party_tol *solver, const pol_tol_challenger *ch,
                     const pol_pin_tolerance *tol)
{
    assert_int_equal(pol_dispute_run_transition(t, &ds, solver, ch, NULL, tol, &res), POL_OK);
    print_message("    %-10s vs %-10s: %s loses, %s; pin (%lld, %lld, %lld) kind %d; %u rounds "
                  "(%u/%u/%u), %llu bytes, referee %u node(s) in %.1f us\n      %s\n",
                  solver->base.name, ch->name, res.loser ? "challenger" : "solver",
                  pol_dispute_reason_name(res.reason), (long long)res.interval,
                  (long long)res.step, (long long)res.node, res.kind, res.rounds,
                  res.rounds_level[1], res.rounds_level[2], res.rounds_level[3],
                  (unsigned long long)res.bytes, res.referee_nodes, 1e6 * res.referee_seconds,
                  res.why);
    assert_true(res.rounds <= res.bound); /* P-TD-BOUND */
    assert_true(res.referee_nodes <= 1);
}

/* A search over `solver` with tolerance tol; the finding in *f. */
static void search(const pol_task *t, const pol_party_tol *solver, const pol_pin_tolerance *tol,
                   pol_tol_finding *f, pol_tol_search_stats *stats)
{
    pol_tol_search *s;
    assert_int_equal(pol_tol_search_create(&s, t, &ds, solver, tol), POL_OK);
    assert_int_equal(pol_tol_search_run(s, f), POL_OK);
    *stats = *pol_tol_search_get_stats(s);
    print_message("    search over %s: %s (%zu, %llu, tree %d, leaf %llu) %s; %llu steps, %llu "
                  "leaves, %llu nodes recomputed, %llu inexact, max distance/threshold %.3g\n",
                  solver->base.name, f->found ? "found" : "nothing", f->interval,
                  (unsigned long long)f->step, f->tree, (unsigned long long)f->index, f->why,
                  (unsigned long long)stats->steps, (unsigned long long)stats->leaves,
                  (unsigned long long)stats->nodes_recomputed,
                  (unsigned long long)stats->nodes_inexact, stats->max_ratio);
    pol_tol_search_destroy(s);
}

/* P-TD-TAU: the per-op thresholds (l2_rel), from the honest OpenBLAS
 * solver's own node-by-node distances to the reference kernels over the
 * whole run (measured with infinite thresholds), times the factor 4 of
 * P-RULE-1, with its floor 2^-20. */
static void tol_measured(pol_replayer *hb)
{
    pol_party_tol hp = pol_replayer_party_tol(hb, "blas");
    pol_pin_tolerance inf = { POL_METRIC_L2_REL, { 0 } };
    for (int i = 0; i < POL_PIN_TOL_OPS; i++)
        inf.threshold[i] = INFINITY;
    pol_tol_finding f;
    pol_tol_search_stats stats;
    search(&ttask, &hp, &inf, &f, &stats);
    assert_false(f.found);
    assert_int_equal(stats.steps, task.steps);
    assert_true(stats.nodes_inexact > 0); /* OpenBLAS really rounds otherwise here */
    ttol.metric = POL_METRIC_L2_REL;
    for (int i = 0; i < POL_PIN_TOL_OPS; i++) {
        ttol.threshold[i] = fmax(4 * stats.max_dist[i], ldexp(1, -20));
        if (stats.max_dist[i] > 0)
            print_message("    %s: honest max l2_rel %.3g, threshold %.3g\n",
                          pol_op_name((pol_op)i), stats.max_dist[i], ttol.threshold[i]);
    }
}


static void td_setup(void)
{
    if (blas_ctx)
        return;
    ttask = task, ttask.mode = POL_MODE_TOLERANT;
    pol_ctx_opts o = { .threads = 1, .kernels = POL_KERNELS_BLAS };
    assert_int_equal(pol_ctx_create(&blas_ctx, &o), POL_OK);
    honest_blas = replayer(blas_ctx, &ttask, POL_CHEAT_NONE, 0, 0);
    exact_t = replayer(ctx, &ttask, POL_CHEAT_NONE, 0, 0);
    tol_measured(honest_blas);
}

/* (1) An honest OpenBLAS solver: no transition is out of tolerance from its
 * own inputs, so the search names nothing and the challenge fails at once,
 * though its states differ bitwise from the exact ones (P-TD-SOUND). */
static void test_transition_honest_blas(void **st)
{
    (void)st;
    td_setup();
    size_t n;
    const pol_digest *hb = pol_replayer_checkpoints(honest_blas, &n);
    const pol_digest *he = pol_replayer_checkpoints(exact_t, &n);
    assert_memory_not_equal(hb[n - 1].b, he[n - 1].b, 32);
    pol_party_tol hp = pol_replayer_party_tol(honest_blas, "blas");
    pol_tol_finding f;
    pol_tol_search_stats stats;
    search(&ttask, &hp, &ttol, &f, &stats);
    assert_false(f.found);
    assert_true(stats.max_ratio <= 0.25); /* the factor of P-RULE-1 */
    pol_tol_search *s;
    assert_int_equal(pol_tol_search_create(&s, &ttask, &ds, &hp, &ttol), POL_OK);
    pol_tol_challenger c = pol_tol_search_challenger(s, "search");
    tdispute(&ttask, &hp, &c, &ttol);
    assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
    assert_int_equal(res.reason, POL_DISPUTE_NO_DISAGREEMENT);
    assert_int_equal(res.rounds, 0);
    assert_int_equal(res.referee_nodes, 0);
    pol_tol_search_destroy(s);
}

/* [P-L1-COMMIT] The solver's (n, R) is its certificate's: a solver that
 * certified a tampered run cannot defend it with an honest replay. */
static void test_bound_to_certificate(void **st)
{
    (void)st;
    pol_replayer *c = cheater(POL_CHEAT_TAMPER_NODE, 6, 19);
    pol_party cp = pol_replayer_party(c, "tamper");
    size_t n;
    pol_digest root;
    assert_int_equal(cp.commit(cp.self, &n, &root), POL_OK);
    /* unbound, the honest replay "defends" the tampered certificate */
    dispute(&honest_party, &honest_party, 2);
    assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
    assert_int_equal(res.reason, POL_DISPUTE_NO_DISAGREEMENT);
    /* bound to the certificate: the solver loses before anything is revealed */
    pol_dispute_opts o = { 2, &root };
    assert_int_equal(pol_dispute_run(&task, &ds, &honest_party, &honest_party, &o, &res), POL_OK);
    assert_int_equal(res.loser, POL_PARTY_SOLVER);
    assert_int_equal(res.reason, POL_DISPUTE_BAD_COMMITMENT);
    assert_int_equal(res.kind, POL_PIN_NONE);
    assert_non_null(strstr(res.why, "other than its certificate's"));
    /* the certified run itself, bound: pinned as before */
    assert_int_equal(pol_dispute_run(&task, &ds, &cp, &honest_party, &o, &res), POL_OK);
    assert_int_equal(res.loser, POL_PARTY_SOLVER);
    assert_int_equal(res.reason, POL_DISPUTE_WRONG_RESULT);
    expect_pin(POL_PIN_NODE, 6, 19);
    pol_replayer_destroy(c);
    /* the transition dispute: its own solver's root passes, another loses */
    td_setup();
    pol_party_tol hp = pol_replayer_party_tol(honest_blas, "blas");
    assert_int_equal(hp.base.commit(hp.base.self, &n, &root), POL_OK);
    pol_tol_search *s;
    assert_int_equal(pol_tol_search_create(&s, &ttask, &ds, &hp, &ttol), POL_OK);
    pol_tol_challenger sc = pol_tol_search_challenger(s, "search");
    assert_int_equal(pol_dispute_run_transition(&ttask, &ds, &hp, &sc, &o, &ttol, &res), POL_OK);
    assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
    assert_int_equal(res.reason, POL_DISPUTE_NO_DISAGREEMENT);
    root.b[0] ^= 1;
    assert_int_equal(pol_dispute_run_transition(&ttask, &ds, &hp, &sc, &o, &ttol, &res), POL_OK);
    assert_int_equal(res.loser, POL_PARTY_SOLVER);
    assert_int_equal(res.reason, POL_DISPUTE_BAD_COMMITMENT);
    pol_tol_search_destroy(s);
}

static void expect_td_pin(pol_pin_kind kind, uint64_t step, int64_t node)
{
    expect_pin(kind, step, node);
    assert_int_equal(res.rounds, 3);
    for (int l = 1; l <= 3; l++)
        assert_int_equal(res.rounds_level[l], 1);
}

/* (2) An OpenBLAS solver that cheats: pinned at the cheat and loses, where
 * the bitwise bisection (pol_dispute_run_tolerant) stops at an honest
 * rounding difference and the challenger loses (P-TOL-LIMIT, measured). */
static void test_transition_blas_cheat(void **st)
{
    (void)st;
    td_setup();
    static const struct { pol_cheat_kind kind; uint64_t step; int node; pol_pin_kind pin;
                          int64_t leaf; pol_dispute_reason why; } at[] = {
        { POL_CHEAT_TAMPER_NODE, 6, 19, POL_PIN_NODE, 19, POL_DISPUTE_WRONG_RESULT },
        { POL_CHEAT_TAMPER_NODE, 2, 2, POL_PIN_NODE, 2, POL_DISPUTE_WRONG_RESULT },
        { POL_CHEAT_TAMPER_NODE, 9, 17, POL_PIN_NODE, 17, POL_DISPUTE_WRONG_RESULT },
        { POL_CHEAT_TAMPER_NODE, 13, 0, POL_PIN_NODE, 0, POL_DISPUTE_WRONG_RESULT },
        { POL_CHEAT_SKIP_STEP, 7, 0, POL_PIN_STATE, 0, POL_DISPUTE_WRONG_RESULT },
        { POL_CHEAT_WRONG_DATA, 10, 0, POL_PIN_NODE, 0, POL_DISPUTE_WRONG_INPUT },
    };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        pol_replayer *c = replayer(blas_ctx, &ttask, at[i].kind, at[i].step, at[i].node);
        pol_party_tol cp = pol_replayer_party_tol(c, "blas-cheat");
        pol_tol_search *s;
        assert_int_equal(pol_tol_search_create(&s, &ttask, &ds, &cp, &ttol), POL_OK);
        pol_tol_challenger sc = pol_tol_search_challenger(s, "search");
        tdispute(&ttask, &cp, &sc, &ttol);
        assert_int_equal(res.loser, POL_PARTY_SOLVER);
        assert_int_equal(res.reason, at[i].why);
        expect_td_pin(at[i].pin, at[i].step, at[i].leaf);
        assert_int_equal(res.referee_nodes, at[i].pin == POL_PIN_NODE);
        const pol_tol_search_stats *ss = pol_tol_search_get_stats(s);
        assert_true(ss->max_ratio <= 0.25); /* every earlier node was honest noise */
        if (i == 0) {
            assert_true(ss->nodes_inexact > 0); /* there were rounding differences before it */
            pol_party ep = pol_replayer_party(exact_t, "exact");
            pol_dispute_opts o = { .arity = 2 };
            assert_int_equal(pol_dispute_run_tolerant(&ttask, &ds, &cp.base, &ep, &o, &ttol, &res),
                             POL_OK);
            print_message("    bitwise bisection: %s loses at (%lld, %lld): %s\n",
                          res.loser ? "challenger" : "solver", (long long)res.step,
                          (long long)res.node, res.why);
            assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
            assert_true(res.step < 6);
        }
        pol_tol_search_destroy(s);
        pol_replayer_destroy(c);
    }
}

/* Group distances (pol_state_distance_groups, a the one under test) of the
 * end states of step s of two runs of task t, taken from their openings of
 * the state leaves; *first: the first state leaf of group g (name order). */
static void step_distances(const pol_task *t, pol_replayer *a, pol_replayer *b, uint64_t s, int g,
                           pol_distance d[POL_GROUP_COUNT], int64_t *first)
{
    enum { MAX = 32 };
    pol_model m;
    assert_int_equal(pol_model_build(t, &m), POL_OK);
    const int n = m.n_state + 3; /* and the counters */
    pol_model_free(&m);
    assert_true(n <= MAX);
    pol_tensor ts[2][MAX];
    const pol_tensor *ps[2][MAX];
    *first = -1;
    for (int w = 0; w < 2; w++) {
        pol_party p = pol_replayer_party(w ? b : a, "state");
        for (int j = 0; j < n; j++) {
            pol_pin_opening o = { 0 };
            assert_int_equal(p.open(p.self, s, POL_TREE_STATE, (uint64_t)j, &o), POL_OK);
            ts[w][j] = o.end, ps[w][j] = &ts[w][j];
            memset(&o.end, 0, sizeof o.end);
            pol_pin_opening_free(&o);
            if (!w && *first < 0 && pol_state_group_of(ts[w][j].name) == g)
                *first = j;
        }
    }
    unsigned present;
    assert_int_equal(pol_state_distance_groups(ps[0], (size_t)n, ps[1], (size_t)n, d, &present),
                     POL_OK);
    assert_true(present & (1u << g));
    for (int w = 0; w < 2; w++)
        for (int j = 0; j < n; j++)
            pol_tensor_free(&ts[w][j]);
}

/* (2b) A solver that makes up its optimizer state at a checkpoint
 * (POL_CHEAT_MOMENTS: AdamW m or v, SGD buf doubled after the step that ends
 * there) with honest parameters and honest node records, training on from
 * the made-up state: the search judges every state leaf, the optimizer
 * state's included, and the referee's exact check of the first leaf of the
 * group (P-REF-3) finds it not the output of its update node. */
static void test_transition_moments(void **st)
{
    (void)st;
    td_setup();
    static pol_task sgd; /* SGD with momentum, tolerant, OpenBLAS like the AdamW runs */
    assert_int_equal(pol_task_load("spec/vectors/tiny/sgd-relu.json", &sgd), POL_OK);
    sgd.mode = POL_MODE_TOLERANT;
    pol_replayer *honest_sgd = replayer(blas_ctx, &sgd, POL_CHEAT_NONE, 0, 0);
    /* steps that end on a checkpoint: AdamW k = 4 (checkpoints 4, 8, 12, 14),
     * SGD k = 3 (3, 6, 9, 10) */
    static const struct { int is_sgd; pol_state_group g; uint64_t step; } at[] = {
        { 0, POL_GROUP_M, 7 }, { 0, POL_GROUP_V, 3 }, { 0, POL_GROUP_M, 13 },
        { 1, POL_GROUP_BUF, 5 }, { 1, POL_GROUP_BUF, 2 },
    };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        const pol_task *t = at[i].is_sgd ? &sgd : &ttask;
        pol_replayer *h = at[i].is_sgd ? honest_sgd : honest_blas;
        pol_replayer *c = replayer(blas_ctx, t, POL_CHEAT_MOMENTS, at[i].step, (int)at[i].g);
        /* the checkpoint: parameters and other groups the honest run's bits,
         * the group doubled; the final parameters steered away */
        pol_distance d[POL_GROUP_COUNT], fin[POL_GROUP_COUNT];
        int64_t leaf, unused;
        step_distances(t, c, h, at[i].step, (int)at[i].g, d, &leaf);
        step_distances(t, c, h, t->steps - 1, (int)at[i].g, fin, &unused);
        print_message("    %s made up at step %llu: l2_rel %.3g there (parameters %.3g), final "
                      "parameters l2_rel %.3g\n", pol_group_label(at[i].g),
                      (unsigned long long)at[i].step, d[at[i].g].l2_rel, d[POL_GROUP_PARAMS].l2_rel,
                      fin[POL_GROUP_PARAMS].l2_rel);
        for (int g = 0; g < POL_GROUP_COUNT; g++)
            assert_true(g == (int)at[i].g ? d[g].l2_rel == 1.0 : d[g].l2 == 0.0);
        assert_true(at[i].step + 1 == t->steps || fin[POL_GROUP_PARAMS].l2_rel > 0);
        pol_party_tol cp = pol_replayer_party_tol(c, "moments");
        pol_tol_search *s;
        assert_int_equal(pol_tol_search_create(&s, t, &ds, &cp, &ttol), POL_OK);
        pol_tol_challenger sc = pol_tol_search_challenger(s, "search");
        tdispute(t, &cp, &sc, &ttol);
        assert_int_equal(res.loser, POL_PARTY_SOLVER);
        assert_int_equal(res.reason, POL_DISPUTE_WRONG_RESULT);
        assert_int_equal(res.kind, POL_PIN_STATE);
        assert_int_equal(res.interval, at[i].step / t->checkpoint_every);
        assert_int_equal(res.step, at[i].step);
        assert_int_equal(res.node, leaf);
        assert_int_equal(res.rounds, 3);
        assert_int_equal(res.referee_nodes, 0);
        assert_true(pol_tol_search_get_stats(s)->max_ratio <= 0.25); /* the nodes were honest */
        pol_tol_search_destroy(s);
        pol_replayer_destroy(c);
    }
    pol_replayer_destroy(honest_sgd);
}

/* (3) An exact solver that cheats, an exact referee (tol NULL) or the
 * tolerant one: the same pins as the bitwise bisection. */
static void test_transition_exact(void **st)
{
    (void)st;
    td_setup();
    static const struct { uint64_t step; int node; } at[] = { { 6, 19 }, { 0, 0 }, { 13, 34 } };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        for (int tolerant = 0; tolerant < 2; tolerant++) {
            const pol_task *t = tolerant ? &ttask : &task;
            pol_replayer *c = replayer(ctx, t, POL_CHEAT_TAMPER_NODE, at[i].step, at[i].node);
            pol_party_tol cp = pol_replayer_party_tol(c, "exact-cheat");
            const pol_pin_tolerance *tol = tolerant ? &ttol : NULL;
            pol_tol_search *s;
            assert_int_equal(pol_tol_search_create(&s, t, &ds, &cp, tol), POL_OK);
            pol_tol_challenger sc = pol_tol_search_challenger(s, "search");
            tdispute(t, &cp, &sc, tol);
            assert_int_equal(res.loser, POL_PARTY_SOLVER);
            assert_int_equal(res.reason, POL_DISPUTE_WRONG_RESULT);
            expect_td_pin(POL_PIN_NODE, at[i].step, at[i].node);
            assert_int_equal(pol_tol_search_get_stats(s)->nodes_inexact, 0);
            pol_tol_search_destroy(s);
            pol_replayer_destroy(c);
        }
}

/* A scripted challenger: names (interval, step, tree, leaf) whatever it is
 * shown; found 0 withdraws. */
typedef struct script {
    int found;
    size_t iv;
    uint64_t step;
    int tree;
    uint64_t leaf;
} script;

static pol_status sc_interval(void *self, int *found, size_t *iv)
{
    script *s = self;
    *found = s->found, *iv = s->iv;
    return POL_OK;
}

static pol_status sc_step(void *self, size_t iv, const pol_digest *root, uint64_t *step)
{
    (void)iv, (void)root;
    *step = ((script *)self)->step;
    return POL_OK;
}

static pol_status sc_leaf(void *self, uint64_t s, const pol_digest *h, const pol_digest *nr,
                          const pol_digest *sr, int *tree, uint64_t *index)
{
    (void)s, (void)h, (void)nr, (void)sr;
    *tree = ((script *)self)->tree, *index = ((script *)self)->leaf;
    return POL_OK;
}

static void claim(const pol_party_tol *solver, size_t iv, uint64_t step, int tree, uint64_t leaf,
                  pol_dispute_reason want)
{
    script s = { 1, iv, step, tree, leaf };
    pol_tol_challenger c = { &s, "liar", sc_interval, sc_step, sc_leaf };
    tdispute(&ttask, solver, &c, &ttol);
    assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
    assert_int_equal(res.reason, want);
}

/* (4) A challenger that names a leaf within tolerance loses, whatever the
 * solver did elsewhere; so does one that names what does not exist. */
static void test_transition_lying_challenger(void **st)
{
    (void)st;
    td_setup();
    pol_party_tol hp = pol_replayer_party_tol(honest_blas, "blas");
    /* the first node whose bits differ from the exact run's (the bitwise
     * bisection's pin): honest rounding, within tolerance */
    pol_party ep = pol_replayer_party(exact_t, "exact");
    pol_dispute_opts o = { .arity = 2 };
    assert_int_equal(pol_dispute_run_tolerant(&ttask, &ds, &hp.base, &ep, &o, &ttol, &res), POL_OK);
    assert_int_equal(res.kind, POL_PIN_NODE);
    const uint64_t s0 = (uint64_t)res.step, j0 = (uint64_t)res.node;
    print_message("    first inexact node: step %llu node %llu\n", (unsigned long long)s0,
                  (unsigned long long)j0);
    claim(&hp, s0 / task.checkpoint_every, s0, POL_TREE_NODES, j0, POL_DISPUTE_REFUTED);
    assert_int_equal(res.referee_nodes, 1);
    expect_td_pin(POL_PIN_NODE, s0, (int64_t)j0);
    claim(&hp, 2, 9, POL_TREE_STATE, 3, POL_DISPUTE_REFUTED);
    /* a cheating solver, the claim elsewhere: the node before the tamper,
     * and the one after, computed from the tampered value (the solver's
     * own inputs are the reference) */
    pol_replayer *c = replayer(blas_ctx, &ttask, POL_CHEAT_TAMPER_NODE, 6, 19);
    pol_party_tol cp = pol_replayer_party_tol(c, "blas-cheat");
    claim(&cp, 1, 6, POL_TREE_NODES, 18, POL_DISPUTE_REFUTED);
    claim(&cp, 1, 6, POL_TREE_NODES, 20, POL_DISPUTE_REFUTED);
    claim(&cp, 1, 7, POL_TREE_NODES, 19, POL_DISPUTE_REFUTED);
    /* locations that do not exist (P-TD-CLAIM) */
    claim(&cp, 4, 6, POL_TREE_NODES, 19, POL_DISPUTE_BAD_CLAIM);
    claim(&cp, 1, 9, POL_TREE_NODES, 19, POL_DISPUTE_BAD_CLAIM);
    assert_int_equal(res.rounds, 1);
    claim(&cp, 1, 6, POL_TREE_NODES, 35, POL_DISPUTE_BAD_CLAIM);
    claim(&cp, 1, 6, 7, 0, POL_DISPUTE_BAD_CLAIM);
    /* and one that withdraws */
    script w = { 0, 0, 0, 0, 0 };
    pol_tol_challenger wc = { &w, "withdraw", sc_interval, sc_step, sc_leaf };
    tdispute(&ttask, &cp, &wc, &ttol);
    assert_int_equal(res.loser, POL_PARTY_CHALLENGER);
    assert_int_equal(res.reason, POL_DISPUTE_NO_DISAGREEMENT);
    /* the right claim, scripted, wins as the search does */
    script ok = { 1, 1, 6, POL_TREE_NODES, 19 };
    pol_tol_challenger okc = { &ok, "scripted", sc_interval, sc_step, sc_leaf };
    tdispute(&ttask, &cp, &okc, &ttol);
    assert_int_equal(res.loser, POL_PARTY_SOLVER);
    expect_td_pin(POL_PIN_NODE, 6, 19);
    pol_replayer_destroy(c);
}

/* Solver lies at the protocol level: found by the search, lost in the
 * dispute; the initial state is checked by the referee itself. */
static void test_transition_solver_lies(void **st)
{
    (void)st;
    td_setup();
    static const struct { pol_cheat_kind kind; pol_dispute_reason why; } at[] = {
        { POL_CHEAT_CONTRADICT, POL_DISPUTE_CONTRADICTION },
        { POL_CHEAT_BAD_PROOF, POL_DISPUTE_INVALID_PROOF },
    };
    for (size_t i = 0; i < 2; i++) {
        pol_replayer *c = replayer(blas_ctx, &ttask, at[i].kind, 0, 0);
        pol_party_tol cp = pol_replayer_party_tol(c, "liar");
        pol_tol_search *s;
        assert_int_equal(pol_tol_search_create(&s, &ttask, &ds, &cp, &ttol), POL_OK);
        pol_tol_challenger sc = pol_tol_search_challenger(s, "search");
        tdispute(&ttask, &cp, &sc, &ttol);
        assert_int_equal(res.loser, POL_PARTY_SOLVER);
        assert_int_equal(res.reason, at[i].why);
        pol_tol_search_destroy(s);
        pol_replayer_destroy(c);
    }
    static pol_task t1; /* another seed: a wrong initial state */
    t1 = ttask, t1.seed = ttask.seed + 1;
    pol_replayer *c = replayer(blas_ctx, &t1, POL_CHEAT_NONE, 0, 0);
    pol_party_tol cp = pol_replayer_party_tol(c, "seed+1");
    script any = { 1, 0, 0, POL_TREE_NODES, 0 };
    pol_tol_challenger ac = { &any, "any", sc_interval, sc_step, sc_leaf };
    tdispute(&ttask, &cp, &ac, &ttol);
    assert_int_equal(res.loser, POL_PARTY_SOLVER);
    assert_int_equal(res.reason, POL_DISPUTE_WRONG_INIT);
    assert_int_equal(res.referee_nodes, 0);
    pol_replayer_destroy(c);
    /* bad tolerances are refused */
    pol_tol_search *s;
    pol_pin_tolerance bad = ttol;
    bad.threshold[1] = NAN;
    assert_int_equal(pol_tol_search_create(&s, &ttask, &ds, &cp, &bad), POL_ERR_INVALID_ARG);
    assert_int_equal(pol_dispute_run_transition(&ttask, &ds, &cp, &ac, NULL, &bad, &res),
                     POL_ERR_INVALID_ARG);
}

static void test_bound(void **st)
{
    (void)st;
    assert_int_equal(pol_dispute_bound(4, 4, 2, 35, 21), 2 + 2 + 6);
    assert_int_equal(pol_dispute_bound(1, 1, 2, 1, 1), 0);
    assert_int_equal(pol_dispute_bound(1000, 100, 4, 10000, 3), 10 + 4 + 14);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_record_hash),
        cmocka_unit_test(test_tamper_node),
        cmocka_unit_test(test_bound_to_certificate),
        cmocka_unit_test(test_kary),
        cmocka_unit_test(test_skip_step),
        cmocka_unit_test(test_wrong_data),
        cmocka_unit_test(test_lazy_challenger),
        cmocka_unit_test(test_protocol_lies),
        cmocka_unit_test(test_state_inputs),
        cmocka_unit_test(test_final_only),
        cmocka_unit_test(test_wrong_count),
        cmocka_unit_test(test_wrong_init),
        cmocka_unit_test(test_no_answer),
        cmocka_unit_test(test_lying_challenger),
        cmocka_unit_test(test_bent_openings),
        cmocka_unit_test(test_tolerant),
        cmocka_unit_test(test_transition_honest_blas),
        cmocka_unit_test(test_transition_blas_cheat),
        cmocka_unit_test(test_transition_moments),
        cmocka_unit_test(test_transition_exact),
        cmocka_unit_test(test_transition_lying_challenger),
        cmocka_unit_test(test_transition_solver_lies),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
