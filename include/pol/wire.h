/* libpol — wire formats: protobuf messages and signed envelopes
 * (spec/wire.md; schema proto/pol.proto, package pol.v1).
 *
 * Everything that travels between parties is a small protobuf message inside
 * a signed Envelope; bulk tensors travel as content-addressed blobs. Wire
 * input comes from untrusted parties, so every decoder here:
 *  - refuses input longer than its cap before reading it [W-CAP-1];
 *  - decodes with an allocator that stops at a byte budget [W-CAP-2];
 *  - rejects unknown fields, at every nesting level [W-UNKNOWN-1];
 *  - rejects input that is not the canonical encoding of the message it
 *    decodes (so a message has exactly one encoding, and ids and signatures
 *    cannot be varied by re-encoding) [W-CANON-1];
 *  - checks every length (32-byte hashes and keys, 64-byte signatures) and
 *    count, and returns a status with a message: never aborts, never reads
 *    outside the buffer.
 * Encoders produce that canonical encoding, so encoding is deterministic:
 * the same value always gives the same bytes. A signature covers the exact
 * bytes that were sealed; verifiers check it over the bytes they received,
 * never over a re-encoding.
 *
 * Rules that hold for every function below unless it says otherwise:
 *  - Pointer arguments must be non-NULL; a buffer may be NULL when its
 *    length is 0.
 *  - Argument order: inputs, then outputs; a length follows its array.
 *  - On failure a message is recorded for pol_last_error and outputs are
 *    zeroed (NULL buffers, zero lengths), with nothing left allocated.
 *  - Buffers returned through uint8_t ** are malloc'd; free them with free().
 */
#ifndef POL_WIRE_H
#define POL_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "pol/cert.h"
#include "pol/hash.h"
#include "pol/keys.h"
#include "pol/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Input caps, in bytes [W-CAP-1]. */
#define POL_WIRE_MAX_CERT (64u << 20)    /* Certificate: 2^20 checkpoints fit */
#define POL_WIRE_MAX_REPORT (1u << 20)   /* VerificationReport */
#define POL_WIRE_MAX_ENVELOPE (POL_WIRE_MAX_CERT + 4096u) /* Envelope, any body */

/* Decode byte budgets [W-CAP-2]: the allocator refuses to hand out more than
 * factor * input length + POL_WIRE_BUDGET_BASE bytes in total. */
#define POL_WIRE_BUDGET_BASE (64u << 10)
#define POL_WIRE_BUDGET_CERT 4u
#define POL_WIRE_BUDGET_REPORT 32u
#define POL_WIRE_BUDGET_ENVELOPE 2u

/* ------------------------------------------------------------ certificate */

/* Encodes a certificate as a pol.v1.Certificate message (canonical form).
 * Only wire-level rules are checked here (see pol_cert_decode); the caller
 * runs pol_cert_check for internal consistency.
 * Returns: POL_OK; POL_ERR_INVALID_ARG when the value has no encoding
 *          (n_checkpoints outside [2, POL_CERT_MAX_CHECKPOINTS], NULL
 *          arrays, device not NUL-terminated or not printable ASCII, a
 *          non-finite update norm); POL_ERR_NOMEM.
 * Out:     *buf, *len: the message. */
POL_WARN_UNUSED pol_status pol_cert_encode(const pol_cert *c, uint8_t **buf, size_t *len);

/* Decodes a pol.v1.Certificate message [W-CERT-1 .. W-CERT-4]: every hash
 * and key exactly 32 bytes (parent_id: 0 or 32), as many steps as hashes,
 * one update norm fewer, 2 to POL_CERT_MAX_CHECKPOINTS checkpoints, norms
 * finite, device at most POL_CERT_DEVICE_MAX - 1 bytes of printable ASCII.
 * It does not check the certificate's internal consistency (the Merkle
 * root, the step sequence): run pol_cert_check on the result.
 * Returns: POL_OK; POL_ERR_TOO_LARGE (len > POL_WIRE_MAX_CERT);
 *          POL_ERR_NOMEM (allocation failed or the byte budget ran out);
 *          POL_ERR_FORMAT (not a canonical Certificate, unknown field,
 *          wrong length or count).
 * Out:     *out: the certificate; free it with pol_cert_free. All zero on
 *          failure. */
POL_WARN_UNUSED pol_status pol_cert_decode(const uint8_t *buf, size_t len, pol_cert *out);

/* ----------------------------------------------------------------- report */

#define POL_REPORT_MAX_INTERVALS 16384u
#define POL_REPORT_REASON_MAX 256 /* bytes including the NUL */

typedef enum pol_verdict { POL_VERDICT_ACCEPT = 1, POL_VERDICT_REJECT = 2 } pol_verdict;

