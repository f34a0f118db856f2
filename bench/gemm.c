/* Exact GEMM against OpenBLAS sgemm.
 *
 * For each shape and thread count: check that pol_fast_gemm equals the
 * canonical order bit for bit (the full pol_ref_gemm up to 512^3, a random
 * sample of entries above that) and that OpenBLAS agrees within a relative
 * tolerance; then time both (one warm-up, median of >= 5 runs) and print a
 * markdown table, also written to <out>/gemm.md.
 *
 *   build/bench/gemm [--quick] [--out DIR]
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../lib/math/gemm_internal.h"
#include "bench.h"
#include "pol/kernels.h"
#include "pol/threads.h"

#define MIN_REPS 5
#define MAX_REPS 50
#define SAMPLE_ENTRIES 2000
#define BLAS_SPIN_MS 150
#define FULL_CHECK_FLOPS (2.0 * 512 * 512 * 512)

typedef struct shape {
    const char *what; /* where the shape comes from */
    int ta, tb;
    int64_t M, N, K;
} shape;

/* Squares, then the MLP 784-1024-1024-10 at batch 256: forward y = x W^T
 * (NT), backward dx = dy W (NN) and dW = dy^T x (TN). */
static const shape squares[] = {
    {"square", 0, 0, 256, 256, 256},
    {"square", 0, 0, 512, 512, 512},
    {"square", 0, 0, 1024, 1024, 1024},
    {"square", 0, 0, 2048, 2048, 2048},
};
static const shape mlp[] = {
    {"fwd fc1", 0, 1, 256, 1024, 784},
    {"fwd fc2", 0, 1, 256, 1024, 1024},
    {"fwd fc3", 0, 1, 256, 10, 1024},
    {"bwd dx3", 0, 0, 256, 1024, 10},
    {"bwd dx2", 0, 0, 256, 1024, 1024},
    {"bwd dW3", 1, 0, 10, 1024, 256},
    {"bwd dW2", 1, 0, 1024, 1024, 256},
    {"bwd dW1", 1, 0, 1024, 784, 256},
};

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static float *rand_matrix(int64_t n)
{
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!x) {
        fprintf(stderr, "gemm bench: out of memory\n");
        exit(1);
    }
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)((double)(bench_splitmix(&rng_state) >> 40) / (double)(1 << 24) * 2.0 - 1.0);
    return x;
}

/* One entry in the canonical order (A-RED-2), for spot checks. */
static float canonical_entry(const pol_gemm_args *g, int64_t i, int64_t j)
{
    float total = +0.0f;
    for (int64_t c = 0; c < g->K; c += POL_KC) {
        int64_t end = c + POL_KC < g->K ? c + POL_KC : g->K;
        float s = +0.0f;
        for (int64_t k = c; k < end; k++) {
            float a = g->trans_a ? g->A[k * g->M + i] : g->A[i * g->K + k];
            float b = g->trans_b ? g->B[j * g->K + k] : g->B[k * g->N + j];
            s = fmaf(a, b, s);
        }
        total = total + s;
    }
    if (g->bias)
        total = total + g->bias[j];
    return total;
}

/* 0 if the fast result is the canonical one; prints the first mismatch. */
static int check_exact(const pol_gemm_args *g, const char *label)
{
    const int64_t M = g->M, N = g->N;
    if (2.0 * (double)M * (double)N * (double)g->K <= FULL_CHECK_FLOPS) {
        float *ref = malloc((size_t)(M * N) * sizeof(float));
        if (!ref)
            return -1;
        pol_gemm_args r = *g;
        r.C = ref;
        pol_ref_gemm(&r);
        for (int64_t e = 0; e < M * N; e++)
            if (memcmp(&ref[e], &g->C[e], 4) != 0) {
                fprintf(stderr, "%s: C[%lld][%lld] = %a, reference %a\n", label,
                        (long long)(e / N), (long long)(e % N), (double)g->C[e],
                        (double)ref[e]);
                free(ref);
                return -1;
            }
        free(ref);
        return 0;
    }
    for (int s = 0; s < SAMPLE_ENTRIES; s++) {
        int64_t i = (int64_t)(bench_splitmix(&rng_state) % (uint64_t)M), j = (int64_t)(bench_splitmix(&rng_state) % (uint64_t)N);
        float want = canonical_entry(g, i, j), got = g->C[i * N + j];
        if (memcmp(&want, &got, 4) != 0) {
            fprintf(stderr, "%s: C[%lld][%lld] = %a, canonical %a\n", label, (long long)i,
                    (long long)j, (double)got, (double)want);
            return -1;
        }
    }
    return 0;
}

