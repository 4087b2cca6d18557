#ifndef SKYNET_HOST_HEAP_H
#define SKYNET_HOST_HEAP_H

/* The sampled heap profile in the host's views (heap.c, docs/profile.md):
 * the console's heap command and HTTP's /debug/heap. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The profile of handle (flags as skynet_mem_profile_write's) as text,
 * malloc'ed and NUL-terminated; NULL with errno on failure. */
char *host_heap_text(uint32_t handle, int flags, size_t *len);
/* heap ADDRESS|all [PATH]: the samples, the estimate and the top sites; with
 * a path, the heap profile written there too. 0, or -1 (said on f). */
int host_heap_command(FILE *f, const char *addr, const char *path);

#endif
