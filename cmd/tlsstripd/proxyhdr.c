/*
 * proxyhdr.c - the PROXY protocol header tlsstripd --proxy-protocol sends
 * its backend first (haproxy's proxy-protocol.txt), v1 or v2; v2 also
 * carries what the handshake told us as the TLVs haproxy defines, so
 * that haproxy, nginx or any v2 reader behind us learns who the client
 * is.  Its only user is tlsstripd; the reader every program has is
 * common/proxyproto.c, which skips the TLVs.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "proxyhdr.h"
#include "proxyproto.h"

/* A header being written: b_full once something did not fit. */
struct pp_buf {
	unsigned char	*b_p;
	size_t		 b_len;
	size_t		 b_cap;
	int		 b_full;
};

static void	 pp_unmap(const struct sockaddr *, struct sockaddr_in6 *);
static int	 pp_known(const struct sockaddr *, const struct sockaddr *);
static int	 pp_format_v1(const struct sockaddr *,
		    const struct sockaddr *, char *, size_t);
static void	 pp_put(struct pp_buf *, const void *, size_t);
static size_t	 pp_tlv_begin(struct pp_buf *, int);
static void	 pp_tlv_end(struct pp_buf *, size_t);
static void	 pp_tlv(struct pp_buf *, int, const void *, size_t);
static void	 pp_tlv_str(struct pp_buf *, int, const char *);
static void	 pp_tlvs(struct pp_buf *, const struct proxy_tls *);
static int	 pp_format_v2(const struct sockaddr *,
		    const struct sockaddr *, const struct proxy_tls *, char *,
		    size_t);

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

/* Appends n bytes at the cursor, or marks the buffer full. */
static void
pp_put(struct pp_buf *b, const void *v, size_t n)
{
	if (b->b_full || b->b_cap - b->b_len < n) {
		b->b_full = 1;
		return;
	}
	memcpy(b->b_p + b->b_len, v, n);
	b->b_len += n;
}

/* Starts a TLV of type whose length pp_tlv_end() fills; its offset. */
static size_t
pp_tlv_begin(struct pp_buf *b, int type)
{
	unsigned char t[3] = { (unsigned char)type, 0, 0 };
	size_t at = b->b_len;

	pp_put(b, t, sizeof(t));
	return at;
}

/* Writes the length of the TLV begun at offset at. */
static void
pp_tlv_end(struct pp_buf *b, size_t at)
{
	size_t n;

	if (b->b_full)
		return;
	n = b->b_len - at - 3;
	if (n > 0xffff) {
		b->b_full = 1;
		return;
	}
	b->b_p[at + 1] = (unsigned char)(n >> 8);
	b->b_p[at + 2] = (unsigned char)n;
}

/* Appends a TLV of n bytes; none for an empty value. */
static void
pp_tlv(struct pp_buf *b, int type, const void *v, size_t n)
{
	size_t at;

	if (v == NULL || n == 0)
		return;
	at = pp_tlv_begin(b, type);
	pp_put(b, v, n);
	pp_tlv_end(b, at);
}

/* Appends a TLV holding the string s, without its NUL. */
static void
pp_tlv_str(struct pp_buf *b, int type, const char *s)
{
	if (s != NULL)
		pp_tlv(b, type, s, strlen(s));
}

/*
 * Appends the TLVs of tls after the addresses: the CRC32C first (zero
 * until pp_format_v2() sums the header), then ALPN, AUTHORITY and the
 * SSL TLV with its sub-TLVs in the order of their numbers, as haproxy
 * writes them.
 */
static void
pp_tlvs(struct pp_buf *b, const struct proxy_tls *tls)
{
	unsigned char ssl[5];
	size_t at;

	pp_tlv(b, PP2_TYPE_CRC32C, "\0\0\0\0", 4);
	pp_tlv(b, PP2_TYPE_ALPN, tls->pt_alpn, tls->pt_alpn_len);
	pp_tlv_str(b, PP2_TYPE_AUTHORITY, tls->pt_authority);
	at = pp_tlv_begin(b, PP2_TYPE_SSL);
	ssl[0] = (unsigned char)tls->pt_client;
	ssl[1] = (unsigned char)(tls->pt_verify >> 24);
	ssl[2] = (unsigned char)(tls->pt_verify >> 16);
	ssl[3] = (unsigned char)(tls->pt_verify >> 8);
	ssl[4] = (unsigned char)tls->pt_verify;
	pp_put(b, ssl, sizeof(ssl));
	pp_tlv_str(b, PP2_SUBTYPE_SSL_VERSION, tls->pt_version);
	pp_tlv_str(b, PP2_SUBTYPE_SSL_CN, tls->pt_cn);
	pp_tlv_str(b, PP2_SUBTYPE_SSL_CIPHER, tls->pt_cipher);
	pp_tlv_str(b, PP2_SUBTYPE_SSL_SIG_ALG, tls->pt_sig_alg);
	pp_tlv_str(b, PP2_SUBTYPE_SSL_KEY_ALG, tls->pt_key_alg);
	pp_tlv_end(b, at);
}

/* Formats a v2 header (PROXY command); its length or -1. */
static int
pp_format_v2(const struct sockaddr *src, const struct sockaddr *dst,
    const struct proxy_tls *tls, char *out, size_t outlen)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)src;
	const struct sockaddr_in *d4 = (const struct sockaddr_in *)dst;
	struct sockaddr_in6 s6, d6;
	struct pp_buf b;
	unsigned char *p = (unsigned char *)out;
	uint32_t crc;
	size_t alen, len;

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
	b.b_p = p;
	b.b_len = PROXY_V2_HDRLEN + alen;
	b.b_cap = outlen;
	b.b_full = 0;
	/* haproxy refuses TLVs after UNSPEC: none, for an unknown client. */
	if (tls != NULL && alen != 0)
		pp_tlvs(&b, tls);
	len = b.b_len - PROXY_V2_HDRLEN;
	if (b.b_full || len > 0xffff)
		return -1;
	p[14] = (unsigned char)(len >> 8);
	p[15] = (unsigned char)len;
	if (tls != NULL && alen != 0) {
		/* Summed with its own field zero, as the spec says. */
		crc = proxy_crc32c(p, b.b_len);
		p += PROXY_V2_HDRLEN + alen + 3;
		p[0] = (unsigned char)(crc >> 24);
		p[1] = (unsigned char)(crc >> 16);
		p[2] = (unsigned char)(crc >> 8);
		p[3] = (unsigned char)crc;
	}
	return (int)b.b_len;
}

/* Bit by bit: a header is summed once per connection, and is short. */
uint32_t
proxy_crc32c(const unsigned char *p, size_t len)
{
	uint32_t crc = 0xffffffff;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1));
	}
	return ~crc;
}

int
proxy_format(int version, const struct sockaddr *src,
    const struct sockaddr *dst, const struct proxy_tls *tls, char *out,
    size_t outlen)
{
	if (version == 1)
		return pp_format_v1(src, dst, out, outlen);
	if (version == 2)
		return pp_format_v2(src, dst, tls, out, outlen);
	return -1;
}
