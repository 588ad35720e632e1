#include "modules_index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>

#include "cleanup.h"
#include "pages.h"

/* Generous: a distribution's modules.alias is about 1 MB. */
#define MOD_INDEX_FILE_MAX (64u << 20)

/* The whole file, NUL-terminated, in pages of its own. */
static int read_text(const char *path, char **out, size_t *size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0, len;
	off_t end;
	ssize_t n;
	char *buf;

	if (fd < 0)
		return -errno;
	/* Not fstat: musl's drags statx in (init.mk's size goal). */
	end = lseek(fd, 0, SEEK_END);
	if (end < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	if ((uint64_t)end > MOD_INDEX_FILE_MAX)
		return -EFBIG;
	len = (size_t)end;
	buf = pages_alloc(len + 1);
	if (!buf)
		return -ENOMEM;
	while (got < len && (n = read(fd, buf + got, len - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pages_free(buf, len + 1);
			return -errno;
		}
		got += n;
	}
	buf[got] = '\0'; /* the pages came zeroed; this is for the reader */
	*out = buf;
	*size = len + 1;
	return 0;
}

/* An upper bound on the entries of text: one a line. */
static size_t count_lines(const char *text)
{
	size_t n = 1;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* Cuts the line at *p and moves *p to the next one; NULL at the end. */
static char *next_line(char **p)
{
	char *line = *p, *nl;

	if (*line == '\0')
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = line + strlen(line);
	}
	return line;
}

int mod_index_parse_dep(struct mod_index *ix, char *text)
{
	char *p = text, *line, *colon;

	ix->mods_size = count_lines(text) * sizeof(*ix->mods);
	ix->mods = pages_alloc(ix->mods_size);
	if (!ix->mods)
		return -ENOMEM;
	while ((line = next_line(&p))) {
		colon = strchr(line, ':');
		if (!colon || colon == line)
			continue;
		*colon = '\0';
		ix->mods[ix->n_mods].path = line;
		ix->mods[ix->n_mods].deps = colon + 1 + strspn(colon + 1, " \t");
		ix->n_mods++;
	}
	return 0;
}

/* The next white-space separated word of *p, NUL-terminated in place. */
static char *next_word(char **p)
{
	char *w = *p + strspn(*p, " \t"), *end;

	if (*w == '\0')
		return NULL;
	end = w + strcspn(w, " \t");
	*p = *end ? end + 1 : end;
	*end = '\0';
	return w;
}

int mod_index_parse_alias(struct mod_index *ix, char *text)
{
	char *p = text, *line, *kw, *pattern, *module;

	ix->aliases_size = count_lines(text) * sizeof(*ix->aliases);
	ix->aliases = pages_alloc(ix->aliases_size);
	if (!ix->aliases)
		return -ENOMEM;
	while ((line = next_line(&p))) {
		kw = next_word(&line);
		if (!kw || strcmp(kw, "alias") != 0)
			continue; /* comments and blank lines */
		pattern = next_word(&line);
		module = pattern ? next_word(&line) : NULL;
		if (!module)
			continue;
		ix->aliases[ix->n_aliases].pattern = pattern;
		ix->aliases[ix->n_aliases].module = module;
		ix->n_aliases++;
	}
	return 0;
}

int mod_index_parse_boot(struct mod_index *ix, char *text)
{
	char *p = text, *line, *name;

	ix->boot_size = count_lines(text) * sizeof(*ix->boot);
	ix->boot = pages_alloc(ix->boot_size);
	if (!ix->boot)
		return -ENOMEM;
	while ((line = next_line(&p))) {
		name = next_word(&line);
		if (!name || name[0] == '#')
			continue;
		ix->boot[ix->n_boot++] = name;
	}
	return 0;
}

void mod_index_free(struct mod_index *ix)
{
	pages_free(ix->mods, ix->mods_size);
	pages_free(ix->aliases, ix->aliases_size);
	pages_free(ix->boot, ix->boot_size);
	for (int i = 0; i < 3; i++)
		pages_free(ix->text[i], ix->text_size[i]);
	memset(ix, 0, sizeof(*ix));
}

int mod_index_load(struct mod_index *ix, const char *dir)
{
	char path[4096];
	int r;

	memset(ix, 0, sizeof(*ix));
	snprintf(path, sizeof(path), "%s/modules.dep", dir);
	r = read_text(path, &ix->text[0], &ix->text_size[0]);
	if (r < 0)
		return r;
	r = mod_index_parse_dep(ix, ix->text[0]);
	if (r < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/modules.alias", dir);
	r = read_text(path, &ix->text[1], &ix->text_size[1]);
	if (r == 0)
		r = mod_index_parse_alias(ix, ix->text[1]);
	if (r < 0 && r != -ENOENT)
		goto fail;
	snprintf(path, sizeof(path), "%s/modules.lcow", dir);
	r = read_text(path, &ix->text[2], &ix->text_size[2]);
	if (r == 0)
		r = mod_index_parse_boot(ix, ix->text[2]);
	if (r < 0 && r != -ENOENT)
		goto fail;
	return 0;
fail:
	mod_index_free(ix);
	return r;
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

const char *mod_name(const char *path, char *buf, size_t len)
{
	const char *base = base_of(path);
	size_t n = strcspn(base, ".");

	if (len == 0)
		return buf;
	if (n >= len)
		n = len - 1;
	memcpy(buf, base, n);
	buf[n] = '\0';
	return buf;
}

static char fold(char c)
{
	return c == '-' ? '_' : c;
}

/* name (len bytes) against the module file name of path. */
static bool name_is(const char *path, const char *name, size_t len)
{
	const char *base = base_of(path);

	for (size_t i = 0; i < len; i++)
		if (base[i] == '\0' || fold(base[i]) != fold(name[i]))
			return false;
	return base[len] == '.' || base[len] == '\0';
}

int mod_index_find(const struct mod_index *ix, const char *name, size_t len)
{
	for (size_t i = 0; i < ix->n_mods; i++)
		if (name_is(ix->mods[i].path, name, len))
			return (int)i;
	return -ENOENT;
}
