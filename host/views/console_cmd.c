/* The console's commands. skynet's memory-related ones keep skynet's names
 * and output shapes ("key<TAB>value" lines sorted by key, then "<CMD OK>"):
 * list mem cmem jmem gc info stat kill exit ping dumpheap profactive help.
 * Ours: top, leaks, stat :h (live or exited), grow, setlimit, check, heap, guard. */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "console_jobs.h"
#include "console_util.h"
#include "heap.h"
#include "malloc_hook.h"

static int cmp_total(const void *a, const void *b) {
	const struct host_mem_row *x = a, *y = b;
	size_t tx = console_row_total(x), ty = console_row_total(y);
	return tx < ty ? 1 : tx > ty ? -1 : (x->st.handle > y->st.handle) - (x->st.handle < y->st.handle);
}

static const char *const help_lines[] = {   /* sorted by command, as skynet's help */
	"check\tcheck : MEMORY_CHECK: verify every live block now (reports on stderr)",
	"cmem\tC bytes per service, then blocks and total",
	"dumpheap\tdumpheap : write a jemalloc heap profile",
	"exit\texit address : ask a Lua service to exit",
	"gc\tgc : full Lua collection in every service, then mem",
	"grow\tgrow [seconds] [n] : the n services that grew most over the window (5 s, 10)",
	"guard\tguard address [every] : 1 in every of its blocks in guarded slots (1: all, 0: stop; docs/guard.md); the figures",
	"heap\theap address|all [path] : sampled heap profile: samples, estimated bytes, top allocation sites; with a path, the file jeprof/google-pprof read",
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
	"stat\tstat : cpu, messages and mailbox per service; stat address : one record, exited too (lua_bytes: the charge; mem: Lua's own count)",
	"top\ttop [n] : the n services using most memory, exited ones included (Lua: the charge; mem: Lua's own count)",
};

static int cmd_help(FILE *f) {
	for (size_t i = 0; i < sizeof(help_lines) / sizeof(help_lines[0]); i++)
		fprintf(f, "%s\n", help_lines[i]);
	return 0;
}

static int cmd_list(FILE *f) {
	struct host_mem_view v;
	if (console_view(f, &v, 0) != 0)
		return -1;
	for (size_t i = 0; i < v.n; i++)
		if (v.rows[i].st.handle) {
			fprintf(f, ":%08x\t", v.rows[i].st.handle);
			console_name_out(f, v.rows[i].name);
			fprintf(f, "\tmqlen:%zu\n", v.rows[i].load.mqlen);
		}
	host_mem_view_free(&v);
	return 0;
}

static int cmd_mem(FILE *f) {
	struct host_mem_view v;
	if (console_view(f, &v, 0) != 0)
		return -1;
	console_mem_lines(f, &v);
	host_mem_view_free(&v);
	return 0;
}

static int cmd_cmem(FILE *f) {
	struct host_mem_view v;
	if (console_view(f, &v, 0) != 0)
		return -1;
	for (size_t i = 0; i < v.n; i++)
		fprintf(f, ":%08x\t%zu\n", v.rows[i].st.handle, v.rows[i].st.bytes);
	fprintf(f, "block\t%zu\ntotal\t%zu\n", v.g.totals.blocks, v.g.totals.bytes);
	host_mem_view_free(&v);
	return 0;
}

static int cmd_jmem(FILE *f) {
	if (!skynet_mem_has_jemalloc())
		return console_fail(f, "built without jemalloc (SKYNET_MEM_JEMALLOC=OFF)");
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
	if (console_view(f, &v, 0) != 0)
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
	if (console_need_handle(f, arg, &h) != 0)
		return -1;
	struct host_mem_view v;
	if (console_view(f, &v, HOST_VIEW_EXITED) != 0)
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
		return console_fail(f, "no service :%08x (never seen, or exited and its record reclaimed)", h);
	}
	fprintf(f, "handle :%08x\nname ", r->st.handle);
	console_name_out(f, r->name);
	fprintf(f, "\nstate %s\nbytes %zu\nblocks %zu\nlua_bytes %zu\npeak %zu\nlimit %zu\n"
		"allocs %llu\nfrees %llu\n", r->exited ? "exited" : "live", r->st.bytes, r->st.blocks,
		r->st.lua_bytes, r->st.peak, r->st.limit, (unsigned long long)r->st.allocs,
		(unsigned long long)r->st.frees);
	if (!r->exited && r->st.handle)
		fprintf(f, "messages %lld\nmqlen %zu\ncpu %.6g\n", r->load.messages, r->load.mqlen,
			r->load.cpu_ns / 1e9);
	if (!r->exited && r->st.handle && r->load.lua_mem >= 0)   /* Lua's own count, beside lua_bytes (the charge) */
		fprintf(f, "mem %lld\n", r->load.lua_mem);
	host_mem_view_free(&v);
	return 0;
}

