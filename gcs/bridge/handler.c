/* The handler table. Filled by constructors before main(); read-only
 * afterwards, so lookups need no lock. */
#include "bridge/handler.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"

#define MAX_HANDLERS 64
#define MAX_MODIFY_HANDLERS 32
#define MAX_DUMP_SECTIONS 16
#define MAX_STARTUP_HOOKS 8
#define MAX_REQUEST_GATES 4

static struct {
	const struct handler *handlers[MAX_HANDLERS];
	size_t n_handlers;
	const struct modify_handler *modify[MAX_MODIFY_HANDLERS];
	size_t n_modify;
	dump_fn dumps[MAX_DUMP_SECTIONS];
	size_t n_dumps;
	uvm_process_list_fn uvm_process_list;
	struct {
		startup_fn fn;
		const char *name;
	} startup[MAX_STARTUP_HOOKS];
	size_t n_startup;
	request_gate_fn gates[MAX_REQUEST_GATES];
	size_t n_gates;
	char conflict[256]; /* first problem found, reported by the check */
} table;

static void conflict(const char *what, const char *a, const char *b)
{
	if (!table.conflict[0])
		snprintf(table.conflict, sizeof(table.conflict), "%s: %s and %s", what, a, b);
}

void handler_register(const struct handler *h)
{
	for (size_t i = 0; i < table.n_handlers; i++) {
		const struct handler *o = table.handlers[i];

		if (o->type == h->type && o->scope == h->scope)
			conflict("two handlers for one message type and scope", o->name, h->name);
	}
	if (table.n_handlers == MAX_HANDLERS) {
		conflict("handler table full", h->name, "MAX_HANDLERS");
		return;
	}
	table.handlers[table.n_handlers++] = h;
}

void modify_handler_register(const struct modify_handler *h)
{
	for (size_t i = 0; i < table.n_modify; i++) {
		const struct modify_handler *o = table.modify[i];

		if (strcmp(o->resource_type, h->resource_type) == 0 && o->scope == h->scope)
			conflict("two ModifySettings handlers for one resource type", o->name,
				 h->name);
	}
	if (table.n_modify == MAX_MODIFY_HANDLERS) {
		conflict("ModifySettings table full", h->name, "MAX_MODIFY_HANDLERS");
		return;
	}
	table.modify[table.n_modify++] = h;
}

void dump_section_register(dump_fn fn)
{
	if (table.n_dumps == MAX_DUMP_SECTIONS) {
		conflict("dump sections full", "", "MAX_DUMP_SECTIONS");
		return;
	}
	table.dumps[table.n_dumps++] = fn;
}

void uvm_process_list_register(uvm_process_list_fn fn)
{
	if (table.uvm_process_list)
		conflict("two UVM process lists", "", "");
	table.uvm_process_list = fn;
}

void startup_hook_register(startup_fn fn, const char *name)
{
	if (table.n_startup == MAX_STARTUP_HOOKS) {
		conflict("startup hooks full", name, "MAX_STARTUP_HOOKS");
		return;
	}
	table.startup[table.n_startup].fn = fn;
	table.startup[table.n_startup].name = name;
	table.n_startup++;
}

void request_gate_register(request_gate_fn fn)
{
	if (table.n_gates == MAX_REQUEST_GATES) {
		conflict("request gates full", "", "MAX_REQUEST_GATES");
		return;
	}
	table.gates[table.n_gates++] = fn;
}

int handler_run_gates(const struct request *req, struct error *err)
{
	for (size_t i = 0; i < table.n_gates; i++) {
		int rc = table.gates[i](req, err);

		if (rc < 0)
			return rc;
	}
	return 0;
}

int handler_run_startup(struct gcs *g, struct error *err)
{
	for (size_t i = 0; i < table.n_startup; i++) {
		int rc = table.startup[i].fn(g, err);

		if (rc < 0)
			return error_prefix(err, "start-up (%s)", table.startup[i].name);
	}
	return 0;
}

int handler_table_check(struct error *err)
{
	if (table.conflict[0])
		return error_set(err, ERR_FAIL, EEXIST, "handler table: %s", table.conflict);
	return 0;
}

const struct handler *handler_find(uint32_t type, enum handler_scope scope)
{
	const struct handler *any = NULL;

	for (size_t i = 0; i < table.n_handlers; i++) {
		const struct handler *h = table.handlers[i];

		if (h->type != type)
			continue;
		if (h->scope == scope)
			return h;
		if (h->scope == SCOPE_ANY)
			any = h;
	}
	return any;
}

const struct modify_handler *modify_handler_find(const char *resource_type,
						 enum handler_scope scope)
{
	const struct modify_handler *any = NULL;

	for (size_t i = 0; i < table.n_modify; i++) {
		const struct modify_handler *h = table.modify[i];

		if (strcmp(h->resource_type, resource_type) != 0)
			continue;
		if (h->scope == scope)
			return h;
		if (h->scope == SCOPE_ANY)
			any = h;
	}
	return any;
}

void handler_dump_sections(struct gcs *g, struct printbuf *pb)
{
	for (size_t i = 0; i < table.n_dumps; i++)
		table.dumps[i](g, pb);
}

uvm_process_list_fn handler_uvm_process_list(void)
{
	return table.uvm_process_list;
}

enum handler_scope handler_scope_of(const char *container_id)
{
	return wire_is_uvm_id(container_id) ? SCOPE_UVM : SCOPE_CONTAINER;
}

const char *handler_scope_name(enum handler_scope scope)
{
	switch (scope) {
	case SCOPE_UVM:
		return "the utility VM";
	case SCOPE_CONTAINER:
		return "containers";
	default:
		return "any id";
	}
}
