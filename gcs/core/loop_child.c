/* The one reaper: SIGCHLD (through the loop's signalfd) triggers
 * waitpid(-1, WNOHANG) until no child is left to collect. Each status goes to
 * the watcher of its pid (a callback on the loop thread or a worker blocked
 * in loop_child_wait), or is kept for a watcher that registers later.
 *
 * A worker blocked in loop_child_wait (runc, tools) does not wait for the
 * reaper, though: it polls a pidfd of its child, which turns readable the
 * moment the child exits, and reaps it itself, under child_lock like the
 * reaper (whichever comes first collects it; the zombie keeps its pid until
 * then, so neither can take a stranger's status). That saves the loop's
 * wake-up and a condition-variable hand-off on every runc call. */
#include "core/loop_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434 /* the same on every architecture */
#endif

struct deferred_exit {
	pid_t pid;
	int status;
	loop_child_fn fn;
	void *data;
};

int loop_child_init(struct loop *l, struct error *err)
{
	l->cancel_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->cancel_efd < 0)
		return error_errno(err, errno, "eventfd");
	return 0;
}

void loop_child_cancel_waiters(struct loop *l)
{
	uint64_t one = 1;

	pthread_mutex_lock(&l->child_lock);
	l->closing = true;
	pthread_cond_broadcast(&l->child_cond);
	/* Never read: it stays readable for every poller. */
	if (l->cancel_efd >= 0 && write(l->cancel_efd, &one, sizeof(one)) < 0) {
		/* cannot fail for a fresh eventfd */
	}
	pthread_mutex_unlock(&l->child_lock);
}

/* After the workers are joined: only callback watchers are left. */
void loop_child_fini(struct loop *l)
{
	pthread_mutex_lock(&l->child_lock);
	while (l->child_watches) {
		struct child_watch *cw = l->child_watches;

		l->child_watches = cw->next;
		if (cw->fn)
			free(cw);
	}
	while (l->exits) {
		struct child_exit *e = l->exits;

		l->exits = e->next;
		free(e);
	}
	pthread_mutex_unlock(&l->child_lock);
	if (l->cancel_efd >= 0)
		close(l->cancel_efd);
	l->cancel_efd = -1;
}

/* Must hold child_lock. */
static struct child_exit *take_exit(struct loop *l, pid_t pid)
{
	for (struct child_exit **pp = &l->exits; *pp; pp = &(*pp)->next) {
		struct child_exit *e = *pp;

		if (e->pid == pid) {
			*pp = e->next;
			l->n_exits--;
			return e;
		}
	}
	return NULL;
}

/* Must hold child_lock. Drops expired records and the oldest beyond the cap
 * (the list is newest first). */
static void expire_exits(struct loop *l, uint64_t now)
{
	size_t kept = 0;

	for (struct child_exit **pp = &l->exits; *pp;) {
		struct child_exit *e = *pp;

		if (kept >= LOOP_EXIT_KEEP_MAX || now - e->when_ms > LOOP_EXIT_KEEP_MS) {
			*pp = e->next;
			l->n_exits--;
			free(e);
			continue;
		}
		kept++;
		pp = &e->next;
	}
}

/* Must hold child_lock. */
static void keep_exit(struct loop *l, pid_t pid, int status)
{
	struct child_exit *e = take_exit(l, pid);

	if (!e)
		e = malloc(sizeof(*e));
	if (!e)
		return; /* the status is lost; nobody may ever ask for it */
	e->pid = pid;
	e->status = status;
	e->when_ms = loop_now_ms();
	e->next = l->exits;
	l->exits = e;
	l->n_exits++;
	expire_exits(l, e->when_ms);
}

/* Must hold child_lock. */
static struct child_watch *find_watch(struct loop *l, pid_t pid, bool unlink)
{
	for (struct child_watch **pp = &l->child_watches; *pp; pp = &(*pp)->next) {
		struct child_watch *cw = *pp;

		if (cw->pid == pid) {
			if (unlink)
				*pp = cw->next;
			return cw;
		}
	}
	return NULL;
}

void loop_child_reap(struct loop *l)
{
	for (;;) {
		struct child_watch *cw;
		int status;
		pid_t pid;

		pthread_mutex_lock(&l->child_lock);
		pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0) {
			pthread_mutex_unlock(&l->child_lock);
			return;
		}
		l->reaped++;
		cw = find_watch(l, pid, true);
		if (!cw) {
			keep_exit(l, pid, status);
		} else if (!cw->fn) {
			cw->done = true;
			cw->status = status;
			pthread_cond_broadcast(&l->child_cond);
			cw = NULL;
		}
		pthread_mutex_unlock(&l->child_lock);
		if (cw) {
			cw->fn(l, pid, status, cw->data);
			free(cw);
		}
	}
}

void loop_child_begin(struct loop *l)
{
	pthread_mutex_lock(&l->child_lock);
}

void loop_child_end(struct loop *l, pid_t pid)
{
	if (pid > 0)
		free(take_exit(l, pid));
	pthread_mutex_unlock(&l->child_lock);
}

