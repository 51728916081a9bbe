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
#define HTTP_EMPTY_LINES_MAX 16	/* more before a request line: 400 */
#define HTTP_IN_ROOM	16384	/* struct http_in's room past a full head */
#define HTTP_ERROR_MAX	16384	/* an error response, detail of a few KiB */

#define HTTP_INCOMPLETE	1	/* parse: need more bytes */
#define HTTP_EOF	2	/* read_head: clean close before any byte */

/*
 * Status codes by name, their values the codes themselves (as suckless
 * quark's enum status): every function taking or returning a status
 * takes an int, so a code without a name here still passes through.
 */
enum http_status {
	HTTP_CONTINUE = 100,
	HTTP_SWITCHING_PROTOCOLS = 101,
	HTTP_PROCESSING = 102,
	HTTP_EARLY_HINTS = 103,
	HTTP_OK = 200,
	HTTP_CREATED = 201,
	HTTP_ACCEPTED = 202,
	HTTP_NON_AUTHORITATIVE = 203,
	HTTP_NO_CONTENT = 204,
	HTTP_RESET_CONTENT = 205,
	HTTP_PARTIAL_CONTENT = 206,
	HTTP_MULTI_STATUS = 207,
	HTTP_ALREADY_REPORTED = 208,
	HTTP_IM_USED = 226,
	HTTP_MULTIPLE_CHOICES = 300,
	HTTP_MOVED_PERMANENTLY = 301,
	HTTP_FOUND = 302,
	HTTP_SEE_OTHER = 303,
	HTTP_NOT_MODIFIED = 304,
	HTTP_USE_PROXY = 305,
	HTTP_TEMPORARY_REDIRECT = 307,
	HTTP_PERMANENT_REDIRECT = 308,
	HTTP_BAD_REQUEST = 400,
	HTTP_UNAUTHORIZED = 401,
	HTTP_PAYMENT_REQUIRED = 402,
	HTTP_FORBIDDEN = 403,
	HTTP_NOT_FOUND = 404,
	HTTP_METHOD_NOT_ALLOWED = 405,
	HTTP_NOT_ACCEPTABLE = 406,
	HTTP_PROXY_AUTH_REQUIRED = 407,
	HTTP_REQUEST_TIMEOUT = 408,
	HTTP_CONFLICT = 409,
	HTTP_GONE = 410,
	HTTP_LENGTH_REQUIRED = 411,
	HTTP_PRECONDITION_FAILED = 412,
	HTTP_CONTENT_TOO_LARGE = 413,
	HTTP_URI_TOO_LONG = 414,
	HTTP_UNSUPPORTED_MEDIA_TYPE = 415,
	HTTP_RANGE_NOT_SATISFIABLE = 416,
	HTTP_EXPECTATION_FAILED = 417,
	HTTP_MISDIRECTED_REQUEST = 421,
	HTTP_UNPROCESSABLE_CONTENT = 422,
	HTTP_LOCKED = 423,
	HTTP_FAILED_DEPENDENCY = 424,
	HTTP_TOO_EARLY = 425,
	HTTP_UPGRADE_REQUIRED = 426,
	HTTP_PRECONDITION_REQUIRED = 428,
	HTTP_TOO_MANY_REQUESTS = 429,
	HTTP_FIELDS_TOO_LARGE = 431,
	HTTP_UNAVAILABLE_FOR_LEGAL_REASONS = 451,
	HTTP_INTERNAL_SERVER_ERROR = 500,
	HTTP_NOT_IMPLEMENTED = 501,
	HTTP_BAD_GATEWAY = 502,
	HTTP_SERVICE_UNAVAILABLE = 503,
	HTTP_GATEWAY_TIMEOUT = 504,
	HTTP_VERSION_NOT_SUPPORTED = 505,
	HTTP_VARIANT_ALSO_NEGOTIATES = 506,
	HTTP_INSUFFICIENT_STORAGE = 507,
	HTTP_LOOP_DETECTED = 508,
	HTTP_NOT_EXTENDED = 510,
	HTTP_NETWORK_AUTH_REQUIRED = 511
};

