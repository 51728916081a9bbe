/*
 * certs.c - the certificates: loading, choosing one by SNI, reloading.
 *
 * The certificates in use, and the --client-ca CAs, form one set,
 * swapped whole on SIGHUP.  A connection holds a reference to the set
 * it started with (released when its SSL is freed), so a reload never
 * changes a handshake under way and never frees what an open
 * connection points to.  The SSL_CTX itself (protocols, session cache,
 * ticket keys) lives for the whole run: sessions survive a reload,
 * except with --client-ca, where each set has a session context of its
 * own: a client certificate verified against CAs since removed must
 * not come back in a resumed session.  The certificate is picked per
 * handshake in the cert callback, which OpenSSL calls once the
 * ClientHello (and its server name) is known, before the cipher choice.
 */
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tlsstripd.h"

struct cert {
	X509		*ce_leaf;
	STACK_OF(X509)	*ce_chain;
	EVP_PKEY	*ce_key;
	unsigned char	*ce_ocsp;	/* DER OCSP response, or NULL */
	long		 ce_ocsplen;
};

struct certset {
	atomic_int	 cs_refs;
	int		 cs_n;
	struct cert	*cs_certs;
	X509_STORE	*cs_ca;		/* --client-ca, or NULL */
	STACK_OF(X509_NAME) *cs_ca_names;
	char		 cs_sid[32];	/* the session context with cs_ca */
};

static const struct config *certs_cf;
static pthread_mutex_t certs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct certset *certs_cur;
static int certs_idx = -1;
static unsigned certs_gen;	/* sets built, for their session contexts */

static const char *ssl_errstr(void);
static int	 cert_load(const char *, const char *, struct cert *, char *,
		    size_t);
static void	 cert_check_dates(const char *, X509 *);
static int	 ocsp_load(const char *, struct cert *, char *, size_t);
static void	 cert_free(struct cert *);
static int	 set_add(struct certset *, const struct cert_src *, char *,
		    size_t);
static int	 set_add_dir(struct certset *, const char *, char *, size_t);
static int	 pem_name(const struct dirent *);
static int	 ca_load(struct certset *, const char *, char *, size_t);
static int	 ssl_use_ca(SSL *, const struct certset *);
static struct certset *set_build(const struct config *, char *, size_t);
static void	 set_release(struct certset *);
static struct certset *set_acquire(void);
static const struct cert *set_pick(const struct certset *, const char *);
static int	 cert_cb(SSL *, void *);
static int	 status_cb(SSL *, void *);
static void	 ex_free(void *, void *, CRYPTO_EX_DATA *, int, long, void *);

/* Returns the reason of the last OpenSSL error, and clears the queue. */
static const char *
ssl_errstr(void)
{
	unsigned long e;
	const char *s;

	e = ERR_peek_last_error();
	s = e != 0 ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return s != NULL ? s : "unknown error";
}

/*
 * Reads the leaf, its chain and the key (from keyfile, or else from the
 * same file).  Returns 0, or -1 with err naming the file.
 */
static int
cert_load(const char *file, const char *keyfile, struct cert *ce, char *err,
    size_t errlen)
{
	BIO *b;
	X509 *x;

	memset(ce, 0, sizeof(*ce));
	ERR_clear_error();
	errno = 0;
	if ((b = BIO_new_file(file, "r")) == NULL) {
		snprintf(err, errlen, "unable to read certificate %s: %s",
		    file, errno != 0 ? strerror(errno) : ssl_errstr());
		return -1;
	}
	if ((ce->ce_leaf = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		snprintf(err, errlen, "unable to read certificate %s: no "
		    "PEM certificate in it", file);
		goto fail;
	}
	if ((ce->ce_chain = sk_X509_new_null()) == NULL)
		goto nomem;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(ce->ce_chain, x)) {
			X509_free(x);
			goto nomem;
		}
	ERR_clear_error();	/* the end of the file is no error */
	if (keyfile != NULL) {
		BIO_free(b);
		errno = 0;
		if ((b = BIO_new_file(keyfile, "r")) == NULL) {
			snprintf(err, errlen, "unable to read key %s: %s",
			    keyfile, errno != 0 ? strerror(errno) :
			    ssl_errstr());
			goto fail;
		}
	} else
		(void)BIO_seek(b, 0);
	if ((ce->ce_key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) ==
	    NULL) {
		snprintf(err, errlen, "unable to read key %s: no PEM "
		    "private key in it", keyfile != NULL ? keyfile : file);
		goto fail;
	}
	if (!X509_check_private_key(ce->ce_leaf, ce->ce_key)) {
		snprintf(err, errlen, "key %s does not match certificate %s",
		    keyfile != NULL ? keyfile : file, file);
		goto fail;
	}
	BIO_free(b);
	cert_check_dates(file, ce->ce_leaf);
	return 0;
nomem:
	snprintf(err, errlen, "unable to load %s: out of memory", file);
fail:
	BIO_free(b);
	cert_free(ce);
	ERR_clear_error();
	return -1;
}

