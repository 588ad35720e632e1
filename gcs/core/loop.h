/* The gcs event loop: one thread owns the bridge and every piece of request
 * state; nothing on it may block. It offers
 *   - fd watchers (epoll),
 *   - one-shot timers (millisecond resolution, CLOCK_MONOTONIC),
 *   - signal callbacks (signalfd),
 *   - child-exit callbacks by pid: one reaper (SIGCHLD + waitpid(-1)) for
 *     the whole process, exit statuses of pids nobody asked for yet are kept,
 *   - blocking jobs run on worker threads, their completion delivered back
 *     on the loop thread.
 *
 * Threading: every function must be called on the loop thread, except
 * loop_job(), loop_child_wait(), loop_child_begin() and loop_child_end(),
 * which any thread may call. Callbacks always run on the loop thread.
 *
 * Children: loop_new() blocks SIGCHLD (and the signals given to
 * loop_signal_add()) in the calling thread before any worker exists, so every
 * thread inherits the mask; a child must therefore reset its signal mask and
 * dispositions (SIGPIPE is ignored by gcs) before exec. Nobody else may call
 * waitpid(-1)/wait(); code that needs to block on a child (a worker thread
 * running runc) calls loop_child_wait(), whose signature fits
 * runc_config.wait_child.
 *
 *     loop_child_begin(l);          // the reaper cannot collect in between
 *     pid = fork();                 // or posix_spawn(), clone()
 *     if (pid == 0) { ...exec... }
 *     loop_child_end(l, pid);       // forgets a stale status of this pid
 *     loop_child_watch(l, pid, on_exit, data, &err);   // or loop_child_wait
 *
 * Pids learnt later (runc's --pid-file) may have exited already: the status
 * is kept (for LOOP_EXIT_KEEP_MS, at most LOOP_EXIT_KEEP_MAX of them) and
 * loop_child_watch() delivers it on the next iteration. */
#ifndef GCS_CORE_LOOP_H
#define GCS_CORE_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

#include <json-c/printbuf.h>

#include "error.h"

#define LOOP_EXIT_KEEP_MS (5 * 60 * 1000)
#define LOOP_EXIT_KEEP_MAX 4096
#define LOOP_MAX_WORKERS 8

struct loop;
struct loop_watch;
struct loop_timer;

typedef void (*loop_fd_fn)(struct loop *l, int fd, uint32_t events, void *data);
typedef void (*loop_timer_fn)(struct loop *l, void *data);
typedef void (*loop_signal_fn)(struct loop *l, int signo, void *data);
/* status is the raw wait status (WIFEXITED() etc.). */
typedef void (*loop_child_fn)(struct loop *l, pid_t pid, int status, void *data);
/* Runs on a worker thread: may block; must not touch loop state. */
typedef int (*loop_job_fn)(void *data, struct error *err);
/* Runs on the loop thread with the job's return value and error. rc is
 * -ECANCELED when the loop is freed before the job could complete. */
typedef void (*loop_done_fn)(struct loop *l, int rc, const struct error *err, void *data);

int loop_new(struct loop **out, struct error *err);
/* Joins the workers (running jobs finish first), completes queued jobs with
 * -ECANCELED, frees watches, timers and child records. */
void loop_free(struct loop *l);

/* Runs until loop_quit(); returns its status. */
int loop_run(struct loop *l);
/* One iteration waiting at most timeout_ms (-1: until something happens).
 * Returns the number of callbacks run, or a negative errno. */
int loop_run_once(struct loop *l, int timeout_ms);
void loop_quit(struct loop *l, int status);
bool loop_quitting(const struct loop *l);

/* Calls fn when fd has any of `events` (EPOLLIN, EPOLLOUT, ...; EPOLLERR
 * and EPOLLHUP are always reported). The fd stays the caller's: remove the
 * watch before closing it. */
struct loop_watch *loop_watch_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn,
				  void *data, struct error *err);
int loop_watch_set_events(struct loop_watch *w, uint32_t events, struct error *err);
/* Safe from any callback, including the watch's own. NULL is ignored. */
void loop_watch_remove(struct loop_watch *w);

/* Calls fn once after delay_ms (0: on the next iteration, after pending
 * events). The timer is freed when it fires: do not cancel it afterwards.
 * Returns NULL when out of memory. */
struct loop_timer *loop_timer_add(struct loop *l, uint64_t delay_ms, loop_timer_fn fn, void *data);
/* Cancels a timer that has not fired. NULL is ignored. */
void loop_timer_cancel(struct loop_timer *t);

/* Calls fn on every delivery of signo (blocked and read through signalfd). */
int loop_signal_add(struct loop *l, int signo, loop_signal_fn fn, void *data, struct error *err);

void loop_child_begin(struct loop *l);
void loop_child_end(struct loop *l, pid_t pid);
/* fn runs once when pid exits (on the next iteration if it already has).
 * One watcher per pid: -EEXIST otherwise. */
int loop_child_watch(struct loop *l, pid_t pid, loop_child_fn fn, void *data, struct error *err);
/* Forgets a watcher that has not fired. */
void loop_child_unwatch(struct loop *l, pid_t pid);
/* Worker threads only: blocks until pid has exited and stores its wait
 * status. Returns 0, or -EDEADLK on the loop thread, -EEXIST if someone
 * else watches pid, -ECANCELED when the loop is being freed. `loop` is a
 * struct loop * (void * to fit runc_config.wait_child). */
int loop_child_wait(pid_t pid, int *status, void *loop);

/* Runs fn(data) on a worker thread, then done(loop, rc, err, data) on the
 * loop thread. Jobs beyond LOOP_MAX_WORKERS busy workers wait in order. */
int loop_job(struct loop *l, loop_job_fn fn, loop_done_fn done, void *data, struct error *err);

/* Appends a human-readable state summary (DumpStacks). */
void loop_describe(struct loop *l, struct printbuf *pb);

/* Monotonic milliseconds, and nanoseconds. */
uint64_t loop_now_ms(void);
uint64_t loop_now_ns(void);

#endif
