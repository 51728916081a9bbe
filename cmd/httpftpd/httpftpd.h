/*
 * httpftpd.h - what the files of the HTTP/FTP gateway share.
 *
 * main.c reads requests and writes response heads and errors; get.c
 * serves files and listings (GET, HEAD); writable.c stores and deletes
 * files (PUT, DELETE); negotiate.c reads what a request's
 * conditional, Range and Accept fields ask for; target.c turns a request
 * target into an FTP location; ftp.c drives libcurl; listing.c parses and
 * renders directory listings; mime.c names content types; splice.c moves
 * a large file's bytes from socket to socket.
 */
#ifndef HTTPFTPD_H
#define HTTPFTPD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "net.h"
#include "opts.h"
#include "serve.h"

#define FTP_PATH_MAX	4096
#define FTP_CRED_MAX	256
#define LISTING_MAX	(16 * 1024 * 1024)	/* raw listing bytes we hold */
/*
 * The status of an exchange the client left before its answer (nginx's
 * 499): nothing is sent, and the access line says client_closed.
 */
#define CLIENT_GONE	499

/* Settings fixed at start, read by every connection. */
struct gateway {
	struct gtr_opts	 gw_opts;
	int		 gw_writable;	/* --writable */
	int		 gw_ftp_ssl;	/* --ftp-ssl: AUTH TLS required */
	const char	*gw_cacert;	/* --cacert */
	int		 gw_ftp_conns;	/* --ftp-conns: per server and login */
	int		 gw_origin;	/* -c given: origin form */
	struct ftp_loc	*gw_base;	/* -c parsed */
};

/* Where an FTP resource is, and as whom. */
struct ftp_loc {
	int	 fl_tls;			/* ftps:// (implicit TLS) */
	char	 fl_host[NET_HOSTLEN];		/* without brackets */
	unsigned fl_port;
	char	 fl_user[FTP_CRED_MAX];		/* "" for anonymous */
	char	 fl_pass[FTP_CRED_MAX];
	int	 fl_has_user;
	int	 fl_pass_given;			/* password in the URL or -c */
	char	 fl_path[FTP_PATH_MAX];		/* decoded, "a/b", no leading / */
	int	 fl_slash;			/* path ended with '/' */
};

/* What a stat (SIZE, MDTM) found. */
struct ftp_stat {
	int64_t	 fs_size;	/* -1 unknown */
	time_t	 fs_mtime;	/* -1 unknown */
};

/* How an FTP operation ended, as HTTP. */
struct ftp_result {
	CURLcode fr_curl;
	long	 fr_code;		/* last FTP reply code, 0 if none */
	char	 fr_reply[160];		/* last FTP reply line */
	enum proxy_error fr_policy;	/* the open-socket policy refused */
	int	 fr_status;		/* HTTP status to answer with */
	enum proxy_error fr_error;	/* Proxy-Status error, or PE_NONE */
	char	 fr_detail[200];
	char	 fr_upstream[NET_IPLEN + 16];	/* a failed login's server */
};

struct ftp_handle;

#define HEAD_MAX	4096	/* a response head we write */
/* FTP connections per server and login: below the per-address limits of
 * vsftpd (50), Debian's proftpd (30 processes) and pure-ftpd (50). */
#define FTP_CONNS	16
/*
 * libcurl hands the body over in 16 KiB pieces; gathering them into
 * writes this large (flushed whenever libcurl goes back to wait) halves
 * the gateway's system calls on large files.
 */
#define OUT_MAX		(512 * 1024)

/* One client connection, and the exchange in progress on it. */
struct session {
	struct conn	*s_conn;
	const struct gateway *s_gw;
	struct http_in	 s_in;
	struct http_head s_hd;
	/* the exchange in progress */
	struct ftp_loc	 s_loc;
	struct ftp_handle *s_fh;
	struct ftp_result s_res;
	struct ftp_stat	 s_st;
	int		 s_have_st;
	char		 s_shown[3 * FTP_PATH_MAX + NET_HOSTLEN + 32];
	int		 s_status;
	enum proxy_error s_error;	/* Proxy-Status error sent */
	const char	*s_user;	/* the FTP user given, or NULL */
	char		 s_upstream[NET_IPLEN + 16];	/* "" if none */
	int		 s_cut;		/* the FTP side ended the body short */
	unsigned long	 s_count;	/* exchanges begun on the connection */
	uint64_t	 s_bytes_in;	/* read from the client, head too */
	uint64_t	 s_bytes_out;	/* written to it, heads too */
	int		 s_close;	/* close after this exchange */
	struct http_body s_body;	/* the request's, read by PUT only */
	int		 s_tcp;		/* the client's c_wfd is a TCP socket */
	int		 s_head_sent;
	int		 s_defer;	/* send_head puts the head in s_out */
	size_t		 s_nhead;	/* head bytes at the start of s_out */
	size_t		 s_nout;
	char		 s_out[HEAD_MAX + OUT_MAX];
	int		 s_chunked;
	int64_t		 s_clen;	/* Content-Length sent, or -1 */
	uint64_t	 s_body_sent;
	int		 s_write_failed;
	int64_t		 s_from, s_to;	/* range, from -1 if none */
	uint64_t	 s_t0;
};

