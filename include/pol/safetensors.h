/* libpol — safetensors files: the checkpoint format.
 *
 * A safetensors file is a u64le header length N, N bytes of UTF-8 JSON, then
 * the data buffer. The JSON maps each tensor name to
 *   {"dtype": "F32"|"I32"|"U8"|"U64", "shape": [...], "data_offsets": [b, e]}
 * (offsets relative to the start of the data buffer) and may hold a
 * "__metadata__" object of string to string. The profile libpol writes and
 * the checks it applies on reading are normative in spec/encoding.md
 * ([E-ST-1] ...); files load in the Python `safetensors` package and NumPy.
 *
 * Files are untrusted input: every length is capped before it is used, every
 * entry is checked, and a bad file yields an error status, never a crash.
 *
 * Rules that hold for every function below unless it says otherwise:
 *  - Pointer arguments must be non-NULL; an array may be NULL when its
 *    length is 0.
 *  - Argument order: inputs, then outputs; a length follows its array.
 *  - On failure a message naming the file (or "safetensors buffer") and the
 *    problem is recorded for pol_last_error.
 */
#ifndef POL_SAFETENSORS_H
#define POL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "pol/hash.h"
#include "pol/status.h"
#include "pol/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults of the reader's caps. */
#define POL_ST_DEFAULT_MAX_FILE ((uint64_t)1 << 36)   /* 64 GiB */
#define POL_ST_DEFAULT_MAX_HEADER ((uint64_t)1 << 20) /* 1 MiB of JSON */
#define POL_ST_DEFAULT_MAX_TENSORS 8192
#define POL_ST_DEFAULT_MAX_DIMS POL_MAX_DIMS

/* Caps applied before anything is decoded or allocated. A field left 0
 * takes its default; a NULL pol_st_limits pointer means all defaults. */
typedef struct pol_st_limits {
    uint64_t max_file_bytes;   /* whole file (8 + header + data) */
    uint64_t max_header_bytes; /* the JSON header, N */
    size_t max_tensors;        /* entries other than __metadata__ */
    int max_dims;              /* per tensor; at most POL_MAX_DIMS */
} pol_st_limits;

/* A loaded file. The caller owns everything in it; release with
 * pol_st_free. */
typedef struct pol_st_file {
    pol_tensor *tensors; /* (n) sorted by name; each owns its data, 64-byte aligned */
    size_t n;
    char **meta;   /* (2 * n_meta) key0, value0, key1, value1, ... sorted by key */
    size_t n_meta;
} pol_st_file;

/* Serialises tensors and metadata into a safetensors image in memory,
 * exactly as pol_st_save would write it [E-ST-1 .. E-ST-5]: metadata sorted
 * by key, tensors sorted by name and laid out contiguously in that order,
 * header padded with spaces to a multiple of 8 bytes.
 * Returns: POL_OK;
 *          POL_ERR_INVALID_ARG for a malformed tensor (see pol_tensor_hash),
 *          a NULL tensor pointer, two tensors or two metadata keys with the
 *          same name, a tensor named "__metadata__", a NULL or non-UTF-8
 *          metadata string, or a metadata string containing NUL;
 *          POL_ERR_TOO_LARGE when the header would exceed
 *          POL_ST_DEFAULT_MAX_HEADER or the tensors exceed
 *          POL_ST_DEFAULT_MAX_TENSORS (a file the reader's defaults refuse
 *          is never produced);
 *          POL_ERR_NOMEM.
 * Out:     *buf: a malloc'd image (free with free()); NULL on failure.
 *          *len: its length; 0 on failure.
 * In:      tensors, n: the tensors, in any order;
 *          meta_kv, n_meta: n_meta key/value pairs as 2 * n_meta strings
 *          (key0, value0, key1, value1, ...). */
POL_WARN_UNUSED pol_status pol_st_serialize(const pol_tensor *const *tensors, size_t n,
                                            const char *const *meta_kv, size_t n_meta,
                                            uint8_t **buf, size_t *len);

/* Writes a safetensors file atomically (pol_write_file_atomic semantics:
 * temp file, fsync, rename, directory fsync) without copying tensor data
 * into one buffer.
 * Returns: as pol_st_serialize, plus POL_ERR_EXISTS (overwrite == 0 and
 *          `path` exists; it is left untouched) and POL_ERR_IO. On failure
 *          no temporary file is left and `path` is unchanged.
 * In:      path: the file; tensors, n, meta_kv, n_meta: as
 *          pol_st_serialize; overwrite: nonzero to replace an existing
 *          file. */
POL_WARN_UNUSED pol_status pol_st_save(const char *path, const pol_tensor *const *tensors,
                                       size_t n, const char *const *meta_kv, size_t n_meta,
                                       int overwrite);

/* Parses and validates a safetensors image held in memory [E-ST-6 .. E-ST-13].
 * Returns: POL_OK;
 *          POL_ERR_TOO_LARGE when a cap is exceeded (file, header, number
 *          of tensors, number of dimensions);
 *          POL_ERR_FORMAT for any malformed content;
 *          POL_ERR_UNSUPPORTED for a valid safetensors dtype that libpol
 *          does not handle (F16, BF16, ...);
 *          POL_ERR_INVALID_ARG for a bad limits struct (max_dims outside
 *          0..POL_MAX_DIMS);
 *          POL_ERR_NOMEM.
 * Out:     *out: the file's tensors (copies, owned by *out) and metadata;
 *          all zero on failure, with nothing left allocated.
 * In:      buf, len: the image; lim: the caps, or NULL for defaults. */
POL_WARN_UNUSED pol_status pol_st_parse(const uint8_t *buf, size_t len, const pol_st_limits *lim,
                                        pol_st_file *out);

/* Reads and validates a safetensors file. The header is checked before the
 * data is read; tensor data is read straight into the tensors' buffers.
 * Returns: as pol_st_parse, plus POL_ERR_NOT_FOUND (no such file) and
 *          POL_ERR_IO.
 * Out:     *out: as pol_st_parse; all zero on failure.
 * In:      path: the file; lim: the caps, or NULL for defaults. */
POL_WARN_UNUSED pol_status pol_st_load(const char *path, const pol_st_limits *lim,
                                       pol_st_file *out);

/* The tensor called `name`, or NULL (binary search; O(log n)). The pointer
 * is valid until pol_st_free. */
const pol_tensor *pol_st_get(const pol_st_file *f, const char *name);

/* The metadata value for `key`, or NULL. Valid until pol_st_free. */
const char *pol_st_meta(const pol_st_file *f, const char *key);

/* Frees everything *f owns and zeroes it. NULL is a no-op. */
void pol_st_free(pol_st_file *f);

/* The state hash (spec/encoding.md E-STATE) of all of a file's tensors: what
 * a checkpoint file is named by. Returns: POL_OK; the errors of
 * pol_state_hash; POL_ERR_NOMEM. Out: *out. */
POL_WARN_UNUSED pol_status pol_st_state_hash(const pol_st_file *f, pol_digest *out);

#ifdef __cplusplus
}
#endif
#endif /* POL_SAFETENSORS_H */
