/* The referee's main thread (spec/referee.md): the ledger replayed into a
 * game, requests applied at the referee's clock and appended in one
 * transaction with their projection rows, ticks at deadlines, a beacon
 * after every claim, and the rulings the dispute worker hands back. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "pol/cert.h"
#include "pol/ledger.h"
#include "pol/net.h"
#include "pol/wire.h"
#include "referee_int.h"

struct pol_referee {
    char *db_path, *data_dir;
    unsigned answer_ms, clock_ms, arity;
    pol_referee_endpoint *eps;
    size_t n_eps;
    pol_referee_log_fn log;
    void *log_user;
    int log_events;
    pol_keypair kp;
    uint8_t pub[POL_PUBKEY_LEN];
    pol_ledger *l;
    pol_game *g;
    pol_net_server *srv;
    uint64_t head_seq, head_time;
    /* projection cache: what the rows say now, by account / task index */
    uint64_t *bal;
    size_t n_bal;
    char (*tsum)[64];
    size_t n_tsum;
    uint64_t jackpot;
    /* disputes */
    ref_worker *w;
    pol_digest w_dispute, w_task;
    uint64_t w_round;
    pol_digest *tried;
    size_t n_tried;
    pol_status fatal; /* a ledger write failed: stop */
};

static void POL_PRINTF(2, 3) logf_(pol_referee *r, const char *fmt, ...)
{
    if (!r->log)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->log(r->log_user, line);
}

static void game_log(void *user, const char *line)
{
    pol_referee *r = user;
    if (r->log)
        r->log(r->log_user, line);
}

