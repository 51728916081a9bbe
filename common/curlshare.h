/*
 * curlshare.h - libcurl's global set-up, and the one share handle the
 * threads of a program use: DNS answers and TLS sessions learnt by one
 * transfer serve the next, whichever thread runs it.
 *
 * libcurl asks the application to lock what a share holds; each kind of
 * data gets its own mutex here, so a DNS lookup never waits for a TLS
 * session.  Never share CURL_LOCK_DATA_CONNECT between threads that run
 * transfers at once: libcurl can hand one connection to two of them.
 */
#ifndef GTR_CURLSHARE_H
#define GTR_CURLSHARE_H

#include <curl/curl.h>

#include "http.h"

/*
 * Initialises libcurl and returns a share of the n kinds of data given
 * (CURL_LOCK_DATA_DNS, CURL_LOCK_DATA_SSL_SESSION...), or NULL if either
 * fails.  Call once, before any thread uses libcurl.
 */
CURLSH	*curlshare_init(const curl_lock_data *kinds, int n);

/*
 * Sets the limits every transfer of a gtr program has: connect_timeout
 * seconds to connect, the transfer cut once it has moved nothing for
 * idle seconds, and libcurl's receive buffer of bufsize bytes.
 */
void	curlshare_set_limits(CURL *c, long connect_timeout, long idle,
	    long bufsize);

/*
 * Sets the callbacks a transfer's bytes pass through, each given arg:
 * the response's header lines, its body, and (unless NULL) the upload.
 */
void	curlshare_set_io(CURL *c, curl_write_callback on_header,
	    curl_write_callback on_write, curl_read_callback on_read,
	    void *arg);

struct policy;

/*
 * The destination check on every socket libcurl opens, for the programs
 * whose upstream libcurl connects (httpftpd, tlswrapd): the data of
 * curlshare_open_socket().  The caller sets the first three fields once
 * and clears the counts with curlshare_sock_reset() before each
 * transfer; the callback counts what it refused and opened, so that
 * curlshare_refusal() can tell a policy refusal (403) from libcurl's own
 * error on the addresses it did try.
 */
struct curlshare_sock {
	const struct policy *cs_policy;
	int		 cs_fixed;	/* -c: the destination is trusted */
	unsigned long	 cs_conn;	/* conn= of its log lines, or 0 */
	int		 cs_refused;	/* addresses refused by the policy */
	int		 cs_loop;	/* of those, our own listeners */
	int		 cs_tried;	/* addresses a socket was opened for */
};

void	curlshare_sock_reset(struct curlshare_sock *);

/*
 * A CURLOPT_OPENSOCKETFUNCTION, with a struct curlshare_sock as its
 * CURLOPT_OPENSOCKETDATA.  Unless the destination is fixed, refuses an
 * address in a special range that --allow-dest does not open, and one of
 * the program's own listening addresses (a loop); libcurl then goes on
 * to the name's next address.  Returns the socket (close-on-exec), or
 * CURL_SOCKET_BAD.
 */
curl_socket_t curlshare_open_socket(void *, curlsocktype,
	    struct curl_sockaddr *);

/*
 * How the policy refused the transfer: PE_NONE unless every address was
 * refused (some were tried: libcurl's own error then says what went
 * wrong), else PE_PROXY_LOOP_DETECTED when one of them was our own,
 * PE_DESTINATION_IP_PROHIBITED when none was.  Either is a 403.
 */
enum proxy_error curlshare_refusal(const struct curlshare_sock *);

#endif
