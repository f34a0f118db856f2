/* Whole-file reads, crash-safe atomic writes, mkdir -p. */
#include "pol/fileio.h"
#include "fileio_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* Linux moves at most about 2 GiB per read/write call; stay well below. */
#define IO_CHUNK ((size_t)1 << 30)

/* ----------------------------------------------------------------- read */

static int open_retry(const char *path, int flags)
{
    int fd;
    do
        fd = open(path, flags);
    while (fd < 0 && errno == EINTR);
    return fd;
}

/* read() that retries EINTR. */
static ssize_t read_retry(int fd, void *buf, size_t n)
{
    ssize_t r;
    do
        r = read(fd, buf, n < IO_CHUNK ? n : IO_CHUNK);
    while (r < 0 && errno == EINTR);
    return r;
}

pol_status pol_read_file(const char *path, size_t cap, uint8_t **buf, size_t *len)
{
    if (!buf || !len)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_read_file: NULL output");
    *buf = NULL;
    *len = 0;
    if (!path || !*path)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_read_file: empty path");
    if (cap == SIZE_MAX)
        cap--; /* room for the trailing NUL */

    int fd = open_retry(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return pol_errorf(e == ENOENT ? POL_ERR_NOT_FOUND : POL_ERR_IO, "open %s: %s", path,
                          strerror(e));
    }
    pol_status st = POL_OK;
    uint8_t *b = NULL;
    size_t have = 0, room;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = pol_errorf(POL_ERR_IO, "stat %s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = pol_errorf(POL_ERR_IO, "read %s: %s", path, strerror(EISDIR));
        goto fail;
    }
    if (S_ISREG(sb.st_mode)) {
        if ((uint64_t)sb.st_size > (uint64_t)cap) {
            st = pol_errorf(POL_ERR_TOO_LARGE, "%s: %lld bytes exceeds the cap of %zu", path,
                            (long long)sb.st_size, cap);
            goto fail;
        }
        room = (size_t)sb.st_size;
    } else {
        room = cap < 65536 ? cap : 65536;
    }
    b = malloc(room + 1);
    if (!b) {
        st = pol_errorf(POL_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, room + 1);
        goto fail;
    }
    for (;;) {
        if (have == room) {
            /* Full: probe one byte before growing, so a regular file whose
             * size was right needs no reallocation. */
            uint8_t probe;
            ssize_t r = read_retry(fd, &probe, 1);
            if (r < 0) {
                st = pol_errorf(POL_ERR_IO, "read %s: %s", path, strerror(errno));
                goto fail;
            }
            if (r == 0)
                break;
            if (room == cap) {
                st = pol_errorf(POL_ERR_TOO_LARGE, "%s: more than the cap of %zu bytes", path,
                                cap);
                goto fail;
            }
            size_t grow = room < 4096 ? 4096 : room;
            room = cap - room < grow ? cap : room + grow;
            uint8_t *nb = realloc(b, room + 1);
            if (!nb) {
                st = pol_errorf(POL_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, room + 1);
                goto fail;
            }
            b = nb;
            b[have++] = probe;
            continue;
        }
        ssize_t r = read_retry(fd, b + have, room - have);
        if (r < 0) {
            st = pol_errorf(POL_ERR_IO, "read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        have += (size_t)r;
    }
    close(fd);
    b[have] = 0;
    *buf = b;
    *len = have;
    return POL_OK;
fail:
    free(b);
    close(fd);
    return st;
}

/* ---------------------------------------------------------------- write */

static pol_status write_all(int fd, const char *tmp, const pol_iovec *parts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = parts[i].data;
        size_t left = parts[i].len;
        while (left) {
            ssize_t w = write(fd, p, left < IO_CHUNK ? left : IO_CHUNK);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return pol_errorf(POL_ERR_IO, "write %s: %s", tmp, strerror(errno));
            if (w == 0)
                return pol_errorf(POL_ERR_IO, "write %s: no progress", tmp);
            p += w;
            left -= (size_t)w;
        }
    }
    return POL_OK;
}

/* Moves tmp to path only if path does not exist. */
static pol_status rename_noreplace(const char *tmp, const char *path)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return POL_OK;
    int e = errno;
    if (e == EEXIST)
        return pol_errorf(POL_ERR_EXISTS, "%s: already exists; not overwriting", path);
    if (e != EINVAL && e != ENOSYS && e != EOPNOTSUPP)
        return pol_errorf(POL_ERR_IO, "rename %s to %s: %s", tmp, path, strerror(e));

    /* The file system cannot rename without replacing; link() never
     * replaces either, and is atomic. */
    if (link(tmp, path) == 0) {
        unlink(tmp); /* the content is in place; a failure here leaves a stray name only */
        return POL_OK;
    }
    e = errno;
    if (e == EEXIST)
        return pol_errorf(POL_ERR_EXISTS, "%s: already exists; not overwriting", path);
    if (e != EPERM && e != EOPNOTSUPP && e != ENOSYS)
        return pol_errorf(POL_ERR_IO, "link %s to %s: %s", tmp, path, strerror(e));

    /* Neither (e.g. a FAT or some network file systems): check, then
     * rename. A file created at `path` between the check and the rename
     * would be replaced; on such file systems the refusal is best effort. */
    struct stat sb;
    if (lstat(path, &sb) == 0)
        return pol_errorf(POL_ERR_EXISTS, "%s: already exists; not overwriting", path);
    if (rename(tmp, path) != 0)
        return pol_errorf(POL_ERR_IO, "rename %s to %s: %s", tmp, path, strerror(errno));
    return POL_OK;
}

