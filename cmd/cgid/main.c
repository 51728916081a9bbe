/*
 * cgid - the resource gateway: HTTP in, CGI/1.1 (RFC 3875) programs
 * behind.
 *
 * Each request runs a program, the one after "--" or the one its path
 * names under --root, with the meta-variables in a clean environment and
 * the request body on its stdin; its header block becomes the response
 * head and its output the body, streamed.  Keep-alive on the client side;
 * one program at a time per connection, --max-conns connections.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgid.h"
#include "htpasswd.h"
#include "http.h"
#include "log.h"
#include "opts.h"
#include "serve.h"
#include "spawnprog.h"

#define DEFAULT_ADDR	"127.0.0.1:8000"
#define DEFAULT_PATH	"/usr/bin:/bin"
/* Why these two: cgid(8), --max-body and --max-spool. */
#define DEFAULT_MAXBODY	(16ULL * 1024 * 1024)
#define DEFAULT_MAXSPOOL (256ULL * 1024 * 1024)
#define CHALLENGE	\
	"WWW-Authenticate: Basic realm=\"cgid\", charset=\"UTF-8\""
#define LINGER_MS	5000

enum {
	OPT_AUTH = OPT_PROGRAM_BASE,
	OPT_CGI_TIMEOUT,
	OPT_MAX_BODY,
	OPT_MAX_SPOOL,
	OPT_PATH,
	OPT_ROOT
};

extern char **environ;

/* Bytes in every connection's spool file at once, for --max-spool. */
static _Atomic uint64_t spooled;

static void	 usage(void) __attribute__((noreturn));
static void	 help(void);
static void	 find_program(struct cgid_conf *, const char *);
static void	 pass_tls_env(struct cgid_conf *);
static void	 handle(struct conn *, void *);
static void	 linger(const struct exchange *);
static int	 wait_next(struct exchange *);
static int	 serve_request(struct exchange *);
static int	 body_setup(struct exchange *);
static int	 spool(struct exchange *);
static int	 spool_reserve(struct exchange *, size_t);
static void	 spool_close(struct exchange *);
static int	 authorize(struct exchange *);
static void	 run_with_redirects(struct exchange *);
static void	 refuse(struct exchange *, int, const char *, const char *);
static enum proxy_error proxy_error(int);
static enum log_reason refusal_reason(int);
static const char *refusal_why(int);
static void	 access_line(const struct exchange *, uint64_t);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: cgid [-hqVv] [-l address] [-u user] [--accept-proxy] "
	    "[--allow-client cidr]\n"
	    "            [--auth file] "
	    "[--cgi-timeout seconds] [--grace seconds] "
	    "[--header-timeout seconds]\n"
	    "            [--idle-timeout seconds] [--max-body bytes] "
	    "[--max-conns number]\n"
	    "            [--max-spool bytes] [--path path] --root dir\n"
	    "       cgid [options] -- program [arg ...]\n");
	exit(EXIT_USAGE);
}

static void
help(void)
{
	printf("usage: cgid [options] --root DIR\n"
	    "       cgid [options] -- PROGRAM [ARG ...]\n"
	    "Serves HTTP by running CGI/1.1 programs.\n"
	    "      --root DIR           run the executable the path names "
	    "under DIR\n"
	    "      --auth FILE          require HTTP Basic users of this "
	    "htpasswd file\n"
	    "                           (re-read on SIGHUP)\n"
	    "      --cgi-timeout S      a program's header block is due "
	    "within S s (30)\n"
	    "      --max-body BYTES     largest request body, 0: no bound "
	    "(16777216)\n"
	    "      --max-spool BYTES    chunked bodies spooled at once, in all, "
	    "0: no bound\n"
	    "                           (268435456)\n"
	    "      --path PATH          PATH of the programs "
	    "(/usr/bin:/bin)\n");
	fputs(opts_help(0), stdout);
}

/* Resolves the program after "--" as execvp() would, or exits 78. */
static void
find_program(struct cgid_conf *cf, const char *name)
{
	char err[PATH_MAX + 256];

	if (spawn_check(name, cf->cf_program, sizeof(cf->cf_program), err,
	    sizeof(err)) == -1)
		fatalx(EXIT_CONFIG, "%s", err);
}

