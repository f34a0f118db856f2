/* libpol — the explicit computation graph of one training step.
 *
 * A graph is a table of named tensors and a list of nodes in topological
 * order: {op, params, inputs[], output, name}. The forward pass, the
 * backward pass and the optimizer update of one step are all nodes of one
 * graph. A graph is built once, then frozen; evaluation never changes node
 * boundaries, so every node's output has a canonical hash (pol/hash.h) that
 * two parties can compare, and any single node can be re-run on its own
 * inputs (pol_node_eval), which is what a referee does in a dispute.
 *
 * Tensors have a kind:
 *   STATE   persistent between steps (parameters, optimizer moments),
 *           read by nodes, part of the state hash;
 *   INPUT   set by the caller before each evaluation (batch, step scalars);
 *   NODE    the output of exactly one node.
 * Optimizer nodes never write STATE tensors in place: they output new NODE
 * tensors, and pol_graph_commit copies each into the STATE tensor it
 * replaces (declared with pol_graph_set_update).
 */
#ifndef POL_GRAPH_H
#define POL_GRAPH_H

#include <stdio.h>

#include "pol/context.h"
#include "pol/hash.h"
#include "pol/kernels.h"
#include "pol/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Op codes are part of the node record encoding (spec/graph.md): append only. */
typedef enum pol_op {
    POL_OP_LINEAR = 1,       /* in: x (B,I), W (O,I), b (O)   out: (B,O) = x W^T + b */
    POL_OP_MATMUL = 2,       /* in: A, B; params trans_a/b     out: op(A) op(B) */
    POL_OP_BIAS_GRAD = 3,    /* in: dy (B,O)                   out: (O) column sums */
    POL_OP_RELU = 4,         /* in: x                          out: relu(x) */
    POL_OP_RELU_BWD = 5,     /* in: x, dy                      out: dx */
    POL_OP_GELU = 6,         /* in: x                          out: gelu(x) */
    POL_OP_GELU_BWD = 7,     /* in: x, dy                      out: dx */
    POL_OP_XENT_LOSS = 8,    /* in: logits (B,C), labels (B)   out: () mean loss */
    POL_OP_XENT_BWD = 9,     /* in: logits (B,C), labels (B)   out: (B,C) dlogits */
    POL_OP_ADAM_M = 10,      /* in: m, g                       out: m' */
    POL_OP_ADAM_V = 11,      /* in: v, g                       out: v' */
    POL_OP_ADAMW_PARAM = 12, /* in: p, m', v', hyper           out: p' */
    POL_OP_SGD_BUF = 13,     /* in: b, g, p                    out: b' */
    POL_OP_SGD_PARAM = 14,   /* in: p, b', hyper               out: p' */
} pol_op;

/* Name of an op ("linear", ...), or NULL for an unknown code. */
const char *pol_op_name(pol_op op);

/* Constant parameters of a node, fixed when the graph is built. */
typedef struct pol_node_params {
    int trans_a, trans_b; /* MATMUL */
    float beta1;          /* ADAM_M; SGD_BUF (the momentum) */
    float beta2;          /* ADAM_V */
    float eps;            /* ADAMW_PARAM */
    float wd;             /* ADAMW_PARAM, SGD_BUF */
} pol_node_params;

/* The per-step scalars of the optimizer nodes travel in an INPUT tensor of
 * shape (4): [lr, bc1, bc2, 0] (bc = 1 - beta^t, spec A-OPT). */
#define POL_HYPER_LEN 4

typedef enum pol_tensor_kind {
    POL_TENSOR_STATE = 1,
    POL_TENSOR_INPUT = 2,
    POL_TENSOR_NODE = 3,
} pol_tensor_kind;

#define POL_NODE_MAX_IN 4

typedef struct pol_node {
    pol_op op;
    char name[POL_NAME_MAX];
    pol_node_params params;
    int n_in;
    int in[POL_NODE_MAX_IN]; /* tensor ids */
    int out;                 /* tensor id */
} pol_node;

typedef struct pol_graph pol_graph;

/* Creates an empty graph. Returns POL_OK or POL_ERR_NOMEM. */
POL_WARN_UNUSED pol_status pol_graph_create(pol_graph **g);
void pol_graph_destroy(pol_graph *g);

/* Adds a STATE or INPUT tensor (zero-filled) and returns its id in *id.
 * Returns: POL_OK; POL_ERR_INVALID_ARG (bad kind/name, duplicate name,
 *          graph frozen); POL_ERR_TOO_LARGE; POL_ERR_NOMEM. */
POL_WARN_UNUSED pol_status pol_graph_add_tensor(pol_graph *g, const char *name,
                                                pol_tensor_kind kind, pol_dtype dtype, int ndim,
                                                const int64_t *shape, int *id);

/* Appends a node that reads tensors `in[0..n_in)` and creates its output
 * tensor, named `name`, whose shape follows from the op and inputs. params
 * may be NULL (all zero). Shapes and dtypes are checked here, once.
 * Returns: POL_OK; POL_ERR_SHAPE; POL_ERR_INVALID_ARG (unknown op, bad
 *          input id, wrong input count, duplicate name, frozen); POL_ERR_NOMEM.
 * Out: *out_id the output tensor id (may be NULL). */
