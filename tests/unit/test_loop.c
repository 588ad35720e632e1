/* The event loop: timers, fd watches, signals, the reaper, worker jobs. */
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/loop_internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static struct loop *new_loop(void)
{
	struct loop *l;
	struct error err;

	if (loop_new(&l, &err) < 0)
		unit_fail(__FILE__, __LINE__, "loop_new: %s", err.msg);
	return l;
}

/* Runs the loop until *flag or ~5 s. */
static void run_until(struct loop *l, volatile int *flag)
{
	for (int i = 0; i < 500 && !*flag; i++)
		CHECK(loop_run_once(l, 10) >= 0);
	CHECK(*flag);
}

static int order[8], norder;

static void record(struct loop *l, void *data)
{
	order[norder++] = (int)(intptr_t)data;
}

TEST(timers_fire_in_deadline_order)
{
	struct loop *l = new_loop();
	volatile int done = 0;

	norder = 0;
	CHECK(loop_timer_add(l, 30, record, (void *)3));
	CHECK(loop_timer_add(l, 10, record, (void *)1));
	CHECK(loop_timer_add(l, 20, record, (void *)2));
	CHECK(loop_timer_add(l, 20, record, (void *)22)); /* same deadline: creation order */
	for (int i = 0; i < 100 && norder < 4; i++)
		loop_run_once(l, 50);
	done = norder == 4;
	CHECK(done);
	CHECK_EQ(order[0], 1);
	CHECK_EQ(order[1], 2);
	CHECK_EQ(order[2], 22);
	CHECK_EQ(order[3], 3);
	loop_free(l);
}

/* Many timers, added latest-first and half of them cancelled from the
 * middle: the rest fire in (deadline, creation) order, read from the timers
 * themselves (loop_internal.h) since the clock moves while they are added. */
enum {
	MANY = 20000
};
static uint64_t many_due[MANY], many_seq[MANY];
static int last_fired, fired, misordered;

static void record_many(struct loop *l, void *data)
{
	int i = (int)(intptr_t)data;

	if (last_fired >= 0 &&
	    (many_due[i] < many_due[last_fired] ||
	     (many_due[i] == many_due[last_fired] && many_seq[i] < many_seq[last_fired])))
		misordered++;
	last_fired = i;
	fired++;
}

TEST(many_timers_keep_their_order_through_cancels)
{
	struct loop *l = new_loop();
	static struct loop_timer *t[MANY];

	last_fired = -1;
	fired = misordered = 0;
	/* Groups of 100 share a delay; added from the latest down, as
	 * decreasing WaitForProcess timeouts would be. */
	for (int i = MANY - 1; i >= 0; i--) {
		t[i] = loop_timer_add(l, (uint64_t)(i / 100), record_many, (void *)(intptr_t)i);
		CHECK(t[i] != NULL);
		many_due[i] = t[i]->due_ms;
		many_seq[i] = t[i]->seq;
	}
	for (int i = 0; i < MANY; i += 2)
		loop_timer_cancel(t[i]);
	for (int i = 0; i < 2000 && fired < MANY / 2; i++)
		loop_run_once(l, 5);
	CHECK_EQ(fired, MANY / 2);
	CHECK_EQ(misordered, 0);
	loop_free(l);
}

TEST(cancelled_timer_never_fires)
{
	struct loop *l = new_loop();
	struct loop_timer *t;

	norder = 0;
	t = loop_timer_add(l, 5, record, (void *)1);
	loop_timer_cancel(t);
	CHECK(loop_timer_add(l, 20, record, (void *)2));
	for (int i = 0; i < 100 && norder < 1; i++)
		loop_run_once(l, 50);
	CHECK_EQ(norder, 1);
	CHECK_EQ(order[0], 2);
	loop_free(l);
}

static int rearms;

static void rearm(struct loop *l, void *data)
{
	rearms++;
	loop_timer_add(l, 0, rearm, data);
}

TEST(zero_delay_timer_waits_for_the_next_iteration)
{
	struct loop *l = new_loop();

	rearms = 0;
	loop_timer_add(l, 0, rearm, NULL);
	loop_run_once(l, 0);
	CHECK_EQ(rearms, 1);
	loop_run_once(l, 0);
	CHECK_EQ(rearms, 2);
	loop_free(l);
}

struct two_watches {
	struct loop_watch *a, *b;
	int a_calls, b_calls;
};

static void on_a(struct loop *l, int fd, uint32_t ev, void *data)
{
	struct two_watches *t = data;

	t->a_calls++;
	loop_watch_remove(t->a);
	loop_watch_remove(t->b);
}

static void on_b(struct loop *l, int fd, uint32_t ev, void *data)
{
	struct two_watches *t = data;

	t->b_calls++;
	loop_watch_remove(t->a);
	loop_watch_remove(t->b);
}

