/* pol-verifier — checks a solver's certificate by re-running sampled
 * checkpoint intervals (spec/certificate.md).
 *
 *   pol-verifier check --task FILE --cert FILE --store DIR [options]
 *   pol-verifier profile --task FILE --run DIR --out PROFILE.json [--samples N]
 *                        [--gpu auto|off|require] [--key KEY --out-envelope FILE]
 *   pol-verifier serve --referee ADDR --key FILE --listen ADDR --work DIR [options]
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "pol/cert.h"
#include "cli_num.h"
#include "pol/context.h"
#include "pol/fileio.h"
#include "pol/game.h"
#include "pol/keys.h"
#include "pol/profile.h"
#include "pol/roles.h"
#include "role_cli.h"
#include "pol/verify.h"
#include "pol/version.h"
#include "pol/wire.h"

static const char USAGE[] =
    "usage: pol-verifier check --task FILE --cert FILE (--store DIR | --replay) [options]\n"
    "       pol-verifier profile --task FILE --run DIR --out PROFILE.json [--samples N]\n"
    "                            [--gpu auto|off|require] [--key FILE --out-envelope FILE]\n"
    "       pol-verifier serve --referee ADDR --key FILE --listen ADDR --work DIR [options]\n"
    "       pol-verifier --version\n"
    "\n"
    "check: verifies a signed certificate (pol-solver train --key): its signature,\n"
    "that it belongs to the task, the initial state (a continued run: a checkpoint of\n"
    "its parent certificate), then re-runs a sample of its\n"
    "checkpoint intervals from the content-addressed store and compares state hashes.\n"
    "  --task FILE        the task file the certificate claims (its SHA-256 is the task id)\n"
    "  --cert FILE        the certificate envelope (certificate.pol)\n"
    "  --store DIR        checkpoints named <state hash>.safetensors\n"
    "  --replay           instead of --store: re-train the whole run from the task's\n"
    "                     initial state and compare every checkpoint's state hash\n"
    "                     (exact mode, no parent; for a solver that withholds its\n"
    "                     checkpoints; costs the whole training) [V-VER-7]\n"
    "  --solver-key HEX   require this solver key (default: any key that signed it)\n"
    "  --samples N|all    random intervals to re-run (default: the fewest that catch a\n"
    "                     solver who falsified 10% of the intervals with p >= 0.99);\n"
    "                     all: every interval\n"
    "  --top-q Q          also re-run the Q largest declared updates (default 1; at\n"
    "                     least one interval is re-run: not both 0)\n"
    "  --parent-cert FILE for a certificate that continues another (pol-solver train\n"
    "                     --parent): that parent certificate, which must hold its start\n"
    "                     state (spec/certificate.md [V-VER-2]); required then, refused\n"
    "                     otherwise\n"
    "  --beacon HEX       64 hex digits of public randomness the solver could not know;\n"
    "                     default: fresh random bytes (printed)\n"
    "  --key FILE         sign a VerificationReport with this secret key ...\n"
    "  --report FILE      ... and write it here (never overwritten)\n"
    "  --threads N        CPU threads (default 1)\n"
    "  --kernels K        fast (default), ref or blas (tolerant-mode certificates only)\n"
    "  --profile FILE     tolerant mode: the thresholds (pol-verifier profile); required\n"
    "  --metric M         tolerant mode: l2_rel (default), l1_rel, linf_rel, l1, l2, linf;\n"
    "                     each state group (parameters, optimizer m, v, buf) within its\n"
    "                     own threshold (not cosine: blind to a rescaled state)\n"
    "  --json             print the result as one JSON object\n"
    "\n"
    "profile: re-runs sample intervals of a finished run (pol-solver train) under\n"
    "the fast exact kernels and OpenBLAS with 1 and 2 threads (fast/1, blas/1, blas/2)\n"
    "and, on a CUDA device, the exact CUDA kernels and cuBLAS FP32 (cuda/exact,\n"
    "cublas/fp32), and writes the distance distributions and tolerant-mode thresholds\n"
    "(spec/profiling.md) as JSON, plus PROFILE.png when gnuplot is installed.\n"
    "  --samples N        intervals to re-run (default 8)\n"
    "  --factor F         safety factor of the threshold rule (default 4)\n"
    "  --gpu MODE         auto (default): add the CUDA sources when a CUDA device is\n"
    "                     usable, else profile on the CPU alone; off: the CPU alone;\n"
    "                     require: fail (exit 1, nothing written) without a usable device\n"
    "  --key FILE         sign the thresholds with this secret key (pol-keygen) ...\n"
    "  --out-envelope FILE ... as a ProfileReport envelope (type 4), written here\n"
    "                     beside the JSON (never overwritten)\n"
    "A task whose \"gpu_math\" is tf32 or bf16 (spec/task.md) adds cuBLAS with that\n"
    "math after cublas/fp32 (cublas/tf32, cublas/bf16): such a profile needs a usable\n"
    "CUDA device (exit 1, nothing written, without one or with --gpu off).\n"
    "\n"
    "serve: the verifier in a game kept by a referee (pol-verifier serve --help).\n"
    "\n"
    "Exit status: 0 accepted, 3 rejected, 1 error (message on stderr), 2 bad usage.\n";

static int fail(pol_status st)
{
    fprintf(stderr, "pol-verifier: error: %s (%s, code %d)\n", pol_last_error(), pol_strerror(st),
            (int)st);
    return 1;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "pol-verifier: %s\n%s", msg, USAGE);
    return 2;
}

/* --samples N|all (all: POL_VERIFY_ALL). */
static int parse_samples(const char *s, int64_t *out)
{
    uint64_t v;
    if (!strcmp(s, "all")) {
        *out = POL_VERIFY_ALL;
        return 0;
    }
    if (cli_u64(s, 0, 1000000, &v))
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int hex32(const char *s, uint8_t out[32])
{
    pol_digest d;
    if (pol_digest_from_hex(s, &d))
        return -1;
    memcpy(out, d.b, 32);
    return 0;
}

/* The signed report of a verification. */
static pol_status write_report(const char *path, const pol_keypair *kp, const pol_cert *c,
                               const pol_digest *cert_id, const pol_verify_opts *vo,
                               const pol_verify_result *r)
{
    pol_report rep;
    uint8_t vkey[32];
    pol_status st;
    if ((st = pol_keypair_pubkey(kp, vkey)) ||
        (st = pol_report_from_verify(c, cert_id, vo, r, vkey, &rep)))
        return st;
    uint8_t *body = NULL, *env = NULL;
    size_t blen = 0, elen = 0;
    if (!(st = pol_report_encode(&rep, &body, &blen)) &&
        !(st = pol_envelope_seal(POL_MSG_REPORT, body, blen, kp, &env, &elen)))
        st = pol_write_file_atomic(path, env, elen, 0);
    free(body);
    free(env);
    pol_report_free(&rep);
    return st;
}

/* What check was asked to do. */
typedef struct check_args {
    pol_verify_opts vo;
    const char *cert_path, *parent_path, *profile, *report;
    const uint8_t *want_solver; /* NULL: any solver key */
    const pol_keypair *kp;      /* signs the report (with report) */
    int64_t samples;            /* -1: the default, pol_samples_for */
    long top_q, threads;
    pol_kernels kernels;
    int json;
} check_args;

/* The outcome of check, as text or JSON. */
static void print_check(const check_args *a, const pol_cert *c, const pol_digest *cert_id,
                        const pol_verify_result *r)
{
    char parent_hex[65];
    pol_digest_to_hex(&c->parent_id, parent_hex);
    const char *start = r->init_checked             ? "initial_state"
                        : r->parent_checkpoint >= 0 ? "parent_checkpoint"
                                                    : "unchecked";
    char id_hex[65], beacon_hex[65], e[65], g[65];
    pol_digest_to_hex(cert_id, id_hex);
    pol_digest b;
    memcpy(b.b, a->vo.beacon, 32);
    pol_digest_to_hex(&b, beacon_hex);
    pol_digest_to_hex(&r->expected, e);
    pol_digest_to_hex(&r->got, g);
    if (a->json) {
        json_t *o = json_object(), *arr = json_array();
        json_object_set_new(o, "verdict", json_string(r->accept ? "accept" : "reject"));
        json_object_set_new(o, "certificate_id", json_string(id_hex));
        json_object_set_new(o, "beacon", json_string(beacon_hex));
        json_object_set_new(o, "intervals", json_integer((json_int_t)r->n_intervals));
        for (size_t i = 0; i < r->n_picked; i++)
            json_array_append_new(arr, json_integer(r->picked[i]));
        json_object_set_new(o, "checked", arr);
        json_object_set_new(o, "start", json_string(start));
        if (r->parent_checkpoint >= 0) {
            json_object_set_new(o, "parent_certificate_id", json_string(parent_hex));
            json_object_set_new(o, "parent_checkpoint", json_integer(r->parent_checkpoint));
        }
        if (r->tolerant) {
            json_t *da = json_array(), *ta = json_array();
            for (size_t i = 0; i < r->n_picked; i++) {
                json_array_append_new(da, json_real(r->distance[i]));
                json_array_append_new(ta, json_real(r->threshold[i]));
            }
            json_object_set_new(o, "metric", json_string(pol_metric_name(r->metric)));
            json_object_set_new(o, "distances", da);
            json_object_set_new(o, "thresholds", ta);
        }
        json_object_set_new(o, "failed_interval",
                            r->failed_interval >= 0 ? json_integer(r->failed_interval) : json_null());
        json_object_set_new(o, "reason", json_string(r->reason));
        if (r->failed_interval >= 0) {
            json_object_set_new(o, "expected_state_hash", json_string(e));
            json_object_set_new(o, "recomputed_state_hash", json_string(g));
        }
        json_object_set_new(o, "steps_rerun", json_integer((json_int_t)r->steps_rerun));
        json_object_set_new(o, "cost_fraction", json_real(r->cost_fraction));
        json_object_set_new(o, "detect_p_1pct", json_real(r->detect_p[0]));
        json_object_set_new(o, "detect_p_10pct", json_real(r->detect_p[1]));
        json_object_set_new(o, "detect_p_50pct", json_real(r->detect_p[2]));
        if (a->report)
            json_object_set_new(o, "report", json_string(a->report));
        json_dumpf(o, stdout, JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("certificate  %s (id %s)\nbeacon       %s\n", a->cert_path, id_hex, beacon_hex);
        printf("checked      %zu of %zu intervals, %" PRIu64 " steps re-run (%.1f%% of the solver's)\n",
               r->n_picked, r->n_intervals, r->steps_rerun, 100.0 * r->cost_fraction);
        printf("detection    p = %.3f / %.3f / %.3f if 1%% / 10%% / 50%% of intervals were falsified\n",
               r->detect_p[0], r->detect_p[1], r->detect_p[2]);
        if (r->init_checked)
            printf("start        the task's initial state, re-derived\n");
        else if (r->parent_checkpoint >= 0)
            printf("start        checkpoint %lld (step %" PRIu64 ") of parent certificate %s\n"
                   "             (that certificate is verified on its own)\n",
                   (long long)r->parent_checkpoint, c->ckpt_steps[0], parent_hex);
        if (r->tolerant) {
            printf("tolerant     %s distance / threshold per checked interval:\n", pol_metric_name(r->metric));
            for (size_t i = 0; i < r->n_picked; i++)
                if (r->threshold[i] > 0)
                    printf("             %5u  %.3e / %.3e\n", r->picked[i], r->distance[i], r->threshold[i]);
        }
        if (r->accept) {
            printf("verdict      ACCEPT\n");
        } else {
            printf("verdict      REJECT: %s\n", r->reason);
            if (r->failed_interval >= 0)
                printf("evidence     interval %lld: committed %s\n             recomputed %s\n",
                       (long long)r->failed_interval, e, g);
        }
        if (a->report)
            printf("report       %s (signed)\n", a->report);
    }
}

/* check, its arguments parsed: loads, verifies, reports, prints. Returns
 * the exit status. */
static int check_cert(check_args *a)
{
    pol_verify_opts *vo = &a->vo;
    pol_cert cert, parent;
    pol_digest cert_id;
    pol_threshold *thr = NULL;
    pol_verify_result *r = NULL;
    int have_parent = 0, code = 1;
    pol_status st = pol_cert_load(a->cert_path, &cert, &cert_id);
    if (st)
        return fail(st);
    if (a->want_solver && memcmp(a->want_solver, cert.solver_key, 32)) {
        st = pol_errorf(POL_ERR_SIGNATURE, "%s is signed by another solver key", a->cert_path);
        goto out;
    }
    if (cert.has_parent != !!a->parent_path) {
        code = usage_error(cert.has_parent ? "the certificate continues another: --parent-cert "
                                             "FILE (the parent certificate) is needed"
                                           : "--parent-cert given, but the certificate has no "
                                             "parent");
        goto out;
    }
    if (a->parent_path) {
        if ((st = pol_cert_load(a->parent_path, &parent, &vo->parent_id)))
            goto out;
        have_parent = 1;
        vo->parent = &parent;
    }
    vo->cert_id = cert_id;
    if (a->samples < 0)
        a->samples = (int64_t)pol_samples_for(cert.n_checkpoints - 1, 0.10, 0.99);
    vo->samples = (uint32_t)a->samples;
    vo->top_q = (uint32_t)a->top_q;
    if (cert.mode == POL_MODE_TOLERANT) {
        if (!a->profile) {
            code = usage_error("a tolerant-mode certificate needs --profile");
            goto out;
        }
        if ((st = pol_profile_load_thresholds(a->profile, &cert.task_id,
                                              vo->metric ? vo->metric : POL_METRIC_L2_REL, &thr,
                                              &vo->n_thresholds)))
            goto out;
        vo->thresholds = thr;
    }
    pol_ctx *ctx;
    pol_ctx_opts co = { .threads = (int)a->threads, .kernels = a->kernels };
    if ((st = pol_ctx_create(&ctx, &co)))
        goto out;
    if (!(r = malloc(sizeof *r)))
        st = pol_errorf(POL_ERR_NOMEM, "result");
    else
        st = pol_verify(ctx, &cert, vo, r);
    pol_ctx_destroy(ctx);
    if (!st && a->report)
        st = write_report(a->report, a->kp, &cert, &cert_id, vo, r);
    if (!st) {
        print_check(a, &cert, &cert_id, r);
        code = r->accept ? 0 : 3;
    }
out:
    if (st)
        code = fail(st);
    free(r);
    free(thr);
    if (have_parent)
        pol_cert_free(&parent);
    pol_cert_free(&cert);
    return code;
}

static int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        { "task", required_argument, 0, 't' },      { "cert", required_argument, 0, 'c' },
        { "store", required_argument, 0, 's' },     { "samples", required_argument, 0, 'n' },
        { "top-q", required_argument, 0, 'q' },     { "beacon", required_argument, 0, 'b' },
        { "key", required_argument, 0, 'k' },       { "report", required_argument, 0, 'r' },
        { "solver-key", required_argument, 0, 'S' }, { "threads", required_argument, 0, 'j' },
        { "json", no_argument, 0, 'J' },            { "help", no_argument, 0, 'h' },
        { "profile", required_argument, 0, 'p' },   { "metric", required_argument, 0, 'm' },
        { "kernels", required_argument, 0, 'K' },   { "parent-cert", required_argument, 0, 'P' },
        { "replay", no_argument, 0, 'R' },          { 0, 0, 0, 0 },
    };
    pol_verify_opts vo = { 0 };
    const char *cert_path = NULL, *key = NULL, *report = NULL, *solver_hex = NULL;
    const char *profile = NULL, *parent_path = NULL;
    pol_kernels kernels = POL_KERNELS_FAST;
    int64_t samples = -1;
    long top_q = 1, threads = 1;
    int json = 0, have_beacon = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': vo.task_path = optarg; break;
        case 'c': cert_path = optarg; break;
        case 's': vo.store_dir = optarg; break;
        case 'n': if (parse_samples(optarg, &samples))
                      return usage_error("--samples wants 0..1000000 or all");
                  break;
        case 'q': if (cli_long(optarg, 0, 4096, &top_q)) return usage_error("--top-q wants 0..4096");
                  break;
        case 'j': if (cli_long(optarg, 1, 256, &threads)) return usage_error("--threads wants 1..256");
                  break;
        case 'P': parent_path = optarg; break;
        case 'R': vo.replay = 1; break;
        case 'b': if (hex32(optarg, vo.beacon)) return usage_error("--beacon wants 64 lowercase hex digits");
                  have_beacon = 1;
                  break;
        case 'k': key = optarg; break;
        case 'r': report = optarg; break;
        case 'S': solver_hex = optarg; break;
        case 'J': json = 1; break;
        case 'p': profile = optarg; break;
        case 'm': if (!(vo.metric = pol_metric_from_name(optarg))) return usage_error("unknown --metric");
                  if (vo.metric == POL_METRIC_COSINE)
                      return usage_error("--metric cosine cannot accept an interval: it is blind "
                                         "to scale (a state multiplied by 3 is at distance 0); "
                                         "use l2_rel (the default) or another metric");
                  break;
        case 'K': if (!strcmp(optarg, "fast")) kernels = POL_KERNELS_FAST;
                  else if (!strcmp(optarg, "ref")) kernels = POL_KERNELS_REF;
                  else if (!strcmp(optarg, "blas")) kernels = POL_KERNELS_BLAS;
                  else return usage_error("--kernels wants fast, ref or blas");
                  break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: return usage_error("unknown option");
        }
    }
    if (optind != argc)
        return usage_error("unexpected argument");
    if (!vo.task_path || !cert_path || !vo.store_dir == !vo.replay)
        return usage_error("check needs --task, --cert and one of --store and --replay");
    if (vo.replay && (samples >= 0 || parent_path || profile))
        return usage_error("--replay re-runs every interval of an exact-mode run from its "
                           "start: not with --samples, --parent-cert or --profile");
    if (vo.replay)
        samples = POL_VERIFY_ALL;
    if (!key != !report)
        return usage_error("--key and --report go together");
    if (samples == 0 && top_q == 0)
        return usage_error("--samples 0 with --top-q 0 would re-run nothing");
    uint8_t want_solver[32];
    if (solver_hex && hex32(solver_hex, want_solver))
        return usage_error("--solver-key wants 64 lowercase hex digits");
    if (!have_beacon && getrandom(vo.beacon, 32, 0) != 32)
        return fail(pol_errorf(POL_ERR_IO, "getrandom failed"));
    /* what can fail cheaply fails before the re-run */
    if (report && access(report, F_OK) == 0)
        return fail(pol_errorf(POL_ERR_EXISTS, "%s exists; a report is never overwritten", report));
    pol_keypair kp;
    pol_status st;
    if (key && (st = pol_seckey_load(key, &kp)))
        return fail(st);
    check_args ca = { vo, cert_path, parent_path, profile, report, solver_hex ? want_solver : NULL,
                      key ? &kp : NULL, samples, top_q, threads, kernels, json };
    int code = check_cert(&ca);
    if (key)
        pol_keypair_clear(&kp);
    return code;
}

