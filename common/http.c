/*
 * http.c - the strict HTTP/1.1 head parser and writer, and body framing.
 *
 * A head is parsed in two passes: http_head_scan() finds where it ends
 * without touching the buffer, incrementally (each byte is looked at
 * once however the head arrives), then parse_lines() cuts it into
 * NUL-terminated strings in place and decides the framing.  Chunked
 * framing has one scanner too, http_chunk_scan(), which de-chunking uses
 * and a forwarder can.  Every rejection is the status to answer with.
 * Line endings in a head are CRLF or a bare LF (RFC 9112 2.2 allows a
 * recipient to accept the latter), in chunked framing only CRLF; a CR
 * not followed by LF is always 400.
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

#include "clock.h"
#include "http.h"

/* Largest Content-Length or chunk size: fits an off_t. */
#define LENGTH_MAX	((uint64_t)INT64_MAX)

/* Chunked framing states (ck_state); 0 is the start of a body. */
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
	CH_DONE,
	CH_ERROR
};

/* The head scanner's empty lines must fit in http_in's room. */
_Static_assert(HTTP_IN_ROOM > 2 * HTTP_EMPTY_LINES_MAX,
    "HTTP_IN_ROOM too small");

static int	wait_fd(int, short, uint64_t);
static ssize_t	in_read(int, void *, size_t, uint64_t);
static int	writev_all(int, struct iovec *, int, uint64_t);
static int	is_tchar(int);
static int	is_token_n(const char *, size_t);
static int	is_field_vchar(int);
static int	scan_verdict(struct http_scan *, int, const char *);
static size_t	line_end(const char *, size_t, size_t, size_t *);
static int	parse_version(const char *, size_t);
static int	parse_request_line(char *, size_t, struct http_head *);
static int	parse_status_line(char *, size_t, struct http_head *);
static int	parse_field(char *, size_t, struct http_head *);
static int	parse_length(const char *, uint64_t *);
static int	parse_codings(const char *, int *, int *, int *);
static int	is_host_n(const char *, size_t);
static int	is_host_value(const char *);
static const char *target_authority(const char *, size_t *);
static int	check_target(struct http_head *);
static int	decide_framing(struct http_head *, int, const char *);
static void	one_framing_field(struct http_head *, int, uint64_t);
static int	bad(struct http_head *, const char *);
static int	parse_lines(char *, size_t, size_t, int, const char *,
		    struct http_head *);
static int	parse_head(char *, size_t, int, const char *,
		    struct http_head *);
static int	hexval(int);
static int	chunk_step(struct http_chunk *, int);
static int	chunk_size_done(struct http_chunk *);
static int	trailer_line(struct http_chunk *);
static int	trailer_step(struct http_chunk *, int);
static ssize_t	read_chunked(struct http_in *, struct http_body *, char *,
		    size_t, uint64_t, int *);
static ssize_t	read_plain(struct http_in *, struct http_body *, char *,
		    size_t, uint64_t, int *);
static int	body_status(const struct http_body *, ssize_t);

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
			now = now_ms();
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
		if (r == 0 && deadline != 0 && now_ms() >= deadline)
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

void
http_scan_init(struct http_scan *sc, int is_request)
{
	memset(sc, 0, sizeof(*sc));
	sc->sc_request = is_request;
	sc->sc_rc = HTTP_INCOMPLETE;
}

/* Makes rc the scanner's final verdict; returns it. */
static int
scan_verdict(struct http_scan *sc, int rc, const char *why)
{
	sc->sc_rc = rc;
	sc->sc_error = why;
	return rc;
}

/*
 * Looks at buf[sc_pos..len) only: sc_pos, sc_bol and the counts carry
 * the rest.  A CR that is the last byte so far is looked at again with
 * the next bytes, which say whether it is bare.  Empty lines before a
 * request line (RFC 9112 2.2) are skipped, a few: each would otherwise
 * end a head of nothing.
 */
