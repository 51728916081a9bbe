/*
 * session.c - one client connection in the event loop: its requests read
 * and its responses written without blocking.
 *
 * A session waits for a request head (S_HEAD), runs the exchange in
 * libcurl (S_XFER), then writes what its socket did not take yet
 * (S_DRAIN) and starts over, or ends.  Keep-alive and pipelining come
 * from s_in's buffer.  The response head is held until the first body
 * bytes so both leave in one writev; what the socket does not take waits
 * in s_out, and libcurl is paused (CURL_WRITEFUNC_PAUSE) until it is
 * written, so memory stays bounded by one buffer of libcurl's and one
 * round's batch of body (OUT_BATCH), however slow the client.  A request
 * body is pulled by libcurl from s_in, and libcurl pauses
 * (CURL_READFUNC_PAUSE) while the client has sent nothing more.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlswrapd.h"
#include "log.h"

#define ALLOW_METHODS	"Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
#define OUT_MIN		16384
#define IOV_MAX_OUT	8
#define OUT_BATCH	(128 * 1024)	/* body held for one write */
#define LINGER_MS	2000	/* at most, reading away a client's rest */

static int	set_nonblock(int);
static void	advance(struct session *);
static int	head_step(struct session *);
static void	head_error(struct session *, int);
static void	next_head(struct session *);
static int	out_flush(struct session *);
static int	out_append(struct session *, const void *, size_t);
static void	exchange(struct session *);
static void	forward(struct session *);
static void	head_release(struct session *);
static void	finish(struct session *, int);
static void	send_error(struct session *, int, enum log_reason,
		    enum proxy_error, const char *, const char *);
static void	error_response(struct session *, int, int, enum proxy_error,
		    const char *, const char *);
static void	exchange_end(struct session *);
static void	access_line(struct session *);
static void	client_gone(struct session *, enum log_reason);
static int	linger_start(struct session *);
static void	linger_read(struct session *);

static int nofd = -1;	/* s_in's fd: a pipe nobody writes to */

/*
 * Sets up what every session shares, before any thread: the fd that
 * s_in reads from, the read end of a pipe whose write end stays open
 * and unwritten, so http_read_body() finds nothing there and says 408 at
 * its deadline (already past) instead of reading the client itself.
 * Returns 0 or -1.
 */
int
session_init(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	nofd = p[0];
	return 0;
}

uint64_t
idle_deadline(void)
{
	return now_ms() + gw.gw_opts.idle_timeout * 1000ULL;
}

/* Returns the fd's old flags, or -1 if it was already non-blocking. */
static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || (fl & O_NONBLOCK))
		return -1;
	(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	return fl;
}

/*
 * Returns a session for c, its fds non-blocking, or NULL when out of
 * memory.  Runs in serve.c's thread.
 */
struct session *
session_new(struct conn *c)
{
	struct session *s;
	int one = 1;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("conn=%lu: unable to allocate a session", c->c_id);
		return NULL;
	}
	s->s_conn = c;
	s->s_rsrc.ev_s = s->s_wsrc.ev_s = s;
	s->s_wsrc.ev_write = 1;
	/* heads and last chunks are small writes: Nagle would hold them */
	if (c->c_is_socket)
		(void)setsockopt(c->c_wfd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	/* sockets are ours to close; a pipe or tty goes back as it was */
	s->s_rflags = set_nonblock(c->c_rfd);
	s->s_wflags = c->c_wfd != c->c_rfd ? set_nonblock(c->c_wfd) : -1;
	if (c->c_is_socket)
		s->s_rflags = s->s_wflags = -1;
	http_in_init(&s->s_in, nofd);
	http_scan_init(&s->s_scan, 1);
	s->s_readable = 1;
	s->s_sock.cs_policy = &gw.gw_opts.policy;
	s->s_sock.cs_fixed = gw.gw_origin;
	s->s_sock.cs_conn = c->c_id;
	return s;
}

