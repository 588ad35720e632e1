/* Network adapters: both LCOWNetworkAdapter shapes, DNS for resolv.conf,
 * the namespace table, and the rtnetlink messages (spec §3.10.6, §6.8). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "containers/oci_spec.h"
#include "network/network.h"
#include "network/netlink.h"
#include "unit.h"

static Gcs__LCOWIPConfig ipc(const char *addr, uint32_t prefix)
{
	Gcs__LCOWIPConfig c = GCS__LCOWIPCONFIG__INIT;

	c.ipaddress = (char *)addr;
	c.prefixlength = prefix;
	return c;
}

static Gcs__LCOWRoute route(const char *dest, const char *hop, uint32_t metric)
{
	Gcs__LCOWRoute r = GCS__LCOWROUTE__INIT;

	r.destinationprefix = (char *)dest;
	r.nexthop = (char *)hop;
	r.metric = metric;
	return r;
}

static void ip4(const unsigned char *a, const char *want)
{
	char s[64];

	inet_ntop(AF_INET, a, s, sizeof(s));
	CHECK_STREQ(s, want);
}

TEST(head_shape_with_ipconfigs_and_routes)
{
	Gcs__LCOWNetworkAdapter a = GCS__LCOWNETWORK_ADAPTER__INIT;
	Gcs__LCOWIPConfig c[2] = {ipc("10.0.0.5", 24), ipc("fd00::5", 64)};
	Gcs__LCOWIPConfig *cp[2] = {&c[0], &c[1]};
	Gcs__LCOWRoute r[4] = {route("0.0.0.0/0", "10.0.0.1", 0), route("0.0.0.0/0", "0.0.0.0", 0),
			       route("::/0", "::", 0), route("192.168.7.0/24", "", 10)};
	Gcs__LCOWRoute *rp[4] = {&r[0], &r[1], &r[2], &r[3]};
	struct net_nic n;
	struct error e;

	a.namespaceid = "D3A3C4F6-AAAA-BBBB-CCCC-000000000001";
	a.id = "6F1C2E1A-0000-1111-2222-333333333333";
	a.dnssuffix = "svc.cluster.local,cluster.local";
	a.dnsserverlist = "10.0.0.10";
	a.encapoverhead = 50;
	a.n_ipconfigs = 2;
	a.ipconfigs = cp;
	a.n_routes = 4;
	a.routes = rp;
	CHECK_OK(net_nic_parse(&a, &n, &e));
	CHECK_STREQ(n.ns, "d3a3c4f6-aaaa-bbbb-cccc-000000000001");
	CHECK_STREQ(n.id, "6f1c2e1a-0000-1111-2222-333333333333");
	CHECK_EQ(n.encap_overhead, 50);
	CHECK_EQ(n.n_ips, 2);
	CHECK_EQ(n.ips[0].family, AF_INET);
	ip4(n.ips[0].addr, "10.0.0.5");
	CHECK_EQ(n.ips[0].prefix, 24);
	CHECK_EQ(n.ips[1].family, AF_INET6);
	CHECK_EQ(n.ips[1].prefix, 64);
	/* The two default routes via 0.0.0.0 and :: are skipped. */
	CHECK_EQ(n.n_routes, 2);
	CHECK_EQ(n.routes[0].dst_len, 0);
	CHECK(n.routes[0].has_gw);
	ip4(n.routes[0].gw, "10.0.0.1");
	CHECK_EQ(n.routes[1].dst_len, 24);
	CHECK(!n.routes[1].has_gw);
	ip4(n.routes[1].dst, "192.168.7.0");
	CHECK_EQ(n.routes[1].metric, 10);
}

