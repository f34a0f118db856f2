#include "pol/task.h"

#include <jansson.h>

#include "../io/json_file.h"
#include <math.h> /* signbit only */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol/cmath.h"
#include "pol/fileio.h"

/* ----------------------------------------------------------- helpers -- */

/* Every object is checked against the list of keys it may hold. */
static pol_status only_keys(json_t *obj, const char *where, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= !strcmp(key, *a);
        if (!ok)
            return pol_errorf(POL_ERR_FORMAT, "task: unknown key \"%s\" in %s", key, where);
    }
    return POL_OK;
}

static pol_status get_obj(json_t *o, const char *key, json_t **out)
{
    *out = json_object_get(o, key);
    if (!*out || !json_is_object(*out))
        return pol_errorf(POL_ERR_FORMAT, "task: \"%s\" must be an object", key);
    return POL_OK;
}

static pol_status get_str(json_t *o, const char *where, const char *key, const char **out)
{
    json_t *v = json_object_get(o, key);
    if (!v || !json_is_string(v))
        return pol_errorf(POL_ERR_FORMAT, "task: %s.%s must be a string", where, key);
    *out = json_string_value(v);
    return POL_OK;
}

static pol_status get_uint(json_t *o, const char *where, const char *key, uint64_t lo,
                           uint64_t hi, int required, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v && !required)
        return POL_OK;
    if (!v || !json_is_integer(v))
        return pol_errorf(POL_ERR_FORMAT, "task: %s.%s must be an integer", where, key);
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x < lo || (uint64_t)x > hi)
        return pol_errorf(POL_ERR_FORMAT, "task: %s.%s = %lld not in [%llu, %llu]", where, key,
                          (long long)x, (unsigned long long)lo, (unsigned long long)hi);
    *out = (uint64_t)x;
    return POL_OK;
}

/* A JSON number becomes the binary64 nearest the decimal (the parser's
 * strtod), then the binary32 nearest that (spec A-HOST-2). */
static pol_status get_float(json_t *o, const char *where, const char *key, double lo, double hi,
                            int required, float *out)
{
    json_t *v = json_object_get(o, key);
    if (!v && !required)
        return POL_OK;
    if (!v || !json_is_number(v))
        return pol_errorf(POL_ERR_FORMAT, "task: %s.%s must be a number", where, key);
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi) || (d == 0.0 && signbit(d)))
        return pol_errorf(POL_ERR_FORMAT, "task: %s.%s = %g not in [%g, %g]", where, key, d, lo, hi);
    *out = (float)d;
    return POL_OK;
}

/* ------------------------------------------------------------ sections -- */

static pol_status parse_model(json_t *root, pol_task *t)
{
    static const char *const keys[] = { "type", "layers", "activation", NULL };
    json_t *m;
    const char *s = NULL;
    POL_TRY(get_obj(root, "model", &m));
    POL_TRY(only_keys(m, "model", keys));
    POL_TRY(get_str(m, "model", "type", &s));
    if (strcmp(s, "mlp"))
        return pol_errorf(POL_ERR_FORMAT, "task: model.type \"%s\" unknown (want \"mlp\")", s);
    POL_TRY(get_str(m, "model", "activation", &s));
    if (!strcmp(s, "relu"))
        t->activation = POL_ACT_RELU;
    else if (!strcmp(s, "gelu"))
        t->activation = POL_ACT_GELU;
    else
        return pol_errorf(POL_ERR_FORMAT, "task: model.activation \"%s\" unknown (relu, gelu)", s);
    json_t *layers = json_object_get(m, "layers");
    if (!layers || !json_is_array(layers) || json_array_size(layers) < 2 ||
        json_array_size(layers) > POL_MLP_MAX_LAYERS + 1)
        return pol_errorf(POL_ERR_FORMAT, "task: model.layers must be an array of 2..%d sizes",
                          POL_MLP_MAX_LAYERS + 1);
    t->n_layers = (int)json_array_size(layers) - 1;
    for (size_t i = 0; i < json_array_size(layers); i++) {
        json_t *v = json_array_get(layers, i);
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > POL_MLP_MAX_WIDTH)
            return pol_errorf(POL_ERR_FORMAT, "task: model.layers[%zu] must be in 1..%d", i,
                              POL_MLP_MAX_WIDTH);
        t->sizes[i] = json_integer_value(v);
    }
    if (t->sizes[t->n_layers] < 2)
        return pol_errorf(POL_ERR_FORMAT, "task: the last layer needs at least 2 classes");
    return POL_OK;
}

