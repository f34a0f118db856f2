#include "json_file.h"

#include <stdlib.h>

#include "pol/fileio.h"

pol_status pol_json_read_file(const char *path, size_t cap, json_t **root)
{
    uint8_t *buf;
    size_t len;
    *root = NULL;
    pol_status st = pol_read_file(path, cap, &buf, &len);
    if (st)
        return st;
    json_error_t err;
    *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &err);
    free(buf);
    if (!*root)
        return pol_errorf(pol_json_fail_status(&err), "%s: invalid JSON at line %d: %s", path,
                          err.line, err.text);
    return POL_OK;
}
