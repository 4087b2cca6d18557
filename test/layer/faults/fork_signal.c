/* fork() from a signal handler that interrupts another fork() or an
 * allocation, and fork() while other threads allocate: no hang, and the
 * counts stay exact in parent and child. The same program runs bare (glibc,
 * jemalloc) and under the interposer; the layer's API is found with dlsym.
 *
 *   fork_signal RUNS SECONDS  runs RUNS rounds in a row, each in a fresh
 *                             process killed after SECONDS: a hang fails
 *   fork_signal round K       one round of shape K % 4 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include "faults.h"
#include "skynet_mem.h"

pid_t _Fork(void);

static struct {
	void (*set_current)(uint32_t);
	int (*stat)(uint32_t, struct skynet_mem_stat *);
	int (*transfer)(void *, uint32_t);
} api;

#define BASE 0x0d000000u
#define HANDLES 300

static atomic_int use_raw_fork;   /* the handler calls _Fork instead of fork */
static atomic_long handled;

static void on_signal(int sig) {
	(void)sig;
	int saved = errno;
	pid_t c = atomic_load(&use_raw_fork) ? _Fork() : fork();
	if (c == 0)
		_exit(0);
	if (c > 0)
		while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
			;
	atomic_fetch_add(&handled, 1);
	errno = saved;
}

static void wait_child(pid_t c, const char *what) {
	int status;
	while (waitpid(c, &status, 0) < 0)
		EXPECT(errno == EINTR, "waitpid %s: %s", what, strerror(errno));
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s child status %#x", what, status);
}

/* Allocations of every kind, over many services; returns how many. */
static long churn(unsigned *seed, long n, uint32_t base) {
	void *p[16] = { 0 };
	long allocs = 0;
	for (long i = 0; i < n; i++) {
		if (api.set_current)
			api.set_current(base + rand_r(seed) % HANDLES);
		int k = rand_r(seed) % 16;
		free(p[k]);
		size_t size = 1 + (size_t)(rand_r(seed) % 3000);
		switch (rand_r(seed) % 4) {
		case 0: p[k] = malloc(size); break;
		case 1: p[k] = calloc(1, size); break;
		case 2: p[k] = memalign(64, size); break;
		default: p[k] = realloc(malloc(8), size); allocs++; break;
		}
		EXPECT(p[k] != NULL, "allocation %ld failed", i);
		allocs++;
	}
	for (int k = 0; k < 16; k++)
		free(p[k]);
	return allocs;
}

/* Every service of the round owns nothing, and saw `allocs` allocations. */
static void expect_balanced(uint32_t base, long allocs) {
	if (api.stat == NULL)
		return;
	api.set_current(0);
	unsigned long long seen = 0;
	for (uint32_t h = base; h < base + HANDLES; h++) {
		struct skynet_mem_stat st;
		if (api.stat(h, &st) != 0)
			continue;
		EXPECT(st.blocks == 0 && st.bytes == 0 && st.allocs == st.frees,
			"service %x: blocks %zu bytes %zu allocs %llu frees %llu", h, st.blocks, st.bytes,
			(unsigned long long)st.allocs, (unsigned long long)st.frees);
		seen += st.allocs;
	}
	EXPECT(seen == (unsigned long long)allocs, "%llu allocations counted, %ld made", seen, allocs);
}

/* A: the handler's fork interrupts the program's own fork, whose child
 * signals the parent at once (the parent is still inside fork then). */
static void round_fork_in_fork(unsigned seed) {
	long allocs = 0;
	for (int i = 0; i < 20; i++) {
		allocs += churn(&seed, 50, BASE);
		pid_t c = fork();
		EXPECT(c >= 0, "fork: %s", strerror(errno));
		if (c == 0) {
			for (int k = 0; k < 3; k++)
				kill(getppid(), SIGUSR1);
			_exit(0);
		}
		wait_child(c, "fork");
	}
	expect_balanced(BASE, allocs);
}

/* Another process sends signals as fast as it can until told to stop. */
static pid_t start_sender(void) {
	pid_t parent = getpid();
	int go[2];
	EXPECT(pipe(go) == 0, "pipe");
	pid_t sender = fork();
	EXPECT(sender >= 0, "fork");
	if (sender == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)   /* the parent is out of fork() */
			_exit(1);
		for (int i = 0; i < 400 && kill(parent, SIGUSR1) == 0; i++) {
			struct timespec pause = { 0, 50000 };
			nanosleep(&pause, NULL);
		}
		_exit(0);
	}
	close(go[0]);
	EXPECT(write(go[1], "g", 1) == 1, "pipe");
	close(go[1]);
	return sender;
}

static void stop_sender(pid_t sender) {
	kill(sender, SIGKILL);
	waitpid(sender, NULL, 0);
}

/* B: signals interrupt the layer's own locked work (service switches that
 * evict ledger slots, reads, ownership transfers), no allocator call. */