TEST(a_watch_removed_by_another_callback_is_not_called)
{
	struct loop *l = new_loop();
	struct two_watches t = {0};
	struct error err;
	int p1[2], p2[2];

	CHECK(pipe(p1) == 0 && pipe(p2) == 0);
	CHECK(write(p1[1], "x", 1) == 1 && write(p2[1], "y", 1) == 1);
	t.a = loop_watch_add(l, p1[0], EPOLLIN, on_a, &t, &err);
	t.b = loop_watch_add(l, p2[0], EPOLLIN, on_b, &t, &err);
	CHECK(t.a && t.b);
	loop_run_once(l, 100);
	CHECK_EQ(t.a_calls + t.b_calls, 1);
	loop_run_once(l, 10);
	CHECK_EQ(t.a_calls + t.b_calls, 1);
	loop_free(l);
}

static void on_usr1(struct loop *l, int signo, void *data)
{
	*(volatile int *)data = signo;
}

TEST(signal_callback_runs_on_the_loop)
{
	struct loop *l = new_loop();
	volatile int got = 0;
	struct error err;

	CHECK_OK(loop_signal_add(l, SIGUSR1, on_usr1, (void *)&got, &err));
	kill(getpid(), SIGUSR1);
	run_until(l, &got);
	CHECK_EQ(got, SIGUSR1);
	loop_free(l);
}

struct exit_seen {
	volatile int done;
	pid_t pid;
	int status;
};

static void on_exit_cb(struct loop *l, pid_t pid, int status, void *data)
{
	struct exit_seen *e = data;

	e->pid = pid;
	e->status = status;
	e->done = 1;
}

static pid_t spawn_exit(struct loop *l, int code)
{
	pid_t pid;

	loop_child_begin(l);
	pid = fork();
	if (pid == 0)
		_exit(code);
	loop_child_end(l, pid);
	CHECK(pid > 0);
	return pid;
}

TEST(child_exit_callback_gets_the_status)
{
	struct loop *l = new_loop();
	struct exit_seen e = {0};
	struct error err;
	pid_t pid = spawn_exit(l, 7);

	CHECK_OK(loop_child_watch(l, pid, on_exit_cb, &e, &err));
	run_until(l, &e.done);
	CHECK_EQ(e.pid, pid);
	CHECK(WIFEXITED(e.status) && WEXITSTATUS(e.status) == 7);
	loop_free(l);
}

TEST(status_of_a_child_reaped_before_the_watch_is_kept)
{
	struct loop *l = new_loop();
	struct exit_seen e = {0};
	struct error err;
	pid_t pid = spawn_exit(l, 3);

	/* Let the reaper collect it with nobody watching. */
	for (int i = 0; i < 100; i++) {
		loop_run_once(l, 10);
		if (kill(pid, 0) < 0 && errno == ESRCH)
			break;
	}
	CHECK(kill(pid, 0) < 0);
	CHECK_OK(loop_child_watch(l, pid, on_exit_cb, &e, &err));
	CHECK(!e.done); /* delivered on the loop, not re-entrantly */
	run_until(l, &e.done);
	CHECK(WIFEXITED(e.status) && WEXITSTATUS(e.status) == 3);
	loop_free(l);
}

TEST(second_watch_of_one_pid_is_refused)
{
	struct loop *l = new_loop();
	struct exit_seen e = {0};
	struct error err;
	pid_t pid;

	loop_child_begin(l);
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	loop_child_end(l, pid);
	CHECK_OK(loop_child_watch(l, pid, on_exit_cb, &e, &err));
	CHECK_EQ(loop_child_watch(l, pid, on_exit_cb, &e, &err), -EEXIST);
	kill(pid, SIGKILL);
	run_until(l, &e.done);
	CHECK(WIFSIGNALED(e.status) && WTERMSIG(e.status) == SIGKILL);
	loop_free(l);
}

struct wait_job {
	struct loop *loop;
	pthread_t thread;
	int status, rc;
};

static int fork_and_wait(void *data, struct error *err)
{
	struct wait_job *j = data;
	pid_t pid;

	j->thread = pthread_self();
	loop_child_begin(j->loop);
	pid = fork();
	if (pid == 0) {
		usleep(20000);
		_exit(42);
	}
	loop_child_end(j->loop, pid);
	j->rc = loop_child_wait(pid, &j->status, j->loop);
	return j->rc;
}

static pthread_t done_thread;
static volatile int job_done;

static void job_finished(struct loop *l, int rc, const struct error *err, void *data)
{
	done_thread = pthread_self();
	job_done = 1;
}

TEST(worker_blocks_on_a_child_while_the_loop_reaps)
{
	struct loop *l = new_loop();
	struct wait_job j = {.loop = l};
	struct error err;

	job_done = 0;
	CHECK_OK(loop_job(l, fork_and_wait, job_finished, &j, &err));
	run_until(l, &job_done);
	CHECK_EQ(j.rc, 0);
	CHECK(WIFEXITED(j.status) && WEXITSTATUS(j.status) == 42);
	CHECK(!pthread_equal(j.thread, pthread_self()));
	CHECK(pthread_equal(done_thread, pthread_self()));
	CHECK_EQ(loop_child_wait(1, &j.status, l), -EDEADLK); /* not on the loop thread */
	loop_free(l);
}

