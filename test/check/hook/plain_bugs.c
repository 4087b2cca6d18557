/* A plain C program that knows nothing of skynet-mem: run under the check
 * build's interposer (LD_PRELOAD), its heap bugs are caught and reported.
 * Usage: plain_bugs overflow|double-free|usable */

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
	if (argc != 2)
		return 2;
	char *volatile p = malloc(40);
	memset(p, 'x', 40);
	if (strcmp(argv[1], "overflow") == 0) {
		((volatile char *)p)[40 + 3] = 0x5a;
		free(p);
	} else if (strcmp(argv[1], "double-free") == 0) {
		free(p);
		char *q = strdup("reuse");   /* more allocations in between */
		free(p);
		free(q);
	} else if (strcmp(argv[1], "usable") == 0) {
		/* Every byte past the request is the canary's. */
		size_t u = malloc_usable_size(p);
		free(p);
		if (u != 40) {
			fprintf(stderr, "plain_bugs: malloc_usable_size %zu, expected 40\n", u);
			return 1;
		}
	}
	return 0;
}
