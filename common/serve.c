/*
 * serve.c - the front side: how connections arrive (DESIGN.md).
 *
 * Concurrency: one thread per connection, with a small stack (256 KiB,
 * of which a handler touches a few pages).  A thread lets every program
 * write its protocol as straight-line blocking code - the same code that
 * serves one inetd connection on fds 0 and 1 - with no per-connection
 * state anywhere but the stack and struct conn.  What a thread costs is
 * mostly saved: the thread that accepts a connection is the one that
 * serves it, and then goes back to accepting, so under load a connection
 * costs no clone, no hand-off and no wake-up but the accept's own.  The
 * accepting threads each wait on every listener with EPOLLEXCLUSIVE, so
 * a new connection wakes one of them; one that accepts leaves a new one
 * behind if it was the last, and one idle for a few seconds while others
 * wait ends.  (This leans on Linux 6.1's epoll, which takes a woken
 * waiter off the listener's queue at once; before it, a second
 * connection arriving before the woken thread ran could wait for that
 * thread to come back.  One shared level-triggered epoll set avoids that
 * but cost 5-10% more CPU per tunnel here.)  connectd so sets up short
 * tunnels at 0.8-1.1 of the rate of the least work a CONNECT proxy can
 * do (bench/RESULTS.md, the ceiling row); a forking server, or a
 * hand-off from an accept loop to workers, stays well below it.
 *
 * Threads would not do for the other target, 5,000 idle tunnels under
 * 8 KiB each: so a tunnel's thread lives only while its request is
 * parsed and its upstream connected, then relay_start() hands the fds to
 * relay.c's one shared event loop and the thread is free again.  cgid
 * and httpftpd keep the thread for the whole connection, which is what
 * their work (a child process, an FTP transfer) costs anyway.
 *
 * Signals are events (skarnet's selfpipe): the handlers write a byte to
 * a pipe that the main thread polls, and it does the work.  Connection
 * threads block those signals so that their reads are never interrupted;
 * an eventfd in every accepting thread's set tells them to stop.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include "thread.h"

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
#define EMFILE_PAUSE_MS	200	/* out of fds: stop accepting this long */
#define SD_FIRST_FD	3	/* SD_LISTEN_FDS_START */
#define IDLE_THREAD_S	10	/* a spare accepting thread ends after this */
#define ACCEPT_EVENTS	8
#define LINGER_MS	2000	/* at most, reading away a client's rest */
#define CUT_MS		2000	/* at most, for cut connections' last lines */
#define MAX_CONNS_SAY_MS 60000	/* "--max-conns reached" once a minute */

struct listener {
	int		 l_fd;
	int		 l_unlink;	/* our unix path: remove at exit */
	int		 l_dual;	/* [::] that takes IPv4 too */
	struct sockaddr_storage l_addr;
	char		 l_name[NET_HOSTLEN + NET_PORTLEN + 8];
};

/* A connection as serve.c sees it; the program sees only sc_conn. */
struct sconn {
	struct conn	 sc_conn;	/* first: a struct conn * is ours */
	int		 sc_in_handler;	/* the handler has not returned */
	int		 sc_ended;	/* conn_end() was called */
	LIST_ENTRY(sconn) sc_live;	/* in srv.s_conns until conn_end() */
};

struct server {
	const struct gtr_opts *s_opts;
	serve_handler	 s_handler;
	void		*s_arg;
	struct listener	 s_ls[MAX_LISTENERS];
	int		 s_nls;
	struct ifaddrs	*s_ifs;		/* for wildcard listeners */
	struct sockaddr_storage s_self;	/* one client: where it came in */
	int		 s_pipe[2];	/* self-pipe: signals */
	int		 s_stopfd;	/* eventfd: accepting threads end */
	int		 s_single;	/* one client: the environment is its */
	pthread_mutex_t	 s_mu;
	pthread_cond_t	 s_cv;		/* s_live or s_accepting went down */
	pthread_cond_t	 s_room;	/* s_live went below --max-conns */
	int		 s_live;	/* connections, and places taken */
	LIST_HEAD(, sconn) s_conns;	/* the open connections */
	int		 s_accepting;	/* threads waiting for a connection */
	int		 s_waitroom;	/* threads waiting for s_room */
	int		 s_defer;	/* clients speak first */
	void		(*s_hup)(void *);
	void		*s_hup_arg;
	uint64_t	 s_started;	/* now_ms() at start, for uptime */
};

