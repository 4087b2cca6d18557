/* The current service (see current.h) and skynet_mem_set_current. */

#include "current.h"
#include "ledger.h"
#include "skynet_mem.h"

__thread uint32_t current_tls TLS_IE;
int current_is_default;

__attribute__((weak)) uint32_t skynet_current_handle(void) {
	return current_tls;
}

/* The weak default under a name the host cannot replace. */
extern uint32_t own_current_handle(void) __attribute__((alias("skynet_current_handle"))) HIDDEN;

/* A host that defines skynet_current_handle wins the symbol lookup; the address
 * the dynamic linker resolved tells which one is in force. */
__attribute__((constructor)) static void current_init(void) {
	uint32_t (*volatile resolved)(void) = skynet_current_handle;
	current_is_default = resolved == own_current_handle;
}

/* A host with its own skynet_current_handle never calls set_current: publish
 * when the answer changes, which is a dispatch boundary. */
static __thread uint32_t host_last TLS_IE;

uint32_t current_handle_host(void) {
	uint32_t h = skynet_current_handle();
	if (__builtin_expect(h != host_last, 0)) {
		host_last = h;
		ledger_flush();
	}
	return h;
}

/* Every change to a slot marks it dirty until published: with nothing dirty
 * there is nothing to publish (a host that flushed at the end of the last
 * dispatch, as skynet's glue does, pays no scan here). */
void skynet_mem_set_current(uint32_t handle) {
	current_tls = handle;
	if (ledger_dirty)
		ledger_flush();
}

/* skynet defines skynet_current_handle (a pthread key), and its glue also calls
 * skynet_mem_set_current at every switch: the thread's value is then the
 * answer, without a call into the host per allocation. */
void skynet_mem_use_set_current(void) {
	current_is_default = 1;
}
