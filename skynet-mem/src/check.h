#ifndef SKYNET_MEM_CHECK_H
#define SKYNET_MEM_CHECK_H

/* MEMORY_CHECK: dogtag verification at free. Compiled away in release builds. */

#include <stddef.h>

#include "cookie.h"

#ifdef SKYNET_MEM_CHECK
void check_on_alloc(struct cookie *c);
/* 0: the block is sound; -1: reported, the caller must leave the block alone. */
int check_verify(void *p, size_t usable, const struct cookie *c, const char *op);
/* check_verify, then marks the block freed. */
int check_on_free(void *p, size_t usable, struct cookie *c, const char *op);
#else
static inline void check_on_alloc(struct cookie *c) {
	(void)c;
}
static inline int check_verify(void *p, size_t usable, const struct cookie *c, const char *op) {
	(void)p, (void)usable, (void)c, (void)op;
	return 0;
}
static inline int check_on_free(void *p, size_t usable, struct cookie *c, const char *op) {
	(void)p, (void)usable, (void)c, (void)op;
	return 0;
}
#endif

#endif