/* Writes PROFILE.png beside the JSON when gnuplot is installed; silent otherwise. */
static void plot(const pol_profile *p, const char *json_path)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0)
        return;
    char png[4200], dat[4200];
    size_t n = strlen(json_path);
    if (n > 5 && !strcmp(json_path + n - 5, ".json"))
        n -= 5;
    snprintf(png, sizeof png, "%.*s.png", (int)n, json_path);
    snprintf(dat, sizeof dat, "%.*s.dat", (int)n, json_path);
    FILE *f = fopen(dat, "w");
    if (!f)
        return;
    for (size_t i = 0; i < p->n_obs; i++)
        fprintf(f, "%.17g\n", p->obs[i] > 0 ? p->obs[i] : 1e-12);
    fclose(f);
    FILE *g = popen("gnuplot >/dev/null 2>&1", "w");
    if (g) {
        fprintf(g, "set terminal png size 800,500\nset output '%s'\nset logscale x\n"
                   "set xlabel 'l2_rel distance of an interval'\nset ylabel 'count'\n"
                   "binc(x) = 10**(floor(log10(x)*4)/4.0)\n"
                   "plot '%s' using (binc($1)):(1) smooth frequency with boxes title 'honest re-runs'\n",
                png, dat);
        pclose(g);
    }
    remove(dat);
}

