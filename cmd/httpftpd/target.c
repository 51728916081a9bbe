/*
 * target.c - from a request target to an FTP location.
 *
 * Everything is decoded once, checked for CR, LF and NUL (no FTP command
 * can be smuggled in), and normalized before any FTP command exists:
 * "." and ".." are resolved here, so nothing can climb above the origin's
 * directory, and the path handed to libcurl is re-encoded segment by
 * segment from the normalized form.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpftpd.h"

static int	decode(const char *, size_t, char *, size_t, size_t *);
static int	has_ctl(const char *, size_t);
static int	normalize(const char *, size_t, const char *, struct ftp_loc *);
static int	b64val(int);
static int	dotdot_hidden(const char *, size_t);

/*
 * Returns 1 if a segment holds ".." between backslashes ("..\x",
 * "a\.."): servers on Windows split there, and would climb.
 */
static int
dotdot_hidden(const char *seg, size_t n)
{
	size_t i, start = 0;

	if (memchr(seg, '\\', n) == NULL)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || seg[i] == '\\') {
			if (i - start == 2 && seg[start] == '.' &&
			    seg[start + 1] == '.')
				return 1;
			start = i + 1;
		}
	}
	return 0;
}

/*
 * Percent-decodes n bytes of s into out; returns 0, or -1 if malformed.
 * The decoder is http.c's; CR, LF and NUL are has_ctl()'s to refuse.
 */
static int
decode(const char *s, size_t n, char *out, size_t outlen, size_t *outn)
{
	return http_pct_decode(s, n, out, outlen, outn);
}

/* Returns 1 if s holds a CR, LF or NUL: an FTP command could hide there. */
static int
has_ctl(const char *s, size_t n)
{
	return memchr(s, '\r', n) != NULL || memchr(s, '\n', n) != NULL ||
	    memchr(s, '\0', n) != NULL;
}

/*
 * Decodes the raw path (n bytes, query excluded), resolves "." and ".."
 * without ever leaving the root, and stores base + path in loc.  Returns
 * 0, or -1 if it is malformed or holds a forbidden byte.
 */
static int
normalize(const char *raw, size_t n, const char *base, struct ftp_loc *loc)
{
	char dec[FTP_PATH_MAX], out[FTP_PATH_MAX];
	size_t dn, o = 0, seglen;
	char *p, *seg, *end;
	int slash = 0;

	if (decode(raw, n, dec, sizeof(dec), &dn) == -1 || has_ctl(dec, dn))
		return -1;
	out[0] = '\0';
	if (base != NULL && *base != '\0') {
		if ((o = strlen(base)) >= sizeof(out))
			return -1;
		memcpy(out, base, o + 1);
	}
	slash = dn == 0 || dec[dn - 1] == '/';
	for (p = dec; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		if ((end = strchr(p, '/')) == NULL)
			end = p + strlen(p);
		seg = p;
		seglen = end - p;
		if (seglen == 0)
			continue;
		if (seglen == 1 && seg[0] == '.') {
			slash = 1;
			continue;
		}
		if (dotdot_hidden(seg, seglen))
			return -1;
		if (seglen == 2 && seg[0] == '.' && seg[1] == '.') {
			slash = 1;
			/* never above the base: base segments are not ours */
			if (o > (base ? strlen(base) : 0)) {
				while (o > 0 && out[o - 1] != '/')
					o--;
				if (o > 0)
					o--;
				if (base != NULL && o < strlen(base))
					o = strlen(base);
				out[o] = '\0';
			}
			continue;
		}
		if (o + seglen + 2 >= sizeof(out))
			return -1;
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, seg, seglen);
		o += seglen;
		out[o] = '\0';
		if (*end == '\0')
			slash = 0;
	}
	if (dn > 0 && dec[dn - 1] == '/')
		slash = 1;
	memcpy(loc->fl_path, out, o + 1);
	loc->fl_slash = slash || o == 0;
	return 0;
}

/*
 * Parses "ftp://[user[:pass]@]host[:port]/path" (or ftps://) into loc,
 * the path decoded and normalized when decode_path is set.  Returns 0,
 * or -1 with a reason in *err.
 */
