#ifndef SKYNET_HOST_UTF8_H
#define SKYNET_HOST_UTF8_H

/* Service names are bytes from scripts; the views need valid UTF-8. The one
 * implementation is the views' renderer's (lualib-src/mem-utf8.c), which
 * skynet's memory_web uses too; these are the host's names for it. */

#include "mem-utf8.h"

enum host_utf8_escape {
	HOST_UTF8_RAW = MEM_UTF8_RAW,       /* as is */
	HOST_UTF8_LABEL = MEM_UTF8_LABEL,   /* a Prometheus label value: \\ \" \n */
	HOST_UTF8_LINE = MEM_UTF8_LINE,     /* one console line: control characters become '?' */
};

/* Copies src into dst (cap bytes, NUL included), cut before a character
 * that would not fit whole. Returns the bytes copied. */
static inline size_t host_utf8_cut(char *dst, size_t cap, const char *src) {
	return mem_utf8_cut(dst, cap, src);
}
/* Writes s as valid UTF-8: each byte that starts no valid sequence becomes
 * U+FFFD (overlong forms, surrogates and values past U+10FFFF included). */
static inline void host_utf8_write(FILE *f, const char *s, enum host_utf8_escape esc) {
	mem_utf8_write(f, s, (enum mem_utf8_escape)esc);
}
/* The same into a malloc'd string; NULL out of memory. */
static inline char *host_utf8_clean(const char *s) {
	return mem_utf8_clean(s, MEM_UTF8_RAW);
}

#endif
