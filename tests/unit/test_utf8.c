/* utf8_scrub(): what the gcs emits is UTF-8, whatever a file name or a
 * tool's output held. */
#include "unit.h"

#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/utf8.h"

static void expect(const char *in, size_t len, const char *want, size_t replaced)
{
	char buf[64];

	memcpy(buf, in, len);
	CHECK_EQ(utf8_scrub(buf, len), replaced);
	if (memcmp(buf, want, len) != 0)
		unit_fail(__FILE__, __LINE__, "scrub of %zu bytes: got \"%.*s\"", len, (int)len,
			  buf);
}

TEST(well_formed_text_is_left_alone)
{
	const char *s = "ascii \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";

	expect(s, strlen(s), s, 0);
	expect("", 0, "", 0);
}

TEST(invalid_bytes_become_question_marks_one_for_one)
{
	expect("a\xff"
	       "b",
	       3, "a?b", 1);
	expect("\x80\xbf", 2, "??", 2);		  /* stray continuations */
	expect("\xc3", 1, "?", 1);		  /* cut short */
	expect("\xe2\x82", 2, "??", 2);		  /* cut short */
	expect("\xc0\xaf", 2, "??", 2);		  /* overlong '/' */
	expect("\xe0\x80\xaf", 3, "???", 3);	  /* overlong */
	expect("\xed\xa0\x80", 3, "???", 3);	  /* a surrogate */
	expect("\xf4\x90\x80\x80", 4, "????", 4); /* above U+10FFFF */
	expect("\xe2\x82\xac\xe2(", 5, "\xe2\x82\xac?(", 1);
	/* JSON around it stays JSON: only bytes inside strings change. */
	expect("{\"m\":\"\xfe\"}", 9, "{\"m\":\"?\"}", 1);
}

TEST(log_lines_are_utf8_in_both_formats)
{
	char buf[4096];
	ssize_t n;
	int p[2];

	CHECK_OK(pipe(p));
	log_configure(LOG_FORMAT_JSON, LOG_INFO, p[1]);
	log_fields(LOG_INFO, LOG_FIELDS(LOG_STR("path", "/x/\xff\xfe")), "bad \xc0\xaf name");
	log_configure(LOG_FORMAT_TEXT, LOG_INFO, p[1]);
	log_info("text \xe2\x82 end");
	log_configure(LOG_FORMAT_TEXT, LOG_INFO, 2);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	CHECK(n > 0);
	buf[n] = '\0';
	CHECK_EQ(utf8_valid_prefix(buf, (size_t)n), (size_t)n);
	CHECK(strstr(buf, "\"msg\":\"bad ?? name\"") != NULL);
	CHECK(strstr(buf, "\"path\":\"/x/??\"") != NULL);
	CHECK(strstr(buf, "text ?? end") != NULL);
}
