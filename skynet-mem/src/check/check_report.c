/* MEMORY_CHECK reports: one block of text on stderr naming what was found, the
 * block, its owner and the freeing service, the allocation site and a backtrace;
 * then abort (default) or continue. Written with snprintf + write(2), without
 * holding any lock of the layer, since printing a backtrace may allocate. */

#include <execinfo.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_registry.h"
#include "check_report.h"
#include "check_site.h"
#include "current.h"
#include "options.h"
#include "skynet_mem.h"

static atomic_int abort_on_error = -1;   /* -1: as SKYNET_MEM_CHECK_CONTINUE says */
static atomic_uint_fast64_t counts[CHECK_KINDS];
static struct spin_lock report_lock = SPIN_LOCK_INIT;
static __thread int reporting;

static const char *const kind_names[CHECK_KINDS] = {
	[CHECK_DOUBLE_FREE] = "double free",
	[CHECK_OVERFLOW] = "overflow",
	[CHECK_UNDERFLOW] = "underflow",
	[CHECK_INVALID_FREE] = "invalid free",
	[CHECK_WRITE_AFTER_FREE] = "write after free",
};

void skynet_mem_check_abort(int on) {
	atomic_store(&abort_on_error, on ? 1 : 0);
}

uint64_t skynet_mem_check_errors(void) {
	uint64_t sum = 0;
	for (int k = 0; k < CHECK_KINDS; k++)
		sum += atomic_load(&counts[k]);
	return sum;
}

uint64_t skynet_mem_check_count(int kind) {
	return kind >= 0 && kind < CHECK_KINDS ? atomic_load(&counts[kind]) : 0;
}

static int should_abort(void) {
	int v = atomic_load(&abort_on_error);
	return v < 0 ? !option_get(OPTION_CHECK_CONTINUE) : v;
}

struct out {
	char buf[1024];
	size_t len;
};

static void put(struct out *o, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < sizeof(o->buf) - o->len ? (size_t)n : sizeof(o->buf) - o->len - 1;
}

static void flush(struct out *o) {
	for (size_t done = 0; done < o->len;) {
		ssize_t w = write(STDERR_FILENO, o->buf + done, o->len - done);
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	o->len = 0;
}

static void what_line(struct out *o, const struct check_report *r) {
	put(o, "skynet-mem: MEMORY_CHECK: %s", kind_names[r->kind]);
	switch (r->kind) {
	case CHECK_OVERFLOW:   /* the whole red zone changed: the overflow may go further */
		put(o, " by %s%zu bytes at offset %td", r->span >= block_redzone() ? "at least " : "",
			r->span, r->offset);
		break;
	case CHECK_UNDERFLOW:
		put(o, " by %zu bytes before the block (nearest at offset %td)", r->span, r->offset);
		break;
	case CHECK_WRITE_AFTER_FREE:
		put(o, " at offset %td (%zu bytes)", r->offset, r->span);
		break;
	default:
		break;
	}
	put(o, "\n");
}

static void print_site(struct out *o, uintptr_t site) {
	flush(o);
	site_print(site);
}


/* One report at a time, so blocks from several threads do not interleave. */
/* No cancellation inside: the writes are cancellation points, and a
 * thread cancelled there would keep report_lock for ever. */
static __thread int report_cancel TLS_IE;

static void report_begin(void) {
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &report_cancel);
	reporting = 1;
	spin_lock(&report_lock);
}

static void report_end(void) {
	spin_unlock(&report_lock);
	reporting = 0;
	pthread_setcancelstate(report_cancel, NULL);
}

void check_report(const struct check_report *r) {
	atomic_fetch_add(&counts[r->kind], 1);
	if (reporting)
		return;   /* a report from inside a report (backtrace allocating): counted only */
	uint32_t me = current_handle();
	report_begin();
	struct out o = { .len = 0 };
	what_line(&o, r);
	const struct check_meta *m = r->m;
	if (m) {
		put(&o, "  %s of block %p (requested %zu bytes, usable %zu bytes)\n", r->op, r->ptr, m->n, m->usable);
		if (r->kind == CHECK_DOUBLE_FREE)
			put(&o, "  owner service :%08x, freed by service :%08x, freeing service :%08x\n",
				m->owner, m->freer, me);
		else if (r->kind == CHECK_WRITE_AFTER_FREE)
			put(&o, "  owner service :%08x, freed by service :%08x (found while service :%08x ran)\n",
				m->owner, m->freer, me);
		else if (r->walk)
			put(&o, "  owner service :%08x (found while service :%08x ran)\n", m->owner, me);
		else
			put(&o, "  owner service :%08x, freeing service :%08x\n", m->owner, me);
		print_site(&o, m->site);
	} else if (r->reused) {
		put(&o, "  %s of %p: a block freed before (requested %zu bytes), its memory since handed out again\n",
			r->op, r->ptr, r->reused->n);
		put(&o, "  owner service :%08x, freed by service :%08x, freeing service :%08x\n",
			r->reused->owner, r->reused->freer, me);
	} else {
		put(&o, "  %s of %p: not a block of skynet-mem (stack, inside a block, or another allocator)\n",
			r->op, r->ptr);
		put(&o, "  owner service none, freeing service :%08x\n", me);
	}
	put(&o, "  backtrace:\n");
	flush(&o);
	void *frames[32];
	int n = backtrace(frames, 32);
	for (int i = 0; i < n; i++)   /* file:line when the module has line tables (libdw) */
		site_print_frame(i, (uintptr_t)frames[i]);
	int stop = should_abort();
	if (!stop) {
		put(&o, "skynet-mem: MEMORY_CHECK: continuing (the block is left alone)\n");
		flush(&o);
	}
	report_end();
	if (stop)
		abort();
}

void block_report(const void *p, const struct check_meta *m, const char *op, const struct block_fault *f, int n) {
	for (int i = 0; i < n; i++) {
		struct check_report r = { f[i].kind, op, p, m, f[i].offset, f[i].span, NULL, 0 };
		check_report(&r);
	}
}

int block_verify_poison(const void *p, const struct check_meta *m) {
	struct block_fault f;
	if (!block_poison_fault(p, m, &f))
		return 0;
	block_report(p, m, "quarantine exit", &f, 1);
	return -1;
}


void check_leak_report(uint32_t handle, size_t blocks, void *const *p, const struct check_meta *m, size_t shown) {
	if (blocks == 0 || !option_get(OPTION_CHECK_LEAKS) || reporting)
		return;
	struct out o = { .len = 0 };
	report_begin();
	put(&o, "skynet-mem: MEMORY_CHECK: service :%08x exits owning %zu blocks\n", handle, blocks);
	for (size_t i = 0; i < shown && i < blocks; i++) {
		put(&o, "  block %p (requested %zu bytes, usable %zu bytes)\n", p[i], m[i].n, m[i].usable);
		print_site(&o, m[i].site);
	}
	if (blocks > shown)
		put(&o, "  ... %zu more\n", blocks - shown);
	flush(&o);
	report_end();
}

void check_count_only(enum check_kind kind, size_t n) {
	atomic_fetch_add(&counts[kind], n);
}

struct lock_group report_locks(void) {
	return (struct lock_group){ &report_lock, 1, sizeof(report_lock) };
}

/* backtrace() loads its unwinder on first use, which allocates: do it before
 * the first report, not inside one. */
__attribute__((constructor)) static void check_init(void) {
	void *frame[1];
	backtrace(frame, 1);
}
