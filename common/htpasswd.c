/*
 * htpasswd.c - htpasswd files checked with crypt_rn(3), re-read on SIGHUP.
 *
 * crypt(3) keeps its result in static storage and connections are served
 * in threads, so each check uses crypt_rn() with its own heap-allocated
 * struct crypt_data (about 32 KiB: too much for a small thread stack).
 *
 * The users are swapped under a rwlock on reload.  The file opened at
 * start is kept (close-on-exec): after -u, the user the program became
 * usually cannot open a 0600 root file, but a descriptor opened before
 * reads it still, as long as it is edited in place (htpasswd(1) does
 * that).  A file renamed over the old one is seen by its link count
 * dropping to 0, and said so, rather than the old users read again as
 * if they were new.
 *
 * A check is slow on purpose (bcrypt's cost), so the checks under way at
 * once are bounded by a counting semaphore of one slot per CPU the
 * process may run on: more would only share the same CPUs, more slowly,
 * and a guesser opening many connections would take them from the
 * tunnels.  A check waits for a slot until its caller's deadline.
 */
#include <sys/stat.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "htpasswd.h"
#include "clock.h"
#include "log.h"

#define AUTH_LINE_MAX	1024
#define AUTH_CRED_MAX	1024	/* decoded user:password */

struct auth_entry {
	char	*ae_user;
	char	*ae_hash;
};

/* The users of one reading of the file. */
struct users {
	struct auth_entry *us_entries;
	size_t	 us_n;
};

struct htpasswd {
	char		*au_path;
	int		 au_fd;		/* the file opened last that loaded */
	pthread_rwlock_t au_lock;	/* au_users against a reload */
	struct users	*au_users;
};

static int	 add_line(struct users *, char *, size_t, char *, size_t);
static struct users *users_read(int, const char *, char *, size_t);
static void	 users_free(struct users *);
static enum htpasswd_result users_verify(const struct users *,
		    const char *, uint64_t, char *, size_t);
static void	 slots_init(void);
static int	 slot_take(uint64_t);
static void	 slot_give(void);

