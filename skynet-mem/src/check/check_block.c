/* MEMORY_CHECK block layout: the sealed header and the guard before the user's
 * bytes, the red zone right after them, and the poison of a freed block.
 * Verification finds the first and last byte that changed, so a report says
 * how far an overflow went and where it started. */

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>

#include "check_block.h"
#include "check_pages.h"
#include "options.h"

#define PATTERN 4096

/* Each fill byte repeated, so a range is verified by memcmp (vectorised), and
 * only a mismatching chunk is walked byte by byte. */
static const unsigned char guard_pat[PATTERN] = { [0 ... PATTERN - 1] = CHECK_GUARD };
static const unsigned char canary_pat[PATTERN] = { [0 ... PATTERN - 1] = CHECK_CANARY };
static const unsigned char poison_pat[PATTERN] = { [0 ... PATTERN - 1] = CHECK_POISON };

static const unsigned char *pattern_of(unsigned b) {
	return b == CHECK_GUARD ? guard_pat : b == CHECK_CANARY ? canary_pat : poison_pat;
}

/* --- seals --- */

#define TAG_LIVE CHECK_TAG_LIVE
#define TAG_FREED CHECK_TAG_FREED

static _Atomic uint64_t secret;

/* Per process, fixed before the first block is sealed: the kernel's AT_RANDOM
 * bytes (no syscall, there before any constructor runs). */
static uint64_t secret_slow(void) {
	uint64_t s = 0;
	const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
	if (r)
		memcpy(&s, r + 8, sizeof(s));
	if (s == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		s = ((uint64_t)ts.tv_nsec << 32 ^ (uint64_t)ts.tv_sec ^ (uintptr_t)&ts) | 1;
	}
	uint64_t zero = 0;
	atomic_compare_exchange_strong(&secret, &zero, s);
	return atomic_load(&secret);
}

static inline uint64_t get_secret(void) {
	uint64_t s = atomic_load_explicit(&secret, memory_order_relaxed);
	return __builtin_expect(s != 0, 1) ? s : secret_slow();
}

/* Independent multiplies (they pipeline), folded and mixed once. The freer
 * only serves reports and stays out of the seal, so a free reseals without
 * hashing again: a freed block's seal is its live one ^ TAG_FREED. */
static inline uint64_t seal_of(uintptr_t p, uint64_t word, uint64_t who, uint64_t site) {
	uint64_t h = ((uint64_t)p ^ get_secret()) * 0x9e3779b97f4a7c15ull;
	h ^= word * 0xbf58476d1ce4e5b9ull;
	h ^= who * 0x94d049bb133111ebull;
	h ^= site * 0xd6e8feb86659fd93ull;
	h ^= h >> 31;
	return h * 0x8ebc6af09c88c6e3ull;
}

#define N_BITS 40
#define N_MASK (((uint64_t)1 << N_BITS) - 1)

/* n (40 bits), list (16), log2(head) (7) and the reported flag in one header word. */
static inline uint64_t word_of(const struct check_meta *m) {
	return (uint64_t)m->n | (uint64_t)m->list << N_BITS | (uint64_t)__builtin_ctz(m->head) << 56 |
		(uint64_t)(m->reported != 0) << 63;
}

/* The owner and the usable size (a multiple of 8 below 32 GiB) in another. */
static inline uint64_t who_of(const struct check_meta *m) {
	return (uint64_t)m->owner | (uint64_t)(m->usable >> 3) << 32;
}

void head_write(const void *p, struct check_meta *m) {
	struct check_head *h = check_hdr(p);
	uint64_t word = word_of(m), who = who_of(m);
	h->word = word;
	h->who = who;
	h->site = m->site;
	m->seal = seal_of((uintptr_t)p, word, who, m->site) ^ (m->state == REG_FREED ? TAG_FREED : TAG_LIVE);
	h->seal = m->seal;
}

#define HEAD_WORDS 4   /* seal, word, who, site */
#define HEAD_WORDS_AT (CHECK_HEAD_MIN - offsetof(struct check_head, seal))   /* p - &seal */
#define PAGE_MIN 4096

