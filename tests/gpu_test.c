/* pol-gpu-test — the CUDA backend against the CPU reference (make gpu-test).
 *
 *   1. every exact op on random inputs (awkward values: subnormals, signed
 *      zeros, tiny normals), odd shapes and every GEMM transpose, under
 *      ten fixed launch configurations and one more drawn from the seed
 *      for each check: the device output must equal the
 *      CPU reference bit for bit (NaN counts as equal to NaN: the payloads
 *      of the two sides may differ, see pol/cuda.h);
 *   2. batches gathered on the device (pol_graph_gather_rows), the host
 *      fallback included; the tiny tasks of spec/vectors/tiny,
 *      examples/tasks/digits.json and the synthetic MLP of bench/mlp_task.h
 *      (784-1024-1024-10, batch 256; --mlp small: 784-32-32-10, batch 16)
 *      trained with the CUDA device and the CPU: identical trace.json
 *      (every checkpoint hash); a CPU checkpoint resumed on the GPU and a
 *      GPU checkpoint resumed on the CPU end on the same final hash;
 *   3. tolerant mode (pol/cuda.h "tolerant"): the cuBLAS GEMM (FP32, TF32
 *      and BF16 math, every transpose, with and without bias) against the
 *      exact reference within an error bound derived from K and the
 *      precision; the routing (a BLAS context's device sends node GEMMs to
 *      cuBLAS, an exact one never does, pol_cuda_gemm stays exact; a
 *      trainer sets its task's gpu_math on the device, spec/task.md
 *      [T-KEY-4]); then the tiny task (once with AdamW, once with SGD and
 *      momentum) and digits (AdamW) trained in tolerant mode on
 *      the GPU and on the CPU (OpenBLAS), and on the GPU again as tasks with
 *      "gpu_math" "tf32" and "bf16": the device runs the math of each task;
 *      with the thresholds of the CPU run's profile made on the CPU alone
 *      (spec/profiling.md [P-RULE-1], gpu off), every interval of the CPU
 *      run re-run on the GPU (cuBLAS FP32) and every interval of the GPU run
 *      re-run on the CPU must end, in every state group the state holds
 *      (the parameters, and AdamW's m and v or SGD's buf, which must be
 *      there), within that group's threshold of the committed checkpoint,
 *      as pol_verify compares them (spec/certificate.md [V-TOL-3]);
 *      TF32 and BF16 re-runs of the CPU run are reported,
 *      not failed, against those FP32 thresholds (both need a profile of
 *      their own math, [P-SRC-2]), except that the parameters of the TF32
 *      re-runs, as of the FP32 ones, must stay below the effect of one
 *      skipped step (BF16's is printed). Each re-run prints every group's
 *      largest l2_rel / threshold;
 *   4. the GPU sources of profiling (spec/profiling.md [P-SRC-2]): the runs
 *      of the TF32 and BF16 tasks profiled with GPU sources required measure
 *      fast/1, blas/1, blas/2, cuda/exact, cublas/fp32 and cublas/tf32 or
 *      cublas/bf16, and every cuda/exact against fast/1 interval distance is
 *      exactly 0 (the exact CUDA kernels equal the CPU bit for bit); the
 *      largest distance of each pair of configurations is printed as the
 *      threshold it alone would give.
 *
 * --kernels-only runs part 1 alone (scripts/gpu-run.sh --sanitize runs it
 * under compute-sanitizer's racecheck, synccheck and initcheck).
 *
 * Prints its seed; POL_TEST_SEED=<seed> replays a run. Exit status 0 when
 * everything passed, 1 on a failure, 2 on bad usage (--help), 77 (skipped)
 * without a usable CUDA device or in a build without CUDA.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "pol/cuda.h"
#include "pol/distance.h"
#include "pol/fileio.h"
#include "pol/graph.h"
#include "pol/profile.h"
#include "pol/safetensors.h"
#include "pol/task.h"
#include "pol/train.h"
#include "mlp_task.h" /* bench/: the synthetic MLP task the benchmarks time */
#include "testutil.h"

static int failures, checks;
static pol_cuda *dev;
static tu_rng rng;

#define ARENA_BYTES ((size_t)16 << 20) /* the largest check takes about 6 MiB */

static int same_bits(float a, float b)
{
    uint32_t x, y;
    memcpy(&x, &a, 4);
    memcpy(&y, &b, 4);
    if (a != a && b != b)
        return 1;
    return x == y;
}

static void fail(const char *fmt, const char *what, long at, float want, float got)
{
    failures++;
    printf("FAIL %s %s at %ld: cpu %a, cuda %a\n", fmt, what, at, (double)want, (double)got);
}

/* ------------------------------------------------------------- kernels -- */

static const pol_cuda_launch CONFIGS[] = {
    /* gemm_tile, gemm_splits, block, grid_max, gemm_vec */
    { 0, 0, 0, 0, 0 },     /* automatic */
    { 1, 1, 256, 0, 0 },   /* 128x128 tiles, no split */
    { 2, 1, 32, 3, 0 },    /* 64x64 tiles, tiny grids */
    { 2, 3, 1024, 1, 0 },  /* split K in 3, one block of 1024 */
    { 2, 64, 96, 7, 0 },   /* one chunk per split */
    { 1, 1, 0, 0, 1 },     /* 128x128 tiles, scalar loads only */
    { 2, 3, 0, 0, 1 },     /* split K in 3, scalar loads only */
    { 3, 1, 0, 0, 0 },     /* 64x64 tiles with a K step of 32 */
    { 3, 3, 0, 0, 1 },     /* the same, K split in 3, scalar loads only */
    { 4, 1, 0, 0, 0 },     /* 128x64 tiles */
    { 5, 1, 0, 0, 0 },     /* the lean 128x128 tile (totals in a workspace) */
    { 5, 1, 0, 0, 1 },     /* the same with scalar loads: tile 1 runs */
};
#define N_CONFIGS ((int)(sizeof CONFIGS / sizeof CONFIGS[0]))

/* One more configuration per check, drawn from the test's seed: every field
 * anywhere in its range (splits up to 64, blocks of 32..1024 threads). */
static pol_cuda_launch random_config(void)
{
    pol_cuda_launch l = { 0 };
    l.gemm_tile = (int)(tu_next(&rng) % 6);
    l.gemm_splits = (int)(tu_next(&rng) % 4 == 0 ? 64 : tu_next(&rng) % 10);
    l.block = (int)(tu_next(&rng) % 33) * 32;
    l.grid_max = (int)(tu_next(&rng) % 10);
    l.gemm_vec = (int)(tu_next(&rng) % 2);
    return l;
}

/* pol_cuda_set_launch takes every field's whole range (each of CONFIGS
 * above, the extremes) and refuses a value beyond it, keeping what was set. */
static void test_launch_range(void)
{
    static const pol_cuda_launch GOOD[] = {
        { 5, 65535, 1024, 1, 1 }, { 0, 0, 32, 0, 0 }, { 3, 2, 992, 5, 0 },
    };
    static const pol_cuda_launch BAD[] = {
        { 6, 0, 0, 0, 0 },  { -1, 0, 0, 0, 0 }, { 0, 65536, 0, 0, 0 }, { 0, -1, 0, 0, 0 },
        { 0, 0, 16, 0, 0 }, { 0, 0, 1056, 0, 0 }, { 0, 0, 48, 0, 0 },  { 0, 0, 0, -1, 0 },
        { 0, 0, 0, 0, 2 },
    };
    int bad = 0;
    for (int i = 0; i < N_CONFIGS; i++)
        bad += pol_cuda_set_launch(dev, &CONFIGS[i]) != POL_OK;
    for (size_t i = 0; i < sizeof GOOD / sizeof GOOD[0]; i++)
        bad += pol_cuda_set_launch(dev, &GOOD[i]) != POL_OK;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++)
        bad += pol_cuda_set_launch(dev, &BAD[i]) != POL_ERR_INVALID_ARG;
    checks++;
    if (bad || pol_cuda_set_launch(dev, NULL)) {
        printf("FAIL pol_cuda_set_launch: %d values judged wrongly\n", bad);
        failures++;
    }
}

/* Runs op on the CPU reference and on the device under every launch
 * configuration, and compares. in[] are host tensors. */