static struct server srv = {
	.s_pipe = { -1, -1 },
	.s_stopfd = -1,
	.s_mu = PTHREAD_MUTEX_INITIALIZER,
	.s_conns = LIST_HEAD_INITIALIZER(srv.s_conns),
};
static atomic_int stopping;
static atomic_int cutting;	/* --grace is over: open ones are cut */
static atomic_int at_max;	/* --max-conns reached: said so */
static uint64_t at_max_said;	/* when, in now_ms(); under s_mu */

/* What SIGUSR1 reports. */
static struct {
	atomic_ulong	 st_served;		/* access lines written */
	atomic_ulong	 st_class[6];		/* by status / 100; [0]: none */
	atomic_ulong	 st_reason[REASON_COUNT];
	atomic_ulong	 st_waits;		/* waits at --max-conns */
} stats;
static atomic_int starved;	/* out of fds: said so once */
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
static void	 defer_accept(void);
static int	 acceptor_start(int);
static int	 acceptor_epoll(void);
static void	*acceptor(void *);
static int	 accept_next(int);
static int	 accept_one(int);
static int	 out_of_fds(int);
static int	 accept_taken(void);
static int	 accept_leave(int);
static int	 place_take(void);
static void	 place_give_locked(void);
static void	 max_conns_reached(void);
static void	 conn_run(struct conn *);
static void	 conn_linger(struct conn *);
static int	 conn_proxy(struct conn *);
static int	 conn_allowed(const struct conn *);
static struct conn *conn_new(int, int);
static void	 conn_drop(struct conn *);
static void	 conn_addrs(struct conn *);
static void	 env_addr(const char *, const char *,
		    struct sockaddr_storage *);
static void	 conn_names(struct conn *);
static void	 on_signal(int);
static int	 signals_init(void);
static void	 signals_handle(void);
static void	 stop(void);
static void	 cut_all(void);
static void	 stats_log(void);
static void	 unmap(const struct sockaddr *, struct sockaddr_storage *);
static int	 is_local(const struct sockaddr_storage *);
static int	 is_wildcard(const struct sockaddr_storage *);
static in_port_t port_of(const struct sockaddr_storage *);
static int	 reaches(const struct sockaddr_storage *,
		    const struct sockaddr_storage *, int, int);
static void	 ifs_load(void);

int
serve_stopping(void)
{
	return atomic_load(&stopping);
}

