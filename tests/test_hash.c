/* SHA-256, hex, tensor leaves, Merkle roots and proofs, state hashes.
 *
 * Known answers come from FIPS 180-2 (SHA-256) and from
 * spec/vectors/encoding.json, written by an independent Python
 * implementation of spec/encoding.md (spec/vectors/make_encoding_vectors.py).
 * Test names cite the spec ids they prove. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "pol/hash.h"
#include "testutil.h"

static tu_rng R;

static int setup(void **st)
{
    (void)st;
    tu_rng_init(&R, tu_seed());
    return 0;
}

static void digest_of_hex(const char *hex, pol_digest *d)
{
    if (pol_digest_from_hex(hex, d) != POL_OK)
        fail_msg("bad hex in test data: %s (%s)", hex, pol_last_error());
}

static void assert_digest_hex(const pol_digest *d, const char *hex, const char *what)
{
    char got[POL_DIGEST_HEX_LEN + 1];
    pol_digest_to_hex(d, got);
    if (strcmp(got, hex) != 0)
        fail_msg("%s: got %s, want %s", what, got, hex);
}

/* ------------------------------------------------------------- SHA-256 */

static void test_sha256_known_answers(void **st)
{
    (void)st;
    static const struct {
        const char *msg;
        const char *hex;
    } kat[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        pol_digest d;
        assert_int_equal(pol_sha256(kat[i].msg, strlen(kat[i].msg), &d), POL_OK);
        assert_digest_hex(&d, kat[i].hex, kat[i].msg);
    }
    pol_digest d;
    assert_int_equal(pol_sha256(NULL, 0, &d), POL_OK);
    assert_digest_hex(&d, kat[0].hex, "NULL, 0");

    /* One million 'a' (FIPS 180-2 appendix B.3), whole and in pieces. */
    size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    const char *mil = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    assert_int_equal(pol_sha256(a, n, &d), POL_OK);
    assert_digest_hex(&d, mil, "million a");
    pol_sha256_ctx *c;
    assert_int_equal(pol_sha256_new(&c), POL_OK);
    for (int round = 0; round < 3; round++) { /* final resets: reuse the context */
        size_t off = 0;
        while (off < n) {
            size_t k = (size_t)(tu_next(&R) % 70000);
            if (k > n - off)
                k = n - off;
            assert_int_equal(pol_sha256_update(c, a + off, k), POL_OK);
            off += k;
        }
        assert_int_equal(pol_sha256_final(c, &d), POL_OK);
        assert_digest_hex(&d, mil, "million a, incremental");
    }
    /* reset discards a partial message */
    assert_int_equal(pol_sha256_update(c, "xyz", 3), POL_OK);
    assert_int_equal(pol_sha256_reset(c), POL_OK);
    assert_int_equal(pol_sha256_update(c, "abc", 3), POL_OK);
    assert_int_equal(pol_sha256_final(c, &d), POL_OK);
    assert_digest_hex(&d, kat[1].hex, "abc after reset");
    pol_sha256_free(c);
    pol_sha256_free(NULL);
    free(a);
}

