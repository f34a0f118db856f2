/* libpol — the incentive game: bonds, forced errors, a jackpot, challenges
 * and rulings, as a deterministic state machine (spec/game.md; messages in
 * proto/game.proto).
 *
 * A game starts from a Genesis (the rules and the funded accounts); its id is
 * the SHA-256 of the Genesis encoding. Parties move by signing GameAction
 * messages in envelopes of type POL_MSG_GAME_ACTION; a referee applies each
 * envelope with the time it received it:
 *
 *     (state, envelope bytes, now_ms) -> new state, or an error
 *
 * and nothing else changes the state: no I/O, no clock, no randomness
 * inside. Deadlines that expire are processed at their own time, not at the
 * time the referee notices them, so the state after an action is the same
 * however often the referee ticked in between [G-TIME-3]. The state is a
 * pure function of the genesis, the list of (envelope, now_ms) applied and
 * the clock [G-REPLAY-1].
 *
 * Rules that hold for every function below unless it says otherwise:
 *  - Pointer arguments must be non-NULL; a buffer may be NULL when its
 *    length is 0.
 *  - Argument order: the game, inputs, then outputs; a length follows its
 *    array.
 *  - A function returning pol_status records a message for pol_last_error on
 *    failure; outputs are zeroed on failure, and a game is left exactly as
 *    it was (nothing half-applied, no nonce consumed).
 *  - Buffers returned through uint8_t ** are malloc'd; free them with free().
 *  - Pointers inside query results (task json, envelopes) point into the
 *    game and stay valid until pol_game_destroy.
 *  - A pol_game is not thread-safe: one thread at a time.
 */
#ifndef POL_GAME_H
#define POL_GAME_H

#include <stddef.h>
#include <stdint.h>

#include "pol/hash.h"
#include "pol/keys.h"
#include "pol/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Caps [G-GEN-1], [G-ACT-1], [G-APPLY-3]. */
#define POL_GAME_MAX_GENESIS_ACCOUNTS 4096u
#define POL_GAME_MAX_GENESIS (1u << 20)        /* bytes of a Genesis encoding */
#define POL_GAME_MAX_ACTION (64u << 20)        /* bytes of a GameAction encoding */
#define POL_GAME_MAX_ACCOUNTS (1u << 16)       /* accounts a game ever holds */
#define POL_GAME_MAX_TASKS (1u << 16)          /* tasks a game ever holds */
#define POL_GAME_MAX_WINDOW_MS (1ull << 40)    /* about 34 years */
#define POL_GAME_MAX_TIME_MS (1ull << 62)      /* the clock never passes this */
#define POL_GAME_PPM 1000000u

/* Domain tags (each followed by one 0x00 byte where it is hashed). */
#define POL_GAME_TAG_SECRET "libpol/forced-secret/v1" /* commit = H(tag 0 secret) */
#define POL_GAME_TAG_FORCED "libpol/forced/v2"        /* the forced-error draw */
#define POL_GAME_TAG_LEDGER "libpol/ledger/v1"        /* the hash chain */

/* ---------------------------------------------------------------- genesis */

typedef struct pol_genesis_account {
    uint8_t key[POL_PUBKEY_LEN];
    uint64_t balance;
} pol_genesis_account;

/* The rules and starting balances of a game (pol.v1.Genesis). */
typedef struct pol_genesis {
    uint8_t referee_key[POL_PUBKEY_LEN]; /* the only key whose rulings and beacons count */
    size_t n_accounts;                   /* 1 .. POL_GAME_MAX_GENESIS_ACCOUNTS */
    pol_genesis_account *accounts;       /* (n_accounts) distinct valid keys */
    uint64_t jackpot;                    /* the pool at genesis */
    uint64_t jackpot_payout;             /* per caught forced error, capped [G-OUT-6] */
    uint32_t forced_error_ppm;           /* <= POL_GAME_PPM */
    uint32_t jackpot_tax_ppm;            /* <= POL_GAME_PPM */
    uint64_t solve_window_ms;            /* every window in [1, POL_GAME_MAX_WINDOW_MS] */
    uint64_t verify_window_ms;
    uint64_t challenge_window_ms;
    uint64_t reveal_window_ms;
    uint64_t dispute_window_ms;
    uint64_t genesis_time_ms;            /* <= POL_GAME_MAX_TIME_MS */
} pol_genesis;

