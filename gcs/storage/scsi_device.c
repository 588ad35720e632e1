#include "storage/scsi_device.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/small_file.h"
#include "storage/wait.h"

/* UUIDv5 of "0".."3" in namespace d422512d-2bf2-4752-809d-7b82b5fcb1b4. */
const char *const scsi_controller_guids[SCSI_CONTROLLERS] = {
	"df6d0690-79e5-55b6-a5ec-c1e2f77f580a",
	"0110f83b-de10-5172-a266-78bca56bf50a",
	"b5d2d8d4-3a75-51bf-945b-3444dc6b8579",
	"305891a9-b251-5dfe-91a2-c25d9212275b",
};

static int check_address(unsigned controller, unsigned lun, struct error *e)
{
	if (controller >= SCSI_CONTROLLERS)
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "SCSI controller %u LUN %u: controller must be 0-%d", controller,
				 lun, SCSI_CONTROLLERS - 1);
	if (lun > SCSI_MAX_LUN)
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "SCSI controller %u LUN %u: LUN must be 0-%d", controller, lun,
				 SCSI_MAX_LUN);
	return 0;
}

/* "host<digits>" -> N. */
static int parse_host(const char *name, unsigned *host)
{
	char *end;
	unsigned long n;

	if (strncmp(name, "host", 4) != 0 || name[4] < '0' || name[4] > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(name + 4, &end, 10);
	if (errno || *end || n > UINT_MAX)
		return -EINVAL;
	*host = (unsigned)n;
	return 0;
}

#define VIRTIO_HOSTS_MAX 64

/* "<sysfs>/class/scsi_host/hostN/proc_name" is "virtio_scsi". */
static bool is_virtio_scsi_host(const char *sysfs_root, const char *name)
{
	char path[PATH_MAX], buf[32];

	snprintf(path, sizeof(path), "%s/class/scsi_host/%s/proc_name", sysfs_root, name);
	if (small_file_read_at(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return false;
	return strcmp(buf, "virtio_scsi\n") == 0 || strcmp(buf, "virtio_scsi") == 0;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* A VM without VMBus (QEMU, for development and the VM tests) has no
 * controller GUIDs: controller C is the C-th virtio-scsi host in host number
 * order (one virtio-scsi-pci adapter per controller). Only used when
 * <sysfs>/bus/vmbus does not exist at all, so a Hyper-V guest (VMBus always
 * there) keeps the spec's translation. -ENOENT while there is no such host. */
static int virtio_host_number(const struct storage_config *cfg, unsigned controller, unsigned *host)
{
	char dir[PATH_MAX];
	unsigned hosts[VIRTIO_HOSTS_MAX], n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/class/scsi_host", cfg->sysfs_root);
	d = opendir(dir);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d)) && n < VIRTIO_HOSTS_MAX)
		if (parse_host(de->d_name, &hosts[n]) == 0 &&
		    is_virtio_scsi_host(cfg->sysfs_root, de->d_name))
			n++;
	closedir(d);
	if (controller >= n)
		return -ENOENT;
	qsort(hosts, n, sizeof(hosts[0]), cmp_unsigned);
	*host = hosts[controller];
	return 0;
}

static bool have_vmbus(const struct storage_config *cfg)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/bus/vmbus", cfg->sysfs_root);
	return access(dir, F_OK) == 0 || errno != ENOENT;
}

int scsi_host_number(const struct storage_config *cfg, unsigned controller, unsigned *host,
		     struct error *e)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r = -ENOENT;

	snprintf(dir, sizeof(dir), "%s/bus/vmbus/devices/%s", cfg->sysfs_root,
		 scsi_controller_guids[controller]);
	d = opendir(dir);
	if (!d && errno == ENOENT && !have_vmbus(cfg)) {
		if (virtio_host_number(cfg, controller, host) == 0)
			return 0;
		return error_set(e, ERR_FAIL, ENOENT,
				 "controller not present (no VMBus, no virtio-scsi host %u)",
				 controller);
	}
	if (!d && errno == ENOENT)
		return error_set(e, ERR_FAIL, ENOENT, "controller not present (no %s)", dir);
	if (!d)
		return error_errno(e, errno, "open %s", dir);
	while ((de = readdir(d)))
		if (parse_host(de->d_name, host) == 0) {
			r = 0;
			break;
		}
	closedir(d);
	if (r < 0)
		return error_set(e, ERR_FAIL, ENOENT, "no host<N> entry in %s", dir);
	return 0;
}

/* The only entry of dir: 0, -EAGAIN when empty or absent, -errno. */
static int single_entry(const char *dir, char *name, size_t size, struct error *e)
{
	struct dirent *de;
	int count = 0;
	DIR *d = opendir(dir);

	if (!d && errno == ENOENT)
		return error_set(e, ERR_FAIL, EAGAIN, "waiting for %s", dir);
	if (!d)
		return error_errno(e, errno, "open %s", dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (count++ == 0)
			snprintf(name, size, "%s", de->d_name);
	}
	closedir(d);
	if (count == 0)
		return error_set(e, ERR_FAIL, EAGAIN, "waiting for a block device in %s", dir);
	if (count > 1)
		return error_set(e, ERR_FAIL, EEXIST, "more than one block device in %s", dir);
	return 0;
}

