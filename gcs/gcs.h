/* The state every handler may reach: the event loop, the bridge (for
 * container notifications), the transport (for stdio and 9P dials) and the
 * command-line options. One instance, built by main.c. */
#ifndef GCS_GCS_H
#define GCS_GCS_H

#include "transport.h"

struct loop;
struct bridge;
struct gcs_options;

struct gcs {
	struct loop *loop;
	struct bridge *bridge;
	struct transport transport;
	const struct gcs_options *opts;
};

#endif
