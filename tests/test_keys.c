/* Keys, BIP-340 signatures, envelopes and key files (spec/wire.md).
 *
 * Known answers: the BIP-340 test vectors (bip-0340/test-vectors.csv of the
 * BIPs repository, vectors 0-14), copied below as data. Test names cite the
 * spec ids they prove. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "../lib/commit/keys_internal.h"
#include "pol/keys.h"
#include "pol/wire.h"
#include "testutil.h"

static tu_rng R;

static int setup(void **st)
{
    (void)st;
    tu_rng_init(&R, tu_seed());
    return 0;
}

static void unhex(const char *h, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(h), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)tu_next(&R);
}

/* ------------------------------------------------------ BIP-340 vectors */

typedef struct {
    const char *sk, *pk, *aux, *msg, *sig;
    int ok;
} bip340_vec;

static const bip340_vec V[] = {
    /* 0 */ {"0000000000000000000000000000000000000000000000000000000000000003", "F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9", "0000000000000000000000000000000000000000000000000000000000000000",
     "0000000000000000000000000000000000000000000000000000000000000000",
     "E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA8215"
     "25F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0", 1},
    /* 1 */ {"B7E151628AED2A6ABF7158809CF4F3C762E7160F38B4DA56A784D9045190CFEF", "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", "0000000000000000000000000000000000000000000000000000000000000001",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6896BD60EEAE296DB48A229FF71DFE071BDE413E6D43F917DC8DCF8C78DE3341"
     "8906D11AC976ABCCB20B091292BFF4EA897EFCB639EA871CFA95F6DE339E4B0A", 1},
    /* 2 */ {"C90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B14E5C9", "DD308AFEC5777E13121FA72B9CC1B7CC0139715309B086C960E18FD969774EB8", "C87AA53824B4D7AE2EB035A2B5BBBCCC080E76CDC6D1692C4B0B62D798E6D906",
     "7E2D58D8B3BCDF1ABADEC7829054F90DDA9805AAB56C77333024B9D0A508B75C",
     "5831AAEED7B44BB74E5EAB94BA9D4294C49BCF2A60728D8B4C200F50DD313C1B"
     "AB745879A5AD954A72C45A91C3A51D3C7ADEA98D82F8481E0E1E03674A6F3FB7", 1},
    /* 3 */ {"0B432B2677937381AEF05BB02A66ECD012773062CF3FA2549E44F58ED2401710", "25D1DFF95105F5253C4022F628A996AD3A0D95FBF21D468A1B33F8C160D8F517", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
     "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
     "7EB0509757E246F19449885651611CB965ECC1A187DD51B64FDA1EDC9637D5EC"
     "97582B9CB13DB3933705B32BA982AF5AF25FD78881EBB32771FC5922EFC66EA3", 1},
    /* 4 */ {NULL, "D69C3509BB99E412E68B0FE8544E72837DFA30746D8BE2AA65975F29D22DC7B9", NULL,
     "4DF3C3F68FCC83B27E9D42C90431A72499F17875C81A599B566C9889B9696703",
     "00000000000000000000003B78CE563F89A0ED9414F5AA28AD0D96D6795F9C63"
     "76AFB1548AF603B3EB45C9F8207DEE1060CB71C04E80F593060B07D28308D7F4", 1},
    /* 5 */ {NULL, "EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34", NULL,
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
     "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B", 0},
    /* 6 */ {NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "FFF97BD5755EEEA420453A14355235D382F6472F8568A18B2F057A1460297556"
     "3CC27944640AC607CD107AE10923D9EF7A73C643E166BE5EBEAFA34B1AC553E2", 0},
    /* 7 */ {NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "1FA62E331EDBC21C394792D2AB1100A7B432B013DF3F6FF4F99FCB33E0E1515F"
     "28890B3EDB6E7189B630448B515CE4F8622A954CFE545735AAEA5134FCCDB2BD", 0},
    /* 8 */ {NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
     "961764B3AA9B2FFCB6EF947B6887A226E8D7C93E00C5ED0C1834FF0D0C2E6DA6", 0},
    /* 9 */ {NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "0000000000000000000000000000000000000000000000000000000000000000"
     "123DDA8328AF9C23A94C1FEECFD123BA4FB73476F0D594DCB65C6425BD186051", 0},
    /* 10 */ {NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "0000000000000000000000000000000000000000000000000000000000000001"
     "7615FBAF5AE28864013C099742DEADB4DBA87F11AC6754F93780D5A1837CF197", 0},
    /* 11 */ {NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "4A298DACAE57395A15D0795DDBFD1DCB564DA82B0F269BC70A74F8220429BA1D"
     "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B", 0},
    /* 12 */ {NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F"
     "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B", 0},
    /* 13 */ {NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
     "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", 0},
    /* 14 */ {NULL, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC30", NULL,
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
     "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B", 0},
};

