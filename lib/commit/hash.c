/* SHA-256 (OpenSSL EVP), canonical tensor leaves, RFC 6962 Merkle trees and
 * the state hash. The encodings are normative in spec/encoding.md. */
#include "pol/hash.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Tensor data is hashed as it lies in memory, which is the canonical
 * little-endian encoding only on a little-endian host. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libpol requires a little-endian host (tensor bytes are hashed as stored)"
#endif

#define TENSOR_TAG "libpol/tensor/v1"
#define STATE_TAG "libpol/state/v1"

/* Largest header before the data: 1 + tag + NUL + 4 + name + 1 + 1 + dims + 8. */
#define TENSOR_HDR_MAX (1 + sizeof TENSOR_TAG + 4 + POL_NAME_MAX + 2 + 8 * POL_MAX_DIMS + 8)

/* ------------------------------------------------------------- SHA-256 */

struct pol_sha256_ctx {
    EVP_MD_CTX *md;
};

/* SHA-256 fetched from the default provider once. Passing EVP_sha256() to
 * every init makes OpenSSL 3 look the algorithm up each time, which costs
 * about 5% on states of many small tensors. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

static const EVP_MD *md_sha256(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md ? sha256_md : EVP_sha256();
}

static int md_init(EVP_MD_CTX *md) { return EVP_DigestInit_ex(md, md_sha256(), NULL) == 1; }

/* Finishes *md into *out and starts it on a new message. */
static int md_final(EVP_MD_CTX *md, pol_digest *out)
{
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(md, out->b, &len) != 1 || len != sizeof out->b)
        return 0;
    return md_init(md);
}

/* A failed OpenSSL call. With SHA-256 fetched from the default provider,
 * the EVP calls fail only when an allocation of theirs does (a context, the
 * provider's state); OpenSSL 3 does not say so reliably in its error queue
 * (often empty then), so every failure is POL_ERR_NOMEM. The queue, which
 * is per thread, is emptied so that nothing stale reaches later callers. */
static pol_status crypto_fail(const char *what)
{
    ERR_clear_error();
    return pol_errorf(POL_ERR_NOMEM, "%s: OpenSSL SHA-256 failed (out of memory)", what);
}

static pol_status md_new(EVP_MD_CTX **md, const char *what)
{
    *md = EVP_MD_CTX_new();
    if (!*md)
        return pol_errorf(POL_ERR_NOMEM, "%s: cannot allocate a digest context", what);
    if (!md_init(*md)) {
        EVP_MD_CTX_free(*md);
        *md = NULL;
        return crypto_fail(what);
    }
    return POL_OK;
}