static void check_op(const char *what, pol_op op, const pol_node_params *p, pol_tensor **in, int n_in,
                     int ndim, const int64_t *shape)
{
    pol_tensor want, got, dout;
    pol_tensor din[POL_NODE_MAX_IN];
    const pol_tensor *hin[POL_NODE_MAX_IN], *dinp[POL_NODE_MAX_IN];
    if (pol_tensor_alloc(&want, "out", POL_F32, ndim, shape) ||
        pol_tensor_alloc(&got, "out", POL_F32, ndim, shape)) {
        printf("FAIL %s: host allocation\n", what);
        failures++;
        return;
    }
    for (int i = 0; i < n_in; i++)
        hin[i] = in[i];
    pol_status st = pol_node_eval(op, p, hin, n_in, &want, POL_KERNELS_REF, NULL);
    if (st) {
        printf("FAIL %s: CPU reference: %s\n", what, pol_last_error());
        failures++;
        goto out;
    }
    const pol_cuda_launch drawn = random_config();
    for (int cfg = 0; cfg <= N_CONFIGS; cfg++) {
        const pol_cuda_launch *l = cfg < N_CONFIGS ? &CONFIGS[cfg] : &drawn;
        char cfgs[96];
        snprintf(cfgs, sizeof cfgs,
                 "(config %d: tile %d, splits %d, block %d, grid_max %d, vec %d)", cfg,
                 l->gemm_tile, l->gemm_splits, l->block, l->grid_max, l->gemm_vec);
        pol_cuda_reset(dev);
        st = pol_cuda_set_launch(dev, l);
        for (int i = 0; !st && i < n_in; i++) {
            st = pol_cuda_tensor_alloc(dev, &din[i], in[i]->name, in[i]->dtype, in[i]->ndim,
                                       in[i]->shape);
            if (!st)
                st = pol_cuda_upload(dev, din[i].data, in[i]->data, in[i]->nbytes);
            dinp[i] = &din[i];
        }
        if (!st)
            st = pol_cuda_tensor_alloc(dev, &dout, "out", POL_F32, ndim, shape);
        if (!st)
            st = pol_cuda_node_eval(dev, op, p, dinp, n_in, &dout);
        if (!st)
            st = pol_cuda_download(dev, got.data, dout.data, got.nbytes);
        checks++;
        if (st) {
            printf("FAIL %s %s: %s\n", what, cfgs, pol_last_error());
            failures++;
            continue;
        }
        const float *a = pol_f32(&want), *b = pol_f32(&got);
        int64_t n = pol_tensor_numel(&want);
        for (int64_t i = 0; i < n; i++)
            if (!same_bits(a[i], b[i])) {
                fail(cfgs, what, (long)i, a[i], b[i]);
                break;
            }
    }
out:
    (void)!pol_cuda_set_launch(dev, NULL);
    pol_tensor_free(&want);
    pol_tensor_free(&got);
}

static pol_tensor *host(const char *name, int ndim, const int64_t *shape, float scale)
{
    pol_tensor *t = calloc(1, sizeof *t);
    if (!t || pol_tensor_alloc(t, name, POL_F32, ndim, shape)) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    tu_fill_awkward(&rng, pol_f32(t), (size_t)pol_tensor_numel(t), scale);
    return t;
}

static void drop(pol_tensor **t, int n)
{
    for (int i = 0; i < n; i++) {
        pol_tensor_free(t[i]);
        free(t[i]);
    }
}

static void test_gemm(void)
{
    static const int64_t S[][3] = { /* M, N, K */
        { 1, 1, 1 },     { 7, 13, 5 },    { 33, 65, 257 },  { 64, 64, 256 }, { 130, 97, 513 },
        { 3, 5, 1000 },  { 256, 10, 1024 }, { 129, 200, 17 }, { 300, 129, 768 },
        /* every operand float4-readable, several chunks, a last K tile of 4:
         * tile 5's kernel (it falls back to tile 1 otherwise) */
        { 132, 68, 772 }, { 8, 12, 0 },
    };
    for (size_t s = 0; s < sizeof S / sizeof S[0]; s++) {
        const int64_t M = S[s][0], N = S[s][1], K = S[s][2];
        char what[96];
        for (int t = 0; t < 4; t++) {
            pol_node_params p = { 0 };
            p.trans_a = t & 1, p.trans_b = t >> 1;
            pol_tensor *in[2];
            in[0] = host("A", 2, p.trans_a ? (int64_t[]){ K, M } : (int64_t[]){ M, K }, 2.0f);
            in[1] = host("B", 2, p.trans_b ? (int64_t[]){ N, K } : (int64_t[]){ K, N }, 2.0f);
            snprintf(what, sizeof what, "matmul %lldx%lldx%lld ta=%d tb=%d", (long long)M,
                     (long long)N, (long long)K, p.trans_a, p.trans_b);
            check_op(what, POL_OP_MATMUL, &p, in, 2, 2, (int64_t[]){ M, N });
            drop(in, 2);
        }
        pol_tensor *in[3] = { host("x", 2, (int64_t[]){ M, K }, 2.0f),
                              host("W", 2, (int64_t[]){ N, K }, 2.0f),
                              host("b", 1, (int64_t[]){ N }, 2.0f) };
        snprintf(what, sizeof what, "linear %lldx%lldx%lld", (long long)M, (long long)N, (long long)K);
        check_op(what, POL_OP_LINEAR, NULL, in, 3, 2, (int64_t[]){ M, N });
        drop(in, 3);
    }
}

static void test_elementwise(void)
{
    static const int64_t NS[] = { 1, 1000, 100003 };
    for (size_t s = 0; s < sizeof NS / sizeof NS[0]; s++) {
        const int64_t n = NS[s];
        char what[64];
        pol_node_params p = { 0 };
        p.beta1 = 0.9f, p.beta2 = 0.999f, p.eps = 1e-8f, p.wd = 0.01f;
        pol_tensor *a = host("a", 1, &n, 8.0f), *b = host("b", 1, &n, 1.0f),
                   *c = host("c", 1, &n, 1.0f), *v = host("v", 1, &n, 1.0f);
        float *vv = pol_f32(v); /* the second moment is >= 0 */
        for (int64_t i = 0; i < n; i++)
            vv[i] = vv[i] < 0 ? -vv[i] : vv[i];
        pol_tensor *hy = host("hyper", 1, (int64_t[]){ POL_HYPER_LEN }, 1.0f);
        float *h = pol_f32(hy);
        h[0] = 3e-3f, h[1] = 1.0f - 0.9f * 0.9f * 0.9f, h[2] = 1.0f - 0.999f * 0.999f * 0.999f, h[3] = 0;
        struct { const char *name; pol_op op; pol_tensor *in[4]; int n_in; } cases[] = {
            { "relu", POL_OP_RELU, { a }, 1 },
            { "gelu", POL_OP_GELU, { a }, 1 },
            { "relu_bwd", POL_OP_RELU_BWD, { a, b }, 2 },
            { "gelu_bwd", POL_OP_GELU_BWD, { a, b }, 2 },
            { "adam_m", POL_OP_ADAM_M, { b, c }, 2 },
            { "adam_v", POL_OP_ADAM_V, { v, c }, 2 },
            { "adamw_param", POL_OP_ADAMW_PARAM, { a, b, v, hy }, 4 },
            { "sgd_buf", POL_OP_SGD_BUF, { b, c, a }, 3 },
            { "sgd_param", POL_OP_SGD_PARAM, { a, b, hy }, 3 },
        };
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            snprintf(what, sizeof what, "%s n=%lld", cases[k].name, (long long)n);
            check_op(what, cases[k].op, &p, cases[k].in, cases[k].n_in, 1, &n);
        }
        pol_tensor *all[] = { a, b, c, v, hy };
        drop(all, 5);
    }
}

static void test_rows_and_columns(void)
{
    static const int64_t BG[][2] = { { 1, 1 }, { 300, 37 }, { 600, 5 }, { 256, 1024 } };
    char what[64];
    for (size_t s = 0; s < sizeof BG / sizeof BG[0]; s++) {
        pol_tensor *dy = host("dy", 2, BG[s], 1.0f);
        snprintf(what, sizeof what, "bias_grad %lldx%lld", (long long)BG[s][0], (long long)BG[s][1]);
        check_op(what, POL_OP_BIAS_GRAD, NULL, &dy, 1, 1, &BG[s][1]);
        drop(&dy, 1);
    }
    static const int64_t XS[][2] = { { 1, 1 }, { 40, 10 }, { 300, 3 }, { 7, 300 }, { 513, 10 } };
    for (size_t s = 0; s < sizeof XS / sizeof XS[0]; s++) {
        const int64_t B = XS[s][0], C = XS[s][1];
        pol_tensor *in[2] = { host("logits", 2, XS[s], 10.0f), calloc(1, sizeof(pol_tensor)) };
        if (!in[1] || pol_tensor_alloc(in[1], "labels", POL_I32, 1, &B))
            exit(1);
        for (int64_t i = 0; i < B; i++)
            pol_i32(in[1])[i] = (int32_t)(tu_next(&rng) % (uint64_t)C);
        snprintf(what, sizeof what, "xent_loss %lldx%lld", (long long)B, (long long)C);
        check_op(what, POL_OP_XENT_LOSS, NULL, in, 2, 0, NULL);
        snprintf(what, sizeof what, "xent_bwd %lldx%lld", (long long)B, (long long)C);
        check_op(what, POL_OP_XENT_BWD, NULL, in, 2, 2, XS[s]);
        drop(in, 2);
    }
}

