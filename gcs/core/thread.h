/* Starting the gcs's helper threads (workers, log threads). */
#ifndef GCS_CORE_THREAD_H
#define GCS_CORE_THREAD_H

#include <pthread.h>
#include <stddef.h>

/* Starts fn(arg) with a stack of `stack` bytes and every signal blocked but
 * the faults: the loop's signalfd owns the others (also those added later),
 * and a fault stays deliverable so that the crash handler logs it (a blocked
 * fault signal would kill with the default action). 0 or an errno. */
int thread_start(pthread_t *th, size_t stack, void *(*fn)(void *), void *arg);

#endif