/* The profile's thresholds as a signed ProfileReport envelope (type 4),
 * written atomically, never over an existing file (spec/profiling.md
 * P-ENV-1). */
static pol_status write_profile_envelope(const pol_profile *p, const pol_keypair *kp,
                                         const char *path)
{
    pol_profile_report r;
    uint8_t *body = NULL, *env = NULL;
    size_t blen = 0, elen = 0;
    pol_status st = pol_profile_report_from(p, &r);
    if (st)
        return st;
    if (!(st = pol_profile_report_encode(&r, &body, &blen)) &&
        !(st = pol_envelope_seal(POL_MSG_PROFILE, body, blen, kp, &env, &elen)))
        st = pol_write_file_atomic(path, env, elen, 0);
    free(body);
    free(env);
    pol_profile_report_free(&r);
    return st;
}

static int cmd_profile(int argc, char **argv)
{
    static const struct option opts[] = {
        { "task", required_argument, 0, 't' },   { "run", required_argument, 0, 'r' },
        { "out", required_argument, 0, 'o' },    { "samples", required_argument, 0, 'n' },
        { "factor", required_argument, 0, 'f' }, { "help", no_argument, 0, 'h' },
        { "key", required_argument, 0, 'K' },    { "out-envelope", required_argument, 0, 'E' },
        { "gpu", required_argument, 0, 'g' },    { "tf32", no_argument, 0, 'T' },
        { 0, 0, 0, 0 },
    };
    pol_profile_opts po = { 0 };
    const char *out = NULL, *key_path = NULL, *env_path = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 't': po.task_path = optarg; break;
        case 'r': po.run_dir = optarg; break;
        case 'o': out = optarg; break;
        case 'n': { long v;
                    if (cli_long(optarg, 1, 4096, &v)) return usage_error("--samples wants 1..4096");
                    po.samples = (uint32_t)v; break; }
        case 'f': po.factor = strtod(optarg, &end);
                  if (*end || !(po.factor >= 1.0 && po.factor <= 1e6)) return usage_error("--factor wants a number >= 1");
                  break;
        case 'K': key_path = optarg; break;
        case 'E': env_path = optarg; break;
        case 'g': if (!strcmp(optarg, "auto")) po.gpu = POL_PROFILE_GPU_AUTO;
                  else if (!strcmp(optarg, "off")) po.gpu = POL_PROFILE_GPU_OFF;
                  else if (!strcmp(optarg, "require")) po.gpu = POL_PROFILE_GPU_REQUIRE;
                  else return usage_error("--gpu wants auto, off or require");
                  break;
        case 'T': return usage_error("--tf32 is no longer an option: a tolerant task chooses its "
                                     "cuBLAS math with its \"gpu_math\" key, and its profile "
                                     "follows (spec/profiling.md [P-SRC-2])");
        case 'h': fputs(USAGE, stdout); return 0;
        default: return usage_error("unknown option");
        }
    }
    if (optind != argc)
        return usage_error("unexpected argument");
    if (!po.task_path || !po.run_dir || !out)
        return usage_error("profile needs --task, --run and --out");
    if (!key_path != !env_path)
        return usage_error("--key and --out-envelope go together");
    pol_keypair kp;
    pol_status st;
    struct stat sb;
    if (lstat(out, &sb) == 0) /* fail before profiling, not after */
        return fail(pol_errorf(POL_ERR_EXISTS, "%s exists; refusing to overwrite it", out));
    if (key_path) {
        if (lstat(env_path, &sb) == 0)
            return fail(pol_errorf(POL_ERR_EXISTS, "%s exists; refusing to overwrite it", env_path));
        if ((st = pol_seckey_load(key_path, &kp)))
            return fail(st);
    }
    pol_profile p;
    st = pol_profile_run(&po, &p);
    if (!st)
        st = pol_profile_write_json(&p, out);
    if (!st && key_path)
        st = write_profile_envelope(&p, &kp, env_path);
    if (key_path)
        pol_keypair_clear(&kp);
    if (st) { /* p is zeroed when pol_profile_run failed */
        pol_profile_free(&p);
        return fail(st);
    }
    printf("profile      %s: %u intervals re-run under", out, p.intervals_rerun);
    for (int i = 0; i < p.n_configs; i++)
        printf(" %s", p.configs[i]);
    printf("\ngpu          %s", p.gpu);
    if (env_path)
        printf("\nenvelope     %s (signed ProfileReport, %zu thresholds)", env_path, p.n_stats);
    printf("\n%-6s %-12s %5s %9s %9s %9s %10s\n", "len", "op", "n", "median", "max", "threshold", "margin");
    for (size_t i = 0; i < p.n_stats; i++) {
        const pol_profile_stat *s = &p.stats[i];
        if (s->metric != POL_METRIC_L2_REL)
            continue;
        char what[32]; /* a whole interval: its state group */
        snprintf(what, sizeof what, "(interval%s%s)", s->group ? " " : "",
                 s->group ? pol_group_name(s->group) : "");
        printf("%-6llu %-12s %5llu %9.2e %9.2e %9.2e", (unsigned long long)s->interval_len,
               s->op[0] ? s->op : what, (unsigned long long)s->n, s->median, s->max, s->threshold);
        if (s->one_step_min > 0)
            printf(" %9.0fx", s->one_step_min / s->threshold);
        printf("\n");
    }
    char *h = pol_profile_histogram(&p);
    if (h)
        fputs(h, stdout);
    free(h);
    plot(&p, out);
    pol_profile_free(&p);
    return 0;
}

