/* MEMORY_CHECK without a free: a block the program never frees is verified
 * too. Every live block's guard and red zone are checked when its service
 * exits (before its leaks are listed), when the thread that allocated it
 * exits, at process exit (with the exiting thread's quarantine), and on
 * demand (skynet_mem_check_all). What is found is reported as at a free,
 * naming the owner; the block is left alone. */

#include <stdint.h>

#include "block.h"
#include "check_quarantine.h"
#include "check_registry.h"
#include "check_report.h"
#include "options.h"
#include "skynet_mem.h"

/* Reports what a walk found; returns the damaged blocks. */
static size_t report_walk(const struct live_scan *s, const char *op) {
	size_t shown = s->damaged < SCAN_DAMAGED ? s->damaged : SCAN_DAMAGED;
	for (size_t i = 0; i < shown; i++) {
		const struct live_damage *d = &s->bad[i];
		for (int k = 0; k < d->nf; k++) {
			struct check_report r = { d->f[k].kind, op, d->p, &d->m, d->f[k].offset, d->f[k].span, NULL, 1 };
			check_report(&r);
		}
	}
	if (s->damaged > shown)
		check_count_only(CHECK_OVERFLOW, s->damaged - shown);   /* kind unknown: past the first ones */
	return s->damaged;
}

void block_service_exit(uint32_t handle, size_t blocks) {
	if (blocks == 0)
		return;   /* the service owns no block */
	struct live_scan s = { .list = SCAN_ALL_LISTS, .by_owner = 1, .owner = handle };
	live_scan(&s);
	report_walk(&s, "service exit");
	size_t shown = s.blocks < SCAN_SHOWN ? s.blocks : SCAN_SHOWN;
	check_leak_report(handle, blocks, s.shown, s.shown_m, shown);
}

static void thread_exit(int list) {
	if (!option_get(OPTION_CHECK_EXIT))
		return;
	struct live_scan s = { .list = list };
	live_scan(&s);
	report_walk(&s, "thread exit");
}

size_t skynet_mem_check_all(void) {
	struct live_scan s = { .list = SCAN_ALL_LISTS };
	live_scan(&s);
	return report_walk(&s, "check") + quarantine_check_mine(0);
}

/* After main returns (or exit): library destructors run after the program's
 * atexit handlers. Blocks freed later still go through the quarantine. */
__attribute__((destructor)) static void process_exit(void) {
	if (!option_get(OPTION_CHECK_EXIT))
		return;
	struct live_scan s = { .list = SCAN_ALL_LISTS };
	live_scan(&s);
	report_walk(&s, "process exit");
	quarantine_check_mine(1);
}

__attribute__((constructor)) static void scan_init(void) {
	live_on_thread_exit(thread_exit);
}
