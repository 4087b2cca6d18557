/* The debug console's connections: line commands on 127.0.0.1 TCP, served by
 * one thread that never blocks on a client. Sockets are non-blocking; each
 * client's unread output is capped (a client that stops reading is dropped
 * when it asks for more past the cap), idle clients are closed, clients past the limit
 * are told so, and a line longer than the limit is refused, not cut. With the
 * process out of descriptors, a spare one kept open is given up to take the
 * waiting client and tell it so; without a spare the listener rests a while:
 * the pending connection would wake poll at once, again and again. */

#define _GNU_SOURCE   /* accept4, pipe2 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "console.h"
#include "logger.h"
#include "observe.h"

#define DEFAULT_CLIENTS 32
#define DEFAULT_IDLE 300         /* seconds */
#define LINE_MAX_LEN 1024        /* a command line is shorter, newline excluded */
#define OUT_CAP (1u << 20)       /* unread bytes a client may have when it asks for more */
#define ACCEPT_REST_MS 200       /* out of descriptors and no spare: the listener is not polled */

struct client {
	int fd;
	char in[LINE_MAX_LEN + 1];   /* input not yet run; one line at most */
	size_t in_len;
	int discard;                 /* inside a refused over-long line */
	char *out;                   /* unsent output: out[out_off..out_len) */
	size_t out_len, out_off;
	uint64_t active;             /* ms of the last input or output */
	struct console_job *job;     /* a command answering later */
};

static struct {
	int listen_fd, wake[2];
	int spare;                   /* /dev/null, closed to refuse a client when out of descriptors */
	uint64_t accept_rest_until;  /* ms; the listener is not polled before */
	pthread_t thread;
	int running;
	struct client *c;
	int max_clients;
	uint64_t idle_ms;
} C = { .listen_fd = -1, .wake = { -1, -1 }, .spare = -1 };

static void client_close(struct client *cl) {
	close(cl->fd);
	cl->fd = -1;
	free(cl->out);
	cl->out = NULL;
	cl->out_len = cl->out_off = cl->in_len = 0;
	console_job_free(cl->job);
	cl->job = NULL;
}

/* Sends what the socket takes now; 0, or -1 when the client is gone. */
static int flush_out(struct client *cl) {
	while (cl->out_off < cl->out_len) {
		ssize_t w = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
			MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1;
		cl->out_off += (size_t)w;
		cl->active = console_now_ms();
	}
	free(cl->out);
	cl->out = NULL;
	cl->out_len = cl->out_off = 0;
	return 0;
}

/* Queues an answer; the client is dropped when it asks for more with over
 * OUT_CAP of answers still unread (it does not read what it asks for). One
 * big answer alone (list of 50,000 services) is kept. 0, or -1 when dropped. */
static int queue_out(struct client *cl, const char *buf, size_t len) {
	if (len == 0)
		return 0;
	size_t pending = cl->out_len - cl->out_off;
	if (pending > OUT_CAP) {
		host_log(0, "console: a client left %zu bytes unread, dropped", pending);
		client_close(cl);
		return -1;
	}
	if (cl->out_off) {   /* compact before growing */
		memmove(cl->out, cl->out + cl->out_off, pending);
		cl->out_len = pending;
		cl->out_off = 0;
	}
	char *n = realloc(cl->out, pending + len);
	if (n == NULL && pending + len) {
		client_close(cl);
		return -1;
	}
	cl->out = n;
	memcpy(cl->out + pending, buf, len);
	cl->out_len = pending + len;
	if (flush_out(cl) != 0) {
		client_close(cl);
		return -1;
	}
	return 0;
}

/* Runs (or polls) into a memory stream, then queues what it wrote. */
static int answer(struct client *cl, char *line) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return queue_out(cl, "error: out of memory\n<CMD Error>\n", 33);
	if (line)
		cl->job = console_run(f, line);
	else if (console_job_poll(cl->job, f))
		cl->job = NULL;
	fclose(f);
	int r = queue_out(cl, buf, len);
	free(buf);
	return r;
}