static int cmd_info(FILE *f, const char *arg) {
	uint32_t h;
	if (console_need_live(f, arg, &h) != 0)
		return -1;
	return cmd_stat_one(f, arg);
}

static int cmd_top(FILE *f, const char *arg) {
	long n;
	if (console_count_arg(f, arg, 10, 1000000, &n) != 0)
		return -1;
	struct host_mem_view v;
	if (console_view(f, &v, HOST_VIEW_EXITED) != 0)
		return -1;
	qsort(v.rows, v.n, sizeof(v.rows[0]), cmp_total);
	for (size_t i = 0; i < v.n && (long)i < n; i++) {
		const struct host_mem_row *r = &v.rows[i];
		fprintf(f, ":%08x\t", r->st.handle);
		console_name_out(f, r->name);
		fprintf(f, "\ttotal:%zu\tC:%zu\tLua:%zu\tpeak:%zu", console_row_total(r), r->st.bytes,
			r->st.lua_bytes, r->st.peak);
		if (!r->exited && r->st.handle && r->load.lua_mem >= 0)
			fprintf(f, "\tmem:%lld", r->load.lua_mem);
		fputs(r->exited ? "\texited\n" : "\n", f);
	}
	host_mem_view_free(&v);
	return 0;
}

static int cmd_leaks(FILE *f) {
	struct host_exit_report r[256];
	size_t n = host_leak_reports(r, 256);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, ":%08x\t", r[i].handle);
		console_name_out(f, r[i].name);
		fprintf(f, "\t%zu bytes in %zu blocks%s%s\n", r[i].bytes, r[i].blocks,
			r[i].sites[0] ? "\tfrom " : "", r[i].sites);
	}
	fprintf(f, "leaks\t%zu\n", n);
	return 0;
}

static int cmd_kill(FILE *f, const char *arg) {
	uint32_t h;
	if (console_need_live(f, arg, &h) != 0)
		return -1;
	char name[HOST_NAME_MAX_LEN] = "";
	host_service_name(h, name, sizeof(name));
	host_exit_service(h);
	fprintf(f, ":%08x\t", h);
	console_name_out(f, name);
	fputc('\n', f);
	return 0;
}

/* skynet's exit: the service is asked to exit itself (snlua services). */
static int cmd_exit(FILE *f, const char *arg) {
	uint32_t h;
	if (console_need_live(f, arg, &h) != 0)
		return -1;
	if (skynet_send_copy(NULL, h, PTYPE_SYSTEM, 0, "exit", 4) < 0)
		return console_fail(f, "no service :%08x", h);
	return 0;
}

static int cmd_setlimit(FILE *f, const char *arg, const char *bytes) {
	uint32_t h;
	if (console_need_handle(f, arg, &h) != 0)
		return -1;
	char *end;
	errno = 0;
	unsigned long long n = bytes ? strtoull(bytes, &end, 10) : 0;
	if (bytes == NULL || *bytes == '\0' || *bytes == '-' || *end || errno)
		return console_fail(f, "bad limit '%s' (want bytes >= 0; 0 removes it)", bytes ? bytes : "");
	size_t old = skynet_mem_get_limit(h);
	if (skynet_mem_set_limit(h, (size_t)n) != 0) {
		if (h == 0)
			return console_fail(f, "handle 0 is the host's own threads, not a service: no limit");
		return console_fail(f, "no service :%08x: no limit set", h);
	}
	fprintf(f, ":%08x\t%zu\n", h, old);
	return 0;
}

