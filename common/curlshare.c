/*
 * curlshare.c - libcurl's global set-up and a locked share handle
 * (curlshare.h).
 */
#include <pthread.h>

#include "curlshare.h"

static pthread_mutex_t locks[CURL_LOCK_DATA_LAST];

static void	share_lock(CURL *, curl_lock_data, curl_lock_access, void *);
static void	share_unlock(CURL *, curl_lock_data, void *);

CURLSH *
curlshare_init(const curl_lock_data *kinds, int n)
{
	CURLSH *sh;
	int i;

	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		return NULL;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&locks[i], NULL);
	if ((sh = curl_share_init()) == NULL)
		return NULL;
	if (curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, share_lock) ||
	    curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, share_unlock))
		goto fail;
	for (i = 0; i < n; i++)
		if (curl_share_setopt(sh, CURLSHOPT_SHARE, kinds[i]))
			goto fail;
	return sh;
fail:
	curl_share_cleanup(sh);
	return NULL;
}

static void
share_lock(CURL *c, curl_lock_data d, curl_lock_access a, void *u)
{
	(void)c;
	(void)a;
	(void)u;
	pthread_mutex_lock(&locks[d]);
}

static void
share_unlock(CURL *c, curl_lock_data d, void *u)
{
	(void)c;
	(void)u;
	pthread_mutex_unlock(&locks[d]);
}
