/* The referee's dispute worker (spec/referee.md, "Disputes"): one thread,
 * its own ledger handle, two remote parties whose transport is the net
 * client wrapped in the dispute journal. Every exchange is journaled before
 * its answer is used; an exchange already in the journal is served from it
 * without asking again [R-DSP-3], so a restarted referee replays the same
 * dispute to the same end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pol/graph.h"
#include "pol/ledger.h"
#include "pol/net.h"
#include "pol/pinwire.h"
#include "pol/roles.h"
#include "pol/wire.h"
#include "referee_int.h"

uint64_t ref_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t ref_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000u, (long)(ms % 1000u) * 1000000L };
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------ journaled transport -- */

typedef struct jtrans {
    pol_ledger *l;
    const pol_digest *dispute;
    uint32_t party;            /* POL_PARTY_SOLVER or POL_PARTY_CHALLENGER */
    const char *addr;          /* "" when the party has no endpoint */
    const uint8_t *key;        /* the party's key: it signs its responses */
    const pol_keypair *kp;     /* the referee's: it signs the requests */
    atomic_int *cancel;
    pol_net_conn *conn;
    int conn_timeout;
    uint64_t seq;              /* exchanges so far */
    uint64_t clock_ms, spent_ms, answer_ms;
    uint64_t req_id;
    pol_status fatal;          /* the referee itself failed (journal write, mismatch) */
    int cancelled;
    uint64_t asked, replayed;
    char why[256];             /* the last live failure, for the log */
} jtrans;

static void put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Connects (again when the wanted deadline changed), within timeout_ms. */
static pol_status jt_conn(jtrans *t, int timeout_ms)
{
    if (t->conn && t->conn_timeout == timeout_ms)
        return POL_OK;
    pol_net_close(t->conn);
    t->conn = NULL;
    pol_status st = pol_net_connect(t->addr, timeout_ms, 0, t->key, &t->conn);
    if (st == POL_OK)
        t->conn_timeout = timeout_ms;
    return st;
}

/* One live exchange within timeout_ms; retries a refused or broken
 * connection, and a busy server's answer [N-SERVE-7], until the deadline,
 * so a party that restarts or is flooded is not lost for that alone. */
static pol_status jt_live(jtrans *t, int op, const uint8_t *q, size_t qlen, int timeout_ms,
                          uint8_t **a, size_t *alen)
{
    const uint64_t end = ref_mono_ms() + (uint64_t)timeout_ms;
    pol_status st = POL_ERR_NETWORK;
    for (;;) {
        const uint64_t now = ref_mono_ms();
        if (now >= end)
            return st == POL_ERR_NETWORK ? pol_errorf(POL_ERR_TIMEOUT, "%s", t->why) : st;
        const int left = (int)(end - now);
        if (!t->addr[0]) {
            snprintf(t->why, sizeof t->why, "the party has no endpoint");
            return pol_errorf(POL_ERR_NETWORK, "%s", t->why);
        }
        st = jt_conn(t, left);
        if (st == POL_OK) {
            if (op == POL_REFEREE_JNL_FETCH) {
                pol_digest h;
                memcpy(h.b, q, 32);
                size_t cap = POL_PINWIRE_MAX_BLOB;
                if (cap > POL_LEDGER_MAX_JOURNAL - 16)
                    cap = POL_LEDGER_MAX_JOURNAL - 16;
                st = pol_net_fetch_blob(t->conn, t->kp, &h, cap, a, alen);
            } else {
                pol_net_request req = { 0 };
                req.id = ++t->req_id;
                req.time_ms = ref_wall_ms();
                req.kind = POL_NET_PIN;
                req.data = (uint8_t *)q;
                req.data_len = qlen;
                pol_net_response resp;
                uint8_t signer[POL_PUBKEY_LEN];
                st = pol_net_call(t->conn, t->kp, &req, &resp, signer);
                if (st == POL_OK && resp.status == POL_ERR_NETWORK) /* busy [N-SERVE-7] */
                    st = pol_errorf(POL_ERR_NETWORK, "the party is busy: %s", resp.error);
                else if (st == POL_OK && resp.status != 0)
                    st = pol_errorf(POL_ERR_MISMATCH, "the party refused: %s (%s)",
                                    pol_strerror((pol_status)resp.status), resp.error);
                if (st == POL_OK) {
                    *a = resp.data;
                    *alen = resp.data_len;
                    resp.data = NULL;
                    resp.data_len = 0;
                }
                pol_net_response_free(&resp);
            }
        }
        if (st == POL_OK)
            return POL_OK;
        snprintf(t->why, sizeof t->why, "%s: %s", pol_strerror(st), pol_last_error());
        pol_net_close(t->conn);
        t->conn = NULL;
        if (st != POL_ERR_NETWORK)
            return st; /* a timeout, or an answer that broke a rule: no retry */
        sleep_ms(50);
    }
}

