/* libFuzzer target: pol_net_request_decode and pol_net_response_decode on
 * the input (a decoded value must encode back to the same bytes), then the
 * frame reader over the input sent through a socket pair, opening each
 * frame as a Request or Response envelope. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pol/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_both(const uint8_t *data, size_t size)
{
    uint8_t *re;
    size_t re_len;
    pol_net_request q;
    if (pol_net_request_decode(data, size, &q) == POL_OK) {
        if (pol_net_request_encode(&q, &re, &re_len) != POL_OK || re_len != size ||
            memcmp(re, data, size) != 0)
            abort(); /* [W-CANON-1]: one value, one encoding */
        free(re);
        pol_net_request_free(&q);
    }
    pol_net_response r;
    if (pol_net_response_decode(data, size, &r) == POL_OK) {
        if (pol_net_response_encode(&r, &re, &re_len) != POL_OK || re_len != size ||
            memcmp(re, data, size) != 0)
            abort();
        free(re);
        pol_net_response_free(&r);
    }
}

/* Frames: the input is the byte stream a peer sent, then EOF. */
static void read_frames(const uint8_t *data, size_t size)
{
    int sv[2];
    if (size > 64 * 1024 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return;
    size_t off = 0;
    while (off < size) {
        ssize_t w = send(sv[0], data + off, size - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    shutdown(sv[0], SHUT_WR);
    uint8_t *buf, *body, signer[POL_PUBKEY_LEN];
    size_t len, body_len;
    while (pol_net_frame_read(sv[1], 4096, 1000, &buf, &len) == POL_OK) {
        if (pol_envelope_open(buf, len, POL_MSG_REQUEST, &body, &body_len, signer) == POL_OK) {
            decode_both(body, body_len);
            free(body);
        }
        if (pol_envelope_open(buf, len, POL_MSG_RESPONSE, &body, &body_len, signer) == POL_OK) {
            decode_both(body, body_len);
            free(body);
        }
        free(buf);
    }
    close(sv[0]);
    close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_both(data, size);
    read_frames(data, size);
    return 0;
}
