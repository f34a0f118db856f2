#include "pol/context.h"
#include "pol/cuda.h"
#include "pol/version.h"

#include <fenv.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

struct pol_ctx {
    pol_ctx_opts opts;
    pol_pool *pool;
    pol_cuda *cuda; /* device POL_DEVICE_CUDA only */
};

int pol_version(void) { return POL_VERSION_NUMBER; }
const char *pol_version_string(void) { return POL_VERSION_STRING; }

pol_status pol_check_fpenv(void)
{
    if (fegetround() != FE_TONEAREST)
        return pol_errorf(POL_ERR_FPENV, "rounding mode is not round-to-nearest-even");
#if defined(__x86_64__) || defined(__i386__)
    unsigned csr = _mm_getcsr();
    if (csr & 0x8000u)
        return pol_errorf(POL_ERR_FPENV, "flush-to-zero (MXCSR.FTZ) is set");
    if (csr & 0x0040u)
        return pol_errorf(POL_ERR_FPENV, "denormals-are-zero (MXCSR.DAZ) is set");
#endif
    /* A direct probe as well, for platforms whose control bits we do not read. */
    volatile float tiny = 0x1p-149f, half = 0.5f, min_normal = 0x1p-126f;
    if (tiny * 1.0f == 0.0f || min_normal * half != 0x1p-127f)
        return pol_errorf(POL_ERR_FPENV, "subnormal numbers are flushed to zero");
    return POL_OK;
}

pol_status pol_ctx_create(pol_ctx **out, const pol_ctx_opts *opts)
{
    if (!out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ctx_create: NULL output");
    *out = NULL;
    pol_status st = pol_check_fpenv();
    if (st)
        return st;
    pol_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return pol_errorf(POL_ERR_NOMEM, "context");
    if (opts)
        c->opts = *opts;
    if (c->opts.threads <= 0)
        c->opts.threads = 1;
    if (c->opts.kernels != POL_KERNELS_FAST && c->opts.kernels != POL_KERNELS_REF &&
        c->opts.kernels != POL_KERNELS_BLAS) {
        int k = (int)c->opts.kernels;
        free(c);
        return pol_errorf(POL_ERR_INVALID_ARG, "unknown kernel choice %d", k);
    }
    if (c->opts.device != POL_DEVICE_CPU && c->opts.device != POL_DEVICE_CUDA) {
        int d = c->opts.device;
        free(c);
        return pol_errorf(POL_ERR_INVALID_ARG, "unknown device %d", d);
    }
    if (c->opts.threads > 1) {
        st = pol_pool_create(&c->pool, c->opts.threads);
        if (st) {
            free(c);
            return st;
        }
    }
    /* tolerant mode on the GPU: the BLAS kernels mean cuBLAS GEMMs there (pol/cuda.h) */
    if (c->opts.device == POL_DEVICE_CUDA &&
        ((st = pol_cuda_create(&c->cuda, 0)) ||
         (st = pol_cuda_set_tolerant(c->cuda, c->opts.kernels == POL_KERNELS_BLAS)))) {
        pol_cuda_destroy(c->cuda);
        pol_pool_destroy(c->pool);
        free(c);
        return st;
    }
    *out = c;
    return POL_OK;
}

void pol_ctx_destroy(pol_ctx *c)
{
    if (!c)
        return;
    pol_cuda_destroy(c->cuda);
    pol_pool_destroy(c->pool);
    free(c);
}

pol_pool *pol_ctx_pool(const pol_ctx *c) { return c->pool; }
int pol_ctx_threads(const pol_ctx *c) { return c->opts.threads; }
pol_kernels pol_ctx_kernels(const pol_ctx *c) { return c->opts.kernels; }
int pol_ctx_device(const pol_ctx *c) { return c->opts.device; }
struct pol_cuda *pol_ctx_cuda(const pol_ctx *c) { return c->cuda; }
