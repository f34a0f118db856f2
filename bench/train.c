/* Training throughput and the cost of checkpoints.
 *
 * Two tasks, each trained with pol_run_train into a fresh temporary run
 * directory with 1 and with 2 threads, and with checkpoints written either
 * on the training thread (pol_run_opts.sync_checkpoints) or by the
 * background writer (the default, spec/checkpoint.md C-WHEN-3):
 *   digits  examples/tasks/digits.json as shipped (MLP 64-128-10, batch 32,
 *           AdamW, its own checkpoint interval k = 100), on the real dataset;
 *   mlp     MLP 784-1024-1024-10 (ReLU), batch 256, AdamW, k = 100, on a
 *           synthetic dataset generated here: 8192 training and 1024 test
 *           samples of 784 features from pol_rng_uniform, label = the index
 *           of the largest of ten 78-feature group sums; written as a
 *           safetensors dataset with its SHA-256 in a generated task file.
 * Before anything is reported, every run's trace (the state hash of every
 * checkpoint) and final state hash must equal the first 1-thread run's;
 * otherwise the bench exits non-zero. Steps/s are medians over the
 * repetitions. The loop's checkpoint time is checkpoint_seconds of
 * pol_run_result (training thread: hashing, writing, fsync and trace.json of
 * every checkpoint in the timed loop, i.e. all but the one at step 0;
 * background: copying the state and waiting for the writer). The overhead
 * that counts is 1 - (steps/s of the whole loop) / (steps/s of training
 * alone), training alone being the training-thread runs' loop less their
 * checkpoint time: it also charges the background writer for the cores it
 * takes from training.
 *
 * A second table takes a checkpoint apart (1 thread): the time the library
 * spent inside write() and fsync() during the timed loop of the same runs
 * (this program defines both functions, see "syscall accounting"), the
 * state hash timed alone, and the rest (file creation, renames, trace JSON).
 * For scale it also times pol_st_serialize, a copy of the whole image into
 * one buffer that pol_st_save does not make.
 *
 * Prints markdown tables, also written to <out>/train.md.
 *
 *   build/bench/train [--quick] [--out DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "mlp_task.h"
#include "pol/context.h"
#include "pol/dataset.h"
#include "pol/fileio.h"
#include "pol/hash.h"
#include "pol/kernels.h"
#include "pol/safetensors.h"
#include "pol/train.h"

#define TARGET_SHARE 0.03 /* checkpoint share of wall time */
#define MLP_K 100         /* checkpoint interval of the large MLP */
#define MAX_REPS 16

/* ------------------------------------------------------- temp, errors */

static char tmp_root[PATH_MAX];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(p);
    return 0;
}

