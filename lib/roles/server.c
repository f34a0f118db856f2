/* A party's server: blobs by hash from a content-addressed directory, and
 * pinpoint queries answered by the party's local pol_party. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pol/fileio.h"
#include "pol/pinwire.h"
#include "pol/roles.h"
#include "pol/safetensors.h"

struct pol_role_server {
    pol_net_server *net;
    char blob_dir[POL_PATH_MAX];
    pol_pin_served served;  /* all NULL: none */
    pol_role_party_fn party_fn;
    void *party_arg;
    pol_role_served_fn served_fn;
    void *served_arg;
    pol_role_server_stats stats;
    int withhold;                        /* blobs only to withhold_only's requests */
    uint8_t withhold_only[POL_PUBKEY_LEN];
};

/* Keeps a tensor blob of an opening so the referee can fetch it. */
static pol_status sink(void *arg, const pol_digest *h, const uint8_t *blob, size_t len)
{
    pol_role_server *s = arg;
    char hex[65], path[POL_PATH_MAX + 80];
    pol_digest_to_hex(h, hex);
    snprintf(path, sizeof path, "%s/%s", s->blob_dir, hex);
    if (access(path, F_OK) == 0)
        return POL_OK;
    pol_status st = pol_write_file_atomic(path, blob, len, 0);
    return st == POL_ERR_EXISTS ? POL_OK : st;
}

static pol_status serve_blob(pol_role_server *s, const pol_digest *h, pol_net_response *resp)
{
    char hex[65], path[POL_PATH_MAX + 100];
    pol_digest_to_hex(h, hex);
    snprintf(path, sizeof path, "%s/%s.safetensors", s->blob_dir, hex);
    uint8_t *buf;
    size_t len;
    pol_status st = pol_read_file(path, POL_WIRE_MAX_ENVELOPE - POL_NET_RESPONSE_OVERHEAD, &buf,
                                  &len);
    if (st == POL_ERR_NOT_FOUND) {
        snprintf(path, sizeof path, "%s/%s", s->blob_dir, hex);
        st = pol_read_file(path, POL_WIRE_MAX_ENVELOPE - POL_NET_RESPONSE_OVERHEAD, &buf, &len);
    }
    if (st == POL_ERR_NOT_FOUND)
        return pol_errorf(POL_ERR_NOT_FOUND, "no blob %s here", hex);
    if (st)
        return st;
    resp->kind = POL_NET_BLOB;
    resp->data = buf;
    resp->data_len = len;
    s->stats.blobs++;
    s->stats.bytes_blobs += len;
    return POL_OK;
}

static pol_status serve_pin(pol_role_server *s, const pol_net_request *req,
                            pol_net_response *resp)
{
    pol_pin_served *w = &s->served;
    if (!w->party && !w->solver && !w->challenger) {
        const pol_pin_served *got = s->served_fn ? s->served_fn(s->served_arg) : NULL;
        if (got)
            *w = *got;
        else if (s->party_fn)
            w->party = s->party_fn(s->party_arg);
    }
    if (!w->party && !w->solver && !w->challenger) {
        s->stats.pin_failed++;
        return pol_errorf(POL_ERR_NOT_FOUND, "this party is in no dispute");
    }
    uint8_t *a;
    size_t alen;
    pol_status st = pol_pin_serve_any(w, NULL, req->data, req->data_len, sink, s, &a, &alen);
    if (st) {
        s->stats.pin_failed++;
        return st;
    }
    resp->kind = POL_NET_PIN;
    resp->data = a;
    resp->data_len = alen;
    s->stats.pin_queries++;
    s->stats.bytes_answers += alen;
    return POL_OK;
}

static pol_status handler(void *ctx, const uint8_t signer[POL_PUBKEY_LEN],
                          const pol_net_request *req, const pol_digest *request_id,
                          pol_net_response *resp)
{
    (void)request_id;
    pol_role_server *s = ctx;
    switch (req->kind) {
    case POL_NET_BLOB:
        if (s->withhold && memcmp(signer, s->withhold_only, POL_PUBKEY_LEN))
            return pol_errorf(POL_ERR_NOT_FOUND, "blob withheld (test switch)");
        return serve_blob(s, &req->blob_hash, resp);
    case POL_NET_PIN: return serve_pin(s, req, resp);
    default: return pol_errorf(POL_ERR_UNSUPPORTED, "a party answers blob and pinpoint "
                               "requests only");
    }
}

