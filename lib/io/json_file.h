/* Internal: reading a whole JSON file strictly (size cap, no duplicate keys). */
#ifndef POL_LIB_JSON_FILE_H
#define POL_LIB_JSON_FILE_H

#include <jansson.h>

#include "pol/status.h"

/* Reads at most `cap` bytes of `path` and parses them as one JSON value with
 * duplicate keys rejected. Returns: POL_OK; the errors of pol_read_file;
 * POL_ERR_FORMAT (not JSON, with line and reason). Out: *root (json_decref). */
pol_status pol_json_read_file(const char *path, size_t cap, json_t **root);

/* The status of a failed json_loadb: POL_ERR_NOMEM when jansson ran out of
 * memory (which says nothing about the text), else POL_ERR_FORMAT. */
static inline pol_status pol_json_fail_status(const json_error_t *err)
{
    return json_error_code(err) == json_error_out_of_memory ? POL_ERR_NOMEM : POL_ERR_FORMAT;
}

#endif