TEST(v011_shape_with_one_address_per_family)
{
	Gcs__LCOWNetworkAdapter a = GCS__LCOWNETWORK_ADAPTER__INIT;
	struct net_nic n;
	struct error e;

	a.namespaceid = "abcd";
	a.id = "1234";
	a.ipaddress = "172.20.1.9";
	a.prefixlength = 20;
	a.gatewayaddress = "172.20.0.1";
	a.ipv6address = "fd00::9";
	a.ipv6prefixlength = 64;
	a.ipv6gatewayaddress = "fd00::1";
	a.enablelowmetric = true;
	CHECK_OK(net_nic_parse(&a, &n, &e));
	CHECK_EQ(n.n_ips, 2);
	ip4(n.ips[0].addr, "172.20.1.9");
	CHECK_EQ(n.ips[0].prefix, 20);
	CHECK_EQ(n.ips[1].family, AF_INET6);
	CHECK_EQ(n.n_routes, 2);
	CHECK_EQ(n.routes[0].family, AF_INET);
	ip4(n.routes[0].gw, "172.20.0.1");
	CHECK(n.v011);
	CHECK(n.enable_low_metric);
	CHECK_EQ(net_route_metric(&n, &n.routes[0], net_nic_low_metric(&n)), 500);
	CHECK_EQ(n.routes[1].family, AF_INET6);
	a.enablelowmetric = false;
	CHECK_OK(net_nic_parse(&a, &n, &e));
	CHECK(!net_nic_low_metric(&n));
	CHECK_EQ(net_route_metric(&n, &n.routes[0], false), 1);
}

/* Which NIC gets policy-based routing: the reference's rules per host
 * generation (hcsv2/network.go Sync at v0.11.8 and v0.14.1/main). */
TEST(low_metric_follows_the_reference_per_shape)
{
	Gcs__LCOWNetworkAdapter a = GCS__LCOWNETWORK_ADAPTER__INIT;
	Gcs__LCOWIPConfig c[2] = {ipc("10.0.0.5", 24), ipc("fd00::5", 64)};
	Gcs__LCOWIPConfig *cp[2] = {&c[0], &c[1]};
	Gcs__LCOWRoute r[2] = {route("0.0.0.0/0", "10.0.0.1", 0), route("10.9.0.0/16", "", 7)};
	Gcs__LCOWRoute *rp[2] = {&r[0], &r[1]};
	struct net_nic n;
	struct error e;

	a.namespaceid = "abcd";
	a.id = "1234";
	a.n_ipconfigs = 2;
	a.ipconfigs = cp;
	a.n_routes = 2;
	a.routes = rp;
	/* HEAD with PolicyBasedRouting: the namespace's first NIC keeps the
	 * main table, every later one is low, whatever EnableLowMetric says. */
	a.policybasedrouting = true;
	a.enablelowmetric = true;
	CHECK_OK(net_nic_parse(&a, &n, &e));
	CHECK(!n.v011);
	n.index = 0;
	CHECK(!net_nic_low_metric(&n));
	CHECK_EQ(net_route_metric(&n, &n.routes[0], false), 0);
	n.index = 1;
	CHECK(net_nic_low_metric(&n));
	CHECK_EQ(net_route_metric(&n, &n.routes[0], true), 500);
	CHECK_EQ(net_route_metric(&n, &n.routes[1], true), 7); /* its own metric stays */
	CHECK(net_ip_gets_rule(&n, 0) && net_ip_gets_rule(&n, 1));
	/* HEAD without it: EnableLowMetric as sent, whatever the position. */
	a.policybasedrouting = false;
	a.enablelowmetric = false;
	CHECK_OK(net_nic_parse(&a, &n, &e));
	n.index = 3;
	CHECK(!net_nic_low_metric(&n));
	a.enablelowmetric = true;
	CHECK_OK(net_nic_parse(&a, &n, &e));
	n.index = 0;
	CHECK(net_nic_low_metric(&n));

	/* v0.11: every NIC but the first is low; a rule only for a family
	 * with a gateway. */
	a = (Gcs__LCOWNetworkAdapter)GCS__LCOWNETWORK_ADAPTER__INIT;
	a.namespaceid = "abcd";
	a.id = "1234";
	a.ipaddress = "172.20.1.9";
	a.prefixlength = 20;
	a.gatewayaddress = "172.20.0.1";
	a.ipv6address = "fd00::9";
	a.ipv6prefixlength = 64;
	CHECK_OK(net_nic_parse(&a, &n, &e));
	CHECK(n.v011);
	n.index = 0;
	CHECK(!net_nic_low_metric(&n));
	n.index = 1;
	CHECK(net_nic_low_metric(&n));
	CHECK_EQ(net_route_metric(&n, &n.routes[0], true), 500);
	CHECK(net_ip_gets_rule(&n, 0));
	CHECK(!net_ip_gets_rule(&n, 1)); /* no IPv6 gateway */
}

