#include "glob.h"

#include <stddef.h>

/* The bracket expression after a '[' at *p against c: 1 or 0, with *p moved
 * past its ']'; -1 (and *p untouched) when no ']' closes it, which makes the
 * '[' an ordinary character. A ']' right after "[" or "[!" is a member;
 * '\' is an ordinary member (as in musl's fnmatch). */
static int match_bracket(const char **pp, unsigned char c)
{
	const char *p = *pp;
	bool neg = false, hit = false;
	unsigned char lo, hi;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	do {
		if (*p == '\0')
			return -1;
		lo = *p++;
		hi = lo;
		if (p[0] == '-' && p[1] && p[1] != ']') {
			hi = p[1];
			p += 2;
		}
		if (lo <= c && c <= hi)
			hit = true;
	} while (*p != ']');
	*pp = p + 1;
	return hit != neg;
}

/* Whether the one-character element at *p matches c; moves *p past it. */
static bool match_one(const char **pp, unsigned char c)
{
	const char *p = *pp;
	int r;

	switch (*p) {
	case '?':
		*pp = p + 1;
		return true;
	case '[':
		*pp = p + 1;
		r = match_bracket(pp, c);
		if (r >= 0)
			return r;
		return c == '[';
	case '\\':
		if (p[1])
			p++;
		break;
	}
	*pp = p + 1;
	return (unsigned char)*p == c;
}

bool glob_match(const char *p, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;

	for (;;) {
		if (*p == '*') {
			/* Match as little as possible; the mismatch path below
			 * lets this star take one more character. Only the
			 * last star ever needs to. */
			star_p = ++p;
			star_s = s;
			continue;
		}
		if (*s == '\0' && *p == '\0')
			return true;
		if (*s != '\0' && *p != '\0' && match_one(&p, *s)) {
			s++;
			continue;
		}
		if (!star_p || *star_s == '\0')
			return false;
		p = star_p;
		s = ++star_s;
	}
}
