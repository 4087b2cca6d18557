/* The service table: exact records for every 32-bit handle, sharded by hash.
 * No slot is ever shared between two handles; a retired record lives until its
 * leftovers are freed and no thread caches it, then it is reclaimed. */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "record.h"

#define SHARDS 64

struct shard {
	struct spin_lock lock;
	struct mem_record **bucket;
	size_t nbucket, count;
};

static struct shard shards[SHARDS];

/* Process totals, updated when a ledger slot is published. A thread keeps
 * a cache line of its own while one of TOTAL_OWN is free (its owner alone
 * writes it: plain adds, no lock prefix, the one publication per dispatch
 * pays none for the totals), given back at its exit; past them, threads
 * share TOTAL_SHARDS lines (picked round-robin) with atomic adds. A read
 * sums them all. (A fork's child keeps the lines of the parent's other
 * threads taken: its own threads have the rest.) */
#define TOTAL_SHARDS 16
#define TOTAL_OWN 64

struct totals {
	atomic_int_fast64_t bytes, blocks, lua, allocs, frees;
} __attribute__((aligned(64)));

static struct totals totals[TOTAL_SHARDS];
static struct totals totals_own[TOTAL_OWN];
static atomic_uint_fast64_t totals_own_used;   /* bit i: totals_own[i] has an owner */
static atomic_uint totals_next;
static pthread_key_t totals_key;
static int totals_keyed;                       /* the key exists: own lines are handed out */
static __thread struct totals *totals_mine TLS_IE;
static __thread int totals_alone TLS_IE;       /* totals_mine is an own line */
static atomic_int_fast64_t total_services;

_Static_assert(TOTAL_OWN <= 64, "one bit each in totals_own_used");

static struct totals *shared_totals(void) {
	return &totals[atomic_fetch_add_explicit(&totals_next, 1, memory_order_relaxed) % TOTAL_SHARDS];
}

/* An own line free again (its sums stay in it). */
static void totals_give_back(struct totals *line) {
	unsigned i = (unsigned)(line - totals_own);
	atomic_fetch_and_explicit(&totals_own_used, ~((uint_fast64_t)1 << i), memory_order_release);
}

/* At the owner's exit: its line goes back, and what the thread still
 * publishes goes to a shared one. */
static void totals_leave(void *line) {
	totals_alone = 0;
	totals_mine = shared_totals();
	totals_give_back(line);
}

/* Made while the library loads (one thread): no lock for fork to know of. */
__attribute__((constructor)) static void totals_init(void) {
	totals_keyed = pthread_key_create(&totals_key, totals_leave) == 0;
}

/* A free own line, or NULL. */
static struct totals *totals_claim(void) {
	uint_fast64_t used = atomic_load_explicit(&totals_own_used, memory_order_relaxed);
	while (~used) {
		unsigned i = (unsigned)__builtin_ctzll(~used);
		if (atomic_compare_exchange_weak_explicit(&totals_own_used, &used, used | (uint_fast64_t)1 << i,
			memory_order_acquire, memory_order_relaxed))
			return &totals_own[i];
	}
	return NULL;
}

/* First publication of the thread. pthread_setspecific may allocate, and its
 * publication must then find a line: a shared one until the key holds it. */
__attribute__((noinline)) static struct totals *totals_first(void) {
	int saved = errno;   /* record_add leaves errno alone */
	struct totals *t = shared_totals();
	totals_mine = t;
	struct totals *own = totals_keyed ? totals_claim() : NULL;
	if (own && pthread_setspecific(totals_key, own) == 0) {
		totals_mine = t = own;
		totals_alone = 1;
	} else if (own) {
		totals_give_back(own);
	}
	errno = saved;
	return t;
}

static inline struct totals *my_totals(void) {
	struct totals *t = totals_mine;
	return __builtin_expect(t != NULL, 1) ? t : totals_first();
}

