/*
 * tlswrapd.h - what the files of the HTTP/HTTPS gateway share.
 *
 * main.c reads requests and runs exchanges; headers.c turns a request
 * target into an https URL and filters heads both ways; upstream.c
 * drives libcurl, with easy handles (and their connections) taken from a
 * curlpool per exchange.
 */
#ifndef TLSWRAPD_H
#define TLSWRAPD_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "http.h"
#include "net.h"
#include "opts.h"
#include "serve.h"

#define URL_MAX		(HTTP_LINE_MAX + NET_HOSTLEN + 32)
#define TRAILER_MAX	4096
#define VIA		"1.1 tlswrapd"
#define COALESCE_MAX	16384	/* body bytes sent with the head */

/* Settings fixed at start, read by every connection. */
struct gateway {
	struct gtr_opts	 gw_opts;
	const char	*gw_cacert;	/* --cacert */
	const char	*gw_cert;	/* --client-cert */
	const char	*gw_key;	/* --client-key */
	int		 gw_insecure;	/* --insecure */
	int		 gw_origin;	/* -c given: the origin is fixed */
	char		 gw_base[NET_HOSTLEN + 32];	/* "https://h:p" */
	char		 gw_base_path[HTTP_LINE_MAX];	/* "" or "/api" */
};

/* One client connection and the exchange in progress on it. */
struct session {
	struct conn	*s_conn;
	struct http_in	 s_in;
	struct http_head s_hd;
	CURL		*s_curl;	/* the exchange's, from the pool */
	char		 s_key[NET_HOSTLEN + 32];	/* its pool key */
	struct curl_slist *s_reqh;	/* request fields for libcurl */
	char		 s_url[URL_MAX];
	char		 s_err[CURL_ERROR_SIZE];
	/* the request body, pulled by libcurl */
	struct http_body s_body;
	int		 s_body_eof;
	int		 s_body_status;	/* 400/408 when it broke */
	int		 s_continued;	/* 100 Continue sent */
	/* the response head, collected line by line */
	char		 s_rbuf[HTTP_HEAD_MAX];
	size_t		 s_rlen;
	struct http_head s_rh;
	int		 s_rcode;
	int		 s_head_done;	/* final head complete */
	int		 s_head_sent;
	int		 s_chunked;	/* chunked to the client */
	int		 s_no_body;	/* HEAD, 204, 304 */
	int64_t		 s_clen;	/* Content-Length passed on, or -1 */
	char		 s_out[HTTP_HEAD_MAX + 512 + COALESCE_MAX + 32];
	size_t		 s_outlen;	/* a head not yet written */
	char		 s_trail[TRAILER_MAX];
	size_t		 s_traillen;
	/* outcome */
	int		 s_status;
	int		 s_policy;	/* the open-socket check refused */
	const char	*s_fail;	/* our own reason to stop libcurl */
	int		 s_write_failed;
	int		 s_close;
	uint64_t	 s_bytes_in;
	uint64_t	 s_bytes_out;
	uint64_t	 s_t0;
	const char	*s_proto;
};

extern struct gateway gw;

/* headers.c */
int	target_url(const struct gateway *, const struct http_head *,
	    char *, size_t, unsigned *, const char **);
struct curl_slist *request_fields(const struct http_head *);
int	response_line(struct session *, const char *, size_t);
int	response_head(struct session *, char *, size_t);

/* upstream.c */
int	upstream_init(const struct gateway *);
int	upstream_perform(struct session *);
void	upstream_release(struct session *);
int	upstream_error(struct session *, CURLcode, const char **,
	    char *, size_t);
uint64_t write_deadline(void);
int	upstream_flush(struct session *);

#endif
