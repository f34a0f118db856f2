/* Safetensors writer and reader, the file helpers under them, and dataset
 * files (safetensors with train and test splits).
 *
 * Round trips; the exact bytes of the golden file in
 * spec/vectors/encoding.json; every class of corrupt file refused with the
 * documented status and nothing left allocated; atomic writes that refuse to
 * clobber and leave no temporary files. Test names cite spec ids. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "pol/dataset.h"
#include "pol/fileio.h"
#include "pol/safetensors.h"
#include "testutil.h"

static tu_rng R;

static int setup(void **st)
{
    (void)st;
    tu_rng_init(&R, tu_seed());
    return 0;
}

/* ------------------------------------------------------------- helpers */

static void make_tensor(pol_tensor *t, const char *name, pol_dtype dt, int nd,
                        const int64_t *shape)
{
    assert_int_equal(pol_tensor_alloc(t, name, dt, nd, shape), POL_OK);
    uint8_t *p = t->data;
    for (size_t i = 0; i < t->nbytes; i++)
        p[i] = (uint8_t)tu_next(&R);
}

static void assert_tensor_equal(const pol_tensor *a, const pol_tensor *b)
{
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->ndim, b->ndim);
    for (int i = 0; i < a->ndim; i++)
        assert_int_equal(a->shape[i], b->shape[i]);
    assert_int_equal(a->nbytes, b->nbytes);
    if (a->nbytes)
        assert_memory_equal(a->data, b->data, a->nbytes);
}

static void assert_zeroed(const pol_st_file *f)
{
    assert_null(f->tensors);
    assert_null(f->meta);
    assert_int_equal(f->n, 0);
    assert_int_equal(f->n_meta, 0);
}

/* An image from a header string (not padded) and a data buffer. */
static uint8_t *image(const char *hdr, const void *data, size_t dlen, size_t *len)
{
    size_t hl = strlen(hdr);
    *len = 8 + hl + dlen;
    uint8_t *b = malloc(*len ? *len : 1);
    assert_non_null(b);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, hdr, hl);
    if (dlen)
        memcpy(b + 8 + hl, data, dlen);
    return b;
}

/* Parses an image built from hdr and `dlen` bytes of data; expects `want`.
 * On success returns the file for inspection (else it is checked zeroed). */
static pol_status try_parse(const char *hdr, size_t dlen, const pol_st_limits *lim,
                            pol_st_file *f)
{
    uint8_t data[256] = {0};
    assert_true(dlen <= sizeof data);
    size_t len;
    uint8_t *b = image(hdr, data, dlen, &len);
    memset(f, 0xa5, sizeof *f);
    pol_status s = pol_st_parse(b, len, lim, f);
    if (s != POL_OK)
        assert_zeroed(f);
    free(b);
    return s;
}

static void expect_parse(const char *hdr, size_t dlen, const pol_st_limits *lim, pol_status want)
{
    pol_st_file f;
    pol_status s = try_parse(hdr, dlen, lim, &f);
    if (s != want)
        fail_msg("header %s (data %zu): status %d (%s), want %d", hdr, dlen, (int)s,
                 pol_last_error(), (int)want);
    if (s != POL_OK && !strstr(pol_last_error(), "safetensors buffer"))
        fail_msg("message does not name the source: %s", pol_last_error());
    pol_st_free(&f);
}

static int count_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static int has_temp_file(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp-"))
            found = 1;
    closedir(d);
    return found;
}

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(tu_system(cmd), 0);
}

/* A small mixed set of tensors (every dtype, a scalar, a zero-size one). */
enum { NSMALL = 6 };
static void small_set(pol_tensor *ts, const pol_tensor **p)
{
    int64_t s1[] = {3, 5}, s2[] = {0}, s3[] = {2, 2, 3, 1}, s4[] = {7}, s5[] = {4, 3};
    make_tensor(&ts[0], "model/w", POL_F32, 2, s1);
    make_tensor(&ts[1], "empty", POL_F32, 1, s2);
    make_tensor(&ts[2], "adam.m-0", POL_I32, 4, s3);
    make_tensor(&ts[3], "bytes", POL_U8, 1, s4);
    make_tensor(&ts[4], "step", POL_U64, 0, NULL);
    make_tensor(&ts[5], "Z", POL_U8, 2, s5);
    for (int i = 0; i < NSMALL; i++)
        p[i] = &ts[i];
}

static void free_set(pol_tensor *ts, int n)
{
    for (int i = 0; i < n; i++)
        pol_tensor_free(&ts[i]);
}

/* ------------------------------------------------------------ round trip */