/* Keeps HTTPS and SSL_* when cgid runs behind a TLS front that set them. */
static void
pass_tls_env(struct cgid_conf *cf)
{
	char **e;

	if (getenv("SSL_PROTOCOL") == NULL)
		return;
	cf->cf_pass[cf->cf_npass++] = "HTTPS=on";
	for (e = environ; *e != NULL && cf->cf_npass < CGID_PASS_MAX; e++)
		if (strncmp(*e, "SSL_", 4) == 0)
			cf->cf_pass[cf->cf_npass++] = *e;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "auth",	 required_argument, NULL, OPT_AUTH },
		{ "cgi-timeout", required_argument, NULL, OPT_CGI_TIMEOUT },
		{ "max-body",	 required_argument, NULL, OPT_MAX_BODY },
		{ "max-spool",	 required_argument, NULL, OPT_MAX_SPOOL },
		{ "path",	 required_argument, NULL, OPT_PATH },
		{ "root",	 required_argument, NULL, OPT_ROOT },
		GTR_COMMON_LONGOPTS
	};
	static struct cgid_conf cf;
	const char *root = NULL, *authfile = NULL;
	char err[PATH_MAX + 256];
	struct stat st;
	long long n;
	int ch;

	log_init("cgid", LOG_NORMAL);
	opts_init(&cf.cf_opts, NULL, 0);
	cf.cf_path = DEFAULT_PATH;
	cf.cf_cgi_timeout = 30;
	cf.cf_max_body = DEFAULT_MAXBODY;
	cf.cf_max_spool = DEFAULT_MAXSPOOL;
	while ((ch = opts_next(&cf.cf_opts, argc, argv, longopts,
	    help)) != -1) {
		switch (ch) {
		case OPT_AUTH:
			authfile = optarg;
			break;
		case OPT_CGI_TIMEOUT:
			if (opts_number(optarg, 1, 86400, &n) == -1)
				fatalx(EXIT_USAGE, "--cgi-timeout: \"%s\" is "
				    "not a number from 1 to 86400", optarg);
			cf.cf_cgi_timeout = n;
			break;
		case OPT_MAX_BODY:
			if (opts_number(optarg, 0, INT64_MAX, &n) == -1)
				fatalx(EXIT_USAGE, "--max-body: \"%s\" is not "
				    "a number of bytes", optarg);
			cf.cf_max_body = n;
			break;
		case OPT_MAX_SPOOL:
			if (opts_number(optarg, 0, INT64_MAX, &n) == -1)
				fatalx(EXIT_USAGE, "--max-spool: \"%s\" is not "
				    "a number of bytes", optarg);
			cf.cf_max_spool = n;
			break;
		case OPT_PATH:
			cf.cf_path = optarg;
			break;
		case OPT_ROOT:
			root = optarg;
			break;
		default:
			usage();
		}
	}
	if (cf.cf_opts.exit_code >= 0)
		return cf.cf_opts.exit_code;
	argc -= optind;
	argv += optind;
	log_init("cgid", cf.cf_opts.verbosity);
	if ((root == NULL) == (argc == 0)) {
		log_error("name either --root DIR or a program after --");
		usage();
	}
	if (root != NULL) {
		if (realpath(root, cf.cf_root) == NULL)
			fatal(EXIT_CONFIG, "--root %s", root);
		if (stat(cf.cf_root, &st) == -1 || !S_ISDIR(st.st_mode))
			fatalx(EXIT_CONFIG, "--root %s: not a directory", root);
		if (strcmp(cf.cf_root, "/") == 0)
			cf.cf_root[0] = '\0';	/* "/" + "/x": no "//x" */
		cf.cf_rootlen = strlen(cf.cf_root);
		if (cf.cf_rootlen == 0)
			fatalx(EXIT_CONFIG, "--root /: every executable on "
			    "the system would be a resource");
	} else {
		find_program(&cf, argv[0]);
		cf.cf_argv = argv;
	}
	if (authfile != NULL) {
		if ((cf.cf_auth = htpasswd_load(authfile, err,
		    sizeof(err))) == NULL)
			fatalx(EXIT_CONFIG, "--auth %s", err);
		serve_on_hup(htpasswd_reload, cf.cf_auth);
	}
	if ((cf.cf_tmpdir = getenv("TMPDIR")) == NULL)
		cf.cf_tmpdir = "/tmp";
	pass_tls_env(&cf);
	serve_client_speaks_first();
	return serve_main(&cf.cf_opts, DEFAULT_ADDR, handle, &cf);
}

