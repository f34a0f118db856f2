/* libpol — the pinpoint protocol: bisecting a disagreement down to one node
 * of one training step, and the referee that recomputes it (spec/pinpoint.md,
 * exact mode).
 *
 * Two parties, the solver (who committed a certificate) and a challenger,
 * answer the queries of a deterministic driver, pol_dispute_run:
 *   level 1  checkpoint interval: both reveal checkpoint hashes, each with a
 *            Merkle proof against their checkpoint root [P-L1];
 *   level 2  step inside the interval: both replay from the agreed
 *            checkpoint and reveal state hashes at evenly spaced split
 *            points [P-L2];
 *   level 3  record inside the step: both commit to the root of the step's
 *            node records and the root of its end state's leaves, then
 *            descend to the leftmost differing leaf [P-L3];
 *   level 4  the referee checks the solver's opening of that leaf: inputs
 *            proven against agreed commitments, one node recomputed with
 *            the reference kernels, hashes compared bit for bit [P-REF].
 * A party that answers nothing, contradicts its own earlier answer, or sends
 * a proof that does not verify loses on the spot.
 *
 * Rules for every function: pointer arguments non-NULL unless stated; a
 * failed call leaves outputs zeroed or unspecified as it says.
 */
#ifndef POL_PINPOINT_H
#define POL_PINPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "pol/context.h"
#include "pol/dataset.h"
#include "pol/distance.h"
#include "pol/graph.h"
#include "pol/hash.h"
#include "pol/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------ node records -- */

/* The preimage of a node record [P-REC-1]. */
typedef struct pol_node_record {
    pol_op op;
    pol_node_params params;
    int n_in;
    pol_digest in[POL_NODE_MAX_IN]; /* leaf hashes of the input tensors */
    pol_digest out;                 /* leaf hash of the output tensor */
} pol_node_record;

/* The record hash [P-REC-1]: SHA-256(0x03 || "libpol/node/v1" 0x00 ||
 * u32le op || i32le trans_a || i32le trans_b || f32le beta1, beta2, eps, wd ||
 * u32le n_in || in[0..n_in) || out).
 * Returns: POL_OK; POL_ERR_INVALID_ARG (n_in outside 0..POL_NODE_MAX_IN);
 *          POL_ERR_INTERNAL. */
POL_WARN_UNUSED pol_status pol_node_record_hash(const pol_node_record *r, pol_digest *out);

/* The records of every node of an evaluated, not yet committed graph, in
 * topological order [P-REC-2]. recs (may be NULL) gets the preimages,
 * leaves (n_nodes digests) their hashes.
 * Returns: POL_OK; POL_ERR_NOMEM; errors of pol_tensor_hash. */
POL_WARN_UNUSED pol_status pol_step_records(const pol_graph *g, pol_node_record *recs,
                                            pol_digest *leaves);

/* The node-tree root of one step: pol_merkle_root of pol_step_records. */
POL_WARN_UNUSED pol_status pol_step_node_root(const pol_graph *g, pol_digest *root);

/* ----------------------------------------------------------- parties -- */

/* The two trees of a step (level 3). */
#define POL_TREE_NODES 0 /* node records, topological order */
#define POL_TREE_STATE 1 /* leaves of the state after the step, name order */

/* One proven tensor of an opening. */
typedef struct pol_pin_proof {
    pol_tensor t;         /* the tensor (owned; may be empty where unused) */
    uint64_t index;       /* leaf index: in the start state, or the producer node */
    size_t path_len;
    pol_digest path[POL_MERKLE_PATH_MAX];
    pol_node_record rec;  /* for a node output: its producer's record */
} pol_pin_proof;

/* What a party sends the referee for one leaf [P-REF-1]. */
typedef struct pol_pin_opening {
    pol_node_record rec;        /* node leaf: the disputed record */
    pol_tensor end;             /* state leaf: the disputed end-state tensor */
    pol_digest start_root;      /* Merkle root of the start state's leaves */
    int n_in;
    pol_pin_proof in[POL_NODE_MAX_IN]; /* node leaf: one per input; state leaf: in[0] the source */
    pol_pin_proof counters[3];  /* counters.data_cursor, .data_epoch, .step of the start state */
} pol_pin_opening;

void pol_pin_opening_free(pol_pin_opening *o);

