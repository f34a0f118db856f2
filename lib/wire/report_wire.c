/* pol_report <-> pol.v1.VerificationReport (spec/wire.md, section 5). */
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

/* The value rules shared by the encoder (POL_ERR_INVALID_ARG) and the
 * decoder (POL_ERR_FORMAT) [W-REPORT-2]. */
static pol_status report_valid(const pol_report *r, pol_status bad)
{
    if (r->verdict != POL_VERDICT_ACCEPT && r->verdict != POL_VERDICT_REJECT)
        return pol_errorf(bad, "report: verdict %u is not 1 (accept) or 2 (reject)", r->verdict);
    if (r->n_intervals > POL_REPORT_MAX_INTERVALS)
        return pol_errorf(bad, "report: %zu intervals exceeds the cap of %u", r->n_intervals,
                          POL_REPORT_MAX_INTERVALS);
    if (r->n_intervals > 0 && !r->intervals)
        return pol_errorf(bad, "report: NULL intervals");
    for (size_t i = 0; i < r->n_intervals; i++) {
        const pol_report_interval *v = &r->intervals[i];
        if (v->reason == 0 || (v->reason & ~(POL_PICK_BEACON | POL_PICK_TOPQ)) != 0)
            return pol_errorf(bad, "report: interval %zu: reason %u", i, v->reason);
        if (v->result < POL_INTERVAL_MATCH || v->result > POL_INTERVAL_UNCHECKED)
            return pol_errorf(bad, "report: interval %zu: result %u", i, v->result);
        if (!isfinite(v->distance) || !isfinite(v->threshold))
            return pol_errorf(bad, "report: interval %zu: distance or threshold not finite", i);
    }
    if (r->has_failure != 0 && r->has_failure != 1)
        return pol_errorf(bad, "report: has_failure %d", r->has_failure);
    if (r->verdict == POL_VERDICT_ACCEPT && r->has_failure)
        return pol_errorf(bad, "report: an accept cannot carry a failing interval");
    if (r->verdict == POL_VERDICT_REJECT && !r->has_failure && r->reason[0] == '\0')
        return pol_errorf(bad, "report: a reject must carry a failing interval or a reason");
    if (!isfinite(r->cost_fraction) || r->cost_fraction < 0)
        return pol_errorf(bad, "report: cost fraction not a finite value >= 0");
    for (int i = 0; i < POL_REPORT_N_DETECT; i++)
        if (!(r->detect_p[i] >= 0 && r->detect_p[i] <= 1))
            return pol_errorf(bad, "report: detection probability %d not in [0, 1]", i);
    if (!memchr(r->reason, '\0', sizeof r->reason) ||
        !pol__wire_text_ok(r->reason, POL_REPORT_REASON_MAX - 1))
        return pol_errorf(bad, "report: reason must be printable ASCII, at most %d bytes",
                          POL_REPORT_REASON_MAX - 1);
    return POL_OK;
}

pol_status pol_report_encode(const pol_report *r, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    pol_status st = report_valid(r, POL_ERR_INVALID_ARG);
    if (st != POL_OK)
        return st;
    const size_t n = r->n_intervals;
    Pol__V1__IntervalResult *iv = malloc((n ? n : 1) * sizeof *iv);
    Pol__V1__IntervalResult **ivp = malloc((n ? n : 1) * sizeof *ivp);
    if (!iv || !ivp) {
        free(iv);
        free(ivp);
        return pol_errorf(POL_ERR_NOMEM, "encode report: %zu intervals", n);
    }
    for (size_t i = 0; i < n; i++) {
        Pol__V1__IntervalResult x = POL__V1__INTERVAL_RESULT__INIT;
        x.index = r->intervals[i].index;
        x.reason = r->intervals[i].reason;
        x.result = r->intervals[i].result;
        x.distance = r->intervals[i].distance;
        x.threshold = r->intervals[i].threshold;
        iv[i] = x;
        ivp[i] = &iv[i];
    }
    Pol__V1__VerificationReport m = POL__V1__VERIFICATION_REPORT__INIT;
    m.certificate_id = bin(r->cert_id.b, 32);
    m.task_id = bin(r->task_id.b, 32);
    m.verifier_key = bin(r->verifier_key, 32);
    m.verdict = r->verdict;
    m.n_intervals = n;
    m.intervals = ivp;
    m.has_failure = r->has_failure;
    if (r->has_failure) {
        m.failing_interval = r->failing_interval;
        m.expected_hash = bin(r->expected_hash.b, 32);
        m.recomputed_hash = bin(r->recomputed_hash.b, 32);
    }
    m.cost_fraction = r->cost_fraction;
    m.detect_p01 = r->detect_p[0];
    m.detect_p10 = r->detect_p[1];
    m.detect_p50 = r->detect_p[2];
    m.beacon = bin(r->beacon, 32);
    m.reason = (char *)(uintptr_t)r->reason;
    st = pol__wire_pack(&m.base, buf, len);
    free(iv);
    free(ivp);
    return st;
}