/* Why an interval was checked (bit flags). */
#define POL_PICK_BEACON 1u /* drawn from the beacon */
#define POL_PICK_TOPQ 2u   /* among the top-Q largest updates */

typedef enum pol_interval_result {
    POL_INTERVAL_MATCH = 1,
    POL_INTERVAL_MISMATCH = 2,
    POL_INTERVAL_UNCHECKED = 3, /* the verifier could not run it */
} pol_interval_result;

/* One checked interval: checkpoints index .. index + 1. */
typedef struct pol_report_interval {
    uint64_t index;
    uint32_t reason;   /* POL_PICK_* flags, nonzero */
    uint32_t result;   /* pol_interval_result */
    double distance;   /* tolerant mode: measured distance; exact mode: 0 */
    double threshold;  /* tolerant mode: profiled threshold; exact mode: 0 */
} pol_report_interval;

/* The falsified fractions detect_p[] refers to: 1%, 10%, 50%. */
#define POL_REPORT_N_DETECT 3

/* A verifier's verdict on one certificate (pol.v1.VerificationReport). */
typedef struct pol_report {
    pol_digest cert_id;        /* envelope id of the certificate */
    pol_digest task_id;
    uint8_t verifier_key[32];  /* x-only key of the verifier that signs it */
    uint32_t verdict;          /* pol_verdict */
    size_t n_intervals;        /* <= POL_REPORT_MAX_INTERVALS */
    pol_report_interval *intervals; /* (n_intervals) malloc'd; see pol_report_free */
    int has_failure;           /* 1: failing_interval and the hashes are evidence */
    uint64_t failing_interval;
    pol_digest expected_hash;   /* the certificate's end-state hash */
    pol_digest recomputed_hash; /* the verifier's */
    double cost_fraction;      /* verifier compute / solver compute, >= 0 */
    double detect_p[POL_REPORT_N_DETECT]; /* each in [0, 1] */
    uint8_t beacon[32];
    char reason[POL_REPORT_REASON_MAX]; /* printable ASCII, may be "" */
} pol_report;

/* Encodes a report as a pol.v1.VerificationReport message (canonical form).
 * Returns: POL_OK; POL_ERR_INVALID_ARG when the value has no encoding (the
 *          rules of pol_report_decode); POL_ERR_NOMEM.
 * Out:     *buf, *len: the message. */
POL_WARN_UNUSED pol_status pol_report_encode(const pol_report *r, uint8_t **buf, size_t *len);

/* Decodes a pol.v1.VerificationReport message [W-REPORT-1 .. W-REPORT-3]:
 * ids, keys and the beacon exactly 32 bytes; verdict 1 or 2; at most
 * POL_REPORT_MAX_INTERVALS intervals, each with a nonzero reason and a
 * result of 1..3; evidence hashes 32 bytes when has_failure and absent
 * otherwise; a reject carries has_failure or a reason; every double finite,
 * cost_fraction >= 0, detection probabilities in [0, 1]; reason at most
 * POL_REPORT_REASON_MAX - 1 bytes of printable ASCII.
 * Returns: POL_OK; POL_ERR_TOO_LARGE (len > POL_WIRE_MAX_REPORT);
 *          POL_ERR_NOMEM; POL_ERR_FORMAT.
 * Out:     *out: the report; free it with pol_report_free. All zero on
 *          failure. */
POL_WARN_UNUSED pol_status pol_report_decode(const uint8_t *buf, size_t len, pol_report *out);

/* Frees r->intervals (which must be malloc'd, or NULL) and zeroes *r. NULL
 * is a no-op. */
void pol_report_free(pol_report *r);

/* --------------------------------------------------------------- envelope */

/* Envelope types [W-ENV-2]. Numbers are never reused. */
typedef enum pol_msg_type {
    POL_MSG_TASK = 1,        /* body: pol.v1.Task */
    POL_MSG_CERTIFICATE = 2, /* body: pol.v1.Certificate */
    POL_MSG_REPORT = 3,      /* body: pol.v1.VerificationReport */
    POL_MSG_PROFILE = 4,     /* body: pol.v1.ProfileReport */
    POL_MSG_GAME_ACTION = 5, /* body: pol.v1.GameAction (proto/game.proto) */
    POL_MSG_REQUEST = 6,     /* body: pol.v1.Request (proto/net.proto) */
    POL_MSG_RESPONSE = 7,    /* body: pol.v1.Response (proto/net.proto) */
} pol_msg_type;

