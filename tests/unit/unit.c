#include "unit.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNIT_MAX 512
#define UNIT_EXIT_SKIP 77
#define UNIT_MAX_TMPDIRS 16

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

/* unit_tmpdir()'s directories, removed by one atexit() handler. */
static char tmpdirs[UNIT_MAX_TMPDIRS][128];
static int ntmpdirs;
static bool tmpdir_remove_failed;
static pid_t tmpdir_owner; /* forked children that exit() leave them alone */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (remove(path) < 0 && errno != ENOENT) {
		fprintf(stderr, "unit: cannot remove %s: %s\n", path, strerror(errno));
		tmpdir_remove_failed = true;
	}
	return 0;
}

/* Mounts a test left below dir (a pod's volumes, a bind) are detached
 * first, deepest first: removal must never reach through one. */
static void detach_mounts_below(const char *dir)
{
	size_t len = strlen(dir);

	for (int round = 0; round < 256; round++) {
		char best[4096] = "", *line = NULL;
		FILE *f = fopen("/proc/self/mountinfo", "re");
		size_t cap = 0;

		if (!f)
			return;
		while (getline(&line, &cap, f) > 0) {
			char mp[4096];

			if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
			    !strncmp(mp, dir, len) && mp[len] == '/' && strlen(mp) > strlen(best))
				snprintf(best, sizeof(best), "%s", mp);
		}
		free(line);
		fclose(f);
		if (!best[0] || umount2(best, MNT_DETACH) < 0)
			return;
	}
}

static void remove_tmpdirs(void)
{
	if (getpid() != tmpdir_owner)
		return;
	for (int i = ntmpdirs - 1; i >= 0; i--) {
		tmpdir_remove_failed = false;
		detach_mounts_below(tmpdirs[i]);
		/* Depth first, and FTW_PHYS: a symlink is removed, not followed. A
		 * directory the test removed itself is no failure. */
		if (nftw(tmpdirs[i], remove_entry, 32, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
			tmpdir_remove_failed = true;
		if (tmpdir_remove_failed)
			fprintf(stderr, "cleanup of %s failed\n", tmpdirs[i]);
	}
}

void unit_tmpdir(char *buf, size_t size, const char *tag)
{
	static bool registered;
	char *dir;
	int n;

	if (ntmpdirs == UNIT_MAX_TMPDIRS)
		unit_fail(__FILE__, __LINE__, "more than %d temp dirs", UNIT_MAX_TMPDIRS);
	dir = tmpdirs[ntmpdirs];
	n = snprintf(dir, sizeof(tmpdirs[0]), "/tmp/lcow-%s-XXXXXX", tag);
	if (n < 0 || (size_t)n >= sizeof(tmpdirs[0]) || (size_t)n >= size)
		unit_fail(__FILE__, __LINE__, "temp dir name for tag %s does not fit", tag);
	if (!registered) {
		if (atexit(remove_tmpdirs) != 0)
			unit_fail(__FILE__, __LINE__, "atexit failed");
		registered = true;
		tmpdir_owner = getpid();
	}
	if (!mkdtemp(dir))
		unit_fail(__FILE__, __LINE__, "mkdtemp(%s): %s", dir, strerror(errno));
	ntmpdirs++;
	memcpy(buf, dir, (size_t)n + 1);
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