/* Starts a session in the loop's thread: it waits for its first head. */
void
session_start(struct session *s)
{
	struct conn *c = s->s_conn;

	if (loop_watch(s) == -1) {
		log_warn("conn=%lu: epoll", c->c_id);
		session_close(s, REASON_INTERNAL_ERROR);
		return;
	}
	s->s_state = S_HEAD;
	s->s_deadline = c->c_start_ms + gw.gw_opts.header_timeout * 1000ULL;
	advance(s);
}

/*
 * Ends the session, why being the reason: every session ends here, as
 * relayd's relay_close().  An exchange whose access line is still owed
 * ends with it (why is its reason, unless REASON_DONE: then what the
 * exchange recorded stands).  Then a lingering close, or the transfer,
 * the fds and the connection end.
 */
void
session_close(struct session *s, enum log_reason why)
{
	struct conn *c = s->s_conn;

	if (s->s_dead)
		return;
	/* first: libcurl says where it connected, for the line */
	upstream_stop(s);
	if (s->s_line && why != REASON_DONE)
		s->s_reason = why;
	exchange_end(s);
	if (s->s_state != S_LINGER && linger_start(s))
		return;
	s->s_dead = 1;
	if (s->s_curl != NULL)
		curl_easy_cleanup(s->s_curl);
	s->s_curl = NULL;
	loop_unwatch(s);
	if (s->s_rflags != -1)
		(void)fcntl(c->c_rfd, F_SETFL, s->s_rflags);
	if (s->s_wflags != -1)
		(void)fcntl(c->c_wfd, F_SETFL, s->s_wflags);
	free(s->s_out);
	s->s_out = NULL;
	conn_end(c);
	s->s_conn = NULL;
	loop_bury(s);
}

/*
 * Starts a lingering close when the client's socket holds bytes not
 * read, or may soon (the rest of a refused request): a close with them
 * sends a RST, which can destroy the response before the client has
 * read it, and fails the client's writes.  The response is out by now.
 * Returns 1 when the session lingers, 0 when it may close at once.
 */
static int
linger_start(struct session *s)
{
	struct conn *c = s->s_conn;
	int n;

	if (!c->c_is_socket || s->s_in_eof || s->s_write_failed ||
	    s->s_blocked || !(s->s_watched & WATCH_R) ||
	    ioctl(c->c_rfd, FIONREAD, &n) == -1 ||
	    (n == 0 && s->s_status < HTTP_BAD_REQUEST) ||
	    shutdown(c->c_wfd, SHUT_WR) == -1)
		return 0;
	upstream_stop(s);
	s->s_state = S_LINGER;
	s->s_deadline = now_ms() + LINGER_MS;
	linger_read(s);
	return 1;
}

/* Reads away what the client sent; its end, or an error, ends the session. */
static void
linger_read(struct session *s)
{
	struct http_in *in = &s->s_in;
	ssize_t r;

	do
		r = read(s->s_conn->c_rfd, in->in_buf, sizeof(in->in_buf));
	while (r > 0 || (r == -1 && errno == EINTR));
	if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
		session_close(s, REASON_DONE);
}

/* Events on the client's fds (wside: the write fd, when it is its own). */
void
session_io(struct session *s, int wside, uint32_t ev)
{
	struct conn *c = s->s_conn;
	int rside = !wside || c->c_rfd == c->c_wfd;

	if (s->s_state == S_LINGER) {
		if (rside)
			linger_read(s);
		return;
	}
	if (c->c_rfd == c->c_wfd)
		wside = 1;
	if (wside && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) &&
	    s->s_blocked) {
		if (out_flush(s) == -1) {
			client_gone(s, REASON_CLIENT_CLOSED);
			return;
		}
		if (!s->s_blocked && s->s_state == S_XFER &&
		    s->s_write_paused) {
			s->s_write_paused = 0;
			upstream_unpause(s);
			if (s->s_dead)
				return;
		}
	}
	if (rside && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))) {
		s->s_readable = 1;
		if (s->s_state == S_XFER && s->s_read_paused) {
			(void)session_fill(s);
			s->s_read_paused = 0;
			upstream_unpause(s);
			if (s->s_dead)
				return;
		} else if (s->s_state == S_XFER && ((ev & EPOLLERR) ||
		    (c->c_is_socket && (ev & EPOLLHUP)))) {
			/* a pipe's hang-up is only the end of its input */
			client_gone(s, REASON_CLIENT_CLOSED);
			return;
		}
	}
	advance(s);
}

