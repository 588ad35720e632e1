#include "opt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void init_opt_start(struct init_opt *it, int argc, char **argv, const char *spec)
{
	memset(it, 0, sizeof(*it));
	it->argc = argc;
	it->argv = argv;
	it->spec = spec;
	it->ind = 1;
}

/* Steps past the current cluster letter, moving to the next argv element
 * when the cluster is used up. */
static void opt_advance(struct init_opt *it, const char *word)
{
	if (word[++it->pos] != '\0')
		return;
	it->pos = 0;
	it->ind++;
}

int init_opt_next(struct init_opt *it)
{
	const char *word, *spec;
	char c;

	it->arg = NULL;
	if (it->ind >= it->argc || !it->argv[it->ind])
		return -1;
	word = it->argv[it->ind];
	if (it->pos == 0) {
		if (word[0] != '-' || word[1] == '\0')
			return -1; /* first operand ("-" alone is one too) */
		if (strcmp(word, "--") == 0) {
			it->ind++;
			return -1;
		}
		it->pos = 1;
	}
	c = word[it->pos];
	spec = c == ':' ? NULL : strchr(it->spec, c);
	if (!spec) {
		it->bad = c;
		opt_advance(it, word);
		return '?';
	}
	if (spec[1] != ':') {
		opt_advance(it, word);
		return c;
	}
	/* The argument is the rest of this word, or else the next word. */
	if (word[it->pos + 1] != '\0') {
		it->arg = word + it->pos + 1;
		it->ind++;
	} else if (it->ind + 1 < it->argc && it->argv[it->ind + 1]) {
		it->arg = it->argv[it->ind + 1];
		it->ind += 2;
	} else {
		it->bad = c;
		it->ind++;
		it->pos = 0;
		return ':';
	}
	it->pos = 0;
	return c;
}

int init_parse_port(const char *s, uint32_t *port)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v == 0 || v >= 0xffffffffULL)
		return -ERANGE;
	*port = (uint32_t)v;
	return 0;
}
