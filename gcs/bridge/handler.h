/* Handler registration: one table mapping a message type (and the scope of
 * its ContainerId) to a handler. Each handler family lives in its own file
 * (gcs/handlers/<family>.c) and registers itself at program start with the
 * macros below, so adding handlers needs no change to the bridge:
 *
 *   static int handle_wait(struct request *req, struct error *err)
 *   {
 *           const Gcs__ContainerWaitForProcess *m = (const void *)req->msg;
 *           ...
 *           return REQUEST_PENDING;        // see request.h
 *   }
 *   HANDLER(MSG_WAIT_FOR_PROCESS, SCOPE_UVM, gcs__container_wait_for_process, handle_wait)
 *
 * Scope: SCOPE_UVM matches requests whose ContainerId is the null GUID,
 * SCOPE_CONTAINER every other id, SCOPE_ANY both; a scoped handler wins over
 * SCOPE_ANY. A message type with no handler for the request's scope is
 * answered E_NOTIMPL "<Name> ...: not implemented yet". The body is decoded
 * as `desc` before the handler runs (invalid JSON never reaches a handler);
 * free-form parts (gcs.Json fields) are json-c trees: codec_json_tree().
 *
 * ModifySettings is dispatched once more, by Request.ResourceType:
 *
 *   static int modify_vpci(struct request *req, const Gcs__ModificationRequest *mr,
 *                          struct error *err);
 *   MODIFY_HANDLER("VPCIDevice", SCOPE_UVM, modify_vpci)
 *
 * RequestType is normalised ("" becomes "Add") before the handler runs.
 *
 * Other extension points:
 *   DUMP_SECTION(fn)        fn(gcs, printbuf) adds text to DumpStacks
 *   UVM_PROCESS_LIST(fn)    fn(gcs, arena, &pids, &n, err) lists the UVM's own
 *                           processes for GetProperties(ProcessList) on the UVM
 *   STARTUP_HOOK(fn)        fn(gcs, err) runs once at start-up, on the loop
 *                           thread, after the loop and the bridge exist and
 *                           before the bridge dials (cgroups, timers); an
 *                           error stops the gcs
 *   REQUEST_GATE(fn)        fn(req, err) runs before every handler, with the
 *                           body decoded; an error refuses the request (the
 *                           initial security-policy stance)
 *
 * Registration happens in constructors, so the gcs binary links every gcs
 * object file (gcs/gcs.mk), not an archive. */
#ifndef GCS_BRIDGE_HANDLER_H
#define GCS_BRIDGE_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/printbuf.h>
#include <protobuf-c/protobuf-c.h>

#include "core/arena.h"
#include "error.h"
#include "gcs.h"
#include "gcs.pb-c.h"
#include "bridge/request.h"
#include "bridge/wire.h"

enum handler_scope {
	SCOPE_ANY,
	SCOPE_UVM,
	SCOPE_CONTAINER
};

typedef int (*handler_fn)(struct request *req, struct error *err);
typedef int (*modify_fn)(struct request *req, const Gcs__ModificationRequest *mr,
			 struct error *err);
typedef void (*dump_fn)(struct gcs *g, struct printbuf *pb);
typedef int (*uvm_process_list_fn)(struct gcs *g, struct arena *a, uint32_t **pids, size_t *n,
				   struct error *err);
typedef int (*startup_fn)(struct gcs *g, struct error *err);
typedef int (*request_gate_fn)(const struct request *req, struct error *err);

struct handler {
	uint32_t type;
	enum handler_scope scope;
	const ProtobufCMessageDescriptor *request;
	handler_fn fn;
	const char *name;
};

struct modify_handler {
	const char *resource_type;
	enum handler_scope scope;
	modify_fn fn;
	const char *name;
};

void handler_register(const struct handler *h);
void modify_handler_register(const struct modify_handler *h);
void dump_section_register(dump_fn fn);
void uvm_process_list_register(uvm_process_list_fn fn);
void startup_hook_register(startup_fn fn, const char *name);
void request_gate_register(request_gate_fn fn);

/* Fails when two registrations collided or a table overflowed (checked once
 * at start-up; the gcs refuses to run with an ambiguous table). */
int handler_table_check(struct error *err);

const struct handler *handler_find(uint32_t type, enum handler_scope scope);
const struct modify_handler *modify_handler_find(const char *resource_type,
						 enum handler_scope scope);
void handler_dump_sections(struct gcs *g, struct printbuf *pb);
uvm_process_list_fn handler_uvm_process_list(void);
/* Runs the STARTUP_HOOKs in registration order; stops at the first error. */
int handler_run_startup(struct gcs *g, struct error *err);
/* Runs the REQUEST_GATEs; the first that refuses the request decides. */
int handler_run_gates(const struct request *req, struct error *err);

enum handler_scope handler_scope_of(const char *container_id);
const char *handler_scope_name(enum handler_scope scope);

#define HANDLER(msg_type, scope_, desc_prefix, fn_)                                                \
	static const struct handler handler_def_##fn_ = {                                          \
		.type = (msg_type),                                                                \
		.scope = (scope_),                                                                 \
		.request = &desc_prefix##__descriptor,                                             \
		.fn = (fn_),                                                                       \
		.name = #fn_,                                                                      \
	};                                                                                         \
	__attribute__((constructor)) static void handler_reg_##fn_(void)                           \
	{                                                                                          \
		handler_register(&handler_def_##fn_);                                              \
	}

#define MODIFY_HANDLER(resource_type_, scope_, fn_)                                                \
	static const struct modify_handler modify_def_##fn_ = {                                    \
		.resource_type = (resource_type_),                                                 \
		.scope = (scope_),                                                                 \
		.fn = (fn_),                                                                       \
		.name = #fn_,                                                                      \
	};                                                                                         \
	__attribute__((constructor)) static void modify_reg_##fn_(void)                            \
	{                                                                                          \
		modify_handler_register(&modify_def_##fn_);                                        \
	}

#define DUMP_SECTION(fn_)                                                                          \
	__attribute__((constructor)) static void dump_reg_##fn_(void)                              \
	{                                                                                          \
		dump_section_register(fn_);                                                        \
	}

#define UVM_PROCESS_LIST(fn_)                                                                      \
	__attribute__((constructor)) static void uvm_plist_reg_##fn_(void)                         \
	{                                                                                          \
		uvm_process_list_register(fn_);                                                    \
	}

#define STARTUP_HOOK(fn_)                                                                          \
	__attribute__((constructor)) static void startup_reg_##fn_(void)                           \
	{                                                                                          \
		startup_hook_register(fn_, #fn_);                                                  \
	}

#define REQUEST_GATE(fn_)                                                                          \
	__attribute__((constructor)) static void gate_reg_##fn_(void)                              \
	{                                                                                          \
		request_gate_register(fn_);                                                        \
	}

#endif