static void test_bip340_vectors(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        uint8_t pk[32], msg[32], sig[64];
        unhex(V[i].pk, pk, 32);
        unhex(V[i].msg, msg, 32);
        unhex(V[i].sig, sig, 64);
        if (V[i].sk) { /* signing: same key, same signature with the given aux */
            uint8_t sk[32], aux[32], got_pk[32], got_sig[64];
            pol_keypair kp;
            unhex(V[i].sk, sk, 32);
            unhex(V[i].aux, aux, 32);
            assert_int_equal(pol_keypair_from_secret(sk, &kp), POL_OK);
            assert_int_equal(pol_keypair_pubkey(&kp, got_pk), POL_OK);
            assert_memory_equal(got_pk, pk, 32);
            assert_int_equal(pol__schnorr_sign(&kp, msg, aux, got_sig), POL_OK);
            if (memcmp(got_sig, sig, 64) != 0)
                fail_msg("BIP-340 vector %zu: signature differs", i);
            pol_keypair_clear(&kp);
        }
        pol_status s = pol_schnorr_verify(pk, msg, sig);
        if ((s == POL_OK) != V[i].ok)
            fail_msg("BIP-340 vector %zu: verify gave %s, want %s", i, pol_strerror(s),
                     V[i].ok ? "ok" : "failure");
        if (!V[i].ok)
            assert_true(s == POL_ERR_SIGNATURE || s == POL_ERR_FORMAT);
    }
}

static void test_bad_secret_rejected(void **st)
{
    (void)st;
    uint8_t zero[32] = {0}, order[32];
    pol_keypair kp;
    unhex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", order, 32);
    assert_int_equal(pol_keypair_from_secret(zero, &kp), POL_ERR_FORMAT);
    assert_int_equal(pol_keypair_from_secret(order, &kp), POL_ERR_FORMAT);
}

/* --------------------------------------------------------- envelopes */

static void make_key(pol_keypair *kp, uint8_t pub[32])
{
    assert_int_equal(pol_keypair_generate(kp), POL_OK);
    assert_int_equal(pol_keypair_pubkey(kp, pub), POL_OK);
}

/* [W-SIG-1] [W-ENV-3] */
static void test_envelope_sign_verify(void **st)
{
    (void)st;
    pol_keypair kp;
    uint8_t pub[32], signer[32], body[300];
    make_key(&kp, pub);
    for (size_t len = 0; len <= sizeof body; len += 37) {
        fill(body, len);
        uint8_t *env, *got;
        size_t env_len, got_len;
        assert_int_equal(pol_envelope_seal(POL_MSG_CERTIFICATE, body, len, &kp, &env, &env_len),
                         POL_OK);
        assert_int_equal(pol_envelope_open(env, env_len, POL_MSG_CERTIFICATE, &got, &got_len,
                                           signer),
                         POL_OK);
        assert_int_equal(got_len, len);
        if (len)
            assert_memory_equal(got, body, len);
        assert_memory_equal(signer, pub, 32);
        free(got);
        /* wrong type asked for */
        assert_int_equal(pol_envelope_open(env, env_len, POL_MSG_REPORT, &got, &got_len, signer),
                         POL_ERR_MISMATCH);
        assert_null(got);
        free(env);
    }
    pol_keypair_clear(&kp);
}

/* Every single-bit change to an envelope is caught: a bad signature, a
 * format error or a type mismatch, never success. [W-ENV-3] */
