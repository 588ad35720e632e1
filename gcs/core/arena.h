/* A request-scoped allocator: everything a decoded request owns (messages,
 * strings, json-c trees) is released at once by arena_free(), so handlers
 * never free pieces of a request. Data a handler keeps beyond the request
 * must be copied (or json_object_get() for trees). Not thread-safe. */
#ifndef GCS_CORE_ARENA_H
#define GCS_CORE_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_new(void);
void arena_free(struct arena *a);

/* Zeroed memory aligned for any type, or NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);

/* Runs fn(p) at arena_free() (latest first). Returns 0 or -ENOMEM; on
 * failure fn(p) has already been called. */
int arena_defer(struct arena *a, void (*fn)(void *), void *p);

/* Bytes handed out so far (for diagnostics). */
size_t arena_used(const struct arena *a);

#endif
