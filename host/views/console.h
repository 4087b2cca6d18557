#ifndef SKYNET_HOST_CONSOLE_H
#define SKYNET_HOST_CONSOLE_H

/* Between the console's connections (console.c) and its commands
 * (console_cmd.c). Answers end as skynet's debug_console's: "<CMD OK>" or
 * "<CMD Error>" on a line of their own. */

#include <stdint.h>
#include <stdio.h>

/* A command whose answer comes later (ping, gc, grow): the console polls it
 * without blocking, other clients being served meanwhile. */
struct console_job;

/* Runs one line, writing its answer, end marker included, to f. Returns NULL
 * when answered, else a job to poll. */
struct console_job *console_run(FILE *f, char *line);
/* Milliseconds (CLOCK_MONOTONIC) when the job wants polling again. */
uint64_t console_job_due(const struct console_job *job);
/* 1 when the job wrote its answer to f (and freed itself), 0 when not yet. */
int console_job_poll(struct console_job *job, FILE *f);
void console_job_free(struct console_job *job);

uint64_t console_now_ms(void);

#endif
