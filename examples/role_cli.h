/* What the serving role programs (pol-solver serve, pol-verifier serve,
 * pol-whistleblower) share: stopping on a signal, keeping up with the
 * referee, printing the game's log and what the party served. Included by
 * each of those programs (one .c file each); static inline so a program
 * that needs only some of it compiles without warnings. */
#ifndef POL_EXAMPLES_ROLE_CLI_H
#define POL_EXAMPLES_ROLE_CLI_H

#include <signal.h>
#include <stdio.h>

#include "pol/roles.h"

/* The longest --timeout of a serving program: 30 days, in seconds. */
#define POL_ROLE_MAX_TIMEOUT_S 2592000L

static volatile sig_atomic_t stop_flag;

static inline void role_on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* SIGINT and SIGTERM end the serving loop at its next turn. */
static inline void role_catch_signals(void)
{
    signal(SIGINT, role_on_signal);
    signal(SIGTERM, role_on_signal);
}

/* A referee out of reach for a moment is not the end of the game: the
 * mirror reconnects on its next call (the program's --timeout bounds the
 * wait). */
static inline pol_status role_sync_or_wait(pol_mirror *m)
{
    pol_status st = pol_mirror_sync(m, NULL);
    if (st == POL_ERR_NETWORK || st == POL_ERR_TIMEOUT) {
        fprintf(stderr, "warning: referee unreachable (%s); retrying\n", pol_last_error());
        return POL_OK;
    }
    return st;
}

/* pol_mirror_set_log callback: the game's lines, as --verbose shows them. */
static inline void role_game_line(void *user, const char *line)
{
    (void)user;
    printf("game       %s\n", line);
}

static inline void role_print_served(const pol_role_server *srv)
{
    pol_role_server_stats ss = pol_role_server_get_stats(srv);
    printf("served     %llu pinpoint answers (%llu bytes), %llu blobs (%llu bytes)\n",
           (unsigned long long)ss.pin_queries, (unsigned long long)ss.bytes_answers,
           (unsigned long long)ss.blobs, (unsigned long long)ss.bytes_blobs);
}

/* Closes what a challenging party (pol-verifier serve, pol-whistleblower)
 * holds, in the order each part depends on the next; any may be NULL (not
 * opened yet). Wipes its key. */
static inline void role_challenger_close(pol_role_challenger *ch, pol_mirror *m,
                                         pol_role_server *srv, pol_keypair *kp)
{
    pol_role_challenger_destroy(ch);
    pol_mirror_close(m);
    pol_role_server_close(srv);
    pol_keypair_clear(kp);
}

#endif
