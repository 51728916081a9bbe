/*
 * spawnprog.c - run the program after "--" for one connection, UCSPI style.
 *
 * Everything that allocates (the environment) is done before fork():
 * the parent has threads, so the child may only call async-signal-safe
 * functions until it execs.
 *
 * A program reaped later has a thread that waits for it, and is on a
 * list that spawn_reap_finish() signals until it exits: it leaves the
 * list before it is reaped, so no signal can reach a pid the kernel gave
 * to another.  The same thread sends the SIGTERM of
 * spawn_reap_later_term(), before it reaps, for the same reason.
 * spawn_reap_finish() waits for the threads, so every status is logged
 * before the exit.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "log.h"
#include "spawnprog.h"
#include "thread.h"

#define DEFAULT_PATH	"/usr/bin:/bin"
#define UCSPI_VARS	5
#define REAPER_STACK	(64 * 1024)
#define EXIT_POLL_MS	10	/* without pidfds: how often to look */

/* A program a reaper thread waits for. */
struct reaping {
	pid_t		 rp_pid;
	unsigned long	 rp_conn;
	int		 rp_term_ms;	/* SIGTERM after; 0: never */
	struct reaping	*rp_next;
};

extern char **environ;

static pthread_mutex_t	 reap_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 reap_cv = PTHREAD_COND_INITIALIZER;
static struct reaping	*reap_list;	/* the programs still running */
static int		 reap_busy;	/* reaper threads not yet done */

static int	 runnable(const char *);
static int	 env_same_name(const char *, const char *);
static int	 env_dropped(const char *, char *const []);
static int	 env_add(char **, size_t *, const char *, const char *);
static char	**env_build(const struct conn *, char *const []);
static void	 env_free(char **);
static void	 child(int, int, char *const [], char **)
		    __attribute__((noreturn));
static void	 close_from(int);
static void	 child_fail(int, int) __attribute__((noreturn));
static int	 exec_error(int);
static const char *sig_text(int);
static int	 reap(pid_t, unsigned long);
static int	 exited_within(pid_t, int);
static void	*reaper(void *);
static void	 reap_signal_all(int);
static int	 reap_wait_all(int);

/* Variables the program gets from us (or not at all), never from ours. */
static const char *const dropped[] = {
	"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "PROTO",
	"TCPREMOTEIP", "TCPREMOTEPORT", "TCPREMOTEHOST", "TCPREMOTEINFO",
	"TCPLOCALIP", "TCPLOCALPORT", "TCPLOCALHOST", NULL
};

/*
 * Returns 0 if file is a regular file we may execute, else -1 with errno
 * saying why (EISDIR and EACCES for what execve() would refuse).
 * access() alone takes a directory, and for root any mode with an x.
 */
static int
runnable(const char *file)
{
	struct stat st;

	if (stat(file, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
		return -1;
	}
	return access(file, X_OK);
}

int
spawn_check(const char *name, char *path, size_t pathlen, char *err,
    size_t errlen)
{
	const char *dirs, *d, *end;
	char buf[PATH_MAX], found[PATH_MAX] = "";
	int n, why = 0;

	if (strchr(name, '/') != NULL) {
		if (runnable(name) == -1) {
			snprintf(err, errlen, "-- %s: %s", name,
			    strerror(errno));
			return -1;
		}
		snprintf(path, pathlen, "%s", name);
		return 0;
	}
	if ((dirs = getenv("PATH")) == NULL)
		dirs = DEFAULT_PATH;
	/* as execvp(): an empty element is the current directory */
	for (d = dirs; ; d = end + 1) {
		end = strchrnul(d, ':');
		n = snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(end - d), d,
		    end == d ? "" : "/", name);
		if (n > 0 && (size_t)n < sizeof(buf)) {
			if (runnable(buf) == 0) {
				snprintf(path, pathlen, "%s", buf);
				return 0;
			}
			if (errno != ENOENT && errno != ENOTDIR &&
			    found[0] == '\0') {
				why = errno;
				snprintf(found, sizeof(found), "%s", buf);
			}
		}
		if (*end == '\0')
			break;
	}
	if (found[0] != '\0')
		snprintf(err, errlen, "-- %s: %s, found in PATH, cannot be "
		    "run: %s", name, found, strerror(why));
	else
		snprintf(err, errlen, "-- %s: not found in PATH", name);
	return -1;
}

