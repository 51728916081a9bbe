/*
 * tlsio.c - the TLS side of a connection: the handshake within its
 * deadline, then the relay between TLS and the plaintext backend.
 *
 * The handshake runs in the connection's own thread (serve.c), so its
 * blocking poll() and its CPU cost no other connection anything.  Its
 * first byte is looked at first: plain HTTP sent to the TLS port gets
 * a 400 in clear text, as nginx answers it, and any other byte that
 * does not start a TLS record is left to OpenSSL to refuse.  Every
 * answer tlsstripd makes itself ends the connection with a lingering
 * close: the client's unread bytes would otherwise make the close a
 * reset, which can destroy the answer before the client reads it.  The
 * relay is skarnet's stls_run(): every fd non-blocking, each of the four
 * operations (SSL_read, write to the backend, read from the backend,
 * SSL_write) tried until none makes progress, then a wait for what the
 * blocked operations wait for.  An SSL operation may wait for the other
 * direction (a TLS 1.3 key update, a close_notify in flight), so its
 * wait is kept as WAIT_READ or WAIT_WRITE on the client, not assumed
 * from the operation.  Half-close: the client's close_notify or FIN
 * becomes shutdown(SHUT_WR) towards the backend once everything read
 * has been written; the backend's FIN becomes a close_notify (and a
 * FIN) once everything has been sent; the relay ends when both have
 * happened, on an error, or after --idle-timeout without an event.
 *
 * The wait is one of two.  A -c connection from a socket moves to a
 * shared epoll loop (loop.c): a thread per connection costs a context
 * switch for every wakeup, which on keep-alive traffic is most of the
 * CPU spent per request.  A program's connection, or one on a pipe or
 * a tty, keeps its thread and poll()s here: waiting for a program to
 * exit must not stall a loop, and those are one connection anyway.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "http.h"
#include "log.h"
#include "serve.h"
#include "tlsstripd.h"

#define STEP_ROUNDS	16	/* up to 1 MiB each way per turn */
#define BULK_WBUF	(4 * (16384 + 256))	/* four full TLS records */
#define LINGER_MS	2000	/* reading after an answer, at most */
#define ANSWER_MAX	512	/* an error response we make */

enum { P_CLIENT_R, P_CLIENT_W, P_BACKEND, P_MAX };

static void	 tls_fail(struct session *, const char *, int, int,
		    enum log_reason);
static int	 quiet_close(struct session *, int);
static int	 plain_http(struct session *, uint64_t);
static int	 ssl_wait(struct session *, int, uint64_t);
static int	 ssl_write_all(struct session *, const char *, size_t,
		    uint64_t);
static int	 step_ssl_read(struct session *);
static int	 step_forward(struct session *);
static void	 queue_answer(struct session *);
static int	 step_up_write(struct session *);
static int	 step_up_shut(struct session *);
static int	 step_up_read(struct session *);
static int	 step_ssl_write(struct session *);
static int	 step_flush(struct session *);
static int	 step_cl_shut(struct session *);
static int	 steps(struct session *);
static int	 wants(int, int);
static int	 loop_ok(const struct session *);
static int	 relay_wait(struct session *);

/*
 * Records the end of a session whose SSL operation failed with error e
 * (SSL_get_error()) after ret, naming what was being done: closed is
 * the reason if the client just went away, tls_error otherwise.
 */
static void
tls_fail(struct session *se, const char *what, int e, int ret,
    enum log_reason closed)
{
	enum log_reason why = REASON_TLS_ERROR;
	unsigned long code;
	const char *r = NULL;
	long vr;

