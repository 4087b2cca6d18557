#ifndef SKYNET_HOST_KERNEL_H
#define SKYNET_HOST_KERNEL_H

/* The actor kernel of the host: services with 32-bit handles, one mailbox
 * each, a global run queue served by N worker threads, a timer, names. It
 * knows nothing of the services built on it (services/) nor of the views
 * (views/): what it must tell them goes through the hooks below. */

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
	/* Optional: the instance's own count of its Lua heap in bytes (snlua's,
	 * what collectgarbage sees), read from any thread; NULL: none. */
	long long (*lua_mem)(void *inst);
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
	/* Where what it left was allocated: the top sampled sites of its live
	 * blocks (skynet_mem_profile_sites), "" when none was sampled. */
	char sites[200];
};

/* configuration (config.c): a leaf every part reads */
/* The running host's configuration, NULL when it is not running. */
const struct host_config *host_config(void);
/* Keeps a copy of cfg (its strings too) until config_clear. */
int config_set(const struct host_config *cfg);
void config_clear(void);
/* The ports listened on (-1 none), once the views have started. */
int host_console_port(void);
int host_http_port(void);
void config_set_ports(int console_port, int http_port);

/* the kernel's life (start.c): handles, mailboxes, the timer, the workers */
int kernel_start(int threads);   /* 0 = one worker per core; 0, or -1 */
/* Stops the timer and the workers, releases every service (leak reports printed). */
void kernel_stop(void);

/* clock.c: centiseconds since the kernel started */
uint64_t host_now(void);

/* note.c: a line for the operator (exit reports, the logger's lines) goes to
 * stdout, unless a hook (the terminal's live table) keeps it: fn returns 1. */
void host_note(const char *line);
void host_set_note_hook(int (*fn)(const char *line));

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
/* Retires a service (it exits once nobody holds it); 0, or -1 unknown. */
int host_exit_service(uint32_t handle);
/* Sets the display name shown in tables (e.g. the script name). */
void skynet_context_label(struct skynet_context *ctx, const char *label);
int host_service_name(uint32_t handle, char *buf, size_t len);  /* 0, or -1 unknown */
size_t host_service_count(void);
struct host_service_load {
	long long messages;   /* delivered so far */
	size_t mqlen;         /* waiting in the mailbox */
	long long cpu_ns;     /* thread CPU time in the callback (host_config.profile), else 0 */
	long long lua_mem;    /* the module's own count of its Lua heap (snlua), else -1 */
};
/* 0, or -1 when handle is not a live service. */
int host_service_load(uint32_t handle, struct host_service_load *out);
/* 1 while handle has messages waiting or running, 0 when idle, -1 unknown. */
int host_service_busy(uint32_t handle);
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

#endif
