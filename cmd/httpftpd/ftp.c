/*
 * ftp.c - FTP through libcurl, with a pool of easy handles.
 *
 * libcurl keeps an FTP control connection inside the easy handle that
 * opened it.  Idle handles wait in a curlpool keyed by server and
 * credentials; a request takes a matching one (and with it a logged-in
 * control connection) or makes a new one, and gives it back when it is
 * done.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <poll.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curlpool.h"
#include "curlshare.h"
#include "httpftpd.h"
#include "log.h"

#define POOL_MAX	64	/* idle handles kept */
#define POOL_IDLE_MS	60000	/* idle handles older than this are closed */
#define FTP_BUFSIZE	(512 * 1024)
#define KEY_MAX		(NET_HOSTLEN + 2 * FTP_CRED_MAX + 32)

struct ftp_handle {
	CURL		*fh_curl;
	char		 fh_key[KEY_MAX];	/* server and credentials */
	int		 fh_no_mlsd;	/* the server refused MLSD once */
	/* the operation in progress */
	struct ftp_result *fh_res;
	ftp_sink	 fh_sink;
	ftp_source	 fh_source;
	void		*fh_arg;
	int		 fh_sink_failed;
	int		 fh_lastfd;	/* the last socket libcurl opened */
	struct curlshare_sock fh_sock;	/* on_open()'s destination check */
	int		 fh_plain;	/* no TLS: the data socket can be taken */
	unsigned	 fh_ctlport;	/* the server's control port */
	char		 fh_host[NET_HOSTLEN];	/* the server, for messages */
	int		 fh_sizing;	/* SIZE_*: who knows the file's size */
	int64_t		 fh_size;	/* what SIZE (or the 150) said, or -1 */
	int		 fh_exists;	/* the file's SIZE was answered */
	char		 fh_refusal[160];	/* the last 4xx or 5xx reply */
};

/* fh_sizing: libcurl knows the size, or we ask and read the replies */
enum { SIZE_CURL, SIZE_ASKED, SIZE_KNOWN };

static const struct gateway *gw;
static struct curlpool *pool;
static int may_splice;	/* ftp_data_socket() may hand the socket out */

static int	pool_key(const struct ftp_loc *, char *, size_t);
static int	stale(CURL *);
static void	handle_free(void *);
static struct ftp_handle *no_handle(struct ftp_result *, int, char *);
static int	login(struct ftp_handle *, const struct ftp_loc *,
		    struct ftp_result *);
static size_t	on_header(char *, size_t, size_t, void *);
static size_t	on_write(char *, size_t, size_t, void *);
static size_t	on_read(char *, size_t, size_t, void *);
static int	on_progress(void *, curl_off_t, curl_off_t, curl_off_t,
		    curl_off_t);
static curl_socket_t on_open(void *, curlsocktype, struct curl_sockaddr *);
static int	on_close(void *, curl_socket_t);
static int	setup(struct ftp_handle *, const struct ftp_loc *,
		    const char *, int, struct ftp_result *);
static int	perform(struct ftp_handle *, struct ftp_result *);
static int64_t	reply_size(const char *);
static unsigned	peer_port(int);
static int	curl_reads_through(void);
static int	permission_words(const char *);
static void	map_result(struct ftp_handle *, struct ftp_result *);

/* Sets libcurl up once, before any thread; returns 0 or -1. */
int
ftp_global_init(const struct gateway *g)
{
	gw = g;
	if (curlpool_global_init() == -1)
		return -1;
	if ((pool = curlpool_new(POOL_MAX, POOL_IDLE_MS,
	    (unsigned)g->gw_ftp_conns, handle_free)) == NULL)
		return -1;
	may_splice = curl_reads_through();
	log_debug("libcurl %s: %s", curl_version_info(CURLVERSION_NOW)->version,
	    may_splice ? "the rest of a plain FTP file is spliced" :
	    "not a version splice was checked against: every byte is copied");
	return 0;
}

