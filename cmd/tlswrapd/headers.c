/*
 * headers.c - the request target as an https URL, and the heads that go
 * through: hop-by-hop fields (RFC 9110 7.6.1) removed both ways, Via
 * added both ways, the response's framing chosen for the client.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tlswrapd.h"
#include "log.h"

static int	add_field(struct session *, int *, size_t *, const char *,
		    const char *);
static int	rbuf_add(struct session *, const char *, size_t);
static void	add_trailer(struct session *, const char *, size_t);

/*
 * Writes the https URL the request goes to into url: the origin from -c,
 * else from an absolute target or Host.  Returns 0, or -1 with *err set
 * (the request gets 400).
 */
int
target_url(const struct gateway *g, const struct http_head *hd, char *url,
    size_t len, unsigned *port, const char **err)
{
	const char *t = hd->hd_target, *auth = NULL, *path;
	char host[NET_HOSTLEN], pbuf[NET_PORTLEN];
	char hp[NET_HOSTLEN + NET_PORTLEN + 3];
	size_t alen = 0;
	int r;

	*err = "bad request target";
	if (strncasecmp(t, "http://", 7) == 0 ||
	    strncasecmp(t, "https://", 8) == 0) {
		auth = strstr(t, "//") + 2;
		alen = strcspn(auth, "/?#");
		path = auth + alen;
	} else if (t[0] == '/')
		path = t;
	else
		return -1;
	if (strchr(path, '#') != NULL)
		return -1;
	if (g->gw_origin) {
		r = snprintf(url, len, "%s%s%s%s", g->gw_base, g->gw_base_path,
		    path[0] == '?' ? "/" : "", path[0] ? path : "/");
		*port = 0;
		return r < 0 || (size_t)r >= len ? -1 : 0;
	}
	if (auth == NULL) {
		if ((auth = http_get(hd, "Host")) == NULL) {
			*err = "no Host and no absolute target";
			return -1;
		}
		alen = strlen(auth);
	}
	if (memchr(auth, '@', alen) != NULL) {
		*err = "credentials in the target";
		return -1;
	}
	/* the host comes back without brackets: hp has them again */
	if (net_parse_authority(auth, alen, "443", host, pbuf) == -1 ||
	    net_format_authority(hp, sizeof(hp), host, pbuf) == -1) {
		*err = "bad host or port";
		return -1;
	}
	*port = (unsigned)strtoul(pbuf, NULL, 10);
	r = snprintf(url, len, "https://%s%s%s", hp,
	    path[0] == '?' ? "/" : "", path[0] ? path : "/");
	return r < 0 || (size_t)r >= len ? -1 : 0;
}

/*
 * Appends "Name: value" (or "Name;" for an empty value) to the session's
 * field list, without a malloc: libcurl only reads the list.  Returns 0,
 * or -1 when the fields do not fit.
 */
static int
add_field(struct session *s, int *n, size_t *off, const char *name,
    const char *value)
{
	size_t left = sizeof(s->s_fbuf) - *off;
	int r;

	if (*n >= FIELDS_MAX)
		return -1;
	if (value == NULL)
		r = snprintf(s->s_fbuf + *off, left, "%s", name);
	else if (value[0] == '\0')
		r = snprintf(s->s_fbuf + *off, left, "%s;", name);
	else
		r = snprintf(s->s_fbuf + *off, left, "%s: %s", name, value);
	if (r < 0 || (size_t)r >= left)
		return -1;
	s->s_fields[*n].data = s->s_fbuf + *off;
	s->s_fields[*n].next = NULL;
	if (*n > 0)
		s->s_fields[*n - 1].next = &s->s_fields[*n];
	(*n)++;
	*off += r + 1;
	return 0;
}

/*
 * Sets the request fields for libcurl in s_fields: the client's
 * end-to-end ones and our Via; libcurl writes Host and the body's
 * framing itself, and must add neither Expect nor an Accept the client
 * did not send.  Returns 0, or -1 when they do not fit.
 */
int
request_fields(struct session *s)
{
	const struct http_head *hd = &s->s_hd;
	const char *name;
	size_t off = 0;
	int i, n = 0;

	for (i = 0; i < hd->hd_nfields; i++) {
		name = hd->hd_fields[i].name;
		if (http_is_hop_by_hop(hd, name) ||
		    strcasecmp(name, "Host") == 0 ||
		    strcasecmp(name, "Content-Length") == 0 ||
		    strcasecmp(name, "Expect") == 0)
			continue;
		if (add_field(s, &n, &off, name, hd->hd_fields[i].value) == -1)
			return -1;
	}
	if (add_field(s, &n, &off, "Via", VIA) == -1 ||
	    add_field(s, &n, &off, "Expect:", NULL) == -1)
		return -1;
	if (http_get(hd, "Accept") == NULL &&
	    add_field(s, &n, &off, "Accept:", NULL) == -1)
		return -1;
	return 0;
}

/* Adds bytes to the response head being collected; 0 or -1 if too big. */
static int
rbuf_add(struct session *s, const char *p, size_t n)
{
	if (s->s_rlen + n >= sizeof(s->s_rbuf)) {
		s->s_fail = "response head too large";
		return -1;
	}
	memcpy(s->s_rbuf + s->s_rlen, p, n);
	s->s_rlen += n;
	return 0;
}

