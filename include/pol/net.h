/* libpol — the network layer: framed, signed requests and responses over TCP
 * (spec/net.md; schema proto/net.proto, package pol.v1).
 *
 * Every libpol program (referee, solver, verifier, whistleblower) talks over
 * TCP in frames: a u32 big-endian length, then that many bytes, which are one
 * signed Envelope [N-FRAME-1]. A client sends a Request (envelope type 6)
 * and reads one Response (type 7) signed by the server. Peers are
 * untrusted: every length is capped before it is read, every read and write
 * has a deadline, every signature is checked.
 *
 * Rules that hold for every function below unless it says otherwise:
 *  - Pointer arguments must be non-NULL; a buffer may be NULL when its
 *    length is 0.
 *  - Argument order: inputs, then outputs; a length follows its array.
 *  - On failure a message is recorded for pol_last_error and outputs are
 *    zeroed (NULL buffers, zero lengths, fd -1), with nothing left allocated.
 *  - Buffers returned through uint8_t ** are malloc'd; free them with free().
 *  - Timeouts are in milliseconds and must be >= 1 (POL_ERR_INVALID_ARG
 *    otherwise); a deadline bounds the whole operation, not each system
 *    call, so a peer that trickles bytes cannot extend it [N-TIME-1].
 *  - No function raises SIGPIPE; EINTR is retried.
 */
#ifndef POL_NET_H
#define POL_NET_H

#include <stddef.h>
#include <stdint.h>

#include "pol/hash.h"
#include "pol/keys.h"
#include "pol/status.h"
#include "pol/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Caps [N-CAP-1]. A frame holds at most POL_WIRE_MAX_ENVELOPE bytes; the
 * Request and Response bodies are capped at the same size. */
#define POL_NET_MAX_EVENTS 4096u /* ledger events in one Response */
#define POL_NET_ERROR_MAX 256    /* Response.error, bytes including the NUL */
#define POL_NET_MAX_STATUS 0xffffu /* largest Response.status accepted */
/* Bytes a Response envelope adds around its payload (keys, signature,
 * ids, error text, tags), for callers that size a frame cap. */
#define POL_NET_RESPONSE_OVERHEAD 1024u

/* Decode byte budgets (spec/wire.md [W-CAP-2]). */
#define POL_NET_BUDGET_REQUEST 2u
#define POL_NET_BUDGET_RESPONSE 32u

/* Defaults used where a caller passes 0. */
#define POL_NET_DEFAULT_TIMEOUT_MS 10000
#define POL_NET_DEFAULT_MAX_CONNS 64u

/* ------------------------------------------------------------- messages */

/* What a request asks, and what a successful response carries. */
typedef enum pol_net_kind {
    POL_NET_NONE = 0,   /* response only: no payload (status != 0) */
    POL_NET_ACTION = 1, /* apply a GameAction envelope -> the ledger seq */
    POL_NET_EVENTS = 2, /* ledger events from a seq -> events, head, genesis */
    POL_NET_BLOB = 3,   /* a blob by SHA-256 -> its bytes */
    POL_NET_PIN = 4,    /* a PinQuery -> a PinAnswer */
} pol_net_kind;

/* pol.v1.Request [N-REQ-1 .. N-REQ-3]. */
typedef struct pol_net_request {
    uint64_t id;        /* chosen by the asker, echoed in the response */
    uint64_t time_ms;   /* the asker's clock; advisory [N-REPLAY-1] */
    uint32_t kind;      /* pol_net_kind, 1..4 */
    uint64_t events_from; /* EVENTS: first seq wanted (0: from the start, with genesis) */
    pol_digest blob_hash; /* BLOB: SHA-256 of the blob wanted */
    uint8_t *data;      /* ACTION: the GameAction envelope (non-empty);
                           PIN: the PinQuery bytes. Decoded values own it
                           (pol_net_request_free); encoders only read it. */
    size_t data_len;
} pol_net_request;

/* One ledger event: an applied action, or a clock tick (action_len 0). */
typedef struct pol_net_event {
    uint64_t seq;       /* >= 1; consecutive within a response */
    uint64_t time_ms;
    uint8_t *action;    /* the GameAction envelope as received; NULL for a tick */
    size_t action_len;
} pol_net_event;

/* pol.v1.Response [N-RESP-1 .. N-RESP-4]. Decoded values own every
 * pointer (pol_net_response_free); encoders only read them. */
