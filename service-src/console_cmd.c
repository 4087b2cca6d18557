/* The console's commands. skynet's memory-related ones keep skynet's names
 * and output shapes ("key<TAB>value" lines sorted by key, then "<CMD OK>"):
 * list mem cmem jmem gc info stat kill exit ping dumpheap profactive help.
 * Ours: top, leaks, stat :h (live or exited), grow, setlimit. */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console.h"
#include "malloc_hook.h"
#include "observe.h"
#include "utf8.h"

#define HARBOR 0x01000000u
#define WAIT_POLL_MS 10
#define WAIT_MAX_MS 3000        /* ping and gc: as skynet's 3 s console timeout */
#define GROW_MAX_SECONDS 3600

uint64_t console_now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void name_out(FILE *f, const char *name) {
	host_utf8_write(f, name, HOST_UTF8_LINE);   /* one line, tabs kept as separators */
}

static int fail(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(FILE *f, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fputs("error: ", f);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	va_end(ap);
	return -1;
}

/* skynet's address forms: ":0100000a", "0100000a" or "a" (harbor added),
 * ".name"; -1 when malformed or an unknown name. */
static int parse_handle(const char *s, uint32_t *h) {
	if (s == NULL || *s == '\0')
		return -1;
	if (*s == '.') {
		*h = host_query_name(s);
		return *h ? 0 : -1;
	}
	int colon = *s == ':';
	s += colon;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 16);
	if (*s == '\0' || *s == '-' || *s == '+' || *end || errno || v > UINT32_MAX)
		return -1;
	*h = (uint32_t)v;
	if (!colon && v && v < HARBOR)
		*h |= HARBOR;
	return 0;
}

static int need_handle(FILE *f, const char *arg, uint32_t *h) {
	if (parse_handle(arg, h) != 0)
		return fail(f, "bad address '%s' (want :0100000a, 0100000a or .name)", arg ? arg : "");
	return 0;
}

/* A live service (not handle 0, the host's own threads). */
static int need_live(FILE *f, const char *arg, uint32_t *h) {
	if (need_handle(f, arg, h) != 0)
		return -1;
	if (*h == 0)
		return fail(f, "handle 0 is the host's own threads, not a service");
	if (host_service_busy(*h) < 0)
		return fail(f, "no service :%08x", *h);
	return 0;
}

static int view(FILE *f, struct host_mem_view *v, int flags) {
	if (host_mem_view_ex(v, flags) != 0)
		return fail(f, "the memory view cannot be built (out of memory); nothing shown");
	return 0;
}

static size_t total_of(const struct host_mem_row *r) {
	return r->st.bytes + r->st.lua_bytes;
}

static int cmp_total(const void *a, const void *b) {
	const struct host_mem_row *x = a, *y = b;
	size_t tx = total_of(x), ty = total_of(y);
	return tx < ty ? 1 : tx > ty ? -1 : (x->st.handle > y->st.handle) - (x->st.handle < y->st.handle);
}

static int count_arg(FILE *f, const char *arg, long def, long max, long *out) {
	*out = def;
	if (arg == NULL)
		return 0;
	char *end;
	errno = 0;
	long n = strtol(arg, &end, 10);
	if (*arg == '\0' || *end || errno || n <= 0 || n > max)
		return fail(f, "bad count '%s' (want 1..%ld)", arg, max);
	*out = n;
	return 0;
}

static const char *const help_lines[] = {   /* sorted by command, as skynet's help */
	"cmem\tC bytes per service, then blocks and total",
	"dumpheap\tdumpheap : write a jemalloc heap profile",
	"exit\texit address : ask a Lua service to exit",
	"gc\tgc : full Lua collection in every service, then mem",
	"grow\tgrow [seconds] [n] : the n services that grew most over the window (5 s, 10)",
	"help\tthese lines",
	"info\tinfo address : the memory record of a live service",
	"jmem\tjemalloc's process figures",
	"kill\tkill address : remove a service now",
	"leaks\tleaks : exited services that left memory behind",
	"list\tlive services, with their mailbox length",
	"mem\tmem : Lua heap per service",
	"ping\tping address : centiseconds until the service handles a message",
	"profactive\tprofactive [on|off] : jemalloc heap profiling on or off",
	"setlimit\tsetlimit address bytes : limit on C + Lua bytes (0 removes it)",
	"stat\tstat : cpu, messages and mailbox per service; stat address : one record, exited too",
	"top\ttop [n] : the n services using most memory, exited ones included",
};

