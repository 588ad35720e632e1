/* A NIC hot-added by the host (spec §3.10.6): its interface is looked up
 * in sysfs (a job: up to 5 s of polling while HCS hot-plugs it), the NIC is
 * recorded in its namespace, and when a container owns that namespace
 * already it is moved into the container's network namespace and
 * configured (a second job) before the operation finishes; when that
 * container uses the UVM's network namespace (hostnetwork) the NIC is
 * configured where it is. A NIC ID recorded already is an error. Removal
 * only forgets the NIC; nothing on the interface is undone.
 *
 * LCOW_SYSFS_ROOT (tests) replaces "/sys". */
#include "network/network.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"

struct net_job {
	struct op_done done; /* fn NULL: configure_later, nobody to tell */
	struct net_nic nic;
	pid_t pid; /* moving: the owner's init; 0: configured where it is */
	uint64_t started;
};

static const char *sysfs_root(void)
{
	const char *r = getenv("LCOW_SYSFS_ROOT");

	return r && *r ? r : "/sys";
}

static void finish(struct net_job *j, int rc, const struct error *err)
{
	if (j->done.fn)
		op_finish(&j->done, rc, err, NULL);
	free(j);
}

static int move_run(void *data, struct error *err)
{
	struct net_job *j = data;

	if (!j->pid)
		return net_nic_configure_here(&j->nic, err);
	return net_nic_move_configure(&j->nic, j->pid, err);
}

static void move_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct net_job *j = data;

	if (rc < 0 && !(j->done.fn && op_wanted(&j->done)))
		log_fields(LOG_WARN, LOG_FIELDS(LOG_STR("nic", j->nic.id)),
			   "NIC not configured: %s", jerr ? jerr->msg : "?");
	finish(j, rc, jerr);
}

int net_nic_configure_later(struct loop *l, const struct net_nic *nic, pid_t pid, struct error *err)
{
	struct net_job *j = calloc(1, sizeof(*j));
	int rc;

	if (!j)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	j->nic = *nic;
	j->pid = pid;
	rc = loop_job(l, move_run, move_done, j, err);
	if (rc < 0)
		free(j);
	return rc;
}

static int resolve_run(void *data, struct error *err)
{
	struct net_job *j = data;

	return net_nic_resolve(&j->nic, sysfs_root(), NET_IFNAME_TIMEOUT_MS, err);
}

static void resolve_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct net_job *j = data;
	bool host_network = false;
	struct error err;
	pid_t owner = 0;

	if (rc < 0 || !op_wanted(&j->done)) {
		finish(j, rc, jerr);
		return;
	}
	rc = net_ns_add_nic(&j->nic, &owner, &host_network, &err);
	if (rc == 0)
		log_fields(LOG_INFO,
			   LOG_FIELDS(LOG_STR("nic", j->nic.id), LOG_STR("namespace", j->nic.ns),
				      LOG_STR("ifname", j->nic.ifname), LOG_INT("owner", owner),
				      LOG_UINT("ms", loop_now_ms() - j->started)),
			   "NIC added");
	if (rc < 0 || !owner) {
		finish(j, rc, rc < 0 ? &err : NULL);
		return;
	}
	j->pid = host_network ? 0 : owner;
	rc = loop_job(l, move_run, move_done, j, &err);
	if (rc < 0)
		finish(j, rc, &err);
}

int net_nic_add(struct loop *l, const Gcs__LCOWNetworkAdapter *a, const struct op_done *done,
		struct error *err)
{
	struct net_job *j = calloc(1, sizeof(*j));
	int rc;

	if (!j)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	rc = net_nic_parse(a, &j->nic, err);
	if (rc == 0 && net_ns_has_nic(j->nic.id))
		rc = error_set(err, ERR_EXISTS, EEXIST, "NIC %s is already added", j->nic.id);
	if (rc < 0) {
		free(j);
		return rc;
	}
	j->done = *done;
	j->started = loop_now_ms();
	rc = loop_job(l, resolve_run, resolve_done, j, err);
	if (rc < 0)
		free(j);
	return rc;
}

int net_nic_remove(const Gcs__LCOWNetworkAdapter *a, struct error *err)
{
	char ns[NET_ID_MAX], id[NET_ID_MAX];
	int rc;

	rc = net_guid_norm(a->id, id, sizeof(id), "ID", err);
	if (rc == 0)
		rc = net_guid_norm(a->namespaceid, ns, sizeof(ns), "NamespaceID", err);
	if (rc < 0)
		return rc;
	net_ns_remove_nic(ns, id);
	log_fields(LOG_INFO, LOG_FIELDS(LOG_STR("nic", id), LOG_STR("namespace", ns)),
		   "NIC removed");
	return 0;
}