static void round_fork_in_layer(unsigned seed) {
	if (api.set_current == NULL)
		return;
	uint32_t base = BASE + HANDLES;
	void *blocks[HANDLES];
	for (uint32_t h = 0; h < HANDLES; h++) {
		api.set_current(base + h);
		blocks[h] = malloc(100);
	}
	pid_t sender = start_sender();
	double end = now_seconds() + 0.05;
	struct skynet_mem_stat st;
	while (now_seconds() < end) {
		uint32_t h = (uint32_t)rand_r(&seed) % HANDLES;
		api.set_current(base + h);
		api.stat(base + (h * 7) % HANDLES, &st);
		api.transfer(blocks[h], base + (h + 1) % HANDLES);
		api.transfer(blocks[h], base + h);
	}
	stop_sender(sender);
	for (uint32_t h = 0; h < HANDLES; h++)
		free(blocks[h]);
	expect_balanced(base, HANDLES);
}

/* B2: signals interrupt allocations anywhere. Over glibc only: jemalloc's
 * own fork handler deadlocks when the fork interrupts jemalloc's locked
 * work (bare jemalloc does too), which no layer above it can change. */
static void round_fork_in_alloc(unsigned seed) {
	if (dlsym(RTLD_DEFAULT, "mallocx") != NULL)
		return round_fork_in_layer(seed);
	pid_t sender = start_sender();
	long allocs = 0;
	double end = now_seconds() + 0.05;
	while (now_seconds() < end)
		allocs += churn(&seed, 200, BASE + HANDLES);
	stop_sender(sender);
	expect_balanced(BASE + HANDLES, allocs);
}

/* C: threads allocate (and take signals whose handler forks, or _Forks)
 * while the main thread forks; each child allocates and checks its counts. */
static atomic_int stop;
static atomic_long thread_allocs;

static void *allocating_thread(void *arg) {
	unsigned seed = (unsigned)(uintptr_t)arg;
	while (!atomic_load(&stop))
		atomic_fetch_add(&thread_allocs, churn(&seed, 100, BASE + 2 * HANDLES));
	return NULL;
}

static void child_counts(uint32_t h) {
	if (api.set_current == NULL)
		return;
	api.set_current(h);
	void *p[10];
	for (int i = 0; i < 10; i++)
		p[i] = malloc(100);
	for (int i = 5; i < 10; i++)
		free(p[i]);
	api.set_current(0);
	struct skynet_mem_stat st;
	EXPECT(api.stat(h, &st) == 0 && st.allocs == 10 && st.frees == 5 && st.blocks == 5,
		"child counts: allocs %llu frees %llu blocks %zu", (unsigned long long)st.allocs,
		(unsigned long long)st.frees, st.blocks);
	for (int i = 0; i < 5; i++)
		free(p[i]);
}

static void round_threads(unsigned seed) {
	pthread_t t[2];
	/* fork() is not async-signal-safe in a threaded process (glibc's own
	 * malloc locks): the handler uses _Fork there, as glibc's test does. */
	atomic_store(&use_raw_fork, 1);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, allocating_thread, (void *)(uintptr_t)(seed + i));
	for (int i = 0; i < 10; i++) {
		pthread_kill(t[i & 1], SIGUSR1);
		pid_t c = fork();
		EXPECT(c >= 0, "fork");
		if (c == 0) {
			child_counts(BASE + 3 * HANDLES + i);
			_exit(0);
		}
		wait_child(c, "threaded fork");
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	expect_balanced(BASE + 2 * HANDLES, atomic_load(&thread_allocs));
}

static int one_round(unsigned k) {
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	api.set_current = (void (*)(uint32_t))dlsym(RTLD_DEFAULT, "skynet_mem_set_current");
	api.stat = (int (*)(uint32_t, struct skynet_mem_stat *))dlsym(RTLD_DEFAULT, "skynet_mem_stat");
	api.transfer = (int (*)(void *, uint32_t))dlsym(RTLD_DEFAULT, "skynet_mem_transfer");
	switch (k % 4) {
	case 0: round_fork_in_fork(k); break;
	case 1: round_fork_in_layer(k); break;
	case 2: round_fork_in_alloc(k); break;
	default: round_threads(k); break;
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 3 && strcmp(argv[1], "round") == 0)
		return one_round((unsigned)atoi(argv[2]));
	EXPECT(argc == 3, "usage: fork_signal RUNS SECONDS | round K");
	int runs = atoi(argv[1]);
	double limit = atof(argv[2]);
	double start = now_seconds();
	for (int i = 0; i < runs; i++) {
		char k[16];
		snprintf(k, sizeof(k), "%d", i);
		pid_t c = fork();
		EXPECT(c >= 0, "fork");
		if (c == 0) {
			execl("/proc/self/exe", argv[0], "round", k, (char *)NULL);
			_exit(127);
		}
		double deadline = now_seconds() + limit;
		int status;
		pid_t r;
		while ((r = waitpid(c, &status, WNOHANG)) == 0 && now_seconds() < deadline) {
			struct timespec poll = { 0, 1000000 };
			nanosleep(&poll, NULL);
		}
		if (r == 0) {
			kill(c, SIGKILL);
			waitpid(c, &status, 0);
			EXPECT(0, "run %d (shape %d) hung for %.0f s", i, i % 4, limit);
		}
		EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "run %d (shape %d) ended with status %#x",
			i, i % 4, status);
	}
	printf("PASS: %d runs in %.1f s\n", runs, now_seconds() - start);
	return 0;
}
