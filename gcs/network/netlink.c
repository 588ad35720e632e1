/* rtnetlink messages over raw NETLINK_ROUTE sockets (no libnl, no `ip`). */
#include "network/netlink.h"

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void nl_init(struct nl_msg *m, uint16_t type, uint16_t flags, uint32_t seq, size_t hdrlen)
{
	memset(m, 0, sizeof(*m));
	m->hdr.nlmsg_len = NLMSG_LENGTH(hdrlen);
	m->hdr.nlmsg_type = type;
	m->hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	m->hdr.nlmsg_seq = seq;
}

static void *nl_payload(struct nl_msg *m)
{
	return NLMSG_DATA(&m->hdr);
}

static int nl_put(struct nl_msg *m, unsigned short type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(m->hdr.nlmsg_len);
	struct rtattr *a;

	if (off + RTA_SPACE(len) > sizeof(m->buf))
		return -EMSGSIZE;
	a = (struct rtattr *)(m->buf + off);
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	/* Indexed from buf, not RTA_DATA(a): GCC's object-size tracking under
	 * -fsanitize=address takes `a` for a 4-byte rtattr and refuses the copy;
	 * under -fsanitize=thread it takes the union for its header alone. The
	 * bound is checked above. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
	memcpy(m->buf + off + RTA_LENGTH(0), data, len);
#pragma GCC diagnostic pop
	m->hdr.nlmsg_len = off + RTA_ALIGN(a->rta_len);
	return 0;
}

static int nl_put_u32(struct nl_msg *m, unsigned short type, uint32_t v)
{
	return nl_put(m, type, &v, sizeof(v));
}

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

int nl_build_getlink(struct nl_msg *m, uint32_t seq, const char *ifname)
{
	struct ifinfomsg *ifi;

	nl_init(m, RTM_GETLINK, 0, seq, sizeof(*ifi));
	ifi = nl_payload(m);
	ifi->ifi_family = AF_UNSPEC;
	return nl_put(m, IFLA_IFNAME, ifname, strlen(ifname) + 1);
}

int nl_build_setlink(struct nl_msg *m, uint32_t seq, int ifindex, int up, uint32_t mtu,
		     pid_t ns_pid)
{
	struct ifinfomsg *ifi;
	int rc = 0;

	nl_init(m, RTM_NEWLINK, 0, seq, sizeof(*ifi));
	ifi = nl_payload(m);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (up >= 0) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = up ? IFF_UP : 0;
	}
	if (mtu)
		rc = nl_put_u32(m, IFLA_MTU, mtu);
	if (rc == 0 && ns_pid > 0)
		rc = nl_put_u32(m, IFLA_NET_NS_PID, (uint32_t)ns_pid);
	return rc;
}

int nl_build_newaddr(struct nl_msg *m, uint32_t seq, int ifindex, const struct net_ip *ip)
{
	struct ifaddrmsg *ifa;
	int rc;

	nl_init(m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, seq, sizeof(*ifa));
	ifa = nl_payload(m);
	ifa->ifa_family = ip->family;
	ifa->ifa_prefixlen = ip->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	rc = nl_put(m, IFA_LOCAL, ip->addr, addr_len(ip->family));
	if (rc == 0)
		rc = nl_put(m, IFA_ADDRESS, ip->addr, addr_len(ip->family));
	return rc;
}

int nl_build_newroute(struct nl_msg *m, uint32_t seq, int ifindex, const struct net_route *r,
		      uint32_t table)
{
	struct rtmsg *rt;
	int rc = 0;

	nl_init(m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, seq, sizeof(*rt));
	rt = nl_payload(m);
	rt->rtm_family = r->family;
	rt->rtm_dst_len = r->dst_len;
	rt->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = r->has_gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rt->rtm_type = RTN_UNICAST;
	if (r->dst_len)
		rc = nl_put(m, RTA_DST, r->dst, addr_len(r->family));
	if (rc == 0 && r->has_gw)
		rc = nl_put(m, RTA_GATEWAY, r->gw, addr_len(r->family));
	if (rc == 0)
		rc = nl_put_u32(m, RTA_OIF, (uint32_t)ifindex);
	if (rc == 0 && r->metric)
		rc = nl_put_u32(m, RTA_PRIORITY, r->metric);
	if (rc == 0 && table != RT_TABLE_MAIN)
		rc = nl_put_u32(m, RTA_TABLE, table);
	return rc;
}

int nl_build_newrule(struct nl_msg *m, uint32_t seq, const struct net_ip *from, uint32_t table,
		     uint32_t priority)
{
	struct fib_rule_hdr *frh;
	int rc;

	nl_init(m, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, seq, sizeof(*frh));
	frh = nl_payload(m);
	frh->family = from->family;
	frh->src_len = from->family == AF_INET6 ? 128 : 32;
	frh->table = table < 256 ? table : RT_TABLE_UNSPEC;
	frh->action = FR_ACT_TO_TBL;
	rc = nl_put(m, FRA_SRC, from->addr, addr_len(from->family));
	if (rc == 0)
		rc = nl_put_u32(m, FRA_TABLE, table);
	if (rc == 0)
		rc = nl_put_u32(m, FRA_PRIORITY, priority);
	return rc;
}

const void *nl_attr_find(const struct nlmsghdr *h, size_t hdrlen, unsigned short type, size_t *len)
{
	const char *base = (const char *)NLMSG_DATA(h) + NLMSG_ALIGN(hdrlen);
	int left = (int)h->nlmsg_len - (int)NLMSG_LENGTH(NLMSG_ALIGN(hdrlen));
	const struct rtattr *a = (const struct rtattr *)base;

	for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if (a->rta_type != type)
			continue;
		if (len)
			*len = RTA_PAYLOAD(a);
		return RTA_DATA(a);
	}
	return NULL;
}

int nl_open(struct error *err)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return error_errno(err, errno, "netlink socket");
	/* A kernel answer never takes long; a lost one must not hang a job. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return error_errno(err, e, "netlink bind");
	}
	return fd;
}

struct link_info {
	bool found;
	int ifindex;
	uint32_t mtu;
};

/* Reads replies to seq until the ACK or error; an RTM_NEWLINK among them
 * fills *link when given. */
static int nl_recv(int fd, uint32_t seq, struct link_info *link, const char *what,
		   struct error *err)
{
	char buf[8192] __attribute__((aligned(4)));

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		int left = (int)n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return error_errno(err, errno, "%s: netlink receive", what);
		}
		for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (e->error == 0)
					return 0;
				return error_errno(err, -e->error, "%s", what);
			}
			if (link && !link->found && h->nlmsg_type == RTM_NEWLINK) {
				const uint32_t *v =
					nl_attr_find(h, sizeof(struct ifinfomsg), IFLA_MTU, NULL);

				link->found = true;
				link->ifindex =
					((const struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
				link->mtu = v ? *v : 0;
			}
		}
	}
}

