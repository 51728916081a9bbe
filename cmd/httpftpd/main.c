/*
 * httpftpd - HTTP/FTP gateway: HTTP/1.1 in, FTP (and FTPS) out through
 * libcurl.
 *
 * Each client connection is one struct session, read a request at a time
 * (keep-alive and pipelining come from http_in's buffer).  Here requests
 * are read, checked and dispatched (to get.c and writable.c), and every
 * response head and error is written and logged.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "httpftpd.h"
#include "log.h"

#define DEFAULT_ADDR	"127.0.0.1:8021"

enum {
	OPT_WRITABLE = OPT_PROGRAM_BASE,
	OPT_FTP_SSL,
	OPT_CACERT,
	OPT_FTP_CONNS
};

static struct gateway gw;
static struct ftp_loc gw_base;

static void	usage(void) __attribute__((noreturn));
static void	help(void) __attribute__((noreturn));
static void	handle(struct conn *, void *);
static void	begin(struct session *);
static void	exchange(struct session *);
static enum log_reason reason(const struct session *);
static void	access_line(struct session *);
static void	write_error(struct session *, int, int, enum proxy_error,
		    const char *, const char *, int);
static int	must_close(struct session *);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: httpftpd [-hqVv] [-c url] [-l address] [-u user] "
	    "[--accept-proxy]\n"
	    "                [--allow-dest cidr] [--allow-port list] "
	    "[--cacert file]\n"
	    "                [--connect-timeout seconds] "
	    "[--ftp-conns number] [--ftp-ssl]\n"
	    "                [--grace seconds] [--header-timeout seconds]\n"
	    "                [--idle-timeout seconds] [--max-conns number] "
	    "[--writable]\n");
	exit(EXIT_USAGE);
}

static void
help(void)
{
	printf("usage: httpftpd [options]\n"
	    "HTTP/FTP gateway: GET ftp://host/path through this proxy, or\n"
	    "with -c, GET /path from that FTP directory.\n\n"
	    "  -c, --connect URL        serve ftp://[user[:pass]@]host[:port]/dir"
	    " in origin form\n"
	    "      --allow-port LIST    ports allowed in proxy form (21,990)\n"
	    "      --allow-dest CIDR    allow these special addresses (none)\n"

	    "      --writable           allow PUT (STOR) and DELETE (DELE)\n"
	    "      --ftp-ssl            require AUTH TLS on ftp:// servers\n"
	    "      --ftp-conns N        FTP connections per server and login (16)\n"
	    "      --cacert FILE        CA certificates for FTPS (system)\n");
	fputs(opts_help(0), stdout);
	exit(0);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "writable",	no_argument,	   NULL, OPT_WRITABLE },
		{ "ftp-ssl",	no_argument,	   NULL, OPT_FTP_SSL },
		{ "cacert",	required_argument, NULL, OPT_CACERT },
		{ "ftp-conns",	required_argument, NULL, OPT_FTP_CONNS },
		GTR_COMMON_LONGOPTS
	};
	const char *err;
	long long n;
	int ch, rc;

	log_init(argv[0], LOG_NORMAL);
	opts_init(&gw.gw_opts, "21,990", OPTS_UPSTREAM);
	gw.gw_ftp_conns = FTP_CONNS;
	while ((ch = opts_next(&gw.gw_opts, argc, argv, longopts,
	    help)) != -1) {
		switch (ch) {
		case OPT_CACERT:
			gw.gw_cacert = optarg;
			break;
		case OPT_FTP_SSL:
			gw.gw_ftp_ssl = 1;
			break;
		case OPT_WRITABLE:
			gw.gw_writable = 1;
			break;
		case OPT_FTP_CONNS:
			if (opts_number(optarg, 1, 1000, &n) == -1)
				fatalx(EXIT_USAGE, "--ftp-conns: \"%s\" is not "
				    "a number from 1 to 1000", optarg);
			gw.gw_ftp_conns = (int)n;
			break;
		default:
			usage();
		}
	}
	if ((rc = opts_done(&gw.gw_opts, argc, argv)) >= 0)
		return rc;
	if (gw.gw_opts.connect != NULL) {
		if (target_parse_url(gw.gw_opts.connect, &gw_base, 1,
		    &err) == -1)
			fatalx(EXIT_USAGE, "-c: %s", err);
		gw.gw_origin = 1;
		gw.gw_base = &gw_base;
	}
	if (gw.gw_cacert != NULL && access(gw.gw_cacert, R_OK) == -1)
		fatal(EXIT_CONFIG, "--cacert %s", gw.gw_cacert);
	mime_init();
	if (ftp_global_init(&gw) == -1)
		fatalx(1, "unable to initialise libcurl");
	signal(SIGPIPE, SIG_IGN);
	serve_client_speaks_first();
	return serve_main(&gw.gw_opts, DEFAULT_ADDR, handle, NULL);
}

/* Serves one client connection: requests until close or error. */
static void
handle(struct conn *c, void *arg)
{
	struct session *s;
	const char *err;
	uint64_t deadline;
	int r, one = 1;

	(void)arg;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("conn=%lu: unable to allocate a session", c->c_id);
		return;
	}
	s->s_conn = c;
	s->s_gw = &gw;
	/*
	 * Heads and bodies are separate writes: Nagle would hold the second.
	 * Only on TCP does this work, and only to TCP does splice_rest go.
	 */
	s->s_tcp = setsockopt(c->c_wfd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == 0;
	http_in_init(&s->s_in, c->c_rfd);
	deadline = c->c_start_ms + gw.gw_opts.header_timeout * 1000ULL;
	for (;;) {
		memset(&s->s_hd, 0, sizeof(s->s_hd));
		r = http_read_head(&s->s_in, &s->s_hd, 1, NULL, deadline);
		if (r == HTTP_EOF)
			break;
		begin(s);
		if (r != 0) {
			/*
			 * An idle keep-alive connection just ends, whether
			 * by our deadline or by a reset from the client.
			 */
			if ((r == HTTP_REQUEST_TIMEOUT ||
			    r == HTTP_BAD_REQUEST) &&
			    s->s_in.in_start == s->s_in.in_end)
				break;
			s->s_hd.hd_method = NULL;
			s->s_bytes_in = s->s_in.in_end;
			s->s_status = r;
			s->s_head_sent = 1;
			err = r == HTTP_REQUEST_TIMEOUT ?
			    "request head too slow" :
			    "malformed request";
			write_error(s, 11, r, PE_HTTP_REQUEST_ERROR, err, NULL,
			    1);
			access_line(s);
			break;
		}
		exchange(s);
		if (must_close(s) || serve_stopping())
			break;
		deadline = now_ms() + gw.gw_opts.header_timeout * 1000ULL;
	}
	explicit_bzero(&s->s_loc, sizeof(s->s_loc));
	free(s);
}

