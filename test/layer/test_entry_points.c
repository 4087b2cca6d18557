/* Every skynet_malloc.h entry point at its edges. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "skynet_malloc.h"
#include "test_util.h"

#define H 0x0a000001u

/* Sizes through a volatile, so the compiler does not reject them at build time. */
static volatile size_t huge_half = SIZE_MAX / 2, huge_max = SIZE_MAX;

static int setup(void **state) {
	(void)state;
	skynet_mem_set_current(H);
	return 0;
}

static void malloc_zero_gives_distinct_blocks(void **state) {
	(void)state;
	void *a = skynet_malloc(0), *b = skynet_malloc(0);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_true(skynet_mem_block_charge(a) >= TEST_COOKIE_SIZE);
	skynet_free(a);
	skynet_free(b);
	skynet_free(NULL);
}

/* The caller may write every requested byte; under _FORTIFY_SOURCE=3 the
 * memset is checked against the alloc_size the header declares. */
static void every_requested_byte_is_usable(void **state) {
	(void)state;
	for (size_t n = 0; n < 5000; n += (n < 64 ? 1 : 37)) {
		unsigned char *p = skynet_malloc(n);
		assert_non_null(p);
		memset(p, 0xab, n);
		assert_true(skynet_mem_usable_size(p) >= n);
		assert_int_equal(skynet_mem_owner(p), H);
		skynet_free(p);
	}
}

static void charge_is_the_size_class(void **state) {
	(void)state;
	for (size_t n = 1; n < 70000; n = n * 3 + 1) {
		void *p = skynet_malloc(n);
		assert_non_null(p);
		size_t u = skynet_mem_block_charge(p);
		assert_true(u >= n + test_overhead(u));
#ifdef SKYNET_MEM_CHECK
		assert_int_equal(skynet_mem_usable_size(p), n);   /* past n lies the canary */
#else
		assert_int_equal(skynet_mem_usable_size(p), u - test_overhead(u));
#endif
#ifdef SKYNET_MEM_USE_JEMALLOC
		assert_int_equal(u, skynet_mem_charge_size(n));
#endif
		skynet_free(p);
	}
}

static void calloc_zeroes_and_checks_overflow(void **state) {
	(void)state;
	unsigned char *p = skynet_calloc(100, 33);
	assert_non_null(p);
	for (int i = 0; i < 3300; i++)
		assert_int_equal(p[i], 0);
	skynet_free(p);

	errno = 0;
	assert_null(skynet_calloc(huge_half, 3));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(skynet_calloc(3, huge_half));
	assert_int_equal(errno, ENOMEM);

	void *z = skynet_calloc(10, 0), *y = skynet_calloc(0, 10);
	assert_non_null(z);
	assert_non_null(y);
	skynet_free(z);
	skynet_free(y);
}

static void huge_sizes_fail_with_enomem(void **state) {
	(void)state;
	size_t m = huge_max;
	size_t sizes[] = { m, m - 1, m - 4, m - 8, m - 4096, m / 2, m / 2 + 1, m / 2 - 3 };
	struct skynet_mem_stat before = stat_of(H);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		errno = 0;
		assert_null(skynet_malloc(sizes[i]));
		assert_int_equal(errno, ENOMEM);
		errno = 0;
		assert_null(skynet_memalign(64, sizes[i]));
		assert_int_equal(errno, ENOMEM);
		assert_int_equal(skynet_mem_charge_size(sizes[i]), 0);
	}
	char *p = skynet_malloc(10);
	memcpy(p, "123456789", 10);
	errno = 0;
	assert_null(skynet_realloc(p, huge_max - 2));
	assert_int_equal(errno, ENOMEM);
	assert_string_equal(p, "123456789");   /* the old block is intact */
	skynet_free(p);
	struct skynet_mem_stat after = stat_of(H);
	assert_int_equal(after.bytes, before.bytes);
	assert_int_equal(after.blocks, before.blocks);
}

