/*
 * proxyhdr.h - the PROXY protocol header tlsstripd sends its backend.
 */
#ifndef TLSSTRIPD_PROXYHDR_H
#define TLSSTRIPD_PROXYHDR_H

#include <sys/socket.h>
#include <stddef.h>

/* Formats a v1 or v2 header for src -> dst into out; length or -1. */
int	proxy_format(int version, const struct sockaddr *src,
	    const struct sockaddr *dst, char *out, size_t outlen);

#endif
