/* ModifySettings (spec §3.10): the envelope. The codec has already decoded
 * Request.Settings into the member named by ResourceType (rejecting unknown
 * types with "invalid ResourceType"); here the request is routed to the
 * MODIFY_HANDLER registered for that resource type. */
#include <errno.h>
#include <string.h>

#include "bridge/handler.h"

static int handle_modify(struct request *req, struct error *err)
{
	const Gcs__ContainerModifySettings *m = (const void *)req->msg;
	enum handler_scope scope = handler_scope_of(req->container_id);
	Gcs__ModificationRequest *mr = m->request;
	const struct modify_handler *h;

	if (!mr)
		return error_set(err, ERR_BAD_JSON, EINVAL, "ModifySettings: Request is missing");
	/* An empty RequestType means Add (the reference's rule). */
	if (!mr->requesttype[0])
		mr->requesttype = "Add";
	/* For a container id only ContainerConstraints is meaningful. */
	if (scope == SCOPE_CONTAINER && strcmp(mr->resourcetype, "ContainerConstraints") != 0)
		return error_set(err, ERR_FAIL, EINVAL,
				 "ModifySettings: resource type '%s' is not supported for a "
				 "container",
				 mr->resourcetype);
	h = modify_handler_find(mr->resourcetype, scope);
	if (!h)
		return error_set(err, ERR_NOT_IMPLEMENTED, ENOSYS,
				 "ModifySettings %s %s: not implemented yet", mr->requesttype,
				 mr->resourcetype);
	return h->fn(req, mr, err);
}
HANDLER(MSG_MODIFY_SETTINGS, SCOPE_ANY, gcs__container_modify_settings, handle_modify)
