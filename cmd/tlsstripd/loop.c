/*
 * loop.c - shared event loops for relays past their handshake.
 *
 * One loop thread per CPU, each with an epoll set and the list of its
 * sessions.  A wakeup serves every connection that is ready, and the
 * interest of an fd changes only when what its steps wait for does:
 * on keep-alive traffic both fds wait for input and stay armed as they
 * are, so a request costs an epoll_wait share and the four reads and
 * writes, with no thread switch.  Level-triggered: an fd nothing waits
 * on leaves the set (a hangup would otherwise wake the loop forever),
 * and comes back when a step waits on it again.
 *
 * New sessions go to the first half of the loops only.  Small
 * exchanges cost little relaying, and fewer loops serve more of them
 * per wakeup: on 2 CPUs, one loop spent 25 us of CPU per 1 KiB
 * keep-alive request where two spent 32.  A session that moves a full
 * buffer in one turn is a bulk transfer, whose encryption is the
 * work: it moves, once, to the next of all the loops, so that large
 * transfers spread over every CPU, and its writes are buffered
 * (tlsio_bulk()).
 *
 * A session is added from its connection's thread while the loop may
 * be running: the loop holds its mutex whenever it is not in
 * epoll_wait(), and loop_put() arms both fds under it, so the loop never
 * sees a session half armed.  A loop holds one mutex at a time: a
 * session moving elsewhere leaves its old loop first and is put into
 * the new one after the round.  A session runs once a round, for a
 * bounded number of steps (tlsio.c); one with work left goes on the
 * ready list for the next round, which then polls without waiting.
 * Idle sessions are found by a scan of the list every SCAN_MS.
 */
#include <sys/epoll.h>
#include <sys/queue.h>

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "serve.h"
#include "tlsstripd.h"
#include "thread.h"

#define LOOPS_MAX	16
#define LOOP_EVENTS	64
#define LOOP_STACK	(256 * 1024)
#define SCAN_MS		1000

TAILQ_HEAD(sessions, session);

struct loop {
	int			 l_ep;
	pthread_mutex_t		 l_mu;
	struct sessions		 l_sessions;
	struct sessions		 l_ready;	/* events seen, or work left */
};

static void	 loops_start(void);
static void	*loop_main(void *);
static void	 loop_gather(struct loop *, struct epoll_event *, int);
static int	 loop_put(struct loop *, struct session *);
static void	 loop_run(struct session *, uint64_t, struct sessions *);
static void	 loop_move(struct session *, struct sessions *);
static void	 loop_disarm(struct session *);
static void	 loop_idle(struct loop *, uint64_t);
static void	 loop_end(struct session *, enum log_reason);
static int	 arm(int, int, struct sev *, uint32_t *, uint32_t);
static int	 loop_arm(struct session *, int);

static struct loop	 loops[LOOPS_MAX];
static int		 nloops;
static int		 nsmall;	/* the first loops, for new sessions */
static unsigned		 next_loop, next_bulk;
static pthread_once_t	 loops_once = PTHREAD_ONCE_INIT;

