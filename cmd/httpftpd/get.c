/*
 * get.c - GET and HEAD: a file streamed as it arrives from RETR (its
 * head sent with its first bytes, the rest spliced where it can be), a
 * directory's listing, or a 301 to a directory's slash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpftpd.h"
#include "log.h"

static int	file_head(struct session *);
static int	out_flush(struct session *);
static int	body_sink(void *, const char *, size_t);
static int	can_splice(struct session *);
static int	splice_rest(struct session *, int);
static int	maybe_dir(struct session *);
static void	redirect_dir(struct session *);

/*
 * Sends the head of a file response from s_st (and the range); returns
 * 0 or -1.
 */
static int
file_head(struct session *s)
{
	struct file_fields ff;
	const char *lines[8];
	char ct[160];
	int i, n = 0;
	int status = s->s_from >= 0 ? HTTP_PARTIAL_CONTENT : HTTP_OK;

	snprintf(ct, sizeof(ct), "Content-Type: %s",
	    mime_type(s->s_loc.fl_path));
	lines[n++] = ct;
	lines[n++] = "Accept-Ranges: bytes";
	file_fields(&ff, &s->s_st, status, s->s_from, s->s_to);
	for (i = 0; i < ff.ff_n; i++)
		lines[n++] = ff.ff_lines[i];
	if (s->s_from >= 0)
		s->s_clen = s->s_to - s->s_from + 1;
	else if (s->s_st.fs_size >= 0)
		s->s_clen = s->s_st.fs_size;
	else if (s->s_hd.hd_version >= 11 &&
	    strcmp(s->s_hd.hd_method, "HEAD") != 0)
		s->s_chunked = 1;
	else if (strcmp(s->s_hd.hd_method, "HEAD") != 0)
		s->s_close = 1;
	return send_head(s, status, lines, n);
}

/* Writes what s_out holds (the head, then body as is or as a chunk). */
static int
out_flush(struct session *s)
{
	size_t body = s->s_nout - s->s_nhead;
	int fd = s->s_conn->c_wfd, r = 0;

	if (s->s_nout == 0)
		return 0;
	if (!s->s_chunked || body == 0)
		r = http_write_all(fd, s->s_out, s->s_nout, write_deadline());
	else {
		if (s->s_nhead > 0)
			r = http_write_all(fd, s->s_out, s->s_nhead,
			    write_deadline());
		if (r == 0)
			r = http_write_chunk(fd, s->s_out + s->s_nhead, body,
			    write_deadline());
		/* the chunk's size line and its CRLF */
		s->s_bytes_out += snprintf(NULL, 0, "%zx", body) + 4;
	}
	s->s_nout = s->s_nhead = 0;
	if (r == -1) {
		s->s_write_failed = 1;
		s->s_close = 1;
	}
	return r;
}

/*
 * Takes a piece of the file for the client, the head before the first;
 * n == 0 (libcurl between two reads) asks for what is gathered to be
 * written now, and is when the rest can be spliced.  Returns 0 or -1.
 */
static int
body_sink(void *arg, const char *buf, size_t n)
{
	struct session *s = arg;
	size_t k;
	int fd, r;

	if (n == 0) {
		if (!s->s_head_sent)
			return 0;
		if (out_flush(s) == -1)
			return -1;
		if (can_splice(s) && (fd = ftp_data_socket(s->s_fh)) != -1)
			return splice_rest(s, fd);
		return 0;
	}
	if (!s->s_head_sent) {
		if (!s->s_have_st) {
			ftp_info(s->s_fh, &s->s_st);
			s->s_have_st = 1;
		}
		s->s_defer = 1;
		r = file_head(s);
		s->s_defer = 0;
		if (r == -1)
			return -1;
	}
	if (s->s_clen >= 0 && s->s_body_sent + n > (uint64_t)s->s_clen)
		n = s->s_clen - s->s_body_sent;
	while (n > 0) {
		k = sizeof(s->s_out) - s->s_nout;
		if (k > n)
			k = n;
		memcpy(s->s_out + s->s_nout, buf, k);
		s->s_nout += k;
		s->s_body_sent += k;
		s->s_bytes_out += k;
		buf += k;
		n -= k;
		if (s->s_nout == sizeof(s->s_out) && out_flush(s) == -1)
			return -1;
	}
	return 0;
}

