/* Guarded blocks' stacks and reports (guard_pool.h). A report may run in a
 * SIGSEGV handler, at any point of the program: it formats with its own
 * code, writes each line with one write(2), and names code by the module
 * and offset that /proc/self/maps gives (addr2line -e MODULE OFFSET reads
 * them), so it takes no lock and allocates nothing. */

#define _GNU_SOURCE   /* dl_iterate_phdr, REG_ERR */
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "guard.h"
#include "guard_pool.h"

/* --- stacks --- */

static __thread int in_stack TLS_IE;   /* backtrace may allocate on its first use */
static uintptr_t self_lo, self_hi;     /* this library's code: frames left out */

static int find_self(struct dl_phdr_info *info, size_t size, void *ud) {
	(void)size, (void)ud;
	uintptr_t me = (uintptr_t)&find_self;
	for (int k = 0; k < info->dlpi_phnum; k++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && me >= lo && me < lo + ph->p_memsz) {
			self_lo = lo;
			self_hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

int guard_stack(uintptr_t *pcs, int max, int skip) {
	if (in_stack)
		return 0;
	in_stack = 1;
	if (self_hi == 0)
		dl_iterate_phdr(find_self, NULL);
	void *raw[GUARD_FRAMES + 6];   /* the layer's own frames: at most 5 */
	int n = backtrace(raw, max + skip + 6 < GUARD_FRAMES + 6 ? max + skip + 6 : GUARD_FRAMES + 6);
	in_stack = 0;
	int k = 0, i = skip + 1;
	while (i < n && (uintptr_t)raw[i] >= self_lo && (uintptr_t)raw[i] < self_hi)
		i++;   /* the layer's own frames (malloc, the interposer) */
	for (; i < n && k < max; i++)
		pcs[k++] = (uintptr_t)raw[i];
	return k;
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

/* --- the fault handler --- */

static struct sigaction old_segv, old_bus;

static int ends_at_data(const struct guard_slot *s, size_t i) {
	return s->state != SLOT_UNUSED && s->p + (s->n ? s->n : 1) > guard_data(i) + GUARD_MAX - 16;
}

/* The slot an address in the pool belongs to, and what touching it was. */
static const struct guard_slot *classify(uintptr_t a, int write, enum guard_kind *kind) {
	int in_guard;
	size_t i = guard_slot_of(a, &in_guard);
	const struct guard_slot *s = NULL;
	if (in_guard) {
		const struct guard_slot *prev = i > 0 ? &guard_pool.slot[i - 1] : NULL;
		const struct guard_slot *cur = i < guard_pool.slots ? &guard_pool.slot[i] : NULL;
		int over = prev && ends_at_data(prev, i - 1);
		int under = cur && cur->state != SLOT_UNUSED && cur->p == guard_data(i);
		if (over && under)   /* the nearer block */
			over = a - (guard_data(i) - guard_pool.page) < guard_data(i) - a;
		s = over ? prev : under ? cur : NULL;
	} else if (i < guard_pool.slots && guard_pool.slot[i].state != SLOT_UNUSED) {
		s = &guard_pool.slot[i];
	}
	if (s == NULL)
		*kind = GUARD_WILD;
	else if (s->state == SLOT_FREED)
		*kind = write < 0 ? GUARD_USE_AFTER_FREE : write ? GUARD_USE_AFTER_FREE_WRITE : GUARD_USE_AFTER_FREE_READ;
	else
		*kind = a < s->p ? GUARD_UNDERFLOW : GUARD_OVERFLOW;
	return s;
}

static void on_fault(int sig, siginfo_t *si, void *ctx) {
	uintptr_t a = (uintptr_t)si->si_addr;
	struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
	if (guard_top != 0 && a >= guard_lo && a <= guard_top) {
		int write = -1;
#if defined(__x86_64__)
		write = (((ucontext_t *)ctx)->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#endif
		enum guard_kind kind;
		const struct guard_slot *s = classify(a, write, &kind);
		guard_report(kind, s, a, write < 0 || kind == GUARD_USE_AFTER_FREE_READ ||
			kind == GUARD_USE_AFTER_FREE_WRITE ? NULL : write ? "write" : "read");
		struct line l = { .len = 0 };
		put(&l, "skynet-mem: guard: faulting instruction's stack:");
		emit(&l);
		void *raw[GUARD_FRAMES + 1];
		int n = in_stack ? 0 : backtrace(raw, GUARD_FRAMES + 1);   /* loaded already: no allocation */
		if (n > 0)   /* this handler's frame; the unwinder goes on at the faulting pc */
			print_stack(&l, (const uintptr_t *)raw + 1, n - 1);
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigaction(sig, &dfl, NULL);
		return;   /* the access faults again, now with the default action */
	}
	if (old->sa_flags & SA_SIGINFO) {
		old->sa_sigaction(sig, si, ctx);
	} else if (old->sa_handler == SIG_DFL || old->sa_handler == SIG_IGN) {
		sigaction(sig, old, NULL);   /* not ours: faults again under the previous action */
	} else {
		old->sa_handler(sig);
	}
}

static int ours(int sig) {
	struct sigaction cur;
	return sigaction(sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_fault;
}

/* Installs the handler, or again when another replaced it since (the old
 * one is then chained), so turning guarding on always arms the reports. */
void guard_signals(void) {
	static struct spin_lock lock = SPIN_LOCK_INIT;
	if (ours(SIGSEGV) && ours(SIGBUS))
		return;
	uintptr_t warm[1];
	guard_stack(warm, 1, 0);   /* loads the unwinder now, not in a handler */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	spin_lock(&lock);
	if (!ours(SIGSEGV))
		sigaction(SIGSEGV, &sa, &old_segv);
	if (!ours(SIGBUS))
		sigaction(SIGBUS, &sa, &old_bus);
	spin_unlock(&lock);
}
