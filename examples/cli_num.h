/* Numbers on the example programs' command lines: decimal digits only (no
 * sign, no blanks, nothing after them) and within [lo, hi]. strtol alone
 * would take "", " 5", "-0" and saturate on overflow; each program includes
 * this header (static inline: one .c file each). */
#ifndef POL_EXAMPLES_CLI_NUM_H
#define POL_EXAMPLES_CLI_NUM_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Returns 0 and *out, or -1 (not such a number; *out untouched). */
static inline int cli_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* cli_u64 into a long (hi at most LONG_MAX). */
static inline int cli_long(const char *s, long lo, long hi, long *out)
{
    uint64_t v;
    if (lo < 0 || cli_u64(s, (uint64_t)lo, (uint64_t)hi, &v))
        return -1;
    *out = (long)v;
    return 0;
}

#endif