/* Reads the sealed words, unseen by the sanitizers: p may be a stack address
 * or another allocator's block, whose bytes before it are not ours to read
 * (volatile: no memcpy the sanitizers would intercept). Directly when the
 * words lie in p's page and a block header was put in its granule; else
 * through the kernel (a wild pointer, a page start, a foreign region). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PEEK_INLINE noinline   /* a sanitized caller cannot inline an unsanitized callee */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PEEK_INLINE noinline
#endif
#endif
#ifndef PEEK_INLINE
#define PEEK_INLINE always_inline
#endif

__attribute__((no_sanitize("address", "thread"), PEEK_INLINE))
static inline int head_peek(const void *p, uint64_t w[HEAD_WORDS]) {
	const volatile uint64_t *s = (const volatile uint64_t *)&check_hdr(p)->seal;
	if (__builtin_expect(((uintptr_t)p & (PAGE_MIN - 1)) < HEAD_WORDS_AT || !pages_marked((uintptr_t)s), 0))
		return pages_read_slow((const void *)s, w, HEAD_WORDS);
	w[0] = s[0];
	w[1] = s[1];
	w[2] = s[2];
	w[3] = s[3];
	return 1;
}

__attribute__((no_sanitize("address", "thread")))
uint64_t block_seal_now(const void *p) {
	return *(const volatile uint64_t *)&check_hdr(p)->seal;
}

/* The freer of a freed block, in the link word (not sealed). */
__attribute__((no_sanitize("address", "thread")))
static uint32_t freer_peek(const void *p) {
	const volatile uintptr_t *next = (const volatile uintptr_t *)&check_hdr(p)->next;
	return (uint32_t)*next;
}

int block_identify(const void *p, struct check_meta *m) {
	uintptr_t a = (uintptr_t)p;
	/* User pointers are 16-aligned and never in the first 64 KiB (unmapped on Linux). */
	if ((a & 15) != 0 || a < ((uintptr_t)1 << 16))
		return REG_NONE;
	uint64_t w[HEAD_WORDS];   /* seal, word, who, site */
	if (!head_peek(p, w))
		return REG_NONE;
	uint64_t h = seal_of(a, w[1], w[2], w[3]);
	int state;
	if (w[0] == (h ^ TAG_LIVE))
		state = REG_LIVE;
	else if (w[0] == (h ^ TAG_FREED))
		state = REG_FREED;
	else
		return REG_NONE;
	*m = (struct check_meta){ .seal = w[0], .n = w[1] & N_MASK, .usable = (w[2] >> 32) << 3,
		.site = w[3], .owner = (uint32_t)w[2], .freer = 0,
		.head = (uint32_t)1 << (w[1] >> 56 & 0x7f), .list = (uint32_t)(w[1] >> N_BITS) & 0xffff,
		.state = (uint32_t)state, .reported = (uint32_t)(w[1] >> 63) };
	if (state == REG_FREED)
		m->freer = freer_peek(p);   /* the link words: in the same lines as the sealed ones */
	return state;
}

int block_list_hint(const void *p, uint32_t *list) {
	uint64_t w[HEAD_WORDS];
	if (((uintptr_t)p & 15) != 0 || (uintptr_t)p < ((uintptr_t)1 << 16) || !head_peek(p, w))
		return 0;
	*list = (uint32_t)(w[1] >> N_BITS) & 0xffff;
	return 1;
}

/* --- verification --- */

static inline uint64_t pat8(unsigned b) {
	return 0x0101010101010101ull * (uint8_t)b;
}

/* 1 when a[0..len) is all b. Guard and red zone (16 bytes): two 8-byte loads,
 * no call. A poisoned prefix: memcmp against the pattern, which the C library
 * vectorises (8-byte steps cost the check build a third of its time). */
static inline int range_is(const unsigned char *a, size_t len, unsigned b) {
	if (len > 32) {
		const unsigned char *pat = pattern_of(b);
		for (size_t i = 0; i < len; i += PATTERN)
			if (memcmp(a + i, pat, len - i < PATTERN ? len - i : PATTERN) != 0)
				return 0;
		return 1;
	}
	uint64_t want = pat8(b), acc = 0, w;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, a + i, 8);
		acc |= w ^ want;
	}
	for (; i < len; i++)
		acc |= a[i] ^ (uint8_t)b;
	return acc == 0;
}

