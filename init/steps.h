/* The named steps of the boot table (boot.h); each returns 0 or a negative
 * errno and takes the parsed options. */
#ifndef LCOW_INIT_STEPS_H
#define LCOW_INIT_STEPS_H

#include <stdbool.h>

struct init_options;

/* Gives init fds 0-2 (/dev/console, else /dev/null) if the kernel did not. */
int init_console_stdio(const struct init_options *o);

/* Brings lo up for IPv4 and IPv6. */
int init_loopback_up(const struct init_options *o);

/* Loads the kernel modules the devices present need, from
 * /lib/modules/$(uname -r); none there is nothing to do (modules.h). */
int init_modules_load(const struct init_options *o);

/* Mounts the initrd's compressed tools (runc, busybox, mke2fs, chronyd) from
 * /lib/lcow/tools.squashfs on /lib/lcow/tools; no image is nothing to do.
 * When loop or squashfs is not there yet (a vendor kernel with them as
 * modules), init_tools_mount leaves it to init_tools_mount_deferred, which
 * the table runs after the modules and a join; otherwise that one does
 * nothing. */
int init_tools_mount(const struct init_options *o);
int init_tools_mount_deferred(const struct init_options *o);

/* Reads the host's entropy from the -e port into the kernel pool. */
int init_entropy_seed(const struct init_options *o);

#endif
