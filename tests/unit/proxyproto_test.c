/*
 * proxyproto_test.c - unit cases for common/proxyproto.c.
 *
 * Each case feeds bytes through a socket pair (and, where it matters, a
 * pipe), calls proxy_read(), and checks the addresses and that the bytes
 * after the header are still there to read.  Ends with "N passed, N
 * failed"; exits 1 if any failed.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxyhdr.h"
#include "proxyproto.h"

#define AFTER	"GET / HTTP/1.1\r\n"

static int passed, failed;

static void	 check(int, const char *);
static uint64_t	 ms(void);
static int	 feed(const void *, size_t, int, int,
		    struct sockaddr_storage *, struct sockaddr_storage *,
		    char *, size_t);
static int	 addr_is(const struct sockaddr_storage *, const char *,
		    unsigned);
static void	 v1_cases(void);
static void	 v2_cases(void);
static void	 format_cases(void);
static int	 tlv_find(const unsigned char *, size_t, int,
		    const unsigned char **, size_t *);
static void	 tlv_cases(void);
static void	 set_addr(struct sockaddr_storage *, const char *, unsigned);

static void
check(int ok, const char *what)
{
	if (ok)
		passed++;
	else {
		failed++;
		printf("FAIL: %s\n", what);
	}
}

static uint64_t
ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Writes buf into a socket pair (sock) or a pipe, closes the writing end
 * unless keep_open, and runs proxy_read() on the other end with a 2 s
 * deadline.  Returns its result; what is left to read goes to rest.
 */
static int
feed(const void *buf, size_t len, int sock, int keep_open,
    struct sockaddr_storage *src, struct sockaddr_storage *dst, char *rest,
    size_t restlen)
{
	int fds[2], rc;
	ssize_t n;

	if (sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds))
		abort();
	if (write(fds[1], buf, len) != (ssize_t)len)
		abort();
	if (!keep_open)
		close(fds[1]);
	rc = proxy_read(fds[0], src, dst, ms() + (keep_open ? 200 : 2000));
	if (keep_open)
		close(fds[1]);
	n = read(fds[0], rest, restlen - 1);
	rest[n < 0 ? 0 : n] = '\0';
	close(fds[0]);
	return rc;
}

/* Returns 1 if ss holds the address ip and port. */
static int
addr_is(const struct sockaddr_storage *ss, const char *ip, unsigned port)
{
	struct sockaddr_storage want;

	set_addr(&want, ip, port);
	if (ss->ss_family != want.ss_family)
		return 0;
	if (ss->ss_family == AF_INET)
		return memcmp(ss, &want, sizeof(struct sockaddr_in)) == 0;
	return memcmp(ss, &want, sizeof(struct sockaddr_in6)) == 0;
}

static void
set_addr(struct sockaddr_storage *ss, const char *ip, unsigned port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
}