/* v added to a total: a plain add on the thread's own line (one instruction,
 * so a signal handler publishing on this thread cannot split it), else an
 * atomic one. */
static inline void total_add(atomic_int_fast64_t *c, int64_t v, int alone) {
	if (alone) {
#if defined(__x86_64__)
		__asm__("addq %1, %0" : "+m"(*(int64_t *)c) : "er"(v));
#else
		atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v, memory_order_relaxed);
#endif
	} else {
		atomic_fetch_add_explicit(c, v, memory_order_relaxed);
	}
}

size_t record_count(void) {
	int_fast64_t n = atomic_load_explicit(&total_services, memory_order_relaxed);
	return n > 0 ? (size_t)n : 0;
}

static uint32_t mix(uint32_t h) {
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	h *= 0x846ca68bu;
	h ^= h >> 16;
	return h;
}

static struct shard *shard_of(uint32_t handle) {
	return &shards[mix(handle) % SHARDS];
}

static struct mem_record **chain_of(struct shard *s, uint32_t handle) {
	return &s->bucket[(mix(handle) / SHARDS) & (s->nbucket - 1)];
}

static struct mem_record *find_locked(struct shard *s, uint32_t handle) {
	if (s->nbucket == 0)
		return NULL;
	for (struct mem_record *r = *chain_of(s, handle); r; r = r->next)
		if (r->handle == handle)
			return r;
	return NULL;
}

static int grow_locked(struct shard *s) {
	size_t n = s->nbucket ? s->nbucket * 2 : 16;
	struct mem_record **old = s->bucket;
	size_t oldn = s->nbucket;
	struct mem_record **b = backend_raw_alloc(n * sizeof(*b));
	if (b == NULL)
		return -1;
	s->bucket = b;
	s->nbucket = n;
	for (size_t i = 0; i < oldn; i++) {
		struct mem_record *r = old[i];
		while (r) {
			struct mem_record *next = r->next;
			struct mem_record **c = chain_of(s, r->handle);
			r->next = *c;
			*c = r;
			r = next;
		}
	}
	backend_raw_free(old);
	return 0;
}

static struct mem_record *find_or_create_locked(struct shard *s, uint32_t handle) {
	struct mem_record *r = find_locked(s, handle);
	if (r)
		return r;
	if (s->count >= s->nbucket && grow_locked(s) != 0)
		return NULL;
	size_t u = backend_class(sizeof(*r), _Alignof(struct mem_record));
	r = u ? backend_alloc(u, _Alignof(struct mem_record), 1) : NULL;   /* zeroed */
	if (r == NULL)
		return NULL;
	r->handle = handle;
	atomic_init(&r->lua_warn, 0);
	struct mem_record **c = chain_of(s, handle);
	r->next = *c;
	*c = r;
	s->count++;
	atomic_fetch_add(&total_services, 1);
	return r;
}

static int drained(struct mem_record *r) {
	return atomic_load(&r->bytes) == 0 && atomic_load(&r->blocks) == 0 &&
		atomic_load(&r->lua) == 0;
}

atomic_uint_least16_t record_limited[RECORD_LIMITED_BUCKETS];
atomic_uint record_limited_total;

/* Counts a record's limit in or out of its bucket, under its shard lock. */
static void limited_count(uint32_t handle, int in) {
	atomic_uint_least16_t *b = &record_limited[record_limited_bucket(handle)];
	if (in) {
		atomic_fetch_add_explicit(b, 1, memory_order_release);
		atomic_fetch_add_explicit(&record_limited_total, 1, memory_order_release);
	} else {
		atomic_fetch_sub_explicit(b, 1, memory_order_release);
		atomic_fetch_sub_explicit(&record_limited_total, 1, memory_order_release);
	}
}

