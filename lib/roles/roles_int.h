/* Internal to lib/roles. */
#ifndef POL_ROLES_INT_H
#define POL_ROLES_INT_H

#include "pol/roles.h"

/* The key the mirror signs with: the party's own, which also signs the
 * challenger's requests to a solver's server. */
const pol_keypair *pol__mirror_keypair(const pol_mirror *m);

#endif