static void
v1_cases(void)
{
	static const char *bad[] = {
		"PROXY TCP4 192.0.2.1 198.51.100.2 4242 80\n",
		"PROXY TCP4 192.0.2.1  198.51.100.2 4242 80\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.2 4242 80 \r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.2 4242\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.2 4242 80 1\r\n",
		"PROXY TCP4 256.0.2.1 198.51.100.2 4242 80\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.2 65536 80\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.2 04242 80\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.2 -1 80\r\n",
		"PROXY TCP4 2001:db8::1 2001:db8::2 4242 80\r\n",
		"PROXY TCP6 192.0.2.1 198.51.100.2 4242 80\r\n",
		"PROXY UDP4 192.0.2.1 198.51.100.2 4242 80\r\n",
		"PROXY tcp4 192.0.2.1 198.51.100.2 4242 80\r\n",
		"proxy TCP4 192.0.2.1 198.51.100.2 4242 80\r\n",
		"PROXY\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.2 4242 80",	/* truncated */
		"PROX",						/* truncated */
		NULL
	};
	struct sockaddr_storage src, dst;
	char rest[256], line[200], what[256];
	int i, sock;

	for (sock = 0; sock <= 1; sock++) {
		snprintf(line, sizeof(line), "PROXY TCP4 192.0.2.1 "
		    "198.51.100.2 4242 80\r\n%s", AFTER);
		check(feed(line, strlen(line), sock, 0, &src, &dst, rest,
		    sizeof(rest)) == 0 && addr_is(&src, "192.0.2.1", 4242) &&
		    addr_is(&dst, "198.51.100.2", 80) &&
		    strcmp(rest, AFTER) == 0, sock ? "v1 TCP4, socket" :
		    "v1 TCP4, pipe");
	}
	snprintf(line, sizeof(line), "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n"
	    "%s", AFTER);
	check(feed(line, strlen(line), 1, 0, &src, &dst, rest,
	    sizeof(rest)) == 0 && addr_is(&src, "2001:db8::1", 65535) &&
	    addr_is(&dst, "::1", 0) && strcmp(rest, AFTER) == 0, "v1 TCP6");
	snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n%s", AFTER);
	check(feed(line, strlen(line), 1, 0, &src, &dst, rest,
	    sizeof(rest)) == 0 && src.ss_family == AF_UNSPEC &&
	    dst.ss_family == AF_UNSPEC && strcmp(rest, AFTER) == 0,
	    "v1 UNKNOWN");
	snprintf(line, sizeof(line), "PROXY UNKNOWN ffff:f...f:ffff "
	    "ffff:f...f:ffff 65535 65535\r\n%s", AFTER);
	check(feed(line, strlen(line), 0, 0, &src, &dst, rest,
	    sizeof(rest)) == 0 && src.ss_family == AF_UNSPEC &&
	    strcmp(rest, AFTER) == 0, "v1 UNKNOWN with addresses");
	/* The longest allowed line: 107 bytes with the CRLF. */
	snprintf(line, sizeof(line), "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n");
	check(strlen(line) == 104 && feed(line, strlen(line), 1, 0, &src,
	    &dst, rest, sizeof(rest)) == 0 && rest[0] == '\0' &&
	    addr_is(&src, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
	    "v1 longest TCP6 line");
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + 105, "\r\n", 2);
	check(feed(line, 107, 1, 0, &src, &dst, rest, sizeof(rest)) == 0,
	    "v1 line of exactly 107 bytes");
	memcpy(line + 105, "xx\r\n", 4);
	check(feed(line, 109, 1, 0, &src, &dst, rest, sizeof(rest)) == -1,
	    "v1 line over 107 bytes");
	for (i = 0; bad[i] != NULL; i++) {
		snprintf(what, sizeof(what), "v1 rejects %.*s", (int)strcspn(
		    bad[i], "\r\n"), bad[i]);
		check(feed(bad[i], strlen(bad[i]), i % 2, 0, &src, &dst,
		    rest, sizeof(rest)) == -1, what);
	}
	/* A bare LF inside the line, however it is read (found by fuzzing). */
	for (sock = 0; sock <= 1; sock++)
		check(feed("PROXY UNKNOWN x\ny\r\n", 19, sock, 0, &src, &dst,
		    rest, sizeof(rest)) == -1, sock ?
		    "v1 rejects a bare LF inside the line, socket" :
		    "v1 rejects a bare LF inside the line, pipe");
	check(feed("PROXY TCP4 192.0.2.1", 20, 1, 1, &src, &dst, rest,
	    sizeof(rest)) == -1, "v1 header not finished by the deadline");
	check(feed("PROXY TCP4 192.0.2.1\0198.51.100.2 4242 80\r\n", 43, 0,
	    0, &src, &dst, rest, sizeof(rest)) == -1, "v1 rejects a NUL");
}

