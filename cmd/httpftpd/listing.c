/*
 * listing.c - directory listings: MLSD facts or LIST lines in, HTML or
 * JSON out.  Names come from the FTP server and are hostile until
 * proven otherwise: every one is HTML- or JSON-escaped, its link
 * percent-encoded, and bytes that are not UTF-8 become U+FFFD.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "httpftpd.h"

struct buf {
	char	*b_p;
	size_t	 b_len;
	size_t	 b_cap;
	int	 b_err;
};

static int	add_entry(struct listing *, const char *, size_t, char,
		    int64_t, time_t);
static int	parse_mlsd(struct listing *, char *);
static int	parse_list(struct listing *, char *, time_t);
static time_t	parse_mdtm(const char *);
static int	month(const char *, size_t);
static int	is_date(const char *);
static size_t	utf8_len(const unsigned char *);
static void	put(struct buf *, const char *, size_t);
static void	puts_(struct buf *, const char *);
static void	put_html(struct buf *, const char *);
static void	put_json(struct buf *, const char *);
static void	put_href(struct buf *, const char *);
static void	put_time(struct buf *, time_t, int);

/* Appends listing bytes; returns 0, or -1 past LISTING_MAX. */
int
listing_sink(void *arg, const char *buf, size_t n)
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

/* Appends an entry; returns 0 or -1 when out of memory. */
static int
add_entry(struct listing *l, const char *name, size_t n, char type,
    int64_t size, time_t mtime)
{
	struct entry *v;

	if ((n == 1 && name[0] == '.') ||
	    (n == 2 && name[0] == '.' && name[1] == '.') || n == 0)
		return 0;
	if (memchr(name, '/', n) != NULL || memchr(name, '\0', n) != NULL)
		return 0;
	if (l->li_n == l->li_cap) {
		l->li_cap = l->li_cap ? l->li_cap * 2 : 64;
		if ((v = reallocarray(l->li_v, l->li_cap, sizeof(*v))) == NULL)
			return -1;
		l->li_v = v;
	}
	if ((l->li_v[l->li_n].e_name = strndup(name, n)) == NULL)
		return -1;
	l->li_v[l->li_n].e_type = type;
	l->li_v[l->li_n].e_size = size;
	l->li_v[l->li_n].e_mtime = mtime;
	l->li_n++;
	return 0;
}

