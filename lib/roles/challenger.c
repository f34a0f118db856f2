/* The challenger's side of a dispute: an honest replayer of the disputed
 * task, made when the referee first asks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pol/roles.h"

struct pol_role_challenger {
    pol_mirror *m;
    char work[POL_PATH_MAX], data[POL_PATH_MAX];
    int active;
    pol_digest task_id;
    pol_role_task rt;
    pol_ctx *ctx;
    pol_replayer *rp;
    pol_party party;
    unsigned made;
};

pol_status pol_role_challenger_create(pol_mirror *m, const char *work_dir, const char *data_dir,
                                      pol_role_challenger **out)
{
    *out = NULL;
    if (strlen(work_dir) >= POL_PATH_MAX - 100 || strlen(data_dir) >= POL_PATH_MAX)
        return pol_errorf(POL_ERR_INVALID_ARG, "path too long");
    pol_role_challenger *c = calloc(1, sizeof *c);
    if (!c)
        return pol_errorf(POL_ERR_NOMEM, "challenger");
    c->m = m;
    strcpy(c->work, work_dir);
    strcpy(c->data, data_dir);
    *out = c;
    return POL_OK;
}

static void drop(pol_role_challenger *c)
{
    if (!c->active)
        return;
    pol_replayer_destroy(c->rp);
    pol_ctx_destroy(c->ctx);
    pol_role_task_close(&c->rt);
    c->rp = NULL;
    c->ctx = NULL;
    c->active = 0;
}

const pol_party *pol_role_challenger_party_fn(void *arg)
{
    pol_role_challenger *c = arg;
    if (c->active)
        return &c->party;
    if (pol_mirror_sync(c->m, NULL))
        return NULL;
    const pol_game *g = pol_mirror_game(c->m);
    const uint8_t *me = pol_mirror_self(c->m);
    for (size_t i = 0; i < pol_game_n_tasks(g); i++) {
        pol_game_task t;
        if (pol_game_task_at(g, i, &t) || t.state != POL_GAME_TASK_DISPUTE ||
            memcmp(t.challenger, me, POL_PUBKEY_LEN))
            continue;
        char dir[POL_PATH_MAX + 120], hex[65];
        pol_digest_to_hex(&t.id, hex);
        snprintf(dir, sizeof dir, "%s/challenge-%.16s-%d-%u", c->work, hex, (int)getpid(),
                 c->made++);
        if (pol_role_task_open(c->work, c->data, t.task_json, t.task_json_len, &c->rt))
            return NULL;
        if (pol_ctx_create(&c->ctx, NULL) ||
            pol_replayer_create(&c->rp, c->ctx, &c->rt.task, &c->rt.ds, dir, NULL)) {
            fprintf(stderr, "challenger: cannot replay task %.16s: %s\n", hex, pol_last_error());
            pol_ctx_destroy(c->ctx);
            c->ctx = NULL;
            pol_role_task_close(&c->rt);
            return NULL;
        }
        c->active = 1;
        c->task_id = t.id;
        c->party = pol_replayer_party(c->rp, "challenger");
        printf("dispute    task %.16s: answering the referee's pinpoint queries with an honest "
               "replay\n", hex);
        fflush(stdout);
        return &c->party;
    }
    return NULL;
}

void pol_role_challenger_tick(pol_role_challenger *c, pol_role_server *s)
{
    pol_game_task t;
    if (!c->active || pol_game_task_find(pol_mirror_game(c->m), &c->task_id, &t) ||
        t.state != POL_GAME_TASK_DISPUTE) {
        if (c->active) {
            drop(c);
            pol_role_server_set_party(s, NULL);
        }
    }
}

void pol_role_challenger_destroy(pol_role_challenger *c)
{
    if (!c)
        return;
    drop(c);
    free(c);
}
