#include "storage/ext4_format.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <sys/types.h> /* ext2fs.h uses dev_t, mode_t without including it */
#include <ext2fs/ext2fs.h>

#define BLOCK_SIZE 4096
#define LOG_BLOCK_SIZE 2 /* 1024 << 2 */
#define INODE_SIZE 256
#define LOG_GROUPS_PER_FLEX 4
#define LOST_FOUND_BLOCKS 4 /* e2fsck wants lost+found to have room */

static int ext2_fail(struct error *e, errcode_t rc, const char *what)
{
	int errnum = rc > 0 && rc < 4096 ? (int)rc : EIO;

	return error_set(e, ERR_FAIL, errnum, "ext4 format: %s: %s", what, error_message(rc));
}

static void set_features(struct ext2_super_block *sb)
{
	ext2fs_set_feature_journal(sb);
	ext2fs_set_feature_xattr(sb);
	ext2fs_set_feature_resize_inode(sb);
	ext2fs_set_feature_dir_index(sb);
	ext2fs_set_feature_filetype(sb);
	ext2fs_set_feature_extents(sb);
	ext2fs_set_feature_64bit(sb);
	ext2fs_set_feature_flex_bg(sb);
	ext2fs_set_feature_sparse_super(sb);
	ext2fs_set_feature_large_file(sb);
	ext2fs_set_feature_huge_file(sb);
	ext2fs_set_feature_dir_nlink(sb);
	ext2fs_set_feature_extra_isize(sb);
	ext2fs_set_feature_metadata_csum(sb);
}

static int fill_random(void *buf, size_t len, struct error *e)
{
	if (getrandom(buf, len, 0) != (ssize_t)len)
		return error_errno(e, errno, "ext4 format: getrandom");
	return 0;
}

static errcode_t zero_first_inodes(ext2_filsys fs)
{
	blk64_t bytes = (blk64_t)EXT2_FIRST_INO(fs->super) * EXT2_INODE_SIZE(fs->super);

	return ext2fs_zero_blocks2(fs, ext2fs_inode_table_loc(fs, 0),
				   (blk_t)((bytes + fs->blocksize - 1) / fs->blocksize), NULL,
				   NULL);
}

/* Inodes below the first usable one (journal, resize, ...) are in use. */
static void reserve_inodes(ext2_filsys fs)
{
	for (ext2_ino_t ino = EXT2_ROOT_INO + 1; ino < EXT2_FIRST_INODE(fs->super); ino++)
		ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
	ext2fs_mark_ib_dirty(fs);
}

static errcode_t make_lost_found(ext2_filsys fs)
{
	ext2_ino_t ino;
	errcode_t rc = ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "lost+found");

	if (rc)
		return rc;
	rc = ext2fs_lookup(fs, EXT2_ROOT_INO, "lost+found", 10, NULL, &ino);
	for (int i = 1; !rc && i < LOST_FOUND_BLOCKS; i++)
		rc = ext2fs_expand_dir(fs, ino);
	return rc;
}

static errcode_t add_journal(ext2_filsys fs)
{
	struct ext2fs_journal_params jparams;
	errcode_t rc = ext2fs_get_journal_params(&jparams, fs);

	if (rc)
		return rc;
	return ext2fs_add_journal_inode3(fs, &jparams, ~0ULL, 0);
}

