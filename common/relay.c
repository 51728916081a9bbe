/*
 * relay.c - the byte relay (relay.h).
 *
 * A few event-loop threads (one per online CPU, started on first use)
 * each own an epoll set; tunnels are given to them round-robin through a
 * locked inbox and an eventfd.  Every fd is registered once, edge
 * triggered, for all the interest it will ever need, so nothing is
 * re-armed per turn and an idle tunnel costs no system call at all.  Edge
 * triggering means each direction keeps its own readiness (set by an
 * event, cleared by EAGAIN) and is worked until it blocks or its turn's
 * budget is spent; a tunnel with work left goes back on the run queue.
 *
 * Events only mark tunnels runnable; they run after the whole batch, so
 * a tunnel that ends cannot be reached by a later event of that batch.
 *
 * Sockets and pipes start with read(2) and write(2) through the loop's
 * scratch buffer, lent to a direction only until its bytes are written:
 * the few bytes of a request and its reply then cost two calls, where
 * splice would cost four and a pipe.  A read that fills the scratch
 * buffer means bulk data, and that direction moves with splice(2) from
 * then on, through pipes from a per-loop pool (no lock: a loop's pool is
 * its own): a pipe is taken when a source is readable and given back
 * once empty, so an idle tunnel holds none.
 * The pool keeps a few spares and caps how many pipes exist; beyond that,
 * or where splice cannot work, a direction uses a heap buffer that also
 * exists only while it holds data.  Files and ttys use read/write.
 *
 * TCP urgent data is read inline (SO_OOBINLINE): its byte goes on in its
 * place in the stream, as an ordinary byte.  Reads stop short at the
 * urgent mark and splice(2) cannot pass it at all (it fails with EAGAIN
 * there, or reads 0 once the FIN is in), so an event that says urgent
 * data arrived (EPOLLPRI), or a splice that reads 0, has its direction
 * read(2) until EAGAIN.
 *
 * A direction that reads EOF passes it on (shutdown, or close of a pipe)
 * once everything it read is written; the tunnel ends when both have.
 * A write that finds its peer gone stops that direction only, so the
 * other can still deliver what the peer said last (a 413 sent while the
 * client uploads); a read error ends everything.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "log.h"
#include "relay.h"
#include "thread.h"

#define RELAY_MAXLOOPS	16
#define PIPE_SIZE	(256 * 1024)	/* 256 fill pipe-user-pages-soft */
#define PIPES_MAX	256		/* shared out among the loops */
#define PIPES_SPARE	16		/* per loop, kept for the next burst */
#define BUF_SMALL	(16 * 1024)	/* when no pipe can be had */
#define BUF_FILE	(64 * 1024)	/* files, ttys */
#define TURN_BUDGET	(4 * 1024 * 1024)	/* per direction per turn */
#define MAXEVENTS	256
#define TICK_MS		1000		/* idle timeouts are checked this often */
#define LOOP_STACK	(256 * 1024)

/* Which side's reset or error ended a tunnel. */
enum { SIDE_NONE, SIDE_CLIENT, SIDE_UPSTREAM };

/* epoll slots: which of a tunnel's fds an event is about. */
enum { S_CREAD, S_CWRITE, S_UREAD, S_UWRITE, S_MAX };

struct rpipe {
	int		 p_fd[2];	/* -1 when none */
	size_t		 p_cap;
};

/* One direction: bytes read from d_rfd, written to d_wfd. */
struct dir {
	int		 d_rfd;
	int		 d_wfd;
	unsigned	 d_splice:1;	/* both ends are sockets or pipes */
	unsigned	 d_wsock:1;	/* d_wfd is a socket: shutdown works */
	unsigned	 d_rready:1;	/* no EAGAIN on d_rfd since its event */
	unsigned	 d_wready:1;
	unsigned	 d_hup:1;	/* an event said the source ended */
	unsigned	 d_urgent:1;	/* urgent data came: read(2) to EAGAIN */
	unsigned	 d_bulk:1;	/* a read filled the scratch buffer */
	unsigned	 d_borrowed:1;	/* d_buf is the loop's scratch */
	unsigned	 d_eof:1;	/* read nothing more */
	unsigned	 d_done:1;	/* EOF passed on, or peer gone */
	struct rpipe	 d_pipe;
	size_t		 d_inpipe;
	char		*d_buf;		/* NULL unless it holds data */
	size_t		 d_off, d_len, d_size;
	uint64_t	 d_bytes;	/* written to d_wfd */
};

