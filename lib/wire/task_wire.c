/* A task file's bytes <-> pol.v1.Task (spec/wire.md, section 4). The JSON is
 * carried as it is: re-serialising it would change the task id. */
#include <stdlib.h>
#include <string.h>

#include "pol/task.h"
#include "pol/wire.h"
#include "wire_internal.h"

_Static_assert(POL_WIRE_MAX_TASK >= POL_TASK_MAX_BYTES + 48u,
               "a Task message must fit the largest task file, its id and the field headers");

pol_status pol_task_msg_encode(const uint8_t *json, size_t json_len, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (json_len == 0)
        return pol_errorf(POL_ERR_INVALID_ARG, "encode task: empty task JSON");
    if (json_len > POL_TASK_MAX_BYTES)
        return pol_errorf(POL_ERR_TOO_LARGE, "encode task: %zu bytes exceeds the task cap of %u",
                          json_len, POL_TASK_MAX_BYTES);
    pol_digest id;
    pol_status st = pol_sha256(json, json_len, &id);
    if (st != POL_OK)
        return st;
    Pol__V1__Task m = POL__V1__TASK__INIT;
    m.task_json.len = json_len;
    m.task_json.data = (uint8_t *)(uintptr_t)json;
    m.id.len = 32;
    m.id.data = id.b;
    return pol__wire_pack(&m.base, buf, len);
}

static pol_status task_from_msg(const Pol__V1__Task *m, pol_digest *id)
{
    if (m->task_json.len == 0)
        return pol_errorf(POL_ERR_FORMAT, "task: empty task_json");
    if (m->task_json.len > POL_TASK_MAX_BYTES)
        return pol_errorf(POL_ERR_TOO_LARGE, "task: task_json of %zu bytes exceeds the cap of %u",
                          m->task_json.len, POL_TASK_MAX_BYTES);
    pol_digest claimed;
    pol_status st = pol__wire_get32(&m->id, "task id", claimed.b);
    if (st != POL_OK)
        return st;
    if ((st = pol_sha256(m->task_json.data, m->task_json.len, id)) != POL_OK)
        return st;
    if (!pol_digest_equal(id, &claimed)) {
        char want[65], got[65];
        pol_digest_to_hex(&claimed, want);
        pol_digest_to_hex(id, got);
        return pol_errorf(POL_ERR_HASH_MISMATCH,
                          "task: id %s is not SHA-256 of task_json (%s)", want, got);
    }
    return POL_OK;
}

pol_status pol_task_msg_decode(const uint8_t *buf, size_t len, uint8_t **json, size_t *json_len,
                               pol_digest *id)
{
    ProtobufCMessage *pm;
    *json = NULL;
    *json_len = 0;
    memset(id, 0, sizeof *id);
    pol_status st = pol__wire_unpack(&pol__v1__task__descriptor, buf, len, POL_WIRE_MAX_TASK,
                                     POL_WIRE_BUDGET_TASK, "task", &pm);
    if (st != POL_OK)
        return st;
    const Pol__V1__Task *m = (const Pol__V1__Task *)pm;
    st = task_from_msg(m, id);
    if (st == POL_OK) {
        uint8_t *copy = malloc(m->task_json.len + 1);
        if (!copy) {
            st = pol_errorf(POL_ERR_NOMEM, "task: %zu bytes", m->task_json.len);
        } else {
            memcpy(copy, m->task_json.data, m->task_json.len);
            copy[m->task_json.len] = '\0';
            *json = copy;
            *json_len = m->task_json.len;
        }
    }
    pol__wire_free(pm);
    if (st != POL_OK)
        memset(id, 0, sizeof *id);
    return st;
}
