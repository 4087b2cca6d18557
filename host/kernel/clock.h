#ifndef SKYNET_HOST_CLOCK_H
#define SKYNET_HOST_CLOCK_H

/* clock.c (host_now is in kernel.h). */

#include "kernel.h"

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t clock_ms(void);
/* host_now counts from here (kernel_start). */
void clock_reset(void);

#endif