struct loop;

struct tunnel {
	struct conn	*t_conn;
	relay_done	 t_done;
	void		*t_arg;
	struct loop	*t_loop;
	int		 t_u_rfd, t_u_wfd;
	int		 t_efd[S_MAX];	/* registered with epoll, or -1 */
	int		 t_cflags[2];	/* client fds' flags before, or -1 */
	struct dir	 t_up, t_down;
	uint64_t	 t_last;	/* ms of the last byte moved */
	uint64_t	 t_idle_ms;	/* 0: never */
	const char	*t_reason;	/* set once something went wrong */
	int		 t_side;	/* SIDE_*: where it went wrong */
	char		 t_first[RELAY_FIRST_MAX];	/* from upstream */
	size_t		 t_nfirst;
	int		 t_first_end;	/* t_first holds all it will */
	int		 t_queued;
	struct tunnel	*t_next;	/* run queue or inbox */
	TAILQ_ENTRY(tunnel) t_entry;
};

TAILQ_HEAD(tunnel_list, tunnel);

struct loop {
	int		 l_ep;
	int		 l_evfd;
	pthread_mutex_t	 l_lock;	/* guards the inbox only */
	struct tunnel	*l_inbox, **l_inboxtail;
	struct tunnel	*l_runq, **l_runtail;
	struct tunnel_list l_tunnels;
	struct rpipe	 l_spare[PIPES_SPARE];
	int		 l_nspare;
	int		 l_npipes;	/* in use and spare */
	int		 l_maxpipes;	/* its share of PIPES_MAX */
	uint64_t	 l_now;
	char		 l_scratch[BUF_SMALL];
};

static int	 loops_start(void);
static int	 loop_init(struct loop *);
static void	*loop_main(void *);
static void	 loop_inbox(struct loop *);
static void	 loop_run(struct loop *);
static void	 loop_expire(struct loop *);
static void	 loop_queue(struct loop *, struct tunnel *);
static int	 pipe_get(struct loop *, struct rpipe *);
static void	 pipe_put(struct loop *, struct rpipe *, int);
static int	 tunnel_register(struct loop *, struct tunnel *);
static void	 tunnel_event(struct loop *, uint64_t, uint32_t);
static void	 tunnel_run(struct loop *, struct tunnel *);
static void	 tunnel_end(struct loop *, struct tunnel *, const char *);
static int	 dir_init(struct dir *, int, int);
static int	 dir_pump(struct loop *, struct tunnel *, struct dir *);
static int	 dir_move(struct loop *, struct tunnel *, struct dir *);
static ssize_t	 dir_read(struct loop *, struct dir *);
static ssize_t	 dir_read_small(struct loop *, struct dir *);
static int	 dir_unborrow(struct dir *);
static ssize_t	 dir_write(struct dir *);
static size_t	 dir_held(const struct dir *);
static int	 dir_room(const struct dir *);
static void	 dir_release(struct loop *, struct dir *);
static void	 dir_shut(struct loop *, struct tunnel *, struct dir *);
static void	 first_bytes(struct tunnel *, const struct dir *, size_t);
static int	 set_nonblock(int);

static pthread_mutex_t loops_lock = PTHREAD_MUTEX_INITIALIZER;
static struct loop *loops;
static int nloops;
static unsigned next_loop;

