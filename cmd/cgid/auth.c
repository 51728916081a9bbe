/*
 * auth.c - HTTP Basic credentials checked against an htpasswd file with
 * crypt_r(3) (bcrypt from htpasswd -B, SHA-crypt, yescrypt).
 *
 * Connections are served in threads and crypt(3) keeps its result in
 * static storage, so each check has its own struct crypt_data, on the
 * heap (about 32 KiB).
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cgid.h"

#define AUTH_LINE_MAX	1024
#define AUTH_CRED_MAX	1024

struct auth_user {
	char	*au_name;
	char	*au_hash;
};

struct auth {
	struct auth_user *a_users;
	size_t		 a_n;
};

static int	 b64_value(int);
static int	 b64_decode(const char *, char *, size_t);
static int	 same(const char *, const char *);
static int	 add_user(struct auth *, char *, char *, size_t);

static int
b64_value(int c)
{
	const char *set = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p;

	if (c == '\0' || (p = strchr(set, c)) == NULL)
		return -1;
	return p - set;
}

/* Decodes base64 into a string; returns its length, or -1. */
static int
b64_decode(const char *in, char *out, size_t outlen)
{
	size_t n = 0;
	unsigned int acc = 0;
	int bits = 0, v;

	for (; *in != '\0' && *in != '='; in++) {
		if ((v = b64_value((unsigned char)*in)) == -1)
			return -1;
		acc = ((acc << 6) | v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= outlen)
				return -1;
			out[n++] = (acc >> bits) & 0xff;
		}
	}
	out[n] = '\0';
	return memchr(out, '\0', n) != NULL ? -1 : (int)n;
}

/* Returns 1 if the strings are equal, reading all of both. */
static int
same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* Adds one "user:hash" line; returns 0, or -1 with the reason. */
static int
add_user(struct auth *a, char *line, char *err, size_t errlen)
{
	struct auth_user *u;
	char *colon;

	if ((colon = strchr(line, ':')) == NULL || colon == line) {
		(void)snprintf(err, errlen, "not user:hash");
		return -1;
	}
	*colon = '\0';
	if (colon[1] != '$' || crypt_checksalt(colon + 1) != CRYPT_SALT_OK) {
		(void)snprintf(err, errlen, "user %.64s: a hash crypt(3) "
		    "cannot check (use htpasswd -B)", line);
		return -1;
	}
	if ((u = reallocarray(a->a_users, a->a_n + 1, sizeof(*u))) == NULL) {
		(void)snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	a->a_users = u;
	u += a->a_n;
	if ((u->au_name = strdup(line)) == NULL ||
	    (u->au_hash = strdup(colon + 1)) == NULL) {
		(void)snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	a->a_n++;
	return 0;
}

struct auth *
auth_load(const char *file, char *err, size_t errlen)
{
	char line[AUTH_LINE_MAX], why[256];
	struct auth *a;
	size_t lineno = 0;
	FILE *f;

	if ((f = fopen(file, "r")) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto fail;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (add_user(a, line, why, sizeof(why)) == -1) {
			(void)snprintf(err, errlen, "%s: line %zu: %s", file,
			    lineno, why);
			(void)fclose(f);
			return NULL;
		}
	}
	if (ferror(f))
		goto fail;
	(void)fclose(f);
	if (a->a_n == 0) {
		(void)snprintf(err, errlen, "%s: no users", file);
		return NULL;
	}
	return a;
fail:
	(void)snprintf(err, errlen, "%s: %s", file, strerror(errno));
	(void)fclose(f);
	return NULL;
}

int
auth_check(const struct auth *a, const char *value, char *user,
    size_t userlen)
{
	static const char dummy[] =
	    "$2b$10$abcdefghijklmnopqrstuuDsmR6vTdhQ0Ud6eZz2oIv0QJ3Pn5bPG";
	struct crypt_data *cd;
	char cred[AUTH_CRED_MAX], *pass;
	const char *hash = dummy, *out;
	size_t i;
	int ok = 0;

	if (value == NULL || strncasecmp(value, "Basic ", 6) != 0)
		return 0;
	for (value += 6; *value == ' '; value++)
		;
	if (b64_decode(value, cred, sizeof(cred)) == -1 ||
	    (pass = strchr(cred, ':')) == NULL)
		return 0;
	*pass++ = '\0';
	for (i = 0; i < a->a_n; i++)
		if (strcmp(a->a_users[i].au_name, cred) == 0) {
			hash = a->a_users[i].au_hash;
			break;
		}
	/* An unknown user costs a hash too: no timing tells names apart. */
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 0;
	out = crypt_r(pass, hash, cd);
	if (out != NULL && out[0] != '*' && same(out, hash) && i < a->a_n &&
	    strlen(cred) < userlen) {
		(void)strcpy(user, cred);
		ok = 1;
	}
	explicit_bzero(cred, sizeof(cred));
	free(cd);
	return ok;
}
