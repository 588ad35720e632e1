#include "storage/wait.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "storage/storage.h"

uint64_t storage_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void storage_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

uint64_t storage_deadline(unsigned timeout_ms)
{
	return storage_now_ms() + (timeout_ms ? timeout_ms : STORAGE_DEVICE_TIMEOUT_MS);
}

bool storage_expired(uint64_t deadline)
{
	return storage_now_ms() >= deadline;
}

int storage_wait_openable(const char *path, uint64_t deadline, int *last_errno)
{
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		*last_errno = errno;
		if (errno != ENOENT && errno != ENXIO)
			return -errno;
		if (storage_expired(deadline))
			return -ETIMEDOUT;
		storage_sleep_ms(STORAGE_POLL_MS);
	}
}