static void test_envelope_tamper(void **st)
{
    (void)st;
    pol_keypair kp, other;
    uint8_t pub[32], pub2[32], signer[32], body[64];
    make_key(&kp, pub);
    make_key(&other, pub2);
    fill(body, sizeof body);
    uint8_t *env, *got;
    size_t env_len, got_len;
    assert_int_equal(pol_envelope_seal(POL_MSG_REPORT, body, sizeof body, &kp, &env, &env_len),
                     POL_OK);
    for (size_t bit = 0; bit < env_len * 8; bit++) {
        env[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        pol_status s = pol_envelope_open(env, env_len, POL_MSG_REPORT, &got, &got_len, signer);
        if (s == POL_OK)
            fail_msg("flipping bit %zu of the envelope went unnoticed", bit);
        assert_null(got);
        assert_int_equal(got_len, 0);
        env[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* tampered body / signature / key / type, field by field */
    const size_t sig_off = env_len - 64, key_off = env_len - 64 - 2 - 32;
    env[sig_off + 10] ^= 1;
    assert_int_equal(pol_envelope_open(env, env_len, POL_MSG_REPORT, &got, &got_len, signer),
                     POL_ERR_SIGNATURE);
    env[sig_off + 10] ^= 1;
    memcpy(env + key_off, pub2, 32); /* another valid key */
    assert_int_equal(pol_envelope_open(env, env_len, POL_MSG_REPORT, &got, &got_len, signer),
                     POL_ERR_SIGNATURE);
    memcpy(env + key_off, pub, 32);
    env[1] = POL_MSG_CERTIFICATE; /* the type byte: field 1, varint */
    assert_int_equal(pol_envelope_open(env, env_len, POL_MSG_CERTIFICATE, &got, &got_len, signer),
                     POL_ERR_SIGNATURE);
    env[1] = POL_MSG_REPORT;
    assert_int_equal(pol_envelope_open(env, env_len, POL_MSG_REPORT, &got, &got_len, signer),
                     POL_OK);
    free(got);
    free(env);
    pol_keypair_clear(&kp);
    pol_keypair_clear(&other);
}

/* [W-SIG-2] the digest is SHA-256(tag || 0x00 || u32le type || body). */
static void test_envelope_digest_definition(void **st)
{
    (void)st;
    const uint8_t body[] = "abc";
    uint8_t msg[64];
    const char tag[] = "libpol/envelope/certificate/v1";
    size_t n = 0;
    memcpy(msg, tag, sizeof tag); /* with its NUL */
    n += sizeof tag;
    const uint8_t t[4] = {2, 0, 0, 0};
    memcpy(msg + n, t, 4);
    n += 4;
    memcpy(msg + n, body, 3);
    n += 3;
    pol_digest want, got;
    assert_int_equal(pol_sha256(msg, n, &want), POL_OK);
    assert_int_equal(pol_envelope_digest(POL_MSG_CERTIFICATE, body, 3, &got), POL_OK);
    assert_memory_equal(got.b, want.b, 32);
    assert_int_equal(pol_envelope_digest(POL_MSG_REPORT, body, 3, &got), POL_OK);
    assert_memory_not_equal(got.b, want.b, 32);
    assert_int_equal(pol_envelope_digest(0, body, 3, &got), POL_ERR_INVALID_ARG);
    assert_int_equal(pol_envelope_digest(99, body, 3, &got), POL_ERR_INVALID_ARG);
}

/* [W-ENV-4] */
static void test_envelope_id(void **st)
{
    (void)st;
    pol_keypair kp;
    uint8_t pub[32];
    make_key(&kp, pub);
    uint8_t *a, *b;
    size_t la, lb;
    assert_int_equal(pol_envelope_seal(POL_MSG_TASK, (const uint8_t *)"x", 1, &kp, &a, &la),
                     POL_OK);
    assert_int_equal(pol_envelope_seal(POL_MSG_TASK, (const uint8_t *)"x", 1, &kp, &b, &lb),
                     POL_OK);
    pol_digest ia, ib, want;
    assert_int_equal(pol_envelope_id(a, la, &ia), POL_OK);
    assert_int_equal(pol_envelope_id(b, lb, &ib), POL_OK);
    assert_int_equal(pol_sha256(a, la, &want), POL_OK);
    assert_memory_equal(ia.b, want.b, 32);
    /* fresh aux randomness: two seals of the same body differ */
    assert_memory_not_equal(ia.b, ib.b, 32);
    free(a);
    free(b);
    pol_keypair_clear(&kp);
}

static void test_envelope_caps(void **st)
{
    (void)st;
    uint8_t *body, signer[32];
    size_t n;
    static const uint8_t junk[8];
    assert_int_equal(pol_envelope_open(junk, POL_WIRE_MAX_ENVELOPE + (size_t)1, POL_MSG_TASK,
                                       &body, &n, signer),
                     POL_ERR_TOO_LARGE);
    assert_int_equal(pol_envelope_open(junk, 0, POL_MSG_TASK, &body, &n, signer),
                     POL_ERR_MISMATCH); /* empty envelope: type 0 */
    assert_int_equal(pol_envelope_open(junk, 0, 77, &body, &n, signer), POL_ERR_INVALID_ARG);
}

/* ---------------------------------------------------------- key files */

static void test_keyfiles(void **st)
{
    (void)st;
    const char *dir = tu_tmpdir();
    char skp[512], pkp[512];
    snprintf(skp, sizeof skp, "%s/k.key", dir);
    snprintf(pkp, sizeof pkp, "%s/k.pub", dir);
    pol_keypair kp, back;
    uint8_t pub[32], pub_back[32], p1[32], p2[32];
    make_key(&kp, pub);
    /* [W-KEYFILE-1] 0600, 65 bytes */
    assert_int_equal(pol_seckey_save(skp, &kp), POL_OK);
    struct stat sb;
    assert_int_equal(stat(skp, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, 65);
    assert_int_equal(pol_pubkey_save(pkp, pub), POL_OK);
    assert_int_equal(stat(pkp, &sb), 0);
    assert_int_equal(sb.st_size, 65);
    /* no overwrite */
    pol_keypair kp2;
    make_key(&kp2, p2);
    assert_int_equal(pol_seckey_save(skp, &kp2), POL_ERR_EXISTS);
    assert_int_equal(pol_pubkey_save(pkp, p2), POL_ERR_EXISTS);
    /* round trip */
    assert_int_equal(pol_seckey_load(skp, &back), POL_OK);
    assert_int_equal(pol_keypair_pubkey(&back, p1), POL_OK);
    assert_memory_equal(p1, pub, 32);
    assert_int_equal(pol_pubkey_load(pkp, pub_back), POL_OK);
    assert_memory_equal(pub_back, pub, 32);
    /* [W-KEYFILE-2] group- or world-accessible secret refused */
    assert_int_equal(chmod(skp, 0640), 0);
    assert_int_equal(pol_seckey_load(skp, &back), POL_ERR_INVALID_ARG);
    assert_non_null(strstr(pol_last_error(), "chmod 600"));
    assert_int_equal(chmod(skp, 0604), 0);
    assert_int_equal(pol_seckey_load(skp, &back), POL_ERR_INVALID_ARG);
    assert_int_equal(chmod(skp, 0400), 0);
    assert_int_equal(pol_seckey_load(skp, &back), POL_OK);
    /* a public key file never reads as a secret, whatever its mode */
    assert_int_equal(chmod(pkp, 0600), 0);
    assert_int_equal(pol_seckey_load(pkp, &back), POL_ERR_INVALID_ARG);
    assert_non_null(strstr(pol_last_error(), "public key file (.pub)"));
    char other_pub[600];
    snprintf(other_pub, sizeof other_pub, "%s/other.pub", dir);
    assert_int_equal(pol_seckey_save(other_pub, &kp), POL_ERR_INVALID_ARG);
    assert_int_equal(access(other_pub, F_OK), -1);
    /* malformed files */
    char bad[512];
    snprintf(bad, sizeof bad, "%s/bad.pub", dir);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("ABCDEF\n", f);
    fclose(f);
    assert_int_equal(pol_pubkey_load(bad, pub_back), POL_ERR_FORMAT);
    snprintf(bad, sizeof bad, "%s/none.pub", dir);
    assert_int_equal(pol_pubkey_load(bad, pub_back), POL_ERR_NOT_FOUND);
    /* not regular files: a directory, and a FIFO with no writer (which a
     * blocking open would wait on forever) */
    assert_int_equal(pol_pubkey_load(dir, pub_back), POL_ERR_INVALID_ARG);
    assert_int_equal(pol_seckey_load(dir, &back), POL_ERR_INVALID_ARG);
    snprintf(bad, sizeof bad, "%s/fifo.key", dir);
    assert_int_equal(mkfifo(bad, 0600), 0);
    assert_int_equal(pol_seckey_load(bad, &back), POL_ERR_INVALID_ARG);
    assert_non_null(strstr(pol_last_error(), "not a regular file"));
    assert_int_equal(pol_pubkey_load(bad, pub_back), POL_ERR_INVALID_ARG);
    /* a key file larger than the cap is refused: a megabyte of hex digits,
     * as a public key and (mode 0600) as a secret one */
    char huge_pub[512], huge_key[512];
    snprintf(huge_pub, sizeof huge_pub, "%s/huge.pub", dir);
    snprintf(huge_key, sizeof huge_key, "%s/huge.key", dir);
    f = fopen(huge_pub, "w");
    assert_non_null(f);
    for (int i = 0; i < (1 << 20) / 64; i++)
        fputs("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", f);
    fclose(f);
    assert_int_equal(pol_pubkey_load(huge_pub, pub_back), POL_ERR_TOO_LARGE);
    assert_non_null(strstr(pol_last_error(), "exceeds the cap"));
    assert_int_equal(rename(huge_pub, huge_key), 0);
    assert_int_equal(chmod(huge_key, 0600), 0);
    assert_int_equal(pol_seckey_load(huge_key, &back), POL_ERR_TOO_LARGE);
    /* hex helpers */
    char hex[65];
    pol_pubkey_to_hex(pub, hex);
    assert_int_equal(pol_pubkey_from_hex(hex, p1), POL_OK);
    assert_memory_equal(p1, pub, 32);
    hex[3] = 'G';
    assert_int_equal(pol_pubkey_from_hex(hex, p1), POL_ERR_FORMAT);
    pol_keypair_clear(&kp);
    pol_keypair_clear(&kp2);
    pol_keypair_clear(&back);
}

static void test_keygen_program(void **st)
{
    (void)st;
    char bin[512], cmd[2048], path[1024];
    const char *dir = tu_tmpdir();
    tu_bin("pol-keygen", bin, sizeof bin);
    snprintf(cmd, sizeof cmd, "%s --out %s/solver >/dev/null 2>&1", bin, dir);
    assert_int_equal(tu_system(cmd), 0);
    snprintf(path, sizeof path, "%s/solver.key", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    pol_keypair kp;
    uint8_t a[32], b[32];
    assert_int_equal(pol_seckey_load(path, &kp), POL_OK);
    assert_int_equal(pol_keypair_pubkey(&kp, a), POL_OK);
    snprintf(path, sizeof path, "%s/solver.pub", dir);
    assert_int_equal(pol_pubkey_load(path, b), POL_OK);
    assert_memory_equal(a, b, 32);
    /* refuses to overwrite */
    assert_int_not_equal(tu_system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s --help >/dev/null 2>&1", bin);
    assert_int_equal(tu_system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s >/dev/null 2>&1", bin);
    assert_int_not_equal(tu_system(cmd), 0);
    pol_keypair_clear(&kp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bip340_vectors),
        cmocka_unit_test(test_bad_secret_rejected),
        cmocka_unit_test(test_envelope_sign_verify),
        cmocka_unit_test(test_envelope_tamper),
        cmocka_unit_test(test_envelope_digest_definition),
        cmocka_unit_test(test_envelope_id),
        cmocka_unit_test(test_envelope_caps),
        cmocka_unit_test(test_keyfiles),
        cmocka_unit_test(test_keygen_program),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
