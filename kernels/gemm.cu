/* The exact GEMM on the device (pol/kernels.h, A-RED-2).
 *
 * C[i][j] = ((+0 + s_0) + s_1) + ... (+ bias[j]), where s_c is the chunk
 * [c*KC, min((c+1)*KC, K)) summed as an fma chain from +0, k ascending.
 *
 * Tiled kernel: a block computes a BM x BN tile of C; each thread owns
 * TM x TN outputs and keeps, per output, the running chunk sum s and the
 * running total in registers. K is walked in tiles of BK (BK divides KC, so
 * chunk boundaries fall on tile boundaries); shared memory is double
 * buffered with a register prefetch of the next tile. Every output's fma
 * chain runs in ascending k whatever the tile shape or grid, so the tile
 * configuration changes speed only.
 *
 * Padding: A and B tiles are zero beyond M, N and K. For the last partial
 * tile this appends fma(0, 0, s) steps to a chain; that returns s except
 * that -0 becomes +0, and the sign of a zero chunk sum cannot reach the
 * output: total starts at +0 and +0 + (+-0) = +0, x + (+-0) = x otherwise.
 *
 * Split-K variant (small outputs, several chunks): block z computes whole
 * chunks [z*cps, (z+1)*cps) and stores each chunk sum s_c (not their sum)
 * in a workspace W[c][i][j]; a second pass adds the chunk sums left to right
 * from +0, then the bias. The same additions in the same order as above.
 *
 * Lean variant (LEAN, tile 5): the running totals live in a workspace of
 * whole BM x BN tiles in device memory instead of TM x TN registers a
 * thread (s stays in registers). A fold reads each total, adds s and writes
 * it back, by its own thread only, once per chunk; chunk 0 adds s to +0.
 * The same additions in the same order as above; what changes is that a
 * thread of the 8x8 tile fits 128 registers, so two blocks share an SM.
 * It loads float4 only (the scalar path's registers do not fit), so the
 * launcher uses it only where both operands allow that.
 *
 * Vectorized loads: where an operand's contiguous dimension has a length
 * divisible by 4 and its base is 16-byte aligned, each thread fetches four
 * neighbours along that dimension with one float4 load (every such group
 * then lies wholly inside or wholly outside the matrix, and inside or
 * outside [kbeg, kend), whose ends are multiples of 4). Which thread loads
 * which element changes; the shared-memory tiles, and so every fma chain,
 * are the same as with scalar loads.
 *
 * Letters: M, N, K as in pol/kernels.h; BM x BN the block tile, BK the K
 * step, TM x TN the outputs of one thread.
 *
 * Which outputs a thread owns (speed only): along each dimension, runs of
 * 4 consecutive rows (columns), so each k step reads a thread's operands
 * from shared memory as 16-byte vectors (LDS.128). With TM = 8 the two runs
 * are set half a tile apart: 8 consecutive floats per thread would put 8
 * threads' 16-byte reads 32 bytes apart, two to a bank group; half a tile
 * apart, the 8 threads of each quarter-warp phase read 128 consecutive
 * bytes. With TM = 4 the one run is already so.
 */
#include <stdint.h>

#include "internal.cuh"
#include "pol/cmath.h"

