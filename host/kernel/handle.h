#ifndef SKYNET_HOST_HANDLE_H
#define SKYNET_HOST_HANDLE_H

/* The handle registry (handle.c): handles, their contexts, ".names". */

#include "skynet_context.h"

void handle_init(void);
void handle_exit(void);
uint32_t handle_reserve(void);
void handle_bind(uint32_t handle, struct skynet_context *ctx);
/* The live context with a reference taken, or NULL. */
struct skynet_context *handle_grab(uint32_t handle);
/* Removes the handle (and its names); 0, or -1 unknown. The registry's
 * reference goes to *ctx (NULL when none was bound): the caller releases it. */
int handle_retire(uint32_t handle, struct skynet_context **ctx);
/* Copies up to max live handles, in handle order; returns how many there are. */
size_t handle_list(uint32_t *out, size_t max);
int handle_label(uint32_t handle, char *buf, size_t len);
/* Sets ctx's label under the registry lock (readers copy it under that lock). */
void handle_set_label(struct skynet_context *ctx, const char *label);
uint32_t handle_findname(const char *name);

#endif
