/* Every non-GEMM op: the fast kernel equals the reference bit for bit (random
 * and awkward inputs, odd shapes, 1-3 threads), and every backward op passes
 * a finite-difference gradient check computed in double. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pol/graph.h"
#include "pol/kernels.h"
#include "testutil.h"

static tu_rng R;
static pol_pool *pools[3]; /* NULL (1 thread), 2 and 3 threads */

static int setup(void **st)
{
    (void)st;
    tu_rng_init(&R, tu_seed());
    pools[0] = NULL;
    if (pol_pool_create(&pools[1], 2) || pol_pool_create(&pools[2], 3))
        return -1;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    pol_pool_destroy(pools[1]);
    pol_pool_destroy(pools[2]);
    return 0;
}

static float *fbuf(size_t n) { float *p = calloc(n ? n : 1, sizeof *p); assert_non_null(p); return p; }

static void expect_same(const float *ref, const float *fast, size_t n, const char *what, long shape)
{
    long d = tu_first_bit_diff(ref, fast, n);
    if (d >= 0)
        fail_msg("%s (shape %ld): fast != ref at %ld: %a vs %a", what, shape, d, (double)ref[d],
                 (double)fast[d]);
}

static const int64_t SIZES[] = { 1, 2, 3, 7, 17, 255, 256, 257, 1000, 16384, 16385, 40000 };
#define NSIZES (sizeof SIZES / sizeof SIZES[0])

/* ----------------------------------------------------- fast == ref -- */

static void test_elementwise_equal(void **st)
{
    (void)st;
    for (size_t si = 0; si < NSIZES; si++) {
        int64_t n = SIZES[si];
        float *x = fbuf(n), *dy = fbuf(n), *a = fbuf(n), *b = fbuf(n);
        tu_fill_awkward(&R, x, n, 6.0f);
        tu_fill_awkward(&R, dy, n, 2.0f);
        for (int p = 0; p < 3; p++) {
            pol_ref_relu(n, x, a), pol_fast_relu(pools[p], n, x, b);
            expect_same(a, b, n, "relu", n);
            pol_ref_relu_bwd(n, x, dy, a), pol_fast_relu_bwd(pools[p], n, x, dy, b);
            expect_same(a, b, n, "relu_bwd", n);
            pol_ref_gelu(n, x, a), pol_fast_gelu(pools[p], n, x, b);
            expect_same(a, b, n, "gelu", n);
            pol_ref_gelu_bwd(n, x, dy, a), pol_fast_gelu_bwd(pools[p], n, x, dy, b);
            expect_same(a, b, n, "gelu_bwd", n);
        }
        free(x), free(dy), free(a), free(b);
    }
}

static void test_optimizers_equal(void **st)
{
    (void)st;
    pol_opt_scalars s = { 3e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 0.271f, 0.0039f };
    for (size_t si = 0; si < NSIZES; si++) {
        int64_t n = SIZES[si];
        float *p = fbuf(n), *g = fbuf(n), *m = fbuf(n), *v = fbuf(n), *a = fbuf(n), *b = fbuf(n);
        tu_fill_awkward(&R, p, n, 1.0f);
        tu_fill_awkward(&R, g, n, 1.0f);
        tu_fill_awkward(&R, m, n, 0.1f);
        tu_fill_uniform(&R, v, n, 0.0f, 0.01f);
        for (int q = 0; q < 3; q++) {
            pol_ref_adam_m(n, &s, m, g, a), pol_fast_adam_m(pools[q], n, &s, m, g, b);
            expect_same(a, b, n, "adam_m", n);
            pol_ref_adam_v(n, &s, v, g, a), pol_fast_adam_v(pools[q], n, &s, v, g, b);
            expect_same(a, b, n, "adam_v", n);
            pol_ref_adamw_param(n, &s, p, m, v, a), pol_fast_adamw_param(pools[q], n, &s, p, m, v, b);
            expect_same(a, b, n, "adamw_param", n);
            pol_ref_sgd_buf(n, &s, m, g, p, a), pol_fast_sgd_buf(pools[q], n, &s, m, g, p, b);
            expect_same(a, b, n, "sgd_buf", n);
            pol_ref_sgd_param(n, &s, p, m, a), pol_fast_sgd_param(pools[q], n, &s, p, m, b);
            expect_same(a, b, n, "sgd_param", n);
        }
        free(p), free(g), free(m), free(v), free(a), free(b);
    }
}

