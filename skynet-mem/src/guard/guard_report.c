/* Guarded blocks' stacks and reports (guard_pool.h). A report may run in a
 * SIGSEGV handler, at any point of the program: it formats with its own
 * code, writes each line with one write(2), and names code by the module
 * and offset that /proc/self/maps gives (addr2line -e MODULE OFFSET reads
 * them), so it takes no lock and allocates nothing. */

#include <execinfo.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "guard_report.h"
#include "profile.h"

/* --- stacks --- */

static __thread int in_stack TLS_IE;   /* backtrace may allocate on its first use */

/* The profile's walk (profile_stack.c): libgcc's unwinder the first time a
 * return address is seen, then a cache of each one's frame size, some 30
 * instructions a frame instead of some 2,000; the layer's frames dropped. */
int guard_stack(uintptr_t *pcs, int max) {
	if (in_stack)
		return 0;
	in_stack = 1;
	int n = (int)profile_stack(pcs, (uint32_t)max);
	in_stack = 0;
	return n;
}

void guard_stack_ready(void) {
	void *raw[2];
	if (in_stack)
		return;
	in_stack = 1;
	backtrace(raw, 2);   /* dlopens libgcc_s (allocates) now, not in a handler */
	profile_stack((uintptr_t *)raw, 1);
	in_stack = 0;
}

/* --- signal-safe formatting --- */

struct line {
	char buf[512];
	size_t len;
};

static void put(struct line *l, const char *s) {
	while (*s && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

static void put_num(struct line *l, uint64_t v, unsigned base, int width) {
	char d[24];
	int k = 0;
	do {
		d[k++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (k < width)
		d[k++] = '0';
	while (k > 0 && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = d[--k];
}

static void put_hex(struct line *l, uint64_t v) {
	put(l, "0x");
	put_num(l, v, 16, 0);
}

static void emit(struct line *l) {
	l->buf[l->len++] = '\n';
	if (write(STDERR_FILENO, l->buf, l->len) < 0)
		l->len = 0;
	l->len = 0;
	put(l, "skynet-mem: guard: ");
}

static void put_handle(struct line *l, uint32_t h) {
	put(l, ":");
	put_num(l, h, 16, 8);
}

/* --- code addresses as module+offset, from /proc/self/maps --- */

static uintptr_t parse_hex(const char **s) {
	uintptr_t v = 0;
	for (;; (*s)++) {
		char c = **s;
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16;
		if (d == 16)
			return v;
		v = v * 16 + d;
	}
}

/* For one maps line: if it holds pc, its path and pc's offset in the file. */
static int maps_line(const char *s, uintptr_t pc, const char **path, uintptr_t *off) {
	uintptr_t lo = parse_hex(&s);
	if (*s++ != '-')
		return 0;
	uintptr_t hi = parse_hex(&s);
	if (pc < lo || pc >= hi)
		return 0;
	while (*s == ' ')
		s++;
	while (*s && *s != ' ')
		s++;   /* permissions */
	while (*s == ' ')
		s++;
	uintptr_t foff = parse_hex(&s);
	for (int field = 0; field < 2; field++) {   /* device, inode */
		while (*s == ' ')
			s++;
		while (*s && *s != ' ')
			s++;
	}
	while (*s == ' ')
		s++;
	*path = *s ? s : "?";
	*off = pc - lo + foff;
	return 1;
}

static void print_frame(struct line *l, int k, uintptr_t pc) {
	put(l, "  #");
	put_num(l, (uint64_t)k, 10, 0);
	put(l, " ");
	put_hex(l, pc);
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	char buf[4096];
	size_t have = 0;
	int found = 0;
	while (fd >= 0 && !found) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = 0;
		char *start = buf, *nl;
		while ((nl = strchr(start, '\n')) != NULL) {
			*nl = 0;
			const char *path;
			uintptr_t off;
			if (maps_line(start, pc, &path, &off)) {
				put(l, " ");
				put(l, path);
				put(l, "+");
				put_hex(l, off);
				found = 1;
				break;
			}
			start = nl + 1;
		}
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
	}
	if (fd >= 0)
		close(fd);
	emit(l);
}

static void print_stack(struct line *l, const uintptr_t *pcs, int n) {
	for (int k = 0; k < n; k++)
		print_frame(l, k, pcs[k]);
	if (n == 0) {
		put(l, "  (no frames)");
		emit(l);
	}
}

/* --- reports --- */

static const char *const kind_names[] = {
	[GUARD_OVERFLOW] = "overflow",
	[GUARD_UNDERFLOW] = "underflow",
	[GUARD_USE_AFTER_FREE_READ] = "use after free (read)",
	[GUARD_USE_AFTER_FREE_WRITE] = "use after free (write)",
	[GUARD_USE_AFTER_FREE] = "use after free",
	[GUARD_DOUBLE_FREE] = "double free",
	[GUARD_INVALID_FREE] = "invalid free",
	[GUARD_WILD] = "access to an unused guarded slot",
};

void guard_report(enum guard_kind kind, const struct guard_slot *s, uintptr_t a, const char *how) {
	struct line l = { .len = 0 };
	put(&l, "skynet-mem: guard: ");
	put(&l, kind_names[kind]);
	put(&l, " at ");
	put_hex(&l, a);
	if (how) {
		put(&l, " (");
		put(&l, how);
		put(&l, ")");
	}
	emit(&l);
	if (s == NULL || s->p == 0)
		return;
	put(&l, "block ");
	put_hex(&l, s->p);
	put(&l, " of ");
	put_num(&l, s->n, 10, 0);
	put(&l, " bytes, offset ");
	if (a < s->p) {
		put(&l, "-");
		put_num(&l, s->p - a, 10, 0);
	} else {
		put_num(&l, a - s->p, 10, 0);
	}
	put(&l, ", owner ");
	put_handle(&l, s->owner);
	if (s->name[0]) {
		put(&l, " \"");
		put(&l, s->name);
		put(&l, "\"");
	}
	put(&l, s->state == SLOT_FREED ? " (freed by " : " (live)");
	if (s->state == SLOT_FREED) {
		put_handle(&l, s->freer);
		put(&l, ")");
	}
	emit(&l);
	put(&l, "allocated at:");
	emit(&l);
	print_stack(&l, s->alloc_pc, s->nalloc);
	if (s->state == SLOT_FREED) {
		put(&l, "freed at:");
		emit(&l);
		print_stack(&l, s->free_pc, s->nfree);
	}
}

void guard_report_here(void) {
	struct line l = { .len = 0 };
	put(&l, "skynet-mem: guard: faulting instruction's stack:");
	emit(&l);
	void *raw[GUARD_FRAMES + 2];
	int n = in_stack ? 0 : backtrace(raw, GUARD_FRAMES + 2);   /* loaded already: no allocation */
	if (n > 2)   /* this function's and the handler's frames; the unwinder goes on at the faulting pc */
		print_stack(&l, (const uintptr_t *)raw + 2, n - 2);
}
