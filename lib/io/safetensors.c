/* safetensors writer and hardened reader. The profile is normative in
 * spec/encoding.md, section "Safetensors profile". */
#include "pol/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>

#include "json_file.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pol/fileio.h"

/* Tensor bytes are written and read as they lie in memory. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libpol requires a little-endian host (tensor bytes are stored as they lie in memory)"
#endif

#define META_KEY "__metadata__"
#define BUF_NAME "safetensors buffer"

/* ------------------------------------------------------------ utilities */

static void put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF,
 * no NUL (the strings are C strings). */
static int utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s;
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0; /* also stops at the NUL */
            cp = cp << 6 | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        s += n + 1;
    }
    return 1;
}

/* A name from a hostile file, made safe to quote in a message. */
static const char *printable(const char *s, char out[72])
{
    size_t i = 0;
    for (; s[i] && i < 64; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
    if (s[i] && i == 64) {
        memcpy(out + i, "...", 4);
        return out;
    }
    out[i] = '\0';
    return out;
}

/* Safetensors dtypes that are valid but that libpol does not handle. */
static int known_foreign_dtype(const char *s)
{
    static const char *const names[] = {"BOOL",    "U16",     "U32",     "I8",      "I16",
                                        "I64",     "F16",     "BF16",    "F64",     "F8_E4M3",
                                        "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4",
                                        "C64"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i]))
            return 1;
    return 0;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_tensor_ptr(const void *a, const void *b)
{
    return strcmp((*(const pol_tensor *const *)a)->name, (*(const pol_tensor *const *)b)->name);
}

/* Orders pointers to key/value pairs by key. */
static int cmp_pair_ptr(const void *a, const void *b)
{
    return strcmp((*(const char *const *const *)a)[0], (*(const char *const *const *)b)[0]);
}

/* Re-records the current error message with a prefix (the message buffer
 * cannot be both source and destination of one pol_errorf). */
static pol_status prefix_error(pol_status st, const char *prefix)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", pol_last_error());
    return pol_errorf(st, "%s: %s", prefix, msg);
}

/* Checks that a caller's tensor is well formed, so it can be written. */
static pol_status tensor_ok(const pol_tensor *t)
{
    if (!t)
        return pol_errorf(POL_ERR_INVALID_ARG, "safetensors: NULL tensor");
    if (!pol_name_valid(t->name))
        return pol_errorf(POL_ERR_INVALID_ARG, "safetensors: invalid tensor name");
    if (!strcmp(t->name, META_KEY))
        return pol_errorf(POL_ERR_INVALID_ARG, "safetensors: a tensor may not be called %s",
                          META_KEY);
    size_t bytes = pol_dtype_size(t->dtype);
    if (bytes == 0)
        return pol_errorf(POL_ERR_INVALID_ARG, "safetensors: tensor %s: unknown dtype %d",
                          t->name, (int)t->dtype);
    if (t->ndim < 0 || t->ndim > POL_MAX_DIMS)
        return pol_errorf(POL_ERR_INVALID_ARG, "safetensors: tensor %s: ndim %d", t->name,
                          t->ndim);
    int overflow = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0)
            return pol_errorf(POL_ERR_INVALID_ARG,
                              "safetensors: tensor %s: dimension %d is negative", t->name, i);
        if (__builtin_mul_overflow(bytes, (uint64_t)t->shape[i], &bytes))
            overflow = 1;
    }
    if (overflow || bytes != t->nbytes)
        return pol_errorf(POL_ERR_INVALID_ARG,
                          "safetensors: tensor %s: nbytes %zu does not match shape and dtype",
                          t->name, t->nbytes);
    if (!t->data && t->nbytes)
        return pol_errorf(POL_ERR_INVALID_ARG, "safetensors: tensor %s: NULL data", t->name);
    return POL_OK;
}

/* --------------------------------------------------------------- writer */

/* A growing string; `oom` latches the first allocation failure. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_u64(sbuf *b, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    sb_put(b, tmp, (size_t)n);
}

/* A JSON string: '"' and '\' escaped with a backslash, bytes below 0x20 as
 * \u00xx, everything else (valid UTF-8) as is. [E-ST-3] */
static void sb_json_string(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_put(b, esc, 2);
        } else if (c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_put(b, esc, 6);
        } else {
            sb_put(b, s, 1);
        }
    }
    sb_put(b, "\"", 1);
}

