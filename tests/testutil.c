#include "testutil.h"

#include "pol/fileio.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t tu_seed(void)
{
    static int have;
    static uint64_t seed;
    if (!have) {
        const char *e = getenv("POL_TEST_SEED");
        if (e && *e) {
            seed = strtoull(e, NULL, 0);
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            seed = ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^
                   ((uint64_t)getpid() << 32);
        }
        have = 1;
        fprintf(stderr, "test seed: POL_TEST_SEED=%" PRIu64 "\n", seed);
    }
    return seed;
}

void tu_rng_init(tu_rng *r, uint64_t seed) { r->s = seed; }

uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float tu_uniform(tu_rng *r, float lo, float hi)
{
    double u = (double)(tu_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(lo + (hi - lo) * u);
}

void tu_fill_uniform(tu_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = tu_uniform(r, lo, hi);
}

void tu_fill_awkward(tu_rng *r, float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t k = tu_next(r);
        float v;
        switch (k & 15) {
        case 0: { /* a subnormal, random sign */
            uint32_t bits = (uint32_t)(k >> 8) & 0x007fffffu;
            if (!bits) bits = 1;
            bits |= (uint32_t)(k >> 40 & 1) << 31;
            memcpy(&v, &bits, 4);
            break;
        }
        case 1: v = (k >> 8 & 1) ? -0.0f : 0.0f; break;
        case 2: v = tu_uniform(r, -1.0f, 1.0f) * 1e-30f; break;
        default: v = tu_uniform(r, -scale, scale); break;
        }
        x[i] = v;
    }
}

long tu_first_bit_diff(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], 4) != 0)
            return (long)i;
    return -1;
}

const char *tu_tmpdir(void)
{
    static char buf[512];
    const char *base = getenv("TMPDIR");
    snprintf(buf, sizeof buf, "%s/poltest-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(buf))
        return NULL;
    return buf;
}

const char *tu_bin(const char *prog, char *buf, size_t cap)
{
    const char *dir = getenv("POL_BIN");
    snprintf(buf, cap, "%s/%s", dir && *dir ? dir : "build/bin", prog);
    return buf;
}

int tu_system(const char *cmd)
{
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc))
        return -1;
    return WEXITSTATUS(rc);
}

/* Ends the suite: the helpers below serve every suite, with or without
 * cmocka's asserts at hand. */
static void tu_die(const char *what, const char *path)
{
    fprintf(stderr, "testutil: %s %s failed\n", what, path);
    exit(1);
}

void tu_dir_list(const char *dir, char *out, size_t cap)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        tu_die("listing", dir);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (ents[i]->d_name[0] != '.') {
            size_t l = strlen(out);
            snprintf(out + l, cap - l, "%s%s", l ? " " : "", ents[i]->d_name);
        }
        free(ents[i]);
    }
    free(ents);
}

void tu_dir_remove(const char *dir)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        tu_die("listing", dir);
    for (int i = 0; i < n; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", dir, ents[i]->d_name);
        if (ents[i]->d_name[0] != '.' && unlink(p))
            tu_die("removing", p);
        free(ents[i]);
    }
    free(ents);
    if (rmdir(dir))
        tu_die("removing", dir);
}

char *tu_dir_snapshot(const char *dir, size_t *len)
{
    char names[4096], *save = NULL, *out = NULL;
    tu_dir_list(dir, names, sizeof names);
    size_t n = 0;
    for (char *name = strtok_r(names, " ", &save); name; name = strtok_r(NULL, " ", &save)) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        uint8_t *b;
        size_t l;
        if (pol_read_file(p, 1u << 26, &b, &l))
            tu_die("reading", p);
        char *grown = realloc(out, n + strlen(name) + 1 + l);
        if (!grown)
            tu_die("a snapshot of", dir);
        out = grown;
        memcpy(out + n, name, strlen(name) + 1);
        n += strlen(name) + 1;
        memcpy(out + n, b, l);
        n += l;
        free(b);
    }
    *len = n;
    return out;
}
