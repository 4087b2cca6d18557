/* The library's log lines (dump_c_mem, the Lua module's messages) go through
 * the function its host registers: skynet's glue gives skynet_error, this
 * project's host its logger service. The library knows no host's names. */

#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "skynet_mem.h"

/* fn and ud change together; a line copies both under the lock and calls fn
 * outside it, so fn may log, allocate or register another function. */
static struct {
	struct spin_lock lock;
	void (*fn)(void *ud, const char *line);
	void *ud;
} L = { SPIN_LOCK_INIT, NULL, NULL };

void skynet_mem_set_log(void (*fn)(void *ud, const char *line), void *ud) {
	spin_lock(&L.lock);
	L.fn = fn;
	L.ud = fn ? ud : NULL;
	spin_unlock(&L.lock);
}

void skynet_mem_log(const char *fmt, ...) {
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	spin_lock(&L.lock);
	void (*fn)(void *, const char *) = L.fn;
	void *ud = L.ud;
	spin_unlock(&L.lock);
	if (fn)
		fn(ud, line);
	else
		fprintf(stderr, "%s\n", line);
}

struct lock_group log_locks(void) {
	return (struct lock_group){ &L.lock, 1, sizeof(L.lock) };
}