/*
 * Writes the pool key of loc's server and user: no credential holds a
 * newline (target.c refuses CR, LF and NUL), so the fields cannot run
 * into each other.  Returns 0, or -1 if it does not fit.
 */
static int
pool_key(const struct ftp_loc *loc, char *out, size_t len)
{
	char host[NET_HOSTLEN];
	size_t i;
	int n;

	for (i = 0; loc->fl_host[i] != '\0' && i < sizeof(host) - 1; i++)
		host[i] = tolower((unsigned char)loc->fl_host[i]);
	host[i] = '\0';
	n = snprintf(out, len, "%s\n%s\n%u\n%d\n%s\n%s",
	    loc->fl_tls ? "ftps" : "ftp", host, loc->fl_port,
	    loc->fl_has_user, loc->fl_user, loc->fl_pass);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void
handle_free(void *arg)
{
	struct ftp_handle *h = arg;

	explicit_bzero(h->fh_key, sizeof(h->fh_key));
	free(h);
}

/*
 * Returns 1 if an idle handle's control connection has something to be
 * read.  An idle FTP server speaks only to end the login (vsftpd's and
 * proftpd's idle timeout: "421 Timeout." and a close), and libcurl, which
 * checks only that the socket is open, would read that 421 as the answer
 * to its next command.
 */
static int
stale(CURL *c)
{
	struct pollfd pfd;
	curl_socket_t fd = CURL_SOCKET_BAD;

	if (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
	    fd == CURL_SOCKET_BAD)
		return 0;
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) != 0;
}

/*
 * Returns an easy handle for loc's server and user, logged in: an idle
 * one from the pool (its control connection is reused), or a new one
 * while the server has fewer than --ftp-conns of ours, or the first one
 * back, waited for until --connect-timeout.  A server that answers a new
 * login with 421 (too many connections) while it has others of ours
 * lowers that bound, and the wait goes on.  NULL with res mapped when
 * none came or the login failed.
 */
struct ftp_handle *
ftp_acquire(const struct ftp_loc *loc, struct ftp_result *res)
{
	uint64_t deadline = now_ms() + 1000ULL * gw->gw_opts.connect_timeout;
	struct ftp_handle *h = NULL;
	char key[KEY_MAX];
	void *priv;
	CURL *c;
	int again;

	memset(res, 0, sizeof(*res));
	if (pool_key(loc, key, sizeof(key)) == -1)
		return no_handle(res, ENOMEM, key);
	while (h == NULL) {
		if ((c = curlpool_take(pool, key, &priv, deadline)) == NULL)
			return no_handle(res, errno, key);
		if ((h = priv) != NULL) {
			if (!stale(c)) {
				h->fh_curl = c;
				break;		/* logged in already */
			}
			curlpool_discard(pool, key, c, h);
			h = NULL;
			continue;
		}
		if ((h = calloc(1, sizeof(*h))) == NULL) {
			curlpool_discard(pool, key, c, NULL);
			return no_handle(res, ENOMEM, key);
		}
		h->fh_curl = c;
		memcpy(h->fh_key, key, strlen(key) + 1);
		if (login(h, loc, res) == 0)
			break;
		ftp_upstream(h, res->fr_upstream, sizeof(res->fr_upstream));
		/* Too many of ours: wait for one of the others. */
		again = res->fr_code == 421 && now_ms() < deadline &&
		    curlpool_shrink(pool, key) > 0;
		curlpool_discard(pool, key, c, h);
		h = NULL;
		if (!again)
			break;
		log_debug("FTP server %s busy (421): fewer connections to it",
		    loc->fl_host);
	}
	explicit_bzero(key, sizeof(key));
	return h;
}

/*
 * Maps what kept ftp_acquire() from a handle into res: no connection
 * free in time (errno ETIMEDOUT: 503), or no memory.  Returns NULL.
 */
