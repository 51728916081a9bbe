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
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "httpftpd.h"
#include "log.h"

#define DEFAULT_ADDR	"127.0.0.1:8021"
#define HEAD_MAX	4096
/*
 * libcurl hands the body over in 16 KiB pieces; gathering them into
 * writes this large (flushed whenever libcurl goes back to wait) halves
 * the gateway's system calls on large files.
 */
#define OUT_MAX		(512 * 1024)

enum {
	OPT_WRITABLE = OPT_PROGRAM_BASE,
	OPT_FTP_SSL,
	OPT_CACERT
};

struct session {
	struct conn	*s_conn;
	struct http_in	 s_in;
	struct http_head s_hd;
	/* the exchange in progress */
	struct ftp_loc	 s_loc;
	struct ftp_handle *s_fh;
	struct ftp_result s_res;
	struct ftp_stat	 s_st;
	int		 s_have_st;
	char		 s_shown[3 * FTP_PATH_MAX + NET_HOSTLEN + 32];
	int		 s_status;
	uint64_t	 s_bytes_in;
	uint64_t	 s_bytes_out;
	int		 s_close;	/* close after this exchange */
	int		 s_tcp;		/* the client's c_wfd is a TCP socket */
	int		 s_head_sent;
	int		 s_defer;	/* send_head puts the head in s_out */
	size_t		 s_nhead;	/* head bytes at the start of s_out */
	size_t		 s_nout;
	char		 s_out[HEAD_MAX + OUT_MAX];
	int		 s_chunked;
	int64_t		 s_clen;	/* Content-Length sent, or -1 */
	uint64_t	 s_body_sent;
	int		 s_write_failed;
	int64_t		 s_from, s_to;	/* range, from -1 if none */
	uint64_t	 s_t0;
};

static struct gateway gw;
static struct ftp_loc gw_base;

static void	usage(void) __attribute__((noreturn));
static void	help(void) __attribute__((noreturn));
static void	handle(struct conn *, void *);
static void	exchange(struct session *);
static void	access_line(struct session *);
static void	send_error(struct session *, int, const char *, const char *,
		    const char *);
static void	send_result(struct session *);
static int	send_head(struct session *, int, const char **, int);
static uint64_t	write_deadline(void);
static void	add_date(char *, size_t, const char *, time_t);
static void	etag(const struct ftp_stat *, char *, size_t);
static int	not_modified(struct session *);
static int	parse_range(struct session *);
static int	body_sink(void *, const char *, size_t);
static int	can_splice(struct session *);
static int	splice_rest(struct session *, int);
static int	file_head(struct session *);
static void	serve_file(struct session *);
static void	serve_dir(struct session *);
static void	redirect_dir(struct session *);
static int	maybe_dir(struct session *);
static int	wants_json(const struct http_head *);
static double	accept_q(const char *, const char *);
static void	serve_put(struct session *);
static ssize_t	body_source(void *, char *, size_t);
static void	serve_delete(struct session *);

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
	if (gw.gw_opts.exit_code >= 0)
		return gw.gw_opts.exit_code;
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
		s->s_t0 = now_ms();
		if (r != 0) {
			/*
			 * An idle keep-alive connection just ends, whether
			 * by our deadline or by a reset from the client.
			 */
			if ((r == 408 || r == 400) &&
			    s->s_in.in_start == s->s_in.in_end)
				break;
			s->s_status = r;
			s->s_shown[0] = '\0';
			s->s_hd.hd_method = NULL;
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
	explicit_bzero(&s->s_loc, sizeof(s->s_loc));
	free(s);
}

/* The deadline for a write to the client starting now. */
static uint64_t
write_deadline(void)
{
	return now_ms() + gw.gw_opts.idle_timeout * 1000ULL;
}

