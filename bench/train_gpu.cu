/* train_gpu — training steps/s on the GPU, exact and tolerant, against the CPU.
 *
 *   train_gpu [--out DIR] [--quick | --smoke]
 *   train_gpu --profile TASK:MODE
 *
 * Tasks (as bench/train.c):
 *   digits  examples/tasks/digits.json (MLP 64-128-10, batch 32, AdamW);
 *   mlp     MLP 784-1024-1024-10 (ReLU), batch 256, AdamW, on synthetic data
 *           generated here (8192 training samples of 784 uniform features,
 *           label = the group of 78 features with the largest sum);
 *   wide    the same with hidden widths 4096 and batch 1024, to fill the GPU.
 * Each task is written twice into a temporary directory: "mode": "exact" and
 * "mode": "tolerant" (otherwise the same bytes).
 *
 * Checks before anything is timed (the bench exits 1 when one fails):
 *   1. exact: the task trained on the CPU (fast kernels, every core) and on
 *      the GPU (exact kernels) ends on the same final state hash;
 *   2. tolerant: the task trained on the CPU with OpenBLAS, profiled on the
 *      CPU alone (pol_profile_run with POL_PROFILE_GPU_OFF, 2 sampled
 *      intervals: thresholds by spec/profiling.md [P-RULE-1]); the last
 *      interval re-run on the GPU with cuBLAS FP32 from the CPU's
 *      checkpoint must end within the threshold (l2_rel over the
 *      parameters) of the CPU's committed end state. The same distance
 *      with cuBLAS TF32 and BF16 (the task's gpu_math set to "tf32" or
 *      "bf16", spec/task.md [T-KEY-4]) is printed as a multiple of that
 *      threshold; it is not a gate (such a task is profiled with its own
 *      math, pol/cuda.h).
 * Then steps/s (pol_trainer_step in a loop: no checkpoints; median of 3
 * timed runs of at least 1 s after warm-up steps) for: CPU exact (fast
 * kernels, every core), CPU tolerant (OpenBLAS, every core), GPU exact, GPU
 * tolerant cuBLAS FP32, TF32 and BF16. Printed and written to
 * DIR/train_gpu.md (default bench/results). Exit status 77 without a CUDA
 * device. --quick: fewer mlp steps in the checks. --smoke: trains digits only, to
 * run the program's every path quickly (on the CUDA emulator: make
 * emu-bench); its timings are not results and the table says so.
 *
 * --profile TASK:MODE (TASK digits, mlp or wide; MODE exact, fp32, tf32 or
 * bf16): for a profiler (scripts/gpu-run.sh --ncu runs it under ncu): one
 * training step of the task on the GPU, exact or tolerant with that cuBLAS
 * math, and nothing else on the GPU; an exact step is first checked (the
 * same state hash as one step on the CPU). No table is written.
 *
 * Host code only (nvcc compiles it as C++ and links cuBLAS); everything goes
 * through the libpol API.
 */
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "pol/context.h"
#include "pol/cuda.h"
#include "pol/dataset.h"
#include "pol/distance.h"
#include "pol/fileio.h"
#include "pol/hash.h"
#include "pol/profile.h"
#include "pol/safetensors.h"
#include "pol/task.h"
#include "pol/train.h"

#include "mlp_task.h"

