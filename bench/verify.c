/* bench/verify — verification cost against detection probability.
 *
 * Part 1 (analytic, spec/certificate.md V-VER-6): for a run of N intervals,
 * the fewest random samples s that catch a solver who falsified 10% of the
 * intervals with probability >= 99%, the share of the solver's steps that
 * costs, and what the same s buys against 1% and 50%.
 * Part 2 (measured): two tasks, each at two checkpoint intervals k, trained,
 * certified, stored, then verified with that s:
 *   digits  MLP 64-128-10, batch 32, on examples/data/digits.safetensors;
 *           k = 2 (2000 steps) and k = 100 (100,000 steps: N = 1000 intervals,
 *           the projection's N, measured rather than projected);
 *   mlp     MLP 784-1024-1024-10 (ReLU), batch 256, AdamW, on the synthetic
 *           dataset of bench/train.c (same recipe: 8192 + 1024 samples of 784
 *           features from pol_rng_uniform, label = the group of 78 features
 *           with the largest sum), with fewer steps to keep the bench short:
 *           k = 5 (300 steps) and k = 100 (500 steps).
 * The small k make sampling cheap for the verifier; k = 100 is the interval
 * at which bench/train.c measures the solver's checkpoint share, so those two
 * rows show one operating point where both targets can be checked.
 * For each, the verifier must accept the honest certificate (checked on every
 * repetition, before any time is reported); its wall time (median of the
 * repetitions) is compared with the solver's compute (its loop less its
 * checkpoints) and with its whole loop. A projection then fits the
 * verifier's time as fixed + per sample (its median with no samples, and
 * the rest of its median with s samples over s) and applies it to a run of
 * 1000 intervals of the same k.
 *
 *   build/bench/verify [--out DIR] [--quick]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "mlp_task.h"
#include "pol/cert.h"
#include "pol/fileio.h"
#include "pol/hash.h"
#include "pol/keys.h"
#include "pol/safetensors.h"
#include "pol/train.h"
#include "pol/verify.h"

#define VERIFY_REPS 3

static int die(const char *what, pol_status st)
{
    fprintf(stderr, "bench/verify: %s: %s (%s)\n", what, pol_last_error(), pol_strerror(st));
    return 1;
}


/* One measured row of Part 2. */
typedef struct measured {
    uint64_t steps, k;
    size_t intervals, samples;
    uint64_t steps_rerun;
    double cost_steps;     /* steps re-run / steps */
    double detect_p[3];
    double solver_s, ckpt_s, verify_s, cert_s;
    double verify0_s;      /* median verifier time with no samples: its fixed cost */
    double hash_s;         /* median time of one state hash of a checkpoint */
    double state_mb;       /* bytes of tensor data in a state, in MB */
} measured;

/* VERIFY_REPS verifications with `samples` samples; every verdict must be an
 * accept. Out: *median (seconds), *res (the last result). */
static pol_status timed_verify(pol_ctx *ctx, const pol_cert *c, pol_verify_opts *vo,
                               size_t samples, pol_verify_result *res, double *median)
{
    double tv[VERIFY_REPS];
    vo->samples = (uint32_t)samples;
    for (int r = 0; r < VERIFY_REPS; r++) {
        double t0 = bench_now();
        pol_status st = pol_verify(ctx, c, vo, res);
        tv[r] = bench_now() - t0;
        if (st)
            return st;
        if (!res->accept)
            return pol_errorf(POL_ERR_MISMATCH, "an honest run was rejected: %s", res->reason);
    }
    *median = bench_median(tv, VERIFY_REPS);
    return POL_OK;
}

/* The state hash of one stored checkpoint, timed (median of VERIFY_REPS):
 * a verified sample hashes a state twice (its start checkpoint, its
 * re-run end state), which no change to the verifier can avoid. */
