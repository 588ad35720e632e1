#include "core/dial.h"

#include <errno.h>
#include <time.h>

int gcs_dial(const struct transport *t, uint32_t port, struct error *err)
{
	struct timespec pause = {.tv_nsec = DIAL_RETRY_MS * 1000000L};
	char where[128];
	int fd = -ETIMEDOUT;

	for (int i = 0; i < DIAL_RETRIES && fd == -ETIMEDOUT; i++) {
		if (i > 0)
			nanosleep(&pause, NULL);
		fd = transport_dial(t, port);
	}
	if (fd >= 0)
		return fd;
	transport_describe(t, port, where, sizeof(where));
	return error_errno(err, -fd, "dial %s", where);
}
