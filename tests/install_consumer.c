/* A program built outside the tree against an installed libpol
 * (tests/install_test.sh): the library's version, one SHA-256 (FIPS 180-2's
 * "abc" example) and whether CUDA is usable, which in a CUDA build reaches
 * the kernels' part of the library and, through it, the rest.
 * Prints "libpol VERSION sha256 ok cuda: ..." and exits 0, or says what
 * failed and exits 1. */
#include <pol/cuda.h>
#include <pol/hash.h>
#include <pol/status.h>
#include <pol/version.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    static const char abc_sha256[] =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    pol_sha256_ctx *h;
    pol_digest d;
    char hex[POL_DIGEST_HEX_LEN + 1];
    if (pol_sha256_new(&h) || pol_sha256_update(h, "abc", 3) || pol_sha256_final(h, &d)) {
        fprintf(stderr, "install_consumer: SHA-256 failed: %s\n", pol_last_error());
        pol_sha256_free(h);
        return 1;
    }
    pol_sha256_free(h);
    pol_digest_to_hex(&d, hex);
    if (strcmp(hex, abc_sha256)) {
        fprintf(stderr, "install_consumer: SHA-256(\"abc\") = %s, want %s\n", hex, abc_sha256);
        return 1;
    }
    const pol_status st = pol_cuda_available();
    printf("libpol %s sha256 ok cuda: %s\n", pol_version_string(),
           st ? pol_last_error() : "a usable device");
    return 0;
}
