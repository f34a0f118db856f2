/* The network layer (spec/net.md): addresses, framing with deadlines, the
 * client call and a poll-driven single-threaded server. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pol/net.h"

/* ------------------------------------------------------------- deadlines */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits until fd is ready for `events` or the deadline passes.
 * Returns: POL_OK (ready, or an error/hangup the next call will report);
 *          POL_ERR_TIMEOUT; POL_ERR_NETWORK (poll failed). */
static pol_status wait_fd(int fd, short events, int64_t deadline, const char *what)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return pol_errorf(POL_ERR_TIMEOUT, "%s: deadline passed", what);
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
        if (r > 0)
            return POL_OK;
        if (r < 0 && errno != EINTR)
            return pol_errorf(POL_ERR_NETWORK, "%s: poll: %s", what, strerror(errno));
    }
}

/* ------------------------------------------------------------- addresses */

/* A decimal number without sign or leading zeros, at most `max`; *end is
 * the first character after it. */
static int parse_dec(const char *s, unsigned long max, unsigned long *v, const char **end)
{
    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
        return 0;
    unsigned long x = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        x = x * 10 + (unsigned long)(*s - '0');
        if (x > max)
            return 0;
    }
    *v = x;
    *end = s;
    return 1;
}

pol_status pol_net_addr_parse(const char *addr, uint32_t *ipv4, uint16_t *port)
{
    *ipv4 = 0;
    *port = 0;
    const char *colon = strrchr(addr, ':');
    if (!colon)
        return pol_errorf(POL_ERR_FORMAT, "address \"%.64s\": want HOST:PORT", addr);
    size_t hlen = (size_t)(colon - addr);
    uint32_t ip = 0;
    if (hlen == 9 && memcmp(addr, "localhost", 9) == 0) {
        ip = 0x7f000001u;
    } else {
        const char *p = addr;
        for (int i = 0; i < 4; i++) {
            unsigned long b;
            if (i > 0) {
                if (*p != '.')
                    return pol_errorf(POL_ERR_FORMAT, "address \"%.64s\": host must be "
                                      "localhost or an IPv4 dotted quad", addr);
                p++;
            }
            if (!parse_dec(p, 255, &b, &p))
                return pol_errorf(POL_ERR_FORMAT, "address \"%.64s\": IPv4 parts are "
                                  "decimal 0..255 without leading zeros", addr);
            ip = ip << 8 | (uint32_t)b;
        }
        if (p != colon)
            return pol_errorf(POL_ERR_FORMAT, "address \"%.64s\": host must be localhost or "
                              "an IPv4 dotted quad", addr);
    }
    unsigned long pv;
    const char *end;
    if (!parse_dec(colon + 1, 65535, &pv, &end) || *end != '\0')
        return pol_errorf(POL_ERR_FORMAT, "address \"%.64s\": port must be decimal 0..65535 "
                          "without sign or leading zeros", addr);
    *ipv4 = ip;
    *port = (uint16_t)pv;
    return POL_OK;
}

static pol_status make_sockaddr(const char *addr, struct sockaddr_in *sa)
{
    uint32_t ip;
    uint16_t port;
    memset(sa, 0, sizeof *sa);
    POL_TRY(pol_net_addr_parse(addr, &ip, &port));
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(ip);
    sa->sin_port = htons(port);
    return POL_OK;
}