/* A party: callbacks on an opaque self. Steps are global: `step` s names the
 * transition from the state after s steps to the state after s + 1. Any
 * status other than POL_OK counts as no answer. */
typedef struct pol_party {
    void *self;
    const char *name;
    /* level 1: number of checkpoints and the Merkle root of their hashes */
    pol_status (*commit)(void *self, size_t *n, pol_digest *root);
    /* level 1: checkpoint i's hash and its inclusion proof (path_len: in
     * capacity, POL_MERKLE_PATH_MAX; out length) */
    pol_status (*ckpt)(void *self, size_t i, pol_digest *h, pol_digest *path, size_t *path_len);
    /* level 2: the state hash after `steps` steps, replayed from the start
     * of checkpoint interval `interval` */
    pol_status (*state)(void *self, size_t interval, uint64_t steps, pol_digest *h);
    /* level 3: the node root and the end-state leaf root of step s */
    pol_status (*roots)(void *self, uint64_t s, pol_digest *node_root, pol_digest *state_root);
    /* level 3: the root of leaves [lo, hi) of one tree of step s */
    pol_status (*subtree)(void *self, uint64_t s, int tree, uint64_t lo, uint64_t hi,
                          pol_digest *root);
    /* level 4: the opening of leaf `index` of one tree of step s (zeroed by
     * the caller, freed with pol_pin_opening_free) */
    pol_status (*open)(void *self, uint64_t s, int tree, uint64_t index, pol_pin_opening *o);
} pol_party;

/* --------------------------------------------------- the replayer -- *
 * The honest party: trains the task once, keeping its checkpoints as files
 * in a work directory, and answers every query by replaying from its own
 * checkpoints with the trainer (CPU context). The cheats are for tests and
 * demos only: a cheating replayer is consistent, it commits to what it
 * really computed after the cheat [P-CHEAT]. */

typedef enum pol_cheat_kind {
    POL_CHEAT_NONE = 0,
    POL_CHEAT_TAMPER_NODE = 1, /* flips a bit of node `node`'s output at step `step` */
    POL_CHEAT_SKIP_STEP = 2,   /* step `step` only bumps counters.step */
    POL_CHEAT_WRONG_DATA = 3,  /* step `step` swaps batch rows 0 and 1 */
    /* protocol-level lies, on top of an otherwise consistent run: */
    POL_CHEAT_CONTRADICT = 4,  /* level 2: claims another hash at an interval's end */
    POL_CHEAT_BAD_PROOF = 5,   /* level 4: corrupts the openings' Merkle paths */
    POL_CHEAT_WRONG_COUNT = 6, /* level 1: commits to one checkpoint too many */
    /* step `step` ends with the optimizer state of group `node` (POL_GROUP_M,
     * _V or _BUF of pol/distance.h) doubled after the commit: made-up moments
     * in the state, parameters and node records honest */
    POL_CHEAT_MOMENTS = 7,
} pol_cheat_kind;

typedef struct pol_cheat {
    pol_cheat_kind kind;
    uint64_t step; /* global step index */
    int node;      /* node index (TAMPER_NODE); state group (MOMENTS) */
} pol_cheat;

typedef struct pol_replayer pol_replayer;

/* Trains the task into work_dir (created; files ckpt-<i>.safetensors) and
 * prepares the party. cheat may be NULL (honest). ctx, task and ds must
 * outlive the replayer; ctx must be a CPU context.
 * Returns: POL_OK; errors of the trainer and checkpoint writer. */
POL_WARN_UNUSED pol_status pol_replayer_create(pol_replayer **rp, pol_ctx *ctx,
                                               const pol_task *task, const pol_dataset *ds,
                                               const char *work_dir, const pol_cheat *cheat);
void pol_replayer_destroy(pol_replayer *rp);

/* The party view of a replayer (valid while it lives). */
pol_party pol_replayer_party(pol_replayer *rp, const char *name);

/* The replayer's checkpoint hashes (n of them). */
const pol_digest *pol_replayer_checkpoints(const pol_replayer *rp, size_t *n);

/* ------------------------------------------------------- the dispute -- */