typedef struct pol_net_response {
    uint64_t id;            /* the request's id; 0 when the request was not readable */
    pol_digest request_id;  /* envelope id of the request answered */
    uint32_t status;        /* pol_status of handling it, <= POL_NET_MAX_STATUS */
    char error[POL_NET_ERROR_MAX]; /* printable ASCII; "" when status is 0 */
    uint32_t kind;          /* POL_NET_NONE when status != 0, else the request's kind */
    uint64_t applied_seq;   /* ACTION */
    size_t n_events;        /* EVENTS: <= POL_NET_MAX_EVENTS */
    pol_net_event *events;  /* EVENTS: (n_events) */
    uint64_t head_seq;      /* EVENTS: the ledger's last seq, >= every event's seq */
    uint8_t *genesis;       /* EVENTS: the Genesis encoding, or NULL */
    size_t genesis_len;
    uint8_t *data;          /* BLOB: the bytes; PIN: the PinAnswer bytes */
    size_t data_len;
} pol_net_response;

/* Encodes a request as a pol.v1.Request message (canonical form).
 * Returns: POL_OK; POL_ERR_INVALID_ARG (a value with no encoding: the rules
 *          of pol_net_request_decode); POL_ERR_NOMEM.
 * Out:     *buf, *len: the message. */
POL_WARN_UNUSED pol_status pol_net_request_encode(const pol_net_request *r, uint8_t **buf,
                                                  size_t *len);

/* Decodes a pol.v1.Request [N-REQ-1 .. N-REQ-3] through the hardened path
 * of spec/wire.md (cap, budget, unknown fields, canonical form): exactly
 * one kind; a blob hash of 32 bytes; a non-empty action.
 * Returns: POL_OK; POL_ERR_TOO_LARGE (len > POL_WIRE_MAX_ENVELOPE);
 *          POL_ERR_NOMEM; POL_ERR_FORMAT.
 * Out:     *out: the request; free with pol_net_request_free. Zero on
 *          failure. */
POL_WARN_UNUSED pol_status pol_net_request_decode(const uint8_t *buf, size_t len,
                                                  pol_net_request *out);

/* Frees r->data and zeroes *r. NULL is a no-op. */
void pol_net_request_free(pol_net_request *r);

/* Encodes a response as a pol.v1.Response message (canonical form).
 * Returns: POL_OK; POL_ERR_INVALID_ARG (the rules of
 *          pol_net_response_decode); POL_ERR_NOMEM.
 * Out:     *buf, *len: the message. */
POL_WARN_UNUSED pol_status pol_net_response_encode(const pol_net_response *r, uint8_t **buf,
                                                   size_t *len);

/* Decodes a pol.v1.Response [N-RESP-1 .. N-RESP-4]: request_id of 32
 * bytes; status <= POL_NET_MAX_STATUS; error at most POL_NET_ERROR_MAX - 1
 * bytes of printable ASCII and empty when status is 0; a payload exactly
 * when status is 0; at most POL_NET_MAX_EVENTS events, with consecutive
 * seqs >= 1 and <= head_seq.
 * Returns: POL_OK; POL_ERR_TOO_LARGE (len > POL_WIRE_MAX_ENVELOPE);
 *          POL_ERR_NOMEM; POL_ERR_FORMAT.
 * Out:     *out: the response; free with pol_net_response_free. Zero on
 *          failure. */
POL_WARN_UNUSED pol_status pol_net_response_decode(const uint8_t *buf, size_t len,
                                                   pol_net_response *out);

/* Frees every buffer of a response and zeroes it. NULL is a no-op. */
void pol_net_response_free(pol_net_response *r);

/* ---------------------------------------------------- addresses, sockets */

/* Parses "HOST:PORT" [N-ADDR-1]: HOST is an IPv4 dotted quad (four
 * decimal numbers 0..255 without leading zeros) or "localhost"
 * (127.0.0.1); PORT is decimal 0..65535 without sign or leading zeros.
 * Returns: POL_OK; POL_ERR_FORMAT (the message says what is wrong).
 * Out:     *ipv4: the address in host byte order; *port. */
POL_WARN_UNUSED pol_status pol_net_addr_parse(const char *addr, uint32_t *ipv4, uint16_t *port);