	code = ERR_peek_last_error();
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL &&
	    ret == 0 && errno == 0 && code == 0)) {
		r = "the client closed";
		why = closed;
	} else if (e == SSL_ERROR_SYSCALL && code == 0) {
		r = errno != 0 ? strerror(errno) : "the client closed";
		why = closed;
	} else if (ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
	    (vr = SSL_get_verify_result(se->se_ssl)) != X509_V_OK)
		r = X509_verify_cert_error_string(vr);
	else if (ERR_GET_REASON(code) == SSL_R_HTTP_REQUEST)
		r = "plain HTTP sent to the TLS port";
	else if (code != 0)
		r = ERR_reason_error_string(code);
	session_fail(se, why, "%s: %s", what, r != NULL ? r : "unknown error");
	ERR_clear_error();
}

/*
 * Returns 1 if the client closed without sending a byte, as a TCP
 * health check does, given the handshake's SSL_get_error() e.
 */
static int
quiet_close(struct session *se, int e)
{
	return (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) &&
	    ERR_peek_last_error() == 0 &&
	    BIO_number_read(SSL_get_rbio(se->se_ssl)) == 0;
}

/*
 * Returns 1 if the client's first byte starts an HTTP method, not a TLS
 * record (0x16) or anything else: plain HTTP sent to the TLS port.  0
 * also when nothing came by the deadline, or the client is not on a
 * socket (there is no peeking at a pipe).
 */
static int
plain_http(struct session *se, uint64_t deadline)
{
	struct conn *c = se->se_conn;
	struct pollfd pfd;
	uint64_t now;
	ssize_t n;
	char b;

	if (!c->c_is_socket)
		return 0;
	for (;;) {
		if ((n = recv(c->c_rfd, &b, 1, MSG_PEEK)) == 1)
			return b >= 'A' && b <= 'Z';
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			return 0;
		if ((now = now_ms()) >= deadline)
			return 0;
		pfd.fd = c->c_rfd;
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, (int)(deadline - now));
	}
}

/*
 * Half-closes towards the client and reads what it still sends until it
 * closes, for ms at most (0: only what has come already).
 */
void
tlsio_linger(struct conn *c, int ms)
{
	struct pollfd pfd;
	char buf[4096];
	uint64_t deadline, now;
	ssize_t n;

	if (!c->c_is_socket)
		return;
	(void)shutdown(c->c_wfd, SHUT_WR);
	deadline = now_ms() + ms;
	for (;;) {
		if ((n = read(c->c_rfd, buf, sizeof(buf))) > 0)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			return;
		if ((now = now_ms()) >= deadline)
			return;
		pfd.fd = c->c_rfd;
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, (int)(deadline - now));
	}
}

/*
 * Waits for what an SSL operation wants (POLLIN or POLLOUT on the
 * client) until the deadline.  Returns 1 to try again, 0 at the
 * deadline.
 */
static int
ssl_wait(struct session *se, int events, uint64_t deadline)
{
	struct conn *c = se->se_conn;
	struct pollfd pfd;
	uint64_t now;

	if ((now = now_ms()) >= deadline)
		return 0;
	pfd.fd = events == POLLIN ? c->c_rfd : c->c_wfd;
	pfd.events = events;
	(void)poll(&pfd, 1, (int)(deadline - now));
	return 1;
}

/* Sends all of buf through TLS by the deadline; 0, or -1. */
static int
ssl_write_all(struct session *se, const char *buf, size_t len,
    uint64_t deadline)
{
	int r, e;

	while (len > 0) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_write(se->se_ssl, buf, (int)len)) > 0) {
			buf += r;
			len -= r;
			se->se_out += r;
			continue;
		}
		e = SSL_get_error(se->se_ssl, r);
		if ((e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) ||
		    !ssl_wait(se, e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN,
		    deadline)) {
			ERR_clear_error();
			return -1;
		}
	}
	return 0;
}

/*
 * --forwarded, when the backend cannot be reached: reads the client's
 * first request head by its deadline, answers it with status (or the
 * head with its own 400 or 408) through TLS, and closes.  Returns 0
 * when the answer went out, -1 if not; the reason is set.
 */