/* pol_graph_gather_rows on the device: a graph fed from six sources in
 * turn. The mirror keeps four (POL_CUDA_MAX_SOURCES); the others take the
 * host path, whose rows the next evaluation uploads. Each step gathers
 * twice before evaluating (from the next source, then from this one): every
 * evaluation must see exactly the rows of the last gather, whichever paths
 * fed the two. */
static void test_gather_rows(void)
{
    enum { NSRC = 6, ROWS = 10, D = 12, B = 5 };
    checks++;
    pol_ctx *ctx = NULL;
    pol_graph *g = NULL;
    pol_tensor src[NSRC];
    int made = 0, x = -1, y = -1, bad = 0;
    pol_ctx_opts o = { .threads = 1, .kernels = POL_KERNELS_FAST, .device = POL_DEVICE_CUDA };
    pol_status st = pol_ctx_create(&ctx, &o);
    if (!st) st = pol_graph_create(&g);
    if (!st) st = pol_graph_add_tensor(g, "x", POL_TENSOR_INPUT, POL_F32, 2, (int64_t[]){ B, D }, &x);
    if (!st) st = pol_graph_add_node(g, POL_OP_RELU, "y", (int[]){ x }, 1, NULL, &y);
    if (!st) pol_graph_freeze(g);
    for (; !st && made < NSRC; made++) {
        st = pol_tensor_alloc(&src[made], "src", POL_F32, 2, (int64_t[]){ ROWS, D });
        for (int i = 0; !st && i < ROWS * D; i++) /* distinct values per source, half negative */
            pol_f32(&src[made])[i] = (float)(made * 1000 + i) * (i % 2 ? -1.0f : 1.0f);
    }
    for (int step = 0; !st && !bad && step < 3 * NSRC; step++) {
        const int k = step % NSRC;
        uint32_t rows[B];
        for (int r = 0; r < B; r++)
            rows[r] = (uint32_t)(tu_next(&rng) % ROWS);
        /* a gather from the next source first, overwritten before the
         * evaluation: device then host, host then device, ... */
        st = pol_graph_gather_rows(g, ctx, x, &src[(k + 1) % NSRC], rows);
        for (int r = 0; r < B; r++)
            rows[r] = (uint32_t)(tu_next(&rng) % ROWS);
        if (!st) st = pol_graph_gather_rows(g, ctx, x, &src[k], rows);
        if (!st) st = pol_graph_eval(g, ctx);
        if (!st) st = pol_graph_download(g, y);
        const float *out = pol_f32(pol_graph_tensor(g, y));
        for (int r = 0; !st && !bad && r < B; r++)
            for (int c = 0; c < D; c++) {
                const float v = pol_f32(&src[k])[rows[r] * D + (uint32_t)c];
                if (!same_bits(out[r * D + c], v > 0.0f ? v : 0.0f)) {
                    printf("FAIL gather rows: step %d, source %d, row %d col %d: %g, want %g\n",
                           step, k, r, c, out[r * D + c], v > 0.0f ? v : 0.0f);
                    failures++, bad = 1;
                    break;
                }
            }
    }
    if (st) {
        printf("FAIL gather rows: %s\n", pol_last_error());
        failures++;
    } else if (!bad) {
        printf("ok   gather rows: %d sources in turn, on the device and (past %d) on the host\n",
               NSRC, POL_CUDA_MAX_SOURCES);
    }
    for (int i = 0; i < made; i++)
        pol_tensor_free(&src[i]);
    pol_graph_destroy(g);
    pol_ctx_destroy(ctx);
}

/* ------------------------------------------------------------ training -- */

static pol_status train(int device, const char *task, const char *out, const char *from,
                        pol_digest *final)
{
    pol_ctx_opts o = { .threads = 2, .kernels = POL_KERNELS_FAST, .device = device };
    pol_ctx *ctx;
    pol_status st = pol_ctx_create(&ctx, &o);
    if (st)
        return st;
    pol_run_opts ro = { .task_path = task, .out_dir = out, .from = from };
    pol_run_result r;
    st = pol_run_train(ctx, &ro, &r);
    pol_ctx_destroy(ctx);
    if (!st)
        *final = r.final_state_hash;
    return st;
}

static int same_file(const char *a, const char *b)
{
    uint8_t *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int same = !pol_read_file(a, 64u << 20, &x, &nx) && !pol_read_file(b, 64u << 20, &y, &ny) &&
               nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return same;
}

static void check_training(const char *task, uint64_t resume_step)
{
    char dir[4][512], path[2][600], ckpt[2][600];
    for (int i = 0; i < 4; i++)
        snprintf(dir[i], sizeof dir[i], "%s/run%d", tu_tmpdir(), i);
    pol_digest h[4];
    checks++;
    pol_status st = train(POL_DEVICE_CPU, task, dir[0], NULL, &h[0]);
    if (!st)
        st = train(POL_DEVICE_CUDA, task, dir[1], NULL, &h[1]);
    if (st) {
        printf("FAIL train %s: %s\n", task, pol_last_error());
        failures++;
        return;
    }
    for (int i = 0; i < 2; i++)
        snprintf(path[i], sizeof path[i], "%s/trace.json", dir[i]);
    if (!same_file(path[0], path[1]) || memcmp(h[0].b, h[1].b, 32)) {
        printf("FAIL train %s: CPU and CUDA traces differ (%s vs %s)\n", task, path[0], path[1]);
        failures++;
        return;
    }
    /* cross resumes: CPU checkpoint -> CUDA, CUDA checkpoint -> CPU */
    for (int i = 0; i < 2; i++)
        snprintf(ckpt[i], sizeof ckpt[i], "%s/ckpt-%08" PRIu64 ".safetensors", dir[i], resume_step);
    checks++;
    st = train(POL_DEVICE_CUDA, task, dir[2], ckpt[0], &h[2]);
    if (!st)
        st = train(POL_DEVICE_CPU, task, dir[3], ckpt[1], &h[3]);
    if (st || memcmp(h[2].b, h[0].b, 32) || memcmp(h[3].b, h[0].b, 32)) {
        printf("FAIL resume %s at step %" PRIu64 ": %s\n", task, resume_step,
               st ? pol_last_error() : "final hashes differ");
        failures++;
        return;
    }
    printf("ok   train %s: CPU == CUDA, cross resumes from step %" PRIu64 " agree\n", task,
           resume_step);
}

/* ------------------------------------------------------- tolerant mode -- */

/* Bound on |cuBLAS C - exact C| for one output with S = sum_k |a_ik b_kj| +
 * |bias_j|. Each side is some order of the same K + 1 binary32 additions
 * (products fused or not), so each is within gamma_{K+2} * S of the true
 * value, gamma_n = n u / (1 - n u) (Higham, Accuracy and Stability of
 * Numerical Algorithms, 3.1); u is taken as 2^-23, twice binary32's unit
 * roundoff, so the bound also holds for an accumulator that truncates
 * instead of rounding. TF32 rounds (or truncates) each input to a 10-bit
 * significand first, BF16 to a 7-bit one (cuBLAS may pick TF32 for it, which
 * is closer): a product is off by up to (2 v + v^2) |a b| with v = 2^-10
 * for TF32 and v = 2^-7 for BF16 (one unit in the last place of the
 * reduced significand: a truncation's error, twice a rounding's). The bound
 * is the worst case; a wrong element (a transposed operand, a wrong leading
 * dimension) is off by about |C| ~ S / sqrt(K), far above it for FP32, and
 * above it for TF32 and BF16 at the sizes used here (K <= 1024, so
 * S / sqrt(K) >= S / 32 against 2^-6 S for BF16). */
static double gemm_bound(double S, int64_t K, pol_gpu_math math)
{
    const double u = 0x1p-23, n = (double)K + 2.0;
    double b = 2.0 * (n * u / (1.0 - n * u)) * S;
    const double v = math == POL_GPU_MATH_TF32 ? 0x1p-10 : math == POL_GPU_MATH_BF16 ? 0x1p-7 : 0.0;
    b += (2.0 * v + v * v) * S * (1.0 + n * u / (1.0 - n * u));
    return b;
}

static const char *math_label(pol_gpu_math m)
{
    return m == POL_GPU_MATH_TF32 ? "TF32" : m == POL_GPU_MATH_BF16 ? "BF16" : "FP32";
}

