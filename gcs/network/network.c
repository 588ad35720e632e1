/* Network adapters (spec §3.10.6): parsing both shapes of
 * LCOWNetworkAdapter, the table "namespace id (lower case) -> {owner, NICs}"
 * (§6.8) and the DNS settings a container's resolv.conf gets (§6.1). */
#include "network/network.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"

/* ---- parsing --------------------------------------------------------------- */

int net_guid_norm(const char *in, char *out, size_t size, const char *what, struct error *err)
{
	size_t n = in ? strlen(in) : 0;

	if (n == 0 || n >= size)
		return error_set(err, ERR_INVALID_ARG, EINVAL, "%s '%s' is not a GUID", what,
				 in ? in : "");
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)in[i]) && in[i] != '-')
			return error_set(err, ERR_INVALID_ARG, EINVAL, "%s '%s' is not a GUID",
					 what, in);
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	out[n] = '\0';
	return 0;
}

/* An address of either family; 0 family when s is empty. */
static int parse_addr(const char *s, int *family, unsigned char addr[16])
{
	*family = 0;
	if (!s || !*s)
		return 0;
	if (inet_pton(AF_INET, s, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, s, addr) == 1)
		*family = AF_INET6;
	else
		return -EINVAL;
	return 0;
}

static bool addr_is_zero(int family, const unsigned char addr[16])
{
	for (int i = 0; i < (family == AF_INET6 ? 16 : 4); i++)
		if (addr[i])
			return false;
	return true;
}

static int add_ip(struct net_nic *nic, const char *addr, unsigned prefix, struct error *err)
{
	struct net_ip *ip;

	if (!addr || !*addr)
		return 0;
	if (nic->n_ips == NET_MAX_IPS)
		return error_set(err, ERR_INVALID_ARG, E2BIG, "more than %d IP addresses",
				 NET_MAX_IPS);
	ip = &nic->ips[nic->n_ips];
	if (parse_addr(addr, &ip->family, ip->addr) < 0 || !ip->family)
		return error_set(err, ERR_INVALID_ARG, EINVAL, "IP address '%s' is invalid", addr);
	if (prefix > (ip->family == AF_INET ? 32u : 128u))
		return error_set(err, ERR_INVALID_ARG, EINVAL, "prefix length %u of %s is invalid",
				 prefix, addr);
	ip->prefix = prefix;
	nic->n_ips++;
	return 0;
}

/* "a.b.c.d/n", "::/0" or "" (the default route). */
static int parse_prefix(const char *s, struct net_route *r)
{
	char buf[64], *slash;
	char *end;
	unsigned long n;

	if (!s || !*s)
		return 0;
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	if (parse_addr(buf, &r->family, r->dst) < 0 || !r->family)
		return -EINVAL;
	errno = 0;
	n = strtoul(slash + 1, &end, 10);
	if (errno || *end || slash[1] == '\0' || n > (r->family == AF_INET ? 32u : 128u))
		return -EINVAL;
	r->dst_len = (unsigned)n;
	return 0;
}

static int add_route(struct net_nic *nic, const char *dest, const char *next_hop, uint32_t metric,
		     struct error *err)
{
	struct net_route r = {.metric = metric};
	int gw_family = 0;

	if (parse_prefix(dest, &r) < 0)
		return error_set(err, ERR_INVALID_ARG, EINVAL, "route destination '%s' is invalid",
				 dest);
	if (parse_addr(next_hop, &gw_family, r.gw) < 0)
		return error_set(err, ERR_INVALID_ARG, EINVAL, "route next hop '%s' is invalid",
				 next_hop);
	if (r.family && gw_family && r.family != gw_family)
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "route %s via %s mixes address families", dest, next_hop);
	if (!r.family)
		r.family = gw_family;
	r.has_gw = gw_family && !addr_is_zero(gw_family, r.gw);
	/* A default route "via 0.0.0.0" is no route at all (§6.8). */
	if (r.dst_len == 0 && !r.has_gw)
		return 0;
	if (!r.family)
		return 0;
	if (nic->n_routes == NET_MAX_ROUTES)
		return error_set(err, ERR_INVALID_ARG, E2BIG, "more than %d routes",
				 NET_MAX_ROUTES);
	nic->routes[nic->n_routes++] = r;
	return 0;
}

static int copy_field(char *dst, size_t size, const char *src, const char *what, struct error *err)
{
	if (snprintf(dst, size, "%s", src ? src : "") >= (int)size)
		return error_set(err, ERR_INVALID_ARG, ENAMETOOLONG, "%s is too long", what);
	return 0;
}

