/*
 * ftp.c - FTP through libcurl, with a pool of easy handles.
 *
 * libcurl keeps an FTP control connection inside the easy handle that
 * opened it.  Sharing one connection cache between threads is not
 * supported by libcurl, so instead idle handles wait in a pool keyed by
 * server and credentials; a request takes a matching one (and with it a
 * logged-in control connection) or makes a new one, and gives it back
 * when it is done.  DNS and TLS sessions are shared through a CURLSH
 * with a lock per kind of data.
 */
#include <sys/socket.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "httpftpd.h"
#include "log.h"

#define POOL_MAX	64	/* idle handles kept */
#define POOL_IDLE_MS	60000	/* idle handles older than this are closed */
#define FTP_BUFSIZE	(512 * 1024)

struct ftp_handle {
	CURL		*fh_curl;
	int		 fh_tls;
	char		 fh_host[NET_HOSTLEN];
	unsigned	 fh_port;
	char		 fh_user[FTP_CRED_MAX];
	char		 fh_pass[FTP_CRED_MAX];
	int		 fh_has_user;
	int		 fh_no_mlsd;	/* the server refused MLSD once */
	uint64_t	 fh_idle_since;
	struct ftp_handle *fh_next;
	/* the operation in progress */
	struct ftp_result *fh_res;
	ftp_sink	 fh_sink;
	ftp_source	 fh_source;
	void		*fh_arg;
	int		 fh_sink_failed;
};

static const struct gateway *gw;
static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ftp_handle *pool;
static int pool_n;

static void	share_lock(CURL *, curl_lock_data, curl_lock_access, void *);
static void	share_unlock(CURL *, curl_lock_data, void *);
static int	same_server(const struct ftp_handle *, const struct ftp_loc *);
static void	handle_free(struct ftp_handle *);
static size_t	on_header(char *, size_t, size_t, void *);
static size_t	on_write(char *, size_t, size_t, void *);
static size_t	on_read(char *, size_t, size_t, void *);
static int	on_progress(void *, curl_off_t, curl_off_t, curl_off_t,
		    curl_off_t);
static curl_socket_t on_open(void *, curlsocktype, struct curl_sockaddr *);
static int	setup(struct ftp_handle *, const struct ftp_loc *,
		    const char *, int, struct ftp_result *);
static int	perform(struct ftp_handle *, struct ftp_result *);
static int	permission_words(const char *);
static void	map_result(struct ftp_handle *, struct ftp_result *);

/* One mutex per kind of shared data, as libcurl asks. */
static void
share_lock(CURL *c, curl_lock_data d, curl_lock_access a, void *u)
{
	(void)c;
	(void)a;
	(void)u;
	pthread_mutex_lock(&share_locks[d]);
}

static void
share_unlock(CURL *c, curl_lock_data d, void *u)
{
	(void)c;
	(void)u;
	pthread_mutex_unlock(&share_locks[d]);
}

/* Sets libcurl up once, before any thread; returns 0 or -1. */
int
ftp_global_init(const struct gateway *g)
{
	int i;

	gw = g;
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		return -1;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_locks[i], NULL);
	if ((share = curl_share_init()) == NULL)
		return -1;
	curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return 0;
}

/* Returns 1 if the handle is logged in to loc's server as loc's user. */
static int
same_server(const struct ftp_handle *h, const struct ftp_loc *loc)
{
	return h->fh_tls == loc->fl_tls && h->fh_port == loc->fl_port &&
	    h->fh_has_user == loc->fl_has_user &&
	    strcasecmp(h->fh_host, loc->fl_host) == 0 &&
	    strcmp(h->fh_user, loc->fl_user) == 0 &&
	    strcmp(h->fh_pass, loc->fl_pass) == 0;
}

static void
handle_free(struct ftp_handle *h)
{
	curl_easy_cleanup(h->fh_curl);
	explicit_bzero(h->fh_pass, sizeof(h->fh_pass));
	free(h);
}

/*
 * Returns an easy handle for loc's server and user: an idle one from the
 * pool when there is one (its control connection is reused), else a new
 * one; NULL when out of memory.
 */