/*
 * The error types of RFC 9209 (Proxy-Status: gtr; error=TOKEN), every
 * one the registry has.  PE_NONE: no Proxy-Status field.
 */
enum proxy_error {
	PE_NONE,
	PE_DNS_TIMEOUT,
	PE_DNS_ERROR,
	PE_DESTINATION_NOT_FOUND,
	PE_DESTINATION_UNAVAILABLE,
	PE_DESTINATION_IP_PROHIBITED,
	PE_DESTINATION_IP_UNROUTABLE,
	PE_CONNECTION_REFUSED,
	PE_CONNECTION_TERMINATED,
	PE_CONNECTION_TIMEOUT,
	PE_CONNECTION_READ_TIMEOUT,
	PE_CONNECTION_WRITE_TIMEOUT,
	PE_CONNECTION_LIMIT_REACHED,
	PE_TLS_PROTOCOL_ERROR,
	PE_TLS_CERTIFICATE_ERROR,
	PE_TLS_ALERT_RECEIVED,
	PE_HTTP_REQUEST_ERROR,
	PE_HTTP_REQUEST_DENIED,
	PE_HTTP_RESPONSE_INCOMPLETE,
	PE_HTTP_RESPONSE_HEADER_SECTION_SIZE,
	PE_HTTP_RESPONSE_HEADER_SIZE,
	PE_HTTP_RESPONSE_BODY_SIZE,
	PE_HTTP_RESPONSE_TRAILER_SECTION_SIZE,
	PE_HTTP_RESPONSE_TRAILER_SIZE,
	PE_HTTP_RESPONSE_TRANSFER_CODING,
	PE_HTTP_RESPONSE_CONTENT_CODING,
	PE_HTTP_RESPONSE_TIMEOUT,
	PE_HTTP_UPGRADE_FAILED,
	PE_HTTP_PROTOCOL_ERROR,
	PE_PROXY_INTERNAL_RESPONSE,
	PE_PROXY_INTERNAL_ERROR,
	PE_PROXY_CONFIGURATION_ERROR,
	PE_PROXY_LOOP_DETECTED,
	PE_COUNT
};

/* The token of an error type ("connection_refused"); NULL for PE_NONE. */
const char *http_proxy_error_token(enum proxy_error);

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
 * Finding where a head ends, incrementally, for a caller that reads a
 * head in pieces into one buffer (an event loop): each call looks only
 * at the bytes it has not seen yet, so a head dripped a byte at a time
 * costs linear work, and the caller parses once, when it is whole:
 *
 *	struct http_scan sc;
 *
 *	http_scan_init(&sc, 1);
 *	... on every read that appended to buf[0..len):
 *	switch (rc = http_head_scan(&sc, buf, len)) {
 *	case HTTP_INCOMPLETE:	read more (buf must keep its first bytes)
 *	case 0:			http_parse_request(buf, len, &hd): the
 *				head is buf[sc.sc_skip, sc.sc_size)
 *	default:		answer rc (400: sc.sc_error says why)
 *	}
 *
 * The verdict is the one http_parse_request() would give about the
 * head's extent: 400 for a bare CR anywhere before the head's end, for
 * more than HTTP_EMPTY_LINES_MAX empty lines before a request line, or
 * an empty line before a status line; 414 for a request line over
 * HTTP_LINE_MAX; 431 when HTTP_HEAD_MAX bytes (after the empty lines)
 * hold no end.  A verdict other than HTTP_INCOMPLETE is final.  A head
 * that ends may still be malformed inside: only the parse says.
 * buf needs HTTP_HEAD_MAX + 2 * HTTP_EMPTY_LINES_MAX bytes of room to
 * reach every verdict.
 */
