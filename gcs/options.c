#include "options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "flags.h"

#define DEFAULT_ROOT_MEM_RESERVE (75ull << 20)
#define DEFAULT_GCS_MEM_LIMIT (50ull << 20)
#define DEFAULT_KMSG_LEVEL 4

static void defaults(struct gcs_options *o)
{
	memset(o, 0, sizeof(*o));
	o->loglevel = "debug";
	o->logfile = "";
	o->log_format = "text";
	o->core_dump_location = "";
	o->initial_policy_stance = "allow";
	o->transport = "vsock";
	o->scrub_logs = true;
	o->kmsg_log_level = DEFAULT_KMSG_LEVEL;
	o->root_mem_reserve_bytes = DEFAULT_ROOT_MEM_RESERVE;
	o->gcs_mem_limit_bytes = DEFAULT_GCS_MEM_LIMIT;
}

/* The table, in the reference's order; `value` pointers into o. */
static size_t table(struct gcs_options *o, struct flag *f)
{
	const struct flag t[] = {
		{"loglevel", FLAG_STRING, &o->loglevel,
		 "Logging Level: trace, debug, info, warning, error, fatal, panic."},
		{"core-dump-location", FLAG_STRING, &o->core_dump_location,
		 "The location/format where process core dumps will be written to."},
		{"kmsgLogLevel", FLAG_UINT64, &o->kmsg_log_level,
		 "Log all kmsg entries with a priority less than or equal to the supplied level."},
		{"logfile", FLAG_STRING, &o->logfile,
		 "Logging Target: An optional file name/path. Omit for console output."},
		{"log-format", FLAG_STRING, &o->log_format, "Logging Format: text or json"},
		{"use-inouterr", FLAG_BOOL, &o->use_inouterr,
		 "If true use stdin/stdout for bridge communication and stderr for logging"},
		{"v4", FLAG_BOOL, &o->v4, "enable the v4 protocol support and v2 schema"},
		{"root-mem-reserve-bytes", FLAG_UINT64, &o->root_mem_reserve_bytes,
		 "the amount of memory reserved for the orchestration, the rest will be assigned "
		 "to containers"},
		{"gcs-mem-limit-bytes", FLAG_UINT64, &o->gcs_mem_limit_bytes,
		 "the maximum amount of memory the gcs can use"},
		{"disable-time-sync", FLAG_BOOL, &o->disable_time_sync,
		 "If true do not run chronyd time synchronization service inside the UVM"},
		{"scrub-logs", FLAG_BOOL, &o->scrub_logs,
		 "If true, scrub potentially sensitive information from logging"},
		{"initial-policy-stance", FLAG_STRING, &o->initial_policy_stance,
		 "Stance: allow, deny."},
		{"transport", FLAG_STRING, &o->transport,
		 "Where \"vsock port P\" connections go: vsock (CID 2) or unix:<prefix> (the unix "
		 "socket <prefix>_<P>)"},
	};

	if (f)
		memcpy(f, t, sizeof(t));
	return ARRAY_SIZE(t);
}

#define MAX_FLAGS 16

int gcs_options_parse(int argc, char **argv, struct gcs_options *o, struct error *err)
{
	struct flag flags[MAX_FLAGS];
	size_t n;
	int rc;

	defaults(o);
	n = table(o, flags);
	rc = flags_parse(flags, n, argc, argv, err);
	if (rc < 0)
		return rc;
	o->first_arg = rc;
	if (log_parse_level(o->loglevel, &o->level) < 0)
		return error_set(err, ERR_INVALID_ARG, EDOM, "not a valid logrus Level: \"%s\"",
				 o->loglevel);
	if (strcmp(o->log_format, "json") == 0)
		o->format = LOG_FORMAT_JSON;
	else if (strcmp(o->log_format, "text") == 0)
		o->format = LOG_FORMAT_TEXT;
	else
		return error_set(err, ERR_INVALID_ARG, EDOM, "unknown log-format \"%s\"",
				 o->log_format);
	if (strcmp(o->initial_policy_stance, "allow") != 0 &&
	    strcmp(o->initial_policy_stance, "deny") != 0)
		return error_set(err, ERR_INVALID_ARG, EDOM, "unknown initial-policy-stance \"%s\"",
				 o->initial_policy_stance);
	return 0;
}

char *gcs_options_usage(const char *prog)
{
	struct gcs_options o;
	struct flag flags[MAX_FLAGS];

	defaults(&o);
	return flags_usage(flags, table(&o, flags), prog);
}

bool gcs_options_want_json(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-')
			break;
		a += a[1] == '-' ? 2 : 1;
		if (strcmp(a, "log-format=json") == 0)
			return true;
		if (strcmp(a, "log-format") == 0 && i + 1 < argc)
			return strcmp(argv[i + 1], "json") == 0;
	}
	return false;
}

void gcs_options_log(const struct gcs_options *o)
{
	log_fields(LOG_INFO,
		   LOG_FIELDS(LOG_BOOL("v4", o->v4), LOG_STR("loglevel", o->loglevel),
			      LOG_STR("logfile", o->logfile), LOG_STR("log-format", o->log_format),
			      LOG_BOOL("use-inouterr", o->use_inouterr),
			      LOG_UINT("kmsgLogLevel", o->kmsg_log_level),
			      LOG_STR("core-dump-location", o->core_dump_location),
			      LOG_UINT("root-mem-reserve-bytes", o->root_mem_reserve_bytes),
			      LOG_UINT("gcs-mem-limit-bytes", o->gcs_mem_limit_bytes),
			      LOG_BOOL("disable-time-sync", o->disable_time_sync),
			      LOG_BOOL("scrub-logs", o->scrub_logs),
			      LOG_STR("initial-policy-stance", o->initial_policy_stance),
			      LOG_STR("transport", o->transport)),
		   "GCS options");
	/* Accepted for command-line compatibility; its subsystem belongs to
	 * later work (the /gcs memory threshold log). -root-mem-reserve-bytes
	 * is the containers' reserve. */
	log_info("not implemented yet, accepted and ignored: -gcs-mem-limit-bytes (the /gcs "
		 "memory threshold log)");
	if (!o->v4)
		log_warn("-v4 not given: every request will be answered E_NOTIMPL");
}
