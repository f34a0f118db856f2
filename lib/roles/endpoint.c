/* Where a task's parties serve. The game's Claim, SubmitReport and
 * Challenge actions carry the acting party's endpoint [G-ACT-4]
 * (pol_game_task.solver_endpoint ...); "--peer KEYHEX=HOST:PORT" options
 * remain for a solver that announced none. */
#include <stdio.h>
#include <string.h>

#include "pol/roles.h"

#define MAX_PEERS 64

static struct {
    uint8_t key[POL_PUBKEY_LEN];
    char addr[POL_ROLE_ENDPOINT_MAX];
} peers[MAX_PEERS];
static size_t n_peers;

pol_status pol_role_peer_add(const char *spec)
{
    const char *eq = strchr(spec, '=');
    char hex[65];
    uint32_t ip;
    uint16_t port;
    if (!eq || eq - spec != 64)
        return pol_errorf(POL_ERR_FORMAT, "peer %s: want KEYHEX=HOST:PORT", spec);
    memcpy(hex, spec, 64);
    hex[64] = 0;
    if (n_peers == MAX_PEERS)
        return pol_errorf(POL_ERR_TOO_LARGE, "at most %d peers", MAX_PEERS);
    if (pol_pubkey_from_hex(hex, peers[n_peers].key) ||
        strlen(eq + 1) >= POL_ROLE_ENDPOINT_MAX || pol_net_addr_parse(eq + 1, &ip, &port))
        return pol_errorf(POL_ERR_FORMAT, "peer %s: want KEYHEX=HOST:PORT", spec);
    strcpy(peers[n_peers].addr, eq + 1);
    n_peers++;
    return POL_OK;
}

static pol_status peer_find(const uint8_t key[POL_PUBKEY_LEN], char addr[POL_ROLE_ENDPOINT_MAX])
{
    for (size_t i = 0; i < n_peers; i++)
        if (!memcmp(peers[i].key, key, POL_PUBKEY_LEN)) {
            strcpy(addr, peers[i].addr);
            return POL_OK;
        }
    char hex[65];
    pol_pubkey_to_hex(key, hex);
    addr[0] = 0;
    return pol_errorf(POL_ERR_NOT_FOUND, "no endpoint known for %s (give --peer %s=HOST:PORT)",
                      hex, hex);
}

pol_status pol_role_solver_endpoint(const pol_game_task *t, char addr[POL_ROLE_ENDPOINT_MAX])
{
    addr[0] = 0;
    if (!t->has_solver)
        return pol_errorf(POL_ERR_NOT_FOUND, "the task has no solver");
    if (t->solver_endpoint[0]) {
        snprintf(addr, POL_ROLE_ENDPOINT_MAX, "%s", t->solver_endpoint);
        return POL_OK;
    }
    return peer_find(t->solver, addr);
}

void pol_role_action_endpoint(pol_game_action *a, const char *addr)
{
    snprintf(a->endpoint, sizeof a->endpoint, "%s", addr ? addr : "");
}