struct http_scan {
	int		 sc_request;	/* a request head (else a response) */
	int		 sc_rc;		/* the verdict so far */
	size_t		 sc_pos;	/* bytes looked at */
	size_t		 sc_bol;	/* start of the line being scanned */
	int		 sc_lines;	/* head lines complete so far */
	int		 sc_empty;	/* empty lines before the head */
	size_t		 sc_skip;	/* their bytes: where the head starts */
	size_t		 sc_size;	/* with verdict 0: where it ends */
	const char	*sc_error;	/* with verdict 400: why */
};

void	http_scan_init(struct http_scan *, int is_request);
int	http_head_scan(struct http_scan *, const char *buf, size_t len);

/*
 * Parses the request head at the start of buf.  Returns 0 when complete
 * (hd_size says how much of buf it used), HTTP_INCOMPLETE if the blank
 * line has not arrived yet (and buf is not yet too large), or the status
 * to reject it with: 400 (malformed: obs-fold, bare CR, controls, space
 * before colon, bad token, TE with CL, two CLs, a '#' in the target, an
 * absolute-form target without a valid host, ...), 414, 431, 501 (a
 * transfer coding other than chunked), 505.  The framing it accepts is
 * left in one field of one plain value, so that a program passing the
 * fields on passes exactly what it framed the body by: equal
 * Content-Length values ("5, 5", repeated lines, "05") become one
 * "Content-Length: 5" where the first was (RFC 9110 8.6), and the
 * Transfer-Encoding fields, which name chunked once and nothing else
 * ("Chunked", "chunked,"), one "Transfer-Encoding: chunked".
 */
int	http_parse_request(char *buf, size_t len, struct http_head *);

/*
 * Parses a response head; req_method is the request's method (HEAD and
 * CONNECT change the framing).  Returns like http_parse_request(), with
 * 502 for anything malformed; Content-Length is made one field as
 * there, Transfer-Encoding is left as it came.
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

/*
 * Copies the host (uri-host [":" port]) a request is for into buf: the
 * authority of an absolute-form target, userinfo dropped, whatever Host
 * says (RFC 9112 3.2.2); CONNECT's target; else the Host field's value.
 * Returns buf, or NULL when the request names no host (HTTP/1.0 without
 * Host) or it does not fit.  The parser has checked its characters.
 */
char	*http_request_host(const struct http_head *, char *buf, size_t len);

/*
 * Percent-decodes the n bytes at s into out, NUL-terminated.  Returns 0
 * with *outn set, or -1 for a '%' not followed by two hex digits or when
 * out (which needs n + 1 bytes at most) is too small.  Decoded bytes are
 * not judged: NUL, CR, LF and '/' come out as any other byte, for the
 * caller to refuse as its protocol requires.
 */
int	http_pct_decode(const char *s, size_t n, char *out, size_t outlen,
	    size_t *outn);

/* --- I/O on file descriptors, with deadlines (monotonic ms, 0: none). --- */

/*
 * Input buffer of one side of a connection.  Bytes past a head stay in
 * it (pipelining, or a body already read) for the next read.
 */
struct http_in {
	int	 in_fd;
	/*
	 * A head is at most HTTP_HEAD_MAX bytes (and a few empty lines);
	 * the room past it is where a body's framing is read, so that a
	 * head that filled HTTP_HEAD_MAX still keeps its strings.
	 */
	char	 in_buf[HTTP_HEAD_MAX + HTTP_IN_ROOM];
	size_t	 in_start;		/* first unconsumed byte */
	size_t	 in_end;		/* one past the last byte read */
};

void	http_in_init(struct http_in *, int fd);

/*
 * Reads until a whole head is in the buffer and parses it (request or
 * response as is_request says).  Returns 0, HTTP_EOF (the peer closed
 * before the first byte), 408 on the deadline, 400 when the peer closed
 * mid-head or a read failed, or a parse rejection.  For a response (a
 * server's head, going to a gateway's client) those become 504 and 502.
 * The head's strings point into the buffer and stay valid until the next
 * http_read_head(): a body read meanwhile never overwrites them.
 */