int
tlsio_refuse(struct session *se, int status, const char *proxy_error,
    const char *detail)
{
	struct fwd *fw = se->se_fwd;
	char ans[ANSWER_MAX];
	uint64_t deadline;
	size_t len, off, produced;
	ssize_t used;
	int r, e, n;

	deadline = tlsio_head_deadline(se);
	while (fwd_requests(fw) == 0 && fwd_status(fw) == 0) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_read(se->se_ssl, se->se_rbuf, RAW_BUF)) > 0) {
			se->se_in += r;
			/* Only where the head ends counts: no rewrite. */
			for (off = 0; off < (size_t)r && fwd_requests(fw) == 0;
			    off += used)
				if ((used = fwd_run(fw, se->se_rbuf + off,
				    r - off, se->se_ubuf, RELAY_BUF,
				    &produced)) <= 0)
					break;
			continue;
		}
		e = SSL_get_error(se->se_ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			return -1;	/* the client left without asking */
		}
		if (!ssl_wait(se, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		    deadline))
			fwd_timeout(fw);
	}
	if (fwd_status(fw) != 0)
		len = fwd_answer(fw, ans, sizeof(ans));
	else if ((n = http_format_error(ans, sizeof(ans), ANSWER_VERSION,
	    status, proxy_error, detail, NULL, 1)) > 0)
		len = n;
	else
		len = 0;
	if (len == 0 || ssl_write_all(se, ans, len, now_ms() +
	    1000ULL * se->se_cf->cf_opts.header_timeout) == -1)
		return -1;
	se->se_status = fwd_status(fw) != 0 ? fwd_status(fw) : status;
	tlsio_close_notify(se);
	return 0;
}

/*
 * Ends the TLS session cleanly before the connection closes: a client
 * then sees an empty reply, not a truncation ("unexpected eof").
 */
void
tlsio_close_notify(struct session *se)
{
	ERR_clear_error();
	(void)SSL_shutdown(se->se_ssl);
	ERR_clear_error();
	tlsio_linger(se->se_conn, LINGER_MS);
}

int
tlsio_handshake(struct session *se)
{
	struct conn *c = se->se_conn;
	struct pollfd pfd;
	char ans[ANSWER_MAX];
	uint64_t deadline, now;
	int r, e, len;

	deadline = c->c_start_ms + 1000ULL * se->se_cf->cf_opts.header_timeout;
	if (plain_http(se, deadline)) {
		session_fail(se, REASON_BAD_REQUEST,
		    "plain HTTP sent to the TLS port");
		len = http_format_error(ans, sizeof(ans), ANSWER_VERSION,
		    HTTP_BAD_REQUEST,
		    http_proxy_error_token(PE_HTTP_REQUEST_ERROR),
		    "plain HTTP request sent to the HTTPS port", NULL, 1);
		if (len > 0 && http_write_all(c->c_wfd, ans, len, now_ms() +
		    1000ULL * se->se_cf->cf_opts.header_timeout) == 0) {
			se->se_out += len;
			se->se_status = HTTP_BAD_REQUEST;
			tlsio_linger(c, LINGER_MS);
		}
		return -1;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_accept(se->se_ssl)) == 1)
			return 0;
		e = SSL_get_error(se->se_ssl, r);
		if (e == SSL_ERROR_WANT_READ) {
			pfd.fd = c->c_rfd;
			pfd.events = POLLIN;
		} else if (e == SSL_ERROR_WANT_WRITE) {
			pfd.fd = c->c_wfd;
			pfd.events = POLLOUT;
		} else if (quiet_close(se, e)) {
			se->se_quiet = 1;
			session_fail(se, REASON_CLIENT_CLOSED,
			    "closed before the handshake");
			return -1;
		} else {
			tls_fail(se, "handshake failed", e, r,
			    REASON_TLS_ERROR);
			return -1;
		}
		if ((now = now_ms()) >= deadline) {
			session_fail(se, REASON_HEADER_TIMEOUT,
			    "handshake not done within --header-timeout");
			return -1;
		}
		if (poll(&pfd, 1, (int)(deadline - now)) == -1 &&
		    errno != EINTR) {
			session_fail(se, REASON_INTERNAL_ERROR, "poll: %s",
			    strerror(errno));
			return -1;
		}
	}
}

