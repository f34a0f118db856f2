/* libpol — SHA-256, canonical tensor and state hashes, Merkle trees.
 *
 * Everything here is defined normatively in spec/encoding.md; the ids in
 * brackets ([E-TENSOR-1], ...) point at the sentences each function
 * implements.
 *
 * Rules that hold for every function below unless it says otherwise:
 *  - Pointer arguments must be non-NULL. An array argument may be NULL when
 *    its length is 0.
 *  - Argument order: context, inputs, then outputs (in/out before out); a
 *    length follows its array.
 *  - A function returning pol_status records a message for pol_last_error on
 *    failure. On failure, outputs are left in the state the function
 *    describes (usually zeroed), never half-written.
 *  - Digests are plain 32-byte values that callers may copy and compare with
 *    memcmp or pol_digest_equal.
 *  - SHA-256 comes from OpenSSL, whose EVP calls allocate (a context, the
 *    provider's state) and fail only when that allocation does: every
 *    failure of OpenSSL is POL_ERR_NOMEM. A status other than POL_OK and
 *    the ones a function names for its inputs is therefore never a verdict
 *    on those inputs (pol_merkle_verify's POL_ERR_HASH_MISMATCH is one).
 */
#ifndef POL_HASH_H
#define POL_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "pol/status.h"
#include "pol/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A SHA-256 digest. */
typedef struct pol_digest {
    uint8_t b[32];
} pol_digest;

/* Length of a digest in hex, without the terminating NUL. */
#define POL_DIGEST_HEX_LEN 64

/* An inclusion proof never has more entries than this (a tree has at most
 * 2^64 leaves, so at most 64 levels). */
#define POL_MERKLE_PATH_MAX 64

/* ------------------------------------------------------------- SHA-256 */

/* SHA-256 of one buffer.
 * Returns: POL_OK; POL_ERR_NOMEM.
 * Out:     *out: the digest; zeroed on failure.
 * In:      data, len: the message (data may be NULL when len is 0). */
POL_WARN_UNUSED pol_status pol_sha256(const void *data, size_t len, pol_digest *out);

/* An incremental SHA-256 context (opaque). One context hashes one message
 * at a time; pol_sha256_final readies it for the next one, so a context can
 * be reused without reallocation. Not safe to share between threads. */
typedef struct pol_sha256_ctx pol_sha256_ctx;

/* Creates a context ready to hash a message.
 * Returns: POL_OK; POL_ERR_NOMEM.
 * Out:     *ctx: the context; NULL on failure. */
POL_WARN_UNUSED pol_status pol_sha256_new(pol_sha256_ctx **ctx);

/* Discards any partial message; the context is ready for a new one.
 * Returns: POL_OK; POL_ERR_NOMEM. */
POL_WARN_UNUSED pol_status pol_sha256_reset(pol_sha256_ctx *ctx);

/* Appends bytes to the message. Large buffers are best passed whole (one
 * call per buffer lets the crypto library use its widest code path).
 * Returns: POL_OK; POL_ERR_NOMEM.
 * Args:    ctx: a context.
 * In:      data, len: the bytes (data may be NULL when len is 0). */
POL_WARN_UNUSED pol_status pol_sha256_update(pol_sha256_ctx *ctx, const void *data, size_t len);

/* Finishes the message and resets the context for the next one.
 * Returns: POL_OK; POL_ERR_NOMEM.
 * Args:    ctx: a context.
 * Out:     *out: the digest of everything appended since the last reset or
 *          final; zeroed on failure. */
POL_WARN_UNUSED pol_status pol_sha256_final(pol_sha256_ctx *ctx, pol_digest *out);

/* Frees a context. NULL is a no-op. */
void pol_sha256_free(pol_sha256_ctx *ctx);

/* ------------------------------------------------------------------ hex */

/* Writes the 64 lowercase hex digits of *d and a terminating NUL. [E-HEX-1]
 * Out: hex: at least POL_DIGEST_HEX_LEN + 1 bytes.
 * In:  d: the digest. */
void pol_digest_to_hex(const pol_digest *d, char hex[POL_DIGEST_HEX_LEN + 1]);

/* Parses exactly 64 lowercase hex digits followed by a NUL. Upper case,
 * whitespace, a prefix such as "0x", or any other length are rejected.
 * [E-HEX-2]
 * Returns: POL_OK; POL_ERR_FORMAT.
 * Out:     *d: the digest; zeroed on failure.
 * In:      hex: a NUL-terminated string. */
POL_WARN_UNUSED pol_status pol_digest_from_hex(const char *hex, pol_digest *d);

/* Returns 1 if the digests are equal, else 0 (constant time). */
int pol_digest_equal(const pol_digest *a, const pol_digest *b);

/* ------------------------------------------------------------- tensors */

