/* libpol — signing keys: BIP-340 Schnorr keys on secp256k1 (spec/wire.md).
 *
 * A party (solver, verifier, referee) is named by a 32-byte x-only public
 * key. Its secret lives in a pol_keypair, which libpol wipes on
 * pol_keypair_clear; key files hold hex (section "Key files" of
 * spec/wire.md). libpol signs only digests it computes itself (the envelope
 * digest of pol/wire.h), so no function here signs caller-supplied bytes.
 *
 * Rules that hold for every function below unless it says otherwise:
 *  - Pointer arguments must be non-NULL.
 *  - Argument order: inputs, then outputs; a length follows its array.
 *  - A function returning pol_status records a message for pol_last_error on
 *    failure; outputs are zeroed on failure.
 *  - Thread-safe: the library's secp256k1 context is created and randomized
 *    once (getrandom) and then only read.
 */
#ifndef POL_KEYS_H
#define POL_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "pol/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POL_PUBKEY_LEN 32
#define POL_SECKEY_LEN 32
#define POL_SIG_LEN 64

/* A secret key with its public key, in libsecp256k1's internal form. Holds a
 * secret: clear it with pol_keypair_clear when done; do not write it to disk
 * other than through pol_seckey_save. */
typedef struct pol_keypair {
    unsigned char opaque[96];
} pol_keypair;

/* Generates a fresh keypair from the operating system's random source
 * (getrandom). [W-KEY-1]
 * Returns: POL_OK; POL_ERR_IO when getrandom fails; POL_ERR_INTERNAL.
 * Out:     *kp: the keypair; zeroed on failure. */
POL_WARN_UNUSED pol_status pol_keypair_generate(pol_keypair *kp);

/* Makes the keypair of a 32-byte secret key (big-endian scalar).
 * Returns: POL_OK; POL_ERR_FORMAT when the scalar is 0 or >= the curve
 *          order; POL_ERR_INTERNAL.
 * Out:     *kp: the keypair; zeroed on failure.
 * In:      seckey: the secret (the caller wipes its own copy). */
POL_WARN_UNUSED pol_status pol_keypair_from_secret(const uint8_t seckey[POL_SECKEY_LEN],
                                                   pol_keypair *kp);

/* The 32-byte x-only public key of a keypair (BIP-340).
 * Returns: POL_OK; POL_ERR_INTERNAL for a keypair not made by this API.
 * Out:     pub: the key; zeroed on failure. */
POL_WARN_UNUSED pol_status pol_keypair_pubkey(const pol_keypair *kp, uint8_t pub[POL_PUBKEY_LEN]);

/* Wipes a keypair (a store the compiler may not elide). NULL is a no-op. */
void pol_keypair_clear(pol_keypair *kp);

/* Checks that 32 bytes are a valid x-only public key (an x coordinate on the
 * curve).
 * Returns: POL_OK; POL_ERR_FORMAT; POL_ERR_INTERNAL. */
POL_WARN_UNUSED pol_status pol_pubkey_check(const uint8_t pub[POL_PUBKEY_LEN]);

/* Verifies a BIP-340 signature over a 32-byte digest. Signatures come from
 * untrusted parties: every wrong byte gives POL_ERR_SIGNATURE, never a crash.
 * Returns: POL_OK; POL_ERR_SIGNATURE when the signature does not verify;
 *          POL_ERR_FORMAT when pub is not a valid key; POL_ERR_INTERNAL.
 * In:      pub: the signer; msg32: the digest; sig: the signature. */
POL_WARN_UNUSED pol_status pol_schnorr_verify(const uint8_t pub[POL_PUBKEY_LEN],
                                              const uint8_t msg32[32],
                                              const uint8_t sig[POL_SIG_LEN]);

/* ------------------------------------------------------------ key files */

/* The largest key file libpol reads, in bytes. */
#define POL_KEYFILE_MAX 128

/* Writes a secret key file: the 64 lowercase hex digits of the secret and a
 * newline, mode 0600, written atomically (temporary file, fsync, link into
 * place, directory fsync) and never over an existing file. [W-KEYFILE-1]
 * Returns: POL_OK; POL_ERR_EXISTS when `path` exists (untouched);
 *          POL_ERR_INVALID_ARG when `path` ends in ".pub", the name of a
 *          public key file; POL_ERR_IO; POL_ERR_INTERNAL. On failure no
 *          file is left.
 * In:      path: the file; kp: the keypair. */
POL_WARN_UNUSED pol_status pol_seckey_save(const char *path, const pol_keypair *kp);

/* Reads a secret key file. The file must be a regular file that neither
 * group nor others can read or write (mode & 077 == 0) [W-KEYFILE-2], and
 * hold exactly 64 lowercase hex digits, optionally followed by one newline.
 * A path ending in ".pub" is refused unread: a public key file has the same
 * content format and would otherwise read as a (known) secret.
 * Returns: POL_OK; POL_ERR_NOT_FOUND; POL_ERR_IO;
 *          POL_ERR_INVALID_ARG when the file's permissions are too open
 *          (the message gives the mode and the fix), or the path ends in
 *          ".pub";
 *          POL_ERR_TOO_LARGE; POL_ERR_FORMAT (bad hex, invalid scalar).
 * Out:     *kp: the keypair; zeroed on failure. */
POL_WARN_UNUSED pol_status pol_seckey_load(const char *path, pol_keypair *kp);

/* Writes a public key file: 64 lowercase hex digits and a newline, mode
 * 0644, atomically, never over an existing file. [W-KEYFILE-3]
 * Returns: POL_OK; POL_ERR_EXISTS; POL_ERR_IO; POL_ERR_FORMAT (not a valid
 *          key). */
POL_WARN_UNUSED pol_status pol_pubkey_save(const char *path, const uint8_t pub[POL_PUBKEY_LEN]);

/* Reads a public key file (64 lowercase hex digits, optionally one newline)
 * and checks that the key is valid.
 * Returns: POL_OK; POL_ERR_NOT_FOUND; POL_ERR_IO; POL_ERR_TOO_LARGE;
 *          POL_ERR_FORMAT.
 * Out:     pub: the key; zeroed on failure. */
POL_WARN_UNUSED pol_status pol_pubkey_load(const char *path, uint8_t pub[POL_PUBKEY_LEN]);

/* Parses 64 lowercase hex digits (a NUL-terminated string) into a public
 * key and checks it, e.g. for a key given on a command line.
 * Returns: POL_OK; POL_ERR_FORMAT. Out: pub, zeroed on failure. */
POL_WARN_UNUSED pol_status pol_pubkey_from_hex(const char *hex, uint8_t pub[POL_PUBKEY_LEN]);

/* Writes the 64 lowercase hex digits of a public key and a NUL. */
void pol_pubkey_to_hex(const uint8_t pub[POL_PUBKEY_LEN], char hex[65]);

#ifdef __cplusplus
}
#endif
#endif /* POL_KEYS_H */
