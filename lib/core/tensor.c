#include "pol/tensor.h"

#include <stdlib.h>
#include <string.h>

#define POL_TENSOR_MAX_BYTES ((size_t)1 << 40)

size_t pol_dtype_size(pol_dtype dt)
{
    switch (dt) {
    case POL_F32: return 4;
    case POL_I32: return 4;
    case POL_U8: return 1;
    case POL_U64: return 8;
    }
    return 0;
}

const char *pol_dtype_name(pol_dtype dt)
{
    switch (dt) {
    case POL_F32: return "F32";
    case POL_I32: return "I32";
    case POL_U8: return "U8";
    case POL_U64: return "U64";
    }
    return NULL;
}

pol_dtype pol_dtype_parse(const char *s)
{
    if (!s) return (pol_dtype)0;
    if (!strcmp(s, "F32")) return POL_F32;
    if (!strcmp(s, "I32")) return POL_I32;
    if (!strcmp(s, "U8")) return POL_U8;
    if (!strcmp(s, "U64")) return POL_U64;
    return (pol_dtype)0;
}

int64_t pol_tensor_numel(const pol_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

int pol_name_valid(const char *name)
{
    if (!name || !name[0])
        return 0;
    size_t n = strnlen(name, POL_NAME_MAX);
    if (n >= POL_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '/' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

pol_status pol_tensor_alloc(pol_tensor *t, const char *name, pol_dtype dtype, int ndim,
                            const int64_t *shape)
{
    if (!t)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_tensor_alloc: NULL tensor");
    memset(t, 0, sizeof *t);
    if (!pol_name_valid(name))
        return pol_errorf(POL_ERR_INVALID_ARG, "invalid tensor name");
    size_t es = pol_dtype_size(dtype);
    if (es == 0)
        return pol_errorf(POL_ERR_INVALID_ARG, "tensor %s: unknown dtype %d", name, (int)dtype);
    if (ndim < 0 || ndim > POL_MAX_DIMS || (ndim > 0 && !shape))
        return pol_errorf(POL_ERR_INVALID_ARG, "tensor %s: ndim %d", name, ndim);
    size_t bytes = es;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return pol_errorf(POL_ERR_INVALID_ARG, "tensor %s: negative dimension", name);
        if (shape[i] > 0 && bytes > POL_TENSOR_MAX_BYTES / (size_t)shape[i])
            return pol_errorf(POL_ERR_TOO_LARGE, "tensor %s: size exceeds 2^40 bytes", name);
        bytes *= (size_t)shape[i];
        t->shape[i] = shape[i];
    }
    strcpy(t->name, name);
    t->dtype = dtype;
    t->ndim = ndim;
    t->nbytes = bytes;
    /* 64-byte alignment suits every SIMD width the fast kernels use. */
    size_t alloc = (bytes + 63) & ~(size_t)63;
    t->data = aligned_alloc(64, alloc ? alloc : 64);
    if (!t->data) {
        memset(t, 0, sizeof *t);
        return pol_errorf(POL_ERR_NOMEM, "tensor %s: %zu bytes", name, bytes);
    }
    memset(t->data, 0, alloc ? alloc : 64);
    t->owns = 1;
    return POL_OK;
}

void pol_tensor_free(pol_tensor *t)
{
    if (!t)
        return;
    if (t->owns)
        free(t->data);
    memset(t, 0, sizeof *t);
}