/* pol_cuda_blas_gemm (via_node: pol_cuda_node_eval with tolerant routing)
 * against pol_ref_gemm on the host, elementwise within gemm_bound. */
static void check_blas_gemm(int64_t M, int64_t N, int64_t K, int ta, int tb, int bias,
                            pol_gpu_math math, int via_node)
{
    char what[128];
    snprintf(what, sizeof what, "cuBLAS %s %lldx%lldx%lld ta=%d tb=%d bias=%d%s",
             math_label(math), (long long)M, (long long)N, (long long)K, ta, tb, bias,
             via_node ? " (node)" : "");
    const size_t na = (size_t)(M * K), nb = (size_t)(K * N), nc = (size_t)(M * N);
    float *A = malloc((na ? na : 1) * 4), *B = malloc((nb ? nb : 1) * 4),
          *bv = malloc((size_t)(N ? N : 1) * 4), *want = malloc((nc ? nc : 1) * 4),
          *got = malloc((nc ? nc : 1) * 4);
    if (!A || !B || !bv || !want || !got) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    tu_fill_uniform(&rng, A, na, -1.0f, 1.0f);
    tu_fill_uniform(&rng, B, nb, -1.0f, 1.0f);
    tu_fill_uniform(&rng, bv, (size_t)N, -1.0f, 1.0f);
    pol_gemm_args g = { 0 };
    g.M = M, g.N = N, g.K = K, g.trans_a = ta, g.trans_b = tb;
    g.A = A, g.B = B, g.bias = bias ? bv : NULL, g.C = want;
    pol_ref_gemm(&g);
    checks++;
    pol_cuda_reset(dev);
    pol_tensor dA, dB, db, dC;
    pol_status st = pol_cuda_set_math(dev, math);
    if (!st)
        st = pol_cuda_tensor_alloc(dev, &dA, "A", POL_F32, 2,
                                   ta ? (int64_t[]){ K, M } : (int64_t[]){ M, K });
    if (!st)
        st = pol_cuda_tensor_alloc(dev, &dB, "B", POL_F32, 2,
                                   tb ? (int64_t[]){ N, K } : (int64_t[]){ K, N });
    if (!st)
        st = pol_cuda_tensor_alloc(dev, &db, "b", POL_F32, 1, &N);
    if (!st)
        st = pol_cuda_tensor_alloc(dev, &dC, "out", POL_F32, 2, (int64_t[]){ M, N });
    if (!st)
        st = pol_cuda_upload(dev, dA.data, A, na * 4);
    if (!st)
        st = pol_cuda_upload(dev, dB.data, B, nb * 4);
    if (!st)
        st = pol_cuda_upload(dev, db.data, bv, (size_t)N * 4);
    /* C is overwritten, never read: start it as NaN */
    memset(got, 0xff, (nc ? nc : 1) * 4);
    if (!st)
        st = pol_cuda_upload(dev, dC.data, got, nc * 4);
    if (!st && via_node) {
        pol_node_params p = { 0 };
        p.trans_a = ta, p.trans_b = tb;
        const pol_tensor *in[3] = { &dA, &dB, &db };
        st = pol_cuda_set_tolerant(dev, 1);
        if (!st)
            st = bias ? pol_cuda_node_eval(dev, POL_OP_LINEAR, NULL, in, 3, &dC)
                      : pol_cuda_node_eval(dev, POL_OP_MATMUL, &p, in, 2, &dC);
        (void)!pol_cuda_set_tolerant(dev, 0);
    } else if (!st) {
        pol_gemm_args d = g;
        d.A = dA.data, d.B = dB.data, d.bias = bias ? db.data : NULL, d.C = dC.data;
        st = pol_cuda_blas_gemm(dev, &d);
    }
    if (!st)
        st = pol_cuda_download(dev, got, dC.data, nc * 4);
    (void)!pol_cuda_set_math(dev, POL_GPU_MATH_FP32);
    if (st) {
        printf("FAIL %s: %s\n", what, pol_last_error());
        failures++;
        goto out;
    }
    double worst = 0.0; /* largest error / bound */
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double S = bias ? fabs((double)bv[j]) : 0.0;
            for (int64_t k = 0; k < K; k++) {
                const double a = ta ? A[k * M + i] : A[i * K + k];
                const double b = tb ? B[j * K + k] : B[k * N + j];
                S += fabs(a * b);
            }
            const double w = want[i * N + j], x = got[i * N + j];
            const double err = fabs(x - w), bound = gemm_bound(S, K, math);
            /* exact agreement needed where the bound is 0 (K = 0: C = bias or 0) */
            if (!(err <= bound) || (bound == 0.0 && !same_bits((float)w, (float)x))) {
                printf("FAIL %s at (%lld, %lld): exact %a, cuBLAS %a, bound %.3g\n", what,
                       (long long)i, (long long)j, w, x, bound);
                failures++;
                goto out;
            }
            if (bound > 0.0 && err / bound > worst)
                worst = err / bound;
        }
    if (M * N * K >= (int64_t)1 << 24)
        printf("ok   %s: largest error %.3g of the bound\n", what, worst);
out:
    free(A), free(B), free(bv), free(want), free(got);
}

static void test_blas_gemm(void)
{
    if (pol_cuda_tolerant(dev) || pol_cuda_math(dev) != POL_GPU_MATH_FP32) {
        printf("FAIL a fresh pol_cuda is not exact with FP32 math\n");
        failures++;
    }
    static const int64_t S[][3] = { /* M, N, K */
        { 1, 1, 1 },    { 7, 13, 5 },       { 33, 65, 257 }, { 130, 97, 513 },
        { 3, 5, 1000 }, { 256, 10, 1024 },  { 300, 129, 768 }, { 4, 6, 0 },
        { 0, 5, 7 },    { 256, 1024, 784 }, { 1024, 784, 256 },
    };
    static const pol_gpu_math MATH[] = { POL_GPU_MATH_FP32, POL_GPU_MATH_TF32, POL_GPU_MATH_BF16 };
    for (size_t s = 0; s < sizeof S / sizeof S[0]; s++)
        for (int t = 0; t < 4; t++)
            for (int m = 0; m < 3; m++)
                check_blas_gemm(S[s][0], S[s][1], S[s][2], t & 1, t >> 1, (int)((s + t) & 1),
                                MATH[m], 0);
    /* K = 0 with a bias (BF16 too: no product, C = bias exactly); and the
     * node path (linear with bias, matmul) */
    check_blas_gemm(5, 9, 0, 0, 1, 1, POL_GPU_MATH_FP32, 0);
    check_blas_gemm(5, 9, 0, 0, 1, 1, POL_GPU_MATH_BF16, 0);
    check_blas_gemm(256, 1024, 784, 0, 1, 1, POL_GPU_MATH_FP32, 1);
    check_blas_gemm(256, 1024, 784, 0, 1, 1, POL_GPU_MATH_TF32, 1);
    check_blas_gemm(256, 1024, 784, 0, 1, 1, POL_GPU_MATH_BF16, 1);
    check_blas_gemm(1024, 784, 256, 1, 0, 0, POL_GPU_MATH_FP32, 1);
    check_blas_gemm(256, 784, 1024, 0, 0, 0, POL_GPU_MATH_TF32, 1);
    check_blas_gemm(256, 784, 1024, 0, 0, 0, POL_GPU_MATH_BF16, 1);
    /* the setting: unknown values are refused and change nothing */
    checks++;
    if (pol_cuda_set_math(dev, POL_GPU_MATH_BF16) ||
        pol_cuda_set_math(dev, (pol_gpu_math)7) != POL_ERR_INVALID_ARG ||
        pol_cuda_math(dev) != POL_GPU_MATH_BF16 || pol_cuda_set_math(dev, POL_GPU_MATH_FP32) ||
        pol_cuda_math(dev) != POL_GPU_MATH_FP32 || pol_cuda_math(NULL) != POL_GPU_MATH_FP32) {
        printf("FAIL pol_cuda_set_math / pol_cuda_math\n");
        failures++;
    }

    /* pol_cuda_gemm stays exact while tolerant routing is on; the exact
     * node GEMM is exact again once it is off */
    pol_tensor *in[2] = { host("A", 2, (int64_t[]){ 130, 513 }, 2.0f),
                          host("B", 2, (int64_t[]){ 513, 97 }, 2.0f) };
    pol_tensor want, got;
    checks++;
    if (pol_tensor_alloc(&want, "out", POL_F32, 2, (int64_t[]){ 130, 97 }) ||
        pol_tensor_alloc(&got, "out", POL_F32, 2, (int64_t[]){ 130, 97 }))
        exit(1);
    pol_gemm_args g = { .M = 130, .N = 97, .K = 513, .A = pol_f32(in[0]), .B = pol_f32(in[1]),
                        .C = pol_f32(&want) };
    pol_ref_gemm(&g);
    pol_cuda_reset(dev);
    void *dA = NULL, *dB = NULL, *dC = NULL;
    pol_status st = pol_cuda_set_tolerant(dev, 1);
    if (!st) st = pol_cuda_alloc(dev, in[0]->nbytes, &dA);
    if (!st) st = pol_cuda_alloc(dev, in[1]->nbytes, &dB);
    if (!st) st = pol_cuda_alloc(dev, want.nbytes, &dC);
    if (!st) st = pol_cuda_upload(dev, dA, in[0]->data, in[0]->nbytes);
    if (!st) st = pol_cuda_upload(dev, dB, in[1]->data, in[1]->nbytes);
    pol_gemm_args d = g;
    d.A = dA, d.B = dB, d.C = dC;
    if (!st) st = pol_cuda_gemm(dev, &d);
    if (!st) st = pol_cuda_download(dev, got.data, dC, got.nbytes);
    (void)!pol_cuda_set_tolerant(dev, 0);
    if (st || memcmp(want.data, got.data, want.nbytes)) {
        printf("FAIL pol_cuda_gemm with tolerant routing on is not exact: %s\n",
               st ? pol_last_error() : "bits differ");
        failures++;
    }
    pol_tensor_free(&want);
    pol_tensor_free(&got);
    check_op("matmul 130x97x513 after tolerant routing off", POL_OP_MATMUL,
             &(pol_node_params){ 0 }, in, 2, 2, (int64_t[]){ 130, 97 });
    drop(in, 2);
}