struct ftp_handle *
ftp_acquire(const struct ftp_loc *loc)
{
	struct ftp_handle *h, **hp, *stale = NULL, *next;
	uint64_t now = now_ms();

	pthread_mutex_lock(&pool_lock);
	h = NULL;
	for (hp = &pool; *hp != NULL; ) {
		if (now - (*hp)->fh_idle_since > POOL_IDLE_MS) {
			next = (*hp)->fh_next;
			(*hp)->fh_next = stale;
			stale = *hp;
			*hp = next;
			pool_n--;
			continue;
		}
		if (h == NULL && same_server(*hp, loc)) {
			h = *hp;
			*hp = h->fh_next;
			pool_n--;
			continue;
		}
		hp = &(*hp)->fh_next;
	}
	pthread_mutex_unlock(&pool_lock);
	for (; stale != NULL; stale = next) {
		next = stale->fh_next;
		handle_free(stale);
	}
	if (h != NULL)
		return h;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if ((h->fh_curl = curl_easy_init()) == NULL) {
		free(h);
		return NULL;
	}
	h->fh_tls = loc->fl_tls;
	h->fh_port = loc->fl_port;
	h->fh_has_user = loc->fl_has_user;
	memcpy(h->fh_host, loc->fl_host, sizeof(h->fh_host));
	memcpy(h->fh_user, loc->fl_user, sizeof(h->fh_user));
	memcpy(h->fh_pass, loc->fl_pass, sizeof(h->fh_pass));
	return h;
}

/* Gives a handle back to the pool, or closes it. */
void
ftp_release(struct ftp_handle *h, int reusable)
{
	struct ftp_handle *old = NULL, **hp;

	if (h == NULL)
		return;
	if (!reusable) {
		handle_free(h);
		return;
	}
	h->fh_res = NULL;
	h->fh_idle_since = now_ms();
	pthread_mutex_lock(&pool_lock);
	h->fh_next = pool;
	pool = h;
	if (++pool_n > POOL_MAX) {
		for (hp = &pool; (*hp)->fh_next != NULL; hp = &(*hp)->fh_next)
			;
		old = *hp;
		*hp = NULL;
		pool_n--;
	}
	pthread_mutex_unlock(&pool_lock);
	if (old != NULL)
		handle_free(old);
}

/* Keeps the last FTP reply line: its wording tells 403 from 404. */
static size_t
on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct ftp_handle *h = arg;
	size_t len = size * n, k;

	if (h->fh_res != NULL && len >= 3 && buf[0] >= '1' && buf[0] <= '5' &&
	    buf[1] >= '0' && buf[1] <= '9' && buf[2] >= '0' && buf[2] <= '9') {
		k = len;
		while (k > 0 && (buf[k - 1] == '\r' || buf[k - 1] == '\n'))
			k--;
		if (k >= sizeof(h->fh_res->fr_reply))
			k = sizeof(h->fh_res->fr_reply) - 1;
		memcpy(h->fh_res->fr_reply, buf, k);
		h->fh_res->fr_reply[k] = '\0';
	}
	return len;
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
 * Opens a socket for libcurl unless the destination policy refuses the
 * address libcurl is about to connect to (control and data connections
 * alike); returns the socket or CURL_SOCKET_BAD.
 */
static curl_socket_t
on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct ftp_handle *h = arg;
	char ip[NET_IPLEN];

	(void)purpose;
	if (!gw->gw_origin &&
	    !policy_dest_ok(&gw->gw_opts.policy, &a->addr)) {
		net_ntop(&a->addr, ip, NULL);
		log_info("destination %s refused by policy", ip);
		if (h->fh_res != NULL)
			h->fh_res->fr_policy = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
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
	if (target_url(loc, path, slash, url, sizeof(url)) == -1) {
		res->fr_status = 414;
		snprintf(res->fr_detail, sizeof(res->fr_detail),
		    "path too long");
		return -1;
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "ftp,ftps");
	curl_easy_setopt(c, CURLOPT_SHARE, share);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (loc->fl_has_user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, loc->fl_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, loc->fl_pass);
	}
	curl_easy_setopt(c, CURLOPT_FTP_SKIP_PASV_IP, 1L);
	curl_easy_setopt(c, CURLOPT_FTP_USE_EPSV, 1L);
	curl_easy_setopt(c, CURLOPT_FTP_FILEMETHOD,
	    (long)CURLFTPMETHOD_SINGLECWD);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	    (long)gw->gw_opts.connect_timeout);
	curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, idle);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, idle);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)FTP_BUFSIZE);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, h);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (gw->gw_ftp_ssl)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (gw->gw_cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, gw->gw_cacert);
	if (log_verbosity() > LOG_DEBUG)
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	return 0;
}

