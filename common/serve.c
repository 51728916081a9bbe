/*
 * serve.c - the front side: how connections arrive (DESIGN.md).
 *
 * Concurrency: one thread per connection, with a small stack (256 KiB,
 * of which a handler touches a few pages).  A thread lets every program
 * write its protocol as straight-line blocking code - the same code that
 * serves one inetd connection on fds 0 and 1 - with no per-connection
 * state anywhere but the stack and struct conn.  The cost is a thread
 * start per connection, and even that is mostly saved: a thread whose
 * connection ended waits a few seconds for the next one, so under load a
 * connection costs a futex wake, not a clone, an mmap and an exit.  That
 * fits the target of twice tinyproxy's CONNECT setup rate (~30,000/s at
 * concurrency 64 on 2 cores), which a forking server would miss.
 *
 * Threads would not do for the other target, 5,000 idle tunnels under
 * 8 KiB each: so a tunnel's thread lives only while its request is
 * parsed and its upstream connected, then relay_start() hands the fds to
 * relay.c's one shared event loop and the thread is free again.  cgid
 * and httpftpd keep the thread for the whole connection, which is what
 * their work (a child process, an FTP transfer) costs anyway.
 *
 * Signals are events (skarnet's selfpipe): the handlers write a byte to
 * a pipe that the accept loop polls with the listeners, and the loop does
 * the work.  Connection threads block those signals so that their reads
 * are never interrupted.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "opts.h"
#include "proxyproto.h"
#include "serve.h"

#if defined(__SANITIZE_ADDRESS__)
#define CONN_STACK	(1024 * 1024)	/* ASan's redzones need room */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONN_STACK	(1024 * 1024)
#endif
#endif
#ifndef CONN_STACK
#define CONN_STACK	(256 * 1024)
#endif

#define MAX_LISTENERS	64
#define BACKLOG		1024
#define ACCEPT_BURST	64	/* accepts per listener per poll round */
#define EMFILE_PAUSE_MS	200	/* out of fds: stop accepting this long */
#define SD_FIRST_FD	3	/* SD_LISTEN_FDS_START */
#define WAKE_CONN	'c'	/* self-pipe byte: a connection ended */
#define IDLE_THREAD_S	10	/* a finished thread waits this long for more */

struct listener {
	int		 l_fd;
	int		 l_unlink;	/* our unix path: remove at exit */
	struct sockaddr_storage l_addr;
	char		 l_name[NET_HOSTLEN + NET_PORTLEN + 8];
};

/* A connection as serve.c sees it; the program sees only sc_conn. */
struct sconn {
	struct conn	 sc_conn;	/* first: a struct conn * is ours */
	int		 sc_in_handler;	/* the handler has not returned */
	int		 sc_ended;	/* conn_end() was called */
	struct sconn	*sc_next;	/* in the queue for idle threads */
};

struct server {
	const struct gtr_opts *s_opts;
	serve_handler	 s_handler;
	void		*s_arg;
	struct listener	 s_ls[MAX_LISTENERS];
	int		 s_nls;
	struct ifaddrs	*s_ifs;		/* for wildcard listeners */
	int		 s_pipe[2];	/* self-pipe: signals, wake-ups */
	int		 s_single;	/* one client: the environment is its */
	pthread_mutex_t	 s_mu;
	pthread_cond_t	 s_cv;		/* s_live went down */
	pthread_cond_t	 s_work;	/* s_queue has a connection */
	struct sconn	*s_queue;	/* accepted, for an idle thread */
	int		 s_idle;	/* idle threads minus queued conns */
	int		 s_live;
	int		 s_paused;	/* at --max-conns: wake the loop */
	void		(*s_hup)(void *);
	void		*s_hup_arg;
};

static struct server srv = {
	.s_pipe = { -1, -1 },
	.s_mu = PTHREAD_MUTEX_INITIALIZER,
};
static atomic_int stopping;
static atomic_ulong next_id;

