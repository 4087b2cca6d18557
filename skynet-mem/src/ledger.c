/* Thread-local pending deltas (see ledger.h) and their publication. */

#include <errno.h>
#include <string.h>

#include "backend.h"
#include "ledger.h"
#include "thread_key.h"

__thread struct ledger *ledger_tls TLS_IE;
__thread int ledger_dirty TLS_IE;
/* The thread keeps no ledger: it was destroyed at thread exit, or no thread
 * key could hold it. Every change then goes through ledger_direct and is
 * published at once. */
static __thread int ledger_dead TLS_IE;
static __thread struct ledger_slot ledger_direct TLS_IE;

static int slot_pending(const struct ledger_slot *s) {
	return (s->allocs | s->frees | (uint64_t)s->bytes | (uint64_t)s->blocks | (uint64_t)s->lua) != 0;
}

void ledger_publish(struct ledger_slot *s) {
	if (slot_pending(s)) {
		/* Cleared before the add: if the thread were cancelled inside it,
		 * its exit must not publish the same deltas again. */
		struct ledger_slot d = *s;
		s->bytes = s->blocks = s->lua = 0;
		s->allocs = s->frees = 0;
		int saved = errno;   /* free() must leave errno alone */
		record_add(s->rec, d.bytes, d.blocks, d.lua, d.allocs, d.frees);
		errno = saved;
	}
	if (s->dirty) {
		s->dirty = 0;
		ledger_dirty--;
	}
	if (s->direct) {
		record_release(s->rec);
		s->rec = NULL;
		s->key = 0;
	}
}

static void slot_evict(struct ledger_slot *s) {
	if (s->rec) {
		ledger_publish(s);
		record_release(s->rec);
		s->rec = NULL;
		s->key = 0;
	}
}

static void ledger_destroy(void *p) {
	struct ledger *l = p;
	for (int i = 0; i < LEDGER_SLOTS; i++)
		slot_evict(&l->slot[i]);
	ledger_tls = NULL;
	ledger_dead = 1;
	backend_raw_free(l);
}

static struct thread_key ledger_key = THREAD_KEY_INIT(ledger_destroy);

struct ledger_slot *ledger_lookup_slow(uint32_t handle) {
	struct ledger *l = ledger_tls;
	if (l == NULL) {
		if (ledger_dead) {
			/* No ledger (thread exit flushed it, or no key): publish every change at once.
			 * A path that looked the slot up without changing it (a refused
			 * allocation) may have left a reference here. */
			struct ledger_slot *s = &ledger_direct;
			if (s->rec) {
				if (s->handle == handle)
					return s;
				record_release(s->rec);
			}
			s->rec = record_acquire(handle);
			s->handle = handle;
			s->direct = 1;
			return s->rec ? s : NULL;
		}
		l = backend_raw_alloc(sizeof(*l));
		if (l == NULL)
			return NULL;
		/* Set first: pthread_setspecific may allocate, and must then find it. */
		ledger_tls = l;
		if (thread_key_set(&ledger_key, l) != 0) {
			/* Nothing would publish it at thread exit: give it up (publishing
			 * what the key's own allocation charged) and go direct. */
			ledger_destroy(l);
			return ledger_lookup_slow(handle);
		}
	}
	struct ledger_slot *s = &l->slot[ledger_index(handle)];
	if (s->rec && s->handle == handle)
		return s;
	slot_evict(s);
	s->rec = record_acquire(handle);
	s->handle = handle;
	s->key = s->rec ? slot_key(handle) : 0;
	return s->rec ? s : NULL;
}

int ledger_admit_slow(struct ledger_slot *s, size_t more, size_t limit) {
	int64_t used = atomic_load(&s->rec->bytes) + atomic_load(&s->rec->lua) + s->bytes + s->lua;
	if (used < 0)
		used = 0;
	return (size_t)used <= limit && more <= limit - (size_t)used;
}

void ledger_done_slow(struct ledger_slot *s) {
	if (s->direct || slot_past_batch(s, 0)) {
		ledger_publish(s);
		return;
	}
	s->dirty = 1;   /* first change since published */
	if (++ledger_dirty > DIRTY_MAX)
		ledger_flush();
}

void ledger_flush(void) {
	struct ledger *l = ledger_tls;
	if (l == NULL)
		return;
	for (int i = 0; i < LEDGER_SLOTS; i++) {
		struct ledger_slot *s = &l->slot[i];
		if (s->rec == NULL)
			continue;
		if (s->dirty || slot_pending(s))
			ledger_publish(s);
		/* Let exited services' records be reclaimed. */
		if (atomic_load_explicit(&s->rec->retired, memory_order_relaxed))
			slot_evict(s);
	}
}
