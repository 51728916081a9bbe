/*
 * load.c - the load client and servers for `make bench`.
 *
 *	load sink -p PORT		accept streams, verify them, answer
 *	load throughput -p PORT -n BYTES [-2]
 *					send BYTES through PORT (and receive
 *					BYTES back at once with -2); print MB/s
 *	load echo -p PORT		epoll echo server for short tunnels
 *	load connect -p PORT -t SECS -c CONC [-n COUNT] [-x PROXYPORT]
 *					short tunnels; print rate, p50, p99
 *					(-n: exactly COUNT tunnels, however
 *					long they take, for instruction
 *					counts under valgrind)
 *	load idle -p PORT -n N [-x PROXYPORT]
 *					open N tunnels, wait for SIGUSR1,
 *					check each one, print how many work
 *	load ceiling -p PORT -u UPSTREAM
 *					the least a CONNECT proxy can do
 *
 * The ceiling is not a proxy anyone should run: one epoll thread that
 * takes any head ending in a blank line as a CONNECT to UPSTREAM, checks
 * nothing, answers 200 before its connect(2) has finished and copies
 * with read/write (taking connections with TCP_DEFER_ACCEPT, as connectd
 * does).  It shows how fast the kernel lets a proxy set up
 * short tunnels on this machine, which bounds what connectd can reach.
 *
 * Standalone on purpose: it measures libgtr's programs, so it does not
 * link libgtr.  Everything is on 127.0.0.1.  Streams carry a fixed
 * pattern the receiver compares with memcmp(3), so a peer that drops,
 * duplicates or reorders bytes is reported as LOST, not as a rate.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PATLEN		(256 * 1024)	/* pattern period and I/O size */
#define MAGIC		0x47545242u	/* "GTRB" */
#define IOTIMEO		30		/* seconds a stream may stall */
#define PAYLOAD		"gtr-bench-ping\n"
#define PAYLEN		(sizeof(PAYLOAD) - 1)
#define HEADMAX		512
#define LISTENER	UINT64_MAX	/* epoll data of an event loop's listener */

/* The stream header the throughput client sends first. */
struct hdr {
	uint32_t	h_magic;
	uint32_t	h_both;		/* the sink streams back too */
	uint64_t	h_bytes;	/* each way */
};

struct stream {
	int		s_fd;
	uint64_t	s_bytes;
	int		s_bad;		/* lost or corrupt */
};

enum tstate { T_FREE, T_CONNECTING, T_HEAD, T_ECHO, T_IDLE, T_CHECK };

/* One short tunnel through the proxy (or straight to the upstream). */
struct tun {
	int		t_fd;
	enum tstate	t_state;
	uint64_t	t_start;
	size_t		t_got;
	char		t_buf[HEADMAX];
};

/* One side of a ceiling tunnel; a client side with no peer is in its head. */
struct half {
	int		 h_fd;
	int		 h_eof;
	struct half	*h_peer;
};

static struct sockaddr_in ceil_up;	/* the ceiling's upstream */

/* Settings and results of a `connect` or `idle` run. */
struct run {
	int		r_ep;
	int		r_port;		/* where we connect */
	int		r_target;	/* CONNECT target port, 0: direct */
	int		r_hold;		/* idle: park tunnels, do not close */
	struct tun     *r_tun;
	size_t		r_ntun;
	size_t		r_started;
	size_t		r_active;
	size_t		r_conc;		/* tunnels active at once */
	size_t		r_limit;	/* tunnels to open; 0: until deadline */
	uint64_t	r_deadline;
	uint64_t	r_done;
	uint64_t	r_errors;
	uint64_t       *r_lat;		/* ns per finished tunnel */
	size_t		r_nlat;
	size_t		r_caplat;
	char		r_req[128];
	size_t		r_reqlen;
};

static unsigned char pattern[PATLEN];