/* Frees a retired, drained, unreferenced record. */
static void reap_locked(struct shard *s, struct mem_record *r) {
	if (r->refs != 0 || !atomic_load(&r->retired) || !drained(r))
		return;
	if (atomic_load(&r->limit) != 0)
		limited_count(r->handle, 0);
	struct mem_record **c = chain_of(s, r->handle);
	while (*c != r)
		c = &(*c)->next;
	*c = r->next;
	s->count--;
	atomic_fetch_sub(&total_services, 1);
	backend_raw_free(r);
}

struct mem_record *record_acquire(uint32_t handle) {
	struct shard *s = shard_of(handle);
	spin_lock(&s->lock);
	struct mem_record *r = find_or_create_locked(s, handle);
	if (r)
		r->refs++;
	spin_unlock(&s->lock);
	return r;
}

void record_release(struct mem_record *r) {
	struct shard *s = shard_of(r->handle);
	spin_lock(&s->lock);
	r->refs--;
	reap_locked(s, r);
	spin_unlock(&s->lock);
}

#define LUA_WARN_FIRST ((size_t)32 << 20)

atomic_int record_lua_warnings_off;

/* Highest warning level (32 MiB, 64 MiB ...) the heap has reached; 0 below all. */
static size_t lua_warn_level(size_t heap) {
	if (heap < LUA_WARN_FIRST)
		return 0;
	size_t level = LUA_WARN_FIRST;
	while (level <= heap / 2)
		level *= 2;
	return level;
}

/* skynet's snlua warning: logged once the Lua heap passes 32 MiB and at each
 * doubling. r->lua_warn is the next level that logs (0: the first). A level
 * re-arms once the heap falls below half of it, so a heap hovering around a
 * level logs once. Written with write(2): this runs inside allocations. */
__attribute__((noinline)) static void lua_heap_watch(struct mem_record *r, int64_t signed_heap) {
	size_t heap = signed_heap > 0 ? (size_t)signed_heap : 0;
	size_t seen = atomic_load_explicit(&r->lua_warn, memory_order_relaxed);
	size_t next = seen ? seen : LUA_WARN_FIRST;
	if (heap < next && (next <= LUA_WARN_FIRST || heap >= next / 4))
		return;
	size_t level = lua_warn_level(heap);
	size_t want = level ? level * 2 : LUA_WARN_FIRST;
	if (heap < next) {
		/* Fell back: re-arm every level above twice the heap. */
		size_t below = lua_warn_level(heap * 2);
		want = below ? below * 2 : LUA_WARN_FIRST;
	}
	if (!atomic_compare_exchange_strong(&r->lua_warn, &seen, want) || heap < next)
		return;   /* another thread moved it, or this was a re-arm */
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "[:%08x] Memory warning: Lua heap %zu.%02zu MiB passed %zu MiB\n",
		r->handle, heap >> 20, ((heap & 0xfffff) * 100) >> 20, level >> 20);
	/* write(2) is a cancellation point, and a thread cancelled here would
	 * leave record_add half done: the rest of its deltas lost. */
	int cancel, saved = errno;   /* this runs inside malloc and free */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	if (n > 0 && write(2, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1) < 0)
		n = 0;
	pthread_setcancelstate(cancel, NULL);
	errno = saved;
}

/* A lock-prefixed add costs tens of cycles, more when another core holds the
 * line: a counter that did not change is not touched (a dispatch publishes a
 * message's free to its sender with no Lua bytes, say), and the peak only
 * when the record grew. One test per counter, the record's add and the
 * total's together; the Lua heap's warning out of line. */