/* Serves one connection: requests until one side ends it. */
static void
handle(struct conn *c, void *arg)
{
	const struct cgid_conf *cf = arg;
	struct exchange *x;
	uint64_t deadline, start;
	int rv, one = 1;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		log_warn("conn=%lu: cannot allocate", c->c_id);
		return;
	}
	x->x_conn = c;
	x->x_cf = cf;
	x->x_body_fd = -1;
	http_in_init(&x->x_in, c->c_rfd);
	if (c->c_is_socket)
		(void)setsockopt(c->c_wfd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	deadline = c->c_start_ms + cf->cf_opts.header_timeout * 1000ULL;
	for (;;) {
		start = now_ms();
		x->x_head_deadline = deadline;
		rv = http_read_head(&x->x_in, &x->x_hd, 1, NULL, deadline);
		if (rv == HTTP_EOF)
			break;
		if (rv != 0) {
			/* The head is refused: its body is never read. */
			x->x_keep = 0;
			x->x_bytes_in = x->x_in.in_end;
			x->x_bytes_out = 0;
			x->x_user[0] = '\0';
			x->x_unread = 1;
			(void)send_error(x, rv, proxy_error(rv),
			    http_head_error(&x->x_hd, rv), NULL,
			    rv == HTTP_REQUEST_TIMEOUT ? REASON_HEADER_TIMEOUT :
			    refusal_reason(rv));
			access_line(x, start);
			break;
		}
		if (!serve_request(x) || serve_stopping() || !wait_next(x))
			break;
		deadline = now_ms() + cf->cf_opts.header_timeout * 1000ULL;
	}
	if (x->x_unread && !x->x_client_gone)
		linger(x);
	free(x);
}

/*
 * Half-closes the connection and reads what the client still sends, for
 * up to LINGER_MS, so that closing with its input unread does not reset
 * the connection before the client has read the response.
 */
static void
linger(const struct exchange *x)
{
	const struct conn *c = x->x_conn;
	struct pollfd pfd;
	char buf[16384];
	uint64_t end, now;
	ssize_t r;

	if (!c->c_is_socket || shutdown(c->c_wfd, SHUT_WR) == -1)
		return;
	pfd.fd = c->c_rfd;
	pfd.events = POLLIN;
	end = now_ms() + LINGER_MS;
	while ((now = now_ms()) < end) {
		if (poll(&pfd, 1, end - now > 1000 ? 1000 : end - now) <= 0)
			return;
		if ((r = read(c->c_rfd, buf, sizeof(buf))) == 0 ||
		    (r == -1 && errno != EINTR && errno != EAGAIN))
			return;
	}
}

/*
 * Waits for the next request on a kept connection.  Returns 1 when bytes
 * are there, 0 after --idle-timeout, on close, or when stopping.
 */
static int
wait_next(struct exchange *x)
{
	struct pollfd pfd;
	const char *p;
	int waited, n;

	if (http_in_pending(&x->x_in, &p) > 0)
		return 1;
	pfd.fd = x->x_conn->c_rfd;
	pfd.events = POLLIN;
	/* In slices, so SIGTERM does not wait out an idle client. */
	for (waited = 0; waited < x->x_cf->cf_opts.idle_timeout; waited++) {
		if ((n = poll(&pfd, 1, 1000)) == -1 && errno != EINTR)
			return 0;
		if (n > 0)
			return 1;
		if (serve_stopping())
			return 0;
	}
	return 0;
}

/*
 * Returns the RFC 9209 error type for a status cgid answers before any
 * program runs.  No program at the path means cgid has no next hop:
 * destination_not_found, as an intermediary without a route says.
 */
static enum proxy_error
proxy_error(int status)
{
	switch (status) {
	case HTTP_UNAUTHORIZED:
	case HTTP_FORBIDDEN:
	case HTTP_CONTENT_TOO_LARGE:
		return PE_HTTP_REQUEST_DENIED;	/* --auth, --root, --max-body */
	case HTTP_NOT_FOUND:
		return PE_DESTINATION_NOT_FOUND;
	case HTTP_INTERNAL_SERVER_ERROR:
	case HTTP_SERVICE_UNAVAILABLE:
		return PE_PROXY_INTERNAL_ERROR;
	default:
		return PE_HTTP_REQUEST_ERROR;	/* 400, 408, 414, 431, 501 */
	}
}