/* [E-HEX-1] [E-HEX-2] */
static void test_hex(void **st)
{
    (void)st;
    pol_digest d, e;
    for (size_t i = 0; i < 32; i++)
        d.b[i] = (uint8_t)tu_next(&R);
    char hex[POL_DIGEST_HEX_LEN + 1];
    pol_digest_to_hex(&d, hex);
    assert_int_equal(strlen(hex), 64);
    for (size_t i = 0; i < 64; i++)
        assert_true((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'));
    assert_int_equal(pol_digest_from_hex(hex, &e), POL_OK);
    assert_memory_equal(d.b, e.b, 32);
    assert_true(pol_digest_equal(&d, &e));
    e.b[31] ^= 1;
    assert_false(pol_digest_equal(&d, &e));

    const char *good = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const char *bad[] = {
        "",
        "e3b0",
        "E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550",
        "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8",
        " e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
    };
    assert_int_equal(pol_digest_from_hex(good, &e), POL_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0xab, sizeof e);
        assert_int_equal(pol_digest_from_hex(bad[i], &e), POL_ERR_FORMAT);
        pol_digest zero = {{0}};
        assert_memory_equal(e.b, zero.b, 32); /* zeroed on failure */
    }
}

/* ------------------------------------------------------- golden vectors */

static json_t *load_vectors(void)
{
    const char *dir = getenv("POL_VECTORS");
    char path[512];
    snprintf(path, sizeof path, "%s/encoding.json", dir && *dir ? dir : "spec/vectors");
    json_error_t err;
    json_t *v = json_load_file(path, 0, &err);
    if (!v)
        fail_msg("cannot load %s: %s (run from the repository root or set POL_VECTORS)", path,
                 err.text);
    return v;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* A tensor from one entry of encoding.json's "tensors". */
static void tensor_from_json(const json_t *j, pol_tensor *t)
{
    const char *name = json_string_value(json_object_get(j, "name"));
    pol_dtype dt = pol_dtype_parse(json_string_value(json_object_get(j, "dtype")));
    assert_int_equal((int)dt, (int)json_integer_value(json_object_get(j, "dtype_code")));
    const json_t *shape = json_object_get(j, "shape");
    int64_t dims[POL_MAX_DIMS] = {0};
    int nd = (int)json_array_size(shape);
    for (int i = 0; i < nd; i++)
        dims[i] = json_integer_value(json_array_get(shape, (size_t)i));
    assert_int_equal(pol_tensor_alloc(t, name, dt, nd, dims), POL_OK);
    uint8_t buf[256];
    size_t n = unhex(json_string_value(json_object_get(j, "data_hex")), buf, sizeof buf);
    assert_int_equal(n, t->nbytes);
    if (n)
        memcpy(t->data, buf, n);
}

/* [E-TENSOR-1] .. [E-TENSOR-4], [E-STATE-1] .. [E-STATE-3] */
static void test_vectors_tensors_and_state(void **st)
{
    (void)st;
    json_t *v = load_vectors();
    json_t *jt = json_object_get(v, "tensors");
    size_t n = json_array_size(jt);
    assert_true(n >= 4);
    pol_tensor *ts = calloc(n, sizeof *ts);
    const pol_tensor **ptrs = calloc(n, sizeof *ptrs);
    assert_non_null(ts);
    assert_non_null(ptrs);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(jt, i);
        tensor_from_json(e, &ts[i]);
        ptrs[i] = &ts[i];
        pol_digest d;
        assert_int_equal(pol_tensor_hash(&ts[i], &d), POL_OK);
        assert_digest_hex(&d, json_string_value(json_object_get(e, "leaf")), ts[i].name);
        /* The leaf is SHA-256 of the documented encoding. */
        uint8_t enc[512];
        size_t el = unhex(json_string_value(json_object_get(e, "encoding_hex")), enc, sizeof enc);
        pol_digest d2;
        assert_int_equal(pol_sha256(enc, el, &d2), POL_OK);
        assert_memory_equal(d.b, d2.b, 32);
    }

    json_t *js = json_object_get(v, "state");
    pol_digest sh;
    assert_int_equal(pol_state_hash(ptrs, n, &sh), POL_OK);
    assert_digest_hex(&sh, json_string_value(json_object_get(js, "state_hash")), "state hash");

    pol_digest *leaves = calloc(n, sizeof *leaves);
    const pol_tensor **order = calloc(n, sizeof *order);
    assert_int_equal(pol_state_leaves(ptrs, n, leaves, order), POL_OK);
    json_t *sn = json_object_get(js, "sorted_names");
    json_t *sl = json_object_get(js, "leaves");
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(order[i]->name, json_string_value(json_array_get(sn, i)));
        assert_digest_hex(&leaves[i], json_string_value(json_array_get(sl, i)), "state leaf");
    }
    pol_digest root, sh2;
    assert_int_equal(pol_merkle_root(leaves, n, &root), POL_OK);
    assert_digest_hex(&root, json_string_value(json_object_get(js, "merkle_root")), "root");
    assert_int_equal(pol_state_hash_from_root(n, &root, &sh2), POL_OK);
    assert_memory_equal(sh.b, sh2.b, 32);

    assert_int_equal(pol_state_hash(NULL, 0, &sh), POL_OK);
    assert_digest_hex(&sh, json_string_value(json_object_get(v, "empty_state_hash")),
                      "empty state");

    for (size_t i = 0; i < n; i++)
        pol_tensor_free(&ts[i]);
    free(ts);
    free(ptrs);
    free(leaves);
    free(order);
    json_decref(v);
}

