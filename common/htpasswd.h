/*
 * htpasswd.h - HTTP Basic credentials (Authorization or
 * Proxy-Authorization) checked against an htpasswd file whose hashes
 * crypt(3) knows (bcrypt as htpasswd -B writes, SHA-crypt as
 * htpasswd -2/-5 or openssl passwd -5/-6 write, yescrypt).
 */
#ifndef GTR_HTPASSWD_H
#define GTR_HTPASSWD_H

#include <stddef.h>

#define HTPASSWD_USER_MAX	256

/*
 * An htpasswd file (--auth) and the users read from it.  The file stays
 * open from the start, so that SIGHUP can re-read it after -u took away
 * the rights to open it again (a 0600 root file, as such files are
 * kept); a file replaced since is read by its path where it can be.
 */
struct htpasswd;

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
 * For serve_on_hup(): re-reads the file, by its path when that opens,
 * else through the descriptor kept from the start, unless the file it
 * holds was replaced or removed since.  A file that does not load keeps
 * the users read before, so a typo locks no one out.  Logs which it was.
 */
void		 htpasswd_reload(void *);

void		 htpasswd_free(struct htpasswd *);

#endif
