/* Shared set-up for the storage unit tests: a temporary directory holding the
 * allowed root (run/), a fake sysfs (sys/) and a fake /dev (dev/), loop
 * devices over image files, and a cleanup that runs on every exit path of a
 * case (pass, CHECK failure, SKIP: all go through exit()) and leaves no
 * mount, loop device or directory behind. Loop devices are attached with
 * LO_FLAGS_AUTOCLEAR, so even a crashed case cannot leak one. */
#ifndef LCOW_STORAGE_FIXTURE_H
#define LCOW_STORAGE_FIXTURE_H

#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "storage/scsi_device.h"
#include "storage/storage.h"
#include "storage/mount.h"

#define FX_MAX_LOOPS 8

static struct {
	char dir[64];
	char run[PATH_MAX]; /* the allowed root */
	char sys[PATH_MAX]; /* fake sysfs */
	char dev[PATH_MAX]; /* fake /dev */
	const char *roots[2];
	struct storage_config cfg;
	int loop_fds[FX_MAX_LOOPS];
	int nloops;
} fx;

static inline void fx_fmt(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void fx_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if ((size_t)vsnprintf(buf, PATH_MAX, fmt, ap) >= PATH_MAX)
		unit_fail(__FILE__, __LINE__, "path too long");
	va_end(ap);
}

/* Mount points below fx.dir, deepest first, lazily detached. */
static inline void fx_unmount_all(void)
{
	static char mps[64][PATH_MAX];
	char *line = NULL;
	size_t cap = 0, len = strlen(fx.dir);
	int n = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && n < 64 && getline(&line, &cap, f) > 0) {
		char mp[PATH_MAX];

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
		    strncmp(mp, fx.dir, len) == 0 && mp[len] == '/')
			strcpy(mps[n++], mp);
	}
	free(line);
	if (f)
		fclose(f);
	for (int depth = PATH_MAX; depth >= 0 && n; depth--)
		for (int i = 0; i < n; i++)
			if ((int)strlen(mps[i]) == depth)
				umount2(mps[i], MNT_DETACH);
}

static inline void fx_cleanup(void)
{
	struct error e;

	if (!fx.dir[0])
		return;
	fx_unmount_all();
	for (int i = 0; i < fx.nloops; i++)
		close(fx.loop_fds[i]); /* autoclear detaches once unmounted */
	/* Never crosses into a mount that could not be detached. */
	if (storage_remove_tree(fx.dir, &e) < 0)
		fprintf(stderr, "cleanup: %s\n", e.msg);
	fx.dir[0] = '\0';
}

static inline void fx_mkdirs(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		unit_fail(__FILE__, __LINE__, "mkdir %s: %s", buf, strerror(errno));
}

static inline void fx_init(bool need_root)
{
	if (need_root && geteuid() != 0)
		SKIP("needs root (mounts, loop devices)");
	strcpy(fx.dir, "/tmp/lcow-storage-XXXXXX");
	if (!mkdtemp(fx.dir))
		unit_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
	atexit(fx_cleanup);
	fx_fmt(fx.run, "%s/run", fx.dir);
	fx_fmt(fx.sys, "%s/sys", fx.dir);
	fx_fmt(fx.dev, "%s/dev", fx.dir);
	fx_mkdirs(fx.run);
	fx_mkdirs(fx.sys);
	fx_mkdirs(fx.dev);
	storage_config_init(&fx.cfg);
	fx.roots[0] = fx.run;
	fx.roots[1] = NULL;
	fx.cfg.allowed_roots = fx.roots;
	fx.cfg.sysfs_root = fx.sys;
	fx.cfg.dev_root = fx.dev;
	fx.cfg.device_timeout_ms = 2000;
}

static inline void fx_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		unit_fail(__FILE__, __LINE__, "write %s: %s", path, strerror(errno));
}

/* The whole file (up to size-1 bytes) or NULL. */
static inline char *fx_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static inline void fx_image(const char *path, long long size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0 || ftruncate(fd, size) < 0)
		unit_fail(__FILE__, __LINE__, "image %s: %s", path, strerror(errno));
	close(fd);
}

