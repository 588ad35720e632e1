/* /init: PID 1 of the LCOW utility VM.
 *
 * It mounts the pseudo filesystems, picks the cgroup version, brings lo up,
 * loads the kernel modules the devices need, mounts the initrd's compressed
 * tools (tools.c), seeds the entropy pool from the host, starts the command
 * line hcsshim put
 * after "--" on the kernel command line (normally vsockexec + gcs), and then
 * only reaps children until that primary child exits. See guest-image.md §2
 * for the contract this follows. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot.h"
#include "boottime.h"
#include "cgroups.h"
#include "child.h"
#include "cleanup.h"
#include "klog.h"
#include "options.h"
#include "steps.h"

#define NOFLAGS (MS_NODEV | MS_NOSUID | MS_NOEXEC)
#define OVER "/run/over"

/* A soft limit of 1024 keeps select()-era software working; the large hard
 * limit lets the GCS and containers raise their own (4096 is the kernel's
 * historic default and too low for some). */
static int raise_nofile(const struct init_options *o)
{
	struct rlimit rl = {.rlim_cur = 1024, .rlim_max = 1024 * 1024};
	int r;

	(void)o;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		return 0;
	/* Without CAP_SYS_RESOURCE the hard limit stays; the soft one is
	 * still ours to set. */
	r = -errno;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max < 1024 ? rl.rlim_max : 1024;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return r;
}

