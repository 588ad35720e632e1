#include "storage/verity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "storage/dm.h"

#define MAX_DIGEST_HEX 128 /* sha512 */
#define MAX_SALT_HEX 512   /* the kernel's limit: 256 bytes */
#define MAX_ALGORITHM 32
#define MAX_BLOCK 4096 /* BlockSize: 512 up to a page */

static bool is_hex(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n % 2 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
}

static bool is_algorithm(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MAX_ALGORITHM)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-", s[i]))
			return false;
	return true;
}

static int invalid(struct error *e, const char *what)
{
	return error_set(e, ERR_INVALID_ARG, EINVAL, "VerityInfo: %s", what);
}

/* The kernel accepts 512 bytes up to a page; hcsshim sends the ext4 block
 * size (4096). */
static bool good_block_size(int64_t b)
{
	return b >= 512 && b <= MAX_BLOCK && (b & (b - 1)) == 0;
}

int verity_check(const struct verity_info *v, struct error *e)
{
	const char *salt = v->salt && *v->salt ? v->salt : "-";

	if (v->version != 0 && v->version != 1)
		return invalid(e, "Version must be 0 or 1");
	if (!good_block_size(v->block_size))
		return invalid(e, "BlockSize must be a power of two from 512 to 4096");
	if (v->ext4_size <= 0 || v->ext4_size % v->block_size)
		return invalid(e, "Ext4SizeInBytes must be a positive multiple of BlockSize");
	if (!v->algorithm || !is_algorithm(v->algorithm))
		return invalid(e, "Algorithm must be a hash name such as sha256");
	if (!v->root_digest || !*v->root_digest || !is_hex(v->root_digest, MAX_DIGEST_HEX))
		return invalid(e, "RootDigest must be hexadecimal (at most 64 bytes)");
	if (strcmp(salt, "-") != 0 && !is_hex(salt, MAX_SALT_HEX))
		return invalid(e, "Salt must be hexadecimal (at most 256 bytes)");
	return 0;
}

int verity_params(const struct verity_info *v, const char *dev, char *buf, size_t size,
		  uint64_t *sectors, struct error *e)
{
	const char *salt = v->salt && *v->salt ? v->salt : "-";
	long long blocks;
	int n, r;

	if ((r = verity_check(v, e)) < 0)
		return r;
	blocks = v->ext4_size / v->block_size;
	n = snprintf(buf, size, "%lld %s %s %lld %lld %lld %lld %s %s %s", (long long)v->version,
		     dev, dev, (long long)v->block_size, (long long)v->block_size, blocks,
		     blocks + (v->superblock ? 1 : 0), v->algorithm, v->root_digest, salt);
	if (n < 0 || (size_t)n >= size)
		return error_set(e, ERR_FAIL, ENOBUFS, "VerityInfo: verity table too long");
	*sectors = (uint64_t)v->ext4_size / DM_SECTOR;
	return 0;
}

/* dm-verity checks a block, and the tree above it up to the root digest,
 * when it is first read: EIO here means the device does not verify. */
static int read_first_block(const char *node, const struct verity_info *v, struct error *e)
{
	_cleanup_close_ int fd = open(node, O_RDONLY | O_CLOEXEC);
	char buf[MAX_BLOCK];
	ssize_t n;

	if (fd < 0)
		return error_errno(e, errno, "open %s", node);
	n = pread(fd, buf, (size_t)v->block_size, 0);
	if (n < 0 && errno == EIO)
		return error_set(e, ERR_FAIL, EIO,
				 "the hash tree does not verify against RootDigest %s "
				 "(dm-verity refused the first block: %s)",
				 v->root_digest, strerror(EIO));
	if (n < 0)
		return error_errno(e, errno, "read %s", node);
	if (n != (ssize_t)v->block_size)
		return error_set(e, ERR_FAIL, EIO, "read %s: short read", node);
	return 0;
}

int verity_create(const struct storage_config *cfg, const char *name, const char *dev_path,
		  const struct verity_info *v, char *out, size_t size, struct error *e)
{
	char dev[32], params[1024];
	struct dm_target target = {0, 0, "verity", params};
	struct error ignored;
	int r;

	if ((r = dm_dev_number(dev_path, dev, sizeof(dev), e)) < 0 ||
	    (r = verity_params(v, dev, params, sizeof(params), &target.length, e)) < 0)
		return error_prefix(e, "dm-verity %s", name);
	/* The table holds nothing secret: a refused one is shown. */
	if ((r = dm_create(cfg, name, &target, 1, true, out, size, e)) < 0)
		return error_prefix(e, "dm-verity %s over %s, table \"%s\"", name, dev_path,
				    params);
	if ((r = read_first_block(out, v, e)) < 0) {
		dm_remove(cfg, name, &ignored);
		return error_prefix(e, "dm-verity %s over %s", name, dev_path);
	}
	return 0;
}
