/* The fast GEMM: run-time dispatch, packing, cache blocking, threading and
 * the portable scalar micro-kernel.
 *
 * The loop nest is the usual one for packed GEMMs (jc over NC columns, pc
 * over K, ic over MC rows, then MR x NR tiles along a row panel), with one
 * constraint from A-RED-2: the K step is exactly POL_KC, starting at 0, so
 * each pass over K is one canonical chunk. A micro-kernel sums its chunk from +0 in registers
 * with one fma chain per output element, in ascending k, and adds the sum
 * into C (C = +0 + s for the first chunk); the bias goes in after the last
 * chunk. Packing, blocking, tile shape, padding and the split over threads
 * decide only which element is computed where, never the order of one
 * element's operations, so every path and thread count gives the same bits. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_internal.h"

/* ---------------------------------------------------------- scalar path */

#define SC_MR 4
#define SC_NR 4

/* fmaf by name: -ffp-contract=off keeps the compiler from fusing a*b+c on
 * its own, and an unfused a*b+c would be a different order. */
static void scalar_kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                          int first, const float *bias)
{
    float s[SC_MR][SC_NR];
    for (int i = 0; i < SC_MR; i++)
        for (int j = 0; j < SC_NR; j++)
            s[i][j] = +0.0f;
    for (int64_t k = 0; k < kc; k++) {
        const float *ak = a + k * SC_MR, *bk = b + k * SC_NR;
        for (int i = 0; i < SC_MR; i++)
            for (int j = 0; j < SC_NR; j++)
                s[i][j] = fmaf(ak[i], bk[j], s[i][j]);
    }
    for (int i = 0; i < SC_MR; i++) {
        float *ci = c + i * ldc;
        for (int j = 0; j < SC_NR; j++) {
            float t = (first ? +0.0f : ci[j]) + s[i][j];
            if (bias)
                t = t + bias[j];
            ci[j] = t;
        }
    }
}

/* -------------------------------------------------------------- packing */

/* The portable packer (pol_gemm_packer). */
void pol_gemm_pack_generic(const float *src, int64_t rs, int64_t ks, int64_t rn, int64_t kc,
                           int w, float *dst)
{
    if (rs == 1) {
        /* k outer: each source row is read once, front to back */
        for (int64_t k = 0; k < kc; k++) {
            const float *s = src + k * ks;
            float *d = dst + k * w;
            for (int64_t rp = 0; rp < rn; rp += w, d += kc * w) {
                int64_t n = rn - rp < w ? rn - rp : w, r = 0;
                for (; r < n; r++)
                    d[r] = s[rp + r];
                for (; r < w; r++)
                    d[r] = 0.0f;
            }
        }
        return;
    }
    for (int64_t rp = 0; rp < rn; rp += w, dst += kc * w) {
        int64_t n = rn - rp < w ? rn - rp : w;
        const float *s = src + rp * rs;
        for (int64_t r = 0; r < n; r++)
            for (int64_t k = 0; k < kc; k++)
                dst[k * w + r] = s[r * rs + k * ks];
        for (int64_t r = n; r < w; r++)
            for (int64_t k = 0; k < kc; k++)
                dst[k * w + r] = 0.0f;
    }
}

static const pol_gemm_kernel scalar_desc = {
    "scalar", SC_MR, SC_NR, 64 * SC_MR, 512, scalar_kernel, pol_gemm_pack_generic,
};

/* ------------------------------------------------------------- dispatch */

static const char *const isa_names[POL_GEMM_ISA_COUNT] = {"scalar", "avx2", "avx512"};

const char *pol_gemm_isa_name(int isa)
{
    return isa >= 0 && isa < POL_GEMM_ISA_COUNT ? isa_names[isa] : NULL;
}

static const pol_gemm_kernel *kernel_of(int isa)
{
#ifdef POL_GEMM_HAVE_X86
    if (isa == POL_GEMM_ISA_AVX512)
        return &pol_gemm_kernel_avx512;
    if (isa == POL_GEMM_ISA_AVX2)
        return &pol_gemm_kernel_avx2;
#endif
    (void)isa;
    return &scalar_desc;
}

