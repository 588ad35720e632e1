/* ModifySettings Network (spec §3.10.6, §6.8) on the UVM.
 *
 * Add: the NIC's interface is looked up in sysfs (a job: up to 5 s of
 * polling while HCS hot-plugs it), the NIC is recorded in its namespace, and
 * when a container owns that namespace already it is moved into the
 * container's network namespace and configured (a second job) before the
 * reply. A NIC ID recorded already is an error.
 * Remove: the NIC is forgotten (an unknown namespace or NIC is fine);
 * nothing on the interface is undone.
 *
 * LCOW_SYSFS_ROOT (tests) replaces "/sys". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/handler.h"
#include "core/log.h"
#include "core/loop.h"
#include "network/network.h"

struct net_job {
	struct request *req; /* NULL once the gcs cancelled it */
	struct net_nic nic;
	pid_t pid; /* moving: the owner's init */
	uint64_t started;
};

static const char *sysfs_root(void)
{
	const char *r = getenv("LCOW_SYSFS_ROOT");

	return r && *r ? r : "/sys";
}

static void job_cancel(struct request *req, void *data)
{
	struct net_job *j = data;

	j->req = NULL;
}

static void finish(struct net_job *j, int rc, const struct error *jerr)
{
	struct error err;

	if (j->req) {
		request_on_cancel(j->req, NULL, NULL);
		if (rc < 0) {
			if (jerr && jerr->msg[0])
				err = *jerr;
			else
				error_set(&err, ERR_FAIL, -rc, "%s", strerror(-rc));
			error_prefix(&err, "Network Add");
			request_fail(j->req, &err);
		} else {
			request_reply(j->req, NULL);
		}
	}
	free(j);
}

static int move_run(void *data, struct error *err)
{
	struct net_job *j = data;

	return net_nic_move_configure(&j->nic, j->pid, err);
}

static void move_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct net_job *j = data;

	if (rc < 0 && !j->req)
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
	struct error err;
	pid_t owner = 0;

	if (rc < 0 || !j->req) {
		finish(j, rc, jerr);
		return;
	}
	rc = net_ns_add_nic(&j->nic, &owner, &err);
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
	j->pid = owner;
	rc = loop_job(l, move_run, move_done, j, &err);
	if (rc < 0)
		finish(j, rc, &err);
}

static int network_add(struct request *req, const Gcs__LCOWNetworkAdapter *a, struct error *err)
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
		return error_prefix(err, "Network Add");
	}
	j->req = req;
	j->started = loop_now_ms();
	rc = loop_job(req->gcs->loop, resolve_run, resolve_done, j, err);
	if (rc < 0) {
		free(j);
		return rc;
	}
	request_on_cancel(req, job_cancel, j);
	return REQUEST_PENDING;
}

static int network_remove(struct request *req, const Gcs__LCOWNetworkAdapter *a, struct error *err)
{
	char ns[NET_ID_MAX], id[NET_ID_MAX];
	int rc;

	rc = net_guid_norm(a->id, id, sizeof(id), "ID", err);
	if (rc == 0)
		rc = net_guid_norm(a->namespaceid, ns, sizeof(ns), "NamespaceID", err);
	if (rc < 0)
		return error_prefix(err, "Network Remove");
	net_ns_remove_nic(ns, id);
	log_fields(LOG_INFO, LOG_FIELDS(LOG_STR("nic", id), LOG_STR("namespace", ns)),
		   "NIC removed");
	return request_reply(req, NULL);
}

static int modify_network(struct request *req, const Gcs__ModificationRequest *mr,
			  struct error *err)
{
	if (mr->settings_case != GCS__MODIFICATION_REQUEST__SETTINGS_NETWORK || !mr->network)
		return error_set(err, ERR_BAD_JSON, EINVAL, "Network %s: Settings is missing",
				 mr->requesttype);
	if (!strcmp(mr->requesttype, "Add"))
		return network_add(req, mr->network, err);
	if (!strcmp(mr->requesttype, "Remove"))
		return network_remove(req, mr->network, err);
	return error_set(err, ERR_FAIL, EINVAL, "Network: invalid request type '%s'",
			 mr->requesttype);
}
MODIFY_HANDLER("Network", SCOPE_UVM, modify_network)

static void network_describe(struct gcs *g, struct printbuf *pb)
{
	net_ns_describe(pb);
}
DUMP_SECTION(network_describe)

static int network_startup(struct gcs *g, struct error *err)
{
	net_dhcp_init(g->loop);
	return 0;
}
STARTUP_HOOK(network_startup)
