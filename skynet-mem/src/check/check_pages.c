/* The granules that hold block headers of the layer, and reads that never
 * fault (see check_pages.h). The map has a bit per 2 MiB of user space: 8 MiB
 * of zero pages, of which only the few covering the heap are ever touched. */

#define _GNU_SOURCE   /* process_vm_readv */

#include <errno.h>
#include <stdint.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check_pages.h"

_Atomic uint64_t pages_map[((size_t)1 << (PAGES_ADDR_BITS - PAGES_GRANULE_SHIFT)) / 64];
__thread uintptr_t pages_last TLS_IE = UINTPTR_MAX;   /* no granule */

int pages_marked_slow(uintptr_t g) {
	if (g >> (PAGES_ADDR_BITS - PAGES_GRANULE_SHIFT))
		return 0;
	int marked = (atomic_load_explicit(&pages_map[g / 64], memory_order_relaxed) >> (g % 64)) & 1;
	if (marked)
		pages_last = g;
	return marked;
}

void pages_mark_slow(uintptr_t lo, uintptr_t hi) {
	if (hi >> PAGES_ADDR_BITS)
		return;   /* never read directly then */
	for (size_t g = lo >> PAGES_GRANULE_SHIFT; g <= hi >> PAGES_GRANULE_SHIFT; g++)
		if (!((atomic_load_explicit(&pages_map[g / 64], memory_order_relaxed) >> (g % 64)) & 1))
			atomic_fetch_or_explicit(&pages_map[g / 64], (uint64_t)1 << (g % 64), memory_order_relaxed);
	if (lo >> PAGES_GRANULE_SHIFT == hi >> PAGES_GRANULE_SHIFT)
		pages_last = lo >> PAGES_GRANULE_SHIFT;
}

/* The kernel reads them: EFAULT, not SIGSEGV, for an unmapped address. Where
 * process_vm_readv is refused (seccomp), mincore tells whether the pages are
 * mapped at all (then read directly). errno is left as it was. */
int pages_read_slow(const void *at, uint64_t *w, size_t words) {
	int saved = errno;
	size_t len = words * sizeof(*w);
	struct iovec local = { w, len }, remote = { (void *)at, len };
	ssize_t got = process_vm_readv((pid_t)syscall(SYS_getpid), &local, 1, &remote, 1, 0);
	int ok = got == (ssize_t)len;
	if (got < 0 && errno != EFAULT) {
		long page = sysconf(_SC_PAGESIZE);
		uintptr_t first = (uintptr_t)at & ~(uintptr_t)(page - 1);
		uintptr_t last = ((uintptr_t)at + len - 1) & ~(uintptr_t)(page - 1);
		unsigned char vec;
		ok = mincore((void *)first, 1, &vec) == 0 && mincore((void *)last, 1, &vec) == 0;
		if (ok) {
			const volatile uint64_t *s = at;
			for (size_t i = 0; i < words; i++)
				w[i] = s[i];
		}
	}
	errno = saved;
	return ok;
}
