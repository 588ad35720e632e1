/* Scope-bound release of fds and heap memory (as in crun's libcrun):
 * `_cleanup_close_ int fd = ...;` closes fd when it leaves scope unless it was
 * handed on with TAKE_FD(fd). */
#ifndef LCOW_CLEANUP_H
#define LCOW_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))

/* Returns the fd and disarms its cleanup. */
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
