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

struct htpasswd;

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

void		 htpasswd_free(struct htpasswd *);

#endif
