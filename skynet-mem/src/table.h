#ifndef SKYNET_MEM_TABLE_H
#define SKYNET_MEM_TABLE_H

/* Read and lifecycle operations on the service table (record.c). */

#include "skynet_mem.h"

int table_stat(uint32_t handle, struct skynet_mem_stat *out);
size_t table_foreach(int (*fn)(const struct skynet_mem_stat *, void *), void *ud);
void table_totals(struct skynet_mem_totals *out);
void table_orphans(size_t *bytes, size_t *blocks);
int table_set_limit(uint32_t handle, size_t limit);
size_t table_get_limit(uint32_t handle);
void table_exit(uint32_t handle, struct skynet_mem_stat *leftover);

#endif
