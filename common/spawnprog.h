/*
 * spawnprog.h - run the program after "--" per connection, UCSPI style.
 *
 * The program gets one end of a socketpair as its fds 0 and 1, the
 * UCSPI variables (PROTO=TCP, TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP,
 * TCPLOCALPORT) from the connection, plus any extra "NAME=value" strings,
 * and stderr shared with ours.  LISTEN_PID/LISTEN_FDS are never passed.
 */
#ifndef GTR_SPAWNPROG_H
#define GTR_SPAWNPROG_H

#include <sys/types.h>

#include <stddef.h>

struct conn;

/*
 * At start, before the first connection: finds the program after "--"
 * as execvp() will, a name with a slash as it is, another in each
 * directory of PATH (/usr/bin:/bin without one).  Returns 0 with the
 * file found in path, or -1 with "-- NAME: why" in err (not found in PATH,
 * not a regular file, not executable): a configuration error, exit 78.
 */
int	spawn_check(const char *name, char *path, size_t pathlen, char *err,
	    size_t errlen);

/*
 * Starts argv[0] with execvp().  Returns our end of the socketpair (the
 * program's fds 0 and 1), and the pid in *pid; or -1 with a logged
 * reason, *pid -1, and errno set to why the exec failed when it did (the
 * child is then already reaped).  A started child is reaped by spawn_reap() or
 * by the caller.
 */
int	spawn_program(char *const argv[], const struct conn *,
	    char *const extra_env[], pid_t *pid);

/*
 * Waits for the program to exit and logs a non-zero status.  Returns
 * the raw wait status.
 */
int	spawn_reap(pid_t pid);

/*
 * Reaps the program of connection conn_id in a thread of its own, so
 * that an event loop never waits for it; a non-zero status is logged
 * with conn=.  Without a thread to be had: SIGTERM, and wait here.
 */
void	spawn_reap_later(pid_t pid, unsigned long conn_id);

/*
 * spawn_reap_later(), for a program that has its EOF now (its socket
 * closed): one that has not exited term_ms later gets SIGTERM, so a
 * program that ignores its EOF does not run on unseen.  term_ms 0:
 * never, as spawn_reap_later().
 */
void	spawn_reap_later_term(pid_t pid, unsigned long conn_id, int term_ms);

/*
 * Before exit: waits up to ms for the programs spawn_reap_later() still
 * waits for (they have their EOF and usually exit at once, and their
 * statuses are to be logged), then sends them SIGTERM and waits ms
 * more, then SIGKILL, so an exit never hangs on a program.
 */
void	spawn_reap_finish(int ms);

#endif
