/*
 * curlpool.c - libcurl set-up and a pool of idle easy handles.
 *
 * The pool is a list, newest first, under one mutex held only to move
 * entries: handles are closed (which may send a TLS close_notify) after
 * it is released.  Keys may carry credentials, so they are wiped when
 * freed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "curlpool.h"
#include "curlshare.h"
#include "serve.h"

struct idle {
	CURL		*i_curl;
	void		*i_priv;
	char		*i_key;
	uint64_t	 i_since;	/* now_ms() when put */
	struct idle	*i_next;
};

struct curlpool {
	pthread_mutex_t	 p_mu;
	struct idle	*p_idle;	/* newest first */
	size_t		 p_n;
	size_t		 p_max;
	uint64_t	 p_idle_ms;
	void		(*p_priv_free)(void *);
};

static CURLSH *share;

static struct idle *unlink_stale(struct curlpool *, uint64_t);
static void	idle_free(struct curlpool *, struct idle *);

/* Returns 0, or -1 if libcurl or the share could not be set up. */
int
curlpool_global_init(void)
{
	static const curl_lock_data kinds[] = {
		CURL_LOCK_DATA_DNS, CURL_LOCK_DATA_SSL_SESSION
	};

	if (share == NULL)
		share = curlshare_init(kinds, 2);
	return share != NULL ? 0 : -1;
}

void
curlpool_reset(CURL *c)
{
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_SHARE, share);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
}

/* Returns an empty pool, or NULL when out of memory. */
struct curlpool *
curlpool_new(size_t max_idle, uint64_t idle_ms, void (*priv_free)(void *))
{
	struct curlpool *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	pthread_mutex_init(&p->p_mu, NULL);
	p->p_max = max_idle;
	p->p_idle_ms = idle_ms;
	p->p_priv_free = priv_free;
	return p;
}

/* Unlinks the handles idle too long (lock held); returns them as a list. */
static struct idle *
unlink_stale(struct curlpool *p, uint64_t now)
{
	struct idle **ip, *stale = NULL, *i;

	for (ip = &p->p_idle; *ip != NULL; ) {
		if (now - (*ip)->i_since <= p->p_idle_ms) {
			ip = &(*ip)->i_next;
			continue;
		}
		i = *ip;
		*ip = i->i_next;
		i->i_next = stale;
		stale = i;
		p->p_n--;
	}
	return stale;
}

/* Closes an idle handle, frees its priv and wipes its key. */
static void
idle_free(struct curlpool *p, struct idle *i)
{
	curlpool_discard(p, i->i_curl, i->i_priv);
	explicit_bzero(i->i_key, strlen(i->i_key));
	free(i->i_key);
	free(i);
}

/* Returns a handle put under key, else a new one, else NULL. */
CURL *
curlpool_take(struct curlpool *p, const char *key, void **priv)
{
	struct idle **ip, *found = NULL, *stale, *next;
	CURL *c;

	pthread_mutex_lock(&p->p_mu);
	stale = unlink_stale(p, now_ms());
	for (ip = &p->p_idle; *ip != NULL; ip = &(*ip)->i_next)
		if (strcmp((*ip)->i_key, key) == 0) {
			found = *ip;
			*ip = found->i_next;
			p->p_n--;
			break;
		}
	pthread_mutex_unlock(&p->p_mu);
	for (; stale != NULL; stale = next) {
		next = stale->i_next;
		idle_free(p, stale);
	}
	if (found != NULL) {
		c = found->i_curl;
		*priv = found->i_priv;
		explicit_bzero(found->i_key, strlen(found->i_key));
		free(found->i_key);
		free(found);
		return c;
	}
	*priv = NULL;
	if ((c = curl_easy_init()) == NULL)
		return NULL;
	curlpool_reset(c);
	return c;
}

/* Keeps c idle under key; closes the oldest or stale ones, outside the lock. */
void
curlpool_put(struct curlpool *p, const char *key, CURL *c, void *priv)
{
	struct idle *i, **ip, *stale, *next, *old = NULL;

	if (c == NULL)
		return;
	curlpool_reset(c);
	if (p->p_max == 0 || (i = calloc(1, sizeof(*i))) == NULL) {
		curlpool_discard(p, c, priv);
		return;
	}
	if ((i->i_key = strdup(key)) == NULL) {
		free(i);
		curlpool_discard(p, c, priv);
		return;
	}
	i->i_curl = c;
	i->i_priv = priv;
	i->i_since = now_ms();
	pthread_mutex_lock(&p->p_mu);
	stale = unlink_stale(p, i->i_since);
	i->i_next = p->p_idle;
	p->p_idle = i;
	if (++p->p_n > p->p_max) {
		for (ip = &p->p_idle; (*ip)->i_next != NULL;
		    ip = &(*ip)->i_next)
			;
		old = *ip;
		*ip = NULL;
		p->p_n--;
	}
	pthread_mutex_unlock(&p->p_mu);
	if (old != NULL)
		idle_free(p, old);
	for (; stale != NULL; stale = next) {
		next = stale->i_next;
		idle_free(p, stale);
	}
}

void
curlpool_discard(struct curlpool *p, CURL *c, void *priv)
{
	if (c != NULL)
		curl_easy_cleanup(c);
	if (priv != NULL && p->p_priv_free != NULL)
		p->p_priv_free(priv);
}

size_t
curlpool_idle(struct curlpool *p)
{
	size_t n;

	pthread_mutex_lock(&p->p_mu);
	n = p->p_n;
	pthread_mutex_unlock(&p->p_mu);
	return n;
}

void
curlpool_free(struct curlpool *p)
{
	struct idle *i, *next;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->p_mu);
	i = p->p_idle;
	p->p_idle = NULL;
	p->p_n = 0;
	pthread_mutex_unlock(&p->p_mu);
	for (; i != NULL; i = next) {
		next = i->i_next;
		idle_free(p, i);
	}
	pthread_mutex_destroy(&p->p_mu);
	free(p);
}
