/* The call stack of a sampled block (profile.h): the frames from the caller
 * of the allocation function out, the layer's own dropped.
 *
 * The full walk is libgcc's _Unwind_Backtrace over the DWARF CFI every
 * Debian object carries (frame pointers are not guaranteed: skynet and its
 * C modules are built without them). It is linked directly (libgcc_s), so
 * unlike glibc's backtrace() nothing is dlopened or allocated; it finds the
 * tables through _dl_find_object / dl_iterate_phdr, safe in any thread. Should
 * it ever allocate, profile_sampled has put the thread's countdown far away:
 * such an allocation is accounted as any other but never sampled, so no walk
 * re-enters another. It costs some 1,500 instructions a frame, though, too
 * much at one sample per 512 KiB for a program that allocates much and
 * touches little (bench_programs' churn: +15% instructions).
 *
 * So each full walk also teaches a cache, one word per return address: the
 * distance from the stack pointer at that address to its frame's CFA, which
 * for code without alloca or stack realignment is fixed at compile time, and
 * whether the frame was the outermost. A later walk whose every return
 * address is known follows the frames itself: the CFA is sp + distance, the
 * return address sits just below it (x86-64), the caller's sp is the CFA.
 * An address seen with two distances, a signal frame and its neighbour, or
 * any address not yet known sends the walk to libgcc again. Every read lies
 * between the stack pointer and the outermost CFA this thread's full walks
 * have seen. */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <unwind.h>

#include "profile.h"

/* --- the layer's own code, whose frames are dropped --- */

static uintptr_t layer_lo, layer_hi;
static atomic_int layer_known;

static int find_layer(struct dl_phdr_info *info, size_t size, void *base) {
	(void)size;
	if ((void *)info->dlpi_addr != base)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (layer_lo == 0 || lo < layer_lo)
			layer_lo = lo;
		if (hi > layer_hi)
			layer_hi = hi;
	}
	return 1;
}

static void layer_range(void) {
	if (atomic_load_explicit(&layer_known, memory_order_acquire))
		return;
	Dl_info di;
	if (dladdr((void *)&profile_stack, &di) != 0 && di.dli_fbase != NULL)
		dl_iterate_phdr(find_layer, di.dli_fbase);
	atomic_store_explicit(&layer_known, 1, memory_order_release);
}

static int in_layer(uintptr_t ip) {
	return ip >= layer_lo && ip < layer_hi;
}

/* --- the cache: one word per return address --- */

#define CACHE_BITS 13
#define PROBES 16
#define IP_BITS 48
#define IP_MASK (((uint64_t)1 << IP_BITS) - 1)
#define DIST_BAD 0x7fffu                    /* seen with two distances: never trusted */
#define LAST ((uint64_t)1 << 63)            /* the outermost frame */

static _Atomic uint64_t cache[1u << CACHE_BITS];

static unsigned cache_home(uintptr_t ip) {
	return (unsigned)((ip * 0x9E3779B97F4A7C15ull) >> (64 - CACHE_BITS));
}

static unsigned word_dist(uint64_t w) {
	return (unsigned)((w >> IP_BITS) & 0x7fff);
}

/* The word of ip, or 0. */
static uint64_t cache_get(uintptr_t ip) {
	unsigned k = cache_home(ip);
	for (int i = 0; i < PROBES; i++, k = (k + 1) & ((1u << CACHE_BITS) - 1)) {
		uint64_t w = atomic_load_explicit(&cache[k], memory_order_relaxed);
		if (w == 0)
			return 0;
		if ((w & IP_MASK) == ip)
			return w;
	}
	return 0;
}

/* dist: bytes from sp to the CFA (a multiple of 8), or DIST_BAD * 8. */
static void cache_put(uintptr_t ip, uint64_t dist, int last) {
	if (ip == 0 || (ip & ~IP_MASK) != 0)
		return;
	uint64_t q = dist % 8 == 0 && dist / 8 < DIST_BAD ? dist / 8 : DIST_BAD;
	uint64_t want = ip | (q << IP_BITS) | (last ? LAST : 0);
	unsigned k = cache_home(ip);
	for (int i = 0; i < PROBES; i++, k = (k + 1) & ((1u << CACHE_BITS) - 1)) {
		uint64_t w = atomic_load_explicit(&cache[k], memory_order_relaxed);
		if (w == 0 && atomic_compare_exchange_strong_explicit(&cache[k], &w, want,
				memory_order_relaxed, memory_order_relaxed))
			return;
		if ((w & IP_MASK) != ip)
			continue;
		if (w != want)   /* another distance, or outermost once and not now */
			atomic_store_explicit(&cache[k], ip | ((uint64_t)DIST_BAD << IP_BITS), memory_order_relaxed);
		return;
	}
}