TEST(bad_adapters_are_invalid_arguments)
{
	Gcs__LCOWNetworkAdapter a = GCS__LCOWNETWORK_ADAPTER__INIT;
	Gcs__LCOWIPConfig c = ipc("10.0.0.300", 24);
	Gcs__LCOWIPConfig *cp = &c;
	struct net_nic n;
	struct error e;

	a.namespaceid = "abcd";
	a.id = "../x";
	CHECK(net_nic_parse(&a, &n, &e) == -EINVAL);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	CHECK(strstr(e.msg, "ID '../x'"));
	a.namespaceid = "abc";
	a.id = "def";
	a.n_ipconfigs = 1;
	a.ipconfigs = &cp;
	CHECK(net_nic_parse(&a, &n, &e) < 0);
	CHECK(strstr(e.msg, "10.0.0.300"));
	c = ipc("10.0.0.3", 33);
	CHECK(net_nic_parse(&a, &n, &e) < 0);
	CHECK(strstr(e.msg, "prefix length 33"));
}

TEST(dns_merges_nics_drops_duplicates_and_caps_search)
{
	struct net_nic n[2];
	struct net_dns_store st;
	struct net_dns dns;
	char buf[1024];
	struct error e;

	memset(n, 0, sizeof(n));
	memset(&st, 0, sizeof(st));
	strcpy(n[0].dns_search, "a.example, b.example");
	strcpy(n[0].dns_servers, "10.0.0.10,10.0.0.11");
	strcpy(n[1].dns_search, "b.example,c,d,e,f,g,h");
	strcpy(n[1].dns_servers, "10.0.0.11");
	net_dns_of(n, 2, &st, &dns);
	CHECK_EQ(dns.nsearch, NET_DNS_SEARCH_MAX);
	CHECK_STREQ(dns.search[0], "a.example");
	CHECK_STREQ(dns.search[1], "b.example");
	CHECK_STREQ(dns.search[5], "f");
	CHECK_EQ(dns.nservers, 2);
	CHECK_STREQ(dns.servers[1], "10.0.0.11");
	CHECK(oci_resolv_content(&dns, buf, sizeof(buf), &e) > 0);
	CHECK(strstr(buf, "search a.example b.example c d e f\n"));
	CHECK(strstr(buf, "nameserver 10.0.0.10\nnameserver 10.0.0.11\n"));
}

TEST(namespace_table_add_duplicate_claim_release)
{
	struct net_nic a = {.ns = "ns1", .id = "nic1"}, b = {.ns = "ns1", .id = "nic2"};
	struct net_nic c = {.ns = "ns2", .id = "nic3", .index = 9};
	struct net_nic *copy;
	struct error e;
	size_t n;
	pid_t owner = -1;
	bool host_network = true;

	CHECK_OK(net_ns_add_nic(&a, &owner, &host_network, &e));
	CHECK_EQ(owner, 0);
	CHECK(!host_network);
	CHECK_EQ(a.index, 0);
	CHECK(net_ns_add_nic(&a, &owner, &host_network, &e) == -EEXIST);
	CHECK_EQ(e.kind, ERR_EXISTS);
	CHECK_OK(net_ns_claim("NS1", "c1", 4242, false, &e));
	CHECK(net_ns_claim("ns1", "c2", 4343, false, &e) < 0);
	CHECK_OK(net_ns_add_nic(&b, &owner, &host_network, &e));
	CHECK_EQ(owner, 4242);
	CHECK(!host_network);
	CHECK_EQ(b.index, 1);
	CHECK_OK(net_ns_nics("ns1", &copy, &n, &e));
	CHECK_EQ(n, 2);
	CHECK_STREQ(copy[1].id, "nic2");
	CHECK_EQ(copy[0].index, 0);
	CHECK_EQ(copy[1].index, 1);
	free(copy);
	/* A host-network owner: NICs added later are configured in place. */
	CHECK_OK(net_ns_claim("ns2", "c3", 5151, true, &e));
	CHECK_OK(net_ns_add_nic(&c, &owner, &host_network, &e));
	CHECK_EQ(owner, 5151);
	CHECK(host_network);
	CHECK_EQ(c.index, 0);
	net_ns_release("c3");
	net_ns_remove_nic("ns2", "nic3");
	CHECK(net_ns_find("ns2") == NULL);
	net_ns_remove_nic("ns1", "nic1");
	/* nic2 is the namespace's first NIC now. */
	CHECK_OK(net_ns_nics("ns1", &copy, &n, &e));
	CHECK_EQ(n, 1);
	CHECK_EQ(copy[0].index, 0);
	free(copy);
	net_ns_remove_nic("nosuchns", "nic1");
	CHECK(!net_ns_has_nic("nic1"));
	net_ns_release("c1");
	CHECK(net_ns_find("ns1") != NULL); /* nic2 is left */
	net_ns_remove_nic("ns1", "nic2");
	CHECK(net_ns_find("ns1") == NULL);
}

