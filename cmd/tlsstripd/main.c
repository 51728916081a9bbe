/*
 * tlsstripd - TLS termination in front of a plain server or a program.
 *
 * Per connection (in its own thread, serve.c): the TLS handshake within
 * --header-timeout, then a connection to -c HOST:PORT or the program
 * after "--" (with the UCSPI and SSL_* variables), a PROXY header or
 * rewritten request heads if asked for, and the relay (tlsio.c; for -c,
 * in a shared event loop, loop.c) until both directions are done.  Each
 * session ends in session_end(), with the reason its first cause
 * recorded (session_fail()): one access line per connection, after a
 * line saying what happened when something did, also for the ones that
 * fail their handshake: there is no HTTP to answer those with.
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "net.h"
#include "opts.h"
#include "proxyhdr.h"
#include "serve.h"
#include "spawnprog.h"
#include "tlsstripd.h"

#define DEFAULT_ADDR	"127.0.0.1:8443"
#define REAP_WAIT_MS	2000	/* a program gets this long to exit */
#define ENV_MAX		5

enum {
	OPT_CERT = OPT_PROGRAM_BASE,
	OPT_CERT_DIR,
	OPT_CLIENT_CA,
	OPT_FORWARDED,
	OPT_KEY,
	OPT_OCSP,
	OPT_PROXY_PROTOCOL
};

static const struct option longopts[] = {
	{ "cert",		required_argument, NULL, OPT_CERT },
	{ "cert-dir",		required_argument, NULL, OPT_CERT_DIR },
	{ "client-ca",		required_argument, NULL, OPT_CLIENT_CA },
	{ "forwarded",		no_argument,	   NULL, OPT_FORWARDED },
	{ "key",		required_argument, NULL, OPT_KEY },
	{ "ocsp",		required_argument, NULL, OPT_OCSP },
	{ "proxy-protocol",	required_argument, NULL, OPT_PROXY_PROTOCOL },
	GTR_COMMON_LONGOPTS
};

static SSL_CTX *ctx;

static void	 usage(void) __attribute__((noreturn));
static void	 help(void);
static void	 handle(struct conn *, void *);
static void	 session_info(struct session *);
static int	 open_upstream(struct session *, enum net_error *);
static void	 proxy_tls_facts(const struct session *, struct proxy_tls *,
		    char *, size_t, char *, size_t);
static int	 proxy_header(struct session *);
static void	 set_nonblock(int);
static void	 set_nodelay(int);
static void	 access_line(const struct session *);
static void	 detail_line(const struct session *);
static void	 cert_file(struct config *, const char *);
static void	 parse_args(struct config *, int, char *[]);

static void
usage(void)
{
	fprintf(stderr, "usage: tlsstripd [-hqVv] [--cert file [--key file] "
	    "[--ocsp file]] [--cert-dir dir]\n"
	    "              [--client-ca file] "
	    "[--forwarded | --proxy-protocol v1|v2]\n"
	    "              [-c host:port] [-l address] [-u user] "
	    "[common options]\n"
	    "              [-- program [arg ...]]\n");
	exit(EXIT_USAGE);
}

static void
help(void)
{
	printf("usage: tlsstripd [options] (--cert FILE | --cert-dir DIR) "
	    "(-c HOST:PORT | -- program [arg ...])\n"
	    "TLS termination: TLS from clients, plaintext to a server or "
	    "a program.\n\n"
	    "      --cert FILE          PEM certificate and chain (and key); "
	    "repeatable, picked\n"
	    "                           by SNI, the first is the default\n"
	    "      --key FILE           the key of the --cert before it "
	    "(default: in that file)\n"
	    "      --ocsp FILE          staple this DER OCSP response for the "
	    "--cert before it\n"
	    "                           (none; re-read on SIGHUP)\n"
	    "      --cert-dir DIR       every DIR/*.pem as another --cert "
	    "(none; at least\n"
	    "                           one --cert or --cert-dir is needed)\n"
	    "      --client-ca FILE     require client certificates from "
	    "these CAs (none)\n"
	    "      --forwarded          add Forwarded, X-Forwarded-For, "
	    "X-Forwarded-Proto to\n"
	    "                           every request head (off)\n"
	    "      --proxy-protocol V   send a PROXY v1 or v2 header to "
	    "the backend (off)\n"
	    "  -c, --connect HOST:PORT  send plaintext to this server (or "
	    "unix:PATH)\n"
	    "  -- program [arg ...]     run the program per connection "
	    "instead\n"
	    "      --header-timeout S   deadline for the TLS handshake and, "
	    "with --forwarded,\n"
	    "                           for each request head (15)\n");
	fputs(opts_help(OPTS_HEADER_TIMEOUT), stdout);
}