/* Encodes a genesis (canonical form) after checking the rules of
 * pol_genesis_decode.
 * Returns: POL_OK; POL_ERR_INVALID_ARG naming the broken rule;
 *          POL_ERR_NOMEM; POL_ERR_INTERNAL.
 * Out:     *buf, *len: the encoding. */
POL_WARN_UNUSED pol_status pol_genesis_encode(const pol_genesis *gen, uint8_t **buf, size_t *len);

/* Decodes a pol.v1.Genesis through the hardened wire path (cap
 * POL_GAME_MAX_GENESIS, byte budget, no unknown fields, canonical form) and
 * checks [G-GEN-1 .. G-GEN-4]: keys 32 bytes and valid, accounts distinct
 * and 1 .. POL_GAME_MAX_GENESIS_ACCOUNTS of them, ppm values <= 10^6,
 * windows in [1, POL_GAME_MAX_WINDOW_MS], genesis time <= POL_GAME_MAX_TIME_MS,
 * the total supply (balances + jackpot) below 2^64.
 * Returns: POL_OK; POL_ERR_TOO_LARGE; POL_ERR_NOMEM; POL_ERR_FORMAT.
 * Out:     *out: the genesis, freed with pol_genesis_free; zeroed on failure. */
POL_WARN_UNUSED pol_status pol_genesis_decode(const uint8_t *buf, size_t len, pol_genesis *out);

/* Frees gen->accounts and zeroes *gen. NULL is a no-op. */
void pol_genesis_free(pol_genesis *gen);

/* ---------------------------------------------------------------- actions */

/* An endpoint: "HOST:PORT" where a party serves blobs and pinpoint answers
 * (pol/net.h), at most POL_GAME_ENDPOINT_MAX - 1 printable ASCII bytes; ""
 * when the party serves nothing [G-ACT-4]. The game stores it and never
 * interprets it; the referee dials it in a dispute. */
#define POL_GAME_ENDPOINT_MAX 64

/* Action kinds: the field numbers of GameAction's oneof. */
typedef enum pol_game_kind {
    POL_GAME_POST_TASK = 10,
    POL_GAME_CLAIM = 11,
    POL_GAME_SUBMIT_CERT = 12,
    POL_GAME_SUBMIT_REPORT = 13,
    POL_GAME_CHALLENGE = 14,
    POL_GAME_REVEAL = 15,
    POL_GAME_RULING = 16,
    POL_GAME_BEACON = 17,     /* the referee's randomness for a claim's draw [G-BEACON-1] */
} pol_game_kind;

/* Who lost a dispute (Ruling.loser). */
typedef enum pol_game_loser { POL_GAME_LOSER_SOLVER = 0, POL_GAME_LOSER_CHALLENGER = 1 } pol_game_loser;

/* One GameAction. Only the fields of `kind` are meaningful (the others are
 * zero after decoding and ignored by the encoder). */
typedef struct pol_game_action {
    pol_digest game_id;
    uint64_t nonce;           /* >= 1 */
    uint32_t kind;            /* pol_game_kind */
    pol_digest task_id;       /* every kind but POST_TASK */
    /* POST_TASK */
    const uint8_t *task_json; /* 1 .. POL_TASK_MAX_BYTES bytes */
    size_t task_json_len;
    uint64_t bounty, verifier_fee, solver_bond, verifier_bond, challenge_bond;
    /* the task's profile: a ProfileReport envelope (type 4), 0 .. POL_WIRE_MAX_ENVELOPE
     * bytes; required for a tolerant-mode task, absent (NULL, 0) for an exact one
     * [G-POST-2] */
    const uint8_t *profile;
    size_t profile_len;
    /* CLAIM */
    pol_digest commit;        /* SHA-256(POL_GAME_TAG_SECRET 0x00 || secret) */
    /* SUBMIT_CERT (a type-2 envelope), SUBMIT_REPORT (a type-3 envelope) */
    const uint8_t *inner;     /* 1 .. POL_WIRE_MAX_ENVELOPE bytes */
    size_t inner_len;
    /* CHALLENGE */
    pol_digest report_id;
    /* CLAIM, SUBMIT_REPORT, CHALLENGE: the acting party's endpoint [G-ACT-4] */
    char endpoint[POL_GAME_ENDPOINT_MAX];
    /* REVEAL */
    uint8_t secret[32];
    /* BEACON: the referee's fresh randomness for the claim's draw [G-BEACON-1] */
    uint8_t beacon[32];
    /* RULING (fields of pol_dispute_result, pol/pinpoint.h) */
    uint32_t loser;           /* pol_game_loser */
    uint32_t reason;          /* pol_dispute_reason, 1 .. 10 */
    uint32_t pin_kind;        /* pol_pin_kind, 0 .. 3 */
    int64_t interval, step, node; /* each >= -1 */
    pol_digest transcript;
    /* Decoded actions own task_json, profile and inner: free with
     * pol_game_action_free. Actions a caller builds may point anywhere. */
    int owned;
} pol_game_action;