/* "YYYYMMDDHHMMSS[.sss]" (UTC) as time_t, or -1. */
static time_t
parse_mdtm(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) < 14 || sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* Parses "fact=value;...; name" lines; returns 0 or -1. */
static int
parse_mlsd(struct listing *l, char *raw)
{
	char *line, *save, *sp, *fact, *fsave, *eq;
	char type;
	int64_t size;
	time_t mtime;

	for (line = strtok_r(raw, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		if ((sp = strchr(line, ' ')) == NULL)
			continue;
		*sp++ = '\0';
		type = 'f';
		size = -1;
		mtime = -1;
		for (fact = strtok_r(line, ";", &fsave); fact != NULL;
		    fact = strtok_r(NULL, ";", &fsave)) {
			if ((eq = strchr(fact, '=')) == NULL)
				continue;
			*eq++ = '\0';
			if (strcasecmp(fact, "type") == 0) {
				if (strcasecmp(eq, "dir") == 0)
					type = 'd';
				else if (strcasecmp(eq, "cdir") == 0 ||
				    strcasecmp(eq, "pdir") == 0)
					type = 0;
				else if (strncasecmp(eq, "OS.unix=sl", 10) == 0 ||
				    strncasecmp(eq, "OS.unix=symlink", 15) == 0)
					type = 'l';
			} else if (strcasecmp(fact, "size") == 0)
				size = strtoll(eq, NULL, 10);
			else if (strcasecmp(fact, "modify") == 0)
				mtime = parse_mdtm(eq);
		}
		if (type != 0 &&
		    add_entry(l, sp, strlen(sp), type, size, mtime) == -1)
			return -1;
	}
	return 0;
}

/* 0..11 for "Jan".."Dec" (n bytes at s), else -1. */
static int
month(const char *s, size_t n)
{
	static const char *m[] = { "jan", "feb", "mar", "apr", "may", "jun",
	    "jul", "aug", "sep", "oct", "nov", "dec" };
	int i;

	for (i = 0; i < 12; i++)
		if (n == 3 && strncasecmp(s, m[i], 3) == 0)
			return i;
	return -1;
}

/*
 * Returns 1 if p holds what follows a month in "ls -l": " DD HH:MM " or
 * " DD YYYY ", digits no wider than ls writes them.  So an owner or a
 * group named "dec" is not taken for the date, and no number overflows.
 */
static int
is_date(const char *p)
{
	static const char digits[] = "0123456789";
	size_t n;

	p += strspn(p, " ");
	if ((n = strspn(p, digits)) < 1 || n > 2 || p[n] != ' ')
		return 0;
	p += n;
	p += strspn(p, " ");
	if ((n = strspn(p, digits)) < 1 || n > 4)
		return 0;
	if (p[n] == ':') {
		if (n > 2)
			return 0;
		p += n + 1;
		if ((n = strspn(p, digits)) != 2)
			return 0;
	}
	return p[n] == ' ';
}

/*
 * Parses Unix "ls -l" style lines (and DOS style ones); the name is
 * everything after the date, spaces included.  Returns 0 or -1.
 */
static int
parse_list(struct listing *l, char *raw, time_t now)
{
	char *line, *save, *f[8], *p, *name, *arrow, ampm[3];
	int nf, mon, day, hh, mm, yy, mo, dd, clock;
	struct tm tm, nowtm;
	size_t fl[8];
	char type;
	int64_t size;
	time_t t;

	gmtime_r(&now, &nowtm);
	for (line = strtok_r(raw, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		memset(&tm, 0, sizeof(tm));
		if (sscanf(line, "%2d-%2d-%2d %2d:%2d%2s", &mo, &dd, &yy, &hh,
		    &mm, ampm) == 6) {
			/* DOS: "11-27-26  01:28AM  <DIR>  name" */
			p = line + strcspn(line, " ");
			p += strspn(p, " ");
			p += strcspn(p, " ");
			p += strspn(p, " ");
			type = strncmp(p, "<DIR>", 5) == 0 ? 'd' : 'f';
			size = type == 'd' ? -1 : strtoll(p, NULL, 10);
			p += strcspn(p, " ");
			p += strspn(p, " ");
			hh %= 12;
			if (toupper((unsigned char)ampm[0]) == 'P')
				hh += 12;
			tm.tm_year = yy < 70 ? yy + 100 : yy;
			tm.tm_mon = mo - 1;
			tm.tm_mday = dd;
			tm.tm_hour = hh;
			tm.tm_min = mm;
			if (add_entry(l, p, strlen(p), type, size,
			    timegm(&tm)) == -1)
				return -1;
			continue;
		}
		/* Unix: the month comes after the size, the name after the date */
		mon = -1;
		p = line;
		for (nf = 0; nf < 8; nf++) {
			p += strspn(p, " ");
			if (*p == '\0')
				break;
			f[nf] = p;
			fl[nf] = strcspn(p, " ");
			p += fl[nf];
			if (nf >= 3 && (mon = month(f[nf], fl[nf])) != -1 &&
			    is_date(p))
				break;
			mon = -1;
		}
		if (nf == 8 || mon == -1)
			continue;
		day = (int)strtol(p, &p, 10);
		p += strspn(p, " ");
		clock = sscanf(p, "%d:%d", &hh, &mm) == 2;
		if (clock) {
			tm.tm_year = nowtm.tm_year;
			tm.tm_hour = hh;
			tm.tm_min = mm;
		} else if (sscanf(p, "%d", &yy) == 1)
			tm.tm_year = yy - 1900;
		else
			continue;
		p += strcspn(p, " ");
		if (*p != ' ')
			continue;
		name = p + 1;
		tm.tm_mon = mon;
		tm.tm_mday = day;
		t = timegm(&tm);
		if (clock && t > now + 86400) {
			tm.tm_year--;
			t = timegm(&tm);
		}
		type = f[0][0] == 'd' ? 'd' : f[0][0] == 'l' ? 'l' : 'f';
		if (type == 'l' && (arrow = strstr(name, " -> ")) != NULL)
			*arrow = '\0';
		size = strtoll(f[nf - 1], NULL, 10);
		if (add_entry(l, name, strlen(name), type, size, t) == -1)
			return -1;
	}
	return 0;
}

/*
 * Parses a raw listing (NUL-terminated, len bytes) into l; returns 0 or
 * -1 when out of memory.
 */
int
listing_parse(char *raw, size_t len, int mlsd, time_t now, struct listing *l)
{
	(void)len;
	memset(l, 0, sizeof(*l));
	return mlsd ? parse_mlsd(l, raw) : parse_list(l, raw, now);
}

void
listing_free(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->li_n; i++)
		free(l->li_v[i].e_name);
	free(l->li_v);
	memset(l, 0, sizeof(*l));
}

/* Length of the valid UTF-8 sequence at p, 0 if there is none. */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void
put(struct buf *b, const char *s, size_t n)
{
	char *p;

	if (b->b_err)
		return;
	if (b->b_len + n + 1 > b->b_cap) {
		b->b_cap = (b->b_len + n + 1) * 2;
		if ((p = realloc(b->b_p, b->b_cap)) == NULL) {
			b->b_err = 1;
			return;
		}
		b->b_p = p;
	}
	memcpy(b->b_p + b->b_len, s, n);
	b->b_len += n;
	b->b_p[b->b_len] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Appends s escaped for HTML text and attribute values. */
static void
put_html(struct buf *b, const char *s)
{
	size_t n;

	while (*s != '\0') {
		switch (*s) {
		case '&':
			puts_(b, "&amp;");
			break;
		case '<':
			puts_(b, "&lt;");
			break;
		case '>':
			puts_(b, "&gt;");
			break;
		case '"':
			puts_(b, "&quot;");
			break;
		case '\'':
			puts_(b, "&#39;");
			break;
		default:
			if ((unsigned char)*s < 0x20 || *s == 0x7f) {
				puts_(b, "\xef\xbf\xbd");
				break;
			}
			if ((n = utf8_len((const unsigned char *)s)) == 0) {
				puts_(b, "\xef\xbf\xbd");
				break;
			}
			put(b, s, n);
			s += n;
			continue;
		}
		s++;
	}
}

/* Appends s as the inside of a JSON string. */
static void
put_json(struct buf *b, const char *s)
{
	char esc[8];
	size_t n;

	while (*s != '\0') {
		if (*s == '"' || *s == '\\') {
			put(b, "\\", 1);
			put(b, s, 1);
			s++;
		} else if ((unsigned char)*s < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)*s);
			puts_(b, esc);
			s++;
		} else if ((n = utf8_len((const unsigned char *)s)) == 0) {
			puts_(b, "\\ufffd");
			s++;
		} else {
			put(b, s, n);
			s += n;
		}
	}
}