static void posix_memalign_contract(void **state) {
	(void)state;
	void *p = (void *)0x1234;
	assert_int_equal(skynet_posix_memalign(&p, 0, 16), EINVAL);
	assert_int_equal(skynet_posix_memalign(&p, 3, 16), EINVAL);
	assert_int_equal(skynet_posix_memalign(&p, 4, 16), EINVAL);   /* below sizeof(void *) */
	assert_int_equal(skynet_posix_memalign(&p, 48, 16), EINVAL);
	assert_int_equal(skynet_posix_memalign(&p, 64, huge_max - 10), ENOMEM);
	assert_ptr_equal(p, (void *)0x1234);   /* untouched on error */
	errno = 1234;
	for (size_t a = sizeof(void *); a <= 65536; a *= 2) {
		for (size_t n = 0; n < 3000; n += 997) {
			assert_int_equal(skynet_posix_memalign(&p, a, n), 0);
			assert_int_equal((uintptr_t)p % a, 0);
			memset(p, 1, n);
			skynet_free(p);
		}
	}
	assert_int_equal(errno, 1234);   /* posix_memalign reports through its result */
}

static void memalign_and_aligned_alloc(void **state) {
	(void)state;
	for (size_t a = 1; a <= 8192; a *= 2) {
		for (size_t n = 0; n < 5000; n += 611) {
			void *p = skynet_memalign(a, n);
			void *q = skynet_aligned_alloc(a, n);
			assert_non_null(p);
			assert_non_null(q);
			assert_int_equal((uintptr_t)p % a, 0);
			assert_int_equal((uintptr_t)q % a, 0);
			memset(p, 2, n);
			memset(q, 3, n);
			assert_int_equal(skynet_mem_owner(p), H);
			skynet_free(p);
			skynet_free(q);
		}
	}
	/* glibc 2.36's memalign and aligned_alloc, as the interposer's: any
	 * alignment rounded up to a power of two, EINVAL only past the largest. */
	void *p = skynet_memalign(24, 10), *q = skynet_aligned_alloc(24, 100), *r = skynet_aligned_alloc(0, 10);
	assert_non_null(p);
	assert_non_null(q);
	assert_non_null(r);
	assert_int_equal((uintptr_t)p % 32, 0);
	assert_int_equal((uintptr_t)q % 32, 0);
	skynet_free(p);
	skynet_free(q);
	skynet_free(r);
	errno = 0;
	assert_null(skynet_memalign(SIZE_MAX, 10));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(skynet_aligned_alloc(SIZE_MAX / 2 + 2, 10));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(skynet_aligned_alloc(SIZE_MAX / 2 + 1, 10));
	assert_int_equal(errno, ENOMEM);
}

static void realloc_keeps_contents(void **state) {
	(void)state;
	void *z = skynet_realloc(NULL, 0);   /* malloc(0): a real block */
	assert_non_null(z);
	skynet_free(z);
	unsigned char *p = skynet_realloc(NULL, 10);
	assert_non_null(p);
	for (int i = 0; i < 10; i++)
		p[i] = (unsigned char)i;
	size_t sizes[] = { 11, 100, 5000, 70000, 300, 12, 10, 3 };
	size_t prev = 10;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		p = skynet_realloc(p, sizes[k]);
		assert_non_null(p);
		size_t keep = prev < sizes[k] ? prev : sizes[k];
		for (size_t i = 0; i < keep; i++)
			assert_int_equal(p[i], (unsigned char)i);
		for (size_t i = keep; i < sizes[k]; i++)
			p[i] = (unsigned char)i;
		prev = sizes[k];
	}
	struct skynet_mem_stat before = stat_of(H);
	assert_null(skynet_realloc(p, 0));   /* frees, as glibc does */
	struct skynet_mem_stat after = stat_of(H);
	assert_int_equal(after.blocks, before.blocks - 1);
}

static void strdup_and_lalloc(void **state) {
	(void)state;
	char *s = skynet_mem_strdup("skynet");
	assert_string_equal(s, "skynet");
	skynet_free(s);
	char *p = skynet_lalloc(NULL, 0, 32);
	assert_non_null(p);
	strcpy(p, "lua");
	p = skynet_lalloc(p, 32, 64);
	assert_string_equal(p, "lua");
	assert_null(skynet_lalloc(p, 64, 0));
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(malloc_zero_gives_distinct_blocks),
		cmocka_unit_test(every_requested_byte_is_usable),
		cmocka_unit_test(charge_is_the_size_class),
		cmocka_unit_test(calloc_zeroes_and_checks_overflow),
		cmocka_unit_test(huge_sizes_fail_with_enomem),
		cmocka_unit_test(posix_memalign_contract),
		cmocka_unit_test(memalign_and_aligned_alloc),
		cmocka_unit_test(realloc_keeps_contents),
		cmocka_unit_test(strdup_and_lalloc),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
