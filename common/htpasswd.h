/*
 * htpasswd.h - HTTP Basic credentials (Authorization or
 * Proxy-Authorization) checked against an htpasswd file whose hashes
 * crypt(3) knows (bcrypt as htpasswd -B writes, SHA-crypt as
 * htpasswd -2/-5 or openssl passwd -5/-6 write, yescrypt).
 */
#ifndef GTR_HTPASSWD_H
#define GTR_HTPASSWD_H

#include <stddef.h>
#include <stdint.h>

#define HTPASSWD_USER_MAX	256
/*
 * Failed logins a connection gets: the answer to the last one closes it,
 * so that guessing costs a new connection (and a fail2ban count) every
 * few tries rather than one crypt(3) run per request.
 */
#define HTPASSWD_TRIES		3

struct htpasswd;

/* What htpasswd_verify() found. */
enum htpasswd_result {
	HTPASSWD_OK,
	HTPASSWD_NONE,		/* no Basic credentials: not a failure */
	HTPASSWD_MALFORMED,	/* Basic, but not base64 of user:password */
	HTPASSWD_UNKNOWN_USER,
	HTPASSWD_WRONG_PASSWORD,
	HTPASSWD_BUSY		/* no crypt(3) slot free before the deadline */
};

/*
 * Reads the htpasswd file.  Returns the table, or NULL with the reason in
 * err (unreadable file, malformed line, a hash crypt(3) cannot check).
 */
struct htpasswd	*htpasswd_load(const char *path, char *err, size_t errlen);

/*
 * Checks an Authorization or Proxy-Authorization value.  Returns 1 and the user's name in
 * user when it carries Basic credentials of a user in the table with the
 * right password, 0 otherwise.  Takes about as long for an unknown user
 * as for a known one.
 */
int		 htpasswd_check(const struct htpasswd *, const char *value,
		    char *user, size_t userlen);

/*
 * As htpasswd_check(), saying why credentials failed.  At most one
 * crypt(3) run per CPU is under way at once in the process (a bcrypt
 * check is milliseconds of one CPU, and a guesser with many connections
 * must not take them all); a check waits for a free slot until
 * deadline_ms (now_ms(); 0: no deadline), then gives HTPASSWD_BUSY.
 * The user name sent is in user (cut to fit; "" if none could be
 * decoded) whatever the result, for the failure's log line; only
 * HTPASSWD_OK says it is a user who logged in.
 */
enum htpasswd_result htpasswd_verify(const struct htpasswd *,
		    const char *value, uint64_t deadline_ms, char *user,
		    size_t userlen);

/*
 * Logs a failed login (HTPASSWD_MALFORMED, _UNKNOWN_USER or
 * _WRONG_PASSWORD) on a line of its own, at info level, in the one
 * format contrib/fail2ban/filter.d/gtr-auth.conf matches:
 *   auth_failed conn=ID client=ADDR:PORT user=NAME failure=WORD
 * with IPv6 in brackets and NAME escaped as access-line values are.
 */
void		 htpasswd_log_failure(unsigned long conn, const char *ip,
		    const char *port, const char *user, enum htpasswd_result);

void		 htpasswd_free(struct htpasswd *);

#endif