/* --------------------------------------------------------------- serve -- */


static const char SERVE_USAGE[] =
    "usage: pol-verifier serve --referee ADDR --key FILE --listen ADDR --work DIR [options]\n"
    "\n"
    "serve: plays the verifier in a game kept by a referee. For each submitted\n"
    "certificate: fetches the checkpoints its sample needs from the solver (each\n"
    "checked against its state hash), re-runs the sampled intervals (exact mode:\n"
    "state hashes compared; tolerant mode: l2_rel distances against the interval\n"
    "thresholds of the profile posted with the task), signs the report and\n"
    "submits it with its bond. After a reject it answers the\n"
    "referee's pinpoint queries as the challenger, with an honest replay (a\n"
    "tolerant-mode task: naming the solver's first leaf out of the profile's\n"
    "per-op tolerance, found by searching the solver's data on its server).\n"
    "  --referee ADDR     the referee, HOST:PORT\n"
    "  --key FILE         the verifier's secret key (pol-keygen)\n"
    "  --listen ADDR      where to answer the referee, HOST:PORT (port 0: any)\n"
    "  --work DIR         work directory (fetched checkpoints, replays)\n"
    "  --data-dir DIR     where the tasks' datasets are (default .)\n"
    "  --samples N|all    random intervals to re-run, plus the largest declared update\n"
    "                     (default all: every interval)\n"
    "  --party KEY=ADDR   a solver's endpoint, where the game carries none (repeatable)\n"
    "  --tasks N          stop after N reports whose tasks ended (default 0: never)\n"
    "  --timeout S        give up after S seconds, 1..2592000 (default 600)\n"
    "  --cheat lazy       FOR TESTS AND DEMOS ONLY: accept every certificate without\n"
    "                     checking it (the whistleblower and forced errors catch this)\n"
    "  --cheat reject     FOR TESTS AND DEMOS ONLY: reject every certificate without\n"
    "                     checking it, then dispute it (an honest solver wins)\n"
    "  -v, --verbose      print the game's log lines\n";

