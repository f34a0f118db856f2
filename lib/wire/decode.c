/* The hardened decode path shared by every wire decoder (spec/wire.md,
 * section 2). */
#include <stdlib.h>
#include <string.h>

#include "pol/wire.h"
#include "wire_internal.h"

/* ------------------------------------------------- the byte-budget allocator */

typedef struct budget {
    size_t left;
    int exhausted; /* a request went beyond the budget */
    int nomem;     /* malloc failed: the input may be fine */
} budget;

static void *budget_alloc(void *data, size_t size)
{
    budget *b = data;
    if (size > b->left) {
        b->exhausted = 1;
        return NULL;
    }
    b->left -= size; /* never refunded: the budget bounds the total handed out */
    void *p = malloc(size ? size : 1);
    b->nomem |= !p;
    return p;
}

static void budget_free(void *data, void *p)
{
    (void)data;
    free(p);
}

/* Messages are freed with the plain allocator: budget_alloc used malloc. */
void pol__wire_free(ProtobufCMessage *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

/* ------------------------------------------------------ unknown fields */

/* Depth is bounded by the schema (no message type contains itself); the
 * guard only protects against a schema change that would add recursion. */
static int has_unknown(const ProtobufCMessage *m, int depth)
{
    if (m->n_unknown_fields != 0 || depth > 16)
        return 1;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *base = (const char *)m;
        /* A oneof member shares its storage with the other members: it
         * holds a message pointer only while the oneof's case names it. */
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                if (arr[j] && has_unknown(arr[j], depth + 1))
                    return 1;
        } else {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)(base + f->offset);
            if (sub && has_unknown(sub, depth + 1))
                return 1;
        }
    }
    return 0;
}

/* -------------------------------------------------------------- unpack */

pol_status pol__wire_pack(const ProtobufCMessage *m, uint8_t **buf, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *p = malloc(n ? n : 1);
    *buf = NULL;
    *len = 0;
    if (!p)
        return pol_errorf(POL_ERR_NOMEM, "encode %s: %zu bytes", m->descriptor->name, n);
    size_t w = protobuf_c_message_pack(m, p);
    if (w != n) {
        free(p);
        return pol_errorf(POL_ERR_INTERNAL, "encode %s: packed %zu of %zu bytes",
                          m->descriptor->name, w, n);
    }
    *buf = p;
    *len = n;
    return POL_OK;
}

pol_status pol__wire_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                            size_t cap, size_t factor, const char *what, ProtobufCMessage **out)
{
    *out = NULL;
    if (len > cap)
        return pol_errorf(POL_ERR_TOO_LARGE, "%s: %zu bytes exceeds the cap of %zu", what, len,
                          cap);
    if (!buf && len > 0)
        return pol_errorf(POL_ERR_INVALID_ARG, "%s: NULL buffer", what);
    static const uint8_t empty[1];
    if (!buf)
        buf = empty;

    budget b = {factor * len + POL_WIRE_BUDGET_BASE, 0, 0};
    ProtobufCAllocator alloc = {budget_alloc, budget_free, &b};
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &alloc, len, buf);
    if (!m) {
        if (b.exhausted)
            return pol_errorf(POL_ERR_NOMEM, "%s: decoding needs more than the budget of %zu "
                              "bytes for %zu input bytes", what,
                              factor * len + POL_WIRE_BUDGET_BASE, len);
        if (b.nomem)
            return pol_errorf(POL_ERR_NOMEM, "%s: out of memory while decoding", what);
        return pol_errorf(POL_ERR_FORMAT, "%s: not a valid protobuf message", what);
    }
    if (has_unknown(m, 0)) {
        pol__wire_free(m);
        return pol_errorf(POL_ERR_FORMAT, "%s: unknown field (not in pol.v1 schema)", what);
    }
    /* Canonical form: the decoded value must encode back to the same bytes
     * (field order, packing, no default values, minimal varints, no repeated
     * singular fields). */
    uint8_t *re;
    size_t re_len;
    pol_status st = pol__wire_pack(m, &re, &re_len);
    if (st != POL_OK) {
        pol__wire_free(m);
        return st;
    }
    int same = re_len == len && memcmp(re, buf, len) == 0;
    free(re);
    if (!same) {
        pol__wire_free(m);
        return pol_errorf(POL_ERR_FORMAT, "%s: not in canonical encoding", what);
    }
    *out = m;
    return POL_OK;
}

pol_status pol__wire_get32(const ProtobufCBinaryData *b, const char *what, uint8_t out[32])
{
    if (b->len != 32)
        return pol_errorf(POL_ERR_FORMAT, "%s: %zu bytes, want 32", what, b->len);
    memcpy(out, b->data, 32);
    return POL_OK;
}

int pol__wire_text_ok(const char *s, size_t max_len)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if (n >= max_len)
            return 0;
        if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e)
            return 0;
    }
    return 1;
}
