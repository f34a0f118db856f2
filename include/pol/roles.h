/* libpol — the parties' side of the game: what the role programs
 * (pol-submit, pol-solver serve, pol-verifier serve, pol-whistleblower)
 * share.
 *
 *  - A *mirror* of the referee's game: the party fetches the referee's event
 *    log (Request events_from) and applies every event to its own pol_game
 *    at the event's recorded time (a tick is pol_game_advance), so each
 *    party checks the whole log itself instead of trusting the referee's
 *    word for any balance or state. Acting is: seal a GameAction with the
 *    signer's mirror nonce + 1, send it, and wait until the mirror has
 *    applied it.
 *  - A *party server*: answers other parties and the referee on the
 *    party's --listen address: blobs by hash from content-addressed
 *    directories (checkpoints named by state hash, tensor blobs by SHA-256)
 *    and pinpoint queries through pol_pin_serve on the party's local
 *    pol_party (a pol_replayer).
 *  - Small helpers: a task's files in a work directory, fetching a
 *    checkpoint by state hash (checked with pol_st_state_hash, since a
 *    checkpoint file's SHA-256 is not its state hash), and checking a
 *    task's certificate the way a verifier does.
 *
 * Rules for every function: pointer arguments non-NULL unless stated;
 * failures record a message for pol_last_error; outputs are zeroed on
 * failure. Nothing here is thread-safe.
 */
#ifndef POL_ROLES_H
#define POL_ROLES_H

#include <stddef.h>
#include <stdint.h>

#include "pol/dataset.h"
#include "pol/game.h"
#include "pol/hash.h"
#include "pol/keys.h"
#include "pol/net.h"
#include "pol/pinpoint.h"
#include "pol/pinwire.h"
#include "pol/status.h"
#include "pol/task.h"
#include "pol/verify.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "HOST:PORT" plus its NUL. */
#define POL_ROLE_ENDPOINT_MAX 64

/* ---------------------------------------------------------------- mirror */

typedef struct pol_mirror pol_mirror;

/* Byte and message counters of a mirror (for summaries). */
typedef struct pol_mirror_stats {
    uint64_t calls;          /* requests sent to the referee */
    uint64_t bytes_sent;     /* action envelopes sent */
    uint64_t events;         /* events applied */
    uint64_t bytes_events;   /* action bytes of the events applied */
} pol_mirror_stats;

/* Connects to the referee at addr, fetches the log from the start (with
 * the genesis) and applies it to a fresh game. Every response must be
 * signed by the genesis' referee key (and by referee_key when it is
 * non-NULL). kp signs requests and actions; it is copied.
 * Returns: POL_OK; the errors of pol_net_connect / pol_net_call;
 *          POL_ERR_SIGNATURE (a response signed by another key than the
 *          referee's); POL_ERR_MISMATCH (an event the local game refuses:
 *          the referee's log does not follow the rules); the errors of
 *          pol_game_create. Out: *out (NULL on failure). */
POL_WARN_UNUSED pol_status pol_mirror_open(const char *addr, const pol_keypair *kp,
                                           const uint8_t *referee_key, int timeout_ms,
                                           pol_mirror **out);

/* Fetches and applies every event after the mirror's head.
 * Returns: as pol_mirror_open. Out: *n_new (may be NULL): events applied. */
POL_WARN_UNUSED pol_status pol_mirror_sync(pol_mirror *m, size_t *n_new);

/* Seals `a` (game id and nonce = the signer's mirror nonce + 1 are filled
 * in), sends it, and syncs until the mirror has applied it.
 * Returns: POL_OK; the referee's refusal as its status (POL_ERR_RULES
 *          ...), with its message; the errors of pol_mirror_sync.
 * Out: *seq (may be NULL): the event's seq. */
POL_WARN_UNUSED pol_status pol_mirror_act(pol_mirror *m, pol_game_action *a, uint64_t *seq);

/* The local game (valid until the next sync) and its head seq. */
const pol_game *pol_mirror_game(const pol_mirror *m);
uint64_t pol_mirror_head(const pol_mirror *m);
/* The game's rules (the genesis the referee sent). */
const pol_genesis *pol_mirror_genesis(const pol_mirror *m);
/* The party's own public key. */
const uint8_t *pol_mirror_self(const pol_mirror *m);
pol_mirror_stats pol_mirror_get_stats(const pol_mirror *m);
/* Receives the game's log lines while events are applied (fn NULL: none). */
void pol_mirror_set_log(pol_mirror *m, pol_game_log_fn fn, void *user);
void pol_mirror_close(pol_mirror *m);

/* ---------------------------------------------------------- endpoints */

/* Where a task's parties serve: the endpoint in the game when the game
 * carries one, else the entry for that key from a peer list given with
 * pol_role_peer_add (the "--peer KEYHEX=HOST:PORT" options).
 * Returns: POL_OK; POL_ERR_NOT_FOUND. Out: addr. */
