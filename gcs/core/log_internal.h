/* Shared by log.c (formatting) and log_writer.c (where lines go). */
#ifndef GCS_CORE_LOG_INTERNAL_H
#define GCS_CORE_LOG_INTERNAL_H

#include <stddef.h>

#include "core/log.h"

/* Starts fn(arg) on a detached thread with a small stack that takes no
 * signal but faults (which the crash handler logs). 0 or an errno. */
int log_thread_start(void *(*fn)(void *), void *arg);

/* A complete line (newline included) to the log fd, in order with every
 * other line; queued once log_writer_start() has run. */
void log_write_line(const char *line, size_t len);

#endif
