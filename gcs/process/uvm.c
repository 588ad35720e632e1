/* The table of UVM processes and the life of one: started, relays running,
 * reaped, complete, forgotten. */
#include "process/uvm_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "process/process.h"
#include "process/holders.h"
#include "process/relay.h"

static struct uvm_process *table;
static uvm_process_complete_fn listener;
static void *listener_data;

void uvm_process_set_listener(uvm_process_complete_fn fn, void *data)
{
	listener = fn;
	listener_data = data;
}

struct uvm_process *uvm_process_find(pid_t pid)
{
	for (struct uvm_process *p = table; p; p = p->next)
		if (p->pid == pid && !p->doomed)
			return p;
	return NULL;
}

bool uvm_process_running(pid_t pid)
{
	struct uvm_process *p = uvm_process_find(pid);

	return p && !p->reaped;
}

static void unlink_process(struct uvm_process *p)
{
	for (struct uvm_process **pp = &table; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			return;
		}
	}
}

void uvm_process_forget(struct uvm_process *p)
{
	unlink_process(p);
	holders_wait_cancel(p->holders);
	if (p->console >= 0)
		close(p->console);
	free(p);
}

static void log_exit(const struct uvm_process *p)
{
	int code = WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1;
	int sig = WIFSIGNALED(p->status) ? WTERMSIG(p->status) : 0;

	log_fields(LOG_INFO,
		   LOG_FIELDS(LOG_INT("pid", p->pid), LOG_STR("name", p->name),
			      LOG_INT("exitCode", code), LOG_INT("signal", sig),
			      LOG_UINT("ms", loop_now_ms() - p->started_ms)),
		   "UVM process complete");
}

/* Complete = reaped and every byte of stdout/stderr handed to the host. */
static void check_complete(struct uvm_process *p)
{
	if (p->complete || !p->reaped || p->outputs > 0)
		return;
	p->complete = true;
	if (p->console >= 0)
		close(p->console);
	p->console = -1;
	log_exit(p);
	if (p->doomed) {
		uvm_process_forget(p);
		return;
	}
	/* External processes are forgotten once their exit code is out. */
	if (listener &&
	    listener(listener_data, p->pid, process_uvm_exit_code(p->status), p->reaped_ns))
		uvm_process_forget(p);
}

int uvm_process_exit_status(pid_t pid, bool *complete, uint32_t *exitcode)
{
	struct uvm_process *p = uvm_process_find(pid);

	if (!p)
		return -ESRCH;
	*complete = p->complete;
	*exitcode = p->complete ? process_uvm_exit_code(p->status) : 0;
	return 0;
}

void uvm_process_collected(pid_t pid)
{
	struct uvm_process *p = uvm_process_find(pid);

	if (p && p->complete)
		uvm_process_forget(p);
}

int uvm_process_signal(pid_t pid, int sig, struct error *err)
{
	if (!uvm_process_running(pid))
		return -ESRCH;
	if (kill(pid, sig) < 0) {
		int e = errno;

		return error_set(err, e == ESRCH ? ERR_NOT_FOUND : ERR_FAIL, e, "kill(%d, %d): %s",
				 (int)pid, sig, strerror(e));
	}
	log_fields(LOG_INFO, LOG_FIELDS(LOG_INT("pid", pid), LOG_INT("signal", sig)),
		   "signalled UVM process");
	return 0;
}

/* After the process is complete its console is gone: a late resize is a
 * no-op, as the reference's closed relay answers. */
int uvm_process_resize(pid_t pid, uint32_t rows, uint32_t cols, struct error *err)
{
	struct uvm_process *p = uvm_process_find(pid);

	if (!p)
		return -ESRCH;
	return process_console_resize(p->pid, p->had_console, p->console, rows, cols, err);
}

static void on_output_let_go(void *data)
{
	struct uvm_process *p = data;

	p->holders = NULL;
	p->outputs--;
	check_complete(p);
}

static void on_child_exit(struct loop *l, pid_t pid, int status, void *data)
{
	struct uvm_process *p = data;

	p->reaped = true;
	p->reaped_ns = loop_now_ns();
	p->status = status;
	/* Nobody reads the stdin any more (the reference shuts the
	 * connection's read side here too). */
	relay_cancel(p->in);
	p->in = NULL;
	if ((p->out_ino[0] || p->out_ino[1]) &&
	    holders_wait_start(l, p->pid, p->out_ino, on_output_let_go, p, &p->holders) == 1)
		p->outputs--;
	check_complete(p);
}

static void on_input_done(struct relay *r, int rc, void *data)
{
	struct uvm_process *p = data;

	p->in = NULL;
}

