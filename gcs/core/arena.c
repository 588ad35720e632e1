#include "core/arena.h"

#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 2048u
#define ARENA_ALIGN alignof(max_align_t)

struct chunk {
	struct chunk *next;
	size_t used, size;
	alignas(max_align_t) unsigned char data[];
};

struct deferred {
	struct deferred *next;
	void (*fn)(void *);
	void *p;
};

struct arena {
	struct chunk *chunks;
	struct deferred *deferred;
	size_t total;
};

struct arena *arena_new(void)
{
	return calloc(1, sizeof(struct arena));
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	while (a->deferred) {
		struct deferred *d = a->deferred;

		a->deferred = d->next;
		d->fn(d->p);
		free(d);
	}
	while (a->chunks) {
		struct chunk *c = a->chunks;

		a->chunks = c->next;
		free(c);
	}
	free(a);
}

static struct chunk *chunk_new(size_t size)
{
	struct chunk *c;

	if (size > SIZE_MAX - sizeof(*c))
		return NULL;
	c = malloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	c->next = NULL;
	c->used = 0;
	c->size = size;
	return c;
}

void *arena_alloc(struct arena *a, size_t size)
{
	struct chunk *c = a->chunks;
	size_t need;
	void *p;

	if (size > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	need = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (!c || c->size - c->used < need) {
		/* A big block gets its own chunk behind the current one, so
		 * the space left in the current chunk stays usable. */
		c = chunk_new(need > ARENA_CHUNK / 2 ? need : ARENA_CHUNK);
		if (!c)
			return NULL;
		if (need > ARENA_CHUNK / 2 && a->chunks) {
			c->next = a->chunks->next;
			a->chunks->next = c;
		} else {
			c->next = a->chunks;
			a->chunks = c;
		}
	}
	p = c->data + c->used;
	c->used += need;
	a->total += size;
	memset(p, 0, size);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		return NULL;
	p = arena_alloc(a, len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

int arena_defer(struct arena *a, void (*fn)(void *), void *p)
{
	struct deferred *d = malloc(sizeof(*d));

	if (!d) {
		fn(p);
		return -ENOMEM;
	}
	/* Deferred records are malloc'ed, not arena memory, so that a full
	 * arena can still register its cleanups; they are freed here. */
	d->fn = fn;
	d->p = p;
	d->next = a->deferred;
	a->deferred = d;
	return 0;
}

size_t arena_used(const struct arena *a)
{
	return a->total;
}
