/*
 * relay.h - the byte relay: both directions at once until both are done.
 *
 * Sockets and pipes move with splice(2) through a small shared pool of
 * pipes, taken only while data is in flight, so an idle tunnel costs a
 * few hundred bytes; anything else falls back to read/write.  EOF on one
 * side becomes shutdown(SHUT_WR) on the other once everything read has
 * been written: nothing is lost when one side finishes first.
 */
#ifndef GTR_RELAY_H
#define GTR_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct conn;

#define RELAY_FIRST_MAX	64

struct relay_stats {
	uint64_t	 rs_up;		/* client -> upstream bytes */
	uint64_t	 rs_down;	/* upstream -> client bytes */
	const char	*rs_reason;	/* "done", "idle timeout", "reset"... */
	/*
	 * The same for the access line: done, idle_timeout, client_closed
	 * or upstream_closed (the side whose reset or error ended it), or
	 * internal_error.
	 */
	enum log_reason	 rs_end;
	/*
	 * The first bytes the upstream sent, as they passed (a response's
	 * status line, for the access line): rs_nfirst of them.
	 */
	char		 rs_first[RELAY_FIRST_MAX];
	size_t		 rs_nfirst;
};

/* Called once, from the relay's thread, before the connection ends. */
typedef void (*relay_done)(struct conn *, const struct relay_stats *,
	    void *arg);

/*
 * Takes ownership of the client connection c and of the upstream fds
 * (u_rfd may equal u_wfd), sends the pending bytes (what the client sent
 * after its head) upstream first, then relays both ways until both
 * directions ended, or nothing moved for idle_timeout seconds.  Then calls
 * done, closes everything and calls conn_end(c).  Returns at once: the
 * bytes move in a shared event-loop thread.  Returns 0, or -1 if it could
 * not start (c and the fds are then still the caller's).
 */
int	relay_start(struct conn *c, int u_rfd, int u_wfd,
	    const void *pending, size_t npending, int idle_timeout,
	    relay_done done, void *arg);

#endif
