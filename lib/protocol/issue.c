/* Certificates on disk: issuing (build, encode, sign, write) and loading. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol/cert.h"
#include "pol/fileio.h"
#include "pol/keys.h"
#include "pol/wire.h"

#define CERT_FILE_MAX ((size_t)POL_WIRE_MAX_ENVELOPE)

pol_status pol_cert_issue(const char *run_dir, const char *task_path, const pol_keypair *kp,
                          const char *device, const pol_digest *parent, const char *out_path,
                          pol_digest *id)
{
    if (!run_dir || !task_path || !kp || !out_path)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cert_issue: NULL argument");
    pol_cert c;
    pol_status st = pol_cert_from_run(run_dir, task_path, &c);
    if (st)
        return st;
    snprintf(c.device, sizeof c.device, "%s", device ? device : "");
    if (c.has_parent && !parent) { /* [V-VER-2]: nobody could check its start */
        st = pol_errorf(POL_ERR_INVALID_ARG, "%s: the run starts at step %" PRIu64 ", not 0: "
                        "its certificate must name the parent certificate that holds its "
                        "start state", run_dir, c.ckpt_steps[0]);
        pol_cert_free(&c);
        return st;
    }
    if (parent) {
        c.has_parent = 1;
        c.parent_id = *parent;
    }
    uint8_t *body = NULL, *env = NULL;
    size_t blen = 0, elen = 0;
    if (!(st = pol_keypair_pubkey(kp, c.solver_key)) && !(st = pol_cert_check(&c)) &&
        !(st = pol_cert_encode(&c, &body, &blen)) &&
        !(st = pol_envelope_seal(POL_MSG_CERTIFICATE, body, blen, kp, &env, &elen)) &&
        !(st = id ? pol_envelope_id(env, elen, id) : POL_OK)) /* before the file: on */
        st = pol_write_file_atomic(out_path, env, elen, 0);      /* failure there is none */
    free(body);
    free(env);
    pol_cert_free(&c);
    return st;
}

pol_status pol_cert_open(const uint8_t *env, size_t len, pol_cert *c, pol_digest *id)
{
    if (!env || !c)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cert_open: NULL argument");
    memset(c, 0, sizeof *c);
    uint8_t *body = NULL, signer[POL_PUBKEY_LEN];
    size_t blen;
    pol_status st;
    if (!(st = pol_envelope_open(env, len, POL_MSG_CERTIFICATE, &body, &blen, signer)) &&
        !(st = pol_cert_decode(body, blen, c))) {
        if (memcmp(signer, c->solver_key, POL_PUBKEY_LEN))
            st = pol_errorf(POL_ERR_SIGNATURE, "certificate signed by a key other than its "
                            "solver key");
        else if (!(st = pol_cert_check(c)) && id)
            st = pol_envelope_id(env, len, id);
        if (st)
            pol_cert_free(c);
    }
    free(body);
    return st;
}

pol_status pol_cert_load(const char *path, pol_cert *c, pol_digest *id)
{
    if (!path || !c)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cert_load: NULL argument");
    memset(c, 0, sizeof *c);
    uint8_t *buf;
    size_t len;
    pol_status st = pol_read_file(path, CERT_FILE_MAX, &buf, &len);
    if (st)
        return st;
    if ((st = pol_cert_open(buf, len, c, id))) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", pol_last_error());
        if (!strstr(msg, path))
            pol_errorf(st, "%s: %s", path, msg);
    }
    free(buf);
    return st;
}