/* [E-MERKLE-1] .. [E-MERKLE-3], [E-PROOF-1], [E-PROOF-2] */
static void test_vectors_merkle(void **st)
{
    (void)st;
    json_t *v = load_vectors();
    json_t *jm = json_object_get(v, "merkle");
    assert_true(json_array_size(jm) >= 6);
    for (size_t i = 0; i < json_array_size(jm); i++) {
        json_t *e = json_array_get(jm, i);
        size_t n = (size_t)json_integer_value(json_object_get(e, "n"));
        json_t *jl = json_object_get(e, "leaves");
        assert_int_equal(json_array_size(jl), n);
        pol_digest leaves[16], root;
        assert_true(n <= 16);
        for (size_t k = 0; k < n; k++)
            digest_of_hex(json_string_value(json_array_get(jl, k)), &leaves[k]);
        assert_int_equal(pol_merkle_root(n ? leaves : NULL, n, &root), POL_OK);
        assert_digest_hex(&root, json_string_value(json_object_get(e, "root")), "merkle root");
    }
    json_t *jp = json_object_get(v, "proofs");
    assert_true(json_array_size(jp) > 0);
    for (size_t i = 0; i < json_array_size(jp); i++) {
        json_t *e = json_array_get(jp, i);
        uint64_t n = (uint64_t)json_integer_value(json_object_get(e, "n"));
        uint64_t idx = (uint64_t)json_integer_value(json_object_get(e, "index"));
        json_t *path = json_object_get(e, "path");
        pol_digest leaf, root, want[POL_MERKLE_PATH_MAX], got[POL_MERKLE_PATH_MAX];
        digest_of_hex(json_string_value(json_object_get(e, "leaf")), &leaf);
        digest_of_hex(json_string_value(json_object_get(e, "root")), &root);
        size_t pl = json_array_size(path);
        for (size_t k = 0; k < pl; k++)
            digest_of_hex(json_string_value(json_array_get(path, k)), &want[k]);
        assert_int_equal(pol_merkle_verify(&leaf, idx, n, want, pl, &root), POL_OK);
        /* Rebuild the leaves (SHA-256 of "leaf <i>") and compare the proof. */
        pol_digest leaves[16];
        for (uint64_t k = 0; k < n; k++) {
            char msg[32];
            int ml = snprintf(msg, sizeof msg, "leaf %llu", (unsigned long long)k);
            assert_int_equal(pol_sha256(msg, (size_t)ml, &leaves[k]), POL_OK);
        }
        size_t gl = POL_MERKLE_PATH_MAX;
        assert_int_equal(pol_merkle_proof(leaves, (size_t)n, (size_t)idx, got, &gl), POL_OK);
        assert_int_equal(gl, pl);
        assert_memory_equal(got, want, pl * sizeof *got);
    }
    json_decref(v);
}

/* ---------------------------------------------------------------- Merkle */

static void random_digests(pol_digest *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 32; k += 8) {
            uint64_t x = tu_next(&R);
            memcpy(d[i].b + k, &x, 8);
        }
}

/* Reference root straight from the definition, with explicit hashing. */
static void ref_root(const pol_digest *l, size_t n, pol_digest *out)
{
    if (n == 0) {
        assert_int_equal(pol_sha256(NULL, 0, out), POL_OK);
        return;
    }
    if (n == 1) {
        *out = l[0];
        return;
    }
    size_t k = 1;
    while (2 * k < n)
        k *= 2;
    pol_digest left, right;
    ref_root(l, k, &left);
    ref_root(l + k, n - k, &right);
    uint8_t buf[65];
    buf[0] = 1;
    memcpy(buf + 1, left.b, 32);
    memcpy(buf + 33, right.b, 32);
    assert_int_equal(pol_sha256(buf, 65, out), POL_OK);
}

static void expect_mismatch(const pol_digest *leaf, uint64_t idx, uint64_t n,
                            const pol_digest *path, size_t pl, const pol_digest *root,
                            const char *what)
{
    pol_status s = pol_merkle_verify(leaf, idx, n, path, pl, root);
    if (s != POL_ERR_HASH_MISMATCH)
        fail_msg("%s: n=%llu index=%llu: verify returned %d, want HASH_MISMATCH", what,
                 (unsigned long long)n, (unsigned long long)idx, (int)s);
}

/* [E-PROOF-1] [E-PROOF-2]: every index of every tree up to 33 leaves; any
 * altered byte of leaf, path, root or index breaks the proof. */