static int	 start_env(const char *, int *, int *);
static int	 systemd_fds(void);
static int	 adopt_fds(int, int, int *, int *);
static int	 adopt_listener(int);
static int	 is_listening(int);
static void	 quiet_stderr(void);
static int	 listen_list(const char *const *, int);
static int	 listen_addr(const char *);
static int	 listen_unix(const struct net_addr *);
static int	 listen_tcp(const struct addrinfo *);
static int	 add_listener(int, int);
static void	 name_addr(const struct sockaddr_storage *, char *, size_t);
static int	 drop_privileges(const char *);
static int	 serve_one(int, int);
static int	 accept_loop(void);
static int	 poll_set(struct pollfd *, uint64_t);
static void	 accept_some(int, uint64_t *);
static void	 start_thread(struct conn *);
static int	 give_to_idle(struct conn *);
static struct sconn *wait_for_work(void);
static void	*conn_thread(void *);
static void	 conn_run(struct conn *);
static int	 conn_proxy(struct conn *);
static struct conn *conn_new(int, int);
static void	 conn_drop(struct conn *);
static void	 conn_addrs(struct conn *);
static void	 env_addr(const char *, const char *,
		    struct sockaddr_storage *);
static void	 conn_names(struct conn *);
static void	 on_signal(int);
static int	 signals_init(void);
static void	 signals_handle(void);
static void	 wake(char);
static void	 stop(void);
static void	 unmap(const struct sockaddr *, struct sockaddr_storage *);
static int	 is_local(const struct sockaddr_storage *);
static int	 is_wildcard(const struct sockaddr_storage *);
static void	 ifs_load(void);

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
serve_stopping(void)
{
	return atomic_load(&stopping);
}

void
serve_on_hup(void (*fn)(void *), void *arg)
{
	srv.s_hup = fn;
	srv.s_hup_arg = arg;
}

int
serve_main(const struct gtr_opts *opts, const char *default_addr,
    serve_handler handler, void *arg)
{
	pthread_condattr_t ca;
	int rfd = -1, wfd = -1, rc;

	srv.s_opts = opts;
	srv.s_handler = handler;
	srv.s_arg = arg;
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&srv.s_cv, &ca) != 0 ||
	    pthread_cond_init(&srv.s_work, &ca) != 0) {
		log_error("unable to set up a condition variable");
		return 1;
	}
	pthread_condattr_destroy(&ca);
	signal(SIGPIPE, SIG_IGN);

	if (opts->nlisten > 0) {
		(void)systemd_fds();	/* not ours to pass on either */
		rc = listen_list(opts->listen, opts->nlisten);
	} else
		rc = start_env(default_addr, &rfd, &wfd);
	if (rc != 0)
		return rc;
	ifs_load();
	if ((rc = drop_privileges(opts->user)) != 0)
		return rc;
	if (rfd != -1)
		return serve_one(rfd, wfd);
	return accept_loop();
}

/*
 * Picks the mode from the environment and fd 0 (DESIGN.md, steps 2-5).
 * Returns 0 with either listeners set up or the fds of the one client set,
 * or an exit status.
 */
static int
start_env(const char *default_addr, int *rfd, int *wfd)
{
	struct stat st;
	int n;

	if ((n = systemd_fds()) > 0)
		return adopt_fds(SD_FIRST_FD, n, rfd, wfd);
	if (fstat(STDIN_FILENO, &st) == -1 || isatty(STDIN_FILENO))
		return listen_list(&default_addr, 1);
	if (S_ISSOCK(st.st_mode)) {
		quiet_stderr();
		return adopt_fds(STDIN_FILENO, 1, rfd, wfd);
	}
	srv.s_single = 1;
	*rfd = STDIN_FILENO;
	*wfd = STDOUT_FILENO;
	return 0;
}

/*
 * Returns how many fds systemd passed us (0 if none, or not for us),
 * and removes its variables so no child sees them.
 */
