/*
 * tlswrapd - HTTP/HTTPS gateway: plain HTTP/1.1 in, verified HTTPS out
 * through libcurl.
 *
 * Each client connection is one struct session in one event loop with
 * libcurl's multi interface (loop.c, session.c, upstream.c).
 */
#include <sys/types.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tlswrapd.h"
#include "log.h"

#define DEFAULT_ADDR	"127.0.0.1:8081"

enum {
	OPT_CACERT = OPT_PROGRAM_BASE,
	OPT_CLIENT_CERT,
	OPT_CLIENT_KEY,
	OPT_INSECURE
};

struct gateway gw;

static void	usage(void) __attribute__((noreturn));
static void	help(void) __attribute__((noreturn));
static void	parse_connect(const char *);
static void	check_file(const char *, const char *);
static void	handle(struct conn *, void *);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tlswrapd [-hqVv] [-c url] [-l address] [-u user] "
	    "[--accept-proxy]\n"
	    "                [--allow-dest cidr] [--allow-port list] "
	    "[--cacert file]\n"
	    "                [--client-cert file] [--client-key file]\n"
	    "                [--connect-timeout seconds] [--grace seconds]\n"
	    "                [--header-timeout seconds] "
	    "[--idle-timeout seconds]\n"
	    "                [--insecure] [--max-conns number]\n");
	exit(EXIT_USAGE);
}

static void
help(void)
{
	printf("usage: tlswrapd [options]\n"
	    "HTTP/HTTPS gateway: plain HTTP in (proxy form or origin form),\n"
	    "verified HTTPS out.\n\n"
	    "  -c, --connect URL        send every request to https://host[:port]"
	    "[/path]\n"
	    "      --allow-port LIST    ports allowed upstream (443)\n"
	    "      --allow-dest CIDR    allow these special addresses (none)\n"
	    "      --cacert FILE        CA certificates to verify with (system)\n"
	    "      --client-cert FILE   client certificate for mutual TLS "
	    "(none)\n"
	    "      --client-key FILE    its key (in --client-cert)\n"
	    "      --insecure           do not verify origins (never)\n");
	fputs(opts_help(0), stdout);
	exit(0);
}

/* Checks -c https://host[:port][/path] and keeps it as base and path. */
static void
parse_connect(const char *url)
{
	struct http_head hd;
	const char *err, *path;
	char buf[URL_MAX];
	size_t n;
	unsigned port;

	if (strncasecmp(url, "https://", 8) != 0)
		fatalx(EXIT_USAGE, "-c %s: not an https:// URL", url);
	path = url + 8 + strcspn(url + 8, "/?#");
	if (*path == '?' || *path == '#' || strlen(path) >=
	    sizeof(gw.gw_base_path) || strpbrk(path, " \t\r\n") != NULL)
		fatalx(EXIT_USAGE, "-c %s: bad path", url);
	memset(&hd, 0, sizeof(hd));
	hd.hd_target = (char *)url;
	if (target_url(&gw, &hd, buf, sizeof(buf), &port, &err) == -1)
		fatalx(EXIT_USAGE, "-c %s: %s", url, err);
	n = strcspn(buf + 8, "/") + 8;
	if (n >= sizeof(gw.gw_base))
		fatalx(EXIT_USAGE, "-c %s: host too long", url);
	memcpy(gw.gw_base, buf, n);
	gw.gw_base[n] = '\0';
	snprintf(gw.gw_base_path, sizeof(gw.gw_base_path), "%s", path);
	n = strlen(gw.gw_base_path);
	if (n > 0 && gw.gw_base_path[n - 1] == '/')
		gw.gw_base_path[n - 1] = '\0';
	gw.gw_origin = 1;
}

static void
check_file(const char *opt, const char *path)
{
	if (path != NULL && access(path, R_OK) == -1)
		fatal(EXIT_CONFIG, "%s %s", opt, path);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "cacert",	 required_argument, NULL, OPT_CACERT },
		{ "client-cert", required_argument, NULL, OPT_CLIENT_CERT },
		{ "client-key",	 required_argument, NULL, OPT_CLIENT_KEY },
		{ "insecure",	 no_argument,	    NULL, OPT_INSECURE },
		GTR_COMMON_LONGOPTS
	};
	int ch, rc;

	log_init(argv[0], LOG_NORMAL);
	opts_init(&gw.gw_opts, "443", OPTS_UPSTREAM);
	while ((ch = opts_next(&gw.gw_opts, argc, argv, longopts,
	    help)) != -1) {
		switch (ch) {
		case OPT_CACERT:
			gw.gw_cacert = optarg;
			break;
		case OPT_CLIENT_CERT:
			gw.gw_cert = optarg;
			break;
		case OPT_CLIENT_KEY:
			gw.gw_key = optarg;
			break;
		case OPT_INSECURE:
			gw.gw_insecure = 1;
			break;
		default:
			usage();
		}
	}
	if ((rc = opts_done(&gw.gw_opts, argc, argv)) >= 0)
		return rc;
	if (gw.gw_key != NULL && gw.gw_cert == NULL)
		fatalx(EXIT_USAGE, "--client-key needs --client-cert");
	if (gw.gw_opts.connect != NULL)
		parse_connect(gw.gw_opts.connect);
	check_file("--cacert", gw.gw_cacert);
	check_file("--client-cert", gw.gw_cert);
	check_file("--client-key", gw.gw_key);
	if (gw.gw_insecure)
		log_warnx("--insecure: origin certificates are NOT verified; "
		    "anyone on the path can read and change the traffic");
	if (upstream_init(&gw) == -1)
		fatalx(1, "unable to initialise libcurl");
	if (session_init() == -1)
		fatal(1, "unable to create a pipe");
	signal(SIGPIPE, SIG_IGN);
	serve_client_speaks_first();
	return serve_main(&gw.gw_opts, DEFAULT_ADDR, handle, NULL);
}

/*
 * Hands the client connection to the event loop, which owns it from now
 * on; serve.c's thread is free again at once.
 */
static void
handle(struct conn *c, void *arg)
{
	(void)arg;
	if (loop_add(c) == -1)
		log_warnx("conn=%lu: the event loop cannot take it; closed",
		    c->c_id);
}
