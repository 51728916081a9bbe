/*
 * log.h - one line per message on stderr: "NAME[pid]: LEVEL: message".
 *
 * The only code in common/ that may print.  fatal() and fatalx() exit and
 * are for main() and start-up only; connection code never exits.
 */
#ifndef GTR_LOG_H
#define GTR_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define LOG_QUIET	-1	/* -q: errors only */
#define LOG_NORMAL	0
#define LOG_DEBUG	1	/* -v */

#define PRINTFLIKE(n, m) __attribute__((format(printf, n, m)))

void	log_init(const char *progname, int verbosity);
void	log_version(void);	/* -V: "NAME VERSION" on stdout */
int	log_verbosity(void);
const char *log_progname(void);
void	log_warn(const char *, ...) PRINTFLIKE(1, 2);	/* appends strerror */
void	log_warnx(const char *, ...) PRINTFLIKE(1, 2);
void	log_error(const char *, ...) PRINTFLIKE(1, 2);
void	log_info(const char *, ...) PRINTFLIKE(1, 2);
void	log_debug(const char *, ...) PRINTFLIKE(1, 2);
void	fatal(int code, const char *, ...) PRINTFLIKE(2, 3)
	    __attribute__((noreturn));			/* appends strerror */
void	fatalx(int code, const char *, ...) PRINTFLIKE(2, 3)
	    __attribute__((noreturn));

/*
 * Formats s as a logfmt value for access lines: as it is when it is a
 * plain word, else quoted with " \ and control bytes escaped.  buf needs
 * LOG_VALUE_MAX(strlen(s)) bytes for nothing to be cut.  Returns buf.
 */
#define LOG_VALUE_MAX(n)	((n) * 4 + 3)
const char *log_value(const char *s, char *buf, size_t len);

/*
 * Why an exchange or a tunnel ended: the one vocabulary of the access
 * line's reason= key in every program (gtr(7) lists it).
 */
enum log_reason {
	REASON_DONE,		/* the exchange completed */
	REASON_CLIENT_CLOSED,	/* the client closed or reset first */
	REASON_UPSTREAM_CLOSED,	/* the upstream closed first (cut body) */
	REASON_IDLE_TIMEOUT,	/* --idle-timeout */
	REASON_HEADER_TIMEOUT,	/* --header-timeout (408, or a handshake) */
	REASON_GRACE,		/* cut at the end of --grace */
	REASON_POLICY,		/* refused by a rule: 403, 405 */
	REASON_AUTH,		/* credentials missing or wrong: 401, 407 */
	REASON_BAD_REQUEST,	/* malformed or over a limit: 400, 413, 414... */
	REASON_UPSTREAM_ERROR,	/* upstream unreachable or broken: 502, 503 */
	REASON_UPSTREAM_TIMEOUT,/* upstream too slow: 504 */
	REASON_TLS_ERROR,	/* the client's TLS failed (tlsstripd) */
	REASON_INTERNAL_ERROR,	/* out of memory, fds...: 500 */
	REASON_COUNT
};

/* The reason as its access-line word ("client_closed"). */
const char *log_reason_name(enum log_reason);

/*
 * One access line: the keys and order of DESIGN.md.  A NULL string
 * leaves its key out (it has no meaning in that program); an empty one
 * is written "-".  al_status 0 is "-", below 0 leaves status= out.
 * al_extra is the program's own keys, " key=value" each, values already
 * through log_value().
 */
struct access_line {
	unsigned long	 al_conn;
	const char	*al_client_ip;
	const char	*al_client_port;
	const char	*al_method;
	const char	*al_target;
	int		 al_status;
	const char	*al_user;
	const char	*al_upstream;
	unsigned long long al_bytes_in;	/* read from the client */
	unsigned long long al_bytes_out; /* written to the client */
	unsigned long long al_ms;
	enum log_reason	 al_reason;
	const char	*al_extra;
};

/*
 * Formats the line (without "NAME[pid]: info: " and newline) into buf;
 * returns its length, cut to fit.  log_access() logs it at info level,
 * or at debug level when quiet is set (a health check's probe).
 */
size_t	log_access_format(char *buf, size_t len, const struct access_line *);
void	log_access(const struct access_line *, int quiet);

/* Invariants: abort with file:line, as hitch's AN/AZ. */
#define AN(x)	do { if (!(x)) log_assert(__FILE__, __LINE__, #x); } while (0)
#define AZ(x)	do { if ((x)) log_assert(__FILE__, __LINE__, "!(" #x ")"); } while (0)
void	log_assert(const char *, int, const char *) __attribute__((noreturn));

#endif
