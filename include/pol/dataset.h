/* libpol — datasets: a safetensors file of features and labels
 * (spec/task.md, "Dataset files").
 *
 * Tensors: train_x F32 (N, D), train_y I32 (N), and optionally test_x F32
 * (Nt, D), test_y I32 (Nt). Labels lie in [0, classes). The file is checked
 * against its SHA-256 before a single byte is parsed.
 */
#ifndef POL_DATASET_H
#define POL_DATASET_H

#include "pol/hash.h"
#include "pol/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POL_DATASET_MAX_BYTES ((size_t)1 << 34) /* 16 GiB */

typedef struct pol_dataset {
    pol_tensor train_x, train_y;
    pol_tensor test_x, test_y; /* data == NULL when the file has no test split */
    int64_t n_train, n_test, dim;
} pol_dataset;

/* Loads a dataset file, verifying its SHA-256 (sha256 may be NULL to skip
 * the check, for tools that only inspect a file) and that every label lies
 * in [0, classes) and features have dimension dim (0: any).
 * Returns: POL_OK; POL_ERR_IO; POL_ERR_HASH_MISMATCH; POL_ERR_FORMAT;
 *          POL_ERR_SHAPE; POL_ERR_TOO_LARGE; POL_ERR_NOMEM.
 * Out: *ds, zeroed on failure. */
POL_WARN_UNUSED pol_status pol_dataset_load(const char *path, const pol_digest *sha256,
                                            int64_t dim, int64_t classes, pol_dataset *ds);

void pol_dataset_free(pol_dataset *ds);

#ifdef __cplusplus
}
#endif
#endif /* POL_DATASET_H */
