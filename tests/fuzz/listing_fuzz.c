/*
 * listing_fuzz.c - libFuzzer harness for httpftpd's directory listings
 * (cmd/httpftpd/listing.c): the LIST parser in each dialect it reads
 * (Unix "ls -l" as vsftpd, proftpd and pure-ftpd write it; MS-DOS as
 * IIS writes it), the MLSD parser, and the HTML and JSON pages made
 * from what they found.  The first byte picks how the rest is used:
 *
 *	0  a raw LIST reply, 1  a raw MLSD reply;
 *	2  a description of entries, written as LIST and MLSD lines in
 *	   every dialect (with owners and groups that look like months,
 *	   names with spaces and arrows) and parsed back.
 *
 * The invariants:
 *
 *	- every entry's name is non-empty, not "." or "..", holds no '/',
 *	  CR, LF or NUL, and is a substring of the reply;
 *	- lines written from a description parse back to exactly the
 *	  entries described: name, type, size and time;
 *	- the HTML page is UTF-8 with exactly the markup of a page of that
 *	  many entries (a name cannot add or end a tag or an attribute);
 *	  the JSON page is one valid JSON array of that many objects.
 *
 *	make fuzz FUZZERS=listing [FUZZ_SECONDS=60]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpftpd.h"
#include "fuzz.h"

#define NAME_MAX_GEN	48	/* bytes of a described name */
#define ENTRIES_MAX	16	/* described entries per input */

/* What a description says one entry is. */
struct want {
	char	 name[NAME_MAX_GEN + 1];
	char	 type;
	int64_t	 size;
	time_t	 mtime;		/* -1: none; with clock, the year may vary */
	int	 clock;		/* Unix "Mon DD HH:MM": the year is guessed */
};

/* The input, read a byte at a time (zeros once it runs out). */
struct rd {
	const uint8_t	*p;
	size_t		 n;
};

static unsigned	 get(struct rd *);
static size_t	 utf8_ok(const unsigned char *, size_t);
static void	 check_utf8(const char *, size_t);
static size_t	 count(const char *, size_t, char);
static const char *json_ws(const char *);
static const char *json_string(const char *);
static const char *json_value(const char *, int);
static void	 check_entries(const struct listing *, const uint8_t *,
		    size_t);
static void	 check_pages(const struct listing *, const char *, int);
static int	 parse(const uint8_t *, size_t, int, time_t, struct listing *);
static void	 gen_name(struct rd *, char *, int, int);
static time_t	 utc(int, int, int, int, int, int);
static int	 gen_line(struct rd *, int, time_t, char *, size_t,
		    struct want *);
static void	 round_trip(const uint8_t *, size_t, time_t);

/* The next byte of the input, 0 past its end. */
static unsigned
get(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if none. */
static size_t
utf8_ok(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Aborts unless s[0..n) is UTF-8 without control characters but LF. */
static void
check_utf8(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		CHECK((unsigned char)s[i] >= 0x20 || s[i] == '\n');
		CHECK((k = utf8_ok((const unsigned char *)s + i, n - i)) > 0);
		i += k;
	}
}

/* How many of the n bytes at s are c. */
static size_t
count(const char *s, size_t n, char c)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += s[i] == c;
	return k;
}

/*
 * A JSON reader just strict enough to say a page is one value: each
 * returns what follows the thing it reads, or NULL if it is not one.
 */
