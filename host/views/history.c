/* The page's history: a sampling thread adds one sample a second to a fixed
 * ring (HISTORY_SAMPLES), each the totals and the HISTORY_TOP largest
 * services, so the ring's size does not depend on how many services run. */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem-views.h"
#include "observe.h"
#include "page.h"
#include "skynet_mem.h"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int running, quit;
	struct mem_history_sample ring[HISTORY_SAMPLES];
	size_t n;   /* samples so far; the ring keeps the last HISTORY_SAMPLES */
} H = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void store(const struct mem_history_sample *s) {
	pthread_mutex_lock(&H.lock);
	H.ring[H.n % HISTORY_SAMPLES] = *s;
	H.n++;
	pthread_mutex_unlock(&H.lock);
}

void history_add(const struct host_mem_view *v, uint64_t t_ms) {
	struct mem_history_sample s;
	memset(&s, 0, sizeof(s));
	s.t_ms = t_ms;
	s.c_bytes = v->g.totals.bytes;
	s.lua_bytes = v->g.totals.lua_bytes;
	s.orphan_bytes = v->g.orphan_bytes;
	s.services = v->n ? v->n - 1 : 0;
	s.resident = v->g.resident;
	for (size_t i = 0; i < v->n; i++) {
		const struct host_mem_row *r = &v->rows[i];
		mem_history_consider(&s, r->st.handle, r->st.bytes, r->st.lua_bytes);
	}
	for (size_t k = 0; k < s.ntop; k++) {
		const struct host_mem_row *r = host_mem_find(v, s.top[k].handle);
		snprintf(s.top[k].name, sizeof(s.top[k].name), "%s", r ? r->name : "?");
	}
	store(&s);
}

void history_sample(uint64_t t_ms) {
	struct mem_history_sample s;
	mem_history_take(&s, t_ms);
	for (size_t k = 0; k < s.ntop; k++) {
		struct mem_history_service *e = &s.top[k];
		if (e->handle == 0)
			snprintf(e->name, sizeof(e->name), "host");
		else if (host_service_name(e->handle, e->name, sizeof(e->name)) != 0)
			snprintf(e->name, sizeof(e->name), "?");   /* exited meanwhile */
	}
	store(&s);
}

long history_copy(uint64_t since_ms, struct mem_history_sample **out) {
	*out = NULL;
	pthread_mutex_lock(&H.lock);
	size_t kept = H.n < HISTORY_SAMPLES ? H.n : HISTORY_SAMPLES;
	size_t first = H.n - kept, skip = 0;
	while (skip < kept && H.ring[(first + skip) % HISTORY_SAMPLES].t_ms <= since_ms)
		skip++;
	size_t n = kept - skip;
	if (n) {
		*out = malloc(n * sizeof(**out));
		if (*out == NULL) {
			pthread_mutex_unlock(&H.lock);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			(*out)[i] = H.ring[(first + skip + i) % HISTORY_SAMPLES];
	}
	pthread_mutex_unlock(&H.lock);
	return (long)n;
}

static void *history_main(void *arg) {
	(void)arg;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&H.lock);
	while (!H.quit) {
		pthread_mutex_unlock(&H.lock);
		history_sample(host_now() * 10);
		pthread_mutex_lock(&H.lock);
		next.tv_sec += HISTORY_INTERVAL_MS / 1000;
		next.tv_nsec += (long)(HISTORY_INTERVAL_MS % 1000) * 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		while (!H.quit && pthread_cond_timedwait(&H.cond, &H.lock, &next) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&H.lock);
	return NULL;
}

int history_start(void) {
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_destroy(&H.cond);
	pthread_cond_init(&H.cond, &ca);
	pthread_condattr_destroy(&ca);
	H.n = 0;
	H.quit = 0;
	if (pthread_create(&H.thread, NULL, history_main, NULL) != 0)
		return -1;
	H.running = 1;
	return 0;
}

void history_stop(void) {
	if (!H.running)
		return;
	pthread_mutex_lock(&H.lock);
	H.quit = 1;
	pthread_cond_signal(&H.cond);
	pthread_mutex_unlock(&H.lock);
	pthread_join(H.thread, NULL);
	H.running = 0;
}
