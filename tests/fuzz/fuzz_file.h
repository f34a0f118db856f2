/* Helpers of the fuzz targets whose readers take paths: the input goes to a
 * file of this process first. Test code only; abort() is the failure. */
#ifndef POL_FUZZ_FILE_H
#define POL_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* The one temporary file of this process, made on first use from the
 * mkstemp template tmpl ("/tmp/NAME.XXXXXX") and removed at exit. Returns
 * its descriptor; fuzz_tmp_path names it. */
static char fuzz_tmp_path[64];
static int fuzz_tmp_fd = -1;

static void fuzz_tmp_remove(void)
{
    if (fuzz_tmp_path[0])
        unlink(fuzz_tmp_path);
}

static inline int fuzz_tmp_file(const char *tmpl)
{
    if (fuzz_tmp_fd < 0) {
        snprintf(fuzz_tmp_path, sizeof fuzz_tmp_path, "%s", tmpl);
        fuzz_tmp_fd = mkstemp(fuzz_tmp_path);
        if (fuzz_tmp_fd < 0) {
            fuzz_tmp_path[0] = '\0';
            abort();
        }
        atexit(fuzz_tmp_remove);
    }
    return fuzz_tmp_fd;
}

/* Makes fd's file hold exactly data[0..size). */
static inline void fuzz_file_set(int fd, const uint8_t *data, size_t size)
{
    if (ftruncate(fd, 0) != 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t w = pwrite(fd, data + off, size - off, (off_t)off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
}

/* 1 if s[0..64) is 64 lowercase hex digits (then out holds their 32 bytes). */
static inline int fuzz_hex64(const char *s, uint8_t out[32])
{
    for (size_t i = 0; i < 64; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return 0;
        out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | v : v << 4);
    }
    return 1;
}

#endif /* POL_FUZZ_FILE_H */
