/* A party's mirror of the referee's game: the referee's event log applied
 * to a local pol_game, so every party checks the log itself. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pol/roles.h"
#include "roles_int.h"

struct pol_mirror {
    char addr[POL_ROLE_ENDPOINT_MAX];
    int timeout_ms;
    pol_keypair kp;
    uint8_t self[POL_PUBKEY_LEN];
    uint8_t referee[POL_PUBKEY_LEN];
    int have_referee;    /* referee key known (given, or from the genesis) */
    pol_net_conn *conn;  /* NULL after a failure: reconnect on the next call */
    pol_game *game;
    pol_genesis genesis; /* decoded from the referee's genesis */
    uint64_t head;       /* the last seq applied */
    uint64_t next_id;
    uint8_t last_signer[POL_PUBKEY_LEN]; /* of the last response */
    pol_game_log_fn log;
    void *log_user;
    pol_mirror_stats stats;
};

uint64_t pol_role_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One exchange with the referee, reconnecting when the last one broke. */
static pol_status call(pol_mirror *m, pol_net_request *req, pol_net_response *resp)
{
    pol_status st;
    if (!m->conn && (st = pol_net_connect(m->addr, m->timeout_ms, 0,
                                          m->have_referee ? m->referee : NULL, &m->conn)))
        return st;
    req->id = ++m->next_id;
    req->time_ms = pol_role_now_ms();
    uint8_t *signer = m->last_signer;
    m->stats.calls++;
    st = pol_net_call(m->conn, &m->kp, req, resp, signer);
    if (st) {
        pol_net_close(m->conn);
        m->conn = NULL;
        return st;
    }
    if (m->have_referee && memcmp(signer, m->referee, POL_PUBKEY_LEN)) {
        pol_net_response_free(resp);
        return pol_errorf(POL_ERR_SIGNATURE, "mirror: a response from %s is not signed by the "
                          "referee", m->addr);
    }
    return POL_OK;
}

/* Applies one event to the game at its recorded time. */
static pol_status apply_event(pol_mirror *m, const pol_net_event *e)
{
    pol_status st;
    if (e->seq != m->head + 1)
        return pol_errorf(POL_ERR_MISMATCH, "mirror: event %llu after %llu",
                          (unsigned long long)e->seq, (unsigned long long)m->head);
    if (e->action_len == 0) {
        st = pol_game_advance(m->game, e->time_ms);
    } else {
        pol_game_applied info;
        st = pol_game_apply(m->game, e->action, e->action_len, e->time_ms, &info);
        m->stats.bytes_events += e->action_len;
    }
    if (st)
        return pol_errorf(POL_ERR_MISMATCH, "mirror: the referee's event %llu does not apply "
                          "here: %s", (unsigned long long)e->seq, pol_last_error());
    m->head = e->seq;
    m->stats.events++;
    return POL_OK;
}

pol_status pol_mirror_sync(pol_mirror *m, size_t *n_new)
{
    size_t n = 0;
    if (n_new)
        *n_new = 0;
    for (;;) {
        pol_net_request req = { 0 };
        pol_net_response resp;
        req.kind = POL_NET_EVENTS;
        req.events_from = m->game ? m->head + 1 : 0;
        pol_status st = call(m, &req, &resp);
        if (st)
            return st;
        if (resp.status) {
            st = pol_errorf((pol_status)resp.status, "referee: %s", resp.error);
            pol_net_response_free(&resp);
            return st;
        }
        if (!m->game) {
            if (!resp.genesis) {
                pol_net_response_free(&resp);
                return pol_errorf(POL_ERR_FORMAT, "mirror: the referee sent no genesis");
            }
            if ((st = pol_game_create(resp.genesis, resp.genesis_len, &m->game)) ||
                (st = pol_genesis_decode(resp.genesis, resp.genesis_len, &m->genesis))) {
                pol_net_response_free(&resp);
                return st;
            }
            uint8_t rk[POL_PUBKEY_LEN];
            pol_game_referee(m->game, rk);
            if ((m->have_referee && memcmp(rk, m->referee, POL_PUBKEY_LEN)) ||
                memcmp(rk, m->last_signer, POL_PUBKEY_LEN)) {
                pol_net_response_free(&resp);
                return pol_errorf(POL_ERR_SIGNATURE, "mirror: the genesis names another referee "
                                  "than the one that signed it");
            }
            memcpy(m->referee, rk, POL_PUBKEY_LEN);
            if (!m->have_referee) { /* from now on only the referee's answers count */
                m->have_referee = 1;
                pol_net_close(m->conn);
                m->conn = NULL;
            }
            pol_game_set_log(m->game, m->log, m->log_user);
        }
        for (size_t i = 0; i < resp.n_events; i++) {
            if ((st = apply_event(m, &resp.events[i]))) {
                pol_net_response_free(&resp);
                return st;
            }
            n++;
        }
        const uint64_t head = resp.head_seq;
        const size_t got = resp.n_events;
        pol_net_response_free(&resp);
        if (n_new)
            *n_new = n;
        if (m->head >= head || got == 0)
            return POL_OK;
    }
}