/* A context's device is tolerant exactly when its kernels are BLAS, and an
 * exact-mode task refuses such a context. A trainer sets its task's
 * gpu_math on the device when it is made and before each step, so two
 * trainers of tasks of different math take turns on one context; an
 * unknown math is refused. */
/* The routing of a task's gpu_math (spec/task.md [T-KEY-4]) on a cuBLAS
 * context: the tiny golden task made tolerant, once per math. */
static void check_math_routing(pol_ctx *ctx)
{
    pol_task fp32, bf16, tf32;
    pol_dataset ds;
    checks++;
    if (pol_task_load("spec/vectors/tiny/adamw-gelu.json", &fp32) ||
        pol_dataset_load(fp32.dataset_path, &fp32.dataset_sha256, fp32.sizes[0],
                         fp32.sizes[fp32.n_layers], &ds)) {
        printf("FAIL math routing setup: %s\n", pol_last_error());
        failures++;
        return;
    }
    fp32.mode = POL_MODE_TOLERANT;
    bf16 = fp32, tf32 = fp32;
    bf16.gpu_math = POL_GPU_MATH_BF16, tf32.gpu_math = POL_GPU_MATH_TF32;
    pol_cuda *c = pol_ctx_cuda(ctx);
    pol_trainer *a = NULL, *b = NULL, *bad = NULL;
    const char *why = NULL;
    /* room for two graph mirrors at once (the arena grows only while empty) */
    if (pol_cuda_reserve(c, (size_t)64 << 20))
        why = "a 64 MiB arena";
    else if (pol_trainer_create(&a, ctx, &bf16, &ds))
        why = "a bf16 task's trainer";
    else if (pol_cuda_math(c) != POL_GPU_MATH_BF16)
        why = "creating a bf16 task's trainer left another math on the device";
    else if (pol_trainer_create(&b, ctx, &tf32, &ds))
        why = "a tf32 task's trainer";
    else if (pol_cuda_math(c) != POL_GPU_MATH_TF32)
        why = "creating a tf32 task's trainer left another math on the device";
    else if (pol_trainer_step(a, NULL) || pol_cuda_math(c) != POL_GPU_MATH_BF16)
        why = "a step of the bf16 task did not run with BF16";
    else if (pol_trainer_step(b, NULL) || pol_cuda_math(c) != POL_GPU_MATH_TF32)
        why = "a step of the tf32 task did not run with TF32";
    else if (pol_cuda_set_math(c, POL_GPU_MATH_FP32) || pol_trainer_step(a, NULL) ||
             pol_cuda_math(c) != POL_GPU_MATH_BF16)
        why = "a step did not restore its task's math over a hand-made setting";
    else {
        pol_trainer_destroy(b);
        b = NULL;
        if (pol_trainer_create(&b, ctx, &fp32, &ds) || pol_cuda_math(c) != POL_GPU_MATH_FP32)
            why = "a task without gpu_math did not set FP32";
        else {
            pol_task odd = fp32;
            odd.gpu_math = (pol_gpu_math)9;
            if (pol_trainer_create(&bad, ctx, &odd, &ds) != POL_ERR_INVALID_ARG || bad ||
                pol_cuda_math(c) != POL_GPU_MATH_FP32)
                why = "an unknown gpu_math was not refused cleanly";
        }
    }
    if (why) {
        printf("FAIL math routing: %s (%s)\n", why, pol_last_error());
        failures++;
    } else {
        printf("ok   math routing: each trainer runs its task's gpu_math on a shared context\n");
    }
    pol_trainer_destroy(a);
    pol_trainer_destroy(b);
    pol_trainer_destroy(bad);
    pol_dataset_free(&ds);
}

static void test_tolerant_context(void)
{
    static const pol_kernels K[] = { POL_KERNELS_FAST, POL_KERNELS_REF, POL_KERNELS_BLAS };
    for (int i = 0; i < 3; i++) {
        pol_ctx_opts o = { .threads = 1, .kernels = K[i], .device = POL_DEVICE_CUDA };
        pol_ctx *ctx;
        checks++;
        if (pol_ctx_create(&ctx, &o)) {
            printf("FAIL CUDA context (kernels %d): %s\n", (int)K[i], pol_last_error());
            failures++;
            continue;
        }
        if (pol_cuda_tolerant(pol_ctx_cuda(ctx)) != (K[i] == POL_KERNELS_BLAS)) {
            printf("FAIL CUDA context with kernels %d: tolerant routing %d\n", (int)K[i],
                   pol_cuda_tolerant(pol_ctx_cuda(ctx)));
            failures++;
        }
        if (K[i] == POL_KERNELS_BLAS) {
            char out[600];
            snprintf(out, sizeof out, "%s/exact-on-blas", tu_tmpdir());
            pol_run_opts ro = { .task_path = "spec/vectors/tiny/sgd-relu.json", .out_dir = out };
            pol_run_result r;
            if (pol_run_train(ctx, &ro, &r) != POL_ERR_UNSUPPORTED) {
                printf("FAIL an exact-mode task ran on a tolerant CUDA context\n");
                failures++;
            }
            check_math_routing(ctx);
        }
        pol_ctx_destroy(ctx);
    }
}

/* The tiny task made tolerant and wider (K = 320, as tests/test_tolerant.c)
 * with the optimizer opt (a JSON object), written to path. */
static int write_tiny_tolerant(const char *path, const char *opt)
{
    char data[4096];
    if (!realpath("spec/vectors/tiny/tiny.safetensors", data))
        return -1;
    char buf[4096];
    int n = snprintf(buf, sizeof buf,
        "{\"format\":\"libpol-task-v1\","
        "\"model\":{\"type\":\"mlp\",\"layers\":[6,320,64,3],\"activation\":\"gelu\"},"
        "\"dataset\":{\"path\":\"%s\",\"sha256\":"
        "\"7e04c78ec915dbc4db2e0f46adfaef293338b5f70a2aa5f6a9a90024ba3f0595\"},"
        "\"seed\":1,\"steps\":14,\"batch_size\":16,\"checkpoint_every\":4,"
        "\"optimizer\":%s,"
        "\"schedule\":{\"type\":\"warmup_cosine\",\"warmup_steps\":3,\"min_lr\":0.001},"
        "\"mode\":\"tolerant\"}\n", data, opt);
    return n <= 0 || (size_t)n >= sizeof buf || pol_write_file_atomic(path, buf, (size_t)n, 1)
               ? -1 : 0;
}

/* The tolerant tasks, written to tmp: the tiny task with AdamW (state
 * groups parameters, m, v) and with SGD and momentum (parameters, buf), and
 * the digits task (AdamW) made tolerant. */
