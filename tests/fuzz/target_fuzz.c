/*
 * target_fuzz.c - libFuzzer harness for httpftpd's request targets and
 * credentials (cmd/httpftpd/target.c): ftp:// URLs in proxy form, paths
 * under a -c origin, and Authorization: Basic, the last checked against
 * the other Basic decoder gtr has (common/htpasswd.c, connectd's and
 * cgid's --auth).  The first byte picks which; the rest is the string.
 * The invariants:
 *
 *	- a location holds a host of the allowed characters, a port in
 *	  1-65535, credentials and a path without CR, LF or NUL;
 *	- its path is normalized: no leading '/', no empty, "." or ".."
 *	  segment, no ".." between backslashes; under an origin it is
 *	  inside the origin's directory;
 *	- written again as a URL (target_url()) or as a path
 *	  (target_encode()), it reads back as the same location, and the
 *	  URL never carries the credentials;
 *	- Basic credentials are the base64 decoding of the value, the user
 *	  the part before the first ':'; and both Basic decoders agree on
 *	  whether a value says user "alice", password "s3cret".
 *
 *	make fuzz FUZZERS=target [FUZZ_SECONDS=60]
 */
#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "htpasswd.h"
#include "httpftpd.h"
#include "fuzz.h"

#define INPUT_MAX	(3 * FTP_PATH_MAX)

static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void	 check_path(const struct ftp_loc *, const char *);
static void	 check_loc(const struct ftp_loc *);
static void	 url(const char *);
static void	 origin(const char *, int);
static int	 b64_strict(const char *, char *, size_t);
static struct htpasswd *table(void);
static void	 basic(const char *);

/* Aborts unless loc's path is normalized and below base. */
static void
check_path(const struct ftp_loc *loc, const char *base)
{
	const char *p = loc->fl_path, *seg, *end;
	size_t n, blen = strlen(base);

	CHECK(strpbrk(p, "\r\n") == NULL);
	CHECK(p[0] != '/');
	CHECK(strncmp(p, base, blen) == 0);
	CHECK(p[blen] == '\0' || p[blen] == '/' || blen == 0);
	if (*p == '\0')
		CHECK(loc->fl_slash);
	for (seg = p; *seg != '\0'; seg = *end != '\0' ? end + 1 : end) {
		end = seg + strcspn(seg, "/");
		n = end - seg;
		CHECK(n > 0);
		CHECK(!(n == 1 && seg[0] == '.'));
		CHECK(!(n == 2 && seg[0] == '.' && seg[1] == '.'));
		if (seg >= p + blen) {
			/* Windows servers split at backslashes too. */
			CHECK(memmem(seg, n, "\\..\\", 4) == NULL);
			CHECK(!(n >= 3 && memcmp(seg, "..\\", 3) == 0));
			CHECK(!(n >= 3 && memcmp(end - 3, "\\..", 3) == 0));
		}
		CHECK(*end != '/' || end[1] != '\0');	/* no trailing '/' */
	}
}

