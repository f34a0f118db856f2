/* pol-solver — trains a libpol task and inspects checkpoints.
 *
 *   pol-solver train --task FILE --out DIR [--resume | --from CKPT]
 *                    [--threads N] [--kernels fast|ref|blas] [--device cpu|cuda]
 *                    [--sync-checkpoints] [--json]
 *   pol-solver inspect CKPT [--json]
 *   pol-solver serve --referee ADDR --key FILE --listen ADDR --work DIR [options]
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cli_num.h"
#include "pol/cert.h"
#include "pol/context.h"
#include "pol/cuda.h"
#include "pol/fileio.h"
#include "pol/game.h"
#include "pol/hash.h"
#include "pol/keys.h"
#include "pol/kernels.h"
#include "pol/pinpoint.h"
#include "pol/roles.h"
#include "role_cli.h"
#include "pol/safetensors.h"
#include "pol/train.h"
#include "pol/verify.h"
#include "pol/version.h"
#include "pol/wire.h"

static const char USAGE[] =
    "usage: pol-solver train --task FILE --out DIR [options]\n"
    "       pol-solver inspect CKPT [--json]\n"
    "       pol-solver serve --referee ADDR --key FILE --listen ADDR --work DIR [options]\n"
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
    "                   blas on cuda: cuBLAS GEMMs with the math of the task's\n"
    "                   \"gpu_math\": fp32 by default, tf32 or bf16; spec/task.md)\n"
    "  --sync-checkpoints  write each checkpoint on the training thread, which waits\n"
    "                   for it; by default a background thread writes it from a copy\n"
    "                   of the state (one more copy in memory) while training goes\n"
    "                   on. The files are the same either way.\n"
    "  --json           print one JSON object with the result at the end\n"
    "  --key FILE       sign a certificate of the finished run with this secret key\n"
    "                   (pol-keygen) and write it to DIR/certificate.pol\n"
    "  --parent CERT    with --key: the run continues (--from, or --resume of such a\n"
    "                   run) a checkpoint proven by the certificate file CERT; the\n"
    "                   start checkpoint must be one of CERT's (checked before training),\n"
    "                   and the certificate names CERT's id as its parent\n"
    "  --store DIR      also put every checkpoint into this content-addressed store\n"
    "A progress bar (step, loss, steps/s) is shown when stderr is a terminal.\n"
    "\n"
    "inspect: verifies a checkpoint (its tensors hash to the state hash in its\n"
    "metadata) and prints the state hash, step and tensors.\n"
    "\n"
    "serve: the solver in a game kept by a referee (pol-solver serve --help).\n"
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

/* A checkpoint's step, its counters.step. Returns 0, or -1 (none). */
static int ckpt_step(const pol_st_file *f, uint64_t *step)
{
    const pol_tensor *t = pol_st_get(f, "counters.step");
    if (!t || t->dtype != POL_U64 || t->nbytes != 8)
        return -1;
    *step = *(const uint64_t *)t->data;
    return 0;
}

/* The state a run starts from: the --from checkpoint, or the first entry of
 * the run directory's trace (--resume). */
static pol_status run_start(const pol_run_opts *ro, pol_digest *h, uint64_t *step)
{
    if (ro->from) {
        pol_st_file f;
        pol_status st = pol_st_load(ro->from, NULL, &f);
        if (st)
            return st;
        if (ckpt_step(&f, step))
            st = pol_errorf(POL_ERR_FORMAT, "%s: no counters.step; not a libpol checkpoint",
                            ro->from);
        else
            st = pol_st_state_hash(&f, h);
        pol_st_free(&f);
        return st;
    }
    pol_trace tr;
    pol_status st = pol_trace_load(ro->out_dir, &tr);
    if (st)
        return st;
    if (!tr.n)
        st = pol_errorf(POL_ERR_FORMAT, "%s: the trace lists no checkpoint", ro->out_dir);
    else
        *h = tr.e[0].hash, *step = tr.e[0].step;
    pol_trace_free(&tr);
    return st;
}