/* Encodes an action (canonical form) after checking the rules of
 * pol_game_action_decode.
 * Returns: POL_OK; POL_ERR_INVALID_ARG; POL_ERR_NOMEM; POL_ERR_INTERNAL.
 * Out:     *buf, *len: the encoding. */
POL_WARN_UNUSED pol_status pol_game_action_encode(const pol_game_action *a, uint8_t **buf,
                                                  size_t *len);

/* Decodes a pol.v1.GameAction through the hardened wire path (cap
 * POL_GAME_MAX_ACTION) and checks [G-ACT-1 .. G-ACT-3]: game id and every
 * hash, key and secret exactly 32 bytes; nonce >= 1; exactly one action;
 * task json and inner envelopes non-empty and within their caps; a ruling's
 * loser 0 or 1, reason 1 .. 10, pin kind 0 .. 3, interval, step and node >= -1;
 * a beacon's task id and value 32 bytes each.
 * Returns: POL_OK; POL_ERR_TOO_LARGE; POL_ERR_NOMEM; POL_ERR_FORMAT.
 * Out:     *out: the action (owned = 1), freed with pol_game_action_free;
 *          zeroed on failure. */
POL_WARN_UNUSED pol_status pol_game_action_decode(const uint8_t *buf, size_t len,
                                                  pol_game_action *out);

/* Frees the buffers of a decoded action (owned = 1) and zeroes *a. NULL is a
 * no-op; an action with owned = 0 is only zeroed. */
void pol_game_action_free(pol_game_action *a);

/* For client programs: encodes an action and seals it in an envelope of
 * type POL_MSG_GAME_ACTION signed by kp.
 * Returns: POL_OK; the errors of pol_game_action_encode and
 *          pol_envelope_seal.
 * Out:     *env, *env_len: the envelope. */
POL_WARN_UNUSED pol_status pol_game_action_seal(const pol_game_action *a, const pol_keypair *kp,
                                                uint8_t **env, size_t *env_len);

/* The commit of a forced-error secret: SHA-256(POL_GAME_TAG_SECRET 0x00 ||
 * secret) [G-FORCED-1].
 * Returns: POL_OK; POL_ERR_INTERNAL. Out: *out. */
POL_WARN_UNUSED pol_status pol_game_commit(const uint8_t secret[32], pol_digest *out);

/* The forced-error draw [G-FORCED-2]: x = the first 8 bytes, little-endian,
 * of SHA-256(POL_GAME_TAG_FORCED 0x00 || secret || task_id || beacon), where
 * beacon is the value of the referee's Beacon for the claim
 * (pol_game_task.beacon, once has_beacon is set); forced iff
 * x < ppm * floor(2^64 / 10^6).
 * Returns: POL_OK; POL_ERR_INVALID_ARG (ppm > 10^6); POL_ERR_INTERNAL.
 * Out:     *forced: 1 or 0. */
POL_WARN_UNUSED pol_status pol_game_forced_draw(const uint8_t secret[32], const pol_digest *task_id,
                                                const uint8_t beacon[32], uint32_t ppm,
                                                int *forced);

struct pol_profile_report; /* pol/wire.h */

/* Opens the profile of a tolerant-mode task [G-POST-2]: an envelope of type
 * POL_MSG_PROFILE (any signer; its signature is checked) whose body is a
 * pol.v1.ProfileReport (pol_profile_report_decode) naming task_id (task_id
 * may be NULL: any task).
 * Returns: POL_OK; the errors of pol_envelope_open (a wrong type is
 *          POL_ERR_MISMATCH) and pol_profile_report_decode; POL_ERR_RULES
 *          (the report is for another task).
 * Out:     *out: the report, freed with pol_profile_report_free; zeroed on
 *          failure. signer (may be NULL): the profiling party's key. */
POL_WARN_UNUSED pol_status pol_game_profile_open(const uint8_t *env, size_t len,
                                                 const pol_digest *task_id,
                                                 struct pol_profile_report *out,
                                                 uint8_t signer[POL_PUBKEY_LEN]);