/* Called with each piece of a body or listing; returns 0 or -1 to stop. */
typedef int (*ftp_sink)(void *arg, const char *buf, size_t n);
/* Fills buf with upload bytes; returns the count, 0 at end, -1 on error. */
typedef ssize_t (*ftp_source)(void *arg, char *buf, size_t n);

/* main.c: the response to the exchange in progress */
uint64_t write_deadline(void);
int	send_head(struct session *, int status, const char **lines, int n);
void	send_error(struct session *, int status, enum proxy_error,
	    const char *detail, const char *extra);
void	send_result(struct session *);

/* get.c: GET and HEAD */
void	serve_file(struct session *);
void	serve_dir(struct session *);

/* writable.c: --writable */
void	serve_put(struct session *);
void	serve_delete(struct session *);

/* target.c */
int	target_parse_url(const char *url, struct ftp_loc *, int decode_path,
	    const char **err);
int	target_resolve(const struct gateway *, const char *target,
	    struct ftp_loc *, const char **err);
int	target_basic_auth(const char *value, struct ftp_loc *);
int	target_url(const struct ftp_loc *, const char *path, int slash,
	    char *out, size_t outlen);
size_t	target_encode(const char *s, char *out, size_t outlen);

/* ftp.c */
int	ftp_global_init(const struct gateway *);
struct ftp_handle *ftp_acquire(const struct ftp_loc *, struct ftp_result *);
void	ftp_release(struct ftp_handle *, int reusable);
int	ftp_stat(struct ftp_handle *, const struct ftp_loc *, struct ftp_stat *,
	    struct ftp_result *);
int	ftp_is_dir(struct ftp_handle *, const struct ftp_loc *,
	    struct ftp_result *);
int	ftp_get(struct ftp_handle *, const struct ftp_loc *, int64_t from,
	    int64_t to, ftp_sink, void *, struct ftp_result *);
int	ftp_list(struct ftp_handle *, const struct ftp_loc *, int *mlsd,
	    ftp_sink, void *, struct ftp_result *);
int	ftp_put(struct ftp_handle *, const struct ftp_loc *, int64_t size,
	    ftp_source, void *, struct ftp_result *);
int	ftp_delete(struct ftp_handle *, const struct ftp_loc *,
	    struct ftp_result *);
void	ftp_info(struct ftp_handle *, struct ftp_stat *);
void	ftp_upstream(struct ftp_handle *, char *out, size_t len);
int	ftp_data_socket(struct ftp_handle *);

/* listing.c */
struct entry {
	char	*e_name;
	char	 e_type;		/* 'f', 'd', 'l' */
	int64_t	 e_size;		/* -1 unknown */
	time_t	 e_mtime;		/* -1 unknown */
};
struct listing {
	struct entry	*li_v;
	size_t		 li_n;
	size_t		 li_cap;
};
/* Listing bytes as they arrive; bounded so a huge directory cannot grow us. */
struct rawlist {
	char	*rl_p;
	size_t	 rl_len;
	size_t	 rl_cap;
};
int	listing_sink(void *rawlist, const char *buf, size_t n);
int	listing_parse(char *raw, size_t len, int mlsd, time_t now,
	    struct listing *);
void	listing_free(struct listing *);
char	*listing_html(const struct listing *, const char *title, int root,
	    size_t *len);
char	*listing_json(const struct listing *, size_t *len);

/* negotiate.c */
struct file_fields {
	const char	*ff_lines[3];	/* "Name: value" each */
	int		 ff_n;
	char		 ff_lm[80];
	char		 ff_tag[80];
	char		 ff_range[96];
};
void	date_field(char *out, size_t len, const char *name, time_t);
int	file_status(const struct http_head *, const struct ftp_stat *,
	    int ranges, int64_t *from, int64_t *to);
void	file_fields(struct file_fields *, const struct ftp_stat *, int status,
	    int64_t from, int64_t to);
int	wants_json(const struct http_head *);

/* splice.c */
uint64_t splice_move(int from, int to, uint64_t n, int timeout_ms,
	    int *to_failed);

/* mime.c */
void	mime_init(void);
const char *mime_type(const char *name);

#endif
