/*
 * htpasswd.c - htpasswd files checked with crypt_rn(3).
 *
 * crypt(3) keeps its result in static storage and connections are served
 * in threads, so each check uses crypt_rn() with its own heap-allocated
 * struct crypt_data (about 32 KiB: too much for a small thread stack).
 *
 * A check is slow on purpose (bcrypt's cost), so the checks under way at
 * once are bounded by a counting semaphore of one slot per CPU the
 * process may run on: more would only share the same CPUs, more slowly,
 * and a guesser opening many connections would take them from the
 * tunnels.  A check waits for a slot until its caller's deadline.
 */
#include <sched.h>
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "htpasswd.h"
#include "log.h"

#define AUTH_LINE_MAX	1024
#define AUTH_CRED_MAX	1024	/* decoded user:password */

struct auth_entry {
	char	*ae_user;
	char	*ae_hash;
};

struct htpasswd {
	struct auth_entry *au_entries;
	size_t	 au_n;
};

static int	 add_line(struct htpasswd *, char *, size_t, char *, size_t);
static int	 b64_decode(const char *, char *, size_t);
static int	 b64_value(int);
static int	 same_string(const char *, const char *);
static const char *hash_kind(const char *);
static void	 slots_init(void);
static int	 slot_take(uint64_t);
static void	 slot_give(void);

/* The crypt(3) slots: see above. */
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_cv;
static int slots_free;

/* Returns the name of a hash family crypt(3) does not know, or NULL. */
static const char *
hash_kind(const char *hash)
{
	if (strncmp(hash, "$apr1$", 6) == 0)
		return "MD5 ($apr1$, htpasswd's default; use htpasswd -B)";
	if (strncmp(hash, "{SHA}", 5) == 0)
		return "SHA-1 ({SHA}, htpasswd -s; use htpasswd -B)";
	if (crypt_checksalt(hash) != CRYPT_SALT_OK &&
	    crypt_checksalt(hash) != CRYPT_SALT_METHOD_LEGACY)
		return "unknown";
	if (hash[0] != '$')
		return "DES (htpasswd -d; use htpasswd -B)";
	return NULL;
}