static int
systemd_fds(void)
{
	const char *pid, *fds;
	long long p = 0, n = 0;
	int ours;

	pid = getenv("LISTEN_PID");
	fds = getenv("LISTEN_FDS");
	ours = pid != NULL && fds != NULL &&
	    opts_number(pid, 1, INT32_MAX, &p) == 0 && p == getpid();
	if (ours && opts_number(fds, 0, MAX_LISTENERS, &n) == -1) {
		log_warnx("LISTEN_FDS=\"%s\" ignored: not a number from 0 "
		    "to %d", fds, MAX_LISTENERS);
		ours = 0;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return ours ? (int)n : 0;
}

/*
 * Takes fds first..first+n-1: listening sockets become listeners; the
 * first connected one (or a non-socket) is the one client.  Returns 0
 * or an exit status.
 */
static int
adopt_fds(int first, int n, int *rfd, int *wfd)
{
	int fd;

	for (fd = first; fd < first + n; fd++) {
		if (fd > STDERR_FILENO)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (is_listening(fd)) {
			if (adopt_listener(fd) == -1)
				return 1;
			continue;
		}
		if (*rfd != -1)
			continue;
		srv.s_single = 1;
		*rfd = fd;
		*wfd = fd == STDIN_FILENO ? STDOUT_FILENO : fd;
	}
	return 0;
}

/* Returns 1 if fd is a listening socket. */
static int
is_listening(int fd)
{
	socklen_t len = sizeof(int);
	int on = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == -1)
		return 0;
	return on;
}

/* Adds a listening socket handed to us; 0 or -1. */
static int
adopt_listener(int fd)
{
	int fl;

	/* The accept loop must never block in accept(). */
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		log_error("unable to use listening fd %d: %s", fd,
		    strerror(errno));
		return -1;
	}
	return add_listener(fd, 0);
}

/*
 * inetd puts the client's socket on fd 2 as well: log lines would go to
 * the client, so they go nowhere instead.
 */
static void
quiet_stderr(void)
{
	struct stat in, err;
	int fd;

	if (fstat(STDIN_FILENO, &in) == -1 || fstat(STDERR_FILENO, &err) ==
	    -1 || in.st_dev != err.st_dev || in.st_ino != err.st_ino)
		return;
	if ((fd = open("/dev/null", O_WRONLY)) == -1)
		return;
	(void)dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Listens on each address; 0, 64 (bad address) or 1 (cannot listen). */
static int
listen_list(const char *const *addrs, int n)
{
	int i, rc;

	for (i = 0; i < n; i++)
		if ((rc = listen_addr(addrs[i])) != 0)
			return rc;
	return 0;
}

/* Listens on one -l address (every address a name has); 0, 64 or 1. */
static int
listen_addr(const char *s)
{
	struct net_addr a;
	struct addrinfo hints, *res, *ai;
	char err[256];
	int rc;

	if (net_addr_parse(s, "127.0.0.1", NULL, &a, err, sizeof(err)) ==
	    -1) {
		log_error("-l %s: %s", s, err);
		return EXIT_USAGE;
	}
	if (a.is_unix)
		return listen_unix(&a);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(a.host[0] != '\0' ? a.host : NULL, a.port,
	    &hints, &res)) != 0) {
		log_error("-l %s: %s", s, gai_strerror(rc));
		return EXIT_USAGE;
	}
	for (ai = res, rc = 0; ai != NULL && rc == 0; ai = ai->ai_next)
		rc = listen_tcp(ai);
	freeaddrinfo(res);
	return rc;
}

/* Binds and listens on one TCP address; 0 or 1. */
static int
listen_tcp(const struct addrinfo *ai)
{
	char name[NET_HOSTLEN + NET_PORTLEN + 8];
	struct sockaddr_storage ss;
	int fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	name_addr(&ss, name, sizeof(name));
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, BACKLOG) == -1) {
		log_error("unable to listen on %s: %s", name,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return 1;
	}
	return add_listener(fd, 0) == -1 ? 1 : 0;
}

