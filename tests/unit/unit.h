/* A small unit-test harness. Each tests/unit/test_*.c becomes one binary:
 *   test_x --list     prints the case names
 *   test_x NAME       runs one case: exit 0 pass, 1 fail, 77 skip
 *   test_x            runs every case, each in its own child process
 * tests/test_unit.py turns every case into a pytest test. */
#ifndef LCOW_UNIT_H
#define LCOW_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*unit_fn)(void);
void unit_register(const char *name, unit_fn fn);
void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
void unit_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* A private directory /tmp/lcow-<tag>-XXXXXX, removed with everything in it
 * when the test process exits; its path goes to buf. Fails the test if it
 * cannot be made. The removal is one atexit() handler, registered at the
 * first call: handlers a test registers after that call run before the
 * directories are removed, those registered before it run after. Symlinks
 * inside are removed, never followed. */
void unit_tmpdir(char *buf, size_t size, const char *tag);

#define TEST(name)                                                                                 \
	static void name(void);                                                                    \
	__attribute__((constructor)) static void unit_reg_##name(void)                             \
	{                                                                                          \
		unit_register(#name, name);                                                        \
	}                                                                                          \
	static void name(void)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                         \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (_a != _b)                                                                      \
			unit_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, _a, _b);   \
	} while (0)

#define CHECK_STREQ(a, b)                                                                          \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0)                                             \
			unit_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,        \
				  _a ? _a : "(null)", _b ? _b : "(null)");                         \
	} while (0)

#define CHECK_CONTAINS(s, sub)                                                                     \
	do {                                                                                       \
		const char *_s = (s), *_sub = (sub);                                               \
		if (!_s || !strstr(_s, _sub))                                                      \
			unit_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"",            \
				  _s ? _s : "(null)", _sub);                                       \
	} while (0)

/* For calls returning 0 or a negative errno. */
#define CHECK_OK(expr)                                                                             \
	do {                                                                                       \
		long _r = (long)(expr);                                                            \
		if (_r < 0)                                                                        \
			unit_fail(__FILE__, __LINE__, "%s failed: %ld (%s)", #expr, _r,            \
				  strerror((int)-_r));                                             \
	} while (0)

#define SKIP(...) unit_skip(__VA_ARGS__)

#endif