static void test_merkle_proofs_exhaustive(void **st)
{
    (void)st;
    enum { NMAX = 33 };
    pol_digest leaves[NMAX], root, ref;
    random_digests(leaves, NMAX);
    for (size_t n = 1; n <= NMAX; n++) {
        assert_int_equal(pol_merkle_root(leaves, n, &root), POL_OK);
        ref_root(leaves, n, &ref);
        assert_memory_equal(root.b, ref.b, 32);
        for (size_t i = 0; i < n; i++) {
            pol_digest path[POL_MERKLE_PATH_MAX + 1];
            size_t pl = POL_MERKLE_PATH_MAX;
            assert_int_equal(pol_merkle_proof(leaves, n, i, path, &pl), POL_OK);
            assert_true(pl <= 6);
            assert_int_equal(pol_merkle_verify(&leaves[i], i, n, path, pl, &root), POL_OK);

            for (size_t b = 0; b < 32; b++) {
                uint8_t bit = (uint8_t)(1u << (tu_next(&R) % 8));
                pol_digest l2 = leaves[i], r2 = root;
                l2.b[b] ^= bit;
                r2.b[b] ^= bit;
                expect_mismatch(&l2, i, n, path, pl, &root, "altered leaf");
                expect_mismatch(&leaves[i], i, n, path, pl, &r2, "altered root");
                for (size_t k = 0; k < pl; k++) {
                    path[k].b[b] ^= bit;
                    expect_mismatch(&leaves[i], i, n, path, pl, &root, "altered path");
                    path[k].b[b] ^= bit;
                }
            }
            for (int byte = 0; byte < 8; byte++)
                for (int bit = 0; bit < 8; bit++) {
                    uint64_t j = (uint64_t)i ^ ((uint64_t)1 << (8 * byte + bit));
                    expect_mismatch(&leaves[i], j, n, path, pl, &root, "altered index");
                }
            /* the proof of i does not prove any other leaf at i */
            for (size_t j = 0; j < n; j++)
                if (j != i)
                    expect_mismatch(&leaves[j], i, n, path, pl, &root, "other leaf");
            /* wrong length either way. (The tree size is not checked here:
             * a root alone does not commit to it; see [E-PROOF-3].) */
            if (pl)
                expect_mismatch(&leaves[i], i, n, path, pl - 1, &root, "short path");
            path[pl] = path[0];
            expect_mismatch(&leaves[i], i, n, path, pl + 1, &root, "long path");
        }
    }
}

static void test_merkle_edges(void **st)
{
    (void)st;
    pol_digest l[4], root, path[POL_MERKLE_PATH_MAX];
    random_digests(l, 4);
    /* [E-MERKLE-2] a single leaf is its own root, with an empty proof */
    assert_int_equal(pol_merkle_root(l, 1, &root), POL_OK);
    assert_memory_equal(root.b, l[0].b, 32);
    size_t pl = POL_MERKLE_PATH_MAX;
    assert_int_equal(pol_merkle_proof(l, 1, 0, path, &pl), POL_OK);
    assert_int_equal(pl, 0);
    assert_int_equal(pol_merkle_verify(&l[0], 0, 1, NULL, 0, &root), POL_OK);
    /* no leaf is in an empty tree */
    assert_int_equal(pol_merkle_root(NULL, 0, &root), POL_OK);
    expect_mismatch(&l[0], 0, 0, NULL, 0, &root, "empty tree");
    /* out-of-range index and small capacity are caller errors for proof */
    pl = POL_MERKLE_PATH_MAX;
    assert_int_equal(pol_merkle_proof(l, 4, 4, path, &pl), POL_ERR_INVALID_ARG);
    assert_int_equal(pl, 0);
    pl = 1;
    assert_int_equal(pol_merkle_proof(l, 4, 0, path, &pl), POL_ERR_INVALID_ARG);
    assert_int_equal(pl, 0);
    pl = 2;
    assert_int_equal(pol_merkle_proof(l, 4, 0, path, &pl), POL_OK);
    assert_int_equal(pl, 2);
    /* an interior node is not a leaf of the same tree: the proof for the
     * left half of 4 leaves with 1 entry fails in a tree of 4 */
    pol_digest left;
    assert_int_equal(pol_merkle_root(l, 2, &left), POL_OK);
    assert_int_equal(pol_merkle_root(l, 4, &root), POL_OK);
    expect_mismatch(&left, 0, 4, &path[1], 1, &root, "interior node");
    /* large trees: the root matches the reference */
    enum { BIG = 1000 };
    pol_digest *big = malloc(BIG * sizeof *big), ref;
    assert_non_null(big);
    random_digests(big, BIG);
    assert_int_equal(pol_merkle_root(big, BIG, &root), POL_OK);
    ref_root(big, BIG, &ref);
    assert_memory_equal(root.b, ref.b, 32);
    for (size_t i = 0; i < BIG; i += 37) {
        pl = POL_MERKLE_PATH_MAX;
        assert_int_equal(pol_merkle_proof(big, BIG, i, path, &pl), POL_OK);
        assert_int_equal(pol_merkle_verify(&big[i], i, BIG, path, pl, &root), POL_OK);
    }
    free(big);
}