namespace {


char tmp_root[PATH_MAX];
std::vector<std::string> table;

double now()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int rm_entry(const char *p, const struct stat *, int, struct FTW *)
{
    remove(p);
    return 0;
}

void cleanup()
{
    if (tmp_root[0])
        nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    tmp_root[0] = 0;
}

void die(const char *what)
{
    fprintf(stderr, "train_gpu: %s: %s\n", what, pol_last_error());
    exit(1);
}

void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void emit(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fputs(line, stdout);
    fflush(stdout);
    table.push_back(line);
}

void write_text(const char *path, const std::string &s)
{
    if (pol_write_file_atomic(path, s.data(), s.size(), 1) != POL_OK)
        die(path);
}

/* A task file in both modes: <dir>/<name>-exact.json, <dir>/<name>-tolerant.json.
 * `json` holds the text with the placeholder MODE where the mode goes. */
void write_modes(const char *dir, const char *name, const std::string &json, std::string *exact,
                 std::string *tolerant)
{
    const size_t at = json.find("MODE");
    if (at == std::string::npos) {
        fprintf(stderr, "train_gpu: task template without MODE\n");
        exit(1);
    }
    *exact = std::string(dir) + "/" + name + "-exact.json";
    *tolerant = std::string(dir) + "/" + name + "-tolerant.json";
    write_text(exact->c_str(), json.substr(0, at) + "exact" + json.substr(at + 4));
    write_text(tolerant->c_str(), json.substr(0, at) + "tolerant" + json.substr(at + 4));
}

/* digits.json as shipped, the dataset path made absolute, the mode a placeholder. */
std::string digits_template()
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char data[PATH_MAX];
    if (pol_read_file("examples/tasks/digits.json", 1u << 20, &buf, &len) != POL_OK ||
        !realpath("examples/data/digits.safetensors", data)) {
        fprintf(stderr, "train_gpu: cannot read examples/tasks/digits.json and its data "
                        "(run from the repository root)\n");
        exit(1);
    }
    std::string s((const char *)buf, len);
    free(buf);
    const std::string rel = "\"../data/digits.safetensors\"", mode = "\"exact\"";
    size_t a = s.find(rel), b;
    if (a == std::string::npos)
        goto bad;
    s.replace(a, rel.size(), std::string("\"") + data + "\"");
    if ((b = s.find(mode)) == std::string::npos)
        goto bad;
    s.replace(b, mode.size(), "\"MODE\"");
    return s;
bad:
    fprintf(stderr, "train_gpu: examples/tasks/digits.json changed shape; update the bench\n");
    exit(1);
}

/* The MLP task of bench/mlp_task.h in both modes, in dir: hidden widths
 * `hidden` and batches of `batch`. */
void mlp_tasks(const char *dir, uint64_t steps, int k, int hidden, int batch, std::string *exact,
               std::string *tolerant)
{
    char path[PATH_MAX + 64];
    if (bench_mlp_task_sized(dir, steps, (uint64_t)k, "exact", hidden, batch, path,
                             sizeof path) != POL_OK)
        die("the MLP task");
    *exact = path;
    if (bench_mlp_task_sized(dir, steps, (uint64_t)k, "tolerant", hidden, batch, path,
                             sizeof path) != POL_OK)
        die("the MLP task");
    *tolerant = path;
}

/* The wide MLP, 784-4096-4096-10 at batch 1024, which fills a large GPU, in
 * its own directory. */
void wide_tasks(const char *root, uint64_t steps, int k, std::string *exact,
                std::string *tolerant)
{
    const std::string dir = std::string(root) + "/wide";
    if (mkdir(dir.c_str(), 0700) && errno != EEXIST)
        die(dir.c_str());
    mlp_tasks(dir.c_str(), steps, k, 4096, 1024, exact, tolerant);
}

/* A context: device, kernels, threads. */
pol_ctx *make_ctx(int device, pol_kernels kernels, int threads)
{
    pol_ctx_opts o;
    memset(&o, 0, sizeof o);
    o.threads = threads, o.kernels = kernels, o.device = device;
    pol_ctx *c;
    if (pol_ctx_create(&c, &o))
        die("context");
    return c;
}

pol_run_result train(pol_ctx *ctx, const std::string &task, const char *out)
{
    pol_run_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.task_path = task.c_str(), ro.out_dir = out;
    pol_run_result r;
    if (pol_run_train(ctx, &ro, &r))
        die(out);
    return r;
}

/* l2_rel (parameters) between the last interval of run_dir re-run on ctx,
 * with the task's gpu_math replaced by math, and the run's committed end
 * state. Out: *len, the interval's length. */
