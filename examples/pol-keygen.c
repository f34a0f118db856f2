/* pol-keygen: make a BIP-340 signing key for a libpol party.
 *
 *   pol-keygen --out PREFIX     writes PREFIX.key (secret, mode 0600) and
 *                               PREFIX.pub (public key); never overwrites
 *   pol-keygen --version
 *
 * Key file formats: spec/wire.md, "Key files". */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pol/keys.h"
#include "pol/version.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: pol-keygen --out PREFIX\n"
               "       pol-keygen --version\n"
               "  writes PREFIX.key (secret key, mode 0600) and PREFIX.pub (public key);\n"
               "  refuses to overwrite existing files\n");
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "pol-keygen: %s%s\n", msg, arg ? arg : "");
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    const char *prefix = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("pol-keygen (libpol %s)\n", pol_version_string());
            return 0;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            prefix = argv[++i];
        } else if (!strcmp(argv[i], "--out")) {
            return usage_error("--out wants a PREFIX", NULL);
        } else {
            return usage_error(argv[i][0] == '-' ? "unknown option " : "unexpected argument ",
                               argv[i]);
        }
    }
    if (!prefix || !*prefix)
        return usage_error("--out PREFIX is required", NULL);
    char kpath[4096], ppath[4096];
    if ((size_t)snprintf(kpath, sizeof kpath, "%s.key", prefix) >= sizeof kpath ||
        (size_t)snprintf(ppath, sizeof ppath, "%s.pub", prefix) >= sizeof ppath) {
        fprintf(stderr, "pol-keygen: prefix too long\n");
        return 2;
    }
    if (access(kpath, F_OK) == 0 || access(ppath, F_OK) == 0) {
        fprintf(stderr, "pol-keygen: %s or %s exists; refusing to overwrite\n", kpath, ppath);
        return 1;
    }
    pol_keypair kp;
    uint8_t pub[POL_PUBKEY_LEN];
    char hex[65];
    pol_status st = pol_keypair_generate(&kp);
    if (st == POL_OK)
        st = pol_keypair_pubkey(&kp, pub);
    if (st == POL_OK)
        st = pol_seckey_save(kpath, &kp);
    pol_keypair_clear(&kp);
    if (st == POL_OK) {
        st = pol_pubkey_save(ppath, pub);
        if (st != POL_OK)
            unlink(kpath); /* no secret without its public half */
    }
    if (st != POL_OK) {
        fprintf(stderr, "pol-keygen: %s: %s\n", pol_strerror(st), pol_last_error());
        return 1;
    }
    pol_pubkey_to_hex(pub, hex);
    printf("%s\n", hex);
    return 0;
}
