/* The CUDA backend's host side: device context, arena, transfers, node
 * evaluation and the device mirror of a graph (pol/cuda.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.cuh"

#define ARENA_ALIGN 256

static size_t align_up(size_t n) { return (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN; }

pol_status pol__cuda_err(cudaError_t e, const char *what)
{
    if (e == cudaSuccess)
        return POL_OK;
    return pol_errorf(POL_ERR_CUDA, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

extern "C" int pol_cuda_built(void) { return 1; }

extern "C" pol_status pol_cuda_available(void)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess)
        return pol__cuda_err(e, "no usable CUDA device");
    if (n < 1)
        return pol_errorf(POL_ERR_CUDA, "no CUDA device");
    return POL_OK;
}

extern "C" pol_status pol_cuda_device_info(char *name, size_t cap, int *major, int *minor)
{
    if (name && cap)
        name[0] = '\0';
    int dev;
    cudaDeviceProp prop;
    cudaError_t e = cudaGetDevice(&dev);
    if (e == cudaSuccess)
        e = cudaGetDeviceProperties(&prop, dev);
    if (e != cudaSuccess)
        return pol__cuda_err(e, "device properties");
    if (name && cap)
        snprintf(name, cap, "%s", prop.name);
    if (major)
        *major = prop.major;
    if (minor)
        *minor = prop.minor;
    return POL_OK;
}

/* ------------------------------------------------------------ context -- */

extern "C" pol_status pol_cuda_create(pol_cuda **out, size_t arena_bytes)
{
    if (!out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_create: NULL output");
    *out = NULL;
    pol_status st = pol_cuda_available();
    if (st)
        return st;
    pol_cuda *c = (pol_cuda *)calloc(1, sizeof *c);
    if (!c)
        return pol_errorf(POL_ERR_NOMEM, "CUDA context");
    cudaError_t e = cudaGetDevice(&c->device);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&c->n_sm, cudaDevAttrMultiProcessorCount, c->device);
    if (e == cudaSuccess)
        e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&c->flag, sizeof(int));
    if (e == cudaSuccess)
        e = cudaMemsetAsync(c->flag, 0, sizeof(int), c->stream);
    if (e == cudaSuccess) /* a new context has no work in flight */
        e = cudaStreamSynchronize(c->stream);
    if (e != cudaSuccess) {
        st = pol__cuda_err(e, "CUDA context");
        pol_cuda_destroy(c);
        return st;
    }
    if (c->n_sm < 1)
        c->n_sm = 1;
    if (arena_bytes && (st = pol_cuda_reserve(c, arena_bytes))) {
        pol_cuda_destroy(c);
        return st;
    }
    *out = c;
    return POL_OK;
}

extern "C" void pol_cuda_destroy(pol_cuda *c)
{
    if (!c)
        return;
    if (c->stream)
        cudaStreamSynchronize(c->stream);
    pol__cuda_blas_destroy(c);
    cudaFree(c->arena);
    cudaFree(c->scratch);
    cudaFree(c->flag);
    if (c->stream)
        cudaStreamDestroy(c->stream);
    free(c);
}

extern "C" pol_status pol_cuda_reserve(pol_cuda *c, size_t bytes)
{
    if (!c)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_reserve: NULL context");
    bytes = align_up(bytes);
    if (bytes <= c->arena_cap)
        return POL_OK;
    if (c->arena_used)
        return pol_errorf(POL_ERR_INVALID_ARG, "CUDA arena in use (%zu of %zu bytes); cannot grow "
                          "it to %zu", c->arena_used, c->arena_cap, bytes);
    cudaStreamSynchronize(c->stream);
    cudaFree(c->arena);
    c->arena = NULL;
    c->arena_cap = 0;
    cudaError_t e = cudaMalloc((void **)&c->arena, bytes);
    if (e != cudaSuccess) {
        c->arena = NULL;
        return pol__cuda_err(e, "CUDA arena");
    }
    c->arena_cap = bytes;
    return POL_OK;
}