/* [E-ST-1] .. [E-ST-5], [E-ST-13] */
static void test_round_trip(void **st)
{
    (void)st;
    pol_tensor ts[NSMALL];
    const pol_tensor *p[NSMALL];
    small_set(ts, p);
    const char *meta[] = {"step", "12", "format", "pt", "note", "caf\xc3\xa9 \"x\"\n\\"};
    const char *dir = tu_tmpdir();
    assert_non_null(dir);
    char path[600];
    snprintf(path, sizeof path, "%s/ck.safetensors", dir);
    assert_int_equal(pol_st_save(path, p, NSMALL, meta, 3, 0), POL_OK);
    assert_false(has_temp_file(dir));

    pol_st_file f;
    assert_int_equal(pol_st_load(path, NULL, &f), POL_OK);
    assert_int_equal(f.n, NSMALL);
    for (size_t i = 1; i < f.n; i++)
        assert_true(strcmp(f.tensors[i - 1].name, f.tensors[i].name) < 0);
    for (int i = 0; i < NSMALL; i++) {
        const pol_tensor *t = pol_st_get(&f, ts[i].name);
        assert_non_null(t);
        assert_tensor_equal(t, &ts[i]);
        assert_int_equal((uintptr_t)t->data % 64, 0);
        assert_int_equal(t->owns, 1);
    }
    assert_null(pol_st_get(&f, "missing"));
    assert_null(pol_st_get(&f, "__metadata__"));
    assert_int_equal(f.n_meta, 3);
    assert_string_equal(pol_st_meta(&f, "step"), "12");
    assert_string_equal(pol_st_meta(&f, "format"), "pt");
    assert_string_equal(pol_st_meta(&f, "note"), meta[5]);
    assert_null(pol_st_meta(&f, "nope"));
    assert_string_equal(f.meta[0], "format"); /* sorted by key */

    /* the file is exactly the in-memory image, and parses the same */
    uint8_t *img, *fb;
    size_t il, fl;
    assert_int_equal(pol_st_serialize(p, NSMALL, meta, 3, &img, &il), POL_OK);
    assert_int_equal(pol_read_file(path, 1 << 20, &fb, &fl), POL_OK);
    assert_int_equal(il, fl);
    assert_memory_equal(img, fb, il);
    assert_int_equal(fb[fl], 0); /* the extra NUL */
    /* [E-ST-4] header padded with spaces to a multiple of 8 */
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | img[i];
    assert_int_equal(hl % 8, 0);
    assert_int_equal(img[8], '{');
    pol_st_file g;
    assert_int_equal(pol_st_parse(img, il, NULL, &g), POL_OK);
    assert_int_equal(g.n, f.n);
    for (size_t i = 0; i < f.n; i++)
        assert_tensor_equal(&f.tensors[i], &g.tensors[i]);
    /* input order does not change the bytes */
    const pol_tensor *rev[NSMALL];
    for (int i = 0; i < NSMALL; i++)
        rev[i] = p[NSMALL - 1 - i];
    const char *meta2[] = {"note", meta[5], "step", "12", "format", "pt"};
    uint8_t *img2;
    size_t il2;
    assert_int_equal(pol_st_serialize(rev, NSMALL, meta2, 3, &img2, &il2), POL_OK);
    assert_int_equal(il, il2);
    assert_memory_equal(img, img2, il);

    /* no tensors, no metadata */
    uint8_t *e;
    size_t el;
    assert_int_equal(pol_st_serialize(NULL, 0, NULL, 0, &e, &el), POL_OK);
    assert_int_equal(el, 16);
    assert_memory_equal(e + 8, "{}      ", 8);
    pol_st_file h;
    assert_int_equal(pol_st_parse(e, el, NULL, &h), POL_OK);
    assert_int_equal(h.n, 0);
    pol_st_free(&h);
    pol_st_free(&h); /* twice is safe */

    free(e);
    free(img);
    free(img2);
    free(fb);
    pol_st_free(&f);
    pol_st_free(&g);
    free_set(ts, NSMALL);
    rm_rf(dir);
}

/* Many random tensors through the file path (sizes up to a few MiB). */
static void test_round_trip_random(void **st)
{
    (void)st;
    enum { N = 50 };
    pol_tensor ts[N];
    const pol_tensor *p[N];
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%03d.%c", (int)(tu_next(&R) % 1000), 'a' + i % 26);
        snprintf(name + strlen(name), sizeof name - strlen(name), "%d", i);
        int nd = (int)(tu_next(&R) % 5);
        int64_t shape[4];
        for (int d = 0; d < nd; d++)
            shape[d] = (int64_t)(tu_next(&R) % (d == 0 ? 300 : 9));
        make_tensor(&ts[i], name, (pol_dtype)(1 + tu_next(&R) % 4), nd, shape);
        p[i] = &ts[i];
    }
    const char *dir = tu_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/sub/dir/r.safetensors", dir);
    char sub[600];
    snprintf(sub, sizeof sub, "%s/sub/dir", dir);
    assert_int_equal(pol_mkdir_p(sub), POL_OK);
    assert_int_equal(pol_st_save(path, p, N, NULL, 0, 1), POL_OK);
    pol_st_file f;
    assert_int_equal(pol_st_load(path, NULL, &f), POL_OK);
    assert_int_equal(f.n, N);
    assert_int_equal(f.n_meta, 0);
    for (int i = 0; i < N; i++) {
        const pol_tensor *t = pol_st_get(&f, ts[i].name);
        assert_non_null(t);
        assert_tensor_equal(t, &ts[i]);
    }
    pol_st_free(&f);
    free_set(ts, N);
    rm_rf(dir);
}

/* The writer's exact bytes match the independent Python writer. [E-ST-2]
 * [E-ST-3] [E-ST-4] */
