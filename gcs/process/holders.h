#ifndef GCS_PROCESS_HOLDERS_H
#define GCS_PROCESS_HOLDERS_H

#include <stddef.h>
#include <sys/types.h>

/* 1 when a process of group pgid has one of the sockets whose inode
 * numbers are given open (0 entries are skipped), 0 when none has, or a
 * negative errno when /proc cannot be read. */
int process_group_holds(pid_t pgid, const ino_t *inodes, size_t n);

#endif
