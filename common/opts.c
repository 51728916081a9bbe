/*
 * opts.c - parsing of the options every program shares.
 *
 * Nothing here exits: a mistake is logged once and left in exit_code for
 * main() to return, as -h and -V are.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "opts.h"

static int	number_opt(struct gtr_opts *, const char *, const char *,
		    long long, long long, int *);
static unsigned	shared_bit(int);
static int	not_taken(struct gtr_opts *, int, char *const [],
		    const struct option *);
static int	opts_common(struct gtr_opts *, int, const char *);
static int	socket_mode_opt(struct gtr_opts *, const char *);
static int	usage_error(struct gtr_opts *, const char *, ...)
		    PRINTFLIKE(2, 3);

/*
 * The shared options, in the order -h lists them: the getopt value, the
 * bit, and the help lines; NULL where each program says in its own words
 * what the option does there.
 */
static const struct shared_opt {
	int		 so_ch;
	unsigned	 so_bit;
	const char	*so_help;
} shared_opts[] = {
	{ 'c',			OPTS_CONNECT,		NULL },
	{ OPT_ALLOW_PORT,	OPTS_ALLOW_PORT,	NULL },
	{ OPT_ALLOW_DEST,	OPTS_ALLOW_DEST,	NULL },
	{ 'l',			OPTS_LISTEN,
"  -l, --listen ADDR        listen on PORT, HOST:PORT, [V6]:PORT or unix:PATH\n"
"                           (repeatable; a bare port binds loopback only)\n" },
	{ 'u',			OPTS_USER,
"  -u, --user USER          drop privileges to USER after binding\n" },
	{ OPT_MAX_CONNS,	OPTS_MAX_CONNS,
"      --max-conns N        serve at most N connections at once (4096)\n" },
	{ OPT_GRACE,		OPTS_GRACE,
"      --grace SECONDS      on SIGTERM, let connections finish this long (10)\n" },
	{ OPT_ACCEPT_PROXY,	OPTS_ACCEPT_PROXY,
"      --accept-proxy       require a PROXY v1/v2 header on every connection\n" },
	{ OPT_ALLOW_CLIENT,	OPTS_ALLOW_CLIENT,
"      --allow-client CIDR  serve only clients in CIDR, closing others unread\n"
"                           (repeatable, or a comma list; every client)\n" },
	{ OPT_CONNECT_TIMEOUT,	OPTS_CONNECT_TIMEOUT,
"      --connect-timeout S  upstream connect timeout (10)\n" },
	{ OPT_IDLE_TIMEOUT,	OPTS_IDLE_TIMEOUT,
"      --idle-timeout S     close after S seconds without traffic (300)\n" },
	{ OPT_HEADER_TIMEOUT,	OPTS_HEADER_TIMEOUT,
"      --header-timeout S   deadline for each request head (15)\n" },
	{ OPT_SOCKET_MODE,	OPTS_SOCKET_MODE,
"      --socket-mode OCTAL  permissions of a -l unix:PATH socket (0666)\n" },
	{ 'v',			OPTS_VERBOSE,
"  -v, --verbose            add debug lines to the log\n" },
	{ 'q',			OPTS_QUIET,
"  -q, --quiet              log errors only\n" },
};

/* -h and -V, every program's: the last lines of -h. */
static const char help_tail[] =
"  -h, --help               print this help and exit\n"
"  -V, --version            print the version and exit\n";

static const char *last_value;	/* the last option's value, or NULL */
static struct gtr_opts *parsing; /* opts_next()'s, for opts_program() */

void
opts_init(struct gtr_opts *o, const char *default_ports, unsigned uses)
{
	char err[128];

	memset(o, 0, sizeof(*o));
	o->exit_code = -1;
	o->uses = OPTS_EVERY | uses;
	o->verbosity = LOG_NORMAL;
	o->max_conns = 4096;
	o->grace = 10;
	o->connect_timeout = 10;
	o->idle_timeout = 300;
	o->header_timeout = 15;
	o->socket_mode = 0666;
	if (default_ports != NULL && policy_set_ports(&o->policy,
	    default_ports, err, sizeof(err)) == -1) {
		log_error("default ports: %s", err);
		o->exit_code = 1;
	}
}

