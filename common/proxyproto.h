/*
 * proxyproto.h - the PROXY protocol, v1 (text) and v2 (binary), both ways:
 * read from a load balancer in front (--accept-proxy), written to a
 * backend (tlsstripd --proxy-protocol).
 */
#ifndef GTR_PROXYPROTO_H
#define GTR_PROXYPROTO_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define PROXY_V1_MAX	108	/* the spec's bound on a v1 line */
#define PROXY_V2_MAX	(16 + 65535)

/*
 * Reads exactly one PROXY header from fd, and not one byte past it,
 * within the deadline (monotonic ms).  On success fills src and dst (family
 * AF_UNSPEC for "UNKNOWN"/LOCAL: keep the socket's addresses) and returns
 * 0; returns -1 on a missing, malformed or late header.
 */
int	proxy_read(int fd, struct sockaddr_storage *src,
	    struct sockaddr_storage *dst, uint64_t deadline);

/* Formats a v1 or v2 header for src -> dst into out; length or -1. */
int	proxy_format(int version, const struct sockaddr *src,
	    const struct sockaddr *dst, char *out, size_t outlen);

#endif
