/* Owner names (skynet_mem_set_name: cut and cleaned here, kept in the record)
 * and the host's mailbox figures (skynet_mem_set_queue_reader). */

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "owner_info.h"
#include "record.h"

/* Cuts at a UTF-8 character boundary: never leaves a lead byte without its
 * continuation bytes. n is the length kept at most; returns the length kept. */
static size_t utf8_cut(const unsigned char *s, size_t len, size_t n) {
	if (len <= n)
		return len;
	while (n > 0 && (s[n] & 0xc0) == 0x80)
		n--;   /* s[n] continues a character begun before: cut before its lead */
	return n;
}

int skynet_mem_set_name(uint32_t handle, const char *name) {
	char copy[SKYNET_MEM_NAME_MAX];
	size_t n = 0;
	if (name) {
		const unsigned char *s = (const unsigned char *)name;
		n = utf8_cut(s, strnlen(name, SKYNET_MEM_NAME_MAX), SKYNET_MEM_NAME_MAX - 1);
		for (size_t i = 0; i < n; i++)   /* one name, one log line */
			copy[i] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
	}
	memset(copy + n, 0, sizeof(copy) - n);
	if (record_set_name(handle, copy) != 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static _Atomic(skynet_mem_queue_reader) queue_reader;

void skynet_mem_set_queue_reader(skynet_mem_queue_reader fn) {
	atomic_store(&queue_reader, fn);
}

int owner_queue_reader_set(void) {
	return atomic_load_explicit(&queue_reader, memory_order_relaxed) != NULL;
}

void owner_queue_fill(struct skynet_mem_stat *st) {
	skynet_mem_queue_reader fn = atomic_load(&queue_reader);
	size_t bytes = 0, msgs = 0;
	if (fn == NULL || fn(st->handle, &bytes, &msgs) != 0)
		bytes = msgs = 0;
	st->queued = bytes;
	st->queued_msgs = msgs;
}
