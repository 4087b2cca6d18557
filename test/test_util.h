#ifndef SKYNET_MEM_TEST_UTIL_H
#define SKYNET_MEM_TEST_UTIL_H

/* Shared by the C tests: cmocka, and the expected charge of a block. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "skynet_mem.h"

#ifdef SKYNET_MEM_USE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/* A service's record, which must exist. */
static inline struct skynet_mem_stat stat_of(uint32_t handle) {
	struct skynet_mem_stat st;
	assert_int_equal(skynet_mem_stat(handle, &st), 0);
	return st;
}

/* Bytes of a small block's charge that hold its owner: the trailing cookie,
 * or the header of -DSKYNET_MEM_LAYOUT=header (naturally aligned blocks). */
#ifdef SKYNET_MEM_CHECK
#define TEST_COOKIE_SIZE 8
#elif defined(SKYNET_MEM_LAYOUT_HEADER)
#define TEST_COOKIE_SIZE 16
#else
#define TEST_COOKIE_SIZE 4
#endif

/* The release build over jemalloc keeps a large block's owner outside it:
 * from this usable size on, a block has no cookie (nor header). */
#if defined(SKYNET_MEM_USE_JEMALLOC) && !defined(SKYNET_MEM_CHECK)
#define TEST_LARGE_MIN ((size_t)16 * 1024)
#else
#define TEST_LARGE_MIN SIZE_MAX
#endif

/* Bytes of a block's charge u that are not the caller's. */
static inline size_t test_overhead(size_t u) {
	return u >= TEST_LARGE_MIN ? 0 : TEST_COOKIE_SIZE;
}

#endif
