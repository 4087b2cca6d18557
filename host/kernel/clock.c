/* The kernel's clock: centiseconds since it started, as skynet's. */

#include <time.h>

#include "clock.h"

static uint64_t start_ms;

uint64_t clock_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void clock_reset(void) {
	start_ms = clock_ms();
}

uint64_t host_now(void) {
	return (clock_ms() - start_ms) / 10;
}
