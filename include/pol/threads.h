/* libpol — a small fixed-size thread pool.
 *
 * Kernels split their work into independent tasks (disjoint sets of output
 * elements) and hand them to pol_pool_run. Because a task never shares an
 * output with another, the bits of every result are the same for any thread
 * count; threads change speed, never values.
 */
#ifndef POL_THREADS_H
#define POL_THREADS_H

#include "pol/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pol_pool pol_pool;

/* Called once per task index in [0, ntasks), from some pool thread. */
typedef void (*pol_task_fn)(void *arg, int task);

/* Creates a pool that runs tasks on `nthreads` threads (the caller counts as
 * one; nthreads - 1 workers are started). 1 <= nthreads <= 256.
 * Returns: POL_OK, POL_ERR_INVALID_ARG, POL_ERR_NOMEM.
 * Out: *pool, NULL on failure. */
POL_WARN_UNUSED pol_status pol_pool_create(pol_pool **pool, int nthreads);

/* Joins the workers and frees the pool. NULL is a no-op. */
void pol_pool_destroy(pol_pool *pool);

/* Number of threads, >= 1. A NULL pool counts as 1. */
int pol_pool_threads(const pol_pool *pool);

/* Runs fn(arg, t) for t = 0..ntasks-1 and returns when all are done.
 * A NULL pool runs them in order on the calling thread. Not reentrant:
 * a task must not call pol_pool_run on the same pool. */
void pol_pool_run(pol_pool *pool, int ntasks, pol_task_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* POL_THREADS_H */