namespace {

struct gemm_params {
    const float *A, *B, *bias;
    float *C;        /* M x N (non-split) */
    float *W;        /* nchunks x M x N chunk sums (split) */
    int64_t M, N, K;
    int64_t cps;     /* chunks per split (split) */
    bool vec_a, vec_b; /* load A (B) as float4: see gemm_vectorizable */
};

/* Minimum blocks an SM: 2 for LEAN; 0 is as if none was given (an explicit
 * 1 changed ptxas's register allocation of the other kernels). */
template <int BM, int BN, int BK, int TM, int TN, bool TA, bool TB, bool SPLIT, bool LEAN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN), LEAN ? 2 : 0)
gemm_tile_kernel(gemm_params p)
{
    static_assert(POL_KC % BK == 0, "chunk boundaries must fall on tile boundaries");
    static_assert(!(SPLIT && LEAN), "a split kernel keeps no totals");
    const bool vec_a = LEAN || p.vec_a, vec_b = LEAN || p.vec_b; /* LEAN: float4 only */
    constexpr int NT = (BM / TM) * (BN / TN);
    constexpr int LA = BM * BK / NT; /* A elements each thread loads per tile */
    constexpr int LB = BN * BK / NT;
    static_assert(LA * NT == BM * BK && LB * NT == BN * BK, "tile does not split evenly");
    /* +4 columns: fewer bank conflicts on the transposing stores, rows stay
     * 16-byte aligned for vector reads */
    __shared__ __align__(16) float As[2][BK][BM + 4];
    __shared__ __align__(16) float Bs[2][BK][BN + 4];

    const int tid = threadIdx.x;
    const int tx = tid % (BN / TN), ty = tid / (BN / TN);
    const int64_t bm = (int64_t)blockIdx.y * BM, bn = (int64_t)blockIdx.x * BN;
    const int64_t M = p.M, N = p.N, K = p.K;

    int64_t kbeg = 0, kend = K;
    if (SPLIT) {
        kbeg = (int64_t)blockIdx.z * p.cps * POL_KC;
        kend = kbeg + p.cps * POL_KC < K ? kbeg + p.cps * POL_KC : K;
    }
    const int64_t ntiles = kend > kbeg ? (kend - kbeg + BK - 1) / BK : 0;

    static_assert(LA % 4 == 0 && LB % 4 == 0 && BK % 4 == 0 && BM % 4 == 0 && BN % 4 == 0,
                  "float4 loads need whole groups of four");
    float ra[LA], rb[LB]; /* prefetch registers */

    /* Vector group r of this thread: which 4 consecutive elements along the
     * contiguous dimension. Rows of length W4 groups; the group's first
     * element is at (row, 4 * col) of the operand tile. */
    auto group = [&](int r, int w4, int *row, int *col4) {
        const int idx = tid + r * NT;
        *row = idx / w4;
        *col4 = (idx % w4) * 4;
    };

    auto load = [&](int64_t k0) {
        if (vec_a) {
#pragma unroll
            for (int r = 0; r < LA / 4; r++) {
                int row, c4;
                float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                if (TA) { /* K x M: rows k, groups along i */
                    group(r, BM / 4, &row, &c4);
                    const int64_t gk = k0 + row, gi = bm + c4;
                    if (gk < kend && gi < M)
                        v = *reinterpret_cast<const float4 *>(p.A + gk * M + gi);
                } else { /* M x K: rows i, groups along k */
                    group(r, BK / 4, &row, &c4);
                    const int64_t gi = bm + row, gk = k0 + c4;
                    if (gi < M && gk < kend)
                        v = *reinterpret_cast<const float4 *>(p.A + gi * K + gk);
                }
                ra[4 * r] = v.x, ra[4 * r + 1] = v.y, ra[4 * r + 2] = v.z, ra[4 * r + 3] = v.w;
            }
        } else {
#pragma unroll
        for (int r = 0; r < LA; r++) {
            const int idx = tid + r * NT;
            int ii, kk;
            if (TA) { kk = idx / BM; ii = idx % BM; } /* A is K x M: contiguous in i */
            else    { ii = idx / BK; kk = idx % BK; } /* A is M x K: contiguous in k */
            const int64_t gi = bm + ii, gk = k0 + kk;
            float v = 0.0f;
            if (gi < M && gk < kend)
                v = TA ? p.A[gk * M + gi] : p.A[gi * K + gk];
            ra[r] = v;
        }
        }
        if (vec_b) {
#pragma unroll
            for (int r = 0; r < LB / 4; r++) {
                int row, c4;
                float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                if (TB) { /* N x K: rows j, groups along k */
                    group(r, BK / 4, &row, &c4);
                    const int64_t gj = bn + row, gk = k0 + c4;
                    if (gj < N && gk < kend)
                        v = *reinterpret_cast<const float4 *>(p.B + gj * K + gk);
                } else { /* K x N: rows k, groups along j */
                    group(r, BN / 4, &row, &c4);
                    const int64_t gk = k0 + row, gj = bn + c4;
                    if (gk < kend && gj < N)
                        v = *reinterpret_cast<const float4 *>(p.B + gk * N + gj);
                }
                rb[4 * r] = v.x, rb[4 * r + 1] = v.y, rb[4 * r + 2] = v.z, rb[4 * r + 3] = v.w;
            }
        } else {
#pragma unroll
        for (int r = 0; r < LB; r++) {
            const int idx = tid + r * NT;
            int jj, kk;
            if (TB) { jj = idx / BK; kk = idx % BK; } /* B is N x K: contiguous in k */
            else    { kk = idx / BN; jj = idx % BN; } /* B is K x N: contiguous in j */
            const int64_t gj = bn + jj, gk = k0 + kk;
            float v = 0.0f;
            if (gj < N && gk < kend)
                v = TB ? p.B[gj * K + gk] : p.B[gk * N + gj];
            rb[r] = v;
        }
        }
    };
    /* As[k][i] and Bs[k][j]: the same tiles whichever way they were loaded */
    auto store = [&](int buf) {
        if (vec_a) {
#pragma unroll
            for (int r = 0; r < LA / 4; r++) {
                int row, c4;
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    if (TA) { group(r, BM / 4, &row, &c4); As[buf][row][c4 + e] = ra[4 * r + e]; }
                    else    { group(r, BK / 4, &row, &c4); As[buf][c4 + e][row] = ra[4 * r + e]; }
                }
            }
        } else {
#pragma unroll
            for (int r = 0; r < LA; r++) {
                const int idx = tid + r * NT;
                if (TA) As[buf][idx / BM][idx % BM] = ra[r];
                else    As[buf][idx % BK][idx / BK] = ra[r];
            }
        }
        if (vec_b) {
#pragma unroll
            for (int r = 0; r < LB / 4; r++) {
                int row, c4;
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    if (TB) { group(r, BK / 4, &row, &c4); Bs[buf][c4 + e][row] = rb[4 * r + e]; }
                    else    { group(r, BN / 4, &row, &c4); Bs[buf][row][c4 + e] = rb[4 * r + e]; }
                }
            }
        } else {
#pragma unroll
            for (int r = 0; r < LB; r++) {
                const int idx = tid + r * NT;
                if (TB) Bs[buf][idx % BK][idx / BK] = rb[r];
                else    Bs[buf][idx / BN][idx % BN] = rb[r];
            }
        }
    };

    /* output (q, w) of this thread is row row_of(q), column col_of(w) of the
     * tile: runs of RUN = 4 (see the top), TM / RUN of them set BM / (TM /
     * RUN) apart */
    constexpr int RUN = 4;
    static_assert(TM % RUN == 0 && TN % RUN == 0, "a thread owns whole runs of 4");
    auto row_of = [&](int q) { return (q / RUN) * (BM / (TM / RUN)) + ty * RUN + q % RUN; };
    auto col_of = [&](int w) { return (w / RUN) * (BN / (TN / RUN)) + tx * RUN + w % RUN; };

    /* The running totals: in registers, or (LEAN) in a workspace of the
     * block's BM x BN totals, total (q, w) of thread tid at
     * wt[(q * TN + w) * NT]: one base pointer, every offset a constant, so
     * the K loop keeps no output addresses or bounds alive (with totals in
     * C itself, or a clear of it in the kernel, ptxas spilled at 128
     * registers). Each total is read and written by its own thread only. */
    constexpr bool REG_TOTAL = !SPLIT && !LEAN;
    float s[TM][TN], total[REG_TOTAL ? TM : 1][REG_TOTAL ? TN : 1];
    float *const wt =
        LEAN ? p.W + ((int64_t)blockIdx.y * gridDim.x + blockIdx.x) * (BM * BN) + tid : nullptr;