/*
 * The client cannot be written to (or would not read, why says): nothing
 * more goes to it, and the session ends.
 */
static void
client_gone(struct session *s, enum log_reason why)
{
	s->s_write_failed = 1;
	s->s_close = 1;
	session_close(s, why);
}

/* Ends waits on the client that passed their deadline. */
void
session_sweep(struct session *s, uint64_t now)
{
	int idle;

	if (s->s_dead)
		return;
	if (s->s_state == S_LINGER) {
		if (now >= s->s_deadline)
			session_close(s, REASON_DONE);
		return;
	}
	if (s->s_state == S_HEAD) {
		/* nothing of a head yet: empty lines are none */
		idle = s->s_in.in_end == s->s_scan.sc_skip;
		if (idle && serve_stopping())
			session_close(s, REASON_DONE);
		else if (now >= s->s_deadline) {
			/* an idle keep-alive connection just ends */
			if (idle)
				session_close(s, REASON_IDLE_TIMEOUT);
			else {
				head_error(s, HTTP_REQUEST_TIMEOUT);
				advance(s);
			}
		}
		return;
	}
	if (!(s->s_blocked || (s->s_state == S_XFER && s->s_read_paused)) ||
	    now < s->s_deadline)
		return;
	if (s->s_blocked) {
		log_info("conn=%lu: the client took nothing for %d s",
		    s->s_conn->c_id, gw.gw_opts.idle_timeout);
		client_gone(s, REASON_IDLE_TIMEOUT);
		return;
	}
	s->s_body_status = HTTP_REQUEST_TIMEOUT;
	session_done(s, CURLE_ABORTED_BY_CALLBACK);
}

/* Moves the session on as far as it goes without waiting. */
static void
advance(struct session *s)
{
	while (!s->s_dead) {
		if (s->s_state == S_DRAIN) {
			if (!s->s_write_failed && out_flush(s) == -1) {
				client_gone(s, REASON_CLIENT_CLOSED);
				return;
			}
			/* a write failed before: it said why */
			if (s->s_write_failed) {
				session_close(s, s->s_reason);
				return;
			}
			if (s->s_blocked)
				return;
			/* all of the response is written: its line now */
			exchange_end(s);
			if (s->s_close || serve_stopping()) {
				session_close(s, REASON_DONE);
				return;
			}
			next_head(s);
			continue;
		}
		if (s->s_state != S_HEAD || head_step(s) == 0)
			return;
	}
}

/* Makes ready for the next request head: pipelined bytes go first. */
static void
next_head(struct session *s)
{
	struct http_in *in = &s->s_in;
	size_t pend = in->in_end - in->in_start;

	if (in->in_start > 0)
		memmove(in->in_buf, in->in_buf + in->in_start, pend);
	in->in_start = 0;
	in->in_end = pend;
	http_scan_init(&s->s_scan, 1);
	s->s_in_mark = s->s_in_total - pend;
	/* the old head's strings are gone with the memmove */
	s->s_hd.hd_method = s->s_hd.hd_target = NULL;
	s->s_hd.hd_nfields = 0;
	/* s_out is empty here: an idle connection keeps no large batch */
	if (s->s_outcap > OUT_MIN) {
		free(s->s_out);
		s->s_out = NULL;
		s->s_outcap = s->s_outoff = s->s_outlen = 0;
	}
	s->s_state = S_HEAD;
	s->s_deadline = now_ms() + gw.gw_opts.header_timeout * 1000ULL;
}

