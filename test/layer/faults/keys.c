/* Every pthread key used up before the layer's first allocation: threads
 * still allocate and exit without a crash, their counts are exact, and the
 * program's own key destructors receive only the program's own values.
 * "keys 100": the program takes only 100 keys, so the layer's key lies past
 * glibc's first 32 and setting it allocates, through the layer itself. */

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "faults.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"

#define H 0x0b000001u
#define THREADS 8
#define BLOCKS 200
#define KEPT 10
#define MAX_KEYS 4096

static pthread_key_t keys[MAX_KEYS];
static int nkeys;
static char mine[MAX_KEYS];      /* key i holds &mine[i] */
static atomic_int foreign;       /* destructor calls with a value not ours */
static void *kept[THREADS][KEPT];

static void app_destructor(void *v) {
	if ((char *)v < mine || (char *)v >= mine + MAX_KEYS)
		atomic_fetch_add(&foreign, 1);
}

static void *worker(void *arg) {
	void **out = arg;
	for (int i = 0; i < nkeys; i++)
		pthread_setspecific(keys[i], &mine[i]);
	skynet_mem_set_current(H);
	void *p[BLOCKS];
	for (int i = 0; i < BLOCKS; i++) {
		p[i] = skynet_malloc(16 + i * 8);
		EXPECT(p[i] != NULL, "malloc %d", i);
	}
	/* Many services: the ledger's slots are evicted and refilled. */
	for (uint32_t h = 1; h <= 200; h++) {
		skynet_mem_set_current(H + h);
		skynet_free(skynet_malloc(32));
	}
	skynet_mem_set_current(H);
	for (int i = KEPT; i < BLOCKS; i++)
		skynet_free(p[i]);
	memcpy(out, p, KEPT * sizeof(void *));
	return NULL;
}

int main(int argc, char **argv) {
	int want = argc > 1 ? atoi(argv[1]) : MAX_KEYS;
	while (nkeys < want && pthread_key_create(&keys[nkeys], app_destructor) == 0)
		nkeys++;
	EXPECT(nkeys < MAX_KEYS, "keys never ran out");
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		EXPECT(pthread_create(&t[i], NULL, worker, kept[i]) == 0, "create");
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	EXPECT(atomic_load(&foreign) == 0, "%d destructor calls got the layer's pointer", atomic_load(&foreign));
	size_t charged = 0;
	for (int i = 0; i < THREADS; i++)
		for (int j = 0; j < KEPT; j++)
			charged += skynet_mem_block_charge(kept[i][j]);
	struct skynet_mem_stat st;
	EXPECT(skynet_mem_stat(H, &st) == 0, "no record");
	EXPECT(st.allocs == THREADS * BLOCKS, "allocs %llu", (unsigned long long)st.allocs);
	EXPECT(st.frees == THREADS * (BLOCKS - KEPT), "frees %llu", (unsigned long long)st.frees);
	EXPECT(st.blocks == THREADS * KEPT, "blocks %zu", st.blocks);
	EXPECT(st.bytes == charged, "bytes %zu, charged %zu", st.bytes, charged);
	for (uint32_t h = 1; h <= 200; h++) {
		EXPECT(skynet_mem_stat(H + h, &st) == 0, "no record for %u", h);
		EXPECT(st.allocs == THREADS && st.frees == THREADS && st.blocks == 0 && st.bytes == 0,
			"service %u: allocs %llu blocks %zu", h, (unsigned long long)st.allocs, st.blocks);
	}
	for (int i = 0; i < THREADS; i++)
		for (int j = 0; j < KEPT; j++)
			skynet_free(kept[i][j]);
	EXPECT(skynet_mem_stat(H, &st) == 0 && st.blocks == 0 && st.bytes == 0, "left %zu", st.blocks);
	printf("PASS: %d keys taken by the program, %d threads counted exactly\n", nkeys, THREADS);
	return 0;
}