/* Opens a TCP connection to addr (port 1..65535) within timeout_ms.
 * Returns: POL_OK; POL_ERR_FORMAT (address); POL_ERR_NETWORK (refused,
 *          unreachable, reset); POL_ERR_TIMEOUT.
 * Out:     *fd: a non-blocking connected socket; close it with close(). */
POL_WARN_UNUSED pol_status pol_net_dial(const char *addr, int timeout_ms, int *fd);

/* Opens a listening TCP socket on addr; port 0 picks a free port.
 * Returns: POL_OK; POL_ERR_FORMAT; POL_ERR_NETWORK (bind, listen).
 * Out:     *fd: a non-blocking listening socket; *port: the bound port. */
POL_WARN_UNUSED pol_status pol_net_listen(const char *addr, int *fd, uint16_t *port);

/* ---------------------------------------------------------------- frames */

/* Writes one frame: the u32 big-endian length of buf, then buf, within
 * timeout_ms [N-FRAME-1].
 * Returns: POL_OK; POL_ERR_INVALID_ARG (len 0 or > POL_WIRE_MAX_ENVELOPE);
 *          POL_ERR_NETWORK (the peer closed or reset); POL_ERR_TIMEOUT. */
POL_WARN_UNUSED pol_status pol_net_frame_write(int fd, const uint8_t *buf, size_t len,
                                               int timeout_ms);

/* Reads one frame within timeout_ms. The length is checked against cap
 * before any byte of the body is read [N-FRAME-2].
 * Returns: POL_OK; POL_ERR_TOO_LARGE (length > cap); POL_ERR_FORMAT
 *          (length 0); POL_ERR_NETWORK (EOF or error before the frame
 *          was complete); POL_ERR_TIMEOUT; POL_ERR_NOMEM.
 * Out:     *buf, *len: the body.
 * In:      cap: the largest body accepted; 0, or a value above
 *          POL_WIRE_MAX_ENVELOPE, means POL_WIRE_MAX_ENVELOPE. */
POL_WARN_UNUSED pol_status pol_net_frame_read(int fd, size_t cap, int timeout_ms, uint8_t **buf,
                                              size_t *len);

/* ---------------------------------------------------------------- client */

/* A client connection, kept open for several calls. Not thread-safe. */
typedef struct pol_net_conn pol_net_conn;

/* Connects to a server [N-CALL-1].
 * Returns: as pol_net_dial; POL_ERR_NOMEM.
 * Out:     *out: the connection; free with pol_net_close. NULL on failure.
 * In:      addr: "HOST:PORT"; timeout_ms: the connect deadline and the
 *          deadline of each later call (0: POL_NET_DEFAULT_TIMEOUT_MS);
 *          max_frame: the largest response frame accepted (0: the
 *          envelope cap);
 *          server_key: the key every response must be signed by, or NULL
 *          to accept any signer (the caller then checks *signer of
 *          pol_net_call). */
POL_WARN_UNUSED pol_status pol_net_connect(const char *addr, int timeout_ms, size_t max_frame,
                                           const uint8_t *server_key, pol_net_conn **out);

/* One exchange [N-CALL-2]: seals req as a Request envelope signed by kp,
 * sends it, reads one Response envelope and checks it: type 7, a valid
 * signature, the expected signer, request_id equal to the id of the
 * envelope sent, id equal to req->id (or 0 with a nonzero status), and
 * with status 0 the kind of the request (for EVENTS, a first event seq of
 * max(events_from, 1)). The whole exchange has one deadline. After any
 * failure the connection is closed and later calls give POL_ERR_NETWORK.
 * A response with a nonzero status is a successful call: the server's
 * verdict is resp->status.
 * Returns: POL_OK; POL_ERR_INVALID_ARG (a request with no encoding);
 *          POL_ERR_NETWORK; POL_ERR_TIMEOUT; POL_ERR_TOO_LARGE (frame over
 *          the cap); POL_ERR_FORMAT (not an envelope, or not a valid
 *          Response); POL_ERR_SIGNATURE (bad signature, or signed by
 *          another key than the expected one); POL_ERR_MISMATCH (wrong
 *          envelope type, request_id, id or kind); POL_ERR_NOMEM.
 * Out:     *resp: the response (pol_net_response_free); signer: the
 *          server's key. Zero on failure. */