/* Returns the access line's reason for a status cgid refuses with. */
static enum log_reason
refusal_reason(int status)
{
	switch (status) {
	case HTTP_UNAUTHORIZED:
		return REASON_AUTH;
	case HTTP_FORBIDDEN:
		return REASON_POLICY;
	case HTTP_NOT_FOUND:
		return REASON_DONE;	/* an answer like a program's */
	case HTTP_REQUEST_TIMEOUT:
		return REASON_IDLE_TIMEOUT;	/* the body's: the head's is
						 * answered in handle() */
	case HTTP_INTERNAL_SERVER_ERROR:
	case HTTP_SERVICE_UNAVAILABLE:
		return REASON_INTERNAL_ERROR;
	default:
		return REASON_BAD_REQUEST;	/* 400, 413, 414, 431, 501 */
	}
}

/*
 * Sends an error of cgid's own, with
 * Connection: close unless the connection is kept; counts its bytes and
 * sets the status and reason for the access line.  Returns 0, or -1 if
 * the client could not be written to (the connection then ends).
 */
int
send_error(struct exchange *x, int status, enum proxy_error pe,
    const char *why, const char *extra, enum log_reason reason)
{
	int n;

	x->x_status = status;
	x->x_reason = reason;
	if ((n = http_send_error(x->x_conn->c_wfd, x->x_hd.hd_version != 0 ?
	    x->x_hd.hd_version : 11, status, pe, why, extra, !x->x_keep,
	    now_ms() + x->x_cf->cf_opts.idle_timeout * 1000ULL)) == -1) {
		x->x_keep = 0;
		x->x_reason = REASON_CLIENT_CLOSED;
		return -1;
	}
	x->x_bytes_out += n;
	return 0;
}

/* Returns what a status cgid refuses with usually means here. */
static const char *
refusal_why(int status)
{
	switch (status) {
	case HTTP_FORBIDDEN:
		return "this resource may not be run";
	case HTTP_NOT_FOUND:
		return "no program at this path";
	case HTTP_CONTENT_TOO_LARGE:
		return "the request body is larger than --max-body";
	case HTTP_NOT_IMPLEMENTED:
		return "this method is not served";
	default:
		return "the request cannot be served";
	}
}

/*
 * Answers with cgid's own error, saying why (NULL: refusal_why()); the
 * connection stays if it can.
 */
static void
refuse(struct exchange *x, int status, const char *why, const char *extra)
{
	if (!x->x_body_done) {
		x->x_keep = 0;	/* the body was not read */
		x->x_unread = 1;
	}
	if (why == NULL)
		why = status == HTTP_UNAUTHORIZED ? http_auth_refusal(http_get(
		    &x->x_hd, "Authorization") != NULL) : refusal_why(status);
	(void)send_error(x, status, proxy_error(status), why, extra,
	    refusal_reason(status));
}

/*
 * Checks Authorization against --auth.  Returns 0 when the request may
 * go on, else the status to refuse with: 401, or 503 when no crypt(3)
 * slot came free before the head's deadline (x_why says so).  The
 * HTPASSWD_TRIES-th wrong credentials on a connection close it.
 */
static int
authorize(struct exchange *x)
{
	const struct conn *c = x->x_conn;
	enum htpasswd_result r;
	char tried[AUTH_USER_LEN];

	r = htpasswd_verify(x->x_cf->cf_auth, http_get(&x->x_hd,
	    "Authorization"), x->x_head_deadline, tried, sizeof(tried));
	switch (r) {
	case HTPASSWD_OK:
		(void)strcpy(x->x_user, tried);
		return 0;
	case HTPASSWD_BUSY:
		x->x_keep = 0;
		x->x_why = "too many password checks at once; try again";
		return HTTP_SERVICE_UNAVAILABLE;
	case HTPASSWD_NONE:
		return HTTP_UNAUTHORIZED;	/* the challenge, no failure */
	default:
		htpasswd_log_failure(c->c_id, c->c_peer_ip, c->c_peer_port,
		    tried, r);
		if (++x->x_auth_fails >= HTPASSWD_TRIES)
			x->x_keep = 0;
		return HTTP_UNAUTHORIZED;
	}
}

