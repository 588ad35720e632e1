#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <unistd.h>

#define LOOP_BATCH 64

static int epfd = -1;
static bool stopping;

int loop_init(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd < 0 ? -errno : 0;
}

void loop_fini(void)
{
	if (epfd >= 0)
		close(epfd);
	epfd = -1;
}

int loop_add(struct loop_src *s, int fd, uint32_t events, loop_fn fn)
{
	struct epoll_event ev = {.events = events, .data.ptr = s};

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	s->fd = fd;
	s->events = events;
	s->fn = fn;
	return 0;
}

int loop_mod(struct loop_src *s, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = s};

	if (s->fd < 0 || s->events == events)
		return 0;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
		return -errno;
	s->events = events;
	return 0;
}

void loop_del(struct loop_src *s)
{
	if (s->fd < 0)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->fd = -1;
}

void loop_stop(void)
{
	stopping = true;
}

int loop_run(void (*after)(void))
{
	struct epoll_event evs[LOOP_BATCH];

	while (!stopping) {
		int n = epoll_wait(epfd, evs, LOOP_BATCH, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n && !stopping; i++) {
			struct loop_src *s = evs[i].data.ptr;

			/* Removed earlier in this batch: its object may be dying. */
			if (s->fd < 0)
				continue;
			s->fn(s, evs[i].events);
		}
		if (after)
			after();
	}
	return 0;
}