static void deliver_deferred(struct loop *l, void *data)
{
	struct deferred_exit *d = data;

	d->fn(l, d->pid, d->status, d->data);
	free(d);
}

int loop_child_watch(struct loop *l, pid_t pid, loop_child_fn fn, void *data, struct error *err)
{
	struct child_watch *cw;
	struct child_exit *e;
	int rc = 0;

	if (pid <= 0 || !fn)
		return error_set(err, ERR_INVALID_ARG, EINVAL, "cannot watch pid %d", (int)pid);
	pthread_mutex_lock(&l->child_lock);
	if (find_watch(l, pid, false)) {
		rc = error_set(err, ERR_FAIL, EEXIST, "pid %d is already watched", (int)pid);
		goto out;
	}
	e = take_exit(l, pid);
	if (e) {
		struct deferred_exit *d = malloc(sizeof(*d));

		if (!d || !loop_timer_add(l, 0, deliver_deferred, d)) {
			free(d);
			keep_exit(l, e->pid, e->status);
			free(e);
			rc = error_set(err, ERR_FAIL, ENOMEM, "out of memory");
			goto out;
		}
		*d = (struct deferred_exit){
			.pid = pid, .status = e->status, .fn = fn, .data = data};
		free(e);
		goto out;
	}
	cw = calloc(1, sizeof(*cw));
	if (!cw) {
		rc = error_set(err, ERR_FAIL, ENOMEM, "out of memory");
		goto out;
	}
	cw->pid = pid;
	cw->fn = fn;
	cw->data = data;
	cw->next = l->child_watches;
	l->child_watches = cw;
out:
	pthread_mutex_unlock(&l->child_lock);
	return rc;
}

void loop_child_unwatch(struct loop *l, pid_t pid)
{
	struct child_watch *cw;

	pthread_mutex_lock(&l->child_lock);
	cw = find_watch(l, pid, false);
	if (cw && cw->fn) {
		find_watch(l, pid, true);
		free(cw);
	}
	pthread_mutex_unlock(&l->child_lock);
}

/* Called with child_lock held and cw registered; returns with it held.
 * Waits for pid's exit on a pidfd and reaps it, unless the reaper did
 * first (cw->done either way). Without a pidfd (a kernel older than 5.3, or
 * pid not our child) it returns at once and the caller waits for the
 * reaper, as it does when the loop is closing. */
static void wait_on_pidfd(struct loop *l, struct child_watch *cw)
{
	struct pollfd p[2];
	int fd, st;

	/* Opened under the lock: the child cannot have been reaped yet
	 * (cw would be done), so the pid is still ours. */
	fd = (int)syscall(SYS_pidfd_open, cw->pid, 0);
	if (fd < 0)
		return;
	p[0] = (struct pollfd){.fd = fd, .events = POLLIN};
	p[1] = (struct pollfd){.fd = l->cancel_efd, .events = POLLIN};
	pthread_mutex_unlock(&l->child_lock);
	while (poll(p, 2, -1) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&l->child_lock);
	close(fd);
	if (!cw->done && waitpid(cw->pid, &st, WNOHANG) == cw->pid) {
		l->reaped++;
		find_watch(l, cw->pid, true);
		cw->status = st;
		cw->done = true;
	}
}

int loop_child_wait(pid_t pid, int *status, void *loop)
{
	struct loop *l = loop;
	struct child_watch cw = {.pid = pid};
	struct child_exit *e;
	int rc = 0;

	if (pthread_equal(pthread_self(), l->owner))
		return -EDEADLK;
	pthread_mutex_lock(&l->child_lock);
	if (find_watch(l, pid, false)) {
		rc = -EEXIST;
		goto out;
	}
	e = take_exit(l, pid);
	if (e) {
		*status = e->status;
		free(e);
		goto out;
	}
	cw.next = l->child_watches;
	l->child_watches = &cw;
	if (!l->closing)
		wait_on_pidfd(l, &cw);
	while (!cw.done && !l->closing)
		pthread_cond_wait(&l->child_cond, &l->child_lock);
	if (cw.done) {
		*status = cw.status;
	} else {
		find_watch(l, pid, true);
		rc = -ECANCELED;
	}
out:
	pthread_mutex_unlock(&l->child_lock);
	return rc;
}

void loop_child_describe(struct loop *l, struct printbuf *pb)
{
	uint64_t now = loop_now_ms();

	pthread_mutex_lock(&l->child_lock);
	sprintbuf(pb, "reaper: %llu children reaped\n", (unsigned long long)l->reaped);
	for (struct child_watch *cw = l->child_watches; cw; cw = cw->next)
		sprintbuf(pb, "  pid %d: running, waited for by %s\n", (int)cw->pid,
			  cw->fn ? "a callback" : "a worker thread");
	for (struct child_exit *e = l->exits; e; e = e->next)
		sprintbuf(pb, "  pid %d: exited %llu ms ago, status 0x%x, not claimed\n",
			  (int)e->pid, (unsigned long long)(now - e->when_ms), (unsigned)e->status);
	pthread_mutex_unlock(&l->child_lock);
}
