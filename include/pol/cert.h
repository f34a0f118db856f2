/* libpol — proof-of-learning certificates (spec/certificate.md).
 *
 * A certificate is a solver's signed commitment to a training run: the task,
 * the solver's key, the state hash of every checkpoint, their Merkle root,
 * the final state, and the size of every interval's update (so a verifier can
 * also check the largest updates). Its wire form is the protobuf message
 * pol.v1.Certificate (proto/pol.proto) inside a signed envelope (pol/wire.h).
 *
 * This header holds the in-memory form and the operations that do not depend
 * on the wire format.
 */
#ifndef POL_CERT_H
#define POL_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "pol/hash.h"
#include "pol/status.h"
#include "pol/task.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POL_CERT_MAX_CHECKPOINTS (1u << 20)
#define POL_CERT_DEVICE_MAX 128 /* bytes including the NUL */

typedef struct pol_cert {
    pol_digest task_id;            /* SHA-256 of the task file's bytes */
    uint8_t solver_key[32];        /* BIP-340 x-only public key of the solver */
    uint32_t mode;                 /* pol_mode (pol/task.h) */
    uint32_t spec_version;         /* POL_SPEC_VERSION of the solver */
    char device[POL_CERT_DEVICE_MAX]; /* free text, e.g. "cpu avx512 x2" */
    uint64_t checkpoint_every;     /* k */
    uint64_t steps;                /* the task's step count */
    size_t n_checkpoints;          /* >= 2: the start and at least one more */
    uint64_t *ckpt_steps;          /* (n_checkpoints) strictly increasing */
    pol_digest *ckpt_hashes;       /* (n_checkpoints) state hashes */
    pol_digest ckpt_root;          /* pol_merkle_root(ckpt_hashes) */
    pol_digest final_state_hash;   /* == ckpt_hashes[n-1] */
    double *update_norms;          /* (n_checkpoints - 1) L2 norm of the parameter change
                                      over each interval (not part of exact state) */
    int has_parent;                /* training continued from a proven checkpoint */
    pol_digest parent_id;          /* id of the parent certificate envelope */
} pol_cert;

/* Allocates the arrays of a certificate with n checkpoints (zeroed).
 * Returns: POL_OK; POL_ERR_TOO_LARGE (n > POL_CERT_MAX_CHECKPOINTS or < 2);
 *          POL_ERR_NOMEM. */
POL_WARN_UNUSED pol_status pol_cert_alloc(pol_cert *c, size_t n);

/* Frees the arrays and zeroes *c. */
void pol_cert_free(pol_cert *c);

/* Checks the internal consistency of a certificate: steps increasing and
 * ending at `steps`, interior checkpoints on multiples of k, the root equal
 * to the Merkle root of the hashes, the final hash equal to the last one,
 * norms finite and >= 0, device NUL-terminated.
 * Returns: POL_OK; POL_ERR_FORMAT naming the first problem; POL_ERR_NOMEM
 *          (no memory to hash the root: no verdict on the certificate). */
POL_WARN_UNUSED pol_status pol_cert_check(const pol_cert *c);

/* The checkpoint of c that holds state *h at step `step` (ckpt_steps[j] ==
 * step and ckpt_hashes[j] == *h): how a continued run's start is tied to
 * its parent certificate (spec/certificate.md [V-VER-2]).
 * Returns: the first such index j, or -1. */
int64_t pol_cert_find_checkpoint(const pol_cert *c, uint64_t step, const pol_digest *h);

/* Builds a certificate (without the solver key) from a finished run
 * directory (pol/train.h): trace.json and its checkpoints, each verified
 * against its hash while the update norms are computed.
 * Returns: POL_OK; errors of the trace and checkpoint readers;
 *          POL_ERR_MISMATCH (the run is for another task or unfinished). */
POL_WARN_UNUSED pol_status pol_cert_from_run(const char *run_dir, const char *task_path,
                                             pol_cert *c);

/* Builds a certificate (without the solver key and device) from checkpoint
 * files in step order, for a party that trained with its own driver (e.g.
 * a pol_replayer) rather than pol_run_train: every file is loaded and
 * hashed, the steps come from counters.step, the update norms are computed
 * from the parameters as [C-TRACE-1] says.
 * Returns: POL_OK; POL_ERR_INVALID_ARG (n outside [2,
 *          POL_CERT_MAX_CHECKPOINTS]); POL_ERR_MISMATCH (the first file is
 *          not step 0, or parameters differ in shape between files); the
 *          errors of pol_st_load. Out: *c (free with pol_cert_free). */
POL_WARN_UNUSED pol_status pol_cert_from_checkpoints(const pol_task *task,
                                                     const char *const *paths, size_t n,
                                                     pol_cert *c);

struct pol_keypair; /* pol/keys.h */

/* Issues the certificate of a finished run: pol_cert_from_run, the signer's
 * key as solver_key, `device` (NULL: "") and the parent certificate's id
 * (NULL: none), encoded (pol/wire.h), sealed in an envelope of type
 * POL_MSG_CERTIFICATE signed by kp, and written atomically to out_path,
 * which must not exist; on failure there is no file there. A run that starts
 * at a step other than 0 needs parent (spec/certificate.md [V-VER-2]).
 * Returns: POL_OK; POL_ERR_EXISTS; POL_ERR_INVALID_ARG (such a run without
 *          parent); errors of the run readers, the encoder
 *          and the file writer. Out: *id (may be NULL), the envelope id. */
POL_WARN_UNUSED pol_status pol_cert_issue(const char *run_dir, const char *task_path,
                                          const struct pol_keypair *kp, const char *device,
                                          const pol_digest *parent, const char *out_path,
                                          pol_digest *id);

/* Opens a certificate envelope held in memory (a game's cert_env, say):
 * the envelope's signature checked, the certificate decoded, its signer
 * required to be its solver_key, and pol_cert_check.
 * Returns: POL_OK; POL_ERR_SIGNATURE (bad signature, or signer is not the
 *          solver); the errors of pol_envelope_open, pol_cert_decode and
 *          pol_cert_check. Out: *c (free with pol_cert_free; zeroed on
 *          failure), *id (may be NULL): the envelope id. */
POL_WARN_UNUSED pol_status pol_cert_open(const uint8_t *env, size_t len, pol_cert *c,
                                         pol_digest *id);

/* Reads a certificate envelope file: opens the envelope (signature checked),
 * decodes the certificate and requires the signer to be its solver_key
 * (a certificate re-signed by another key is refused) and pol_cert_check.
 * Returns: POL_OK; POL_ERR_SIGNATURE (bad signature, or signer is not the
 *          solver); the errors of the file reader and decoders.
 * Out: *c (free with pol_cert_free), *id (may be NULL): the envelope id. */
POL_WARN_UNUSED pol_status pol_cert_load(const char *path, pol_cert *c, pol_digest *id);

#ifdef __cplusplus
}
#endif
#endif /* POL_CERT_H */
