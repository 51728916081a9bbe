/*
 * proxyhdr.h - the PROXY protocol header tlsstripd sends its backend.
 */
#ifndef TLSSTRIPD_PROXYHDR_H
#define TLSSTRIPD_PROXYHDR_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

/* The v2 TLV types of haproxy's proxy-protocol.txt that we send. */
#define PP2_TYPE_ALPN		0x01
#define PP2_TYPE_AUTHORITY	0x02
#define PP2_TYPE_CRC32C		0x03
#define PP2_TYPE_SSL		0x20
#define PP2_SUBTYPE_SSL_VERSION	0x21
#define PP2_SUBTYPE_SSL_CN	0x22
#define PP2_SUBTYPE_SSL_CIPHER	0x23
#define PP2_SUBTYPE_SSL_SIG_ALG	0x24
#define PP2_SUBTYPE_SSL_KEY_ALG	0x25

/* PP2_TYPE_SSL's client bits. */
#define PP2_CLIENT_SSL		0x01
#define PP2_CLIENT_CERT_CONN	0x02
#define PP2_CLIENT_CERT_SESS	0x04

/* The verify field when no client certificate was verified. */
#define PP2_VERIFY_NONE		1

/*
 * What the TLS side of a connection told tlsstripd, for the v2 TLVs.
 * A NULL or empty string is left out; pt_alpn is pt_alpn_len bytes.
 */
struct proxy_tls {
	const unsigned char *pt_alpn;	/* the protocol chosen */
	size_t		 pt_alpn_len;
	const char	*pt_authority;	/* the client's SNI */
	const char	*pt_version;	/* "TLSv1.3" */
	const char	*pt_cipher;	/* "TLS_AES_128_GCM_SHA256" */
	const char	*pt_sig_alg;	/* ours: "RSA-SHA256" */
	const char	*pt_key_alg;	/* ours: "RSA2048" */
	const char	*pt_cn;		/* the client certificate's */
	int		 pt_client;	/* PP2_CLIENT_* */
	uint32_t	 pt_verify;	/* 0: a verified certificate */
};

/*
 * Formats a v1 or v2 header for src -> dst into out; a v2 one with tls
 * and known addresses carries its TLVs and a CRC32C (v1 has no room for
 * them).  Returns its length, or -1 if it does not fit in outlen or in a
 * v2 header.
 */
int	proxy_format(int version, const struct sockaddr *src,
	    const struct sockaddr *dst, const struct proxy_tls *tls,
	    char *out, size_t outlen);

/* Returns the CRC32C (Castagnoli, RFC 4960 appendix B) of len bytes. */
uint32_t proxy_crc32c(const unsigned char *p, size_t len);

#endif
