#ifndef SKYNET_MEM_LEDGER_RUNNING_H
#define SKYNET_MEM_LEDGER_RUNNING_H

/* Between ledger.c (the table, lookups, publication) and ledger_running.c
 * (ledger_acc and the switch): what each uses of the other. */

#include "ledger.h"

/* ledger_acc holds the running service's changes now. */
static inline int acc_active(void) {
	return ledger_current == &ledger_acc;
}

/* Adds ledger_acc's changes to s (its service's slot), which may stay
 * clean-marked: the caller un-marks it. 0 when there were none. */
HIDDEN int acc_add(struct ledger_slot *s);
/* ledger_acc's changes into its service's slot, which then takes the fast
 * paths; the slot, or NULL (none needed, or no memory). need: claim it even
 * when nothing changed. */
HIDDEN struct ledger_slot *acc_spill(int need);
/* ledger_acc's changes at a flush: to the record, or through the slot. */
HIDDEN void acc_flush(struct ledger *l);

/* The slot claimed for handle, without claiming one. */
HIDDEN struct ledger_slot *ledger_find(struct ledger *l, uint32_t handle);
/* Publishes s; a late change of an exited service's record lets it go. */
HIDDEN void slot_publish(struct ledger *l, struct ledger_slot *s);
/* Lets go of the slots of services that exited since the thread last looked. */
HIDDEN void sweep_if_retired(struct ledger *l);

#endif
