/* pol-solver — trains a libpol task and inspects checkpoints.
 *
 *   pol-solver train --task FILE --out DIR [--resume | --from CKPT]
 *                    [--threads N] [--kernels fast|ref|blas] [--device cpu|cuda] [--tf32]
 *                    [--json]
 *   pol-solver inspect CKPT [--json]
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pol/cert.h"
#include "pol/context.h"
#include "pol/cuda.h"
#include "pol/hash.h"
#include "pol/keys.h"
#include "pol/kernels.h"
#include "pol/safetensors.h"
#include "pol/train.h"
#include "pol/verify.h"
#include "pol/version.h"

static const char USAGE[] =
    "usage: pol-solver train --task FILE --out DIR [options]\n"
    "       pol-solver inspect CKPT [--json]\n"
    "       pol-solver --version\n"
    "\n"
    "train: runs the task's training steps (exact or tolerant mode), writing a checkpoint\n"
    "(safetensors) at step 0, every checkpoint_every steps and at the end, and\n"
    "DIR/trace.json listing each checkpoint's state hash.\n"
    "  --task FILE      the task (JSON, spec/task.md)\n"
    "  --out DIR        run directory; created if missing; never overwritten\n"
    "  --resume         continue from the last checkpoint of DIR's trace\n"
    "  --from CKPT      start from this checkpoint (DIR must hold no run yet)\n"
    "  --threads N      CPU threads (default 1); exact mode: results are identical for any N\n"
    "  --kernels K      fast (default), ref (the slow reference kernels), or blas\n"
    "                   (OpenBLAS GEMMs: tolerant-mode tasks only, not bit-reproducible)\n"
    "  --device D       cpu (default) or cuda; the same hashes on either (with --kernels\n"
    "                   blas on cuda: cuBLAS GEMMs, FP32 math)\n"
    "  --tf32           with --kernels blas --device cuda: cuBLAS TF32 tensor-op math\n"
    "                   (much larger distances: verifiers need a TF32 profile)\n"
    "  --json           print one JSON object with the result at the end\n"
    "  --key FILE       sign a certificate of the finished run with this secret key\n"
    "                   (pol-keygen) and write it to DIR/certificate.pol\n"
    "  --parent ID      the run continues a checkpoint proven by certificate ID\n"
    "  --store DIR      also put every checkpoint into this content-addressed store\n"
    "A progress bar (step, loss, steps/s) is shown when stderr is a terminal.\n"
    "\n"
    "inspect: verifies a checkpoint (its tensors hash to the state hash in its\n"
    "metadata) and prints the state hash, step and tensors.\n"
    "\n"
    "Exit status: 0 on success, 1 on an error (message on stderr), 2 on bad usage.\n";

static int fail(pol_status st)
{
    fprintf(stderr, "pol-solver: error: %s (%s, code %d)\n", pol_last_error(), pol_strerror(st),
            (int)st);
    return 1;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "pol-solver: %s\n%s", msg, USAGE);
    return 2;
}

/* ------------------------------------------------------------ progress -- */

