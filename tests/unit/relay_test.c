/*
 * relay_test.c - relay_start() between real sockets, pipes and files.
 *
 * conn_end() is defined here, so nothing pulls serve.o from libgtr.a:
 * each test waits for it, then checks what arrived on either side, byte
 * for byte, and what the done callback reported.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"
#include "serve.h"

#define BLOCK	65536
#define MiB	(1024 * 1024)

/* One side of a transfer: writes or checks a generated stream. */
struct job {
	int		 fd;
	uint64_t	 n;		/* bytes to write */
	uint32_t	 seed;
	int		 how;		/* after writing: 0 keep, 1 shut, 2 close */
	uint64_t	 got;		/* bytes read */
	int		 bad;		/* a byte differed */
	pthread_t	 tid;
};

struct result {
	int		 called;
	struct relay_stats st;
};

static void	 gen_block(uint32_t, uint64_t, unsigned char *);
static void	*writer(void *);
static void	*reader(void *);
static void	 job_start(struct job *, int, uint64_t, uint32_t, int, int);
static void	 job_wait(struct job *);
static void	 tcp_pair(int *, int *);
static struct conn *conn_new(int, int, int);
static void	 on_done(struct conn *, const struct relay_stats *, void *);
static int	 wait_ended(int);
static void	 check(int, const char *, ...);
static void	 test_both_ways(int);
static void	 test_half_close(void);
static void	 test_pending(void);
static void	 test_idle(void);
static void	 test_file_and_pipes(void);
static void	 test_pipes_both(void);
static void	 test_reset(void);
static void	 test_many(void);
static void	 test_inetd(void);
static void	 test_pool(void);
static void	 test_both_tcp(void);
static void	 test_both_unix(void);
static int	 count_pipes(void);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ended;
static int passed, failed;

/* The stubs the relay calls instead of serve.c's. */
void
conn_set_upstream(struct conn *c, int fd)
{
	c->c_upstream_fd = fd;
}

void
conn_end(struct conn *c)
{
	if (c->c_rfd != -1)
		close(c->c_rfd);
	if (c->c_wfd != -1 && c->c_wfd != c->c_rfd)
		close(c->c_wfd);
	free(c);
	pthread_mutex_lock(&lock);
	ended++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void
check(int ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%s - ", ok ? "ok" : "not ok");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

/* Fills b with block k of the stream for seed (xorshift64). */
static void
gen_block(uint32_t seed, uint64_t k, unsigned char *b)
{
	uint64_t x = ((uint64_t)seed << 32 ^ k) * 0x9e3779b97f4a7c15ULL | 1;
	size_t i;

	for (i = 0; i < BLOCK; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(b + i, &x, 8);
	}
}

static void *
writer(void *arg)
{
	struct job *j = arg;
	unsigned char *b = malloc(BLOCK);
	uint64_t off = 0, k;
	size_t len, done;
	ssize_t w;

	for (k = 0; off < j->n; k++) {
		gen_block(j->seed, k, b);
		len = j->n - off < BLOCK ? j->n - off : BLOCK;
		for (done = 0; done < len; done += w)
			if ((w = write(j->fd, b + done, len - done)) <= 0)
				goto out;
		off += len;
	}
out:
	if (j->how == 1)
		shutdown(j->fd, SHUT_WR);
	else if (j->how == 2)
		close(j->fd);
	free(b);
	return NULL;
}

static void *
reader(void *arg)
{
	struct job *j = arg;
	unsigned char *want = malloc(BLOCK), *b = malloc(BLOCK);
	uint64_t cur = UINT64_MAX, pos;
	ssize_t r, i;

	while ((r = read(j->fd, b, BLOCK)) > 0) {
		for (i = 0; i < r; i++) {
			pos = j->got + i;
			if (pos / BLOCK != cur) {
				cur = pos / BLOCK;
				gen_block(j->seed, cur, want);
			}
			if (b[i] != want[pos % BLOCK])
				j->bad = 1;
		}
		j->got += r;
	}
	free(want);
	free(b);
	return NULL;
}

static void
job_start(struct job *j, int fd, uint64_t n, uint32_t seed, int how,
    int is_reader)
{
	memset(j, 0, sizeof(*j));
	j->fd = fd;
	j->n = n;
	j->seed = seed;
	j->how = how;
	pthread_create(&j->tid, NULL, is_reader ? reader : writer, j);
}

static void
job_wait(struct job *j)
{
	pthread_join(j->tid, NULL);
}

/* A connected TCP pair on loopback. */
static void
tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int l;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l, 1) == -1 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) == -1 ||
	    (*a = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(*a, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (*b = accept(l, NULL, NULL)) == -1) {
		perror("tcp_pair");
		exit(1);
	}
	close(l);
}

