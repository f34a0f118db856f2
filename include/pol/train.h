/* libpol — the training loop, checkpoints and runs (spec/checkpoint.md).
 *
 * A trainer holds the full training state of a task: parameters, optimizer
 * moments, and three counters stored as U64 tensors of shape (1):
 *   counters.step         steps done so far
 *   counters.data_epoch   epoch of the next batch
 *   counters.data_cursor  position of the next batch in that epoch's permutation
 * The state hash (pol_state_hash) covers exactly these tensors, so a state is
 * everything the next step depends on: pol_trainer_step is a pure function
 * of (state, task, dataset), bit for bit, for any thread count.
 */
#ifndef POL_TRAIN_H
#define POL_TRAIN_H

#include "pol/context.h"
#include "pol/dataset.h"
#include "pol/model.h"
#include "pol/task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pol_trainer pol_trainer;

/* Builds the step graph and the initial state (step 0) from the task's seed.
 * task, ds and ctx must outlive the trainer. On a context with a CUDA device
 * it sets the device's tolerant GEMM math to the task's gpu_math
 * (pol_cuda_set_math; spec/task.md [T-KEY-4]), and every pol_trainer_step
 * sets it again; it matters where the kernels are POL_KERNELS_BLAS.
 * Returns: POL_OK; POL_ERR_UNSUPPORTED (an exact-mode task on a context with
 *          POL_KERNELS_BLAS); POL_ERR_INVALID_ARG (task->gpu_math is not a
 *          pol_gpu_math); POL_ERR_SHAPE (dataset does not fit the model, or has
 *          fewer samples than one batch); POL_ERR_NOMEM; ...
 * Out: *tr, NULL on failure. */
POL_WARN_UNUSED pol_status pol_trainer_create(pol_trainer **tr, pol_ctx *ctx, const pol_task *task,
                                              const pol_dataset *ds);
void pol_trainer_destroy(pol_trainer *tr);

/* Runs one training step. Out: *loss (may be NULL), the batch's mean loss. */
POL_WARN_UNUSED pol_status pol_trainer_step(pol_trainer *tr, float *loss);

/* A hook that pol_trainer_step calls on a CPU context: with node == -1 once
 * the step's INPUT tensors are loaded, then after each node is evaluated.
 * Before the commit, so every tensor of the graph still holds this step's
 * values. It may read any tensor; test-only cheating parties also change a
 * node's output there. A status other than POL_OK stops the step, nothing
 * committed. On a device context the step fails with POL_ERR_UNSUPPORTED. */
typedef pol_status (*pol_node_hook)(void *arg, pol_graph *g, int node);

/* Sets (fn != NULL) or clears the trainer's node hook. Without one, steps
 * evaluate the graph as a whole (pol_graph_eval). */
void pol_trainer_set_node_hook(pol_trainer *tr, pol_node_hook fn, void *arg);

/* Steps done so far. */
uint64_t pol_trainer_steps_done(const pol_trainer *tr);

/* Room pol_trainer_state needs: every STATE tensor (at most 6 per layer:
 * W, b and AdamW's two moments of each) plus the three counters; 6147 for
 * the largest model, so callers that run in threads keep such an array on
 * the heap (6147 tensors or pointers are not for a thread's stack). */
#define POL_TRAINER_MAX_STATE (6 * POL_MLP_MAX_LAYERS + 3)

/* The tensors of the current state (host copies, brought up to date on a
 * device run), in no particular order; they stay owned by the trainer and
 * valid until its next step, load or destruction. cap >= POL_TRAINER_MAX_STATE
 * is always enough. Returns: POL_OK; POL_ERR_INVALID_ARG; POL_ERR_CUDA. */
POL_WARN_UNUSED pol_status pol_trainer_state(const pol_trainer *tr, const pol_tensor **out,
                                             int cap, int *n);

/* The state hash of the current state. */
POL_WARN_UNUSED pol_status pol_trainer_state_hash(const pol_trainer *tr, pol_digest *out);

/* The model (graph and tensor ids) the trainer runs. */
const pol_model *pol_trainer_model(const pol_trainer *tr);

/* Writes the state as a checkpoint file (safetensors, atomically) with
 * metadata: format, spec_version, task_id, step, state_hash.
 * Returns: POL_OK; POL_ERR_EXISTS (path exists and overwrite == 0); POL_ERR_IO.
 * Out: *hash (may be NULL), the state hash written. */
POL_WARN_UNUSED pol_status pol_trainer_save(const pol_trainer *tr, const char *path, int overwrite,
                                            pol_digest *hash);

/* pol_trainer_save for state tensors the caller holds: ts (n) must be every
 * state tensor of a trainer of task `task_id` at counters.step == step, for
 * instance copies of what pol_trainer_state gave (a snapshot written while
 * training goes on). The state hash runs on pool's threads, or on the calling
 * thread when pool is NULL; the file is byte for byte what pol_trainer_save
 * writes for that state. Returns: as pol_trainer_save, plus
 * POL_ERR_INVALID_ARG; POL_ERR_NOMEM. Out: *hash (may be NULL). */
POL_WARN_UNUSED pol_status pol_state_save(const pol_tensor *const *ts, int n,
                                          const pol_digest *task_id, uint64_t step,
                                          pol_pool *pool, const char *path, int overwrite,
                                          pol_digest *hash);

