#ifndef SKYNET_HOST_CONSOLE_JOBS_H
#define SKYNET_HOST_CONSOLE_JOBS_H

/* The commands answering later (console.h polls them): each returns a job,
 * or NULL after writing an error to f. */

#include <stdio.h>

#include "console.h"

struct console_job *console_ping(FILE *f, const char *addr);
struct console_job *console_gc(FILE *f);
struct console_job *console_grow(FILE *f, const char *seconds, const char *count);

#endif