pol_status pol_role_server_open(const char *listen, const pol_keypair *kp, const char *blob_dir,
                                pol_role_server **out)
{
    *out = NULL;
    if (strlen(blob_dir) >= POL_PATH_MAX)
        return pol_errorf(POL_ERR_INVALID_ARG, "blob directory path too long");
    pol_status st = pol_mkdir_p(blob_dir);
    if (st)
        return st;
    pol_role_server *s = calloc(1, sizeof *s);
    if (!s)
        return pol_errorf(POL_ERR_NOMEM, "server");
    strcpy(s->blob_dir, blob_dir);
    pol_net_server_opts o = { .io_timeout_ms = 30000 };
    if ((st = pol_net_server_open(listen, kp, handler, s, &o, &s->net))) {
        free(s);
        return st;
    }
    *out = s;
    return POL_OK;
}

void pol_role_server_set_party(pol_role_server *s, const pol_party *party)
{
    memset(&s->served, 0, sizeof s->served);
    s->served.party = party;
}

void pol_role_server_set_served(pol_role_server *s, const pol_pin_served *served)
{
    memset(&s->served, 0, sizeof s->served);
    if (served)
        s->served = *served;
}

void pol_role_server_set_served_fn(pol_role_server *s, pol_role_served_fn fn, void *arg)
{
    s->served_fn = fn;
    s->served_arg = arg;
}

void pol_role_server_withhold_blobs(pol_role_server *s, const uint8_t only[POL_PUBKEY_LEN])
{
    s->withhold = only != NULL;
    if (only)
        memcpy(s->withhold_only, only, POL_PUBKEY_LEN);
}

void pol_role_server_set_party_fn(pol_role_server *s, pol_role_party_fn fn, void *arg)
{
    s->party_fn = fn;
    s->party_arg = arg;
}

uint16_t pol_role_server_port(const pol_role_server *s) { return pol_net_server_port(s->net); }

pol_status pol_role_server_poll(pol_role_server *s, int timeout_ms)
{
    return pol_net_server_poll(s->net, timeout_ms);
}

pol_role_server_stats pol_role_server_get_stats(const pol_role_server *s) { return s->stats; }

void pol_role_server_close(pol_role_server *s)
{
    if (!s)
        return;
    pol_net_server_close(s->net);
    free(s);
}

pol_status pol_role_store_put(const char *blob_dir, const char *ckpt_path)
{
    pol_st_file f;
    pol_status st = pol_st_load(ckpt_path, NULL, &f);
    if (st)
        return st;
    pol_digest h;
    st = pol_st_state_hash(&f, &h);
    pol_st_free(&f);
    if (st)
        return st;
    char hex[65], dst[POL_PATH_MAX + 100];
    pol_digest_to_hex(&h, hex);
    snprintf(dst, sizeof dst, "%s/%s.safetensors", blob_dir, hex);
    if (access(dst, F_OK) == 0 || link(ckpt_path, dst) == 0)
        return POL_OK;
    uint8_t *buf;
    size_t len;
    if ((st = pol_read_file(ckpt_path, (size_t)1 << 34, &buf, &len)))
        return st;
    st = pol_write_file_atomic(dst, buf, len, 0);
    free(buf);
    return st == POL_ERR_EXISTS ? POL_OK : st;
}

pol_status pol_role_fetch_checkpoint(pol_net_conn *c, const pol_keypair *kp, const pol_digest *h,
                                     const char *store_dir)
{
    char hex[65], dst[POL_PATH_MAX + 100];
    pol_digest_to_hex(h, hex);
    snprintf(dst, sizeof dst, "%s/%s.safetensors", store_dir, hex);
    if (access(dst, F_OK) == 0)
        return POL_OK;
    /* Not pol_net_fetch_blob: a checkpoint is named by its state hash, not
     * by the SHA-256 of its bytes. */
    pol_net_request req = { 0 };
    pol_net_response resp;
    uint8_t signer[POL_PUBKEY_LEN];
    static uint64_t next_id;
    req.id = ++next_id;
    req.time_ms = pol_role_now_ms();
    req.kind = POL_NET_BLOB;
    req.blob_hash = *h;
    pol_status st = pol_net_call(c, kp, &req, &resp, signer);
    if (st)
        return st;
    if (resp.status) {
        st = pol_errorf((pol_status)resp.status, "checkpoint %s: the solver answered: %s", hex,
                        resp.error);
        pol_net_response_free(&resp);
        return st;
    }
    pol_st_file f;
    pol_digest got;
    if (!(st = pol_st_parse(resp.data, resp.data_len, NULL, &f))) {
        st = pol_st_state_hash(&f, &got);
        pol_st_free(&f);
    }
    if (!st && !pol_digest_equal(&got, h))
        st = pol_errorf(POL_ERR_HASH_MISMATCH, "checkpoint %s: the bytes received hold another "
                        "state", hex);
    if (!st && (st = pol_mkdir_p(store_dir)) == POL_OK) {
        st = pol_write_file_atomic(dst, resp.data, resp.data_len, 0);
        if (st == POL_ERR_EXISTS)
            st = POL_OK;
    }
    pol_net_response_free(&resp);
    return st;
}