pol_status pol_net_dial(const char *addr, int timeout_ms, int *fd)
{
    struct sockaddr_in sa;
    *fd = -1;
    if (timeout_ms < 1)
        return pol_errorf(POL_ERR_INVALID_ARG, "dial %.64s: timeout %d ms", addr, timeout_ms);
    POL_TRY(make_sockaddr(addr, &sa));
    if (sa.sin_port == 0)
        return pol_errorf(POL_ERR_FORMAT, "dial %.64s: port 0", addr);
    int64_t deadline = now_ms() + timeout_ms;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return pol_errorf(POL_ERR_NETWORK, "dial %.64s: socket: %s", addr, strerror(errno));
    int r = connect(s, (struct sockaddr *)&sa, sizeof sa);
    if (r < 0 && errno != EINPROGRESS && errno != EINTR) {
        int e = errno;
        close(s);
        return pol_errorf(POL_ERR_NETWORK, "dial %.64s: %s", addr, strerror(e));
    }
    if (r < 0) {
        pol_status st = wait_fd(s, POLLOUT, deadline, "dial");
        int err = 0;
        socklen_t elen = sizeof err;
        if (st == POL_OK && getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            err = errno;
        if (st != POL_OK || err != 0) {
            close(s);
            if (st != POL_OK)
                return pol_errorf(st, "dial %.64s: no connection within %d ms", addr,
                                  timeout_ms);
            return pol_errorf(POL_ERR_NETWORK, "dial %.64s: %s", addr, strerror(err));
        }
    }
    int one = 1;
    (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *fd = s;
    return POL_OK;
}

pol_status pol_net_listen(const char *addr, int *fd, uint16_t *port)
{
    struct sockaddr_in sa;
    *fd = -1;
    *port = 0;
    POL_TRY(make_sockaddr(addr, &sa));
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return pol_errorf(POL_ERR_NETWORK, "listen %.64s: socket: %s", addr, strerror(errno));
    int one = 1;
    (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t slen = sizeof sa;
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 64) < 0 ||
        getsockname(s, (struct sockaddr *)&sa, &slen) < 0) {
        int e = errno;
        close(s);
        return pol_errorf(POL_ERR_NETWORK, "listen %.64s: %s", addr, strerror(e));
    }
    *fd = s;
    *port = ntohs(sa.sin_port);
    return POL_OK;
}

/* ---------------------------------------------------------------- frames */

static size_t clamp_cap(size_t cap)
{
    return cap == 0 || cap > POL_WIRE_MAX_ENVELOPE ? POL_WIRE_MAX_ENVELOPE : cap;
}

static pol_status send_all(int fd, const uint8_t *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            POL_TRY(wait_fd(fd, POLLOUT, deadline, "send frame"));
        } else if (w < 0 && errno != EINTR) {
            return pol_errorf(POL_ERR_NETWORK, "send frame: %s", strerror(errno));
        }
    }
    return POL_OK;
}

static pol_status recv_all(int fd, uint8_t *p, size_t n, int64_t deadline, const char *what)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, p + got, n - got, MSG_DONTWAIT);
        if (r > 0) {
            got += (size_t)r;
        } else if (r == 0) {
            return pol_errorf(POL_ERR_NETWORK, "read %s: connection closed after %zu of %zu "
                              "bytes", what, got, n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            POL_TRY(wait_fd(fd, POLLIN, deadline, what));
        } else if (errno != EINTR) {
            return pol_errorf(POL_ERR_NETWORK, "read %s: %s", what, strerror(errno));
        }
    }
    return POL_OK;
}

static pol_status frame_write_until(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
    if (len == 0 || len > POL_WIRE_MAX_ENVELOPE)
        return pol_errorf(POL_ERR_INVALID_ARG, "frame of %zu bytes (want 1..%u)", len,
                          POL_WIRE_MAX_ENVELOPE);
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    POL_TRY(send_all(fd, hdr, 4, deadline));
    return send_all(fd, buf, len, deadline);
}

static pol_status frame_read_until(int fd, size_t cap, int64_t deadline, uint8_t **buf,
                                   size_t *len)
{
    uint8_t hdr[4];
    *buf = NULL;
    *len = 0;
    cap = clamp_cap(cap);
    POL_TRY(recv_all(fd, hdr, 4, deadline, "frame length"));
    uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (n == 0)
        return pol_errorf(POL_ERR_FORMAT, "frame: length 0");
    if (n > cap)
        return pol_errorf(POL_ERR_TOO_LARGE, "frame: length %u exceeds the cap of %zu", n, cap);
    uint8_t *p = malloc(n);
    if (!p)
        return pol_errorf(POL_ERR_NOMEM, "frame: %u bytes", n);
    pol_status st = recv_all(fd, p, n, deadline, "frame body");
    if (st != POL_OK) {
        free(p);
        return st;
    }
    *buf = p;
    *len = n;
    return POL_OK;
}

pol_status pol_net_frame_write(int fd, const uint8_t *buf, size_t len, int timeout_ms)
{
    if (timeout_ms < 1)
        return pol_errorf(POL_ERR_INVALID_ARG, "frame write: timeout %d ms", timeout_ms);
    return frame_write_until(fd, buf, len, now_ms() + timeout_ms);
}

pol_status pol_net_frame_read(int fd, size_t cap, int timeout_ms, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (timeout_ms < 1)
        return pol_errorf(POL_ERR_INVALID_ARG, "frame read: timeout %d ms", timeout_ms);
    return frame_read_until(fd, cap, now_ms() + timeout_ms, buf, len);
}

