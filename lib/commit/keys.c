/* BIP-340 keys and signatures over libsecp256k1; key files (spec/wire.md). */
#include "pol/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "../io/fileio_int.h"
#include "keys_internal.h"

_Static_assert(sizeof(secp256k1_keypair) == sizeof(pol_keypair), "pol_keypair size");

/* ---------------------------------------------------------------- helpers */

void pol__wipe(void *p, size_t n)
{
    explicit_bzero(p, n);
}

pol_status pol__random_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return pol_errorf(POL_ERR_IO, "getrandom: %s", strerror(errno));
        }
        p += r;
        n -= (size_t)r;
    }
    return POL_OK;
}

/* One context for the process: created and randomized once, then only read
 * (libsecp256k1 allows concurrent use of a const context). */
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static secp256k1_context *ctx_global;
static pol_status ctx_status = POL_ERR_INTERNAL;

static void ctx_init(void)
{
    uint8_t seed[32];
    secp256k1_context *c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!c)
        return;
    if (pol__random_bytes(seed, sizeof seed) != POL_OK) {
        ctx_status = POL_ERR_IO;
        secp256k1_context_destroy(c);
        return;
    }
    int ok = secp256k1_context_randomize(c, seed);
    pol__wipe(seed, sizeof seed);
    if (!ok) {
        secp256k1_context_destroy(c);
        return;
    }
    ctx_global = c;
    ctx_status = POL_OK;
}