/* The pieces of a file about to be written: the 8-byte length plus the
 * padded header in `head`, then each tensor's data in `order`. */
typedef struct st_plan {
    sbuf head;                 /* 8-byte length, then the header */
    const pol_tensor **order;  /* (n) tensors in name order = file order */
    size_t n;
    uint64_t data_len;
} st_plan;

static void plan_free(st_plan *pl)
{
    free(pl->head.p);
    free(pl->order);
    memset(pl, 0, sizeof *pl);
}

static pol_status plan_build(const pol_tensor *const *tensors, size_t n,
                             const char *const *meta_kv, size_t n_meta, st_plan *pl)
{
    memset(pl, 0, sizeof *pl);
    if ((!tensors && n) || (!meta_kv && n_meta))
        return pol_errorf(POL_ERR_INVALID_ARG, "safetensors: NULL tensors or metadata");
    if (n > POL_ST_DEFAULT_MAX_TENSORS)
        return pol_errorf(POL_ERR_TOO_LARGE, "safetensors: %zu tensors exceeds the cap of %d", n,
                          POL_ST_DEFAULT_MAX_TENSORS);
    if (n_meta > POL_ST_DEFAULT_MAX_HEADER)
        return pol_errorf(POL_ERR_TOO_LARGE, "safetensors: %zu metadata entries", n_meta);
    for (size_t i = 0; i < n; i++) {
        pol_status st = tensor_ok(tensors[i]);
        if (st != POL_OK)
            return st;
    }
    for (size_t i = 0; i < 2 * n_meta; i++) {
        if (!meta_kv[i])
            return pol_errorf(POL_ERR_INVALID_ARG, "safetensors: NULL metadata string");
        if (!utf8_valid(meta_kv[i]))
            return pol_errorf(POL_ERR_INVALID_ARG,
                              "safetensors: metadata %s %zu is not valid UTF-8",
                              i % 2 ? "value" : "key", i / 2);
    }

    pol_status st = POL_OK;
    const char *const **pairs = NULL; /* (n_meta) pointers to key/value pairs, sorted by key */
    pl->order = malloc((n ? n : 1) * sizeof *pl->order);
    pairs = malloc((n_meta ? n_meta : 1) * sizeof *pairs);
    if (!pl->order || !pairs) {
        st = pol_errorf(POL_ERR_NOMEM, "safetensors: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_meta; i++)
        pairs[i] = meta_kv + 2 * i;
    qsort(pairs, n_meta, sizeof *pairs, cmp_pair_ptr);
    for (size_t i = 1; i < n_meta; i++)
        if (!strcmp(pairs[i - 1][0], pairs[i][0])) {
            char pr[72];
            st = pol_errorf(POL_ERR_INVALID_ARG, "safetensors: duplicate metadata key \"%s\"",
                            printable(pairs[i][0], pr));
            goto out;
        }
    pl->n = n;
    if (n)
        memcpy(pl->order, tensors, n * sizeof *pl->order);
    qsort(pl->order, n, sizeof *pl->order, cmp_tensor_ptr);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(pl->order[i - 1]->name, pl->order[i]->name)) {
            st = pol_errorf(POL_ERR_INVALID_ARG, "safetensors: duplicate tensor name %s",
                            pl->order[i]->name);
            goto out;
        }

    /* [E-ST-2] [E-ST-3] the header. */
    sbuf *h = &pl->head;
    sb_put(h, "\0\0\0\0\0\0\0\0", 8); /* the length, filled in below */
    sb_put(h, "{", 1);
    if (n_meta) {
        sb_puts(h, "\"" META_KEY "\":{");
        for (size_t i = 0; i < n_meta; i++) {
            if (i)
                sb_put(h, ",", 1);
            sb_json_string(h, pairs[i][0]);
            sb_put(h, ":", 1);
            sb_json_string(h, pairs[i][1]);
        }
        sb_put(h, "}", 1);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const pol_tensor *t = pl->order[i];
        if (n_meta || i)
            sb_put(h, ",", 1);
        sb_json_string(h, t->name);
        sb_puts(h, ":{\"dtype\":\"");
        sb_puts(h, pol_dtype_name(t->dtype));
        sb_puts(h, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d)
                sb_put(h, ",", 1);
            sb_u64(h, (uint64_t)t->shape[d]);
        }
        sb_puts(h, "],\"data_offsets\":[");
        sb_u64(h, off);
        sb_put(h, ",", 1);
        off += t->nbytes;
        sb_u64(h, off);
        sb_puts(h, "]}");
    }
    sb_put(h, "}", 1);
    while (!h->oom && h->len % 8) /* [E-ST-4] */
        sb_put(h, " ", 1);
    if (h->oom) {
        st = pol_errorf(POL_ERR_NOMEM, "safetensors: out of memory for the header");
        goto out;
    }
    if (h->len - 8 > POL_ST_DEFAULT_MAX_HEADER) {
        st = pol_errorf(POL_ERR_TOO_LARGE,
                        "safetensors: header of %zu bytes exceeds the cap of %llu", h->len - 8,
                        (unsigned long long)POL_ST_DEFAULT_MAX_HEADER);
        goto out;
    }
    put_u64le((uint8_t *)h->p, (uint64_t)(h->len - 8));
    pl->data_len = off;
out:
    free(pairs);
    if (st != POL_OK)
        plan_free(pl);
    return st;
}