pol_status pol_sha256(const void *data, size_t len, pol_digest *out)
{
    if (!out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_sha256: NULL output");
    memset(out, 0, sizeof *out);
    if (!data && len)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_sha256: NULL data with length %zu", len);
    unsigned int dl = 0;
    static const uint8_t empty[1];
    if (EVP_Digest(data ? data : empty, len, out->b, &dl, md_sha256(), NULL) != 1 ||
        dl != sizeof out->b) {
        memset(out, 0, sizeof *out);
        return crypto_fail("pol_sha256");
    }
    return POL_OK;
}

pol_status pol_sha256_new(pol_sha256_ctx **ctx)
{
    if (!ctx)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_sha256_new: NULL output");
    *ctx = NULL;
    pol_sha256_ctx *c = malloc(sizeof *c);
    if (!c)
        return pol_errorf(POL_ERR_NOMEM, "pol_sha256_new: out of memory");
    pol_status st = md_new(&c->md, "pol_sha256_new");
    if (st != POL_OK) {
        free(c);
        return st;
    }
    *ctx = c;
    return POL_OK;
}

pol_status pol_sha256_reset(pol_sha256_ctx *ctx)
{
    if (!ctx)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_sha256_reset: NULL context");
    return md_init(ctx->md) ? POL_OK : crypto_fail("pol_sha256_reset");
}

pol_status pol_sha256_update(pol_sha256_ctx *ctx, const void *data, size_t len)
{
    if (!ctx || (!data && len))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_sha256_update: NULL argument");
    if (len == 0)
        return POL_OK;
    return EVP_DigestUpdate(ctx->md, data, len) == 1 ? POL_OK : crypto_fail("pol_sha256_update");
}

pol_status pol_sha256_final(pol_sha256_ctx *ctx, pol_digest *out)
{
    if (!ctx || !out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_sha256_final: NULL argument");
    if (!md_final(ctx->md, out)) {
        memset(out, 0, sizeof *out);
        return crypto_fail("pol_sha256_final");
    }
    return POL_OK;
}

void pol_sha256_free(pol_sha256_ctx *ctx)
{
    if (!ctx)
        return;
    EVP_MD_CTX_free(ctx->md);
    free(ctx);
}

/* ------------------------------------------------------------------ hex */

void pol_digest_to_hex(const pol_digest *d, char hex[POL_DIGEST_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof d->b; i++) {
        hex[2 * i] = digits[d->b[i] >> 4];
        hex[2 * i + 1] = digits[d->b[i] & 15];
    }
    hex[POL_DIGEST_HEX_LEN] = '\0';
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

pol_status pol_digest_from_hex(const char *hex, pol_digest *d)
{
    if (!d)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_digest_from_hex: NULL output");
    memset(d, 0, sizeof *d);
    if (!hex)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_digest_from_hex: NULL input");
    pol_digest tmp;
    for (size_t i = 0; i < sizeof tmp.b; i++) {
        /* The NUL check on the high digit stops the scan at a short string. */
        int hi = hex_nibble(hex[2 * i]);
        int lo = hi < 0 ? -1 : hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return pol_errorf(POL_ERR_FORMAT,
                              "digest hex: expected 64 lowercase hex digits, bad character at "
                              "offset %zu",
                              hi < 0 ? 2 * i : 2 * i + 1);
        tmp.b[i] = (uint8_t)(hi << 4 | lo);
    }
    if (hex[POL_DIGEST_HEX_LEN] != '\0')
        return pol_errorf(POL_ERR_FORMAT, "digest hex: longer than 64 digits");
    *d = tmp;
    return POL_OK;
}

int pol_digest_equal(const pol_digest *a, const pol_digest *b)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < sizeof a->b; i++)
        acc |= (uint8_t)(a->b[i] ^ b->b[i]);
    return acc == 0;
}

/* ------------------------------------------------------------- tensors */

static void put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Checks that *t is a well-formed tensor, so its encoding is defined. */
static pol_status tensor_check(const pol_tensor *t, const char *what)
{
    if (!t)
        return pol_errorf(POL_ERR_INVALID_ARG, "%s: NULL tensor", what);
    if (!pol_name_valid(t->name))
        return pol_errorf(POL_ERR_INVALID_ARG, "%s: invalid tensor name", what);
    size_t es = pol_dtype_size(t->dtype);
    if (es == 0)
        return pol_errorf(POL_ERR_INVALID_ARG, "%s: tensor %s: unknown dtype %d", what, t->name,
                          (int)t->dtype);
    if (t->ndim < 0 || t->ndim > POL_MAX_DIMS)
        return pol_errorf(POL_ERR_INVALID_ARG, "%s: tensor %s: ndim %d outside 0..%d", what,
                          t->name, t->ndim, POL_MAX_DIMS);
    size_t bytes = es;
    int overflow = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0)
            return pol_errorf(POL_ERR_INVALID_ARG, "%s: tensor %s: dimension %d is negative",
                              what, t->name, i);
        if (__builtin_mul_overflow(bytes, (uint64_t)t->shape[i], &bytes))
            overflow = 1;
    }
    if (overflow || bytes != t->nbytes)
        return pol_errorf(POL_ERR_INVALID_ARG,
                          "%s: tensor %s: nbytes %zu does not match its shape and dtype", what,
                          t->name, t->nbytes);
    if (!t->data && t->nbytes)
        return pol_errorf(POL_ERR_INVALID_ARG, "%s: tensor %s: NULL data", what, t->name);
    return POL_OK;
}

