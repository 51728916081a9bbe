/*
 * curlpool.c - libcurl set-up and a pool of idle easy handles.
 *
 * The pool is a list, newest first, under one mutex held only to move
 * entries: handles are closed (which may send a TLS close_notify) after
 * it is released.  Keys may carry credentials, so they are wiped when
 * freed.
 */
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "curlpool.h"
#include "curlshare.h"

struct idle {
	CURL		*i_curl;
	void		*i_priv;
	char		*i_key;
	uint64_t	 i_since;	/* now_ms() when put */
	struct idle	*i_next;
};

/* A taker past its key's bound, until a handle or a place is its. */
struct waiter {
	pthread_cond_t	 w_cv;
	CURL		*w_curl;	/* a handle put for it */
	void		*w_priv;
	int		 w_place;	/* or leave to make a new one */
	TAILQ_ENTRY(waiter) w_entry;
};

/* The handles of one key, out and idle, and who waits for one. */
struct key {
	char		*k_key;
	unsigned	 k_held;
	unsigned	 k_max;
	TAILQ_HEAD(, waiter) k_waiters;
	LIST_ENTRY(key)	 k_entry;
};

struct curlpool {
	pthread_mutex_t	 p_mu;
	struct idle	*p_idle;	/* newest first */
	size_t		 p_n;
	size_t		 p_max;
	uint64_t	 p_idle_ms;
	unsigned	 p_per_key;
	LIST_HEAD(, key) p_keys;
	void		(*p_priv_free)(void *);
};

static CURLSH *share;

static struct idle *unlink_stale(struct curlpool *, uint64_t);
static void	idle_free(struct curlpool *, struct idle *);
static void	idle_list_free(struct curlpool *, struct idle *);
static struct key *key_get(struct curlpool *, const char *, int);
static void	key_release(struct curlpool *, const char *);
static void	free_key(char *);
static int	wait_turn(struct curlpool *, struct key *, CURL **, void **,
		    uint64_t);

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
curlpool_new(size_t max_idle, uint64_t idle_ms, unsigned per_key,
    void (*priv_free)(void *))
{
	struct curlpool *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	pthread_mutex_init(&p->p_mu, NULL);
	p->p_max = max_idle;
	p->p_idle_ms = idle_ms;
	p->p_per_key = per_key > 0 ? per_key : 1;
	LIST_INIT(&p->p_keys);
	p->p_priv_free = priv_free;
	return p;
}

/* Wipes a key (it may hold credentials) and frees it. */
static void
free_key(char *key)
{
	explicit_bzero(key, strlen(key));
	free(key);
}

/*
 * Returns the handles of key (lock held), made when create is set and
 * there are none; NULL if there are none or out of memory.
 */
static struct key *
key_get(struct curlpool *p, const char *key, int create)
{
	struct key *k;

	LIST_FOREACH(k, &p->p_keys, k_entry)
		if (strcmp(k->k_key, key) == 0)
			return k;
	if (!create || (k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if ((k->k_key = strdup(key)) == NULL) {
		free(k);
		return NULL;
	}
	k->k_max = p->p_per_key;
	TAILQ_INIT(&k->k_waiters);
	LIST_INSERT_HEAD(&p->p_keys, k, k_entry);
	return k;
}

/*
 * One handle of key is gone (lock held): its place goes to the first
 * waiter unless the bound has shrunk below what is held.
 */
static void
key_release(struct curlpool *p, const char *key)
{
	struct waiter *w;
	struct key *k;

	if ((k = key_get(p, key, 0)) == NULL)
		return;
	if (k->k_held <= k->k_max &&
	    (w = TAILQ_FIRST(&k->k_waiters)) != NULL) {
		TAILQ_REMOVE(&k->k_waiters, w, w_entry);
		w->w_place = 1;
		pthread_cond_signal(&w->w_cv);
		return;
	}
	if (--k->k_held == 0 && TAILQ_EMPTY(&k->k_waiters)) {
		LIST_REMOVE(k, k_entry);
		free_key(k->k_key);
		free(k);
	}
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
		key_release(p, i->i_key);
	}
	return stale;
}

/* Closes an idle handle already released, frees its priv and key. */
static void
idle_free(struct curlpool *p, struct idle *i)
{
	curlpool_discard(p, NULL, i->i_curl, i->i_priv);
	free_key(i->i_key);
	free(i);
}

static void
idle_list_free(struct curlpool *p, struct idle *i)
{
	struct idle *next;

	for (; i != NULL; i = next) {
		next = i->i_next;
		idle_free(p, i);
	}
}

/*
 * Waits (lock held) in k's line until a handle is put for us, returned
 * in *c with its priv, or a place is ours (*c NULL): returns 0; or -1 at
 * deadline.
 */
static int
wait_turn(struct curlpool *p, struct key *k, CURL **c, void **priv,
    uint64_t deadline)
{
	pthread_condattr_t ca;
	struct timespec ts;
	struct waiter w;
	uint64_t now;

	memset(&w, 0, sizeof(w));
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.w_cv, &ca);
	pthread_condattr_destroy(&ca);
	TAILQ_INSERT_TAIL(&k->k_waiters, &w, w_entry);
	while (w.w_curl == NULL && !w.w_place) {
		if ((now = now_ms()) >= deadline) {
			TAILQ_REMOVE(&k->k_waiters, &w, w_entry);
			break;
		}
		ts = clock_after(CLOCK_MONOTONIC, deadline - now);
		(void)pthread_cond_timedwait(&w.w_cv, &p->p_mu, &ts);
	}
	pthread_cond_destroy(&w.w_cv);
	*c = w.w_curl;
	*priv = w.w_priv;
	return w.w_curl != NULL || w.w_place ? 0 : -1;
}

