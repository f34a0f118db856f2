/* libFuzzer target: pol_profile_report_decode (pol.v1.ProfileReport).
 * Whatever decodes must re-encode to exactly the input (canonical form,
 * spec/wire.md W-CANON-1) and satisfy the value rules (W-PROFILE-2). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pol/distance.h"
#include "pol/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pol_profile_report r;
    uint8_t *re;
    size_t re_len;
    if (pol_profile_report_decode(data, size, &r) != POL_OK)
        return 0;
    for (size_t i = 0; i < r.n_thresholds; i++) {
        const pol_wire_threshold *t = &r.thresholds[i];
        if (!pol_metric_name((pol_metric)t->metric) || !(t->threshold >= 0) ||
            !isfinite(t->threshold) || t->samples == 0 || (t->op[0] == '\0') != (t->interval_len > 0) ||
            !pol_group_name((pol_state_group)t->group) ||
            (t->op[0] != '\0' && t->group != POL_GROUP_PARAMS))
            abort();
    }
    if (pol_profile_report_encode(&r, &re, &re_len) != POL_OK || re_len != size ||
        memcmp(re, data, size) != 0)
        abort();
    free(re);
    pol_profile_report_free(&r);
    return 0;
}
