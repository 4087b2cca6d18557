#ifndef SKYNET_HOST_H
#define SKYNET_HOST_H

/* skynet-host: the actor kernel (kernel/) with its services (services/) and
 * the operator's views (views/), started as one. What a program embedding
 * the host includes; the parts' own headers say the rest. */

#include "kernel.h"
#include "logger.h"

/* host.c: the configuration, the kernel, snlua and the logger, then the
 * console, HTTP and the page's history as cfg asks. 0, or -1 (all stopped). */
int host_start(const struct host_config *cfg);
/* Stops the views, then the kernel (every service released, leak reports printed). */
void host_stop(void);

/* run.c: runs until seconds pass (0: forever) or SIGINT/SIGTERM; prints the
 * live table every second when table is set. Returns 1 when interrupted. */
int host_run(int seconds, int table);
/* What host_run catches, caught from now on: a program that prints its ports
 * before host_run calls it first, so a SIGTERM in between stops it cleanly. */
void host_catch_signals(void);

#endif
