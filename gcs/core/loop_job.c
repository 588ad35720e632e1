/* Worker threads for blocking work. Jobs queue in order; up to
 * LOOP_MAX_WORKERS threads are started on demand and then stay idle. A
 * finished job goes to the done list and an eventfd wakes the loop, which
 * runs its completion. */
#include "core/loop_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/thread.h"

#define WORKER_STACK (256 * 1024)

static void run_completions(struct loop *l, int fd, uint32_t events, void *data)
{
	struct job *list;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&l->job_lock);
	list = l->done;
	l->done = l->done_tail = NULL;
	pthread_mutex_unlock(&l->job_lock);
	while (list) {
		struct job *j = list;

		list = j->next;
		if (j->done)
			j->done(l, j->rc, &j->err, j->data);
		free(j);
	}
}

int loop_job_init(struct loop *l, struct error *err)
{
	l->job_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->job_efd < 0)
		return error_errno(err, errno, "eventfd");
	l->job_watch = loop_watch_add(l, l->job_efd, EPOLLIN, run_completions, NULL, err);
	return l->job_watch ? 0 : -errno;
}

static void *worker(void *arg)
{
	struct loop *l = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&l->job_lock);
	for (;;) {
		struct job *j;

		while (!l->queue && !l->stopping) {
			l->idle++;
			pthread_cond_wait(&l->job_cond, &l->job_lock);
			l->idle--;
		}
		if (!l->queue)
			break;
		j = l->queue;
		l->queue = j->next;
		if (!l->queue)
			l->queue_tail = NULL;
		l->queued--;
		l->running++;
		pthread_mutex_unlock(&l->job_lock);

		error_clear(&j->err);
		j->rc = j->fn(j->data, &j->err);

		pthread_mutex_lock(&l->job_lock);
		l->running--;
		l->jobs_done++;
		j->next = NULL;
		if (l->done_tail)
			l->done_tail->next = j;
		else
			l->done = j;
		l->done_tail = j;
		/* Wake the loop with the lock released: woken first, it would
		 * only block on the lock until this thread runs again (on a
		 * busy 2-CPU VM, a scheduler tick). An extra wake-up finding
		 * the list already taken is harmless. */
		pthread_mutex_unlock(&l->job_lock);
		if (write(l->job_efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow in practice */
		}
		pthread_mutex_lock(&l->job_lock);
	}
	pthread_mutex_unlock(&l->job_lock);
	return NULL;
}

/* Must hold job_lock. */
static int start_worker(struct loop *l, struct error *err)
{
	int rc = thread_start(&l->workers[l->threads], WORKER_STACK, worker, l);

	if (rc != 0)
		return error_errno(err, rc, "start a worker thread");
	l->threads++;
	return 0;
}

int loop_job(struct loop *l, loop_job_fn fn, loop_done_fn done, void *data, struct error *err)
{
	struct job *j = calloc(1, sizeof(*j));
	int rc = 0;

	if (!j)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	j->fn = fn;
	j->done = done;
	j->data = data;
	pthread_mutex_lock(&l->job_lock);
	if (l->stopping) {
		rc = error_set(err, ERR_FAIL, ECANCELED, "the event loop is stopping");
		goto out;
	}
	if (l->idle <= l->queued && l->threads < LOOP_MAX_WORKERS) {
		rc = start_worker(l, err);
		/* With no worker at all the job could never run. */
		if (rc < 0 && l->threads > 0)
			rc = 0;
	}
	if (rc < 0)
		goto out;
	if (l->queue_tail)
		l->queue_tail->next = j;
	else
		l->queue = j;
	l->queue_tail = j;
	l->queued++;
	j = NULL;
out:
	pthread_mutex_unlock(&l->job_lock);
	/* Signalled after the unlock so that the worker does not wake only to
	 * wait for the lock; it checks the queue under the lock, so no wake-up
	 * is lost. */
	if (rc == 0)
		pthread_cond_signal(&l->job_cond);
	free(j);
	return rc;
}

void loop_job_fini(struct loop *l)
{
	struct job *cancelled;

	pthread_mutex_lock(&l->job_lock);
	l->stopping = true;
	cancelled = l->queue;
	l->queue = l->queue_tail = NULL;
	l->queued = 0;
	pthread_cond_broadcast(&l->job_cond);
	pthread_mutex_unlock(&l->job_lock);
	/* Running jobs finish (they must be finite); then their completions
	 * run, still on this (the loop) thread. */
	for (unsigned i = 0; i < l->threads; i++)
		pthread_join(l->workers[i], NULL);
	l->threads = 0;
	if (l->job_efd >= 0) {
		run_completions(l, l->job_efd, EPOLLIN, NULL);
		close(l->job_efd);
		l->job_efd = -1;
	}
	while (cancelled) {
		struct job *j = cancelled;

		cancelled = j->next;
		error_set(&j->err, ERR_FAIL, ECANCELED, "cancelled: the event loop is stopping");
		if (j->done)
			j->done(l, -ECANCELED, &j->err, j->data);
		free(j);
	}
}

void loop_job_describe(struct loop *l, struct printbuf *pb)
{
	pthread_mutex_lock(&l->job_lock);
	sprintbuf(pb, "workers: %u threads (%u idle), %u jobs running, %u queued, %llu done\n",
		  l->threads, l->idle, l->running, l->queued, (unsigned long long)l->jobs_done);
	pthread_mutex_unlock(&l->job_lock);
}
