/* pol_cert <-> pol.v1.Certificate (spec/wire.md, section 4). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pol/wire.h"
#include "wire_internal.h"

static ProtobufCBinaryData bin(const void *p, size_t n)
{
    ProtobufCBinaryData b = {n, (uint8_t *)(uintptr_t)p};
    return b;
}

/* The rules an in-memory certificate must meet to have an encoding. */
static pol_status cert_encodable(const pol_cert *c)
{
    const size_t n = c->n_checkpoints;
    if (n < 2 || n > POL_CERT_MAX_CHECKPOINTS)
        return pol_errorf(POL_ERR_INVALID_ARG, "certificate: %zu checkpoints not in [2, %u]", n,
                          POL_CERT_MAX_CHECKPOINTS);
    if (!c->ckpt_steps || !c->ckpt_hashes || !c->update_norms)
        return pol_errorf(POL_ERR_INVALID_ARG, "certificate: NULL checkpoint arrays");
    if (!memchr(c->device, '\0', sizeof c->device) ||
        !pol__wire_text_ok(c->device, POL_CERT_DEVICE_MAX - 1))
        return pol_errorf(POL_ERR_INVALID_ARG,
                          "certificate: device must be printable ASCII, at most %d bytes",
                          POL_CERT_DEVICE_MAX - 1);
    for (size_t i = 0; i + 1 < n; i++)
        if (!isfinite(c->update_norms[i]))
            return pol_errorf(POL_ERR_INVALID_ARG, "certificate: update norm %zu not finite", i);
    return POL_OK;
}

pol_status pol_cert_encode(const pol_cert *c, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    pol_status st = cert_encodable(c);
    if (st != POL_OK)
        return st;
    const size_t n = c->n_checkpoints;
    ProtobufCBinaryData *hashes = malloc(n * sizeof *hashes);
    if (!hashes)
        return pol_errorf(POL_ERR_NOMEM, "encode certificate: %zu hashes", n);
    for (size_t i = 0; i < n; i++)
        hashes[i] = bin(c->ckpt_hashes[i].b, 32);

    Pol__V1__Certificate m = POL__V1__CERTIFICATE__INIT;
    m.task_id = bin(c->task_id.b, 32);
    m.solver_key = bin(c->solver_key, 32);
    m.mode = c->mode;
    m.spec_version = c->spec_version;
    m.device = (char *)(uintptr_t)c->device;
    m.checkpoint_every = c->checkpoint_every;
    m.steps = c->steps;
    m.n_ckpt_steps = n;
    m.ckpt_steps = c->ckpt_steps;
    m.n_ckpt_hashes = n;
    m.ckpt_hashes = hashes;
    m.ckpt_root = bin(c->ckpt_root.b, 32);
    m.final_state_hash = bin(c->final_state_hash.b, 32);
    m.n_update_norms = n - 1;
    m.update_norms = c->update_norms;
    if (c->has_parent)
        m.parent_id = bin(c->parent_id.b, 32);
    st = pol__wire_pack(&m.base, buf, len);
    free(hashes);
    return st;
}

static pol_status cert_from_msg(const Pol__V1__Certificate *m, pol_cert *c)
{
    pol_status st;
    const size_t n = m->n_ckpt_hashes;
    if (n < 2 || n > POL_CERT_MAX_CHECKPOINTS)
        return pol_errorf(POL_ERR_FORMAT, "certificate: %zu checkpoint hashes not in [2, %u]", n,
                          POL_CERT_MAX_CHECKPOINTS);
    if (m->n_ckpt_steps != n)
        return pol_errorf(POL_ERR_FORMAT, "certificate: %zu checkpoint steps for %zu hashes",
                          m->n_ckpt_steps, n);
    if (m->n_update_norms != n - 1)
        return pol_errorf(POL_ERR_FORMAT, "certificate: %zu update norms for %zu intervals",
                          m->n_update_norms, n - 1);
    if (!pol__wire_text_ok(m->device, POL_CERT_DEVICE_MAX - 1))
        return pol_errorf(POL_ERR_FORMAT,
                          "certificate: device must be printable ASCII, at most %d bytes",
                          POL_CERT_DEVICE_MAX - 1);
    if ((st = pol_cert_alloc(c, n)) != POL_OK)
        return st;
    if ((st = pol__wire_get32(&m->task_id, "certificate task_id", c->task_id.b)) != POL_OK ||
        (st = pol__wire_get32(&m->solver_key, "certificate solver_key", c->solver_key)) != POL_OK ||
        (st = pol__wire_get32(&m->ckpt_root, "certificate ckpt_root", c->ckpt_root.b)) != POL_OK ||
        (st = pol__wire_get32(&m->final_state_hash, "certificate final_state_hash",
                              c->final_state_hash.b)) != POL_OK)
        return st;
    if (m->parent_id.len != 0) {
        if ((st = pol__wire_get32(&m->parent_id, "certificate parent_id", c->parent_id.b)) != POL_OK)
            return st;
        c->has_parent = 1;
    }
    c->mode = m->mode;
    c->spec_version = m->spec_version;
    strcpy(c->device, m->device); /* length checked above */
    c->checkpoint_every = m->checkpoint_every;
    c->steps = m->steps;
    for (size_t i = 0; i < n; i++) {
        if (m->ckpt_hashes[i].len != 32)
            return pol_errorf(POL_ERR_FORMAT, "certificate: checkpoint hash %zu: %zu bytes, want 32",
                              i, m->ckpt_hashes[i].len);
        memcpy(c->ckpt_hashes[i].b, m->ckpt_hashes[i].data, 32);
        c->ckpt_steps[i] = m->ckpt_steps[i];
    }
    for (size_t i = 0; i + 1 < n; i++) {
        if (!isfinite(m->update_norms[i]))
            return pol_errorf(POL_ERR_FORMAT, "certificate: update norm %zu not finite", i);
        c->update_norms[i] = m->update_norms[i];
    }
    return POL_OK;
}

pol_status pol_cert_decode(const uint8_t *buf, size_t len, pol_cert *out)
{
    ProtobufCMessage *m;
    memset(out, 0, sizeof *out);
    pol_status st = pol__wire_unpack(&pol__v1__certificate__descriptor, buf, len,
                                     POL_WIRE_MAX_CERT, POL_WIRE_BUDGET_CERT, "certificate", &m);
    if (st != POL_OK)
        return st;
    st = cert_from_msg((const Pol__V1__Certificate *)m, out);
    pol__wire_free(m);
    if (st != POL_OK)
        pol_cert_free(out);
    return st;
}
