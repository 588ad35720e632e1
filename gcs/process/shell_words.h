/* Splits an ExecuteProcess CommandLine into argv by POSIX shell-word rules
 * (quotes and backslashes; no expansion, no operators), as hosts that send a
 * CommandLine instead of CommandArgs expect. */
#ifndef GCS_PROCESS_SHELL_WORDS_H
#define GCS_PROCESS_SHELL_WORDS_H

#include "error.h"

/* On success *argv_out is a NULL-terminated array in one allocation (free it
 * with free()) and the word count is returned. An empty line yields 0 words.
 * An unterminated quote or trailing backslash is ERR_INVALID_ARG. */
int shell_words_split(const char *line, char ***argv_out, struct error *e);

#endif
