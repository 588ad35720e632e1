/* The backend's single-threaded event loop (epoll).
 *
 * Every fd the backend watches is a struct loop_src embedded in the object it
 * belongs to. Objects are never freed while a batch of events is being
 * dispatched: a source removed with loop_del() gets fd -1 and its pending
 * events are skipped; owners free memory from the after-batch hook. */
#ifndef VSOCK_LOOP_H
#define VSOCK_LOOP_H

#include <stdint.h>

struct loop_src;
typedef void (*loop_fn)(struct loop_src *src, uint32_t events);

struct loop_src {
	int fd; /* -1 when not registered */
	uint32_t events;
	loop_fn fn;
};

int loop_init(void);
void loop_fini(void);

/* Registers fd (not owned) with the given epoll events (level-triggered). */
int loop_add(struct loop_src *s, int fd, uint32_t events, loop_fn fn);
/* Changes the watched events; a no-op when they are unchanged. */
int loop_mod(struct loop_src *s, uint32_t events);
/* Unregisters (does not close) the fd. Safe on an unregistered source. */
void loop_del(struct loop_src *s);

/* Dispatches events until loop_stop(); calls after() after every batch.
 * Returns 0, or a negative errno when epoll fails. */
int loop_run(void (*after)(void));
void loop_stop(void);

#endif
