/*
 * log.c - stderr logging in one format for every program.
 *
 * Each message is formatted whole and written with one write(2), so lines
 * from concurrent connections never interleave.  The access line, one per
 * connection, is on every program's hot path: it is put together with
 * memcpy and hand-written digits into one stack buffer (no stdio, no
 * locale, no allocation, no getpid(2) per line) and is the same bytes
 * the snprintf(3) formats once wrote.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define ACCESS_MAX	3072	/* an access line, every key (see below) */
#define LOGLINE_MAX	(ACCESS_MAX + 256)	/* an access line and its prefix */
#define PREFIX_MAX	(LOGLINE_MAX - ACCESS_MAX)

/* A line being put together: at most o_len - 1 bytes, as snprintf cuts. */
struct out {
	char	*o_buf;
	size_t	 o_len;
	size_t	 o_off;
};

static void	set_prefix(void);
static size_t	prefix_put(char *, const char *);
static char	*utoa(char *, unsigned long long);
static void	put(struct out *, const char *, size_t);
static void	put_c(struct out *, char);
static void	put_value(struct out *, const char *, size_t);
static void	put_key(struct out *, const char *, size_t, const char *,
		    size_t);
static void	put_num(struct out *, const char *, size_t,
		    unsigned long long);

static const char *log_name = "gtr";
static int log_level = LOG_NORMAL;
/* "NAME[pid]: ", made once (and again in a forked child); 0: too long. */
static char log_prefix[PREFIX_MAX];
static size_t log_prefix_len;

void
log_init(const char *progname, int verbosity)
{
	static int atfork;
	const char *slash;

	if ((slash = strrchr(progname, '/')) != NULL)
		progname = slash + 1;
	log_name = progname;
	log_level = verbosity;
	set_prefix();
	if (!atfork && pthread_atfork(NULL, NULL, set_prefix) == 0)
		atfork = 1;
}

/*
 * Makes "NAME[pid]: " for this process, leaving log_prefix_len 0 (and
 * vlog() on its snprintf path) when it and the longest level would not
 * fit PREFIX_MAX.  Runs in a forked child: no stdio, no allocation.
 */
static void
set_prefix(void)
{
	char pid[24], *p;
	size_t name, digits;

	log_prefix_len = 0;
	name = strlen(log_name);
	p = utoa(pid + sizeof(pid), (unsigned long long)getpid());
	digits = pid + sizeof(pid) - p;
	if (name + digits + sizeof("[]: warning: ") > PREFIX_MAX)
		return;
	memcpy(log_prefix, log_name, name);
	log_prefix[name] = '[';
	memcpy(log_prefix + name + 1, p, digits);
	memcpy(log_prefix + name + 1 + digits, "]: ", 3);
	log_prefix_len = name + digits + 4;
}

/*
 * Writes "NAME[pid]: LEVEL: " at line, which has PREFIX_MAX bytes;
 * returns its length, or 0 when the snprintf path must do it.
 */
static size_t
prefix_put(char *line, const char *level)
{
	size_t n = strlen(level);

	if (log_prefix_len == 0)
		return 0;
	memcpy(line, log_prefix, log_prefix_len);
	memcpy(line + log_prefix_len, level, n);
	memcpy(line + log_prefix_len + n, ": ", 2);
	return log_prefix_len + n + 2;
}

/* Writes v in decimal ending just before end; returns its first digit. */
static char *
utoa(char *end, unsigned long long v)
{
	do {
		*--end = '0' + v % 10;
		v /= 10;
	} while (v != 0);
	return end;
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
	char line[LOGLINE_MAX];
	int n, m;

	if ((n = prefix_put(line, level)) == 0)
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

static const char hex[] = "0123456789abcdef";

/* Whether byte c may stand in a logfmt value without quotes. */
#define PLAIN(c)	((c) > ' ' && (c) < 0x7f && (c) != '"' && \
			    (c) != '=' && (c) != '\\')

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
		if (!PLAIN(*p))
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
		} else if (*p < ' ' || *p >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 0xf];
		} else
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

/* Appends n bytes of s, cut where snprintf would cut the line. */
static void
put(struct out *w, const char *s, size_t n)
{
	size_t room = w->o_len - 1 - w->o_off;

	if (n > room)
		n = room;
	memcpy(w->o_buf + w->o_off, s, n);
	w->o_off += n;
}

static void
put_c(struct out *w, char c)
{
	if (w->o_off < w->o_len - 1)
		w->o_buf[w->o_off++] = c;
}

