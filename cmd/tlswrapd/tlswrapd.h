/*
 * tlswrapd.h - what the files of the HTTP/HTTPS gateway share.
 *
 * main.c takes the options and hands each client connection to the
 * event loop of loop.c, which owns it from then on; session.c reads its
 * requests and writes its responses without blocking; headers.c turns a
 * request target into an https URL and filters heads both ways;
 * upstream.c drives libcurl's multi interface for the exchanges.
 */
#ifndef TLSWRAPD_H
#define TLSWRAPD_H

#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "curlshare.h"
#include "http.h"
#include "log.h"
#include "net.h"
#include "opts.h"
#include "serve.h"

#define URL_MAX		(HTTP_LINE_MAX + NET_HOSTLEN + 32)
#define TRAILER_MAX	4096
#define VIA		"1.1 tlswrapd"
#define FIELDS_MAX	(HTTP_FIELDS_MAX + 4)	/* the client's, Via, ... */

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

/* What an epoll event points at: one side of a client connection. */
struct evsrc {
	struct session	*ev_s;
	int		 ev_write;	/* the client's write fd */
};

enum sstate {
	S_HEAD,		/* waiting for a request head */
	S_XFER,		/* an exchange runs in libcurl */
	S_DRAIN,	/* the response is complete; writing what is held */
	S_LINGER	/* closing: the client's unread rest is read away */
};

/* One client connection and the exchange in progress on it. */
struct session {
	struct evsrc	 s_rsrc;
	struct evsrc	 s_wsrc;
	struct conn	*s_conn;
	struct loop	*s_loop;
	struct session	*s_prev, *s_next;	/* the loop's live sessions */
	enum sstate	 s_state;
	int		 s_dead;	/* ended; freed after this round */
	int		 s_watched;	/* fds in the epoll set: WATCH_* */
#define WATCH_R		1
#define WATCH_W		2
	int		 s_rfile;	/* fd 0 is a file: always readable */
	int		 s_readable;	/* no short read since the last edge */
	int		 s_rflags, s_wflags;	/* fd flags to restore, or -1 */
	uint64_t	 s_deadline;	/* 0, or when waiting on the client ends */
	/*
	 * What the client sent.  s_in's fd never has anything to read (see
	 * session_init()): every byte comes in through session_fill(), so
	 * http_read_body() only parses the buffer and bytes_in is exact.
	 */
	struct http_in	 s_in;
	struct http_scan s_scan;	/* where the head being read ends */
	uint64_t	 s_in_total;	/* bytes read from the client, ever */
	uint64_t	 s_in_mark;	/* where in them this exchange began */
	int		 s_in_eof;	/* the client closed its side */
	/*
	 * The request head: its strings point into s_in until the exchange
	 * is in libcurl, when its bytes become the body's (head_release()):
	 * from then on only hd_method (s_method) and the numbers are valid.
	 */
	struct http_head s_hd;
	char		 s_method[32];	/* cut if longer: for the log only */
	CURL		*s_curl;	/* the session's, kept across exchanges */
	int		 s_in_multi;	/* an exchange runs in the multi handle */
	struct curl_slist s_fields[FIELDS_MAX];	/* request fields for libcurl */
	char		 s_fbuf[HTTP_HEAD_MAX + 256];
	char		 s_url[URL_MAX];
	char		 s_err[CURL_ERROR_SIZE];
	/* the request body, pulled by libcurl */
	struct http_body s_body;
	int		 s_body_eof;
	int		 s_body_status;	/* 400/408 when it broke */
	int		 s_continued;	/* 100 Continue sent */
	int		 s_read_paused;	/* libcurl waits for the client's body */
	int		 s_write_paused;	/* libcurl holds body for the client */
	/* the response head, collected line by line */
	char		 s_rbuf[HTTP_HEAD_MAX];
	size_t		 s_rlen;
	struct http_head s_rh;
	int		 s_rcode;
	int		 s_head_done;	/* final head complete */
	int		 s_head_sent;	/* and formatted into s_out */
	size_t		 s_head_at;	/* where in s_out */
	int		 s_body_started;
	int		 s_chunked;	/* chunked to the client */
	int		 s_no_body;	/* HEAD, 204, 304 */
	int64_t		 s_clen;	/* Content-Length passed on, or -1 */
	/* bytes for the client that the socket did not take yet */
	char		*s_out;
	size_t		 s_outcap, s_outoff, s_outlen;
	int		 s_blocked;	/* s_out waits for the socket */
	int		 s_batched;	/* s_out waits for the round's end */
	struct session	*s_batch_next;	/* the loop's list of those */
	char		 s_trail[TRAILER_MAX];
	size_t		 s_traillen;
	/* outcome, for the access line */
	int		 s_line;	/* an exchange began: its line is owed */
	int		 s_status;
	enum log_reason	 s_reason;
	struct curlshare_sock s_sock;	/* libcurl's open-socket check */
	const char	*s_fail;	/* our own reason to stop libcurl */
	int		 s_write_failed;
	int		 s_close;
	uint64_t	 s_bytes_out;	/* written to the client, heads too */
	uint64_t	 s_body_out;	/* of it, response body payload */
	uint64_t	 s_t0;
	const char	*s_proto;
	char		 s_upstream[NET_IPLEN + NET_PORTLEN + 4]; /* ADDR:PORT */
};

extern struct gateway gw;

/* headers.c */
int	target_url(const struct gateway *, const struct http_head *,
	    char *, size_t, unsigned *, const char **);
int	request_fields(struct session *);
int	response_line(struct session *, const char *, size_t);
int	response_head(struct session *, char *, size_t);

/* loop.c */
int	loop_add(struct conn *);
int	loop_watch(struct session *);
void	loop_unwatch(struct session *);
void	loop_bury(struct session *);
void	loop_batch(struct session *);
CURLM	*loop_multi(struct session *);

/* session.c */
int	session_init(void);
struct session *session_new(struct conn *);
void	session_start(struct session *);
void	session_io(struct session *, int, uint32_t);
void	session_done(struct session *, CURLcode);
void	session_sweep(struct session *, uint64_t);
void	session_close(struct session *, enum log_reason);
int	session_fill(struct session *);
int	out_writev(struct session *, struct iovec *, int);
int	out_hold(struct session *, const char *, size_t);
int	out_batch(struct session *, struct iovec *, int);
void	out_round_end(struct session *);
uint64_t idle_deadline(void);

/* upstream.c */
int	upstream_init(const struct gateway *);
int	upstream_start(struct session *);
void	upstream_stop(struct session *);
void	upstream_unpause(struct session *);
int	upstream_error(struct session *, CURLcode, enum proxy_error *,
	    char *, size_t);

#endif