pol_status pol_st_serialize(const pol_tensor *const *tensors, size_t n,
                            const char *const *meta_kv, size_t n_meta, uint8_t **buf,
                            size_t *len)
{
    if (!buf || !len)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_st_serialize: NULL output");
    *buf = NULL;
    *len = 0;
    st_plan pl;
    pol_status st = plan_build(tensors, n, meta_kv, n_meta, &pl);
    if (st != POL_OK)
        return st;
    size_t total = pl.head.len + (size_t)pl.data_len;
    uint8_t *b = malloc(total ? total : 1);
    if (!b) {
        plan_free(&pl);
        return pol_errorf(POL_ERR_NOMEM, "safetensors: cannot allocate %zu bytes", total);
    }
    memcpy(b, pl.head.p, pl.head.len);
    size_t p = pl.head.len;
    for (size_t i = 0; i < pl.n; i++) {
        if (pl.order[i]->nbytes)
            memcpy(b + p, pl.order[i]->data, pl.order[i]->nbytes);
        p += pl.order[i]->nbytes;
    }
    plan_free(&pl);
    *buf = b;
    *len = total;
    return POL_OK;
}

pol_status pol_st_save(const char *path, const pol_tensor *const *tensors, size_t n,
                       const char *const *meta_kv, size_t n_meta, int overwrite)
{
    if (!path || !*path)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_st_save: empty path");
    st_plan pl;
    pol_status st = plan_build(tensors, n, meta_kv, n_meta, &pl);
    if (st != POL_OK)
        return prefix_error(st, path);
    pol_iovec *parts = malloc((n + 1) * sizeof *parts);
    if (!parts) {
        plan_free(&pl);
        return pol_errorf(POL_ERR_NOMEM, "%s: out of memory", path);
    }
    parts[0] = (pol_iovec){pl.head.p, pl.head.len};
    for (size_t i = 0; i < n; i++)
        parts[i + 1] = (pol_iovec){pl.order[i]->data, pl.order[i]->nbytes};
    st = pol_write_file_atomicv(path, parts, n + 1, overwrite);
    free(parts);
    plan_free(&pl);
    return st;
}

/* --------------------------------------------------------------- reader */

/* One tensor entry of a header, validated but not yet allocated. */
typedef struct st_spec {
    const char *name; /* borrowed from the JSON tree */
    pol_dtype dtype;
    int ndim;
    int64_t shape[POL_MAX_DIMS];
    uint64_t begin, end;
    size_t slot; /* index in the output (name order) */
} st_spec;

typedef struct st_lim {
    uint64_t file, header;
    size_t tensors;
    int dims;
} st_lim;

static pol_status limits_resolve(const pol_st_limits *in, st_lim *out)
{
    out->file = in && in->max_file_bytes ? in->max_file_bytes : POL_ST_DEFAULT_MAX_FILE;
    out->header = in && in->max_header_bytes ? in->max_header_bytes : POL_ST_DEFAULT_MAX_HEADER;
    out->tensors = in && in->max_tensors ? in->max_tensors : POL_ST_DEFAULT_MAX_TENSORS;
    out->dims = in && in->max_dims ? in->max_dims : POL_ST_DEFAULT_MAX_DIMS;
    if (out->dims < 0 || out->dims > POL_MAX_DIMS)
        return pol_errorf(POL_ERR_INVALID_ARG, "safetensors limits: max_dims %d outside 0..%d",
                          in->max_dims, POL_MAX_DIMS);
    return POL_OK;
}

