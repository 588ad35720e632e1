#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "cleanup.h"
#include "klog.h"
#include "transport.h"

struct relay {
	const struct transport *t;
	uint32_t port;
	int in;	     /* read end of the program's pipe; -1 after EOF */
	int sock;    /* the host connection; -1 while there is none */
	bool absent; /* the host's absence is logged (once per outage) */
	size_t off, len;
	char buf[4096]; /* buf[off..len) is read but not yet sent */
};

static void relay_dial(struct relay *r)
{
	char where[128];
	int fd = transport_dial(r->t, r->port);

	transport_describe(r->t, r->port, where, sizeof(where));
	if (fd < 0) {
		if (!r->absent)
			klog(KLOG_WARN, "relay: connect %s: %s; redialling every %d ms", where,
			     strerror(-fd), VX_REDIAL_MS);
		r->absent = true;
		return;
	}
	if (r->absent)
		klog(KLOG_INFO, "relay: connected to %s", where);
	r->absent = false;
	r->sock = fd;
}

static void relay_drop(struct relay *r)
{
	close(r->sock);
	r->sock = -1;
}

/* Sends the pending bytes. A failed send drops the connection and keeps
 * what is unsent for the next one. */
static void relay_flush(struct relay *r)
{
	while (r->sock >= 0 && r->off < r->len) {
		ssize_t n = send(r->sock, r->buf + r->off, r->len - r->off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EINTR)
				relay_drop(r);
			continue;
		}
		r->off += n;
	}
	if (r->off == r->len)
		r->off = r->len = 0;
}

/* Reads the next chunk of output. Returns false when there is none to be
 * had now (EOF, error, or nothing yet on a non-blocking pipe). */
static bool relay_fill(struct relay *r)
{
	ssize_t n = read(r->in, r->buf, sizeof(r->buf));

	if (n > 0) {
		r->off = 0;
		r->len = n;
		return true;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return false;
	close(r->in);
	r->in = -1;
	return false;
}

/* The host never writes on a log stream, so a readable socket means it hung
 * up (anything it did send is discarded). */
static void relay_check_host(struct relay *r)
{
	char junk[256];
	ssize_t n = recv(r->sock, junk, sizeof(junk), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		relay_drop(r);
}

static bool child_done(int sigfd, pid_t child, int *status)
{
	struct signalfd_siginfo si;

	while (read(sigfd, &si, sizeof(si)) == sizeof(si))
		;
	return waitpid(child, status, WNOHANG) == child;
}

/* Relays until the program exits; returns its wait status. */
static int relay_run(struct relay *r, int sigfd, pid_t child)
{
	int status;

	for (;;) {
		struct pollfd p[3] = {{.fd = sigfd, .events = POLLIN}, {.fd = -1}, {.fd = -1}};

		if (r->sock < 0)
			relay_dial(r);
		relay_flush(r);
		if (r->len == 0 && r->in >= 0)
			p[1] = (struct pollfd){.fd = r->in, .events = POLLIN};
		if (r->sock >= 0)
			p[2] = (struct pollfd){.fd = r->sock, .events = POLLIN};
		if (poll(p, 3, r->sock < 0 ? VX_REDIAL_MS : -1) < 0 && errno != EINTR)
			return -1;
		if (p[0].revents && child_done(sigfd, child, &status))
			return status;
		if (p[1].revents)
			relay_fill(r);
		if (p[2].revents && r->sock >= 0)
			relay_check_host(r);
	}
}

/* After the program is gone: send what it left in the pipe, without
 * waiting for a host that is not there (the VM is about to stop). */
static void relay_drain(struct relay *r)
{
	if (r->in < 0)
		return;
	fcntl(r->in, F_SETFL, O_NONBLOCK);
	do {
		if (r->sock < 0)
			relay_dial(r);
		relay_flush(r);
		if (r->sock < 0)
			return;
	} while (r->in >= 0 && relay_fill(r));
}

static pid_t relay_spawn(int out, char *const argv[], const sigset_t *mask)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid < 0 ? -errno : pid;
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
		_exit(127);
	execvp(argv[0], argv);
	klog(KLOG_ERR, "exec %s: %s", argv[0], strerror(errno));
	_exit(127);
}

int vx_relay(const struct transport *t, uint32_t port, char *const argv[])
{
	static struct relay r;
	_cleanup_close_ int sigfd = -1;
	sigset_t chld, old;
	int pipefd[2], status;
	pid_t child;

	r = (struct relay){.t = t, .port = port, .in = -1, .sock = -1};
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		klog(KLOG_ERR, "relay: %s", strerror(errno));
		return 1;
	}
	child = relay_spawn(pipefd[1], argv, &old);
	close(pipefd[1]);
	r.in = pipefd[0];
	if (child < 0) {
		klog(KLOG_ERR, "relay: fork: %s", strerror(-child));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	status = relay_run(&r, sigfd, child);
	if (status == -1) {
		klog(KLOG_ERR, "relay: poll: %s", strerror(errno));
		waitpid(child, &status, 0);
	}
	relay_drain(&r);
	if (r.sock >= 0)
		close(r.sock);
	return init_exit_code(status);
}