/* Fills in SNI, the verified client subject; for logs and the backend. */
static void
session_info(struct session *se)
{
	const char *sni;
	char *p;
	X509 *peer;
	BIO *b;
	int n;

	se->se_proto = SSL_get_version(se->se_ssl);
	se->se_cipher = SSL_get_cipher_name(se->se_ssl);
	sni = SSL_get_servername(se->se_ssl, TLSEXT_NAMETYPE_host_name);
	snprintf(se->se_sni, sizeof(se->se_sni), "%s", sni != NULL ? sni : "");
	/* The client chose these bytes: nothing odd reaches a log line. */
	for (p = se->se_sni; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr(".-_*", *p) == NULL)
			*p = '?';
	se->se_subject[0] = '\0';
	if ((peer = SSL_get0_peer_certificate(se->se_ssl)) == NULL ||
	    SSL_get_verify_result(se->se_ssl) != X509_V_OK ||
	    (b = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(b, X509_get_subject_name(peer), 0,
	    XN_FLAG_RFC2253) >= 0 && (n = BIO_read(b, se->se_subject,
	    sizeof(se->se_subject) - 1)) > 0)
		se->se_subject[n] = '\0';
	BIO_free(b);
}

/*
 * Connects to -c or starts the program.  Returns 0 with se_up set, or
 * -1 with the reason and *err set.
 */
static int
open_upstream(struct session *se, enum net_error *err)
{
	const struct config *cf = se->se_cf;
	const struct net_addr *fx = &cf->cf_opts.connect_addr;
	char env[ENV_MAX][SUBJECT_MAX + 32], *envp[ENV_MAX + 1];
	int i, on = 1;

	*err = NET_OK;

	if (cf->cf_argv != NULL) {
		snprintf(se->se_upstream, sizeof(se->se_upstream), "program");
		snprintf(env[0], sizeof(env[0]), "SSL_PROTOCOL=%s",
		    se->se_proto);
		snprintf(env[1], sizeof(env[1]), "SSL_CIPHER=%s",
		    se->se_cipher);
		snprintf(env[2], sizeof(env[2]), "SSL_TLS_SNI=%s", se->se_sni);
		snprintf(env[3], sizeof(env[3]), "SSL_CLIENT_S_DN=%s",
		    se->se_subject);
		snprintf(env[4], sizeof(env[4]), "SSL_CLIENT_VERIFY=%s",
		    se->se_subject[0] != '\0' ? "SUCCESS" : "NONE");
		for (i = 0; i < ENV_MAX; i++)
			envp[i] = env[i];
		envp[ENV_MAX] = NULL;
		se->se_up = spawn_program(cf->cf_argv, se->se_conn, envp,
		    &se->se_pid);
		if (se->se_up == -1) {
			*err = NET_SYSTEM;
			session_fail(se, REASON_UPSTREAM_ERROR,
			    "unable to run %s", cf->cf_argv[0]);
			return -1;
		}
		return 0;
	}
	if (fx->is_unix) {
		snprintf(se->se_upstream, sizeof(se->se_upstream), "unix");
		se->se_up = net_connect_unix(fx->path, err);
	} else
		se->se_up = net_connect(fx->host, fx->port, NULL,
		    serve_is_own_addr, cf->cf_opts.connect_timeout * 1000,
		    err, se->se_upstream);
	if (se->se_up == -1) {
		session_fail(se, *err == NET_TIMEOUT ? REASON_UPSTREAM_TIMEOUT :
		    REASON_UPSTREAM_ERROR, "unable to connect to %s: %s",
		    cf->cf_opts.connect_name, net_strerror(*err));
		return -1;
	}
	set_nodelay(se->se_up);
	/* An urgent byte read out of band would be lost: keep it in line. */
	(void)setsockopt(se->se_up, SOL_SOCKET, SO_OOBINLINE, &on,
	    sizeof(on));
	return 0;
}

/*
 * Fills pt with what the handshake said, as haproxy's send-proxy-v2-ssl
 * words it: the algorithms of the certificate we presented ("RSA-SHA256",
 * "RSA2048"), the verified client certificate's CN into cn.  verify is
 * non-zero unless a certificate was verified, as the spec asks: a reader
 * that looks only at it must not take a client without one as verified.
 */
static void
proxy_tls_facts(const struct session *se, struct proxy_tls *pt, char *cn,
    size_t cnlen, char *keyalg, size_t keylen)
{
	X509 *own, *peer;
	X509_NAME *name;
	EVP_PKEY *pk;
	unsigned char *u8;
	const unsigned char *alpn;
	unsigned int alen;
	int i, n, id;

	memset(pt, 0, sizeof(*pt));
	SSL_get0_alpn_selected(se->se_ssl, &alpn, &alen);
	pt->pt_alpn = alpn;
	pt->pt_alpn_len = alen;
	pt->pt_authority = se->se_sni;
	pt->pt_version = se->se_proto;
	pt->pt_cipher = se->se_cipher;
	pt->pt_client = PP2_CLIENT_SSL;
	pt->pt_verify = PP2_VERIFY_NONE;
	keyalg[0] = '\0';
	if ((own = SSL_get_certificate(se->se_ssl)) != NULL) {
		if ((id = X509_get_signature_nid(own)) != NID_undef)
			pt->pt_sig_alg = OBJ_nid2sn(id);
		if ((pk = X509_get0_pubkey(own)) != NULL) {
			id = EVP_PKEY_get_base_id(pk);
			if (id == EVP_PKEY_RSA || id == EVP_PKEY_EC ||
			    id == EVP_PKEY_DSA)
				snprintf(keyalg, keylen, "%s%d", id ==
				    EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_EC ?
				    "EC" : "DSA", EVP_PKEY_get_bits(pk));
			else if (id != NID_undef)
				snprintf(keyalg, keylen, "%s", OBJ_nid2sn(id));
			pt->pt_key_alg = keyalg;
		}
	}
	cn[0] = '\0';
	/* se_subject is set only for a verified certificate. */
	if (se->se_subject[0] == '\0' ||
	    (peer = SSL_get0_peer_certificate(se->se_ssl)) == NULL)
		return;
	pt->pt_client |= PP2_CLIENT_CERT_SESS;
	if (!SSL_session_reused(se->se_ssl))
		pt->pt_client |= PP2_CLIENT_CERT_CONN;
	pt->pt_verify = (uint32_t)SSL_get_verify_result(se->se_ssl);
	name = X509_get_subject_name(peer);
	if ((i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) >= 0 &&
	    (n = ASN1_STRING_to_UTF8(&u8, X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(name, i)))) >= 0) {
		snprintf(cn, cnlen, "%.*s", n, u8);
		OPENSSL_free(u8);
	}
	pt->pt_cn = cn;
}