double last_interval_distance(pol_ctx *ctx, const std::string &task_path, const char *run_dir,
                              pol_gpu_math math, uint64_t *len)
{
    pol_task task;
    pol_dataset ds;
    pol_trace tr;
    pol_trainer *t;
    if (pol_task_load(task_path.c_str(), &task))
        die("re-run setup");
    task.gpu_math = math; /* the trainer sets it on the device */
    if (pol_trace_load(run_dir, &tr) || tr.n < 2 ||
        pol_dataset_load(task.dataset_path, &task.dataset_sha256, task.sizes[0],
                         task.sizes[task.n_layers], &ds) ||
        pol_trainer_create(&t, ctx, &task, &ds))
        die("re-run setup");
    char start[PATH_MAX + 80], end[PATH_MAX + 80];
    snprintf(start, sizeof start, "%s/%s", run_dir, tr.e[tr.n - 2].file);
    snprintf(end, sizeof end, "%s/%s", run_dir, tr.e[tr.n - 1].file);
    if (pol_trainer_load(t, start, &tr.e[tr.n - 2].hash))
        die(start);
    while (pol_trainer_steps_done(t) < tr.e[tr.n - 1].step)
        if (pol_trainer_step(t, NULL))
            die("re-run step");
    const pol_tensor *state[POL_TRAINER_MAX_STATE], *committed[POL_TRAINER_MAX_STATE];
    int ns;
    pol_st_file f;
    if (pol_trainer_state(t, state, POL_TRAINER_MAX_STATE, &ns) || pol_st_load(end, NULL, &f) ||
        f.n > POL_TRAINER_MAX_STATE)
        die(end);
    for (size_t j = 0; j < f.n; j++)
        committed[j] = &f.tensors[j];
    pol_distance d;
    if (pol_state_distance(state, (size_t)ns, committed, f.n, pol_is_param_name, &d, NULL, NULL))
        die("distance");
    *len = tr.e[tr.n - 1].step - tr.e[tr.n - 2].step;
    pol_st_free(&f);
    pol_trainer_destroy(t);
    pol_dataset_free(&ds);
    pol_trace_free(&tr);
    return d.l2_rel;
}

/* The l2_rel threshold of intervals of len steps ([P-RULE-2]). */
double threshold_for(const pol_profile &p, uint64_t len)
{
    uint64_t best = UINT64_MAX;
    double thr = -1.0;
    for (size_t k = 0; k < p.n_stats; k++) {
        const pol_profile_stat &s = p.stats[k];
        if (!s.op[0] && s.group == POL_GROUP_PARAMS && s.metric == POL_METRIC_L2_REL &&
            s.interval_len >= len && s.interval_len < best)
            best = s.interval_len, thr = s.threshold;
    }
    if (thr < 0) {
        fprintf(stderr, "train_gpu: the profile has no threshold for %" PRIu64 " steps\n", len);
        exit(1);
    }
    return thr;
}

/* Steps/s of pol_trainer_step on ctx, with the task's gpu_math replaced by
 * math: median of 3 timed runs of >= 1 s (and >= min_steps steps) after
 * `warm` steps. */
double steps_per_s(pol_ctx *ctx, const std::string &task_path, int warm, int min_steps,
                   pol_gpu_math math = POL_GPU_MATH_FP32)
{
    pol_task task;
    pol_dataset ds;
    pol_trainer *t;
    if (pol_task_load(task_path.c_str(), &task))
        die("timing setup");
    task.gpu_math = math; /* the trainer sets it on the device */
    /* room for every timed step: a fast device runs more steps in 3 s than
     * the task has (the schedule's values change, not the work of a step) */
    const uint64_t need = (uint64_t)warm + 3 * (uint64_t)min_steps + ((uint64_t)1 << 26);
    if (task.steps < need)
        task.steps = need;
    if (pol_dataset_load(task.dataset_path, &task.dataset_sha256, task.sizes[0],
                         task.sizes[task.n_layers], &ds) ||
        pol_trainer_create(&t, ctx, &task, &ds))
        die("timing setup");
    for (int i = 0; i < warm; i++)
        if (pol_trainer_step(t, NULL))
            die("warm-up step");
    std::vector<double> v;
    for (int rep = 0; rep < 3; rep++) {
        int n = 0;
        const double t0 = now();
        double el = 0.0;
        while (n < min_steps || el < 1.0) {
            if (pol_trainer_step(t, NULL)) /* waits for the device: the loss comes back */
                die("timed step");
            n++;
            el = now() - t0;
        }
        v.push_back(n / el);
    }
    pol_trainer_destroy(t);
    pol_dataset_free(&ds);
    std::sort(v.begin(), v.end());
    return v[1];
}