/* Returns 0 after adding one "user:hash" line, or -1 with err set. */
static int
add_line(struct htpasswd *au, char *line, size_t lineno, char *err,
    size_t errlen)
{
	struct auth_entry *e;
	const char *bad;
	char *colon;

	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0' || line[0] == '#')
		return 0;
	if ((colon = strchr(line, ':')) == NULL || colon == line) {
		snprintf(err, errlen, "line %zu: not user:hash", lineno);
		return -1;
	}
	*colon = '\0';
	if ((bad = hash_kind(colon + 1)) != NULL) {
		snprintf(err, errlen, "line %zu: user %.64s: hash kind %s "
		    "is not supported by crypt(3)", lineno, line, bad);
		return -1;
	}
	e = reallocarray(au->au_entries, au->au_n + 1, sizeof(*e));
	if (e == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	au->au_entries = e;
	e = &au->au_entries[au->au_n];
	if ((e->ae_user = strdup(line)) == NULL ||
	    (e->ae_hash = strdup(colon + 1)) == NULL) {
		free(e->ae_user);
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	au->au_n++;
	return 0;
}

struct htpasswd *
htpasswd_load(const char *path, char *err, size_t errlen)
{
	struct htpasswd *au;
	char line[AUTH_LINE_MAX];
	size_t lineno = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((au = calloc(1, sizeof(*au))) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(f);
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char why[256];

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s: line %zu: too long", path,
			    lineno);
			goto fail;
		}
		if (add_line(au, line, lineno, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s: %s", path, why);
			goto fail;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (au->au_n == 0) {
		snprintf(err, errlen, "%s: no users", path);
		goto fail;
	}
	fclose(f);
	return au;
fail:
	fclose(f);
	htpasswd_free(au);
	return NULL;
}

void
htpasswd_free(struct htpasswd *au)
{
	size_t i;

	if (au == NULL)
		return;
	for (i = 0; i < au->au_n; i++) {
		free(au->au_entries[i].ae_user);
		free(au->au_entries[i].ae_hash);
	}
	free(au->au_entries);
	free(au);
}

/* Returns the 6-bit value of a base64 character, or -1. */
static int
b64_value(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/*
 * Decodes padded base64 into a NUL-terminated string.  Returns its
 * length, or -1 if s is not base64, does not fit, or holds a NUL.
 */
static int
b64_decode(const char *s, char *out, size_t outlen)
{
	size_t len = strlen(s), i, o = 0;
	int v[4], k;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 >= outlen)
		return -1;
	for (i = 0; i < len; i += 4) {
		for (k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == len && k >= 2)
				v[k] = -2;
			else if ((v[k] = b64_value(s[i + k])) == -1)
				return -1;
		}
		if (v[2] == -2 && v[3] != -2)
			return -1;
		out[o++] = v[0] << 2 | v[1] >> 4;
		if (v[2] >= 0)
			out[o++] = (v[1] & 0xf) << 4 | v[2] >> 2;
		if (v[3] >= 0)
			out[o++] = (v[2] & 0x3) << 6 | v[3];
	}
	out[o] = '\0';
	if (strlen(out) != o)
		return -1;
	return (int)o;
}

/* Returns 1 if a and b are equal, in time that depends on their lengths. */
static int
same_string(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, n;
	unsigned char d = 0;

	n = la > lb ? la : lb;
	for (i = 0; i < n; i++)
		d |= (unsigned char)(i < la ? a[i] : 0) ^
		    (unsigned char)(i < lb ? b[i] : 0);
	return d == 0 && la == lb;
}

/* Sets up one slot per CPU this process may run on (at least one). */
static void
slots_init(void)
{
	pthread_condattr_t ca;
	cpu_set_t set;
	long n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n < 1)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	slots_free = n < 1 ? 1 : (int)n;
	/* Deadlines are now_ms()'s: the monotonic clock. */
	AZ(pthread_condattr_init(&ca));
	AZ(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
	AZ(pthread_cond_init(&slots_cv, &ca));
	pthread_condattr_destroy(&ca);
}

/*
 * Takes a crypt(3) slot, waiting for one until deadline (0: as long as
 * it takes).  Returns 0, or -1 if none came free in time.
 */
static int
slot_take(uint64_t deadline)
{
	struct timespec ts;
	uint64_t now;
	int rc = 0;

	pthread_once(&slots_once, slots_init);
	pthread_mutex_lock(&slots_mu);
	while (slots_free == 0) {
		if (deadline == 0) {
			pthread_cond_wait(&slots_cv, &slots_mu);
			continue;
		}
		if ((now = now_ms()) >= deadline) {
			rc = -1;
			break;
		}
		ts = clock_after(CLOCK_MONOTONIC, deadline - now);
		(void)pthread_cond_timedwait(&slots_cv, &slots_mu, &ts);
	}
	if (rc == 0)
		slots_free--;
	pthread_mutex_unlock(&slots_mu);
	return rc;
}

/* Gives a slot back and wakes one check waiting for it. */
static void
slot_give(void)
{
	pthread_mutex_lock(&slots_mu);
	slots_free++;
	pthread_cond_signal(&slots_cv);
	pthread_mutex_unlock(&slots_mu);
}

int
htpasswd_check(const struct htpasswd *au, const char *value, char *user,
    size_t userlen)
{
	if (htpasswd_verify(au, value, 0, user, userlen) == HTPASSWD_OK)
		return 1;
	if (userlen > 0)
		user[0] = '\0';
	return 0;
}

enum htpasswd_result
htpasswd_verify(const struct htpasswd *au, const char *value,
    uint64_t deadline, char *user, size_t userlen)
{
	struct crypt_data *cd;
	const char *hash = NULL, *res;
	char cred[AUTH_CRED_MAX], *pass;
	enum htpasswd_result r;
	size_t i;
	int ok;

	if (userlen > 0)
		user[0] = '\0';
	if (value == NULL || au->au_n == 0 ||
	    strncasecmp(value, "Basic", 5) != 0 || value[5] != ' ')
		return HTPASSWD_NONE;
	value += 6;
	while (*value == ' ')
		value++;
	if (b64_decode(value, cred, sizeof(cred)) == -1 ||
	    (pass = strchr(cred, ':')) == NULL) {
		explicit_bzero(cred, sizeof(cred));
		return HTPASSWD_MALFORMED;
	}
	*pass++ = '\0';
	if (userlen > 0)
		(void)snprintf(user, userlen, "%s", cred);
	for (i = 0; i < au->au_n; i++)
		if (strcmp(au->au_entries[i].ae_user, cred) == 0)
			hash = au->au_entries[i].ae_hash;
	/* An unknown user costs a real hash too: no timing oracle. */
	if (slot_take(deadline) == -1) {
		explicit_bzero(cred, sizeof(cred));
		return HTPASSWD_BUSY;
	}
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		slot_give();
		explicit_bzero(cred, sizeof(cred));
		return HTPASSWD_BUSY;
	}
	res = crypt_rn(pass, hash != NULL ? hash : au->au_entries[0].ae_hash,
	    cd, sizeof(*cd));
	ok = hash != NULL && res != NULL && res[0] != '*' &&
	    same_string(res, hash);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	slot_give();
	if (hash == NULL)
		r = HTPASSWD_UNKNOWN_USER;
	else if (!ok)
		r = HTPASSWD_WRONG_PASSWORD;
	else if (strlen(cred) >= userlen)
		r = HTPASSWD_UNKNOWN_USER;	/* a name the caller cannot hold */
	else
		r = HTPASSWD_OK;
	explicit_bzero(cred, sizeof(cred));
	return r;
}

void
htpasswd_log_failure(unsigned long conn, const char *ip, const char *port,
    const char *user, enum htpasswd_result r)
{
	char name[LOG_VALUE_MAX(HTPASSWD_USER_MAX)];
	const char *why;

	switch (r) {
	case HTPASSWD_MALFORMED:
		why = "malformed";
		break;
	case HTPASSWD_UNKNOWN_USER:
		why = "unknown_user";
		break;
	case HTPASSWD_WRONG_PASSWORD:
		why = "wrong_password";
		break;
	default:
		return;
	}
	log_info(strchr(ip, ':') != NULL ?
	    "auth_failed conn=%lu client=[%s]:%s user=%s failure=%s" :
	    "auth_failed conn=%lu client=%s:%s user=%s failure=%s", conn, ip,
	    port, user[0] != '\0' ? log_value(user, name, sizeof(name)) : "-",
	    why);
}
