/* The running service's changes before its slot is at hand (ledger_acc,
 * see ledger.h): where they spill into the slot or go to the record, and
 * the switch between services, the slot left published one switch later.
 * The ledger's entry points that must see ledger_acc first (lookup, done,
 * flush, limit) are here too, over ledger_table.c's own. */

#include "ledger.h"
#include "ledger_table.h"

static struct ledger_slot *acc_spill(int need);

/* At a flush: ledger_acc's changes go straight to the service's record
 * (the one a transfer took, else its slot's): the slot is not changed,
 * nothing is listed (skynet flushes after every dispatch). A service with
 * no slot yet, or an exited one (its slot is let go at its publication),
 * goes through the slot. */
static void acc_flush(struct ledger *l) {
	struct ledger_slot *a = &ledger_acc;
	struct mem_record *rec = a->rec;
	if (rec == NULL) {
		struct ledger_slot *s = ledger_find(l, (uint32_t)a->key);
		rec = s ? s->rec : NULL;
	}
	if (rec == NULL || atomic_load_explicit(&rec->retired, memory_order_relaxed)) {
		acc_spill(0);
		return;
	}
	ledger_current = LEDGER_NONE;
	if (acc_changed())
		record_add(rec, a->bytes - SLOT_BIAS, a->blocks, a->lua, a->allocs, a->frees);
}

/* ledger_acc's changes into its service's slot; the slot, or NULL when
 * there is none (not needed: nothing changed; or no memory for a record,
 * when the changes are lost, as any charge's then). need: claim the slot
 * even when nothing changed. The slot takes malloc's fast path on. */
static struct ledger_slot *acc_spill(int need) {
	struct ledger_slot *a = &ledger_acc;
	uint32_t handle = (uint32_t)a->key;
	ledger_current = LEDGER_NONE;   /* first: the lookup may flush or rehash */
	struct ledger_slot *s = ledger_find(ledger_tls, handle);
	if (s == NULL && (need || acc_changed()))
		s = ledger_lookup_table(handle);   /* claims one */
	if (s == NULL)
		return NULL;
	if (acc_add(s)) {
		if (slot_past_batch(s, 0) || slot_past_batch_lua(s))
			slot_done_slow(s);   /* listed as a first change is, published past the batch */
		if (s->key != slot_key(handle))
			s = ledger_lookup_table(handle);   /* published and let go: the service exited */
	}
	if (s && !s->limited && !s->direct)
		ledger_current = s;
	return s;
}

/* The slot left at the last switch, its record fetched meanwhile. Its
 * entry in the list, the last one as a rule, goes with it: the list stays
 * short, and no flush walks the slots published this way. */
static void publish_deferred(struct ledger *l) {
	if (l->deferred_key == 0)
		return;
	unsigned k = l->deferred;
	struct ledger_slot *d = &l->slot[k];
	if (d->key == l->deferred_key && !slot_clean(d)) {
		slot_publish(l, d);
		if (l->nlisted > 0 && l->listed[l->nlisted - 1] == k)
			l->nlisted--;
	}
	l->deferred_key = 0;
}

/* The slot of the service left is at hand: ledger_acc's changes go to it
 * (its line was fetched when the service was switched to). It is published
 * at the next switch, its record line fetched meanwhile, and the slot left
 * at the last switch is published now. The next service's slot is not
 * looked up here (among thousands of services a miss the switch would wait
 * for): its changes start in ledger_acc, and the line is fetched meanwhile. */
void ledger_switch(uint32_t from, uint32_t to, int here) {
	struct ledger *l = ledger_tls;
	if (l == NULL)
		return;
	publish_deferred(l);   /* first: an eviction there may take ledger_acc's changes */
	struct ledger_slot *s = ledger_current;
	if (s == &ledger_acc)
		s = acc_spill(0);
	else if (l->pending == 0)
		s = NULL;   /* nothing pending on the thread (a flush since): nothing to publish */
	else if (s->key != slot_key(from))
		s = ledger_find(l, from);
	ledger_current = LEDGER_NONE;
	if (s && s->key == slot_key(from) && !slot_clean(s)) {
		if (slot_bytes(s) + s->lua > 0) {
			slot_publish(l, s);   /* grown: the peak sees it now, as at every switch */
		} else {
			__builtin_prefetch(s->rec, 1);
			l->deferred = (unsigned)(s - l->slot);
			l->deferred_key = s->key;
		}
	}
	sweep_if_retired(l);
	if (here && !record_may_have_limit(to)) {
		struct ledger_slot *a = &ledger_acc;
		a->key = slot_key(to);
		a->rec = NULL;
		a->bytes = SLOT_BIAS;
		a->blocks = a->lua = 0;
		a->allocs = a->frees = 0;
		ledger_current = a;
	}
	__builtin_prefetch(&l->slot[ledger_index(l, to)], 1);
}

void ledger_settle(uint32_t handle) {
	if (acc_holds(slot_key(handle)))
		acc_spill(0);
}

void ledger_uncache(uint32_t handle) {
	ledger_settle(handle);
	if (ledger_current->key == slot_key(handle))
		ledger_current = LEDGER_NONE;
}

/* A transfer out of the running service, its changes in ledger_acc (rec
 * not taken yet), to t (its record at hand): the running service's record
 * through its slot, which keeps it, so the transfer is the records' alone,
 * as when both slots are at hand, and the next ones take the inline way.
 * With no slot yet, the receiver's record takes its part and ledger_acc the
 * rest. */
__attribute__((noinline)) void ledger_transfer_acc(struct ledger_slot *t, size_t u) {
	struct ledger_slot *f = ledger_find(ledger_tls, (uint32_t)ledger_acc.key);
	if (f != NULL) {
		ledger_acc.rec = f->rec;
		record_move(f->rec, t->rec, (int64_t)u);
		return;
	}
	record_add(t->rec, (int64_t)u, 1, 0, 0, 0);
	slot_charge(&ledger_acc, -(int64_t)u, -1, 0, 0);
}

__attribute__((noinline)) void ledger_transfer_slow(uint32_t from, uint32_t to, size_t u) {
	ledger_charge(from, -(int64_t)u, -1, 0, 0);
	ledger_charge(to, (int64_t)u, 1, 0, 0);
}

void ledger_limit_set(uint32_t handle, size_t limit) {
	struct ledger *l = ledger_tls;
	struct ledger_slot *s = l ? ledger_find(l, handle) : NULL;
	if (s)
		s->limited = limit != 0;
	if (s && s->limited && ledger_current == s)
		ledger_current = LEDGER_NONE;
}

struct ledger_slot *ledger_lookup_slow(uint32_t handle) {
	if (acc_holds(slot_key(handle)))
		return acc_spill(1);   /* its record wanted: the slot takes over */
	return ledger_lookup_table(handle);
}

void ledger_done_slow(struct ledger_slot *s) {
	if (s == &ledger_acc)
		acc_spill(1);   /* past the batch: the slot's own bound applies */
	else
		slot_done_slow(s);
}

void ledger_flush(void) {
	struct ledger *l = ledger_tls;
	if (l != NULL && acc_active())
		acc_flush(l);
	ledger_flush_slots();
}