static void test_golden_file(void **st)
{
    (void)st;
    const char *vd = getenv("POL_VECTORS");
    char vpath[512];
    snprintf(vpath, sizeof vpath, "%s/encoding.json", vd && *vd ? vd : "spec/vectors");
    json_error_t err;
    json_t *v = json_load_file(vpath, 0, &err);
    if (!v)
        fail_msg("cannot load %s: %s", vpath, err.text);
    json_t *jt = json_object_get(v, "tensors");
    size_t n = json_array_size(jt);
    pol_tensor *ts = calloc(n, sizeof *ts);
    const pol_tensor **p = calloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(jt, i);
        json_t *shape = json_object_get(e, "shape");
        int64_t dims[4] = {0};
        for (size_t d = 0; d < json_array_size(shape); d++)
            dims[d] = json_integer_value(json_array_get(shape, d));
        assert_int_equal(
            pol_tensor_alloc(&ts[i], json_string_value(json_object_get(e, "name")),
                             pol_dtype_parse(json_string_value(json_object_get(e, "dtype"))),
                             (int)json_array_size(shape), dims),
            POL_OK);
        const char *hex = json_string_value(json_object_get(e, "data_hex"));
        assert_int_equal(strlen(hex), 2 * ts[i].nbytes);
        for (size_t k = 0; k < ts[i].nbytes; k++) {
            unsigned x;
            assert_int_equal(sscanf(hex + 2 * k, "%2x", &x), 1);
            ((uint8_t *)ts[i].data)[k] = (uint8_t)x;
        }
        p[i] = &ts[i];
    }
    json_t *jm = json_object_get(json_object_get(v, "safetensors"), "metadata");
    const char *kv[32];
    size_t nm = 0;
    const char *key;
    json_t *val;
    json_object_foreach(jm, key, val) {
        kv[2 * nm] = key;
        kv[2 * nm + 1] = json_string_value(val);
        nm++;
    }
    uint8_t *img;
    size_t il;
    assert_int_equal(pol_st_serialize(p, n, kv, nm, &img, &il), POL_OK);
    const char *want = json_string_value(json_object_get(json_object_get(v, "safetensors"),
                                                         "file_hex"));
    assert_int_equal(strlen(want), 2 * il);
    char *got = malloc(2 * il + 1);
    for (size_t i = 0; i < il; i++)
        snprintf(got + 2 * i, 3, "%02x", img[i]);
    assert_string_equal(got, want);
    pol_st_file f;
    assert_int_equal(pol_st_parse(img, il, NULL, &f), POL_OK);
    assert_int_equal(f.n, n);
    for (size_t i = 0; i < n; i++)
        assert_tensor_equal(pol_st_get(&f, ts[i].name), &ts[i]);
    pol_st_free(&f);
    free(got);
    free(img);
    for (size_t i = 0; i < n; i++)
        pol_tensor_free(&ts[i]);
    free(ts);
    free(p);
    json_decref(v);
}

/* [E-ST-12] a file in another writer's style (metadata last, tensors in
 * another data order, unpadded header, whitespace) is accepted. */
static void test_foreign_layout(void **st)
{
    (void)st;
    const char *hdr = "{ \"b\": {\"shape\": [2], \"data_offsets\": [0, 8], \"dtype\": \"F32\"},\n"
                      "  \"a\": {\"dtype\": \"U8\", \"shape\": [3], \"data_offsets\": [8, 11]},\n"
                      "  \"__metadata__\": {\"k\": \"v\"} }";
    uint8_t data[11] = {0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 7, 8, 9};
    size_t len;
    uint8_t *b = image(hdr, data, sizeof data, &len);
    pol_st_file f;
    assert_int_equal(pol_st_parse(b, len, NULL, &f), POL_OK);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.tensors[0].name, "a");
    assert_string_equal(f.tensors[1].name, "b");
    assert_memory_equal(f.tensors[0].data, data + 8, 3);
    assert_true(pol_f32(&f.tensors[1])[0] == 1.0f && pol_f32(&f.tensors[1])[1] == 2.0f);
    assert_string_equal(pol_st_meta(&f, "k"), "v");
    pol_st_free(&f);
    free(b);
}

/* ---------------------------------------------------------- corruption */

/* [E-ST-6]: every proper prefix of a valid file is refused, from memory
 * and from disk. */
static void test_truncated(void **st)
{
    (void)st;
    pol_tensor ts[NSMALL];
    const pol_tensor *p[NSMALL];
    small_set(ts, p);
    const char *meta[] = {"k", "v"};
    uint8_t *img;
    size_t il;
    assert_int_equal(pol_st_serialize(p, NSMALL, meta, 1, &img, &il), POL_OK);
    const char *dir = tu_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/t.safetensors", dir);
    for (size_t len = 0; len < il; len++) {
        pol_st_file f;
        memset(&f, 0x5a, sizeof f);
        pol_status s = pol_st_parse(len ? img : NULL, len, NULL, &f);
        if (s != POL_ERR_FORMAT)
            fail_msg("prefix %zu of %zu: status %d (%s)", len, il, (int)s, pol_last_error());
        assert_zeroed(&f);
        assert_int_equal(pol_write_file_atomic(path, img, len, 1), POL_OK);
        memset(&f, 0x5a, sizeof f);
        s = pol_st_load(path, NULL, &f);
        if (s != POL_ERR_FORMAT)
            fail_msg("file prefix %zu of %zu: status %d (%s)", len, il, (int)s,
                     pol_last_error());
        if (!strstr(pol_last_error(), path))
            fail_msg("message does not name the file: %s", pol_last_error());
        assert_zeroed(&f);
    }
    /* appended bytes are not covered by any tensor */
    uint8_t *longer = malloc(il + 1);
    memcpy(longer, img, il);
    longer[il] = 0;
    pol_st_file f;
    assert_int_equal(pol_st_parse(longer, il + 1, NULL, &f), POL_ERR_FORMAT);
    free(longer);
    free(img);
    free_set(ts, NSMALL);
    rm_rf(dir);
}

