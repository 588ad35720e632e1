/* Finding a NIC's interface and putting it into a container (spec §6.8).
 * Blocking: jobs only.
 *
 * The part inside the container's network namespace runs on a thread made
 * for it: setns() changes the namespace of the calling thread for good, and
 * a pooled worker must never run other jobs from inside a container. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/log.h"
#include "core/loop.h"
#include "network/network.h"
#include "network/netlink.h"

/* The single entry of dir: 1 found, 0 none yet, <0 more than one / error. */
static int only_entry(const char *dir, char *name, size_t size, struct error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : error_errno(err, errno, "%s", dir);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (found++) {
			closedir(d);
			return error_set(err, ERR_FAIL, EEXIST, "%s holds more than one interface",
					 dir);
		}
		if (strlen(e->d_name) >= size) {
			closedir(d);
			return error_set(err, ERR_FAIL, ENAMETOOLONG, "%s: name too long", dir);
		}
		memcpy(name, e->d_name, strlen(e->d_name) + 1);
	}
	closedir(d);
	return found;
}

/* The first entry of dir whose name starts with prefix (1), or none (0). */
static int entry_with_prefix(const char *dir, const char *prefix, char *name, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && !strncmp(e->d_name, prefix, strlen(prefix))) {
			snprintf(name, size, "%s", e->d_name);
			rc = 1;
			break;
		}
	closedir(d);
	return rc;
}

/* The net/ directory of the NIC: <dev>/net, or for a vPCI-assigned NIC
 * <dev>/pci<dom:bus>/<dom:bus>*\/net. 0 when not there (yet). */
static int net_dir(const struct net_nic *nic, const char *sysfs, char *dir, size_t size)
{
	char pci[128], sub[256];
	int n;

	n = snprintf(dir, size, "%s/bus/vmbus/devices/%s", sysfs, nic->id);
	if (!nic->vpci_assigned) {
		snprintf(dir + n, size - n, "/net");
		return 1;
	}
	if (entry_with_prefix(dir, "pci", pci, sizeof(pci)) != 1)
		return 0;
	n += snprintf(dir + n, size - n, "/%s", pci);
	if (entry_with_prefix(dir, pci + 3, sub, sizeof(sub)) != 1)
		return 0;
	snprintf(dir + n, size - n, "/%s/net", sub);
	return 1;
}

int net_nic_resolve(struct net_nic *nic, const char *sysfs_root, unsigned timeout_ms,
		    struct error *err)
{
	uint64_t deadline = loop_now_ms() + timeout_ms;
	struct timespec poll = {.tv_nsec = NET_POLL_MS * 1000000L};
	char dir[1024] = "";
	int rc;

	for (;;) {
		rc = net_dir(nic, sysfs_root, dir, sizeof(dir));
		if (rc == 1)
			rc = only_entry(dir, nic->ifname, sizeof(nic->ifname), err);
		if (rc < 0)
			return error_prefix(err, "NIC %s", nic->id);
		if (rc == 1)
			return 0;
		if (loop_now_ms() >= deadline)
			return error_set(err, ERR_TIMEOUT, ETIMEDOUT,
					 "NIC %s: no network interface appeared under %s within "
					 "%u ms",
					 nic->id, dir[0] ? dir : sysfs_root, timeout_ms);
		nanosleep(&poll, NULL);
	}
}

/* ---- inside the container's network namespace ------------------------------------ */

static uint32_t next_seq(void)
{
	static uint32_t seq = 100;

	return __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
}