/*
 * Reads what the client sent into s_in, once: a short read means the
 * socket is empty until the next edge.  Returns 1 if it read bytes or
 * the end, else 0.
 */
int
session_fill(struct session *s)
{
	struct http_in *in = &s->s_in;
	size_t room;
	ssize_t r;

	if (!s->s_readable || s->s_in_eof)
		return 0;
	/* the head was released when the exchange started: reuse it all */
	if (s->s_state == S_XFER && in->in_start == in->in_end)
		in->in_start = in->in_end = 0;
	if ((room = sizeof(in->in_buf) - in->in_end) == 0)
		return 0;
	r = read(s->s_conn->c_rfd, in->in_buf + in->in_end, room);
	if (r > 0) {
		in->in_end += r;
		s->s_in_total += r;
		if ((size_t)r < room && !s->s_rfile)
			s->s_readable = 0;
		return 1;
	}
	if (r == 0)
		s->s_in_eof = 1;
	else if (errno == EAGAIN || errno == EWOULDBLOCK)
		s->s_readable = 0;
	else if (errno != EINTR)
		s->s_in_eof = 1;
	return s->s_in_eof;
}

/*
 * Reads a request head into s_in, as far as what is there goes, and
 * parses it once the scanner says it is whole (each byte is scanned
 * once, so a head dripped a byte at a time costs linear work); returns
 * 1 when the session moved on (an exchange, an error, its end), 0 to
 * wait.
 */
static int
head_step(struct session *s)
{
	struct http_in *in = &s->s_in;
	struct http_scan *sc = &s->s_scan;
	int r;

	for (;;) {
		r = http_head_scan(sc, in->in_buf, in->in_end);
		if (r == 0) {
			r = http_parse_request(in->in_buf, in->in_end,
			    &s->s_hd);
			break;
		}
		if (r != HTTP_INCOMPLETE) {
			memset(&s->s_hd, 0, sizeof(s->s_hd));
			s->s_hd.hd_error = sc->sc_error;
			break;
		}
		if (s->s_in_eof) {
			/* empty lines and then the end: as if nothing came */
			if (in->in_end == sc->sc_skip) {
				session_close(s, REASON_CLIENT_CLOSED);
				return 1;
			}
			memset(&s->s_hd, 0, sizeof(s->s_hd));
			s->s_hd.hd_error = "the connection ended inside the head";
			r = HTTP_BAD_REQUEST;
			break;
		}
		/* the scanner's verdict comes before in_buf is full */
		if (!s->s_readable || in->in_end == sizeof(in->in_buf))
			return 0;
		(void)session_fill(s);
	}
	s->s_t0 = now_ms();
	if (r != 0) {
		head_error(s, r);
		return 1;
	}
	in->in_start = s->s_hd.hd_size;
	exchange(s);
	return 1;
}

/* Answers a head that could not be read, and closes. */
static void
head_error(struct session *s, int r)
{
	s->s_t0 = now_ms();
	s->s_line = 1;
	s->s_status = r;
	s->s_reason = r == HTTP_REQUEST_TIMEOUT ? REASON_HEADER_TIMEOUT :
	    REASON_BAD_REQUEST;
	s->s_bytes_out = 0;
	s->s_proto = "-";
	s->s_url[0] = s->s_upstream[0] = '\0';
	s->s_close = 1;
	s->s_write_failed = 0;
	error_response(s, 11, r, PE_HTTP_REQUEST_ERROR,
	    http_head_error(&s->s_hd, r), NULL);
	s->s_state = S_DRAIN;
}

