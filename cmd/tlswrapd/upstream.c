/*
 * upstream.c - HTTPS through libcurl's multi interface.
 *
 * Each session has one easy handle, set up once with everything that
 * does not change between its exchanges; an exchange sets only the URL,
 * the fields and the method, and joins the loop's multi handle.  The
 * multi handle keeps the upstream connections (HTTP/2 streams of many
 * sessions share one), and a share handle keeps TLS sessions across
 * handles so a new connection resumes.  Every handle of the process has
 * the same TLS settings (--cacert, --client-cert, --insecure), so
 * libcurl's own matching of connections by origin is enough.  Bodies
 * stream: libcurl pulls the request body from the client as it sends,
 * and pauses while there is nothing; each piece of the response goes to
 * the client, and libcurl pauses while the client has not taken the
 * last one.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509_vfy.h>

#include "tlswrapd.h"
#include "log.h"

#define CURL_BUFSIZE	(256 * 1024)
#define UPLOAD_BUFSIZE	(256 * 1024)
/* idle upstream connections are closed well before common origins do */
#define CONN_MAXAGE_S	60

static const struct gateway *gwp;
static CURLSH *share;
static char *ca_file, *ca_dir;	/* SSL_CERT_FILE, SSL_CERT_DIR */

static CURL	*easy_new(struct session *);
static size_t	on_header(char *, size_t, size_t, void *);
static size_t	on_write(char *, size_t, size_t, void *);
static size_t	on_read(char *, size_t, size_t, void *);
static const char *verify_reason(struct session *);
static void	url_authority(const char *, char *, char *);
static char	*env_path(const char *);

/* Sets libcurl up once, before any thread; returns 0 or -1. */
int
upstream_init(const struct gateway *g)
{
	static const curl_lock_data ssl = CURL_LOCK_DATA_SSL_SESSION;

	gwp = g;
	ca_file = env_path("SSL_CERT_FILE");
	ca_dir = env_path("SSL_CERT_DIR");
	/* the loops' threads share TLS sessions; each caches its own DNS */
	if ((share = curlshare_init(&ssl, 1)) == NULL)
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

/*
 * Returns a handle with the options every exchange of the session
 * shares, or NULL when out of memory.
 */
static CURL *
easy_new(struct session *s)
{
	const struct gtr_opts *o = &gwp->gw_opts;
	CURL *c;

	if ((c = curl_easy_init()) == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_SHARE, share);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)s);
	curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, (long)CONN_MAXAGE_S);

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
	curlshare_set_limits(c, (long)o->connect_timeout,
	    (long)o->idle_timeout, (long)CURL_BUFSIZE);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, (long)UPLOAD_BUFSIZE);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->s_err);
	curlshare_set_io(c, on_header, on_write, on_read, s);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, curlshare_open_socket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &s->s_sock);
	if (log_verbosity() > LOG_DEBUG)
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	return c;
}

/* Takes the transfer out of the multi handle, if it is in. */
void
upstream_stop(struct session *s)
{
	long ver = 0, port = 0;
	char *ip = NULL;

	if (!s->s_in_multi)
		return;
	s->s_in_multi = 0;
	curl_multi_remove_handle(loop_multi(s), s->s_curl);
	/* the address connected to, for the access line's upstream= */
	if (curl_easy_getinfo(s->s_curl, CURLINFO_PRIMARY_IP, &ip) ==
	    CURLE_OK && ip != NULL && ip[0] != '\0' &&
	    curl_easy_getinfo(s->s_curl, CURLINFO_PRIMARY_PORT, &port) ==
	    CURLE_OK && port > 0)
		snprintf(s->s_upstream, sizeof(s->s_upstream),
		    strchr(ip, ':') != NULL ? "[%s]:%ld" : "%s:%ld", ip, port);
	curl_easy_getinfo(s->s_curl, CURLINFO_HTTP_VERSION, &ver);
	s->s_proto = ver == CURL_HTTP_VERSION_2_0 ? "h2" :
	    ver == CURL_HTTP_VERSION_1_0 ? "http/1.0" :
	    ver == CURL_HTTP_VERSION_3 ? "h3" : ver ? "http/1.1" : "-";
}

/*
 * Lets libcurl go on after the client sent more body or took what was
 * held; ends the exchange if libcurl fails at it.
 */
void
upstream_unpause(struct session *s)
{
	CURLcode rc;

	rc = curl_easy_pause(s->s_curl,
	    (s->s_write_paused ? CURLPAUSE_RECV : 0) |
	    (s->s_read_paused ? CURLPAUSE_SEND : 0));
	if (rc != CURLE_OK && s->s_in_multi)
		session_done(s, rc);
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
	char out[HTTP_HEAD_MAX + 512];
	size_t len = size * n;
	int r, k;

	if ((r = response_line(s, buf, len)) == -1)
		return 0;
	if (r == 0)
		return len;
	if ((k = response_head(s, out, sizeof(out))) < 0)
		return 0;
	if (out_hold(s, out, k) == -1) {
		s->s_fail = "out of memory";
		return 0;
	}
	s->s_status = s->s_rh.hd_status;
	s->s_head_sent = 1;
	return len;
}

/*
 * Response body bytes, to the client (after the head) with the others of
 * this loop round (out_batch()); libcurl keeps them while the client has
 * not taken the last ones.
 */
