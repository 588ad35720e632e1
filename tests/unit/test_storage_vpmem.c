/* VPMemDevice: /dev/pmem<N> mounted read-only (a fake /dev whose pmem node
 * is a loop device), and the dm-linear mapping of one layer: the ioctl
 * messages byte by byte, and the live device where the kernel has
 * device-mapper. */
#include "storage_fixture.h"

#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <stddef.h>

#include "storage/dm.h"
#include "storage/ext4_format.h"
#include "storage/vpmem.h"

#define MiB (1024LL * 1024)

TEST(vpmem_dm_name_is_the_references)
{
	struct vpmem_mount_req req = {.device_number = 0,
				      .has_mapping = true,
				      .mapping_offset = 4198400,
				      .mapping_size = 8392704};
	char name[128];

	CHECK_OK(vpmem_dm_name(&req, name, sizeof(name)));
	CHECK_STREQ(name, "dm-linear-pmem0-4198400-8392704");
	req.device_number = 63;
	req.mapping_offset = 0;
	CHECK_OK(vpmem_dm_name(&req, name, sizeof(name)));
	CHECK_STREQ(name, "dm-linear-pmem63-0-8392704");
}

TEST(dm_table_message_layout)
{
	const struct dm_target t[2] = {
		{0, 16392, "linear", "259:3 8200"},
		{16392, 8, "zero", ""},
	};
	size_t size = dm_table_size(t, 2);
	unsigned char buf[1024];
	struct dm_ioctl *io = (struct dm_ioctl *)buf;
	struct dm_target_spec *spec;
	struct error e;

	/* header, spec + "259:3 8200\0" rounded to 8, spec + "\0" rounded to 8 */
	CHECK_EQ(sizeof(struct dm_ioctl), 312);
	CHECK_EQ(size, 312 + 56 + 48);
	memset(buf, 0xaa, sizeof(buf));
	CHECK_OK(dm_table_build(buf, size, "dm-linear-pmem1-4096-8392704", DM_READONLY_FLAG, t, 2,
				&e));
	CHECK_EQ(io->version[0], 4);
	CHECK_EQ(io->data_size, size);
	CHECK_EQ(io->data_start, sizeof(struct dm_ioctl));
	CHECK_EQ(io->target_count, 2);
	CHECK_EQ(io->flags, DM_READONLY_FLAG);
	CHECK_STREQ(io->name, "dm-linear-pmem1-4096-8392704");
	CHECK_EQ(io->uuid[0], 0);

	spec = (struct dm_target_spec *)(buf + io->data_start);
	CHECK_EQ(spec->sector_start, 0);
	CHECK_EQ(spec->length, 16392);
	CHECK_EQ(spec->status, 0);
	CHECK_EQ(spec->next, 56);
	CHECK_STREQ(spec->target_type, "linear");
	CHECK_STREQ((char *)(spec + 1), "259:3 8200");
	spec = (struct dm_target_spec *)((unsigned char *)spec + spec->next);
	CHECK_EQ(spec->sector_start, 16392);
	CHECK_EQ(spec->length, 8);
	CHECK_STREQ(spec->target_type, "zero");
	CHECK_EQ(*(char *)(spec + 1), 0);

	CHECK_EQ(dm_table_build(buf, size - 8, "x", 0, t, 2, &e), -ENOBUFS);
	char longname[DM_NAME_LEN + 1];
	memset(longname, 'a', DM_NAME_LEN);
	longname[DM_NAME_LEN] = '\0';
	CHECK_EQ(dm_table_build(buf, size, longname, 0, t, 2, &e), -EINVAL);
}

TEST(dm_linear_params_name_the_device_by_number)
{
	char params[64], node[PATH_MAX];
	struct error e;

	fx_init(true);
	fx_fmt(node, "%s/pmem7", fx.dev);
	CHECK(mknod(node, S_IFBLK | 0600, makedev(259, 7)) == 0);
	CHECK_STORAGE(dm_linear_params(node, 8200, params, sizeof(params), &e), &e);
	CHECK_STREQ(params, "259:7 8200");
	fx_fmt(node, "%s/notblock", fx.dev);
	fx_write(node, "");
	CHECK_EQ(dm_linear_params(node, 0, params, sizeof(params), &e), -ENOTBLK);
}

/* An ext4 image holding /layer.txt, attached to a loop device that the fake
 * /dev calls pmem<n>. */
