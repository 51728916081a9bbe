/*
 * httpftpd - HTTP/FTP gateway: HTTP/1.1 in, FTP (and FTPS) out through
 * libcurl.
 *
 * Each client connection is one struct session, read a request at a time
 * (keep-alive and pipelining come from http_in's buffer).  A file's head
 * is sent when its first bytes arrive from the FTP server, so a plain GET
 * costs one FTP exchange: libcurl has SIZE and MDTM by then.
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
	OPT_CACERT
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
static size_t	error_bytes(int, int, const char *, const char *,
		    const char *, int);
static int	must_close(struct session *);
static int	body_sink(void *, const char *, size_t);
static int	can_splice(struct session *);
static int	splice_rest(struct session *, int);
static int	file_head(struct session *);
static void	serve_file(struct session *);
static void	serve_dir(struct session *);
static void	redirect_dir(struct session *);
static int	maybe_dir(struct session *);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: httpftpd [-hqVv] [-c url] [-l address] [-u user] "
	    "[--accept-proxy]\n"
	    "                [--allow-dest cidr] [--allow-port list] "
	    "[--cacert file]\n"
	    "                [--connect-timeout seconds] [--ftp-ssl] "
	    "[--grace seconds]\n"
	    "                [--header-timeout seconds] "
	    "[--idle-timeout seconds]\n"
	    "                [--max-conns number] [--writable]\n");
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
	    "      --cacert FILE        CA certificates for FTPS (system)\n");
	opts_help_common();
	exit(0);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "writable",	no_argument,	   NULL, OPT_WRITABLE },
		{ "ftp-ssl",	no_argument,	   NULL, OPT_FTP_SSL },
		{ "cacert",	required_argument, NULL, OPT_CACERT },
		GTR_COMMON_LONGOPTS
	};
	const char *err;
	int ch;

	log_init(argv[0], LOG_NORMAL);
	opts_init(&gw.gw_opts, "21,990");
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
		default:
			usage();
		}
	}
	if (optind != argc)
		fatalx(EXIT_USAGE, "unexpected argument \"%s\"", argv[optind]);
	log_init(argv[0], gw.gw_opts.verbosity);
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
			if ((r == 408 || r == 400) &&
			    s->s_in.in_start == s->s_in.in_end)
				break;
			s->s_hd.hd_method = NULL;
			s->s_bytes_in = s->s_in.in_end;
			s->s_status = r;
			s->s_head_sent = 1;
			err = r == 408 ? "request head too slow" :
			    "malformed request";
			if (http_send_error(c->c_wfd, 11, r,
			    "http_request_error", err, NULL, 1,
			    write_deadline()) == 0)
				s->s_bytes_out = error_bytes(11, r,
				    "http_request_error", err, NULL, 1);
			else
				s->s_write_failed = 1;
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
	s->s_token = s->s_user = NULL;
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
		send_error(s, 405, "http_request_denied", "method not allowed",
		    gw.gw_writable ? "Allow: GET, HEAD, PUT, DELETE" :
		    "Allow: GET, HEAD");
		goto done;
	}
	if (!resolved) {
		send_error(s, 400, "http_request_error", err, NULL);
		goto done;
	}
	/* a URL with a user and no password takes both from Basic */
	if (!s->s_loc.fl_pass_given &&
	    (auth = http_get(hd, "Authorization")) != NULL) {
		if (target_basic_auth(auth, &s->s_loc) == -1) {
			send_error(s, 400, "http_request_error",
			    "bad Authorization", NULL);
			goto done;
		}
		if (s->s_loc.fl_has_user)
			s->s_user = s->s_loc.fl_user;
	}
	if (!gw.gw_origin &&
	    !policy_port_ok(&gw.gw_opts.policy, s->s_loc.fl_port)) {
		send_error(s, 403, "destination_ip_prohibited",
		    "destination port refused by policy", NULL);
		goto done;
	}
	if ((s->s_fh = ftp_acquire(&s->s_loc)) == NULL) {
		send_error(s, 500, "proxy_internal_error", "out of memory",
		    NULL);
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
	if (s->s_write_failed || s->s_status == 499)
		return REASON_CLIENT_CLOSED;
	if (s->s_cut)
		return REASON_UPSTREAM_CLOSED;
	switch (s->s_status) {
	case 401:
		return REASON_AUTH;
	case 403:
		if (s->s_token != NULL &&
		    strcmp(s->s_token, "destination_ip_prohibited") == 0)
			return REASON_POLICY;
		/* a login refused with the password of the URL or -c */
		if (s->s_res.fr_status == 401)
			return REASON_AUTH;
		return REASON_DONE;	/* the FTP server's own refusal */
	case 405:
		return REASON_POLICY;
	case 408:
		/* a head too slow, or (PUT) a body */
		return s->s_hd.hd_method == NULL ? REASON_HEADER_TIMEOUT :
		    REASON_IDLE_TIMEOUT;
	case 400:
	case 413:
	case 414:
	case 431:
	case 501:
	case 505:
		return REASON_BAD_REQUEST;
	case 500:
		return REASON_INTERNAL_ERROR;
	case 502:
	case 503:
		return REASON_UPSTREAM_ERROR;
	case 504:
		return REASON_UPSTREAM_TIMEOUT;
	}
	return REASON_DONE;
}