TEST(setlink_down_and_move_into_a_pid_netns)
{
	struct nl_msg m;
	const struct ifinfomsg *ifi;
	const uint32_t *v;
	size_t len;

	CHECK_OK(nl_build_setlink(&m, 7, 12, 0, 0, 4242));
	CHECK_EQ(m.hdr.nlmsg_type, RTM_NEWLINK);
	CHECK_EQ(m.hdr.nlmsg_seq, 7);
	CHECK(m.hdr.nlmsg_flags & NLM_F_ACK);
	ifi = NLMSG_DATA(&m.hdr);
	CHECK_EQ(ifi->ifi_index, 12);
	CHECK_EQ(ifi->ifi_change, IFF_UP);
	CHECK_EQ(ifi->ifi_flags & IFF_UP, 0);
	v = nl_attr_find(&m.hdr, sizeof(*ifi), IFLA_NET_NS_PID, &len);
	CHECK(v && len == 4 && *v == 4242);
	CHECK(nl_attr_find(&m.hdr, sizeof(*ifi), IFLA_MTU, NULL) == NULL);

	CHECK_OK(nl_build_setlink(&m, 8, 12, -1, 1450, 0));
	ifi = NLMSG_DATA(&m.hdr);
	CHECK_EQ(ifi->ifi_change, 0);
	v = nl_attr_find(&m.hdr, sizeof(*ifi), IFLA_MTU, NULL);
	CHECK(v && *v == 1450);
	CHECK(nl_attr_find(&m.hdr, sizeof(*ifi), IFLA_NET_NS_PID, NULL) == NULL);
}

TEST(getlink_by_name)
{
	struct nl_msg m;
	const char *name;
	size_t len;

	CHECK_OK(nl_build_getlink(&m, 3, "eth0"));
	CHECK_EQ(m.hdr.nlmsg_type, RTM_GETLINK);
	name = nl_attr_find(&m.hdr, sizeof(struct ifinfomsg), IFLA_IFNAME, &len);
	CHECK(name && len == 5);
	CHECK_STREQ(name, "eth0");
}

TEST(newaddr_ipv4_and_ipv6)
{
	struct net_ip ip = {.family = AF_INET, .prefix = 24};
	const struct ifaddrmsg *ifa;
	const unsigned char *a;
	struct nl_msg m;
	size_t len;

	inet_pton(AF_INET, "10.0.0.5", ip.addr);
	CHECK_OK(nl_build_newaddr(&m, 1, 5, &ip));
	CHECK_EQ(m.hdr.nlmsg_type, RTM_NEWADDR);
	CHECK(m.hdr.nlmsg_flags & NLM_F_CREATE);
	ifa = NLMSG_DATA(&m.hdr);
	CHECK_EQ(ifa->ifa_family, AF_INET);
	CHECK_EQ(ifa->ifa_prefixlen, 24);
	CHECK_EQ(ifa->ifa_index, 5);
	a = nl_attr_find(&m.hdr, sizeof(*ifa), IFA_LOCAL, &len);
	CHECK(a && len == 4);
	ip4(a, "10.0.0.5");
	CHECK(nl_attr_find(&m.hdr, sizeof(*ifa), IFA_ADDRESS, &len) && len == 4);

	ip.family = AF_INET6;
	ip.prefix = 64;
	inet_pton(AF_INET6, "fd00::5", ip.addr);
	CHECK_OK(nl_build_newaddr(&m, 2, 5, &ip));
	a = nl_attr_find(&m.hdr, sizeof(*ifa), IFA_LOCAL, &len);
	CHECK(a && len == 16 && !memcmp(a, ip.addr, 16));
}

