#ifndef SKYNET_MEM_OPTIONS_H
#define SKYNET_MEM_OPTIONS_H

/* Every environment variable the layer reads, in one table (options.c): name,
 * type, default and meaning. Each is read once, on first use (not at load: a
 * program may set one before its first use of it), and kept.
 * SKYNET_MEM_OPTIONS=help prints the table to stderr when the library loads. */

#include <stdatomic.h>
#include <stddef.h>

#include "internal.h"

enum option_id {
	OPTION_OPTIONS,          /* SKYNET_MEM_OPTIONS */
	OPTION_REPORT,           /* SKYNET_MEM_REPORT */
	OPTION_CHECK_CONTINUE,   /* SKYNET_MEM_CHECK_CONTINUE */
	OPTION_CHECK_LEAKS,      /* SKYNET_MEM_CHECK_LEAKS */
	OPTION_QUARANTINE,       /* SKYNET_MEM_QUARANTINE */
	OPTION_POISON,           /* SKYNET_MEM_POISON */
	OPTION_REDZONE,          /* SKYNET_MEM_REDZONE */
	OPTION_CHECK_EXIT,       /* SKYNET_MEM_CHECK_EXIT */
	OPTION_NO_REEXEC,        /* SKYNET_MEM_NO_REEXEC (read by the Lua loader) */
	OPTION_REEXEC,           /* SKYNET_MEM_REEXEC (set and read by the Lua loader) */
	OPTION_PROFILE_SAMPLE,   /* SKYNET_MEM_PROFILE_SAMPLE */
	OPTION_GUARD,            /* SKYNET_MEM_GUARD */
	OPTION_GUARD_SLOTS,      /* SKYNET_MEM_GUARD_SLOTS */
	OPTION_GUARD_UNDERFLOW,  /* SKYNET_MEM_GUARD_UNDERFLOW */
	OPTION_LEDGER_SLOTS,     /* SKYNET_MEM_LEDGER_SLOTS */
	OPTIONS
};

/* A value read from the environment: read is set (release) once value holds it.
 * Atomic: two threads may both parse it on first use (and store the same value). */
struct option_value {
	atomic_int read;
	atomic_size_t value;
};

extern struct option_value option_values[OPTIONS] HIDDEN;

HIDDEN size_t option_read(enum option_id id);
/* The variable's text as it is now (NULL when unset). */
HIDDEN const char *option_text(enum option_id id);

/* SKYNET_MEM_REPORT's values. */
enum { REPORT_OFF, REPORT_STDERR, REPORT_FILE };

/* The option's value: a flag is 0 or 1, a size is in bytes, POISON's "full" is
 * SIZE_MAX. One load once read (the check build's free path asks for POISON). */
static inline size_t option_get(enum option_id id) {
	struct option_value *v = &option_values[id];
	if (__builtin_expect(atomic_load_explicit(&v->read, memory_order_acquire), 1))
		return atomic_load_explicit(&v->value, memory_order_relaxed);
	return option_read(id);
}

#endif
