/* The sampled heap profile (profile.h): the per-thread countdown, the rates,
 * the side table of sampled blocks. The stacks are walked in
 * profile_stack.c. */

#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "options.h"
#include "profile.h"
#include "skynet_mem.h"

__thread int64_t profile_left TLS_IE;

/* The mean the thread's countdown was drawn with; 0: off, or not yet drawn. */
static __thread size_t thread_mean TLS_IE;
static __thread uint64_t thread_rng TLS_IE;

/* Off, a thread still looks at the rate every RECHECK bytes it allocates, so
 * turning sampling on reaches every thread. */
#define RECHECK ((int64_t)1 << 20)
#define FAR (INT64_MAX / 4)
#define OVERRIDES 64

struct override {
	uint32_t handle;
	size_t mean;
};

struct entry {
	struct entry *next;
	struct profile_sample s;
};

#define CHAIN_BITS 11

/* The table: chains by a hash of the address; the entries of samples that
 * left wait in `spare` for the next ones (a sample then allocates nothing). */
static struct {
	struct spin_lock lock;
	struct entry *chain[1u << CHAIN_BITS];
	struct entry *spare;
	size_t count;
	int mean_read;                  /* the option was read into mean */
	size_t mean;                    /* SKYNET_MEM_PROFILE_SAMPLE, or as set */
	size_t noverride;
	struct override override[OVERRIDES];
} table = { .lock = SPIN_LOCK_INIT };

/* The smallest mean in force (global or any service's), 0 when none: what
 * every thread's countdown runs at; other rates thin its samples. */
static atomic_size_t mean_min;

struct lock_group profile_locks(void) {
	return (struct lock_group){ &table.lock, 1, sizeof(table.lock) };
}

static void mean_init_locked(void) {
	if (!table.mean_read) {
		table.mean = option_get(OPTION_PROFILE_SAMPLE);
		table.mean_read = 1;
	}
}

/* Copies of table.mean and of "some service has its own", read by samples
 * without the lock. */
static atomic_size_t mean_global;
static atomic_int overridden;

static void mean_min_update_locked(void) {
	atomic_store_explicit(&mean_global, table.mean, memory_order_relaxed);
	atomic_store_explicit(&overridden, table.noverride != 0, memory_order_relaxed);
	size_t m = table.mean;
	for (size_t i = 0; i < table.noverride; i++)
		if (table.override[i].mean != 0 && (m == 0 || table.override[i].mean < m))
			m = table.override[i].mean;
	atomic_store_explicit(&mean_min, m, memory_order_relaxed);
}

static size_t mean_for_locked(uint32_t owner) {
	for (size_t i = 0; i < table.noverride; i++)
		if (table.override[i].handle == owner)
			return table.override[i].mean;
	return table.mean;
}

static atomic_int rate_ready;   /* mean and mean_min hold the option */

static size_t current_min(void) {
	if (__builtin_expect(!atomic_load_explicit(&rate_ready, memory_order_acquire), 0)) {
		spin_lock(&table.lock);
		mean_init_locked();
		mean_min_update_locked();
		spin_unlock(&table.lock);
		atomic_store_explicit(&rate_ready, 1, memory_order_release);
	}
	return atomic_load_explicit(&mean_min, memory_order_relaxed);
}

/* xorshift64*, seeded from the thread's address and the clock. */
static double uniform(void) {
	uint64_t x = thread_rng;
	if (x == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = ((uint64_t)(uintptr_t)&thread_rng * 0x9E3779B97F4A7C15ull) ^ (uint64_t)ts.tv_nsec ^
			((uint64_t)ts.tv_sec << 32);
		x |= 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	thread_rng = x;
	/* (0, 1]: never 0, whose log is infinite. */
	return (double)(((x * 0x2545F4914F6CDD1Dull) >> 11) + 1) * 0x1.0p-53;
}

/* ln x for x in (0, 1]: x = f * 2^e with f in [1, 2), ln f by the series
 * of atanh ((f - 1) / (f + 1): at most 1/3, four terms, relative error under
 * 1e-5). A fifth of libm's log: this runs once a sample. */
static double fast_ln(double x) {
	uint64_t bits;
	memcpy(&bits, &x, sizeof(bits));
	int e = (int)((bits >> 52) & 0x7ff) - 1023;
	bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
	double f;
	memcpy(&f, &bits, sizeof(f));
	double t = (f - 1) / (f + 1), t2 = t * t;
	return e * 0.6931471805599453 + 2 * t * (1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7))));
}

