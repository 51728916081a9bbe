/*
 * connectd - an HTTP CONNECT tunnel.
 *
 * Each connection: read a request head, check that it is a CONNECT to an
 * allowed destination (and its credentials with --auth), connect, answer
 * 200 only once the upstream connection exists, then hand both sockets to
 * the shared relay with whatever the client already sent after its head.
 * Refusals are complete responses with a Proxy-Status field; a 407 keeps
 * the connection for the client's retry, up to HTPASSWD_TRIES wrong
 * credentials on one connection.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "htpasswd.h"
#include "http.h"
#include "log.h"
#include "net.h"
#include "opts.h"
#include "relay.h"
#include "serve.h"

#define DEFAULT_ADDR	"127.0.0.1:3128"
#define TARGET_MAX	(NET_HOSTLEN + NET_PORTLEN + 4)
/* "[V6]:PORT" or "unix": kept for every open tunnel, so no larger. */
#define UPSTREAM_MAX	(NET_IPLEN + NET_PORTLEN + 4)
#define LOGVAL_MAX	LOG_VALUE_MAX(TARGET_MAX)
#define REALM_MAX	128
#define ESTABLISHED	"HTTP/1.1 200 Connection established\r\n\r\n"

enum {
	OPT_AUTH = OPT_PROGRAM_BASE,
	OPT_REALM
};

struct config {
	struct gtr_opts	 cf_opts;
	const struct net_addr *cf_fixed; /* -c, or NULL */
	const char	*cf_auth_path;	/* --auth, or NULL */
	struct htpasswd	*cf_auth;	/* its users; re-read on SIGHUP */
	char		 cf_challenge[REALM_MAX + 48];
};

/*
 * The access line of one exchange and the strings it points into,
 * filled in as its head is judged; a tunnel's goes to the relay with it
 * and is logged when the relay ends.
 */
struct exchange {
	struct access_line ex_al;	/* bytes_in: the head's so far */
	char		 ex_method[32];
	char		 ex_target[TARGET_MAX];
	char		 ex_user[HTPASSWD_USER_MAX];
	char		 ex_upstream[UPSTREAM_MAX];
};

/* One client connection, from its first byte to the relay. */
struct session {
	struct conn		*se_conn;
	struct config		*se_cf;
	struct http_in		 se_in;
	struct http_head	 se_head;
	struct exchange		*se_ex;	/* the exchange of the current head */
	char			 se_host[NET_HOSTLEN];
	char			 se_port[NET_PORTLEN];
	uint64_t		 se_deadline;	/* for the current head */
	int			 se_auth_fails;	/* wrong credentials so far */
};

static void	 usage(void) __attribute__((noreturn));
static void	 help(void);
static void	 handle(struct conn *, void *);
static int	 serve_head(struct session *);
static void	 debug_head(const struct session *);
static int	 refuse(struct session *, int, enum log_reason,
		    enum proxy_error, const char *, const char *, int);
static int	 authorize(struct session *);
static void	 open_tunnel(struct session *);
static struct access_line *exchange_pack(const struct exchange *);
static void	 tunnel_done(struct conn *, const struct relay_stats *,
		    void *);
static void	 exchange_init(struct exchange *);

static const struct option longopts[] = {
	{ "auth",	required_argument, NULL, OPT_AUTH },
	{ "realm",	required_argument, NULL, OPT_REALM },
	GTR_COMMON_LONGOPTS
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: connectd [-hqVv] [-c host:port] [-l address] [-u user] "
	    "[--accept-proxy]\n"
	    "                [--allow-client cidr] [--allow-dest cidr] "
	    "[--allow-port list]\n"
	    "                [--auth file] [--connect-timeout seconds] "
	    "[--grace seconds]\n"
	    "                [--header-timeout seconds] "
	    "[--idle-timeout seconds]\n"
	    "                [--max-conns number] [--realm name]\n");
	exit(EXIT_USAGE);
}

static void
help(void)
{
	printf("usage: connectd [options]\n"
	    "HTTP CONNECT tunnel: CONNECT host:port, then bytes both ways.\n\n"
	    "  -c, --connect HOST:PORT  tunnel every CONNECT to this "
	    "destination (trusted)\n"
	    "      --allow-port LIST    ports a CONNECT may name (443)\n"
	    "      --allow-dest CIDR    allow loopback, private and other "
	    "special addresses\n"
	    "                           in CIDR (repeatable; none)\n"
	    "      --auth FILE          require Proxy-Authorization: Basic "
	    "checked against\n"
	    "                           an htpasswd file (bcrypt, SHA-crypt)\n"
	    "                           (re-read on SIGHUP)\n"
	    "      --realm NAME         realm in Proxy-Authenticate (gtr)\n");
	fputs(opts_help(0), stdout);
}

