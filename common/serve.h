/*
 * serve.h - the front side: how connections arrive (DESIGN.md).
 *
 * serve_main() picks the mode (-l, systemd, inetd wait/nowait, pipe,
 * terminal), then calls the program's handler once per connection, in a
 * thread of its own in listen mode.  The handler owns the connection until
 * it returns; it may instead pass it on (relay_start() does) and the new
 * owner calls conn_end() when it is done.
 */
#ifndef GTR_SERVE_H
#define GTR_SERVE_H

#include "clock.h"
#include "conn.h"
#include "net.h"
#include "opts.h"


/* Called once per connection; must not exit. */
typedef void (*serve_handler)(struct conn *, void *arg);

/*
 * Serves connections as the options and the environment say, until a
 * single connection is done or SIGTERM/SIGINT (after --grace) in listen
 * mode.  default_addr is the program's default listen address.  Returns
 * the exit status for main() (0, or 64/78/1 with a message logged).
 */
int	serve_main(const struct gtr_opts *, const char *default_addr,
	    serve_handler, void *arg);


/*
 * Returns 1 if sa is one of the addresses we listen on (a wildcard
 * listener matches every local address on its port), 0.0.0.0 or [::] on
 * a port we listen on, or, with one client (inetd, Accept=yes), any local
 * address on the port it came in on: connecting there would loop.
 * Usable as net_connect()'s own argument.
 */
int	serve_is_own_addr(const struct sockaddr *);

/* 1 once SIGTERM/SIGINT asked us to stop: long loops may end early. */
int	serve_stopping(void);

/*
 * Calls fn(arg) from the main thread each time SIGHUP arrives
 * (listen modes only), e.g. to reload certificates.  Set before
 * serve_main(); NULL removes it.
 */
void	serve_on_hup(void (*fn)(void *), void *arg);

/*
 * Says that clients speak first (HTTP, TLS): the kernel then hands over
 * a TCP connection once its first bytes are in (TCP_DEFER_ACCEPT), so no
 * thread wakes to wait for them, and a probe that connects and closes
 * costs nothing.  A client that stays silent is handed over after about
 * a second anyway, and --header-timeout runs from then.  Set before
 * serve_main(); not for protocols where the server greets first.
 */
void	serve_client_speaks_first(void);

#endif