static pol_status time_state_hash(const char *store, const pol_digest *h, measured *m)
{
    char hex[65], path[1400];
    pol_digest_to_hex(h, hex);
    snprintf(path, sizeof path, "%s/%s.safetensors", store, hex);
    pol_st_file f;
    pol_status st = pol_st_load(path, NULL, &f);
    if (st)
        return st;
    double th[VERIFY_REPS], bytes = 0;
    for (size_t i = 0; i < f.n; i++)
        bytes += (double)f.tensors[i].nbytes;
    for (int r = 0; r < VERIFY_REPS && !st; r++) {
        pol_digest got;
        double t0 = bench_now();
        st = pol_st_state_hash(&f, &got);
        th[r] = bench_now() - t0;
        if (!st && !pol_digest_equal(&got, h))
            st = pol_errorf(POL_ERR_HASH_MISMATCH, "%s: not the committed state", path);
    }
    pol_st_free(&f);
    m->hash_s = st ? 0 : bench_median(th, VERIFY_REPS);
    m->state_mb = bytes / 1e6;
    return st;
}

/* Trains task_path into dir/run, certifies and stores it, then verifies it
 * VERIFY_REPS times with the samples of the 10% / 99% rule; every verdict
 * must be an accept. */
static pol_status measure(pol_ctx *ctx, const char *dir, const char *task_path, measured *m)
{
    char run[1300], store[1300], cert_path[1400];
    if ((size_t)snprintf(run, sizeof run, "%s/run", dir) >= sizeof run ||
        (size_t)snprintf(store, sizeof store, "%s/store", dir) >= sizeof store ||
        (size_t)snprintf(cert_path, sizeof cert_path, "%s/certificate.pol", run) >= sizeof cert_path)
        return pol_errorf(POL_ERR_TOO_LARGE, "directory name too long: %s", dir);
    pol_run_opts ro = { 0 };
    ro.task_path = task_path, ro.out_dir = run;
    pol_run_result rr;
    pol_status st = pol_run_train(ctx, &ro, &rr);
    if (st)
        return st;
    m->solver_s = rr.seconds;
    m->ckpt_s = rr.checkpoint_seconds;
    pol_keypair kp;
    pol_digest cert_id;
    if ((st = pol_keypair_generate(&kp)))
        return st;
    double t0 = bench_now();
    st = pol_cert_issue(run, task_path, &kp, "cpu", NULL, cert_path, &cert_id);
    m->cert_s = bench_now() - t0;
    pol_keypair_clear(&kp);
    pol_cert c;
    if (st || (st = pol_cert_load(cert_path, &c, &cert_id)))
        return st;
    if ((st = pol_store_put_run(run, store))) {
        pol_cert_free(&c);
        return st;
    }
    m->steps = c.steps;
    m->k = c.checkpoint_every;
    m->intervals = c.n_checkpoints - 1;
    m->samples = pol_samples_for(m->intervals, 0.10, 0.99);
    pol_verify_opts vo = { 0 };
    vo.task_path = task_path, vo.store_dir = store, vo.samples = (uint32_t)m->samples;
    vo.cert_id = cert_id;
    memset(vo.beacon, 0x5a, sizeof vo.beacon);
    pol_verify_result *res = malloc(sizeof *res);
    if (!res)
        st = pol_errorf(POL_ERR_NOMEM, "result");
    if (!st)
        st = timed_verify(ctx, &c, &vo, 0, res, &m->verify0_s);
    if (!st)
        st = time_state_hash(store, &c.ckpt_hashes[c.n_checkpoints - 1], m);
    if (!st)
        st = timed_verify(ctx, &c, &vo, m->samples, res, &m->verify_s);
    if (!st) {
        m->steps_rerun = res->steps_rerun;
        m->cost_steps = res->cost_fraction;
        memcpy(m->detect_p, res->detect_p, sizeof m->detect_p);
    }
    free(res);
    pol_cert_free(&c);
    return st;
}

/* The measured configurations of Part 2: each task at a small k (cheap
 * sampling) and at k = 100 (the k of bench/train.c's checkpoint share). */
#define NCONF 4
#define K_BIG 100
typedef struct config {
    const char *name, *dir, *model;
    int batch, mlp;                 /* mlp: the synthetic task of mlp_task.h */
    uint64_t k, steps, quick_steps;
} config;
static const config conf[NCONF] = {
    { "digits", "digits-k2", "64-128-10", 32, 0, 2, 2000, 200 },
    { "digits", "digits-k100", "64-128-10", 32, 0, K_BIG, 100000, 400 },
    { "mlp", "mlp-k5", "784-1024-1024-10", 256, 1, 5, 300, 40 },
    { "mlp", "mlp-k100", "784-1024-1024-10", 256, 1, K_BIG, 500, 100 },
};

