/* A bounded cache of content-addressed blobs (spec/pinpoint-wire.md
 * PW-BLOB-5), internal to libpol: a ring of (name, bytes), oldest first,
 * within a number of entries and of bytes. The caller checks a blob against
 * its name before putting it; the cache takes the bytes it is given. */
#ifndef POL_BLOB_CACHE_H
#define POL_BLOB_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "pol/hash.h"

typedef struct pol__blob_entry {
    pol_digest h;
    uint8_t *b;
    size_t n;
} pol__blob_entry;

typedef struct pol__blob_cache {
    pol__blob_entry *e; /* (max_entries) */
    size_t max_entries, max_bytes;
    size_t first, count, bytes;
} pol__blob_cache;

/* Returns POL_OK or POL_ERR_NOMEM (max_entries >= 1). */
pol_status pol__blob_cache_init(pol__blob_cache *c, size_t max_entries, size_t max_bytes);
/* Frees every kept blob and the ring. */
void pol__blob_cache_free(pol__blob_cache *c);
/* The kept blob named h, or NULL (valid until the next put or free). */
const pol__blob_entry *pol__blob_cache_find(const pol__blob_cache *c, const pol_digest *h);
/* Keeps b (n bytes, malloc'd; the cache owns it from now on) under h,
 * dropping the oldest blobs until it fits; frees b at once when n alone
 * exceeds max_bytes. */
void pol__blob_cache_put(pol__blob_cache *c, const pol_digest *h, uint8_t *b, size_t n);

#endif /* POL_BLOB_CACHE_H */
