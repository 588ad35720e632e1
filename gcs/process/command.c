/* ProcessParameters -> the command of a UVM process, in heap memory a worker
 * may use after the request is gone. */
#include "process/exec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "process/shell_words.h"

static void free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

void uvm_command_free(struct uvm_command *c)
{
	if (!c)
		return;
	free_strv(c->argv);
	free_strv(c->envp);
	free(c->cwd);
	free(c);
}

static int oom(struct error *err)
{
	return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
}

static int copy_args(char **args, size_t n, struct uvm_command *c, struct error *err)
{
	c->argv = calloc(n + 1, sizeof(*c->argv));
	if (!c->argv)
		return oom(err);
	for (size_t i = 0; i < n; i++) {
		c->argv[i] = strdup(args[i]);
		if (!c->argv[i])
			return oom(err);
	}
	return 0;
}

/* shell_words_split() returns one allocation; the command owns each string. */
static int split_line(const char *line, struct uvm_command *c, struct error *err)
{
	_cleanup_free_ char **words = NULL;
	int n;

	n = shell_words_split(line, &words, err);
	if (n < 0)
		return error_prefix(err, "CommandLine");
	return copy_args(words, (size_t)n, c, err);
}

static int parse_argv(const Gcs__ProcessParameters *p, struct uvm_command *c, struct error *err)
{
	int rc;

	if (p->n_commandargs > 0)
		rc = copy_args(p->commandargs, p->n_commandargs, c, err);
	else if (p->commandline && p->commandline[0])
		rc = split_line(p->commandline, c, err);
	else
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "no command: CommandArgs and CommandLine are both empty");
	if (rc < 0)
		return rc;
	if (!c->argv[0])
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "no command: CommandLine holds no word");
	if (!c->argv[0][0])
		return error_set(err, ERR_INVALID_ARG, EINVAL, "no command: empty program name");
	return 0;
}

/* "K=V" (no stdio.h here: its stdin/stdout macros clash with the
 * VsockStdioRelaySettings fields). */
static char *join_var(const char *k, const char *v)
{
	size_t kl = strlen(k), vl = strlen(v);
	char *s = malloc(kl + vl + 2);

	if (!s)
		return NULL;
	memcpy(s, k, kl);
	s[kl] = '=';
	memcpy(s + kl + 1, v, vl + 1);
	return s;
}

static int parse_env(const Gcs__ProcessParameters *p, struct uvm_command *c, struct error *err)
{
	c->envp = calloc(p->n_environment + 1, sizeof(*c->envp));
	if (!c->envp)
		return oom(err);
	for (size_t i = 0; i < p->n_environment; i++) {
		const char *k = p->environment[i]->key, *v = p->environment[i]->value;

		if (!k[0] || strchr(k, '='))
			return error_set(err, ERR_INVALID_ARG, EINVAL,
					 "Environment: invalid variable name \"%s\"", k);
		c->envp[i] = join_var(k, v);
		if (!c->envp[i])
			return oom(err);
	}
	return 0;
}

static int parse_stdio(const Gcs__ExecuteProcessSettings *s, struct uvm_command *c,
		       struct error *err)
{
	static const char *const names[] = {"StdIn", "StdOut", "StdErr"};
	const Gcs__ExecuteProcessVsockStdioRelaySettings *v = s->vsockstdiorelaysettings;
	const Gcs__ProcessParameters *p = s->processparameters;

	c->want[STDIO_IN] = p->createstdinpipe;
	c->want[STDIO_OUT] = p->createstdoutpipe;
	c->want[STDIO_ERR] = p->createstderrpipe;
	if (v) {
		c->port[STDIO_IN] = v->stdin;
		c->port[STDIO_OUT] = v->stdout;
		c->port[STDIO_ERR] = v->stderr;
	}
	for (int i = 0; i < 3; i++)
		if (c->want[i] && !c->port[i])
			return error_set(err, ERR_INVALID_ARG, EINVAL,
					 "CreateStd%sPipe is set but VsockStdioRelaySettings.%s "
					 "gives no port",
					 names[i] + 3, names[i]);
	return 0;
}

static int parse(const Gcs__ExecuteProcessSettings *s, struct uvm_command *c, struct error *err)
{
	const Gcs__ProcessParameters *p = s ? s->processparameters : NULL;
	int rc;

	if (!p)
		return error_set(err, ERR_INVALID_ARG, EINVAL, "no ProcessParameters");
	rc = parse_argv(p, c, err);
	if (rc == 0)
		rc = parse_env(p, c, err);
	if (rc == 0)
		rc = parse_stdio(s, c, err);
	if (rc < 0)
		return rc;
	if (p->workingdirectory && p->workingdirectory[0]) {
		c->cwd = strdup(p->workingdirectory);
		if (!c->cwd)
			return oom(err);
	}
	c->console = p->emulateconsole;
	/* The reference ignores ConsoleSize; applying it spares the host a
	 * ResizeConsole right after the start. */
	if (p->n_consolesize == 2) {
		c->rows = p->consolesize[0];
		c->cols = p->consolesize[1];
	}
	return 0;
}

int uvm_command_parse(const Gcs__ExecuteProcessSettings *s, struct uvm_command **out,
		      struct error *err)
{
	struct uvm_command *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (!c)
		return oom(err);
	rc = parse(s, c, err);
	if (rc < 0) {
		uvm_command_free(c);
		return rc;
	}
	*out = c;
	return 0;
}
