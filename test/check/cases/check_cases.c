/* MEMORY_CHECK cases that need a process of their own: corruption found without
 * a free (at service, thread and process exit, on demand), the main thread's
 * quarantine at exit, the red zone, the site after an overflow, wild pointers,
 * concurrent misuse. run_check_cases.sh runs one case per process and checks
 * its exit status and report.
 * Usage: check_cases CASE */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "skynet_malloc.h"
#include "skynet_mem.h"

#define OWNER 0x0a000001u
#define OTHER 0x0a000002u

/* Weak: the case then fails (instead of the build) where the API is missing. */
extern size_t skynet_mem_check_all(void) __attribute__((weak));

/* Writes the compiler cannot see through: the bugs are meant. */
static void __attribute__((noinline)) poke(void *p, ptrdiff_t off, unsigned char v) {
	volatile unsigned char *b = (volatile unsigned char *)((uintptr_t)p + (uintptr_t)off);
	*b = v;
}

static void __attribute__((noinline)) smear(void *p, ptrdiff_t off, size_t len, unsigned char v) {
	for (size_t i = 0; i < len; i++)
		poke(p, off + (ptrdiff_t)i, v);
}

static int failed(const char *what) {
	fprintf(stderr, "check_cases: FAIL: %s\n", what);
	return 1;
}

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A never-freed block overflowed: found when its service exits. */
static int service_exit_overflow(void) {
	skynet_mem_set_current(OWNER);
	unsigned char *p = skynet_malloc(40);
	poke(p, 40, 0);
	skynet_mem_set_current(0);
	struct skynet_mem_stat left;
	skynet_mem_service_exit(OWNER, &left);
	return failed("service exit did not abort");
}

/* Never freed, underflowed: found at process exit. */
static int process_exit_underflow(void) {
	skynet_mem_set_current(OWNER);
	unsigned char *p = skynet_malloc(100);
	poke(p, -2, 0);
	skynet_mem_set_current(0);
	printf("leaving main\n");
	fflush(stdout);
	return 0;   /* the report (and abort) comes after main returns */
}

static void *overflow_and_exit(void *arg) {
	(void)arg;
	skynet_mem_set_current(OTHER);
	unsigned char *p = skynet_malloc(64);
	poke(p, 64 + 5, 0);
	skynet_mem_set_current(0);
	return p;   /* still live, never freed */
}

/* A thread allocates, overflows and exits: found when the thread exits. */
static int thread_exit_overflow(void) {
	pthread_t t;
	void *p;
	if (pthread_create(&t, NULL, overflow_and_exit, NULL) != 0 || pthread_join(t, &p) != 0)
		return failed("thread");
	printf("thread joined\n");
	fflush(stdout);
	_exit(0);   /* no process-exit check: only the thread's exit may report */
}

/* On demand, report-and-continue: the count of damaged blocks, each reported once
 * per call; the block is left alone and frees cleanly once mended. */
static int check_all(void) {
	if (skynet_mem_check_all == NULL)
		return failed("skynet_mem_check_all() missing");
	skynet_mem_check_abort(0);
	if (skynet_mem_check_all() != 0)
		return failed("a clean heap has damage");
	skynet_mem_set_current(OWNER);
	unsigned char *a = skynet_malloc(24), *b = skynet_malloc(3000);
	poke(a, 24 + 3, 0x77);
	poke(b, -1, 0x77);
	uint64_t before = skynet_mem_check_errors();
	size_t found = skynet_mem_check_all();
	if (found != 2 || skynet_mem_check_errors() != before + 2)
		return failed("check_all did not find both blocks");
	poke(a, 24 + 3, 0xcb);   /* mended: canary and guard bytes back */
	poke(b, -1, 0xa5);
	if (skynet_mem_check_all() != 0)
		return failed("mended blocks still reported");
	skynet_free(a);
	skynet_free(b);
	if (skynet_mem_check_errors() != before + 2)
		return failed("mended blocks reported at free");
	printf("check_all ok\n");
	return 0;
}

/* Freed in main, written, then main returns: the main thread's quarantine is
 * verified at process exit. */
static int main_write_after_free(void) {
	skynet_mem_set_current(OWNER);
	unsigned char *p = skynet_malloc(48);
	skynet_free(p);
	poke(p, 7, 0);
	skynet_mem_set_current(0);
	return 0;
}

/* SKYNET_MEM_REDZONE=32: a single byte 24 bytes past the end (23 past the
 * first red-zone byte) is seen. */
static int redzone_overflow(void) {
	skynet_mem_set_current(OWNER);
	unsigned char *p = skynet_malloc(40);
	poke(p, 40 + 23, 0x11);
	skynet_free(p);
	return failed("overflow 24 bytes past the end not found");
}

