/* The sampled heap profile's set of samples (docs/profile.md): a seeded
 * model check that samples follow frees, reallocs and transfers, and the
 * controls' edges. The MEMORY_CHECK build samples nothing. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "skynet_malloc.h"
#include "test_util.h"

#define BLOCKS 256
#define STEPS 20000
#define SERVICES 3

struct model {
	void *p;
	uint32_t owner;
};

static unsigned long long rng_state;

static unsigned rnd(unsigned n) {
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)((rng_state >> 33) % n);
}

static size_t any_size(void) {
	switch (rnd(4)) {
	case 0: return rnd(64);
	case 1: return 64 + rnd(4096);
	case 2: return 14000 + rnd(4000);        /* around the large-block boundary */
	default: return 16384 + rnd(200000);
	}
}

/* Every live sample is a live block of the model, with its owner and charge;
 * the table holds no more samples than that; every block, sampled or not,
 * has its model owner, and each service is charged exactly its blocks (a
 * sampled block names a mark, not its owner: frees, reallocs and transfers
 * must find the real one). */
static void verify(const struct model *m) {
	size_t sampled = 0;
	size_t bytes[SERVICES] = { 0 }, blocks[SERVICES] = { 0 };
	for (int i = 0; i < BLOCKS; i++) {
		if (m[i].p == NULL)
			continue;
		assert_int_equal(skynet_mem_owner(m[i].p), m[i].owner);
		bytes[m[i].owner - 100] += skynet_mem_block_charge(m[i].p);
		blocks[m[i].owner - 100]++;
		uint32_t owner;
		size_t size;
		if (!skynet_mem_profile_block(m[i].p, &owner, &size))
			continue;
		sampled++;
		assert_int_equal(owner, m[i].owner);
		assert_int_equal(size, skynet_mem_block_charge(m[i].p));
	}
	assert_int_equal(skynet_mem_profile_samples(0, SKYNET_MEM_PROFILE_ALL, NULL), sampled);
	for (uint32_t k = 0; k < SERVICES; k++) {
		struct skynet_mem_stat st = stat_of(100 + k);
		assert_int_equal(st.bytes, bytes[k]);
		assert_int_equal(st.blocks, blocks[k]);
	}
}

static void test_model(void **state) {
	(void)state;
	const char *env = getenv("TEST_SEED");
	unsigned long long seed = env ? strtoull(env, NULL, 0) : (unsigned long long)time(NULL);
	printf("seed %llu (TEST_SEED=%llu reruns it)\n", seed, seed);
	rng_state = seed;
	/* Small enough that most blocks are sampled, large enough that some are not. */
	skynet_mem_profile_set_sample(4096);
	struct model m[BLOCKS] = { 0 };
	size_t ever = 0;
	for (uint32_t k = 0; k < SERVICES; k++) {   /* every service has a record from the start */
		skynet_mem_set_current(100 + k);
		skynet_free(skynet_malloc(1));
	}
	for (int step = 0; step < STEPS; step++) {
		int i = (int)rnd(BLOCKS);
		uint32_t svc = 100 + rnd(SERVICES);
		skynet_mem_set_current(svc);
		switch (rnd(6)) {
		case 0: case 1:   /* a new block, or a free */
			if (m[i].p == NULL) {
				m[i].p = rnd(8) ? skynet_malloc(any_size()) :
					rnd(2) ? skynet_calloc(1, any_size()) : skynet_memalign(64 << rnd(3), any_size());
				assert_non_null(m[i].p);
				m[i].owner = svc;
				ever += skynet_mem_profile_block(m[i].p, NULL, NULL);
			} else {
				skynet_free(m[i].p);
				m[i].p = NULL;
			}
			break;
		case 2: case 3: { /* realloc: moves the block to the caller */
			void *q = skynet_realloc(m[i].p, any_size() + 1);
			assert_non_null(q);
			m[i].p = q;
			m[i].owner = svc;
			break;
		}
		case 4:           /* a transfer */
			if (m[i].p) {
				uint32_t to = 100 + rnd(SERVICES);
				assert_int_equal(skynet_mem_transfer(m[i].p, to), 0);
				m[i].owner = to;
			}
			break;
		default:
			if (step % 64 == 0)
				verify(m);
		}
	}
	verify(m);
	assert_true(ever > 100);   /* the check above checked something */
	for (int i = 0; i < BLOCKS; i++)
		skynet_free(m[i].p);
	skynet_mem_set_current(0);
	assert_int_equal(skynet_mem_profile_samples(0, SKYNET_MEM_PROFILE_ALL, NULL), 0);
}