/* One exchange, journaled [R-JNL-1]: from the journal when it is there,
 * else asked live and stored before it is returned. */
static pol_status jt_exchange(jtrans *t, int op, const uint8_t *q, size_t qlen, uint8_t **a,
                              size_t *alen)
{
    *a = NULL;
    *alen = 0;
    if (t->fatal || t->cancelled)
        return pol_errorf(POL_ERR_INTERNAL, "dispute stopped");
    const uint64_t seq = ++t->seq;
    uint8_t *jq = malloc(qlen + 1);
    if (!jq)
        return t->fatal = pol_errorf(POL_ERR_NOMEM, "journal query");
    jq[0] = (uint8_t)op;
    memcpy(jq + 1, q, qlen);

    uint8_t *sq = NULL, *sa = NULL;
    size_t sql = 0, sal = 0;
    pol_status st = pol_ledger_journal_get(t->l, t->dispute, t->party, seq, &sq, &sql, &sa, &sal);
    if (st == POL_OK) {
        /* Replay: the driver is deterministic, so it asks the same again. */
        const int same = sql == qlen + 1 && memcmp(sq, jq, sql) == 0;
        free(sq);
        free(jq);
        if (!same || sal < 5 || sa[0] > POL_REFEREE_JNL_NO_ANSWER ||
            (sa[0] == POL_REFEREE_JNL_NO_ANSWER && sal != 5)) {
            free(sa);
            return t->fatal = pol_errorf(POL_ERR_MISMATCH, "journal: party %u exchange %llu "
                                         "differs from the stored one", t->party,
                                         (unsigned long long)seq);
        }
        t->replayed++;
        t->spent_ms += get_u32le(sa + 1);
        if (sa[0] == POL_REFEREE_JNL_NO_ANSWER) {
            free(sa);
            return pol_errorf(POL_ERR_TIMEOUT, "party %u: no answer (journal)", t->party);
        }
        *alen = sal - 5;
        *a = malloc(*alen ? *alen : 1);
        if (!*a) {
            free(sa);
            return t->fatal = pol_errorf(POL_ERR_NOMEM, "journal answer");
        }
        memcpy(*a, sa + 5, *alen);
        free(sa);
        return POL_OK;
    }
    if (st != POL_ERR_NOT_FOUND) {
        free(jq);
        return t->fatal = st;
    }
    if (atomic_load(t->cancel)) {
        /* Shutting down: nothing is journaled, the restart asks again. */
        free(jq);
        t->cancelled = 1;
        return pol_errorf(POL_ERR_INTERNAL, "dispute cancelled");
    }

    /* Live: within the answer timeout and what is left of the party's clock. */
    uint8_t *ans = NULL;
    size_t alen_live = 0;
    uint64_t elapsed = 0;
    pol_status live = POL_ERR_TIMEOUT;
    if (t->spent_ms < t->clock_ms) {
        uint64_t left = t->clock_ms - t->spent_ms;
        /* the challenger of a transition dispute replays the solver's run
         * to name an interval: that one answer may take its whole clock
         * [R-DSP-6] */
        pol_pin_query pq;
        const uint64_t cap = op == POL_REFEREE_JNL_CALL && !pol_pin_query_decode(q, qlen, &pq) &&
                                     pq.kind == POL_PINQ_NAME_INTERVAL
                                 ? left
                                 : t->answer_ms;
        int timeout = (int)(left < cap ? left : cap);
        const uint64_t t0 = ref_mono_ms();
        t->asked++;
        live = jt_live(t, op, q, qlen, timeout, &ans, &alen_live);
        elapsed = ref_mono_ms() - t0;
        if (elapsed > UINT32_MAX)
            elapsed = UINT32_MAX;
    } else {
        snprintf(t->why, sizeof t->why, "the party's clock ran out");
    }
    if (live != POL_OK) {
        free(ans);
        ans = NULL;
        alen_live = 0;
    }
    uint8_t *ja = malloc(5 + alen_live);
    if (!ja) {
        free(jq);
        free(ans);
        return t->fatal = pol_errorf(POL_ERR_NOMEM, "journal answer");
    }
    ja[0] = live == POL_OK ? POL_REFEREE_JNL_ANSWERED : POL_REFEREE_JNL_NO_ANSWER;
    put_u32le(ja + 1, (uint32_t)elapsed);
    if (alen_live)
        memcpy(ja + 5, ans, alen_live);
    st = pol_ledger_journal_put(t->l, t->dispute, t->party, seq, jq, qlen + 1, ja, 5 + alen_live);
    free(jq);
    free(ja);
    if (st != POL_OK) {
        free(ans);
        return t->fatal = st;
    }
    t->spent_ms += elapsed;
    if (live != POL_OK)
        return pol_errorf(POL_ERR_TIMEOUT, "party %u: no answer: %s", t->party, t->why);
    *a = ans;
    *alen = alen_live;
    return POL_OK;
}