CURL *
curlpool_take(struct curlpool *p, const char *key, void **priv,
    uint64_t deadline)
{
	struct idle **ip, *found = NULL, *stale;
	struct key *k;
	CURL *c = NULL;
	int place = 0, err = 0;

	*priv = NULL;
	pthread_mutex_lock(&p->p_mu);
	stale = unlink_stale(p, now_ms());
	for (ip = &p->p_idle; *ip != NULL; ip = &(*ip)->i_next)
		if (strcmp((*ip)->i_key, key) == 0) {
			found = *ip;
			*ip = found->i_next;
			p->p_n--;
			break;
		}
	if (found == NULL) {
		if ((k = key_get(p, key, 1)) == NULL)
			err = ENOMEM;
		else if (k->k_held < k->k_max) {
			k->k_held++;
			place = 1;
		} else if (wait_turn(p, k, &c, priv, deadline) == 0)
			place = c == NULL;
		else
			err = ETIMEDOUT;
	}
	pthread_mutex_unlock(&p->p_mu);
	idle_list_free(p, stale);
	if (found != NULL) {
		c = found->i_curl;
		*priv = found->i_priv;
		free_key(found->i_key);
		free(found);
	} else if (place) {
		if ((c = curl_easy_init()) == NULL) {
			curlpool_discard(p, key, NULL, NULL);
			errno = ENOMEM;
			return NULL;
		}
		curlpool_reset(c);
	}
	if (c == NULL)
		errno = err;
	return c;
}

/*
 * Hands c to the first taker waiting for key, or keeps it idle; closes
 * the oldest or stale ones, outside the lock.
 */
void
curlpool_put(struct curlpool *p, const char *key, CURL *c, void *priv)
{
	struct idle *i, **ip, *stale, *old = NULL;
	struct waiter *w;
	struct key *k;

	if (c == NULL)
		return;
	curlpool_reset(c);
	i = calloc(1, sizeof(*i));
	pthread_mutex_lock(&p->p_mu);
	if ((k = key_get(p, key, 0)) != NULL &&
	    (w = TAILQ_FIRST(&k->k_waiters)) != NULL) {
		TAILQ_REMOVE(&k->k_waiters, w, w_entry);
		w->w_curl = c;
		w->w_priv = priv;
		pthread_cond_signal(&w->w_cv);
		pthread_mutex_unlock(&p->p_mu);
		free(i);
		return;
	}
	pthread_mutex_unlock(&p->p_mu);
	if (p->p_max == 0 || i == NULL || (i->i_key = strdup(key)) == NULL) {
		free(i);
		curlpool_discard(p, key, c, priv);
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
		key_release(p, old->i_key);
	}
	pthread_mutex_unlock(&p->p_mu);
	if (old != NULL)
		idle_free(p, old);
	idle_list_free(p, stale);
}

void
curlpool_discard(struct curlpool *p, const char *key, CURL *c, void *priv)
{
	if (key != NULL) {
		pthread_mutex_lock(&p->p_mu);
		key_release(p, key);
		pthread_mutex_unlock(&p->p_mu);
	}
	if (c != NULL)
		curl_easy_cleanup(c);
	if (priv != NULL && p->p_priv_free != NULL)
		p->p_priv_free(priv);
}

unsigned
curlpool_shrink(struct curlpool *p, const char *key)
{
	unsigned others = 0;
	struct key *k;

	pthread_mutex_lock(&p->p_mu);
	if ((k = key_get(p, key, 0)) != NULL && k->k_held > 0) {
		others = k->k_held - 1;
		k->k_max = others > 0 ? others : 1;
	}
	pthread_mutex_unlock(&p->p_mu);
	return others;
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
	struct idle *i;
	struct key *k;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->p_mu);
	i = p->p_idle;
	p->p_idle = NULL;
	p->p_n = 0;
	while ((k = LIST_FIRST(&p->p_keys)) != NULL) {
		LIST_REMOVE(k, k_entry);
		free_key(k->k_key);
		free(k);
	}
	pthread_mutex_unlock(&p->p_mu);
	idle_list_free(p, i);
	pthread_mutex_destroy(&p->p_mu);
	free(p);
}