static pol_status parse_dataset(json_t *root, const char *base_dir, pol_task *t)
{
    static const char *const keys[] = { "path", "sha256", NULL };
    json_t *d;
    const char *path = NULL, *hex = NULL;
    POL_TRY(get_obj(root, "dataset", &d));
    POL_TRY(only_keys(d, "dataset", keys));
    POL_TRY(get_str(d, "dataset", "path", &path));
    POL_TRY(get_str(d, "dataset", "sha256", &hex));
    if (!path[0])
        return pol_errorf(POL_ERR_FORMAT, "task: dataset.path is empty");
    if (pol_digest_from_hex(hex, &t->dataset_sha256))
        return pol_errorf(POL_ERR_FORMAT, "task: dataset.sha256 must be 64 hex digits");
    int n;
    if (path[0] == '/' || !base_dir || !base_dir[0])
        n = snprintf(t->dataset_path, sizeof t->dataset_path, "%s", path);
    else
        n = snprintf(t->dataset_path, sizeof t->dataset_path, "%s/%s", base_dir, path);
    if (n < 0 || (size_t)n >= sizeof t->dataset_path)
        return pol_errorf(POL_ERR_FORMAT, "task: dataset.path too long");
    return POL_OK;
}

static pol_status parse_optimizer(json_t *root, pol_task *t)
{
    static const char *const keys[] = { "type", "lr", "beta1", "beta2", "eps", "momentum",
                                        "weight_decay", NULL };
    json_t *o;
    const char *s = NULL;
    POL_TRY(get_obj(root, "optimizer", &o));
    POL_TRY(only_keys(o, "optimizer", keys));
    POL_TRY(get_str(o, "optimizer", "type", &s));
    POL_TRY(get_float(o, "optimizer", "lr", 0.0, 1e3, 1, &t->lr));
    t->weight_decay = 0.0f;
    POL_TRY(get_float(o, "optimizer", "weight_decay", 0.0, 1e3, 0, &t->weight_decay));
    if (!strcmp(s, "adamw")) {
        t->optimizer = POL_OPTIM_ADAMW;
        t->beta1 = 0.9f, t->beta2 = 0.999f, t->eps = 1e-8f;
        POL_TRY(get_float(o, "optimizer", "beta1", 0.0, 0.999999, 0, &t->beta1));
        POL_TRY(get_float(o, "optimizer", "beta2", 0.0, 0.999999, 0, &t->beta2));
        POL_TRY(get_float(o, "optimizer", "eps", 1e-30, 1.0, 0, &t->eps));
        if (json_object_get(o, "momentum"))
            return pol_errorf(POL_ERR_FORMAT, "task: optimizer.momentum is for sgd, not adamw");
    } else if (!strcmp(s, "sgd")) {
        t->optimizer = POL_OPTIM_SGD;
        t->beta1 = 0.0f;
        POL_TRY(get_float(o, "optimizer", "momentum", 0.0, 0.999999, 0, &t->beta1));
        if (json_object_get(o, "beta1") || json_object_get(o, "beta2") || json_object_get(o, "eps"))
            return pol_errorf(POL_ERR_FORMAT, "task: beta1/beta2/eps are for adamw, not sgd");
    } else {
        return pol_errorf(POL_ERR_FORMAT, "task: optimizer.type \"%s\" unknown (sgd, adamw)", s);
    }
    return POL_OK;
}

static pol_status parse_schedule(json_t *root, pol_task *t)
{
    static const char *const keys[] = { "type", "warmup_steps", "min_lr", NULL };
    json_t *o = json_object_get(root, "schedule");
    t->schedule = POL_SCHED_CONSTANT;
    if (!o)
        return POL_OK;
    const char *s = NULL;
    if (!json_is_object(o))
        return pol_errorf(POL_ERR_FORMAT, "task: \"schedule\" must be an object");
    POL_TRY(only_keys(o, "schedule", keys));
    POL_TRY(get_str(o, "schedule", "type", &s));
    if (!strcmp(s, "constant")) {
        if (json_object_get(o, "warmup_steps") || json_object_get(o, "min_lr"))
            return pol_errorf(POL_ERR_FORMAT, "task: a constant schedule takes no parameters");
        return POL_OK;
    }
    if (strcmp(s, "warmup_cosine"))
        return pol_errorf(POL_ERR_FORMAT,
                          "task: schedule.type \"%s\" unknown (constant, warmup_cosine)", s);
    t->schedule = POL_SCHED_WARMUP_COSINE;
    POL_TRY(get_uint(o, "schedule", "warmup_steps", 0, t->steps, 1, &t->warmup_steps));
    POL_TRY(get_float(o, "schedule", "min_lr", 0.0, 1e3, 0, &t->min_lr));
    if (t->min_lr > t->lr)
        return pol_errorf(POL_ERR_FORMAT, "task: schedule.min_lr exceeds optimizer.lr");
    return POL_OK;
}

/* [T-KEY-4]: optional, tolerant tasks only; absent means fp32. */
static pol_status parse_gpu_math(json_t *root, pol_task *t)
{
    t->gpu_math = POL_GPU_MATH_FP32;
    if (!json_object_get(root, "gpu_math"))
        return POL_OK;
    if (t->mode != POL_MODE_TOLERANT)
        return pol_errorf(POL_ERR_FORMAT, "task: gpu_math is for tolerant-mode tasks; an "
                          "exact-mode task never runs its GEMMs on cuBLAS");
    const char *s = NULL;
    POL_TRY(get_str(root, "task", "gpu_math", &s));
    for (int m = POL_GPU_MATH_FP32; m <= POL_GPU_MATH_BF16; m++)
        if (!strcmp(s, pol_gpu_math_name((pol_gpu_math)m))) {
            t->gpu_math = (pol_gpu_math)m;
            return POL_OK;
        }
    return pol_errorf(POL_ERR_FORMAT, "task: gpu_math \"%s\" unknown (fp32, tf32, bf16)", s);
}