/* ---------------------------------------------------------------- client */

struct pol_net_conn {
    int fd;                 /* -1 once closed after an error */
    int timeout_ms;
    size_t max_frame;
    int has_key;
    uint8_t server_key[POL_PUBKEY_LEN];
    uint64_t next_id;
};

pol_status pol_net_connect(const char *addr, int timeout_ms, size_t max_frame,
                           const uint8_t *server_key, pol_net_conn **out)
{
    *out = NULL;
    if (timeout_ms < 0)
        return pol_errorf(POL_ERR_INVALID_ARG, "connect %.64s: timeout %d ms", addr,
                          timeout_ms);
    if (timeout_ms == 0)
        timeout_ms = POL_NET_DEFAULT_TIMEOUT_MS;
    pol_net_conn *c = calloc(1, sizeof *c);
    if (!c)
        return pol_errorf(POL_ERR_NOMEM, "connect: %zu bytes", sizeof *c);
    pol_status st = pol_net_dial(addr, timeout_ms, &c->fd);
    if (st != POL_OK) {
        free(c);
        return st;
    }
    c->timeout_ms = timeout_ms;
    c->max_frame = clamp_cap(max_frame);
    if (server_key) {
        c->has_key = 1;
        memcpy(c->server_key, server_key, POL_PUBKEY_LEN);
    }
    c->next_id = 1;
    *out = c;
    return POL_OK;
}

