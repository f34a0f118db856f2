/* libFuzzer target: pol_profile_load_thresholds (a profile JSON file,
 * spec/profiling.md P-JSON-1, P-JSON-2).
 *
 * The input is written to a file of this process (mkstemp) and read for a
 * fixed task id (that of spec/vectors/tiny/sgd-relu.json, whose profile is
 * in the seed corpus) under every metric of pol/distance.h. Checks:
 *  - On success: 1 or more thresholds, each with interval_len >= 1 and a
 *    finite value >= 0, and exactly the entries a plain jansson reading
 *    finds for that metric (op "", interval_len > 0), in file order, values
 *    bit for bit. A file has at most POL_PROFILE_MAX_THRESHOLDS entries
 *    (more is POL_ERR_TOO_LARGE), so the thresholds of all metrics
 *    together number at most that many; an accepted entry also takes at
 *    least MIN_ENTRY_BYTES, so at most size / MIN_ENTRY_BYTES.
 *  - The metric only picks entries: every metric gets the same status,
 *    except that POL_OK and POL_ERR_NOT_FOUND may differ between metrics.
 *  - A file that passed the format checks is POL_ERR_MISMATCH for another
 *    task id; an unknown metric is POL_ERR_INVALID_ARG.
 *  - Outputs are NULL and 0 on every failure. */
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "pol/distance.h"
#include "pol/profile.h"
#include "pol/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TASK_HEX "fe30b63da16538110e3c9378926b72f562d2dbc3d7f161862e1a7c678f7c67ca"
/* {"op":"","metric":"l1","interval_len":1,"threshold":0} */
#define MIN_ENTRY_BYTES 54

#define prof_path fuzz_tmp_path

static void put_file(const uint8_t *data, size_t size)
{
    fuzz_file_set(fuzz_tmp_file("/tmp/pol-fuzz-profile.XXXXXX"), data, size);
}

/* The thresholds loaded for metric m must be the file's whole-interval
 * entries of m, in order, each with its state group (absent: the
 * parameters). */
static int same_as_reference(const uint8_t *data, size_t size, pol_metric m,
                             const pol_threshold *t, size_t n)
{
    json_error_t err;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    json_t *arr = json_object_get(root, "thresholds");
    size_t k = 0;
    int ok = json_is_array(arr);
    for (size_t i = 0; ok && i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i);
        const char *op = json_string_value(json_object_get(e, "op"));
        const char *name = json_string_value(json_object_get(e, "metric"));
        json_t *L = json_object_get(e, "interval_len");
        if (!op || op[0] || !name || pol_metric_from_name(name) != m || json_integer_value(L) <= 0)
            continue;
        double v = json_number_value(json_object_get(e, "threshold"));
        json_t *g = json_object_get(e, "group");
        int group = g ? pol_group_from_name(json_string_value(g)) : POL_GROUP_PARAMS;
        ok = k < n && t[k].interval_len == (uint64_t)json_integer_value(L) &&
             memcmp(&t[k].value, &v, sizeof v) == 0 && group >= 0 && (int)t[k].group == group;
        k++;
    }
    json_decref(root);
    return ok && k == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pol_digest id, other;
    pol_threshold *t;
    size_t n, total = 0;
    pol_status first = POL_OK;
    int formed = 0; /* passed the format checks for some metric */
    if (pol_digest_from_hex(TASK_HEX, &id) != POL_OK)
        abort();
    other = id;
    other.b[0] ^= 1;
    put_file(data, size);
    for (int m = 1; m <= POL_METRIC_COUNT; m++) {
        pol_status st = pol_profile_load_thresholds(prof_path, &id, (pol_metric)m, &t, &n);
        int found = st == POL_OK || st == POL_ERR_NOT_FOUND;
        if (m == 1)
            first = st;
        else if (st != first && !(found && (first == POL_OK || first == POL_ERR_NOT_FOUND)))
            abort(); /* the metric changed more than the selection */
        formed |= found;
        if (st != POL_OK) {
            if (t || n)
                abort();
            continue;
        }
        if (!t || n == 0)
            abort();
        for (size_t i = 0; i < n; i++)
            if (t[i].interval_len == 0 || !isfinite(t[i].value) || !(t[i].value >= 0))
                abort();
        if (!same_as_reference(data, size, (pol_metric)m, t, n))
            abort();
        total += n;
        free(t);
    }
    if (total > size / MIN_ENTRY_BYTES || total > POL_PROFILE_MAX_THRESHOLDS)
        abort();
    if (formed &&
        pol_profile_load_thresholds(prof_path, &other, POL_METRIC_L2_REL, &t, &n) != POL_ERR_MISMATCH)
        abort();
    if (pol_profile_load_thresholds(prof_path, &id, (pol_metric)0, &t, &n) != POL_ERR_INVALID_ARG ||
        pol_profile_load_thresholds(prof_path, &id, (pol_metric)(POL_METRIC_COUNT + 1), &t, &n) !=
            POL_ERR_INVALID_ARG)
        abort();
    return 0;
}