/* Binds a unix socket, replacing a stale one; 0 or 1. */
static int
listen_unix(const struct net_addr *a)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(a->path) >= sizeof(sun.sun_path)) {
		log_error("-l unix:%s: path too long", a->path);
		return EXIT_USAGE;
	}
	memcpy(sun.sun_path, a->path, strlen(a->path));
	/* Only ever remove a socket: a typo must not delete a file. */
	if (lstat(a->path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(a->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, BACKLOG) == -1) {
		log_error("unable to listen on unix:%s: %s", a->path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return 1;
	}
	return add_listener(fd, 1) == -1 ? 1 : 0;
}

/* Records a listening fd and says so; 0 or -1 (too many). */
static int
add_listener(int fd, int unlink_at_exit)
{
	struct listener *l;
	socklen_t len;

	if (srv.s_nls == MAX_LISTENERS) {
		log_error("more than %d listening sockets", MAX_LISTENERS);
		close(fd);
		return -1;
	}
	l = &srv.s_ls[srv.s_nls++];
	memset(l, 0, sizeof(*l));
	l->l_fd = fd;
	l->l_unlink = unlink_at_exit;
	len = sizeof(l->l_addr);
	if (getsockname(fd, (struct sockaddr *)&l->l_addr, &len) == -1)
		l->l_addr.ss_family = AF_UNSPEC;
	name_addr(&l->l_addr, l->l_name, sizeof(l->l_name));
	log_info("listening on %s", l->l_name);
	return 0;
}

/* Writes "1.2.3.4:80", "[::1]:80" or "unix:PATH" for an address. */
static void
name_addr(const struct sockaddr_storage *ss, char *out, size_t len)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)ss;
	char ip[NET_IPLEN], port[NET_PORTLEN];

	if (ss->ss_family == AF_UNIX)
		snprintf(out, len, "unix:%s", sun->sun_path);
	else if (ss->ss_family == AF_INET6) {
		net_ntop((const struct sockaddr *)ss, ip, port);
		snprintf(out, len, "[%s]:%s", ip, port);
	} else if (ss->ss_family == AF_INET) {
		net_ntop((const struct sockaddr *)ss, ip, port);
		snprintf(out, len, "%s:%s", ip, port);
	} else
		snprintf(out, len, "-");
}

/* Becomes user (all ids and groups); 0, 78 (no such user) or 1. */
static int
drop_privileges(const char *user)
{
	struct passwd *pw;

	if (user == NULL)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_error("-u %s: no such user", user);
		return EXIT_CONFIG;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		log_error("unable to become user %s: %s", user,
		    strerror(errno));
		return 1;
	}
	return 0;
}

/* Serves the one client in this thread; returns 0 once it has ended. */
static int
serve_one(int rfd, int wfd)
{
	struct conn *c;

	if ((c = conn_new(rfd, wfd)) == NULL)
		return 1;
	conn_run(c);
	/* A handed-off connection ends in another thread. */
	pthread_mutex_lock(&srv.s_mu);
	while (srv.s_live > 0)
		pthread_cond_wait(&srv.s_cv, &srv.s_mu);
	pthread_mutex_unlock(&srv.s_mu);
	return 0;
}

