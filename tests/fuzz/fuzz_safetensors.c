/* libFuzzer target: pol_st_parse with the default caps, then the tensor
 * hashes of whatever it accepts. */
#include <stdint.h>
#include <stdlib.h>

#include "pol/hash.h"
#include "pol/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pol_st_file f;
    if (pol_st_parse(data, size, NULL, &f) != POL_OK)
        return 0;
    for (size_t i = 0; i < f.n; i++) {
        pol_digest d;
        if (pol_tensor_hash(&f.tensors[i], &d) != POL_OK)
            abort(); /* an accepted tensor is well formed */
    }
    pol_st_free(&f);
    return 0;
}