static struct conn *
conn_new(int rfd, int wfd, int is_socket)
{
	static unsigned long id;
	struct conn *c = calloc(1, sizeof(*c));

	c->c_rfd = rfd;
	c->c_wfd = wfd;
	c->c_is_socket = is_socket;
	c->c_id = ++id;
	strcpy(c->c_peer_ip, "-");
	return c;
}

static void
on_done(struct conn *c, const struct relay_stats *st, void *arg)
{
	struct result *r = arg;

	(void)c;
	pthread_mutex_lock(&lock);
	r->st = *st;
	r->called++;
	pthread_mutex_unlock(&lock);
}

/* Returns 1 once conn_end() was called n times in all, 0 after 60 s. */
static int
wait_ended(int n)
{
	struct timespec ts;
	int ok = 1;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 60;
	pthread_mutex_lock(&lock);
	while (ended < n && ok)
		if (pthread_cond_timedwait(&cond, &lock, &ts) == ETIMEDOUT)
			ok = 0;
	ok = ended >= n;
	pthread_mutex_unlock(&lock);
	return ok;
}

/* 64 MiB each way at once, through TCP (splice) or unix sockets. */
static void
test_both_ways(int tcp)
{
	struct job cw, cr, uw, ur;
	struct result res = { 0 };
	int cl, cr_fd, ul, ur_fd, base = ended, fds[2];
	const char *kind = tcp ? "TCP" : "unix socketpair";

	if (tcp) {
		tcp_pair(&cl, &cr_fd);
		tcp_pair(&ul, &ur_fd);
	} else {
		socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
		cl = fds[0], cr_fd = fds[1];
		socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
		ul = fds[0], ur_fd = fds[1];
	}
	if (relay_start(conn_new(cr_fd, cr_fd, 1), ur_fd, ur_fd, NULL, 0,
	    60, on_done, &res) == -1) {
		check(0, "%s: relay_start", kind);
		return;
	}
	job_start(&cw, cl, 64 * MiB, 1, 1, 0);
	job_start(&cr, cl, 0, 2, 0, 1);
	job_start(&uw, ul, 64 * MiB, 2, 1, 0);
	job_start(&ur, ul, 0, 1, 0, 1);
	job_wait(&cw);
	job_wait(&uw);
	job_wait(&cr);
	job_wait(&ur);
	check(wait_ended(base + 1), "%s: the tunnel ends", kind);
	check(ur.got == 64 * MiB && !ur.bad,
	    "%s: 64 MiB arrive upstream intact (%llu bytes%s)", kind,
	    (unsigned long long)ur.got, ur.bad ? ", corrupt" : "");
	check(cr.got == 64 * MiB && !cr.bad,
	    "%s: 64 MiB arrive at the client intact (%llu bytes%s)", kind,
	    (unsigned long long)cr.got, cr.bad ? ", corrupt" : "");
	check(res.called == 1 && res.st.rs_up == 64 * MiB &&
	    res.st.rs_down == 64 * MiB && strcmp(res.st.rs_reason, "done") == 0,
	    "%s: done reports both byte counts and \"done\" (%llu %llu %s)",
	    kind, (unsigned long long)res.st.rs_up,
	    (unsigned long long)res.st.rs_down,
	    res.called ? res.st.rs_reason : "-");
	close(cl);
	close(ul);
}