static void pmem_layer(unsigned n, long long size, char *loopdev)
{
	char image[PATH_MAX], mp[PATH_MAX], file[PATH_MAX], node[PATH_MAX];
	struct error e;
	struct stat st;

	fx_fmt(image, "%s/layer%u.img", fx.dir, n);
	fx_image(image, size);
	CHECK_STORAGE(ext4_format(image, &e), &e);
	fx_loop(image, false, loopdev);
	fx_fmt(mp, "%s/populate", fx.dir);
	fx_mkdirs(mp);
	CHECK(mount(loopdev, mp, "ext4", 0, NULL) == 0);
	fx_fmt(file, "%s/layer.txt", mp);
	fx_write(file, "layer contents");
	CHECK(umount(mp) == 0);
	CHECK(stat(loopdev, &st) == 0);
	fx_fmt(node, "%s/pmem%u", fx.dev, n);
	CHECK(mknod(node, S_IFBLK | 0600, st.st_rdev) == 0);
}

TEST(vpmem_mounts_read_only_with_noload)
{
	char loopdev[PATH_MAX], mp[PATH_MAX], file[PATH_MAX], src[PATH_MAX], buf[64];
	struct vpmem_mount_req req = {.device_number = 3};
	struct statvfs sv;
	struct error e;

	fx_init(true);
	pmem_layer(3, 32 * MiB, loopdev);
	fx_fmt(mp, "%s/layers/p3", fx.run);
	req.mount_path = mp;
	CHECK_STORAGE(storage_vpmem_mount(&fx.cfg, &req, &e), &e);
	CHECK(fx_mountinfo(mp, src, NULL, NULL));
	fx_fmt(file, "%s/pmem3", fx.dev);
	CHECK_STREQ(src, file);
	CHECK(statvfs(mp, &sv) == 0 && (sv.f_flag & ST_RDONLY));
	fx_fmt(file, "%s/layer.txt", mp);
	CHECK_STREQ(fx_read(file, buf, sizeof(buf)), "layer contents");
	CHECK(open(file, O_WRONLY) < 0 && errno == EROFS);
	CHECK_STORAGE(storage_vpmem_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_exists(mp));
	CHECK_STORAGE(storage_vpmem_unmount(&fx.cfg, &req, &e), &e);
}

TEST(vpmem_missing_device_times_out_clearly)
{
	struct vpmem_mount_req req = {.device_number = 9};
	char mp[PATH_MAX];
	struct error e;

	fx_init(false);
	fx.cfg.device_timeout_ms = 100;
	fx_fmt(mp, "%s/layers/p9", fx.run);
	req.mount_path = mp;
	CHECK(storage_vpmem_mount(&fx.cfg, &req, &e) < 0);
	CHECK_CONTAINS(e.msg, "VPMem device 9");
	CHECK_CONTAINS(e.msg, "pmem9");
	CHECK(!fx_exists(mp));
}

TEST(vpmem_mapping_must_be_sector_aligned)
{
	char loopdev[PATH_MAX], mp[PATH_MAX];
	struct vpmem_mount_req req = {.device_number = 2, .has_mapping = true};
	struct error e;

	fx_init(true);
	pmem_layer(2, 16 * MiB, loopdev);
	fx_fmt(mp, "%s/layers/p2-1-4096", fx.run);
	req.mount_path = mp;
	req.mapping_offset = 1;
	req.mapping_size = 4096;
	CHECK_EQ(storage_vpmem_mount(&fx.cfg, &req, &e), -EINVAL);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	CHECK_CONTAINS(e.msg, "multiples of 512");
	CHECK(!fx_exists(mp));
}

static bool have_device_mapper(void)
{
	return fx_exists("/dev/mapper/control");
}

/* Where the kernel lacks device-mapper the error says so, and a failed Add
 * leaves no directory behind. */
TEST(vpmem_mapping_without_device_mapper_fails_clearly)
{
	char loopdev[PATH_MAX], mp[PATH_MAX];
	struct vpmem_mount_req req = {.device_number = 1, .has_mapping = true};
	struct error e;

	fx_init(true);
	if (have_device_mapper())
		SKIP("this kernel has device-mapper (covered by vpmem_mapping_mounts_one_layer)");
	pmem_layer(1, 16 * MiB, loopdev);
	fx_fmt(mp, "%s/layers/p1-0-8388608", fx.run);
	req.mount_path = mp;
	req.mapping_size = 8 * MiB;
	CHECK_EQ(storage_vpmem_mount(&fx.cfg, &req, &e), -ENODEV);
	CHECK_CONTAINS(e.msg, "VPMem device 1");
	CHECK_CONTAINS(e.msg, "dm-linear-pmem1-0-8388608");
	CHECK_CONTAINS(e.msg, "device-mapper is not available");
	CHECK(!fx_exists(mp));
	CHECK_STORAGE(storage_vpmem_unmount(&fx.cfg, &req, &e), &e); /* nothing to undo */
}