/* ------------------------------------------------------------------- game */

typedef struct pol_game pol_game;

/* Task states [G-STATE-1]. */
typedef enum pol_game_task_state {
    POL_GAME_TASK_OPEN = 1,         /* posted, waiting for a solver */
    POL_GAME_TASK_CLAIMED = 2,      /* a solver works; deadline: certificate */
    POL_GAME_TASK_SUBMITTED = 3,    /* certificate in; deadline: report */
    POL_GAME_TASK_REPORTED = 4,     /* report in; deadline: end of challenges */
    POL_GAME_TASK_AWAIT_REVEAL = 5, /* deadline: the solver's reveal */
    POL_GAME_TASK_DISPUTE = 6,      /* deadline: the referee's ruling */
    POL_GAME_TASK_SETTLED = 7,      /* the solver was paid (final) */
    POL_GAME_TASK_FAILED = 8,       /* the submitter was refunded (final) */
} pol_game_task_state;

/* How a task ended, or how its last round ended (pol_game_task.outcome). */
typedef enum pol_game_outcome {
    POL_GAME_OUT_NONE = 0,
    POL_GAME_OUT_ACCEPTED = 1,       /* settled without a dispute */
    POL_GAME_OUT_FORCED = 2,         /* a forced error was revealed; the round restarted */
    POL_GAME_OUT_RULED_SOLVER = 3,   /* dispute: the solver lost */
    POL_GAME_OUT_RULED_CHALLENGER = 4, /* dispute: the challenger lost, then settled */
    POL_GAME_OUT_SOLVE_TIMEOUT = 5,  /* no certificate in time; task reopened */
    POL_GAME_OUT_REVEAL_TIMEOUT = 6, /* no reveal in time */
    POL_GAME_OUT_DISPUTE_TIMEOUT = 7,/* no ruling in time */
} pol_game_outcome;

/* Who challenged (pol_game_task.challenger_role). */
typedef enum pol_game_role {
    POL_GAME_ROLE_NONE = 0,
    POL_GAME_ROLE_VERIFIER = 1,      /* its report rejected the certificate */
    POL_GAME_ROLE_WHISTLEBLOWER = 2, /* it challenged an accepting report */
} pol_game_role;

/* The forced round of a claim [G-OUT-1], [G-OUT-5]: its certificate's
 * checkpoint root, which the restarted round may not submit again
 * [G-CERT-2], and the report and challenge of that round, whose bonds stay
 * held until the task ends: paid as [G-OUT-5] says when the task settles
 * (a certificate other than the forced one stood), returned to their owners
 * when it fails or the claim lapses. All zero while set is 0. */
typedef struct pol_game_forced_round {
    int set;                       /* this claim had its forced round */
    pol_digest ckpt_root;          /* the forced certificate's checkpoint root */
    int has_verifier, has_whistleblower;
    uint8_t verifier[POL_PUBKEY_LEN], whistleblower[POL_PUBKEY_LEN];
    uint32_t verdict;              /* pol_verdict of its report, if any */
    uint64_t held_verifier, held_whistleblower; /* bonds held for it */
} pol_game_forced_round;

/* A task as the game holds it. Keys are meaningful where their has_ flag is
 * set; deadline is meaningful in states CLAIMED .. DISPUTE. */