static void on_output_done(struct relay *r, int rc, void *data)
{
	struct uvm_process *p = data;
	int i = r == p->out[0] ? 0 : 1;

	p->out[i] = NULL;
	if (rc < 0)
		log_fields(LOG_DEBUG,
			   LOG_FIELDS(LOG_INT("pid", p->pid),
				      LOG_STR("stream", i ? "stderr" : "stdout")),
			   "output relay stopped: %s", strerror(-rc));
	p->outputs--;
	check_complete(p);
}

/* The stderr connection of a console carries nothing: the host gets EOF. */
static void close_unused(int *fd)
{
	if (*fd < 0)
		return;
	shutdown(*fd, SHUT_WR);
	close(*fd);
	*fd = -1;
}

static int start_relays(struct uvm_process *p, struct uvm_stdio *io, struct error *err)
{
	struct loop *l = p->gcs->loop;
	int rc;

	if (io->conn[STDIO_IN] >= 0) {
		rc = relay_start(l, io->conn[STDIO_IN], io->in_dst, on_input_done, p, &p->in, err);
		io->conn[STDIO_IN] = io->in_dst = -1;
		if (rc < 0)
			return rc;
	}
	if (io->out_src[0] < 0)
		close_unused(&io->conn[STDIO_OUT]);
	if (io->out_src[1] < 0)
		close_unused(&io->conn[STDIO_ERR]);
	for (int i = 0; i < 2; i++) {
		int dst = io->conn[1 + i] >= 0 ? io->conn[1 + i] : RELAY_DISCARD;

		if (io->out_src[i] < 0)
			continue;
		rc = relay_start(l, io->out_src[i], dst, on_output_done, p, &p->out[i], err);
		io->out_src[i] = io->conn[1 + i] = -1;
		if (rc < 0)
			return rc;
		p->outputs++;
	}
	/* The child's own sockets: delivered once nobody holds them. */
	memcpy(p->out_ino, io->out_ino, sizeof(p->out_ino));
	if (p->out_ino[0] || p->out_ino[1])
		p->outputs++;
	return 0;
}

/* A pid the kernel reused while an old record still waits for its first
 * WaitForProcess: the old one can no longer be told apart. */
static void drop_stale(pid_t pid)
{
	struct uvm_process *old = uvm_process_find(pid);

	if (!old || !old->complete)
		return;
	log_warn("pid %d reused before its exit was collected by a wait", (int)pid);
	uvm_process_forget(old);
}

static struct uvm_process *new_process(struct gcs *g, pid_t pid, const char *name,
				       struct uvm_stdio *io)
{
	struct uvm_process *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	p->gcs = g;
	p->started_ms = loop_now_ms();
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->had_console = io->master >= 0;
	p->console = io->master;
	io->master = -1;
	p->next = table;
	table = p;
	return p;
}

int uvm_process_add(struct gcs *g, pid_t pid, const char *name, struct uvm_stdio *io,
		    struct error *err)
{
	struct uvm_process *p;
	int rc;

	drop_stale(pid);
	p = new_process(g, pid, name, io);
	if (!p) {
		rc = error_set(err, ERR_FAIL, ENOMEM, "out of memory");
		goto kill;
	}
	rc = loop_child_watch(g->loop, pid, on_child_exit, p, err);
	if (rc < 0) {
		uvm_process_forget(p);
		goto kill;
	}
	rc = start_relays(p, io, err);
	if (rc < 0) {
		p->doomed = true;
		kill(pid, SIGKILL);
		/* its relays end with it; on_child_exit forgets it */
	}
	uvm_stdio_close(io);
	return rc;
kill:
	/* Without a record nobody waits for it; the reaper collects it. */
	kill(pid, SIGKILL);
	uvm_stdio_close(io);
	return rc;
}

int uvm_process_pids(struct gcs *g, struct arena *a, uint32_t **pids, size_t *n, struct error *err)
{
	size_t count = 0;

	for (struct uvm_process *p = table; p; p = p->next)
		count += !p->reaped && !p->doomed;
	*pids = arena_alloc(a, count * sizeof(**pids) + 1);
	if (!*pids)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	*n = 0;
	for (struct uvm_process *p = table; p; p = p->next)
		if (!p->reaped && !p->doomed)
			(*pids)[(*n)++] = (uint32_t)p->pid;
	return 0;
}

static const char *state_name(const struct uvm_process *p)
{
	if (p->complete)
		return "exited, waiting for WaitForProcess";
	if (p->reaped)
		return "exited, output still held or relayed";
	return "running";
}

void uvm_process_describe(struct gcs *g, struct printbuf *pb)
{
	unsigned n = 0;

	for (struct uvm_process *p = table; p; p = p->next)
		n++;
	sprintbuf(pb, "UVM processes: %u\n", n);
	for (struct uvm_process *p = table; p; p = p->next) {
		sprintbuf(pb, "  pid %d %s: %s%s, %u output relays\n", (int)p->pid, p->name,
			  state_name(p), p->had_console ? ", console" : "", p->outputs);
	}
	relay_describe(pb);
}