/* The digest an envelope's signature signs [W-SIG-1]:
 * SHA-256(tag(type) || u32le type || body), with tag(type) the ASCII domain
 * tag of the type followed by one 0x00 byte (spec/wire.md, table W-SIG-2),
 * e.g. "libpol/envelope/certificate/v1" 0x00.
 * Returns: POL_OK; POL_ERR_INVALID_ARG (unknown type); POL_ERR_NOMEM;
 *          POL_ERR_INTERNAL.
 * Out:     *out: the digest; zeroed on failure. */
POL_WARN_UNUSED pol_status pol_envelope_digest(uint32_t type, const uint8_t *body, size_t len,
                                               pol_digest *out);

/* Signs `body` as a message of `type` and wraps it in an Envelope: the
 * signer's x-only key and a BIP-340 signature over pol_envelope_digest,
 * with fresh auxiliary randomness. The signature is checked before it is
 * returned.
 * Returns: POL_OK; POL_ERR_INVALID_ARG (unknown type);
 *          POL_ERR_TOO_LARGE (len + overhead > POL_WIRE_MAX_ENVELOPE);
 *          POL_ERR_IO (getrandom); POL_ERR_NOMEM; POL_ERR_INTERNAL.
 * Out:     *out, *out_len: the envelope bytes.
 * In:      type: a pol_msg_type; body, len: the encoded message;
 *          kp: the signer. */
POL_WARN_UNUSED pol_status pol_envelope_seal(uint32_t type, const uint8_t *body, size_t len,
                                             const pol_keypair *kp, uint8_t **out,
                                             size_t *out_len);

/* Decodes an Envelope, checks its type and verifies its signature over the
 * body bytes exactly as received [W-ENV-3]. Says nothing about whether the
 * signer is trusted: the caller compares `signer` with the key it expects.
 * Returns: POL_OK;
 *          POL_ERR_TOO_LARGE (len > POL_WIRE_MAX_ENVELOPE);
 *          POL_ERR_FORMAT (not a canonical Envelope, unknown field, a key
 *          or signature of the wrong length, an invalid key);
 *          POL_ERR_MISMATCH (type != expected_type);
 *          POL_ERR_SIGNATURE (the signature does not verify);
 *          POL_ERR_NOMEM.
 * Out:     *body, *body_len: a malloc'd copy of the body (NULL, 0 on
 *          failure; a zero-length body gives a non-NULL 1-byte buffer);
 *          signer: the signer's x-only key (zeroed on failure).
 * In:      buf, len: the envelope; expected_type: a pol_msg_type. */
POL_WARN_UNUSED pol_status pol_envelope_open(const uint8_t *buf, size_t len,
                                             uint32_t expected_type, uint8_t **body,
                                             size_t *body_len, uint8_t signer[POL_PUBKEY_LEN]);

/* The id of an envelope: SHA-256 of its exact bytes [W-ENV-4]. A
 * certificate's id (cert_id, parent_id) is the id of its envelope.
 * Returns: POL_OK; POL_ERR_INTERNAL.
 * Out:     *id: the id; zeroed on failure. */
POL_WARN_UNUSED pol_status pol_envelope_id(const uint8_t *buf, size_t len, pol_digest *id);

/* ------------------------------------------------------------------- task */

/* Caps and budget of a pol.v1.Task [W-CAP-1, W-CAP-2]: the task JSON (at
 * most POL_TASK_MAX_BYTES, pol/task.h) plus its id and field headers. */
#define POL_WIRE_MAX_TASK ((1u << 20) + 64u)
#define POL_WIRE_BUDGET_TASK 2u

/* Wraps a task file's exact bytes in a pol.v1.Task message with
 * id = SHA-256(json) [W-TASK-1]. The JSON itself is not parsed here.
 * Returns: POL_OK; POL_ERR_INVALID_ARG (json_len is 0); POL_ERR_TOO_LARGE
 *          (json_len > POL_TASK_MAX_BYTES); POL_ERR_NOMEM; POL_ERR_INTERNAL.
 * Out:     *buf, *len: the message.
 * In:      json, json_len: the task file's bytes. */
POL_WARN_UNUSED pol_status pol_task_msg_encode(const uint8_t *json, size_t json_len,
                                               uint8_t **buf, size_t *len);

/* Decodes a pol.v1.Task message [W-TASK-1 .. W-TASK-3]: task_json non-empty
 * and at most POL_TASK_MAX_BYTES, id exactly 32 bytes and equal to
 * SHA-256(task_json), recomputed here. The JSON is not parsed: give *json to
 * pol_task_parse (pol/task.h), whose id then equals *id.
 * Returns: POL_OK; POL_ERR_TOO_LARGE (len > POL_WIRE_MAX_TASK, or task_json
 *          longer than POL_TASK_MAX_BYTES); POL_ERR_NOMEM; POL_ERR_FORMAT
 *          (not a canonical Task, unknown field, empty task_json, id not 32
 *          bytes); POL_ERR_HASH_MISMATCH (id != SHA-256(task_json));
 *          POL_ERR_INTERNAL.
 * Out:     *json, *json_len: a malloc'd copy of the task bytes, followed by
 *          one extra NUL byte not counted in *json_len; *id: the task id.
 *          NULL, 0 and zero on failure. */