static pol_status jt_call(void *io, const uint8_t *q, size_t qlen, uint8_t **a, size_t *alen)
{
    return jt_exchange(io, POL_REFEREE_JNL_CALL, q, qlen, a, alen);
}

static pol_status jt_fetch(void *io, const pol_digest *h, uint8_t **blob, size_t *blen)
{
    return jt_exchange(io, POL_REFEREE_JNL_FETCH, h->b, sizeof h->b, blob, blen);
}

/* ------------------------------------------------------------- worker -- */

static void job_free(ref_job *j)
{
    free(j->task_json);
    free(j->profile_env);
    free(j->db_path);
    free(j->data_dir);
    pol_keypair_clear(&j->kp);
    memset(j, 0, sizeof *j);
}

void ref_outcome_free(ref_outcome *o)
{
    if (!o)
        return;
    free(o->env);
    memset(o, 0, sizeof *o);
}

static pol_status seal_ruling(const ref_job *j, const pol_dispute_result *res,
                              const pol_digest *transcript, uint8_t **env, size_t *len)
{
    pol_game_action a;
    memset(&a, 0, sizeof a);
    a.game_id = j->game_id;
    a.nonce = j->nonce;
    a.kind = POL_GAME_RULING;
    a.task_id = j->task_id;
    a.loser = res->loser == POL_PARTY_SOLVER ? POL_GAME_LOSER_SOLVER : POL_GAME_LOSER_CHALLENGER;
    a.reason = (uint32_t)res->reason;
    a.pin_kind = (uint32_t)res->kind;
    a.interval = res->interval;
    a.step = res->step;
    a.node = res->node;
    a.transcript = *transcript;
    return pol_game_action_seal(&a, &j->kp, env, len);
}

/* The referee's tolerance for a tolerant-mode task [R-DSP-6]: the per-op
 * thresholds of the task's profile (pol_role_profile_tolerance). */
static pol_status tolerance_of(const ref_job *j, const pol_task *task, pol_pin_tolerance *tol)
{
    return pol_role_profile_tolerance(j->profile_env, j->profile_env_len, &task->id, tol);
}