static const char *
json_ws(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

static const char *
json_string(const char *s)
{
	int i;

	if (*s++ != '"')
		return NULL;
	for (; *s != '"'; s++) {
		if ((unsigned char)*s < 0x20)
			return NULL;
		if (*s != '\\')
			continue;
		s++;
		if (*s == 'u') {
			for (i = 1; i <= 4; i++)
				if (strchr("0123456789abcdefABCDEF", s[i]) ==
				    NULL || s[i] == '\0')
					return NULL;
			s += 4;
		} else if (*s == '\0' || strchr("\"\\/bfnrt", *s) == NULL)
			return NULL;
	}
	return s + 1;
}

static const char *
json_value(const char *s, int depth)
{
	s = json_ws(s);
	if (depth > 4)
		return NULL;
	if (*s == '"')
		return json_string(s);
	if (strncmp(s, "null", 4) == 0)
		return s + 4;
	if (*s == '-' || (*s >= '0' && *s <= '9')) {
		s += *s == '-';
		if (*s < '0' || *s > '9')
			return NULL;
		while (*s >= '0' && *s <= '9')
			s++;
		return s;
	}
	if (*s == '[' || *s == '{') {
		char close = *s == '[' ? ']' : '}';
		int obj = *s == '{';

		s = json_ws(s + 1);
		if (*s == close)
			return s + 1;
		for (;;) {
			if (obj) {
				if ((s = json_string(json_ws(s))) == NULL)
					return NULL;
				s = json_ws(s);
				if (*s++ != ':')
					return NULL;
			}
			if ((s = json_value(s, depth + 1)) == NULL)
				return NULL;
			s = json_ws(s);
			if (*s == close)
				return s + 1;
			if (*s++ != ',')
				return NULL;
		}
	}
	return NULL;
}

/* Aborts unless each entry is a name the listing may hold. */
static void
check_entries(const struct listing *l, const uint8_t *data, size_t size)
{
	const struct entry *e;
	size_t i, n;

	for (i = 0; i < l->li_n; i++) {
		e = &l->li_v[i];
		n = strlen(e->e_name);
		CHECK(n > 0 && strcmp(e->e_name, ".") != 0 &&
		    strcmp(e->e_name, "..") != 0);
		CHECK(strpbrk(e->e_name, "/\r\n") == NULL);
		CHECK(memmem(data, size, e->e_name, n) != NULL);
		CHECK(e->e_type == 'f' || e->e_type == 'd' || e->e_type == 'l');
	}
}

/* Aborts unless both pages of l are sound. */
static void
check_pages(const struct listing *l, const char *title, int root)
{
	static const struct listing none;
	char *html, *empty, *json, *end;
	size_t hlen, elen, jlen, i, longest = 0, objects = 0;
	int depth = 0;

	for (i = 0; i < l->li_n; i++)
		if (strlen(l->li_v[i].e_name) > longest)
			longest = strlen(l->li_v[i].e_name);
	html = listing_html(l, title, root, &hlen);
	empty = listing_html(&none, title, root, &elen);
	CHECK(empty != NULL);
	CHECK(html != NULL || longest >= 1000);
	if (html != NULL) {
		check_utf8(html, hlen);
		CHECK(strlen(html) == hlen);
		CHECK(count(html, hlen, '<') ==
		    count(empty, elen, '<') + 10 * l->li_n);
		CHECK(count(html, hlen, '>') ==
		    count(empty, elen, '>') + 10 * l->li_n);
		CHECK(count(html, hlen, '"') ==
		    count(empty, elen, '"') + 2 * l->li_n);
	}
	free(html);
	free(empty);
	CHECK((json = listing_json(l, &jlen)) != NULL);
	check_utf8(json, jlen);
	end = (char *)json_value(json, 0);
	CHECK(end != NULL && *json_ws(end) == '\0' && strlen(json) == jlen);
	/* Objects at depth 1: the entries. */
	for (end = json; *end != '\0'; end++) {
		if (*end == '"') {
			end = (char *)json_string(end) - 1;
			continue;
		}
		if (*end == '[' || *end == '{')
			objects += ++depth == 2;
		else if (*end == ']' || *end == '}')
			depth--;
	}
	CHECK(objects == l->li_n);
	free(json);
}

/* Parses n bytes as a reply (NUL-terminated copy, as listing_sink keeps). */
static int
parse(const uint8_t *data, size_t n, int mlsd, time_t now, struct listing *l)
{
	char *raw;
	int rc;

	if ((raw = malloc(n + 1)) == NULL)
		abort();
	memcpy(raw, data, n);
	raw[n] = '\0';
	rc = listing_parse(raw, n, mlsd, now, l);
	free(raw);
	return rc;
}

/* Makes a name from the input: no '/', CR, LF, NUL; never "." or "..". */
static void
gen_name(struct rd *r, char *name, int dos, int arrowless)
{
	size_t n = 1 + get(r) % NAME_MAX_GEN, i, o = 0;
	unsigned c;

	for (i = 0; i < n; i++) {
		c = get(r);
		if (c == '/' || c == '\r' || c == '\n' || c == '\0')
			c = '_';
		if (dos && o == 0 && c == ' ')
			continue;
		name[o++] = (char)c;
	}
	name[o] = '\0';
	if (o == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		strcpy(name, "x");
	/* " -> " ends a link's name: keep " ->" out of links' names. */
	if (arrowless)
		while ((name = strstr(name, " ->")) != NULL)
			name[1] = '_';
}

static time_t
utc(int year, int mon, int day, int hh, int mm, int ss)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	return timegm(&tm);
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
/* Owners and groups as servers print them, months among them. */
static const char *const owners[] = { "ftp", "root", "0", "1000",
    "www-data", "nobody", "may", "dec", "Jan", "mar", "owner", "sep" };

/*
 * Writes one described entry as a line of dialect (0 Unix, 1 MS-DOS,
 * 2 MLSD) to out; fills w.  Returns the line's length.
 */
static int
gen_line(struct rd *r, int dialect, time_t now, char *out, size_t outlen,
    struct want *w)
{
	struct tm nowtm;
	int mon = get(r) % 12, day = 1 + get(r) % 28, hh = get(r) % 24,
	    mm = get(r) % 60, ss = get(r) % 60, year = 1990 + get(r) % 40;
	unsigned kind = get(r) % 3;
	int64_t size = (int64_t)get(r) << (get(r) % 40);
	char arrow[64] = "";
	const char *perms;

	gmtime_r(&now, &nowtm);
	memset(w, 0, sizeof(*w));
	w->type = kind == 0 ? 'f' : kind == 1 ? 'd' : 'l';
	if (dialect == 1 && w->type == 'l')
		w->type = 'f';
	gen_name(r, w->name, dialect == 1, w->type == 'l');
	w->size = size;
	if (dialect == 0) {
		perms = w->type == 'd' ? "drwxr-xr-x" : w->type == 'l' ?
		    "lrwxrwxrwx" : "-rw-r--r--";
		if (w->type == 'l')
			snprintf(arrow, sizeof(arrow), " -> target%u", get(r));
		w->clock = get(r) & 1;
		if (w->clock) {
			/* "Mon DD HH:MM" within the last six months */
			year = nowtm.tm_year + 1900;
			w->mtime = utc(year, mon, day, hh, mm, 0);
			return snprintf(out, outlen, "%s %4u %-8s %-8s %8lld "
			    "%s %*d %02d:%02d %s%s\r\n", perms, 1 + get(r) % 9,
			    owners[get(r) % 12], owners[get(r) % 12],
			    (long long)size, months[mon], get(r) & 1 ? 2 : 1,
			    day, hh, mm, w->name, arrow);
		}
		w->mtime = utc(year, mon, day, 0, 0, 0);
		return snprintf(out, outlen, "%s %4u %-8s %-8s %8lld %s %2d "
		    " %d %s%s\r\n", perms, 1 + get(r) % 9, owners[get(r) % 12],
		    owners[get(r) % 12], (long long)size, months[mon], day,
		    year, w->name, arrow);
	}
	if (dialect == 1) {
		year = 1970 + get(r) % 100;
		w->mtime = utc(year, mon, day, hh, mm, 0);
		if (w->type == 'd') {
			w->size = -1;
			return snprintf(out, outlen, "%02d-%02d-%02d  "
			    "%02d:%02d%s       <DIR>          %s\r\n", mon + 1,
			    day, year % 100, hh % 12 == 0 ? 12 : hh % 12, mm,
			    hh < 12 ? "AM" : "PM", w->name);
		}
		return snprintf(out, outlen, "%02d-%02d-%02d  %02d:%02d%s "
		    "%20lld %s\r\n", mon + 1, day, year % 100,
		    hh % 12 == 0 ? 12 : hh % 12, mm, hh < 12 ? "AM" : "PM",
		    (long long)size, w->name);
	}
	w->mtime = utc(year, mon, day, hh, mm, ss);
	if (w->type == 'l')
		w->type = 'f';
	if (get(r) & 1) {
		w->size = -1;
		return snprintf(out, outlen, "%s=%s;modify=%04d%02d%02d%02d%02d"
		    "%02d;perm=el;unique=801U%x; %s\r\n", get(r) & 1 ? "Type" :
		    "type", w->type == 'd' ? "dir" : "file", year, mon + 1,
		    day, hh, mm, ss, get(r), w->name);
	}
	return snprintf(out, outlen, "modify=%04d%02d%02d%02d%02d%02d;"
	    "UNIX.mode=0644;size=%lld;type=%s; %s\r\n", year, mon + 1, day,
	    hh, mm, ss, (long long)size, w->type == 'd' ? "dir" : "file",
	    w->name);
}

/* Writes described entries in each dialect; aborts unless they parse back. */
static void
round_trip(const uint8_t *data, size_t size, time_t now)
{
	static char text[ENTRIES_MAX * 256];
	struct want w[ENTRIES_MAX];
	struct listing l;
	struct rd r;
	struct tm tm;
	size_t len, i, n;
	int dialect, k;

	for (dialect = 0; dialect < 3; dialect++) {
		r.p = data;
		r.n = size;
		n = 1 + get(&r) % ENTRIES_MAX;
		len = 0;
		if (dialect == 0)
			len = snprintf(text, sizeof(text), "total %u\r\n",
			    get(&r));
		if (dialect == 2)
			len = snprintf(text, sizeof(text), "type=cdir;"
			    "modify=20260101000000;perm=flcdmpe; .\r\n"
			    "type=pdir;modify=20260101000000;"
			    "perm=flcdmpe; ..\r\n");
		for (i = 0; i < n; i++) {
			k = gen_line(&r, dialect, now, text + len,
			    sizeof(text) - len, &w[i]);
			CHECK(k > 0 && (size_t)k < sizeof(text) - len);
			len += k;
		}
		CHECK(parse((const uint8_t *)text, len, dialect == 2, now,
		    &l) == 0);
		CHECK(l.li_n == n);
		for (i = 0; i < n; i++) {
			CHECK(strcmp(l.li_v[i].e_name, w[i].name) == 0);
			CHECK(l.li_v[i].e_type == w[i].type);
			CHECK(l.li_v[i].e_size == w[i].size);
			if (l.li_v[i].e_mtime == w[i].mtime)
				continue;
			/* A guessed year: this one or the one before. */
			CHECK(w[i].clock);
			CHECK(gmtime_r(&w[i].mtime, &tm) != NULL);
			tm.tm_year--;
			CHECK(timegm(&tm) == l.li_v[i].e_mtime);
		}
		check_entries(&l, (const uint8_t *)text, len);
		check_pages(&l, "/pub/", dialect == 1);
		listing_free(&l);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct listing l;
	char title[65];
	time_t now = 1767225600;	/* 2026-01-01: runs repeat */
	size_t tn;

	if (size < 1 || size > 1 << 20)
		return 0;
	switch (data[0] % 3) {
	case 0:
	case 1:
		CHECK(parse(data + 1, size - 1, data[0] % 3, now, &l) == 0);
		check_entries(&l, data + 1, size - 1);
		/* The title: the client's path, decoded (anything). */
		tn = size - 1 < 64 ? size - 1 : 64;
		memcpy(title, data + size - tn, tn);
		title[tn] = '\0';
		check_pages(&l, title, data[0] & 0x80);
		listing_free(&l);
		break;
	default:
		round_trip(data + 1, size - 1, now);
		break;
	}
	return 0;
}
