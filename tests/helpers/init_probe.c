/* init_probe: the child that tests/integration/test_init.py (and
 * test_vsockexec.py) have init or vsockexec start. It performs the actions
 * named by its arguments, in order, and prints what it sees as lines
 * "probe:<key>=<value>" on stdout (backslash and newline escaped).
 *
 *   report          argv, env, pid/ppid/sid/pgid, blocked signals, the NOFILE
 *                   limit, fds 0-2, cgroup files, lo state, the mount table
 *   orphan          leaves a grandchild to init and reports whether init reaps it
 *   touch P         creates file P         waitfor P   waits (5 s) for file P
 *   sleep MS        sleeps                 echo-io     copies a stdin line to
 *                                                      stdout and stderr
 *   lines N MS      writes "out i" to stdout and "err i" to stderr N times
 *   json            writes one JSON log line to stderr (a GCS log record)
 *   kill SIG        dies of signal SIG     exit N      exits with status N
 *
 * Started as "gcs" (the name hcsshim's command line uses), it ignores its
 * arguments and does: report json touch /run/gcs.done exit 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void put(const char *key, const char *value)
{
	printf("probe:%s=", key);
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", stdout);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else
			putchar(*p);
	}
	putchar('\n');
}

static void putf(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(key, buf);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Puts each line of a file under key (the whole file when it is one line). */
static void put_file_lines(const char *key, const char *path)
{
	char line[4096];
	FILE *f = fopen(path, "r");

	if (!f) {
		putf(key, "!%s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		put(key, line);
	}
	fclose(f);
}

static void put_status_field(const char *key, const char *status, const char *field)
{
	char line[256];
	size_t len = strlen(field);
	FILE *f = fopen(status, "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0) {
			line[strcspn(line, "\n")] = '\0';
			put(key, line + len + strspn(line + len, " \t:"));
		}
	if (f)
		fclose(f);
}

/* Proves lo carries traffic: a TCP connection to a listener on its address. */
static const char *loopback_works(int family)
{
	struct sockaddr_storage ss = {0};
	socklen_t len =
		family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int l = socket(family, SOCK_STREAM, 0), c = -1;
	const char *verdict = "ok";

	ss.ss_family = family;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&ss, &len) < 0)
		verdict = strerror(errno);
	else if ((c = socket(family, SOCK_STREAM, 0)) < 0 ||
		 connect(c, (struct sockaddr *)&ss, len) < 0)
		verdict = strerror(errno);
	if (c >= 0)
		close(c);
	if (l >= 0)
		close(l);
	return verdict;
}

static void report(int argc, char **argv)
{
	struct rlimit rl;
	char link[256], path[64];

	for (int i = 0; i < argc; i++)
		put("argv", argv[i]);
	for (char **e = environ; *e; e++)
		put("env", *e);
	putf("pid", "%d", (int)getpid());
	putf("ppid", "%d", (int)getppid());
	putf("sid", "%d", (int)getsid(0));
	putf("pgid", "%d", (int)getpgid(0));
	put_status_field("sigblk", "/proc/self/status", "SigBlk");
	put_status_field("init_sigblk", "/proc/1/status", "SigBlk");
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		putf("nofile", "%llu %llu", (unsigned long long)rl.rlim_cur,
		     (unsigned long long)rl.rlim_max);
	for (int fd = 0; fd < 3; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		link[n < 0 ? 0 : n] = '\0';
		putf("fd", "%d %s", fd, n < 0 ? "closed" : link);
	}
	put_file_lines("cg_controllers", "/sys/fs/cgroup/cgroup.controllers");
	put_file_lines("cg_subtree", "/sys/fs/cgroup/cgroup.subtree_control");
	put_file_lines("lo_flags", "/sys/class/net/lo/flags");
	put("lo4", loopback_works(AF_INET));
	put("lo6", loopback_works(AF_INET6));
	put_file_lines("mount", "/proc/self/mountinfo");
}

/* Double fork: the grandchild outlives its parent and is re-parented to
 * init, then exits; only init can reap it. */
