/*
 * opts.h - the options every program shares (DESIGN.md, "Common options").
 *
 * Each program loops over opts_next(), which takes the common options,
 * -h, -V and every mistake itself and returns only the program's own; the
 * long option table ends with GTR_COMMON_LONGOPTS.  A shared option the
 * program did not name in opts_init()'s uses is a usage error (an option
 * that would do nothing), and opts_help() leaves it out.  Nothing here
 * exits: after the loop (and opts_program()), main() returns exit_code
 * when it is 0 or more.
 */
#ifndef GTR_OPTS_H
#define GTR_OPTS_H

#include <getopt.h>
#include <stddef.h>

#include "net.h"

#define EX_OK_		0
#define EXIT_USAGE	64	/* EX_USAGE */
#define EXIT_CONFIG	78	/* EX_CONFIG */

#define GTR_MAX_LISTEN	16
#define GTR_MAX_CLIENTS	64	/* --allow-client blocks */

/* Long-only options get values above the char range. */
enum {
	OPT_MAX_CONNS = 256,
	OPT_GRACE,
	OPT_ACCEPT_PROXY,
	OPT_CONNECT_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_HEADER_TIMEOUT,
	OPT_ALLOW_PORT,
	OPT_ALLOW_DEST,
	OPT_SOCKET_MODE,
	OPT_ALLOW_CLIENT,
	OPT_PROGRAM_BASE = 512	/* first value free for a program's own */
};

/*
 * The shared options, one bit each, for opts_init()'s uses and
 * opts_help()'s own.  -h and -V are every program's, without a bit.
 */
#define OPTS_CONNECT		0x0001	/* -c */
#define OPTS_LISTEN		0x0002	/* -l */
#define OPTS_QUIET		0x0004	/* -q */
#define OPTS_USER		0x0008	/* -u */
#define OPTS_VERBOSE		0x0010	/* -v */
#define OPTS_MAX_CONNS		0x0020
#define OPTS_GRACE		0x0040
#define OPTS_ACCEPT_PROXY	0x0080
#define OPTS_CONNECT_TIMEOUT	0x0100
#define OPTS_IDLE_TIMEOUT	0x0200
#define OPTS_HEADER_TIMEOUT	0x0400
#define OPTS_ALLOW_PORT		0x0800
#define OPTS_ALLOW_DEST		0x1000
#define OPTS_SOCKET_MODE	0x2000
#define OPTS_ALLOW_CLIENT	0x4000
/* What the front side (serve.c) does for every program. */
#define OPTS_EVERY	(OPTS_LISTEN | OPTS_QUIET | OPTS_USER |		\
			 OPTS_VERBOSE | OPTS_MAX_CONNS | OPTS_GRACE |	\
			 OPTS_ACCEPT_PROXY | OPTS_IDLE_TIMEOUT |	\
			 OPTS_HEADER_TIMEOUT | OPTS_SOCKET_MODE |	\
			 OPTS_ALLOW_CLIENT)
/* A program that connects where a request says, under the policy. */
#define OPTS_UPSTREAM	(OPTS_CONNECT | OPTS_CONNECT_TIMEOUT |		\
			 OPTS_ALLOW_PORT | OPTS_ALLOW_DEST)

#define GTR_COMMON_SHORTOPTS	"c:hl:qu:vV"

#define GTR_COMMON_LONGOPTS						\
	{ "connect",		required_argument, NULL, 'c' },		\
	{ "help",		no_argument,	   NULL, 'h' },		\
	{ "listen",		required_argument, NULL, 'l' },		\
	{ "quiet",		no_argument,	   NULL, 'q' },		\
	{ "user",		required_argument, NULL, 'u' },		\
	{ "verbose",		no_argument,	   NULL, 'v' },		\
	{ "version",		no_argument,	   NULL, 'V' },		\
	{ "max-conns",		required_argument, NULL, OPT_MAX_CONNS },	\
	{ "grace",		required_argument, NULL, OPT_GRACE },	\
	{ "accept-proxy",	no_argument,	   NULL, OPT_ACCEPT_PROXY }, \
	{ "connect-timeout",	required_argument, NULL, OPT_CONNECT_TIMEOUT }, \
	{ "idle-timeout",	required_argument, NULL, OPT_IDLE_TIMEOUT }, \
	{ "header-timeout",	required_argument, NULL, OPT_HEADER_TIMEOUT }, \
	{ "allow-port",		required_argument, NULL, OPT_ALLOW_PORT }, \
	{ "allow-dest",		required_argument, NULL, OPT_ALLOW_DEST }, \
	{ "socket-mode",	required_argument, NULL, OPT_SOCKET_MODE }, \
	{ "allow-client",	required_argument, NULL, OPT_ALLOW_CLIENT }, \
	{ NULL, 0, NULL, 0 }

