/*
 * proxyhdr.c - the PROXY protocol header tlsstripd --proxy-protocol sends
 * its backend first (haproxy's proxy-protocol.txt), v1 or v2.  Its only
 * user is tlsstripd; the reader every program has is common/proxyproto.c.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "proxyhdr.h"
#include "proxyproto.h"

static void	 pp_unmap(const struct sockaddr *, struct sockaddr_in6 *);
static int	 pp_known(const struct sockaddr *, const struct sockaddr *);
static int	 pp_format_v1(const struct sockaddr *,
		    const struct sockaddr *, char *, size_t);
static int	 pp_format_v2(const struct sockaddr *,
		    const struct sockaddr *, char *, size_t);

/* Writes a v4-mapped IPv6 form of an AF_INET or AF_INET6 address. */
static void
pp_unmap(const struct sockaddr *sa, struct sockaddr_in6 *out)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	if (sa->sa_family == AF_INET6) {
		memcpy(out, sa, sizeof(*out));
		return;
	}
	memset(out, 0, sizeof(*out));
	out->sin6_family = AF_INET6;
	out->sin6_port = sin->sin_port;
	out->sin6_addr.s6_addr[10] = 0xff;
	out->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&out->sin6_addr.s6_addr[12], &sin->sin_addr, 4);
}

/* Returns 1 if both addresses are IPv4 or IPv6 (mixed is fine). */
static int
pp_known(const struct sockaddr *src, const struct sockaddr *dst)
{
	return src != NULL && dst != NULL &&
	    (src->sa_family == AF_INET || src->sa_family == AF_INET6) &&
	    (dst->sa_family == AF_INET || dst->sa_family == AF_INET6);
}

/* Formats a v1 line; its length or -1 if it does not fit. */
static int
pp_format_v1(const struct sockaddr *src, const struct sockaddr *dst,
    char *out, size_t outlen)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)src;
	const struct sockaddr_in *d4 = (const struct sockaddr_in *)dst;
	struct sockaddr_in6 s6, d6;
	char sip[INET6_ADDRSTRLEN], dip[INET6_ADDRSTRLEN];
	int n;

	if (!pp_known(src, dst))
		n = snprintf(out, outlen, "PROXY UNKNOWN\r\n");
	else if (src->sa_family == AF_INET && dst->sa_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, sip, sizeof(sip));
		inet_ntop(AF_INET, &d4->sin_addr, dip, sizeof(dip));
		n = snprintf(out, outlen, "PROXY TCP4 %s %s %u %u\r\n", sip,
		    dip, ntohs(s4->sin_port), ntohs(d4->sin_port));
	} else {
		pp_unmap(src, &s6);
		pp_unmap(dst, &d6);
		inet_ntop(AF_INET6, &s6.sin6_addr, sip, sizeof(sip));
		inet_ntop(AF_INET6, &d6.sin6_addr, dip, sizeof(dip));
		n = snprintf(out, outlen, "PROXY TCP6 %s %s %u %u\r\n", sip,
		    dip, ntohs(s6.sin6_port), ntohs(d6.sin6_port));
	}
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return n;
}

/* Formats a v2 header (PROXY command); its length or -1. */
static int
pp_format_v2(const struct sockaddr *src, const struct sockaddr *dst,
    char *out, size_t outlen)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)src;
	const struct sockaddr_in *d4 = (const struct sockaddr_in *)dst;
	struct sockaddr_in6 s6, d6;
	unsigned char *p = (unsigned char *)out;
	size_t alen;

	if (!pp_known(src, dst))
		alen = 0;
	else if (src->sa_family == AF_INET && dst->sa_family == AF_INET)
		alen = PROXY_V2_ADDR4_LEN;
	else
		alen = PROXY_V2_ADDR6_LEN;
	if (outlen < PROXY_V2_HDRLEN + alen)
		return -1;
	memcpy(p, PROXY_V2_SIG, PROXY_V2_SIGLEN);
	p[12] = PROXY_V2_VERSION | PROXY_V2_CMD_PROXY;
	p[14] = 0;
	p[15] = (unsigned char)alen;
	if (alen == 0)
		p[13] = PROXY_V2_FAM_UNSPEC;
	else if (alen == PROXY_V2_ADDR4_LEN) {
		p[13] = PROXY_V2_FAM_TCP4;
		memcpy(p + 16, &s4->sin_addr, 4);
		memcpy(p + 20, &d4->sin_addr, 4);
		memcpy(p + 24, &s4->sin_port, 2);
		memcpy(p + 26, &d4->sin_port, 2);
	} else {
		p[13] = PROXY_V2_FAM_TCP6;
		pp_unmap(src, &s6);
		pp_unmap(dst, &d6);
		memcpy(p + 16, &s6.sin6_addr, 16);
		memcpy(p + 32, &d6.sin6_addr, 16);
		memcpy(p + 48, &s6.sin6_port, 2);
		memcpy(p + 50, &d6.sin6_port, 2);
	}
	return (int)(PROXY_V2_HDRLEN + alen);
}

int
proxy_format(int version, const struct sockaddr *src,
    const struct sockaddr *dst, char *out, size_t outlen)
{
	if (version == 1)
		return pp_format_v1(src, dst, out, outlen);
	if (version == 2)
		return pp_format_v2(src, dst, out, outlen);
	return -1;
}