static int write_tolerant_tasks(char *tiny, char *tiny_sgd, char *digits, size_t cap)
{
    snprintf(tiny, cap, "%s/tiny-tolerant.json", tu_tmpdir());
    snprintf(tiny_sgd, cap, "%s/tiny-sgd-tolerant.json", tu_tmpdir());
    if (write_tiny_tolerant(tiny, "{\"type\":\"adamw\",\"lr\":0.01,\"weight_decay\":0.05}") ||
        write_tiny_tolerant(tiny_sgd, "{\"type\":\"sgd\",\"lr\":0.1,\"momentum\":0.9,"
                                      "\"weight_decay\":0.001}"))
        return -1;
    char data[4096];
    /* digits.json as shipped, with mode tolerant and an absolute dataset path */
    uint8_t *src = NULL;
    size_t len = 0;
    if (pol_read_file("examples/tasks/digits.json", 1u << 20, &src, &len) ||
        !realpath("examples/data/digits.safetensors", data))
        return free(src), -1;
    char *t = calloc(1, len + 8192), *o = t;
    const char *p = (const char *)src, *end = p + len;
    const char *rel = "\"../data/digits.safetensors\"", *exact = "\"exact\"";
    int swapped = 0;
    while (t && p < end) {
        if ((size_t)(end - p) >= strlen(rel) && !memcmp(p, rel, strlen(rel))) {
            o += sprintf(o, "\"%s\"", data), p += strlen(rel), swapped |= 1;
        } else if ((size_t)(end - p) >= strlen(exact) && !memcmp(p, exact, strlen(exact))) {
            o += sprintf(o, "\"tolerant\""), p += strlen(exact), swapped |= 2;
        } else {
            *o++ = *p++;
        }
    }
    free(src);
    snprintf(digits, cap, "%s/digits-tolerant.json", tu_tmpdir());
    int bad = !t || swapped != 3 || pol_write_file_atomic(digits, t, (size_t)(o - t), 1);
    free(t);
    return bad ? -1 : 0;
}

/* The tolerant task at path with "gpu_math": math added after its mode,
 * written beside it as <path without .json>-<math>.json (out). */
static int write_math_variant(const char *path, const char *math, char *out, size_t cap)
{
    uint8_t *src = NULL;
    size_t len = 0;
    if (pol_read_file(path, 1u << 20, &src, &len))
        return -1;
    const char *key = "\"tolerant\"";
    const char *at = memmem(src, len, key, strlen(key));
    char *t = malloc(len + 64);
    int n = -1;
    if (at && t)
        n = snprintf(t, len + 64, "%.*s\"tolerant\",\"gpu_math\":\"%s\"%.*s",
                     (int)(at - (const char *)src), (const char *)src, math,
                     (int)(len - (size_t)(at - (const char *)src) - strlen(key)),
                     at + strlen(key));
    snprintf(out, cap, "%.*s-%s.json", (int)(strlen(path) - 5), path, math);
    int bad = n < 0 || pol_write_file_atomic(out, t, (size_t)n, 1);
    free(src);
    free(t);
    return bad ? -1 : 0;
}

static pol_status make_ctx(pol_ctx **ctx, int device)
{
    pol_ctx_opts o = { .threads = 1, .kernels = POL_KERNELS_BLAS, .device = device };
    return pol_ctx_create(ctx, &o);
}

/* The limits a re-run is held to, from a profile's whole intervals in
 * l2_rel: the thresholds of every state group as a verifier takes them, and
 * the parameters' one-skipped-step distances (one_step_min, 0 when not
 * measured) in the same form, so that pol_threshold_for picks both by
 * [P-RULE-2]. */
typedef struct tol_limits {
    pol_threshold *thr, *skip;
    size_t n_thr, n_skip;
} tol_limits;

static pol_status tol_limits_from(const pol_profile *p, tol_limits *l)
{
    l->n_thr = l->n_skip = 0;
    l->thr = calloc(p->n_stats + 1, sizeof *l->thr);
    l->skip = calloc(p->n_stats + 1, sizeof *l->skip);
    if (!l->thr || !l->skip)
        return pol_errorf(POL_ERR_NOMEM, "threshold lists");
    for (size_t k = 0; k < p->n_stats; k++) {
        const pol_profile_stat *ps = &p->stats[k];
        if (ps->op[0] || ps->metric != POL_METRIC_L2_REL)
            continue;
        l->thr[l->n_thr++] = (pol_threshold){ ps->interval_len, ps->threshold, ps->group };
        if (ps->group == POL_GROUP_PARAMS)
            l->skip[l->n_skip++] = (pol_threshold){ ps->interval_len, ps->one_step_min,
                                                    POL_GROUP_PARAMS };
    }
    return POL_OK;
}

static void tol_limits_free(tol_limits *l)
{
    free(l->thr);
    free(l->skip);
}

/* "parameters" or the group's name ("m", "v", "buf"). */
static const char *group_word(int g)
{
    return g == POL_GROUP_PARAMS ? "parameters" : pol_group_name((pol_state_group)g);
}

/* The groups of a set (bit g: group g) in words, "parameters, m, v". */
static const char *groups_text(unsigned set, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (int g = 0; g < POL_GROUP_COUNT; g++)
        if (set & 1u << g)
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? ", " : "",
                                  group_word(g));
    return buf;
}

/* The worst of one verifier's re-runs of every interval of a run. */
typedef struct rerun_worst {
    unsigned present;              /* bit g: the state holds group g */
    double ratio[POL_GROUP_COUNT]; /* per group, the largest l2_rel / threshold */
    double dist[POL_GROUP_COUNT];  /* per group, the largest l2_rel */
    double skip;                   /* the parameters' largest l2_rel / one skipped step */
} rerun_worst;

/* Re-runs every interval of run_dir on ctx from its start checkpoint, with
 * the GEMM math `math` instead of the task's (a verifier whose cuBLAS math
 * differs from the solver's), and measures, for every state group the state
 * holds, the l2_rel distance of the end state to the run's committed end
 * checkpoint over the group's tensors (pol_state_distance_groups, as
 * pol_verify does, spec/certificate.md [V-TOL-3]), each against its group's
 * threshold. The groups must be those of the task's optimizer: AdamW's
 * parameters, m and v, or SGD's parameters and buf. Out: *w. */
static pol_status rerun_intervals(pol_ctx *ctx, const char *task_path, const char *run_dir,
                                  pol_gpu_math math, const tol_limits *lim, rerun_worst *w)
{
    pol_task task;
    pol_dataset ds;
    pol_trace tr;
    pol_trainer *t = NULL;
    memset(w, 0, sizeof *w);
    pol_status st = pol_task_load(task_path, &task);
    if (st)
        return st;
    task.gpu_math = math;
    const unsigned want = (1u << POL_GROUP_PARAMS) |
                          (task.optimizer == POL_OPTIM_ADAMW
                               ? (1u << POL_GROUP_M) | (1u << POL_GROUP_V)
                               : 1u << POL_GROUP_BUF);
    if ((st = pol_trace_load(run_dir, &tr)))
        return st;
    if ((st = pol_dataset_load(task.dataset_path, &task.dataset_sha256, task.sizes[0],
                               task.sizes[task.n_layers], &ds))) {
        pol_trace_free(&tr);
        return st;
    }
    st = pol_trainer_create(&t, ctx, &task, &ds);
    for (size_t i = 0; !st && i + 1 < tr.n; i++) {
        char start[1400], end[1400];
        snprintf(start, sizeof start, "%s/%s", run_dir, tr.e[i].file);
        snprintf(end, sizeof end, "%s/%s", run_dir, tr.e[i + 1].file);
        if ((st = pol_trainer_load(t, start, &tr.e[i].hash)))
            break;
        while (!st && pol_trainer_steps_done(t) < tr.e[i + 1].step)
            st = pol_trainer_step(t, NULL);
        const pol_tensor *state[POL_TRAINER_MAX_STATE], *committed[POL_TRAINER_MAX_STATE];
        int ns = 0;
        pol_st_file f = { 0 };
        if (!st)
            st = pol_trainer_state(t, state, POL_TRAINER_MAX_STATE, &ns);
        if (st || (st = pol_st_load(end, NULL, &f)))
            break;
        for (size_t j = 0; j < f.n && j < POL_TRAINER_MAX_STATE; j++)
            committed[j] = &f.tensors[j];
        pol_distance d[POL_GROUP_COUNT];
        unsigned present = 0;
        st = f.n > POL_TRAINER_MAX_STATE
                 ? pol_errorf(POL_ERR_FORMAT, "%s: %zu tensors", end, f.n)
                 : pol_state_distance_groups(state, (size_t)ns, committed, f.n, d, &present);
        pol_st_free(&f);
        if (!st && present != want) {
            char have_s[64], want_s[64];
            st = pol_errorf(POL_ERR_MISMATCH, "%s: the state holds the groups %s, its task's "
                            "optimizer %s", end, groups_text(present, have_s, sizeof have_s),
                            groups_text(want, want_s, sizeof want_s));
        }
        const uint64_t L = tr.e[i + 1].step - tr.e[i].step;
        for (int g = 0; !st && g < POL_GROUP_COUNT; g++) {
            if (!(present & 1u << g))
                continue;
            double thr;
            if ((st = pol_threshold_for(lim->thr, lim->n_thr, (pol_state_group)g, L, &thr)))
                break;
            const double dist = d[g].l2_rel;
            const double q = thr > 0 ? dist / thr : dist > 0 ? INFINITY : 0.0;
            w->dist[g] = dist > w->dist[g] ? dist : w->dist[g];
            w->ratio[g] = q > w->ratio[g] ? q : w->ratio[g];
        }
        double skip = 0;
        if (!st && !(st = pol_threshold_for(lim->skip, lim->n_skip, POL_GROUP_PARAMS, L, &skip)) &&
            skip > 0 && d[POL_GROUP_PARAMS].l2_rel / skip > w->skip)
            w->skip = d[POL_GROUP_PARAMS].l2_rel / skip;
        w->present |= present;
    }
    pol_trainer_destroy(t);
    pol_dataset_free(&ds);
    pol_trace_free(&tr);
    return st;
}