struct bench_task {
    const char *name;
    std::string exact, tolerant;
    int warm, min_steps;
};

/* --profile: one step of task_path on ctx (with gpu_math set to math); its
 * state hash in *h */
void one_step(pol_ctx *ctx, const std::string &task_path, pol_gpu_math math, pol_digest *h)
{
    pol_task task;
    pol_dataset ds;
    pol_trainer *t;
    if (pol_task_load(task_path.c_str(), &task))
        die("profile setup");
    task.gpu_math = math;
    if (pol_dataset_load(task.dataset_path, &task.dataset_sha256, task.sizes[0],
                         task.sizes[task.n_layers], &ds) ||
        pol_trainer_create(&t, ctx, &task, &ds))
        die("profile setup");
    if (pol_trainer_step(t, NULL) || pol_trainer_state_hash(t, h))
        die("profiled step");
    pol_trainer_destroy(t);
    pol_dataset_free(&ds);
}

} // namespace

int main(int argc, char **argv)
{
    const char *out = "bench/results";
    int quick = 0, smoke = 0, prof_task = -1;
    pol_gpu_math prof_math = POL_GPU_MATH_FP32;
    bool prof_exact = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--smoke"))
            smoke = 1;
        else if (!strcmp(argv[i], "--profile") && i + 1 < argc) {
            const std::string a = argv[++i];
            const size_t c = a.find(':');
            const std::string tn = a.substr(0, c), mode = c == std::string::npos ? "" : a.substr(c + 1);
            prof_task = tn == "digits" ? 0 : tn == "mlp" ? 1 : tn == "wide" ? 2 : -2;
            prof_exact = mode == "exact";
            if (mode == "tf32")
                prof_math = POL_GPU_MATH_TF32;
            else if (mode == "bf16")
                prof_math = POL_GPU_MATH_BF16;
            else if (mode != "fp32" && !prof_exact)
                prof_task = -2;
            if (prof_task == -2) {
                fprintf(stderr, "train_gpu: --profile %s: TASK:MODE expected, TASK digits, mlp "
                                "or wide, MODE exact, fp32, tf32 or bf16\n", a.c_str());
                return 2;
            }
        } else {
            fprintf(stderr, "usage: train_gpu [--out DIR] [--quick | --smoke]\n"
                            "       train_gpu --profile TASK:MODE   (TASK digits, mlp or wide; "
                            "MODE exact, fp32, tf32 or bf16)\n");
            return 2;
        }
    }
    if (pol_cuda_available()) {
        printf("train_gpu: no CUDA device: %s; skipping\n", pol_last_error());
        return 77;
    }
    char dev_name[128];
    int major = 0, minor = 0;
    if (pol_cuda_device_info(dev_name, sizeof dev_name, &major, &minor))
        die("device");
    const long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const int threads = ncpu < 1 ? 1 : ncpu > 256 ? 256 : (int)ncpu;
    snprintf(tmp_root, sizeof tmp_root, "/tmp/pol-train-gpu-XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("train_gpu: mkdtemp");
        return 1;
    }
    atexit(cleanup);

    bench_task tasks[3];
    tasks[0].name = "digits", tasks[0].warm = 20, tasks[0].min_steps = 200;
    write_modes(tmp_root, "digits", digits_template(), &tasks[0].exact, &tasks[0].tolerant);
    tasks[1].name = "mlp 784-1024-1024-10 b256", tasks[1].warm = 3, tasks[1].min_steps = 10;
    tasks[2].name = "mlp 784-4096-4096-10 b1024", tasks[2].warm = 2, tasks[2].min_steps = 5;
    mlp_tasks(tmp_root, quick ? 40 : 200, quick ? 20 : 50, 1024, 256, &tasks[1].exact,
              &tasks[1].tolerant);
    wide_tasks(tmp_root, quick ? 10 : 20, quick ? 5 : 10, &tasks[2].exact, &tasks[2].tolerant);
    for (int ti = 1; ti < 3; ti++) { /* the written tasks are valid (smoke trains none) */
        pol_task chk;
        if (pol_task_load(tasks[ti].exact.c_str(), &chk) ||
            pol_task_load(tasks[ti].tolerant.c_str(), &chk))
            die(tasks[ti].name);
    }

    if (prof_task >= 0) { /* --profile: one step on the GPU, nothing else there */
        const bench_task &b = tasks[prof_task];
        pol_digest hg, hc;
        if (prof_exact) {
            pol_ctx *gpu = make_ctx(POL_DEVICE_CUDA, POL_KERNELS_FAST, 1);
            pol_ctx *cpu = make_ctx(POL_DEVICE_CPU, POL_KERNELS_FAST, threads);
            one_step(gpu, b.exact, POL_GPU_MATH_FP32, &hg);
            one_step(cpu, b.exact, POL_GPU_MATH_FP32, &hc);
            pol_ctx_destroy(gpu);
            pol_ctx_destroy(cpu);
            if (!pol_digest_equal(&hg, &hc)) {
                fprintf(stderr, "train_gpu: --profile: %s: FAILED: the exact GPU step's state "
                                "hash differs from the CPU's\n", b.name);
                return 1;
            }
            printf("train_gpu: --profile: %s: one exact step, the same state hash as on the "
                   "CPU\n", b.name);
        } else {
            pol_ctx *blas = make_ctx(POL_DEVICE_CUDA, POL_KERNELS_BLAS, 1);
            one_step(blas, b.tolerant, prof_math, &hg);
            pol_ctx_destroy(blas);
            printf("train_gpu: --profile: %s: one tolerant step, cuBLAS %s (not checked: "
                   "the benchmark checks its distance)\n", b.name,
                   prof_math == POL_GPU_MATH_TF32 ? "TF32" : prof_math == POL_GPU_MATH_BF16 ? "BF16"
                                                                                         : "FP32");
        }
        return 0;
    }
    const int n_tasks = smoke ? 1 : 3;
    emit("# Training steps/s: exact GPU vs tolerant cuBLAS vs CPU\n\n");
    if (smoke)
        emit("SMOKE RUN (--smoke): digits only, to exercise the program; the timings are not "
             "results.\n\n");
    emit("GPU: %s (sm_%d%d). CPU: %d threads (fast exact kernels; OpenBLAS for tolerant).\n"
         "Steps/s of pol_trainer_step without checkpoints, median of 3 runs of >= 1 s.\n"
         "Checks: exact GPU final state hash == CPU's; tolerant: the last interval of the CPU\n"
         "OpenBLAS run re-run on the GPU (cuBLAS FP32) within the l2_rel threshold of the CPU\n"
         "run's profile (spec/profiling.md); TF32's and BF16's distances (the task's gpu_math\n"
         "set to tf32 or bf16) shown as multiples of it.\n\n",
         dev_name, major, minor, threads);
    emit("| task | CPU exact | CPU OpenBLAS | GPU exact | GPU cuBLAS FP32 | GPU cuBLAS TF32 | "
         "GPU cuBLAS BF16 | GPU exact / CPU | FP32 / GPU exact | TF32 / GPU exact | "
         "BF16 / GPU exact | FP32 dist / thr | TF32 dist / thr | BF16 dist / thr |\n");
    emit("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int ti = 0; ti < n_tasks; ti++) {
        bench_task &b = tasks[ti];
        char d_cpu[PATH_MAX + 64], d_gpu[PATH_MAX + 64], d_tol[PATH_MAX + 64];
        snprintf(d_cpu, sizeof d_cpu, "%s/%d-cpu", tmp_root, ti);
        snprintf(d_gpu, sizeof d_gpu, "%s/%d-gpu", tmp_root, ti);
        snprintf(d_tol, sizeof d_tol, "%s/%d-tol", tmp_root, ti);
        fprintf(stderr, "train_gpu: %s: checking...\n", b.name);
        pol_ctx *cpu = make_ctx(POL_DEVICE_CPU, POL_KERNELS_FAST, threads);
        pol_ctx *cpu_blas = make_ctx(POL_DEVICE_CPU, POL_KERNELS_BLAS, threads);
        pol_ctx *gpu = make_ctx(POL_DEVICE_CUDA, POL_KERNELS_FAST, 1);
        pol_ctx *blas = make_ctx(POL_DEVICE_CUDA, POL_KERNELS_BLAS, 1); /* cuBLAS, every math */
        /* 1. exact: the same final state hash */
        pol_run_result rc = train(cpu, b.exact, d_cpu), rg = train(gpu, b.exact, d_gpu);
        if (!pol_digest_equal(&rc.final_state_hash, &rg.final_state_hash)) {
            fprintf(stderr, "train_gpu: %s: exact GPU and CPU final state hashes differ\n", b.name);
            return 1;
        }
        /* 2. tolerant: CPU OpenBLAS run, its profile, the GPU re-run of the last interval */
        (void)train(cpu_blas, b.tolerant, d_tol);
        pol_profile prof;
        pol_profile_opts po;
        memset(&po, 0, sizeof po);
        po.task_path = b.tolerant.c_str(), po.run_dir = d_tol, po.samples = 2;
        po.gpu = POL_PROFILE_GPU_OFF; /* CPU sources alone: the GPU re-runs are the unseen ones */
        if (pol_profile_run(&po, &prof))
            die("profile");
        uint64_t len;
        const double dist32 = last_interval_distance(blas, b.tolerant, d_tol, POL_GPU_MATH_FP32, &len);
        const double thr = threshold_for(prof, len);
        const double dist_tf = last_interval_distance(blas, b.tolerant, d_tol, POL_GPU_MATH_TF32, &len);
        const double dist_bf = last_interval_distance(blas, b.tolerant, d_tol, POL_GPU_MATH_BF16, &len);
        pol_profile_free(&prof);
        if (!(dist32 <= thr)) {
            fprintf(stderr, "train_gpu: %s: cuBLAS FP32 re-run at l2_rel %.3g, above the "
                    "threshold %.3g\n", b.name, dist32, thr);
            return 1;
        }
        /* 3. timing */
        fprintf(stderr, "train_gpu: %s: timing...\n", b.name);
        const double s_cpu = steps_per_s(cpu, b.exact, b.warm, b.min_steps);
        const double s_blas = steps_per_s(cpu_blas, b.tolerant, b.warm, b.min_steps);
        const double s_gpu = steps_per_s(gpu, b.exact, b.warm, b.min_steps);
        const double s_32 = steps_per_s(blas, b.tolerant, b.warm, b.min_steps, POL_GPU_MATH_FP32);
        const double s_tf = steps_per_s(blas, b.tolerant, b.warm, b.min_steps, POL_GPU_MATH_TF32);
        const double s_bf = steps_per_s(blas, b.tolerant, b.warm, b.min_steps, POL_GPU_MATH_BF16);
        emit("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.3g | "
             "%.3g | %.3g |\n",
             b.name, s_cpu, s_blas, s_gpu, s_32, s_tf, s_bf, s_gpu / s_cpu, s_32 / s_gpu,
             s_tf / s_gpu, s_bf / s_gpu, dist32 / thr, dist_tf / thr, dist_bf / thr);
        pol_ctx_destroy(cpu);
        pol_ctx_destroy(cpu_blas);
        pol_ctx_destroy(gpu);
        pol_ctx_destroy(blas);
    }
    std::string all;
    for (auto &l : table)
        all += l;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/train_gpu.md", out);
    write_text(path, all);
    printf("wrote %s\n", path);
    return 0;
}
