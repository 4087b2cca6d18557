#ifndef SKYNET_MEM_UTF8_H
#define SKYNET_MEM_UTF8_H

/* Names are bytes from scripts; every view shows them as valid UTF-8
 * (mem-utf8.c), for both hosts: the project's and skynet's memory_web. */

#include <stddef.h>
#include <stdio.h>

#define MEM_VIEWS_HIDDEN __attribute__((visibility("hidden")))

enum mem_utf8_escape {
	MEM_UTF8_RAW,     /* as is */
	MEM_UTF8_LABEL,   /* a Prometheus label value: \\ \" \n */
	MEM_UTF8_LINE,    /* one console line: control characters become '?' */
	MEM_UTF8_JSON,    /* inside a JSON string: \" \\ and \u00XX for controls */
};
/* Copies src into dst (cap bytes, NUL included), cut before a character
 * that would not fit whole. Returns the bytes copied. */
MEM_VIEWS_HIDDEN size_t mem_utf8_cut(char *dst, size_t cap, const char *src);
/* Writes s as valid UTF-8: each byte that starts no valid sequence becomes
 * U+FFFD (overlong forms, surrogates and values past U+10FFFF included). */
MEM_VIEWS_HIDDEN void mem_utf8_write(FILE *f, const char *s, enum mem_utf8_escape esc);
/* The same into a malloc'd string; NULL out of memory. */
MEM_VIEWS_HIDDEN char *mem_utf8_clean(const char *s, enum mem_utf8_escape esc);

#endif
