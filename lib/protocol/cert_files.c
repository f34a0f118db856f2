/* A certificate from a list of checkpoint files (a party that trained with
 * its own driver, e.g. a pol_replayer, rather than pol_run_train). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol/cert.h"
#include "pol/safetensors.h"
#include "pol/version.h"

/* 1 for a parameter tensor: l<digits>.W or l<digits>.b [C-CERT table]. */
static int is_param(const char *name)
{
    if (name[0] != 'l' || name[1] < '0' || name[1] > '9')
        return 0;
    const char *p = name + 1;
    while (*p >= '0' && *p <= '9')
        p++;
    return (p[0] == '.' && (p[1] == 'W' || p[1] == 'b') && p[2] == '\0');
}

/* The L2 norm of the parameter change between two checkpoints, binary64,
 * tensors in name order (pol_st_file keeps them sorted), elements in order. */
static pol_status update_norm(const pol_st_file *a, const pol_st_file *b, const char *path,
                              double *out)
{
    double sum = 0.0;
    for (size_t i = 0; i < b->n; i++) {
        const pol_tensor *y = &b->tensors[i];
        if (!is_param(y->name))
            continue;
        const pol_tensor *x = pol_st_get(a, y->name);
        if (!x || x->dtype != POL_F32 || y->dtype != POL_F32 || x->nbytes != y->nbytes)
            return pol_errorf(POL_ERR_MISMATCH, "%s: parameter %s does not match the previous checkpoint",
                              path, y->name);
        const float *p = pol_f32(x), *q = pol_f32(y);
        const int64_t k = pol_tensor_numel(y);
        for (int64_t j = 0; j < k; j++) {
            double d = (double)q[j] - (double)p[j];
            sum += d * d;
        }
    }
    *out = sqrt(sum);
    return POL_OK;
}

pol_status pol_cert_from_checkpoints(const pol_task *task, const char *const *paths, size_t n,
                                     pol_cert *c)
{
    if (!task || !paths || !c)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cert_from_checkpoints: NULL argument");
    memset(c, 0, sizeof *c);
    if (n < 2 || n > POL_CERT_MAX_CHECKPOINTS)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cert_from_checkpoints: %zu checkpoints", n);
    pol_status st = pol_cert_alloc(c, n);
    pol_st_file prev, cur;
    memset(&prev, 0, sizeof prev);
    memset(&cur, 0, sizeof cur);
    for (size_t i = 0; !st && i < n; i++) {
        if ((st = pol_st_load(paths[i], NULL, &cur)))
            break;
        const pol_tensor *s = pol_st_get(&cur, "counters.step");
        if (!s || s->dtype != POL_U64 || pol_tensor_numel(s) != 1)
            st = pol_errorf(POL_ERR_FORMAT, "%s: no counters.step", paths[i]);
        else {
            uint64_t step;
            memcpy(&step, s->data, sizeof step);
            c->ckpt_steps[i] = step;
            st = pol_st_state_hash(&cur, &c->ckpt_hashes[i]);
        }
        if (!st && i > 0)
            st = update_norm(&prev, &cur, paths[i], &c->update_norms[i - 1]);
        pol_st_free(&prev);
        prev = cur;
        memset(&cur, 0, sizeof cur);
    }
    pol_st_free(&prev);
    pol_st_free(&cur);
    if (!st) {
        c->task_id = task->id;
        c->mode = (uint32_t)task->mode;
        c->spec_version = POL_SPEC_VERSION;
        c->checkpoint_every = task->checkpoint_every;
        c->steps = task->steps;
        c->final_state_hash = c->ckpt_hashes[n - 1];
        st = pol_merkle_root(c->ckpt_hashes, n, &c->ckpt_root);
    }
    if (!st && c->ckpt_steps[0] != 0)
        st = pol_errorf(POL_ERR_MISMATCH, "%s: the first checkpoint is not step 0", paths[0]);
    if (st)
        pol_cert_free(c);
    return st;
}