static void	usage(void) __attribute__((noreturn));
static void	die(const char *) __attribute__((noreturn));
static long long parsenum(const char *, long long, long long);
static uint64_t	now_ns(void);
static void	pattern_init(void);
static int	listen_on(int);
static int	connect_to(int);
static void	set_timeouts(int);
static int	read_full(int, void *, size_t);
static int	write_full(int, const void *, size_t);
static int	stream_send(int, uint64_t);
static int	stream_recv(int, uint64_t);
static void	*sender_main(void *);
static void	*sink_conn(void *);
static int	do_sink(int);
static int	do_throughput(int, uint64_t, int);
static int	event_loop(int, int, void (*)(int, int),
		    void (*)(int, epoll_data_t));
static void	echo_accept(int, int);
static void	echo_event(int, epoll_data_t);
static void	tun_start(struct run *, struct tun *);
static void	tun_connected(struct run *, struct tun *);
static void	tun_readable(struct run *, struct tun *);
static void	tun_finish(struct run *, struct tun *, int);
static void	tun_watch(struct run *, struct tun *, uint32_t, int);
static void	run_refill(struct run *);
static void	run_loop(struct run *, uint64_t);
static int	run_check(struct run *);
static int	cmp_u64(const void *, const void *);
static int	do_connect(struct run *, int, int);
static int	do_idle(struct run *, size_t);
static int	do_ceiling(int, int);
static void	ceil_event(int, epoll_data_t);
static void	ceil_accept(int, int);
static void	ceil_head(int, struct half *);
static void	ceil_close(struct half *);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: load sink -p port\n"
	    "       load throughput -p port -n bytes [-2]\n"
	    "       load echo -p port\n"
	    "       load connect -p port -t seconds -c concurrency "
	    "[-n count] [-x proxyport]\n"
	    "       load idle -p port -n tunnels [-x proxyport]\n"
	    "       load ceiling -p port -u upstreamport\n");
	exit(64);
}

static void
die(const char *what)
{
	fprintf(stderr, "load: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Returns the number in s, or exits with usage if it is not in range. */
static long long
parsenum(const char *s, long long min, long long max)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "load: %s: not a number in %lld..%lld\n",
		    s, min, max);
		usage();
	}
	return v;
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Bytes that differ at every offset within a period, so a shifted
 * stream never matches by accident. */
static void
pattern_init(void)
{
	uint32_t	x = 2463534242u;
	size_t		i;

	for (i = 0; i < PATLEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pattern[i] = (unsigned char)x;
	}
}

/* Returns a socket listening on 127.0.0.1:port, or exits. */
static int
listen_on(int port)
{
	struct sockaddr_in	sin;
	int			fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("bind");
	if (listen(fd, 4096) == -1)
		die("listen");
	return fd;
}

