/* libpol — pinpoint disputes over the wire (spec/pinpoint-wire.md; schema
 * proto/pinpoint.proto, package pol.v1).
 *
 * A dispute (pol_dispute_run, pol/pinpoint.h) asks two pol_party structs
 * questions. When a party is another program, the referee plays it through
 * a *remote party*: each callback becomes a PinQuery, sent through a caller's
 * transport, and the PinAnswer that comes back fills the callback's outputs.
 * The party program answers with pol_pin_serve on its own local party.
 * Tensors never travel inside an answer: an opening names each tensor by its
 * leaf hash, which is SHA-256 of the tensor's canonical encoding
 * [E-TENSOR-1], so that encoding is the blob the referee fetches by hash and
 * checks on arrival.
 *
 * Nothing here knows a network: the transport is two callbacks.
 *
 * Rules that hold for every function below unless it says otherwise:
 *  - Pointer arguments must be non-NULL; a buffer may be NULL when its
 *    length is 0.
 *  - Argument order: inputs, then outputs; a length follows its array.
 *  - On failure a message is recorded for pol_last_error and outputs are
 *    zeroed (NULL buffers, zero lengths), with nothing left allocated.
 *  - Buffers returned through uint8_t ** are malloc'd; free them with free().
 */
#ifndef POL_PINWIRE_H
#define POL_PINWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "pol/hash.h"
#include "pol/pinpoint.h"
#include "pol/status.h"
#include "pol/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Input caps, in bytes [PW-CAP-1]. An answer holds at most 2 + 64 digests
 * and an opening of 7 proofs of at most 64 path entries each: under 24 KiB. */
#define POL_PINWIRE_MAX_QUERY 256u
#define POL_PINWIRE_MAX_ANSWER (64u << 10)
/* The largest tensor blob a remote party accepts [PW-BLOB-3]. */
#define POL_PINWIRE_MAX_BLOB ((size_t)1 << 30)
/* Decode byte budget factor [PW-CAP-2] (see W-CAP-2 in spec/wire.md). */
#define POL_PINWIRE_BUDGET 16u

/* Query kinds [PW-MAP-1]: one per pol_party callback. */
typedef enum pol_pin_qkind {
    POL_PINQ_COMMIT = 1,  /* ()                       -> n, digests[0] root */
    POL_PINQ_CKPT = 2,    /* (a = i)                  -> digests[0], path */
    POL_PINQ_STATE = 3,   /* (a = interval, b = steps) -> digests[0] */
    POL_PINQ_ROOTS = 4,   /* (a = step)               -> digests[0..2) */
    POL_PINQ_SUBTREE = 5, /* (a = step, tree, b = lo, c = hi) -> digests[0] */
    POL_PINQ_OPEN = 6,    /* (a = step, tree, b = index)      -> opening */
    /* transition disputes (spec/pinpoint.md 5b): the solver's pol_party_tol */
    POL_PINQ_TRACE_ROOT = 7, /* (a = interval)            -> digests[0] */
    POL_PINQ_TRACE = 8,      /* (a = interval, b = steps) -> digests[0], path */
    /* ... and the challenger's pol_tol_challenger */
    POL_PINQ_NAME_INTERVAL = 9, /* ()                     -> found, index */
    POL_PINQ_NAME_STEP = 10,    /* (a = interval, digests = [trace root]) -> index */
    POL_PINQ_NAME_LEAF = 11,    /* (a = step, digests = [h_s, node root, state root])
                                   -> tree, index */
} pol_pin_qkind;

#define POL_PINQ_KIND_MAX 11 /* the last kind this version knows */

/* ---------------------------------------------------------------- query */

typedef struct pol_pin_query {
    pol_digest dispute_id;
    uint32_t seq;   /* >= 1 */
    uint32_t kind;  /* pol_pin_qkind */
    uint64_t a, b, c;
    uint32_t tree;  /* POL_TREE_NODES or POL_TREE_STATE (SUBTREE, OPEN only) */
    size_t n_digests;     /* NAME_STEP: 1, NAME_LEAF: 3, else 0 */
    pol_digest digests[3];
} pol_pin_query;