/*
 * Returns 1 if the rest of a whole file of known length (past what came
 * so far) may go from the data socket to a TCP client by splice_rest.
 */
static int
can_splice(struct session *s)
{
	return s->s_tcp && s->s_clen >= 0 && s->s_from < 0 &&
	    s->s_body_sent < (uint64_t)s->s_clen;
}

/*
 * Moves the rest of the file from the FTP data socket to the client
 * without it entering this process (splice.c): the three copies (recv,
 * s_out, send) were most of the gateway's CPU time on large files.
 * libcurl, whose progress callback this runs in, then reads the data
 * connection's end and the 226.  Returns 0, also when the FTP side ends
 * or stalls early (libcurl then goes on and reports it), or -1 if the
 * client fails.
 */
static int
splice_rest(struct session *s, int dfd)
{
	uint64_t moved;
	int failed = 0;

	moved = splice_move(dfd, s->s_conn->c_wfd,
	    s->s_clen - s->s_body_sent, s->s_gw->gw_opts.idle_timeout * 1000,
	    &failed);
	s->s_body_sent += moved;
	s->s_bytes_out += moved;
	/* shows the splice ran: a test tells it from the copying path */
	log_debug("conn=%lu: spliced %llu bytes", s->s_conn->c_id,
	    (unsigned long long)moved);
	if (failed) {
		s->s_write_failed = 1;
		s->s_close = 1;
		return -1;
	}
	return 0;
}

/*
 * After a 550: answers 301 when the path is a directory.  Returns 1 if
 * it did.
 */
static int
maybe_dir(struct session *s)
{
	struct ftp_result saved = s->s_res, probe;

	if (saved.fr_status != HTTP_NOT_FOUND &&
	    saved.fr_status != HTTP_FORBIDDEN)
		return 0;
	if (ftp_is_dir(s->s_fh, &s->s_loc, &probe)) {
		s->s_res.fr_code = probe.fr_code;
		redirect_dir(s);
		return 1;
	}
	s->s_res = saved;
	return 0;
}

/* 301 to the same path with a slash, relative so no credentials travel. */
static void
redirect_dir(struct session *s)
{
	char enc[3 * FTP_PATH_MAX + 1], loc[3 * FTP_PATH_MAX + 32];
	const char *lines[2];
	const char *last;
	static const char body[] = "301 Moved Permanently: a directory\n";

	last = strrchr(s->s_loc.fl_path, '/');
	last = last ? last + 1 : s->s_loc.fl_path;
	target_encode(last, enc, sizeof(enc));
	snprintf(loc, sizeof(loc), "Location: ./%s/", enc);
	lines[0] = loc;
	lines[1] = "Content-Type: text/plain";
	s->s_clen = sizeof(body) - 1;
	if (send_head(s, HTTP_MOVED_PERMANENTLY, lines, 2) == 0 &&
	    strcmp(s->s_hd.hd_method, "HEAD") != 0 &&
	    http_write_all(s->s_conn->c_wfd, body, sizeof(body) - 1,
	    write_deadline()) == 0)
		s->s_bytes_out += sizeof(body) - 1;
}

