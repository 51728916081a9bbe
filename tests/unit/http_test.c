/*
 * http_test.c - unit tests of common/http.c: a table of heads with the
 * expected verdict, framing and fields, then bodies and writers over
 * socketpairs and pipes.
 *
 * Prints one line per failing check and ends with "N passed, N failed";
 * exits 1 if anything failed.  With -v it also names each passing case.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

#define S(x)	x, sizeof(x) - 1
#define BIG	(1024 * 1024)

struct pcase {
	const char	*name;
	int		 is_request;
	const char	*method;	/* the request a response answers */
	const char	*in;
	size_t		 inlen;
	int		 rc;
	int		 framing;
	uint64_t	 length;
	int		 version;
	int		 keep_alive;
	int		 expect;
	const char	*checks;	/* "Name=value;:target=/;..." */
};

#define REQ(n, in, rc, fr, len, v, ka, ex, ck) \
	{ n, 1, NULL, S(in), rc, fr, len, v, ka, ex, ck }
#define RSP(n, m, in, rc, fr, len, v, ka, ck) \
	{ n, 0, m, S(in), rc, fr, len, v, ka, 0, ck }
#define BAD(n, in, rc)		REQ(n, in, rc, 0, 0, 0, 0, 0, NULL)
#define RBAD(n, in)		RSP(n, "GET", in, 502, 0, 0, 0, 0, NULL)

enum { NONE = HTTP_BODY_NONE, LEN = HTTP_BODY_LENGTH,
    CHK = HTTP_BODY_CHUNKED, CLO = HTTP_BODY_CLOSE };