/* [E-ST-6] [E-ST-7] the header length against the caps and the file. */
static void test_header_length(void **st)
{
    (void)st;
    size_t len;
    uint8_t *b = image("{}", NULL, 0, &len);
    pol_st_file f;
    static const struct {
        uint64_t hl;
        pol_status want;
    } cases[] = {
        {UINT64_MAX, POL_ERR_TOO_LARGE},
        {(uint64_t)1 << 63, POL_ERR_TOO_LARGE},
        {((uint64_t)1 << 20) + 1, POL_ERR_TOO_LARGE},
        {(uint64_t)1 << 20, POL_ERR_FORMAT}, /* under the cap, past the end */
        {3, POL_ERR_FORMAT},
        {1, POL_ERR_FORMAT},
        {0, POL_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int k = 0; k < 8; k++)
            b[k] = (uint8_t)(cases[i].hl >> (8 * k));
        memset(&f, 0x5a, sizeof f);
        pol_status s = pol_st_parse(b, len, NULL, &f);
        if (s != cases[i].want)
            fail_msg("header length %llu: status %d (%s)", (unsigned long long)cases[i].hl,
                     (int)s, pol_last_error());
        assert_zeroed(&f);
    }
    /* a smaller header cap than the file needs */
    for (int k = 0; k < 8; k++)
        b[k] = (uint8_t)((uint64_t)2 >> (8 * k));
    pol_st_limits lim = {0};
    lim.max_header_bytes = 1;
    assert_int_equal(pol_st_parse(b, len, &lim, &f), POL_ERR_TOO_LARGE);
    lim.max_header_bytes = 0;
    lim.max_file_bytes = len - 1;
    assert_int_equal(pol_st_parse(b, len, &lim, &f), POL_ERR_TOO_LARGE);
    lim.max_file_bytes = len;
    assert_int_equal(pol_st_parse(b, len, &lim, &f), POL_OK);
    pol_st_free(&f);
    lim.max_dims = 5;
    assert_int_equal(pol_st_parse(b, len, &lim, &f), POL_ERR_INVALID_ARG);
    free(b);
}

