/* Who still holds a socket a UVM process was given as its stdio.
 *
 * A process without a console writes into its stdout/stderr connection
 * itself (nothing to relay). Its output is delivered once no process of its
 * process group holds the connection any more: each holder's writes are
 * then in the socket, and the last close has sent the host its end of file.
 * The child leads a new session and group (spawn.c); without a terminal no
 * shell does job control, so its background children stay in its group
 * unless they leave it on purpose (daemons, which also let go of their
 * stdio). Zombies hold no fds. Usually the group is empty once the child is
 * reaped: one kill(2) says so, and /proc is only read when it is not. */
#include "process/holders.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/small_file.h"

/* The process group of pid, from /proc/<pid>/stat (after the last ')':
 * the name may hold anything). */
static int group_of(int proc, const char *pid, pid_t *pgid)
{
	char path[300], buf[512], *p;
	int sess, pgrp, ppid;
	char state;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stat", pid);
	n = small_file_read_at(proc, path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d %d %d", &state, &ppid, &pgrp, &sess) != 4)
		return -EIO;
	*pgid = pgrp;
	return 0;
}

static bool holds(int proc, const char *pid, const char targets[][32], size_t n)
{
	char path[300], link[64];
	struct dirent *e;
	bool found = false;
	int fd;
	DIR *d;

	snprintf(path, sizeof(path), "%s/fd", pid);
	fd = openat(proc, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	while (!found && (e = readdir(d))) {
		ssize_t len = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);

		if (len <= 0)
			continue;
		link[len] = '\0';
		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(link, targets[i]) == 0;
	}
	closedir(d);
	return found;
}

int process_group_holds(pid_t pgid, const ino_t *inodes, size_t n)
{
	char targets[2][32];
	struct dirent *e;
	int proc, found = 0;
	size_t k = 0;
	DIR *d;

	for (size_t i = 0; i < n && k < 2; i++)
		if (inodes[i])
			snprintf(targets[k++], sizeof(targets[0]), "socket:[%lu]",
				 (unsigned long)inodes[i]);
	if (k == 0 || (kill(-pgid, 0) < 0 && errno == ESRCH))
		return 0;
	proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc < 0)
		return -errno;
	d = fdopendir(proc);
	if (!d) {
		close(proc);
		return -errno;
	}
	while (!found && (e = readdir(d))) {
		pid_t g = 0;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		if (group_of(dirfd(d), e->d_name, &g) == 0 && g == pgid)
			found = holds(dirfd(d), e->d_name, (const char(*)[32])targets, k);
	}
	closedir(d);
	return found;
}

/* How often a group that outlives the child is looked at. */
#define HOLDERS_FIRST_MS 10
#define HOLDERS_MAX_MS 500

struct holders_wait {
	struct loop *loop;
	pid_t pgid;
	ino_t ino[2];
	unsigned delay_ms;
	struct loop_timer *timer;
	holders_done_fn done;
	void *data;
};

static void look_again(struct loop *l, void *data)
{
	struct holders_wait *w = data;
	int rc = process_group_holds(w->pgid, w->ino, 2);

	w->timer = NULL;
	if (rc > 0) {
		w->delay_ms = w->delay_ms * 2 > HOLDERS_MAX_MS ? HOLDERS_MAX_MS : w->delay_ms * 2;
		w->timer = loop_timer_add(l, w->delay_ms, look_again, w);
		if (w->timer)
			return;
		rc = -ENOMEM;
	}
	if (rc < 0)
		log_warn("process group %d: cannot tell who holds its output (%s): taken as "
			 "delivered",
			 (int)w->pgid, strerror(-rc));
	w->done(w->data);
	free(w);
}

int holders_wait_start(struct loop *l, pid_t pgid, const ino_t out_ino[2], holders_done_fn done,
		       void *data, struct holders_wait **out)
{
	struct holders_wait *w;

	*out = NULL;
	if (process_group_holds(pgid, out_ino, 2) == 0)
		return 1;
	w = calloc(1, sizeof(*w));
	if (w) {
		*w = (struct holders_wait){.loop = l,
					   .pgid = pgid,
					   .ino = {out_ino[0], out_ino[1]},
					   .delay_ms = HOLDERS_FIRST_MS,
					   .done = done,
					   .data = data};
		w->timer = loop_timer_add(l, w->delay_ms, look_again, w);
	}
	if (!w || !w->timer) {
		free(w);
		log_warn("process group %d: out of memory to wait for its output: taken as "
			 "delivered",
			 (int)pgid);
		return 1;
	}
	*out = w;
	return 0;
}

void holders_wait_cancel(struct holders_wait *w)
{
	if (!w)
		return;
	loop_timer_cancel(w->timer);
	free(w);
}
