/*
 * relayd - an HTTP relay.
 *
 * Reads the first request head, finds the destination (the absolute URI,
 * Host, -c, or the program after "--"), rewrites the head to origin form
 * with "Connection: close", and hands both sides to the shared relay with
 * the rewritten head and the bytes already read after it as the first
 * bytes upstream.  Only the first head is parsed: passing keep-alive on
 * would leave the relay waiting for a close that never comes, so the
 * exchange is made to end with the origin's response.  --raw skips HTTP.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "net.h"
#include "opts.h"
#include "relay.h"
#include "serve.h"
#include "spawnprog.h"

#define DEFAULT_ADDR	"127.0.0.1:8080"
#define LOGTARGET_MAX	512
#define HEAD_OUT_MAX	(HTTP_HEAD_MAX + NET_HOSTLEN + 64)
#define AUTHORITY_MAX	(NET_HOSTLEN + NET_PORTLEN + 4)
#define UPSTREAM_MAX	(NET_HOSTLEN + NET_PORTLEN + 4) /* unix:PATH fits */
#define REAP_WAIT_MS	2000	/* at exit, a program gets this long */

enum {
	OPT_RAW = OPT_PROGRAM_BASE
};

struct config {
	struct gtr_opts	 cf_opts;
	const struct net_addr *cf_fixed; /* -c, or NULL */
	int		 cf_raw;		/* --raw */
	char		**cf_argv;	/* after "--", or NULL */
};

/*
 * The access line of the exchange and the strings it points into, filled
 * in as its head is judged; what outlives the handler with the relay:
 * that line and the program to reap.
 */
struct exchange {
	struct access_line ex_al;	/* bytes_in: the head's so far */
	char		 ex_method[32];
	char		 ex_target[LOGTARGET_MAX];
	char		 ex_upstream[UPSTREAM_MAX];
	uint64_t	 ex_first;	/* what the relay got to send first */
	pid_t		 ex_pid;	/* the program's, or -1 */
	int		 ex_raw;	/* --raw: no method, target, status */
};

/* One client connection until it is handed to the relay. */
struct session {
	struct conn		*se_conn;
	const struct config	*se_cf;
	struct http_in		 se_in;
	struct http_head	 se_head;
	struct exchange		*se_ex;
	char			 se_host[NET_HOSTLEN];
	char			 se_port[NET_PORTLEN];
	char			 se_authority[AUTHORITY_MAX];
	const char		*se_path;	/* origin-form target */
	enum log_reason		 se_failed;	/* why open_upstream() failed */
	struct http_field	 se_fields[HTTP_FIELDS_MAX + 2];
	char			 se_out[HEAD_OUT_MAX]; /* rewritten head */
};

static void	 usage(void) __attribute__((noreturn));
static void	 help(void);
static void	 handle(struct conn *, void *);
static void	 serve_http(struct session *);
static void	 refuse(struct session *, int, enum log_reason,
		    enum proxy_error, const char *);
static int	 find_destination(struct session *);
static int	 skip_field(const struct http_head *, const char *);
static int	 rewrite_head(struct session *);
static int	 open_upstream(struct session *, pid_t *, char *, size_t);
static void	 start_relay(struct session *, int, pid_t, const char *,
		    size_t);
static struct exchange *exchange_new(int);
static void	 exchange_done(struct conn *, const struct relay_stats *,
		    void *);
static int	 response_status(const char *, size_t);

static const struct option longopts[] = {
	{ "raw",	no_argument,	NULL, OPT_RAW },
	GTR_COMMON_LONGOPTS
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: relayd [-hqVv] [-c host:port] [-l address] [-u user] "
	    "[--accept-proxy]\n"
	    "              [--allow-dest cidr] [--allow-port list] "
	    "[--connect-timeout seconds]\n"
	    "              [--grace seconds] [--header-timeout seconds] "
	    "[--idle-timeout seconds]\n"
	    "              [--max-conns number] [--raw] "
	    "[-- program [arg ...]]\n");
	exit(EXIT_USAGE);
}

static void
help(void)
{
	printf("usage: relayd [options] [-- program [arg ...]]\n"
	    "HTTP relay: the first request head picks the destination, "
	    "then bytes both ways.\n\n"
	    "  -c, --connect HOST:PORT  relay every request to this "
	    "destination (trusted)\n"
	    "      --raw                no HTTP at all: a TCP relay to -c or "
	    "the program\n"
	    "      --allow-port LIST    ports a request may name (80)\n"
	    "      --allow-dest CIDR    allow loopback, private and other "
	    "special addresses\n"
	    "                           in CIDR (repeatable; none)\n"
	    "  -- program [arg ...]     run the program per connection as "
	    "the upstream\n");
	fputs(opts_help(0), stdout);
}

