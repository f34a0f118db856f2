/* The CUDA backend of a build without CUDA (make cuda=0, or no nvcc): every
 * entry point of pol/cuda.h reports POL_ERR_UNSUPPORTED. The Makefile
 * compiles this file only when the real backend (the .cu files of kernels/) is off. */
#include "pol/cuda.h"

static pol_status off(void)
{
    return pol_errorf(POL_ERR_UNSUPPORTED, "this libpol was built without CUDA (make cuda=0 or "
                      "no nvcc at build time)");
}

int pol_cuda_built(void) { return 0; }
pol_status pol_cuda_available(void) { return off(); }

pol_status pol_cuda_device_info(char *name, size_t cap, int *major, int *minor)
{
    if (name && cap)
        name[0] = '\0';
    if (major)
        *major = 0;
    if (minor)
        *minor = 0;
    return off();
}

pol_status pol_cuda_create(pol_cuda **c, size_t arena_bytes)
{
    (void)arena_bytes;
    if (c)
        *c = NULL;
    return off();
}

void pol_cuda_destroy(pol_cuda *c) { (void)c; }
pol_status pol_cuda_reserve(pol_cuda *c, size_t bytes) { (void)c, (void)bytes; return off(); }

pol_status pol_cuda_alloc(pol_cuda *c, size_t bytes, void **dptr)
{
    (void)c, (void)bytes;
    if (dptr)
        *dptr = NULL;
    return off();
}

void pol_cuda_reset(pol_cuda *c) { (void)c; }

pol_status pol_cuda_tensor_alloc(pol_cuda *c, pol_tensor *t, const char *name, pol_dtype dtype,
                                 int ndim, const int64_t *shape)
{
    (void)c, (void)name, (void)dtype, (void)ndim, (void)shape;
    if (t)
        t->data = NULL;
    return off();
}

pol_status pol_cuda_upload(pol_cuda *c, void *dst_dev, const void *src, size_t n)
{
    (void)c, (void)dst_dev, (void)src, (void)n;
    return off();
}

pol_status pol_cuda_download(pol_cuda *c, void *dst, const void *src_dev, size_t n)
{
    (void)c, (void)dst, (void)src_dev, (void)n;
    return off();
}

pol_status pol_cuda_sync(pol_cuda *c) { (void)c; return off(); }
void *pol_cuda_stream(pol_cuda *c) { (void)c; return NULL; }
pol_status pol_cuda_set_launch(pol_cuda *c, const pol_cuda_launch *l) { (void)c, (void)l; return off(); }
pol_status pol_cuda_gemm(pol_cuda *c, const pol_gemm_args *g) { (void)c, (void)g; return off(); }

pol_status pol_cuda_set_tolerant(pol_cuda *c, int on) { (void)c, (void)on; return off(); }
int pol_cuda_tolerant(const pol_cuda *c) { (void)c; return 0; }
pol_status pol_cuda_set_math(pol_cuda *c, pol_gpu_math m) { (void)c, (void)m; return off(); }
pol_gpu_math pol_cuda_math(const pol_cuda *c) { (void)c; return POL_GPU_MATH_FP32; }
pol_status pol_cuda_blas_gemm(pol_cuda *c, const pol_gemm_args *g) { (void)c, (void)g; return off(); }

pol_status pol_cuda_node_eval(pol_cuda *c, pol_op op, const pol_node_params *params,
                              const pol_tensor *const *in, int n_in, pol_tensor *out)
{
    (void)c, (void)op, (void)params, (void)in, (void)n_in, (void)out;
    return off();
}

pol_status pol_cuda_graph_create(pol_cuda *c, pol_graph *g, pol_cuda_graph **dg)
{
    (void)c, (void)g;
    if (dg)
        *dg = NULL;
    return off();
}

void pol_cuda_graph_destroy(pol_cuda_graph *dg) { (void)dg; }
pol_status pol_cuda_graph_upload(pol_cuda_graph *dg, int id) { (void)dg, (void)id; return off(); }
pol_status pol_cuda_graph_download(pol_cuda_graph *dg, int id) { (void)dg, (void)id; return off(); }
pol_status pol_cuda_graph_eval_node(pol_cuda_graph *dg, int i) { (void)dg, (void)i; return off(); }
pol_status pol_cuda_graph_gather_rows(pol_cuda_graph *dg, int id, const pol_tensor *src,
                                      const uint32_t *rows)
{
    (void)dg, (void)id, (void)src, (void)rows;
    return off();
}
pol_status pol_cuda_graph_copy(pol_cuda_graph *dg, int dst, int src)
{
    (void)dg, (void)dst, (void)src;
    return off();
}
pol_status pol_cuda_graph_sync(pol_cuda_graph *dg) { (void)dg; return off(); }
