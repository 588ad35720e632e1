#include "cgroups.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "cleanup.h"
#include "cmdline.h"
#include "file.h"
#include "klog.h"

#define CG_FLAGS (MS_NODEV | MS_NOSUID | MS_NOEXEC)
#define CG_MAX 32

static bool forced_v1(void)
{
	char cmdline[8192];

	if (init_cmdline_read(cmdline, sizeof(cmdline)) < 0)
		return false; /* no way to ask for v1: try v2 as usual */
	return init_cmdline_has(cmdline, "hcsshim.cgroup=v1");
}

/* runc implements the device cgroup of v2 with BPF_CGROUP_DEVICE programs:
 * ENOSYS (no bpf) or EINVAL (no cgroup BPF / device hook) means v2 would
 * leave containers without device control. EPERM still proves the hook. */
static int bpf_device_probe(void)
{
	_cleanup_close_ int fd = open(INIT_CGROUP_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	union bpf_attr attr;

	if (fd < 0)
		return -errno;
	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	if (syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)) == 0 || errno == EPERM)
		return 0;
	return -errno;
}

/* Children of the root get no controller unless the root delegates it. One
 * write per controller, so one refusal does not cost the others. */
static void enable_controllers(void)
{
	char list[1024], op[INIT_CGROUP_NAME_MAX + 2];
	char *save = NULL, *name;
	_cleanup_close_ int fd = -1;

	if (init_read_text(INIT_CGROUP_ROOT "/cgroup.controllers", list, sizeof(list)) < 0)
		return;
	fd = open(INIT_CGROUP_ROOT "/cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		klog(KLOG_WARN, "cgroup v2: open cgroup.subtree_control: %s", strerror(errno));
		return;
	}
	for (name = strtok_r(list, " \n", &save); name; name = strtok_r(NULL, " \n", &save)) {
		int n = snprintf(op, sizeof(op), "+%s", name);

		if (n >= (int)sizeof(op) || write(fd, op, n) != n)
			klog(KLOG_WARN, "cgroup v2: cannot enable %s: %s", name, strerror(errno));
	}
}

/* Returns 0 with cgroup2 mounted and usable, else a negative errno with
 * nothing left mounted. */
static int try_v2(void)
{
	int r;

	/* favordynmods (Linux 6.0+): moving a task between cgroups then costs
	 * no RCU grace period (percpu rwsem held in its slow mode), which
	 * under a hypervisor was tens of ms at each move: the gcs's own at
	 * start-up, every container's. Fork and exit pay an atomic instead.
	 * Older kernels refuse the option: mount without it. */
	if (mount("cgroup2", INIT_CGROUP_ROOT, "cgroup2", CG_FLAGS, "favordynmods") < 0 &&
	    mount("cgroup2", INIT_CGROUP_ROOT, "cgroup2", CG_FLAGS, NULL) < 0) {
		r = -errno;
		klog(KLOG_INFO, "cgroup v2: mount failed: %s", strerror(-r));
		return r;
	}
	if (access(INIT_CGROUP_ROOT "/cgroup.controllers", F_OK) < 0) {
		r = -errno;
		klog(KLOG_INFO, "cgroup v2: no cgroup.controllers: %s", strerror(-r));
		goto fallback;
	}
	r = bpf_device_probe();
	if (r < 0) {
		klog(KLOG_INFO, "cgroup v2: BPF device control unusable: %s", strerror(-r));
		goto fallback;
	}
	enable_controllers();
	klog(KLOG_INFO, "cgroup: using v2");
	return 0;
fallback:
	if (umount2(INIT_CGROUP_ROOT, 0) < 0)
		umount2(INIT_CGROUP_ROOT, MNT_DETACH);
	return r;
}

/* Reads one unsigned decimal field; returns false when there is none. */
static bool parse_field(char **p, unsigned long *v)
{
	char *end;

	while (**p == ' ' || **p == '\t')
		(*p)++;
	if (**p < '0' || **p > '9')
		return false;
	*v = strtoul(*p, &end, 10);
	*p = end;
	return true;
}

/* "name hierarchy num_cgroups enabled"; *name is set when enabled is set. */
static int parse_line(char *line, const char **name)
{
	unsigned long field[3];
	char *p;

	*name = NULL;
	line += strspn(line, " \t");
	if (*line == '\0' || *line == '#')
		return 0;
	p = line + strcspn(line, " \t");
	if (*p == '\0' || p - line > INIT_CGROUP_NAME_MAX)
		return -EINVAL;
	*p++ = '\0';
	for (int i = 0; i < 3; i++)
		if (!parse_field(&p, &field[i]))
			return -EINVAL;
	if (p[strspn(p, " \t\r")] != '\0')
		return -EINVAL;
	if (field[2])
		*name = line;
	return 0;
}

int init_cgroups_parse_v1(char *text, const char **names, int max)
{
	char *save = NULL, *line;
	int count = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *name;

		if (parse_line(line, &name) < 0)
			return -EINVAL;
		if (!name)
			continue;
		if (count == max)
			return -ENOSPC;
		names[count++] = name;
	}
	return count;
}

static bool mount_v1_controller(const char *name)
{
	char path[sizeof(INIT_CGROUP_ROOT) + INIT_CGROUP_NAME_MAX + 1];

	snprintf(path, sizeof(path), INIT_CGROUP_ROOT "/%s", name);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		klog(KLOG_WARN, "cgroup v1: mkdir %s: %s", path, strerror(errno));
		return false;
	}
	if (mount(name, path, "cgroup", CG_FLAGS, name) == 0)
		return true;
	klog(KLOG_WARN, "cgroup v1: mount %s: %s", path, strerror(errno));
	rmdir(path);
	return false;
}

static int setup_v1(void)
{
	char text[4096];
	const char *names[CG_MAX];
	int n, r, mounted = 0;

	r = init_read_text("/proc/cgroups", text, sizeof(text));
	if (r < 0) {
		klog(KLOG_ERR, "cgroup v1: read /proc/cgroups: %s", strerror(-r));
		return r;
	}
	n = init_cgroups_parse_v1(text, names, CG_MAX);
	if (n < 0) {
		klog(KLOG_ERR, "cgroup v1: cannot parse /proc/cgroups: %s", strerror(-n));
		return n;
	}
	if (mount("cgroup_root", INIT_CGROUP_ROOT, "tmpfs", CG_FLAGS, "mode=0755") < 0) {
		r = -errno;
		klog(KLOG_ERR, "cgroup v1: mount tmpfs on %s: %s", INIT_CGROUP_ROOT, strerror(-r));
		return r;
	}
	for (int i = 0; i < n; i++)
		mounted += mount_v1_controller(names[i]);
	if (mounted == 0) {
		klog(KLOG_ERR, "cgroup v1: no controller could be mounted");
		return -ENOENT;
	}
	klog(KLOG_INFO, "cgroup: using v1 (%d of %d controllers)", mounted, n);
	return 0;
}

int init_cgroups_setup(const struct init_options *o)
{
	(void)o;
	if (forced_v1())
		klog(KLOG_INFO, "cgroup: hcsshim.cgroup=v1 on the kernel command line");
	else if (try_v2() == 0)
		return 0;
	return setup_v1();
}
