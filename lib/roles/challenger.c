/* The challenger's side of a dispute, made when the referee first asks:
 * an honest replayer of an exact-mode task, or, for a tolerant-mode task,
 * the honest challenger's search over the solver's data, read from the
 * solver's own server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pol/pinwire.h"
#include "pol/roles.h"
#include "roles_int.h"

#define SOLVER_TIMEOUT_MS 30000 /* one exchange with the solver's server */

struct pol_role_challenger {
    pol_mirror *m;
    char work[POL_PATH_MAX], data[POL_PATH_MAX];
    int active;
    pol_digest task_id;
    pol_role_task rt;
    pol_pin_served served;
    unsigned made;
    /* exact mode */
    pol_ctx *ctx;
    pol_replayer *rp;
    pol_party party;
    /* tolerant mode: the search, reading the solver through its server */
    char solver_addr[POL_ROLE_ENDPOINT_MAX];
    uint8_t solver_key[POL_PUBKEY_LEN];
    pol_net_conn *conn;
    uint64_t req_id;
    pol_pin_remote *remote;
    pol_party_tol solver;
    pol_pin_tolerance tol;
    pol_tol_search *search;
    pol_tol_challenger tch;
};

pol_status pol_role_challenger_create(pol_mirror *m, const char *work_dir, const char *data_dir,
                                      pol_role_challenger **out)
{
    *out = NULL;
    if (strlen(work_dir) >= POL_PATH_MAX - 100 || strlen(data_dir) >= POL_PATH_MAX)
        return pol_errorf(POL_ERR_INVALID_ARG, "path too long");
    pol_role_challenger *c = calloc(1, sizeof *c);
    if (!c)
        return pol_errorf(POL_ERR_NOMEM, "challenger");
    c->m = m;
    strcpy(c->work, work_dir);
    strcpy(c->data, data_dir);
    *out = c;
    return POL_OK;
}

static void drop(pol_role_challenger *c)
{
    if (!c->active)
        return;
    pol_tol_search_destroy(c->search);
    pol_pin_remote_destroy(c->remote);
    pol_net_close(c->conn);
    pol_replayer_destroy(c->rp);
    pol_ctx_destroy(c->ctx);
    pol_role_task_close(&c->rt);
    c->search = NULL;
    c->remote = NULL;
    c->conn = NULL;
    c->rp = NULL;
    c->ctx = NULL;
    memset(&c->served, 0, sizeof c->served);
    c->active = 0;
}

/* ------------------------------------- the solver's server, as a transport -- */

/* (Re)connects to the solver's server, which must sign with the solver's key. */
static pol_status solver_conn(pol_role_challenger *c)
{
    if (c->conn)
        return POL_OK;
    return pol_net_connect(c->solver_addr, SOLVER_TIMEOUT_MS, 0, c->solver_key, &c->conn);
}

/* One PinQuery to the solver's server; one reconnect when the connection
 * broke (the server drops idle connections). */
static pol_status tr_call(void *io, const uint8_t *q, size_t qlen, uint8_t **a, size_t *alen)
{
    pol_role_challenger *c = io;
    pol_status st = POL_ERR_NETWORK;
    for (int attempt = 0; attempt < 2 && st == POL_ERR_NETWORK; attempt++) {
        if ((st = solver_conn(c)))
            continue;
        pol_net_request req = { 0 };
        req.id = ++c->req_id;
        req.time_ms = pol_role_now_ms();
        req.kind = POL_NET_PIN;
        req.data = (uint8_t *)(uintptr_t)q;
        req.data_len = qlen;
        pol_net_response resp;
        memset(&resp, 0, sizeof resp);
        uint8_t signer[POL_PUBKEY_LEN];
        st = pol_net_call(c->conn, pol__mirror_keypair(c->m), &req, &resp, signer);
        if (st == POL_OK && resp.status != 0)
            st = pol_errorf(POL_ERR_MISMATCH, "the solver refused: %s (%s)",
                            pol_strerror((pol_status)resp.status), resp.error);
        if (st == POL_OK) {
            *a = resp.data, *alen = resp.data_len;
            resp.data = NULL, resp.data_len = 0;
        }
        pol_net_response_free(&resp);
        if (st != POL_OK) {
            pol_net_close(c->conn);
            c->conn = NULL;
        }
    }
    return st;
}

static pol_status tr_fetch(void *io, const pol_digest *h, uint8_t **blob, size_t *blen)
{
    pol_role_challenger *c = io;
    pol_status st = POL_ERR_NETWORK;
    for (int attempt = 0; attempt < 2 && st == POL_ERR_NETWORK; attempt++) {
        if (!(st = solver_conn(c)))
            st = pol_net_fetch_blob(c->conn, pol__mirror_keypair(c->m), h,
                                    POL_WIRE_MAX_ENVELOPE - POL_NET_RESPONSE_OVERHEAD, blob,
                                    blen);
        if (st != POL_OK) {
            pol_net_close(c->conn);
            c->conn = NULL;
        }
    }
    return st;
}

