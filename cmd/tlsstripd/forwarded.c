/*
 * forwarded.c - --forwarded: the client's request stream, with each
 * request head rewritten to say who the client is.
 *
 * A head's end is found by http_head_scan() as its bytes come (a head
 * dripped a byte at a time costs linear work), then it is parsed by
 * http.h's parser on our own buffer and written again with Forwarded, X-Forwarded-For, X-Forwarded-Proto (and
 * X-Client-Cert-Subject for a verified client certificate) set by us and
 * the client's copies removed, and so are the client's Connection
 * tokens naming them: the next hop would delete ours.  Bodies pass
 * through unchanged, framed by Content-Length or by http.h's strict
 * chunk scanner, so the next head is found exactly where the backend
 * will look for it: a client cannot hide a second request, with its own
 * X-Forwarded-For, inside what we took for a body.  Anything that does
 * not parse, and a head not whole by its --header-timeout deadline,
 * stops the stream; the client then gets an error answer after the
 * responses to the requests before it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "log.h"
#include "tlsstripd.h"

#define OUT_MAX		(HTTP_HEAD_MAX + SUBJECT_MAX + 512)
/* Room for every verdict of http_head_scan() (http.h). */
#define HEAD_ROOM	(HTTP_HEAD_MAX + 2 * HTTP_EMPTY_LINES_MAX)

enum fw_state {
	FW_HEAD,		/* reading a request head */
	FW_LENGTH,		/* Content-Length body */
	FW_CHUNKED,		/* chunked body */
	FW_FAILED
};

struct fwd {
	enum fw_state	 fw_state;
	char		 fw_head[HEAD_ROOM];
	size_t		 fw_hlen;
	struct http_scan fw_sc;		/* where the head ends */
	struct http_chunk fw_ck;	/* a chunked body's framing */
	struct http_head fw_hd;
	char		 fw_out[OUT_MAX];	/* a rewritten head */
	size_t		 fw_ooff, fw_oend;
	uint64_t	 fw_left;	/* Content-Length body bytes to come */
	uint64_t	 fw_head_ms;	/* this head began; 0: none */
	int		 fw_status;	/* why it failed */
	const char	*fw_why;	/* that, in words */
	unsigned long	 fw_requests;
	char		 fw_for[NET_IPLEN + 8];
	char		 fw_xff[NET_IPLEN];
	char		 fw_subject[SUBJECT_MAX];
};

static int	 drop_field(const char *, size_t);
static int	 drop_conn_tokens(char *);
static int	 rewrite(struct fwd *);
static ssize_t	 head_step(struct fwd *, const char *, size_t);
static ssize_t	 body_step(struct fwd *, const char *, size_t, char *,
		    size_t);

struct fwd *
fwd_new(const struct conn *c, const char *subject)
{
	struct fwd *fw;

	if ((fw = calloc(1, sizeof(*fw))) == NULL)
		return NULL;
	fw->fw_state = FW_HEAD;
	/* The first head's deadline runs from the connection's start. */
	fw->fw_head_ms = c->c_start_ms;
	if (strcmp(c->c_peer_ip, "-") == 0)
		snprintf(fw->fw_for, sizeof(fw->fw_for), "unknown");
	else if (strchr(c->c_peer_ip, ':') != NULL)
		snprintf(fw->fw_for, sizeof(fw->fw_for), "\"[%s]\"",
		    c->c_peer_ip);
	else
		snprintf(fw->fw_for, sizeof(fw->fw_for), "%s", c->c_peer_ip);
	snprintf(fw->fw_xff, sizeof(fw->fw_xff), "%s", c->c_peer_ip);
	snprintf(fw->fw_subject, sizeof(fw->fw_subject), "%s",
	    subject != NULL ? subject : "");
	return fw;
}

void
fwd_free(struct fwd *fw)
{
	free(fw);
}

unsigned long
fwd_requests(const struct fwd *fw)
{
	return fw->fw_requests;
}

int
fwd_status(const struct fwd *fw)
{
	return fw->fw_state == FW_FAILED ? fw->fw_status : 0;
}

int
fwd_pending(const struct fwd *fw)
{
	return fw->fw_ooff < fw->fw_oend;
}

/* When the request head under way began (monotonic ms), 0 if none. */
uint64_t
fwd_head_since(const struct fwd *fw)
{
	return fw->fw_state == FW_HEAD ? fw->fw_head_ms : 0;
}

