/* Model-based test of the ledger and the records: four worker threads run
 * seeded random operations (C malloc, free by another service, realloc up and
 * down, transfer, Lua alloc/resize/free, limit set and clear) for random
 * services among up to 100,000 handles, while a plain model (atomic counters
 * per handle) says what every record must show. At every quiescent point (all
 * workers idle at skynet_mem_set_current(0), or exited) every record, the
 * totals and the orphans must equal the model exactly; then some services
 * exit (their leftover checked), limits are set below usage (a shrink must
 * still succeed), pools of live blocks change threads (cross-thread frees)
 * and a worker may exit with its changes unpublished (its ledger's
 * destructor publishes them).
 *
 * Seeded: the seed is printed; SKYNET_MEM_MODEL_SEED=n reruns it (the
 * threads' interleaving differs, the operations do not). Bounded: PHASES
 * quiescent points or BUDGET_NS of work, whichever comes first; a watchdog
 * fails the test if it runs past DEADLINE_S (a hang). */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef SKYNET_MEM_USE_JEMALLOC
#include <malloc.h>
#endif

#include "skynet_malloc.h"
#include "test_util.h"

#define WORKERS 4
#define HANDLES 100000
#define BASE 0x01000000u        /* consecutive handles, as skynet's */
#define PHASES 24
#define DISPATCHES 12000        /* per worker and phase */
#define POOL_MAX 6000           /* live blocks a worker's pool holds */
#define BUDGET_NS ((int64_t)8 * 1000000000)
#define DEADLINE_S 60

struct model {
	_Atomic int64_t bytes, blocks, lua;
	_Atomic uint64_t allocs, frees;
	size_t limit;               /* written by one worker (h % WORKERS) or at quiescence */
	atomic_int ever_limited;    /* a refused growth is then allowed */
	/* Has a record: changed from another service, or by a dispatch of its
	 * own that ended (the running service's changes may wait in the
	 * thread's ledger_acc, with no record yet, until it is left). */
	atomic_int touched;
	int dead;                   /* exited: changed only at quiescence */
};

struct entry {
	void *p;
	uint32_t owner;             /* index into the model */
	int lua;
	size_t req;                 /* requested (Lua's osize) */
	size_t charge;
};

struct pool {
	struct entry *e;
	size_t n;
};

static struct model *model;
static struct pool pools[WORKERS];
static uint64_t seed;
static pthread_barrier_t phase_start, phase_end;
static int exit_after[WORKERS];   /* the worker exits at this phase's end, unpublished */
static int phase_no;
static uint32_t universe;         /* this phase's random picks: handles 0 .. universe-1 */
static uint32_t cursor[WORKERS];  /* each worker also walks every handle in turn */
static atomic_int failed;

static uint64_t splitmix(uint64_t *x) {
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t *x, uint64_t n) {
	return splitmix(x) % n;
}

static uint32_t handle_of(uint32_t i) {
	return BASE + i;
}

/* A failure inside a worker: reported with the seed, the test then fails. */
#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "model: seed %" PRIu64 " phase %d: ", seed, phase_no); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		atomic_store(&failed, 1); \
	} \
} while (0)

static void watchdog(int sig) {
	(void)sig;
	static const char msg[] = "model: deadline passed: the layer hangs (seed in the first line)\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	_exit(1);
}

/* The worker's running service, and whether its dispatch changed it. */
static __thread uint32_t running = UINT32_MAX;
static __thread int running_changed;

/* The running service's dispatch ended (its thread switched away). */
static void left_running(void) {
	if (running_changed)
		atomic_store_explicit(&model[running].touched, 1, memory_order_relaxed);
	running = UINT32_MAX;
	running_changed = 0;
}

static void charge(uint32_t i, int64_t bytes, int64_t blocks, int64_t lua, int allocs, int frees) {
	struct model *m = &model[i];
	atomic_fetch_add_explicit(&m->bytes, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->blocks, blocks, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->lua, lua, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->allocs, (uint64_t)allocs, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->frees, (uint64_t)frees, memory_order_relaxed);
	if (i == running)
		running_changed = 1;
	else
		atomic_store_explicit(&m->touched, 1, memory_order_relaxed);
}

