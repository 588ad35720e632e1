/* libFuzzer target: the network settings the host sends (ModifySettings
 * Network: an LCOWNetworkAdapter of either shape) through everything in
 * gcs/network and gcs/containers that is pure.
 *
 * Input: up to three sections separated by NUL bytes:
 *   adapter \0 hostname \0 adapter2
 * - each adapter: JSON -> codec_parse() -> codec_decode() as
 *   LCOWNetworkAdapter -> net_nic_parse() (GUIDs, IP addresses and
 *   prefixes, routes, gateways, DNS lists) -> net_ns_add_nic() into the
 *   namespace table -> net_ns_nics() -> net_dns_of() ->
 *   oci_resolv_content() (the container's resolv.conf), and
 *   nl_build_newaddr()/nl_build_newroute() for each address and route
 *   (rtnetlink messages built in memory, never sent: no socket is opened);
 *   both NICs are removed again (net_ns_remove_nic()), so the table is
 *   empty between inputs;
 * - hostname: oci_hosts_content() (the container's /etc/hosts) and
 *   oci_hostname_valid().
 *
 * Asserted (abort on violation):
 * - a parsed NIC has lower-case hex-and-dash ids equal to the message's
 *   but for case, at most NET_MAX_IPS addresses of a known family with a
 *   prefix within it, routes of a known family with a gateway that is not
 *   the zero address and no gateway-less default route;
 * - the table holds a NIC once added and not after its removal;
 * - DNS: at most NET_DNS_SEARCH_MAX search domains, entries non-empty,
 *   trimmed, without ',' and unique; resolv.conf has one nameserver line
 *   per server and only search/nameserver/options lines;
 * - each netlink message fits NL_MSG_MAX and carries the address (route
 *   gateway) as parsed, found back with nl_attr_find();
 * - hosts starts with "127.0.0.1 localhost", names the host, and is refused
 *   for a name with whitespace or control characters.
 * Plus ASan/UBSan and the leak checker (the table must not keep memory). */
#include <ctype.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bridge/codec.h"
#include "containers/oci_spec.h"
#include "core/arena.h"
#include "network/netlink.h"
#include "network/network.h"

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_network: %s: %s\n", what, detail ? detail : "");
	abort();
}

static void check_id(const char *got, const char *sent)
{
	if (!*got || strcasecmp(got, sent))
		die("id differs from the message", got);
	for (const char *p = got; *p; p++)
		if (!(isdigit((unsigned char)*p) || (*p >= 'a' && *p <= 'f') || *p == '-'))
			die("id not lower-case hex and dashes", got);
}

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static bool zero(const unsigned char *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i])
			return false;
	return true;
}

static void check_nic(const struct net_nic *nic, const Gcs__LCOWNetworkAdapter *a)
{
	check_id(nic->ns, a->namespaceid);
	check_id(nic->id, a->id);
	if (nic->ifname[0] || nic->n_ips > NET_MAX_IPS || nic->n_routes > NET_MAX_ROUTES)
		die("NIC", nic->id);
	for (size_t i = 0; i < nic->n_ips; i++) {
		const struct net_ip *ip = &nic->ips[i];
		struct nl_msg m;
		const void *v;
		size_t len;

		if ((ip->family != AF_INET && ip->family != AF_INET6) ||
		    ip->prefix > (ip->family == AF_INET ? 32u : 128u))
			die("address family or prefix", NULL);
		if (nl_build_newaddr(&m, 1, 2, ip) < 0)
			die("address message does not fit", NULL);
		v = nl_attr_find(&m.hdr, sizeof(struct ifaddrmsg), IFA_LOCAL, &len);
		if (m.hdr.nlmsg_len > NL_MSG_MAX || !v || len != addr_len(ip->family) ||
		    memcmp(v, ip->addr, len))
			die("address message", NULL);
	}
	for (size_t i = 0; i < nic->n_routes; i++) {
		const struct net_route *r = &nic->routes[i];
		struct nl_msg m;
		const void *v;
		size_t len;

		if ((r->family != AF_INET && r->family != AF_INET6) ||
		    r->dst_len > (r->family == AF_INET ? 32u : 128u))
			die("route family or length", NULL);
		if (r->has_gw && zero(r->gw, addr_len(r->family)))
			die("route via the zero address", NULL);
		if (r->dst_len == 0 && !r->has_gw)
			die("default route without a gateway", NULL);
		/* Table 101 when the NIC is a policy-routed one, as configure does. */
		if (nl_build_newroute(&m, 1, 2, r,
				      net_nic_low_metric(nic) ? NET_PBR_TABLE : RT_TABLE_MAIN) < 0)
			die("route message does not fit", NULL);
		v = nl_attr_find(&m.hdr, sizeof(struct rtmsg), RTA_GATEWAY, &len);
		if (m.hdr.nlmsg_len > NL_MSG_MAX || (r->has_gw != (v != NULL)) ||
		    (v && (len != addr_len(r->family) || memcmp(v, r->gw, len))))
			die("route message", NULL);
	}
}

