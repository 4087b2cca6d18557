/* MEMORY_CHECK live lists: every live block is linked, through its header, in
 * the list of the thread that allocated it, so a service's leaks can be listed
 * when it exits. A free (from any thread) turns the block from live to freed
 * under its list's lock, which also makes two racing frees of one block see
 * each other. Lists are never freed: threads past LISTS share them. */

#include <stdatomic.h>
#include <string.h>

#include "check_registry.h"

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

static uint32_t thread_list(void) {
	uint32_t i = my_list;
	if (__builtin_expect(i == 0, 0))
		my_list = i = atomic_fetch_add(&next_list, 1) % LISTS + 1;
	return i - 1;
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

int live_mark_freed(void *p, uint32_t freer, struct check_meta *m) {
	int state;
	struct live_list *l = &lists[m->list];
	struct check_head *h = check_hdr(p);
	lock(l);
	/* Still sealed live under the lock: a racing free of the same block is seen. */
	state = h->seal == m->seal ? REG_LIVE : REG_FREED;
	if (state == REG_LIVE) {
		if (h->prev)
			h->prev->next = h->next;
		else
			l->first = h->next;
		if (h->next)
			h->next->prev = h->prev;
		h->prev = h->next = NULL;
		head_mark_freed(p, m, freer);
	}
	unlock(l);
	if (state != REG_LIVE)
		state = block_identify(p, m);   /* freed meanwhile: as it is now */
	return state;
}

int live_set_owner(void *p, uint32_t owner, struct check_meta *m) {
	int state = block_identify(p, m);
	if (state != REG_LIVE)
		return state;
	struct live_list *l = &lists[m->list];
	lock(l);
	state = check_hdr(p)->seal == m->seal ? REG_LIVE : REG_FREED;
	if (state == REG_LIVE) {
		struct check_meta nm = *m;
		nm.owner = owner;
		head_write(p, &nm);
	}
	unlock(l);
	return state;
}

/* fork() while another thread holds a list would leave it locked forever in
 * the child: check_report.c takes every lock around fork (pthread_atfork). */
void live_lock_all(void) {
	for (unsigned i = 0; i < LISTS; i++)
		lock(&lists[i]);
}

void live_unlock_all(void) {
	for (unsigned i = LISTS; i-- > 0;)
		unlock(&lists[i]);
}

/* Copies out under each lock, so the caller prints unlocked (printing may allocate). */
size_t live_owned(uint32_t owner, void **p, struct check_meta *m, size_t max) {
	size_t total = 0;
	unsigned used = atomic_load(&next_list);
	for (unsigned i = 0; i < LISTS && i < used; i++) {
		struct live_list *l = &lists[i];
		lock(l);
		for (struct check_head *h = l->first; h; h = h->next) {
			if ((uint32_t)h->who != owner)
				continue;
			if (total < max) {
				void *u = (void *)((uintptr_t)h + CHECK_HEAD_MIN);
				if (block_identify(u, &m[total]) != REG_LIVE)
					continue;
				p[total] = u;
				m[total].site = block_site(u, &m[total]);   /* still ours under the lock */
			}
			total++;
		}
		unlock(l);
	}
	return total;
}