/* Appends the bytes log_value(s, buf, len) would make, in one pass. */
static void
put_value(struct out *w, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[4] = { '\\', 'x' };
	size_t o;

	while (PLAIN(*p))
		p++;
	if (*p == '\0' && p != (const unsigned char *)s &&
	    (size_t)(p - (const unsigned char *)s) < len) {
		put(w, s, (size_t)(p - (const unsigned char *)s));
		return;
	}
	put_c(w, '"');
	for (o = 1, p = (const unsigned char *)s; *p != '\0' && o + 6 < len;
	    p++) {
		if (*p == '"' || *p == '\\') {
			put_c(w, '\\');
			put_c(w, *p);
			o += 2;
		} else if (*p < ' ' || *p >= 0x7f) {
			esc[2] = hex[*p >> 4];
			esc[3] = hex[*p & 0xf];
			put(w, esc, sizeof(esc));
			o += sizeof(esc);
		} else {
			put_c(w, *p);
			o++;
		}
	}
	put_c(w, '"');
}

/*
 * Appends " key=value" (value as log_value() writes it, at most width
 * bytes, "-" when empty) unless value is NULL; no space before the first.
 */
static void
put_key(struct out *w, const char *key, size_t keylen, const char *value,
    size_t width)
{
	if (value == NULL)
		return;
	if (width > WIDTH_TARGET)
		width = WIDTH_TARGET;
	if (w->o_off > 0)
		put_c(w, ' ');
	put(w, key, keylen);
	put_c(w, '=');
	if (value[0] == '\0')
		put_c(w, '-');
	else
		put_value(w, value, width + 1);
}

/* Appends key (its space and "=" in it) and v in decimal. */
static void
put_num(struct out *w, const char *key, size_t keylen, unsigned long long v)
{
	char num[24], *p;

	p = utoa(num + sizeof(num), v);
	put(w, key, keylen);
	put(w, p, (size_t)(num + sizeof(num) - p));
}

#define KEY(w, k, v, width)	put_key((w), k, sizeof(k) - 1, (v), (width))
#define NUM(w, k, v)		put_num((w), k, sizeof(k) - 1, (v))

size_t
log_access_format(char *buf, size_t len, const struct access_line *al)
{
	char num[24], client[WIDTH_CLIENT];
	struct out w = { buf, len, 0 }, cw = { client, sizeof(client), 0 };
	const char *port, *reason;
	int v6;

	if (len == 0)
		return 0;
	NUM(&w, "conn=", al->al_conn);
	if (al->al_client_ip != NULL) {
		/* IPv6 in brackets, as every ADDR:PORT gtr writes. */
		v6 = strchr(al->al_client_ip, ':') != NULL;
		port = al->al_client_port != NULL ? al->al_client_port : "-";
		if (v6)
			put_c(&cw, '[');
		put(&cw, al->al_client_ip, strlen(al->al_client_ip));
		if (v6)
			put_c(&cw, ']');
		put_c(&cw, ':');
		put(&cw, port, strlen(port));
		client[cw.o_off] = '\0';
		KEY(&w, "client", client, WIDTH_CLIENT);
	}
	KEY(&w, "method", al->al_method, WIDTH_METHOD);
	KEY(&w, "target", al->al_target, WIDTH_TARGET);
	if (al->al_status >= 0) {
		num[sizeof(num) - 1] = '\0';
		KEY(&w, "status", al->al_status > 0 ?
		    utoa(num + sizeof(num) - 1, (unsigned)al->al_status) : "",
		    sizeof(num));
	}
	if (al->al_user != NULL && al->al_user[0] != '\0')
		KEY(&w, "user", al->al_user, WIDTH_USER);
	KEY(&w, "upstream", al->al_upstream, WIDTH_UPSTREAM);
	NUM(&w, " bytes_in=", al->al_bytes_in);
	NUM(&w, " bytes_out=", al->al_bytes_out);
	NUM(&w, " ms=", al->al_ms);
	reason = log_reason_name(al->al_reason);
	put(&w, " reason=", 8);
	put(&w, reason, strlen(reason));
	if (al->al_extra != NULL)
		put(&w, al->al_extra, strnlen(al->al_extra, WIDTH_EXTRA));
	buf[w.o_off] = '\0';
	return w.o_off;
}

/*
 * Logs the line with its prefix and newline in one write(2), formatted
 * straight into the one buffer.
 */
void
log_access(const struct access_line *al, int quiet)
{
	char line[LOGLINE_MAX];
	size_t n;

	if (log_level < (quiet ? LOG_DEBUG : LOG_NORMAL))
		return;
	if ((n = prefix_put(line, quiet ? "debug" : "info")) == 0) {
		/* A name too long for the prefix: vlog() cuts as it did. */
		log_access_format(line, ACCESS_MAX, al);
		if (quiet)
			log_debug("%s", line);
		else
			log_info("%s", line);
		return;
	}
	n += log_access_format(line + n, ACCESS_MAX, al);
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

void
log_assert(const char *file, int line, const char *what)
{
	log_error("assertion failed at %s:%d: %s", file, line, what);
	abort();
}
