/* MEMORY_CHECK: every bug class is caught at free at the latest, and the report
 * names what was found, the block, its sizes, the owner and the freeing service.
 * Default (abort) runs in a forked child; report-and-continue in this process
 * with stderr captured. */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "skynet_malloc.h"
#include "test_util.h"

#define OWNER 0x0a000001u
#define FREER 0x0a000002u

/* Writes through an address the compiler cannot see into: the bugs are meant. */
static void __attribute__((noinline)) poke(void *p, ptrdiff_t off, unsigned char v) {
	volatile unsigned char *b = (volatile unsigned char *)((uintptr_t)p + (uintptr_t)off);
	*b = v;
}

/* --- stderr capture --- */

static char out[16384];

static void capture_begin(FILE **tmp, int *saved) {
	fflush(stderr);
	*tmp = tmpfile();
	assert_non_null(*tmp);
	*saved = dup(2);
	dup2(fileno(*tmp), 2);
}

static void capture_end(FILE *tmp, int saved) {
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	size_t n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = 0;
	fclose(tmp);
}

static void expect(const char *text) {
	if (strstr(out, text) == NULL)
		fail_msg("report lacks \"%s\":\n%s", text, out);
}

static void expectf(const char *fmt, size_t a) {
	char want[256];
	snprintf(want, sizeof(want), fmt, a);
	expect(want);
}

/* Runs fn in a child with the default (abort) mode; returns its signal, with
 * its stderr in out. */
