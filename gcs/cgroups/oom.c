#include "cgroups/oom.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cleanup.h"

static const char *events_file(const struct cgroup_config *cfg)
{
	return cfg->layout == CGROUP_V1 ? "memory.oom_control" : "memory.events";
}

int oom_kill_count(const struct cgroup_config *cfg, const char *cgroups_path, uint64_t *count,
		   struct error *e)
{
	char dir[PATH_MAX], buf[512];
	ssize_t n;

	if (cgroup_dir(cfg, "memory", cgroups_path, dir, sizeof(dir)) < 0)
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "cgroups path too long");
	n = cgroup_read(dir, events_file(cfg), buf, sizeof(buf));
	if (n < 0)
		return error_errno(e, (int)-n, "read %s/%s", dir, events_file(cfg));
	if (!cgroup_kv(buf, "oom_kill", count))
		return error_set(e, ERR_FAIL, ENOTSUP, "%s/%s has no oom_kill counter", dir,
				 events_file(cfg));
	return 0;
}

int oom_watch_open(const struct cgroup_config *cfg, const char *cgroups_path, struct oom_watch *w,
		   struct error *e)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], reg[32];
	_cleanup_close_ int efd = -1, ofd = -1;
	int rc;

	w->fd = w->events_fd = -1;
	w->layout = cfg->layout;
	if (cgroup_dir(cfg, "memory", cgroups_path, dir, sizeof(dir)) < 0)
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "cgroups path too long");
	snprintf(path, sizeof(path), "%s/%s", dir, events_file(cfg));
	ofd = open(path, O_RDONLY | O_CLOEXEC);
	if (ofd < 0)
		return error_errno(e, errno, "open %s", path);
	if (cfg->layout == CGROUP_V2) {
		/* Reading once arms the POLLPRI notification. */
		char buf[512];

		if (pread(ofd, buf, sizeof(buf), 0) < 0)
			return error_errno(e, errno, "read %s", path);
		w->fd = TAKE_FD(ofd);
		return 0;
	}
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return error_errno(e, errno, "eventfd");
	snprintf(reg, sizeof(reg), "%d %d", efd, ofd);
	rc = cgroup_write(dir, "cgroup.event_control", reg);
	if (rc < 0)
		return error_errno(e, -rc, "register OOM event on %s", path);
	w->fd = TAKE_FD(efd);
	w->events_fd = TAKE_FD(ofd);
	return 0;
}

int oom_watch_ack(const struct cgroup_config *cfg, const char *cgroups_path, struct oom_watch *w,
		  uint64_t *count, struct error *e)
{
	if (w->layout == CGROUP_V1) {
		uint64_t n;

		/* Non-blocking: EAGAIN only means nothing new arrived. */
		if (read(w->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			return error_errno(e, errno, "read OOM eventfd");
	} else {
		char buf[512];

		if (pread(w->fd, buf, sizeof(buf), 0) < 0)
			return error_errno(e, errno, "read memory.events");
	}
	return oom_kill_count(cfg, cgroups_path, count, e);
}

void oom_watch_close(struct oom_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->events_fd >= 0)
		close(w->events_fd);
	w->fd = w->events_fd = -1;
}