#pragma unroll
    for (int q = 0; q < TM; q++)
#pragma unroll
        for (int w = 0; w < TN; w++) {
            s[q][w] = 0.0f;
            if (REG_TOTAL)
                total[REG_TOTAL ? q : 0][REG_TOTAL ? w : 0] = 0.0f;
        }

    /* Ends chunk `chunk`: adds s to the total (or stores it), restarts s at
     * +0. */
    auto fold = [&](int64_t chunk) {
#pragma unroll
        for (int q = 0; q < TM; q++)
#pragma unroll
            for (int w = 0; w < TN; w++) {
                if (SPLIT) {
                    const int64_t gi = bm + row_of(q), gj = bn + col_of(w);
                    if (gi < M && gj < N)
                        p.W[(chunk * M + gi) * N + gj] = s[q][w];
                } else if (LEAN) {
                    float *t = wt + (q * TN + w) * NT;
                    *t = __fadd_rn(chunk == 0 ? 0.0f : *t, s[q][w]);
                } else {
                    total[REG_TOTAL ? q : 0][REG_TOTAL ? w : 0] =
                        __fadd_rn(total[REG_TOTAL ? q : 0][REG_TOTAL ? w : 0], s[q][w]);
                }
                s[q][w] = 0.0f;
            }
    };

    if (ntiles > 0) {
        load(kbeg);
        store(0);
        __syncthreads();
    }
    for (int64_t t = 0; t < ntiles; t++) {
        const int cur = (int)(t & 1);
        const int64_t k0 = kbeg + t * BK;
        if (t > 0 && k0 % POL_KC == 0)
            fold(k0 / POL_KC - 1);
        if (t + 1 < ntiles)
            load(k0 + BK);
#pragma unroll
        for (int kk = 0; kk < BK; kk++) {
            float a[TM], b[TN];
#pragma unroll
            for (int q = 0; q < TM; q++)
                a[q] = As[cur][kk][row_of(q)];
#pragma unroll
            for (int w = 0; w < TN; w++)
                b[w] = Bs[cur][kk][col_of(w)];
#pragma unroll
            for (int q = 0; q < TM; q++)
#pragma unroll
                for (int w = 0; w < TN; w++)
                    s[q][w] = __fmaf_rn(a[q], b[w], s[q][w]);
        }
        if (t + 1 < ntiles)
            store(cur ^ 1);
        __syncthreads();
    }
    if (ntiles > 0)
        fold((kend - 1) / POL_KC);
    if constexpr (!SPLIT) {
#pragma unroll
        for (int q = 0; q < TM; q++)
#pragma unroll
            for (int w = 0; w < TN; w++) {
                const int64_t gi = bm + row_of(q), gj = bn + col_of(w);
                if (gi < M && gj < N) {
                    float v = LEAN ? (ntiles > 0 ? wt[(q * TN + w) * NT] : 0.0f)
                                   : total[REG_TOTAL ? q : 0][REG_TOTAL ? w : 0];
                    if (p.bias)
                        v = __fadd_rn(v, p.bias[gj]);
                    p.C[gi * N + gj] = v;
                }
            }
    }
}

