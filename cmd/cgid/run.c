/*
 * run.c - one run of a program: start it in a session of its own, feed
 * it the request body, read its header block, stream its output to the
 * client, log its stderr, and reap it.
 *
 * One poll() loop watches the client (body still to come), the program's
 * stdin (body to write), stdout and stderr at once, so a program that
 * writes before it has read all its input cannot deadlock with cgid.
 * Only this thread's own child is ever waited for: other threads wait
 * for theirs, so there is no SIGCHLD handler.  The program is a session
 * leader (its pid is its process group), so a timeout kills everything
 * it started.
 */
#include <sys/pidfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgid.h"
#include "http.h"
#include "log.h"
#include "serve.h"

#define COALESCE_MS	2

enum pump_end {
	P_EOF = 1,		/* the program closed its output (0: go on) */
	P_FULL,			/* its Content-Length is sent */
	P_REDIRECT,		/* a local redirect header */
	P_BAD_HEADER,		/* 502 */
	P_HEADER_TIMEOUT,	/* 504 */
	P_IDLE_TIMEOUT,		/* nothing moved for --idle-timeout */
	P_CLIENT_GONE		/* the client closed or a write failed */
};

struct child_args;
static void	 child(struct child_args *) __attribute__((noreturn));
static pid_t	 start_child(struct child_args *);
static int	 reap(struct exchange *, int, int *);
static int	 spawn(struct exchange *);
static enum pump_end pump(struct exchange *);
static int	 poll_timeout(struct exchange *, int *);
static int	 from_client(struct exchange *, int);
static void	 to_program(struct exchange *);
static int	 from_program(struct exchange *);
static int	 header_block(struct exchange *);
static void	 decide(struct exchange *);
static int	 emit(struct exchange *, const char *, size_t);
static int	 flush(struct exchange *);
static void	 from_stderr(struct exchange *);
static void	 err_line(struct exchange *);
static int	 finish(struct exchange *, int);
static enum run_result fail(struct exchange *, int, enum proxy_error,
		    const char *, enum log_reason);
static void	 close_fd(int *);
static int	 nph_status(const char *, size_t);
static int	 pipe_closed(const struct exchange *, int);

static void
close_fd(int *fd)
{
	if (*fd != -1) {
		(void)close(*fd);
		*fd = -1;
	}
}

/*
 * Returns 1 if the program died of the SIGPIPE cgid caused by closing
 * its output: the client went away, or its Content-Length was all sent.
 */
static int
pipe_closed(const struct exchange *x, int st)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE &&
	    (x->x_client_gone || (x->x_header_done &&
	    x->x_framing == RESP_LENGTH && x->x_resp_left == 0));
}

/* Returns the status an nph- program's output starts with, or 0. */
static int
nph_status(const char *p, size_t n)
{
	if (n < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    strspn(p + 9, "0123456789") < 3)
		return 0;
	return (p[9] - '0') * 100 + (p[10] - '0') * 10 + p[11] - '0';
}

/* What the child needs between vfork() and execve(). */
struct child_args {
	const char	*ca_file;
	char *const	*ca_argv;
	char *const	*ca_envp;
	const char	*ca_dir;
	int		 ca_fd[3];	/* its stdin, stdout, stderr */
	volatile int	 ca_errno;	/* set by a child that cannot exec */
};

/*
 * In the child, sharing the parent's memory until it execs: only
 * async-signal-safe calls.  A session of its own makes its pid the
 * process group that a timeout kills.
 */
static void
child(struct child_args *ca)
{
	struct sigaction sa;
	sigset_t none;
	int i, sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	/* cgid's handlers and SIGPIPE's SIG_IGN must not reach the program. */
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)setsid();
	for (i = 0; i < 3; i++)
		if (dup2(ca->ca_fd[i], i) == -1)
			goto fail;
	/* Other threads' clients and programs must not leak into this one. */
	(void)close_range(3, ~0U, 0);
	if (ca->ca_dir[0] != '\0' && chdir(ca->ca_dir) == -1)
		goto fail;
	(void)execve(ca->ca_file, ca->ca_argv, ca->ca_envp);
fail:
	ca->ca_errno = errno;
	_exit(127);
}

/* Returns the child's pid, or -1. */
static pid_t
start_child(struct child_args *ca)
{
	sigset_t all, old;
	pid_t pid;

	/* No handler may run in the child while it shares our memory. */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((pid = vfork()) == 0)
		child(ca);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid;
}

