/*
 * ftpparse_test.c - httpftpd's parsers of what a server or a client
 * sends it (cmd/httpftpd/listing.c and target.c), with the cases the
 * fuzz harnesses found (tests/fuzz/listing_fuzz.c, target_fuzz.c).
 *
 * Prints "N passed, N failed"; exits 1 if any failed.  Under
 * SANITIZE=1 undefined behaviour aborts it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpftpd.h"

static int passed, failed;

static void	 check(int, const char *);
static time_t	 utc(int, int, int, int, int);
static int	 list1(const char *, int, struct listing *);
static void	 test_list(void);
static void	 test_basic(void);

static void
check(int ok, const char *what)
{
	if (ok)
		passed++;
	else {
		failed++;
		printf("FAIL: %s\n", what);
	}
}

/* The time_t of a UTC date (mon 1-12). */
static time_t
utc(int year, int mon, int day, int hh, int mm)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	return timegm(&tm);
}

/* Parses one reply (LIST, or MLSD when mlsd) into l; its entry count. */
static int
list1(const char *reply, int mlsd, struct listing *l)
{
	char *raw = strdup(reply);
	int rc;

	if (raw == NULL)
		abort();
	/* 2026-12-08, for the year of "Mon DD HH:MM" lines */
	rc = listing_parse(raw, strlen(raw), mlsd, utc(2026, 12, 8, 0, 0), l);
	free(raw);
	return rc == 0 ? (int)l->li_n : -1;
}

static void
test_list(void)
{
	/* Owners and groups named like months (as "dec", "may" are). */
	static const char *const months[] = {
		"-rw-r--r--    1 ftp      dec           642 May  5  2025 README\r\n",
		"-rw-r--r--    1 may      may           642 May  5  2025 README\r\n",
		"-rw-r--r--    1 0        Jan           642 May  5  2025 README\r\n",
		"-rw-r--r--    1 sep      mar           642 May  5  2025 README\r\n",
		NULL
	};
	struct listing l;
	int i;

	for (i = 0; months[i] != NULL; i++) {
		check(list1(months[i], 0, &l) == 1 &&
		    strcmp(l.li_v[0].e_name, "README") == 0 &&
		    l.li_v[0].e_size == 642 &&
		    l.li_v[0].e_mtime == utc(2025, 5, 5, 0, 0), months[i]);
		listing_free(&l);
	}
	check(list1("drwxr-xr-x    2 ftp      dec          4096 Dec 07 23:59 "
	    "Dec 07 12:00 x\r\n", 0, &l) == 1 &&
	    strcmp(l.li_v[0].e_name, "Dec 07 12:00 x") == 0 &&
	    l.li_v[0].e_type == 'd' &&
	    l.li_v[0].e_mtime == utc(2026, 12, 7, 23, 59),
	    "a group named dec, a name that looks like a date");
	listing_free(&l);
	/* Dates a server makes up: no overflow, and no entry from them. */
	check(list1("-rw-r--r-- 1 a b 5 Jan 1 -2147483648 x\r\n", 0, &l) ==
	    0, "year -2147483648");
	listing_free(&l);
	check(list1("-rw-r--r-- 1 a b 5 Jan 1 2147483648 x\r\n", 0, &l) == 0,
	    "year 2147483648");
	listing_free(&l);
	check(list1("-rw-r--r-- 1 a b 5 Jan 1 99999 x\r\n", 0, &l) == 0,
	    "year 99999");
	listing_free(&l);
	check(list1("-rw-r--r-- 1 a b 5 Jan 1 2147483647:2147483647 x\r\n", 0,
	    &l) == 0, "time 2147483647:2147483647");
	listing_free(&l);
	/* What the fixes must keep. */
	check(list1("lrwxrwxrwx    1 0        0               5 Dec 08 02:50 "
	    "lnk -> a.txt\r\n-rw-r--r--    1 0        0               6 Jan "
	    "02  2020 a.txt\r\ntotal 8\r\n", 0, &l) == 2 &&
	    strcmp(l.li_v[0].e_name, "lnk") == 0 && l.li_v[0].e_type == 'l' &&
	    l.li_v[0].e_mtime == utc(2026, 12, 8, 2, 50) &&
	    strcmp(l.li_v[1].e_name, "a.txt") == 0 &&
	    l.li_v[1].e_mtime == utc(2020, 1, 2, 0, 0), "vsftpd lines");
	listing_free(&l);
	check(list1("02-14-24  10:15PM                  689 iis start.htm\r\n",
	    0, &l) == 1 && strcmp(l.li_v[0].e_name, "iis start.htm") == 0 &&
	    l.li_v[0].e_size == 689 &&
	    l.li_v[0].e_mtime == utc(2024, 2, 14, 22, 15), "an IIS line");
	listing_free(&l);
}

static void
test_basic(void)
{
	/* Padded base64 and nothing after it, as htpasswd.c reads it. */
	static const char *const bad[] = {
		"Basic YWxpY2U6czNjcmV0=junk",
		"Basic YWxpY2U6czNjcmV0A",
		"Basic YWxpY2U6cw",
		"Basic YWxpY2U6cw=",
		"Basic YWxpY2U6cw===",
		"Basic Ym1/9ipuOnA",
		"Basic YWxpY2U6czNjcmV0 ",
		NULL
	};
	struct ftp_loc loc;
	int i;

	memset(&loc, 0, sizeof(loc));
	check(target_basic_auth("Basic YWxpY2U6czNjcmV0", &loc) == 1 &&
	    strcmp(loc.fl_user, "alice") == 0 &&
	    strcmp(loc.fl_pass, "s3cret") == 0, "Basic alice:s3cret");
	memset(&loc, 0, sizeof(loc));
	check(target_basic_auth("basic  YWxpY2U6cw==", &loc) == 1 &&
	    strcmp(loc.fl_user, "alice") == 0 &&
	    strcmp(loc.fl_pass, "s") == 0, "Basic alice:s, padded");
	for (i = 0; bad[i] != NULL; i++) {
		memset(&loc, 0, sizeof(loc));
		check(target_basic_auth(bad[i], &loc) == -1, bad[i]);
	}
}

int
main(void)
{
	test_list();
	test_basic();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