static void
v2_cases(void)
{
	static const unsigned char sig[12] = "\r\n\r\n\0\r\nQUIT\n";
	unsigned char b[128];
	struct sockaddr_storage src, dst;
	char rest[256];
	size_t n;

	/* TCP4 with a TLV (PP2_TYPE_ALPN "h2") to skip. */
	memcpy(b, sig, 12);
	b[12] = 0x21; b[13] = 0x11; b[14] = 0; b[15] = 12 + 5;
	memcpy(b + 16, "\xc0\x00\x02\x01" "\xc6\x33\x64\x02" "\x10\x92"
	    "\x00\x50", 12);
	memcpy(b + 28, "\x01\x00\x02h2", 5);
	n = 33;
	memcpy(b + n, AFTER, strlen(AFTER));
	check(feed(b, n + strlen(AFTER), 1, 0, &src, &dst, rest,
	    sizeof(rest)) == 0 && addr_is(&src, "192.0.2.1", 4242) &&
	    addr_is(&dst, "198.51.100.2", 80) && strcmp(rest, AFTER) == 0,
	    "v2 TCP4 with a TLV");
	check(feed(b, n + strlen(AFTER), 0, 0, &src, &dst, rest,
	    sizeof(rest)) == 0 && strcmp(rest, AFTER) == 0, "v2 on a pipe");
	check(feed(b, 20, 1, 0, &src, &dst, rest, sizeof(rest)) == -1,
	    "v2 truncated in the addresses");
	check(feed(b, 30, 1, 0, &src, &dst, rest, sizeof(rest)) == -1,
	    "v2 truncated in the TLVs");
	check(feed(b, 10, 1, 0, &src, &dst, rest, sizeof(rest)) == -1,
	    "v2 truncated in the signature");
	b[12] = 0x11;
	check(feed(b, n, 1, 0, &src, &dst, rest, sizeof(rest)) == -1,
	    "v2 rejects version 1 in the binary header");
	b[12] = 0x22;
	check(feed(b, n, 1, 0, &src, &dst, rest, sizeof(rest)) == -1,
	    "v2 rejects an unknown command");
	b[12] = 0x21; b[13] = 0x12;
	check(feed(b, n, 1, 0, &src, &dst, rest, sizeof(rest)) == -1,
	    "v2 rejects UDP");
	b[13] = 0x11; b[15] = 11;
	check(feed(b, n, 1, 0, &src, &dst, rest, sizeof(rest)) == -1,
	    "v2 rejects a length too short for TCP4");
	b[15] = 12 + 5; b[5] = 'X';
	check(feed(b, n, 1, 0, &src, &dst, rest, sizeof(rest)) == -1,
	    "v2 rejects a wrong signature");
	b[5] = '\r';

	/* LOCAL: addresses (if any) are ignored, the length still read. */
	b[12] = 0x20; b[13] = 0x11;
	check(feed(b, n + strlen(AFTER), 1, 0, &src, &dst, rest,
	    sizeof(rest)) == 0 && src.ss_family == AF_UNSPEC &&
	    strcmp(rest, AFTER) == 0, "v2 LOCAL");
	b[13] = 0x00; b[15] = 0;
	memcpy(b + 16, AFTER, strlen(AFTER));
	check(feed(b, 16 + strlen(AFTER), 1, 0, &src, &dst, rest,
	    sizeof(rest)) == 0 && src.ss_family == AF_UNSPEC &&
	    strcmp(rest, AFTER) == 0, "v2 LOCAL UNSPEC, no addresses");

	/* TCP6. */
	b[12] = 0x21; b[13] = 0x21; b[15] = 36;
	memset(b + 16, 0, 32);
	b[16] = 0x20; b[17] = 0x01; b[18] = 0x0d; b[19] = 0xb8; b[31] = 1;
	b[47] = 1;
	memcpy(b + 48, "\xff\xff\x01\xbb", 4);
	memcpy(b + 52, AFTER, strlen(AFTER));
	check(feed(b, 52 + strlen(AFTER), 1, 0, &src, &dst, rest,
	    sizeof(rest)) == 0 && addr_is(&src, "2001:db8::1", 65535) &&
	    addr_is(&dst, "::1", 443) && strcmp(rest, AFTER) == 0,
	    "v2 TCP6");
	check(feed(b, 30, 1, 1, &src, &dst, rest, sizeof(rest)) == -1,
	    "v2 header not finished by the deadline");
}