/* [E-ST-8] .. [E-ST-12]: one malformed header per class. */
static void test_corrupt_headers(void **st)
{
    (void)st;
    const char *E4 = "\"dtype\":\"F32\",\"shape\":[1]";
    char h[512];
    /* not JSON, or not an object */
    expect_parse("{not json}", 0, NULL, POL_ERR_FORMAT);
    expect_parse("{\"a\":", 0, NULL, POL_ERR_FORMAT);
    expect_parse("[1,2]", 0, NULL, POL_ERR_FORMAT);
    expect_parse("\"str\"", 0, NULL, POL_ERR_FORMAT);
    expect_parse("{} {}", 0, NULL, POL_ERR_FORMAT);
    expect_parse("{}\xff\xfe", 0, NULL, POL_ERR_FORMAT);
    expect_parse("{\"\xc3\x28\":1}", 0, NULL, POL_ERR_FORMAT); /* bad UTF-8 */
    /* duplicate keys, at the top and inside an entry */
    snprintf(h, sizeof h, "{\"a\":{%s,\"data_offsets\":[0,4]},\"a\":{%s,\"data_offsets\":[4,8]}}",
             E4, E4);
    expect_parse(h, 8, NULL, POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],"
                 "\"data_offsets\":[0,4]}}",
                 4, NULL, POL_ERR_FORMAT);
    expect_parse("{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", 0, NULL, POL_ERR_FORMAT);
    /* dtypes: unknown, valid-but-unsupported, not a string, lower case */
    expect_parse("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, NULL,
                 POL_ERR_UNSUPPORTED);
    expect_parse("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, NULL,
                 POL_ERR_UNSUPPORTED);
    expect_parse("{\"a\":{\"dtype\":1,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, NULL,
                 POL_ERR_FORMAT);
    /* offsets: out of range, reversed, overlapping, a hole, a gap at the
     * start, uncovered bytes at the end, not integers, wrong arity */
    snprintf(h, sizeof h, "{\"a\":{%s,\"data_offsets\":[0,4]}}", E4);
    expect_parse(h, 4, NULL, POL_OK);
    expect_parse(h, 3, NULL, POL_ERR_FORMAT);
    expect_parse(h, 5, NULL, POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                 "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}",
                 6, NULL, POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                 "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
                 4, NULL, POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                 "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}}",
                 6, NULL, POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 4, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 3, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0.0,2]}}", 2, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[-2,0]}}", 2, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2,2]}}", 2, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":\"0,2\"}}", 2, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],"
                 "\"data_offsets\":[0,99999999999999999999999]}}",
                 2, NULL, POL_ERR_FORMAT);
    /* zero-size tensors may share an offset with others */
    expect_parse("{\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
                 "\"y\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                 "\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                 "\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[2,2]}}",
                 2, NULL, POL_OK);
    /* shape: size mismatch, negative, not integers, overflow, not an array */
    expect_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,4]}}", 4, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1,-1],\"data_offsets\":[0,4]}}", 4,
                 NULL, POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,4294967296],"
                 "\"data_offsets\":[0,0]}}",
                 0, NULL, POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U64\",\"shape\":[2305843009213693952],"
                 "\"data_offsets\":[0,0]}}",
                 0, NULL, POL_ERR_FORMAT); /* 2^61 * 8 wraps to 0 */
    expect_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4, NULL,
                 POL_ERR_FORMAT);
    /* too many dimensions */
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
                 NULL, POL_ERR_TOO_LARGE);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1],\"data_offsets\":[0,1]}}", 1,
                 NULL, POL_OK);
    pol_st_limits lim = {0};
    lim.max_dims = 2;
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1],\"data_offsets\":[0,1]}}", 1, &lim,
                 POL_ERR_TOO_LARGE);
    /* entries: unknown key, missing key, not an object */
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":0}}", 1,
                 NULL, POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, NULL, POL_ERR_FORMAT);
    expect_parse("{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, NULL, POL_ERR_FORMAT);
    expect_parse("{\"a\":[\"U8\",[1],[0,1]]}", 1, NULL, POL_ERR_FORMAT);
    /* names */
    expect_parse("{\"a b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, NULL,
                 POL_ERR_FORMAT);
    expect_parse("{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                 NULL, POL_ERR_FORMAT);
    expect_parse("{\"caf\xc3\xa9\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                 NULL, POL_ERR_FORMAT);
    char longname[80];
    memset(longname, 'n', 64);
    longname[64] = 0;
    snprintf(h, sizeof h, "{\"%s\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
             longname);
    expect_parse(h, 1, NULL, POL_ERR_FORMAT);
    longname[63] = 0;
    snprintf(h, sizeof h, "{\"%s\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
             longname);
    expect_parse(h, 1, NULL, POL_OK);
    /* metadata: non-string values, not an object */
    expect_parse("{\"__metadata__\":{\"a\":1}}", 0, NULL, POL_ERR_FORMAT);
    expect_parse("{\"__metadata__\":{\"a\":\"x\",\"b\":null}}", 0, NULL, POL_ERR_FORMAT);
    expect_parse("{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}", 0, NULL, POL_ERR_FORMAT);
    expect_parse("{\"__metadata__\":[\"a\",\"b\"]}", 0, NULL, POL_ERR_FORMAT);
    expect_parse("{\"__metadata__\":\"x\"}", 0, NULL, POL_ERR_FORMAT);
    expect_parse("{\"__metadata__\":{\"a\":\"\\u0000\"}}", 0, NULL, POL_ERR_FORMAT);
    expect_parse("{\"__metadata__\":{}}", 0, NULL, POL_OK);
    /* too many tensors */
    lim = (pol_st_limits){0};
    lim.max_tensors = 2;
    const char *three = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                        "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
                        "\"c\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}";
    expect_parse(three, 3, &lim, POL_ERR_TOO_LARGE);
    lim.max_tensors = 3;
    expect_parse(three, 3, &lim, POL_OK);
}

/* The default tensor cap: 8193 zero-size tensors are refused, 8192 pass.
 * Also: many overlapping whole-buffer claims allocate nothing. */
static void test_tensor_count_cap(void **st)
{
    (void)st;
    for (int n = POL_ST_DEFAULT_MAX_TENSORS; n <= POL_ST_DEFAULT_MAX_TENSORS + 1; n++) {
        size_t cap = (size_t)n * 64 + 16, at = 0;
        char *h = malloc(cap);
        h[at++] = '{';
        for (int i = 0; i < n; i++)
            at += (size_t)snprintf(h + at, cap - at,
                                   "%s\"t%d\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":"
                                   "[0,0]}",
                                   i ? "," : "", i);
        h[at++] = '}';
        h[at] = 0;
        expect_parse(h, 0, NULL, n == POL_ST_DEFAULT_MAX_TENSORS ? POL_OK : POL_ERR_TOO_LARGE);
        free(h);
    }
}

/* Random byte flips and truncations of a valid file: never a crash, and a
 * failure always leaves the output zeroed. (Run under valgrind or ASan for
 * the memory half of the claim.) */
static void test_mutations(void **st)
{
    (void)st;
    pol_tensor ts[NSMALL];
    const pol_tensor *p[NSMALL];
    small_set(ts, p);
    const char *meta[] = {"k", "v", "step", "3"};
    uint8_t *img;
    size_t il;
    assert_int_equal(pol_st_serialize(p, NSMALL, meta, 2, &img, &il), POL_OK);
    uint8_t *m = malloc(il);
    int ok = 0, bad = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(m, img, il);
        int flips = 1 + (int)(tu_next(&R) % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)(tu_next(&R) % il);
            /* mostly inside the header, where the parser is */
            if (tu_next(&R) % 4)
                at = 8 + (size_t)(tu_next(&R) % (m[0] | (size_t)m[1] << 8));
            if (at >= il)
                at = il - 1;
            m[at] = (uint8_t)tu_next(&R);
        }
        size_t len = tu_next(&R) % 8 ? il : (size_t)(tu_next(&R) % (il + 1));
        pol_st_file f;
        pol_status s = pol_st_parse(m, len, NULL, &f);
        if (s == POL_OK) {
            ok++;
            pol_st_free(&f);
        } else {
            bad++;
            assert_zeroed(&f);
            assert_true(s == POL_ERR_FORMAT || s == POL_ERR_TOO_LARGE ||
                        s == POL_ERR_UNSUPPORTED);
        }
    }
    assert_true(bad > 0);
    (void)ok;
    free(m);
    free(img);
    free_set(ts, NSMALL);
}

/* --------------------------------------------------------------- writer */

