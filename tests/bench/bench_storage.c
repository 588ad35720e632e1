/* make bench-storage: time to make a blank scratch disk usable.
 *
 * "ours": storage_scsi_mount() with EnsureFilesystem on a blank disk (fake
 * sysfs naming a loop device): probe, in-process ext4 format, mount, growth
 * check - what a scratch Add costs in the guest. "mkfs": mkfs.ext4 on the
 * same loop device, then mount(2). The disk is discarded back to zeroes
 * between runs. Prints figures; it is not a test. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "storage/ext4_format.h"
#include "storage/scsi_device.h"
#include "storage/storage.h"
#include "storage/mount.h"

#define MAX_RUNS 32

static char dir[] = "/tmp/lcow-bench-XXXXXX";
static char loopdev[64], mp[256];
static int loopfd = -1;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-storage: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void mkdirs(const char *path)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		die(buf);
}

static void attach(const char *image)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	int backing = open(image, O_RDWR | O_CLOEXEC);

	if (ctl < 0 || backing < 0)
		die("loop");
	for (int tries = 0; tries < 50; tries++) {
		struct loop_config lc = {.fd = (unsigned)backing};
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);

		lc.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		snprintf(loopdev, sizeof(loopdev), "/dev/loop%d", n);
		loopfd = open(loopdev, O_RDWR | O_CLOEXEC);
		if (loopfd >= 0 && ioctl(loopfd, LOOP_CONFIGURE, &lc) == 0)
			break;
		if (loopfd >= 0)
			close(loopfd);
		loopfd = -1;
	}
	if (loopfd < 0)
		die("no free loop device");
	close(backing);
	close(ctl);
}

/* Back to a blank disk: discard (the file becomes sparse zeroes). */
static void blank(void)
{
	uint64_t range[2] = {0, 0};

	if (ioctl(loopfd, BLKGETSIZE64, &range[1]) < 0 || ioctl(loopfd, BLKDISCARD, range) < 0)
		die("discard");
}

static double run_ours(const struct storage_config *cfg)
{
	struct scsi_mount_req req = {.controller = 0, .lun = 0, .mount_path = mp};
	struct error e;
	double t0, t;

	req.ensure_filesystem = true;
	req.filesystem = "ext4";
	t0 = now_ms();
	if (storage_scsi_mount(cfg, &req, &e) < 0) {
		fprintf(stderr, "bench-storage: %s\n", e.msg);
		exit(1);
	}
	t = now_ms() - t0;
	if (storage_scsi_unmount(cfg, &req, &e) < 0) {
		fprintf(stderr, "bench-storage: %s\n", e.msg);
		exit(1);
	}
	return t;
}

static double run_format_only(void)
{
	struct error e;
	double t0 = now_ms();

	if (ext4_format(loopdev, &e) < 0) {
		fprintf(stderr, "bench-storage: %s\n", e.msg);
		exit(1);
	}
	return now_ms() - t0;
}

static double run_mkfs_only(void)
{
	double t0 = now_ms();
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execlp("mkfs.ext4", "mkfs.ext4", "-q", "-F", loopdev, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		die("mkfs.ext4");
	return now_ms() - t0;
}

static double run_mkfs(void)
{
	double t0 = now_ms(), t;

	run_mkfs_only();
	mkdirs(mp);
	if (mount(loopdev, mp, "ext4", 0, NULL) < 0)
		die("mount");
	t = now_ms() - t0;
	if (umount(mp) < 0 || rmdir(mp) < 0)
		die("umount");
	return t;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n, long mib)
{
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("bench-storage: %-34s %5ld MiB: median %7.1f ms  min %7.1f  max %7.1f  (%d runs)\n",
	       what, mib, t[n / 2], t[0], t[n - 1], n);
}

static void cleanup(void)
{
	struct error e;

	umount2(mp, MNT_DETACH);
	if (loopfd >= 0)
		close(loopfd);
	storage_remove_tree(dir, &e);
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 1024;
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	double ours[MAX_RUNS], mkfs[MAX_RUNS], fmt[MAX_RUNS], mkfs_only[MAX_RUNS];
	char image[128], path[512], sys[128], run[128];
	const char *roots[2] = {run, NULL};
	struct storage_config cfg;

	if (geteuid() != 0) {
		printf("bench-storage: skipped (needs root for loop devices and mounts)\n");
		return 0;
	}
	if (runs < 1 || runs > MAX_RUNS || mib < 16)
		return fprintf(stderr, "usage: bench_storage [MiB] [runs]\n"), 2;
	if (!mkdtemp(dir))
		die("mkdtemp");
	atexit(cleanup);
	snprintf(image, sizeof(image), "%s/scratch.img", dir);
	snprintf(sys, sizeof(sys), "%s/sys", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(mp, sizeof(mp), "%s/gcs/c/bench", run);
	int fd = open(image, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)mib << 20) < 0)
		die(image);
	close(fd);
	attach(image);

	snprintf(path, sizeof(path), "%s/bus/vmbus/devices/%s/host0", sys,
		 scsi_controller_guids[0]);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/bus/scsi/devices/0:0:0:0/block/%s", sys,
		 strrchr(loopdev, '/') + 1);
	mkdirs(path);
	storage_config_init(&cfg);
	cfg.sysfs_root = sys;
	cfg.allowed_roots = roots;

	for (int i = 0; i < runs; i++) {
		blank();
		ours[i] = run_ours(&cfg);
		blank();
		mkfs[i] = run_mkfs();
		blank();
		fmt[i] = run_format_only();
		blank();
		mkfs_only[i] = run_mkfs_only();
	}
	report("scratch Add: format+mount (ours)", ours, runs, mib);
	report("mkfs.ext4 + mount", mkfs, runs, mib);
	report("format only: ext4_format (ours)", fmt, runs, mib);
	report("format only: mkfs.ext4", mkfs_only, runs, mib);
	return 0;
}