/* Logs a usage error and marks it for main(): exit 64.  Returns -1. */
static int
usage_error(struct gtr_opts *o, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	o->exit_code = EXIT_USAGE;
	return -1;
}

int
opts_done(struct gtr_opts *o, int argc, char *argv[])
{
	if (o->exit_code >= 0)
		return o->exit_code;
	if (optind < argc) {
		(void)usage_error(o, "unexpected argument \"%s\"",
		    argv[optind]);
		return o->exit_code;
	}
	log_init(argv[0], o->verbosity);
	return -1;
}

int
opts_number(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* --socket-mode OCTAL: permission bits, 0 to 0777.  0, or -1. */
static int
socket_mode_opt(struct gtr_opts *o, const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 8);
	if (errno != 0 || end == arg || *end != '\0' || v < 0 || v > 0777)
		return usage_error(o, "--socket-mode: \"%s\" is not an octal "
		    "mode from 0 to 0777", arg);
	o->socket_mode = (int)v;
	return 0;
}

/* Returns 0 with a number option's value in *v, or -1 with a message. */
static int
number_opt(struct gtr_opts *o, const char *name, const char *arg,
    long long min, long long max, int *v)
{
	long long n;

	if (opts_number(arg, min, max, &n) == -1)
		return usage_error(o, "%s: \"%s\" is not a number from "
		    "%lld to %lld", name, arg, min, max);
	*v = (int)n;
	return 0;
}

/* Returns the bit of a shared option's getopt value, or 0 for another. */
static unsigned
shared_bit(int ch)
{
	size_t i;

	for (i = 0; i < sizeof(shared_opts) / sizeof(shared_opts[0]); i++)
		if (shared_opts[i].so_ch == ch)
			return shared_opts[i].so_bit;
	return 0;
}

/*
 * Refuses shared option ch, one the program does not take, by the name
 * it was given as: "-c" or "--connect", not a value or an abbreviation.
 * Returns -1.
 */
static int
not_taken(struct gtr_opts *o, int ch, char *const argv[],
    const struct option *longopts)
{
	const char *given;
	int i;

	/* "--opt VALUE" left optind past the value, "--opt=VALUE" not */
	given = optarg != NULL && optind >= 2 && argv[optind - 1] == optarg ?
	    argv[optind - 2] : argv[optind - 1];
	if (strncmp(given, "--", 2) == 0)
		for (i = 0; longopts[i].name != NULL; i++)
			if (longopts[i].val == ch)
				return usage_error(o, "--%s is not an option "
				    "of %s (see %s -h)", longopts[i].name,
				    log_progname(), log_progname());
	return usage_error(o, "-%c is not an option of %s (see %s -h)", ch,
	    log_progname(), log_progname());
}

/*
 * Takes one common option into o.  Returns 1 if ch was one, 0 if not, -1
 * after a bad value (logged, o->exit_code set).
 */
static int
opts_common(struct gtr_opts *o, int ch, const char *arg)
{
	char err[128];

	switch (ch) {
	case 'c':
		o->connect = arg;
		break;
	case 'l':
		if (o->nlisten == GTR_MAX_LISTEN)
			return usage_error(o, "-l: at most %d addresses",
			    GTR_MAX_LISTEN);
		o->listen[o->nlisten++] = arg;
		break;
	case 'q':
		o->verbosity = LOG_QUIET;
		break;
	case 'u':
		o->user = arg;
		break;
	case 'v':
		o->verbosity = LOG_DEBUG;
		break;
	case OPT_ACCEPT_PROXY:
		o->accept_proxy = 1;
		break;
	case OPT_ALLOW_CLIENT:
		if (net_cidr_add(o->clients, &o->nclients, GTR_MAX_CLIENTS,
		    "--allow-client", arg, err, sizeof(err)) == -1)
			return usage_error(o, "--allow-client: %s", err);
		break;
	case OPT_ALLOW_DEST:
		if (policy_add_dests(&o->policy, arg, err, sizeof(err)) == -1)
			return usage_error(o, "--allow-dest: %s", err);
		break;
	case OPT_ALLOW_PORT:
		if (policy_set_ports(&o->policy, arg, err, sizeof(err)) == -1)
			return usage_error(o, "--allow-port: %s", err);
		break;
	case OPT_CONNECT_TIMEOUT:
		return number_opt(o, "--connect-timeout", arg, 1, 3600,
		    &o->connect_timeout) == -1 ? -1 : 1;
	case OPT_GRACE:
		return number_opt(o, "--grace", arg, 0, 86400,
		    &o->grace) == -1 ? -1 : 1;
	case OPT_HEADER_TIMEOUT:
		return number_opt(o, "--header-timeout", arg, 1, 3600,
		    &o->header_timeout) == -1 ? -1 : 1;
	case OPT_IDLE_TIMEOUT:
		return number_opt(o, "--idle-timeout", arg, 1, 86400 * 7,
		    &o->idle_timeout) == -1 ? -1 : 1;
	case OPT_SOCKET_MODE:
		return socket_mode_opt(o, arg) == -1 ? -1 : 1;
	case OPT_MAX_CONNS:
		return number_opt(o, "--max-conns", arg, 1, 1000000,
		    &o->max_conns) == -1 ? -1 : 1;
	default:
		return 0;
	}
	return 1;
}

