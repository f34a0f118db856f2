/* pol_net_request <-> pol.v1.Request, pol_net_response <-> pol.v1.Response
 * (spec/net.md, section 4). */
#include <stdlib.h>
#include <string.h>

#include "net.pb-c.h"
#include "pol/net.h"
#include "wire_internal.h"

static ProtobufCBinaryData bin(const void *p, size_t n)
{
    ProtobufCBinaryData b = {n, (uint8_t *)(uintptr_t)p};
    return b;
}

/* A malloc'd copy of n bytes (n may be 0: a 1-byte buffer). */
static pol_status dup_bytes(const ProtobufCBinaryData *b, const char *what, uint8_t **out,
                            size_t *len)
{
    *out = malloc(b->len ? b->len : 1);
    if (!*out)
        return pol_errorf(POL_ERR_NOMEM, "%s: %zu bytes", what, b->len);
    if (b->len)
        memcpy(*out, b->data, b->len);
    *len = b->len;
    return POL_OK;
}

/* ---------------------------------------------------------------- request */

/* The value rules shared by the encoder (POL_ERR_INVALID_ARG) and the
 * decoder (POL_ERR_FORMAT) [N-REQ-2]. */
static pol_status request_valid(const pol_net_request *r, pol_status bad)
{
    switch (r->kind) {
    case POL_NET_ACTION:
        if (r->data_len == 0)
            return pol_errorf(bad, "request: empty action");
        break;
    case POL_NET_PIN:
    case POL_NET_EVENTS:
    case POL_NET_BLOB:
        break;
    default:
        return pol_errorf(bad, "request: kind %u is not 1..4", r->kind);
    }
    if ((r->kind == POL_NET_ACTION || r->kind == POL_NET_PIN) && r->data_len > 0 && !r->data)
        return pol_errorf(bad, "request: NULL data");
    if (r->data_len > POL_WIRE_MAX_ENVELOPE)
        return pol_errorf(bad, "request: %zu data bytes exceeds the cap", r->data_len);
    return POL_OK;
}

pol_status pol_net_request_encode(const pol_net_request *r, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    POL_TRY(request_valid(r, POL_ERR_INVALID_ARG));
    Pol__V1__Request m;
    pol__v1__request__init(&m);
    m.id = r->id;
    m.time_ms = r->time_ms;
    switch (r->kind) {
    case POL_NET_ACTION:
        m.req_case = POL__V1__REQUEST__REQ_ACTION;
        m.action = bin(r->data, r->data_len);
        break;
    case POL_NET_EVENTS:
        m.req_case = POL__V1__REQUEST__REQ_EVENTS_FROM;
        m.events_from = r->events_from;
        break;
    case POL_NET_BLOB:
        m.req_case = POL__V1__REQUEST__REQ_BLOB;
        m.blob = bin(r->blob_hash.b, 32);
        break;
    default:
        m.req_case = POL__V1__REQUEST__REQ_PIN_QUERY;
        m.pin_query = bin(r->data, r->data_len);
        break;
    }
    return pol__wire_pack(&m.base, buf, len);
}

static pol_status request_from_msg(const Pol__V1__Request *m, pol_net_request *r)
{
    r->id = m->id;
    r->time_ms = m->time_ms;
    switch (m->req_case) {
    case POL__V1__REQUEST__REQ_ACTION:
        r->kind = POL_NET_ACTION;
        POL_TRY(dup_bytes(&m->action, "request action", &r->data, &r->data_len));
        break;
    case POL__V1__REQUEST__REQ_EVENTS_FROM:
        r->kind = POL_NET_EVENTS;
        r->events_from = m->events_from;
        break;
    case POL__V1__REQUEST__REQ_BLOB:
        r->kind = POL_NET_BLOB;
        POL_TRY(pol__wire_get32(&m->blob, "request blob hash", r->blob_hash.b));
        break;
    case POL__V1__REQUEST__REQ_PIN_QUERY:
        r->kind = POL_NET_PIN;
        POL_TRY(dup_bytes(&m->pin_query, "request pin_query", &r->data, &r->data_len));
        break;
    default:
        return pol_errorf(POL_ERR_FORMAT, "request: no kind (action, events_from, blob, "
                                          "pin_query) set");
    }
    return request_valid(r, POL_ERR_FORMAT);
}

pol_status pol_net_request_decode(const uint8_t *buf, size_t len, pol_net_request *out)
{
    ProtobufCMessage *m;
    memset(out, 0, sizeof *out);
    POL_TRY(pol__wire_unpack(&pol__v1__request__descriptor, buf, len, POL_WIRE_MAX_ENVELOPE,
                             POL_NET_BUDGET_REQUEST, "request", &m));
    pol_status st = request_from_msg((const Pol__V1__Request *)m, out);
    pol__wire_free(m);
    if (st != POL_OK)
        pol_net_request_free(out);
    return st;
}

