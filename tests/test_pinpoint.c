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
    pol_dispute_opts o = { arity };
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
} wrap;

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
    return st;
}

static pol_party wrapped(wrap *w, const pol_party *in, const char *name, long dn, int mute,
                         int after)
{
    w->in = *in, w->dn = dn, w->mute = mute, w->after = after, w->calls = 0, w->corrupt_end = 0;
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
        pol_dispute_opts o = { 2 };
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
        cmocka_unit_test(test_tolerant),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