/* max |x - y| / max |y|: OpenBLAS sums in another order, so only close. */
static double rel_diff(const float *x, const float *y, int64_t n)
{
    double d = 0.0, m = 0.0;
    for (int64_t e = 0; e < n; e++) {
        double a = fabs((double)x[e] - (double)y[e]), b = fabs((double)y[e]);
        d = a > d ? a : d;
        m = b > m ? b : m;
    }
    return m > 0.0 ? d / m : d;
}

static void run_blas(const pol_gemm_args *g, float *C)
{
    cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                g->trans_b ? CblasTrans : CblasNoTrans, (int)g->M, (int)g->N, (int)g->K, 1.0f,
                g->A, g->trans_a ? (int)g->M : (int)g->K, g->B,
                g->trans_b ? (int)g->K : (int)g->N, 0.0f, C, (int)g->N);
}

/* Times `reps` more back-to-back calls (after one warm-up call) into t[*n],
 * until there are at least MIN_REPS of them and `budget` seconds went by. */
static void time_block(pol_pool *pool, const pol_gemm_args *g, int blas, double budget,
                       double *t, int *n, int max)
{
    if (blas)
        run_blas(g, g->C);
    else
        pol_fast_gemm(pool, g);
    int got = 0;
    double start = bench_now();
    while (*n < max && (got < MIN_REPS / 2 + 1 || bench_now() - start < budget)) {
        double t0 = bench_now();
        if (blas)
            run_blas(g, g->C);
        else
            pol_fast_gemm(pool, g);
        t[(*n)++] = bench_now() - t0;
        got++;
    }
}

/* Median seconds per call of the exact GEMM (into g->C) and of OpenBLAS
 * (into cb). Each runs back to back, as in a training loop, in two blocks
 * interleaved with the other's, so a disturbance on a shared machine tends
 * to hit both. After a multi-threaded call, OpenBLAS's workers spin for
 * 2^28 TSC cycles (about 0.1 s here) before they sleep; with 2 threads on 2
 * cores they would take a core from the exact GEMM, so its blocks start
 * only after they have gone idle. */
static void time_pair(pol_pool *pool, const pol_gemm_args *g, float *cb, int threads,
                      double *t_exact, double *t_blas)
{
    double te[2 * MAX_REPS], tb[2 * MAX_REPS];
    int ne = 0, nb = 0;
    pol_gemm_args gb = *g;
    gb.C = cb;
    for (int round = 0; round < 2; round++) {
        openblas_set_num_threads(1);
        if (threads > 1)
            pause_ms(BLAS_SPIN_MS);
        time_block(pool, g, 0, 0.25, te, &ne, (round + 1) * MAX_REPS);
        openblas_set_num_threads(threads);
        time_block(NULL, &gb, 1, 0.25, tb, &nb, (round + 1) * MAX_REPS);
    }
    openblas_set_num_threads(1);
    if (threads > 1)
        pause_ms(BLAS_SPIN_MS);
    *t_exact = bench_median(te, ne);
    *t_blas = bench_median(tb, nb);
}

