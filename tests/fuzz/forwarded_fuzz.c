/*
 * forwarded_fuzz.c - libFuzzer harness for tlsstripd --forwarded
 * (cmd/tlsstripd/forwarded.c): the client's request stream rewritten
 * head by head, the backend's responses followed for a switch of
 * protocols.  An input is the client's bytes, then optionally SEP and
 * the backend's; its first byte picks the client's address, a
 * certificate subject, whether a head may miss its deadline, and how
 * the bytes are cut into pieces (random sizes of both the input and the
 * room for output, responses fed in between).  The output is then read again as a stream of requests next
 * to what the client sent, and the invariants are:
 *
 *	- each rewritten head parses (http.c) to the method, target and
 *	  version of the client's, with the client's fields in order and
 *	  unchanged but for Connection; Forwarded, X-Forwarded-For,
 *	  X-Forwarded-Proto (and X-Client-Cert-Subject) appear once each,
 *	  ours, and Connection names none of them;
 *	- it says the same framing as the client's head, and its body is
 *	  the client's byte for byte (a client cannot hide a request in
 *	  what we took for a body, nor the other way round);
 *	- what passes after the last rewritten request is a prefix of what
 *	  the client sent after it, and only follows an Upgrade or CONNECT
 *	  the backend answered;
 *	- a refused stream's answer parses with the status refused.
 *
 *	make fuzz FUZZERS=forwarded [FUZZ_SECONDS=60]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "http.h"
#include "tlsstripd.h"
#include "fuzz.h"

#define SEP		"\n--backend--\n"
#define INPUT_MAX	(64 * 1024)
#define SUBJECT		"CN=client \"one\",O=Example"

/* The four fields the rewriter sets, and their values. */
static const char *const ours[] = { "Forwarded", "X-Forwarded-For",
    "X-Forwarded-Proto", "X-Client-Cert-Subject" };

static uint32_t	 next_rand(uint32_t *);
static int	 is_ours(const char *);
static int	 parse(const char *, size_t, struct http_head *, char **);
static size_t	 body_len(const struct http_head *, const char *, size_t,
		    int *);
static void	 conn_tokens(const char *, char *, size_t);
static void	 check_head(const struct http_head *, const struct http_head *,
		    const char *, const char *, int);
static int	 switch_kind(const struct http_head *);
static void	 compare(const char *, size_t, const char *, size_t,
		    unsigned long, int, const char *, size_t, const char *,
		    const char *, int);
static void	 check_answer(const struct fwd *);

static uint32_t
next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static int
is_ours(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (strcasecmp(name, ours[i]) == 0)
			return 1;
	return 0;
}

/* Parses the request head at p (n bytes) from a private copy into hd. */
static int
parse(const char *p, size_t n, struct http_head *hd, char **copy)
{
	if ((*copy = malloc(n + 1)) == NULL)
		abort();
	memcpy(*copy, p, n);
	return http_parse_request(*copy, n, hd);
}

/*
 * The bytes of the body hd frames at p (n bytes there): all of them
 * when it does not end within n.  Sets *bad for chunked framing that is
 * wrong within n, and then counts the bytes before the wrong one (the
 * rewriter may have passed them on before it saw it).
 */
static size_t
body_len(const struct http_head *hd, const char *p, size_t n, int *bad)
{
	struct http_chunk ck;
	size_t i = 0, k;
	ssize_t r;
	int payload;

	*bad = 0;
	if (hd->hd_framing == HTTP_BODY_LENGTH)
		return hd->hd_length < n ? hd->hd_length : n;
	if (hd->hd_framing != HTTP_BODY_CHUNKED)
		return 0;
	http_chunk_init(&ck);
	while (i < n && !http_chunk_done(&ck)) {
		/* Framing a byte at a time, to find where it goes wrong. */
		k = http_chunk_data_left(&ck);
		k = k == 0 ? 1 : k < n - i ? k : n - i;
		if ((r = http_chunk_scan(&ck, p + i, k, &payload)) <= 0) {
			*bad = r == -1;
			break;
		}
		i += r;
	}
	return i;
}

/*
 * Writes the tokens of a Connection value but ours into out, each
 * followed by a comma, as the rewriter must leave them.
 */
