#include "pol/threads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Before sleeping on a condition variable, a waiting thread polls for this
 * many rounds (tens of microseconds): a training step issues kernels back to
 * back, and a sleeping thread can take milliseconds to be woken on a busy
 * or virtualised machine. Bits never depend on this; only latency does. */
#define SPIN_ROUNDS 20000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

struct pol_pool {
    int nthreads;
    pthread_t *workers;
    pthread_mutex_t mu;
    pthread_cond_t start;    /* a new job (generation) is posted */
    pthread_cond_t done;     /* the last worker finished the job */
    atomic_ulong generation; /* bumped (under mu) for each new job */
    atomic_int busy;         /* workers still inside the current job */
    int quit;
    /* the current job */
    pol_task_fn fn;
    void *arg;
    int ntasks;
    atomic_int next;
};

/* Each participant takes task indices from a shared counter until none are left. */
static void drain(pol_pool *p)
{
    for (;;) {
        int t = atomic_fetch_add(&p->next, 1);
        if (t >= p->ntasks)
            return;
        p->fn(p->arg, t);
    }
}

static void *worker(void *vp)
{
    pol_pool *p = vp;
    unsigned long seen = 0;
    for (;;) {
        for (int i = 0; i < SPIN_ROUNDS && atomic_load(&p->generation) == seen; i++)
            cpu_relax();
        /* the job's fields are read only after taking mu, which the poster held */
        pthread_mutex_lock(&p->mu);
        while (!p->quit && atomic_load(&p->generation) == seen)
            pthread_cond_wait(&p->start, &p->mu);
        if (p->quit) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        seen = atomic_load(&p->generation);
        pthread_mutex_unlock(&p->mu);
        drain(p);
        if (atomic_fetch_sub(&p->busy, 1) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

pol_status pol_pool_create(pol_pool **out, int nthreads)
{
    if (!out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_pool_create: NULL output");
    *out = NULL;
    if (nthreads < 1 || nthreads > 256)
        return pol_errorf(POL_ERR_INVALID_ARG, "thread count %d not in 1..256", nthreads);
    pol_pool *p = calloc(1, sizeof *p);
    if (!p)
        return pol_errorf(POL_ERR_NOMEM, "thread pool");
    p->nthreads = nthreads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    if (nthreads > 1) {
        p->workers = calloc((size_t)nthreads - 1, sizeof *p->workers);
        if (!p->workers) {
            pol_pool_destroy(p);
            return pol_errorf(POL_ERR_NOMEM, "thread pool");
        }
        for (int i = 0; i < nthreads - 1; i++) {
            if (pthread_create(&p->workers[i], NULL, worker, p) != 0) {
                p->nthreads = i + 1; /* destroy joins only the started ones */
                pol_pool_destroy(p);
                return pol_errorf(POL_ERR_NOMEM, "pthread_create failed for worker %d", i);
            }
        }
    }
    *out = p;
    return POL_OK;
}

void pol_pool_destroy(pol_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    if (p->workers)
        for (int i = 0; i < p->nthreads - 1; i++)
            pthread_join(p->workers[i], NULL);
    free(p->workers);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p);
}

int pol_pool_threads(const pol_pool *p) { return p ? p->nthreads : 1; }

void pol_pool_run(pol_pool *p, int ntasks, pol_task_fn fn, void *arg)
{
    if (ntasks <= 0)
        return;
    if (!p || p->nthreads == 1 || ntasks == 1) {
        for (int t = 0; t < ntasks; t++)
            fn(arg, t);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->ntasks = ntasks;
    atomic_store(&p->next, 0);
    atomic_store(&p->busy, p->nthreads - 1);
    atomic_fetch_add(&p->generation, 1);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);

    drain(p);

    for (int i = 0; i < SPIN_ROUNDS && atomic_load(&p->busy) > 0; i++)
        cpu_relax();
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->busy) > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
