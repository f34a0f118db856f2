/* Inside libpol only: raw BIP-340 signing, for the envelope code (which
 * computes the digest itself) and for the BIP-340 test vectors. Not part of
 * the public API: libpol signs only digests it computed. */
#ifndef POL_KEYS_INTERNAL_H
#define POL_KEYS_INTERNAL_H

#include <stdint.h>

#include "pol/keys.h"

/* Signs a 32-byte digest with BIP-340. aux32: the auxiliary randomness, or
 * NULL to draw 32 fresh bytes from getrandom (the normal case; a fixed value
 * is for test vectors only). The signature is verified before it is
 * returned (a fault never leaks a bad signature).
 * Returns: POL_OK; POL_ERR_IO (getrandom); POL_ERR_INTERNAL.
 * Out:     sig: the signature; zeroed on failure. */
POL_WARN_UNUSED pol_status pol__schnorr_sign(const pol_keypair *kp, const uint8_t msg32[32],
                                             const uint8_t *aux32, uint8_t sig[POL_SIG_LEN]);

/* Fills buf with n bytes from getrandom (retrying EINTR and short reads).
 * Returns: POL_OK; POL_ERR_IO. */
POL_WARN_UNUSED pol_status pol__random_bytes(void *buf, size_t n);

/* Wipes n bytes in a way the compiler may not elide. */
void pol__wipe(void *p, size_t n);

#endif
