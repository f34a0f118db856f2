#include "pol/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol/fileio.h"
#include "pol/safetensors.h"

/* Moves tensor `name` out of the parsed file into *dst (a deep copy). */
static pol_status take(const pol_st_file *f, const char *path, const char *name, pol_dtype dt,
                       int ndim, pol_tensor *dst)
{
    const pol_tensor *t = pol_st_get(f, name);
    if (!t)
        return pol_errorf(POL_ERR_FORMAT, "dataset %s: no tensor %s", path, name);
    if (t->dtype != dt || t->ndim != ndim)
        return pol_errorf(POL_ERR_SHAPE, "dataset %s: %s must be %s with %d dimensions", path,
                          name, pol_dtype_name(dt), ndim);
    pol_status st = pol_tensor_alloc(dst, name, dt, ndim, t->shape);
    if (st)
        return st;
    memcpy(dst->data, t->data, t->nbytes);
    return POL_OK;
}

static pol_status check_split(const char *path, const char *what, const pol_tensor *x,
                              const pol_tensor *y, int64_t dim, int64_t classes)
{
    if (y->shape[0] != x->shape[0])
        return pol_errorf(POL_ERR_SHAPE, "dataset %s: %s has %lld samples but %lld labels", path,
                          what, (long long)x->shape[0], (long long)y->shape[0]);
    if (dim > 0 && x->shape[1] != dim)
        return pol_errorf(POL_ERR_SHAPE, "dataset %s: %s features have dimension %lld, the model "
                          "wants %lld", path, what, (long long)x->shape[1], (long long)dim);
    const int32_t *lab = pol_i32(y);
    for (int64_t i = 0; i < y->shape[0]; i++)
        if (lab[i] < 0 || lab[i] >= classes)
            return pol_errorf(POL_ERR_FORMAT, "dataset %s: %s label %d at %lld not in [0, %lld)",
                              path, what, (int)lab[i], (long long)i, (long long)classes);
    return POL_OK;
}

pol_status pol_dataset_load(const char *path, const pol_digest *sha256, int64_t dim,
                            int64_t classes, pol_dataset *ds)
{
    if (!path || !ds)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_dataset_load: NULL argument");
    memset(ds, 0, sizeof *ds);
    uint8_t *buf;
    size_t len;
    pol_status st = pol_read_file(path, POL_DATASET_MAX_BYTES, &buf, &len);
    if (st)
        return st;
    if (sha256) {
        pol_digest d;
        st = pol_sha256(buf, len, &d);
        if (st) {
            free(buf);
            return st;
        }
        if (memcmp(d.b, sha256->b, 32)) {
            char want[65], got[65];
            pol_digest_to_hex(sha256, want);
            pol_digest_to_hex(&d, got);
            free(buf);
            return pol_errorf(POL_ERR_HASH_MISMATCH, "dataset %s: sha256 is %s, the task says %s",
                              path, got, want);
        }
    }
    pol_st_file f;
    pol_st_limits lim = (pol_st_limits){ 0 };
    lim.max_file_bytes = POL_DATASET_MAX_BYTES;
    st = pol_st_parse(buf, len, &lim, &f);
    free(buf);
    if (st) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", pol_last_error());
        return pol_errorf(st, "dataset %s: %s", path, msg);
    }
    st = take(&f, path, "train_x", POL_F32, 2, &ds->train_x);
    if (!st) st = take(&f, path, "train_y", POL_I32, 1, &ds->train_y);
    if (!st) st = check_split(path, "train", &ds->train_x, &ds->train_y, dim, classes);
    if (!st && pol_st_get(&f, "test_x")) {
        st = take(&f, path, "test_x", POL_F32, 2, &ds->test_x);
        if (!st) st = take(&f, path, "test_y", POL_I32, 1, &ds->test_y);
        if (!st) st = check_split(path, "test", &ds->test_x, &ds->test_y, ds->train_x.shape[1], classes);
    }
    pol_st_free(&f);
    if (!st && ds->train_x.shape[0] < 1)
        st = pol_errorf(POL_ERR_FORMAT, "dataset %s: no training samples", path);
    if (st) {
        pol_dataset_free(ds);
        return st;
    }
    ds->n_train = ds->train_x.shape[0];
    ds->n_test = ds->test_x.data ? ds->test_x.shape[0] : 0;
    ds->dim = ds->train_x.shape[1];
    return POL_OK;
}

void pol_dataset_free(pol_dataset *ds)
{
    if (!ds)
        return;
    pol_tensor_free(&ds->train_x);
    pol_tensor_free(&ds->train_y);
    pol_tensor_free(&ds->test_x);
    pol_tensor_free(&ds->test_y);
    memset(ds, 0, sizeof *ds);
}