int
http_head_scan(struct http_scan *sc, const char *buf, size_t len)
{
	size_t i, next, lim;

	if (sc->sc_rc != HTTP_INCOMPLETE)
		return sc->sc_rc;
	lim = sc->sc_skip + HTTP_HEAD_MAX < len ? sc->sc_skip +
	    HTTP_HEAD_MAX : len;
	for (i = sc->sc_pos; i < lim; i++) {
		if (buf[i] == '\r') {
			if (i + 1 == len)
				break;
			if (buf[i + 1] != '\n')
				return scan_verdict(sc, 400,
				    "bare CR in the head");
			next = i + 2;
		} else if (buf[i] == '\n')
			next = i + 1;
		else
			continue;
		if (sc->sc_request && sc->sc_lines == 0 &&
		    i - sc->sc_bol > HTTP_LINE_MAX)
			return scan_verdict(sc, 414, NULL);
		if (i == sc->sc_bol && sc->sc_lines == 0) {
			if (!sc->sc_request)
				return scan_verdict(sc, 400,
				    "empty line before the status line");
			if (++sc->sc_empty > HTTP_EMPTY_LINES_MAX)
				return scan_verdict(sc, 400, "too many empty "
				    "lines before the request line");
			sc->sc_bol = sc->sc_skip = next;
			lim = sc->sc_skip + HTTP_HEAD_MAX < len ?
			    sc->sc_skip + HTTP_HEAD_MAX : len;
		} else if (i == sc->sc_bol) {
			if (next - sc->sc_skip > HTTP_HEAD_MAX)
				return scan_verdict(sc, 431, NULL);
			sc->sc_size = next;
			sc->sc_pos = next;
			return scan_verdict(sc, 0, NULL);
		} else {
			sc->sc_lines++;
			sc->sc_bol = next;
		}
		i = next - 1;
	}
	sc->sc_pos = i;
	if (sc->sc_request && sc->sc_lines == 0 &&
	    i - sc->sc_bol > HTTP_LINE_MAX)
		return scan_verdict(sc, 414, NULL);
	if (len - sc->sc_skip >= HTTP_HEAD_MAX)
		return scan_verdict(sc, 431, NULL);
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

/*
 * Splits "METHOD SP TARGET SP HTTP/x.y"; returns 0 or the status.  A
 * target that is refused still names the request on the access line.
 */
static int
parse_request_line(char *line, size_t n, struct http_head *hd)
{
	char *sp1, *sp2;
	size_t i;
	int v;

	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < ' ' || line[i] == 0x7f)
			return bad(hd, "malformed request line");
	if ((sp1 = memchr(line, ' ', n)) == NULL)
		return bad(hd, "malformed request line");
	if ((sp2 = memchr(sp1 + 1, ' ', n - (sp1 + 1 - line))) == NULL)
		return bad(hd, "malformed request line");	/* HTTP/0.9 */
	if (!is_token_n(line, sp1 - line) || sp2 == sp1 + 1)
		return bad(hd, "malformed request line");
	v = parse_version(sp2 + 1, n - (sp2 + 1 - line));
	if (v == 400)
		return bad(hd, "malformed request line");
	if (v != 10 && v != 11)
		return v;
	*sp1 = *sp2 = '\0';
	line[n] = '\0';
	hd->hd_method = line;
	hd->hd_target = sp1 + 1;
	hd->hd_version = v;
	return check_target(hd);
}

/*
 * Returns the authority of an absolute-form target ("scheme://" first)
 * with *n its length, or NULL for any other form.
 */
static const char *
target_authority(const char *t, size_t *n)
{
	const char *p = t;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return NULL;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (strncmp(p, "://", 3) != 0)
		return NULL;
	p += 3;
	*n = strcspn(p, "/?#");
	return p;
}

/*
 * Checks the target: a fragment is never sent (RFC 9112 3.2: the
 * request-target has none), and one would reach a server behind us, or
 * a program's REQUEST_URI, as part of the path; an absolute-form
 * target's host is the request's host, so it is held to Host's rules.
 * Returns 0 or 400.
 */
