#include "unit.h"

#include <errno.h>
#include <sys/wait.h>
#include <time.h>

#include "core/tool_run.h"

static struct tool_result res;

static int run_sh(const char *script, unsigned timeout_ms, struct error *e)
{
	char *argv[] = {"sh", "-c", (char *)script, NULL};

	return tool_run(NULL, argv, NULL, timeout_ms, &res, e);
}

TEST(output_and_status_are_collected)
{
	struct error e;

	CHECK_OK(run_sh("echo out; echo err >&2; exit 3", 5000, &e));
	CHECK(WIFEXITED(res.status));
	CHECK_EQ(WEXITSTATUS(res.status), 3);
	CHECK_STREQ(res.output, "out\nerr");
	CHECK(!res.timed_out);
}

TEST(stdin_is_empty)
{
	struct error e;

	CHECK_OK(run_sh("cat; echo done", 5000, &e));
	CHECK_STREQ(res.output, "done");
}

TEST(a_tool_past_its_deadline_is_killed)
{
	struct timespec a, b;
	struct error e;
	char why[64];

	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK_OK(run_sh("echo started; exec sleep 30", 300, &e));
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK(res.timed_out);
	CHECK(WIFSIGNALED(res.status) && WTERMSIG(res.status) == SIGKILL);
	CHECK_STREQ(res.output, "started");
	CHECK(b.tv_sec - a.tv_sec < 10);
	tool_describe(&res, 300, why, sizeof(why));
	CHECK_STREQ(why, "timed out after 300 ms");
}

TEST(exit_is_seen_while_a_grandchild_holds_the_output)
{
	struct timespec a, b;
	struct error e;

	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK_OK(run_sh("sleep 5 & echo parent done", 4000, &e));
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK(!res.timed_out);
	CHECK(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
	CHECK_STREQ(res.output, "parent done");
	CHECK(b.tv_sec - a.tv_sec < 3);
}

TEST(long_output_keeps_its_end)
{
	struct error e;

	CHECK_OK(run_sh("i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done", 10000, &e));
	CHECK(strlen(res.output) > TOOL_OUTPUT_MAX - 100);
	CHECK(strlen(res.output) < TOOL_OUTPUT_MAX);
	CHECK(strstr(res.output, "line1999") != NULL);
	CHECK(strstr(res.output, "line0\n") == NULL);
}

TEST(a_missing_tool_is_an_error)
{
	char *argv[] = {"no-such-lcow-tool", NULL};
	struct error e;

	CHECK_EQ(tool_run(NULL, argv, NULL, 1000, &res, &e), -ENOENT);
	CHECK(strstr(e.msg, "no-such-lcow-tool: not found on PATH") != NULL);
}
