/* State shared by loop.c, loop_child.c and loop_job.c only. */
#ifndef GCS_CORE_LOOP_INTERNAL_H
#define GCS_CORE_LOOP_INTERNAL_H

#include <pthread.h>
#include <signal.h>

#include "core/loop.h"

struct loop_watch {
	struct loop *loop;
	int fd;
	uint32_t events;
	loop_fd_fn fn;
	void *data;
	bool dead;
	struct loop_watch *next;
};

struct loop_timer {
	struct loop *loop;
	uint64_t due_ms;
	uint64_t seq; /* equal deadlines fire in creation order */
	loop_timer_fn fn;
	void *data;
	size_t index; /* in loop->timers */
};

struct child_watch {
	pid_t pid;
	loop_child_fn fn; /* NULL for a thread blocked in loop_child_wait() */
	void *data;
	bool done;
	int status;
	struct child_watch *next;
};

struct child_exit {
	pid_t pid;
	int status;
	uint64_t when_ms;
	struct child_exit *next;
};

struct job {
	loop_job_fn fn;
	loop_done_fn done;
	void *data;
	int rc;
	struct error err;
	struct job *next;
};

struct signal_handler {
	loop_signal_fn fn;
	void *data;
};

struct loop {
	int epfd;
	bool quit;
	int status;
	pthread_t owner;
	struct loop_watch *watches;
	/* A binary min-heap by (due_ms, seq): thousands of pending timers (one
	 * per WaitForProcess with a timeout) are added and cancelled in
	 * O(log n), where a sorted list made it O(n) each. */
	struct loop_timer **timers;
	size_t n_timers, cap_timers;
	uint64_t timer_seq;

	/* signals (SIGCHLD is the reaper's) */
	int sigfd;
	sigset_t sigmask;
	struct loop_watch *sigwatch;
	struct signal_handler signals[_NSIG];

	/* children: guarded by child_lock (loop_child_wait runs on workers) */
	pthread_mutex_t child_lock;
	pthread_cond_t child_cond;
	struct child_watch *child_watches;
	struct child_exit *exits;
	size_t n_exits;
	uint64_t reaped;
	bool closing;
	int cancel_efd; /* readable once closing: wakes loop_child_wait's poll */

	/* jobs: guarded by job_lock */
	pthread_mutex_t job_lock;
	pthread_cond_t job_cond;
	struct job *queue, *queue_tail, *done, *done_tail;
	unsigned threads, idle, running, queued;
	uint64_t jobs_done;
	bool stopping;
	pthread_t workers[LOOP_MAX_WORKERS];
	int job_efd;
	struct loop_watch *job_watch;
};

int loop_child_init(struct loop *l, struct error *err);
void loop_child_cancel_waiters(struct loop *l);
void loop_child_fini(struct loop *l);
void loop_child_reap(struct loop *l);
void loop_child_describe(struct loop *l, struct printbuf *pb);

int loop_job_init(struct loop *l, struct error *err);
void loop_job_fini(struct loop *l);
void loop_job_describe(struct loop *l, struct printbuf *pb);

#endif
