#ifndef SKYNET_HOST_LIMIT_HITS_H
#define SKYNET_HOST_LIMIT_HITS_H

/* Allocations a service's limit refused (limit_hits.c), recorded by snlua
 * and the C side of its services, shown by the views; a burst from one
 * service within a second is one hit with a count. */

#include <stdint.h>
#include <stdio.h>

#include "kernel.h"

#define LIMIT_HITS_KEPT 32

struct host_limit_hit {
	uint32_t handle;
	char name[HOST_NAME_MAX_LEN];
	const char *kind;      /* "C" or "Lua" */
	size_t request, used, limit;
	uint64_t first_ms, last_ms;
	uint64_t count;
};

/* Called where an allocation of request bytes charged to handle failed;
 * counted only when the service has a limit (else the allocator failed). */
void host_limit_refused(uint32_t handle, const char *kind, size_t request);
/* The last hits, oldest first; returns how many were copied. *total: every
 * refused allocation so far. */
size_t host_limit_hits(struct host_limit_hit *out, size_t max, uint64_t *total);
/* Writes the skynet_mem_limit_refusals_total counter (Prometheus text). */
void host_limit_refusals_metric(FILE *f);

#endif
