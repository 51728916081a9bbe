/*
 * proxyproto.c - the PROXY protocol v1 and v2 (haproxy's proxy-protocol.txt).
 *
 * This is the reader (--accept-proxy, every program); tlsstripd, the only
 * program that sends a header, writes its own (cmd/tlsstripd/proxyhdr.c).
 *
 * The reader consumes exactly the header and nothing after it: what
 * follows belongs to the program's own protocol.  On a socket it peeks to
 * find the end of a v1 line; on anything else it reads a byte at a time.
 * Every field is checked; anything the specification does not allow is
 * a missing header, because a lenient reader would let clients spoof
 * their address.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "proxyproto.h"


static int	 pp_wait(int, uint64_t);
static int	 pp_read_exact(int, void *, size_t, uint64_t);
static int	 pp_read_line(int, char *, size_t, size_t, uint64_t);
static int	 pp_is_socket(int);
static int	 pp_port(const char *, uint16_t *);
static int	 pp_addr(int, const char *, const char *,
		    struct sockaddr_storage *);
static int	 pp_parse_v1(char *, struct sockaddr_storage *,
		    struct sockaddr_storage *);
static int	 pp_read_v2(int, const unsigned char *,
		    struct sockaddr_storage *, struct sockaddr_storage *,
		    uint64_t);

/* Returns the monotonic clock in milliseconds. */
/* Returns 0 once fd is readable, -1 if the deadline passed first. */
static int
pp_wait(int fd, uint64_t deadline)
{
	struct pollfd pfd;
	uint64_t now;
	int n;

	for (;;) {
		now = now_ms();
		if (now >= deadline)
			return -1;
		pfd.fd = fd;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, (int)(deadline - now > 60000 ?
		    60000 : deadline - now));
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

/* Returns 0 after reading exactly len bytes, -1 on EOF, error or late. */
static int
pp_read_exact(int fd, void *buf, size_t len, uint64_t deadline)
{
	unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		if (pp_wait(fd, deadline) == -1)
			return -1;
		n = read(fd, p, len);
		if (n == 0)
			return -1;
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Returns 1 if fd is a socket (so MSG_PEEK works). */
static int
pp_is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/*
 * Reads the rest of a v1 line into buf (have bytes already there), up to
 * and including CRLF, never past it.  Returns the line's length, or -1.
 */
static int
pp_read_line(int fd, char *buf, size_t have, size_t max, uint64_t deadline)
{
	int sock = pp_is_socket(fd);
	char *crlf, *nl;
	size_t want;
	ssize_t n;

	while (have < max) {
		if (pp_wait(fd, deadline) == -1)
			return -1;
		want = 1;
		if (sock) {
			/* What a peek shows up to CRLF is all header. */
			n = recv(fd, buf + have, max - have, MSG_PEEK);
			if (n <= 0) {
				if (n == -1 && (errno == EINTR ||
				    errno == EAGAIN))
					continue;
				return -1;
			}
			want = n;
			if (buf[have] == '\n' && have > 0 &&
			    buf[have - 1] == '\r')
				want = 1;
			else if ((crlf = memmem(buf + have, n, "\r\n", 2)) !=
			    NULL)
				want = crlf + 2 - (buf + have);
		}
		if (pp_read_exact(fd, buf + have, want, deadline) == -1)
			return -1;
		have += want;
		/*
		 * A bare LF: not a v1 line.  A peek may have taken one
		 * before the CRLF, where a byte-wise read would stop.
		 */
		if ((nl = memchr(buf, '\n', have)) != NULL &&
		    nl != buf + have - 1)
			return -1;
		if (have >= 2 && buf[have - 2] == '\r' &&
		    buf[have - 1] == '\n')
			return (int)have;
		if (nl != NULL)
			return -1;
	}
	return -1;
}

/* Parses a decimal port without sign or leading zero; 0 or -1. */
static int
pp_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Fills ss from a textual address and port of the family; 0 or -1. */
static int
pp_addr(int family, const char *ip, const char *port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint16_t p;

	memset(ss, 0, sizeof(*ss));
	if (pp_port(port, &p) == -1)
		return -1;
	if (family == AF_INET) {
		if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
	} else {
		if (strchr(ip, ':') == NULL ||
		    inet_pton(AF_INET6, ip, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
	}
	return 0;
}

/* Parses a whole v1 line ending in CRLF; 0 or -1. */
static int
pp_parse_v1(char *line, struct sockaddr_storage *src,
    struct sockaddr_storage *dst)
{
	char *f[6], *p, *sp;
	int family, n;

	line[strlen(line) - 2] = '\0';
	if (strcmp(line, "PROXY UNKNOWN") == 0 ||
	    strncmp(line, "PROXY UNKNOWN ", 14) == 0) {
		memset(src, 0, sizeof(*src));
		memset(dst, 0, sizeof(*dst));
		src->ss_family = dst->ss_family = AF_UNSPEC;
		return 0;
	}
	/* Exactly six fields separated by single spaces. */
	for (n = 0, p = line; n < 6; n++) {
		f[n] = p;
		sp = strchr(p, ' ');
		if (n < 5) {
			if (sp == NULL || sp == p)
				return -1;
			*sp = '\0';
			p = sp + 1;
		} else if (sp != NULL || *p == '\0')
			return -1;
	}
	if (strcmp(f[1], "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(f[1], "TCP6") == 0)
		family = AF_INET6;
	else
		return -1;
	if (pp_addr(family, f[2], f[4], src) == -1 ||
	    pp_addr(family, f[3], f[5], dst) == -1)
		return -1;
	return 0;
}

/* Reads the rest of a v2 header whose first 6 bytes are in hdr; 0 or -1. */
static int
pp_read_v2(int fd, const unsigned char *start, struct sockaddr_storage *src,
    struct sockaddr_storage *dst, uint64_t deadline)
{
	unsigned char hdr[PROXY_V2_HDRLEN], addr[PROXY_V2_ADDR6_LEN], skip[512];
	struct sockaddr_in *s4 = (struct sockaddr_in *)src;
	struct sockaddr_in *d4 = (struct sockaddr_in *)dst;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)src;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)dst;
	size_t len, alen, n;
	int cmd, fam;

	memcpy(hdr, start, 6);
	if (pp_read_exact(fd, hdr + 6, PROXY_V2_HDRLEN - 6, deadline) == -1 ||
	    memcmp(hdr, PROXY_V2_SIG, PROXY_V2_SIGLEN) != 0 ||
	    (hdr[12] & 0xf0) != PROXY_V2_VERSION)
		return -1;
	cmd = hdr[12] & 0x0f;
	fam = hdr[13];
	len = (size_t)hdr[14] << 8 | hdr[15];
	if (cmd != PROXY_V2_CMD_LOCAL && cmd != PROXY_V2_CMD_PROXY)
		return -1;
	alen = 0;
	if (cmd == PROXY_V2_CMD_PROXY && fam == PROXY_V2_FAM_TCP4)
		alen = PROXY_V2_ADDR4_LEN;
	else if (cmd == PROXY_V2_CMD_PROXY && fam == PROXY_V2_FAM_TCP6)
		alen = PROXY_V2_ADDR6_LEN;
	else if (cmd == PROXY_V2_CMD_PROXY && fam != PROXY_V2_FAM_UNSPEC)
		return -1;	/* UDP or unix: not a TCP client */
	if (len < alen || pp_read_exact(fd, addr, alen, deadline) == -1)
		return -1;
	/* TLVs: read and ignored, a chunk at a time. */
	for (len -= alen; len > 0; len -= n) {
		n = len < sizeof(skip) ? len : sizeof(skip);
		if (pp_read_exact(fd, skip, n, deadline) == -1)
			return -1;
	}
	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	if (alen == PROXY_V2_ADDR4_LEN) {
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, addr, 4);
		memcpy(&d4->sin_addr, addr + 4, 4);
		memcpy(&s4->sin_port, addr + 8, 2);
		memcpy(&d4->sin_port, addr + 10, 2);
	} else if (alen == PROXY_V2_ADDR6_LEN) {
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, addr, 16);
		memcpy(&d6->sin6_addr, addr + 16, 16);
		memcpy(&s6->sin6_port, addr + 32, 2);
		memcpy(&d6->sin6_port, addr + 34, 2);
	}
	return 0;
}

int
proxy_read(int fd, struct sockaddr_storage *src,
    struct sockaddr_storage *dst, uint64_t deadline)
{
	char buf[PROXY_V1_MAX];
	int n;

	/* Six bytes tell the versions apart and fit in either header. */
	if (pp_read_exact(fd, buf, 6, deadline) == -1)
		return -1;
	if (memcmp(buf, PROXY_V2_SIG, 6) == 0)
		return pp_read_v2(fd, (unsigned char *)buf, src, dst,
		    deadline);
	if (memcmp(buf, PROXY_V1_PREFIX, 6) != 0)
		return -1;
	if ((n = pp_read_line(fd, buf, 6, PROXY_V1_MAX - 1, deadline)) == -1)
		return -1;
	buf[n] = '\0';
	if (strlen(buf) != (size_t)n)
		return -1;	/* a NUL inside the line */
	return pp_parse_v1(buf, src, dst);
}
