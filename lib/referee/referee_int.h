/* libpol — referee internals shared by referee.c (main thread) and
 * dispute.c (the dispute worker). Not installed. */
#ifndef POL_REFEREE_INT_H
#define POL_REFEREE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pol/game.h"
#include "pol/pinpoint.h"
#include "pol/referee.h"

/* What the main thread hands the worker: everything copied, so the worker
 * never looks at the game. */
typedef struct ref_job {
    pol_digest dispute_id, task_id, game_id;
    uint8_t solver[POL_PUBKEY_LEN], challenger[POL_PUBKEY_LEN];
    char solver_ep[POL_REFEREE_ENDPOINT_MAX], challenger_ep[POL_REFEREE_ENDPOINT_MAX];
    uint8_t *task_json;
    size_t task_json_len;
    pol_digest cert_root;  /* the disputed certificate's ckpt_root: binds the solver */
    uint8_t *profile_env;  /* tolerant-mode tasks: the ProfileReport envelope (else NULL) */
    size_t profile_env_len;
    uint64_t nonce; /* the referee's next nonce, for the Ruling (sealed again by the main
                       thread when beacons used it up meanwhile) */
    pol_keypair kp;
    char *db_path, *data_dir;
    unsigned answer_ms, clock_ms, arity;
} ref_job;

/* What the worker hands back through the slot. */
typedef struct ref_outcome {
    pol_status st;             /* POL_OK: env holds the sealed Ruling */
    char msg[512];             /* what went wrong, when st != POL_OK */
    uint8_t *env;
    size_t env_len;
    pol_dispute_result res;
    pol_digest transcript;
    uint64_t exchanges;        /* journal rows of the dispute */
    uint64_t asked, replayed;  /* exchanges asked live / served from the journal */
} ref_outcome;

typedef struct ref_worker {
    pthread_t th;
    ref_job job;
    atomic_int cancel;         /* set by the main thread: stop, journal nothing more */
    pthread_mutex_t mu;        /* guards done and out */
    int done;
    ref_outcome out;
} ref_worker;

/* Starts a worker thread on job (taken over: freed by ref_worker_free). */
pol_status ref_worker_start(ref_job *job, ref_worker **out);
/* 1 when the outcome is ready (then join with ref_worker_free). */
int ref_worker_done(ref_worker *w);
/* Cancels (when not done), joins, moves the outcome to *out (may be NULL)
 * and frees the worker. */
void ref_worker_finish(ref_worker *w, ref_outcome *out);
void ref_outcome_free(ref_outcome *o);

uint64_t ref_wall_ms(void);
uint64_t ref_mono_ms(void);

#endif
