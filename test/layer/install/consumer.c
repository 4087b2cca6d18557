/* A program built against the installed package, using only the contract's names (docs/design.md):
 * it must see exact per-service numbers. Usage: consumer jemalloc|system [owner bytes (4)]
 * (owner bytes: 4 for the trailing cookie, 16 for -DSKYNET_MEM_LAYOUT=header) */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <malloc.h>
#include <skynet_malloc.h>
#include <skynet_mem.h>
#include <malloc_hook.h>
#ifdef HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#define K 100
#define S 100
#define FAIL(...) do { fprintf(stderr, "consumer: " __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)

static void *blocks[K];

static void *service_a(void *arg) {
	(void)arg;
	skynet_mem_set_current(0x0100000au);
	for (int i = 0; i < K; i++)
		blocks[i] = skynet_malloc(S);
	skynet_mem_set_current(0);
	return NULL;
}

int main(int argc, char **argv) {
	if (argc < 2)
		FAIL("usage: consumer jemalloc|system");
	size_t cls, owner = argc > 2 ? (size_t)atoi(argv[2]) : 4;
	if (strcmp(argv[1], "jemalloc") == 0) {
#ifdef HAVE_JEMALLOC
		cls = nallocx(S + owner, 0);   /* the size class of S plus the owner's bytes */
#else
		FAIL("built without jemalloc");
#endif
	} else {
		void *p = malloc(S + owner);
		cls = malloc_usable_size(p);
		free(p);
	}
	pthread_t t;
	pthread_create(&t, NULL, service_a, NULL);
	pthread_join(t, NULL);

	struct skynet_mem_stat st;
	if (skynet_mem_stat(0x0100000au, &st) != 0)
		FAIL("no record for :0100000a");
	if (st.blocks != K || st.bytes != K * cls)
		FAIL("expected %d blocks, %zu bytes; got %zu, %zu", K, K * cls, st.blocks, st.bytes);
	if (malloc_used_memory() < K * cls || malloc_memory_block() < K)
		FAIL("totals below the service's own figures");

	/* service b frees a's blocks: a is charged, b never is */
	skynet_mem_set_current(0x0200000au);
	for (int i = 0; i < K / 2; i++)
		skynet_free(blocks[i]);
	skynet_mem_stat(0x0100000au, &st);
	if (st.blocks != K / 2 || st.bytes != K / 2 * cls)
		FAIL("after frees: got %zu blocks, %zu bytes", st.blocks, st.bytes);
	if (skynet_mem_stat(0x0200000au, &st) == 0 && st.bytes != 0)
		FAIL("the freeing service was charged");

	struct skynet_mem_stat left;
	skynet_mem_service_exit(0x0100000au, &left);
	if (left.blocks != K / 2 || left.bytes != K / 2 * cls)
		FAIL("leak report: got %zu blocks, %zu bytes", left.blocks, left.bytes);
	for (int i = K / 2; i < K; i++)
		skynet_free(blocks[i]);
	skynet_mem_set_current(0);
	printf("consumer: exact (%d blocks of class %zu)\n", K, cls);
	return 0;
}
