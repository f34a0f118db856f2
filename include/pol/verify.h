/* libpol — verifying a certificate by re-running sampled intervals
 * (spec/certificate.md, "Verification").
 *
 * The verifier trusts nothing the solver says except what it re-derives:
 * the initial state from the task's seed, and each sampled interval's end
 * state by re-running its steps from the checkpoint at its start. In exact
 * mode, states are compared by hash.
 *
 * Which intervals: `samples` drawn without replacement from a beacon the
 * solver could not know when it committed (seeded by SHA-256(beacon ||
 * certificate id)), plus the `top_q` intervals with the largest declared
 * updates. In tolerant mode (spec/certificate.md section 5) the re-run end
 * state is instead compared with the committed checkpoint by a distance
 * (pol/distance.h) against a profiled threshold for the interval's length. Checkpoints come from a content-addressed store: a directory of
 * files named <state hash hex>.safetensors, each verified on read.
 */
#ifndef POL_VERIFY_H
#define POL_VERIFY_H

#include "pol/cert.h"
#include "pol/context.h"
#include "pol/distance.h"
#include "pol/task.h"
#include "pol/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POL_VERIFY_MAX_PICKS 4096

/* pol_verify_opts.samples: every interval (at most POL_VERIFY_MAX_PICKS). */
#define POL_VERIFY_ALL UINT32_MAX

/* A tolerant-mode threshold: the largest distance accepted between the
 * re-run and the committed state of an interval of interval_len steps,
 * over the tensors of one state group (spec/profiling.md [P-RULE-1],
 * spec/certificate.md [V-TOL-3]). group 0 (POL_GROUP_PARAMS) is the
 * parameters, so an initialiser { len, value } means the parameters. */
typedef struct pol_threshold {
    uint64_t interval_len;
    double value;
    pol_state_group group; /* POL_GROUP_PARAMS (0), _M, _V or _BUF */
} pol_threshold;

/* The threshold of group `group` for an interval of len steps: among the
 * entries of that group, the one for exactly len, else the one with the
 * smallest interval_len above len (distances grow with length, so this
 * errs towards accepting).
 * Returns: POL_OK; POL_ERR_INVALID_ARG (NULL out, or t NULL with n > 0);
 * POL_ERR_NOT_FOUND (no entry of the group >= len; the message says
 * whether the group has no entry at all). */
POL_WARN_UNUSED pol_status pol_threshold_for(const pol_threshold *t, size_t n,
                                             pol_state_group group, uint64_t len, double *out);

typedef struct pol_verify_opts {
    const char *task_path;  /* the task file; its SHA-256 must be the cert's task id */
    const char *store_dir;  /* content-addressed checkpoint store (may be NULL with replay) */
    pol_digest cert_id;     /* id of the certificate envelope (binds the sample) */
    uint8_t beacon[32];     /* randomness the solver could not predict */
    uint32_t samples;       /* random intervals to re-run (POL_VERIFY_ALL: every one) */
    uint32_t top_q;         /* plus this many largest-update intervals */
    int replay;             /* exact mode, no parent: re-run the whole run from the task's
                               initial state and compare every checkpoint's state hash in
                               order, reading no store file (for a solver that withholds its
                               checkpoints; costs the whole training); needs
                               samples == POL_VERIFY_ALL, so that the report lists every
                               interval ([V-VER-7]) */
    /* a certificate with has_parent only (ignored otherwise): */
    const pol_cert *parent; /* its parent certificate, as pol_cert_load read it */
    pol_digest parent_id;   /* the parent's envelope id (pol_cert_load's *id) */
    /* tolerant mode only (ignored for exact certificates): */
    pol_metric metric;      /* 0 means POL_METRIC_L2_REL; POL_METRIC_COSINE is refused
                               (scale-invariant: it cannot see a rescaled state) */
    const pol_threshold *thresholds; /* per state group and interval length, e.g. from a
                                        profile: every group the task's state holds needs
                                        its own */
    size_t n_thresholds;
} pol_verify_opts;

typedef struct pol_verify_result {
    int accept;                 /* 1: every check passed */
    int init_checked;           /* the initial state was re-derived and matched */
    int64_t parent_checkpoint;  /* has_parent: the index, in the parent certificate, of the
                                 * checkpoint the run starts from; -1 otherwise */
    size_t n_intervals;         /* intervals in the certificate */
    size_t n_picked;
    uint32_t picked[POL_VERIFY_MAX_PICKS]; /* interval indices re-run, ascending */
    int64_t failed_interval;    /* -1, or the first interval whose end state differs */
    pol_digest expected, got;   /* evidence for failed_interval */
    int tolerant;               /* compared by distance (tolerant mode) */
    pol_metric metric;          /* tolerant: the metric compared */
    double distance[POL_VERIFY_MAX_PICKS];  /* tolerant: per picked interval, the measured */
    double threshold[POL_VERIFY_MAX_PICKS]; /* distance and its threshold (0 if not run):
                                             * those of the group that rejected the
                                             * interval, else the parameters' */
    int rejected_group;         /* tolerant: the pol_state_group of failed_interval's
                                 * distance reject, else -1 */
    double group_ratio[POL_GROUP_COUNT]; /* tolerant: per state group, the largest
                                 * distance / threshold over the intervals compared
                                 * (0 for a group the state lacks) */
    char reason[256];           /* why it was rejected, human readable */
    uint64_t steps_rerun;
    double cost_fraction;       /* steps_rerun / certificate steps */
    double detect_p[3];         /* P(catch) if 1%, 10%, 50% of intervals were falsified */
} pol_verify_result;

