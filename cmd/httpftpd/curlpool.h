/*
 * curlpool.h - libcurl for threaded programs: one-time set-up, and a pool
 * of idle easy handles.
 *
 * libcurl does not support one connection cache shared by threads that
 * run transfers at once (CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT: a
 * connection can be handed to two of them).  So connections stay inside
 * the easy handle that opened them, and idle handles wait in a pool under
 * a key that the caller makes from everything a connection depends on
 * (scheme, host, port, credentials, TLS settings): taking a handle back
 * under the same key reuses its connection.  A key has at most a set
 * number of handles out and idle, so a server that limits connections
 * per client address never sees more; a taker past the bound waits in
 * order for one to come back.  Only the DNS cache and the
 * TLS session cache are shared between handles, through one CURLSH with
 * a mutex per kind of data.
 */
#ifndef GTR_CURLPOOL_H
#define GTR_CURLPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

/*
 * curl_global_init() and the shared DNS and TLS session caches.  Call
 * once from main(), before any thread.  Returns 0 or -1.
 */
int	curlpool_global_init(void);

/*
 * curl_easy_reset(), then the share and CURLOPT_NOSIGNAL set again: the
 * handle keeps its connections and forgets every other option (and so
 * every pointer into a caller's memory).
 */
void	curlpool_reset(CURL *);

struct curlpool;

/*
 * Returns a pool that keeps at most max_idle idle handles, none idle for
 * more than idle_ms milliseconds, and at most per_key handles out and
 * idle under one key; or NULL when out of memory.  priv_free (may be
 * NULL) frees what a caller keeps beside a handle (see put).
 */
struct curlpool *curlpool_new(size_t max_idle, uint64_t idle_ms,
	    unsigned per_key, void (*priv_free)(void *));

/*
 * Returns the handle last put under key, reset, with what was put beside
 * it in *priv; or a new handle with *priv NULL while key has fewer than
 * its bound; or else the first handle put or slot freed under key, waited
 * for in order until deadline (now_ms()).  NULL with errno ETIMEDOUT when
 * none came by then, ENOMEM when out of memory.  The handle is the
 * caller's until put or discarded.
 */
CURL	*curlpool_take(struct curlpool *, const char *key, void **priv,
	    uint64_t deadline);

/*
 * Resets the handle and keeps it (and priv) idle under key; the oldest
 * idle handle goes when the pool is full.  key must name everything its
 * connections depend on.
 */
void	curlpool_put(struct curlpool *, const char *key, CURL *, void *priv);

/*
 * Closes a handle taken under key and its connections, and frees priv;
 * its place under key goes to the first waiting taker.
 */
void	curlpool_discard(struct curlpool *, const char *key, CURL *,
	    void *priv);

/*
 * Lowers key's bound below the handles it has now, the caller's one of
 * them (never under 1): the server said it has too many of our
 * connections.  Returns how many others key has, for whom a wait makes
 * sense.  The bound is back to the pool's when key has no handle left.
 */
unsigned curlpool_shrink(struct curlpool *, const char *key);

/* Returns how many handles are idle in the pool now. */
size_t	curlpool_idle(struct curlpool *);

/* Closes every idle handle and frees the pool. */
void	curlpool_free(struct curlpool *);

#endif
