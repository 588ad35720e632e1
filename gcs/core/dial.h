/* Dialling the host: "vsock port P" through the transport (AF_VSOCK CID 2 in
 * the VM, the unix socket "<prefix>_<P>" off-VM). Used for the bridge, the
 * stdio relays of processes (ports from VsockStdioRelaySettings) and 9P
 * shares (MappedDirectory.Port). The guest never listens.
 *
 * Blocking (a vsock connect waits for the host's accept): call it from a
 * worker job (loop_job), not from the loop thread. */
#ifndef GCS_CORE_DIAL_H
#define GCS_CORE_DIAL_H

#include <stdint.h>

#include "error.h"
#include "transport.h"

#define DIAL_RETRIES 10
#define DIAL_RETRY_MS 100

/* Returns a connected CLOEXEC blocking stream fd, or a negative errno with
 * err set ("dial vsock:2:1073741825: Connection refused"). Retries
 * ETIMEDOUT up to DIAL_RETRIES times, DIAL_RETRY_MS apart, as the reference
 * does; other errors are returned at once. */
int gcs_dial(const struct transport *t, uint32_t port, struct error *err);

#endif
