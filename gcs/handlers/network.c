/* ModifySettings Network (spec §3.10.6, §6.8) on the UVM: Add hot-adds the
 * NIC (gcs/network/network.h: net_nic_add), Remove forgets it. */
#include <errno.h>
#include <string.h>

#include "bridge/handler.h"
#include "handlers/pending.h"
#include "network/network.h"

static int network_add(struct request *req, const Gcs__LCOWNetworkAdapter *a, struct error *err)
{
	struct op_done done;
	int rc;

	rc = pending_begin(req, NULL, "Network Add", &done, err);
	if (rc < 0)
		return rc;
	rc = net_nic_add(req->gcs->loop, a, &done, err);
	if (rc < 0)
		error_prefix(err, "Network Add");
	return pending_end(&done, rc);
}

static int network_remove(struct request *req, const Gcs__LCOWNetworkAdapter *a, struct error *err)
{
	if (net_nic_remove(a, err) < 0)
		return error_prefix(err, "Network Remove");
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