/* Reads the partition number sysfs gives a partition's directory. */
static int read_partition_number(int dirfd, const char *entry, uint64_t *num)
{
	char file[NAME_MAX + 16], buf[32];
	ssize_t n;

	snprintf(file, sizeof(file), "%s/partition", entry);
	n = small_file_read_at(dirfd, file, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	*num = strtoull(buf, NULL, 10);
	return 0;
}

/* The child of the disk's sysfs directory whose "partition" file says
 * partition: sdb1 for sdb, loop0p1 for loop0. */
static int find_partition(const char *diskdir, uint64_t partition, char *name, size_t size,
			  struct error *e)
{
	struct dirent *de;
	uint64_t num = 0;
	DIR *d = opendir(diskdir);

	if (!d)
		return error_errno(e, errno, "open %s", diskdir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || read_partition_number(dirfd(d), de->d_name, &num) < 0 ||
		    num != partition)
			continue;
		snprintf(name, size, "%s", de->d_name);
		closedir(d);
		return 0;
	}
	closedir(d);
	return error_set(e, ERR_FAIL, EAGAIN, "waiting for partition %" PRIu64 " in %s", partition,
			 diskdir);
}

/* One look at sysfs: 0 with the device name, -EAGAIN (reason in e) while
 * it is not there yet, another -errno for a permanent error. */
static int resolve_once(const struct storage_config *cfg, unsigned controller, unsigned lun,
			uint64_t partition, char *name, size_t size, struct error *e)
{
	char dir[PATH_MAX], disk[NAME_MAX + 1];
	unsigned host;
	int r;

	r = scsi_host_number(cfg, controller, &host, e);
	if (r == -ENOENT)
		return -EAGAIN;
	if (r < 0)
		return r;
	snprintf(dir, sizeof(dir), "%s/bus/scsi/devices/%u:0:0:%u/block", cfg->sysfs_root, host,
		 lun);
	r = single_entry(dir, disk, sizeof(disk), e);
	if (r < 0)
		return r;
	if (partition == 0) {
		snprintf(name, size, "%s", disk);
		return 0;
	}
	if (strlen(dir) + strlen(disk) + 2 > sizeof(dir))
		return error_set(e, ERR_FAIL, ENAMETOOLONG, "%s/%s: too long", dir, disk);
	strcat(dir, "/");
	strcat(dir, disk);
	return find_partition(dir, partition, name, size, e);
}

/* e holds what was still missing; keep it in the message. */
static int timed_out(struct error *e, unsigned controller, unsigned lun, unsigned timeout)
{
	char why[ERROR_MSG_MAX];

	memcpy(why, e->msg, sizeof(why));
	return error_set(e, ERR_FAIL, ETIMEDOUT,
			 "SCSI controller %u LUN %u: no device after %u ms (%s)", controller, lun,
			 timeout, why);
}

int scsi_find_device(const struct storage_config *cfg, unsigned controller, unsigned lun,
		     uint64_t partition, char *path, size_t size, struct error *e)
{
	unsigned timeout =
		cfg->device_timeout_ms ? cfg->device_timeout_ms : STORAGE_DEVICE_TIMEOUT_MS;
	uint64_t deadline = storage_deadline(timeout);
	char name[NAME_MAX + 1];
	int r, last = 0;

	if ((r = check_address(controller, lun, e)) < 0)
		return r;
	while ((r = resolve_once(cfg, controller, lun, partition, name, sizeof(name), e)) ==
	       -EAGAIN) {
		if (storage_expired(deadline))
			return timed_out(e, controller, lun, timeout);
		storage_sleep_ms(STORAGE_POLL_MS);
	}
	if (r < 0)
		return error_prefix(e, "SCSI controller %u LUN %u", controller, lun);

	if ((size_t)snprintf(path, size, "%s/%s", cfg->dev_root, name) >= size)
		return error_set(e, ERR_FAIL, ENAMETOOLONG,
				 "SCSI controller %u LUN %u: %s/%s too long", controller, lun,
				 cfg->dev_root, name);
	r = storage_wait_openable(path, deadline, &last);
	if (r == -ETIMEDOUT)
		return error_set(e, ERR_FAIL, ETIMEDOUT,
				 "SCSI controller %u LUN %u: %s not usable after %u ms: %s",
				 controller, lun, path, timeout, strerror(last));
	if (r < 0)
		return error_errno(e, -r, "SCSI controller %u LUN %u: open %s", controller, lun,
				   path);
	return 0;
}

int scsi_unplug(const struct storage_config *cfg, unsigned controller, unsigned lun,
		struct error *e)
{
	static const char one[] = "1\n";
	_cleanup_close_ int fd = -1;
	char path[PATH_MAX];
	unsigned host;
	int r;

	if ((r = check_address(controller, lun, e)) < 0)
		return r;
	if ((r = scsi_host_number(cfg, controller, &host, e)) < 0)
		return error_prefix(e, "unplug SCSI controller %u LUN %u", controller, lun);
	snprintf(path, sizeof(path), "%s/bus/scsi/devices/%u:0:0:%u/delete", cfg->sysfs_root, host,
		 lun);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return error_errno(e, errno, "unplug SCSI controller %u LUN %u: open %s",
				   controller, lun, path);
	if (write(fd, one, sizeof(one) - 1) != (ssize_t)sizeof(one) - 1)
		return error_errno(e, errno, "unplug SCSI controller %u LUN %u: write %s",
				   controller, lun, path);
	return 0;
}
