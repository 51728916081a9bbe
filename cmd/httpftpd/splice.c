/*
 * splice.c - bytes from one socket to another through a pipe with
 * splice(2): the kernel hands the pages on, and they are never copied
 * into this process and out again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "httpftpd.h"

/* what the pipe holds when the user's pipe quota allows */
#define SPLICE_PIPE	(1024 * 1024)

static int	wait_fd(int, short, int);

/* Waits for events on fd; returns 1, 0 after timeout_ms, or -1. */
static int
wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd;
	int r;

	pfd.fd = fd;
	pfd.events = events;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r == -1 && errno == EINTR);
	return r;
}

/*
 * Moves up to n bytes from the socket from to the socket to, waiting at
 * most timeout_ms for either at a time.  Returns the bytes written to
 * "to"; fewer than n when from ends, fails or stalls (its owner finds out
 * why), or when writing to "to" fails or stalls, which sets *to_failed.
 */
uint64_t
splice_move(int from, int to, uint64_t n, int timeout_ms, int *to_failed)
{
	uint64_t done = 0;
	size_t inpipe = 0, cap;
	ssize_t r;
	int p[2], fl, eof = 0, moved;

	*to_failed = 0;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return 0;
	/* past the user's pipe quota this fails: the default size works */
	if ((r = fcntl(p[1], F_SETPIPE_SZ, SPLICE_PIPE)) == -1)
		r = fcntl(p[1], F_GETPIPE_SZ);
	cap = r > 0 ? (size_t)r : 65536;
	/* "to" may be a blocking socket; the splice to it must not block */
	if ((fl = fcntl(to, F_GETFL)) == -1 ||
	    fcntl(to, F_SETFL, fl | O_NONBLOCK) == -1) {
		close(p[0]);
		close(p[1]);
		return 0;
	}
	while (inpipe > 0 || (!eof && n > 0)) {
		moved = 0;
		if (!eof && n > 0 && inpipe < cap) {
			r = splice(from, NULL, p[1], NULL,
			    n < cap - inpipe ? n : cap - inpipe,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (r > 0) {
				inpipe += r;
				n -= r;
				moved = 1;
			} else if (r == 0 || errno != EAGAIN)
				eof = 1;
		}
		if (inpipe > 0) {
			r = splice(p[0], NULL, to, NULL, inpipe,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (r > 0) {
				inpipe -= r;
				done += r;
				moved = 1;
			} else if (r == -1 && errno != EAGAIN) {
				*to_failed = 1;
				break;
			}
		}
		if (moved)
			continue;
		/* stuck on "to" with bytes in hand, else on "from" */
		if (inpipe > 0) {
			if (wait_fd(to, POLLOUT, timeout_ms) <= 0) {
				*to_failed = 1;
				break;
			}
		} else if (wait_fd(from, POLLIN, timeout_ms) <= 0)
			eof = 1;
	}
	(void)fcntl(to, F_SETFL, fl);
	close(p[0]);
	close(p[1]);
	return done;
}