static void test_writer_rejects(void **st)
{
    (void)st;
    pol_tensor ts[NSMALL];
    const pol_tensor *p[NSMALL];
    small_set(ts, p);
    uint8_t *img = (uint8_t *)1;
    size_t il = 7;
    /* duplicate names */
    const pol_tensor *dup[3] = {p[0], p[1], p[0]};
    assert_int_equal(pol_st_serialize(dup, 3, NULL, 0, &img, &il), POL_ERR_INVALID_ARG);
    assert_null(img);
    assert_int_equal(il, 0);
    /* a tensor called __metadata__ */
    pol_tensor meta_named = ts[3];
    meta_named.owns = 0;
    strcpy(meta_named.name, "__metadata__");
    const pol_tensor *mn[1] = {&meta_named};
    assert_int_equal(pol_st_serialize(mn, 1, NULL, 0, &img, &il), POL_ERR_INVALID_ARG);
    /* malformed tensor */
    pol_tensor badt = ts[0];
    badt.owns = 0;
    badt.nbytes--;
    const pol_tensor *bt[1] = {&badt};
    assert_int_equal(pol_st_serialize(bt, 1, NULL, 0, &img, &il), POL_ERR_INVALID_ARG);
    const pol_tensor *nul[1] = {NULL};
    assert_int_equal(pol_st_serialize(nul, 1, NULL, 0, &img, &il), POL_ERR_INVALID_ARG);
    /* metadata: duplicate keys, NULL, bad UTF-8 */
    const char *m1[] = {"a", "1", "b", "2", "a", "3"};
    assert_int_equal(pol_st_serialize(p, NSMALL, m1, 3, &img, &il), POL_ERR_INVALID_ARG);
    const char *m2[] = {"a", NULL};
    assert_int_equal(pol_st_serialize(p, NSMALL, m2, 1, &img, &il), POL_ERR_INVALID_ARG);
    const char *m3[] = {"a", "\xc3\x28"};
    assert_int_equal(pol_st_serialize(p, NSMALL, m3, 1, &img, &il), POL_ERR_INVALID_ARG);
    const char *m4[] = {"\xed\xa0\x80", "surrogate"};
    assert_int_equal(pol_st_serialize(p, NSMALL, m4, 1, &img, &il), POL_ERR_INVALID_ARG);
    const char *m5[] = {"a", "\xc0\xaf"}; /* overlong */
    assert_int_equal(pol_st_serialize(p, NSMALL, m5, 1, &img, &il), POL_ERR_INVALID_ARG);
    /* a header over the 1 MiB cap is never written */
    size_t big = (size_t)1 << 20;
    char *v = malloc(big + 1);
    memset(v, 'x', big);
    v[big] = 0;
    const char *m6[] = {"big", v};
    assert_int_equal(pol_st_serialize(p, NSMALL, m6, 1, &img, &il), POL_ERR_TOO_LARGE);
    free(v);
    free_set(ts, NSMALL);
}

/* ------------------------------------------------------------- file I/O */

/* [E-ST-14] atomic replacement: overwrite = 0 refuses and leaves the file
 * as it was; failures leave no temporary file. */
static void test_atomic_write(void **st)
{
    (void)st;
    const char *dir = tu_tmpdir();
    char path[600], other[600];
    snprintf(path, sizeof path, "%s/a.safetensors", dir);
    pol_tensor ts[NSMALL];
    const pol_tensor *p[NSMALL];
    small_set(ts, p);

    assert_int_equal(pol_write_file_atomic(path, "original", 8, 0), POL_OK);
    assert_int_equal(pol_st_save(path, p, NSMALL, NULL, 0, 0), POL_ERR_EXISTS);
    assert_non_null(strstr(pol_last_error(), path));
    assert_int_equal(pol_write_file_atomic(path, "new", 3, 0), POL_ERR_EXISTS);
    uint8_t *b;
    size_t n;
    assert_int_equal(pol_read_file(path, 100, &b, &n), POL_OK);
    assert_int_equal(n, 8);
    assert_memory_equal(b, "original", 8);
    free(b);
    assert_int_equal(count_dir_entries(dir), 1);

    /* overwrite = 1 replaces */
    assert_int_equal(pol_st_save(path, p, NSMALL, NULL, 0, 1), POL_OK);
    pol_st_file f;
    assert_int_equal(pol_st_load(path, NULL, &f), POL_OK);
    assert_int_equal(f.n, NSMALL);
    pol_st_free(&f);
    assert_int_equal(count_dir_entries(dir), 1);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644);

    /* a dangling symlink counts as existing for overwrite = 0 */
    snprintf(other, sizeof other, "%s/link", dir);
    assert_int_equal(symlink("nowhere", other), 0);
    assert_int_equal(pol_write_file_atomic(other, "x", 1, 0), POL_ERR_EXISTS);

    /* nonexistent directory */
    snprintf(other, sizeof other, "%s/missing/x.safetensors", dir);
    assert_int_equal(pol_st_save(other, p, NSMALL, NULL, 0, 1), POL_ERR_IO);
    assert_non_null(strstr(pol_last_error(), other));
    /* a regular file used as a directory */
    snprintf(other, sizeof other, "%s/a.safetensors/x", dir);
    assert_int_equal(pol_st_save(other, p, NSMALL, NULL, 0, 0), POL_ERR_IO);
    /* the rename fails (target is a non-empty directory): temp file removed */
    snprintf(other, sizeof other, "%s/d", dir);
    assert_int_equal(mkdir(other, 0755), 0);
    char inner[700];
    snprintf(inner, sizeof inner, "%s/keep", other);
    assert_int_equal(pol_write_file_atomic(inner, "k", 1, 0), POL_OK);
    assert_int_equal(pol_st_save(other, p, NSMALL, NULL, 0, 1), POL_ERR_IO);
    assert_false(has_temp_file(dir));
    /* an unwritable directory (permission checks do not bind root) */
    snprintf(other, sizeof other, "%s/ro", dir);
    assert_int_equal(mkdir(other, 0555), 0);
    snprintf(inner, sizeof inner, "%s/x.safetensors", other);
    if (geteuid() != 0) {
        assert_int_equal(pol_st_save(inner, p, NSMALL, NULL, 0, 1), POL_ERR_IO);
        assert_int_equal(count_dir_entries(other), 0);
    }
    assert_false(has_temp_file(dir));
    assert_int_equal(count_dir_entries(dir), 4); /* a.safetensors, link, d, ro */

    assert_int_equal(pol_st_load(other, NULL, &f), POL_ERR_IO); /* a directory */
    snprintf(other, sizeof other, "%s/none.safetensors", dir);
    assert_int_equal(pol_st_load(other, NULL, &f), POL_ERR_NOT_FOUND);
    assert_zeroed(&f);
    free_set(ts, NSMALL);
    rm_rf(dir);
}