static int build(ext2_filsys fs, struct error *e)
{
	struct ext2_super_block *sb = fs->super;
	errcode_t rc;
	int r;

	if ((r = fill_random(sb->s_uuid, sizeof(sb->s_uuid), e)) < 0 ||
	    (r = fill_random(sb->s_hash_seed, sizeof(sb->s_hash_seed), e)) < 0)
		return r;
	sb->s_def_hash_version = EXT2_HASH_HALF_MD4;
	sb->s_checksum_type = EXT2_CRC32C_CHKSUM;
	sb->s_mkfs_time = sb->s_wtime = (__u32)time(NULL);
	sb->s_max_mnt_count = (__u16)-1;
	ext2fs_init_csum_seed(fs);

	if ((rc = ext2fs_allocate_tables(fs)))
		return ext2_fail(e, rc, "allocate group tables");
	/* The kernel zeroes inode tables lazily; uninit flags make it safe.
	 * The inodes made here (1 to s_first_ino, in group 0) are read before
	 * they are written, so they must start as zeroes even on a disk that
	 * held data, or reads as noise like a new dm-crypt device. */
	if ((rc = zero_first_inodes(fs)))
		return ext2_fail(e, rc, "zero the first inodes");
	if ((rc = ext2fs_mkdir(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, NULL)))
		return ext2_fail(e, rc, "create root directory");
	if ((rc = make_lost_found(fs)))
		return ext2_fail(e, rc, "create lost+found");
	ext2fs_mark_inode_bitmap2(fs->inode_map, EXT2_BAD_INO);
	ext2fs_inode_alloc_stats2(fs, EXT2_BAD_INO, +1, 0);
	if ((rc = ext2fs_update_bb_inode(fs, NULL)))
		return ext2_fail(e, rc, "create bad block inode");
	reserve_inodes(fs);
	if ((rc = ext2fs_create_resize_inode(fs)))
		return ext2_fail(e, rc, "create resize inode");
	if ((rc = add_journal(fs)))
		return ext2_fail(e, rc, "create journal");
	return 0;
}

/* com_err's table list is global; several workers may format at once. */
static pthread_once_t error_table_once = PTHREAD_ONCE_INIT;

/* libext2fs is not thread-safe across filesystems: ext2fs_zero_blocks2()
 * keeps its zero buffer in a static and frees it while another format may
 * be writing from it. One format at a time. */
static pthread_mutex_t format_lock = PTHREAD_MUTEX_INITIALIZER;

static void ext4_init_error_table(void)
{
	initialize_ext2_error_table();
}

/* libext2fs leaves the first 1 KiB alone; a stale signature there (xfs
 * superblock, MBR) would make the disk look like two things to blkid.
 * O_EXCL: a mounted block device is refused before anything is written. */
static int wipe_boot_block(const char *path, struct error *e)
{
	static const char zero[1024];
	int fd = open(path, O_WRONLY | O_EXCL | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return error_errno(e, errno, "ext4 format: open %s", path);
	if (pwrite(fd, zero, sizeof(zero), 0) != (ssize_t)sizeof(zero))
		r = error_errno(e, errno, "ext4 format: wipe %s", path);
	close(fd);
	return r;
}

static int format_locked(const char *path, struct error *e)
{
	struct ext2_super_block param;
	ext2_filsys fs = NULL;
	blk64_t blocks = 0;
	errcode_t rc;
	int r;

	rc = ext2fs_get_device_size2(path, BLOCK_SIZE, &blocks);
	if (rc)
		return ext2_fail(e, rc, path);
	if (blocks < 1024)
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "ext4 format: %s: too small (%llu blocks of 4 KiB)", path,
				 (unsigned long long)blocks);
	if ((r = wipe_boot_block(path, e)) < 0)
		return r;

	memset(&param, 0, sizeof(param));
	param.s_rev_level = EXT2_DYNAMIC_REV;
	param.s_log_block_size = LOG_BLOCK_SIZE;
	param.s_inode_size = INODE_SIZE;
	param.s_log_groups_per_flex = LOG_GROUPS_PER_FLEX;
	ext2fs_blocks_count_set(&param, blocks);
	set_features(&param);

	rc = ext2fs_initialize(path, EXT2_FLAG_EXCLUSIVE | EXT2_FLAG_64BITS, &param,
			       unix_io_manager, &fs);
	if (rc)
		return ext2_fail(e, rc, "initialize");
	r = build(fs, e);
	if (r < 0) {
		ext2fs_free(fs);
		return r;
	}
	rc = ext2fs_close_free(&fs);
	if (rc)
		return ext2_fail(e, rc, "write metadata");
	return 0;
}

int ext4_format(const char *path, struct error *e)
{
	int r;

	pthread_once(&error_table_once, ext4_init_error_table);
	pthread_mutex_lock(&format_lock);
	r = format_locked(path, e);
	pthread_mutex_unlock(&format_lock);
	return r;
}
