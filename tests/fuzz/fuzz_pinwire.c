/* libFuzzer target: pol_pin_answer_decode, pol_pin_query_decode and
 * pol_tensor_blob_decode (spec/pinpoint-wire.md). Whatever decodes must
 * encode back to exactly the input (PW-ANS-1, PW-Q-1, PW-BLOB-2), and a
 * decoded blob must hash to its tensor's leaf hash (PW-BLOB-1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pol/pinwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const uint8_t *re, size_t re_len, const uint8_t *data, size_t size)
{
    if (re_len != size || (size && memcmp(re, data, size) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pol_pin_answer a; /* large: kept off the stack */
    pol_pin_query q;
    pol_tensor t;
    uint8_t *re;
    size_t re_len;
    if (pol_pin_answer_decode(data, size, &a) == POL_OK) {
        if (pol_pin_answer_encode(&a, &re, &re_len) != POL_OK)
            abort();
        same(re, re_len, data, size);
        free(re);
    }
    if (pol_pin_query_decode(data, size, &q) == POL_OK) {
        if (pol_pin_query_encode(&q, &re, &re_len) != POL_OK)
            abort();
        same(re, re_len, data, size);
        free(re);
    }
    if (pol_tensor_blob_decode(data, size, &t) == POL_OK) {
        pol_digest h, leaf;
        if (pol_tensor_blob_encode(&t, &re, &re_len) != POL_OK || pol_tensor_hash(&t, &leaf) ||
            pol_sha256(data, size, &h) || memcmp(h.b, leaf.b, 32) != 0)
            abort();
        same(re, re_len, data, size);
        free(re);
        pol_tensor_free(&t);
    }
    return 0;
}
