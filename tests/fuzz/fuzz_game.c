/* libFuzzer target: pol_genesis_decode and pol_game_action_decode.
 * Whatever decodes must re-encode to exactly the input (canonical form,
 * spec/game.md G-ACT-1), and a genesis that decodes must start a game whose
 * invariants hold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pol/game.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pol_genesis gen;
    pol_game_action a;
    uint8_t *re;
    size_t re_len;
    if (pol_genesis_decode(data, size, &gen) == POL_OK) {
        if (pol_genesis_encode(&gen, &re, &re_len) != POL_OK || re_len != size ||
            memcmp(re, data, size) != 0)
            abort();
        free(re);
        pol_game *g;
        if (pol_game_create(data, size, &g) != POL_OK || pol_game_check(g) != POL_OK ||
            pol_game_n_accounts(g) != gen.n_accounts)
            abort();
        pol_game_destroy(g);
        pol_genesis_free(&gen);
    }
    if (pol_game_action_decode(data, size, &a) == POL_OK) {
        if (pol_game_action_encode(&a, &re, &re_len) != POL_OK || re_len != size ||
            memcmp(re, data, size) != 0)
            abort();
        free(re);
        pol_game_action_free(&a);
    }
    return 0;
}
