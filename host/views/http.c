/* HTTP on 127.0.0.1 through libmicrohttpd (epoll, one internal thread): GET
 * /metrics (Prometheus text; ?top=N), GET /memory.json, the live page (/ and
 * /history.json, page.c), GET /debug/heap?service=:h|.name|all[&format=folded]
 * (the sampled heap profile, heap.c); 404 for other paths, 405 for other methods. Idle
 * connections time out; each client address has a connection limit, so
 * half-open connections from one address cannot lock other addresses out
 * (clients sharing 127.0.0.1 share its limit). */

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "console_util.h"
#include "heap.h"
#include "observe.h"
#include "page.h"

#define DEFAULT_TIMEOUT 10
#define DEFAULT_PER_IP 1024   /* loopback clients share 127.0.0.1: room for a scraper beside strays */

static struct MHD_Daemon *daemon_;

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type,
	char *body, int owned) {
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body,
		owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* ?top=N, else the host's -N flag; -1 when malformed. */
static long metrics_top(struct MHD_Connection *conn) {
	const char *s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "top");
	if (s == NULL) {
		const struct host_config *cfg = host_config();
		return cfg && cfg->metrics_top > 0 ? cfg->metrics_top : 0;
	}
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	return *s == '\0' || *end || errno || n < 0 ? -1 : n;
}

/* /debug/heap?service=:h|.name|all[&format=heap|folded]: the text jeprof and
 * google-pprof read (save it, then jeprof --text <program> file), or folded
 * stacks for a flame graph. */
static enum MHD_Result heap_reply(struct MHD_Connection *conn) {
	const char *svc = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "service");
	const char *format = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "format");
	int flags = 0;
	uint32_t h = 0;
	struct skynet_mem_stat st;
	if (svc && strcmp(svc, "all") == 0)
		flags = SKYNET_MEM_PROFILE_ALL;
	else if (svc && svc[0] == '.' && svc[1] && console_parse_address(svc, &h) != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", "404 no service of that name\n", 0);
	else if (console_parse_address(svc, &h) != 0)
		return reply(conn, MHD_HTTP_BAD_REQUEST, "text/plain",
			"400 bad request: service wants :0100000a, 0100000a, .name or all\n", 0);
	else if (skynet_mem_stat(h, &st) != 0)   /* as skynet's memory_web: no record, no such service */
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", "404 no service with that handle\n", 0);
	if (format && strcmp(format, "folded") == 0)
		flags |= SKYNET_MEM_PROFILE_COLLAPSED;
	else if (format && strcmp(format, "heap") != 0)
		return reply(conn, MHD_HTTP_BAD_REQUEST, "text/plain", "400 bad request: format wants heap or folded\n", 0);
	char *text = host_heap_text(h, flags, NULL);
	if (text == NULL)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "500 the heap profile cannot be written\n", 0);
	return reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", text, 1);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
	const char *method, const char *version, const char *upload, size_t *upload_size, void **state) {
	(void)cls, (void)version, (void)upload, (void)upload_size, (void)state;
	int is_metrics = strcmp(url, "/metrics") == 0;
	int is_json = strcmp(url, "/memory.json") == 0;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			"405 method not allowed: use GET\n", 0);
	if (strcmp(url, "/debug/heap") == 0)
		return heap_reply(conn);
	char *page;
	const char *page_type;
	unsigned page_code = is_metrics || is_json ? 0 : host_page_route(conn, url, &page, &page_type);
	if (page_code)   /* the live page: /, its files, /history.json (page.c) */
		return page ? reply(conn, page_code, page_type, page, 1)
			: reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "500 out of memory\n", 0);
	if (!is_metrics && !is_json)
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain",
			"404 not found: try /, /metrics, /memory.json, /history.json or /debug/heap?service=:h\n", 0);
	long top = is_metrics ? metrics_top(conn) : 0;
	if (top < 0)
		return reply(conn, MHD_HTTP_BAD_REQUEST, "text/plain",
			"400 bad request: top wants a count >= 0 (0: every service)\n", 0);
	struct host_mem_view v;
	char *body = NULL;
	if (host_mem_view(&v) == 0) {
		body = is_metrics ? host_metrics_text_top(&v, (size_t)top) : host_memory_json(&v);
		host_mem_view_free(&v);
	}
	if (body == NULL)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
			"500 the memory view cannot be built: out of memory\n", 0);
	return reply(conn, MHD_HTTP_OK,
		is_metrics ? "text/plain; version=0.0.4; charset=utf-8" : "application/json", body, 1);
}

/* Room for as many connections as descriptors allow (the soft limit raised
 * to the hard one), less a reserve for the rest of the host. */
static unsigned connection_limit(void) {
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1000;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	rlim_t n = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1000000 ? 1000000 : rl.rlim_cur;
	return n > 512 ? (unsigned)(n - 256) : (unsigned)(n / 2);
}

int http_start(int port) {
	const struct host_config *cfg = host_config();
	unsigned timeout = cfg && cfg->http_timeout > 0 ? (unsigned)cfg->http_timeout : DEFAULT_TIMEOUT;
	unsigned per_ip = cfg && cfg->http_per_ip > 0 ? (unsigned)cfg->http_per_ip : DEFAULT_PER_IP;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	daemon_ = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD, (uint16_t)port, NULL, NULL,
		handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
		MHD_OPTION_CONNECTION_TIMEOUT, timeout,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
		MHD_OPTION_CONNECTION_LIMIT, connection_limit(),
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
		MHD_OPTION_END);
	if (daemon_ == NULL)
		return -1;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || info->port == 0) {
		http_stop();
		return -1;
	}
	return info->port;
}

void http_stop(void) {
	if (daemon_) {
		MHD_stop_daemon(daemon_);
		daemon_ = NULL;
	}
}