/*
 * Reads decrypted client bytes (into the --forwarded raw buffer, else
 * straight into the backend's buffer).  Returns 1 on progress, 0 when
 * blocked or not due, -1 to end the relay.
 */
static int
step_ssl_read(struct session *se)
{
	char *dst;
	size_t room;
	int r, e;

	if (se->se_cl_eof || se->se_rd_wait)
		return 0;
	if (se->se_fwd != NULL) {
		if (se->se_roff < se->se_rend)
			return 0;
		se->se_roff = se->se_rend = 0;
		dst = se->se_rbuf;
		room = RAW_BUF;
	} else {
		if (se->se_uoff > 0 && se->se_uoff == se->se_uend)
			se->se_uoff = se->se_uend = 0;
		dst = se->se_ubuf + se->se_uend;
		room = RELAY_BUF - se->se_uend;
	}
	if (room == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_read(se->se_ssl, dst, (int)room)) > 0) {
		se->se_in += r;
		/* Nothing buffered: poll() says when more comes. */
		if (!SSL_has_pending(se->se_ssl))
			se->se_rd_wait = WAIT_READ;
		if (se->se_fwd != NULL)
			se->se_rend = r;
		else
			se->se_uend += r;
		return 1;
	}
	switch ((e = SSL_get_error(se->se_ssl, r))) {
	case SSL_ERROR_WANT_READ:
		se->se_rd_wait = WAIT_READ;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		se->se_rd_wait = WAIT_WRITE;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		se->se_cl_eof = 1;
		return 1;
	default:
		if (e == SSL_ERROR_SYSCALL && errno == 0 &&
		    ERR_peek_last_error() == 0) {
			se->se_cl_eof = 1;
			return 1;
		}
		tls_fail(se, "reading from the client", e, r,
		    REASON_CLIENT_CLOSED);
		return -1;
	}
}

/*
 * --forwarded: moves raw client bytes through the head rewriter into
 * the backend's buffer.  Returns 1 on progress, 0 if nothing moved.
 */
static int
step_forward(struct session *se)
{
	size_t produced = 0;
	ssize_t used;
	int status;

	if (se->se_fwd == NULL || (se->se_roff == se->se_rend &&
	    !fwd_pending(se->se_fwd)))
		return 0;
	if (se->se_uoff > 0 && se->se_uoff == se->se_uend)
		se->se_uoff = se->se_uend = 0;
	used = fwd_run(se->se_fwd, se->se_rbuf + se->se_roff,
	    se->se_rend - se->se_roff, se->se_ubuf + se->se_uend,
	    RELAY_BUF - se->se_uend, &produced);
	se->se_uend += produced;
	if (used == -1) {
		/* Stop reading: the error answer follows what is under way. */
		status = fwd_status(se->se_fwd);
		session_fail(se, REASON_BAD_REQUEST,
		    "bad request head from the client (%d)", status);
		se->se_roff = se->se_rend = 0;
		se->se_cl_eof = 1;
		queue_answer(se);
		return 1;
	}
	se->se_roff += used;
	return used > 0 || produced > 0;
}

/*
 * --forwarded: once the backend is done, puts the answer to a refused
 * head after everything it sent, once.
 */
static void
queue_answer(struct session *se)
{
	size_t n;

	if (se->se_fwd == NULL || se->se_answered || !se->se_be_eof ||
	    fwd_status(se->se_fwd) == 0)
		return;
	if (se->se_dend == se->se_doff)
		se->se_doff = se->se_dend = 0;
	n = fwd_answer(se->se_fwd, se->se_dbuf + se->se_dend,
	    RELAY_BUF - se->se_dend);
	se->se_dend += n;
	if (n > 0)
		se->se_status = fwd_status(se->se_fwd);
	se->se_answered = 1;
}

