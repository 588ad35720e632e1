/* DHCP for a NIC the host sent without addresses (spec §6.8): udhcpc from
 * the image's busybox, in the container's network namespace, as the
 * reference runs it (`udhcpc -q -i <if> -s /sbin/udhcpc_config.script`,
 * internal/guest/network/netns.go), bounded to 30 s. The script configures
 * the address and the default route; it runs in the UVM's mount namespace,
 * so DNS servers a lease names do not reach the container's resolv.conf
 * (the reference behaves the same). */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "core/log.h"
#include "core/loop.h"
#include "network/network.h"
#include "core/tool_run.h"

#define DHCP_SCRIPT "/sbin/udhcpc_config.script"
#define DHCP_TIMEOUT_MS 30000

/* Fixed at start-up, before any job runs. */
static struct {
	struct tool_reaper reaper;
	const char *script;
	unsigned timeout_ms;
} dhcp = {.script = DHCP_SCRIPT, .timeout_ms = DHCP_TIMEOUT_MS};

static void hook_begin(void *ctx)
{
	loop_child_begin(ctx);
}

static void hook_end(void *ctx, pid_t pid)
{
	loop_child_end(ctx, pid);
}

void net_dhcp_init(struct loop *l)
{
	const char *script = getenv("LCOW_UDHCPC_SCRIPT");
	const char *ms = getenv("LCOW_DHCP_TIMEOUT_MS");

	dhcp.reaper = (struct tool_reaper){
		.begin = hook_begin,
		.end = hook_end,
		.wait = loop_child_wait,
		.ctx = l,
	};
	if (script && *script)
		dhcp.script = script;
	if (ms && atoi(ms) > 0)
		dhcp.timeout_ms = (unsigned)atoi(ms);
}

int net_dhcp(const char *ifname, struct error *err)
{
	char *argv[] = {"udhcpc", "-q", "-i", (char *)ifname, "-s", (char *)dhcp.script, NULL};
	struct tool_result res;
	char why[64];
	int rc;

	rc = tool_run(dhcp.reaper.ctx ? &dhcp.reaper : NULL, argv, NULL, dhcp.timeout_ms, &res,
		      err);
	if (rc < 0)
		return error_prefix(err, "DHCP on %s", ifname);
	if (res.timed_out)
		return error_set(err, ERR_FAIL, ETIMEDOUT,
				 "DHCP on %s: no lease within %g s; udhcpc said: %s", ifname,
				 dhcp.timeout_ms / 1000.0, res.output[0] ? res.output : "nothing");
	if (!WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0) {
		tool_describe(&res, dhcp.timeout_ms, why, sizeof(why));
		return error_set(err, ERR_FAIL, EIO, "DHCP on %s: udhcpc %s: %s", ifname, why,
				 res.output[0] ? res.output : "no output");
	}
	log_fields(LOG_DEBUG, LOG_FIELDS(LOG_STR("ifname", ifname), LOG_STR("udhcpc", res.output)),
		   "DHCP lease taken");
	return 0;
}