extern "C" pol_status pol_cuda_alloc(pol_cuda *c, size_t bytes, void **dptr)
{
    if (!c || !dptr)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_alloc: NULL argument");
    *dptr = NULL;
    size_t n = align_up(bytes ? bytes : 1);
    if (n < bytes || n > c->arena_cap - c->arena_used)
        return pol_errorf(POL_ERR_NOMEM, "CUDA arena: %zu bytes wanted, %zu free", bytes,
                          c->arena_cap - c->arena_used);
    *dptr = c->arena + c->arena_used;
    c->arena_used += n;
    return POL_OK;
}

extern "C" void pol_cuda_reset(pol_cuda *c)
{
    if (c)
        c->arena_used = 0;
}

pol_status pol__cuda_scratch(pol_cuda *c, size_t bytes, void **p)
{
    if (bytes > c->scratch_cap) {
        /* grows rarely (the first steps of a run); earlier work may still read it */
        cudaError_t e = cudaStreamSynchronize(c->stream);
        if (e != cudaSuccess)
            return pol__cuda_err(e, "scratch");
        cudaFree(c->scratch);
        c->scratch = NULL;
        c->scratch_cap = 0;
        size_t cap = align_up(bytes + bytes / 4);
        if ((e = cudaMalloc(&c->scratch, cap)) != cudaSuccess) {
            c->scratch = NULL;
            if (!c->scratch_refused || bytes < c->scratch_refused)
                c->scratch_refused = bytes;
            return pol__cuda_err(e, "scratch");
        }
        c->scratch_cap = cap;
    }
    *p = c->scratch;
    return POL_OK;
}

void pol__cuda_grid(const pol_cuda *c, int64_t n, int *grid, int *block)
{
    int b = c->launch.block ? c->launch.block : 256;
    int64_t g = (n + b - 1) / b;
    int64_t cap = c->launch.grid_max ? c->launch.grid_max : (int64_t)c->n_sm * 32;
    if (g > cap)
        g = cap;
    if (g < 1)
        g = 1;
    *grid = (int)g;
    *block = b;
}

extern "C" pol_status pol_cuda_set_launch(pol_cuda *c, const pol_cuda_launch *l)
{
    if (!c)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_set_launch: NULL context");
    if (!l) {
        memset(&c->launch, 0, sizeof c->launch);
        return POL_OK;
    }
    if (l->gemm_tile < 0 || l->gemm_tile > 5 || l->gemm_splits < 0 || l->gemm_splits > 65535 ||
        (l->block && (l->block < 32 || l->block > 1024 || l->block % 32)) || l->grid_max < 0 ||
        l->gemm_vec < 0 || l->gemm_vec > 1)
        return pol_errorf(POL_ERR_INVALID_ARG, "launch configuration out of range");
    c->launch = *l;
    return POL_OK;
}

extern "C" pol_status pol_cuda_tensor_alloc(pol_cuda *c, pol_tensor *t, const char *name,
                                            pol_dtype dtype, int ndim, const int64_t *shape)
{
    if (!c || !t)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_tensor_alloc: NULL argument");
    memset(t, 0, sizeof *t);
    if (!pol_name_valid(name) || !pol_dtype_size(dtype) || ndim < 0 || ndim > POL_MAX_DIMS ||
        (ndim && !shape))
        return pol_errorf(POL_ERR_INVALID_ARG, "device tensor %s: bad name, dtype or rank",
                          name ? name : "(null)");
    size_t n = pol_dtype_size(dtype);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] && n > ((size_t)1 << 40) / (size_t)shape[i]))
            return pol_errorf(POL_ERR_TOO_LARGE, "device tensor %s too large", name);
        n *= (size_t)shape[i];
        t->shape[i] = shape[i];
    }
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dtype;
    t->ndim = ndim;
    t->nbytes = n;
    pol_status st = pol_cuda_alloc(c, n, &t->data);
    if (st)
        return st;
    return pol__cuda_err(cudaMemsetAsync(t->data, 0, n, c->stream), "device tensor");
}

extern "C" pol_status pol_cuda_upload(pol_cuda *c, void *dst_dev, const void *src, size_t n)
{
    if (!c || (n && (!dst_dev || !src)))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_upload: NULL argument");
    if (!n)
        return POL_OK;
    /* from pageable memory CUDA may read src after this returns: the
     * caller keeps it until c's next work (pol/cuda.h) */
    return pol__cuda_err(cudaMemcpyAsync(dst_dev, src, n, cudaMemcpyHostToDevice, c->stream),
                         "upload");
}