static int cmd_help(FILE *f) {
	for (size_t i = 0; i < sizeof(help_lines) / sizeof(help_lines[0]); i++)
		fprintf(f, "%s\n", help_lines[i]);
	return 0;
}

static int cmd_list(FILE *f) {
	struct host_mem_view v;
	if (view(f, &v, 0) != 0)
		return -1;
	for (size_t i = 0; i < v.n; i++)
		if (v.rows[i].st.handle) {
			fprintf(f, ":%08x\t", v.rows[i].st.handle);
			name_out(f, v.rows[i].name);
			fprintf(f, "\tmqlen:%zu\n", v.rows[i].load.mqlen);
		}
	host_mem_view_free(&v);
	return 0;
}

static void mem_lines(FILE *f, const struct host_mem_view *v) {
	for (size_t i = 0; i < v->n; i++)
		if (v->rows[i].st.handle) {
			fprintf(f, ":%08x\t%.2f Kb (", v->rows[i].st.handle, v->rows[i].st.lua_bytes / 1024.0);
			name_out(f, v->rows[i].name);
			fputs(")\n", f);
		}
}

static int cmd_mem(FILE *f) {
	struct host_mem_view v;
	if (view(f, &v, 0) != 0)
		return -1;
	mem_lines(f, &v);
	host_mem_view_free(&v);
	return 0;
}

static int cmd_cmem(FILE *f) {
	struct host_mem_view v;
	if (view(f, &v, 0) != 0)
		return -1;
	for (size_t i = 0; i < v.n; i++)
		fprintf(f, ":%08x\t%zu\n", v.rows[i].st.handle, v.rows[i].st.bytes);
	fprintf(f, "block\t%zu\ntotal\t%zu\n", v.totals.blocks, v.totals.bytes);
	host_mem_view_free(&v);
	return 0;
}

static int cmd_jmem(FILE *f) {
	if (!skynet_mem_has_jemalloc())
		return fail(f, "built without jemalloc (SKYNET_MEM_JEMALLOC=OFF)");
	static const char *const names[] = {   /* sorted */
		"stats.active", "stats.allocated", "stats.mapped", "stats.resident", "stats.retained",
	};
	size_t epoch = 1;
	mallctl_int64("epoch", &epoch);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t v = mallctl_int64(names[i], NULL);
		fprintf(f, "%s\t%11zu  %8.2f Mb\n", names[i], v, v / 1048576.0);
	}
	return 0;
}

static int cmd_stat_all(FILE *f) {
	struct host_mem_view v;
	if (view(f, &v, 0) != 0)
		return -1;
	for (size_t i = 0; i < v.n; i++)
		if (v.rows[i].st.handle)
			fprintf(f, ":%08x\tcpu:%.6g\tmessage:%lld\tmqlen:%zu\n", v.rows[i].st.handle,
				v.rows[i].load.cpu_ns / 1e9, v.rows[i].load.messages, v.rows[i].load.mqlen);
	host_mem_view_free(&v);
	return 0;
}

/* One record, of a live service or of an exited one still in the table. */
static int cmd_stat_one(FILE *f, const char *arg) {
	uint32_t h;
	if (need_handle(f, arg, &h) != 0)
		return -1;
	struct host_mem_view v;
	if (view(f, &v, HOST_VIEW_EXITED) != 0)
		return -1;
	const struct host_mem_row *r = host_mem_find(&v, h);
	struct host_mem_row gone;
	if (r == NULL && h && skynet_mem_stat(h, &gone.st) == 0 && gone.st.retired) {
		/* exited with nothing left: the record still answers */
		memset(&gone.load, 0, sizeof(gone.load));
		if (host_exit_name(h, gone.name, sizeof(gone.name)) != 0)
			strcpy(gone.name, "(exited)");
		gone.exited = 1;
		r = &gone;
	}
	if (r == NULL) {
		host_mem_view_free(&v);
		return fail(f, "no service :%08x (never seen, or exited and its record reclaimed)", h);
	}
	fprintf(f, "handle :%08x\nname ", r->st.handle);
	name_out(f, r->name);
	fprintf(f, "\nstate %s\nbytes %zu\nblocks %zu\nlua_bytes %zu\npeak %zu\nlimit %zu\n"
		"allocs %llu\nfrees %llu\n", r->exited ? "exited" : "live", r->st.bytes, r->st.blocks,
		r->st.lua_bytes, r->st.peak, r->st.limit, (unsigned long long)r->st.allocs,
		(unsigned long long)r->st.frees);
	if (!r->exited && r->st.handle)
		fprintf(f, "messages %lld\nmqlen %zu\ncpu %.6g\n", r->load.messages, r->load.mqlen,
			r->load.cpu_ns / 1e9);
	host_mem_view_free(&v);
	return 0;
}

