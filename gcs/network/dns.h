/* The resolv.conf content of a network namespace: gathered from its NICs by
 * the network code (net_dns_of), written into a container's rootfs by the
 * container code (oci_resolv_content). */
#ifndef GCS_NETWORK_DNS_H
#define GCS_NETWORK_DNS_H

#include <stddef.h>

/* At most this many search domains go into resolv.conf (glibc reads 6). */
#define NET_DNS_SEARCH_MAX 6

struct net_dns {
	const char *const *search; /* at most NET_DNS_SEARCH_MAX */
	size_t nsearch;
	const char *const *servers;
	size_t nservers;
	const char *const *options;
	size_t noptions;
};

#endif
