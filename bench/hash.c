/* State-hash throughput, single thread.
 *
 * Two states: a few large F32 tensors totalling 256 MiB, and 4096 small
 * tensors of 16 KiB. Before timing, pol_state_hash is checked against an
 * independent recomputation (the explicit tensor encoding written out byte
 * by byte and hashed in one shot, a level-by-level Merkle tree, the state
 * wrap). Then the median of >= 5 runs gives GB/s on one core, next to raw
 * SHA-256 over the same bytes for reference. Prints a markdown table, also
 * written to <out>/hash.md.
 *
 *   build/bench/hash [--quick] [--out DIR]
 */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "pol/fileio.h"
#include "pol/hash.h"

#define MIN_REPS 5
#define MIN_SECONDS 1.0 /* keep repeating past MIN_REPS until this much time */
#define MAX_REPS 50
#define TARGET_GBS 1.5

static uint64_t rng_state = 0x5851f42d4c957f2dull;
static void die(const char *what)
{
    fprintf(stderr, "hash bench: %s: %s\n", what, pol_last_error());
    exit(1);
}

/* ------------------------------------------------------------- report */

/* ------------------------------------------------------------- states */

typedef struct state {
    const char *what;
    pol_tensor *t;
    const pol_tensor **p;
    size_t n;
    size_t bytes;
} state;

static void state_add(state *s, size_t i, const char *name, int64_t numel)
{
    if (pol_tensor_alloc(&s->t[i], name, POL_F32, 1, &numel) != POL_OK)
        die(name);
    uint64_t *w = s->t[i].data;
    for (size_t k = 0; k < s->t[i].nbytes / 8; k++)
        w[k] = bench_splitmix(&rng_state);
    s->p[i] = &s->t[i];
    s->bytes += s->t[i].nbytes;
}

static void state_init(state *s, const char *what, size_t n)
{
    s->what = what;
    s->n = n;
    s->bytes = 0;
    s->t = calloc(n, sizeof *s->t);
    s->p = calloc(n, sizeof *s->p);
    if (!s->t || !s->p) {
        fprintf(stderr, "hash bench: out of memory\n");
        exit(1);
    }
}

/* Large tensors of mixed sizes (like the layers of a model), `mib` MiB. */
static void state_large(state *s, size_t mib)
{
    /* Shares of the total in 16ths: 4, 4, 2, 2, 1, 1, 1, and the last 16th
     * less 12 bytes on a tensor whose size is not a multiple of 64. */
    static const unsigned share16[] = {4, 4, 2, 2, 1, 1, 1};
    size_t total = mib << 20, used = 0;
    state_init(s, "large", 8);
    for (size_t i = 0; i < 7; i++) {
        char name[32];
        snprintf(name, sizeof name, "layer%zu.weight", i);
        size_t b = total / 16 * share16[i];
        state_add(s, i, name, (int64_t)(b / 4));
        used += b;
    }
    state_add(s, 7, "head.bias", (int64_t)((total - used) / 4 - 3));
}

static void state_small(state *s, size_t count, size_t kib)
{
    state_init(s, "small", count);
    for (size_t i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, "block%04zu/param", (i * 2654435761u) % count);
        state_add(s, i, name, (int64_t)(kib * 256));
    }
}

static void state_free(state *s)
{
    for (size_t i = 0; i < s->n; i++)
        pol_tensor_free(&s->t[i]);
    free(s->t);
    free(s->p);
}

/* ---------------------------------------------------- independent check */

static size_t put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return (size_t)n;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const pol_tensor *const *)a)->name, (*(const pol_tensor *const *)b)->name);
}

/* The spec, spelled out: encode each tensor into one contiguous buffer,
 * SHA-256 it in one shot, build the tree level by level (an unpaired last
 * node moves up unchanged, which is the same tree as RFC 6962's
 * largest-power-of-two split), wrap. */
static void reference_state_hash(const state *s, pol_digest *out)
{
    const pol_tensor **srt = malloc(s->n * sizeof *srt);
    pol_digest *level = malloc(s->n * sizeof *level);
    if (!srt || !level)
        die("reference");
    memcpy(srt, s->p, s->n * sizeof *srt);
    qsort(srt, s->n, sizeof *srt, by_name);
    for (size_t i = 0; i < s->n; i++) {
        const pol_tensor *t = srt[i];
        size_t nl = strlen(t->name);
        uint8_t *enc = malloc(128 + t->nbytes), *q = enc;
        if (!enc)
            die("reference");
        *q++ = 0;
        memcpy(q, "libpol/tensor/v1", 17);
        q += 17;
        q += put_le(q, nl, 4);
        memcpy(q, t->name, nl);
        q += nl;
        *q++ = (uint8_t)t->dtype;
        *q++ = (uint8_t)t->ndim;
        for (int d = 0; d < t->ndim; d++)
            q += put_le(q, (uint64_t)t->shape[d], 8);
        q += put_le(q, t->nbytes, 8);
        memcpy(q, t->data, t->nbytes);
        q += t->nbytes;
        if (pol_sha256(enc, (size_t)(q - enc), &level[i]) != POL_OK)
            die("reference leaf");
        free(enc);
    }
    size_t m = s->n;
    while (m > 1) {
        size_t k = 0;
        for (size_t i = 0; i + 1 < m; i += 2) {
            uint8_t buf[65];
            buf[0] = 1;
            memcpy(buf + 1, level[i].b, 32);
            memcpy(buf + 33, level[i + 1].b, 32);
            if (pol_sha256(buf, sizeof buf, &level[k++]) != POL_OK)
                die("reference node");
        }
        if (m & 1)
            level[k++] = level[m - 1];
        m = k;
    }
    pol_digest root = level[0];
    uint8_t wrap[1 + 16 + 8 + 32], *q = wrap;
    *q++ = 2;
    memcpy(q, "libpol/state/v1", 16);
    q += 16;
    q += put_le(q, s->n, 8);
    memcpy(q, root.b, 32);
    if (pol_sha256(wrap, sizeof wrap, out) != POL_OK)
        die("reference wrap");
    free(level);
    free(srt);
}