static int cmd_info(FILE *f, const char *arg) {
	uint32_t h;
	if (need_live(f, arg, &h) != 0)
		return -1;
	return cmd_stat_one(f, arg);
}

static int cmd_top(FILE *f, const char *arg) {
	long n;
	if (count_arg(f, arg, 10, 1000000, &n) != 0)
		return -1;
	struct host_mem_view v;
	if (view(f, &v, HOST_VIEW_EXITED) != 0)
		return -1;
	qsort(v.rows, v.n, sizeof(v.rows[0]), cmp_total);
	for (size_t i = 0; i < v.n && (long)i < n; i++) {
		const struct host_mem_row *r = &v.rows[i];
		fprintf(f, ":%08x\t", r->st.handle);
		name_out(f, r->name);
		fprintf(f, "\ttotal:%zu\tC:%zu\tLua:%zu\tpeak:%zu%s\n", total_of(r), r->st.bytes,
			r->st.lua_bytes, r->st.peak, r->exited ? "\texited" : "");
	}
	host_mem_view_free(&v);
	return 0;
}

static int cmd_leaks(FILE *f) {
	struct host_exit_report r[256];
	size_t n = host_leak_reports(r, 256);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, ":%08x\t", r[i].handle);
		name_out(f, r[i].name);
		fprintf(f, "\t%zu bytes in %zu blocks\n", r[i].bytes, r[i].blocks);
	}
	fprintf(f, "leaks\t%zu\n", n);
	return 0;
}

static int cmd_kill(FILE *f, const char *arg) {
	uint32_t h;
	if (need_live(f, arg, &h) != 0)
		return -1;
	char name[HOST_NAME_MAX_LEN] = "";
	host_service_name(h, name, sizeof(name));
	host_exit_service(h);
	fprintf(f, ":%08x\t", h);
	name_out(f, name);
	fputc('\n', f);
	return 0;
}

/* skynet's exit: the service is asked to exit itself (snlua services). */
static int cmd_exit(FILE *f, const char *arg) {
	uint32_t h;
	if (need_live(f, arg, &h) != 0)
		return -1;
	if (skynet_send_copy(NULL, h, PTYPE_SYSTEM, 0, "exit", 4) < 0)
		return fail(f, "no service :%08x", h);
	return 0;
}

static int cmd_setlimit(FILE *f, const char *arg, const char *bytes) {
	uint32_t h;
	if (need_handle(f, arg, &h) != 0)
		return -1;
	char *end;
	errno = 0;
	unsigned long long n = bytes ? strtoull(bytes, &end, 10) : 0;
	if (bytes == NULL || *bytes == '\0' || *bytes == '-' || *end || errno)
		return fail(f, "bad limit '%s' (want bytes >= 0; 0 removes it)", bytes ? bytes : "");
	size_t old = skynet_mem_get_limit(h);
	if (skynet_mem_set_limit(h, (size_t)n) != 0) {
		if (h == 0)
			return fail(f, "handle 0 is the host's own threads, not a service: no limit");
		return fail(f, "no service :%08x: no limit set", h);
	}
	fprintf(f, ":%08x\t%zu\n", h, old);
	return 0;
}

static int cmd_dumpheap(FILE *f) {
	if (!skynet_mem_has_jemalloc() || !mallctl_bool("opt.prof", NULL))
		return fail(f, "heap profiling is off (jemalloc built with --enable-prof and MALLOC_CONF=prof:true needed)");
	if (mallctl_cmd("prof.dump") != 0)
		return fail(f, "prof.dump failed");
	return 0;
}

static int cmd_profactive(FILE *f, const char *flag) {
	if (!skynet_mem_has_jemalloc() || !mallctl_bool("opt.prof", NULL))
		return fail(f, "heap profiling is off (jemalloc built with --enable-prof and MALLOC_CONF=prof:true needed)");
	if (flag) {
		if (strcmp(flag, "on") != 0 && strcmp(flag, "off") != 0)
			return fail(f, "profactive wants on or off, not '%s'", flag);
		bool on = strcmp(flag, "on") == 0;
		mallctl_bool("prof.active", &on);
	}
	fprintf(f, "heap profiling is %s\n", mallctl_bool("prof.active", NULL) ? "active" : "inactive");
	return 0;
}

/* --- answers that come later: ping and gc wait for messages to be handled,
 * grow for its window --- */

enum job_kind { JOB_PING, JOB_GC, JOB_GROW };

struct wait_one {
	uint32_t handle;
	long long target;   /* messages count once ours is handled */
};

