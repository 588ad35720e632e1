/* The endpoints of the stdio benchmark (tests/bench/bench_process.py), the
 * same for the gcs run and for the baseline so that only the relay differs:
 *
 *   stdio_copy source <bytes>   writes <bytes> to stdout (1 MiB writes)
 *   stdio_copy sink             reads stdin to EOF (1 MiB reads)
 *   stdio_copy copy [pipe-size] the baseline relay: a plain read/write loop
 *                               through a 64 KiB buffer, stdin -> stdout;
 *                               with pipe-size, its pipe end gets that
 *                               capacity first (as the gcs relay does)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIG (1 << 20)
#define COPY_BUF (64 * 1024)

static char buf[BIG];

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int source(unsigned long long total)
{
	memset(buf, 'x', sizeof(buf));
	while (total > 0) {
		size_t n = total < sizeof(buf) ? (size_t)total : sizeof(buf);

		if (write_all(1, buf, n) < 0)
			return 1;
		total -= n;
	}
	return 0;
}

static int pump(size_t chunk, int out)
{
	for (;;) {
		ssize_t n = read(0, buf, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		if (n == 0)
			return 0;
		if (out >= 0 && write_all(out, buf, (size_t)n) < 0)
			return 1;
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "source") == 0)
		return source(strtoull(argv[2], NULL, 10));
	if (argc == 2 && strcmp(argv[1], "sink") == 0)
		return pump(BIG, -1);
	if (argc >= 2 && strcmp(argv[1], "copy") == 0) {
		if (argc == 3) {
			int size = atoi(argv[2]);

			/* whichever of stdin/stdout is a pipe */
			fcntl(0, F_SETPIPE_SZ, size);
			fcntl(1, F_SETPIPE_SZ, size);
		}
		return pump(COPY_BUF, 1);
	}
	fprintf(stderr, "usage: stdio_copy source <bytes> | sink | copy\n");
	return 2;
}