void record_add(struct mem_record *r, int64_t bytes, int64_t blocks, int64_t lua,
	uint64_t allocs, uint64_t frees) {
	struct totals *t = my_totals();
	int alone = totals_alone;
	if (bytes | lua) {
		int64_t c, heap;
		if (bytes) {
			c = atomic_fetch_add(&r->bytes, bytes) + bytes;
			total_add(&t->bytes, bytes, alone);
		} else {
			c = atomic_load_explicit(&r->bytes, memory_order_relaxed);
		}
		if (lua) {
			heap = atomic_fetch_add(&r->lua, lua) + lua;
			total_add(&t->lua, lua, alone);
			if (!atomic_load_explicit(&record_lua_warnings_off, memory_order_relaxed))
				lua_heap_watch(r, heap);
		} else {
			heap = atomic_load_explicit(&r->lua, memory_order_relaxed);
		}
		if (bytes + lua > 0)   /* only growth can set a new peak */
			record_peak(r, c + heap);
	}
	if (blocks) {
		atomic_fetch_add(&r->blocks, blocks);
		total_add(&t->blocks, blocks, alone);
	}
	if (allocs) {
		atomic_fetch_add(&r->allocs, allocs);
		total_add(&t->allocs, (int64_t)allocs, alone);
	}
	if (frees) {
		atomic_fetch_add(&r->frees, frees);
		total_add(&t->frees, (int64_t)frees, alone);
	}
}

static size_t clamp(int64_t v) {
	return v > 0 ? (size_t)v : 0;
}

void record_fill(struct mem_record *r, struct skynet_mem_stat *out) {
	memset(out, 0, sizeof(*out));
	out->handle = r->handle;
	out->bytes = clamp(atomic_load(&r->bytes));
	out->blocks = clamp(atomic_load(&r->blocks));
	out->lua_bytes = clamp(atomic_load(&r->lua));
	out->peak = atomic_load(&r->peak);
	if (out->peak < out->bytes + out->lua_bytes)
		out->peak = out->bytes + out->lua_bytes;
	out->limit = atomic_load(&r->limit);
	out->allocs = atomic_load(&r->allocs);
	out->frees = atomic_load(&r->frees);
	out->retired = atomic_load(&r->retired);
	out->limit_hits = atomic_load(&r->limit_hits);
	memcpy(out->name, r->name, sizeof(out->name));
}

int record_stat(uint32_t handle, struct skynet_mem_stat *out) {
	struct shard *s = shard_of(handle);
	spin_lock(&s->lock);
	struct mem_record *r = find_locked(s, handle);
	if (r)
		record_fill(r, out);
	spin_unlock(&s->lock);
	return r ? 0 : -1;
}

size_t record_foreach(int (*fn)(const struct skynet_mem_stat *, void *), void *ud) {
	size_t visited = 0;
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &shards[i];
		/* Copy the shard out so fn runs unlocked (it may allocate). */
		spin_lock(&s->lock);
		size_t n = s->count, k = 0;
		struct skynet_mem_stat *copy = n ? backend_raw_alloc(n * sizeof(*copy)) : NULL;
		if (copy)
			for (size_t b = 0; b < s->nbucket; b++)
				for (struct mem_record *r = s->bucket[b]; r; r = r->next)
					record_fill(r, &copy[k++]);
		spin_unlock(&s->lock);
		int stop = 0;
		for (size_t j = 0; j < k && !stop; j++) {
			visited++;
			stop = fn(&copy[j], ud) != 0;
		}
		backend_raw_free(copy);
		if (stop)
			break;
	}
	return visited;
}

void record_totals(struct skynet_mem_totals *out) {
	memset(out, 0, sizeof(*out));
	int64_t bytes = 0, blocks = 0, lua = 0;
	uint64_t allocs = 0, frees = 0;
	for (int i = 0; i < TOTAL_SHARDS + TOTAL_OWN; i++) {
		struct totals *t = i < TOTAL_SHARDS ? &totals[i] : &totals_own[i - TOTAL_SHARDS];
		bytes += atomic_load_explicit(&t->bytes, memory_order_relaxed);
		blocks += atomic_load_explicit(&t->blocks, memory_order_relaxed);
		lua += atomic_load_explicit(&t->lua, memory_order_relaxed);
		allocs += (uint64_t)atomic_load_explicit(&t->allocs, memory_order_relaxed);
		frees += (uint64_t)atomic_load_explicit(&t->frees, memory_order_relaxed);
	}
	out->bytes = clamp(bytes);
	out->blocks = clamp(blocks);
	out->lua_bytes = clamp(lua);
	out->services = clamp(atomic_load(&total_services));
	out->allocs = allocs;
	out->frees = frees;
}