static size_t lua_charge(void *q, size_t n) {
#ifdef SKYNET_MEM_USE_JEMALLOC
	(void)q;
	return nallocx(n, 0);
#else
	(void)n;
	return malloc_usable_size(q);
#endif
}

static size_t rnd_size(uint64_t *x) {
	uint64_t k = rnd(x, 100);
	if (k < 70)
		return (size_t)rnd(x, 512);           /* 0 .. 511 */
	if (k < 92)
		return 512 + (size_t)rnd(x, 8000);
	return 8192 + (size_t)rnd(x, 40000);      /* across the large classes */
}

/* A live handle (never an exited one) at random among n. */
static uint32_t rnd_live_in(uint64_t *x, uint32_t n) {
	for (;;) {
		uint32_t i = (uint32_t)rnd(x, n);
		if (!model[i].dead)
			return i;
	}
}

static uint32_t rnd_live(uint64_t *x) {
	return rnd_live_in(x, universe);
}

/* The next live handle of the worker's walk: new services in a row, as a
 * server starting thousands of agents has. */
static uint32_t next_live(int w) {
	for (;;) {
		uint32_t i = cursor[w];
		cursor[w] = (i + 1) % HANDLES;
		if (!model[i].dead)
			return i;
	}
}

static void pool_take(struct pool *pl, size_t k) {
	pl->e[k] = pl->e[--pl->n];
}

static void op_malloc(struct pool *pl, uint32_t h, uint64_t *x) {
	size_t n = rnd_size(x);
	void *p = skynet_malloc(n);
	if (p == NULL) {
		CHECK(atomic_load(&model[h].ever_limited), "malloc(%zu) for %#x refused with no limit", n, handle_of(h));
		return;
	}
	memset(p, 0xa5, n < 64 ? n : 64);
	size_t c = skynet_mem_block_charge(p);
	charge(h, (int64_t)c, 1, 0, 1, 0);
	pl->e[pl->n++] = (struct entry){ .p = p, .owner = h, .req = n, .charge = c };
}

static void op_lua_new(struct pool *pl, uint32_t h, uint64_t *x) {
	size_t n = 1 + (size_t)rnd(x, 600);
	void *p = skynet_mem_lua_alloc((void *)(uintptr_t)handle_of(h), NULL, 4, n);
	if (p == NULL) {
		CHECK(atomic_load(&model[h].ever_limited), "lua alloc %zu for %#x refused with no limit", n, handle_of(h));
		return;
	}
	size_t c = lua_charge(p, n);
	charge(h, 0, 0, (int64_t)c, 1, 0);
	pl->e[pl->n++] = (struct entry){ .p = p, .owner = h, .lua = 1, .req = n, .charge = c };
}

static void op_free(struct pool *pl, uint64_t *x) {
	size_t k = (size_t)rnd(x, pl->n);
	struct entry e = pl->e[k];
	pool_take(pl, k);
	if (e.lua) {
		CHECK(skynet_mem_lua_alloc((void *)(uintptr_t)handle_of(e.owner), e.p, e.req, 0) == NULL, "lua free");
		charge(e.owner, 0, 0, -(int64_t)e.charge, 0, 1);
	} else {
		skynet_free(e.p);
		charge(e.owner, -(int64_t)e.charge, -1, 0, 0, 1);
	}
}

