/* A program built against the installed MEMORY_CHECK package: one heap bug per
 * run, made by service :0a000001's block and service :0a000002's free.
 * Usage: bugs overflow|underflow|double-free|invalid-free|write-after-free|all
 * ("all" makes every bug once and checks the counts: run it with
 * SKYNET_MEM_CHECK_CONTINUE=1). */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skynet_malloc.h>
#include <skynet_mem.h>

#define OWNER 0x0a000001u
#define FREER 0x0a000002u

static void poke(void *p, ptrdiff_t off) {
	volatile unsigned char *b = (volatile unsigned char *)((uintptr_t)p + (uintptr_t)off);
	*b ^= 0x5a;
}

static char *owned(size_t n) {
	skynet_mem_set_current(OWNER);
	char *p = skynet_malloc(n);
	memset(p, 'a', n);
	skynet_mem_set_current(FREER);
	return p;
}

static void overflow(void) {
	char *p = owned(24);
	poke(p, 24);
	skynet_free(p);
}

static void underflow(void) {
	void *p;
	skynet_mem_set_current(OWNER);
	if (skynet_posix_memalign(&p, 64, 40) != 0 || (uintptr_t)p % 64)
		exit(2);
	skynet_mem_set_current(FREER);
	poke(p, -2);
	skynet_free(p);
}

static void double_free(void) {
	char *p = owned(32);
	skynet_free(p);
	void *reuse = owned(32);   /* the address is not handed out again yet */
	skynet_free(p);
	skynet_free(reuse);
}

static void invalid_free(void) {
	char stack[16];
	char *p = owned(32);
	skynet_free(p + 8);
	skynet_free(stack);
	skynet_free(p);
}

static void write_after_free(void) {
	char *p = owned(48);
	skynet_free(p);
	poke(p, 5);
	skynet_mem_check_quarantine(0);
}

int main(int argc, char **argv) {
	if (argc != 2 || !skynet_mem_has_check()) {
		fprintf(stderr, "bugs: usage: bugs KIND (against a MEMORY_CHECK build)\n");
		return 2;
	}
	static const struct { const char *name; void (*fn)(void); int kind; } bugs[] = {
		{ "overflow", overflow, SKYNET_MEM_CHECK_OVERFLOW },
		{ "underflow", underflow, SKYNET_MEM_CHECK_UNDERFLOW },
		{ "double-free", double_free, SKYNET_MEM_CHECK_DOUBLE_FREE },
		{ "invalid-free", invalid_free, SKYNET_MEM_CHECK_INVALID_FREE },
		{ "write-after-free", write_after_free, SKYNET_MEM_CHECK_WRITE_AFTER_FREE },
	};
	int all = strcmp(argv[1], "all") == 0;
	for (size_t i = 0; i < sizeof(bugs) / sizeof(bugs[0]); i++) {
		if (!all && strcmp(argv[1], bugs[i].name) != 0)
			continue;
		uint64_t before = skynet_mem_check_count(bugs[i].kind);
		bugs[i].fn();
		uint64_t got = skynet_mem_check_count(bugs[i].kind) - before;
		uint64_t want = bugs[i].kind == SKYNET_MEM_CHECK_INVALID_FREE ? 2 : 1;
		if (got != want) {
			fprintf(stderr, "bugs: %s reported %llu times, expected %llu\n", bugs[i].name,
				(unsigned long long)got, (unsigned long long)want);
			return 1;
		}
		if (!all)
			return 0;   /* only reached in continue mode */
	}
	printf("bugs: %s: every report counted, %llu in all\n", argv[1],
		(unsigned long long)skynet_mem_check_errors());
	return 0;
}
