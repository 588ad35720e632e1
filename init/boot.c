#include "boot.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klog.h"
#include "options.h"

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
	for (size_t i = 0; i < n; i++) {
		const struct boot_op *op = &ops[i];
		int r;

		if (!boot_applies(op, o))
			continue;
		r = boot_one(op, o);
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