/* guard address [every]: from the service's next dispatch, 1 in every of its
 * blocks up to 16 KiB in a guarded slot (a heap bug there is reported with
 * its owner before the process dies); without every, only the figures. */
static int cmd_guard(FILE *f, const char *arg, const char *every) {
	uint32_t h;
	if (console_need_handle(f, arg, &h) != 0)
		return -1;
	unsigned old = skynet_mem_guard_every(h);
	if (every) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(every, &end, 10);
		if (*every == '\0' || *every == '-' || *end || errno || n > 0xffffffffULL)
			return console_fail(f, "bad every '%s' (want 0 (stop) to 4294967295)", every);
		if (skynet_mem_guard(h, (unsigned)n) != 0)
			return console_fail(f, "%s", errno == ENOTSUP ? "not in MEMORY_CHECK builds (the checker sees every block)"
				: errno == ENOSPC ? "64 services are guarded already" : "no memory for the guarded pool");
	}
	struct skynet_mem_guard_info g;
	skynet_mem_guard_info(&g);
	fprintf(f, "blocks\t%zu\nevery\t%u\nguarded\t%llu\nmissed\t%llu\nprevious\t%u\nslots\t%zu\n"
		"slots_freed\t%zu\nslots_live\t%zu\n", skynet_mem_guard_blocks(h), skynet_mem_guard_every(h),
		(unsigned long long)g.guarded, (unsigned long long)g.missed, old, g.slots, g.freed, g.live);
	return 0;
}

static int cmd_check(FILE *f) {
	if (!skynet_mem_has_check())
		return console_fail(f, "not a MEMORY_CHECK build (SKYNET_MEM_CHECK=ON)");
	fprintf(f, "%zu damaged blocks\n", skynet_mem_check_all());
	return 0;
}

static int cmd_dumpheap(FILE *f) {
	if (!skynet_mem_has_jemalloc() || !mallctl_bool("opt.prof", NULL))
		return console_fail(f, "heap profiling is off (jemalloc built with --enable-prof and MALLOC_CONF=prof:true needed)");
	if (mallctl_cmd("prof.dump") != 0)
		return console_fail(f, "prof.dump failed");
	return 0;
}

static int cmd_profactive(FILE *f, const char *flag) {
	if (!skynet_mem_has_jemalloc() || !mallctl_bool("opt.prof", NULL))
		return console_fail(f, "heap profiling is off (jemalloc built with --enable-prof and MALLOC_CONF=prof:true needed)");
	if (flag) {
		if (strcmp(flag, "on") != 0 && strcmp(flag, "off") != 0)
			return console_fail(f, "profactive wants on or off, not '%s'", flag);
		bool on = strcmp(flag, "on") == 0;
		mallctl_bool("prof.active", &on);
	}
	fprintf(f, "heap profiling is %s\n", mallctl_bool("prof.active", NULL) ? "active" : "inactive");
	return 0;
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
		job = cmd[0] == 'p' ? console_ping(f, a1) : cmd[1] == 'c' ? console_gc(f) : console_grow(f, a1, a2);
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
	else if (strcmp(cmd, "heap") == 0)
		rc = host_heap_command(f, a1, a2);
	else if (strcmp(cmd, "kill") == 0)
		rc = cmd_kill(f, a1);
	else if (strcmp(cmd, "exit") == 0)
		rc = cmd_exit(f, a1);
	else if (strcmp(cmd, "setlimit") == 0)
		rc = cmd_setlimit(f, a1, a2);
	else if (strcmp(cmd, "check") == 0)
		rc = cmd_check(f);
	else if (strcmp(cmd, "guard") == 0)
		rc = cmd_guard(f, a1, a2);
	else if (strcmp(cmd, "dumpheap") == 0)
		rc = cmd_dumpheap(f);
	else if (strcmp(cmd, "profactive") == 0)
		rc = cmd_profactive(f, a1);
	else
		rc = console_fail(f, "unknown command '%s' (type help for the command list)", cmd);
	console_end(f, rc);
	return NULL;
}
