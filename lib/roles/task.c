/* A game's task made usable locally, and a certificate checked the way a
 * verifier does it. */
#include <jansson.h>

#include "../io/json_file.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "pol/context.h"
#include "pol/fileio.h"
#include "pol/roles.h"
#include "pol/wire.h"

/* The dataset path exactly as the task's JSON writes it. */
static pol_status raw_dataset_path(const uint8_t *json, size_t len, char *out, size_t cap)
{
    json_error_t err;
    json_t *root = json_loadb((const char *)json, len, 0, &err);
    const char *p = json_string_value(json_object_get(json_object_get(root, "dataset"), "path"));
    pol_status st = POL_OK;
    if (!root && pol_json_fail_status(&err) == POL_ERR_NOMEM)
        st = pol_errorf(POL_ERR_NOMEM, "task: %s", err.text);
    else if (!p || strlen(p) >= cap || strstr(p, ".."))
        st = pol_errorf(POL_ERR_FORMAT, "task: no usable dataset.path");
    else
        strcpy(out, p);
    json_decref(root);
    return st;
}

pol_status pol_role_task_open(const char *work_dir, const char *data_dir, const uint8_t *json,
                              size_t len, pol_role_task *out)
{
    memset(out, 0, sizeof *out);
    pol_task probe;
    char rel[POL_PATH_MAX], link_path[2 * POL_PATH_MAX + 8], target[PATH_MAX], hex[65];
    pol_status st = pol_task_parse(json, len, data_dir, &probe);
    if (st)
        return st;
    if ((st = raw_dataset_path(json, len, rel, sizeof rel)))
        return st;
    pol_digest_to_hex(&probe.id, hex);
    if (strlen(work_dir) + 90 >= sizeof out->path)
        return pol_errorf(POL_ERR_INVALID_ARG, "work directory path too long");
    snprintf(out->dir, sizeof out->dir, "%s/tasks/%.64s", work_dir, hex);
    snprintf(out->path, sizeof out->path, "%s/tasks/%.64s/task.json", work_dir, hex);
    if ((st = pol_mkdir_p(out->dir)))
        return st;
    st = pol_write_file_atomic(out->path, json, len, 0);
    if (st && st != POL_ERR_EXISTS)
        return st;
    /* the dataset beside the task file, where a relative path finds it */
    if (rel[0] != '/') {
        if (!realpath(probe.dataset_path, target))
            return pol_errorf(POL_ERR_NOT_FOUND, "dataset %s: not found (--data-dir?)",
                              probe.dataset_path);
        snprintf(link_path, sizeof link_path, "%s/%s", out->dir, rel);
        char *slash = strrchr(link_path, '/');
        *slash = 0;
        if ((st = pol_mkdir_p(link_path)))
            return st;
        *slash = '/';
        if (access(link_path, F_OK) != 0 && symlink(target, link_path) != 0)
            return pol_errorf(POL_ERR_IO, "symlink %s", link_path);
    }
    if ((st = pol_task_load(out->path, &out->task)))
        return st;
    st = pol_dataset_load(out->task.dataset_path, &out->task.dataset_sha256, out->task.sizes[0],
                          out->task.sizes[out->task.n_layers], &out->ds);
    return st;
}

void pol_role_task_close(pol_role_task *t)
{
    pol_dataset_free(&t->ds);
    memset(t, 0, sizeof *t);
}