static struct ftp_handle *
no_handle(struct ftp_result *res, int err, char *key)
{
	explicit_bzero(key, KEY_MAX);
	if (err == ETIMEDOUT) {
		res->fr_status = HTTP_SERVICE_UNAVAILABLE;
		res->fr_error = PE_CONNECTION_LIMIT_REACHED;
		snprintf(res->fr_detail, sizeof(res->fr_detail), "all %d "
		    "connections to the FTP server stayed busy for %d s",
		    gw->gw_ftp_conns, gw->gw_opts.connect_timeout);
	} else {
		res->fr_status = HTTP_INTERNAL_SERVER_ERROR;
		res->fr_error = PE_PROXY_INTERNAL_ERROR;
		snprintf(res->fr_detail, sizeof(res->fr_detail),
		    "out of memory");
	}
	return NULL;
}

/*
 * Logs a new handle in (libcurl's connect, the greeting, USER, PASS) so
 * that a refusal comes before the request's first command; returns 0, or
 * -1 with res mapped.
 */
static int
login(struct ftp_handle *h, const struct ftp_loc *loc, struct ftp_result *res)
{
	if (setup(h, loc, "", 1, res) == -1)
		return -1;
	curl_easy_setopt(h->fh_curl, CURLOPT_NOBODY, 1L);
	return perform(h, res);
}

/* Gives a handle back to the pool, or closes it. */
void
ftp_release(struct ftp_handle *h, int reusable)
{
	if (h == NULL)
		return;
	h->fh_res = NULL;
	h->fh_sink = NULL;
	h->fh_source = NULL;
	h->fh_arg = NULL;
	if (reusable)
		curlpool_put(pool, h->fh_key, h->fh_curl, h);
	else
		curlpool_discard(pool, h->fh_key, h->fh_curl, h);
}

/*
 * Keeps the last FTP reply line: its wording tells 403 from 404; and the
 * last refusal (4xx, 5xx) since a transfer began (1xx), for perform().  When
 * ftp_get asked SIZE itself, the reply just before RETR's 150 (or 125) is
 * SIZE's; failing that, the 150 may say "(N bytes)", as libcurl reads it.
 */
static size_t
on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct ftp_handle *h = arg;
	size_t len = size * n, k;
	char *line;

	if (h->fh_res != NULL && len >= 3 && buf[0] >= '1' && buf[0] <= '5' &&
	    buf[1] >= '0' && buf[1] <= '9' && buf[2] >= '0' && buf[2] <= '9') {
		line = h->fh_res->fr_reply;
		k = len;
		while (k > 0 && (buf[k - 1] == '\r' || buf[k - 1] == '\n'))
			k--;
		if (k >= sizeof(h->fh_res->fr_reply))
			k = sizeof(h->fh_res->fr_reply) - 1;
		memcpy(line, buf, k);
		line[k] = '\0';
		if (buf[0] == '4' || buf[0] == '5')
			snprintf(h->fh_refusal, sizeof(h->fh_refusal), "%s",
			    line);
		else if (buf[0] == '1')
			h->fh_refusal[0] = '\0';
		if (h->fh_sizing != SIZE_ASKED)
			return len;
		if (strncmp(line, "213", 3) == 0) {
			h->fh_size = reply_size(line);
			h->fh_exists = h->fh_size >= 0;
		} else if (strncmp(line, "150", 3) == 0 ||
		    strncmp(line, "125", 3) == 0) {
			if (h->fh_size < 0)
				h->fh_size = reply_size(line);
			h->fh_sizing = SIZE_KNOWN;
		} else
			h->fh_size = -1;
	}
	return len;
}

/*
 * Returns the size in "213 N" (a reply to SIZE) or in "150 ... (N bytes)",
 * or -1 if the line holds none.
 */
static int64_t
reply_size(const char *line)
{
	const char *p;
	char *end;
	long long v;

	if (strncmp(line, "213 ", 4) == 0)
		p = line + 4;
	else if ((p = strrchr(line, '(')) != NULL)
		p++;
	else
		return -1;
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	v = strtoll(p, &end, 10);
	if (errno != 0)
		return -1;
	if (line[0] == '2' ? *end != '\0' : strncmp(end, " bytes)", 7) != 0)
		return -1;
	return v;
}

