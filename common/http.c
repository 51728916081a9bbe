/*
 * http.c - the strict HTTP/1.1 head parser and writer, and body framing.
 *
 * A head is parsed in two passes: scan_head() finds where it ends without
 * touching the buffer (so an incomplete head can be parsed again once more
 * bytes arrived), then parse_head() cuts it into NUL-terminated strings in
 * place and decides the framing.  Every rejection is the status to answer
 * with.  Line endings in a head are CRLF or a bare LF (RFC 9112 2.2
 * allows a recipient to accept the latter), in chunked framing only CRLF;
 * a CR not followed by LF is always 400.
 *
 * The request side answers 400/408 for a broken or silent peer; the
 * response side (a head from a server, or a body whose framing came from
 * a response) answers 502/504 instead, since the status goes to the
 * client of a gateway.
 *
 * No state outside the caller's structs: every function is thread-safe.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

/* Largest Content-Length or chunk size: fits an off_t. */
#define LENGTH_MAX	((uint64_t)INT64_MAX)
#define ERR_HEAD_MAX	4096		/* head of http_send_error() */

/* Chunked body parser states, kept in the low bits of bd_state. */
enum {
	CH_SIZE0,		/* first hex digit of a chunk size */
	CH_SIZE,		/* more hex digits */
	CH_EXT_BWS,		/* after the size or an extension */
	CH_EXT_NAME0,		/* after ';' */
	CH_EXT_NAME,
	CH_EXT_NAME_BWS,	/* after an extension name */
	CH_EXT_VAL0,		/* after '=' */
	CH_EXT_VAL,
	CH_EXT_QUOTED,
	CH_EXT_QESC,		/* after a backslash in quotes */
	CH_SIZE_LF,		/* CR of the size line seen */
	CH_DATA,
	CH_DATA_CR,		/* chunk data done, CRLF expected */
	CH_DATA_LF,
	CH_TR_BOL,		/* start of a trailer line */
	CH_TR_NAME,
	CH_TR_VALUE,
	CH_TR_LF,
	CH_TR_END_LF,		/* CR of the final empty line seen */
	CH_DONE
};

/*
 * bd_state also carries whether the framing came from a response (502
 * instead of 400) and the size of the head at the front of in_buf, which
 * the body reader never overwrites so that the head's strings stay valid.
 */
#define BD_STATE(bd)		((bd)->bd_state & 0x1f)
#define BD_RESPONSE		0x20
#define BD_FLOOR(bd)		((size_t)(((bd)->bd_state >> 8) & 0xffff))
#define BD_SET(bd, st)	\
	((bd)->bd_state = ((bd)->bd_state & ~0x1f) | (st))

/* Trailer limits, counted in bd_left (unused once the last chunk came). */
#define TR_BYTES(bd)		((bd)->bd_left & 0xffffffffU)
#define TR_LINES(bd)		((bd)->bd_left >> 32)

static uint64_t	clock_ms(void);
static int	wait_fd(int, short, uint64_t);
static ssize_t	in_read(int, void *, size_t, uint64_t);
static int	writev_all(int, struct iovec *, int, uint64_t);
static int	is_tchar(int);
static int	is_token_n(const char *, size_t);
static int	is_field_vchar(int);
static int	scan_head(const char *, size_t, int, size_t *, size_t *);
static size_t	line_end(const char *, size_t, size_t, size_t *);
static int	parse_version(const char *, size_t);
static int	parse_request_line(char *, size_t, struct http_head *);
static int	parse_status_line(char *, size_t, struct http_head *);
static int	parse_field(char *, size_t, struct http_head *);
static int	parse_length(const char *, uint64_t *);
static int	parse_codings(const char *, int *, int *);
static int	is_host_value(const char *);
static int	decide_framing(struct http_head *, int, const char *);
static int	bad(struct http_head *, const char *);
static int	parse_head(char *, size_t, int, const char *,
		    struct http_head *);
static int	may_end(const char *, size_t, size_t);
static size_t	drop_empty_lines(struct http_in *);
static int	chunk_step(struct http_body *, int);
static int	chunk_size_done(struct http_body *);
static int	trailer_line(struct http_body *);
static int	trailer_step(struct http_body *, int);
static ssize_t	read_chunked(struct http_in *, struct http_body *, char *,
		    size_t, uint64_t, int *);
static ssize_t	read_plain(struct http_in *, struct http_body *, char *,
		    size_t, uint64_t, int *);
static int	body_status(const struct http_body *, ssize_t);

/*
 * Our own monotonic clock, the same as serve.c's now_ms(), so that the
 * fuzzer and unit tests link http.c without the front side.
 */
