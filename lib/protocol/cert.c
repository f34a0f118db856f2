/* Certificates: allocation, consistency checks, building one from a run. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol/cert.h"
#include "pol/safetensors.h"
#include "pol/task.h"
#include "pol/train.h"
#include "pol/version.h"

pol_status pol_cert_alloc(pol_cert *c, size_t n)
{
    if (!c)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cert_alloc: NULL certificate");
    memset(c, 0, sizeof *c);
    if (n < 2 || n > POL_CERT_MAX_CHECKPOINTS)
        return pol_errorf(POL_ERR_TOO_LARGE, "certificate: %zu checkpoints not in [2, %u]", n,
                          POL_CERT_MAX_CHECKPOINTS);
    c->ckpt_steps = calloc(n, sizeof *c->ckpt_steps);
    c->ckpt_hashes = calloc(n, sizeof *c->ckpt_hashes);
    c->update_norms = calloc(n - 1, sizeof *c->update_norms);
    if (!c->ckpt_steps || !c->ckpt_hashes || !c->update_norms) {
        pol_cert_free(c);
        return pol_errorf(POL_ERR_NOMEM, "certificate with %zu checkpoints", n);
    }
    c->n_checkpoints = n;
    return POL_OK;
}

void pol_cert_free(pol_cert *c)
{
    if (!c)
        return;
    free(c->ckpt_steps);
    free(c->ckpt_hashes);
    free(c->update_norms);
    memset(c, 0, sizeof *c);
}

int64_t pol_cert_find_checkpoint(const pol_cert *c, uint64_t step, const pol_digest *h)
{
    for (size_t j = 0; c && h && j < c->n_checkpoints; j++)
        if (c->ckpt_steps[j] == step && pol_digest_equal(&c->ckpt_hashes[j], h))
            return (int64_t)j;
    return -1;
}

pol_status pol_cert_check(const pol_cert *c)
{
    if (!c || !c->ckpt_steps || !c->ckpt_hashes || !c->update_norms)
        return pol_errorf(POL_ERR_FORMAT, "certificate: missing checkpoint arrays");
    const size_t n = c->n_checkpoints;
    if (n < 2 || n > POL_CERT_MAX_CHECKPOINTS)
        return pol_errorf(POL_ERR_FORMAT, "certificate: %zu checkpoints", n);
    if (c->mode != 1 && c->mode != 2)
        return pol_errorf(POL_ERR_FORMAT, "certificate: unknown mode %u", c->mode);
    if (c->checkpoint_every < 1 || c->steps < 1)
        return pol_errorf(POL_ERR_FORMAT, "certificate: k and steps must be positive");
    if (!memchr(c->device, '\0', sizeof c->device))
        return pol_errorf(POL_ERR_FORMAT, "certificate: device text not terminated");
    if (c->ckpt_steps[n - 1] != c->steps)
        return pol_errorf(POL_ERR_FORMAT, "certificate: last checkpoint at step %" PRIu64
                          ", the task has %" PRIu64, c->ckpt_steps[n - 1], c->steps);
    if (!c->has_parent && c->ckpt_steps[0] != 0)
        return pol_errorf(POL_ERR_FORMAT, "certificate: starts at step %" PRIu64
                          " without a parent certificate", c->ckpt_steps[0]);
    for (size_t i = 0; i + 1 < n; i++) {
        if (c->ckpt_steps[i] >= c->ckpt_steps[i + 1])
            return pol_errorf(POL_ERR_FORMAT, "certificate: checkpoint steps not increasing at %zu", i);
        /* [C-WHEN-1]: the next multiple of k, or the last step if that comes
         * first; the last interval too, or a long unchecked tail could hide
         * behind one interval of the sample */
        const uint64_t next = c->ckpt_steps[i] - c->ckpt_steps[i] % c->checkpoint_every +
                              c->checkpoint_every;
        if (c->ckpt_steps[i + 1] != (next < c->steps ? next : c->steps))
            return pol_errorf(POL_ERR_FORMAT, "certificate: checkpoint %zu at step %" PRIu64
                              " is not the next multiple of k after step %" PRIu64
                              " (nor the last step)", i + 1, c->ckpt_steps[i + 1], c->ckpt_steps[i]);
        if (!(c->update_norms[i] >= 0.0) || !isfinite(c->update_norms[i]))
            return pol_errorf(POL_ERR_FORMAT, "certificate: update norm %zu is not finite and >= 0", i);
    }
    pol_digest root;
    pol_status st = pol_merkle_root(c->ckpt_hashes, n, &root);
    if (st)
        return st;
    if (!pol_digest_equal(&root, &c->ckpt_root))
        return pol_errorf(POL_ERR_FORMAT, "certificate: checkpoint root does not match the hashes");
    if (!pol_digest_equal(&c->final_state_hash, &c->ckpt_hashes[n - 1]))
        return pol_errorf(POL_ERR_FORMAT, "certificate: final state hash is not the last checkpoint's");
    return POL_OK;
}

pol_status pol_cert_from_run(const char *run_dir, const char *task_path, pol_cert *c)
{
    if (!run_dir || !task_path || !c)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cert_from_run: NULL argument");
    memset(c, 0, sizeof *c);
    pol_task task;
    pol_trace tr;
    pol_status st = pol_task_load(task_path, &task);
    if (st)
        return st;
    if ((st = pol_trace_load(run_dir, &tr)))
        return st;
    if (!pol_digest_equal(&tr.task_id, &task.id))
        st = pol_errorf(POL_ERR_MISMATCH, "%s: the run is for another task", run_dir);
    else if (tr.e[tr.n - 1].step != task.steps)
        st = pol_errorf(POL_ERR_MISMATCH, "%s: the run is unfinished (step %" PRIu64 " of %" PRIu64 ")",
                        run_dir, tr.e[tr.n - 1].step, task.steps);
    if (!st)
        st = pol_cert_alloc(c, tr.n);
    for (size_t i = 0; !st && i < tr.n; i++) {
        c->ckpt_steps[i] = tr.e[i].step;
        c->ckpt_hashes[i] = tr.e[i].hash;
        if (i == 0)
            continue;
        if (!tr.e[i].has_norm)
            st = pol_errorf(POL_ERR_FORMAT, "%s: trace entry %zu has no update_norm", run_dir, i);
        else
            c->update_norms[i - 1] = tr.e[i].update_norm;
    }
    if (!st) {
        c->task_id = task.id;
        c->mode = (uint32_t)task.mode;
        c->spec_version = POL_SPEC_VERSION;
        c->checkpoint_every = task.checkpoint_every;
        c->steps = task.steps;
        c->final_state_hash = c->ckpt_hashes[c->n_checkpoints - 1];
        c->has_parent = c->ckpt_steps[0] != 0;
        st = pol_merkle_root(c->ckpt_hashes, c->n_checkpoints, &c->ckpt_root);
    }
    pol_trace_free(&tr);
    if (st)
        pol_cert_free(c);
    return st;
}