/* Up or down; a shrink (or the same size) by the owner must always succeed. */
static void op_realloc_at(struct pool *pl, size_t k, uint32_t h, uint64_t *x) {
	struct entry *e = &pl->e[k];
	int shrink = rnd(x, 2) == 0;
	if (e->lua) {
		if (model[e->owner].dead)
			return;
		size_t n = shrink ? 1 + (size_t)rnd(x, e->req) : e->req + 1 + (size_t)rnd(x, 2000);
		void *q = skynet_mem_lua_alloc((void *)(uintptr_t)handle_of(e->owner), e->p, e->req, n);
		if (q == NULL) {
			CHECK(!shrink, "lua shrink %zu -> %zu of %#x refused", e->req, n, handle_of(e->owner));
			CHECK(atomic_load(&model[e->owner].ever_limited), "lua growth of %#x refused with no limit",
				handle_of(e->owner));
			return;
		}
		size_t c = lua_charge(q, n);
		charge(e->owner, 0, 0, (int64_t)c - (int64_t)e->charge, 1, 1);
		e->p = q, e->req = n, e->charge = c;
		return;
	}
	size_t n = shrink ? (size_t)rnd(x, e->req + 1) : e->req + 1 + (size_t)rnd(x, e->req < 30000 ? 20000 : 100);
	if (n == 0)
		n = 1;   /* realloc(p, 0) is a free */
	if (n > e->req)
		shrink = 0;   /* 0 -> 1: growth (a class up, in the check build) */
	void *q = skynet_realloc(e->p, n);
	if (q == NULL) {
		CHECK(!(shrink && e->owner == h), "shrink %zu -> %zu of %#x refused (errno %d)", e->req, n,
			handle_of(h), errno);
		CHECK(atomic_load(&model[h].ever_limited), "realloc to %zu for %#x refused with no limit", n,
			handle_of(h));
		return;
	}
	size_t c = skynet_mem_block_charge(q);
	charge(e->owner, -(int64_t)e->charge, -1, 0, 0, 1);
	charge(h, (int64_t)c, 1, 0, 1, 0);
	*e = (struct entry){ .p = q, .owner = h, .req = n, .charge = c };
}

static void op_realloc(struct pool *pl, uint32_t h, uint64_t *x) {
	op_realloc_at(pl, (size_t)rnd(x, pl->n), h, x);
}

/* The newest block, often the service's own from this dispatch: resized by
 * its owner, a shrink over the limit included. */
static void op_realloc_last(struct pool *pl, uint32_t h, uint64_t *x) {
	op_realloc_at(pl, pl->n - 1, h, x);
}

static void op_transfer(struct pool *pl, uint64_t *x) {
	size_t k = (size_t)rnd(x, pl->n);
	struct entry *e = &pl->e[k];
	if (e->lua)
		return;
	uint32_t to = rnd_live(x);
	CHECK(skynet_mem_transfer(e->p, handle_of(to)) == 0, "transfer");
	if (to != e->owner) {
		charge(e->owner, -(int64_t)e->charge, -1, 0, 0, 0);
		charge(to, (int64_t)e->charge, 1, 0, 0, 0);
	}
	e->owner = to;
}

/* Limits of handle h are set by one worker only (or at quiescence). */
static void op_limit(uint32_t h, uint64_t *x) {
	struct model *m = &model[h];
	size_t limit = 0;
	if (rnd(x, 2)) {
		int64_t used = atomic_load(&m->bytes) + atomic_load(&m->lua);
		int64_t l = used + (int64_t)rnd(x, 65536) - 32768;
		limit = l > 0 ? (size_t)l : 1;
		atomic_store(&m->ever_limited, 1);
	}
	if (skynet_mem_set_limit(handle_of(h), limit) == 0)
		m->limit = limit;
	else
		CHECK(errno == ESRCH && !atomic_load(&m->touched), "set_limit of %#x: errno %d", handle_of(h), errno);
}

static void dispatch(int w, struct pool *pl, uint64_t *x) {
	uint32_t h = rnd(x, 2) ? rnd_live(x) : next_live(w);
	skynet_mem_set_current(handle_of(h));
	left_running();
	running = h;
	int ops = 1 + (int)rnd(x, 8);
	for (int i = 0; i < ops; i++) {
		uint64_t k = rnd(x, 100);
		if (pl->n >= POOL_MAX || (k < 30 && pl->n > 0)) {
			op_free(pl, x);
		} else if (k < 55) {
			op_malloc(pl, h, x);
		} else if (k < 65) {
			op_lua_new(pl, h, x);
		} else if (k < 75 && pl->n > 0) {
			op_realloc(pl, h, x);
		} else if (k < 80 && pl->n > 0) {
			op_realloc_last(pl, h, x);
		} else if (k < 90 && pl->n > 0) {
			op_transfer(pl, x);
		} else if (k < 95 && h % WORKERS == (uint32_t)w) {
			op_limit(h, x);
		}
	}
}

