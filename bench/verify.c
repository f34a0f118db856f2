/* bench/verify — verification cost against detection probability.
 *
 * Part 1 (analytic, spec/certificate.md V-VER-6): for a run of N intervals,
 * the fewest random samples s that catch a solver who falsified 10% of the
 * intervals with probability >= 99%, the share of the solver's steps that
 * costs, and what the same s buys against 1% and 50%.
 * Part 2 (measured): the digits task trained with a small k, certified,
 * stored, then verified with that s; the verifier must accept (checked
 * before any time is reported), and its wall time is compared with the
 * solver's.
 *
 *   build/bench/verify [--out DIR] [--quick]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "pol/cert.h"
#include "pol/fileio.h"
#include "pol/keys.h"
#include "pol/train.h"
#include "pol/verify.h"

static int die(const char *what, pol_status st)
{
    fprintf(stderr, "bench/verify: %s: %s (%s)\n", what, pol_last_error(), pol_strerror(st));
    return 1;
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
    char table[8192];
    int len = snprintf(table, sizeof table,
        "# Verification cost vs detection probability\n\n"
        "Part 1: analytic (sampling without replacement, spec/certificate.md V-VER-6). s = fewest\n"
        "random samples with P(catch | 10%% of intervals falsified) >= 99%%; cost = s / N of the\n"
        "solver's steps (plus one initialisation).\n\n"
        "| intervals N | samples s | cost | P(1%%) | P(10%%) | P(50%%) | target (cost <= 5%%) |\n"
        "|---|---|---|---|---|---|---|\n");
    const size_t Ns[] = { 12, 100, 600, 880, 1000, 10000 };
    for (size_t i = 0; i < sizeof Ns / sizeof *Ns; i++) {
        size_t n = Ns[i], s = pol_samples_for(n, 0.10, 0.99);
        double cost = (double)s / (double)n;
        len += snprintf(table + len, sizeof table - (size_t)len,
                        "| %zu | %zu | %.1f%% | %.3f | %.4f | %.4f | %s |\n", n, s, 100 * cost,
                        pol_detect_probability(n, 0.01, s), pol_detect_probability(n, 0.10, s),
                        pol_detect_probability(n, 0.50, s), cost <= 0.05 ? "met" : "missed");
    }

    /* Part 2: a real run of the digits task with k = 2 (600 intervals). */
    char tmp[] = "/tmp/polbench-verify-XXXXXX";
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 1; }
    char cwd[1024], task_path[1200], run[1200], store[1200];
    if (!getcwd(cwd, sizeof cwd)) return 1;
    const uint64_t steps = quick ? 200 : 2000, k = 2;
    snprintf(task_path, sizeof task_path, "%s/task.json", tmp);
    FILE *f = fopen(task_path, "w");
    if (!f) return 1;
    fprintf(f, "{\"format\":\"libpol-task-v1\",\"model\":{\"type\":\"mlp\",\"layers\":[64,128,10],"
               "\"activation\":\"gelu\"},\"dataset\":{\"path\":\"%s/examples/data/digits.safetensors\","
               "\"sha256\":\"587a525e170237be0323a84b79627500bcb1e4562b60198fab49d7603599961a\"},"
               "\"seed\":1,\"steps\":%llu,\"batch_size\":32,\"checkpoint_every\":%llu,"
               "\"optimizer\":{\"type\":\"adamw\",\"lr\":0.003},\"mode\":\"exact\"}",
            cwd, (unsigned long long)steps, (unsigned long long)k);
    fclose(f);
    snprintf(run, sizeof run, "%s/run", tmp);
    snprintf(store, sizeof store, "%s/store", tmp);
    pol_ctx *ctx;
    pol_status st = pol_ctx_create(&ctx, NULL);
    if (st) return die("context", st);
    pol_run_opts ro = { 0 };
    ro.task_path = task_path, ro.out_dir = run;
    pol_run_result rr;
    if ((st = pol_run_train(ctx, &ro, &rr))) return die("train", st);
    pol_cert c;
    /* the solver's certificate: from the trace, signed and written */
    pol_keypair kp;
    pol_digest cert_id;
    char cert_path[1300];
    snprintf(cert_path, sizeof cert_path, "%s/certificate.pol", run);
    if ((st = pol_keypair_generate(&kp))) return die("key", st);
    double tc0 = bench_now();
    st = pol_cert_issue(run, task_path, &kp, "cpu", NULL, cert_path, &cert_id);
    double tcert = bench_now() - tc0;
    pol_keypair_clear(&kp);
    if (st) return die("certificate", st);
    if ((st = pol_cert_load(cert_path, &c, &cert_id))) return die("certificate", st);
    if ((st = pol_store_put_run(run, store))) return die("store", st);
    const size_t n = c.n_checkpoints - 1, s = pol_samples_for(n, 0.10, 0.99);
    pol_verify_opts vo = { 0 };
    vo.task_path = task_path, vo.store_dir = store, vo.samples = (uint32_t)s;
    vo.cert_id = cert_id;
    memset(vo.beacon, 0x5a, sizeof vo.beacon);
    pol_verify_result *res = malloc(sizeof *res);
    double t0 = bench_now();
    st = pol_verify(ctx, &c, &vo, res);
    double tv = bench_now() - t0;
    if (st) return die("verify", st);
    if (!res->accept) {
        fprintf(stderr, "bench/verify: an honest run was rejected: %s\n", res->reason);
        return 1;
    }
    len += snprintf(table + len, sizeof table - (size_t)len,
        "\nPart 2: measured on the digits task (64-128-10, batch 32), %llu steps, k = %llu,\n"
        "1 thread; the verifier accepted the honest certificate before its time was taken.\n\n"
        "| intervals | samples | steps re-run | cost (steps) | solver s | verifier s | cost (time) | P(10%%) |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| %zu | %zu | %llu | %.1f%% | %.3f | %.3f | %.1f%% | %.4f |\n\n"
        "Solver's certificate over %zu checkpoints (read from the run's trace, whose\n"
        "hashes and update norms were recorded at checkpoint time and are inside the\n"
        "training time; encode, sign, write): %.3f s = %.1f%% of its training wall time.\n\n"
        "The verifier's time includes loading the task, the dataset and every sampled\n"
        "checkpoint; the solver's is its training loop with checkpoints (k = 2 makes the\n"
        "solver write %zu checkpoints: small intervals are what make sampling cheap).\n",
        (unsigned long long)steps, (unsigned long long)k, n, res->n_picked,
        (unsigned long long)res->steps_rerun, 100 * res->cost_fraction, rr.seconds, tv,
        100 * tv / rr.seconds, res->detect_p[1], n + 1, tcert, 100 * tcert / rr.seconds, n + 1);
    fputs(table, stdout);
    char path[1200];
    snprintf(path, sizeof path, "%s/verify.md", out_dir);
    if (!quick && (st = pol_mkdir_p(out_dir) || pol_write_file_atomic(path, table, (size_t)len, 1)))
        return die("write results", POL_ERR_IO);
    if (!quick)
        printf("wrote %s\n", path);
    free(res);
    pol_cert_free(&c);
    pol_ctx_destroy(ctx);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "bench/verify: could not remove %s\n", tmp);
    return 0;
}