/* One request, start to end; the response is complete or s_close is set. */
static void
exchange(struct session *s)
{
	struct http_head *hd = &s->s_hd;
	const char *err, *auth, *m = hd->hd_method;
	int resolved;

	s->s_status = 0;
	s->s_bytes_in = s->s_bytes_out = 0;
	s->s_head_sent = s->s_chunked = s->s_write_failed = 0;
	s->s_defer = 0;
	s->s_nhead = s->s_nout = 0;
	s->s_have_st = 0;
	s->s_clen = -1;
	s->s_body_sent = 0;
	s->s_from = s->s_to = -1;
	s->s_shown[0] = '\0';
	memset(&s->s_res, 0, sizeof(s->s_res));
	s->s_close = !hd->hd_keep_alive;
	/* a body we do not read would be taken for the next request */
	if (hd->hd_framing != HTTP_BODY_NONE && strcmp(m, "PUT") != 0)
		s->s_close = 1;

	resolved = target_resolve(&gw, hd->hd_target, &s->s_loc, &err) == 0;
	if (resolved)
		target_url(&s->s_loc, s->s_loc.fl_path, s->s_loc.fl_slash,
		    s->s_shown, sizeof(s->s_shown));
	if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 &&
	    !(gw.gw_writable && (strcmp(m, "PUT") == 0 ||
	    strcmp(m, "DELETE") == 0))) {
		/* after a CONNECT the client may send tunnel bytes at once */
		if (hd->hd_framing != HTTP_BODY_NONE ||
		    strcmp(m, "CONNECT") == 0)
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
	ftp_release(s->s_fh, 1);
	s->s_fh = NULL;
done:
	access_line(s);
	explicit_bzero(s->s_loc.fl_pass, sizeof(s->s_loc.fl_pass));
}

/* The access line: never with credentials (s_shown has none). */
static void
access_line(struct session *s)
{
	struct conn *c = s->s_conn;

	log_info("client=%s:%s method=%s target=%s ftp=%ld status=%d "
	    "bytes_in=%llu bytes_out=%llu ms=%llu%s",
	    c->c_peer_ip, c->c_peer_port, s->s_hd.hd_method ? s->s_hd.hd_method : "-",
	    s->s_shown[0] ? s->s_shown : "-", s->s_res.fr_code, s->s_status,
	    (unsigned long long)s->s_bytes_in,
	    (unsigned long long)s->s_bytes_out,
	    (unsigned long long)(now_ms() - s->s_t0),
	    s->s_write_failed ? " result=aborted" : "");
}

/* A complete error response; a response already begun is cut instead. */
static void
send_error(struct session *s, int status, const char *token,
    const char *detail, const char *extra)
{
	s->s_status = status;
	if (s->s_head_sent) {
		s->s_close = 1;
		return;
	}
	if (status >= 500 || status == 400)
		log_info("conn=%lu: %d: %s", s->s_conn->c_id, status, detail);
	if (http_send_error(s->s_conn->c_wfd, s->s_hd.hd_version, status,
	    token, detail, extra, s->s_close, write_deadline()) == -1)
		s->s_close = 1;
	s->s_head_sent = 1;
}

/* Answers with what the failed FTP operation in s_res maps to. */
static void
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

/* Formats "Name: HTTP-date" into out. */
static void
add_date(char *out, size_t len, const char *name, time_t t)
{
	struct tm tm;
	char d[64];

	gmtime_r(&t, &tm);
	strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(out, len, "%s: %s", name, d);
}

/* A strong validator from size and modification time. */
static void
etag(const struct ftp_stat *st, char *out, size_t len)
{
	snprintf(out, len, "\"%llx-%llx\"", (unsigned long long)st->fs_size,
	    (unsigned long long)st->fs_mtime);
}

/*
 * Sends a response head with status and the given "Name: value" lines,
 * adding Date, the framing (s_clen or s_chunked) and Connection: close
 * when s_close is set; with s_defer it only stages it in s_out.  Returns
 * 0 or -1.
 */
static int
send_head(struct session *s, int status, const char **lines, int n)
{
	struct http_field f[24];
	char buf[HEAD_MAX], start[64], date[80], len[48], lbuf[20][64];
	const char *colon;
	int i, nf = 0, k;

	snprintf(start, sizeof(start), "HTTP/1.1 %d %s", status,
	    http_reason(status));
	add_date(date, sizeof(date), "Date", time(NULL));
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
	if (s->s_close) {
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
		return 0;
	}
	if (http_write_all(s->s_conn->c_wfd, buf, k, write_deadline()) == -1) {
		s->s_close = 1;
		s->s_write_failed = 1;
		return -1;
	}
	return 0;
}

