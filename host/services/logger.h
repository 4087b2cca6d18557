#ifndef SKYNET_HOST_LOGGER_H
#define SKYNET_HOST_LOGGER_H

/* The logger service (logger.c) and the lines sent to it. */

#include "kernel.h"

/* The "logger" service type: host_start launches one, named ".logger". */
extern const struct skynet_module host_logger_module;

/* A line as source's message to .logger when it runs, else to stderr. */
void host_log(uint32_t source, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* host_log(0, line): what the host registers with skynet_mem_set_log. */
void host_log_line(void *ud, const char *line);

#endif
