/*
 * upstream.c - HTTPS through libcurl.
 *
 * Each exchange takes an easy handle from a curlpool keyed by the
 * origin's https://host:port and runs its transfer with
 * curl_easy_perform() in the client connection's thread, then gives the
 * handle back.  The handle keeps its upstream connection, so the next
 * exchange with that origin, from this client or another, reuses it
 * without sharing a connection cache between threads (libcurl does not
 * support that).  TLS sessions and DNS answers are shared between
 * handles.  Every handle of the process has the same TLS settings
 * (--cacert, --client-cert, --insecure), so the origin alone is the key.
 * Bodies stream: libcurl pulls the request body from the client as it
 * sends, and each piece of the response goes to the client before
 * libcurl reads the next, so memory stays bounded by the buffers,
 * whatever the size.
 */
#include <sys/socket.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509_vfy.h>

#include "curlpool.h"
#include "tlswrapd.h"
#include "log.h"

#define CURL_BUFSIZE	(256 * 1024)
#define UPLOAD_BUFSIZE	(256 * 1024)
/*
 * Idle handles (each with its upstream connection) kept, and for how
 * long: enough for busy clients not to pay a new TLS handshake for most
 * requests, and well under the keep-alive time of common origins.
 */
#define POOL_MAX	128
#define POOL_IDLE_MS	60000

static const struct gateway *gwp;
static struct curlpool *pool;
static char *ca_file, *ca_dir;	/* SSL_CERT_FILE, SSL_CERT_DIR */

static void	pool_key(struct session *);
static void	easy_setup(struct session *, CURL *);
static size_t	on_header(char *, size_t, size_t, void *);
static size_t	on_write(char *, size_t, size_t, void *);
static size_t	on_read(char *, size_t, size_t, void *);
static curl_socket_t on_open(void *, curlsocktype, struct curl_sockaddr *);
static const char *verify_reason(struct session *);
static char	*env_path(const char *);

/* Sets libcurl up once, before any thread; returns 0 or -1. */
int
upstream_init(const struct gateway *g)
{
	gwp = g;
	ca_file = env_path("SSL_CERT_FILE");
	ca_dir = env_path("SSL_CERT_DIR");
	if (curlpool_global_init() == -1)
		return -1;
	if ((pool = curlpool_new(POOL_MAX, POOL_IDLE_MS, NULL)) == NULL)
		return -1;
	return 0;
}

/*
 * Returns a copy of the environment variable name when it is set and not
 * empty, or NULL.  libcurl gives OpenSSL its own built-in CA paths, so
 * the variables OpenSSL's default paths (and curl(1)) honour would
 * otherwise be ignored.
 */
static char *
env_path(const char *name)
{
	const char *v = getenv(name);
	char *p;

	if (v == NULL || *v == '\0')
		return NULL;
	if ((p = strdup(v)) == NULL)
		log_warn("%s ignored", name);
	return p;
}

uint64_t
write_deadline(void)
{
	return now_ms() + gwp->gw_opts.idle_timeout * 1000ULL;
}

/* Sets the options every transfer shares on a handle fresh from the pool. */
static void
easy_setup(struct session *s, CURL *c)
{
	const struct gtr_opts *o = &gwp->gw_opts;

	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, gwp->gw_insecure ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, gwp->gw_insecure ? 0L : 2L);
	if (gwp->gw_cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, gwp->gw_cacert);
	else {
		if (ca_file != NULL)
			curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
		if (ca_dir != NULL)
			curl_easy_setopt(c, CURLOPT_CAPATH, ca_dir);
	}
	/* a gateway goes where its client asks, whatever *_proxy says */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (gwp->gw_cert != NULL) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, gwp->gw_cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, gwp->gw_key != NULL ?
		    gwp->gw_key : gwp->gw_cert);
	}
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	curl_easy_setopt(c, CURLOPT_HTTP_TRANSFER_DECODING, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)o->connect_timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)o->idle_timeout);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)CURL_BUFSIZE);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, (long)UPLOAD_BUFSIZE);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->s_err);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c, CURLOPT_READDATA, s);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, s);
	if (log_verbosity() > LOG_DEBUG)
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
}

