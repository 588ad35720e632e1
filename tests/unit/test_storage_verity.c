/* dm-verity layers and encrypted scratch (issue 13 items 6, 7). The table
 * parameters are checked everywhere; the devices only in the VM of
 * tests/integration/test_storage_vm.py (this build machine's kernel has no
 * device-mapper), which attaches
 *   /dev/pmem1: a layer made by `veritysetup format` (ext4, superblock,
 *     tree) at offset 0, and a copy with one data byte flipped at
 *     LCOW_VERITY_CORRUPT_AT, both LCOW_VERITY_IMAGE bytes long;
 *   SCSI LUN 7: the good layer; LUN 9: a blank disk for encrypted scratch;
 *   LUN 10: a disk starting with an xfs magic;
 * and passes the host's VerityInfo of the layer (as hcsshim v0.11 reads it
 * from the VHD) in LCOW_VERITY="<ext4 size>:<block size>:<version>:
 * <algorithm>:<digest>:<salt>". */
#include "storage_fixture.h"

#include <stdlib.h>
#include <sys/vfs.h>

#include "storage/crypt.h"
#include "storage/dm.h"
#include "storage/verity.h"

#define VERITY_LUN 7
#define CRYPT_LUN 9
#define XFS_LUN 10
#define LAYER_FILE "verity.txt"
#define LAYER_TEXT "verity layer\n"
#define PLAINTEXT "LCOW-PLAINTEXT-MARKER-7f3a9c"

static const struct verity_info good = {
	.present = true,
	.ext4_size = 4194304,
	.version = 1,
	.algorithm = "sha256",
	.superblock = true,
	.root_digest = "8a75b2b88bb6e2f5b6cdd3f0bef51171eac71865b04398b779297709256b152f",
	.salt = "77573883719aaaf95cbdc786ec40002cb6ba45379eef88e5b09cf4414bf90328",
	.block_size = 4096,
};

TEST(verity_params_are_the_kernel_table)
{
	struct verity_info v = good;
	char buf[1024];
	uint64_t sectors = 0;
	struct error e;

	CHECK_STORAGE(verity_params(&v, "259:1", buf, sizeof(buf), &sectors, &e), &e);
	/* 1024 data blocks, the tree after the superblock block: 1025. */
	CHECK_STREQ(buf, "1 259:1 259:1 4096 4096 1024 1025 sha256 "
			 "8a75b2b88bb6e2f5b6cdd3f0bef51171eac71865b04398b779297709256b152f "
			 "77573883719aaaf95cbdc786ec40002cb6ba45379eef88e5b09cf4414bf90328");
	CHECK_EQ(sectors, 8192u);
	v.superblock = false;
	v.salt = "";
	v.version = 0;
	CHECK_STORAGE(verity_params(&v, "8:16", buf, sizeof(buf), &sectors, &e), &e);
	CHECK_STREQ(buf, "0 8:16 8:16 4096 4096 1024 1024 sha256 "
			 "8a75b2b88bb6e2f5b6cdd3f0bef51171eac71865b04398b779297709256b152f -");
}

TEST(verity_info_the_kernel_would_refuse_is_refused_first)
{
	static const struct {
		const char *field;
		struct verity_info v;
	} bad[] = {
		{"Version", {.version = 2}},
		{"BlockSize", {.block_size = 0}},
		{"BlockSize", {.block_size = 3000}},
		{"BlockSize", {.block_size = 8192}},
		{"Ext4SizeInBytes", {.ext4_size = 0}},
		{"Ext4SizeInBytes", {.ext4_size = 4096 * 3 + 512}},
		{"Algorithm", {.algorithm = "sha256 1 2"}},
		{"Algorithm", {.algorithm = ""}},
		{"RootDigest", {.root_digest = ""}},
		{"RootDigest", {.root_digest = "abc"}},
		{"RootDigest", {.root_digest = "zz"}},
		{"RootDigest", {.root_digest = "00 --"}},
		{"Salt", {.salt = "xyz0"}},
	};
	char buf[1024];
	uint64_t sectors;
	struct error e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct verity_info v = good;
		const struct verity_info *b = &bad[i].v;

		/* Only the named field differs from good. */
		if (!strcmp(bad[i].field, "Version"))
			v.version = b->version;
		else if (!strcmp(bad[i].field, "BlockSize"))
			v.block_size = b->block_size;
		else if (!strcmp(bad[i].field, "Ext4SizeInBytes"))
			v.ext4_size = b->ext4_size;
		else if (!strcmp(bad[i].field, "Algorithm"))
			v.algorithm = b->algorithm;
		else if (!strcmp(bad[i].field, "RootDigest"))
			v.root_digest = b->root_digest;
		else
			v.salt = b->salt;
		CHECK_EQ(verity_check(&v, &e), -EINVAL);
		CHECK_EQ(e.kind, ERR_INVALID_ARG);
		CHECK_CONTAINS(e.msg, bad[i].field);
		CHECK_EQ(verity_params(&v, "8:16", buf, sizeof(buf), &sectors, &e), -EINVAL);
	}
	CHECK_OK(verity_check(&good, &e));
}

