#include "steps.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>

#include "cleanup.h"

/* Sets IFF_UP|IFF_RUNNING on lo through a socket of this family; a kernel
 * without the family (IPv6 compiled out) is not an error. */
static int lo_up(int family)
{
	_cleanup_close_ int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq req;

	if (fd < 0)
		return errno == EAFNOSUPPORT ? 0 : -errno;
	memset(&req, 0, sizeof(req));
	strcpy(req.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &req) < 0)
		return -errno;
	req.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &req) < 0)
		return -errno;
	return 0;
}

int init_loopback_up(const struct init_options *o)
{
	int r;

	(void)o;
	r = lo_up(AF_INET);
	if (r < 0)
		return r;
	return lo_up(AF_INET6);
}