void record_orphans(size_t *bytes, size_t *blocks) {
	size_t sum = 0, n = 0;
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &shards[i];
		spin_lock(&s->lock);
		for (size_t b = 0; b < s->nbucket; b++)
			for (struct mem_record *r = s->bucket[b]; r; r = r->next)
				if (atomic_load(&r->retired)) {
					sum += clamp(atomic_load(&r->bytes)) + clamp(atomic_load(&r->lua));
					n += clamp(atomic_load(&r->blocks));
				}
		spin_unlock(&s->lock);
	}
	*bytes = sum;
	*blocks = n;
}

/* Only on a live service's record: a limit on an unknown or exited handle
 * would create a record nobody reads. */
int record_set_limit(uint32_t handle, size_t limit) {
	struct shard *s = shard_of(handle);
	spin_lock(&s->lock);
	struct mem_record *r = find_locked(s, handle);
	int live = r && !atomic_load(&r->retired);
	if (live && (atomic_exchange(&r->limit, limit) != 0) != (limit != 0))
		limited_count(handle, limit != 0);
	spin_unlock(&s->lock);
	if (live)
		atomic_fetch_add_explicit(&record_limit_epoch, 1, memory_order_release);
	return live ? 0 : -1;
}

size_t record_get_limit(uint32_t handle) {
	struct shard *s = shard_of(handle);
	spin_lock(&s->lock);
	struct mem_record *r = find_locked(s, handle);
	size_t limit = r ? atomic_load(&r->limit) : 0;
	spin_unlock(&s->lock);
	return limit;
}

atomic_uint record_retirements;
atomic_uint record_limit_epoch;

/* The handles of the last RECORD_RETIRED_LOG exits, each entry its
 * sequence number (the count before it) over the handle. */
static atomic_uint_fast64_t retired_log[RECORD_RETIRED_LOG];

int record_retired_handle(unsigned seq, uint32_t *handle) {
	uint64_t e = atomic_load_explicit(&retired_log[seq % RECORD_RETIRED_LOG], memory_order_acquire);
	*handle = (uint32_t)e;
	return (uint32_t)(e >> 32) == seq;
}

void record_exit(uint32_t handle, struct skynet_mem_stat *leftover) {
	struct shard *s = shard_of(handle);
	struct skynet_mem_stat st;
	memset(&st, 0, sizeof(st));
	st.handle = handle;
	spin_lock(&s->lock);
	struct mem_record *r = find_locked(s, handle);
	if (r) {
		atomic_store(&r->retired, 1);
		record_fill(r, &st);
		reap_locked(s, r);
	}
	spin_unlock(&s->lock);
	/* Counted first: a ledger that sees the count before the entry finds
	 * the entry missing and sweeps its whole table instead. */
	unsigned seq = atomic_fetch_add_explicit(&record_retirements, 1, memory_order_release);
	atomic_store_explicit(&retired_log[seq % RECORD_RETIRED_LOG], (uint64_t)seq << 32 | handle,
		memory_order_release);
	st.retired = 1;
	if (leftover)
		*leftover = st;
}

int record_set_name(uint32_t handle, const char *name) {
	struct shard *s = shard_of(handle);
	spin_lock(&s->lock);
	struct mem_record *r = find_or_create_locked(s, handle);
	if (r)
		memcpy(r->name, name, sizeof(r->name));
	spin_unlock(&s->lock);
	return r ? 0 : -1;
}

struct lock_group record_locks(void) {
	return (struct lock_group){ &shards[0].lock, SHARDS, sizeof(shards[0]) };
}