/*
 * The access line, ended by the last FTP reply code (ftp=): never with a
 * password (s_shown has no credentials), and with the user only once
 * the FTP server took it.
 */
static void
access_line(struct session *s)
{
	struct conn *c = s->s_conn;
	struct access_line al;
	char extra[32];

	snprintf(extra, sizeof(extra), " ftp=%ld", s->s_res.fr_code);
	memset(&al, 0, sizeof(al));
	al.al_conn = c->c_id;
	al.al_client_ip = c->c_peer_ip;
	al.al_client_port = c->c_peer_port;
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
	log_access(&al, 0);
}

/*
 * The bytes http_send_error() writes for these arguments, which it does
 * not say, for bytes_out.  (It goes once common/ formats an error apart
 * from writing it.)
 */
static size_t
error_bytes(int version, int status, const char *token, const char *detail,
    const char *extra, int close)
{
	int head, body;

	head = snprintf(NULL, 0, "HTTP/1.1 %d %s\r\nContent-Type: text/plain"
	    "\r\nContent-Length: %d\r\n%s%s%s%s%s%s\r\n", status,
	    http_reason(status), 0,
	    token != NULL ? "Proxy-Status: gtr; error=" : "",
	    token != NULL ? token : "", token != NULL ? "\r\n" : "",
	    extra != NULL ? extra : "", extra != NULL ? "\r\n" : "",
	    close ? "Connection: close\r\n" : version == 10 ?
	    "Connection: keep-alive\r\n" : "");
	body = snprintf(NULL, 0, "%d %s%s%s\n", status, http_reason(status),
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	if (head < 0 || body < 0)
		return 0;
	/* the length's digits beyond the one "0" above */
	return head - 1 + snprintf(NULL, 0, "%d", body) + body;
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
send_error(struct session *s, int status, const char *token,
    const char *detail, const char *extra)
{
	s->s_status = status;
	if (s->s_head_sent) {
		s->s_close = 1;
		return;
	}
	s->s_token = token;
	if (status >= 500 || status == 400)
		log_info("conn=%lu: %d: %s", s->s_conn->c_id, status, detail);
	if (http_send_error(s->s_conn->c_wfd, s->s_hd.hd_version, status,
	    token, detail, extra, must_close(s), write_deadline()) == -1) {
		s->s_close = 1;
		s->s_write_failed = 1;
	} else
		s->s_bytes_out += error_bytes(s->s_hd.hd_version, status,
		    token, detail, extra, s->s_close);
	s->s_head_sent = 1;
}

/* Answers with what the failed FTP operation in s_res maps to. */
void
send_result(struct session *s)
{
	char extra[NET_HOSTLEN + 64];
	struct ftp_result *r = &s->s_res;

	if (r->fr_status == 499) {
		s->s_status = 499;
		s->s_close = 1;
		return;
	}
	if (r->fr_status == 401) {
		if (s->s_loc.fl_pass_given) {
			send_error(s, 403, r->fr_proxy, r->fr_detail, NULL);
			return;
		}
		snprintf(extra, sizeof(extra),
		    "WWW-Authenticate: Basic realm=\"FTP %s\"",
		    s->s_loc.fl_host);
		send_error(s, 401, r->fr_proxy, r->fr_detail, extra);
		return;
	}
	send_error(s, r->fr_status ? r->fr_status : 502, r->fr_proxy,
	    r->fr_detail[0] ? r->fr_detail : "FTP failed", NULL);
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

/*
 * Sends the head of a file response from s_st (and the range); returns
 * 0 or -1.
 */
static int
file_head(struct session *s)
{
	struct file_fields ff;
	const char *lines[8];
	char ct[160];
	int i, n = 0, status = s->s_from >= 0 ? 206 : 200;

	snprintf(ct, sizeof(ct), "Content-Type: %s",
	    mime_type(s->s_loc.fl_path));
	lines[n++] = ct;
	lines[n++] = "Accept-Ranges: bytes";
	file_fields(&ff, &s->s_st, status, s->s_from, s->s_to);
	for (i = 0; i < ff.ff_n; i++)
		lines[n++] = ff.ff_lines[i];
	if (s->s_from >= 0)
		s->s_clen = s->s_to - s->s_from + 1;
	else if (s->s_st.fs_size >= 0)
		s->s_clen = s->s_st.fs_size;
	else if (s->s_hd.hd_version >= 11 &&
	    strcmp(s->s_hd.hd_method, "HEAD") != 0)
		s->s_chunked = 1;
	else if (strcmp(s->s_hd.hd_method, "HEAD") != 0)
		s->s_close = 1;
	return send_head(s, status, lines, n);
}

/* Writes what s_out holds (the head, then body as is or as a chunk). */
static int
out_flush(struct session *s)
{
	size_t body = s->s_nout - s->s_nhead;
	int fd = s->s_conn->c_wfd, r = 0;

	if (s->s_nout == 0)
		return 0;
	if (!s->s_chunked || body == 0)
		r = http_write_all(fd, s->s_out, s->s_nout, write_deadline());
	else {
		if (s->s_nhead > 0)
			r = http_write_all(fd, s->s_out, s->s_nhead,
			    write_deadline());
		if (r == 0)
			r = http_write_chunk(fd, s->s_out + s->s_nhead, body,
			    write_deadline());
		/* the chunk's size line and its CRLF */
		s->s_bytes_out += snprintf(NULL, 0, "%zx", body) + 4;
	}
	s->s_nout = s->s_nhead = 0;
	if (r == -1) {
		s->s_write_failed = 1;
		s->s_close = 1;
	}
	return r;
}

/*
 * Takes a piece of the file for the client, the head before the first;
 * n == 0 (libcurl between two reads) asks for what is gathered to be
 * written now, and is when the rest can be spliced.  Returns 0 or -1.
 */
static int
body_sink(void *arg, const char *buf, size_t n)
{
	struct session *s = arg;
	size_t k;
	int fd, r;

	if (n == 0) {
		if (!s->s_head_sent)
			return 0;
		if (out_flush(s) == -1)
			return -1;
		if (can_splice(s) && (fd = ftp_data_socket(s->s_fh)) != -1)
			return splice_rest(s, fd);
		return 0;
	}
	if (!s->s_head_sent) {
		if (!s->s_have_st) {
			ftp_info(s->s_fh, &s->s_st);
			s->s_have_st = 1;
		}
		s->s_defer = 1;
		r = file_head(s);
		s->s_defer = 0;
		if (r == -1)
			return -1;
	}
	if (s->s_clen >= 0 && s->s_body_sent + n > (uint64_t)s->s_clen)
		n = s->s_clen - s->s_body_sent;
	while (n > 0) {
		k = sizeof(s->s_out) - s->s_nout;
		if (k > n)
			k = n;
		memcpy(s->s_out + s->s_nout, buf, k);
		s->s_nout += k;
		s->s_body_sent += k;
		s->s_bytes_out += k;
		buf += k;
		n -= k;
		if (s->s_nout == sizeof(s->s_out) && out_flush(s) == -1)
			return -1;
	}
	return 0;
}

/*
 * Returns 1 if the rest of a whole file of known length (past what came
 * so far) may go from the data socket to a TCP client by splice_rest.
 */
static int
can_splice(struct session *s)
{
	return s->s_tcp && s->s_clen >= 0 && s->s_from < 0 &&
	    s->s_body_sent < (uint64_t)s->s_clen;
}

/*
 * Moves the rest of the file from the FTP data socket to the client
 * without it entering this process (splice.c): the three copies (recv,
 * s_out, send) were most of the gateway's CPU time on large files.
 * libcurl, whose progress callback this runs in, then reads the data
 * connection's end and the 226.  Returns 0, also when the FTP side ends
 * or stalls early (libcurl then goes on and reports it), or -1 if the
 * client fails.
 */
static int
splice_rest(struct session *s, int dfd)
{
	uint64_t moved;
	int failed = 0;

	moved = splice_move(dfd, s->s_conn->c_wfd,
	    s->s_clen - s->s_body_sent, gw.gw_opts.idle_timeout * 1000,
	    &failed);
	s->s_body_sent += moved;
	s->s_bytes_out += moved;
	if (failed) {
		s->s_write_failed = 1;
		s->s_close = 1;
		return -1;
	}
	return 0;
}

/*
 * After a 550: answers 301 when the path is a directory.  Returns 1 if
 * it did.
 */
static int
maybe_dir(struct session *s)
{
	struct ftp_result saved = s->s_res, probe;

	if (saved.fr_status != 404 && saved.fr_status != 403)
		return 0;
	if (ftp_is_dir(s->s_fh, &s->s_loc, &probe)) {
		s->s_res.fr_code = probe.fr_code;
		redirect_dir(s);
		return 1;
	}
	s->s_res = saved;
	return 0;
}

/* 301 to the same path with a slash, relative so no credentials travel. */
static void
redirect_dir(struct session *s)
{
	char enc[3 * FTP_PATH_MAX + 1], loc[3 * FTP_PATH_MAX + 32];
	const char *lines[2];
	const char *last;
	static const char body[] = "301 Moved Permanently: a directory\n";

	last = strrchr(s->s_loc.fl_path, '/');
	last = last ? last + 1 : s->s_loc.fl_path;
	target_encode(last, enc, sizeof(enc));
	snprintf(loc, sizeof(loc), "Location: ./%s/", enc);
	lines[0] = loc;
	lines[1] = "Content-Type: text/plain";
	s->s_clen = sizeof(body) - 1;
	if (send_head(s, 301, lines, 2) == 0 &&
	    strcmp(s->s_hd.hd_method, "HEAD") != 0 &&
	    http_write_all(s->s_conn->c_wfd, body, sizeof(body) - 1,
	    write_deadline()) == 0)
		s->s_bytes_out += sizeof(body) - 1;
}

/* GET or HEAD of a file. */
static void
serve_file(struct session *s)
{
	int head = strcmp(s->s_hd.hd_method, "HEAD") == 0, r;
	struct file_fields ff;

	if (head || http_get(&s->s_hd, "Range") != NULL ||
	    http_get(&s->s_hd, "If-None-Match") != NULL ||
	    http_get(&s->s_hd, "If-Modified-Since") != NULL) {
		if (ftp_stat(s->s_fh, &s->s_loc, &s->s_st, &s->s_res) == -1) {
			if (!maybe_dir(s))
				send_result(s);
			return;
		}
		s->s_have_st = 1;
		r = file_status(&s->s_hd, &s->s_st, !head, &s->s_from,
		    &s->s_to);
		if (r == 304 || r == 416)
			file_fields(&ff, &s->s_st, r, -1, -1);
		if (r == 304) {
			send_head(s, 304, ff.ff_lines, ff.ff_n);
			return;
		}
		if (r == 416) {
			send_error(s, 416, "http_request_error",
			    "range not satisfiable", ff.ff_lines[0]);
			return;
		}
		if (head) {
			file_head(s);
			return;
		}
	}
	r = ftp_get(s->s_fh, &s->s_loc, s->s_from, s->s_to, body_sink, s,
	    &s->s_res);
	if (s->s_head_sent && out_flush(s) == -1)
		return;
	if (r == -1) {
		if (s->s_head_sent) {
			/* cut short: the client must see an incomplete body */
			log_info("conn=%lu: transfer broken after %llu bytes: "
			    "%s", s->s_conn->c_id,
			    (unsigned long long)s->s_body_sent,
			    s->s_res.fr_detail);
			s->s_cut = 1;
			s->s_close = 1;
			return;
		}
		if (!maybe_dir(s))
			send_result(s);
		return;
	}
	if (!s->s_head_sent) {
		/* an empty file: no write ever came */
		if (!s->s_have_st)
			ftp_info(s->s_fh, &s->s_st);
		if (s->s_st.fs_size < 0 && s->s_from < 0)
			s->s_st.fs_size = 0;
		if (file_head(s) == -1)
			return;
	}
	if (s->s_chunked && !s->s_write_failed) {
		if (http_write_chunk(s->s_conn->c_wfd, NULL, 0,
		    write_deadline()) == -1)
			s->s_close = 1;
		else
			s->s_bytes_out += 5;
	}
	if (s->s_clen >= 0 && s->s_body_sent != (uint64_t)s->s_clen) {
		log_info("conn=%lu: FTP sent %llu of %lld bytes",
		    s->s_conn->c_id, (unsigned long long)s->s_body_sent,
		    (long long)s->s_clen);
		s->s_cut = 1;
		s->s_close = 1;
	}
}

/* GET or HEAD of a directory: an HTML or JSON listing. */
static void
serve_dir(struct session *s)
{
	struct rawlist rl = { NULL, 0, 0 };
	struct listing l;
	const char *lines[2];
	char *body = NULL, title[3 * FTP_PATH_MAX + NET_HOSTLEN + 32];
	const char *rel;
	size_t len = 0;
	int json = wants_json(&s->s_hd), mlsd;

	if (ftp_list(s->s_fh, &s->s_loc, &mlsd, listing_sink, &rl,
	    &s->s_res) == -1) {
		free(rl.rl_p);
		send_result(s);
		return;
	}
	if (rl.rl_p == NULL && listing_sink(&rl, "", 0) == -1) {
		send_error(s, 500, "proxy_internal_error", "out of memory",
		    NULL);
		return;
	}
	if (listing_parse(rl.rl_p, rl.rl_len, mlsd, time(NULL), &l) == 0) {
		if (gw.gw_origin) {
			/* the client's path: below the base, after its '/' */
			rel = s->s_loc.fl_path + strlen(gw_base.fl_path);
			rel += *rel == '/';
			snprintf(title, sizeof(title), "/%s%s", rel,
			    *rel != '\0' ? "/" : "");
		} else
			target_url(&s->s_loc, s->s_loc.fl_path, 1, title,
			    sizeof(title));
		body = json ? listing_json(&l, &len) : listing_html(&l, title,
		    strlen(s->s_loc.fl_path) == (gw.gw_origin ?
		    strlen(gw_base.fl_path) : 0), &len);
	}
	listing_free(&l);
	free(rl.rl_p);
	if (body == NULL) {
		send_error(s, 500, "proxy_internal_error", "out of memory",
		    NULL);
		return;
	}
	lines[0] = json ? "Content-Type: application/json" :
	    "Content-Type: text/html; charset=utf-8";
	lines[1] = "Vary: Accept";
	s->s_clen = len;
	if (send_head(s, 200, lines, 2) == 0 &&
	    strcmp(s->s_hd.hd_method, "HEAD") != 0) {
		if (http_write_all(s->s_conn->c_wfd, body, len,
		    write_deadline()) == -1)
			s->s_close = 1;
		else
			s->s_bytes_out += len;
	}
	free(body);
}