static int serve_usage_error(const char *msg)
{
    fprintf(stderr, "pol-verifier: %s\n%s", msg, SERVE_USAGE);
    return 2;
}

#define MAX_SEEN 1024

typedef struct vstate {
    pol_mirror *m;
    pol_role_server *srv;
    pol_role_challenger *ch;
    pol_keypair kp;
    uint8_t me[POL_PUBKEY_LEN];
    const char *work, *data_dir;
    uint32_t samples;
    int lazy;
    int reject; /* --cheat reject */
    pol_digest seen[MAX_SEEN]; /* certificates reported on */
    pol_digest mine[MAX_SEEN]; /* tasks with my report */
    size_t n_seen, n_mine;
    uint32_t mine_state[MAX_SEEN];
} vstate;



static int seen(const pol_digest *list, size_t n, const pol_digest *d)
{
    for (size_t i = 0; i < n; i++)
        if (pol_digest_equal(&list[i], d))
            return 1;
    return 0;
}

/* A report without running anything (test switches): ACCEPT (lazy) or
 * REJECT naming interval 0 (reject). */
static pol_status fake_report(vstate *v, const pol_game_task *t, int accept, uint8_t **env,
                              size_t *len)
{
    uint8_t *body = NULL;
    size_t blen = 0;
    pol_cert c;
    pol_status st = pol_cert_open(t->cert_env, t->cert_env_len, &c, NULL);
    if (st)
        return st;
    pol_verify_opts vo = { 0 };
    pol_verify_result *r = calloc(1, sizeof *r);
    pol_report rep;
    if (!r) {
        pol_cert_free(&c);
        return pol_errorf(POL_ERR_NOMEM, "result");
    }
    vo.cert_id = t->cert_id;
    r->accept = accept;
    r->failed_interval = accept ? -1 : 0;
    r->n_intervals = c.n_checkpoints - 1;
    if (!(st = pol_report_from_verify(&c, &t->cert_id, &vo, r, v->me, &rep))) {
        if (!(st = pol_report_encode(&rep, &body, &blen)))
            st = pol_envelope_seal(POL_MSG_REPORT, body, blen, &v->kp, env, len);
        pol_report_free(&rep);
    }
    free(body);
    free(r);
    pol_cert_free(&c);
    return st;
}