/* Hands body bytes to the sink; returns n, or 0 to make libcurl stop. */
static size_t
on_write(char *buf, size_t size, size_t n, void *arg)
{
	struct ftp_handle *h = arg;

	if (h->fh_sink == NULL)
		return size * n;
	if (h->fh_sink(h->fh_arg, buf, size * n) == -1) {
		h->fh_sink_failed = 1;
		return 0;
	}
	return size * n;
}

/*
 * libcurl calls this between its reads: the sink writes out what it
 * gathered, so data never waits for more data.  Returns 0, or 1 to stop.
 */
static int
on_progress(void *arg, curl_off_t dlt, curl_off_t dln, curl_off_t ult,
    curl_off_t uln)
{
	struct ftp_handle *h = arg;

	(void)dlt;
	(void)dln;
	(void)ult;
	(void)uln;
	if (conn_cutting())
		return 1;	/* the end of --grace: the access line follows */
	if (h->fh_sink != NULL && h->fh_sink(h->fh_arg, NULL, 0) == -1) {
		h->fh_sink_failed = 1;
		return 1;
	}
	return 0;
}

/* Fills libcurl's upload buffer from the source; returns the count. */
static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct ftp_handle *h = arg;
	ssize_t r;

	r = h->fh_source(h->fh_arg, buf, size * n);
	if (r < 0) {
		h->fh_sink_failed = 1;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)r;
}

/*
 * Opens a socket for libcurl through the destination check every libcurl
 * program shares (control and data connections alike: the policy, and
 * no loop to our own listener); returns the socket or CURL_SOCKET_BAD.
 * fr_policy (403) is set only while every address was refused.
 */
static curl_socket_t
on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct ftp_handle *h = arg;
	curl_socket_t fd;
	int tried = h->fh_sock.cs_tried;

	h->fh_sock.cs_policy = &gw->gw_opts.policy;
	h->fh_sock.cs_fixed = gw->gw_origin;
	fd = curlshare_open_socket(&h->fh_sock, purpose, a);
	if (h->fh_res != NULL)
		h->fh_res->fr_policy = curlshare_refusal(&h->fh_sock);
	if (h->fh_sock.cs_tried != tried)
		h->fh_lastfd = fd;
	return fd;
}

/*
 * Closes a socket for libcurl, forgetting it as the data socket: its
 * number may soon be another thread's.  Returns 0 or 1.
 */
static int
on_close(void *arg, curl_socket_t fd)
{
	struct ftp_handle *h = arg;

	if (h->fh_lastfd == fd)
		h->fh_lastfd = -1;
	return close(fd) == 0 ? 0 : 1;
}

/* Sets the options every operation shares; returns 0 or -1. */
static int
setup(struct ftp_handle *h, const struct ftp_loc *loc, const char *path,
    int slash, struct ftp_result *res)
{
	CURL *c = h->fh_curl;
	char url[3 * FTP_PATH_MAX + NET_HOSTLEN + 32];
	long idle = gw->gw_opts.idle_timeout;

	memset(res, 0, sizeof(*res));
	h->fh_res = res;
	h->fh_sink = NULL;
	h->fh_source = NULL;
	h->fh_sink_failed = 0;
	h->fh_lastfd = -1;	/* a reused control connection is not it */
	curlshare_sock_reset(&h->fh_sock);
	h->fh_plain = !loc->fl_tls && !gw->gw_ftp_ssl;
	h->fh_ctlport = loc->fl_port;
	snprintf(h->fh_host, sizeof(h->fh_host), "%s", loc->fl_host);
	h->fh_sizing = SIZE_CURL;
	h->fh_size = -1;
	h->fh_exists = 0;
	h->fh_refusal[0] = '\0';
	if (target_url(loc, path, slash, url, sizeof(url)) == -1) {
		res->fr_status = HTTP_URI_TOO_LONG;
		snprintf(res->fr_detail, sizeof(res->fr_detail),
		    "path too long");
		return -1;
	}
	curlpool_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "ftp,ftps");
	/* Never a proxy from the environment (ftp_proxy, all_proxy). */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (loc->fl_has_user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, loc->fl_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, loc->fl_pass);
	}
	curl_easy_setopt(c, CURLOPT_FTP_SKIP_PASV_IP, 1L);
	curl_easy_setopt(c, CURLOPT_FTP_USE_EPSV, 1L);
	curl_easy_setopt(c, CURLOPT_FTP_FILEMETHOD,
	    (long)CURLFTPMETHOD_SINGLECWD);
	curlshare_set_limits(c, (long)gw->gw_opts.connect_timeout, idle,
	    (long)FTP_BUFSIZE);
	curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, idle);
	curlshare_set_io(c, on_header, on_write, NULL, h);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, h);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, on_close);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, h);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (gw->gw_ftp_ssl)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (gw->gw_cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, gw->gw_cacert);
	if (log_verbosity() > LOG_DEBUG)
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	return 0;
}