/* Starts the program; returns 0, or -1 with the reason logged. */
static int
spawn(struct exchange *x)
{
	const struct cgid_conf *cf = x->x_cf;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	char *envbuf, *vec[CGID_ENV_MAX], *argv1[2];
	struct child_args ca;
	pid_t pid;
	int rv = -1, st;

	if ((envbuf = malloc(CGID_ENV_BUFSZ)) == NULL)
		return -1;
	memset(&ca, 0, sizeof(ca));
	if ((ca.ca_envp = env_build(x, envbuf, CGID_ENV_BUFSZ, vec,
	    CGID_ENV_MAX)) == NULL) {
		log_warnx("conn=%lu: the meta-variables do not fit",
		    x->x_conn->c_id);
		goto out;
	}
	if ((x->x_body_fd == -1 && pipe2(in, O_CLOEXEC) == -1) ||
	    pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1) {
		log_warn("conn=%lu: pipe", x->x_conn->c_id);
		goto out;
	}
	ca.ca_file = x->x_sc.sc_file;
	ca.ca_dir = x->x_sc.sc_dir;
	ca.ca_fd[0] = x->x_body_fd != -1 ? x->x_body_fd : in[0];
	ca.ca_fd[1] = out[1];
	ca.ca_fd[2] = err[1];
	if (cf->cf_argv != NULL)
		ca.ca_argv = cf->cf_argv;
	else {
		argv1[0] = x->x_sc.sc_file;
		argv1[1] = NULL;
		ca.ca_argv = argv1;
	}
	if ((pid = start_child(&ca)) == -1) {
		log_warn("conn=%lu: cannot start %s", x->x_conn->c_id,
		    x->x_sc.sc_file);
		goto out;
	}
	if (ca.ca_errno != 0) {
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		errno = ca.ca_errno;
		log_warn("conn=%lu: cannot run %s", x->x_conn->c_id,
		    x->x_sc.sc_file);
		goto out;
	}
	x->x_pid = pid;
	x->x_pidfd = pidfd_open(pid, 0);
	conn_set_child(x->x_conn, pid);
	x->x_to_prog = in[1];
	in[1] = -1;
	if (x->x_body_left == 0)
		close_fd(&x->x_to_prog);	/* no body: EOF at once */
	x->x_from_prog = out[0];
	x->x_err_prog = err[0];
	out[0] = err[0] = -1;
	if (x->x_to_prog != -1)
		(void)fcntl(x->x_to_prog, F_SETFL, O_NONBLOCK);
	(void)fcntl(x->x_from_prog, F_SETFL, O_NONBLOCK);
	(void)fcntl(x->x_err_prog, F_SETFL, O_NONBLOCK);
	rv = 0;
out:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	free(envbuf);
	return rv;
}

/*
 * Returns the poll timeout in ms, or -1 with *end set when a deadline
 * has passed.  Until its header block the program has --cgi-timeout
 * from the moment it has its whole input; while the body flows, and
 * after the header, only --idle-timeout applies.
 */
static int
poll_timeout(struct exchange *x, int *end)
{
	uint64_t now = now_ms();
	int idle = x->x_cf->cf_opts.idle_timeout * 1000;

	if (x->x_header_done || x->x_to_prog != -1)
		return idle;
	if (x->x_header_deadline == 0)
		x->x_header_deadline = now + x->x_cf->cf_cgi_timeout * 1000ULL;
	if (now >= x->x_header_deadline) {
		*end = P_HEADER_TIMEOUT;
		return -1;
	}
	return (int)(x->x_header_deadline - now);
}

/*
 * Moves request body bytes from the client (what the head's read left
 * in the buffer first) into x_buf.  Returns 0, or -1 if the client
 * closed or failed before the end of the body.
 */
static int
from_client(struct exchange *x, int readable)
{
	const char *p;
	size_t n, want;
	ssize_t r;

	want = x->x_body_left < CGID_BUFSZ ? x->x_body_left : CGID_BUFSZ;
	if ((n = http_in_pending(&x->x_in, &p)) > 0) {
		n = n < want ? n : want;
		memcpy(x->x_buf, p, n);
		x->x_in.in_start += n;
		r = n;
	} else if (!readable)
		return 0;
	else if ((r = read(x->x_conn->c_rfd, x->x_buf, want)) <= 0) {
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			return 0;
		x->x_why = "the client closed during the request body";
		return -1;
	}
	x->x_boff = 0;
	x->x_blen = r;
	x->x_body_left -= r;
	x->x_body_done = x->x_body_left == 0;
	x->x_bytes_in += r;
	return 0;
}

