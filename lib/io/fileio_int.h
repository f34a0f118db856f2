/* Internal: the directory fsync that ends libpol's crash-safe file writes
 * (pol_write_file_atomic, key files, new ledgers). */
#ifndef POL_LIB_FILEIO_INT_H
#define POL_LIB_FILEIO_INT_H

#include "pol/status.h"

/* fsyncs the directory holding `path` ("." for a bare name, "/" for
 * "/name"), so that a rename or link to `path` survives a power loss. A
 * file system that cannot sync directories (EINVAL) counts as done.
 * Returns: POL_OK; POL_ERR_IO (the message names the directory and `path`).
 * Allocates nothing: it follows a file put in place. */
pol_status pol_fsync_parent(const char *path);

#endif