static int in_child(void (*fn)(void)) {
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], 2);
		close(fd[0]);
		skynet_mem_check_abort(1);
		fn();
		_exit(0);
	}
	close(fd[1]);
	size_t len = 0;
	ssize_t r;
	while ((r = read(fd[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = 0;
	close(fd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static int setup(void **state) {
	(void)state;
	assert_int_equal(skynet_mem_has_check(), 1);
	skynet_mem_check_abort(0);
	return 0;
}

/* --- each class aborts by default --- */

/* Exported (the test links with -rdynamic) so the backtrace can name it. */
void child_overflow(void);
void child_overflow(void) {
	skynet_mem_set_current(OWNER);
	char *p = skynet_malloc(24);
	poke(p, 24, 'x');
	skynet_mem_set_current(FREER);
	skynet_free(p);
}

static void child_double_free(void) {
	skynet_mem_set_current(OWNER);
	char *p = skynet_malloc(24);
	skynet_mem_set_current(FREER);
	skynet_free(p);
	skynet_free(p);
}

static void aborts_by_default(void **state) {
	(void)state;
	assert_int_equal(in_child(child_overflow), SIGABRT);
	expect("skynet-mem: MEMORY_CHECK: overflow by 1 bytes at offset 24\n");
	expect("free of block 0x");
	expect("(requested 24 bytes, usable ");
	expect("owner service :0a000001, freeing service :0a000002");
	expect("allocated at: ");
	expect("backtrace:");
	expect("child_overflow");   /* the backtrace names the guilty function */
	assert_null(strstr(out, "continuing"));

	assert_int_equal(in_child(child_double_free), SIGABRT);
	expect("MEMORY_CHECK: double free\n");
	expect("freed by service :0a000002, freeing service :0a000002");
}

/* --- report and continue: exact text --- */

static void overflow_by_one_and_by_many(void **state) {
	(void)state;
	FILE *tmp;
	int saved;
	uint64_t before = skynet_mem_check_count(SKYNET_MEM_CHECK_OVERFLOW);
	for (size_t n = 0; n < 200; n += 13) {
		skynet_mem_set_current(OWNER);
		unsigned char *p = skynet_malloc(n);
		memset(p, 0x11, n);   /* every requested byte is the caller's */
		size_t usable = skynet_mem_block_charge(p);
		poke(p, (ptrdiff_t)n, 0);
		if (n > 100)
			poke(p, (ptrdiff_t)n + 2, 0x55);   /* a run of 3 bytes past the end */
		skynet_mem_set_current(FREER);
		capture_begin(&tmp, &saved);
		skynet_free(p);
		capture_end(tmp, saved);
		expectf("overflow by %zu bytes", n > 100 ? 3 : 1);
		expectf("at offset %zu\n", n);
		expectf("(requested %zu bytes", n);
		expectf("usable %zu bytes)", usable);
		expect("owner service :0a000001, freeing service :0a000002");
		expect("continuing");
	}
	assert_int_equal(skynet_mem_check_count(SKYNET_MEM_CHECK_OVERFLOW) - before, 16);
	skynet_mem_set_current(0);
}

/* An overflow longer than the canary is reported from its first byte; its
 * length is only known up to the canary's end. */
static void overflow_past_the_canary(void **state) {
	(void)state;
	FILE *tmp;
	int saved;
	skynet_mem_set_current(OWNER);
	unsigned char *p = skynet_malloc(40);
	size_t usable = skynet_mem_block_charge(p);
	size_t end = usable - 64;   /* bytes from p to the end of the block (64: header and guard) */
	for (size_t i = 40; i < end; i++)
		poke(p, (ptrdiff_t)i, (unsigned char)i);
	capture_begin(&tmp, &saved);
	skynet_free(p);
	capture_end(tmp, saved);
	expect("overflow by at least 16 bytes at offset 40\n");
	skynet_mem_set_current(0);
}

static void underflow_keeps_alignment(void **state) {
	(void)state;
	FILE *tmp;
	int saved;
	size_t aligns[] = { 0, 8, 16, 32, 64, 4096 };
	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		skynet_mem_set_current(OWNER);
		unsigned char *p;
		if (aligns[i] == 0)
			p = skynet_malloc(33);
		else if (i % 2)
			assert_int_equal(skynet_posix_memalign((void **)&p, aligns[i], 33), 0);
		else
			p = skynet_aligned_alloc(aligns[i], 33);
		assert_non_null(p);
		if (aligns[i])
			assert_int_equal((uintptr_t)p % aligns[i], 0);
		assert_int_equal(skynet_mem_usable_size(p), 33);
		assert_int_equal(skynet_mem_owner(p), OWNER);
		poke(p, -1, 0);
		poke(p, -3, 0);
		skynet_mem_set_current(FREER);
		capture_begin(&tmp, &saved);
		skynet_free(p);
		capture_end(tmp, saved);
		expect("MEMORY_CHECK: underflow by 3 bytes before the block (nearest at offset -1)\n");
		expect("(requested 33 bytes");
		expect("owner service :0a000001, freeing service :0a000002");
	}
	skynet_mem_set_current(0);
}

/* The quarantine keeps the address from being handed out again, so a second
 * free is still seen as one even after other allocations of the same size. */
static void double_free_after_reuse(void **state) {
	(void)state;
	FILE *tmp;
	int saved;
	skynet_mem_set_current(OWNER);
	void *p = skynet_malloc(64);
	skynet_free(p);
	void *again[64];
	for (int i = 0; i < 64; i++) {
		again[i] = skynet_malloc(64);
		assert_ptr_not_equal(again[i], p);
	}
	uint64_t before = skynet_mem_check_count(SKYNET_MEM_CHECK_DOUBLE_FREE);
	struct skynet_mem_stat st = stat_of(OWNER);
	skynet_mem_set_current(FREER);
	capture_begin(&tmp, &saved);
	skynet_free(p);
	capture_end(tmp, saved);
	expect("MEMORY_CHECK: double free\n");
	expect("(requested 64 bytes");
	expect("owner service :0a000001, freed by service :0a000001, freeing service :0a000002");
	assert_int_equal(skynet_mem_check_count(SKYNET_MEM_CHECK_DOUBLE_FREE) - before, 1);
	assert_int_equal(stat_of(OWNER).bytes, st.bytes);   /* nothing charged twice */
	for (int i = 0; i < 64; i++)
		skynet_free(again[i]);
	skynet_mem_set_current(0);
}

static void invalid_frees_never_reach_the_allocator(void **state) {
	(void)state;
	FILE *tmp;
	int saved;
	char on_stack[64];
	skynet_mem_set_current(OWNER);
	char *p = skynet_malloc(100);
	void *foreign = malloc(100);   /* the C library's, not the layer's */
	void *bad[] = { on_stack + 16, p + 1, p + 16, p - 16, foreign, (void *)(uintptr_t)0x1000 };
	uint64_t before = skynet_mem_check_count(SKYNET_MEM_CHECK_INVALID_FREE);
	skynet_mem_set_current(FREER);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		capture_begin(&tmp, &saved);
		skynet_free(bad[i]);
		capture_end(tmp, saved);
		expect("MEMORY_CHECK: invalid free\n");
		char want[128];
		snprintf(want, sizeof(want), "free of %p: not a block of skynet-mem", bad[i]);
		expect(want);
		expect("freeing service :0a000002");
	}
	capture_begin(&tmp, &saved);
	errno = 0;
	assert_null(skynet_realloc(p + 8, 200));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(skynet_mem_transfer(on_stack, OWNER), -1);
	capture_end(tmp, saved);
	expect("realloc of 0x");
	expect("transfer of 0x");
	assert_int_equal(skynet_mem_check_count(SKYNET_MEM_CHECK_INVALID_FREE) - before, 8);
	free(foreign);
	skynet_free(p);   /* the real block is intact */
	assert_int_equal(skynet_mem_usable_size(on_stack), 0);
	assert_int_equal(skynet_mem_owner(p + 1), 0);
	skynet_mem_set_current(0);
}

/* A foreign pointer at the start of a page: its header would lie in the page
 * before, unmapped or inaccessible. Reported, never a crash in the checker;
 * the layer's own page-aligned blocks still free cleanly. */
static void invalid_free_after_an_unreadable_page(void **state) {
	(void)state;
	FILE *tmp;
	int saved;
	long page = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, 4 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(munmap(map, (size_t)page), 0);                          /* page 0: unmapped */
	assert_int_equal(mprotect(map + 2 * page, (size_t)page, PROT_NONE), 0);   /* page 2: no access */
	void *bad[] = { map + page, map + page + 32, map + 3 * page, map + 3 * page + 16 };
	uint64_t before = skynet_mem_check_count(SKYNET_MEM_CHECK_INVALID_FREE);
	skynet_mem_set_current(FREER);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		capture_begin(&tmp, &saved);
		errno = ERANGE;
		skynet_free(bad[i]);
		assert_int_equal(errno, ERANGE);   /* free leaves errno alone */
		capture_end(tmp, saved);
		expect("MEMORY_CHECK: invalid free\n");
	}
	assert_int_equal(skynet_mem_check_count(SKYNET_MEM_CHECK_INVALID_FREE) - before, 4);
	void *aligned = skynet_aligned_alloc((size_t)page, 100);
	assert_non_null(aligned);
	assert_int_equal(skynet_mem_owner(aligned), FREER);
	skynet_free(aligned);
	assert_int_equal(skynet_mem_check_count(SKYNET_MEM_CHECK_INVALID_FREE) - before, 4);
	munmap(map + page, 3 * (size_t)page);
	skynet_mem_set_current(0);
}

static void write_after_free_names_owner(void **state) {
	(void)state;
	FILE *tmp;
	int saved;
	skynet_mem_set_current(OWNER);
	unsigned char *p = skynet_malloc(80);
	skynet_mem_set_current(FREER);
	skynet_free(p);
	poke(p, 10, 1);
	poke(p, 13, 1);
	uint64_t before = skynet_mem_check_count(SKYNET_MEM_CHECK_WRITE_AFTER_FREE);
	capture_begin(&tmp, &saved);
	size_t old = skynet_mem_check_quarantine(0);   /* every block leaves now */
	capture_end(tmp, saved);
	expect("MEMORY_CHECK: write after free at offset 10 (4 bytes)\n");
	expect("(requested 80 bytes");
	expect("owner service :0a000001, freed by service :0a000002");
	assert_int_equal(skynet_mem_check_count(SKYNET_MEM_CHECK_WRITE_AFTER_FREE) - before, 1);
	skynet_mem_check_quarantine(old);
	skynet_mem_set_current(0);
}

/* realloc always moves, so the old pointer is quarantined and caught. */
static void realloc_moves_through_quarantine(void **state) {
	(void)state;
	FILE *tmp;
	int saved;
	skynet_mem_set_current(OWNER);
	char *p = skynet_malloc(10);
	memcpy(p, "abcdefghi", 10);
	skynet_mem_set_current(FREER);
	char *q = skynet_realloc(p, 10);
	assert_ptr_not_equal(q, p);
	assert_string_equal(q, "abcdefghi");
	assert_int_equal(skynet_mem_owner(q), FREER);
	capture_begin(&tmp, &saved);
	skynet_free(p);
	assert_null(skynet_realloc(p, 30));
	capture_end(tmp, saved);
	expect("MEMORY_CHECK: double free\n  free of block");
	expect("MEMORY_CHECK: double free\n  realloc of block");
	/* an overflowing block is reported at realloc and left alone */
	poke(q, 10, 0);
	capture_begin(&tmp, &saved);
	assert_null(skynet_realloc(q, 100));
	capture_end(tmp, saved);
	expect("overflow by 1 bytes at offset 10\n  realloc of block");
	skynet_mem_set_current(0);
}

static void transfer_checks_and_moves_owner(void **state) {
	(void)state;
	FILE *tmp;
	int saved;
	skynet_mem_set_current(OWNER);
	unsigned char *p = skynet_malloc(50);
	size_t u = skynet_mem_block_charge(p);
	size_t owner_before = stat_of(OWNER).bytes;
	assert_int_equal(skynet_mem_transfer(p, FREER), 0);
	assert_int_equal(skynet_mem_owner(p), FREER);
	assert_int_equal(stat_of(OWNER).bytes, owner_before - u);
	poke(p, 52, 7);
	skynet_mem_set_current(OWNER);
	capture_begin(&tmp, &saved);
	assert_int_equal(skynet_mem_transfer(p, OWNER), -1);
	capture_end(tmp, saved);
	expect("overflow by 3 bytes at offset 52\n  transfer of block");
	expect("owner service :0a000002, freeing service :0a000001");
	skynet_mem_set_current(0);
}

/* A clean workload across services and entry points is never reported. */
static void clean_workload_is_never_reported(void **state) {
	(void)state;
	uint64_t before = skynet_mem_check_errors();
	void *live[256] = { 0 };
	unsigned seed = 12345;
	for (int step = 0; step < 20000; step++) {
		seed = seed * 1103515245u + 12345u;
		unsigned r = seed >> 8;
		int i = (int)(r % 256);
		skynet_mem_set_current(0x0b000000u + (r >> 8) % 5);
		size_t n = (r >> 12) % 3000;
		if (live[i] == NULL) {
			if (r & 1)
				live[i] = skynet_malloc(n);
			else
				assert_int_equal(skynet_posix_memalign(&live[i], (size_t)8 << (r >> 20) % 8, n), 0);
			memset(live[i], (int)r, n);
		} else if (r & 2) {
			live[i] = skynet_realloc(live[i], n + 1);
			memset(live[i], 1, n + 1);
		} else if (r & 4) {
			assert_int_equal(skynet_mem_transfer(live[i], 0x0b000009u), 0);
		} else {
			skynet_free(live[i]);
			live[i] = NULL;
		}
	}
	for (int i = 0; i < 256; i++)
		skynet_free(live[i]);
	size_t old = skynet_mem_check_quarantine(0);
	skynet_mem_check_quarantine(old);
	assert_int_equal(skynet_mem_check_errors(), before);
	skynet_mem_set_current(0);
}

struct cross {
	void *p;
};

static void *free_on_other_thread(void *arg) {
	struct cross *c = arg;
	skynet_mem_set_current(FREER);
	skynet_free(c->p);
	skynet_mem_set_current(0);
	return NULL;
}

/* Blocks cross threads in an actor server: a free on another thread is clean,
 * and a second free back on the first thread is still a double free. */
static void double_free_across_threads(void **state) {
	(void)state;
	FILE *tmp;
	int saved;
	uint64_t before = skynet_mem_check_errors();
	skynet_mem_set_current(OWNER);
	struct cross c = { skynet_malloc(300) };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, free_on_other_thread, &c), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(skynet_mem_check_errors(), before);
	capture_begin(&tmp, &saved);
	skynet_free(c.p);
	capture_end(tmp, saved);
	expect("MEMORY_CHECK: double free\n");
	expect("owner service :0a000001, freed by service :0a000002, freeing service :0a000001");
	assert_int_equal(skynet_mem_check_errors(), before + 1);
	skynet_mem_set_current(0);
}

static void *free_then_write(void *arg) {
	(void)arg;
	skynet_mem_set_current(FREER);
	unsigned char *p = skynet_malloc(90);
	skynet_free(p);
	poke(p, 5, 0);   /* the block waits in this thread's quarantine */
	skynet_mem_set_current(0);
	return NULL;
}

/* Each thread has its own quarantine: it is verified when the thread exits. */
static void thread_exit_empties_its_quarantine(void **state) {
	(void)state;
	FILE *tmp;
	int saved;
	uint64_t before = skynet_mem_check_count(SKYNET_MEM_CHECK_WRITE_AFTER_FREE);
	pthread_t t;
	capture_begin(&tmp, &saved);
	assert_int_equal(pthread_create(&t, NULL, free_then_write, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	capture_end(tmp, saved);
	expect("MEMORY_CHECK: write after free at offset 5 (1 bytes)\n");
	expect("(requested 90 bytes");
	expect("freed by service :0a000002");
	assert_int_equal(skynet_mem_check_count(SKYNET_MEM_CHECK_WRITE_AFTER_FREE) - before, 1);
}

static atomic_int stop_churn;

static void *churn(void *arg) {
	(void)arg;
	skynet_mem_set_current(FREER);
	while (!atomic_load(&stop_churn)) {
		void *p = skynet_malloc(100);
		skynet_free(p);
	}
	skynet_mem_set_current(0);
	return NULL;
}

/* fork() while another thread allocates: the child must find no lock held
 * (it would hang; alarm() turns a hang into a failure). */
static void fork_while_allocating(void **state) {
	(void)state;
#ifdef __SANITIZE_ADDRESS__
	skip();   /* gcc 12's ASan allocator keeps its own locks across fork (seen: child hangs in it) */
#endif
	pthread_t t;
	atomic_store(&stop_churn, 0);
	assert_int_equal(pthread_create(&t, NULL, churn, NULL), 0);
	for (int i = 0; i < 50; i++) {
		fflush(stderr);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			alarm(20);
			for (int k = 0; k < 2000; k++)
				skynet_free(skynet_malloc((size_t)k));
			_exit(0);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status))
			fail_msg("child killed by signal %d", WTERMSIG(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	atomic_store(&stop_churn, 1);
	assert_int_equal(pthread_join(t, NULL), 0);
}

/* A service that exits owning blocks is told where they were allocated. */
static void leak_report_at_service_exit(void **state) {
	(void)state;
	FILE *tmp;
	int saved;
	const uint32_t h = 0x0c000007u;
	skynet_mem_set_current(h);
	void *a = skynet_malloc(123);
	void *b = skynet_malloc(7);
	skynet_mem_set_current(0);
	struct skynet_mem_stat left;
	capture_begin(&tmp, &saved);
	skynet_mem_service_exit(h, &left);
	capture_end(tmp, saved);
	assert_int_equal(left.blocks, 2);
	expect("service :0c000007 exits owning 2 blocks");
	expect("(requested 123 bytes");
	expect("(requested 7 bytes");
	expect("allocated at: ");
	skynet_free(a);
	skynet_free(b);
}

/* Every write(2) to stderr while recording: the layer's writes come here
 * (this binary exports write; glibc's own internal writes, dprintf's and
 * backtrace_symbols_fd's, do not). */
static int recording;
static char recorded[16384];
static size_t recorded_len, partial_lines;

ssize_t write(int fd, const void *buf, size_t n) {
	if (recording && fd == 2 && n > 0) {
		size_t room = sizeof(recorded) - 1 - recorded_len;
		memcpy(recorded + recorded_len, buf, n < room ? n : room);
		recorded_len += n < room ? n : room;
		recorded[recorded_len] = 0;
		if (((const char *)buf)[n - 1] != '\n')
			partial_lines++;
	}
	return syscall(SYS_write, fd, buf, n);
}

/* The listing is whole lines, one write(2) each: skynet's stdout shares the
 * file, and a line written in pieces had another thread's line in its middle
 * (the flake of skynet_testmemlimit in the check tree). */
static void leak_listing_writes_whole_lines(void **state) {
	(void)state;
	FILE *tmp;
	int saved;
	const uint32_t h = 0x0c000008u;
	skynet_mem_set_current(h);
	void *a = skynet_malloc(40);
	char *b = strdup("from libc");   /* a site in libc: no line table there */
	skynet_mem_set_current(0);
	struct skynet_mem_stat left;
	capture_begin(&tmp, &saved);
	recorded_len = partial_lines = 0;
	recorded[0] = 0;
	recording = 1;
	skynet_mem_service_exit(h, &left);
	recording = 0;
	capture_end(tmp, saved);
	expect("allocated at: ");
	assert_int_equal(partial_lines, 0);
	assert_string_equal(recorded, out);
	skynet_free(a);
	free(b);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(leak_listing_writes_whole_lines),
		cmocka_unit_test(aborts_by_default),
		cmocka_unit_test(overflow_by_one_and_by_many),
		cmocka_unit_test(overflow_past_the_canary),
		cmocka_unit_test(underflow_keeps_alignment),
		cmocka_unit_test(double_free_after_reuse),
		cmocka_unit_test(invalid_frees_never_reach_the_allocator),
		cmocka_unit_test(invalid_free_after_an_unreadable_page),
		cmocka_unit_test(write_after_free_names_owner),
		cmocka_unit_test(realloc_moves_through_quarantine),
		cmocka_unit_test(transfer_checks_and_moves_owner),
		cmocka_unit_test(double_free_across_threads),
		cmocka_unit_test(thread_exit_empties_its_quarantine),
		cmocka_unit_test(clean_workload_is_never_reported),
		cmocka_unit_test(fork_while_allocating),
		cmocka_unit_test(leak_report_at_service_exit),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
