#include "unit.h"

#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNIT_MAX 512
#define UNIT_EXIT_SKIP 77

static struct {
	const char *name;
	unit_fn fn;
} cases[UNIT_MAX];
static int ncases;

void unit_register(const char *name, unit_fn fn)
{
	if (ncases == UNIT_MAX) {
		fprintf(stderr, "unit: too many cases\n");
		exit(2);
	}
	cases[ncases].name = name;
	cases[ncases].fn = fn;
	ncases++;
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void unit_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(UNIT_EXIT_SKIP);
}

static int run_one(int i)
{
	cases[i].fn();
	return 0;
}

static int run_all(void)
{
	int passed = 0, failed = 0, skipped = 0;

	for (int i = 0; i < ncases; i++) {
		int status;
		pid_t pid;

		fflush(NULL);
		pid = fork();
		if (pid == 0)
			exit(run_one(i));
		if (pid < 0 || waitpid(pid, &status, 0) < 0) {
			perror("unit: fork/wait");
			return 2;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			passed++;
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == UNIT_EXIT_SKIP) {
			skipped++;
		} else {
			printf("FAIL %s\n", cases[i].name);
			failed++;
		}
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return run_all();
	if (strcmp(argv[1], "--list") == 0) {
		for (int i = 0; i < ncases; i++)
			puts(cases[i].name);
		return 0;
	}
	for (int i = 0; i < ncases; i++)
		if (strcmp(cases[i].name, argv[1]) == 0)
			return run_one(i);
	fprintf(stderr, "unit: no case named %s\n", argv[1]);
	return 2;
}