/* Runs the complete lines buffered, until one answers later. */
static int run_lines(struct client *cl) {
	while (cl->fd >= 0 && cl->job == NULL) {
		char *nl = memchr(cl->in, '\n', cl->in_len);
		if (nl == NULL) {
			if (cl->in_len < LINE_MAX_LEN)
				return 0;
			/* no newline in LINE_MAX_LEN bytes: refuse the line, skip to its end */
			char msg[96];
			int n = snprintf(msg, sizeof(msg), "error: line longer than %d bytes, not run\n<CMD Error>\n",
				LINE_MAX_LEN - 1);
			cl->in_len = 0;
			cl->discard = 1;
			if (queue_out(cl, msg, (size_t)n) != 0)
				return -1;
			continue;
		}
		*nl = '\0';
		size_t used = (size_t)(nl - cl->in) + 1;
		char line[LINE_MAX_LEN + 1];
		memcpy(line, cl->in, used);
		memmove(cl->in, cl->in + used, cl->in_len - used);
		cl->in_len -= used;
		if (cl->discard) {   /* the tail of a refused line */
			cl->discard = 0;
			continue;
		}
		if (answer(cl, line) != 0)
			return -1;
	}
	return 0;
}

static void client_read(struct client *cl) {
	for (;;) {
		size_t room = LINE_MAX_LEN - cl->in_len;
		ssize_t n = recv(cl->fd, cl->in + cl->in_len, room, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			client_close(cl);
			return;
		}
		cl->in_len += (size_t)n;
		cl->active = console_now_ms();
		if (cl->discard) {   /* drop the refused line's bytes up to its newline */
			char *nl = memchr(cl->in, '\n', cl->in_len);
			if (nl == NULL) {
				cl->in_len = 0;
				continue;
			}
			size_t used = (size_t)(nl - cl->in) + 1;
			memmove(cl->in, cl->in + used, cl->in_len - used);
			cl->in_len -= used;
			cl->discard = 0;
		}
		if (run_lines(cl) != 0 || cl->job || (size_t)n < room)
			return;   /* later input waits for the job, or the socket is drained */
	}
}