/* Writes the encoding of *t up to (not including) its data; returns its
 * length. [E-TENSOR-1] */
static size_t tensor_header(const pol_tensor *t, uint8_t buf[TENSOR_HDR_MAX])
{
    size_t p = 0;
    size_t nl = strlen(t->name);
    buf[p++] = 0x00;
    memcpy(buf + p, TENSOR_TAG, sizeof TENSOR_TAG); /* includes the NUL */
    p += sizeof TENSOR_TAG;
    put_u32le(buf + p, (uint32_t)nl);
    p += 4;
    memcpy(buf + p, t->name, nl);
    p += nl;
    buf[p++] = (uint8_t)t->dtype;
    buf[p++] = (uint8_t)t->ndim;
    for (int i = 0; i < t->ndim; i++) {
        put_u64le(buf + p, (uint64_t)t->shape[i]);
        p += 8;
    }
    put_u64le(buf + p, (uint64_t)t->nbytes);
    p += 8;
    return p;
}

/* Hashes a checked tensor with a ready context. The data goes to the
 * digest in one update so OpenSSL runs its multi-block (SHA-NI) loop. */
static pol_status tensor_hash_md(EVP_MD_CTX *md, const pol_tensor *t, pol_digest *out)
{
    uint8_t hdr[TENSOR_HDR_MAX];
    size_t hl = tensor_header(t, hdr);
    if (EVP_DigestUpdate(md, hdr, hl) != 1 ||
        (t->nbytes && EVP_DigestUpdate(md, t->data, t->nbytes) != 1) || !md_final(md, out)) {
        memset(out, 0, sizeof *out);
        md_init(md);
        return crypto_fail("pol_tensor_hash");
    }
    return POL_OK;
}

pol_status pol_tensor_hash(const pol_tensor *t, pol_digest *out)
{
    if (!out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_tensor_hash: NULL output");
    memset(out, 0, sizeof *out);
    pol_status st = tensor_check(t, "pol_tensor_hash");
    if (st != POL_OK)
        return st;
    EVP_MD_CTX *md;
    if ((st = md_new(&md, "pol_tensor_hash")) != POL_OK)
        return st;
    st = tensor_hash_md(md, t, out);
    EVP_MD_CTX_free(md);
    return st;
}

/* -------------------------------------------------------------- Merkle */

/* Largest power of two strictly below n (n >= 2). [E-MERKLE-3] */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;
    while (k < n - k) /* k * 2 < n without overflow */
        k <<= 1;
    return k;
}

/* SHA-256(0x01 || left || right). [E-MERKLE-3] */
static int node_hash(EVP_MD_CTX *md, const pol_digest *left, const pol_digest *right,
                     pol_digest *out)
{
    uint8_t buf[1 + 2 * sizeof left->b];
    buf[0] = 0x01;
    memcpy(buf + 1, left->b, sizeof left->b);
    memcpy(buf + 1 + sizeof left->b, right->b, sizeof right->b);
    return EVP_DigestUpdate(md, buf, sizeof buf) == 1 && md_final(md, out);
}

/* Root of leaves[0:n], n >= 1. Recursion depth is at most 64. */
static int merkle_rec(EVP_MD_CTX *md, const pol_digest *leaves, size_t n, pol_digest *out)
{
    if (n == 1) {
        *out = leaves[0];
        return 1;
    }
    size_t k = (size_t)split_point(n);
    pol_digest l, r;
    return merkle_rec(md, leaves, k, &l) && merkle_rec(md, leaves + k, n - k, &r) &&
           node_hash(md, &l, &r, out);
}

