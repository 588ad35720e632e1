#include "boot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boottime.h"
#include "klog.h"
#include "options.h"

#define BOOT_TIMED_STEPS_MAX 16

/* The last run's times (init_boot_times). */
static struct {
	uint64_t other_ns; /* mounts, directories, links */
	size_t n_steps;
	struct {
		const char *name;
		uint64_t ns;
	} steps[BOOT_TIMED_STEPS_MAX];
} boot_times;

static void note_time(const struct boot_op *op, uint64_t ns)
{
	if (op->kind != BOOT_STEP) {
		boot_times.other_ns += ns;
		return;
	}
	if (boot_times.n_steps < BOOT_TIMED_STEPS_MAX) {
		boot_times.steps[boot_times.n_steps].name = op->path;
		boot_times.steps[boot_times.n_steps++].ns = ns;
	}
}

size_t init_boot_times(char *buf, size_t len)
{
	size_t used;
	int n;

	if (!len)
		return 0;
	n = snprintf(buf, len, "mounts=%llu", (unsigned long long)(boot_times.other_ns / 1000));
	used = n < 0 ? 0 : (size_t)n;
	for (size_t i = 0; i < boot_times.n_steps && used < len; i++) {
		const char *name = boot_times.steps[i].name;

		if (!strncmp(name, "init_", 5))
			name += 5;
		n = snprintf(buf + used, len - used, ",%s=%llu", name,
			     (unsigned long long)(boot_times.steps[i].ns / 1000));
		used += n < 0 ? 0 : (size_t)n;
	}
	if (used >= len) {
		used = len - 1;
		buf[used] = '\0';
	}
	return used;
}

static int boot_mount(const struct boot_op *op)
{
	if (mount(op->source, op->path, op->fstype, op->mflags, op->data) == 0)
		return 0;
	/* The kernel mounts devtmpfs itself with CONFIG_DEVTMPFS_MOUNT on a
	 * disk root. */
	if (errno == EBUSY && (op->flags & BOOT_OK_EBUSY))
		return 0;
	return -errno;
}

static int boot_one(const struct boot_op *op, const struct init_options *o)
{
	switch (op->kind) {
	case BOOT_MOUNT:
		return boot_mount(op);
	case BOOT_MKDIR:
		return mkdir(op->path, op->mode) == 0 || errno == EEXIST ? 0 : -errno;
	case BOOT_SYMLINK:
		return symlink(op->source, op->path) == 0 || errno == EEXIST ? 0 : -errno;
	case BOOT_STEP:
		return op->step(o);
	}
	return -EINVAL;
}

static const char *boot_verb(enum boot_kind kind)
{
	switch (kind) {
	case BOOT_MOUNT:
		return "mount";
	case BOOT_MKDIR:
		return "mkdir";
	case BOOT_SYMLINK:
		return "symlink";
	case BOOT_STEP:
		break;
	}
	return "step";
}

static int boot_applies(const struct boot_op *op, const struct init_options *o)
{
	if ((op->flags & BOOT_IF_OVERLAY) && !o->overlays)
		return 0;
	if ((op->flags & BOOT_IF_ENTROPY) && !o->entropy_port)
		return 0;
	return 1;
}

int init_boot_run(const struct boot_op *ops, size_t n, const struct init_options *o)
{
	boot_times.other_ns = 0;
	boot_times.n_steps = 0;
	for (size_t i = 0; i < n; i++) {
		const struct boot_op *op = &ops[i];
		uint64_t t0;
		int r;

		if (!boot_applies(op, o))
			continue;
		t0 = boottime_ns();
		r = boot_one(op, o);
		note_time(op, boottime_ns() - t0);
		if (r == 0)
			continue;
		if (op->flags & BOOT_NONFATAL) {
			klog(KLOG_WARN, "%s %s: %s (going on)", boot_verb(op->kind), op->path,
			     strerror(-r));
			continue;
		}
		klog(KLOG_ERR, "%s %s: %s", boot_verb(op->kind), op->path, strerror(-r));
		return r;
	}
	return 0;
}
