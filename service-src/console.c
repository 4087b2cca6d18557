/* The debug console: line commands on 127.0.0.1 TCP, skynet-like. Every
 * answer ends with the line "<CMD END>" (as skynet's debug_console). */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "observe.h"

#define MAX_CLIENTS 16
#define LINE_MAX_LEN 512

struct client {
	int fd;
	size_t len;
	char line[LINE_MAX_LEN];
};

static struct {
	int listen_fd, wake[2];
	pthread_t thread;
	int running;
	struct client c[MAX_CLIENTS];
} C = { .listen_fd = -1 };

static void out(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(FILE *f, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
}

/* ":0100000a", "0100000a" or "0x0100000a"; -1 when malformed. */
static int parse_handle(const char *s, uint32_t *h) {
	if (s == NULL || *s == '\0')
		return -1;
	if (*s == ':')
		s++;
	else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 16);
	if (*s == '\0' || *end || errno || v > UINT32_MAX)
		return -1;
	*h = (uint32_t)v;
	return 0;
}

static int cmp_total(const void *a, const void *b) {
	const struct host_mem_row *x = a, *y = b;
	size_t tx = x->st.bytes + x->st.lua_bytes, ty = y->st.bytes + y->st.lua_bytes;
	return tx < ty ? 1 : tx > ty ? -1 : (x->st.handle > y->st.handle) - (x->st.handle < y->st.handle);
}

static void cmd_help(FILE *f) {
	out(f, "list            live services: handle, name, messages handled\n"
		"mem             Lua heap bytes per service\n"
		"cmem            C bytes and blocks per service, and the total\n"
		"jmem            jemalloc's allocated/active/resident/mapped/retained\n"
		"gc              full Lua GC in every service\n"
		"top [N]         the N services using most memory (C + Lua), default 10\n"
		"stat HANDLE     the full record of one service (HANDLE as :0100000a)\n"
		"leaks           the last exit reports (what exited services still owned)\n"
		"check           MEMORY_CHECK: verify every live block now (reports on stderr)\n"
		"help            this text\n");
}

static void run_command(FILE *f, char *line) {
	char *save = NULL;
	char *cmd = strtok_r(line, " \t\r", &save);
	char *arg = strtok_r(NULL, " \t\r", &save);
	if (cmd == NULL)
		return;
	if (strcmp(cmd, "help") == 0) {
		cmd_help(f);
		return;
	}
	if (strcmp(cmd, "gc") == 0) {
		out(f, "gc requested in %d services\n", host_broadcast_system("gc"));
		return;
	}
	if (strcmp(cmd, "check") == 0) {
		if (!skynet_mem_has_check())
			out(f, "error: not a MEMORY_CHECK build (SKYNET_MEM_CHECK=ON)\n");
		else
			out(f, "%zu damaged blocks\n", skynet_mem_check_all());
		return;
	}
	if (strcmp(cmd, "leaks") == 0) {
		struct host_exit_report r[64];
		size_t n = host_exit_reports(r, 64);
		for (size_t i = 0; i < n; i++)
			out(f, ":%08x %-14s %zu bytes in %zu blocks\n", r[i].handle, r[i].name, r[i].bytes, r[i].blocks);
		out(f, "%zu reports\n", n);
		return;
	}
	int known = strcmp(cmd, "list") == 0 || strcmp(cmd, "mem") == 0 || strcmp(cmd, "cmem") == 0
		|| strcmp(cmd, "jmem") == 0 || strcmp(cmd, "top") == 0 || strcmp(cmd, "stat") == 0;
	if (!known) {
		out(f, "error: unknown command '%s' (try help)\n", cmd);
		return;
	}
	uint32_t h = 0;
	if (strcmp(cmd, "stat") == 0 && parse_handle(arg, &h) != 0) {
		out(f, "error: bad handle '%s' (want :0100000a)\n", arg ? arg : "");
		return;
	}
	long top = 10;
	if (strcmp(cmd, "top") == 0 && arg) {
		char *end;
		top = strtol(arg, &end, 10);
		if (*end || top <= 0) {
			out(f, "error: bad count '%s'\n", arg);
			return;
		}
	}
	struct host_mem_view v;
	if (host_mem_view(&v) != 0) {
		out(f, "error: out of memory\n");
		return;
	}
	for (size_t i = 0; i < v.n; i++)   /* one line per service, whatever its name */
		for (char *p = v.rows[i].name; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = '?';
	if (strcmp(cmd, "list") == 0) {
		for (size_t i = 0; i < v.n; i++)
			if (v.rows[i].st.handle)
				out(f, ":%08x %-14s messages=%lld\n", v.rows[i].st.handle, v.rows[i].name,
					host_service_messages(v.rows[i].st.handle));
	} else if (strcmp(cmd, "mem") == 0) {
		for (size_t i = 0; i < v.n; i++)
			if (v.rows[i].st.handle)
				out(f, ":%08x %-14s %zu bytes (%.2f Kb)\n", v.rows[i].st.handle, v.rows[i].name,
					v.rows[i].st.lua_bytes, v.rows[i].st.lua_bytes / 1024.0);
	} else if (strcmp(cmd, "cmem") == 0) {
		for (size_t i = 0; i < v.n; i++)
			out(f, ":%08x %-14s %zu bytes %zu blocks\n", v.rows[i].st.handle, v.rows[i].name,
				v.rows[i].st.bytes, v.rows[i].st.blocks);
		out(f, "total %zu bytes %zu blocks\n", v.totals.bytes, v.totals.blocks);
	} else if (strcmp(cmd, "jmem") == 0) {
		if (v.jemalloc)
			out(f, "allocated %zu\nactive %zu\nresident %zu\nmapped %zu\nretained %zu\n",
				v.je_allocated, v.je_active, v.je_resident, v.je_mapped, v.je_retained);
		else
			out(f, "error: built without jemalloc (SKYNET_MEM_JEMALLOC=OFF)\n");
	} else if (strcmp(cmd, "top") == 0) {
		qsort(v.rows, v.n, sizeof(v.rows[0]), cmp_total);
		for (size_t i = 0; i < v.n && (long)i < top; i++)
			out(f, ":%08x %-14s total %zu C %zu Lua %zu peak %zu\n", v.rows[i].st.handle, v.rows[i].name,
				v.rows[i].st.bytes + v.rows[i].st.lua_bytes, v.rows[i].st.bytes,
				v.rows[i].st.lua_bytes, v.rows[i].st.peak);
	} else {
		const struct host_mem_row *r = host_mem_find(&v, h);
		if (r == NULL)
			out(f, "error: no service :%08x\n", h);
		else
			out(f, "handle :%08x\nname %s\nbytes %zu\nblocks %zu\nlua_bytes %zu\npeak %zu\nlimit %zu\n"
				"allocs %llu\nfrees %llu\n", r->st.handle, r->name, r->st.bytes, r->st.blocks,
				r->st.lua_bytes, r->st.peak, r->st.limit, (unsigned long long)r->st.allocs,
				(unsigned long long)r->st.frees);
	}
	host_mem_view_free(&v);
}

/* Answers one line on the client's socket. */
static void answer(int fd, char *line) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return;
	run_command(f, line);
	fputs("<CMD END>\n", f);
	fclose(f);
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(buf);
}

