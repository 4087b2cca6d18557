#ifndef BENCH_SLOT_TABLE_H
#define BENCH_SLOT_TABLE_H

/* A baseline written from the description of skynet's malloc hook: a trailing
 * handle cookie, global atomic used/blocks counters, and a 65,536-slot table
 * indexed by handle & 0xffff, claimed by CAS, with atomic adds per operation.
 * Colliding handles share a slot, which is the inexactness skynet-mem removes. */

#include <stddef.h>
#include <stdint.h>

void *slot_malloc(size_t n);
void slot_free(void *p);
void slot_set_current(uint32_t handle);

#endif
