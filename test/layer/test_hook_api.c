/* The interposer linked into a program: the whole malloc family is accounted
 * and keeps the C library's contracts at its edges. */

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

#define H 0x04000001u

static volatile size_t huge = SIZE_MAX;

static void family_is_accounted(void **state) {
	(void)state;
	skynet_mem_set_current(H);
	void *p[8];
	p[0] = malloc(100);
	p[1] = calloc(10, 10);
	p[2] = realloc(NULL, 100);
	p[3] = memalign(64, 100);
	p[4] = aligned_alloc(128, 256);
	assert_int_equal(posix_memalign(&p[5], 256, 100), 0);
	p[6] = valloc(100);
	p[7] = pvalloc(100);
	size_t charged = 0;
	for (int i = 0; i < 8; i++) {
		assert_non_null(p[i]);
		assert_int_equal(skynet_mem_owner(p[i]), H);
		assert_true(malloc_usable_size(p[i]) >= 100);
		charged += skynet_mem_block_charge(p[i]);
	}
	long page = sysconf(_SC_PAGESIZE);
	assert_int_equal((uintptr_t)p[6] % page, 0);
	assert_int_equal((uintptr_t)p[7] % page, 0);
	assert_true(malloc_usable_size(p[7]) >= (size_t)page);   /* pvalloc rounds up */
	struct skynet_mem_stat st = stat_of(H);
	assert_int_equal(st.blocks, 8);
	assert_int_equal(st.bytes, charged);
	for (int i = 0; i < 8; i++)
		free(p[i]);
	st = stat_of(H);
	assert_int_equal(st.blocks, 0);
	assert_int_equal(st.bytes, 0);
	skynet_mem_set_current(0);
}

static void edges(void **state) {
	(void)state;
	errno = 0;
	assert_null(malloc(huge));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(calloc(huge / 2, 3));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(reallocarray(NULL, huge / 2, 3));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(pvalloc(huge - 10));
	assert_int_equal(errno, ENOMEM);
	void *q = (void *)1;
	assert_int_equal(posix_memalign(&q, 3, 10), EINVAL);
	assert_int_equal(posix_memalign(&q, 64, huge), ENOMEM);
	assert_ptr_equal(q, (void *)1);
	char *r = reallocarray(NULL, 10, 10);
	memset(r, 7, 100);
	r = reallocarray(r, 20, 10);
	assert_int_equal(r[99], 7);
	free(r);
	/* glibc's memalign rounds any alignment up to a power of two */
	void *a = memalign(24, 10), *b = memalign(0, 10), *c = aligned_alloc(3000, 10);
	assert_int_equal((uintptr_t)a % 32, 0);
	assert_non_null(b);
	assert_int_equal((uintptr_t)c % 4096, 0);
	free(a);
	free(b);
	free(c);
	assert_int_equal(malloc_usable_size(NULL), 0);
	free(NULL);
	char *z = malloc(0);
	assert_non_null(z);
	free(z);
	char *s = strdup("interposed");   /* libc's strdup calls our malloc */
	assert_int_equal(skynet_mem_owner(s), 0);
	free(s);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(family_is_accounted),
		cmocka_unit_test(edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
