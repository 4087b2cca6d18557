#ifndef SKYNET_MEM_GUARD_REPORT_H
#define SKYNET_MEM_GUARD_REPORT_H

/* Stacks of guarded blocks and the reports of their faults (guard_report.c).
 * Reports are async-signal-safe: own formatting, one write(2) per line. */

#include <stdint.h>

#include "guard_slot.h"
#include "internal.h"

enum guard_kind {
	GUARD_OVERFLOW, GUARD_UNDERFLOW, GUARD_USE_AFTER_FREE_READ, GUARD_USE_AFTER_FREE_WRITE,
	GUARD_USE_AFTER_FREE, GUARD_DOUBLE_FREE, GUARD_INVALID_FREE, GUARD_WILD,
};

/* The calling thread's stack, without the layer's own frames: at most max
 * frames; 0 while one is being taken. */
HIDDEN int guard_stack(uintptr_t *pcs, int max);
/* Loads the unwinders now (backtrace may allocate on its first use), so that
 * a report from a signal handler does not. */
HIDDEN void guard_stack_ready(void);
/* Reports a fault or a bad free of slot s (NULL: none) at address a. */
HIDDEN void guard_report(enum guard_kind kind, const struct guard_slot *s, uintptr_t a,
	const char *how);
/* The stack of the caller's caller (a signal handler's: the faulting code). */
HIDDEN void guard_report_here(void);

#endif
