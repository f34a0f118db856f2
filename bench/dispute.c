/* bench/dispute — the cost of a pinpoint dispute (spec/pinpoint.md) as the
 * run grows (steps) and as the model grows (graph nodes).
 *
 * Every row: a solver that tampers one node at one step (POL_CHEAT_TAMPER_NODE)
 * against an honest challenger, both replayers trained on the tiny task's
 * dataset. The dispute is run REPS times; every run must pinpoint exactly
 * the injected (interval, step, node), make the solver lose with `wrong
 * result` and stay within pol_dispute_bound (checked before anything is
 * reported); the times are medians over the runs.
 *
 *   build/bench/dispute [--out DIR] [--quick]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "pol/fileio.h"
#include "pol/model.h"
#include "pol/pinpoint.h"

#define TASK "spec/vectors/tiny/adamw-gelu.json"
#define REPS 3

/* A party that forwards to a replayer and adds up its wall time. */
typedef struct timed {
    pol_party in;
    double seconds;
} timed;

#define TIMED(call)                         \
    do {                                    \
        timed *t = self;                    \
        const double t0 = bench_now();      \
        pol_status st = (call);             \
        t->seconds += bench_now() - t0;     \
        return st;                          \
    } while (0)

static pol_status t_commit(void *self, size_t *n, pol_digest *root)
{
    TIMED(t->in.commit(t->in.self, n, root));
}
static pol_status t_ckpt(void *self, size_t i, pol_digest *h, pol_digest *path, size_t *len)
{
    TIMED(t->in.ckpt(t->in.self, i, h, path, len));
}
static pol_status t_state(void *self, size_t iv, uint64_t steps, pol_digest *h)
{
    TIMED(t->in.state(t->in.self, iv, steps, h));
}
static pol_status t_roots(void *self, uint64_t s, pol_digest *nr, pol_digest *sr)
{
    TIMED(t->in.roots(t->in.self, s, nr, sr));
}
static pol_status t_subtree(void *self, uint64_t s, int tree, uint64_t lo, uint64_t hi,
                            pol_digest *root)
{
    TIMED(t->in.subtree(t->in.self, s, tree, lo, hi, root));
}
static pol_status t_open(void *self, uint64_t s, int tree, uint64_t index, pol_pin_opening *o)
{
    TIMED(t->in.open(t->in.self, s, tree, index, o));
}

static pol_party timed_party(timed *t, pol_replayer *rp, const char *name)
{
    t->in = pol_replayer_party(rp, name), t->seconds = 0;
    pol_party p = { t, name, t_commit, t_ckpt, t_state, t_roots, t_subtree, t_open };
    return p;
}

static int die(const char *what, pol_status st)
{
    fprintf(stderr, "bench/dispute: %s: %s (%s)\n", what, pol_last_error(), pol_strerror(st));
    return 1;
}

typedef struct row {
    uint64_t steps, k;
    int layers; /* linear layers, width 8 */
} row;

