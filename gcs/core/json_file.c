/* JSON documents in files and buffers (config.json, runc's state and
 * process.json), and writing a file so that readers never see half of it. */
#include "core/json_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

int file_write_atomic(const char *path, const char *data, size_t len, mode_t mode, struct error *e)
{
	char tmp[PATH_MAX];
	_cleanup_close_ int fd = -1;
	size_t off = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp))
		return error_set(e, ERR_FAIL, ENAMETOOLONG, "path too long: %s", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return error_errno(e, errno, "create %s", tmp);
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			unlink(tmp);
			return error_errno(e, err, "write %s", tmp);
		}
		off += (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || rename(tmp, path) < 0) {
		int err = errno;

		unlink(tmp);
		return error_errno(e, err, "write %s", path);
	}
	return 0;
}

int json_file_write(const char *path, struct json_object *obj, struct error *e)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	if (!s)
		return error_set(e, ERR_FAIL, ENOMEM, "serialise %s", path);
	return file_write_atomic(path, s, len, 0600, e);
}

int json_text_parse(const char *text, size_t len, struct json_object **out, struct error *e)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	enum json_tokener_error jerr;
	struct json_object *o;
	bool trailing = false;

	*out = NULL;
	if (!tok)
		return error_set(e, ERR_FAIL, ENOMEM, "json: out of memory");
	o = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	/* Only whitespace may follow the document. */
	for (size_t i = json_tokener_get_parse_end(tok); jerr == json_tokener_success && i < len;
	     i++)
		trailing |= !strchr(" \t\r\n", text[i]);
	json_tokener_free(tok);
	if (jerr != json_tokener_success || trailing) {
		json_object_put(o);
		return error_set(e, ERR_BAD_JSON, EINVAL, "invalid JSON: %s",
				 trailing ? "data after the document"
					  : json_tokener_error_desc(jerr));
	}
	*out = o; /* NULL for the document "null" */
	return 0;
}

int json_file_read(const char *path, struct json_object **out, struct error *e)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t off = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return error_errno(e, errno, "open %s", path);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return error_set(e, ERR_FAIL, ENOMEM, "read %s: out of memory", path);
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_errno(e, errno, "read %s", path);
		if (n == 0)
			break;
		off += (size_t)n;
	}
	if (json_text_parse(buf, off, out, e) < 0)
		return error_prefix(e, "%s", path);
	return 0;
}