void pol_net_close(pol_net_conn *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

/* Checks that an authentic response answers `req` [N-CALL-2]. */
static pol_status check_answer(const pol_net_request *req, const pol_digest *req_id,
                               const pol_net_response *r)
{
    if (memcmp(r->request_id.b, req_id->b, 32) != 0)
        return pol_errorf(POL_ERR_MISMATCH, "response answers another request (request_id)");
    if (r->id != req->id && !(r->id == 0 && r->status != 0))
        return pol_errorf(POL_ERR_MISMATCH, "response id %llu for request id %llu",
                          (unsigned long long)r->id, (unsigned long long)req->id);
    if (r->status != 0)
        return POL_OK;
    if (r->kind != req->kind)
        return pol_errorf(POL_ERR_MISMATCH, "response of kind %u to a request of kind %u",
                          r->kind, req->kind);
    uint64_t first = req->events_from ? req->events_from : 1;
    if (r->kind == POL_NET_EVENTS && r->n_events > 0 && r->events[0].seq != first)
        return pol_errorf(POL_ERR_MISMATCH, "events start at seq %llu, asked from %llu",
                          (unsigned long long)r->events[0].seq, (unsigned long long)first);
    return POL_OK;
}

/* The exchange itself, with a frame cap; the caller closes on failure. */
static pol_status call_capped(pol_net_conn *c, const pol_keypair *kp,
                              const pol_net_request *req, size_t cap, pol_net_response *resp,
                              uint8_t signer[POL_PUBKEY_LEN])
{
    uint8_t *body = NULL, *env = NULL, *rbuf = NULL, *rbody = NULL;
    size_t body_len, env_len, rlen, rbody_len;
    pol_digest req_id;
    int64_t deadline = now_ms() + c->timeout_ms;
    pol_status st = pol_net_request_encode(req, &body, &body_len);
    if (st == POL_OK)
        st = pol_envelope_seal(POL_MSG_REQUEST, body, body_len, kp, &env, &env_len);
    if (st == POL_OK)
        st = pol_envelope_id(env, env_len, &req_id);
    if (st == POL_OK)
        st = frame_write_until(c->fd, env, env_len, deadline);
    if (st == POL_OK)
        st = frame_read_until(c->fd, cap, deadline, &rbuf, &rlen);
    if (st == POL_OK)
        st = pol_envelope_open(rbuf, rlen, POL_MSG_RESPONSE, &rbody, &rbody_len, signer);
    if (st == POL_OK && c->has_key && memcmp(signer, c->server_key, POL_PUBKEY_LEN) != 0)
        st = pol_errorf(POL_ERR_SIGNATURE, "response signed by another key than the "
                                           "server's");
    if (st == POL_OK)
        st = pol_net_response_decode(rbody, rbody_len, resp);
    if (st == POL_OK)
        st = check_answer(req, &req_id, resp);
    free(body);
    free(env);
    free(rbuf);
    free(rbody);
    return st;
}

static pol_status call_with_cap(pol_net_conn *c, const pol_keypair *kp,
                                const pol_net_request *req, size_t cap,
                                pol_net_response *resp, uint8_t signer[POL_PUBKEY_LEN])
{
    memset(resp, 0, sizeof *resp);
    memset(signer, 0, POL_PUBKEY_LEN);
    if (c->fd < 0)
        return pol_errorf(POL_ERR_NETWORK, "call: connection closed after an earlier error");
    pol_status st = call_capped(c, kp, req, cap, resp, signer);
    if (st != POL_OK) {
        /* The stream's state is unknown now (a half-read frame, a stray
         * answer): never reuse it [N-CALL-3]. */
        pol_net_response_free(resp);
        memset(signer, 0, POL_PUBKEY_LEN);
        close(c->fd);
        c->fd = -1;
    }
    return st;
}

pol_status pol_net_call(pol_net_conn *c, const pol_keypair *kp, const pol_net_request *req,
                        pol_net_response *resp, uint8_t signer[POL_PUBKEY_LEN])
{
    return call_with_cap(c, kp, req, c->max_frame, resp, signer);
}

pol_status pol_net_fetch_blob(pol_net_conn *c, const pol_keypair *kp, const pol_digest *hash,
                              size_t max_len, uint8_t **bytes, size_t *len)
{
    *bytes = NULL;
    *len = 0;
    pol_net_request req;
    pol_net_response resp;
    uint8_t signer[POL_PUBKEY_LEN];
    memset(&req, 0, sizeof req);
    req.id = c->next_id++;
    req.time_ms = wall_ms();
    req.kind = POL_NET_BLOB;
    req.blob_hash = *hash;
    size_t cap = max_len > POL_WIRE_MAX_ENVELOPE ? POL_WIRE_MAX_ENVELOPE
                                                 : max_len + POL_NET_RESPONSE_OVERHEAD;
    if (cap > c->max_frame)
        cap = c->max_frame;
    POL_TRY(call_with_cap(c, kp, &req, cap, &resp, signer));
    pol_status st = POL_OK;
    pol_digest got;
    if (resp.status != 0) {
        st = pol_errorf((pol_status)resp.status, "blob fetch: the server answered %u: %s",
                        resp.status, resp.error);
    } else if (resp.data_len > max_len) {
        st = pol_errorf(POL_ERR_TOO_LARGE, "blob fetch: %zu bytes exceeds the cap of %zu",
                        resp.data_len, max_len);
    } else if ((st = pol_sha256(resp.data, resp.data_len, &got)) == POL_OK &&
               memcmp(got.b, hash->b, 32) != 0) {
        st = pol_errorf(POL_ERR_HASH_MISMATCH, "blob fetch: the %zu bytes received do not "
                        "hash to the asked SHA-256", resp.data_len);
    }
    if (st == POL_OK) {
        *bytes = resp.data; /* the decoder gives a 1-byte buffer for an empty blob */
        *len = resp.data_len;
        resp.data = NULL;
        resp.data_len = 0;
    }
    pol_net_response_free(&resp);
    return st;
}

/* ---------------------------------------------------------------- server */

typedef struct srv_conn {
    int fd;
    int64_t deadline;  /* the next complete frame is due by then; while an
                          answer is pending, the whole answer is due by then */
    uint8_t hdr[4];
    size_t hdr_got;
    uint8_t *body;     /* (body_cap) once the header is complete */
    size_t body_len, body_got;
    size_t body_cap;   /* grows with what arrived, up to body_len [N-SERVE-5] */
    /* The answer still to send [N-SERVE-6]: its frame header, then out
     * (out_len bytes); out_off counts what the socket took of the 4 +
     * out_len. NULL when nothing is pending; no request is read then. */
    uint8_t out_hdr[4];
    uint8_t *out;
    size_t out_len, out_off;
} srv_conn;

/* The first allocation for a frame body; it doubles as bytes arrive, so a
 * peer that announces a large frame and sends little holds little memory. */
#define SRV_BODY_START (64u << 10)

/* Answers up to this size are never refused as busy [N-SERVE-7]. */
#define SRV_SMALL_ANSWER (64u << 10)

struct pol_net_server {
    int fd;
    uint16_t port;
    pol_keypair kp;
    pol_net_handler handler;
    void *ctx;
    int io_timeout_ms;
    size_t max_frame;
    unsigned max_conns;
    size_t max_queued; /* [N-SERVE-7] */
    size_t queued;     /* bytes of the answers pending on all connections */
    unsigned n_conns;
    srv_conn *conns;   /* (max_conns) */
    struct pollfd *pfd; /* (max_conns + 1) */
};

pol_status pol_net_server_open(const char *addr, const pol_keypair *kp, pol_net_handler handler,
                               void *ctx, const pol_net_server_opts *opts,
                               pol_net_server **out)
{
    *out = NULL;
    pol_net_server_opts o;
    memset(&o, 0, sizeof o);
    if (opts)
        o = *opts;
    if (o.io_timeout_ms < 0)
        return pol_errorf(POL_ERR_INVALID_ARG, "server: io timeout %d ms", o.io_timeout_ms);
    uint8_t pub[POL_PUBKEY_LEN];
    POL_TRY(pol_keypair_pubkey(kp, pub));
    pol_net_server *s = calloc(1, sizeof *s);
    if (!s)
        return pol_errorf(POL_ERR_NOMEM, "server: %zu bytes", sizeof *s);
    s->io_timeout_ms = o.io_timeout_ms ? o.io_timeout_ms : POL_NET_DEFAULT_TIMEOUT_MS;
    s->max_frame = clamp_cap(o.max_frame);
    s->max_conns = o.max_conns ? o.max_conns : POL_NET_DEFAULT_MAX_CONNS;
    s->max_queued = o.max_queued ? o.max_queued : POL_NET_DEFAULT_MAX_QUEUED;
    s->conns = calloc(s->max_conns, sizeof *s->conns);
    s->pfd = calloc((size_t)s->max_conns + 1, sizeof *s->pfd);
    s->fd = -1;
    if (!s->conns || !s->pfd) {
        unsigned n = s->max_conns;
        pol_net_server_close(s);
        return pol_errorf(POL_ERR_NOMEM, "server: %u connections", n);
    }
    pol_status st = pol_net_listen(addr, &s->fd, &s->port);
    if (st != POL_OK) {
        pol_net_server_close(s);
        return st;
    }
    s->kp = *kp;
    s->handler = handler;
    s->ctx = ctx;
    *out = s;
    return POL_OK;
}

uint16_t pol_net_server_port(const pol_net_server *s)
{
    return s->port;
}

static void conn_drop(pol_net_server *s, unsigned i)
{
    close(s->conns[i].fd);
    free(s->conns[i].body);
    if (s->conns[i].out)
        s->queued -= s->conns[i].out_len;
    free(s->conns[i].out);
    s->conns[i] = s->conns[--s->n_conns];
    memset(&s->conns[s->n_conns], 0, sizeof s->conns[s->n_conns]);
}

void pol_net_server_close(pol_net_server *s)
{
    if (!s)
        return;
    while (s->n_conns > 0)
        conn_drop(s, s->n_conns - 1);
    if (s->fd >= 0)
        close(s->fd);
    pol_keypair_clear(&s->kp);
    free(s->conns);
    free(s->pfd);
    free(s);
}

static void accept_all(pol_net_server *s)
{
    for (;;) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return; /* EAGAIN, or out of descriptors: try again next round */
        }
        if (s->n_conns >= s->max_conns) {
            close(fd); /* [N-SERVE-4] */
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        srv_conn *c = &s->conns[s->n_conns++];
        memset(c, 0, sizeof *c);
        c->fd = fd;
        c->deadline = now_ms() + s->io_timeout_ms;
    }
}