/*
 * Returns a new exchange, its access line started: no names, no bytes
 * yet, or NULL.  With --raw there is no HTTP: method, target and status
 * are left out.
 */
static struct exchange *
exchange_new(int raw)
{
	struct exchange *ex;

	if ((ex = calloc(1, sizeof(*ex))) == NULL)
		return NULL;
	ex->ex_raw = raw;
	ex->ex_pid = -1;
	ex->ex_al.al_method = raw ? NULL : ex->ex_method;
	ex->ex_al.al_target = raw ? NULL : ex->ex_target;
	ex->ex_al.al_upstream = ex->ex_upstream;
	return ex;
}

/*
 * Answers the request with an error, closing, and logs it with its cause
 * (on a line of its own: the access line says only its reason).
 */
static void
refuse(struct session *se, int status, enum log_reason reason,
    enum proxy_error pe, const char *detail)
{
	struct conn *c = se->se_conn;
	int version = se->se_head.hd_version ? se->se_head.hd_version : 11;
	int n;

	conn_log_refusal(c, status, detail);
	if ((n = http_send_error(c->c_wfd, version, status, pe, detail,
	    NULL, 1, now_ms() + 1000ULL * se->se_cf->cf_opts.header_timeout))
	    == -1)
		n = 0;
	conn_access_end(c, &se->se_ex->ex_al, status, n, reason);
}

/*
 * Finds the destination and the origin-form target of the request.
 * Returns 0, or the status it was refused with (already answered).
 */
static int
find_destination(struct session *se)
{
	const struct config *cf = se->se_cf;
	struct http_head *hd = &se->se_head;
	const char *t = hd->hd_target, *host;
	size_t alen;
	int i, nhost = 0;

	se->se_path = t;
	se->se_authority[0] = '\0';
	for (i = 0; i < hd->hd_nfields; i++)
		if (strcasecmp(hd->hd_fields[i].name, "Host") == 0)
			nhost++;
	if (nhost > 1) {
		refuse(se, HTTP_BAD_REQUEST, REASON_BAD_REQUEST,
		    PE_HTTP_REQUEST_ERROR, "more than one Host");
		return HTTP_BAD_REQUEST;
	}
	if (strncasecmp(t, "http://", 7) == 0) {
		t += 7;
		alen = strcspn(t, "/?#");
		if (net_parse_authority(t, alen, "80", se->se_host,
		    se->se_port) == -1) {
			refuse(se, HTTP_BAD_REQUEST, REASON_BAD_REQUEST,
			    PE_HTTP_REQUEST_ERROR,
			    "bad authority in the request URI");
			return HTTP_BAD_REQUEST;
		}
		memcpy(se->se_authority, t, alen);
		se->se_authority[alen] = '\0';
		se->se_path = t[alen] == '/' ? t + alen : "/";
		/* RFC 9112 3.2.4: "OPTIONS http://h" asks about the server. */
		if (t[alen] == '\0' && strcmp(hd->hd_method, "OPTIONS") == 0)
			se->se_path = "*";
		if (t[alen] == '?') {
			/* "http://h?q" has an empty path: send "/?q". */
			se->se_path = NULL;
		}
		return 0;
	}
	if (t[0] != '/' && strcmp(t, "*") != 0) {
		refuse(se, HTTP_BAD_REQUEST, REASON_BAD_REQUEST,
		    PE_HTTP_REQUEST_ERROR,
		    "target is neither http://... nor /path");
		return HTTP_BAD_REQUEST;
	}
	if (cf->cf_fixed != NULL || cf->cf_argv != NULL)
		return 0;
	if ((host = http_get(hd, "Host")) == NULL ||
	    net_parse_authority(host, strlen(host), "80", se->se_host,
	    se->se_port) == -1) {
		refuse(se, HTTP_BAD_REQUEST, REASON_BAD_REQUEST,
		    PE_HTTP_REQUEST_ERROR, host == NULL ?
		    "no Host and no absolute URI" : "bad Host");
		return HTTP_BAD_REQUEST;
	}
	return 0;
}

/* Returns 1 if the field is not to be forwarded. */
static int
skip_field(const struct http_head *hd, const char *name)
{
	static const char *const drop[] = { "Connection", "Keep-Alive",
	    "Proxy-Connection", "Proxy-Authorization" };
	size_t i;

	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (strcasecmp(name, drop[i]) == 0)
			return 1;
	/* The framing and Host stay whatever Connection names. */
	if (strcasecmp(name, "Content-Length") == 0 ||
	    strcasecmp(name, "Transfer-Encoding") == 0 ||
	    strcasecmp(name, "Host") == 0)
		return 0;
	return http_has_token(hd, "Connection", name);
}