/*
 * Reads the DER OCSP response to staple for the certificate; an outside
 * tool keeps it fresh.  Returns 0, or -1 with err naming the file.
 */
static int
ocsp_load(const char *file, struct cert *ce, char *err, size_t errlen)
{
	const unsigned char *p;
	OCSP_RESPONSE *r;
	unsigned char *buf;
	FILE *f;
	size_t n;

	if ((f = fopen(file, "rb")) == NULL) {
		snprintf(err, errlen, "unable to read OCSP response %s: %s",
		    file, strerror(errno));
		return -1;
	}
	if ((buf = malloc(OCSP_MAX)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "unable to read %s: out of memory", file);
		return -1;
	}
	n = fread(buf, 1, OCSP_MAX, f);
	fclose(f);
	p = buf;
	/* Staple only what parses: a broken one would fail every client. */
	if (n == 0 || n == OCSP_MAX ||
	    (r = d2i_OCSP_RESPONSE(NULL, &p, (long)n)) == NULL) {
		snprintf(err, errlen, "unable to read OCSP response %s: not "
		    "a DER OCSP response", file);
		free(buf);
		ERR_clear_error();
		return -1;
	}
	OCSP_RESPONSE_free(r);
	ce->ce_ocsp = buf;
	ce->ce_ocsplen = (long)n;
	return 0;
}

/* Frees what cert_load() and ocsp_load() read. */
static void
cert_free(struct cert *ce)
{
	X509_free(ce->ce_leaf);
	sk_X509_pop_free(ce->ce_chain, X509_free);
	EVP_PKEY_free(ce->ce_key);
	free(ce->ce_ocsp);
	memset(ce, 0, sizeof(*ce));
}

/* Warns about a certificate clients will refuse: expired or not yet valid. */
static void
cert_check_dates(const char *file, X509 *x)
{
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		log_warnx("certificate %s has expired: clients will refuse "
		    "it", file);
	else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
		log_warnx("certificate %s is not valid yet", file);
}

/* Adds one certificate (and key, OCSP response) to the set; 0 or -1. */
static int
set_add(struct certset *set, const struct cert_src *src, char *err,
    size_t errlen)
{
	struct cert *n;

	n = reallocarray(set->cs_certs, set->cs_n + 1, sizeof(*n));
	if (n == NULL) {
		snprintf(err, errlen, "unable to load %s: out of memory",
		    src->cs_cert);
		return -1;
	}
	set->cs_certs = n;
	if (cert_load(src->cs_cert, src->cs_key, &n[set->cs_n], err,
	    errlen) == -1)
		return -1;
	if (src->cs_ocsp != NULL && ocsp_load(src->cs_ocsp, &n[set->cs_n],
	    err, errlen) == -1) {
		cert_free(&n[set->cs_n]);
		return -1;
	}
	set->cs_n++;
	return 0;
}

/* scandir() filter: names ending in ".pem", no hidden files. */
static int
pem_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 &&
	    strcmp(d->d_name + n - 4, ".pem") == 0;
}