static const struct pcase cases[] = {
	/* Requests that parse. */
	REQ("simple GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, ":method=GET;:target=/;Host=a;:nfields=1;"
	    ":size=27"),
	REQ("bare LF line endings", "GET / HTTP/1.1\nHost: a\n\n",
	    0, NONE, 0, 11, 1, 0, "Host=a;:size=24"),
	REQ("mixed CRLF and LF", "GET / HTTP/1.1\r\nHost: a\n\r\n",
	    0, NONE, 0, 11, 1, 0, "Host=a"),
	REQ("empty lines before the request line are skipped",
	    "\r\n\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, ":target=/x;:size=31"),
	REQ("OWS around a value is removed",
	    "GET / HTTP/1.1\r\nHost: \t a \t\r\nX: \t b c \t\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, "Host=a;X=b c"),
	REQ("an empty value is kept",
	    "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, "X-Empty=;:nfields=2"),
	REQ("field names are case-insensitive",
	    "GET / HTTP/1.1\r\nhOsT: a\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, "Host=a"),
	REQ("every tchar in a field name",
	    "GET / HTTP/1.1\r\nHost: a\r\nX-!#$%&'*+.^_`|~9: v\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, "X-!#$%&'*+.^_`|~9=v"),
	REQ("HTAB and obs-text in a value",
	    "GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\x80\xff\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, "X=a\tb\x80\xff"),
	REQ("absolute-form target",
	    "GET http://a.example/b?c=d HTTP/1.1\r\nHost: a.example\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, ":target=http://a.example/b?c=d"),
	REQ("absolute-form target with userinfo and a port",
	    "GET ftp://u:p@a.example:21/b HTTP/1.1\r\nHost: x\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, ":target=ftp://u:p@a.example:21/b"),
	REQ("absolute-form target without a path",
	    "OPTIONS HTTP://A.example:8080 HTTP/1.1\r\nHost: x\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, ":target=HTTP://A.example:8080"),
	REQ("16 empty lines before the request line are skipped",
	    "\r\n\r\n\r\n\r\n\n\n\n\n\r\n\r\n\r\n\r\n\n\n\n\n"
	    "GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, ":target=/x;:size=52"),
	REQ("CONNECT authority-form",
	    "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, ":method=CONNECT;:target=a.example:443"),
	REQ("extension method",
	    "M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, ":method=M-SEARCH;:target=*"),
	REQ("HTTP/1.0 needs no Host and closes by default",
	    "GET / HTTP/1.0\r\n\r\n", 0, NONE, 0, 10, 0, 0, ":nfields=0"),
	REQ("HTTP/1.0 with Connection: keep-alive",
	    "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	    0, NONE, 0, 10, 1, 0, NULL),
	REQ("HTTP/1.0 with keep-alive and close closes",
	    "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
	    0, NONE, 0, 10, 0, 0, NULL),
	REQ("HTTP/1.1 Connection: close",
	    "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	    0, NONE, 0, 11, 0, 0, NULL),
	REQ("Connection close among other tokens",
	    "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo , Close\r\n\r\n",
	    0, NONE, 0, 11, 0, 0, NULL),
	REQ("close in a second Connection field",
	    "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\n"
	    "Connection: close\r\n\r\n", 0, NONE, 0, 11, 0, 0, NULL),
	REQ("HTTP/1.2 is treated as 1.1", "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, NULL),
	REQ("HTTP/1.9 is treated as 1.1", "GET / HTTP/1.9\r\nHost: a\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, NULL),
	REQ("Content-Length gives LENGTH",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
	    0, LEN, 5, 11, 1, 0, "Content-Length=5"),
	REQ("Content-Length: 0",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	    0, LEN, 0, 11, 1, 0, NULL),
	REQ("identical Content-Length list is collapsed",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
	    0, LEN, 5, 11, 1, 0, "Content-Length=5;:nfields=2"),
	REQ("identical Content-Length fields are collapsed",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	    "Content-Length: 5\r\n\r\n", 0, LEN, 5, 11, 1, 0,
	    "Content-Length=5;:nfields=2"),
	REQ("equal Content-Length lists and fields are one field, in its place",
	    "POST / HTTP/1.1\r\ncontent-length: 0012 ,12\r\nX: 1\r\n"
	    "Content-Length: 12\r\nHost: a\r\nContent-Length: 12, 012\r\n"
	    "\r\n", 0, LEN, 12, 11, 1, 0,
	    "Content-Length=12;X=1;Host=a;:nfields=3"),
	REQ("largest Content-Length",
	    "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 9223372036854775807\r\n\r\n",
	    0, LEN, 9223372036854775807ULL, 11, 1, 0, NULL),
	REQ("leading zeros in Content-Length",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n",
	    0, LEN, 7, 11, 1, 0, "Content-Length=7"),
	REQ("Content-Length: 00 is 0",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00\r\n\r\n",
	    0, LEN, 0, 11, 1, 0, "Content-Length=0"),
	REQ("Transfer-Encoding: chunked",
	    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	    0, CHK, 0, 11, 1, 0, NULL),
	REQ("chunked is case-insensitive",
	    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
	    0, CHK, 0, 11, 1, 0, "Transfer-Encoding=chunked"),
	REQ("chunked in a second Transfer-Encoding field after an empty one",
	    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 0, CHK, 0, 11, 1, 0,
	    "Transfer-Encoding=chunked;:nfields=2"),
	REQ("empty list elements in Transfer-Encoding are ignored",
	    "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: ,chunked,\r\n\r\n",
	    0, CHK, 0, 11, 1, 0, "Transfer-Encoding=chunked"),
	REQ("a Transfer-Encoding field of empty elements goes, chunked stays",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: \t, CHUNKED ,\r\nHost: a\r\n"
	    "Transfer-Encoding: , ,\r\n\r\n", 0, CHK, 0, 11, 1, 0,
	    "Transfer-Encoding=chunked;Host=a;:nfields=2"),
	REQ("Expect: 100-continue",
	    "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
	    "Content-Length: 1\r\n\r\n", 0, LEN, 1, 11, 1, 1, NULL),
	REQ("Expect is case-insensitive",
	    "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n",
	    0, NONE, 0, 11, 1, 1, NULL),
	REQ("another Expect is not 100-continue",
	    "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continuex\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, NULL),
	REQ("an IPv6 literal Host with a port",
	    "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, "Host=[::1]:8080"),
	REQ("every sub-delim, unreserved and pct-encoded byte in a Host",
	    "GET / HTTP/1.1\r\nHost: a-._~!$&'()*+,;=%41:80\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, NULL),
	REQ("an empty Host",
	    "GET http://a/ HTTP/1.1\r\nHost:\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, "Host="),
	REQ("a colon in a value",
	    "GET / HTTP/1.1\r\nHost: a:80\r\nX: b: c\r\n\r\n",
	    0, NONE, 0, 11, 1, 0, "Host=a:80;X=b: c"),

	/* Requests rejected with 400. */
	BAD("obs-fold with SP",
	    "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 400),
	BAD("obs-fold with HTAB", "GET / HTTP/1.1\r\nHost: a\r\n\tc\r\n\r\n",
	    400),
	BAD("obs-fold on the first field line",
	    "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
	BAD("bare CR in a value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400),
	BAD("bare CR before CRLF", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400),
	BAD("bare CR ending a line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
	BAD("bare CR as the blank line", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n",
	    400),
	BAD("bare CR even before the head is complete",
	    "GET / HTTP/1.1\r\nHost: a\rb", 400),
	BAD("NUL in a value", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 400),
	BAD("NUL in a name", "GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n", 400),
	BAD("NUL in the target", "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("NUL in the method", "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("control 0x01 in a value", "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",
	    400),
	BAD("ESC in a value", "GET / HTTP/1.1\r\nHost: a\x1b[0m\r\n\r\n", 400),
	BAD("DEL in a value", "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", 400),
	BAD("HTAB in the request line", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n",
	    400),
	BAD("control in the target", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
	    400),
	BAD("DEL in the target", "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
	    400),
	BAD("HTAB before the colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n",
	    400),
	BAD("invalid token in the method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
	    400),
	BAD("non-ASCII method", "G\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n",
	    400),
	BAD("invalid token in a field name",
	    "GET / HTTP/1.1\r\nHost: a\r\nX@Y: b\r\n\r\n", 400),
	BAD("a field name with a slash",
	    "GET / HTTP/1.1\r\nHost: a\r\nX/Y: b\r\n\r\n", 400),
	BAD("an empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n",
	    400),
	BAD("a field line without colon",
	    "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400),
	BAD("Transfer-Encoding with Content-Length",
	    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n", 400),
	BAD("Content-Length with Transfer-Encoding after it",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400),
	BAD("two different Content-Length fields",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n", 400),
	BAD("a Content-Length list with different values",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400),
	BAD("a Content-Length list with an empty element",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", 400),
	BAD("non-numeric Content-Length",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400),
	BAD("negative Content-Length",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
	BAD("Content-Length with a plus sign",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400),
	BAD("hexadecimal Content-Length",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400),
	BAD("Content-Length with trailing garbage",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", 400),
	BAD("empty Content-Length",
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400),
	BAD("Content-Length one past 2^63-1",
	    "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 9223372036854775808\r\n\r\n", 400),
	BAD("overflowing Content-Length",
	    "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 99999999999999999999999\r\n\r\n", 400),
	BAD("a target with a space", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
	    400),
	BAD("an empty target", "GET  HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("two spaces after the method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
	    400),
	BAD("a space after the version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
	    400),
	BAD("a space before the method", " GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	    400),
	BAD("HTTP/0.9 request line without version",
	    "GET /\r\nHost: a\r\n\r\n", 400),
	BAD("only a method", "GET\r\n\r\n", 400),
	BAD("lowercase http in the version",
	    "GET / http/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("two-digit minor version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n",
	    400),
	BAD("version without a dot", "GET / HTTP/11\r\nHost: a\r\n\r\n", 400),
	BAD("non-digit minor version", "GET / HTTP/1.x\r\nHost: a\r\n\r\n",
	    400),
	BAD("no method", "/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("missing Host in HTTP/1.1", "GET / HTTP/1.1\r\nX: a\r\n\r\n", 400),
	BAD("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
	    400),
	BAD("two Host fields in HTTP/1.0",
	    "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
	BAD("a Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
	    400),
	BAD("a Host with a path", "GET / HTTP/1.1\r\nHost: a/x\r\n\r\n",
	    400),
	BAD("a Host with userinfo", "GET / HTTP/1.1\r\nHost: u@b\r\n\r\n",
	    400),
	BAD("a Host with obs-text", "GET / HTTP/1.1\r\nHost: \xe9\r\n\r\n",
	    400),
	BAD("chunked with a parameter", "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked;q=1\r\n\r\n", 400),
	BAD("chunked with a parameter after OWS",
	    "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked ; x\r\n\r\n", 400),
	BAD("chunked twice", "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked, chunked\r\n\r\n", 400),
	BAD("chunked twice over two fields", "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	    400),
	BAD("empty Transfer-Encoding",
	    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400),
	BAD("Transfer-Encoding that is no token",
	    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chu nked\r\n\r\n",
	    400),
	BAD("a fragment in the target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n",
	    400),
	BAD("a fragment hiding a dot segment",
	    "GET /a#b/../../admin HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("a fragment in an absolute-form target",
	    "GET http://a/b?c#d HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("an empty fragment", "GET /# HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("a fragment in CONNECT's target",
	    "CONNECT a:443#x HTTP/1.1\r\nHost: a:443\r\n\r\n", 400),
	BAD("an absolute-form target with an empty host",
	    "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("an absolute-form target with only userinfo",
	    "GET http://u@/x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("an absolute-form target with a bad host",
	    "GET http://a\"b/x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("an absolute-form target with a backslash before the @",
	    "GET http://a\\@b/x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("17 empty lines before the request line",
	    "\r\n\r\n\r\n\r\n\n\n\n\n\r\n\r\n\r\n\r\n\n\n\n\n\n"
	    "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("a bare CR before the request line",
	    "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("bare CRs before the request line",
	    "\r\r\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("a bare CR after empty lines",
	    "\r\n\n\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("Transfer-Encoding in HTTP/1.0",
	    "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),

	/* Other rejections of requests. */
	BAD("last coding not chunked gets 501",
	    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
	    501),
	BAD("chunked then gzip gets 501", "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked, gzip\r\n\r\n", 501),
	BAD("gzip then chunked gets 501", "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: gzip , chunked\r\n\r\n", 501),
	BAD("gzip and chunked over two fields get 501",
	    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 501),
	BAD("a coding with a parameter before chunked gets 501",
	    "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: gzip;level=1, chunked\r\n\r\n", 501),
	BAD("identity before chunked gets 501", "POST / HTTP/1.1\r\n"
	    "Host: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n", 501),
	BAD("HTTP/2.0 gets 505", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
	BAD("HTTP/3.0 gets 505", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
	BAD("HTTP/0.9 with a version gets 505",
	    "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),

	/* Responses. */
	RSP("200 with Content-Length", "GET",
	    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
	    0, LEN, 3, 11, 1, ":status=200;:reason=OK;:size=38"),
	RSP("200 without length reads until close", "GET",
	    "HTTP/1.1 200 OK\r\n\r\n", 0, CLO, 0, 11, 0, NULL),
	RSP("chunked response", "GET",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	    0, CHK, 0, 11, 1, NULL),
	RSP("response coding not chunked reads until close", "GET",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	    0, CLO, 0, 11, 0, NULL),
	RSP("204 has no body", "GET",
	    "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
	    0, NONE, 0, 11, 1, NULL),
	RSP("304 has no body", "GET",
	    "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
	    0, NONE, 0, 11, 1, NULL),
	RSP("100 Continue has no body", "PUT",
	    "HTTP/1.1 100 Continue\r\n\r\n", 0, NONE, 0, 11, 1,
	    ":status=100"),
	RSP("101 has no body", "GET",
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
	    0, NONE, 0, 11, 1, NULL),
	RSP("a response to HEAD has no body", "HEAD",
	    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
	    0, NONE, 0, 11, 1, NULL),
	RSP("a response to HEAD keeps its length, collapsed", "HEAD",
	    "HTTP/1.1 200 OK\r\nContent-Length: 10, 10\r\n"
	    "Content-Length: 10\r\n\r\n",
	    0, NONE, 0, 11, 1, "Content-Length=10;:nfields=1"),
	RSP("a response's codings stay as they came", "GET",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n",
	    0, CHK, 0, 11, 1, "Transfer-Encoding=gzip, Chunked"),
	RSP("a chunked response to HEAD has no body", "HEAD",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	    0, NONE, 0, 11, 1, NULL),
	RSP("2xx to CONNECT is a tunnel", "CONNECT",
	    "HTTP/1.1 200 Connection established\r\n\r\n",
	    0, NONE, 0, 11, 1, ":reason=Connection established"),
	RSP("407 to CONNECT has a body", "CONNECT",
	    "HTTP/1.1 407 Proxy Authentication Required\r\n"
	    "Content-Length: 4\r\n\r\n", 0, LEN, 4, 11, 1, NULL),
	RSP("no method given", NULL,
	    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n",
	    0, LEN, 1, 11, 1, NULL),
	RSP("a status line without reason", "GET",
	    "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
	    0, LEN, 0, 11, 1, ":reason="),
	RSP("a status line with an empty reason", "GET",
	    "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
	    0, LEN, 0, 11, 1, ":reason=;:status=404"),
	RSP("a reason with spaces and obs-text", "GET",
	    "HTTP/1.1 404 Not \xe9 Here\r\nContent-Length: 0\r\n\r\n",
	    0, LEN, 0, 11, 1, ":reason=Not \xe9 Here"),
	RSP("HTTP/1.0 response with keep-alive", "GET",
	    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
	    "Content-Length: 2\r\n\r\n", 0, LEN, 2, 10, 1, NULL),
	RSP("HTTP/1.0 response closes by default", "GET",
	    "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n",
	    0, LEN, 2, 10, 0, NULL),
	RSP("Connection: close in a response", "GET",
	    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n",
	    0, LEN, 2, 11, 0, NULL),
	RSP("599 is a status", "GET",
	    "HTTP/1.1 599 X\r\nContent-Length: 0\r\n\r\n",
	    0, LEN, 0, 11, 1, ":status=599"),
	RSP("bare LF in a response", "GET",
	    "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
	    0, LEN, 0, 11, 1, NULL),
	RBAD("status 099", "HTTP/1.1 099 X\r\n\r\n"),
	RBAD("status 600", "HTTP/1.1 600 X\r\n\r\n"),
	RBAD("two-digit status", "HTTP/1.1 20 OK\r\n\r\n"),
	RBAD("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n"),
	RBAD("non-numeric status", "HTTP/1.1 abc OK\r\n\r\n"),
	RBAD("HTTP/2.0 response", "HTTP/2.0 200 OK\r\n\r\n"),
	RBAD("response without version", "200 OK\r\n\r\n"),
	RBAD("two spaces after the version", "HTTP/1.1  200 OK\r\n\r\n"),
	RBAD("NUL in the reason", "HTTP/1.1 200 O\0K\r\n\r\n"),
	RBAD("bare CR in a response", "HTTP/1.1 200 OK\rX: a\r\n\r\n"),
	RBAD("obs-fold in a response",
	    "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"),
	RBAD("space before the colon in a response",
	    "HTTP/1.1 200 OK\r\nX : a\r\n\r\n"),
	RBAD("response with Transfer-Encoding and Content-Length",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 3\r\n\r\n"),
	RBAD("response with two Content-Length values",
	    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
	    "Content-Length: 4\r\n\r\n"),
	RBAD("response with a bad Content-Length",
	    "HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\n"),
	RBAD("response with chunked twice",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,chunked\r\n\r\n"),
	RBAD("empty line before a status line",
	    "\r\nHTTP/1.1 200 OK\r\n\r\n"),
	RBAD("HTTP/1.0 response with Transfer-Encoding",
	    "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
};

static int npass, nfail, verbose;

static void
fail(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	nfail++;
}

static void
pass(const char *name)
{
	if (verbose)
		printf("ok %s\n", name);
	npass++;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
parse(int is_request, const char *method, char *buf, size_t len,
    struct http_head *hd)
{
	if (is_request)
		return http_parse_request(buf, len, hd);
	return http_parse_response(buf, len, method, hd);
}

/* Returns NULL if every "name=value" in checks holds, else the first. */
static const char *
check_fields(const struct http_head *hd, const char *checks, char *why,
    size_t whylen)
{
	char spec[512], *s, *eq, *item;
	const char *got;
	char num[32];

	snprintf(spec, sizeof(spec), "%s", checks);
	for (s = spec; (item = strsep(&s, ";")) != NULL;) {
		if ((eq = strchr(item, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(item, ":method") == 0)
			got = hd->hd_method;
		else if (strcmp(item, ":target") == 0)
			got = hd->hd_target;
		else if (strcmp(item, ":reason") == 0)
			got = hd->hd_reason;
		else if (strcmp(item, ":status") == 0) {
			snprintf(num, sizeof(num), "%d", hd->hd_status);
			got = num;
		} else if (strcmp(item, ":nfields") == 0) {
			snprintf(num, sizeof(num), "%d", hd->hd_nfields);
			got = num;
		} else if (strcmp(item, ":size") == 0) {
			snprintf(num, sizeof(num), "%zu", hd->hd_size);
			got = num;
		} else
			got = http_get(hd, item);
		if (got == NULL || strcmp(got, eq) != 0) {
			snprintf(why, whylen, "%s is \"%s\", want \"%s\"", item,
			    got ? got : "(none)", eq);
			return why;
		}
	}
	return NULL;
}

/* Checks one parse against its expectations; returns 1 if it held. */
static int
check_case(const struct pcase *c, const char *in, size_t inlen)
{
	struct http_head hd;
	char *buf, why[600];
	int rc;

	buf = malloc(inlen + 1);
	memcpy(buf, in, inlen);
	rc = parse(c->is_request, c->method, buf, inlen, &hd);
	if (rc != c->rc) {
		fail(c->name, "returned %d, want %d", rc, c->rc);
		free(buf);
		return 0;
	}
	if (rc == 0 && (hd.hd_framing != (enum http_framing)c->framing ||
	    hd.hd_length != c->length || hd.hd_version != c->version ||
	    hd.hd_keep_alive != c->keep_alive ||
	    hd.hd_expect_continue != c->expect)) {
		fail(c->name, "framing %d length %llu version %d keep-alive %d "
		    "expect %d, want %d %llu %d %d %d", hd.hd_framing,
		    (unsigned long long)hd.hd_length, hd.hd_version,
		    hd.hd_keep_alive, hd.hd_expect_continue, c->framing,
		    (unsigned long long)c->length, c->version, c->keep_alive,
		    c->expect);
		free(buf);
		return 0;
	}
	if (rc == 0 && c->checks != NULL &&
	    check_fields(&hd, c->checks, why, sizeof(why)) != NULL) {
		fail(c->name, "%s", why);
		free(buf);
		return 0;
	}
	free(buf);
	return 1;
}

/*
 * Every proper prefix of an accepted head is INCOMPLETE and leaves the
 * buffer untouched (the caller parses it again with more bytes).
 */
static int
check_prefixes(const struct pcase *c)
{
	struct http_head hd;
	char *buf;
	size_t k, size;
	int rc;

	buf = malloc(c->inlen + 1);
	memcpy(buf, c->in, c->inlen);
	if (parse(c->is_request, c->method, buf, c->inlen, &hd) != 0) {
		free(buf);
		return 1;
	}
	size = hd.hd_size;
	for (k = 0; k < size; k++) {
		memcpy(buf, c->in, c->inlen);
		rc = parse(c->is_request, c->method, buf, k, &hd);
		if (rc != HTTP_INCOMPLETE) {
			fail(c->name, "prefix of %zu bytes returned %d", k, rc);
			free(buf);
			return 0;
		}
		if (memcmp(buf, c->in, c->inlen) != 0) {
			fail(c->name, "prefix of %zu bytes changed the buffer",
			    k);
			free(buf);
			return 0;
		}
	}
	free(buf);
	return 1;
}

static void
test_table(void)
{
	size_t i;
	const struct pcase *c;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		if (check_case(c, c->in, c->inlen) && check_prefixes(c))
			pass(c->name);
	}
}

/* Expects rc from parsing len bytes of buf as a request. */
static void
expect_req(const char *name, char *buf, size_t len, int want)
{
	struct http_head hd;
	int rc;

	if ((rc = http_parse_request(buf, len, &hd)) != want)
		fail(name, "returned %d, want %d", rc, want);
	else
		pass(name);
}

/* Builds "GET /aaa... HTTP/1.1" with a request line of linelen bytes. */
static size_t
long_line(char *buf, size_t linelen, int complete)
{
	size_t n;

	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', linelen - 5 - 9);
	memcpy(buf + linelen - 9, " HTTP/1.1", 9);
	n = linelen;
	if (complete) {
		memcpy(buf + n, "\r\nHost: a\r\n\r\n", 13);
		n += 13;
	}
	return n;
}

/* Builds a complete request head of exactly size bytes. */
static size_t
sized_head(char *buf, size_t size)
{
	const char *start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	size_t n = strlen(start);

	memcpy(buf, start, n);
	memset(buf + n, 'v', size - n - 4);
	memcpy(buf + size - 4, "\r\n\r\n", 4);
	return size;
}

static void
test_limits(void)
{
	static char buf[HTTP_HEAD_MAX * 2];
	struct http_head hd;
	size_t n, i;
	int rc;

	n = long_line(buf, HTTP_LINE_MAX, 1);
	expect_req("a request line of 8192 bytes is accepted", buf, n, 0);
	n = long_line(buf, HTTP_LINE_MAX + 1, 1);
	expect_req("a request line of 8193 bytes gets 414", buf, n, 414);
	n = long_line(buf, HTTP_LINE_MAX + 1, 0);
	expect_req("an unfinished request line over 8192 bytes gets 414",
	    buf, n, 414);
	n = long_line(buf, HTTP_LINE_MAX, 0);
	expect_req("an unfinished request line of 8192 bytes is incomplete",
	    buf, n, HTTP_INCOMPLETE);

	n = sized_head(buf, HTTP_HEAD_MAX);
	expect_req("a head of exactly 32768 bytes is accepted", buf, n, 0);
	n = sized_head(buf, HTTP_HEAD_MAX);
	rc = http_parse_request(buf, HTTP_HEAD_MAX - 1, &hd);
	if (rc != HTTP_INCOMPLETE)
		fail("a head of 32768 bytes less one is incomplete",
		    "returned %d", rc);
	else
		pass("a head of 32768 bytes less one is incomplete");
	n = sized_head(buf, HTTP_HEAD_MAX + 1);
	expect_req("a head of 32769 bytes gets 431", buf, n, 431);
	n = sized_head(buf, HTTP_HEAD_MAX + 1);
	expect_req("32768 bytes without the end of the head get 431", buf,
	    HTTP_HEAD_MAX, 431);
	n = sized_head(buf, HTTP_HEAD_MAX * 2);
	expect_req("a buffer longer than 32768 bytes without an end gets 431",
	    buf, n, 431);

	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < HTTP_FIELDS_MAX; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "X-%zu: %zu\r\n", i, i);
	n += snprintf(buf + n, sizeof(buf) - n, "\r\n");
	rc = http_parse_request(buf, n, &hd);
	if (rc != 0 || hd.hd_nfields != HTTP_FIELDS_MAX ||
	    strcmp(http_get(&hd, "X-127"), "127") != 0)
		fail("128 fields are accepted", "returned %d", rc);
	else
		pass("128 fields are accepted");
	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < HTTP_FIELDS_MAX; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "X-%zu: %zu\r\n", i, i);
	n += snprintf(buf + n, sizeof(buf) - n, "\r\n");
	expect_req("129 fields get 431", buf, n, 431);
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n");
	for (i = 0; i <= HTTP_FIELDS_MAX; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "X-%zu: %zu\r\n", i, i);
	n += snprintf(buf + n, sizeof(buf) - n, "\r\n");
	rc = http_parse_response(buf, n, "GET", &hd);
	if (rc != 502)
		fail("a response with 129 fields gets 502", "returned %d", rc);
	else
		pass("a response with 129 fields gets 502");
	n = sized_head(buf, HTTP_HEAD_MAX + 1);
	memcpy(buf, "HTTP/1.1 200 OK\r\nX-Padding: ", 28);
	rc = http_parse_response(buf, n, "GET", &hd);
	if (rc != 502)
		fail("a response head over 32768 bytes gets 502", "returned %d",
		    rc);
	else
		pass("a response head over 32768 bytes gets 502");
}

static void
test_pipelined_parse(void)
{
	char buf[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
	    "GET /2 HTTP/1.1\r\nHost: b\r\n\r\nGET /3";
	const char *name = "pipelined requests in one buffer parse one by one";
	struct http_head hd;
	size_t off = 0, len = sizeof(buf) - 1;
	int rc;

	if ((rc = http_parse_request(buf, len, &hd)) != 0 ||
	    strcmp(hd.hd_target, "/1") != 0 || hd.hd_size != 28) {
		fail(name, "first: %d", rc);
		return;
	}
	off = hd.hd_size;
	if ((rc = http_parse_request(buf + off, len - off, &hd)) != 0 ||
	    strcmp(hd.hd_target, "/2") != 0 ||
	    strcmp(http_get(&hd, "host"), "b") != 0) {
		fail(name, "second: %d", rc);
		return;
	}
	off += hd.hd_size;
	if ((rc = http_parse_request(buf + off, len - off, &hd)) !=
	    HTTP_INCOMPLETE) {
		fail(name, "third: %d", rc);
		return;
	}
	pass(name);
}

static void
test_helpers(void)
{
	static const int codes[] = { 100, 101, 102, 103, 200, 201, 202, 203,
	    204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307,
	    308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411,
	    412, 413, 414, 415, 416, 417, 421, 422, 423, 424, 425, 426, 428,
	    429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510,
	    511 };
	static const char *hop[] = { "Connection", "keep-alive",
	    "Proxy-Connection", "proxy-authorization", "Proxy-Authenticate",
	    "TE", "Trailer", "transfer-encoding", "Upgrade" };
	char buf[] = "GET / HTTP/1.1\r\nHost: a\r\n"
	    "Connection: keep-alive, X-Secret , upgrade\r\n"
	    "Connection: X-Other\r\nX-Secret: 1\r\nX-Other: 2\r\n"
	    "Accept: text/html, text/plain\r\n\r\n";
	struct http_head hd;
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(http_reason(codes[i]), "Unknown") == 0) {
			fail("every RFC 9110 status has a reason", "%d",
			    codes[i]);
			bad = 1;
		}
	if (!bad)
		pass("every RFC 9110 status has a reason");
	if (strcmp(http_reason(404), "Not Found") != 0 ||
	    strcmp(http_reason(431), "Request Header Fields Too Large") != 0 ||
	    strcmp(http_reason(451), "Unavailable For Legal Reasons") != 0 ||
	    strcmp(http_reason(413), "Content Too Large") != 0 ||
	    strcmp(http_reason(999), "Unknown") != 0 ||
	    strcmp(http_reason(0), "Unknown") != 0)
		fail("reason phrases are the standard ones", "mismatch");
	else
		pass("reason phrases are the standard ones");

	if (!http_is_token("GET") || !http_is_token("x-!#$%&'*+.^_`|~") ||
	    http_is_token("") || http_is_token("a b") ||
	    http_is_token("a:b") || http_is_token("a\"") ||
	    http_is_token("\xc3\xa9") || http_is_token(NULL))
		fail("http_is_token accepts exactly tokens", "mismatch");
	else
		pass("http_is_token accepts exactly tokens");

	if (http_parse_request(buf, sizeof(buf) - 1, &hd) != 0) {
		fail("helpers on a parsed head", "did not parse");
		return;
	}
	if (!http_has_token(&hd, "connection", "UPGRADE") ||
	    !http_has_token(&hd, "Connection", "x-other") ||
	    !http_has_token(&hd, "Connection", "x-secret") ||
	    http_has_token(&hd, "Connection", "keep") ||
	    http_has_token(&hd, "Connection", "close") ||
	    !http_has_token(&hd, "Accept", "text/plain") ||
	    http_has_token(&hd, "X-Missing", "a"))
		fail("http_has_token finds list members", "mismatch");
	else
		pass("http_has_token finds list members");
	bad = 0;
	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (!http_is_hop_by_hop(&hd, hop[i])) {
			fail("fixed hop-by-hop fields", "%s", hop[i]);
			bad = 1;
		}
	if (!bad)
		pass("fixed hop-by-hop fields");
	if (!http_is_hop_by_hop(&hd, "X-Secret") ||
	    !http_is_hop_by_hop(&hd, "x-other") ||
	    http_is_hop_by_hop(&hd, "Host") ||
	    http_is_hop_by_hop(&hd, "Accept") ||
	    http_is_hop_by_hop(&hd, "Content-Length"))
		fail("fields named in Connection are hop-by-hop", "mismatch");
	else
		pass("fields named in Connection are hop-by-hop");
	if (http_get(&hd, "x-secret") == NULL ||
	    strcmp(http_get(&hd, "Connection"), "keep-alive, X-Secret , "
	    "upgrade") != 0 || http_get(&hd, "Nope") != NULL)
		fail("http_get returns the first field", "mismatch");
	else
		pass("http_get returns the first field");
}

/* --- I/O --- */

/*
 * Forks a writer of data to fd in pieces of step bytes (pausing between
 * them so the reader sees them apart), then closes fd in both processes.
 */
static pid_t
feed(int fd, const char *data, size_t len, size_t step)
{
	pid_t pid;
	size_t off, k;

	if ((pid = fork()) == -1) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		for (off = 0; off < len; off += k) {
			k = len - off < step ? len - off : step;
			if (write(fd, data + off, k) != (ssize_t)k)
				_exit(1);
			if (step < 16)
				usleep(200);
		}
		_exit(0);
	}
	close(fd);
	return pid;
}

static void
reap(pid_t pid)
{
	int st;

	waitpid(pid, &st, 0);
}

static void
pair(int sv[2], int use_pipe)
{
	if (use_pipe ? pipe(sv) : socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		perror("socketpair");
		exit(2);
	}
}

/* Reads the whole body into out (at most cap); returns the length or -1. */
static ssize_t
slurp(struct http_in *in, struct http_head *hd, char *out, size_t cap,
    size_t step, int *status)
{
	struct http_body bd;
	size_t len = 0;
	ssize_t r;

	http_body_init(&bd, hd);
	*status = 0;
	for (;;) {
		if (len == cap)
			return -1;
		if (step > cap - len)
			step = cap - len;
		r = http_read_body(in, &bd, out + len, step,
		    mono_ms() + 5000, status);
		if (r < 0)
			return -1;
		if (r == 0)
			return bd.bd_done ? (ssize_t)len : -1;
		len += r;
	}
}

static const char chunked_msg[] =
    "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nhello\r\n"
    "6 ; ext = 1 ;q=\"a \\\"b\\\"\"; flag\r\n world\r\n"
    "00A\r\n, chunked!\r\n"
    "0\r\nX-Trailer: 1\r\nY: two\r\n\r\n"
    "GET /next HTTP/1.1\r\nHost: b\r\n\r\n";

/* De-chunks chunked_msg fed in pieces of step, read in pieces of rstep. */
static void
chunked_roundtrip(size_t step, size_t rstep, int use_pipe)
{
	struct http_in in;
	struct http_head hd;
	char name[128], out[256];
	ssize_t n;
	pid_t pid;
	int sv[2], rc, status;

	snprintf(name, sizeof(name), "chunked body written by %zu, read by "
	    "%zu%s, then the pipelined request", step, rstep,
	    use_pipe ? " through a pipe" : "");
	pair(sv, use_pipe);
	pid = feed(sv[1], chunked_msg, sizeof(chunked_msg) - 1, step);
	http_in_init(&in, sv[0]);
	if ((rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000)) != 0 ||
	    hd.hd_framing != HTTP_BODY_CHUNKED) {
		fail(name, "head: %d", rc);
		goto out;
	}
	n = slurp(&in, &hd, out, sizeof(out), rstep, &status);
	if (n != 21 || memcmp(out, "hello world, chunked!", 21) != 0) {
		fail(name, "body: %zd bytes, status %d", n, status);
		goto out;
	}
	if (strcmp(hd.hd_target, "/up") != 0 ||
	    strcmp(http_get(&hd, "Host"), "a") != 0) {
		fail(name, "the head's strings were overwritten by the body");
		goto out;
	}
	if ((rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000)) != 0 ||
	    strcmp(hd.hd_target, "/next") != 0) {
		fail(name, "next head: %d", rc);
		goto out;
	}
	if ((rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000)) !=
	    HTTP_EOF) {
		fail(name, "end: %d", rc);
		goto out;
	}
	pass(name);
out:
	close(sv[0]);
	reap(pid);
}

#define TE	"Transfer-Encoding: chunked\r\n\r\n"

struct bcase {
	const char	*name;
	const char	*in;		/* framing field(s) and body */
	size_t		 inlen;
	int		 is_request;
	int		 status;	/* 0: body must be ok */
	const char	*body;		/* with status 0 */
};

static const struct bcase bcases[] = {
	{ "chunk size in upper case hex with leading zeros",
	    S(TE "000A\r\n0123456789\r\n0\r\n\r\n"),
	    1, 0, "0123456789" },
	{ "bare LF ending a chunk size line",
	    S(TE "3\nabc\r\n0\r\n\r\n"), 1, 400, NULL },
	{ "bare LF ending a chunk extension",
	    S(TE "3;a\nabc\r\n0\r\n\r\n"), 1, 400, NULL },
	{ "bare LF after chunk data",
	    S(TE "3\r\nabc\n0\r\n\r\n"), 1, 400, NULL },
	{ "bare LF ending a trailer",
	    S(TE "0\r\nA: 1\n\r\n"), 1, 400, NULL },
	{ "bare LF as the last line of a chunked body",
	    S(TE "0\r\n\n"), 1, 400, NULL },
	{ "chunked with a quoted extension with escapes",
	    S(TE "3;a=\"x;y\\\"z\"\r\nabc\r\n0;last\r\n\r\n"), 1, 0, "abc" },
	{ "trailers are dropped",
	    S(TE "1\r\nx\r\n0\r\nA: 1\r\nB:\r\n\r\n"),
	    1, 0, "x" },
	{ "non-hex chunk size",
	    S(TE "zz\r\nabc\r\n0\r\n\r\n"), 1, 400,
	    NULL },
	{ "negative chunk size",
	    S(TE "-3\r\nabc\r\n0\r\n\r\n"), 1, 400,
	    NULL },
	{ "empty chunk size line",
	    S(TE "\r\nabc\r\n0\r\n\r\n"), 1, 400,
	    NULL },
	{ "chunk size with 0x",
	    S(TE "0x3\r\nabc\r\n0\r\n\r\n"), 1, 400,
	    NULL },
	{ "chunk size over 2^63-1",
	    S(TE "8000000000000000\r\nabc\r\n"), 1,
	    400, NULL },
	{ "chunk size that wraps around 2^64",
	    S(TE "10000000000000003\r\nabc\r\n0\r\n\r\n"), 1, 400, NULL },
	{ "garbage after the chunk size",
	    S(TE "3 xyz\r\nabc\r\n0\r\n\r\n"), 1,
	    400, NULL },
	{ "empty chunk extension name",
	    S(TE "3;\r\nabc\r\n0\r\n\r\n"), 1, 400,
	    NULL },
	{ "chunk extension without a value after =",
	    S(TE "3;a=\r\nabc\r\n0\r\n\r\n"), 1,
	    400, NULL },
	{ "unterminated quoted chunk extension",
	    S(TE "3;a=\"x\r\nabc\r\n0\r\n\r\n"), 1,
	    400, NULL },
	{ "NUL in a chunk extension",
	    S(TE "3;a\0\r\nabc\r\n0\r\n\r\n"), 1,
	    400, NULL },
	{ "bare CR after the chunk size",
	    S(TE "3\rabc\r\n0\r\n\r\n"), 1, 400,
	    NULL },
	{ "missing CRLF after chunk data",
	    S(TE "3\r\nabcd\r\n0\r\n\r\n"), 1, 400,
	    NULL },
	{ "bare CR after chunk data",
	    S(TE "3\r\nabc\rX0\r\n\r\n"), 1, 400,
	    NULL },
	{ "obs-fold in a trailer",
	    S(TE "0\r\nA: 1\r\n 2\r\n\r\n"), 1, 400,
	    NULL },
	{ "trailer without colon",
	    S(TE "0\r\nA\r\n\r\n"), 1, 400, NULL },
	{ "trailer with space before the colon",
	    S(TE "0\r\nA : 1\r\n\r\n"), 1, 400,
	    NULL },
	{ "control in a trailer value",
	    S(TE "0\r\nA: \x01\r\n\r\n"), 1, 400,
	    NULL },
	{ "closed in the middle of chunk data",
	    S(TE "10\r\nabc"), 1, 400, NULL },
	{ "closed before the last chunk",
	    S(TE "3\r\nabc\r\n"), 1, 400, NULL },
	{ "closed in the trailers",
	    S(TE "0\r\nA: 1\r\n"), 1, 400, NULL },
	{ "closed in a chunk size line",
	    S(TE "3;a=b"), 1, 400, NULL },
	{ "short Content-Length body",
	    S("Content-Length: 10\r\n\r\nabc"), 1, 400, NULL },
	{ "exact Content-Length body",
	    S("Content-Length: 3\r\n\r\nabcdef"), 1, 0, "abc" },
	{ "short body from a response gets 502",
	    S("Content-Length: 10\r\n\r\nabc"), 0, 502, NULL },
	{ "bad chunk size from a response gets 502",
	    S(TE "xyz\r\n"), 0, 502, NULL },
	{ "response closed mid-chunk gets 502",
	    S(TE "5\r\nab"), 0, 502, NULL },
	{ "response body until close",
	    S("\r\nhello until close"), 0, 0, "hello until close" },
	{ "response chunked body",
	    S(TE "2\r\nok\r\n0\r\n\r\n"), 0, 0,
	    "ok" },
};

static void
body_case(const struct bcase *c, size_t step)
{
	struct http_in in;
	struct http_head hd;
	char *msg, out[256], name[256];
	size_t len;
	ssize_t n;
	pid_t pid;
	int sv[2], rc, status;

	snprintf(name, sizeof(name), "%s (written by %zu)", c->name, step);
	msg = malloc(c->inlen + 64);
	len = snprintf(msg, 64, "%s", c->is_request ?
	    "POST / HTTP/1.1\r\nHost: a\r\n" : "HTTP/1.1 200 OK\r\n");
	memcpy(msg + len, c->in, c->inlen);
	len += c->inlen;
	pair(sv, 0);
	pid = feed(sv[1], msg, len, step);
	http_in_init(&in, sv[0]);
	rc = http_read_head(&in, &hd, c->is_request, "GET", mono_ms() + 5000);
	if (rc != 0) {
		fail(name, "head: %d", rc);
		goto out;
	}
	n = slurp(&in, &hd, out, sizeof(out), 7, &status);
	if (c->status != 0 && (n != -1 || status != c->status))
		fail(name, "read %zd, status %d, want -1 and %d", n, status,
		    c->status);
	else if (c->status == 0 && (n != (ssize_t)strlen(c->body) ||
	    memcmp(out, c->body, n) != 0))
		fail(name, "read %zd bytes (status %d), want \"%s\"", n,
		    status, c->body);
	else
		pass(name);
out:
	free(msg);
	close(sv[0]);
	reap(pid);
}

/* A chunked body "x" with nlines trailer lines of linelen bytes. */
static void
trailer_case(const char *name, int nlines, size_t linelen, int status)
{
	struct bcase c;
	char *in;
	size_t len, k;
	int i;

	in = malloc(64 + nlines * (linelen + 16));
	len = sprintf(in, "Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n");
	for (i = 0; i < nlines; i++) {
		k = sprintf(in + len, "T%d: ", i);
		for (len += k; k + 2 < linelen; k++)
			in[len++] = 'v';
		len += sprintf(in + len, "\r\n");
	}
	len += sprintf(in + len, "\r\n");
	c.name = name;
	c.in = in;
	c.inlen = len;
	c.is_request = 1;
	c.status = status;
	c.body = "x";
	body_case(&c, 4096);
	free(in);
}

static void
test_bodies(void)
{
	size_t i;

	trailer_case("128 trailer lines are read and dropped", 128, 0, 0);
	trailer_case("129 trailer lines get 400", 129, 0, 400);
	trailer_case("trailers of 30000 bytes are read and dropped", 30, 999,
	    0);
	trailer_case("trailers over 32 KiB get 400", 40, 999, 400);

	for (i = 0; i < sizeof(bcases) / sizeof(bcases[0]); i++) {
		body_case(&bcases[i], 4096);
		body_case(&bcases[i], 1);
	}
	chunked_roundtrip(4096, 4096, 0);
	chunked_roundtrip(4096, 1, 0);
	chunked_roundtrip(1, 4096, 0);
	chunked_roundtrip(1, 3, 0);
	chunked_roundtrip(2, 5, 1);
	chunked_roundtrip(4096, 4096, 1);
}

static unsigned char
pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

/* A body of BIG bytes, as Content-Length or chunks, through a 1000-byte out. */
static void
test_big_body(int chunked, int use_pipe)
{
	struct http_in in;
	struct http_head hd;
	struct http_body bd;
	char *msg, out[1000], name[128];
	size_t len, i, k, got = 0;
	ssize_t r;
	pid_t pid;
	int sv[2], rc, status = 0, bad = 0;

	snprintf(name, sizeof(name), "a %s body of 1 MiB streams through a "
	    "1000-byte buffer%s", chunked ? "chunked" : "Content-Length",
	    use_pipe ? " (pipe)" : "");
	msg = malloc(BIG * 2);
	if (chunked)
		len = sprintf(msg, "PUT /big HTTP/1.1\r\nHost: a\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n");
	else
		len = sprintf(msg, "PUT /big HTTP/1.1\r\nHost: a\r\n"
		    "Content-Length: %d\r\n\r\n", BIG);
	for (i = 0; i < BIG; i += k) {
		k = 1 + (i % 5000);
		if (k > BIG - i)
			k = BIG - i;
		if (chunked)
			len += sprintf(msg + len, "%zx\r\n", k);
		while (k-- > 0)
			msg[len++] = pattern(i++);
		k = 0;
		if (chunked)
			len += sprintf(msg + len, "\r\n");
	}
	if (chunked)
		len += sprintf(msg + len, "0\r\n\r\n");
	len += sprintf(msg + len, "GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
	pair(sv, use_pipe);
	pid = feed(sv[1], msg, len, 7777);
	http_in_init(&in, sv[0]);
	if ((rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000)) != 0) {
		fail(name, "head: %d", rc);
		goto out;
	}
	http_body_init(&bd, &hd);
	while ((r = http_read_body(&in, &bd, out, sizeof(out),
	    mono_ms() + 5000, &status)) > 0) {
		for (i = 0; i < (size_t)r && !bad; i++)
			if ((unsigned char)out[i] != pattern(got + i))
				bad = 1;
		got += r;
	}
	if (r < 0 || got != BIG || bad) {
		fail(name, "got %zu bytes, status %d, corrupt %d", got, status,
		    bad);
		goto out;
	}
	if ((rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000)) != 0 ||
	    strcmp(hd.hd_target, "/after") != 0) {
		fail(name, "next head: %d", rc);
		goto out;
	}
	pass(name);
out:
	free(msg);
	close(sv[0]);
	reap(pid);
}

/*
 * Reads one head from data written in pieces of step; returns the verdict
 * and leaves the target in hd (valid until the next call).
 */
static int
read_one(const char *data, size_t len, size_t step, struct http_in *in,
    struct http_head *hd, int *sv0, pid_t *pid)
{
	int sv[2];

	pair(sv, 0);
	*pid = feed(sv[1], data, len, step);
	http_in_init(in, sv[0]);
	*sv0 = sv[0];
	return http_read_head(in, hd, 1, NULL, mono_ms() + 10000);
}

/*
 * A few empty lines before a request line are skipped (RFC 9112 2.2); a
 * flood of them, or of bare CRs, is refused, however it arrives: the
 * scanner looks at each byte once and the head is never parsed before
 * it is whole.
 */
static void
test_leading_empty_lines(void)
{
	static const char req[] = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_in in;
	struct http_head hd;
	const char *name;
	size_t n = 40000, len;
	char *msg;
	pid_t pid;
	int fd, rc;

	msg = malloc(n + sizeof(req));
	for (len = 0; len < n; len += 2)
		memcpy(msg + len, len % 4 == 0 ? "\r\n" : "\n\n", 2);
	memcpy(msg + len, req, sizeof(req) - 1);
	len += sizeof(req) - 1;
	name = "a request after 40 KB of empty lines gets 400";
	rc = read_one(msg, len, 1000, &in, &hd, &fd, &pid);
	if (rc != 400 || hd.hd_error == NULL ||
	    strstr(hd.hd_error, "empty lines") == NULL)
		fail(name, "returned %d", rc);
	else
		pass(name);
	close(fd);
	reap(pid);

	memset(msg, '\r', n);
	memcpy(msg + n, req, sizeof(req) - 1);
	len = n + sizeof(req) - 1;
	name = "a request after 40000 bare CRs gets 400";
	rc = read_one(msg, len, 1000, &in, &hd, &fd, &pid);
	if (rc != 400 || hd.hd_error == NULL ||
	    strcmp(hd.hd_error, "bare CR in the head") != 0)
		fail(name, "returned %d", rc);
	else
		pass(name);
	close(fd);
	reap(pid);
	name = "bare CRs written one by one get 400";
	rc = read_one(msg, 200, 1, &in, &hd, &fd, &pid);
	if (rc != 400)
		fail(name, "returned %d", rc);
	else
		pass(name);
	close(fd);
	reap(pid);

	len = 0;
	for (n = 0; n < HTTP_EMPTY_LINES_MAX; n++)
		len += sprintf(msg + len, n % 2 ? "\n" : "\r\n");
	memcpy(msg + len, req, sizeof(req) - 1);
	name = "16 empty lines written one byte at a time, then a request";
	rc = read_one(msg, len + sizeof(req) - 1, 1, &in, &hd, &fd, &pid);
	if (rc != 0 || strcmp(hd.hd_target, "/x") != 0 ||
	    hd.hd_size != len + sizeof(req) - 1)
		fail(name, "returned %d", rc);
	else if ((rc = http_read_head(&in, &hd, 1, NULL,
	    mono_ms() + 10000)) != HTTP_EOF)
		fail(name, "then %d, want HTTP_EOF", rc);
	else
		pass(name);
	close(fd);
	reap(pid);

	name = "empty lines and then a close are a clean end";
	rc = read_one("\r\n\n\r\n", 5, 1, &in, &hd, &fd, &pid);
	if (rc != HTTP_EOF)
		fail(name, "returned %d", rc);
	else
		pass(name);
	close(fd);
	reap(pid);
	free(msg);
}

static void
test_read_head(void)
{
	static const char pipelined[] =
	    "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
	    "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
	    "GET /3 HTTP/1.0\r\n\r\n";
	static char big[HTTP_HEAD_MAX + 100];
	struct http_in in;
	struct http_head hd;
	const char *p;
	char out[16];
	ssize_t n;
	pid_t pid;
	size_t pend;
	int sv[2], rc, status, step;
	const char *name;

	for (step = 4096; step >= 1; step = step == 4096 ? 1 : 0) {
		name = step == 1 ? "pipelined requests written byte by byte" :
		    "pipelined requests in one write";
		pair(sv, 0);
		pid = feed(sv[1], pipelined, sizeof(pipelined) - 1, step);
		http_in_init(&in, sv[0]);
		rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000);
		if (rc != 0 || strcmp(hd.hd_target, "/1") != 0 ||
		    hd.hd_framing != HTTP_BODY_NONE) {
			fail(name, "first: %d", rc);
			goto next;
		}
		rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000);
		if (rc != 0 || strcmp(hd.hd_target, "/2") != 0 ||
		    hd.hd_length != 5) {
			fail(name, "second: %d", rc);
			goto next;
		}
		pend = http_in_pending(&in, &p);
		if (step == 4096 && (pend < 5 || memcmp(p, "hello", 5) != 0)) {
			fail(name, "pending after the head: %zu", pend);
			goto next;
		}
		n = slurp(&in, &hd, out, sizeof(out), 2, &status);
		if (n != 5 || memcmp(out, "hello", 5) != 0) {
			fail(name, "body: %zd", n);
			goto next;
		}
		rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000);
		if (rc != 0 || strcmp(hd.hd_target, "/3") != 0 ||
		    hd.hd_keep_alive != 0) {
			fail(name, "third: %d", rc);
			goto next;
		}
		rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000);
		if (rc != HTTP_EOF) {
			fail(name, "end: %d", rc);
			goto next;
		}
		pass(name);
next:
		close(sv[0]);
		reap(pid);
	}

	pair(sv, 0);
	pid = feed(sv[1], "GET / HTTP/1.1\r\nHo", 18, 4096);
	http_in_init(&in, sv[0]);
	rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000);
	if (rc != 400)
		fail("a peer closing mid-head gets 400", "returned %d", rc);
	else
		pass("a peer closing mid-head gets 400");
	close(sv[0]);
	reap(pid);

	pair(sv, 0);
	pid = feed(sv[1], "HTTP/1.1 200 OK\r\n", 17, 4096);
	http_in_init(&in, sv[0]);
	rc = http_read_head(&in, &hd, 0, "GET", mono_ms() + 5000);
	if (rc != 502)
		fail("a server closing mid-head gets 502", "returned %d", rc);
	else
		pass("a server closing mid-head gets 502");
	close(sv[0]);
	reap(pid);

	pair(sv, 0);
	pid = feed(sv[1], "", 0, 4096);
	http_in_init(&in, sv[0]);
	rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000);
	if (rc != HTTP_EOF)
		fail("a peer closing before any byte is HTTP_EOF",
		    "returned %d", rc);
	else
		pass("a peer closing before any byte is HTTP_EOF");
	close(sv[0]);
	reap(pid);

	pair(sv, 0);
	if (write(sv[1], "GET / HTTP/1.1\r\n", 16) != 16)
		exit(2);
	http_in_init(&in, sv[0]);
	rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 100);
	if (rc != 408)
		fail("a silent client gets 408 at the deadline", "returned %d",
		    rc);
	else
		pass("a silent client gets 408 at the deadline");
	http_in_init(&in, sv[0]);
	rc = http_read_head(&in, &hd, 0, "GET", mono_ms() + 100);
	if (rc != 504)
		fail("a silent server gets 504 at the deadline", "returned %d",
		    rc);
	else
		pass("a silent server gets 504 at the deadline");
	close(sv[0]);
	close(sv[1]);

	sized_head(big, sizeof(big));
	pair(sv, 0);
	pid = feed(sv[1], big, sizeof(big), 1000);
	http_in_init(&in, sv[0]);
	rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000);
	if (rc != 431)
		fail("a head over 32 KiB from a socket gets 431", "returned %d",
		    rc);
	else
		pass("a head over 32 KiB from a socket gets 431");
	close(sv[0]);
	reap(pid);

	long_line(big, HTTP_LINE_MAX + 500, 0);
	pair(sv, 0);
	pid = feed(sv[1], big, HTTP_LINE_MAX + 500, 3000);
	http_in_init(&in, sv[0]);
	rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000);
	if (rc != 414)
		fail("a long request line from a socket gets 414",
		    "returned %d", rc);
	else
		pass("a long request line from a socket gets 414");
	close(sv[0]);
	reap(pid);

	/* A head filling the buffer exactly, then a chunked body. */
	sized_head(big, HTTP_HEAD_MAX);
	memcpy(big + HTTP_HEAD_MAX - 32, "\r\n" TE, 32);
	memcpy(big + HTTP_HEAD_MAX, "3\r\nabc\r\n0\r\n\r\n", 13);
	pair(sv, 0);
	pid = feed(sv[1], big, HTTP_HEAD_MAX + 13, 32768);
	http_in_init(&in, sv[0]);
	rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000);
	n = rc == 0 ? slurp(&in, &hd, out, sizeof(out), 4, &status) : -1;
	if (rc != 0 || n != 3 || memcmp(out, "abc", 3) != 0)
		fail("a chunked body after a head of exactly 32 KiB",
		    "head %d body %zd", rc, n);
	else if (strcmp(hd.hd_method, "GET") != 0 ||
	    strcmp(hd.hd_target, "/") != 0 ||
	    http_get(&hd, "Host") == NULL ||
	    strcmp(http_get(&hd, "Host"), "a") != 0 ||
	    http_get(&hd, "Transfer-Encoding") == NULL)
		fail("a chunked body after a head of exactly 32 KiB",
		    "the body overwrote the head: method \"%.8s\"",
		    hd.hd_method);
	else
		pass("a chunked body after a head of exactly 32 KiB");
	close(sv[0]);
	reap(pid);
}

static void
test_body_deadline(void)
{
	struct http_in in;
	struct http_head hd;
	struct http_body bd;
	char buf[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n";
	char rbuf[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	char out[16];
	ssize_t r;
	int sv[2], status = 0;

	pair(sv, 0);
	http_in_init(&in, sv[0]);
	if (write(sv[1], "abc", 3) != 3 ||
	    http_parse_request(buf, sizeof(buf) - 1, &hd) != 0)
		exit(2);
	http_body_init(&bd, &hd);
	r = http_read_body(&in, &bd, out, sizeof(out), mono_ms() + 100,
	    &status);
	if (r != 3)
		fail("a body stalled by the client gets 408", "first read %zd",
		    r);
	else if ((r = http_read_body(&in, &bd, out, sizeof(out),
	    mono_ms() + 100, &status)) != -1 || status != 408)
		fail("a body stalled by the client gets 408", "%zd, %d", r,
		    status);
	else
		pass("a body stalled by the client gets 408");
	if (http_parse_response(rbuf, sizeof(rbuf) - 1, "GET", &hd) != 0)
		exit(2);
	http_body_init(&bd, &hd);
	r = http_read_body(&in, &bd, out, sizeof(out), mono_ms() + 100,
	    &status);
	if (r != -1 || status != 504)
		fail("a body stalled by the server gets 504", "%zd, %d", r,
		    status);
	else
		pass("a body stalled by the server gets 504");
	close(sv[0]);
	close(sv[1]);
}

/* Reads everything from fd into buf; returns the length. */
static size_t
drain(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t r;

	while (len < cap && (r = read(fd, buf + len, cap - len)) > 0)
		len += r;
	return len;
}

static void
expect_bytes(const char *name, const char *got, size_t glen,
    const char *want)
{
	if (glen != strlen(want) || memcmp(got, want, glen) != 0)
		fail(name, "wrote \"%.*s\"", (int)glen, got);
	else
		pass(name);
}

static void
test_writers(void)
{
	static const struct http_field fields[] = {
		{ "Host", "a.example" }, { "X-Empty", "" }
	};
	static const struct http_field evil[] = {
		{ "X", "a\r\nInjected: 1" }
	};
	static const struct http_field badname[] = { { "X Y", "a" } };
	char out[4096], *big;
	struct http_head hd;
	size_t len, i;
	pid_t pid;
	int sv[2], n, st, fl;

	n = http_format_head(out, sizeof(out), "GET / HTTP/1.1", fields, 2);
	expect_bytes("http_format_head writes the start line, fields and "
	    "blank line", out, n < 0 ? 0 : n,
	    "GET / HTTP/1.1\r\nHost: a.example\r\nX-Empty: \r\n\r\n");
	if (http_format_head(out, 47, "GET / HTTP/1.1", fields, 2) != 46 ||
	    http_format_head(out, 46, "GET / HTTP/1.1", fields, 2) != -1 ||
	    http_format_head(out, 10, "GET / HTTP/1.1", fields, 2) != -1)
		fail("http_format_head returns -1 when it does not fit",
		    "mismatch");
	else
		pass("http_format_head returns -1 when it does not fit");
	if (http_format_head(out, sizeof(out), "HTTP/1.1 200 OK", evil,
	    1) != -1 || http_format_head(out, sizeof(out),
	    "GET / HTTP/1.1\r\nX: y", NULL, 0) != -1 ||
	    http_format_head(out, sizeof(out), "GET / HTTP/1.1", badname,
	    1) != -1)
		fail("http_format_head refuses CR, LF and bad names",
		    "mismatch");
	else
		pass("http_format_head refuses CR, LF and bad names");

	pair(sv, 0);
	if (http_write_chunk(sv[1], "hello", 5, 0) != 0 ||
	    http_write_chunk(sv[1], "0123456789abcdefg", 17, 0) != 0 ||
	    http_write_chunk(sv[1], NULL, 0, 0) != 0)
		fail("http_write_chunk", "returned -1");
	close(sv[1]);
	len = drain(sv[0], out, sizeof(out));
	close(sv[0]);
	expect_bytes("http_write_chunk frames chunks and the last chunk", out,
	    len, "5\r\nhello\r\n11\r\n0123456789abcdefg\r\n0\r\n\r\n");

	pair(sv, 0);
	if (http_send_error(sv[1], 11, 404, PE_NONE, "no such file", NULL, 1,
	    0) != 119)
		fail("http_send_error", "returned -1 or a wrong count");
	close(sv[1]);
	len = drain(sv[0], out, sizeof(out));
	close(sv[0]);
	expect_bytes("http_send_error for a 1.1 client that is closed", out,
	    len, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 28\r\nConnection: close\r\n\r\n"
	    "404 Not Found: no such file\n");

	pair(sv, 0);
	if (http_send_error(sv[1], 10, 407, PE_HTTP_REQUEST_DENIED,
	    "credentials needed", "Proxy-Authenticate: Basic realm=\"gtr\"\r\n"
	    "X-A: b", 0, 0) == -1)
		fail("http_send_error", "returned -1 or a wrong count");
	close(sv[1]);
	len = drain(sv[0], out, sizeof(out));
	close(sv[0]);
	expect_bytes("http_send_error with Proxy-Status and extra lines for "
	    "a 1.0 client kept open", out, len,
	    "HTTP/1.1 407 Proxy Authentication Required\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 54\r\n"
	    "Proxy-Status: gtr; error=http_request_denied\r\n"
	    "Proxy-Authenticate: Basic realm=\"gtr\"\r\nX-A: b\r\n"
	    "Connection: keep-alive\r\n\r\n"
	    "407 Proxy Authentication Required: credentials needed\n");
	out[len] = '\0';
	if (http_parse_response(out, len, "GET", &hd) != 0 ||
	    hd.hd_length != len - hd.hd_size)
		fail("http_send_error output parses with its own length",
		    "mismatch");
	else
		pass("http_send_error output parses with its own length");

	pair(sv, 0);
	if (http_send_error(sv[1], 11, 502, PE_DNS_ERROR, NULL, NULL, 0,
	    0) == -1)
		fail("http_send_error", "returned -1 or a wrong count");
	close(sv[1]);
	len = drain(sv[0], out, sizeof(out));
	close(sv[0]);
	expect_bytes("http_send_error without detail for a 1.1 client", out,
	    len, "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 16\r\nProxy-Status: gtr; error=dns_error\r\n\r\n"
	    "502 Bad Gateway\n");

	/* 1 MiB through a non-blocking socket and through a pipe. */
	big = malloc(BIG);
	for (i = 0; i < BIG; i++)
		big[i] = pattern(i);
	for (n = 0; n < 2; n++) {
		pair(sv, n);
		if ((pid = fork()) == 0) {
			char *in = malloc(BIG + 1);

			close(sv[1]);
			len = drain(sv[0], in, BIG + 1);
			for (i = 0; i < len; i++)
				if ((unsigned char)in[i] != pattern(i))
					_exit(1);
			_exit(len == BIG ? 0 : 1);
		}
		close(sv[0]);
		fl = fcntl(sv[1], F_GETFL);
		fcntl(sv[1], F_SETFL, fl | O_NONBLOCK);
		if (http_write_all(sv[1], big, BIG, mono_ms() + 10000) != 0)
			fail("http_write_all writes 1 MiB", "returned -1");
		close(sv[1]);
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail(n ? "http_write_all writes 1 MiB to a pipe" :
			    "http_write_all writes 1 MiB to a socket",
			    "the reader got something else");
		else
			pass(n ? "http_write_all writes 1 MiB to a pipe" :
			    "http_write_all writes 1 MiB to a socket");
	}

	pair(sv, 0);
	n = http_write_all(sv[1], big, BIG, mono_ms() + 100);
	if (n != -1 || errno != ETIMEDOUT)
		fail("http_write_all gives up at the deadline", "returned %d",
		    n);
	else
		pass("http_write_all gives up at the deadline");
	close(sv[0]);
	n = http_write_all(sv[1], "x", 1, 0);
	if (n != -1 || errno != EPIPE)
		fail("http_write_all to a closed peer fails without SIGPIPE",
		    "returned %d", n);
	else
		pass("http_write_all to a closed peer fails without SIGPIPE");
	close(sv[1]);
	free(big);
}

/*
 * The head scanner, fed every table case a byte at a time, reaches the
 * verdict and extent one pass over the whole input gives, and the one
 * the parser gives wherever the verdict is about the extent.
 */
static void
test_head_scan(void)
{
	static char big[HTTP_HEAD_MAX * 2];
	struct http_scan whole, inc;
	struct http_head hd;
	const struct pcase *c;
	size_t i, k, n;
	char *buf;
	int rc, rw, ri, bad = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		http_scan_init(&whole, c->is_request);
		rw = http_head_scan(&whole, c->in, c->inlen);
		http_scan_init(&inc, c->is_request);
		ri = HTTP_INCOMPLETE;
		for (k = 1; k <= c->inlen && ri == HTTP_INCOMPLETE; k++)
			ri = http_head_scan(&inc, c->in, k);
		if (ri != rw || (rw == 0 && (inc.sc_size != whole.sc_size ||
		    inc.sc_skip != whole.sc_skip))) {
			fail("the head scanner fed byte by byte agrees with one "
			    "pass", "%s: %d, want %d", c->name, ri, rw);
			bad = 1;
		}
		buf = malloc(c->inlen + 1);
		memcpy(buf, c->in, c->inlen);
		rc = parse(c->is_request, c->method, buf, c->inlen, &hd);
		free(buf);
		if ((rw == HTTP_INCOMPLETE && rc != HTTP_INCOMPLETE) ||
		    (rw != 0 && rw != HTTP_INCOMPLETE &&
		    rc != (c->is_request ? rw : 502)) ||
		    (rc == 0 && (rw != 0 || hd.hd_size != whole.sc_size))) {
			fail("the head scanner agrees with the parser", "%s: "
			    "scan %d parse %d", c->name, rw, rc);
			bad = 1;
		}
	}
	if (!bad)
		pass("the head scanner agrees with one pass and the parser on "
		    "every table case");

	n = sized_head(big, HTTP_HEAD_MAX);
	http_scan_init(&inc, 1);
	for (k = 1, rc = HTTP_INCOMPLETE; k <= n && rc == HTTP_INCOMPLETE;
	    k++)
		rc = http_head_scan(&inc, big, k);
	if (rc != 0 || inc.sc_size != HTTP_HEAD_MAX ||
	    inc.sc_pos != HTTP_HEAD_MAX)
		fail("a head of 32 KiB scanned a byte at a time", "%d", rc);
	else
		pass("a head of 32 KiB scanned a byte at a time");
	/* The verdict is final: more bytes change nothing. */
	if (http_head_scan(&inc, big, sizeof(big)) != 0 ||
	    inc.sc_size != HTTP_HEAD_MAX)
		fail("a scanner's verdict is final", "changed");
	else
		pass("a scanner's verdict is final");

	n = sized_head(big, HTTP_HEAD_MAX + 1);
	http_scan_init(&inc, 1);
	for (k = 1000, rc = HTTP_INCOMPLETE; rc == HTTP_INCOMPLETE; k += 1000)
		rc = http_head_scan(&inc, big, k < n ? k : n);
	if (rc != 431)
		fail("a head over 32 KiB scanned in pieces gets 431", "%d",
		    rc);
	else
		pass("a head over 32 KiB scanned in pieces gets 431");

	n = long_line(big, HTTP_LINE_MAX + 1, 0);
	http_scan_init(&inc, 1);
	for (k = 1, rc = HTTP_INCOMPLETE; k <= n && rc == HTTP_INCOMPLETE;
	    k++)
		rc = http_head_scan(&inc, big, k);
	if (rc != 414 || k != n + 1)
		fail("a request line over 8 KiB gets 414 at its 8193rd byte",
		    "%d after %zu", rc, k - 1);
	else
		pass("a request line over 8 KiB gets 414 at its 8193rd byte");

	http_scan_init(&inc, 1);
	if (http_head_scan(&inc, "GET / HTTP/1.1\r", 15) != HTTP_INCOMPLETE ||
	    http_head_scan(&inc, "GET / HTTP/1.1\rX", 16) != 400 ||
	    strcmp(inc.sc_error, "bare CR in the head") != 0)
		fail("a CR at the end waits for the next byte", "mismatch");
	else
		pass("a CR at the end waits for the next byte");
	http_scan_init(&inc, 0);
	if (http_head_scan(&inc, "\r\nHTTP/1.1 200 OK\r\n\r\n", 21) != 400)
		fail("a response scanner refuses a leading empty line",
		    "mismatch");
	else
		pass("a response scanner refuses a leading empty line");
}

/* Scans the chunked body at in[0..len) in pieces of step. */
static int
chunk_scan_all(const char *in, size_t len, size_t step, char *out,
    size_t *outlen, size_t *used)
{
	struct http_chunk ck;
	size_t off = 0, k;
	ssize_t r;
	int payload;

	http_chunk_init(&ck);
	*outlen = 0;
	while (off < len && !http_chunk_done(&ck)) {
		k = len - off < step ? len - off : step;
		while (k > 0 && !http_chunk_done(&ck)) {
			if ((r = http_chunk_scan(&ck, in + off, k,
			    &payload)) == -1)
				return -1;
			if (r == 0)
				return -2;	/* no progress */
			if (payload && http_chunk_data_left(&ck) > len)
				return -3;
			if (payload) {
				memcpy(out + *outlen, in + off, r);
				*outlen += r;
			}
			off += r;
			k -= r;
		}
	}
	*used = off;
	if (http_chunk_scan(&ck, in + off, len - off, &payload) != 0)
		return -4;	/* nothing past the end */
	return http_chunk_done(&ck) ? 0 : 1;
}

static void
test_chunk_scan(void)
{
	const char *body = strstr(chunked_msg, "\r\n\r\n") + 4;
	size_t blen = strstr(body, "GET /next") - body, got, used, step;
	const struct bcase *c;
	struct http_chunk ck;
	static char ones[8200];
	char out[256], name[160];
	size_t i;
	int rc, payload, bad = 0;

	for (step = 1; step <= blen + 40; step += step < 8 ? 1 : 7) {
		rc = chunk_scan_all(body, strlen(body), step, out, &got,
		    &used);
		if (rc != 0 || got != 21 ||
		    memcmp(out, "hello world, chunked!", 21) != 0 ||
		    used != blen) {
			fail("the chunk scanner in every split finds the payload "
			    "and the body's end", "step %zu: rc %d, %zu bytes, "
			    "used %zu of %zu", step, rc, got, used, blen);
			bad = 1;
		}
	}
	if (!bad)
		pass("the chunk scanner in every split finds the payload and "
		    "the body's end");

	/* It agrees with http_read_body() on every chunked body case. */
	bad = 0;
	for (i = 0; i < sizeof(bcases) / sizeof(bcases[0]); i++) {
		c = &bcases[i];
		if (strncmp(c->in, TE, strlen(TE)) != 0)
			continue;
		snprintf(name, sizeof(name), "chunk scanner: %s", c->name);
		for (step = 1; step <= 64; step *= 4) {
			rc = chunk_scan_all(c->in + strlen(TE), c->inlen -
			    strlen(TE), step, out, &got, &used);
			if ((c->status == 0 && (rc != 0 ||
			    got != strlen(c->body) ||
			    memcmp(out, c->body, got) != 0)) ||
			    (c->status != 0 && rc == 0)) {
				fail(name, "step %zu: rc %d", step, rc);
				bad = 1;
			}
		}
	}
	if (!bad)
		pass("the chunk scanner agrees with http_read_body on every "
		    "chunked body case");

	http_chunk_init(&ck);
	memset(ones, '1', sizeof(ones));
	if (http_chunk_scan(&ck, "1;a=", 4, &payload) != 4 ||
	    http_chunk_scan(&ck, ones, sizeof(ones), &payload) != -1 ||
	    http_chunk_scan(&ck, "\r\n", 2, &payload) != -1)
		fail("a chunk size line over 8 KiB is an error, and stays one",
		    "mismatch");
	else
		pass("a chunk size line over 8 KiB is an error, and stays one");
	http_chunk_init(&ck);
	if (http_chunk_scan(&ck, "5\r\nab", 5, &payload) != 3 ||
	    payload || http_chunk_data_left(&ck) != 5 ||
	    http_chunk_scan(&ck, "ab", 2, &payload) != 2 || !payload ||
	    http_chunk_data_left(&ck) != 3 || http_chunk_done(&ck))
		fail("framing stops before the first data byte", "mismatch");
	else
		pass("framing stops before the first data byte");
}

/*
 * A head of exactly 32 KiB in one write, then a chunked body several
 * times the size of in_buf in pieces of step, read through a small out:
 * every refill of the framing goes above the head.
 */
static void
test_full_head_body(size_t step)
{
	static char msg[HTTP_HEAD_MAX + 300000];
	struct http_in in;
	struct http_head hd;
	struct http_body bd;
	char out[700], name[160];
	size_t len, i, k, got = 0;
	ssize_t r;
	pid_t pid;
	int sv[2], rc, status = 0, corrupt = 0;

	snprintf(name, sizeof(name), "a chunked body of 200 KB in pieces of "
	    "%zu after a 32 KiB head leaves the head intact", step);
	len = sized_head(msg, HTTP_HEAD_MAX);
	memcpy(msg + HTTP_HEAD_MAX - 32, "\r\n" TE, 32);
	for (i = 0; i < 200000; i += 1000) {
		len += sprintf(msg + len, "3e8;n=%zu\r\n", i);
		for (k = 0; k < 1000; k++)
			msg[len++] = pattern(i + k);
		len += sprintf(msg + len, "\r\n");
	}
	len += sprintf(msg + len, "0\r\nX-T: 1\r\n\r\n");
	pair(sv, 0);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		if (write(sv[1], msg, HTTP_HEAD_MAX) != HTTP_HEAD_MAX)
			_exit(1);
		usleep(20000);
		for (i = HTTP_HEAD_MAX; i < len; i += k) {
			k = len - i < step ? len - i : step;
			if (write(sv[1], msg + i, k) != (ssize_t)k)
				_exit(1);
		}
		_exit(0);
	}
	close(sv[1]);
	http_in_init(&in, sv[0]);
	if ((rc = http_read_head(&in, &hd, 1, NULL, mono_ms() + 5000)) != 0 ||
	    hd.hd_size != HTTP_HEAD_MAX) {
		fail(name, "head: %d", rc);
		goto out;
	}
	http_body_init(&bd, &hd);
	while ((r = http_read_body(&in, &bd, out, sizeof(out),
	    mono_ms() + 5000, &status)) > 0) {
		for (i = 0; i < (size_t)r; i++)
			if ((unsigned char)out[i] != pattern(got + i))
				corrupt = 1;
		got += r;
	}
	if (r != 0 || got != 200000 || corrupt)
		fail(name, "body: %zd, %zu bytes, status %d, corrupt %d", r,
		    got, status, corrupt);
	else if (strcmp(hd.hd_method, "GET") != 0 ||
	    strcmp(hd.hd_target, "/") != 0 ||
	    strcmp(http_get(&hd, "Host"), "a") != 0 ||
	    strncmp(http_get(&hd, "X"), "vvvv", 4) != 0)
		fail(name, "the head's strings changed");
	else
		pass(name);
out:
	close(sv[0]);
	reap(pid);
}

static void
test_error_format(void)
{
	static const char want[] = "HTTP/1.1 403 Forbidden\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 25\r\n"
	    "Proxy-Status: gtr; error=destination_ip_prohibited\r\n"
	    "X-A: b\r\nConnection: close\r\n\r\n403 Forbidden: not there\n";
	char out[HTTP_ERROR_MAX], sent[HTTP_ERROR_MAX], big[9000];
	const char *tok;
	size_t len, i, j;
	int n, sv[2], bad = 0;

	n = http_format_error(out, sizeof(out), 11, HTTP_FORBIDDEN,
	    http_proxy_error_token(PE_DESTINATION_IP_PROHIBITED), "not there",
	    "X-A: b", 1);
	if (n != (int)sizeof(want) - 1 || memcmp(out, want, n) != 0)
		fail("http_format_error formats the whole response", "\"%s\"",
		    out);
	else
		pass("http_format_error formats the whole response");
	pair(sv, 0);
	if (http_send_error(sv[1], 11, 403, PE_DESTINATION_IP_PROHIBITED,
	    "not there", "X-A: b", 1, 0) == -1)
		fail("http_send_error", "returned -1 or a wrong count");
	close(sv[1]);
	len = drain(sv[0], sent, sizeof(sent));
	close(sv[0]);
	if (len != (size_t)n || memcmp(sent, out, len) != 0)
		fail("http_send_error writes what http_format_error formats",
		    "mismatch");
	else
		pass("http_send_error writes what http_format_error formats");
	if (http_format_error(out, n, 11, 403, "destination_ip_prohibited",
	    "not there", "X-A: b", 1) != -1 ||
	    http_format_error(out, n + 1, 11, 403,
	    "destination_ip_prohibited", "not there", "X-A: b", 1) != n)
		fail("http_format_error returns -1 when it does not fit",
		    "mismatch");
	else
		pass("http_format_error returns -1 when it does not fit");
	memset(big, 'd', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	if ((n = http_format_error(out, sizeof(out), 10, 502,
	    http_proxy_error_token(PE_CONNECTION_REFUSED), big, NULL, 0)) ==
	    -1 || strstr(out, "Connection: keep-alive\r\n") == NULL ||
	    strstr(out, "error=connection_refused\r\n") == NULL)
		fail("HTTP_ERROR_MAX holds a detail of 9000 bytes", "%d", n);
	else
		pass("HTTP_ERROR_MAX holds a detail of 9000 bytes");

	if (http_proxy_error_token(PE_NONE) != NULL ||
	    http_proxy_error_token(PE_COUNT) != NULL)
		bad = 1;
	for (i = PE_NONE + 1; i < PE_COUNT; i++) {
		tok = http_proxy_error_token(i);
		if (tok == NULL || !http_is_token(tok) ||
		    strspn(tok, "abcdefghijklmnopqrstuvwxyz_") != strlen(tok))
			bad = 1;
		for (j = PE_NONE + 1; tok != NULL && j < i; j++)
			if (strcmp(tok, http_proxy_error_token(j)) == 0)
				bad = 1;
	}
	if (bad || strcmp(http_proxy_error_token(PE_DNS_ERROR),
	    "dns_error") != 0 || strcmp(http_proxy_error_token(
	    PE_HTTP_REQUEST_DENIED), "http_request_denied") != 0 ||
	    strcmp(http_proxy_error_token(PE_PROXY_LOOP_DETECTED),
	    "proxy_loop_detected") != 0)
		fail("every RFC 9209 error type has one distinct token",
		    "mismatch");
	else
		pass("every RFC 9209 error type has one distinct token");
	if (HTTP_BAD_REQUEST != 400 || HTTP_FIELDS_TOO_LARGE != 431 ||
	    strcmp(http_reason(HTTP_GATEWAY_TIMEOUT), "Gateway Timeout") != 0 ||
	    strcmp(http_reason(HTTP_OK), "OK") != 0 ||
	    strcmp(http_reason(-1), "Unknown") != 0 ||
	    strcmp(http_reason(600), "Unknown") != 0 ||
	    strcmp(http_reason(299), "Unknown") != 0)
		fail("status names are their codes", "mismatch");
	else
		pass("status names are their codes");
}

/* Parses a request head given as a string; exits if it does not parse. */
static void
must_parse(const char *s, char *buf, size_t buflen, struct http_head *hd)
{
	snprintf(buf, buflen, "%s", s);
	if (http_parse_request(buf, strlen(buf), hd) != 0) {
		printf("FAIL does not parse: %s\n", s);
		exit(2);
	}
}

static void
test_request_host(void)
{
	static const struct {
		const char	*head;
		const char	*host;	/* NULL: none */
	} hc[] = {
		{ "GET /x HTTP/1.1\r\nHost: b.example\r\n\r\n", "b.example" },
		{ "GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n",
		    "a.example" },
		{ "GET http://a.example:8080?q HTTP/1.1\r\nHost: b\r\n\r\n",
		    "a.example:8080" },
		{ "GET HTTPS://u:p@[::1]:443/ HTTP/1.1\r\nHost: b\r\n\r\n",
		    "[::1]:443" },
		{ "GET ftp://u@x@h.example/a HTTP/1.0\r\n\r\n",
		    "h.example" },
		{ "CONNECT c.example:443 HTTP/1.1\r\nHost: d\r\n\r\n",
		    "c.example:443" },
		{ "GET /x HTTP/1.0\r\n\r\n", NULL },
		{ "GET http://a/ HTTP/1.1\r\nHost:\r\n\r\n", "a" },
		{ "GET / HTTP/1.1\r\nHost:\r\n\r\n", "" },
		{ "OPTIONS * HTTP/1.1\r\nHost: o\r\n\r\n", "o" },
	};
	struct http_head hd;
	char buf[256], host[64], tiny[4];
	const char *got;
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(hc) / sizeof(hc[0]); i++) {
		must_parse(hc[i].head, buf, sizeof(buf), &hd);
		got = http_request_host(&hd, host, sizeof(host));
		if ((got == NULL) != (hc[i].host == NULL) ||
		    (got != NULL && strcmp(got, hc[i].host) != 0)) {
			fail("the request's host: an absolute-form authority "
			    "wins over Host", "%s: got %s", hc[i].head,
			    got != NULL ? got : "(none)");
			bad = 1;
		}
	}
	must_parse(hc[1].head, buf, sizeof(buf), &hd);
	if (http_request_host(&hd, tiny, sizeof(tiny)) != NULL)
		bad = 1;
	if (!bad)
		pass("the request's host: an absolute-form authority wins over "
		    "Host");
}

static void
test_pct_decode(void)
{
	static const struct {
		const char	*in;
		int		 rc;
		const char	*out;
		size_t		 outn;
	} pc[] = {
		{ "plain", 0, "plain", 5 },
		{ "%41%62%2f%2F", 0, "Ab//", 4 },
		{ "a%20b", 0, "a b", 3 },
		{ "%00x", 0, "\0x", 2 },
		{ "%0d%0A", 0, "\r\n", 2 },
		{ "%e9", 0, "\xe9", 1 },
		{ "", 0, "", 0 },
		{ "%", -1, NULL, 0 },
		{ "%4", -1, NULL, 0 },
		{ "a%4g", -1, NULL, 0 },
		{ "%%41", -1, NULL, 0 },
		{ "%+1", -1, NULL, 0 },
	};
	char out[32];
	size_t i, n;
	int bad = 0, rc;

	for (i = 0; i < sizeof(pc) / sizeof(pc[0]); i++) {
		n = 99;
		rc = http_pct_decode(pc[i].in, strlen(pc[i].in), out,
		    sizeof(out), &n);
		if (rc != pc[i].rc || (rc == 0 && (n != pc[i].outn ||
		    memcmp(out, pc[i].out, n) != 0 || out[n] != '\0'))) {
			fail("percent-decoding", "\"%s\": %d", pc[i].in, rc);
			bad = 1;
		}
	}
	if (http_pct_decode("abc", 3, out, 3, &n) != -1 ||
	    http_pct_decode("abc", 3, out, 4, &n) != 0 ||
	    http_pct_decode("%41%42", 6, out, 3, &n) != 0 || n != 2)
		bad = 1;
	if (!bad)
		pass("percent-decoding: escapes, bad escapes, room");
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "-v") == 0)
		verbose = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_table();
	test_limits();
	test_pipelined_parse();
	test_helpers();
	test_read_head();
	test_leading_empty_lines();
	test_bodies();
	test_big_body(0, 0);
	test_big_body(1, 0);
	test_big_body(1, 1);
	test_body_deadline();
	test_writers();
	test_head_scan();
	test_chunk_scan();
	test_full_head_body(65536);
	test_full_head_body(777);
	test_full_head_body(16);
	test_error_format();
	test_request_host();
	test_pct_decode();
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail != 0;
}