/* The checkpoints the sample needs, fetched from the solver. */
static pol_status fetch_sample(const pol_cert *c, const pol_verify_opts *vo, const char *addr,
                               const pol_keypair *kp)
{
    uint32_t *picked = malloc(POL_VERIFY_MAX_PICKS * sizeof *picked);
    size_t n = 0;
    if (!picked)
        return pol_errorf(POL_ERR_NOMEM, "picks");
    pol_status st = pol_verify_pick(c, vo, picked, &n);
    pol_net_conn *conn = NULL;
    if (!st)
        st = pol_net_connect(addr, 30000, 0, c->solver_key, &conn);
    if (!st)
        st = pol_role_fetch_checkpoint(conn, kp, &c->ckpt_hashes[0], vo->store_dir);
    for (size_t i = 0; !st && i < n; i++) {
        st = pol_role_fetch_checkpoint(conn, kp, &c->ckpt_hashes[picked[i]], vo->store_dir);
        if (!st)
            st = pol_role_fetch_checkpoint(conn, kp, &c->ckpt_hashes[picked[i] + 1],
                                           vo->store_dir);
    }
    pol_net_close(conn);
    free(picked);
    return st;
}

/* A failure to get the sample's checkpoints from the solver, as opposed to
 * the verifier's own (memory, arguments, a bug). */
static int withholding(pol_status st)
{
    return st && st != POL_ERR_NOMEM && st != POL_ERR_INVALID_ARG && st != POL_ERR_INTERNAL;
}

static pol_status sign_report(const pol_cert *c, const pol_digest *cert_id,
                              const pol_verify_opts *vo, const pol_verify_result *r,
                              const pol_keypair *kp, uint8_t **env, size_t *len)
{
    uint8_t me[POL_PUBKEY_LEN], *body = NULL;
    size_t blen = 0;
    pol_report rep;
    pol_status st = pol_keypair_pubkey(kp, me);
    if (st || (st = pol_report_from_verify(c, cert_id, vo, r, me, &rep)))
        return st;
    if (!(st = pol_report_encode(&rep, &body, &blen)))
        st = pol_envelope_seal(POL_MSG_REPORT, body, blen, kp, env, len);
    free(body);
    pol_report_free(&rep);
    return st;
}

pol_status pol_role_profile_thresholds(const pol_game_task *t, pol_metric metric,
                                       pol_threshold **out, size_t *n_out)
{
    *out = NULL, *n_out = 0;
    if (!t->profile_env_len)
        return pol_errorf(POL_ERR_NOT_FOUND, "the task has no profile");
    pol_profile_report r;
    pol_status st = pol_game_profile_open(t->profile_env, t->profile_env_len, &t->id, &r, NULL);
    if (st)
        return st;
    pol_threshold *thr = calloc(r.n_thresholds, sizeof *thr);
    size_t n = 0;
    if (!thr)
        st = pol_errorf(POL_ERR_NOMEM, "thresholds");
    for (size_t i = 0; !st && i < r.n_thresholds; i++) {
        const pol_wire_threshold *w = &r.thresholds[i];
        if (w->op[0] || w->interval_len == 0 || w->metric != (uint32_t)metric)
            continue;
        thr[n].interval_len = w->interval_len;
        thr[n].group = (pol_state_group)w->group; /* valid: checked by the decoder */
        thr[n++].value = w->threshold;
    }
    pol_profile_report_free(&r);
    if (!st && !n)
        st = pol_errorf(POL_ERR_NOT_FOUND, "the task's profile has no interval threshold for "
                        "metric %s", pol_metric_name(metric));
    if (st) {
        free(thr);
        return st;
    }
    *out = thr, *n_out = n;
    return POL_OK;
}

pol_status pol_role_profile_tolerance(const uint8_t *profile_env, size_t len,
                                      const pol_digest *task_id, pol_pin_tolerance *tol)
{
    pol_profile_report r;
    memset(tol, 0, sizeof *tol);
    if (!len)
        return pol_errorf(POL_ERR_NOT_FOUND, "a tolerant-mode task without its profile");
    pol_status st = pol_game_profile_open(profile_env, len, task_id, &r, NULL);
    if (st)
        return st;
    for (size_t i = 0; i < r.n_thresholds; i++) {
        const pol_wire_threshold *t = &r.thresholds[i];
        if (t->op[0] && t->interval_len == 0 &&
            (!tol->metric || t->metric == POL_METRIC_L2_REL))
            tol->metric = (pol_metric)t->metric;
    }
    if (!tol->metric)
        tol->metric = POL_METRIC_L2_REL;
    for (size_t i = 0; i < r.n_thresholds; i++) {
        const pol_wire_threshold *t = &r.thresholds[i];
        if (!t->op[0] || t->interval_len != 0 || t->metric != (uint32_t)tol->metric)
            continue;
        for (int op = 1; op < POL_PIN_TOL_OPS; op++)
            if (pol_op_name((pol_op)op) && !strcmp(pol_op_name((pol_op)op), t->op))
                tol->threshold[op] = t->threshold;
    }
    pol_profile_report_free(&r);
    return POL_OK;
}

