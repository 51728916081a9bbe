/*
 * proxyproto.h - the PROXY protocol, v1 (text) and v2 (binary), read from
 * a load balancer in front (--accept-proxy).  The wire constants are
 * here for tlsstripd, which writes headers to its backend.
 */
#ifndef GTR_PROXYPROTO_H
#define GTR_PROXYPROTO_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define PROXY_V1_MAX	108	/* the spec's bound on a v1 line */
#define PROXY_V2_MAX	(16 + 65535)

#define PROXY_V1_PREFIX	"PROXY "
#define PROXY_V2_SIG	"\r\n\r\n\0\r\nQUIT\n"
#define PROXY_V2_SIGLEN	12
#define PROXY_V2_HDRLEN	16
#define PROXY_V2_VERSION	0x20
#define PROXY_V2_CMD_LOCAL	0x00
#define PROXY_V2_CMD_PROXY	0x01
#define PROXY_V2_FAM_UNSPEC	0x00
#define PROXY_V2_FAM_TCP4	0x11
#define PROXY_V2_FAM_TCP6	0x21
#define PROXY_V2_ADDR4_LEN	12
#define PROXY_V2_ADDR6_LEN	36

/*
 * Reads exactly one PROXY header from fd, and not one byte past it,
 * within the deadline (monotonic ms).  On success fills src and dst (family
 * AF_UNSPEC for "UNKNOWN"/LOCAL: keep the socket's addresses) and returns
 * 0; returns -1 on a missing, malformed or late header.
 */
int	proxy_read(int fd, struct sockaddr_storage *src,
	    struct sockaddr_storage *dst, uint64_t deadline);


#endif