/* Builds the answer to one request frame; *resp is filled for sealing.
 * Returns POL_OK when there is an answer to send, an error when the frame
 * was not a readable envelope (the connection is then closed) [N-SERVE-2]. */
static pol_status answer(pol_net_server *s, const uint8_t *frame, size_t len,
                         pol_net_response *resp)
{
    uint8_t *body, signer[POL_PUBKEY_LEN];
    size_t body_len;
    pol_digest req_id;
    memset(resp, 0, sizeof *resp);
    POL_TRY(pol_envelope_id(frame, len, &req_id));
    pol_status st = pol_envelope_open(frame, len, POL_MSG_REQUEST, &body, &body_len, signer);
    pol_net_request req;
    memset(&req, 0, sizeof req);
    if (st == POL_OK) {
        st = pol_net_request_decode(body, body_len, &req);
        free(body);
    } else if (st != POL_ERR_SIGNATURE && st != POL_ERR_MISMATCH) {
        return st; /* not an envelope: nothing to answer */
    }
    if (st == POL_OK) {
        pol_clear_error();
        st = s->handler(s->ctx, signer, &req, &req_id, resp);
        if (st == POL_OK && (resp->kind != req.kind || resp->status != 0))
            st = pol_errorf(POL_ERR_INTERNAL, "server: the handler answered kind %u to a "
                            "request of kind %u", resp->kind, req.kind);
        if (st == POL_OK)
            resp->id = req.id;
    }
    if (st != POL_OK) {
        const char *msg = pol_last_error();
        uint64_t id = req.id; /* 0 when the request was not authenticated and decoded */
        pol_net_response_free(resp);
        resp->id = id;
        resp->status = (uint32_t)st <= POL_NET_MAX_STATUS ? (uint32_t)st : POL_ERR_INTERNAL;
        size_t i = 0;
        for (; i < POL_NET_ERROR_MAX - 1 && msg[i]; i++)
            resp->error[i] = (msg[i] >= 0x20 && msg[i] <= 0x7e) ? msg[i] : '?';
        resp->error[i] = '\0';
        if (resp->status == 0)
            resp->status = POL_ERR_INTERNAL;
    }
    resp->request_id = req_id;
    pol_net_request_free(&req);
    return POL_OK;
}