pol_status pol_mirror_open(const char *addr, const pol_keypair *kp, const uint8_t *referee_key,
                           int timeout_ms, pol_mirror **out)
{
    *out = NULL;
    if (strlen(addr) >= POL_ROLE_ENDPOINT_MAX)
        return pol_errorf(POL_ERR_FORMAT, "mirror: address too long");
    pol_mirror *m = calloc(1, sizeof *m);
    if (!m)
        return pol_errorf(POL_ERR_NOMEM, "mirror");
    strcpy(m->addr, addr);
    m->timeout_ms = timeout_ms;
    m->kp = *kp;
    pol_status st = pol_keypair_pubkey(kp, m->self);
    if (!st && referee_key) {
        memcpy(m->referee, referee_key, POL_PUBKEY_LEN);
        m->have_referee = 1;
    }
    if (!st)
        st = pol_mirror_sync(m, NULL);
    if (st) {
        pol_mirror_close(m);
        return st;
    }
    *out = m;
    return POL_OK;
}

pol_status pol_mirror_act(pol_mirror *m, pol_game_action *a, uint64_t *seq)
{
    if (seq)
        *seq = 0;
    pol_game_id(m->game, &a->game_id);
    a->nonce = pol_game_nonce(m->game, m->self) + 1;
    uint8_t *env = NULL;
    size_t len = 0;
    pol_status st = pol_game_action_seal(a, &m->kp, &env, &len);
    if (st)
        return st;
    pol_net_request req = { 0 };
    pol_net_response resp;
    req.kind = POL_NET_ACTION;
    req.data = env;
    req.data_len = len;
    st = call(m, &req, &resp);
    free(env);
    if (st)
        return st;
    m->stats.bytes_sent += len;
    if (resp.status) {
        st = pol_errorf((pol_status)resp.status, "referee refused %s: %s",
                        pol_game_kind_name(a->kind), resp.error);
        pol_net_response_free(&resp);
        return st;
    }
    const uint64_t applied = resp.applied_seq;
    pol_net_response_free(&resp);
    while (m->head < applied) {
        size_t n;
        if ((st = pol_mirror_sync(m, &n)))
            return st;
        if (!n && m->head < applied)
            return pol_errorf(POL_ERR_MISMATCH, "mirror: the referee applied seq %llu but its "
                              "log ends at %llu", (unsigned long long)applied,
                              (unsigned long long)m->head);
    }
    if (seq)
        *seq = applied;
    return POL_OK;
}

const pol_game *pol_mirror_game(const pol_mirror *m) { return m->game; }
const pol_genesis *pol_mirror_genesis(const pol_mirror *m) { return &m->genesis; }
uint64_t pol_mirror_head(const pol_mirror *m) { return m->head; }
const uint8_t *pol_mirror_self(const pol_mirror *m) { return m->self; }
pol_mirror_stats pol_mirror_get_stats(const pol_mirror *m) { return m->stats; }

void pol_mirror_set_log(pol_mirror *m, pol_game_log_fn fn, void *user)
{
    m->log = fn;
    m->log_user = user;
    if (m->game)
        pol_game_set_log(m->game, fn, user);
}

void pol_mirror_close(pol_mirror *m)
{
    if (!m)
        return;
    pol_net_close(m->conn);
    pol_game_destroy(m->game);
    pol_genesis_free(&m->genesis);
    pol_keypair_clear(&m->kp);
    free(m);
}

const pol_keypair *pol__mirror_keypair(const pol_mirror *m) { return &m->kp; }
