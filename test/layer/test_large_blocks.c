/* Large blocks (16 KiB and up over jemalloc) carry their owner outside the
 * block: a power-of-two request is allocated and charged at exactly its class,
 * and every operation (free, realloc across the boundary, transfer, owner,
 * usable size, exit, frees by another thread) stays exact. In builds without
 * that layout (system allocator, MEMORY_CHECK) the same operations must still
 * be exact; only the size assertions differ. */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "skynet_malloc.h"
#include "test_util.h"

#define A 0x0b000001u
#define B 0x0b000002u

/* A service's bytes, 0 before it has a record. */
static size_t bytes_of(uint32_t handle) {
	struct skynet_mem_stat st;
	return skynet_mem_stat(handle, &st) == 0 ? st.bytes : 0;
}

static void fill(unsigned char *p, size_t n, unsigned seed) {
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 131 + seed);
}

static int intact(const unsigned char *p, size_t n, unsigned seed) {
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 131 + seed))
			return 0;
	return 1;
}

static void powers_of_two_cost_their_class(void **state) {
	(void)state;
	skynet_mem_set_current(A);
	size_t before = bytes_of(A);
	for (size_t n = 16 * 1024; n <= ((size_t)4 << 20); n *= 2) {
		unsigned char *p = skynet_malloc(n);
		assert_non_null(p);
		fill(p, n, 7);   /* every requested byte is the caller's */
		size_t u = skynet_mem_block_charge(p);
#if defined(SKYNET_MEM_USE_JEMALLOC) && !defined(SKYNET_MEM_CHECK)
		assert_int_equal(u, n);
		assert_int_equal(skynet_mem_charge_size(n), n);
		assert_int_equal(skynet_mem_usable_size(p), n);
		assert_int_equal(sallocx(p, 0), n);   /* jemalloc holds exactly the class */
#else
		assert_true(u >= n);
		assert_true(skynet_mem_usable_size(p) >= n);
#endif
		assert_int_equal(skynet_mem_owner(p), A);
		assert_int_equal(stat_of(A).bytes, before + u);
		assert_true(intact(p, n, 7));
		skynet_free(p);
		assert_int_equal(stat_of(A).bytes, before);
	}
	skynet_mem_set_current(0);
}

/* Around the boundary: the largest small class keeps its cookie, a request
 * whose cookie would cross into a large class is large itself. */
static void sizes_around_the_boundary(void **state) {
	(void)state;
	skynet_mem_set_current(A);
	for (size_t n = 14300; n <= 16400; n += (n < 14340 || n > 16370) ? 1 : 97) {
		unsigned char *p = skynet_malloc(n);
		assert_non_null(p);
		size_t u = skynet_mem_block_charge(p);
		assert_true(u >= n + test_overhead(u));
#ifdef SKYNET_MEM_USE_JEMALLOC
		assert_int_equal(u, skynet_mem_charge_size(n));   /* the system allocator has no class query */
#endif
#ifndef SKYNET_MEM_CHECK
		assert_int_equal(skynet_mem_usable_size(p), u - test_overhead(u));
#endif
		fill(p, n, 3);
		assert_int_equal(skynet_mem_owner(p), A);
		assert_true(intact(p, n, 3));
		skynet_free(p);
	}
	assert_int_equal(stat_of(A).blocks, 0);
	skynet_mem_set_current(0);
}

/* realloc moves the block (and its owner) between the layouts and keeps
 * its bytes; aligned large blocks work too. */
static void realloc_across_the_boundary(void **state) {
	(void)state;
	static const size_t steps[] = { 100, 20000, 70000, 300000, 40000, 16384, 16380, 8000, 16384, 17, 0 };
	skynet_mem_set_current(A);
	unsigned char *p = skynet_malloc(50);
	fill(p, 50, 1);
	size_t have = 50;
	for (int i = 0; steps[i]; i++) {
		uint32_t mover = (i & 1) ? B : A;   /* realloc charges the caller */
		skynet_mem_set_current(mover);
		p = skynet_realloc(p, steps[i]);
		assert_non_null(p);
		size_t keep = have < steps[i] ? have : steps[i];
		assert_true(intact(p, keep, 1));
		fill(p, steps[i], 1);
		have = steps[i];
		assert_int_equal(skynet_mem_owner(p), mover);
		assert_true(skynet_mem_usable_size(p) >= steps[i]);
		skynet_mem_set_current(0);
		uint32_t idle = mover == A ? B : A;
		assert_int_equal(stat_of(mover).bytes, skynet_mem_block_charge(p));
		assert_int_equal(stat_of(mover).blocks, 1);
		assert_int_equal(bytes_of(idle), 0);
	}
	skynet_free(p);
	assert_int_equal(bytes_of(A) + bytes_of(B), 0);

	void *q = NULL;
	skynet_mem_set_current(A);
	assert_int_equal(skynet_posix_memalign(&q, 4096, 40000), 0);
	assert_int_equal((uintptr_t)q % 4096, 0);
	assert_int_equal(skynet_mem_owner(q), A);
	assert_true(skynet_mem_usable_size(q) >= 40000);
	skynet_free(q);
	assert_int_equal(stat_of(A).bytes, 0);
	skynet_mem_set_current(0);
}

