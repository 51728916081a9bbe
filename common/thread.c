/*
 * thread.c - starting a thread (see thread.h).
 */
#include <pthread.h>
#include <signal.h>

#include "thread.h"

int
thread_start(void *(*fn)(void *), void *arg, size_t stack)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int rc;

	if ((rc = pthread_attr_init(&attr)) != 0)
		return rc;
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (stack > 0 && (rc = pthread_attr_setstacksize(&attr, stack)) != 0)
		goto out;
	/* The new thread inherits the mask it is created under. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
	pthread_attr_destroy(&attr);
	return rc;
}