TEST(newroute_default_via_gateway_and_link_scope)
{
	struct net_route r = {.family = AF_INET, .has_gw = true, .metric = 5};
	const struct rtmsg *rt;
	const uint32_t *v;
	struct nl_msg m;
	size_t len;

	inet_pton(AF_INET, "10.0.0.1", r.gw);
	CHECK_OK(nl_build_newroute(&m, 1, 9, &r, RT_TABLE_MAIN));
	CHECK_EQ(m.hdr.nlmsg_type, RTM_NEWROUTE);
	rt = NLMSG_DATA(&m.hdr);
	CHECK_EQ(rt->rtm_dst_len, 0);
	CHECK_EQ(rt->rtm_table, RT_TABLE_MAIN);
	CHECK_EQ(rt->rtm_scope, RT_SCOPE_UNIVERSE);
	CHECK(nl_attr_find(&m.hdr, sizeof(*rt), RTA_DST, NULL) == NULL);
	ip4(nl_attr_find(&m.hdr, sizeof(*rt), RTA_GATEWAY, &len), "10.0.0.1");
	v = nl_attr_find(&m.hdr, sizeof(*rt), RTA_OIF, NULL);
	CHECK(v && *v == 9);
	v = nl_attr_find(&m.hdr, sizeof(*rt), RTA_PRIORITY, NULL);
	CHECK(v && *v == 5);
	CHECK(nl_attr_find(&m.hdr, sizeof(*rt), RTA_TABLE, NULL) == NULL);

	/* Policy routing: the same route in table 101. */
	CHECK_OK(nl_build_newroute(&m, 3, 9, &r, NET_PBR_TABLE));
	rt = NLMSG_DATA(&m.hdr);
	CHECK_EQ(rt->rtm_table, 101);
	v = nl_attr_find(&m.hdr, sizeof(*rt), RTA_TABLE, &len);
	CHECK(v && len == 4 && *v == 101);

	memset(&r, 0, sizeof(r));
	r.family = AF_INET;
	r.dst_len = 32;
	inet_pton(AF_INET, "192.168.1.1", r.dst);
	CHECK_OK(nl_build_newroute(&m, 2, 9, &r, RT_TABLE_MAIN));
	rt = NLMSG_DATA(&m.hdr);
	CHECK_EQ(rt->rtm_scope, RT_SCOPE_LINK);
	CHECK_EQ(rt->rtm_dst_len, 32);
	ip4(nl_attr_find(&m.hdr, sizeof(*rt), RTA_DST, NULL), "192.168.1.1");
	CHECK(nl_attr_find(&m.hdr, sizeof(*rt), RTA_GATEWAY, NULL) == NULL);
	CHECK(nl_attr_find(&m.hdr, sizeof(*rt), RTA_PRIORITY, NULL) == NULL);
}

