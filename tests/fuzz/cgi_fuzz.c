/*
 * cgi_fuzz.c - libFuzzer harness for cgid's reading of a program's
 * header block (cmd/cgid/response.c, RFC 3875 section 6) and the
 * response head it makes from it.  The first byte picks the request's
 * version, method and how the body is framed; the rest is what the
 * program wrote.  The invariants:
 *
 *	- the verdict is 0, 502 or incomplete (only under HTTP_HEAD_MAX
 *	  bytes without a blank line); the block it took ends in a blank
 *	  line inside the input;
 *	- an accepted block has a Status of 200-599 (or none), fields whose
 *	  names are tokens and whose values hold no control character, and
 *	  none of the fields cgid frames itself;
 *	- the head made from it (with room for cgid's own fields among
 *	  HTTP_FIELDS_MAX) parses as a response (http.c) with that
 *	  status, ends where it says, carries Content-Length exactly when
 *	  the program gave one (once, with its value), Transfer-Encoding
 *	  only when cgid chunks, and every field the program set.
 *
 *	make fuzz FUZZERS=cgi [FUZZ_SECONDS=60]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cgid.h"
#include "http.h"
#include "fuzz.h"

#define INPUT_MAX	(HTTP_HEAD_MAX + 1024)

/* The fields cgid frames itself: a program's copies are dropped. */
static const char *const framed[] = { "Connection", "Keep-Alive",
    "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
    NULL };

static int	 is_framed(const char *);
static int	 fields_named(const struct http_head *, const char *);
static void	 check_block(const struct cgi_head *, const char *, size_t);
static void	 check_response(struct exchange *, unsigned);

static int
is_framed(const char *name)
{
	int i;

	for (i = 0; framed[i] != NULL; i++)
		if (strcasecmp(name, framed[i]) == 0)
			return 1;
	return 0;
}

/* How many fields of hd have that name. */
static int
fields_named(const struct http_head *hd, const char *name)
{
	int i, n = 0;

	for (i = 0; i < hd->hd_nfields; i++)
		n += strcasecmp(hd->hd_fields[i].name, name) == 0;
	return n;
}

/* Aborts unless the accepted block ch is sound. */
static void
check_block(const struct cgi_head *ch, const char *buf, size_t len)
{
	const char *v;
	int i;

	CHECK(ch->ch_size > 0 && ch->ch_size <= len);
	CHECK(buf[ch->ch_size - 1] == '\n');
	CHECK(ch->ch_status == 0 ||
	    (ch->ch_status >= 200 && ch->ch_status <= 599));
	CHECK(ch->ch_status != 0 || ch->ch_location != NULL ||
	    ch->ch_ctype != NULL);
	CHECK(ch->ch_nfields >= 0 && ch->ch_nfields <= HTTP_FIELDS_MAX);
	for (i = 0; i < ch->ch_nfields; i++) {
		CHECK(http_is_token(ch->ch_fields[i].name));
		CHECK(!is_framed(ch->ch_fields[i].name));
		CHECK(strcasecmp(ch->ch_fields[i].name, "Status") != 0);
		for (v = ch->ch_fields[i].value; *v != '\0'; v++)
			CHECK(((unsigned char)*v >= 0x20 || *v == '\t') &&
			    *v != 0x7f);
		v = ch->ch_fields[i].value;
		CHECK(*v != ' ' && *v != '\t');
		CHECK(*v == '\0' || (v[strlen(v) - 1] != ' ' &&
		    v[strlen(v) - 1] != '\t'));
	}
}

/* Makes the response head of ch as cgid does; aborts unless it is sound. */
static void
check_response(struct exchange *x, unsigned how)
{
	static char out[CGID_OBUFSZ], copy[CGID_OBUFSZ];
	const struct cgi_head *ch = &x->x_ch;
	struct http_head hd;
	const char *cl;
	int n, i, want, rc;

	/* What run.c's decide() chooses, and the other framings too. */
	x->x_status = ch->ch_status != 0 ? ch->ch_status :
	    ch->ch_location != NULL ? 302 : 200;
	x->x_hd.hd_version = how & 1 ? 11 : 10;
	x->x_keep = (how >> 1) & 1;
	x->x_framing = ch->ch_has_length ? RESP_LENGTH : (how >> 2) & 3;
	if ((n = resp_format_head(x, out, sizeof(out))) == -1)
		return;		/* too large: cgid answers 502 */
	CHECK(n > 0 && (size_t)n < sizeof(out));
	/* With cgid's own four, more fields than http.c reads (431). */
	if (ch->ch_nfields > HTTP_FIELDS_MAX - 4)
		return;
	memcpy(copy, out, n);
	if ((rc = http_parse_response(out, n, how & 0x10 ? "HEAD" : "GET",
	    &hd)) != 0)
		fprintf(stderr, "http_parse_response: %d for:\n%.*s", rc, n,
		    copy);
	CHECK(rc == 0);
	CHECK(hd.hd_size == (size_t)n);
	CHECK(hd.hd_status == x->x_status);
	CHECK(hd.hd_version == 11);
	want = ch->ch_has_length && x->x_status != 204 && x->x_status != 304;
	CHECK(fields_named(&hd, "Content-Length") == want);
	if (want) {
		CHECK((cl = http_get(&hd, "Content-Length")) != NULL);
		CHECK(strtoull(cl, NULL, 10) == ch->ch_length);
	}
	CHECK(fields_named(&hd, "Transfer-Encoding") ==
	    (x->x_framing == RESP_CHUNKED));
	CHECK(fields_named(&hd, "Connection") ==
	    (!x->x_keep || x->x_hd.hd_version == 10));
	CHECK(fields_named(&hd, "Date") == 1 || ch->ch_has_date);
	for (i = 0; i < ch->ch_nfields; i++)
		if (strcasecmp(ch->ch_fields[i].name, "Content-Length") != 0)
			CHECK(fields_named(&hd, ch->ch_fields[i].name) >= 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct exchange x;
	static char buf[INPUT_MAX];
	size_t len;
	int rc;

	if (size < 1 || size > INPUT_MAX)
		return 0;
	len = size - 1;
	memcpy(buf, data + 1, len);
	memset(&x, 0, sizeof(x));
	rc = cgi_parse_head(buf, len, &x.x_ch);
	CHECK(rc == 0 || rc == 502 || rc == HTTP_INCOMPLETE);
	if (rc == HTTP_INCOMPLETE) {
		CHECK(len < HTTP_HEAD_MAX);
		return 0;
	}
	if (rc != 0)
		return 0;
	check_block(&x.x_ch, buf, len);
	if (resp_is_local_redirect(&x.x_ch)) {
		CHECK(x.x_ch.ch_location[0] == '/');
		return 0;
	}
	check_response(&x, data[0]);
	return 0;
}