static void
conn_tokens(const char *v, char *out, size_t outlen)
{
	size_t n, o = 0;
	char tok[HTTP_LINE_MAX];

	out[0] = '\0';
	for (;;) {
		v += strspn(v, ", \t");
		if (*v == '\0')
			break;
		n = strcspn(v, ", \t");
		memcpy(tok, v, n);
		tok[n] = '\0';
		v += n;
		if (is_ours(tok))
			continue;
		CHECK(o + n + 2 <= outlen);
		memcpy(out + o, tok, n);
		o += n;
		out[o++] = ',';
		out[o] = '\0';
	}
}

/* Aborts unless out is in's head rewritten, as the top says. */
static void
check_head(const struct http_head *in, const struct http_head *out,
    const char *fwd_for, const char *xff, int subject)
{
	static char want[HTTP_HEAD_MAX], got[HTTP_HEAD_MAX];
	int i, j, n, k;

	CHECK(strcmp(in->hd_method, out->hd_method) == 0);
	CHECK(strcmp(in->hd_target, out->hd_target) == 0);
	CHECK(in->hd_version == out->hd_version);
	CHECK(in->hd_framing == out->hd_framing);
	CHECK(in->hd_framing != HTTP_BODY_LENGTH ||
	    in->hd_length == out->hd_length);
	/* The client's fields, in order, but ours and emptied Connections. */
	for (i = 0, j = 0; i < in->hd_nfields; i++) {
		if (is_ours(in->hd_fields[i].name))
			continue;
		if (strcasecmp(in->hd_fields[i].name, "Connection") == 0) {
			/* Kept with the tokens left, if any. */
			conn_tokens(in->hd_fields[i].value, want, sizeof(want));
			if (want[0] == '\0')
				continue;
			CHECK(j < out->hd_nfields);
			CHECK(strcmp(out->hd_fields[j].name,
			    in->hd_fields[i].name) == 0);
			conn_tokens(out->hd_fields[j].value, got, sizeof(got));
			CHECK(strcmp(want, got) == 0);
			CHECK(strlen(out->hd_fields[j].value) <=
			    strlen(in->hd_fields[i].value));
			j++;
			continue;
		}
		CHECK(j < out->hd_nfields);
		CHECK(strcmp(in->hd_fields[i].name,
		    out->hd_fields[j].name) == 0);
		CHECK(strcmp(in->hd_fields[i].value,
		    out->hd_fields[j].value) == 0);
		j++;
	}
	/* Then ours, once each. */
	n = subject ? 4 : 3;
	CHECK(out->hd_nfields == j + n);
	for (k = 0; k < n; k++)
		CHECK(strcmp(out->hd_fields[j + k].name, ours[k]) == 0);
	snprintf(want, sizeof(want), "for=%s;proto=https", fwd_for);
	CHECK(strcmp(out->hd_fields[j].value, want) == 0);
	CHECK(strcmp(out->hd_fields[j + 1].value, xff) == 0);
	CHECK(strcmp(out->hd_fields[j + 2].value, "https") == 0);
	CHECK(!subject || strcmp(out->hd_fields[j + 3].value, SUBJECT) == 0);
	for (k = 0; k < j; k++)
		CHECK(!is_ours(out->hd_fields[k].name));
	for (k = 0; k < 4; k++)
		CHECK(!http_has_token(out, "Connection", ours[k]));
}

/* What the head asks of its answer: 1 Upgrade, 2 CONNECT, else 0. */
static int
switch_kind(const struct http_head *hd)
{
	if (strcmp(hd->hd_method, "CONNECT") == 0)
		return 2;
	if (strcmp(hd->hd_method, "HEAD") != 0 &&
	    http_get(hd, "Upgrade") != NULL &&
	    http_has_token(hd, "Connection", "upgrade"))
		return 1;
	return 0;
}

/*
 * Reads the output again next to the consumed client bytes; aborts
 * unless it is what the top says.
 */
static void
compare(const char *in, size_t inlen, const char *out, size_t outlen,
    unsigned long requests, int failed, const char *resp, size_t resplen,
    const char *fwd_for, const char *xff, int subject)
{
	struct http_head ih, oh;
	char *ic, *oc;
	size_t io = 0, oo = 0, ib, ob;
	unsigned long k;
	int bad, kind = 0;

	for (k = 0; k < requests; k++) {
		CHECK(parse(in + io, inlen - io, &ih, &ic) == 0);
		CHECK(parse(out + oo, outlen - oo, &oh, &oc) == 0);
		check_head(&ih, &oh, fwd_for, xff, subject);
		kind = switch_kind(&ih);
		io += ih.hd_size;
		oo += oh.hd_size;
		ib = body_len(&ih, in + io, inlen - io, &bad);
		CHECK(!bad || failed);
		ob = body_len(&oh, out + oo, outlen - oo, &bad);
		/* A refused stream may stop short inside the body. */
		CHECK(ob == ib || (failed && ob < ib));
		CHECK(memcmp(in + io, out + oo, ob) == 0);
		io += ib;
		oo += ob;
		free(ic);
		free(oc);
	}
	/* After the last request: bytes as they came, after a switch only. */
	CHECK(outlen - oo <= inlen - io);
	CHECK(memcmp(in + io, out + oo, outlen - oo) == 0);
	if (outlen > oo) {
		CHECK(kind != 0);
		CHECK(memmem(resp, resplen, kind == 1 ? " 101" : " 2", kind ==
		    1 ? 4 : 2) != NULL);
	}
}