/* [E-ST-6] [E-ST-7] the first 8 bytes against the caps and the file size. */
static pol_status check_prefix(const char *src, uint64_t total, uint64_t hlen, const st_lim *lim)
{
    if (hlen > lim->header)
        return pol_errorf(POL_ERR_TOO_LARGE, "%s: header length %llu exceeds the cap of %llu",
                          src, (unsigned long long)hlen, (unsigned long long)lim->header);
    if (hlen > total - 8)
        return pol_errorf(POL_ERR_FORMAT,
                          "%s: header length %llu does not fit in a file of %llu bytes", src,
                          (unsigned long long)hlen, (unsigned long long)total);
    if (hlen < 2)
        return pol_errorf(POL_ERR_FORMAT, "%s: header length %llu is too short for JSON", src,
                          (unsigned long long)hlen);
    return POL_OK;
}

static pol_status check_total(const char *src, uint64_t total, const st_lim *lim)
{
    if (total > lim->file)
        return pol_errorf(POL_ERR_TOO_LARGE, "%s: %llu bytes exceeds the cap of %llu", src,
                          (unsigned long long)total, (unsigned long long)lim->file);
    if (total < 8)
        return pol_errorf(POL_ERR_FORMAT,
                          "%s: %llu bytes, shorter than the 8-byte header length", src,
                          (unsigned long long)total);
    return POL_OK;
}

/* A non-negative JSON integer, or -1. */
static int64_t json_uint(const json_t *v)
{
    if (!json_is_integer(v))
        return -1;
    json_int_t x = json_integer_value(v);
    return x < 0 ? -1 : (int64_t)x;
}

/* [E-ST-10] one tensor entry. */
static pol_status parse_entry(const char *src, const char *name, json_t *e, uint64_t data_len,
                              const st_lim *lim, st_spec *sp)
{
    char pr[72];
    if (!pol_name_valid(name))
        return pol_errorf(POL_ERR_FORMAT, "%s: invalid tensor name \"%s\"", src,
                          printable(name, pr));
    sp->name = name;
    if (!json_is_object(e))
        return pol_errorf(POL_ERR_FORMAT, "%s: tensor %s: entry is not a JSON object", src, name);
    json_t *dt = NULL, *shape = NULL, *offs = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(e, key, v) {
        if (!strcmp(key, "dtype"))
            dt = v;
        else if (!strcmp(key, "shape"))
            shape = v;
        else if (!strcmp(key, "data_offsets"))
            offs = v;
        else
            return pol_errorf(POL_ERR_FORMAT, "%s: tensor %s: unknown key \"%s\"", src, name,
                              printable(key, pr));
    }
    if (!dt || !shape || !offs)
        return pol_errorf(POL_ERR_FORMAT, "%s: tensor %s: missing \"%s\"", src, name,
                          !dt ? "dtype" : !shape ? "shape" : "data_offsets");

    if (!json_is_string(dt))
        return pol_errorf(POL_ERR_FORMAT, "%s: tensor %s: dtype is not a string", src, name);
    const char *ds = json_string_value(dt);
    sp->dtype = pol_dtype_parse(ds);
    if (!sp->dtype)
        return pol_errorf(known_foreign_dtype(ds) ? POL_ERR_UNSUPPORTED : POL_ERR_FORMAT,
                          "%s: tensor %s: dtype \"%s\" is %s", src, name, printable(ds, pr),
                          known_foreign_dtype(ds) ? "not supported by libpol" : "unknown");

    if (!json_is_array(shape))
        return pol_errorf(POL_ERR_FORMAT, "%s: tensor %s: shape is not an array", src, name);
    size_t nd = json_array_size(shape);
    if (nd > (size_t)lim->dims)
        return pol_errorf(POL_ERR_TOO_LARGE, "%s: tensor %s: %zu dimensions exceeds the cap of %d",
                          src, name, nd, lim->dims);
    sp->ndim = (int)nd;
    uint64_t bytes = pol_dtype_size(sp->dtype);
    int overflow = 0;
    for (size_t i = 0; i < nd; i++) {
        int64_t d = json_uint(json_array_get(shape, i));
        if (d < 0)
            return pol_errorf(POL_ERR_FORMAT,
                              "%s: tensor %s: dimension %zu is not a non-negative integer", src,
                              name, i);
        sp->shape[i] = d;
        if (__builtin_mul_overflow(bytes, (uint64_t)d, &bytes))
            overflow = 1;
    }

    if (!json_is_array(offs) || json_array_size(offs) != 2)
        return pol_errorf(POL_ERR_FORMAT, "%s: tensor %s: data_offsets is not a pair", src,
                          name);
    int64_t b = json_uint(json_array_get(offs, 0));
    int64_t en = json_uint(json_array_get(offs, 1));
    if (b < 0 || en < 0)
        return pol_errorf(POL_ERR_FORMAT,
                          "%s: tensor %s: data_offsets are not non-negative integers", src, name);
    if (b > en || (uint64_t)en > data_len)
        return pol_errorf(POL_ERR_FORMAT,
                          "%s: tensor %s: data_offsets [%lld, %lld] outside the data buffer of "
                          "%llu bytes",
                          src, name, (long long)b, (long long)en, (unsigned long long)data_len);
    sp->begin = (uint64_t)b;
    sp->end = (uint64_t)en;
    if (overflow || bytes != sp->end - sp->begin)
        return pol_errorf(POL_ERR_FORMAT,
                          "%s: tensor %s: shape and dtype %s %s, data_offsets give %llu bytes",
                          src, name, pol_dtype_name(sp->dtype),
                          overflow ? "overflow" : "need a different size",
                          (unsigned long long)(sp->end - sp->begin));
    return POL_OK;
}