static int thread_done; /* atomic: set by another thread */

static void *wait_thread(void *data)
{
	fork_and_wait(data, NULL);
	__atomic_store_n(&thread_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool have_pidfd(void)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* A thread waiting for its child reaps it itself (a pidfd): it need not
 * wait for the loop's reaper to run. */
TEST(a_waiting_thread_reaps_its_child_without_the_loop)
{
	struct loop *l = new_loop();
	struct wait_job j = {.loop = l};
	pthread_t t;

	if (!have_pidfd())
		SKIP("no pidfd_open (Linux < 5.3): waits go through the reaper");
	thread_done = 0;
	CHECK_EQ(pthread_create(&t, NULL, wait_thread, &j), 0);
	for (int i = 0; i < 5000 && !__atomic_load_n(&thread_done, __ATOMIC_ACQUIRE); i++)
		usleep(1000); /* the loop does not run meanwhile */
	CHECK(__atomic_load_n(&thread_done, __ATOMIC_ACQUIRE));
	pthread_join(t, NULL);
	CHECK_EQ(j.rc, 0);
	CHECK(WIFEXITED(j.status) && WEXITSTATUS(j.status) == 42);
	loop_free(l);
}

static pid_t pausing_child; /* atomic: set by the worker */

static int fork_pausing_and_wait(void *data, struct error *err)
{
	struct wait_job *j = data;
	pid_t pid;

	loop_child_begin(j->loop);
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	loop_child_end(j->loop, pid);
	__atomic_store_n(&pausing_child, pid, __ATOMIC_RELEASE);
	j->rc = loop_child_wait(pid, &j->status, j->loop);
	return j->rc;
}

static int done_rc;

static void keep_rc(struct loop *l, int rc, const struct error *err, void *data)
{
	done_rc = rc;
}

TEST(freeing_the_loop_releases_a_thread_waiting_for_a_child)
{
	struct loop *l = new_loop();
	struct wait_job j = {.loop = l};
	struct error err;

	done_rc = 1;
	pausing_child = 0;
	CHECK_OK(loop_job(l, fork_pausing_and_wait, keep_rc, &j, &err));
	for (int i = 0; i < 5000 && !__atomic_load_n(&pausing_child, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	usleep(20000); /* the worker is now blocked in loop_child_wait */
	loop_free(l);
	CHECK_EQ(j.rc, -ECANCELED);
	CHECK_EQ(done_rc, -ECANCELED);
	CHECK(pausing_child > 0);
	kill(pausing_child, SIGKILL);
	waitpid(pausing_child, NULL, 0);
}

static pthread_barrier_t barrier;

static int meet(void *data, struct error *err)
{
	int rc = pthread_barrier_wait(&barrier);

	return rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD ? 0 : -EIO;
}

static volatile int met;

static void met_one(struct loop *l, int rc, const struct error *err, void *data)
{
	if (rc == 0)
		met++;
}

TEST(jobs_run_concurrently)
{
	struct loop *l = new_loop();
	struct error err;

	/* Three jobs that only finish together: sequential workers would hang. */
	pthread_barrier_init(&barrier, NULL, 3);
	met = 0;
	for (int i = 0; i < 3; i++)
		CHECK_OK(loop_job(l, meet, met_one, NULL, &err));
	for (int i = 0; i < 500 && met < 3; i++)
		loop_run_once(l, 10);
	CHECK_EQ(met, 3);
	loop_free(l);
	pthread_barrier_destroy(&barrier);
}

static int fail_job(void *data, struct error *err)
{
	return error_set(err, ERR_NOT_FOUND, ESRCH, "no such thing");
}

static struct error seen_err;
static int seen_rc;

static void keep_err(struct loop *l, int rc, const struct error *err, void *data)
{
	seen_rc = rc;
	seen_err = *err;
	job_done = 1;
}

TEST(job_error_reaches_the_completion)
{
	struct loop *l = new_loop();
	struct error err;

	job_done = 0;
	CHECK_OK(loop_job(l, fail_job, keep_err, NULL, &err));
	run_until(l, &job_done);
	CHECK_EQ(seen_rc, -ESRCH);
	CHECK_EQ(seen_err.kind, ERR_NOT_FOUND);
	CHECK_STREQ(seen_err.msg, "no such thing");
	loop_free(l);
}

TEST(describe_mentions_timers_workers_and_children)
{
	struct loop *l = new_loop();
	struct printbuf *pb = printbuf_new();

	loop_timer_add(l, 1000, record, NULL);
	loop_describe(l, pb);
	CHECK(strstr(pb->buf, "1 timers") != NULL);
	CHECK(strstr(pb->buf, "workers:") != NULL);
	CHECK(strstr(pb->buf, "reaper:") != NULL);
	printbuf_free(pb);
	loop_free(l);
}
