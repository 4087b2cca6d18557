/* What the two release layouts (block.c, block_header.c) share beyond
 * block_ledger.h: the service exit hook, which has nothing to list there
 * (the check build lists the blocks), and the block layer's locks. */

#include "block.h"
#include "guard.h"
#include "guard_pool.h"
#include "large_owner.h"

void block_service_exit(uint32_t handle, size_t blocks) {
	(void)handle, (void)blocks;
}

/* The large owner table's, then the guarded pool's and its policy's. */
size_t block_locks(struct lock_group out[BLOCK_LOCK_GROUPS]) {
	const struct lock_group all[] = { large_owner_locks(), guard_locks(), guard_policy_locks() };
	_Static_assert(sizeof(all) / sizeof(all[0]) <= BLOCK_LOCK_GROUPS, "fork.c makes room for them all");
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		out[i] = all[i];
	return sizeof(all) / sizeof(all[0]);
}