/* Refuses the head under way: it missed its deadline (408). */
void
fwd_timeout(struct fwd *fw)
{
	fw->fw_status = HTTP_REQUEST_TIMEOUT;
	fw->fw_why = "request head not complete in time";
	fw->fw_state = FW_FAILED;
}

/*
 * The answer to the refused request, as every gtr program makes one,
 * for tlsio.c to send through TLS.  Returns its length: 0 when nothing
 * was refused or room is too small.
 */
size_t
fwd_answer(const struct fwd *fw, char *out, size_t room)
{
	int n;

	if (fw->fw_state != FW_FAILED)
		return 0;
	n = http_format_error(out, room, ANSWER_VERSION, fw->fw_status,
	    http_proxy_error_token(PE_HTTP_REQUEST_ERROR), fw->fw_why, NULL,
	    1);
	return n > 0 ? (size_t)n : 0;
}

/*
 * Returns 1 if the len bytes at name are one of the fields we set,
 * whose client copies are dropped.
 */
static int
drop_field(const char *name, size_t len)
{
	static const char *const ours[] = { "Forwarded", "X-Forwarded-For",
	    "X-Forwarded-Proto", "X-Client-Cert-Subject" };
	size_t i;

	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (strlen(ours[i]) == len &&
		    strncasecmp(name, ours[i], len) == 0)
			return 1;
	return 0;
}

/*
 * Takes the names of the fields we set out of a Connection value, in
 * place (what is written never passes what is still to read).  Returns
 * 1 if tokens are left, 0 if the value is empty now.
 */
static int
drop_conn_tokens(char *v)
{
	char *r = v, *w = v, *tok;
	size_t len;

	for (;;) {
		while (*r == ',' || *r == ' ' || *r == '\t')
			r++;
		if (*r == '\0')
			break;
		tok = r;
		while (*r != '\0' && *r != ',' && *r != ' ' && *r != '\t')
			r++;
		len = r - tok;
		if (drop_field(tok, len))
			continue;
		if (w > v) {
			*w++ = ',';
			if (w < tok)
				*w++ = ' ';
		}
		memmove(w, tok, len);
		w += len;
	}
	*w = '\0';
	return w > v;
}

/* Writes the parsed head again into fw_out; 0, or -1 (too large). */
static int
rewrite(struct fwd *fw)
{
	struct http_head *hd = &fw->fw_hd;
	struct http_field f[HTTP_FIELDS_MAX + 4];
	char line[HTTP_LINE_MAX + 32], fwdv[sizeof(fw->fw_for) + 16];
	int i, n = 0, len;

	len = snprintf(line, sizeof(line), "%s %s HTTP/1.%d", hd->hd_method,
	    hd->hd_target, hd->hd_version == 10 ? 0 : 1);
	if (len < 0 || (size_t)len >= sizeof(line))
		return -1;
	for (i = 0; i < hd->hd_nfields; i++) {
		if (drop_field(hd->hd_fields[i].name,
		    strlen(hd->hd_fields[i].name)))
			continue;
		if (strcasecmp(hd->hd_fields[i].name, "Connection") == 0 &&
		    !drop_conn_tokens(hd->hd_fields[i].value))
			continue;
		f[n++] = hd->hd_fields[i];
	}
	snprintf(fwdv, sizeof(fwdv), "for=%s;proto=https", fw->fw_for);
	f[n].name = "Forwarded";
	f[n++].value = fwdv;
	f[n].name = "X-Forwarded-For";
	f[n++].value = fw->fw_xff;
	f[n].name = "X-Forwarded-Proto";
	f[n++].value = "https";
	if (fw->fw_subject[0] != '\0') {
		f[n].name = "X-Client-Cert-Subject";
		f[n++].value = fw->fw_subject;
	}
	if ((len = http_format_head(fw->fw_out, sizeof(fw->fw_out), line, f,
	    n)) == -1)
		return -1;
	fw->fw_ooff = 0;
	fw->fw_oend = len;
	return 0;
}

/*
 * Takes head bytes from in.  Returns how many it used (not the bytes
 * after a complete head), or -1 when the head is refused.
 */
