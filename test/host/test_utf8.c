/* Names as valid UTF-8 (host/kernel/utf8.c): cuts at a character boundary,
 * U+FFFD for each byte that starts no valid sequence, label escapes. */

#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "utf8.h"

#define FFFD "\xef\xbf\xbd"

static char *written(const char *s, enum host_utf8_escape esc) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	host_utf8_write(f, s, esc);
	fclose(f);
	return buf;
}

static void check(const char *in, enum host_utf8_escape esc, const char *want) {
	char *got = written(in, esc);
	assert_string_equal(got, want);
	free(got);
}

static void test_cut_at_boundary(void **state) {
	(void)state;
	char buf[32];
	/* "room " + 11 three-byte characters = 38 bytes; 31 fit: cut after 8 characters */
	assert_int_equal(host_utf8_cut(buf, sizeof(buf), "room 房间一二三四五六七八九"), 29);
	assert_string_equal(buf, "room 房间一二三四五六");
	assert_int_equal(host_utf8_cut(buf, 6, "ab😀"), 2);   /* a 4-byte character does not fit in 3 */
	assert_string_equal(buf, "ab");
	assert_int_equal(host_utf8_cut(buf, 7, "ab😀"), 6);
	assert_int_equal(host_utf8_cut(buf, sizeof(buf), "short"), 5);
	assert_int_equal(host_utf8_cut(buf, 1, "x"), 0);
	assert_string_equal(buf, "");
}

static void test_invalid_bytes(void **state) {
	(void)state;
	check("ok 房 😀", HOST_UTF8_RAW, "ok 房 😀");
	check("bad \xff\xfe end", HOST_UTF8_RAW, "bad " FFFD FFFD " end");
	check("\xc0\x80", HOST_UTF8_RAW, FFFD FFFD);                  /* overlong NUL */
	check("\xe0\x80\xaf", HOST_UTF8_RAW, FFFD FFFD FFFD);         /* overlong '/' */
	check("\xed\xa0\x80", HOST_UTF8_RAW, FFFD FFFD FFFD);         /* a surrogate */
	check("\xf4\x90\x80\x80", HOST_UTF8_RAW, FFFD FFFD FFFD FFFD); /* past U+10FFFF */
	check("\xf4\x8f\xbf\xbf", HOST_UTF8_RAW, "\xf4\x8f\xbf\xbf"); /* U+10FFFF itself */
	check("cut \xe6\x88", HOST_UTF8_RAW, "cut " FFFD FFFD);       /* cut short */
	check("\x80x", HOST_UTF8_RAW, FFFD "x");                      /* a stray continuation */
}

static void test_escapes(void **state) {
	(void)state;
	check("say \"hi\" C:\\x\nend", HOST_UTF8_LABEL, "say \\\"hi\\\" C:\\\\x\\nend");
	check("a\tb\nc\x7f", HOST_UTF8_LINE, "a?b?c?");
	check("\"\\\n", HOST_UTF8_RAW, "\"\\\n");
	char *c = host_utf8_clean("x\xffy");
	assert_string_equal(c, "x" FFFD "y");
	free(c);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_at_boundary),
		cmocka_unit_test(test_invalid_bytes),
		cmocka_unit_test(test_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
