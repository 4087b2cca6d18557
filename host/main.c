/* skynet-host: boots the host and one snlua service, e.g.
 *   skynet-host -p 'dir/?.lua' -c 0 -H 0 main arg1 arg2 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "page.h"

static void usage(void) {
	fprintf(stderr,
		"usage: skynet-host [options] SERVICE [ARGS...]\n"
		"  -p PATH     service script templates, 'dir/?.lua;...' (default ./?.lua)\n"
		"  -l PATH     extra Lua package.path entries\n"
		"  -t N        worker threads (default: cores)\n"
		"  -c PORT     debug console on 127.0.0.1:PORT (0: a free port; default none)\n"
		"  -H PORT     HTTP on 127.0.0.1:PORT (0: free; default none): the live page at /,\n"
		"              /metrics, /memory.json, /history.json\n"
		"  -i SECONDS  idle console clients are closed after this (default 300)\n"
		"  -n N        console clients at once (default 32)\n"
		"  -P          CPU time per service for the console's stat (two clock reads a message)\n"
		"  -f          a busy console or HTTP port is replaced by a free one (that one only)\n"
		"  -N N        /metrics: only the top N services by bytes, plus one \"rest\" series\n"
		"  -I N        HTTP connections per client address (default 1024)\n"
		"  -W SECONDS  idle HTTP connections are closed after this (default 10)\n"
		"  -s SECONDS  run time, 0 = until SIGINT (default 0)\n"
		"  -T          print the live memory table every second\n"
		"  -w FILE     write the ports listened on to FILE ('console N', 'http N')\n");
}

/* -X's number, whole and within [min, max]; anything else (empty, "8k",
 * "-1" where 0 is the least, past int) ends the program with a clear error
 * instead of atoi's silent 0 (a free port, every core ...). */
static int number_arg(int opt, const char *s, long min, long max) {
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || n < min || n > max) {
		fprintf(stderr, "skynet-host: -%c '%s': want a whole number from %ld to %ld\n", opt, s, min, max);
		exit(2);
	}
	return (int)n;
}

#define MAX_PORT 65535
#define MAX_SECONDS 86400000L   /* 1000 days */

int main(int argc, char **argv) {
	struct host_config cfg = { .console_port = -1, .http_port = -1 };
	int seconds = 0, table = 0, opt;
	const char *portfile = NULL;
	while ((opt = getopt(argc, argv, "+p:l:t:c:H:i:n:PfN:I:W:s:Tw:h")) != -1) {
		switch (opt) {
		case 'p': cfg.service_path = optarg; break;
		case 'l': cfg.lua_path = optarg; break;
		case 't': cfg.threads = number_arg(opt, optarg, 0, 1024); break;
		case 'c': cfg.console_port = number_arg(opt, optarg, 0, MAX_PORT); break;
		case 'H': cfg.http_port = number_arg(opt, optarg, 0, MAX_PORT); break;
		case 'i': cfg.console_idle = number_arg(opt, optarg, 1, MAX_SECONDS); break;
		case 'n': cfg.console_clients = number_arg(opt, optarg, 1, 65536); break;
		case 'P': cfg.profile = 1; break;
		case 'f': cfg.port_fallback = 1; break;
		case 'N': cfg.metrics_top = number_arg(opt, optarg, 1, 1000000); break;
		case 'I': cfg.http_per_ip = number_arg(opt, optarg, 1, 1000000); break;
		case 'W': cfg.http_timeout = number_arg(opt, optarg, 1, MAX_SECONDS); break;
		case 's': seconds = number_arg(opt, optarg, 0, MAX_SECONDS); break;
		case 'T': table = 1; break;
		case 'w': portfile = optarg; break;
		default: usage(); return opt == 'h' ? 0 : 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	host_catch_signals();
	if (host_start(&cfg) != 0)
		return 1;
	if (cfg.console_port >= 0)
		printf("console: 127.0.0.1:%d\n", host_console_port());
	if (cfg.http_port >= 0) {
		const char *page = host_page_dir();
		printf("http: http://127.0.0.1:%d/metrics and /memory.json\n", host_http_port());
		printf("page: http://127.0.0.1:%d/ (files from %s)\n", host_http_port(),
			page ? page : "nowhere: set SKYNET_HOST_WEB_DIR");
	}
	fflush(stdout);
	if (portfile) {
		FILE *f = fopen(portfile, "w");
		if (f) {
			fprintf(f, "console %d\nhttp %d\n", host_console_port(), host_http_port());
			fclose(f);
		}
	}
	/* the service line: SERVICE ARGS... joined by spaces */
	char param[1024] = "";
	for (int i = optind; i < argc; i++) {
		if (strlen(param) + strlen(argv[i]) + 2 >= sizeof(param))
			break;
		if (i > optind)
			strcat(param, " ");
		strcat(param, argv[i]);
	}
	int rc = 0;
	if (host_launch("snlua", param) == 0) {
		fprintf(stderr, "skynet-host: cannot launch snlua %s\n", param);
		rc = 1;
	} else {
		host_run(seconds, table);
	}
	host_stop();
	return rc;
}