/* Encodes a query as a pol.v1.PinQuery message (canonical form).
 * Returns: POL_OK; POL_ERR_INVALID_ARG when the value has no encoding (the
 *          rules of pol_pin_query_decode); POL_ERR_NOMEM.
 * Out:     *buf, *len: the message. */
POL_WARN_UNUSED pol_status pol_pin_query_encode(const pol_pin_query *q, uint8_t **buf,
                                                size_t *len);

/* Decodes a pol.v1.PinQuery [PW-Q-1, PW-Q-2]: dispute_id exactly 32 bytes,
 * seq >= 1, kind 1..11, tree 0 or 1, every argument the kind does not
 * use zero, and exactly the digests the kind carries (1 for NAME_STEP, 3
 * for NAME_LEAF, none otherwise).
 * Returns: POL_OK; POL_ERR_TOO_LARGE (len > POL_PINWIRE_MAX_QUERY);
 *          POL_ERR_NOMEM; POL_ERR_FORMAT.
 * Out:     *q: the query; all zero on failure. */
POL_WARN_UNUSED pol_status pol_pin_query_decode(const uint8_t *buf, size_t len, pol_pin_query *q);

/* --------------------------------------------------------------- answer */

/* One proof of an opening as it travels: the tensor by its leaf hash. */
typedef struct pol_pin_wire_proof {
    int has_tensor;         /* 0: unused */
    pol_digest tensor;      /* leaf hash = blob id */
    uint64_t index;
    size_t path_len;        /* <= POL_MERKLE_PATH_MAX */
    pol_digest path[POL_MERKLE_PATH_MAX];
    int has_rec;
    pol_node_record rec;
} pol_pin_wire_proof;

/* An opening as it travels (pol_pin_opening with tensors named by hash). */
typedef struct pol_pin_wire_opening {
    int has_rec;
    pol_node_record rec;
    int has_end;
    pol_digest end;
    pol_digest start_root;
    int n_in;                              /* 0..POL_NODE_MAX_IN */
    pol_pin_wire_proof in[POL_NODE_MAX_IN];
    int has_counters;                      /* 1: all three present */
    pol_pin_wire_proof counters[3];
} pol_pin_wire_opening;

typedef struct pol_pin_answer {
    pol_digest dispute_id;
    uint32_t seq;
    uint32_t kind;
    uint64_t n;                          /* COMMIT only */
    size_t n_digests;                    /* as the kind says: 0, 1 or 2 */
    pol_digest digests[2];
    size_t path_len;                     /* CKPT, TRACE only; <= POL_MERKLE_PATH_MAX */
    pol_digest path[POL_MERKLE_PATH_MAX];
    pol_pin_wire_opening opening;        /* OPEN only */
    int found;                           /* NAME_INTERVAL only: 0 or 1 */
    uint64_t index;                      /* NAME_INTERVAL (found), NAME_STEP, NAME_LEAF */
    uint32_t tree;                       /* NAME_LEAF only: 0 or 1 */
} pol_pin_answer;

/* Encodes an answer as a pol.v1.PinAnswer message (canonical form).
 * Returns: POL_OK; POL_ERR_INVALID_ARG when the value has no encoding (the
 *          rules of pol_pin_answer_decode; also a node record parameter of
 *          -0.0, which proto3 cannot carry [PW-REC-2]); POL_ERR_NOMEM.
 * Out:     *buf, *len: the message. */
POL_WARN_UNUSED pol_status pol_pin_answer_encode(const pol_pin_answer *a, uint8_t **buf,
                                                 size_t *len);

/* Decodes a pol.v1.PinAnswer [PW-ANS-1 .. PW-ANS-3, PW-REC-1]: dispute_id
 * 32 bytes, seq >= 1, kind 1..11 and the fields that kind answers with and
 * no others; every digest exactly 32 bytes; at most POL_MERKLE_PATH_MAX path
 * entries, POL_NODE_MAX_IN inputs per record and per opening; counters 0
 * or 3. It does not check the echo (pol_pin_remote does).
 * Returns: POL_OK; POL_ERR_TOO_LARGE (len > POL_PINWIRE_MAX_ANSWER);
 *          POL_ERR_NOMEM; POL_ERR_FORMAT.
 * Out:     *a: the answer; all zero on failure. */
