#include "storage/dm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "storage/wait.h"

#define DM_RETRY_MS 100
#define DM_REMOVE_TRIES 10
#define DM_REMOVE_WAIT_MS 10

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static size_t spec_size(const struct dm_target *t)
{
	return align8(sizeof(struct dm_target_spec) + strlen(t->params) + 1);
}

static int check_name(const char *name, struct error *e)
{
	if (!*name || strlen(name) >= DM_NAME_LEN || strchr(name, '/'))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "device-mapper name \"%s\" is invalid",
				 name);
	return 0;
}

static void init_header(struct dm_ioctl *io, size_t size, const char *name)
{
	memset(io, 0, sizeof(*io));
	io->version[0] = DM_VERSION_MAJOR;
	io->data_size = (uint32_t)size;
	io->data_start = sizeof(*io);
	if (name)
		snprintf(io->name, sizeof(io->name), "%s", name);
}

size_t dm_table_size(const struct dm_target *targets, size_t n)
{
	size_t size = sizeof(struct dm_ioctl);

	for (size_t i = 0; i < n; i++)
		size += spec_size(&targets[i]);
	return size;
}

int dm_table_build(void *buf, size_t size, const char *name, uint32_t flags,
		   const struct dm_target *targets, size_t n, struct error *e)
{
	struct dm_ioctl *io = buf;
	size_t off = sizeof(*io);
	int r;

	if ((r = check_name(name, e)) < 0)
		return r;
	if (size < dm_table_size(targets, n))
		return error_set(e, ERR_FAIL, ENOBUFS,
				 "device-mapper table for %s: buffer too small", name);
	memset(buf, 0, size);
	init_header(io, size, name);
	io->flags = flags;
	io->target_count = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		struct dm_target_spec *spec = (struct dm_target_spec *)((char *)buf + off);

		if (strlen(targets[i].type) >= sizeof(spec->target_type))
			return error_set(e, ERR_INVALID_ARG, EINVAL,
					 "device-mapper target type \"%s\" is too long",
					 targets[i].type);
		spec->sector_start = targets[i].start;
		spec->length = targets[i].length;
		spec->next = (uint32_t)spec_size(&targets[i]);
		strcpy(spec->target_type, targets[i].type);
		strcpy((char *)(spec + 1), targets[i].params);
		off += spec->next;
	}
	return 0;
}

int dm_dev_number(const char *dev_path, char *buf, size_t size, struct error *e)
{
	struct stat st;

	if (stat(dev_path, &st) < 0)
		return error_errno(e, errno, "stat %s", dev_path);
	if (!S_ISBLK(st.st_mode))
		return error_set(e, ERR_FAIL, ENOTBLK, "%s is not a block device", dev_path);
	snprintf(buf, size, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

int dm_linear_params(const char *dev_path, uint64_t offset_sectors, char *buf, size_t size,
		     struct error *e)
{
	char dev[32];
	int r;

	if ((r = dm_dev_number(dev_path, dev, sizeof(dev), e)) < 0)
		return r;
	snprintf(buf, size, "%s %llu", dev, (unsigned long long)offset_sectors);
	return 0;
}

/* The kernel reports dev as new_encode_dev(): minor low byte, 12-bit major,
 * then the rest of the minor. */
static dev_t decode_dev(uint64_t dev)
{
	unsigned maj = (unsigned)(dev >> 8) & 0xfff;
	unsigned min = (unsigned)(dev & 0xff) | ((unsigned)(dev >> 12) & ~0xffu);

	return makedev(maj, min);
}

static int open_control(const struct storage_config *cfg, struct error *e)
{
	struct dm_ioctl io;
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/mapper/control", cfg->dev_root);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return error_set(e, ERR_FAIL, ENODEV,
				 "device-mapper is not available (no %s; kernel without "
				 "CONFIG_BLK_DEV_DM?)",
				 path);
	if (fd < 0)
		return error_errno(e, errno, "open %s", path);
	init_header(&io, sizeof(io), NULL);
	if (ioctl(fd, DM_VERSION, &io) < 0) {
		int err = errno;

		close(fd);
		return error_errno(e, err, "device-mapper version check");
	}
	return fd;
}

static int remove_device(int ctl, const char *name)
{
	struct dm_ioctl io;

	init_header(&io, sizeof(io), name);
	return ioctl(ctl, DM_DEV_REMOVE, &io) < 0 ? -errno : 0;
}

/* DEV_CREATE, TABLE_LOAD (from a copy of table: the kernel writes its
 * results into the buffer), resume; undone on failure. *step names the
 * failing ioctl. */
static int create_once(int ctl, const char *name, const void *table, void *scratch,
		       size_t table_size, dev_t *dev, const char **step)
{
	struct dm_ioctl io;
	int r;

	init_header(&io, sizeof(io), name);
	*step = "create";
	if (ioctl(ctl, DM_DEV_CREATE, &io) < 0)
		return -errno;
	*dev = decode_dev(io.dev);
	memcpy(scratch, table, table_size);
	*step = "load table";
	if (ioctl(ctl, DM_TABLE_LOAD, scratch) < 0)
		goto undo;
	init_header(&io, sizeof(io), name);
	*step = "resume"; /* DEV_SUSPEND without DM_SUSPEND_FLAG */
	if (ioctl(ctl, DM_DEV_SUSPEND, &io) < 0)
		goto undo;
	return 0;
undo:
	r = -errno;
	remove_device(ctl, name);
	return r;
}

static bool retriable(int r)
{
	return r == -EBUSY || r == -ENOENT || r == -ENXIO || r == -ENODEV;
}

static int make_node(const struct storage_config *cfg, const char *name, dev_t dev, char *out,
		     size_t size, struct error *e)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/mapper", cfg->dev_root);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return error_errno(e, errno, "mkdir %s", dir);
	if ((size_t)snprintf(out, size, "%s/%s", dir, name) >= size)
		return error_set(e, ERR_FAIL, ENAMETOOLONG, "%s/%s is too long", dir, name);
	if (unlink(out) < 0 && errno != ENOENT)
		return error_errno(e, errno, "remove stale %s", out);
	if (mknod(out, S_IFBLK | 0600, dev) < 0)
		return error_errno(e, errno, "mknod %s", out);
	return 0;
}

