/*
 * loop.c - the one event loop that runs every client connection and
 * every upstream transfer.
 *
 * A thread per client connection blocked in curl_easy_perform() cost two
 * context switches and some ten system calls per request, and each
 * thread's handles kept their own upstream connections.  Here serve.c's
 * thread only hands the connection over; one thread waits in epoll for
 * the clients' sockets and libcurl's (curl_multi_socket_action()), so a
 * busy loop answers many requests per wake-up, and one multi handle
 * holds the upstream connections for everyone: HTTP/2 streams of many
 * clients share a connection, and a connection outlives its client.
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

#define EVENTS_MAX	256
#define SWEEP_MS	1000	/* how often client deadlines are checked */
#define TAG_WAKE	0	/* epoll data: the inbox eventfd */
#define TAG_CURL	1	/* odd: (fd << 1) | 1, a libcurl socket */

static pthread_once_t	 once = PTHREAD_ONCE_INIT;
static int		 started;
static pthread_mutex_t	 inbox_mu = PTHREAD_MUTEX_INITIALIZER;
static struct conn_item {
	struct session	*ci_s;
	struct conn_item *ci_next;
}			*inbox;
static int		 epfd = -1, wakefd = -1;
static CURLM		*multi;
static int64_t		 curl_due = -1;	/* ms on now_ms(), or -1 */
static struct session	*live;		/* every session */
static struct session	*dead;		/* ended this round */

static void	 start(void);
static void	*run(void *);
static void	 take_inbox(void);
static void	 dispatch(struct epoll_event *);
static void	 curl_done(void);
static int	 curl_timeout(void);
static int	 on_socket(CURL *, curl_socket_t, int, void *, void *);
static int	 on_timer(CURLM *, long, void *);

CURLM *
loop_multi(void)
{
	return multi;
}

/* Sets up epoll, the multi handle and the thread, once. */
static void
start(void)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t set, old;
	struct epoll_event ev;
	int rc;

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		log_warn("tlswrapd: unable to start the event loop");
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = TAG_WAKE;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) == -1 ||
	    (multi = curl_multi_init()) == NULL) {
		log_warn("tlswrapd: unable to start the event loop");
		return;
	}
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 128L);
	curl_multi_setopt(multi, CURLMOPT_PIPELINING, getenv("NOMUX") ? 0L : (long)CURLPIPE_MULTIPLEX);
	if (getenv("MAXSTREAMS"))
		curl_multi_setopt(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, atol(getenv("MAXSTREAMS")));
	/* only the main thread takes the signals: serve.c's self-pipe */
	sigfillset(&set);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	rc = pthread_create(&t, &attr, run, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		log_warnx("tlswrapd: unable to start a thread: %s",
		    strerror(rc));
		return;
	}
	started = 1;
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

	pthread_once(&once, start);
	if (!started)
		return -1;
	if ((ci = malloc(sizeof(*ci))) == NULL)
		return -1;
	if ((s = session_new(c)) == NULL) {
		free(ci);
		return -1;
	}
	c->c_handed_off = 1;
	ci->ci_s = s;
	pthread_mutex_lock(&inbox_mu);
	ci->ci_next = inbox;
	inbox = ci;
	pthread_mutex_unlock(&inbox_mu);
	(void)eventfd_write(wakefd, 1);
	return 0;
}

/* Starts the sessions serve.c's threads handed over. */
static void
take_inbox(void)
{
	struct conn_item *ci, *next;
	struct session *s;
	eventfd_t v;

	(void)eventfd_read(wakefd, &v);
	pthread_mutex_lock(&inbox_mu);
	ci = inbox;
	inbox = NULL;
	pthread_mutex_unlock(&inbox_mu);
	for (; ci != NULL; ci = next) {
		next = ci->ci_next;
		s = ci->ci_s;
		free(ci);
		s->s_next = live;
		if (live != NULL)
			live->s_prev = s;
		live = s;
		session_start(s);
	}
}

/*
 * Puts the client's fds in the epoll set, edge-triggered and for good:
 * the session reads until a read comes up short and writes until the
 * socket is full, so no event is lost and no request costs an
 * epoll_ctl().  Returns 0 or -1.
 */