int nl_exec(int fd, struct nl_msg *m, const char *what, struct error *err)
{
	if (send(fd, m->buf, m->hdr.nlmsg_len, 0) < 0)
		return error_errno(err, errno, "%s: netlink send", what);
	return nl_recv(fd, m->hdr.nlmsg_seq, NULL, what, err);
}

int nl_link_get(int fd, const char *ifname, int *ifindex, uint32_t *mtu, struct error *err)
{
	static uint32_t seq = 1;
	struct link_info link = {0};
	struct nl_msg m;
	int rc;

	if (nl_build_getlink(&m, __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED), ifname) < 0)
		return error_set(err, ERR_INVALID_ARG, ENAMETOOLONG, "interface name too long");
	if (send(fd, m.buf, m.hdr.nlmsg_len, 0) < 0)
		return error_errno(err, errno, "link %s: netlink send", ifname);
	/* RTM_GETLINK answers with the link, then (NLM_F_ACK) an ACK. */
	rc = nl_recv(fd, m.hdr.nlmsg_seq, &link, ifname, err);
	if (rc < 0)
		return rc;
	if (!link.found)
		return error_set(err, ERR_FAIL, ENODEV, "link %s: not found", ifname);
	*ifindex = link.ifindex;
	*mtu = link.mtu;
	return 0;
}