/* ------------------------------------------------------------- timing */

typedef double (*timed_fn)(const state *s);

static double run_state_hash(const state *s)
{
    pol_digest d;
    double t0 = bench_now();
    if (pol_state_hash(s->p, s->n, &d) != POL_OK)
        die("pol_state_hash");
    return bench_now() - t0;
}

/* Raw SHA-256 over every tensor's bytes (no encoding, no tree): the
 * ceiling the state hash can reach. */
static double run_raw_sha(const state *s)
{
    pol_digest d;
    double t0 = bench_now();
    for (size_t i = 0; i < s->n; i++)
        if (pol_sha256(s->t[i].data, s->t[i].nbytes, &d) != POL_OK)
            die("pol_sha256");
    return bench_now() - t0;
}

static double median_time(const state *s, timed_fn fn)
{
    double t[MAX_REPS];
    fn(s); /* warm-up */
    int n = 0;
    double start = bench_now();
    while (n < MAX_REPS && (n < MIN_REPS || bench_now() - start < MIN_SECONDS))
        t[n++] = fn(s);
    return bench_median(t, n);
}

/* Verifies, then times one state; returns 0 when the hash was right. */
static int bench_state(const state *s)
{
    pol_digest got, want;
    if (pol_state_hash(s->p, s->n, &got) != POL_OK)
        die("pol_state_hash");
    reference_state_hash(s, &want);
    if (!pol_digest_equal(&got, &want)) {
        char a[65], b[65];
        pol_digest_to_hex(&got, a);
        pol_digest_to_hex(&want, b);
        fprintf(stderr, "hash bench: %s state: pol_state_hash %s, reference %s\n", s->what, a,
                b);
        return 1;
    }
    double ts = median_time(s, run_state_hash);
    double tr = median_time(s, run_raw_sha);
    double gbs = (double)s->bytes / ts * 1e-9, raw = (double)s->bytes / tr * 1e-9;
    bench_emit("| %-5s | %6zu | %9.1f | %8.2f | %7.3f | %8.3f | %6.3f | %s |\n", s->what, s->n,
         (double)s->bytes / s->n / 1024.0, (double)s->bytes / (1 << 20), ts * 1e3, gbs, raw,
         gbs >= TARGET_GBS ? "yes" : "NO");
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hash [--quick] [--out DIR]\n"
            "  Checks pol_state_hash against an independent recomputation, then times it\n"
            "  on one core and prints a markdown table.\n"
            "  --quick    32 MiB and 512 x 16 KiB states instead of 256 MiB and 4096 x 16 KiB\n"
            "  --out DIR  also write the table to DIR/hash.md\n");
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    char cpu[256], date[64];
    int sha_ni;
    bench_cpu_model(cpu, sizeof cpu);
    sha_ni = bench_cpu_flag("sha_ni");
    time_t tnow = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&tnow));
    bench_emit("# State hash throughput (one thread)\n\n");
    bench_emit("- CPU: %s\n- SHA extensions (sha_ni in /proc/cpuinfo): %s\n- crypto: %s\n- date: %s%s\n",
         cpu, sha_ni < 0 ? "unknown" : sha_ni ? "yes" : "no", OpenSSL_version(OPENSSL_VERSION),
         date, quick ? "\n- mode: --quick (smaller states)" : "");
    bench_emit("- GB/s = tensor data bytes / median time of >= %d runs after a warm-up; "
         "raw = plain SHA-256 over the same bytes; target >= %.1f GB/s per core\n",
         MIN_REPS, TARGET_GBS);
    bench_emit("- each state hash is first checked against an independent recomputation "
         "(explicit encodings, level-by-level tree)\n\n");
    bench_emit("| state | tensors | KiB/tensor | MiB total | ms | state GB/s | raw GB/s | target met |\n");
    bench_emit("|-------|---------|------------|-----------|----|------------|----------|------------|\n");
    int bad = 0;
    state s;
    state_large(&s, quick ? 32 : 256);
    bad |= bench_state(&s);
    state_free(&s);
    state_small(&s, quick ? 512 : 4096, 16);
    bad |= bench_state(&s);
    state_free(&s);
    if (bad) {
        fprintf(stderr, "hash bench: verification FAILED\n");
        free(bench_table);
        return 1;
    }
    if (out) {
        char path[4096];
        snprintf(path, sizeof path, "%s/hash.md", out);
        if (pol_mkdir_p(out) != POL_OK ||
            pol_write_file_atomic(path, bench_table, bench_table_len, 1) != POL_OK) {
            fprintf(stderr, "hash bench: %s\n", pol_last_error());
            free(bench_table);
            return 1;
        }
        printf("\nwrote %s\n", path);
    }
    free(bench_table);
    return 0;
}
