/* ModifySettings VPCIDevice (spec §3.10.7) on the UVM: Add waits for the
 * assigned device (gcs/storage/storage.h: vpci_wait_device).
 *
 * The reference waits until the host's 5-minute RPC timeout (which would kill
 * the bridge); this guest gives up earlier with an error. */
#include <errno.h>
#include <string.h>

#include "bridge/handler.h"
#include "handlers/pending.h"
#include "storage/storage.h"

static int modify_vpci(struct request *req, const Gcs__ModificationRequest *mr, struct error *err)
{
	const Gcs__LCOWMappedVPCIDevice *s = mr->vpcidevice;
	struct op_done done;
	int rc;

	if (strcmp(mr->requesttype, "Add") != 0)
		return error_set(err, ERR_FAIL, EINVAL, "VPCIDevice: invalid request type '%s'",
				 mr->requesttype);
	rc = pending_begin(req, NULL, NULL, &done, err);
	if (rc < 0)
		return rc;
	rc = vpci_wait_device(req->gcs->loop, s ? s->vmbusguid : "", &done, err);
	return pending_end(&done, rc);
}
MODIFY_HANDLER("VPCIDevice", SCOPE_UVM, modify_vpci)