/* Writes the whole of file into image at offset. */
static void copy_into(const char *file, const char *image, long long offset)
{
	static char buf[1 << 16];
	int in = open(file, O_RDONLY), out = open(image, O_WRONLY);
	ssize_t n;

	CHECK(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		CHECK(pwrite(out, buf, (size_t)n, offset) == n);
		offset += n;
	}
	CHECK(n == 0);
	close(in);
	close(out);
}

/* Two layers packed into one device at 512-byte-aligned offsets; the second
 * is mapped through dm-linear and mounted. Needs the real /dev (the kernel
 * makes /dev/mapper/control there). */
TEST(vpmem_mapping_mounts_one_layer)
{
	char image[PATH_MAX], dev[PATH_MAX], mp[PATH_MAX], file[PATH_MAX], buf[64], node[PATH_MAX],
		mapper[PATH_MAX];
	const long long offset = 8 * MiB + 4096, size = 16 * MiB;
	struct vpmem_mount_req req = {.has_mapping = true};
	struct stat st;
	struct error e;
	int fd;

	fx_init(true);
	if (!have_device_mapper())
		SKIP("the kernel has no device-mapper (CONFIG_BLK_DEV_DM): runs in the VM test");
	/* Layer image, then a packed device with a marker before the layer. */
	pmem_layer(40, size, dev); /* formats + populates, registers pmem40 */
	fx_fmt(file, "%s/layer40.img", fx.dir);
	fx_fmt(image, "%s/packed.img", fx.dir);
	fx_image(image, offset + size + 4 * MiB);
	copy_into(file, image, offset);
	fd = open(image, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, "MARKER", 6, offset - 512) == 6);
	close(fd);
	fx_loop(image, false, dev);
	CHECK(stat(dev, &st) == 0);
	/* The real /dev: the dm node must appear under /dev/mapper. */
	fx.cfg.dev_root = "/dev";
	req.device_number = 0;
	for (unsigned n = 0; n < 64; n++) {
		fx_fmt(node, "/dev/pmem%u", n);
		if (!fx_exists(node)) {
			req.device_number = n;
			break;
		}
	}
	fx_fmt(node, "/dev/pmem%u", req.device_number);
	CHECK(mknod(node, S_IFBLK | 0600, st.st_rdev) == 0);
	fx_fmt(mp, "%s/layers/p%u-%lld-%lld", fx.run, req.device_number, offset, size);
	req.mount_path = mp;
	req.mapping_offset = (uint64_t)offset;
	req.mapping_size = (uint64_t)size;
	int r = storage_vpmem_mount(&fx.cfg, &req, &e);
	if (r < 0) {
		unlink(node);
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
	}
	fx_fmt(mapper, "/dev/mapper/dm-linear-pmem%u-%lld-%lld", req.device_number, offset, size);
	fx_fmt(file, "%s/layer.txt", mp);
	bool content = fx_read(file, buf, sizeof(buf)) && strcmp(buf, "layer contents") == 0;
	char src[PATH_MAX] = "";
	fx_mountinfo(mp, src, NULL, NULL);
	/* The mapping starts exactly at the layer: its ext4 magic sits at
	 * 1024+56, where one sector off would show the marker's neighbours. */
	unsigned char magic[2] = {0};
	fd = open(mapper, O_RDONLY);
	bool mapped = fd >= 0 && pread(fd, magic, 2, 1024 + 56) == 2 && magic[0] == 0x53 &&
		      magic[1] == 0xef;
	uint64_t bytes = 0;
	bool sized = fd >= 0 && ioctl(fd, BLKGETSIZE64, &bytes) == 0 && bytes == (uint64_t)size;
	if (fd >= 0)
		close(fd);
	/* Read-only: either the open for writing or the write is refused. */
	int wfd = open(mapper, O_WRONLY);
	bool ro = wfd < 0 || pwrite(wfd, "x", 1, 0) < 0;
	if (wfd >= 0)
		close(wfd);
	r = storage_vpmem_unmount(&fx.cfg, &req, &e);
	unlink(node);
	CHECK_STORAGE(r, &e);
	CHECK(content);
	CHECK_STREQ(src, mapper);
	CHECK(mapped);
	CHECK(sized);
	CHECK(ro);
	CHECK(!fx_exists(mapper));
	CHECK(!fx_exists(mp));
	CHECK_STORAGE(storage_vpmem_unmount(&fx.cfg, &req, &e), &e); /* already gone */
}
