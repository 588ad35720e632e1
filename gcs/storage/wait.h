/* Bounded waits for hot-plugged devices: a monotonic deadline and the
 * 10 ms polling step the reference uses. */
#ifndef GCS_STORAGE_WAIT_H
#define GCS_STORAGE_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#define STORAGE_POLL_MS 10

uint64_t storage_now_ms(void);
void storage_sleep_ms(unsigned ms);

/* Deadline timeout_ms from now (0 means the default device timeout). */
uint64_t storage_deadline(unsigned timeout_ms);
bool storage_expired(uint64_t deadline);

/* Tries open(path) until it stops failing with ENOENT/ENXIO or the deadline
 * passes. Returns 0, -ETIMEDOUT (last errno in *last_errno) or -errno. */
int storage_wait_openable(const char *path, uint64_t deadline, int *last_errno);

#endif
