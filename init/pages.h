/* Memory for /init's few large, short-lived tables (the modules index and
 * plan), straight from mmap(2), zero-filled. Not malloc: musl's allocator
 * adds about 9 KB to a PID 1 that is to stay under 64 KB (init.mk), and
 * these tables are each allocated once and freed whole. */
#ifndef LCOW_INIT_PAGES_H
#define LCOW_INIT_PAGES_H

#include <stddef.h>
#include <sys/mman.h>

static inline void *pages_alloc(size_t size)
{
	void *p = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static inline void pages_free(void *p, size_t size)
{
	if (p)
		munmap(p, size ? size : 1);
}

#endif
