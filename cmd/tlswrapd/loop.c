/*
 * loop.c - the one event loop that runs every client connection and
 * every upstream transfer.
 *
 * A thread per client connection blocked in curl_easy_perform() cost two
 * context switches and some ten system calls per request, and each
 * thread's handles kept their own upstream connections.  Here serve.c's
 * thread only hands the connection over to a loop; each loop is a thread
 * that waits in epoll for its clients' sockets and libcurl's
 * (curl_multi_socket_action()), so a busy loop answers many requests per
 * wake-up, and its multi handle holds the upstream connections for all
 * its clients: HTTP/2 streams of many clients share a connection, and a
 * connection outlives its client.  There is one loop per CPU (a loop is
 * one thread, and libcurl's work per request is what limits it); a new
 * connection goes to the loop with the fewest, the first on a tie, so
 * that a quiet gateway keeps its clients, and their upstream
 * connections, in one loop.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlswrapd.h"
#include "log.h"
#include "thread.h"

#define EVENTS_MAX	256
#define LOOPS_MAX	8
#define SWEEP_MS	1000	/* how often client deadlines are checked */
#define TAG_WAKE	0	/* epoll data: the inbox eventfd */
#define TAG_CURL	1	/* odd: (fd << 1) | 1, a libcurl socket */

struct conn_item {
	struct session	*ci_s;
	struct conn_item *ci_next;
};

struct loop {
	int		 l_ep;
	int		 l_wake;	/* eventfd: the inbox has sessions */
	CURLM		*l_multi;
	int64_t		 l_due;		/* libcurl's timer on now_ms(), or -1 */
	struct session	*l_live;	/* every session */
	struct session	*l_dead;	/* ended this round */
	unsigned	 l_nsess;	/* sessions given to it and not ended */
	pthread_mutex_t	 l_mu;
	struct conn_item *l_inbox;
	struct session	*l_batch;	/* output held for the round's end */
};

static pthread_once_t	 once = PTHREAD_ONCE_INIT;
static struct loop	 loops[LOOPS_MAX];
static int		 nloops;

static void	 start(void);
static int	 loop_init(struct loop *);
static void	*run(void *);
static void	 take_inbox(struct loop *);
static void	 dispatch(struct loop *, struct epoll_event *);
static void	 curl_done(struct loop *);
static int	 curl_timeout(struct loop *);
static int	 on_socket(CURL *, curl_socket_t, int, void *, void *);
static int	 on_timer(CURLM *, long, void *);

CURLM *
loop_multi(struct session *s)
{
	return s->s_loop->l_multi;
}

