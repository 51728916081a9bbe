/*
 * log.c - stderr logging in one format for every program.
 *
 * Each message is formatted whole and written with one write(2), so lines
 * from concurrent connections never interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define ACCESS_MAX	3072	/* an access line, every key (see below) */

static const char *log_name = "gtr";
static int log_level = LOG_NORMAL;

void
log_init(const char *progname, int verbosity)
{
	const char *slash;

	if ((slash = strrchr(progname, '/')) != NULL)
		progname = slash + 1;
	log_name = progname;
	log_level = verbosity;
}

int
log_verbosity(void)
{
	return log_level;
}

void
log_version(void)
{
	printf("%s %s\n", log_name, GTR_VERSION);
}

const char *
log_progname(void)
{
	return log_name;
}

/* Writes one line; err is an errno value to append, or 0. */
static void
vlog(const char *level, int err, const char *fmt, va_list ap)
{
	char line[ACCESS_MAX + 256];	/* an access line and its prefix */
	int n, m;

	n = snprintf(line, sizeof(line), "%s[%ld]: %s: ", log_name,
	    (long)getpid(), level);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	if (err != 0)
		n += snprintf(line + n, sizeof(line) - 1 - n, ": %s",
		    strerror(err));
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

#define LOG_BODY(level, err) do {		\
	va_list ap;				\
	va_start(ap, fmt);			\
	vlog((level), (err), fmt, ap);		\
	va_end(ap);				\
} while (0)

void
log_warn(const char *fmt, ...)
{
	int saved = errno;

	if (log_level >= LOG_NORMAL)
		LOG_BODY("warning", saved);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	if (log_level >= LOG_NORMAL)
		LOG_BODY("warning", 0);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY("error", 0);
}

void
log_info(const char *fmt, ...)
{
	if (log_level >= LOG_NORMAL)
		LOG_BODY("info", 0);
}

void
log_debug(const char *fmt, ...)
{
	if (log_level >= LOG_DEBUG)
		LOG_BODY("debug", 0);
}

void
fatal(int code, const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY("error", saved);
	exit(code);
}

void
fatalx(int code, const char *fmt, ...)
{
	LOG_BODY("error", 0);
	exit(code);
}

/*
 * Formats s as a logfmt value: as is when it is a plain word, else
 * quoted with " \ and control bytes escaped.  Returns buf.
 */
const char *
log_value(const char *s, char *buf, size_t len)
{
	const unsigned char *p;
	size_t o = 0;
	int plain = *s != '\0';

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '=' ||
		    *p == '\\')
			plain = 0;
	if (plain && strlen(s) < len) {
		memcpy(buf, s, strlen(s) + 1);
		return buf;
	}
	buf[o++] = '"';
	for (p = (const unsigned char *)s; *p != '\0' && o + 6 < len; p++) {
		if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = *p;
		} else if (*p < ' ' || *p >= 0x7f)
			o += snprintf(buf + o, len - o, "\\x%02x", *p);
		else
			buf[o++] = *p;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static const char *const reason_names[REASON_COUNT] = {
	[REASON_DONE] = "done",
	[REASON_CLIENT_CLOSED] = "client_closed",
	[REASON_UPSTREAM_CLOSED] = "upstream_closed",
	[REASON_IDLE_TIMEOUT] = "idle_timeout",
	[REASON_HEADER_TIMEOUT] = "header_timeout",
	[REASON_GRACE] = "grace",
	[REASON_POLICY] = "policy",
	[REASON_AUTH] = "auth",
	[REASON_BAD_REQUEST] = "bad_request",
	[REASON_UPSTREAM_ERROR] = "upstream_error",
	[REASON_UPSTREAM_TIMEOUT] = "upstream_timeout",
	[REASON_TLS_ERROR] = "tls_error",
	[REASON_INTERNAL_ERROR] = "internal_error",
};

const char *
log_reason_name(enum log_reason r)
{
	return (unsigned)r < REASON_COUNT ? reason_names[r] : "internal_error";
}

/*
 * The widest each value may be written, escaped: a client's long target
 * is cut (its quote closed) rather than the keys after it, so every line
 * has every key.  With the program's own keys, a line fits ACCESS_MAX.
 */
#define WIDTH_METHOD	64
#define WIDTH_TARGET	1024
#define WIDTH_USER	256
#define WIDTH_UPSTREAM	300
#define WIDTH_CLIENT	128
#define WIDTH_EXTRA	700

/*
 * Appends " key=value" (value through log_value(), at most width bytes)
 * unless value is NULL; returns the new length.
 */
static size_t
access_key(char *buf, size_t len, size_t o, const char *key,
    const char *value, size_t width)
{
	char v[WIDTH_TARGET + 1];
	int n;

	if (value == NULL || o >= len)
		return o;
	if (width > sizeof(v) - 1)
		width = sizeof(v) - 1;
	n = snprintf(buf + o, len - o, "%s%s=%s", o > 0 ? " " : "", key,
	    value[0] == '\0' ? "-" : log_value(value, v, width + 1));
	if (n < 0)
		return o;
	return o + (size_t)n < len ? o + (size_t)n : len - 1;
}

size_t
log_access_format(char *buf, size_t len, const struct access_line *al)
{
	char num[32], client[WIDTH_CLIENT];
	size_t o = 0;
	int n;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	snprintf(num, sizeof(num), "%lu", al->al_conn);
	o = access_key(buf, len, o, "conn", num, sizeof(num));
	if (al->al_client_ip != NULL) {
		/* IPv6 in brackets, as every ADDR:PORT gtr writes. */
		snprintf(client, sizeof(client),
		    strchr(al->al_client_ip, ':') != NULL ? "[%s]:%s" : "%s:%s",
		    al->al_client_ip, al->al_client_port != NULL ?
		    al->al_client_port : "-");
		o = access_key(buf, len, o, "client", client, WIDTH_CLIENT);
	}
	o = access_key(buf, len, o, "method", al->al_method, WIDTH_METHOD);
	o = access_key(buf, len, o, "target", al->al_target, WIDTH_TARGET);
	if (al->al_status >= 0) {
		snprintf(num, sizeof(num), "%d", al->al_status);
		o = access_key(buf, len, o, "status",
		    al->al_status > 0 ? num : "", sizeof(num));
	}
	if (al->al_user != NULL && al->al_user[0] != '\0')
		o = access_key(buf, len, o, "user", al->al_user, WIDTH_USER);
	o = access_key(buf, len, o, "upstream", al->al_upstream,
	    WIDTH_UPSTREAM);
	n = snprintf(buf + o, len - o, " bytes_in=%llu bytes_out=%llu ms=%llu "
	    "reason=%s%.*s", al->al_bytes_in, al->al_bytes_out, al->al_ms,
	    log_reason_name(al->al_reason), WIDTH_EXTRA,
	    al->al_extra != NULL ? al->al_extra : "");
	if (n > 0)
		o = o + (size_t)n < len ? o + (size_t)n : len - 1;
	return o;
}

void
log_access(const struct access_line *al, int quiet)
{
	char line[ACCESS_MAX];

	if (log_level < (quiet ? LOG_DEBUG : LOG_NORMAL))
		return;
	log_access_format(line, sizeof(line), al);
	if (quiet)
		log_debug("%s", line);
	else
		log_info("%s", line);
}

void
log_assert(const char *file, int line, const char *what)
{
	log_error("assertion failed at %s:%d: %s", file, line, what);
	abort();
}
