/*
 * log_test.c - the access line: DESIGN.md's keys in DESIGN.md's order,
 * keys without meaning left out, and no client byte able to start a new
 * line or a new key.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"

static int passed, failed;

static void	long_target(struct access_line *);

static void
expect(const char *name, const struct access_line *al, const char *want)
{
	char line[2048];

	log_access_format(line, sizeof(line), al);
	if (strcmp(line, want) == 0) {
		passed++;
		printf("ok %s\n", name);
	} else {
		failed++;
		printf("FAIL %s\n  got:  %s\n  want: %s\n", name, line, want);
	}
}

/* A client's 6 KiB target is cut, its quote closed, no key lost. */
static void
long_target(struct access_line *al)
{
	static char target[6000], line[4096];
	size_t n;

	memset(target, 'a', sizeof(target) - 1);
	target[10] = '=';
	al->al_target = target;
	al->al_user = "u";
	al->al_extra = " sni=x.test";
	n = log_access_format(line, sizeof(line), al);
	if (n < sizeof(line) - 1 && strstr(line, "aaa\" status=- user=u "
	    "upstream=- bytes_in=10 bytes_out=20 ms=3 reason=bad_request "
	    "sni=x.test") != NULL && strlen(strstr(line, "target=")) < 1200) {
		passed++;
		printf("ok a long target is cut, every key kept\n");
	} else {
		failed++;
		printf("FAIL a long target is cut, every key kept\n  got: "
		    "%.300s...\n", line);
	}
}

int
main(void)
{
	struct access_line al = {
		.al_conn = 7, .al_client_ip = "127.0.0.1",
		.al_client_port = "5000", .al_method = "GET",
		.al_target = "/x", .al_status = 200, .al_user = "ann",
		.al_upstream = "127.0.0.1:80", .al_bytes_in = 10,
		.al_bytes_out = 20, .al_ms = 3, .al_reason = REASON_DONE,
	};

	expect("every key in order", &al, "conn=7 client=127.0.0.1:5000 "
	    "method=GET target=/x status=200 user=ann upstream=127.0.0.1:80 "
	    "bytes_in=10 bytes_out=20 ms=3 reason=done");
	al.al_user = NULL;
	al.al_method = NULL;
	al.al_target = NULL;
	al.al_status = -1;
	al.al_client_ip = "::1";
	al.al_reason = REASON_CLIENT_CLOSED;
	al.al_extra = " sni=a.test";
	expect("keys without meaning left out, IPv6 in brackets", &al,
	    "conn=7 client=[::1]:5000 upstream=127.0.0.1:80 bytes_in=10 "
	    "bytes_out=20 ms=3 reason=client_closed sni=a.test");
	al.al_method = "G\r\nET";
	al.al_target = "/a b=c\"";
	al.al_status = 0;
	al.al_upstream = "";
	al.al_extra = NULL;
	al.al_reason = REASON_BAD_REQUEST;
	expect("client bytes escaped, empty values as -", &al,
	    "conn=7 client=[::1]:5000 method=\"G\\x0d\\x0aET\" "
	    "target=\"/a b=c\\\"\" status=- upstream=- bytes_in=10 "
	    "bytes_out=20 ms=3 reason=bad_request");
	long_target(&al);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
