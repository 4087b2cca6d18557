#ifndef SKYNET_HOST_H
#define SKYNET_HOST_H

/* A small skynet-style actor host embedding skynet-mem: services with 32-bit
 * handles, one mailbox each, a global run queue served by N worker threads. */

#include <stddef.h>
#include <stdint.h>

/* Message types (skynet's numbers). */
#define PTYPE_TEXT 0
#define PTYPE_RESPONSE 1
#define PTYPE_SYSTEM 4     /* host control for C services: "gc" */
#define PTYPE_ERROR 7
#define PTYPE_LUA 10

#define HOST_NAME_MAX_LEN 64   /* with the NUL; longer labels are cut at a UTF-8 boundary */

struct skynet_context;

/* Returns 1 to keep msg (the callee then owns and frees it), 0 to let the host free it. */
typedef int (*skynet_cb)(struct skynet_context *ctx, void *ud, int type, int session,
	uint32_t source, const void *msg, size_t sz);

struct skynet_module {
	const char *name;
	void *(*create)(void);
	int (*init)(void *inst, struct skynet_context *ctx, const char *param);
	void (*release)(void *inst);
};

struct host_config {
	int threads;              /* worker threads; 0 = number of cores */
	const char *service_path; /* snlua's script templates, "dir/?.lua;dir2/?.lua" */
	const char *lua_path;     /* extra package.path entries */
	int console_port;         /* -1 none, 0 a free port */
	int http_port;            /* -1 none, 0 a free port */
	int quiet;                /* 1: leak reports and logs not printed */
	int port_fallback;        /* 1: a busy port is replaced by a free one (that port only) */
	int http_timeout;         /* seconds an idle HTTP connection is kept; 0 = 10 */
	int http_per_ip;          /* HTTP connections per client address; 0 = 64 */
	int console_clients;      /* console clients at once; 0 = 32 */
	int console_idle;         /* seconds before an idle console client is closed; 0 = 300 */
	int profile;              /* 1: CPU time per service (the console's stat); two clock reads a message */
	int metrics_top;          /* /metrics: only the top N services by bytes, plus "rest"; 0 = all */
};

/* One exited service's leftovers, reported by skynet_mem_service_exit. */
struct host_exit_report {
	uint32_t handle;
	char name[HOST_NAME_MAX_LEN];
	size_t bytes, blocks, lua_bytes;
	uint64_t when;   /* host_now() at the exit */
};

/* host lifecycle (start.c) */
int host_start(const struct host_config *cfg);
/* Stops workers and timer, releases every service (leak reports printed). */
void host_stop(void);
const struct host_config *host_config(void);
int host_console_port(void);
int host_http_port(void);
uint64_t host_now(void);  /* centiseconds since start */

/* modules (module.c) */
int host_module_register(const struct skynet_module *mod);
const struct skynet_module *host_module_find(const char *name);

/* services (context.c) */
uint32_t host_launch(const char *module, const char *param);   /* 0 on failure */
void skynet_callback(struct skynet_context *ctx, void *ud, skynet_cb cb);
uint32_t skynet_context_handle(const struct skynet_context *ctx);
int skynet_context_newsession(struct skynet_context *ctx);
/* Sends data (skynet_malloc'd by the sender, or NULL) to dest; on failure
 * (dead dest) the data is freed. session < 0 allocates a new one. Returns the
 * session, or -1 when dest is unknown. */
int skynet_send(struct skynet_context *ctx, uint32_t source, uint32_t dest, int type,
	int session, void *data, size_t sz);
/* As skynet_send, copying sz bytes first (charged to the current service). */
int skynet_send_copy(struct skynet_context *ctx, uint32_t dest, int type, int session,
	const void *msg, size_t sz);
void host_exit_service(uint32_t handle);
/* Sets the display name shown in tables (e.g. the script name). */
void skynet_context_label(struct skynet_context *ctx, const char *label);
int host_service_name(uint32_t handle, char *buf, size_t len);  /* 0, or -1 unknown */
size_t host_service_count(void);
/* Messages delivered to handle so far, or -1 when unknown. */
long long host_service_messages(uint32_t handle);
struct host_service_load {
	long long messages;   /* delivered so far */
	size_t mqlen;         /* waiting in the mailbox */
	long long cpu_ns;     /* thread CPU time in the callback (host_config.profile), else 0 */
};
/* 0, or -1 when handle is not a live service. */
int host_service_load(uint32_t handle, struct host_service_load *out);
/* 1 while handle has messages waiting or running, 0 when idle, -1 unknown. */
int host_service_busy(uint32_t handle);
/* Sends a PTYPE_SYSTEM message to every live service; returns how many. */
int host_broadcast_system(const char *cmd);
/* Calls fn for each live service handle; -1 (fn never called) out of memory. */
int host_foreach_service(void (*fn)(uint32_t handle, void *ud), void *ud);

/* Exit reports: printed, kept (the last ones) and given to an optional hook. */
void host_set_exit_hook(void (*fn)(const struct host_exit_report *, void *), void *ud);
size_t host_exit_reports(struct host_exit_report *out, size_t max);
/* The last exits that left memory behind (clean exits are not kept here). */
size_t host_leak_reports(struct host_exit_report *out, size_t max);
/* The name of an exited service still in the reports kept; 0, or -1. */
int host_exit_name(uint32_t handle, char *buf, size_t len);

/* names (handle.c): ".name" local names */
int host_register_name(uint32_t handle, const char *name);   /* 0, or -1 taken/bad */
uint32_t host_query_name(const char *name);                  /* 0 unknown */

/* timer (timer.c): a PTYPE_RESPONSE to handle with session after ti centiseconds */
int host_timeout(uint32_t handle, int ti, int session);

/* run.c: runs until seconds pass (0: forever) or SIGINT/SIGTERM; prints the
 * live table every second when table is set. Returns 1 when interrupted. */
int host_run(int seconds, int table);
/* What host_run catches, caught from now on: a program that prints its ports
 * before host_run calls it first, so a SIGTERM in between stops it cleanly. */
void host_catch_signals(void);

/* logging: through the logger service when it runs, else stderr */
void host_log(uint32_t source, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
