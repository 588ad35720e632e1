#include "boot.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boottime.h"
#include "klog.h"
#include "options.h"

#define BOOT_TIMED_STEPS_MAX 16
#define BOOT_BACKGROUND_MAX 4

/* The last run's times (init_boot_times). */
static struct {
	uint64_t other_ns; /* mounts, directories, links */
	size_t n_steps;
	struct {
		const char *name;
		uint64_t ns;
		bool background; /* ran alongside the steps after it */
	} steps[BOOT_TIMED_STEPS_MAX];
} boot_times;

/* The background steps started and not yet joined. */
struct background_step {
	pthread_t thread;
	const struct boot_op *op;
	const struct init_options *o;
	size_t slot; /* its entry in boot_times, filled at the join */
	int result;
	uint64_t ns;
};

static struct background_step background[BOOT_BACKGROUND_MAX];
static size_t n_background;

/* Reserves the step's entry in the table's order; a background step's time
 * is filled in when it is joined. Returns the entry, or BOOT_TIMED_STEPS_MAX
 * when there is none left. */
static size_t note_step(const struct boot_op *op)
{
	size_t slot = boot_times.n_steps;

	if (slot == BOOT_TIMED_STEPS_MAX)
		return slot;
	boot_times.steps[slot].name = op->path;
	boot_times.steps[slot].ns = 0;
	boot_times.steps[slot].background = false;
	boot_times.n_steps++;
	return slot;
}

static void note_time(const struct boot_op *op, size_t slot, uint64_t ns)
{
	if (op->kind == BOOT_MOUNT || op->kind == BOOT_MKDIR || op->kind == BOOT_SYMLINK)
		boot_times.other_ns += ns;
	else if (slot < BOOT_TIMED_STEPS_MAX)
		boot_times.steps[slot].ns = ns;
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
		n = snprintf(buf + used, len - used, ",%s%s=%llu",
			     boot_times.steps[i].background ? "+" : "", name,
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
	case BOOT_JOIN: /* init_boot_run's own */
		break;
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
	case BOOT_JOIN:
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

/* Logs a failure; returns it if it stops the boot, else 0. */
static int boot_failed(const struct boot_op *op, int r)
{
	if (op->flags & BOOT_NONFATAL) {
		klog(KLOG_WARN, "%s %s: %s (going on)", boot_verb(op->kind), op->path,
		     strerror(-r));
		return 0;
	}
	klog(KLOG_ERR, "%s %s: %s", boot_verb(op->kind), op->path, strerror(-r));
	return r;
}

static void *background_run(void *arg)
{
	struct background_step *b = arg;
	uint64_t t0 = boottime_ns();

	b->result = b->op->step(b->o);
	b->ns = boottime_ns() - t0;
	return NULL;
}

/* Starts op on a thread. Returns 0, or -EAGAIN when it could not, and then
 * the caller runs it in place. init blocks every signal before the boot:
 * the thread inherits that, so signals stay with the main thread. */
static int background_start(const struct boot_op *op, const struct init_options *o, size_t slot)
{
	struct background_step *b;
	int r;

	if (n_background == BOOT_BACKGROUND_MAX)
		return -EAGAIN;
	b = &background[n_background];
	*b = (struct background_step){.op = op, .o = o, .slot = slot};
	r = pthread_create(&b->thread, NULL, background_run, b);
	if (r) {
		klog(KLOG_WARN, "step %s: no thread (%s); running it in place", op->path,
		     strerror(r));
		return -EAGAIN;
	}
	n_background++;
	if (slot < BOOT_TIMED_STEPS_MAX)
		boot_times.steps[slot].background = true;
	return 0;
}

/* Waits for every background step, in the order they started. Returns the
 * first fatal failure among them, or 0. */
static int background_join(void)
{
	int first = 0;

	for (size_t i = 0; i < n_background; i++) {
		struct background_step *b = &background[i];
		int r;

		pthread_join(b->thread, NULL);
		note_time(b->op, b->slot, b->ns);
		r = b->result ? boot_failed(b->op, b->result) : 0;
		if (r && !first)
			first = r;
	}
	n_background = 0;
	return first;
}

int init_boot_run(const struct boot_op *ops, size_t n, const struct init_options *o)
{
	int r = 0;

	boot_times.other_ns = 0;
	boot_times.n_steps = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct boot_op *op = &ops[i];
		size_t slot = BOOT_TIMED_STEPS_MAX;
		uint64_t t0;

		if (!boot_applies(op, o))
			continue;
		if (op->kind == BOOT_STEP || op->kind == BOOT_JOIN)
			slot = note_step(op);
		if (op->kind == BOOT_STEP && (op->flags & BOOT_BACKGROUND) &&
		    background_start(op, o, slot) == 0)
			continue;
		t0 = boottime_ns();
		r = op->kind == BOOT_JOIN ? background_join() : boot_one(op, o);
		note_time(op, slot, boottime_ns() - t0);
		if (r && op->kind != BOOT_JOIN)
			r = boot_failed(op, r);
	}
	/* A table without a final join, or a fatal failure while steps run in
	 * the background: nothing is left running, and the first failure is
	 * the one reported. */
	if (n_background) {
		int late = background_join();

		if (!r)
			r = late;
	}
	return r;
}