POL_WARN_UNUSED pol_status pol_role_solver_endpoint(const pol_game_task *t,
                                                    char addr[POL_ROLE_ENDPOINT_MAX]);
POL_WARN_UNUSED pol_status pol_role_peer_add(const char *spec);
/* Sets a's endpoint (CLAIM, SUBMIT_REPORT, CHALLENGE) [G-ACT-4]; NULL: "". */
void pol_role_action_endpoint(pol_game_action *a, const char *addr);

/* ---------------------------------------------------------- the server */

typedef struct pol_role_server pol_role_server;

typedef struct pol_role_server_stats {
    uint64_t pin_queries;    /* pinpoint queries answered */
    uint64_t pin_failed;     /* pinpoint queries with no answer */
    uint64_t bytes_answers;  /* encoded answers sent */
    uint64_t blobs;          /* blobs served */
    uint64_t bytes_blobs;
} pol_role_server_stats;

/* Creates a party server on `listen` (port 0: a free one) that serves
 * blobs from blob_dir: a request for hash h is answered with the file
 * blob_dir/<hex h>.safetensors (a checkpoint, named by its state hash) or
 * blob_dir/<hex h> (a tensor blob, named by its SHA-256). kp is copied. */
POL_WARN_UNUSED pol_status pol_role_server_open(const char *listen, const pol_keypair *kp,
                                                const char *blob_dir, pol_role_server **out);

/* Called for a pinpoint query when no party is set, so a party can be
 * created on first use; returns the party or NULL (no answer). */
typedef const pol_party *(*pol_role_party_fn)(void *arg);

/* The party that answers pinpoint queries (party may be NULL: none), or a
 * function that makes one when first needed. The party must outlive its
 * use. */
void pol_role_server_set_party(pol_role_server *s, const pol_party *party);
void pol_role_server_set_party_fn(pol_role_server *s, pol_role_party_fn fn, void *arg);

/* The same for every query kind (pol/pinwire.h, pol_pin_serve_any): what
 * answers a party's pinpoint queries, the solver of a transition dispute
 * and its challenger included. served is copied (its callees must outlive
 * their use); NULL: none. A function set with set_served_fn is asked when
 * nothing is set; it returns NULL for no answer. */
typedef const pol_pin_served *(*pol_role_served_fn)(void *arg);
void pol_role_server_set_served(pol_role_server *s, const pol_pin_served *served);
void pol_role_server_set_served_fn(pol_role_server *s, pol_role_served_fn fn, void *arg);
/* FOR TESTS ONLY: serves blobs only to requests signed by `only` (e.g. the
 * referee's key) and refuses every other party's with POL_ERR_NOT_FOUND, as
 * a solver withholding its checkpoints from verifiers would; NULL serves
 * everyone again (the default). Pinpoint queries are not affected. */
void pol_role_server_withhold_blobs(pol_role_server *s, const uint8_t only[POL_PUBKEY_LEN]);
uint16_t pol_role_server_port(const pol_role_server *s);
POL_WARN_UNUSED pol_status pol_role_server_poll(pol_role_server *s, int timeout_ms);
pol_role_server_stats pol_role_server_get_stats(const pol_role_server *s);
void pol_role_server_close(pol_role_server *s);

/* Hard-links (or copies) a checkpoint file into blob_dir under its state
 * hash, checking the hash. */
POL_WARN_UNUSED pol_status pol_role_store_put(const char *blob_dir, const char *ckpt_path);

/* ------------------------------------------------------------- tasks */

/* A task of the game made usable locally: its file written to
 * work_dir/tasks/<task id>/task.json beside a link to its dataset (found
 * under data_dir, like the referee does), parsed, and its dataset loaded. */
typedef struct pol_role_task {
    char path[POL_PATH_MAX];   /* the task file */
    char dir[POL_PATH_MAX];    /* its directory */
    pol_task task;
    pol_dataset ds;
} pol_role_task;

POL_WARN_UNUSED pol_status pol_role_task_open(const char *work_dir, const char *data_dir,
                                              const uint8_t *json, size_t len,
                                              pol_role_task *out);
void pol_role_task_close(pol_role_task *t);

/* Fetches the checkpoint whose state hash is *h from a party server into
 * store_dir/<hex>.safetensors, unless it is there already. The bytes are
 * checked with pol_st_parse + pol_st_state_hash before they are stored.
 * Returns: POL_OK; the errors of pol_net_call; the server's status;
 *          POL_ERR_HASH_MISMATCH; the errors of pol_st_parse and the file
 *          writer. */
POL_WARN_UNUSED pol_status pol_role_fetch_checkpoint(pol_net_conn *c, const pol_keypair *kp,
                                                     const pol_digest *h, const char *store_dir);