pol_status pol_role_check_cert(const pol_game_task *t, const pol_keypair *kp,
                               const char *work_dir, const char *data_dir, uint32_t samples,
                               int *accept, uint8_t **report_env, size_t *report_len, char *why)
{
    *accept = 0;
    if (report_env)
        *report_env = NULL, *report_len = 0;
    if (why)
        why[0] = 0;
    if (!t->has_cert)
        return pol_errorf(POL_ERR_NOT_FOUND, "the task has no certificate");
    char addr[POL_ROLE_ENDPOINT_MAX], store[POL_PATH_MAX + 16];
    pol_status st = pol_role_solver_endpoint(t, addr);
    if (st)
        return st;
    snprintf(store, sizeof store, "%s/store", work_dir);
    pol_cert c;
    if ((st = pol_cert_open(t->cert_env, t->cert_env_len, &c, NULL)))
        return st;
    pol_role_task rt;
    pol_verify_opts vo = { 0 };
    pol_verify_result *r = calloc(1, sizeof *r);
    pol_ctx *ctx = NULL;
    pol_threshold *thr = NULL;
    if (!r)
        st = pol_errorf(POL_ERR_NOMEM, "result");
    if (!st && c.mode == POL_MODE_TOLERANT) {
        vo.metric = POL_METRIC_L2_REL;
        st = pol_role_profile_thresholds(t, vo.metric, &thr, &vo.n_thresholds);
        vo.thresholds = thr;
    }
    if (!st)
        st = pol_role_task_open(work_dir, data_dir, t->task_json, t->task_json_len, &rt);
    if (!st) {
        vo.task_path = rt.path;
        vo.store_dir = store;
        vo.cert_id = t->cert_id;
        vo.samples = samples;
        vo.top_q = 1;
        if (getrandom(vo.beacon, sizeof vo.beacon, 0) != (ssize_t)sizeof vo.beacon)
            st = pol_errorf(POL_ERR_IO, "getrandom failed");
        char withheld[200] = "";
        if (!st) {
            st = fetch_sample(&c, &vo, addr, kp);
            if (withholding(st) && c.mode == POL_MODE_EXACT && !c.has_parent) { /* [V-VER-7] */
                snprintf(withheld, sizeof withheld, "%s", pol_last_error());
                vo.replay = 1, vo.samples = POL_VERIFY_ALL, vo.top_q = 0;
                st = POL_OK;
            }
        }
        if (!st)
            st = pol_ctx_create(&ctx, NULL);
        if (!st)
            st = pol_verify(ctx, &c, &vo, r);
        if (!st && report_env)
            st = sign_report(&c, &t->cert_id, &vo, r, kp, report_env, report_len);
        if (!st) {
            *accept = r->accept;
            if (why && withheld[0])
                snprintf(why, 256, "replayed the whole run (the solver did not serve a "
                         "checkpoint: %.90s)%s%.90s", withheld, r->reason[0] ? ": " : "",
                         r->reason);
            else if (why)
                snprintf(why, 256, "%s", r->reason);
        }
        pol_ctx_destroy(ctx);
        pol_role_task_close(&rt);
    }
    free(r);
    free(thr);
    pol_cert_free(&c);
    return st;
}