/* The deadline for a write to the client starting now. */
uint64_t
write_deadline(void)
{
	return now_ms() + gw.gw_opts.idle_timeout * 1000ULL;
}

/*
 * Starts an exchange once its head is read (or refused): the first one's
 * time counts from the connection's start.
 */
static void
begin(struct session *s)
{
	s->s_t0 = s->s_count++ == 0 ? s->s_conn->c_start_ms : now_ms();
	s->s_status = 0;
	s->s_error = PE_NONE;
	s->s_user = NULL;
	s->s_upstream[0] = '\0';
	s->s_cut = 0;
	s->s_bytes_in = s->s_hd.hd_size;
	s->s_bytes_out = 0;
	s->s_head_sent = s->s_chunked = s->s_write_failed = 0;
	s->s_defer = 0;
	s->s_nhead = s->s_nout = 0;
	s->s_have_st = 0;
	s->s_clen = -1;
	s->s_body_sent = 0;
	s->s_from = s->s_to = -1;
	s->s_shown[0] = '\0';
	memset(&s->s_res, 0, sizeof(s->s_res));
}

/* One request, start to end; the response is complete or s_close is set. */
static void
exchange(struct session *s)
{
	struct http_head *hd = &s->s_hd;
	const char *err, *auth, *m = hd->hd_method;
	char why[64];
	int resolved;

	s->s_close = !hd->hd_keep_alive;
	http_body_init(&s->s_body, hd);

	resolved = target_resolve(&gw, hd->hd_target, &s->s_loc, &err) == 0;
	if (resolved) {
		target_url(&s->s_loc, s->s_loc.fl_path, s->s_loc.fl_slash,
		    s->s_shown, sizeof(s->s_shown));
		if (s->s_loc.fl_has_user)
			s->s_user = s->s_loc.fl_user;
	}
	if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 &&
	    !(gw.gw_writable && (strcmp(m, "PUT") == 0 ||
	    strcmp(m, "DELETE") == 0))) {
		/* after a CONNECT the client may send tunnel bytes at once */
		if (strcmp(m, "CONNECT") == 0)
			s->s_close = 1;
		send_error(s, HTTP_METHOD_NOT_ALLOWED, PE_HTTP_REQUEST_DENIED,
		    "method not allowed",
		    gw.gw_writable ? "Allow: GET, HEAD, PUT, DELETE" :
		    "Allow: GET, HEAD");
		goto done;
	}
	if (!resolved) {
		send_error(s, HTTP_BAD_REQUEST, PE_HTTP_REQUEST_ERROR, err,
		    NULL);
		goto done;
	}
	/* a URL with a user and no password takes both from Basic */
	if (!s->s_loc.fl_pass_given &&
	    (auth = http_get(hd, "Authorization")) != NULL) {
		if (target_basic_auth(auth, &s->s_loc) == -1) {
			send_error(s, HTTP_BAD_REQUEST, PE_HTTP_REQUEST_ERROR,
			    "bad Authorization", NULL);
			goto done;
		}
		if (s->s_loc.fl_has_user)
			s->s_user = s->s_loc.fl_user;
	}
	if (!gw.gw_origin &&
	    !policy_port_ok(&gw.gw_opts.policy, s->s_loc.fl_port)) {
		send_error(s, HTTP_FORBIDDEN, PE_DESTINATION_IP_PROHIBITED,
		    policy_port_refusal(why, sizeof(why), s->s_loc.fl_port),
		    NULL);
		goto done;
	}
	if ((s->s_fh = ftp_acquire(&s->s_loc, &s->s_res)) == NULL) {
		memcpy(s->s_upstream, s->s_res.fr_upstream,
		    sizeof(s->s_upstream));
		send_result(s);
		goto done;
	}
	if (strcmp(m, "PUT") == 0)
		serve_put(s);
	else if (strcmp(m, "DELETE") == 0)
		serve_delete(s);
	else if (s->s_loc.fl_slash)
		serve_dir(s);
	else
		serve_file(s);
	ftp_upstream(s->s_fh, s->s_upstream, sizeof(s->s_upstream));
	ftp_release(s->s_fh, 1);
	s->s_fh = NULL;
