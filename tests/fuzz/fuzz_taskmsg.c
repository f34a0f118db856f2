/* libFuzzer target: pol_task_msg_decode (pol.v1.Task).
 * Whatever decodes must re-encode to exactly the input (canonical form,
 * spec/wire.md W-CANON-1) and carry the SHA-256 of its JSON (W-TASK-2); the
 * task parser then runs on the accepted bytes and must agree on the id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pol/task.h"
#include "pol/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *json, *re;
    size_t json_len, re_len;
    pol_digest id, h;
    if (pol_task_msg_decode(data, size, &json, &json_len, &id) != POL_OK)
        return 0;
    if (pol_sha256(json, json_len, &h) != POL_OK || !pol_digest_equal(&h, &id))
        abort();
    if (pol_task_msg_encode(json, json_len, &re, &re_len) != POL_OK || re_len != size ||
        memcmp(re, data, size) != 0)
        abort();
    free(re);
    pol_task t;
    if (pol_task_parse(json, json_len, "/nonexistent", &t) == POL_OK &&
        !pol_digest_equal(&t.id, &id))
        abort();
    free(json);
    return 0;
}