/* ----------------------------------------------------------------- state */

static void make_tensor(pol_tensor *t, const char *name, pol_dtype dt, int nd,
                        const int64_t *shape)
{
    assert_int_equal(pol_tensor_alloc(t, name, dt, nd, shape), POL_OK);
    uint8_t *p = t->data;
    for (size_t i = 0; i < t->nbytes; i++)
        p[i] = (uint8_t)tu_next(&R);
}

/* [E-TENSOR-1]: every field is in the hash. */
static void test_tensor_hash_fields(void **st)
{
    (void)st;
    int64_t s23[] = {2, 3};
    pol_tensor a, b;
    make_tensor(&a, "w", POL_F32, 2, s23);
    assert_int_equal(pol_tensor_alloc(&b, "w", POL_F32, 2, s23), POL_OK);
    memcpy(b.data, a.data, a.nbytes);
    pol_digest da, db;
    assert_int_equal(pol_tensor_hash(&a, &da), POL_OK);
    assert_int_equal(pol_tensor_hash(&b, &db), POL_OK);
    assert_memory_equal(da.b, db.b, 32);

    /* shape [3,2] and [6]: same bytes, different tensor */
    b.shape[0] = 3, b.shape[1] = 2;
    assert_int_equal(pol_tensor_hash(&b, &db), POL_OK);
    assert_memory_not_equal(da.b, db.b, 32);
    b.ndim = 1, b.shape[0] = 6, b.shape[1] = 0;
    assert_int_equal(pol_tensor_hash(&b, &db), POL_OK);
    assert_memory_not_equal(da.b, db.b, 32);
    b.ndim = 2, b.shape[0] = 2, b.shape[1] = 3;
    /* dtype: F32 and I32 have the same size */
    b.dtype = POL_I32;
    assert_int_equal(pol_tensor_hash(&b, &db), POL_OK);
    assert_memory_not_equal(da.b, db.b, 32);
    b.dtype = POL_F32;
    /* name */
    strcpy(b.name, "v");
    assert_int_equal(pol_tensor_hash(&b, &db), POL_OK);
    assert_memory_not_equal(da.b, db.b, 32);
    strcpy(b.name, "w");
    /* every data byte */
    for (size_t i = 0; i < b.nbytes; i++) {
        ((uint8_t *)b.data)[i] ^= 0x80;
        assert_int_equal(pol_tensor_hash(&b, &db), POL_OK);
        assert_memory_not_equal(da.b, db.b, 32);
        ((uint8_t *)b.data)[i] ^= 0x80;
    }
    assert_int_equal(pol_tensor_hash(&b, &db), POL_OK);
    assert_memory_equal(da.b, db.b, 32);

    /* malformed tensors are refused, output zeroed */
    pol_digest zero = {{0}};
    b.nbytes = 20;
    assert_int_equal(pol_tensor_hash(&b, &db), POL_ERR_INVALID_ARG);
    assert_memory_equal(db.b, zero.b, 32);
    b.nbytes = 24;
    b.dtype = (pol_dtype)9;
    assert_int_equal(pol_tensor_hash(&b, &db), POL_ERR_INVALID_ARG);
    b.dtype = POL_F32;
    b.ndim = 5;
    assert_int_equal(pol_tensor_hash(&b, &db), POL_ERR_INVALID_ARG);
    b.ndim = 2;
    b.shape[0] = -2, b.shape[1] = -3;
    assert_int_equal(pol_tensor_hash(&b, &db), POL_ERR_INVALID_ARG);
    b.shape[0] = 2, b.shape[1] = 3;
    strcpy(b.name, "bad name");
    assert_int_equal(pol_tensor_hash(&b, &db), POL_ERR_INVALID_ARG);
    strcpy(b.name, "w");
    assert_int_equal(pol_tensor_hash(&b, &db), POL_OK);
    pol_tensor_free(&a);
    pol_tensor_free(&b);
}