static void rm_tree(const char *p)
{
    nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void cleanup(void)
{
    if (tmp_root[0])
        rm_tree(tmp_root);
    tmp_root[0] = 0;
}

static void die(const char *what)
{
    fprintf(stderr, "train bench: %s: %s\n", what, pol_last_error());
    exit(1);
}

/* ------------------------------------------------- syscall accounting */

/* Time the library spends in write() and fsync() while io_count is set
 * (during pol_run_train). libpol is linked statically into this program, so
 * its calls to these two functions bind to the definitions below, which
 * time them and pass them to the kernel unchanged. */
static int io_count;
static double io_write_s, io_fsync_s;
static uint64_t io_fsync_n;

/* pol_run_train's progress callback: the first call comes after step 1, so
 * resetting the counters there leaves out the untimed checkpoint at step 0
 * (both tasks have k > 1). */
static void io_start_loop(void *arg, uint64_t step, uint64_t total, float loss)
{
    (void)total, (void)loss;
    int *first = arg;
    if (*first && step == 1)
        io_write_s = io_fsync_s = 0.0, io_fsync_n = 0;
    *first = 0;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    double t0 = io_count ? bench_now() : 0.0;
    ssize_t r = (ssize_t)syscall(SYS_write, fd, buf, n);
    if (io_count)
        io_write_s += bench_now() - t0;
    return r;
}

int fsync(int fd)
{
    double t0 = io_count ? bench_now() : 0.0;
    int r = (int)syscall(SYS_fsync, fd);
    if (io_count)
        io_fsync_s += bench_now() - t0, io_fsync_n++;
    return r;
}

/* ------------------------------------------------------------- report */

static const char *fs_name(const char *path)
{
    static char buf[32];
    struct statfs sf;
    if (statfs(path, &sf) != 0)
        return "unknown";
    switch ((unsigned long)sf.f_type) {
    case 0xEF53: return "ext2/3/4";
    case 0x01021994: return "tmpfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794C7630: return "overlayfs";
    default:
        snprintf(buf, sizeof buf, "fs 0x%lx", (unsigned long)sf.f_type);
        return buf;
    }
}

/* The 1-minute load average, or -1. */
/* ------------------------------------------------------------ tasks */

typedef struct bench_task {
    const char *name;  /* short name in the tables */
    char model[64];    /* "64-128-10" */
    char path[PATH_MAX];
    pol_task task;     /* parsed, for the tables */
    int reps;          /* runs per thread count and writer */
    int64_t params;    /* parameter count */
    pol_digest final;  /* the final state hash every run ended on */
} bench_task;

static void task_describe(bench_task *b)
{
    if (pol_task_load(b->path, &b->task) != POL_OK)
        die(b->path);
    size_t o = 0;
    b->params = 0;
    for (int i = 0; i <= b->task.n_layers; i++) {
        o += (size_t)snprintf(b->model + o, sizeof b->model - o, "%s%" PRId64, i ? "-" : "",
                              b->task.sizes[i]);
        if (o >= sizeof b->model)
            break;
        if (i < b->task.n_layers)
            b->params += b->task.sizes[i] * b->task.sizes[i + 1] + b->task.sizes[i + 1];
    }
}

/* examples/tasks/digits.json from the working directory, else relative to
 * this executable (build/bench/train). */
static void find_digits(char *out, size_t cap)
{
    static const char rel[] = "examples/tasks/digits.json";
    if (access(rel, R_OK) == 0) {
        snprintf(out, cap, "%s", rel);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        for (int up = 0; up < 3; up++) {
            char *s = strrchr(exe, '/');
            if (s)
                *s = 0;
        }
        int n2 = snprintf(out, cap, "%s/%s", exe, rel);
        if (n2 > 0 && (size_t)n2 < cap && access(out, R_OK) == 0)
            return;
    }
    fprintf(stderr, "train bench: cannot find %s (run from the repository root)\n", rel);
    exit(1);
}

/* The large MLP task (bench/mlp_task.h), in dir. */
static void make_mlp_task(const char *dir, uint64_t steps, char *task_path, size_t cap)
{
    if (bench_mlp_task(dir, steps, MLP_K, "exact", task_path, cap) != POL_OK)
        die("the MLP task");
}

/* ------------------------------------------------------------- runs */

typedef struct run_stats {
    double sps[MAX_REPS];       /* steps / compute seconds (checkpoints excluded) */
    double sps_all[MAX_REPS];   /* steps / wall seconds of the loop */
    double ckpt_ms[MAX_REPS];   /* per checkpoint inside the loop */
    double share[MAX_REPS];     /* checkpoint_seconds / seconds */
    double writer_ms[MAX_REPS]; /* per checkpoint: checkpoint_write_seconds */
    double write_ms[MAX_REPS];  /* per checkpoint: in write() */
    double fsync_ms[MAX_REPS];  /* per checkpoint: in fsync() */
    double nosync[MAX_REPS];    /* the share with the fsync time taken out */
    double fsyncs;              /* fsync calls per checkpoint */
    uint64_t steps, ckpts;
    double acc;
    int n;
} run_stats;

static uint8_t *ref_trace;
static size_t ref_trace_len;
static pol_digest ref_hash;

/* One run into a fresh directory; checks it against the reference (the
 * first run of the task), records its numbers, removes the directory.
 * Returns 0, or 1 when the run disagrees with the reference. */
static int run_once(const bench_task *b, int threads, int sync, int rep, run_stats *rs)
{
    char dir[PATH_MAX + 64], tpath[PATH_MAX + 80];
    snprintf(dir, sizeof dir, "%s/run-%s-%dt-%d-%d", tmp_root, b->name, threads, sync, rep);
    pol_ctx *ctx;
    pol_ctx_opts co = { .threads = threads, .kernels = POL_KERNELS_FAST };
    if (pol_ctx_create(&ctx, &co) != POL_OK)
        die("pol_ctx_create");
    int first = 1;
    pol_run_opts o = { .task_path = b->path, .out_dir = dir, .progress = io_start_loop,
                       .progress_arg = &first, .sync_checkpoints = sync };
    pol_run_result r;
    io_write_s = io_fsync_s = 0.0, io_fsync_n = 0, io_count = 1;
    pol_status st = pol_run_train(ctx, &o, &r);
    io_count = 0;
    if (st != POL_OK)
        die(b->name);
    pol_ctx_destroy(ctx);
    snprintf(tpath, sizeof tpath, "%s/trace.json", dir);
    uint8_t *tr;
    size_t tl;
    if (pol_read_file(tpath, 64u << 20, &tr, &tl) != POL_OK)
        die("read trace");
    rm_tree(dir);
    int bad = 0;
    if (!ref_trace) {
        ref_trace = tr, ref_trace_len = tl, ref_hash = r.final_state_hash;
    } else {
        bad = tl != ref_trace_len || memcmp(tr, ref_trace, tl) ||
              !pol_digest_equal(&r.final_state_hash, &ref_hash);
    }
    if (bad) {
        char a[65], c[65];
        pol_digest_to_hex(&r.final_state_hash, a);
        pol_digest_to_hex(&ref_hash, c);
        fprintf(stderr, "train bench: %s, %d thread(s), run %d: final state %s, the first "
                "1-thread run's %s; trace.json %s\n", b->name, threads, rep + 1, a, c,
                tl == ref_trace_len && !memcmp(tr, ref_trace, tl) ? "identical" : "differs");
        free(tr);
        return 1;
    }
    if (tr != ref_trace)
        free(tr);
    uint64_t in_loop = r.checkpoints - 1; /* the step-0 checkpoint is not timed */
    double comp = r.seconds - r.checkpoint_seconds;
    rs->sps[rs->n] = (double)r.steps_run / comp;
    rs->sps_all[rs->n] = (double)r.steps_run / r.seconds;
    rs->ckpt_ms[rs->n] = in_loop ? 1e3 * r.checkpoint_seconds / (double)in_loop : 0.0;
    rs->share[rs->n] = r.checkpoint_seconds / r.seconds;
    rs->writer_ms[rs->n] = in_loop ? 1e3 * r.checkpoint_write_seconds / (double)in_loop : 0.0;
    /* the counters cover the checkpoints of the timed loop (io_start_loop) */
    const double nck = in_loop ? (double)in_loop : 1.0;
    rs->write_ms[rs->n] = 1e3 * io_write_s / nck;
    rs->fsync_ms[rs->n] = 1e3 * io_fsync_s / nck;
    rs->fsyncs = (double)io_fsync_n / nck;
    rs->nosync[rs->n] = (r.checkpoint_seconds - io_fsync_s) / (r.seconds - io_fsync_s);
    rs->steps = r.steps_run;
    rs->ckpts = in_loop;
    rs->acc = r.test_accuracy;
    rs->n++;
    fprintf(stderr, "  %s %dt %s run %d: %.1f steps/s, ckpt %.2f ms x %" PRIu64 " = %.2f%% "
            "(write %.2f ms, fsync %.2f ms)\n", b->name, threads, sync ? "sync" : "bg", rep + 1,
            rs->sps[rs->n - 1],
            rs->ckpt_ms[rs->n - 1], in_loop, 100.0 * rs->share[rs->n - 1],
            rs->write_ms[rs->n - 1], rs->fsync_ms[rs->n - 1]);
    return 0;
}

/* 1 and 2 threads x the two writers, interleaved; every run is checked
 * against the first. rs[threads - 1][sync]. */
static int bench_task_runs(const bench_task *b, run_stats rs[2][2])
{
    free(ref_trace);
    ref_trace = NULL;
    memset(rs, 0, 4 * sizeof rs[0][0]);
    for (int rep = 0; rep < b->reps; rep++)
        for (int t = 0; t < 2; t++)
            for (int sync = 1; sync >= 0; sync--)
                if (run_once(b, t + 1, sync, rep, &rs[t][sync]))
                    return 1;
    return 0;
}

/* ------------------------------------------------ checkpoint anatomy */

/* The state hash and, for scale, pol_st_serialize (a copy into one buffer
 * that pol_st_save does not make), timed alone on a fresh trainer of the
 * task (one thread). Medians in ms. */
typedef struct anatomy {
    double hash, serialize, bytes;
} anatomy;

static void time_parts(const bench_task *b, int reps, anatomy *an)
{
    pol_task task;
    pol_dataset ds;
    pol_ctx *ctx;
    pol_trainer *tr;
    if (pol_task_load(b->path, &task) != POL_OK)
        die(b->path);
    if (pol_dataset_load(task.dataset_path, &task.dataset_sha256, task.sizes[0],
                         task.sizes[task.n_layers], &ds) != POL_OK)
        die(task.dataset_path);
    if (pol_ctx_create(&ctx, NULL) != POL_OK || pol_trainer_create(&tr, ctx, &task, &ds) != POL_OK)
        die("trainer");
    char dir[PATH_MAX + 64], path[PATH_MAX + 128];
    snprintf(dir, sizeof dir, "%s/anatomy-%s", tmp_root, b->name);
    snprintf(path, sizeof path, "%s/ref.safetensors", dir);
    if (pol_mkdir_p(dir) != POL_OK || pol_trainer_save(tr, path, 0, NULL) != POL_OK)
        die("pol_trainer_save");
    uint8_t *img;
    size_t len;
    pol_st_file f;
    if (pol_read_file(path, SIZE_MAX / 2, &img, &len) != POL_OK ||
        pol_st_load(path, NULL, &f) != POL_OK)
        die("read checkpoint");
    const pol_tensor **tp = malloc(f.n * sizeof *tp);
    if (!tp)
        die("out of memory");
    for (size_t i = 0; i < f.n; i++)
        tp[i] = &f.tensors[i];
    double h[MAX_REPS], se[MAX_REPS];
    for (int r = 0; r < reps; r++) {
        pol_digest d;
        uint8_t *buf;
        size_t bl;
        double t0 = bench_now();
        if (pol_trainer_state_hash(tr, &d) != POL_OK)
            die("state hash");
        double t1 = bench_now();
        if (pol_st_serialize(tp, f.n, (const char *const *)f.meta, f.n_meta, &buf, &bl) != POL_OK)
            die("serialize");
        double t2 = bench_now();
        if (bl != len || memcmp(buf, img, len)) {
            fprintf(stderr, "train bench: pol_st_serialize differs from the saved checkpoint\n");
            exit(1);
        }
        free(buf);
        h[r] = t1 - t0, se[r] = t2 - t1;
    }
    an->hash = 1e3 * bench_median(h, reps);
    an->serialize = 1e3 * bench_median(se, reps);
    an->bytes = (double)len;
    free(tp);
    free(img);
    pol_st_free(&f);
    rm_tree(dir);
    pol_trainer_destroy(tr);
    pol_ctx_destroy(ctx);
    pol_dataset_free(&ds);
}

/* --------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: train [--quick] [--out DIR]\n"
            "  Trains the digits task (examples/tasks/digits.json) and an MLP 784-1024-1024-10\n"
            "  (batch 256, AdamW, k = %d, synthetic data) with 1 and 2 threads, checks that\n"
            "  both thread counts and both checkpoint writers (training thread, background)\n"
            "  end on the same state hashes, then prints steps/s and the share of wall time\n"
            "  spent on checkpoints as markdown tables.\n"
            "  --quick    fewer repetitions and steps\n"
            "  --out DIR  where to write train.md (default bench/results)\n",
            MLP_K);
}

int main(int argc, char **argv)
{
    const char *out = "bench/results";
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
    const uint64_t mlp_steps = quick ? 100 : 500;
    const int anatomy_reps = quick ? 3 : 7;

    const char *td = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/pol-bench-train-XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmp_root)) {
        fprintf(stderr, "train bench: mkdtemp %s: %s\n", tmp_root, strerror(errno));
        return 1;
    }
    atexit(cleanup);

    bench_task tasks[2] = { { .name = "digits", .reps = quick ? 3 : 7 },
                            { .name = "mlp", .reps = quick ? 1 : 5 } };
    find_digits(tasks[0].path, sizeof tasks[0].path);
    double tgen = bench_now();
    make_mlp_task(tmp_root, mlp_steps, tasks[1].path, sizeof tasks[1].path);
    tgen = bench_now() - tgen;
    for (int i = 0; i < 2; i++)
        task_describe(&tasks[i]);

    char cpu[256], date[64];
    bench_cpu_model(cpu, sizeof cpu);
    time_t tnow = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&tnow));
    fprintf(stderr, "train bench: synthetic dataset generated in %.2f s; checking and timing...\n",
            tgen);
    const double load0 = bench_loadavg();

    /* run everything (checks first) before printing a single number */
    run_stats rs[2][2][2]; /* [task][threads - 1][sync] */
    anatomy an[2];
    for (int i = 0; i < 2; i++) {
        if (bench_task_runs(&tasks[i], rs[i])) {
            fprintf(stderr, "train bench: verification FAILED: 1 and 2 threads disagree\n");
            return 1;
        }
        char hex[65];
        pol_digest_to_hex(&ref_hash, hex);
        fprintf(stderr, "  %s: all %d runs end on state %s\n", tasks[i].name, 4 * tasks[i].reps,
                hex);
        tasks[i].final = ref_hash;
        time_parts(&tasks[i], anatomy_reps, &an[i]);
    }
    free(ref_trace);

    bench_emit("# Training throughput and checkpoint cost\n\n");
    bench_emit("- CPU: %s (%ld online)\n- GEMM ISA: %s\n- checkpoint directory: %s (%s)\n- date: %s%s\n",
         cpu, sysconf(_SC_NPROCESSORS_ONLN), pol_fast_gemm_isa(), td && *td ? td : "/tmp",
         fs_name(tmp_root), date, quick ? "\n- mode: --quick (fewer steps and repetitions)" : "");
    bench_emit("- load average (1 min) just before the runs: %.2f (well above 0: other work shared the "
         "cores and the disk, and the numbers suffer)\n", load0);
    bench_emit("- each row: median of %d (digits) / %d (mlp) runs of pol_run_train into a fresh "
         "directory; every run's trace and final state hash equal the first 1-thread run's\n",
         tasks[0].reps, tasks[1].reps);
    bench_emit("- writer: \"thread\" = each checkpoint written on the training thread "
         "(pol_run_opts.sync_checkpoints, `pol-solver train --sync-checkpoints`); \"background\" = "
         "the state copied and written by a background thread while training goes on (the default)\n");
    bench_emit("- steps/s = steps / (loop seconds - the loop's checkpoint seconds); \"with ckpt\" "
         "divides by the whole loop; loop ckpt ms = the loop's checkpoint seconds per checkpoint "
         "(thread: state hash, safetensors write, fsync, rename, directory fsync, trace.json; "
         "background: copying the state, and waiting when the previous write is not done); "
         "writer ms = that write's own wall time per checkpoint, wherever it ran (the background "
         "writer runs under SCHED_IDLE, so its time includes waiting for a core the training "
         "threads leave idle)\n");
    bench_emit("- overhead = the median over the repetitions of 1 - (steps/s with ckpt) / (steps/s "
         "of the \"thread\" run of the same task, threads and repetition, run just before it): the "
         "share of wall time checkpoints cost, charging the background writer also for the cores "
         "it takes from training (pairs, because the shared machine's speed drifts between "
         "repetitions by more than the effect); overhead range: the smallest and largest pair; tasks at their k (digits: its shipped "
         "k = %" PRIu64 "; mlp: k = %d); target <= %.0f%%; k for target (thread rows): the smallest "
         "k that would meet it at these step and checkpoint times\n\n",
         tasks[0].task.checkpoint_every, MLP_K, 100 * TARGET_SHARE);
    bench_emit("| task | model | batch | k | threads | writer | steps | steps/s | ms/step | steps/s "
         "with ckpt | ckpts | loop ckpt ms | writer ms | overhead | overhead range | target met | k for target |\n");
    bench_emit("|------|-------|-------|---|---------|--------|-------|---------|---------|---------"
         "----------|-------|--------------|-----------|----------|----------------|------------|--------------|\n");
    for (int i = 0; i < 2; i++)
        for (int t = 0; t < 2; t++)
            for (int sync = 1; sync >= 0; sync--) {
                const run_stats *s = &rs[i][t][sync];
                /* per repetition, against the "thread" run just before it (side by
                 * side, so both met the same machine load); then the median */
                const run_stats *base = &rs[i][t][1];
                double ov[MAX_REPS];
                for (int r = 0; r < s->n; r++)
                    ov[r] = 1.0 - s->sps_all[r] / base->sps[r];
                double sps = bench_median(s->sps, s->n), all = bench_median(s->sps_all, s->n);
                double over = bench_median(ov, s->n), lo = ov[0], hi = ov[0];
                for (int r = 1; r < s->n; r++)
                    lo = ov[r] < lo ? ov[r] : lo, hi = ov[r] > hi ? ov[r] : hi;
                double ck = bench_median(s->ckpt_ms, s->n);
                char kmin[32] = "";
                if (sync) /* ck / (k * step + ck) <= target */
                    snprintf(kmin, sizeof kmin, "%.0f",
                             ceil(ck * (1 - TARGET_SHARE) / (TARGET_SHARE * 1e3 / sps)));
                bench_emit("| %s | %s | %" PRId64 " | %" PRIu64 " | %d | %s | %" PRIu64 " | %.1f | "
                     "%.3f | %.1f | %" PRIu64 " | %.2f | %.2f | %.2f%% | %.1f%% .. %.1f%% | %s | %s |\n",
                     tasks[i].name, tasks[i].model, tasks[i].task.batch,
                     tasks[i].task.checkpoint_every, t + 1, sync ? "thread" : "background",
                     s->steps, sps, 1e3 / sps, all, s->ckpts, ck,
                     bench_median(s->writer_ms, s->n), 100 * over, 100 * lo, 100 * hi,
                     over <= TARGET_SHARE ? "yes" : "NO", kmin);
            }
    bench_emit("\n");
    for (int i = 0; i < 2; i++) {
        char hex[65];
        pol_digest_to_hex(&tasks[i].final, hex);
        bench_emit("- %s: final state hash `%s` (1 and 2 threads, both writers), test accuracy "
             "%.3f, %.2f M parameters\n", tasks[i].name, hex, rs[i][0][1].acc,
             tasks[i].params / 1e6);
    }

    bench_emit("\n## Where a checkpoint's time goes (1 thread, written on the training thread)\n\n");
    bench_emit("- ckpt ms: per checkpoint in the \"thread\" runs above; write() and fsync(): time the library "
         "spent in these calls during the same runs, per checkpoint (the checkpoint file, "
         "its directory, trace.json and its directory); hash: pol_trainer_state_hash timed "
         "alone (median of %d); other = ckpt - hash - write - fsync (file creation, rename, "
         "trace JSON, page faults)\n", anatomy_reps);
    bench_emit("- share w/o fsync: the checkpoint share with the fsync time removed from both "
         "numerator and denominator; serialize: pol_st_serialize into one buffer, a copy "
         "pol_st_save does not make (it writes each tensor in place), for scale only\n\n");
    bench_emit("| task | ckpt MiB | ckpt ms | hash ms | hash GB/s | write() ms | fsync() ms | fsyncs "
         "| other ms | ckpt share | share w/o fsync | serialize ms |\n");
    bench_emit("|------|----------|---------|---------|-----------|------------|------------|--------"
         "|----------|------------|-----------------|--------------|\n");
    for (int i = 0; i < 2; i++) {
        const anatomy *a = &an[i];
        const run_stats *s = &rs[i][0][1];
        double ck = bench_median(s->ckpt_ms, s->n), wr = bench_median(s->write_ms, s->n),
               fs = bench_median(s->fsync_ms, s->n);
        bench_emit("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %.2f | %.2f%% | %.2f%% "
             "| %.2f |\n",
             tasks[i].name, a->bytes / (1 << 20), ck, a->hash, a->bytes / (a->hash * 1e-3) * 1e-9,
             wr, fs, s->fsyncs, ck - a->hash - wr - fs, 100 * bench_median(s->share, s->n),
             100 * bench_median(s->nosync, s->n), a->serialize);
    }

    int fail = 0;
    if (out) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof path, "%s/train.md", out);
        if (pol_mkdir_p(out) != POL_OK ||
            pol_write_file_atomic(path, bench_table, bench_table_len, 1) != POL_OK) {
            fprintf(stderr, "train bench: %s\n", pol_last_error());
            fail = 1;
        } else {
            printf("\nwrote %s\n", path);
        }
    }
    free(bench_table);
    return fail;
}