/* The site survives an overflow of 64 bytes. The line of the allocation goes
 * to stdout, so the script can find it in the report. */
static int __attribute__((noinline)) site_after_overflow(void) {
	skynet_mem_set_current(OWNER);
	printf("site line %d\n", __LINE__ + 1);
	unsigned char *p = skynet_malloc(40);
	fflush(stdout);
	smear(p, 40, 64, 'C');
	skynet_free(p);
	return failed("overflow not found");
}

/* Wild pointers: far past a block, into an unmapped range, at a page start
 * after an unmapped page. Each is reported, none crashes. */
static int wild_pointers(void) {
	skynet_mem_check_abort(0);
	unsigned char *p = skynet_malloc(40);
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *map = mmap(NULL, 8 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return failed("mmap");
	munmap(map, 8 * (size_t)page);   /* nothing there now */
	void *bad[] = {
		p + ((size_t)1 << 30),            /* 1 GiB past a block */
		p + ((size_t)1 << 40),
		map + 2 * page + 256,             /* unmapped, mid-page */
		map + 4 * page,                   /* unmapped, page start */
		(void *)(uintptr_t)0x7ffffffff000ull,
		(void *)(uintptr_t)0xdead0000beef0ull,
	};
	size_t nbad = sizeof(bad) / sizeof(bad[0]);
	uint64_t before = skynet_mem_check_count(SKYNET_MEM_CHECK_INVALID_FREE);
	for (size_t i = 0; i < nbad; i++) {
		skynet_free(bad[i]);
		if (skynet_realloc(bad[i], 10) != NULL || errno != EINVAL)
			return failed("realloc of a wild pointer");
		if (skynet_mem_transfer(bad[i], OTHER) != -1)
			return failed("transfer of a wild pointer");
		if (skynet_mem_owner(bad[i]) != 0 || skynet_mem_usable_size(bad[i]) != 0)
			return failed("owner or size of a wild pointer");
	}
	if (skynet_mem_check_count(SKYNET_MEM_CHECK_INVALID_FREE) - before != 3 * nbad)
		return failed("not every wild pointer reported");
	skynet_free(p);
	printf("wild ok\n");
	return 0;
}

/* --- concurrent misuse: two threads on one block, many rounds, bounded --- */

/* Rounds: the free/transfer race needs many to hit the window where a
 * transfer reseals the block between the free's look and its lock; each
 * round of the others is one report (slow to print). */
#define TRANSFER_ROUNDS 60000
#define REPORT_ROUNDS 4000
#define DEADLINE_S 60.0

enum race { RACE_TRANSFER, RACE_DOUBLE_FREE, RACE_REALLOC };

struct racer {
	enum race kind;
	int side;
	int ok;     /* rounds where this side's operation succeeded */
};

static void act(struct racer *r, void *p) {
	switch (r->kind) {
	case RACE_TRANSFER:
		if (r->side == 0)
			skynet_free(p);
		else
			r->ok += skynet_mem_transfer(p, OTHER) == 0;
		break;
	case RACE_DOUBLE_FREE:
		skynet_free(p);
		break;
	case RACE_REALLOC:
		if (r->side == 0)
			skynet_free(p);
		else {
			void *q = skynet_realloc(p, 200);
			if (q) {
				r->ok++;
				skynet_free(q);
			}
		}
		break;
	}
}

static struct racer racers[2];
static void *_Atomic race_block;
static atomic_int race_round, race_done;
static int rounds;

static void *race_thread(void *arg) {
	struct racer *r = arg;
	skynet_mem_set_current(r->side ? OTHER : OWNER);
	for (int i = 1; i <= rounds; i++) {
		while (atomic_load_explicit(&race_round, memory_order_acquire) < i)
			sched_yield();   /* both sides start the round close together */
		act(r, atomic_load(&race_block));
		atomic_fetch_add(&race_done, 1);
	}
	skynet_mem_set_current(0);
	return NULL;
}

static int race(enum race kind) {
	skynet_mem_check_abort(0);
	skynet_mem_check_quarantine(4096);   /* addresses come back soon: a stale link shows */
	rounds = kind == RACE_TRANSFER ? TRANSFER_ROUNDS : REPORT_ROUNDS;
	pthread_t t[2];
	for (int s = 0; s < 2; s++) {
		racers[s] = (struct racer){ .kind = kind, .side = s };
		pthread_create(&t[s], NULL, race_thread, &racers[s]);
	}
	double t0 = now_s();
	uint64_t errors0 = skynet_mem_check_errors();
	for (int i = 1; i <= rounds; i++) {
		skynet_mem_set_current(OWNER);
		void *p = skynet_malloc(16 + (size_t)(i % 7) * 24);
		skynet_mem_set_current(0);
		atomic_store(&race_block, p);
		atomic_store_explicit(&race_round, i, memory_order_release);
		while (atomic_load(&race_done) < 2 * i) {
			sched_yield();
			if (now_s() - t0 > DEADLINE_S)
				return failed("race took too long");
		}
	}
	for (int s = 0; s < 2; s++)
		pthread_join(t[s], NULL);
	uint64_t reports = skynet_mem_check_errors() - errors0;
	/* Every round one report: of the second free, or of the realloc or
	 * transfer of a freed block; none when the transfer came first. */
	uint64_t want = kind == RACE_TRANSFER ? (uint64_t)rounds - (uint64_t)racers[1].ok : (uint64_t)rounds;
	printf("race: %d rounds, %d successes, %llu reports, %.2f s\n", rounds, racers[1].ok,
		(unsigned long long)reports, now_s() - t0);
	if (reports != want)
		return failed("a round was not reported exactly once");
	/* The live lists are intact: nothing of either service is left, and the
	 * walk at service exit ends (a corrupted list loops). */
	struct skynet_mem_stat a, b;
	skynet_mem_service_exit(OWNER, &a);
	skynet_mem_service_exit(OTHER, &b);
	if (a.blocks != 0 || b.blocks != 0)
		return failed("blocks left after the race");
	if (skynet_mem_check_all && skynet_mem_check_all() != 0)
		return failed("damage after the race");
	printf("race ok\n");
	return 0;
}

/* skynet_mem_service_exit(h, NULL) still lists the service's leaks. */
static int exit_null_lists_leaks(void) {
	skynet_mem_set_current(OWNER);
	void *p = skynet_malloc(77);
	skynet_mem_set_current(0);
	skynet_mem_service_exit(OWNER, NULL);
	skynet_free(p);
	return 0;
}

/* A block leaves the quarantine, its memory is reused by a larger block that
 * overwrites its header, and the old pointer is freed again. Two neighbouring
 * large blocks freed together make one free range, which a larger block then
 * takes from its start. */
static int double_free_after_reuse(void) {
	skynet_mem_check_abort(0);
	unsigned char *a = skynet_malloc(64 << 10), *p = skynet_malloc(64 << 10);
	skynet_free(a);
	skynet_free(p);
	size_t old = skynet_mem_check_quarantine(0);   /* both go back to the allocator */
	skynet_mem_check_quarantine(old);
	void *keep[64];
	int n = 0, covered = 0;
	for (; n < 64 && !covered; n++) {
		size_t sz = (size_t)(100 + 8 * n) << 10;
		unsigned char *q = skynet_malloc(sz);
		keep[n] = q;
		if (q < p && q + sz > p) {
			memset(q, 0x5c, sz);   /* p's old header is now q's data */
			covered = 1;
		}
	}
	int rc = 0;
	if (!covered) {
		printf("reuse not reached: skipped\n");
		rc = 77;
	} else {
		uint64_t before = skynet_mem_check_count(SKYNET_MEM_CHECK_DOUBLE_FREE);
		skynet_free(p);
		if (skynet_mem_check_count(SKYNET_MEM_CHECK_DOUBLE_FREE) != before + 1)
			rc = failed("double free after reuse not named a double free");
		else
			printf("double free after reuse ok\n");
	}
	for (int i = 0; i < n; i++)
		skynet_free(keep[i]);
	return rc;
}

int main(int argc, char **argv) {
	if (argc != 2)
		return 2;
	const char *c = argv[1];
	if (!skynet_mem_has_check())
		return failed("not a MEMORY_CHECK build");
	if (strcmp(c, "service-exit-overflow") == 0)
		return service_exit_overflow();
	if (strcmp(c, "process-exit-underflow") == 0)
		return process_exit_underflow();
	if (strcmp(c, "thread-exit-overflow") == 0)
		return thread_exit_overflow();
	if (strcmp(c, "check-all") == 0)
		return check_all();
	if (strcmp(c, "main-write-after-free") == 0)
		return main_write_after_free();
	if (strcmp(c, "redzone-overflow") == 0)
		return redzone_overflow();
	if (strcmp(c, "site-after-overflow") == 0)
		return site_after_overflow();
	if (strcmp(c, "wild-pointers") == 0)
		return wild_pointers();
	if (strcmp(c, "race-free-transfer") == 0)
		return race(RACE_TRANSFER);
	if (strcmp(c, "race-double-free") == 0)
		return race(RACE_DOUBLE_FREE);
	if (strcmp(c, "race-free-realloc") == 0)
		return race(RACE_REALLOC);
	if (strcmp(c, "exit-null-lists-leaks") == 0)
		return exit_null_lists_leaks();
	if (strcmp(c, "double-free-after-reuse") == 0)
		return double_free_after_reuse();
	return failed("unknown case");
}
