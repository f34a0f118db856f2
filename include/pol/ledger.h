/* libpol — the referee's durable ledger, kept in one SQLite file
 * (spec/ledger.md).
 *
 * The ledger stores opaque bytes and knows nothing of the game's rules:
 *  - a genesis (the game's initial state, as bytes), fixed at creation;
 *  - an append-only list of events (time_ms, action bytes), numbered
 *    seq = 1, 2, 3, ... without gaps; an empty action is a clock tick. The
 *    game state is the fold of the events over the genesis, in seq order;
 *  - projection rows (kind, key) -> text, written in the same transaction as
 *    the event they belong to, so humans can query balances and tasks;
 *  - a dispute journal: each (query, answer) exchanged with a party, stored
 *    before the answer is used, so a restarted referee replays a dispute
 *    without asking again;
 *  - content-addressed blobs (SHA-256 keyed), checked on every read.
 *
 * Crash rule [L-CRASH-1]: every function that writes does so in exactly one
 * SQLite transaction (WAL, synchronous=FULL), committed before it returns
 * POL_OK. A process killed at any moment leaves the ledger as it was after
 * the last call that returned POL_OK, or with the interrupted call's write
 * complete; never half of one.
 *
 * Rules that hold for every function below unless it says otherwise:
 *  - Pointer arguments must be non-NULL; a buffer may be NULL when its
 *    length is 0.
 *  - Argument order: the ledger, inputs, then outputs; a length follows its
 *    array.
 *  - On failure a message is recorded for pol_last_error and outputs are
 *    zeroed (NULL buffers, zero lengths), with nothing left allocated.
 *  - SQLite errors map to: SQLITE_NOMEM -> POL_ERR_NOMEM; SQLITE_NOTADB and
 *    SQLITE_CORRUPT -> POL_ERR_FORMAT; SQLITE_TOOBIG -> POL_ERR_TOO_LARGE;
 *    every other -> POL_ERR_IO. The message carries SQLite's own text.
 *  - Buffers returned through uint8_t ** are malloc'd; free them with free().
 *  - A handle is not thread-safe: use one handle per thread (several
 *    handles, even in several processes, may share one file; writers take
 *    turns, waiting up to POL_LEDGER_BUSY_MS for each other).
 */
#ifndef POL_LEDGER_H
#define POL_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "pol/hash.h"
#include "pol/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The schema version this build writes and reads [L-FILE-2]. */
#define POL_LEDGER_SCHEMA_VERSION 1

/* SQLite's application_id of a libpol ledger: "polL" [L-FILE-1]. */
#define POL_LEDGER_APPLICATION_ID 0x706f6c4c

/* How long a call waits for another writer's lock, in milliseconds. */
#define POL_LEDGER_BUSY_MS 5000

/* Size caps, in bytes [L-CAP-1]. A larger input is refused with
 * POL_ERR_TOO_LARGE before anything is written; a stored item found larger
 * than its cap when read is POL_ERR_FORMAT. */
#define POL_LEDGER_MAX_GENESIS (64u << 20)           /* genesis */
#define POL_LEDGER_MAX_ACTION ((64u << 20) + 4096u)  /* one action: any envelope */
#define POL_LEDGER_MAX_KIND 64u                      /* projection kind, [a-z0-9_] */
#define POL_LEDGER_MAX_KEY 1024u                     /* projection key */
#define POL_LEDGER_MAX_VALUE (64u << 10)             /* projection value (text) */
#define POL_LEDGER_MAX_ROWS 4096u                    /* projection rows per event */
#define POL_LEDGER_MAX_JOURNAL ((64u << 20) + 4096u) /* a query or an answer */
#define POL_LEDGER_MAX_BLOB (512u << 20)             /* one blob */

/* A ledger handle (opaque). */
typedef struct pol_ledger pol_ledger;

/* ---------------------------------------------------------------- file */

