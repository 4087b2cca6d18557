/* Real-program shapes, bare jemalloc against skynet-mem in one run: each run
 * is a forked child (so each starts from the same heap and its CPU time and
 * peak resident memory are its own), allocators interleaved, rotating order.
 *   cfrac      bignum churn: products, sums and truncations of 1..48-limb
 *              numbers, operands freed as results are made (cfrac-like)
 *   larson     2 threads (2 services), each replacing random blocks of an
 *              array, swapping arrays every round: half the frees are of the
 *              other thread's blocks (larson-like server)
 *   prodcons   64 B blocks made by one thread (service), freed by another,
 *              through a 64K-deep queue; resident memory reported too
 *   prodcons80 the same with 80 B blocks: 64 B plus the cookie is jemalloc's
 *              80 B class, whose resident memory under this pattern is
 *              jemalloc's own (compare the bare columns of the two rows)
 *   churn1     glibc bench-malloc-thread-like: a 1024-block working set,
 *   churn2     random replacement, sizes 1/x-distributed in 8 B..32 KiB; 1 and 2 threads
 * Prints the median CPU time (user + system) and wall time per run, their
 * ratios (target: <= 1.25x each), and the median peak-resident growth.
 * Usage: bench_programs [reps (5)] [scale (1)]
 *        bench_programs --one PROGRAM bare|layer [scale]   (no fork: for callgrind) */

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bare_jemalloc.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"

struct allocator {
	const char *name;
	void *(*alloc)(size_t);
	void *(*resize)(void *, size_t);
	void (*release)(void *);
	void (*set_current)(uint32_t);
};

static void no_current(uint32_t h) {
	(void)h;
}

static struct allocator allocators[2] = {
	{ "bare", NULL, NULL, NULL, no_current },
	{ "layer", skynet_malloc, skynet_realloc, skynet_free, skynet_mem_set_current },
};