/* Runs the transfer; returns 0, or -1 with res mapped to a status. */
static int
perform(struct ftp_handle *h, struct ftp_result *res)
{
	res->fr_curl = curl_easy_perform(h->fh_curl);
	curl_easy_getinfo(h->fh_curl, CURLINFO_RESPONSE_CODE, &res->fr_code);
	if (res->fr_curl == CURLE_OK)
		return 0;
	map_result(h, res);
	return -1;
}

/* Returns 1 if an FTP reply says permission rather than absence. */
static int
permission_words(const char *s)
{
	static const char *words[] = { "permission", "denied", "privilege",
	    "not allowed", "forbidden", "access", NULL };
	int i;

	for (i = 0; words[i] != NULL; i++)
		if (strcasestr(s, words[i]) != NULL)
			return 1;
	return 0;
}

/* Turns a failed transfer into the HTTP status, reason and token. */
static void
map_result(struct ftp_handle *h, struct ftp_result *res)
{
	const char *why = curl_easy_strerror(res->fr_curl);
	int st = 502;
	const char *tok = "destination_unavailable";

	if (h->fh_sink_failed) {
		st = 499;
		tok = NULL;
		why = "the client went away";
	} else if (res->fr_policy) {
		st = 403;
		tok = "destination_ip_prohibited";
		why = "destination refused by policy";
	} else if (res->fr_code == 421) {
		st = 503;
		tok = "destination_unavailable";
		why = "FTP server busy (421)";
	} else if (res->fr_code == 530 ||
	    res->fr_curl == CURLE_LOGIN_DENIED) {
		st = 401;
		tok = "http_request_denied";
		why = "FTP login refused (530)";
	} else if (res->fr_code == 550 || res->fr_code == 553 ||
	    res->fr_curl == CURLE_REMOTE_FILE_NOT_FOUND ||
	    res->fr_curl == CURLE_REMOTE_ACCESS_DENIED) {
		if (permission_words(res->fr_reply)) {
			st = 403;
			tok = "http_request_denied";
			why = "FTP server denied access";
		} else {
			st = 404;
			tok = "destination_not_found";
			why = "no such file or directory on the FTP server";
		}
	} else {
		switch (res->fr_curl) {
		case CURLE_COULDNT_RESOLVE_HOST:
			tok = "dns_error";
			break;
		case CURLE_COULDNT_CONNECT:
			tok = "connection_refused";
			break;
		case CURLE_OPERATION_TIMEDOUT:
			st = 504;
			tok = res->fr_code == 0 ? "connection_timeout" :
			    "connection_read_timeout";
			break;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
			tok = "tls_certificate_error";
			break;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_USE_SSL_FAILED:
			tok = "tls_protocol_error";
			break;
		case CURLE_GOT_NOTHING:
		case CURLE_RECV_ERROR:
		case CURLE_PARTIAL_FILE:
		case CURLE_SEND_ERROR:
			tok = "connection_terminated";
			break;
		default:
			tok = "destination_unavailable";
			break;
		}
	}
	res->fr_status = st;
	res->fr_proxy = tok;
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

	curl_easy_getinfo(h->fh_curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
	curl_easy_getinfo(h->fh_curl, CURLINFO_FILETIME_T, &t);
	st->st_size = len;
	st->st_mtime = t;
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
 */
int
ftp_get(struct ftp_handle *h, const struct ftp_loc *loc, int64_t from,
    int64_t to, ftp_sink sink, void *arg, struct ftp_result *res)
{
	char range[64];

	if (setup(h, loc, loc->fl_path, 0, res) == -1)
		return -1;
	h->fh_sink = sink;
	h->fh_arg = arg;
	curl_easy_setopt(h->fh_curl, CURLOPT_FILETIME, 1L);
	if (from >= 0) {
		snprintf(range, sizeof(range), "%lld-%lld", (long long)from,
		    (long long)to);
		curl_easy_setopt(h->fh_curl, CURLOPT_RANGE, range);
	}
	return perform(h, res);
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
	curl_easy_setopt(h->fh_curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h->fh_curl, CURLOPT_READDATA, h);
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
		res->fr_status = 500;
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
