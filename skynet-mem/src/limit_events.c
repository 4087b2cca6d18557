/* Limit crossings (limit_events.h) and the host's choice of what an
 * allocation past a limit does (skynet_mem_set_limit_mode). */

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "limit_events.h"

#define EVENTS 64

static atomic_int soft_c;

static struct {
	struct spin_lock lock;
	struct skynet_mem_limit_event ring[EVENTS];
	uint64_t head, tail;   /* taken, queued so far */
	uint64_t lost;         /* overwritten since the last take */
} E;
static atomic_int pending;
static atomic_uint_fast64_t refusals;   /* every allocation refused at a limit */

void skynet_mem_set_limit_mode(int mode) {
	atomic_store(&soft_c, mode == SKYNET_MEM_LIMIT_SOFT_C);
}

int limit_crossed(struct mem_record *r, size_t used, size_t lua, size_t limit, size_t request, int c) {
	/* SOFT_C: C always; Lua unless its own heap would pass the limit (what
	 * skynet.memlimit means), so C bytes a service holds or was sent never
	 * leave its Lua unable to handle even the error. */
	int admit = atomic_load_explicit(&soft_c, memory_order_relaxed)
		&& (c || (lua <= limit && request <= limit - lua));
	if (!admit)
		atomic_fetch_add_explicit(&refusals, 1, memory_order_relaxed);
	if (atomic_exchange_explicit(&r->over, 1, memory_order_relaxed))
		return admit;   /* already past it: the same crossing */
	atomic_fetch_add_explicit(&r->limit_hits, 1, memory_order_relaxed);
	spin_lock(&E.lock);
	if (E.tail - E.head == EVENTS) {
		E.head++;
		E.lost++;
	}
	E.ring[E.tail++ % EVENTS] = (struct skynet_mem_limit_event){
		.handle = r->handle, .lua = !c, .refused = !admit,
		.used = used, .limit = limit, .request = request,
	};
	atomic_store_explicit(&pending, 1, memory_order_release);
	spin_unlock(&E.lock);
	return admit;
}

int skynet_mem_limit_pending(void) {
	return atomic_load_explicit(&pending, memory_order_acquire);
}

int skynet_mem_limit_event(struct skynet_mem_limit_event *out, uint64_t *lost) {
	int got = 0;
	spin_lock(&E.lock);
	if (lost) {
		*lost = E.lost;
		E.lost = 0;
	}
	if (E.head != E.tail) {
		if (out)
			*out = E.ring[E.head % EVENTS];
		E.head++;
		got = 1;
	}
	atomic_store_explicit(&pending, E.head != E.tail, memory_order_release);
	spin_unlock(&E.lock);
	return got;
}

uint64_t skynet_mem_limit_refusals(void) {
	return atomic_load_explicit(&refusals, memory_order_relaxed);
}

/* A reader of its own: the ring's slots from *cursor (clamped to the oldest
 * still kept) to the newest, whatever skynet_mem_limit_event took. */
size_t skynet_mem_limit_events_since(uint64_t *cursor, struct skynet_mem_limit_event *out, size_t max,
	uint64_t *lost) {
	size_t n = 0;
	spin_lock(&E.lock);
	uint64_t oldest = E.tail > EVENTS ? E.tail - EVENTS : 0, at = *cursor;
	if (lost)
		*lost = at < oldest ? oldest - at : 0;
	if (at < oldest)
		at = oldest;
	if (at > E.tail)
		at = E.tail;   /* a cursor from the future: start at the newest */
	for (; at < E.tail && n < max; at++)
		out[n++] = E.ring[at % EVENTS];
	*cursor = at;
	spin_unlock(&E.lock);
	return n;
}

struct lock_group limit_event_locks(void) {
	return (struct lock_group){ &E.lock, 1, sizeof(E) };
}