/* Sends as much of the pending answer as the socket takes now, without
 * waiting [N-SERVE-6]. Once all of it is sent the next request is due
 * within the I/O deadline. Returns 0 to keep the connection, -1 to drop it
 * (the peer went away or reset). */
static int conn_write(pol_net_server *s, srv_conn *c)
{
    while (c->out) {
        struct iovec iov[2];
        int n = 0;
        if (c->out_off < 4)
            iov[n++] = (struct iovec){c->out_hdr + c->out_off, 4 - c->out_off};
        size_t body_off = c->out_off < 4 ? 0 : c->out_off - 4;
        iov[n++] = (struct iovec){c->out + body_off, c->out_len - body_off};
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = iov;
        m.msg_iovlen = (size_t)n;
        ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->out_off += (size_t)w;
        if (c->out_off == 4 + c->out_len) {
            s->queued -= c->out_len;
            free(c->out);
            c->out = NULL;
            c->out_len = c->out_off = 0;
            c->deadline = now_ms() + s->io_timeout_ms;
        }
    }
    return 0;
}

/* Answers a complete frame: builds the answer, queues it on the connection
 * and sends what the socket takes at once; the rest goes out as the peer
 * reads, by the connection's deadline [N-SERVE-6]. Returns 0 to keep the
 * connection, -1 to drop it. */
static int serve_frame(pol_net_server *s, srv_conn *c)
{
    pol_net_response resp;
    uint8_t *body = NULL, *env = NULL;
    size_t body_len = 0, env_len = 0;
    pol_status st = answer(s, c->body, c->body_len, &resp);
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_got = c->body_cap = c->hdr_got = 0;
    if (st != POL_OK)
        return -1;
    st = pol_net_response_encode(&resp, &body, &body_len);
    /* [N-SERVE-7] while other answers wait to be read, one larger than
     * SRV_SMALL_ANSWER that would take the queued bytes past the cap is
     * replaced by a short error */
    const int busy = st == POL_OK && body_len > SRV_SMALL_ANSWER && s->queued > 0 &&
                     (s->queued >= s->max_queued || body_len > s->max_queued - s->queued);
    if (st != POL_OK || busy) { /* no encoding for the handler's payload, or busy */
        free(body);
        body = NULL;
        pol_net_response r2;
        memset(&r2, 0, sizeof r2);
        r2.id = resp.id;
        r2.request_id = resp.request_id;
        if (busy) {
            r2.status = POL_ERR_NETWORK; /* transient: ask again */
            snprintf(r2.error, sizeof r2.error, "server busy: %zu bytes of answers wait to be "
                     "read; ask again later", s->queued);
        } else {
            r2.status = POL_ERR_INTERNAL;
            snprintf(r2.error, sizeof r2.error, "server: the handler's answer has no encoding");
        }
        st = pol_net_response_encode(&r2, &body, &body_len);
    }
    pol_net_response_free(&resp);
    if (st == POL_OK)
        st = pol_envelope_seal(POL_MSG_RESPONSE, body, body_len, &s->kp, &env, &env_len);
    free(body);
    if (st != POL_OK || env_len == 0 || env_len > POL_WIRE_MAX_ENVELOPE) {
        free(env);
        return -1;
    }
    c->out = env;
    c->out_len = env_len;
    c->out_off = 0;
    s->queued += env_len;
    c->out_hdr[0] = (uint8_t)(env_len >> 24);
    c->out_hdr[1] = (uint8_t)(env_len >> 16);
    c->out_hdr[2] = (uint8_t)(env_len >> 8);
    c->out_hdr[3] = (uint8_t)env_len;
    c->deadline = now_ms() + s->io_timeout_ms; /* the whole answer is due by then */
    return conn_write(s, c);
}

