/* Shared by stats*.c only: building the Metrics object with Go's omitempty
 * semantics, and remembering an allocation failure instead of checking every
 * call. */
#ifndef GCS_CGROUPS_STATS_INTERNAL_H
#define GCS_CGROUPS_STATS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "cgroups/cgroup.h"

struct mb {
	bool oom; /* an allocation failed somewhere */
};

/* A new object (NULL and mb->oom on failure). */
struct json_object *mb_obj(struct mb *mb);

/* Adds key: v when v != 0 (omitempty). */
void mb_u64(struct mb *mb, struct json_object *o, const char *key, uint64_t v);

/* Adds key: child (taking it); a NULL child is skipped. */
void mb_put(struct mb *mb, struct json_object *o, const char *key, struct json_object *child);

/* Adds key: child when it has members, else drops it. */
void mb_put_nonempty(struct mb *mb, struct json_object *o, const char *key,
		     struct json_object *child);

/* One blkio entry {op, major, minor, value} appended to the list `key` of o
 * (created on first use), at most STATS_MAX_BLKIO entries. */
void mb_blkio(struct mb *mb, struct json_object *o, const char *key, const char *op, uint64_t major,
	      uint64_t minor, uint64_t value);

/* The hugetlb list of m: for each page size with a file
 * hugetlb.<size><suffix> in dir (not the hugetlb.<size>.rsvd.* ones), at
 * most STATS_MAX_HUGETLB, an entry {fill's keys, "pagesize": size}. fill
 * reads that size's files of the cgroup version. No list when there is
 * none (or no dir). */
typedef void mb_hugetlb_fn(struct mb *mb, struct json_object *h, const char *dir, const char *size);
void mb_hugetlb(struct mb *mb, struct json_object *m, const char *dir, const char *suffix,
		mb_hugetlb_fn *fill);

int stats_v1(const struct cgroup_config *cfg, const char *path, struct json_object *m,
	     struct mb *mb);
int stats_v2(const struct cgroup_config *cfg, const char *path, struct json_object *m,
	     struct mb *mb);

#endif
