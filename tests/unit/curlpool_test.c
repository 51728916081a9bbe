/*
 * curlpool_test.c - the pool of idle libcurl handles: keys, the bound,
 * the idle limit, what is freed, and take/put from many threads.
 *
 * No transfer is made: tests/tlswrapd.bats and tests/httpftpd.bats show
 * that a handle taken back reuses its connection.  Prints "ok" lines and
 * exits 0, or names the first failed check and exits 1.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "curlpool.h"
#include "log.h"

#define THREADS	8
#define ROUNDS	2000

struct priv {
	int	 p_id;
};

static int freed[16];

static void	check(int, const char *);
static void	priv_free(void *);
static struct priv *priv_new(int);
static void	test_keys(void);
static void	test_bound(void);
static void	test_idle(void);
static void	test_discard(void);
static void	*worker(void *);
static void	test_threads(void);

static void
check(int ok, const char *what)
{
	if (!ok) {
		printf("not ok %s\n", what);
		exit(1);
	}
}

static void
priv_free(void *arg)
{
	struct priv *p = arg;

	freed[p->p_id]++;
	free(p);
}

static struct priv *
priv_new(int id)
{
	struct priv *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		exit(1);
	p->p_id = id;
	return p;
}

/* A handle comes back only under the key it was put under. */
static void
test_keys(void)
{
	struct curlpool *p;
	CURL *a, *b, *c;
	void *v;

	memset(freed, 0, sizeof(freed));
	check((p = curlpool_new(4, 60000, 64, priv_free)) != NULL, "new");
	check((a = curlpool_take(p, "https://a:443", &v, now_ms() + 1000)) != NULL && v == NULL,
	    "a new handle has no priv");
	curlpool_put(p, "https://a:443", a, priv_new(1));
	check(curlpool_idle(p) == 1, "one idle after put");
	b = curlpool_take(p, "https://b:443", &v, now_ms() + 1000);
	check(b != NULL && b != a && v == NULL, "a new handle for another key");
	c = curlpool_take(p, "https://a:443", &v, now_ms() + 1000);
	check(c == a && v != NULL && ((struct priv *)v)->p_id == 1,
	    "the same key gets the handle and its priv back");
	check(curlpool_idle(p) == 0, "none idle after take");
	curlpool_put(p, "https://a:443", c, v);
	curlpool_put(p, "https://b:443", b, NULL);
	curlpool_free(p);
	check(freed[1] == 1, "free frees the idle privs");
	printf("ok keys\n");
}

/* The oldest idle handle goes when the pool is full. */
static void
test_bound(void)
{
	struct curlpool *p;
	CURL *h[3];
	void *v;
	int i;

	memset(freed, 0, sizeof(freed));
	check((p = curlpool_new(2, 60000, 64, priv_free)) != NULL, "new");
	for (i = 0; i < 3; i++)
		check((h[i] = curlpool_take(p, "k", &v, now_ms() + 1000)) != NULL, "take");
	for (i = 0; i < 3; i++)
		curlpool_put(p, "k", h[i], priv_new(i));
	check(curlpool_idle(p) == 2, "bounded at 2");
	check(freed[0] == 1 && freed[1] == 0 && freed[2] == 0,
	    "the oldest went");
	curlpool_take(p, "k", &v, now_ms() + 1000);
	check(v != NULL && ((struct priv *)v)->p_id == 2, "newest first");
	curlpool_discard(p, "k", h[2], v);
	check(freed[2] == 1, "discard frees priv");
	curlpool_free(p);
	check(freed[1] == 1, "free frees the rest");
	printf("ok bound\n");
}

/* A handle idle past the limit is closed, not handed out. */
static void
test_idle(void)
{
	struct curlpool *p;
	CURL *a;
	void *v;

	memset(freed, 0, sizeof(freed));
	check((p = curlpool_new(4, 20, 64, priv_free)) != NULL, "new");
	a = curlpool_take(p, "k", &v, now_ms() + 1000);
	curlpool_put(p, "k", a, priv_new(3));
	usleep(60 * 1000);
	a = curlpool_take(p, "k", &v, now_ms() + 1000);
	check(a != NULL && v == NULL, "a stale handle is not reused");
	check(freed[3] == 1, "a stale handle is freed");
	curlpool_discard(p, "k", a, v);
	curlpool_free(p);
	printf("ok idle\n");
}

/* A pool of size 0 keeps nothing. */
static void
test_discard(void)
{
	struct curlpool *p;
	CURL *a;
	void *v;

	memset(freed, 0, sizeof(freed));
	check((p = curlpool_new(0, 60000, 64, priv_free)) != NULL, "new");
	a = curlpool_take(p, "k", &v, now_ms() + 1000);
	curlpool_put(p, "k", a, priv_new(4));
	check(curlpool_idle(p) == 0 && freed[4] == 1, "nothing kept");
	curlpool_free(p);
	printf("ok discard\n");
}