POL_WARN_UNUSED pol_status pol_net_call(pol_net_conn *c, const pol_keypair *kp,
                                        const pol_net_request *req, pol_net_response *resp,
                                        uint8_t signer[POL_PUBKEY_LEN]);

/* Fetches a blob by hash and verifies it on arrival [N-BLOB-1]: a BLOB
 * request (id from a per-connection counter, time_ms the wall clock); a
 * response frame larger than max_len + POL_NET_RESPONSE_OVERHEAD is
 * refused before its body is read; SHA-256 of the bytes must be *hash.
 * Returns: as pol_net_call; the server's status when it is nonzero (its
 *          message in pol_last_error); POL_ERR_TOO_LARGE (more than
 *          max_len bytes); POL_ERR_HASH_MISMATCH.
 * Out:     *bytes, *len: the blob (a zero-length blob gives a non-NULL
 *          1-byte buffer). */
POL_WARN_UNUSED pol_status pol_net_fetch_blob(pol_net_conn *c, const pol_keypair *kp,
                                              const pol_digest *hash, size_t max_len,
                                              uint8_t **bytes, size_t *len);

/* Closes the connection and frees it. NULL is a no-op. */
void pol_net_close(pol_net_conn *c);

/* ---------------------------------------------------------------- server */

/* Answers one authenticated request [N-SERVE-3]. `resp` arrives zeroed;
 * the handler sets kind and the payload of that kind (malloc'd buffers:
 * the server frees them with pol_net_response_free) and returns POL_OK, or
 * returns an error status (with pol_errorf), which the server sends with
 * its message and no payload. The server fills id, request_id, status and
 * error. */
typedef pol_status (*pol_net_handler)(void *ctx, const uint8_t signer[POL_PUBKEY_LEN],
                                      const pol_net_request *req, const pol_digest *request_id,
                                      pol_net_response *resp);

typedef struct pol_net_server_opts {
    int io_timeout_ms;  /* a connection must deliver each complete frame, and
                           take each whole answer, within this (0: default) */
    size_t max_frame;   /* largest request frame (0: POL_WIRE_MAX_ENVELOPE) */
    unsigned max_conns; /* open connections at once (0: default); more are
                           accepted and closed at once */
    size_t max_queued;  /* bytes of answers waiting to be read, all connections
                           together (0: POL_NET_DEFAULT_MAX_QUEUED); an answer
                           over 64 KiB that would pass it, while others wait,
                           is replaced by a short "busy" error [N-SERVE-7] */
} pol_net_server_opts;

#define POL_NET_DEFAULT_MAX_QUEUED ((size_t)256 << 20)

typedef struct pol_net_server pol_net_server;

/* Opens a server listening on addr (port 0: a free port).
 * Returns: as pol_net_listen; POL_ERR_INVALID_ARG (negative timeout);
 *          POL_ERR_INTERNAL (keypair); POL_ERR_NOMEM.
 * Out:     *out: the server; free with pol_net_server_close.
 * In:      kp: the server's key, copied; handler, ctx: called for every
 *          authenticated request; opts: NULL for the defaults. */
POL_WARN_UNUSED pol_status pol_net_server_open(const char *addr, const pol_keypair *kp,
                                               pol_net_handler handler, void *ctx,
                                               const pol_net_server_opts *opts,
                                               pol_net_server **out);

/* The port the server listens on. */
uint16_t pol_net_server_port(const pol_net_server *s);

/* Waits at most timeout_ms (0: not at all) for activity, then handles what
 * is ready and returns [N-SERVE-1]: accepts connections, reads frames as
 * far as they have arrived, answers each complete request, sends pending
 * answers as far as each peer takes them without waiting (a connection
 * with an answer pending is not read from [N-SERVE-6]), closes
 * connections past their deadline or that broke a rule. One bad peer only
 * ever costs its own connection. Made for a loop in a program that also
 * has other work.
 * Returns: POL_OK (also when peers misbehaved); POL_ERR_INVALID_ARG
 *          (negative timeout); POL_ERR_NETWORK (poll on the listening
 *          socket failed). */
POL_WARN_UNUSED pol_status pol_net_server_poll(pol_net_server *s, int timeout_ms);

/* Closes every connection and the listening socket, wipes the key, frees
 * the server. NULL is a no-op. */
void pol_net_server_close(pol_net_server *s);

#ifdef __cplusplus
}
#endif
#endif /* POL_NET_H */