/* Off: nothing is sampled (after the rate reached the thread, at once here). */
static void test_off(void **state) {
	(void)state;
	skynet_mem_profile_set_sample(0);
	assert_int_equal(skynet_mem_profile_get_sample(), 0);
	skynet_mem_set_current(7);
	void *p[64];
	for (int i = 0; i < 64; i++)
		p[i] = skynet_malloc(65536);
	assert_int_equal(skynet_mem_profile_samples(7, 0, NULL), 0);
	for (int i = 0; i < 64; i++)
		skynet_free(p[i]);
	skynet_mem_set_current(0);
}

/* A service's own rate: 0 silences it while the others are sampled. */
static void test_service_rate(void **state) {
	(void)state;
	skynet_mem_profile_set_sample(1024);
	assert_int_equal(skynet_mem_profile_set_service_sample(8, 0), 0);
	assert_int_equal(skynet_mem_profile_get_service_sample(8), 0);
	assert_int_equal(skynet_mem_profile_get_service_sample(9), -1);
	void *a[32], *b[32];
	for (int i = 0; i < 32; i++) {
		skynet_mem_set_current(8);
		a[i] = skynet_malloc(8192);
		skynet_mem_set_current(9);
		b[i] = skynet_malloc(8192);
	}
	assert_int_equal(skynet_mem_profile_samples(8, 0, NULL), 0);
	size_t est;
	assert_true(skynet_mem_profile_samples(9, 0, &est) > 16);
	assert_true(est > 0);
	char line[512];
	assert_int_equal(skynet_mem_profile_sites(9, line, sizeof(line), 3), 1);
	printf("sites of :9: %s\n", line);
	/* The site is the test's own function (a static one: named from the
	 * .symtab), not the layer's (dropped). */
	assert_non_null(strstr(line, "test_service_rate+0x"));
	assert_null(strstr(line, "skynet-mem"));
	for (int i = 0; i < 32; i++) {
		skynet_free(a[i]);
		skynet_free(b[i]);
	}
	assert_int_equal(skynet_mem_profile_set_service_sample(8, -1), 0);
	assert_int_equal(skynet_mem_profile_get_service_sample(8), -1);
	for (uint32_t h = 1000; h < 1064; h++)
		assert_int_equal(skynet_mem_profile_set_service_sample(h, 4096), 0);
	errno = 0;
	assert_int_equal(skynet_mem_profile_set_service_sample(2000, 4096), -1);
	assert_int_equal(errno, ENOSPC);
	for (uint32_t h = 1000; h < 1064; h++)
		assert_int_equal(skynet_mem_profile_set_service_sample(h, -1), 0);
	skynet_mem_set_current(0);
}

static void test_bad_input(void **state) {
	(void)state;
	errno = 0;
	assert_int_equal(skynet_mem_profile_dump(1, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(skynet_mem_profile_dump(1, "/nonexistent-dir/x.heap"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(skynet_mem_profile_write(-1, 1, 0), -1);
	assert_int_equal(skynet_mem_profile_write(1, 1, 64), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(skynet_mem_profile_block(NULL, NULL, NULL), 0);
}

int main(void) {
	if (skynet_mem_has_check()) {
		/* The check build samples nothing: its block headers name every site. */
		skynet_mem_profile_set_sample(1);
		void *p = skynet_malloc(100000);
		int none = skynet_mem_profile_samples(0, SKYNET_MEM_PROFILE_ALL, NULL) == 0;
		skynet_free(p);
		printf("MEMORY_CHECK build: %s\n", none ? "nothing sampled" : "SAMPLED");
		return none ? 0 : 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_service_rate),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
