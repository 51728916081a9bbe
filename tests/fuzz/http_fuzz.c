/*
 * http_fuzz.c - libFuzzer harness for common/http.c: every input is parsed
 * as a request and as responses to GET, HEAD and CONNECT, scanned for a
 * head's end and as chunked framing (whole and in random splits), and
 * de-chunked as a request body through a pipe.  The invariants:
 *
 *	- a parse that succeeds describes a head inside the input;
 *	- the head scanner fed in pieces gives the verdict and extent it
 *	  gives fed at once, and the parser agrees with it on the extent;
 *	- the chunk scanner fed in pieces consumes the same bytes, finds
 *	  the same payload and the same end (or error) as fed at once, and
 *	  http_read_body() de-chunks exactly that payload;
 *	- an error response parses with its own Content-Length.
 *
 *	make fuzz [FUZZ_SECONDS=60]
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Aborts unless a parsed head lies within buf[0..len). */
static void
check_head(const char *buf, size_t len, const struct http_head *hd)
{
	int i;

	if (hd->hd_size == 0 || hd->hd_size > len ||
	    hd->hd_size > HTTP_HEAD_MAX + 2 * HTTP_EMPTY_LINES_MAX ||
	    hd->hd_nfields < 0 || hd->hd_nfields > HTTP_FIELDS_MAX ||
	    (hd->hd_version != 10 && hd->hd_version != 11))
		abort();
	for (i = 0; i < hd->hd_nfields; i++) {
		if (hd->hd_fields[i].name < buf ||
		    hd->hd_fields[i].value >= buf + hd->hd_size ||
		    !http_is_token(hd->hd_fields[i].name))
			abort();
		if (http_get(hd, hd->hd_fields[i].name) == NULL)
			abort();
		(void)http_is_hop_by_hop(hd, hd->hd_fields[i].name);
	}
	if (hd->hd_method != NULL && (!http_is_token(hd->hd_method) ||
	    hd->hd_target == NULL || hd->hd_target[0] == '\0' ||
	    strchr(hd->hd_target, '#') != NULL))
		abort();
	if (hd->hd_method == NULL && (hd->hd_status < 100 ||
	    hd->hd_status > 599))
		abort();
}

/* A small PRNG for the splits, seeded by the input. */
static uint32_t
next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint32_t
seed_of(const uint8_t *data, size_t size)
{
	uint32_t h = 2166136261U;
	size_t i;

	for (i = 0; i < size && i < 64; i++)
		h = (h ^ data[i]) * 16777619U;
	return h != 0 ? h : 1;
}

/*
 * Parses a private copy of data; returns the verdict.  The head scanner
 * must agree: fed at once, fed in pieces, and with the parse.
 */
static int
parse_copy(const uint8_t *data, size_t size, int is_request,
    const char *method, struct http_head *hd)
{
	struct http_scan whole, inc;
	char *buf, host[256];
	uint32_t seed = seed_of(data, size);
	size_t len;
	int rc, rw, ri;

	if ((buf = malloc(size + 1)) == NULL)
		return -1;
	memcpy(buf, data, size);
	http_scan_init(&whole, is_request);
	rw = http_head_scan(&whole, buf, size);
	http_scan_init(&inc, is_request);
	ri = HTTP_INCOMPLETE;
	for (len = 0; len < size && ri == HTTP_INCOMPLETE;) {
		len += 1 + next_rand(&seed) % 64;
		if (len > size)
			len = size;
		ri = http_head_scan(&inc, buf, len);
	}
	if (size == 0)
		ri = http_head_scan(&inc, buf, 0);
	if (ri != rw || (rw == 0 && (inc.sc_size != whole.sc_size ||
	    inc.sc_skip != whole.sc_skip)) ||
	    (rw == 400 && whole.sc_error == NULL))
		abort();
	if (is_request)
		rc = http_parse_request(buf, size, hd);
	else
		rc = http_parse_response(buf, size, method, hd);
	if (rc == 0) {
		check_head(buf, size, hd);
		if (rw != 0 || hd->hd_size != whole.sc_size)
			abort();
		if (is_request)
			(void)http_request_host(hd, host, sizeof(host));
	} else if (rc != HTTP_INCOMPLETE && (rc < 400 || rc > 599))
		abort();
	if ((rw == HTTP_INCOMPLETE) != (rc == HTTP_INCOMPLETE))
		abort();
	if (rw != 0 && rw != HTTP_INCOMPLETE &&
	    rc != (is_request ? rw : 502))
		abort();
	free(buf);
	return rc;
}