/* A key has at most its bound out and idle; a taker past it waits. */
static void
test_per_key(void)
{
	struct curlpool *p;
	CURL *a, *b, *c;
	void *v;

	memset(freed, 0, sizeof(freed));
	check((p = curlpool_new(4, 60000, 2, priv_free)) != NULL, "new");
	a = curlpool_take(p, "k", &v, now_ms() + 1000);
	b = curlpool_take(p, "k", &v, now_ms() + 1000);
	check(a != NULL && b != NULL, "two under the bound");
	errno = 0;
	c = curlpool_take(p, "k", &v, now_ms() + 50);
	check(c == NULL && errno == ETIMEDOUT, "a third waits, then times out");
	check((c = curlpool_take(p, "other", &v, now_ms())) != NULL,
	    "another key has its own bound");
	curlpool_discard(p, "other", c, v);
	curlpool_put(p, "k", a, priv_new(5));
	c = curlpool_take(p, "k", &v, now_ms() + 50);
	check(c == a && v != NULL, "a handle put back is taken");
	curlpool_discard(p, "k", c, v);
	c = curlpool_take(p, "k", &v, now_ms() + 50);
	check(c != NULL && v == NULL, "a discarded one frees a place");
	/* Shrunk to 1 while 2 are held: the first one back is not replaced. */
	curlpool_shrink(p, "k");
	curlpool_discard(p, "k", b, NULL);
	errno = 0;
	check(curlpool_take(p, "k", &v, now_ms() + 50) == NULL &&
	    errno == ETIMEDOUT, "past a shrunk bound, a taker waits");
	curlpool_discard(p, "k", c, NULL);
	c = curlpool_take(p, "k", &v, now_ms() + 50);
	check(c != NULL, "under the shrunk bound, a place again");
	curlpool_discard(p, "k", c, NULL);
	curlpool_free(p);
	printf("ok per_key\n");
}

struct waiting {
	struct curlpool	*w_p;
	CURL		*w_got;
	void		*w_priv;
};

static void *
waiter(void *arg)
{
	struct waiting *w = arg;

	w->w_got = curlpool_take(w->w_p, "k", &w->w_priv, now_ms() + 5000);
	return NULL;
}

/* Takers past the bound get the handles put back, first come first. */
static void
test_order(void)
{
	struct waiting w[2];
	struct curlpool *p;
	pthread_t t[2];
	CURL *a;
	void *v;
	int i;

	check((p = curlpool_new(4, 60000, 1, NULL)) != NULL, "new");
	a = curlpool_take(p, "k", &v, now_ms() + 1000);
	for (i = 0; i < 2; i++) {
		w[i].w_p = p;
		check(pthread_create(&t[i], NULL, waiter, &w[i]) == 0, "thread");
		usleep(100 * 1000);	/* so the first waits first */
	}
	curlpool_put(p, "k", a, "one");
	pthread_join(t[0], NULL);
	check(w[0].w_got == a && strcmp(w[0].w_priv, "one") == 0,
	    "the first waiter gets the handle put back, with its priv");
	curlpool_put(p, "k", a, "two");
	pthread_join(t[1], NULL);
	check(w[1].w_got == a && strcmp(w[1].w_priv, "two") == 0,
	    "then the second");
	check(curlpool_idle(p) == 0, "handed over, never idle");
	curlpool_discard(p, "k", a, NULL);
	curlpool_free(p);
	printf("ok order\n");
}

static void *
worker(void *arg)
{
	struct curlpool *p = arg;
	static const char *keys[] = { "a", "b", "c", "d" };
	CURL *c;
	void *v;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		if ((c = curlpool_take(p, keys[i % 4], &v, now_ms() + 1000)) == NULL)
			return "take failed";
		if (v != NULL && strcmp(v, keys[i % 4]) != 0)
			return "a handle came back under another key";
		curlpool_put(p, keys[i % 4], c, (void *)keys[i % 4]);
	}
	return NULL;
}

/* Takes and puts from many threads never mix keys up. */
static void
test_threads(void)
{
	struct curlpool *p;
	pthread_t t[THREADS];
	void *r;
	int i;

	check((p = curlpool_new(16, 60000, 64, NULL)) != NULL, "new");
	for (i = 0; i < THREADS; i++)
		check(pthread_create(&t[i], NULL, worker, p) == 0, "thread");
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], &r);
		if (r != NULL)
			check(0, r);
	}
	check(curlpool_idle(p) <= 16, "bounded under threads");
	curlpool_free(p);
	printf("ok threads\n");
}

int
main(int argc, char *argv[])
{
	(void)argc;
	log_init(argv[0], LOG_NORMAL);
	check(curlpool_global_init() == 0, "global init");
	check(curlpool_global_init() == 0, "global init twice");
	test_keys();
	test_bound();
	test_idle();
	test_discard();
	test_per_key();
	test_order();
	test_threads();
	curl_global_cleanup();
	return 0;
}