static void *worker(void *arg) {
	int w = (int)(intptr_t)arg;
	for (;;) {
		pthread_barrier_wait(&phase_start);
		if (phase_no < 0)
			return NULL;
		uint64_t x = seed ^ ((uint64_t)phase_no << 32) ^ ((uint64_t)w << 8);
		for (int d = 0; d < DISPATCHES; d++)
			dispatch(w, &pools[w], &x);
		int leave = exit_after[w];
		if (!leave)
			skynet_mem_set_current(0);
		left_running();   /* or when the thread exits, before anyone reads it */
		pthread_barrier_wait(&phase_end);
		if (leave)
			return NULL;   /* pending changes: the ledger's destructor publishes them */
	}
}

static int64_t now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Every record, the totals and the orphans against the model. */
static void compare_all(void) {
	int64_t bytes = 0, blocks = 0, lua = 0, obytes = 0, oblocks = 0;
	uint64_t allocs = 0, frees = 0;
	size_t records = 0;
	for (uint32_t i = 0; i < HANDLES; i++) {
		struct model *m = &model[i];
		bytes += m->bytes, blocks += m->blocks, lua += m->lua;
		allocs += m->allocs, frees += m->frees;
		if (m->dead) {
			obytes += m->bytes + m->lua, oblocks += m->blocks;
			continue;
		}
		struct skynet_mem_stat st;
		if (skynet_mem_stat(handle_of(i), &st) != 0) {
			CHECK(m->bytes == 0 && m->blocks == 0 && m->lua == 0 && m->allocs == 0 && m->frees == 0,
				"%#x has no record", handle_of(i));
			continue;
		}
		records++;
		if ((int64_t)st.bytes != m->bytes || (int64_t)st.blocks != m->blocks || (int64_t)st.lua_bytes != m->lua ||
			st.allocs != m->allocs || st.frees != m->frees || st.limit != m->limit || st.retired) {
			CHECK(0, "%#x: record bytes %zu blocks %zu lua %zu allocs %" PRIu64 " frees %" PRIu64
				" limit %zu; model %" PRId64 " %" PRId64 " %" PRId64 " %" PRIu64 " %" PRIu64 " %zu",
				handle_of(i), st.bytes, st.blocks, st.lua_bytes, st.allocs, st.frees, st.limit,
				m->bytes, m->blocks, m->lua, m->allocs, m->frees, m->limit);
			return;
		}
	}
	struct skynet_mem_totals t;
	skynet_mem_totals(&t);
	CHECK((int64_t)t.bytes == bytes && (int64_t)t.blocks == blocks && (int64_t)t.lua_bytes == lua &&
		t.allocs == allocs && t.frees == frees,
		"totals %zu %zu %zu %" PRIu64 " %" PRIu64 "; model %" PRId64 " %" PRId64 " %" PRId64 " %" PRIu64
		" %" PRIu64, t.bytes, t.blocks, t.lua_bytes, t.allocs, t.frees, bytes, blocks, lua, allocs, frees);
	size_t ob, obl;
	skynet_mem_orphans(&ob, &obl);
	CHECK((int64_t)ob == obytes && (int64_t)obl == oblocks, "orphans %zu %zu; model %" PRId64 " %" PRId64,
		ob, obl, obytes, oblocks);
	(void)records;
}