/* Returns a blocking socket connected to 127.0.0.1:port, or -1. */
static int
connect_to(int port)
{
	struct sockaddr_in	sin;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A peer that stalls makes reads and writes fail instead of hang. */
static void
set_timeouts(int fd)
{
	struct timeval	tv = { IOTIMEO, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Returns 0 once len bytes are read, -1 on EOF or error. */
static int
read_full(int fd, void *buf, size_t len)
{
	char	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		if ((n = read(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* Returns 0 once len bytes are written, -1 on error. */
static int
write_full(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* Returns 0 once bytes of the pattern are written to fd, -1 on error. */
static int
stream_send(int fd, uint64_t bytes)
{
	uint64_t	off = 0;
	size_t		at, len;
	ssize_t		n;

	while (off < bytes) {
		at = off % PATLEN;
		len = PATLEN - at;
		if (len > bytes - off)
			len = bytes - off;
		if ((n = write(fd, pattern + at, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += n;
	}
	return 0;
}

/* Returns 0 if exactly the pattern arrived, 1 if it differed, -1 if the
 * stream ended or stalled before bytes arrived. */
static int
stream_recv(int fd, uint64_t bytes)
{
	static __thread unsigned char	buf[PATLEN];
	uint64_t			off = 0;
	size_t				at, len;
	ssize_t				n;
	int				bad = 0;

	while (off < bytes) {
		at = off % PATLEN;
		len = PATLEN - at;
		if (len > bytes - off)
			len = bytes - off;
		if ((n = read(fd, buf + at, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (!bad && memcmp(buf + at, pattern + at, n) != 0)
			bad = 1;
		off += n;
	}
	return bad;
}

/* Thread body: streams s_bytes, then half-closes; sets s_bad on error. */
static void *
sender_main(void *arg)
{
	struct stream	*s = arg;

	if (stream_send(s->s_fd, s->s_bytes) == -1)
		s->s_bad = 1;
	return NULL;
}

/* Thread body for one sink connection: verify the stream, send it back
 * too if asked, then answer 'K' (all arrived intact) or 'X'. */
static void *
sink_conn(void *arg)
{
	struct stream	 out;
	struct hdr	 h;
	pthread_t	 tid;
	char		 ack, c;
	int		 fd = (int)(intptr_t)arg, r;

	set_timeouts(fd);
	if (read_full(fd, &h, sizeof(h)) == -1 || h.h_magic != MAGIC)
		goto done;
	out.s_fd = fd;
	out.s_bytes = h.h_bytes;
	out.s_bad = 0;
	if (h.h_both && pthread_create(&tid, NULL, sender_main, &out) != 0)
		goto done;
	r = stream_recv(fd, h.h_bytes);
	if (h.h_both)
		pthread_join(tid, NULL);
	if (r == -1)
		goto done;	/* lost: close without an answer */
	ack = (r == 0 && !out.s_bad) ? 'K' : 'X';
	if (write_full(fd, &ack, 1) == 0) {
		shutdown(fd, SHUT_WR);
		while (read(fd, &c, 1) > 0)
			;
	}
 done:
	close(fd);
	return NULL;
}

/* Serves streams forever; returns only on a fatal error. */
static int
do_sink(int port)
{
	pthread_attr_t	attr;
	pthread_t	tid;
	int		lfd, fd;

	lfd = listen_on(port);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		if (pthread_create(&tid, &attr, sink_conn,
		    (void *)(intptr_t)fd) != 0)
			close(fd);
	}
}

/* Prints MB/s (10^6 bytes, all directions summed) or LOST / CORRUPT;
 * returns 0 only if every byte arrived intact both ways. */
static int
do_throughput(int port, uint64_t bytes, int both)
{
	struct stream	 out;
	struct hdr	 h;
	pthread_t	 tid;
	uint64_t	 t0, dt;
	char		 ack = 0;
	int		 fd, r = 0;

	if ((fd = connect_to(port)) == -1)
		die("connect");
	set_timeouts(fd);
	memset(&h, 0, sizeof(h));
	h.h_magic = MAGIC;
	h.h_both = both;
	h.h_bytes = bytes;
	out.s_fd = fd;
	out.s_bytes = bytes;
	out.s_bad = 0;
	t0 = now_ns();
	if (write_full(fd, &h, sizeof(h)) == -1 ||
	    pthread_create(&tid, NULL, sender_main, &out) != 0)
		die("start");
	if (both)
		r = stream_recv(fd, bytes);
	if (r != -1 && read_full(fd, &ack, 1) == -1)
		r = -1;
	pthread_join(tid, NULL);
	dt = now_ns() - t0;
	close(fd);
	if (r == -1 || out.s_bad) {
		printf("LOST\n");
		return 1;
	}
	if (r == 1 || ack != 'K') {
		printf("CORRUPT\n");
		return 1;
	}
	printf("%.0f\n", (double)bytes * (both ? 2 : 1) * 1e3 / (double)dt);
	return 0;
}

/*
 * Accepts on port forever: each new connection goes to on_accept, each
 * event of what that watches to on_event.  With defer, a connection
 * comes only with its first bytes (TCP_DEFER_ACCEPT).
 */
static int
event_loop(int port, int defer, void (*on_accept)(int, int),
    void (*on_event)(int, epoll_data_t))
{
	struct epoll_event	ev[256];
	int			ep, lfd, fd, n, i;

	lfd = listen_on(port);
	if (fcntl(lfd, F_SETFL, O_NONBLOCK) == -1)
		die("fcntl");
	if (defer && setsockopt(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer,
	    sizeof(defer)) == -1)
		die("TCP_DEFER_ACCEPT");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	ev[0].events = EPOLLIN;
	ev[0].data.u64 = LISTENER;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev[0]) == -1)
		die("epoll_ctl");
	for (;;) {
		if ((n = epoll_wait(ep, ev, 256, -1)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.u64 != LISTENER) {
				on_event(ep, ev[i].data);
				continue;
			}
			while ((fd = accept4(lfd, NULL, NULL,
			    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1)
				on_accept(ep, fd);
		}
	}
}

/* Watches a new echo connection. */
static void
echo_accept(int ep, int fd)
{
	struct epoll_event ev;

	ev.events = EPOLLIN;
	ev.data.u64 = 0;
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		close(fd);
}

/* Echoes what one connection sent. */
static void
echo_event(int ep, epoll_data_t data)
{
	char	buf[4096];
	ssize_t	n;

	(void)ep;
	n = read(data.fd, buf, sizeof(buf));
	if (n == -1 && errno == EAGAIN)
		return;
	/* Payloads are tiny: a write that does not fit is a failure. */
	if (n <= 0 || write(data.fd, buf, n) != n)
		close(data.fd);
}

/* Runs the ceiling proxy on port for upstream port up, forever. */
static int
do_ceiling(int port, int up)
{
	ceil_up.sin_family = AF_INET;
	ceil_up.sin_port = htons(up);
	ceil_up.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return event_loop(port, 1, ceil_accept, ceil_event);
}

/* Handles one readiness event of a ceiling tunnel. */
static void
ceil_event(int ep, epoll_data_t data)
{
	struct half	*h = data.ptr;
	char		 buf[16384];
	ssize_t		 n;

	if (h->h_peer == NULL) {
		ceil_head(ep, h);
		return;
	}
	if ((n = read(h->h_fd, buf, sizeof(buf))) == -1 && errno == EAGAIN)
		return;
	if (n > 0) {
		/* Payloads are tiny: a short write shows as a failed echo. */
		(void)!write(h->h_peer->h_fd, buf, n);
		return;
	}
	h->h_eof = 1;
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, h->h_fd, NULL);
	shutdown(h->h_peer->h_fd, SHUT_WR);
	if (h->h_peer->h_eof)
		ceil_close(h);
}

/* Watches a new ceiling client for its head. */
static void
ceil_accept(int ep, int fd)
{
	struct epoll_event	ev;
	struct half		*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		die("calloc");
	h->h_fd = fd;
	ev.events = EPOLLIN;
	ev.data.ptr = h;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		die("epoll_ctl");
}

/* Reads the client's head in one piece, connects, answers 200. */
static void
ceil_head(int ep, struct half *h)
{
	static const char	ok[] = "HTTP/1.1 200 Connection established"
				    "\r\n\r\n";
	struct epoll_event	ev;
	struct half		*u;
	char			buf[HEADMAX];
	ssize_t			n;
	int			one = 1;

	if ((n = read(h->h_fd, buf, sizeof(buf))) == -1 && errno == EAGAIN)
		return;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		die("calloc");
	u->h_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	h->h_peer = u;
	u->h_peer = h;
	if (n <= 0 || memmem(buf, n, "\r\n\r\n", 4) == NULL ||
	    u->h_fd == -1) {
		ceil_close(h);
		return;
	}
	(void)setsockopt(u->h_fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one));
	(void)connect(u->h_fd, (struct sockaddr *)&ceil_up, sizeof(ceil_up));
	ev.events = EPOLLIN;
	ev.data.ptr = u;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, u->h_fd, &ev) == -1 ||
	    write(h->h_fd, ok, sizeof(ok) - 1) != sizeof(ok) - 1)
		ceil_close(h);
}

/* Closes both sides of a ceiling tunnel (close also leaves epoll). */
static void
ceil_close(struct half *h)
{
	struct half	*u = h->h_peer;

	if (u != NULL) {
		if (u->h_fd != -1)
			close(u->h_fd);
		free(u);
	}
	close(h->h_fd);
	free(h);
}

/* Sets the events a tunnel waits for; add is set on its first call. */
static void
tun_watch(struct run *r, struct tun *t, uint32_t events, int add)
{
	struct epoll_event	ev;

	ev.events = events;
	ev.data.ptr = t;
	if (epoll_ctl(r->r_ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD,
	    t->t_fd, &ev) == -1)
		die("epoll_ctl");
}

/* Opens a tunnel in slot t: a non-blocking connect to the proxy. */
static void
tun_start(struct run *r, struct tun *t)
{
	struct sockaddr_in	sin;

	t->t_start = now_ns();
	t->t_got = 0;
	r->r_started++;
	r->r_active++;
	t->t_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (t->t_fd == -1) {
		tun_finish(r, t, -1);
		return;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(r->r_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(t->t_fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
		tun_watch(r, t, EPOLLIN, 1);
		tun_connected(r, t);
	} else if (errno == EINPROGRESS) {
		t->t_state = T_CONNECTING;
		tun_watch(r, t, EPOLLOUT, 1);
	} else {
		close(t->t_fd);
		t->t_fd = -1;
		tun_finish(r, t, -1);
	}
}

/* The TCP connection is up: send the CONNECT head, or the payload when
 * going direct. */
static void
tun_connected(struct run *r, struct tun *t)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(t->t_fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		tun_finish(r, t, -1);
		return;
	}
	if (r->r_target) {
		t->t_state = T_HEAD;
		if (write(t->t_fd, r->r_req, r->r_reqlen) !=
		    (ssize_t)r->r_reqlen) {
			tun_finish(r, t, -1);
			return;
		}
	} else {
		t->t_state = T_ECHO;
		if (write(t->t_fd, PAYLOAD, PAYLEN) != PAYLEN) {
			tun_finish(r, t, -1);
			return;
		}
	}
	tun_watch(r, t, EPOLLIN, 0);
}

/* Advances a tunnel on readable data: the proxy's answer, then the echo,
 * then (idle check) the one byte sent back. */
static void
tun_readable(struct run *r, struct tun *t)
{
	char	*end;
	ssize_t	 n;
	size_t	 rest;

	n = read(t->t_fd, t->t_buf + t->t_got, sizeof(t->t_buf) - 1 -
	    t->t_got);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		tun_finish(r, t, -1);
		return;
	}
	t->t_got += n;
	t->t_buf[t->t_got] = '\0';
	switch (t->t_state) {
	case T_HEAD:
		if ((end = strstr(t->t_buf, "\r\n\r\n")) == NULL) {
			if (t->t_got == sizeof(t->t_buf) - 1)
				tun_finish(r, t, -1);
			return;
		}
		if (strncmp(t->t_buf, "HTTP/1.", 7) != 0 ||
		    strncmp(t->t_buf + 8, " 200", 4) != 0) {
			tun_finish(r, t, -1);
			return;
		}
		rest = t->t_got - (end + 4 - t->t_buf);
		memmove(t->t_buf, end + 4, rest);
		t->t_got = rest;
		t->t_state = T_ECHO;
		if (write(t->t_fd, PAYLOAD, PAYLEN) != PAYLEN)
			tun_finish(r, t, -1);
		return;
	case T_ECHO:
		if (t->t_got < PAYLEN)
			return;
		tun_finish(r, t, t->t_got == PAYLEN &&
		    memcmp(t->t_buf, PAYLOAD, PAYLEN) == 0 ? 0 : -1);
		return;
	case T_CHECK:
		tun_finish(r, t, t->t_got == 1 && t->t_buf[0] == '!' ? 0 : -1);
		return;
	default:
		tun_finish(r, t, -1);
		return;
	}
}

/* Ends a tunnel's round: records its latency on success; parks it when
 * holding tunnels open, else closes it. */
static void
tun_finish(struct run *r, struct tun *t, int err)
{
	struct epoll_event	ev;

	r->r_active--;
	if (err) {
		r->r_errors++;
	} else {
		r->r_done++;
		if (r->r_nlat == r->r_caplat) {
			r->r_caplat = r->r_caplat ? r->r_caplat * 2 : 65536;
			r->r_lat = realloc(r->r_lat,
			    r->r_caplat * sizeof(*r->r_lat));
			if (r->r_lat == NULL)
				die("realloc");
		}
		r->r_lat[r->r_nlat++] = now_ns() - t->t_start;
	}
	if (!err && r->r_hold) {
		t->t_state = T_IDLE;
		memset(&ev, 0, sizeof(ev));
		ev.data.ptr = t;
		epoll_ctl(r->r_ep, EPOLL_CTL_MOD, t->t_fd, &ev);
		return;
	}
	if (t->t_fd != -1)
		close(t->t_fd);
	t->t_fd = -1;
	t->t_state = T_FREE;
}

/* Starts tunnels in free slots while the run wants more.  Held tunnels
 * take their slots in order, so those scan from the first unused. */
static void
run_refill(struct run *r)
{
	size_t	i;

	for (i = r->r_hold ? r->r_started : 0; i < r->r_ntun; i++) {
		if (r->r_active >= r->r_conc)
			return;
		if (r->r_tun[i].t_state != T_FREE)
			continue;
		if (r->r_limit && r->r_started >= r->r_limit)
			return;
		if (!r->r_limit && now_ns() >= r->r_deadline)
			return;
		tun_start(r, &r->r_tun[i]);
	}
}

/* Drives the tunnels until none is active and none is to start, or
 * until the hard deadline. */
static void
run_loop(struct run *r, uint64_t hard)
{
	struct epoll_event	 ev[256];
	struct tun		*t;
	int			 n, i;

	run_refill(r);
	while (r->r_active > 0 && now_ns() < hard) {
		if ((n = epoll_wait(r->r_ep, ev, 256, 100)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			t = ev[i].data.ptr;
			/* A parked tunnel still gets hang-ups: the check
			 * round finds those broken. */
			if (t->t_state == T_IDLE || t->t_state == T_FREE)
				continue;
			if (t->t_state == T_CONNECTING)
				tun_connected(r, t);
			else
				tun_readable(r, t);
		}
		if (n > 0)
			run_refill(r);
	}
}

/* Sends one byte through every parked tunnel; returns how many came
 * back. */
static int
run_check(struct run *r)
{
	struct tun	*t;
	size_t		 i;

	r->r_done = 0;
	r->r_errors = 0;
	r->r_nlat = 0;
	r->r_limit = r->r_started;	/* start nothing new */
	for (i = 0; i < r->r_ntun; i++) {
		t = &r->r_tun[i];
		if (t->t_state != T_IDLE)
			continue;
		t->t_state = T_CHECK;
		t->t_got = 0;
		r->r_active++;
		if (write(t->t_fd, "!", 1) != 1) {
			tun_finish(r, t, -1);
			continue;
		}
		tun_watch(r, t, EPOLLIN, 0);
	}
	run_loop(r, now_ns() + 60 * 1000000000ull);
	return (int)r->r_done;
}

static int
cmp_u64(const void *a, const void *b)
{
	const uint64_t	*x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Prints "rate p50_ms p99_ms errors" for short tunnels at concurrency
 * conc during secs seconds (or for r_limit tunnels, when it is set). */
static int
do_connect(struct run *r, int conc, int secs)
{
	uint64_t	t0, dt;
	double		p50 = 0, p99 = 0;

	r->r_ntun = conc;
	r->r_conc = conc;
	if ((r->r_tun = calloc(conc, sizeof(*r->r_tun))) == NULL)
		die("calloc");
	t0 = now_ns();
	r->r_deadline = t0 + (uint64_t)secs * 1000000000u;
	run_loop(r, r->r_limit ? t0 + 600 * 1000000000ull :
	    r->r_deadline + 30 * 1000000000ull);
	dt = now_ns() - t0;
	if (r->r_nlat > 0) {
		qsort(r->r_lat, r->r_nlat, sizeof(*r->r_lat), cmp_u64);
		p50 = r->r_lat[r->r_nlat / 2] / 1e6;
		p99 = r->r_lat[r->r_nlat * 99 / 100] / 1e6;
	}
	printf("%.0f %.2f %.2f %llu\n", r->r_done * 1e9 / dt, p50, p99,
	    (unsigned long long)r->r_errors);
	fflush(stdout);
	free(r->r_lat);
	free(r->r_tun);
	return r->r_errors ? 1 : 0;
}

/* Opens n tunnels (64 at a time), prints "opened K", waits for SIGUSR1,
 * then prints "worked M" after one byte round trip through each. */
static int
do_idle(struct run *r, size_t n)
{
	sigset_t	set;
	int		sig, opened, worked;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	r->r_hold = 1;
	r->r_limit = n;
	r->r_ntun = n;
	r->r_conc = 64;
	if ((r->r_tun = calloc(n, sizeof(*r->r_tun))) == NULL)
		die("calloc");
	run_loop(r, now_ns() + 120 * 1000000000ull);
	opened = (int)r->r_done;
	printf("opened %d\n", opened);
	fflush(stdout);
	sigwait(&set, &sig);
	worked = run_check(r);
	printf("worked %d\n", worked);
	fflush(stdout);
	free(r->r_lat);
	free(r->r_tun);
	return worked == (int)n ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	struct run	 run;
	const char	*mode;
	long long	 bytes = 0;
	int		 ch, port = 0, both = 0, conc = 1, secs = 3, up = 0;

	if (argc < 2)
		usage();
	mode = argv[1];
	argc--;
	argv++;
	memset(&run, 0, sizeof(run));
	while ((ch = getopt(argc, argv, "2c:n:p:t:u:x:")) != -1) {
		switch (ch) {
		case '2':
			both = 1;
			break;
		case 'c':
			conc = parsenum(optarg, 1, 10000);
			break;
		case 'n':
			bytes = parsenum(optarg, 1, LLONG_MAX);
			break;
		case 'p':
			port = parsenum(optarg, 1, 65535);
			break;
		case 't':
			secs = parsenum(optarg, 1, 3600);
			break;
		case 'u':
			up = parsenum(optarg, 1, 65535);
			break;
		case 'x':
			run.r_target = parsenum(optarg, 1, 65535);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || port == 0)
		usage();
	signal(SIGPIPE, SIG_IGN);
	pattern_init();
	if (strcmp(mode, "sink") == 0)
		return do_sink(port);
	if (strcmp(mode, "echo") == 0)
		return event_loop(port, 0, echo_accept, echo_event);
	if (strcmp(mode, "ceiling") == 0 && up > 0)
		return do_ceiling(port, up);
	if (strcmp(mode, "throughput") == 0 && bytes > 0)
		return do_throughput(port, bytes, both);
	if ((run.r_ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	/* With -x, port is the upstream and we connect to the proxy. */
	if (run.r_target) {
		run.r_port = run.r_target;
		run.r_target = port;
		run.r_reqlen = snprintf(run.r_req, sizeof(run.r_req),
		    "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		    "\r\n", port, port);
	} else
		run.r_port = port;
	if (strcmp(mode, "connect") == 0) {
		run.r_limit = bytes;
		return do_connect(&run, conc, secs);
	}
	if (strcmp(mode, "idle") == 0 && bytes > 0 && bytes <= 100000)
		return do_idle(&run, (size_t)bytes);
	usage();
}
