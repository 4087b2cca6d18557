/* The C++ allocation operators, in the interposer. Without them, operator new
 * binds to the first definition in the process's lookup scope: jemalloc's
 * (libjemalloc.so.2, a dependency of the interposer, comes before libstdc++),
 * which allocates inside jemalloc, while its operator delete calls free, ours.
 * So a C++ library's blocks came from an allocator the layer never saw and
 * went back through the layer (a false "invalid free" in the check build, a
 * wrong owner charged in the release build). Every operator is defined here,
 * over the same accounted core as malloc.
 *
 * Names are the Itanium C++ ABI's (x86-64 and aarch64: size_t is "m"). */

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

#include "block.h"
#include "skynet_mem_api.h"

#define EXPORT SKYNET_MEM_API

struct nothrow;   /* std::nothrow_t, passed by reference and never read */

/* A throwing new that found no memory: as libstdc++ does, call the installed
 * new_handler until it gives up, then throw std::bad_alloc. Both come from
 * libstdc++, looked up only now (a C program never gets here). */
__attribute__((noinline, cold)) static void *new_failed(size_t n, size_t align) {
	typedef void (*handler_fn)(void);
	handler_fn (*get_handler)(void) = (handler_fn (*)(void))dlsym(RTLD_DEFAULT, "_ZSt15get_new_handlerv");
	void (*throw_bad_alloc)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv");
	for (;;) {
		handler_fn h = get_handler ? get_handler() : NULL;
		if (h == NULL)
			break;
		h();
		void *p = align ? mem_memalign(align, n) : mem_malloc(n);
		if (p)
			return p;
	}
	if (throw_bad_alloc)
		throw_bad_alloc();
	abort();
}

/* The check build records where a block was allocated: here, the caller of
 * the operator (always_inline: the return address is the operator's own). */
#ifdef SKYNET_MEM_CHECK
#define SITE ((uintptr_t)__builtin_return_address(0))
#define NEW_PLAIN(n) mem_alloc_at(n, 0, 0, SITE)
#define NEW_ALIGNED(n, align) (mem_is_pow2(align) ? mem_alloc_at(n, align, 0, SITE) : NULL)
#else
#define NEW_PLAIN(n) mem_malloc(n)
#define NEW_ALIGNED(n, align) mem_memalign(align, n)
#endif

__attribute__((always_inline)) static inline void *new_plain(size_t n) {
	void *p = NEW_PLAIN(n);
	return __builtin_expect(p != NULL, 1) ? p : new_failed(n, 0);
}

__attribute__((always_inline)) static inline void *new_aligned(size_t n, size_t align) {
	void *p = NEW_ALIGNED(n, align);
	return __builtin_expect(p != NULL, 1) ? p : new_failed(n, align);
}

EXPORT void *_Znwm(size_t n) { return new_plain(n); }
EXPORT void *_Znam(size_t n) { return new_plain(n); }
EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const struct nothrow *t) { (void)t; return NEW_PLAIN(n); }
EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const struct nothrow *t) { (void)t; return NEW_PLAIN(n); }
EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t align) { return new_aligned(n, align); }
EXPORT void *_ZnamSt11align_val_t(size_t n, size_t align) { return new_aligned(n, align); }
EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t align, const struct nothrow *t) {
	(void)t;
	return NEW_ALIGNED(n, align);
}
EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t align, const struct nothrow *t) {
	(void)t;
	return NEW_ALIGNED(n, align);
}

EXPORT void _ZdlPv(void *p) { mem_free(p); }
EXPORT void _ZdaPv(void *p) { mem_free(p); }
EXPORT void _ZdlPvm(void *p, size_t n) { (void)n; mem_free(p); }
EXPORT void _ZdaPvm(void *p, size_t n) { (void)n; mem_free(p); }
EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const struct nothrow *t) { (void)t; mem_free(p); }
EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const struct nothrow *t) { (void)t; mem_free(p); }
EXPORT void _ZdlPvSt11align_val_t(void *p, size_t a) { (void)a; mem_free(p); }
EXPORT void _ZdaPvSt11align_val_t(void *p, size_t a) { (void)a; mem_free(p); }
EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t a) { (void)n, (void)a; mem_free(p); }
EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t a) { (void)n, (void)a; mem_free(p); }
EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const struct nothrow *t) {
	(void)a, (void)t;
	mem_free(p);
}
EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const struct nothrow *t) {
	(void)a, (void)t;
	mem_free(p);
}
