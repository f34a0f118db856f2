/* libpol — whole-file reads, atomic writes, directory creation.
 *
 * Rules that hold for every function below unless it says otherwise:
 *  - Pointer arguments must be non-NULL; a data pointer may be NULL when its
 *    length is 0.
 *  - Argument order: inputs, then outputs; a length follows its array.
 *  - On failure the function records a message for pol_last_error that
 *    names the path and the system error (strerror(errno)).
 *  - POSIX only (open, fsync, rename, mkstemp).
 */
#ifndef POL_FILEIO_H
#define POL_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "pol/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a whole file into memory.
 * A regular file larger than `cap` bytes is refused from its size before any
 * byte is read; a file that grows past `cap` while being read (or a pipe or
 * device that yields more than `cap` bytes) is refused too. Short reads and
 * EINTR are retried.
 * Returns: POL_OK; POL_ERR_NOT_FOUND when the file does not exist;
 *          POL_ERR_TOO_LARGE; POL_ERR_IO; POL_ERR_NOMEM.
 * Out:     *buf: a malloc'd buffer of *len + 1 bytes whose last byte is an
 *          extra NUL (not counted in *len), so text can be used as a C
 *          string; the caller frees it with free(). NULL on failure.
 *          *len: the file size; 0 on failure.
 * In:      path: the file; cap: the largest size accepted, in bytes. */
POL_WARN_UNUSED pol_status pol_read_file(const char *path, size_t cap, uint8_t **buf,
                                         size_t *len);

/* One piece of a file written by pol_write_file_atomicv. */
typedef struct pol_iovec {
    const void *data; /* may be NULL when len is 0 */
    size_t len;
} pol_iovec;

/* Replaces (or creates) a file so that a reader, or a crash, sees either the
 * old content or the whole new content, never a mix:
 *   1. write the data to a new temporary file "<path>.tmp-XXXXXX" in the
 *      target's directory, mode 0644;
 *   2. fsync it;
 *   3. rename it over `path` (overwrite != 0), or, with overwrite == 0, move
 *      it into place only if `path` does not exist (renameat2 with
 *      RENAME_NOREPLACE, or link() where the file system lacks it, so no
 *      file that appears meanwhile is ever clobbered);
 *   4. fsync the directory so the rename itself is durable (a file system
 *      that cannot, EINVAL, is taken as done).
 * Returns: POL_OK;
 *          POL_ERR_EXISTS when overwrite == 0 and `path` exists (it is
 *          left untouched);
 *          POL_ERR_IO when any step fails (missing or unwritable
 *          directory, full disk, ...);
 *          POL_ERR_INVALID_ARG for a NULL or empty path.
 *          On every failure before step 4 the temporary file is removed and
 *          `path` is unchanged. If only step 4 fails, the new content is in
 *          place but may not survive a power loss; POL_ERR_IO is returned.
 * In:      path: the target file; data, len: the new content;
 *          overwrite: 0 to refuse an existing target, nonzero to replace it. */
POL_WARN_UNUSED pol_status pol_write_file_atomic(const char *path, const void *data, size_t len,
                                                 int overwrite);

/* As pol_write_file_atomic, with the content given as the concatenation of
 * `n` pieces (so large buffers need not be copied into one).
 * In: parts, n: the pieces in order. */
POL_WARN_UNUSED pol_status pol_write_file_atomicv(const char *path, const pol_iovec *parts,
                                                  size_t n, int overwrite);

/* Creates a directory and any missing parents (mode 0777 less the umask),
 * like `mkdir -p`. An existing directory is success.
 * Returns: POL_OK; POL_ERR_IO when a component exists but is not a
 *          directory, or mkdir fails; POL_ERR_INVALID_ARG for a NULL or empty
 *          path; POL_ERR_TOO_LARGE for a path longer than PATH_MAX.
 *          Directories created before a failure are left in place.
 * In:      path: the directory. */
POL_WARN_UNUSED pol_status pol_mkdir_p(const char *path);

#ifdef __cplusplus
}
#endif
#endif /* POL_FILEIO_H */
