/* The table of every environment variable the layer reads (see options.h). */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

enum option_type {
	OPT_FLAG,     /* "1" turns it on, another non-empty value off; unset or empty: the default */
	OPT_BYTES,    /* a byte count with an optional K, M or G suffix; invalid: the default */
	OPT_POISON,   /* "full", or a byte count (0 counts as 1); invalid: the default */
	OPT_SET,      /* on when set, whatever the value */
	OPT_WORD,     /* SKYNET_MEM_OPTIONS: "help" or "markdown" */
	OPT_REPORT,   /* SKYNET_MEM_REPORT: "1" (stderr), a file name, or off (unset, empty, "0") */
	OPT_COUNT,    /* a plain number; invalid: the default */
};

struct option {
	const char *name;
	enum option_type type;
	size_t def;            /* value when unset or invalid */
	const char *shown;     /* the default as written in the table */
	const char *builds;    /* which builds or part read it */
	const char *meaning;
};

static const char *const type_names[] = {
	[OPT_FLAG] = "0 or 1", [OPT_BYTES] = "bytes[K,M,G]", [OPT_POISON] = "bytes or full",
	[OPT_SET] = "any", [OPT_WORD] = "help, markdown", [OPT_REPORT] = "0, 1 or a path",
	[OPT_COUNT] = "number",
};

enum { WORD_NONE, WORD_HELP, WORD_MARKDOWN };

static const struct option options[OPTIONS] = {
	[OPTION_OPTIONS] = { "SKYNET_MEM_OPTIONS", OPT_WORD, WORD_NONE, "unset", "all",
		"print this table to stderr when the library loads (markdown: as a Markdown table)" },
	[OPTION_REPORT] = { "SKYNET_MEM_REPORT", OPT_REPORT, REPORT_OFF, "0", "interposer",
		"print the process totals at exit and whether they agree with the records: 1 on stderr (a copy made at load), a path: appended to that file" },
	[OPTION_CHECK_CONTINUE] = { "SKYNET_MEM_CHECK_CONTINUE", OPT_FLAG, 0, "0", "MEMORY_CHECK",
		"report a heap error and continue (the block is left alone) instead of aborting" },
	[OPTION_CHECK_LEAKS] = { "SKYNET_MEM_CHECK_LEAKS", OPT_FLAG, 1, "1", "MEMORY_CHECK",
		"list the blocks (sizes, allocation sites) a service still owns when it exits" },
	[OPTION_QUARANTINE] = { "SKYNET_MEM_QUARANTINE", OPT_BYTES, (size_t)1 << 20, "1M", "MEMORY_CHECK",
		"per-thread bound of the quarantine of freed blocks; 0 frees at once" },
	[OPTION_POISON] = { "SKYNET_MEM_POISON", OPT_POISON, 256, "256", "MEMORY_CHECK",
		"user bytes of a freed block poisoned and checked at quarantine exit; full: all, with header and red zone" },
	[OPTION_REDZONE] = { "SKYNET_MEM_REDZONE", OPT_BYTES, 16, "16", "MEMORY_CHECK",
		"bytes checked right after each block's (rounded up to a multiple of 8, at most 4096)" },
	[OPTION_CHECK_EXIT] = { "SKYNET_MEM_CHECK_EXIT", OPT_FLAG, 1, "1", "MEMORY_CHECK",
		"verify every live block when the thread that allocated it exits, and at process exit" },
	[OPTION_NO_REEXEC] = { "SKYNET_MEM_NO_REEXEC", OPT_SET, 0, "unset", "Lua loader",
		"never restart lua5.4 with room for jemalloc's static TLS (the loader reads it itself)" },
	[OPTION_REEXEC] = { "SKYNET_MEM_REEXEC", OPT_SET, 0, "unset", "Lua loader",
		"set by the loader on the restarted process, so it restarts once only" },
	[OPTION_PROFILE_SAMPLE] = { "SKYNET_MEM_PROFILE_SAMPLE", OPT_BYTES, (size_t)512 << 10, "512K", "release",
		"heap profile: mean bytes between two sampled blocks (Poisson); 0 turns sampling off (skynet_mem_profile_set_sample)" },
	[OPTION_GUARD] = { "SKYNET_MEM_GUARD", OPT_COUNT, 0, "0", "release",
		"guard 1 in N blocks (up to 16 KiB) of every service in a guarded slot (docs/guard.md); 0: none" },
	[OPTION_GUARD_SLOTS] = { "SKYNET_MEM_GUARD_SLOTS", OPT_COUNT, 256, "256", "release",
		"guarded slots in the pool (20 KiB of address space each, at most 16 KiB resident), made on first use" },
	[OPTION_GUARD_UNDERFLOW] = { "SKYNET_MEM_GUARD_UNDERFLOW", OPT_FLAG, 0, "0", "release",
		"place guarded blocks at the start of their slot (underflow faults) instead of its end (overflow faults)" },
	[OPTION_LEDGER_SLOTS] = { "SKYNET_MEM_LEDGER_SLOTS", OPT_COUNT, 262144, "262144", "all",
		"most slots of a thread's ledger (rounded down to a power of two, 64..262144; 64 B each); past 32768 only while the process holds more than 5/8 as many services" },
};

