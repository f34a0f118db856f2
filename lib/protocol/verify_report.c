/* The signed-report form of a verification (pol_report_from_verify). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol/verify.h"

pol_status pol_report_from_verify(const pol_cert *c, const pol_digest *cert_id,
                                  const pol_verify_opts *o, const pol_verify_result *r,
                                  const uint8_t verifier_key[32], pol_report *out)
{
    memset(out, 0, sizeof *out);
    uint32_t beacon_only[POL_VERIFY_MAX_PICKS];
    size_t nb = 0;
    pol_verify_opts b = *o;
    b.top_q = 0;
    pol_status st;
    if (r->n_intervals && (st = pol_verify_pick(c, &b, beacon_only, &nb)))
        return st;
    pol_report rep;
    memset(&rep, 0, sizeof rep);
    rep.cert_id = *cert_id;
    rep.task_id = c->task_id;
    memcpy(rep.verifier_key, verifier_key, 32);
    rep.verdict = r->accept ? POL_VERDICT_ACCEPT : POL_VERDICT_REJECT;
    rep.intervals = calloc(r->n_picked ? r->n_picked : 1, sizeof *rep.intervals);
    if (!rep.intervals)
        return pol_errorf(POL_ERR_NOMEM, "report");
    rep.n_intervals = r->n_picked;
    for (size_t i = 0; i < r->n_picked; i++) {
        pol_report_interval *x = &rep.intervals[i];
        x->index = r->picked[i];
        x->reason = POL_PICK_TOPQ;
        for (size_t j = 0; j < nb; j++)
            if (beacon_only[j] == r->picked[i])
                x->reason = POL_PICK_BEACON;
        x->distance = r->tolerant ? r->distance[i] : 0.0;
        x->threshold = r->tolerant ? r->threshold[i] : 0.0;
        int64_t f = r->failed_interval;
        x->result = r->accept || (f >= 0 && (int64_t)x->index < f) ? POL_INTERVAL_MATCH
                    : (f >= 0 && (int64_t)x->index == f)            ? POL_INTERVAL_MISMATCH
                                                                     : POL_INTERVAL_UNCHECKED;
    }
    if (!r->accept && r->failed_interval >= 0 &&
        !pol_digest_equal(&r->got, &(pol_digest){ { 0 } })) {
        rep.has_failure = 1;
        rep.failing_interval = (uint64_t)r->failed_interval;
        rep.expected_hash = r->expected;
        rep.recomputed_hash = r->got;
    }
    rep.cost_fraction = r->cost_fraction;
    for (int q = 0; q < POL_REPORT_N_DETECT; q++)
        rep.detect_p[q] = r->detect_p[q];
    memcpy(rep.beacon, o->beacon, 32);
    snprintf(rep.reason, sizeof rep.reason, "%s", r->accept ? "" : r->reason);
    for (char *p = rep.reason; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
    if (!r->accept && !rep.has_failure && !rep.reason[0])
        snprintf(rep.reason, sizeof rep.reason, "rejected");
    *out = rep;
    return POL_OK;
}