void pol_net_request_free(pol_net_request *r)
{
    if (!r)
        return;
    free(r->data);
    memset(r, 0, sizeof *r);
}

/* --------------------------------------------------------------- response */

/* [N-RESP-2] .. [N-RESP-4], shared by encoder and decoder. */
static pol_status response_valid(const pol_net_response *r, pol_status bad)
{
    if (r->status > POL_NET_MAX_STATUS)
        return pol_errorf(bad, "response: status %u exceeds %u", r->status, POL_NET_MAX_STATUS);
    if (!memchr(r->error, '\0', sizeof r->error) ||
        !pol__wire_text_ok(r->error, POL_NET_ERROR_MAX - 1))
        return pol_errorf(bad, "response: error text must be printable ASCII, at most %d bytes",
                          POL_NET_ERROR_MAX - 1);
    if (r->status != 0) {
        if (r->kind != POL_NET_NONE)
            return pol_errorf(bad, "response: status %u with a payload (kind %u)", r->status,
                              r->kind);
        return POL_OK;
    }
    if (r->error[0])
        return pol_errorf(bad, "response: status 0 with an error text");
    switch (r->kind) {
    case POL_NET_ACTION:
        return POL_OK;
    case POL_NET_BLOB:
    case POL_NET_PIN:
        if (r->data_len > 0 && !r->data)
            return pol_errorf(bad, "response: NULL data");
        if (r->data_len > POL_WIRE_MAX_ENVELOPE)
            return pol_errorf(bad, "response: %zu data bytes exceeds the cap", r->data_len);
        return POL_OK;
    case POL_NET_EVENTS:
        break;
    default:
        return pol_errorf(bad, "response: status 0 needs a payload of kind 1..4, not %u",
                          r->kind);
    }
    if (r->n_events > POL_NET_MAX_EVENTS)
        return pol_errorf(bad, "response: %zu events exceeds the cap of %u", r->n_events,
                          POL_NET_MAX_EVENTS);
    if ((r->n_events > 0 && !r->events) || (r->genesis_len > 0 && !r->genesis))
        return pol_errorf(bad, "response: NULL events or genesis");
    for (size_t i = 0; i < r->n_events; i++) {
        const pol_net_event *e = &r->events[i];
        if (e->seq == 0 || (i > 0 && e->seq != r->events[i - 1].seq + 1))
            return pol_errorf(bad, "response: event %zu has seq %llu; seqs start at 1 and "
                                   "are consecutive", i, (unsigned long long)e->seq);
        if (e->seq > r->head_seq)
            return pol_errorf(bad, "response: event seq %llu beyond head_seq %llu",
                              (unsigned long long)e->seq, (unsigned long long)r->head_seq);
        if (e->action_len > 0 && !e->action)
            return pol_errorf(bad, "response: event %zu: NULL action", i);
    }
    return POL_OK;
}

pol_status pol_net_response_encode(const pol_net_response *r, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    POL_TRY(response_valid(r, POL_ERR_INVALID_ARG));
    Pol__V1__Response m;
    Pol__V1__LedgerEvents evs;
    pol__v1__response__init(&m);
    pol__v1__ledger_events__init(&evs);
    Pol__V1__LedgerEvent *ev = NULL, **evp = NULL;
    m.id = r->id;
    m.request_id = bin(r->request_id.b, 32);
    m.status = r->status;
    m.error = (char *)(uintptr_t)r->error;
    switch (r->status ? POL_NET_NONE : r->kind) {
    case POL_NET_ACTION:
        m.resp_case = POL__V1__RESPONSE__RESP_APPLIED_SEQ;
        m.applied_seq = r->applied_seq;
        break;
    case POL_NET_BLOB:
        m.resp_case = POL__V1__RESPONSE__RESP_BLOB;
        m.blob = bin(r->data, r->data_len);
        break;
    case POL_NET_PIN:
        m.resp_case = POL__V1__RESPONSE__RESP_PIN_ANSWER;
        m.pin_answer = bin(r->data, r->data_len);
        break;
    case POL_NET_EVENTS: {
        const size_t n = r->n_events;
        ev = malloc((n ? n : 1) * sizeof *ev);
        evp = malloc((n ? n : 1) * sizeof *evp);
        if (!ev || !evp) {
            free(ev);
            free(evp);
            return pol_errorf(POL_ERR_NOMEM, "encode response: %zu events", n);
        }
        for (size_t i = 0; i < n; i++) {
            pol__v1__ledger_event__init(&ev[i]);
            ev[i].seq = r->events[i].seq;
            ev[i].time_ms = r->events[i].time_ms;
            ev[i].action = bin(r->events[i].action, r->events[i].action_len);
            evp[i] = &ev[i];
        }
        evs.n_events = n;
        evs.events = evp;
        evs.head_seq = r->head_seq;
        evs.genesis = bin(r->genesis, r->genesis_len);
        m.resp_case = POL__V1__RESPONSE__RESP_EVENTS;
        m.events = &evs;
        break;
    }
    default:
        break;
    }
    pol_status st = pol__wire_pack(&m.base, buf, len);
    free(ev);
    free(evp);
    return st;
}

