/* chronyd under the gcs: started once the clock is found, restarted with a
 * growing delay whenever it exits, its output relayed into the gcs log. All
 * of it runs on the loop thread. */
#include "timesync/timesync.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/child_exec.h"
#include "core/json_file.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/tool_run.h"

#define LINE_MAX_BYTES 512

static struct {
	struct loop *loop;
	char program[PATH_MAX];
	char conf[PATH_MAX];
	unsigned first_ms;
	pid_t pid;
	uint64_t started_ms;
	unsigned failures;
	struct loop_timer *restart;
	int out;
	struct loop_watch *watch;
	char line[LINE_MAX_BYTES];
	size_t len;
	bool stopping;
} cs = {.out = -1};

static void spawn(struct loop *l, void *data);

static void log_line(void)
{
	cs.line[cs.len] = '\0';
	if (cs.len)
		log_fields(LOG_INFO, LOG_FIELDS(LOG_STR("process", "chronyd")), "%s", cs.line);
	cs.len = 0;
}

static void close_output(void)
{
	if (cs.len)
		log_line();
	loop_watch_remove(cs.watch);
	cs.watch = NULL;
	if (cs.out >= 0)
		close(cs.out);
	cs.out = -1;
}

/* chronyd -d writes its log to stderr: each line becomes a log line. */
static void on_output(struct loop *l, int fd, uint32_t events, void *data)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close_output();
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || cs.len == sizeof(cs.line) - 1)
			log_line();
		if (buf[i] != '\n')
			cs.line[cs.len++] = buf[i];
	}
}

static void describe(int status, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else if (WEXITSTATUS(status) == 127)
		snprintf(buf, size, "could not be executed (exit status 127)");
	else
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
}

static void schedule_restart(const char *why)
{
	unsigned delay;

	if (cs.stopping)
		return;
	if (cs.started_ms && loop_now_ms() - cs.started_ms >= TIMESYNC_HEALTHY_RUN_MS)
		cs.failures = 0;
	delay = timesync_backoff_ms(cs.first_ms, cs.failures++);
	log_fields(LOG_WARN,
		   LOG_FIELDS(LOG_STR("process", "chronyd"), LOG_UINT("restartInMs", delay),
			      LOG_UINT("failures", cs.failures)),
		   "chronyd %s: restarting it in %u ms", why, delay);
	cs.restart = loop_timer_add(cs.loop, delay, spawn, NULL);
	if (!cs.restart)
		log_error("chronyd will not be restarted: out of memory");
}

static void on_exit_status(struct loop *l, pid_t pid, int status, void *data)
{
	char why[64], msg[96];

	cs.pid = 0;
	describe(status, why, sizeof(why));
	snprintf(msg, sizeof(msg), "exited (%s)", why);
	schedule_restart(msg);
}

/* Between fork and exec: async-signal-safe calls only. */
static void child(int out, int maxfd, char *const argv[])
{
	int fds[3] = {open("/dev/null", O_RDONLY | O_CLOEXEC), out, out};

	child_reset_signals();
	child_restore_fd_limit();
	if (fds[0] < 0 || child_setup_stdio(fds) < 0)
		_exit(126);
	child_close_range(3, ~0U, maxfd);
	execv(argv[0], argv);
	_exit(127);
}

static int start_child(struct error *e)
{
	char *argv[] = {cs.program, "-d", "-f", cs.conf, NULL};
	int p[2], maxfd = (int)sysconf(_SC_OPEN_MAX);
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return error_errno(e, errno, "chronyd output pipe");
	loop_child_begin(cs.loop);
	pid = fork();
	if (pid == 0)
		child(p[1], maxfd, argv);
	loop_child_end(cs.loop, pid);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return error_errno(e, errno, "fork chronyd");
	}
	cs.pid = pid;
	cs.started_ms = loop_now_ms();
	cs.out = p[0];
	fcntl(cs.out, F_SETFL, O_NONBLOCK);
	cs.watch = loop_watch_add(cs.loop, cs.out, EPOLLIN, on_output, NULL, e);
	if (!cs.watch)
		close_output(); /* its output is lost, not chronyd */
	if (loop_child_watch(cs.loop, pid, on_exit_status, NULL, e) < 0) {
		kill(pid, SIGKILL);
		return -EIO;
	}
	log_fields(LOG_INFO, LOG_FIELDS(LOG_STR("process", "chronyd"), LOG_INT("pid", pid)),
		   "chronyd started: %s -d -f %s", cs.program, cs.conf);
	return 0;
}

static void spawn(struct loop *l, void *data)
{
	struct error e;

	cs.restart = NULL;
	close_output(); /* the last run's, if its writer outlived it */
	if (start_child(&e) < 0)
		schedule_restart(e.msg);
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

int timesync_start(struct loop *l, struct error *e)
{
	const char *dir = env_or("LCOW_CHRONYD_DIR", "/run/gcs");
	char dev[PATH_MAX], pid_file[PATH_MAX], text[1024];
	int n;

	if (timesync_find_clock(env_or("LCOW_SYSFS_ROOT", "/sys"), dev, sizeof(dev), e) < 0) {
		log_fields(LOG_WARN, LOG_FIELDS(LOG_STR("process", "chronyd")),
			   "time sync not started, the UVM clock runs free: %s", e->msg);
		return 0;
	}
	if (tool_find_program(env_or("LCOW_CHRONYD", "chronyd"), cs.program, sizeof(cs.program)) <
	    0)
		return error_set(e, ERR_FAIL, ENOENT, "time sync: no chronyd in the image");
	if (snprintf(cs.conf, sizeof(cs.conf), "%s/chronyd.conf", dir) >= (int)sizeof(cs.conf) ||
	    snprintf(pid_file, sizeof(pid_file), "%s/chronyd.pid", dir) >= (int)sizeof(pid_file))
		return error_set(e, ERR_FAIL, ENAMETOOLONG, "time sync: %s: too long", dir);
	n = timesync_chronyd_config(dev, pid_file, text, sizeof(text));
	if (n < 0)
		return error_set(e, ERR_FAIL, -n, "time sync: configuration too long");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return error_errno(e, errno, "time sync: create %s", dir);
	if (file_write_atomic(cs.conf, text, (size_t)n, 0644, e) < 0)
		return error_prefix(e, "time sync");
	cs.loop = l;
	cs.first_ms = (unsigned)strtoul(env_or("LCOW_CHRONYD_BACKOFF_MS", "0"), NULL, 10);
	if (!cs.first_ms)
		cs.first_ms = TIMESYNC_BACKOFF_FIRST_MS;
	log_fields(LOG_INFO, LOG_FIELDS(LOG_STR("process", "chronyd"), LOG_STR("clock", dev)),
		   "time sync on the %s PTP clock %s", TIMESYNC_CLOCK_NAME, dev);
	spawn(l, NULL);
	return 0;
}

void timesync_stop(void)
{
	cs.stopping = true;
	loop_timer_cancel(cs.restart);
	cs.restart = NULL;
	if (cs.pid > 0) {
		loop_child_unwatch(cs.loop, cs.pid);
		kill(cs.pid, SIGTERM);
	}
	close_output();
}