int
opts_next(struct gtr_opts *o, int argc, char *const argv[],
    const struct option *longopts, void (*help)(void))
{
	int ch;

	parsing = o;
	opterr = 0;
	while (o->exit_code < 0) {
		ch = getopt_long(argc, argv, "+:" GTR_COMMON_SHORTOPTS,
		    longopts, NULL);
		switch (ch) {
		case -1:
			return -1;
		case ':':
			(void)usage_error(o, "%s needs a value",
			    argv[optind - 1]);
			break;
		case '?':
			(void)usage_error(o, "unknown option %s (see -h)",
			    argv[optind - 1]);
			break;
		case 'h':
			help();
			o->exit_code = 0;
			break;
		case 'V':
			log_version();
			o->exit_code = 0;
			break;
		default:
			/* opts_program() must not take "-c --" for "--" */
			last_value = optarg;
			if ((shared_bit(ch) & ~o->uses) != 0)
				(void)not_taken(o, ch, argv, longopts);
			else if (opts_common(o, ch, optarg) == 0)
				return ch;
		}
	}
	return -1;
}

char **
opts_program(int argc, char *argv[])
{
	int dashes = optind > 0 && strcmp(argv[optind - 1], "--") == 0 &&
	    argv[optind - 1] != last_value;

	AN(parsing != NULL);
	if (parsing->exit_code >= 0)
		return NULL;
	if (optind < argc && !dashes) {
		(void)usage_error(parsing, "unexpected argument \"%s\" (a "
		    "program comes after --)", argv[optind]);
		return NULL;
	}
	if (optind == argc && dashes) {
		(void)usage_error(parsing, "no program after --");
		return NULL;
	}
	return optind < argc ? argv + optind : NULL;
}

int
opts_connect_hostport(struct gtr_opts *o, char *err, size_t errlen)
{
	struct net_addr *a = &o->connect_addr;
	char why[256];

	if (o->connect == NULL)
		return 0;
	if (net_addr_parse(o->connect, "127.0.0.1", NULL, a, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "-c %s: %s", o->connect, why);
		return -1;
	}
	if (a->is_unix) {
		snprintf(o->connect_name, sizeof(o->connect_name), "unix:%s",
		    a->path);
		return 0;
	}
	if (strcmp(a->port, "0") == 0) {
		snprintf(err, errlen, "-c %s: port 0 is not a destination",
		    o->connect);
		return -1;
	}
	(void)net_format_authority(o->connect_name, sizeof(o->connect_name),
	    a->host, a->port);
	return 0;
}

const char *
opts_help(unsigned own)
{
	static char buf[2048];
	size_t i, n, len = 0;
	const char *h;

	AN(parsing != NULL);
	for (i = 0; i <= sizeof(shared_opts) / sizeof(shared_opts[0]); i++) {
		if (i == sizeof(shared_opts) / sizeof(shared_opts[0]))
			h = help_tail;
		else if ((h = shared_opts[i].so_help) == NULL ||
		    (shared_opts[i].so_bit & (~parsing->uses | own)) != 0)
			continue;
		n = strlen(h);
		AN(len + n < sizeof(buf));
		memcpy(buf + len, h, n);
		len += n;
	}
	buf[len] = '\0';
	return buf;
}