int pol_gemm_isa_best(void)
{
#ifdef POL_GEMM_HAVE_X86
    __builtin_cpu_init();
    int fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (fma && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
        return POL_GEMM_ISA_AVX512;
    if (fma)
        return POL_GEMM_ISA_AVX2;
#endif
    return POL_GEMM_ISA_SCALAR;
}

int pol_gemm_isa_active(void)
{
    static atomic_int cached = -1; /* racing first calls compute the same value */
    int isa = atomic_load_explicit(&cached, memory_order_relaxed);
    if (isa >= 0)
        return isa;
    isa = pol_gemm_isa_best();
    const char *env = getenv("POL_GEMM_ISA");
    if (env && *env) {
        for (int i = 0; i < POL_GEMM_ISA_COUNT; i++)
            if (!strcmp(env, isa_names[i]) && i < isa)
                isa = i;
    }
    atomic_store_explicit(&cached, isa, memory_order_relaxed);
    return isa;
}

const char *pol_fast_gemm_isa(void) { return isa_names[pol_gemm_isa_active()]; }

/* --------------------------------------------------------------- driver */

/* One operand as a strided view: element (r, k) of the logical R x K matrix
 * (rows of A, or columns of B) is p[r*rs + k*ks]. */
typedef struct view {
    const float *p;
    int64_t rs, ks;
} view;

/* The problem as the driver sees it: out(r, c) = dot(a(r, :), b(c, :)) over
 * K, stored at C[r*crs + c*ccs]. Normally a = A, b = B^T and out = C. When
 * N is too narrow for the tile, the driver swaps the roles (a = B^T,
 * b = A, out = C^T): each element still gets the same products, since
 * a*b == b*a exactly, so the same bits; the bias then runs along rows. */
typedef struct job {
    const pol_gemm_kernel *kd;
    view a, b;
    const float *bias;
    int bias_rows;         /* bias indexed by r (swapped) rather than c */
    float *C;
    int64_t crs, ccs;
    int64_t R, Cn, K;      /* out is R x Cn */
    int64_t rblk, cblk;    /* task grid: rows and columns per task */
    int tasks_c;           /* tasks along the columns */
} job;

/* Packing scratch, one buffer per thread, kept between calls: allocating
 * and faulting in a fresh megabyte on every call costs more than a small
 * GEMM. Freed when the thread exits. */
typedef struct scratch {
    float *p;
    size_t cap; /* floats */
} scratch;

static pthread_key_t scratch_key;
static int scratch_key_ok;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *v)
{
    scratch *s = v;
    free(s->p);
    free(s);
}

static void scratch_init(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

/* A 64-byte aligned buffer of at least n floats, or NULL. */
static float *scratch_get(size_t n)
{
    pthread_once(&scratch_once, scratch_init);
    if (!scratch_key_ok)
        return NULL;
    scratch *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->cap < n) {
        size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
        float *p = aligned_alloc(64, bytes);
        if (!p)
            return NULL;
        free(s->p);
        s->p = p;
        s->cap = bytes / sizeof(float);
    }
    return s->p;
}

/* A tile that is partial or transposed: run the kernel on a full scratch
 * tile, copy the valid part back. bias_on: this is the last chunk and there
 * is a bias. */
static void scratch_tile(const job *jb, int64_t kc, const float *ap, const float *bp, int64_t r0,
                         int64_t c0, int64_t mr, int64_t nr, int first, int bias_on)
{
    float tile[POL_GEMM_MAX_TILE], tb[POL_GEMM_MAX_TILE];
    const int MR = jb->kd->mr, NR = jb->kd->nr;
    float *c = jb->C + r0 * jb->crs + c0 * jb->ccs;
    for (int64_t i = 0; i < MR; i++)
        for (int64_t j = 0; j < NR; j++)
            tile[i * NR + j] =
                (!first && i < mr && j < nr) ? c[i * jb->crs + j * jb->ccs] : 0.0f;
    const float *kbias = NULL;
    if (bias_on && !jb->bias_rows) {
        for (int64_t j = 0; j < NR; j++)
            tb[j] = j < nr ? jb->bias[c0 + j] : 0.0f;
        kbias = tb;
    }
    jb->kd->kernel(kc, ap, bp, tile, NR, first, kbias);
    for (int64_t i = 0; i < mr; i++)
        for (int64_t j = 0; j < nr; j++) {
            float t = tile[i * NR + j];
            if (bias_on && jb->bias_rows)
                t = t + jb->bias[r0 + i]; /* after the last chunk, as in A-RED-2 */
            c[i * jb->crs + j * jb->ccs] = t;
        }
}