struct option_value option_values[OPTIONS];

static size_t parse_bytes(const char *e, size_t def) {
	if (e == NULL || *e == 0)
		return def;
	char *end;
	unsigned long long v = strtoull(e, &end, 10);
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 0: break;
	default: return def;
	}
	if (end == e || v > (SIZE_MAX >> 1) >> shift)
		return def;
	return (size_t)v << shift;
}

static size_t parse_poison(const char *e, size_t def) {
	if (e && strcmp(e, "full") == 0)
		return SIZE_MAX;
	if (e && *e >= '0' && *e <= '9') {
		char *end;
		unsigned long long x = strtoull(e, &end, 10);
		if (*end == 0)
			return x == 0 ? 1 : x >= SIZE_MAX ? SIZE_MAX - 1 : (size_t)x;
	}
	return def;
}

static size_t parse(const struct option *o, const char *e) {
	switch (o->type) {
	case OPT_FLAG:
		return e && e[0] ? e[0] == '1' : o->def;
	case OPT_BYTES:
		return parse_bytes(e, o->def);
	case OPT_POISON:
		return parse_poison(e, o->def);
	case OPT_SET:
		return e != NULL;
	case OPT_REPORT:
		return e == NULL || e[0] == 0 || strcmp(e, "0") == 0 ? REPORT_OFF
			: strcmp(e, "1") == 0 ? REPORT_STDERR : REPORT_FILE;
	case OPT_COUNT: {
		char *end;
		unsigned long long x = e && *e >= '0' && *e <= '9' ? strtoull(e, &end, 10) : 0;
		return e && *e >= '0' && *e <= '9' && *end == 0 && x <= (SIZE_MAX >> 1) ? (size_t)x : o->def;
	}
	case OPT_WORD:
		return e && strcmp(e, "help") == 0 ? WORD_HELP : e && strcmp(e, "markdown") == 0 ? WORD_MARKDOWN : o->def;
	}
	return o->def;
}

size_t option_read(enum option_id id) {
	struct option_value *v = &option_values[id];
	size_t value = parse(&options[id], getenv(options[id].name));
	atomic_store_explicit(&v->value, value, memory_order_relaxed);
	atomic_store_explicit(&v->read, 1, memory_order_release);
	return value;
}

const char *option_text(enum option_id id) {
	return getenv(options[id].name);
}

/* Written with write(2): this runs while the library loads, maybe inside the
 * interposer's first malloc. */
__attribute__((format(printf, 1, 2))) static void print_line(const char *fmt, ...) {
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(STDERR_FILENO, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) < 0)
		return;
}

static void print_table(int markdown) {
	if (markdown) {
		print_line("| Variable | Type | Default | Read by | Meaning |\n|---|---|---|---|---|\n");
		for (int i = 0; i < OPTIONS; i++)
			print_line("| `%s` | %s | %s | %s | %s |\n", options[i].name, type_names[options[i].type],
				options[i].shown, options[i].builds, options[i].meaning);
		return;
	}
	print_line("skynet-mem options (environment variables, each read once on first use):\n");
	for (int i = 0; i < OPTIONS; i++)
		print_line("  %-26s %-14s default %-6s [%s]\n      %s\n", options[i].name,
			type_names[options[i].type], options[i].shown, options[i].builds, options[i].meaning);
}

__attribute__((constructor)) static void options_init(void) {
	size_t word = option_get(OPTION_OPTIONS);
	if (word != WORD_NONE)
		print_table(word == WORD_MARKDOWN);
}
