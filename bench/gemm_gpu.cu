/* gemm_gpu — libpol's exact CUDA GEMM against cuBLAS SGEMM (fp32, default
 * math: no TF32) and cuBLAS with TF32 tensor cores.
 *
 *   gemm_gpu [--out DIR] [--reps N] [--smoke] [--sweep] [--profile LIST]
 *
 * Shapes: 1024^3 .. 8192^3 and the GEMMs of one training step of the
 * 784-1024-1024-10 MLP at batch 256. Each exact result is first checked
 * against the CPU (the whole matrix through pol_fast_gemm up to 1024^3,
 * sampled entries in the reference order beyond); then every kernel is
 * timed with CUDA events (warm-up, median of N >= 10 runs). The table is
 * printed and written to DIR/gemm_gpu.md (default bench/results) with the
 * device name. Every kernel runs on the libpol context's stream
 * (pol_cuda_stream), cuBLAS included, and the events are recorded on it.
 * --smoke: a few small shapes instead, to run the program's every path
 * quickly (on the CUDA emulator: make emu-bench); its timings are not
 * results and the table says so.
 * --sweep: after that table, a second one to tune pol_cuda_gemm's automatic
 * launch choice (kernels/gemm.cu): each shape's exact GEMM again under every
 * configuration that means something for it (the 128x128 tile, the 64x64
 * tile unsplit and split 2, 4, 8, 16 ways where K has that many POL_KC
 * chunks, the 128x64 tile, the 64x64 tile with a K step of 32 unsplit and
 * split 4 ways, the 128x128 tile with its totals in a workspace at two
 * blocks an SM, and the automatic one). Each configuration's output must equal the
 * automatic configuration's (checked against the CPU above) bit for bit
 * before it is timed the same way; a mismatch is reported, marked DIFFERS in
 * the table, and fails the run (exit 1) once the tables are written.
 * The table gives each configuration's median ms and TFLOP/s, the best one,
 * auto's time over the best's, and the best's speed over cuBLAS fp32.
 * --profile LIST: for a profiler (scripts/gpu-run.sh --ncu runs it under
 * ncu): only the shapes numbered in LIST (--help lists them), each kernel of
 * the above once and untimed, every output checked as above; no table.
 * Exit status: 0 all checks passed, 1 a check or a CUDA call failed, 2 bad
 * usage, 77 without a CUDA device.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <string>
#include <vector>

#include "pol/cuda.h"
#include "pol/kernels.h"

namespace {

struct shape {
    const char *name;
    long long M, N, K;
    int ta, tb, bias;
};

const shape SHAPES[] = {
    { "square", 1024, 1024, 1024, 0, 0, 0 },
    { "square", 2048, 2048, 2048, 0, 0, 0 },
    { "square", 4096, 4096, 4096, 0, 0, 0 },
    { "square", 8192, 8192, 8192, 0, 0, 0 },
    { "mlp fwd l0 (NT+bias)", 256, 1024, 784, 0, 1, 1 },
    { "mlp fwd l1 (NT+bias)", 256, 1024, 1024, 0, 1, 1 },
    { "mlp fwd l2 (NT+bias)", 256, 10, 1024, 0, 1, 1 },
    { "mlp dx l2 (NN)", 256, 1024, 10, 0, 0, 0 },
    { "mlp dx l1 (NN)", 256, 1024, 1024, 0, 0, 0 },
    { "mlp dW l2 (TN)", 10, 1024, 256, 1, 0, 0 },
    { "mlp dW l1 (TN)", 1024, 1024, 256, 1, 0, 0 },
    { "mlp dW l0 (TN)", 1024, 784, 256, 1, 0, 0 },
};

/* --smoke: every transpose pattern above, small and odd sizes; K of 3 and
 * 17 POL_KC chunks, so --sweep runs every split it can (K = 16 * POL_KC + 4:
 * a last chunk of 4, and float4 rows, so the lean tile folds 17 chunks) */
const shape SMOKE_SHAPES[] = {
    { "square", 64, 64, 64, 0, 0, 0 },
    { "odd", 130, 97, 513, 0, 0, 0 },
    { "deep K (NT+bias)", 24, 40, 16 * POL_KC + 4, 0, 1, 1 },
    { "fwd (NT+bias)", 32, 128, 64, 0, 1, 1 },
    { "dx (NN)", 32, 64, 10, 0, 0, 0 },
    { "dW (TN)", 10, 128, 32, 1, 0, 0 },
};

