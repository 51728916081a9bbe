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

/*
 * An htpasswd file (--auth) and the users read from it.  The file stays
 * open from the start, so that SIGHUP can re-read it after -u took away
 * the rights to open it again (a 0600 root file, as such files are
 * kept); a file replaced since is read by its path where it can be.
 */
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
 * Opens and reads the htpasswd file.  Returns the table, or NULL with
 * the reason in err (unreadable file, malformed line, a hash crypt(3)
 * cannot check, no user at all).
 */
struct htpasswd	*htpasswd_load(const char *path, char *err, size_t errlen);

/*
 * Checks an Authorization or Proxy-Authorization value.  Returns 1 and
 * the user's name in user when it carries Basic credentials of a user in
 * the table with the right password, 0 otherwise.  Takes about as long
 * for an unknown user as for a known one.  Safe in any thread, also
 * while htpasswd_reload() runs.
 */
int		 htpasswd_check(struct htpasswd *, const char *value,
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
enum htpasswd_result htpasswd_verify(struct htpasswd *,
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

/*
 * For serve_on_hup(): re-reads the file, by its path when that opens,
 * else through the descriptor kept from the start, unless the file it
 * holds was replaced or removed since.  A file that does not load keeps
 * the users read before, so a typo locks no one out.  Logs which it was.
 */
void		 htpasswd_reload(void *);

void		 htpasswd_free(struct htpasswd *);

#endif
