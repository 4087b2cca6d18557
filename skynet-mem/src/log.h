#ifndef SKYNET_MEM_LOG_H
#define SKYNET_MEM_LOG_H

/* The log lines' destination (skynet_mem_set_log, skynet_mem_log). */

#include "internal.h"

/* The lock that guards it, for fork.c. */
HIDDEN struct lock_group log_locks(void);

#endif