/* Aborts unless a refused stream's answer is a response with its status. */
static void
check_answer(const struct fwd *fw)
{
	static char ans[HTTP_ERROR_MAX];
	struct http_head hd;
	size_t n;

	CHECK((n = fwd_answer(fw, ans, sizeof(ans))) > 0);
	CHECK(http_parse_response(ans, n, "GET", &hd) == 0);
	CHECK(hd.hd_status == fwd_status(fw));
	CHECK(hd.hd_size + hd.hd_length == n);
	CHECK(http_has_token(&hd, "Connection", "close"));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[16 * INPUT_MAX];
	static const char *const peers[] = { "192.0.2.7", "2001:db8::7", "-" };
	static const char *const fors[] = { "192.0.2.7", "\"[2001:db8::7]\"",
	    "unknown" };
	struct conn c;
	struct fwd *fw;
	const char *in, *resp, *sep;
	size_t inlen, resplen, ci = 0, ri = 0, outlen = 0, produced, k;
	uint32_t seed;
	ssize_t used;
	int peer, subject, failed = 0, idle;

	if (size < 1 || size > INPUT_MAX)
		return 0;
	peer = data[0] % 3;
	subject = data[0] & 4;
	seed = 2166136261U ^ data[0] ^ (uint32_t)size << 8;
	in = (const char *)data + 1;
	inlen = size - 1;
	resp = "";
	resplen = 0;
	if ((sep = memmem(in, inlen, SEP, strlen(SEP))) != NULL) {
		resp = sep + strlen(SEP);
		resplen = in + inlen - resp;
		inlen = sep - in;
	}
	memset(&c, 0, sizeof(c));
	strcpy(c.c_peer_ip, peers[peer]);
	c.c_start_ms = 1;
	if ((fw = fwd_new(&c, subject ? SUBJECT : NULL)) == NULL)
		abort();
	/* Pieces of both streams, in random turns, until nothing moves. */
	for (idle = 0; idle < 4;) {
		if (next_rand(&seed) % 3 == 0 && ri < resplen) {
			k = 1 + next_rand(&seed) % 512;
			k = k < resplen - ri ? k : resplen - ri;
			fwd_response(fw, resp + ri, k);
			ri += k;
			idle = 0;
			continue;
		}
		if (failed) {
			if (ri == resplen)
				break;
			continue;
		}
		/* A head under way may miss its deadline (tlsio.c's 408). */
		if ((data[0] & 0x80) && fwd_head_since(fw) != 0 &&
		    next_rand(&seed) % 16 == 0) {
			fwd_timeout(fw);
			CHECK(fwd_status(fw) == HTTP_REQUEST_TIMEOUT);
			failed = 1;
			continue;
		}
		k = 1 + next_rand(&seed) % 4096;
		k = k < inlen - ci ? k : inlen - ci;
		produced = 0;
		used = fwd_run(fw, in + ci, k, out + outlen,
		    1 + next_rand(&seed) % 8192, &produced);
		outlen += produced;
		CHECK(outlen <= sizeof(out) - 8192);
		if (used == -1) {
			/* What it took of these k before refusing is unknown. */
			failed = 1;
			ci += k;
			continue;
		}
		CHECK((size_t)used <= k);
		ci += used;
		if (used == 0 && produced == 0)
			idle += ri == resplen ? 1 : 0;
		else
			idle = 0;
	}
	if (failed) {
		CHECK(fwd_status(fw) >= 400 && fwd_status(fw) <= 599);
		check_answer(fw);
	} else
		CHECK(fwd_status(fw) == 0);
	compare(in, ci, out, outlen, fwd_requests(fw), failed, resp, ri,
	    fors[peer], peers[peer], subject);
	fwd_free(fw);
	return 0;
}