/* The next distance: exponential, of mean m. */
static int64_t draw(size_t m) {
	double d = -fast_ln(uniform()) * (double)m;
	if (d < 1)
		return 1;
	return d > (double)FAR ? FAR : (int64_t)d;
}

/* --- the table --- */

static inline struct entry **chain_of(uintptr_t addr) {
	return &table.chain[(addr >> 4) * 0x9E3779B97F4A7C15ull >> (64 - CHAIN_BITS)];
}

/* The link that points at addr's entry, or at the end of its chain. */
static struct entry **find_locked(uintptr_t addr) {
	struct entry **pe = chain_of(addr);
	while (*pe && (*pe)->s.addr != addr)
		pe = &(*pe)->next;
	return pe;
}

/* A spare entry, or a new one (NULL: no memory). */
static struct entry *entry_new(void) {
	spin_lock(&table.lock);
	struct entry *e = table.spare;
	if (e)
		table.spare = e->next;
	spin_unlock(&table.lock);
	if (e)
		return e;
	/* Not zeroed (backend_raw_alloc's memset is a third of a sample's cost):
	 * the sample writes every field it reads. */
	size_t eu = backend_class(sizeof(struct entry), 0);
	return eu ? backend_alloc(eu, 0, 0) : NULL;
}

static void table_put(struct entry *e) {
	spin_lock(&table.lock);
	struct entry **pe = find_locked(e->s.addr);
	if (*pe) {   /* cannot happen: a freed block leaves first */
		struct entry *stale = *pe;
		*pe = stale->next;
		stale->next = table.spare;
		table.spare = stale;
		table.count--;
	}
	struct entry **head = chain_of(e->s.addr);
	e->next = *head;
	*head = e;
	table.count++;
	spin_unlock(&table.lock);
}

uint32_t profile_owner(const void *p) {
	uint32_t owner = PROFILE_MARK;
	spin_lock(&table.lock);
	struct entry *e = *find_locked((uintptr_t)p);
	if (e)
		owner = e->s.owner;
	spin_unlock(&table.lock);
	return owner;
}

uint32_t profile_take(const void *p) {
	uint32_t owner = PROFILE_MARK;
	spin_lock(&table.lock);
	struct entry **pe = find_locked((uintptr_t)p);
	struct entry *e = *pe;
	if (e) {
		owner = e->s.owner;
		*pe = e->next;
		e->next = table.spare;
		table.spare = e;
		table.count--;
	}
	spin_unlock(&table.lock);
	return owner;
}

void profile_move(const void *p, uint32_t to) {
	spin_lock(&table.lock);
	struct entry *e = *find_locked((uintptr_t)p);
	if (e)
		e->s.owner = to;
	spin_unlock(&table.lock);
}

/* 1 - exp(-u / m): the chance a block of u bytes is sampled at mean m. */
static double chance(size_t u, size_t m) {
	return -expm1(-(double)u / (double)m);
}

/* 1 when p's sample is in the table. The estimate waits for a snapshot. */
static int record(const void *p, size_t u, uint32_t owner, size_t m) {
	struct entry *e = entry_new();
	if (e == NULL)
		return 0;   /* no memory: the sample is lost, the estimate a little low */
	e->s.addr = (uintptr_t)p;
	e->s.owner = owner;
	e->s.size = u;
	e->s.mean = m;
	e->s.depth = profile_stack(e->s.frame, PROFILE_DEPTH);
	table_put(e);
	return 1;
}