/* Returns 1 if "NAME=value" strings a and b have the same NAME. */
static int
env_same_name(const char *a, const char *b)
{
	size_t n = strcspn(a, "=");

	return a[n] == '=' && strncmp(a, b, n + 1) == 0;
}

/*
 * Returns 1 if the "NAME=value" string names a variable we set: a UCSPI
 * or systemd one, or one in extra.
 */
static int
env_dropped(const char *s, char *const extra[])
{
	size_t n;
	int i;

	for (i = 0; dropped[i] != NULL; i++) {
		n = strlen(dropped[i]);
		if (strncmp(s, dropped[i], n) == 0 && s[n] == '=')
			return 1;
	}
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		if (env_same_name(extra[i], s))
			return 1;
	return 0;
}

/* Appends a copy of prefix and value joined ("NAME=" "value"); 0 or -1. */
static int
env_add(char **env, size_t *n, const char *prefix, const char *value)
{
	char *s;

	if (asprintf(&s, "%s%s", prefix, value) == -1)
		return -1;
	env[(*n)++] = s;
	return 0;
}

/*
 * Returns a new environment: ours without the dropped names, then the
 * connection's UCSPI variables (those known), then extra; or NULL.
 */
static char **
env_build(const struct conn *c, char *const extra[])
{
	char **env;
	size_t i, n = 0, nextra = 0;
	int rc = 0;

	while (environ[n] != NULL)
		n++;
	while (extra != NULL && extra[nextra] != NULL)
		nextra++;
	if ((env = calloc(n + UCSPI_VARS + nextra + 1, sizeof(*env))) == NULL)
		return NULL;
	n = 0;
	for (i = 0; rc == 0 && environ[i] != NULL; i++)
		if (!env_dropped(environ[i], extra))
			rc = env_add(env, &n, environ[i], "");
	if (rc == 0)
		rc = env_add(env, &n, "PROTO=", "TCP");
	if (rc == 0 && strcmp(c->c_peer_ip, "-") != 0)
		rc = env_add(env, &n, "TCPREMOTEIP=", c->c_peer_ip) |
		    env_add(env, &n, "TCPREMOTEPORT=", c->c_peer_port);
	if (rc == 0 && strcmp(c->c_local_ip, "-") != 0)
		rc = env_add(env, &n, "TCPLOCALIP=", c->c_local_ip) |
		    env_add(env, &n, "TCPLOCALPORT=", c->c_local_port);
	for (i = 0; rc == 0 && i < nextra; i++)
		rc = env_add(env, &n, extra[i], "");
	if (rc != 0) {
		env_free(env);
		return NULL;
	}
	return env;
}

static void
env_free(char **env)
{
	size_t i;

	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* Closes every fd from lowfd up. */
static void
close_from(int lowfd)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || \
    (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	if (close_range(lowfd, ~0U, 0) == 0)
		return;
#endif
	{
		long fd, max = sysconf(_SC_OPEN_MAX);

		if (max < 0 || max > 65536)
			max = 65536;
		for (fd = lowfd; fd < max; fd++)
			(void)close((int)fd);
	}
}

/*
 * In the child, after a failed exec: tells the parent why through the
 * close-on-exec pipe errfd (write() is async-signal-safe; logging is
 * not) and exits 127, as a shell does for a command it cannot run.
 */
static void
child_fail(int errfd, int err)
{
	(void)!write(errfd, &err, sizeof(err));
	_exit(127);
}

/*
 * In the child: fds, signals, exec.  Only async-signal-safe calls; errfd
 * is where an exec failure is reported.
 */
static void
child(int fd, int errfd, char *const argv[], char **env)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	/* fd must survive the dup2()s onto 0 and 1. */
	if (fd <= STDOUT_FILENO && (fd = fcntl(fd, F_DUPFD, 3)) == -1)
		_exit(127);
	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1)
		_exit(127);
	/* errfd moves to 3, still close-on-exec; the rest is closed. */
	if (errfd != 3 && dup2(errfd, 3) == -1)
		_exit(127);
	errfd = 3;
	(void)fcntl(errfd, F_SETFD, FD_CLOEXEC);
	close_from(errfd + 1);
	/* We ignore SIGPIPE; an exec'd program expects the default. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execvpe(argv[0], argv, env);
	child_fail(errfd, errno);
}

/*
 * Reads what the child reports through the close-on-exec pipe fd, and
 * closes it.  Returns 0 when the exec succeeded (the pipe closed empty),
 * else the errno it failed with.
 */