static pol_status get_ctx(const secp256k1_context **out)
{
    pthread_once(&ctx_once, ctx_init);
    *out = ctx_global;
    if (!ctx_global)
        return pol_errorf(ctx_status, "secp256k1: cannot create a randomized context");
    return POL_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* 64 lowercase hex digits, then `len - 64` bytes that must be "" or "\n". */
static int parse_hex32(const char *s, size_t len, uint8_t out[32])
{
    if (len != 64 && !(len == 65 && s[64] == '\n'))
        return 0;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

static void to_hex32(const uint8_t in[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        hex[2 * i] = digits[in[i] >> 4];
        hex[2 * i + 1] = digits[in[i] & 15];
    }
    hex[64] = '\0';
}

/* ---------------------------------------------------------------- keypairs */

pol_status pol_keypair_from_secret(const uint8_t seckey[POL_SECKEY_LEN], pol_keypair *kp)
{
    const secp256k1_context *ctx;
    pol_status st = get_ctx(&ctx);
    memset(kp, 0, sizeof *kp);
    if (st != POL_OK)
        return st;
    if (!secp256k1_keypair_create(ctx, (secp256k1_keypair *)kp->opaque, seckey)) {
        pol__wipe(kp, sizeof *kp);
        return pol_errorf(POL_ERR_FORMAT, "secret key is not a valid secp256k1 scalar");
    }
    return POL_OK;
}

pol_status pol_keypair_generate(pol_keypair *kp)
{
    uint8_t sk[32];
    memset(kp, 0, sizeof *kp);
    /* A random 32-byte string is a valid scalar except with probability
     * about 2^-128; draw again in that case. */
    for (int tries = 0; tries < 64; tries++) {
        pol_status st = pol__random_bytes(sk, sizeof sk);
        if (st != POL_OK)
            return st;
        st = pol_keypair_from_secret(sk, kp);
        pol__wipe(sk, sizeof sk);
        if (st != POL_ERR_FORMAT)
            return st;
    }
    return pol_errorf(POL_ERR_INTERNAL, "keypair generation: no valid scalar in 64 draws");
}

pol_status pol_keypair_pubkey(const pol_keypair *kp, uint8_t pub[POL_PUBKEY_LEN])
{
    const secp256k1_context *ctx;
    secp256k1_xonly_pubkey xpk;
    memset(pub, 0, POL_PUBKEY_LEN);
    pol_status st = get_ctx(&ctx);
    if (st != POL_OK)
        return st;
    if (!secp256k1_keypair_xonly_pub(ctx, &xpk, NULL, (const secp256k1_keypair *)kp->opaque) ||
        !secp256k1_xonly_pubkey_serialize(ctx, pub, &xpk)) {
        memset(pub, 0, POL_PUBKEY_LEN);
        return pol_errorf(POL_ERR_INTERNAL, "keypair: cannot derive the public key");
    }
    return POL_OK;
}

void pol_keypair_clear(pol_keypair *kp)
{
    if (kp)
        pol__wipe(kp, sizeof *kp);
}

/* --------------------------------------------------------------- signing */

pol_status pol__schnorr_sign(const pol_keypair *kp, const uint8_t msg32[32], const uint8_t *aux32,
                             uint8_t sig[POL_SIG_LEN])
{
    const secp256k1_context *ctx;
    uint8_t aux[32], pub[32];
    memset(sig, 0, POL_SIG_LEN);
    pol_status st = get_ctx(&ctx);
    if (st != POL_OK)
        return st;
    if (aux32) {
        memcpy(aux, aux32, 32);
    } else if ((st = pol__random_bytes(aux, sizeof aux)) != POL_OK) {
        return st;
    }
    int ok = secp256k1_schnorrsig_sign32(ctx, sig, msg32, (const secp256k1_keypair *)kp->opaque,
                                         aux);
    pol__wipe(aux, sizeof aux);
    if (!ok) {
        memset(sig, 0, POL_SIG_LEN);
        return pol_errorf(POL_ERR_INTERNAL, "schnorr: signing failed");
    }
    /* Verify before release: a computation fault must not leak a signature
     * that does not verify (it could reveal the key). */
    if ((st = pol_keypair_pubkey(kp, pub)) != POL_OK || (st = pol_schnorr_verify(pub, msg32, sig)) != POL_OK) {
        memset(sig, 0, POL_SIG_LEN);
        return pol_errorf(POL_ERR_INTERNAL, "schnorr: fresh signature does not verify");
    }
    return POL_OK;
}

pol_status pol_pubkey_check(const uint8_t pub[POL_PUBKEY_LEN])
{
    const secp256k1_context *ctx;
    secp256k1_xonly_pubkey xpk;
    pol_status st = get_ctx(&ctx);
    if (st != POL_OK)
        return st;
    if (!secp256k1_xonly_pubkey_parse(ctx, &xpk, pub))
        return pol_errorf(POL_ERR_FORMAT, "public key is not a valid x-only secp256k1 key");
    return POL_OK;
}

pol_status pol_schnorr_verify(const uint8_t pub[POL_PUBKEY_LEN], const uint8_t msg32[32],
                              const uint8_t sig[POL_SIG_LEN])
{
    const secp256k1_context *ctx;
    secp256k1_xonly_pubkey xpk;
    pol_status st = get_ctx(&ctx);
    if (st != POL_OK)
        return st;
    if (!secp256k1_xonly_pubkey_parse(ctx, &xpk, pub))
        return pol_errorf(POL_ERR_FORMAT, "public key is not a valid x-only secp256k1 key");
    if (!secp256k1_schnorrsig_verify(ctx, sig, msg32, 32, &xpk))
        return pol_errorf(POL_ERR_SIGNATURE, "schnorr signature does not verify");
    return POL_OK;
}

/* -------------------------------------------------------------- key files */

/* Writes a new file with exactly `mode`, never replacing an existing one:
 * temporary file (mkstemp: 0600 from its creation), fsync, link into place
 * (fails with EEXIST if the target appeared), unlink the temporary name,
 * directory fsync. When only the directory fsync fails, the file just linked
 * is removed again: a failure leaves no file (keys.h). */
static pol_status write_new_file(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    struct stat sb;
    if (!path || !*path)
        return pol_errorf(POL_ERR_INVALID_ARG, "key file: empty path");
    if (lstat(path, &sb) == 0)
        return pol_errorf(POL_ERR_EXISTS, "%s: exists; refusing to overwrite a key file", path);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= sizeof tmp)
        return pol_errorf(POL_ERR_IO, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return pol_errorf(POL_ERR_IO, "create %s: %s", tmp, strerror(errno));
    pol_status st = POL_OK;
    const uint8_t *p = data;
    size_t left = len;
    if (fchmod(fd, mode) != 0)
        st = pol_errorf(POL_ERR_IO, "chmod %s: %s", tmp, strerror(errno));
    while (st == POL_OK && left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            st = pol_errorf(POL_ERR_IO, "write %s: %s", tmp, w < 0 ? strerror(errno) : "short");
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (st == POL_OK && fsync(fd) != 0)
        st = pol_errorf(POL_ERR_IO, "fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && st == POL_OK)
        st = pol_errorf(POL_ERR_IO, "close %s: %s", tmp, strerror(errno));
    if (st == POL_OK && link(tmp, path) != 0) {
        if (errno == EEXIST)
            st = pol_errorf(POL_ERR_EXISTS, "%s: exists; refusing to overwrite a key file", path);
        else
            st = pol_errorf(POL_ERR_IO, "link %s -> %s: %s", tmp, path, strerror(errno));
    }
    unlink(tmp);
    if (st != POL_OK)
        return st;
    st = pol_fsync_parent(path);
    if (st != POL_OK)
        unlink(path); /* ours: link() made it and never replaces */
    return st;
}

/* Reads a small key file; with `secret`, refuses one that group or others
 * may access. buf gets at most POL_KEYFILE_MAX bytes. */
static pol_status read_key_file(const char *path, int secret, char buf[POL_KEYFILE_MAX + 1],
                                size_t *len)
{
    struct stat sb;
    *len = 0;
    /* O_NONBLOCK: a FIFO at `path` must not block the open; it is then
     * refused as not a regular file (reads of a regular file ignore it) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return pol_errorf(POL_ERR_NOT_FOUND, "key file %s: no such file", path);
        return pol_errorf(POL_ERR_IO, "open %s: %s", path, strerror(errno));
    }
    pol_status st = POL_OK;
    if (fstat(fd, &sb) != 0) {
        st = pol_errorf(POL_ERR_IO, "stat %s: %s", path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) { /* [W-KEYFILE-2] */
        st = pol_errorf(POL_ERR_INVALID_ARG, "key file %s: not a regular file", path);
    } else if (secret && (sb.st_mode & 077) != 0) {
        st = pol_errorf(POL_ERR_INVALID_ARG,
                        "secret key file %s is accessible by group or others (mode %04o); "
                        "if it is a secret key (pol-keygen's NAME.key, not a public key), "
                        "run: chmod 600 %s",
                        path, (unsigned)(sb.st_mode & 07777), path);
    } else if (sb.st_size > POL_KEYFILE_MAX) {
        st = pol_errorf(POL_ERR_TOO_LARGE, "key file %s: %lld bytes exceeds the cap of %d", path,
                        (long long)sb.st_size, POL_KEYFILE_MAX);
    }
    while (st == POL_OK) {
        ssize_t r = read(fd, buf + *len, POL_KEYFILE_MAX + 1 - *len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = pol_errorf(POL_ERR_IO, "read %s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        *len += (size_t)r;
        if (*len > POL_KEYFILE_MAX)
            st = pol_errorf(POL_ERR_TOO_LARGE, "key file %s exceeds the cap of %d bytes", path,
                            POL_KEYFILE_MAX);
    }
    close(fd);
    if (st != POL_OK) {
        pol__wipe(buf, POL_KEYFILE_MAX + 1);
        *len = 0;
    }
    return st;
}

/* [W-KEYFILE-2] Both files hold 64 hex digits, so a public key file would
 * read as a secret: the .pub name pol-keygen gives it is refused. */
static pol_status not_pub_name(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    if (n >= 4 && !strcmp(path + n - 4, ".pub"))
        return pol_errorf(POL_ERR_INVALID_ARG, "%s is named as a public key file (.pub), not a "
                          "secret key; pol-keygen --out NAME writes the secret to NAME.key", path);
    return POL_OK;
}

pol_status pol_seckey_save(const char *path, const pol_keypair *kp)
{
    const secp256k1_context *ctx;
    uint8_t sk[32];
    char text[66];
    pol_status st = get_ctx(&ctx);
    if (st != POL_OK || (st = not_pub_name(path)) != POL_OK)
        return st;
    if (!secp256k1_keypair_sec(ctx, sk, (const secp256k1_keypair *)kp->opaque))
        return pol_errorf(POL_ERR_INTERNAL, "keypair: cannot read the secret key");
    to_hex32(sk, text);
    text[64] = '\n';
    st = write_new_file(path, text, 65, 0600);
    pol__wipe(sk, sizeof sk);
    pol__wipe(text, sizeof text);
    return st;
}

pol_status pol_seckey_load(const char *path, pol_keypair *kp)
{
    char buf[POL_KEYFILE_MAX + 1];
    uint8_t sk[32];
    size_t len;
    memset(kp, 0, sizeof *kp);
    pol_status st = not_pub_name(path);
    if (st != POL_OK)
        return st;
    st = read_key_file(path, 1, buf, &len);
    if (st != POL_OK)
        return st;
    if (!parse_hex32(buf, len, sk)) {
        st = pol_errorf(POL_ERR_FORMAT,
                        "secret key file %s: want 64 lowercase hex digits and a newline", path);
    } else if ((st = pol_keypair_from_secret(sk, kp)) != POL_OK) {
        st = pol_errorf(st, "secret key file %s: not a valid secp256k1 secret key", path);
    }
    pol__wipe(buf, sizeof buf);
    pol__wipe(sk, sizeof sk);
    return st;
}

pol_status pol_pubkey_save(const char *path, const uint8_t pub[POL_PUBKEY_LEN])
{
    char text[66];
    pol_status st = pol_pubkey_check(pub);
    if (st != POL_OK)
        return st;
    to_hex32(pub, text);
    text[64] = '\n';
    return write_new_file(path, text, 65, 0644);
}

pol_status pol_pubkey_load(const char *path, uint8_t pub[POL_PUBKEY_LEN])
{
    char buf[POL_KEYFILE_MAX + 1];
    size_t len;
    memset(pub, 0, POL_PUBKEY_LEN);
    pol_status st = read_key_file(path, 0, buf, &len);
    if (st != POL_OK)
        return st;
    if (!parse_hex32(buf, len, pub)) {
        memset(pub, 0, POL_PUBKEY_LEN);
        return pol_errorf(POL_ERR_FORMAT,
                          "public key file %s: want 64 lowercase hex digits and a newline", path);
    }
    if ((st = pol_pubkey_check(pub)) != POL_OK) {
        memset(pub, 0, POL_PUBKEY_LEN);
        return pol_errorf(st, "public key file %s: not a valid x-only key", path);
    }
    return POL_OK;
}

pol_status pol_pubkey_from_hex(const char *hex, uint8_t pub[POL_PUBKEY_LEN])
{
    memset(pub, 0, POL_PUBKEY_LEN);
    size_t n = strnlen(hex, 65);
    if (n != 64 || !parse_hex32(hex, n, pub)) {
        memset(pub, 0, POL_PUBKEY_LEN);
        return pol_errorf(POL_ERR_FORMAT, "public key: want 64 lowercase hex digits");
    }
    pol_status st = pol_pubkey_check(pub);
    if (st != POL_OK)
        memset(pub, 0, POL_PUBKEY_LEN);
    return st;
}

void pol_pubkey_to_hex(const uint8_t pub[POL_PUBKEY_LEN], char hex[65])
{
    to_hex32(pub, hex);
}