static void run_block(const job *jb, int64_t i0, int64_t m, int64_t j0, int64_t n,
                      float *apack, float *bpack)
{
    const pol_gemm_kernel *kd = jb->kd;
    const int MR = kd->mr, NR = kd->nr;
    const int64_t K = jb->K;
    const int direct_ok = jb->ccs == 1 && !jb->bias_rows;
    for (int64_t jc = 0; jc < n; jc += kd->nc) {
        int64_t nc = n - jc < kd->nc ? n - jc : kd->nc;
        for (int64_t pc = 0; pc < K; pc += POL_KC) {
            int64_t kc = K - pc < POL_KC ? K - pc : POL_KC;
            int first = pc == 0;
            int bias_on = pc + kc == K && jb->bias;
            kd->pack(jb->b.p + (j0 + jc) * jb->b.rs + pc * jb->b.ks, jb->b.rs, jb->b.ks, nc, kc,
                     NR, bpack);
            for (int64_t ic = 0; ic < m; ic += kd->mc) {
                int64_t mc = m - ic < kd->mc ? m - ic : kd->mc;
                kd->pack(jb->a.p + (i0 + ic) * jb->a.rs + pc * jb->a.ks, jb->a.rs, jb->a.ks, mc,
                         kc, MR, apack);
                for (int64_t ir = 0; ir < mc; ir += MR) {
                    int64_t mr = mc - ir < MR ? mc - ir : MR;
                    int64_t r0 = i0 + ic + ir;
                    const float *ap = apack + (ir / MR) * kc * MR;
                    for (int64_t jr = 0; jr < nc; jr += NR) {
                        int64_t nr = nc - jr < NR ? nc - jr : NR;
                        int64_t c0 = j0 + jc + jr;
                        const float *bp = bpack + (jr / NR) * kc * NR;
                        if (direct_ok && mr == MR && nr == NR)
                            kd->kernel(kc, ap, bp, jb->C + r0 * jb->crs + c0, jb->crs, first,
                                       bias_on ? jb->bias + c0 : NULL);
                        else
                            scratch_tile(jb, kc, ap, bp, r0, c0, mr, nr, first, bias_on);
                    }
                }
            }
        }
    }
}

/* The canonical order written out directly, for when there is no memory for
 * packing (kernels cannot fail). Same bits, slower. */
static void run_unpacked(const job *jb, int64_t i0, int64_t m, int64_t j0, int64_t n)
{
    for (int64_t r = i0; r < i0 + m; r++)
        for (int64_t c = j0; c < j0 + n; c++) {
            float total = +0.0f;
            for (int64_t q = 0; q < jb->K; q += POL_KC) {
                int64_t end = q + POL_KC < jb->K ? q + POL_KC : jb->K;
                float s = +0.0f;
                for (int64_t k = q; k < end; k++)
                    s = fmaf(jb->a.p[r * jb->a.rs + k * jb->a.ks],
                             jb->b.p[c * jb->b.rs + k * jb->b.ks], s);
                total = total + s;
            }
            if (jb->bias)
                total = total + jb->bias[jb->bias_rows ? r : c];
            jb->C[r * jb->crs + c * jb->ccs] = total;
        }
}