struct console_job {
	enum job_kind kind;
	uint64_t start, due, deadline;
	struct wait_one *w;
	size_t nw;
	struct host_mem_view before;
	long n;
};

uint64_t console_job_due(const struct console_job *job) {
	return job->due;
}

void console_job_free(struct console_job *job) {
	if (job == NULL)
		return;
	free(job->w);
	host_mem_view_free(&job->before);
	free(job);
}

/* Sends PTYPE_SYSTEM cmd to h and notes when it will have been handled: its
 * mailbox is FIFO, so once the messages ahead of ours and ours are counted. */
static int send_noted(struct wait_one *w, uint32_t h, const char *cmd) {
	struct host_service_load l;
	if (host_service_load(h, &l) != 0)
		return -1;
	if (skynet_send_copy(NULL, h, PTYPE_SYSTEM, 0, cmd, strlen(cmd)) < 0)
		return -1;
	w->handle = h;
	w->target = l.messages + (long long)l.mqlen + 1;
	return 0;
}

static struct console_job *job_new(enum job_kind kind) {
	struct console_job *job = calloc(1, sizeof(*job));
	if (job) {
		job->kind = kind;
		job->start = console_now_ms();
		job->due = job->start + WAIT_POLL_MS;
		job->deadline = job->start + WAIT_MAX_MS;
	}
	return job;
}

static struct console_job *cmd_ping(FILE *f, const char *arg) {
	uint32_t h;
	if (need_live(f, arg, &h) != 0)
		return NULL;
	struct console_job *job = job_new(JOB_PING);
	if (job == NULL || (job->w = malloc(sizeof(struct wait_one))) == NULL) {
		console_job_free(job);
		fail(f, "out of memory");
		return NULL;
	}
	if (send_noted(&job->w[0], h, "ping") != 0) {
		console_job_free(job);
		fail(f, "no service :%08x", h);
		return NULL;
	}
	job->nw = 1;
	return job;
}

struct gc_send {
	struct console_job *job;
	size_t cap;
};

static void gc_one(uint32_t h, void *ud) {
	struct gc_send *g = ud;
	if (g->job->nw < g->cap && send_noted(&g->job->w[g->job->nw], h, "gc") == 0)
		g->job->nw++;
}

static struct console_job *cmd_gc(FILE *f) {
	struct console_job *job = job_new(JOB_GC);
	struct gc_send g = { job, host_service_count() + 16 };
	if (job == NULL || (job->w = malloc(g.cap * sizeof(struct wait_one))) == NULL
		|| host_foreach_service(gc_one, &g) != 0) {
		console_job_free(job);
		fail(f, "out of memory");
		return NULL;
	}
	return job;
}

static struct console_job *cmd_grow(FILE *f, const char *secs, const char *count) {
	long s, n;
	if (count_arg(f, secs, 5, GROW_MAX_SECONDS, &s) != 0 || count_arg(f, count, 10, 1000000, &n) != 0)
		return NULL;
	struct console_job *job = job_new(JOB_GROW);
	if (job == NULL) {
		fail(f, "out of memory");
		return NULL;
	}
	if (view(f, &job->before, HOST_VIEW_EXITED) != 0) {
		free(job);
		return NULL;
	}
	job->n = n;
	job->due = job->deadline = job->start + (uint64_t)s * 1000;
	return job;
}

/* 1 when every noted message was handled (or its service is gone). */
static int waits_done(struct console_job *job) {
	for (size_t i = 0; i < job->nw; i++) {
		struct host_service_load l;
		if (host_service_load(job->w[i].handle, &l) == 0 && l.messages < job->w[i].target)
			return 0;
	}
	return 1;
}

struct growth {
	const struct host_mem_row *row;
	long long by, c, lua;
};

static int cmp_growth(const void *a, const void *b) {
	const struct growth *x = a, *y = b;
	return x->by < y->by ? 1 : x->by > y->by ? -1
		: (x->row->st.handle > y->row->st.handle) - (x->row->st.handle < y->row->st.handle);
}

/* recon's proc_window: the rows that grew most between the two views (a new
 * service grew from 0). */