typedef enum pol_dispute_reason {
    POL_DISPUTE_NO_DISAGREEMENT = 1, /* the challenger agrees with the final state */
    POL_DISPUTE_BAD_COMMITMENT = 2,  /* wrong number of checkpoints for the task, or a
                                        solver's root other than its certificate's */
    POL_DISPUTE_NO_ANSWER = 3,       /* a query was not answered */
    POL_DISPUTE_INVALID_PROOF = 4,   /* a Merkle proof did not verify */
    POL_DISPUTE_CONTRADICTION = 5,   /* an answer contradicts the party's earlier one */
    POL_DISPUTE_WRONG_INPUT = 6,     /* the opened record claims inputs the agreed data refutes */
    POL_DISPUTE_WRONG_RESULT = 7,    /* the referee's recomputation refutes the solver */
    POL_DISPUTE_REFUTED = 8,         /* the referee's recomputation confirms the solver */
    POL_DISPUTE_WRONG_INIT = 9,      /* a party's initial state is not the task's */
    POL_DISPUTE_BAD_CLAIM = 10,      /* a transition dispute's challenger named a location
                                        outside the task or the interval (P-TD) */
} pol_dispute_reason;

const char *pol_dispute_reason_name(pol_dispute_reason r);

#define POL_PARTY_SOLVER 0
#define POL_PARTY_CHALLENGER 1

typedef enum pol_pin_kind {
    POL_PIN_NONE = 0,  /* decided before a leaf was reached */
    POL_PIN_INIT = 1,  /* the initial state (checkpoint 0) */
    POL_PIN_NODE = 2,  /* node `node` of step `step` */
    POL_PIN_STATE = 3, /* end-state leaf `node` (name order) of step `step` */
} pol_pin_kind;

#define POL_DISPUTE_MAX_ROUNDS 256

typedef struct pol_dispute_round {
    int level;      /* 1, 2, 3; 4 the referee submission; 0 an opening exchange */
    uint32_t bytes; /* every message of the round, both directions */
} pol_dispute_round;

typedef struct pol_dispute_opts {
    unsigned arity; /* level-2 split: 2 binary (0 means 2), up to 16 */
    /* [P-L1-COMMIT] the disputed certificate's ckpt_root: the solver's (n, R)
     * must be the certificate's, or it loses with POL_DISPUTE_BAD_COMMITMENT
     * before anything is revealed (a solver that certified one run must not
     * defend another). NULL: not bound (a research or test driver that has
     * no certificate); the referee of a game always sets it. */
    const pol_digest *solver_root;
} pol_dispute_opts;

typedef struct pol_dispute_result {
    int loser;                  /* POL_PARTY_SOLVER or POL_PARTY_CHALLENGER */
    pol_dispute_reason reason;
    char why[256];              /* human readable */
    pol_pin_kind kind;
    int64_t interval, step, node; /* the pinpointed location; -1 where not reached */
    unsigned rounds;            /* bisection rounds (levels 1-3) */
    unsigned rounds_level[4];   /* of which level 1, 2, 3 at [1], [2], [3] */
    unsigned bound;             /* the bound of spec P-BOUND for this task */
    size_t n_log;
    pol_dispute_round log[POL_DISPUTE_MAX_ROUNDS]; /* every exchange, in order */
    uint64_t bytes;             /* total of log[].bytes */
    uint64_t bytes_max_round;   /* the largest bisection round */
    unsigned referee_nodes;     /* nodes the referee recomputed (0 or 1) */
    double referee_seconds;     /* referee CPU time (thread) */
} pol_dispute_result;

/* Runs a dispute between `solver` and `challenger` over `task` to the end
 * (spec/pinpoint.md). opts may be NULL. A dispute always ends with a loser;
 * a status other than POL_OK means the referee itself could not work (task
 * or dataset unusable, out of memory), not that a party lost.
 * Returns: POL_OK; POL_ERR_INVALID_ARG; POL_ERR_NOMEM; errors of the model
 *          builder. Out: *res. */
POL_WARN_UNUSED pol_status pol_dispute_run(const pol_task *task, const pol_dataset *ds,
                                           const pol_party *solver, const pol_party *challenger,
                                           const pol_dispute_opts *opts, pol_dispute_result *res);

