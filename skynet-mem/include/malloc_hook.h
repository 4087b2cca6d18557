#ifndef SKYNET_MALLOC_HOOK_H
#define SKYNET_MALLOC_HOOK_H

/* Drop-in for skynet's malloc_hook.h: process-wide figures and jemalloc controls. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "skynet_mem_api.h"

#ifdef __cplusplus
extern "C" {
#endif

SKYNET_MEM_API size_t malloc_used_memory(void);      /* C bytes charged to all services (not the Lua heap, as skynet) */
SKYNET_MEM_API size_t malloc_memory_block(void);     /* live C blocks */
SKYNET_MEM_API size_t malloc_current_memory(void);   /* C bytes of the current service */
SKYNET_MEM_API void memory_info_dump(const char *opts); /* jemalloc's stats to stderr */
SKYNET_MEM_API bool mallctl_bool(const char *name, bool *newval);
SKYNET_MEM_API int mallctl_cmd(const char *name);
SKYNET_MEM_API size_t mallctl_int64(const char *name, size_t *newval);
SKYNET_MEM_API int mallctl_opt(const char *name, int *newval);
SKYNET_MEM_API void dump_c_mem(void);                /* per-service C bytes to skynet's logger (stderr without one) */
SKYNET_MEM_API void skynet_debug_memory(const char *info);

#ifdef __cplusplus
}
#endif

#endif