/* Appends to s_out; 0, or -1 when out of memory. */
static int
out_append(struct session *s, const void *p, size_t n)
{
	size_t need, cap;
	char *o;

	if (n == 0)
		return 0;
	if (s->s_outoff > 0 && s->s_outlen + n > s->s_outcap) {
		memmove(s->s_out, s->s_out + s->s_outoff,
		    s->s_outlen - s->s_outoff);
		s->s_outlen -= s->s_outoff;
		s->s_head_at = s->s_head_at > s->s_outoff ?
		    s->s_head_at - s->s_outoff : 0;
		s->s_outoff = 0;
	}
	need = s->s_outlen + n;
	if (need > s->s_outcap) {
		cap = s->s_outcap > 0 ? s->s_outcap : OUT_MIN;
		while (cap < need)
			cap *= 2;
		if ((o = realloc(s->s_out, cap)) == NULL) {
			s->s_reason = REASON_INTERNAL_ERROR;
			return -1;
		}
		s->s_out = o;
		s->s_outcap = cap;
	}
	memcpy(s->s_out + s->s_outlen, p, n);
	s->s_outlen += n;
	return 0;
}

/*
 * Writes what s_out holds, then iov, in one writev, and keeps in s_out
 * whatever the socket did not take (s_blocked until it does).  Nothing
 * is written while blocked: the bytes only queue.  Returns 0, or -1 when
 * the client is gone (or memory is).
 */
int
out_writev(struct session *s, struct iovec *iov, int n)
{
	struct iovec v[IOV_MAX_OUT + 1];
	size_t pend = s->s_outlen - s->s_outoff, w = 0, len;
	ssize_t r = 0;
	int i, k = 0;

	if (pend > 0) {
		v[k].iov_base = s->s_out + s->s_outoff;
		v[k++].iov_len = pend;
	}
	for (i = 0; i < n && i < IOV_MAX_OUT; i++)
		v[k++] = iov[i];
	if (k == 0)
		return 0;
	if (!s->s_blocked) {
		do
			r = writev(s->s_conn->c_wfd, v, k);
		while (r == -1 && errno == EINTR);
		if (r == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
			s->s_reason = REASON_CLIENT_CLOSED;
			return -1;
		}
		w = r > 0 ? (size_t)r : 0;
		s->s_bytes_out += w;
	}
	if (w >= pend) {
		s->s_outoff = s->s_outlen = 0;
		s->s_head_at = 0;
		w -= pend;
	} else {
		s->s_outoff += w;
		w = 0;
	}
	for (i = 0; i < n && i < IOV_MAX_OUT; i++) {
		len = iov[i].iov_len;
		if (w >= len) {
			w -= len;
			continue;
		}
		if (out_append(s, (char *)iov[i].iov_base + w, len - w) == -1)
			return -1;
		w = 0;
	}
	if (s->s_outlen > s->s_outoff) {
		if (!s->s_blocked || r > 0)
			s->s_deadline = idle_deadline();
		s->s_blocked = 1;
	}
	return 0;
}

/* Writes what s_out holds; 0, or -1 when the client is gone. */
static int
out_flush(struct session *s)
{
	s->s_blocked = 0;
	return out_writev(s, NULL, 0);
}

/*
 * Holds body bytes for the end of the loop's round, when they go out in
 * one write, or writes them with what is held if that would pass
 * OUT_BATCH.  libcurl hands an HTTP/2 body over frame by frame, 16 KiB
 * typically: a write each cost a third more CPU per MiB than the copy
 * that gathers them.  Returns as out_writev().
 */
int
out_batch(struct session *s, struct iovec *iov, int n)
{
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++)
		len += iov[i].iov_len;
	if (s->s_blocked || s->s_outlen - s->s_outoff + len > OUT_BATCH)
		return out_writev(s, iov, n);
	for (i = 0; i < n; i++)
		if (out_append(s, iov[i].iov_base, iov[i].iov_len) == -1)
			return -1;
	loop_batch(s);
	return 0;
}