done:
	access_line(s);
	explicit_bzero(s->s_loc.fl_pass, sizeof(s->s_loc.fl_pass));
}

/* Returns why the exchange ended, from what was sent and why. */
static enum log_reason
reason(const struct session *s)
{
	if (s->s_write_failed || s->s_status == CLIENT_GONE)
		return REASON_CLIENT_CLOSED;
	if (s->s_cut)
		return REASON_UPSTREAM_CLOSED;
	switch (s->s_status) {
	case HTTP_UNAUTHORIZED:
		return REASON_AUTH;
	case HTTP_FORBIDDEN:
		if (s->s_error == PE_DESTINATION_IP_PROHIBITED ||
		    s->s_error == PE_PROXY_LOOP_DETECTED)
			return REASON_POLICY;
		/* a login refused with the password of the URL or -c */
		if (s->s_res.fr_status == HTTP_UNAUTHORIZED)
			return REASON_AUTH;
		return REASON_DONE;	/* the FTP server's own refusal */
	case HTTP_METHOD_NOT_ALLOWED:
		return REASON_POLICY;
	case HTTP_REQUEST_TIMEOUT:
		/* a head too slow, or (PUT) a body */
		return s->s_hd.hd_method == NULL ? REASON_HEADER_TIMEOUT :
		    REASON_IDLE_TIMEOUT;
	case HTTP_BAD_REQUEST:
	case HTTP_CONTENT_TOO_LARGE:
	case HTTP_URI_TOO_LONG:
	case HTTP_FIELDS_TOO_LARGE:
	case HTTP_NOT_IMPLEMENTED:
	case HTTP_VERSION_NOT_SUPPORTED:
		return REASON_BAD_REQUEST;
	case HTTP_INTERNAL_SERVER_ERROR:
		return REASON_INTERNAL_ERROR;
	case HTTP_BAD_GATEWAY:
	case HTTP_SERVICE_UNAVAILABLE:
		return REASON_UPSTREAM_ERROR;
	case HTTP_GATEWAY_TIMEOUT:
		return REASON_UPSTREAM_TIMEOUT;
	}
	return REASON_DONE;
}

/*
 * The access line, ended by the last FTP reply code (ftp=): never with a
 * password (s_shown has no credentials), nor with the user of a refused
 * login, which may be a password typed in the wrong field.
 */
static void
access_line(struct session *s)
{
	struct conn *c = s->s_conn;
	struct access_line al;
	char extra[32];

	snprintf(extra, sizeof(extra), " ftp=%ld", s->s_res.fr_code);
	memset(&al, 0, sizeof(al));
	al.al_method = s->s_hd.hd_method != NULL ? s->s_hd.hd_method : "";
	al.al_target = s->s_shown;
	al.al_status = s->s_head_sent ? s->s_status : 0;
	al.al_reason = reason(s);
	al.al_user = al.al_reason == REASON_AUTH ? NULL : s->s_user;
	al.al_upstream = s->s_upstream;
	al.al_bytes_in = s->s_bytes_in;
	al.al_bytes_out = s->s_bytes_out;
	al.al_ms = now_ms() - s->s_t0;
	al.al_extra = extra;
	conn_access(c, &al, 0);
}

/*
 * Writes an error response, counting its bytes in s_bytes_out; a write
 * that fails ends the connection.
 */