typedef struct pol_game_task {
    pol_digest id;                 /* SHA-256(task json) */
    uint32_t state;                /* pol_game_task_state */
    uint32_t outcome;              /* pol_game_outcome of the last finished round */
    uint64_t posted_ms, deadline_ms;
    uint64_t rounds;               /* claims so far (a forced restart counts as one) */
    const uint8_t *task_json;
    size_t task_json_len;
    const uint8_t *profile_env;    /* tolerant mode: the ProfileReport envelope posted with
                                      the task [G-POST-2]; NULL, 0 for an exact-mode task */
    size_t profile_env_len;
    uint8_t submitter[POL_PUBKEY_LEN];
    int has_solver, has_verifier, has_whistleblower;
    uint8_t solver[POL_PUBKEY_LEN], verifier[POL_PUBKEY_LEN], whistleblower[POL_PUBKEY_LEN];
    /* their endpoints, from the claim, the report and the challenge ("" if none) */
    char solver_endpoint[POL_GAME_ENDPOINT_MAX], verifier_endpoint[POL_GAME_ENDPOINT_MAX],
        whistleblower_endpoint[POL_GAME_ENDPOINT_MAX];
    /* terms */
    uint64_t bounty, verifier_fee, solver_bond, verifier_bond, challenge_bond;
    /* escrow now held for this task, by source (and forced_round's held_ fields) */
    uint64_t held_bounty, held_fee, held_solver, held_verifier, held_whistleblower;
    /* the round */
    pol_digest commit, claim_chain; /* claim_chain: the ledger chain right after the claim */
    int has_beacon;                /* the referee's Beacon for this claim was applied */
    uint8_t beacon[32];            /* its value: the forced-error draw's randomness [G-FORCED-2];
                                      kept through a forced restart, cleared by a new claim */
    int has_cert;
    const uint8_t *cert_env;
    size_t cert_env_len;
    pol_digest cert_id;
    pol_digest cert_root;          /* the certificate's checkpoint root (ckpt_root) */
    int has_report;
    const uint8_t *report_env;
    size_t report_env_len;
    pol_digest report_id;
    uint32_t verdict;              /* pol_verdict of the report */
    int revealed, forced;          /* the reveal of this round, and its draw */
    int forced_done;               /* a forced round happened: no more reveal phases */
    pol_game_forced_round forced_round; /* the current claim's forced round, if it had one */
    uint32_t challenger_role;      /* pol_game_role, set in DISPUTE and after */
    uint8_t challenger[POL_PUBKEY_LEN];
    int has_ruling;
    uint32_t loser, reason, pin_kind;
    int64_t interval, step, node;
    pol_digest transcript;
} pol_game_task;

/* An open dispute, as a referee needs it. */
typedef struct pol_game_dispute {
    pol_digest task_id;
    uint8_t solver[POL_PUBKEY_LEN], challenger[POL_PUBKEY_LEN];
    uint32_t challenger_role;      /* pol_game_role */
    char solver_endpoint[POL_GAME_ENDPOINT_MAX], challenger_endpoint[POL_GAME_ENDPOINT_MAX];
    uint64_t deadline_ms;          /* the ruling must be applied before this */
    const uint8_t *cert_env;       /* the disputed certificate envelope */
    size_t cert_env_len;
    const uint8_t *task_json;
    size_t task_json_len;
    const uint8_t *profile_env;    /* as pol_game_task.profile_env */
    size_t profile_env_len;
} pol_game_dispute;

/* What pol_game_apply did. */
typedef struct pol_game_applied {
    uint64_t seq;                  /* 1 for the first action applied, then 2, ... */
    uint32_t kind;                 /* pol_game_kind */
    uint8_t signer[POL_PUBKEY_LEN];
    pol_digest envelope_id, task_id, chain; /* chain: after this action */
} pol_game_applied;

/* Receives one human-readable line per event (no newline). Called only for
 * events of actions and ticks that succeeded, in order. */
typedef void (*pol_game_log_fn)(void *user, const char *line);

/* Creates a game from a Genesis encoding (pol_genesis_decode). The clock
 * starts at genesis_time_ms, the chain at the game id.
 * Returns: POL_OK; the errors of pol_genesis_decode; POL_ERR_NOMEM.
 * Out:     *out: the game (NULL on failure); free with pol_game_destroy. */
POL_WARN_UNUSED pol_status pol_game_create(const uint8_t *genesis, size_t len, pol_game **out);

/* Frees a game. NULL is a no-op. */
void pol_game_destroy(pol_game *g);

/* Sets (fn non-NULL) or clears (fn NULL) the log callback. */
void pol_game_set_log(pol_game *g, pol_game_log_fn fn, void *user);

/* Applies one signed action at time now_ms [G-APPLY-1 .. G-APPLY-4]: opens
 * the envelope (type POL_MSG_GAME_ACTION, signature checked), decodes the
 * action, checks the game id and that its nonce is the signer's last + 1,
 * advances the clock to now_ms (pol_game_advance), applies the rules and
 * extends the chain.
 * Returns: POL_OK;
 *          POL_ERR_INVALID_ARG (now_ms before the game's clock or past
 *          POL_GAME_MAX_TIME_MS);
 *          the errors of pol_envelope_open (POL_ERR_FORMAT,
 *          POL_ERR_SIGNATURE, POL_ERR_MISMATCH, POL_ERR_TOO_LARGE) and of
 *          pol_game_action_decode;
 *          POL_ERR_RULES (wrong game id or nonce, wrong state, wrong party,
 *          late, not enough balance, a certificate before the claim's beacon, an inner envelope signed by another
 *          key, a certificate or report that does not fit the task, a task
 *          json that does not parse, a cap reached);
 *          an inner envelope that does not open or decode keeps the status
 *          of pol_envelope_open / pol_cert_decode / pol_report_decode
 *          (POL_ERR_FORMAT, POL_ERR_SIGNATURE, POL_ERR_MISMATCH, ...);
 *          POL_ERR_NOMEM; POL_ERR_INTERNAL.
 *          On any error the game is unchanged.
 * Out:     *info: what was applied; zeroed on failure. */