extern "C" pol_status pol_cuda_download(pol_cuda *c, void *dst, const void *src_dev, size_t n)
{
    if (!c || (n && (!dst || !src_dev)))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_download: NULL argument");
    if (n) {
        cudaError_t e = cudaMemcpyAsync(dst, src_dev, n, cudaMemcpyDeviceToHost, c->stream);
        if (e != cudaSuccess)
            return pol__cuda_err(e, "download");
    }
    return pol_cuda_sync(c);
}

extern "C" pol_status pol_cuda_sync(pol_cuda *c)
{
    if (!c)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_sync: NULL context");
    cudaError_t e = cudaStreamSynchronize(c->stream);
    if (e == cudaSuccess)
        e = cudaGetLastError();
    if (e != cudaSuccess)
        return pol__cuda_err(e, "CUDA stream");
    if (c->pending) {
        pol_status st = c->pending;
        c->pending = POL_OK;
        return pol_errorf(st, "an earlier asynchronous CUDA operation failed");
    }
    int flag = 0;
    /* on c's stream: the legacy stream is not ordered with it. A copy to
     * pageable memory "might be synchronous" (CUDA's API synchronization
     * behavior), not must: flag is read only after the stream is idle. */
    e = cudaMemcpyAsync(&flag, c->flag, sizeof flag, cudaMemcpyDeviceToHost, c->stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(c->stream);
    if (e != cudaSuccess)
        return pol__cuda_err(e, "CUDA flag");
    if (flag) {
        (void)cudaMemsetAsync(c->flag, 0, sizeof(int), c->stream);
        return pol_errorf(POL_ERR_INVALID_ARG, "a cross-entropy label is out of range [0, C)");
    }
    return POL_OK;
}

extern "C" void *pol_cuda_stream(pol_cuda *c) { return c ? (void *)c->stream : NULL; }

extern "C" pol_status pol_cuda_node_eval(pol_cuda *c, pol_op op, const pol_node_params *params,
                                         const pol_tensor *const *in, int n_in, pol_tensor *out)
{
    static const pol_node_params zero = {};
    if (!c)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_node_eval: NULL context");
    if (!params)
        params = &zero;
    pol_status st = pol_node_check(op, params, in, n_in, out);
    if (st)
        return st;
    if ((st = pol__cuda_launch_op(c, op, params, in, out)))
        return st;
    return pol_cuda_sync(c);
}

/* -------------------------------------------------------- graph mirror -- */

struct pol_cuda_graph {
    pol_cuda *c;
    pol_graph *g;
    int n;
    pol_tensor *t;     /* device views of the graph's tensors (data on the device) */
    size_t arena_mark; /* arena_used before the mirror; restored when it is the top */
    size_t arena_end;
    struct {           /* pol_cuda_graph_gather_rows: host tensors copied to the device */
        const void *host;
        size_t nbytes;
        void *dev;
    } src[POL_CUDA_MAX_SOURCES];
    int n_src;
    uint32_t *idx;     /* device; the row indices of the latest gather */
    uint32_t *idx_host; /* host copy of those (idx_n of them): a step's second
                           gather with the same rows uploads nothing */
    int64_t idx_cap, idx_n;
};

extern "C" pol_status pol_cuda_graph_create(pol_cuda *c, pol_graph *g, pol_cuda_graph **out)
{
    if (!c || !g || !out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_graph_create: NULL argument");
    *out = NULL;
    const int n = pol_graph_n_tensors(g);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += align_up(pol_graph_tensor(g, i)->nbytes ? pol_graph_tensor(g, i)->nbytes : 1);
    pol_status st = pol_cuda_reserve(c, c->arena_used + total);
    if (st)
        return st;
    pol_cuda_graph *dg = (pol_cuda_graph *)calloc(1, sizeof *dg);
    if (!dg || !(dg->t = (pol_tensor *)calloc(n ? (size_t)n : 1, sizeof *dg->t))) {
        free(dg);
        return pol_errorf(POL_ERR_NOMEM, "graph mirror");
    }
    dg->c = c, dg->g = g, dg->n = n, dg->arena_mark = c->arena_used;
    for (int i = 0; !st && i < n; i++) {
        const pol_tensor *h = pol_graph_tensor(g, i);
        dg->t[i] = *h;
        dg->t[i].owns = 0;
        st = pol_cuda_alloc(c, h->nbytes, &dg->t[i].data);
        if (!st)
            st = pol_cuda_upload(c, dg->t[i].data, h->data, h->nbytes);
    }
    dg->arena_end = c->arena_used;
    if (!st)
        st = pol_cuda_sync(c);
    if (st) {
        pol_cuda_graph_destroy(dg);
        return st;
    }
    *out = dg;
    return POL_OK;
}

extern "C" void pol_cuda_graph_destroy(pol_cuda_graph *dg)
{
    if (!dg)
        return;
    cudaStreamSynchronize(dg->c->stream);
    for (int i = 0; i < dg->n_src; i++)
        cudaFree(dg->src[i].dev);
    cudaFree(dg->idx);
    free(dg->idx_host);
    if (dg->c->arena_used == dg->arena_end)
        dg->c->arena_used = dg->arena_mark;
    free(dg->t);
    free(dg);
}

static pol_status check_id(const pol_cuda_graph *dg, int id)
{
    if (!dg || id < 0 || id >= dg->n)
        return pol_errorf(POL_ERR_INVALID_ARG, "graph mirror: bad tensor id %d", id);
    return POL_OK;
}

extern "C" pol_status pol_cuda_graph_upload(pol_cuda_graph *dg, int id)
{
    pol_status st = check_id(dg, id);
    if (st)
        return st;
    const pol_tensor *h = pol_graph_tensor(dg->g, id);
    return pol_cuda_upload(dg->c, dg->t[id].data, h->data, h->nbytes);
}

extern "C" pol_status pol_cuda_graph_download(pol_cuda_graph *dg, int id)
{
    pol_status st = check_id(dg, id);
    if (st)
        return st;
    pol_tensor *h = pol_graph_tensor(dg->g, id);
    return pol_cuda_download(dg->c, h->data, dg->t[id].data, h->nbytes);
}

extern "C" pol_status pol_cuda_graph_eval_node(pol_cuda_graph *dg, int i)
{
    const pol_node *nd = dg ? pol_graph_node(dg->g, i) : NULL;
    if (!nd)
        return pol_errorf(POL_ERR_INVALID_ARG, "graph mirror: bad node %d", i);
    const pol_tensor *ins[POL_NODE_MAX_IN];
    for (int k = 0; k < nd->n_in; k++)
        ins[k] = &dg->t[nd->in[k]];
    return pol__cuda_launch_op(dg->c, nd->op, &nd->params, ins, &dg->t[nd->out]);
}

/* The device copy of host tensor src, made on first use. POL_ERR_NOMEM when
 * it does not fit (the device's memory or the table of sources is full);
 * a source that did not fit is remembered and not tried again. */
static pol_status source(pol_cuda_graph *dg, const pol_tensor *src, const void **dev)
{
    for (int i = 0; i < dg->n_src; i++)
        if (dg->src[i].host == src->data && dg->src[i].nbytes == src->nbytes) {
            *dev = dg->src[i].dev;
            return dg->src[i].dev ? POL_OK
                                  : pol_errorf(POL_ERR_NOMEM, "gather source %s: no room on the "
                                               "device", src->name);
        }
    if (dg->n_src == POL_CUDA_MAX_SOURCES)
        return pol_errorf(POL_ERR_NOMEM, "graph mirror: more than %d gather sources",
                          POL_CUDA_MAX_SOURCES);
    /* at most half of the free memory: the run's later allocations (scratch,
     * cuBLAS workspace) must still fit */
    size_t free_b = 0, total_b = 0;
    cudaError_t e = cudaMemGetInfo(&free_b, &total_b);
    if (e != cudaSuccess)
        return pol__cuda_err(e, "device memory");
    void *d = NULL;
    if (src->nbytes <= free_b / 2)
        e = cudaMalloc(&d, src->nbytes ? src->nbytes : 1);
    else
        e = cudaErrorMemoryAllocation;
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError(); /* not sticky: clear it, so no later launch reports it */
        dg->src[dg->n_src].host = src->data;
        dg->src[dg->n_src].nbytes = src->nbytes;
        dg->src[dg->n_src].dev = NULL;
        dg->n_src++;
        return pol_errorf(POL_ERR_NOMEM, "gather source %s (%zu bytes): no room on the device",
                          src->name, src->nbytes);
    }
    if (e != cudaSuccess)
        return pol__cuda_err(e, "gather source");
    pol_status st = pol_cuda_upload(dg->c, d, src->data, src->nbytes);
    if (st) {
        cudaFree(d);
        return st;
    }
    dg->src[dg->n_src].host = src->data;
    dg->src[dg->n_src].nbytes = src->nbytes;
    dg->src[dg->n_src].dev = d;
    dg->n_src++;
    *dev = d;
    return POL_OK;
}

extern "C" pol_status pol_cuda_graph_gather_rows(pol_cuda_graph *dg, int id, const pol_tensor *src,
                                                 const uint32_t *rows)
{
    pol_status st = check_id(dg, id);
    if (st)
        return st;
    pol_tensor *dst = &dg->t[id];
    const int64_t n = dst->ndim ? dst->shape[0] : 0;
    if (!src || !rows || dst->ndim < 1 || n <= 0 || dst->nbytes % (size_t)n ||
        (dst->nbytes / (size_t)n) % 4)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_graph_gather_rows: bad argument");
    const int64_t words = (int64_t)(dst->nbytes / (size_t)n / 4);
    if (n > dg->idx_cap) {
        /* grows once per run; an earlier gather may still read the old one */
        cudaError_t e = cudaStreamSynchronize(dg->c->stream);
        cudaFree(dg->idx);
        free(dg->idx_host);
        dg->idx = NULL;
        dg->idx_cap = dg->idx_n = 0;
        if (!(dg->idx_host = (uint32_t *)malloc((size_t)n * sizeof(uint32_t))))
            return pol_errorf(POL_ERR_NOMEM, "gather indices");
        if (e == cudaSuccess)
            e = cudaMalloc(&dg->idx, (size_t)n * sizeof(uint32_t));
        if (e != cudaSuccess) {
            dg->idx = NULL;
            if (e != cudaErrorMemoryAllocation)
                return pol__cuda_err(e, "gather indices");
            (void)cudaGetLastError(); /* not sticky; the caller gathers on the host */
            return pol_errorf(POL_ERR_NOMEM, "gather indices: no room on the device");
        }
        dg->idx_cap = n;
    }
    const void *dsrc = NULL;
    if ((st = source(dg, src, &dsrc)))
        return st;
    const size_t idx_bytes = (size_t)n * sizeof(uint32_t);
    if (n != dg->idx_n || memcmp(dg->idx_host, rows, idx_bytes)) {
        dg->idx_n = 0;
        if ((st = pol_cuda_upload(dg->c, dg->idx, rows, idx_bytes)))
            return st;
        memcpy(dg->idx_host, rows, idx_bytes);
        dg->idx_n = n;
    }
    return pol__cuda_gather_rows(dg->c, dst->data, dsrc, dg->idx, n, words);
}

extern "C" pol_status pol_cuda_graph_copy(pol_cuda_graph *dg, int dst, int src)
{
    pol_status st = check_id(dg, dst);
    if (!st)
        st = check_id(dg, src);
    if (!st && dg->t[dst].nbytes != dg->t[src].nbytes)
        st = pol_errorf(POL_ERR_SHAPE, "graph mirror: copy between tensors of different sizes");
    if (!st && dg->t[dst].nbytes)
        st = pol__cuda_err(cudaMemcpyAsync(dg->t[dst].data, dg->t[src].data, dg->t[dst].nbytes,
                                           cudaMemcpyDeviceToDevice, dg->c->stream),
                           "device copy");
    if (st && dg && !dg->c->pending)
        dg->c->pending = st;
    return st;
}

extern "C" pol_status pol_cuda_graph_sync(pol_cuda_graph *dg)
{
    if (!dg)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_cuda_graph_sync: NULL mirror");
    return pol_cuda_sync(dg->c);
}