TEST(newrule_from_an_address_lookup_table_101)
{
	struct net_ip ip = {.family = AF_INET, .prefix = 24};
	const struct fib_rule_hdr *frh;
	const unsigned char *a;
	const uint32_t *v;
	struct nl_msg m;
	size_t len;

	inet_pton(AF_INET, "10.0.1.5", ip.addr);
	CHECK_OK(nl_build_newrule(&m, 4, &ip, NET_PBR_TABLE, NET_PBR_RULE_PRIORITY));
	CHECK_EQ(m.hdr.nlmsg_type, RTM_NEWRULE);
	CHECK(m.hdr.nlmsg_flags & NLM_F_CREATE);
	CHECK(m.hdr.nlmsg_flags & NLM_F_EXCL);
	frh = NLMSG_DATA(&m.hdr);
	CHECK_EQ(frh->family, AF_INET);
	CHECK_EQ(frh->src_len, 32); /* the address alone, not its subnet */
	CHECK_EQ(frh->dst_len, 0);
	CHECK_EQ(frh->table, 101);
	CHECK_EQ(frh->action, FR_ACT_TO_TBL);
	a = nl_attr_find(&m.hdr, sizeof(*frh), FRA_SRC, &len);
	CHECK(a && len == 4);
	ip4(a, "10.0.1.5");
	v = nl_attr_find(&m.hdr, sizeof(*frh), FRA_TABLE, NULL);
	CHECK(v && *v == 101);
	v = nl_attr_find(&m.hdr, sizeof(*frh), FRA_PRIORITY, NULL);
	CHECK(v && *v == 5);

	ip.family = AF_INET6;
	inet_pton(AF_INET6, "fd00::5", ip.addr);
	CHECK_OK(nl_build_newrule(&m, 5, &ip, NET_PBR_TABLE, NET_PBR_RULE_PRIORITY));
	frh = NLMSG_DATA(&m.hdr);
	CHECK_EQ(frh->family, AF_INET6);
	CHECK_EQ(frh->src_len, 128);
	a = nl_attr_find(&m.hdr, sizeof(*frh), FRA_SRC, &len);
	CHECK(a && len == 16 && !memcmp(a, ip.addr, 16));
}

TEST(hostnetwork_annotation_reads_as_go_parsebool)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "false", "yes", "tRuE", ""};
	char buf[256];
	struct json_object *s;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"annotations\":{\"%s\":\"%s\"}}",
			 OCI_ANN_HOST_NETWORK, yes[i]);
		s = json_tokener_parse(buf);
		CHECK(oci_host_network(s));
		json_object_put(s);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"annotations\":{\"%s\":\"%s\"}}",
			 OCI_ANN_HOST_NETWORK, no[i]);
		s = json_tokener_parse(buf);
		CHECK(!oci_host_network(s));
		json_object_put(s);
	}
	s = json_tokener_parse("{\"annotations\":{}}");
	CHECK(!oci_host_network(s));
	json_object_put(s);
}

TEST(resolve_waits_for_the_interface_and_times_out_naming_the_id)
{
	char dir[] = "/tmp/lcow-net-XXXXXX", path[256];
	struct net_nic n = {.id = "aaaa-bbbb"};
	struct error e;

	CHECK(mkdtemp(dir));
	CHECK(net_nic_resolve(&n, dir, 50, &e) == -ETIMEDOUT);
	CHECK(strstr(e.msg, "aaaa-bbbb"));
	snprintf(path, sizeof(path), "mkdir -p %s/bus/vmbus/devices/aaaa-bbbb/net/eth7", dir);
	CHECK(system(path) == 0);
	CHECK_OK(net_nic_resolve(&n, dir, 50, &e));
	CHECK_STREQ(n.ifname, "eth7");
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CHECK(system(path) == 0);
}

TEST(resolve_vpci_assigned_and_refuse_two_interfaces)
{
	char dir[] = "/tmp/lcow-net-XXXXXX", cmd[512];
	struct net_nic n = {.id = "cccc-dddd", .vpci_assigned = true};
	struct error e;

	CHECK(mkdtemp(dir));
	CHECK(net_nic_resolve(&n, dir, 30, &e) == -ETIMEDOUT);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/bus/vmbus/devices/cccc-dddd/pci1a2b:00/1a2b:00:00.0/net/enp0s1", dir);
	CHECK(system(cmd) == 0);
	CHECK_OK(net_nic_resolve(&n, dir, 30, &e));
	CHECK_STREQ(n.ifname, "enp0s1");
	n.vpci_assigned = false;
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/bus/vmbus/devices/cccc-dddd/net/eth1 "
		 "%s/bus/vmbus/devices/cccc-dddd/net/eth2",
		 dir, dir);
	CHECK(system(cmd) == 0);
	CHECK(net_nic_resolve(&n, dir, 30, &e) == -EEXIST);
	CHECK(strstr(e.msg, "cccc-dddd") && strstr(e.msg, "more than one"));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}