/* Accepts until SIGTERM/SIGINT, then waits out the grace; returns 0. */
static int
accept_loop(void)
{
	struct pollfd pfd[MAX_LISTENERS + 1];
	uint64_t now, pause_until = 0;
	int i, n, nfds;

	if (signals_init() == -1)
		return 1;
	while (!atomic_load(&stopping)) {
		nfds = poll_set(pfd, pause_until);
		now = now_ms();
		n = poll(pfd, nfds, pause_until > now ?
		    (int)(pause_until - now) : -1);
		if (n == -1 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (n <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			signals_handle();
		for (i = 1; i < nfds && !atomic_load(&stopping); i++)
			if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
				accept_some(pfd[i].fd, &pause_until);
	}
	stop();
	return 0;
}

/*
 * Fills pfd with the self-pipe and, unless at --max-conns or pausing
 * after EMFILE, the listeners.  Returns how many slots it used.
 */
static int
poll_set(struct pollfd *pfd, uint64_t pause_until)
{
	int i, n = 1, paused;

	pfd[0].fd = srv.s_pipe[0];
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	pthread_mutex_lock(&srv.s_mu);
	paused = srv.s_paused = srv.s_live >= srv.s_opts->max_conns;
	pthread_mutex_unlock(&srv.s_mu);
	if (paused || pause_until > now_ms())
		return n;
	for (i = 0; i < srv.s_nls; i++) {
		pfd[n].fd = srv.s_ls[i].l_fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

/* Accepts what is waiting on a listener, up to the --max-conns bound. */
static void
accept_some(int lfd, uint64_t *pause_until)
{
	static int starved;	/* out of fds: said so once */
	struct conn *c;
	int i, fd, full;

	for (i = 0; i < ACCEPT_BURST; i++) {
		pthread_mutex_lock(&srv.s_mu);
		full = srv.s_live >= srv.s_opts->max_conns;
		pthread_mutex_unlock(&srv.s_mu);
		if (full)
			return;
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Retrying at once would spin: back off. */
				if (!starved)
					log_warnx("unable to accept: %s; "
					    "pausing until connections end",
					    strerror(errno));
				starved = 1;
				*pause_until = now_ms() + EMFILE_PAUSE_MS;
				return;
			}
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EPROTO)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warnx("unable to accept: %s",
				    strerror(errno));
			return;
		}
		if (starved)
			log_info("accepting again");
		starved = 0;
		if ((c = conn_new(fd, fd)) != NULL)
			start_thread(c);
	}
}

/*
 * Runs the connection in an idle thread, or else in a new detached one
 * with a small stack.
 */
static void
start_thread(struct conn *c)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t set, old;
	int rc;

	if (give_to_idle(c) == 0)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, CONN_STACK);
	/* The new thread inherits the mask: only the loop takes signals. */
	pthread_sigmask(SIG_BLOCK, &set, &old);
	rc = pthread_create(&t, &attr, conn_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		log_warnx("conn=%lu: unable to start a thread: %s", c->c_id,
		    strerror(rc));
		conn_drop(c);
	}
}

/*
 * Queues c for a thread that finished its connection and waits for
 * another (a futex wake instead of a clone and an exit).  Returns 0, or
 * -1 if no thread is idle.
 */
static int
give_to_idle(struct conn *c)
{
	struct sconn *sc = (struct sconn *)c;
	int given = 0;

	pthread_mutex_lock(&srv.s_mu);
	if (srv.s_idle > 0) {
		srv.s_idle--;
		sc->sc_next = srv.s_queue;
		srv.s_queue = sc;
		pthread_cond_signal(&srv.s_work);
		given = 1;
	}
	pthread_mutex_unlock(&srv.s_mu);
	return given ? 0 : -1;
}

/*
 * Waits up to IDLE_THREAD_S for a queued connection.  Returns it, or
 * NULL when the thread should end.
 */
static struct sconn *
wait_for_work(void)
{
	struct sconn *sc = NULL;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += IDLE_THREAD_S;
	pthread_mutex_lock(&srv.s_mu);
	srv.s_idle++;
	while (srv.s_queue == NULL && !atomic_load(&stopping))
		if (pthread_cond_timedwait(&srv.s_work, &srv.s_mu, &ts) ==
		    ETIMEDOUT)
			break;
	if ((sc = srv.s_queue) != NULL)
		srv.s_queue = sc->sc_next;
	else
		srv.s_idle--;
	pthread_mutex_unlock(&srv.s_mu);
	return sc;
}