TEST(crypt_params_carry_the_key_in_hex)
{
	unsigned char key[CRYPT_KEY_BYTES];
	char buf[256], want[256];

	for (int i = 0; i < CRYPT_KEY_BYTES; i++)
		key[i] = (unsigned char)(i * 17);
	CHECK_OK(crypt_params(key, "8:32", true, buf, sizeof(buf), &(struct error){0}));
	strcpy(want, "aes-xts-plain64 ");
	for (int i = 0; i < CRYPT_KEY_BYTES; i++)
		sprintf(want + strlen(want), "%02x", key[i]);
	strcat(want, " 0 8:32 0 1 sector_size:4096");
	CHECK_STREQ(buf, want);
	CHECK_OK(crypt_params(key, "8:32", false, buf, sizeof(buf), &(struct error){0}));
	want[strlen(want) - strlen(" 1 sector_size:4096")] = '\0';
	CHECK_STREQ(buf, want);
	CHECK_EQ(crypt_params(key, "8:32", false, buf, 100, &(struct error){0}), -ENOBUFS);
}

/* dm_create's own refusals come with their errno, before and without the
 * kernel: a name it cannot take, a machine without device-mapper. */
TEST(dm_create_refuses_with_the_cause)
{
	struct storage_config cfg = {.dev_root = "/nonexistent-lcow-dev"};
	struct dm_target t = {0, 8, "verity", "x"};
	char longname[200], out[PATH_MAX];
	struct error e;

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_EQ(dm_create(&cfg, longname, &t, 1, true, out, sizeof(out), &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "device-mapper name");
	CHECK_EQ(dm_create(&cfg, "dm-verity-x", &t, 1, true, out, sizeof(out), &e), -ENODEV);
	CHECK_CONTAINS(e.msg, "device-mapper is not available");
}

/* -- in the VM ------------------------------------------------------------------------ */

static char digest[130], salt[514], algorithm[33];

static struct verity_info vm_info(void)
{
	const char *s = getenv("LCOW_VERITY");
	long long size, block, version;
	struct verity_info v = {.present = true, .superblock = true};

	if (!s || !getenv("LCOW_STORAGE_REAL"))
		SKIP("needs the storage VM's verity layers (tests/integration/test_storage_vm.py)");
	CHECK(sscanf(s, "%lld:%lld:%lld:%32[^:]:%129[^:]:%513s", &size, &block, &version, algorithm,
		     digest, salt) == 6);
	v.ext4_size = size, v.block_size = block, v.version = version;
	v.algorithm = algorithm, v.root_digest = digest, v.salt = salt;
	fx_init(true);
	fx.cfg.dev_root = "/dev";
	return v;
}

static unsigned long long env_ull(const char *name)
{
	const char *s = getenv(name);

	CHECK(s != NULL);
	return strtoull(s, NULL, 10);
}

static void check_layer(const char *mp, const char *dm)
{
	char file[PATH_MAX], src[PATH_MAX], opts[512], buf[64];

	fx_fmt(file, "%s/%s", mp, LAYER_FILE);
	CHECK_STREQ(fx_read(file, buf, sizeof(buf)), LAYER_TEXT);
	CHECK(fx_mountinfo(mp, src, opts, NULL));
	CHECK_STREQ(src, dm);
	CHECK(strncmp(opts, "ro", 2) == 0);
}

TEST(real_vpmem_verity_layer_mounts_reads_and_goes)
{
	struct vpmem_mount_req req = {.device_number = 1};
	char mp[PATH_MAX];
	struct error e;

	req.verity = vm_info();
	fx_fmt(mp, "%s/layers/p1", fx.run);
	req.mount_path = mp;
	CHECK_STORAGE(storage_vpmem_mount(&fx.cfg, &req, &e), &e);
	check_layer(mp, "/dev/mapper/dm-verity-pmem1");
	/* Remove without VerityInfo (what hosts after v0.11 send) still
	 * removes the verity device. */
	req.verity.present = false;
	CHECK_STORAGE(storage_vpmem_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_exists("/dev/mapper/dm-verity-pmem1"));
	CHECK(!fx_exists(mp));
}

/* The tampered copy: the tree and the superblock block verify, the file's
 * block does not. Reading it fails with EIO; everything else goes on. */
TEST(real_vpmem_verity_corrupt_block_reads_as_eio)
{
	struct vpmem_mount_req bad = {.device_number = 1}, ok = {.device_number = 1};
	char mp[PATH_MAX], mp_ok[PATH_MAX], file[PATH_MAX], dm[PATH_MAX], buf[64];
	struct error e;
	int fd;

	bad.verity = ok.verity = vm_info();
	fx_fmt(mp, "%s/layers/p1-corrupt", fx.run);
	bad.mount_path = mp;
	bad.has_mapping = true;
	bad.mapping_offset = env_ull("LCOW_VERITY_CORRUPT_AT");
	bad.mapping_size = env_ull("LCOW_VERITY_IMAGE");
	CHECK_STORAGE(storage_vpmem_mount(&fx.cfg, &bad, &e), &e);
	fx_fmt(dm, "/dev/mapper/dm-verity-pmem1-%llu-%llu", (unsigned long long)bad.mapping_offset,
	       (unsigned long long)bad.mapping_size);
	fx_fmt(file, "%s/%s", mp, LAYER_FILE);
	fd = open(file, O_RDONLY);
	CHECK(fd >= 0);
	errno = 0;
	CHECK_EQ(read(fd, buf, sizeof(buf)), -1);
	CHECK_EQ(errno, EIO);
	close(fd);
	/* The good layer on the same device mounts and reads meanwhile. */
	fx_fmt(mp_ok, "%s/layers/p1", fx.run);
	ok.mount_path = mp_ok;
	CHECK_STORAGE(storage_vpmem_mount(&fx.cfg, &ok, &e), &e);
	check_layer(mp_ok, "/dev/mapper/dm-verity-pmem1");
	CHECK_STORAGE(storage_vpmem_unmount(&fx.cfg, &ok, &e), &e);
	CHECK_STORAGE(storage_vpmem_unmount(&fx.cfg, &bad, &e), &e);
	CHECK(!fx_exists(dm));
	fx_fmt(dm, "/dev/mapper/dm-linear-pmem1-%llu-%llu", (unsigned long long)bad.mapping_offset,
	       (unsigned long long)bad.mapping_size);
	CHECK(!fx_exists(dm));
}

TEST(real_verity_wrong_root_digest_is_refused)
{
	struct vpmem_mount_req req = {.device_number = 1};
	char mp[PATH_MAX];
	struct error e;

	req.verity = vm_info();
	digest[0] = digest[0] == '0' ? '1' : '0';
	fx_fmt(mp, "%s/layers/p1", fx.run);
	req.mount_path = mp;
	CHECK_EQ(storage_vpmem_mount(&fx.cfg, &req, &e), -EIO);
	CHECK_CONTAINS(e.msg, "VPMem device 1: dm-verity dm-verity-pmem1 over /dev/pmem1: the "
			      "hash tree does not verify against RootDigest");
	CHECK_CONTAINS(e.msg, digest);
	CHECK(!fx_exists("/dev/mapper/dm-verity-pmem1"));
	CHECK(!fx_exists(mp));
	/* A table the kernel refuses (more data than the device holds) is
	 * named as such. */
	req.verity.ext4_size = 64 << 20;
	CHECK(storage_vpmem_mount(&fx.cfg, &req, &e) < 0);
	CHECK_CONTAINS(e.msg, "dm-verity dm-verity-pmem1 over /dev/pmem1, table \"1 ");
	CHECK_CONTAINS(e.msg, "\": load table: ");
	CHECK(!fx_exists("/dev/mapper/dm-verity-pmem1"));
}

TEST(real_scsi_verity_layer)
{
	struct scsi_mount_req req = {.controller = 0, .lun = VERITY_LUN, .read_only = true};
	const char *dm = "/dev/mapper/dm-verity-scsi-contr0-lun7-p0";
	char mp[PATH_MAX];
	struct error e;

	req.verity = vm_info();
	fx_real_scsi_sysfs(VERITY_LUN);
	fx_fmt(mp, "%s/mounts/scsi/m7", fx.run);
	req.mount_path = mp;
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	check_layer(mp, dm);
	req.verity.present = false; /* Remove as v0.12+ hosts send it */
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_exists(dm));
	/* A wrong digest on SCSI: refused, nothing left. */
	req.verity.present = true;
	digest[1] = digest[1] == '0' ? '1' : '0';
	CHECK_EQ(storage_scsi_mount(&fx.cfg, &req, &e), -EIO);
	CHECK_CONTAINS(e.msg, "SCSI controller 0 LUN 7: dm-verity");
	CHECK_CONTAINS(e.msg, "does not verify");
	CHECK(!fx_exists(dm) && !fx_exists(mp));
}