/* Offset of the first byte of a[0..len) that is not b; len when none. */
static size_t first_diff(const unsigned char *a, size_t len, unsigned b) {
	const unsigned char *pat = pattern_of(b);
	for (size_t i = 0; i < len; i += PATTERN) {
		size_t k = len - i < PATTERN ? len - i : PATTERN;
		if (__builtin_expect(memcmp(a + i, pat, k) == 0, 1))
			continue;
		for (size_t j = 0; j < k; j++)
			if (a[i + j] != b)
				return i + j;
	}
	return len;
}

/* Offset of the last byte of a[0..len) that is not b; len when none. */
static size_t last_diff(const unsigned char *a, size_t len, unsigned b) {
	for (size_t i = len; i-- > 0;)
		if (a[i] != b)
			return i;
	return len;
}

static inline unsigned char *at(const void *p, ptrdiff_t off) {
	return (unsigned char *)((uintptr_t)p + (uintptr_t)off);
}

/* SKYNET_MEM_REDZONE (options.c): a multiple of 8 from 8 to 4096, fixed at
 * the first block. The red zone is a run right after the user's bytes: the
 * rest of the size class is left untouched, as cache lines not written cost
 * nothing. */
atomic_size_t block_redzone_cached;

size_t block_redzone_slow(void) {
	size_t r = option_get(OPTION_REDZONE);
	r = r < 8 ? 8 : r > CHECK_REDZONE_MAX ? CHECK_REDZONE_MAX : (r + 7) & ~(size_t)7;
	atomic_store_explicit(&block_redzone_cached, r, memory_order_relaxed);
	return r;
}

void block_arm(void *p, const struct check_meta *m) {
	uint64_t g = pat8(CHECK_GUARD);
	memcpy(at(p, -16), &g, 8);
	memcpy(at(p, -8), &g, 8);
	size_t rz = block_redzone();
	if (__builtin_expect(rz == CHECK_REDZONE_DEFAULT, 1)) {
		uint64_t c = pat8(CHECK_CANARY);
		memcpy(at(p, (ptrdiff_t)m->n), &c, 8);
		memcpy(at(p, (ptrdiff_t)m->n + 8), &c, 8);
	} else {
		memset(at(p, (ptrdiff_t)m->n), CHECK_CANARY, rz);
	}
}

int block_faults(const void *p, const struct check_meta *m, struct block_fault f[2]) {
	int n = 0;
	const unsigned char *canary = at(p, (ptrdiff_t)m->n);
	size_t rz = block_redzone();
	int sound = rz == CHECK_REDZONE_DEFAULT ? range_is(canary, CHECK_REDZONE_DEFAULT, CHECK_CANARY)
		: range_is(canary, rz, CHECK_CANARY);   /* the default: two loads, no loop */
	if (__builtin_expect(!sound, 0)) {
		size_t first = first_diff(canary, rz, CHECK_CANARY);
		size_t last = last_diff(canary, rz, CHECK_CANARY);
		f[n++] = (struct block_fault){ CHECK_OVERFLOW, (ptrdiff_t)(m->n + first), last + 1 };
	}
	const unsigned char *guard = at(p, -CHECK_GUARD_SIZE);
	if (__builtin_expect(!range_is(guard, CHECK_GUARD_SIZE, CHECK_GUARD), 0)) {
		size_t g = first_diff(guard, CHECK_GUARD_SIZE, CHECK_GUARD);
		size_t nearest = last_diff(guard, CHECK_GUARD_SIZE, CHECK_GUARD);
		f[n++] = (struct block_fault){ CHECK_UNDERFLOW, -(ptrdiff_t)(CHECK_GUARD_SIZE - nearest),
			CHECK_GUARD_SIZE - g };
	}
	return n;
}

