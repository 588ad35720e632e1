/* Guest memory as QEMU shares it with a vhost-user backend: up to eight
 * regions, each an fd (memfd) that the backend maps. Virtqueue descriptors
 * carry guest-physical addresses; the ring addresses of SET_VRING_ADDR are
 * QEMU's own virtual addresses, so both translations are kept. */
#ifndef VSOCK_GUEST_MEM_H
#define VSOCK_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 8

/* One region as VHOST_USER_SET_MEM_TABLE describes it (wire layout). */
struct guest_mem_desc {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
};

struct guest_mem_region {
	struct guest_mem_desc d;
	uint8_t *host; /* where d.gpa is mapped here */
	void *map;
	size_t map_len;
};

struct guest_mem {
	struct guest_mem_region r[GUEST_MEM_MAX_REGIONS];
	unsigned n;
};

/* Maps n regions from fds (not closed here). On failure nothing stays mapped.
 * Returns 0 or a negative errno. */
int guest_mem_map(struct guest_mem *m, const struct guest_mem_desc *d, const int *fds, unsigned n);
void guest_mem_unmap(struct guest_mem *m);

/* Host pointer for guest-physical gpa; *len is clipped to the bytes that are
 * contiguous from there (within one region). NULL when gpa is not mapped. */
void *guest_mem_gpa(const struct guest_mem *m, uint64_t gpa, uint64_t *len);

/* Host pointer for QEMU virtual address uva when all len bytes lie in one
 * region; NULL otherwise. */
void *guest_mem_uva(const struct guest_mem *m, uint64_t uva, uint64_t len);

#endif
