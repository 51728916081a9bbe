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

#endif
