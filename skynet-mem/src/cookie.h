#ifndef SKYNET_MEM_COOKIE_H
#define SKYNET_MEM_COOKIE_H

/* The trailing cookie: the last bytes of a block's usable size name its owner.
 * Addresses are formed through uintptr_t so that _FORTIFY_SOURCE's object-size
 * tracking (which only knows the requested size on the system allocator) does
 * not apply to the layer's own bookkeeping. */

#include <stdint.h>
#include <string.h>

struct cookie {
	uint32_t handle;
};

#define COOKIE_SIZE sizeof(struct cookie)

static inline void *cookie_addr(const void *p, size_t usable) {
	return (void *)((uintptr_t)p + usable - COOKIE_SIZE);
}

static inline void cookie_read(const void *p, size_t usable, struct cookie *c) {
	memcpy(c, cookie_addr(p, usable), COOKIE_SIZE);
}

static inline void cookie_write(void *p, size_t usable, const struct cookie *c) {
	memcpy(cookie_addr(p, usable), c, COOKIE_SIZE);
}

#endif