void
serve_client_speaks_first(void)
{
	srv.s_defer = 1;
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
	int rfd = -1, wfd = -1, rc, i;

	srv.s_opts = opts;
	srv.s_started = now_ms();
	srv.s_handler = handler;
	srv.s_arg = arg;
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&srv.s_cv, &ca) != 0 ||
	    pthread_cond_init(&srv.s_room, &ca) != 0) {
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
	/* Only now: a fatal -u must not follow a "listening" line. */
	for (i = 0; i < srv.s_nls; i++)
		log_info("listening on %s", srv.s_ls[i].l_name);
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
	/*
	 * A terminal, or a device such as /dev/null (started with & from a
	 * script, cron, nohup): nobody is on fd 0 to serve, so listen.
	 */
	if (fstat(STDIN_FILENO, &st) == -1 || isatty(STDIN_FILENO) ||
	    S_ISCHR(st.st_mode))
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

	/* Accepting threads wait in epoll, never in accept(). */
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
	/* bind(2) left it to the umask: 0755 root, which only root opens. */
	if (chmod(a->path, (mode_t)srv.s_opts->socket_mode) == -1) {
		log_error("unable to set the mode of unix:%s: %s", a->path,
		    strerror(errno));
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

/*
 * Serves the one client in this thread; returns 0 once it has ended.
 * SIGHUP (a launcher's session ending, or an operator's reload meant for
 * a daemon) and SIGUSR1/2 must not end it: there is nothing to reload or
 * report in a connection of one.
 */
static int
serve_one(int rfd, int wfd)
{
	struct conn *c;

	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	if ((c = conn_new(rfd, wfd)) == NULL)
		return 1;
	pthread_mutex_lock(&srv.s_mu);
	srv.s_live++;
	pthread_mutex_unlock(&srv.s_mu);
	conn_run(c);
	/* A handed-off connection ends in another thread. */
	pthread_mutex_lock(&srv.s_mu);
	while (srv.s_live > 0)
		pthread_cond_wait(&srv.s_cv, &srv.s_mu);
	pthread_mutex_unlock(&srv.s_mu);
	return 0;
}

/*
 * Starts the accepting threads, then takes signals until SIGTERM or
 * SIGINT, and waits out the grace; returns 0, or 1 if nothing could
 * accept.
 */
static int
accept_loop(void)
{
	struct pollfd pfd;

	if (signals_init() == -1)
		return 1;
	if ((srv.s_stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		log_error("unable to create an eventfd: %s", strerror(errno));
		return 1;
	}
	if (srv.s_defer)
		defer_accept();
	if (acceptor_start(0) == -1)
		return 1;
	pfd.fd = srv.s_pipe[0];
	pfd.events = POLLIN;
	while (!atomic_load(&stopping)) {
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			break;
		}
		signals_handle();
	}
	stop();
	return 0;
}

/*
 * Has the kernel hold each TCP connection until its first bytes are in;
 * a second is its shortest hold for a silent client (one SYN-ACK resend).
 */
static void
defer_accept(void)
{
	int i, secs = 1;
	sa_family_t af;

	for (i = 0; i < srv.s_nls; i++) {
		af = srv.s_ls[i].l_addr.ss_family;
		if ((af == AF_INET || af == AF_INET6) &&
		    setsockopt(srv.s_ls[i].l_fd, IPPROTO_TCP, TCP_DEFER_ACCEPT,
		    &secs, sizeof(secs)) == -1)
			log_warn("%s: TCP_DEFER_ACCEPT", srv.s_ls[i].l_name);
	}
}

/*
 * Starts a thread that accepts connections and serves them, with a small
 * stack and the signals blocked; returns 0, or -1 (logged: as a pause
 * when out of fds while serving, when the pause ends with a connection).
 */
static int
acceptor_start(int serving)
{
	int ep, rc;

	/* Under the lock: stop() closes the listeners under it. */
	pthread_mutex_lock(&srv.s_mu);
	ep = atomic_load(&stopping) ? -1 : acceptor_epoll();
	pthread_mutex_unlock(&srv.s_mu);
	if (ep == -1) {
		if (!atomic_load(&stopping) && !(serving && out_of_fds(errno)))
			log_warnx("unable to start accepting: %s",
			    strerror(errno));
		return -1;
	}
	if ((rc = thread_start(acceptor, (void *)(intptr_t)ep,
	    CONN_STACK)) != 0) {
		log_warnx("unable to start a thread: %s", strerror(rc));
		close(ep);
		return -1;
	}
	return 0;
}

/*
 * Returns a new epoll set with the stop eventfd and every listener (each
 * exclusive: a connection wakes one waiting thread, not all), or -1.
 */
static int
acceptor_epoll(void)
{
	struct epoll_event ev;
	int ep, i;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = -1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, srv.s_stopfd, &ev) == -1)
		goto fail;
	for (i = 0; i < srv.s_nls; i++) {
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.fd = srv.s_ls[i].l_fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev) == -1)
			goto fail;
	}
	return ep;
fail:
	close(ep);
	return -1;
}

static void *
acceptor(void *arg)
{
	struct conn *c;
	int ep = (int)(intptr_t)arg;
	int fd;

	while ((fd = accept_next(ep)) != -1) {
		if ((c = conn_new(fd, fd)) != NULL)
			conn_run(c);
		else {
			pthread_mutex_lock(&srv.s_mu);
			place_give_locked();
			pthread_mutex_unlock(&srv.s_mu);
		}
	}
	close(ep);
	return NULL;
}

/*
 * Takes a place under --max-conns, then waits for a connection on any
 * listener.  Returns its fd, the place now the connection's, or -1 when
 * the thread should end: stopping, or idle while others also wait.
 */
static int
accept_next(int ep)
{
	struct epoll_event ev[ACCEPT_EVENTS];
	int i, n, fd;

	if (place_take() == -1)
		return -1;
	for (;;) {
		n = epoll_wait(ep, ev, ACCEPT_EVENTS, IDLE_THREAD_S * 1000);
		if (atomic_load(&stopping))
			return accept_leave(0);
		for (i = 0; i < n; i++)
			if (ev[i].data.fd != -1 &&
			    (fd = accept_one(ev[i].data.fd)) != -1) {
				if (accept_taken())
					(void)acceptor_start(1);
				return fd;
			}
		if (n == 0 && accept_leave(1) == -1)
			return -1;
	}
}