static void free_table(char *table, size_t size)
{
	if (table)
		explicit_bzero(table, size);
	free(table);
}

int dm_create(const struct storage_config *cfg, const char *name, const struct dm_target *targets,
	      size_t n, bool read_only, char *out, size_t size, struct error *e)
{
	uint64_t deadline = storage_deadline(cfg->device_timeout_ms);
	uint32_t flags = read_only ? DM_READONLY_FLAG : 0;
	_cleanup_close_ int ctl = -1;
	size_t table_size = dm_table_size(targets, n);
	char *table = malloc(2 * table_size);
	const char *step = "create";
	dev_t dev = 0;
	int r;

	if (!table)
		return error_errno(e, ENOMEM, "device-mapper %s", name);
	if ((r = dm_table_build(table, table_size, name, flags, targets, n, e)) < 0)
		goto out;
	if ((ctl = open_control(cfg, e)) < 0) {
		r = ctl;
		goto out;
	}
	while ((r = create_once(ctl, name, table, table + table_size, table_size, &dev, &step)) <
	       0) {
		if (!retriable(r) || storage_expired(deadline)) {
			error_errno(e, -r, "%s", step);
			goto out;
		}
		storage_sleep_ms(DM_RETRY_MS);
	}
	if ((r = make_node(cfg, name, dev, out, size, e)) < 0)
		remove_device(ctl, name);
out:
	free_table(table, 2 * table_size);
	return r;
}

int dm_linear_create(const struct storage_config *cfg, const char *name, const char *dev_path,
		     uint64_t offset_sectors, uint64_t length_sectors, bool read_only, char *out,
		     size_t size, struct error *e)
{
	char params[64];
	struct dm_target target = {0, length_sectors, "linear", params};
	int r;

	if ((r = check_name(name, e)) < 0 ||
	    (r = dm_linear_params(dev_path, offset_sectors, params, sizeof(params), e)) < 0)
		return error_prefix(e, "dm-linear %s", name);
	if ((r = dm_create(cfg, name, &target, 1, read_only, out, size, e)) < 0)
		return error_prefix(e, "dm-linear %s (%s, sectors %llu+%llu)", name, dev_path,
				    (unsigned long long)offset_sectors,
				    (unsigned long long)length_sectors);
	return 0;
}

int dm_remove(const struct storage_config *cfg, const char *name, struct error *e)
{
	_cleanup_close_ int ctl = -1;
	char node[PATH_MAX];
	int r = 0;

	if ((r = check_name(name, e)) < 0)
		return r;
	snprintf(node, sizeof(node), "%s/mapper/%s", cfg->dev_root, name);
	ctl = open_control(cfg, e);
	if (ctl == -ENODEV) /* no device-mapper: the device cannot exist */
		r = 0;
	else if (ctl < 0)
		return error_prefix(e, "remove dm device %s", name);
	for (int i = 0; ctl >= 0 && i < DM_REMOVE_TRIES; i++) {
		r = remove_device(ctl, name);
		if (r != -EBUSY)
			break;
		storage_sleep_ms(DM_REMOVE_WAIT_MS);
	}
	if (r < 0 && r != -ENXIO)
		return error_errno(e, -r, "remove dm device %s", name);
	if (unlink(node) < 0 && errno != ENOENT)
		return error_errno(e, errno, "remove %s", node);
	return 0;
}