/* Puts the PROXY header first in the backend's buffer; 0 or -1. */
static int
proxy_header(struct session *se)
{
	struct conn *c = se->se_conn;
	struct proxy_tls pt;
	char cn[SUBJECT_MAX], keyalg[32];
	int n;

	proxy_tls_facts(se, &pt, cn, sizeof(cn), keyalg, sizeof(keyalg));
	n = proxy_format(se->se_cf->cf_proxy_protocol,
	    (struct sockaddr *)&c->c_peer, (struct sockaddr *)&c->c_local,
	    &pt, se->se_ubuf, RELAY_BUF);
	if (n < 0) {
		session_fail(se, REASON_INTERNAL_ERROR,
		    "unable to format the PROXY header");
		return -1;
	}
	se->se_uend = n;
	return 0;
}

static void
set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Small responses must not wait for Nagle's delayed ACK. */
static void
set_nodelay(int fd)
{
	int on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/*
 * The connection's one access line, a health check's only with -v.
 * Per connection, not per request: no method or target; status is an
 * answer tlsstripd made itself ("-" when the backend's answers are all
 * the client got); user the verified client certificate's subject.
 */
static void
access_line(const struct session *se)
{
	const struct conn *c = se->se_conn;
	const struct net_addr *fx = &se->se_cf->cf_opts.connect_addr;
	struct access_line al;
	/* A 255-byte SNI and the other keys of tlsstripd's own. */
	char extra[LOG_VALUE_MAX(NET_HOSTLEN) + 160];
	char sni[LOG_VALUE_MAX(NET_HOSTLEN)], reqs[32] = "-";
	char up[sizeof(fx->path) + 8];

	memset(&al, 0, sizeof(al));
	al.al_status = se->se_status;
	al.al_user = se->se_subject;
	/* ADDR:PORT as the client's; the program or the unix socket. */
	if (se->se_upstream[0] == '\0' || se->se_cf->cf_argv != NULL)
		snprintf(up, sizeof(up), "%s", se->se_upstream);
	else if (fx->is_unix)
		snprintf(up, sizeof(up), "unix:%s", fx->path);
	else
		snprintf(up, sizeof(up), strchr(se->se_upstream, ':') != NULL ?
		    "[%s]:%s" : "%s:%s", se->se_upstream, fx->port);
	al.al_upstream = up;
	al.al_bytes_in = se->se_in;
	al.al_bytes_out = se->se_out;
	al.al_ms = now_ms() - c->c_start_ms;
	al.al_reason = se->se_why;
	/* The same keys on every line: requests= is - without --forwarded. */
	if (se->se_fwd != NULL)
		snprintf(reqs, sizeof(reqs), "%lu", fwd_requests(se->se_fwd));
	snprintf(extra, sizeof(extra), " sni=%s protocol=%s cipher=%s "
	    "resumed=%s requests=%s", se->se_sni[0] != '\0' ?
	    log_value(se->se_sni, sni, sizeof(sni)) : "-",
	    se->se_proto != NULL ? se->se_proto : "-",
	    se->se_cipher != NULL ? se->se_cipher : "-",
	    se->se_ssl != NULL && SSL_session_reused(se->se_ssl) ? "yes" : "no",
	    reqs);
	al.al_extra = extra;
	conn_access(c, &al, se->se_quiet);
}

/*
 * Says what ended the session, before its access line: a warning when
 * the backend or tlsstripd failed, as the operator must act on those.
 */
static void
detail_line(const struct session *se)
{
	unsigned long id = se->se_conn->c_id;

	if (se->se_detail[0] == '\0')
		return;
	if (se->se_quiet)
		log_debug("conn=%lu: %s", id, se->se_detail);
	else if (se->se_why == REASON_UPSTREAM_ERROR ||
	    se->se_why == REASON_UPSTREAM_TIMEOUT ||
	    se->se_why == REASON_INTERNAL_ERROR)
		log_warnx("conn=%lu: %s", id, se->se_detail);
	else
		log_info("conn=%lu: %s", id, se->se_detail);
}

/*
 * Records why the session ends, and what happened for the line before
 * its access line (fmt NULL: nothing to say), unless a cause was
 * recorded already: the first one is the reason.
 */
void
session_fail(struct session *se, enum log_reason why, const char *fmt, ...)
{
	va_list ap;

	if (se->se_ended)
		return;
	se->se_ended = 1;
	se->se_why = why;
	se->se_detail[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(se->se_detail, sizeof(se->se_detail), fmt, ap);
		va_end(ap);
	}
}

/*
 * Ends the session, for why unless an earlier cause was recorded: logs
 * its lines and frees it, closing the backend.  Every session ends
 * here, wherever it ran.
 */
void
session_end(struct session *se, enum log_reason why)
{
	session_fail(se, why, NULL);
	/* Unread input would make the close a reset, lost answer and all. */
	if (se->se_answered)
		tlsio_linger(se->se_conn, 0);
	detail_line(se);
	access_line(se);
	SSL_free(se->se_ssl);
	if (se->se_up != -1) {
		/* serve.c must not shut an fd that is about to be reused. */
		conn_set_upstream(se->se_conn, -1);
		close(se->se_up);
	}
	/* It has its EOF: most exit at once, and the others are told to. */
	if (se->se_pid > 0)
		spawn_reap_later_term(se->se_pid, se->se_conn->c_id,
		    REAP_WAIT_MS);
	if (se->se_fwd != NULL)
		fwd_free(se->se_fwd);
	free(se->se_ubuf);
	free(se->se_dbuf);
	free(se->se_rbuf);
	free(se);
}

/*
 * Serves one client connection from handshake to access line, or
 * until a shared loop takes it over (tlsio_relay()).
 */
static void
handle(struct conn *c, void *arg)
{
	struct session *se;
	enum net_error err;
	char detail[128];

	if ((se = calloc(1, sizeof(*se))) == NULL) {
		log_warn("conn=%lu: unable to allocate a session", c->c_id);
		return;
	}
	se->se_conn = c;
	se->se_cf = arg;
	se->se_up = -1;
	se->se_pid = -1;
	set_nonblock(c->c_rfd);
	set_nonblock(c->c_wfd);
	if (c->c_is_socket)
		set_nodelay(c->c_rfd);
	if ((se->se_ssl = certs_new_ssl(ctx)) == NULL ||
	    !SSL_set_rfd(se->se_ssl, c->c_rfd) ||
	    !SSL_set_wfd(se->se_ssl, c->c_wfd)) {
		session_fail(se, REASON_INTERNAL_ERROR, "unable to set up TLS");
		goto done;
	}
	if (tlsio_handshake(se) == -1)
		goto done;
	session_info(se);
	if ((se->se_ubuf = malloc(RELAY_BUF)) == NULL ||
	    (se->se_dbuf = malloc(RELAY_BUF)) == NULL ||
	    (se->se_cf->cf_forwarded && ((se->se_rbuf = malloc(RAW_BUF)) ==
	    NULL || (se->se_fwd = fwd_new(c, se->se_subject)) == NULL))) {
		session_fail(se, REASON_INTERNAL_ERROR, "out of memory");
		goto done;
	}
	if (open_upstream(se, &err) == -1) {
		/* Only with --forwarded do we know there is HTTP to answer. */
		if (se->se_fwd != NULL) {
			if (se->se_cf->cf_argv != NULL)
				snprintf(detail, sizeof(detail), "unable to "
				    "start the backend program");
			else
				snprintf(detail, sizeof(detail), "unable to "
				    "connect to the backend: %s",
				    net_strerror(err));
			(void)tlsio_refuse(se, net_http_status(err),
			    net_proxy_status(err), detail);
		} else
			tlsio_close_notify(se);
		goto done;
	}
	/* Shut with the client's at the end of --grace: the relay wakes. */
	conn_set_upstream(c, se->se_up);
	if (se->se_cf->cf_proxy_protocol != 0 && proxy_header(se) == -1)
		goto done;
	if (tlsio_relay(se) == 1)
		goto handed;
done:
	/* Each way here recorded its reason; one that did not is a bug. */
	session_end(se, REASON_INTERNAL_ERROR);
handed:
	/*
	 * OpenSSL's per-thread state (error queue, random generators) would
	 * otherwise stay with a pooled thread until it exits, or forever if
	 * the process exits first.
	 */
	OPENSSL_thread_stop();
}

/*
 * Takes optarg as the --key or --ocsp FILE (opt names which) of the
 * --cert before it; exits 64 if there is none, or it has one.
 */
static void
cert_file(struct config *cf, const char *opt)
{
	struct cert_src *cs = cf->cf_ncerts > 0 ?
	    &cf->cf_certs[cf->cf_ncerts - 1] : NULL;
	const char **slot = NULL;

	if (cs != NULL)
		slot = strcmp(opt, "--key") == 0 ? &cs->cs_key : &cs->cs_ocsp;
	if (slot == NULL || *slot != NULL)
		fatalx(EXIT_USAGE, "%s %s: each %s follows its own --cert",
		    opt, optarg, opt);
	*slot = optarg;
}

/*
 * Reads the options into cf; exits 64 on a usage error, 78 when the
 * program after "--" cannot be run.
 */
static void
parse_args(struct config *cf, int argc, char *argv[])
{
	char err[PATH_MAX + 256], path[PATH_MAX];
	int ch;

	while ((ch = opts_next(&cf->cf_opts, argc, argv, longopts,
	    help)) != -1) {
		switch (ch) {
		case OPT_CERT:
			if (cf->cf_ncerts == CERTS_MAX)
				fatalx(EXIT_USAGE, "--cert: at most %d",
				    CERTS_MAX);
			cf->cf_certs[cf->cf_ncerts++].cs_cert = optarg;
			break;
		case OPT_CERT_DIR:
			cf->cf_cert_dir = optarg;
			break;
		case OPT_CLIENT_CA:
			cf->cf_client_ca = optarg;
			break;
		case OPT_FORWARDED:
			cf->cf_forwarded = 1;
			break;
		case OPT_KEY:
		case OPT_OCSP:
			cert_file(cf, ch == OPT_KEY ? "--key" : "--ocsp");
			break;
		case OPT_PROXY_PROTOCOL:
			if (strcmp(optarg, "v1") == 0)
				cf->cf_proxy_protocol = 1;
			else if (strcmp(optarg, "v2") == 0)
				cf->cf_proxy_protocol = 2;
			else
				fatalx(EXIT_USAGE, "--proxy-protocol: \"%s\" "
				    "is neither v1 nor v2", optarg);
			break;
		default:
			usage();
		}
	}
	cf->cf_argv = opts_program(argc, argv);
	if (cf->cf_opts.exit_code >= 0)
		exit(cf->cf_opts.exit_code);
	if (cf->cf_ncerts == 0 && cf->cf_cert_dir == NULL)
		fatalx(EXIT_USAGE, "no certificate: give --cert FILE or "
		    "--cert-dir DIR");
	if ((cf->cf_opts.connect == NULL) == (cf->cf_argv == NULL))
		fatalx(EXIT_USAGE, "give either -c HOST:PORT or a program "
		    "after --");
	if (cf->cf_forwarded && cf->cf_proxy_protocol != 0)
		fatalx(EXIT_USAGE, "--forwarded and --proxy-protocol exclude "
		    "each other");
	if (opts_connect_hostport(&cf->cf_opts, err, sizeof(err)) == -1)
		fatalx(EXIT_USAGE, "%s", err);
	if (cf->cf_argv != NULL && spawn_check(cf->cf_argv[0], path,
	    sizeof(path), err, sizeof(err)) == -1)
		fatalx(EXIT_CONFIG, "%s", err);
}

int
main(int argc, char *argv[])
{
	static struct config cf;
	char err[512];
	int rc;

	log_init(argv[0], LOG_NORMAL);
	opts_init(&cf.cf_opts, NULL, OPTS_CONNECT | OPTS_CONNECT_TIMEOUT);
	parse_args(&cf, argc, argv);
	log_init(argv[0], cf.cf_opts.verbosity);
	if ((ctx = tlsctx_new(&cf, err, sizeof(err))) == NULL ||
	    certs_init(&cf, ctx, err, sizeof(err)) == -1)
		fatalx(EXIT_CONFIG, "%s", err);
	log_debug("%d certificate%s loaded", certs_count(),
	    certs_count() == 1 ? "" : "s");
	serve_on_hup(certs_reload, NULL);
	serve_client_speaks_first();	/* the ClientHello */
	rc = serve_main(&cf.cf_opts, DEFAULT_ADDR, handle, &cf);
	/* The programs' statuses are logged before tlsstripd exits. */
	spawn_reap_finish(REAP_WAIT_MS);
	return rc;
}
