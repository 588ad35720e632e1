/* Event loop core: epoll, fd watches, timers, signals. Children are in
 * loop_child.c, worker jobs in loop_job.c. */
#include "core/loop_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define LOOP_MAX_EVENTS 32

uint64_t loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t loop_now_ms(void)
{
	return loop_now_ns() / 1000000;
}

static void on_signal(struct loop *l, int fd, uint32_t events, void *data)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int signo = (int)si.ssi_signo;

		if (signo == SIGCHLD)
			loop_child_reap(l);
		else if (signo > 0 && signo < _NSIG && l->signals[signo].fn)
			l->signals[signo].fn(l, signo, l->signals[signo].data);
	}
	/* Coalesced SIGCHLDs: reaping is cheap, do it on every wakeup. */
	loop_child_reap(l);
}

static int signals_init(struct loop *l, struct error *err)
{
	sigemptyset(&l->sigmask);
	sigaddset(&l->sigmask, SIGCHLD);
	if (pthread_sigmask(SIG_BLOCK, &l->sigmask, NULL) != 0)
		return error_errno(err, errno, "block SIGCHLD");
	l->sigfd = signalfd(-1, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sigfd < 0)
		return error_errno(err, errno, "signalfd");
	l->sigwatch = loop_watch_add(l, l->sigfd, EPOLLIN, on_signal, NULL, err);
	return l->sigwatch ? 0 : -errno;
}

