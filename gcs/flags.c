#include "flags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int flags_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Base prefix 0x, 0o, 0b or a leading 0 (octal), and underscores between
 * digits (Go integer literal syntax), as ParseUint with base 0. */
int flags_parse_uint64(const char *s, uint64_t *out)
{
	unsigned base = 10;
	bool prefixed = false, digit = false, last_us = false;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		prefixed = true;
	} else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
		base = 8;
		s += 2;
		prefixed = true;
	} else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		base = 2;
		s += 2;
		prefixed = true;
	} else if (s[0] == '0' && s[1]) {
		base = 8;
		s += 1;
		prefixed = true;
	}
	for (; *s; s++) {
		unsigned d;

		if (*s == '_') {
			/* after a digit or the prefix, never twice in a row */
			if (last_us || !(digit || prefixed))
				return -EINVAL;
			last_us = true;
			continue;
		}
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -EINVAL;
		if (d >= base || v > (UINT64_MAX - d) / base)
			return -EINVAL;
		v = v * base + d;
		digit = true;
		last_us = false;
	}
	if (!digit || last_us)
		return -EINVAL;
	*out = v;
	return 0;
}

static struct flag *find(struct flag *flags, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
			return &flags[i];
	return NULL;
}

static int set_value(struct flag *f, const char *value, struct error *err)
{
	int rc = 0;

	switch (f->type) {
	case FLAG_BOOL:
		rc = flags_parse_bool(value, f->value);
		if (rc < 0)
			return error_set(err, ERR_INVALID_ARG, EINVAL,
					 "invalid boolean value \"%s\" for -%s: parse error", value,
					 f->name);
		break;
	case FLAG_STRING:
		*(const char **)f->value = value;
		break;
	case FLAG_UINT64:
		rc = flags_parse_uint64(value, f->value);
		if (rc < 0)
			return error_set(err, ERR_INVALID_ARG, EINVAL,
					 "invalid value \"%s\" for flag -%s: parse error", value,
					 f->name);
		break;
	}
	return 0;
}

/* One argument (and maybe the next): returns how many were used. */
static int parse_one(struct flag *flags, size_t n, int argc, char *const argv[], int i,
		     struct error *err)
{
	const char *arg = argv[i], *name = arg + 1, *eq;
	size_t len;
	struct flag *f;

	if (name[0] == '-')
		name++;
	if (!name[0] || name[0] == '-' || name[0] == '=')
		return error_set(err, ERR_INVALID_ARG, EINVAL, "bad flag syntax: %s", arg);
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	f = find(flags, n, name, len);
	if (!f) {
		if ((len == 1 && name[0] == 'h') || (len == 4 && strncmp(name, "help", 4) == 0))
			return -EAGAIN;
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "flag provided but not defined: -%.*s", (int)len, name);
	}
	if (eq)
		return set_value(f, eq + 1, err) < 0 ? -EINVAL : 1;
	if (f->type == FLAG_BOOL)
		return set_value(f, "true", err) < 0 ? -EINVAL : 1;
	if (i + 1 >= argc)
		return error_set(err, ERR_INVALID_ARG, EINVAL, "flag needs an argument: -%s",
				 f->name);
	return set_value(f, argv[i + 1], err) < 0 ? -EINVAL : 2;
}

int flags_parse(struct flag *flags, size_t n, int argc, char *const argv[], struct error *err)
{
	int i = 1;

	while (i < argc) {
		const char *arg = argv[i];
		int used;

		if (arg[0] != '-' || arg[1] == '\0')
			break;
		if (strcmp(arg, "--") == 0)
			return i + 1;
		used = parse_one(flags, n, argc, argv, i, err);
		if (used < 0)
			return used == -EAGAIN ? -EAGAIN : -EINVAL;
		i += used;
	}
	return i;
}

char *flags_usage(const struct flag *flags, size_t n, const char *prog)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "Usage of %s:\n", prog);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  -%s%s\n    \t%s\n", flags[i].name,
			flags[i].type == FLAG_BOOL     ? ""
			: flags[i].type == FLAG_STRING ? " string"
						       : " uint",
			flags[i].usage);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
