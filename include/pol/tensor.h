/* libpol — tensors: a name, a dtype, a shape and little-endian bytes.
 *
 * Shapes are row-major and contiguous; there are no strides. A tensor either
 * owns its data (allocated by pol_tensor_alloc, freed by pol_tensor_free) or
 * borrows it (owns == 0), e.g. a view into a larger arena.
 *
 * The canonical encoding and hash of a tensor are defined in
 * spec/encoding.md and implemented in pol/hash.h.
 */
#ifndef POL_TENSOR_H
#define POL_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "pol/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POL_NAME_MAX 64 /* bytes including the terminating NUL */
#define POL_MAX_DIMS 4

/* Values are part of the canonical encoding (spec/encoding.md): append only. */
typedef enum pol_dtype {
    POL_F32 = 1, /* IEEE-754 binary32 */
    POL_I32 = 2, /* two's complement int32 */
    POL_U8 = 3,
    POL_U64 = 4,
} pol_dtype;

typedef struct pol_tensor {
    char name[POL_NAME_MAX]; /* NUL-terminated, [A-Za-z0-9._/-], non-empty */
    pol_dtype dtype;
    int ndim;                          /* 0..POL_MAX_DIMS; 0 is a scalar */
    int64_t shape[POL_MAX_DIMS];       /* each >= 0; unused entries 0 */
    void *data;                        /* nbytes bytes, little-endian values */
    size_t nbytes;                     /* numel * dtype size */
    int owns;                          /* 1: data is freed by pol_tensor_free */
} pol_tensor;

/* Size in bytes of one element, 0 for an unknown dtype. */
size_t pol_dtype_size(pol_dtype dt);

/* Safetensors spelling ("F32", "I32", "U8", "U64"), or NULL. */
const char *pol_dtype_name(pol_dtype dt);

/* Parses a safetensors dtype spelling. Returns 0 for an unknown one. */
pol_dtype pol_dtype_parse(const char *s);

/* Number of elements (product of the shape; 1 for a scalar). */
int64_t pol_tensor_numel(const pol_tensor *t);

/* Checks that `name` is a valid tensor name (see the struct comment). */
int pol_name_valid(const char *name);

/* Initialises *t and allocates zeroed data for it.
 * Returns: POL_OK; POL_ERR_INVALID_ARG for a bad name, dtype or ndim;
 *          POL_ERR_TOO_LARGE when the byte size overflows or exceeds 2^40;
 *          POL_ERR_NOMEM.
 * Out: *t; on failure t->data is NULL. */
POL_WARN_UNUSED pol_status pol_tensor_alloc(pol_tensor *t, const char *name, pol_dtype dtype,
                                            int ndim, const int64_t *shape);

/* Frees owned data and zeroes *t. NULL or a borrowed tensor is safe. */
void pol_tensor_free(pol_tensor *t);

/* Typed accessors (no checks; the caller knows the dtype). */
static inline float *pol_f32(const pol_tensor *t) { return (float *)t->data; }
static inline int32_t *pol_i32(const pol_tensor *t) { return (int32_t *)t->data; }

#ifdef __cplusplus
}
#endif
#endif /* POL_TENSOR_H */
