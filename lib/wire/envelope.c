/* Signed envelopes (spec/wire.md, section 3). */
#include <stdlib.h>
#include <string.h>

#include "../commit/keys_internal.h"
#include "pol/wire.h"
#include "wire_internal.h"

/* Domain tags [W-SIG-2], indexed by pol_msg_type. Each is hashed with its
 * terminating NUL. */
static const char *const envelope_tags[] = {
    NULL,
    "libpol/envelope/task/v1",
    "libpol/envelope/certificate/v1",
    "libpol/envelope/report/v1",
    "libpol/envelope/profile/v1",
    "libpol/envelope/game-action/v1",
    "libpol/envelope/request/v1",
    "libpol/envelope/response/v1",
};
#define N_TAGS (sizeof envelope_tags / sizeof envelope_tags[0])

pol_status pol_envelope_digest(uint32_t type, const uint8_t *body, size_t len, pol_digest *out)
{
    memset(out, 0, sizeof *out);
    if (type == 0 || type >= N_TAGS)
        return pol_errorf(POL_ERR_INVALID_ARG, "envelope: unknown message type %u", type);
    const char *tag = envelope_tags[type];
    uint8_t t[4] = {(uint8_t)type, (uint8_t)(type >> 8), (uint8_t)(type >> 16),
                    (uint8_t)(type >> 24)};
    pol_sha256_ctx *h;
    pol_status st = pol_sha256_new(&h);
    if (st != POL_OK)
        return st;
    if ((st = pol_sha256_update(h, tag, strlen(tag) + 1)) == POL_OK &&
        (st = pol_sha256_update(h, t, sizeof t)) == POL_OK &&
        (st = pol_sha256_update(h, body, len)) == POL_OK)
        st = pol_sha256_final(h, out);
    pol_sha256_free(h);
    if (st != POL_OK)
        memset(out, 0, sizeof *out);
    return st;
}

pol_status pol_envelope_seal(uint32_t type, const uint8_t *body, size_t len, const pol_keypair *kp,
                             uint8_t **out, size_t *out_len)
{
    pol_digest d;
    uint8_t pub[POL_PUBKEY_LEN], sig[POL_SIG_LEN];
    *out = NULL;
    *out_len = 0;
    if (len > POL_WIRE_MAX_ENVELOPE - 256)
        return pol_errorf(POL_ERR_TOO_LARGE, "envelope: body of %zu bytes exceeds the cap of %u",
                          len, POL_WIRE_MAX_ENVELOPE - 256);
    pol_status st = pol_envelope_digest(type, body, len, &d);
    if (st != POL_OK || (st = pol_keypair_pubkey(kp, pub)) != POL_OK ||
        (st = pol__schnorr_sign(kp, d.b, NULL, sig)) != POL_OK)
        return st;
    Pol__V1__Envelope m = POL__V1__ENVELOPE__INIT;
    m.type = type;
    m.body.len = len;
    m.body.data = (uint8_t *)(uintptr_t)body;
    m.signer.len = sizeof pub;
    m.signer.data = pub;
    m.signature.len = sizeof sig;
    m.signature.data = sig;
    return pol__wire_pack(&m.base, out, out_len);
}

static pol_status open_msg(const Pol__V1__Envelope *m, uint32_t expected_type,
                           uint8_t signer[POL_PUBKEY_LEN])
{
    pol_digest d;
    pol_status st;
    if (m->type != expected_type)
        return pol_errorf(POL_ERR_MISMATCH, "envelope: message type %u, expected %u", m->type,
                          expected_type);
    if ((st = pol__wire_get32(&m->signer, "envelope signer", signer)) != POL_OK)
        return st;
    if (m->signature.len != POL_SIG_LEN)
        return pol_errorf(POL_ERR_FORMAT, "envelope signature: %zu bytes, want %d",
                          m->signature.len, POL_SIG_LEN);
    /* the type is known (it is expected_type): a failure here is the
     * digest's own (out of memory), not the message's */
    if ((st = pol_envelope_digest(m->type, m->body.data, m->body.len, &d)) != POL_OK)
        return st == POL_ERR_INVALID_ARG
                   ? pol_errorf(POL_ERR_FORMAT, "envelope: unknown message type %u", m->type)
                   : st;
    st = pol_schnorr_verify(signer, d.b, m->signature.data);
    if (st == POL_ERR_SIGNATURE)
        return pol_errorf(st, "envelope: signature does not verify under the signer's key");
    if (st == POL_ERR_FORMAT)
        return pol_errorf(st, "envelope: signer is not a valid x-only key");
    return st;
}

pol_status pol_envelope_open(const uint8_t *buf, size_t len, uint32_t expected_type, uint8_t **body,
                             size_t *body_len, uint8_t signer[POL_PUBKEY_LEN])
{
    ProtobufCMessage *pm;
    *body = NULL;
    *body_len = 0;
    memset(signer, 0, POL_PUBKEY_LEN);
    if (expected_type == 0 || expected_type >= N_TAGS)
        return pol_errorf(POL_ERR_INVALID_ARG, "envelope: unknown expected type %u",
                          expected_type);
    pol_status st = pol__wire_unpack(&pol__v1__envelope__descriptor, buf, len,
                                     POL_WIRE_MAX_ENVELOPE, POL_WIRE_BUDGET_ENVELOPE, "envelope",
                                     &pm);
    if (st != POL_OK)
        return st;
    const Pol__V1__Envelope *m = (const Pol__V1__Envelope *)pm;
    st = open_msg(m, expected_type, signer);
    if (st == POL_OK) {
        *body = malloc(m->body.len ? m->body.len : 1);
        if (!*body) {
            st = pol_errorf(POL_ERR_NOMEM, "envelope: body of %zu bytes", m->body.len);
        } else {
            if (m->body.len)
                memcpy(*body, m->body.data, m->body.len);
            *body_len = m->body.len;
        }
    }
    pol__wire_free(pm);
    if (st != POL_OK)
        memset(signer, 0, POL_PUBKEY_LEN);
    return st;
}

pol_status pol_envelope_id(const uint8_t *buf, size_t len, pol_digest *id)
{
    return pol_sha256(buf, len, id);
}