/* Route r out of ifindex into table. */
static int add_route(int fd, int ifindex, const struct net_route *r, uint32_t table,
		     const char *ifname, struct error *err)
{
	char gw[64] = "";
	struct nl_msg m;
	int rc;

	if (r->has_gw)
		inet_ntop(r->family, r->gw, gw, sizeof(gw));
	if (nl_build_newroute(&m, next_seq(), ifindex, r, table) < 0)
		return error_set(err, ERR_FAIL, EMSGSIZE, "route message too long");
	rc = nl_exec(fd, &m, "add route", err);
	if (rc != -ENETUNREACH || !r->has_gw)
		goto out;
	/* The gateway lies outside the NIC's subnets: make it reachable on the
	 * link (a /32 or /128 route in the same table), then try again. */
	{
		struct net_route to_gw = {.family = r->family,
					  .dst_len = r->family == AF_INET6 ? 128 : 32};

		memcpy(to_gw.dst, r->gw, sizeof(to_gw.dst));
		if (nl_build_newroute(&m, next_seq(), ifindex, &to_gw, table) < 0)
			return error_set(err, ERR_FAIL, EMSGSIZE, "route message too long");
		rc = nl_exec(fd, &m, "add route to the gateway", err);
		if (rc == 0 || rc == -EEXIST) {
			nl_build_newroute(&m, next_seq(), ifindex, r, table);
			rc = nl_exec(fd, &m, "add route", err);
		}
	}
out:
	if (rc < 0) {
		char tbl[32] = "", metric[32] = "";

		if (table != RT_TABLE_MAIN)
			snprintf(tbl, sizeof(tbl), " table %u", table);
		if (r->metric)
			snprintf(metric, sizeof(metric), " metric %u", r->metric);
		error_prefix(err, "%s%s%s%s%s (%s)", r->dst_len ? "" : "default ",
			     gw[0] ? "via " : "", gw, tbl, metric, ifname);
	}
	return rc;
}

/* `from <ip> lookup 101`: what leaves from the NIC's address goes out
 * through the NIC's own table. */
static int add_rule(int fd, const struct net_ip *ip, const char *ifname, struct error *err)
{
	char a[64];
	struct nl_msg m;
	int rc;

	inet_ntop(ip->family, ip->addr, a, sizeof(a));
	if (nl_build_newrule(&m, next_seq(), ip, NET_PBR_TABLE, NET_PBR_RULE_PRIORITY) < 0)
		return error_set(err, ERR_FAIL, EMSGSIZE, "rule message too long");
	rc = nl_exec(fd, &m, "add rule", err);
	if (rc == -EEXIST)
		return 0;
	if (rc < 0)
		error_prefix(err, "from %s lookup %u priority %u (%s)", a, NET_PBR_TABLE,
			     NET_PBR_RULE_PRIORITY, ifname);
	return rc;
}

struct in_ns {
	const struct net_nic *nic;
	int ns_fd;
	struct error err;
	int rc;
};

/* Addresses first, then for a low-metric NIC its rules, then its routes
 * (in table 101 when low), as the reference orders them. */
static int configure(const struct net_nic *nic, struct error *err)
{
	bool low = net_nic_low_metric(nic);
	_cleanup_close_ int fd = -1;
	struct nl_msg m;
	int ifindex, rc;
	uint32_t mtu;

	fd = nl_open(err);
	if (fd < 0)
		return fd;
	rc = nl_link_get(fd, nic->ifname, &ifindex, &mtu, err);
	if (rc < 0)
		return rc;
	if (nic->encap_overhead) {
		if (mtu <= nic->encap_overhead)
			return error_set(err, ERR_INVALID_ARG, EINVAL,
					 "%s: EncapOverhead %u is not below the MTU %u",
					 nic->ifname, nic->encap_overhead, mtu);
		nl_build_setlink(&m, next_seq(), ifindex, -1, mtu - nic->encap_overhead, 0);
		if ((rc = nl_exec(fd, &m, "set MTU", err)) < 0)
			return error_prefix(err, "%s", nic->ifname);
	}
	nl_build_setlink(&m, next_seq(), ifindex, 1, 0, 0);
	if ((rc = nl_exec(fd, &m, "link up", err)) < 0)
		return error_prefix(err, "%s", nic->ifname);
	if (!nic->n_ips)
		return net_dhcp(nic->ifname, err);
	for (size_t i = 0; i < nic->n_ips; i++) {
		char a[64];

		inet_ntop(nic->ips[i].family, nic->ips[i].addr, a, sizeof(a));
		nl_build_newaddr(&m, next_seq(), ifindex, &nic->ips[i]);
		rc = nl_exec(fd, &m, "add address", err);
		if (rc == -EEXIST)
			rc = 0;
		if (rc < 0)
			return error_prefix(err, "%s/%u (%s)", a, nic->ips[i].prefix, nic->ifname);
	}
	for (size_t i = 0; low && i < nic->n_ips; i++)
		if (net_ip_gets_rule(nic, i) &&
		    (rc = add_rule(fd, &nic->ips[i], nic->ifname, err)) < 0)
			return rc;
	for (size_t i = 0; i < nic->n_routes; i++) {
		struct net_route r = nic->routes[i];

		r.metric = net_route_metric(nic, &r, low);
		rc = add_route(fd, ifindex, &r, low ? NET_PBR_TABLE : RT_TABLE_MAIN, nic->ifname,
			       err);
		if (rc < 0 && rc != -EEXIST)
			return rc;
	}
	return 0;
}