/* Returns a connection accepted from the listener, or -1. */
static int
accept_one(int lfd)
{
	struct pollfd pfd;
	int fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) != -1) {
		/* a plain load on every accept; a write only after a pause */
		if (atomic_load(&starved) && atomic_exchange(&starved, 0))
			log_info("accepting again");
		return fd;
	}
	if (out_of_fds(errno)) {
		/* Retrying at once would spin: back off, unless stopping. */
		pfd.fd = srv.s_stopfd;
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, EMFILE_PAUSE_MS);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR && errno != ECONNABORTED && errno != EPROTO)
		log_warnx("unable to accept: %s", strerror(errno));
	return -1;
}

/*
 * Returns 1 if err says the process is out of descriptors or memory, and
 * says so once for each pause: whether accept(2) or a new thread's epoll
 * set ran out first is a race, the pause the operator sees is the same.
 */
static int
out_of_fds(int err)
{
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return 0;
	if (!atomic_exchange(&starved, 1))
		log_warnx("unable to accept: %s; pausing until connections "
		    "end", strerror(err));
	return 1;
}

/*
 * Counts this thread out of the accepting ones, now that it has a
 * connection.  Returns 1 if it was the last and another must start.
 */
static int
accept_taken(void)
{
	int last;

	pthread_mutex_lock(&srv.s_mu);
	srv.s_accepting--;
	last = srv.s_accepting == 0 && srv.s_waitroom == 0 &&
	    !atomic_load(&stopping);
	pthread_cond_broadcast(&srv.s_cv);
	pthread_mutex_unlock(&srv.s_mu);
	return last;
}

/*
 * Counts this thread out of the accepting ones and gives its place back,
 * if it is stopping, or if idle and not the last one (so one always
 * waits).  Returns -1 if it left, 0 if it must go on waiting.
 */
static int
accept_leave(int idle)
{
	int leave;

	pthread_mutex_lock(&srv.s_mu);
	leave = !idle || srv.s_accepting > 1;
	if (leave) {
		srv.s_accepting--;
		place_give_locked();
	}
	pthread_mutex_unlock(&srv.s_mu);
	return leave ? -1 : 0;
}

/*
 * Takes a place for a connection, waiting while --max-conns are open, and
 * counts the thread as accepting.  Returns 0, or -1 when stopping.
 */
static int
place_take(void)
{
	int rc = 0;

	pthread_mutex_lock(&srv.s_mu);
	while (srv.s_live >= srv.s_opts->max_conns &&
	    !atomic_load(&stopping)) {
		atomic_fetch_add(&stats.st_waits, 1);
		max_conns_reached();
		srv.s_waitroom++;
		pthread_cond_wait(&srv.s_room, &srv.s_mu);
		srv.s_waitroom--;
	}
	if (atomic_load(&stopping))
		rc = -1;
	else {
		srv.s_live++;
		srv.s_accepting++;
		if (atomic_load(&at_max) && atomic_exchange(&at_max, 0))
			log_info("below --max-conns %d: accepting again",
			    srv.s_opts->max_conns);
	}
	pthread_mutex_unlock(&srv.s_mu);
	return rc;
}

/*
 * Says that --max-conns is reached, once for a while: a server that
 * hovers at its bound would otherwise log at every connection.  "accepting
 * again" pairs with each line said.  Called with s_mu held.
 */
static void
max_conns_reached(void)
{
	uint64_t now = now_ms();

	if (atomic_load(&at_max) || (at_max_said != 0 &&
	    now - at_max_said < MAX_CONNS_SAY_MS))
		return;
	at_max_said = now;
	atomic_store(&at_max, 1);
	log_warnx("--max-conns %d reached: new connections wait in the "
	    "backlog", srv.s_opts->max_conns);
}

/* Gives a place back: a connection ended, or was never accepted. */
static void
place_give_locked(void)
{
	srv.s_live--;
	if (srv.s_waitroom > 0)
		pthread_cond_signal(&srv.s_room);
	pthread_cond_broadcast(&srv.s_cv);
}

/*
 * Reads the PROXY header if asked to, checks --allow-client, then hands
 * c to the program.
 */
