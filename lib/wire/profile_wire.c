/* pol_profile_report <-> pol.v1.ProfileReport (spec/wire.md, section 7). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pol/distance.h"
#include "pol/profile.h"
#include "pol/wire.h"
#include "wire_internal.h"

/* The value rules shared by the encoder (POL_ERR_INVALID_ARG) and the
 * decoder (POL_ERR_FORMAT) [W-PROFILE-1 .. W-PROFILE-3]. */
static pol_status threshold_valid(const pol_wire_threshold *t, size_t i, pol_status bad)
{
    if (!memchr(t->op, '\0', sizeof t->op) || !pol__wire_text_ok(t->op, POL_THRESHOLD_OP_MAX - 1))
        return pol_errorf(bad, "profile: threshold %zu: op must be printable ASCII, at most %d "
                          "bytes", i, POL_THRESHOLD_OP_MAX - 1);
    if (t->op[0] == '\0' && t->interval_len == 0)
        return pol_errorf(bad, "profile: threshold %zu: a whole-interval threshold needs "
                          "interval_len > 0", i);
    if (t->op[0] != '\0' && t->interval_len != 0)
        return pol_errorf(bad, "profile: threshold %zu: a per-op threshold (%s) has "
                          "interval_len 0, not %llu", i, t->op,
                          (unsigned long long)t->interval_len);
    if (!pol_metric_name((pol_metric)t->metric))
        return pol_errorf(bad, "profile: threshold %zu: unknown metric %u", i, t->metric);
    if (!(isfinite(t->threshold) && t->threshold >= 0) ||
        !(isfinite(t->max_observed) && t->max_observed >= 0))
        return pol_errorf(bad, "profile: threshold %zu: threshold and max_observed must be "
                          "finite and >= 0", i);
    if (t->samples == 0)
        return pol_errorf(bad, "profile: threshold %zu: no samples", i);
    if (!pol_group_name((pol_state_group)t->group))
        return pol_errorf(bad, "profile: threshold %zu: unknown state group %u", i, t->group);
    if (t->op[0] != '\0' && t->group != POL_GROUP_PARAMS)
        return pol_errorf(bad, "profile: threshold %zu: a per-op threshold (%s) has group \"\", "
                          "not \"%s\"", i, t->op, pol_group_name((pol_state_group)t->group));
    return POL_OK;
}

static pol_status report_valid(const pol_profile_report *r, pol_status bad)
{
    if (r->n_thresholds == 0 || r->n_thresholds > POL_PROFILE_MAX_THRESHOLDS)
        return pol_errorf(bad, "profile: %zu thresholds, want 1 to %u", r->n_thresholds,
                          POL_PROFILE_MAX_THRESHOLDS);
    if (!r->thresholds)
        return pol_errorf(bad, "profile: NULL thresholds");
    for (size_t i = 0; i < r->n_thresholds; i++) {
        pol_status st = threshold_valid(&r->thresholds[i], i, bad);
        if (st != POL_OK)
            return st;
    }
    /* A repeated key would leave a verifier two thresholds to choose from.
     * Quadratic, but bounded by the cap (and cheap next to a re-run). */
    for (size_t i = 0; i < r->n_thresholds; i++)
        for (size_t j = i + 1; j < r->n_thresholds; j++) {
            const pol_wire_threshold *a = &r->thresholds[i], *b = &r->thresholds[j];
            if (a->interval_len == b->interval_len && a->metric == b->metric &&
                a->group == b->group && strcmp(a->op, b->op) == 0)
                return pol_errorf(bad, "profile: thresholds %zu and %zu have the same op, group, "
                                  "interval_len and metric", i, j);
        }
    return POL_OK;
}

pol_status pol_profile_report_encode(const pol_profile_report *r, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    pol_status st = report_valid(r, POL_ERR_INVALID_ARG);
    if (st != POL_OK)
        return st;
    const size_t n = r->n_thresholds;
    Pol__V1__Threshold *tv = malloc(n * sizeof *tv);
    Pol__V1__Threshold **tp = malloc(n * sizeof *tp);
    if (!tv || !tp) {
        free(tv);
        free(tp);
        return pol_errorf(POL_ERR_NOMEM, "encode profile: %zu thresholds", n);
    }
    for (size_t i = 0; i < n; i++) {
        const pol_wire_threshold *t = &r->thresholds[i];
        Pol__V1__Threshold x = POL__V1__THRESHOLD__INIT;
        x.op = (char *)(uintptr_t)t->op;
        x.interval_len = t->interval_len;
        x.metric = (char *)(uintptr_t)pol_metric_name((pol_metric)t->metric);
        x.threshold = t->threshold;
        x.max_observed = t->max_observed;
        x.samples = t->samples;
        x.group = (char *)(uintptr_t)pol_group_name((pol_state_group)t->group);
        tv[i] = x;
        tp[i] = &tv[i];
    }
    Pol__V1__ProfileReport m = POL__V1__PROFILE_REPORT__INIT;
    m.task_id.len = 32;
    m.task_id.data = (uint8_t *)(uintptr_t)r->task_id.b;
    m.n_thresholds = n;
    m.thresholds = tp;
    st = pol__wire_pack(&m.base, buf, len);
    free(tv);
    free(tp);
    return st;
}