/*
 * --forwarded: the deadline (monotonic ms) of the request head the
 * client is sending, or 0 when none is under way or the wait is ours
 * (bytes read and not yet taken, a head not yet passed on).
 */
uint64_t
tlsio_head_deadline(const struct session *se)
{
	uint64_t since;

	if (se->se_fwd == NULL || se->se_cl_eof ||
	    se->se_roff != se->se_rend || fwd_pending(se->se_fwd) ||
	    (since = fwd_head_since(se->se_fwd)) == 0)
		return 0;
	return since + 1000ULL * se->se_cf->cf_opts.header_timeout;
}

/*
 * Refuses the head under way if it missed its deadline at now: reading
 * stops, and the 408 follows the answers to the requests before it.
 * Returns 1 if it did, 0 if not.
 */
int
tlsio_head_timeout(struct session *se, uint64_t now)
{
	uint64_t deadline = tlsio_head_deadline(se);

	if (deadline == 0 || now < deadline)
		return 0;
	fwd_timeout(se->se_fwd);
	session_fail(se, REASON_HEADER_TIMEOUT,
	    "request head not received within --header-timeout");
	se->se_cl_eof = 1;
	queue_answer(se);
	return 1;
}

/* Writes buffered client bytes to the backend; as step_ssl_read(). */
static int
step_up_write(struct session *se)
{
	ssize_t n;

	if (se->se_uoff == se->se_uend || se->se_be_wr_wait)
		return 0;
	n = write(se->se_up, se->se_ubuf + se->se_uoff,
	    se->se_uend - se->se_uoff);
	if (n > 0) {
		se->se_uoff += n;
		if (se->se_uoff == se->se_uend)
			se->se_uoff = se->se_uend = 0;
		return 1;
	}
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		se->se_be_wr_wait = 1;
		return 0;
	}
	if (n == -1 && errno == EINTR)
		return 1;
	session_fail(se, REASON_UPSTREAM_CLOSED, "the backend stopped reading");
	return -1;
}

/* Passes the client's end of input on as SHUT_WR; 1 when it did. */
static int
step_up_shut(struct session *se)
{
	if (!se->se_cl_eof || se->se_up_shut || se->se_uoff != se->se_uend ||
	    se->se_roff != se->se_rend ||
	    (se->se_fwd != NULL && fwd_pending(se->se_fwd)))
		return 0;
	(void)shutdown(se->se_up, SHUT_WR);
	se->se_up_shut = 1;
	return 1;
}

/* Reads from the backend into the client's buffer; as step_ssl_read(). */
static int
step_up_read(struct session *se)
{
	ssize_t n;

	if (se->se_be_eof || se->se_be_rd_wait)
		return 0;
	if (se->se_dend == RELAY_BUF && se->se_doff > 0 && se->se_dpend == 0) {
		memmove(se->se_dbuf, se->se_dbuf + se->se_doff,
		    se->se_dend - se->se_doff);
		se->se_dend -= se->se_doff;
		se->se_doff = 0;
	}
	if (se->se_dend == RELAY_BUF)
		return 0;
	n = read(se->se_up, se->se_dbuf + se->se_dend,
	    RELAY_BUF - se->se_dend);
	if (n > 0) {
		/* A short read drained the socket: poll() tells of more. */
		if ((size_t)n < RELAY_BUF - se->se_dend)
			se->se_be_rd_wait = 1;
		/* --forwarded: a 101 there ends HTTP on the connection. */
		if (se->se_fwd != NULL)
			fwd_response(se->se_fwd, se->se_dbuf + se->se_dend, n);
		se->se_dend += n;
		return 1;
	}
	if (n == 0) {
		se->se_be_eof = 1;
		queue_answer(se);
		return 1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		se->se_be_rd_wait = 1;
		return 0;
	}
	if (errno == EINTR)
		return 1;
	session_fail(se, REASON_UPSTREAM_CLOSED,
	    "the backend reset the connection");
	return -1;
}

