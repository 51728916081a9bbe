/*
 * tlsctx.c - the one SSL_CTX: protocols, ciphers, ALPN, client
 * certificates, and session resumption (a server-side cache for clients
 * without tickets, and tickets whose keys rotate).
 *
 * Ticket keys: a new key every TICKET_ROTATE_S; the one before is still
 * accepted (and the client gets a fresh ticket), so a ticket lives at
 * most two periods, and a stolen key stops being useful soon after.
 * The keys never leave memory, so tickets do not outlive the process.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "log.h"
#include "tlsstripd.h"

/* TLS 1.2: ECDHE (forward secrecy) with AEAD only, strongest first. */
#define CIPHERS_12	"ECDHE-ECDSA-AES128-GCM-SHA256:" \
			"ECDHE-RSA-AES128-GCM-SHA256:" \
			"ECDHE-ECDSA-AES256-GCM-SHA384:" \
			"ECDHE-RSA-AES256-GCM-SHA384:" \
			"ECDHE-ECDSA-CHACHA20-POLY1305:" \
			"ECDHE-RSA-CHACHA20-POLY1305"
#define CIPHERS_13	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
			"TLS_CHACHA20_POLY1305_SHA256"
#define GROUPS		"X25519:P-256:P-384"
#define SID_CTX		"tlsstripd"
#define CACHE_SIZE	20480
#define TICKET_ROTATE_S	3600
#define TICKET_KEYS	2	/* the current key and the one before */

struct ticket_key {
	unsigned char	 tk_name[16];
	unsigned char	 tk_aes[32];
	unsigned char	 tk_hmac[32];
	time_t		 tk_born;
	int		 tk_valid;
};

static pthread_mutex_t tk_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ticket_key tk[TICKET_KEYS];

static int	 ticket_rotate(void);
static int	 ticket_find(const unsigned char *, int, struct ticket_key *);
static int	 ticket_cb(SSL *, unsigned char *, unsigned char *,
		    EVP_CIPHER_CTX *, EVP_MAC_CTX *, int);
static int	 alpn_cb(SSL *, const unsigned char **, unsigned char *,
		    const unsigned char *, unsigned int, void *);

/* Makes a new current key when the old one is due; 0 or -1. */
static int
ticket_rotate(void)
{
	time_t now = (time_t)(now_ms() / 1000);
	struct ticket_key k;

	if (tk[0].tk_valid && now - tk[0].tk_born < TICKET_ROTATE_S)
		return 0;
	memset(&k, 0, sizeof(k));
	if (RAND_bytes(k.tk_name, sizeof(k.tk_name)) != 1 ||
	    RAND_bytes(k.tk_aes, sizeof(k.tk_aes)) != 1 ||
	    RAND_bytes(k.tk_hmac, sizeof(k.tk_hmac)) != 1)
		return -1;
	k.tk_born = now;
	k.tk_valid = 1;
	tk[1] = tk[0];
	tk[0] = k;
	OPENSSL_cleanse(&k, sizeof(k));
	return 0;
}

/*
 * Copies the key to encrypt with (enc), or the key named name, into *out.
 * Returns its index (0: current), or -1 if there is none.
 */
static int
ticket_find(const unsigned char *name, int enc, struct ticket_key *out)
{
	int i, found = -1;

	pthread_mutex_lock(&tk_mu);
	if (ticket_rotate() == 0) {
		for (i = 0; i < TICKET_KEYS && found == -1; i++)
			if (tk[i].tk_valid && (enc ||
			    memcmp(name, tk[i].tk_name, 16) == 0))
				found = i;
		if (found != -1)
			*out = tk[found];
	}
	pthread_mutex_unlock(&tk_mu);
	return found;
}

/*
 * OpenSSL's ticket callback.  Returns 1 (use it), 2 (decrypted with an
 * old key: send a new ticket), 0 (unknown key: full handshake) or -1.
 */
static int
ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct ticket_key k;
	OSSL_PARAM params[3];
	int i, ok;

	(void)ssl;
	if ((i = ticket_find(name, enc, &k)) == -1)
		return enc ? -1 : 0;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    k.tk_hmac, sizeof(k.tk_hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    "SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (enc) {
		memcpy(name, k.tk_name, 16);
		ok = RAND_bytes(iv, 16) == 1 && EVP_EncryptInit_ex(cctx,
		    EVP_aes_256_cbc(), NULL, k.tk_aes, iv) == 1;
	} else
		ok = EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL,
		    k.tk_aes, iv) == 1;
	ok = ok && EVP_MAC_CTX_set_params(hctx, params) == 1;
	OPENSSL_cleanse(&k, sizeof(k));
	if (!ok)
		return -1;
	return enc || i == 0 ? 1 : 2;
}

/*
 * ALPN: http/1.1 when offered; a client offering only others (h2) goes
 * on without ALPN rather than failing.
 */
static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int i;

	(void)ssl;
	(void)arg;
	for (i = 0; i < inlen && i + 1 + in[i] <= inlen; i += 1 + in[i])
		if (in[i] == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
			*out = in + i + 1;
			*outlen = 8;
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX *
tlsctx_new(const struct config *cf, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "unable to create a TLS context");
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, CIPHERS_12) ||
	    !SSL_CTX_set_ciphersuites(ctx, CIPHERS_13) ||
	    !SSL_CTX_set1_groups_list(ctx, GROUPS) ||
	    !SSL_CTX_set_session_id_context(ctx, (const unsigned char *)SID_CTX,
	    sizeof(SID_CTX) - 1) ||
	    !SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) ||
	    !SSL_CTX_set_num_tickets(ctx, 1)) {
		snprintf(err, errlen, "unable to configure the TLS context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* A client FIN without close_notify is a plain EOF, as for TCP. */
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Whole socket reads, not a header and a body per record. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, CACHE_SIZE);
	SSL_CTX_set_timeout(ctx, TICKET_ROTATE_S);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	/* The CAs themselves come with the certificates (certs.c). */
	if (cf->cf_client_ca != NULL)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return ctx;
}