/*
 * Counts n more bytes of x's spool into --max-spool.  Returns 0, or the
 * status to refuse with (x_why says why): 413 if this body alone would
 * be over the bound, which it can never fit, 503 if the other spools
 * leave no room for it now.
 */
static int
spool_reserve(struct exchange *x, size_t n)
{
	uint64_t max = x->x_cf->cf_max_spool;

	if (max == 0)
		return 0;
	if (x->x_spooled + n > max) {
		x->x_why = "the request body is larger than --max-spool";
		return HTTP_CONTENT_TOO_LARGE;
	}
	if (atomic_fetch_add(&spooled, n) + n > max) {
		atomic_fetch_sub(&spooled, n);
		x->x_why = "the chunked bodies being received fill "
		    "--max-spool; try again";
		return HTTP_SERVICE_UNAVAILABLE;
	}
	x->x_spooled += n;
	return 0;
}

/* Closes x's spool file, if any, and gives its room back. */
static void
spool_close(struct exchange *x)
{
	if (x->x_body_fd != -1) {
		(void)close(x->x_body_fd);
		x->x_body_fd = -1;
	}
	atomic_fetch_sub(&spooled, x->x_spooled);
	x->x_spooled = 0;
}

/*
 * Writes a chunked body to an unlinked temporary file, so the program
 * gets CONTENT_LENGTH as RFC 3875 requires.  Returns 0, or the status to
 * refuse with.
 */
static int
spool(struct exchange *x)
{
	const struct cgid_conf *cf = x->x_cf;
	struct http_body bd;
	char path[PATH_MAX];
	uint64_t total = 0;
	ssize_t n;
	int fd, status;

	fd = open(cf->cf_tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1) {
		(void)snprintf(path, sizeof(path), "%s/cgid.XXXXXX",
		    cf->cf_tmpdir);
		if ((fd = mkostemp(path, O_CLOEXEC)) == -1) {
			log_warn("conn=%lu: temporary file in %s",
			    x->x_conn->c_id, cf->cf_tmpdir);
			return HTTP_INTERNAL_SERVER_ERROR;
		}
		(void)unlink(path);
	}
	x->x_body_fd = fd;
	http_body_init(&bd, &x->x_hd);
	for (;;) {
		n = http_read_body(&x->x_in, &bd, x->x_buf, sizeof(x->x_buf),
		    now_ms() + cf->cf_opts.idle_timeout * 1000ULL, &status);
		if (n == -1)
			return status;
		if (n == 0)
			break;
		total += n;
		x->x_bytes_in += n;
		if (cf->cf_max_body != 0 && total > cf->cf_max_body)
			return HTTP_CONTENT_TOO_LARGE;
		if ((status = spool_reserve(x, n)) != 0)
			return status;
		if (http_write_all(fd, x->x_buf, n, 0) == -1) {
			log_warn("conn=%lu: temporary file in %s",
			    x->x_conn->c_id, cf->cf_tmpdir);
			return HTTP_INTERNAL_SERVER_ERROR;
		}
	}
	x->x_body_done = 1;
	if (lseek(fd, 0, SEEK_SET) == -1)
		return HTTP_INTERNAL_SERVER_ERROR;
	x->x_length = total;
	return 0;
}

/*
 * Checks the body against --max-body and prepares it: streamed when its
 * length is known, spooled when chunked.  Returns 0 or a status.
 */
static int
body_setup(struct exchange *x)
{
	const struct http_head *hd = &x->x_hd;
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	int rv;

	switch (hd->hd_framing) {
	case HTTP_BODY_LENGTH:
		x->x_has_body = 1;
		x->x_length = hd->hd_length;
		if (x->x_cf->cf_max_body != 0 &&
		    hd->hd_length > x->x_cf->cf_max_body)
			return HTTP_CONTENT_TOO_LARGE;
		break;
	case HTTP_BODY_CHUNKED:
		x->x_has_body = 1;
		break;
	default:
		return 0;
	}
	if (hd->hd_expect_continue && hd->hd_version >= 11 &&
	    http_write_all(x->x_conn->c_wfd, cont, sizeof(cont) - 1,
	    now_ms() + x->x_cf->cf_opts.idle_timeout * 1000ULL) == -1)
		return HTTP_BAD_REQUEST;
	if (hd->hd_framing == HTTP_BODY_CHUNKED) {
		if ((rv = spool(x)) != 0)
			x->x_keep = 0;
		return rv;
	}
	x->x_body_left = hd->hd_length;
	x->x_body_done = x->x_body_left == 0;
	return 0;
}