static void
format_cases(void)
{
	struct { const char *s, *d; int v; } rt[] = {
		{ "192.0.2.1", "198.51.100.2", 1 },
		{ "2001:db8::1", "::1", 1 },
		{ "192.0.2.1", "198.51.100.2", 2 },
		{ "2001:db8::1", "::1", 2 },
	};
	struct sockaddr_storage s, d, src, dst, none;
	char out[PROXY_V2_MAX], rest[64], what[128];
	size_t i;
	int n;

	for (i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
		set_addr(&s, rt[i].s, 4242);
		set_addr(&d, rt[i].d, 443);
		n = proxy_format(rt[i].v, (struct sockaddr *)&s,
		    (struct sockaddr *)&d, NULL, out, sizeof(out));
		snprintf(what, sizeof(what), "v%d round trip %s -> %s",
		    rt[i].v, rt[i].s, rt[i].d);
		check(n > 0 && feed(out, n, 1, 0, &src, &dst, rest,
		    sizeof(rest)) == 0 && addr_is(&src, rt[i].s, 4242) &&
		    addr_is(&dst, rt[i].d, 443) && rest[0] == '\0', what);
	}
	set_addr(&s, "192.0.2.1", 4242);
	set_addr(&d, "198.51.100.2", 80);
	n = proxy_format(1, (struct sockaddr *)&s, (struct sockaddr *)&d,
	    NULL, out, sizeof(out));
	check(n > 0 && strncmp(out, "PROXY TCP4 192.0.2.1 198.51.100.2 "
	    "4242 80\r\n", n) == 0, "v1 format text");
	set_addr(&d, "2001:db8::2", 80);
	n = proxy_format(1, (struct sockaddr *)&s, (struct sockaddr *)&d,
	    NULL, out, sizeof(out));
	check(n > 0 && strncmp(out, "PROXY TCP6 ::ffff:192.0.2.1 "
	    "2001:db8::2 4242 80\r\n", n) == 0,
	    "v1 mixed families map to TCP6");
	memset(&none, 0, sizeof(none));
	n = proxy_format(1, (struct sockaddr *)&none,
	    (struct sockaddr *)&d, NULL, out, sizeof(out));
	check(n == 15 && memcmp(out, "PROXY UNKNOWN\r\n", 15) == 0,
	    "v1 UNKNOWN for an unknown address");
	n = proxy_format(2, (struct sockaddr *)&none,
	    (struct sockaddr *)&d, NULL, out, sizeof(out));
	check(n == 16 && feed(out, n, 1, 0, &src, &dst, rest,
	    sizeof(rest)) == 0 && src.ss_family == AF_UNSPEC,
	    "v2 UNSPEC round trip");
	check(proxy_format(1, (struct sockaddr *)&s, (struct sockaddr *)&s,
	    NULL, out, 20) == -1, "v1 format into a short buffer");
	check(proxy_format(2, (struct sockaddr *)&s, (struct sockaddr *)&s,
	    NULL, out, 27) == -1, "v2 format into a short buffer");
	check(proxy_format(3, (struct sockaddr *)&s, (struct sockaddr *)&s,
	    NULL, out, sizeof(out)) == -1, "format rejects version 3");
}

/*
 * Finds the TLV of type in the n bytes at p; 1 with its value and
 * length, 0 if there is none, -1 if a TLV overruns the bytes.
 */
static int
tlv_find(const unsigned char *p, size_t n, int type,
    const unsigned char **v, size_t *vlen)
{
	size_t i, l;

	for (i = 0; i < n; i += 3 + l) {
		if (n - i < 3)
			return -1;
		l = (size_t)p[i + 1] << 8 | p[i + 2];
		if (n - i - 3 < l)
			return -1;
		if (p[i] == type) {
			*v = p + i + 3;
			*vlen = l;
			return 1;
		}
	}
	return 0;
}