static pol_status parse_root(json_t *root, const char *base_dir, pol_task *t)
{
    static const char *const keys[] = { "format", "model", "dataset", "seed", "steps",
                                        "batch_size", "checkpoint_every", "optimizer",
                                        "schedule", "mode", "gpu_math", NULL };
    const char *s = NULL;
    if (!json_is_object(root))
        return pol_errorf(POL_ERR_FORMAT, "task: top level must be a JSON object");
    POL_TRY(only_keys(root, "the task", keys));
    POL_TRY(get_str(root, "task", "format", &s));
    if (strcmp(s, "libpol-task-v1"))
        return pol_errorf(POL_ERR_FORMAT, "task: format \"%s\" unknown (want libpol-task-v1)", s);
    POL_TRY(parse_model(root, t));
    POL_TRY(parse_dataset(root, base_dir, t));
    /* seeds are 64-bit; JSON integers here are signed 64-bit, so seeds < 2^63 */
    POL_TRY(get_uint(root, "task", "seed", 0, INT64_MAX, 1, &t->seed));
    /* step counts stay below 2^24 so they convert to binary32 exactly (A-HOST-1) */
    POL_TRY(get_uint(root, "task", "steps", 1, (1u << 24) - 1, 1, &t->steps));
    uint64_t b;
    POL_TRY(get_uint(root, "task", "batch_size", 1, 65536, 1, &b));
    t->batch = (int64_t)b;
    POL_TRY(get_uint(root, "task", "checkpoint_every", 1, t->steps, 1, &t->checkpoint_every));
    POL_TRY(parse_optimizer(root, t));
    POL_TRY(parse_schedule(root, t));
    POL_TRY(get_str(root, "task", "mode", &s));
    if (!strcmp(s, "exact"))
        t->mode = POL_MODE_EXACT;
    else if (!strcmp(s, "tolerant"))
        t->mode = POL_MODE_TOLERANT;
    else
        return pol_errorf(POL_ERR_FORMAT, "task: mode \"%s\" unknown (exact, tolerant)", s);
    return parse_gpu_math(root, t);
}

pol_status pol_task_parse(const uint8_t *buf, size_t len, const char *base_dir, pol_task *t)
{
    if (!buf || !t)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_task_parse: NULL argument");
    memset(t, 0, sizeof *t);
    if (len > POL_TASK_MAX_BYTES)
        return pol_errorf(POL_ERR_TOO_LARGE, "task: %zu bytes exceeds the %u-byte cap", len,
                          POL_TASK_MAX_BYTES);
    json_error_t err;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return pol_errorf(pol_json_fail_status(&err), "task: invalid JSON at line %d column %d: %s",
                          err.line, err.column, err.text);
    pol_status st = parse_root(root, base_dir, t);
    json_decref(root);
    if (st) {
        memset(t, 0, sizeof *t);
        return st;
    }
    st = pol_sha256(buf, len, &t->id);
    if (st)
        memset(t, 0, sizeof *t);
    return st;
}

pol_status pol_task_load(const char *path, pol_task *t)
{
    uint8_t *buf;
    size_t len;
    pol_status st = pol_read_file(path, POL_TASK_MAX_BYTES, &buf, &len);
    if (st)
        return st;
    char dir[POL_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == path) {
        strcpy(dir, "/");
    } else if (slash && (size_t)(slash - path) >= sizeof dir) {
        free(buf);
        return pol_errorf(POL_ERR_INVALID_ARG, "%s: directory name too long", path);
    } else if (slash) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    } else {
        strcpy(dir, ".");
    }
    st = pol_task_parse(buf, len, dir, t);
    free(buf);
    if (st) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", pol_last_error());
        return pol_errorf(st, "%s: %s", path, msg);
    }
    return POL_OK;
}

const char *pol_gpu_math_name(pol_gpu_math m)
{
    switch (m) {
    case POL_GPU_MATH_FP32: return "fp32";
    case POL_GPU_MATH_TF32: return "tf32";
    case POL_GPU_MATH_BF16: return "bf16";
    }
    return NULL;
}

float pol_task_lr(const pol_task *t, uint64_t step)
{
    if (t->schedule == POL_SCHED_CONSTANT)
        return t->lr;
    uint64_t W = t->warmup_steps, T = t->steps;
    if (step < W)
        return t->lr * ((float)(step + 1) / (float)W);
    float progress = T == W ? 0.0f : (float)(step - W) / (float)(T - W);
    if (progress > 1.0f)
        progress = 1.0f;
    return t->min_lr + (t->lr - t->min_lr) * (0.5f * (1.0f + pol_cospif(progress)));
}
