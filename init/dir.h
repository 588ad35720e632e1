/* Directory listing for /init without opendir(3): musl allocates each DIR
 * with malloc, which /init does not link (pages.h). */
#ifndef LCOW_INIT_DIR_H
#define LCOW_INIT_DIR_H

/* Called for each entry but "." and ".."; dfd is the directory. A non-zero
 * return stops the listing and becomes dir_each's result. */
typedef int (*dir_entry_fn)(int dfd, const char *name, void *ctx);

/* Lists the directory at path (relative to dfd, or absolute; dfd may be
 * AT_FDCWD). Returns 0 after the last entry, what fn stopped with, or a
 * negative errno when the directory cannot be read. */
int dir_each(int dfd, const char *path, dir_entry_fn fn, void *ctx);

#endif