static void *
conn_thread(void *arg)
{
	struct sconn *sc = arg;

	do
		conn_run(&sc->sc_conn);
	while ((sc = wait_for_work()) != NULL);
	return NULL;
}

/* Reads the PROXY header if asked to, then hands c to the program. */
static void
conn_run(struct conn *c)
{
	struct sconn *sc = (struct sconn *)c;
	int ended, handed;

	if (srv.s_opts->accept_proxy && conn_proxy(c) == -1) {
		conn_drop(c);
		return;
	}
	srv.s_handler(c, srv.s_arg);
	/* A new owner may have ended c already: it left the freeing to us. */
	pthread_mutex_lock(&srv.s_mu);
	sc->sc_in_handler = 0;
	ended = sc->sc_ended;
	handed = c->c_handed_off;
	pthread_mutex_unlock(&srv.s_mu);
	if (ended)
		free(sc);
	else if (!handed)
		conn_end(c);
}

/* Takes the client's address from a PROXY header; 0, or -1 if none. */
static int
conn_proxy(struct conn *c)
{
	struct sockaddr_storage src, dst;
	uint64_t deadline;

	deadline = c->c_start_ms + (uint64_t)srv.s_opts->header_timeout * 1000;
	if (proxy_read(c->c_rfd, &src, &dst, deadline) == -1) {
		log_warnx("conn=%lu: no valid PROXY header from %s:%s; "
		    "closed", c->c_id, c->c_peer_ip, c->c_peer_port);
		return -1;
	}
	if (src.ss_family != AF_UNSPEC) {
		c->c_peer = src;
		c->c_local = dst;
		conn_names(c);
	}
	return 0;
}

/* Returns a new connection on the fds (counted as live), or NULL. */
static struct conn *
conn_new(int rfd, int wfd)
{
	struct sconn *sc;
	struct conn *c;

	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		log_warnx("unable to allocate a connection: %s",
		    strerror(errno));
		close(rfd);
		if (wfd != rfd)
			close(wfd);
		return NULL;
	}
	c = &sc->sc_conn;
	c->c_rfd = rfd;
	c->c_wfd = wfd;
	c->c_id = atomic_fetch_add(&next_id, 1) + 1;
	c->c_start_ms = now_ms();
	c->c_srv = &srv;
	sc->sc_in_handler = 1;
	conn_addrs(c);
	pthread_mutex_lock(&srv.s_mu);
	srv.s_live++;
	pthread_mutex_unlock(&srv.s_mu);
	return c;
}

/*
 * Fills in both ends' addresses: from the socket when it is TCP, else
 * (one client only) from the UCSPI variables a launcher set.
 */
static void
conn_addrs(struct conn *c)
{
	struct stat st;
	socklen_t len;

	c->c_is_socket = fstat(c->c_rfd, &st) == 0 && S_ISSOCK(st.st_mode);
	if (c->c_is_socket) {
		len = sizeof(c->c_peer);
		if (getpeername(c->c_rfd, (struct sockaddr *)&c->c_peer,
		    &len) == -1)
			c->c_peer.ss_family = AF_UNSPEC;
		len = sizeof(c->c_local);
		if (getsockname(c->c_rfd, (struct sockaddr *)&c->c_local,
		    &len) == -1)
			c->c_local.ss_family = AF_UNSPEC;
	}
	if (c->c_peer.ss_family != AF_INET && c->c_peer.ss_family != AF_INET6) {
		memset(&c->c_peer, 0, sizeof(c->c_peer));
		if (srv.s_single)
			env_addr("TCPREMOTEIP", "TCPREMOTEPORT", &c->c_peer);
	}
	if (c->c_local.ss_family != AF_INET &&
	    c->c_local.ss_family != AF_INET6) {
		memset(&c->c_local, 0, sizeof(c->c_local));
		if (srv.s_single)
			env_addr("TCPLOCALIP", "TCPLOCALPORT", &c->c_local);
	}
	conn_names(c);
}