/* The whole dispute; fills o. */
static void run_job(ref_worker *w, ref_outcome *o)
{
    ref_job *j = &w->job;
    pol_ledger *l = NULL;
    pol_task task;
    pol_dataset ds;
    memset(&ds, 0, sizeof ds);
    pol_pin_remote *rs = NULL, *rc = NULL;
    jtrans ts, tc;
    memset(&ts, 0, sizeof ts);
    memset(&tc, 0, sizeof tc);
    pol_status st;

    if ((st = pol_ledger_open(j->db_path, NULL, 0, &l))) {
        snprintf(o->msg, sizeof o->msg, "ledger: %s", pol_last_error());
        goto done;
    }
    if ((st = pol_task_parse(j->task_json, j->task_json_len, j->data_dir, &task))) {
        snprintf(o->msg, sizeof o->msg, "task: %s", pol_last_error());
        goto done;
    }
    if ((st = pol_dataset_load(task.dataset_path, &task.dataset_sha256, task.sizes[0],
                               task.sizes[task.n_layers], &ds))) {
        snprintf(o->msg, sizeof o->msg, "dataset %.200s: %.280s", task.dataset_path, pol_last_error());
        goto done;
    }
    jtrans *tt[2] = { &ts, &tc };
    for (int p = 0; p < 2; p++) {
        jtrans *t = tt[p];
        t->l = l;
        t->dispute = &j->dispute_id;
        t->party = (uint32_t)p;
        t->addr = p == 0 ? j->solver_ep : j->challenger_ep;
        t->key = p == 0 ? j->solver : j->challenger;
        t->kp = &j->kp;
        t->cancel = &w->cancel;
        t->clock_ms = j->clock_ms;
        t->answer_ms = j->answer_ms;
    }
    pol_pin_transport trs = { &ts, jt_call, jt_fetch }, trc = { &tc, jt_call, jt_fetch };
    if ((st = pol_pin_remote_create(&rs, &j->dispute_id, &trs)) ||
        (st = pol_pin_remote_create(&rc, &j->dispute_id, &trc))) {
        snprintf(o->msg, sizeof o->msg, "%s", pol_last_error());
        goto done;
    }
    pol_party solver = pol_pin_remote_party(rs, "solver");
    pol_party challenger = pol_pin_remote_party(rc, "challenger");
    pol_dispute_opts opts = { j->arity, &j->cert_root };
    pol_pin_tolerance tol;
    const int tolerant = task.mode == POL_MODE_TOLERANT;
    if (tolerant && (st = tolerance_of(j, &task, &tol))) {
        snprintf(o->msg, sizeof o->msg, "profile: %s", pol_last_error());
        goto done;
    }
    if (tolerant) {
        /* the transition dispute [R-DSP-6]: the solver's states are the
         * reference, so a solver on other kernels is judged node by node */
        pol_party_tol tsolver = pol_pin_remote_party_tol(rs, "solver");
        pol_tol_challenger tch = pol_pin_remote_tol_challenger(rc, "challenger");
        st = pol_dispute_run_transition(&task, &ds, &tsolver, &tch, &opts, &tol, &o->res);
    } else {
        st = pol_dispute_run(&task, &ds, &solver, &challenger, &opts, &o->res);
    }
    o->asked = ts.asked + tc.asked;
    o->replayed = ts.replayed + tc.replayed;
    if (st == POL_OK && (ts.fatal || tc.fatal)) {
        st = ts.fatal ? ts.fatal : tc.fatal;
        snprintf(o->msg, sizeof o->msg, "journal: %s", pol_strerror(st));
        goto done;
    }
    if (st == POL_OK && (ts.cancelled || tc.cancelled || atomic_load(&w->cancel))) {
        st = POL_ERR_INTERNAL;
        snprintf(o->msg, sizeof o->msg, "cancelled");
        goto done;
    }
    if (st != POL_OK) {
        snprintf(o->msg, sizeof o->msg, "dispute: %s", pol_last_error());
        goto done;
    }
    if ((st = pol_ledger_journal_digest(l, &j->dispute_id, &o->transcript, &o->exchanges)) ||
        (st = seal_ruling(j, &o->res, &o->transcript, &o->env, &o->env_len))) {
        snprintf(o->msg, sizeof o->msg, "ruling: %s", pol_last_error());
        goto done;
    }
done:
    o->st = st;
    pol_net_close(ts.conn);
    pol_net_close(tc.conn);
    pol_pin_remote_destroy(rs);
    pol_pin_remote_destroy(rc);
    pol_dataset_free(&ds);
    pol_ledger_close(l);
}

static void *worker_main(void *arg)
{
    ref_worker *w = arg;
    ref_outcome o;
    memset(&o, 0, sizeof o);
    run_job(w, &o);
    pthread_mutex_lock(&w->mu);
    w->out = o;
    w->done = 1;
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

pol_status ref_worker_start(ref_job *job, ref_worker **out)
{
    *out = NULL;
    ref_worker *w = calloc(1, sizeof *w);
    if (!w) {
        job_free(job);
        return pol_errorf(POL_ERR_NOMEM, "referee: worker");
    }
    w->job = *job;
    memset(job, 0, sizeof *job);
    atomic_init(&w->cancel, 0);
    pthread_mutex_init(&w->mu, NULL);
    if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        job_free(&w->job);
        free(w);
        return pol_errorf(POL_ERR_INTERNAL, "referee: pthread_create failed");
    }
    *out = w;
    return POL_OK;
}

int ref_worker_done(ref_worker *w)
{
    pthread_mutex_lock(&w->mu);
    int d = w->done;
    pthread_mutex_unlock(&w->mu);
    return d;
}

void ref_worker_finish(ref_worker *w, ref_outcome *out)
{
    if (!w)
        return;
    atomic_store(&w->cancel, 1);
    pthread_join(w->th, NULL);
    if (out)
        *out = w->out;
    else
        ref_outcome_free(&w->out);
    pthread_mutex_destroy(&w->mu);
    job_free(&w->job);
    free(w);
}