/*
 * Writes the head to forward into se_out: origin form, Host from an
 * absolute URI, Connection: close.  Returns its length, or -1.
 */
static int
rewrite_head(struct session *se)
{
	struct http_head *hd = &se->se_head;
	struct http_field *f = se->se_fields;
	char line[HTTP_LINE_MAX + 32], hostval[sizeof(se->se_authority)];
	int i, n = 0, len;

	if (se->se_path != NULL)
		len = snprintf(line, sizeof(line), "%s %s HTTP/1.%d",
		    hd->hd_method, se->se_path, hd->hd_version == 10 ? 0 : 1);
	else
		len = snprintf(line, sizeof(line), "%s /%s HTTP/1.%d",
		    hd->hd_method, hd->hd_target + 7 +
		    strlen(se->se_authority), hd->hd_version == 10 ? 0 : 1);
	if (len < 0 || (size_t)len >= sizeof(line))
		return -1;
	if (se->se_authority[0] != '\0') {
		snprintf(hostval, sizeof(hostval), "%s", se->se_authority);
		f[n].name = "Host";
		f[n++].value = hostval;
	}
	for (i = 0; i < hd->hd_nfields; i++) {
		if (skip_field(hd, hd->hd_fields[i].name) ||
		    (se->se_authority[0] != '\0' &&
		    strcasecmp(hd->hd_fields[i].name, "Host") == 0))
			continue;
		f[n++] = hd->hd_fields[i];
	}
	f[n].name = "Connection";
	f[n++].value = "close";
	return http_format_head(se->se_out, sizeof(se->se_out), line, f, n);
}

/*
 * Connects to the destination or starts the program.  Returns the
 * upstream fd, or -1 with the error answered (HTTP), or in detail and
 * se_failed (raw).
 */
static int
open_upstream(struct session *se, pid_t *pid, char *detail, size_t dlen)
{
	const struct config *cf = se->se_cf;
	const struct net_addr *fx = cf->cf_fixed;
	struct exchange *ex = se->se_ex;
	enum net_error err = NET_OK;
	char dest[UPSTREAM_MAX];
	int fd;

	*pid = -1;
	if (cf->cf_argv != NULL) {
		snprintf(ex->ex_upstream, sizeof(ex->ex_upstream), "program");
		if ((fd = spawn_program(cf->cf_argv, se->se_conn, NULL,
		    pid)) != -1)
			return fd;
		snprintf(detail, dlen, "cannot run %s: %s", cf->cf_argv[0],
		    strerror(errno));
		se->se_failed = REASON_UPSTREAM_ERROR;
		if (!cf->cf_raw)
			refuse(se, HTTP_BAD_GATEWAY, REASON_UPSTREAM_ERROR,
			    PE_PROXY_INTERNAL_ERROR, detail);
		return -1;
	}
	if ((fd = net_connect_to(fx, se->se_host, se->se_port,
	    &cf->cf_opts.policy, serve_is_own_addr,
	    cf->cf_opts.connect_timeout * 1000, &err, ex->ex_upstream,
	    sizeof(ex->ex_upstream))) != -1)
		return fd;
	/* With -c, the destination tried is -c's, not the request's. */
	if (fx != NULL) {
		snprintf(dest, sizeof(dest), "%s", cf->cf_opts.connect_name);
		snprintf(ex->ex_upstream, sizeof(ex->ex_upstream), "%s", dest);
	} else
		(void)net_format_authority(dest, sizeof(dest), se->se_host,
		    se->se_port);
	if (fx == NULL && net_http_status(err) == HTTP_FORBIDDEN)
		(void)policy_dest_refusal(detail, dlen, err, se->se_host,
		    se->se_port);
	else
		snprintf(detail, dlen, "cannot connect to %s: %s", dest,
		    net_strerror(err));
	se->se_failed = net_log_reason(err);
	if (!cf->cf_raw)
		refuse(se, net_http_status(err), net_log_reason(err),
		    net_proxy_error(err), detail);
	return -1;
}

/*
 * The status the client got, from the first bytes the upstream sent: the
 * status line, past interim 1xx heads (a 100 Continue before the 201).
 * Returns 0 when they do not say (not HTTP, cut short, or a final status
 * past the bytes the relay kept).
 */