/*
 * Runs the transfer; returns 0, or -1 with res mapped to a status.
 * libcurl answers a refused RETR after REST with ABOR and QUIT: the
 * refusal, not their 225, 226 or 221, is what the server said.
 */
static int
perform(struct ftp_handle *h, struct ftp_result *res)
{
	res->fr_curl = curl_easy_perform(h->fh_curl);
	curl_easy_getinfo(h->fh_curl, CURLINFO_RESPONSE_CODE, &res->fr_code);
	if (res->fr_curl == CURLE_OK)
		return 0;
	if ((res->fr_code == 221 || res->fr_code == 225 ||
	    res->fr_code == 226) && h->fh_refusal[0] != '\0') {
		res->fr_code = strtol(h->fh_refusal, NULL, 10);
		snprintf(res->fr_reply, sizeof(res->fr_reply), "%s",
		    h->fh_refusal);
	}
	map_result(h, res);
	return -1;
}

/* Returns the port a TCP socket is connected to, or 0. */
static unsigned
peer_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/*
 * Returns 1 if the running libcurl is one whose reads ftp_data_socket()
 * was checked against, in its source: from recv() on the data socket
 * to the write callback no byte is held back, and the progress callback
 * comes only between two such reads, so a splice then skips nothing.
 * In 8.14.1, Curl_sendrecv() runs sendrecv_dl() (each cf_socket_recv()
 * into the transfer's buffer, all of it through Curl_xfer_write_resp()
 * and the client writers, which keep bytes only while paused, and we
 * never pause; ftp-lineconv holds a CR only in TYPE A, never asked for
 * as target_url() encodes ';') before Curl_pgrsUpdate().  Earlier 8.x
 * had a receive buffer in cf-socket, a later one may have another:
 * there the whole file goes through the sink, slower but whole.
 */
static int
curl_reads_through(void)
{
	static const unsigned verified[] = {
		0x075801,	/* 7.88.1, Debian 12 */
		0x080e01,	/* 8.14.1, Debian 12 backports and Debian 13 */
	};
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	size_t i;

	for (i = 0; i < sizeof(verified) / sizeof(verified[0]); i++)
		if (v->version_num == verified[i])
			return 1;
	return 0;
}

/*
 * Returns the socket of the RETR's data connection, for a sink to move
 * the rest of the file itself when libcurl flushes between two reads
 * (all it read is handed over by then, and it reads no more while the
 * sink runs); -1 if it is under TLS, closed, or cannot be told for sure.
 * Only a sink called by ftp_get may ask.  Body bytes come on the data
 * connection, the last socket libcurl opened: a control connection opens
 * before it, a reused one not at all.
 */
int
ftp_data_socket(struct ftp_handle *h)
{
	unsigned port;

	if (!h->fh_plain || h->fh_lastfd < 0 || !may_splice)
		return -1;
	/* the control connection's port would mean a wrong guess */
	port = peer_port(h->fh_lastfd);
	if (port == 0 || port == h->fh_ctlport)
		return -1;
	return h->fh_lastfd;
}