/* The whole-interval thresholds of metric `metric` in the profile of a
 * tolerant-mode task (t->profile_env, spec/game.md [G-POST-2]), as
 * pol_verify takes them: one pol_threshold per ProfileReport entry with op
 * "" and that metric, of every state group, in the report's order (the
 * mapping of pol_profile_load_thresholds for a profile JSON file). A
 * profile made before optimizer-state thresholds yields the parameters'
 * alone, which pol_verify refuses (POL_ERR_NOT_FOUND) for a state with
 * optimizer tensors.
 * Returns: POL_OK; POL_ERR_NOT_FOUND (no profile, or no whole-interval
 *          threshold of that metric); the errors of pol_game_profile_open;
 *          POL_ERR_NOMEM. Out: *out (malloc'd), *n. */
POL_WARN_UNUSED pol_status pol_role_profile_thresholds(const pol_game_task *t, pol_metric metric,
                                                       pol_threshold **out, size_t *n);

/* The per-op node tolerance of a tolerant-mode task, from its signed profile
 * (a ProfileReport envelope for task_id, spec/referee.md [R-DSP-6]): metric
 * l2_rel when the profile has per-op l2_rel thresholds, else the metric of
 * its first per-op threshold; each per-op threshold in that metric
 * (interval_len 0) at its op code; an op without one keeps 0; an op name
 * this library does not know is skipped. What the referee judges a
 * transition dispute with, and so what an honest challenger searches with.
 * Returns: POL_OK; POL_ERR_NOT_FOUND (no profile); the errors of
 *          pol_game_profile_open. Out: *tol (zeroed on failure). */
POL_WARN_UNUSED pol_status pol_role_profile_tolerance(const uint8_t *profile_env, size_t len,
                                                      const pol_digest *task_id,
                                                      pol_pin_tolerance *tol);

/* Checks the certificate of task t as a verifier does: opens the
 * certificate envelope, fetches the checkpoints the sample needs from
 * the solver's endpoint into work_dir/store, runs pol_verify (`samples`
 * random intervals from a fresh beacon, POL_VERIFY_ALL: every interval;
 * plus the top update; a tolerant-mode task is compared by l2_rel distance
 * against the whole-interval thresholds of its profile,
 * pol_role_profile_thresholds),
 * and, when report_env is non-NULL, signs the report (pol_report_from_verify,
 * type 3 envelope) with kp. When the solver does not serve a checkpoint the
 * sample needs (cannot be reached, has no such blob, serves another), an
 * exact-mode certificate is verified by replay instead (pol_verify_opts
 * .replay, every interval, spec/certificate.md [V-VER-7]) and why says so;
 * a tolerant-mode one cannot be, and the fetch error is returned.
 * Returns: POL_OK (a rejection is *accept == 0, not an error); the errors
 *          of the steps. Out: *accept; *report_env, *report_len (malloc'd);
 *          why (may be NULL): the reason of a reject, and whether the run was
 *          replayed, 256 bytes. */
POL_WARN_UNUSED pol_status pol_role_check_cert(const pol_game_task *t, const pol_keypair *kp,
                                               const char *work_dir, const char *data_dir,
                                               uint32_t samples, int *accept,
                                               uint8_t **report_env, size_t *report_len,
                                               char *why);

/* ------------------------------------------------------ the challenger */

/* The challenger's side of a dispute (a verifier that rejected, or a
 * whistleblower that challenged), created when the referee's first pinpoint
 * query arrives (install pol_role_challenger_served_fn with the server) and
 * dropped when the task is final (pol_role_challenger_tick):
 *  - an exact-mode task: an honest pol_replayer of the disputed task, whose
 *    answers the bisection compares with the solver's;
 *  - a tolerant-mode task (a transition dispute, spec/pinpoint.md 5b): the
 *    honest challenger's search (pol_tol_search) under the tolerance of the
 *    task's profile (pol_role_profile_tolerance), reading the solver's data
 *    from the solver's endpoint (pinpoint queries and blobs, requests signed
 *    with the mirror's key), which names interval, step and leaf. */
typedef struct pol_role_challenger pol_role_challenger;

POL_WARN_UNUSED pol_status pol_role_challenger_create(pol_mirror *m, const char *work_dir,
                                                      const char *data_dir,
                                                      pol_role_challenger **out);
/* A pol_role_party_fn: arg is the challenger (an exact-mode dispute only). */
const pol_party *pol_role_challenger_party_fn(void *arg);
/* A pol_role_served_fn: arg is the challenger (either mode). */
const pol_pin_served *pol_role_challenger_served_fn(void *arg);
/* Drops the replayer (and the server's party) once its task is final. */
void pol_role_challenger_tick(pol_role_challenger *c, pol_role_server *s);
void pol_role_challenger_destroy(pol_role_challenger *c);

/* Wall-clock milliseconds since the epoch. */
uint64_t pol_role_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif /* POL_ROLES_H */
