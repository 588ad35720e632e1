#include "unit.h"

#include "process/shell_words.h"

static void expect(const char *line, const char *const *want, int nwant)
{
	struct error e;
	char **argv;
	int n = shell_words_split(line, &argv, &e);

	if (n < 0)
		unit_fail(__FILE__, __LINE__, "split(%s): %s", line, e.msg);
	if (n != nwant)
		unit_fail(__FILE__, __LINE__, "split(%s): %d words, want %d", line, n, nwant);
	for (int i = 0; i < n; i++)
		if (strcmp(argv[i], want[i]) != 0)
			unit_fail(__FILE__, __LINE__, "split(%s)[%d] = [%s], want [%s]", line, i,
				  argv[i], want[i]);
	CHECK(argv[n] == NULL);
	free(argv);
}

#define EXPECT(line, ...)                                                                          \
	do {                                                                                       \
		const char *const _w[] = {__VA_ARGS__};                                            \
		expect(line, _w, (int)(sizeof(_w) / sizeof(_w[0])));                               \
	} while (0)

TEST(plain_words_and_blanks)
{
	EXPECT("  /bin/echo   hello\tworld \n", "/bin/echo", "hello", "world");
}

TEST(empty_line_gives_no_words)
{
	struct error e;
	char **argv;

	CHECK_EQ(shell_words_split(" \t ", &argv, &e), 0);
	CHECK(argv[0] == NULL);
	free(argv);
}

TEST(single_quotes_are_literal)
{
	EXPECT("sh -c 'echo \"$HOME\" \\n'", "sh", "-c", "echo \"$HOME\" \\n");
}

TEST(double_quotes_escape_only_specials)
{
	EXPECT("echo \"a \\\"b\\\" \\$x \\n\"", "echo", "a \"b\" $x \\n");
}

TEST(backslash_outside_quotes)
{
	EXPECT("echo a\\ b \\'c\\'", "echo", "a b", "'c'");
}

TEST(adjacent_quoted_parts_join)
{
	EXPECT("x'a b'\"c d\"e", "xa bc de");
}

TEST(empty_quotes_make_an_empty_word)
{
	EXPECT("prog '' \"\"", "prog", "", "");
}

TEST(line_continuation)
{
	EXPECT("a\\\nb c", "ab", "c");
}

TEST(unterminated_quote_is_an_error)
{
	struct error e;
	char **argv;

	CHECK(shell_words_split("echo 'oops", &argv, &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	CHECK(shell_words_split("echo \"oops", &argv, &e) < 0);
	CHECK(shell_words_split("echo oops\\", &argv, &e) < 0);
}

TEST(many_single_letter_words)
{
	EXPECT("a b c d e f g h", "a", "b", "c", "d", "e", "f", "g", "h");
}