/* Counts PLAINTEXT in the first `limit` bytes of dev. */
static int count_plaintext(const char *dev, unsigned long long limit)
{
	static char buf[1 << 20];
	int fd = open(dev, O_RDONLY), n = 0;
	unsigned long long done = 0;
	size_t keep = strlen(PLAINTEXT) - 1, have = 0;

	CHECK(fd >= 0);
	while (done < limit) {
		ssize_t got = read(fd, buf + have, sizeof(buf) - have);

		CHECK(got >= 0);
		if (got == 0)
			break;
		done += (unsigned long long)got;
		have += (size_t)got;
		for (char *p = buf;
		     (p = memmem(p, have - (size_t)(p - buf), PLAINTEXT, strlen(PLAINTEXT))); p++)
			n++;
		/* Keep a tail shorter than the marker: no match counted twice. */
		if (have > keep) {
			memmove(buf, buf + have - keep, keep);
			have = keep;
		}
	}
	close(fd);
	return n;
}

TEST(real_scsi_encrypted_scratch)
{
	struct scsi_mount_req req = {.controller = 0, .lun = CRYPT_LUN, .encrypted = true};
	const char *dm = "/dev/mapper/dm-crypt-scsi-contr0-lun9-p0";
	char mp[PATH_MAX], file[PATH_MAX], src[PATH_MAX], raw[PATH_MAX], text[4096];
	struct error e;
	int fd;

	vm_info();
	fx_real_scsi_sysfs(CRYPT_LUN);
	CHECK_STORAGE(scsi_find_device(&fx.cfg, 0, CRYPT_LUN, 0, raw, sizeof(raw), &e), &e);
	fx_fmt(mp, "%s/gcs/c/enc", fx.run);
	req.mount_path = mp;
	req.ensure_filesystem = true;
	req.filesystem = "xfs"; /* what hosts send with scratch encryption */
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	CHECK(fx_mountinfo(mp, src, NULL, NULL));
	CHECK_STREQ(src, dm);
	/* The filesystem is usable: a file of markers, written through. */
	text[0] = '\0';
	while (strlen(text) + strlen(PLAINTEXT) < sizeof(text))
		strcat(text, PLAINTEXT);
	fx_fmt(file, "%s/secret", mp);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	for (int i = 0; i < 64; i++)
		CHECK_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	CHECK_EQ(fsync(fd), 0);
	close(fd);
	fd = open(mp, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && syncfs(fd) == 0);
	close(fd);
	/* Through dm-crypt the markers are there (the search works), on the
	 * disk itself they are not. */
	CHECK(count_plaintext(dm, 64ull << 20) > 0);
	CHECK_EQ(count_plaintext(raw, 64ull << 20), 0);
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_exists(dm));
	CHECK_EQ(count_plaintext(raw, 64ull << 20), 0);
	/* A new mount has a new key: a fresh, empty filesystem. */
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_exists(file));
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	/* Encrypted formats the disk: a read-only one is refused. */
	req.read_only = true;
	CHECK_EQ(storage_scsi_mount(&fx.cfg, &req, &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "Encrypted formats the disk");
}

/* An xfs disk a host attaches (made by mkfs.xfs on the host side) mounts
 * read-write and, once written, read-only without log recovery. */
TEST(real_scsi_xfs_mounts)
{
	struct scsi_mount_req req = {.controller = 0, .lun = XFS_LUN};
	char mp[PATH_MAX], file[PATH_MAX], buf[64] = "";
	struct statfs sf;
	struct error e;
	FILE *f;

	vm_info();
	fx_real_scsi_sysfs(XFS_LUN);
	fx_fmt(mp, "%s/mounts/scsi/m10", fx.run);
	req.mount_path = mp;
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	CHECK(fx_mountinfo(mp, NULL, NULL, NULL));
	CHECK(statfs(mp, &sf) == 0 && sf.f_type == 0x58465342); /* XFS_SUPER_MAGIC */
	fx_fmt(file, "%s/written-in-the-guest", mp);
	fx_write(file, "on xfs\n");
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_exists(mp));
	req.read_only = true;
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	f = fopen(file, "r");
	CHECK(f != NULL && fgets(buf, sizeof(buf), f));
	fclose(f);
	CHECK_STREQ(buf, "on xfs\n");
	CHECK(open(file, O_WRONLY) < 0 && errno == EROFS);
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
}