/* Starts the access line of an exchange: no names, no bytes yet. */
static void
exchange_init(struct exchange *ex)
{
	memset(ex, 0, sizeof(*ex));
	ex->ex_al.al_method = ex->ex_method;
	ex->ex_al.al_target = ex->ex_target;
	ex->ex_al.al_user = ex->ex_user;
	ex->ex_al.al_upstream = ex->ex_upstream;
}

/*
 * Answers the current request with an error and logs it, with its cause
 * (on a line of its own: the access line says only its reason).  Returns
 * 1 if the connection stays open for another head, 0 if it is to be
 * closed.
 */
static int
refuse(struct session *se, int status, enum log_reason reason,
    enum proxy_error pe, const char *detail, const char *extra, int keep)
{
	struct conn *c = se->se_conn;
	int version = se->se_head.hd_version ? se->se_head.hd_version : 11;
	int n;

	if (keep && !se->se_head.hd_keep_alive)
		keep = 0;
	conn_log_refusal(c, status, detail);
	if ((n = http_send_error(c->c_wfd, version, status, pe, detail,
	    extra, !keep, now_ms() + 1000ULL *
	    se->se_cf->cf_opts.header_timeout)) == -1) {
		keep = 0;
		n = 0;
	}
	conn_access_end(c, &se->se_ex->ex_al, status, n, reason);
	return keep;
}

/*
 * Checks Proxy-Authorization.  Returns 1 when the request may go on, 0
 * after a 407 that keeps the connection, -1 after one that closes it
 * (the HTPASSWD_TRIES-th wrong credentials) or a 503 (no crypt(3) slot
 * came free before the head's deadline).
 */
static int
authorize(struct session *se)
{
	struct config *cf = se->se_cf;
	struct conn *c = se->se_conn;
	enum htpasswd_result r = HTPASSWD_NONE;
	char tried[HTPASSWD_USER_MAX];
	const char *v;
	int keep;

	if (cf->cf_auth == NULL)
		return 1;
	v = http_get(&se->se_head, "Proxy-Authorization");
	if (v != NULL)
		r = htpasswd_verify(cf->cf_auth, v, se->se_deadline, tried,
		    sizeof(tried));
	if (r == HTPASSWD_OK) {
		(void)strcpy(se->se_ex->ex_user, tried);
		return 1;
	}
	if (r == HTPASSWD_BUSY) {
		(void)refuse(se, HTTP_SERVICE_UNAVAILABLE,
		    REASON_INTERNAL_ERROR, PE_PROXY_INTERNAL_ERROR,
		    "too many password checks at once; try again", NULL, 0);
		return -1;
	}
	/* No credentials is the challenge's first step, not a failure. */
	keep = 1;
	if (r != HTPASSWD_NONE) {
		htpasswd_log_failure(c->c_id, c->c_peer_ip, c->c_peer_port,
		    tried, r);
		keep = ++se->se_auth_fails < HTPASSWD_TRIES;
	}
	return refuse(se, HTTP_PROXY_AUTH_REQUIRED, REASON_AUTH,
	    PE_HTTP_REQUEST_DENIED, http_auth_refusal(v != NULL),
	    se->se_cf->cf_challenge, keep) ? 0 : -1;
}

/* With -v, logs the request line of a head that parsed. */
static void
debug_head(const struct session *se)
{
	const struct http_head *hd = &se->se_head;
	char m[LOGVAL_MAX], t[LOGVAL_MAX];

	if (log_verbosity() < LOG_DEBUG)
		return;
	log_debug("conn=%lu: head received: %s %s HTTP/1.%d, %d fields",
	    se->se_conn->c_id, log_value(hd->hd_method, m, sizeof(m)),
	    log_value(hd->hd_target, t, sizeof(t)),
	    hd->hd_version == 10 ? 0 : 1, hd->hd_nfields);
}

/*
 * Reads and judges one request head.  Returns 1 to read another head on
 * the same connection, 0 when the connection is done with or handed to
 * the relay.
 */