/* One row: train both parties, dispute REPS times, check, report. */
static int run_row(const pol_task *base, const pol_dataset *ds, pol_ctx *ctx, const char *tmp,
                   const row *rw, int idx)
{
    pol_task task = *base;
    task.steps = rw->steps, task.checkpoint_every = rw->k, task.n_layers = rw->layers;
    for (int l = 1; l < rw->layers; l++)
        task.sizes[l] = 8;
    task.sizes[rw->layers] = base->sizes[base->n_layers];
    task.warmup_steps = rw->steps / 10;
    pol_model m;
    pol_status st = pol_model_build(&task, &m);
    if (st)
        return die("model", st);
    const int nodes = pol_graph_n_nodes(m.graph);
    /* the cheat: the update of the first weight matrix (it always reaches the
     * state; its node sits inside the node tree, not at an edge) at a step
     * 61% into the run */
    pol_cheat cheat = { POL_CHEAT_TAMPER_NODE, rw->steps * 61 / 100, -1 };
    for (int i = 0; i < nodes; i++)
        if (!strcmp(pol_graph_node(m.graph, i)->name, "opt.l0.W"))
            cheat.node = i;
    pol_model_free(&m);
    if (cheat.node < 0)
        return die("no node opt.l0.W", POL_ERR_INTERNAL);
    char d1[1200], d2[1200];
    snprintf(d1, sizeof d1, "%s/r%d-solver", tmp, idx);
    snprintf(d2, sizeof d2, "%s/r%d-honest", tmp, idx);
    pol_replayer *sol = NULL, *hon = NULL;
    double t0 = bench_now();
    if ((st = pol_replayer_create(&hon, ctx, &task, ds, d2, NULL)))
        return die("honest replayer", st);
    const double train_s = bench_now() - t0;
    if ((st = pol_replayer_create(&sol, ctx, &task, ds, d1, &cheat)))
        return die("cheating replayer", st);
    double ref[REPS], ts[REPS], tc[REPS];
    pol_dispute_result *res = malloc(sizeof *res);
    if (!res)
        return die("result", POL_ERR_NOMEM);
    uint64_t open_bytes = 0;
    for (int r = 0; r < REPS; r++) {
        timed a, b;
        pol_party sp = timed_party(&a, sol, "solver"), cp = timed_party(&b, hon, "challenger");
        if ((st = pol_dispute_run(&task, ds, &sp, &cp, NULL, res)))
            return die("dispute", st);
        const uint64_t iv = cheat.step / rw->k;
        if (res->loser != POL_PARTY_SOLVER || res->reason != POL_DISPUTE_WRONG_RESULT ||
            res->kind != POL_PIN_NODE || res->interval != (int64_t)iv ||
            res->step != (int64_t)cheat.step || res->node != cheat.node ||
            res->rounds > res->bound || res->referee_nodes != 1) {
            fprintf(stderr, "bench/dispute: row %d: pinned (%lld, %lld, %lld), cheat at "
                    "(%llu, %llu, %d), %u rounds (bound %u): %s\n", idx,
                    (long long)res->interval, (long long)res->step, (long long)res->node,
                    (unsigned long long)iv, (unsigned long long)cheat.step, cheat.node,
                    res->rounds, res->bound, res->why);
            return 1;
        }
        ref[r] = res->referee_seconds, ts[r] = a.seconds, tc[r] = b.seconds;
        for (size_t i = 0; i < res->n_log; i++)
            if (res->log[i].level == 4)
                open_bytes = res->log[i].bytes;
    }
    bench_emit("| %llu | %llu | %llu | %d | %d | %u / %u / %u = %u | %u | %llu | %llu | %llu | "
               "%.3f | %.3f | %.3f | %.2f |\n",
               (unsigned long long)rw->steps, (unsigned long long)rw->k,
               (unsigned long long)((rw->steps + rw->k - 1) / rw->k), rw->layers, nodes,
               res->rounds_level[1], res->rounds_level[2], res->rounds_level[3], res->rounds,
               res->bound, (unsigned long long)res->bytes, (unsigned long long)res->bytes_max_round,
               (unsigned long long)open_bytes, 1e3 * bench_median(ref, REPS),
               bench_median(ts, REPS), bench_median(tc, REPS), train_s);
    free(res);
    pol_replayer_destroy(sol);
    pol_replayer_destroy(hon);
    return 0;
}

