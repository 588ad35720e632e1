/* The boot sequence of /init as a table of operations (as hcsshim's init.c
 * has one): mounts, directories, symlinks and named steps, run in order.
 * Each operation says when it applies and whether its failure stops the
 * boot. A step marked BOOT_BACKGROUND runs on a thread of its own while the
 * table goes on, until the next BOOT_JOIN_OP (or the table's end) waits for
 * it: under TCG each step is mostly the kernel's code running for the first
 * time, and a second vCPU can run an independent one meanwhile. main.c
 * holds the table itself. */
#ifndef LCOW_INIT_BOOT_H
#define LCOW_INIT_BOOT_H

#include <stddef.h>
#include <sys/types.h>

struct init_options;

enum boot_kind {
	BOOT_MOUNT,
	BOOT_MKDIR,   /* an existing directory is fine */
	BOOT_SYMLINK, /* an existing link is fine */
	BOOT_STEP,
	BOOT_JOIN, /* waits for every background step started before it */
};

enum {
	BOOT_OK_EBUSY = 1 << 0,	  /* mount: already mounted is fine */
	BOOT_NONFATAL = 1 << 1,	  /* failure is logged and the boot goes on */
	BOOT_IF_OVERLAY = 1 << 2, /* only with -w */
	BOOT_IF_ENTROPY = 1 << 3, /* only with -e */
	BOOT_BACKGROUND = 1 << 4, /* step: on a thread, until the next join */
};

struct boot_op {
	enum boot_kind kind;
	unsigned int flags;
	const char *path;   /* mount target, directory, link, or step name */
	const char *source; /* mount source, or link target */
	const char *fstype;
	unsigned long mflags;
	const char *data;
	mode_t mode;
	int (*step)(const struct init_options *o); /* 0 or a negative errno */
};

#define BOOT_MOUNT_OP(src, dst, type, mfl, dat, fl)                                                \
	{                                                                                          \
		.kind = BOOT_MOUNT, .flags = (fl), .path = (dst), .source = (src),                 \
		.fstype = (type), .mflags = (mfl), .data = (dat)                                   \
	}
#define BOOT_MKDIR_OP(dir, md, fl)                                                                 \
	{                                                                                          \
		.kind = BOOT_MKDIR, .flags = (fl), .path = (dir), .mode = (md)                     \
	}
#define BOOT_SYMLINK_OP(target, link)                                                              \
	{                                                                                          \
		.kind = BOOT_SYMLINK, .path = (link), .source = (target)                           \
	}
#define BOOT_STEP_OP(fn, fl)                                                                       \
	{                                                                                          \
		.kind = BOOT_STEP, .flags = (fl), .path = #fn, .step = (fn)                        \
	}

/* label names the join in the step times: "join_<label>". */
#define BOOT_JOIN_OP(label)                                                                        \
	{                                                                                          \
		.kind = BOOT_JOIN, .path = "join_" label                                           \
	}

/* Runs the operations that apply to o, in order. A background step's
 * failure counts at its join, after which nothing runs. Returns 0, or the
 * negative errno of the first fatal failure (already logged); no thread
 * outlives the call. */
int init_boot_run(const struct boot_op *ops, size_t n, const struct init_options *o);

/* What the last init_boot_run took, in the guest's clock, for the boot's
 * log (bench-vm splits the boot with it): "mounts=<us>" for the mounts,
 * directories and links together, then "<step>=<us>" for each step that
 * ran, in the table's order, its name without "init_", comma-separated,
 * NUL-terminated and cut to len. A step that ran in the background is
 * "+<step>=<us>", its own time, which overlaps the ones after it; a join's
 * is the time spent waiting for them. Returns the length written. */
size_t init_boot_times(char *buf, size_t len);

#endif
