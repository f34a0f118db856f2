#include "pol/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[512];

const char *pol_strerror(pol_status s)
{
    switch (s) {
    case POL_OK: return "ok";
    case POL_ERR_INVALID_ARG: return "invalid argument";
    case POL_ERR_NOMEM: return "out of memory";
    case POL_ERR_IO: return "i/o error";
    case POL_ERR_FORMAT: return "malformed input";
    case POL_ERR_HASH_MISMATCH: return "hash mismatch";
    case POL_ERR_FPENV: return "floating-point environment not canonical";
    case POL_ERR_UNSUPPORTED: return "unsupported";
    case POL_ERR_TOO_LARGE: return "size exceeds limit";
    case POL_ERR_SHAPE: return "shape or dtype mismatch";
    case POL_ERR_EXISTS: return "output already exists";
    case POL_ERR_NOT_FOUND: return "not found";
    case POL_ERR_MISMATCH: return "records disagree";
    case POL_ERR_INTERNAL: return "internal error";
    case POL_ERR_CUDA: return "cuda error";
    case POL_ERR_SIGNATURE: return "bad signature";
    case POL_ERR_TIMEOUT: return "timed out";
    case POL_ERR_NETWORK: return "network error";
    case POL_ERR_RULES: return "refused by the game's rules";
    case POL_ERR_DIVERGED: return "training diverged";
    }
    return "unknown status";
}

const char *pol_last_error(void) { return last_error; }

void pol_clear_error(void) { last_error[0] = '\0'; }

pol_status pol_errorf(pol_status s, const char *fmt, ...)
{
    /* formatted aside first: an argument may be pol_last_error() itself
     * (a message that wraps the one before it) */
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return s;
}