/* The canonical leaf hash of a tensor [E-TENSOR-1 .. E-TENSOR-4]:
 * SHA-256 of 0x00, "libpol/tensor/v1", 0x00, u32le name length, the name,
 * u8 dtype, u8 ndim, ndim x u64le dims, u64le nbytes, the data bytes.
 * Returns: POL_OK;
 *          POL_ERR_INVALID_ARG when the tensor is not well formed (invalid
 *          name, unknown dtype, ndim outside 0..POL_MAX_DIMS, a negative
 *          dimension, nbytes != numel * dtype size, NULL data with
 *          nbytes > 0);
 *          POL_ERR_NOMEM.
 * Out:     *out: the leaf hash; zeroed on failure.
 * In:      t: the tensor. */
POL_WARN_UNUSED pol_status pol_tensor_hash(const pol_tensor *t, pol_digest *out);

/* -------------------------------------------------------------- Merkle */

/* The Merkle tree hash of a list of leaf hashes, RFC 6962 shape [E-MERKLE-1
 * .. E-MERKLE-3]: n == 0 gives SHA-256 of the empty string, n == 1 gives
 * leaves[0], otherwise SHA-256(0x01 || root(first k) || root(rest)) with k
 * the largest power of two below n.
 * Returns: POL_OK; POL_ERR_NOMEM.
 * Out:     *out: the root; zeroed on failure.
 * In:      leaves, n: the leaf hashes in order. */
POL_WARN_UNUSED pol_status pol_merkle_root(const pol_digest *leaves, size_t n, pol_digest *out);

/* The inclusion proof (RFC 6962 audit path) of leaf `index` [E-PROOF-1]:
 * the sibling subtree roots from the leaf's level up to the root.
 * Returns: POL_OK;
 *          POL_ERR_INVALID_ARG when index >= n or the capacity is too
 *          small (POL_MERKLE_PATH_MAX entries always suffice);
 *          POL_ERR_NOMEM.
 * Out:     path: the proof entries, deepest first.
 * In/Out:  *path_len: on entry the capacity of `path` in digests; on
 *          return the number of entries written (0 on failure).
 * In:      leaves, n: the leaf hashes; index: the leaf to prove. */
POL_WARN_UNUSED pol_status pol_merkle_proof(const pol_digest *leaves, size_t n, size_t index,
                                            pol_digest *path, size_t *path_len);

/* Checks that `leaf` is leaf number `index` of a tree of `n` leaves whose
 * root is `root` [E-PROOF-2]. Proofs come from untrusted parties: every
 * malformed proof (index >= n, a path too long or too short, any wrong
 * byte) is answered with POL_ERR_HASH_MISMATCH, never a crash.
 * Returns: POL_OK when the proof holds; POL_ERR_HASH_MISMATCH when it does
 *          not; POL_ERR_NOMEM.
 * In:      leaf: the leaf hash; index, n: its position and the tree size;
 *          path, path_len: the proof; root: the expected root. */
POL_WARN_UNUSED pol_status pol_merkle_verify(const pol_digest *leaf, uint64_t index, uint64_t n,
                                             const pol_digest *path, size_t path_len,
                                             const pol_digest *root);

/* --------------------------------------------------------------- state */

/* The leaf hashes of a state, in canonical order: the tensors sorted by name
 * (strcmp) [E-STATE-1]. leaves[i] is the hash of the i-th tensor in that
 * order; `order` (optional, may be NULL) receives the tensors in the same
 * order, so a caller can find which leaf belongs to which tensor.
 * Returns: POL_OK; POL_ERR_INVALID_ARG for a malformed tensor or two
 *          tensors with the same name [E-STATE-2]; POL_ERR_NOMEM.
 * Out:     leaves: n digests; order: n pointers or NULL. Contents are
 *          unspecified on failure.
 * In:      tensors, n: the state's tensors, in any order. */
POL_WARN_UNUSED pol_status pol_state_leaves(const pol_tensor *const *tensors, size_t n,
                                            pol_digest *leaves, const pol_tensor **order);

/* Wraps a Merkle root of n state leaves into the state hash [E-STATE-3]:
 * SHA-256(0x02 || "libpol/state/v1" || 0x00 || u64le n || root).
 * Returns: POL_OK; POL_ERR_NOMEM.
 * Out:     *out: the state hash; zeroed on failure.
 * In:      n: the number of tensors; root: their Merkle root. */
POL_WARN_UNUSED pol_status pol_state_hash_from_root(uint64_t n, const pol_digest *root,
                                                    pol_digest *out);

/* The state hash of a set of tensors: pol_state_leaves, pol_merkle_root and
 * pol_state_hash_from_root in one call. Independent of the order of
 * `tensors`; the array itself is not modified.
 * Returns: as pol_state_leaves.
 * Out:     *out: the state hash; zeroed on failure.
 * In:      tensors, n: the state's tensors (n may be 0). */
POL_WARN_UNUSED pol_status pol_state_hash(const pol_tensor *const *tensors, size_t n,
                                          pol_digest *out);

#ifdef __cplusplus
}
#endif
#endif /* POL_HASH_H */
