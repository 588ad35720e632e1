/* Time sync, as the reference GCS does it: chronyd keeps the UVM's clock on
 * the Hyper-V PTP clock (the PTP device whose clock_name is "hyperv"), so a
 * long-lived pod does not drift and a host resuming from sleep does not
 * leave the clock wrong. chronyd runs in the foreground under the gcs and is
 * restarted with a growing delay whenever it exits; its messages become
 * gcs log lines. Without such a clock (QEMU, a host without the Hyper-V
 * PTP device) the gcs says so and runs on; -disable-time-sync skips it all.
 *
 * Test-only environment: LCOW_SYSFS_ROOT replaces "/sys", LCOW_CHRONYD the
 * chronyd binary (default: "chronyd" on PATH), LCOW_CHRONYD_DIR where the
 * configuration and pid file go (default "/run/gcs"), LCOW_CHRONYD_BACKOFF_MS
 * the first restart delay. */
#ifndef GCS_TIMESYNC_TIMESYNC_H
#define GCS_TIMESYNC_TIMESYNC_H

#include <stddef.h>

#include "error.h"

struct loop;

#define TIMESYNC_CLOCK_NAME "hyperv"
#define TIMESYNC_BACKOFF_FIRST_MS 500
#define TIMESYNC_BACKOFF_MAX_MS (10 * 60 * 1000)
/* A chronyd that ran this long was healthy: the next delay starts over. */
#define TIMESYNC_HEALTHY_RUN_MS (60 * 1000)

/* The device of the PTP clock named TIMESYNC_CLOCK_NAME under
 * <sysfs_root>/class/ptp ("/dev/ptp0"). -ENOENT (error set) when none. */
int timesync_find_clock(const char *sysfs_root, char *dev, size_t size, struct error *e);

/* chronyd's configuration for that clock: the PHC refclock and a step of
 * any size whenever the offset exceeds 0.1 s (a resumed host). Returns the
 * length, or -ENOSPC. */
int timesync_chronyd_config(const char *ptp_dev, const char *pid_file, char *buf, size_t size);

/* The delay before restart n (0-based) of a chronyd that keeps failing. */
unsigned timesync_backoff_ms(unsigned first_ms, unsigned n);

/* Finds the clock, writes the configuration and starts chronyd under the
 * loop. No clock is not an error: it is logged and 0 returned. */
int timesync_start(struct loop *l, struct error *e);

/* Stops the restarts (the gcs is exiting); chronyd gets SIGTERM. */
void timesync_stop(void);

#endif