static void client_read(struct client *cl) {
	char buf[256];
	ssize_t n = recv(cl->fd, buf, sizeof(buf), 0);
	if (n <= 0) {
		close(cl->fd);
		cl->fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			cl->line[cl->len] = '\0';
			answer(cl->fd, cl->line);
			cl->len = 0;
		} else if (cl->len < LINE_MAX_LEN - 1) {
			cl->line[cl->len++] = buf[i];
		}
	}
}

static void *console_main(void *arg) {
	(void)arg;
	for (;;) {
		struct pollfd p[MAX_CLIENTS + 2];
		int idx[MAX_CLIENTS + 2];
		int n = 0;
		p[n++] = (struct pollfd){ C.wake[0], POLLIN, 0 };
		p[n++] = (struct pollfd){ C.listen_fd, POLLIN, 0 };
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (C.c[i].fd >= 0) {
				idx[n] = i;
				p[n++] = (struct pollfd){ C.c[i].fd, POLLIN, 0 };
			}
		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN) {
			int fd = accept(C.listen_fd, NULL, NULL);
			int slot = -1;
			for (int i = 0; fd >= 0 && i < MAX_CLIENTS; i++)
				if (C.c[i].fd < 0) {
					slot = i;
					break;
				}
			if (slot >= 0) {
				C.c[slot].fd = fd;
				C.c[slot].len = 0;
			} else if (fd >= 0) {
				static const char busy[] = "error: too many console clients\n";
				send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
				close(fd);
			}
		}
		for (int k = 2; k < n; k++)
			if (p[k].revents)
				client_read(&C.c[idx[k]]);
	}
	return NULL;
}

int console_start(int port) {
	for (int i = 0; i < MAX_CLIENTS; i++)
		C.c[i].fd = -1;
	if (pipe(C.wake) != 0)
		return -1;
	C.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(C.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	if (C.listen_fd < 0 || bind(C.listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0
		|| listen(C.listen_fd, 8) != 0 || getsockname(C.listen_fd, (struct sockaddr *)&a, &alen) != 0
		|| pthread_create(&C.thread, NULL, console_main, NULL) != 0) {
		if (C.listen_fd >= 0)
			close(C.listen_fd);
		close(C.wake[0]);
		close(C.wake[1]);
		C.listen_fd = -1;
		return -1;
	}
	C.running = 1;
	return ntohs(a.sin_port);
}

void console_stop(void) {
	if (!C.running)
		return;
	char b = 0;
	if (write(C.wake[1], &b, 1) != 1)
		return;
	pthread_join(C.thread, NULL);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (C.c[i].fd >= 0) {
			close(C.c[i].fd);
			C.c[i].fd = -1;
		}
	close(C.listen_fd);
	close(C.wake[0]);
	close(C.wake[1]);
	C.listen_fd = -1;
	C.running = 0;
}
