#ifndef SKYNET_MEM_CMOCKA_LITE_H
#define SKYNET_MEM_CMOCKA_LITE_H

/* The few cmocka names the layer's tests use, for a machine without cmocka
 * (test/CMakeLists.txt picks this folder only when pkg-config finds none):
 * the layer and its tests then need a C compiler and jemalloc alone. Each
 * test runs in turn; a failed assertion on the test's thread ends that test
 * (longjmp), on another thread the process (abort). main returns the
 * number of failed tests, as cmocka's does. */

#include <inttypes.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct CMUnitTest {
	const char *name;
	void (*test_func)(void **state);
};

#define cmocka_unit_test(f) { #f, f }

static jmp_buf cml_jump;
static __thread int cml_on_runner;
static int cml_skipped;

static inline void cml_fail(const char *file, int line, const char *what) {
	fprintf(stderr, "%s:%d: error: %s\n", file, line, what);
	if (!cml_on_runner)
		abort();
	longjmp(cml_jump, 1);
}

static inline void cml_int(uintmax_t a, uintmax_t b, int want_equal, const char *file, int line) {
	if ((a == b) != want_equal) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%#" PRIxMAX " %s %#" PRIxMAX, a, want_equal ? "!=" : "==", b);
		cml_fail(file, line, msg);
	}
}

#define assert_true(c) ((c) ? (void)0 : cml_fail(__FILE__, __LINE__, #c " is false"))
#define assert_false(c) (!(c) ? (void)0 : cml_fail(__FILE__, __LINE__, #c " is true"))
#define assert_non_null(p) ((p) != NULL ? (void)0 : cml_fail(__FILE__, __LINE__, #p " is NULL"))
#define assert_null(p) ((p) == NULL ? (void)0 : cml_fail(__FILE__, __LINE__, #p " is not NULL"))
#define assert_int_equal(a, b) cml_int((uintmax_t)(a), (uintmax_t)(b), 1, __FILE__, __LINE__)
#define assert_int_not_equal(a, b) cml_int((uintmax_t)(a), (uintmax_t)(b), 0, __FILE__, __LINE__)
#define assert_ptr_equal(a, b) cml_int((uintptr_t)(a), (uintptr_t)(b), 1, __FILE__, __LINE__)
#define assert_ptr_not_equal(a, b) cml_int((uintptr_t)(a), (uintptr_t)(b), 0, __FILE__, __LINE__)
#define assert_string_equal(a, b) \
	(strcmp((a), (b)) == 0 ? (void)0 : cml_fail(__FILE__, __LINE__, "\"" #a "\" != \"" #b "\""))
#define fail() cml_fail(__FILE__, __LINE__, "fail()")
#define fail_msg(...) do { \
		char cml_msg[256]; \
		snprintf(cml_msg, sizeof(cml_msg), __VA_ARGS__); \
		cml_fail(__FILE__, __LINE__, cml_msg); \
	} while (0)
#define skip() do { cml_skipped = 1; longjmp(cml_jump, 1); } while (0)

static inline int cml_run(const struct CMUnitTest *t, size_t n,
	int (*setup)(void **), int (*teardown)(void **)) {
	void *state = NULL;
	int failed = 0;
	cml_on_runner = 1;
	if (setup && setup(&state) != 0) {
		fprintf(stderr, "[  ERROR   ] group setup failed\n");
		return (int)n;
	}
	printf("[==========] Running %zu test(s).\n", n);
	for (size_t i = 0; i < n; i++) {
		void *s = state;
		printf("[ RUN      ] %s\n", t[i].name);
		fflush(stdout);
		cml_skipped = 0;
		if (setjmp(cml_jump) == 0) {
			t[i].test_func(&s);
			printf("[       OK ] %s\n", t[i].name);
		} else if (cml_skipped) {
			printf("[  SKIPPED ] %s\n", t[i].name);
		} else {
			printf("[  FAILED  ] %s\n", t[i].name);
			failed++;
		}
		fflush(stdout);
	}
	if (teardown)
		teardown(&state);
	printf("[==========] %zu test(s) run, %d failed.\n", n, failed);
	return failed;
}

#define cmocka_run_group_tests(tests, setup, teardown) \
	cml_run(tests, sizeof(tests) / sizeof((tests)[0]), setup, teardown)

#endif
