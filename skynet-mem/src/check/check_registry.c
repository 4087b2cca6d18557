/* MEMORY_CHECK live lists: every live block is linked, through its header, in
 * the list of the thread that allocated it, so a service's blocks can be
 * listed and every live block verified without a free. A free or transfer
 * (from any thread) changes a block under its list's lock, after checking
 * under that lock that the header is still the one it identified; so two
 * racing calls on one block see each other. Lists are never freed: threads
 * past LISTS share them. When a thread exits, its list's blocks are verified. */

#include <stdatomic.h>
#include <string.h>

#include "check_registry.h"
#include "thread_key.h"

#define LISTS 1024

struct live_list {
	struct spin_lock lock;
	struct check_head *first;
} __attribute__((aligned(64)));

static struct live_list lists[LISTS];
static atomic_uint next_list;
static __thread uint32_t my_list TLS_IE;   /* index + 1; 0 before the thread's first block */

static void lock(struct live_list *l) {
	spin_lock(&l->lock);
}

static void unlock(struct live_list *l) {
	spin_unlock(&l->lock);
}

static void (*_Atomic exit_hook)(int list);

void live_on_thread_exit(void (*fn)(int list)) {
	atomic_store(&exit_hook, fn);
}

static void on_thread_exit(void *arg) {
	void (*fn)(int) = atomic_load(&exit_hook);
	if (fn)
		fn((int)(uintptr_t)arg - 1);
}

static struct thread_key list_key = THREAD_KEY_INIT(on_thread_exit);

__attribute__((noinline, cold)) static uint32_t thread_list_slow(void) {
	uint32_t i = atomic_fetch_add(&next_list, 1) % LISTS + 1;
	my_list = i;
	/* No key (the process ran out): the thread's exit is not checked. */
	thread_key_set(&list_key, (void *)(uintptr_t)i);
	return i;
}

static inline uint32_t thread_list(void) {
	uint32_t i = my_list;
	if (__builtin_expect(i == 0, 0))
		i = thread_list_slow();
	return i - 1;
}

int live_identify(const void *p, struct check_meta *m) {
	int state = block_identify(p, m);
	uint32_t list;
	if (__builtin_expect(state != REG_NONE, 1) || !block_list_hint(p, &list))
		return state;
	struct live_list *l = &lists[list % LISTS];
	lock(l);
	state = block_identify(p, m);
	unlock(l);
	return state;
}

void live_insert(void *p, struct check_meta *m) {
	m->list = thread_list();
	struct live_list *l = &lists[m->list];
	struct check_head *h = check_hdr(p);
	head_write(p, m);
	h->prev = NULL;
	lock(l);
	h->next = l->first;
	if (l->first)
		l->first->prev = h;
	l->first = h;
	unlock(l);
}

/* A damaged block, reported by the caller, stays live and linked; walks over
 * live blocks pass it by from now on. Under its list's lock. */
static void mark_reported(void *p, struct check_meta *m) {
	if (!m->reported) {
		struct check_meta nm = *m;
		nm.reported = 1;
		head_write(p, &nm);
	}
}

static void unlink_head(struct live_list *l, struct check_head *h) {
	if (h->prev)
		h->prev->next = h->next;
	else
		l->first = h->next;
	if (h->next)
		h->next->prev = h->prev;
}

/* m: p identified live. Takes the lock of p's list with p still live there
 * (REG_LIVE, *out locked, *m as it is now), or returns the state p is in now.
 * The header is sealed: unchanged seal, unchanged block. A changed one is
 * identified again under the lock (a transfer resealed it; a racing free
 * freed it; the address was freed and handed out again, maybe in another
 * list, which is then taken instead). */
static int lock_live(void *p, struct check_meta *m, struct live_list **out) {
	for (int tries = 0; tries < 4; tries++) {
		struct live_list *l = &lists[m->list % LISTS];
		lock(l);
		if (block_seal_now(p) == m->seal) {
			*out = l;
			return REG_LIVE;
		}
		int state = block_identify(p, m);
		if (state == REG_LIVE && &lists[m->list % LISTS] == l) {
			*out = l;
			return REG_LIVE;
		}
		unlock(l);
		if (state != REG_LIVE)
			return state;
	}
	return REG_NONE;
}

int live_free(void *p, uint32_t freer, struct check_meta *m, struct block_fault f[2], int *nf) {
	struct live_list *l;
	*nf = 0;
	int state = lock_live(p, m, &l);
	if (state != REG_LIVE)
		return state;
	/* Verified while surely live: a racing free cannot hand it out meanwhile. */
	*nf = block_faults(p, m, f);
	if (__builtin_expect(*nf == 0, 1)) {
		unlink_head(l, check_hdr(p));
		head_mark_freed(p, m, freer);
	} else {
		mark_reported(p, m);
	}
	unlock(l);
	return REG_LIVE;
}

int live_transfer(void *p, uint32_t owner, struct check_meta *m, struct block_fault f[2], int *nf) {
	struct live_list *l;
	*nf = 0;
	int state = lock_live(p, m, &l);
	if (state != REG_LIVE)
		return state;
	*nf = block_faults(p, m, f);
	if (*nf != 0) {
		mark_reported(p, m);
	} else if (m->owner != owner) {
		struct check_meta nm = *m;
		nm.owner = owner;
		head_write(p, &nm);
	}
	unlock(l);
	return REG_LIVE;
}

struct lock_group live_locks(void) {
	return (struct lock_group){ &lists[0].lock, LISTS, sizeof(lists[0]) };
}

static void scan_list(struct live_list *l, struct live_scan *s) {
	lock(l);
	for (struct check_head *h = l->first; h; h = h->next) {
		void *u = (void *)((uintptr_t)h + CHECK_HEAD_MIN);
		struct check_meta m;
		if (block_identify(u, &m) != REG_LIVE)
			continue;   /* an underflow past the guard broke its seal: found at its free */
		if (s->by_owner && m.owner != s->owner)
			continue;
		int known = m.reported;
		if (s->blocks < SCAN_SHOWN) {
			s->shown[s->blocks] = u;
			s->shown_m[s->blocks] = m;
		}
		s->blocks++;
		struct block_fault f[2];
		int nf = known ? 0 : block_faults(u, &m, f);
		if (__builtin_expect(nf == 0, 1))
			continue;
		mark_reported(u, &m);   /* the caller reports it: once */
		if (s->damaged < SCAN_DAMAGED) {
			struct live_damage *d = &s->bad[s->damaged];
			d->p = u;
			d->m = m;
			memcpy(d->f, f, sizeof(f));
			d->nf = nf;
		}
		s->damaged++;
	}
	unlock(l);
}

void live_scan(struct live_scan *s) {
	s->blocks = s->damaged = 0;
	if (s->list != SCAN_ALL_LISTS) {
		scan_list(&lists[(unsigned)s->list % LISTS], s);
		return;
	}
	unsigned used = atomic_load(&next_list);
	for (unsigned i = 0; i < LISTS && i < used; i++)
		scan_list(&lists[i], s);
}