static ssize_t
head_step(struct fwd *fw, const char *in, size_t n)
{
	struct http_head *hd = &fw->fw_hd;
	size_t old = fw->fw_hlen, k;
	int rc;

	k = n < sizeof(fw->fw_head) - old ? n : sizeof(fw->fw_head) - old;
	if (old == 0) {
		http_scan_init(&fw->fw_sc, 1);
		/* A later head's deadline runs from its first byte. */
		if (fw->fw_head_ms == 0 && k > 0)
			fw->fw_head_ms = now_ms();
	}
	memcpy(fw->fw_head + old, in, k);
	fw->fw_hlen += k;
	rc = http_head_scan(&fw->fw_sc, fw->fw_head, fw->fw_hlen);
	if (rc == HTTP_INCOMPLETE && fw->fw_hlen < sizeof(fw->fw_head))
		return k;
	if (rc == 0)
		rc = http_parse_request(fw->fw_head, fw->fw_sc.sc_size, hd);
	if (rc == 0 && rewrite(fw) == -1)
		rc = HTTP_FIELDS_TOO_LARGE;
	if (rc != 0) {
		/* A full buffer is the scanner's 431: it never gets here. */
		fw->fw_status = rc == HTTP_INCOMPLETE ?
		    HTTP_FIELDS_TOO_LARGE : rc;
		fw->fw_why = rc == HTTP_BAD_REQUEST &&
		    fw->fw_sc.sc_rc == HTTP_BAD_REQUEST ? fw->fw_sc.sc_error :
		    http_head_error(hd, fw->fw_status);
		fw->fw_state = FW_FAILED;
		return -1;
	}
	k -= fw->fw_hlen - hd->hd_size;
	fw->fw_hlen = 0;
	fw->fw_head_ms = 0;
	fw->fw_requests++;
	if (hd->hd_framing == HTTP_BODY_LENGTH && hd->hd_length > 0) {
		fw->fw_state = FW_LENGTH;
		fw->fw_left = hd->hd_length;
	} else if (hd->hd_framing == HTTP_BODY_CHUNKED) {
		fw->fw_state = FW_CHUNKED;
		http_chunk_init(&fw->fw_ck);
	}
	return k;
}

/*
 * Copies body bytes from in to out (room bytes at most), following the
 * framing, and stops where the body ends.  Returns the count, or -1.
 */
static ssize_t
body_step(struct fwd *fw, const char *in, size_t n, char *out, size_t room)
{
	size_t i = 0;
	ssize_t r;
	int payload;

	if (room < n)
		n = room;
	if (fw->fw_state == FW_LENGTH) {
		if (n > fw->fw_left)
			n = fw->fw_left;
		memcpy(out, in, n);
		if ((fw->fw_left -= n) == 0)
			fw->fw_state = FW_HEAD;
		return n;
	}
	while (i < n && fw->fw_state == FW_CHUNKED) {
		if ((r = http_chunk_scan(&fw->fw_ck, in + i, n - i,
		    &payload)) == -1) {
			fw->fw_status = HTTP_BAD_REQUEST;
			fw->fw_why = "malformed chunked framing";
			fw->fw_state = FW_FAILED;
			return -1;
		}
		/* Framing and data alike go on as they came. */
		memcpy(out + i, in + i, r);
		i += r;
		if (http_chunk_done(&fw->fw_ck))
			fw->fw_state = FW_HEAD;
		else if (r == 0)
			break;
	}
	return i;
}

ssize_t
fwd_run(struct fwd *fw, const char *in, size_t n, char *out, size_t room,
    size_t *produced)
{
	size_t used = 0, k;
	ssize_t r;

	*produced = 0;
	for (;;) {
		if (fw->fw_ooff < fw->fw_oend) {
			k = fw->fw_oend - fw->fw_ooff;
			if (k > room - *produced)
				k = room - *produced;
			memcpy(out + *produced, fw->fw_out + fw->fw_ooff, k);
			fw->fw_ooff += k;
			*produced += k;
			if (fw->fw_ooff < fw->fw_oend)
				return used;
		}
		if (used == n || fw->fw_state == FW_FAILED)
			return fw->fw_state == FW_FAILED ? -1 : (ssize_t)used;
		if (fw->fw_state == FW_HEAD)
			r = head_step(fw, in + used, n - used);
		else {
			if (*produced == room)
				return used;
			r = body_step(fw, in + used, n - used,
			    out + *produced, room - *produced);
			if (r > 0)
				*produced += r;
		}
		if (r == -1)
			return -1;
		used += r;
	}
}
