/* The handle registry: 32-bit handles (harbor byte 0x01, then a 24-bit index
 * that only increases, so a handle is not reused until the index wraps) and
 * local ".names". Host-internal memory, so plain malloc: it is nobody's, also
 * under the interposer, which charges plain malloc to the running service (its
 * exit would then list the registry's tables as that service's leaks). */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handle.h"
#include "utf8.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"

#define HARBOR 0x01000000u
#define INDEX_MASK 0x00ffffffu

struct slot {
	uint32_t handle;
	int used;
	struct skynet_context *ctx;   /* NULL while reserved */
};

struct name {
	char name[HOST_NAME_MAX_LEN];
	uint32_t handle;
};

static struct {
	pthread_rwlock_t lock;
	uint32_t next;
	size_t cap, count;
	struct slot *slots;
	struct name *names;
	size_t nnames, capnames;
} H = { .lock = PTHREAD_RWLOCK_INITIALIZER };

void handle_init(void) {
	pthread_rwlock_wrlock(&H.lock);
	if (H.slots == NULL) {
		H.cap = 16;
		H.slots = calloc(H.cap, sizeof(struct slot));
		H.next = 1;
	}
	pthread_rwlock_unlock(&H.lock);
}

void handle_exit(void) {
	pthread_rwlock_wrlock(&H.lock);
	free(H.slots);
	free(H.names);
	H.slots = NULL;
	H.names = NULL;
	H.cap = H.count = H.nnames = H.capnames = 0;
	pthread_rwlock_unlock(&H.lock);
}

/* Around the registry's own allocations: charged to handle 0, nobody. */
static uint32_t nobody_begin(void) {
	uint32_t running = skynet_current_handle();
	skynet_mem_set_current(0);
	return running;
}

static void nobody_end(uint32_t running) {
	skynet_mem_set_current(running);
}

static struct slot *slot_of(uint32_t handle) {
	return &H.slots[handle & (H.cap - 1)];
}

/* Doubles the table; distinct handles that differed mod cap still differ mod 2cap. */
static int grow(void) {
	size_t ncap = H.cap * 2;
	uint32_t running = nobody_begin();
	struct slot *n = calloc(ncap, sizeof(struct slot));
	nobody_end(running);
	if (n == NULL)
		return -1;
	for (size_t i = 0; i < H.cap; i++)
		if (H.slots[i].used)
			n[H.slots[i].handle & (ncap - 1)] = H.slots[i];
	free(H.slots);
	H.slots = n;
	H.cap = ncap;
	return 0;
}

uint32_t handle_reserve(void) {
	pthread_rwlock_wrlock(&H.lock);
	/* at most half full, so few indexes are skipped over a used slot */
	if (H.count * 2 >= H.cap && H.cap <= INDEX_MASK)
		grow();
	for (;;) {
		for (size_t i = 0; i < H.cap; i++) {
			uint32_t idx = H.next++ & INDEX_MASK;
			if (idx == 0)
				continue;
			uint32_t h = HARBOR | idx;
			struct slot *s = slot_of(h);
			if (!s->used) {
				s->used = 1;
				s->handle = h;
				s->ctx = NULL;
				H.count++;
				pthread_rwlock_unlock(&H.lock);
				return h;
			}
		}
		if (H.cap > INDEX_MASK || grow() != 0) {
			pthread_rwlock_unlock(&H.lock);
			return 0;
		}
	}
}

void handle_bind(uint32_t handle, struct skynet_context *ctx) {
	pthread_rwlock_wrlock(&H.lock);
	struct slot *s = slot_of(handle);
	if (s->used && s->handle == handle)
		s->ctx = ctx;
	pthread_rwlock_unlock(&H.lock);
}

struct skynet_context *handle_grab(uint32_t handle) {
	struct skynet_context *ctx = NULL;
	pthread_rwlock_rdlock(&H.lock);
	if (H.cap) {
		struct slot *s = slot_of(handle);
		if (s->used && s->handle == handle && s->ctx) {
			ctx = s->ctx;
			context_grab(ctx);
		}
	}
	pthread_rwlock_unlock(&H.lock);
	return ctx;
}

