/* hcsshim-compatible command line with Go's flag syntax. */
#include "unit.h"

#include <errno.h>
#include <stdarg.h>

#include "flags.h"
#include "options.h"

/* The end of parse()'s argument list, typed as va_arg reads it. */
#define END ((char *)NULL)

static int parse(struct gcs_options *o, struct error *err, ...)
{
	char *argv[32] = {"gcs"};
	int argc = 1;
	va_list ap;

	va_start(ap, err);
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	return gcs_options_parse(argc, argv, o, err);
}

TEST(hcsshim_default_command_line)
{
	struct gcs_options o;
	struct error err;

	CHECK_OK(parse(&o, &err, "-v4", "-log-format", "json", "-loglevel", "debug", END));
	CHECK(o.v4);
	CHECK_EQ(o.format, LOG_FORMAT_JSON);
	CHECK_EQ(o.level, LOG_DEBUG);
	CHECK(o.scrub_logs); /* HEAD default */
	CHECK_EQ(o.kmsg_log_level, 4);
	CHECK(o.root_mem_reserve_bytes == 75ull << 20);
	CHECK(o.gcs_mem_limit_bytes == 50ull << 20);
	CHECK_STREQ(o.transport, "vsock");
}

TEST(every_go_flag_form_is_accepted)
{
	struct gcs_options o;
	struct error err;

	CHECK_OK(parse(&o, &err, "--v4", "-loglevel=warning", "--log-format=text",
		       "-scrub-logs=false", "-disable-time-sync", "-kmsgLogLevel", "0x7",
		       "--root-mem-reserve-bytes=1_000", "-gcs-mem-limit-bytes", "010",
		       "-core-dump-location", "/tmp/core.%p", "-initial-policy-stance=deny",
		       "-use-inouterr=true", "-logfile=/dev/null", "-transport", "unix:/tmp/x",
		       END));
	CHECK(o.v4);
	CHECK_EQ(o.level, LOG_WARN);
	CHECK_EQ(o.format, LOG_FORMAT_TEXT);
	CHECK(!o.scrub_logs);
	CHECK(o.disable_time_sync);
	CHECK_EQ(o.kmsg_log_level, 7);
	CHECK_EQ(o.root_mem_reserve_bytes, 1000);
	CHECK_EQ(o.gcs_mem_limit_bytes, 8);
	CHECK_STREQ(o.core_dump_location, "/tmp/core.%p");
	CHECK_STREQ(o.initial_policy_stance, "deny");
	CHECK(o.use_inouterr);
	CHECK_STREQ(o.logfile, "/dev/null");
	CHECK_STREQ(o.transport, "unix:/tmp/x");
}

TEST(a_bool_flag_does_not_take_the_next_argument)
{
	struct gcs_options o;
	struct error err;

	CHECK_OK(parse(&o, &err, "-v4", "false", "-loglevel", "info", END));
	CHECK(o.v4);
	CHECK_EQ(o.first_arg, 2); /* "false" is the first positional argument */
	CHECK_STREQ(o.loglevel, "debug");
}

TEST(parsing_stops_at_double_dash_or_a_plain_argument)
{
	struct gcs_options o;
	struct error err;

	CHECK_OK(parse(&o, &err, "-v4", "--", "-loglevel", "info", END));
	CHECK_EQ(o.first_arg, 3);
	CHECK_OK(parse(&o, &err, "-", "-v4", END));
	CHECK(!o.v4);
}

TEST(flag_errors_have_gos_messages)
{
	struct gcs_options o;
	struct error err;

	CHECK_EQ(parse(&o, &err, "-nosuch", END), -EINVAL);
	CHECK_STREQ(err.msg, "flag provided but not defined: -nosuch");
	CHECK_EQ(parse(&o, &err, "--scrubLogs=false", END), -EINVAL);
	CHECK_STREQ(err.msg, "flag provided but not defined: -scrubLogs");
	CHECK_EQ(parse(&o, &err, "-loglevel", END), -EINVAL);
	CHECK_STREQ(err.msg, "flag needs an argument: -loglevel");
	CHECK_EQ(parse(&o, &err, "-v4=maybe", END), -EINVAL);
	CHECK_STREQ(err.msg, "invalid boolean value \"maybe\" for -v4: parse error");
	CHECK_EQ(parse(&o, &err, "-kmsgLogLevel", "-1", END), -EINVAL);
	CHECK_EQ(parse(&o, &err, "-kmsgLogLevel=08", END), -EINVAL);
	CHECK_EQ(parse(&o, &err, "---v4", END), -EINVAL);
	CHECK_STREQ(err.msg, "bad flag syntax: ---v4");
	CHECK_EQ(parse(&o, &err, "-=x", END), -EINVAL);
}

TEST(help_is_not_an_error)
{
	struct gcs_options o;
	struct error err;

	CHECK_EQ(parse(&o, &err, "-h", END), -EAGAIN);
	CHECK_EQ(parse(&o, &err, "--help", END), -EAGAIN);
}

TEST(invalid_values_are_refused_like_logrus_fatal)
{
	struct gcs_options o;
	struct error err;

	CHECK_EQ(parse(&o, &err, "-loglevel", "loud", END), -EDOM);
	CHECK_EQ(parse(&o, &err, "-log-format", "xml", END), -EDOM);
	CHECK_EQ(parse(&o, &err, "-initial-policy-stance", "maybe", END), -EDOM);
	CHECK_OK(parse(&o, &err, "-loglevel", "WARN", END));
	CHECK_EQ(o.level, LOG_WARN);
}

TEST(json_is_detected_before_parsing)
{
	char *a1[] = {"gcs", "-v4", "-log-format", "json", "-bad"};
	char *a2[] = {"gcs", "--log-format=json"};
	char *a3[] = {"gcs", "x", "-log-format=json"};

	CHECK(gcs_options_want_json(5, a1));
	CHECK(gcs_options_want_json(2, a2));
	CHECK(!gcs_options_want_json(3, a3));
}

TEST(uint_parsing_follows_go)
{
	uint64_t v;

	CHECK_OK(flags_parse_uint64("0", &v));
	CHECK_EQ(v, 0);
	CHECK_OK(flags_parse_uint64("18446744073709551615", &v));
	CHECK(v == UINT64_MAX);
	CHECK_EQ(flags_parse_uint64("18446744073709551616", &v), -EINVAL);
	CHECK_OK(flags_parse_uint64("0b101", &v));
	CHECK_EQ(v, 5);
	CHECK_OK(flags_parse_uint64("0o17", &v));
	CHECK_EQ(v, 15);
	CHECK_EQ(flags_parse_uint64("+1", &v), -EINVAL);
	CHECK_OK(flags_parse_uint64("1_000", &v));
	CHECK_EQ(v, 1000);
	CHECK_OK(flags_parse_uint64("0x_ff", &v));
	CHECK_EQ(v, 255);
	CHECK_EQ(flags_parse_uint64("_1", &v), -EINVAL);
	CHECK_EQ(flags_parse_uint64("1__0", &v), -EINVAL);
	CHECK_EQ(flags_parse_uint64("10_", &v), -EINVAL);
	CHECK_EQ(flags_parse_uint64("", &v), -EINVAL);
}
