/* The live page's routes: / and its files (index.html, app.js, style.css)
 * read from the web folder at each request, and /history.json[?since=MS].
 * The web folder, first found of: $SKYNET_HOST_WEB_DIR; ../share/skynet-mem/web
 * beside the binary (an installed host); the source tree's web/ (a build). */

#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "page.h"

#ifndef SKYNET_HOST_WEB_DIR
#define SKYNET_HOST_WEB_DIR "web"
#endif

#define PAGE_FILE_MAX (1 << 20)

/* dir/name in out; 0, or -1 when it does not fit. */
static int join(char *out, size_t len, const char *dir, const char *name) {
	size_t a = strlen(dir), b = strlen(name);
	if (a + 1 + b >= len)
		return -1;
	memcpy(out, dir, a);
	out[a] = '/';
	memcpy(out + a + 1, name, b + 1);
	return 0;
}

static int has_index(const char *dir) {
	char p[PATH_MAX];
	return join(p, sizeof(p), dir, "index.html") == 0 && access(p, R_OK) == 0;
}

const char *host_page_dir(void) {
	static char dir[PATH_MAX];
	const char *env = getenv("SKYNET_HOST_WEB_DIR");
	if (env && *env)
		return has_index(env) ? env : NULL;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (join(dir, sizeof(dir), exe, "../share/skynet-mem/web") == 0 && has_index(dir))
				return dir;
		}
	}
	return has_index(SKYNET_HOST_WEB_DIR) ? SKYNET_HOST_WEB_DIR : NULL;
}

/* The content type of a file the page may ask for, or NULL: plain names only
 * (letters, digits, '-', '_', one dot), so no path leaves the folder. */
static const char *file_type(const char *name) {
	const char *dot = NULL;
	for (const char *p = name; *p; p++) {
		if (*p == '.' && dot == NULL && p != name)
			dot = p;
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return NULL;
	}
	if (dot == NULL)
		return NULL;
	if (strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (strcmp(dot, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	if (strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	return NULL;
}

static char *text(const char *s) {
	return strdup(s);
}

/* The whole file as a string, or NULL (missing, too big, or out of memory). */
static char *read_file(const char *path) {
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = malloc(PAGE_FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, PAGE_FILE_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL || n > PAGE_FILE_MAX || memchr(buf, '\0', n)) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

unsigned host_page_route(struct MHD_Connection *conn, const char *url, char **body, const char **type) {
	*body = NULL;
	*type = "text/plain; charset=utf-8";
	if (strcmp(url, "/history.json") == 0) {
		const char *since = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since");
		unsigned long long ms = 0;
		if (since) {
			char *end;
			ms = strtoull(since, &end, 10);
			if (*since == '\0' || *since == '-' || *end) {
				*body = text("400 bad request: since wants milliseconds, e.g. /history.json?since=12000\n");
				return MHD_HTTP_BAD_REQUEST;
			}
		}
		*type = "application/json";
		*body = host_history_json(ms);
		return *body ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	if (url[0] != '/')
		return 0;
	const char *name = strcmp(url, "/") == 0 ? "index.html" : url + 1;
	const char *ftype = file_type(name);
	if (ftype == NULL)
		return 0;
	const char *dir = host_page_dir();
	if (dir == NULL) {
		*body = text("404 the page's files are not installed: set SKYNET_HOST_WEB_DIR to the folder of index.html\n");
		return MHD_HTTP_NOT_FOUND;
	}
	char path[PATH_MAX];
	*body = join(path, sizeof(path), dir, name) == 0 ? read_file(path) : NULL;
	if (*body == NULL) {
		*body = text("404 not found\n");
		return MHD_HTTP_NOT_FOUND;
	}
	*type = ftype;
	return MHD_HTTP_OK;
}
