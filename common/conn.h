/*
 * conn.h - one client connection, as every part of gtr passes it around.
 *
 * serve.c creates it and hands it to the program; whoever owns it last
 * (the program, or relay.c it was handed to) ends it with conn_end().
 * Its own header, so relay.c and spawnprog.c need not know serve.c.
 */
#ifndef GTR_CONN_H
#define GTR_CONN_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdint.h>

#include "log.h"
#include "net.h"

struct conn {
	int		 c_rfd;		/* read from the client */
	int		 c_wfd;		/* write to the client (== c_rfd on sockets) */
	int		 c_is_socket;	/* c_rfd is a socket: shutdown() works */
	unsigned long	 c_id;		/* for log lines: "conn=ID" */
	char		 c_peer_ip[NET_IPLEN];	/* client; "-" if unknown */
	char		 c_peer_port[NET_PORTLEN];
	char		 c_local_ip[NET_IPLEN];	/* our side; "-" if unknown */
	char		 c_local_port[NET_PORTLEN];
	struct sockaddr_storage c_peer;	/* family AF_UNSPEC if unknown */
	struct sockaddr_storage c_local;
	uint64_t	 c_start_ms;	/* monotonic, at accept */
	int		 c_handed_off;	/* set by whoever takes ownership */
	int		 c_upstream_fd;	/* the owner's upstream socket, or -1:
					   shut with the client's when
					   --grace is over; set it only
					   with conn_set_upstream() */
	pid_t		 c_child_pgid;	/* the owner's child's process group,
					   or -1: killed when --grace is
					   over; set with conn_set_child() */
	void		*c_srv;		/* private to serve.c */
};

/* Ends a connection: closes its fds and frees it.  For new owners. */
void	conn_end(struct conn *);

/*
 * Says which socket is c's upstream (-1: none, before closing it), so
 * that the end of --grace can shut it to wake its owner.  Under serve.c's
 * lock: the end of --grace never shuts an fd already closed and reused.
 */
void	conn_set_upstream(struct conn *c, int fd);

/*
 * Logs why c's request was refused, on a line of its own before the
 * access line (which says only the reason): at info level for the
 * program's own failures (status 500 and up), which matter to its
 * operator, at debug level for a client's mistakes.
 */
void	conn_log_refusal(const struct conn *c, int status, const char *why);

/*
 * Says which process group c's owner waits on (-1: none, before reaping
 * it), so that the end of --grace can kill it: a program's pipe wakes
 * its owner only when the program is gone.  Under serve.c's lock, so a
 * reaped pid is never killed.
 */
void	conn_set_child(struct conn *c, pid_t pgid);

/*
 * Returns 1 once the end of --grace is cutting connections: for an owner
 * that no socket wakes (one inside libcurl, which asks between reads).
 */
int	conn_cutting(void);

/*
 * Logs an access line of c: fills in conn=, client= and, for a
 * connection cut at the end of --grace, reason=grace, then log_access().
 */
void	conn_access(const struct conn *c, struct access_line *, int quiet);

/*
 * Logs the access line of an exchange that ends now, one as long as its
 * connection: with its status (-1: none to say), the bytes written to
 * the client and its reason.
 */
void	conn_access_end(const struct conn *c, struct access_line *,
	    int status, uint64_t bytes_out, enum log_reason reason);

#endif