/* Starts a loop thread per CPU (fewer if some cannot start). */
static void
loops_start(void)
{
	long n;
	int i;

	if ((n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	if (n > LOOPS_MAX)
		n = LOOPS_MAX;
	for (i = 0; i < n; i++) {
		if ((loops[i].l_ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
			break;
		pthread_mutex_init(&loops[i].l_mu, NULL);
		TAILQ_INIT(&loops[i].l_sessions);
		TAILQ_INIT(&loops[i].l_ready);
		if (thread_start(loop_main, &loops[i], LOOP_STACK) != 0) {
			close(loops[i].l_ep);
			break;
		}
	}
	nloops = i;
	nsmall = (nloops + 1) / 2;
	if (nloops == 0)
		log_warn("unable to start an event loop; each connection "
		    "keeps its thread");
}

/*
 * Hands the session, its handshake done and its first steps taken, to
 * a loop that ends it.  Returns 0, or -1 if it stays with the caller.
 */
int
loop_add(struct session *se)
{
	struct loop *l;

	(void)pthread_once(&loops_once, loops_start);
	if (nloops == 0)
		return -1;
	l = &loops[__atomic_fetch_add(&next_loop, 1, __ATOMIC_RELAXED) %
	    nsmall];
	se->se_ev[0].sv_se = se->se_ev[1].sv_se = se;
	se->se_ev[1].sv_backend = 1;
	se->se_last_ms = now_ms();
	/* Set first: once put, the loop may end the connection. */
	se->se_conn->c_handed_off = 1;
	if (loop_put(l, se) == -1) {
		se->se_conn->c_handed_off = 0;
		return -1;
	}
	return 0;
}

/* Arms the session in loop l and lists it there; 0, or -1 on an error. */
static int
loop_put(struct loop *l, struct session *se)
{
	pthread_mutex_lock(&l->l_mu);
	se->se_loop = l;
	if (loop_arm(se, 0) == -1) {
		loop_disarm(se);
		pthread_mutex_unlock(&l->l_mu);
		return -1;
	}
	TAILQ_INSERT_TAIL(&l->l_sessions, se, se_entry);
	pthread_mutex_unlock(&l->l_mu);
	return 0;
}

static void *
loop_main(void *arg)
{
	struct loop *l = arg;
	struct epoll_event ev[LOOP_EVENTS];
	struct sessions run, moving;
	struct session *se;
	struct conn *c;
	uint64_t now, scan = now_ms() + SCAN_MS;
	int n;

	for (;;) {
		n = epoll_wait(l->l_ep, ev, LOOP_EVENTS,
		    TAILQ_EMPTY(&l->l_ready) ? SCAN_MS : 0);
		pthread_mutex_lock(&l->l_mu);
		now = now_ms();
		loop_gather(l, ev, n);
		/* Each session runs once a round: one with work left waits. */
		TAILQ_INIT(&run);
		TAILQ_INIT(&moving);
		TAILQ_CONCAT(&run, &l->l_ready, se_rentry);
		while ((se = TAILQ_FIRST(&run)) != NULL) {
			TAILQ_REMOVE(&run, se, se_rentry);
			se->se_ready = 0;
			loop_run(se, now, &moving);
		}
		if (now >= scan) {
			loop_idle(l, now);
			scan = now + SCAN_MS;
		}
		pthread_mutex_unlock(&l->l_mu);
		while ((se = TAILQ_FIRST(&moving)) != NULL) {
			TAILQ_REMOVE(&moving, se, se_rentry);
			if (loop_put(se->se_loop, se) == -1) {
				c = se->se_conn;
				session_fail(se, REASON_INTERNAL_ERROR,
				    "unable to wait for events");
				session_end(se, REASON_INTERNAL_ERROR);
				conn_end(c);
			}
		}
	}
	return NULL;
}

/* Notes the n events on their sessions, and those as ready. */
static void
loop_gather(struct loop *l, struct epoll_event *ev, int n)
{
	struct session *se;
	struct sev *sv;
	int i;

	for (i = 0; i < n; i++) {
		sv = ev[i].data.ptr;
		se = sv->sv_se;
		if (sv->sv_backend)
			se->se_be_rev |= ev[i].events;
		else
			se->se_cl_rev |= ev[i].events;
		if (!se->se_ready) {
			se->se_ready = 1;
			TAILQ_INSERT_TAIL(&l->l_ready, se, se_rentry);
		}
	}
}

/*
 * Takes the steps the session's events allow, then re-arms it (and
 * queues it for the next round if it has work left), moves it to
 * another loop (on moving), or ends it.
 */
static void
loop_run(struct session *se, uint64_t now, struct sessions *moving)
{
	uint64_t before = se->se_in + se->se_out;
	int r;

	se->se_last_ms = now;
	tlsio_wake(se, (int)se->se_cl_rev, (int)se->se_cl_rev,
	    (int)se->se_be_rev);
	se->se_cl_rev = se->se_be_rev = 0;
	if ((r = tlsio_steps(se)) == 2) {
		se->se_ready = 1;
		TAILQ_INSERT_TAIL(&se->se_loop->l_ready, se, se_rentry);
	}
	if (r == 0 || r == 2) {
		if (loop_arm(se, r == 2) == 0) {
			if (r == 0 && !se->se_bulk &&
			    se->se_in + se->se_out - before >= RELAY_BUF)
				loop_move(se, moving);
			return;
		}
		session_fail(se, REASON_INTERNAL_ERROR,
		    "unable to wait for events");
	}
	/* The steps set the reason of an end they found. */
	loop_end(se, REASON_INTERNAL_ERROR);
}

/*
 * Marks the session bulk and, if its turn in the deal is another loop,
 * takes it out of this one onto moving, to be put into that loop.
 */
static void
loop_move(struct session *se, struct sessions *moving)
{
	struct loop *to;

	/* Unbuffered if that fails: slower, still right. */
	(void)tlsio_bulk(se);
	se->se_bulk = 1;
	to = &loops[__atomic_fetch_add(&next_bulk, 1, __ATOMIC_RELAXED) %
	    nloops];
	if (to == se->se_loop)
		return;
	loop_disarm(se);
	TAILQ_REMOVE(&se->se_loop->l_sessions, se, se_entry);
	se->se_loop = to;
	TAILQ_INSERT_TAIL(moving, se, se_rentry);
}

/*
 * Ends the sessions that saw no event for --idle-timeout, and queues
 * those whose request head missed --header-timeout to send their 408.
 */
static void
loop_idle(struct loop *l, uint64_t now)
{
	struct session *se, *next;
	uint64_t idle;

	for (se = TAILQ_FIRST(&l->l_sessions); se != NULL; se = next) {
		next = TAILQ_NEXT(se, se_entry);
		idle = (uint64_t)se->se_cf->cf_opts.idle_timeout * 1000;
		if (now - se->se_last_ms >= idle)
			loop_end(se, REASON_IDLE_TIMEOUT);
		else if (tlsio_head_timeout(se, now) && !se->se_ready) {
			se->se_ready = 1;
			TAILQ_INSERT_TAIL(&l->l_ready, se, se_rentry);
		}
	}
}

/*
 * Takes the session out of its loop and ends it, for why unless a
 * reason was set before.
 */
static void
loop_end(struct session *se, enum log_reason why)
{
	struct loop *l = se->se_loop;
	struct conn *c = se->se_conn;

	loop_disarm(se);
	TAILQ_REMOVE(&l->l_sessions, se, se_entry);
	if (se->se_ready)
		TAILQ_REMOVE(&l->l_ready, se, se_rentry);
	session_end(se, why);
	conn_end(c);
}

/* Takes the session's fds out of its loop's epoll set. */
static void
loop_disarm(struct session *se)
{
	int ep = se->se_loop->l_ep;

	if (se->se_cl_ev != 0)
		(void)epoll_ctl(ep, EPOLL_CTL_DEL, se->se_conn->c_rfd, NULL);
	if (se->se_be_ev != 0)
		(void)epoll_ctl(ep, EPOLL_CTL_DEL, se->se_up, NULL);
	se->se_cl_ev = se->se_be_ev = 0;
}

/*
 * Makes the fd's interest want (poll events, which epoll shares),
 * where *cur is what it is now.  Returns 0, or -1 if epoll refused.
 */
static int
arm(int ep, int fd, struct sev *sv, uint32_t *cur, uint32_t want)
{
	struct epoll_event ev;
	int op;

	if (want == *cur)
		return 0;
	if (*cur == 0)
		op = EPOLL_CTL_ADD;
	else if (want == 0)
		op = EPOLL_CTL_DEL;
	else
		op = EPOLL_CTL_MOD;
	ev.events = want;
	ev.data.ptr = sv;
	if (epoll_ctl(ep, op, fd, &ev) == -1)
		return -1;
	*cur = want;
	return 0;
}

/*
 * Arms both fds for what the steps wait on; more says the session runs
 * again anyway.  Returns 0, or -1 if nothing is waited for or epoll
 * refused.
 */
static int
loop_arm(struct session *se, int more)
{
	int ep = se->se_loop->l_ep;
	uint32_t cl, be;

	cl = (uint32_t)tlsio_events(se, 0);
	be = (uint32_t)tlsio_events(se, 1);
	if (cl == 0 && be == 0 && !more)
		return -1;
	if (arm(ep, se->se_conn->c_rfd, &se->se_ev[0], &se->se_cl_ev,
	    cl) == -1 || arm(ep, se->se_up, &se->se_ev[1], &se->se_be_ev,
	    be) == -1)
		return -1;
	return 0;
}