/* Appends a relative link to name: "./" keeps a colon from being a scheme. */
static void
put_href(struct buf *b, const char *name)
{
	char enc[3 * 1024 + 1];
	size_t n;

	if ((n = target_encode(name, enc, sizeof(enc))) == sizeof(enc)) {
		b->b_err = 1;
		return;
	}
	/* target_encode keeps '/', which a listed name never holds */
	puts_(b, "./");
	put(b, enc, n);
}

/* Appends t as RFC 3339 (json) or "YYYY-MM-DD HH:MM" (html). */
static void
put_time(struct buf *b, time_t t, int json)
{
	struct tm tm;
	char s[32];

	if (t == -1 || gmtime_r(&t, &tm) == NULL) {
		puts_(b, json ? "null" : "-");
		return;
	}
	strftime(s, sizeof(s), json ? "\"%Y-%m-%dT%H:%M:%SZ\"" :
	    "%Y-%m-%d %H:%M", &tm);
	puts_(b, s);
}

/* An HTML page for the listing (malloc'd, *len bytes), or NULL. */
char *
listing_html(const struct listing *l, const char *title, int root,
    size_t *len)
{
	struct buf b = { NULL, 0, 0, 0 };
	const struct entry *e;
	char num[32];
	size_t i;

	puts_(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<title>Index of ");
	put_html(&b, title);
	puts_(&b, "</title></head>\n<body>\n<h1>Index of ");
	put_html(&b, title);
	puts_(&b, "</h1>\n<table>\n<tr><th>Name</th><th>Size</th>"
	    "<th>Modified</th></tr>\n");
	if (!root)
		puts_(&b, "<tr><td><a href=\"../\">Parent directory</a>"
		    "</td><td>-</td><td>-</td></tr>\n");
	for (i = 0; i < l->li_n; i++) {
		e = &l->li_v[i];
		puts_(&b, "<tr><td><a href=\"");
		put_href(&b, e->e_name);
		if (e->e_type == 'd')
			puts_(&b, "/");
		puts_(&b, "\">");
		put_html(&b, e->e_name);
		if (e->e_type == 'd')
			puts_(&b, "/");
		puts_(&b, "</a></td><td>");
		if (e->e_type == 'd' || e->e_size < 0)
			puts_(&b, "-");
		else {
			snprintf(num, sizeof(num), "%lld",
			    (long long)e->e_size);
			puts_(&b, num);
		}
		puts_(&b, "</td><td>");
		put_time(&b, e->e_mtime, 0);
		puts_(&b, "</td></tr>\n");
	}
	puts_(&b, "</table>\n</body></html>\n");
	if (b.b_err) {
		free(b.b_p);
		return NULL;
	}
	*len = b.b_len;
	return b.b_p;
}

/* The listing as a JSON array (malloc'd, *len bytes), or NULL. */
char *
listing_json(const struct listing *l, size_t *len)
{
	struct buf b = { NULL, 0, 0, 0 };
	const struct entry *e;
	char num[32];
	size_t i;

	puts_(&b, "[");
	for (i = 0; i < l->li_n; i++) {
		e = &l->li_v[i];
		puts_(&b, i ? ",\n{\"name\":\"" : "\n{\"name\":\"");
		put_json(&b, e->e_name);
		puts_(&b, e->e_type == 'd' ? "\",\"type\":\"dir\"" :
		    e->e_type == 'l' ? "\",\"type\":\"link\"" :
		    "\",\"type\":\"file\"");
		if (e->e_size >= 0 && e->e_type != 'd') {
			snprintf(num, sizeof(num), ",\"size\":%lld",
			    (long long)e->e_size);
			puts_(&b, num);
		} else
			puts_(&b, ",\"size\":null");
		puts_(&b, ",\"modified\":");
		put_time(&b, e->e_mtime, 1);
		puts_(&b, "}");
	}
	puts_(&b, "\n]\n");
	if (b.b_err) {
		free(b.b_p);
		return NULL;
	}
	*len = b.b_len;
	return b.b_p;
}