/* Aborts unless loc is a location httpftpd may connect to. */
static void
check_loc(const struct ftp_loc *loc)
{
	size_t n = strlen(loc->fl_host);

	CHECK(n > 0 && n < NET_HOSTLEN);
	CHECK(strspn(loc->fl_host, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%") == n);
	CHECK(loc->fl_port >= 1 && loc->fl_port <= 65535);
	CHECK(strpbrk(loc->fl_user, "\r\n") == NULL);
	CHECK(strpbrk(loc->fl_pass, "\r\n") == NULL);
	CHECK(loc->fl_has_user || loc->fl_user[0] == '\0');
}

/* Proxy form: an ftp:// URL, read, written again, read back. */
static void
url(const char *s)
{
	static struct ftp_loc loc, raw, back;
	static char out[3 * FTP_PATH_MAX + NET_HOSTLEN + 32];
	const char *err = NULL;

	if (target_parse_url(s, &loc, 1, &err) == -1) {
		CHECK(err != NULL);
		return;
	}
	check_loc(&loc);
	check_path(&loc, "");
	/* Without the path decoded, the rest is the same. */
	CHECK(target_parse_url(s, &raw, 0, &err) == 0);
	CHECK(strcmp(raw.fl_host, loc.fl_host) == 0 &&
	    raw.fl_port == loc.fl_port && raw.fl_tls == loc.fl_tls &&
	    strcmp(raw.fl_user, loc.fl_user) == 0 &&
	    strcmp(raw.fl_pass, loc.fl_pass) == 0);
	if (target_url(&loc, loc.fl_path, loc.fl_slash, out,
	    sizeof(out)) == -1)
		return;
	CHECK(strchr(out, '@') == NULL);
	CHECK(target_parse_url(out, &back, 1, &err) == 0);
	CHECK(strcmp(back.fl_host, loc.fl_host) == 0);
	CHECK(back.fl_port == loc.fl_port && back.fl_tls == loc.fl_tls);
	CHECK(strcmp(back.fl_path, loc.fl_path) == 0);
	CHECK(back.fl_slash == loc.fl_slash);
}

/* Origin form under -c ftp://127.0.0.1/BASE: resolved, then again. */
static void
origin(const char *s, int nested)
{
	static struct ftp_loc base, loc, back;
	static char enc[3 * FTP_PATH_MAX + 2];
	struct gateway gw;
	const char *err = NULL;
	size_t n;

	CHECK(target_parse_url(nested ? "ftp://127.0.0.1/pub/%2e%2e/x/b%20c" :
	    "ftp://127.0.0.1/", &base, 1, &err) == 0);
	CHECK(strcmp(base.fl_path, nested ? "x/b c" : "") == 0);
	memset(&gw, 0, sizeof(gw));
	gw.gw_origin = 1;
	gw.gw_base = &base;
	if (target_resolve(&gw, s, &loc, &err) == -1) {
		CHECK(err != NULL);
		return;
	}
	check_loc(&loc);
	check_path(&loc, base.fl_path);
	CHECK(strcmp(loc.fl_host, base.fl_host) == 0);
	/* The path below the base, as a client would ask for it again. */
	n = strlen(base.fl_path);
	enc[0] = '/';
	if (target_encode(loc.fl_path + n + (loc.fl_path[n] == '/'),
	    enc + 1, sizeof(enc) - 2) == sizeof(enc) - 2)
		return;
	if (loc.fl_slash && enc[1] != '\0')
		strcat(enc, "/");
	CHECK(target_resolve(&gw, enc, &back, &err) == 0);
	CHECK(strcmp(back.fl_path, loc.fl_path) == 0);
	CHECK(back.fl_slash == loc.fl_slash);
}

/*
 * Decodes base64 as RFC 4648 has it: groups of four, '=' only to pad
 * the last (the bits a short group leaves are not judged).  Returns the
 * length, or -1.
 */
static int
b64_strict(const char *s, char *out, size_t outlen)
{
	size_t n = strlen(s), i, o = 0;
	unsigned acc = 0;
	int bits = 0, pad = 0;
	const char *p;

	if (n == 0 || n % 4 != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (p = strchr(B64, s[i])) == NULL || s[i] == '\0')
			return -1;
		acc = acc << 6 | (unsigned)(p - B64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	if (pad > 2)
		return -1;
	out[o] = '\0';
	return (int)o;
}

/* The table for the other decoder: alice, s3cret, a cheap SHA-crypt. */
static struct htpasswd *
table(void)
{
	static struct htpasswd *au;
	struct crypt_data cd;
	char path[] = "/tmp/gtr-fuzz-htpasswd-XXXXXX", err[256];
	const char *hash;
	FILE *f;
	int fd;

	if (au != NULL)
		return au;
	memset(&cd, 0, sizeof(cd));
	CHECK((hash = crypt_r("s3cret", "$5$rounds=1000$fuzzsalt$",
	    &cd)) != NULL);
	CHECK((fd = mkstemp(path)) != -1 && (f = fdopen(fd, "w")) != NULL);
	fprintf(f, "alice:%s\n", hash);
	fclose(f);
	au = htpasswd_load(path, err, sizeof(err));
	unlink(path);
	CHECK(au != NULL);
	return au;
}

/* Authorization: Basic, decoded by httpftpd and by htpasswd.c. */
static void
basic(const char *s)
{
	static struct ftp_loc loc;
	char dec[2 * FTP_CRED_MAX + 8], user[HTPASSWD_USER_MAX];
	const char *v = s + 6;
	int rc, n, alice, ok;

	memset(&loc, 0, sizeof(loc));
	rc = target_basic_auth(s, &loc);
	CHECK(rc == -1 || rc == 0 || rc == 1);
	if (strncasecmp(s, "Basic ", 6) != 0) {
		CHECK(rc == 0);
		return;
	}
	while (*v == ' ')
		v++;
	n = b64_strict(v, dec, sizeof(dec));
	if (rc == 1) {
		CHECK(loc.fl_has_user);
		CHECK(strchr(loc.fl_user, ':') == NULL);
		CHECK(strpbrk(loc.fl_user, "\r\n") == NULL);
		CHECK(strpbrk(loc.fl_pass, "\r\n") == NULL);
		/* user ":" password is the whole of what the value says */
		CHECK(n >= 0);
		CHECK(strlen(loc.fl_user) + 1 + strlen(loc.fl_pass) ==
		    (size_t)n);
		CHECK(strncmp(dec, loc.fl_user, strlen(loc.fl_user)) == 0);
		CHECK(dec[strlen(loc.fl_user)] == ':');
		CHECK(strcmp(dec + strlen(loc.fl_user) + 1, loc.fl_pass) == 0);
	}
	/* Both decoders, one verdict on who this is. */
	alice = rc == 1 && strcmp(loc.fl_user, "alice") == 0 &&
	    strcmp(loc.fl_pass, "s3cret") == 0;
	ok = htpasswd_check(table(), s, user, sizeof(user));
	CHECK(ok == alice);
	CHECK(!ok || strcmp(user, "alice") == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char s[INPUT_MAX + 1];
	size_t n;

	if (size < 1 || size > INPUT_MAX)
		return 0;
	n = size - 1;
	memcpy(s, data + 1, n);
	s[n] = '\0';
	switch (data[0] % 4) {
	case 0:
		url(s);
		break;
	case 1:
		origin(s, 0);
		break;
	case 2:
		origin(s, 1);
		break;
	default:
		basic(s);
		break;
	}
	return 0;
}