/* The sample: which intervals a verifier with this beacon re-runs (without
 * running anything). out has room for POL_VERIFY_MAX_PICKS indices.
 * Returns: POL_OK; POL_ERR_INVALID_ARG. */
POL_WARN_UNUSED pol_status pol_verify_pick(const pol_cert *c, const pol_verify_opts *o,
                                           uint32_t *out, size_t *n_out);

/* Probability that `samples` uniformly drawn distinct intervals out of n
 * include at least one of the ceil(fraction * n) falsified ones. */
double pol_detect_probability(size_t n, double fraction, size_t samples);

/* The fewest samples s <= n with pol_detect_probability(n, fraction, s) >= p
 * (n when none reaches p). */
size_t pol_samples_for(size_t n, double fraction, double p);

/* Verifies a certificate (already checked for signature by the caller):
 * task binding, internal consistency, initial state, then the picked
 * intervals. The initial state of a certificate without a parent is
 * re-derived from the task; that of a continued run (has_parent) must be a
 * checkpoint, at the same step, of o->parent, whose id must be parent_id
 * (spec/certificate.md [V-VER-2]; the parent is verified on its own).
 * A rejection is not an error: it returns POL_OK with
 * res->accept == 0 and the evidence. Errors (POL_ERR_*) mean the
 * verification could not be carried out (missing checkpoint, bad task...);
 * res->accept is then 0. A store file that is there but is no checkpoint of
 * the task (another state, unparsable, an unsupported dtype) rejects.
 * Tolerant mode needs o->thresholds; an interval is rejected when, for
 * any state group (pol_state_group: the parameters, then the optimizer's
 * m, v or buf tensors), the distance between the re-run end state and the
 * committed end checkpoint over that group's tensors exceeds the group's
 * threshold for its length, or when a non-float tensor (the counters)
 * differs. The reason names the group; distance[] and threshold[] carry
 * the rejecting group's values, else the parameters'. Every group of the
 * task's state needs a threshold for every picked interval's length,
 * checked before any interval is re-run.
 * With o->replay, no checkpoint is loaded: the run is re-trained from the
 * initial state and the first checkpoint whose state hash differs rejects
 * its interval, with the same evidence as a sampled re-run of it.
 * Returns: POL_OK; errors of the loaders; POL_ERR_NOT_FOUND (a checkpoint
 * the sample needs is not in the store, or no threshold of a group the
 * state holds for an interval length: a profile made before optimizer-state
 * thresholds existed has none for m, v or buf and must be re-made);
 * POL_ERR_INVALID_ARG (tolerant certificate without thresholds; metric
 * cosine or unknown; samples and top_q both 0, which would re-run nothing;
 * a certificate with a parent but no o->parent; replay with a tolerant or
 * continued certificate, or with samples other than POL_VERIFY_ALL);
 * POL_ERR_MISMATCH
 * (o->parent is not the certificate's parent). */
POL_WARN_UNUSED pol_status pol_verify(pol_ctx *ctx, const pol_cert *c, const pol_verify_opts *o,
                                      pol_verify_result *res);

/* The report a verifier signs for a verification (pol/wire.h): the
 * verdict, every picked interval with why it was picked (beacon or top-Q)
 * and its result, the failing interval's evidence, the cost fraction and
 * detection probabilities, the beacon, and the reason of a reject
 * (non-printable bytes replaced by '?').
 * Returns: POL_OK; POL_ERR_NOMEM; errors of pol_verify_pick.
 * Out: *out (free with pol_report_free); zeroed on failure.
 * In:  c, cert_id: the certificate verified and its envelope id; o, r: the
 *      options and result of pol_verify; verifier_key: the signer's key. */
POL_WARN_UNUSED pol_status pol_report_from_verify(const pol_cert *c, const pol_digest *cert_id,
                                                  const pol_verify_opts *o,
                                                  const pol_verify_result *r,
                                                  const uint8_t verifier_key[32], pol_report *out);

/* Copies every checkpoint of a run directory into a content-addressed store
 * (hard link when possible), named by state hash; files already there must
 * hold the same state. */
POL_WARN_UNUSED pol_status pol_store_put_run(const char *run_dir, const char *store_dir);

#ifdef __cplusplus
}
#endif
#endif /* POL_VERIFY_H */