/* Returns 1 if an FTP reply says permission rather than absence. */
static int
permission_words(const char *s)
{
	static const char *words[] = { "permission", "denied", "privilege",
	    "not allowed", "not permitted", "may not", "forbidden", "access",
	    NULL };
	int i;

	for (i = 0; words[i] != NULL; i++)
		if (strcasestr(s, words[i]) != NULL)
			return 1;
	return 0;
}

/*
 * Turns a failed transfer into the HTTP status, reason and error type.
 * A 553 refuses the name itself (403).  A 550 is absence (404) unless its
 * wording says permission, or it refused the RETR of a file whose size
 * was just answered: the file is there and the server will not send it,
 * which vsftpd words only as "Failed to open file".
 */
static void
map_result(struct ftp_handle *h, struct ftp_result *res)
{
	const char *why = curl_easy_strerror(res->fr_curl);
	char refusal[NET_HOSTLEN + 64], port[NET_PORTLEN];
	int st = HTTP_BAD_GATEWAY;
	enum proxy_error pe = PE_DESTINATION_UNAVAILABLE;

	if (h->fh_sink_failed) {
		st = CLIENT_GONE;
		pe = PE_NONE;
		why = "the client went away";
	} else if (res->fr_policy != PE_NONE) {
		st = HTTP_FORBIDDEN;
		pe = res->fr_policy;
		snprintf(port, sizeof(port), "%u", h->fh_ctlport);
		why = policy_dest_refusal(refusal, sizeof(refusal),
		    pe == PE_PROXY_LOOP_DETECTED ? NET_LOOP : NET_POLICY,
		    h->fh_host, port);
	} else if (res->fr_code == 421) {
		st = HTTP_SERVICE_UNAVAILABLE;
		pe = PE_DESTINATION_UNAVAILABLE;
		why = "FTP server busy (421)";
	} else if (res->fr_code == 530 ||
	    res->fr_curl == CURLE_LOGIN_DENIED) {
		st = HTTP_UNAUTHORIZED;
		pe = PE_HTTP_REQUEST_DENIED;
		why = "FTP login refused (530)";
	} else if (res->fr_code == 553) {
		/* RFC 959: "File name not allowed" (pure-ftpd: a backslash). */
		st = HTTP_FORBIDDEN;
		pe = PE_HTTP_REQUEST_DENIED;
		why = "the FTP server does not allow this file name (553)";
	} else if (res->fr_code == 550 ||
	    res->fr_curl == CURLE_REMOTE_FILE_NOT_FOUND ||
	    res->fr_curl == CURLE_REMOTE_ACCESS_DENIED) {
		if (permission_words(res->fr_reply) ||
		    (h->fh_exists && res->fr_code == 550)) {
			st = HTTP_FORBIDDEN;
			pe = PE_HTTP_REQUEST_DENIED;
			why = "FTP server denied access";
		} else {
			st = HTTP_NOT_FOUND;
			pe = PE_DESTINATION_NOT_FOUND;
			why = "no such file or directory on the FTP server";
		}
	} else {
		switch (res->fr_curl) {
		case CURLE_COULDNT_RESOLVE_HOST:
			pe = PE_DNS_ERROR;
			break;
		case CURLE_COULDNT_CONNECT:
			pe = PE_CONNECTION_REFUSED;
			break;
		case CURLE_OPERATION_TIMEDOUT:
			st = HTTP_GATEWAY_TIMEOUT;
			pe = res->fr_code == 0 ? PE_CONNECTION_TIMEOUT :
			    PE_CONNECTION_READ_TIMEOUT;
			break;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
			pe = PE_TLS_CERTIFICATE_ERROR;
			break;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_USE_SSL_FAILED:
			pe = PE_TLS_PROTOCOL_ERROR;
			break;
		case CURLE_GOT_NOTHING:
		case CURLE_RECV_ERROR:
		case CURLE_PARTIAL_FILE:
		case CURLE_SEND_ERROR:
			pe = PE_CONNECTION_TERMINATED;
			break;
		default:
			pe = PE_DESTINATION_UNAVAILABLE;
			break;
		}
	}
	res->fr_status = st;
	res->fr_error = pe;
	if (res->fr_code != 0 && res->fr_reply[0] != '\0')
		snprintf(res->fr_detail, sizeof(res->fr_detail), "%s: %s",
		    why, res->fr_reply);
	else
		snprintf(res->fr_detail, sizeof(res->fr_detail), "%s", why);
}

