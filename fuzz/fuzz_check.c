/* libFuzzer target for MEMORY_CHECK: each input is a random sequence of malloc,
 * calloc, memalign, realloc, free, transfer and in-bounds writes across a few
 * services, with at most one injected heap bug. Asserts that the bug is
 * reported exactly once, with the right kind, and that nothing else ever is.
 * Built with ASan+UBSan over the system allocator (make fuzz), so a bug of the
 * layer itself (touching memory it should not) is caught by the sanitizers.
 * Writes after free land in a block's first 256 bytes: the part the default
 * SKYNET_MEM_POISON poisons and checks. Some injected bugs are found without
 * any free (skynet_mem_check_all over a block that stays live), and some are
 * concurrent misuse: two threads freeing one block at once, a free racing a
 * transfer of it. */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "skynet_malloc.h"
#include "skynet_mem.h"

#define SLOTS 16
#define KINDS 5
#define COOKIE 16   /* the red zone (default SKYNET_MEM_REDZONE): right after the user's bytes */
#define HEAD 16     /* the guard before a block */

struct slot {
	unsigned char *p;
	size_t n;
};

struct input {
	const uint8_t *data;
	size_t size, at;
};

static struct slot slots[SLOTS];
static const uint32_t services[4] = { 0x0a000001u, 0x0a000002u, 0x0b00ffffu, 0u };

static unsigned byte(struct input *in) {
	return in->at < in->size ? in->data[in->at++] : 0;
}

static size_t size_of(struct input *in) {
	size_t n = byte(in);
	return (n & 0x80) ? ((n & 0x7f) << 8 | byte(in)) : n;   /* mostly small, up to 32 KiB */
}

/* The layer's reports go to stderr, which make fuzz silences with libFuzzer's
 * -close_fd_mask=2 (libFuzzer and the sanitizers keep a copy of it for their
 * own reports). This harness's verdicts go to the copy taken here, before. */
static int verdict_fd = 2;

static void fail(const char *what, int kind, uint64_t got) {
	dprintf(verdict_fd, "fuzz_check: %s (kind %d, count change %llu)\n", what, kind, (unsigned long long)got);
	abort();
}

static void snapshot(uint64_t out[KINDS]) {
	for (int k = 0; k < KINDS; k++)
		out[k] = skynet_mem_check_count(k);
}

/* Exactly `want` new reports of kind, and none of any other kind. */
static void expect_reports(const uint64_t before[KINDS], int kind, uint64_t want) {
	for (int k = 0; k < KINDS; k++) {
		uint64_t got = skynet_mem_check_count(k) - before[k];
		if (got != (k == kind ? want : 0))
			fail(k == kind ? "injected bug not reported once" : "unexpected report", k, got);
	}
}

static void flip(unsigned char *p, ptrdiff_t off, unsigned x) {
	volatile unsigned char *b = (volatile unsigned char *)((uintptr_t)p + (uintptr_t)off);
	*b ^= (unsigned char)(x | 1);   /* never 0: the byte always changes */
}

static void drain_quarantine(void) {
	size_t old = skynet_mem_check_quarantine(0);
	skynet_mem_check_quarantine(old);
}

/* Finds the bug at free, realloc or transfer; the block is then the checker's. */
static void trigger(struct slot *s, unsigned how) {
	switch (how % 3) {
	case 0:
		skynet_free(s->p);
		break;
	case 1:
		if (skynet_realloc(s->p, s->n + 1) != NULL)
			fail("realloc of a corrupt block succeeded", -1, 0);
		break;
	default:
		if (skynet_mem_transfer(s->p, services[how % 4]) != -1)
			fail("transfer of a corrupt block succeeded", -1, 0);
		break;
	}
	s->p = NULL;
}

/* --- concurrent misuse: a second thread acts on the same block at once --- */

enum race_op { RACE_FREE, RACE_TRANSFER };

struct racer {
	enum race_op op;
	void *p;
	atomic_int *go;
	int result;   /* the transfer's */
};

static void act(struct racer *r) {
	if (r->op == RACE_FREE)
		skynet_free(r->p);
	else
		r->result = skynet_mem_transfer(r->p, services[1]);
}

static void *race_side(void *arg) {
	struct racer *r = arg;
	atomic_fetch_add(r->go, 1);
	while (atomic_load(r->go) < 2)
		;   /* both sides start together */
	act(r);
	return NULL;
}

/* Runs mine on this thread and theirs on another, started together; returns
 * theirs' result (the transfer's, when it is one). */
static int race(enum race_op mine, enum race_op theirs, void *p) {
	atomic_int go = 0;
	struct racer a = { mine, p, &go, 0 }, b = { theirs, p, &go, 0 };
	pthread_t t;
	if (pthread_create(&t, NULL, race_side, &b) != 0)
		fail("pthread_create", -1, 0);
	atomic_fetch_add(&go, 1);
	while (atomic_load(&go) < 2)
		;
	act(&a);
	pthread_join(t, NULL);
	return mine == RACE_TRANSFER ? a.result : b.result;
}

