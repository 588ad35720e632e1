/* Networking of containers (spec §3.10.6, §3.2 step 6, §6.1, §6.8).
 *
 * A NIC arrives with ModifySettings Network Add (hotplug.c), is
 * recorded in the namespace it names, and is moved into the network
 * namespace of the container that owns that namespace (the init of the
 * sandbox or standalone container whose spec names it) and configured there.
 *
 *   network.c   adapter parsing (HEAD and v0.11 shapes), the namespace
 *               table, DNS for resolv.conf
 *   hotplug.c   a NIC added or removed by the host
 *   netlink.c   rtnetlink messages over raw NETLINK_ROUTE sockets
 *   config.c    ifname lookup in sysfs, move + configure
 *   dhcp.c      udhcpc for a NIC sent without addresses
 *
 * The table is loop-thread only; lookups in sysfs and netlink block and run
 * in jobs, on copies of the NICs. */
#ifndef GCS_NETWORK_NETWORK_H
#define GCS_NETWORK_NETWORK_H

#include <json-c/printbuf.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/op.h"
#include "error.h"
#include "gcs.pb-c.h"
#include "network/dns.h"

#define NET_ID_MAX 64
#define NET_OWNER_MAX 256 /* a container id */
#define NET_MAX_IPS 8
#define NET_MAX_ROUTES 16
#define NET_DNS_MAX 512
#define NET_POLL_MS 10
#define NET_IFNAME_TIMEOUT_MS 5000
#define NET_ANN_SKIP_POD_NETWORKING "io.microsoft.cri.skip-pod-networking"
/* Policy-based routing of a low-metric NIC (internal/guest/network/netns.go):
 * its routes go to table 101 with metric 500 (a route's own metric is kept),
 * and `from <ip> lookup 101` rules at priority 5 send what leaves from its
 * addresses out through it. */
#define NET_PBR_TABLE 101
#define NET_PBR_RULE_PRIORITY 5
#define NET_LOW_METRIC 500
#define NET_V011_METRIC 1