/* Verifies and times one shape on 1 and 2 threads; returns 0 when correct. */
static int bench_shape(const shape *s, pol_pool *pools[2])
{
    pol_gemm_args g = {s->M, s->N, s->K, s->ta, s->tb, NULL, NULL, NULL, NULL};
    float *A = rand_matrix(s->M * s->K), *B = rand_matrix(s->K * s->N);
    float *C = rand_matrix(s->M * s->N), *C1 = rand_matrix(s->M * s->N);
    float *Cb = rand_matrix(s->M * s->N);
    g.A = A;
    g.B = B;
    g.C = C1;
    char label[128];
    snprintf(label, sizeof label, "%s %s%s %lldx%lldx%lld", s->what, s->ta ? "T" : "N",
             s->tb ? "T" : "N", (long long)s->M, (long long)s->N, (long long)s->K);
    int bad = 0;
    pol_fast_gemm(NULL, &g);
    if (check_exact(&g, label) != 0) {
        fprintf(stderr, "%s: exact GEMM differs from the canonical order\n", label);
        bad = 1;
    }
    double flops = 2.0 * (double)s->M * (double)s->N * (double)s->K;
    for (int ti = 0; ti < 2 && !bad; ti++) {
        int threads = ti + 1;
        g.C = C;
        pol_fast_gemm(pools[ti], &g);
        if (memcmp(C, C1, (size_t)(s->M * s->N) * sizeof(float)) != 0) {
            fprintf(stderr, "%s: %d threads differ from 1 thread\n", label, threads);
            bad = 1;
            break;
        }
        openblas_set_num_threads(threads);
        run_blas(&g, Cb);
        double rd = rel_diff(Cb, C1, s->M * s->N);
        if (rd > 1e-4) {
            fprintf(stderr, "%s: OpenBLAS differs by %.3g (relative)\n", label, rd);
            bad = 1;
            break;
        }
        double te, tb;
        time_pair(pools[ti], &g, Cb, threads, &te, &tb);
        /* below this size the exact GEMM keeps to one thread (see plan()) */
        int one = threads > 1 && flops < threads * pol_gemm_task_flops;
        bench_emit("| %-7s | %s%s | %5lld x %5lld x %5lld | %d%s | %8.1f | %8.1f | %5.2f |\n", s->what,
             s->ta ? "T" : "N", s->tb ? "T" : "N", (long long)s->M, (long long)s->N,
             (long long)s->K, threads, one ? "*" : "", flops / te * 1e-9, flops / tb * 1e-9,
             tb / te);
    }
    free(A);
    free(B);
    free(C);
    free(C1);
    free(Cb);
    return bad;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gemm [--quick] [--out DIR]\n"
            "  Checks the exact GEMM against the canonical order and OpenBLAS, then\n"
            "  times both on 1 and 2 threads and prints a markdown table.\n"
            "  --quick    square sizes 256 and 512 only\n"
            "  --out DIR  also write the table to DIR/gemm.md\n");
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
    pol_pool *pools[2] = {NULL, NULL};
    if (pol_pool_create(&pools[1], 2) != POL_OK) {
        fprintf(stderr, "gemm bench: cannot start 2 threads\n");
        return 1;
    }
    char cpu[256], date[64];
    bench_cpu_model(cpu, sizeof cpu);
    time_t tnow = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&tnow));
    bench_emit("# Exact GEMM vs OpenBLAS sgemm\n\n");
    bench_emit("- CPU: %s\n- exact path: %s (POL_KC = %d)\n- OpenBLAS: %s (core %s)\n- date: %s\n",
         cpu, pol_fast_gemm_isa(), POL_KC, openblas_get_config(), openblas_get_corename(),
         date);
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) < 1)
        load[0] = -1.0;
    bench_emit("- load average at start: %.2f (the timings assume an otherwise idle machine)\n",
         load[0]);
    bench_emit("- GFLOP/s = 2*M*N*K / median time of >= %d runs after a warm-up; "
         "ratio = exact / OpenBLAS\n\n",
         MIN_REPS);
    bench_emit("| shape   | op | M x N x K | threads | exact GFLOP/s | OpenBLAS GFLOP/s | ratio |\n");
    bench_emit("|---------|----|-----------|---------|---------------|------------------|-------|\n");
    int bad = 0;
    size_t nsq = quick ? 2 : sizeof squares / sizeof squares[0];
    for (size_t i = 0; i < nsq; i++)
        bad |= bench_shape(&squares[i], pools);
    if (!quick)
        for (size_t i = 0; i < sizeof mlp / sizeof mlp[0]; i++)
            bad |= bench_shape(&mlp[i], pools);
    pol_pool_destroy(pools[1]);
    bench_emit("\n\\* the exact GEMM splits work only in tasks of >= %.0e flops, so here it used "
         "fewer threads than the pool has.\n",
         pol_gemm_task_flops);
    if (bad) {
        fprintf(stderr, "gemm bench: verification FAILED\n");
        free(bench_table);
        return 1;
    }
    if (out) {
        char path[4096];
        snprintf(path, sizeof path, "%s/gemm.md", out);
        mkdir(out, 0777);
        FILE *f = fopen(path, "w");
        if (!f || fwrite(bench_table, 1, bench_table_len, f) != bench_table_len || fclose(f) != 0) {
            fprintf(stderr, "gemm bench: cannot write %s: %s\n", path, strerror(errno));
            free(bench_table);
            return 1;
        }
        printf("\nwritten to %s\n", path);
    }
    free(bench_table);
    return 0;
}
