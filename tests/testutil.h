/* Shared helpers for the cmocka suites.
 *
 * Every suite draws its random inputs from one 64-bit seed. The seed is fresh
 * each run (time and pid), printed first, and taken back from the environment
 * variable POL_TEST_SEED so a failure can be replayed exactly. */
#ifndef POL_TESTUTIL_H
#define POL_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* The suite's seed: POL_TEST_SEED if set, else fresh. Printed once. */
uint64_t tu_seed(void);

/* A small deterministic generator for test data (splitmix64). */
typedef struct { uint64_t s; } tu_rng;
void tu_rng_init(tu_rng *r, uint64_t seed);
uint64_t tu_next(tu_rng *r);
/* Uniform in [lo, hi). */
float tu_uniform(tu_rng *r, float lo, float hi);
/* Fills x with values of mixed magnitudes: normal-range values in [-scale,
 * scale], and with probability 1/16 each a subnormal, a signed zero or a tiny
 * normal, so kernels meet the awkward cases. */
void tu_fill_awkward(tu_rng *r, float *x, size_t n, float scale);
void tu_fill_uniform(tu_rng *r, float *x, size_t n, float lo, float hi);

/* Index of the first position where a and b differ bitwise, or -1. */
long tu_first_bit_diff(const float *a, const float *b, size_t n);

/* A fresh empty temporary directory (mkdtemp under $TMPDIR or /tmp); the
 * returned string is static storage until the next call. */
const char *tu_tmpdir(void);

/* The names in dir (those starting with '.' left out), in name order,
 * separated by single spaces, into out (cap bytes). Ends the suite with a
 * message when dir cannot be read. */
void tu_dir_list(const char *dir, char *out, size_t cap);

/* Removes every file in dir (a directory without subdirectories), then dir.
 * Ends the suite with a message on failure. */
void tu_dir_remove(const char *dir);

/* The bytes of every file in dir, in name order, each preceded by its name
 * and a NUL: two directories hold the same files when their snapshots are
 * equal. malloc'd; *len: its length. Ends the suite on failure. */
char *tu_dir_snapshot(const char *dir, size_t *len);

/* Path of a program in build/bin ($POL_BIN, default build/bin). */
const char *tu_bin(const char *prog, char *buf, size_t cap);

/* Runs a shell command; returns its exit status, or -1 if it did not exit. */
int tu_system(const char *cmd);

#endif
