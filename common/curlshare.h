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

/*
 * Initialises libcurl and returns a share of the n kinds of data given
 * (CURL_LOCK_DATA_DNS, CURL_LOCK_DATA_SSL_SESSION...), or NULL if either
 * fails.  Call once, before any thread uses libcurl.
 */
CURLSH	*curlshare_init(const curl_lock_data *kinds, int n);

#endif
