/*
 * opts.c - parsing of the options every program shares.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "opts.h"

static int	number_or_exit(const char *, const char *, long long,
		    long long);
static int	opts_common(struct gtr_opts *, int, const char *);

static const char *last_value;	/* the last option's value, or NULL */

void
opts_init(struct gtr_opts *o, const char *default_ports)
{
	char err[128];

	memset(o, 0, sizeof(*o));
	o->verbosity = LOG_NORMAL;
	o->max_conns = 4096;
	o->grace = 10;
	o->connect_timeout = 10;
	o->idle_timeout = 300;
	o->header_timeout = 15;
	if (default_ports != NULL &&
	    policy_set_ports(&o->policy, default_ports, err, sizeof(err)) == -1)
		fatalx(1, "default ports: %s", err);
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

/* Parses a number option or exits 64 naming it. */
static int
number_or_exit(const char *name, const char *arg, long long min,
    long long max)
{
	long long v;

	if (opts_number(arg, min, max, &v) == -1)
		fatalx(EXIT_USAGE, "%s: \"%s\" is not a number from %lld to "
		    "%lld", name, arg, min, max);
	return (int)v;
}

/*
 * Takes one common option into o.  Returns 1 if ch was one, 0 if not;
 * exits 64 with a message on a bad value.
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
			fatalx(EXIT_USAGE, "-l: at most %d addresses",
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
	case OPT_ALLOW_DEST:
		if (policy_add_dests(&o->policy, arg, err, sizeof(err)) == -1)
			fatalx(EXIT_USAGE, "--allow-dest: %s", err);
		break;
	case OPT_ALLOW_PORT:
		if (policy_set_ports(&o->policy, arg, err, sizeof(err)) == -1)
			fatalx(EXIT_USAGE, "--allow-port: %s", err);
		break;
	case OPT_CONNECT_TIMEOUT:
		o->connect_timeout = number_or_exit("--connect-timeout", arg,
		    1, 3600);
		break;
	case OPT_GRACE:
		o->grace = number_or_exit("--grace", arg, 0, 86400);
		break;
	case OPT_HEADER_TIMEOUT:
		o->header_timeout = number_or_exit("--header-timeout", arg,
		    1, 3600);
		break;
	case OPT_IDLE_TIMEOUT:
		o->idle_timeout = number_or_exit("--idle-timeout", arg,
		    1, 86400 * 7);
		break;
	case OPT_MAX_CONNS:
		o->max_conns = number_or_exit("--max-conns", arg, 1, 1000000);
		break;
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

	opterr = 0;
	for (;;) {
		ch = getopt_long(argc, argv, "+:" GTR_COMMON_SHORTOPTS,
		    longopts, NULL);
		switch (ch) {
		case ':':
			fatalx(EXIT_USAGE, "%s needs a value",
			    argv[optind - 1]);
		case '?':
			fatalx(EXIT_USAGE, "unknown option %s (see -h)",
			    argv[optind - 1]);
		case 'h':
			help();
			exit(0);
		case 'V':
			printf("%s %s\n", log_progname(), GTR_VERSION);
			exit(0);
		default:
			if (ch == -1)
				return ch;
			/* opts_program() must not take "-c --" for "--" */
			last_value = optarg;
			if (!opts_common(o, ch, optarg))
				return ch;
		}
	}
}

char **
opts_program(int argc, char *argv[])
{
	int dashes = optind > 0 && strcmp(argv[optind - 1], "--") == 0 &&
	    argv[optind - 1] != last_value;

	if (optind < argc && !dashes)
		fatalx(EXIT_USAGE, "unexpected argument \"%s\" (a program "
		    "comes after --)", argv[optind]);
	if (optind == argc && dashes)
		fatalx(EXIT_USAGE, "no program after --");
	return optind < argc ? argv + optind : NULL;
}

void
opts_help_common(void)
{
	fputs(
"  -l, --listen ADDR        listen on PORT, HOST:PORT, [V6]:PORT or unix:PATH\n"
"                           (repeatable; a bare port binds loopback only)\n"
"  -u, --user USER          drop privileges to USER after binding\n"
"      --max-conns N        serve at most N connections at once (4096)\n"
"      --grace SECONDS      on SIGTERM, let connections finish this long (10)\n"
"      --accept-proxy       require a PROXY v1/v2 header on every connection\n"
"      --connect-timeout S  upstream connect timeout (10)\n"
"      --idle-timeout S     close after S seconds without traffic (300)\n"
"      --header-timeout S   deadline for each request head (15)\n"
"  -v, --verbose            add debug lines to the log\n"
"  -q, --quiet              log errors only\n"
"  -h, --help               print this help and exit\n"
"  -V, --version            print the version and exit\n", stdout);
}
