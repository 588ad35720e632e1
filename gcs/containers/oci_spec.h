/* Preparing the OCI spec of Create (spec §3.2, §6.1) and the OciProcess of an
 * exec (§3.4 case 3) on their json-c trees, and writing them into the bundle.
 *
 * Only the values the guest means to change are touched: everything else,
 * including uint64 values such as 18446744073709551615, is written back
 * exactly as it was received. Functions touch only the trees and files they
 * are given (a tree must not be used by two threads at once). */
#ifndef GCS_OCI_SPEC_H
#define GCS_OCI_SPEC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "core/json_file.h"
#include "error.h"
#include "network/dns.h"

/* Annotations the guest reads. */
#define OCI_ANN_CONTAINER_TYPE "io.kubernetes.cri.container-type"
#define OCI_ANN_SANDBOX_ID "io.kubernetes.cri.sandbox-id"
#define OCI_ANN_SHM_SIZE_KB "io.microsoft.lcow.shm.size-kb"
#define OCI_ANN_RLIMIT_CORE "io.microsoft.lcow.rlimitcore"
#define OCI_ANN_HOST_NETWORK "io.microsoft.virtualmachine.lcow.hostnetwork"

#define OCI_ID_MAX 256

enum oci_kind {
	OCI_STANDALONE,
	OCI_SANDBOX,  /* CRI pod sandbox (pause) container */
	OCI_WORKLOAD, /* CRI container inside a sandbox */
};

struct oci_class {
	enum oci_kind kind;
	/* sandbox: its own id; workload: the id of its sandbox; standalone: "". */
	char sandbox_id[OCI_ID_MAX];
};

/* Classifies a Create by its annotations (§3.2 step 2). A workload without a
 * sandbox id, a sandbox whose sandbox-id annotation names another container
 * or an unknown container-type is ERR_INVALID_ARG. */
int oci_spec_classify(struct json_object *spec, const char *id, struct oci_class *out,
		      struct error *e);

struct oci_prepare_opts {
	const char *id;
	const char *bundle; /* OciBundlePath: hostname/hosts/resolv.conf go here */
	struct oci_class cls;
	/* Workload only: the bundle dir of its sandbox, whose hostname, hosts,
	 * resolv.conf, sandboxMounts/, sandboxTmpfsMounts/ the workload uses. */
	const char *sandbox_root;
	/* cgroupsPath parent: "/pods" (HEAD) or "/containers" (v0.11), with
	 * the configured prefix (cgroup_parent_path()). */
	const char *cgroup_parent;
	/* HEAD layout: sandbox and workloads live in <parent>/<sbid>/<id>;
	 * false gives <parent>/<id> for every container (v0.11, opengcs). */
	bool cgroup_per_pod;
	/* The UVM's device nodes (privileged workloads, linux.devices);
	 * NULL = "/dev". */
	const char *dev_root;
	/* Hostname used when the spec has none; NULL = gethostname(). */
	const char *uvm_hostname;
	struct net_dns dns;
	/* Workload only: its sandbox has the hostnetwork annotation (a
	 * workload's own is ignored, as in the reference's hcsv2/uvm.go). */
	bool sandbox_host_network;
};

struct oci_prepared {
	char cgroups_path[PATH_MAX];
	/* windows.network.networkNamespace before `windows` was removed. */
	char network_namespace[OCI_ID_MAX];
	char rootfs[PATH_MAX]; /* root.path, absolute */
	bool terminal;	       /* process.terminal: use a console socket */
	/* The container gets its own pid namespace: the kernel kills its
	 * processes when init exits, so no `runc kill --all` is needed. */
	bool new_pid_ns;
	bool has_username; /* process.user.username was set (exec inherits it) */
	/* The sources of sandbox:// and sandbox-tmp:// mounts: each, as the
	 * walk that checked it found it, bind-mounted by the gcs at
	 * <bundle>/sources/<n>, the path runc gets. A workload can change the
	 * shared volume, not the bundle, so runc mounts exactly what was
	 * checked. Undone by oci_prepared_release() once runc has mounted. */
	char **bound;
	size_t n_bound;
	/* A sandbox: its shared directories are mounted (sandbox_mounts.h);
	 * a failed Create or the Delete unmounts them. */
	bool sandbox_mounts;
};

/* Prepares the spec of a Create in place (§6.1):
 * - hostname validated (a workload must not set one); `windows` removed;
 * - standalone/sandbox: <bundle>/hostname, hosts, resolv.conf written and
 *   bind-mounted on /etc/... (read-only with a read-only rootfs) unless the
 *   spec mounts those paths already; workload: the sandbox's files mounted;
 * - sandbox: <bundle>/sandboxMounts, sandboxTmpfsMounts, hugepages (rshared
 *   mounts, see sandbox_mounts.h) and logs made;
 * - mount sources sandbox://X, sandbox-tmp://X (created 0777, bound: see
 *   `bound`), hugepages://<size>/<sub> (a hugetlbfs mount, workloads only),
 *   uvm://X (must exist) rewritten; blockdev:// destinations get a device
 *   cgroup rule (read-only mounts: "r");
 * - annotations: shm size, core rlimit, host network;
 * - workload: privileged annotation / linux.devices (devices.h);
 * - linux.cgroupsPath set; process.user.username resolved in the rootfs;
 * - process.cwd created inside the rootfs (best effort, as runc needs it).
 * Fills *out. The caller writes the result with json_file_write(). */
int oci_spec_prepare(struct json_object *spec, const struct oci_prepare_opts *o,
		     struct oci_prepared *out, struct error *e);

/* Unmounts and removes what prepare bound for runc (its own mounts keep
 * what they show); the struct may be copied after. */
void oci_prepared_release(struct oci_prepared *p);

/* Prepares an exec'd OciProcess in place (§3.4 case 3): the container's
 * rlimits are inherited (types the process sets itself are kept), and
 * user.username is resolved in `rootfs`, or, when the process names no user
 * and the container had a username, the container's resolved user is used. */
int oci_process_prepare(struct json_object *process, struct json_object *container_spec,
			const char *rootfs, struct error *e);

/* The contents of /etc/hosts for `hostname` and of resolv.conf for `dns`
 * (exposed for tests); return the length or a negative errno. */
int oci_hosts_content(const char *hostname, char *buf, size_t size, struct error *e);
int oci_resolv_content(const struct net_dns *dns, char *buf, size_t size, struct error *e);

/* process.terminal as the gcs and runc read it (a boolean; anything else
 * is refused by the prepare functions). */
bool oci_process_terminal(struct json_object *process);

/* The spec's hostnetwork annotation is true, read as Go's strconv.ParseBool
 * (1, t, T, TRUE, true, True; anything else is false): the container runs
 * in the UVM's network namespace. */
bool oci_host_network(struct json_object *spec);

/* hostname matches ^[a-zA-Z0-9_\-\.]{0,255}$ */
bool oci_hostname_valid(const char *hostname);

#endif