int	http_read_head(struct http_in *, struct http_head *, int is_request,
	    const char *req_method, uint64_t deadline);

/* Bytes read past the head and not yet consumed. */
size_t	http_in_pending(const struct http_in *, const char **p);

/*
 * The chunked framing of a body (RFC 9112 7.1), scanned incrementally
 * over raw bytes, for a reader that de-chunks (http_read_body()) and for
 * one that forwards the bytes as they are but must know where the body
 * ends (tlsstripd --forwarded).  Strict: every line ends in CRLF; a
 * chunk size is hex below 2^63; extensions are token [= token /
 * quoted-string] and a size line is at most HTTP_LINE_MAX bytes;
 * trailer lines are field lines, at most HTTP_FIELDS_MAX of them in at
 * most HTTP_HEAD_MAX bytes.  A zeroed struct (or http_chunk_init()) is
 * at the start of a body.
 *
 * http_chunk_scan() takes len bytes that follow what it saw before and
 * consumes a prefix of them all of one kind: chunk data (*payload set),
 * or framing (sizes, extensions, CRLFs, trailers), stopping before the
 * first data byte and right after the body's last byte.  Returns how
 * many bytes it consumed, 0 when len is 0 or the body has ended, or -1
 * for a framing error (final).  So a forwarder does:
 *
 *	while (len > 0 && !http_chunk_done(&ck)) {
 *		if ((r = http_chunk_scan(&ck, p, len, &payload)) == -1)
 *			refuse with 400;
 *		forward p[0..r); p += r; len -= r;
 *	}
 *	// past the body: p is the next request head
 */
struct http_chunk {
	int		 ck_state;	/* private */
	uint64_t	 ck_left;	/* chunk size being read, or data due */
	size_t		 ck_line;	/* bytes of this size line */
	size_t		 ck_tr_bytes;	/* bytes of the trailer section */
	int		 ck_tr_lines;
};

void	 http_chunk_init(struct http_chunk *);
ssize_t	 http_chunk_scan(struct http_chunk *, const char *buf, size_t len,
	    int *payload);
/* Data bytes due before the next framing byte: non-zero only in data. */
uint64_t http_chunk_data_left(const struct http_chunk *);
/* 1 once the body's last byte (the trailer section's CRLF) was seen. */
int	 http_chunk_done(const struct http_chunk *);

/* State of a body being read. */
struct http_body {
	enum http_framing bd_framing;
	uint64_t bd_left;		/* of a Content-Length body */
	struct http_chunk bd_chunk;	/* of a chunked one */
	size_t	 bd_floor;		/* in_buf below it is the head's */
	int	 bd_response;		/* framing from a response: 502/504 */
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
 * Formats a complete error response the program generated into out:
 * status line, Content-Type: text/plain, Content-Length, Proxy-Status:
 * gtr; error=... (when proxy_error is non-NULL: a token, see
 * http_proxy_error_token()), each line of extra ("Allow: CONNECT" or
 * NULL; several separated by "\r\n"), Connection: close when close is
 * set (Connection: keep-alive to a 1.0 client otherwise), and the body
 * "STATUS REASON: detail\n" (or "STATUS REASON\n" without detail).
 * Pure: an event loop queues the bytes.  Returns their length, or -1 if
 * they do not fit (HTTP_ERROR_MAX always fits a detail and extra of a
 * few KiB); out is NUL-terminated.
 */
int	http_format_error(char *out, size_t len, int version, int status,
	    const char *proxy_error, const char *detail, const char *extra,
	    int close);

/*
 * The one wording of a 401 or 407, for every program that asks for
 * credentials: "credentials required" when the request carried none
 * (given 0), "credentials rejected" when they were wrong.
 */
const char *http_auth_refusal(int given);

/*
 * http_format_error() with pe's token, and a write of it within the
 * deadline; returns the bytes written (for bytes_out), or -1.
 */
int	http_send_error(int fd, int version, int status, enum proxy_error pe,
	    const char *detail, const char *extra, int close,
	    uint64_t deadline);

#endif
