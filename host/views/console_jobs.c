/* The console's answers that come later, polled without blocking: ping and
 * gc wait until each service handled the message sent (its mailbox is FIFO),
 * grow (recon's proc_window) until its window closed. */

#include <stdlib.h>
#include <string.h>

#include "console_jobs.h"
#include "console_util.h"

#define WAIT_POLL_MS 10
#define WAIT_MAX_MS 3000        /* ping and gc: as skynet's 3 s console timeout */
#define GROW_MAX_SECONDS 3600

enum job_kind { JOB_PING, JOB_GC, JOB_GROW };

struct wait_one {
	uint32_t handle;
	long long target;   /* messages count once ours is handled */
};

struct console_job {
	enum job_kind kind;
	uint64_t start, due, deadline;
	struct wait_one *w;
	size_t nw, done;   /* noted messages; w[0..done) were handled */
	struct host_mem_view before;
	long n;
};

uint64_t console_job_due(const struct console_job *job) {
	return job->due;
}

void console_job_free(struct console_job *job) {
	if (job == NULL)
		return;
	free(job->w);
	host_mem_view_free(&job->before);
	free(job);
}

/* Sends PTYPE_SYSTEM cmd to h and notes when it will have been handled: its
 * mailbox is FIFO, so once the messages ahead of ours and ours are counted. */
static int send_noted(struct wait_one *w, uint32_t h, const char *cmd) {
	struct host_service_load l;
	if (host_service_load(h, &l) != 0)
		return -1;
	if (skynet_send_copy(NULL, h, PTYPE_SYSTEM, 0, cmd, strlen(cmd)) < 0)
		return -1;
	w->handle = h;
	w->target = l.messages + (long long)l.mqlen + 1;
	return 0;
}

static struct console_job *job_new(enum job_kind kind) {
	struct console_job *job = calloc(1, sizeof(*job));
	if (job) {
		job->kind = kind;
		job->start = console_now_ms();
		job->due = job->start + WAIT_POLL_MS;
		job->deadline = job->start + WAIT_MAX_MS;
	}
	return job;
}

struct console_job *console_ping(FILE *f, const char *arg) {
	uint32_t h;
	if (console_need_live(f, arg, &h) != 0)
		return NULL;
	struct console_job *job = job_new(JOB_PING);
	if (job == NULL || (job->w = malloc(sizeof(struct wait_one))) == NULL) {
		console_job_free(job);
		console_fail(f, "out of memory");
		return NULL;
	}
	if (send_noted(&job->w[0], h, "ping") != 0) {
		console_job_free(job);
		console_fail(f, "no service :%08x", h);
		return NULL;
	}
	job->nw = 1;
	return job;
}

struct gc_send {
	struct console_job *job;
	size_t cap;
};

static void gc_one(uint32_t h, void *ud) {
	struct gc_send *g = ud;
	if (g->job->nw < g->cap && send_noted(&g->job->w[g->job->nw], h, "gc") == 0)
		g->job->nw++;
}

struct console_job *console_gc(FILE *f) {
	struct console_job *job = job_new(JOB_GC);
	struct gc_send g = { job, host_service_count() + 16 };
	if (job == NULL || (job->w = malloc(g.cap * sizeof(struct wait_one))) == NULL
		|| host_foreach_service(gc_one, &g) != 0) {
		console_job_free(job);
		console_fail(f, "out of memory");
		return NULL;
	}
	return job;
}

struct console_job *console_grow(FILE *f, const char *secs, const char *count) {
	long s, n;
	if (console_count_arg(f, secs, 5, GROW_MAX_SECONDS, &s) != 0 || console_count_arg(f, count, 10, 1000000, &n) != 0)
		return NULL;
	struct console_job *job = job_new(JOB_GROW);
	if (job == NULL) {
		console_fail(f, "out of memory");
		return NULL;
	}
	if (console_view(f, &job->before, HOST_VIEW_EXITED) != 0) {
		free(job);
		return NULL;
	}
	job->n = n;
	job->due = job->deadline = job->start + (uint64_t)s * 1000;
	return job;
}

/* 1 when every noted message was handled (or its service is gone); the
 * ones seen done are not asked again. */
static int waits_done(struct console_job *job) {
	for (; job->done < job->nw; job->done++) {
		struct host_service_load l;
		const struct wait_one *w = &job->w[job->done];
		if (host_service_load(w->handle, &l) == 0 && l.messages < w->target)
			return 0;
	}
	return 1;
}

struct growth {
	const struct host_mem_row *row;
	long long by, c, lua;
};

static int cmp_growth(const void *a, const void *b) {
	const struct growth *x = a, *y = b;
	return x->by < y->by ? 1 : x->by > y->by ? -1
		: (x->row->st.handle > y->row->st.handle) - (x->row->st.handle < y->row->st.handle);
}

/* recon's proc_window: the rows that grew most between the two views (a new
 * service grew from 0). */
static int grow_answer(FILE *f, struct console_job *job) {
	struct host_mem_view now;
	if (console_view(f, &now, HOST_VIEW_EXITED) != 0)
		return -1;
	struct growth *g = malloc((now.n + 1) * sizeof(*g));
	if (g == NULL) {
		host_mem_view_free(&now);
		return console_fail(f, "out of memory");
	}
	for (size_t i = 0; i < now.n; i++) {
		const struct host_mem_row *r = &now.rows[i], *p = host_mem_find(&job->before, r->st.handle);
		g[i].row = r;
		g[i].c = (long long)r->st.bytes - (p ? (long long)p->st.bytes : 0);
		g[i].lua = (long long)r->st.lua_bytes - (p ? (long long)p->st.lua_bytes : 0);
		g[i].by = g[i].c + g[i].lua;
	}
	qsort(g, now.n, sizeof(*g), cmp_growth);
	for (size_t i = 0; i < now.n && (long)i < job->n; i++) {
		fprintf(f, ":%08x\t", g[i].row->st.handle);
		console_name_out(f, g[i].row->name);
		fprintf(f, "\tgrowth:%+lld\tC:%+lld\tLua:%+lld\ttotal:%zu\n", g[i].by, g[i].c, g[i].lua,
			console_row_total(g[i].row));
	}
	fprintf(f, "window\t%.1fs\n", (console_now_ms() - job->start) / 1000.0);
	free(g);
	host_mem_view_free(&now);
	return 0;
}

int console_job_poll(struct console_job *job, FILE *f) {
	uint64_t now = console_now_ms();
	int rc = 0;
	if (job->kind == JOB_GROW) {
		if (now < job->due)
			return 0;
		rc = grow_answer(f, job);
	} else {
		int done = waits_done(job);
		if (!done && now < job->deadline) {
			job->due = now + WAIT_POLL_MS;
			return 0;
		}
		if (job->kind == JOB_PING) {
			if (done)
				fprintf(f, "%llu\n", (unsigned long long)(now - job->start) / 10);   /* centiseconds */
			else
				rc = console_fail(f, "ping :%08x: no answer in %d ms", job->w[0].handle, WAIT_MAX_MS);
		} else {
			struct host_mem_view v;
			rc = console_view(f, &v, 0);   /* skynet's gc answers with mem */
			if (rc == 0) {
				console_mem_lines(f, &v);
				host_mem_view_free(&v);
				if (!done)
					fprintf(f, "timeout\tsome services did not collect within %d ms\n", WAIT_MAX_MS);
			}
		}
	}
	console_end(f, rc);
	console_job_free(job);
	return 1;
}