static void transfer_and_exit_with_large_blocks(void **state) {
	(void)state;
	const uint32_t gone = 0x0b000010u;
	skynet_mem_set_current(gone);
	void *p = skynet_malloc(65536), *q = skynet_malloc(65536);
	size_t u = skynet_mem_block_charge(p);
	assert_int_equal(skynet_mem_transfer(q, B), 0);
	assert_int_equal(skynet_mem_owner(q), B);
	skynet_mem_set_current(0);
	assert_int_equal(stat_of(B).bytes, u);
	struct skynet_mem_stat left;
	skynet_mem_service_exit(gone, &left);
	assert_int_equal(left.bytes, u);
	assert_int_equal(left.blocks, 1);
	skynet_mem_set_current(B);
	skynet_free(p);   /* a late free of the exited service's block */
	skynet_free(q);
	skynet_mem_set_current(0);
	struct skynet_mem_stat st;
	assert_int_equal(skynet_mem_stat(gone, &st), -1);   /* drained: reclaimed */
	assert_int_equal(stat_of(B).bytes, 0);
}

/* Many large blocks made on one thread, freed on another, while the first
 * keeps allocating: the owner table is shared and stays exact. */
#define CROSS 2000
static void *free_them(void *arg) {
	void **blocks = arg;
	skynet_mem_set_current(B);
	for (int i = 0; i < CROSS; i++)
		skynet_free(blocks[i]);
	skynet_mem_set_current(0);
	return NULL;
}

static void cross_thread_frees(void **state) {
	(void)state;
	void **blocks = calloc(CROSS, sizeof(void *));
	skynet_mem_set_current(A);
	size_t charged = 0;
	for (int i = 0; i < CROSS; i++) {
		blocks[i] = skynet_malloc(16384 + (size_t)(i % 7) * 9000);
		charged += skynet_mem_block_charge(blocks[i]);
	}
	skynet_mem_set_current(0);
	assert_int_equal(stat_of(A).bytes, charged);
	pthread_t t;
	pthread_create(&t, NULL, free_them, blocks);
	skynet_mem_set_current(A);
	for (int i = 0; i < CROSS; i++) {   /* meanwhile: more entries come and go */
		void *p = skynet_malloc(20000);
		assert_int_equal(skynet_mem_owner(p), A);
		skynet_free(p);
	}
	skynet_mem_set_current(0);
	pthread_join(t, NULL);
	struct skynet_mem_stat st = stat_of(A);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.blocks, 0);
	free(blocks);
}

/* A large block the layer did not make (here: jemalloc's own, at the
 * address a freed large block of A had) has no owner: not the stale one of
 * the emptied table entry. */
static void unknown_large_block_has_no_owner(void **state) {
	(void)state;
#if defined(SKYNET_MEM_USE_JEMALLOC) && !defined(SKYNET_MEM_CHECK)
	int reused = 0;
	for (int i = 0; i < 16 && !reused; i++) {
		skynet_mem_set_current(A);
		void *p = skynet_malloc(20000);
		assert_non_null(p);
		assert_int_equal(skynet_mem_owner(p), A);
		skynet_free(p);
		skynet_mem_set_current(0);
		void *q = mallocx(20000, 0);   /* not through the layer */
		assert_non_null(q);
		if (q == p) {
			reused = 1;
			assert_int_equal(skynet_mem_owner(q), 0);
		}
		dallocx(q, 0);
	}
	assert_true(reused);   /* jemalloc's thread cache gives a freed large block back at once */
#else
	skip();
#endif
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(powers_of_two_cost_their_class),
		cmocka_unit_test(sizes_around_the_boundary),
		cmocka_unit_test(realloc_across_the_boundary),
		cmocka_unit_test(transfer_and_exit_with_large_blocks),
		cmocka_unit_test(cross_thread_frees),
		cmocka_unit_test(unknown_large_block_has_no_owner),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