static void
write_error(struct session *s, int version, int status, enum proxy_error pe,
    const char *detail, const char *extra, int close)
{
	int n;

	if ((n = http_send_error(s->s_conn->c_wfd, version, status, pe,
	    detail, extra, close, write_deadline())) == -1) {
		s->s_close = 1;
		s->s_write_failed = 1;
		return;
	}
	s->s_bytes_out += n;
}

/*
 * Returns 1 if the connection ends after this exchange, as the client or
 * an error asked, or because the request has a body not read to its end:
 * the next read would take that body for a request.  Every response head
 * asks this, so no refusal, whatever its cause, can leave a body behind.
 */
static int
must_close(struct session *s)
{
	if (!s->s_body.bd_done)
		s->s_close = 1;
	return s->s_close;
}

/* A complete error response; a response already begun is cut instead. */
void
send_error(struct session *s, int status, enum proxy_error pe,
    const char *detail, const char *extra)
{
	if (s->s_head_sent) {
		/* the client keeps the status it got, with a cut body */
		s->s_close = 1;
		return;
	}
	s->s_status = status;
	s->s_error = pe;
	if (status >= HTTP_INTERNAL_SERVER_ERROR || status == HTTP_BAD_REQUEST)
		log_info("conn=%lu: %d: %s", s->s_conn->c_id, status, detail);
	write_error(s, s->s_hd.hd_version, status, pe, detail, extra,
	    must_close(s));
	s->s_head_sent = 1;
}

/* Answers with what the failed FTP operation in s_res maps to. */
void
send_result(struct session *s)
{
	char extra[NET_HOSTLEN + 64];
	struct ftp_result *r = &s->s_res;

	if (r->fr_status == CLIENT_GONE) {
		s->s_status = CLIENT_GONE;
		s->s_close = 1;
		return;
	}
	if (r->fr_status == HTTP_UNAUTHORIZED) {
		if (s->s_loc.fl_pass_given) {
			send_error(s, HTTP_FORBIDDEN, r->fr_error, r->fr_detail,
			    NULL);
			return;
		}
		snprintf(extra, sizeof(extra),
		    "WWW-Authenticate: Basic realm=\"FTP %s\"",
		    s->s_loc.fl_host);
		send_error(s, HTTP_UNAUTHORIZED, r->fr_error, r->fr_detail,
		    extra);
		return;
	}
	send_error(s, r->fr_status ? r->fr_status : HTTP_BAD_GATEWAY,
	    r->fr_error, r->fr_detail[0] ? r->fr_detail : "FTP failed",
	    r->fr_status == HTTP_SERVICE_UNAVAILABLE ? "Retry-After: 5" :
	    NULL);
}

/*
 * Sends a response head with status and the given "Name: value" lines,
 * adding Date, the framing (s_clen or s_chunked) and Connection: close
 * when s_close is set; with s_defer it only stages it in s_out.  Returns
 * 0 or -1.
 */
int
send_head(struct session *s, int status, const char **lines, int n)
{
	struct http_field f[24];
	char buf[HEAD_MAX], start[64], date[80], len[48], lbuf[20][64];
	const char *colon;
	int i, nf = 0, k;

	snprintf(start, sizeof(start), "HTTP/1.1 %d %s", status,
	    http_reason(status));
	date_field(date, sizeof(date), "Date", time(NULL));
	for (i = 0; i < n && nf < 20; i++) {
		if ((colon = strchr(lines[i], ':')) == NULL)
			continue;
		k = snprintf(lbuf[nf], sizeof(lbuf[nf]), "%.*s",
		    (int)(colon - lines[i]), lines[i]);
		if (k < 0 || (size_t)k >= sizeof(lbuf[nf]))
			continue;
		f[nf].name = lbuf[nf];
		f[nf].value = (char *)(colon + 1 + strspn(colon + 1, " "));
		nf++;
	}
	f[nf].name = "Date";
	f[nf++].value = date + 6;
	if (s->s_clen >= 0) {
		snprintf(len, sizeof(len), "%lld", (long long)s->s_clen);
		f[nf].name = "Content-Length";
		f[nf++].value = len;
	} else if (s->s_chunked) {
		f[nf].name = "Transfer-Encoding";
		f[nf++].value = "chunked";
	}
	if (must_close(s)) {
		f[nf].name = "Connection";
		f[nf++].value = "close";
	}
	if ((k = http_format_head(buf, sizeof(buf), start, f, nf)) < 0)
		return -1;
	s->s_status = status;
	s->s_head_sent = 1;
	if (s->s_defer) {
		memcpy(s->s_out, buf, k);
		s->s_nhead = s->s_nout = k;
		s->s_bytes_out += k;
		return 0;
	}
	if (http_write_all(s->s_conn->c_wfd, buf, k, write_deadline()) == -1) {
		s->s_close = 1;
		s->s_write_failed = 1;
		return -1;
	}
	s->s_bytes_out += k;
	return 0;
}