static void run_task(void *arg, int t)
{
    const job *jb = arg;
    const pol_gemm_kernel *kd = jb->kd;
    int64_t i0 = (t / jb->tasks_c) * jb->rblk, j0 = (t % jb->tasks_c) * jb->cblk;
    int64_t m = jb->R - i0 < jb->rblk ? jb->R - i0 : jb->rblk;
    int64_t n = jb->Cn - j0 < jb->cblk ? jb->Cn - j0 : jb->cblk;
    if (m <= 0 || n <= 0)
        return;
    int64_t mc = m < kd->mc ? m : kd->mc, nc = n < kd->nc ? n : kd->nc;
    int64_t kc = jb->K < POL_KC ? jb->K : POL_KC;
    int64_t mpad = (mc + kd->mr - 1) / kd->mr * kd->mr;
    int64_t npad = (nc + kd->nr - 1) / kd->nr * kd->nr;
    size_t asize = ((size_t)(mpad * kc) + 15) & ~(size_t)15; /* keeps bpack aligned */
    float *apack = scratch_get(asize + (size_t)(npad * kc));
    if (!apack)
        run_unpacked(jb, i0, m, j0, n);
    else
        run_block(jb, i0, m, j0, n, apack, apack + asize);
}

/* Fraction of a padded tile grid that is real work. */
static double tile_use(int64_t rows, int64_t cols, int mr, int nr)
{
    double pr = (double)((rows + mr - 1) / mr * mr), pc = (double)((cols + nr - 1) / nr * nr);
    return (double)rows * (double)cols / (pr * pc);
}

/* Waking a pool thread costs tens of microseconds (more on a virtual
 * machine whose idle CPU has to be woken), so each task gets at least this
 * much work; smaller GEMMs use fewer threads. */
double pol_gemm_task_flops = 3e7;

/* Splits the output into a grid of whole-tile tasks, one per thread or, when
 * a dimension is short, one per tile; the split never changes the bits. */
static void plan(job *jb, int threads)
{
    const pol_gemm_kernel *kd = jb->kd;
    int64_t mt = (jb->R + kd->mr - 1) / kd->mr, nt = (jb->Cn + kd->nr - 1) / kd->nr;
    double flops = 2.0 * (double)jb->R * (double)jb->Cn * (double)jb->K;
    if (pol_gemm_task_flops > 0 && flops < threads * pol_gemm_task_flops)
        threads = flops < 2 * pol_gemm_task_flops ? 1 : (int)(flops / pol_gemm_task_flops);
    int tm = 1, tn = 1;
    if (threads > 1) {
        /* Prefer splitting columns: each task then packs only its own b. */
        if (nt >= threads && (nt >= mt || nt >= 4 * threads))
            tn = threads;
        else if (mt >= threads)
            tm = threads;
        else if (nt >= mt)
            tn = (int)nt;
        else
            tm = (int)mt;
    }
    jb->rblk = (mt + tm - 1) / tm * kd->mr;
    jb->cblk = (nt + tn - 1) / tn * kd->nr;
    jb->tasks_c = tn;
}

void pol_gemm_run_isa(pol_pool *pool, const pol_gemm_args *g, int isa)
{
    const int64_t M = g->M, N = g->N, K = g->K;
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                g->C[i * N + j] = g->bias ? +0.0f + g->bias[j] : +0.0f;
        return;
    }
    job jb;
    memset(&jb, 0, sizeof jb);
    jb.kd = kernel_of(isa);
    /* A(i,k) = trans_a ? A[k*M + i] : A[i*K + k];  B(k,j) = trans_b ? B[j*K + k] : B[k*N + j] */
    view va = g->trans_a ? (view){g->A, 1, M} : (view){g->A, K, 1};
    view vb = g->trans_b ? (view){g->B, K, 1} : (view){g->B, 1, N};
    int mr = jb.kd->mr, nr = jb.kd->nr;
    int swap = tile_use(N, M, mr, nr) > 1.5 * tile_use(M, N, mr, nr);
    jb.a = swap ? vb : va;
    jb.b = swap ? va : vb;
    jb.R = swap ? N : M;
    jb.Cn = swap ? M : N;
    jb.crs = swap ? 1 : N;
    jb.ccs = swap ? N : 1;
    jb.bias = g->bias;
    jb.bias_rows = swap;
    jb.C = g->C;
    jb.K = K;
    plan(&jb, pol_pool_threads(pool));
    int64_t tm = (jb.R + jb.rblk - 1) / jb.rblk, tn = jb.tasks_c;
    pol_pool_run(pool, (int)(tm * tn), run_task, &jb);
}

void pol_fast_gemm(pol_pool *pool, const pol_gemm_args *g)
{
    pol_gemm_run_isa(pool, g, pol_gemm_isa_active());
}
