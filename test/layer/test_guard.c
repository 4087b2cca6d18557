/* Guarded slots (skynet_mem_guard, docs/guard.md): blocks of a guarded
 * service live in the pool, answer every block query, move with transfer and
 * realloc, and are charged as before; each heap bug in one is reported (kind,
 * owner) before the process dies. A crash case runs in a forked child whose
 * stderr and end the parent checks. MEMORY_CHECK builds: ENOTSUP. */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "skynet_malloc.h"
#include "test_util.h"

#define GUARDED 0x2a
#define PLAIN 0x2b
#define SLOTS "16"

#ifdef SKYNET_MEM_CHECK

static void check_build_refuses(void **state) {
	(void)state;
	errno = 0;
	assert_int_equal(skynet_mem_guard(GUARDED, 1), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_int_equal(skynet_mem_guard_every(GUARDED), 0);
}

int main(void) {
	const struct CMUnitTest tests[] = { cmocka_unit_test(check_build_refuses) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

static struct skynet_mem_guard_info info(void) {
	struct skynet_mem_guard_info g;
	skynet_mem_guard_info(&g);
	return g;
}

/* Blocks of the guarded service are in slots, the plain one's are not; the
 * queries, transfer, realloc and the counters work on them. */
static void blocks_and_queries(void **state) {
	(void)state;
	assert_int_equal(skynet_mem_guard(GUARDED, 1), 0);
	assert_int_equal(skynet_mem_guard_every(GUARDED), 1);
	skynet_mem_set_current(PLAIN);
	char *plain = skynet_malloc(100);
	skynet_mem_set_current(GUARDED);
	struct skynet_mem_guard_info before = info();
	char *a = skynet_malloc(100);
	char *b = skynet_calloc(10, 30);
	char *c = skynet_memalign(64, 40);
	skynet_mem_set_current(PLAIN);
	char *plain2 = skynet_malloc(200);
	skynet_mem_set_current(GUARDED);
	struct skynet_mem_guard_info g = info();
	assert_int_equal(g.live - before.live, 3);
	assert_int_equal(g.guarded - before.guarded, 3);
	assert_int_equal(skynet_mem_guard_blocks(GUARDED), 3);
	assert_int_equal(skynet_mem_guard_blocks(PLAIN), 0);
	assert_int_equal(skynet_mem_usable_size(a), 100);
	assert_int_equal(skynet_mem_usable_size(b), 300);
	assert_int_equal((uintptr_t)a % 16, 0);
	assert_int_equal((uintptr_t)c % 64, 0);
	for (int i = 0; i < 300; i++)
		assert_int_equal(b[i], 0);   /* calloc */
	assert_int_equal(skynet_mem_owner(a), GUARDED);
	/* Charged what the block would cost unguarded. */
	assert_int_equal(skynet_mem_block_charge(a), skynet_mem_charge_size(100));
	struct skynet_mem_stat st = stat_of(GUARDED);
	assert_int_equal(st.blocks, 3);
	assert_int_equal(st.bytes, skynet_mem_charge_size(100) + skynet_mem_charge_size(300) +
		skynet_mem_block_charge(c));
	memset(a, 'x', 100);
	/* A transfer keeps it guarded, now the plain service's. */
	assert_int_equal(skynet_mem_transfer(a, PLAIN), 0);
	assert_int_equal(skynet_mem_owner(a), PLAIN);
	assert_int_equal(skynet_mem_guard_blocks(PLAIN), 1);
	assert_int_equal(stat_of(GUARDED).blocks, 2);
	/* realloc moves it to the caller (guarded: a slot again), bytes kept. */
	char *a2 = skynet_realloc(a, 1000);
	assert_non_null(a2);
	assert_true(a2 != a);
	for (int i = 0; i < 100; i++)
		assert_int_equal(a2[i], 'x');
	assert_int_equal(skynet_mem_owner(a2), GUARDED);
	assert_int_equal(skynet_mem_usable_size(a2), 1000);
	assert_int_equal(stat_of(PLAIN).blocks, 2);
	/* Too large to guard: allocated normally. */
	char *big = skynet_malloc(20000);
	assert_int_equal(skynet_mem_guard_blocks(GUARDED), 3);
	skynet_free(big);
	skynet_free(a2);
	skynet_free(b);
	skynet_free(c);
	g = info();
	assert_int_equal(g.live, before.live);
	assert_true(g.freed >= 3);
	st = stat_of(GUARDED);
	assert_int_equal(st.blocks, 0);
	assert_int_equal(st.bytes, 0);
	skynet_mem_set_current(PLAIN);
	skynet_free(plain);
	skynet_free(plain2);
	assert_int_equal(stat_of(PLAIN).blocks, 0);
	assert_int_equal(skynet_mem_guard(GUARDED, 0), 0);
	assert_int_equal(skynet_mem_guard_every(GUARDED), 0);
	skynet_mem_set_current(0);
}

/* every = 4: 1 in 4 of the service's blocks, malloc or not, over 40
 * dispatches (the count is read at each; within one it is read on slow paths
 * only); a full pool allocates normally and counts it. */
static void sampling_and_full_pool(void **state) {
	(void)state;
	assert_int_equal(skynet_mem_guard(GUARDED, 4), 0);
	uint64_t first = info().guarded;
	void *p[40];
	for (int i = 0; i < 40; i++) {
		skynet_mem_set_current(GUARDED);
		p[i] = i % 3 ? skynet_malloc(24 + (size_t)i) : skynet_calloc(1, 24 + (size_t)i);
		skynet_mem_set_current(PLAIN);
		skynet_free(skynet_malloc(24));   /* the plain service's blocks are not counted */
	}
	uint64_t guarded = info().guarded - first;
	printf("every = 4: %llu of 40 blocks guarded\n", (unsigned long long)guarded);
	assert_true(guarded >= 9 && guarded <= 10);   /* the first count starts the sequence */
	skynet_mem_set_current(GUARDED);
	for (int i = 0; i < 40; i++)
		skynet_free(p[i]);
	assert_int_equal(skynet_mem_guard(GUARDED, 1), 0);
	skynet_mem_set_current(GUARDED);
	struct skynet_mem_guard_info g = info();
	size_t room = g.slots - g.live;
	uint64_t missed = g.missed;
	for (int i = 0; i < 40; i++)
		p[i] = skynet_malloc(8);
	g = info();
	assert_int_equal(g.live, g.slots);
	assert_int_equal(g.missed - missed, 40 - room);
	assert_int_equal(stat_of(GUARDED).blocks, 40);
	for (int i = 0; i < 40; i++)
		skynet_free(p[i]);
	assert_int_equal(stat_of(GUARDED).blocks, 0);
	assert_int_equal(skynet_mem_guard(GUARDED, 0), 0);
	skynet_mem_set_current(0);
}

/* --- crash cases: a child runs one, the parent reads its stderr --- */

enum bug {
	OVERFLOW_FAULT, OVERFLOW_SLACK, UNDERFLOW, READ_AFTER_FREE, WRITE_AFTER_FREE, DOUBLE_FREE,
	DOUBLE_FREE_REUSED, READ_AFTER_REUSE,
};

static volatile char sink;

/* The compiler may not see p's block size through this. */
static char *launder(char *p) {
	char *volatile q = p;
	return q;
}

/* Frees p, then fills every slot of the pool (FIFO: p's slot is taken
 * last) with blocks of p's size, so that p's slot holds another block:
 * exits 6 unless the pool is full and none of them is at p. */
static void reuse_slot_of(char *p) {
	skynet_free(p);
	struct skynet_mem_guard_info g;
	skynet_mem_guard_info(&g);
	for (size_t i = g.live; i < g.slots; i++) {
		char *q = launder(skynet_malloc(96));
		memset(q, 2, 96);
		if (q == p)
			_exit(6);   /* the stale pointer would be the new block's */
	}
	skynet_mem_guard_info(&g);
	if (g.live != g.slots)
		_exit(6);
}

static void run_bug(enum bug bug) {
	skynet_mem_set_name(GUARDED, "suspect");
	skynet_mem_set_current(PLAIN);   /* an unguarded service beside it */
	char *plain = skynet_malloc(64);
	memset(plain, 1, 64);
	if (skynet_mem_guard(GUARDED, 1) != 0)
		_exit(3);
	if (bug == UNDERFLOW)
		skynet_mem_guard_underflow(1);
	skynet_mem_set_current(GUARDED);
	char *p = launder(skynet_malloc(bug == OVERFLOW_SLACK ? 100 : 96));
	skynet_mem_set_current(PLAIN);
	char *plain2 = skynet_malloc(64);   /* still runs normally */
	if (skynet_mem_guard_blocks(PLAIN) != 0 || skynet_mem_guard_blocks(GUARDED) != 1)
		_exit(4);
	skynet_free(plain2);
	skynet_mem_set_current(GUARDED);
	switch (bug) {
	case OVERFLOW_FAULT:
		p[96] = 1;   /* the first byte past: an inaccessible page */
		break;
	case OVERFLOW_SLACK:
		p[100] = 1;   /* in the alignment's slack: found at free */
		skynet_free(p);
		break;
	case UNDERFLOW:
		p[-1] = 1;
		break;
	case READ_AFTER_FREE:
		skynet_free(p);
		sink = p[10];
		break;
	case WRITE_AFTER_FREE:
		skynet_free(p);
		p[10] = 1;
		break;
	case DOUBLE_FREE:
		skynet_free(p);
		skynet_free(p);
		break;
	case DOUBLE_FREE_REUSED:
		reuse_slot_of(p);
		skynet_free(p);
		break;
	case READ_AFTER_REUSE:
		reuse_slot_of(p);
		sink = p[10];
		break;
	}
	_exit(5);   /* not caught */
}

/* Runs bug in a child; its stderr (bounded) and how it ended. */
static int run_child(enum bug bug, char *err, size_t size) {
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], STDERR_FILENO);
		close(fd[0]);
		struct rlimit none = { 0, 0 };
		setrlimit(RLIMIT_CORE, &none);   /* no core files from these */
		run_bug(bug);
	}
	close(fd[1]);
	size_t len = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pf = { fd[0], POLLIN, 0 };
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = 10000 - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			break;
		ssize_t r = read(fd[0], err + len, size - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	err[len] = 0;
	close(fd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* The allocating stack starts in this program (the layer's frames are left
 * out, the caller's are kept): "allocated at:", then "#0 0x... PATH+0x...". */
static int first_frame_is_ours(const char *err) {
	const char *at = strstr(err, "allocated at:\n");
	if (at == NULL)
		return 0;
	const char *line = strchr(at, '\n') + 1, *end = strchr(line, '\n');
	const char *hit = strstr(line, "#0 0x");
	const char *prog = strstr(line, "/test_guard+0x");
	return end && hit && hit < end && prog && prog < end;
}

/* The child died of sig, reporting kind, the owner, its stack and also. */
static void expect_also(enum bug bug, int sig, const char *kind, const char *also) {
	char err[16384];
	int status = run_child(bug, err, sizeof(err));
	if (!WIFSIGNALED(status) || WTERMSIG(status) != sig || strstr(err, kind) == NULL ||
		strstr(err, "owner :0000002a \"suspect\"") == NULL || strstr(err, "allocated at:") == NULL ||
		strstr(err, also) == NULL || !first_frame_is_ours(err))
		fail_msg("expected signal %d, \"%s\" and \"%s\", got status 0x%x and:\n%s", sig, kind, also,
			status, err);
	printf("%s", err);   /* the whole report, for the log */
}

static void expect(enum bug bug, int sig, const char *kind) {
	expect_also(bug, sig, kind, kind);
}

static void overflow_faults(void **state) {
	(void)state;
	expect(OVERFLOW_FAULT, SIGSEGV, "guard: overflow at");
}

static void overflow_into_slack_found_at_free(void **state) {
	(void)state;
	expect(OVERFLOW_SLACK, SIGABRT, "guard: overflow at");
}

static void underflow_faults(void **state) {
	(void)state;
	expect(UNDERFLOW, SIGSEGV, "guard: underflow at");
}

static void read_after_free_faults(void **state) {
	(void)state;
	expect(READ_AFTER_FREE, SIGSEGV, "use after free (read)");
}

static void write_after_free_faults(void **state) {
	(void)state;
	expect(WRITE_AFTER_FREE, SIGSEGV, "use after free (write)");
}

static void double_free_aborts(void **state) {
	(void)state;
	expect(DOUBLE_FREE, SIGABRT, "guard: double free at");
}

/* The slot was reused by a block of the same size: the stale pointer is not
 * the new block's (the slot's blocks take turns over its pages), so a second
 * free or a read through it is caught, and reported as the old block's. */
static void double_free_after_reuse_aborts(void **state) {
	(void)state;
	expect_also(DOUBLE_FREE_REUSED, SIGABRT, "guard: double free at", "(its slot holds another block now)");
}

static void read_after_reuse_faults(void **state) {
	(void)state;
	expect_also(READ_AFTER_REUSE, SIGSEGV, "use after free (read)", "freed by :0000002a");
}

int main(void) {
	setenv("SKYNET_MEM_GUARD_SLOTS", SLOTS, 1);   /* read when the pool is made */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(blocks_and_queries),
		cmocka_unit_test(sampling_and_full_pool),
		cmocka_unit_test(overflow_faults),
		cmocka_unit_test(overflow_into_slack_found_at_free),
		cmocka_unit_test(underflow_faults),
		cmocka_unit_test(read_after_free_faults),
		cmocka_unit_test(write_after_free_faults),
		cmocka_unit_test(double_free_aborts),
		cmocka_unit_test(double_free_after_reuse_aborts),
		cmocka_unit_test(read_after_reuse_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
