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
 *
 * The responses are followed too, head by head (their bodies by their
 * framing, unseen), for one thing only: an Upgrade request answered
 * 101, or a CONNECT answered 2xx, ends HTTP on the connection, and
 * every byte after it passes as it is.  Only then: an Upgrade answered
 * otherwise keeps the requests after it parsed and rewritten.  So what
 * the client sends after such a request waits, unread, until its answer
 * says which it is.  A response that does not parse, or one read until
 * the backend closes, ends the following: requests are then parsed as
 * HTTP to the end, which is never less strict.
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

#define INFLIGHT_MAX	64	/* requests followed to their answers */

/* What a request's answer needs to be read: its method, and a switch. */
enum rq_kind {
	RQ_PLAIN,
	RQ_HEAD,		/* answers have no body */
	RQ_UPGRADE,		/* 101 switches protocols */
	RQ_CONNECT		/* 2xx makes a tunnel */
};

enum fw_state {
	FW_HEAD,		/* reading a request head */
	FW_BODY,		/* its body */
	FW_WAIT,		/* an Upgrade or CONNECT is out: its answer decides */
	FW_RAW,			/* no longer HTTP: bytes pass as they are */
	FW_FAILED
};

enum rs_state {
	RS_HEAD,		/* reading a response head */
	RS_BODY,
	RS_DONE			/* switched, or no longer followed */
};

/* A message body of either direction, followed as it passes. */
struct body {
	enum http_framing bo_framing;	/* HTTP_BODY_NONE once it ended */
	uint64_t	 bo_left;	/* of a Content-Length body */
	struct http_chunk bo_ck;	/* of a chunked one */
};

/* A head being read into a buffer of its own. */
struct head {
	char		 he_buf[HEAD_ROOM];
	size_t		 he_len;
	struct http_scan he_sc;		/* where it ends */
	struct http_head he_hd;
};

struct fwd {
	enum fw_state	 fw_state;
	struct head	 fw_req;
	struct body	 fw_body;
	char		 fw_out[OUT_MAX];	/* a rewritten head */
	size_t		 fw_ooff, fw_oend;
	uint64_t	 fw_head_ms;	/* this head began; 0: none */
	int		 fw_status;	/* why it failed */
	const char	*fw_why;	/* that, in words */
	unsigned long	 fw_requests;
	char		 fw_for[NET_IPLEN + 8];
	char		 fw_xff[NET_IPLEN];
	char		 fw_subject[SUBJECT_MAX];

	/* The responses: which request each answers, oldest first. */
	enum rs_state	 fw_rstate;
	unsigned char	 fw_inflight[INFLIGHT_MAX];	/* enum rq_kind */
	unsigned	 fw_qfirst, fw_qn;
	int		 fw_asking;	/* an Upgrade or CONNECT awaits its answer */
	int		 fw_switched;	/* it was answered yes */
	struct head	 fw_resp;
	struct body	 fw_rbody;
};