/* tlsstripd's TLVs: where haproxy's spec puts them, and still readable. */
static void
tlv_cases(void)
{
	struct proxy_tls tls = {
		.pt_alpn = (const unsigned char *)"http/1.1",
		.pt_alpn_len = 8,
		.pt_authority = "www.example.org",
		.pt_version = "TLSv1.3",
		.pt_cipher = "TLS_AES_128_GCM_SHA256",
		.pt_sig_alg = "RSA-SHA256",
		.pt_key_alg = "RSA2048",
		.pt_cn = "alice",
		.pt_client = PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN |
		    PP2_CLIENT_CERT_SESS,
		.pt_verify = 0,
	};
	struct sockaddr_storage s, d, src, dst, none;
	static unsigned char out[PROXY_V2_MAX + 1024];
	const unsigned char *v, *sub;
	char rest[64], *big;
	size_t len, vlen, sublen, alen;
	uint32_t crc;
	int n;

	check(proxy_crc32c((const unsigned char *)"123456789", 9) ==
	    0xe3069283, "CRC32C of the check string");
	set_addr(&s, "192.0.2.1", 4242);
	set_addr(&d, "198.51.100.2", 443);
	n = proxy_format(2, (struct sockaddr *)&s, (struct sockaddr *)&d,
	    &tls, (char *)out, sizeof(out));
	alen = PROXY_V2_ADDR4_LEN;
	len = n > 16 ? (size_t)out[14] << 8 | out[15] : 0;
	check(n > 16 && (size_t)n == 16 + len && len > alen,
	    "v2 with TLVs: the length covers them");
	check(n > 0 && feed(out, n, 1, 0, &src, &dst, rest,
	    sizeof(rest)) == 0 && addr_is(&src, "192.0.2.1", 4242) &&
	    addr_is(&dst, "198.51.100.2", 443) && rest[0] == '\0',
	    "v2 with TLVs: our reader skips them, and not a byte more");
	if (n <= 16 || len <= alen)
		return;
	/* The CRC32C first, summed over the header with its field zero. */
	check(out[16 + alen] == PP2_TYPE_CRC32C && out[16 + alen + 2] == 4,
	    "the CRC32C TLV comes first");
	crc = (uint32_t)out[31] << 24 | (uint32_t)out[32] << 16 |
	    (uint32_t)out[33] << 8 | out[34];
	memset(out + 31, 0, 4);
	check(proxy_crc32c(out, n) == crc, "the CRC32C is the header's");
	check(tlv_find(out + 16 + alen, len - alen, PP2_TYPE_ALPN, &v,
	    &vlen) == 1 && vlen == 8 && memcmp(v, "http/1.1", 8) == 0,
	    "PP2_TYPE_ALPN");
	check(tlv_find(out + 16 + alen, len - alen, PP2_TYPE_AUTHORITY, &v,
	    &vlen) == 1 && vlen == 15 && memcmp(v, "www.example.org", 15) == 0,
	    "PP2_TYPE_AUTHORITY");
	check(tlv_find(out + 16 + alen, len - alen, PP2_TYPE_SSL, &v,
	    &vlen) == 1 && vlen > 5 && v[0] == 0x07 && memcmp(v + 1,
	    "\0\0\0\0", 4) == 0, "PP2_TYPE_SSL: client bits and verify");
	if (vlen > 5) {
		check(tlv_find(v + 5, vlen - 5, PP2_SUBTYPE_SSL_VERSION, &sub,
		    &sublen) == 1 && sublen == 7 &&
		    memcmp(sub, "TLSv1.3", 7) == 0, "PP2_SUBTYPE_SSL_VERSION");
		check(tlv_find(v + 5, vlen - 5, PP2_SUBTYPE_SSL_CN, &sub,
		    &sublen) == 1 && sublen == 5 &&
		    memcmp(sub, "alice", 5) == 0, "PP2_SUBTYPE_SSL_CN");
		check(tlv_find(v + 5, vlen - 5, PP2_SUBTYPE_SSL_CIPHER, &sub,
		    &sublen) == 1 && sublen == 22, "PP2_SUBTYPE_SSL_CIPHER");
		check(tlv_find(v + 5, vlen - 5, PP2_SUBTYPE_SSL_SIG_ALG, &sub,
		    &sublen) == 1 && sublen == 10, "PP2_SUBTYPE_SSL_SIG_ALG");
		check(tlv_find(v + 5, vlen - 5, PP2_SUBTYPE_SSL_KEY_ALG, &sub,
		    &sublen) == 1 && sublen == 7, "PP2_SUBTYPE_SSL_KEY_ALG");
	}

	/* No certificate: no CN TLV, a verify field that is not 0. */
	tls.pt_cn = "";
	tls.pt_client = PP2_CLIENT_SSL;
	tls.pt_verify = PP2_VERIFY_NONE;
	tls.pt_alpn_len = 0;
	n = proxy_format(2, (struct sockaddr *)&s, (struct sockaddr *)&d,
	    &tls, (char *)out, sizeof(out));
	len = n > 16 ? (size_t)out[14] << 8 | out[15] : 0;
	check(n > 16 && tlv_find(out + 16 + alen, len - alen, PP2_TYPE_SSL,
	    &v, &vlen) == 1 && vlen > 5 && v[0] == 0x01 &&
	    memcmp(v + 1, "\0\0\0\1", 4) == 0 && tlv_find(v + 5, vlen - 5,
	    PP2_SUBTYPE_SSL_CN, &sub, &sublen) == 0 && tlv_find(out + 16 +
	    alen, len - alen, PP2_TYPE_ALPN, &v, &vlen) == 0,
	    "no certificate, no ALPN: no CN or ALPN TLV, verify 1");

	/* TCP6 too; UNSPEC takes none, which haproxy would refuse. */
	set_addr(&s, "2001:db8::1", 4242);
	set_addr(&d, "::1", 443);
	n = proxy_format(2, (struct sockaddr *)&s, (struct sockaddr *)&d,
	    &tls, (char *)out, sizeof(out));
	check(n > 16 + PROXY_V2_ADDR6_LEN && out[16 + PROXY_V2_ADDR6_LEN] ==
	    PP2_TYPE_CRC32C && feed(out, n, 1, 0, &src, &dst, rest,
	    sizeof(rest)) == 0 && addr_is(&src, "2001:db8::1", 4242),
	    "v2 TCP6 with TLVs");
	memset(&none, 0, sizeof(none));
	n = proxy_format(2, (struct sockaddr *)&none, (struct sockaddr *)&d,
	    &tls, (char *)out, sizeof(out));
	check(n == 16, "v2 UNSPEC carries no TLVs");

	/* What does not fit: the buffer, or the header's 16-bit length. */
	set_addr(&s, "192.0.2.1", 4242);
	set_addr(&d, "198.51.100.2", 443);
	check(proxy_format(2, (struct sockaddr *)&s, (struct sockaddr *)&d,
	    &tls, (char *)out, 16 + 12 + 20) == -1,
	    "v2 TLVs into a short buffer");
	if ((big = malloc(70000)) == NULL)
		abort();
	memset(big, 'a', 69999);
	big[69999] = '\0';
	tls.pt_cn = big;
	check(proxy_format(2, (struct sockaddr *)&s, (struct sockaddr *)&d,
	    &tls, (char *)out, sizeof(out)) == -1,
	    "v2 TLVs over the 16-bit length");
	/* A 65516-byte SSL TLV; the header would be 65556. */
	big[65450] = '\0';
	check(proxy_format(2, (struct sockaddr *)&s, (struct sockaddr *)&d,
	    &tls, (char *)out, sizeof(out)) == -1,
	    "v2 TLVs that fit their own length but not the header's");
	free(big);
}

int
main(void)
{
	v1_cases();
	v2_cases();
	format_cases();
	tlv_cases();
	printf("%d passed, %d failed\n", passed, failed);
	return failed > 0;
}
