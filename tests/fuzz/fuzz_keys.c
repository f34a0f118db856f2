/* libFuzzer target: the key file readers pol_seckey_load and pol_pubkey_load
 * (include/pol/keys.h; spec/wire.md, "Key files").
 *
 * Both take a path, so each input is written to one file of this process,
 * made by mkstemp and kept at mode 0600: pol_seckey_load refuses a file that
 * group or others may access before it reads a byte [W-KEYFILE-2], and 0600
 * is what lets the input reach its parser. Checks:
 *  - Both readers accept exactly the inputs a reference parser below calls
 *    well formed (64 lowercase hex digits, optionally one newline; so at most
 *    65 bytes), less the invalid keys: a secret key file loads iff
 *    pol_keypair_from_secret takes the digits, a public key file iff
 *    pol_pubkey_check takes them.
 *  - A loaded secret key is the keypair of the digits it holds (same bytes,
 *    same public key, and that public key is a valid key); a loaded public key
 *    is the digits: pol_pubkey_to_hex gives them back, pol_pubkey_from_hex
 *    agrees.
 *  - A file over POL_KEYFILE_MAX bytes is POL_ERR_TOO_LARGE for both.
 *  - With the file at mode 0640, pol_seckey_load is POL_ERR_INVALID_ARG
 *    whatever the file holds.
 *  - Outputs are zeroed on every failure. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "pol/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define key_path fuzz_tmp_path

/* The per-process key file, holding exactly data[0..size). */
static void put_file(const uint8_t *data, size_t size)
{
    int fd = fuzz_tmp_file("/tmp/pol-fuzz-keys.XXXXXX");
    if (fchmod(fd, 0600) != 0)
        abort();
    fuzz_file_set(fd, data, size);
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Reference: 64 lowercase hex digits, then nothing or one '\n'. */
static int well_formed(const uint8_t *d, size_t n, uint8_t out[32])
{
    if (n != 64 && !(n == 65 && d[64] == '\n'))
        return 0;
    return fuzz_hex64((const char *)d, out);
}

static void check_seckey(size_t size, int ref_ok, const uint8_t raw[32])
{
    pol_keypair kp, want;
    pol_status st = pol_seckey_load(key_path, &kp);
    if (size > POL_KEYFILE_MAX && st != POL_ERR_TOO_LARGE)
        abort();
    if (st != POL_OK) {
        if (!all_zero(&kp, sizeof kp))
            abort();
        if (ref_ok && pol_keypair_from_secret(raw, &want) == POL_OK)
            abort(); /* a valid key file was refused */
        return;
    }
    uint8_t pub[POL_PUBKEY_LEN], want_pub[POL_PUBKEY_LEN];
    if (!ref_ok || pol_keypair_from_secret(raw, &want) != POL_OK)
        abort(); /* accepted something malformed */
    if (memcmp(&kp, &want, sizeof kp) != 0 || pol_keypair_pubkey(&kp, pub) != POL_OK ||
        pol_keypair_pubkey(&want, want_pub) != POL_OK || memcmp(pub, want_pub, sizeof pub) != 0 ||
        pol_pubkey_check(pub) != POL_OK)
        abort();
    pol_keypair_clear(&kp);
    pol_keypair_clear(&want);
}

static void check_pubkey(const uint8_t *data, size_t size, int ref_ok, const uint8_t raw[32])
{
    uint8_t pub[POL_PUBKEY_LEN], again[POL_PUBKEY_LEN];
    char hex[65];
    pol_status st = pol_pubkey_load(key_path, pub);
    if (size > POL_KEYFILE_MAX && st != POL_ERR_TOO_LARGE)
        abort();
    if (st != POL_OK) {
        if (!all_zero(pub, sizeof pub))
            abort();
        if (ref_ok && pol_pubkey_check(raw) == POL_OK)
            abort(); /* a valid key file was refused */
        return;
    }
    if (!ref_ok || memcmp(pub, raw, sizeof pub) != 0 || pol_pubkey_check(pub) != POL_OK)
        abort();
    pol_pubkey_to_hex(pub, hex);
    if (memcmp(hex, data, 64) != 0 || pol_pubkey_from_hex(hex, again) != POL_OK ||
        memcmp(again, pub, sizeof pub) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t raw[32] = { 0 };
    pol_keypair kp;
    int ref_ok = well_formed(data, size, raw);
    put_file(data, size);
    check_seckey(size, ref_ok, raw);
    check_pubkey(data, size, ref_ok, raw);
    /* Too open: refused before the contents matter. */
    if (fchmod(fuzz_tmp_fd, 0640) != 0)
        abort();
    if (pol_seckey_load(key_path, &kp) != POL_ERR_INVALID_ARG || !all_zero(&kp, sizeof kp))
        abort();
    return 0;
}
