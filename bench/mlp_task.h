/* The large synthetic MLP task the benchmarks share (bench/train.c,
 * bench/verify.c, bench/train_gpu.cu): 784-1024-1024-10 ReLU, AdamW with
 * warmup + cosine, batch 256, on 8192 + 1024 synthetic samples whose 784
 * features come from pol_rng_uniform and whose label is the group of 78
 * features with the largest sum. Usable from C and C++ (nvcc). */
#ifndef POL_BENCH_MLP_TASK_H
#define POL_BENCH_MLP_TASK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "pol/fileio.h"
#include "pol/hash.h"
#include "pol/rng.h"
#include "pol/safetensors.h"
#include "pol/tensor.h"

#define BENCH_MLP_TRAIN 8192
#define BENCH_MLP_TEST 1024
#define BENCH_MLP_DIM 784
#define BENCH_MLP_CLASSES 10
#define BENCH_MLP_SEED 0x706f6c2d62656e63ull /* synthetic features */
#define BENCH_MLP_STREAM 0x7fff0001u         /* not one of the library's streams */

/* Writes dir/mlp-data.safetensors (deterministic; an existing copy is
 * replaced by the same bytes) and dir/mlp-<mode>.json with `steps` steps,
 * checkpoints every k, mode "exact" or "tolerant", two hidden layers of
 * `hidden` units and batches of `batch` (bench_mlp_task: 1024 and 256, the
 * task the benchmarks time). Out: task_path. Returns: POL_OK;
 * POL_ERR_TOO_LARGE (dir too long); errors of the tensor allocator, the
 * serializer and the file writer. */
static inline pol_status bench_mlp_task_sized(const char *dir, uint64_t steps, uint64_t k,
                                              const char *mode, int hidden, int batch,
                                              char *task_path, size_t cap)
{
    pol_tensor t[4];
    const int64_t shp[4][2] = { { BENCH_MLP_TRAIN, BENCH_MLP_DIM }, { BENCH_MLP_TRAIN, 0 },
                                { BENCH_MLP_TEST, BENCH_MLP_DIM }, { BENCH_MLP_TEST, 0 } };
    static const char *const names[4] = { "train_x", "train_y", "test_x", "test_y" };
    pol_status st = POL_OK;
    int made = 0;
    for (; made < 4 && st == POL_OK; made++)
        st = pol_tensor_alloc(&t[made], names[made], made & 1 ? POL_I32 : POL_F32,
                              made & 1 ? 1 : 2, shp[made]);
    if (st != POL_OK)
        made--;
    uint64_t index = 0;
    for (int split = 0; st == POL_OK && split < 2; split++) {
        float *x = pol_f32(&t[2 * split]);
        int32_t *y = pol_i32(&t[2 * split + 1]);
        for (int64_t r = 0; r < shp[2 * split][0]; r++) {
            float *row = x + r * BENCH_MLP_DIM, best = -1.0f;
            for (int j = 0; j < BENCH_MLP_DIM; j++)
                row[j] = pol_rng_uniform(BENCH_MLP_SEED, BENCH_MLP_STREAM, 0, index++, 0.0f, 1.0f);
            const int G = BENCH_MLP_DIM / BENCH_MLP_CLASSES;
            for (int c = 0; c < BENCH_MLP_CLASSES; c++) {
                float sum = 0.0f;
                for (int j = 0; j < G; j++)
                    sum += row[c * G + j];
                if (sum > best)
                    best = sum, y[r] = c;
            }
        }
    }
    uint8_t *img = NULL;
    size_t len = 0;
    pol_digest sha;
    char hex[65], data_path[4200], json[2048];
    const pol_tensor *tp[4] = { &t[0], &t[1], &t[2], &t[3] };
    static const char *const meta[] = { "source", "libpol bench synthetic data" };
    if (st == POL_OK)
        st = pol_st_serialize(tp, 4, meta, 1, &img, &len);
    for (int i = 0; i < made; i++)
        pol_tensor_free(&t[i]);
    if (st == POL_OK)
        st = pol_sha256(img, len, &sha);
    if (st == POL_OK && ((size_t)snprintf(data_path, sizeof data_path, "%s/mlp-data.safetensors",
                                          dir) >= sizeof data_path ||
                         (size_t)snprintf(task_path, cap, "%s/mlp-%s.json", dir, mode) >= cap))
        st = pol_errorf(POL_ERR_TOO_LARGE, "bench: directory name too long: %s", dir);
    if (st == POL_OK)
        st = pol_write_file_atomic(data_path, img, len, 1);
    free(img);
    if (st != POL_OK)
        return st;
    pol_digest_to_hex(&sha, hex);
    int n = snprintf(json, sizeof json,
                     "{\n"
                     "  \"format\": \"libpol-task-v1\",\n"
                     "  \"model\": { \"type\": \"mlp\", \"layers\": [%d, %d, %d, %d], "
                     "\"activation\": \"relu\" },\n"
                     "  \"dataset\": { \"path\": \"mlp-data.safetensors\", \"sha256\": \"%s\" },\n"
                     "  \"seed\": 7,\n"
                     "  \"steps\": %" PRIu64 ",\n"
                     "  \"batch_size\": %d,\n"
                     "  \"checkpoint_every\": %" PRIu64 ",\n"
                     "  \"optimizer\": { \"type\": \"adamw\", \"lr\": 0.001, \"beta1\": 0.9, "
                     "\"beta2\": 0.999, \"eps\": 1e-8, \"weight_decay\": 0.01 },\n"
                     "  \"schedule\": { \"type\": \"warmup_cosine\", \"warmup_steps\": 20, "
                     "\"min_lr\": 0.0001 },\n"
                     "  \"mode\": \"%s\"\n"
                     "}\n",
                     BENCH_MLP_DIM, hidden, hidden, BENCH_MLP_CLASSES, hex, steps, batch, k, mode);
    return pol_write_file_atomic(task_path, json, (size_t)n, 0);
}

static inline pol_status bench_mlp_task(const char *dir, uint64_t steps, uint64_t k,
                                        const char *mode, char *task_path, size_t cap)
{
    return bench_mlp_task_sized(dir, steps, k, mode, 1024, 256, task_path, cap);
}

#endif