/* Returns 0 once the loop threads run, -1 if none could be started. */
static int
loops_start(void)
{
	long n;
	int i, ok = 0;

	pthread_mutex_lock(&loops_lock);
	if (nloops > 0) {
		pthread_mutex_unlock(&loops_lock);
		return 0;
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > RELAY_MAXLOOPS)
		n = RELAY_MAXLOOPS;
	if (loops == NULL && (loops = calloc(n, sizeof(*loops))) == NULL) {
		pthread_mutex_unlock(&loops_lock);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (loop_init(&loops[i]) == -1)
			break;
		loops[i].l_maxpipes = PIPES_MAX / n > PIPES_SPARE ?
		    PIPES_MAX / n : PIPES_SPARE;
		if (thread_start(loop_main, &loops[i], LOOP_STACK) != 0) {
			close(loops[i].l_ep);
			close(loops[i].l_evfd);
			break;
		}
		ok++;
	}
	nloops = ok;
	pthread_mutex_unlock(&loops_lock);
	if (ok == 0)
		log_warn("relay: cannot start an event loop");
	return ok > 0 ? 0 : -1;
}

/* Returns 0 with the loop's epoll set and eventfd made, or -1. */
static int
loop_init(struct loop *l)
{
	struct epoll_event ev;

	memset(l, 0, sizeof(*l));
	if ((l->l_ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if ((l->l_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		close(l->l_ep);
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = 0;
	if (epoll_ctl(l->l_ep, EPOLL_CTL_ADD, l->l_evfd, &ev) == -1) {
		close(l->l_ep);
		close(l->l_evfd);
		return -1;
	}
	pthread_mutex_init(&l->l_lock, NULL);
	l->l_inboxtail = &l->l_inbox;
	l->l_runtail = &l->l_runq;
	TAILQ_INIT(&l->l_tunnels);
	return 0;
}

static void *
loop_main(void *arg)
{
	struct loop *l = arg;
	struct epoll_event ev[MAXEVENTS];
	uint64_t last_tick;
	int i, n, timeout;

	l->l_now = last_tick = now_ms();
	for (;;) {
		if (l->l_runq != NULL)
			timeout = 0;
		else
			timeout = TICK_MS - (int)(l->l_now - last_tick);
		if (timeout < 0)
			timeout = 0;
		n = epoll_wait(l->l_ep, ev, MAXEVENTS, timeout);
		l->l_now = now_ms();
		for (i = 0; i < n; i++) {
			if (ev[i].data.u64 == 0)
				loop_inbox(l);
			else
				tunnel_event(l, ev[i].data.u64, ev[i].events);
		}
		loop_run(l);
		if (l->l_now - last_tick >= TICK_MS) {
			loop_expire(l);
			last_tick = l->l_now;
		}
	}
	return NULL;
}

/* Takes the tunnels relay_start() queued and starts watching them. */
static void
loop_inbox(struct loop *l)
{
	struct tunnel *t, *next;
	eventfd_t v;

	(void)eventfd_read(l->l_evfd, &v);
	pthread_mutex_lock(&l->l_lock);
	t = l->l_inbox;
	l->l_inbox = NULL;
	l->l_inboxtail = &l->l_inbox;
	pthread_mutex_unlock(&l->l_lock);
	for (; t != NULL; t = next) {
		next = t->t_next;
		t->t_next = NULL;
		t->t_last = l->l_now;
		TAILQ_INSERT_TAIL(&l->l_tunnels, t, t_entry);
		if (tunnel_register(l, t) == -1) {
			log_warn("relay: conn=%lu: epoll", t->t_conn->c_id);
			tunnel_end(l, t, "error");
			continue;
		}
		loop_queue(l, t);
	}
}

static void
loop_queue(struct loop *l, struct tunnel *t)
{
	if (t->t_queued)
		return;
	t->t_queued = 1;
	t->t_next = NULL;
	*l->l_runtail = t;
	l->l_runtail = &t->t_next;
}

/* Runs every queued tunnel once; those with work left queue again. */
static void
loop_run(struct loop *l)
{
	struct tunnel *t, *next;

	t = l->l_runq;
	l->l_runq = NULL;
	l->l_runtail = &l->l_runq;
	for (; t != NULL; t = next) {
		next = t->t_next;
		t->t_queued = 0;
		tunnel_run(l, t);
	}
}

/* Ends the tunnels that moved nothing for their idle timeout. */
static void
loop_expire(struct loop *l)
{
	struct tunnel *t, *next;

	for (t = TAILQ_FIRST(&l->l_tunnels); t != NULL; t = next) {
		next = TAILQ_NEXT(t, t_entry);
		if (t->t_idle_ms == 0 || t->t_queued)
			continue;
		if (l->l_now - t->t_last >= t->t_idle_ms)
			tunnel_end(l, t, "idle timeout");
	}
}

/* Returns 0 with an empty pipe from the pool or a new one, or -1. */
static int
pipe_get(struct loop *l, struct rpipe *p)
{
	int n;

	if (l->l_nspare > 0) {
		*p = l->l_spare[--l->l_nspare];
		return 0;
	}
	if (l->l_npipes >= l->l_maxpipes)
		return -1;
	if (pipe2(p->p_fd, O_NONBLOCK | O_CLOEXEC) == -1) {
		p->p_fd[0] = p->p_fd[1] = -1;
		return -1;
	}
	/* Past the user's pipe quota this fails: the default size works. */
	if ((n = fcntl(p->p_fd[1], F_SETPIPE_SZ, PIPE_SIZE)) == -1)
		n = fcntl(p->p_fd[1], F_GETPIPE_SZ);
	p->p_cap = n > 0 ? (size_t)n : 65536;
	l->l_npipes++;
	return 0;
}

/* Gives a pipe back; one still holding bytes is closed, not reused. */
static void
pipe_put(struct loop *l, struct rpipe *p, int empty)
{
	if (p->p_fd[0] == -1)
		return;
	if (empty && l->l_nspare < PIPES_SPARE)
		l->l_spare[l->l_nspare++] = *p;
	else {
		close(p->p_fd[0]);
		close(p->p_fd[1]);
		l->l_npipes--;
	}
	p->p_fd[0] = p->p_fd[1] = -1;
}

/* Returns 0 with the tunnel's fds in the loop's epoll set, or -1. */
static int
tunnel_register(struct loop *l, struct tunnel *t)
{
	struct epoll_event ev;
	uint32_t want[S_MAX] = {
		EPOLLIN | EPOLLPRI | EPOLLRDHUP, EPOLLOUT,
		EPOLLIN | EPOLLPRI | EPOLLRDHUP, EPOLLOUT
	};
	int fds[S_MAX], s;

	fds[S_CREAD] = t->t_conn->c_rfd;
	fds[S_CWRITE] = t->t_conn->c_wfd;
	fds[S_UREAD] = t->t_u_rfd;
	fds[S_UWRITE] = t->t_u_wfd;
	if (fds[S_CWRITE] == fds[S_CREAD]) {
		want[S_CREAD] |= EPOLLOUT;
		fds[S_CWRITE] = -1;
	}
	if (fds[S_UWRITE] == fds[S_UREAD]) {
		want[S_UREAD] |= EPOLLOUT;
		fds[S_UWRITE] = -1;
	}
	memset(&ev, 0, sizeof(ev));
	for (s = 0; s < S_MAX; s++) {
		if (fds[s] == -1)
			continue;
		ev.events = want[s] | EPOLLET;
		ev.data.u64 = (uintptr_t)t | s;
		if (epoll_ctl(l->l_ep, EPOLL_CTL_ADD, fds[s], &ev) == 0)
			t->t_efd[s] = fds[s];
		else if (errno != EPERM)
			return -1;
		/* EPERM: a file, always ready; its readiness never clears. */
	}
	return 0;
}

/* Marks what an event made ready and queues the tunnel. */
static void
tunnel_event(struct loop *l, uint64_t data, uint32_t e)
{
	struct tunnel *t = (struct tunnel *)(uintptr_t)(data & ~(uint64_t)3);
	int in, out, hup, pri;

	in = (e & (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
	out = (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
	hup = (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
	pri = (e & EPOLLPRI) != 0;
	switch (data & 3) {
	case S_CREAD:
		if (in)
			t->t_up.d_rready = 1;
		if (hup)
			t->t_up.d_hup = 1;
		if (pri)
			t->t_up.d_urgent = 1;
		if (out && t->t_efd[S_CWRITE] == -1)
			t->t_down.d_wready = 1;
		break;
	case S_CWRITE:
		if (out)
			t->t_down.d_wready = 1;
		break;
	case S_UREAD:
		if (in)
			t->t_down.d_rready = 1;
		if (hup)
			t->t_down.d_hup = 1;
		if (pri)
			t->t_down.d_urgent = 1;
		if (out && t->t_efd[S_UWRITE] == -1)
			t->t_up.d_wready = 1;
		break;
	case S_UWRITE:
		if (out)
			t->t_up.d_wready = 1;
		break;
	}
	loop_queue(l, t);
}

/* Moves what can be moved both ways; ends the tunnel when it is over. */
static void
tunnel_run(struct loop *l, struct tunnel *t)
{
	int up, down;

	if ((up = dir_pump(l, t, &t->t_up)) == -1 ||
	    (down = dir_pump(l, t, &t->t_down)) == -1) {
		tunnel_end(l, t, t->t_reason);
		return;
	}
	if (t->t_up.d_done && t->t_down.d_done)
		tunnel_end(l, t, t->t_reason != NULL ? t->t_reason : "done");
	else if (up || down)
		loop_queue(l, t);
}

/*
 * Returns 1 if the direction spent its budget with work left, 0 if it is
 * blocked or finished, -1 if the tunnel must end (t_reason set).  The
 * scratch buffer goes back to the loop before the next direction runs.
 */
static int
dir_pump(struct loop *l, struct tunnel *t, struct dir *d)
{
	int rc;

	rc = dir_move(l, t, d);
	if (d->d_borrowed && dir_unborrow(d) == -1) {
		t->t_reason = "error";
		return -1;
	}
	return rc;
}

/* Returns as dir_pump() does, the scratch buffer maybe still lent. */
static int
dir_move(struct loop *l, struct tunnel *t, struct dir *d)
{
	size_t budget = TURN_BUDGET;
	ssize_t n;
	int moved;

	if (d->d_done)
		return 0;
	do {
		moved = 0;
		if (!d->d_eof && d->d_rready && dir_room(d)) {
			if ((n = dir_read(l, d)) > 0) {
				moved = 1;
				if (d == &t->t_down && !t->t_first_end)
					first_bytes(t, d, n);
			} else if (n == 0)
				d->d_eof = 1;
			else if (errno != EAGAIN && errno != EINTR) {
				t->t_reason = errno == ECONNRESET ? "reset" :
				    "error";
				t->t_side = d == &t->t_up ? SIDE_CLIENT :
				    SIDE_UPSTREAM;
				if (errno != ECONNRESET)
					log_debug("relay: conn=%lu: read: %s",
					    t->t_conn->c_id, strerror(errno));
				return -1;
			}
		}
		if (dir_held(d) > 0 && d->d_wready) {
			if ((n = dir_write(d)) > 0) {
				moved = 1;
				d->d_bytes += n;
				budget -= (size_t)n < budget ? (size_t)n : budget;
			} else if (n == -1 && (errno == EPIPE ||
			    errno == ECONNRESET)) {
				/* the peer is gone: only this way is over */
				t->t_reason = "reset";
				t->t_side = d == &t->t_up ? SIDE_UPSTREAM :
				    SIDE_CLIENT;
				d->d_eof = d->d_done = 1;
				dir_release(l, d);
				return 0;
			} else if (n == -1 && errno != EAGAIN &&
			    errno != EINTR) {
				t->t_reason = "error";
				t->t_side = d == &t->t_up ? SIDE_UPSTREAM :
				    SIDE_CLIENT;
				log_debug("relay: conn=%lu: write: %s",
				    t->t_conn->c_id, strerror(errno));
				return -1;
			}
		}
		if (moved)
			t->t_last = l->l_now;
		if (dir_held(d) == 0)
			dir_release(l, d);
		if (d->d_eof && dir_held(d) == 0) {
			dir_shut(l, t, d);
			return 0;
		}
	} while (moved && budget > 0);
	return moved;
}

/*
 * Keeps a copy of the upstream's first bytes from the n just read.  They
 * are in a buffer: a direction starts with read(2), and splice(2) comes
 * only after a read filled the scratch buffer, which fills the copy.
 */
static void
first_bytes(struct tunnel *t, const struct dir *d, size_t n)
{
	size_t k = sizeof(t->t_first) - t->t_nfirst;

	if (d->d_buf == NULL) {
		t->t_first_end = 1;	/* spliced: not seen, not in order */
		return;
	}
	if (k > n)
		k = n;
	memcpy(t->t_first + t->t_nfirst, d->d_buf + d->d_len - n, k);
	t->t_nfirst += k;
	t->t_first_end = t->t_nfirst == sizeof(t->t_first);
}

/*
 * Returns what one read moved into the pipe or buffer, 0 at EOF, or -1
 * with errno.  EAGAIN clears readiness only when it surely came from the
 * source: into a pipe that already holds bytes, it may mean the pipe is
 * full (it counts pages, not bytes).  Past urgent data, reads use a
 * buffer, once the pipe has emptied (its bytes come first).
 */
static ssize_t
dir_read(struct loop *l, struct dir *d)
{
	ssize_t n;

	if (d->d_urgent && d->d_inpipe > 0) {
		errno = EAGAIN;
		return -1;
	}
	if (d->d_buf == NULL && d->d_splice && !d->d_bulk &&
	    d->d_pipe.p_fd[0] == -1)
		return dir_read_small(l, d);
	if (d->d_buf == NULL && d->d_splice && !d->d_urgent &&
	    (d->d_pipe.p_fd[0] != -1 || pipe_get(l, &d->d_pipe) == 0)) {
		n = splice(d->d_rfd, NULL, d->d_pipe.p_fd[1], NULL,
		    d->d_pipe.p_cap - d->d_inpipe,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0)
			d->d_inpipe += n;
		else if (n == -1 && errno == EAGAIN && d->d_inpipe == 0)
			d->d_rready = 0;
		else if (n == -1 && errno == EINVAL && d->d_inpipe == 0) {
			/* a socket type splice cannot read: buffer it */
			d->d_splice = 0;
			pipe_put(l, &d->d_pipe, 1);
			return dir_read(l, d);
		} else if (n == 0) {
			/* At an urgent mark behind which the FIN is in, splice
			 * reads 0 too: only read(2) tells the real EOF. */
			d->d_urgent = 1;
			return dir_read(l, d);
		}
		return n;
	}
	if (d->d_buf == NULL) {
		d->d_size = d->d_splice ? BUF_SMALL : BUF_FILE;
		if ((d->d_buf = malloc(d->d_size)) == NULL)
			return -1;
		d->d_off = d->d_len = 0;
	}
	n = read(d->d_rfd, d->d_buf + d->d_len, d->d_size - d->d_len);
	if (n > 0)
		d->d_len += n;
	else if (n == -1 && errno == EAGAIN)
		d->d_rready = d->d_urgent = 0;
	return n;
}

/*
 * Returns what one read into the loop's scratch buffer got, lending it
 * to d, 0 at EOF, or -1 with errno.  A short read found the source
 * empty: a later byte raises a new edge, and the one case that would not
 * (the FIN already reported with this edge, or a read stopped at the
 * urgent mark) keeps d_rready, so the next read goes on.  That saves the
 * call that would return EAGAIN.
 */
static ssize_t
dir_read_small(struct loop *l, struct dir *d)
{
	ssize_t n;

	n = read(d->d_rfd, l->l_scratch, sizeof(l->l_scratch));
	if (n > 0) {
		d->d_buf = l->l_scratch;
		d->d_borrowed = 1;
		d->d_off = 0;
		d->d_len = d->d_size = n;
		if ((size_t)n == sizeof(l->l_scratch))
			d->d_bulk = 1;
		else if (!d->d_hup && !d->d_urgent)
			d->d_rready = 0;
	} else if (n == -1 && errno == EAGAIN)
		d->d_rready = d->d_urgent = 0;
	return n;
}

/*
 * Gives the scratch buffer back, moving what is still unwritten to a
 * heap buffer of the direction's own.  Returns 0, or -1 if out of memory.
 */
static int
dir_unborrow(struct dir *d)
{
	size_t held = dir_held(d);
	char *buf = NULL;

	if (held > 0) {
		if ((buf = malloc(BUF_SMALL)) == NULL)
			return -1;
		memcpy(buf, d->d_buf + d->d_off, held);
	}
	d->d_buf = buf;
	d->d_borrowed = 0;
	d->d_off = 0;
	d->d_len = held;
	d->d_size = BUF_SMALL;
	return 0;
}

/* Returns what one write moved out of the buffer or pipe, or -1. */
static ssize_t
dir_write(struct dir *d)
{
	ssize_t n;

	if (d->d_buf != NULL) {
		n = write(d->d_wfd, d->d_buf + d->d_off, d->d_len - d->d_off);
		if (n > 0)
			d->d_off += n;
	} else {
		n = splice(d->d_pipe.p_fd[0], NULL, d->d_wfd, NULL,
		    d->d_inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0)
			d->d_inpipe -= n;
	}
	if (n == -1 && errno == EAGAIN)
		d->d_wready = 0;
	return n;
}

static size_t
dir_held(const struct dir *d)
{
	return d->d_buf != NULL ? d->d_len - d->d_off : d->d_inpipe;
}

/* Returns 1 if a read has somewhere to go. */
static int
dir_room(const struct dir *d)
{
	if (d->d_buf != NULL)
		return d->d_len < d->d_size;
	if (d->d_pipe.p_fd[0] != -1)
		return d->d_inpipe < d->d_pipe.p_cap;
	return 1;
}

/* Gives back the pipe and buffer of a direction; held bytes are lost. */
static void
dir_release(struct loop *l, struct dir *d)
{
	pipe_put(l, &d->d_pipe, d->d_inpipe == 0);
	d->d_inpipe = 0;
	if (!d->d_borrowed)
		free(d->d_buf);
	d->d_buf = NULL;
	d->d_borrowed = 0;
	d->d_off = d->d_len = 0;
}

/*
 * Passes EOF on: shutdown of a socket, close of a pipe (a write end of
 * its own; the same fd as the read side cannot be closed yet).
 */
static void
dir_shut(struct loop *l, struct tunnel *t, struct dir *d)
{
	int slot, rfd;

	d->d_done = 1;
	if (d->d_wfd == -1)
		return;
	if (d->d_wsock) {
		(void)shutdown(d->d_wfd, SHUT_WR);
		return;
	}
	slot = d == &t->t_up ? S_UWRITE : S_CWRITE;
	rfd = d == &t->t_up ? t->t_u_rfd : t->t_conn->c_rfd;
	if (d->d_wfd == rfd)
		return;
	if (t->t_efd[slot] != -1) {
		(void)epoll_ctl(l->l_ep, EPOLL_CTL_DEL, t->t_efd[slot], NULL);
		t->t_efd[slot] = -1;
	}
	if (d == &t->t_down) {
		if (t->t_cflags[1] != -1)
			(void)fcntl(d->d_wfd, F_SETFL, t->t_cflags[1]);
		t->t_conn->c_wfd = -1;
	} else
		t->t_u_wfd = -1;
	close(d->d_wfd);
	d->d_wfd = -1;
}

/* Reports, closes and frees the tunnel. */
static void
tunnel_end(struct loop *l, struct tunnel *t, const char *reason)
{
	struct relay_stats st;
	struct conn *c = t->t_conn;
	int s;

	for (s = 0; s < S_MAX; s++)
		if (t->t_efd[s] != -1)
			(void)epoll_ctl(l->l_ep, EPOLL_CTL_DEL, t->t_efd[s],
			    NULL);
	dir_release(l, &t->t_up);
	dir_release(l, &t->t_down);
	/* A tty or pipe may be shared with our parent: leave it as found. */
	if (t->t_cflags[0] != -1 && c->c_rfd != -1)
		(void)fcntl(c->c_rfd, F_SETFL, t->t_cflags[0]);
	if (t->t_cflags[1] != -1 && c->c_wfd != -1)
		(void)fcntl(c->c_wfd, F_SETFL, t->t_cflags[1]);
	st.rs_up = t->t_up.d_bytes;
	st.rs_down = t->t_down.d_bytes;
	st.rs_reason = reason != NULL ? reason : "error";
	if (strcmp(st.rs_reason, "done") == 0)
		st.rs_end = REASON_DONE;
	else if (strcmp(st.rs_reason, "idle timeout") == 0)
		st.rs_end = REASON_IDLE_TIMEOUT;
	else if (t->t_side != SIDE_NONE)
		st.rs_end = t->t_side == SIDE_CLIENT ? REASON_CLIENT_CLOSED :
		    REASON_UPSTREAM_CLOSED;
	else
		st.rs_end = REASON_INTERNAL_ERROR;
	memcpy(st.rs_first, t->t_first, t->t_nfirst);
	st.rs_nfirst = t->t_nfirst;
	if (t->t_done != NULL)
		t->t_done(c, &st, t->t_arg);
	conn_set_upstream(c, -1);
	if (t->t_u_rfd != -1)
		close(t->t_u_rfd);
	if (t->t_u_wfd != -1 && t->t_u_wfd != t->t_u_rfd)
		close(t->t_u_wfd);
	TAILQ_REMOVE(&l->l_tunnels, t, t_entry);
	free(t);
	conn_end(c);
}

/* Returns 0 with the direction's fd kinds noted, or -1 if one is bad. */
static int
dir_init(struct dir *d, int rfd, int wfd)
{
	struct stat rst, wst;
	int on = 1;

	if (fstat(rfd, &rst) == -1 || fstat(wfd, &wst) == -1)
		return -1;
	if (S_ISSOCK(rst.st_mode))
		(void)setsockopt(rfd, SOL_SOCKET, SO_OOBINLINE, &on,
		    sizeof(on));
	d->d_rfd = rfd;
	d->d_wfd = wfd;
	d->d_splice = (S_ISSOCK(rst.st_mode) || S_ISFIFO(rst.st_mode)) &&
	    (S_ISSOCK(wst.st_mode) || S_ISFIFO(wst.st_mode));
	d->d_wsock = S_ISSOCK(wst.st_mode);
	d->d_rready = d->d_wready = 1;
	d->d_pipe.p_fd[0] = d->d_pipe.p_fd[1] = -1;
	return 0;
}

/* Returns the fd's flags before O_NONBLOCK was added, or -1. */
static int
set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 || (fl & O_NONBLOCK))
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ? -1 : fl;
}

int
relay_start(struct conn *c, int u_rfd, int u_wfd, const void *pending,
    size_t npending, int idle_timeout, relay_done done, void *arg)
{
	struct tunnel *t;
	struct loop *l;
	int s;

	if (loops_start() == -1)
		return -1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	if (dir_init(&t->t_up, c->c_rfd, u_wfd) == -1 ||
	    dir_init(&t->t_down, u_rfd, c->c_wfd) == -1)
		goto fail;
	if (npending > 0) {
		t->t_up.d_size = npending > BUF_SMALL ? npending : BUF_SMALL;
		if ((t->t_up.d_buf = malloc(t->t_up.d_size)) == NULL)
			goto fail;
		memcpy(t->t_up.d_buf, pending, npending);
		t->t_up.d_len = npending;
	}
	t->t_conn = c;
	t->t_done = done;
	t->t_arg = arg;
	t->t_u_rfd = u_rfd;
	t->t_u_wfd = u_wfd;
	t->t_idle_ms = idle_timeout > 0 ? (uint64_t)idle_timeout * 1000 : 0;
	for (s = 0; s < S_MAX; s++)
		t->t_efd[s] = -1;
	/* Sockets are ours to close; a tty or pipe goes back as it was. */
	t->t_cflags[0] = set_nonblock(c->c_rfd);
	t->t_cflags[1] = c->c_wfd != c->c_rfd ? set_nonblock(c->c_wfd) : -1;
	if (c->c_is_socket)
		t->t_cflags[0] = t->t_cflags[1] = -1;
	(void)set_nonblock(u_rfd);
	(void)set_nonblock(u_wfd);
	c->c_handed_off = 1;
	conn_set_upstream(c, u_rfd);

	l = &loops[__atomic_fetch_add(&next_loop, 1, __ATOMIC_RELAXED) %
	    nloops];
	t->t_loop = l;
	pthread_mutex_lock(&l->l_lock);
	*l->l_inboxtail = t;
	l->l_inboxtail = &t->t_next;
	pthread_mutex_unlock(&l->l_lock);
	(void)eventfd_write(l->l_evfd, 1);
	return 0;
fail:
	free(t->t_up.d_buf);
	free(t);
	return -1;
}
