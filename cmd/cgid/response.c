/*
 * response.c - a program's header block (RFC 3875 section 6) read, and
 * the HTTP response head made from it.
 *
 * Lines may end in LF or CRLF.  A block cgid cannot pass on faithfully
 * (obs-fold, a bad name, control characters, a bad Status or
 * Content-Length, none of Content-Type, Location and Status) is refused:
 * the client gets 502 rather than a guess.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cgid.h"
#include "http.h"
#include "opts.h"
#include "serve.h"

static int	 parse_status(char *, struct cgi_head *);
static int	 parse_field(char *, struct cgi_head *);
static int	 dropped(const char *);
static int	 append(char *, size_t, size_t *, const char *, const char *);

/* Reads "NNN reason"; returns 0 or 502. */
static int
parse_status(char *v, struct cgi_head *ch)
{
	if (strlen(v) < 3 || strspn(v, "0123456789") != 3 ||
	    (v[3] != '\0' && v[3] != ' '))
		return 502;
	ch->ch_status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + v[2] - '0';
	if (ch->ch_status < 200 || ch->ch_status > 599)
		return 502;
	v += 3;
	while (*v == ' ')
		v++;
	ch->ch_reason = *v != '\0' ? v : http_reason(ch->ch_status);
	return 0;
}

/* Returns 1 for fields the program may not set: cgid frames the body. */
static int
dropped(const char *name)
{
	static const char *names[] = {
		"Connection", "Keep-Alive", "Proxy-Connection", "TE",
		"Trailer", "Transfer-Encoding", "Upgrade", NULL
	};
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcasecmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/* Parses one "Name: value" line in place; returns 0 or 502. */
static int
parse_field(char *line, struct cgi_head *ch)
{
	char *colon, *v, *end;
	long long n;

	if ((colon = strchr(line, ':')) == NULL)
		return 502;
	*colon = '\0';
	if (!http_is_token(line))
		return 502;
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	for (end = v; *end != '\0'; end++)
		if ((unsigned char)*end < 0x20 && *end != '\t')
			return 502;
		else if (*end == 0x7f)
			return 502;
	if (strcasecmp(line, "Status") == 0)
		return ch->ch_status != 0 ? 502 : parse_status(v, ch);
	if (strcasecmp(line, "Location") == 0) {
		if (ch->ch_location != NULL || *v == '\0')
			return 502;
		ch->ch_location = v;
	} else if (strcasecmp(line, "Content-Type") == 0)
		ch->ch_ctype = v;
	else if (strcasecmp(line, "Content-Length") == 0) {
		if (opts_number(v, 0, INT64_MAX, &n) == -1 ||
		    (ch->ch_has_length && ch->ch_length != (uint64_t)n))
			return 502;
		if (ch->ch_has_length)
			return 0;
		ch->ch_has_length = 1;
		ch->ch_length = n;
	} else if (strcasecmp(line, "Date") == 0)
		ch->ch_has_date = 1;
	else if (dropped(line))
		return 0;
	if (ch->ch_nfields == HTTP_FIELDS_MAX)
		return 502;
	ch->ch_fields[ch->ch_nfields].name = line;
	ch->ch_fields[ch->ch_nfields].value = v;
	ch->ch_nfields++;
	return 0;
}

int
cgi_parse_head(char *buf, size_t len, struct cgi_head *ch)
{
	char *line, *nl, *eol, *end = buf + len, *p;
	int rv;

	memset(ch, 0, sizeof(*ch));
	/* Find the blank line first: an incomplete block stays unedited. */
	for (line = buf;; line = nl + 1) {
		if ((nl = memchr(line, '\n', end - line)) == NULL)
			return len >= HTTP_HEAD_MAX ? 502 : HTTP_INCOMPLETE;
		if (nl == line || (nl == line + 1 && line[0] == '\r'))
			break;
	}
	if (line == buf)
		return 502;
	ch->ch_size = nl + 1 - buf;
	for (p = buf; p < line; p = nl + 1) {
		nl = memchr(p, '\n', line - p);
		eol = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		*eol = '\0';
		if (strlen(p) != (size_t)(eol - p) || *p == ' ' || *p == '\t')
			return 502;	/* a NUL, or obs-fold */
		if ((rv = parse_field(p, ch)) != 0)
			return rv;
	}
	if (ch->ch_status == 0 && ch->ch_location == NULL &&
	    ch->ch_ctype == NULL)
		return 502;
	return 0;
}

int
resp_is_local_redirect(const struct cgi_head *ch)
{
	return ch->ch_location != NULL && ch->ch_location[0] == '/' &&
	    ch->ch_status == 0;
}

/* Appends "name: value\r\n" (or a line when value is NULL); 0 or -1. */
static int
append(char *out, size_t outlen, size_t *len, const char *name,
    const char *value)
{
	int n;

	if (value != NULL)
		n = snprintf(out + *len, outlen - *len, "%s: %s\r\n", name,
		    value);
	else
		n = snprintf(out + *len, outlen - *len, "%s\r\n", name);
	if (n < 0 || (size_t)n >= outlen - *len)
		return -1;
	*len += n;
	return 0;
}

int
resp_format_head(const struct exchange *x, char *out, size_t outlen)
{
	const struct cgi_head *ch = &x->x_ch;
	char line[128], date[64], num[32];
	struct tm tm;
	time_t t;
	size_t len = 0;
	int i, rv = 0;

	(void)snprintf(line, sizeof(line), "HTTP/1.1 %d %s", x->x_status,
	    ch->ch_status != 0 ? ch->ch_reason : http_reason(x->x_status));
	rv |= append(out, outlen, &len, line, NULL);
	for (i = 0; i < ch->ch_nfields; i++) {
		if (strcasecmp(ch->ch_fields[i].name, "Content-Length") == 0)
			continue;
		rv |= append(out, outlen, &len, ch->ch_fields[i].name,
		    ch->ch_fields[i].value);
	}
	if (!ch->ch_has_date) {
		t = time(NULL);
		(void)strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT",
		    gmtime_r(&t, &tm));
		rv |= append(out, outlen, &len, "Date", date);
	}
	if (ch->ch_has_length && x->x_status != 204 && x->x_status != 304) {
		(void)snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)ch->ch_length);
		rv |= append(out, outlen, &len, "Content-Length", num);
	}
	if (x->x_framing == RESP_CHUNKED)
		rv |= append(out, outlen, &len, "Transfer-Encoding", "chunked");
	if (!x->x_keep)
		rv |= append(out, outlen, &len, "Connection", "close");
	else if (x->x_hd.hd_version == 10)
		rv |= append(out, outlen, &len, "Connection", "keep-alive");
	rv |= append(out, outlen, &len, "", NULL);
	return rv != 0 ? -1 : (int)len;
}