static pol_status report_from_msg(const Pol__V1__VerificationReport *m, pol_report *r)
{
    pol_status st;
    if (m->n_intervals > POL_REPORT_MAX_INTERVALS)
        return pol_errorf(POL_ERR_FORMAT, "report: %zu intervals exceeds the cap of %u",
                          m->n_intervals, POL_REPORT_MAX_INTERVALS);
    if (!pol__wire_text_ok(m->reason, POL_REPORT_REASON_MAX - 1))
        return pol_errorf(POL_ERR_FORMAT,
                          "report: reason must be printable ASCII, at most %d bytes",
                          POL_REPORT_REASON_MAX - 1);
    if ((st = pol__wire_get32(&m->certificate_id, "report certificate_id", r->cert_id.b)) ||
        (st = pol__wire_get32(&m->task_id, "report task_id", r->task_id.b)) ||
        (st = pol__wire_get32(&m->verifier_key, "report verifier_key", r->verifier_key)) ||
        (st = pol__wire_get32(&m->beacon, "report beacon", r->beacon)))
        return st;
    r->has_failure = m->has_failure ? 1 : 0;
    if (r->has_failure) {
        if ((st = pol__wire_get32(&m->expected_hash, "report expected_hash",
                                  r->expected_hash.b)) ||
            (st = pol__wire_get32(&m->recomputed_hash, "report recomputed_hash",
                                  r->recomputed_hash.b)))
            return st;
        r->failing_interval = m->failing_interval;
    } else if (m->expected_hash.len || m->recomputed_hash.len || m->failing_interval) {
        return pol_errorf(POL_ERR_FORMAT, "report: failure evidence without has_failure");
    }
    r->verdict = m->verdict;
    r->cost_fraction = m->cost_fraction;
    r->detect_p[0] = m->detect_p01;
    r->detect_p[1] = m->detect_p10;
    r->detect_p[2] = m->detect_p50;
    strcpy(r->reason, m->reason); /* length checked above */
    if (m->n_intervals > 0) {
        r->intervals = calloc(m->n_intervals, sizeof *r->intervals);
        if (!r->intervals)
            return pol_errorf(POL_ERR_NOMEM, "report: %zu intervals", m->n_intervals);
        r->n_intervals = m->n_intervals;
        for (size_t i = 0; i < m->n_intervals; i++) {
            const Pol__V1__IntervalResult *x = m->intervals[i];
            r->intervals[i].index = x->index;
            r->intervals[i].reason = x->reason;
            r->intervals[i].result = x->result;
            r->intervals[i].distance = x->distance;
            r->intervals[i].threshold = x->threshold;
        }
    }
    return report_valid(r, POL_ERR_FORMAT);
}

pol_status pol_report_decode(const uint8_t *buf, size_t len, pol_report *out)
{
    ProtobufCMessage *m;
    memset(out, 0, sizeof *out);
    pol_status st = pol__wire_unpack(&pol__v1__verification_report__descriptor, buf, len,
                                     POL_WIRE_MAX_REPORT, POL_WIRE_BUDGET_REPORT, "report", &m);
    if (st != POL_OK)
        return st;
    st = report_from_msg((const Pol__V1__VerificationReport *)m, out);
    pol__wire_free(m);
    if (st != POL_OK)
        pol_report_free(out);
    return st;
}

void pol_report_free(pol_report *r)
{
    if (!r)
        return;
    free(r->intervals);
    memset(r, 0, sizeof *r);
}
