/* libFuzzer target: pol_envelope_open for every message type, then the body
 * decoder of that type when the signature verifies. */
#include <stdint.h>
#include <stdlib.h>

#include "pol/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t signer[POL_PUBKEY_LEN], *body;
    size_t body_len;
    pol_digest id;
    if (pol_envelope_id(data, size, &id) != POL_OK)
        abort();
    for (uint32_t t = POL_MSG_TASK; t <= POL_MSG_PROFILE; t++) {
        if (pol_envelope_open(data, size, t, &body, &body_len, signer) != POL_OK)
            continue;
        if (t == POL_MSG_CERTIFICATE) {
            pol_cert c;
            if (pol_cert_decode(body, body_len, &c) == POL_OK)
                pol_cert_free(&c);
        } else if (t == POL_MSG_REPORT) {
            pol_report r;
            if (pol_report_decode(body, body_len, &r) == POL_OK)
                pol_report_free(&r);
        }
        free(body);
    }
    return 0;
}