/* The client finishes first; the large answer still arrives whole. */
static void
test_half_close(void)
{
	struct job cr, ur, uw;
	struct result res = { 0 };
	int cl, crf, ul, urf, base = ended;

	tcp_pair(&cl, &crf);
	tcp_pair(&ul, &urf);
	relay_start(conn_new(crf, crf, 1), urf, urf, NULL, 0, 60, on_done,
	    &res);
	job_start(&cr, cl, 0, 4, 0, 1);
	job_start(&uw, cl, 1000, 3, 1, 0);	/* the request, then EOF */
	job_wait(&uw);
	job_start(&ur, ul, 0, 3, 0, 1);		/* upstream reads to EOF */
	job_wait(&ur);
	check(ur.got == 1000 && !ur.bad,
	    "half-close: upstream gets the request, then EOF");
	job_start(&uw, ul, 32 * MiB + 123, 4, 2, 0);	/* then answers */
	job_wait(&uw);
	job_wait(&cr);
	check(cr.got == 32 * MiB + 123 && !cr.bad,
	    "half-close: the answer after the client's EOF arrives whole "
	    "(%llu bytes)", (unsigned long long)cr.got);
	check(wait_ended(base + 1) && res.called == 1 &&
	    res.st.rs_up == 1000 && res.st.rs_down == 32 * MiB + 123 &&
	    strcmp(res.st.rs_reason, "done") == 0,
	    "half-close: the tunnel ends as done with both counts");
	close(cl);
}

/* Pending bytes go upstream before what the client sends next. */
static void
test_pending(void)
{
	struct result res = { 0 };
	char *pend, buf[4096];
	int cl, crf, ul, urf, base = ended, ok;
	size_t npend = 100000, got = 0, i;
	ssize_t r;
	char *all;

	tcp_pair(&cl, &crf);
	tcp_pair(&ul, &urf);
	pend = malloc(npend);
	for (i = 0; i < npend; i++)
		pend[i] = 'a' + i % 26;
	/* the client's next bytes are already waiting when the relay starts */
	(void)!write(cl, "NEXT", 4);
	shutdown(cl, SHUT_WR);
	ok = relay_start(conn_new(crf, crf, 1), urf, urf, pend, npend, 60,
	    on_done, &res) == 0;
	memset(pend, 'X', npend);	/* the relay must have copied them */
	free(pend);
	all = malloc(npend + 4 + 1);
	while ((r = read(ul, buf, sizeof(buf))) > 0 && got + r <= npend + 4) {
		memcpy(all + got, buf, r);
		got += r;
	}
	ok = ok && r == 0 && got == npend + 4 &&
	    memcmp(all + npend, "NEXT", 4) == 0;
	for (i = 0; ok && i < npend; i++)
		ok = all[i] == 'a' + (char)(i % 26);
	check(ok, "pending bytes go upstream first, then the client's");
	free(all);
	close(ul);
	check(wait_ended(base + 1) && res.st.rs_up == npend + 4 &&
	    res.st.rs_down == 0, "pending bytes are counted as sent upstream");
	close(cl);
}

/* A tunnel where nothing moves ends after its idle timeout. */
static void
test_idle(void)
{
	struct result res = { 0 }, busy = { 0 };
	char b[16];
	int cl, crf, ul, urf, cl2, crf2, ul2, urf2, base = ended, i;

	tcp_pair(&cl, &crf);
	tcp_pair(&ul, &urf);
	tcp_pair(&cl2, &crf2);
	tcp_pair(&ul2, &urf2);
	relay_start(conn_new(crf, crf, 1), urf, urf, NULL, 0, 1, on_done,
	    &res);
	relay_start(conn_new(crf2, crf2, 1), urf2, urf2, NULL, 0, 2,
	    on_done, &busy);
	/* the second tunnel keeps moving a byte every half second */
	for (i = 0; i < 8; i++) {
		(void)!write(cl2, "x", 1);
		(void)!read(ul2, b, 1);
		usleep(500000);
	}
	check(wait_ended(base + 1) && res.called == 1 &&
	    strcmp(res.st.rs_reason, "idle timeout") == 0,
	    "an idle tunnel ends with \"idle timeout\"");
	check(read(cl, b, sizeof(b)) == 0 && read(ul, b, sizeof(b)) == 0,
	    "both sides of the idle tunnel see it closed");
	pthread_mutex_lock(&lock);
	i = busy.called;
	pthread_mutex_unlock(&lock);
	check(i == 0,
	    "a tunnel moving bytes outlives a shorter idle timeout");
	close(cl2);
	close(ul2);
	check(wait_ended(base + 2) && busy.called == 1 &&
	    strcmp(busy.st.rs_reason, "done") == 0 && busy.st.rs_up == 8,
	    "it ends as done when both close");
	close(cl);
	close(ul);
}

