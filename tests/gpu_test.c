/* pol-gpu-test — the CUDA backend against the CPU reference (make gpu-test).
 *
 *   1. every exact op on random inputs (awkward values: subnormals, signed
 *      zeros, tiny normals), odd shapes and every GEMM transpose, under
 *      several launch configurations: the device output must equal the
 *      CPU reference bit for bit (NaN counts as equal to NaN: the payloads
 *      of the two sides may differ, see pol/cuda.h);
 *   2. the tiny tasks of spec/vectors/tiny and examples/tasks/digits.json trained with
 *      the CUDA device and the CPU: identical trace.json (every checkpoint
 *      hash); a CPU checkpoint resumed on the GPU and a GPU checkpoint
 *      resumed on the CPU end on the same final hash.
 *
 * Prints its seed; POL_TEST_SEED=<seed> replays a run. Exit status 0 when
 * everything passed, 1 on a failure, 77 (skipped) without a usable CUDA
 * device or in a build without CUDA.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol/cuda.h"
#include "pol/fileio.h"
#include "pol/graph.h"
#include "pol/train.h"
#include "testutil.h"

static int failures, checks;
static pol_cuda *dev;
static tu_rng rng;

#define ARENA_BYTES ((size_t)1 << 30)

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
    { 0, 0, 0, 0 },     /* automatic */
    { 1, 1, 256, 0 },   /* 128x128 tiles, no split */
    { 2, 1, 32, 3 },    /* 64x64 tiles, tiny grids */
    { 2, 3, 1024, 1 },  /* split K in 3, one block of 1024 */
    { 2, 64, 96, 7 },   /* one chunk per split */
};
#define N_CONFIGS ((int)(sizeof CONFIGS / sizeof CONFIGS[0]))

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
    for (int cfg = 0; cfg < N_CONFIGS; cfg++) {
        pol_cuda_reset(dev);
        st = pol_cuda_set_launch(dev, &CONFIGS[cfg]);
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
            printf("FAIL %s (config %d): %s\n", what, cfg, pol_last_error());
            failures++;
            continue;
        }
        const float *a = pol_f32(&want), *b = pol_f32(&got);
        int64_t n = pol_tensor_numel(&want);
        for (int64_t i = 0; i < n; i++)
            if (!same_bits(a[i], b[i])) {
                char cfgs[32];
                snprintf(cfgs, sizeof cfgs, "(config %d)", cfg);
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

int main(void)
{
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
    test_gemm();
    test_elementwise();
    test_rows_and_columns();
    printf("kernels: %d comparisons, %d failures\n", checks, failures);
    pol_cuda_destroy(dev);
    check_training("spec/vectors/tiny/sgd-relu.json", 3);
    check_training("spec/vectors/tiny/adamw-gelu.json", 3);
    check_training("examples/tasks/digits.json", 500);
    printf("%s: %d checks, %d failures\n", failures ? "FAILED" : "PASSED", checks, failures);
    return failures ? 1 : 0;
}