/* Second pass of split-K: C[i][j] = (+0 + W[0][i][j]) + W[1][i][j] + ... (+ bias[j]). */
__global__ void gemm_chunk_sum_kernel(const float *W, const float *bias, float *C, int64_t M,
                                      int64_t N, int64_t nchunks)
{
    const int64_t MN = M * N;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < MN;
         e += (int64_t)gridDim.x * blockDim.x) {
        float total = 0.0f;
        for (int64_t c = 0; c < nchunks; c++)
            total = __fadd_rn(total, W[c * MN + e]);
        if (bias)
            total = __fadd_rn(total, bias[e % N]);
        C[e] = total;
    }
}

template <int BM, int BN, int BK, int TM, int TN, bool SPLIT, bool LEAN = false>
cudaError_t launch_tile(const gemm_params &p, int ta, int tb, dim3 grid, cudaStream_t st)
{
    constexpr int NT = (BM / TM) * (BN / TN);
    if (ta && tb)
        POL_LAUNCH(grid, NT, st,
                   gemm_tile_kernel<BM, BN, BK, TM, TN, true, true, SPLIT, LEAN>)(p);
    else if (ta)
        POL_LAUNCH(grid, NT, st,
                   gemm_tile_kernel<BM, BN, BK, TM, TN, true, false, SPLIT, LEAN>)(p);
    else if (tb)
        POL_LAUNCH(grid, NT, st,
                   gemm_tile_kernel<BM, BN, BK, TM, TN, false, true, SPLIT, LEAN>)(p);
    else
        POL_LAUNCH(grid, NT, st,
                   gemm_tile_kernel<BM, BN, BK, TM, TN, false, false, SPLIT, LEAN>)(p);
    return cudaGetLastError();
}