/* Attaches file to a free loop device; writes "/dev/loopN" to dev. */
static inline int fx_loop(const char *file, bool partscan, char *dev)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	int backing = open(file, O_RDWR | O_CLOEXEC);

	if (ctl < 0 || backing < 0)
		SKIP("no loop devices: %s", strerror(errno));
	if (fx.nloops == FX_MAX_LOOPS)
		unit_fail(__FILE__, __LINE__, "too many loop devices");
	for (int tries = 0; tries < 50; tries++) {
		struct loop_config lc = {.fd = (unsigned)backing};
		int n = ioctl(ctl, LOOP_CTL_GET_FREE), fd;

		lc.info.lo_flags = LO_FLAGS_AUTOCLEAR | (partscan ? LO_FLAGS_PARTSCAN : 0);
		if (n < 0)
			unit_fail(__FILE__, __LINE__, "LOOP_CTL_GET_FREE: %s", strerror(errno));
		fx_fmt(dev, "/dev/loop%d", n);
		fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && ioctl(fd, LOOP_CONFIGURE, &lc) == 0) {
			fx.loop_fds[fx.nloops++] = fd;
			close(backing);
			close(ctl);
			return n;
		}
		if (fd >= 0)
			close(fd);
		usleep(10000); /* someone else took it: try the next free one */
	}
	unit_fail(__FILE__, __LINE__, "no free loop device for %s", file);
}

/* Fake sysfs for one disk: controller's vmbus entry host<host>, and
 * <host>:0:0:<lun>/block/<name> as a directory or a symlink to target. */
static inline void fx_scsi_disk(unsigned controller, unsigned host, unsigned lun, const char *name,
				const char *target)
{
	char path[PATH_MAX];

	fx_fmt(path, "%s/bus/vmbus/devices/%s/host%u", fx.sys, scsi_controller_guids[controller],
	       host);
	fx_mkdirs(path);
	fx_fmt(path, "%s/bus/scsi/devices/%u:0:0:%u/block", fx.sys, host, lun);
	fx_mkdirs(path);
	fx_fmt(path, "%s/bus/scsi/devices/%u:0:0:%u/block/%s", fx.sys, host, lun, name);
	if (target ? symlink(target, path) : mkdir(path, 0755))
		unit_fail(__FILE__, __LINE__, "fake sysfs %s: %s", path, strerror(errno));
}

/* A loop device over a fresh image, registered as controller/LUN. */
static inline void fx_scsi_loop(const char *image, long long size, unsigned controller,
				unsigned lun, char *dev)
{
	char name[32];

	fx_image(image, size);
	fx_loop(image, false, dev);
	snprintf(name, sizeof(name), "%s", strrchr(dev, '/') + 1);
	fx_scsi_disk(controller, controller + 3, lun, name, NULL);
	fx.cfg.dev_root = "/dev";
}

/* Fields of mount point mp in mountinfo: source, per-mount options,
 * optional fields (propagation). false when mp is not a mount point. */
static inline bool fx_mountinfo(const char *mp, char *source, char *opts, char *optional)
{
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && getline(&line, &cap, f) > 0) {
		char point[PATH_MAX], o[512], *sep = strstr(line, " - ");
		int pos = 0;

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s %511s %n", point, o, &pos) < 2 ||
		    strcmp(point, mp) != 0)
			continue;
		found = true; /* keep going: the last entry is the top of the stack */
		if (opts)
			strcpy(opts, o);
		if (optional) {
			size_t n = (size_t)(sep - (line + pos));

			memcpy(optional, line + pos, n);
			optional[n] = '\0';
		}
		if (source && sscanf(sep + 3, "%*s %4095s", source) != 1)
			source[0] = '\0';
	}
	free(line);
	if (f)
		fclose(f);
	return found;
}

static inline bool fx_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* In the storage VM: controller 0's VMBus GUID -> host<N> of the
 * virtio-scsi host that holds `lun`; bus/scsi is the kernel's own, /dev the
 * real one (tests/integration/test_storage_vm.py). */
static inline void fx_real_scsi_sysfs(unsigned lun)
{
	char path[PATH_MAX], want[32];
	struct dirent *de;
	unsigned host = 0;
	bool found = false;
	DIR *d = opendir("/sys/bus/scsi/devices");

	CHECK(d != NULL);
	while (!found && (de = readdir(d))) {
		if (sscanf(de->d_name, "%u:", &host) != 1)
			continue;
		snprintf(want, sizeof(want), "%u:0:0:%u", host, lun);
		found = strcmp(de->d_name, want) == 0;
	}
	closedir(d);
	CHECK(found);
	fx_fmt(path, "%s/bus/vmbus/devices/%s/host%u", fx.sys, scsi_controller_guids[0], host);
	fx_mkdirs(path);
	fx_fmt(path, "%s/bus/scsi", fx.sys);
	CHECK(symlink("/sys/bus/scsi", path) == 0);
	fx.cfg.dev_root = "/dev";
}

/* Fails the case with the runtime's message. */
#define CHECK_STORAGE(expr, e)                                                                     \
	do {                                                                                       \
		int _r = (expr);                                                                   \
		if (_r < 0)                                                                        \
			unit_fail(__FILE__, __LINE__, "%s: %d: %s", #expr, _r, (e)->msg);          \
	} while (0)

#endif