/* --parent CERT: the certificate (signature checked) holds the run's start
 * state at its step (spec/certificate.md [V-VER-2]). Out: *id, CERT's id. */
static pol_status check_parent(const char *path, const pol_run_opts *ro, pol_digest *id)
{
    pol_cert p;
    pol_digest h;
    uint64_t step = 0;
    pol_status st = run_start(ro, &h, &step);
    if (st || (st = pol_cert_load(path, &p, id)))
        return st;
    st = pol_cert_find_checkpoint(&p, step, &h) < 0 ? POL_ERR_MISMATCH : POL_OK;
    pol_cert_free(&p);
    if (st) {
        char hex[65];
        pol_digest_to_hex(&h, hex);
        return pol_errorf(st, "the run starts from state %s at step %" PRIu64 ", which is not a "
                          "checkpoint of the parent certificate %s", hex, step, path);
    }
    return POL_OK;
}

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
        { "sync-checkpoints", no_argument, 0, 'Y' },
        { 0, 0, 0, 0 },
    };
    pol_run_opts ro = { 0 };
    pol_ctx_opts co = { .threads = 1, .kernels = POL_KERNELS_FAST, .device = POL_DEVICE_CPU };
    int json = 0, c;
    const char *key_path = NULL, *store = NULL, *parent_path = NULL;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': ro.task_path = optarg; break;
        case 'o': ro.out_dir = optarg; break;
        case 'r': ro.resume = 1; break;
        case 'f': ro.from = optarg; break;
        case 'j': {
            long n;
            if (cli_long(optarg, 1, 256, &n))
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
        case 'F':
            return usage_error("--tf32 is no longer an option: a tolerant task chooses its cuBLAS math "
                               "with its \"gpu_math\" key (spec/task.md [T-KEY-4])");
        case 'Y': ro.sync_checkpoints = 1; break;
        case 'K': key_path = optarg; break;
        case 'S': store = optarg; break;
        case 'P': parent_path = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: return usage_error("unknown option");
        }
    }
    if (optind != argc)
        return usage_error("unexpected argument");
    if (!ro.task_path || !ro.out_dir)
        return usage_error("train needs --task and --out");
    if (ro.resume && ro.from)
        return usage_error("--resume and --from exclude each other");
    if (parent_path && !key_path)
        return usage_error("--parent needs --key");
    if (parent_path && !ro.resume && !ro.from)
        return usage_error("--parent needs --from (or --resume): a continued run starts from a "
                           "checkpoint of the parent");
    if (key_path && !parent_path && (ro.resume || ro.from)) {
        pol_digest h;
        uint64_t step;
        if (!run_start(&ro, &h, &step) && step != 0) { /* unreadable: training says so */
            char msg[200];
            snprintf(msg, sizeof msg, "--key: the run starts at step %" PRIu64 ", not 0: its "
                     "certificate needs --parent CERT, the certificate holding that start "
                     "checkpoint", step);
            return usage_error(msg);
        }
    }
    pol_digest parent;
    if (parent_path) { /* fail before training, not after */
        pol_status pst = check_parent(parent_path, &ro, &parent);
        if (pst)
            return fail(pst);
    }
    pol_keypair kp;
    if (key_path) { /* load the key first: fail before training, not after */
        pol_status kst = pol_seckey_load(key_path, &kp);
        if (kst)
            return fail(kst);
    }

    pol_ctx *ctx;
    pol_status st = pol_ctx_create(&ctx, &co);
    if (st)
        return fail(st);
    progress pg = { 0 };
    if (isatty(STDERR_FILENO)) {
        ro.progress = on_step;
        ro.progress_arg = &pg;
    }
    pol_run_result r;
    st = pol_run_train(ctx, &ro, &r);
    /* the math the task's trainer set on the device: what cuBLAS computed with */
    const int cublas = co.kernels == POL_KERNELS_BLAS && co.device == POL_DEVICE_CUDA;
    const char *math = pol_gpu_math_name(pol_cuda_math(pol_ctx_cuda(ctx)));
    pol_ctx_destroy(ctx);
    char cert_path[4200] = "", cert_hex[65] = "";
    if (!st && key_path) { /* certify the finished run */
        char device[96], gemms[32];
        pol_digest cid;
        snprintf(gemms, sizeof gemms, "%s%s",
                 cublas ? "cublas-" : co.kernels == POL_KERNELS_BLAS ? "openblas" : pol_fast_gemm_isa(),
                 cublas ? math : "");
        snprintf(device, sizeof device, "%s %s, %d thread%s", co.device == POL_DEVICE_CUDA ? "cuda" : "cpu",
                 gemms, co.threads, co.threads > 1 ? "s" : "");
        snprintf(cert_path, sizeof cert_path, "%s/certificate.pol", ro.out_dir);
        st = pol_cert_issue(ro.out_dir, ro.task_path, &kp, device, parent_path ? &parent : NULL,
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
        json_object_set_new(o, "gpu_math", cublas ? json_string(math) : json_null());
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
    char spec_want[16], counter_txt[32] = "";
    uint64_t counter;
    snprintf(spec_want, sizeof spec_want, "%d", POL_SPEC_VERSION);
    if (!ckpt_step(&f, &counter))
        snprintf(counter_txt, sizeof counter_txt, "%" PRIu64, counter);
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

/* --------------------------------------------------------------- serve -- */


static const char SERVE_USAGE[] =
    "usage: pol-solver serve --referee ADDR --key FILE --listen ADDR --work DIR [options]\n"
    "\n"
    "serve: plays the solver in a game kept by a referee. Claims an open task\n"
    "(committing to a random secret kept in DIR), trains it, submits a signed\n"
    "certificate, serves its checkpoints (by state hash) and answers the referee's\n"
    "pinpoint queries on --listen, and reveals its secret when the round closes.\n"
    "Once the referee's beacon for the claim is in, the secret and the beacon\n"
    "draw the forced error (spec/game.md); when it does, it first submits a\n"
    "deliberately wrong certificate, as the game requires, then the honest one.\n"
    "  --referee ADDR     the referee, HOST:PORT\n"
    "  --key FILE         the solver's secret key (pol-keygen)\n"
    "  --listen ADDR      where to serve, HOST:PORT (port 0: any; printed)\n"
    "  --work DIR         work directory (secrets, checkpoints, blobs)\n"
    "  --data-dir DIR     where the tasks' datasets are (default .)\n"
    "  --tasks N          stop after N tasks ended (default 1; 0: never)\n"
    "  --kernels K        fast (default: the exact kernels) or blas (OpenBLAS GEMMs,\n"
    "                     one thread, for tolerant-mode tasks; an exact-mode task is\n"
    "                     still trained with the exact kernels). A tolerant task's\n"
    "                     dispute is a transition dispute: each node is judged from\n"
    "                     the solver's own inputs, within the profile's per-op tolerance\n"
    "  --timeout S        give up after S seconds, 1..2592000 (default 600)\n"
    "  --cheat C          FOR TESTS AND DEMOS ONLY: train dishonestly, to show the\n"
    "                     game catching it: tamper-node:STEP:NODE, skip-step:STEP\n"
    "                     or wrong-data:STEP\n"
    "  --serve-honest     FOR TESTS ONLY, with --cheat: certify the dishonest run but\n"
    "                     answer a dispute with an honest replay of the task, to show\n"
    "                     the referee holding a solver to the run it certified\n"
    "  --withhold         FOR TESTS ONLY: serve checkpoints to the referee alone, to\n"
    "                     show verifiers replaying an exact-mode run without them\n"
    "  -v, --verbose      print the game's log lines as the mirror applies them\n";

static int serve_usage_error(const char *msg)
{
    fprintf(stderr, "pol-solver: %s\n%s", msg, SERVE_USAGE);
    return 2;
}

typedef struct solver {
    pol_mirror *m;
    pol_role_server *srv;
    pol_keypair kp;
    uint8_t me[POL_PUBKEY_LEN];
    const char *work, *data_dir;
    pol_cheat cheat;
    int serve_honest; /* --serve-honest: disputes answered from honest_rp */
    int blas; /* --kernels blas: tolerant-mode tasks train with OpenBLAS */
    int active;
    pol_digest id;
    char hex[65];
    pol_role_task rt;
    pol_ctx *ctx;
    pol_replayer *main_rp, *forced_rp, *honest_rp;
    char main_dir[4300], forced_dir[4300], honest_dir[4300];
    pol_party party;
    pol_party_tol party_tol; /* the same replayer in a transition dispute */
    uint8_t secret[32];
    int started;      /* the claim's beacon came, the draw is known, training began */
    pol_digest *skipped; /* open tasks this solver cannot serve (open_task) */
    size_t n_skipped;
    uint64_t submitted_round;
    unsigned runs;
} solver;

static int parse_cheat(const char *s, pol_cheat *c)
{
    unsigned long long step;
    int node, n = 0;
    memset(c, 0, sizeof *c);
    if (sscanf(s, "tamper-node:%llu:%d%n", &step, &node, &n) == 2 && !s[n] && node >= 0)
        c->kind = POL_CHEAT_TAMPER_NODE, c->step = step, c->node = node;
    else if (sscanf(s, "skip-step:%llu%n", &step, &n) == 1 && !s[n])
        c->kind = POL_CHEAT_SKIP_STEP, c->step = step;
    else if (sscanf(s, "wrong-data:%llu%n", &step, &n) == 1 && !s[n])
        c->kind = POL_CHEAT_WRONG_DATA, c->step = step;
    else
        return -1;
    return 0;
}



/* Trains the task with a replayer in a fresh directory. */
static pol_status replay(solver *s, const pol_cheat *cheat, const char *what, pol_replayer **rp,
                         char dir[4300])
{
    snprintf(dir, 4300, "%s/run-%.16s-%s-%d-%u", s->work, s->hex, what, (int)getpid(),
             s->runs++);
    return pol_replayer_create(rp, s->ctx, &s->rt.task, &s->rt.ds, dir,
                               cheat && cheat->kind ? cheat : NULL);
}

/* The certificate of a replayer's run, signed, its checkpoints in the store. */
static pol_status certify(solver *s, pol_replayer *rp, const char *rp_dir, uint8_t **env,
                          size_t *len)
{
    size_t n;
    pol_replayer_checkpoints(rp, &n);
    char (*paths)[4400] = calloc(n, sizeof *paths);
    const char **pp = calloc(n, sizeof *pp);
    char store[4200];
    pol_status st = paths && pp ? POL_OK : pol_errorf(POL_ERR_NOMEM, "paths");
    snprintf(store, sizeof store, "%s/store", s->work);
    pol_cert c = { 0 };
    uint8_t *body = NULL;
    size_t blen = 0;
    for (size_t i = 0; !st && i < n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/ckpt-%zu.safetensors",
                 rp_dir, i);
        pp[i] = paths[i];
        st = pol_role_store_put(store, paths[i]);
    }
    if (!st)
        st = pol_cert_from_checkpoints(&s->rt.task, pp, n, &c);
    if (!st) {
        memcpy(c.solver_key, s->me, 32);
        snprintf(c.device, sizeof c.device, "cpu %s, 1 thread",
                 pol_ctx_kernels(s->ctx) == POL_KERNELS_BLAS ? "openblas" : pol_fast_gemm_isa());
        st = pol_cert_encode(&c, &body, &blen);
    }
    if (!st)
        st = pol_envelope_seal(POL_MSG_CERTIFICATE, body, blen, &s->kp, env, len);
    free(body);
    pol_cert_free(&c);
    free(paths);
    free(pp);
    return st;
}

static pol_status submit(solver *s, pol_replayer *rp, const char *rp_dir, const char *what)
{
    uint8_t *env;
    size_t len;
    pol_status st = certify(s, rp, rp_dir, &env, &len);
    if (st)
        return st;
    pol_game_action a = { 0 };
    a.kind = POL_GAME_SUBMIT_CERT;
    a.task_id = s->id;
    a.inner = env;
    a.inner_len = len;
    st = pol_mirror_act(s->m, &a, NULL);
    free(env);
    if (!st) {
        printf("submitted  task %.16s: %s certificate\n", s->hex, what);
        fflush(stdout);
    }
    return st;
}

static void drop_task(solver *s)
{
    pol_role_server_set_party(s->srv, NULL);
    pol_replayer_destroy(s->main_rp);
    pol_replayer_destroy(s->forced_rp);
    pol_replayer_destroy(s->honest_rp);
    s->main_rp = s->forced_rp = s->honest_rp = NULL;
    pol_ctx_destroy(s->ctx);
    s->ctx = NULL;
    pol_role_task_close(&s->rt);
    s->active = 0;
}

static int skipped(const solver *s, const pol_digest *id)
{
    for (size_t i = 0; i < s->n_skipped; i++)
        if (pol_digest_equal(&s->skipped[i], id))
            return 1;
    return 0;
}

/* Opens task t here (its file, its dataset under --data-dir) before any
 * claim: a claim stakes the solver's bond. A task that cannot be opened is
 * skipped for good, with the reason printed once; *ok = 0 then. Only
 * running out of memory is an error. */
static pol_status open_task(solver *s, const pol_game_task *t, int *ok)
{
    *ok = 0;
    pol_status st = pol_role_task_open(s->work, s->data_dir, t->task_json, t->task_json_len,
                                       &s->rt);
    if (!st) {
        *ok = 1;
        return POL_OK;
    }
    pol_role_task_close(&s->rt);
    if (st == POL_ERR_NOMEM)
        return st;
    printf("skipped    task %.16s, not claimed: %s (%s)\n", s->hex, pol_last_error(),
           pol_strerror(st));
    fflush(stdout);
    pol_digest *more = realloc(s->skipped, (s->n_skipped + 1) * sizeof *more);
    if (!more)
        return pol_errorf(POL_ERR_NOMEM, "skipped tasks");
    s->skipped = more;
    s->skipped[s->n_skipped++] = t->id;
    return POL_OK;
}

/* Claims task s->id, opened in s->rt; s->active once the claim is taken. */
static pol_status claim(solver *s, const char *listen_addr)
{
    pol_game_task t;
    char path[4200];
    snprintf(path, sizeof path, "%s/secret-%s", s->work, s->hex);
    pol_digest commit;
    pol_status st;
    if (getrandom(s->secret, 32, 0) != 32)
        return pol_errorf(POL_ERR_IO, "getrandom failed");
    if ((st = pol_write_file_atomic(path, s->secret, 32, 1)) ||
        (st = pol_game_commit(s->secret, &commit)))
        return st;
    pol_game_action a = { 0 };
    a.kind = POL_GAME_CLAIM;
    a.task_id = s->id;
    a.commit = commit;
    pol_role_action_endpoint(&a, listen_addr);
    if ((st = pol_mirror_act(s->m, &a, NULL))) {
        if (st == POL_ERR_RULES) { /* another solver was faster */
            printf("claim      task %.16s refused: %s\n", s->hex, pol_last_error());
            return POL_OK;
        }
        return st;
    }
    if ((st = pol_game_task_find(pol_mirror_game(s->m), &s->id, &t)))
        return st;
    printf("claimed    task %.16s (round %llu)\n", s->hex, (unsigned long long)t.rounds);
    fflush(stdout);
    s->active = 1;
    s->started = 0;
    return POL_OK;
}

/* Claims the first open task of another submitter that can be opened here;
 * start_work trains and submits once the referee's beacon for the claim is
 * in. */
static pol_status claim_one(solver *s, const char *listen_addr)
{
    const pol_game *g = pol_mirror_game(s->m);
    pol_game_task t;
    size_t i;
    for (i = 0; i < pol_game_n_tasks(g); i++)
        if (!pol_game_task_at(g, i, &t) && t.state == POL_GAME_TASK_OPEN &&
            memcmp(t.submitter, s->me, POL_PUBKEY_LEN) && !skipped(s, &t.id))
            break;
    if (i == pol_game_n_tasks(g))
        return POL_OK;
    s->id = t.id;
    pol_digest_to_hex(&t.id, s->hex);
    int ok;
    pol_status st = open_task(s, &t, &ok);
    if (st || !ok)
        return st;
    st = claim(s, listen_addr);
    if (!s->active)
        pol_role_task_close(&s->rt);
    return st;
}

/* The claim's beacon is in (t): draws the forced error [G-FORCED-2], trains
 * the task, submits the honest certificate or the forced error. */
static pol_status start_work(solver *s, const pol_game_task *t)
{
    int forced = 0;
    pol_status st;
    if ((st = pol_game_forced_draw(s->secret, &t->id, t->beacon,
                                   pol_mirror_genesis(s->m)->forced_error_ppm, &forced)))
        return st;
    printf("beacon     task %.16s: the secret draws %s\n", s->hex,
           forced ? "a FORCED ERROR" : "no forced error");
    fflush(stdout);
    s->started = 1;
    s->submitted_round = t->rounds;
    const int blas = s->blas && s->rt.task.mode == POL_MODE_TOLERANT;
    pol_ctx_opts co = { .threads = 1, .kernels = blas ? POL_KERNELS_BLAS : POL_KERNELS_FAST,
                        .device = POL_DEVICE_CPU };
    if (s->blas && !blas)
        printf("kernels    task %.16s is exact-mode: the exact kernels, not OpenBLAS\n", s->hex);
    else if (blas)
        printf("kernels    task %.16s is tolerant-mode: training with OpenBLAS GEMMs\n", s->hex);
    if ((st = pol_ctx_create(&s->ctx, &co)) ||
        (st = replay(s, &s->cheat, s->cheat.kind ? "cheat" : "main", &s->main_rp, s->main_dir)))
        return st;
    pol_replayer *served_rp = s->main_rp;
    if (s->serve_honest && s->cheat.kind) { /* test switch: defend with another run */
        if ((st = replay(s, NULL, "honest", &s->honest_rp, s->honest_dir)))
            return st;
        served_rp = s->honest_rp;
        printf("cheating   (test switch) disputes answered from an honest replay, not the "
               "certified run\n");
    }
    s->party = pol_replayer_party(served_rp, "solver");
    s->party_tol = pol_replayer_party_tol(served_rp, "solver");
    /* both disputes: the bisection (party) and the transition dispute (party_tol) */
    pol_pin_served served = { &s->party, &s->party_tol, NULL };
    pol_role_server_set_served(s->srv, &served);
    if (s->cheat.kind)
        printf("cheating   (test switch) %s at step %llu node %d\n",
               s->cheat.kind == POL_CHEAT_TAMPER_NODE ? "tamper-node"
               : s->cheat.kind == POL_CHEAT_SKIP_STEP ? "skip-step" : "wrong-data",
               (unsigned long long)s->cheat.step, s->cheat.node);
    if (!forced)
        return submit(s, s->main_rp, s->main_dir, s->cheat.kind ? "a dishonest" : "an honest");
    /* a forced error: a certificate the verifiers must catch */
    pol_cheat fe = { POL_CHEAT_TAMPER_NODE, 0, 0 };
    if ((st = replay(s, &fe, "forced", &s->forced_rp, s->forced_dir)))
        return st;
    return submit(s, s->forced_rp, s->forced_dir, "a deliberately wrong (forced error)");
}

/* One look at the current task: reveal, resubmit, or finish. Sets *done. */
static pol_status follow_task(solver *s, int *done)
{
    pol_game_task t;
    pol_status st = pol_game_task_find(pol_mirror_game(s->m), &s->id, &t);
    *done = 0;
    if (st)
        return st;
    if (!t.has_solver || memcmp(t.solver, s->me, POL_PUBKEY_LEN)) { /* lost the claim */
        printf("lost       task %.16s (%s)\n", s->hex, pol_game_task_state_name(t.state));
        drop_task(s);
        *done = 1;
        return POL_OK;
    }
    if (!s->started) { /* the draw waits for the referee's beacon [G-BEACON-1] */
        if (t.state == POL_GAME_TASK_CLAIMED && t.has_beacon)
            return start_work(s, &t);
        return POL_OK;
    }
    if (t.state == POL_GAME_TASK_AWAIT_REVEAL && !t.revealed) {
        pol_game_action a = { 0 };
        a.kind = POL_GAME_REVEAL;
        a.task_id = s->id;
        memcpy(a.secret, s->secret, 32);
        if ((st = pol_mirror_act(s->m, &a, NULL)))
            return st;
        printf("revealed   task %.16s: the secret of round %llu\n", s->hex,
               (unsigned long long)t.rounds);
        fflush(stdout);
    } else if (t.state == POL_GAME_TASK_CLAIMED && t.rounds != s->submitted_round) {
        s->submitted_round = t.rounds; /* the forced round is over: now the real one */
        if ((st = submit(s, s->main_rp, s->main_dir, s->cheat.kind ? "a dishonest" : "an honest")))
            return st;
    } else if (t.state == POL_GAME_TASK_SETTLED || t.state == POL_GAME_TASK_FAILED) {
        printf("finished   task %.16s: %s", s->hex, pol_game_task_state_name(t.state));
        if (t.has_ruling)
            printf(" (ruling: %s lost, %s, interval %lld step %lld node %lld)",
                   t.loser == POL_GAME_LOSER_SOLVER ? "solver" : "challenger",
                   pol_dispute_reason_name((pol_dispute_reason)t.reason), (long long)t.interval,
                   (long long)t.step, (long long)t.node);
        printf("; balance %llu\n",
               (unsigned long long)pol_game_balance(pol_mirror_game(s->m), s->me));
        fflush(stdout);
        drop_task(s);
        *done = 1;
    }
    return POL_OK;
}

static int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        { "referee", required_argument, 0, 'r' }, { "key", required_argument, 0, 'k' },
        { "listen", required_argument, 0, 'l' },  { "work", required_argument, 0, 'w' },
        { "data-dir", required_argument, 0, 'd' }, { "cheat", required_argument, 0, 'c' },
        { "tasks", required_argument, 0, 'n' },   { "timeout", required_argument, 0, 'T' },
        { "verbose", no_argument, 0, 'v' },       { "help", no_argument, 0, 'h' },
        { "kernels", required_argument, 0, 'K' }, { "serve-honest", no_argument, 0, 'H' },
        { "withhold", no_argument, 0, 'W' },      { 0, 0, 0, 0 },
    };
    solver s = { 0 };
    const char *referee = NULL, *key_path = NULL, *listen_addr = NULL;
    long tasks = 1, timeout = 600;
    int verbose = 0, withhold = 0, c;
    s.data_dir = ".";
    while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        switch (c) {
        case 'r': referee = optarg; break;
        case 'k': key_path = optarg; break;
        case 'l': listen_addr = optarg; break;
        case 'w': s.work = optarg; break;
        case 'd': s.data_dir = optarg; break;
        case 'c': if (parse_cheat(optarg, &s.cheat))
                      return serve_usage_error("--cheat wants tamper-node:STEP:NODE, "
                                               "skip-step:STEP or wrong-data:STEP");
                  break;
        case 'n': if (cli_long(optarg, 0, 1000000, &tasks))
                      return serve_usage_error("--tasks wants 0..1000000");
                  break;
        case 'T': if (cli_long(optarg, 1, POL_ROLE_MAX_TIMEOUT_S, &timeout))
                      return serve_usage_error("--timeout wants seconds, 1..2592000");
                  break;
        case 'v': verbose = 1; break;
        case 'H': s.serve_honest = 1; break;
        case 'W': withhold = 1; break;
        case 'K':
            if (!strcmp(optarg, "fast")) s.blas = 0;
            else if (!strcmp(optarg, "blas")) s.blas = 1;
            else return serve_usage_error("--kernels wants fast or blas");
            break;
        case 'h': fputs(SERVE_USAGE, stdout); return 0;
        default: return serve_usage_error("unknown option");
        }
    }
    if (optind != argc)
        return serve_usage_error("unexpected argument");
    if (!referee || !key_path || !listen_addr || !s.work)
        return serve_usage_error("serve needs --referee, --key, --listen and --work");
    if (s.serve_honest && !s.cheat.kind)
        return serve_usage_error("--serve-honest goes with --cheat");
    pol_status st;
    if ((st = pol_seckey_load(key_path, &s.kp)) || (st = pol_keypair_pubkey(&s.kp, s.me)) ||
        (st = pol_mkdir_p(s.work)))
        return fail(st);
    char store[4200];
    snprintf(store, sizeof store, "%s/store", s.work);
    if ((st = pol_role_server_open(listen_addr, &s.kp, store, &s.srv)))
        return fail(st);
    if ((st = pol_mirror_open(referee, &s.kp, NULL, 10000, &s.m))) {
        pol_role_server_close(s.srv);
        return fail(st);
    }
    if (verbose)
        pol_mirror_set_log(s.m, role_game_line, NULL);
    if (withhold)
        pol_role_server_withhold_blobs(s.srv, pol_mirror_genesis(s.m)->referee_key);
    char me_hex[65], ep[80];
    pol_pubkey_to_hex(s.me, me_hex);
    snprintf(ep, sizeof ep, "%.*s:%u", (int)(strrchr(listen_addr, ':') ? strrchr(listen_addr, ':') - listen_addr : 0),
             listen_addr, pol_role_server_port(s.srv));
    printf("solver     %s serving on %s\n", me_hex, ep);
    fflush(stdout);
    role_catch_signals();
    long done_tasks = 0;
    const uint64_t end = pol_role_now_ms() + (uint64_t)timeout * 1000u;
    while (!stop_flag && (tasks == 0 || done_tasks < tasks)) {
        if ((st = pol_role_server_poll(s.srv, 100)) || (st = role_sync_or_wait(s.m)))
            break;
        if (!s.active)
            st = claim_one(&s, ep);
        else {
            int done;
            st = follow_task(&s, &done);
            done_tasks += done;
        }
        if (st)
            break;
        if (pol_role_now_ms() > end) {
            st = pol_errorf(POL_ERR_TIMEOUT, "gave up after %ld s", timeout);
            break;
        }
    }
    role_print_served(s.srv);
    if (s.active)
        drop_task(&s);
    pol_mirror_close(s.m);
    pol_role_server_close(s.srv);
    pol_keypair_clear(&s.kp);
    free(s.skipped);
    return st ? fail(st) : 0;
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
    if (!strcmp(argv[1], "serve"))
        return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(argv[1], "inspect"))
        return cmd_inspect(argc - 1, argv + 1);
    return usage_error("unknown command");
}