static pol_status report_on(vstate *v, const pol_game_task *t, const char *listen_addr)
{
    char hex[65], why[256] = "";
    pol_digest_to_hex(&t->id, hex);
    uint8_t *env = NULL;
    size_t len = 0;
    int accept = 1;
    if (v->reject)
        accept = 0, snprintf(why, sizeof why, "rejects everything (test switch)");
    pol_status st = v->lazy || v->reject
                        ? fake_report(v, t, !v->reject, &env, &len)
                        : pol_role_check_cert(t, &v->kp, v->work, v->data_dir, v->samples,
                                              &accept, &env, &len, why);
    if (st) {
        printf("error      task %.16s: cannot verify: %s\n", hex, pol_last_error());
        return POL_OK; /* another verifier may; this one lets the window pass */
    }
    pol_game_action a = { 0 };
    a.kind = POL_GAME_SUBMIT_REPORT;
    a.task_id = t->id;
    a.inner = env;
    a.inner_len = len;
    pol_role_action_endpoint(&a, listen_addr);
    st = pol_mirror_act(v->m, &a, NULL);
    free(env);
    if (st == POL_ERR_RULES) {
        printf("report     task %.16s refused: %s\n", hex, pol_last_error());
        return POL_OK;
    }
    if (st)
        return st;
    printf("reported   task %.16s: %s%s%s\n", hex,
           v->lazy ? "ACCEPT without checking (lazy test switch)" : accept ? "ACCEPT" : "REJECT",
           why[0] ? ": " : "", why);
    fflush(stdout);
    if (v->n_mine < MAX_SEEN) {
        v->mine_state[v->n_mine] = 0;
        v->mine[v->n_mine++] = t->id;
    }
    return POL_OK;
}