/* Fills ss from two environment variables, if both are valid. */
static void
env_addr(const char *ipvar, const char *portvar, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	const char *ip, *port;
	long long p;

	if ((ip = getenv(ipvar)) == NULL || (port = getenv(portvar)) == NULL ||
	    opts_number(port, 0, 65535, &p) == -1)
		return;
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
	} else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
	} else
		memset(ss, 0, sizeof(*ss));
}

/* Sets the printable addresses from c_peer and c_local ("-" unknown). */
static void
conn_names(struct conn *c)
{
	snprintf(c->c_peer_ip, sizeof(c->c_peer_ip), "-");
	snprintf(c->c_peer_port, sizeof(c->c_peer_port), "-");
	snprintf(c->c_local_ip, sizeof(c->c_local_ip), "-");
	snprintf(c->c_local_port, sizeof(c->c_local_port), "-");
	if (c->c_peer.ss_family != AF_UNSPEC)
		net_ntop((struct sockaddr *)&c->c_peer, c->c_peer_ip,
		    c->c_peer_port);
	if (c->c_local.ss_family != AF_UNSPEC)
		net_ntop((struct sockaddr *)&c->c_local, c->c_local_ip,
		    c->c_local_port);
}

/*
 * Ends a connection that never reached the handler.  conn_end() alone
 * would leave it allocated, since it leaves a connection still in its
 * handler to conn_run() to free.
 */
static void
conn_drop(struct conn *c)
{
	struct sconn *sc = (struct sconn *)c;

	pthread_mutex_lock(&srv.s_mu);
	sc->sc_in_handler = 0;
	pthread_mutex_unlock(&srv.s_mu);
	conn_end(c);
}

void
conn_end(struct conn *c)
{
	struct sconn *sc = (struct sconn *)c;
	int dofree;

	if (c->c_wfd != c->c_rfd && c->c_wfd != -1)
		close(c->c_wfd);
	if (c->c_rfd != -1)
		close(c->c_rfd);
	c->c_rfd = c->c_wfd = -1;
	pthread_mutex_lock(&srv.s_mu);
	srv.s_live--;
	if (srv.s_paused && srv.s_live < srv.s_opts->max_conns) {
		srv.s_paused = 0;
		wake(WAKE_CONN);
	}
	pthread_cond_broadcast(&srv.s_cv);
	sc->sc_ended = 1;
	dofree = !sc->sc_in_handler;
	pthread_mutex_unlock(&srv.s_mu);
	if (dofree)
		free(sc);
}

/* Writes one byte to the self-pipe; safe in a signal handler. */
static void
wake(char ch)
{
	int saved = errno;

	if (srv.s_pipe[1] != -1)
		(void)!write(srv.s_pipe[1], &ch, 1);
	errno = saved;
}

static void
on_signal(int sig)
{
	wake((char)sig);
}

