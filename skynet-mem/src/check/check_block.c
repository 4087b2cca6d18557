/* MEMORY_CHECK block layout: the sealed header and the guard before the user's
 * bytes, the canary right after them up to the end of the block, and the
 * poison of a freed block. Verification finds the first and last byte that
 * changed, so a report says how far an overflow went and where it started. */

#define _GNU_SOURCE   /* process_vm_readv */

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "check_block.h"
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

/* Independent multiplies (they pipeline), folded and mixed once. The site
 * and the freer only serve reports and stay out of the seal, so a free
 * reseals without hashing again: a freed block's seal is its live one ^ TAG_FREED. */
static inline uint64_t seal_of(uintptr_t p, uint64_t n, uint64_t word, uint32_t owner) {
	uint64_t h = ((uint64_t)p ^ get_secret()) * 0x9e3779b97f4a7c15ull;
	h ^= n * 0xbf58476d1ce4e5b9ull;
	h ^= word * 0x94d049bb133111ebull;
	h ^= (uint64_t)owner * 0xd6e8feb86659fd93ull;
	h ^= h >> 31;
	return h * 0x8ebc6af09c88c6e3ull;
}

/* usable (40 bits), list (16) and log2(head) (8) in one header word. */
static inline uint64_t word_of(const struct check_meta *m) {
	return (uint64_t)m->usable | (uint64_t)m->list << 40 | (uint64_t)__builtin_ctz(m->head) << 56;
}

static inline void *site_addr(const void *p, size_t n) {
	return (void *)((uintptr_t)p + n + CHECK_CANARY_SIZE);
}

void head_write(const void *p, struct check_meta *m) {
	struct check_head *h = check_hdr(p);
	uint64_t word = word_of(m);
	h->n = m->n;
	h->word = word;
	h->who = (uint64_t)m->owner | (uint64_t)m->freer << 32;
	m->seal = seal_of((uintptr_t)p, m->n, word, m->owner) ^ (m->state == REG_FREED ? TAG_FREED : TAG_LIVE);
	h->seal = m->seal;
}

#define HEAD_WORDS_AT (CHECK_HEAD_MIN - offsetof(struct check_head, seal))   /* p - &seal */
#define PAGE_MIN 4096

/* The header words of a pointer near the start of a page lie in the page
 * before it, which a foreign pointer may not have mapped (the first block of
 * a fresh heap region). The kernel reads them then: EFAULT, not SIGSEGV.
 * Where process_vm_readv is refused (seccomp), mincore tells whether the
 * page is mapped at all. Returns 0 when the words cannot be read. */
__attribute__((noinline, cold)) static int head_readable(const void *at) {
	int saved = errno;
	uint64_t w[4];
	struct iovec local = { w, sizeof(w) }, remote = { (void *)at, sizeof(w) };
	ssize_t got = process_vm_readv((pid_t)syscall(SYS_getpid), &local, 1, &remote, 1, 0);
	int ok = got == (ssize_t)sizeof(w);
	if (got < 0 && errno != EFAULT) {
		unsigned char vec;
		ok = mincore((void *)((uintptr_t)at & ~(uintptr_t)(PAGE_MIN - 1)), 1, &vec) == 0;
	}
	errno = saved;
	return ok;
}

/* Reads the header words one by one, unseen by the sanitizers: p may be a
 * stack address or another allocator's block, whose bytes before it are not
 * ours to read (volatile: no memcpy the sanitizers would intercept). */
__attribute__((no_sanitize("address", "thread"), noinline))
static int head_peek(const void *p, uint64_t w[4]) {
	const volatile uint64_t *s = (const volatile uint64_t *)&check_hdr(p)->seal;
	if (__builtin_expect(((uintptr_t)p & (PAGE_MIN - 1)) < HEAD_WORDS_AT, 0) && !head_readable((const void *)s))
		return 0;
	w[0] = s[0];
	w[1] = s[1];
	w[2] = s[2];
	w[3] = s[3];
	return 1;
}