static const int64_t ROWS[] = { 1, 2, 5, 64, 255, 256, 257, 600 };
static const int64_t COLS[] = { 1, 2, 3, 10, 31, 256, 257, 300 };

static void test_bias_grad_equal(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof ROWS / sizeof *ROWS; i++)
        for (size_t j = 0; j < sizeof COLS / sizeof *COLS; j++) {
            int64_t M = ROWS[i], N = COLS[j];
            float *dy = fbuf(M * N), *a = fbuf(N), *b = fbuf(N);
            tu_fill_awkward(&R, dy, M * N, 3.0f);
            pol_ref_bias_grad(M, N, dy, a);
            for (int q = 0; q < 3; q++) {
                pol_fast_bias_grad(pools[q], M, N, dy, b);
                expect_same(a, b, N, "bias_grad", M * 1000 + N);
            }
            free(dy), free(a), free(b);
        }
}

static void test_xent_equal(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof ROWS / sizeof *ROWS; i++)
        for (size_t j = 1; j < sizeof COLS / sizeof *COLS; j++) {
            int64_t B = ROWS[i], C = COLS[j];
            float *x = fbuf(B * C), *a = fbuf(B * C), *b = fbuf(B * C), la, lb;
            int32_t *y = malloc((size_t)B * sizeof *y);
            tu_fill_awkward(&R, x, B * C, 20.0f);
            for (int64_t r = 0; r < B; r++)
                y[r] = (int32_t)(tu_next(&R) % (uint64_t)C);
            pol_ref_xent_loss(B, C, x, y, &la);
            pol_ref_xent_bwd(B, C, x, y, a);
            for (int q = 0; q < 3; q++) {
                pol_fast_xent_loss(pools[q], B, C, x, y, &lb);
                expect_same(&la, &lb, 1, "xent_loss", B * 1000 + C);
                pol_fast_xent_bwd(pools[q], B, C, x, y, b);
                expect_same(a, b, B * C, "xent_bwd", B * 1000 + C);
            }
            free(x), free(a), free(b), free(y);
        }
}

/* A-RED-1 is the order, not just self-consistency: recompute the loss of a
 * batch longer than one chunk with the order written out here. */
static void test_xent_loss_canonical_order(void **st)
{
    (void)st;
    const int64_t B = 600, C = 3;
    float *x = fbuf(B * C), l[600], got;
    int32_t y[600];
    tu_fill_uniform(&R, x, B * C, -4.0f, 4.0f);
    for (int64_t r = 0; r < B; r++) {
        y[r] = (int32_t)(r % C);
        pol_ref_xent_loss(1, C, x + r * C, y + r, &l[r]);
    }
    float c0 = 0.0f, c1 = 0.0f, c2 = 0.0f;
    for (int r = 0; r < 256; r++) c0 = c0 + l[r];
    for (int r = 256; r < 512; r++) c1 = c1 + l[r];
    for (int r = 512; r < 600; r++) c2 = c2 + l[r];
    float want = ((0.0f + c0) + c1) + c2;
    want = want / 600.0f;
    pol_fast_xent_loss(pools[1], B, C, x, y, &got);
    expect_same(&want, &got, 1, "xent canonical order", B);
    free(x);
}

/* ------------------------------------------------- gradient checks -- */

