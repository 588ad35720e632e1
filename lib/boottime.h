/* Guest boot timing: CLOCK_BOOTTIME stamps (time since the kernel started,
 * suspend included) that init and the gcs put in their logs, so that
 * bench-vm can split the boot in the guest's own clock. init passes the
 * moment it started to its child in BOOTTIME_INIT_ENV (nanoseconds), and
 * what each of its boot steps took in BOOTTIME_STEPS_ENV
 * (init_boot_times(): "mounts=<us>,<step>=<us>,..."). */
#ifndef LCOW_BOOTTIME_H
#define LCOW_BOOTTIME_H

#include <stdint.h>
#include <time.h>

#define BOOTTIME_INIT_ENV "LCOW_INIT_STARTED_NS"
#define BOOTTIME_STEPS_ENV "LCOW_INIT_STEPS_US"

static inline uint64_t boottime_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