/* The site, behind the canary; p may be a block already given back (a stale seal). */
__attribute__((no_sanitize("address", "thread"), noinline))
static uint64_t site_peek(const void *p, size_t n) {
	const volatile unsigned char *s = site_addr(p, n);
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | s[i];
	return v;
}

uintptr_t block_site(const void *p, const struct check_meta *m) {
	return site_peek(p, m->n);
}

int block_identify(const void *p, struct check_meta *m) {
	uintptr_t a = (uintptr_t)p;
	/* User pointers are 16-aligned and never in the first 64 KiB (unmapped on Linux). */
	if ((a & 15) != 0 || a < ((uintptr_t)1 << 16))
		return REG_NONE;
	uint64_t w[4];   /* seal, n, word, owner|freer */
	if (!head_peek(p, w))
		return REG_NONE;
	uint64_t h = seal_of(a, w[1], w[2], (uint32_t)w[3]);
	int state;
	if (w[0] == (h ^ TAG_LIVE))
		state = REG_LIVE;
	else if (w[0] == (h ^ TAG_FREED))
		state = REG_FREED;
	else
		return REG_NONE;
	*m = (struct check_meta){ .seal = w[0], .n = w[1], .usable = w[2] & (((uint64_t)1 << 40) - 1),
		.site = 0, .owner = (uint32_t)w[3], .freer = (uint32_t)(w[3] >> 32),
		.head = (uint32_t)1 << (w[2] >> 56), .list = (uint32_t)(w[2] >> 40) & 0xffff,
		.state = (uint32_t)state };
	return state;
}

/* --- verification --- */

static inline uint64_t pat8(unsigned b) {
	return 0x0101010101010101ull * (uint8_t)b;
}

/* 1 when a[0..len) is all b. Guard and canary (16 bytes): two 8-byte loads,
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

/* The canary is a fixed run right after the user's bytes, CHECK_CANARY_SIZE
 * long: the rest of the size class is left untouched, as cache lines not
 * written cost nothing. */

void block_arm(void *p, const struct check_meta *m) {
	uint64_t g = pat8(CHECK_GUARD);
	memcpy(at(p, -16), &g, 8);
	memcpy(at(p, -8), &g, 8);
	uint64_t c = pat8(CHECK_CANARY);
	memcpy(at(p, (ptrdiff_t)m->n), &c, 8);
	memcpy(at(p, (ptrdiff_t)m->n + 8), &c, 8);
	memcpy(site_addr(p, m->n), &m->site, sizeof(m->site));
}

int block_faults(const void *p, const struct check_meta *m, struct block_fault f[2]) {
	int n = 0;
	const unsigned char *canary = at(p, (ptrdiff_t)m->n);
	if (__builtin_expect(!range_is(canary, CHECK_CANARY_SIZE, CHECK_CANARY), 0)) {
		size_t first = first_diff(canary, CHECK_CANARY_SIZE, CHECK_CANARY);
		size_t last = last_diff(canary, CHECK_CANARY_SIZE, CHECK_CANARY);
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
 * header, guard and canary, checked when the block leaves quarantine), else
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
	h->n = m->n;
	h->word = word_of(m);
	h->who = (uint64_t)m->owner | (uint64_t)m->freer << 32;
	h->seal = m->seal;
}

static void widen(ptrdiff_t *first, ptrdiff_t *last, ptrdiff_t f, ptrdiff_t l) {
	if (f < *first)
		*first = f;
	if (l > *last)
		*last = l;
}

int block_poison_fault(const void *p, const struct check_meta *m, struct block_fault *f) {
	/* Full mode checks the header and the canary too; by default only the
	 * guard and the poisoned prefix, the lines a stale pointer writes to. */
	int full = poison_prefix() == SIZE_MAX;
	struct check_head want;
	expected_head(m, &want);
	const unsigned char *hb = (const unsigned char *)check_hdr(p);
	size_t slack = full ? CHECK_CANARY_SIZE : 0;
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
