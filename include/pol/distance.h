/* libpol — distances between two training states (tolerant mode,
 * spec/certificate.md section 5, spec/profiling.md).
 *
 * Everything is computed in binary64 from binary32 values, summing in
 * element order then tensor order, so the distances themselves are
 * deterministic for given inputs. For vectors a (the value under test) and
 * b (the reference), with d = a - b:
 *   l1       sum |d_i|                   l1_rel    l1 / sum |b_i|
 *   l2       sqrt(sum d_i^2)             l2_rel    l2 / sqrt(sum b_i^2)
 *   linf     max |d_i|                   linf_rel  linf / max |b_i|
 *   cosine   1 - cos(a, b), computed as (|d|^2 - (|a| - |b|)^2) / (2 |a| |b|)
 *            (the same quantity without the cancellation of 1 - a.b/(|a||b|)),
 *            clamped to [0, 2]. Scale-invariant (a and 3a are at distance
 *            0), so a verifier never accepts by it (spec/certificate.md
 *            [V-TOL-2]); profiles report it.
 * Zero vectors: a relative distance with a zero reference is 0 when d is
 * zero and +inf otherwise; the cosine distance is 0 when both vectors are
 * zero and 1 when exactly one is. An empty vector has every distance 0.
 * A NaN or infinity in either input is an error (POL_ERR_FORMAT): a
 * non-finite state is never "close" to anything.
 */
#ifndef POL_DISTANCE_H
#define POL_DISTANCE_H

#include <stddef.h>
#include <stdint.h>

#include "pol/status.h"
#include "pol/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pol_distance {
    double l1, l2, linf;
    double l1_rel, l2_rel, linf_rel;
    double cosine;
    uint64_t n; /* elements compared */
} pol_distance;

/* Metric names, as used in profiles and reports. */
typedef enum pol_metric {
    POL_METRIC_L1 = 1,
    POL_METRIC_L2 = 2,
    POL_METRIC_LINF = 3,
    POL_METRIC_L1_REL = 4,
    POL_METRIC_L2_REL = 5,
    POL_METRIC_LINF_REL = 6,
    POL_METRIC_COSINE = 7,
} pol_metric;
#define POL_METRIC_COUNT 7

/* "l1", "l2", "linf", "l1_rel", "l2_rel", "linf_rel", "cosine"; NULL if unknown. */
const char *pol_metric_name(pol_metric m);
/* The metric of a name, or 0. */
pol_metric pol_metric_from_name(const char *name);
/* The value of metric m in d (NaN for an unknown m). */
double pol_distance_get(const pol_distance *d, pol_metric m);

/* Distance between two float32 vectors of n elements (a under test, b the
 * reference). Returns: POL_OK; POL_ERR_INVALID_ARG (NULL with n > 0);
 * POL_ERR_FORMAT (a non-finite value, its index in the message).
 * Out: *out, zeroed on failure. */
POL_WARN_UNUSED pol_status pol_distance_f32(const float *a, const float *b, size_t n,
                                            pol_distance *out);

/* Per-tensor distance of a state comparison. */
typedef struct pol_tensor_distance {
    char name[POL_NAME_MAX];
    pol_distance d;
} pol_tensor_distance;

/* 1 for the names of model parameters ("l<i>.W", "l<i>.b"), else 0. */
int pol_is_param_name(const char *name);

/* The groups of a training state's float tensors (spec/checkpoint.md
 * [C-STATE-1]) that tolerant mode compares separately, each against its
 * own threshold (spec/certificate.md [V-TOL-3], spec/profiling.md
 * [P-OBS-1]): the parameters, and the optimizer state by name suffix. A
 * group's name is how profiles and ProfileReports spell it. */
typedef enum pol_state_group {
    POL_GROUP_PARAMS = 0, /* ""    l<i>.W, l<i>.b (zero: the parameters) */
    POL_GROUP_M = 1,      /* "m"   AdamW first moments  <param>.m */
    POL_GROUP_V = 2,      /* "v"   AdamW second moments <param>.v */
    POL_GROUP_BUF = 3,    /* "buf" SGD momentum buffers <param>.buf */
} pol_state_group;
#define POL_GROUP_COUNT 4

/* "", "m", "v", "buf"; NULL for an unknown group. */
const char *pol_group_name(pol_state_group g);
/* The group of a name ("", "m", "v", "buf", exactly), or -1. */
int pol_group_from_name(const char *name);
/* Words for a group in messages: "parameters", "m (AdamW first moments)",
 * ...; "?" for an unknown one. */
const char *pol_group_label(pol_state_group g);

/* Predicates for pol_state_distance's `include` filter: 1 for "<param>.m",
 * "<param>.v", "<param>.buf" where <param> is a parameter name
 * (pol_is_param_name), else 0. */
int pol_is_m_name(const char *name);
int pol_is_v_name(const char *name);
int pol_is_buf_name(const char *name);
/* The predicate of group g (pol_is_param_name for POL_GROUP_PARAMS), NULL
 * for an unknown group. */
int (*pol_group_filter(pol_state_group g))(const char *name);
/* The group of a state tensor name, or -1 for a name of no group (the
 * counters). */
int pol_state_group_of(const char *name);

/* Compares two states given as tensor lists (any order; matched by name).
 * Both must hold the same names with the same dtypes and shapes. Every F32
 * tensor gets a per-tensor distance; non-float tensors (the step and data
 * counters) must be bitwise equal. The aggregate treats the F32 tensors
 * accepted by `include` (NULL: all of them) as one vector, concatenated in
 * name order.
 * Returns: POL_OK; POL_ERR_INVALID_ARG; POL_ERR_MISMATCH (a name missing on
 *          one side, or a non-float tensor that differs, named in the
 *          message); POL_ERR_SHAPE; POL_ERR_FORMAT (a non-finite value);
 *          POL_ERR_NOMEM.
 * Out: agg; per (may be NULL) gets one entry per F32 tensor of b, in name
 *      order, *n_per (may be NULL) their count; per needs room for nb. */
POL_WARN_UNUSED pol_status pol_state_distance(const pol_tensor *const *a, size_t na,
                                              const pol_tensor *const *b, size_t nb,
                                              int (*include)(const char *name),
                                              pol_distance *agg, pol_tensor_distance *per,
                                              size_t *n_per);

/* pol_state_distance for every group at once, in one pass: the same checks
 * (names, dtypes, shapes, equal non-float tensors, finite values in every
 * F32 tensor), with agg[g] the aggregate over the F32 tensors of group g
 * (pol_state_group_of; a float tensor of no group is checked but in no
 * aggregate) and bit g of *present set when group g has at least one
 * tensor. Returns: as pol_state_distance. Out: agg (zeroed on failure),
 * *present (0 on failure). */
POL_WARN_UNUSED pol_status pol_state_distance_groups(const pol_tensor *const *a, size_t na,
                                                     const pol_tensor *const *b, size_t nb,
                                                     pol_distance agg[POL_GROUP_COUNT],
                                                     unsigned *present);

#ifdef __cplusplus
}
#endif
#endif /* POL_DISTANCE_H */