/* --- the walks --- */

/* The outermost CFA this thread's full walks have seen: reads stay below it. */
static __thread uintptr_t stack_top TLS_IE;

#define RAW_MAX 96

struct raw {
	int n, ended;   /* ended: the walk reached the outermost frame */
	uintptr_t ip[RAW_MAX], cfa[RAW_MAX];
	unsigned char signal[RAW_MAX];
};

static _Unwind_Reason_Code raw_frame(struct _Unwind_Context *ctx, void *arg) {
	struct raw *r = arg;
	int before = 0;
	uintptr_t ip = (uintptr_t)_Unwind_GetIPInfo(ctx, &before);
	if (ip == 0) {   /* the outermost frame's return address (libgcc then fails the walk) */
		r->ended = 1;
		return _URC_END_OF_STACK;
	}
	r->ip[r->n] = ip;
	r->cfa[r->n] = (uintptr_t)_Unwind_GetCFA(ctx);
	r->signal[r->n] = (unsigned char)before;
	return ++r->n == RAW_MAX ? _URC_END_OF_STACK : _URC_NO_REASON;
}

/* Frames past the layer's into out; how many. */
static uint32_t keep_frames(const uintptr_t *ip, int n, uintptr_t *out, uint32_t max) {
	uint32_t d = 0;
	int inside = 1;
	for (int i = 0; i < n && d < max; i++) {
		if (inside && in_layer(ip[i]))
			continue;
		inside = 0;
		out[d++] = ip[i];
	}
	return d;
}

/* libgcc reports each frame as its CFA and its return address: ip(j) lies in
 * the caller, whose sp there is cfa(j) and whose own CFA is cfa(j + 1). So
 * the distance of ip(j) is cfa(j + 1) - cfa(j). The walk starts at the frame
 * whose CFA is cfa0, profile_stack's (libgcc reports its own first); inlined,
 * so that frame is profile_stack's. */
__attribute__((always_inline)) static inline uint32_t full_walk(uintptr_t cfa0, uintptr_t *out, uint32_t max) {
	struct raw r;
	r.n = r.ended = 0;
	if (_Unwind_Backtrace(raw_frame, &r) == _URC_END_OF_STACK && r.n < RAW_MAX)
		r.ended = 1;
	int me = 0;
	while (me < r.n && me < 4 && r.cfa[me] != cfa0)
		me++;
	if (me == r.n || me == 4)
		return keep_frames(r.ip, r.n, out, max);   /* not the frames expected: learn nothing */
	for (int j = me; j < r.n; j++)
		if (r.cfa[j] > stack_top)
			stack_top = r.cfa[j];
	for (int j = me; j < r.n; j++) {
		int last = j == r.n - 1;
		if (last && !r.ended)
			break;
		/* An interrupted instruction (a signal frame) and its neighbours
		 * have no fixed distance. */
		int bad = r.signal[j] || (j > 0 && r.signal[j - 1]) || (!last && r.signal[j + 1]) ||
			(!last && r.cfa[j + 1] <= r.cfa[j]);
		cache_put(r.ip[j], bad || last ? (uint64_t)DIST_BAD * 8 : r.cfa[j + 1] - r.cfa[j], last);
	}
	return keep_frames(r.ip + me, r.n - me, out, max);
}

/* From frame 1 (ip, whose sp is sp) out, through the cache; -1 when an
 * address is unknown or untrusted, or a read would leave the stack. */
static int fast_walk(uintptr_t ip, uintptr_t sp, uintptr_t *out, uint32_t max) {
	uintptr_t top = stack_top;
	uint32_t d = 0;
	int inside = 1;
	for (int raw = 1; raw < RAW_MAX; raw++) {
		uint64_t w = cache_get(ip);
			if (w == 0 || (word_dist(w) == DIST_BAD && !(w & LAST)))
			return -1;
		if (!inside || !in_layer(ip)) {
			inside = 0;
			out[d++] = ip;
			if (d == max)
				return (int)d;
		}
		if (w & LAST)
			return (int)d;
		uintptr_t cfa = sp + (uintptr_t)word_dist(w) * 8;
		if (cfa <= sp || cfa > top)
			return -1;
		ip = *(const uintptr_t *)(cfa - 8);
		sp = cfa;
	}
	return (int)d;
}

__attribute__((noinline)) uint32_t profile_stack(uintptr_t *out, uint32_t max) {
	layer_range();
	uintptr_t cfa0 = (uintptr_t)__builtin_dwarf_cfa();
	if (stack_top != 0) {
		int d = fast_walk((uintptr_t)__builtin_return_address(0), cfa0, out, max);
		if (d >= 0)
			return (uint32_t)d;
	}
	return full_walk(cfa0, out, max);
}
