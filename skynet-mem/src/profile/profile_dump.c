/* The sampled heap profile written out (skynet_mem.h): gperftools' legacy
 * text heap profile, which jeprof (libjemalloc-dev) and google-pprof
 * (google-perftools) both read, the collapsed stacks of flame graphs, and
 * the top sites of a service (its leak report).
 *
 * The heap profile's counts are already unbiased (each sample stands for
 * size / (1 - exp(-size / mean)) bytes, mean being its service's rate when it
 * was taken), so the header says "heapprofile": the readers scale nothing,
 * and services sampled at different rates share one file. The first frame of
 * a stack is written one byte back into the call instruction (the readers
 * step back every other frame themselves). In the all-services form the
 * outermost frame is the owner, written as the address 0x00ff0000<handle>
 * (OWNER_FRAME), outside x86-64's user address space, so no mapping holds it:
 * the readers print it as that number, the handle in its last 8 digits. */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "profile.h"
#include "skynet_mem.h"

#define OWNER_FRAME 0x00ff000000000000ull

/* --- a buffered writer on a descriptor --- */

struct out {
	int fd, failed;
	size_t n;
	char buf[4096];
};

static void out_flush(struct out *o) {
	size_t off = 0;
	while (off < o->n && !o->failed) {
		ssize_t w = write(o->fd, o->buf + off, o->n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			o->failed = errno ? errno : EIO;
		else
			off += (size_t)w;
	}
	o->n = 0;
}

__attribute__((format(printf, 2, 3))) static void out_printf(struct out *o, const char *fmt, ...) {
	if (sizeof(o->buf) - o->n < 512)
		out_flush(o);
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(o->buf + o->n, sizeof(o->buf) - o->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->n += (size_t)k < sizeof(o->buf) - o->n ? (size_t)k : sizeof(o->buf) - o->n - 1;
}

static void out_copy_file(struct out *o, const char *path) {
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (;;) {
		if (o->n == sizeof(o->buf))
			out_flush(o);
		ssize_t r = read(fd, o->buf + o->n, sizeof(o->buf) - o->n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		o->n += (size_t)r;
	}
	close(fd);
}

/* --- grouping the samples by stack --- */

static int compare_stack(const void *a, const void *b, void *all) {
	const struct profile_sample *x = a, *y = b;
	if (*(int *)all && x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return memcmp(x->frame, y->frame, x->depth * sizeof(x->frame[0]));
}

static int same_stack(const struct profile_sample *x, const struct profile_sample *y, int all) {
	return (!all || x->owner == y->owner) && x->depth == y->depth &&
		memcmp(x->frame, y->frame, x->depth * sizeof(x->frame[0])) == 0;
}

static size_t rounded(double v) {
	return v < 0.5 ? 0 : (size_t)(v + 0.5);
}

/* The samples of handle (or all), sorted by stack; NULL with *n 0 when none. */
static struct profile_sample *sorted(uint32_t handle, int all, size_t *n) {
	struct profile_sample *s = profile_snapshot(handle, all, n);
	if (s && *n > 1)
		qsort_r(s, *n, sizeof(*s), compare_stack, &all);
	return s;
}

static void write_heap(struct out *o, const struct profile_sample *s, size_t n, int all) {
	double bytes = 0, count = 0;
	for (size_t i = 0; i < n; i++) {
		bytes += s[i].estimate;
		count += s[i].estimate / (double)s[i].size;
	}
	out_printf(o, "heap profile: %zu: %zu [ %zu: %zu] @ heapprofile\n", rounded(count), rounded(bytes),
		rounded(count), rounded(bytes));
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double b = 0, c = 0;
		for (; j < n && same_stack(&s[i], &s[j], all); j++) {
			b += s[j].estimate;
			c += s[j].estimate / (double)s[j].size;
		}
		size_t ci = rounded(c) ? rounded(c) : 1;
		out_printf(o, "%zu: %zu [%zu: %zu] @", ci, rounded(b), ci, rounded(b));
		for (uint32_t k = 0; k < s[i].depth; k++)
			out_printf(o, " 0x%jx", (uintmax_t)(s[i].frame[k] - (k == 0)));
		if (all)
			out_printf(o, " 0x%jx", (uintmax_t)(OWNER_FRAME + s[i].owner + 1));   /* read back one byte */
		out_printf(o, "\n");
		i = j;
	}
	out_printf(o, "\nMAPPED_LIBRARIES:\n");
	out_flush(o);
	out_copy_file(o, "/proc/self/maps");
}

/* Folded stacks: "outermost;...;innermost bytes", one line per stack. */
static void write_collapsed(struct out *o, const struct profile_sample *s, size_t n, int all) {
	char name[256];
	uintptr_t fn;
	struct symbolizer *sym = symbolizer_new();
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double b = 0;
		for (; j < n && same_stack(&s[i], &s[j], all); j++)
			b += s[j].estimate;
		if (all)
			out_printf(o, ":%08x;", s[i].owner);
		for (uint32_t k = s[i].depth; k-- > 0;) {
			symbolize(sym, s[i].frame[k] - 1, name, sizeof(name), &fn);   /* the call, one byte back */
			out_printf(o, "%s%s", name, k ? ";" : "");
		}
		out_printf(o, " %zu\n", rounded(b));
		i = j;
	}
	symbolizer_free(sym);
}

int skynet_mem_profile_write(int fd, uint32_t handle, int flags) {
	if (fd < 0 || (flags & ~(SKYNET_MEM_PROFILE_ALL | SKYNET_MEM_PROFILE_COLLAPSED)) != 0) {
		errno = EINVAL;
		return -1;
	}
	int all = (flags & SKYNET_MEM_PROFILE_ALL) != 0;
	size_t n;
	errno = 0;
	struct profile_sample *s = sorted(handle, all, &n);
	if (s == NULL && errno != 0)
		return -1;
	struct out *o = backend_raw_alloc(sizeof(*o));
	if (o == NULL) {
		backend_raw_free(s);
		errno = ENOMEM;
		return -1;
	}
	o->fd = fd;
	if (flags & SKYNET_MEM_PROFILE_COLLAPSED)
		write_collapsed(o, s, n, all);
	else
		write_heap(o, s, n, all);
	out_flush(o);
	int failed = o->failed;
	backend_raw_free(o);
	backend_raw_free(s);
	if (failed) {
		errno = failed;
		return -1;
	}
	return 0;
}

static int dump_to(const char *path, uint32_t handle, int flags) {
	if (path == NULL || path[0] == 0) {
		errno = EINVAL;
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int r = skynet_mem_profile_write(fd, handle, flags);
	int saved = errno;
	if (close(fd) != 0 && r == 0)
		return -1;
	errno = saved;
	return r;
}

int skynet_mem_profile_dump(uint32_t handle, const char *path) {
	return dump_to(path, handle, 0);
}

int skynet_mem_profile_dump_all(const char *path) {
	return dump_to(path, 0, SKYNET_MEM_PROFILE_ALL);
}

size_t skynet_mem_profile_samples(uint32_t handle, int flags, size_t *estimate) {
	size_t n;
	struct profile_sample *s = profile_snapshot(handle, (flags & SKYNET_MEM_PROFILE_ALL) != 0, &n);
	double b = 0;
	for (size_t i = 0; i < n; i++)
		b += s[i].estimate;
	backend_raw_free(s);
	if (estimate)
		*estimate = rounded(b);
	return n;
}

/* --- the top sites (a leak report) --- */

struct site {
	uintptr_t key;   /* the function's start, or the frame when unknown */
	uintptr_t ip;
	double bytes;
};

static int by_bytes(const void *a, const void *b) {
	const struct site *x = a, *y = b;
	return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

static void human(double b, char *buf, size_t size) {
	if (b >= 1024.0 * 1024 * 1024)
		snprintf(buf, size, "%.1fG", b / (1024.0 * 1024 * 1024));
	else if (b >= 1024.0 * 1024)
		snprintf(buf, size, "%.1fM", b / (1024.0 * 1024));
	else if (b >= 1024)
		snprintf(buf, size, "%.1fK", b / 1024);
	else
		snprintf(buf, size, "%.0f", b);
}

size_t skynet_mem_profile_sites(uint32_t handle, char *buf, size_t size, int top) {
	if (buf == NULL || size == 0)
		return 0;
	buf[0] = 0;
	size_t n;
	struct profile_sample *s = profile_snapshot(handle, 0, &n);
	if (s == NULL)
		return 0;
	/* The samples' array becomes the sites' (a site is smaller). */
	struct site *site = (struct site *)s;
	size_t ns = 0;
	struct symbolizer *sym = symbolizer_new();
	char name[200];
	for (size_t i = 0; i < n; i++) {
		uintptr_t ip = s[i].depth ? s[i].frame[0] : 0;
		double est = s[i].estimate;
		uintptr_t key = ip;
		if (ip)
			symbolize(sym, ip - 1, name, sizeof(name), &key);
		size_t k = 0;
		while (k < ns && site[k].key != key)
			k++;
		if (k == ns)
			site[ns++] = (struct site){ key, ip, 0 };
		site[k].bytes += est;
	}
	qsort(site, ns, sizeof(*site), by_bytes);
	size_t len = 0;
	for (size_t k = 0; k < ns && (top <= 0 || k < (size_t)top) && len + 1 < size; k++) {
		char amount[32];
		uintptr_t fn;
		if (site[k].ip)
			symbolize(sym, site[k].ip - 1, name, sizeof(name), &fn);
		else
			snprintf(name, sizeof(name), "?");
		human(site[k].bytes, amount, sizeof(amount));
		int w = snprintf(buf + len, size - len, "%s%s ~%s", k ? ", " : "", name, amount);
		if (w < 0)
			break;
		len += (size_t)w < size - len ? (size_t)w : size - len - 1;
	}
	symbolizer_free(sym);
	backend_raw_free(s);
	return ns;
}
