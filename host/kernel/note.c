/* Lines for the operator (exit reports, the logger's stdout): printed,
 * unless the hook a view registers keeps them (the terminal's live table
 * shows them under itself). The kernel so never calls a view. */

#include <stdatomic.h>
#include <stdio.h>

#include "kernel.h"

static _Atomic(int (*)(const char *)) hook;

void host_set_note_hook(int (*fn)(const char *line)) {
	atomic_store(&hook, fn);
}

void host_note(const char *line) {
	int (*fn)(const char *) = atomic_load(&hook);
	if (fn && fn(line))
		return;
	printf("%s\n", line);
	fflush(stdout);
}
