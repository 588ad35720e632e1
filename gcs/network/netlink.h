/* rtnetlink over a raw NETLINK_ROUTE socket: the few messages the NIC
 * configuration needs (spec §6.8). Builders fill a caller's buffer and are
 * pure (unit-tested); nl_* calls talk to the kernel of the calling thread's
 * network namespace. */
#ifndef GCS_NETWORK_NETLINK_H
#define GCS_NETWORK_NETLINK_H

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "network/network.h"

#define NL_MSG_MAX 512

struct nl_msg {
	union {
		struct nlmsghdr hdr;
		char buf[NL_MSG_MAX];
	};
};

/* RTM_GETLINK by name. */
int nl_build_getlink(struct nl_msg *m, uint32_t seq, const char *ifname);
/* RTM_NEWLINK (change): up/down (up < 0: leave), mtu (0: leave), into the
 * network namespace of ns_pid (0: stay). */
int nl_build_setlink(struct nl_msg *m, uint32_t seq, int ifindex, int up, uint32_t mtu,
		     pid_t ns_pid);
int nl_build_newaddr(struct nl_msg *m, uint32_t seq, int ifindex, const struct net_ip *ip);
/* A route out of ifindex into `table` (RT_TABLE_MAIN, or NET_PBR_TABLE);
 * link scope when it has no gateway. */
int nl_build_newroute(struct nl_msg *m, uint32_t seq, int ifindex, const struct net_route *r,
		      uint32_t table);
/* RTM_NEWRULE `from <ip>/<32|128> lookup <table> priority <priority>`. */
int nl_build_newrule(struct nl_msg *m, uint32_t seq, const struct net_ip *from, uint32_t table,
		     uint32_t priority);

/* Attribute lookup in a built or received message (tests, replies): the
 * payload of the first attribute of that type after `hdrlen` bytes of
 * family header, or NULL. */
const void *nl_attr_find(const struct nlmsghdr *h, size_t hdrlen, unsigned short type, size_t *len);

/* A socket for the calling thread's network namespace. */
int nl_open(struct error *err);
/* Sends m and reads the kernel's answer: 0 on an ACK, else -errno with the
 * message "<what>: <strerror>". */
int nl_exec(int fd, struct nl_msg *m, const char *what, struct error *err);
/* ifindex and mtu of a link by name (-ENODEV when there is none). */
int nl_link_get(int fd, const char *ifname, int *ifindex, uint32_t *mtu, struct error *err);

#endif
