/* The Hyper-V PTP clock and chronyd's configuration for it. */
#include "timesync/timesync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

/* clock_name's first line, or "" (a device without one is skipped). */
static void clock_name(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int timesync_find_clock(const char *sysfs_root, char *dev, size_t size, struct error *e)
{
	char dir[PATH_MAX], path[PATH_MAX], name[64], best[NAME_MAX + 1] = "";
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/class/ptp", sysfs_root);
	d = opendir(dir);
	if (!d)
		return error_set(e, ERR_FAIL, ENOENT, "no PTP clocks (%s: %s)", dir,
				 strerror(errno));
	/* The lowest-numbered match, whatever order readdir gives. */
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "ptp", 3) != 0 ||
		    snprintf(path, sizeof(path), "%s/%s/clock_name", dir, de->d_name) >=
			    (int)sizeof(path))
			continue;
		clock_name(path, name, sizeof(name));
		if (strcmp(name, TIMESYNC_CLOCK_NAME) != 0)
			continue;
		if (!best[0] || strlen(de->d_name) < strlen(best) ||
		    (strlen(de->d_name) == strlen(best) && strcmp(de->d_name, best) < 0))
			snprintf(best, sizeof(best), "%s", de->d_name);
	}
	closedir(d);
	if (!best[0])
		return error_set(e, ERR_FAIL, ENOENT, "no PTP clock named \"%s\" in %s",
				 TIMESYNC_CLOCK_NAME, dir);
	if (snprintf(dev, size, "/dev/%s", best) >= (int)size)
		return error_set(e, ERR_FAIL, ENAMETOOLONG, "/dev/%s: name too long", best);
	return 0;
}

int timesync_chronyd_config(const char *ptp_dev, const char *pid_file, char *buf, size_t size)
{
	/* Microsoft's documented settings for the Hyper-V clock, as the
	 * reference writes them; our chronyd has no compiled-in pid file
	 * directory in the UVM, so it gets one. */
	int n = snprintf(buf, size,
			 "refclock PHC %s poll 3 dpoll -2 offset 0 stratum 2\n"
			 "makestep 0.1 -1\n"
			 "pidfile %s\n",
			 ptp_dev, pid_file);

	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

unsigned timesync_backoff_ms(unsigned first_ms, unsigned n)
{
	/* x1.5 per failure, up to the cap (the reference's policy, without
	 * its jitter: there is one chronyd per UVM). */
	unsigned long long ms = first_ms;

	for (unsigned i = 0; i < n && ms < TIMESYNC_BACKOFF_MAX_MS; i++)
		ms = ms * 3 / 2;
	return ms > TIMESYNC_BACKOFF_MAX_MS ? TIMESYNC_BACKOFF_MAX_MS : (unsigned)ms;
}