struct gtr_opts {
	int		 exit_code;	/* -1, or main()'s now: -h, -V, 64 */
	unsigned	 uses;		/* OPTS_*: the shared options taken */
	const char	*listen[GTR_MAX_LISTEN];	/* -l, in order */
	int		 nlisten;
	const char	*connect;		/* -c: fixed upstream, or NULL */
	struct net_addr	 connect_addr;	/* by opts_connect_hostport() */
	char		 connect_name[NET_HOSTLEN + NET_PORTLEN + 4];
	const char	*user;			/* -u */
	int		 verbosity;		/* LOG_QUIET..LOG_DEBUG */
	int		 max_conns;		/* default 4096 */
	int		 grace;			/* seconds, default 10 */
	int		 accept_proxy;		/* PROXY v1/v2 required */
	int		 connect_timeout;	/* seconds, default 10 */
	int		 idle_timeout;		/* seconds, default 300 */
	int		 header_timeout;	/* seconds, default 15 */
	int		 socket_mode;		/* -l unix:PATH, default 0666 */
	struct policy	 policy;		/* --allow-port, --allow-dest */
	struct cidr	 clients[GTR_MAX_CLIENTS];	/* --allow-client */
	int		 nclients;		/* 0: every client */
};

/*
 * Fills in the defaults; default_ports is the --allow-port default.
 * uses names the shared options the program takes besides OPTS_EVERY:
 * the others are refused.
 */
void	opts_init(struct gtr_opts *, const char *default_ports,
	    unsigned uses);

/*
 * getopt_long(3) over GTR_COMMON_SHORTOPTS and longopts, stopping at the
 * first operand or "--".  Takes the common options into o.  Returns the
 * program's next own option, or -1 at the end (optind says where), or
 * once o->exit_code is set: 0 after -h (help called) or -V (name and
 * version printed), 64 after a missing value, an unknown option, a
 * shared option the program does not take, or a bad value (the message
 * logged).
 */
int	opts_next(struct gtr_opts *o, int argc, char *const argv[],
	    const struct option *longopts, void (*help)(void));

/*
 * After opts_next() has returned -1: returns the program named after
 * "--" (its argv, NULL-terminated), or NULL if there is none.  An operand
 * without "--" before it, or "--" with nothing after, is a usage error:
 * logged, NULL returned, and exit_code 64 in the options opts_next()
 * filled.
 */
char	**opts_program(int argc, char *argv[]);

/*
 * Parses -c for a program whose upstream is a socket (connectd, relayd,
 * tlsstripd): HOST:PORT, [V6]:PORT, PORT (on 127.0.0.1) or unix:PATH,
 * the host as strict as net_parse_authority()'s, port 0 refused.  Fills
 * connect_addr and connect_name ("host:port", IPv6 in brackets, or
 * "unix:PATH", for messages).  Returns 0 (also without -c), or -1 with
 * "-c VALUE: why" in err: a usage error.
 */
int	opts_connect_hostport(struct gtr_opts *, char *err, size_t errlen);

/* Parses a decimal number in [min, max]; returns 0, or -1 if it is not. */
/*
 * Ends option parsing (after opts_next() returned -1): returns the exit
 * code when parsing failed or -h or -V was given, EXIT_USAGE after an
 * argument left over, else -1 with the log at the verbosity asked for.
 */
int	opts_done(struct gtr_opts *, int argc, char *argv[]);

int	opts_number(const char *, long long min, long long max, long long *);

/*
 * For -h, called from opts_next()'s help: returns the help lines of the
 * shared options the program takes, but those in own (OPTS_* bits), which
 * its help describes in its own words.  -c, --allow-port and --allow-dest
 * are always the program's to describe.
 */
const char *opts_help(unsigned own);

#endif