static int
check_target(struct http_head *hd)
{
	const char *a, *at;
	size_t n;

	if (strchr(hd->hd_target, '#') != NULL)
		return bad(hd, "a fragment (#) in the request-target");
	if (strcmp(hd->hd_method, "CONNECT") == 0 ||
	    (a = target_authority(hd->hd_target, &n)) == NULL)
		return 0;
	/*
	 * userinfo ends at the last '@' (ftp://user:pass@host/), and has
	 * no byte a host could not: "http://a\@b/" is host b to us and
	 * host a to a WHATWG parser.
	 */
	for (at = a + n; at > a && at[-1] != '@'; at--)
		;
	if (at == a + n || !is_host_n(at, a + n - at))
		return bad(hd, "no valid host in the request-target");
	for (; a < at; a++)
		if (*a != '@' && !is_host_n(a, 1))
			return bad(hd, "invalid userinfo in the request-target");
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
 * *nchunked and the others in *nother, and sets *last_chunked by the
 * last one.  Empty list elements are ignored (RFC 9110 5.6.1.2).
 * Returns the count of codings, or -1 for a coding that is not a token.
 */
static int
parse_codings(const char *v, int *nchunked, int *nother, int *last_chunked)
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
		*nother += !*last_chunked;
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
	return is_host_n(v, strlen(v));
}

/* As is_host_value(), for the n bytes at v. */
static int
is_host_n(const char *v, size_t n)
{
	for (; n > 0; v++, n--)
		if (!(*v >= 'a' && *v <= 'z') && !(*v >= 'A' && *v <= 'Z') &&
		    !(*v >= '0' && *v <= '9') &&
		    (*v == '\0' || strchr("-._~%!$&'()*+,;=:[]", *v) == NULL))
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
	int i, ncl = 0, nte = 0, nchunked = 0, nother = 0, last_chunked = 0;
	int n, nhost = 0;

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
			n = parse_codings(f->value, &nchunked, &nother,
			    &last_chunked);
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
		/*
		 * No program applies a coding but chunked: passed on as if
		 * plain, "gzip, chunked" would lose its gzip (RFC 9112 6.1).
		 */
		if (nte > 0 && (!last_chunked || nother > 0))
			return 501;
		hd->hd_framing = nte > 0 ? HTTP_BODY_CHUNKED :
		    ncl > 0 ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
		hd->hd_length = ncl > 0 ? len : 0;
		hd->hd_expect_continue = http_get(hd, "Expect") != NULL &&
		    strcasecmp(http_get(hd, "Expect"), "100-continue") == 0;
		one_framing_field(hd, 1, len);
		return 0;
	}
	one_framing_field(hd, 0, len);
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

/*
 * Leaves the head's framing in one field of one canonical value, so
 * that a program passing the fields on (relayd, tlsstripd --forwarded)
 * passes exactly the framing it read the body by, and no backend behind
 * it can read another: "Content-Length: 5, 5", repeated equal lines and
 * "010" become one "Content-Length: 10" (RFC 9110 8.6 lets a recipient
 * do so), and a request's Transfer-Encoding, which by now names chunked
 * once and nothing else, becomes one "Transfer-Encoding: chunked"
 * whatever its case, OWS and empty list elements ("Chunked",
 * "chunked,").  A response's codings are left as they came.  len is
 * the length every Content-Length said.  Values are rewritten in place,
 * never longer than they were; the first field of each name keeps its
 * place, later ones go.  decide_framing() checked the values.
 */
static void
one_framing_field(struct http_head *hd, int is_request, uint64_t len)
{
	struct http_field *f;
	char *cl = NULL, *te = NULL;
	int i, n = 0, a = 0, b = 0, c = 0;

	for (i = 0; i < hd->hd_nfields; i++) {
		f = &hd->hd_fields[i];
		if (strcasecmp(f->name, "Content-Length") == 0) {
			if (cl != NULL)
				continue;
			cl = f->value;
		} else if (is_request &&
		    strcasecmp(f->name, "Transfer-Encoding") == 0) {
			/* The one naming chunked holds 7 bytes at least. */
			if (te != NULL || parse_codings(f->value, &a, &b,
			    &c) != 1)
				continue;
			te = f->value;
		}
		hd->hd_fields[n++] = *f;
	}
	hd->hd_nfields = n;
	/* The digits of the first number of the list, at least. */
	if (cl != NULL)
		(void)snprintf(cl, strlen(cl) + 1, "%llu",
		    (unsigned long long)len);
	if (te != NULL)
		memcpy(te, "chunked", sizeof("chunked"));
}

/* Notes why a head is rejected; returns 400. */
static int
bad(struct http_head *hd, const char *why)
{
	hd->hd_error = why;
	return 400;
}

/*
 * Parses the head at buf[skip, size), which a scanner found whole, into
 * hd (zeroed by the caller); returns as http_parse_request().
 */
