#ifndef SKYNET_MEM_CURRENT_H
#define SKYNET_MEM_CURRENT_H

/* The current service: the owner of the blocks a thread allocates. Either the
 * library's own per-thread value (skynet_mem_set_current), or the host's
 * skynet_current_handle when the host defines one. */

#include <stdint.h>

#include "internal.h"

/* The thread's service as set by skynet_mem_set_current. */
extern __thread uint32_t current_tls TLS_IE HIDDEN;
/* 1 while skynet_current_handle is the library's own default (not the host's). */
extern int current_is_default HIDDEN;

/* Called after each skynet_mem_set_current with the new handle, when set
 * (guard.c sets it once guarding is on). */
extern void (*current_switch_hook)(uint32_t handle) HIDDEN;

/* The host's skynet_current_handle; publishes the thread's pending counters
 * when its answer changes (a dispatch boundary). */
HIDDEN uint32_t current_handle_host(void);

/* The owner of new blocks, without a PLT call when the host kept the default. */
static inline uint32_t current_handle(void) {
	if (__builtin_expect(current_is_default, 1))
		return current_tls;
	return current_handle_host();
}

#endif