int handle_retire(uint32_t handle, struct skynet_context **out) {
	struct skynet_context *ctx = NULL;
	int found = 0;
	pthread_rwlock_wrlock(&H.lock);
	if (H.cap) {
		struct slot *s = slot_of(handle);
		if (s->used && s->handle == handle) {
			found = 1;
			ctx = s->ctx;
			s->used = 0;
			s->ctx = NULL;
			H.count--;
			size_t j = 0;
			for (size_t i = 0; i < H.nnames; i++)
				if (H.names[i].handle != handle)
					H.names[j++] = H.names[i];
			H.nnames = j;
		}
	}
	pthread_rwlock_unlock(&H.lock);
	*out = ctx;
	return found ? 0 : -1;
}

static int cmp_handle(const void *a, const void *b) {
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

size_t handle_list(uint32_t *out, size_t max) {
	size_t n = 0;
	pthread_rwlock_rdlock(&H.lock);
	for (size_t i = 0; i < H.cap; i++) {
		if (H.slots[i].used && H.slots[i].ctx) {
			if (n < max)
				out[n] = H.slots[i].handle;
			n++;
		}
	}
	pthread_rwlock_unlock(&H.lock);
	if (n && max)   /* qsort's array may not be NULL, even for 0 elements (UBSan) */
		qsort(out, n < max ? n : max, sizeof(uint32_t), cmp_handle);
	return n;
}

/* The first .name of the service, else its label. */
int handle_label(uint32_t handle, char *buf, size_t len) {
	int r = -1;
	pthread_rwlock_rdlock(&H.lock);
	if (H.cap) {
		struct slot *s = slot_of(handle);
		if (s->used && s->handle == handle && s->ctx) {
			const char *label = s->ctx->label;
			for (size_t i = 0; i < H.nnames; i++)
				if (H.names[i].handle == handle) {
					label = H.names[i].name;
					break;
				}
			snprintf(buf, len, "%s", label);
			r = 0;
		}
	}
	pthread_rwlock_unlock(&H.lock);
	return r;
}

void handle_set_label(struct skynet_context *ctx, const char *label) {
	pthread_rwlock_wrlock(&H.lock);
	host_utf8_cut(ctx->label, sizeof(ctx->label), label);
	pthread_rwlock_unlock(&H.lock);
}

uint32_t handle_findname(const char *name) {
	uint32_t h = 0;
	pthread_rwlock_rdlock(&H.lock);
	for (size_t i = 0; i < H.nnames; i++)
		if (strcmp(H.names[i].name, name) == 0) {
			h = H.names[i].handle;
			break;
		}
	pthread_rwlock_unlock(&H.lock);
	return h;
}

int host_register_name(uint32_t handle, const char *name) {
	if (name == NULL || name[0] != '.' || strlen(name) >= HOST_NAME_MAX_LEN || name[1] == '\0')
		return -1;
	int r = -1;
	pthread_rwlock_wrlock(&H.lock);
	struct slot *s = H.cap ? slot_of(handle) : NULL;
	int taken = 0;
	for (size_t i = 0; i < H.nnames; i++)
		if (strcmp(H.names[i].name, name) == 0)
			taken = 1;
	if (s && s->used && s->handle == handle && !taken) {
		if (H.nnames == H.capnames) {
			size_t ncap = H.capnames ? H.capnames * 2 : 8;
			uint32_t running = nobody_begin();
			struct name *n = realloc(H.names, ncap * sizeof(struct name));
			nobody_end(running);
			if (n) {
				H.names = n;
				H.capnames = ncap;
			}
		}
		if (H.nnames < H.capnames) {
			snprintf(H.names[H.nnames].name, HOST_NAME_MAX_LEN, "%s", name);
			H.names[H.nnames].handle = handle;
			H.nnames++;
			r = 0;
		}
	}
	pthread_rwlock_unlock(&H.lock);
	return r;
}

uint32_t host_query_name(const char *name) {
	return name ? handle_findname(name) : 0;
}