static void *in_ns_main(void *data)
{
	struct in_ns *t = data;

	if (setns(t->ns_fd, CLONE_NEWNET) < 0)
		t->rc = error_errno(&t->err, errno, "enter the container's network namespace");
	else
		t->rc = configure(t->nic, &t->err);
	return NULL; /* the thread ends here, inside the namespace */
}

static void log_configured(const struct net_nic *nic, pid_t pid, const char *what)
{
	log_fields(LOG_INFO,
		   LOG_FIELDS(LOG_STR("nic", nic->id), LOG_STR("ifname", nic->ifname),
			      LOG_INT("pid", pid), LOG_UINT("ips", nic->n_ips),
			      LOG_UINT("routes", nic->n_routes), LOG_UINT("index", nic->index),
			      LOG_BOOL("policy_routing", net_nic_low_metric(nic))),
		   "%s", what);
}

int net_nic_move_configure(const struct net_nic *nic, pid_t pid, struct error *err)
{
	_cleanup_close_ int fd = -1, ns_fd = -1;
	struct in_ns t = {.nic = nic, .rc = 0};
	char path[64];
	struct nl_msg m;
	int ifindex, rc;
	uint32_t mtu;
	pthread_t th;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		return error_errno(err, errno, "NIC %s: open %s", nic->id, path);
	fd = nl_open(err);
	if (fd < 0)
		return error_prefix(err, "NIC %s", nic->id);
	rc = nl_link_get(fd, nic->ifname, &ifindex, &mtu, err);
	if (rc == 0) {
		nl_build_setlink(&m, next_seq(), ifindex, 0, 0, 0);
		rc = nl_exec(fd, &m, "link down", err);
	}
	if (rc == 0) {
		nl_build_setlink(&m, next_seq(), ifindex, -1, 0, pid);
		rc = nl_exec(fd, &m, "move into the container's network namespace", err);
	}
	if (rc < 0)
		return error_prefix(err, "NIC %s (%s)", nic->id, nic->ifname);
	t.ns_fd = ns_fd;
	rc = pthread_create(&th, NULL, in_ns_main, &t);
	if (rc != 0)
		return error_errno(err, rc, "NIC %s: thread", nic->id);
	pthread_join(th, NULL);
	if (t.rc < 0) {
		*err = t.err;
		return error_prefix(err, "NIC %s", nic->id);
	}
	log_configured(nic, pid, "NIC moved and configured");
	return 0;
}

int net_nic_configure_here(const struct net_nic *nic, struct error *err)
{
	if (configure(nic, err) < 0)
		return error_prefix(err, "NIC %s", nic->id);
	log_configured(nic, 0, "NIC configured in the UVM's network namespace");
	return 0;
}