pol_status pol_merkle_root(const pol_digest *leaves, size_t n, pol_digest *out)
{
    if (!out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_merkle_root: NULL output");
    memset(out, 0, sizeof *out);
    if (!leaves && n)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_merkle_root: NULL leaves");
    if (n == 0) /* [E-MERKLE-1] */
        return pol_sha256(NULL, 0, out);
    if (n == 1) { /* [E-MERKLE-2] */
        *out = leaves[0];
        return POL_OK;
    }
    EVP_MD_CTX *md;
    pol_status st = md_new(&md, "pol_merkle_root");
    if (st != POL_OK)
        return st;
    if (!merkle_rec(md, leaves, n, out)) {
        memset(out, 0, sizeof *out);
        st = crypto_fail("pol_merkle_root");
    }
    EVP_MD_CTX_free(md);
    return st;
}

/* Number of entries in the audit path of leaf m in a tree of n leaves. */
static size_t proof_len(uint64_t m, uint64_t n)
{
    size_t len = 0;
    while (n > 1) {
        uint64_t k = split_point(n);
        if (m < k) {
            n = k;
        } else {
            m -= k;
            n -= k;
        }
        len++;
    }
    return len;
}

/* Appends the audit path of leaf m in leaves[0:n] to path[*len...],
 * deepest sibling first. [E-PROOF-1] */
static int proof_rec(EVP_MD_CTX *md, const pol_digest *leaves, size_t n, size_t m,
                     pol_digest *path, size_t *len)
{
    if (n == 1)
        return 1;
    size_t k = (size_t)split_point(n);
    if (m < k)
        return proof_rec(md, leaves, k, m, path, len) &&
               merkle_rec(md, leaves + k, n - k, &path[(*len)++]);
    return proof_rec(md, leaves + k, n - k, m - k, path, len) &&
           merkle_rec(md, leaves, k, &path[(*len)++]);
}

pol_status pol_merkle_proof(const pol_digest *leaves, size_t n, size_t index, pol_digest *path,
                            size_t *path_len)
{
    if (!path_len)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_merkle_proof: NULL path_len");
    size_t cap = *path_len;
    *path_len = 0;
    if ((!leaves && n) || (!path && cap))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_merkle_proof: NULL argument");
    if (index >= n)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_merkle_proof: index %zu outside a tree of %zu",
                          index, n);
    size_t need = proof_len(index, n);
    if (need > cap)
        return pol_errorf(POL_ERR_INVALID_ARG,
                          "pol_merkle_proof: path needs %zu entries, capacity is %zu", need, cap);
    if (need == 0)
        return POL_OK;
    EVP_MD_CTX *md;
    pol_status st = md_new(&md, "pol_merkle_proof");
    if (st != POL_OK)
        return st;
    size_t len = 0;
    if (!proof_rec(md, leaves, n, index, path, &len) || len != need)
        st = crypto_fail("pol_merkle_proof");
    else
        *path_len = len;
    EVP_MD_CTX_free(md);
    return st;
}