/* Writes what the round held back; the client may be gone by now. */
void
out_round_end(struct session *s)
{
	if (s->s_blocked || s->s_outlen == s->s_outoff)
		return;
	if (out_flush(s) == -1)
		client_gone(s, REASON_CLIENT_CLOSED);
}

/* Holds bytes (a head) to go out with the next write; 0 or -1. */
int
out_hold(struct session *s, const char *p, size_t n)
{
	s->s_head_at = s->s_outlen;
	return out_append(s, p, n);
}

/* One request: answered here, or started in libcurl. */
static void
exchange(struct session *s)
{
	struct http_head *hd = &s->s_hd;
	char v[LOG_VALUE_MAX(512)], why[64];
	const char *err;
	unsigned port;

	s->s_line = 1;
	s->s_status = 0;
	s->s_reason = REASON_DONE;
	s->s_bytes_out = s->s_body_out = 0;
	s->s_head_sent = s->s_head_done = s->s_chunked = s->s_no_body = 0;
	s->s_write_failed = s->s_continued = 0;
	curlshare_sock_reset(&s->s_sock);
	s->s_body_eof = s->s_body_status = s->s_body_started = 0;
	s->s_read_paused = s->s_write_paused = 0;
	s->s_rlen = s->s_traillen = 0;
	s->s_clen = -1;
	s->s_fail = NULL;
	s->s_proto = "-";
	s->s_url[0] = s->s_upstream[0] = '\0';
	s->s_err[0] = '\0';
	s->s_close = !hd->hd_keep_alive;
	if (gw.gw_insecure)
		log_warnx("conn=%lu: --insecure: %s is not verified",
		    s->s_conn->c_id, log_value(hd->hd_target, v, sizeof(v)));
	if (strcmp(hd->hd_method, "CONNECT") == 0) {
		s->s_close = 1;
		send_error(s, HTTP_METHOD_NOT_ALLOWED, REASON_POLICY,
		    PE_HTTP_REQUEST_ERROR, "CONNECT is not supported here (connectd tunnels)",
		    ALLOW_METHODS);
		goto done;
	}
	if (target_url(&gw, hd, s->s_url, sizeof(s->s_url), &port,
	    &err) == -1) {
		s->s_close = 1;
		s->s_url[0] = '\0';
		send_error(s, HTTP_BAD_REQUEST, REASON_BAD_REQUEST,
		    PE_HTTP_REQUEST_ERROR, err, NULL);
		goto done;
	}
	if (!gw.gw_origin && !policy_port_ok(&gw.gw_opts.policy, port)) {
		if (hd->hd_framing != HTTP_BODY_NONE)
			s->s_close = 1;
		send_error(s, HTTP_FORBIDDEN, REASON_POLICY,
		    PE_DESTINATION_IP_PROHIBITED,
		    policy_port_refusal(why, sizeof(why), port), NULL);
		goto done;
	}
	forward(s);
	return;
done:
	s->s_state = S_DRAIN;
}

/* Starts the exchange in libcurl; the loop ends it in session_done(). */
static void
forward(struct session *s)
{
	http_body_init(&s->s_body, &s->s_hd);
	s->s_body_eof = s->s_hd.hd_framing == HTTP_BODY_NONE;
	if (request_fields(s) == -1) {
		s->s_close = 1;
		send_error(s, HTTP_INTERNAL_SERVER_ERROR, REASON_INTERNAL_ERROR,
		    PE_PROXY_INTERNAL_ERROR, "request head too large", NULL);
		s->s_state = S_DRAIN;
		return;
	}
	s->s_state = S_XFER;
	if (upstream_start(s) == -1) {
		s->s_state = S_DRAIN;
		s->s_close = 1;
		send_error(s, HTTP_INTERNAL_SERVER_ERROR, REASON_INTERNAL_ERROR,
		    PE_PROXY_INTERNAL_ERROR, "unable to start a transfer", NULL);
		return;
	}
	head_release(s);
}

