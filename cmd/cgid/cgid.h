/*
 * cgid.h - what the parts of cgid share: the configuration, the state of
 * one exchange (a request, the program runs it causes, the response), and
 * the functions between main.c, map.c, env.c, response.c, run.c.
 */
#ifndef CGID_H
#define CGID_H

#include <sys/types.h>
#include <limits.h>
#include <stdint.h>

#include "http.h"
#include "log.h"
#include "opts.h"

#define CGID_BUFSZ	65536		/* a read from a pipe or the client */
#define CGID_OBUFSZ	(HTTP_HEAD_MAX + 2 * CGID_BUFSZ)
#define CGID_PASS_MAX	32		/* HTTPS and SSL_* passed on */
#define CGID_ENV_MAX	(HTTP_FIELDS_MAX + CGID_PASS_MAX + 32)
#define CGID_ENV_BUFSZ	(HTTP_HEAD_MAX + 6 * HTTP_LINE_MAX + 4 * PATH_MAX)
#define CGID_ERRLINE	512		/* longest stderr line logged */
#define AUTH_USER_LEN	256

struct htpasswd;

struct cgid_conf {
	struct gtr_opts	 cf_opts;
	char *const	*cf_argv;		/* -- PROGRAM ARGS or NULL */
	char		 cf_program[PATH_MAX];	/* its argv[0], resolved */
	char		 cf_root[PATH_MAX];	/* realpath of --root, or "" */
	size_t		 cf_rootlen;
	const char	*cf_path;		/* --path: PATH for programs */
	int		 cf_cgi_timeout;	/* seconds */
	uint64_t	 cf_max_body;		/* bytes, 0: no bound */
	uint64_t	 cf_max_spool;		/* bytes, all spools; 0: none */
	const char	*cf_tmpdir;		/* spool for chunked bodies */
	struct htpasswd	*cf_auth;		/* --auth, or NULL */
	char		*cf_pass[CGID_PASS_MAX];	/* HTTPS, SSL_* */
	int		 cf_npass;
};

/* Which program a request runs and the names it learns. */
struct script {
	char	 sc_file[PATH_MAX];		/* the program to run */
	char	 sc_dir[PATH_MAX];		/* its directory, or "" */
	char	 sc_name[HTTP_LINE_MAX];	/* SCRIPT_NAME */
	char	 sc_path_info[HTTP_LINE_MAX];	/* PATH_INFO, "" if none */
	char	 sc_query[HTTP_LINE_MAX];	/* QUERY_STRING, raw */
	int	 sc_nph;			/* name starts "nph-" */
};

/* The header block a program wrote (RFC 3875 section 6.3). */
struct cgi_head {
	int		 ch_status;		/* 0 if no Status field */
	const char	*ch_reason;
	const char	*ch_location;
	const char	*ch_ctype;
	int		 ch_has_length;
	uint64_t	 ch_length;
	int		 ch_has_date;
	struct http_field ch_fields[HTTP_FIELDS_MAX];	/* to pass on */
	int		 ch_nfields;
	size_t		 ch_size;		/* bytes the block took */
};

enum resp_framing {
	RESP_LENGTH,		/* the program's Content-Length */
	RESP_CHUNKED,		/* HTTP/1.1 without a length */
	RESP_CLOSE,		/* HTTP/1.0 without a length; nph- output */
	RESP_NONE		/* HEAD, 204, 304: output discarded */
};

/* One request on a connection, from its head to its access line. */
struct exchange {
	struct conn		*x_conn;
	const struct cgid_conf	*x_cf;
	struct http_in		 x_in;
	struct http_head	 x_hd;
	const char		*x_method;	/* GET after a redirect */
	char			 x_target[HTTP_LINE_MAX];	/* of the run */
	int			 x_keep;	/* keep the connection */
	char			 x_user[AUTH_USER_LEN];	/* REMOTE_USER or "" */
	uint64_t		 x_length;	/* CONTENT_LENGTH */
	int			 x_has_body;
	uint64_t		 x_body_left;	/* body still to come */
	int			 x_body_done;	/* all of it was read */
	int			 x_body_fd;	/* spooled body, or -1 */
	uint64_t		 x_spooled;	/* its bytes in --max-spool */
	uint64_t		 x_head_deadline; /* of the current head */
	int			 x_auth_fails;	/* on this connection */
	struct script		 x_sc;
	/* the running program */
	pid_t			 x_pid;
	int			 x_pidfd;
	int			 x_to_prog;	/* its stdin, or -1 */
	int			 x_from_prog;	/* its stdout, or -1 */
	int			 x_err_prog;	/* its stderr, or -1 */
	uint64_t		 x_header_deadline;
	int			 x_header_done;
	int			 x_killed;	/* we sent SIGKILL */
	char			 x_buf[CGID_BUFSZ];	/* to its stdin */
	size_t			 x_boff, x_blen;
	char			 x_hdr[HTTP_HEAD_MAX];	/* its header block */
	size_t			 x_hlen;
	char			 x_err[CGID_ERRLINE];	/* a stderr line */
	size_t			 x_elen;
	struct cgi_head		 x_ch;
	char			 x_location[HTTP_LINE_MAX];	/* redirect */
	/* the response */
	int			 x_status;	/* for the access line */
	int			 x_head_sent;
	enum resp_framing	 x_framing;
	uint64_t		 x_resp_left;
	char			 x_obuf[CGID_OBUFSZ];	/* to the client */
	size_t			 x_olen;
	uint64_t		 x_ofirst;	/* when x_obuf was last empty */
	int			 x_client_gone;
	int			 x_unread;	/* client may still send */
	uint64_t		 x_bytes_in, x_bytes_out;
	const char		*x_why;		/* why it failed, or NULL */
	enum log_reason		 x_reason;	/* for the access line */
};

/* main.c */
int	send_error(struct exchange *, int status, enum proxy_error,
	    const char *why, const char *extra, enum log_reason);

/* map.c */
int	map_target(const struct cgid_conf *, const char *target,
	    struct script *);

/* env.c */
char  **env_build(const struct exchange *, char *buf, size_t buflen,
	    char **vec, int nvec);

/* response.c */
int	cgi_parse_head(char *buf, size_t len, struct cgi_head *);
int	resp_format_head(const struct exchange *, char *out, size_t outlen);
int	resp_is_local_redirect(const struct cgi_head *);

/* run.c */
enum run_result {
	RUN_DONE,		/* a response went out (maybe an error) */
	RUN_REDIRECT,		/* a local redirect: x_location to run next */
	RUN_ABORT		/* the connection cannot go on */
};
enum run_result run_program(struct exchange *);

#endif