/* A pipe in, a file out (as `prog < pipe > file`): read/write fallback. */
static void
test_file_and_pipes(void)
{
	struct job pw, ur, uw, fr;
	struct result res = { 0 };
	char path[] = "/tmp/relay_test.XXXXXX";
	int p[2], file, ul, urf, base = ended;

	if (pipe(p) == -1 || (file = mkstemp(path)) == -1) {
		check(0, "pipe/mkstemp");
		return;
	}
	tcp_pair(&ul, &urf);
	relay_start(conn_new(p[0], file, 0), urf, urf, NULL, 0, 60, on_done,
	    &res);
	job_start(&pw, p[1], 8 * MiB + 1, 5, 2, 0);
	job_start(&ur, ul, 0, 5, 0, 1);
	job_wait(&pw);
	job_wait(&ur);
	check(ur.got == 8 * MiB + 1 && !ur.bad,
	    "pipe to socket: 8 MiB arrive intact, then EOF");
	job_start(&uw, ul, 8 * MiB + 7, 6, 2, 0);
	job_wait(&uw);
	check(wait_ended(base + 1) && res.st.rs_down == 8 * MiB + 7 &&
	    res.st.rs_up == 8 * MiB + 1 &&
	    strcmp(res.st.rs_reason, "done") == 0,
	    "socket to file: the tunnel ends as done with both counts");
	job_start(&fr, open(path, O_RDONLY), 0, 6, 0, 1);
	job_wait(&fr);
	close(fr.fd);
	check(fr.got == 8 * MiB + 7 && !fr.bad,
	    "socket to file: the file holds the 8 MiB intact");
	unlink(path);
}

/* Pipes on the client side: EOF upstream closes the client's write pipe. */
static void
test_pipes_both(void)
{
	struct job pw, pr, uw, ur;
	struct result res = { 0 };
	int in[2], out[2], ul, urf, base = ended;

	if (pipe(in) == -1 || pipe(out) == -1) {
		check(0, "pipe");
		return;
	}
	tcp_pair(&ul, &urf);
	relay_start(conn_new(in[0], out[1], 0), urf, urf, NULL, 0, 60,
	    on_done, &res);
	job_start(&pw, in[1], 16 * MiB, 7, 0, 0);
	job_start(&pr, out[0], 0, 8, 0, 1);
	job_start(&ur, ul, 0, 7, 0, 1);
	job_start(&uw, ul, 16 * MiB + 5, 8, 1, 0);
	job_wait(&uw);
	job_wait(&pr);
	check(pr.got == 16 * MiB + 5 && !pr.bad,
	    "socket to pipe: 16 MiB arrive intact, then the pipe closes");
	job_wait(&pw);
	close(in[1]);
	job_wait(&ur);
	check(ur.got == 16 * MiB && !ur.bad,
	    "pipe to socket: 16 MiB arrive intact, then EOF");
	check(wait_ended(base + 1) && strcmp(res.st.rs_reason, "done") == 0,
	    "pipes: the tunnel ends as done");
	close(ul);
	close(out[0]);
}

