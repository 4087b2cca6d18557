/* The malloc-family interposer (libskynet-mem-hook): LD_PRELOAD it, or link it,
 * and every allocation of the process goes through the accounted core, so
 * third-party C code inside a service is charged too. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block.h"
#include "ledger.h"
#include "options.h"
#include "skynet_mem.h"

SKYNET_MEM_API void *malloc(size_t n) {
	return mem_malloc(n);
}

SKYNET_MEM_API void *calloc(size_t nmemb, size_t size) {
	return mem_calloc(nmemb, size);
}

SKYNET_MEM_API void *realloc(void *p, size_t n) {
	return mem_realloc(p, n);
}

SKYNET_MEM_API void free(void *p) {
	mem_free(p);
}

/* glibc 2.36's aligned_alloc is its memalign (2.38 made it refuse an
 * alignment that is not a power of two): see mem_memalign. */
SKYNET_MEM_API void *memalign(size_t align, size_t n) {
	return mem_memalign(align, n);
}

SKYNET_MEM_API void *aligned_alloc(size_t align, size_t n) {
	return mem_memalign(align, n);
}

/* glibc's also leaves errno at ENOMEM when it returns ENOMEM. */
SKYNET_MEM_API int posix_memalign(void **out, size_t align, size_t n) {
	int r = mem_posix_memalign(out, align, n);
	if (r == ENOMEM)
		errno = ENOMEM;
	return r;
}

SKYNET_MEM_API void *valloc(size_t n) {
	return mem_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

SKYNET_MEM_API void *pvalloc(size_t n) {
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (n > SIZE_MAX - page) {
		errno = ENOMEM;
		return NULL;
	}
	/* As glibc: whole pages, and pvalloc(0) is memalign(page, 0). */
	return mem_memalign(page, (n + page - 1) & ~(page - 1));
}

SKYNET_MEM_API void *reallocarray(void *p, size_t nmemb, size_t size) {
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return mem_realloc(p, n);
}

SKYNET_MEM_API size_t malloc_usable_size(void *p) {
	return mem_usable(p);
}

/* --- SKYNET_MEM_REPORT: the process totals at exit, and whether they agree
 * with the records and with the count of allocations, so a run of any
 * program can be checked. Programs close stderr before exit (sort, cat, ls,
 * true: coreutils' close_stdout), so the report writes to a copy of stderr
 * made at load time, or appends to a file named by the variable (resolved
 * at load time too: the program may change directory). */

static int report_fd = -1;
static struct stat report_file;   /* what report_fd was opened on */
static char report_path[PATH_MAX];

/* The copy takes a high number: a program that closes what it inherited and
 * opens its own files reuses low ones. Its device and inode are kept, so a
 * number closed and reused all the same is never written to (see report_out). */
static void report_copy_stderr(void) {
	struct rlimit rl;
	int high = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 64 && rl.rlim_cur != RLIM_INFINITY
		? (int)(rl.rlim_cur < 65536 ? rl.rlim_cur : 65536) - 16 : 3;
	report_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, high);
	if (report_fd < 0)
		report_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (report_fd >= 0 && fstat(report_fd, &report_file) != 0) {
		close(report_fd);
		report_fd = -1;
	}
}

static int same_file(int fd) {
	struct stat now;
	return fd >= 0 && fstat(fd, &now) == 0 && now.st_dev == report_file.st_dev &&
		now.st_ino == report_file.st_ino;
}

/* The copy of stderr, or descriptor 2 if it is still that file; else -1:
 * nothing that may now be one of the program's own files is written to. */
static int report_out(void) {
	if (report_fd < 0)
		return STDERR_FILENO;   /* no copy could be made at load */
	return same_file(report_fd) ? report_fd : same_file(STDERR_FILENO) ? STDERR_FILENO : -1;
}

__attribute__((constructor)) static void report_init(void) {
	size_t mode = option_get(OPTION_REPORT);
	if (mode == REPORT_STDERR) {
		report_copy_stderr();
	} else if (mode == REPORT_FILE) {
		const char *name = option_text(OPTION_REPORT);
		size_t dir = 0;
		if (name[0] != '/' && getcwd(report_path, sizeof(report_path) - 1) != NULL) {
			dir = strlen(report_path);
			report_path[dir++] = '/';
		}
		if (dir + strlen(name) < sizeof(report_path))
			memcpy(report_path + dir, name, strlen(name) + 1);
		else
			report_path[0] = 0;
	}
}

struct sum {
	size_t bytes, blocks;
};

static int add_record(const struct skynet_mem_stat *st, void *ud) {
	struct sum *s = ud;
	s->bytes += st->bytes;
	s->blocks += st->blocks;
	return 0;
}

/* Other threads still running may hold changes not yet published (at most
 * LEDGER_BATCH bytes each): then a disagreement is reported as unknown. */
__attribute__((destructor)) static void hook_report(void) {
	size_t mode = option_get(OPTION_REPORT);
	if (mode == REPORT_OFF)
		return;
	struct skynet_mem_totals t;
	struct sum s = { 0, 0 };
	skynet_mem_totals(&t);   /* publishes this thread's own changes first */
	skynet_mem_foreach(add_record, &s);
	int others = ledger_threads() - (ledger_tls != NULL);
	int consistent = s.bytes == t.bytes && s.blocks == t.blocks &&
		t.allocs - t.frees == t.blocks && (t.blocks == 0) == (t.bytes == 0);
	char verdict[80];
	if (consistent || others <= 0)
		snprintf(verdict, sizeof(verdict), "%d", consistent);
	else
		snprintf(verdict, sizeof(verdict), "unknown (%d other thread%s still running)", others,
			others == 1 ? "" : "s");
	char line[480];
	int n = snprintf(line, sizeof(line), "skynet-mem: totals bytes=%zu blocks=%zu services=%zu allocs=%"
		PRIu64 " frees=%" PRIu64 " consistent=%s\n", t.bytes, t.blocks, t.services, t.allocs, t.frees,
		verdict);
	struct skynet_mem_guard_info g;
	skynet_mem_guard_info(&g);
	if (n > 0 && g.slots > 0 && (size_t)n < sizeof(line))   /* guarding was on (SKYNET_MEM_GUARD) */
		n += snprintf(line + n, sizeof(line) - (size_t)n, "skynet-mem: guard slots=%zu guarded=%" PRIu64
			" missed=%" PRIu64 " live=%zu\n", g.slots, g.guarded, g.missed, g.live);
	if (n <= 0)
		return;
	int fd = mode == REPORT_FILE ? (report_path[0] ? open(report_path,
		O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1) : report_out();
	if (fd < 0 && mode == REPORT_FILE)
		fd = STDERR_FILENO;   /* the file cannot be opened: stderr as it is now */
	if (fd >= 0 && write(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
		n = 0;
	if (mode == REPORT_FILE && fd != STDERR_FILENO && fd >= 0)
		close(fd);
}
