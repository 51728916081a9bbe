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

/* Invariants: abort with file:line, as hitch's AN/AZ. */
#define AN(x)	do { if (!(x)) log_assert(__FILE__, __LINE__, #x); } while (0)
#define AZ(x)	do { if ((x)) log_assert(__FILE__, __LINE__, "!(" #x ")"); } while (0)
void	log_assert(const char *, int, const char *) __attribute__((noreturn));

#endif
