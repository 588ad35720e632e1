/* GetProperties pieces shared by the UVM and the containers (gcs/handlers/props.h). */
#include "handlers/props.h"

#include <errno.h>
#include <string.h>

bool props_query_wants(const Gcs__PropertyQuery *q, const char *type)
{
	for (size_t i = 0; q && i < q->n_propertytypes; i++)
		if (strcmp(q->propertytypes[i], type) == 0)
			return true;
	return false;
}

int props_process_list(struct arena *a, const uint32_t *pids, size_t n, Gcs__Properties *props,
		       struct error *err)
{
	Gcs__ProcessDetails *details;

	/* n + 1: never a zero-sized allocation. */
	props->processlist = arena_alloc(a, (n + 1) * sizeof(*props->processlist));
	details = arena_alloc(a, (n + 1) * sizeof(*details));
	if (!props->processlist || !details)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		gcs__process_details__init(&details[i]);
		details[i].processid = pids[i];
		props->processlist[i] = &details[i];
	}
	props->n_processlist = n;
	return 0;
}
