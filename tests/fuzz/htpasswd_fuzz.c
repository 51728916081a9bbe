/*
 * htpasswd_fuzz.c - libFuzzer harness for the htpasswd file reader
 * (common/htpasswd.c; connectd and cgid --auth).  The input is the file;
 * its last line, when it starts "#try ", names a user and a password to
 * check against what was read.  The invariants:
 *
 *	- a file read has a user line, and every line is blank, a comment
 *	  or USER:HASH with a user and a hash crypt(3) checks; a file
 *	  refused says why, naming the file;
 *	- a user's password is right exactly when crypt(3) says so of the
 *	  hash on the user's last line, and then that user is the one
 *	  named; an unknown user never is.
 *
 *	make fuzz FUZZERS=htpasswd [FUZZ_SECONDS=60]
 */
#include <sys/mman.h>

#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "htpasswd.h"
#include "fuzz.h"

#define INPUT_MAX	16384
#define TRY		"#try "

static int	 cheap(const char *);
static void	 b64(const char *, size_t, char *);
static void	 check_table(struct htpasswd *, char *);

/* Returns 1 if crypt(3) on this hash costs little (no slow families). */
static int
cheap(const char *hash)
{
	return (strncmp(hash, "$5$", 3) == 0 || strncmp(hash, "$6$", 3) ==
	    0 || strncmp(hash, "$1$", 3) == 0) && strstr(hash, "rounds=") ==
	    NULL;
}

/* The base64 of s, for an Authorization value. */
static void
b64(const char *s, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8 |
		    (unsigned char)s[i + 2];
		*out++ = tab[v >> 18];
		*out++ = tab[v >> 12 & 63];
		*out++ = tab[v >> 6 & 63];
		*out++ = tab[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned char)s[i] << 16;
		*out++ = tab[v >> 18];
		*out++ = tab[v >> 12 & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		v = (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8;
		*out++ = tab[v >> 18];
		*out++ = tab[v >> 12 & 63];
		*out++ = tab[v >> 6 & 63];
		*out++ = '=';
	}
	*out = '\0';
}

/*
 * Aborts unless the file read is as the top says; with a "#try USER
 * PASS" line, checks that password of that user.
 */
static void
check_table(struct htpasswd *au, char *text)
{
	static char *lines[INPUT_MAX + 1], value[8192], cred[4096];
	static struct crypt_data cd;
	char *line, *next, *colon, *try = NULL, *pass, user[HTPASSWD_USER_MAX];
	const char *hash = NULL, *res;
	int n = 0, i, users = 0, all_cheap = 1, ok, want;

	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		if (strncmp(line, TRY, strlen(TRY)) == 0)
			try = line + strlen(TRY);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		CHECK((colon = strchr(line, ':')) != NULL && colon > line);
		CHECK(crypt_checksalt(colon + 1) == CRYPT_SALT_OK ||
		    crypt_checksalt(colon + 1) == CRYPT_SALT_METHOD_LEGACY);
		CHECK(colon[1] == '$');
		all_cheap &= cheap(colon + 1);
		lines[n++] = line;
		users++;
	}
	CHECK(users > 0);
	/* A password tried, when every hash is cheap to check. */
	if (try == NULL || !all_cheap || (pass = strchr(try, ' ')) == NULL)
		return;
	*pass++ = '\0';
	for (i = 0; i < n; i++) {
		colon = strchr(lines[i], ':');
		if ((size_t)(colon - lines[i]) == strlen(try) &&
		    strncmp(lines[i], try, colon - lines[i]) == 0)
			hash = colon + 1;	/* the last line wins */
	}
	snprintf(cred, sizeof(cred), "%s:%s", try, pass);
	memcpy(value, "Basic ", 6);
	b64(cred, strlen(cred), value + 6);
	ok = htpasswd_check(au, value, user, sizeof(user));
	/* The decoded credentials must fit htpasswd.c's 1024 bytes. */
	want = hash != NULL && strchr(try, ':') == NULL &&
	    strlen(try) < sizeof(user) && strlen(cred) <= 1023 &&
	    (res = crypt_r(pass, hash, &cd)) != NULL && res[0] != '*' &&
	    strcmp(res, hash) == 0;
	CHECK(ok == want);
	CHECK(!ok || strcmp(user, try) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[INPUT_MAX + 1];
	struct htpasswd *au;
	const uint8_t *nul;
	char path[64], err[512];
	int fd;

	if (size > INPUT_MAX)
		return 0;
	if ((fd = memfd_create("htpasswd", 0)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	au = htpasswd_load(path, err, sizeof(err));
	close(fd);
	if (au == NULL) {
		CHECK(strncmp(err, path, strlen(path)) == 0);
		CHECK(strncmp(err + strlen(path), ": ", 2) == 0);
		CHECK(strlen(err) > strlen(path) + 2);
		return 0;
	}
	/*
	 * A NUL ends what the reader saw of a line (fgets, strcspn), and
	 * only the last line may hold one (fgets finds no LF after it).
	 */
	nul = memchr(data, '\0', size);
	CHECK(nul == NULL || memchr(nul, '\n', data + size - nul) == NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	check_table(au, text);
	htpasswd_free(au);
	return 0;
}