/* --sweep: pol_cuda_gemm's launch configurations (pol_cuda_launch) */
struct config {
    const char *name;
    int tile, splits; /* gemm_tile, gemm_splits; 0, 0: automatic */
};

const config CONFIGS[] = {
    { "128x128", 1, 1 },         { "64x64", 2, 1 },           { "64x64 split 2", 2, 2 },
    { "64x64 split 4", 2, 4 },   { "64x64 split 8", 2, 8 },   { "64x64 split 16", 2, 16 },
    { "128x64", 4, 1 },          { "64x64 k32", 3, 1 },       { "64x64 k32 split 4", 3, 4 },
    { "128x128 lean", 5, 1 }, { "auto", 0, 0 },
};
const int N_CONFIGS = (int)(sizeof CONFIGS / sizeof CONFIGS[0]);

/* Whether configuration cf runs as itself on shape s. pol_cuda_gemm
 * (kernels/gemm.cu) clamps a split to the number of POL_KC chunks and drops
 * it when the workspace (chunks x M x N floats) would pass 1 GiB: such a
 * configuration repeats a smaller split or the unsplit 64x64 one. Within
 * the chunk count, the splits 2, 4, 8, 16 give distinct chunks per split.
 * Tile 5 needs both operands float4-readable (rows of a multiple of 4
 * floats; cudaMalloc'd bases are aligned) and a workspace of whole 128x128
 * tiles within 1 GiB; else it runs tile 1. */
bool meaningful(const config &cf, const shape &s)
{
    if (cf.tile == 5)
        return (s.ta ? s.M : s.K) % 4 == 0 && (s.tb ? s.K : s.N) % 4 == 0 &&
               ((s.M + 127) / 128) * ((s.N + 127) / 128) * 128 * 128 <= (1LL << 28);
    if (cf.splits <= 1)
        return true;
    const long long nchunks = (s.K + POL_KC - 1) / POL_KC;
    return cf.splits <= nchunks && nchunks * s.M * s.N <= (1LL << 28);
}

#define CK(x)                                                                                    \
    do {                                                                                         \
        cudaError_t e_ = (x);                                                                    \
        if (e_ != cudaSuccess) {                                                                 \
            fprintf(stderr, "gemm_gpu: %s: %s\n", #x, cudaGetErrorString(e_));                   \
            exit(1);                                                                             \
        }                                                                                        \
    } while (0)
#define CB(x)                                                                                    \
    do {                                                                                         \
        cublasStatus_t s_ = (x);                                                                 \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                       \
            fprintf(stderr, "gemm_gpu: %s: cuBLAS status %d\n", #x, (int)s_);                    \
            exit(1);                                                                             \
        }                                                                                        \
    } while (0)

/* C[i][j] in the order of pol/kernels.h (A-RED-2), for sampled checks. */
float ref_entry(const pol_gemm_args &g, long long i, long long j)
{
    float total = 0.0f;
    for (long long c = 0; c < g.K; c += POL_KC) {
        long long end = std::min<long long>(c + POL_KC, g.K);
        float s = 0.0f;
        for (long long k = c; k < end; k++) {
            float a = g.trans_a ? g.A[k * g.M + i] : g.A[i * g.K + k];
            float b = g.trans_b ? g.B[j * g.K + k] : g.B[k * g.N + j];
            s = fmaf(a, b, s);
        }
        total = total + s;
    }
    if (g.bias)
        total = total + g.bias[j];
    return total;
}

uint64_t rng_state = 0x9E3779B97F4A7C15ull;
float urand()
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) & 0xFFFFFF) * 0x1p-23f - 1.0f;
}

