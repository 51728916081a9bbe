/*
 * serve_test.c - a tiny server on serve_main() for tests/front.bats.
 *
 * Each connection gets "hello PEERIP PEERPORT\n", then its bytes echoed
 * until EOF; a chunk "own IP PORT\n" is answered with "own 1" or "own 0"
 * from serve_is_own_addr().  SIGHUP logs "hup hook called" and the bytes
 * malloc has handed out (so a test can see a leak per connection).  --sleep N waits N seconds before the greeting (a handler
 * still busy when SIGTERM comes).  With a program after "--", each
 * connection is instead relayed to that program, run by spawn_program().
 * The default listen address is $SERVE_TEST_ADDR (127.0.0.1:8999).
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "opts.h"
#include "serve.h"
#include "spawnprog.h"

enum { OPT_SLEEP = OPT_PROGRAM_BASE };

struct test_cfg {
	int		 sleep;
	char		**argv;		/* program after "--", or NULL */
};

static void	 usage(void) __attribute__((noreturn));
static int	 write_all(int, const char *, size_t);
static int	 own(const char *, char *, size_t);
static void	 on_hup(void *);
static void	 echo(struct conn *, void *);
static void	 relay(struct conn *, int);
static void	 run_program(struct conn *, void *);

static void
usage(void)
{
	fprintf(stderr, "usage: serve_test [options] [--sleep N] "
	    "[-- program [arg ...]]\n");
	exit(EXIT_USAGE);
}

/* Returns 0 once all of buf is written, -1 on error. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* Answers "own IP PORT" into out; returns the length, or 0 if s is not. */
static int
own(const char *s, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char ip[64];
	unsigned port;

	if (sscanf(s, "own %63s %u", ip, &port) != 2 || port > 65535)
		return 0;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	} else
		return 0;
	return snprintf(out, outlen, "own %d\n",
	    serve_is_own_addr((struct sockaddr *)&ss));
}

static void
on_hup(void *arg)
{
	struct mallinfo2 mi = mallinfo2();

	log_info("hup hook called (%s) heap=%zu", (const char *)arg,
	    mi.uordblks);
}

static void
echo(struct conn *c, void *arg)
{
	const struct test_cfg *cfg = arg;
	char buf[4096], ans[32];
	ssize_t n;
	int len;

	if (cfg->sleep > 0)
		sleep(cfg->sleep);
	len = snprintf(buf, sizeof(buf), "hello %s %s\n", c->c_peer_ip,
	    c->c_peer_port);
	if (write_all(c->c_wfd, buf, len) == -1)
		return;
	while ((n = read(c->c_rfd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		if ((len = own(buf, ans, sizeof(ans))) > 0) {
			if (write_all(c->c_wfd, ans, len) == -1)
				return;
		} else if (write_all(c->c_wfd, buf, n) == -1)
			return;
	}
	log_info("conn=%lu client=%s done", c->c_id, c->c_peer_ip);
}

/* Moves bytes between the client and the program until it is done. */
static void
relay(struct conn *c, int pfd)
{
	struct pollfd p[2];
	char buf[4096];
	ssize_t n;

	p[0].fd = c->c_rfd;
	p[1].fd = pfd;
	p[0].events = p[1].events = POLLIN;
	while (p[1].fd != -1) {
		if (poll(p, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[0].revents) {
			if ((n = read(c->c_rfd, buf, sizeof(buf))) <= 0) {
				shutdown(pfd, SHUT_WR);
				p[0].fd = -1;
			} else if (write_all(pfd, buf, n) == -1)
				return;
		}
		if (p[1].revents) {
			if ((n = read(pfd, buf, sizeof(buf))) <= 0)
				p[1].fd = -1;
			else if (write_all(c->c_wfd, buf, n) == -1)
				return;
		}
	}
}

static void
run_program(struct conn *c, void *arg)
{
	const struct test_cfg *cfg = arg;
	char *extra[] = { "SERVE_TEST=1", NULL };
	pid_t pid;
	int fd;

	if ((fd = spawn_program(cfg->argv, c, extra, &pid)) == -1)
		return;
	relay(c, fd);
	close(fd);
	spawn_reap(pid);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "sleep", required_argument, NULL, OPT_SLEEP },
		GTR_COMMON_LONGOPTS
	};
	struct gtr_opts opts;
	struct test_cfg cfg;
	const char *addr;
	long long v;
	int ch;

	memset(&cfg, 0, sizeof(cfg));
	opts_init(&opts, NULL, OPTS_UPSTREAM);
	while ((ch = opts_next(&opts, argc, argv, longopts, usage)) != -1) {
		switch (ch) {
		case OPT_SLEEP:
			if (opts_number(optarg, 0, 3600, &v) == -1)
				usage();
			cfg.sleep = (int)v;
			break;
		default:
			usage();
		}
	}
	if (opts.exit_code >= 0)
		return opts.exit_code;
	if (optind < argc)
		cfg.argv = argv + optind;
	log_init("serve_test", opts.verbosity);
	serve_on_hup(on_hup, "serve_test");
	if ((addr = getenv("SERVE_TEST_ADDR")) == NULL)
		addr = "127.0.0.1:8999";
	return serve_main(&opts, addr, cfg.argv != NULL ? run_program : echo,
	    &cfg);
}