static int by_begin(const void *a, const void *b)
{
    const st_spec *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static int by_spec_name(const void *a, const void *b)
{
    return strcmp(((const st_spec *)a)->name, ((const st_spec *)b)->name);
}

static pol_status parse_meta(const char *src, json_t *m, pol_st_file *out)
{
    if (!json_is_object(m))
        return pol_errorf(POL_ERR_FORMAT, "%s: %s is not a JSON object", src, META_KEY);
    size_t n = json_object_size(m);
    out->meta = calloc(2 * n + 1, sizeof *out->meta);
    if (!out->meta)
        return pol_errorf(POL_ERR_NOMEM, "%s: out of memory for metadata", src);
    const char *key;
    json_t *v;
    size_t i = 0;
    char pr[72];
    json_object_foreach(m, key, v) {
        if (!json_is_string(v))
            return pol_errorf(POL_ERR_FORMAT, "%s: metadata value for \"%s\" is not a string",
                              src, printable(key, pr));
        out->meta[2 * i] = strdup(key);
        out->meta[2 * i + 1] = strdup(json_string_value(v));
        out->n_meta = ++i; /* so pol_st_free releases what exists */
        if (!out->meta[2 * i - 2] || !out->meta[2 * i - 1])
            return pol_errorf(POL_ERR_NOMEM, "%s: out of memory for metadata", src);
    }
    /* Sort the pairs by key: each element is one key/value pair of
     * pointers, compared by its first (the key). */
    qsort(out->meta, n, 2 * sizeof *out->meta, cmp_str_ptr);
    return POL_OK;
}

/* Decodes and checks the header, allocates the tensors (data zeroed) in
 * name order, and returns in *spans the entries sorted by data offset, so
 * the caller can fill them from one sequential pass over the data buffer. */
static pol_status parse_header(const char *src, const uint8_t *hdr, size_t hlen,
                               uint64_t data_len, const st_lim *lim, pol_st_file *out,
                               st_spec **spans)
{
    *spans = NULL;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)hdr, hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) /* [E-ST-8] */
        return pol_errorf(pol_json_fail_status(&jerr),
                          "%s: header is not valid JSON: %s (line %d, column %d)",
                          src, jerr.text, jerr.line, jerr.column);
    pol_status st = POL_OK;
    st_spec *sp = NULL;
    if (!json_is_object(root)) {
        st = pol_errorf(POL_ERR_FORMAT, "%s: header is not a JSON object", src);
        goto out;
    }
    json_t *meta = json_object_get(root, META_KEY);
    size_t n = json_object_size(root) - (meta ? 1 : 0);
    if (n > lim->tensors) { /* [E-ST-9] */
        st = pol_errorf(POL_ERR_TOO_LARGE, "%s: %zu tensors exceeds the cap of %zu", src, n,
                        lim->tensors);
        goto out;
    }
    if (meta && (st = parse_meta(src, meta, out)) != POL_OK)
        goto out;

    sp = calloc(n ? n : 1, sizeof *sp);
    if (!sp) {
        st = pol_errorf(POL_ERR_NOMEM, "%s: out of memory", src);
        goto out;
    }
    const char *key;
    json_t *v;
    size_t i = 0;
    json_object_foreach(root, key, v) {
        if (v == meta)
            continue;
        if ((st = parse_entry(src, key, v, data_len, lim, &sp[i++])) != POL_OK)
            goto out;
    }

    /* [E-ST-12] the entries tile the data buffer: sorted by offset, each
     * starts where the previous one ended, the first at 0, the last at the
     * end. Checked before any tensor is allocated, so overlapping entries
     * cannot make us allocate more than the file holds. */
    qsort(sp, n, sizeof *sp, by_begin);
    uint64_t at = 0;
    for (i = 0; i < n; i++) {
        if (sp[i].begin != at) {
            st = pol_errorf(POL_ERR_FORMAT, "%s: tensor %s at offset %llu %s", src, sp[i].name,
                            (unsigned long long)sp[i].begin,
                            sp[i].begin < at ? "overlaps the tensor before it"
                                             : "leaves a hole after the tensor before it");
            goto out;
        }
        at = sp[i].end;
    }
    if (at != data_len) {
        st = pol_errorf(POL_ERR_FORMAT, "%s: %llu bytes after the last tensor are not covered",
                        src, (unsigned long long)(data_len - at));
        goto out;
    }

    /* Allocate in name order; record each entry's slot. */
    qsort(sp, n, sizeof *sp, by_spec_name);
    out->tensors = calloc(n ? n : 1, sizeof *out->tensors);
    if (!out->tensors) {
        st = pol_errorf(POL_ERR_NOMEM, "%s: out of memory", src);
        goto out;
    }
    for (i = 0; i < n; i++) {
        st = pol_tensor_alloc(&out->tensors[i], sp[i].name, sp[i].dtype, sp[i].ndim,
                              sp[i].shape);
        if (st != POL_OK) {
            char what[POL_NAME_MAX + 600];
            snprintf(what, sizeof what, "%s: tensor %s", src, sp[i].name);
            st = prefix_error(st, what);
            goto out;
        }
        out->n = i + 1;
        sp[i].slot = i;
        sp[i].name = out->tensors[i].name; /* the JSON tree is about to go */
    }
    qsort(sp, n, sizeof *sp, by_begin);
    *spans = sp;
    sp = NULL;