/* Replaces the state with a checkpoint's. The file must hold exactly the
 * trainer's state tensors with matching shapes; its recomputed state hash
 * must equal its metadata's, and `expect` when non-NULL; its task_id must
 * equal the task's when `expect` is NULL (a state named by its hash is the
 * same state whichever task wrote the file: two tasks with one model and
 * seed share their initial state). On failure the trainer's state is
 * unchanged.
 * Returns: POL_OK; POL_ERR_IO; POL_ERR_FORMAT; POL_ERR_SHAPE;
 *          POL_ERR_HASH_MISMATCH; POL_ERR_MISMATCH (another task). */
POL_WARN_UNUSED pol_status pol_trainer_load(pol_trainer *tr, const char *path,
                                            const pol_digest *expect);

/* Sets the INPUT tensors of the step that starts at counters (step, epoch,
 * cursor) (spec/checkpoint.md C-STEP-1): in.x and in.y from the training
 * samples perm[cursor], ..., perm[cursor + B - 1], where perm is the epoch's
 * permutation pol_permutation(seed, epoch, N) (the caller computes and may
 * cache it), and in.hyper = [lr, bc1, bc2, 0] of `step`. The trainer and
 * the dispute referee both use it, so they cannot disagree on a step's inputs.
 * Returns: POL_OK; POL_ERR_FORMAT (the cursor leaves no room for a batch). */
POL_WARN_UNUSED pol_status pol_step_inputs(const pol_task *t, const pol_dataset *ds,
                                           const uint32_t *perm, uint64_t cursor, uint64_t step,
                                           const pol_model *m);

/* Classification accuracy of the current parameters on n samples (x is
 * (n, D), y has n labels). Uses the exact kernels. */
POL_WARN_UNUSED pol_status pol_trainer_accuracy(pol_trainer *tr, const pol_tensor *x,
                                                const pol_tensor *y, double *acc);

/* ------------------------------------------------------------- runs -- *
 * A run directory holds checkpoints ckpt-<step, 8 digits>.safetensors and
 * trace.json, the list of (step, state hash, file) of every checkpoint, both
 * written atomically. Checkpoints are taken at step 0, every k steps and at
 * the last step. */

/* trace.json of a run directory, read strictly (spec/checkpoint.md C-TRACE-4). */
typedef struct pol_trace_entry {
    uint64_t step;
    pol_digest hash;
    char file[64];
    int has_norm;       /* every entry but a run's first one */
    double update_norm; /* L2 norm of the parameter change since the previous entry */
} pol_trace_entry;

typedef struct pol_trace {
    pol_digest task_id;
    pol_trace_entry *e; /* (n) in increasing step order */
    size_t n, cap;
} pol_trace;

/* Reads dir/trace.json. Returns: POL_OK; POL_ERR_NOT_FOUND; POL_ERR_IO;
 * POL_ERR_FORMAT; POL_ERR_TOO_LARGE; POL_ERR_NOMEM. Out: *t (free with
 * pol_trace_free), zeroed on failure. */
POL_WARN_UNUSED pol_status pol_trace_load(const char *dir, pol_trace *t);
void pol_trace_free(pol_trace *t);

typedef void (*pol_progress_fn)(void *arg, uint64_t step, uint64_t total, float loss);

typedef struct pol_run_opts {
    const char *task_path;  /* required */
    const char *out_dir;    /* required; created if missing */
    int resume;             /* continue from the last checkpoint in out_dir's trace */
    const char *from;       /* or: start from this checkpoint file (out_dir must be new) */
    pol_progress_fn progress; /* called after each step; may be NULL */
    void *progress_arg;
    /* 0 (default): checkpoints after the first are written by a background
     * thread from a copy of the state, while training goes on (one host copy
     * of the state more); nonzero: on the training thread, which waits for
     * each write. The files and trace.json are the same either way
     * (spec/checkpoint.md C-WHEN-3). */
    int sync_checkpoints;
} pol_run_opts;

typedef struct pol_run_result {
    pol_digest final_state_hash;
    uint64_t steps;          /* total steps of the task */
    uint64_t steps_run;      /* steps executed by this call */
    uint64_t checkpoints;    /* entries in the trace */
    float final_loss;        /* loss of the last step run (NaN if none) */
    double test_accuracy;    /* on the dataset's test split; -1 without one */
    double seconds;          /* wall time of the steps and checkpoints */
    double checkpoint_seconds; /* of which the training loop spent on checkpoints:
                                  writing them (sync_checkpoints), or copying the
                                  state and waiting for the writer */
    double checkpoint_write_seconds; /* time spent writing checkpoints (hash, file,
                                        fsync, trace.json), in the background or not */
} pol_run_result;

/* Trains a task into a run directory (see above).
 * Returns: POL_OK; POL_ERR_EXISTS (out_dir already holds a run and neither
 *          resume nor a fresh directory was asked); POL_ERR_MISMATCH (the
 *          trace is for another task, or a checkpoint disagrees with the
 *          trace); every error of the task, dataset and checkpoint loaders.
 * Nothing already in out_dir is overwritten on any path. */
POL_WARN_UNUSED pol_status pol_run_train(pol_ctx *ctx, const pol_run_opts *opts,
                                         pol_run_result *res);

#ifdef __cplusplus
}
#endif
#endif /* POL_TRAIN_H */