static uint64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits for events on fd; returns 1 when ready, 0 at the deadline, -1. */
static int
wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd;
	uint64_t now, left;
	int r, timeout;

	for (;;) {
		timeout = -1;
		if (deadline != 0) {
			now = clock_ms();
			if (now >= deadline)
				return 0;
			left = deadline - now;
			timeout = left > INT_MAX ? INT_MAX : (int)left;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, timeout);
		if (r > 0)
			return 1;
		if (r == 0 && deadline != 0 && clock_ms() >= deadline)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/*
 * Reads what is there, waiting until the deadline; returns the count, 0
 * at end of file, -1 on error, -2 at the deadline.  Sockets are read with
 * MSG_DONTWAIT so a blocking fd cannot outlive the deadline; other fds
 * (pipes in inetd and pipe mode) are polled first.
 */
static ssize_t
in_read(int fd, void *buf, size_t n, uint64_t deadline)
{
	ssize_t r;
	int notsock = 0, w;

	for (;;) {
		if (!notsock) {
			r = recv(fd, buf, n, MSG_DONTWAIT);
			if (r >= 0)
				return r;
			if (errno == ENOTSOCK) {
				notsock = 1;
				continue;
			}
		} else {
			if ((w = wait_fd(fd, POLLIN, deadline)) <= 0)
				return w == 0 ? -2 : -1;
			r = read(fd, buf, n);
			if (r >= 0)
				return r;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (!notsock && (w = wait_fd(fd, POLLIN, deadline)) <= 0)
			return w == 0 ? -2 : -1;
	}
}

/*
 * Writes all of iov (which it consumes); returns 0, or -1 with errno
 * (ETIMEDOUT at the deadline).  Sockets get MSG_NOSIGNAL: a peer gone
 * must be an error, not a SIGPIPE.
 */
static int
writev_all(int fd, struct iovec *iov, int iovcnt, uint64_t deadline)
{
	struct msghdr msg;
	ssize_t r;
	int notsock = 0, w;

	while (iovcnt > 0) {
		if (iov->iov_len == 0) {
			iov++;
			iovcnt--;
			continue;
		}
		if (!notsock) {
			memset(&msg, 0, sizeof(msg));
			msg.msg_iov = iov;
			msg.msg_iovlen = iovcnt;
			r = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (r < 0 && errno == ENOTSOCK) {
				notsock = 1;
				continue;
			}
		} else {
			if ((w = wait_fd(fd, POLLOUT, deadline)) <= 0)
				goto waitfail;
			r = writev(fd, iov, iovcnt);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			if (!notsock &&
			    (w = wait_fd(fd, POLLOUT, deadline)) <= 0)
				goto waitfail;
			continue;
		}
		while (r > 0 && iovcnt > 0) {
			if ((size_t)r < iov->iov_len) {
				iov->iov_base = (char *)iov->iov_base + r;
				iov->iov_len -= r;
				r = 0;
			} else {
				r -= iov->iov_len;
				iov++;
				iovcnt--;
			}
		}
	}
	return 0;
waitfail:
	if (w == 0)
		errno = ETIMEDOUT;
	return -1;
}

/* 1 if c is a tchar of RFC 9110 5.6.2. */
static int
is_tchar(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* 1 if the n bytes at s are a non-empty token. */
static int
is_token_n(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return 0;
	return 1;
}

/* 1 if c may appear in a field value: HTAB, SP, VCHAR, obs-text. */
static int
is_field_vchar(int c)
{
	return c == '\t' || (c >= ' ' && c != 0x7f);
}

int
http_is_token(const char *s)
{
	return s != NULL && is_token_n(s, strlen(s));
}

/*
 * Returns the offset of the end of the line starting at pos (its CR or
 * LF) and sets *next past the line ending; scan_head() vouched for it.
 */
static size_t
line_end(const char *buf, size_t pos, size_t end, size_t *next)
{
	while (pos < end && buf[pos] != '\r' && buf[pos] != '\n')
		pos++;
	*next = pos + (buf[pos] == '\r' ? 2 : 1);
	return pos;
}

/*
 * Finds the end of the head without changing buf.  Returns 0 with *skip
 * (empty lines before a request line, RFC 9112 2.2) and *size set,
 * HTTP_INCOMPLETE, or 400 (bare CR), 414 or 431.
 */
static int
scan_head(const char *buf, size_t len, int is_request, size_t *skip,
    size_t *size)
{
	size_t i, bol = 0, eol, next, lim, lines = 0;

	lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	*skip = 0;
	for (i = 0; i < lim; i++) {
		if (buf[i] == '\r') {
			if (i + 1 == lim)
				break;
			if (buf[i + 1] != '\n')
				return 400;
			next = i + 2;
		} else if (buf[i] == '\n')
			next = i + 1;
		else {
			if (is_request && lines == 0 &&
			    i - bol >= HTTP_LINE_MAX)
				return 414;
			continue;
		}
		eol = i;
		i = next - 1;
		if (eol == bol && lines == 0) {
			if (!is_request)
				return 400;
			bol = *skip = next;
			continue;
		}
		if (eol == bol) {
			*size = next;
			return 0;
		}
		lines++;
		bol = next;
	}
	if (len >= HTTP_HEAD_MAX)
		return 431;
	return HTTP_INCOMPLETE;
}

/* Returns 10 or 11 for "HTTP/1.x", 505 for another major, or 400. */
static int
parse_version(const char *s, size_t n)
{
	if (n != 8 || strncmp(s, "HTTP/", 5) != 0 || s[6] != '.' ||
	    s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9')
		return 400;
	if (s[5] != '1')
		return 505;
	return s[7] == '0' ? 10 : 11;
}

/* Splits "METHOD SP TARGET SP HTTP/x.y"; returns 0 or the status. */
static int
parse_request_line(char *line, size_t n, struct http_head *hd)
{
	char *sp1, *sp2;
	size_t i;
	int v;

	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < ' ' || line[i] == 0x7f)
			return 400;
	if ((sp1 = memchr(line, ' ', n)) == NULL)
		return 400;
	if ((sp2 = memchr(sp1 + 1, ' ', n - (sp1 + 1 - line))) == NULL)
		return 400;		/* HTTP/0.9 has no version */
	if (!is_token_n(line, sp1 - line) || sp2 == sp1 + 1)
		return 400;
	v = parse_version(sp2 + 1, n - (sp2 + 1 - line));
	if (v != 10 && v != 11)
		return v;
	*sp1 = *sp2 = '\0';
	line[n] = '\0';
	hd->hd_method = line;
	hd->hd_target = sp1 + 1;
	hd->hd_version = v;
	return 0;
}

/*
 * Splits "HTTP/x.y SP 3DIGIT SP reason" (the SP before an empty reason may
 * be missing, as many servers send); returns 0 or 400.
 */
static int
parse_status_line(char *line, size_t n, struct http_head *hd)
{
	size_t i;
	int v;

	for (i = 0; i < n; i++)
		if (!is_field_vchar((unsigned char)line[i]))
			return 400;
	if (n < 12 || line[8] != ' ' || (n > 12 && line[12] != ' '))
		return 400;
	if ((v = parse_version(line, 8)) != 10 && v != 11)
		return 400;
	for (i = 9; i < 12; i++)
		if (line[i] < '0' || line[i] > '9')
			return 400;
	hd->hd_status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
	    (line[11] - '0');
	if (hd->hd_status < 100 || hd->hd_status > 599)
		return 400;
	hd->hd_version = v;
	line[n] = '\0';
	hd->hd_reason = n > 12 ? line + 13 : line + n;
	return 0;
}

/* Adds the field line of n bytes at line; returns 0 or the status. */
static int
parse_field(char *line, size_t n, struct http_head *hd)
{
	char *colon, *v, *e;
	size_t i;

	if (line[0] == ' ' || line[0] == '\t')
		return bad(hd, "folded header field line");
	if ((colon = memchr(line, ':', n)) == NULL)
		return bad(hd, "header field line without a colon");
	if (!is_token_n(line, colon - line))	/* also space before ':' */
		return bad(hd, "malformed header field name");
	for (i = colon + 1 - line; i < n; i++)
		if (!is_field_vchar((unsigned char)line[i]))
			return bad(hd, "control character in a field value");
	if (hd->hd_nfields == HTTP_FIELDS_MAX)
		return 431;
	v = colon + 1;
	e = line + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*colon = '\0';
	*e = '\0';
	hd->hd_fields[hd->hd_nfields].name = line;
	hd->hd_fields[hd->hd_nfields].value = v;
	hd->hd_nfields++;
	return 0;
}

/*
 * Parses a Content-Length value, a list of equal decimal numbers ("5, 5"
 * from a folded duplicate); returns 0 with *len set, or -1.
 */
static int
parse_length(const char *v, uint64_t *len)
{
	uint64_t n, first = 0;
	int have = 0, digits;

	for (;;) {
		while (*v == ' ' || *v == '\t')
			v++;
		n = 0;
		for (digits = 0; *v >= '0' && *v <= '9'; v++, digits++) {
			if (n > (LENGTH_MAX - (*v - '0')) / 10)
				return -1;
			n = n * 10 + (*v - '0');
		}
		while (*v == ' ' || *v == '\t')
			v++;
		if (digits == 0 || (*v != ',' && *v != '\0'))
			return -1;
		if (have && n != first)
			return -1;
		first = n;
		have = 1;
		if (*v++ == '\0') {
			*len = n;
			return 0;
		}
	}
}

/*
 * Reads the codings of one Transfer-Encoding value: counts "chunked" in
 * *nchunked and sets *last_chunked by the last one.  Empty list elements
 * are ignored (RFC 9110 5.6.1.2).  Returns the count of codings, or -1
 * for a coding that is not a token.
 */
static int
parse_codings(const char *v, int *nchunked, int *last_chunked)
{
	const char *s, *e, *end;
	int count = 0;

	for (s = v; *s != '\0'; s = *end == ',' ? end + 1 : end) {
		end = s + strcspn(s, ",");
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		e = s + strcspn(s, ",;");
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e == s && (*e == ',' || *e == '\0'))
			continue;
		if (!is_token_n(s, e - s))
			return -1;
		*last_chunked = e - s == 7 &&
		    strncasecmp(s, "chunked", 7) == 0;
		/*
		 * chunked has no parameters: a server behind us that does
		 * not take "chunked;x" for chunked would read the body as
		 * the next request.
		 */
		if (*last_chunked && s + strcspn(s, ",;") < end)
			return -1;
		*nchunked += *last_chunked;
		count++;
	}
	return count;
}

/*
 * Returns 1 if v may be a Host value (RFC 9110 7.2: uri-host [":" port],
 * by its characters).  Anything else would reach a server behind us, or
 * a CGI program's SERVER_NAME, as a host that means something else.
 */
static int
is_host_value(const char *v)
{
	for (; *v != '\0'; v++)
		if (!(*v >= 'a' && *v <= 'z') && !(*v >= 'A' && *v <= 'Z') &&
		    !(*v >= '0' && *v <= '9') &&
		    strchr("-._~%!$&'()*+,;=:[]", *v) == NULL)
			return 0;
	return 1;
}

/*
 * Checks Content-Length, Transfer-Encoding and Host and sets the framing,
 * keep-alive and Expect; returns 0 or the status (as for a request).
 */
static int
decide_framing(struct http_head *hd, int is_request, const char *req_method)
{
	struct http_field *f;
	uint64_t len = 0, l;
	int i, ncl = 0, nte = 0, nchunked = 0, last_chunked = 0, nhost = 0;
	int n;

	for (i = 0; i < hd->hd_nfields; i++) {
		f = &hd->hd_fields[i];
		if (strcasecmp(f->name, "Content-Length") == 0) {
			if (parse_length(f->value, &l) == -1)
				return bad(hd, "invalid Content-Length");
			if (ncl > 0 && l != len)
				return bad(hd, "conflicting Content-Length fields");
			len = l;
			ncl++;
		} else if (strcasecmp(f->name, "Transfer-Encoding") == 0) {
			n = parse_codings(f->value, &nchunked, &last_chunked);
			if (n == -1)
				return bad(hd, "invalid Transfer-Encoding");
			nte += n;
		} else if (strcasecmp(f->name, "Host") == 0) {
			if (is_request && !is_host_value(f->value))
				return bad(hd, "invalid Host field");
			nhost++;
		}
	}
	if (nte == 0 && http_get(hd, "Transfer-Encoding") != NULL)
		return bad(hd, "empty Transfer-Encoding");
	if (nte > 0 && ncl > 0)
		return bad(hd, "both Transfer-Encoding and Content-Length");
	if (nchunked > 1)
		return bad(hd, "chunked applied more than once");
	if (nte > 0 && hd->hd_version == 10)	/* RFC 9112 6.1 */
		return bad(hd, "Transfer-Encoding in an HTTP/1.0 message");
	if (is_request && nhost > 1)
		return bad(hd, "more than one Host field");
	if (is_request && nhost == 0 && hd->hd_version == 11)
		return bad(hd, "no Host field");
	if (hd->hd_version == 11)
		hd->hd_keep_alive = !http_has_token(hd, "Connection", "close");
	else
		hd->hd_keep_alive = http_has_token(hd, "Connection",
		    "keep-alive") && !http_has_token(hd, "Connection", "close");
	hd->hd_length = 0;
	if (is_request) {
		if (nte > 0 && !last_chunked)
			return 501;
		hd->hd_framing = nte > 0 ? HTTP_BODY_CHUNKED :
		    ncl > 0 ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
		hd->hd_length = ncl > 0 ? len : 0;
		hd->hd_expect_continue = http_get(hd, "Expect") != NULL &&
		    strcasecmp(http_get(hd, "Expect"), "100-continue") == 0;
		return 0;
	}
	if ((req_method != NULL && strcmp(req_method, "HEAD") == 0) ||
	    hd->hd_status < 200 || hd->hd_status == 204 ||
	    hd->hd_status == 304 || (req_method != NULL &&
	    strcmp(req_method, "CONNECT") == 0 && hd->hd_status < 300))
		hd->hd_framing = HTTP_BODY_NONE;
	else if (nte > 0)
		hd->hd_framing = last_chunked ? HTTP_BODY_CHUNKED :
		    HTTP_BODY_CLOSE;
	else if (ncl > 0) {
		hd->hd_framing = HTTP_BODY_LENGTH;
		hd->hd_length = len;
	} else
		hd->hd_framing = HTTP_BODY_CLOSE;
	if (hd->hd_framing == HTTP_BODY_CLOSE)
		hd->hd_keep_alive = 0;
	return 0;
}

/* Notes why a head is rejected; returns 400. */
static int
bad(struct http_head *hd, const char *why)
{
	hd->hd_error = why;
	return 400;
}

/* Parses a head of either kind; returns as http_parse_request(). */
static int
parse_head(char *buf, size_t len, int is_request, const char *req_method,
    struct http_head *hd)
{
	size_t skip, size, pos, eol, next;
	int rc;

	memset(hd, 0, sizeof(*hd));
	rc = scan_head(buf, len, is_request, &skip, &size);
	if (rc == 400)
		return bad(hd, "bare CR in the head");
	if (rc != 0)
		return rc;
	eol = line_end(buf, skip, size, &next);
	if (is_request)
		rc = parse_request_line(buf + skip, eol - skip, hd);
	else
		rc = parse_status_line(buf + skip, eol - skip, hd);
	if (rc == 400 && is_request)
		return bad(hd, "malformed request line");
	if (rc != 0)
		return rc;
	for (pos = next; pos < size; pos = next) {
		eol = line_end(buf, pos, size, &next);
		if (eol == pos)
			break;
		if ((rc = parse_field(buf + pos, eol - pos, hd)) != 0)
			return rc;
	}
	if ((rc = decide_framing(hd, is_request, req_method)) != 0)
		return rc;
	hd->hd_size = size;
	return 0;
}

int
http_parse_request(char *buf, size_t len, struct http_head *hd)
{
	return parse_head(buf, len, 1, NULL, hd);
}

int
http_parse_response(char *buf, size_t len, const char *req_method,
    struct http_head *hd)
{
	int rc;

	rc = parse_head(buf, len, 0, req_method, hd);
	return rc == 0 || rc == HTTP_INCOMPLETE ? rc : 502;
}

const char *
http_get(const struct http_head *hd, const char *name)
{
	int i;

	for (i = 0; i < hd->hd_nfields; i++)
		if (strcasecmp(hd->hd_fields[i].name, name) == 0)
			return hd->hd_fields[i].value;
	return NULL;
}

int
http_has_token(const struct http_head *hd, const char *name,
    const char *token)
{
	const char *s, *e, *end;
	size_t tlen = strlen(token);
	int i;

	for (i = 0; i < hd->hd_nfields; i++) {
		if (strcasecmp(hd->hd_fields[i].name, name) != 0)
			continue;
		for (s = hd->hd_fields[i].value; *s != '\0';
		    s = *end == ',' ? end + 1 : end) {
			end = s + strcspn(s, ",");
			while (s < end && (*s == ' ' || *s == '\t'))
				s++;
			e = end;
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if ((size_t)(e - s) == tlen &&
			    strncasecmp(s, token, tlen) == 0)
				return 1;
		}
	}
	return 0;
}

int
http_is_hop_by_hop(const struct http_head *hd, const char *name)
{
	static const char *const fixed[] = {
		"Connection", "Keep-Alive", "Proxy-Connection",
		"Proxy-Authorization", "Proxy-Authenticate", "TE", "Trailer",
		"Transfer-Encoding", "Upgrade"
	};
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcasecmp(name, fixed[i]) == 0)
			return 1;
	return http_has_token(hd, "Connection", name);
}

const char *
http_reason(int status)
{
	static const struct {
		int		 code;
		const char	*reason;
	} reasons[] = {
		{ 100, "Continue" },
		{ 101, "Switching Protocols" },
		{ 102, "Processing" },
		{ 103, "Early Hints" },
		{ 200, "OK" },
		{ 201, "Created" },
		{ 202, "Accepted" },
		{ 203, "Non-Authoritative Information" },
		{ 204, "No Content" },
		{ 205, "Reset Content" },
		{ 206, "Partial Content" },
		{ 207, "Multi-Status" },
		{ 208, "Already Reported" },
		{ 226, "IM Used" },
		{ 300, "Multiple Choices" },
		{ 301, "Moved Permanently" },
		{ 302, "Found" },
		{ 303, "See Other" },
		{ 304, "Not Modified" },
		{ 305, "Use Proxy" },
		{ 307, "Temporary Redirect" },
		{ 308, "Permanent Redirect" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 402, "Payment Required" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 406, "Not Acceptable" },
		{ 407, "Proxy Authentication Required" },
		{ 408, "Request Timeout" },
		{ 409, "Conflict" },
		{ 410, "Gone" },
		{ 411, "Length Required" },
		{ 412, "Precondition Failed" },
		{ 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" },
		{ 416, "Range Not Satisfiable" },
		{ 417, "Expectation Failed" },
		{ 421, "Misdirected Request" },
		{ 422, "Unprocessable Content" },
		{ 423, "Locked" },
		{ 424, "Failed Dependency" },
		{ 425, "Too Early" },
		{ 426, "Upgrade Required" },
		{ 428, "Precondition Required" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 451, "Unavailable For Legal Reasons" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
		{ 505, "HTTP Version Not Supported" },
		{ 506, "Variant Also Negotiates" },
		{ 507, "Insufficient Storage" },
		{ 508, "Loop Detected" },
		{ 510, "Not Extended" },
		{ 511, "Network Authentication Required" }
	};
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == status)
			return reasons[i].reason;
	return "Unknown";
}

void
http_in_init(struct http_in *in, int fd)
{
	in->in_fd = fd;
	in->in_start = in->in_end = 0;
}

/*
 * Returns 1 if the bytes from..to of buf could have completed a head (an
 * LF ending an empty line), so a slow peer does not cost a full parse of
 * the buffer per byte.
 */
static int
may_end(const char *buf, size_t from, size_t to)
{
	const char *p;

	for (; from < to; from = p - buf + 1) {
		if ((p = memchr(buf + from, '\n', to - from)) == NULL)
			return 0;
		if (p > buf && (p[-1] == '\n' ||
		    (p - 1 > buf && p[-1] == '\r' && p[-2] == '\n')))
			return 1;
	}
	return 0;
}

/*
 * Drops the empty lines (CRLF or LF) at the front of in_buf, which RFC
 * 9112 2.2 lets a server ignore before a request line.  Kept, each
 * arrival of one would look like a head's end to may_end() and cost a
 * parse of the whole buffer: quadratic work for a client sending CRLFs.
 * Returns how many bytes it dropped, at once when in_buf starts with
 * anything else.
 */
static size_t
drop_empty_lines(struct http_in *in)
{
	size_t k = 0;

	while (k < in->in_end && (in->in_buf[k] == '\n' ||
	    (in->in_buf[k] == '\r' && k + 1 < in->in_end &&
	    in->in_buf[k + 1] == '\n')))
		k += in->in_buf[k] == '\r' ? 2 : 1;
	if (k > 0) {
		memmove(in->in_buf, in->in_buf + k, in->in_end - k);
		in->in_end -= k;
	}
	return k;
}

/*
 * The head always starts at in_buf[0]: pending bytes move to the front
 * first, which is what ends the previous head's strings.
 */
int
http_read_head(struct http_in *in, struct http_head *hd, int is_request,
    const char *req_method, uint64_t deadline)
{
	size_t pend, old, k;
	ssize_t r;
	int rc, parse;

	pend = in->in_end - in->in_start;
	if (in->in_start > 0) {
		memmove(in->in_buf, in->in_buf + in->in_start, pend);
		in->in_start = 0;
		in->in_end = pend;
	}
	if (is_request)
		(void)drop_empty_lines(in);
	parse = in->in_end > 0;
	for (;;) {
		if (parse) {
			if (is_request)
				rc = http_parse_request(in->in_buf, in->in_end,
				    hd);
			else
				rc = http_parse_response(in->in_buf,
				    in->in_end, req_method, hd);
			if (rc == 0) {
				in->in_start = hd->hd_size;
				return 0;
			}
			if (rc != HTTP_INCOMPLETE)
				return rc;
		}
		old = in->in_end;
		r = in_read(in->in_fd, in->in_buf + old,
		    sizeof(in->in_buf) - old, deadline);
		if (r == -2)
			return is_request ? 408 : 504;
		if (r == 0 && old == 0)
			return HTTP_EOF;
		if (r <= 0)
			return is_request ? 400 : 502;
		in->in_end += r;
		if (is_request && (k = drop_empty_lines(in)) > 0) {
			old = old > k ? old - k : 0;
			if (in->in_end == 0) {
				parse = 0;
				continue;
			}
		}
		parse = may_end(in->in_buf, old > 2 ? old - 2 : 0,
		    in->in_end) || in->in_end == sizeof(in->in_buf) ||
		    (old <= HTTP_LINE_MAX && in->in_end > HTTP_LINE_MAX);
	}
}

size_t
http_in_pending(const struct http_in *in, const char **p)
{
	if (p != NULL)
		*p = in->in_buf + in->in_start;
	return in->in_end - in->in_start;
}

void
http_body_init(struct http_body *bd, const struct http_head *hd)
{
	size_t floor = hd->hd_size < 0xffff ? hd->hd_size : 0xffff;

	bd->bd_framing = hd->hd_framing;
	bd->bd_left = hd->hd_framing == HTTP_BODY_LENGTH ? hd->hd_length : 0;
	bd->bd_state = CH_SIZE0 | (int)(floor << 8) |
	    (hd->hd_method == NULL ? BD_RESPONSE : 0);
	bd->bd_done = hd->hd_framing == HTTP_BODY_NONE ||
	    (hd->hd_framing == HTTP_BODY_LENGTH && hd->hd_length == 0);
}

/*
 * The status for a failed read (r: 0 for a short body or bad framing, -1
 * for an error, -2 for the deadline): 400/408 for a request, 502/504 for
 * a body whose framing came from a response.
 */
static int
body_status(const struct http_body *bd, ssize_t r)
{
	int resp = bd->bd_state & BD_RESPONSE;

	if (r == -2)
		return resp ? 504 : 408;
	return resp ? 502 : 400;
}

/* Ends a chunk-size line; returns 0. */
static int
chunk_size_done(struct http_body *bd)
{
	if (bd->bd_left == 0)
		BD_SET(bd, CH_TR_BOL);	/* bd_left now counts trailers */
	else
		BD_SET(bd, CH_DATA);
	return 0;
}

/* Ends a trailer line; returns 0, or -1 past HTTP_FIELDS_MAX lines. */
static int
trailer_line(struct http_body *bd)
{
	bd->bd_left += (uint64_t)1 << 32;
	if (TR_LINES(bd) > HTTP_FIELDS_MAX)
		return -1;
	BD_SET(bd, CH_TR_BOL);
	return 0;
}

/* Feeds one trailer byte; returns 0, or -1 for a bad or too long one. */
static int
trailer_step(struct http_body *bd, int c)
{
	bd->bd_left++;
	if (TR_BYTES(bd) > HTTP_HEAD_MAX)
		return -1;
	switch (BD_STATE(bd)) {
	case CH_TR_BOL:
		if (c == '\r')
			BD_SET(bd, CH_TR_END_LF);
		else if (is_tchar(c))
			BD_SET(bd, CH_TR_NAME);
		else
			return -1;	/* obs-fold, empty name, controls */
		return 0;
	case CH_TR_NAME:
		if (c == ':')
			BD_SET(bd, CH_TR_VALUE);
		else if (!is_tchar(c))
			return -1;
		return 0;
	case CH_TR_VALUE:
		if (c == '\r')
			BD_SET(bd, CH_TR_LF);
		else if (!is_field_vchar(c))
			return -1;
		return 0;
	case CH_TR_LF:
		return c == '\n' ? trailer_line(bd) : -1;
	case CH_TR_END_LF:
		if (c != '\n')
			return -1;
		BD_SET(bd, CH_DONE);
		return 0;
	}
	return -1;
}

/*
 * Feeds one byte of chunked framing (anything but chunk data); returns 0,
 * or -1 for a bad chunk size, extension or line ending.  Extensions are
 * checked as token [= token / quoted-string] and dropped.  Every line
 * ends in CRLF: RFC 9112 allows a bare LF only in heads, and a proxy in
 * front that reads "3;x\nabc" as one extension while we end the line at
 * the LF would disagree with us about where the body ends.
 */
static int
chunk_step(struct http_body *bd, int c)
{
	int st = BD_STATE(bd), ws = c == ' ' || c == '\t', hex;

	hex = (c >= '0' && c <= '9') ? c - '0' :
	    (c >= 'a' && c <= 'f') ? c - 'a' + 10 :
	    (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
	switch (st) {
	case CH_SIZE0:
	case CH_SIZE:
		if (hex >= 0) {
			if (bd->bd_left > (uint64_t)LENGTH_MAX >> 4)
				return -1;
			bd->bd_left = bd->bd_left << 4 | hex;
			BD_SET(bd, CH_SIZE);
			return 0;
		}
		if (st == CH_SIZE0)
			return -1;
		break;
	case CH_EXT_NAME0:
		if (ws)
			return 0;
		if (!is_tchar(c))
			return -1;
		BD_SET(bd, CH_EXT_NAME);
		return 0;
	case CH_EXT_NAME:
	case CH_EXT_NAME_BWS:
		if (st == CH_EXT_NAME && is_tchar(c))
			return 0;
		if (ws)
			BD_SET(bd, CH_EXT_NAME_BWS);
		else if (c == '=')
			BD_SET(bd, CH_EXT_VAL0);
		else
			break;
		return 0;
	case CH_EXT_VAL0:
		if (ws)
			return 0;
		if (c == '"')
			BD_SET(bd, CH_EXT_QUOTED);
		else if (is_tchar(c))
			BD_SET(bd, CH_EXT_VAL);
		else
			return -1;
		return 0;
	case CH_EXT_VAL:
		if (is_tchar(c))
			return 0;
		break;
	case CH_EXT_QUOTED:
		if (c == '"')
			BD_SET(bd, CH_EXT_BWS);
		else if (c == '\\')
			BD_SET(bd, CH_EXT_QESC);
		else if (!is_field_vchar(c))
			return -1;
		return 0;
	case CH_EXT_QESC:
		if (!is_field_vchar(c))
			return -1;
		BD_SET(bd, CH_EXT_QUOTED);
		return 0;
	case CH_SIZE_LF:
		return c == '\n' ? chunk_size_done(bd) : -1;
	case CH_DATA_CR:
		if (c != '\r')
			return -1;
		BD_SET(bd, CH_DATA_LF);
		return 0;
	case CH_DATA_LF:
		if (c != '\n')
			return -1;
		BD_SET(bd, CH_SIZE0);
		return 0;
	case CH_EXT_BWS:
		break;
	default:
		return trailer_step(bd, c);
	}
	/* After a size, a name or a value: BWS, ';' or the line end. */
	if (ws)
		BD_SET(bd, CH_EXT_BWS);
	else if (c == ';')
		BD_SET(bd, CH_EXT_NAME0);
	else if (c == '\r')
		BD_SET(bd, CH_SIZE_LF);
	else
		return -1;
	return 0;
}

/*
 * De-chunks into out; returns as http_read_body().  Framing bytes are read
 * into in_buf above the head (see BD_FLOOR), chunk data straight into out
 * when nothing is pending.
 */
static ssize_t
read_chunked(struct http_in *in, struct http_body *bd, char *out, size_t n,
    uint64_t deadline, int *status)
{
	size_t pend, k, floor;
	ssize_t r;

	for (;;) {
		if (BD_STATE(bd) == CH_DONE) {
			bd->bd_done = 1;
			return 0;
		}
		pend = in->in_end - in->in_start;
		if (BD_STATE(bd) == CH_DATA) {
			k = n < bd->bd_left ? n : bd->bd_left;
			if (pend > 0) {
				k = k < pend ? k : pend;
				memcpy(out, in->in_buf + in->in_start, k);
				in->in_start += k;
				r = k;
			} else if ((r = in_read(in->in_fd, out, k,
			    deadline)) <= 0)
				goto fail;
			bd->bd_left -= r;
			if (bd->bd_left == 0)
				BD_SET(bd, CH_DATA_CR);
			return r;
		}
		if (pend > 0) {
			if (chunk_step(bd, (unsigned char)
			    in->in_buf[in->in_start++]) == -1) {
				*status = body_status(bd, 0);
				return -1;
			}
			continue;
		}
		floor = BD_FLOOR(bd);
		if (floor > in->in_start)
			floor = in->in_start;
		if (floor >= sizeof(in->in_buf))
			floor = 0;	/* the head filled it: cannot keep */
		in->in_start = in->in_end = floor;
		if ((r = in_read(in->in_fd, in->in_buf + floor,
		    sizeof(in->in_buf) - floor, deadline)) <= 0)
			goto fail;
		in->in_end += r;
	}
fail:
	*status = body_status(bd, r);
	return -1;
}

/* Reads a body of known length or until close; as http_read_body(). */
static ssize_t
read_plain(struct http_in *in, struct http_body *bd, char *out, size_t n,
    uint64_t deadline, int *status)
{
	size_t pend = in->in_end - in->in_start;
	ssize_t r;

	if (bd->bd_framing == HTTP_BODY_LENGTH && n > bd->bd_left)
		n = bd->bd_left;
	if (pend > 0) {
		r = n < pend ? n : pend;
		memcpy(out, in->in_buf + in->in_start, r);
		in->in_start += r;
	} else if ((r = in_read(in->in_fd, out, n, deadline)) == 0 &&
	    bd->bd_framing == HTTP_BODY_CLOSE) {
		bd->bd_done = 1;
		return 0;
	} else if (r <= 0) {
		*status = body_status(bd, r);
		return -1;
	}
	if (bd->bd_framing == HTTP_BODY_LENGTH) {
		bd->bd_left -= r;
		bd->bd_done = bd->bd_left == 0;
	}
	return r;
}

/*
 * Returns the payload count, 0 at the end, or -1 with *status: 400 for a
 * request body (bad chunking, short body, read error) and 408 at the
 * deadline; 502 and 504 instead when the framing came from a response.
 */
ssize_t
http_read_body(struct http_in *in, struct http_body *bd, char *out,
    size_t n, uint64_t deadline, int *status)
{
	if (bd->bd_done || n == 0)
		return 0;
	if (bd->bd_framing == HTTP_BODY_CHUNKED)
		return read_chunked(in, bd, out, n, deadline, status);
	return read_plain(in, bd, out, n, deadline, status);
}

int
http_write_all(int fd, const void *buf, size_t n, uint64_t deadline)
{
	struct iovec iov;

	iov.iov_base = (void *)buf;
	iov.iov_len = n;
	return writev_all(fd, &iov, 1, deadline);
}

/* One writev per chunk: separate small writes would meet Nagle's delay. */
int
http_write_chunk(int fd, const void *buf, size_t n, uint64_t deadline)
{
	struct iovec iov[3];
	char size[32];
	int len;

	if (n == 0)
		return http_write_all(fd, "0\r\n\r\n", 5, deadline);
	len = snprintf(size, sizeof(size), "%zx\r\n", n);
	iov[0].iov_base = size;
	iov[0].iov_len = len;
	iov[1].iov_base = (void *)buf;
	iov[1].iov_len = n;
	iov[2].iov_base = "\r\n";
	iov[2].iov_len = 2;
	return writev_all(fd, iov, 3, deadline);
}

/*
 * Returns the head's length, or -1 if it does not fit in out (which also
 * gets a NUL) or a line would smuggle a CR or LF, or a name is no token.
 */
int
http_format_head(char *out, size_t outlen, const char *start_line,
    const struct http_field *fields, int nfields)
{
	size_t len;
	int i, r;

	if (strpbrk(start_line, "\r\n") != NULL)
		return -1;
	r = snprintf(out, outlen, "%s\r\n", start_line);
	if (r < 0 || (size_t)r >= outlen)
		return -1;
	len = r;
	for (i = 0; i < nfields; i++) {
		if (!http_is_token(fields[i].name) ||
		    strpbrk(fields[i].value, "\r\n") != NULL)
			return -1;
		r = snprintf(out + len, outlen - len, "%s: %s\r\n",
		    fields[i].name, fields[i].value);
		if (r < 0 || (size_t)r >= outlen - len)
			return -1;
		len += r;
	}
	if (len + 3 > outlen || len + 2 > INT_MAX)
		return -1;
	memcpy(out + len, "\r\n", 3);
	return (int)len + 2;
}

/*
 * We always send "HTTP/1.1" (RFC 9110 6.2: a server sends its own highest
 * version).  version only matters for keep-alive: a 1.0 client assumes
 * the connection closes unless told otherwise, so when close is 0 it gets
 * "Connection: keep-alive"; a 1.1 client assumes keep-alive already.
 */
int
http_send_error(int fd, int version, int status, const char *proxy_error,
    const char *detail, const char *extra, int close, uint64_t deadline)
{
	struct iovec iov[4];
	char head[ERR_HEAD_MAX], first[128];
	const char *conn = "";
	size_t dlen;
	int flen, hlen;

	if (detail != NULL)
		flen = snprintf(first, sizeof(first), "%d %s: ", status,
		    http_reason(status));
	else
		flen = snprintf(first, sizeof(first), "%d %s", status,
		    http_reason(status));
	dlen = detail != NULL ? strlen(detail) : 0;
	if (close)
		conn = "Connection: close\r\n";
	else if (version == 10)
		conn = "Connection: keep-alive\r\n";
	hlen = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "%s%s%s%s%s%s\r\n", status, http_reason(status),
	    flen + dlen + 1,
	    proxy_error != NULL ? "Proxy-Status: gtr; error=" : "",
	    proxy_error != NULL ? proxy_error : "",
	    proxy_error != NULL ? "\r\n" : "",
	    extra != NULL ? extra : "", extra != NULL ? "\r\n" : "", conn);
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		return -1;
	iov[0].iov_base = head;
	iov[0].iov_len = hlen;
	iov[1].iov_base = first;
	iov[1].iov_len = flen;
	iov[2].iov_base = (void *)(detail != NULL ? detail : "");
	iov[2].iov_len = dlen;
	iov[3].iov_base = "\n";
	iov[3].iov_len = 1;
	return writev_all(fd, iov, 4, deadline);
}

void
http_head_names(const struct http_head *hd, char *method, size_t mlen,
    char *target, size_t tlen)
{
	snprintf(method, mlen, "%s",
	    hd->hd_method != NULL ? hd->hd_method : "");
	snprintf(target, tlen, "%s",
	    hd->hd_target != NULL ? hd->hd_target : "");
}

const char *
http_head_error(const struct http_head *hd, int status)
{
	if (status == 400 && hd->hd_error != NULL)
		return hd->hd_error;
	switch (status) {
	case 408:
		return "request head not complete in time";
	case 414:
		return "request line too long";
	case 431:
		return "request head too large";
	case 501:
		return "transfer coding not supported";
	case 505:
		return "HTTP version not supported";
	default:
		return "malformed request head";
	}
}