typedef struct {
    double t0, last;
    uint64_t first_step;
    int active;
} progress;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void on_step(void *arg, uint64_t step, uint64_t total, float loss)
{
    progress *p = arg;
    double t = now();
    if (!p->first_step)
        p->first_step = step, p->t0 = t;
    if (t - p->last < 0.1 && step != total)
        return;
    p->last = t;
    const int W = 30;
    int fill = (int)((double)W * (double)step / (double)total);
    double rate = t > p->t0 ? (double)(step - p->first_step) / (t - p->t0) : 0.0;
    fprintf(stderr, "\r[%.*s%*s] step %" PRIu64 "/%" PRIu64 "  loss %.4f  %.0f steps/s ", fill,
            "==============================", W - fill, "", step, total, (double)loss, rate);
    if (step == total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* --------------------------------------------------------------- train -- */

static int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        { "task", required_argument, 0, 't' }, { "out", required_argument, 0, 'o' },
        { "resume", no_argument, 0, 'r' },     { "from", required_argument, 0, 'f' },
        { "threads", required_argument, 0, 'j' }, { "kernels", required_argument, 0, 'k' },
        { "json", no_argument, 0, 'J' },       { "help", no_argument, 0, 'h' },
        { "device", required_argument, 0, 'd' },
        { "key", required_argument, 0, 'K' },  { "store", required_argument, 0, 'S' },
        { "parent", required_argument, 0, 'P' }, { "tf32", no_argument, 0, 'F' },
        { 0, 0, 0, 0 },
    };
    pol_run_opts ro = { 0 };
    pol_ctx_opts co = { .threads = 1, .kernels = POL_KERNELS_FAST, .device = POL_DEVICE_CPU };
    int json = 0, tf32 = 0, c;
    const char *key_path = NULL, *store = NULL, *parent_hex = NULL;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': ro.task_path = optarg; break;
        case 'o': ro.out_dir = optarg; break;
        case 'r': ro.resume = 1; break;
        case 'f': ro.from = optarg; break;
        case 'j': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 256)
                return usage_error("--threads wants an integer in 1..256");
            co.threads = (int)n;
            break;
        }
        case 'k':
            if (!strcmp(optarg, "fast")) co.kernels = POL_KERNELS_FAST;
            else if (!strcmp(optarg, "ref")) co.kernels = POL_KERNELS_REF;
            else if (!strcmp(optarg, "blas")) co.kernels = POL_KERNELS_BLAS;
            else return usage_error("--kernels wants fast, ref or blas");
            break;
        case 'd':
            if (!strcmp(optarg, "cpu")) co.device = POL_DEVICE_CPU;
            else if (!strcmp(optarg, "cuda")) co.device = POL_DEVICE_CUDA;
            else return usage_error("--device wants cpu or cuda");
            break;
        case 'J': json = 1; break;
        case 'F': tf32 = 1; break;
        case 'K': key_path = optarg; break;
        case 'S': store = optarg; break;
        case 'P': parent_hex = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: return usage_error("unknown option");
        }
    }
    if (optind != argc)
        return usage_error("unexpected argument");
    if (!ro.task_path || !ro.out_dir)
        return usage_error("train needs --task and --out");
    pol_digest parent;
    if (parent_hex && pol_digest_from_hex(parent_hex, &parent))
        return usage_error("--parent wants the parent certificate's id (64 hex digits)");
    if (parent_hex && !key_path)
        return usage_error("--parent needs --key");
    pol_keypair kp;
    if (key_path) { /* load the key first: fail before training, not after */
        pol_status kst = pol_seckey_load(key_path, &kp);
        if (kst)
            return fail(kst);
    }
    if (ro.resume && ro.from)
        return usage_error("--resume and --from exclude each other");
    if (tf32 && (co.kernels != POL_KERNELS_BLAS || co.device != POL_DEVICE_CUDA))
        return usage_error("--tf32 needs --kernels blas --device cuda");

    pol_ctx *ctx;
    pol_status st = pol_ctx_create(&ctx, &co);
    if (!st && tf32 && (st = pol_cuda_set_tf32(pol_ctx_cuda(ctx), 1)))
        pol_ctx_destroy(ctx);
    if (st)
        return fail(st);
    progress pg = { 0 };
    if (isatty(STDERR_FILENO)) {
        ro.progress = on_step;
        ro.progress_arg = &pg;
    }
    pol_run_result r;
    st = pol_run_train(ctx, &ro, &r);
    pol_ctx_destroy(ctx);
    char cert_path[4200] = "", cert_hex[65] = "";
    if (!st && key_path) { /* certify the finished run */
        char device[96];
        pol_digest cid;
        snprintf(device, sizeof device, "%s %s, %d thread%s", co.device == POL_DEVICE_CUDA ? "cuda" : "cpu",
                 co.kernels != POL_KERNELS_BLAS   ? pol_fast_gemm_isa()
                 : co.device != POL_DEVICE_CUDA ? "openblas"
                 : tf32                         ? "cublas-tf32"
                                                : "cublas-fp32",
                 co.threads,
                 co.threads > 1 ? "s" : "");
        snprintf(cert_path, sizeof cert_path, "%s/certificate.pol", ro.out_dir);
        st = pol_cert_issue(ro.out_dir, ro.task_path, &kp, device, parent_hex ? &parent : NULL,
                            cert_path, &cid);
        if (!st)
            pol_digest_to_hex(&cid, cert_hex);
    }
    if (key_path)
        pol_keypair_clear(&kp);
    if (!st && store)
        st = pol_store_put_run(ro.out_dir, store);
    if (st)
        return fail(st);
    char hex[65];
    pol_digest_to_hex(&r.final_state_hash, hex);
    double ck_share = r.seconds > 0 ? r.checkpoint_seconds / r.seconds : 0.0;
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "final_state_hash", json_string(hex));
        json_object_set_new(o, "steps", json_integer((json_int_t)r.steps));
        json_object_set_new(o, "steps_run", json_integer((json_int_t)r.steps_run));
        json_object_set_new(o, "checkpoints", json_integer((json_int_t)r.checkpoints));
        json_object_set_new(o, "final_loss", r.steps_run ? json_real(r.final_loss) : json_null());
        json_object_set_new(o, "test_accuracy",
                            r.test_accuracy >= 0 ? json_real(r.test_accuracy) : json_null());
        json_object_set_new(o, "threads", json_integer(co.threads));
        json_object_set_new(o, "kernels", json_string(co.kernels == POL_KERNELS_REF    ? "ref"
                                                           : co.kernels == POL_KERNELS_BLAS ? "blas"
                                                                                            : "fast"));
        json_object_set_new(o, "gemm_isa", json_string(pol_fast_gemm_isa()));
        json_object_set_new(o, "device", json_string(co.device == POL_DEVICE_CUDA ? "cuda" : "cpu"));
        json_object_set_new(o, "tf32", json_boolean(tf32));
        json_object_set_new(o, "seconds", json_real(r.seconds));
        json_object_set_new(o, "checkpoint_share", json_real(ck_share));
        if (cert_hex[0]) {
            json_object_set_new(o, "certificate", json_string(cert_path));
            json_object_set_new(o, "certificate_id", json_string(cert_hex));
        }
        json_dumpf(o, stdout, JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("trained %" PRIu64 " steps (%" PRIu64 " this run) in %.2f s, %" PRIu64
               " checkpoints (%.1f%% of the time)\n",
               r.steps, r.steps_run, r.seconds, r.checkpoints, 100.0 * ck_share);
        if (r.steps_run)
            printf("final loss     %.6f\n", (double)r.final_loss);
        if (r.test_accuracy >= 0)
            printf("test accuracy  %.2f%%\n", 100.0 * r.test_accuracy);
        printf("final state    %s\n", hex);
        if (cert_hex[0])
            printf("certificate    %s (id %s)\n", cert_path, cert_hex);
    }
    return 0;
}