/* Opens the ledger at `path`, creating it if there is no file there.
 * Creation [L-FILE-3] builds the whole ledger (schema, schema version,
 * genesis) in a temporary file "<path>.new-XXXXXX" beside it and links it
 * into place only when complete, so `path` never names a half-made ledger;
 * a file that appears at `path` meanwhile is never clobbered (it is opened
 * instead). An existing file is opened only if it is a libpol ledger of
 * schema version <= POL_LEDGER_SCHEMA_VERSION [L-FILE-1, L-FILE-2]; a file
 * that is refused is left byte for byte as it was [L-FILE-4]. Every open
 * sets journal_mode=WAL, synchronous=FULL, foreign_keys=ON and a busy
 * timeout of POL_LEDGER_BUSY_MS.
 * Returns: POL_OK;
 *          POL_ERR_NOT_FOUND when there is no file and genesis is NULL;
 *          POL_ERR_FORMAT when the file is not a libpol ledger or has a
 *          newer schema version;
 *          POL_ERR_MISMATCH when a genesis is given and differs from the
 *          stored one [L-FILE-5];
 *          POL_ERR_TOO_LARGE when genesis_len > POL_LEDGER_MAX_GENESIS;
 *          POL_ERR_UNSUPPORTED when the SQLite library is older than 3.37
 *          (STRICT tables);
 *          POL_ERR_IO; POL_ERR_NOMEM; POL_ERR_INVALID_ARG (NULL or empty
 *          path).
 * Out:     *l: the handle; NULL on failure.
 * In:      path: the database file;
 *          genesis, genesis_len: the initial state's bytes; NULL to open
 *          an existing ledger whatever its genesis (genesis_len is then
 *          ignored). An empty genesis is genesis != NULL with length 0. */
POL_WARN_UNUSED pol_status pol_ledger_open(const char *path, const uint8_t *genesis,
                                           size_t genesis_len, pol_ledger **l);

/* Closes the handle. NULL is a no-op. */
void pol_ledger_close(pol_ledger *l);

/* The stored genesis.
 * Out: *bytes: the genesis, owned by the handle and valid until
 *      pol_ledger_close (NULL when *len is 0); *len: its length. */
void pol_ledger_genesis(const pol_ledger *l, const uint8_t **bytes, size_t *len);

/* ------------------------------------------------------------- events */

/* One projection row written with an event [L-PROJ-1]: the row (kind, key)
 * of table `projection` is set to `value`, or deleted when value is NULL.
 * Rows are applied in array order, so a later row for the same (kind, key)
 * wins. */
typedef struct pol_ledger_row {
    const char *kind;   /* NUL-terminated, 1..POL_LEDGER_MAX_KIND of [a-z0-9_] */
    const uint8_t *key; /* key bytes (may be NULL when key_len is 0) */
    size_t key_len;     /* 0..POL_LEDGER_MAX_KEY */
    const char *value;  /* NUL-terminated text (UTF-8 by convention), at most
                           POL_LEDGER_MAX_VALUE bytes; NULL deletes the row */
} pol_ledger_row;

/* Appends one event, with its projection rows, in one transaction
 * [L-EV-1]. Its seq is the last seq + 1 (1 for the first event) [L-EV-2];
 * its time must be >= the last event's time [L-EV-3]. An action whose id is
 * already in the ledger is not appended again: POL_ERR_EXISTS, with the seq
 * it got the first time, whatever time_ms and rows this call carries, so a
 * client retrying after a lost answer learns its seq [L-EV-4]. Ticks have
 * no id and are never deduplicated.
 * Returns: POL_OK;
 *          POL_ERR_EXISTS (see above; *seq is set);
 *          POL_ERR_INVALID_ARG when time_ms is below the last event's time
 *          or above INT64_MAX, a tick's id is neither NULL nor zero, an
 *          action's id is NULL, or a row is malformed (kind outside
 *          [a-z0-9_], NULL kind);
 *          POL_ERR_HASH_MISMATCH when id != SHA-256(action);
 *          POL_ERR_TOO_LARGE when an item exceeds its cap;
 *          POL_ERR_IO; POL_ERR_NOMEM; POL_ERR_FORMAT (damaged file).
 *          On every error nothing is written.
 * Out:     *seq: the event's seq (the existing one for POL_ERR_EXISTS);
 *          0 on other failures.
 * In:      time_ms: the event's time, milliseconds;
 *          action, action_len: the action's bytes; length 0 is a tick;
 *          id: SHA-256 of the action; for a tick NULL or all zero;
 *          rows, n_rows: projection rows (rows may be NULL when n_rows
 *          is 0). */