static void refuse(int fd, const char *msg) {
	send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* accept4 failed with EMFILE or ENFILE: the client waiting is taken with the
 * spare descriptor and told, or, with no spare, the listener rests. */
static void out_of_descriptors(void) {
	int fd = -1;
	if (C.spare < 0)   /* lost to another thread last time */
		C.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (C.spare >= 0) {
		close(C.spare);
		fd = accept4(C.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			refuse(fd, "error: the server is out of file descriptors; try again later\n<CMD Error>\n");
		C.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		if (C.accept_rest_until == 0)   /* once per episode, not per rest */
			host_log(0, "console: out of file descriptors, new clients wait");
		C.accept_rest_until = console_now_ms() + ACCEPT_REST_MS;
	}
}

static void accept_client(void) {
	int fd = accept4(C.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			out_of_descriptors();
		return;
	}
	C.accept_rest_until = 0;
	for (int i = 0; i < C.max_clients; i++)
		if (C.c[i].fd < 0) {
			struct client *cl = &C.c[i];
			memset(cl, 0, sizeof(*cl));
			cl->fd = fd;
			cl->active = console_now_ms();
			static const char hello[] = "skynet-mem console: type help\n";
			queue_out(cl, hello, sizeof(hello) - 1);
			return;
		}
	char msg[128];
	snprintf(msg, sizeof(msg), "error: too many console clients (%d); try again later\n<CMD Error>\n",
		C.max_clients);
	refuse(fd, msg);
}

/* Idle clients closed, due jobs polled; returns the poll timeout in ms. */
static int housekeeping(void) {
	uint64_t now = console_now_ms(), next = now + 1000;
	for (int i = 0; i < C.max_clients; i++) {
		struct client *cl = &C.c[i];
		if (cl->fd < 0)
			continue;
		if (cl->job && console_job_due(cl->job) <= now) {
			if (answer(cl, NULL) != 0 || run_lines(cl) != 0)
				continue;
		}
		if (cl->fd < 0)
			continue;
		if (cl->job) {
			if (console_job_due(cl->job) < next)
				next = console_job_due(cl->job);
		} else if (cl->active + C.idle_ms <= now) {   /* active may be later than now */
			static const char bye[] = "error: idle too long, closing\n";
			send(cl->fd, bye, sizeof(bye) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			client_close(cl);
		} else if (cl->active + C.idle_ms < next) {
			next = cl->active + C.idle_ms;
		}
	}
	return next > now ? (int)(next - now) : 0;
}

static void *console_main(void *arg) {
	(void)arg;
	struct pollfd *p = malloc((size_t)(C.max_clients + 2) * sizeof(*p));
	int *idx = malloc((size_t)(C.max_clients + 2) * sizeof(int));
	if (p == NULL || idx == NULL) {
		free(p);
		free(idx);
		return NULL;
	}
	for (;;) {
		int timeout = housekeeping();
		uint64_t now = console_now_ms();
		int resting = C.accept_rest_until > now;
		if (resting && C.accept_rest_until - now < (uint64_t)timeout)
			timeout = (int)(C.accept_rest_until - now);
		int n = 0;
		p[n++] = (struct pollfd){ C.wake[0], POLLIN, 0 };
		p[n++] = (struct pollfd){ resting ? -1 : C.listen_fd, POLLIN, 0 };   /* -1: not polled */
		for (int i = 0; i < C.max_clients; i++) {
			struct client *cl = &C.c[i];
			if (cl->fd < 0)
				continue;
			short ev = (cl->job ? 0 : POLLIN) | (cl->out_len > cl->out_off ? POLLOUT : 0);
			idx[n] = i;
			p[n++] = (struct pollfd){ cl->fd, ev, 0 };
		}
		if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN)
			accept_client();
		for (int k = 2; k < n; k++) {
			struct client *cl = &C.c[idx[k]];
			if (cl->fd < 0 || p[k].revents == 0)
				continue;
			if ((p[k].revents & POLLOUT) && flush_out(cl) != 0) {
				client_close(cl);
				continue;
			}
			if (p[k].revents & (POLLIN | POLLHUP | POLLERR))
				client_read(cl);
		}
	}
	free(p);
	free(idx);
	return NULL;
}

static void close_fds(void) {
	if (C.listen_fd >= 0)
		close(C.listen_fd);
	for (int i = 0; i < 2; i++)
		if (C.wake[i] >= 0)
			close(C.wake[i]);
	if (C.spare >= 0)
		close(C.spare);
	C.listen_fd = C.wake[0] = C.wake[1] = C.spare = -1;
	free(C.c);
	C.c = NULL;
}

int console_start(int port) {
	const struct host_config *cfg = host_config();
	C.max_clients = cfg && cfg->console_clients > 0 ? cfg->console_clients : DEFAULT_CLIENTS;
	C.idle_ms = (uint64_t)(cfg && cfg->console_idle > 0 ? cfg->console_idle : DEFAULT_IDLE) * 1000;
	C.c = calloc((size_t)C.max_clients, sizeof(struct client));
	if (C.c == NULL || pipe2(C.wake, O_CLOEXEC) != 0) {
		close_fds();
		return -1;
	}
	for (int i = 0; i < C.max_clients; i++)
		C.c[i].fd = -1;
	C.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);   /* none: out_of_descriptors rests instead */
	C.accept_rest_until = 0;
	C.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	setsockopt(C.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	if (C.listen_fd < 0 || bind(C.listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0
		|| listen(C.listen_fd, 64) != 0 || getsockname(C.listen_fd, (struct sockaddr *)&a, &alen) != 0
		|| pthread_create(&C.thread, NULL, console_main, NULL) != 0) {
		close_fds();
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
	for (int i = 0; i < C.max_clients; i++)
		if (C.c[i].fd >= 0)
			client_close(&C.c[i]);
	close_fds();
	C.running = 0;
}
