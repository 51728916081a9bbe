/*
 * httpftpd.h - what the files of the HTTP/FTP gateway share.
 *
 * main.c reads requests and writes responses; target.c turns a request
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

/* Settings fixed at start, read by every connection. */
struct gateway {
	struct gtr_opts	 gw_opts;
	int		 gw_writable;	/* --writable */
	int		 gw_ftp_ssl;	/* --ftp-ssl: AUTH TLS required */
	const char	*gw_cacert;	/* --cacert */
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
	int	 fr_policy;		/* the open-socket policy refused */
	int	 fr_status;		/* HTTP status to answer with */
	const char *fr_proxy;		/* Proxy-Status error token or NULL */
	char	 fr_detail[200];
};

struct ftp_handle;

/* Called with each piece of a body or listing; returns 0 or -1 to stop. */
typedef int (*ftp_sink)(void *arg, const char *buf, size_t n);
/* Fills buf with upload bytes; returns the count, 0 at end, -1 on error. */
typedef ssize_t (*ftp_source)(void *arg, char *buf, size_t n);

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
struct ftp_handle *ftp_acquire(const struct ftp_loc *);
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
int	listing_parse(char *raw, size_t len, int mlsd, time_t now,
	    struct listing *);
void	listing_free(struct listing *);
char	*listing_html(const struct listing *, const char *title, int root,
	    size_t *len);
char	*listing_json(const struct listing *, size_t *len);

/* splice.c */
uint64_t splice_move(int from, int to, uint64_t n, int timeout_ms,
	    int *to_failed);

/* mime.c */
void	mime_init(void);
const char *mime_type(const char *name);

#endif
