/*
 * env.c - the meta-variables of RFC 3875 section 4.1 for one run.
 *
 * The environment is built from nothing: the daemon's own variables never
 * reach a program, except HTTPS and SSL_* when cgid itself runs behind a
 * TLS front that set them (tlsstripd -- cgid ...).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cgid.h"
#include "http.h"
#include "serve.h"

struct envb {
	char	**eb_vec;
	int	  eb_n, eb_max;
	char	 *eb_buf;
	size_t	  eb_used, eb_len;
	int	  eb_full;
};

static void	 add(struct envb *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	 is_hidden(const char *);
static void	 add_fields(struct envb *, const struct http_head *,
		    const char *);
static void	 server_name(const struct exchange *, const char *, char *,
		    size_t);

/* Appends one "NAME=value" formatted string, or marks the block full. */
static void
add(struct envb *eb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (eb->eb_full || eb->eb_n == eb->eb_max) {
		eb->eb_full = 1;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(eb->eb_buf + eb->eb_used, eb->eb_len - eb->eb_used, fmt,
	    ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= eb->eb_len - eb->eb_used) {
		eb->eb_full = 1;
		return;
	}
	eb->eb_vec[eb->eb_n++] = eb->eb_buf + eb->eb_used;
	eb->eb_used += n + 1;
}

/*
 * Returns 1 for request fields that never become HTTP_* variables:
 * credentials, what CONTENT_* already carry, framing cgid removed,
 * "Proxy" (HTTP_PROXY would be taken for a proxy setting: httpoxy), and
 * names with anything but letters, digits and "-": "_" would collide with
 * the "-" spelling, and the rest make no shell variable.
 */
static int
is_hidden(const char *name)
{
	static const char *hidden[] = {
		"Authorization", "Proxy-Authorization", "Proxy",
		"Content-Length", "Content-Type", "Transfer-Encoding", NULL
	};
	int i;

	if (name[strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-")] != '\0')
		return 1;
	for (i = 0; hidden[i] != NULL; i++)
		if (strcasecmp(name, hidden[i]) == 0)
			return 1;
	return 0;
}

/*
 * Adds HTTP_* for each field, repeated fields joined in one variable.
 * HTTP_HOST is the request's host (host, which an absolute-form target
 * names whatever Host says), so that it and SERVER_NAME agree.
 */
static void
add_fields(struct envb *eb, const struct http_head *hd, const char *host)
{
	char name[128], *p, *start;
	const char *sep;
	int i, j, n;
	size_t k, room;

	if (host != NULL)
		add(eb, "HTTP_HOST=%s", host);
	for (i = 0; i < hd->hd_nfields; i++) {
		if (is_hidden(hd->hd_fields[i].name) ||
		    strcasecmp(hd->hd_fields[i].name, "Host") == 0)
			continue;
		for (j = 0; j < i; j++)
			if (strcasecmp(hd->hd_fields[j].name,
			    hd->hd_fields[i].name) == 0)
				break;
		if (j < i)
			continue;	/* already joined into the first */
		n = snprintf(name, sizeof(name), "HTTP_%s",
		    hd->hd_fields[i].name);
		if (n < 0 || (size_t)n >= sizeof(name))
			continue;
		for (p = name; *p != '\0'; p++)
			*p = *p == '-' ? '_' : toupper((unsigned char)*p);
		start = eb->eb_buf + eb->eb_used;
		add(eb, "%s=%s", name, hd->hd_fields[i].value);
		if (eb->eb_full)
			return;
		sep = strcasecmp(hd->hd_fields[i].name, "Cookie") == 0 ?
		    "; " : ", ";
		for (j = i + 1; j < hd->hd_nfields; j++) {
			if (strcasecmp(hd->hd_fields[j].name,
			    hd->hd_fields[i].name) != 0)
				continue;
			/* Grow the string just added: it is the last one. */
			k = strlen(start);
			room = eb->eb_len - (start - eb->eb_buf) - k;
			n = snprintf(start + k, room, "%s%s", sep,
			    hd->hd_fields[j].value);
			if (n < 0 || (size_t)n >= room) {
				eb->eb_full = 1;
				return;
			}
			eb->eb_used += n;
		}
	}
}

/*
 * Writes SERVER_NAME: the name of the request's host (RFC 9112 3.2.2:
 * an absolute-form target's authority, else Host) if it is sane, else
 * our IP.
 */
static void
server_name(const struct exchange *x, const char *host, char *out,
    size_t outlen)
{
	size_t n;

	if (host != NULL && host[0] == '[')
		n = strcspn(host, "]") + 1;
	else
		n = host != NULL ? strcspn(host, ":") : 0;
	if (host != NULL && n > 0 && n < outlen && strspn(host,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-[]:") >= n) {
		memcpy(out, host, n);
		out[n] = '\0';
	} else if (strcmp(x->x_conn->c_local_ip, "-") != 0)
		(void)snprintf(out, outlen, "%s", x->x_conn->c_local_ip);
	else
		(void)snprintf(out, outlen, "localhost");
}

char **
env_build(const struct exchange *x, char *buf, size_t buflen, char **vec,
    int nvec)
{
	const struct cgid_conf *cf = x->x_cf;
	const struct conn *c = x->x_conn;
	const struct script *sc = &x->x_sc;
	struct envb eb;
	char name[NET_HOSTLEN], hbuf[HTTP_LINE_MAX];
	const char *ctype, *host;
	int i;

	memset(&eb, 0, sizeof(eb));
	eb.eb_vec = vec;
	eb.eb_max = nvec - 1;
	eb.eb_buf = buf;
	eb.eb_len = buflen;
	host = http_request_host(&x->x_hd, hbuf, sizeof(hbuf));
	server_name(x, host, name, sizeof(name));
	add(&eb, "GATEWAY_INTERFACE=CGI/1.1");
	add(&eb, "SERVER_SOFTWARE=gtr-cgid/%s", GTR_VERSION);
	add(&eb, "SERVER_PROTOCOL=HTTP/1.%d", x->x_hd.hd_version == 10 ? 0 : 1);
	add(&eb, "SERVER_NAME=%s", name);
	add(&eb, "SERVER_PORT=%s", strcmp(c->c_local_port, "-") != 0 ?
	    c->c_local_port : "80");
	add(&eb, "REQUEST_METHOD=%s", x->x_method);
	add(&eb, "REQUEST_URI=%s", x->x_target);
	add(&eb, "SCRIPT_NAME=%s", sc->sc_name);
	add(&eb, "SCRIPT_FILENAME=%s", sc->sc_file);
	if (sc->sc_path_info[0] != '\0') {
		add(&eb, "PATH_INFO=%s", sc->sc_path_info);
		if (cf->cf_root[0] != '\0')
			add(&eb, "PATH_TRANSLATED=%s%s", cf->cf_root,
			    sc->sc_path_info);
	}
	add(&eb, "QUERY_STRING=%s", sc->sc_query);
	if (strcmp(c->c_peer_ip, "-") != 0) {
		add(&eb, "REMOTE_ADDR=%s", c->c_peer_ip);
		add(&eb, "REMOTE_PORT=%s", c->c_peer_port);
	}
	if (x->x_has_body) {
		add(&eb, "CONTENT_LENGTH=%llu",
		    (unsigned long long)x->x_length);
		if ((ctype = http_get(&x->x_hd, "Content-Type")) != NULL)
			add(&eb, "CONTENT_TYPE=%s", ctype);
	}
	if (x->x_user[0] != '\0') {
		add(&eb, "AUTH_TYPE=Basic");
		add(&eb, "REMOTE_USER=%s", x->x_user);
	}
	add(&eb, "REDIRECT_STATUS=200");
	add(&eb, "PATH=%s", cf->cf_path);
	for (i = 0; i < cf->cf_npass; i++)
		add(&eb, "%s", cf->cf_pass[i]);
	add_fields(&eb, &x->x_hd, host);
	if (eb.eb_full)
		return NULL;
	vec[eb.eb_n] = NULL;
	return vec;
}
