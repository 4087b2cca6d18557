/* The sampled heap profile in the host's views (heap.h). */

#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "console_util.h"
#include "heap.h"
#include "skynet_mem.h"

char *host_heap_text(uint32_t handle, int flags, size_t *len) {
	int fd = memfd_create("skynet-host-heap", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *text = NULL;
	off_t size;
	if (skynet_mem_profile_write(fd, handle, flags) == 0 && (size = lseek(fd, 0, SEEK_END)) >= 0 &&
		(text = malloc((size_t)size + 1)) != NULL) {
		ssize_t got = 0;
		while (got < size) {
			ssize_t r = pread(fd, text + got, (size_t)(size - got), got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += r;
		}
		text[got] = 0;
		if (len)
			*len = (size_t)got;
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return text;
}

/* "a ~1.0M, b ~2K" as one "site" line each. */
static void sites_out(FILE *f, uint32_t h) {
	char line[2048];
	if (skynet_mem_profile_sites(h, line, sizeof(line), 10) == 0)
		return;
	char *save = NULL;
	for (char *s = strtok_r(line, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		while (*s == ' ')
			s++;
		char *amount = strrchr(s, '~');
		if (amount && amount > s)
			amount[-1] = '\t';
		fprintf(f, "site\t%s\n", s);
	}
}

int host_heap_command(FILE *f, const char *addr, const char *path) {
	if (skynet_mem_has_check())
		return console_fail(f, "the MEMORY_CHECK build samples nothing (its leak lists name every block's site)");
	int all = addr && strcmp(addr, "all") == 0;
	uint32_t h = 0;
	if (!all && console_need_handle(f, addr, &h) != 0)
		return -1;
	size_t est = 0;
	size_t n = skynet_mem_profile_samples(h, all ? SKYNET_MEM_PROFILE_ALL : 0, &est);
	if (all)
		fprintf(f, "all\tsamples:%zu\testimate:%zu\tsample:%zu\n", n, est, skynet_mem_profile_get_sample());
	else
		fprintf(f, ":%08x\tsamples:%zu\testimate:%zu\tsample:%zu\n", h, n, est, skynet_mem_profile_get_sample());
	if (!all)
		sites_out(f, h);
	if (path) {
		int rc = all ? skynet_mem_profile_dump_all(path) : skynet_mem_profile_dump(h, path);
		if (rc != 0)
			return console_fail(f, "cannot write %s: %s", path, strerror(errno));
		fprintf(f, "profile\t%s (jeprof --text <program> %s)\n", path, path);
	}
	return 0;
}
