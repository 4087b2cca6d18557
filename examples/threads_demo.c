/* A small threaded "server" on the bare layer: each thread plays a few services,
 * passes message buffers to others (ownership moves with them), some services
 * exit with leftovers. Prints the per-service table and the leak report. */

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "skynet_malloc.h"
#include "skynet_mem.h"

#define ROOMS 4
#define ROUNDS 2000

struct mailbox {
	pthread_mutex_t lock;
	void *msg[64];
	int n;
};

static struct mailbox db_box = { .lock = PTHREAD_MUTEX_INITIALIZER };
static const char *names[] = { "gate", "room1", "room2", "room3", "room4", "db", "leaky" };

static uint32_t handle_of(int i) {
	return 0x01000000u + (uint32_t)i + 1;   /* skynet-style :0100000N */
}

/* A room keeps some state, and sends its results to the db service. */
static void *room(void *arg) {
	int id = (int)(intptr_t)arg;
	uint32_t me = handle_of(id);
	void *state[16] = { 0 };
	for (int r = 0; r < ROUNDS; r++) {
		skynet_mem_set_current(me);   /* dispatch begins */
		int k = r % 16;
		skynet_free(state[k]);
		state[k] = skynet_malloc(64 + (size_t)(r % 7) * 100 * id);
		char *msg = skynet_malloc(128);
		snprintf(msg, 128, "room%d round %d", id, r);
		pthread_mutex_lock(&db_box.lock);
		if (db_box.n < 64) {
			skynet_mem_transfer(msg, handle_of(5));   /* the payload now belongs to db */
			db_box.msg[db_box.n++] = msg;
			msg = NULL;
		}
		pthread_mutex_unlock(&db_box.lock);
		skynet_free(msg);
		skynet_mem_set_current(0);    /* dispatch ends: counters published */
	}
	for (int k = 0; k < 16; k++)
		skynet_free(state[k]);
	return NULL;
}

static void drain_db(void) {
	skynet_mem_set_current(handle_of(5));
	pthread_mutex_lock(&db_box.lock);
	for (int i = 0; i < db_box.n; i++)
		skynet_free(db_box.msg[i]);
	db_box.n = 0;
	pthread_mutex_unlock(&db_box.lock);
	skynet_mem_set_current(0);
}

static void print_table(const char *title) {
	printf("\n%s\n%-10s %-6s %12s %8s %12s %10s\n", title, "handle", "name", "C bytes", "blocks", "peak", "allocs");
	for (int i = 0; i < 7; i++) {
		struct skynet_mem_stat st;
		if (skynet_mem_stat(handle_of(i), &st) != 0)
			continue;
		printf(":%08x %-6s %12zu %8zu %12zu %10llu%s\n", st.handle, names[i], st.bytes, st.blocks,
			st.peak, (unsigned long long)st.allocs, st.retired ? "  (exited)" : "");
	}
	struct skynet_mem_totals t;
	skynet_mem_totals(&t);
	printf("total: %zu bytes in %zu blocks over %zu services\n", t.bytes, t.blocks, t.services);
}

static void exit_service(int i) {
	struct skynet_mem_stat left;
	skynet_mem_service_exit(handle_of(i), &left);
	printf("service :%08x (%s) exited: leaked %zu bytes in %zu blocks%s\n", left.handle, names[i],
		left.bytes, left.blocks, left.blocks ? "  <-- LEAK" : "");
}

int main(void) {
	skynet_mem_set_current(handle_of(0));   /* gate owns the session table */
	void *sessions = skynet_calloc(1000, 32);
	skynet_mem_set_current(handle_of(6));   /* leaky forgets its buffers */
	for (int i = 0; i < 10; i++)
		skynet_malloc(4096);
	skynet_mem_set_current(0);

	pthread_t t[ROOMS];
	for (int i = 0; i < ROOMS; i++)
		pthread_create(&t[i], NULL, room, (void *)(intptr_t)(i + 1));
	for (int round = 0; round < 50; round++)
		drain_db();
	for (int i = 0; i < ROOMS; i++)
		pthread_join(t[i], NULL);
	print_table("per-service memory while running:");
	drain_db();

	printf("\nleak report:\n");
	for (int i = 1; i < 7; i++)
		exit_service(i);
	skynet_mem_set_current(handle_of(0));
	skynet_free(sessions);
	skynet_mem_set_current(0);
	exit_service(0);
	print_table("after exits (leftovers stay with the exited services):");
	return 0;
}