/* Writes what it can of x_buf to the program's stdin. */
static void
to_program(struct exchange *x)
{
	ssize_t w;

	w = write(x->x_to_prog, x->x_buf + x->x_boff, x->x_blen);
	if (w == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (w == -1) {
		/* It stopped reading: the rest of the body is not wanted. */
		close_fd(&x->x_to_prog);
		x->x_blen = 0;
		if (x->x_body_left > 0)
			x->x_keep = 0;
		return;
	}
	x->x_boff += w;
	x->x_blen -= w;
}

/* Chooses the response status and framing from the header block. */
static void
decide(struct exchange *x)
{
	const struct cgi_head *ch = &x->x_ch;

	if (ch->ch_status != 0)
		x->x_status = ch->ch_status;
	else
		x->x_status = ch->ch_location != NULL ? 302 : 200;
	if (strcmp(x->x_method, "HEAD") == 0 || x->x_status == 204 ||
	    x->x_status == 304)
		x->x_framing = RESP_NONE;
	else if (ch->ch_has_length) {
		x->x_framing = RESP_LENGTH;
		x->x_resp_left = ch->ch_length;
	} else if (x->x_hd.hd_version >= 11)
		x->x_framing = RESP_CHUNKED;
	else {
		x->x_framing = RESP_CLOSE;
		x->x_keep = 0;
	}
}

/*
 * Handles x_hdr once more bytes came.  Returns 0 (need more, or the
 * head is out), or the pump_end for a redirect or a bad block.
 */
static int
header_block(struct exchange *x)
{
	int rv, n;

	rv = cgi_parse_head(x->x_hdr, x->x_hlen, &x->x_ch);
	if (rv == HTTP_INCOMPLETE)
		return 0;
	if (rv != 0) {
		x->x_why = x->x_hlen >= HTTP_HEAD_MAX ?
		    "the program's header block is too large" :
		    "the program wrote an invalid header block";
		return P_BAD_HEADER;
	}
	if (resp_is_local_redirect(&x->x_ch)) {
		if (strlen(x->x_ch.ch_location) >= sizeof(x->x_location)) {
			x->x_why = "the local redirect is too long";
			return P_BAD_HEADER;
		}
		(void)strcpy(x->x_location, x->x_ch.ch_location);
		return P_REDIRECT;
	}
	decide(x);
	if ((n = resp_format_head(x, x->x_obuf, sizeof(x->x_obuf))) == -1) {
		x->x_why = "the program's header block is too large";
		return P_BAD_HEADER;
	}
	x->x_olen = n;
	x->x_ofirst = now_ms();
	x->x_header_done = 1;
	x->x_head_sent = 1;
	/* What came after the blank line is the start of the body. */
	if (emit(x, x->x_hdr + x->x_ch.ch_size,
	    x->x_hlen - x->x_ch.ch_size) == -1)
		return P_CLIENT_GONE;
	return x->x_framing == RESP_LENGTH && x->x_resp_left == 0 ?
	    P_FULL : 0;
}

/*
 * Reads the program's stdout until it would block.  Returns 0 to go
 * on, or why the pump ends.
 */
static int
from_program(struct exchange *x)
{
	char *p;
	size_t room;
	ssize_t r;
	int rv;

	for (;;) {
		if (x->x_header_done) {
			/* x_hdr is free once the head is formatted. */
			p = x->x_hdr;
			room = sizeof(x->x_hdr);
		} else {
			p = x->x_hdr + x->x_hlen;
			room = sizeof(x->x_hdr) - x->x_hlen;
		}
		if ((r = read(x->x_from_prog, p, room)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			r = 0;
		}
		if (r == 0)
			return P_EOF;
		if (x->x_header_done) {
			if (x->x_sc.sc_nph && x->x_status == 0)
				x->x_status = nph_status(p, r);
			if (emit(x, p, r) == -1)
				return P_CLIENT_GONE;
			if (x->x_framing == RESP_LENGTH && x->x_resp_left == 0)
				return P_FULL;
			continue;
		}
		x->x_hlen += r;
		if ((rv = header_block(x)) != 0)
			return rv;
	}
}

/*
 * Appends body bytes, framed, to the output buffer, writing it out when
 * it fills.  Returns 0, or -1 if the client is gone.
 */
static int
emit(struct exchange *x, const char *p, size_t n)
{
	char hex[16];
	int hn = 0;

	switch (x->x_framing) {
	case RESP_NONE:
		return 0;
	case RESP_LENGTH:
		if (n > x->x_resp_left)
			n = x->x_resp_left;	/* the rest is dropped */
		x->x_resp_left -= n;
		break;
	case RESP_CHUNKED:
		if (n == 0)
			return 0;
		hn = snprintf(hex, sizeof(hex), "%zx\r\n", n);
		break;
	case RESP_CLOSE:
		break;
	}
	if (x->x_olen + hn + n + 2 > sizeof(x->x_obuf) && flush(x) == -1)
		return -1;
	if (x->x_olen == 0)
		x->x_ofirst = now_ms();
	memcpy(x->x_obuf + x->x_olen, hex, hn);
	x->x_olen += hn;
	memcpy(x->x_obuf + x->x_olen, p, n);
	x->x_olen += n;
	if (hn > 0) {
		memcpy(x->x_obuf + x->x_olen, "\r\n", 2);
		x->x_olen += 2;
	}
	if (x->x_olen >= CGID_BUFSZ)
		return flush(x);
	return 0;
}

/* Writes the output buffer to the client; 0, or -1 if it is gone. */
static int
flush(struct exchange *x)
{
	uint64_t deadline;

	if (x->x_olen == 0)
		return 0;
	if (x->x_client_gone)
		return -1;
	deadline = now_ms() + x->x_cf->cf_opts.idle_timeout * 1000ULL;
	if (http_write_all(x->x_conn->c_wfd, x->x_obuf, x->x_olen,
	    deadline) == -1) {
		x->x_client_gone = 1;
		x->x_why = "the client went away";
		x->x_reason = REASON_CLIENT_CLOSED;
		x->x_olen = 0;
		return -1;
	}
	x->x_bytes_out += x->x_olen;
	x->x_olen = 0;
	return 0;
}

/* Logs one line of the program's stderr with the connection's id. */
static void
err_line(struct exchange *x)
{
	const char *name = strrchr(x->x_sc.sc_file, '/');

	x->x_err[x->x_elen] = '\0';
	log_warnx("conn=%lu: %s: %s", x->x_conn->c_id,
	    name != NULL ? name + 1 : x->x_sc.sc_file, x->x_err);
	x->x_elen = 0;
}

/* Reads the program's stderr until it would block, a line at a time. */
static void
from_stderr(struct exchange *x)
{
	char buf[1024];
	ssize_t r, i;
	int c;

	for (;;) {
		if ((r = read(x->x_err_prog, buf, sizeof(buf))) == -1 &&
		    errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN)
			return;
		if (r <= 0) {
			if (x->x_elen > 0)
				err_line(x);
			close_fd(&x->x_err_prog);
			return;
		}
		for (i = 0; i < r; i++) {
			c = (unsigned char)buf[i];
			if (c == '\n') {
				err_line(x);
				continue;
			}
			if (c == '\r')
				continue;
			x->x_err[x->x_elen++] = c < 0x20 || c == 0x7f ? '?' : c;
			if (x->x_elen == sizeof(x->x_err) - 1)
				err_line(x);
		}
	}
}

/* Runs the poll loop; returns why it ended. */
static enum pump_end
pump(struct exchange *x)
{
	enum { S_CLIENT, S_STDIN, S_STDOUT, S_STDERR, S_N };
	struct pollfd pfd[S_N];
	uint64_t now;
	int end = -1, timeout, n, rv;

	for (;;) {
		if (x->x_to_prog != -1 && x->x_blen == 0) {
			if (x->x_body_left == 0)
				close_fd(&x->x_to_prog);
			else if (from_client(x, 0) == -1)
				return P_CLIENT_GONE;
		}
		/*
		 * A little output waits up to COALESCE_MS for more, or for
		 * the end: a short response then leaves in one segment, last
		 * chunk and all.
		 */
		now = now_ms();
		if (x->x_olen > 0 && now >= x->x_ofirst + COALESCE_MS &&
		    flush(x) == -1)
			return P_CLIENT_GONE;
		if ((timeout = poll_timeout(x, &end)) == -1)
			return end;
		if (x->x_olen > 0 && timeout > (int)(x->x_ofirst +
		    COALESCE_MS - now))
			timeout = x->x_ofirst + COALESCE_MS - now;
		pfd[S_CLIENT].fd = x->x_to_prog != -1 && x->x_blen == 0 ?
		    x->x_conn->c_rfd : -1;
		pfd[S_STDIN].fd = x->x_to_prog != -1 && x->x_blen > 0 ?
		    x->x_to_prog : -1;
		pfd[S_STDOUT].fd = x->x_from_prog;
		pfd[S_STDERR].fd = x->x_err_prog;
		pfd[S_CLIENT].events = pfd[S_STDOUT].events =
		    pfd[S_STDERR].events = POLLIN;
		pfd[S_STDIN].events = POLLOUT;
		if ((n = poll(pfd, S_N, timeout)) == -1) {
			if (errno == EINTR)
				continue;
			x->x_why = "poll failed";
			return P_CLIENT_GONE;
		}
		if (n == 0 && x->x_olen > 0) {
			if (flush(x) == -1)
				return P_CLIENT_GONE;
			continue;
		}
		if (n == 0) {
			if (x->x_header_done || x->x_to_prog != -1) {
				x->x_why = "nothing moved for --idle-timeout";
				return P_IDLE_TIMEOUT;
			}
			continue;	/* poll_timeout() says 504 */
		}
		if (pfd[S_STDERR].revents != 0)
			from_stderr(x);
		if (pfd[S_CLIENT].revents != 0 && from_client(x, 1) == -1)
			return P_CLIENT_GONE;
		if (pfd[S_STDIN].revents != 0)
			to_program(x);
		if (pfd[S_STDOUT].revents != 0 &&
		    (rv = from_program(x)) != 0)
			return rv;
	}
}

/*
 * Reaps the program if it has exited (options: WNOHANG, or 0 to wait),
 * putting its wait status in *st; returns 1 if it was reaped.  The end of
 * --grace stops killing its group first, so a pid reused by then is
 * never killed.
 */
static int
reap(struct exchange *x, int options, int *st)
{
	siginfo_t si;

	si.si_pid = 0;
	while (waitid(P_PID, x->x_pid, &si, WEXITED | WNOWAIT | options) ==
	    -1)
		if (errno != EINTR)
			return 0;
	if (si.si_pid == 0)
		return 0;
	conn_set_child(x->x_conn, -1);
	while (waitpid(x->x_pid, st, 0) == -1 && errno == EINTR)
		;
	return 1;
}

/*
 * Closes the pipes and reaps the program: at once with SIGKILL to its
 * group when kill_now, else after it exits, or --cgi-timeout later with
 * SIGKILL.  Logs the rest of its stderr.  Returns the wait status.
 */
static int
finish(struct exchange *x, int kill_now)
{
	struct pollfd pfd[2];
	uint64_t deadline, now, left;
	int st = 0, reaped = 0;

	close_fd(&x->x_to_prog);
	close_fd(&x->x_from_prog);
	if (kill_now) {
		(void)kill(-x->x_pid, SIGKILL);
		x->x_killed = 1;
	}
	deadline = now_ms() + x->x_cf->cf_cgi_timeout * 1000ULL;
	while (!x->x_killed) {
		if ((reaped = reap(x, WNOHANG, &st)))
			break;
		if ((now = now_ms()) >= deadline) {
			log_warnx("conn=%lu: %s still runs %d s after its "
			    "output ended: killed", x->x_conn->c_id,
			    x->x_sc.sc_file, x->x_cf->cf_cgi_timeout);
			(void)kill(-x->x_pid, SIGKILL);
			x->x_killed = 1;
			break;
		}
		/* Without a pidfd (an old kernel), look again every 50 ms. */
		pfd[0].fd = x->x_pidfd;
		pfd[1].fd = x->x_err_prog;
		pfd[0].events = pfd[1].events = POLLIN;
		left = deadline - now;
		if (x->x_pidfd == -1 && left > 50)
			left = 50;
		if (poll(pfd, 2, (int)left) > 0 && pfd[1].revents != 0)
			from_stderr(x);
	}
	if (!reaped)
		(void)reap(x, 0, &st);
	if (conn_cutting())
		x->x_killed = 1;	/* by the end of --grace */
	if (x->x_err_prog != -1)
		from_stderr(x);	/* what it wrote last; never blocks */
	close_fd(&x->x_err_prog);
	close_fd(&x->x_pidfd);
	if (WIFSIGNALED(st) && !x->x_killed && !pipe_closed(x, st))
		log_warnx("conn=%lu: %s killed by signal %d", x->x_conn->c_id,
		    x->x_sc.sc_file, WTERMSIG(st));
	else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		log_debug("conn=%lu: %s exited %d", x->x_conn->c_id,
		    x->x_sc.sc_file, WEXITSTATUS(st));
	return st;
}

/*
 * Answers with an error of cgid's own when no head has gone out yet;
 * otherwise the connection can only be cut, and a program that failed
 * after its head cut the body short.  Returns the run's result.
 */
static enum run_result
fail(struct exchange *x, int status, enum proxy_error pe, const char *why,
    enum log_reason reason)
{
	x->x_why = why;
	if (x->x_head_sent || x->x_client_gone) {
		x->x_keep = 0;
		x->x_reason = x->x_client_gone ? REASON_CLIENT_CLOSED :
		    reason == REASON_UPSTREAM_ERROR ? REASON_UPSTREAM_CLOSED :
		    reason;
		(void)flush(x);
		return RUN_ABORT;
	}
	if (!x->x_body_done)
		x->x_keep = 0;
	log_warnx("conn=%lu: %s: %s", x->x_conn->c_id, x->x_sc.sc_file, why);
	(void)send_error(x, status, pe, why, NULL, reason);
	return x->x_keep ? RUN_DONE : RUN_ABORT;
}

enum run_result
run_program(struct exchange *x)
{
	enum pump_end end;
	int st;

	x->x_pid = -1;
	x->x_pidfd = x->x_to_prog = x->x_from_prog = x->x_err_prog = -1;
	x->x_header_deadline = 0;
	x->x_header_done = x->x_head_sent = x->x_killed = 0;
	x->x_hlen = x->x_elen = x->x_olen = x->x_blen = 0;
	if (spawn(x) == -1)
		return fail(x, HTTP_BAD_GATEWAY, PE_PROXY_INTERNAL_ERROR,
		    "the program could not be started", REASON_UPSTREAM_ERROR);
	if (x->x_sc.sc_nph) {
		/* Its output is the whole response, as it wrote it. */
		x->x_header_done = x->x_head_sent = 1;
		x->x_framing = RESP_CLOSE;
		x->x_keep = 0;
		x->x_status = 0;
	}
	end = pump(x);
	switch (end) {
	case P_EOF:
	case P_FULL:
		if (!x->x_header_done) {
			st = finish(x, 0);
			return fail(x, HTTP_BAD_GATEWAY,
			    PE_HTTP_RESPONSE_INCOMPLETE, x->x_killed ?
			    "the program was killed before its header block" :
			    WIFSIGNALED(st) ?
			    "the program crashed before its header block" :
			    "the program ended before its header block",
			    REASON_UPSTREAM_ERROR);
		}
		st = finish(x, 0);
		if (x->x_framing == RESP_LENGTH && x->x_resp_left > 0)
			return fail(x, HTTP_BAD_GATEWAY,
			    PE_HTTP_RESPONSE_INCOMPLETE, "the program's output "
			    "is shorter than its Content-Length",
			    REASON_UPSTREAM_ERROR);
		if (WIFSIGNALED(st) && !x->x_killed && !pipe_closed(x, st))
			return fail(x, HTTP_BAD_GATEWAY,
			    PE_HTTP_RESPONSE_INCOMPLETE, "the program crashed",
			    REASON_UPSTREAM_ERROR);
		if (x->x_framing == RESP_CHUNKED) {
			memcpy(x->x_obuf + x->x_olen, "0\r\n\r\n", 5);
			x->x_olen += 5;
		}
		if (flush(x) == -1)
			x->x_keep = 0;
		return x->x_keep ? RUN_DONE : RUN_ABORT;
	case P_REDIRECT:
		(void)finish(x, 0);
		return RUN_REDIRECT;
	case P_BAD_HEADER:
		(void)finish(x, 1);
		return fail(x, HTTP_BAD_GATEWAY, PE_HTTP_PROTOCOL_ERROR,
		    x->x_why, REASON_UPSTREAM_ERROR);
	case P_HEADER_TIMEOUT:
		(void)finish(x, 1);
		return fail(x, HTTP_GATEWAY_TIMEOUT, PE_HTTP_RESPONSE_TIMEOUT,
		    "the program did not finish its header block within "
		    "--cgi-timeout", REASON_UPSTREAM_TIMEOUT);
	case P_IDLE_TIMEOUT:
		(void)finish(x, 1);
		return fail(x, HTTP_GATEWAY_TIMEOUT, PE_HTTP_RESPONSE_TIMEOUT,
		    x->x_why, REASON_IDLE_TIMEOUT);
	case P_CLIENT_GONE:
		x->x_client_gone = 1;
		x->x_reason = REASON_CLIENT_CLOSED;
		(void)finish(x, 0);
		x->x_keep = 0;
		return RUN_ABORT;
	}
	return RUN_ABORT;
}
