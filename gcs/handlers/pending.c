/* Requests kept open for a runtime operation (gcs/handlers/pending.h). */
#include "handlers/pending.h"

#include <errno.h>
#include <stdlib.h>

struct pending {
	struct request *req; /* NULL once the gcs cancelled it */
	pending_reply_fn reply;
	const char *prefix;
	void (*cancel)(void *op); /* how to stop the operation, if it can be */
	void *op;
};

static void on_cancel(struct request *req, void *data)
{
	struct pending *p = data;

	if (!p->cancel) {
		p->req = NULL; /* finish() drops the result */
		return;
	}
	p->cancel(p->op); /* finish() never runs */
	free(p);
}

static void set_cancel(void *data, void (*cancel)(void *op), void *op)
{
	struct pending *p = data;

	p->cancel = cancel;
	p->op = op;
}

static bool wanted(void *data)
{
	const struct pending *p = data;

	return p->req != NULL;
}

static void add_runc_ns(void *data, uint64_t ns)
{
	const struct pending *p = data;

	if (p->req)
		request_add_runc_ns(p->req, ns);
}

static void finish(void *data, int rc, const struct error *err, const void *result)
{
	struct pending *p = data;
	struct pending mine = *p;
	struct request *req = p->req;

	free(p);
	p = &mine;
	if (!req)
		return;
	request_on_cancel(req, NULL, NULL);
	if (rc < 0) {
		struct error e = *err;

		if (p->prefix)
			error_prefix(&e, "%s", p->prefix);
		request_fail(req, &e);
	} else if (p->reply) {
		p->reply(req, result);
	} else {
		request_reply(req, NULL);
	}
}

int pending_begin(struct request *req, pending_reply_fn reply, const char *prefix,
		  struct op_done *done, struct error *err)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (!p)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	p->req = req;
	p->reply = reply;
	p->prefix = prefix;
	*done = (struct op_done){.fn = finish,
				 .wanted = wanted,
				 .on_cancel = set_cancel,
				 .add_runc_ns = add_runc_ns,
				 .data = p};
	request_on_cancel(req, on_cancel, p);
	return 0;
}

int pending_end(struct op_done *done, int rc)
{
	struct pending *p = done->data;

	if (rc >= 0)
		return REQUEST_PENDING;
	request_on_cancel(p->req, NULL, NULL);
	free(p);
	return rc;
}