static pol_status report_from_msg(const Pol__V1__ProfileReport *m, pol_profile_report *r)
{
    pol_status st = pol__wire_get32(&m->task_id, "profile task_id", r->task_id.b);
    if (st != POL_OK)
        return st;
    if (m->n_thresholds == 0 || m->n_thresholds > POL_PROFILE_MAX_THRESHOLDS)
        return pol_errorf(POL_ERR_FORMAT, "profile: %zu thresholds, want 1 to %u",
                          m->n_thresholds, POL_PROFILE_MAX_THRESHOLDS);
    r->thresholds = calloc(m->n_thresholds, sizeof *r->thresholds);
    if (!r->thresholds)
        return pol_errorf(POL_ERR_NOMEM, "profile: %zu thresholds", m->n_thresholds);
    r->n_thresholds = m->n_thresholds;
    for (size_t i = 0; i < m->n_thresholds; i++) {
        const Pol__V1__Threshold *x = m->thresholds[i];
        pol_wire_threshold *t = &r->thresholds[i];
        if (!pol__wire_text_ok(x->op, POL_THRESHOLD_OP_MAX - 1))
            return pol_errorf(POL_ERR_FORMAT, "profile: threshold %zu: op must be printable "
                              "ASCII, at most %d bytes", i, POL_THRESHOLD_OP_MAX - 1);
        strcpy(t->op, x->op); /* length checked above */
        t->metric = (uint32_t)pol_metric_from_name(x->metric);
        if (t->metric == 0) {
            /* Name only a short, printable prefix of what was sent. */
            int ok = pol__wire_text_ok(x->metric, 16);
            return pol_errorf(POL_ERR_FORMAT, "profile: threshold %zu: unknown metric \"%s\"", i,
                              ok ? x->metric : "(not printable or too long)");
        }
        const int g = pol_group_from_name(x->group);
        if (g < 0) {
            int ok = pol__wire_text_ok(x->group, 16);
            return pol_errorf(POL_ERR_FORMAT, "profile: threshold %zu: unknown state group \"%s\" "
                              "(want \"\", \"m\", \"v\" or \"buf\")", i,
                              ok ? x->group : "(not printable or too long)");
        }
        t->group = (uint32_t)g;
        t->interval_len = x->interval_len;
        t->threshold = x->threshold;
        t->max_observed = x->max_observed;
        t->samples = x->samples;
    }
    return report_valid(r, POL_ERR_FORMAT);
}

pol_status pol_profile_report_decode(const uint8_t *buf, size_t len, pol_profile_report *out)
{
    ProtobufCMessage *m;
    memset(out, 0, sizeof *out);
    pol_status st = pol__wire_unpack(&pol__v1__profile_report__descriptor, buf, len,
                                     POL_WIRE_MAX_PROFILE, POL_WIRE_BUDGET_PROFILE, "profile", &m);
    if (st != POL_OK)
        return st;
    st = report_from_msg((const Pol__V1__ProfileReport *)m, out);
    pol__wire_free(m);
    if (st != POL_OK)
        pol_profile_report_free(out);
    return st;
}

pol_status pol_profile_report_from(const struct pol_profile *p, pol_profile_report *out)
{
    memset(out, 0, sizeof *out);
    if (p->n_stats == 0 || p->n_stats > POL_PROFILE_MAX_THRESHOLDS || !p->stats)
        return pol_errorf(POL_ERR_INVALID_ARG, "profile: %zu stats, want 1 to %u", p->n_stats,
                          POL_PROFILE_MAX_THRESHOLDS);
    out->thresholds = calloc(p->n_stats, sizeof *out->thresholds);
    if (!out->thresholds)
        return pol_errorf(POL_ERR_NOMEM, "profile: %zu thresholds", p->n_stats);
    out->task_id = p->task_id;
    out->n_thresholds = p->n_stats;
    _Static_assert(sizeof p->stats[0].op == POL_THRESHOLD_OP_MAX, "op name sizes differ");
    for (size_t i = 0; i < p->n_stats; i++) {
        const pol_profile_stat *s = &p->stats[i];
        pol_wire_threshold *t = &out->thresholds[i];
        memcpy(t->op, s->op, sizeof t->op);
        t->interval_len = s->interval_len;
        t->metric = (uint32_t)s->metric;
        t->threshold = s->threshold;
        t->max_observed = s->max;
        t->samples = s->n;
        t->group = (uint32_t)s->group;
    }
    pol_status st = report_valid(out, POL_ERR_INVALID_ARG);
    if (st != POL_OK)
        pol_profile_report_free(out);
    return st;
}

void pol_profile_report_free(pol_profile_report *r)
{
    if (!r)
        return;
    free(r->thresholds);
    memset(r, 0, sizeof *r);
}