static int
response_status(const char *p, size_t n)
{
	const char *end = p + n, *e;
	int st;

	for (;;) {
		if (end - p < 12 || memcmp(p, "HTTP/", 5) != 0 ||
		    !isdigit((unsigned char)p[5]) || p[6] != '.' ||
		    !isdigit((unsigned char)p[7]) || p[8] != ' ' ||
		    !isdigit((unsigned char)p[9]) ||
		    !isdigit((unsigned char)p[10]) ||
		    !isdigit((unsigned char)p[11]) ||
		    (end - p > 12 && p[12] != ' ' && p[12] != '\r'))
			return 0;
		st = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
		if (st < 100)
			return 0;
		/* 101: the client switched protocols, as it was told. */
		if (st >= HTTP_OK || st == HTTP_SWITCHING_PROTOCOLS)
			return st;
		if ((e = memmem(p, end - p, "\r\n\r\n", 4)) == NULL)
			return 0;
		p = e + 4;
	}
}

/*
 * Logs the exchange's access line and reaps its program.  bytes_in is
 * the head as the client sent it, the bytes read with it, and what the
 * relay moved after those.
 */
static void
exchange_done(struct conn *c, const struct relay_stats *rs, void *arg)
{
	struct exchange *ex = arg;

	/* In: the head as read and what the relay sent past its own copy. */
	if (rs->rs_up > ex->ex_first)
		ex->ex_al.al_bytes_in += rs->rs_up - ex->ex_first;
	conn_access_end(c, &ex->ex_al, ex->ex_raw ? -1 :
	    response_status(rs->rs_first, rs->rs_nfirst), rs->rs_down,
	    rs->rs_end);
	if (ex->ex_pid > 0)
		spawn_reap_later(ex->ex_pid, c->c_id);
	free(ex);
}

/*
 * Hands the client and fd to the relay, head (hlen bytes) first, then
 * what the client sent after its head.  The relay copies both.
 */
static void
start_relay(struct session *se, int fd, pid_t pid, const char *head,
    size_t hlen)
{
	struct conn *c = se->se_conn;
	struct exchange *ex = se->se_ex;
	const char *pending = NULL;
	char *first = NULL;
	size_t npending = 0;

	if (!se->se_cf->cf_raw)
		npending = http_in_pending(&se->se_in, &pending);
	ex->ex_al.al_bytes_in += npending;
	if (hlen + npending > 0 && (first = malloc(hlen + npending)) == NULL) {
		log_warnx("conn=%lu: out of memory", c->c_id);
		goto fail;
	}
	ex->ex_pid = pid;
	ex->ex_first = hlen + npending;
	if (hlen > 0)
		memcpy(first, head, hlen);
	if (npending > 0)
		memcpy(first + hlen, pending, npending);
	if (relay_start(c, fd, fd, first, hlen + npending,
	    se->se_cf->cf_opts.idle_timeout, exchange_done, ex) == 0) {
		se->se_ex = NULL;	/* exchange_done() frees it */
		free(first);
		return;
	}
	log_warnx("conn=%lu: cannot start the relay", c->c_id);
fail:
	conn_access_end(c, &ex->ex_al, ex->ex_raw ? -1 : 0, 0,
	    REASON_INTERNAL_ERROR);
	free(first);
	close(fd);
	if (pid > 0) {
		(void)kill(pid, SIGTERM);
		(void)spawn_reap(pid);
	}
}