static void test_read_file(void **st)
{
    (void)st;
    const char *dir = tu_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/f", dir);
    size_t n = 200000;
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)tu_next(&R);
    assert_int_equal(pol_write_file_atomic(path, data, n, 0), POL_OK);
    uint8_t *b = (uint8_t *)1;
    size_t len = 9;
    assert_int_equal(pol_read_file(path, n, &b, &len), POL_OK);
    assert_int_equal(len, n);
    assert_memory_equal(b, data, n);
    assert_int_equal(b[n], 0);
    free(b);
    /* over the cap: refused before reading, outputs cleared */
    b = (uint8_t *)1;
    len = 9;
    assert_int_equal(pol_read_file(path, n - 1, &b, &len), POL_ERR_TOO_LARGE);
    assert_null(b);
    assert_int_equal(len, 0);
    assert_non_null(strstr(pol_last_error(), path));
    /* missing file, a directory */
    char missing[700];
    snprintf(missing, sizeof missing, "%s/none", dir);
    assert_int_equal(pol_read_file(missing, n, &b, &len), POL_ERR_NOT_FOUND);
    assert_non_null(strstr(pol_last_error(), missing));
    assert_int_equal(pol_read_file(dir, n, &b, &len), POL_ERR_IO);
    /* an empty file */
    assert_int_equal(pol_write_file_atomic(path, NULL, 0, 1), POL_OK);
    assert_int_equal(pol_read_file(path, 0, &b, &len), POL_OK);
    assert_int_equal(len, 0);
    assert_int_equal(b[0], 0);
    free(b);
    /* a file whose size stat cannot tell (procfs reports 0) */
    if (access("/proc/self/status", R_OK) == 0) {
        assert_int_equal(pol_read_file("/proc/self/status", 1 << 20, &b, &len), POL_OK);
        assert_true(len > 0);
        assert_non_null(strstr((char *)b, "Pid:"));
        free(b);
        assert_int_equal(pol_read_file("/proc/self/status", 10, &b, &len), POL_ERR_TOO_LARGE);
    }
    free(data);
    rm_rf(dir);
}

static void test_mkdir_p(void **st)
{
    (void)st;
    const char *dir = tu_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/a/b//c/d/", dir);
    assert_int_equal(pol_mkdir_p(path), POL_OK);
    assert_int_equal(pol_mkdir_p(path), POL_OK); /* existing is fine */
    struct stat sb;
    snprintf(path, sizeof path, "%s/a/b/c/d", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    snprintf(path, sizeof path, "%s/file", dir);
    assert_int_equal(pol_write_file_atomic(path, "x", 1, 0), POL_OK);
    assert_int_equal(pol_mkdir_p(path), POL_ERR_IO);
    snprintf(path, sizeof path, "%s/file/sub", dir);
    assert_int_equal(pol_mkdir_p(path), POL_ERR_IO);
    assert_int_equal(pol_mkdir_p(""), POL_ERR_INVALID_ARG);
    rm_rf(dir);
}

/* ----------------------------------------------------------- datasets -- */

/* Writes a dataset file of the given tensors (NULL entries left out). */
static void write_dataset(const char *path, pol_tensor *const *ts, size_t n)
{
    const pol_tensor *keep[4];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ts[i])
            keep[k++] = ts[i];
    assert_int_equal(pol_st_save(path, keep, k, NULL, 0, 1), POL_OK);
}

/* pol_dataset_load takes a dataset only when its splits agree with each
 * other and with the model: features F32 (N, dim), labels I32 (N) each in
 * [0, classes). Labels out of range would index past a row of logits, so
 * each refusal is checked, with *ds left zeroed. */