static int
exec_error(int fd)
{
	ssize_t n;
	int err = 0;

	while ((n = read(fd, &err, sizeof(err))) == -1 && errno == EINTR)
		;
	close(fd);
	return n == (ssize_t)sizeof(err) ? err : 0;
}

int
spawn_program(char *const argv[], const struct conn *c,
    char *const extra_env[], pid_t *pid)
{
	char **env;
	int sv[2], errp[2], err, quiet = log_verbosity() < LOG_NORMAL;

	*pid = -1;
	if ((env = env_build(c, extra_env)) == NULL) {
		log_warnx("conn=%lu: unable to build the environment for %s",
		    c->c_id, argv[0]);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("conn=%lu: unable to create a socket pair", c->c_id);
		env_free(env);
		return -1;
	}
	if (pipe2(errp, O_CLOEXEC) == -1) {
		log_warn("conn=%lu: unable to create a pipe", c->c_id);
		close(sv[0]);
		close(sv[1]);
		env_free(env);
		return -1;
	}
	if ((*pid = fork()) == -1) {
		log_warn("conn=%lu: unable to fork for %s", c->c_id, argv[0]);
		*pid = -1;
		close(sv[0]);
		close(sv[1]);
		close(errp[0]);
		close(errp[1]);
		env_free(env);
		return -1;
	}
	if (*pid == 0)
		child(sv[1], errp[1], argv, env);
	close(sv[1]);
	close(errp[1]);
	env_free(env);
	if ((err = exec_error(errp[0])) != 0) {
		if (!quiet)
			log_warnx("conn=%lu: unable to run %s: %s", c->c_id,
			    argv[0], strerror(err));
		(void)waitpid(*pid, NULL, 0);
		*pid = -1;	/* reaped: no one else may wait for it */
		close(sv[0]);
		errno = err;
		return -1;
	}
	log_debug("conn=%lu: started %s, pid %ld", c->c_id, argv[0],
	    (long)*pid);
	return sv[0];
}

/*
 * Returns the signal's description: strsignal() may format unknown ones
 * into a buffer shared by every thread.
 */
static const char *
sig_text(int sig)
{
	const char *s = NULL;

#if defined(__GLIBC__) && (__GLIBC__ > 2 || \
    (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
	s = sigdescr_np(sig);
#endif
	(void)sig;
	return s != NULL ? s : "unknown signal";
}

/*
 * Waits for pid and logs a non-zero status, with conn=conn_id unless it
 * is 0.  Returns the raw wait status, or -1.
 */
static int
reap(pid_t pid, unsigned long conn_id)
{
	char conn[32] = "";
	int status;

	if (conn_id != 0)
		snprintf(conn, sizeof(conn), "conn=%lu: ", conn_id);
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			log_warn("%swaitpid %ld", conn, (long)pid);
			return -1;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warnx("%spid %ld exited with status %d", conn, (long)pid,
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warnx("%spid %ld killed by signal %d (%s)", conn,
		    (long)pid, WTERMSIG(status), sig_text(WTERMSIG(status)));
	return status;
}

int
spawn_reap(pid_t pid)
{
	return reap(pid, 0);
}

/*
 * Returns 1 if the child pid exits within ms, 0 if it is still running
 * then; it is not reaped either way.  A pidfd says at once; without one
 * (a kernel before 5.3), it is looked at every EXIT_POLL_MS.
 */
static int
exited_within(pid_t pid, int ms)
{
	struct timespec ts = { 0, EXIT_POLL_MS * 1000000L };
	uint64_t deadline = now_ms() + (uint64_t)ms, now;
	siginfo_t si;
#ifdef SYS_pidfd_open
	struct pollfd pfd;
	int r;

	if ((pfd.fd = (int)syscall(SYS_pidfd_open, pid, 0)) != -1) {
		pfd.events = POLLIN;
		while ((r = poll(&pfd, 1, ms)) == -1 && errno == EINTR) {
			if ((now = now_ms()) >= deadline)
				break;
			ms = (int)(deadline - now);
		}
		close(pfd.fd);
		return r == 1;
	}
#endif
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT | WNOHANG) ==
		    -1 && errno != EINTR)
			return 1;	/* not ours to wait for: reap() says */
		if (si.si_pid == pid)
			return 1;
		if ((now = now_ms()) >= deadline)
			return 0;
		(void)nanosleep(&ts, NULL);
	}
}

