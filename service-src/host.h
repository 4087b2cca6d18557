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

#define HOST_NAME_MAX_LEN 32

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
/* 1 while handle has messages waiting or running, 0 when idle, -1 unknown. */
int host_service_busy(uint32_t handle);
/* Sends a PTYPE_SYSTEM message to every live service; returns how many. */
int host_broadcast_system(const char *cmd);
/* Calls fn for each live service handle. */
void host_foreach_service(void (*fn)(uint32_t handle, void *ud), void *ud);

/* Exit reports: printed, kept (the last ones) and given to an optional hook. */
void host_set_exit_hook(void (*fn)(const struct host_exit_report *, void *), void *ud);
size_t host_exit_reports(struct host_exit_report *out, size_t max);

/* names (handle.c): ".name" local names */
int host_register_name(uint32_t handle, const char *name);   /* 0, or -1 taken/bad */
uint32_t host_query_name(const char *name);                  /* 0 unknown */

/* timer (timer.c): a PTYPE_RESPONSE to handle with session after ti centiseconds */
int host_timeout(uint32_t handle, int ti, int session);

/* run.c: runs until seconds pass (0: forever) or SIGINT/SIGTERM; prints the
 * live table every second when table is set. Returns 1 when interrupted. */
int host_run(int seconds, int table);

/* logging: through the logger service when it runs, else stderr */
void host_log(uint32_t source, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