static void test_dataset_rejects(void **st)
{
    (void)st;
    char path[1100];
    snprintf(path, sizeof path, "%s/ds.safetensors", tu_tmpdir());
    pol_tensor tx, ty, vx, vy, tx_i, ty_short, vx_dim2, tx_empty, ty_empty;
    assert_int_equal(pol_tensor_alloc(&tx, "train_x", POL_F32, 2, (int64_t[]){ 5, 3 }), POL_OK);
    assert_int_equal(pol_tensor_alloc(&ty, "train_y", POL_I32, 1, (int64_t[]){ 5 }), POL_OK);
    assert_int_equal(pol_tensor_alloc(&vx, "test_x", POL_F32, 2, (int64_t[]){ 2, 3 }), POL_OK);
    assert_int_equal(pol_tensor_alloc(&vy, "test_y", POL_I32, 1, (int64_t[]){ 2 }), POL_OK);
    assert_int_equal(pol_tensor_alloc(&tx_i, "train_x", POL_I32, 2, (int64_t[]){ 5, 3 }), POL_OK);
    assert_int_equal(pol_tensor_alloc(&ty_short, "train_y", POL_I32, 1, (int64_t[]){ 4 }), POL_OK);
    assert_int_equal(pol_tensor_alloc(&vx_dim2, "test_x", POL_F32, 2, (int64_t[]){ 2, 2 }), POL_OK);
    assert_int_equal(pol_tensor_alloc(&tx_empty, "train_x", POL_F32, 2, (int64_t[]){ 0, 3 }), POL_OK);
    assert_int_equal(pol_tensor_alloc(&ty_empty, "train_y", POL_I32, 1, (int64_t[]){ 0 }), POL_OK);
    for (int i = 0; i < 5; i++) pol_i32(&ty)[i] = i % 4;
    for (int i = 0; i < 2; i++) pol_i32(&vy)[i] = 3 - i;
    pol_dataset ds;
    /* accepted, with and without a test split */
    write_dataset(path, (pol_tensor *[]){ &tx, &ty, &vx, &vy }, 4);
    assert_int_equal(pol_dataset_load(path, NULL, 3, 4, &ds), POL_OK);
    assert_int_equal(ds.n_train, 5);
    assert_int_equal(ds.n_test, 2);
    assert_int_equal(ds.dim, 3);
    pol_dataset_free(&ds);
    write_dataset(path, (pol_tensor *[]){ &tx, &ty }, 2);
    assert_int_equal(pol_dataset_load(path, NULL, 0, 4, &ds), POL_OK);
    assert_int_equal(ds.n_test, 0);
    assert_null(ds.test_x.data);
    pol_dataset_free(&ds);
    static const struct {
        int set; /* which tensors: see the switch */
        int64_t dim, classes;
        int label; /* >= 0: train_y[2] = label - 1 (so 0 is -1) */
        pol_status want;
        const char *msg;
    } cases[] = {
        { 0, 3, 4, -1, POL_ERR_FORMAT, "no tensor train_y" },
        { 1, 3, 4, -1, POL_ERR_SHAPE, "train_x must be F32 with 2 dimensions" },
        { 2, 3, 4, -1, POL_ERR_SHAPE, "train has 5 samples but 4 labels" },
        { 3, 4, 4, -1, POL_ERR_SHAPE, "train features have dimension 3, the model wants 4" },
        { 3, 3, 4, 5, POL_ERR_FORMAT, "train label 4 at 2 not in [0, 4)" },
        { 3, 3, 4, 0, POL_ERR_FORMAT, "train label -1 at 2 not in [0, 4)" },
        { 4, 3, 4, -1, POL_ERR_SHAPE, "test features have dimension 2, the model wants 3" },
        { 5, 3, 4, -1, POL_ERR_FORMAT, "no tensor test_y" },
        { 6, 3, 4, -1, POL_ERR_FORMAT, "no training samples" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        pol_tensor *set[4] = { 0 };
        switch (cases[c].set) {
        case 0: set[0] = &tx; break;
        case 1: set[0] = &tx_i, set[1] = &ty; break;
        case 2: set[0] = &tx, set[1] = &ty_short; break;
        case 3: set[0] = &tx, set[1] = &ty; break;
        case 4: set[0] = &tx, set[1] = &ty, set[2] = &vx_dim2, set[3] = &vy; break;
        case 5: set[0] = &tx, set[1] = &ty, set[2] = &vx; break;
        case 6: set[0] = &tx_empty, set[1] = &ty_empty; break;
        }
        const int32_t keep = pol_i32(&ty)[2];
        if (cases[c].label >= 0)
            pol_i32(&ty)[2] = cases[c].label - 1;
        write_dataset(path, set, 4);
        pol_i32(&ty)[2] = keep;
        memset(&ds, 0x5a, sizeof ds);
        const pol_status got = pol_dataset_load(path, NULL, cases[c].dim, cases[c].classes, &ds);
        if (got != cases[c].want || !strstr(pol_last_error(), cases[c].msg))
            fail_msg("case %zu: want %s saying \"%s\", got %s (%s)", c,
                     pol_strerror(cases[c].want), cases[c].msg, pol_strerror(got),
                     got ? pol_last_error() : "");
        assert_null(ds.train_x.data);
        assert_null(ds.train_y.data);
        assert_int_equal(ds.n_train, 0);
    }
    pol_tensor *all[] = { &tx, &ty, &vx, &vy, &tx_i, &ty_short, &vx_dim2, &tx_empty, &ty_empty };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        pol_tensor_free(all[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_golden_file),
        cmocka_unit_test(test_foreign_layout),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_header_length),
        cmocka_unit_test(test_corrupt_headers),
        cmocka_unit_test(test_tensor_count_cap),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_mkdir_p),
        cmocka_unit_test(test_dataset_rejects),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