/* Runs the program, and once more for a local redirect. */
static void
run_with_redirects(struct exchange *x)
{
	enum run_result r;
	int rv;

	if ((r = run_program(x)) != RUN_REDIRECT)
		return;
	/*
	 * RFC 3875 6.2.2: served as a GET of that path, without the body;
	 * a fragment is no part of a request, so none of REQUEST_URI.
	 */
	(void)strcpy(x->x_target, x->x_location);
	x->x_target[strcspn(x->x_target, "#")] = '\0';
	x->x_method = "GET";
	x->x_has_body = 0;
	x->x_body_left = 0;
	if (!x->x_body_done)
		x->x_keep = 0;	/* what is left stays unread */
	spool_close(x);
	if ((rv = map_target(x->x_cf, x->x_target, &x->x_sc)) != 0) {
		refuse(x, rv, NULL, NULL);
		return;
	}
	if ((r = run_program(x)) == RUN_REDIRECT) {
		x->x_why = "a second local redirect";
		log_warnx("conn=%lu: %s: %s", x->x_conn->c_id,
		    x->x_sc.sc_file, x->x_why);
		(void)send_error(x, HTTP_BAD_GATEWAY, PE_HTTP_PROTOCOL_ERROR,
		    x->x_why, NULL, REASON_UPSTREAM_ERROR);
	}
}

/* Serves one request; returns 1 if the connection can go on. */
static int
serve_request(struct exchange *x)
{
	const struct cgid_conf *cf = x->x_cf;
	struct http_head *hd = &x->x_hd;
	uint64_t start = now_ms();
	int rv;

	x->x_keep = hd->hd_keep_alive;
	x->x_method = hd->hd_method;
	(void)snprintf(x->x_target, sizeof(x->x_target), "%s",
	    hd->hd_target);
	x->x_user[0] = '\0';
	x->x_has_body = 0;
	x->x_length = x->x_body_left = 0;
	x->x_body_done = hd->hd_framing == HTTP_BODY_NONE;
	x->x_status = 0;
	x->x_client_gone = 0;
	x->x_why = NULL;
	x->x_reason = REASON_DONE;
	x->x_bytes_in = hd->hd_size;
	x->x_bytes_out = 0;
	if (strcmp(hd->hd_method, "CONNECT") == 0)
		refuse(x, HTTP_NOT_IMPLEMENTED, NULL, NULL);
	else if (cf->cf_auth != NULL && (rv = authorize(x)) != 0)
		refuse(x, rv, x->x_why, rv == HTTP_UNAUTHORIZED ? CHALLENGE :
		    NULL);
	else if ((rv = map_target(cf, x->x_target, &x->x_sc)) != 0)
		refuse(x, rv, NULL, NULL);
	else if ((rv = body_setup(x)) != 0)
		refuse(x, rv, x->x_why, NULL);
	else
		run_with_redirects(x);
	spool_close(x);
	if (!x->x_body_done) {
		x->x_keep = 0;
		x->x_unread = 1;
	}
	if (x->x_client_gone && x->x_reason == REASON_DONE)
		x->x_reason = REASON_CLIENT_CLOSED;
	access_line(x, start);
	return x->x_keep && !x->x_client_gone;
}

/*
 * Logs the exchange's access line, with the method and target the client
 * sent (a local redirect does not change them); cgid has no upstream.
 */
static void
access_line(const struct exchange *x, uint64_t start)
{
	const struct conn *c = x->x_conn;
	struct access_line al;
	char method[64], target[HTTP_LINE_MAX];

	http_head_names(&x->x_hd, method, sizeof(method), target,
	    sizeof(target));
	memset(&al, 0, sizeof(al));
	al.al_method = method;
	al.al_target = target;
	al.al_status = x->x_status;
	al.al_user = x->x_user;
	al.al_bytes_in = x->x_bytes_in;
	al.al_bytes_out = x->x_bytes_out;
	al.al_ms = now_ms() - start;
	al.al_reason = x->x_reason;
	conn_access(c, &al, 0);
}
