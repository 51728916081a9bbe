/*
 * mime.c - a Content-Type from a file name: /etc/mime.types where it
 * exists, a small built-in table otherwise.  Loaded once at start, then
 * only read, so threads need no lock.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpftpd.h"

#define MIME_TYPES	"/etc/mime.types"

struct mime {
	char	*m_ext;
	char	*m_type;
};

static struct mime *table;
static size_t ntable;

static const struct {
	const char *ext, *type;
} builtin[] = {
	{ "bz2", "application/x-bzip2" },
	{ "css", "text/css" },
	{ "csv", "text/csv" },
	{ "gif", "image/gif" },
	{ "gz", "application/gzip" },
	{ "htm", "text/html" },
	{ "html", "text/html" },
	{ "iso", "application/x-iso9660-image" },
	{ "jpeg", "image/jpeg" },
	{ "jpg", "image/jpeg" },
	{ "js", "text/javascript" },
	{ "json", "application/json" },
	{ "md", "text/markdown" },
	{ "pdf", "application/pdf" },
	{ "png", "image/png" },
	{ "svg", "image/svg+xml" },
	{ "tar", "application/x-tar" },
	{ "txt", "text/plain" },
	{ "xml", "application/xml" },
	{ "xz", "application/x-xz" },
	{ "zip", "application/zip" },
	{ "zst", "application/zstd" },
};

static int	cmp(const void *, const void *);
static int	add(const char *, const char *);

static int
cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct mime *)a)->m_ext,
	    ((const struct mime *)b)->m_ext);
}

/* Appends one mapping; returns 0 or -1 when out of memory. */
static int
add(const char *ext, const char *type)
{
	static size_t cap;
	struct mime *n;

	if (ntable == cap) {
		cap = cap ? cap * 2 : 512;
		if ((n = reallocarray(table, cap, sizeof(*n))) == NULL)
			return -1;
		table = n;
	}
	if ((table[ntable].m_ext = strdup(ext)) == NULL ||
	    (table[ntable].m_type = strdup(type)) == NULL)
		return -1;
	ntable++;
	return 0;
}

/* Loads the table; without a readable mime.types, the built-in one. */
void
mime_init(void)
{
	FILE *f;
	char *line = NULL, *type, *ext, *save;
	size_t cap = 0, i;

	if ((f = fopen(MIME_TYPES, "re")) != NULL) {
		while (getline(&line, &cap, f) != -1) {
			if (line[0] == '#')
				continue;
			if ((type = strtok_r(line, " \t\r\n", &save)) == NULL)
				continue;
			while ((ext = strtok_r(NULL, " \t\r\n", &save)) != NULL)
				if (add(ext, type) == -1)
					break;
		}
		free(line);
		fclose(f);
	}
	if (ntable == 0)
		for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
			if (add(builtin[i].ext, builtin[i].type) == -1)
				break;
	qsort(table, ntable, sizeof(*table), cmp);
}

/* The type for a name's extension, or application/octet-stream. */
const char *
mime_type(const char *name)
{
	struct mime key, *m;
	const char *dot, *slash;

	slash = strrchr(name, '/');
	dot = strrchr(slash ? slash : name, '.');
	if (dot == NULL || dot[1] == '\0' || table == NULL)
		return "application/octet-stream";
	key.m_ext = (char *)(dot + 1);
	m = bsearch(&key, table, ntable, sizeof(*table), cmp);
	return m ? m->m_type : "application/octet-stream";
}
