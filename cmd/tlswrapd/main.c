/*
 * tlswrapd - HTTP/HTTPS gateway: plain HTTP/1.1 in, verified HTTPS out
 * through libcurl.
 *
 * Each client connection is one struct session, read a request at a time
 * (keep-alive and pipelining come from http_in's buffer).  The response
 * head is sent when libcurl has it, before the first body byte, and the
 * body follows as it arrives.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "tlswrapd.h"
#include "log.h"

#define DEFAULT_ADDR	"127.0.0.1:8081"
#define ALLOW_METHODS	"Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

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
static void	exchange(struct session *);
static void	forward(struct session *);
static void	finish(struct session *, int);
static void	send_error(struct session *, int, const char *, const char *,
		    const char *);
static void	access_line(struct session *);

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
	opts_help_common();
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
	int ch;

	log_init(argv[0], LOG_NORMAL);
	opts_init(&gw.gw_opts, "443");
	while ((ch = getopt_long(argc, argv, GTR_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			help();
			break;
		case 'V':
			printf("tlswrapd %s\n", GTR_VERSION);
			exit(0);
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
			if (!opts_common(&gw.gw_opts, ch, optarg))
				usage();
			break;
		}
	}
	if (optind != argc)
		usage();
	log_init(argv[0], gw.gw_opts.verbosity);
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
	signal(SIGPIPE, SIG_IGN);
	return serve_main(&gw.gw_opts, DEFAULT_ADDR, handle, NULL);
}

/* Serves one client connection: requests until close or error. */
static void
handle(struct conn *c, void *arg)
{
	struct session *s;
	uint64_t deadline;
	int r, one = 1;

	(void)arg;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("conn=%lu: unable to allocate a session", c->c_id);
		return;
	}
	s->s_conn = c;
	/* heads and last chunks are small writes: Nagle would hold them */
	if (c->c_is_socket)
		(void)setsockopt(c->c_wfd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	http_in_init(&s->s_in, c->c_rfd);
	deadline = c->c_start_ms + gw.gw_opts.header_timeout * 1000ULL;
	for (;;) {
		memset(&s->s_hd, 0, sizeof(s->s_hd));
		r = http_read_head(&s->s_in, &s->s_hd, 1, NULL, deadline);
		if (r == HTTP_EOF)
			break;
		s->s_t0 = now_ms();
		if (r != 0) {
			/*
			 * An idle keep-alive connection just ends, whether
			 * by our deadline or by a reset from the client.
			 */
			if ((r == 408 || r == 400) &&
			    s->s_in.in_start == s->s_in.in_end)
				break;
			s->s_hd.hd_method = NULL;
			s->s_status = r;
			s->s_bytes_in = s->s_bytes_out = 0;
			s->s_proto = "-";
			s->s_url[0] = '\0';
			http_send_error(c->c_wfd, 11, r, "http_request_error",
			    r == 408 ? "request head too slow" :
			    "malformed request", NULL, 1, write_deadline());
			access_line(s);
			break;
		}
		exchange(s);
		if (s->s_close || serve_stopping())
			break;
		deadline = now_ms() + gw.gw_opts.header_timeout * 1000ULL;
	}
	upstream_release(s);
	free(s);
	/*
	 * OpenSSL keeps an error queue per thread, and serve.c may end this
	 * thread without OpenSSL noticing.
	 */
	OPENSSL_thread_stop();
}

/* One request, start to end; the response is complete or s_close is set. */
static void
exchange(struct session *s)
{
	struct http_head *hd = &s->s_hd;
	const char *err;
	unsigned port;

	s->s_status = 0;
	s->s_bytes_in = s->s_bytes_out = 0;
	s->s_head_sent = s->s_head_done = s->s_chunked = s->s_no_body = 0;
	s->s_write_failed = s->s_policy = s->s_continued = 0;
	s->s_body_eof = s->s_body_status = 0;
	s->s_rlen = s->s_traillen = s->s_outlen = 0;
	s->s_clen = -1;
	s->s_fail = NULL;
	s->s_proto = "-";
	s->s_url[0] = '\0';
	s->s_close = !hd->hd_keep_alive;
	if (gw.gw_insecure)
		log_warnx("conn=%lu: --insecure: %s is not verified",
		    s->s_conn->c_id, hd->hd_target);
	if (strcmp(hd->hd_method, "CONNECT") == 0) {
		s->s_close = 1;
		send_error(s, 405, "http_request_error",
		    "CONNECT is not supported here (connectd tunnels)",
		    ALLOW_METHODS);
		goto done;
	}
	if (target_url(&gw, hd, s->s_url, sizeof(s->s_url), &port,
	    &err) == -1) {
		s->s_close = 1;
		send_error(s, 400, "http_request_error", err, NULL);
		goto done;
	}
	if (!gw.gw_origin && !policy_port_ok(&gw.gw_opts.policy, port)) {
		if (hd->hd_framing != HTTP_BODY_NONE)
			s->s_close = 1;
		send_error(s, 403, "destination_ip_prohibited",
		    "destination port refused by policy", NULL);
		goto done;
	}
	forward(s);
done:
	access_line(s);
}

