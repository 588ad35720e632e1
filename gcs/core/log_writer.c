/* Where the log's formatted lines go (gcs/core/log.h: log_writer_start).
 *
 * Before log_writer_start, and for a line longer than the queue, the
 * caller writes the line itself. Afterwards lines are appended to a
 * bounded queue that one thread drains in order, so that the loop and the
 * workers never wait for the log stream: under a hypervisor each write is a
 * vsock packet and a notification (about 0.3 ms a line under TCG), and a
 * burst of lines goes out in one write. A full queue makes the caller wait,
 * as a full socket did: a host that stops reading the log still holds the
 * gcs back, after LOG_QUEUE_MAX bytes more.
 *
 * The crash handler (log_emergency_write) finishes the batch being
 * written, writes what is still queued, then its own line. */
#include "core/log_internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_QUEUE_MAX (256 * 1024)

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more; /* the writer waits for lines */
	pthread_cond_t room; /* callers wait for room, log_flush for the end */
	bool running;
	bool writing; /* the writer holds a batch */
	char *queue;  /* LOG_QUEUE_MAX bytes once running */
	size_t len;   /* bytes queued */
	char *batch;  /* the writer's: swapped with queue */
	/* The bytes being written, so that a crash in the middle of a write
	 * can finish them before adding its own line. */
	const char *volatile cur;
	volatile size_t cur_len, cur_off;
} w = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.more = PTHREAD_COND_INITIALIZER,
	.room = PTHREAD_COND_INITIALIZER,
};

/* Writes everything, waiting when the fd is non-blocking (it may share its
 * file description with a non-blocking stdout under -use-inouterr). A dead
 * log stream loses the bytes: there is nowhere else to report it. */
static void write_all(int fd, const char *buf, size_t len)
{
	size_t off = 0;

	w.cur = buf;
	w.cur_len = len;
	w.cur_off = 0;
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			w.cur_off = off;
		} else if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};

			poll(&p, 1, -1);
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			break;
		}
	}
	w.cur = NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&w.lock);
	for (;;) {
		char *batch = w.queue;
		size_t len = w.len;

		if (!len) {
			pthread_cond_wait(&w.more, &w.lock);
			continue;
		}
		w.queue = w.batch;
		w.batch = batch;
		w.len = 0;
		w.writing = true;
		pthread_cond_broadcast(&w.room);
		pthread_mutex_unlock(&w.lock);
		write_all(log_get_fd(), batch, len);
		pthread_mutex_lock(&w.lock);
		w.writing = false;
		pthread_cond_broadcast(&w.room);
	}
	return NULL;
}

void log_write_line(const char *line, size_t len)
{
	pthread_mutex_lock(&w.lock);
	if (!w.running || len > LOG_QUEUE_MAX) {
		/* After what is queued: the lines stay in order. */
		while (w.len || w.writing)
			pthread_cond_wait(&w.room, &w.lock);
		write_all(log_get_fd(), line, len);
	} else {
		while (w.len + len > LOG_QUEUE_MAX)
			pthread_cond_wait(&w.room, &w.lock);
		memcpy(w.queue + w.len, line, len);
		w.len += len;
		pthread_cond_signal(&w.more);
	}
	pthread_mutex_unlock(&w.lock);
}

void log_flush(void)
{
	pthread_mutex_lock(&w.lock);
	while (w.len || w.writing)
		pthread_cond_wait(&w.room, &w.lock);
	pthread_mutex_unlock(&w.lock);
}

int log_writer_start(struct error *err)
{
	char *queue = malloc(LOG_QUEUE_MAX), *batch = malloc(LOG_QUEUE_MAX);
	int rc;

	if (!queue || !batch) {
		free(queue);
		free(batch);
		return error_set(err, ERR_FAIL, ENOMEM, "log writer: out of memory");
	}
	/* Under the lock: the writer's first look at the queue waits for it. */
	pthread_mutex_lock(&w.lock);
	w.queue = queue;
	w.batch = batch;
	rc = log_thread_start(writer, NULL);
	w.running = rc == 0;
	if (rc != 0)
		w.queue = w.batch = NULL;
	pthread_mutex_unlock(&w.lock);
	if (rc != 0) {
		free(queue);
		free(batch);
		return error_errno(err, rc, "start the log writer");
	}
	/* Whatever ends the process through exit() waits for the queue. */
	atexit(log_flush);
	return 0;
}

static void write_raw(int fd, const char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n <= 0 && errno != EINTR && errno != EAGAIN)
			break;
		if (n > 0)
			off += (size_t)n;
	}
}

void log_emergency_write(const char *line, size_t len)
{
	const char *cur = w.cur;
	int fd = log_get_fd();

	/* No lock: the crashing thread may hold it. The batch a thread left
	 * half-written is finished first, so the stream stays line-aligned
	 * JSON, then what is queued, then this line. */
	if (cur && w.cur_off < w.cur_len)
		write_raw(fd, cur + w.cur_off, w.cur_len - w.cur_off);
	if (w.running && w.len)
		write_raw(fd, w.queue, w.len);
	write_raw(fd, line, len);
}
