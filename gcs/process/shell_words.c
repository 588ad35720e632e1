#include "process/shell_words.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum quote {
	QUOTE_NONE,
	QUOTE_SINGLE,
	QUOTE_DOUBLE
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Inside double quotes a backslash only escapes these (POSIX 2.2.3). */
static bool escapable_in_double(char c)
{
	return c == '\\' || c == '"' || c == '$' || c == '`' || c == '\n';
}

/* One pass over the line writing words, NUL-separated, into out (which has
 * room for strlen(line) + 1 bytes per the argument below). Returns the word
 * count or -EINVAL. */
static int split_into(const char *p, char *out, int *nwords)
{
	enum quote q = QUOTE_NONE;
	bool in_word = false;

	*nwords = 0;
	for (; *p; p++) {
		char c = *p;

		if (q == QUOTE_SINGLE) {
			if (c == '\'')
				q = QUOTE_NONE;
			else
				*out++ = c;
			continue;
		}
		if (c == '\\') {
			char next = p[1];

			if (!next)
				return -EINVAL;
			p++;
			if (q == QUOTE_DOUBLE && !escapable_in_double(next))
				*out++ = '\\';
			/* Backslash-newline is a line continuation outside quotes. */
			if (!(q == QUOTE_NONE && next == '\n') &&
			    !(q == QUOTE_DOUBLE && next == '\n'))
				*out++ = next;
			in_word = in_word || next != '\n';
			continue;
		}
		if (q == QUOTE_DOUBLE) {
			if (c == '"')
				q = QUOTE_NONE;
			else
				*out++ = c;
			continue;
		}
		if (is_blank(c)) {
			if (in_word) {
				*out++ = '\0';
				(*nwords)++;
				in_word = false;
			}
			continue;
		}
		in_word = true;
		if (c == '\'')
			q = QUOTE_SINGLE;
		else if (c == '"')
			q = QUOTE_DOUBLE;
		else
			*out++ = c;
	}
	if (q != QUOTE_NONE)
		return -EINVAL;
	if (in_word) {
		*out++ = '\0';
		(*nwords)++;
	}
	return 0;
}

int shell_words_split(const char *line, char ***argv_out, struct error *e)
{
	size_t len = strlen(line);
	/* Words never exceed the input, and there are at most len/2+1 words. */
	size_t max_words = len / 2 + 2;
	char **argv, *text, *w;
	int n, rc;

	argv = malloc(max_words * sizeof(char *) + len + 1);
	if (!argv)
		return error_errno(e, ENOMEM, "split command line");
	text = (char *)(argv + max_words);
	rc = split_into(line, text, &n);
	if (rc < 0) {
		free(argv);
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "command line has an unterminated quote or escape");
	}
	w = text;
	for (int i = 0; i < n; i++) {
		argv[i] = w;
		w += strlen(w) + 1;
	}
	argv[n] = NULL;
	*argv_out = argv;
	return n;
}