static const struct boot_op boot_ops[] = {
	BOOT_STEP_OP(raise_nofile, BOOT_NONFATAL),
	BOOT_MOUNT_OP("dev", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, NULL, BOOT_OK_EBUSY),
	BOOT_STEP_OP(init_console_stdio, BOOT_NONFATAL),
	/* The mount points below are part of the image; only /dev's
	 * subdirectories are made here (devtmpfs starts without them). */
	BOOT_MOUNT_OP("proc", "/proc", "proc", NOFLAGS, NULL, 0),
	BOOT_SYMLINK_OP("/proc/self/fd", "/dev/fd"),
	BOOT_SYMLINK_OP("/proc/self/fd/0", "/dev/stdin"),
	BOOT_SYMLINK_OP("/proc/self/fd/1", "/dev/stdout"),
	BOOT_SYMLINK_OP("/proc/self/fd/2", "/dev/stderr"),
	BOOT_MOUNT_OP("tmpfs", "/run", "tmpfs", NOFLAGS, "mode=0755", 0),
	BOOT_MOUNT_OP("tmpfs", "/tmp", "tmpfs", NOFLAGS, NULL, 0),
	BOOT_MKDIR_OP("/dev/shm", 0755, 0),
	BOOT_MOUNT_OP("shm", "/dev/shm", "tmpfs", NOFLAGS, NULL, 0),
	BOOT_MKDIR_OP("/dev/pts", 0755, 0),
	BOOT_MOUNT_OP("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, NULL, 0),
	BOOT_MOUNT_OP("sysfs", "/sys", "sysfs", NOFLAGS, NULL, 0),
	/* -w: a read-only VHD root gets writable /etc and /var, backed by a
	 * tmpfs of its own, capped so that it cannot crowd /run out. */
	BOOT_MKDIR_OP(OVER, 0755, BOOT_IF_OVERLAY),
	BOOT_MOUNT_OP("tmpfs", OVER, "tmpfs", NOFLAGS, "size=40%,mode=0755", BOOT_IF_OVERLAY),
	BOOT_MKDIR_OP(OVER "/etc", 0755, BOOT_IF_OVERLAY),
	BOOT_MKDIR_OP(OVER "/etc/upper", 0755, BOOT_IF_OVERLAY),
	BOOT_MKDIR_OP(OVER "/etc/work", 0755, BOOT_IF_OVERLAY),
	BOOT_MOUNT_OP("overlay", "/etc", "overlay", NOFLAGS,
		      "lowerdir=/etc,upperdir=" OVER "/etc/upper,workdir=" OVER "/etc/work",
		      BOOT_IF_OVERLAY),
	BOOT_MKDIR_OP(OVER "/var", 0755, BOOT_IF_OVERLAY),
	BOOT_MKDIR_OP(OVER "/var/upper", 0755, BOOT_IF_OVERLAY),
	BOOT_MKDIR_OP(OVER "/var/work", 0755, BOOT_IF_OVERLAY),
	/* /var keeps exec: software installed there must run. */
	BOOT_MOUNT_OP("overlay", "/var", "overlay", MS_NODEV | MS_NOSUID,
		      "lowerdir=/var,upperdir=" OVER "/var/upper,workdir=" OVER "/var/work",
		      BOOT_IF_OVERLAY),
	/* Each background step runs on a thread of its own (boot.h) until
	 * a join; what runs alongside does not depend on it. The cgroups'
	 * mount mostly waits for RCU; lo, the tools and the modules are CPU
	 * work that a second vCPU (hcsshim gives two) shares out. */
	BOOT_STEP_OP(init_cgroups_setup, BOOT_BACKGROUND),
	BOOT_STEP_OP(init_loopback_up, BOOT_BACKGROUND),
	/* Alongside the modules when the kernel has loop and squashfs built
	 * in; otherwise deferred to after them (steps.h). Before the gcs,
	 * which execs what is in it. */
	BOOT_STEP_OP(init_tools_mount, BOOT_BACKGROUND | BOOT_NONFATAL),
	/* Before the first vsock dial: the transport may be a module (virtio
	 * vsock under QEMU; hv_sock in some vendor kernels). */
	BOOT_STEP_OP(init_modules_load, BOOT_NONFATAL),
	BOOT_JOIN_OP("modules"),
	BOOT_STEP_OP(init_tools_mount_deferred, BOOT_BACKGROUND | BOOT_NONFATAL),
	/* After the modules (the vsock transport). A host that sends
	 * nothing costs entropy, not the VM. */
	BOOT_STEP_OP(init_entropy_seed, BOOT_IF_ENTROPY | BOOT_NONFATAL),
	/* Everything is in place before the gcs starts. */
	BOOT_JOIN_OP("gcs"),
};

/* How the VM stops once init is done.
 *
 * hcsshim's init returns from main: PID 1 exiting panics the kernel, and
 * hcsshim's "panic=-1" turns the panic into a reset that HCS (StopOnReset)
 * treats as the VM stopping. We power off instead: the VM stops the same
 * way, but without a panic in the log and without depending on panic=-1
 * being on the command line (the console form drops it). If power-off is
 * refused, returning (and so the panic) is the backstop.
 *
 * In a PID namespace (the tests) reboot() ends the namespace instead: its
 * init is killed by SIGINT, which its parent sees. */
static int finish(int code)
{
	if (getpid() != 1)
		return code;
	klog(KLOG_NOTICE, "powering off (exit status %d)", code);
	sync();
	reboot(RB_POWER_OFF);
	klog(KLOG_ERR, "power-off failed: %s; exiting instead", strerror(errno));
	return code;
}

static void report_primary(const char *name, int status)
{
	if (WIFSIGNALED(status))
		klog(KLOG_NOTICE, "primary child %s killed by signal %d (%s)", name,
		     WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		klog(KLOG_NOTICE, "primary child %s exited with status %d", name,
		     init_exit_code(status));
}

static void log_command(char *const argv[])
{
	char line[256];
	size_t len = 0;

	line[0] = '\0';
	for (; argv && *argv && len + 1 < sizeof(line); argv++)
		len += snprintf(line + len, sizeof(line) - len, "%s%s", len ? " " : "", *argv);
	klog(KLOG_INFO, "starting %s", line);
}

/* When init began and what its steps took, for the child's log
 * (boottime.h). */
static char started_env[64];
static char steps_env[512];

/* Starts the command line and the debug shell; returns the primary pid. */
static pid_t start_children(const struct init_options *o, pid_t *other)
{
	char *envp[6];
	char *shell[2] = {(char *)o->debug_shell, NULL};
	size_t n = strlen(BOOTTIME_STEPS_ENV "=");
	pid_t pid = 0;

	memcpy(steps_env, BOOTTIME_STEPS_ENV "=", n);
	init_boot_times(steps_env + n, sizeof(steps_env) - n);
	init_child_env(envp, ARRAY_SIZE(envp) - 2);
	for (size_t i = 0; i + 2 < ARRAY_SIZE(envp); i++) {
		if (!envp[i]) {
			envp[i] = started_env;
			envp[i + 1] = steps_env;
			envp[i + 2] = NULL;
			break;
		}
	}
	*other = 0;
	if (o->child_argv) {
		log_command(o->child_argv);
		pid = init_launch(o->child_argv, envp);
		if (pid < 0 || !o->debug_shell)
			return pid;
		*other = pid;
	}
	/* The debug shell becomes the primary child: the VM then outlives
	 * the GCS, which is the point of asking for it. */
	log_command(shell);
	return init_launch(shell, envp);
}

int main(int argc, char **argv)
{
	struct init_options o;
	char err[160];
	sigset_t all;
	pid_t primary, other;
	int status;

	snprintf(started_env, sizeof(started_env), BOOTTIME_INIT_ENV "=%llu",
		 (unsigned long long)boottime_ns());
	klog_set_ident("init");
	if (init_options_parse(argc, argv, &o, err, sizeof(err)) < 0) {
		klog(KLOG_ERR, "%s", err);
		fputs("usage: init [-e port] [-d shell] [-w] [--] command [args...]\n", stderr);
		return finish(2);
	}
	if (getpid() != 1) {
		fputs("init: must run as PID 1 (tests use a PID namespace)\n", stderr);
		return 1;
	}
	/* No handlers at all: SIGCHLD still ends wait(), everything else
	 * sent to PID 1 is held, and children unblock before exec. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (init_boot_run(boot_ops, ARRAY_SIZE(boot_ops), &o) < 0)
		return finish(1);
	primary = start_children(&o, &other);
	if (primary < 0) {
		klog(KLOG_ERR, "fork: %s", strerror(-primary));
		return finish(1);
	}
	status = init_reap_until(primary, other);
	report_primary(o.debug_shell ? o.debug_shell : o.child_argv[0], status);
	return finish(init_exit_code(status));
}