POL_WARN_UNUSED pol_status pol_game_apply(pol_game *g, const uint8_t *env, size_t len,
                                          uint64_t now_ms, pol_game_applied *info);

/* Lets time pass: moves the clock to now_ms and processes, in order of
 * (deadline, task index), every deadline <= now_ms at the deadline's own
 * time [G-TIME-1 .. G-TIME-3]. Does not extend the chain.
 * Returns: POL_OK; POL_ERR_INVALID_ARG (now_ms before the clock or past
 *          POL_GAME_MAX_TIME_MS); POL_ERR_NOMEM; POL_ERR_INTERNAL. On error
 *          the game is unchanged. */
POL_WARN_UNUSED pol_status pol_game_advance(pol_game *g, uint64_t now_ms);

/* The earliest pending deadline: a referee should call pol_game_advance at
 * that time. Returns 1 and sets *deadline_ms, or 0 (and 0) when no task
 * waits on a deadline. */
int pol_game_next_deadline(const pol_game *g, uint64_t *deadline_ms);

/* Checks the invariants [G-INV-1 .. G-INV-3]: conservation (balances +
 * every task's escrow + the jackpot == the total supply), each task's
 * escrow and deadline consistent with its state.
 * Returns: POL_OK; POL_ERR_INTERNAL naming the first violation. */
POL_WARN_UNUSED pol_status pol_game_check(const pol_game *g);

/* ---------------------------------------------------------------- queries */

/* The game id (SHA-256 of the genesis encoding) and the chain after the last
 * applied action ([G-CHAIN-1]; the game id before any). */
void pol_game_id(const pol_game *g, pol_digest *out);
void pol_game_chain(const pol_game *g, pol_digest *out);

/* The clock, the number of actions applied, the jackpot pool, the total
 * supply (balances + jackpot at genesis, constant), the referee's key. */
uint64_t pol_game_now(const pol_game *g);
uint64_t pol_game_n_applied(const pol_game *g);
uint64_t pol_game_jackpot(const pol_game *g);
uint64_t pol_game_total_supply(const pol_game *g);
void pol_game_referee(const pol_game *g, uint8_t key[POL_PUBKEY_LEN]);

/* The free balance and the last nonce of a key (0 for a key never seen). */
uint64_t pol_game_balance(const pol_game *g, const uint8_t key[POL_PUBKEY_LEN]);
uint64_t pol_game_nonce(const pol_game *g, const uint8_t key[POL_PUBKEY_LEN]);

/* Accounts in the order the game first saw them (genesis order first).
 * Returns POL_OK, or POL_ERR_NOT_FOUND when index >= the count.
 * Out: key, *balance; zeroed on failure. */
size_t pol_game_n_accounts(const pol_game *g);
POL_WARN_UNUSED pol_status pol_game_account(const pol_game *g, size_t index,
                                            uint8_t key[POL_PUBKEY_LEN], uint64_t *balance);

/* Tasks in the order they were posted.
 * Returns: POL_OK; POL_ERR_NOT_FOUND (index out of range, or no such id).
 * Out:     *out: the task; zeroed on failure. */
size_t pol_game_n_tasks(const pol_game *g);
POL_WARN_UNUSED pol_status pol_game_task_at(const pol_game *g, size_t index, pol_game_task *out);
POL_WARN_UNUSED pol_status pol_game_task_find(const pol_game *g, const pol_digest *id,
                                              pol_game_task *out);

/* The open disputes (tasks in state DISPUTE), in posting order. Writes at
 * most `cap` of them to out (out may be NULL when cap is 0) and returns how
 * many there are. */
size_t pol_game_disputes(const pol_game *g, pol_game_dispute *out, size_t cap);

/* Short names for logs and programs ("open", "claimed", ...; "post_task",
 * "claim", ...); "?" for an unknown value. */
const char *pol_game_task_state_name(uint32_t state);
const char *pol_game_kind_name(uint32_t kind);

#ifdef __cplusplus
}
#endif
#endif /* POL_GAME_H */