int
loop_watch(struct session *s)
{
	struct conn *c = s->s_conn;
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
	if (c->c_rfd == c->c_wfd)
		ev.events |= EPOLLOUT;
	ev.data.ptr = &s->s_rsrc;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->c_rfd, &ev) == -1)
		return -1;
	s->s_watched = 1;
	if (c->c_rfd == c->c_wfd)
		return 0;
	ev.events = EPOLLOUT | EPOLLET;
	ev.data.ptr = &s->s_wsrc;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->c_wfd, &ev) == -1)
		return -1;
	s->s_watched = 2;
	return 0;
}

/* Takes the client's fds out of the epoll set before they are closed. */
void
loop_unwatch(struct session *s)
{
	struct conn *c = s->s_conn;

	if (s->s_watched >= 1)
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, c->c_rfd, NULL);
	if (s->s_watched >= 2)
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, c->c_wfd, NULL);
	s->s_watched = 0;
}

/* libcurl's sockets: each in epoll as libcurl asks. */
static int
on_socket(CURL *e, curl_socket_t fd, int what, void *u, void *sockp)
{
	struct epoll_event ev;

	(void)e;
	(void)u;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
	    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	ev.data.u64 = ((uint64_t)fd << 1) | TAG_CURL;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == -1 &&
	    (errno != ENOENT ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1)) {
		log_warn("epoll of an upstream socket");
		return -1;
	}
	return 0;
}

/* libcurl's one timer. */
static int
on_timer(CURLM *m, long ms, void *u)
{
	(void)m;
	(void)u;
	curl_due = ms < 0 ? -1 : (int64_t)(now_ms() + ms);
	return 0;
}

/* Returns milliseconds until libcurl's timer, or -1 for none. */
static int
curl_timeout(void)
{
	uint64_t now;

	if (curl_due < 0)
		return -1;
	now = now_ms();
	return (uint64_t)curl_due <= now ? 0 : (int)(curl_due - now);
}

/* Ends the exchanges libcurl has finished. */
static void
curl_done(void)
{
	struct session *s;
	CURLMsg *m;
	int q;
	char *p;

	while ((m = curl_multi_info_read(multi, &q)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		p = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
		if ((s = (struct session *)p) != NULL)
			session_done(s, m->data.result);
	}
}

static void
dispatch(struct epoll_event *ev)
{
	struct evsrc *src;
	int running, flags = 0;

	if (ev->data.u64 == TAG_WAKE) {
		take_inbox();
		return;
	}
	if (ev->data.u64 & TAG_CURL) {
		if (ev->events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (ev->events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (ev->events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR | CURL_CSELECT_IN;
		curl_multi_socket_action(multi,
		    (curl_socket_t)(ev->data.u64 >> 1), flags, &running);
		return;
	}
	src = ev->data.ptr;
	if (!src->ev_s->s_dead)
		session_io(src->ev_s, src->ev_write, ev->events);
}

/* Moves a session out of the live list; freed once the round is over. */
void
loop_bury(struct session *s)
{
	if (s->s_prev != NULL)
		s->s_prev->s_next = s->s_next;
	else if (live == s)
		live = s->s_next;
	if (s->s_next != NULL)
		s->s_next->s_prev = s->s_prev;
	s->s_prev = NULL;
	s->s_next = dead;
	dead = s;
}

static void *
run(void *arg)
{
	struct epoll_event evs[EVENTS_MAX];
	struct session *s, *next;
	uint64_t now, sweep = now_ms() + SWEEP_MS;
	int i, n, t, running;

	(void)arg;
	for (;;) {
		t = curl_timeout();
		now = now_ms();
		if (t < 0 || (uint64_t)t > sweep - now)
			t = sweep > now ? (int)(sweep - now) : 0;
		n = epoll_wait(epfd, evs, EVENTS_MAX, t);
		if (n == -1 && errno != EINTR) {
			log_warn("epoll_wait");
			continue;
		}
		for (i = 0; i < n; i++)
			dispatch(&evs[i]);
		if (curl_timeout() == 0) {
			/* libcurl sets it again if it still needs one */
			curl_due = -1;
			curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT,
			    0, &running);
		}
		curl_done();
		if ((now = now_ms()) >= sweep) {
			for (s = live; s != NULL; s = next) {
				next = s->s_next;
				session_sweep(s, now);
			}
			curl_done();
			sweep = now + SWEEP_MS;
		}
		for (; dead != NULL; dead = next) {
			next = dead->s_next;
			free(dead);
		}
	}
	return NULL;
}
