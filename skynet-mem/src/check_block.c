/* MEMORY_CHECK block layout: the guard before the user's bytes, the canary right
 * after them, the cookie at the end of the usable size, and the poison of a
 * freed block. Verification finds the first and last byte that changed, so a
 * report says how far an overflow went and where it started. */

#ifdef SKYNET_MEM_CHECK

#include <string.h>

#include "check.h"

#define PATTERN 4096

/* Each fill byte repeated, so a range is verified by memcmp (vectorised), and
 * only a mismatching chunk is walked byte by byte. */
static const unsigned char guard_pat[PATTERN] = { [0 ... PATTERN - 1] = CHECK_GUARD };
static const unsigned char canary_pat[PATTERN] = { [0 ... PATTERN - 1] = CHECK_CANARY };
static const unsigned char poison_pat[PATTERN] = { [0 ... PATTERN - 1] = CHECK_POISON };

static const unsigned char *pattern_of(unsigned b) {
	return b == CHECK_GUARD ? guard_pat : b == CHECK_CANARY ? canary_pat : poison_pat;
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

/* Bytes from the end of the user's bytes to the cookie. */
static inline size_t slack_of(const struct check_meta *m) {
	return m->usable - m->head - m->n - COOKIE_SIZE;
}

static void expected_cookie(const struct check_meta *m, uint32_t dogtag, unsigned char out[COOKIE_SIZE]) {
	struct cookie c;
	memset(&c, 0, sizeof(c));
	c.handle = m->owner;
	c.dogtag = dogtag;
	c.size = m->n;
	memcpy(out, &c, COOKIE_SIZE);
}

/* First and last changed offsets (from p) in the canary and cookie; 0 when intact. */
static int trailer_diff(const void *p, const struct check_meta *m, uint32_t dogtag, size_t *first, size_t *last) {
	const unsigned char *canary = at(p, (ptrdiff_t)m->n);
	size_t slack = slack_of(m);
	unsigned char want[COOKIE_SIZE];
	expected_cookie(m, dogtag, want);
	const unsigned char *cookie = canary + slack;
	size_t f = first_diff(canary, slack, CHECK_CANARY);
	if (f == slack) {
		if (__builtin_expect(memcmp(cookie, want, COOKIE_SIZE) == 0, 1))
			return 0;
		for (f = 0; cookie[f] == want[f]; f++)
			;
		f += slack;
	}
	size_t l = COOKIE_SIZE;
	while (l-- > 0 && cookie[l] == want[l])
		;
	l = l < COOKIE_SIZE ? slack + l : last_diff(canary, slack, CHECK_CANARY);
	*first = m->n + f;
	*last = m->n + l;
	return 1;
}

void block_arm(void *p, const struct check_meta *m) {
	memset(check_base(p, m), CHECK_GUARD, m->head);
	memset(at(p, (ptrdiff_t)m->n), CHECK_CANARY, slack_of(m));
	unsigned char c[COOKIE_SIZE];
	expected_cookie(m, DOGTAG_ALLOC, c);
	memcpy(at(p, (ptrdiff_t)(m->n + slack_of(m))), c, COOKIE_SIZE);
}

int block_faults(const void *p, const struct check_meta *m, struct block_fault f[2]) {
	int n = 0;
	size_t first, last;
	if (trailer_diff(p, m, DOGTAG_ALLOC, &first, &last))
		f[n++] = (struct block_fault){ CHECK_OVERFLOW, (ptrdiff_t)first, last + 1 - m->n };
	const unsigned char *guard = check_base(p, m);
	size_t g = first_diff(guard, m->head, CHECK_GUARD);
	if (g < m->head) {
		size_t nearest = last_diff(guard, m->head, CHECK_GUARD);
		f[n++] = (struct block_fault){ CHECK_UNDERFLOW, -(ptrdiff_t)(m->head - nearest), m->head - g };
	}
	return n;
}

void block_report(const void *p, const struct check_meta *m, const char *op, const struct block_fault *f, int n) {
	for (int i = 0; i < n; i++) {
		struct check_report r = { f[i].kind, op, p, m, f[i].offset, f[i].span };
		check_report(&r);
	}
}

int block_verify(const void *p, const struct check_meta *m, const char *op) {
	struct block_fault f[2];
	int n = block_faults(p, m, f);
	block_report(p, m, op, f, n);
	return n ? -1 : 0;
}

void block_poison(void *p, const struct check_meta *m) {
	memset(p, CHECK_POISON, m->n);
	unsigned char c[COOKIE_SIZE];
	expected_cookie(m, DOGTAG_FREE, c);
	memcpy(at(p, (ptrdiff_t)(m->n + slack_of(m))), c, COOKIE_SIZE);
}

int block_poison_fault(const void *p, const struct check_meta *m, struct block_fault *f) {
	ptrdiff_t first, last;
	const unsigned char *guard = check_base(p, m);
	size_t g = first_diff(guard, m->head, CHECK_GUARD);
	size_t u = first_diff(p, m->n, CHECK_POISON);
	size_t tf, tl;
	int trailer = trailer_diff(p, m, DOGTAG_FREE, &tf, &tl);
	if (g == m->head && u == m->n && !trailer)
		return 0;
	/* One fault for the whole block: from the first changed byte to the last. */
	if (g < m->head)
		first = -(ptrdiff_t)(m->head - g);
	else if (u < m->n)
		first = (ptrdiff_t)u;
	else
		first = (ptrdiff_t)tf;
	if (trailer)
		last = (ptrdiff_t)tl;
	else if (u < m->n)
		last = (ptrdiff_t)last_diff(p, m->n, CHECK_POISON);
	else
		last = -(ptrdiff_t)(m->head - last_diff(guard, m->head, CHECK_GUARD));
	*f = (struct block_fault){ CHECK_WRITE_AFTER_FREE, first, (size_t)(last - first + 1) };
	return 1;
}

int block_verify_poison(const void *p, const struct check_meta *m) {
	struct block_fault f;
	if (!block_poison_fault(p, m, &f))
		return 0;
	block_report(p, m, "quarantine exit", &f, 1);
	return -1;
}

#endif