int net_nic_parse(const Gcs__LCOWNetworkAdapter *a, struct net_nic *out, struct error *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = net_guid_norm(a->namespaceid, out->ns, sizeof(out->ns), "NamespaceID", err)) <
		    0 ||
	    (rc = net_guid_norm(a->id, out->id, sizeof(out->id), "ID", err)) < 0 ||
	    (rc = copy_field(out->dns_search, sizeof(out->dns_search), a->dnssuffix, "DNSSuffix",
			     err)) < 0 ||
	    (rc = copy_field(out->dns_servers, sizeof(out->dns_servers), a->dnsserverlist,
			     "DNSServerList", err)) < 0)
		return rc;
	out->encap_overhead = a->encapoverhead;
	out->vpci_assigned = a->vpciassigned;
	out->policy_based_routing = a->policybasedrouting;
	out->enable_low_metric = a->enablelowmetric;
	out->v011 = !a->n_ipconfigs && !a->n_routes &&
		    ((a->ipaddress && *a->ipaddress) || (a->ipv6address && *a->ipv6address));
	/* HEAD shape. */
	for (size_t i = 0; i < a->n_ipconfigs; i++)
		if ((rc = add_ip(out, a->ipconfigs[i]->ipaddress, a->ipconfigs[i]->prefixlength,
				 err)) < 0)
			return rc;
	for (size_t i = 0; i < a->n_routes; i++)
		if ((rc = add_route(out, a->routes[i]->destinationprefix, a->routes[i]->nexthop,
				    a->routes[i]->metric, err)) < 0)
			return rc;
	/* v0.11 shape: one address per family and a default route via its
	 * gateway. */
	if ((rc = add_ip(out, a->ipaddress, a->prefixlength, err)) < 0 ||
	    (rc = add_ip(out, a->ipv6address, a->ipv6prefixlength, err)) < 0)
		return rc;
	if (a->gatewayaddress && *a->gatewayaddress &&
	    (rc = add_route(out, "", a->gatewayaddress, 0, err)) < 0)
		return rc;
	if (a->ipv6gatewayaddress && *a->ipv6gatewayaddress &&
	    (rc = add_route(out, "", a->ipv6gatewayaddress, 0, err)) < 0)
		return rc;
	return 0;
}

/* ---- policy-based routing ------------------------------------------------------ */

bool net_nic_low_metric(const struct net_nic *nic)
{
	if (nic->policy_based_routing)
		return nic->index > 0;
	if (nic->v011)
		return nic->enable_low_metric || nic->index > 0;
	return nic->enable_low_metric;
}

uint32_t net_route_metric(const struct net_nic *nic, const struct net_route *r, bool low)
{
	if (r->metric)
		return r->metric;
	if (low)
		return NET_LOW_METRIC;
	return nic->v011 ? NET_V011_METRIC : 0;
}

bool net_ip_gets_rule(const struct net_nic *nic, size_t k)
{
	if (!nic->v011)
		return true;
	for (size_t i = 0; i < nic->n_routes; i++)
		if (nic->routes[i].family == nic->ips[k].family)
			return true;
	return false;
}

/* ---- the namespace table ------------------------------------------------------ */

struct net_entry {
	struct net_nic nic;
	struct net_entry *next;
};

struct net_ns {
	char id[NET_ID_MAX];
	char owner_cid[NET_OWNER_MAX];
	pid_t owner;
	bool host_network; /* the owner runs in the UVM's network namespace */
	struct net_entry *nics;
	struct net_ns *next;
};

static struct net_ns *table;

struct net_ns *net_ns_find(const char *ns)
{
	for (struct net_ns *n = table; n; n = n->next)
		if (!strcasecmp(n->id, ns))
			return n;
	return NULL;
}

static struct net_ns *ns_get(const char *ns, struct error *err)
{
	struct net_ns *n = net_ns_find(ns);

	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n) {
		error_set(err, ERR_FAIL, ENOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(n->id) - 1 && ns[i]; i++)
		n->id[i] = (char)tolower((unsigned char)ns[i]);
	n->next = table;
	table = n;
	return n;
}

static void ns_drop_if_unused(struct net_ns *n)
{
	if (n->owner || n->nics)
		return;
	for (struct net_ns **p = &table; *p; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			free(n);
			return;
		}
}

bool net_ns_has_nic(const char *id)
{
	for (struct net_ns *n = table; n; n = n->next)
		for (struct net_entry *e = n->nics; e; e = e->next)
			if (!strcasecmp(e->nic.id, id))
				return true;
	return false;
}

int net_ns_add_nic(struct net_nic *nic, pid_t *owner, bool *host_network, struct error *err)
{
	struct net_entry *e, **tail;
	struct net_ns *n;
	unsigned index = 0;

	if (net_ns_has_nic(nic->id))
		return error_set(err, ERR_EXISTS, EEXIST, "NIC %s is already added", nic->id);
	e = calloc(1, sizeof(*e));
	if (!e)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	n = ns_get(nic->ns, err);
	if (!n) {
		free(e);
		return -ENOMEM;
	}
	for (tail = &n->nics; *tail; tail = &(*tail)->next)
		index++;
	nic->index = index;
	e->nic = *nic;
	*tail = e;
	*owner = n->owner;
	*host_network = n->host_network;
	return 0;
}

