/*
 * clock.h - the one monotonic clock every deadline and duration uses.
 *
 * Inline, so a part of libgtr that needs the time (relay.c, http.c,
 * net.c...) does not pull another's object in with it.
 */
#ifndef GTR_CLOCK_H
#define GTR_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock. */
static inline uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The time ms milliseconds from now on clock id, as the absolute
 * timespec pthread_cond_timedwait() takes (the clock its condition
 * variable was made with).
 */
static inline struct timespec
clock_after(clockid_t id, uint64_t ms)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

#endif