POL_WARN_UNUSED pol_status pol_pin_answer_decode(const uint8_t *buf, size_t len,
                                                 pol_pin_answer *a);

/* ---------------------------------------------------------- tensor blobs */

/* The blob of a tensor: its canonical encoding [E-TENSOR-1], so that
 * SHA-256(blob) is its leaf hash (pol_tensor_hash) [PW-BLOB-1].
 * Returns: POL_OK; POL_ERR_INVALID_ARG (a tensor pol_tensor_hash refuses);
 *          POL_ERR_TOO_LARGE (blob longer than POL_PINWIRE_MAX_BLOB);
 *          POL_ERR_NOMEM.
 * Out:     *buf, *len: the blob. */
POL_WARN_UNUSED pol_status pol_tensor_blob_encode(const pol_tensor *t, uint8_t **buf,
                                                  size_t *len);

/* Decodes a tensor blob [PW-BLOB-2]: prefix and tag exact, name 1..63 valid
 * bytes, dtype known, ndim <= 4, every dimension < 2^63, dims product times
 * element size equal to nbytes without overflow, and header plus nbytes
 * equal to len exactly. It does not hash: compare SHA-256(buf) with the
 * expected leaf hash before or after.
 * Returns: POL_OK; POL_ERR_TOO_LARGE (len > POL_PINWIRE_MAX_BLOB);
 *          POL_ERR_FORMAT; POL_ERR_NOMEM.
 * Out:     *t: an owned tensor (free with pol_tensor_free); zeroed on
 *          failure. */
POL_WARN_UNUSED pol_status pol_tensor_blob_decode(const uint8_t *buf, size_t len, pol_tensor *t);

/* ------------------------------------------------------------ transport */

/* How a remote party reaches its program. Both callbacks return POL_OK with
 * a malloc'd buffer the remote party frees, or an error status (the query
 * then counts as unanswered).
 *   call:  send one encoded PinQuery, receive the encoded PinAnswer;
 *   fetch: receive the blob named by leaf hash h. */
typedef struct pol_pin_transport {
    void *io;
    pol_status (*call)(void *io, const uint8_t *q, size_t qlen, uint8_t **a, size_t *alen);
    pol_status (*fetch)(void *io, const pol_digest *h, uint8_t **blob, size_t *blen);
} pol_pin_transport;

/* --------------------------------------------------------- remote party */

typedef struct pol_pin_remote pol_pin_remote;

/* What went over the transport (for summaries). */
typedef struct pol_pin_remote_stats {
    uint64_t queries;        /* queries sent (= the last seq) */
    uint64_t failures;       /* callbacks that returned an error */
    uint64_t bytes_sent;     /* encoded queries */
    uint64_t bytes_answers;  /* encoded answers received */
    uint64_t blobs;          /* blobs fetched */
    uint64_t bytes_blobs;    /* blob bytes received */
    uint64_t blob_hits;      /* tensors served from the blob cache, not fetched */
} pol_pin_remote_stats;

/* A remote party keeps the blobs it fetched and verified, by name, and
 * decodes a tensor it meets again from its copy instead of fetching it
 * again [PW-BLOB-5]: at most POL_PIN_REMOTE_CACHE_ENTRIES blobs and
 * POL_PIN_REMOTE_CACHE_BYTES bytes, the oldest dropped first. */
#define POL_PIN_REMOTE_CACHE_ENTRIES 4096
#define POL_PIN_REMOTE_CACHE_BYTES ((size_t)64 << 20)

/* Creates a remote party for one dispute. The transport is copied; its io
 * must outlive the remote party.
 * Returns: POL_OK; POL_ERR_INVALID_ARG (NULL call or fetch); POL_ERR_NOMEM.
 * Out:     *rp; NULL on failure. */
