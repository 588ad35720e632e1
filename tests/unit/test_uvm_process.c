/* The UVM-process runtime driven as any front end would: an operation with
 * an op_done and a completion listener, no bridge and no request. This test
 * links only gcs/process and gcs/core (tests/tests.mk). */
#include "unit.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/op.h"
#include "gcs.h"
#include "process/uvm.h"

struct started {
	int done;
	int rc;
	char msg[ERROR_MSG_MAX];
	pid_t pid;
	bool wanted;
};

struct heard {
	int n;
	pid_t pid;
	uint32_t code;
	uint64_t reaped_ns, heard_ns;
	bool deliver; /* what the listener answers */
};

static void on_started(void *data, int rc, const struct error *err, const void *result)
{
	struct started *s = data;

	s->done++;
	s->rc = rc;
	snprintf(s->msg, sizeof(s->msg), "%s", err ? err->msg : "");
	if (result)
		s->pid = *(const pid_t *)result;
}

static bool wanted(void *data)
{
	return ((struct started *)data)->wanted;
}

static bool on_complete(void *data, pid_t pid, uint32_t code, uint64_t reaped_ns)
{
	struct heard *h = data;

	h->n++;
	h->pid = pid;
	h->code = code;
	h->reaped_ns = reaped_ns;
	h->heard_ns = loop_now_ns();
	return h->deliver;
}

/* A gcs with just a loop; h (or NULL) hears of complete processes. */
static void gcs_init(struct gcs *g, struct heard *h)
{
	struct error err;

	memset(g, 0, sizeof(*g));
	if (loop_new(&g->loop, &err) < 0)
		unit_fail(__FILE__, __LINE__, "loop_new: %s", err.msg);
	uvm_process_set_listener(h ? on_complete : NULL, h);
}

static void gcs_fini(struct gcs *g)
{
	uvm_process_set_listener(NULL, NULL);
	loop_free(g->loop);
}

/* Runs the loop until *flag or ~10 s. */
static void run_until(struct loop *l, volatile int *flag)
{
	for (int i = 0; i < 1000 && !*flag; i++)
		loop_run_once(l, 10);
	CHECK(*flag);
}

/* Starts argv (no stdio) and runs the loop until the operation finished. */
static void start(struct gcs *g, char **argv, size_t argc, struct started *s)
{
	Gcs__ExecuteProcessSettings settings = GCS__EXECUTE_PROCESS_SETTINGS__INIT;
	Gcs__ProcessParameters p = GCS__PROCESS_PARAMETERS__INIT;
	struct op_done done = {.fn = on_started, .wanted = wanted, .data = s};
	struct error err;

	p.commandargs = argv;
	p.n_commandargs = argc;
	settings.processparameters = &p;
	CHECK_OK(uvm_process_start(g, &settings, &done, &err));
	run_until(g->loop, &s->done);
	CHECK_EQ(s->done, 1);
}

TEST(a_started_process_reports_its_exit_code_to_the_listener)
{
	char *argv[] = {"/bin/sh", "-c", "exit 3"};
	struct started s = {.wanted = true};
	struct heard h = {.deliver = false};
	struct gcs g;
	uint32_t code = 0;
	bool complete = false;

	gcs_init(&g, &h);
	start(&g, argv, 3, &s);
	CHECK_EQ(s.rc, 0);
	CHECK(s.pid > 0);
	run_until(g.loop, &h.n);
	CHECK_EQ(h.pid, s.pid);
	CHECK_EQ(h.code, 3);
	/* When it was reaped: after it started, by the time it was heard of. */
	CHECK(h.reaped_ns > 0);
	CHECK(h.reaped_ns <= h.heard_ns);
	/* Not delivered: kept until someone collects it. */
	CHECK_OK(uvm_process_exit_status(s.pid, &complete, &code));
	CHECK(complete);
	CHECK_EQ(code, 3);
	uvm_process_collected(s.pid);
	CHECK_EQ(uvm_process_exit_status(s.pid, &complete, &code), -ESRCH);
	gcs_fini(&g);
}

TEST(a_delivered_exit_code_forgets_the_process)
{
	char *argv[] = {"/bin/sh", "-c", "kill -TERM $$"};
	struct started s = {.wanted = true};
	struct heard h = {.deliver = true};
	struct gcs g;
	uint32_t code;
	bool complete;

	gcs_init(&g, &h);
	start(&g, argv, 3, &s);
	CHECK_EQ(s.rc, 0);
	run_until(g.loop, &h.n);
	CHECK_EQ(h.code, 0xFFFFFFFFu); /* a signal death, as the reference reports */
	CHECK_EQ(uvm_process_exit_status(s.pid, &complete, &code), -ESRCH);
	gcs_fini(&g);
}

TEST(a_running_process_can_be_signalled_and_unknown_pids_cannot)
{
	char *argv[] = {"/bin/sh", "-c", "sleep 30"};
	struct started s = {.wanted = true};
	struct heard h = {.deliver = true};
	struct error err;
	struct gcs g;
	uint32_t code;
	bool complete;

	gcs_init(&g, &h);
	start(&g, argv, 3, &s);
	CHECK_OK(uvm_process_exit_status(s.pid, &complete, &code));
	CHECK(!complete);
	CHECK_EQ(uvm_process_resize(s.pid, 10, 10, &err), -ENOTTY);
	CHECK_EQ(uvm_process_signal(getpid(), SIGTERM, &err), -ESRCH);
	CHECK_EQ(uvm_process_resize(getpid(), 10, 10, &err), -ESRCH);
	CHECK_OK(uvm_process_signal(s.pid, SIGKILL, &err));
	run_until(g.loop, &h.n);
	CHECK_EQ(h.pid, s.pid);
	gcs_fini(&g);
}

TEST(a_missing_executable_fails_the_operation)
{
	char *argv[] = {"/nonexistent/lcow-no-such-program"};
	struct started s = {.wanted = true};
	struct gcs g;

	gcs_init(&g, NULL);
	start(&g, argv, 1, &s);
	CHECK(s.rc < 0);
	CHECK(strstr(s.msg, "lcow-no-such-program") != NULL);
	gcs_fini(&g);
}

TEST(a_result_nobody_wants_kills_the_process)
{
	char *argv[] = {"/bin/sh", "-c", "sleep 30"};
	struct started s = {.wanted = false};
	struct heard h = {.deliver = true};
	struct gcs g;
	uint32_t code;
	bool complete;

	gcs_init(&g, &h);
	start(&g, argv, 3, &s);
	CHECK_EQ(s.rc, -ECANCELED);
	CHECK_EQ(s.pid, 0);
	/* It was started and killed: the loop reaps it, nobody hears of it. */
	for (int i = 0; i < 50; i++)
		loop_run_once(g.loop, 10);
	CHECK_EQ(h.n, 0);
	CHECK_EQ(uvm_process_exit_status(s.pid, &complete, &code), -ESRCH);
	gcs_fini(&g);
}