static uint64_t next_rand(uint64_t *x) {
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* --- cfrac-like bignum churn --- */

struct big {
	size_t n;
	uint32_t limb[];
};

static struct big *big_new(const struct allocator *a, size_t n) {
	struct big *b = a->alloc(sizeof(*b) + n * sizeof(uint32_t));
	b->n = n;
	return b;
}

static struct big *big_mul(const struct allocator *a, const struct big *x, const struct big *y) {
	struct big *r = big_new(a, x->n + y->n);
	memset(r->limb, 0, r->n * sizeof(uint32_t));
	for (size_t i = 0; i < x->n; i++) {
		uint64_t carry = 0;
		for (size_t j = 0; j < y->n; j++) {
			uint64_t t = (uint64_t)x->limb[i] * y->limb[j] + r->limb[i + j] + carry;
			r->limb[i + j] = (uint32_t)t;
			carry = t >> 32;
		}
		r->limb[i + y->n] = (uint32_t)carry;
	}
	return r;
}

static struct big *big_add(const struct allocator *a, const struct big *x, const struct big *y) {
	if (x->n < y->n) {
		const struct big *t = x;
		x = y;
		y = t;
	}
	struct big *r = big_new(a, x->n + 1);
	uint64_t carry = 0;
	for (size_t i = 0; i < x->n; i++) {
		carry += (uint64_t)x->limb[i] + (i < y->n ? y->limb[i] : 0);
		r->limb[i] = (uint32_t)carry;
		carry >>= 32;
	}
	r->limb[x->n] = (uint32_t)carry;
	return r;
}

static uint64_t prog_cfrac(const struct allocator *a, int scale) {
	enum { LIVE = 16 };
	struct big *v[LIVE];
	uint64_t r = 7, sum = 0;
	a->set_current(0x01000001u);
	for (int i = 0; i < LIVE; i++) {
		v[i] = big_new(a, 1 + i % 4);
		for (size_t k = 0; k < v[i]->n; k++)
			v[i]->limb[k] = (uint32_t)next_rand(&r);
	}
	for (long step = 0; step < 400000L * scale; step++) {
		int i = (int)(next_rand(&r) % LIVE), j = (int)(next_rand(&r) % LIVE);
		struct big *p = big_mul(a, v[i], v[j]);
		struct big *s = big_add(a, p, v[i]);
		a->release(p);
		/* Truncate (a modular reduction's size effect), shrinking in place or not. */
		size_t keep = 1 + next_rand(&r) % 24;
		if (keep < s->n) {
			s = a->resize(s, sizeof(*s) + keep * sizeof(uint32_t));
			s->n = keep;
		}
		sum += s->limb[0];
		a->release(v[i]);
		v[i] = s;
	}
	for (int i = 0; i < LIVE; i++)
		a->release(v[i]);
	a->set_current(0);
	return sum;
}

/* --- larson-like server: two threads, arrays swapped each round --- */

#define LARSON_SLOTS 2000
#define LARSON_ROUNDS 40

struct larson {
	const struct allocator *a;
	void **arrays[2];
	pthread_barrier_t barrier;
	long ops;
	uint64_t sum[2];
};

struct larson_arg {
	struct larson *l;
	int id;
};

static void *larson_thread(void *arg) {
	struct larson_arg *la = arg;
	struct larson *l = la->l;
	uint64_t r = 0x9e3779b97f4a7c15ull * (uint64_t)(la->id + 1), sum = 0;
	l->a->set_current(0x01000010u + (uint32_t)la->id);
	for (int round = 0; round < LARSON_ROUNDS; round++) {
		void **arr = l->arrays[(la->id + round) & 1];
		for (long op = 0; op < l->ops; op++) {
			size_t k = next_rand(&r) % LARSON_SLOTS;
			l->a->release(arr[k]);
			size_t n = 16 + next_rand(&r) % 497;
			char *p = l->a->alloc(n);
			p[0] = (char)op;
			p[n - 1] = (char)k;
			sum += n;
			arr[k] = p;
		}
		pthread_barrier_wait(&l->barrier);
	}
	l->a->set_current(0);
	l->sum[la->id] = sum;
	return NULL;
}

static uint64_t prog_larson(const struct allocator *a, int scale) {
	struct larson l = { .a = a, .ops = 60000L * scale };
	pthread_barrier_init(&l.barrier, NULL, 2);
	a->set_current(0x01000012u);
	for (int t = 0; t < 2; t++) {
		l.arrays[t] = calloc(LARSON_SLOTS, sizeof(void *));
		for (int k = 0; k < LARSON_SLOTS; k++)
			l.arrays[t][k] = a->alloc(16 + (size_t)k % 497);
	}
	pthread_t th[2];
	struct larson_arg arg[2] = { { &l, 0 }, { &l, 1 } };
	for (int t = 0; t < 2; t++)
		pthread_create(&th[t], NULL, larson_thread, &arg[t]);
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < 2; t++) {
		for (int k = 0; k < LARSON_SLOTS; k++)
			a->release(l.arrays[t][k]);
		free(l.arrays[t]);
	}
	a->set_current(0);
	pthread_barrier_destroy(&l.barrier);
	return l.sum[0] + l.sum[1];
}

/* --- producer/consumer of 64 B blocks --- */

#define QUEUE 65536

struct queue {
	void *slot[QUEUE];
	_Alignas(64) atomic_size_t head;
	_Alignas(64) atomic_size_t tail;
	const struct allocator *a;
	long items;
	size_t size;
	uint64_t sum;
};

static void *producer(void *arg) {
	struct queue *q = arg;
	q->a->set_current(0x01000020u);
	for (long i = 0; i < q->items; i++) {
		char *p = q->a->alloc(q->size);
		memset(p, (int)i, q->size);
		size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
		while (h - atomic_load_explicit(&q->tail, memory_order_acquire) == QUEUE)
			sched_yield();
		q->slot[h % QUEUE] = p;
		atomic_store_explicit(&q->head, h + 1, memory_order_release);
	}
	q->a->set_current(0);
	return NULL;
}

