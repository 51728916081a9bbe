/*
 * negotiate.c - what a request's own fields ask of a response: a file's
 * conditional GET (If-None-Match, If-Modified-Since: 304), its range
 * (Range, If-Range: 206 or 416), the fields that describe it (validators,
 * Content-Range), and whether a listing is HTML or JSON (Accept).
 *
 * Pure functions of the request head and what SIZE and MDTM said; main.c
 * sends what they decide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "httpftpd.h"

static void	etag(const struct ftp_stat *, char *, size_t);
static int	not_modified(const struct http_head *, const struct ftp_stat *);
static int	parse_range(const struct http_head *, const struct ftp_stat *,
		    int64_t *, int64_t *);
static double	accept_q(const char *, const char *);

/* Formats "Name: HTTP-date" into out. */
void
date_field(char *out, size_t len, const char *name, time_t t)
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

/* Returns 1 if If-None-Match or If-Modified-Since say 304. */
static int
not_modified(const struct http_head *hd, const struct ftp_stat *st)
{
	const char *inm, *ims;
	char tag[64];
	time_t t;

	etag(st, tag, sizeof(tag));
	if ((inm = http_get(hd, "If-None-Match")) != NULL) {
		if (st->fs_size < 0 || st->fs_mtime < 0)
			return 0;
		return strcmp(inm, "*") == 0 || strstr(inm, tag) != NULL;
	}
	if ((ims = http_get(hd, "If-Modified-Since")) != NULL &&
	    st->fs_mtime >= 0) {
		if ((t = curl_getdate(ims, NULL)) == -1)
			return 0;
		return st->fs_mtime <= t;
	}
	return 0;
}

/*
 * Reads a single "bytes=" Range against the file's size into from and
 * to.  Returns 0 (serve it, or serve all when from stays -1), or 416.
 * Several ranges or a malformed one are ignored, as RFC 9110 allows.
 */
static int
parse_range(const struct http_head *hd, const struct ftp_stat *st,
    int64_t *from, int64_t *to)
{
	const char *r, *ifr;
	char tag[64];
	long long a = -1, b = -1, size = st->fs_size;
	char *end;

	if ((r = http_get(hd, "Range")) == NULL || size < 0)
		return 0;
	if ((ifr = http_get(hd, "If-Range")) != NULL) {
		etag(st, tag, sizeof(tag));
		if (ifr[0] == '"' ? strcmp(ifr, tag) != 0 :
		    curl_getdate(ifr, NULL) != st->fs_mtime)
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
			return HTTP_RANGE_NOT_SATISFIABLE;
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
			return HTTP_RANGE_NOT_SATISFIABLE;
		if (b >= size)
			b = size - 1;
	}
	*from = a;
	*to = b;
	return 0;
}

/*
 * Returns the status a file with st answers hd with: 304 when it has not
 * changed, else (when ranges is set: not for HEAD) 416 for a range beyond
 * its end, 206 with *from and *to for a single range, or 200 with them
 * at -1.
 */
int
file_status(const struct http_head *hd, const struct ftp_stat *st,
    int ranges, int64_t *from, int64_t *to)
{
	*from = *to = -1;
	if (not_modified(hd, st))
		return HTTP_NOT_MODIFIED;
	if (ranges && parse_range(hd, st, from, to) ==
	    HTTP_RANGE_NOT_SATISFIABLE)
		return HTTP_RANGE_NOT_SATISFIABLE;
	return *from >= 0 ? HTTP_PARTIAL_CONTENT : HTTP_OK;
}

/*
 * Fills ff with the fields of a file response of that status: its
 * validators (Last-Modified, ETag) as far as st knows them, and for 206
 * and 416 the Content-Range.
 */
void
file_fields(struct file_fields *ff, const struct ftp_stat *st, int status,
    int64_t from, int64_t to)
{
	ff->ff_n = 0;
	if (status == HTTP_RANGE_NOT_SATISFIABLE) {
		snprintf(ff->ff_range, sizeof(ff->ff_range),
		    "Content-Range: bytes */%lld", (long long)st->fs_size);
		ff->ff_lines[ff->ff_n++] = ff->ff_range;
		return;
	}
	if (st->fs_mtime >= 0) {
		date_field(ff->ff_lm, sizeof(ff->ff_lm), "Last-Modified",
		    st->fs_mtime);
		ff->ff_lines[ff->ff_n++] = ff->ff_lm;
	}
	if (st->fs_mtime >= 0 && st->fs_size >= 0) {
		snprintf(ff->ff_tag, sizeof(ff->ff_tag), "ETag: ");
		etag(st, ff->ff_tag + 6, sizeof(ff->ff_tag) - 6);
		ff->ff_lines[ff->ff_n++] = ff->ff_tag;
	}
	if (status == HTTP_PARTIAL_CONTENT) {
		snprintf(ff->ff_range, sizeof(ff->ff_range),
		    "Content-Range: bytes %lld-%lld/%lld", (long long)from,
		    (long long)to, (long long)st->fs_size);
		ff->ff_lines[ff->ff_n++] = ff->ff_range;
	}
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
int
wants_json(const struct http_head *hd)
{
	const char *a = http_get(hd, "Accept");

	if (a == NULL)
		return 0;
	return accept_q(a, "application/json") > accept_q(a, "text/html");
}