/* GET or HEAD of a file. */
void
serve_file(struct session *s)
{
	int head = strcmp(s->s_hd.hd_method, "HEAD") == 0, r;
	struct file_fields ff;

	if (head || http_get(&s->s_hd, "Range") != NULL ||
	    http_get(&s->s_hd, "If-None-Match") != NULL ||
	    http_get(&s->s_hd, "If-Modified-Since") != NULL) {
		if (ftp_stat(s->s_fh, &s->s_loc, &s->s_st, &s->s_res) == -1) {
			if (!maybe_dir(s))
				send_result(s);
			return;
		}
		s->s_have_st = 1;
		r = file_status(&s->s_hd, &s->s_st, !head, &s->s_from,
		    &s->s_to);
		if (r == HTTP_NOT_MODIFIED || r == HTTP_RANGE_NOT_SATISFIABLE)
			file_fields(&ff, &s->s_st, r, -1, -1);
		if (r == HTTP_NOT_MODIFIED) {
			send_head(s, HTTP_NOT_MODIFIED, ff.ff_lines, ff.ff_n);
			return;
		}
		if (r == HTTP_RANGE_NOT_SATISFIABLE) {
			send_error(s, HTTP_RANGE_NOT_SATISFIABLE,
			    PE_HTTP_REQUEST_ERROR, "range not satisfiable",
			    ff.ff_lines[0]);
			return;
		}
		if (head) {
			file_head(s);
			return;
		}
	}
	r = ftp_get(s->s_fh, &s->s_loc, s->s_from, s->s_to, body_sink, s,
	    &s->s_res);
	if (s->s_head_sent && out_flush(s) == -1)
		return;
	if (r == -1) {
		if (s->s_head_sent) {
			/* cut short: the client must see an incomplete body */
			log_info("conn=%lu: transfer broken after %llu bytes: "
			    "%s", s->s_conn->c_id,
			    (unsigned long long)s->s_body_sent,
			    s->s_res.fr_detail);
			s->s_cut = 1;
			s->s_close = 1;
			return;
		}
		if (!maybe_dir(s))
			send_result(s);
		return;
	}
	if (!s->s_head_sent) {
		/* an empty file: no write ever came */
		if (!s->s_have_st)
			ftp_info(s->s_fh, &s->s_st);
		if (s->s_st.fs_size < 0 && s->s_from < 0)
			s->s_st.fs_size = 0;
		if (file_head(s) == -1)
			return;
	}
	if (s->s_chunked && !s->s_write_failed) {
		if (http_write_chunk(s->s_conn->c_wfd, NULL, 0,
		    write_deadline()) == -1)
			s->s_close = 1;
		else
			s->s_bytes_out += 5;
	}
	if (s->s_clen >= 0 && s->s_body_sent != (uint64_t)s->s_clen) {
		log_info("conn=%lu: FTP sent %llu of %lld bytes",
		    s->s_conn->c_id, (unsigned long long)s->s_body_sent,
		    (long long)s->s_clen);
		s->s_cut = 1;
		s->s_close = 1;
	}
}

/* GET or HEAD of a directory: an HTML or JSON listing. */
void
serve_dir(struct session *s)
{
	struct rawlist rl = { NULL, 0, 0 };
	struct listing l;
	const char *lines[2];
	char *body = NULL, title[3 * FTP_PATH_MAX + NET_HOSTLEN + 32];
	const char *rel;
	size_t len = 0, base;
	int json = wants_json(&s->s_hd), mlsd;

	if (ftp_list(s->s_fh, &s->s_loc, &mlsd, listing_sink, &rl,
	    &s->s_res) == -1) {
		free(rl.rl_p);
		send_result(s);
		return;
	}
	if (rl.rl_p == NULL && listing_sink(&rl, "", 0) == -1) {
		send_error(s, HTTP_INTERNAL_SERVER_ERROR,
		    PE_PROXY_INTERNAL_ERROR, "out of memory", NULL);
		return;
	}
	base = s->s_gw->gw_origin ? strlen(s->s_gw->gw_base->fl_path) : 0;
	if (listing_parse(rl.rl_p, rl.rl_len, mlsd, time(NULL), &l) == 0) {
		if (s->s_gw->gw_origin) {
			/* the client's path: below the base, after its '/' */
			rel = s->s_loc.fl_path + base;
			rel += *rel == '/';
			snprintf(title, sizeof(title), "/%s%s", rel,
			    *rel != '\0' ? "/" : "");
		} else
			target_url(&s->s_loc, s->s_loc.fl_path, 1, title,
			    sizeof(title));
		body = json ? listing_json(&l, &len) : listing_html(&l, title,
		    strlen(s->s_loc.fl_path) == base, &len);
	}
	listing_free(&l);
	free(rl.rl_p);
	if (body == NULL) {
		send_error(s, HTTP_INTERNAL_SERVER_ERROR,
		    PE_PROXY_INTERNAL_ERROR, "out of memory", NULL);
		return;
	}
	lines[0] = json ? "Content-Type: application/json" :
	    "Content-Type: text/html; charset=utf-8";
	lines[1] = "Vary: Accept";
	s->s_clen = len;
	if (send_head(s, HTTP_OK, lines, 2) == 0 &&
	    strcmp(s->s_hd.hd_method, "HEAD") != 0) {
		if (http_write_all(s->s_conn->c_wfd, body, len,
		    write_deadline()) == -1)
			s->s_close = 1;
		else
			s->s_bytes_out += len;
	}
	free(body);
}