/* Encrypts buffered backend bytes to the client; as step_ssl_read(). */
static int
step_ssl_write(struct session *se)
{
	size_t len;
	int r, e;

	if (se->se_doff == se->se_dend || se->se_wr_wait)
		return 0;
	len = se->se_dpend != 0 ? se->se_dpend : se->se_dend - se->se_doff;
	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_write(se->se_ssl, se->se_dbuf + se->se_doff,
	    (int)len)) > 0) {
		se->se_doff += r;
		se->se_out += r;
		se->se_dpend = 0;
		if (se->se_doff == se->se_dend)
			se->se_doff = se->se_dend = 0;
		return 1;
	}
	switch ((e = SSL_get_error(se->se_ssl, r))) {
	case SSL_ERROR_WANT_WRITE:
		se->se_wr_wait = WAIT_WRITE;
		se->se_dpend = len;
		return 0;
	case SSL_ERROR_WANT_READ:
		se->se_wr_wait = WAIT_READ;
		se->se_dpend = len;
		return 0;
	default:
		tls_fail(se, "writing to the client", e, r,
		    REASON_CLIENT_CLOSED);
		return -1;
	}
}

/*
 * Bulk sessions: sends what the write buffer holds once nothing else
 * moves.  Returns 1 on progress, 0 when waiting or not due, -1 on an
 * error.
 */
static int
step_flush(struct session *se)
{
	BIO *w = SSL_get_wbio(se->se_ssl);

	if (!se->se_bulk || se->se_wr_wait || BIO_wpending(w) == 0)
		return 0;
	if (BIO_flush(w) == 1)
		return 1;
	if (BIO_should_retry(w)) {
		se->se_wr_wait = WAIT_WRITE;
		return 0;
	}
	session_fail(se, REASON_CLIENT_CLOSED, "writing to the client failed");
	return -1;
}

/*
 * Buffers the encrypted bytes of a bulk session, so that one write()
 * sends four TLS records, not one: a quarter of the system calls and
 * of the packets.  Small exchanges stay unbuffered, sparing the
 * memory.  Returns 0, or -1 (nothing changed).
 */
int
tlsio_bulk(struct session *se)
{
	BIO *sock = SSL_get_wbio(se->se_ssl), *buf;

	if ((buf = BIO_new(BIO_f_buffer())) == NULL)
		return -1;
	if (BIO_set_write_buffer_size(buf, BULK_WBUF) != 1 ||
	    !BIO_up_ref(sock)) {
		BIO_free(buf);
		return -1;
	}
	SSL_set0_wbio(se->se_ssl, BIO_push(buf, sock));
	return 0;
}

/*
 * Once the backend is done and everything is sent: close_notify, then
 * FIN.  Returns 1 when done, 0 when waiting or not due.
 */
static int
step_cl_shut(struct session *se)
{
	struct conn *c = se->se_conn;
	int r, e;

	if (!se->se_be_eof || se->se_cl_shut || se->se_doff != se->se_dend ||
	    se->se_wr_wait)
		return 0;
	if (!se->se_notified) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_shutdown(se->se_ssl)) < 0) {
			e = SSL_get_error(se->se_ssl, r);
			if (e == SSL_ERROR_WANT_WRITE ||
			    e == SSL_ERROR_WANT_READ) {
				se->se_wr_wait = e == SSL_ERROR_WANT_WRITE ?
				    WAIT_WRITE : WAIT_READ;
				return 0;
			}
			ERR_clear_error();  /* the client is gone: done anyway */
		}
		se->se_notified = 1;
	}
	/* A buffered close_notify leaves (step_flush()) before the FIN. */
	if (BIO_wpending(SSL_get_wbio(se->se_ssl)) > 0)
		return 1;
	if (c->c_is_socket)
		(void)shutdown(c->c_wfd, SHUT_WR);
	else if (c->c_wfd != c->c_rfd) {
		close(c->c_wfd);
		c->c_wfd = -1;
	}
	se->se_cl_shut = 1;
	return 1;
}