POL_WARN_UNUSED pol_status pol_graph_add_node(pol_graph *g, pol_op op, const char *name,
                                              const int *in, int n_in,
                                              const pol_node_params *params, int *out_id);

/* Declares that after each step the NODE tensor `node_tensor` replaces the
 * STATE tensor `state_tensor` (same dtype and shape). */
POL_WARN_UNUSED pol_status pol_graph_set_update(pol_graph *g, int state_tensor, int node_tensor);

/* Freezes the graph: no more tensors or nodes. */
void pol_graph_freeze(pol_graph *g);

int pol_graph_n_nodes(const pol_graph *g);
int pol_graph_n_tensors(const pol_graph *g);
const pol_node *pol_graph_node(const pol_graph *g, int i);
pol_tensor *pol_graph_tensor(const pol_graph *g, int id);
pol_tensor_kind pol_graph_tensor_kind(const pol_graph *g, int id);
/* Tensor id by name, or -1. */
int pol_graph_find(const pol_graph *g, const char *name);

/* Evaluates node i on the graph's own tensors with the context's kernels.
 * On a CUDA context (pol_ctx_device) it runs on the device copies (see
 * below) and does not wait. */
POL_WARN_UNUSED pol_status pol_graph_eval_node(pol_graph *g, pol_ctx *ctx, int i);

/* Evaluates every node in order, then nothing else (see pol_graph_commit).
 * On a CUDA context the graph lives on the device: the first evaluation
 * copies every tensor there; each evaluation first uploads the INPUT
 * tensors (except those gathered on the device since the last evaluation,
 * pol_graph_gather_rows), runs every node on the device and waits for it. Host copies of
 * STATE and NODE tensors then go stale until pol_graph_download. */
POL_WARN_UNUSED pol_status pol_graph_eval(pol_graph *g, pol_ctx *ctx);

/* Sets INPUT tensor `id` (first dimension n) to the rows rows[0..n) of the
 * host tensor src: same dtype and rank, the same sizes after the first
 * dimension, every row index below src's first dimension. ctx NULL or a
 * CPU context: the rows are copied into the host tensor. A CUDA context:
 * src is copied to the device once and kept with the graph's device copies
 * (found again by its data pointer and size, so its contents must not
 * change while the graph lives), the rows are gathered on the device, and
 * the host copy of `id` is not written: the next pol_graph_eval does not
 * upload it (pol_graph_download fetches it). When src does not fit on the
 * device (it may take at most half of the free device memory), or its rows
 * are not whole 4-byte words, the rows are gathered on the host and
 * uploaded by the next evaluation instead. The training loop feeds its batches this way, so a
 * batch does not cross the bus when its dataset fits on the device.
 * Returns: POL_OK; POL_ERR_INVALID_ARG (not an INPUT tensor, NULL rows,
 * a row out of range); POL_ERR_SHAPE (dtype or shape mismatch);
 * POL_ERR_CUDA. */
POL_WARN_UNUSED pol_status pol_graph_gather_rows(pol_graph *g, pol_ctx *ctx, int id,
                                                 const pol_tensor *src, const uint32_t *rows);

/* Copies every declared update (node output -> state tensor); on the
 * device copies when the graph lives on the device. */
void pol_graph_commit(pol_graph *g);

/* Device -> host (download) or host -> device (upload) of tensor `id`, or of
 * every tensor for id == -1. POL_OK and nothing done when the graph has no
 * device copy. Returns: POL_OK; POL_ERR_INVALID_ARG; POL_ERR_CUDA. */
POL_WARN_UNUSED pol_status pol_graph_download(pol_graph *g, int id);
POL_WARN_UNUSED pol_status pol_graph_upload(pol_graph *g, int id);

/* The canonical hash of node i's output tensor (its current contents). */
POL_WARN_UNUSED pol_status pol_graph_node_hash(const pol_graph *g, int i, pol_digest *out);

/* Evaluates one op on explicit tensors, outside any graph: the referee's
 * entry point. Shapes are checked as in pol_graph_add_node; `out` must be
 * allocated with the right shape. kernels chooses reference, fast or (tolerant
 * mode only) BLAS code; for BLAS the GEMM uses the pool's thread count.
 * Returns: POL_OK; POL_ERR_SHAPE; POL_ERR_INVALID_ARG. */
POL_WARN_UNUSED pol_status pol_node_eval(pol_op op, const pol_node_params *params,
                                         const pol_tensor *const *in, int n_in, pol_tensor *out,
                                         pol_kernels kernels, pol_pool *pool);

/* The checks of pol_node_eval alone: inputs and `out` fit the op.
 * Used by other backends (pol_cuda_node_eval). Touches no tensor data. */
POL_WARN_UNUSED pol_status pol_node_check(pol_op op, const pol_node_params *params,
                                          const pol_tensor *const *in, int n_in,
                                          const pol_tensor *out);

/* Writes a human-readable listing: one line per node (index, op, name,
 * inputs, output shape). */
void pol_graph_dump(const pol_graph *g, FILE *f);

#ifdef __cplusplus
}
#endif
#endif /* POL_GRAPH_H */
