/* UTF-8 for names shown by every view (console lines, /metrics labels, JSON):
 * names are bytes from scripts, a view must be valid UTF-8. */

#include <stdlib.h>
#include <string.h>

#include "mem-utf8.h"

/* Length of the valid sequence at p (n bytes left), or 0 (RFC 3629 table). */
static size_t seq_len(const unsigned char *p, size_t n) {
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned lo = 0x80, hi = 0xbf;   /* bounds of the second byte */
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;   /* no overlong form */
		else if (c == 0xed)
			hi = 0x9f;   /* no surrogate */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;   /* nothing past U+10FFFF */
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

size_t mem_utf8_cut(char *dst, size_t cap, const char *src) {
	if (cap == 0)
		return 0;
	size_t n = strlen(src);
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;   /* src[n] would be a continuation: cut before its lead byte */
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

/* One ASCII byte c in the escape of esc. */
static void put_ascii(FILE *f, unsigned char c, enum mem_utf8_escape esc) {
	switch (esc) {
	case MEM_UTF8_LABEL:
		if (c == '\\' || c == '"')
			fputc('\\', f);
		if (c == '\n') {
			fputs("\\n", f);
			return;
		}
		break;
	case MEM_UTF8_LINE:
		if (c < 0x20 || c == 0x7f)
			c = '?';
		break;
	case MEM_UTF8_JSON:
		if (c == '\\' || c == '"')
			fputc('\\', f);
		else if (c < 0x20) {
			fprintf(f, "\\u%04x", c);
			return;
		}
		break;
	case MEM_UTF8_RAW:
		break;
	}
	fputc(c, f);
}

void mem_utf8_write(FILE *f, const char *s, enum mem_utf8_escape esc) {
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	while (n > 0) {
		size_t len = seq_len(p, n);
		if (len == 0) {
			fputs("\xef\xbf\xbd", f);   /* U+FFFD for this one byte */
			len = 1;
		} else if (len > 1) {
			fwrite(p, 1, len, f);
		} else {
			put_ascii(f, *p, esc);
		}
		p += len;
		n -= len;
	}
}

char *mem_utf8_clean(const char *s, enum mem_utf8_escape esc) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	mem_utf8_write(f, s, esc);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
