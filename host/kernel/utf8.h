#ifndef SKYNET_HOST_UTF8_H
#define SKYNET_HOST_UTF8_H

/* Service names are bytes from scripts; the views need valid UTF-8. */

#include <stddef.h>
#include <stdio.h>

/* Copies src into dst (cap bytes, NUL included), cut before a character
 * that would not fit whole. Returns the bytes copied. */
size_t host_utf8_cut(char *dst, size_t cap, const char *src);

enum host_utf8_escape {
	HOST_UTF8_RAW,     /* as is */
	HOST_UTF8_LABEL,   /* a Prometheus label value: \\ \" \n */
	HOST_UTF8_LINE,    /* one console line: control characters become '?' */
};
/* Writes s as valid UTF-8: each byte that starts no valid sequence becomes
 * U+FFFD (overlong forms, surrogates and values past U+10FFFF included). */
void host_utf8_write(FILE *f, const char *s, enum host_utf8_escape esc);
/* The same into a malloc'd string; NULL out of memory. */
char *host_utf8_clean(const char *s);

#endif
