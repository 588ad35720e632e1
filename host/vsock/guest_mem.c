#include "guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

static int map_region(struct guest_mem_region *r, const struct guest_mem_desc *d, int fd)
{
	uint64_t len = d->size + d->mmap_offset;

	if (d->size == 0 || len < d->size || d->gpa + d->size < d->gpa)
		return -EINVAL;
	r->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		return -errno;
	}
	r->map_len = len;
	r->host = (uint8_t *)r->map + d->mmap_offset;
	r->d = *d;
	return 0;
}

int guest_mem_map(struct guest_mem *m, const struct guest_mem_desc *d, const int *fds, unsigned n)
{
	if (n > GUEST_MEM_MAX_REGIONS)
		return -E2BIG;
	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < n; i++) {
		int r = map_region(&m->r[i], &d[i], fds[i]);

		if (r < 0) {
			guest_mem_unmap(m);
			return r;
		}
		m->n = i + 1;
	}
	return 0;
}

void guest_mem_unmap(struct guest_mem *m)
{
	for (unsigned i = 0; i < m->n; i++)
		munmap(m->r[i].map, m->r[i].map_len);
	memset(m, 0, sizeof(*m));
}

void *guest_mem_gpa(const struct guest_mem *m, uint64_t gpa, uint64_t *len)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct guest_mem_region *r = &m->r[i];
		uint64_t off = gpa - r->d.gpa;

		if (gpa < r->d.gpa || off >= r->d.size)
			continue;
		if (*len > r->d.size - off)
			*len = r->d.size - off;
		return r->host + off;
	}
	return NULL;
}

void *guest_mem_uva(const struct guest_mem *m, uint64_t uva, uint64_t len)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct guest_mem_region *r = &m->r[i];
		uint64_t off = uva - r->d.uva;

		if (uva < r->d.uva || off >= r->d.size || len > r->d.size - off)
			continue;
		return r->host + off;
	}
	return NULL;
}