static int
serve_head(struct session *se)
{
	const struct config *cf = se->se_cf;
	struct http_head *hd = &se->se_head;
	struct exchange *ex = se->se_ex;
	char detail[TARGET_MAX + 64];
	int rc, a;

	memset(hd, 0, sizeof(*hd));
	exchange_init(ex);
	rc = http_read_head(&se->se_in, hd, 1, NULL, se->se_deadline);
	/*
	 * A close or a reset before the first byte of a head (curl after a
	 * 407 it will not retry) ends the connection quietly: no exchange
	 * began, so there is nothing to answer and no access line.
	 */
	if (rc == HTTP_EOF ||
	    (rc == HTTP_BAD_REQUEST &&
	    http_in_pending(&se->se_in, NULL) == 0)) {
		log_debug("conn=%lu: the client closed before a head",
		    se->se_conn->c_id);
		return 0;
	}
	http_head_names(hd, ex->ex_method, sizeof(ex->ex_method),
	    ex->ex_target, sizeof(ex->ex_target));
	/* What this exchange read: the head, or what there was of it. */
	ex->ex_al.al_bytes_in = rc == 0 ? hd->hd_size :
	    http_in_pending(&se->se_in, NULL);
	if (rc != 0)
		return refuse(se, rc, rc == HTTP_REQUEST_TIMEOUT ?
		    REASON_HEADER_TIMEOUT : REASON_BAD_REQUEST,
		    PE_HTTP_REQUEST_ERROR,
		    http_head_error(hd, rc), NULL, 0);
	debug_head(se);
	if (strcmp(hd->hd_method, "CONNECT") != 0)
		return refuse(se, HTTP_METHOD_NOT_ALLOWED, REASON_POLICY,
		    PE_HTTP_REQUEST_DENIED,
		    "only CONNECT is served here", "Allow: CONNECT", 0);
	if (hd->hd_framing == HTTP_BODY_CHUNKED ||
	    (hd->hd_framing == HTTP_BODY_LENGTH && hd->hd_length > 0) ||
	    http_get(hd, "Transfer-Encoding") != NULL)
		return refuse(se, HTTP_BAD_REQUEST, REASON_BAD_REQUEST,
		    PE_HTTP_REQUEST_ERROR, "a CONNECT request has no body",
		    NULL, 0);
	if (net_parse_authority(hd->hd_target, strlen(hd->hd_target), NULL,
	    se->se_host, se->se_port) == -1)
		return refuse(se, HTTP_BAD_REQUEST, REASON_BAD_REQUEST,
		    PE_HTTP_REQUEST_ERROR, "target is not host:port", NULL, 0);
	if ((a = authorize(se)) <= 0) {
		se->se_deadline = now_ms() +
		    1000ULL * cf->cf_opts.header_timeout;
		return a == 0;
	}
	if (cf->cf_fixed == NULL &&
	    !policy_port_ok(&cf->cf_opts.policy, atoi(se->se_port))) {
		(void)policy_port_refusal(detail, sizeof(detail),
		    (unsigned)atoi(se->se_port));
		return refuse(se, HTTP_FORBIDDEN, REASON_POLICY,
		    PE_DESTINATION_IP_PROHIBITED, detail, NULL, 0);
	}
	open_tunnel(se);
	return 0;
}

/* Connects upstream, answers 200 and starts the relay, or refuses. */
static void
open_tunnel(struct session *se)
{
	const struct config *cf = se->se_cf;
	const struct net_addr *fx = cf->cf_fixed;
	struct exchange *ex = se->se_ex;
	const char *dest = fx != NULL ? cf->cf_opts.connect_name :
	    ex->ex_target;
	struct conn *c = se->se_conn;
	struct access_line *al = NULL;
	const char *pending;
	char detail[TARGET_MAX + sizeof(cf->cf_opts.connect_name) + 128];
	static const char ok[] = ESTABLISHED;
	enum net_error err = NET_OK;
	size_t npending;
	int fd;

	fd = net_connect_to(fx, se->se_host, se->se_port, &cf->cf_opts.policy,
	    serve_is_own_addr, cf->cf_opts.connect_timeout * 1000, &err,
	    ex->ex_upstream, sizeof(ex->ex_upstream));
	if (fd == -1) {
		/* With -c, the destination tried is -c's, not the target. */
		if (fx != NULL)
			ex->ex_al.al_upstream = cf->cf_opts.connect_name;
		if (fx == NULL && net_http_status(err) == HTTP_FORBIDDEN)
			(void)policy_dest_refusal(detail, sizeof(detail), err,
			    se->se_host, se->se_port);
		else
			snprintf(detail, sizeof(detail), "cannot connect to "
			    "%s: %s", dest, net_strerror(err));
		refuse(se, net_http_status(err), net_log_reason(err),
		    net_proxy_error(err), detail, NULL, 0);
		return;
	}
	log_debug("conn=%lu: connected to %s (address %s)", c->c_id, dest,
	    ex->ex_upstream);
	if (http_write_all(c->c_wfd, ok, sizeof(ok) - 1, now_ms() +
	    1000ULL * cf->cf_opts.header_timeout) == -1) {
		conn_access_end(c, &ex->ex_al, HTTP_OK, 0, REASON_CLIENT_CLOSED);
		close(fd);
		return;
	}
	/* The relay copies the pending bytes: a pipelined ClientHello. */
	npending = http_in_pending(&se->se_in, &pending);
	log_debug("conn=%lu: relay started, %zu bytes the client sent after "
	    "its head go first", c->c_id, npending);
	if ((al = exchange_pack(ex)) == NULL || relay_start(c, fd, fd,
	    pending, npending, cf->cf_opts.idle_timeout, tunnel_done,
	    al) == -1) {
		log_warnx("conn=%lu: cannot start the relay", c->c_id);
		free(al);
		conn_access_end(c, &ex->ex_al, HTTP_OK, sizeof(ok) - 1,
		    REASON_INTERNAL_ERROR);
		close(fd);
	}
}