/*
 * Keeps what outlives the head's bytes, which the body is read over
 * from now on (session_fill(), http_read_body()): a head may fill
 * s_in whole, and a body read above it would then have no room.
 * libcurl copied the URL and method; the fields are in s_fbuf.
 */
static void
head_release(struct session *s)
{
	struct http_head *hd = &s->s_hd;

	snprintf(s->s_method, sizeof(s->s_method), "%s", hd->hd_method);
	hd->hd_method = s->s_method;
	hd->hd_target = NULL;
	hd->hd_nfields = 0;
}

/* The exchange ended with rc (libcurl's, or ours when we stopped it). */
void
session_done(struct session *s, CURLcode rc)
{
	upstream_stop(s);
	s->s_read_paused = s->s_write_paused = 0;
	/*
	 * An unread request body would be taken for the next request.
	 * libcurl stops asking once it has Content-Length bytes.
	 */
	if (!s->s_body_eof && !s->s_body.bd_done)
		s->s_close = 1;
	finish(s, rc);
	s->s_state = S_DRAIN;
	advance(s);
}

/* Ends the response after libcurl returned rc. */
static void
finish(struct session *s, int rc)
{
	char detail[CURL_ERROR_SIZE + 128], last[TRAILER_MAX + 8];
	struct iovec iov;
	enum proxy_error pe;
	int st, n;

	if (rc != CURLE_OK && s->s_head_sent && !s->s_body_started &&
	    !s->s_write_failed) {
		/* nothing reached the client yet: it gets a whole error */
		s->s_outlen = s->s_head_at;
		s->s_head_sent = 0;
	}
	if (rc == CURLE_OK && s->s_head_sent && !s->s_write_failed) {
		if (s->s_chunked) {
			n = snprintf(last, sizeof(last), "0\r\n%.*s\r\n",
			    (int)s->s_traillen, s->s_trail);
			iov.iov_base = last;
			iov.iov_len = n;
			if (out_writev(s, &iov, 1) == -1)
				s->s_write_failed = 1;
		} else if (s->s_clen >= 0 && !s->s_no_body &&
		    s->s_body_out != (uint64_t)s->s_clen)
			s->s_close = 1;
		return;
	}
	if (s->s_write_failed) {
		/* the client went away (s_reason says how): nothing to say */
		s->s_close = 1;
		return;
	}
	if (s->s_head_sent) {
		/* the client must not take a cut body for a whole one */
		log_info("conn=%lu: response broken after %llu bytes: %s",
		    s->s_conn->c_id, (unsigned long long)s->s_body_out,
		    s->s_body_status ? "request body broken" :
		    s->s_err[0] ? s->s_err : curl_easy_strerror(rc));
		s->s_close = 1;
		s->s_reason = s->s_body_status == HTTP_REQUEST_TIMEOUT ?
		    REASON_IDLE_TIMEOUT :
		    s->s_body_status != 0 ? REASON_BAD_REQUEST :
		    s->s_fail != NULL ? REASON_UPSTREAM_ERROR :
		    rc == CURLE_OPERATION_TIMEDOUT ? REASON_UPSTREAM_TIMEOUT :
		    REASON_UPSTREAM_CLOSED;
		return;
	}
	if (s->s_body_status != 0) {
		s->s_close = 1;
		send_error(s, s->s_body_status,
		    s->s_body_status == HTTP_REQUEST_TIMEOUT ?
		    REASON_IDLE_TIMEOUT : REASON_BAD_REQUEST,
		    PE_HTTP_REQUEST_ERROR, "request body broken", NULL);
		return;
	}
	if (rc == CURLE_OK)
		s->s_fail = "no response head";
	st = upstream_error(s, rc, &pe, detail, sizeof(detail));
	send_error(s, st, st == HTTP_FORBIDDEN ? REASON_POLICY :
	    st == HTTP_GATEWAY_TIMEOUT ? REASON_UPSTREAM_TIMEOUT :
	    REASON_UPSTREAM_ERROR, pe, detail, NULL);
}

