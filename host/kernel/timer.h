#ifndef SKYNET_HOST_TIMER_H
#define SKYNET_HOST_TIMER_H

/* The timer thread (timer.c); host_timeout is in kernel.h. */

int timer_start(void);
void timer_stop(void);

#endif
