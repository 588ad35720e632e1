/* Bridge benchmark (make bench): plays the host over the unix transport,
 * starts a gcs, negotiates, reads its VmRSS, then times round trips of a
 * no-op request (GetProperties on the UVM with an empty Query) and prints
 * p50/p99. A figure, not a test.
 *
 *   bench_bridge <gcs> [iterations] [loglevel]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PORT 0x40000000u

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void put_header(uint8_t *p, uint32_t type, uint32_t size, uint64_t id)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(type >> (8 * i));
		p[4 + i] = (uint8_t)(size >> (8 * i));
	}
	for (int i = 0; i < 8; i++)
		p[8 + i] = (uint8_t)(id >> (8 * i));
}

static void read_full(int fd, void *buf, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r = read(fd, (char *)buf + off, n - off);

		if (r <= 0)
			die("read from gcs");
		off += (size_t)r;
	}
}

/* Sends one request and reads one reply; returns the reply's ID. */
static uint64_t round_trip(int fd, uint32_t type, uint64_t id, const char *body)
{
	uint8_t buf[70000];
	size_t n = strlen(body);
	uint32_t size;
	uint64_t rid = 0;

	put_header(buf, type, (uint32_t)(16 + n), id);
	memcpy(buf + 16, body, n);
	if (write(fd, buf, 16 + n) != (ssize_t)(16 + n))
		die("write to gcs");
	read_full(fd, buf, 16);
	size = (uint32_t)buf[4] | (uint32_t)buf[5] << 8 | (uint32_t)buf[6] << 16 |
	       (uint32_t)buf[7] << 24;
	for (int i = 7; i >= 0; i--)
		rid = rid << 8 | buf[8 + i];
	if (size < 16 || size > sizeof(buf))
		die("reply size");
	read_full(fd, buf + 16, size - 16);
	if (!memmem(buf + 16, size - 16, "\"Result\":0", 10)) {
		fprintf(stderr, "request failed: %.*s\n", (int)(size - 16), buf + 16);
		exit(1);
	}
	return rid;
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void *drain_log(void *arg)
{
	char buf[65536];

	while (read((int)(intptr_t)arg, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *gcs = argc > 1 ? argv[1] : "gcs";
	long iters = argc > 2 ? atol(argv[2]) : 20000;
	const char *level = argc > 3 ? argv[3] : "info";
	char dir[] = "/tmp/lcow-bench-XXXXXX", prefix[64], transport[96];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *req =
		"{\"ContainerId\":\"00000000-0000-0000-0000-000000000000\","
		"\"ActivityId\":\"00000000-0000-0000-0000-000000000000\",\"Query\":\"\"}\n";
	uint64_t *lat, total = 0;
	int lfd, fd, logp[2], status;
	long rss_neg, rss_end;
	pthread_t th;
	pid_t pid;

	if (iters < 100 || !mkdtemp(dir))
		die("setup");
	snprintf(prefix, sizeof(prefix), "%s/v", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", prefix, PORT);
	snprintf(transport, sizeof(transport), "unix:%s", prefix);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0)
		die("listen");
	if (pipe2(logp, O_CLOEXEC) < 0)
		die("pipe");
	pid = fork();
	if (pid == 0) {
		dup2(logp[1], 2);
		setenv("LCOW_FORBID_VSOCK", "1", 1);
		execl(gcs, gcs, "-v4", "-log-format", "json", "-loglevel", level, "-transport",
		      transport, (char *)NULL);
		_exit(127);
	}
	close(logp[1]);
	pthread_create(&th, NULL, drain_log, (void *)(intptr_t)logp[0]);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		die("accept");
	round_trip(fd, 0x10100b01, 0,
		   "{\"ContainerId\":\"\",\"ActivityId\":\"00000000-0000-0000-0000-000000000000\","
		   "\"MinimumVersion\":4,\"MaximumVersion\":4}\n");
	usleep(100000);
	rss_neg = rss_kib(pid);

	lat = calloc((size_t)iters, sizeof(*lat));
	for (long i = 0; i < 1000; i++) /* warm-up */
		round_trip(fd, 0x10100901, (uint64_t)i + 1, req);
	for (long i = 0; i < iters; i++) {
		uint64_t t0 = now_ns();

		if (round_trip(fd, 0x10100901, (uint64_t)(i + 1001), req) != (uint64_t)(i + 1001))
			die("reply id");
		lat[i] = now_ns() - t0;
		total += lat[i];
	}
	rss_end = rss_kib(pid);
	qsort(lat, (size_t)iters, sizeof(*lat), cmp_u64);
	printf("bench-bridge: GetProperties(UVM) round trip over unix, %ld requests, "
	       "-loglevel %s\n",
	       iters, level);
	printf("  p50 %.1f us  p99 %.1f us  p99.9 %.1f us  mean %.1f us\n", lat[iters / 2] / 1000.0,
	       lat[iters * 99 / 100] / 1000.0, lat[iters * 999 / 1000] / 1000.0,
	       (double)total / (double)iters / 1000.0);
	printf("  gcs VmRSS after negotiation %ld KiB (%.2f MiB), after the run %ld KiB\n", rss_neg,
	       rss_neg / 1024.0, rss_end);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	close(fd);
	pthread_join(th, NULL);
	unlink(sa.sun_path);
	rmdir(dir);
	free(lat);
	return 0;
}