/* Returns 1 if If-None-Match or If-Modified-Since say 304. */
static int
not_modified(struct session *s)
{
	const char *inm, *ims;
	char tag[64];
	time_t t;

	etag(&s->s_st, tag, sizeof(tag));
	if ((inm = http_get(&s->s_hd, "If-None-Match")) != NULL) {
		if (s->s_st.fs_size < 0 || s->s_st.fs_mtime < 0)
			return 0;
		return strcmp(inm, "*") == 0 || strstr(inm, tag) != NULL;
	}
	if ((ims = http_get(&s->s_hd, "If-Modified-Since")) != NULL &&
	    s->s_st.fs_mtime >= 0) {
		if ((t = curl_getdate(ims, NULL)) == -1)
			return 0;
		return s->s_st.fs_mtime <= t;
	}
	return 0;
}

/*
 * Reads a single "bytes=" Range against the file's size into s_from and
 * s_to.  Returns 0 (serve it, or serve all when s_from stays -1), or 416.
 * Several ranges or a malformed one are ignored, as RFC 9110 allows.
 */
static int
parse_range(struct session *s)
{
	const char *r, *ifr;
	char tag[64];
	long long a = -1, b = -1, size = s->s_st.fs_size;
	char *end;

	if ((r = http_get(&s->s_hd, "Range")) == NULL || size < 0)
		return 0;
	if ((ifr = http_get(&s->s_hd, "If-Range")) != NULL) {
		etag(&s->s_st, tag, sizeof(tag));
		if (ifr[0] == '"' ? strcmp(ifr, tag) != 0 :
		    curl_getdate(ifr, NULL) != s->s_st.fs_mtime)
			return 0;
	}
	if (strncasecmp(r, "bytes=", 6) != 0 || strchr(r, ',') != NULL)
		return 0;
	r += 6;
	if (*r == '-') {
		b = strtoll(r + 1, &end, 10);
		if (end == r + 1 || *end != '\0' || b < 0)
			return 0;
		if (b == 0 || size == 0)
			return 416;
		a = b >= size ? 0 : size - b;
		b = size - 1;
	} else {
		a = strtoll(r, &end, 10);
		if (end == r || *end != '-' || a < 0)
			return 0;
		r = end + 1;
		if (*r == '\0')
			b = size - 1;
		else {
			b = strtoll(r, &end, 10);
			if (*end != '\0' || b < a)
				return 0;
		}
		if (a >= size)
			return 416;
		if (b >= size)
			b = size - 1;
	}
	s->s_from = a;
	s->s_to = b;
	return 0;
}

/*
 * Sends the head of a file response from s_st (and the range); returns
 * 0 or -1.
 */