/* Sends the request upstream and the response back; sets s_close. */
static void
forward(struct session *s)
{
	int rc;

	http_body_init(&s->s_body, &s->s_hd);
	s->s_body_eof = s->s_hd.hd_framing == HTTP_BODY_NONE;
	if ((s->s_reqh = request_fields(&s->s_hd)) == NULL) {
		s->s_close = 1;
		send_error(s, 500, "proxy_internal_error", "out of memory",
		    NULL);
		return;
	}
	rc = upstream_perform(s);
	curl_slist_free_all(s->s_reqh);
	s->s_reqh = NULL;
	/* an unread request body would be taken for the next request */
	if (!s->s_body_eof)
		s->s_close = 1;
	finish(s, rc);
	upstream_release(s);
}

/* Ends the response after libcurl returned rc. */
static void
finish(struct session *s, int rc)
{
	char detail[CURL_ERROR_SIZE + 128], last[TRAILER_MAX + 8];
	const char *tok;
	int st, n;

	if (rc != CURLE_OK && s->s_outlen > 0) {
		/* nothing reached the client yet: it gets a whole error */
		s->s_outlen = 0;
		s->s_head_sent = 0;
	}
	if (s->s_head_sent && !s->s_write_failed)
		upstream_flush(s);
	if (rc == CURLE_OK && s->s_head_sent && !s->s_write_failed) {
		if (s->s_chunked) {
			n = snprintf(last, sizeof(last), "0\r\n%.*s\r\n",
			    (int)s->s_traillen, s->s_trail);
			if (http_write_all(s->s_conn->c_wfd, last, n,
			    write_deadline()) == -1)
				s->s_close = 1;
		} else if (s->s_clen >= 0 && !s->s_no_body &&
		    s->s_bytes_out != (uint64_t)s->s_clen)
			s->s_close = 1;
		return;
	}
	if (s->s_write_failed) {
		/* the client went away: nothing to tell it */
		s->s_close = 1;
		s->s_status = 499;
		return;
	}
	if (s->s_head_sent) {
		/* the client must not take a cut body for a whole one */
		log_info("conn=%lu: response broken after %llu bytes: %s",
		    s->s_conn->c_id, (unsigned long long)s->s_bytes_out,
		    s->s_body_status ? "request body broken" :
		    s->s_err[0] ? s->s_err : curl_easy_strerror(rc));
		s->s_close = 1;
		return;
	}
	if (s->s_body_status != 0) {
		s->s_close = 1;
		send_error(s, s->s_body_status, "http_request_error",
		    "request body broken", NULL);
		return;
	}
	if (rc == CURLE_OK)
		s->s_fail = "no response head";
	st = upstream_error(s, rc, &tok, detail, sizeof(detail));
	send_error(s, st, tok, detail, NULL);
}

/* A complete error response. */
static void
send_error(struct session *s, int status, const char *token,
    const char *detail, const char *extra)
{
	s->s_status = status;
	if (status >= 500 || status == 400 || status == 403)
		log_info("conn=%lu: %d: %s", s->s_conn->c_id, status, detail);
	if (http_send_error(s->s_conn->c_wfd, s->s_hd.hd_version, status,
	    token, detail, extra, s->s_close, write_deadline()) == -1)
		s->s_close = 1;
	s->s_head_sent = 1;
}

static void
access_line(struct session *s)
{
	struct conn *c = s->s_conn;

	log_info("client=%s:%s method=%s target=%s status=%d "
	    "bytes_in=%llu bytes_out=%llu ms=%llu upstream_proto=%s%s",
	    c->c_peer_ip, c->c_peer_port,
	    s->s_hd.hd_method ? s->s_hd.hd_method : "-",
	    s->s_url[0] ? s->s_url : "-", s->s_status,
	    (unsigned long long)s->s_bytes_in,
	    (unsigned long long)s->s_bytes_out,
	    (unsigned long long)(now_ms() - s->s_t0), s->s_proto,
	    s->s_write_failed ? " result=aborted" : "");
}