static void *consumer(void *arg) {
	struct queue *q = arg;
	uint64_t sum = 0;
	q->a->set_current(0x01000021u);
	for (long i = 0; i < q->items; i++) {
		size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
		while (atomic_load_explicit(&q->head, memory_order_acquire) == t)
			sched_yield();
		unsigned char *p = q->slot[t % QUEUE];
		sum += p[q->size - 1];
		q->a->release(p);
		atomic_store_explicit(&q->tail, t + 1, memory_order_release);
	}
	q->a->set_current(0);
	q->sum = sum;
	return NULL;
}

static uint64_t prodcons_run(const struct allocator *a, int scale, size_t size) {
	struct queue *q = calloc(1, sizeof(*q));
	q->a = a;
	q->items = 2000000L * scale;
	q->size = size;
	pthread_t p, c;
	pthread_create(&c, NULL, consumer, q);
	pthread_create(&p, NULL, producer, q);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	uint64_t sum = q->sum;
	free(q);
	return sum;
}

static uint64_t prog_prodcons(const struct allocator *a, int scale) {
	return prodcons_run(a, scale, 64);
}

static uint64_t prog_prodcons80(const struct allocator *a, int scale) {
	return prodcons_run(a, scale, 80);
}

/* --- glibc bench-malloc-thread-like churn --- */

#define WORKING_SET 1024

struct churn {
	const struct allocator *a;
	long iters;
	int id;
	uint64_t sum;
};

static void *churn_thread(void *arg) {
	struct churn *c = arg;
	void *ws[WORKING_SET] = { 0 };
	uint64_t r = 0x2545f4914f6cdd1dull * (uint64_t)(c->id + 1), sum = 0;
	const double span = log(32768.0 / 8.0);
	c->a->set_current(0x01000030u + (uint32_t)c->id);
	for (long i = 0; i < c->iters; i++) {
		size_t k = next_rand(&r) % WORKING_SET;
		double u = (double)(next_rand(&r) >> 11) / (double)(1ull << 53);
		size_t n = (size_t)(8.0 * exp(u * span));   /* density ~ 1/size */
		c->a->release(ws[k]);
		char *p = c->a->alloc(n);
		p[0] = (char)i;
		sum += n;
		ws[k] = p;
	}
	for (int k = 0; k < WORKING_SET; k++)
		c->a->release(ws[k]);
	c->a->set_current(0);
	c->sum = sum;
	return NULL;
}

static uint64_t churn_run(const struct allocator *a, int threads, long iters) {
	struct churn c[2];
	pthread_t th[2];
	for (int t = 0; t < threads; t++) {
		c[t] = (struct churn){ a, iters, t, 0 };
		pthread_create(&th[t], NULL, churn_thread, &c[t]);
	}
	uint64_t sum = 0;
	for (int t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		sum += c[t].sum;
	}
	return sum;
}

static uint64_t prog_churn1(const struct allocator *a, int scale) {
	return churn_run(a, 1, 2000000L * scale);
}

static uint64_t prog_churn2(const struct allocator *a, int scale) {
	return churn_run(a, 2, 1000000L * scale);
}

/* --- the harness --- */

struct program {
	const char *name;
	uint64_t (*run)(const struct allocator *, int);
};

static const struct program programs[] = {
	{ "cfrac", prog_cfrac },
	{ "larson", prog_larson },
	{ "prodcons", prog_prodcons },
	{ "prodcons80", prog_prodcons80 },
	{ "churn1", prog_churn1 },
	{ "churn2", prog_churn2 },
};
#define NPROG (sizeof(programs) / sizeof(programs[0]))
#define MAXREPS 31

