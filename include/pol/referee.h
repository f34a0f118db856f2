/* libpol — the referee: keeps a game (pol/game.h) in a ledger (pol/ledger.h),
 * serves it over the network (pol/net.h) and settles its disputes with the
 * pinpoint protocol against remote parties (pol/pinwire.h). spec/referee.md.
 *
 * One referee owns one ledger file. At open it rebuilds the game by
 * replaying every stored event with its stored time and checks the game's
 * invariants [R-OPEN-1]. Then pol_referee_poll, called in a loop, does
 * everything else on the calling thread (the "main thread"):
 *  - answers requests: an action is applied at the referee's clock and,
 *    when the game accepts it, appended to the ledger with its projection
 *    rows in one transaction [R-ACT-1 .. R-ACT-4]; events are read back
 *    from the ledger [R-EV-1];
 *  - ticks: a deadline that has passed becomes a tick event at the
 *    deadline's own time [R-TICK-1];
 *  - disputes: each open dispute runs in one worker thread (its own ledger
 *    handle); every answer and blob is journaled before use, so a restart
 *    resumes from the journal [R-DSP-1 .. R-DSP-5]; the worker hands back a
 *    sealed Ruling that the main thread applies like any action.
 * The game object is only ever touched by the main thread.
 *
 * Rules that hold for every function below unless it says otherwise:
 *  - Pointer arguments must be non-NULL.
 *  - A function returning pol_status records a message for pol_last_error
 *    on failure.
 *  - A pol_referee is not thread-safe: call it from one thread.
 */
#ifndef POL_REFEREE_H
#define POL_REFEREE_H

#include <stddef.h>
#include <stdint.h>

#include "pol/game.h"
#include "pol/hash.h"
#include "pol/keys.h"
#include "pol/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "HOST:PORT" plus its NUL. */
#define POL_REFEREE_ENDPOINT_MAX 64

/* Defaults used where an option is 0. */
#define POL_REFEREE_DEFAULT_ANSWER_MS 10000u  /* one answer or blob */
#define POL_REFEREE_DEFAULT_CLOCK_MS 300000u  /* everything one party answers */
#define POL_REFEREE_MAX_EVENTS_BYTES (16u << 20) /* action bytes in one events response */

/* A party's address, for parties whose actions carry none (a directory the
 * operator gives; an endpoint in the game wins over it). */
typedef struct pol_referee_endpoint {
    uint8_t key[POL_PUBKEY_LEN];
    char addr[POL_REFEREE_ENDPOINT_MAX];
} pol_referee_endpoint;

/* Receives one line (no newline) per game log event, per ruling and per
 * notable referee event. */
typedef void (*pol_referee_log_fn)(void *user, const char *line);

typedef struct pol_referee_opts {
    const char *db_path;           /* the ledger file */
    const char *listen;            /* "HOST:PORT"; port 0 picks one */
    const uint8_t *genesis;        /* needed only when db_path does not exist */
    size_t genesis_len;            /* (NULL, 0): open an existing ledger */
    const char *data_dir;          /* base of the tasks' dataset paths (NULL: ".") */
    unsigned answer_timeout_ms;    /* per answer or blob (0: default) */
    unsigned party_clock_ms;       /* per party and dispute (0: default) */
    unsigned arity;                /* level-2 split of the pinpoint protocol (0: 2) */
    const pol_referee_endpoint *endpoints; /* may be NULL when n_endpoints is 0 */
    size_t n_endpoints;
    pol_referee_log_fn log;        /* may be NULL */
    void *log_user;
    int log_events;                /* also log one line per ledger event appended */
} pol_referee_opts;

typedef struct pol_referee pol_referee;

/* Opens (or creates, with opts->genesis) the ledger, replays it into a game,
 * checks pol_game_check and listens.
 * Returns: POL_OK; the errors of pol_ledger_open (POL_ERR_NOT_FOUND when
 *          the ledger is new and no genesis was given, POL_ERR_MISMATCH
 *          when it holds another genesis), of pol_game_create and of the
 *          replay (POL_ERR_FORMAT: a stored event the game refuses);
 *          POL_ERR_INTERNAL (an invariant fails after replay);
 *          the errors of pol_net_server_open; POL_ERR_NOMEM.
 * Out:     *out: the referee; NULL on failure.
 * In:      opts: copied (strings and the endpoint array included); kp: the
 *          referee's key, copied; it must be the genesis referee key
 *          (POL_ERR_MISMATCH otherwise). */
POL_WARN_UNUSED pol_status pol_referee_open(const pol_referee_opts *opts, const pol_keypair *kp,
                                            pol_referee **out);

/* The port the referee listens on. */
uint16_t pol_referee_port(const pol_referee *r);

/* The game (read only; valid until the next pol_referee_poll). */
const pol_game *pol_referee_game(const pol_referee *r);

/* The ledger's last seq. */
uint64_t pol_referee_head(const pol_referee *r);

/* One turn of the loop: waits at most timeout_ms for requests (less when a
 * deadline or a dispute result is due), answers them, appends due ticks,
 * applies a finished dispute's ruling and starts the next dispute.
 * Returns: POL_OK; POL_ERR_IO (or another ledger error) when a ledger write
 *          failed: the referee must stop (its game is ahead of its ledger;
 *          a restart replays the ledger); POL_ERR_INTERNAL. */
POL_WARN_UNUSED pol_status pol_referee_poll(pol_referee *r, int timeout_ms);

/* Stops the dispute worker (its exchanges in flight are not journaled),
 * closes the server and the ledger, wipes the key. NULL is a no-op. */
void pol_referee_close(pol_referee *r);

/* The id of a dispute [R-DSP-1]: SHA-256(task_id || cert_id || u64le
 * round), round = pol_game_task.rounds (1 for the first claim).
 * Returns: POL_OK; POL_ERR_INTERNAL. */
POL_WARN_UNUSED pol_status pol_referee_dispute_id(const pol_digest *task_id,
                                                  const pol_digest *cert_id, uint64_t round,
                                                  pol_digest *out);

/* Journal records [R-JNL-1]: an exchange's query is u8 op || bytes (op 1:
 * a PinQuery; op 2: a blob's 32-byte hash); its answer is u8 result ||
 * u32le elapsed_ms || bytes (result 0: answered, bytes the PinAnswer or the
 * blob; result 1: no answer in time, no bytes). */
#define POL_REFEREE_JNL_CALL 1
#define POL_REFEREE_JNL_FETCH 2
#define POL_REFEREE_JNL_ANSWERED 0
#define POL_REFEREE_JNL_NO_ANSWER 1

#ifdef __cplusplus
}
#endif
#endif /* POL_REFEREE_H */
