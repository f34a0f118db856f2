/* libpol — training tasks: what to train, on what, how (spec/task.md).
 *
 * A task is a JSON document. Its id is the SHA-256 of its exact bytes, so a
 * task is never re-serialised: the bytes that were hashed are the task.
 * Parsing is strict: unknown keys, wrong types and out-of-range values are
 * errors, so a typo cannot silently change the training.
 */
#ifndef POL_TASK_H
#define POL_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "pol/hash.h"
#include "pol/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POL_TASK_MAX_BYTES (1u << 20)   /* a task file larger than 1 MiB is refused */
#define POL_MLP_MAX_LAYERS 1024         /* linear layers */
#define POL_MLP_MAX_WIDTH 65536
#define POL_PATH_MAX 1024

typedef enum pol_activation { POL_ACT_RELU = 1, POL_ACT_GELU = 2 } pol_activation;
typedef enum pol_optimizer { POL_OPTIM_SGD = 1, POL_OPTIM_ADAMW = 2 } pol_optimizer;
typedef enum pol_schedule { POL_SCHED_CONSTANT = 1, POL_SCHED_WARMUP_COSINE = 2 } pol_schedule;
typedef enum pol_mode { POL_MODE_EXACT = 1, POL_MODE_TOLERANT = 2 } pol_mode;

/* The math of a tolerant task's GEMMs when they run on cuBLAS (spec/task.md
 * [T-KEY-4], pol/cuda.h "tolerant"). FP32 is 0, so a zeroed task has it. */
typedef enum pol_gpu_math {
    POL_GPU_MATH_FP32 = 0, /* "fp32": binary32 products and sums (the default) */
    POL_GPU_MATH_TF32 = 1, /* "tf32": TF32 tensor cores, binary32 accumulation */
    POL_GPU_MATH_BF16 = 2, /* "bf16": bfloat16 tensor cores, binary32 accumulation */
} pol_gpu_math;

typedef struct pol_task {
    /* model: an MLP; sizes[0] inputs, sizes[n_layers] classes */
    int n_layers;
    int64_t sizes[POL_MLP_MAX_LAYERS + 1];
    pol_activation activation;
    /* dataset: path resolved against the task file's directory */
    char dataset_path[POL_PATH_MAX];
    pol_digest dataset_sha256;
    /* run */
    uint64_t seed;
    uint64_t steps;
    int64_t batch;
    uint64_t checkpoint_every;
    pol_mode mode;
    pol_gpu_math gpu_math; /* tolerant tasks only; POL_GPU_MATH_FP32 when absent */
    /* optimizer; hyper-parameters as binary32 (spec A-HOST-2) */
    pol_optimizer optimizer;
    float lr, beta1, beta2, eps, weight_decay; /* sgd: beta1 is the momentum */
    pol_schedule schedule;
    uint64_t warmup_steps;
    float min_lr;
    /* identity */
    pol_digest id; /* SHA-256 of the task file's bytes */
} pol_task;

/* Parses a task from its bytes. base_dir (may be NULL: ".") resolves a
 * relative dataset path. The id is computed over exactly buf[0..len).
 * Returns: POL_OK; POL_ERR_FORMAT (not JSON, missing or unknown key, wrong
 *          type, bad value) with the offending key in the message;
 *          POL_ERR_TOO_LARGE. Out: *task, zeroed on failure. */
POL_WARN_UNUSED pol_status pol_task_parse(const uint8_t *buf, size_t len, const char *base_dir,
                                          pol_task *task);

/* Reads and parses a task file (at most POL_TASK_MAX_BYTES). */
POL_WARN_UNUSED pol_status pol_task_load(const char *path, pol_task *task);

/* The task-file spelling of m ("fp32", "tf32", "bf16"); NULL for a value
 * that is not a pol_gpu_math. */
const char *pol_gpu_math_name(pol_gpu_math m);

/* The learning rate at 0-based step `step` (spec A-SCHED). */
float pol_task_lr(const pol_task *task, uint64_t step);

#ifdef __cplusplus
}
#endif
#endif /* POL_TASK_H */