POL_WARN_UNUSED pol_status pol_pin_remote_create(pol_pin_remote **rp, const pol_digest *dispute_id,
                                                 const pol_pin_transport *tr);
void pol_pin_remote_destroy(pol_pin_remote *rp);

/* The party view (valid while rp lives). Each callback sends one query with
 * the next seq, decodes the answer, checks that it echoes dispute_id, seq
 * and kind [PW-ECHO-1] and fills the outputs; open fetches every named
 * tensor and checks its hash [PW-BLOB-4]. Any failure makes the callback
 * return an error status with a message: the dispute treats it as no
 * answer. */
pol_party pol_pin_remote_party(pol_pin_remote *rp, const char *name);

/* The views of a transition dispute (spec/pinpoint.md 5b) over the same
 * transport [PW-MAP-2]: the solver (the party callbacks above plus
 * trace_root and trace, kinds 7 and 8) and the challenger (interval, step
 * and leaf, kinds 9 to 11). Valid while rp lives; failures as above. A
 * remote party may serve as more than one view: they share its seq. */
pol_party_tol pol_pin_remote_party_tol(pol_pin_remote *rp, const char *name);
pol_tol_challenger pol_pin_remote_tol_challenger(pol_pin_remote *rp, const char *name);

/* Counters since creation. */
pol_pin_remote_stats pol_pin_remote_get_stats(const pol_pin_remote *rp);

/* -------------------------------------------------------- answering side */

/* Receives each tensor of an opening as a blob and its leaf hash; the
 * party program keeps it to serve fetches. The blob is lent for the call
 * only. The same blob may come more than once. */
typedef pol_status (*pol_pin_blob_sink)(void *arg, const pol_digest *h, const uint8_t *blob,
                                        size_t len);

/* Answers one encoded query with a local party: decodes it, checks its
 * dispute id when dispute_id is non-NULL, calls the party's callback,
 * hands every tensor of an opening to sink, and encodes the answer with
 * dispute_id, seq and kind echoed [PW-SERVE-1].
 * Returns: POL_OK; errors of pol_pin_query_decode; POL_ERR_MISMATCH (another
 *          dispute); the party's error (it has no answer); errors of sink,
 *          of pol_tensor_blob_encode and of pol_pin_answer_encode.
 * Out:     *a, *alen: the encoded answer.
 * In:      party: the local party; dispute_id: NULL or the dispute served;
 *          q, qlen: the query; sink, sink_arg: the blob sink. */
POL_WARN_UNUSED pol_status pol_pin_serve(const pol_party *party, const pol_digest *dispute_id,
                                         const uint8_t *q, size_t qlen, pol_pin_blob_sink sink,
                                         void *sink_arg, uint8_t **a, size_t *alen);

/* What one program answers with (any may be NULL): `party` for kinds 1 to
 * 6 (when NULL, solver->base answers them), `solver` for kinds 7 and 8,
 * `challenger` for kinds 9 to 11. A kind with nobody to answer it has no
 * answer (POL_ERR_UNSUPPORTED). */
typedef struct pol_pin_served {
    const pol_party *party;
    const pol_party_tol *solver;
    const pol_tol_challenger *challenger;
} pol_pin_served;

/* pol_pin_serve for every kind [PW-SERVE-1, PW-MAP-2]: as pol_pin_serve,
 * the callback chosen by the query's kind from `served`. A challenger that
 * names a tree other than POL_TREE_NODES or POL_TREE_STATE has no answer
 * (POL_ERR_INVALID_ARG: no encoding).
 * Returns: as pol_pin_serve; POL_ERR_UNSUPPORTED (nobody answers that kind). */
POL_WARN_UNUSED pol_status pol_pin_serve_any(const pol_pin_served *served,
                                             const pol_digest *dispute_id, const uint8_t *q,
                                             size_t qlen, pol_pin_blob_sink sink, void *sink_arg,
                                             uint8_t **a, size_t *alen);

#ifdef __cplusplus
}
#endif
#endif /* POL_PINWIRE_H */