struct result {
	double cpu, wall;   /* seconds */
	double rss_kib;     /* peak resident growth during the run */
	uint64_t sum;
};

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long resident_kib(void) {
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* One run in a fresh child: wall time and start RSS come back through a pipe,
 * CPU time and peak RSS from wait4. */
static struct result run_child(const struct program *p, const struct allocator *a, int scale) {
	int fd[2];
	if (pipe(fd) != 0) {
		perror("pipe");
		exit(1);
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		long start_rss = resident_kib();
		double t = now();
		uint64_t sum = p->run(a, scale);
		double wall = now() - t;
		double msg[3] = { wall, (double)start_rss, (double)sum };
		if (write(fd[1], msg, sizeof(msg)) != sizeof(msg))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	double msg[3] = { 0, 0, 0 };
	ssize_t got = read(fd[0], msg, sizeof(msg));
	close(fd[0]);
	int status;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
		WEXITSTATUS(status) != 0 || got != sizeof(msg)) {
		fprintf(stderr, "bench_programs: %s/%s run failed\n", p->name, a->name);
		exit(1);
	}
	struct result r;
	r.wall = msg[0];
	r.cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	r.rss_kib = (double)ru.ru_maxrss - msg[1];
	r.sum = (uint64_t)msg[2];
	return r;
}

static int cmp_double(const void *x, const void *y) {
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static double median(double *v, int n) {
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int bind_bare(void) {
	if (bare_jemalloc_find("bench_programs") != 0)
		return -1;
	allocators[0].alloc = je_malloc;
	allocators[0].resize = je_realloc;
	allocators[0].release = je_free;
	return 0;
}

int main(int argc, char **argv) {
	if (bind_bare() != 0)
		return 1;
	if (argc > 3 && strcmp(argv[1], "--one") == 0) {
		int scale = argc > 4 ? atoi(argv[4]) : 1;
		for (size_t i = 0; i < NPROG; i++)
			for (int k = 0; k < 2; k++)
				if (strcmp(argv[2], programs[i].name) == 0 && strcmp(argv[3], allocators[k].name) == 0) {
					printf("%llu\n", (unsigned long long)programs[i].run(&allocators[k], scale));
					return 0;
				}
		fprintf(stderr, "bench_programs: unknown program or allocator\n");
		return 2;
	}
	int reps = argc > 1 ? atoi(argv[1]) : 5;
	int scale = argc > 2 ? atoi(argv[2]) : 1;
	if (reps < 1 || reps > MAXREPS || scale < 1) {
		fprintf(stderr, "usage: bench_programs [reps 1..%d] [scale >= 1]\n", MAXREPS);
		return 2;
	}
	printf("real-program shapes, forked run each, %d interleaved reps, scale %d (medians)\n", reps, scale);
	printf("%-10s %9s %9s %7s | %9s %9s %7s | %10s %10s %7s\n", "program", "bare cpu", "layer cpu",
		"ratio", "bare wall", "layer wall", "ratio", "bare rss", "layer rss", "ratio");
	for (size_t i = 0; i < NPROG; i++) {
		double cpu[2][MAXREPS], wall[2][MAXREPS], rss[2][MAXREPS];
		uint64_t want = 0;
		for (int r = 0; r < reps; r++)
			for (int j = 0; j < 2; j++) {
				int k = (r + j) & 1;
				struct result res = run_child(&programs[i], &allocators[k], scale);
				if (r == 0 && j == 0)
					want = res.sum;
				else if (res.sum != want) {
					fprintf(stderr, "%s: checksum differs under %s\n", programs[i].name, allocators[k].name);
					return 1;
				}
				cpu[k][r] = res.cpu;
				wall[k][r] = res.wall;
				rss[k][r] = res.rss_kib;
			}
		double c0 = median(cpu[0], reps), c1 = median(cpu[1], reps);
		double w0 = median(wall[0], reps), w1 = median(wall[1], reps);
		double r0 = median(rss[0], reps), r1 = median(rss[1], reps);
		printf("%-10s %7.0fms %7.0fms %6.2fx | %7.0fms %8.0fms %6.2fx | %7.0fKiB %7.0fKiB %6.2fx\n",
			programs[i].name, c0 * 1e3, c1 * 1e3, c1 / c0, w0 * 1e3, w1 * 1e3, w1 / w0,
			r0, r1, r0 > 0 ? r1 / r0 : 0.0);
		fflush(stdout);
	}
	printf("\ncpu = user + system time of the run's process; rss = peak resident growth over the run\n");
	return 0;
}