/* "parameters 0.12 (l2_rel 3.4e-07), m 0.05 (2.1e-08), v ...": each group's
 * largest ratio to its threshold and largest distance. */
static void print_worst(const rerun_worst *w)
{
    for (int g = 0, first = 1; g < POL_GROUP_COUNT; g++)
        if (w->present & 1u << g) {
            printf("%s%s %.3g (l2_rel %.3g)", first ? "" : ", ", group_word(g), w->ratio[g],
                   w->dist[g]);
            first = 0;
        }
}

/* [P-SRC-2]: the profile of run_dir, a run of a task whose gpu_math is
 * `math` (tf32 or bf16), with GPU sources required: the task's math is the
 * sixth configuration. */
static void check_profile_gpu(const char *label, const char *task, const char *run_dir,
                              pol_gpu_math math)
{
    char last[32];
    snprintf(last, sizeof last, "cublas/%s", pol_gpu_math_name(math));
    const char *const want[] = { "fast/1", "blas/1", "blas/2", "cuda/exact", "cublas/fp32", last };
    enum { N_WANT = sizeof want / sizeof want[0] };
    pol_profile p;
    checks++;
    pol_status st = pol_profile_run(&(pol_profile_opts){ .task_path = task, .run_dir = run_dir,
                                                         .gpu = POL_PROFILE_GPU_REQUIRE },
                                    &p);
    if (st) {
        printf("FAIL profile %s (%s task) with GPU sources: %s\n", label, math_label(math),
               pol_last_error());
        failures++;
        return;
    }
    int same = p.n_configs == N_WANT;
    for (int c = 0; same && c < N_WANT; c++)
        same = !strcmp(p.configs[c], want[c]);
    const size_t n = (size_t)p.n_configs, per = n * (n + 1) / 2;
    if (!same || p.n_obs != p.intervals_rerun * per) {
        printf("FAIL profile %s: %d configurations (", label, p.n_configs);
        for (int c = 0; c < p.n_configs; c++)
            printf("%s%s", c ? " " : "", p.configs[c]);
        printf("), %zu interval observations for %u intervals\n", p.n_obs, p.intervals_rerun);
        failures++;
        pol_profile_free(&p);
        return;
    }
    /* per pair (b == n: the run's committed end state), the largest l2_rel;
     * the observations come in blocks of one interval (pol/profile.h) */
    double maxd[N_WANT][N_WANT + 1] = { { 0 } };
    int exact_differs = 0;
    for (size_t i = 0, k = 0; i < p.intervals_rerun; i++)
        for (size_t a = 0; a < n; a++)
            for (size_t b = a + 1; b <= n; b++, k++) {
                const double d = p.obs[k];
                maxd[a][b] = d > maxd[a][b] ? d : maxd[a][b];
                if (a == 0 && b == 3 && d != 0.0) /* fast/1 against cuda/exact */
                    exact_differs++;
            }
    printf("     profile %s (%s task) on %s: %u intervals; per pair, max(%g x max l2_rel, %.3g):\n",
           label, math_label(math), p.gpu, p.intervals_rerun, p.factor, POL_PROFILE_FLOOR_REL);
    for (size_t a = 0; a < n; a++) {
        printf("       %-11s vs", p.configs[a]);
        for (size_t b = a + 1; b <= n; b++) {
            const double t = p.factor * maxd[a][b];
            printf(" %s %.2g", b < n ? p.configs[b] : "run", t > POL_PROFILE_FLOOR_REL ? t
                                                                        : POL_PROFILE_FLOOR_REL);
        }
        printf("\n");
    }
    for (size_t i = 0; i < p.n_stats; i++) {
        const pol_profile_stat *s = &p.stats[i];
        if (!s->op[0] && s->group == POL_GROUP_PARAMS && s->metric == POL_METRIC_L2_REL)
            printf("     profile %s (%s task): length %llu: threshold %.3g, margin %.0f\n",
                   label, math_label(math), (unsigned long long)s->interval_len, s->threshold,
                   s->threshold > 0 ? s->one_step_min / s->threshold : 0.0);
    }
    if (exact_differs) {
        printf("FAIL profile %s (%s task): cuda/exact differs from fast/1 in %d of %u intervals "
               "(largest l2_rel %.3g): the exact CUDA kernels must equal the CPU bit for bit\n",
               label, math_label(math), exact_differs, p.intervals_rerun, maxd[0][3]);
        failures++;
    } else {
        printf("ok   profile %s (%s task): the six configurations measured; cuda/exact equals "
               "fast/1 in every interval\n", label, math_label(math));
    }
    pol_profile_free(&p);
}

/* Tolerant training of one task on the GPU against the CPU (OpenBLAS), and
 * of its TF32 and BF16 variants on the GPU. */