/* At quiescence: some services exit, some get a limit below their usage. */
static void lifecycle(uint64_t *x) {
	for (int k = 0; k < 200; k++) {
		/* Exits among all (the small universes stay mostly alive), limits
		 * half among the first 1,000, which small phases revisit. */
		int exiting = k % 2;
		uint32_t i = rnd_live_in(x, exiting || rnd(x, 2) ? HANDLES : 1000);
		struct model *m = &model[i];
		if (!m->touched)
			continue;
		if (exiting) {
			struct skynet_mem_stat left;
			skynet_mem_service_exit(handle_of(i), &left);
			CHECK((int64_t)left.bytes == m->bytes && (int64_t)left.blocks == m->blocks &&
				(int64_t)left.lua_bytes == m->lua, "%#x exit leftover %zu %zu %zu; model %" PRId64
				" %" PRId64 " %" PRId64, handle_of(i), left.bytes, left.blocks, left.lua_bytes,
				m->bytes, m->blocks, m->lua);
			m->dead = 1;
		} else {
			size_t used = (size_t)(m->bytes + m->lua);
			size_t limit = used > 2 ? used / 2 : 1;   /* over it: growth refused, shrinks not */
			if (skynet_mem_set_limit(handle_of(i), limit) == 0) {
				m->limit = limit;
				m->ever_limited = 1;
			}
		}
	}
}

static void model_run(void **state) {
	(void)state;
	const char *env = getenv("SKYNET_MEM_MODEL_SEED");
	seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	printf("model: seed %" PRIu64 " (SKYNET_MEM_MODEL_SEED=%" PRIu64 " reruns it)\n", seed, seed);
	fflush(stdout);
	signal(SIGALRM, watchdog);
	alarm(DEADLINE_S);
	model = calloc(HANDLES, sizeof(*model));
	assert_non_null(model);
	for (int w = 0; w < WORKERS; w++) {
		pools[w].e = calloc(POOL_MAX + 8, sizeof(struct entry));
		assert_non_null(pools[w].e);
	}
	assert_int_equal(pthread_barrier_init(&phase_start, NULL, WORKERS + 1), 0);
	assert_int_equal(pthread_barrier_init(&phase_end, NULL, WORKERS + 1), 0);
	for (int w = 0; w < WORKERS; w++)
		cursor[w] = (uint32_t)w * (HANDLES / WORKERS);
	pthread_t th[WORKERS];
	for (int w = 0; w < WORKERS; w++)
		assert_int_equal(pthread_create(&th[w], NULL, worker, (void *)(intptr_t)w), 0);
	uint64_t x = seed;
	int64_t start = now_ns();
	int phases = 0;
	for (phase_no = 0; phase_no < PHASES && now_ns() - start < BUDGET_NS && !atomic_load(&failed); phase_no++) {
		static const uint32_t universes[] = { 1000, 10000, HANDLES };
		universe = universes[rnd(&x, 3)];
		for (int w = 0; w < WORKERS; w++)
			exit_after[w] = rnd(&x, 8) == 0;
		pthread_barrier_wait(&phase_start);
		pthread_barrier_wait(&phase_end);
		for (int w = 0; w < WORKERS; w++)
			if (exit_after[w]) {
				assert_int_equal(pthread_join(th[w], NULL), 0);
				assert_int_equal(pthread_create(&th[w], NULL, worker, (void *)(intptr_t)w), 0);
			}
		compare_all();
		lifecycle(&x);
		/* Blocks move to another thread: its frees are cross-thread. */
		struct pool first = pools[0];
		for (int w = 0; w + 1 < WORKERS; w++)
			pools[w] = pools[w + 1];
		pools[WORKERS - 1] = first;
		phases++;
	}
	phase_no = -1;
	pthread_barrier_wait(&phase_start);
	for (int w = 0; w < WORKERS; w++)
		assert_int_equal(pthread_join(th[w], NULL), 0);
	/* Everything freed: every live record and the totals back to zero. */
	skynet_mem_set_current(0x00ffffffu);
	for (int w = 0; w < WORKERS; w++)
		while (pools[w].n > 0)
			op_free(&pools[w], &x);
	skynet_mem_set_current(0);
	compare_all();
	printf("model: %d quiescent points, %.1f s\n", phases, (double)(now_ns() - start) / 1e9);
	alarm(0);
	assert_int_equal(atomic_load(&failed), 0);
	assert_true(phases > 0);
	for (int w = 0; w < WORKERS; w++)
		free(pools[w].e);
	free(model);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(model_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
