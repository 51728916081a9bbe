/*
 * tlsstripd.h - what the parts of tlsstripd share: the configuration,
 * the per-connection session, and each file's entry points.
 */
#ifndef TLSSTRIPD_H
#define TLSSTRIPD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "http.h"
#include "log.h"
#include "net.h"
#include "opts.h"
#include "serve.h"

#define CERTS_MAX	64		/* --cert options */
#define RELAY_BUF	(64 * 1024)	/* per direction */
#define RAW_BUF		(16 * 1024)	/* one TLS record, --forwarded */
#define SUBJECT_MAX	1024
#define DETAIL_MAX	256
#define OCSP_MAX	(64 * 1024)	/* a DER OCSP response */
#define ANSWER_VERSION	11	/* of our answers: they all close */

/* One --cert FILE, with the --key and --ocsp FILEs that followed it. */
struct cert_src {
	const char	*cs_cert;
	const char	*cs_key;
	const char	*cs_ocsp;
};

struct config {
	struct gtr_opts	 cf_opts;
	struct cert_src	 cf_certs[CERTS_MAX];
	int		 cf_ncerts;
	const char	*cf_cert_dir;		/* --cert-dir, or NULL */
	const char	*cf_client_ca;		/* --client-ca, or NULL */
	int		 cf_proxy_protocol;	/* 0, 1 or 2 */
	int		 cf_forwarded;		/* --forwarded */
	char		**cf_argv;		/* the program after "--" */
};

struct fwd;
struct loop;
struct session;

/* What an epoll event names: a session and which of its two fds. */
struct sev {
	struct session		*sv_se;
	int			 sv_backend;
};

/* One client connection, from accept to the access line. */
struct session {
	struct conn		*se_conn;
	const struct config	*se_cf;
	SSL			*se_ssl;
	int			 se_up;		/* backend or program, or -1 */
	pid_t			 se_pid;	/* the program's, or -1 */
	const char		*se_proto;	/* "TLSv1.3", static */
	const char		*se_cipher;	/* static */
	char			 se_sni[NET_HOSTLEN];
	char			 se_subject[SUBJECT_MAX];	/* verified */
	char			 se_upstream[NET_IPLEN];
	uint64_t		 se_in;		/* plaintext from the client */
	uint64_t		 se_out;	/* plaintext to the client */
	int			 se_ended;	/* se_why is set: the first wins */
	enum log_reason		 se_why;
	char			 se_detail[DETAIL_MAX];	/* what happened, or "" */
	int			 se_status;	/* an answer of ours, or 0 */
	int			 se_quiet;	/* a health check: log at -v */

	/* The relay: client -> backend (u), backend -> client (d). */
	char			*se_ubuf;
	size_t			 se_uoff, se_uend;
	char			*se_dbuf;
	size_t			 se_doff, se_dend;
	size_t			 se_dpend;	/* length of a retried write */
	char			*se_rbuf;	/* --forwarded: client bytes */
	size_t			 se_roff, se_rend;
	struct fwd		*se_fwd;
	int			 se_cl_eof;	/* client close_notify or FIN */
	int			 se_up_shut;	/* backend got SHUT_WR */
	int			 se_be_eof;	/* backend FIN */
	int			 se_notified;	/* close_notify given to OpenSSL */
	int			 se_cl_shut;	/* client got close_notify */
	int			 se_answered;	/* --forwarded: error answer queued */
	int			 se_rd_wait;	/* SSL_read waits: WAIT_* */
	int			 se_wr_wait;	/* SSL_write/shutdown waits */
	int			 se_be_rd_wait;
	int			 se_be_wr_wait;

	/* In a shared event loop (loop.c), once the handshake is done. */
	struct loop		*se_loop;
	TAILQ_ENTRY(session)	 se_entry;	/* the loop's sessions */
	TAILQ_ENTRY(session)	 se_rentry;	/* to run this round */
	struct sev		 se_ev[2];	/* client, backend */
	uint32_t		 se_cl_ev;	/* events armed, 0: none */
	uint32_t		 se_be_ev;
	uint32_t		 se_cl_rev;	/* events seen this round */
	uint32_t		 se_be_rev;
	int			 se_ready;	/* on the loop's ready list */
	int			 se_bulk;	/* moved a buffer in a turn */
	uint64_t		 se_last_ms;	/* for --idle-timeout */
};

#define WAIT_READ	1
#define WAIT_WRITE	2

/* certs.c */
int	 certs_init(const struct config *, SSL_CTX *, char *, size_t);
void	 certs_reload(void *);
SSL	*certs_new_ssl(SSL_CTX *);
int	 certs_count(void);

/* tlsctx.c */
SSL_CTX	*tlsctx_new(const struct config *, char *, size_t);

/* main.c */
void	 session_fail(struct session *, enum log_reason, const char *, ...)
	    PRINTFLIKE(3, 4);
void	 session_end(struct session *, enum log_reason);

/* tlsio.c */
int	 tlsio_handshake(struct session *);
int	 tlsio_refuse(struct session *, int, const char *, const char *);
void	 tlsio_close_notify(struct session *);
void	 tlsio_linger(struct conn *, int);
int	 tlsio_relay(struct session *);
int	 tlsio_steps(struct session *);
int	 tlsio_bulk(struct session *);
int	 tlsio_events(const struct session *, int);
void	 tlsio_wake(struct session *, int, int, int);
uint64_t tlsio_head_deadline(const struct session *);
int	 tlsio_head_timeout(struct session *, uint64_t);

/* loop.c */
int	 loop_add(struct session *);

/* forwarded.c */
struct fwd *fwd_new(const struct conn *, const char *);
void	 fwd_free(struct fwd *);
ssize_t	 fwd_run(struct fwd *, const char *, size_t, char *, size_t,
	    size_t *);
int	 fwd_status(const struct fwd *);
int	 fwd_pending(const struct fwd *);
size_t	 fwd_answer(const struct fwd *, char *, size_t);
void	 fwd_response(struct fwd *, const char *, size_t);
uint64_t fwd_head_since(const struct fwd *);
void	 fwd_timeout(struct fwd *);
unsigned long fwd_requests(const struct fwd *);

#endif