/* The tiles, by pol_cuda_launch.gemm_tile (0 is automatic: 5, else 1; or 2,
 * 3 for a transposed A). Each is BM x BN outputs a block, BK a K step,
 * TM x TN outputs a thread, 256 threads; 4 is there to be measured against
 * the others (bench/gemm_gpu --sweep). Tile 5 is tile 1 made
 * lean (see the top) and compiled for two blocks an SM (128 registers a
 * thread) instead of one; its K step is 8, not 16, which halves the
 * prefetch registers (at 16 ptxas spilled). Splitting K needs a 64x64
 * tile: with tile 3 it uses tile 3, else tile 2. */
struct tile_shape {
    int bm, bn;
};
const tile_shape TILES[] = { { 0, 0 }, { 128, 128 }, { 64, 64 }, { 64, 64 }, { 128, 64 },
                             { 128, 128 } };

cudaError_t launch_tiles(int tile, bool split, const gemm_params &p, int ta, int tb, dim3 grid,
                         cudaStream_t st)
{
    if (split)
        return tile == 3 ? launch_tile<64, 64, 32, 4, 4, true>(p, ta, tb, grid, st)
                         : launch_tile<64, 64, 16, 4, 4, true>(p, ta, tb, grid, st);
    switch (tile) {
    case 1: return launch_tile<128, 128, 16, 8, 8, false>(p, ta, tb, grid, st);
    case 3: return launch_tile<64, 64, 32, 4, 4, false>(p, ta, tb, grid, st);
    case 4: return launch_tile<128, 64, 16, 8, 4, false>(p, ta, tb, grid, st);
    case 5: return launch_tile<128, 128, 8, 8, 8, false, true>(p, ta, tb, grid, st);
    default: return launch_tile<64, 64, 16, 4, 4, false>(p, ta, tb, grid, st);
    }
}

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* An operand can be read as float4 when its contiguous dimension (of
 * length `inner`) is a multiple of 4 and its base is 16-byte aligned: every
 * row then starts 16-byte aligned. */
bool gemm_vectorizable(const float *base, int64_t inner)
{
    return inner % 4 == 0 && (uintptr_t)base % 16 == 0;
}

} // namespace