int main(int argc, char **argv)
{
    const char *out_dir = "bench/results";
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out_dir = argv[++i];
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else {
            printf("usage: %s [--out DIR] [--quick]\n", argv[0]);
            return strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    pol_task base;
    pol_dataset ds;
    pol_ctx *ctx;
    pol_status st;
    if ((st = pol_task_load(TASK, &base)))
        return die("task", st);
    if ((st = pol_dataset_load(base.dataset_path, &base.dataset_sha256, base.sizes[0],
                               base.sizes[base.n_layers], &ds)))
        return die("dataset", st);
    if ((st = pol_ctx_create(&ctx, NULL))) /* the default CPU context: 1 thread */
        return die("context", st);
    char tmp[] = "/tmp/polbench-dispute-XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    char cpu[256];
    bench_cpu_model(cpu, sizeof cpu);
    static const row by_steps[] = {
        { 100, 10, 3 }, { 1000, 32, 3 }, { 10000, 100, 3 }, { 100000, 1000, 3 },
        { 1000000, 10000, 3 },
    };
    /* AdamW graphs have 12 nodes per layer less one: 1, 8, 84 and 834 layers
     * give 11, 95, 1007 and 10007 nodes; 1024 is the most (POL_MLP_MAX_LAYERS) */
    static const row by_nodes[] = {
        { 100, 10, 1 },   { 100, 10, 2 },  { 100, 10, 4 },  { 100, 10, 8 },
        { 100, 10, 16 },  { 100, 10, 84 }, { 100, 10, 256 }, { 100, 10, 834 },
        { 100, 10, POL_MLP_MAX_LAYERS },
    };
    const size_t n_steps = quick ? 3 : sizeof by_steps / sizeof *by_steps;
    const size_t n_nodes = quick ? 2 : sizeof by_nodes / sizeof *by_nodes;
    const char *head =
        "| steps | k | intervals | layers | nodes | rounds L1 / L2 / L3 = total | bound | "
        "bytes | largest round | opening bytes | referee ms | solver replay s | "
        "challenger replay s | train s (one party) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    bench_emit("# Dispute cost (pinpoint, exact mode)\n\n"
               "Machine: %s (lscpu model name), 2 cores shared with other workers' builds;\n"
               "one thread; the bench was run once on it, so times are indicative. Solver tampers node opt.l0.W (the update\n"
               "of the first weight matrix) at step 0.61 x steps; the challenger is honest. Each row runs\n"
               "the dispute %d times; every run must pin exactly the injected (interval, step,\n"
               "node), make the solver lose with `wrong result`, recompute one node, and keep\n"
               "rounds <= bound, before anything is reported. Times are medians.\n\n"
               "## As the run grows (tiny model 6-8-8-3, AdamW, batch 16)\n\n"
               "k grows with the run so that the number of checkpoints stays small (the\n"
               "replayers keep every checkpoint as a file); each party then replays a small\n"
               "multiple of k steps per dispute (level 2 bisects one interval from its\n"
               "checkpoint, level 3 replays the disputed step), against the whole run for training.\n\n%s",
               cpu, REPS, head);
    for (size_t i = 0; i < n_steps; i++)
        if (run_row(&base, &ds, ctx, tmp, &by_steps[i], (int)i))
            return 1;
    bench_emit("\n## As the model grows (deep narrow MLPs 6-8-...-8-3, 100 steps, k = 10)\n\n"
               "AdamW graphs have 12 nodes per linear layer less one, so 834 layers give\n"
               "10^4 nodes; %d layers (POL_MLP_MAX_LAYERS) are the most a task may have.\n"
               "The level-3 rounds grow as ceil(log2 nodes): 14 at 10^4 nodes. Each extra\n"
               "level-3 round adds 344 bytes; the opening grows with the Merkle paths of its\n"
               "proofs (32 bytes a tree level); the largest round stays put. Replay and\n"
               "training grow linearly with depth; the referee's level-4 time stays near\n"
               "0.1 ms.\n\n%s",
               POL_MLP_MAX_LAYERS, head);
    for (size_t i = 0; i < n_nodes; i++)
        if (run_row(&base, &ds, ctx, tmp, &by_nodes[i], (int)(10 + i)))
            return 1;
    bench_emit("\nColumns: rounds per level (1 checkpoint, 2 step, 3 node) and their total; bound =\n"
               "ceil(log2 intervals) + ceil(log2 k) + ceil(log2 max(nodes, state tensors))\n"
               "(pol_dispute_bound); bytes = every message both ways, as the driver counts them\n"
               "(spec P-BYTES); largest round = the largest bisection round (target <= 2 KB);\n"
               "opening bytes = the solver's level-4 opening (the node's input tensors and\n"
               "their proofs); referee ms = the referee's thread CPU time at level 4; replay s =\n"
               "each party's wall time answering queries (replays from its checkpoints);\n"
               "train s = one party's training run with checkpoints, before the dispute.\n");
    char path[1200];
    snprintf(path, sizeof path, "%s/dispute.md", out_dir);
    if (!quick && ((st = pol_mkdir_p(out_dir)) ||
                   (st = pol_write_file_atomic(path, bench_table, bench_table_len, 1))))
        return die("write results", st);
    if (!quick)
        printf("wrote %s\n", path);
    pol_dataset_free(&ds);
    pol_ctx_destroy(ctx);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "bench/dispute: could not remove %s\n", tmp);
    return 0;
}