/* Reads the first head, picks the upstream and starts the relay. */
static void
serve_http(struct session *se)
{
	const struct config *cf = se->se_cf;
	struct http_head *hd = &se->se_head;
	struct exchange *ex = se->se_ex;
	char detail[UPSTREAM_MAX + 128];
	uint64_t deadline;
	pid_t pid;
	int rc, fd, hlen;

	deadline = se->se_conn->c_start_ms +
	    1000ULL * cf->cf_opts.header_timeout;
	rc = http_read_head(&se->se_in, hd, 1, NULL, deadline);
	/* A close or a reset before any byte: no request, no answer. */
	if (rc == HTTP_EOF ||
	    (rc == HTTP_BAD_REQUEST &&
	    http_in_pending(&se->se_in, NULL) == 0)) {
		log_debug("conn=%lu: the client closed before a head",
		    se->se_conn->c_id);
		return;
	}
	http_head_names(hd, ex->ex_method, sizeof(ex->ex_method),
	    ex->ex_target, sizeof(ex->ex_target));
	/* The head as read, or what there was of it. */
	ex->ex_al.al_bytes_in = rc == 0 ? hd->hd_size :
	    http_in_pending(&se->se_in, NULL);
	if (rc != 0) {
		refuse(se, rc, rc == HTTP_REQUEST_TIMEOUT ?
		    REASON_HEADER_TIMEOUT : REASON_BAD_REQUEST,
		    PE_HTTP_REQUEST_ERROR, http_head_error(hd, rc));
		return;
	}
	if (strcmp(hd->hd_method, "CONNECT") == 0) {
		refuse(se, HTTP_NOT_IMPLEMENTED, REASON_BAD_REQUEST,
		    PE_HTTP_REQUEST_ERROR,
		    "CONNECT is not relayed here (connectd tunnels)");
		return;
	}
	if (find_destination(se) != 0)
		return;
	if (cf->cf_fixed == NULL && cf->cf_argv == NULL &&
	    !policy_port_ok(&cf->cf_opts.policy, atoi(se->se_port))) {
		(void)policy_port_refusal(detail, sizeof(detail),
		    (unsigned)atoi(se->se_port));
		refuse(se, HTTP_FORBIDDEN, REASON_POLICY,
		    PE_DESTINATION_IP_PROHIBITED, detail);
		return;
	}
	if ((hlen = rewrite_head(se)) == -1) {
		refuse(se, HTTP_FIELDS_TOO_LARGE, REASON_BAD_REQUEST,
		    PE_HTTP_REQUEST_ERROR,
		    "rewritten request head too large");
		return;
	}
	if ((fd = open_upstream(se, &pid, detail, sizeof(detail))) == -1)
		return;
	start_relay(se, fd, pid, se->se_out, hlen);
}

/* Serves one client connection: HTTP or raw, until the relay has it. */
static void
handle(struct conn *c, void *arg)
{
	const struct config *cf = arg;
	struct session *se;
	char detail[UPSTREAM_MAX + 128];
	pid_t pid;
	int fd;

	if ((se = calloc(1, sizeof(*se))) == NULL ||
	    (se->se_ex = exchange_new(cf->cf_raw)) == NULL) {
		log_warn("conn=%lu: cannot allocate a session", c->c_id);
		free(se);
		return;
	}
	se->se_conn = c;
	se->se_cf = cf;
	if (se->se_cf->cf_raw) {
		if ((fd = open_upstream(se, &pid, detail,
		    sizeof(detail))) == -1) {
			log_info("conn=%lu: %s", c->c_id, detail);
			conn_access_end(c, &se->se_ex->ex_al, -1, 0,
			    se->se_failed);
		} else
			start_relay(se, fd, pid, NULL, 0);
	} else {
		http_in_init(&se->se_in, c->c_rfd);
		serve_http(se);
	}
	free(se->se_ex);
	free(se);
}

int
main(int argc, char *argv[])
{
	static struct config cf;
	char err[PATH_MAX + 256], path[PATH_MAX];
	int ch, rc;

	log_init(argv[0], LOG_NORMAL);
	opts_init(&cf.cf_opts, "80", OPTS_UPSTREAM);
	while ((ch = opts_next(&cf.cf_opts, argc, argv, longopts,
	    help)) != -1) {
		switch (ch) {
		case OPT_RAW:
			cf.cf_raw = 1;
			break;
		default:
			usage();
		}
	}
	cf.cf_argv = opts_program(argc, argv);
	if (cf.cf_opts.exit_code >= 0)
		return cf.cf_opts.exit_code;
	log_init(argv[0], cf.cf_opts.verbosity);
	if (cf.cf_opts.connect != NULL && cf.cf_argv != NULL)
		fatalx(EXIT_USAGE, "-c and a program after -- exclude each "
		    "other");
	if (cf.cf_raw && cf.cf_opts.connect == NULL && cf.cf_argv == NULL)
		fatalx(EXIT_USAGE, "--raw needs -c HOST:PORT or a program "
		    "after --");
	if (opts_connect_hostport(&cf.cf_opts, err, sizeof(err)) == -1)
		fatalx(EXIT_USAGE, "%s", err);
	if (cf.cf_opts.connect != NULL)
		cf.cf_fixed = &cf.cf_opts.connect_addr;
	if (cf.cf_argv != NULL && spawn_check(cf.cf_argv[0], path,
	    sizeof(path), err, sizeof(err)) == -1)
		fatalx(EXIT_CONFIG, "%s", err);
	/* A raw relay may carry a protocol whose server greets first. */
	if (!cf.cf_raw)
		serve_client_speaks_first();
	rc = serve_main(&cf.cf_opts, DEFAULT_ADDR, handle, &cf);
	/* The programs' statuses are logged before relayd exits. */
	spawn_reap_finish(REAP_WAIT_MS);
	return rc;
}