/* Waits for one program in a thread of its own: no zombies. */
static void *
reaper(void *arg)
{
	struct reaping *rp = arg, **pp;
	siginfo_t si;

	if (rp->rp_term_ms > 0 && !exited_within(rp->rp_pid,
	    rp->rp_term_ms)) {
		log_debug("conn=%lu: pid %ld still running %d ms after its "
		    "EOF; sending SIGTERM", rp->rp_conn, (long)rp->rp_pid,
		    rp->rp_term_ms);
		(void)kill(rp->rp_pid, SIGTERM);
	}
	/* Exited but not yet reaped: the pid is still this program's. */
	while (waitid(P_PID, rp->rp_pid, &si, WEXITED | WNOWAIT) == -1 &&
	    errno == EINTR)
		;
	pthread_mutex_lock(&reap_mu);
	for (pp = &reap_list; *pp != NULL; pp = &(*pp)->rp_next)
		if (*pp == rp) {
			*pp = rp->rp_next;
			break;
		}
	pthread_mutex_unlock(&reap_mu);
	(void)reap(rp->rp_pid, rp->rp_conn);
	pthread_mutex_lock(&reap_mu);
	reap_busy--;
	pthread_cond_broadcast(&reap_cv);
	pthread_mutex_unlock(&reap_mu);
	free(rp);
	return NULL;
}

void
spawn_reap_later(pid_t pid, unsigned long conn_id)
{
	spawn_reap_later_term(pid, conn_id, 0);
}

void
spawn_reap_later_term(pid_t pid, unsigned long conn_id, int term_ms)
{
	struct reaping *rp;

	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		goto inline_reap;
	rp->rp_pid = pid;
	rp->rp_conn = conn_id;
	rp->rp_term_ms = term_ms;
	pthread_mutex_lock(&reap_mu);
	if (thread_start(reaper, rp, REAPER_STACK) == 0) {
		rp->rp_next = reap_list;
		reap_list = rp;
		reap_busy++;
		pthread_mutex_unlock(&reap_mu);
		return;
	}
	pthread_mutex_unlock(&reap_mu);
	free(rp);
inline_reap:
	log_warnx("conn=%lu: cannot start a thread to reap pid %ld; waiting",
	    conn_id, (long)pid);
	(void)kill(pid, SIGTERM);
	(void)reap(pid, conn_id);
}

/* Sends sig to every program still being waited for. */
static void
reap_signal_all(int sig)
{
	struct reaping *rp;

	pthread_mutex_lock(&reap_mu);
	for (rp = reap_list; rp != NULL; rp = rp->rp_next)
		(void)kill(rp->rp_pid, sig);
	pthread_mutex_unlock(&reap_mu);
}

/*
 * Waits until every program has been reaped and its status logged, or
 * ms milliseconds have passed.  Returns 1 if none is left.
 */
static int
reap_wait_all(int ms)
{
	struct timespec ts;
	int none;

	ts = clock_after(CLOCK_REALTIME, (uint64_t)ms);
	pthread_mutex_lock(&reap_mu);
	while (reap_busy > 0 &&
	    pthread_cond_timedwait(&reap_cv, &reap_mu, &ts) == 0)
		;
	none = reap_busy == 0;
	pthread_mutex_unlock(&reap_mu);
	return none;
}

void
spawn_reap_finish(int ms)
{
	if (reap_wait_all(ms))
		return;
	reap_signal_all(SIGTERM);
	if (reap_wait_all(ms))
		return;
	reap_signal_all(SIGKILL);
	(void)reap_wait_all(ms);
}
