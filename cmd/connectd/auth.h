/*
 * auth.h - Basic proxy authentication against an htpasswd file whose
 * hashes crypt(3) knows (bcrypt as htpasswd -B writes, SHA-crypt as
 * htpasswd -2/-5 or openssl passwd -5/-6 write, yescrypt).
 */
#ifndef CONNECTD_AUTH_H
#define CONNECTD_AUTH_H

#include <stddef.h>

#define AUTH_USER_MAX	256

struct auth;

/*
 * Reads the htpasswd file.  Returns the table, or NULL with the reason in
 * err (unreadable file, malformed line, a hash crypt(3) cannot check).
 */
struct auth	*auth_load(const char *path, char *err, size_t errlen);

/*
 * Checks a Proxy-Authorization value.  Returns 1 and the user's name in
 * user when it carries Basic credentials of a user in the table with the
 * right password, 0 otherwise.  Takes about as long for an unknown user
 * as for a known one.
 */
int		 auth_check(const struct auth *, const char *value,
		    char *user, size_t userlen);

void		 auth_free(struct auth *);

#endif