static size_t
on_write(char *buf, size_t size, size_t n, void *arg)
{
	struct session *s = arg;
	struct iovec iov[3];
	size_t len = size * n;
	char hex[24];
	int k = 0;

	if (!s->s_head_sent) {
		s->s_fail = "body before the response head";
		return 0;
	}
	if (s->s_no_body || len == 0)
		return len;
	if (s->s_blocked) {
		s->s_write_paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	s->s_body_started = 1;
	if (s->s_chunked) {
		iov[k].iov_base = hex;
		iov[k++].iov_len = snprintf(hex, sizeof(hex), "%zx\r\n", len);
	}
	iov[k].iov_base = buf;
	iov[k++].iov_len = len;
	if (s->s_chunked) {
		iov[k].iov_base = "\r\n";
		iov[k++].iov_len = 2;
	}
	if (out_batch(s, iov, k) == -1) {
		s->s_write_failed = 1;
		return 0;
	}
	s->s_body_out += len;
	return len;
}

/*
 * Request body bytes, pulled from what the client sent; libcurl pauses
 * when there are none yet.
 */
static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct session *s = arg;
	struct iovec iov;
	ssize_t r;
	int st = 0;

	if (s->s_hd.hd_expect_continue && !s->s_continued &&
	    !s->s_head_sent) {
		s->s_continued = 1;
		iov.iov_base = (void *)cont;
		iov.iov_len = sizeof(cont) - 1;
		if (out_writev(s, &iov, 1) == -1) {
			s->s_write_failed = 1;
			return CURL_READFUNC_ABORT;
		}
	}
	for (;;) {
		/*
		 * s_in's fd never has bytes (session_init()): with a deadline
		 * already past, 408 says s_in's buffer is used up.
		 */
		r = http_read_body(&s->s_in, &s->s_body, buf, size * n, 1,
		    &st);
		if (r >= 0 || st != HTTP_REQUEST_TIMEOUT || s->s_in_eof)
			break;
		if (session_fill(s) == 0) {
			s->s_read_paused = 1;
			s->s_deadline = idle_deadline();
			return CURL_READFUNC_PAUSE;
		}
	}
	if (r < 0) {
		s->s_body_status = HTTP_BAD_REQUEST;
		return CURL_READFUNC_ABORT;
	}
	if (r == 0)
		s->s_body_eof = 1;
	return (size_t)r;
}

/*
 * Starts the exchange in s (URL, fields and request head set) in the
 * multi handle; returns 0, or -1 when out of memory.
 */
int
upstream_start(struct session *s)
{
	const struct http_head *hd = &s->s_hd;
	const char *m = hd->hd_method;
	CURL *c;
	int body = hd->hd_framing != HTTP_BODY_NONE;

	if (s->s_curl == NULL && (s->s_curl = easy_new(s)) == NULL)
		return -1;
	c = s->s_curl;
	curl_easy_setopt(c, CURLOPT_URL, s->s_url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->s_fields);
	/* every method option is set again: the last exchange's stay */
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		    hd->hd_framing == HTTP_BODY_LENGTH ?
		    (curl_off_t)hd->hd_length : (curl_off_t)-1);
	} else if (strcmp(m, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
	    body || (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) ?
	    m : NULL);
	if (curl_multi_add_handle(loop_multi(s), c) != CURLM_OK)
		return -1;
	s->s_in_multi = 1;
	return 0;
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
 * Writes the host and port of the https:// URL target_url() made, for a
 * message; "-" for a URL that does not parse (never one of ours).
 */
static void
url_authority(const char *url, char *host, char *port)
{
	const char *a = strstr(url, "://");

	a = a != NULL ? a + 3 : url;
	if (net_parse_authority(a, strcspn(a, "/?#"), "443", host,
	    port) == -1) {
		strcpy(host, "-");
		strcpy(port, "-");
	}
}

/*
 * Maps a failed transfer that sent nothing to the client yet: returns
 * the status, with the Proxy-Status error in *pe and the reason in
 * detail.
 */
int
upstream_error(struct session *s, CURLcode rc, enum proxy_error *pe,
    char *detail, size_t len)
{
	const char *why = s->s_err[0] ? s->s_err : curl_easy_strerror(rc);
	char host[NET_HOSTLEN], port[NET_PORTLEN];
	curl_off_t t = 0;
	int st = HTTP_BAD_GATEWAY;

	*pe = PE_DESTINATION_UNAVAILABLE;
	if (s->s_fail != NULL) {
		*pe = PE_HTTP_PROTOCOL_ERROR;
		snprintf(detail, len, "%s", s->s_fail);
		return HTTP_BAD_GATEWAY;
	}
	/* refused addresses are skipped: 403 only if all of them were */
	if ((*pe = curlshare_refusal(&s->s_sock)) != PE_NONE) {
		url_authority(s->s_url, host, port);
		(void)policy_dest_refusal(detail, len, *pe ==
		    PE_PROXY_LOOP_DETECTED ? NET_LOOP : NET_POLICY, host, port);
		return HTTP_FORBIDDEN;
	}
	*pe = PE_DESTINATION_UNAVAILABLE;
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		*pe = PE_DNS_ERROR;
		break;
	case CURLE_COULDNT_CONNECT:
		*pe = PE_CONNECTION_REFUSED;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		st = HTTP_GATEWAY_TIMEOUT;
		curl_easy_getinfo(s->s_curl, CURLINFO_APPCONNECT_TIME_T, &t);
		*pe = t == 0 ? PE_CONNECTION_TIMEOUT :
		    PE_CONNECTION_READ_TIMEOUT;
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		*pe = PE_TLS_CERTIFICATE_ERROR;
		snprintf(detail, len, "TLS verification failed: %s (%s)",
		    verify_reason(s), why);
		return st;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
		*pe = PE_TLS_PROTOCOL_ERROR;
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		*pe = PE_CONNECTION_TERMINATED;
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:	/* a bad status line */
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		*pe = PE_HTTP_PROTOCOL_ERROR;
		break;
	default:
		break;
	}
	snprintf(detail, len, "%s", why);
	return st;
}
