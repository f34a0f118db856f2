/* libFuzzer target: pol_trace_load (a run directory's trace.json,
 * spec/checkpoint.md C-TRACE-4).
 *
 * The input is written as trace.json into a directory of this process
 * (mkdtemp). The reader must accept exactly what a reference reading of
 * C-TRACE-4 below accepts (jansson with duplicate keys rejected; a top-level
 * object with format "libpol-trace-v1", a task_id and state hashes of 64
 * lowercase hex digits, 1 to 2^22 checkpoints with non-negative integer
 * steps in strictly increasing order, each file ckpt-%08llu.safetensors of
 * its step, and an optional finite update_norm >= 0), and what it returns
 * must be what the reference read: the task id, and per entry the step, the
 * hash, the file and the norm (has_norm set iff update_norm is present, the
 * norm 0 without it). On failure *t is all zero. */
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "pol/hash.h"
#include "pol/train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char run_dir[64];
static char trace_path[96];

static void remove_run_dir(void)
{
    if (run_dir[0]) {
        unlink(trace_path);
        rmdir(run_dir);
    }
}

/* dir/trace.json holding exactly data[0..size). */
static void put_trace(const uint8_t *data, size_t size)
{
    if (!run_dir[0]) {
        snprintf(run_dir, sizeof run_dir, "/tmp/pol-fuzz-trace.XXXXXX");
        if (!mkdtemp(run_dir)) {
            run_dir[0] = '\0';
            abort();
        }
        snprintf(trace_path, sizeof trace_path, "%s/trace.json", run_dir);
        atexit(remove_run_dir);
    }
    int fd = open(trace_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        abort();
    fuzz_file_set(fd, data, size);
    close(fd);
}

static int is_hex64(const char *s, pol_digest *d)
{
    return s && strlen(s) == 64 && fuzz_hex64(s, d->b);
}

/* The reference reading: 1 if C-TRACE-4 accepts the text, then the result
 * must equal *t. */
static int reference_matches(const uint8_t *data, size_t size, const pol_trace *t, int loaded)
{
    json_error_t err;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    int ok = root && json_is_object(root);
    pol_digest d;
    json_t *fmt = json_object_get(root, "format"), *arr = json_object_get(root, "checkpoints");
    ok = ok && json_is_string(fmt) && strcmp(json_string_value(fmt), "libpol-trace-v1") == 0 &&
         is_hex64(json_string_value(json_object_get(root, "task_id")), &d) &&
         json_is_array(arr) && json_array_size(arr) >= 1 && json_array_size(arr) <= (1u << 22);
    if (ok && loaded && (!pol_digest_equal(&d, &t->task_id) || t->n != json_array_size(arr)))
        ok = -1;
    for (size_t i = 0; ok == 1 && i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i), *step = json_object_get(o, "step"),
               *f = json_object_get(o, "file"), *un = json_object_get(o, "update_norm");
        char want[64];
        if (!json_is_integer(step) || json_integer_value(step) < 0 ||
            !is_hex64(json_string_value(json_object_get(o, "state_hash")), &d) ||
            !json_is_string(f)) {
            ok = 0;
            break;
        }
        uint64_t s = (uint64_t)json_integer_value(step);
        snprintf(want, sizeof want, "ckpt-%08" PRIu64 ".safetensors", s);
        if (strcmp(want, json_string_value(f)) != 0 ||
            (un && !(json_is_number(un) && isfinite(json_number_value(un)) &&
                     json_number_value(un) >= 0)) ||
            (i > 0 && s <= (uint64_t)json_integer_value(
                                json_object_get(json_array_get(arr, i - 1), "step")))) {
            ok = 0;
            break;
        }
        if (loaded) {
            const pol_trace_entry *e = &t->e[i];
            double norm = un ? json_number_value(un) : 0.0;
            if (e->step != s || !pol_digest_equal(&e->hash, &d) || strcmp(e->file, want) != 0 ||
                e->has_norm != (un != NULL) || memcmp(&e->update_norm, &norm, sizeof norm) != 0)
                ok = -1;
        }
    }
    json_decref(root);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pol_trace t;
    put_trace(data, size);
    pol_status st = pol_trace_load(run_dir, &t);
    if (st != POL_OK) {
        if (t.e || t.n || t.cap)
            abort(); /* zeroed on failure */
        if (st != POL_ERR_FORMAT || reference_matches(data, size, &t, 0) != 0)
            abort(); /* a valid trace was refused */
        return 0;
    }
    if (t.n == 0 || t.n > (1u << 22) || t.cap < t.n)
        abort();
    for (size_t i = 0; i < t.n; i++) {
        char want[64];
        snprintf(want, sizeof want, "ckpt-%08" PRIu64 ".safetensors", t.e[i].step);
        if ((i > 0 && t.e[i].step <= t.e[i - 1].step) || strcmp(want, t.e[i].file) != 0 ||
            !isfinite(t.e[i].update_norm) || !(t.e[i].update_norm >= 0) ||
            (!t.e[i].has_norm && t.e[i].update_norm != 0))
            abort();
    }
    if (reference_matches(data, size, &t, 1) != 1)
        abort(); /* accepted something C-TRACE-4 refuses, or read it wrong */
    pol_trace_free(&t);
    return 0;
}