static int
parse_lines(char *buf, size_t skip, size_t size, int is_request,
    const char *req_method, struct http_head *hd)
{
	size_t pos, eol, next;
	int rc;

	eol = line_end(buf, skip, size, &next);
	if (is_request)
		rc = parse_request_line(buf + skip, eol - skip, hd);
	else
		rc = parse_status_line(buf + skip, eol - skip, hd);
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

/* Parses a head of either kind; returns as http_parse_request(). */
static int
parse_head(char *buf, size_t len, int is_request, const char *req_method,
    struct http_head *hd)
{
	struct http_scan sc;
	int rc;

	memset(hd, 0, sizeof(*hd));
	http_scan_init(&sc, is_request);
	if ((rc = http_head_scan(&sc, buf, len)) == 400)
		return bad(hd, sc.sc_error);
	if (rc != 0)
		return rc;
	return parse_lines(buf, sc.sc_skip, sc.sc_size, is_request,
	    req_method, hd);
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
	/* Every status of the IANA registry that has a reason phrase. */
	static const char *const reasons[600] = {
		[HTTP_CONTINUE] = "Continue",
		[HTTP_SWITCHING_PROTOCOLS] = "Switching Protocols",
		[HTTP_PROCESSING] = "Processing",
		[HTTP_EARLY_HINTS] = "Early Hints",
		[HTTP_OK] = "OK",
		[HTTP_CREATED] = "Created",
		[HTTP_ACCEPTED] = "Accepted",
		[HTTP_NON_AUTHORITATIVE] = "Non-Authoritative Information",
		[HTTP_NO_CONTENT] = "No Content",
		[HTTP_RESET_CONTENT] = "Reset Content",
		[HTTP_PARTIAL_CONTENT] = "Partial Content",
		[HTTP_MULTI_STATUS] = "Multi-Status",
		[HTTP_ALREADY_REPORTED] = "Already Reported",
		[HTTP_IM_USED] = "IM Used",
		[HTTP_MULTIPLE_CHOICES] = "Multiple Choices",
		[HTTP_MOVED_PERMANENTLY] = "Moved Permanently",
		[HTTP_FOUND] = "Found",
		[HTTP_SEE_OTHER] = "See Other",
		[HTTP_NOT_MODIFIED] = "Not Modified",
		[HTTP_USE_PROXY] = "Use Proxy",
		[HTTP_TEMPORARY_REDIRECT] = "Temporary Redirect",
		[HTTP_PERMANENT_REDIRECT] = "Permanent Redirect",
		[HTTP_BAD_REQUEST] = "Bad Request",
		[HTTP_UNAUTHORIZED] = "Unauthorized",
		[HTTP_PAYMENT_REQUIRED] = "Payment Required",
		[HTTP_FORBIDDEN] = "Forbidden",
		[HTTP_NOT_FOUND] = "Not Found",
		[HTTP_METHOD_NOT_ALLOWED] = "Method Not Allowed",
		[HTTP_NOT_ACCEPTABLE] = "Not Acceptable",
		[HTTP_PROXY_AUTH_REQUIRED] = "Proxy Authentication Required",
		[HTTP_REQUEST_TIMEOUT] = "Request Timeout",
		[HTTP_CONFLICT] = "Conflict",
		[HTTP_GONE] = "Gone",
		[HTTP_LENGTH_REQUIRED] = "Length Required",
		[HTTP_PRECONDITION_FAILED] = "Precondition Failed",
		[HTTP_CONTENT_TOO_LARGE] = "Content Too Large",
		[HTTP_URI_TOO_LONG] = "URI Too Long",
		[HTTP_UNSUPPORTED_MEDIA_TYPE] = "Unsupported Media Type",
		[HTTP_RANGE_NOT_SATISFIABLE] = "Range Not Satisfiable",
		[HTTP_EXPECTATION_FAILED] = "Expectation Failed",
		[HTTP_MISDIRECTED_REQUEST] = "Misdirected Request",
		[HTTP_UNPROCESSABLE_CONTENT] = "Unprocessable Content",
		[HTTP_LOCKED] = "Locked",
		[HTTP_FAILED_DEPENDENCY] = "Failed Dependency",
		[HTTP_TOO_EARLY] = "Too Early",
		[HTTP_UPGRADE_REQUIRED] = "Upgrade Required",
		[HTTP_PRECONDITION_REQUIRED] = "Precondition Required",
		[HTTP_TOO_MANY_REQUESTS] = "Too Many Requests",
		[HTTP_FIELDS_TOO_LARGE] = "Request Header Fields Too Large",
		[HTTP_UNAVAILABLE_FOR_LEGAL_REASONS] =
		    "Unavailable For Legal Reasons",
		[HTTP_INTERNAL_SERVER_ERROR] = "Internal Server Error",
		[HTTP_NOT_IMPLEMENTED] = "Not Implemented",
		[HTTP_BAD_GATEWAY] = "Bad Gateway",
		[HTTP_SERVICE_UNAVAILABLE] = "Service Unavailable",
		[HTTP_GATEWAY_TIMEOUT] = "Gateway Timeout",
		[HTTP_VERSION_NOT_SUPPORTED] = "HTTP Version Not Supported",
		[HTTP_VARIANT_ALSO_NEGOTIATES] = "Variant Also Negotiates",
		[HTTP_INSUFFICIENT_STORAGE] = "Insufficient Storage",
		[HTTP_LOOP_DETECTED] = "Loop Detected",
		[HTTP_NOT_EXTENDED] = "Not Extended",
		[HTTP_NETWORK_AUTH_REQUIRED] =
		    "Network Authentication Required",
	};

	if (status < 0 || status >= 600 || reasons[status] == NULL)
		return "Unknown";
	return reasons[status];
}

void
http_in_init(struct http_in *in, int fd)
{
	in->in_fd = fd;
	in->in_start = in->in_end = 0;
}

/*
 * The head always starts at in_buf[0]: pending bytes move to the front
 * first, which is what ends the previous head's strings.  The scanner
 * looks at each byte once, however the head arrives, and the head is
 * parsed once, when whole.
 */
int
http_read_head(struct http_in *in, struct http_head *hd, int is_request,
    const char *req_method, uint64_t deadline)
{
	struct http_scan sc;
	size_t pend;
	ssize_t r;
	int rc;

	pend = in->in_end - in->in_start;
	if (in->in_start > 0) {
		memmove(in->in_buf, in->in_buf + in->in_start, pend);
		in->in_start = 0;
		in->in_end = pend;
	}
	memset(hd, 0, sizeof(*hd));
	http_scan_init(&sc, is_request);
	for (;;) {
		rc = http_head_scan(&sc, in->in_buf, in->in_end);
		if (rc == 0) {
			rc = parse_lines(in->in_buf, sc.sc_skip, sc.sc_size,
			    is_request, req_method, hd);
			if (rc == 0)
				in->in_start = hd->hd_size;
			break;
		}
		if (rc != HTTP_INCOMPLETE) {
			if (rc == 400)
				(void)bad(hd, sc.sc_error);
			break;
		}
		/* The scanner's verdict comes before in_buf is full. */
		r = in_read(in->in_fd, in->in_buf + in->in_end,
		    sizeof(in->in_buf) - in->in_end, deadline);
		if (r == -2)
			return is_request ? 408 : 504;
		/* Empty lines and then a close: as if nothing came. */
		if (r == 0 && in->in_end == sc.sc_skip)
			return HTTP_EOF;
		if (r <= 0) {
			rc = bad(hd, "the connection ended inside the head");
			break;
		}
		in->in_end += r;
	}
	return rc == 0 || is_request ? rc : 502;
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
	bd->bd_framing = hd->hd_framing;
	bd->bd_left = hd->hd_framing == HTTP_BODY_LENGTH ? hd->hd_length : 0;
	http_chunk_init(&bd->bd_chunk);
	bd->bd_floor = hd->hd_size;
	bd->bd_response = hd->hd_method == NULL;
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
	if (r == -2)
		return bd->bd_response ? 504 : 408;
	return bd->bd_response ? 502 : 400;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
http_chunk_init(struct http_chunk *ck)
{
	memset(ck, 0, sizeof(*ck));
	ck->ck_state = CH_SIZE0;
}

/* Ends a chunk-size line; returns 0. */
static int
chunk_size_done(struct http_chunk *ck)
{
	ck->ck_line = 0;
	ck->ck_state = ck->ck_left == 0 ? CH_TR_BOL : CH_DATA;
	return 0;
}

/* Ends a trailer line; returns 0, or -1 past HTTP_FIELDS_MAX lines. */
static int
trailer_line(struct http_chunk *ck)
{
	if (++ck->ck_tr_lines > HTTP_FIELDS_MAX)
		return -1;
	ck->ck_state = CH_TR_BOL;
	return 0;
}

/* Feeds one trailer byte; returns 0, or -1 for a bad or too long one. */
static int
trailer_step(struct http_chunk *ck, int c)
{
	if (++ck->ck_tr_bytes > HTTP_HEAD_MAX)
		return -1;
	switch (ck->ck_state) {
	case CH_TR_BOL:
		if (c == '\r')
			ck->ck_state = CH_TR_END_LF;
		else if (is_tchar(c))
			ck->ck_state = CH_TR_NAME;
		else
			return -1;	/* obs-fold, empty name, controls */
		return 0;
	case CH_TR_NAME:
		if (c == ':')
			ck->ck_state = CH_TR_VALUE;
		else if (!is_tchar(c))
			return -1;
		return 0;
	case CH_TR_VALUE:
		if (c == '\r')
			ck->ck_state = CH_TR_LF;
		else if (!is_field_vchar(c))
			return -1;
		return 0;
	case CH_TR_LF:
		return c == '\n' ? trailer_line(ck) : -1;
	case CH_TR_END_LF:
		if (c != '\n')
			return -1;
		ck->ck_state = CH_DONE;
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
chunk_step(struct http_chunk *ck, int c)
{
	int st = ck->ck_state, ws = c == ' ' || c == '\t', hex;

	if (st < CH_DATA && ++ck->ck_line > HTTP_LINE_MAX)
		return -1;
	hex = hexval(c);
	switch (st) {
	case CH_SIZE0:
	case CH_SIZE:
		if (hex >= 0) {
			if (ck->ck_left > (uint64_t)LENGTH_MAX >> 4)
				return -1;
			ck->ck_left = ck->ck_left << 4 | hex;
			ck->ck_state = CH_SIZE;
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
		ck->ck_state = CH_EXT_NAME;
		return 0;
	case CH_EXT_NAME:
	case CH_EXT_NAME_BWS:
		if (st == CH_EXT_NAME && is_tchar(c))
			return 0;
		if (ws)
			ck->ck_state = CH_EXT_NAME_BWS;
		else if (c == '=')
			ck->ck_state = CH_EXT_VAL0;
		else
			break;
		return 0;
	case CH_EXT_VAL0:
		if (ws)
			return 0;
		if (c == '"')
			ck->ck_state = CH_EXT_QUOTED;
		else if (is_tchar(c))
			ck->ck_state = CH_EXT_VAL;
		else
			return -1;
		return 0;
	case CH_EXT_VAL:
		if (is_tchar(c))
			return 0;
		break;
	case CH_EXT_QUOTED:
		if (c == '"')
			ck->ck_state = CH_EXT_BWS;
		else if (c == '\\')
			ck->ck_state = CH_EXT_QESC;
		else if (!is_field_vchar(c))
			return -1;
		return 0;
	case CH_EXT_QESC:
		if (!is_field_vchar(c))
			return -1;
		ck->ck_state = CH_EXT_QUOTED;
		return 0;
	case CH_SIZE_LF:
		return c == '\n' ? chunk_size_done(ck) : -1;
	case CH_DATA_CR:
		if (c != '\r')
			return -1;
		ck->ck_state = CH_DATA_LF;
		return 0;
	case CH_DATA_LF:
		if (c != '\n')
			return -1;
		ck->ck_state = CH_SIZE0;
		return 0;
	case CH_EXT_BWS:
		break;
	case CH_DATA:
	case CH_DONE:
	case CH_ERROR:
		return -1;	/* http_chunk_scan() never feeds these */
	default:
		return trailer_step(ck, c);
	}
	/* After a size, a name or a value: BWS, ';' or the line end. */
	if (ws)
		ck->ck_state = CH_EXT_BWS;
	else if (c == ';')
		ck->ck_state = CH_EXT_NAME0;
	else if (c == '\r')
		ck->ck_state = CH_SIZE_LF;
	else
		return -1;
	return 0;
}

/*
 * Chunk data goes by the span; framing by the byte, stopping at the
 * first data byte so the caller can take data straight from its source.
 */
ssize_t
http_chunk_scan(struct http_chunk *ck, const char *buf, size_t len,
    int *payload)
{
	size_t i;

	*payload = 0;
	if (ck->ck_state == CH_ERROR)
		return -1;
	if (ck->ck_state == CH_DATA) {
		i = len < ck->ck_left ? len : (size_t)ck->ck_left;
		ck->ck_left -= i;
		if (ck->ck_left == 0)
			ck->ck_state = CH_DATA_CR;
		*payload = i > 0;
		return i;
	}
	for (i = 0; i < len && ck->ck_state != CH_DATA &&
	    ck->ck_state != CH_DONE; i++)
		if (chunk_step(ck, (unsigned char)buf[i]) == -1) {
			ck->ck_state = CH_ERROR;
			return -1;
		}
	return i;
}

uint64_t
http_chunk_data_left(const struct http_chunk *ck)
{
	return ck->ck_state == CH_DATA ? ck->ck_left : 0;
}

int
http_chunk_done(const struct http_chunk *ck)
{
	return ck->ck_state == CH_DONE;
}

/*
 * De-chunks into out; returns as http_read_body().  Framing bytes are
 * read into in_buf above the head (bd_floor: in_buf has room past any
 * head), chunk data straight into out when nothing is pending.  A
 * failed read changes no state, so a caller may try again after 408
 * (tlswrapd reads with a deadline already past).
 */
static ssize_t
read_chunked(struct http_in *in, struct http_body *bd, char *out, size_t n,
    uint64_t deadline, int *status)
{
	struct http_chunk *ck = &bd->bd_chunk;
	size_t pend, k, floor;
	uint64_t left;
	ssize_t r;
	int payload;

	for (;;) {
		if (http_chunk_done(ck)) {
			bd->bd_done = 1;
			return 0;
		}
		pend = in->in_end - in->in_start;
		left = http_chunk_data_left(ck);
		if (pend > 0) {
			k = left > 0 && n < pend ? n : pend;
			r = http_chunk_scan(ck, in->in_buf + in->in_start, k,
			    &payload);
			if (r == -1) {
				*status = body_status(bd, 0);
				return -1;
			}
			if (payload)
				memcpy(out, in->in_buf + in->in_start, r);
			in->in_start += r;
			if (payload)
				return r;
			continue;
		}
		if (left > 0) {
			k = n < left ? n : left;
			if ((r = in_read(in->in_fd, out, k, deadline)) <= 0)
				goto fail;
			(void)http_chunk_scan(ck, out, r, &payload);
			return r;
		}
		floor = bd->bd_floor < in->in_start ? bd->bd_floor :
		    in->in_start;
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
http_format_error(char *out, size_t len, int version, int status,
    const char *proxy_error, const char *detail, const char *extra,
    int close)
{
	char first[128];
	const char *conn = "";
	size_t dlen;
	int flen, n;

	flen = snprintf(first, sizeof(first), detail != NULL ? "%d %s: " :
	    "%d %s", status, http_reason(status));
	dlen = detail != NULL ? strlen(detail) : 0;
	if (close)
		conn = "Connection: close\r\n";
	else if (version == 10)
		conn = "Connection: keep-alive\r\n";
	n = snprintf(out, len, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "%s%s%s%s%s%s\r\n%s%s\n", status, http_reason(status),
	    flen + dlen + 1,
	    proxy_error != NULL ? "Proxy-Status: gtr; error=" : "",
	    proxy_error != NULL ? proxy_error : "",
	    proxy_error != NULL ? "\r\n" : "",
	    extra != NULL ? extra : "", extra != NULL ? "\r\n" : "", conn,
	    first, detail != NULL ? detail : "");
	if (n < 0 || (size_t)n >= len)
		return -1;
	return n;
}

const char *
http_auth_refusal(int given)
{
	return given ? "credentials rejected" : "credentials required";
}

int
http_send_error(int fd, int version, int status, enum proxy_error pe,
    const char *detail, const char *extra, int close, uint64_t deadline)
{
	char buf[HTTP_ERROR_MAX];
	int n;

	if ((n = http_format_error(buf, sizeof(buf), version, status,
	    http_proxy_error_token(pe), detail, extra, close)) == -1 ||
	    http_write_all(fd, buf, n, deadline) == -1)
		return -1;
	return n;
}

/* One table: the enum's order is the registry's (RFC 9209 section 2.3). */
static const char *const proxy_error_tokens[PE_COUNT] = {
	[PE_NONE] = NULL,
	[PE_DNS_TIMEOUT] = "dns_timeout",
	[PE_DNS_ERROR] = "dns_error",
	[PE_DESTINATION_NOT_FOUND] = "destination_not_found",
	[PE_DESTINATION_UNAVAILABLE] = "destination_unavailable",
	[PE_DESTINATION_IP_PROHIBITED] = "destination_ip_prohibited",
	[PE_DESTINATION_IP_UNROUTABLE] = "destination_ip_unroutable",
	[PE_CONNECTION_REFUSED] = "connection_refused",
	[PE_CONNECTION_TERMINATED] = "connection_terminated",
	[PE_CONNECTION_TIMEOUT] = "connection_timeout",
	[PE_CONNECTION_READ_TIMEOUT] = "connection_read_timeout",
	[PE_CONNECTION_WRITE_TIMEOUT] = "connection_write_timeout",
	[PE_CONNECTION_LIMIT_REACHED] = "connection_limit_reached",
	[PE_TLS_PROTOCOL_ERROR] = "tls_protocol_error",
	[PE_TLS_CERTIFICATE_ERROR] = "tls_certificate_error",
	[PE_TLS_ALERT_RECEIVED] = "tls_alert_received",
	[PE_HTTP_REQUEST_ERROR] = "http_request_error",
	[PE_HTTP_REQUEST_DENIED] = "http_request_denied",
	[PE_HTTP_RESPONSE_INCOMPLETE] = "http_response_incomplete",
	[PE_HTTP_RESPONSE_HEADER_SECTION_SIZE] =
	    "http_response_header_section_size",
	[PE_HTTP_RESPONSE_HEADER_SIZE] = "http_response_header_size",
	[PE_HTTP_RESPONSE_BODY_SIZE] = "http_response_body_size",
	[PE_HTTP_RESPONSE_TRAILER_SECTION_SIZE] =
	    "http_response_trailer_section_size",
	[PE_HTTP_RESPONSE_TRAILER_SIZE] = "http_response_trailer_size",
	[PE_HTTP_RESPONSE_TRANSFER_CODING] = "http_response_transfer_coding",
	[PE_HTTP_RESPONSE_CONTENT_CODING] = "http_response_content_coding",
	[PE_HTTP_RESPONSE_TIMEOUT] = "http_response_timeout",
	[PE_HTTP_UPGRADE_FAILED] = "http_upgrade_failed",
	[PE_HTTP_PROTOCOL_ERROR] = "http_protocol_error",
	[PE_PROXY_INTERNAL_RESPONSE] = "proxy_internal_response",
	[PE_PROXY_INTERNAL_ERROR] = "proxy_internal_error",
	[PE_PROXY_CONFIGURATION_ERROR] = "proxy_configuration_error",
	[PE_PROXY_LOOP_DETECTED] = "proxy_loop_detected",
};

const char *
http_proxy_error_token(enum proxy_error pe)
{
	return (unsigned)pe < PE_COUNT ? proxy_error_tokens[pe] : NULL;
}

char *
http_request_host(const struct http_head *hd, char *buf, size_t len)
{
	const char *h, *a, *at;
	size_t n;

	if (hd->hd_method == NULL || len == 0)
		return NULL;
	if (strcmp(hd->hd_method, "CONNECT") == 0) {
		h = hd->hd_target;
		n = strlen(h);
	} else if ((a = target_authority(hd->hd_target, &n)) != NULL) {
		for (at = a + n; at > a && at[-1] != '@'; at--)
			;
		h = at;
		n = a + n - at;
	} else if ((h = http_get(hd, "Host")) != NULL)
		n = strlen(h);
	else
		return NULL;
	if (n >= len)
		return NULL;
	memcpy(buf, h, n);
	buf[n] = '\0';
	return buf;
}

int
http_pct_decode(const char *s, size_t n, char *out, size_t outlen,
    size_t *outn)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (o + 1 >= outlen)
			return -1;
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= n ||
		    (hi = hexval((unsigned char)s[i + 1])) == -1 ||
		    (lo = hexval((unsigned char)s[i + 2])) == -1)
			return -1;
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	*outn = o;
	return 0;
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
