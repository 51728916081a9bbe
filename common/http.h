/*
 * http.h - one strict HTTP/1.1 message-head parser and writer, with body
 * framing (Content-Length, chunked, until close), for every program.
 *
 * Parsing works on a buffer the caller owns and edits it in place (names
 * and values become NUL-terminated strings inside it).  As suckless
 * quark, a rejection is the status code to answer with, so every error
 * path is already a response.
 */
#ifndef GTR_HTTP_H
#define GTR_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP_HEAD_MAX	32768	/* larger heads: 431 */
#define HTTP_LINE_MAX	8192	/* longer request lines: 414 */
#define HTTP_FIELDS_MAX	128	/* more fields: 431 */

#define HTTP_INCOMPLETE	1	/* parse: need more bytes */
#define HTTP_EOF	2	/* read_head: clean close before any byte */

struct http_field {
	char	*name;
	char	*value;		/* leading/trailing OWS removed */
};

enum http_framing {
	HTTP_BODY_NONE,		/* no body (e.g. GET without length, 204, 304, HEAD) */
	HTTP_BODY_LENGTH,	/* Content-Length: hd_length bytes */
	HTTP_BODY_CHUNKED,	/* Transfer-Encoding: ..., chunked */
	HTTP_BODY_CLOSE		/* response read until close */
};

struct http_head {
	char	*hd_method;		/* request: "GET"... */
	char	*hd_target;		/* request: as sent */
	int	 hd_status;		/* response: 100..599 */
	char	*hd_reason;		/* response */
	int	 hd_version;		/* 10 or 11 (1.x with x>1 is 11) */
	struct http_field hd_fields[HTTP_FIELDS_MAX];
	int	 hd_nfields;
	enum http_framing hd_framing;
	uint64_t hd_length;		/* with HTTP_BODY_LENGTH */
	int	 hd_keep_alive;		/* version default and Connection */
	int	 hd_expect_continue;	/* Expect: 100-continue */
	size_t	 hd_size;		/* bytes of buf the head took */
	const char *hd_error;		/* why it was rejected with 400 */
};

/*
 * Parses the request head at the start of buf.  Returns 0 when complete
 * (hd_size says how much of buf it used), HTTP_INCOMPLETE if the blank
 * line has not arrived yet (and buf is not yet too large), or the status
 * to reject it with: 400 (malformed: obs-fold, bare CR, controls, space
 * before colon, bad token, TE with CL, two CLs, ...), 414, 431, 501 (last
 * transfer coding not chunked), 505.
 */
int	http_parse_request(char *buf, size_t len, struct http_head *);

/*
 * Parses a response head; req_method is the request's method (HEAD and
 * CONNECT change the framing).  Returns like http_parse_request(), with
 * 502 for anything malformed.
 */
int	http_parse_response(char *buf, size_t len, const char *req_method,
	    struct http_head *);

/* The first field of that name (case-insensitive) or NULL. */
const char *http_get(const struct http_head *, const char *name);

/* 1 if a comma-list field of that name carries token (case-insensitive). */
int	http_has_token(const struct http_head *, const char *name,
	    const char *token);

/*
 * 1 if the field is hop-by-hop in this message (RFC 9110 7.6.1): one of
 * the fixed list or named in Connection.
 */
int	http_is_hop_by_hop(const struct http_head *, const char *name);

/* 1 if s is a valid RFC 9110 token. */
int	http_is_token(const char *s);

/*
 * The one-line reason, for a response body and the log, of a status
 * http_read_head() rejected the request head hd with.
 */
const char *http_head_error(const struct http_head *hd, int status);

/*
 * Copies the request's method and target, as much as fits, for the
 * access line of a request refused or served: empty where the head had
 * none (it ended before its request line was whole).
 */
void	http_head_names(const struct http_head *hd, char *method,
	    size_t mlen, char *target, size_t tlen);

/* The standard reason phrase for a status ("Not Found"), or "Unknown". */
const char *http_reason(int status);

/* --- I/O on file descriptors, with deadlines (monotonic ms, 0: none). --- */

/*
 * Input buffer of one side of a connection.  Bytes past a head stay in
 * it (pipelining, or a body already read) for the next read.
 */
struct http_in {
	int	 in_fd;
	char	 in_buf[HTTP_HEAD_MAX];
	size_t	 in_start;		/* first unconsumed byte */
	size_t	 in_end;		/* one past the last byte read */
};

void	http_in_init(struct http_in *, int fd);

/*
 * Reads until a whole head is in the buffer and parses it (request or
 * response as is_request says).  Returns 0, HTTP_EOF (the peer closed
 * before the first byte), 408 on the deadline, 400 when the peer closed
 * mid-head or a read failed, or a parse rejection.  For a response (a
 * server's head, going to a gateway's client) those become 504 and 502.  The head's strings
 * point into the buffer and stay valid until the next http_read_head().
 */
int	http_read_head(struct http_in *, struct http_head *, int is_request,
	    const char *req_method, uint64_t deadline);

/* Bytes read past the head and not yet consumed. */
size_t	http_in_pending(const struct http_in *, const char **p);

/* State of a body being read. */
struct http_body {
	enum http_framing bd_framing;
	uint64_t bd_left;		/* of this length or chunk */
	int	 bd_state;		/* chunked parser state, private */
	int	 bd_done;
};

void	http_body_init(struct http_body *, const struct http_head *);

/*
 * Reads up to n bytes of body payload (de-chunked; trailers consumed and
 * dropped).  Returns the count, 0 at the end of the body, or -1 on a
 * framing error, a short body (the peer closed early) or the deadline;
 * *status then says what to answer with: 400/408 for a request's body,
 * 502/504 for a response's.
 */
ssize_t	http_read_body(struct http_in *, struct http_body *, char *out,
	    size_t n, uint64_t deadline, int *status);

/* Writes all of buf; 0, or -1 on error or deadline. */
int	http_write_all(int fd, const void *buf, size_t n, uint64_t deadline);

/* Writes one chunk (n > 0), or the last chunk "0\r\n\r\n" when n == 0. */
int	http_write_chunk(int fd, const void *buf, size_t n,
	    uint64_t deadline);

/*
 * Formats the head of a request (method, target, version 1.1) or response
 * (status) into out, with the given fields, each "Name: value" without
 * CRLF; returns the length, or -1 if it does not fit.
 */
int	http_format_head(char *out, size_t outlen, const char *start_line,
	    const struct http_field *fields, int nfields);

/*
 * Sends a complete error response the program generated: status line,
 * Content-Type: text/plain, Content-Length, Proxy-Status: gtr; error=...
 * (when proxy_error is non-NULL), each line of extra ("Allow: CONNECT"
 * or NULL; several separated by "\r\n"), Connection: close when close is
 * set, and the body "STATUS REASON: detail\n".  Returns 0 or -1.
 */
int	http_send_error(int fd, int version, int status,
	    const char *proxy_error, const char *detail, const char *extra,
	    int close, uint64_t deadline);

#endif