/* ------------------------------------------ tolerant mode, level 4 -- *
 * The bisection (levels 1-3) is the exact one: it finds the leftmost node
 * whose record differs. Only the referee changes [P-TOL]: for a node leaf
 * with an F32 output, the solver's opening also carries that output tensor
 * in `end` (under the node's output name, proven by the record's output
 * hash), and the referee accepts it when its distance to the reference
 * recomputation is within the op's threshold. */

#define POL_PIN_TOL_OPS 32 /* threshold slots, indexed by op code */

typedef struct pol_pin_tolerance {
    pol_metric metric;                 /* the distance (pol/distance.h), e.g. POL_METRIC_L2_REL */
    double threshold[POL_PIN_TOL_OPS]; /* per op code: accepted when distance <= threshold */
} pol_pin_tolerance;

/* As pol_dispute_run, with the tolerant referee of spec P-TOL at level 4
 * (tol NULL: exactly pol_dispute_run). A state leaf is judged exactly.
 * Returns: POL_OK; POL_ERR_INVALID_ARG (also: an unknown metric, a negative
 *          or NaN threshold); POL_ERR_NOMEM; errors of the model builder.
 * Out: *res. */
POL_WARN_UNUSED pol_status pol_dispute_run_tolerant(const pol_task *task, const pol_dataset *ds,
                                                    const pol_party *solver,
                                                    const pol_party *challenger,
                                                    const pol_dispute_opts *opts,
                                                    const pol_pin_tolerance *tol,
                                                    pol_dispute_result *res);

/* ------------------------------------ tolerant disputes (spec 5b) -- *
 * A transition dispute (pol_dispute_run_transition, spec/pinpoint.md 5b,
 * [P-TD-*]) takes the SOLVER's committed states as the reference: the
 * challenger claims that one leaf of one step t (a node record, or a leaf of
 * the state after t) is wrong when judged from the solver's own inputs —
 * its state h(t), its node records of step t — and the referee checks that
 * claim alone, recomputing at most one node. No hash comparison between the
 * parties is involved, so a solver on other kernels (POL_KERNELS_BLAS) is
 * judged by the per-op tolerance, node by node, and a tampered node later in
 * the run is found behind any number of honest rounding differences.
 *
 * Levels, one round each: (1) the challenger names checkpoint interval i,
 * the solver proves checkpoints i and i+1 under its root; (2) the solver
 * commits to the trace of interval i (the Merkle root of its state hashes
 * h(c(i)) .. h(c(i+1))), the challenger names step t, the solver proves h(t)
 * and h(t+1) under it; (3) the solver sends its node root and state root of
 * step t, the challenger names a leaf, the solver proves that leaf; (4) the
 * referee judges the solver's opening of it (P-REF-2 / P-TOL, P-REF-3). */

/* The solver of a transition dispute: a pol_party (commit, ckpt, roots,
 * subtree and open are used; state is not) and its trace commitment. */
typedef struct pol_party_tol {
    pol_party base;
    /* level 2: the Merkle root of interval i's state hashes
     * h(c(i)), h(c(i)+1), ..., h(c(i+1)), leaf `steps - c(i)` for each */
    pol_status (*trace_root)(void *self, size_t interval, pol_digest *root);
    /* level 2: h(steps) and its inclusion proof under trace_root(interval)
     * (path_len: in capacity, POL_MERKLE_PATH_MAX; out length) */
    pol_status (*trace)(void *self, size_t interval, uint64_t steps, pol_digest *h,
                        pol_digest *path, size_t *path_len);
} pol_party_tol;

/* The transition-dispute view of a replayer (valid while it lives); its
 * cheats apply as in pol_replayer_party (CONTRADICT: the trace's last hash). */
pol_party_tol pol_replayer_party_tol(pol_replayer *rp, const char *name);

/* The challenger of a transition dispute: it names, level by level, where
 * the solver's computation is wrong. A status other than POL_OK counts as no
 * answer. */
typedef struct pol_tol_challenger {
    void *self;
    const char *name;
    /* level 1: the disputed interval; *found = 0 withdraws the challenge */
    pol_status (*interval)(void *self, int *found, size_t *interval);
    /* level 2: the disputed step of interval i, given the solver's trace root */
    pol_status (*step)(void *self, size_t interval, const pol_digest *trace_root, uint64_t *step);
    /* level 3: the disputed leaf of step s (tree POL_TREE_NODES or
     * POL_TREE_STATE, index), given the solver's proven h(s) and its roots */
    pol_status (*leaf)(void *self, uint64_t s, const pol_digest *h_s, const pol_digest *node_root,
                       const pol_digest *state_root, int *tree, uint64_t *index);
} pol_tol_challenger;

