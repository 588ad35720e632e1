/* An assigned PCI device (VPCIDevice, spec §3.10.7): wait until it shows up
 * under /sys/bus/vmbus/devices/<VMBusGUID>/pci<D:B>/<D:B>*. Hot-plug can
 * take seconds, so the wait is a 10 ms poll timer on the loop and the
 * operation finishes when the device is there.
 *
 * The reference waits until the host's 5-minute RPC timeout (which would kill
 * the bridge); this guest gives up earlier with an error.
 * LCOW_SYSFS_ROOT (tests) replaces "/sys". */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"

#include <ctype.h>
#include "core/log.h"
#include "core/loop.h"

#define VPCI_POLL_MS 10
#define VPCI_TIMEOUT_MS (4 * 60 * 1000)

struct vpci_wait {
	struct op_done done;
	struct loop_timer *timer;
	char guid[65];
	uint64_t deadline;
};

static void finish(struct vpci_wait *w, int rc, const struct error *err)
{
	op_finish(&w->done, rc, err, NULL);
	free(w);
}

static const char *sysfs_root(void)
{
	const char *r = getenv("LCOW_SYSFS_ROOT");

	return r && *r ? r : "/sys";
}

/* A GUID made of hex digits and dashes: it becomes a path component. */
static bool guid_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

/* Finds the first entry of dir starting with prefix. 1: found (name copied),
 * 0: none yet, <0: an error other than "not there yet". */
static int find_entry(const char *dir, const char *prefix, char *name, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(name, size, "%s", e->d_name);
		rc = 1;
		break;
	}
	closedir(d);
	return rc;
}

/* 1 when /sys/bus/vmbus/devices/<guid>/pci<B>/<B>* exists. */
static int vpci_present(const char *guid, char *found, size_t size, struct error *err)
{
	char dir[512], pci[256], dev[256];
	int rc;

	snprintf(dir, sizeof(dir), "%s/bus/vmbus/devices/%s", sysfs_root(), guid);
	rc = find_entry(dir, "pci", pci, sizeof(pci));
	if (rc <= 0)
		goto out;
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/%s", pci);
	rc = find_entry(dir, pci + 3, dev, sizeof(dev));
	if (rc == 1)
		snprintf(found, size, "%s/%s", dir, dev);
out:
	if (rc < 0)
		return error_errno(err, -rc, "VPCIDevice %s: read %s", guid, dir);
	return rc;
}

static void vpci_poll(struct loop *l, void *data)
{
	struct vpci_wait *w = data;
	struct error err;
	char found[1024];
	int rc;

	w->timer = NULL;
	rc = vpci_present(w->guid, found, sizeof(found), &err);
	if (rc == 0 && loop_now_ms() >= w->deadline)
		rc = error_set(&err, ERR_FAIL, ETIMEDOUT,
			       "VPCIDevice %s: the device did not appear within %d s", w->guid,
			       VPCI_TIMEOUT_MS / 1000);
	if (rc < 0) {
		finish(w, rc, &err);
		return;
	}
	if (rc == 1) {
		log_fields(LOG_INFO, LOG_FIELDS(LOG_STR("path", found)), "vPCI device present");
		finish(w, 0, NULL);
		return;
	}
	w->timer = loop_timer_add(l, VPCI_POLL_MS, vpci_poll, w);
	if (!w->timer) {
		rc = error_set(&err, ERR_FAIL, ENOMEM, "VPCIDevice %s: out of memory", w->guid);
		finish(w, rc, &err);
	}
}

static void cancel(void *op)
{
	struct vpci_wait *w = op;

	loop_timer_cancel(w->timer);
	free(w);
}

int vpci_wait_device(struct loop *l, const char *guid, const struct op_done *done,
		     struct error *err)
{
	struct vpci_wait *w;

	if (!guid_ok(guid))
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "VPCIDevice: VMBusGUID '%s' is not a GUID", guid);
	w = calloc(1, sizeof(*w));
	if (!w)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	w->done = *done;
	snprintf(w->guid, sizeof(w->guid), "%s", guid);
	w->deadline = loop_now_ms() + VPCI_TIMEOUT_MS;
	/* First look on the next iteration: same code path as every poll. */
	w->timer = loop_timer_add(l, 0, vpci_poll, w);
	if (!w->timer) {
		free(w);
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	}
	op_on_cancel(done, cancel, w);
	return 0;
}