void net_ns_remove_nic(const char *ns, const char *id)
{
	struct net_ns *n = net_ns_find(ns);
	unsigned index = 0;

	if (!n)
		return;
	for (struct net_entry **p = &n->nics; *p; p = &(*p)->next)
		if (!strcasecmp((*p)->nic.id, id)) {
			struct net_entry *e = *p;

			*p = e->next;
			free(e);
			break;
		}
	/* The NICs after it move up, as in the reference's list. */
	for (struct net_entry *e = n->nics; e; e = e->next)
		e->nic.index = index++;
	ns_drop_if_unused(n);
}

int net_ns_nics(const char *ns, struct net_nic **out, size_t *n_out, struct error *err)
{
	struct net_ns *n = net_ns_find(ns);
	size_t count = 0;

	*out = NULL;
	*n_out = 0;
	if (!n)
		return 0;
	for (struct net_entry *e = n->nics; e; e = e->next)
		count++;
	if (!count)
		return 0;
	*out = calloc(count, sizeof(**out));
	if (!*out)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	for (struct net_entry *e = n->nics; e; e = e->next) {
		(*out)[*n_out] = e->nic;
		(*out)[*n_out].index = (unsigned)*n_out;
		(*n_out)++;
	}
	return 0;
}

int net_ns_claim(const char *ns, const char *cid, pid_t pid, bool host_network, struct error *err)
{
	struct net_ns *n = ns_get(ns, err);

	if (!n)
		return -ENOMEM;
	if (n->owner && strcmp(n->owner_cid, cid) != 0)
		return error_set(err, ERR_INVALID_STATE, EBUSY,
				 "network namespace %s is already used by container %s", n->id,
				 n->owner_cid);
	n->owner = pid;
	n->host_network = host_network;
	snprintf(n->owner_cid, sizeof(n->owner_cid), "%s", cid);
	return 0;
}

void net_ns_release(const char *cid)
{
	struct net_ns *n = table, *next;

	for (; n; n = next) {
		next = n->next;
		if (n->owner && !strcmp(n->owner_cid, cid)) {
			n->owner = 0;
			n->host_network = false;
			n->owner_cid[0] = '\0';
			ns_drop_if_unused(n);
		}
	}
}

void net_ns_describe(struct printbuf *pb)
{
	size_t count = 0;

	for (struct net_ns *n = table; n; n = n->next)
		count++;
	sprintbuf(pb, "network namespaces: %zu\n", count);
	for (struct net_ns *n = table; n; n = n->next) {
		sprintbuf(pb, "  %s owner=%s pid=%d%s\n", n->id, n->owner ? n->owner_cid : "-",
			  (int)n->owner, n->host_network ? " host-network" : "");
		for (struct net_entry *e = n->nics; e; e = e->next)
			sprintbuf(pb, "    NIC %s ifname=%s ips=%zu routes=%zu%s\n", e->nic.id,
				  e->nic.ifname, e->nic.n_ips, e->nic.n_routes,
				  net_nic_low_metric(&e->nic) ? " policy-routed" : "");
	}
}

/* ---- DNS ---------------------------------------------------------------------- */

static bool listed(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

/* Splits a comma-separated list into `store`, appending what is new to
 * list (up to max entries). */
static void split_into(const char *csv, char **pos, char *end, const char **list, size_t *n,
		       size_t max)
{
	const char *p = csv;

	while (*p) {
		size_t len = strcspn(p, ",");
		const char *s = p;
		size_t l = len;

		while (l && isspace((unsigned char)*s))
			s++, l--;
		while (l && isspace((unsigned char)s[l - 1]))
			l--;
		p += len + (p[len] == ',');
		if (!l || *n == max || (size_t)(end - *pos) < l + 1)
			continue;
		memcpy(*pos, s, l);
		(*pos)[l] = '\0';
		if (!listed(list, *n, *pos)) {
			list[(*n)++] = *pos;
			*pos += l + 1;
		}
	}
}

void net_dns_of(const struct net_nic *nics, size_t n, struct net_dns_store *store,
		struct net_dns *dns)
{
	char *pos = store->buf, *end = store->buf + sizeof(store->buf);
	size_t ns = 0, nv = 0;

	for (size_t i = 0; i < n; i++) {
		split_into(nics[i].dns_search, &pos, end, store->search, &ns,
			   ARRAY_SIZE(store->search));
		split_into(nics[i].dns_servers, &pos, end, store->servers, &nv,
			   ARRAY_SIZE(store->servers));
	}
	memset(dns, 0, sizeof(*dns));
	dns->search = store->search;
	dns->nsearch = ns;
	dns->servers = store->servers;
	dns->nservers = nv;
}