static void hex8(const uint8_t *p, char out[17])
{
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static char *dupstr(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ----------------------------------------------------------- projection */

static const char *outcome_name(uint32_t o)
{
    static const char *const names[] = { "none", "accepted", "forced", "ruled_solver",
                                         "ruled_challenger", "solve_timeout", "reveal_timeout",
                                         "dispute_timeout" };
    return o < sizeof names / sizeof names[0] ? names[o] : "?";
}

/* Rows for what changed since the cache [R-PROJ-1]: accounts (key ->
 * decimal balance), tasks (id -> "state outcome"), game ("jackpot"). The
 * caller writes them with the event; ref_proj_commit then updates the
 * cache. At most POL_LEDGER_MAX_ROWS rows (the projection is a view: the
 * events are the truth). */
typedef struct proj {
    pol_ledger_row *rows;
    size_t n;
    uint8_t (*keys)[POL_PUBKEY_LEN];
    char (*vals)[64];
    uint64_t *newbal;
    size_t n_acc;
    char (*newt)[64];
    size_t n_task;
    uint64_t jackpot;
} proj;

static void proj_free(proj *p)
{
    free(p->rows);
    free(p->keys);
    free(p->vals);
    free(p->newbal);
    free(p->newt);
    memset(p, 0, sizeof *p);
}

/* Adds a row; *added 0 when the event's rows are full (the caller then
 * leaves the value out of the cache, so a later event writes it). */
static pol_status proj_add(proj *p, const char *kind, const uint8_t *key, size_t key_len,
                           const char *val, int *added)
{
    *added = p->n < POL_LEDGER_MAX_ROWS;
    if (!*added)
        return POL_OK;
    memcpy(p->keys[p->n], key, key_len);
    snprintf(p->vals[p->n], sizeof p->vals[p->n], "%s", val);
    p->rows[p->n] = (pol_ledger_row){ kind, p->keys[p->n], key_len, p->vals[p->n] };
    p->n++;
    return POL_OK;
}

static pol_status proj_build(const pol_referee *r, proj *p)
{
    memset(p, 0, sizeof *p);
    p->n_acc = pol_game_n_accounts(r->g);
    p->n_task = pol_game_n_tasks(r->g);
    p->rows = calloc(POL_LEDGER_MAX_ROWS, sizeof *p->rows);
    p->keys = calloc(POL_LEDGER_MAX_ROWS, sizeof *p->keys);
    p->vals = calloc(POL_LEDGER_MAX_ROWS, sizeof *p->vals);
    p->newbal = calloc(p->n_acc + 1, sizeof *p->newbal);
    p->newt = calloc(p->n_task + 1, sizeof *p->newt);
    if (!p->rows || !p->keys || !p->vals || !p->newbal || !p->newt) {
        proj_free(p);
        return pol_errorf(POL_ERR_NOMEM, "referee: projection");
    }
    /* a value whose row did not fit is cached as "unwritten" (a balance
     * or pool of UINT64_MAX, which the game's supply never reaches; an
     * empty task summary), so it differs next time and is written then */
    char v[64];
    int added;
    for (size_t i = 0; i < p->n_acc; i++) {
        uint8_t key[POL_PUBKEY_LEN];
        POL_TRY(pol_game_account(r->g, i, key, &p->newbal[i]));
        if (i >= r->n_bal || r->bal[i] != p->newbal[i]) {
            snprintf(v, sizeof v, "%" PRIu64, p->newbal[i]);
            POL_TRY(proj_add(p, "accounts", key, sizeof key, v, &added));
            if (!added)
                p->newbal[i] = UINT64_MAX;
        }
    }
    for (size_t i = 0; i < p->n_task; i++) {
        pol_game_task t;
        POL_TRY(pol_game_task_at(r->g, i, &t));
        snprintf(p->newt[i], sizeof p->newt[i], "%s %s", pol_game_task_state_name(t.state),
                 outcome_name(t.outcome));
        if (i >= r->n_tsum || strcmp(r->tsum[i], p->newt[i]) != 0) {
            POL_TRY(proj_add(p, "tasks", t.id.b, sizeof t.id.b, p->newt[i], &added));
            if (!added)
                p->newt[i][0] = '\0';
        }
    }
    p->jackpot = pol_game_jackpot(r->g);
    if (p->jackpot != r->jackpot || r->head_seq == 0) {
        snprintf(v, sizeof v, "%" PRIu64, p->jackpot);
        POL_TRY(proj_add(p, "game", (const uint8_t *)"jackpot", 7, v, &added));
        if (!added)
            p->jackpot = UINT64_MAX;
    }
    return POL_OK;
}

/* Takes the new values into the cache (after the event was written). */
static void proj_commit(pol_referee *r, proj *p)
{
    free(r->bal);
    free(r->tsum);
    r->bal = p->newbal;
    r->n_bal = p->n_acc;
    r->tsum = p->newt;
    r->n_tsum = p->n_task;
    r->jackpot = p->jackpot;
    p->newbal = NULL;
    p->newt = NULL;
}

/* --------------------------------------------------------------- events */

/* Appends the event the game just took (action, or a tick when len is 0)
 * with its projection rows. A failure is fatal: the game is now ahead of
 * the ledger, and only a restart (which replays the ledger) mends that. */
static pol_status append_event(pol_referee *r, uint64_t time_ms, const uint8_t *env, size_t len,
                               const pol_digest *id, uint64_t *seq)
{
    proj p;
    pol_status st = proj_build(r, &p);
    if (st == POL_OK)
        st = pol_ledger_append(r->l, time_ms, env, len, len ? id : NULL, p.rows, p.n, seq);
    if (st != POL_OK) {
        r->fatal = st;
        proj_free(&p);
        logf_(r, "referee: FATAL: ledger write failed: %s: %s", pol_strerror(st),
              pol_last_error());
        return pol_errorf(st, "referee: ledger write failed; the referee stops");
    }
    proj_commit(r, &p);
    const size_t n_rows = p.n;
    proj_free(&p);
    r->head_seq = *seq;
    r->head_time = time_ms;
    if (r->log_events) {
        char hid[17] = "-";
        if (len)
            hex8(id->b, hid);
        logf_(r, "event %" PRIu64 " at %" PRIu64 ": %s %s (%zu rows)", *seq, time_ms,
              len ? "action" : "tick", hid, n_rows);
    }
    return POL_OK;
}

/* The referee's clock: never before the last event [R-CLOCK-1]. */
static uint64_t ref_now(const pol_referee *r)
{
    uint64_t now = ref_wall_ms();
    if (now < r->head_time)
        now = r->head_time;
    if (now < pol_game_now(r->g))
        now = pol_game_now(r->g);
    return now;
}

/* Every deadline <= now becomes a tick event at its own time [R-TICK-1]. */
static pol_status do_ticks(pol_referee *r, uint64_t now)
{
    uint64_t d;
    while (!r->fatal && pol_game_next_deadline(r->g, &d) && d <= now) {
        if (d < r->head_time)
            return r->fatal = pol_errorf(POL_ERR_INTERNAL, "referee: deadline %" PRIu64
                                         " before the last event %" PRIu64, d, r->head_time);
        pol_status st = pol_game_advance(r->g, d);
        if (st != POL_OK)
            return r->fatal = st;
        uint64_t seq;
        POL_TRY(append_event(r, d, NULL, 0, NULL, &seq));
    }
    return r->fatal;
}

/* Applies one action envelope [R-ACT-1 .. R-ACT-4]. *seq: its ledger seq
 * (the earlier one for a retry). A refusal returns the game's status and
 * leaves the ledger unchanged. */
static pol_status apply_action(pol_referee *r, const uint8_t *env, size_t len, uint64_t *seq)
{
    *seq = 0;
    pol_digest id;
    POL_TRY(pol_envelope_id(env, len, &id));
    pol_status st = pol_ledger_find(r->l, &id, seq);
    if (st == POL_OK)
        return POL_OK; /* exactly once: a retry learns its seq */
    if (st != POL_ERR_NOT_FOUND)
        return st;
    const uint64_t now = ref_now(r);
    POL_TRY(do_ticks(r, now));
    pol_game_applied info;
    st = pol_game_apply(r->g, env, len, now, &info);
    if (st != POL_OK)
        return st;
    return append_event(r, now, env, len, &id, seq);
}

/* -------------------------------------------------------------- beacons */

/* Seals an action of the referee's own with its next nonce and applies it
 * like any action [R-ACT-1]. */
static pol_status referee_act(pol_referee *r, pol_game_action *a, uint64_t *seq)
{
    uint8_t *env;
    size_t len;
    pol_game_id(r->g, &a->game_id);
    a->nonce = pol_game_nonce(r->g, r->pub) + 1;
    pol_status st = pol_game_action_seal(a, &r->kp, &env, &len);
    if (st != POL_OK)
        return st;
    st = apply_action(r, env, len, seq);
    free(env);
    return st;
}

/* [R-BEACON-1]: every claimed task without a beacon gets one, fresh from
 * getrandom, applied and persisted like any action. Driven by the game's
 * state, not by memory: a restart between a claim and its beacon draws it
 * then, and a task that has its beacon never gets a second one. */
static pol_status issue_beacons(pol_referee *r)
{
    for (size_t i = 0; i < pol_game_n_tasks(r->g) && !r->fatal; i++) {
        pol_game_task t;
        POL_TRY(pol_game_task_at(r->g, i, &t));
        if (t.state != POL_GAME_TASK_CLAIMED || t.has_beacon)
            continue;
        pol_game_action a;
        memset(&a, 0, sizeof a);
        a.kind = POL_GAME_BEACON;
        a.task_id = t.id;
        char ht[17];
        hex8(t.id.b, ht);
        uint64_t seq;
        pol_status st;
        if (getrandom(a.beacon, sizeof a.beacon, 0) != (ssize_t)sizeof a.beacon)
            st = pol_errorf(POL_ERR_IO, "getrandom failed");
        else
            st = referee_act(r, &a, &seq);
        memset(a.beacon, 0, sizeof a.beacon);
        /* not fatal: the next turn tries again while the task is claimed
         * (a claim that expired at the tick before it needs none) */
        if (st != POL_OK && !r->fatal)
            logf_(r, "task %s: beacon refused: %s: %s", ht, pol_strerror(st), pol_last_error());
        else if (st == POL_OK && r->log_events)
            logf_(r, "task %s: beacon at seq %" PRIu64, ht, seq);
    }
    return r->fatal;
}

/* ------------------------------------------------------------- requests */

typedef struct ev_collect {
    pol_net_event *ev;
    size_t n, cap;
    size_t bytes, budget;
} ev_collect;

static pol_status collect_event(void *ctx, uint64_t seq, uint64_t time_ms, const uint8_t *action,
                                size_t action_len, const pol_digest *id)
{
    (void)id;
    ev_collect *c = ctx;
    if (c->n == c->cap || (c->n > 0 && c->bytes + action_len > c->budget))
        return POL_ERR_EXISTS; /* full: stop quietly */
    pol_net_event *e = &c->ev[c->n];
    e->seq = seq;
    e->time_ms = time_ms;
    e->action = NULL;
    e->action_len = action_len;
    if (action_len) {
        if (!(e->action = malloc(action_len)))
            return pol_errorf(POL_ERR_NOMEM, "referee: events");
        memcpy(e->action, action, action_len);
    }
    c->bytes += action_len;
    c->n++;
    return POL_OK;
}

static pol_status serve_events(pol_referee *r, const pol_net_request *req, pol_net_response *resp)
{
    const uint8_t *gen;
    size_t gen_len;
    pol_ledger_genesis(r->l, &gen, &gen_len);
    ev_collect c = { 0 };
    c.cap = POL_NET_MAX_EVENTS;
    c.budget = POL_REFEREE_MAX_EVENTS_BYTES;
    const size_t room = POL_WIRE_MAX_ENVELOPE - 64 * 1024 - (req->events_from ? 0 : gen_len);
    if (c.budget > room)
        c.budget = room;
    if (!(c.ev = calloc(c.cap, sizeof *c.ev)))
        return pol_errorf(POL_ERR_NOMEM, "referee: events");
    resp->kind = POL_NET_EVENTS;
    resp->events = c.ev;
    uint64_t n;
    pol_status st = pol_ledger_events(r->l, req->events_from, c.cap, collect_event, &c, &n);
    resp->n_events = c.n;
    if (st == POL_ERR_EXISTS)
        st = POL_OK;
    if (st == POL_OK && c.n && c.bytes > c.budget)
        st = pol_errorf(POL_ERR_TOO_LARGE, "referee: event %" PRIu64 " is too large to serve",
                        c.ev[0].seq);
    uint64_t head_time;
    if (st == POL_OK)
        st = pol_ledger_head(r->l, &resp->head_seq, &head_time);
    if (st == POL_OK && req->events_from == 0 && gen_len) {
        if (!(resp->genesis = malloc(gen_len)))
            st = pol_errorf(POL_ERR_NOMEM, "referee: events");
        else {
            memcpy(resp->genesis, gen, gen_len);
            resp->genesis_len = gen_len;
        }
    }
    if (st != POL_OK)
        pol_net_response_free(resp);
    return st;
}

static pol_status handle(void *ctx, const uint8_t signer[POL_PUBKEY_LEN],
                         const pol_net_request *req, const pol_digest *request_id,
                         pol_net_response *resp)
{
    (void)signer;
    (void)request_id;
    pol_referee *r = ctx;
    if (r->fatal)
        return pol_errorf(POL_ERR_INTERNAL, "referee: stopping after a ledger failure");
    switch (req->kind) {
    case POL_NET_ACTION: {
        uint64_t seq;
        pol_status st = apply_action(r, req->data, req->data_len, &seq);
        if (st != POL_OK)
            return st;
        /* a claim's beacon goes in before the claimant hears back, so it
         * finds the beacon in the events up to its claim's answer */
        (void)issue_beacons(r); /* a failure short of fatal is logged; the next turn retries */
        if (r->fatal)
            return r->fatal;
        resp->kind = POL_NET_ACTION;
        resp->applied_seq = seq;
        return POL_OK;
    }
    case POL_NET_EVENTS:
        return serve_events(r, req, resp);
    case POL_NET_BLOB: {
        uint8_t *data;
        size_t len;
        POL_TRY(pol_ledger_blob_get(r->l, &req->blob_hash, &data, &len));
        if (!data && !(data = malloc(1)))
            return pol_errorf(POL_ERR_NOMEM, "referee: blob");
        resp->kind = POL_NET_BLOB;
        resp->data = data;
        resp->data_len = len;
        return POL_OK;
    }
    default:
        return pol_errorf(POL_ERR_UNSUPPORTED, "referee: request kind %u is not served here",
                          req->kind);
    }
}

/* ------------------------------------------------------------- replay */

static pol_status replay_event(void *ctx, uint64_t seq, uint64_t time_ms, const uint8_t *action,
                               size_t action_len, const pol_digest *id)
{
    (void)id;
    pol_referee *r = ctx;
    pol_status st;
    if (action_len == 0) {
        st = pol_game_advance(r->g, time_ms);
    } else {
        pol_game_applied info;
        st = pol_game_apply(r->g, action, action_len, time_ms, &info);
    }
    if (st != POL_OK)
        return pol_errorf(POL_ERR_FORMAT, "referee: replay: event %" PRIu64 " refused: %s: %s",
                          seq, pol_strerror(st), pol_last_error());
    r->head_seq = seq;
    r->head_time = time_ms;
    return POL_OK;
}

/* ------------------------------------------------------------- disputes */

/* The parties' endpoints: the game's (from their Claim / SubmitReport /
 * Challenge actions) where it has them, else the operator's directory
 * (--party KEY=HOST:PORT). */
static void endpoint_for(const pol_referee *r, const uint8_t key[POL_PUBKEY_LEN],
                         const char *from_game, char out[POL_REFEREE_ENDPOINT_MAX])
{
    out[0] = '\0';
    if (from_game && from_game[0]) {
        snprintf(out, POL_REFEREE_ENDPOINT_MAX, "%s", from_game);
        return;
    }
    for (size_t i = 0; i < r->n_eps; i++)
        if (memcmp(r->eps[i].key, key, POL_PUBKEY_LEN) == 0) {
            snprintf(out, POL_REFEREE_ENDPOINT_MAX, "%s", r->eps[i].addr);
            return;
        }
}

static int tried(const pol_referee *r, const pol_digest *id)
{
    for (size_t i = 0; i < r->n_tried; i++)
        if (pol_digest_equal(&r->tried[i], id))
            return 1;
    return 0;
}

pol_status pol_referee_dispute_id(const pol_digest *task_id, const pol_digest *cert_id,
                                  uint64_t round, pol_digest *out)
{
    uint8_t buf[72];
    memcpy(buf, task_id->b, 32);
    memcpy(buf + 32, cert_id->b, 32);
    for (int i = 0; i < 8; i++)
        buf[64 + i] = (uint8_t)(round >> (8 * i));
    return pol_sha256(buf, sizeof buf, out);
}

/* The checkpoint root of the disputed certificate (the game took it in, so
 * it opens and decodes; an error here is the referee's own). */
static pol_status cert_root_of(const pol_game_dispute *d, pol_digest *root)
{
    pol_cert c;
    pol_status st = pol_cert_open(d->cert_env, d->cert_env_len, &c, NULL);
    if (st)
        return st;
    *root = c.ckpt_root;
    pol_cert_free(&c);
    return POL_OK;
}

/* Starts the worker on dispute d (task t, dispute id *id), which is
 * recorded as tried by this process. */
static pol_status start_job(pol_referee *r, const pol_game_dispute *d, const pol_game_task *t,
                            const pol_digest *id)
{
    pol_digest *nt = realloc(r->tried, (r->n_tried + 1) * sizeof *nt);
    if (!nt)
        return pol_errorf(POL_ERR_NOMEM, "referee: disputes");
    r->tried = nt;
    r->tried[r->n_tried++] = *id;

    ref_job j;
    memset(&j, 0, sizeof j);
    pol_status st = cert_root_of(d, &j.cert_root);
    if (st)
        return st;
    j.dispute_id = *id;
    j.task_id = t->id;
    pol_game_id(r->g, &j.game_id);
    memcpy(j.solver, d->solver, POL_PUBKEY_LEN);
    memcpy(j.challenger, d->challenger, POL_PUBKEY_LEN);
    endpoint_for(r, j.solver, d->solver_endpoint, j.solver_ep);
    endpoint_for(r, j.challenger, d->challenger_endpoint, j.challenger_ep);
    j.nonce = pol_game_nonce(r->g, r->pub) + 1;
    j.kp = r->kp;
    j.answer_ms = r->answer_ms;
    j.clock_ms = r->clock_ms;
    j.arity = r->arity;
    j.task_json = malloc(d->task_json_len);
    j.profile_env = d->profile_env_len ? malloc(d->profile_env_len) : NULL;
    j.db_path = dupstr(r->db_path);
    j.data_dir = dupstr(r->data_dir);
    if (!j.task_json || !j.db_path || !j.data_dir || (d->profile_env_len && !j.profile_env)) {
        free(j.task_json);
        free(j.profile_env);
        free(j.db_path);
        free(j.data_dir);
        return pol_errorf(POL_ERR_NOMEM, "referee: disputes");
    }
    memcpy(j.task_json, d->task_json, d->task_json_len);
    j.task_json_len = d->task_json_len;
    if (d->profile_env_len)
        memcpy(j.profile_env, d->profile_env, d->profile_env_len);
    j.profile_env_len = d->profile_env_len;
    char hd[17], ht[17];
    hex8(id->b, hd);
    hex8(t->id.b, ht);
    logf_(r, "dispute %s: task %s: started (solver at %s, challenger at %s%s)", hd, ht,
          j.solver_ep[0] ? j.solver_ep : "-", j.challenger_ep[0] ? j.challenger_ep : "-",
          j.profile_env_len ? "; tolerant: the profile's per-op thresholds, transition dispute" : "");
    r->w_dispute = *id;
    r->w_task = t->id;
    r->w_round = t->rounds;
    return ref_worker_start(&j, &r->w);
}

/* Starts the worker on the open dispute not yet tried by this process with
 * the earliest deadline [R-DSP-2]: one that waits longest must not run out
 * its window. */
static pol_status start_dispute(pol_referee *r)
{
    size_t n = pol_game_disputes(r->g, NULL, 0);
    if (n == 0)
        return POL_OK;
    pol_game_dispute *d = calloc(n, sizeof *d);
    if (!d)
        return pol_errorf(POL_ERR_NOMEM, "referee: disputes");
    n = pol_game_disputes(r->g, d, n);
    pol_status st = POL_OK;
    size_t best = n;
    pol_game_task best_t;
    pol_digest best_id;
    for (size_t i = 0; i < n; i++) {
        pol_game_task t;
        pol_digest id;
        if ((st = pol_game_task_find(r->g, &d[i].task_id, &t)) ||
            (st = pol_referee_dispute_id(&t.id, &t.cert_id, t.rounds, &id)))
            break;
        if (!tried(r, &id) && (best == n || t.deadline_ms < best_t.deadline_ms))
            best = i, best_t = t, best_id = id;
    }
    if (st == POL_OK && best < n)
        st = start_job(r, &d[best], &best_t, &best_id);
    free(d);
    return st;
}

/* The worker sealed its Ruling with the referee's next nonce as it was when
 * the dispute started; beacons the referee applied since then used nonces
 * up, so the Ruling is sealed again with the nonce it needs now. */
static pol_status reseal_ruling(pol_referee *r, ref_outcome *o)
{
    uint8_t *body, signer[POL_PUBKEY_LEN];
    size_t body_len;
    pol_status st = pol_envelope_open(o->env, o->env_len, POL_MSG_GAME_ACTION, &body, &body_len,
                                      signer);
    if (st != POL_OK)
        return st;
    pol_game_action a;
    st = pol_game_action_decode(body, body_len, &a);
    free(body);
    if (st != POL_OK)
        return st;
    const uint64_t want = pol_game_nonce(r->g, r->pub) + 1;
    if (a.nonce != want) {
        uint8_t *env;
        size_t len;
        a.nonce = want;
        if ((st = pol_game_action_seal(&a, &r->kp, &env, &len)) == POL_OK) {
            free(o->env);
            o->env = env;
            o->env_len = len;
        }
    }
    pol_game_action_free(&a);
    return st;
}

/* Takes a finished worker's Ruling and applies it like any action. */
static pol_status finish_dispute(pol_referee *r)
{
    if (!r->w || !ref_worker_done(r->w))
        return POL_OK;
    ref_outcome o;
    ref_worker_finish(r->w, &o);
    r->w = NULL;
    char hd[17];
    hex8(r->w_dispute.b, hd);
    if (o.st != POL_OK) {
        logf_(r, "dispute %s: no ruling: %s (%s); the game's dispute deadline settles the "
              "task", hd, pol_strerror(o.st), o.msg);
        ref_outcome_free(&o);
        return POL_OK;
    }
    uint64_t seq;
    pol_status st = reseal_ruling(r, &o);
    if (st == POL_OK)
        st = apply_action(r, o.env, o.env_len, &seq);
    if (st == POL_OK)
        logf_(r, "dispute %s: ruling at seq %" PRIu64 ": %s lost (%s), pin kind %d interval "
              "%" PRId64 " step %" PRId64 " node %" PRId64 "; %" PRIu64 " exchanges (%" PRIu64
              " asked, %" PRIu64 " from the journal)", hd, seq,
              o.res.loser == POL_PARTY_SOLVER ? "solver" : "challenger",
              pol_dispute_reason_name(o.res.reason), (int)o.res.kind, o.res.interval,
              o.res.step, o.res.node, o.exchanges, o.asked, o.replayed);
    if (st == POL_OK)
        logf_(r, "dispute %s: cost: %u rounds (levels 1/2/3: %u/%u/%u; bound %u), %" PRIu64
              " bytes (largest round %" PRIu64 "), referee recomputed %u node(s) in %.3f ms", hd,
              o.res.rounds, o.res.rounds_level[1], o.res.rounds_level[2], o.res.rounds_level[3],
              o.res.bound, o.res.bytes, o.res.bytes_max_round, o.res.referee_nodes,
              o.res.referee_seconds * 1e3);
    if (st != POL_OK && !r->fatal)
        logf_(r, "dispute %s: the ruling was refused: %s: %s", hd, pol_strerror(st),
              pol_last_error());
    ref_outcome_free(&o);
    return r->fatal;
}

/* ---------------------------------------------------------------- API */

/* r->g: the game of a genesis, whose referee key must be r's. */
static pol_status game_of(pol_referee *r, const uint8_t *gen, size_t gen_len)
{
    pol_status st = pol_game_create(gen, gen_len, &r->g);
    if (st)
        return st;
    uint8_t rk[POL_PUBKEY_LEN];
    pol_game_referee(r->g, rk);
    if (memcmp(rk, r->pub, POL_PUBKEY_LEN) != 0)
        return pol_errorf(POL_ERR_MISMATCH, "referee: this key is not the genesis referee key");
    return POL_OK;
}

/* [R-DSP-3] Both parties' clocks fit in the game's dispute window with a
 * third of it left for the referee: a party that stalls runs out of its
 * clock and loses, rather than running the window out, which gives every
 * bond back ([G-TIME-7]). A function of the genesis, so the same after a
 * restart. */
static pol_status fit_clock(pol_referee *r)
{
    const uint8_t *gen;
    size_t gen_len;
    pol_genesis g;
    pol_ledger_genesis(r->l, &gen, &gen_len);
    pol_status st = pol_genesis_decode(gen, gen_len, &g);
    if (st)
        return st;
    const uint64_t fit = g.dispute_window_ms / 3;
    pol_genesis_free(&g);
    if (r->clock_ms > fit) {
        logf_(r, "party clock %u ms cut to %" PRIu64 " ms: a third of the game's dispute window",
              r->clock_ms, fit);
        r->clock_ms = (unsigned)fit;
    }
    return POL_OK;
}

pol_status pol_referee_open(const pol_referee_opts *o, const pol_keypair *kp, pol_referee **out)
{
    *out = NULL;
    if (!o->db_path || !o->db_path[0] || !o->listen)
        return pol_errorf(POL_ERR_INVALID_ARG, "referee: db path and listen address needed");
    pol_referee *r = calloc(1, sizeof *r);
    if (!r)
        return pol_errorf(POL_ERR_NOMEM, "referee");
    pol_status st = POL_OK;
    r->db_path = dupstr(o->db_path);
    r->data_dir = dupstr(o->data_dir ? o->data_dir : ".");
    r->answer_ms = o->answer_timeout_ms ? o->answer_timeout_ms : POL_REFEREE_DEFAULT_ANSWER_MS;
    r->clock_ms = o->party_clock_ms ? o->party_clock_ms : POL_REFEREE_DEFAULT_CLOCK_MS;
    r->arity = o->arity;
    r->log = o->log;
    r->log_user = o->log_user;
    r->log_events = o->log_events;
    r->kp = *kp;
    if (o->n_endpoints) {
        r->eps = malloc(o->n_endpoints * sizeof *r->eps);
        if (r->eps) {
            memcpy(r->eps, o->endpoints, o->n_endpoints * sizeof *r->eps);
            r->n_eps = o->n_endpoints;
        }
    }
    if (!r->db_path || !r->data_dir || (o->n_endpoints && !r->eps)) {
        st = pol_errorf(POL_ERR_NOMEM, "referee");
        goto fail;
    }
    if ((st = pol_keypair_pubkey(kp, r->pub)))
        goto fail;
    /* a given genesis is checked before the ledger is opened: one that is
     * no game's, or another referee's, never becomes a new ledger file */
    if (o->genesis && (st = game_of(r, o->genesis, o->genesis_len)))
        goto fail;
    if ((st = pol_ledger_open(o->db_path, o->genesis, o->genesis_len, &r->l)))
        goto fail;
    if (!r->g) {
        const uint8_t *gen;
        size_t gen_len;
        pol_ledger_genesis(r->l, &gen, &gen_len);
        if ((st = game_of(r, gen, gen_len)))
            goto fail;
    }
    /* [R-OPEN-1]: replay every event with its stored time, then check. */
    uint64_t n;
    if ((st = pol_ledger_events(r->l, 1, 0, replay_event, r, &n)))
        goto fail;
    if ((st = pol_game_check(r->g)))
        goto fail;
    if ((st = fit_clock(r)))
        goto fail;
    /* The rows match the game after replay; a ledger without events has
     * none yet, so its first event writes every genesis account. */
    if (r->head_seq) {
        proj p;
        if ((st = proj_build(r, &p)))
            goto fail;
        proj_commit(r, &p);
        proj_free(&p);
    }
    pol_game_set_log(r->g, game_log, r);
    if ((st = pol_net_server_open(o->listen, kp, handle, r, NULL, &r->srv)))
        goto fail;
    *out = r;
    return POL_OK;
fail:
    pol_referee_close(r);
    return st;
}

uint16_t pol_referee_port(const pol_referee *r) { return pol_net_server_port(r->srv); }

const pol_game *pol_referee_game(const pol_referee *r) { return r->g; }

uint64_t pol_referee_head(const pol_referee *r) { return r->head_seq; }

/* A dispute the game settled meanwhile (its deadline passed) needs no
 * more answers: the worker is told to stop, and its outcome is dropped. */
static void drop_settled(pol_referee *r)
{
    pol_game_task t;
    if (!r->w)
        return;
    if (pol_game_task_find(r->g, &r->w_task, &t) != POL_OK || t.state != POL_GAME_TASK_DISPUTE ||
        t.rounds != r->w_round)
        atomic_store(&r->w->cancel, 1);
}

pol_status pol_referee_poll(pol_referee *r, int timeout_ms)
{
    if (r->fatal)
        return r->fatal;
    drop_settled(r);
    POL_TRY(finish_dispute(r));
    POL_TRY(do_ticks(r, ref_now(r)));
    POL_TRY(issue_beacons(r));
    if (!r->w)
        POL_TRY(start_dispute(r));
    int wait = timeout_ms < 0 ? 0 : timeout_ms;
    uint64_t d;
    if (pol_game_next_deadline(r->g, &d)) {
        const uint64_t now = ref_now(r);
        const uint64_t left = d > now ? d - now : 0;
        if (left < (uint64_t)wait)
            wait = (int)left;
    }
    if (r->w && wait > 20)
        wait = 20;
    pol_status st = pol_net_server_poll(r->srv, wait);
    if (r->fatal)
        return r->fatal;
    return st;
}

void pol_referee_close(pol_referee *r)
{
    if (!r)
        return;
    ref_worker_finish(r->w, NULL);
    pol_net_server_close(r->srv);
    pol_game_destroy(r->g);
    pol_ledger_close(r->l);
    pol_keypair_clear(&r->kp);
    free(r->db_path);
    free(r->data_dir);
    free(r->eps);
    free(r->bal);
    free(r->tsum);
    free(r->tried);
    free(r);
}
