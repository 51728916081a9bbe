/*
 * curlshare.c - libcurl's global set-up and a locked share handle
 * (curlshare.h).
 */
#include <sys/socket.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "curlshare.h"
#include "log.h"
#include "net.h"
#include "serve.h"

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

void
curlshare_set_limits(CURL *c, long connect_timeout, long idle, long bufsize)
{
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, connect_timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, idle);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, bufsize);
}

void
curlshare_set_io(CURL *c, curl_write_callback on_header,
    curl_write_callback on_write, curl_read_callback on_read, void *arg)
{
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, arg);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, arg);
	if (on_read != NULL) {
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, arg);
	}
}

void
curlshare_sock_reset(struct curlshare_sock *cs)
{
	cs->cs_refused = cs->cs_loop = cs->cs_tried = 0;
}

/* Returns a socket for libcurl, or CURL_SOCKET_BAD when it is refused. */
curl_socket_t
curlshare_open_socket(void *arg, curlsocktype purpose,
    struct curl_sockaddr *a)
{
	struct curlshare_sock *cs = arg;
	char ip[NET_IPLEN], port[NET_PORTLEN], conn[32] = "";
	char why[NET_IPLEN + NET_PORTLEN + 64];
	int loop = 0;

	(void)purpose;
	if (!cs->cs_fixed && ((loop = serve_is_own_addr(&a->addr)) ||
	    !policy_dest_ok(cs->cs_policy, &a->addr))) {
		net_ntop(&a->addr, ip, port);
		if (cs->cs_conn != 0)
			snprintf(conn, sizeof(conn), "conn=%lu: ",
			    cs->cs_conn);
		/* each address: the 403, if all are, names the host */
		log_info("%s%s", conn, policy_dest_refusal(why, sizeof(why),
		    loop ? NET_LOOP : NET_POLICY, ip, port));
		cs->cs_refused++;
		cs->cs_loop += loop;
		return CURL_SOCKET_BAD;
	}
	cs->cs_tried++;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

enum proxy_error
curlshare_refusal(const struct curlshare_sock *cs)
{
	if (cs->cs_refused == 0 || cs->cs_tried > 0)
		return PE_NONE;
	return cs->cs_loop > 0 ? PE_PROXY_LOOP_DETECTED :
	    PE_DESTINATION_IP_PROHIBITED;
}