/* Writes dir/task.json: the digits task with `steps` steps, checkpoints
 * every k. Out: task_path. */
static pol_status digits_task(const char *dir, const char *cwd, uint64_t steps, uint64_t k,
                              char *task_path, size_t cap)
{
    char json[2048];
    if ((size_t)snprintf(task_path, cap, "%s/task.json", dir) >= cap)
        return pol_errorf(POL_ERR_TOO_LARGE, "directory name too long: %s", dir);
    int n = snprintf(json, sizeof json,
        "{\"format\":\"libpol-task-v1\",\"model\":{\"type\":\"mlp\",\"layers\":[64,128,10],"
        "\"activation\":\"gelu\"},\"dataset\":{\"path\":\"%s/examples/data/digits.safetensors\","
        "\"sha256\":\"587a525e170237be0323a84b79627500bcb1e4562b60198fab49d7603599961a\"},"
        "\"seed\":1,\"steps\":%" PRIu64 ",\"batch_size\":32,\"checkpoint_every\":%" PRIu64 ","
        "\"optimizer\":{\"type\":\"adamw\",\"lr\":0.003},\"mode\":\"exact\"}",
        cwd, steps, k);
    if (n < 0 || (size_t)n >= sizeof json)
        return pol_errorf(POL_ERR_TOO_LARGE, "working directory name too long: %s", cwd);
    return pol_write_file_atomic(task_path, json, (size_t)n, 0);
}

