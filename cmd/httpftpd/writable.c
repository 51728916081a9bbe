/*
 * writable.c - with --writable, PUT streams the request body to STOR and
 * DELETE sends DELE.
 */
#include <string.h>

#include "httpftpd.h"

/* Request body bytes for STOR. */
struct upload {
	struct session	*up_s;
	int		 up_status;
};

static ssize_t	body_source(void *, char *, size_t);

/* Reads request body bytes for STOR; returns the count, 0 or -1. */
static ssize_t
body_source(void *arg, char *buf, size_t n)
{
	struct upload *up = arg;
	ssize_t r;

	r = http_read_body(&up->up_s->s_in, &up->up_s->s_body, buf, n,
	    write_deadline(), &up->up_status);
	if (r > 0)
		up->up_s->s_bytes_in += r;
	return r;
}

/* PUT: STOR the body; 201 for a new file, 204 for a replaced one. */
void
serve_put(struct session *s)
{
	struct upload up;
	struct ftp_result probe;
	struct ftp_stat st;
	const char *lines[1];
	int existed;

	if (s->s_loc.fl_slash) {
		send_error(s, HTTP_METHOD_NOT_ALLOWED, PE_HTTP_REQUEST_DENIED,
		    "cannot PUT a directory", "Allow: GET, HEAD");
		return;
	}
	existed = ftp_stat(s->s_fh, &s->s_loc, &st, &probe) == 0;
	if (!existed && probe.fr_status != HTTP_NOT_FOUND) {
		s->s_res = probe;
		send_result(s);
		return;
	}
	if (s->s_hd.hd_expect_continue) {
		if (http_write_all(s->s_conn->c_wfd,
		    "HTTP/1.1 100 Continue\r\n\r\n", 25,
		    write_deadline()) == -1) {
			s->s_close = 1;
			s->s_write_failed = 1;
			return;
		}
		s->s_bytes_out += 25;
	}
	memset(&up, 0, sizeof(up));
	up.up_s = s;
	if (ftp_put(s->s_fh, &s->s_loc, s->s_hd.hd_framing ==
	    HTTP_BODY_LENGTH ? (int64_t)s->s_hd.hd_length : -1, body_source,
	    &up, &s->s_res) == -1) {
		s->s_close = 1;
		if (up.up_status != 0)
			send_error(s, up.up_status, PE_HTTP_REQUEST_ERROR,
			    "request body broken", NULL);
		else
			send_result(s);
		return;
	}
	s->s_clen = existed ? -1 : 0;
	lines[0] = "Content-Type: text/plain";
	send_head(s, existed ? HTTP_NO_CONTENT : HTTP_CREATED, lines,
	    existed ? 0 : 1);
}

/* DELETE: DELE, 204. */
void
serve_delete(struct session *s)
{
	if (s->s_loc.fl_slash) {
		send_error(s, HTTP_METHOD_NOT_ALLOWED, PE_HTTP_REQUEST_DENIED,
		    "cannot DELETE a directory", "Allow: GET, HEAD");
		return;
	}
	if (ftp_delete(s->s_fh, &s->s_loc, &s->s_res) == -1) {
		send_result(s);
		return;
	}
	send_head(s, HTTP_NO_CONTENT, NULL, 0);
}