/* Counts tasks I reported on that have ended; prints how they ended. */
static long ended(vstate *v)
{
    long n = 0;
    for (size_t i = 0; i < v->n_mine; i++) {
        pol_game_task t;
        if (pol_game_task_find(pol_mirror_game(v->m), &v->mine[i], &t))
            continue;
        if (t.state != POL_GAME_TASK_SETTLED && t.state != POL_GAME_TASK_FAILED)
            continue;
        n++;
        if (v->mine_state[i] != t.state) {
            char hex[65];
            pol_digest_to_hex(&t.id, hex);
            v->mine_state[i] = t.state;
            printf("finished   task %.16s: %s; balance %llu\n", hex, pol_game_task_state_name(t.state),
                   (unsigned long long)pol_game_balance(pol_mirror_game(v->m), v->me));
            fflush(stdout);
        }
    }
    return n;
}

/* Ends a run: closes what v holds (role_challenger_close), frees it and
 * returns rc. */
static int vstate_end(vstate *v, int rc)
{
    role_challenger_close(v->ch, v->m, v->srv, &v->kp);
    free(v);
    return rc;
}

static int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        { "referee", required_argument, 0, 'r' }, { "key", required_argument, 0, 'k' },
        { "listen", required_argument, 0, 'l' },  { "work", required_argument, 0, 'w' },
        { "data-dir", required_argument, 0, 'd' }, { "cheat", required_argument, 0, 'c' },
        { "samples", required_argument, 0, 'n' }, { "party", required_argument, 0, 'P' },
        { "tasks", required_argument, 0, 't' },   { "timeout", required_argument, 0, 'T' },
        { "verbose", no_argument, 0, 'v' },       { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    vstate *v = calloc(1, sizeof *v);
    if (!v)
        return fail(pol_errorf(POL_ERR_NOMEM, "state"));
    const char *referee = NULL, *key_path = NULL, *listen_addr = NULL;
    long tasks = 0, timeout = 600;
    int verbose = 0, c;
    v->data_dir = ".";
    v->samples = POL_VERIFY_ALL;
    while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        int64_t n;
        switch (c) {
        case 'r': referee = optarg; break;
        case 'k': key_path = optarg; break;
        case 'l': listen_addr = optarg; break;
        case 'w': v->work = optarg; break;
        case 'd': v->data_dir = optarg; break;
        case 'c': if (!strcmp(optarg, "lazy")) v->lazy = 1;
                  else if (!strcmp(optarg, "reject")) v->reject = 1;
                  else return vstate_end(v, serve_usage_error("--cheat wants lazy or reject"));
                  break;
        case 'n': if (parse_samples(optarg, &n))
                      return vstate_end(v, serve_usage_error("--samples wants 0..1000000 or all"));
                  v->samples = (uint32_t)n; break;
        case 'P': if (pol_role_peer_add(optarg))
                      return vstate_end(v, serve_usage_error(pol_last_error()));
                  break;
        case 't': if (cli_long(optarg, 0, 1000000, &tasks))
                      return vstate_end(v, serve_usage_error("--tasks wants 0..1000000"));
                  break;
        case 'T': if (cli_long(optarg, 1, POL_ROLE_MAX_TIMEOUT_S, &timeout))
                      return vstate_end(v, serve_usage_error("--timeout wants seconds, 1..2592000"));
                  break;
        case 'v': verbose = 1; break;
        case 'h': fputs(SERVE_USAGE, stdout); return vstate_end(v, 0);
        default: return vstate_end(v, serve_usage_error("unknown option"));
        }
    }
    if (optind != argc)
        return vstate_end(v, serve_usage_error("unexpected argument"));
    if (!referee || !key_path || !listen_addr || !v->work)
        return vstate_end(v, serve_usage_error("serve needs --referee, --key, --listen and --work"));
    pol_status st;
    char blobs[4200], ep[80];
    snprintf(blobs, sizeof blobs, "%s/blobs", v->work);
    if ((st = pol_seckey_load(key_path, &v->kp)) || (st = pol_keypair_pubkey(&v->kp, v->me)) ||
        (st = pol_mkdir_p(v->work)) ||
        (st = pol_role_server_open(listen_addr, &v->kp, blobs, &v->srv)))
        return vstate_end(v, fail(st));
    if ((st = pol_mirror_open(referee, &v->kp, NULL, 10000, &v->m)) ||
        (st = pol_role_challenger_create(v->m, v->work, v->data_dir, &v->ch)))
        return vstate_end(v, fail(st));
    pol_role_server_set_served_fn(v->srv, pol_role_challenger_served_fn, v->ch);
    if (verbose)
        pol_mirror_set_log(v->m, role_game_line, NULL);
    char me_hex[65];
    pol_pubkey_to_hex(v->me, me_hex);
    const char *colon = strrchr(listen_addr, ':');
    snprintf(ep, sizeof ep, "%.*s:%u", colon ? (int)(colon - listen_addr) : 0, listen_addr,
             pol_role_server_port(v->srv));
    printf("verifier   %s serving on %s%s\n", me_hex, ep, v->lazy     ? " (LAZY: test switch)"
                                                  : v->reject ? " (REJECTS ALL: test switch)"
                                                              : "");
    fflush(stdout);
    role_catch_signals();
    const uint64_t end = pol_role_now_ms() + (uint64_t)timeout * 1000u;
    while (!stop_flag && (tasks == 0 || ended(v) < tasks)) {
        if ((st = pol_role_server_poll(v->srv, 100)) || (st = role_sync_or_wait(v->m)))
            break;
        pol_role_challenger_tick(v->ch, v->srv);
        const pol_game *g = pol_mirror_game(v->m);
        for (size_t i = 0; !st && i < pol_game_n_tasks(g); i++) {
            pol_game_task t;
            if (pol_game_task_at(g, i, &t) || t.state != POL_GAME_TASK_SUBMITTED ||
                !memcmp(t.solver, v->me, 32) || !memcmp(t.submitter, v->me, 32) ||
                seen(v->seen, v->n_seen, &t.cert_id))
                continue;
            if (v->n_seen < MAX_SEEN)
                v->seen[v->n_seen++] = t.cert_id;
            st = report_on(v, &t, ep);
            g = pol_mirror_game(v->m);
        }
        if (!st && pol_role_now_ms() > end)
            st = pol_errorf(POL_ERR_TIMEOUT, "gave up after %ld s", timeout);
        if (st)
            break;
    }
    role_print_served(v->srv);
    return vstate_end(v, st ? fail(st) : 0);
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
        printf("pol-verifier (libpol %s, spec %d)\n", pol_version_string(), POL_SPEC_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(argv[1], "serve"))
        return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(argv[1], "profile"))
        return cmd_profile(argc - 1, argv + 1);
    return usage_error("unknown command");
}