/* Sets up the self-pipe and the handlers; 0 or -1. */
static int
signals_init(void)
{
	struct sigaction sa;

	if (pipe2(srv.s_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_error("unable to create a pipe: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	return 0;
}

/* Does what the bytes in the self-pipe ask for. */
static void
signals_handle(void)
{
	char buf[64];
	ssize_t i, n;

	while ((n = read(srv.s_pipe[0], buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] == SIGTERM || buf[i] == SIGINT) {
				log_info("%s: no longer accepting; "
				    "stopping within %d s",
				    buf[i] == SIGTERM ? "SIGTERM" : "SIGINT",
				    srv.s_opts->grace);
				atomic_store(&stopping, 1);
			} else if (buf[i] == SIGHUP && srv.s_hup != NULL)
				srv.s_hup(srv.s_hup_arg);
		}
	}
}

/* Closes the listeners and waits up to --grace for connections. */
static void
stop(void)
{
	struct timespec ts;
	int i, left;

	for (i = 0; i < srv.s_nls; i++) {
		close(srv.s_ls[i].l_fd);
		srv.s_ls[i].l_fd = -1;
		if (srv.s_ls[i].l_unlink)
			(void)unlink(((struct sockaddr_un *)
			    &srv.s_ls[i].l_addr)->sun_path);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += srv.s_opts->grace;
	pthread_mutex_lock(&srv.s_mu);
	pthread_cond_broadcast(&srv.s_work);	/* idle threads end */
	while (srv.s_live > 0)
		if (pthread_cond_timedwait(&srv.s_cv, &srv.s_mu, &ts) ==
		    ETIMEDOUT)
			break;
	left = srv.s_live;
	pthread_mutex_unlock(&srv.s_mu);
	if (left > 0)
		log_info("grace period over: closing %d open connection%s",
		    left, left == 1 ? "" : "s");
}

/* Writes sa to out with a v4-mapped IPv6 address turned into IPv4. */
static void
unmap(const struct sockaddr *sa, struct sockaddr_storage *out)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	struct sockaddr_in *sin = (struct sockaddr_in *)out;

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		sin->sin_family = AF_INET;
		sin->sin_port = sin6->sin6_port;
		memcpy(&sin->sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	} else if (sa->sa_family == AF_INET6)
		memcpy(out, sa, sizeof(struct sockaddr_in6));
	else if (sa->sa_family == AF_INET)
		memcpy(out, sa, sizeof(struct sockaddr_in));
}

/* Returns 1 for 0.0.0.0 and [::]. */
static int
is_wildcard(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	return 0;
}

/* Reads the interfaces' addresses once, if a wildcard listener needs them. */
static void
ifs_load(void)
{
	int i;

	for (i = 0; i < srv.s_nls; i++)
		if (is_wildcard(&srv.s_ls[i].l_addr)) {
			if (getifaddrs(&srv.s_ifs) == -1) {
				log_warn("getifaddrs");
				srv.s_ifs = NULL;
			}
			return;
		}
}

/*
 * Returns 1 if the address (port aside) reaches this host: loopback,
 * unspecified, or one of the interfaces' addresses.
 */
static int
is_local(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	struct ifaddrs *ifa;

	if (is_wildcard(ss) || (ss->ss_family == AF_INET &&
	    (ntohl(sin->sin_addr.s_addr) >> 24) == 127) ||
	    (ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)))
		return 1;
	for (ifa = srv.s_ifs; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL ||
		    ifa->ifa_addr->sa_family != ss->ss_family)
			continue;
		if (ss->ss_family == AF_INET && memcmp(&sin->sin_addr,
		    &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr, 4) == 0)
			return 1;
		if (ss->ss_family == AF_INET6 && memcmp(&sin6->sin6_addr,
		    &((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr,
		    16) == 0)
			return 1;
	}
	return 0;
}

int
serve_is_own_addr(const struct sockaddr *sa)
{
	struct sockaddr_storage a, l;
	int i;

	unmap(sa, &a);
	if (a.ss_family != AF_INET && a.ss_family != AF_INET6)
		return 0;
	for (i = 0; i < srv.s_nls; i++) {
		unmap((struct sockaddr *)&srv.s_ls[i].l_addr, &l);
		if (l.ss_family != a.ss_family)
			continue;
		if (net_same_addr((struct sockaddr *)&l,
		    (struct sockaddr *)&a))
			return 1;
		if (!is_wildcard(&l) || (l.ss_family == AF_INET ?
		    ((struct sockaddr_in *)&l)->sin_port !=
		    ((struct sockaddr_in *)&a)->sin_port :
		    ((struct sockaddr_in6 *)&l)->sin6_port !=
		    ((struct sockaddr_in6 *)&a)->sin6_port))
			continue;
		if (is_local(&a))
			return 1;
	}
	return 0;
}