static void
conn_run(struct conn *c)
{
	struct sconn *sc = (struct sconn *)c;
	int ended, handed;

	if ((srv.s_opts->accept_proxy && conn_proxy(c) == -1) ||
	    !conn_allowed(c)) {
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
	else if (!handed) {
		conn_linger(c);
		conn_end(c);
	}
}

/*
 * Before a connection closes with bytes of its client unread (a refused
 * request, a body not taken), sends the FIN and reads the rest away for
 * up to LINGER_MS: a close with unread data sends a RST, which can
 * destroy the response before the client has read it.  nginx calls this
 * a lingering close.
 */
static void
conn_linger(struct conn *c)
{
	char buf[16 * 1024];
	struct pollfd pfd;
	uint64_t end;
	int64_t left;
	int n;

	if (!c->c_is_socket || c->c_rfd == -1 || c->c_wfd == -1 ||
	    ioctl(c->c_rfd, FIONREAD, &n) == -1 || n == 0 ||
	    shutdown(c->c_wfd, SHUT_WR) == -1)
		return;
	end = now_ms() + LINGER_MS;
	pfd.fd = c->c_rfd;
	pfd.events = POLLIN;
	while ((left = (int64_t)(end - now_ms())) > 0 &&
	    poll(&pfd, 1, (int)left) == 1 &&
	    read(c->c_rfd, buf, sizeof(buf)) > 0)
		continue;
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

/*
 * Returns 1 if --allow-client lets c's client in (the PROXY header's
 * source with --accept-proxy), or if it was not given; else logs the
 * client and returns 0, before a byte of the client's own was read.  A
 * client without an address (a unix socket, a pipe without TCPREMOTEIP)
 * is in no block.
 */
static int
conn_allowed(const struct conn *c)
{
	const struct gtr_opts *o = srv.s_opts;

	if (o->nclients == 0 || net_cidr_match(o->clients, o->nclients,
	    (const struct sockaddr *)&c->c_peer))
		return 1;
	log_info(strchr(c->c_peer_ip, ':') != NULL ?
	    "conn=%lu: client [%s]:%s is not in --allow-client; closed" :
	    "conn=%lu: client %s:%s is not in --allow-client; closed",
	    c->c_id, c->c_peer_ip, c->c_peer_port);
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
	c->c_upstream_fd = -1;
	c->c_child_pgid = -1;
	sc->sc_in_handler = 1;
	conn_addrs(c);
	pthread_mutex_lock(&srv.s_mu);
	LIST_INSERT_HEAD(&srv.s_conns, sc, sc_live);
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
	/* Ours for the loop check; a PROXY header's comes later. */
	if (srv.s_single)
		srv.s_self = c->c_local;
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

	/* Off the list first: cut_all() must never shut a reused fd. */
	pthread_mutex_lock(&srv.s_mu);
	LIST_REMOVE(sc, sc_live);
	pthread_mutex_unlock(&srv.s_mu);
	if (c->c_wfd != c->c_rfd && c->c_wfd != -1)
		close(c->c_wfd);
	if (c->c_rfd != -1)
		close(c->c_rfd);
	c->c_rfd = c->c_wfd = -1;
	pthread_mutex_lock(&srv.s_mu);
	place_give_locked();
	sc->sc_ended = 1;
	dofree = !sc->sc_in_handler;
	pthread_mutex_unlock(&srv.s_mu);
	if (dofree)
		free(sc);
}

/* Writes the signal to the self-pipe. */
static void
on_signal(int sig)
{
	int saved = errno;
	char ch = (char)sig;

	if (srv.s_pipe[1] != -1)
		(void)!write(srv.s_pipe[1], &ch, 1);
	errno = saved;
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
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGUSR2, SIG_IGN);
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
			else if (buf[i] == SIGUSR1)
				stats_log();
		}
	}
}

/*
 * Ends the accepting threads, closes the listeners and waits up to
 * --grace for connections.
 */