static void check_tolerant(const char *label, const char *task)
{
    char cpu_dir[600], gpu_dir[600], tf_dir[600], bf_dir[600], tf_task[700], bf_task[700];
    snprintf(cpu_dir, sizeof cpu_dir, "%s/tol-%s-cpu", tu_tmpdir(), label);
    snprintf(gpu_dir, sizeof gpu_dir, "%s/tol-%s-fp32", tu_tmpdir(), label);
    snprintf(tf_dir, sizeof tf_dir, "%s/tol-%s-tf32", tu_tmpdir(), label);
    snprintf(bf_dir, sizeof bf_dir, "%s/tol-%s-bf16", tu_tmpdir(), label);
    pol_ctx *cpu = NULL, *gpu = NULL;
    pol_profile prof = { 0 };
    int have_prof = 0;
    pol_run_result r;
    checks++;
    pol_status st = make_ctx(&cpu, POL_DEVICE_CPU);
    if (!st) st = make_ctx(&gpu, POL_DEVICE_CUDA);
    if (!st && (write_math_variant(task, "tf32", tf_task, sizeof tf_task) ||
                write_math_variant(task, "bf16", bf_task, sizeof bf_task)))
        st = pol_errorf(POL_ERR_IO, "cannot write the TF32 and BF16 variants of %s", task);
    /* the solver runs: CPU OpenBLAS; GPU cuBLAS with each task's math, on
     * one context: the task, not the context, chooses it */
    static const struct { const char *what; pol_gpu_math m; } runs[3] = {
        { "FP32", POL_GPU_MATH_FP32 }, { "TF32", POL_GPU_MATH_TF32 }, { "BF16", POL_GPU_MATH_BF16 },
    };
    const char *run_task[3] = { task, tf_task, bf_task }, *run_dir[3] = { gpu_dir, tf_dir, bf_dir };
    pol_digest h[3];
    if (!st) st = pol_run_train(cpu, &(pol_run_opts){ .task_path = task, .out_dir = cpu_dir }, &r);
    for (int k = 0; !st && k < 3; k++) {
        st = pol_run_train(gpu, &(pol_run_opts){ .task_path = run_task[k], .out_dir = run_dir[k] },
                           &r);
        if (!st && !(r.final_loss == r.final_loss))
            st = pol_errorf(POL_ERR_FORMAT, "%s GPU run ended with a NaN loss", runs[k].what);
        if (!st && pol_cuda_math(pol_ctx_cuda(gpu)) != runs[k].m)
            st = pol_errorf(POL_ERR_MISMATCH, "the %s task's run left %s math on the device",
                            runs[k].what, math_label(pol_cuda_math(pol_ctx_cuda(gpu))));
        if (!st)
            h[k] = r.final_state_hash;
    }
    /* informative: cuBLAS may keep FP32 kernels for small shapes even when
     * reduced precision is allowed, so equal bits are not a failure */
    for (int k = 1; !st && k < 3; k++)
        printf("     tolerant %s: the %s task's GPU run %s the FP32 task's\n", label, runs[k].what,
               pol_digest_equal(&h[k], &h[0]) ? "ends on the same state as" : "ends away from");
    /* the thresholds: the CPU run's profile ([P-RULE-1]) measured on the CPU
     * alone, so that the GPU re-runs below meet a source it did not include */
    if (!st && !(st = pol_profile_run(&(pol_profile_opts){ .task_path = task, .run_dir = cpu_dir,
                                                           .gpu = POL_PROFILE_GPU_OFF },
                                      &prof)))
        have_prof = 1;
    tol_limits lim = { 0 };
    if (!st)
        st = tol_limits_from(&prof, &lim);
    /* the verifiers: the GPU (FP32) re-runs the CPU run and the CPU re-runs
     * the GPU FP32 run, both held to every group's threshold; a TF32 and a
     * BF16 verifier re-run the CPU run, reported (their tasks need a profile
     * of their own math, [P-SRC-2]) */
    enum { GPU_FP32, CPU_FP32, GPU_TF32, GPU_BF16, N_VERIFIERS };
    struct { const char *what; pol_ctx *ctx; const char *run; pol_gpu_math m; rerun_worst w; }
        v[N_VERIFIERS] = {
            [GPU_FP32] = { "GPU FP32 re-running the CPU run", gpu, cpu_dir, POL_GPU_MATH_FP32 },
            [CPU_FP32] = { "CPU re-running the GPU FP32 run", cpu, gpu_dir, POL_GPU_MATH_FP32 },
            [GPU_TF32] = { "GPU TF32 re-running the CPU run", gpu, cpu_dir, POL_GPU_MATH_TF32 },
            [GPU_BF16] = { "GPU BF16 re-running the CPU run", gpu, cpu_dir, POL_GPU_MATH_BF16 },
        };
    for (int k = 0; !st && k < N_VERIFIERS; k++)
        st = rerun_intervals(v[k].ctx, task, v[k].run, v[k].m, &lim, &v[k].w);
    tol_limits_free(&lim);
    if (st) {
        printf("FAIL tolerant %s: %s\n", label, pol_last_error());
        failures++;
    } else {
        for (int k = 0; k < N_VERIFIERS; k++) {
            printf("     tolerant %s: %s: largest l2_rel / threshold: ", label, v[k].what);
            print_worst(&v[k].w);
            printf("; %.3g of one skipped step\n", v[k].w.skip);
        }
        int over = 0;
        for (int k = GPU_FP32; k <= CPU_FP32; k++)
            for (int g = 0; g < POL_GROUP_COUNT; g++)
                if ((v[k].w.present & 1u << g) && v[k].w.ratio[g] > 1.0) {
                    printf("FAIL tolerant %s: %s: group %s exceeds its CPU-profiled threshold "
                           "(%.3g of it)\n", label, v[k].what, group_word(g), v[k].w.ratio[g]);
                    over++;
                }
        if (over) {
            failures++;
        } else if (!(v[GPU_TF32].w.skip < 1.0) || !(v[GPU_FP32].w.skip < 1.0) ||
                   !(v[CPU_FP32].w.skip < 1.0)) {
            printf("FAIL tolerant %s: a re-run is as far from the committed state as a skipped "
                   "step\n", label);
            failures++;
        } else {
            char groups[64];
            printf("ok   tolerant %s: every FP32 checkpoint within its threshold in every state "
                   "group (%s)%s%s\n", label,
                   groups_text(v[GPU_FP32].w.present, groups, sizeof groups),
                   POL_PROFILE_FACTOR * 100.0 * v[GPU_TF32].w.skip <= 1.0
                       ? "; a TF32 profile would keep margin >= 100"
                       : "; NOTE: a TF32 profile would have margin < 100 ([P-RULE-3])",
                   POL_PROFILE_FACTOR * 100.0 * v[GPU_BF16].w.skip <= 1.0
                       ? "; a BF16 profile would keep margin >= 100"
                       : "; NOTE: a BF16 profile would have margin < 100 ([P-RULE-3])");
        }
    }
    if (have_prof)
        pol_profile_free(&prof);
    if (!st) {
        check_profile_gpu(label, tf_task, tf_dir, POL_GPU_MATH_TF32);
        check_profile_gpu(label, bf_task, bf_dir, POL_GPU_MATH_BF16);
    }
    pol_ctx_destroy(cpu);
    pol_ctx_destroy(gpu);
}

/* The MLP task of bench/mlp_task.h, trained as check_training does: at
 * full size (784-1024-1024-10, batch 256: split-K and multi-chunk GEMMs in
 * every step), or small (784-32-32-10, batch 16: the same code paths, at a
 * cost the CUDA emulator can bear). */
static void check_training_mlp(int small)
{
    const char *dir = tu_tmpdir();
    char task[600];
    checks++;
    if (!dir || bench_mlp_task_sized(dir, small ? 24 : 60, small ? 8 : 20, "exact",
                                     small ? 32 : 1024, small ? 16 : 256, task, sizeof task)) {
        printf("FAIL cannot write the MLP task: %s\n", pol_last_error());
        failures++;
        return;
    }
    check_training(task, small ? 16 : 40);
}

static const char USAGE[] =
    "usage: pol-gpu-test [--mlp full|small|off] [--kernels-only]\n"
    "  Every exact CUDA kernel against the CPU reference, CPU/GPU training\n"
    "  hashes, tolerant mode (see the top of tests/gpu_test.c). --mlp: the\n"
    "  synthetic MLP training check at full size (784-1024-1024-10, batch 256;\n"
    "  the default), small (784-32-32-10, batch 16), or not at all.\n"
    "  --kernels-only: part 1 alone, the exact kernels (for compute-sanitizer's\n"
    "  racecheck and synccheck, which slow every kernel down).\n"
    "  Exit status: 0 passed, 1 a failure, 2 bad usage, 77 no usable CUDA device.\n";

int main(int argc, char **argv)
{
    int mlp = 2; /* 2 full, 1 small, 0 off */
    int kernels_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--kernels-only")) {
            kernels_only = 1;
            continue;
        }
        if (!strcmp(argv[i], "--mlp") && i + 1 < argc) {
            const char *v = argv[++i];
            mlp = !strcmp(v, "full") ? 2 : !strcmp(v, "small") ? 1 : !strcmp(v, "off") ? 0 : -1;
            if (mlp >= 0)
                continue;
        }
        fprintf(stderr, "pol-gpu-test: bad argument %s\n%s", argv[i], USAGE);
        return 2;
    }
    pol_status st = pol_cuda_available();
    if (st) {
        printf("pol-gpu-test: no CUDA device: %s; skipping\n", pol_last_error());
        return 77;
    }
    uint64_t seed = tu_seed();
    tu_rng_init(&rng, seed);
    char name[128];
    int major = 0, minor = 0;
    if (pol_cuda_device_info(name, sizeof name, &major, &minor) ||
        pol_cuda_create(&dev, ARENA_BYTES)) {
        printf("pol-gpu-test: CUDA setup failed: %s\n", pol_last_error());
        return 1;
    }
    printf("pol-gpu-test on %s (sm_%d%d), seed %" PRIu64 "\n", name, major, minor, seed);
    test_launch_range();
    test_gemm();
    test_elementwise();
    test_rows_and_columns();
    printf("kernels: %d comparisons, %d failures\n", checks, failures);
    if (kernels_only) {
        pol_cuda_destroy(dev);
        printf("%s: %d checks, %d failures (--kernels-only: the exact kernels alone)\n",
               failures ? "FAILED" : "PASSED", checks, failures);
        return failures ? 1 : 0;
    }
    test_blas_gemm();
    printf("cuBLAS (tolerant) GEMMs: %d checks so far, %d failures\n", checks, failures);
    pol_cuda_destroy(dev);
    test_gather_rows();
    check_training("spec/vectors/tiny/sgd-relu.json", 3);
    check_training("spec/vectors/tiny/adamw-gelu.json", 8); /* checkpoint_every 4 */
    check_training("examples/tasks/digits.json", 500);
    if (mlp)
        check_training_mlp(mlp == 1);
    else
        printf("--   train mlp: left out (--mlp off)\n");
    test_tolerant_context();
    char tiny[600], tiny_sgd[600], digits[600];
    checks++;
    if (write_tolerant_tasks(tiny, tiny_sgd, digits, sizeof tiny)) {
        printf("FAIL cannot write the tolerant tasks (run from the repository root)\n");
        failures++;
    } else {
        check_tolerant("tiny", tiny);
        check_tolerant("tiny-sgd", tiny_sgd);
        check_tolerant("digits", digits);
    }
    printf("%s: %d checks, %d failures\n", failures ? "FAILED" : "PASSED", checks, failures);
    return failures ? 1 : 0;
}