POL_WARN_UNUSED pol_status pol_ledger_append(pol_ledger *l, uint64_t time_ms,
                                             const uint8_t *action, size_t action_len,
                                             const pol_digest *id, const pol_ledger_row *rows,
                                             size_t n_rows, uint64_t *seq);

/* The last event.
 * Returns: POL_OK; POL_ERR_IO; POL_ERR_NOMEM; POL_ERR_FORMAT.
 * Out:     *seq: the last seq, 0 when there are no events;
 *          *time_ms: its time, 0 when there are no events. */
POL_WARN_UNUSED pol_status pol_ledger_head(pol_ledger *l, uint64_t *seq, uint64_t *time_ms);

/* Reads one event.
 * Returns: POL_OK; POL_ERR_NOT_FOUND when there is no event `seq`;
 *          POL_ERR_IO; POL_ERR_NOMEM; POL_ERR_FORMAT.
 * Out:     *time_ms; *action, *action_len: a malloc'd copy of the action
 *          (NULL and 0 for a tick); *id: the action's id (zero for a tick).
 * In:      seq: 1-based. */
POL_WARN_UNUSED pol_status pol_ledger_event(pol_ledger *l, uint64_t seq, uint64_t *time_ms,
                                            uint8_t **action, size_t *action_len,
                                            pol_digest *id);

/* Called by pol_ledger_events for each event. `action` (NULL for a tick) and
 * `id` are valid only during the call. Returning anything but POL_OK stops
 * the iteration, and pol_ledger_events returns that status. The callback
 * must not call pol_ledger functions on the same handle. */
typedef pol_status (*pol_ledger_event_fn)(void *ctx, uint64_t seq, uint64_t time_ms,
                                          const uint8_t *action, size_t action_len,
                                          const pol_digest *id);

/* Calls fn for the events from_seq, from_seq + 1, ... in order, at most
 * `max` of them (0: no limit), from one consistent snapshot [L-EV-5].
 * Returns: POL_OK; the callback's status; POL_ERR_FORMAT when the stored
 *          seqs have a gap; POL_ERR_IO; POL_ERR_NOMEM.
 * Out:     *n: the number of events passed to fn (also on failure).
 * In:      from_seq: the first seq wanted (0 is taken as 1); max;
 *          fn, ctx: the callback and its context (ctx may be NULL). */
POL_WARN_UNUSED pol_status pol_ledger_events(pol_ledger *l, uint64_t from_seq, uint64_t max,
                                             pol_ledger_event_fn fn, void *ctx, uint64_t *n);

/* Finds the event of an action by its id.
 * Returns: POL_OK; POL_ERR_NOT_FOUND; POL_ERR_IO; POL_ERR_NOMEM.
 * Out:     *seq: its seq; 0 on failure. */
POL_WARN_UNUSED pol_status pol_ledger_find(pol_ledger *l, const pol_digest *id, uint64_t *seq);

/* Reads one projection row.
 * Returns: POL_OK; POL_ERR_NOT_FOUND; POL_ERR_INVALID_ARG (malformed kind);
 *          POL_ERR_TOO_LARGE; POL_ERR_IO; POL_ERR_NOMEM; POL_ERR_FORMAT.
 * Out:     *value: a malloc'd NUL-terminated copy; *seq: the event that
 *          last wrote the row.
 * In:      kind; key, key_len. */
POL_WARN_UNUSED pol_status pol_ledger_projection(pol_ledger *l, const char *kind,
                                                 const uint8_t *key, size_t key_len,
                                                 char **value, uint64_t *seq);

/* ---------------------------------------------------- dispute journal */