int profile_sampled(const void *p, size_t u, uint32_t owner) {
	profile_left = FAR;   /* nothing below samples, whatever it allocates */
	size_t tm = thread_mean;
	int kept = 0;
	if (tm != 0 && owner != PROFILE_MARK) {
		size_t m;
		if (atomic_load_explicit(&overridden, memory_order_relaxed)) {
			spin_lock(&table.lock);
			m = mean_for_locked(owner);
			spin_unlock(&table.lock);
		} else {
			m = atomic_load_explicit(&mean_global, memory_order_relaxed);
		}
		/* The countdown runs at the smallest mean; a service of a larger
		 * one keeps this sample with the ratio of the two chances, so each
		 * block is sampled with exactly its own service's chance. */
		if (m != 0 && (m <= tm || uniform() * chance(u, tm) < chance(u, m)))
			kept = record(p, u, owner, m);
	}
	size_t m = current_min();
	thread_mean = m;
	profile_left = m ? draw(m) : RECHECK;
	return kept;
}

struct profile_sample *profile_snapshot(uint32_t owner, int all, size_t *n) {
	*n = 0;
	for (int tries = 0; tries < 4; tries++) {
		spin_lock(&table.lock);
		size_t cap = table.count + 16;
		spin_unlock(&table.lock);
		struct profile_sample *out = backend_raw_alloc(cap * sizeof(*out));
		if (out == NULL) {
			errno = ENOMEM;
			return NULL;
		}
		size_t k = 0;
		int fits = 1;
		spin_lock(&table.lock);
		for (unsigned w = 0; w < (1u << CHAIN_BITS) && fits; w++)
			for (struct entry *e = table.chain[w]; e; e = e->next) {
				if (!all && e->s.owner != owner)
					continue;
				if (k == cap) {
					fits = 0;
					break;
				}
				out[k++] = e->s;
			}
		spin_unlock(&table.lock);
		if (fits) {
			for (size_t i = 0; i < k; i++)
				out[i].estimate = (double)out[i].size / chance(out[i].size, out[i].mean);
			*n = k;
			return out;
		}
		backend_raw_free(out);   /* the table grew meanwhile: again */
	}
	errno = EAGAIN;
	return NULL;
}

/* --- the public controls (skynet_mem.h) --- */

void skynet_mem_profile_set_sample(size_t bytes) {
	spin_lock(&table.lock);
	table.mean_read = 1;
	table.mean = bytes;
	mean_min_update_locked();
	spin_unlock(&table.lock);
	atomic_store_explicit(&rate_ready, 1, memory_order_release);
	/* The calling thread draws at the new rate from its next block. */
	thread_mean = 0;
	profile_left = 0;
}

size_t skynet_mem_profile_get_sample(void) {
	current_min();
	spin_lock(&table.lock);
	size_t m = table.mean;
	spin_unlock(&table.lock);
	return m;
}

int skynet_mem_profile_set_service_sample(uint32_t handle, long long bytes) {
	current_min();
	int r = 0;
	spin_lock(&table.lock);
	size_t i = 0;
	while (i < table.noverride && table.override[i].handle != handle)
		i++;
	if (bytes < 0) {
		if (i < table.noverride)
			table.override[i] = table.override[--table.noverride];
	} else if (i < table.noverride) {
		table.override[i].mean = (size_t)bytes;
	} else if (table.noverride < OVERRIDES) {
		table.override[table.noverride++] = (struct override){ handle, (size_t)bytes };
	} else {
		r = -1;
	}
	mean_min_update_locked();
	spin_unlock(&table.lock);
	if (r != 0)
		errno = ENOSPC;
	thread_mean = 0;
	profile_left = 0;
	return r;
}

long long skynet_mem_profile_get_service_sample(uint32_t handle) {
	current_min();
	spin_lock(&table.lock);
	long long m = -1;
	for (size_t i = 0; i < table.noverride; i++)
		if (table.override[i].handle == handle)
			m = (long long)table.override[i].mean;
	spin_unlock(&table.lock);
	return m;
}

int skynet_mem_profile_block(const void *ptr, uint32_t *owner, size_t *size) {
	if (ptr == NULL)
		return 0;
	spin_lock(&table.lock);
	struct entry *e = *find_locked((uintptr_t)ptr);
	if (e) {
		if (owner)
			*owner = e->s.owner;
		if (size)
			*size = e->s.size;
	}
	spin_unlock(&table.lock);
	return e != NULL;
}
