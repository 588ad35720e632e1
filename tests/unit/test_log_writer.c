/* The log writer thread (gcs/core/log_writer.c): lines logged from many
 * threads reach the log fd whole, each thread's in its order, and all of
 * them by log_flush(); a line longer than the queue keeps its place. */
#include "unit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define THREADS 8
#define LINES 2000
#define LONG_LINE (300 * 1024)

static void *log_lines(void *arg)
{
	int t = (int)(long)arg;

	for (int i = 0; i < LINES; i++)
		log_fields(LOG_INFO, LOG_FIELDS(LOG_INT("thread", t), LOG_INT("seq", i)), "line");
	return NULL;
}

/* Checks every line of f: whole JSON objects, each thread's seq counting
 * up; returns the number of lines, where the long one and "after" were. */
static int check_lines(FILE *f, long *long_at, long *after_at)
{
	int next[THREADS] = {0}, n = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	*long_at = *after_at = -1;
	while ((len = getline(&line, &cap, f)) > 0) {
		const char *p = strstr(line, "\"thread\":");
		int t, seq;

		CHECK(line[0] == '{' && len > 2 && line[len - 2] == '}' && line[len - 1] == '\n');
		if (len > LONG_LINE) {
			*long_at = n++;
			continue;
		}
		if (strstr(line, "\"msg\":\"after\"")) {
			*after_at = n++;
			continue;
		}
		CHECK(p != NULL);
		CHECK_EQ(sscanf(p, "\"thread\":%d,\"seq\":%d", &t, &seq), 2);
		CHECK(t >= 0 && t < THREADS);
		CHECK_EQ(seq, next[t]);
		next[t]++;
		n++;
	}
	free(line);
	for (int t = 0; t < THREADS; t++)
		CHECK_EQ(next[t], LINES);
	return n;
}

TEST(lines_from_many_threads_arrive_whole_in_order_by_the_flush)
{
	char path[] = "/tmp/lcow-log-writer-XXXXXX";
	int fd = mkstemp(path);
	pthread_t th[THREADS];
	struct error err;
	char *big = malloc(LONG_LINE + 1);
	long long_at, after_at;
	FILE *f;

	CHECK(fd >= 0 && big);
	unlink(path);
	log_configure(LOG_FORMAT_JSON, LOG_INFO, fd);
	CHECK_OK(log_writer_start(&err));
	for (int t = 0; t < THREADS; t++)
		CHECK_EQ(pthread_create(&th[t], NULL, log_lines, (void *)(long)t), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	/* Longer than the queue: written by the caller, after what is queued. */
	memset(big, 'x', LONG_LINE);
	big[LONG_LINE] = '\0';
	log_info("%s", big);
	log_info("after");
	log_flush();
	f = fdopen(dup(fd), "r");
	CHECK(f != NULL);
	rewind(f);
	CHECK_EQ(check_lines(f, &long_at, &after_at), THREADS * LINES + 2);
	CHECK_EQ(long_at, THREADS * LINES);
	CHECK_EQ(after_at, THREADS * LINES + 1);
	fclose(f);
	log_configure(LOG_FORMAT_TEXT, LOG_INFO, 2);
	close(fd);
	free(big);
}
