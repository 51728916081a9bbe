/*
 * proxy_fuzz.c - libFuzzer harness for the PROXY protocol reader
 * (common/proxyproto.c), with tlsstripd's writer (cmd/tlsstripd/
 * proxyhdr.c) to round-trip what it accepts.  Every input is a stream
 * read by proxy_read() through a socket pair (where it peeks) and
 * through a pipe (where it reads a byte at a time).  The invariants:
 *
 *	- both ways give the same verdict and, accepting, consume the same
 *	  bytes and read the same addresses;
 *	- an accepted header consumed exactly itself: a v1 line up to its
 *	  first CRLF (at most 107 bytes), a v2 header its 16 bytes and the
 *	  length it declares; a refused one never more than that;
 *	- accepted addresses are both IPv4, both IPv6 or both unknown, and
 *	  written again as v1 and as v2 they read back the same;
 *	- a TCP4 line written again is the very line that was read.
 *
 *	make fuzz FUZZERS=proxy [FUZZ_SECONDS=60]
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "proxyhdr.h"
#include "proxyproto.h"
#include "fuzz.h"

#define INPUT_MAX	60000	/* fits a pipe without a reader */

struct verdict {
	int	 rc;
	size_t	 used;		/* bytes proxy_read() consumed */
	struct sockaddr_storage src, dst;
};

static void	 feed(const void *, size_t, int, struct verdict *);
static int	 same(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);
static size_t	 claimed(const uint8_t *, size_t);
static void	 round_trip(const struct verdict *, int, int);

/*
 * Runs proxy_read() on data written into a socket pair (sock) or a pipe
 * whose writing end is then closed; fills v.
 */
static void
feed(const void *data, size_t size, int sock, struct verdict *v)
{
	char rest[4096];
	size_t left = 0;
	ssize_t n;
	int fds[2];

	memset(v, 0, sizeof(*v));
	if (sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds))
		abort();
	if (size > 0 && write(fds[1], data, size) != (ssize_t)size)
		abort();
	close(fds[1]);
	v->rc = proxy_read(fds[0], &v->src, &v->dst, now_ms() + 5000);
	while ((n = read(fds[0], rest, sizeof(rest))) > 0)
		left += n;
	close(fds[0]);
	CHECK(left <= size);
	v->used = size - left;
}

/* Returns 1 if the two addresses are the same as the reader fills them. */
static int
same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
	if (a->ss_family == AF_INET6)
		return memcmp(a, b, sizeof(struct sockaddr_in6)) == 0;
	return a->ss_family == AF_UNSPEC;
}

/* The bytes the header at data claims, or 0 if it claims none. */
static size_t
claimed(const uint8_t *data, size_t size)
{
	const uint8_t *crlf;

	if (size >= PROXY_V2_HDRLEN &&
	    memcmp(data, PROXY_V2_SIG, PROXY_V2_SIGLEN) == 0)
		return PROXY_V2_HDRLEN + ((size_t)data[14] << 8 | data[15]);
	if (size >= 6 && memcmp(data, PROXY_V1_PREFIX, 6) == 0 &&
	    (crlf = memmem(data, size, "\r\n", 2)) != NULL)
		return crlf + 2 - data;
	return 0;
}

/* Writes v's addresses as a header of version, reads them back. */
static void
round_trip(const struct verdict *v, int version, int sock)
{
	char out[PROXY_V1_MAX + PROXY_V2_HDRLEN + PROXY_V2_ADDR6_LEN];
	struct verdict back;
	int n;

	n = proxy_format(version, (const struct sockaddr *)&v->src,
	    (const struct sockaddr *)&v->dst, NULL, out, sizeof(out));
	CHECK(n > 0);
	feed(out, n, sock, &back);
	CHECK(back.rc == 0 && back.used == (size_t)n);
	CHECK(same(&back.src, &v->src) && same(&back.dst, &v->dst));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verdict s, p;
	char line[PROXY_V1_MAX];
	size_t want;
	int n;

	if (size > INPUT_MAX)
		return 0;
	feed(data, size, 1, &s);
	feed(data, size, 0, &p);
	CHECK(s.rc == p.rc);
	want = claimed(data, size);
	if (s.rc == -1) {
		/* Refused: the connection closes, the bytes read matter not. */
		CHECK(s.used <= (want > 0 ? want : PROXY_V1_MAX - 1));
		CHECK(p.used <= (want > 0 ? want : PROXY_V1_MAX - 1));
		return 0;
	}
	CHECK(s.rc == 0 && s.used == want && p.used == want);
	CHECK(data[0] != 'P' || s.used <= PROXY_V1_MAX - 1);
	CHECK(same(&s.src, &p.src) && same(&s.dst, &p.dst));
	CHECK(s.src.ss_family == s.dst.ss_family);
	CHECK(s.src.ss_family == AF_UNSPEC || s.src.ss_family == AF_INET ||
	    s.src.ss_family == AF_INET6);
	round_trip(&s, 1, data[size - 1] & 1);
	round_trip(&s, 2, data[size - 1] & 2);
	if (data[0] == 'P' && s.src.ss_family == AF_INET) {
		n = proxy_format(1, (const struct sockaddr *)&s.src,
		    (const struct sockaddr *)&s.dst, NULL, line, sizeof(line));
		CHECK(n == (int)s.used && memcmp(line, data, n) == 0);
	}
	return 0;
}