double median(std::vector<float> v)
{
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

/* --profile: every kernel runs once, untimed, for a profiler (ncu) */
int profile_mode = 0;

/* Median time of f, whose work all goes to stream st (--profile: runs f
 * once and returns 1). */
template <class F> double time_ms(F f, int reps, cudaStream_t st)
{
    if (profile_mode) {
        f();
        CK(cudaStreamSynchronize(st));
        return 1.0;
    }
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    for (int i = 0; i < 3; i++)
        f();
    CK(cudaStreamSynchronize(st));
    std::vector<float> t;
    for (int r = 0; r < reps; r++) {
        CK(cudaEventRecord(a, st));
        f();
        CK(cudaEventRecord(b, st));
        CK(cudaEventSynchronize(b));
        float ms;
        CK(cudaEventElapsedTime(&ms, a, b));
        t.push_back(ms);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return median(t);
}

/* Row-major C = op(A) op(B) through column-major cuBLAS: C^T = op(B)^T op(A)^T. */
void cublas_gemm(cublasHandle_t h, const shape &s, const float *A, const float *B, float *C)
{
    const float one = 1.0f, zero = 0.0f;
    CB(cublasSgemm(h, s.tb ? CUBLAS_OP_T : CUBLAS_OP_N, s.ta ? CUBLAS_OP_T : CUBLAS_OP_N, (int)s.N,
                   (int)s.M, (int)s.K, &one, B, s.tb ? (int)s.K : (int)s.N, A,
                   s.ta ? (int)s.M : (int)s.K, &zero, C, (int)s.N));
}

const char USAGE[] =
    "usage: gemm_gpu [--out DIR] [--reps N>=10] [--smoke] [--sweep] [--profile LIST]\n"
    "  --out DIR  where gemm_gpu.md goes (default bench/results; must exist)\n"
    "  --reps N   timed runs per kernel, median taken (default and minimum 10)\n"
    "  --smoke    small shapes only, to exercise the program (timings are not results)\n"
    "  --sweep    also time the exact GEMM under each launch configuration\n"
    "             (tile, split of K), each first checked against the automatic one\n"
    "  --profile LIST  for a profiler such as ncu: only the shapes numbered in LIST\n"
    "             (comma-separated, as below), each kernel once and untimed: the\n"
    "             exact GEMM (checked against the CPU), cuBLAS fp32 and TF32, then\n"
    "             every launch configuration (checked as with --sweep); no table\n"
    "             is written\n";

/* The sweep table's row for one shape: t[c] the median ms of CONFIGS[c], 0
 * where not meaningful, -1 where its output differed. */
std::string sweep_row(const shape &s, const double *t, double t_fp32)
{
    const double flop = 2.0 * (double)s.M * (double)s.N * (double)s.K;
    char cell[128];
    snprintf(cell, sizeof cell, "| %s | %lld | %lld | %lld |", s.name, s.M, s.N, s.K);
    std::string row = cell;
    int best = -1;
    for (int c = 0; c < N_CONFIGS; c++) {
        if (t[c] > 0)
            snprintf(cell, sizeof cell, " %.4g / %.2f |", t[c], flop / (t[c] * 1e-3) / 1e12);
        else
            snprintf(cell, sizeof cell, " %s |", t[c] < 0 ? "DIFFERS" : "-");
        row += cell;
        if (CONFIGS[c].tile && t[c] > 0 && (best < 0 || t[c] < t[best]))
            best = c;
    }
    const double t_auto = t[N_CONFIGS - 1];
    if (best < 0)
        snprintf(cell, sizeof cell, " - | - | - |");
    else if (t_auto <= 0)
        snprintf(cell, sizeof cell, " %s | - | %.2f |", CONFIGS[best].name, t_fp32 / t[best]);
    else
        snprintf(cell, sizeof cell, " %s | %.2f | %.2f |", CONFIGS[best].name, t_auto / t[best],
                 t_fp32 / t[best]);
    return row + cell;
}

} // namespace

int main(int argc, char **argv)
{
    const char *out = "bench/results";
    const char *profile_list = NULL;
    int reps = 10, smoke = 0, sweep = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = std::max(10, atoi(argv[++i]));
        else if (!strcmp(argv[i], "--smoke"))
            smoke = 1;
        else if (!strcmp(argv[i], "--sweep"))
            sweep = 1;
        else if (!strcmp(argv[i], "--profile") && i + 1 < argc)
            profile_list = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(USAGE, stdout);
            printf("shapes (with --smoke: the smoke shapes):\n");
            for (size_t k = 0; k < sizeof SHAPES / sizeof SHAPES[0]; k++)
                printf("  %2zu  %s %lldx%lldx%lld\n", k + 1, SHAPES[k].name, SHAPES[k].M,
                       SHAPES[k].N, SHAPES[k].K);
            for (size_t k = 0; k < sizeof SMOKE_SHAPES / sizeof SMOKE_SHAPES[0]; k++)
                printf("  %2zu  (--smoke) %s %lldx%lldx%lld\n", k + 1, SMOKE_SHAPES[k].name,
                       SMOKE_SHAPES[k].M, SMOKE_SHAPES[k].N, SMOKE_SHAPES[k].K);
            return 0;
        } else {
            fputs(USAGE, stderr);
            return 2;
        }
    }
    const shape *shapes = smoke ? SMOKE_SHAPES : SHAPES;
    const size_t n_shapes = smoke ? sizeof SMOKE_SHAPES / sizeof SMOKE_SHAPES[0]
                                  : sizeof SHAPES / sizeof SHAPES[0];
    std::vector<char> chosen(n_shapes, 1);
    if (profile_list) { /* "3,6,11": numbers 1..n_shapes, at least one */
        std::fill(chosen.begin(), chosen.end(), 0);
        const char *q = profile_list;
        for (;;) {
            char *end;
            const long k = strtol(q, &end, 10);
            if (end == q || k < 1 || k > (long)n_shapes || (*end && *end != ',')) {
                fprintf(stderr, "gemm_gpu: --profile %s: a comma-separated list of shape "
                                "numbers from 1 to %zu is expected (see --help)\n",
                        profile_list, n_shapes);
                return 2;
            }
            chosen[(size_t)k - 1] = 1;
            if (!*end)
                break;
            q = end + 1;
        }
        profile_mode = 1, sweep = 1;
    }
    if (pol_cuda_available()) {
        printf("gemm_gpu: no CUDA device: %s; skipping\n", pol_last_error());
        return 77;
    }
    char dev_name[128];
    int major = 0, minor = 0;
    pol_cuda *pc;
    if (pol_cuda_device_info(dev_name, sizeof dev_name, &major, &minor) || pol_cuda_create(&pc, 0)) {
        fprintf(stderr, "gemm_gpu: %s\n", pol_last_error());
        return 1;
    }
    cudaStream_t st = (cudaStream_t)pol_cuda_stream(pc);
    cublasHandle_t h;
    CB(cublasCreate(&h));
    CB(cublasSetStream(h, st));
    char line[512];
    std::vector<std::string> rows;
    snprintf(line, sizeof line, "| shape | M | N | K | exact TFLOP/s | cuBLAS fp32 TFLOP/s | "
             "cuBLAS TF32 TFLOP/s | exact / fp32 | exact / TF32 | check |");
    rows.push_back(line);
    rows.push_back("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    printf("gemm_gpu on %s (sm_%d%d)%s\n%s\n", dev_name, major, minor,
           smoke ? ", SMOKE RUN: timings are not results" : "",
           profile_mode ? "--profile: each kernel once, untimed" : line);
    std::vector<std::string> sweep_rows;
    std::string head = "| shape | M | N | K |";
    std::string rule = "|---|---:|---:|---:|";
    for (int c = 0; c < N_CONFIGS; c++)
        head += std::string(" ") + CONFIGS[c].name + " |", rule += "---:|";
    sweep_rows.push_back(head + " best | auto/best | best / cuBLAS fp32 |");
    sweep_rows.push_back(rule + "---|---:|---:|");
    int bad = 0, sweep_bad = 0;
    for (size_t si = 0; si < n_shapes; si++) {
        const shape &s = shapes[si];
        if (!chosen[si])
            continue;
        const size_t na = (size_t)(s.M * s.K), nb = (size_t)(s.K * s.N), nc = (size_t)(s.M * s.N);
        std::vector<float> A(na), B(nb), bias(s.N), C(nc);
        for (auto &x : A) x = urand();
        for (auto &x : B) x = urand();
        for (auto &x : bias) x = urand();
        float *dA, *dB, *dC, *dbias;
        CK(cudaMalloc(&dA, na * 4));
        CK(cudaMalloc(&dB, nb * 4));
        CK(cudaMalloc(&dC, nc * 4));
        CK(cudaMalloc(&dbias, (size_t)s.N * 4));
        /* every transfer on the context's stream (non-blocking: the legacy
         * stream is not ordered with it) */
        CK(cudaMemcpyAsync(dA, A.data(), na * 4, cudaMemcpyHostToDevice, st));
        CK(cudaMemcpyAsync(dB, B.data(), nb * 4, cudaMemcpyHostToDevice, st));
        CK(cudaMemcpyAsync(dbias, bias.data(), (size_t)s.N * 4, cudaMemcpyHostToDevice, st));
        pol_gemm_args dg = {};
        dg.M = s.M, dg.N = s.N, dg.K = s.K, dg.trans_a = s.ta, dg.trans_b = s.tb;
        dg.A = dA, dg.B = dB, dg.bias = s.bias ? dbias : NULL, dg.C = dC;
        if (pol_cuda_gemm(pc, &dg) || pol_cuda_sync(pc)) {
            fprintf(stderr, "gemm_gpu: %s\n", pol_last_error());
            return 1;
        }
        CK(cudaMemcpyAsync(C.data(), dC, nc * 4, cudaMemcpyDeviceToHost, st));
        CK(cudaStreamSynchronize(st));
        /* check against the CPU */
        pol_gemm_args hg = dg;
        hg.A = A.data(), hg.B = B.data(), hg.bias = s.bias ? bias.data() : NULL;
        const char *check;
        long long wrong = 0;
        if ((double)s.M * s.N * s.K <= 1100000000.0) {
            std::vector<float> R(nc);
            hg.C = R.data();
            pol_fast_gemm(NULL, &hg);
            for (size_t i = 0; i < nc; i++)
                wrong += memcmp(&R[i], &C[i], 4) != 0;
            check = wrong ? "DIFFERS" : "bit-exact (all)";
        } else {
            for (int t = 0; t < 512; t++) {
                long long i = (long long)((urand() + 1.0f) * 0.5f * (float)(s.M - 1));
                long long j = (long long)((urand() + 1.0f) * 0.5f * (float)(s.N - 1));
                if (t == 0) i = 0, j = 0;
                if (t == 1) i = s.M - 1, j = s.N - 1;
                float r = ref_entry(hg, i, j);
                wrong += memcmp(&r, &C[(size_t)(i * s.N + j)], 4) != 0;
            }
            check = wrong ? "DIFFERS" : "bit-exact (512 sampled)";
        }
        bad += wrong != 0;
        const double flop = 2.0 * (double)s.M * (double)s.N * (double)s.K;
        /* (--profile: the exact GEMM ran once above, for the check) */
        double t_exact =
            profile_mode ? 1.0 : time_ms([&] { (void)!pol_cuda_gemm(pc, &dg); }, reps, st);
        CB(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
        double t_fp32 = time_ms([&] { cublas_gemm(h, s, dA, dB, dC); }, reps, st);
        CB(cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH));
        double t_tf32 = time_ms([&] { cublas_gemm(h, s, dA, dB, dC); }, reps, st);
        if (pol_cuda_sync(pc)) {
            fprintf(stderr, "gemm_gpu: %s\n", pol_last_error());
            return 1;
        }
        auto tf = [&](double ms) { return flop / (ms * 1e-3) / 1e12; };
        snprintf(line, sizeof line, "| %s | %lld | %lld | %lld | %.2f | %.2f | %.2f | %.2f | %.2f | %s |",
                 s.name, s.M, s.N, s.K, tf(t_exact), tf(t_fp32), tf(t_tf32), t_fp32 / t_exact,
                 t_tf32 / t_exact, check);
        if (profile_mode)
            snprintf(line, sizeof line, "gemm_gpu: --profile: %s %lldx%lldx%lld: exact GEMM %s; "
                     "cuBLAS fp32 and TF32 ran once", s.name, s.M, s.N, s.K, check);
        else
            rows.push_back(line);
        printf("%s\n", line);
        fflush(stdout);
        if (sweep) {
            /* every configuration against the automatic one's output C */
            double t[N_CONFIGS];
            std::vector<float> C2(nc);
            for (int c = 0; c < N_CONFIGS; c++) {
                const config &cf = CONFIGS[c];
                t[c] = 0;
                if (!meaningful(cf, s))
                    continue;
                pol_cuda_launch l = {};
                l.gemm_tile = cf.tile, l.gemm_splits = cf.splits;
                /* NaN bytes first: an entry the configuration leaves unwritten differs */
                CK(cudaMemsetAsync(dC, 0xFF, nc * 4, st));
                if (pol_cuda_set_launch(pc, &l) || pol_cuda_gemm(pc, &dg) || pol_cuda_sync(pc)) {
                    fprintf(stderr, "gemm_gpu: %s %lldx%lldx%lld, config %s: %s\n", s.name, s.M,
                            s.N, s.K, cf.name, pol_last_error());
                    return 1;
                }
                CK(cudaMemcpyAsync(C2.data(), dC, nc * 4, cudaMemcpyDeviceToHost, st));
                CK(cudaStreamSynchronize(st));
                if (memcmp(C2.data(), C.data(), nc * 4)) {
                    size_t first = nc, n_diff = 0;
                    for (size_t i = 0; i < nc; i++)
                        if (memcmp(&C2[i], &C[i], 4)) {
                            n_diff++;
                            if (first == nc)
                                first = i;
                        }
                    fprintf(stderr,
                            "gemm_gpu: sweep: %s %lldx%lldx%lld, config %s (tile %d, splits %d): "
                            "%zu of %zu entries differ from the automatic configuration's, first "
                            "C[%zu][%zu] = %a, not %a\n",
                            s.name, s.M, s.N, s.K, cf.name, cf.tile, cf.splits, n_diff, nc,
                            first / (size_t)s.N, first % (size_t)s.N, C2[first], C[first]);
                    sweep_bad++;
                    t[c] = -1;
                    continue;
                }
                t[c] = time_ms([&] { (void)!pol_cuda_gemm(pc, &dg); }, reps, st);
            }
            if (pol_cuda_set_launch(pc, NULL) || pol_cuda_sync(pc)) {
                fprintf(stderr, "gemm_gpu: %s\n", pol_last_error());
                return 1;
            }
            sweep_rows.push_back(sweep_row(s, t, t_fp32));
            if (profile_mode) {
                int n = 0, differ = 0;
                for (int c = 0; c < N_CONFIGS; c++)
                    n += t[c] != 0, differ += t[c] < 0;
                printf("gemm_gpu: --profile: then %d launch configurations ran once, %d with "
                       "other bits than the automatic one\n", n, differ);
            }
        }
        cudaFree(dA), cudaFree(dB), cudaFree(dC), cudaFree(dbias);
    }
    if (profile_mode) {
        cublasDestroy(h);
        pol_cuda_destroy(pc);
        printf("gemm_gpu: --profile: done (no table written)%s\n",
               bad || sweep_bad ? "; FAILED: an output differed (above)" : "");
        return bad || sweep_bad ? 1 : 0;
    }
    if (sweep) {
        printf("\nlaunch configurations of the exact GEMM: median ms / TFLOP/s%s\n",
               smoke ? " (SMOKE RUN: timings are not results)" : "");
        for (auto &r : sweep_rows)
            printf("%s\n", r.c_str());
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/gemm_gpu.md", out);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "gemm_gpu: cannot write %s\n", path);
        return 1;
    }
    fprintf(f, "# Exact GEMM vs cuBLAS on %s (sm_%d%d)\n\n", dev_name, major, minor);
    if (smoke)
        fprintf(f, "SMOKE RUN (--smoke): small shapes to exercise the program; the timings "
                   "are not results.\n\n");
    fprintf(f, "fp32 inputs in [-1, 1]; median of %d timed runs after 3 warm-ups (CUDA events).\n"
               "Ratios are speed ratios: exact / fp32 = cuBLAS time / exact time.\n"
               "cuBLAS fp32 uses CUBLAS_DEFAULT_MATH (no TF32); TF32 uses "
               "CUBLAS_TF32_TENSOR_OP_MATH.\n\n", reps);
    for (auto &r : rows)
        fprintf(f, "%s\n", r.c_str());
    if (sweep) {
        fprintf(f, "\n## Launch configurations of the exact GEMM (--sweep)\n\n"
                   "Each cell: median ms / TFLOP/s of pol_cuda_gemm forced to that tile and\n"
                   "split of K (pol_cuda_set_launch; a split uses the 64x64 tile), timed as\n"
                   "above once its output equalled the automatic configuration's bit for bit.\n"
                   "-: not meaningful for the shape (K has fewer chunks of POL_KC = %d than\n"
                   "the split, or the split-K workspace would pass 1 GiB; the lean tile: an\n"
                   "operand is not float4-readable, so tile 1 would run). DIFFERS: the output\n"
                   "differed (the run fails). best: the fastest forced configuration;\n"
                   "auto/best: auto's time / best's time (1.00: the automatic choice is the\n"
                   "best); best / cuBLAS fp32: cuBLAS fp32 time / best's time.\n\n",
                POL_KC);
        for (auto &r : sweep_rows)
            fprintf(f, "%s\n", r.c_str());
    }
    fclose(f);
    printf("wrote %s\n", path);
    cublasDestroy(h);
    pol_cuda_destroy(pc);
    if (sweep_bad)
        fprintf(stderr, "gemm_gpu: FAILED: %d launch configuration(s) gave other bits than the "
                        "automatic one (above)\n", sweep_bad);
    return bad || sweep_bad ? 1 : 0;
}