int loop_new(struct loop **out, struct error *err)
{
	struct loop *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (!l)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	l->owner = pthread_self();
	l->sigfd = l->job_efd = l->cancel_efd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		rc = error_errno(err, errno, "epoll_create1");
		free(l);
		return rc;
	}
	pthread_mutex_init(&l->child_lock, NULL);
	pthread_cond_init(&l->child_cond, NULL);
	pthread_mutex_init(&l->job_lock, NULL);
	pthread_cond_init(&l->job_cond, NULL);
	rc = signals_init(l, err);
	if (rc == 0)
		rc = loop_child_init(l, err);
	if (rc == 0)
		rc = loop_job_init(l, err);
	if (rc < 0) {
		loop_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

static void sweep_watches(struct loop *l)
{
	struct loop_watch **pp = &l->watches;

	while (*pp) {
		struct loop_watch *w = *pp;

		if (w->dead) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	/* Workers blocked on a child give up, then jobs finish: their
	 * completions may still use timers and watches. */
	loop_child_cancel_waiters(l);
	loop_job_fini(l);
	loop_child_fini(l);
	while (l->n_timers)
		loop_timer_cancel(l->timers[0]);
	free(l->timers);
	for (struct loop_watch *w = l->watches; w; w = w->next)
		w->dead = true;
	sweep_watches(l);
	if (l->sigfd >= 0)
		close(l->sigfd);
	close(l->epfd);
	pthread_mutex_destroy(&l->child_lock);
	pthread_cond_destroy(&l->child_cond);
	pthread_mutex_destroy(&l->job_lock);
	pthread_cond_destroy(&l->job_cond);
	free(l);
}

struct loop_watch *loop_watch_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn,
				  void *data, struct error *err)
{
	struct loop_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = {.events = events};

	if (!w) {
		error_set(err, ERR_FAIL, ENOMEM, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;

		error_errno(err, e, "watch fd %d", fd);
		free(w);
		errno = e;
		return NULL;
	}
	w->loop = l;
	w->fd = fd;
	w->events = events;
	w->fn = fn;
	w->data = data;
	w->next = l->watches;
	l->watches = w;
	return w;
}

int loop_watch_set_events(struct loop_watch *w, uint32_t events, struct error *err)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	if (w->events == events)
		return 0;
	if (epoll_ctl(w->loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		return error_errno(err, errno, "watch fd %d", w->fd);
	w->events = events;
	return 0;
}

void loop_watch_remove(struct loop_watch *w)
{
	if (!w || w->dead)
		return;
	/* The fd may already be closed (then the kernel dropped it). */
	epoll_ctl(w->loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	/* Freed after the current batch of events, which may still name it. */
	w->dead = true;
}

/* ---- timers: a min-heap by (due_ms, seq) ---------------------------------------- */

static bool timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void heap_set(struct loop *l, size_t i, struct loop_timer *t)
{
	l->timers[i] = t;
	t->index = i;
}

static void sift_up(struct loop *l, size_t i)
{
	struct loop_timer *t = l->timers[i];

	while (i > 0 && timer_before(t, l->timers[(i - 1) / 2])) {
		heap_set(l, i, l->timers[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(l, i, t);
}

static void sift_down(struct loop *l, size_t i)
{
	struct loop_timer *t = l->timers[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= l->n_timers)
			break;
		if (c + 1 < l->n_timers && timer_before(l->timers[c + 1], l->timers[c]))
			c++;
		if (!timer_before(l->timers[c], t))
			break;
		heap_set(l, i, l->timers[c]);
		i = c;
	}
	heap_set(l, i, t);
}

struct loop_timer *loop_timer_add(struct loop *l, uint64_t delay_ms, loop_timer_fn fn, void *data)
{
	struct loop_timer *t;

	if (l->n_timers == l->cap_timers) {
		size_t cap = l->cap_timers ? 2 * l->cap_timers : 16;
		struct loop_timer **h = realloc(l->timers, cap * sizeof(*h));

		if (!h)
			return NULL;
		l->timers = h;
		l->cap_timers = cap;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->loop = l;
	t->due_ms = loop_now_ms() + delay_ms;
	t->seq = l->timer_seq++;
	t->fn = fn;
	t->data = data;
	heap_set(l, l->n_timers++, t);
	sift_up(l, t->index);
	return t;
}

static void timer_unlink(struct loop_timer *t)
{
	struct loop *l = t->loop;
	size_t i = t->index;

	l->n_timers--;
	if (i == l->n_timers)
		return;
	heap_set(l, i, l->timers[l->n_timers]);
	sift_down(l, i);
	sift_up(l, l->timers[i]->index);
}

void loop_timer_cancel(struct loop_timer *t)
{
	if (!t)
		return;
	timer_unlink(t);
	free(t);
}

int loop_signal_add(struct loop *l, int signo, loop_signal_fn fn, void *data, struct error *err)
{
	sigset_t one;

	if (signo <= 0 || signo >= _NSIG || signo == SIGCHLD)
		return error_set(err, ERR_INVALID_ARG, EINVAL, "signal %d cannot be watched",
				 signo);
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (pthread_sigmask(SIG_BLOCK, &one, NULL) != 0)
		return error_errno(err, errno, "block signal %d", signo);
	sigaddset(&l->sigmask, signo);
	if (signalfd(l->sigfd, &l->sigmask, 0) < 0)
		return error_errno(err, errno, "signalfd");
	l->signals[signo].fn = fn;
	l->signals[signo].data = data;
	return 0;
}

/* Runs the timers that are due, in order. A timer added by a callback for
 * "now" waits for the next iteration, so a 0-delay timer cannot starve
 * events. */
static int run_timers(struct loop *l)
{
	uint64_t now = loop_now_ms(), last = l->timer_seq;
	int ran = 0;

	while (l->n_timers) {
		struct loop_timer *t = l->timers[0];
		loop_timer_fn fn = t->fn;
		void *data = t->data;

		if (t->due_ms > now || t->seq >= last)
			break;
		timer_unlink(t);
		free(t);
		fn(l, data);
		ran++;
	}
	return ran;
}

static int next_timeout(struct loop *l, int timeout_ms)
{
	uint64_t now, due;

	if (!l->n_timers)
		return timeout_ms;
	due = l->timers[0]->due_ms;
	now = loop_now_ms();
	if (due <= now)
		return 0;
	if (timeout_ms >= 0 && (uint64_t)timeout_ms < due - now)
		return timeout_ms;
	return due - now > 60000 ? 60000 : (int)(due - now);
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	int n, ran = 0;

	n = epoll_wait(l->epfd, evs, LOOP_MAX_EVENTS, next_timeout(l, timeout_ms));
	if (n < 0 && errno != EINTR)
		return -errno;
	for (int i = 0; i < n; i++) {
		struct loop_watch *w = evs[i].data.ptr;

		if (w->dead)
			continue;
		w->fn(l, w->fd, evs[i].events, w->data);
		ran++;
	}
	ran += run_timers(l);
	sweep_watches(l);
	return ran;
}

int loop_run(struct loop *l)
{
	while (!l->quit) {
		int rc = loop_run_once(l, -1);

		if (rc < 0)
			return rc;
	}
	return l->status;
}

void loop_quit(struct loop *l, int status)
{
	l->quit = true;
	l->status = status;
}

bool loop_quitting(const struct loop *l)
{
	return l->quit;
}

void loop_describe(struct loop *l, struct printbuf *pb)
{
	size_t watches = 0;

	for (struct loop_watch *w = l->watches; w; w = w->next)
		watches += !w->dead;
	sprintbuf(pb, "event loop: %zu fd watches, %zu timers", watches, l->n_timers);
	if (l->n_timers) {
		uint64_t now = loop_now_ms(), due = l->timers[0]->due_ms;

		sprintbuf(pb, " (next in %llu ms)",
			  (unsigned long long)(due > now ? due - now : 0));
	}
	sprintbuf(pb, "\n");
	loop_job_describe(l, pb);
	loop_child_describe(l, pb);
}
