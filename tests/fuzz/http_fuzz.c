/*
 * http_fuzz.c - libFuzzer harness for common/http.c: every input is parsed
 * as a request and as responses to GET, HEAD and CONNECT, and de-chunked
 * as a request body through a pipe.  A parse that succeeds must describe
 * a head inside the input.
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
	    hd->hd_size > HTTP_HEAD_MAX || hd->hd_nfields < 0 ||
	    hd->hd_nfields > HTTP_FIELDS_MAX ||
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
	    hd->hd_target == NULL || hd->hd_target[0] == '\0'))
		abort();
	if (hd->hd_method == NULL && (hd->hd_status < 100 ||
	    hd->hd_status > 599))
		abort();
}

/* Parses a private copy of data; returns the verdict. */
static int
parse_copy(const uint8_t *data, size_t size, int is_request,
    const char *method, struct http_head *hd)
{
	char *buf;
	int rc;

	if ((buf = malloc(size + 1)) == NULL)
		return -1;
	memcpy(buf, data, size);
	if (is_request)
		rc = http_parse_request(buf, size, hd);
	else
		rc = http_parse_response(buf, size, method, hd);
	if (rc == 0)
		check_head(buf, size, hd);
	else if (rc != HTTP_INCOMPLETE && (rc < 400 || rc > 599))
		abort();
	free(buf);
	return rc;
}

/* De-chunks data written to a pipe, as a request and as a response. */
static void
dechunk(const uint8_t *data, size_t size, int response)
{
	static struct http_in in;
	struct http_head hd;
	struct http_body bd;
	char out[64];
	ssize_t r;
	int p[2], status, guard = 0;

	if (size > 60000 || pipe(p) == -1)
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
	while ((r = http_read_body(&in, &bd, out, sizeof(out), 0,
	    &status)) > 0)
		if ((size_t)r > sizeof(out) || ++guard > 100000)
			abort();
	if (r < 0 && status != (response ? 502 : 400))
		abort();
	close(p[0]);
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
	return 0;
}