/* SKYNET_MEM_POISON (options.c): SIZE_MAX is "full" (every user byte, and the
 * header, guard and red zone, checked when the block leaves quarantine), else
 * the first bytes poisoned, those and the guard checked. */
static inline size_t poison_prefix(void) {
	return option_get(OPTION_POISON);
}

static inline size_t poisoned(const struct check_meta *m) {
	size_t k = poison_prefix();
	return m->n < k ? m->n : k;
}
void block_poison(void *p, const struct check_meta *m) {
	memset(p, CHECK_POISON, poisoned(m));
}

/* The header a quarantined block must still have, as bytes. */
static void expected_head(const struct check_meta *m, struct check_head *h) {
	memset(h, 0, sizeof(*h));
	h->next = (struct check_head *)(uintptr_t)m->freer;
	h->word = word_of(m);
	h->who = who_of(m);
	h->site = m->site;
	h->seal = m->seal;
}

static void widen(ptrdiff_t *first, ptrdiff_t *last, ptrdiff_t f, ptrdiff_t l) {
	if (f < *first)
		*first = f;
	if (l > *last)
		*last = l;
}

int block_poison_fault(const void *p, const struct check_meta *m, struct block_fault *f) {
	/* Full mode checks the header and the red zone too; by default only the
	 * guard and the poisoned prefix, the lines a stale pointer writes to. */
	int full = poison_prefix() == SIZE_MAX;
	struct check_head want;
	if (full)
		expected_head(m, &want);
	const unsigned char *hb = (const unsigned char *)check_hdr(p);
	size_t slack = full ? block_redzone() : 0;
	int hbad = 0;
	if (full) {
		const uint64_t *hw = (const uint64_t *)check_hdr(p), *ww = (const uint64_t *)&want;
		uint64_t hd = 0;
		for (size_t i = 0; i < sizeof(want) / 8; i++)
			hd |= hw[i] ^ ww[i];
		hbad = hd != 0;
	}
	if (__builtin_expect(!hbad && range_is(at(p, -CHECK_GUARD_SIZE), CHECK_GUARD_SIZE, CHECK_GUARD)
		&& range_is(p, poisoned(m), CHECK_POISON) && range_is(at(p, (ptrdiff_t)m->n), slack, CHECK_CANARY), 1))
		return 0;
	size_t g = first_diff(at(p, -CHECK_GUARD_SIZE), CHECK_GUARD_SIZE, CHECK_GUARD);
	size_t u = first_diff(p, poisoned(m), CHECK_POISON);
	size_t c = first_diff(at(p, (ptrdiff_t)m->n), slack, CHECK_CANARY);
	/* One fault for the whole block: from the first changed byte to the last. */
	ptrdiff_t first = PTRDIFF_MAX, last = PTRDIFF_MIN;
	if (hbad) {
		const unsigned char *wb = (const unsigned char *)&want;
		ptrdiff_t i = 0, j = (ptrdiff_t)sizeof(want) - 1;
		while (hb[i] == wb[i])
			i++;
		while (hb[j] == wb[j])
			j--;
		widen(&first, &last, i - (ptrdiff_t)CHECK_HEAD_MIN, j - (ptrdiff_t)CHECK_HEAD_MIN);   /* header: from p - 64 */
	}
	if (g < CHECK_GUARD_SIZE)
		widen(&first, &last, (ptrdiff_t)g - CHECK_GUARD_SIZE,
			(ptrdiff_t)last_diff(at(p, -CHECK_GUARD_SIZE), CHECK_GUARD_SIZE, CHECK_GUARD) - CHECK_GUARD_SIZE);
	if (u < poisoned(m))
		widen(&first, &last, (ptrdiff_t)u, (ptrdiff_t)last_diff(p, poisoned(m), CHECK_POISON));
	if (c < slack)
		widen(&first, &last, (ptrdiff_t)(m->n + c),
			(ptrdiff_t)(m->n + last_diff(at(p, (ptrdiff_t)m->n), slack, CHECK_CANARY)));
	*f = (struct block_fault){ CHECK_WRITE_AFTER_FREE, first, (size_t)(last - first + 1) };
	return 1;
}