static void
stop(void)
{
	struct timespec ts;
	int i, left;

	atomic_store(&stopping, 1);
	(void)eventfd_write(srv.s_stopfd, 1);
	pthread_mutex_lock(&srv.s_mu);
	pthread_cond_broadcast(&srv.s_room);
	/* They leave at once; then no accept can meet a closed fd. */
	while (srv.s_accepting > 0)
		pthread_cond_wait(&srv.s_cv, &srv.s_mu);
	for (i = 0; i < srv.s_nls; i++) {
		close(srv.s_ls[i].l_fd);
		srv.s_ls[i].l_fd = -1;
		if (srv.s_ls[i].l_unlink)
			(void)unlink(((struct sockaddr_un *)
			    &srv.s_ls[i].l_addr)->sun_path);
	}
	pthread_mutex_unlock(&srv.s_mu);
	ts = clock_after(CLOCK_MONOTONIC, (uint64_t)srv.s_opts->grace * 1000);
	pthread_mutex_lock(&srv.s_mu);
	while (srv.s_live > 0)
		if (pthread_cond_timedwait(&srv.s_cv, &srv.s_mu, &ts) ==
		    ETIMEDOUT)
			break;
	left = srv.s_live;
	pthread_mutex_unlock(&srv.s_mu);
	if (left > 0) {
		log_info("grace period over: closing %d open connection%s",
		    left, left == 1 ? "" : "s");
		cut_all();
	}
}

/*
 * Cuts every open connection at the end of --grace: both directions of
 * the client's socket and of its upstream are shut and its child's
 * process group is killed, so the code serving each one wakes, ends it with reason=grace and writes its access line.
 * Waits up to CUT_MS for those lines.
 */
static void
cut_all(void)
{
	struct timespec ts;
	struct sconn *sc;

	atomic_store(&cutting, 1);
	pthread_mutex_lock(&srv.s_mu);
	LIST_FOREACH(sc, &srv.s_conns, sc_live) {
		if (sc->sc_conn.c_is_socket) {
			(void)shutdown(sc->sc_conn.c_rfd, SHUT_RDWR);
			(void)shutdown(sc->sc_conn.c_wfd, SHUT_RDWR);
		}
		if (sc->sc_conn.c_upstream_fd != -1)
			(void)shutdown(sc->sc_conn.c_upstream_fd, SHUT_RDWR);
		if (sc->sc_conn.c_child_pgid > 0)
			(void)kill(-sc->sc_conn.c_child_pgid, SIGKILL);
	}
	ts = clock_after(CLOCK_MONOTONIC, CUT_MS);
	while (srv.s_live > 0)
		if (pthread_cond_timedwait(&srv.s_cv, &srv.s_mu, &ts) ==
		    ETIMEDOUT)
			break;
	/* An owner blocked where nothing above wakes it: a bug. */
	LIST_FOREACH(sc, &srv.s_conns, sc_live)
		log_warnx("conn=%lu: cut at the end of --grace before its "
		    "access line", sc->sc_conn.c_id);
	pthread_mutex_unlock(&srv.s_mu);
}

void
conn_log_refusal(const struct conn *c, int status, const char *why)
{
	(status >= 500 ? log_info : log_debug)("conn=%lu: %s", c->c_id, why);
}

void
conn_set_upstream(struct conn *c, int fd)
{
	pthread_mutex_lock(&srv.s_mu);
	c->c_upstream_fd = fd;
	pthread_mutex_unlock(&srv.s_mu);
}

void
conn_set_child(struct conn *c, pid_t pgid)
{
	pthread_mutex_lock(&srv.s_mu);
	c->c_child_pgid = pgid;
	pthread_mutex_unlock(&srv.s_mu);
}

int
conn_cutting(void)
{
	return atomic_load(&cutting);
}

void
conn_access(const struct conn *c, struct access_line *al, int quiet)
{
	al->al_conn = c->c_id;
	al->al_client_ip = c->c_peer_ip;
	al->al_client_port = c->c_peer_port;
	if (atomic_load(&cutting))
		al->al_reason = REASON_GRACE;
	atomic_fetch_add(&stats.st_served, 1);
	atomic_fetch_add(&stats.st_class[al->al_status >= 100 &&
	    al->al_status < 600 ? al->al_status / 100 : 0], 1);
	if ((unsigned)al->al_reason < REASON_COUNT)
		atomic_fetch_add(&stats.st_reason[al->al_reason], 1);
	log_access(al, quiet);
}

void
conn_access_end(const struct conn *c, struct access_line *al, int status,
    uint64_t bytes_out, enum log_reason reason)
{
	al->al_status = status;
	al->al_bytes_out = bytes_out;
	al->al_reason = reason;
	al->al_ms = now_ms() - c->c_start_ms;
	conn_access(c, al, 0);
}

/*
 * SIGUSR1: one logfmt line of what the program has done since it
 * started; keys with a zero count are left out, but for the first ones.
 */