/*
 * Returns ex's access line alone, its strings packed after it, for the
 * tunnel's whole life: an idle tunnel keeps what its names take, not
 * the buffers a head needed.  NULL if out of memory.
 */
static struct access_line *
exchange_pack(const struct exchange *ex)
{
	const struct access_line *from = &ex->ex_al;
	const char *str[] = { from->al_method, from->al_target,
	    from->al_user, from->al_upstream };
	struct access_line *al;
	const char **to[4];
	size_t len[4], size = sizeof(*al);
	char *p;
	int i;

	for (i = 0; i < 4; i++)
		size += len[i] = str[i] != NULL ? strlen(str[i]) + 1 : 0;
	if ((al = malloc(size)) == NULL)
		return NULL;
	*al = *from;
	to[0] = &al->al_method;
	to[1] = &al->al_target;
	to[2] = &al->al_user;
	to[3] = &al->al_upstream;
	p = (char *)(al + 1);
	for (i = 0; i < 4; i++)
		if (str[i] != NULL) {
			*to[i] = memcpy(p, str[i], len[i]);
			p += len[i];
		}
	return al;
}

/*
 * Logs the tunnel's access line once the relay has ended: bytes_in is the
 * head and what went upstream (the bytes sent after the head included),
 * bytes_out the 200 and what came back.
 */
static void
tunnel_done(struct conn *c, const struct relay_stats *rs, void *arg)
{
	struct access_line *al = arg;

	al->al_bytes_in += rs->rs_up;
	conn_access_end(c, al, HTTP_OK, sizeof(ESTABLISHED) - 1 + rs->rs_down,
	    rs->rs_end);
	free(al);
}

/* Serves one client connection: heads until a tunnel or the end. */
static void
handle(struct conn *c, void *arg)
{
	struct session *se;

	if ((se = calloc(1, sizeof(*se))) == NULL ||
	    (se->se_ex = malloc(sizeof(*se->se_ex))) == NULL) {
		log_warn("conn=%lu: cannot allocate a session", c->c_id);
		free(se);
		return;
	}
	se->se_conn = c;
	se->se_cf = arg;
	http_in_init(&se->se_in, c->c_rfd);
	se->se_deadline = c->c_start_ms +
	    1000ULL * se->se_cf->cf_opts.header_timeout;
	while (serve_head(se) && !serve_stopping())
		;
	free(se->se_ex);
	free(se);
}

int
main(int argc, char *argv[])
{
	static struct config cf;
	const char *realm = "gtr";
	char err[512];
	int ch, rc;

	log_init(argv[0], LOG_NORMAL);
	opts_init(&cf.cf_opts, "443", OPTS_UPSTREAM);
	while ((ch = opts_next(&cf.cf_opts, argc, argv, longopts,
	    help)) != -1) {
		switch (ch) {
		case OPT_AUTH:
			cf.cf_auth_path = optarg;
			break;
		case OPT_REALM:
			realm = optarg;
			break;
		default:
			usage();
		}
	}
	if ((rc = opts_done(&cf.cf_opts, argc, argv)) >= 0)
		return rc;
	if (realm[0] == '\0' || strlen(realm) >= REALM_MAX ||
	    strpbrk(realm, "\"\\") != NULL ||
	    strspn(realm, " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQ"
	    "RSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~") != strlen(realm))
		fatalx(EXIT_USAGE, "--realm: \"%s\" is not a printable name "
		    "without quotes", realm);
	snprintf(cf.cf_challenge, sizeof(cf.cf_challenge),
	    "Proxy-Authenticate: Basic realm=\"%s\"", realm);
	if (opts_connect_hostport(&cf.cf_opts, err, sizeof(err)) == -1)
		fatalx(EXIT_USAGE, "%s", err);
	if (cf.cf_opts.connect != NULL)
		cf.cf_fixed = &cf.cf_opts.connect_addr;
	if (cf.cf_auth_path != NULL) {
		if ((cf.cf_auth = htpasswd_load(cf.cf_auth_path, err,
		    sizeof(err))) == NULL)
			fatalx(EXIT_CONFIG, "--auth %s", err);
		serve_on_hup(htpasswd_reload, cf.cf_auth);
	}
	serve_client_speaks_first();
	return serve_main(&cf.cf_opts, DEFAULT_ADDR, handle, &cf);
}