static void orphan(void)
{
	int p[2];
	pid_t mid, gc = -1;
	char state = '?';

	if (pipe(p) < 0 || (mid = fork()) < 0) {
		put("orphan", strerror(errno));
		return;
	}
	if (mid == 0) {
		pid_t g = fork();

		if (g == 0) {
			sleep_ms(200);
			_exit(0);
		}
		if (write(p[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		_exit(0);
	}
	waitpid(mid, NULL, 0);
	if (read(p[0], &gc, sizeof(gc)) != sizeof(gc)) {
		put("orphan", "no grandchild");
		return;
	}
	putf("orphan_pid", "%d", (int)gc);
	for (int i = 0; i < 50; i++) {
		char stat[64], buf[256];
		FILE *f;

		snprintf(stat, sizeof(stat), "/proc/%d/stat", (int)gc);
		f = fopen(stat, "r");
		if (!f) {
			put("orphan", "reaped");
			return;
		}
		if (fgets(buf, sizeof(buf), f) && strrchr(buf, ')'))
			state = strrchr(buf, ')')[2];
		fclose(f);
		sleep_ms(100);
	}
	putf("orphan", "left in state %c", state);
}

static void echo_io(void)
{
	char line[256];

	if (!fgets(line, sizeof(line), stdin)) {
		put("echo-io", "no input");
		return;
	}
	line[strcspn(line, "\n")] = '\0';
	printf("out:%s\n", line);
	fflush(stdout);
	fprintf(stderr, "err:%s\n", line);
}

static void waitfor(const char *path)
{
	struct stat st;

	for (int i = 0; i < 500 && stat(path, &st) < 0; i++)
		sleep_ms(10);
	putf("waitfor", "%s %s", path, stat(path, &st) == 0 ? "found" : "timeout");
}

static int need(int i, int argc, int n)
{
	if (i + n >= argc) {
		fputs("init_probe: missing argument\n", stderr);
		exit(2);
	}
	return i + n;
}

static void lines(int n, long ms)
{
	for (int i = 1; i <= n; i++) {
		printf("out %d\n", i);
		fflush(stdout);
		fprintf(stderr, "err %d\n", i);
		sleep_ms(ms);
	}
}

static int run(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		fflush(stdout);
		if (strcmp(a, "report") == 0) {
			report(argc, argv);
		} else if (strcmp(a, "orphan") == 0) {
			orphan();
		} else if (strcmp(a, "touch") == 0) {
			i = need(i, argc, 1);
			close(open(argv[i], O_WRONLY | O_CREAT, 0644));
		} else if (strcmp(a, "waitfor") == 0) {
			i = need(i, argc, 1);
			waitfor(argv[i]);
		} else if (strcmp(a, "sleep") == 0) {
			i = need(i, argc, 1);
			sleep_ms(atol(argv[i]));
		} else if (strcmp(a, "echo-io") == 0) {
			echo_io();
		} else if (strcmp(a, "lines") == 0) {
			i = need(i, argc, 2);
			lines(atoi(argv[i - 1]), atol(argv[i]));
		} else if (strcmp(a, "json") == 0) {
			fputs("{\"level\":\"info\",\"msg\":\"probe\"}\n", stderr);
		} else if (strcmp(a, "kill") == 0) {
			i = need(i, argc, 1);
			fflush(stdout);
			signal(atoi(argv[i]), SIG_DFL);
			raise(atoi(argv[i]));
		} else if (strcmp(a, "exit") == 0) {
			i = need(i, argc, 1);
			fflush(stdout);
			return atoi(argv[i]);
		} else {
			fprintf(stderr, "init_probe: unknown action %s\n", a);
			return 2;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(base ? base + 1 : argv[0], "gcs") == 0) {
		report(argc, argv);
		fputs("{\"level\":\"info\",\"msg\":\"gcs probe\"}\n", stderr);
		close(open("/run/gcs.done", O_WRONLY | O_CREAT, 0644));
		return 0;
	}
	return run(argc, argv);
}
