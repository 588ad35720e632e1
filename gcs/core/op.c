/* Completing a runtime operation (gcs/core/op.h). */
#include "core/op.h"

#include <string.h>

void op_finish(const struct op_done *d, int rc, const struct error *err, const void *result)
{
	struct error e;

	if (rc >= 0) {
		d->fn(d->data, 0, NULL, result);
		return;
	}
	if (err && err->msg[0]) {
		d->fn(d->data, rc, err, NULL);
		return;
	}
	error_set(&e, ERR_FAIL, -rc, "%s", strerror(-rc));
	d->fn(d->data, rc, &e, NULL);
}
