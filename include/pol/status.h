/* libpol — status codes and error messages.
 *
 * Every fallible libpol function returns a pol_status. POL_OK is zero; every
 * other value is an error. Codes are only ever appended, never renumbered, so
 * a program may store them.
 *
 * Alongside the code, the failing function records a human-readable message
 * in a per-thread buffer (pol_last_error). The message names what was wrong
 * ("checkpoint ckpt-10.safetensors: header length 9000000 exceeds cap"), the
 * code says which class of error it was.
 */
#ifndef POL_STATUS_H
#define POL_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define POL_WARN_UNUSED __attribute__((warn_unused_result))
#define POL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define POL_WARN_UNUSED
#define POL_PRINTF(a, b)
#endif

typedef enum pol_status {
    POL_OK = 0,
    POL_ERR_INVALID_ARG = 1,   /* API misuse: NULL pointer, bad enum, bad size */
    POL_ERR_NOMEM = 2,         /* an allocation failed or a byte budget ran out */
    POL_ERR_IO = 3,            /* open/read/write/fsync/rename failed */
    POL_ERR_FORMAT = 4,        /* malformed input: file, JSON, header */
    POL_ERR_HASH_MISMATCH = 5, /* content does not match the hash it claims */
    POL_ERR_FPENV = 6,         /* FTZ/DAZ set or rounding mode not nearest-even */
    POL_ERR_UNSUPPORTED = 7,   /* valid request this build cannot serve */
    POL_ERR_TOO_LARGE = 8,     /* a size exceeds a documented cap */
    POL_ERR_SHAPE = 9,         /* tensor shapes or dtypes do not fit the op */
    POL_ERR_EXISTS = 10,       /* refusing to overwrite existing output */
    POL_ERR_NOT_FOUND = 11,    /* a named file, tensor or node is absent */
    POL_ERR_MISMATCH = 12,     /* two records that must agree do not (trace vs checkpoint) */
    POL_ERR_INTERNAL = 13,     /* a libpol bug; please report it */
    POL_ERR_CUDA = 14,         /* the CUDA runtime or cuBLAS reported an error */
    POL_ERR_SIGNATURE = 15,    /* a signature does not verify under the key it names */
    POL_ERR_TIMEOUT = 16,      /* a peer did not answer within the time allowed */
    POL_ERR_NETWORK = 17,      /* a connection could not be made, or broke */
    POL_ERR_RULES = 18,        /* the game's rules refuse this action (state, deadline, funds, nonce) */
    POL_ERR_DIVERGED = 19,     /* training diverged: a loss is not finite (spec A-FP-5) */
} pol_status;

/* Returns a short static description of a status code; never NULL. */
const char *pol_strerror(pol_status s);

/* Returns the message recorded by the last failing libpol call on this
 * thread, or "" if none. The pointer is valid until the next libpol call on
 * this thread. */
const char *pol_last_error(void);

/* Records a formatted message for pol_last_error and returns `s`, so library
 * code can write `return pol_errorf(POL_ERR_IO, "open %s: %s", p, e);`. An
 * argument may be pol_last_error() itself, to wrap the message before. */
pol_status pol_errorf(pol_status s, const char *fmt, ...) POL_PRINTF(2, 3);

/* Evaluates a pol_status expression and returns it from the enclosing
 * function when it is an error. */
#define POL_TRY(x)                                                                               \
    do {                                                                                         \
        pol_status pol_try_st_ = (x);                                                            \
        if (pol_try_st_)                                                                         \
            return pol_try_st_;                                                                  \
    } while (0)

/* Clears the per-thread message. */
void pol_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif /* POL_STATUS_H */