static int	 drop_field(const char *, size_t);
static int	 drop_conn_tokens(char *);
static int	 rewrite(struct fwd *);
static int	 head_add(struct head *, int, const char *, size_t, size_t *);
static void	 body_init(struct body *, const struct http_head *);
static ssize_t	 body_follow(struct body *, const char *, size_t);
static enum rq_kind kind_of(const struct http_head *);
static void	 request_end(struct fwd *);
static void	 unfollow(struct fwd *);
static int	 answered(struct fwd *);
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
	struct http_head *hd = &fw->fw_req.he_hd;
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
 * Appends up to n bytes at in to the head h (a request's if is_request)
 * and looks for its end.  Returns as http_head_scan(), with *took the
 * bytes it appended.
 */
static int
head_add(struct head *h, int is_request, const char *in, size_t n,
    size_t *took)
{
	size_t room = sizeof(h->he_buf) - h->he_len;
	int rc;

	if (h->he_len == 0)
		http_scan_init(&h->he_sc, is_request);
	*took = n < room ? n : room;
	memcpy(h->he_buf + h->he_len, in, *took);
	h->he_len += *took;
	rc = http_head_scan(&h->he_sc, h->he_buf, h->he_len);
	/* A full buffer is the scanner's 431: this is only a safeguard. */
	if (rc == HTTP_INCOMPLETE && h->he_len == sizeof(h->he_buf))
		rc = HTTP_FIELDS_TOO_LARGE;
	return rc;
}

/* Starts following the body the parsed head hd says comes after it. */
static void
body_init(struct body *bo, const struct http_head *hd)
{
	bo->bo_framing = hd->hd_framing;
	bo->bo_left = hd->hd_length;
	if (bo->bo_framing == HTTP_BODY_LENGTH && bo->bo_left == 0)
		bo->bo_framing = HTTP_BODY_NONE;
	http_chunk_init(&bo->bo_ck);
}

/*
 * Returns how many of the n bytes at in belong to the body, which has
 * ended when bo_framing is HTTP_BODY_NONE; or -1 for chunked framing
 * that is not valid.  A body read until close takes everything.
 */
static ssize_t
body_follow(struct body *bo, const char *in, size_t n)
{
	size_t i = 0;
	ssize_t r;
	int payload;

	switch (bo->bo_framing) {
	case HTTP_BODY_NONE:
		return 0;
	case HTTP_BODY_CLOSE:
		return n;
	case HTTP_BODY_LENGTH:
		if (n > bo->bo_left)
			n = bo->bo_left;
		if ((bo->bo_left -= n) == 0)
			bo->bo_framing = HTTP_BODY_NONE;
		return n;
	case HTTP_BODY_CHUNKED:
		break;
	}
	while (i < n) {
		if ((r = http_chunk_scan(&bo->bo_ck, in + i, n - i,
		    &payload)) == -1)
			return -1;
		i += r;
		if (http_chunk_done(&bo->bo_ck)) {
			bo->bo_framing = HTTP_BODY_NONE;
			break;
		}
		if (r == 0)
			break;
	}
	return i;
}

/* What the answer to the request hd needs, for its framing or a switch. */
static enum rq_kind
kind_of(const struct http_head *hd)
{
	if (strcmp(hd->hd_method, "CONNECT") == 0)
		return RQ_CONNECT;
	if (strcmp(hd->hd_method, "HEAD") == 0)
		return RQ_HEAD;
	if (http_get(hd, "Upgrade") != NULL &&
	    http_has_token(hd, "Connection", "upgrade"))
		return RQ_UPGRADE;
	return RQ_PLAIN;
}

/*
 * After a request's last byte: the next head, or the wait for the
 * answer to an Upgrade or CONNECT, or the bytes of the protocol it
 * switched to.
 */
static void
request_end(struct fwd *fw)
{
	fw->fw_head_ms = 0;
	if (fw->fw_switched)
		fw->fw_state = FW_RAW;
	else if (fw->fw_asking)
		fw->fw_state = FW_WAIT;
	else
		fw->fw_state = FW_HEAD;
}

/*
 * Stops following the responses: requests are parsed as HTTP from now
 * on, the one waiting for an answer too.
 */
static void
unfollow(struct fwd *fw)
{
	fw->fw_rstate = RS_DONE;
	fw->fw_qn = 0;
	fw->fw_asking = 0;
	if (fw->fw_state == FW_WAIT)
		fw->fw_state = FW_HEAD;
}

/*
 * Takes the parsed response head fw_resp as the answer to the oldest
 * request in flight.  Returns 1 if it switched protocols, else 0.
 */
static int
answered(struct fwd *fw)
{
	struct http_head *hd = &fw->fw_resp.he_hd;
	enum rq_kind kind = fw->fw_inflight[fw->fw_qfirst];

	if ((kind == RQ_UPGRADE && hd->hd_status ==
	    HTTP_SWITCHING_PROTOCOLS) || (kind == RQ_CONNECT &&
	    hd->hd_status / 100 == 2)) {
		fw->fw_rstate = RS_DONE;
		fw->fw_switched = 1;
		if (fw->fw_state == FW_WAIT)
			fw->fw_state = FW_RAW;
		return 1;
	}
	if (hd->hd_status == HTTP_SWITCHING_PROTOCOLS) {
		unfollow(fw);		/* a switch nobody asked for */
		return 0;
	}
	if (hd->hd_status < HTTP_OK)
		return 0;		/* interim: the answer is still to come */
	fw->fw_qfirst = (fw->fw_qfirst + 1) % INFLIGHT_MAX;
	fw->fw_qn--;
	if (kind == RQ_UPGRADE || kind == RQ_CONNECT) {
		fw->fw_asking = 0;
		if (fw->fw_state == FW_WAIT)
			fw->fw_state = FW_HEAD;
	}
	body_init(&fw->fw_rbody, hd);
	if (fw->fw_rbody.bo_framing == HTTP_BODY_CLOSE)
		unfollow(fw);		/* the last answer: nothing follows */
	else if (fw->fw_rbody.bo_framing != HTTP_BODY_NONE)
		fw->fw_rstate = RS_BODY;
	return 0;
}

void
fwd_response(struct fwd *fw, const char *in, size_t n)
{
	struct head *h = &fw->fw_resp;
	enum rq_kind kind;
	size_t k;
	ssize_t r;
	int rc;

	while (n > 0 && fw->fw_rstate != RS_DONE) {
		if (fw->fw_rstate == RS_BODY) {
			if ((r = body_follow(&fw->fw_rbody, in, n)) == -1) {
				unfollow(fw);
				return;
			}
			in += r;
			n -= r;
			if (fw->fw_rbody.bo_framing == HTTP_BODY_NONE)
				fw->fw_rstate = RS_HEAD;
			continue;
		}
		if ((rc = head_add(h, 0, in, n, &k)) == HTTP_INCOMPLETE)
			return;
		if (rc != 0 || fw->fw_qn == 0) {
			unfollow(fw);	/* not HTTP, or not asked for */
			return;
		}
		kind = fw->fw_inflight[fw->fw_qfirst];
		if (http_parse_response(h->he_buf, h->he_sc.sc_size,
		    kind == RQ_HEAD ? "HEAD" : kind == RQ_CONNECT ? "CONNECT" :
		    NULL, &h->he_hd) != 0) {
			unfollow(fw);
			return;
		}
		k -= h->he_len - h->he_hd.hd_size;
		in += k;
		n -= k;
		h->he_len = 0;
		if (answered(fw))
			return;
	}
}

/*
 * Takes head bytes from in.  Returns how many it used (not the bytes
 * after a complete head), or -1 when the head is refused.
 */
static ssize_t
head_step(struct fwd *fw, const char *in, size_t n)
{
	struct head *h = &fw->fw_req;
	struct http_head *hd = &h->he_hd;
	enum rq_kind kind = RQ_PLAIN;
	size_t k;
	int rc;

	/* A later head's deadline runs from its first byte. */
	if (h->he_len == 0 && fw->fw_head_ms == 0 && n > 0)
		fw->fw_head_ms = now_ms();
	if ((rc = head_add(h, 1, in, n, &k)) == HTTP_INCOMPLETE)
		return k;
	if (rc == 0)
		rc = http_parse_request(h->he_buf, h->he_sc.sc_size, hd);
	if (rc == 0) {
		/* Before rewrite(), which edits Connection. */
		kind = kind_of(hd);
		if (rewrite(fw) == -1)
			rc = HTTP_FIELDS_TOO_LARGE;
	}
	if (rc != 0) {
		fw->fw_status = rc;
		fw->fw_why = rc == HTTP_BAD_REQUEST &&
		    h->he_sc.sc_rc == HTTP_BAD_REQUEST ? h->he_sc.sc_error :
		    http_head_error(hd, rc);
		fw->fw_state = FW_FAILED;
		return -1;
	}
	k -= h->he_len - hd->hd_size;
	h->he_len = 0;
	fw->fw_requests++;
	if (fw->fw_rstate != RS_DONE) {
		fw->fw_inflight[(fw->fw_qfirst + fw->fw_qn) % INFLIGHT_MAX] =
		    kind;
		fw->fw_qn++;
		fw->fw_asking = kind == RQ_UPGRADE || kind == RQ_CONNECT;
	}
	body_init(&fw->fw_body, hd);
	if (fw->fw_body.bo_framing == HTTP_BODY_NONE)
		request_end(fw);
	else
		fw->fw_state = FW_BODY;
	return k;
}

/*
 * Copies body bytes from in to out (room bytes at most), following the
 * framing, and stops where the body ends.  Returns the count, or -1.
 */
static ssize_t
body_step(struct fwd *fw, const char *in, size_t n, char *out, size_t room)
{
	ssize_t r;

	if ((r = body_follow(&fw->fw_body, in, n < room ? n : room)) == -1) {
		fw->fw_status = HTTP_BAD_REQUEST;
		fw->fw_why = "malformed chunked framing";
		fw->fw_state = FW_FAILED;
		return -1;
	}
	/* Framing and data alike go on as they came. */
	memcpy(out, in, r);
	if (fw->fw_body.bo_framing == HTTP_BODY_NONE)
		request_end(fw);
	return r;
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
		if (fw->fw_state == FW_FAILED)
			return -1;
		/* Held until an answer comes: see the top of the file. */
		if (used == n || fw->fw_state == FW_WAIT ||
		    (fw->fw_state == FW_HEAD && fw->fw_qn == INFLIGHT_MAX))
			return used;
		if (fw->fw_state == FW_HEAD)
			r = head_step(fw, in + used, n - used);
		else if (*produced == room)
			return used;
		else if (fw->fw_state == FW_RAW) {
			r = n - used < room - *produced ? n - used :
			    room - *produced;
			memcpy(out + *produced, in + used, r);
			*produced += r;
		} else if ((r = body_step(fw, in + used, n - used,
		    out + *produced, room - *produced)) > 0)
			*produced += r;
		if (r == -1)
			return -1;
		used += r;
	}
}