/* ------------------------------------------------------- the two modes -- */

static pol_status make_replayer(pol_role_challenger *c, const char *dir)
{
    pol_status st = pol_ctx_create(&c->ctx, NULL);
    if (!st)
        st = pol_replayer_create(&c->rp, c->ctx, &c->rt.task, &c->rt.ds, dir, NULL);
    if (st)
        return st;
    c->party = pol_replayer_party(c->rp, "challenger");
    c->served.party = &c->party;
    return POL_OK;
}

static pol_status make_search(pol_role_challenger *c, const pol_game_task *t)
{
    pol_status st = pol_role_profile_tolerance(t->profile_env, t->profile_env_len, &t->id,
                                               &c->tol);
    if (!st)
        st = pol_role_solver_endpoint(t, c->solver_addr);
    if (st)
        return st;
    memcpy(c->solver_key, t->solver, POL_PUBKEY_LEN);
    pol_pin_transport tr = { c, tr_call, tr_fetch };
    if ((st = pol_pin_remote_create(&c->remote, &t->id, &tr)))
        return st;
    c->solver = pol_pin_remote_party_tol(c->remote, "solver");
    if ((st = pol_tol_search_create(&c->search, &c->rt.task, &c->rt.ds, &c->solver, &c->tol)))
        return st;
    c->tch = pol_tol_search_challenger(c->search, "challenger");
    c->served.challenger = &c->tch;
    return POL_OK;
}

const pol_pin_served *pol_role_challenger_served_fn(void *arg)
{
    pol_role_challenger *c = arg;
    if (c->active)
        return &c->served;
    if (pol_mirror_sync(c->m, NULL))
        return NULL;
    const pol_game *g = pol_mirror_game(c->m);
    const uint8_t *me = pol_mirror_self(c->m);
    for (size_t i = 0; i < pol_game_n_tasks(g); i++) {
        pol_game_task t;
        if (pol_game_task_at(g, i, &t) || t.state != POL_GAME_TASK_DISPUTE ||
            memcmp(t.challenger, me, POL_PUBKEY_LEN))
            continue;
        char dir[POL_PATH_MAX + 120], hex[65];
        pol_digest_to_hex(&t.id, hex);
        snprintf(dir, sizeof dir, "%s/challenge-%.16s-%d-%u", c->work, hex, (int)getpid(),
                 c->made++);
        if (pol_role_task_open(c->work, c->data, t.task_json, t.task_json_len, &c->rt))
            return NULL;
        c->active = 1; /* drop() undoes what was made */
        const int tolerant = c->rt.task.mode == POL_MODE_TOLERANT;
        pol_status st = tolerant ? make_search(c, &t) : make_replayer(c, dir);
        if (st) {
            fprintf(stderr, "challenger: cannot %s task %.16s: %s\n",
                    tolerant ? "search" : "replay", hex, pol_last_error());
            drop(c);
            return NULL;
        }
        c->task_id = t.id;
        if (tolerant)
            printf("dispute    task %.16s: a transition dispute; naming the solver's first "
                   "out-of-tolerance leaf, searched over its data at %s\n", hex, c->solver_addr);
        else
            printf("dispute    task %.16s: answering the referee's pinpoint queries with an "
                   "honest replay\n", hex);
        fflush(stdout);
        return &c->served;
    }
    return NULL;
}

const pol_party *pol_role_challenger_party_fn(void *arg)
{
    const pol_pin_served *w = pol_role_challenger_served_fn(arg);
    return w ? w->party : NULL;
}

void pol_role_challenger_tick(pol_role_challenger *c, pol_role_server *s)
{
    pol_game_task t;
    if (!c->active || pol_game_task_find(pol_mirror_game(c->m), &c->task_id, &t) ||
        t.state != POL_GAME_TASK_DISPUTE) {
        if (c->active) {
            if (c->search) {
                const pol_tol_search_stats *ss = pol_tol_search_get_stats(c->search);
                const pol_pin_remote_stats rs = pol_pin_remote_get_stats(c->remote);
                printf("searched   %llu steps, %llu leaves, %llu nodes recomputed (%llu inexact, "
                       "largest distance/threshold %.3g); read %llu queries, %llu blobs (%llu "
                       "bytes) from the solver\n", (unsigned long long)ss->steps,
                       (unsigned long long)ss->leaves, (unsigned long long)ss->nodes_recomputed,
                       (unsigned long long)ss->nodes_inexact, ss->max_ratio,
                       (unsigned long long)rs.queries, (unsigned long long)rs.blobs,
                       (unsigned long long)rs.bytes_blobs);
                fflush(stdout);
            }
            drop(c);
            pol_role_server_set_served(s, NULL);
        }
    }
}

void pol_role_challenger_destroy(pol_role_challenger *c)
{
    if (!c)
        return;
    drop(c);
    free(c);
}