static void
stats_log(void)
{
	char line[1024];
	unsigned long n;
	size_t o;
	int live, i;

	pthread_mutex_lock(&srv.s_mu);
	live = srv.s_live - srv.s_accepting;
	pthread_mutex_unlock(&srv.s_mu);
	o = (size_t)snprintf(line, sizeof(line), "stats open=%d served=%lu "
	    "max_conns_waits=%lu uptime_s=%llu", live,
	    atomic_load(&stats.st_served), atomic_load(&stats.st_waits),
	    (unsigned long long)((now_ms() - srv.s_started) / 1000));
	if ((n = atomic_load(&stats.st_class[0])) > 0)
		o += (size_t)snprintf(line + o, sizeof(line) - o,
		    " status_none=%lu", n);
	for (i = 1; i < 6 && o < sizeof(line); i++)
		if ((n = atomic_load(&stats.st_class[i])) > 0)
			o += (size_t)snprintf(line + o, sizeof(line) - o,
			    " status_%dxx=%lu", i, n);
	for (i = 0; i < REASON_COUNT && o < sizeof(line); i++)
		if ((n = atomic_load(&stats.st_reason[i])) > 0)
			o += (size_t)snprintf(line + o, sizeof(line) - o,
			    " reason_%s=%lu", log_reason_name(i), n);
	log_info("%s", line);
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

/* Returns the port of ss, in network order (0 if not IP). */
static in_port_t
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_port;
	if (ss->ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)ss)->sin6_port;
	return 0;
}

/*
 * Reads once what the loop check needs: the interfaces' addresses, if a
 * wildcard listener or the one client's unknown listener may take any of
 * them, and which [::] listeners take IPv4 too (ours never do, but one
 * systemd or inetd hands us may).
 */
static void
ifs_load(void)
{
	socklen_t len;
	int i, need = srv.s_single, v6only;

	for (i = 0; i < srv.s_nls; i++) {
		if (!is_wildcard(&srv.s_ls[i].l_addr))
			continue;
		need = 1;
		len = sizeof(v6only);
		if (srv.s_ls[i].l_addr.ss_family == AF_INET6 &&
		    getsockopt(srv.s_ls[i].l_fd, IPPROTO_IPV6, IPV6_V6ONLY,
		    &v6only, &len) == 0 && !v6only)
			srv.s_ls[i].l_dual = 1;
	}
	if (need && getifaddrs(&srv.s_ifs) == -1) {
		log_warn("getifaddrs");
		srv.s_ifs = NULL;
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

/*
 * Returns 1 if a connect to a (unmapped) would reach what listens on l:
 * the same address and port; 0.0.0.0 or [::] on l's port, which Linux
 * connects to this host (to the bound source, or loopback), so any
 * listener on that port counts; or, when l is a wildcard or any is set,
 * any of this host's addresses of l's family (of both, with dual) on
 * that port.
 */
static int
reaches(const struct sockaddr_storage *l0, const struct sockaddr_storage *a,
    int any, int dual)
{
	struct sockaddr_storage l;

	unmap((const struct sockaddr *)l0, &l);
	if ((l.ss_family != AF_INET && l.ss_family != AF_INET6) ||
	    port_of(&l) != port_of(a))
		return 0;
	if (is_wildcard(a) ||
	    net_same_addr((struct sockaddr *)&l, (const struct sockaddr *)a))
		return 1;
	if ((!any && !is_wildcard(&l)) ||
	    (l.ss_family != a->ss_family && !dual))
		return 0;
	return is_local(a);
}

/*
 * Returns 1 if sa reaches us (see serve.h).  With one client from inetd,
 * tcpserver or systemd's Accept=yes there is no listener, but the address
 * the client came in on is ours, and the listener behind it may as well
 * be a wildcard of either family: every local address on that port is
 * refused, a loop more likely than another service there.
 */
int
serve_is_own_addr(const struct sockaddr *sa)
{
	struct sockaddr_storage a;
	int i;

	unmap(sa, &a);
	if (a.ss_family != AF_INET && a.ss_family != AF_INET6)
		return 0;
	for (i = 0; i < srv.s_nls; i++)
		if (reaches(&srv.s_ls[i].l_addr, &a, 0, srv.s_ls[i].l_dual))
			return 1;
	return srv.s_single && reaches(&srv.s_self, &a, 1, 1);
}
