/* libpol — profiling tolerant-mode thresholds (spec/profiling.md).
 *
 * Profiling re-runs sample intervals of a finished run from its checkpoints
 * under every source of non-determinism this machine offers (the exact fast
 * kernels, OpenBLAS with 1 thread, OpenBLAS with 2 threads; on a usable
 * CUDA device also the exact CUDA kernels, cuBLAS FP32 and, for a task
 * whose gpu_math is tf32 or bf16, cuBLAS with that math: spec/profiling.md
 * [P-SRC-1], [P-SRC-2]), measures the
 * distances between the resulting end states (and to the run's own
 * committed end states), and the per-op distances of the node outputs of
 * one step run under every pair of configurations. Thresholds follow from
 * the measured maxima by the rule of spec/profiling.md [P-RULE-1].
 */
#ifndef POL_PROFILE_H
#define POL_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "pol/distance.h"
#include "pol/hash.h"
#include "pol/verify.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POL_PROFILE_FACTOR 4.0      /* safety factor on the largest observed distance */
#define POL_PROFILE_FLOOR_REL 0x1p-20 /* floor of relative metrics (l*_rel), ~9.5e-7 */
#define POL_PROFILE_FLOOR_COS 0x1p-40 /* floor of the cosine distance, ~9.1e-13 */
#define POL_PROFILE_MAX_BYTES (16u << 20)
#define POL_PROFILE_MAX_CONFIGS 8   /* room for the configurations of one profile */
#define POL_PROFILE_CONFIG_NAME 32  /* bytes of a configuration's name, NUL included */
#define POL_PROFILE_GPU_TEXT 192    /* bytes of pol_profile.gpu, NUL included */

/* The GPU sources of a profile (spec/profiling.md [P-SRC-2]). */
#define POL_PROFILE_GPU_AUTO 0    /* a usable CUDA device adds them; without one, the CPU alone */
#define POL_PROFILE_GPU_OFF 1     /* the CPU configurations alone */
#define POL_PROFILE_GPU_REQUIRE 2 /* fail, before any work, when no CUDA device is usable */

typedef struct pol_profile_opts {
    const char *task_path; /* a tolerant- or exact-mode task; a gpu_math of tf32
                              or bf16 adds cublas/tf32 or cublas/bf16 and needs
                              the GPU sources: with POL_PROFILE_GPU_OFF it is
                              POL_ERR_INVALID_ARG, and with AUTO it requires a
                              device as REQUIRE does */
    const char *run_dir;   /* its finished run (trace.json and checkpoints) */
    uint32_t samples;      /* intervals re-run; 0 means 8 */
    double factor;         /* 0 means POL_PROFILE_FACTOR */
    int gpu;               /* POL_PROFILE_GPU_AUTO (0, the default), _OFF or _REQUIRE */
} pol_profile_opts;

/* Summary of one set of observations. op is "" for whole intervals (then
 * interval_len > 0, over the tensors of state group `group`), else a node
 * op name with interval_len 0 (one step; group POL_GROUP_PARAMS). */
typedef struct pol_profile_stat {
    char op[32];
    uint64_t interval_len;
    pol_metric metric;
    uint64_t n;
    double min, median, p90, max, mean;
    double threshold;    /* [P-RULE-1] */
    double one_step_min; /* intervals of the parameters, l2_rel only: the smallest
                            distance between an end state and the state one step
                            earlier (0 otherwise) */
    pol_state_group group; /* whole intervals: the state group compared ([P-OBS-1]) */
} pol_profile_stat;

typedef struct pol_profile {
    pol_digest task_id;
    double factor;
    uint32_t intervals_rerun;
    int n_configs;           /* 3 on the CPU alone, 5 or 6 with GPU sources */
    char configs[POL_PROFILE_MAX_CONFIGS][POL_PROFILE_CONFIG_NAME];
                             /* "fast/1", "blas/1", "blas/2", then "cuda/exact",
                                "cublas/fp32", then "cublas/tf32" or
                                "cublas/bf16" when measured */
    size_t n_stats;
    pol_profile_stat *stats; /* intervals (per state group present, the parameters
                                first, then m, v, buf; within a group per length
                                and metric), then ops (l2_rel) */
    size_t n_obs;
    double *obs;             /* every whole-interval l2_rel observation of the
                                parameters (histogram), in
                                the order measured: per re-run interval one block of
                                n_configs * (n_configs + 1) / 2, configs[a] against
                                configs[b] for a = 0 .. n_configs - 1 and, within a,
                                b = a + 1 .. n_configs, where b == n_configs is the
                                run's committed end state */
    char blas_config[128];
    char gpu[POL_PROFILE_GPU_TEXT]; /* the CUDA device measured, "NVIDIA H100 80GB HBM3
                                       (sm_90)", or why none: "off", "built without
                                       CUDA", "no CUDA device: <reason>" */
} pol_profile;

/* Runs the profile. The options are checked, and with POL_PROFILE_GPU_REQUIRE
 * the device looked for, before anything is loaded or run; a task whose
 * gpu_math requires the GPU sources has them checked right after the task
 * is read, before the run and the dataset are.
 * Returns: POL_OK; POL_ERR_INVALID_ARG (a bad gpu value, a tf32 or bf16 task
 * with POL_PROFILE_GPU_OFF); POL_ERR_UNSUPPORTED (GPU sources required,
 * built without CUDA); POL_ERR_CUDA (GPU sources required and no usable
 * device, or the device failed while profiling); errors of the task, dataset, trace
 * and checkpoint loaders; POL_ERR_NOMEM. Out: *p (free with
 * pol_profile_free), all zero on failure. */
POL_WARN_UNUSED pol_status pol_profile_run(const pol_profile_opts *o, pol_profile *p);
void pol_profile_free(pol_profile *p);

/* A text histogram of the l2_rel observations, log10 bins (malloc'd, NUL-terminated). */
char *pol_profile_histogram(const pol_profile *p);

/* Writes the profile as JSON (spec/profiling.md [P-JSON-1]), atomically.
 * Returns: POL_OK; POL_ERR_EXISTS (path exists); POL_ERR_IO; POL_ERR_NOMEM. */
POL_WARN_UNUSED pol_status pol_profile_write_json(const pol_profile *p, const char *path);

/* Reads the whole-interval thresholds of one metric, of every state group,
 * from a profile JSON file made for task_id, in the file's order; an entry
 * without "group" (a profile made before optimizer-state thresholds) is
 * the parameters'. Returns: POL_OK; POL_ERR_FORMAT (also a "group" that is
 * not "", "m", "v" or "buf", or not "" in a per-op entry); POL_ERR_MISMATCH
 * (a profile of another task); POL_ERR_NOT_FOUND (no threshold for the
 * metric); POL_ERR_TOO_LARGE; loader errors. Out: *t (malloc'd), *n. */
POL_WARN_UNUSED pol_status pol_profile_load_thresholds(const char *path, const pol_digest *task_id,
                                                       pol_metric metric, pol_threshold **t,
                                                       size_t *n);

#ifdef __cplusplus
}
#endif
#endif /* POL_PROFILE_H */