/* ------------------------------------------------------------- inspect -- */

static int cmd_inspect(int argc, char **argv)
{
    int json = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { fputs(USAGE, stdout); return 0; }
        else if (argv[i][0] == '-') return usage_error("unknown option");
        else if (path) return usage_error("inspect takes one checkpoint");
        else path = argv[i];
    }
    if (!path)
        return usage_error("inspect needs a checkpoint file");
    pol_st_file f;
    pol_st_limits lim = (pol_st_limits){ 0 };
    pol_status st = pol_st_load(path, &lim, &f);
    if (st)
        return fail(st);
    pol_digest h, claimed;
    st = pol_st_state_hash(&f, &h);
    const char *meta_hash = pol_st_meta(&f, "state_hash"), *step = pol_st_meta(&f, "step");
    const char *format = pol_st_meta(&f, "format"), *spec = pol_st_meta(&f, "spec_version");
    const pol_tensor *counter = pol_st_get(&f, "counters.step");
    char spec_want[16], counter_txt[32] = "";
    snprintf(spec_want, sizeof spec_want, "%d", POL_SPEC_VERSION);
    if (counter && counter->dtype == POL_U64 && counter->nbytes == 8)
        snprintf(counter_txt, sizeof counter_txt, "%" PRIu64, *(const uint64_t *)counter->data);
    if (!st && (!format || strcmp(format, "libpol-checkpoint-v1")))
        st = pol_errorf(POL_ERR_FORMAT, "%s: not a libpol checkpoint (metadata format)", path);
    if (!st && (!spec || strcmp(spec, spec_want)))
        st = pol_errorf(POL_ERR_UNSUPPORTED, "%s: spec version %s, this program implements %s",
                        path, spec ? spec : "(missing)", spec_want);
    if (!st && (!step || strcmp(step, counter_txt)))
        st = pol_errorf(POL_ERR_FORMAT, "%s: metadata step disagrees with counters.step", path);
    if (!st && (!meta_hash || pol_digest_from_hex(meta_hash, &claimed)))
        st = pol_errorf(POL_ERR_FORMAT, "%s: no state_hash in the metadata; not a libpol checkpoint",
                        path);
    if (!st && memcmp(h.b, claimed.b, 32))
        st = pol_errorf(POL_ERR_HASH_MISMATCH, "%s: tensors hash to a state other than the one "
                        "recorded (%s); the file is corrupted", path, meta_hash);
    if (st) {
        pol_st_free(&f);
        return fail(st);
    }
    char hex[65];
    pol_digest_to_hex(&h, hex);
    const char *task = pol_st_meta(&f, "task_id");
    if (json) {
        json_t *o = json_object(), *arr = json_array();
        json_object_set_new(o, "file", json_string(path));
        json_object_set_new(o, "state_hash", json_string(hex));
        json_object_set_new(o, "step", json_integer(step ? strtoll(step, NULL, 10) : -1));
        json_object_set_new(o, "task_id", task ? json_string(task) : json_null());
        for (size_t i = 0; i < f.n; i++) {
            json_t *t = json_object(), *shape = json_array();
            for (int d = 0; d < f.tensors[i].ndim; d++)
                json_array_append_new(shape, json_integer(f.tensors[i].shape[d]));
            json_object_set_new(t, "name", json_string(f.tensors[i].name));
            json_object_set_new(t, "dtype", json_string(pol_dtype_name(f.tensors[i].dtype)));
            json_object_set_new(t, "shape", shape);
            json_array_append_new(arr, t);
        }
        json_object_set_new(o, "tensors", arr);
        json_dumpf(o, stdout, JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("checkpoint  %s (verified)\nstate hash  %s\nstep        %s\ntask        %s\n", path,
               hex, step ? step : "?", task ? task : "?");
        for (size_t i = 0; i < f.n; i++) {
            const pol_tensor *t = &f.tensors[i];
            printf("  %-20s %-4s [", t->name, pol_dtype_name(t->dtype));
            for (int d = 0; d < t->ndim; d++)
                printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
            printf("]\n");
        }
    }
    pol_st_free(&f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing command");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("pol-solver (libpol %s, spec %d)\n", pol_version_string(), POL_SPEC_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "train"))
        return cmd_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "inspect"))
        return cmd_inspect(argc - 1, argv + 1);
    return usage_error("unknown command");
}