/* Sets up epoll and the multi handle of one loop; 0 or -1. */
static int
loop_init(struct loop *l)
{
	struct epoll_event ev;

	pthread_mutex_init(&l->l_mu, NULL);
	l->l_due = -1;
	if ((l->l_ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if ((l->l_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = TAG_WAKE;
	if (epoll_ctl(l->l_ep, EPOLL_CTL_ADD, l->l_wake, &ev) == -1 ||
	    (l->l_multi = curl_multi_init()) == NULL)
		return -1;
	curl_multi_setopt(l->l_multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(l->l_multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->l_multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(l->l_multi, CURLMOPT_TIMERDATA, l);
	curl_multi_setopt(l->l_multi, CURLMOPT_MAXCONNECTS, 128L);
	curl_multi_setopt(l->l_multi, CURLMOPT_PIPELINING,
	    (long)CURLPIPE_MULTIPLEX);
	return 0;
}

/* Starts the loops' threads, once. */
static void
start(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int i, n, rc;

	n = ncpu < 1 ? 1 : ncpu > LOOPS_MAX ? LOOPS_MAX : (int)ncpu;
	for (i = 0; i < n; i++) {
		if (loop_init(&loops[i]) == -1) {
			log_warn("tlswrapd: unable to start an event loop");
			break;
		}
		if ((rc = thread_start(run, &loops[i], 0)) != 0) {
			log_warnx("tlswrapd: unable to start a thread: %s",
			    strerror(rc));
			break;
		}
		nloops = i + 1;
	}
}

/*
 * Hands c to the loop (called in serve.c's thread); returns 0, or -1 when
 * the loop cannot take it and c stays the caller's.
 */
int
loop_add(struct conn *c)
{
	struct conn_item *ci;
	struct session *s;
	struct loop *l;
	int i;

	pthread_once(&once, start);
	if (nloops == 0)
		return -1;
	if ((ci = malloc(sizeof(*ci))) == NULL)
		return -1;
	if ((s = session_new(c)) == NULL) {
		free(ci);
		return -1;
	}
	l = &loops[0];
	for (i = 1; i < nloops; i++)
		if (__atomic_load_n(&loops[i].l_nsess, __ATOMIC_RELAXED) <
		    __atomic_load_n(&l->l_nsess, __ATOMIC_RELAXED))
			l = &loops[i];
	__atomic_add_fetch(&l->l_nsess, 1, __ATOMIC_RELAXED);
	s->s_loop = l;
	c->c_handed_off = 1;
	ci->ci_s = s;
	pthread_mutex_lock(&l->l_mu);
	ci->ci_next = l->l_inbox;
	l->l_inbox = ci;
	pthread_mutex_unlock(&l->l_mu);
	(void)eventfd_write(l->l_wake, 1);
	return 0;
}

/* Starts the sessions serve.c's threads handed over. */
static void
take_inbox(struct loop *l)
{
	struct conn_item *ci, *next;
	struct session *s;
	eventfd_t v;

	(void)eventfd_read(l->l_wake, &v);
	pthread_mutex_lock(&l->l_mu);
	ci = l->l_inbox;
	l->l_inbox = NULL;
	pthread_mutex_unlock(&l->l_mu);
	for (; ci != NULL; ci = next) {
		next = ci->ci_next;
		s = ci->ci_s;
		free(ci);
		s->s_next = l->l_live;
		if (l->l_live != NULL)
			l->l_live->s_prev = s;
		l->l_live = s;
		session_start(s);
	}
}

/*
 * Puts the client's fds in the epoll set, edge-triggered and for good:
 * the session reads until a read comes up short and writes until the
 * socket is full, so no event is lost and no request costs an
 * epoll_ctl().  A regular file (pipe mode with a file as fd 0 or 1)
 * cannot be polled and never has to be: it is always ready.  Returns 0
 * or -1.
 */
int
loop_watch(struct session *s)
{
	struct conn *c = s->s_conn;
	struct epoll_event ev;
	int ep = s->s_loop->l_ep;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
	if (c->c_rfd == c->c_wfd)
		ev.events |= EPOLLOUT;
	ev.data.ptr = &s->s_rsrc;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->c_rfd, &ev) == 0)
		s->s_watched |= WATCH_R;
	else if (errno == EPERM)
		s->s_rfile = 1;
	else
		return -1;
	if (c->c_rfd == c->c_wfd)
		return 0;
	ev.events = EPOLLOUT | EPOLLET;
	ev.data.ptr = &s->s_wsrc;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->c_wfd, &ev) == 0)
		s->s_watched |= WATCH_W;
	else if (errno != EPERM)
		return -1;
	return 0;
}

/* Takes the client's fds out of the epoll set before they are closed. */
void
loop_unwatch(struct session *s)
{
	struct conn *c = s->s_conn;
	int ep = s->s_loop->l_ep;

	if (s->s_watched & WATCH_R)
		(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->c_rfd, NULL);
	if (s->s_watched & WATCH_W)
		(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->c_wfd, NULL);
	s->s_watched = 0;
}

/* libcurl's sockets: each in epoll as libcurl asks. */
static int
on_socket(CURL *e, curl_socket_t fd, int what, void *u, void *sockp)
{
	struct loop *l = u;
	struct epoll_event ev;

	(void)e;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		(void)epoll_ctl(l->l_ep, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
	    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	ev.data.u64 = ((uint64_t)fd << 1) | TAG_CURL;
	if (epoll_ctl(l->l_ep, EPOLL_CTL_MOD, fd, &ev) == -1 &&
	    (errno != ENOENT ||
	    epoll_ctl(l->l_ep, EPOLL_CTL_ADD, fd, &ev) == -1)) {
		log_warn("epoll of an upstream socket");
		return -1;
	}
	return 0;
}

/* libcurl's one timer. */
static int
on_timer(CURLM *m, long ms, void *u)
{
	struct loop *l = u;

	(void)m;
	l->l_due = ms < 0 ? -1 : (int64_t)(now_ms() + ms);
	return 0;
}

/* Returns milliseconds until libcurl's timer, or -1 for none. */
static int
curl_timeout(struct loop *l)
{
	uint64_t now;

	if (l->l_due < 0)
		return -1;
	now = now_ms();
	return (uint64_t)l->l_due <= now ? 0 : (int)(l->l_due - now);
}

/* Ends the exchanges libcurl has finished. */
static void
curl_done(struct loop *l)
{
	struct session *s;
	CURLMsg *m;
	int q;
	char *p;

	while ((m = curl_multi_info_read(l->l_multi, &q)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		p = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
		if ((s = (struct session *)p) != NULL)
			session_done(s, m->data.result);
	}
}

static void
dispatch(struct loop *l, struct epoll_event *ev)
{
	struct evsrc *src;
	int running, flags = 0;

	if (ev->data.u64 == TAG_WAKE) {
		take_inbox(l);
		return;
	}
	if (ev->data.u64 & TAG_CURL) {
		if (ev->events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (ev->events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (ev->events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR | CURL_CSELECT_IN;
		curl_multi_socket_action(l->l_multi,
		    (curl_socket_t)(ev->data.u64 >> 1), flags, &running);
		return;
	}
	src = ev->data.ptr;
	if (!src->ev_s->s_dead)
		session_io(src->ev_s, src->ev_write, ev->events);
}

/* Has the session's held output written once the round is over. */
void
loop_batch(struct session *s)
{
	struct loop *l = s->s_loop;

	if (s->s_batched)
		return;
	s->s_batched = 1;
	s->s_batch_next = l->l_batch;
	l->l_batch = s;
}

/* Moves a session out of the live list; freed once the round is over. */
void
loop_bury(struct session *s)
{
	struct loop *l = s->s_loop;

	if (s->s_prev != NULL)
		s->s_prev->s_next = s->s_next;
	else if (l->l_live == s)
		l->l_live = s->s_next;
	if (s->s_next != NULL)
		s->s_next->s_prev = s->s_prev;
	s->s_prev = NULL;
	s->s_next = l->l_dead;
	l->l_dead = s;
	__atomic_sub_fetch(&l->l_nsess, 1, __ATOMIC_RELAXED);
}

/* One loop's thread: events, libcurl's timer, deadlines, for ever. */
static void *
run(void *arg)
{
	struct loop *l = arg;
	struct epoll_event evs[EVENTS_MAX];
	struct session *s, *next;
	uint64_t now, sweep = now_ms() + SWEEP_MS;
	int i, n, t, running;

	for (;;) {
		t = curl_timeout(l);
		now = now_ms();
		if (t < 0 || (uint64_t)t > sweep - now)
			t = sweep > now ? (int)(sweep - now) : 0;
		n = epoll_wait(l->l_ep, evs, EVENTS_MAX, t);
		if (n == -1 && errno != EINTR) {
			log_warn("epoll_wait");
			continue;
		}
		for (i = 0; i < n; i++)
			dispatch(l, &evs[i]);
		if (curl_timeout(l) == 0) {
			/* libcurl sets it again if it still needs one */
			l->l_due = -1;
			curl_multi_socket_action(l->l_multi,
			    CURL_SOCKET_TIMEOUT, 0, &running);
		}
		curl_done(l);
		if ((now = now_ms()) >= sweep) {
			for (s = l->l_live; s != NULL; s = next) {
				next = s->s_next;
				session_sweep(s, now);
			}
			curl_done(l);
			sweep = now + SWEEP_MS;
		}
		/* last: whatever ran this round may have held output */
		while ((s = l->l_batch) != NULL) {
			l->l_batch = s->s_batch_next;
			s->s_batched = 0;
			if (!s->s_dead)
				out_round_end(s);
		}
		for (; l->l_dead != NULL; l->l_dead = next) {
			next = l->l_dead->s_next;
			free(l->l_dead);
		}
	}
	return NULL;
}