extern "C" pol_status pol_cuda_gemm(pol_cuda *c, const pol_gemm_args *g)
{
    if (!c || !g || g->M < 0 || g->N < 0 || g->K < 0)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_gemm: bad argument");
    if (g->M == 0 || g->N == 0)
        return POL_OK;
    gemm_params p = {};
    p.A = g->A, p.B = g->B, p.bias = g->bias, p.C = g->C;
    p.M = g->M, p.N = g->N, p.K = g->K;
    if (c->launch.gemm_vec != 1) {
        p.vec_a = gemm_vectorizable(g->A, g->trans_a ? g->M : g->K);
        p.vec_b = gemm_vectorizable(g->B, g->trans_b ? g->K : g->N);
    }
    const int64_t nchunks = cdiv(g->K, POL_KC);
    const int64_t big_tiles = cdiv(g->M, 128) * cdiv(g->N, 128);
    const int64_t small_tiles = cdiv(g->M, 64) * cdiv(g->N, 64);

    /* tile choice: the big tile when it alone fills the GPU, lean (tile 5)
     * where it can be (it falls back to tile 1 below): on an H100 it ran
     * 1.09-1.11x tile 1's speed at 2048^3 to 8192^3 (bench/results/gemm_gpu.md) */
    int tile = c->launch.gemm_tile;
    if (tile == 0)
        tile = big_tiles >= c->n_sm ? 5 : 2;
    /* split choice: only with several chunks; forced splits use a 64x64 tile */
    int64_t splits = 1;
    if (c->launch.gemm_splits > 1)
        splits = c->launch.gemm_splits;
    else if (c->launch.gemm_splits == 0 && tile == 2 && small_tiles < c->n_sm)
        splits = cdiv(2 * (int64_t)c->n_sm, small_tiles);
    if (splits > nchunks)
        splits = nchunks;
    if (splits > 1 && nchunks * g->M * g->N > ((int64_t)1 << 28)) /* workspace cap: 1 GiB */
        splits = 1;
    /* A transposed (the weight gradients' X^T dY) on the 64x64 tile, K not
     * split: a K step of 32 (tile 3) ran 1.11-1.17x tile 2's speed on an
     * H100 (bench/results/gemm_gpu.md, the "mlp dW" rows) */
    if (c->launch.gemm_tile == 0 && tile == 2 && splits == 1 && g->trans_a)
        tile = 3;

    if (splits > 1) {
        p.cps = cdiv(nchunks, splits);
        const int64_t z = cdiv(nchunks, p.cps);
        const int64_t gy = cdiv(g->M, 64), gx = cdiv(g->N, 64);
        if (gy > 65535 || z > 65535 || gx > INT32_MAX)
            return pol_errorf(POL_ERR_TOO_LARGE, "GEMM %lld x %lld too large for one launch",
                              (long long)g->M, (long long)g->N);
        void *w;
        pol_status st = pol__cuda_scratch(c, (size_t)(nchunks * g->M * g->N) * sizeof(float), &w);
        if (st)
            return st;
        p.W = (float *)w;
        cudaError_t e = launch_tiles(tile, true, p, g->trans_a, g->trans_b,
                                     dim3((unsigned)gx, (unsigned)gy, (unsigned)z), c->stream);
        if (e != cudaSuccess)
            return pol__cuda_err(e, "gemm split-K launch");
        int grid, block;
        pol__cuda_grid(c, g->M * g->N, &grid, &block);
        POL_LAUNCH(grid, block, c->stream, gemm_chunk_sum_kernel)(p.W, g->bias, g->C, g->M,
                                                                  g->N, nchunks);
        return pol__cuda_err(cudaGetLastError(), "gemm chunk-sum launch");
    }
    /* tile 5 loads float4 only, and keeps its totals in a workspace of
     * whole tiles (capped like the split workspace); else tile 1 */
    if (tile == 5 && (!p.vec_a || !p.vec_b ||
                      cdiv(g->M, 128) * cdiv(g->N, 128) * 128 * 128 > ((int64_t)1 << 28)))
        tile = 1;
    const int64_t gy = cdiv(g->M, TILES[tile].bm), gx = cdiv(g->N, TILES[tile].bn);
    if (gy > 65535 || gx > INT32_MAX)
        return pol_errorf(POL_ERR_TOO_LARGE, "GEMM %lld x %lld too large for one launch",
                          (long long)g->M, (long long)g->N);
    const size_t lean_bytes = (size_t)(gx * gy * 128 * 128) * sizeof(float);
    const bool automatic = c->launch.gemm_tile == 0;
    /* chosen automatically, a workspace refused before is not asked for on
     * every step: tile 1 needs none (the same grid) */
    if (tile == 5 && automatic && c->scratch_refused && lean_bytes >= c->scratch_refused)
        tile = 1;
    if (tile == 5) {
        void *w;
        pol_status st = pol__cuda_scratch(c, lean_bytes, &w);
        if (st == POL_OK) {
            p.W = (float *)w;
        } else if (automatic) {
            (void)cudaGetLastError(); /* the failed allocation's error */
            pol_clear_error();
            tile = 1;
        } else {
            return st;
        }
    }
    cudaError_t e = launch_tiles(tile, false, p, g->trans_a, g->trans_b,
                                 dim3((unsigned)gx, (unsigned)gy, 1), c->stream);
    return pol__cuda_err(e, "gemm launch");
}
