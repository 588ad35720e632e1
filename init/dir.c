#include "dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* The kernel's struct linux_dirent64. */
struct dent64 {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static bool is_dot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

int dir_each(int dfd, const char *path, dir_entry_fn fn, void *ctx)
{
	_cleanup_close_ int fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char buf[4096] __attribute__((aligned(8)));
	long n;
	int r;

	if (fd < 0)
		return -errno;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < n; at += ((struct dent64 *)(buf + at))->reclen) {
			const char *name = ((struct dent64 *)(buf + at))->name;

			if (is_dot(name))
				continue;
			r = fn(fd, name, ctx);
			if (r)
				return r;
		}
	}
	return n < 0 ? -errno : 0;
}