/* The crypt(3) slots: see above. */
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_cv;
static int slots_free;
static int	 b64_decode(const char *, char *, size_t);
static int	 b64_value(int);
static int	 same_string(const char *, const char *);
static const char *hash_kind(const char *);

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
add_line(struct users *us, char *line, size_t lineno, char *err,
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
	e = reallocarray(us->us_entries, us->us_n + 1, sizeof(*e));
	if (e == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	us->us_entries = e;
	e = &us->us_entries[us->us_n];
	if ((e->ae_user = strdup(line)) == NULL ||
	    (e->ae_hash = strdup(colon + 1)) == NULL) {
		free(e->ae_user);
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	us->us_n++;
	return 0;
}

/*
 * Reads the users of the open file fd from its start (fd stays open and
 * is not moved for anyone but us).  Returns them, or NULL with
 * "PATH: why" in err.
 */
static struct users *
users_read(int fd, const char *path, char *err, size_t errlen)
{
	struct users *us;
	char line[AUTH_LINE_MAX], why[256];
	size_t lineno = 0;
	FILE *f;
	int dfd;

	if (lseek(fd, 0, SEEK_SET) == -1 ||
	    (dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((f = fdopen(dfd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(dfd);
		return NULL;
	}
	if ((us = calloc(1, sizeof(*us))) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(f);
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s: line %zu: too long", path,
			    lineno);
			goto fail;
		}
		if (add_line(us, line, lineno, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s: %s", path, why);
			goto fail;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (us->us_n == 0) {
		snprintf(err, errlen, "%s: no users", path);
		goto fail;
	}
	fclose(f);
	return us;
fail:
	fclose(f);
	users_free(us);
	return NULL;
}

static void
users_free(struct users *us)
{
	size_t i;

	if (us == NULL)
		return;
	for (i = 0; i < us->us_n; i++) {
		free(us->us_entries[i].ae_user);
		free(us->us_entries[i].ae_hash);
	}
	free(us->us_entries);
	free(us);
}

struct htpasswd *
htpasswd_load(const char *path, char *err, size_t errlen)
{
	struct htpasswd *au;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((au = calloc(1, sizeof(*au))) == NULL ||
	    (au->au_path = strdup(path)) == NULL ||
	    pthread_rwlock_init(&au->au_lock, NULL) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		if (au != NULL)
			free(au->au_path);
		free(au);
		close(fd);
		return NULL;
	}
	au->au_fd = fd;
	if ((au->au_users = users_read(fd, path, err, errlen)) == NULL) {
		htpasswd_free(au);
		return NULL;
	}
	return au;
}

void
htpasswd_reload(void *arg)
{
	struct htpasswd *au = arg;
	struct users *us, *old;
	struct stat st;
	char err[512];
	int fd, e = 0;

	if ((fd = open(au->au_path, O_RDONLY | O_CLOEXEC)) == -1) {
		e = errno;
		if (fstat(au->au_fd, &st) == -1 || st.st_nlink == 0) {
			log_warnx("unable to reload --auth %s: %s, and the "
			    "file opened at start was replaced or removed "
			    "since (make the new one readable to the -u user, "
			    "or restart); keeping the users read before",
			    au->au_path, strerror(e));
			return;
		}
		fd = au->au_fd;
	}
	if ((us = users_read(fd, au->au_path, err, sizeof(err))) == NULL) {
		log_warnx("unable to reload --auth %s; keeping the users read "
		    "before", err);
		if (fd != au->au_fd)
			close(fd);
		return;
	}
	pthread_rwlock_wrlock(&au->au_lock);
	old = au->au_users;
	au->au_users = us;
	pthread_rwlock_unlock(&au->au_lock);
	users_free(old);
	if (fd != au->au_fd) {
		close(au->au_fd);
		au->au_fd = fd;
		log_info("reloaded --auth %s", au->au_path);
	} else
		log_info("reloaded --auth %s through the descriptor opened at "
		    "start (open: %s)", au->au_path, strerror(e));
}

void
htpasswd_free(struct htpasswd *au)
{
	if (au == NULL)
		return;
	users_free(au->au_users);
	(void)pthread_rwlock_destroy(&au->au_lock);
	if (au->au_fd != -1)
		close(au->au_fd);
	free(au->au_path);
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
htpasswd_check(struct htpasswd *au, const char *value, char *user,
    size_t userlen)
{
	if (htpasswd_verify(au, value, 0, user, userlen) == HTPASSWD_OK)
		return 1;
	if (userlen > 0)
		user[0] = '\0';
	return 0;
}

enum htpasswd_result
htpasswd_verify(struct htpasswd *au, const char *value, uint64_t deadline,
    char *user, size_t userlen)
{
	enum htpasswd_result r;

	pthread_rwlock_rdlock(&au->au_lock);
	r = users_verify(au->au_users, value, deadline, user, userlen);
	pthread_rwlock_unlock(&au->au_lock);
	return r;
}

/* htpasswd_verify() against one reading of the file. */
static enum htpasswd_result
users_verify(const struct users *us, const char *value, uint64_t deadline,
    char *user, size_t userlen)
{
	struct crypt_data *cd;
	const char *hash = NULL, *res;
	char cred[AUTH_CRED_MAX], *pass;
	enum htpasswd_result r;
	size_t i;
	int ok;

	if (userlen > 0)
		user[0] = '\0';
	if (value == NULL || us->us_n == 0 ||
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
	for (i = 0; i < us->us_n; i++)
		if (strcmp(us->us_entries[i].ae_user, cred) == 0)
			hash = us->us_entries[i].ae_hash;
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
	res = crypt_rn(pass, hash != NULL ? hash : us->us_entries[0].ae_hash,
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