static void inject(struct input *in, struct slot *s) {
	uint64_t before[KINDS];
	unsigned kind = byte(in) % KINDS, r = byte(in), x = byte(in), how = byte(in);
	/* A block written after its free stays leaked (by design): only small ones,
	 * so a long run does not grow without bound. The poisoned prefix is 256 B. */
	if (kind == SKYNET_MEM_CHECK_WRITE_AFTER_FREE && (s->n == 0 || s->n > 512))
		kind = SKYNET_MEM_CHECK_OVERFLOW;
	snapshot(before);
	switch (kind) {
	case SKYNET_MEM_CHECK_OVERFLOW:
	case SKYNET_MEM_CHECK_UNDERFLOW: {
		unsigned char *p = s->p;
		ptrdiff_t off = kind == SKYNET_MEM_CHECK_OVERFLOW ? (ptrdiff_t)(s->n + r % COOKIE) : -(ptrdiff_t)(1 + r % HEAD);
		flip(p, off, x);
		if (how % 4 == 3) {
			/* Never freed: found by a walk over live blocks, reported once. */
			if (skynet_mem_check_all() != 1 || skynet_mem_check_all() != 0)
				fail("check_all did not find the damaged live block once", (int)kind, 0);
		} else {
			trigger(s, how);
		}
		/* A reported block stays live, untouched: mended, it frees cleanly
		 * (and the run does not pile up leaked blocks). */
		flip(p, off, x);
		skynet_free(p);
		s->p = NULL;
		break;
	}
	case SKYNET_MEM_CHECK_DOUBLE_FREE: {
		if (how % 4 == 3) {   /* two threads free it at once: one frees, one is reported */
			race(RACE_FREE, RACE_FREE, s->p);
			s->p = NULL;
			break;
		}
		skynet_free(s->p);
		void *again = skynet_malloc(s->n);   /* may not get the address back */
		if (how & 1)
			skynet_free(s->p);
		else if (skynet_realloc(s->p, s->n + 8) != NULL)
			fail("realloc of a freed block succeeded", -1, 0);
		skynet_free(again);
		s->p = NULL;
		break;
	}
	case SKYNET_MEM_CHECK_INVALID_FREE: {
		if (how % 4 == 3) {
			/* A free racing a transfer: the transfer moved it first (no
			 * report), or found it freed (reported). */
			int moved = race(RACE_FREE, RACE_TRANSFER, s->p) == 0;
			s->p = NULL;
			expect_reports(before, (int)kind, moved ? 0 : 1);
			return;
		}
		char stack[32];
		void *foreign = malloc(64);
		void *bad = how % 3 == 0 ? (void *)(stack + r % 32) : how % 3 == 1 ? foreign : s->p + 1 + r % COOKIE;
		if (x & 1)
			skynet_free(bad);
		else if (skynet_realloc(bad, 10) != NULL || errno != EINVAL)
			fail("realloc of a foreign pointer did not fail with EINVAL", -1, 0);
		free(foreign);
		break;
	}
	default:
		skynet_free(s->p);
		flip(s->p, (ptrdiff_t)(r % s->n), x);
		drain_quarantine();
		s->p = NULL;
		break;
	}
	expect_reports(before, (int)kind, 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	(void)argc, (void)argv;
	verdict_fd = dup(2);
	if (verdict_fd < 0)
		verdict_fd = 2;
	skynet_mem_check_abort(0);
	setenv("SKYNET_MEM_CHECK_LEAKS", "0", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	struct input in = { data, size, 0 };
	uint64_t before[KINDS];
	int injected = 0;
	snapshot(before);
	for (int step = 0; step < 256 && in.at < in.size; step++) {
		unsigned op = byte(&in);
		struct slot *s = &slots[byte(&in) % SLOTS];
		skynet_mem_set_current(services[op >> 6]);
		switch (op % 8) {
		case 0:
		case 1:
			if (s->p == NULL) {
				s->n = size_of(&in);
				s->p = op & 8 ? skynet_calloc(1, s->n) : skynet_malloc(s->n);
			}
			break;
		case 2:
			if (s->p == NULL) {
				size_t align = (size_t)1 << byte(&in) % 13;
				s->n = size_of(&in);
				if (op & 8)
					s->p = skynet_aligned_alloc(align, s->n);
				else if (skynet_posix_memalign((void **)&s->p, align < sizeof(void *) ? sizeof(void *) : align, s->n))
					s->p = NULL;
				if (s->p && (uintptr_t)s->p % align)
					fail("alignment not kept", -1, 0);
			}
			break;
		case 3:
			skynet_free(s->p);
			s->p = NULL;
			break;
		case 4:
			if (s->p) {
				size_t n = size_of(&in);
				unsigned char *q = skynet_realloc(s->p, n);
				if (q || n == 0) {
					s->p = q;
					s->n = n;
				}
			}
			break;
		case 5:
			if (s->p && skynet_mem_transfer(s->p, services[byte(&in) % 4]) != 0)
				fail("transfer of a live block failed", -1, 0);
			break;
		case 6:
			if (s->p && s->n) {   /* any value, anywhere inside the block: never a bug */
				size_t off = byte(&in) * 131u % s->n, len = 1 + byte(&in) % 64;
				memset(s->p + off, (int)byte(&in), len < s->n - off ? len : s->n - off);
			}
			break;
		default:
			if (s->p && !injected) {
				injected = 1;
				inject(&in, s);
				snapshot(before);
			}
			break;
		}
		expect_reports(before, -1, 0);
	}
	for (int i = 0; i < SLOTS; i++) {
		skynet_free(slots[i].p);
		slots[i].p = NULL;
	}
	uint64_t settled[KINDS];
	snapshot(settled);
	drain_quarantine();
	expect_reports(settled, -1, 0);   /* no write after free that was not injected */
	skynet_mem_set_current(0);
	return 0;
}
