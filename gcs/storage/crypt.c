#include "storage/crypt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "storage/dm.h"
#include "storage/probe.h"

#define BIG_SECTOR 4096

int crypt_params(const unsigned char key[CRYPT_KEY_BYTES], const char *dev, bool big_sectors,
		 char *buf, size_t size, struct error *e)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(CRYPT_CIPHER) + 1 + 2 * CRYPT_KEY_BYTES;
	int m;

	if (size <= n)
		return error_set(e, ERR_FAIL, ENOBUFS, "dm-crypt table too long");
	memcpy(buf, CRYPT_CIPHER " ", strlen(CRYPT_CIPHER) + 1);
	for (size_t i = 0; i < CRYPT_KEY_BYTES; i++) {
		buf[strlen(CRYPT_CIPHER) + 1 + 2 * i] = hex[key[i] >> 4];
		buf[strlen(CRYPT_CIPHER) + 2 + 2 * i] = hex[key[i] & 15];
	}
	m = snprintf(buf + n, size - n, " 0 %s 0%s", dev, big_sectors ? " 1 sector_size:4096" : "");
	if (m < 0 || (size_t)m >= size - n)
		return error_set(e, ERR_FAIL, ENOBUFS, "dm-crypt table too long");
	return 0;
}

static int random_key(unsigned char *key, struct error *e)
{
	size_t got = 0;

	while (got < CRYPT_KEY_BYTES) {
		ssize_t n = getrandom(key + got, CRYPT_KEY_BYTES - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_errno(e, errno, "getrandom");
		got += (size_t)n;
	}
	return 0;
}

int crypt_create(const struct storage_config *cfg, const char *name, const char *dev_path,
		 char *out, size_t size, struct error *e)
{
	unsigned char key[CRYPT_KEY_BYTES];
	char dev[32], params[256];
	struct dm_target target = {0, 0, "crypt", params};
	uint64_t bytes;
	int r;

	if ((r = dm_dev_number(dev_path, dev, sizeof(dev), e)) < 0 ||
	    (r = storage_device_size(dev_path, &bytes, e)) < 0)
		return error_prefix(e, "dm-crypt %s", name);
	if (bytes < BIG_SECTOR)
		return error_set(e, ERR_FAIL, ENOSPC, "dm-crypt %s: %s is too small (%llu bytes)",
				 name, dev_path, (unsigned long long)bytes);
	target.length = bytes / DM_SECTOR;
	if ((r = random_key(key, e)) < 0)
		return error_prefix(e, "dm-crypt %s", name);
	r = crypt_params(key, dev, bytes % BIG_SECTOR == 0, params, sizeof(params), e);
	explicit_bzero(key, sizeof(key));
	if (r == 0)
		r = dm_create(cfg, name, &target, 1, false, out, size, e);
	explicit_bzero(params, sizeof(params));
	if (r < 0)
		return error_prefix(e, "dm-crypt %s (%s) over %s", name, CRYPT_CIPHER, dev_path);
	return 0;
}