struct net_ip {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

struct net_route {
	int family;
	unsigned char dst[16];
	unsigned dst_len; /* 0: the default route */
	bool has_gw;
	unsigned char gw[16];
	uint32_t metric; /* 0: none */
};

struct net_nic {
	char ns[NET_ID_MAX]; /* lower case */
	char id[NET_ID_MAX]; /* lower case: the VMBus device id */
	char ifname[IF_NAMESIZE];
	char dns_search[NET_DNS_MAX];  /* comma-separated */
	char dns_servers[NET_DNS_MAX]; /* comma-separated */
	uint32_t encap_overhead;
	bool vpci_assigned;
	struct net_ip ips[NET_MAX_IPS];
	size_t n_ips;
	struct net_route routes[NET_MAX_ROUTES];
	size_t n_routes;
	bool v011;		   /* sent in the v0.11 shape (IPAddress, no IPConfigs) */
	bool policy_based_routing; /* PolicyBasedRouting (v0.14 and later hosts) */
	bool enable_low_metric;	   /* EnableLowMetric as sent */
	unsigned index;		   /* position in its namespace (net_ns_*) */
};

/* ---- network.c ------------------------------------------------------------ */

/* Reads an LCOWNetworkAdapter of either shape into *out (ifname empty).
 * HEAD: IPConfigs and Routes (a default route whose next hop is 0.0.0.0 or
 * :: is skipped). v0.11: IPAddress/PrefixLength, GatewayAddress (a default
 * route; its metric is net_route_metric's) and the IPv6 triple. */
int net_nic_parse(const Gcs__LCOWNetworkAdapter *a, struct net_nic *out, struct error *err);
/* Lower-cases a namespace or NIC GUID into out; ERR_INVALID_ARG unless it
 * is hex digits and dashes (it becomes a sysfs path component). */
int net_guid_norm(const char *in, char *out, size_t size, const char *what, struct error *err);
/* Whether the NIC gets policy-based routing, as the reference decides it
 * where it configures the NIC (hcsv2/network.go, namespace.Sync): with
 * PolicyBasedRouting, every NIC but the namespace's first; in the v0.11
 * shape, EnableLowMetric or any NIC but the first (the v0.11 guest lowers
 * them all); otherwise EnableLowMetric as sent. */
bool net_nic_low_metric(const struct net_nic *nic);
/* The metric route r gets: its own when it has one, else NET_LOW_METRIC
 * for a low-metric NIC, NET_V011_METRIC for a v0.11 gateway, none (0). */
uint32_t net_route_metric(const struct net_nic *nic, const struct net_route *r, bool low);
/* Whether address k of a low-metric NIC gets a `from` rule: every address,
 * but in the v0.11 shape only one whose family has a gateway (the v0.11
 * guest adds the rule with the gateway). */
bool net_ip_gets_rule(const struct net_nic *nic, size_t k);

/* The namespace table (loop thread). */
struct net_ns;
struct net_ns *net_ns_find(const char *ns);
/* Records a NIC (ERR_EXISTS when its ID is recorded already) and sets
 * nic->index. *owner gets the namespace's owner pid, 0 when no container
 * owns it yet; *host_network whether the owner uses the UVM's network
 * namespace (the NIC is configured where it is, not moved). */
int net_ns_add_nic(struct net_nic *nic, pid_t *owner, bool *host_network, struct error *err);
/* Forgets a NIC; unknown namespace or NIC is not an error. */
void net_ns_remove_nic(const char *ns, const char *id);
bool net_ns_has_nic(const char *id);
/* Copies of the namespace's NICs in the order they were added, each with
 * its index (malloc'ed, *n of them; NULL when none). */
int net_ns_nics(const char *ns, struct net_nic **out, size_t *n, struct error *err);
/* The container `cid` (init `pid`) owns the namespace from now on;
 * host_network: it runs in the UVM's network namespace (the hostnetwork
 * annotation), where NICs added later are configured too. */
int net_ns_claim(const char *ns, const char *cid, pid_t pid, bool host_network, struct error *err);
/* The container is gone: its namespaces lose their owner, and are
 * forgotten when they have no NICs left. */
void net_ns_release(const char *cid);
/* The table, for DumpStacks. */
void net_ns_describe(struct printbuf *pb);

/* resolv.conf content of a set of NICs: search domains (at most
 * NET_DNS_SEARCH_MAX, duplicates dropped) and servers, pointing into
 * `store`, which must live as long as *dns is used. */
struct net_dns_store {
	char buf[2 * NET_DNS_MAX * 4];
	const char *search[NET_DNS_SEARCH_MAX];
	const char *servers[16];
};
void net_dns_of(const struct net_nic *nics, size_t n, struct net_dns_store *store,
		struct net_dns *dns);

/* ---- config.c (blocking: jobs only) -------------------------------- */

/* Finds the interface name of the NIC under <sysfs>/bus/vmbus/devices/<id>/,
 * polling every NET_POLL_MS for up to timeout_ms. */
int net_nic_resolve(struct net_nic *nic, const char *sysfs_root, unsigned timeout_ms,
		    struct error *err);
/* Link down, into the network namespace of pid, then there: MTU minus
 * EncapOverhead, link up, addresses and routes, or DHCP when the NIC came
 * without addresses. */
int net_nic_move_configure(const struct net_nic *nic, pid_t pid, struct error *err);
/* The same without the move: the NIC is configured in the calling thread's
 * network namespace, the UVM's (a host-network sandbox). */
int net_nic_configure_here(const struct net_nic *nic, struct error *err);

/* ---- dhcp.c (blocking: jobs only) ----------------------------------- */

struct loop;
/* At start-up: children are waited for through the loop's reaper.
 * LCOW_UDHCPC_SCRIPT and LCOW_DHCP_TIMEOUT_MS (tests) replace the script
 * path and the 30 s bound. */
void net_dhcp_init(struct loop *l);
/* Runs udhcpc for ifname in the calling thread's network namespace until
 * it has a lease (0) or fails / times out (an error with its output). */
int net_dhcp(const char *ifname, struct error *err);

/* ---- hotplug.c ------------------------------------------------------------- */

/* Network Add as an operation (no result): the adapter parsed, its
 * interface found (jobs), recorded, and moved and configured when its
 * namespace has an owner. */
int net_nic_add(struct loop *l, const Gcs__LCOWNetworkAdapter *a, const struct op_done *done,
		struct error *err);
/* Network Remove: forgets the NIC (nothing on the interface is undone). */
int net_nic_remove(const Gcs__LCOWNetworkAdapter *a, struct error *err);
/* Moves and configures a NIC in a job (pid 0: configures it in the UVM's
 * network namespace); a failure is only logged. */
int net_nic_configure_later(struct loop *l, const struct net_nic *nic, pid_t pid,
			    struct error *err);

#endif
