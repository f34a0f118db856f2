/* kernel-audit-expect: mma
 *
 * Planted for scripts/kernel-audit.sh --selftest: one tensor-core product
 * (wmma.mma), whose internal sums are not a sequence of IEEE operations in
 * the order of spec/arithmetic.md A-RED-2. */
#include <mma.h>

using namespace nvcuda;

__global__ void mma_kernel(const half *a, const half *b, float *c)
{
    wmma::fragment<wmma::matrix_a, 16, 16, 16, half, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, half, wmma::col_major> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> fc;
    wmma::fill_fragment(fc, 0.0f);
    wmma::load_matrix_sync(fa, a, 16);
    wmma::load_matrix_sync(fb, b, 16);
    wmma::mma_sync(fc, fa, fb, fc);
    wmma::store_matrix_sync(c, fc, 16, wmma::mem_row_major);
}
