/* Encrypted scratch (issue 13 item 7): a plain dm-crypt device over the
 * disk with a key drawn from getrandom() for this mount only. The key is
 * never stored: what was written cannot be read back after the device is
 * removed, which is what a scratch for one UVM needs, so no LUKS header is
 * written. Confidentiality only: without dm-integrity (not in the kernel)
 * a block the host changes reads back as garbage rather than as an error. */
#ifndef GCS_STORAGE_CRYPT_H
#define GCS_STORAGE_CRYPT_H

#include <stddef.h>

#include "error.h"
#include "storage/storage.h"

#define CRYPT_CIPHER "aes-xts-plain64"
#define CRYPT_KEY_BYTES 64 /* AES-256 in XTS: two 256-bit keys */

/* The crypt target's parameters for dev ("<major>:<minor>") and key:
 * "aes-xts-plain64 <hex key> 0 <dev> 0", plus "1 sector_size:4096" when
 * big_sectors (fewer, larger crypto operations; the filesystem uses 4 KiB
 * blocks anyway). */
int crypt_params(const unsigned char key[CRYPT_KEY_BYTES], const char *dev, bool big_sectors,
		 char *buf, size_t size, struct error *e);

/* Creates the read-write crypt device name over the whole of dev_path with
 * a fresh random key (wiped from memory once the kernel has it); the node
 * goes to out. */
int crypt_create(const struct storage_config *cfg, const char *name, const char *dev_path,
		 char *out, size_t size, struct error *e);

#endif