/*
 * Runs every step until none progresses, at most STEP_ROUNDS times: a
 * fast transfer must not keep a shared loop from its other sessions.
 * Returns 0, 2 if there may be more to do at once, or -1 to end the
 * relay.
 */
static int
steps(struct session *se)
{
	int i, p, r;

	for (i = 0; i < STEP_ROUNDS; i++) {
		p = 0;
		if ((r = step_ssl_read(se)) == -1)
			return -1;
		p |= r;
		p |= step_forward(se);
		if ((r = step_up_write(se)) == -1)
			return -1;
		p |= r;
		p |= step_up_shut(se);
		if ((r = step_up_read(se)) == -1)
			return -1;
		p |= r;
		if ((r = step_ssl_write(se)) == -1)
			return -1;
		p |= r;
		/* Flushed only when nothing else moves: that is the batch. */
		if (!p) {
			if ((r = step_flush(se)) == -1)
				return -1;
			p |= r;
		}
		p |= step_cl_shut(se);
		if (!p)
			return 0;
	}
	return 2;
}

/*
 * Runs the steps after an event.  Returns 0 to wait for more, 1 when
 * both directions are done, 2 to be run again without waiting, -1 to
 * end the relay on an error.
 */
int
tlsio_steps(struct session *se)
{
	int r;

	if ((r = steps(se)) == -1)
		return -1;
	if (se->se_up_shut && se->se_cl_shut) {
		session_fail(se, REASON_DONE, NULL);
		return 1;
	}
	return r;
}

/* The poll events an SSL wait on the client needs on fd slot which. */
static int
wants(int wait, int which)
{
	if (which == P_CLIENT_R && wait == WAIT_READ)
		return POLLIN;
	if (which == P_CLIENT_W && wait == WAIT_WRITE)
		return POLLOUT;
	return 0;
}

/*
 * Returns the poll events the blocked steps wait for on the backend, or
 * on the client (one socket for both directions).
 */
int
tlsio_events(const struct session *se, int backend)
{
	if (backend)
		return (se->se_be_rd_wait ? POLLIN : 0) |
		    (se->se_be_wr_wait ? POLLOUT : 0);
	return wants(se->se_rd_wait, P_CLIENT_R) |
	    wants(se->se_wr_wait, P_CLIENT_R) |
	    wants(se->se_rd_wait, P_CLIENT_W) |
	    wants(se->se_wr_wait, P_CLIENT_W);
}

/*
 * Clears the waits that events let go on: rrev and wrev came on the
 * client's read and write fds, brev on the backend.  An error or hangup
 * wakes everything waiting on that fd, to find out what it was.
 */
void
tlsio_wake(struct session *se, int rrev, int wrev, int brev)
{
	if (rrev & (POLLIN | POLLHUP | POLLERR)) {
		if (se->se_rd_wait == WAIT_READ)
			se->se_rd_wait = 0;
		if (se->se_wr_wait == WAIT_READ)
			se->se_wr_wait = 0;
	}
	if (wrev & (POLLOUT | POLLHUP | POLLERR)) {
		if (se->se_rd_wait == WAIT_WRITE)
			se->se_rd_wait = 0;
		if (se->se_wr_wait == WAIT_WRITE)
			se->se_wr_wait = 0;
	}
	if (brev & (POLLIN | POLLHUP | POLLERR))
		se->se_be_rd_wait = 0;
	if (brev & (POLLOUT | POLLHUP | POLLERR))
		se->se_be_wr_wait = 0;
}

