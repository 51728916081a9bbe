/*
 * thread.h - the one way gtr starts a thread: detached, with a stack of
 * the size asked for, and every signal blocked in it, so that signals go
 * to the main thread, which waits for them (serve.c).
 */
#ifndef GTR_THREAD_H
#define GTR_THREAD_H

#include <stddef.h>

/*
 * Starts fn(arg) in a new detached thread with a stack of stack bytes (0:
 * the default).  Returns 0, or the error number.
 */
int	thread_start(void *(*fn)(void *), void *arg, size_t stack);

#endif