pol_status pol_merkle_verify(const pol_digest *leaf, uint64_t index, uint64_t n,
                             const pol_digest *path, size_t path_len, const pol_digest *root)
{
    if (!leaf || !root || (!path && path_len))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_merkle_verify: NULL argument");
    if (index >= n)
        return pol_errorf(POL_ERR_HASH_MISMATCH,
                          "merkle proof: index %llu outside a tree of %llu leaves",
                          (unsigned long long)index, (unsigned long long)n);
    if (path_len != proof_len(index, n))
        return pol_errorf(POL_ERR_HASH_MISMATCH,
                          "merkle proof: %zu entries, a tree of %llu leaves needs %zu at index "
                          "%llu",
                          path_len, (unsigned long long)n, proof_len(index, n),
                          (unsigned long long)index);
    EVP_MD_CTX *md;
    pol_status st = md_new(&md, "pol_merkle_verify");
    if (st != POL_OK)
        return st;
    /* Walk up from the leaf (RFC 9162, section 2.1.3.2): fn is the node's
     * index on its level, sn the index of the level's last node. A node that
     * is the last on its level with no right sibling is carried up
     * unchanged, which is why several levels may be skipped at once. */
    uint64_t fn = index, sn = n - 1;
    pol_digest r = *leaf;
    int proven = 1;
    for (size_t i = 0; i < path_len; i++) {
        if (sn == 0) { /* more entries than levels */
            proven = 0;
            break;
        }
        int ok;
        if ((fn & 1) || fn == sn) {
            ok = node_hash(md, &path[i], &r, &r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            ok = node_hash(md, &r, &path[i], &r);
        }
        if (!ok) {
            EVP_MD_CTX_free(md);
            return crypto_fail("pol_merkle_verify");
        }
        fn >>= 1;
        sn >>= 1;
    }
    EVP_MD_CTX_free(md);
    if (!proven || sn != 0 || !pol_digest_equal(&r, root))
        return pol_errorf(POL_ERR_HASH_MISMATCH,
                          "merkle proof: leaf %llu of %llu does not lead to the expected root",
                          (unsigned long long)index, (unsigned long long)n);
    return POL_OK;
}

/* --------------------------------------------------------------- state */

static int by_name(const void *a, const void *b)
{
    const pol_tensor *x = *(const pol_tensor *const *)a;
    const pol_tensor *y = *(const pol_tensor *const *)b;
    return strcmp(x->name, y->name);
}

pol_status pol_state_leaves(const pol_tensor *const *tensors, size_t n, pol_digest *leaves,
                            const pol_tensor **order)
{
    if ((!tensors || !leaves) && n)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_state_leaves: NULL argument");
    for (size_t i = 0; i < n; i++) {
        pol_status st = tensor_check(tensors[i], "state hash");
        if (st != POL_OK)
            return st;
    }
    if (n == 0)
        return POL_OK;
    if (n > SIZE_MAX / sizeof *order)
        return pol_errorf(POL_ERR_NOMEM, "state hash: %zu tensors", n);
    const pol_tensor **sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return pol_errorf(POL_ERR_NOMEM, "state hash: cannot sort %zu tensors", n);
    memcpy(sorted, tensors, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_name);
    pol_status st = POL_OK;
    for (size_t i = 1; i < n && st == POL_OK; i++)
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) /* [E-STATE-2] */
            st = pol_errorf(POL_ERR_INVALID_ARG, "state hash: duplicate tensor name %s",
                            sorted[i]->name);
    EVP_MD_CTX *md = NULL;
    if (st == POL_OK)
        st = md_new(&md, "state hash");
    for (size_t i = 0; i < n && st == POL_OK; i++)
        st = tensor_hash_md(md, sorted[i], &leaves[i]);
    EVP_MD_CTX_free(md);
    if (st == POL_OK && order)
        memcpy(order, sorted, n * sizeof *order);
    free(sorted);
    return st;
}

pol_status pol_state_hash_from_root(uint64_t n, const pol_digest *root, pol_digest *out)
{
    if (!out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_state_hash_from_root: NULL output");
    memset(out, 0, sizeof *out);
    if (!root)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_state_hash_from_root: NULL root");
    uint8_t buf[1 + sizeof STATE_TAG + 8 + sizeof root->b];
    size_t p = 0;
    buf[p++] = 0x02;
    memcpy(buf + p, STATE_TAG, sizeof STATE_TAG); /* includes the NUL */
    p += sizeof STATE_TAG;
    put_u64le(buf + p, n);
    p += 8;
    memcpy(buf + p, root->b, sizeof root->b);
    p += sizeof root->b;
    return pol_sha256(buf, p, out);
}

pol_status pol_state_hash(const pol_tensor *const *tensors, size_t n, pol_digest *out)
{
    if (!out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_state_hash: NULL output");
    memset(out, 0, sizeof *out);
    pol_digest *leaves = NULL;
    if (n) {
        if (n > SIZE_MAX / sizeof *leaves)
            return pol_errorf(POL_ERR_NOMEM, "state hash: %zu tensors", n);
        leaves = malloc(n * sizeof *leaves);
        if (!leaves)
            return pol_errorf(POL_ERR_NOMEM, "state hash: cannot allocate %zu leaves", n);
    }
    pol_digest root;
    pol_status st = pol_state_leaves(tensors, n, leaves, NULL);
    if (st == POL_OK)
        st = pol_merkle_root(leaves, n, &root);
    if (st == POL_OK)
        st = pol_state_hash_from_root((uint64_t)n, &root, out);
    free(leaves);
    return st;
}
