/* gcs: the guest compute service. Parses hcsshim's command line, sets up
 * logging, the event loop and the bridge, and serves until SIGTERM/SIGINT
 * (or, with -use-inouterr, until stdin ends). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "boottime.h"
#include "bridge/bridge.h"
#include "core/crash.h"
#include "gcs.h"
#include "bridge/handler.h"
#include "core/kmsg.h"
#include "core/log.h"
#include "core/loop.h"
#include "options.h"
#include "timesync/timesync.h"

#define EXIT_USAGE 2

/* Linked only into the test binary gcs-testhooks (gcs/testhooks.c). */
int gcs_testhooks_start(struct gcs *g, struct error *err) __attribute__((weak));

static void print_usage(const char *prog, bool as_error)
{
	char *usage = gcs_options_usage(prog);

	if (!usage)
		return;
	if (log_get_format() == LOG_FORMAT_JSON)
		log_fields(as_error ? LOG_ERROR : LOG_INFO, NULL, 0, "%s", usage);
	else if (write(2, usage, strlen(usage)) < 0) {
		/* nowhere else to say it */
	}
	free(usage);
}

/* Command-line errors are reported in the format asked for, before the full
 * log setup: a json-mode host must not see a plain-text line. */
static int parse_options(int argc, char **argv, struct gcs_options *o)
{
	struct error err;
	int rc;

	log_configure(gcs_options_want_json(argc, argv) ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT,
		      LOG_TRACE, 2);
	rc = gcs_options_parse(argc, argv, o, &err);
	if (rc == -EAGAIN) {
		print_usage(argv[0], false);
		exit(0);
	}
	if (rc == -EINVAL) {
		log_error("%s", err.msg);
		print_usage(argv[0], true);
		exit(EXIT_USAGE);
	}
	if (rc < 0) {
		log_fields(LOG_FATAL, NULL, 0, "%s", err.msg);
		exit(1);
	}
	return 0;
}

static int setup_logging(const struct gcs_options *o)
{
	struct error err;
	int fd = 2;

	if (o->logfile[0]) {
		fd = open(o->logfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			log_fields(LOG_FATAL, LOG_FIELDS(LOG_STR("path", o->logfile)),
				   "failed to create log file: %s", strerror(errno));
			return -1;
		}
	}
	log_configure(o->format, o->level, fd);
	log_set_scrub(o->scrub_logs);
	crash_install();
	if (o->format == LOG_FORMAT_JSON && log_capture_stderr(&err) < 0)
		log_warn("stray stderr output is not captured: %s", err.msg);
	if (log_writer_start(&err) < 0)
		log_warn("log lines are written by whoever logs them: %s", err.msg);
	return 0;
}

static int set_core_pattern(const char *pattern)
{
	int fd = open("/proc/sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0) {
		n = write(fd, pattern, strlen(pattern));
		close(fd);
	}
	if (n < 0) {
		log_fields(LOG_FATAL, LOG_FIELDS(LOG_STR("core-dump-location", pattern)),
			   "failed to set core dump location: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void on_terminate(struct loop *l, int signo, void *data)
{
	log_info("exiting on %s", strsignal(signo));
	loop_quit(l, 0);
}

static int setup(struct gcs *g, const struct gcs_options *o, struct error *err)
{
	struct bridge_config bc = {.v4 = o->v4, .use_stdio = o->use_inouterr, .port = BRIDGE_PORT};
	int rc;

	rc = handler_table_check(err);
	if (rc < 0)
		return rc;
	rc = transport_parse(o->transport, &g->transport);
	if (rc < 0)
		return error_set(err, ERR_INVALID_ARG, -rc,
				 "-transport %s: expected vsock or unix:<prefix>", o->transport);
	rc = loop_new(&g->loop, err);
	if (rc < 0)
		return rc;
	if (loop_signal_add(g->loop, SIGTERM, on_terminate, NULL, err) < 0 ||
	    loop_signal_add(g->loop, SIGINT, on_terminate, NULL, err) < 0)
		return -EIO;
	if (kmsg_start(g->loop, (unsigned)o->kmsg_log_level, err) < 0)
		log_warn("kernel messages are not forwarded: %s", err->msg);
	if (o->disable_time_sync)
		log_info("time sync disabled (-disable-time-sync)");
	else if (timesync_start(g->loop, err) < 0)
		log_error("time sync not started: %s", err->msg);
	rc = bridge_new(g, &bc, &g->bridge, err);
	if (rc < 0)
		return rc;
	/* The dial (a job) runs while the start-up hooks do (the containers'
	 * cgroups take the longest): nothing the host sends is read before
	 * the loop runs, after them. */
	rc = bridge_start(g->bridge, err);
	if (rc < 0)
		return rc;
	rc = handler_run_startup(g, err);
	if (rc < 0)
		return rc;
	if (gcs_testhooks_start)
		rc = gcs_testhooks_start(g, err);
	return rc;
}

/* With the boot stamps bench-vm splits the boot by (guest clock, µs):
 * init's start and steps as init passed them, if it did, and ours, taken
 * first thing in main (started_ns), before the logging is set up. */
static void log_started(uint64_t started_ns)
{
	const char *init = getenv(BOOTTIME_INIT_ENV);
	const char *steps = getenv(BOOTTIME_STEPS_ENV);
	uint64_t now = started_ns / 1000;

	if (init) {
		log_fields(LOG_INFO,
			   LOG_FIELDS(LOG_INT("pid", getpid()), LOG_UINT("boottimeUs", now),
				      LOG_UINT("initStartedUs", strtoull(init, NULL, 10) / 1000),
				      LOG_STR("initStepsUs", steps ? steps : "")),
			   "GCS started");
		unsetenv(BOOTTIME_INIT_ENV);
		unsetenv(BOOTTIME_STEPS_ENV);
		return;
	}
	log_fields(LOG_INFO, LOG_FIELDS(LOG_INT("pid", getpid()), LOG_UINT("boottimeUs", now)),
		   "GCS started");
}

int main(int argc, char **argv)
{
	uint64_t started_ns = boottime_ns();
	struct gcs_options opts;
	struct gcs g = {.opts = &opts};
	struct error err;
	int rc;

	parse_options(argc, argv, &opts);
	if (setup_logging(&opts) < 0)
		return 1;
	/* Writes to a closed bridge or stdio socket must fail with EPIPE, not
	 * kill the gcs. Children must restore SIGPIPE before exec. */
	signal(SIGPIPE, SIG_IGN);
	log_started(started_ns);
	gcs_options_log(&opts);
	for (int i = opts.first_arg; i < argc; i++)
		log_warn("ignoring argument %s", argv[i]);
	if (opts.core_dump_location[0] && set_core_pattern(opts.core_dump_location) < 0)
		return 1;
	/* Orphaned container processes are re-parented to the gcs, whose
	 * reaper collects them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("cannot become a child subreaper: %s", strerror(errno));

	rc = setup(&g, &opts, &err);
	if (rc < 0) {
		log_fields(LOG_FATAL, NULL, 0, "%s", err.msg);
		rc = 1;
	} else {
		rc = loop_run(g.loop);
		if (rc < 0) {
			log_fields(LOG_FATAL, NULL, 0, "event loop: %s", strerror(-rc));
			rc = 1;
		}
	}
	bridge_shutdown(g.bridge);
	timesync_stop();
	kmsg_stop();
	loop_free(g.loop);
	bridge_free(g.bridge);
	log_info("gcs exiting with status %d", rc);
	return rc;
}