static pol_status events_from_msg(const Pol__V1__LedgerEvents *m, pol_net_response *r)
{
    if (m->n_events > POL_NET_MAX_EVENTS)
        return pol_errorf(POL_ERR_FORMAT, "response: %zu events exceeds the cap of %u",
                          m->n_events, POL_NET_MAX_EVENTS);
    r->head_seq = m->head_seq;
    if (m->genesis.len > 0)
        POL_TRY(dup_bytes(&m->genesis, "response genesis", &r->genesis, &r->genesis_len));
    if (m->n_events == 0)
        return POL_OK;
    r->events = calloc(m->n_events, sizeof *r->events);
    if (!r->events)
        return pol_errorf(POL_ERR_NOMEM, "response: %zu events", m->n_events);
    r->n_events = m->n_events;
    for (size_t i = 0; i < m->n_events; i++) {
        const Pol__V1__LedgerEvent *e = m->events[i];
        r->events[i].seq = e->seq;
        r->events[i].time_ms = e->time_ms;
        if (e->action.len > 0)
            POL_TRY(dup_bytes(&e->action, "response event action", &r->events[i].action,
                              &r->events[i].action_len));
    }
    return POL_OK;
}

static pol_status response_from_msg(const Pol__V1__Response *m, pol_net_response *r)
{
    if (!pol__wire_text_ok(m->error, POL_NET_ERROR_MAX - 1))
        return pol_errorf(POL_ERR_FORMAT,
                          "response: error text must be printable ASCII, at most %d bytes",
                          POL_NET_ERROR_MAX - 1);
    strcpy(r->error, m->error); /* length checked above */
    POL_TRY(pol__wire_get32(&m->request_id, "response request_id", r->request_id.b));
    r->id = m->id;
    r->status = m->status;
    switch (m->resp_case) {
    case POL__V1__RESPONSE__RESP__NOT_SET:
        r->kind = POL_NET_NONE;
        break;
    case POL__V1__RESPONSE__RESP_APPLIED_SEQ:
        r->kind = POL_NET_ACTION;
        r->applied_seq = m->applied_seq;
        break;
    case POL__V1__RESPONSE__RESP_BLOB:
        r->kind = POL_NET_BLOB;
        POL_TRY(dup_bytes(&m->blob, "response blob", &r->data, &r->data_len));
        break;
    case POL__V1__RESPONSE__RESP_PIN_ANSWER:
        r->kind = POL_NET_PIN;
        POL_TRY(dup_bytes(&m->pin_answer, "response pin_answer", &r->data, &r->data_len));
        break;
    case POL__V1__RESPONSE__RESP_EVENTS:
        r->kind = POL_NET_EVENTS;
        POL_TRY(events_from_msg(m->events, r));
        break;
    default:
        return pol_errorf(POL_ERR_FORMAT, "response: unknown payload case %d",
                          (int)m->resp_case);
    }
    return response_valid(r, POL_ERR_FORMAT);
}

pol_status pol_net_response_decode(const uint8_t *buf, size_t len, pol_net_response *out)
{
    ProtobufCMessage *m;
    memset(out, 0, sizeof *out);
    POL_TRY(pol__wire_unpack(&pol__v1__response__descriptor, buf, len, POL_WIRE_MAX_ENVELOPE,
                             POL_NET_BUDGET_RESPONSE, "response", &m));
    pol_status st = response_from_msg((const Pol__V1__Response *)m, out);
    pol__wire_free(m);
    if (st != POL_OK)
        pol_net_response_free(out);
    return st;
}

void pol_net_response_free(pol_net_response *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_events; i++)
        free(r->events[i].action);
    free(r->events);
    free(r->genesis);
    free(r->data);
    memset(r, 0, sizeof *r);
}
