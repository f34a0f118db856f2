/* libFuzzer target: pol_cert_decode and pol_report_decode.
 * Whatever decodes must re-encode to exactly the input (canonical form,
 * spec/wire.md W-CANON-1), and pol_cert_check must not crash on it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pol/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pol_cert c;
    pol_report r;
    uint8_t *re;
    size_t re_len;
    if (pol_cert_decode(data, size, &c) == POL_OK) {
        (void)pol_cert_check(&c);
        if (pol_cert_encode(&c, &re, &re_len) != POL_OK || re_len != size ||
            memcmp(re, data, size) != 0)
            abort();
        free(re);
        pol_cert_free(&c);
    }
    if (pol_report_decode(data, size, &r) == POL_OK) {
        if (pol_report_encode(&r, &re, &re_len) != POL_OK || re_len != size ||
            memcmp(re, data, size) != 0)
            abort();
        free(re);
        pol_report_free(&r);
    }
    return 0;
}