/* SIZE and MDTM of a file, no RETR; returns 0 or -1 (res mapped). */
int
ftp_stat(struct ftp_handle *h, const struct ftp_loc *loc, struct ftp_stat *st,
    struct ftp_result *res)
{
	if (setup(h, loc, loc->fl_path, 0, res) == -1)
		return -1;
	curl_easy_setopt(h->fh_curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(h->fh_curl, CURLOPT_FILETIME, 1L);
	if (perform(h, res) == -1)
		return -1;
	ftp_info(h, st);
	return 0;
}

/* What SIZE and MDTM said in the last (or current) transfer. */
void
ftp_info(struct ftp_handle *h, struct ftp_stat *st)
{
	curl_off_t len = -1, t = -1;

	if (h->fh_sizing == SIZE_CURL)
		curl_easy_getinfo(h->fh_curl,
		    CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
	else
		len = h->fh_size;
	curl_easy_getinfo(h->fh_curl, CURLINFO_FILETIME_T, &t);
	st->fs_size = len;
	st->fs_mtime = t;
}

/*
 * Writes the FTP server's ADDR:PORT (IPv6 in brackets) the handle's
 * control connection went to into out, or "" when it has none.
 */
void
ftp_upstream(struct ftp_handle *h, char *out, size_t len)
{
	char *ip = NULL;
	long port = 0;

	out[0] = '\0';
	if (curl_easy_getinfo(h->fh_curl, CURLINFO_PRIMARY_IP, &ip) !=
	    CURLE_OK || ip == NULL || *ip == '\0' ||
	    curl_easy_getinfo(h->fh_curl, CURLINFO_PRIMARY_PORT, &port) !=
	    CURLE_OK || port <= 0)
		return;
	snprintf(out, len, strchr(ip, ':') != NULL ? "[%s]:%ld" : "%s:%ld",
	    ip, port);
}

/* Returns 1 if loc's path is a directory (CWD works), else 0. */
int
ftp_is_dir(struct ftp_handle *h, const struct ftp_loc *loc,
    struct ftp_result *res)
{
	if (setup(h, loc, loc->fl_path, 1, res) == -1)
		return 0;
	curl_easy_setopt(h->fh_curl, CURLOPT_NOBODY, 1L);
	return perform(h, res) == 0;
}

/*
 * RETR of a file (bytes from..to when from >= 0), each piece to sink;
 * returns 0, or -1 with res mapped.
 *
 * A whole file is read to the end of its data connection, not to the
 * size libcurl learnt: a sink may take the rest of it from the data
 * socket (ftp_data_socket), and libcurl, short of those bytes, would
 * call the transfer partial and drop the control connection.  So we
 * send the SIZE ourselves, where libcurl would (just before RETR, the
 * "*" letting it fail), and read its reply in on_header.
 */
int
ftp_get(struct ftp_handle *h, const struct ftp_loc *loc, int64_t from,
    int64_t to, ftp_sink sink, void *arg, struct ftp_result *res)
{
	struct curl_slist *cmds = NULL;
	char range[64], cmd[FTP_PATH_MAX + 8];
	const char *name;
	int r;

	if (setup(h, loc, loc->fl_path, 0, res) == -1)
		return -1;
	h->fh_sink = sink;
	h->fh_arg = arg;
	curl_easy_setopt(h->fh_curl, CURLOPT_FILETIME, 1L);
	if (from >= 0) {
		snprintf(range, sizeof(range), "%lld-%lld", (long long)from,
		    (long long)to);
		curl_easy_setopt(h->fh_curl, CURLOPT_RANGE, range);
		/* a range is only asked of a file whose SIZE serve_file had */
		h->fh_exists = 1;
	} else {
		/* RETR runs in the file's directory: SIZE names it alike */
		name = strrchr(loc->fl_path, '/');
		name = name != NULL ? name + 1 : loc->fl_path;
		snprintf(cmd, sizeof(cmd), "*SIZE %s", name);
		if ((cmds = curl_slist_append(NULL, cmd)) == NULL) {
			res->fr_status = HTTP_INTERNAL_SERVER_ERROR;
			snprintf(res->fr_detail, sizeof(res->fr_detail),
			    "out of memory");
			return -1;
		}
		curl_easy_setopt(h->fh_curl, CURLOPT_PREQUOTE, cmds);
		curl_easy_setopt(h->fh_curl, CURLOPT_IGNORE_CONTENT_LENGTH, 1L);
		h->fh_sizing = SIZE_ASKED;
	}
	r = perform(h, res);
	curl_slist_free_all(cmds);
	return r;
}

/*
 * A directory listing, MLSD when the server has it (*mlsd says which one
 * came), LIST otherwise; returns 0, or -1 with res mapped.
 */
int
ftp_list(struct ftp_handle *h, const struct ftp_loc *loc, int *mlsd,
    ftp_sink sink, void *arg, struct ftp_result *res)
{
	int i;

	for (i = h->fh_no_mlsd; i < 2; i++) {
		if (setup(h, loc, loc->fl_path, 1, res) == -1)
			return -1;
		h->fh_sink = sink;
		h->fh_arg = arg;
		if (i == 0)
			curl_easy_setopt(h->fh_curl, CURLOPT_CUSTOMREQUEST,
			    "MLSD");
		*mlsd = i == 0;
		if (perform(h, res) == 0)
			return 0;
		if (i == 0 && (res->fr_code == 500 || res->fr_code == 501 ||
		    res->fr_code == 502 || res->fr_code == 504))
			h->fh_no_mlsd = 1;
		else
			return -1;
	}
	return -1;
}

/* STOR from source; returns 0, or -1 with res mapped. */
int
ftp_put(struct ftp_handle *h, const struct ftp_loc *loc, int64_t size,
    ftp_source source, void *arg, struct ftp_result *res)
{
	if (setup(h, loc, loc->fl_path, 0, res) == -1)
		return -1;
	h->fh_source = source;
	h->fh_arg = arg;
	curl_easy_setopt(h->fh_curl, CURLOPT_UPLOAD, 1L);
	curlshare_set_io(h->fh_curl, on_header, on_write, on_read, h);
	if (size >= 0)
		curl_easy_setopt(h->fh_curl, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)size);
	return perform(h, res);
}

/*
 * DELE of a file, sent after the CWD into its directory (a quote sent
 * before would run in whatever directory a reused connection was left
 * in); returns 0, or -1 with res mapped.
 */
int
ftp_delete(struct ftp_handle *h, const struct ftp_loc *loc,
    struct ftp_result *res)
{
	struct ftp_loc dir;
	struct curl_slist *cmds;
	char cmd[FTP_PATH_MAX + 8], *slash;
	const char *name;
	int r;

	dir = *loc;
	if ((slash = strrchr(dir.fl_path, '/')) != NULL) {
		*slash = '\0';
		name = loc->fl_path + (slash - dir.fl_path) + 1;
	} else {
		dir.fl_path[0] = '\0';
		name = loc->fl_path;
	}
	snprintf(cmd, sizeof(cmd), "DELE %s", name);
	if (setup(h, &dir, dir.fl_path, 1, res) == -1)
		return -1;
	if ((cmds = curl_slist_append(NULL, cmd)) == NULL) {
		res->fr_status = HTTP_INTERNAL_SERVER_ERROR;
		snprintf(res->fr_detail, sizeof(res->fr_detail),
		    "out of memory");
		return -1;
	}
	curl_easy_setopt(h->fh_curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(h->fh_curl, CURLOPT_POSTQUOTE, cmds);
	r = perform(h, res);
	curl_slist_free_all(cmds);
	return r;
}
