#ifndef GCS_PROCESS_HOLDERS_H
#define GCS_PROCESS_HOLDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* 1 when a process of group pgid has one of the sockets whose inode
 * numbers are given open (0 entries are skipped), 0 when none has, or a
 * negative errno when /proc cannot be read. */
int process_group_holds(pid_t pgid, const ino_t *inodes, size_t n);

struct loop;
struct holders_wait;
typedef void (*holders_done_fn)(void *data);

/* Waits, on the loop, until no process of group pgid holds either socket
 * of out_ino (0 entries skipped): soon after the child's exit (a shell's
 * last background job), then less and less often. Returns 1 with *w NULL
 * when nobody holds them now (done is not called), or 0 with *w set: done
 * runs once they are let go (or when they cannot be told: a warning is
 * logged), unless holders_wait_cancel(*w) came first. Loop thread only. */
int holders_wait_start(struct loop *l, pid_t pgid, const ino_t out_ino[2], holders_done_fn done,
		       void *data, struct holders_wait **w);
void holders_wait_cancel(struct holders_wait *w);

#endif