out:
    free(sp);
    json_decref(root);
    return st;
}

pol_status pol_st_parse(const uint8_t *buf, size_t len, const pol_st_limits *lim,
                        pol_st_file *out)
{
    if (!out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_st_parse: NULL output");
    memset(out, 0, sizeof *out);
    if (!buf && len)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_st_parse: NULL buffer");
    st_lim L;
    pol_status st = limits_resolve(lim, &L);
    if (st != POL_OK)
        return st;
    if ((st = check_total(BUF_NAME, len, &L)) != POL_OK)
        return st;
    uint64_t hlen = get_u64le(buf);
    if ((st = check_prefix(BUF_NAME, len, hlen, &L)) != POL_OK)
        return st;
    st_spec *sp;
    const uint8_t *data = buf + 8 + hlen;
    st = parse_header(BUF_NAME, buf + 8, (size_t)hlen, len - 8 - hlen, &L, out, &sp);
    if (st != POL_OK) {
        pol_st_free(out);
        return st;
    }
    for (size_t i = 0; i < out->n; i++) {
        pol_tensor *t = &out->tensors[sp[i].slot];
        if (t->nbytes)
            memcpy(t->data, data + sp[i].begin, t->nbytes);
    }
    free(sp);
    return POL_OK;
}

/* Reads exactly n bytes unless the file ends; returns the count, or -1. */
static ssize_t read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t want = n - got < ((size_t)1 << 30) ? n - got : ((size_t)1 << 30);
        ssize_t r = read(fd, (uint8_t *)buf + got, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Reads `n` bytes or fails with a message naming `path` and `what`. */
static pol_status read_exact(int fd, const char *path, void *buf, size_t n, const char *what)
{
    ssize_t r = read_full(fd, buf, n);
    if (r < 0)
        return pol_errorf(POL_ERR_IO, "read %s: %s", path, strerror(errno));
    if ((size_t)r != n)
        return pol_errorf(POL_ERR_FORMAT, "%s: file ended inside the %s", path, what);
    return POL_OK;
}

pol_status pol_st_load(const char *path, const pol_st_limits *lim, pol_st_file *out)
{
    if (!out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_st_load: NULL output");
    memset(out, 0, sizeof *out);
    if (!path || !*path)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_st_load: empty path");
    st_lim L;
    pol_status st = limits_resolve(lim, &L);
    if (st != POL_OK)
        return st;

    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int e = errno;
        return pol_errorf(e == ENOENT ? POL_ERR_NOT_FOUND : POL_ERR_IO, "open %s: %s", path,
                          strerror(e));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = pol_errorf(POL_ERR_IO, "stat %s: %s", path, strerror(errno));
        close(fd);
        return st;
    }
    if (!S_ISREG(sb.st_mode)) {
        /* A pipe or device: no size to check up front; read it whole
         * under the file cap and parse from memory. */
        close(fd);
        if (S_ISDIR(sb.st_mode))
            return pol_errorf(POL_ERR_IO, "read %s: %s", path, strerror(EISDIR));
        uint8_t *b;
        size_t n;
        size_t cap = L.file < SIZE_MAX ? (size_t)L.file : SIZE_MAX - 1;
        if ((st = pol_read_file(path, cap, &b, &n)) != POL_OK)
            return st;
        st = pol_st_parse(b, n, lim, out);
        free(b);
        return st != POL_OK ? prefix_error(st, path) : POL_OK;
    }

    uint64_t total = (uint64_t)sb.st_size;
    uint8_t *hdr = NULL;
    st_spec *sp = NULL;
    uint8_t pre[8];
    if ((st = check_total(path, total, &L)) != POL_OK)
        goto out;
    if ((st = read_exact(fd, path, pre, 8, "header length")) != POL_OK)
        goto out;
    uint64_t hlen = get_u64le(pre);
    if ((st = check_prefix(path, total, hlen, &L)) != POL_OK)
        goto out;
    hdr = malloc((size_t)hlen);
    if (!hdr) {
        st = pol_errorf(POL_ERR_NOMEM, "%s: cannot allocate the header", path);
        goto out;
    }
    if ((st = read_exact(fd, path, hdr, (size_t)hlen, "header")) != POL_OK)
        goto out;
    if ((st = parse_header(path, hdr, (size_t)hlen, total - 8 - hlen, &L, out, &sp)) != POL_OK)
        goto out;
    /* The entries tile the data buffer in offset order: one sequential
     * pass reads every tensor straight into its own buffer. */
    for (size_t i = 0; i < out->n && st == POL_OK; i++) {
        pol_tensor *t = &out->tensors[sp[i].slot];
        st = read_exact(fd, path, t->data, t->nbytes, "tensor data");
    }
out:
    free(sp);
    free(hdr);
    close(fd);
    if (st != POL_OK)
        pol_st_free(out);
    return st;
}

/* ---------------------------------------------------------------- query */

const pol_tensor *pol_st_get(const pol_st_file *f, const char *name)
{
    if (!f || !name)
        return NULL;
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->tensors[mid].name, name);
        if (c == 0)
            return &f->tensors[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *pol_st_meta(const pol_st_file *f, const char *key)
{
    if (!f || !key)
        return NULL;
    size_t lo = 0, hi = f->n_meta;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->meta[2 * mid], key);
        if (c == 0)
            return f->meta[2 * mid + 1];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void pol_st_free(pol_st_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        pol_tensor_free(&f->tensors[i]);
    free(f->tensors);
    if (f->meta)
        for (size_t i = 0; i < 2 * f->n_meta; i++)
            free(f->meta[i]);
    free(f->meta);
    memset(f, 0, sizeof *f);
}

pol_status pol_st_state_hash(const pol_st_file *f, pol_digest *out)
{
    if (!f || !out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_st_state_hash: NULL argument");
    const pol_tensor **ts = malloc((f->n ? f->n : 1) * sizeof *ts);
    if (!ts)
        return pol_errorf(POL_ERR_NOMEM, "state hash of %zu tensors", f->n);
    for (size_t i = 0; i < f->n; i++)
        ts[i] = &f->tensors[i];
    pol_status st = pol_state_hash(ts, f->n, out);
    free(ts);
    return st;
}