/* See fileio_int.h. No allocation: it runs after the new file is in place,
 * where running out of memory must not be reported as a failed write. */
pol_status pol_fsync_parent(const char *path)
{
    char dir[PATH_MAX + 2];
    size_t n = strlen(path);
    if (n >= PATH_MAX) /* no system call takes it, so nothing was written under it */
        return pol_errorf(POL_ERR_IO, "%s: path longer than %d bytes", path, PATH_MAX);
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0'; /* "/file" lives in "/" */
    else
        *slash = '\0';
    pol_status st = POL_OK;
    int fd = open_retry(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        st = pol_errorf(POL_ERR_IO, "open directory %s of %s: %s", dir, path, strerror(errno));
    } else {
        /* EINVAL: the file system does not sync directories; nothing to do. */
        if (fsync(fd) != 0 && errno != EINVAL)
            st = pol_errorf(POL_ERR_IO, "fsync directory %s of %s: %s", dir, path,
                            strerror(errno));
        close(fd);
    }
    return st;
}

pol_status pol_write_file_atomicv(const char *path, const pol_iovec *parts, size_t n,
                                  int overwrite)
{
    if (!path || !*path)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_write_file_atomic: empty path");
    if (!parts && n)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_write_file_atomic %s: NULL parts", path);
    for (size_t i = 0; i < n; i++)
        if (!parts[i].data && parts[i].len)
            return pol_errorf(POL_ERR_INVALID_ARG, "pol_write_file_atomic %s: NULL data", path);

    struct stat sb;
    /* Fast refusal before writing anything; the final move re-checks
     * atomically. */
    if (!overwrite && lstat(path, &sb) == 0)
        return pol_errorf(POL_ERR_EXISTS, "%s: already exists; not overwriting", path);

    static const char suffix[] = ".tmp-XXXXXX";
    size_t pl = strlen(path);
    char *tmp = malloc(pl + sizeof suffix);
    if (!tmp)
        return pol_errorf(POL_ERR_NOMEM, "%s: out of memory", path);
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, suffix, sizeof suffix);

    pol_status st = POL_OK;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        st = pol_errorf(POL_ERR_IO, "create temporary file for %s: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    if (fchmod(fd, 0644) != 0)
        st = pol_errorf(POL_ERR_IO, "chmod %s: %s", tmp, strerror(errno));
    if (st == POL_OK)
        st = write_all(fd, tmp, parts, n);
    if (st == POL_OK && fsync(fd) != 0)
        st = pol_errorf(POL_ERR_IO, "fsync %s: %s", tmp, strerror(errno));
    /* close() can report a deferred write error (NFS); it counts. */
    if (close(fd) != 0 && st == POL_OK)
        st = pol_errorf(POL_ERR_IO, "close %s: %s", tmp, strerror(errno));
    if (st == POL_OK) {
        if (overwrite) {
            if (rename(tmp, path) != 0)
                st = pol_errorf(POL_ERR_IO, "rename %s to %s: %s", tmp, path, strerror(errno));
        } else {
            st = rename_noreplace(tmp, path);
        }
    }
    if (st != POL_OK) {
        unlink(tmp);
        free(tmp);
        return st;
    }
    free(tmp);
    return pol_fsync_parent(path);
}

pol_status pol_write_file_atomic(const char *path, const void *data, size_t len, int overwrite)
{
    pol_iovec part = {data, len};
    return pol_write_file_atomicv(path, &part, 1, overwrite);
}

/* ---------------------------------------------------------------- mkdir */

static pol_status mkdir_one(const char *dir)
{
    if (mkdir(dir, 0777) == 0)
        return POL_OK;
    int e = errno;
    /* An existing directory is fine, whatever mkdir said (EEXIST, or EACCES
     * and EROFS for a directory we could not have created anyway). */
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return POL_OK;
        return pol_errorf(POL_ERR_IO, "mkdir %s: exists and is not a directory", dir);
    }
    return pol_errorf(POL_ERR_IO, "mkdir %s: %s", dir, strerror(e));
}

pol_status pol_mkdir_p(const char *path)
{
    if (!path || !*path)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_mkdir_p: empty path");
    size_t n = strlen(path);
    if (n >= PATH_MAX)
        return pol_errorf(POL_ERR_TOO_LARGE, "mkdir %.64s...: path longer than %d bytes", path,
                          PATH_MAX);
    char buf[PATH_MAX];
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i < n; i++) {
        if (buf[i] != '/' || buf[i - 1] == '/')
            continue;
        buf[i] = '\0';
        pol_status st = mkdir_one(buf);
        buf[i] = '/';
        if (st != POL_OK)
            return st;
    }
    return mkdir_one(buf);
}