POL_WARN_UNUSED pol_status pol_task_msg_decode(const uint8_t *buf, size_t len, uint8_t **json,
                                               size_t *json_len, pol_digest *id);

/* -------------------------------------------------------- profile report */

#define POL_WIRE_MAX_PROFILE (1u << 20)  /* ProfileReport */
#define POL_WIRE_BUDGET_PROFILE 32u
#define POL_PROFILE_MAX_THRESHOLDS 4096u
#define POL_THRESHOLD_OP_MAX 32          /* bytes of an op name, including the NUL */

/* One threshold of a ProfileReport (pol.v1.Threshold, spec/profiling.md):
 * either a whole-interval threshold (op "", interval_len > 0) over the
 * tensors of one state group, or a per-op one (op a node op name,
 * interval_len 0, group POL_GROUP_PARAMS). */
typedef struct pol_wire_threshold {
    char op[POL_THRESHOLD_OP_MAX]; /* "" or printable ASCII, at most 31 bytes */
    uint64_t interval_len;
    uint32_t metric;               /* a pol_metric (pol/distance.h) */
    double threshold;              /* finite, >= 0 */
    double max_observed;           /* finite, >= 0 */
    uint64_t samples;              /* observations behind it, >= 1 */
    uint32_t group;                /* a pol_state_group (pol/distance.h); 0, the
                                      parameters, travels as "" */
} pol_wire_threshold;

/* A profile's thresholds as they travel (pol.v1.ProfileReport). Sent as the
 * body of an envelope of type 4 signed by the party that profiled. */
typedef struct pol_profile_report {
    pol_digest task_id;
    size_t n_thresholds;             /* 1 .. POL_PROFILE_MAX_THRESHOLDS */
    pol_wire_threshold *thresholds;  /* (n_thresholds) malloc'd; see pol_profile_report_free */
} pol_profile_report;

struct pol_profile;

/* Takes the thresholds of a profile (pol/profile.h): one per stat, in the
 * profile's order, with the stat's op, state group, interval length,
 * metric, threshold, maximum and count (the entries of [P-JSON-1]
 * "thresholds").
 * Returns: POL_OK; POL_ERR_INVALID_ARG (the profile breaks a rule of
 *          pol_profile_report_decode); POL_ERR_NOMEM.
 * Out:     *out: the report; free it with pol_profile_report_free. All zero
 *          on failure. */
POL_WARN_UNUSED pol_status pol_profile_report_from(const struct pol_profile *p,
                                                   pol_profile_report *out);

/* Encodes a report as a pol.v1.ProfileReport message (canonical form).
 * Returns: POL_OK; POL_ERR_INVALID_ARG when the value has no encoding (the
 *          rules of pol_profile_report_decode); POL_ERR_NOMEM.
 * Out:     *buf, *len: the message. */
POL_WARN_UNUSED pol_status pol_profile_report_encode(const pol_profile_report *r, uint8_t **buf,
                                                     size_t *len);

/* Decodes a pol.v1.ProfileReport message [W-PROFILE-1 .. W-PROFILE-3]:
 * task_id exactly 32 bytes; 1 to POL_PROFILE_MAX_THRESHOLDS thresholds; in
 * each, op "" with interval_len > 0 or a printable ASCII op name of at most
 * POL_THRESHOLD_OP_MAX - 1 bytes with interval_len 0, a metric named by
 * pol_metric_name, threshold and max_observed finite and >= 0, samples
 * >= 1, group "" (absent), "m", "v" or "buf" and "" for a per-op
 * threshold; no two thresholds with the same (op, group, interval_len,
 * metric).
 * Returns: POL_OK; POL_ERR_TOO_LARGE (len > POL_WIRE_MAX_PROFILE);
 *          POL_ERR_NOMEM; POL_ERR_FORMAT.
 * Out:     *out: the report; free it with pol_profile_report_free. All zero
 *          on failure. */
POL_WARN_UNUSED pol_status pol_profile_report_decode(const uint8_t *buf, size_t len,
                                                     pol_profile_report *out);

/* Frees r->thresholds (which must be malloc'd, or NULL) and zeroes *r. NULL
 * is a no-op. */
void pol_profile_report_free(pol_profile_report *r);

#ifdef __cplusplus
}
#endif
#endif /* POL_WIRE_H */