/* A reset upstream ends the tunnel with "reset". */
static void
test_reset(void)
{
	struct result res = { 0 };
	struct linger lg = { 1, 0 };
	char b[16];
	int cl, crf, ul, urf, base = ended, ended_ok;

	tcp_pair(&cl, &crf);
	tcp_pair(&ul, &urf);
	relay_start(conn_new(crf, crf, 1), urf, urf, NULL, 0, 60, on_done,
	    &res);
	(void)!write(cl, "hello", 5);
	(void)!read(ul, b, 5);
	setsockopt(ul, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(ul);
	ended_ok = wait_ended(base + 1);
	check(ended_ok && strcmp(res.st.rs_reason, "reset") == 0,
	    "a reset upstream ends the tunnel with \"reset\" (%s)",
	    ended_ok ? res.st.rs_reason : "-");
	check(read(cl, b, sizeof(b)) <= 0, "the client sees the end");
	close(cl);
}

/* Many tunnels at once share the loops and the pipe pool. */
static void
test_many(void)
{
	enum { N = 300 };
	static struct job cw[N], cr[N], uw[N], ur[N];
	static struct result res[N];
	int cl[N], ul[N], crf, urf, i, base = ended, ok = 1, sum = 1;

	for (i = 0; i < N; i++) {
		tcp_pair(&cl[i], &crf);
		tcp_pair(&ul[i], &urf);
		relay_start(conn_new(crf, crf, 1), urf, urf, NULL, 0, 60,
		    on_done, &res[i]);
	}
	for (i = 0; i < N; i++) {
		job_start(&cw[i], cl[i], 300000 + i, 100 + i, 1, 0);
		job_start(&cr[i], cl[i], 0, 500 + i, 0, 1);
		job_start(&uw[i], ul[i], 200000 + i, 500 + i, 1, 0);
		job_start(&ur[i], ul[i], 0, 100 + i, 0, 1);
	}
	for (i = 0; i < N; i++) {
		job_wait(&cw[i]);
		job_wait(&cr[i]);
		job_wait(&uw[i]);
		job_wait(&ur[i]);
		ok = ok && !cr[i].bad && !ur[i].bad &&
		    cr[i].got == 200000 + (uint64_t)i &&
		    ur[i].got == 300000 + (uint64_t)i;
	}
	check(ok, "%d tunnels at once each move their bytes intact", N);
	check(wait_ended(base + N), "all %d tunnels end", N);
	for (i = 0; i < N; i++)
		sum = sum && res[i].called == 1 &&
		    res[i].st.rs_up == 300000 + (uint64_t)i &&
		    strcmp(res[i].st.rs_reason, "done") == 0;
	check(sum, "each reports its own byte counts");
	for (i = 0; i < N; i++) {
		close(cl[i]);
		close(ul[i]);
	}
}

/* inetd style: fds 0 and 1 are two fds for one socket. */
static void
test_inetd(void)
{
	struct job cw, cr, uw, ur;
	struct result res = { 0 };
	int cl, crf, ul, urf, base = ended;

	tcp_pair(&cl, &crf);
	tcp_pair(&ul, &urf);
	relay_start(conn_new(crf, dup(crf), 1), urf, urf, NULL, 0, 60,
	    on_done, &res);
	job_start(&cw, cl, 4 * MiB, 9, 1, 0);
	job_start(&ur, ul, 0, 9, 0, 1);
	job_wait(&cw);
	job_wait(&ur);
	check(ur.got == 4 * MiB && !ur.bad,
	    "inetd style: the client's bytes and EOF arrive upstream");
	job_start(&cr, cl, 0, 10, 0, 1);
	job_start(&uw, ul, 4 * MiB, 10, 1, 0);
	job_wait(&uw);
	job_wait(&cr);
	check(cr.got == 4 * MiB && !cr.bad,
	    "inetd style: upstream's EOF reaches the client through the "
	    "write fd while the read fd is still open");
	check(wait_ended(base + 1) && strcmp(res.st.rs_reason, "done") == 0,
	    "inetd style: the tunnel ends as done");
	close(cl);
	close(ul);
}

/* Returns how many of our fds are pipes. */
static int
count_pipes(void)
{
	char path[300], link[64];
	struct dirent *e;
	DIR *d;
	ssize_t n;
	int count = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0 && strncmp(link, "pipe:", 5) == 0)
			count++;
	}
	closedir(d);
	return count;
}

/*
 * More tunnels hold data than the pool has pipes: the rest fall back to
 * buffers, nothing is lost, and the pipes go away with the data.
 */