static int
file_head(struct session *s)
{
	const char *lines[8];
	char lm[80], tag[80], cr[96], ct[160];
	int n = 0, status = 200;

	snprintf(ct, sizeof(ct), "Content-Type: %s",
	    mime_type(s->s_loc.fl_path));
	lines[n++] = ct;
	lines[n++] = "Accept-Ranges: bytes";
	if (s->s_st.fs_mtime >= 0) {
		add_date(lm, sizeof(lm), "Last-Modified", s->s_st.fs_mtime);
		lines[n++] = lm;
	}
	if (s->s_st.fs_mtime >= 0 && s->s_st.fs_size >= 0) {
		snprintf(tag, sizeof(tag), "ETag: ");
		etag(&s->s_st, tag + 6, sizeof(tag) - 6);
		lines[n++] = tag;
	}
	if (s->s_from >= 0) {
		status = 206;
		snprintf(cr, sizeof(cr), "Content-Range: bytes %lld-%lld/%lld",
		    (long long)s->s_from, (long long)s->s_to,
		    (long long)s->s_st.fs_size);
		lines[n++] = cr;
		s->s_clen = s->s_to - s->s_from + 1;
	} else if (s->s_st.fs_size >= 0)
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
	const char *lines[3];
	char lm[80], tag[80];

	if (head || http_get(&s->s_hd, "Range") != NULL ||
	    http_get(&s->s_hd, "If-None-Match") != NULL ||
	    http_get(&s->s_hd, "If-Modified-Since") != NULL) {
		if (ftp_stat(s->s_fh, &s->s_loc, &s->s_st, &s->s_res) == -1) {
			if (!maybe_dir(s))
				send_result(s);
			return;
		}
		s->s_have_st = 1;
		if (not_modified(s)) {
			add_date(lm, sizeof(lm), "Last-Modified",
			    s->s_st.fs_mtime);
			snprintf(tag, sizeof(tag), "ETag: ");
			etag(&s->s_st, tag + 6, sizeof(tag) - 6);
			lines[0] = lm;
			lines[1] = tag;
			send_head(s, 304, lines, 2);
			return;
		}
		if (!head && parse_range(s) == 416) {
			snprintf(tag, sizeof(tag),
			    "Content-Range: bytes */%lld",
			    (long long)s->s_st.fs_size);
			send_error(s, 416, "http_request_error",
			    "range not satisfiable", tag);
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
	}
	if (s->s_clen >= 0 && s->s_body_sent != (uint64_t)s->s_clen) {
		log_info("conn=%lu: FTP sent %llu of %lld bytes",
		    s->s_conn->c_id, (unsigned long long)s->s_body_sent,
		    (long long)s->s_clen);
		s->s_close = 1;
	}
}

/* Listing bytes arrive here; bounded so a huge directory cannot grow us. */
struct rawlist {
	char	*rl_p;
	size_t	 rl_len;
	size_t	 rl_cap;
};

/* Appends listing bytes; returns 0, or -1 past LISTING_MAX. */
static int
list_sink(void *arg, const char *buf, size_t n)
{
	struct rawlist *rl = arg;
	char *p;

	if (buf == NULL)
		return 0;
	if (rl->rl_len + n + 1 > LISTING_MAX)
		return -1;
	if (rl->rl_len + n + 1 > rl->rl_cap) {
		rl->rl_cap = (rl->rl_len + n + 1) * 2;
		if ((p = realloc(rl->rl_p, rl->rl_cap)) == NULL)
			return -1;
		rl->rl_p = p;
	}
	memcpy(rl->rl_p + rl->rl_len, buf, n);
	rl->rl_len += n;
	rl->rl_p[rl->rl_len] = '\0';
	return 0;
}

/* Returns the q value the Accept header gives type (exact, a/ *, * / *). */
static double
accept_q(const char *accept, const char *type)
{
	const char *p, *q, *slash;
	size_t n, tl = strlen(type);
	double best = 0, val;
	int spec, bestspec = -1;

	slash = strchr(type, '/');
	for (p = accept; *p != '\0'; p += *p == ',') {
		p += strspn(p, " \t");
		n = strcspn(p, ",;");
		q = p + n;
		val = 1;
		while (*q == ';') {
			q++;
			q += strspn(q, " \t");
			if (strncasecmp(q, "q=", 2) == 0)
				val = strtod(q + 2, NULL);
			q += strcspn(q, ";,");
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		spec = -1;
		if (n == tl && strncasecmp(p, type, n) == 0)
			spec = 2;
		else if (n == (size_t)(slash - type) + 2 &&
		    strncasecmp(p, type, slash - type + 1) == 0 &&
		    p[n - 1] == '*')
			spec = 1;
		else if (n == 3 && strncmp(p, "*/*", 3) == 0)
			spec = 0;
		if (spec > bestspec) {
			bestspec = spec;
			best = val;
		}
		p = q + strcspn(q, ",");
	}
	return best;
}

/* Returns 1 if the client's Accept prefers application/json to HTML. */
static int
wants_json(const struct http_head *hd)
{
	const char *a = http_get(hd, "Accept");

	if (a == NULL)
		return 0;
	return accept_q(a, "application/json") > accept_q(a, "text/html");
}

/* GET or HEAD of a directory: an HTML or JSON listing. */
static void
serve_dir(struct session *s)
{
	struct rawlist rl = { NULL, 0, 0 };
	struct listing l;
	const char *lines[2];
	char *body = NULL, title[3 * FTP_PATH_MAX + NET_HOSTLEN + 32];
	size_t len = 0;
	int json = wants_json(&s->s_hd), mlsd;

	if (ftp_list(s->s_fh, &s->s_loc, &mlsd, list_sink, &rl,
	    &s->s_res) == -1) {
		free(rl.rl_p);
		send_result(s);
		return;
	}
	if (rl.rl_p == NULL && list_sink(&rl, "", 0) == -1) {
		send_error(s, 500, "proxy_internal_error", "out of memory",
		    NULL);
		return;
	}
	if (listing_parse(rl.rl_p, rl.rl_len, mlsd, time(NULL), &l) == 0) {
		if (gw.gw_origin)
			snprintf(title, sizeof(title), "/%s%s",
			    s->s_loc.fl_path + strlen(gw_base.fl_path),
			    s->s_loc.fl_path[strlen(gw_base.fl_path)] ? "/" :
			    "");
		else
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

/* Request body bytes for STOR. */
struct upload {
	struct session	*up_s;
	struct http_body up_body;
	int		 up_status;
};

/* Reads request body bytes for STOR; returns the count, 0 or -1. */
static ssize_t
body_source(void *arg, char *buf, size_t n)
{
	struct upload *up = arg;
	ssize_t r;

	r = http_read_body(&up->up_s->s_in, &up->up_body, buf, n,
	    write_deadline(), &up->up_status);
	if (r > 0)
		up->up_s->s_bytes_in += r;
	return r;
}

/* PUT: STOR the body; 201 for a new file, 204 for a replaced one. */
static void
serve_put(struct session *s)
{
	struct upload up;
	struct ftp_result probe;
	struct ftp_stat st;
	const char *lines[1];
	int existed;

	if (s->s_loc.fl_slash) {
		s->s_close = 1;
		send_error(s, 405, "http_request_denied",
		    "cannot PUT a directory",
		    "Allow: GET, HEAD");
		return;
	}
	existed = ftp_stat(s->s_fh, &s->s_loc, &st, &probe) == 0;
	if (!existed && probe.fr_status != 404) {
		s->s_res = probe;
		s->s_close = 1;
		send_result(s);
		return;
	}
	if (s->s_hd.hd_expect_continue &&
	    http_write_all(s->s_conn->c_wfd, "HTTP/1.1 100 Continue\r\n\r\n",
	    25, write_deadline()) == -1) {
		s->s_close = 1;
		return;
	}
	memset(&up, 0, sizeof(up));
	up.up_s = s;
	http_body_init(&up.up_body, &s->s_hd);
	if (ftp_put(s->s_fh, &s->s_loc, s->s_hd.hd_framing ==
	    HTTP_BODY_LENGTH ? (int64_t)s->s_hd.hd_length : -1, body_source,
	    &up, &s->s_res) == -1) {
		s->s_close = 1;
		if (up.up_status != 0)
			send_error(s, up.up_status, "http_request_error",
			    "request body broken", NULL);
		else
			send_result(s);
		return;
	}
	s->s_clen = existed ? -1 : 0;
	lines[0] = "Content-Type: text/plain";
	send_head(s, existed ? 204 : 201, lines, existed ? 0 : 1);
}

/* DELETE: DELE, 204. */
static void
serve_delete(struct session *s)
{
	if (s->s_loc.fl_slash) {
		send_error(s, 405, "http_request_denied",
		    "cannot DELETE a directory",
		    "Allow: GET, HEAD");
		return;
	}
	if (ftp_delete(s->s_fh, &s->s_loc, &s->s_res) == -1) {
		send_result(s);
		return;
	}
	send_head(s, 204, NULL, 0);
}