/* Keeps the origin of s_url, "https://host:port" in lower case, as key. */
static void
pool_key(struct session *s)
{
	size_t i, n;

	n = 8 + strcspn(s->s_url + 8, "/");
	if (n >= sizeof(s->s_key))
		n = sizeof(s->s_key) - 1;
	for (i = 0; i < n; i++)
		s->s_key[i] = tolower((unsigned char)s->s_url[i]);
	s->s_key[n] = '\0';
}

/* Gives the exchange's handle back to the pool. */
void
upstream_release(struct session *s)
{
	if (s->s_curl != NULL)
		curlpool_put(pool, s->s_key, s->s_curl, NULL);
	s->s_curl = NULL;
}

/*
 * Response head lines.  The complete head is held until the first body
 * bytes so that both leave in one write (a small response is one
 * packet), or until the transfer ends.
 */
static size_t
on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct session *s = arg;
	size_t len = size * n;
	int r, k;

	if ((r = response_line(s, buf, len)) == -1)
		return 0;
	if (r == 0)
		return len;
	if ((k = response_head(s, s->s_out, sizeof(s->s_out) -
	    COALESCE_MAX - 32)) < 0)
		return 0;
	s->s_status = s->s_rh.hd_status;
	s->s_head_sent = 1;
	s->s_outlen = k;
	return len;
}

/* Writes a held response head; returns 0 or -1. */
int
upstream_flush(struct session *s)
{
	size_t n = s->s_outlen;

	s->s_outlen = 0;
	if (n > 0 && http_write_all(s->s_conn->c_wfd, s->s_out, n,
	    write_deadline()) == -1) {
		s->s_write_failed = 1;
		return -1;
	}
	return 0;
}

/* Response body bytes, straight to the client (after the head). */
static size_t
on_write(char *buf, size_t size, size_t n, void *arg)
{
	struct session *s = arg;
	size_t len = size * n, k;
	int r;

	if (!s->s_head_sent) {
		s->s_fail = "body before the response head";
		return 0;
	}
	if (s->s_no_body || len == 0)
		return len;
	if (s->s_outlen > 0 && len <= COALESCE_MAX) {
		k = s->s_outlen;
		if (s->s_chunked)
			k += snprintf(s->s_out + k, 24, "%zx\r\n", len);
		memcpy(s->s_out + k, buf, len);
		k += len;
		if (s->s_chunked) {
			memcpy(s->s_out + k, "\r\n", 2);
			k += 2;
		}
		s->s_outlen = k;
		if (upstream_flush(s) == -1)
			return 0;
		s->s_bytes_out += len;
		return len;
	}
	if (upstream_flush(s) == -1)
		return 0;
	if (s->s_chunked)
		r = http_write_chunk(s->s_conn->c_wfd, buf, len,
		    write_deadline());
	else
		r = http_write_all(s->s_conn->c_wfd, buf, len,
		    write_deadline());
	if (r == -1) {
		s->s_write_failed = 1;
		return 0;
	}
	s->s_bytes_out += len;
	return len;
}

/* Request body bytes, pulled from the client as libcurl sends them. */
static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct session *s = arg;
	ssize_t r;

	if (s->s_hd.hd_expect_continue && !s->s_continued &&
	    !s->s_head_sent) {
		s->s_continued = 1;
		if (http_write_all(s->s_conn->c_wfd,
		    "HTTP/1.1 100 Continue\r\n\r\n", 25,
		    write_deadline()) == -1) {
			s->s_write_failed = 1;
			return CURL_READFUNC_ABORT;
		}
	}
	r = http_read_body(&s->s_in, &s->s_body, buf, size * n,
	    write_deadline(), &s->s_body_status);
	if (r < 0)
		return CURL_READFUNC_ABORT;
	if (r == 0)
		s->s_body_eof = 1;
	s->s_bytes_in += r;
	return (size_t)r;
}

/*
 * Opens a socket for libcurl unless the destination policy refuses the
 * address it is about to connect to; returns the socket or
 * CURL_SOCKET_BAD.
 */