/* Double-precision forward functions, independent of the float kernels. */
static double gelu_d(double x)
{
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

static double xent_d(const double *x, int64_t B, int64_t C, const int32_t *y)
{
    double total = 0.0;
    for (int64_t i = 0; i < B; i++) {
        double m = x[i * C];
        for (int64_t j = 1; j < C; j++) m = fmax(m, x[i * C + j]);
        double s = 0.0;
        for (int64_t j = 0; j < C; j++) s += exp(x[i * C + j] - m);
        total += log(s) - (x[i * C + y[i]] - m);
    }
    return total / (double)B;
}

/* Checks an analytic gradient g (float) against central differences of f in
 * double at x (n values): |g - fd| <= atol + rtol * |fd|. */
typedef double (*scalar_fn)(const double *x, void *arg);

static void check_grad(const char *what, scalar_fn f, void *arg, double *x, int64_t n,
                       const float *g, double atol, double rtol)
{
    for (int64_t i = 0; i < n; i++) {
        double h = 1e-6 * fmax(1.0, fabs(x[i])), keep = x[i];
        x[i] = keep + h;
        double fp = f(x, arg);
        x[i] = keep - h;
        double fm = f(x, arg);
        x[i] = keep;
        double fd = (fp - fm) / (2.0 * h);
        if (fabs((double)g[i] - fd) > atol + rtol * fabs(fd))
            fail_msg("%s: gradient[%ld] = %.9g, finite difference %.9g", what, (long)i,
                     (double)g[i], fd);
    }
}

typedef struct { const double *r; int64_t n; int gelu; } act_arg;

static double act_loss(const double *x, void *vp)
{
    const act_arg *a = vp;
    double s = 0.0;
    for (int64_t i = 0; i < a->n; i++)
        s += a->r[i] * (a->gelu ? gelu_d(x[i]) : fmax(x[i], 0.0));
    return s;
}

static void test_grad_activations(void **st)
{
    (void)st;
    enum { N = 200 };
    float x[N], r[N], g[N];
    double xd[N], rd[N];
    tu_fill_uniform(&R, x, N, -5.0f, 5.0f);
    tu_fill_uniform(&R, r, N, -1.0f, 1.0f);
    for (int i = 0; i < N; i++) {
        if (fabsf(x[i]) < 1e-3f) x[i] = 0.5f; /* relu has a kink at 0 */
        xd[i] = x[i], rd[i] = r[i];
    }
    act_arg a = { rd, N, 1 };
    pol_ref_gelu_bwd(N, x, r, g);
    check_grad("gelu_bwd", act_loss, &a, xd, N, g, 1e-5, 1e-4);
    a.gelu = 0;
    pol_ref_relu_bwd(N, x, r, g);
    check_grad("relu_bwd", act_loss, &a, xd, N, g, 1e-6, 1e-5);
}

typedef struct { int64_t B, C; const int32_t *y; } xent_arg;

static double xent_loss_fn(const double *x, void *vp)
{
    const xent_arg *a = vp;
    return xent_d(x, a->B, a->C, a->y);
}

static void test_grad_xent(void **st)
{
    (void)st;
    enum { B = 7, C = 10 };
    float x[B * C], g[B * C];
    double xd[B * C];
    int32_t y[B];
    tu_fill_uniform(&R, x, B * C, -3.0f, 3.0f);
    for (int i = 0; i < B * C; i++) xd[i] = x[i];
    for (int i = 0; i < B; i++) y[i] = (int32_t)(tu_next(&R) % C);
    xent_arg a = { B, C, y };
    pol_ref_xent_bwd(B, C, x, y, g);
    check_grad("xent_bwd", xent_loss_fn, &a, xd, B * C, g, 1e-6, 1e-4);
    float l;
    pol_ref_xent_loss(B, C, x, y, &l);
    assert_true(fabs((double)l - xent_d(xd, B, C, y)) < 1e-5);
}

/* Linear layer y = x W^T + b with L = sum(R .* y): dX = R W, dW = R^T x,
 * db = column sums of R, computed by the graph's MATMUL and BIAS_GRAD ops. */
typedef struct { int64_t B, I, O; const double *r, *x, *w, *b; int which; } lin_arg;

static double lin_loss(const double *v, void *vp)
{
    const lin_arg *a = vp;
    const double *x = a->which == 0 ? v : a->x, *w = a->which == 1 ? v : a->w,
                 *b = a->which == 2 ? v : a->b;
    double s = 0.0;
    for (int64_t i = 0; i < a->B; i++)
        for (int64_t o = 0; o < a->O; o++) {
            double y = b[o];
            for (int64_t k = 0; k < a->I; k++) y += x[i * a->I + k] * w[o * a->I + k];
            s += a->r[i * a->O + o] * y;
        }
    return s;
}

static void test_grad_linear(void **st)
{
    (void)st;
    enum { B = 5, I = 300, O = 4 }; /* I > POL_KC: the gradients cross a chunk */
    float *x = fbuf(B * I), *w = fbuf(O * I), *b = fbuf(O), *r = fbuf(B * O);
    double *xd = malloc(sizeof(double) * B * I), *wd = malloc(sizeof(double) * O * I),
           bd[O], rd[B * O];
    tu_fill_uniform(&R, x, B * I, -1, 1), tu_fill_uniform(&R, w, O * I, -1, 1);
    tu_fill_uniform(&R, b, O, -1, 1), tu_fill_uniform(&R, r, B * O, -1, 1);
    for (int i = 0; i < B * I; i++) xd[i] = x[i];
    for (int i = 0; i < O * I; i++) wd[i] = w[i];
    for (int i = 0; i < O; i++) bd[i] = b[i];
    for (int i = 0; i < B * O; i++) rd[i] = r[i];
    float *dx = fbuf(B * I), *dw = fbuf(O * I), db[O];
    pol_gemm_args g = { B, I, O, 0, 0, r, w, NULL, dx };
    pol_ref_gemm(&g); /* dX = R W : (B,O)(O,I) */
    pol_gemm_args h = { O, I, B, 1, 0, r, x, NULL, dw };
    pol_ref_gemm(&h); /* dW = R^T x : (O,B)(B,I) */
    pol_ref_bias_grad(B, O, r, db);
    lin_arg a = { B, I, O, rd, xd, wd, bd, 0 };
    check_grad("linear dX", lin_loss, &a, xd, B * I, dx, 1e-5, 1e-4);
    a.which = 1;
    check_grad("linear dW", lin_loss, &a, wd, O * I, dw, 1e-5, 1e-4);
    a.which = 2;
    check_grad("linear db", lin_loss, &a, bd, O, db, 1e-5, 1e-4);
    free(x), free(w), free(b), free(r), free(xd), free(wd), free(dx), free(dw);
}

/* pol_node_eval refuses what a referee must never compute on. */
static void test_node_eval_rejects(void **st)
{
    (void)st;
    pol_tensor lg, lab, out;
    assert_int_equal(pol_tensor_alloc(&lg, "lg", POL_F32, 2, (int64_t[]){ 2, 3 }), POL_OK);
    assert_int_equal(pol_tensor_alloc(&lab, "lab", POL_I32, 1, (int64_t[]){ 2 }), POL_OK);
    assert_int_equal(pol_tensor_alloc(&out, "out", POL_F32, 0, NULL), POL_OK);
    const pol_tensor *in[] = { &lg, &lab };
    pol_i32(&lab)[1] = 3; /* out of range */
    assert_int_equal(pol_node_eval(POL_OP_XENT_LOSS, NULL, in, 2, &out, POL_KERNELS_REF, NULL),
                     POL_ERR_INVALID_ARG);
    pol_i32(&lab)[1] = 2;
    assert_int_equal(pol_node_eval(POL_OP_XENT_LOSS, NULL, in, 2, &out, POL_KERNELS_REF, NULL), POL_OK);
    assert_int_equal(pol_node_eval(POL_OP_XENT_LOSS, NULL, in, 1, &out, POL_KERNELS_REF, NULL),
                     POL_ERR_INVALID_ARG);
    assert_int_equal(pol_node_eval(POL_OP_RELU, NULL, in, 1, &out, POL_KERNELS_REF, NULL),
                     POL_ERR_SHAPE);
    assert_int_equal(pol_node_eval((pol_op)99, NULL, in, 1, &out, POL_KERNELS_REF, NULL),
                     POL_ERR_INVALID_ARG);
    pol_tensor_free(&lg), pol_tensor_free(&lab), pol_tensor_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elementwise_equal),
        cmocka_unit_test(test_optimizers_equal),
        cmocka_unit_test(test_bias_grad_equal),
        cmocka_unit_test(test_xent_equal),
        cmocka_unit_test(test_xent_loss_canonical_order),
        cmocka_unit_test(test_grad_activations),
        cmocka_unit_test(test_grad_xent),
        cmocka_unit_test(test_grad_linear),
        cmocka_unit_test(test_node_eval_rejects),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