/* Runs a transition dispute (spec 5b) to the end. tol: the per-op node
 * tolerance of P-TOL (NULL: nodes are judged exactly). A dispute always ends
 * with a loser; res->rounds counts the three naming rounds (res->bound = 3),
 * res->referee_nodes the nodes the referee recomputed (0 or 1). opts (may be
 * NULL): its solver_root binds the solver as in pol_dispute_run; arity is
 * not used (one naming round a level).
 * Returns: POL_OK; POL_ERR_INVALID_ARG (also a bad tolerance as in
 *          pol_dispute_run_tolerant); POL_ERR_NOMEM; errors of the model
 *          builder. Out: *res. */
POL_WARN_UNUSED pol_status pol_dispute_run_transition(const pol_task *task, const pol_dataset *ds,
                                                      const pol_party_tol *solver,
                                                      const pol_tol_challenger *challenger,
                                                      const pol_dispute_opts *opts,
                                                      const pol_pin_tolerance *tol,
                                                      pol_dispute_result *res);

/* The honest challenger's search [P-TD-SEARCH]: it reads the solver's data
 * (trace hashes, roots, leaves and openings, each checked against the
 * solver's commitments) and judges every leaf of every step in order with
 * the referee's own check, from the first step on, until one is judged
 * against the solver. Its cost is one recomputation of every node of every
 * step it examines (a replay of the run up to the fault, from the solver's
 * inputs); the referee's stays one node. */
typedef struct pol_tol_search pol_tol_search;

typedef struct pol_tol_finding {
    int found;                /* 0: every examined transition is within tolerance */
    size_t interval;
    uint64_t step;
    int tree;                 /* POL_TREE_NODES or POL_TREE_STATE */
    uint64_t index;           /* the leaf */
    pol_dispute_reason reason; /* what the referee will rule against the solver */
    char why[200];
} pol_tol_finding;

typedef struct pol_tol_search_stats {
    uint64_t steps;           /* steps examined */
    uint64_t leaves;          /* leaves judged */
    uint64_t nodes_recomputed;
    uint64_t nodes_inexact;   /* accepted nodes whose bits differ from the reference */
    double max_dist[POL_PIN_TOL_OPS]; /* per op: the largest distance accepted */
    double max_ratio;         /* the largest distance / threshold accepted */
} pol_tol_search_stats;

/* Prepares a search against `solver` (which must outlive it) with the same
 * tolerance as the dispute's (tol NULL: exact; copied).
 * Returns: POL_OK; POL_ERR_INVALID_ARG; POL_ERR_NOMEM; model builder errors. */
POL_WARN_UNUSED pol_status pol_tol_search_create(pol_tol_search **sp, const pol_task *task,
                                                 const pol_dataset *ds,
                                                 const pol_party_tol *solver,
                                                 const pol_pin_tolerance *tol);
void pol_tol_search_destroy(pol_tol_search *s);

/* Scans the whole run from step 0. A solver query that fails or data that
 * contradicts its commitments is itself a finding (the dispute will end
 * there). Returns: POL_OK; POL_ERR_NOMEM and the referee's own errors.
 * Out: *f. */
POL_WARN_UNUSED pol_status pol_tol_search_run(pol_tol_search *s, pol_tol_finding *f);

/* Counters of every judgment the search made so far. */
const pol_tol_search_stats *pol_tol_search_get_stats(const pol_tol_search *s);

/* The honest challenger party backed by the search (valid while it lives):
 * it names the search's finding, and searches again where the solver's
 * commitments in the dispute are not the ones it searched under. */
pol_tol_challenger pol_tol_search_challenger(pol_tol_search *s, const char *name);

/* The round bound of spec P-BOUND: ceil(log2 intervals) + ceil(log_m k) +
 * ceil(log2 max(nodes, state tensors)), for level-2 arity m. */
unsigned pol_dispute_bound(uint64_t intervals, uint64_t k, unsigned arity, uint64_t nodes,
                           uint64_t state_tensors);

#ifdef __cplusplus
}
#endif
#endif /* POL_PINPOINT_H */