static void check_dns(const char *ns)
{
	struct net_nic *nics = NULL;
	struct net_dns_store store;
	struct net_dns dns;
	struct error e;
	char buf[4096];
	size_t n = 0, lines = 0;
	int len;

	if (net_ns_nics(ns, &nics, &n, &e) < 0)
		return;
	if (n == 0)
		die("namespace without the NIC just added", ns);
	net_dns_of(nics, n, &store, &dns);
	free(nics);
	if (dns.nsearch > NET_DNS_SEARCH_MAX)
		die("too many search domains", NULL);
	for (int list = 0; list < 2; list++) {
		const char *const *v = list ? dns.servers : dns.search;
		size_t count = list ? dns.nservers : dns.nsearch;

		for (size_t i = 0; i < count; i++) {
			size_t l = strlen(v[i]);

			if (!l || strchr(v[i], ',') || isspace((unsigned char)v[i][0]) ||
			    isspace((unsigned char)v[i][l - 1]))
				die("DNS entry", v[i]);
			for (size_t j = 0; j < i; j++)
				if (!strcmp(v[i], v[j]))
					die("duplicate DNS entry", v[i]);
		}
	}
	len = oci_resolv_content(&dns, buf, sizeof(buf), &e);
	if (len < 0)
		return;
	if ((size_t)len != strlen(buf))
		die("resolv.conf length", buf);
	for (char *p = buf, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			die("resolv.conf line without newline", p);
		if (!strncmp(p, "nameserver ", 11))
			lines++;
		else if (strncmp(p, "search ", 7) && strncmp(p, "options ", 8))
			die("resolv.conf line", p);
	}
	if (lines != dns.nservers)
		die("one nameserver line per server", buf);
}

static void check_hosts(const char *hostname)
{
	char buf[1024];
	struct error e;
	bool bad = false;
	int n;

	(void)oci_hostname_valid(hostname);
	for (const char *p = hostname; *p; p++)
		bad |= (unsigned char)*p <= ' ' || *p == 0x7f;
	n = oci_hosts_content(hostname, buf, sizeof(buf), &e);
	if (n < 0)
		return;
	if (bad)
		die("hosts accepted a name with whitespace", hostname);
	if ((size_t)n != strlen(buf) || strncmp(buf, "127.0.0.1 localhost\n", 20) ||
	    (*hostname && !strstr(buf, hostname)) || !strstr(buf, "\n::1 localhost "))
		die("hosts content", buf);
}

/* Parses one adapter and adds it; fills id/ns of what to remove. */
static bool adapter(const char *text, size_t len, char *ns, char *id)
{
	struct json_object *obj = NULL;
	Gcs__LCOWNetworkAdapter *a;
	struct net_nic nic;
	struct arena *ar;
	struct error e;
	char norm[NET_ID_MAX];
	bool added = false;
	pid_t owner;
	bool host_network = false;

	if (codec_parse(text, len, &obj, &e) < 0)
		return false;
	ar = arena_new();
	if (!ar)
		abort();
	if (codec_decode(&gcs__lcownetwork_adapter__descriptor, obj, ar, (ProtobufCMessage **)&a,
			 &e) < 0)
		goto out;
	if (net_guid_norm(a->namespaceid, norm, sizeof(norm), "NamespaceID", &e) == 0)
		check_id(norm, a->namespaceid);
	if (net_nic_parse(a, &nic, &e) < 0)
		goto out;
	check_nic(&nic, a);
	if (net_ns_add_nic(&nic, &owner, &host_network, &e) < 0) {
		if (e.kind != ERR_EXISTS || !net_ns_has_nic(nic.id))
			die("add refused", e.msg);
		goto out;
	}
	if (!net_ns_has_nic(nic.id) || owner != 0 || host_network)
		die("NIC not in the table after add", nic.id);
	strcpy(ns, nic.ns);
	strcpy(id, nic.id);
	added = true;
	check_dns(nic.ns);
out:
	arena_free(ar);
	json_object_put(obj);
	return added;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *p, *hostname = NULL, *second = NULL;
	char ns[2][NET_ID_MAX], id[2][NET_ID_MAX];
	bool added[2] = {false, false};

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	p = buf + strlen(buf);
	if (p < buf + size) {
		hostname = p + 1;
		p = hostname + strlen(hostname);
		if (p < buf + size)
			second = p + 1;
	}
	added[0] = adapter(buf, strlen(buf), ns[0], id[0]);
	if (second)
		added[1] = adapter(second, strlen(second), ns[1], id[1]);
	if (hostname)
		check_hosts(hostname);
	for (int i = 1; i >= 0; i--) {
		if (!added[i])
			continue;
		net_ns_remove_nic(ns[i], id[i]);
		if (net_ns_has_nic(id[i]))
			die("NIC still in the table after remove", id[i]);
	}
	free(buf);
	return 0;
}
