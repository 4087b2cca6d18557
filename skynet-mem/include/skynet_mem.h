#ifndef SKYNET_MEM_H
#define SKYNET_MEM_H

/* skynet-mem layer API: exact per-service memory accounting. */

#include <stddef.h>
#include <stdint.h>

#include "skynet_mem_api.h"

#ifdef __cplusplus
extern "C" {
#endif

struct skynet_mem_stat {
	uint32_t handle;
	size_t bytes;      /* live C bytes charged (usable sizes) */
	size_t blocks;     /* live C blocks */
	size_t lua_bytes;  /* live Lua heap bytes of this service */
	size_t peak;       /* high-water mark of bytes + lua_bytes */
	size_t limit;      /* 0 when none; covers bytes + lua_bytes */
	uint64_t allocs, frees; /* C and Lua blocks; a resize counts as one of each */
	int retired;       /* 1 once skynet_mem_service_exit was called */
	/* What waits in the service's mailbox, from the host's queue reader
	 * (skynet_mem_set_queue_reader); 0 without one. The payloads are also in
	 * bytes/blocks: a delivered message is its receiver's. */
	size_t queued;      /* payload bytes of the messages waiting */
	size_t queued_msgs; /* messages waiting */
	/* Times the service's C + Lua bytes went past its limit from under it
	 * (the allocation refused, or admitted under SKYNET_MEM_LIMIT_SOFT_C);
	 * a crossing re-arms once an allocation leaves usage at most 7/8 of it. */
	uint64_t limit_hits;
	/* The owner's name (skynet_mem_set_name), "" when none: valid UTF-8 when
	 * the name given was, NUL-terminated, at most SKYNET_MEM_NAME_MAX - 1 bytes. */
	char name[64];
};

/* Size of skynet_mem_stat's name, the terminating NUL included. */
#define SKYNET_MEM_NAME_MAX 64

/* Global totals, summed over every record (live and retired). */
struct skynet_mem_totals {
	size_t bytes, blocks, lua_bytes;
	size_t services;        /* records in the table, retired ones included */
	uint64_t allocs, frees;
};

/* Sets the calling thread's current service and publishes the counters of the
 * service it leaves; 0 (idle) publishes all of the thread's pending counters.
 * Other services' changes made meanwhile stay pending within a bound of
 * 1 MiB per thread (see docs/performance.md). */
SKYNET_MEM_API void     skynet_mem_set_current(uint32_t handle);
/* The thread's value set above (0 when never set), whoever defines
 * skynet_current_handle: a host saves it to charge a stretch of work to
 * another owner, then puts it back. */
SKYNET_MEM_API uint32_t skynet_mem_get_current(void);
/* Owner of new blocks; weak default returns the thread's value set above. */
SKYNET_MEM_API uint32_t skynet_current_handle(void);
/* For a host that defines skynet_current_handle but also calls
 * skynet_mem_set_current on every thread at every switch (skynet's glue): the
 * layer then reads the thread's value instead of calling the host's. Call it
 * before any thread other than the caller allocates. */
SKYNET_MEM_API void     skynet_mem_use_set_current(void);
/* Publishes the calling thread's pending counter deltas now. */
SKYNET_MEM_API void     skynet_mem_flush(void);

SKYNET_MEM_API int      skynet_mem_stat(uint32_t handle, struct skynet_mem_stat *out); /* 0, or -1 unknown */
SKYNET_MEM_API size_t   skynet_mem_foreach(int (*fn)(const struct skynet_mem_stat *, void *), void *ud);
SKYNET_MEM_API void     skynet_mem_totals(struct skynet_mem_totals *out);
/* Bytes and blocks still held by retired (exited) services; scans the table. */
SKYNET_MEM_API void     skynet_mem_orphans(size_t *bytes, size_t *blocks);
/* Limit on a live service's C + Lua bytes; 0 removes it. Returns 0, or -1 with
 * errno EINVAL for handle 0 (the host's own threads), ESRCH for a handle with
 * no live record (never seen, or exited). */
SKYNET_MEM_API int      skynet_mem_set_limit(uint32_t handle, size_t limit);
SKYNET_MEM_API size_t   skynet_mem_get_limit(uint32_t handle);
/* What an allocation taking a service's C + Lua bytes past its limit does.
 * HARD (the default), for hosts that handle NULL: it fails, C (ENOMEM) and
 * Lua alike. SOFT_C, for hosts whose C code assumes malloc never fails
 * (skynet's glue sets it): a C one succeeds; a Lua one fails only when the
 * service's Lua heap itself would pass the limit (lua_bytes + growth > limit,
 * skynet.memlimit's meaning), so C bytes past the limit never stop Lua from
 * handling the error. Lua raises "not enough memory" for a refusal. Either
 * way each crossing (C + Lua was under the limit, now is past it) counts in
 * limit_hits and queues an event for skynet_mem_limit_event. */
#define SKYNET_MEM_LIMIT_HARD 0
#define SKYNET_MEM_LIMIT_SOFT_C 1
SKYNET_MEM_API void     skynet_mem_set_limit_mode(int mode);
struct skynet_mem_limit_event {
	uint32_t handle;
	int lua;            /* 1: a Lua allocation, 0: a C one */
	int refused;        /* 0: admitted (SOFT_C) */
	size_t used, limit, request;
};
/* Takes the oldest crossing not yet taken (the last 64 are kept; *lost, when
 * not NULL, gets how many were overwritten since the last call). 1, or 0 when
 * none. Crossings happen inside allocations, where nothing can be logged: the
 * host takes them later (skynet's glue: at the end of each dispatch) and logs. */
SKYNET_MEM_API int      skynet_mem_limit_event(struct skynet_mem_limit_event *out, uint64_t *lost);
/* 1 when a crossing waits to be taken: one load, for a host's hot path. */
SKYNET_MEM_API int      skynet_mem_limit_pending(void);
/* A second reader of the same crossings, that takes nothing (a view's: the
 * host's own reader above logs them): copies at most max crossings queued
 * since *cursor (0 at first: the last 64 kept), oldest first, and moves
 * *cursor past them; *lost (may be NULL) gets how many were overwritten
 * before this reader saw them. Returns how many were copied. */
SKYNET_MEM_API size_t   skynet_mem_limit_events_since(uint64_t *cursor, struct skynet_mem_limit_event *out,
	size_t max, uint64_t *lost);
/* Allocations refused at a service's limit so far (each retry counts). */
SKYNET_MEM_API uint64_t skynet_mem_limit_refusals(void);

/* Names a handle's record (a service, a thread's row, a pseudo-owner):
 * copied, cut to at most SKYNET_MEM_NAME_MAX - 1 bytes at a UTF-8 character
 * boundary, control characters (below 0x20, 0x7f) written as '?'. NULL or ""
 * clears it. Creates the record if the handle has none. 0, or -1 (ENOMEM). */
SKYNET_MEM_API int      skynet_mem_set_name(uint32_t handle, const char *name);
/* The host's mailbox figures, asked by skynet_mem_stat and skynet_mem_foreach
 * for each record (outside the layer's locks; it must not allocate through
 * the layer's reads). fn fills the payload bytes and the number of messages
 * waiting for handle and returns 0, or -1 when the handle has no mailbox.
 * NULL removes it. */
typedef int (*skynet_mem_queue_reader)(uint32_t handle, size_t *bytes, size_t *msgs);
SKYNET_MEM_API void     skynet_mem_set_queue_reader(skynet_mem_queue_reader fn);
/* Reports what the service still owns and retires its record. */
SKYNET_MEM_API void     skynet_mem_service_exit(uint32_t handle, struct skynet_mem_stat *leftover);

/* Moves a block (message buffer) to another service's account. 0, or -1 for NULL. */
SKYNET_MEM_API int      skynet_mem_transfer(void *ptr, uint32_t to_handle);
/* The service a block is charged to. */
SKYNET_MEM_API uint32_t skynet_mem_owner(const void *ptr);
/* Bytes the caller may use in a block: its usable size less what names its
 * owner inside the allocation (a trailing cookie, a header, the check
 * build's guards), so at most skynet_mem_block_charge. */
SKYNET_MEM_API size_t   skynet_mem_usable_size(const void *ptr);
/* Bytes a live block is charged to its owner (its full usable size). */
SKYNET_MEM_API size_t   skynet_mem_block_charge(const void *ptr);
/* Bytes a request of n is charged (the size class that holds n and what names
 * its owner); 0 on overflow. Exact over jemalloc; over the system allocator the class is known only once allocated. */
SKYNET_MEM_API size_t   skynet_mem_charge_size(size_t n);

/* Lua allocator (a lua_Alloc): ud is the owning handle, (void *)(uintptr_t)handle.
 * No owner tag (ud names the owner); charges lua_bytes at size classes; growth past the service's limit
 * fails. Logs when the service's Lua heap passes 32 MiB and each doubling. */
SKYNET_MEM_API void    *skynet_mem_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* Moves bytes of Lua heap from one service's lua_bytes to another's: skynet
 * builds a new service's Lua state on its creator's thread, before the new
 * service has a handle (see integrations/skynet). */
SKYNET_MEM_API void     skynet_mem_lua_transfer(uint32_t from, uint32_t to, size_t bytes);

/* The layer's own Lua heap warning (to stderr at 32 MiB and each doubling)
 * on (the default) or off: skynet's snlua warns itself through its logger,
 * so skynet's glue turns this one off. */
SKYNET_MEM_API void     skynet_mem_lua_warnings(int on);

/* Where the library's log lines go (dump_c_mem, the skynet.memory module's
 * messages): fn(ud, line), one line without its newline. NULL (the default)
 * writes them to stderr. skynet's glue registers skynet_error, a host its
 * logger; fn may be called from any thread. */
SKYNET_MEM_API void     skynet_mem_set_log(void (*fn)(void *ud, const char *line), void *ud);
/* One line (printf format, cut at 255 bytes) through the registered function. */
SKYNET_MEM_API void     skynet_mem_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* strdup charged to the current service (skynet's skynet_strdup). */
SKYNET_MEM_API char    *skynet_mem_strdup(const char *str);

/* MEMORY_CHECK builds: 1 = abort on a heap error (default), 0 = report and continue.
 * SKYNET_MEM_CHECK_CONTINUE=1 in the environment selects 0. No-op in release builds. */
SKYNET_MEM_API void     skynet_mem_check_abort(int on);
/* Number of heap errors reported so far (0 in release builds). */
SKYNET_MEM_API uint64_t skynet_mem_check_errors(void);
/* Reports so far of one kind (0 in release builds). */
enum skynet_mem_check_kind {
	SKYNET_MEM_CHECK_DOUBLE_FREE,
	SKYNET_MEM_CHECK_OVERFLOW,
	SKYNET_MEM_CHECK_UNDERFLOW,
	SKYNET_MEM_CHECK_INVALID_FREE,      /* also realloc, transfer of a non-block */
	SKYNET_MEM_CHECK_WRITE_AFTER_FREE,
};
SKYNET_MEM_API uint64_t skynet_mem_check_count(int kind);
/* MEMORY_CHECK builds: bound in bytes of each thread's quarantine of freed blocks
 * (default 1 MiB per thread, or SKYNET_MEM_QUARANTINE=bytes[K|M|G]); 0 frees at
 * once. The calling thread's quarantine shrinks now (its oldest blocks verified
 * and released), other threads' at their next free. Returns the previous bound
 * (0 in release builds). */
SKYNET_MEM_API size_t   skynet_mem_check_quarantine(size_t bytes);
/* MEMORY_CHECK builds: verifies every live block's guard and red zone, and the
 * calling thread's quarantine, now; reports each damaged block as a free
 * would (then aborts, unless told to continue) and returns how many there
 * are. The same walk runs when a service exits, when a thread that allocated
 * exits and at process exit (SKYNET_MEM_CHECK_EXIT=0: not at thread and
 * process exit). 0 in release builds. */
SKYNET_MEM_API size_t   skynet_mem_check_all(void);

/* The sampled heap profile (release builds; docs/profile.md). A block is
 * sampled with probability 1 - exp(-charge / mean): on average one per mean
 * bytes allocated (SKYNET_MEM_PROFILE_SAMPLE, default 512 KiB; 0 off). A
 * sample keeps the block's owner, charge and call stack (32 frames from the
 * caller of the allocation function) until the block is freed; a transfer
 * moves it. Lua heaps (skynet_mem_lua_alloc) are not sampled. The MEMORY_CHECK
 * build samples nothing: it lists every block's site itself. */
SKYNET_MEM_API void     skynet_mem_profile_set_sample(size_t bytes);   /* every service without its own */
SKYNET_MEM_API size_t   skynet_mem_profile_get_sample(void);
/* A service's own mean (0: never sampled); bytes < 0 removes it. 0, or -1
 * with errno ENOSPC (64 services have their own already). */
SKYNET_MEM_API int      skynet_mem_profile_set_service_sample(uint32_t handle, long long bytes);
SKYNET_MEM_API long long skynet_mem_profile_get_service_sample(uint32_t handle);   /* -1: none */
#define SKYNET_MEM_PROFILE_ALL 1         /* every service; the owner is the outermost frame */
#define SKYNET_MEM_PROFILE_COLLAPSED 2   /* folded stacks for flame graphs, not the heap profile */
/* Writes the live sampled heap of handle (or of all services) to fd, scaled
 * to estimated bytes: the heap profile text of gperftools that jeprof and
 * google-pprof read (with /proc/self/maps), or folded stacks. 0, or -1 with errno. */
SKYNET_MEM_API int      skynet_mem_profile_write(int fd, uint32_t handle, int flags);
/* The heap profile of one service, or of all, to a file: 0, or -1 with errno. */
SKYNET_MEM_API int      skynet_mem_profile_dump(uint32_t handle, const char *path);
SKYNET_MEM_API int      skynet_mem_profile_dump_all(const char *path);
/* Live samples of handle (flags SKYNET_MEM_PROFILE_ALL: of all services);
 * *estimate (may be NULL) gets the bytes they stand for. */
SKYNET_MEM_API size_t   skynet_mem_profile_samples(uint32_t handle, int flags, size_t *estimate);
/* 1 when ptr is a sampled live block (then *owner, *size: its owner and
 * charge, each may be NULL), else 0. */
SKYNET_MEM_API int      skynet_mem_profile_block(const void *ptr, uint32_t *owner, size_t *size);
/* The top sites (the allocating function, by estimated bytes) of handle's
 * live samples as one line, "fn+0x1c ~40.0M, other+0x8 ~1.2M", at most top
 * (<= 0: all) of them, in buf (always terminated); returns how many sites there are. */
SKYNET_MEM_API size_t   skynet_mem_profile_sites(uint32_t handle, char *buf, size_t size, int top);

/* Guarded slots (release builds; docs/guard.md). From now on 1 in `every` of
 * the service's blocks up to 16 KiB is placed in a slot of a bounded pool:
 * it ends at a page edge before an inaccessible page (or starts after one:
 * skynet_mem_guard_underflow), and its pages become inaccessible when it is
 * freed, so an overflow, use after free or double free is reported (kind,
 * owner, size, offset, stacks) before the process dies. every = 1 guards all
 * of its blocks while slots last; 0 stops. A thread running the service
 * applies it from its next switch to it. 0, or -1 with errno ENOMEM (no pool),
 * ENOSPC (64 services guarded already), ENOTSUP (MEMORY_CHECK build).
 * SKYNET_MEM_GUARD=every guards every service from the start. */
SKYNET_MEM_API int      skynet_mem_guard(uint32_t handle, unsigned every);
/* The service's `every` (0: not guarded). */
SKYNET_MEM_API unsigned skynet_mem_guard_every(uint32_t handle);
/* 1: blocks placed from now on start at their slot (underflow faults at the
 * first byte before), 0: end at it (overflow faults; the default). Returns the
 * previous mode, or -1 when the pool cannot be made. */
SKYNET_MEM_API int      skynet_mem_guard_underflow(int on);
/* Live guarded blocks the service owns. */
SKYNET_MEM_API size_t   skynet_mem_guard_blocks(uint32_t handle);
struct skynet_mem_guard_info {
	size_t slots;        /* slots in the pool (0: no pool yet) */
	size_t live;         /* slots holding a live block */
	size_t freed;        /* slots of freed blocks, inaccessible, waiting for reuse */
	size_t slot_bytes;   /* address space per slot (its guard page and data) */
	size_t pool_bytes;   /* address space of the pool */
	uint64_t guarded;    /* blocks placed in slots so far */
	uint64_t missed;     /* blocks to be guarded that were allocated normally: no slot free */
	int underflow;       /* the placement now (skynet_mem_guard_underflow) */
};
SKYNET_MEM_API void     skynet_mem_guard_info(struct skynet_mem_guard_info *out);

/* 1 when built over jemalloc, 0 over the system allocator. */
SKYNET_MEM_API int      skynet_mem_has_jemalloc(void);
/* 1 in MEMORY_CHECK builds. */
SKYNET_MEM_API int      skynet_mem_has_check(void);

#ifdef __cplusplus
}
#endif

#endif
