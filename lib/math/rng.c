/* libpol — the data permutation (spec/arithmetic.md, A-RNG-PERM). The
 * per-value draws are inline in pol/rng.h. */
#include "pol/rng.h"

#include <stddef.h>

pol_status pol_permutation(uint64_t seed, uint32_t epoch, uint32_t n, uint32_t *perm)
{
    if (n > 0 && perm == NULL)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_permutation: perm is NULL (n = %u)", n);
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    uint64_t counter = 0;
    for (uint32_t i = n > 0 ? n - 1 : 0; i >= 1; i--) {
        uint32_t j = pol_rng_bounded(seed, POL_STREAM_PERM, epoch, &counter, i + 1);
        uint32_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    return POL_OK;
}