int main(int argc, char **argv)
{
    const char *out_dir = "bench/results";
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out_dir = argv[++i];
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else {
            printf("usage: %s [--out DIR] [--quick]\n", argv[0]);
            return strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    char cwd[1024];
    if (!getcwd(cwd, sizeof cwd))
        return 1;

    /* Part 2 first: nothing is printed until every verdict was an accept. */
    char tmp[] = "/tmp/polbench-verify-XXXXXX";
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 1; }
    char dir[NCONF][1200], task_path[NCONF][1300];
    uint64_t steps[NCONF];
    pol_status st = POL_OK;
    for (int t = 0; t < NCONF; t++) {
        snprintf(dir[t], sizeof dir[t], "%s/%s", tmp, conf[t].dir);
        steps[t] = quick ? conf[t].quick_steps : conf[t].steps;
        if ((st = pol_mkdir_p(dir[t])))
            return die("temporary directory", st);
        st = conf[t].mlp ? bench_mlp_task(dir[t], steps[t], conf[t].k, "exact", task_path[t],
                                          sizeof task_path[t])
                         : digits_task(dir[t], cwd, steps[t], conf[t].k, task_path[t],
                                       sizeof task_path[t]);
        if (st)
            return die(conf[t].dir, st);
    }
    const double load0 = bench_loadavg();
    pol_ctx *ctx;
    if ((st = pol_ctx_create(&ctx, NULL)))
        return die("context", st);
    measured m[NCONF];
    for (int t = 0; t < NCONF; t++)
        if ((st = measure(ctx, dir[t], task_path[t], &m[t])))
            return die(conf[t].dir, st);
    pol_ctx_destroy(ctx);

    char cpu[256], date[64];
    time_t now = time(NULL);
    bench_cpu_model(cpu, sizeof cpu);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    bench_emit("# Verification cost vs detection probability\n\n"
               "- CPU: %s (%ld online), 1 thread for the solver and the verifier\n"
               "- date: %s; load average (1 min) before the runs: %.2f%s\n\n",
               cpu, sysconf(_SC_NPROCESSORS_ONLN), date, load0,
               quick ? "\n- mode: --quick (fewer steps)" : "");
    bench_emit("Part 1: analytic (sampling without replacement, spec/certificate.md V-VER-6). s = fewest\n"
               "random samples with P(catch | 10%% of intervals falsified) >= 99%%; cost = s / N of the\n"
               "solver's steps (plus one initialisation).\n\n"
               "| intervals N | samples s | cost | P(1%%) | P(10%%) | P(50%%) | target (cost <= 5%%) |\n"
               "|---|---|---|---|---|---|---|\n");
    const size_t Ns[] = { 12, 60, 100, 600, 880, 1000, 10000 };
    for (size_t i = 0; i < sizeof Ns / sizeof *Ns; i++) {
        size_t N = Ns[i], s = pol_samples_for(N, 0.10, 0.99);
        double cost = (double)s / (double)N;
        bench_emit("| %zu | %zu | %.1f%% | %.3f | %.4f | %.4f | %s |\n", N, s, 100 * cost,
                   pol_detect_probability(N, 0.01, s), pol_detect_probability(N, 0.10, s),
                   pol_detect_probability(N, 0.50, s), cost <= 0.05 ? "met" : "missed");
    }
    bench_emit("\nPart 2: measured. Each task trained once per k (1 thread), certified, its checkpoints\n"
               "stored, then verified %d times with s samples from a fixed beacon; every verdict was\n"
               "an accept (checked before any time was taken). verifier s: median of the %d runs,\n"
               "including loading the task, the dataset and every sampled checkpoint; solver s:\n"
               "its training loop, of which ckpt s went to checkpoints; cost (compute) = verifier s /\n"
               "(solver s - ckpt s), cost (loop) = verifier s / solver s. mlp: %" PRIu64 " and %" PRIu64
               " steps only,\nto keep the bench short (bench/train.c trains it longer). With few intervals\n"
               "s is close to N (all of them when N is small), so the costs here are far above the\n"
               "projection's; digits at k = 100 runs the projection's N = 1000 intervals in full.\n\n"
               "| task | model | batch | steps | k | intervals | samples | steps re-run | cost (steps) | solver s | ckpt s | verifier s | cost (compute) | cost (loop) | P(1%%) | P(10%%) | P(50%%) |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
               VERIFY_REPS, VERIFY_REPS, steps[2], steps[3]);
    for (int t = 0; t < NCONF; t++)
        bench_emit("| %s | %s | %d | %" PRIu64 " | %" PRIu64 " | %zu | %zu | %" PRIu64
                   " | %.1f%% | %.3f | %.3f | %.3f | %.1f%% | %.1f%% | %.3f | %.4f | %.4f |\n",
                   conf[t].name, conf[t].model, conf[t].batch, m[t].steps, m[t].k, m[t].intervals,
                   m[t].samples, m[t].steps_rerun, 100 * m[t].cost_steps, m[t].solver_s,
                   m[t].ckpt_s, m[t].verify_s, 100 * m[t].verify_s / (m[t].solver_s - m[t].ckpt_s),
                   100 * m[t].verify_s / m[t].solver_s, m[t].detect_p[0], m[t].detect_p[1],
                   m[t].detect_p[2]);
    /* Projection: the same k over 1000 intervals. The verifier's time is
     * fixed + per_sample x samples: fixed is its median with no samples (task,
     * dataset, trainer, initial state), per_sample the rest of its median
     * with s samples, over s. (Differencing the medians with s and s/2
     * samples, as this bench once did, put a machine's noise into both.)
     * The solver's compute per interval is its loop time less checkpoints,
     * divided by its intervals. */
    const size_t NP = 1000, sp = pol_samples_for(NP, 0.10, 0.99);
    bench_emit("\nProjection to N = %zu intervals of the same k (s = %zu; P = %.3f / %.4f / %.4f for\n"
               "1%% / 10%% / 50%% falsified). Verifier time = fixed + s x per sample: fixed is its median\n"
               "with no samples (task, dataset, trainer, initial state), per sample the rest of its\n"
               "median with the s of Part 2, over s; solver compute = N x its\n"
               "measured compute seconds per interval (checkpoints excluded, so the cost is a share\n"
               "of the solver's compute, not of its loop). k for target: the smallest k with cost <= 5%%,\n"
               "taking a sample's time as its measured overhead (per sample - k x compute per step)\n"
               "plus k x compute per step; \"-\" where that overhead came out below zero (at large k it\n"
               "is within the noise of k x compute per step). Overhead: per sample less k x compute per\n"
               "step; hashing: the two state hashes every sample needs (start checkpoint, re-run end\n"
               "state; one timed on a stored checkpoint of the state's MB).\n\n"
               "| task | k | solver compute s / interval | verifier fixed s | verifier s / sample | overhead s / sample | of which hashing (2 x state MB) | projected solver s | projected verifier s | cost (compute) | target (<= 5%% at P(10%%) >= 0.99) | k for target |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|---|\n",
               NP, sp, pol_detect_probability(NP, 0.01, sp), pol_detect_probability(NP, 0.10, sp),
               pol_detect_probability(NP, 0.50, sp));
    double proj_cost[NCONF];
    for (int t = 0; t < NCONF; t++) {
        double per_iv = (m[t].solver_s - m[t].ckpt_s) / (double)m[t].intervals;
        double fixed = m[t].verify0_s < m[t].verify_s ? m[t].verify0_s : 0;
        double per_sample = (m[t].verify_s - fixed) / (double)m[t].samples;
        double pv = fixed + (double)sp * per_sample, ps = (double)NP * per_iv;
        const double step = per_iv / (double)m[t].k;
        const double over = per_sample - (double)m[t].k * step;
        char k_ok[32] = "-";
        for (uint64_t kk = 1; kk <= 100000 && over >= 0 && k_ok[0] == '-'; kk++)
            if (fixed + (double)sp * (over + (double)kk * step) <= 0.05 * (double)NP * (double)kk * step)
                snprintf(k_ok, sizeof k_ok, "%" PRIu64, kk);
        proj_cost[t] = pv / ps;
        bench_emit("| %s | %" PRIu64 " | %.4f | %.3f | %.4f | %.4f | %.4f (2 x %.1f) | %.1f | %.2f | "
                   "%.1f%% | %s | %s |\n", conf[t].name, m[t].k, per_iv, fixed, per_sample, over,
                   2 * m[t].hash_s, m[t].state_mb, ps, pv, 100 * proj_cost[t],
                   pv <= 0.05 * ps ? "met" : "missed", k_ok);
    }
    bench_emit("\nAt k = %d, the interval at which bench/train.c measures the solver's checkpoint share\n"
               "(target <= 3%% of its wall time; see bench/results/train.md), verification of N = %zu\n"
               "intervals projects to", K_BIG, NP);
    for (int t = 0, first = 1; t < NCONF; t++)
        if (conf[t].k == K_BIG) {
            bench_emit("%s\n%s %.1f%% of the solver's compute (<= 5%%: %s)", first ? "" : ";",
                       conf[t].name, 100 * proj_cost[t], proj_cost[t] <= 0.05 ? "met" : "missed");
            first = 0;
        }
    bench_emit(".\nIn this bench's single runs%s at that k, checkpoints took", quick ? " (--quick)" : "");
    for (int t = 0, first = 1; t < NCONF; t++)
        if (conf[t].k == K_BIG) {
            double share = m[t].ckpt_s / m[t].solver_s;
            bench_emit("%s\n%s %.2f%% of the solver's loop (<= 3%%: %s)", first ? "" : ";",
                       conf[t].name, 100 * share, share <= 0.03 ? "met" : "missed");
            first = 0;
        }
    bench_emit(";\nbench/train.c's medians of repeated runs are the figures to check against 3%%.\n");
    bench_emit("\nSolver's certificate (read from the run's trace; encode, sign, write) and its\n"
               "checkpoints, as shares of its training loop. Small intervals are what make sampling\n"
               "cheap: the solver pays a checkpoint every k steps for the verifier's s / N.\n\n"
               "| task | k | checkpoints | certificate s | certificate share | ckpt share of loop |\n"
               "|---|---|---|---|---|---|\n");
    for (int t = 0; t < NCONF; t++)
        bench_emit("| %s | %" PRIu64 " | %zu | %.3f | %.1f%% | %.1f%% |\n", conf[t].name, m[t].k,
                   m[t].intervals + 1, m[t].cert_s, 100 * m[t].cert_s / m[t].solver_s,
                   100 * m[t].ckpt_s / m[t].solver_s);
    char path[1200];
    snprintf(path, sizeof path, "%s/verify.md", out_dir);
    if (!quick) {
        if ((st = pol_mkdir_p(out_dir)) ||
            (st = pol_write_file_atomic(path, bench_table, bench_table_len, 1)))
            return die("write results", st);
        printf("wrote %s\n", path);
    }
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "bench/verify: could not remove %s\n", tmp);
    return 0;
}