static int grow_answer(FILE *f, struct console_job *job) {
	struct host_mem_view now;
	if (view(f, &now, HOST_VIEW_EXITED) != 0)
		return -1;
	struct growth *g = malloc((now.n + 1) * sizeof(*g));
	if (g == NULL) {
		host_mem_view_free(&now);
		return fail(f, "out of memory");
	}
	for (size_t i = 0; i < now.n; i++) {
		const struct host_mem_row *r = &now.rows[i], *p = host_mem_find(&job->before, r->st.handle);
		g[i].row = r;
		g[i].c = (long long)r->st.bytes - (p ? (long long)p->st.bytes : 0);
		g[i].lua = (long long)r->st.lua_bytes - (p ? (long long)p->st.lua_bytes : 0);
		g[i].by = g[i].c + g[i].lua;
	}
	qsort(g, now.n, sizeof(*g), cmp_growth);
	for (size_t i = 0; i < now.n && (long)i < job->n; i++) {
		fprintf(f, ":%08x\t", g[i].row->st.handle);
		name_out(f, g[i].row->name);
		fprintf(f, "\tgrowth:%+lld\tC:%+lld\tLua:%+lld\ttotal:%zu\n", g[i].by, g[i].c, g[i].lua,
			total_of(g[i].row));
	}
	fprintf(f, "window\t%.1fs\n", (console_now_ms() - job->start) / 1000.0);
	free(g);
	host_mem_view_free(&now);
	return 0;
}

static void end(FILE *f, int rc) {
	fputs(rc == 0 ? "<CMD OK>\n" : "<CMD Error>\n", f);
}

int console_job_poll(struct console_job *job, FILE *f) {
	uint64_t now = console_now_ms();
	int rc = 0;
	if (job->kind == JOB_GROW) {
		if (now < job->due)
			return 0;
		rc = grow_answer(f, job);
	} else {
		int done = waits_done(job);
		if (!done && now < job->deadline) {
			job->due = now + WAIT_POLL_MS;
			return 0;
		}
		if (job->kind == JOB_PING) {
			if (done)
				fprintf(f, "%llu\n", (unsigned long long)(now - job->start) / 10);   /* centiseconds */
			else
				rc = fail(f, "ping :%08x: no answer in %d ms", job->w[0].handle, WAIT_MAX_MS);
		} else {
			struct host_mem_view v;
			rc = view(f, &v, 0);   /* skynet's gc answers with mem */
			if (rc == 0) {
				mem_lines(f, &v);
				host_mem_view_free(&v);
				if (!done)
					fprintf(f, "timeout\tsome services did not collect within %d ms\n", WAIT_MAX_MS);
			}
		}
	}
	end(f, rc);
	console_job_free(job);
	return 1;
}

struct console_job *console_run(FILE *f, char *line) {
	char *save = NULL;
	char *cmd = strtok_r(line, " \t\r", &save);
	char *a1 = strtok_r(NULL, " \t\r", &save);
	char *a2 = strtok_r(NULL, " \t\r", &save);
	if (cmd == NULL)
		return NULL;   /* an empty line: no answer, as skynet */
	struct console_job *job = NULL;
	int rc;
	if (strcmp(cmd, "ping") == 0 || strcmp(cmd, "gc") == 0 || strcmp(cmd, "grow") == 0) {
		job = cmd[0] == 'p' ? cmd_ping(f, a1) : cmd[1] == 'c' ? cmd_gc(f) : cmd_grow(f, a1, a2);
		if (job)
			return job;
		rc = -1;
	} else if (strcmp(cmd, "help") == 0)
		rc = cmd_help(f);
	else if (strcmp(cmd, "list") == 0)
		rc = cmd_list(f);
	else if (strcmp(cmd, "mem") == 0)
		rc = cmd_mem(f);
	else if (strcmp(cmd, "cmem") == 0)
		rc = cmd_cmem(f);
	else if (strcmp(cmd, "jmem") == 0)
		rc = cmd_jmem(f);
	else if (strcmp(cmd, "stat") == 0)
		rc = a1 ? cmd_stat_one(f, a1) : cmd_stat_all(f);
	else if (strcmp(cmd, "info") == 0)
		rc = cmd_info(f, a1);
	else if (strcmp(cmd, "top") == 0)
		rc = cmd_top(f, a1);
	else if (strcmp(cmd, "leaks") == 0)
		rc = cmd_leaks(f);
	else if (strcmp(cmd, "kill") == 0)
		rc = cmd_kill(f, a1);
	else if (strcmp(cmd, "exit") == 0)
		rc = cmd_exit(f, a1);
	else if (strcmp(cmd, "setlimit") == 0)
		rc = cmd_setlimit(f, a1, a2);
	else if (strcmp(cmd, "dumpheap") == 0)
		rc = cmd_dumpheap(f);
	else if (strcmp(cmd, "profactive") == 0)
		rc = cmd_profactive(f, a1);
	else
		rc = fail(f, "unknown command '%s' (type help for the command list)", cmd);
	end(f, rc);
	return NULL;
}