int
target_parse_url(const char *url, struct ftp_loc *loc, int decode_path,
    const char **err)
{
	const char *auth, *path, *at, *colon, *q, *hend;
	char port[8], tmp[FTP_CRED_MAX];
	size_t n, hl;
	long long v;

	memset(loc, 0, sizeof(*loc));
	if (strncasecmp(url, "ftp://", 6) == 0) {
		auth = url + 6;
		loc->fl_port = 21;
	} else if (strncasecmp(url, "ftps://", 7) == 0) {
		auth = url + 7;
		loc->fl_tls = 1;
		loc->fl_port = 990;
	} else {
		*err = "only ftp:// and ftps:// URLs are served";
		return -1;
	}
	path = auth + strcspn(auth, "/?#");
	if ((at = memchr(auth, '@', path - auth)) != NULL) {
		/* the last '@' ends the userinfo */
		while ((q = memchr(at + 1, '@', path - at - 1)) != NULL)
			at = q;
		colon = memchr(auth, ':', at - auth);
		n = (colon ? colon : at) - auth;
		if (decode(auth, n, loc->fl_user, sizeof(loc->fl_user),
		    &n) == -1 || has_ctl(loc->fl_user, n)) {
			*err = "bad user name in the URL";
			return -1;
		}
		loc->fl_has_user = 1;
		if (colon != NULL) {
			if (decode(colon + 1, at - colon - 1, tmp, sizeof(tmp),
			    &n) == -1 || has_ctl(tmp, n)) {
				*err = "bad password in the URL";
				return -1;
			}
			memcpy(loc->fl_pass, tmp, n + 1);
			loc->fl_pass_given = 1;
		}
		auth = at + 1;
	}
	if (*auth == '[') {
		if ((hend = memchr(auth, ']', path - auth)) == NULL) {
			*err = "bad IPv6 address in the URL";
			return -1;
		}
		hl = hend - auth - 1;
		memcpy(loc->fl_host, auth + 1, hl < NET_HOSTLEN ? hl : 0);
		hend++;
	} else {
		hend = memchr(auth, ':', path - auth);
		if (hend == NULL)
			hend = path;
		hl = hend - auth;
		if (hl < NET_HOSTLEN)
			memcpy(loc->fl_host, auth, hl);
	}
	if (hl == 0 || hl >= NET_HOSTLEN ||
	    strspn(loc->fl_host, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%") != hl) {
		*err = "bad host in the URL";
		return -1;
	}
	if (*hend == ':') {
		n = path - hend - 1;
		if (n == 0 || n >= sizeof(port)) {
			*err = "bad port in the URL";
			return -1;
		}
		memcpy(port, hend + 1, n);
		port[n] = '\0';
		if (opts_number(port, 1, 65535, &v) == -1) {
			*err = "bad port in the URL";
			return -1;
		}
		loc->fl_port = (unsigned)v;
	} else if (hend != path) {
		*err = "bad host in the URL";
		return -1;
	}
	if (!decode_path)
		return 0;
	if (normalize(path, strcspn(path, "?#"), NULL, loc) == -1) {
		*err = "bad path: malformed escape, CR, LF or NUL";
		return -1;
	}
	return 0;
}

/*
 * Fills loc from a request target: an ftp:// URL in proxy form, or a
 * path under the -c origin.  Returns 0, or -1 with a reason in *err.
 */
int
target_resolve(const struct gateway *gw, const char *target,
    struct ftp_loc *loc, const char **err)
{
	const char *p;

	if (!gw->gw_origin)
		return target_parse_url(target, loc, 1, err);
	/* absolute form, as RFC 9112 says a server must accept it */
	if ((p = strstr(target, "://")) != NULL &&
	    (strncasecmp(target, "http://", 7) == 0 ||
	    strncasecmp(target, "https://", 8) == 0)) {
		p += 3;
		p += strcspn(p, "/?#");
		target = *p == '/' ? p : "/";
	}
	if (target[0] != '/') {
		*err = "origin form (/path) expected";
		return -1;
	}
	*loc = *gw->gw_base;
	if (normalize(target, strcspn(target, "?#"), gw->gw_base->fl_path,
	    loc) == -1) {
		*err = "bad path: malformed escape, CR, LF or NUL";
		return -1;
	}
	return 0;
}

static int
b64val(int c)
{
	const char *tab =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p;

	if (c == '\0' || (p = strchr(tab, c)) == NULL)
		return -1;
	return p - tab;
}

/*
 * Takes user and password from an Authorization: Basic value.  Returns
 * 1 if it set them, 0 if the value is not Basic, -1 if it is malformed
 * (not padded base64 and nothing after it, as htpasswd.c reads it too)
 * or holds CR, LF or NUL.
 */
int
target_basic_auth(const char *value, struct ftp_loc *loc)
{
	char dec[2 * FTP_CRED_MAX], *colon;
	size_t o = 0, n = 0, pad = 0;
	unsigned acc = 0;
	int bits = 0, v;

	if (strncasecmp(value, "Basic ", 6) != 0)
		return 0;
	for (value += 6; *value == ' '; value++)
		;
	for (; *value != '\0' && *value != '='; value++, n++) {
		if ((v = b64val((unsigned char)*value)) == -1)
			return -1;
		acc = acc << 6 | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= sizeof(dec))
				return -1;
			dec[o++] = (char)(acc >> bits & 0xff);
		}
	}
	for (; *value == '='; value++)
		pad++;
	if (*value != '\0' || pad > 2 || (n + pad) % 4 != 0)
		return -1;
	dec[o] = '\0';
	if (has_ctl(dec, o) || (colon = strchr(dec, ':')) == NULL)
		return -1;
	*colon = '\0';
	if (strlen(dec) >= sizeof(loc->fl_user) ||
	    strlen(colon + 1) >= sizeof(loc->fl_pass))
		return -1;
	memcpy(loc->fl_user, dec, strlen(dec) + 1);
	memcpy(loc->fl_pass, colon + 1, strlen(colon + 1) + 1);
	loc->fl_has_user = 1;
	explicit_bzero(dec, sizeof(dec));
	return 1;
}

/*
 * Percent-encodes s (every byte but unreserved ones and '/') into out;
 * returns the length, or outlen if it does not fit.
 */
size_t
target_encode(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (isalnum(c) || strchr("-._~/", c) != NULL) {
			if (o + 1 >= outlen)
				return outlen;
			out[o++] = c;
		} else {
			if (o + 3 >= outlen)
				return outlen;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

/*
 * Writes the URL of path in loc's server (with "/" appended when slash
 * is set), never with credentials: libcurl gets those separately and logs
 * must not see them.  Returns 0, or -1 if it does not fit.
 */
int
target_url(const struct ftp_loc *loc, const char *path, int slash,
    char *out, size_t outlen)
{
	char enc[3 * FTP_PATH_MAX + 1];
	int n, v6;

	if (target_encode(path, enc, sizeof(enc)) == sizeof(enc))
		return -1;
	v6 = strchr(loc->fl_host, ':') != NULL;
	n = snprintf(out, outlen, "%s://%s%s%s:%u/%s%s",
	    loc->fl_tls ? "ftps" : "ftp", v6 ? "[" : "", loc->fl_host,
	    v6 ? "]" : "", loc->fl_port, enc,
	    slash && *path != '\0' ? "/" : "");
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