/*
 * Queues a complete error response, logged when it is ours to explain;
 * why is the access line's reason, unless writing it fails.
 */
static void
send_error(struct session *s, int status, enum log_reason why,
    enum proxy_error pe, const char *detail, const char *extra)
{
	s->s_status = status;
	s->s_reason = why;
	if (status >= HTTP_INTERNAL_SERVER_ERROR ||
	    status == HTTP_BAD_REQUEST || status == HTTP_FORBIDDEN)
		log_info("conn=%lu: %d: %s", s->s_conn->c_id, status, detail);
	error_response(s, s->s_hd.hd_version, status, pe, detail, extra);
	s->s_head_sent = 1;
}

/*
 * Queues an error response, the bytes http_format_error() makes for
 * every program; a response that cannot be queued ends the session.
 */
static void
error_response(struct session *s, int version, int status,
    enum proxy_error pe, const char *detail, const char *extra)
{
	char buf[HTTP_ERROR_MAX];
	struct iovec iov;
	int n;

	if ((n = http_format_error(buf, sizeof(buf), version, status,
	    http_proxy_error_token(pe), detail, extra, s->s_close)) == -1) {
		s->s_write_failed = 1;
		return;
	}
	iov.iov_base = buf;
	iov.iov_len = n;
	if (out_writev(s, &iov, 1) == -1)
		s->s_write_failed = 1;
}

/* Writes the access line of the exchange in progress, if one is owed. */
static void
exchange_end(struct session *s)
{
	if (!s->s_line)
		return;
	s->s_line = 0;
	access_line(s);
}

/*
 * Logs the exchange as DESIGN.md words it: status is what the client
 * got ("-" when nothing reached it), bytes_in what it sent for this
 * exchange (head and body as they came; on a connection that closes,
 * everything it sent), bytes_out what was written to it.
 */
static void
access_line(struct session *s)
{
	struct conn *c = s->s_conn;
	struct http_in *in = &s->s_in;
	struct access_line al;
	char up[NET_HOSTLEN + NET_PORTLEN + 4], extra[64], v[LOG_VALUE_MAX(16)];
	const char *t = s->s_url, *h;
	uint64_t pos = s->s_in_total;
	size_t n;

	if (!s->s_close)	/* what is left is the next request's */
		pos -= in->in_end - in->in_start;
	up[0] = '\0';
	if (s->s_upstream[0] != '\0')
		snprintf(up, sizeof(up), "%s", s->s_upstream);
	else if (strncmp(t, "https://", 8) == 0) {
		/* no address connected to: the host and port asked for */
		h = t + 8;
		n = strcspn(h, "/");
		snprintf(up, sizeof(up), "%.*s", (int)n, h);
	}
	/* refused before it became a URL: the target as sent */
	if (t[0] == '\0' && s->s_hd.hd_target != NULL)
		t = s->s_hd.hd_target;
	snprintf(extra, sizeof(extra), " upstream_proto=%s",
	    log_value(s->s_proto, v, sizeof(v)));
	memset(&al, 0, sizeof(al));
	al.al_method = s->s_hd.hd_method != NULL ? s->s_hd.hd_method : "";
	al.al_target = t;
	al.al_status = s->s_write_failed && s->s_bytes_out == 0 ? 0 :
	    s->s_status;
	al.al_upstream = up;
	al.al_bytes_in = pos - s->s_in_mark;
	al.al_bytes_out = s->s_bytes_out;
	al.al_ms = now_ms() - s->s_t0;
	al.al_reason = s->s_reason;
	al.al_extra = extra;
	conn_access(c, &al, 0);
}