/* Stores exchange number `seq` of a dispute with one party [L-JNL-1], in one
 * transaction. Exchanges are numbered 1, 2, ... per (dispute, party) without
 * gaps: a new exchange must have seq = the party's last + 1 [L-JNL-2].
 * Storing an exchange that is already there with the same bytes is a no-op
 * returning POL_OK (so a replay may put again); with different bytes it is
 * POL_ERR_MISMATCH and the stored one stays [L-JNL-3].
 * Returns: POL_OK; POL_ERR_MISMATCH;
 *          POL_ERR_INVALID_ARG (party not 0 or 1, seq 0, seq leaves a gap);
 *          POL_ERR_TOO_LARGE; POL_ERR_IO; POL_ERR_NOMEM; POL_ERR_FORMAT.
 * In:      dispute: the dispute's id; party: 0 or 1; seq: 1-based;
 *          query, query_len; answer, answer_len: the exchange's bytes. */
POL_WARN_UNUSED pol_status pol_ledger_journal_put(pol_ledger *l, const pol_digest *dispute,
                                                  uint32_t party, uint64_t seq,
                                                  const uint8_t *query, size_t query_len,
                                                  const uint8_t *answer, size_t answer_len);

/* Reads exchange `seq` of a dispute with one party.
 * Returns: POL_OK; POL_ERR_NOT_FOUND; POL_ERR_INVALID_ARG; POL_ERR_IO;
 *          POL_ERR_NOMEM; POL_ERR_FORMAT.
 * Out:     *query, *query_len, *answer, *answer_len: malloc'd copies
 *          (NULL for an empty one). */
POL_WARN_UNUSED pol_status pol_ledger_journal_get(pol_ledger *l, const pol_digest *dispute,
                                                  uint32_t party, uint64_t seq, uint8_t **query,
                                                  size_t *query_len, uint8_t **answer,
                                                  size_t *answer_len);

/* The transcript hash of a dispute's journal [L-JNL-4]:
 *   SHA-256("libpol/ledger-journal/v1" 0x00 || dispute ||
 *           for each exchange in (party, seq) order:
 *             u8 party || u64le seq || u64le query_len || query ||
 *             u64le answer_len || answer)
 * A dispute with no exchanges hashes the tag and the dispute id alone.
 * Returns: POL_OK; POL_ERR_IO; POL_ERR_NOMEM; POL_ERR_FORMAT;
 *          POL_ERR_INTERNAL.
 * Out:     *digest; zeroed on failure.
 *          *count: the number of exchanges hashed; 0 on failure. */
POL_WARN_UNUSED pol_status pol_ledger_journal_digest(pol_ledger *l, const pol_digest *dispute,
                                                     pol_digest *digest, uint64_t *count);

/* --------------------------------------------------------------- blobs */

/* Stores a blob under its SHA-256 [L-BLOB-1]. Storing one that is already
 * there is a no-op.
 * Returns: POL_OK; POL_ERR_TOO_LARGE; POL_ERR_IO; POL_ERR_NOMEM;
 *          POL_ERR_INTERNAL.
 * Out:     *hash: SHA-256 of the bytes; zeroed on failure.
 * In:      data, len. */
POL_WARN_UNUSED pol_status pol_ledger_blob_put(pol_ledger *l, const uint8_t *data, size_t len,
                                               pol_digest *hash);

/* Reads a blob and checks it against its hash [L-BLOB-2].
 * Returns: POL_OK; POL_ERR_NOT_FOUND; POL_ERR_HASH_MISMATCH when the stored
 *          bytes do not hash to `hash` (the file was damaged or edited);
 *          POL_ERR_FORMAT (stored blob over the cap); POL_ERR_IO;
 *          POL_ERR_NOMEM; POL_ERR_INTERNAL.
 * Out:     *data, *len: a malloc'd copy (NULL for an empty blob). */
POL_WARN_UNUSED pol_status pol_ledger_blob_get(pol_ledger *l, const pol_digest *hash,
                                               uint8_t **data, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* POL_LEDGER_H */
