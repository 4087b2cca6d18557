/* The block layout's edges, in every build (the header layout's cases above
 * all): pointers on a cache line (the header layout's free tells a large
 * block from a small one there), aligned blocks at every alignment and size
 * around the small/large boundary, realloc and transfer of them, frees by
 * another thread, and malloc(0) pointers that stay distinct. Every figure
 * must stay exact. */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "skynet_malloc.h"
#include "test_util.h"

#define A 0x0c000001u
#define B 0x0c000002u
#define C 0x0c000003u
#define COUNT 3000

static size_t bytes_of(uint32_t handle) {
	struct skynet_mem_stat st;
	return skynet_mem_stat(handle, &st) == 0 ? st.bytes : 0;
}

static size_t blocks_of(uint32_t handle) {
	struct skynet_mem_stat st;
	return skynet_mem_stat(handle, &st) == 0 ? st.blocks : 0;
}

static void *blocks[COUNT];

static void *free_all_as_c(void *arg) {
	(void)arg;
	skynet_mem_set_current(C);
	for (int i = 0; i < COUNT; i++)
		skynet_free(blocks[i]);
	skynet_mem_set_current(0);
	return NULL;
}

/* Small blocks of a few classes: some land on a cache line, some transfer,
 * all are freed by another thread. */
static void small_blocks_on_lines(void **state) {
	(void)state;
	static const size_t sizes[] = { 0, 1, 8, 16, 24, 32, 48, 64, 100, 256 };
	skynet_mem_set_current(A);
	size_t a0 = bytes_of(A), b0 = bytes_of(B), on_line = 0, charged_a = 0, charged_b = 0;
	for (int i = 0; i < COUNT; i++) {
		size_t n = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
		unsigned char *p = skynet_malloc(n);
		assert_non_null(p);
		memset(p, 0xa5, n);
		size_t u = skynet_mem_block_charge(p);
		assert_true(u >= n);
		assert_true(skynet_mem_usable_size(p) >= n);
		on_line += ((uintptr_t)p & 63) == 0;
		if (i % 3 == 0) {
			assert_int_equal(skynet_mem_transfer(p, B), 0);
			assert_int_equal(skynet_mem_owner(p), B);
			charged_b += u;
		} else {
			assert_int_equal(skynet_mem_owner(p), A);
			charged_a += u;
		}
		blocks[i] = p;
	}
	assert_true(on_line > 0);   /* the cache-line case was exercised */
	assert_int_equal(bytes_of(A), a0 + charged_a);
	assert_int_equal(bytes_of(B), b0 + charged_b);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, free_all_as_c, NULL), 0);
	pthread_join(t, NULL);
	assert_int_equal(bytes_of(A), a0);
	assert_int_equal(bytes_of(B), b0);
	assert_int_equal(bytes_of(C), 0);
	skynet_mem_set_current(0);
}

/* Every alignment and sizes around the boundaries: aligned, usable, owned,
 * charged exactly; realloc keeps the bytes; transfer and free are exact. */
static void aligned_blocks(void **state) {
	(void)state;
	static const size_t aligns[] = { 8, 16, 32, 64, 128, 4096, 8192, 65536 };
	static const size_t sizes[] = { 0, 1, 15, 17, 63, 64, 100, 4095, 4096, 14320, 14336, 16383, 16384, 20000 };
	skynet_mem_set_current(A);
	size_t a0 = bytes_of(A), b0 = bytes_of(B), k0 = blocks_of(A);
	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++)
		for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			size_t a = aligns[i], n = sizes[j];
			void *v = NULL;
			assert_int_equal(skynet_posix_memalign(&v, a, n), 0);
			unsigned char *p = v;
			assert_true((uintptr_t)p % a == 0);
			assert_true(skynet_mem_usable_size(p) >= n);
			assert_int_equal(skynet_mem_owner(p), A);
			size_t u = skynet_mem_block_charge(p);
			assert_int_equal(bytes_of(A), a0 + u);
			for (size_t k = 0; k < n; k++)
				p[k] = (unsigned char)(k * 7 + j);
			/* realloc: natural alignment, the bytes kept, charged its new class */
			unsigned char *q = skynet_realloc(p, n * 2 + 1);
			assert_non_null(q);
			for (size_t k = 0; k < n; k++)
				assert_int_equal(q[k], (unsigned char)(k * 7 + j));
			u = skynet_mem_block_charge(q);
			assert_int_equal(bytes_of(A), a0 + u);
			assert_int_equal(skynet_mem_transfer(q, B), 0);
			assert_int_equal(bytes_of(A), a0);
			assert_int_equal(bytes_of(B), b0 + u);
			skynet_free(q);
			assert_int_equal(bytes_of(B), b0);
			/* aligned_alloc and memalign, freed as they are */
			p = skynet_memalign(a, n);
			assert_non_null(p);
			assert_true((uintptr_t)p % a == 0);
			assert_int_equal(bytes_of(A), a0 + skynet_mem_block_charge(p));
			skynet_free(p);
			assert_int_equal(bytes_of(A), a0);
		}
	assert_int_equal(blocks_of(A), k0);
	skynet_mem_set_current(0);
}

static int by_address(const void *x, const void *y) {
	uintptr_t a = *(const uintptr_t *)x, b = *(const uintptr_t *)y;
	return a < b ? -1 : a > b;
}

/* malloc(0) returns distinct pointers, none equal to a neighbour block's. */
static void zero_sized_blocks_are_distinct(void **state) {
	(void)state;
	skynet_mem_set_current(A);
	size_t a0 = bytes_of(A);
	static uintptr_t addr[COUNT];
	for (int i = 0; i < COUNT; i++) {
		blocks[i] = i % 2 ? skynet_malloc(0) : skynet_malloc(16 * 1024);
		assert_non_null(blocks[i]);
		addr[i] = (uintptr_t)blocks[i];
	}
	qsort(addr, COUNT, sizeof(addr[0]), by_address);
	for (int i = 1; i < COUNT; i++)
		assert_true(addr[i] != addr[i - 1]);
	for (int i = 0; i < COUNT; i++) {
		assert_int_equal(skynet_mem_owner(blocks[i]), A);
		skynet_free(blocks[i]);
	}
	assert_int_equal(bytes_of(A), a0);
	skynet_mem_set_current(0);
}

/* What a small request is charged: its class with the owner's bytes. */
static void small_charge_holds_the_owner(void **state) {
	(void)state;
	for (size_t n = 0; n < 4096; n += 8) {
		size_t u = skynet_mem_charge_size(n);
		assert_true(u >= n + test_overhead(u));
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_blocks_on_lines),
		cmocka_unit_test(aligned_blocks),
		cmocka_unit_test(zero_sized_blocks_are_distinct),
		cmocka_unit_test(small_charge_holds_the_owner),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
