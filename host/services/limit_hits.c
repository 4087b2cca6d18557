/* Allocations refused at a service's limit, kept for the page: the last
 * LIMIT_HITS_KEPT, a burst from one service (Lua retries after an emergency
 * collection, a loop hitting the wall) folded into one hit with a count. */

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "limit_hits.h"
#include "skynet_mem.h"

#define BURST_MS 1000

static struct {
	pthread_mutex_t lock;
	struct host_limit_hit ring[LIMIT_HITS_KEPT];
	size_t n;         /* hits so far; the ring keeps the last ones */
	uint64_t total;   /* refused allocations so far */
} L = { .lock = PTHREAD_MUTEX_INITIALIZER };

void host_limit_refused(uint32_t handle, const char *kind, size_t request) {
	struct skynet_mem_stat st;
	skynet_mem_flush();   /* this thread's pending deltas, so "used" is exact */
	if (skynet_mem_stat(handle, &st) != 0 || st.limit == 0)
		return;   /* no limit: the allocator itself failed */
	uint64_t now = host_now() * 10;
	pthread_mutex_lock(&L.lock);
	L.total++;
	for (size_t i = L.n; i > 0 && i + LIMIT_HITS_KEPT > L.n; i--) {
		struct host_limit_hit *h = &L.ring[(i - 1) % LIMIT_HITS_KEPT];
		if (h->handle == handle && strcmp(h->kind, kind) == 0 && now - h->last_ms < BURST_MS) {
			h->last_ms = now;
			h->count++;
			h->request = request;
			h->used = st.bytes + st.lua_bytes;
			pthread_mutex_unlock(&L.lock);
			return;
		}
	}
	struct host_limit_hit *h = &L.ring[L.n % LIMIT_HITS_KEPT];
	L.n++;
	memset(h, 0, sizeof(*h));
	h->handle = handle;
	h->kind = kind;
	h->request = request;
	h->used = st.bytes + st.lua_bytes;
	h->limit = st.limit;
	h->first_ms = h->last_ms = now;
	h->count = 1;
	pthread_mutex_unlock(&L.lock);
	/* the name outside our lock: the registry has its own */
	char name[HOST_NAME_MAX_LEN] = "";
	host_service_name(handle, name, sizeof(name));
	pthread_mutex_lock(&L.lock);
	if (h->handle == handle && h->name[0] == '\0')
		memcpy(h->name, name, sizeof(name));
	pthread_mutex_unlock(&L.lock);
}

size_t host_limit_hits(struct host_limit_hit *out, size_t max, uint64_t *total) {
	pthread_mutex_lock(&L.lock);
	size_t kept = L.n < LIMIT_HITS_KEPT ? L.n : LIMIT_HITS_KEPT;
	size_t n = kept < max ? kept : max;
	for (size_t i = 0; i < n; i++)
		out[i] = L.ring[(L.n - n + i) % LIMIT_HITS_KEPT];
	if (total)
		*total = L.total;
	pthread_mutex_unlock(&L.lock);
	return n;
}
