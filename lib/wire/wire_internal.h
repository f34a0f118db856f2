/* Inside libpol only: the hardened protobuf-c decode path shared by every
 * wire decoder (caps, byte budget, unknown fields, canonical form). */
#ifndef POL_WIRE_INTERNAL_H
#define POL_WIRE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "pol.pb-c.h"
#include "pol/status.h"

/* Decodes buf[0..len) as a message of `desc`:
 *   1. len > cap                         -> POL_ERR_TOO_LARGE (nothing read);
 *   2. unpack with an allocator that refuses more than
 *      factor * len + POL_WIRE_BUDGET_BASE bytes in total -> POL_ERR_NOMEM
 *      when the budget runs out, POL_ERR_FORMAT when protobuf-c rejects it;
 *   3. any unknown field at any depth    -> POL_ERR_FORMAT;
 *   4. re-encoding differs from buf      -> POL_ERR_FORMAT (not canonical).
 * `what` names the message in error messages.
 * Out: *out: the message, freed with pol__wire_free; NULL on failure. */
POL_WARN_UNUSED pol_status pol__wire_unpack(const ProtobufCMessageDescriptor *desc,
                                            const uint8_t *buf, size_t len, size_t cap,
                                            size_t factor, const char *what,
                                            ProtobufCMessage **out);

/* Frees a message from pol__wire_unpack. NULL is a no-op. */
void pol__wire_free(ProtobufCMessage *m);

/* Packs a message into a malloc'd buffer.
 * Returns: POL_OK; POL_ERR_NOMEM. */
POL_WARN_UNUSED pol_status pol__wire_pack(const ProtobufCMessage *m, uint8_t **buf, size_t *len);

/* Copies a bytes field of exactly 32 bytes into out.
 * Returns: POL_OK; POL_ERR_FORMAT naming `what`. */
POL_WARN_UNUSED pol_status pol__wire_get32(const ProtobufCBinaryData *b, const char *what,
                                           uint8_t out[32]);

/* 1 if s (NUL-terminated) has at most max_len bytes, all printable ASCII
 * (0x20 .. 0x7e). */
int pol__wire_text_ok(const char *s, size_t max_len);

#endif