/*
 * Scans data as chunked framing in pieces (step 0: all at once); copies
 * the payload to out and returns the verdict: 0 done, 1 not yet done,
 * -1 error, with *used the bytes consumed.
 */
static int
chunk_run(const uint8_t *data, size_t size, uint32_t *seed, char *out,
    size_t *outlen, size_t *used)
{
	struct http_chunk ck;
	size_t off = 0, k;
	ssize_t r;
	int payload;

	http_chunk_init(&ck);
	*outlen = 0;
	while (off < size && !http_chunk_done(&ck)) {
		k = seed != NULL ? 1 + next_rand(seed) % 32 : size - off;
		if (k > size - off)
			k = size - off;
		while (k > 0 && !http_chunk_done(&ck)) {
			r = http_chunk_scan(&ck, (const char *)data + off, k,
			    &payload);
			if (r == -1) {
				*used = off;
				return -1;
			}
			if (r == 0 || (size_t)r > k)
				abort();	/* no progress, or too much */
			if (payload) {
				memcpy(out + *outlen, data + off, r);
				*outlen += r;
			}
			off += r;
			k -= r;
		}
	}
	*used = off;
	return http_chunk_done(&ck) ? 0 : 1;
}

/*
 * De-chunks data written to a pipe, as a request and as a response, and
 * checks that http_read_body() and the chunk scanner see the same body.
 */
static void
dechunk(const uint8_t *data, size_t size, int response)
{
	static struct http_in in;
	static char want[65536], got[65536], split[65536];
	struct http_head hd;
	struct http_body bd;
	uint32_t seed = seed_of(data, size);
	size_t wlen, glen = 0, slen, used, sused;
	ssize_t r;
	int p[2], status, guard = 0, vw, vs;

	if (size > 60000)
		return;
	vw = chunk_run(data, size, NULL, want, &wlen, &used);
	vs = chunk_run(data, size, &seed, split, &slen, &sused);
	if (vw != vs || (vw != -1 && (used != sused || wlen != slen ||
	    memcmp(want, split, wlen) != 0)))
		abort();
	if (pipe(p) == -1)
		return;
	if (write(p[1], data, size) != (ssize_t)size) {
		close(p[0]);
		close(p[1]);
		return;
	}
	close(p[1]);
	memset(&hd, 0, sizeof(hd));
	hd.hd_method = response ? NULL : "POST";
	hd.hd_framing = HTTP_BODY_CHUNKED;
	http_in_init(&in, p[0]);
	http_body_init(&bd, &hd);
	while ((r = http_read_body(&in, &bd, got + glen, 64, 0,
	    &status)) > 0) {
		if ((size_t)r > 64 || ++guard > 100000)
			abort();
		glen += r;
	}
	if (r < 0 && status != (response ? 502 : 400))
		abort();
	/* Done exactly when the scanner is, with the same payload. */
	if ((r == 0) != (vw == 0) || (r == 0 && (glen != wlen ||
	    memcmp(got, want, wlen) != 0)))
		abort();
	if (r == 0 && http_in_pending(&in, NULL) != 0 && used == size)
		abort();
	close(p[0]);
}

/* The decoder and the error formatter on the input as a string. */
static void
strings(const uint8_t *data, size_t size)
{
	static char s[4096], out[4096 + 1], err[HTTP_ERROR_MAX];
	struct http_head hd;
	size_t n, on;
	int len;

	n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	memcpy(s, data, n);
	s[n] = '\0';
	if (http_pct_decode(s, n, out, sizeof(out), &on) == 0 &&
	    (on > n || out[on] != '\0'))
		abort();
	len = http_format_error(err, sizeof(err), 11, 400,
	    http_proxy_error_token(n % PE_COUNT), s, NULL, n & 1);
	if (len < 0)
		abort();
	if (http_parse_response(err, len, "GET", &hd) != 0 ||
	    hd.hd_status != 400 || hd.hd_framing != HTTP_BODY_LENGTH ||
	    hd.hd_size + hd.hd_length != (size_t)len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_head hd;

	parse_copy(data, size, 1, NULL, &hd);
	parse_copy(data, size, 0, "GET", &hd);
	parse_copy(data, size, 0, "HEAD", &hd);
	parse_copy(data, size, 0, "CONNECT", &hd);
	dechunk(data, size, size & 1);
	strings(data, size);
	return 0;
}