/* Adds every .pem file of dir in name order; 0 or -1 (err). */
static int
set_add_dir(struct certset *set, const char *dir, char *err, size_t errlen)
{
	struct dirent **names;
	struct cert_src src;
	char path[4096];
	int i, n, rc = 0;

	if ((n = scandir(dir, &names, pem_name, alphasort)) == -1) {
		snprintf(err, errlen, "unable to read directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir,
			    names[i]->d_name);
			memset(&src, 0, sizeof(src));
			src.cs_cert = path;
			rc = set_add(set, &src, err, errlen);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/*
 * Reads the client CAs in file into the set: the store to verify with
 * and the names to ask for.  Returns 0, or -1 with err set.
 */
static int
ca_load(struct certset *set, const char *file, char *err, size_t errlen)
{
	FILE *f;

	/* Name the file and the errno: OpenSSL's reason would not. */
	if ((f = fopen(file, "r")) == NULL) {
		snprintf(err, errlen, "unable to read client CA %s: %s", file,
		    strerror(errno));
		return -1;
	}
	fclose(f);
	ERR_clear_error();
	if ((set->cs_ca = X509_STORE_new()) == NULL ||
	    !X509_STORE_load_file(set->cs_ca, file) ||
	    (set->cs_ca_names = SSL_load_client_CA_file(file)) == NULL) {
		snprintf(err, errlen, "unable to read client CA %s: no PEM "
		    "certificate in it", file);
		ERR_clear_error();
		return -1;
	}
	/* Sessions made with other CAs are not resumed (see the top). */
	snprintf(set->cs_sid, sizeof(set->cs_sid), "tlsstripd-ca-%u",
	    __atomic_add_fetch(&certs_gen, 1, __ATOMIC_RELAXED));
	return 0;
}

/*
 * Makes the SSL verify client certificates with the set's CAs, and
 * resume only sessions made with them.  Returns 1, or 0 on an error.
 */
static int
ssl_use_ca(SSL *ssl, const struct certset *set)
{
	STACK_OF(X509_NAME) *names;

	if (set->cs_ca == NULL)
		return 1;
	if ((names = SSL_dup_CA_list(set->cs_ca_names)) == NULL)
		return 0;
	SSL_set_client_CA_list(ssl, names);
	return SSL_set1_verify_cert_store(ssl, set->cs_ca) &&
	    SSL_set_session_id_context(ssl,
	    (const unsigned char *)set->cs_sid, strlen(set->cs_sid));
}

/* Returns a new set (one reference) from the configuration, or NULL. */
static struct certset *
set_build(const struct config *cf, char *err, size_t errlen)
{
	struct certset *set;
	int i, rc = 0;

	if ((set = calloc(1, sizeof(*set))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&set->cs_refs, 1);
	for (i = 0; rc == 0 && i < cf->cf_ncerts; i++)
		rc = set_add(set, &cf->cf_certs[i], err, errlen);
	if (rc == 0 && cf->cf_cert_dir != NULL)
		rc = set_add_dir(set, cf->cf_cert_dir, err, errlen);
	if (rc == 0 && set->cs_n == 0) {
		snprintf(err, errlen, "no certificate in %s", cf->cf_cert_dir);
		rc = -1;
	}
	if (rc == 0 && cf->cf_client_ca != NULL)
		rc = ca_load(set, cf->cf_client_ca, err, errlen);
	if (rc == -1) {
		set_release(set);
		return NULL;
	}
	return set;
}

/* Drops a reference; the last one frees the set. */
static void
set_release(struct certset *set)
{
	int i;

	if (set == NULL || atomic_fetch_sub(&set->cs_refs, 1) != 1)
		return;
	for (i = 0; i < set->cs_n; i++)
		cert_free(&set->cs_certs[i]);
	free(set->cs_certs);
	X509_STORE_free(set->cs_ca);
	sk_X509_NAME_pop_free(set->cs_ca_names, X509_NAME_free);
	free(set);
}

/* Returns the current set with a reference taken for the caller. */
static struct certset *
set_acquire(void)
{
	struct certset *set;

	pthread_mutex_lock(&certs_mu);
	set = certs_cur;
	atomic_fetch_add(&set->cs_refs, 1);
	pthread_mutex_unlock(&certs_mu);
	return set;
}

/*
 * Returns the certificate for the server name: an exact name first,
 * then a wildcard one (RFC 6125: "*" as the whole left-most label), else
 * the first certificate.
 */
static const struct cert *
set_pick(const struct certset *set, const char *name)
{
	int i;

	if (name == NULL || set->cs_n == 1)
		return &set->cs_certs[0];
	for (i = 0; i < set->cs_n; i++)
		if (X509_check_host(set->cs_certs[i].ce_leaf, name, 0,
		    X509_CHECK_FLAG_NO_WILDCARDS, NULL) == 1)
			return &set->cs_certs[i];
	for (i = 0; i < set->cs_n; i++)
		if (X509_check_host(set->cs_certs[i].ce_leaf, name, 0,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1)
			return &set->cs_certs[i];
	return &set->cs_certs[0];
}

/* OpenSSL's cert callback: 1 with the certificate set, 0 to fail. */
static int
cert_cb(SSL *ssl, void *arg)
{
	const struct certset *set;
	const struct cert *ce;

	(void)arg;
	if ((set = SSL_get_ex_data(ssl, certs_idx)) == NULL)
		return 0;
	ce = set_pick(set, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
	return SSL_use_cert_and_key(ssl, ce->ce_leaf, ce->ce_key,
	    ce->ce_chain, 1) == 1;
}

/*
 * OpenSSL's status callback, for a client that asks for OCSP: staples
 * the response of the certificate cert_cb() chose.  Returns
 * SSL_TLSEXT_ERR_OK, or SSL_TLSEXT_ERR_NOACK when there is none.
 */
static int
status_cb(SSL *ssl, void *arg)
{
	const struct certset *set;
	unsigned char *copy;
	X509 *leaf;
	int i;

	(void)arg;
	if ((set = SSL_get_ex_data(ssl, certs_idx)) == NULL ||
	    (leaf = SSL_get_certificate(ssl)) == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	for (i = 0; i < set->cs_n; i++) {
		if (set->cs_certs[i].ce_leaf != leaf ||
		    set->cs_certs[i].ce_ocsp == NULL)
			continue;
		/* OpenSSL frees what it is given. */
		if ((copy = OPENSSL_memdup(set->cs_certs[i].ce_ocsp,
		    set->cs_certs[i].ce_ocsplen)) == NULL)
			return SSL_TLSEXT_ERR_NOACK;
		if (!SSL_set_tlsext_status_ocsp_resp(ssl, copy,
		    set->cs_certs[i].ce_ocsplen)) {
			OPENSSL_free(copy);
			return SSL_TLSEXT_ERR_NOACK;
		}
		return SSL_TLSEXT_ERR_OK;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

/* Releases the set an SSL held, when the SSL is freed. */
static void
ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	set_release(ptr);
}

int
certs_init(const struct config *cf, SSL_CTX *ctx, char *err, size_t errlen)
{
	int i;

	certs_cf = cf;
	certs_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, ex_free);
	if (certs_idx == -1) {
		snprintf(err, errlen, "unable to set up certificates: %s",
		    ssl_errstr());
		return -1;
	}
	if ((certs_cur = set_build(cf, err, errlen)) == NULL)
		return -1;
	SSL_CTX_set_cert_cb(ctx, cert_cb, NULL);
	for (i = 0; i < cf->cf_ncerts; i++)
		if (cf->cf_certs[i].cs_ocsp != NULL &&
		    !SSL_CTX_set_tlsext_status_cb(ctx, status_cb)) {
			snprintf(err, errlen, "unable to set up OCSP stapling");
			return -1;
		}
	return 0;
}

int
certs_count(void)
{
	int n;

	pthread_mutex_lock(&certs_mu);
	n = certs_cur->cs_n;
	pthread_mutex_unlock(&certs_mu);
	return n;
}

/* The SIGHUP hook: new handshakes get the new set, or the old on error. */
void
certs_reload(void *arg)
{
	struct certset *set, *old;
	char err[512];

	(void)arg;
	if ((set = set_build(certs_cf, err, sizeof(err))) == NULL) {
		log_error("SIGHUP: %s; keeping the certificates loaded before",
		    err);
		return;
	}
	pthread_mutex_lock(&certs_mu);
	old = certs_cur;
	certs_cur = set;
	pthread_mutex_unlock(&certs_mu);
	set_release(old);
	log_info("SIGHUP: reloaded %d certificate%s%s", set->cs_n,
	    set->cs_n == 1 ? "" : "s", set->cs_ca != NULL ?
	    " and the client CAs" : "");
}

SSL *
certs_new_ssl(SSL_CTX *ctx)
{
	struct certset *set;
	SSL *ssl;

	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	set = set_acquire();
	if (!SSL_set_ex_data(ssl, certs_idx, set)) {
		set_release(set);
		SSL_free(ssl);
		return NULL;
	}
	/* The set is the SSL's now: SSL_free() releases it. */
	if (!ssl_use_ca(ssl, set)) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}
