#ifndef SKYNET_MEM_SKYNET_H
#define SKYNET_MEM_SKYNET_H

/* skynet-mem's glue for skynet (installed by apply.sh into skynet-src/ and
 * included by the files it patches: skynet_server.c, skynet_mq.c,
 * skynet_socket.c, skynet_handle.c). skynet_server.c also calls
 * skynet_mem_set_current wherever it sets a thread's current handle. */

#include <stddef.h>
#include <stdint.h>

#include "skynet_mem.h"

/* 3rd/lua's shared code cache (lauxlib.c's states of loaded chunks): its own
 * pseudo-owner, named "code cache", charged as Lua bytes. */
#define SKYNET_MEM_CODE_CACHE 0xfffffff0u
/* skynet's main thread (skynet_initthread(THREAD_MAIN)): also the owner of
 * the process's tables, the handle and name tables and the environment. */
#define SKYNET_MEM_MAIN 0xffffffffu
/* skynet's timer thread: also the owner of the pending timeouts. */
#define SKYNET_MEM_TIMER 0xfffffffdu

/* Call where skynet sets a thread's current handle at thread start
 * (skynet_initthread, v = skynet's (uint32_t)-m): the layer follows
 * skynet_mem_set_current from then on, leaves the Lua heap warning to snlua,
 * admits C allocations past a limit (SKYNET_MEM_LIMIT_SOFT_C: skynet's C
 * code does not check for NULL; Lua growth fails when the Lua heap alone
 * would pass the limit),
 * names the thread's row (main, socket, timer, monitor, worker) and installs
 * the mailbox reader; the library's log lines go to skynet's logger
 * (skynet_mem_set_log). */
void skynet_mem_thread_init(uint32_t handle);

/* A service's birth, in skynet_context_new. */
struct skynet_mem_birth {
	uint32_t creator;
	size_t lua_bytes;
};
/* Call before skynet_module_instance_create. */
struct skynet_mem_birth skynet_mem_birth_begin(void);
/* Call once the new service has its handle: the Lua heap its instance made on
 * the creator's account (snlua's lua_newstate), its context and (for skynet's
 * own modules, whose create returns a skynet_malloc block) its instance
 * become its own; it is named "module param"; and until skynet_mem_birth_done
 * new blocks (its mailbox, what its init makes) are charged to it. */
void skynet_mem_birth_end(const struct skynet_mem_birth *birth, uint32_t handle,
	void *ctx, void *inst, const char *module, const char *param);
/* Call after the module's init: the creator is charged again. */
void skynet_mem_birth_done(const struct skynet_mem_birth *birth);
/* Call when the service's mailbox is gone (skynet_mq.c, after its dropped
 * messages were freed): reports what it still owns to skynet's logger (one
 * line, with its name) and retires its record. */
void skynet_mem_death(uint32_t handle);
/* Logs the limit crossings the layer queued (skynet_mem_limit_event) through
 * skynet's logger, one line each: called at the end of a dispatch when
 * skynet_mem_limit_pending() says there are some. */
void skynet_mem_log_limits(void);
/* skynet_handle_namehandle gave the service a registered name (without its
 * dot): it is named ".name", and the name's copy (freed when it retires) is its. */
void skynet_mem_named(uint32_t handle, const char *name);

/* skynet_socket.c's forward_message: a data (TCP or UDP) buffer the socket
 * thread read becomes the receiver's, if it is still alive (else it stays
 * the socket thread's, which frees it). skynet_socket_poll publishes the
 * socket thread's changes after each event (skynet_mem_flush), so it lets go
 * of exited services' records. */
void skynet_mem_socket_data(void *buffer, uint32_t handle);
/* skynet_server.c's drop_message, before it frees a dropped message's
 * payload (a dead service's mailbox): a socket message's read buffer is
 * freed too, on the dead service's account. */
void skynet_mem_dropped(void *data, size_t sz);

/* The layer's mailbox reader (skynet_mem_set_queue_reader), in skynet_server.c
 * (it reads the context's queue); skynet_mq_mem in skynet_mq.c. */
struct message_queue;
int skynet_mem_skynet_queue(uint32_t handle, size_t *bytes, size_t *msgs);
void skynet_mq_mem(struct message_queue *q, size_t *bytes, size_t *msgs);

#endif
