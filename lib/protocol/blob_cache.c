/* The blob cache of remote pinpoint parties (blob_cache.h). */
#include "blob_cache.h"

#include <stdlib.h>
#include <string.h>

pol_status pol__blob_cache_init(pol__blob_cache *c, size_t max_entries, size_t max_bytes)
{
    memset(c, 0, sizeof *c);
    if (max_entries < 1)
        return pol_errorf(POL_ERR_INVALID_ARG, "blob cache: no room");
    if (!(c->e = calloc(max_entries, sizeof *c->e)))
        return pol_errorf(POL_ERR_NOMEM, "blob cache of %zu entries", max_entries);
    c->max_entries = max_entries, c->max_bytes = max_bytes;
    return POL_OK;
}

void pol__blob_cache_free(pol__blob_cache *c)
{
    for (size_t i = 0; c->e && i < c->count; i++)
        free(c->e[(c->first + i) % c->max_entries].b);
    free(c->e);
    memset(c, 0, sizeof *c);
}

const pol__blob_entry *pol__blob_cache_find(const pol__blob_cache *c, const pol_digest *h)
{
    for (size_t i = 0; i < c->count; i++) {
        const pol__blob_entry *e = &c->e[(c->first + i) % c->max_entries];
        if (pol_digest_equal(&e->h, h))
            return e;
    }
    return NULL;
}

void pol__blob_cache_put(pol__blob_cache *c, const pol_digest *h, uint8_t *b, size_t n)
{
    if (!c->e || n > c->max_bytes) {
        free(b);
        return;
    }
    while (c->count == c->max_entries || c->bytes + n > c->max_bytes) {
        pol__blob_entry *old = &c->e[c->first];
        c->bytes -= old->n;
        free(old->b);
        memset(old, 0, sizeof *old);
        c->first = (c->first + 1) % c->max_entries;
        c->count--;
    }
    pol__blob_entry *e = &c->e[(c->first + c->count) % c->max_entries];
    e->h = *h, e->b = b, e->n = n;
    c->count++;
    c->bytes += n;
}
