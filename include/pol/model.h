/* libpol — building the training-step graph of a model (spec/graph.md).
 *
 * pol_model_build turns a task's model and optimizer into one frozen graph:
 * forward, loss, backward and optimizer nodes in topological order. Tensor
 * names (the names that appear in checkpoints and hashes):
 *
 *   STATE  l{i}.W (O,I), l{i}.b (O)              parameters of linear layer i
 *          l{i}.W.m, l{i}.W.v, l{i}.b.m, ...     AdamW moments
 *          l{i}.W.buf, l{i}.b.buf                SGD momentum buffers
 *   INPUT  in.x (B,D), in.y (B) I32, in.hyper (4) = [lr, bc1, bc2, 0]
 *   NODE   fwd.l{i}.linear, fwd.l{i}.act, loss, bwd.logits, bwd.l{i}.dW,
 *          bwd.l{i}.db, bwd.l{i}.dx, bwd.l{i}.act, opt.<param>[.m|.v|.buf]
 */
#ifndef POL_MODEL_H
#define POL_MODEL_H

#include "pol/graph.h"
#include "pol/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Ids of the tensors the training loop touches. */
typedef struct pol_model {
    pol_graph *graph;
    int in_x, in_y, in_hyper;  /* INPUT tensor ids */
    int loss;                  /* NODE id of the scalar loss */
    int n_params;
    int *params; /* (n_params) STATE ids of W0, b0, W1, b1, ... */
    int n_state;
    int *state;  /* (n_state) every STATE tensor id; at most 6 per layer */
} pol_model;

/* Builds and freezes the graph of one training step of `task`
 * (1 <= task->n_layers <= POL_MLP_MAX_LAYERS).
 * Returns: POL_OK; POL_ERR_NOMEM; POL_ERR_TOO_LARGE; POL_ERR_INVALID_ARG.
 * Out: *m, owning the graph and the id arrays (all NULL on failure); release
 *      with pol_model_free. */
POL_WARN_UNUSED pol_status pol_model_build(const pol_task *task, pol_model *m);

void pol_model_free(pol_model *m);

/* Sets every parameter from the task's seed (spec A-INIT) and every
 * optimizer moment to zero. */
void pol_model_init_params(const pol_task *task, pol_model *m);

#ifdef __cplusplus
}
#endif
#endif /* POL_MODEL_H */
