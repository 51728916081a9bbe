/*
 * map.c - from a request target to the program it runs.
 *
 * The path is percent-decoded once, split into segments, and refused if
 * a segment is "." or ".." or an encoded slash: nothing is resolved
 * lexically, so no spelling of a path climbs out of the root.  A control
 * character once decoded is refused too: a program may copy PATH_INFO
 * into a header, a log line or a shell command, and must never be handed
 * a newline there.  With
 * --root the segments are walked from the root until one names a regular
 * file; its realpath must still lie under the root (a symlink may point
 * within the root, never out of it) and it must be executable.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cgid.h"
#include "http.h"

#define SEG_MAX	(HTTP_LINE_MAX / 2)

struct segs {
	char	*sg_v[SEG_MAX];
	int	 sg_n;
	int	 sg_trailing;		/* the path ended with "/" */
	char	 sg_buf[HTTP_LINE_MAX];
};

static const char *origin_path(const char *);
static int	 split_path(const char *, size_t, struct segs *);
static int	 join(char *, size_t, const char *, char *const *, int, int);
static int	 map_root(const struct cgid_conf *, struct segs *,
		    struct script *);

/* Returns the path part of an origin-form or absolute-form target. */
static const char *
origin_path(const char *t)
{
	const char *p;

	if (strncasecmp(t, "http://", 7) == 0)
		p = t + 7;
	else if (strncasecmp(t, "https://", 8) == 0)
		p = t + 8;
	else
		return t;
	p += strcspn(p, "/?");
	return *p == '/' ? p : "/";
}

/*
 * Decodes path[0..len) into segments, each decoded on its own: a '/' in
 * a decoded segment was encoded.  Returns 0, 400 for a bad escape or an
 * encoded NUL or other control character, 404 for an encoded slash or a
 * dot segment.
 */
static int
split_path(const char *path, size_t len, struct segs *sg)
{
	const char *seg, *end = path + len, *slash;
	char *out = sg->sg_buf;
	size_t n, dn, i;

	sg->sg_n = 0;
	sg->sg_trailing = len > 1 && path[len - 1] == '/';
	for (seg = path; seg < end; seg = slash + 1) {
		if ((slash = memchr(seg, '/', end - seg)) == NULL)
			slash = end;
		if ((n = slash - seg) == 0)
			continue;
		if (http_pct_decode(seg, n, out, sg->sg_buf +
		    sizeof(sg->sg_buf) - out, &dn) == -1)
			return 400;
		/* The first offence decides, as it would read left to right. */
		for (i = 0; i < dn && out[i] != '/' &&
		    (unsigned char)out[i] >= 0x20 && out[i] != 0x7f; i++)
			;
		if (i < dn)
			return out[i] == '/' ? 404 : 400;
		if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
			return 404;
		if (sg->sg_n == SEG_MAX)
			return 414;
		sg->sg_v[sg->sg_n++] = out;
		out += dn + 1;
	}
	return 0;
}

/*
 * Writes prefix, then "/seg" for each segment, then "/" if trailing,
 * into out.  Returns 0, or -1 if it does not fit.
 */
static int
join(char *out, size_t outlen, const char *prefix, char *const *v, int n,
    int trailing)
{
	size_t len;
	int i, m;

	if ((m = snprintf(out, outlen, "%s", prefix)) < 0 ||
	    (size_t)m >= outlen)
		return -1;
	len = m;
	for (i = 0; i < n; i++) {
		m = snprintf(out + len, outlen - len, "/%s", v[i]);
		if (m < 0 || (size_t)m >= outlen - len)
			return -1;
		len += m;
	}
	if (trailing && (n > 0 || len == 0)) {
		if (len + 1 >= outlen)
			return -1;
		out[len++] = '/';
		out[len] = '\0';
	}
	return 0;
}

/*
 * Finds the program under the root for the segments.  Returns 0, 403
 * (outside the root, not executable, not a file) or 404.
 */
static int
map_root(const struct cgid_conf *cf, struct segs *sg, struct script *sc)
{
	char path[PATH_MAX], real[PATH_MAX], *slash;
	struct stat st;
	int i;

	for (i = 0; i < sg->sg_n; i++) {
		if (join(path, sizeof(path), cf->cf_root, sg->sg_v, i + 1,
		    0) == -1)
			return 404;
		if (stat(path, &st) == -1)
			return errno == EACCES ? 403 : 404;
		if (S_ISDIR(st.st_mode))
			continue;
		if (!S_ISREG(st.st_mode))
			return 403;
		break;
	}
	if (i == sg->sg_n)
		return 404;	/* a directory: no listing, no index */
	if (realpath(path, real) == NULL)
		return 404;
	if (strncmp(real, cf->cf_root, cf->cf_rootlen) != 0 ||
	    real[cf->cf_rootlen] != '/')
		return 403;
	if ((st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0 ||
	    access(real, X_OK) == -1)
		return 403;
	(void)strcpy(sc->sc_file, real);
	(void)strcpy(sc->sc_dir, real);
	slash = strrchr(sc->sc_dir, '/');
	if (slash == sc->sc_dir)
		slash++;	/* a program in "/" runs in "/" */
	*slash = '\0';
	sc->sc_nph = strncmp(sg->sg_v[i], "nph-", 4) == 0;
	if (join(sc->sc_name, sizeof(sc->sc_name), "", sg->sg_v, i + 1,
	    0) == -1 ||
	    join(sc->sc_path_info, sizeof(sc->sc_path_info), "",
	    sg->sg_v + i + 1, sg->sg_n - i - 1,
	    sg->sg_trailing && i + 1 < sg->sg_n) == -1)
		return 414;
	if (sg->sg_trailing && i + 1 == sg->sg_n)
		(void)strcpy(sc->sc_path_info, "/");
	return 0;
}

int
map_target(const struct cgid_conf *cf, const char *target,
    struct script *sc)
{
	struct segs *sg;
	const char *path, *q, *base;
	size_t plen;
	int rv;

	path = origin_path(target);
	if (path[0] != '/')
		return 400;
	plen = strcspn(path, "?#");
	sc->sc_query[0] = '\0';
	if ((q = strchr(path, '?')) != NULL) {
		if (strlen(q + 1) >= sizeof(sc->sc_query))
			return 414;
		(void)strcpy(sc->sc_query, q + 1);
		sc->sc_query[strcspn(sc->sc_query, "#")] = '\0';
	}
	if ((sg = malloc(sizeof(*sg))) == NULL)
		return 503;
	if ((rv = split_path(path, plen, sg)) != 0)
		goto out;
	if (cf->cf_root[0] != '\0') {
		rv = map_root(cf, sg, sc);
		goto out;
	}
	/* One program for every path: all of it is PATH_INFO. */
	(void)strcpy(sc->sc_file, cf->cf_program);
	sc->sc_dir[0] = '\0';
	sc->sc_name[0] = '\0';
	base = strrchr(cf->cf_program, '/');
	sc->sc_nph = strncmp(base != NULL ? base + 1 : cf->cf_program,
	    "nph-", 4) == 0;
	if (join(sc->sc_path_info, sizeof(sc->sc_path_info), "", sg->sg_v,
	    sg->sg_n, sg->sg_trailing) == -1)
		rv = 414;
	else if (sc->sc_path_info[0] == '\0')
		(void)strcpy(sc->sc_path_info, "/");
out:
	free(sg);
	return rv;
}
