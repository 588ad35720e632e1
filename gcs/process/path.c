/* argv[0] -> the executable to exec, as Go's exec.LookPath resolves it for
 * the reference GCS (spec §3.4: "argv[0] resolved on the GCS's PATH"). */
#include "process/process.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static bool is_executable(const char *file)
{
	struct stat st;

	return stat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

static int copy_name(const char *name, char *out, size_t size, struct error *err)
{
	if (strlen(name) >= size)
		return error_set(err, ERR_INVALID_ARG, ENAMETOOLONG, "exec %s: name too long",
				 name);
	strcpy(out, name);
	return 0;
}

/* Tries dir/name for the directory path[0..len). */
static bool try_dir(const char *dir, size_t len, const char *name, char *out, size_t size)
{
	int n;

	if (len == 0 || dir[0] != '/')
		return false;
	n = snprintf(out, size, "%.*s/%s", (int)len, dir, name);
	return n > 0 && (size_t)n < size && is_executable(out);
}

int process_find_executable(const char *name, const char *path, char *out, size_t size,
			    struct error *err)
{
	if (!name || !name[0])
		return error_set(err, ERR_INVALID_ARG, EINVAL, "exec: empty program name");
	if (strchr(name, '/'))
		return copy_name(name, out, size, err);
	if (!path || !path[0])
		path = PROCESS_DEFAULT_PATH;
	for (const char *p = path;;) {
		const char *end = strchrnul(p, ':');

		if (try_dir(p, (size_t)(end - p), name, out, size))
			return 0;
		if (!*end)
			break;
		p = end + 1;
	}
	return error_set(err, ERR_FAIL, ENOENT, "exec: \"%s\": executable file not found in $PATH",
			 name);
}
