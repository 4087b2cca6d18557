/* MEMORY_CHECK reports: find a corrupted or already freed block at free and name
 * the services involved, then abort (default) or report and continue. */

#ifdef SKYNET_MEM_CHECK

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "skynet_mem.h"

static atomic_int abort_on_error = -1;   /* -1: not yet read from the environment */
static atomic_uint_fast64_t errors;

void skynet_mem_check_abort(int on) {
	atomic_store(&abort_on_error, on ? 1 : 0);
}

uint64_t skynet_mem_check_errors(void) {
	return atomic_load(&errors);
}

static int should_abort(void) {
	int v = atomic_load(&abort_on_error);
	if (v < 0) {
		const char *e = getenv("SKYNET_MEM_CHECK_CONTINUE");
		v = (e && e[0] == '1') ? 0 : 1;
		atomic_store(&abort_on_error, v);
	}
	return v;
}

static void report(const char *what, const char *op, const void *p, size_t usable, const struct cookie *c) {
	atomic_fetch_add(&errors, 1);
	fprintf(stderr,
		"skynet-mem: MEMORY_CHECK: %s\n"
		"  %s of block %p (usable %zu bytes)\n"
		"  owner service :%08x, freeing service :%08x\n",
		what, op, p, usable, c->handle, skynet_current_handle());
	if (should_abort())
		abort();
}

void check_on_alloc(struct cookie *c) {
	c->dogtag = DOGTAG_ALLOC;
}

int check_verify(void *p, size_t usable, const struct cookie *c, const char *op) {
	if (c->dogtag == DOGTAG_ALLOC)
		return 0;
	report(c->dogtag == DOGTAG_FREE ? "double free" : "cookie overwritten (heap overflow past the block)",
		op, p, usable, c);
	return -1;
}

int check_on_free(void *p, size_t usable, struct cookie *c, const char *op) {
	if (check_verify(p, usable, c, op) != 0)
		return -1;
	c->dogtag = DOGTAG_FREE;
	cookie_write(p, usable, c);
	return 0;
}

#else

#include "skynet_mem.h"

void skynet_mem_check_abort(int on) {
	(void)on;
}

uint64_t skynet_mem_check_errors(void) {
	return 0;
}

#endif