/* Keeps a trailer field for the last chunk, if it is end-to-end. */
static void
add_trailer(struct session *s, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n);
	char name[64];
	size_t k;

	if (!s->s_chunked || colon == NULL ||
	    (k = colon - line) == 0 || k >= sizeof(name))
		return;
	memcpy(name, line, k);
	name[k] = '\0';
	if (!http_is_token(name) || http_is_hop_by_hop(&s->s_rh, name) ||
	    strcasecmp(name, "Content-Length") == 0 ||
	    memchr(line, '\r', n) != NULL || memchr(line, '\n', n) != NULL ||
	    s->s_traillen + n + 2 > sizeof(s->s_trail))
		return;
	memcpy(s->s_trail + s->s_traillen, line, n);
	memcpy(s->s_trail + s->s_traillen + n, "\r\n", 2);
	s->s_traillen += n + 2;
}

/*
 * Takes one header line from libcurl: a status line (rewritten as
 * HTTP/1.1, since HTTP/2 has none of its own), a field, the blank line
 * that ends a head (interim 1xx heads are dropped), or a trailer.
 * Returns 1 when the final head is complete, 0 for more, -1 to stop.
 */
int
response_line(struct session *s, const char *line, size_t n)
{
	char start[80];
	const char *sp;
	size_t k = n;
	int code, len;

	while (k > 0 && (line[k - 1] == '\r' || line[k - 1] == '\n'))
		k--;
	if (s->s_head_done) {
		if (k > 0)
			add_trailer(s, line, k);
		return 0;
	}
	if (s->s_rlen == 0) {
		if (k < 10 || strncmp(line, "HTTP/", 5) != 0 ||
		    (sp = memchr(line, ' ', k)) == NULL ||
		    sp + 4 > line + k || !isdigit((unsigned char)sp[1]) ||
		    !isdigit((unsigned char)sp[2]) ||
		    !isdigit((unsigned char)sp[3]) ||
		    (sp + 4 < line + k && sp[4] != ' ') ||
		    (code = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 +
		    sp[3] - '0') < 100 || code > 599) {
			s->s_fail = "malformed response status line";
			return -1;
		}
		s->s_rcode = code;
		sp += 4;
		while (sp < line + k && *sp == ' ')
			sp++;
		len = snprintf(start, sizeof(start), "HTTP/1.1 %d %.*s\r\n",
		    code, (int)(line + k - sp) < 40 ? (int)(line + k - sp) :
		    40, sp);
		return rbuf_add(s, start, len);
	}
	if (k > 0)
		return rbuf_add(s, line, n);
	if (s->s_rcode < HTTP_OK) {
		s->s_rlen = 0;
		return 0;
	}
	if (rbuf_add(s, "\r\n", 2) == -1)
		return -1;
	s->s_head_done = 1;
	return 1;
}

/*
 * Parses the collected response head and formats the one the client
 * gets into out: end-to-end fields, Via, and our framing (the length
 * passed on, else chunked to an HTTP/1.1 client, else until close).
 * Returns its length, or -1 (s_fail set) when the head is malformed.
 */
int
response_head(struct session *s, char *out, size_t outlen)
{
	struct http_field f[HTTP_FIELDS_MAX + 4];
	struct http_head *rh = &s->s_rh;
	const char *m = s->s_hd.hd_method;
	char start[80];
	int i, nf = 0, r;

	memset(rh, 0, sizeof(*rh));
	if (http_parse_response(s->s_rbuf, s->s_rlen, m, rh) != 0) {
		s->s_fail = "malformed response head";
		return -1;
	}
	s->s_no_body = strcmp(m, "HEAD") == 0 ||
	    rh->hd_status == HTTP_NO_CONTENT ||
	    rh->hd_status == HTTP_NOT_MODIFIED;
	s->s_clen = -1;
	if (rh->hd_framing == HTTP_BODY_LENGTH)
		s->s_clen = rh->hd_length;
	else if (!s->s_no_body) {
		if (s->s_hd.hd_version >= 11)
			s->s_chunked = 1;
		else
			s->s_close = 1;
	}
	snprintf(start, sizeof(start), "HTTP/1.1 %d %s", rh->hd_status,
	    rh->hd_reason != NULL && rh->hd_reason[0] != '\0' ?
	    rh->hd_reason : http_reason(rh->hd_status));
	for (i = 0; i < rh->hd_nfields; i++) {
		if (http_is_hop_by_hop(rh, rh->hd_fields[i].name))
			continue;
		if (s->s_chunked &&
		    strcasecmp(rh->hd_fields[i].name, "Content-Length") == 0)
			continue;
		f[nf++] = rh->hd_fields[i];
	}
	f[nf].name = "Via";
	f[nf++].value = VIA;
	if (s->s_chunked) {
		f[nf].name = "Transfer-Encoding";
		f[nf++].value = "chunked";
	}
	if (s->s_close) {
		f[nf].name = "Connection";
		f[nf++].value = "close";
	} else if (s->s_hd.hd_version == 10) {
		f[nf].name = "Connection";
		f[nf++].value = "keep-alive";
	}
	if ((r = http_format_head(out, outlen, start, f, nf)) < 0)
		s->s_fail = "response head too large";
	return r;
}