/*
 * Polls what the blocked steps wait for and clears the waits that can
 * go on, or refuses a request head past its deadline.  Returns 0, or
 * -1 after --idle-timeout without an event.
 */
static int
relay_wait(struct session *se)
{
	struct conn *c = se->se_conn;
	struct pollfd pfd[P_MAX];
	uint64_t deadline, now;
	int i, n, ms, same = c->c_rfd == c->c_wfd;

	pfd[P_CLIENT_R].fd = c->c_rfd;
	pfd[P_CLIENT_W].fd = c->c_wfd;
	pfd[P_BACKEND].fd = se->se_up;
	for (i = P_CLIENT_R; i <= P_CLIENT_W; i++)
		pfd[i].events = wants(se->se_rd_wait, i) |
		    wants(se->se_wr_wait, i);
	if (same) {
		pfd[P_CLIENT_R].events |= pfd[P_CLIENT_W].events;
		pfd[P_CLIENT_W].events = 0;
	}
	pfd[P_BACKEND].events = tlsio_events(se, 1);
	for (i = 0; i < P_MAX; i++) {
		if (pfd[i].events == 0)
			pfd[i].fd = -1;
		pfd[i].revents = 0;
	}
	if (pfd[0].fd == -1 && pfd[1].fd == -1 && pfd[2].fd == -1) {
		session_fail(se, REASON_INTERNAL_ERROR,
		    "nothing left to wait for");
		return -1;
	}
	ms = se->se_cf->cf_opts.idle_timeout * 1000;
	if ((deadline = tlsio_head_deadline(se)) != 0) {
		now = now_ms();
		if (deadline <= now)
			ms = 0;
		else if (deadline - now < (uint64_t)ms)
			ms = (int)(deadline - now);
	}
	n = poll(pfd, P_MAX, ms);
	if (n == 0 && tlsio_head_timeout(se, now_ms()))
		return 0;
	if (n == 0) {
		session_fail(se, REASON_IDLE_TIMEOUT, NULL);
		return -1;
	}
	if (n == -1 && errno != EINTR) {
		session_fail(se, REASON_INTERNAL_ERROR, "poll: %s",
		    strerror(errno));
		return -1;
	}
	if (n == -1)
		return 0;
	if (same)
		pfd[P_CLIENT_W].revents = pfd[P_CLIENT_R].revents;
	tlsio_wake(se, pfd[P_CLIENT_R].revents, pfd[P_CLIENT_W].revents,
	    pfd[P_BACKEND].revents);
	return 0;
}

/* 1 if the relay may move to a shared loop (see the top of the file). */
static int
loop_ok(const struct session *se)
{
	const struct conn *c = se->se_conn;

	return se->se_pid == -1 && c->c_is_socket && c->c_rfd == c->c_wfd;
}

/*
 * Relays until both directions are done, in this thread or, once the
 * first steps are taken, in a shared loop.  Returns 0 when done, -1 on
 * an error (the reason is set), 1 if the loop has the session now and
 * ends it there.
 */
int
tlsio_relay(struct session *se)
{
	int fl, r;

	if ((fl = fcntl(se->se_up, F_GETFL)) == -1 ||
	    fcntl(se->se_up, F_SETFL, fl | O_NONBLOCK) == -1) {
		session_fail(se, REASON_INTERNAL_ERROR,
		    "unable to make the backend socket non-blocking");
		return -1;
	}
	/* The steps set the waits a loop arms its events from. */
	while ((r = tlsio_steps(se)) == 2)
		continue;
	if (r != 0)
		return r == 1 ? 0 : -1;
	if (loop_ok(se) && loop_add(se) == 0)
		return 1;
	for (;;) {
		if (relay_wait(se) == -1)
			return -1;
		while ((r = tlsio_steps(se)) == 2)
			continue;
		if (r != 0)
			return r == 1 ? 0 : -1;
	}
}