static curl_socket_t
on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct session *s = arg;
	char ip[NET_IPLEN];

	(void)purpose;
	if (!gwp->gw_origin && (!policy_dest_ok(&gwp->gw_opts.policy,
	    &a->addr) || serve_is_own_addr(&a->addr))) {
		net_ntop(&a->addr, ip, NULL);
		log_info("conn=%lu: destination %s refused by policy",
		    s->s_conn->c_id, ip);
		s->s_policy = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/*
 * Runs the exchange in s (URL, fields and request head set) through
 * libcurl; returns its CURLcode.
 */
int
upstream_perform(struct session *s)
{
	const struct http_head *hd = &s->s_hd;
	const char *m = hd->hd_method;
	CURLcode rc;
	long ver = 0;
	void *priv;

	upstream_release(s);
	pool_key(s);
	if ((s->s_curl = curlpool_take(pool, s->s_key, &priv)) == NULL)
		return CURLE_OUT_OF_MEMORY;
	s->s_err[0] = '\0';
	easy_setup(s, s->s_curl);
	curl_easy_setopt(s->s_curl, CURLOPT_URL, s->s_url);
	curl_easy_setopt(s->s_curl, CURLOPT_HTTPHEADER, s->s_reqh);
	if (hd->hd_framing != HTTP_BODY_NONE) {
		curl_easy_setopt(s->s_curl, CURLOPT_UPLOAD, 1L);
		if (hd->hd_framing == HTTP_BODY_LENGTH)
			curl_easy_setopt(s->s_curl, CURLOPT_INFILESIZE_LARGE,
			    (curl_off_t)hd->hd_length);
		curl_easy_setopt(s->s_curl, CURLOPT_CUSTOMREQUEST, m);
	} else if (strcmp(m, "HEAD") == 0)
		curl_easy_setopt(s->s_curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(m, "GET") != 0)
		curl_easy_setopt(s->s_curl, CURLOPT_CUSTOMREQUEST, m);
	rc = curl_easy_perform(s->s_curl);
	curl_easy_getinfo(s->s_curl, CURLINFO_HTTP_VERSION, &ver);
	s->s_proto = ver == CURL_HTTP_VERSION_2_0 ? "h2" :
	    ver == CURL_HTTP_VERSION_1_0 ? "http/1.0" :
	    ver == CURL_HTTP_VERSION_3 ? "h3" : ver ? "http/1.1" : "-";
	return rc;
}

/* Names why the origin's certificate failed: expired, unknown CA, host. */
static const char *
verify_reason(struct session *s)
{
	long v = X509_V_OK;

	/* libcurl checks the name itself, after OpenSSL's verification */
	if (strstr(s->s_err, "host name") != NULL ||
	    strstr(s->s_err, "subject name") != NULL)
		return "certificate is for another host";
	curl_easy_getinfo(s->s_curl, CURLINFO_SSL_VERIFYRESULT, &v);
	switch (v) {
	case X509_V_OK:
		return "certificate rejected";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "certificate expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "certificate not yet valid";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return "certificate signed by an unknown CA";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return "certificate is for another host";
	default:
		return X509_verify_cert_error_string(v);
	}
}

/*
 * Maps a failed transfer that sent nothing to the client yet: returns
 * the status, with the Proxy-Status token in *tok and the reason in
 * detail.
 */
int
upstream_error(struct session *s, CURLcode rc, const char **tok,
    char *detail, size_t len)
{
	const char *why = s->s_err[0] ? s->s_err : curl_easy_strerror(rc);
	curl_off_t t = 0;
	int st = 502;

	*tok = "destination_unavailable";
	if (s->s_fail != NULL) {
		*tok = "http_protocol_error";
		snprintf(detail, len, "%s", s->s_fail);
		return 502;
	}
	if (s->s_policy) {
		*tok = "destination_ip_prohibited";
		snprintf(detail, len, "destination refused by policy");
		return 403;
	}
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		*tok = "dns_error";
		break;
	case CURLE_COULDNT_CONNECT:
		*tok = "connection_refused";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		st = 504;
		curl_easy_getinfo(s->s_curl, CURLINFO_APPCONNECT_TIME_T, &t);
		*tok = t == 0 ? "connection_timeout" :
		    "connection_read_timeout";
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		*tok = "tls_certificate_error";
		snprintf(detail, len, "TLS verification failed: %s (%s)",
		    verify_reason(s), why);
		return st;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
		*tok = "tls_protocol_error";
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		*tok = "connection_terminated";
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:	/* a bad status line */
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		*tok = "http_protocol_error";
		break;
	default:
		break;
	}
	snprintf(detail, len, "%s", why);
	return st;
}