/* Reads what has arrived on a connection, up to the end of one request,
 * which it answers; the next request waits for the next round, and for the
 * answer to be sent [N-SERVE-6]. Returns 0 to keep it, -1 to drop. */
static int conn_read(pol_net_server *s, srv_conn *c)
{
    while (!c->out) {
        uint8_t *dst;
        size_t want;
        if (c->hdr_got < 4) {
            dst = c->hdr + c->hdr_got;
            want = 4 - c->hdr_got;
        } else {
            if (c->body_got == c->body_cap) { /* full: grow towards body_len */
                size_t cap = c->body_cap * 2 < c->body_len ? c->body_cap * 2 : c->body_len;
                uint8_t *p = realloc(c->body, cap);
                if (!p)
                    return -1;
                c->body = p;
                c->body_cap = cap;
            }
            dst = c->body + c->body_got;
            want = c->body_cap - c->body_got;
        }
        ssize_t r = recv(c->fd, dst, want, MSG_DONTWAIT);
        if (r == 0)
            return -1;
        if (r < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        if (c->hdr_got < 4) {
            c->hdr_got += (size_t)r;
            if (c->hdr_got < 4)
                continue;
            uint32_t n = (uint32_t)c->hdr[0] << 24 | (uint32_t)c->hdr[1] << 16 |
                         (uint32_t)c->hdr[2] << 8 | c->hdr[3];
            if (n == 0 || n > s->max_frame)
                return -1; /* [N-FRAME-2]: refused before the body is read */
            c->body_cap = n < SRV_BODY_START ? n : SRV_BODY_START;
            c->body = malloc(c->body_cap);
            if (!c->body)
                return -1;
            c->body_len = n;
            c->body_got = 0;
        } else {
            c->body_got += (size_t)r;
        }
        if (c->body && c->body_got == c->body_len)
            return serve_frame(s, c);
    }
    return 0;
}

pol_status pol_net_server_poll(pol_net_server *s, int timeout_ms)
{
    if (timeout_ms < 0)
        return pol_errorf(POL_ERR_INVALID_ARG, "server poll: timeout %d ms", timeout_ms);
    int64_t t = now_ms();
    int64_t wait = timeout_ms;
    for (unsigned i = 0; i < s->n_conns; i++) {
        int64_t left = s->conns[i].deadline - t;
        if (left < wait)
            wait = left < 0 ? 0 : left;
    }
    unsigned n = s->n_conns;
    s->pfd[0] = (struct pollfd){s->fd, POLLIN, 0};
    for (unsigned i = 0; i < n; i++) /* a pending answer first, then the next request */
        s->pfd[i + 1] = (struct pollfd){s->conns[i].fd, s->conns[i].out ? POLLOUT : POLLIN, 0};
    int r = poll(s->pfd, n + 1, (int)wait);
    if (r < 0 && errno != EINTR)
        return pol_errorf(POL_ERR_NETWORK, "server poll: %s", strerror(errno));
    /* Walk backwards: conn_drop moves the last connection into slot i. */
    for (unsigned i = n; i-- > 0;) {
        srv_conn *c = &s->conns[i];
        int keep = 1;
        if (r > 0 && s->pfd[i + 1].revents)
            keep = (c->out ? conn_write(s, c) : conn_read(s, c)) == 0;
        /* [N-SERVE-1] [N-SERVE-6]: a silent or slow peer, or one that does
         * not take its answer, loses its connection at the deadline. */
        if (!keep || now_ms() >= c->deadline)
            conn_drop(s, i);
    }
    if (r > 0 && (s->pfd[0].revents & POLLIN))
        accept_all(s);
    return POL_OK;
}
