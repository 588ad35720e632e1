/* Time sync: which PTP clock, chronyd's configuration, the restart delays
 * (the supervision itself runs through the gcs: test_timesync.py). */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "timesync/timesync.h"

static char root[128];

static void clock_dir(const char *name, const char *clock_name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/class", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/class/ptp", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/class/ptp/%s", root, name);
	CHECK(mkdir(path, 0755) == 0);
	if (!clock_name)
		return;
	snprintf(path, sizeof(path), "%s/class/ptp/%s/clock_name", root, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(clock_name, f);
	fclose(f);
}

TEST(the_hyperv_clock_is_found_among_others)
{
	char dev[64];
	struct error e;

	unit_tmpdir(root, sizeof(root), "ptp");
	clock_dir("ptp0", "KVM virtual PTP\n");
	clock_dir("ptp1", NULL); /* no clock_name: skipped */
	clock_dir("ptp12", "hyperv\n");
	clock_dir("ptp3", "hyperv\n");
	CHECK_OK(timesync_find_clock(root, dev, sizeof(dev), &e));
	CHECK_STREQ(dev, "/dev/ptp3"); /* the lowest-numbered of two */
}

TEST(no_hyperv_clock_is_enoent_with_a_message)
{
	char dev[64];
	struct error e;

	unit_tmpdir(root, sizeof(root), "ptp");
	CHECK_EQ(timesync_find_clock(root, dev, sizeof(dev), &e), -ENOENT);
	CHECK_CONTAINS(e.msg, "no PTP clocks");
	clock_dir("ptp0", "KVM virtual PTP\n");
	clock_dir("ptp1", "hypervisor\n"); /* a prefix is not the name */
	CHECK_EQ(timesync_find_clock(root, dev, sizeof(dev), &e), -ENOENT);
	CHECK_CONTAINS(e.msg, "no PTP clock named \"hyperv\"");
}

TEST(chronyd_configuration_is_the_documented_one)
{
	char buf[256];

	CHECK_EQ(timesync_chronyd_config("/dev/ptp0", "/run/gcs/chronyd.pid", buf, sizeof(buf)),
		 (int)strlen(buf));
	CHECK_STREQ(buf, "refclock PHC /dev/ptp0 poll 3 dpoll -2 offset 0 stratum 2\n"
			 "makestep 0.1 -1\n"
			 "pidfile /run/gcs/chronyd.pid\n");
	CHECK_EQ(timesync_chronyd_config("/dev/ptp0", "/p", buf, 20), -ENOSPC);
}

TEST(restart_delays_grow_by_half_up_to_ten_minutes)
{
	CHECK_EQ(timesync_backoff_ms(500, 0), 500);
	CHECK_EQ(timesync_backoff_ms(500, 1), 750);
	CHECK_EQ(timesync_backoff_ms(500, 2), 1125);
	CHECK_EQ(timesync_backoff_ms(500, 3), 1687);
	CHECK_EQ(timesync_backoff_ms(500, 30), TIMESYNC_BACKOFF_MAX_MS);
	CHECK_EQ(timesync_backoff_ms(500, 4000000000u), TIMESYNC_BACKOFF_MAX_MS);
}
