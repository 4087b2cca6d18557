/* The current service (see current.h) and skynet_mem_set_current. */

#include "current.h"
#include "ledger.h"
#include "skynet_mem.h"

__thread uint32_t current_tls TLS_IE;
int current_is_default;
void (*current_switch_hook)(uint32_t handle);

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
		uint32_t from = host_last;
		host_last = h;
		if (h == 0)
			ledger_flush();
		else
			ledger_switch(from, h, 0);
	}
	return h;
}

/* Publishes only the service left (ledger_switch): with thousands of services
 * per worker, a switch walks nothing. */
void skynet_mem_set_current(uint32_t handle) {
	uint32_t from = current_tls;
	current_tls = handle;
	if (handle == 0)
		ledger_flush();
	else
		ledger_switch(from, handle, current_is_default && current_switch_hook == NULL);
	if (__builtin_expect(current_switch_hook != NULL, 0))
		current_switch_hook(handle);   /* guard.c: a guarded service's blocks are counted here */
}

uint32_t skynet_mem_get_current(void) {
	return current_tls;
}

/* skynet defines skynet_current_handle (a pthread key), and its glue also calls
 * skynet_mem_set_current at every switch: the thread's value is then the
 * answer, without a call into the host per allocation. */
void skynet_mem_use_set_current(void) {
	current_is_default = 1;
}
