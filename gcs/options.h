/* The gcs command line, compatible with hcsshim's (spec §1.5), plus
 * -transport (vsock | unix:<prefix>) for running off-VM. */
#ifndef GCS_OPTIONS_H
#define GCS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "core/log.h"

struct gcs_options {
	bool v4;
	bool use_inouterr;
	bool disable_time_sync;
	bool scrub_logs;
	const char *loglevel;
	const char *logfile;
	const char *log_format;
	const char *core_dump_location;
	const char *initial_policy_stance;
	const char *transport;
	uint64_t kmsg_log_level;
	uint64_t root_mem_reserve_bytes;
	uint64_t gcs_mem_limit_bytes;
	/* derived */
	enum log_level level;
	enum log_format format;
	int first_arg; /* index of the first positional argument */
};

/* Flag syntax errors: -EINVAL (exit 2); -h/-help: -EAGAIN; invalid values
 * of -loglevel, -log-format, -initial-policy-stance: -EDOM (the reference
 * exits 1 through logrus.Fatal). */
int gcs_options_parse(int argc, char **argv, struct gcs_options *o, struct error *err);
/* Malloc'ed usage text. */
char *gcs_options_usage(const char *prog);
/* Whether argv asks for -log-format json, read before full parsing so that
 * even a flag error is reported as a JSON line. */
bool gcs_options_want_json(int argc, char **argv);
/* Logs every option and what this gcs does with it. */
void gcs_options_log(const struct gcs_options *o);

#endif