/* [E-STATE-1] [E-STATE-2]: independent of input order; duplicates refused. */
static void test_state_order_and_duplicates(void **st)
{
    (void)st;
    enum { N = 40 };
    pol_tensor ts[N];
    const pol_tensor *p[N];
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "layer%d/%s", i % 7, i % 2 ? "w" : "b");
        snprintf(name + strlen(name), sizeof name - strlen(name), ".%d", i);
        int64_t shape[2] = {(int64_t)(tu_next(&R) % 5), (int64_t)(tu_next(&R) % 9)};
        make_tensor(&ts[i], name, (pol_dtype)(1 + i % 4), 1 + i % 2, shape);
        p[i] = &ts[i];
    }
    pol_digest h0, h;
    assert_int_equal(pol_state_hash(p, N, &h0), POL_OK);
    const pol_tensor *saved[N];
    memcpy(saved, p, sizeof p);
    for (int round = 0; round < 20; round++) {
        for (int i = N - 1; i > 0; i--) {
            int j = (int)(tu_next(&R) % (uint64_t)(i + 1));
            const pol_tensor *t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        memcpy(saved, p, sizeof p);
        assert_int_equal(pol_state_hash(p, N, &h), POL_OK);
        assert_memory_equal(h0.b, h.b, 32);
        assert_memory_equal(saved, p, sizeof p); /* the caller's array is untouched */
    }
    /* manual composition: sorted leaves -> root -> wrap */
    pol_digest leaves[N], root, h2;
    const pol_tensor *order[N];
    assert_int_equal(pol_state_leaves(p, N, leaves, order), POL_OK);
    for (int i = 1; i < N; i++)
        assert_true(strcmp(order[i - 1]->name, order[i]->name) < 0);
    for (int i = 0; i < N; i++) {
        pol_digest d;
        assert_int_equal(pol_tensor_hash(order[i], &d), POL_OK);
        assert_memory_equal(d.b, leaves[i].b, 32);
    }
    assert_int_equal(pol_merkle_root(leaves, N, &root), POL_OK);
    assert_int_equal(pol_state_hash_from_root(N, &root, &h2), POL_OK);
    assert_memory_equal(h0.b, h2.b, 32);
    /* the count is bound in: same root with another n differs */
    assert_int_equal(pol_state_hash_from_root(N + 1, &root, &h2), POL_OK);
    assert_memory_not_equal(h0.b, h2.b, 32);

    /* a changed byte anywhere changes the state hash */
    ((uint8_t *)ts[3].data)[0] ^= 1;
    if (ts[3].nbytes) {
        assert_int_equal(pol_state_hash(p, N, &h), POL_OK);
        assert_memory_not_equal(h0.b, h.b, 32);
    }
    ((uint8_t *)ts[3].data)[0] ^= 1;

    /* duplicates: the same name twice, by pointer or by copy */
    pol_digest zero = {{0}};
    const pol_tensor *dup[3] = {&ts[0], &ts[1], &ts[0]};
    assert_int_equal(pol_state_hash(dup, 3, &h), POL_ERR_INVALID_ARG);
    assert_memory_equal(h.b, zero.b, 32);
    pol_tensor copy = ts[5];
    copy.owns = 0;
    const pol_tensor *dup2[3] = {&ts[5], &ts[6], &copy};
    assert_int_equal(pol_state_hash(dup2, 3, &h), POL_ERR_INVALID_ARG);
    assert_non_null(strstr(pol_last_error(), ts[5].name));
    /* a NULL entry or a malformed tensor */
    const pol_tensor *withnull[2] = {&ts[0], NULL};
    assert_int_equal(pol_state_hash(withnull, 2, &h), POL_ERR_INVALID_ARG);
    copy.nbytes += 1;
    const pol_tensor *bad[2] = {&ts[0], &copy};
    assert_int_equal(pol_state_hash(bad, 2, &h), POL_ERR_INVALID_ARG);

    for (int i = 0; i < N; i++)
        pol_tensor_free(&ts[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_vectors_tensors_and_state),
        cmocka_unit_test(test_vectors_merkle),
        cmocka_unit_test(test_merkle_proofs_exhaustive),
        cmocka_unit_test(test_merkle_edges),
        cmocka_unit_test(test_tensor_hash_fields),
        cmocka_unit_test(test_state_order_and_duplicates),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
