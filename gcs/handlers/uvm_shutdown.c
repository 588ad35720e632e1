/* ShutdownGraceful and ShutdownForced on the utility VM itself (spec §3.8,
 * null container id): stop serving and let the VM power off. The gcs is
 * init's primary child (vsockexec execs it), and init syncs and powers the
 * VM off when it exits (init/main.c), so the gcs answers and then leaves its
 * event loop as it does on SIGTERM; what runs in the VM dies with it. The
 * reference gives no reliable response; this one is written before the
 * loop stops, and a host must not count on it. hcsshim itself terminates
 * UVMs through HCS; `make run` and the VM tests send these. */
#include "bridge/handler.h"
#include "core/log.h"
#include "core/loop.h"

static int shutdown_uvm(struct request *req, const char *how)
{
	struct loop *l = req->gcs->loop;
	int rc;

	log_fields(LOG_INFO, LOG_FIELDS(LOG_STR("shutdown", how)),
		   "utility VM shutdown requested: the gcs exits and init powers the VM off");
	rc = request_reply(req, NULL);
	loop_quit(l, 0);
	return rc;
}

static int uvm_shutdown_graceful(struct request *req, struct error *err)
{
	return shutdown_uvm(req, "graceful");
}
HANDLER(MSG_SHUTDOWN_GRACEFUL, SCOPE_UVM, gcs__message_base, uvm_shutdown_graceful)

static int uvm_shutdown_forced(struct request *req, struct error *err)
{
	return shutdown_uvm(req, "forced");
}
HANDLER(MSG_SHUTDOWN_FORCED, SCOPE_UVM, gcs__message_base, uvm_shutdown_forced)