static void
test_pool(void)
{
	enum { N = 300 };
	static struct job cw[N], ur[N];
	static struct result res[N];
	int cl[N], ul[N], ufd[N], crf, i, base = ended, ok = 1;
	int small = 4096, large = 4 * MiB, before, held, left;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus > 16)
		cpus = 16;
	before = count_pipes();
	for (i = 0; i < N; i++) {
		tcp_pair(&cl[i], &crf);
		tcp_pair(&ul[i], &ufd[i]);
		/* upstream does not read yet: the relay must hold bytes */
		setsockopt(ufd[i], SOL_SOCKET, SO_SNDBUF, &small,
		    sizeof(small));
		relay_start(conn_new(crf, crf, 1), ufd[i], ufd[i], NULL, 0, 60,
		    on_done, &res[i]);
		job_start(&cw[i], cl[i], MiB, 900 + i, 1, 0);
	}
	sleep(1);
	held = count_pipes() - before;
	check(held <= 2 * 256,
	    "%d tunnels holding data use at most 256 pipes (%d fds)", N,
	    held);
	for (i = 0; i < N; i++) {
		setsockopt(ufd[i], SOL_SOCKET, SO_SNDBUF, &large,
		    sizeof(large));
		job_start(&ur[i], ul[i], 0, 900 + i, 0, 1);
	}
	for (i = 0; i < N; i++) {
		job_wait(&cw[i]);
		job_wait(&ur[i]);
		ok = ok && ur[i].got == MiB && !ur[i].bad;
		close(ul[i]);
	}
	check(ok, "the tunnels without a pipe lose nothing");
	check(wait_ended(base + N), "all %d tunnels end", N);
	left = count_pipes() - before;
	check(left <= 2 * 16 * cpus,
	    "afterwards only the spare pipes stay open (%d fds)", left);
	for (i = 0; i < N; i++)
		close(cl[i]);
}

static void *
late_reader(void *arg)
{
	usleep(500 * 1000);
	return reader(arg);
}

/*
 * Many small writes towards an upstream that starts reading late: what
 * the scratch buffer could not write moves to a buffer of the tunnel's
 * own, and every byte still arrives, in order.
 */
static void
test_small(void)
{
	struct result res = { 0 };
	struct job ur;
	unsigned char *b = malloc(BLOCK);
	uint64_t off, total = 128 * 1024;
	size_t piece = 4096;
	int cl, crf, ul, ufd, base = ended, one = 1, small = 4096, ok = 1;

	tcp_pair(&cl, &crf);
	tcp_pair(&ul, &ufd);
	setsockopt(cl, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(ufd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(ul, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	relay_start(conn_new(crf, crf, 1), ufd, ufd, NULL, 0, 60, on_done,
	    &res);
	memset(&ur, 0, sizeof(ur));
	ur.fd = ul;
	ur.seed = 77;
	pthread_create(&ur.tid, NULL, late_reader, &ur);
	for (off = 0; ok && off < total; off += piece) {
		if (off % BLOCK == 0)
			gen_block(77, off / BLOCK, b);
		ok = write(cl, b + off % BLOCK, piece) == (ssize_t)piece;
		usleep(200);	/* each read finds less than a scratch buffer */
	}
	shutdown(cl, SHUT_WR);
	job_wait(&ur);
	check(ok && ur.got == total && !ur.bad,
	    "small writes to a late reader: %llu of %llu bytes, in order%s",
	    (unsigned long long)ur.got, (unsigned long long)total,
	    ur.bad ? ", corrupt" : "");
	close(ul);
	check(wait_ended(base + 1) && res.st.rs_up == total,
	    "the tunnel ends and counts them all");
	close(cl);
	free(b);
}

static void
test_both_tcp(void)
{
	test_both_ways(1);
}

static void
test_both_unix(void)
{
	test_both_ways(0);
}

static const struct {
	const char	*name;
	void		(*fn)(void);
} tests[] = {
	{ "tcp", test_both_tcp },
	{ "unix", test_both_unix },
	{ "half-close", test_half_close },
	{ "pending", test_pending },
	{ "file", test_file_and_pipes },
	{ "pipes", test_pipes_both },
	{ "reset", test_reset },
	{ "idle", test_idle },
	{ "many", test_many },
	{ "inetd", test_inetd },
	{ "pool", test_pool },
	{ "small", test_small }
};

/* relay_test [NAME...]: runs the named groups, or all of them. */
int
main(int argc, char *argv[])
{
	struct rlimit rl;
	size_t i;
	int a, found;

	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		found = argc == 1;
		for (a = 1; a < argc; a++)
			found = found || strcmp(argv[a], tests[i].name) == 0;
		if (found)
			tests[i].fn();
	}
	for (a = 1; a < argc; a++) {
		found = 0;
		for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
			found = found || strcmp(argv[a], tests[i].name) == 0;
		if (!found)
			check(0, "test group %s exists", argv[a]);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
