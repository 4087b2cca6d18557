/* The views skynet's memory_web serves, from the same C as the project's host
 * (mem-views.c, mem-history.c): memory.metrics, memory.json, memory.history
 * and memory.utf8. What only skynet's Lua side knows (names, mailbox lengths,
 * snlua's own count of each Lua heap) comes in tables keyed by handle. */

#include <stdlib.h>
#include <string.h>

#include "lua-memory.h"
#include "mem-history.h"
#include "mem-views.h"

#define HISTORY_META "skynet.memory.history"

/* t[handle] of the table at idx (or absent), as a string or an integer. */
static const char *str_at(lua_State *L, int idx, uint32_t h) {
	if (idx == 0 || lua_rawgeti(L, idx, (lua_Integer)h) != LUA_TSTRING) {
		if (idx)
			lua_pop(L, 1);
		return NULL;
	}
	const char *s = lua_tostring(L, -1);
	lua_pop(L, 1);   /* still referenced by the table */
	return s;
}

static long long int_at(lua_State *L, int idx, uint32_t h, long long def) {
	if (idx == 0)
		return def;
	lua_rawgeti(L, idx, (lua_Integer)h);
	int isint;
	lua_Integer v = lua_tointegerx(L, -1, &isint);
	lua_pop(L, 1);
	return isint && v >= 0 ? (long long)v : def;
}

/* The field of the info table at arg, pushed; its index or 0 when absent. */
static int field(lua_State *L, int arg, const char *name) {
	if (lua_isnoneornil(L, arg))
		return 0;
	if (lua_getfield(L, arg, name) != LUA_TTABLE) {
		lua_pop(L, 1);
		return 0;
	}
	return lua_gettop(L);
}

struct rows_box {
	struct mem_views_row *v;
};

static int rows_gc(lua_State *L) {
	struct rows_box *b = lua_touserdata(L, 1);
	free(b->v);
	b->v = NULL;
	return 0;
}

/* The view of every live record, named from info (arg). Pushes two boxes. */
static void build(lua_State *L, int arg, struct mem_views *view) {
	if (!lua_isnoneornil(L, arg))
		luaL_checktype(L, arg, LUA_TTABLE);
	int names = field(L, arg, "names");
	int mailbox = field(L, arg, "mailbox");
	int lua_mem = field(L, arg, "lua_mem");
	int messages = field(L, arg, "messages");
	struct lmem_list *list = lmem_collect(L);
	struct rows_box *box = lua_newuserdatauv(L, sizeof(*box), 0);
	box->v = NULL;
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, rows_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	box->v = calloc(list->n + 1, sizeof(*box->v));
	if (box->v == NULL)
		luaL_error(L, "not enough memory");
	memset(view, 0, sizeof(*view));
	size_t n = 0;
	for (size_t i = 0; i < list->n; i++) {
		const struct skynet_mem_stat *st = &list->v[i];
		if (st->retired)
			continue;
		struct mem_views_row *r = &box->v[n++];
		r->st = *st;
		/* the Lua side's name, else the record's own (skynet_mem_set_name) */
		r->name = str_at(L, names, st->handle);
		if (r->name == NULL || r->name[0] == '\0')
			r->name = r->st.name[0] ? r->st.name : st->handle == 0 ? "host" : "";
		r->mailbox = (size_t)int_at(L, mailbox, st->handle, (long long)st->queued_msgs);
		r->messages = int_at(L, messages, st->handle, -1);
		r->lua_mem = int_at(L, lua_mem, st->handle, -1);
		view->services += st->handle != 0;
	}
	view->rows = box->v;
	view->n = n;
	mem_views_globals(view);
	/* info.limit_refusals = true: skynet_mem_limit_refusals_total, the
	 * layer's count of refused allocations (skynet's memory_web; the
	 * project's host writes its own count) */
	if (!lua_isnoneornil(L, arg)) {
		view->has_refusals = lua_getfield(L, arg, "limit_refusals") == LUA_TBOOLEAN && lua_toboolean(L, -1);
		lua_pop(L, 1);
		view->refusals = skynet_mem_limit_refusals();
	}
}

static int push_text(lua_State *L, char *text) {
	if (text == NULL)
		return luaL_error(L, "not enough memory");
	lua_pushstring(L, text);
	free(text);
	return 1;
}

/* metrics([info [, top]]): Prometheus text of every live service. */
static int lmetrics(lua_State *L) {
	lua_Integer top = luaL_optinteger(L, 2, 0);
	luaL_argcheck(L, top >= 0, 2, "top must be >= 0 (0: every service)");
	struct mem_views view;
	build(L, 1, &view);
	return push_text(L, mem_views_metrics(&view, (size_t)top));
}

/* json([info]): /memory.json. */
static int ljson(lua_State *L) {
	struct mem_views view;
	build(L, 1, &view);
	return push_text(L, mem_views_json(&view));
}

static const char *const utf8_modes[] = { "raw", "label", "line", "json", NULL };

/* utf8(s [, mode]): s as valid UTF-8 (U+FFFD for bad bytes), escaped as a
 * Prometheus label ("label"), one console line ("line") or a JSON string's
 * inside ("json"). */
static int lutf8(lua_State *L) {
	const char *s = luaL_checkstring(L, 1);
	enum mem_utf8_escape esc = (enum mem_utf8_escape)luaL_checkoption(L, 2, "raw", utf8_modes);
	return push_text(L, mem_utf8_clean(s, esc));
}

/* --- the history ring of memory_web --- */

/* What the host keeps of its own and memory_web learns from the layer: the
 * limit crossings (a reader of the layer's ring that takes nothing: skynet's
 * glue logs them) and the exits that left memory (retired records still
 * owning some, found when first seen: within a second of the exit). */
#define EXITS_KEPT 64
#define HITS_KEPT 32
#define BURST_MS 1000   /* a service's crossings of one kind this close: one hit */

struct exit_kept {
	struct mem_history_exit x;
	char name[MEM_NAME_MAX], sites[200];
};

struct hit_kept {
	struct mem_history_hit x;
	char name[MEM_NAME_MAX];
};

struct events {
	uint64_t cursor;                 /* the layer's crossings read so far */
	struct hit_kept hits[HITS_KEPT];
	size_t nhits;                    /* so far; the last HITS_KEPT kept */
	struct exit_kept exits[EXITS_KEPT];
	size_t nexits;
	uint32_t *seen;                  /* retired handles already reported, sorted */
	size_t nseen;
};

struct ring {
	size_t cap, n;   /* n: samples so far; the ring keeps the last cap */
	struct events ev;
	struct mem_history_sample s[];
};

static struct ring *check_ring(lua_State *L) {
	return luaL_checkudata(L, 1, HISTORY_META);
}

static int ring_gc(lua_State *L) {
	struct ring *r = check_ring(L);
	free(r->ev.seen);
	r->ev.seen = NULL;
	return 0;
}

static void record_name(uint32_t h, char *out, size_t size) {
	struct skynet_mem_stat st;
	mem_utf8_cut(out, size, skynet_mem_stat(h, &st) == 0 ? st.name : "");
}

static void take_hits(struct events *ev, uint64_t now) {
	struct skynet_mem_limit_event e[16];
	size_t got;
	while ((got = skynet_mem_limit_events_since(&ev->cursor, e, 16, NULL)) > 0)
		for (size_t i = 0; i < got; i++) {
			const char *kind = e[i].lua ? "Lua" : "C";
			struct hit_kept *h = NULL;
			for (size_t k = ev->nhits; k > 0 && k + HITS_KEPT > ev->nhits && h == NULL; k--) {
				struct hit_kept *o = &ev->hits[(k - 1) % HITS_KEPT];
				if (o->x.handle == e[i].handle && strcmp(o->x.kind, kind) == 0 && o->x.refused == e[i].refused &&
					now - o->x.last_ms < BURST_MS)
					h = o;
			}
			if (h) {
				h->x.count++;
			} else {
				h = &ev->hits[ev->nhits++ % HITS_KEPT];
				memset(h, 0, sizeof(*h));
				record_name(e[i].handle, h->name, sizeof(h->name));
				h->x = (struct mem_history_hit){ .handle = e[i].handle, .name = h->name, .kind = kind,
					.refused = e[i].refused, .limit = e[i].limit, .first_ms = now, .count = 1 };
			}
			h->x.request = e[i].request;
			h->x.used = e[i].used;
			h->x.last_ms = now;
		}
}

static int cmp_handle(const void *a, const void *b) {
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

struct exits_walk {
	struct events *ev;
	uint64_t now;
	uint32_t *now_seen;
	size_t n, cap;
	int nomem;
};

static int take_exit(const struct skynet_mem_stat *st, void *ud) {
	struct exits_walk *w = ud;
	if (!st->retired)
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		uint32_t *p = realloc(w->now_seen, cap * sizeof(*p));
		if (p == NULL) {
			w->nomem = 1;
			return 1;
		}
		w->now_seen = p;
		w->cap = cap;
	}
	w->now_seen[w->n++] = st->handle;
	struct events *ev = w->ev;
	if (ev->seen && bsearch(&st->handle, ev->seen, ev->nseen, sizeof(*ev->seen), cmp_handle))
		return 0;
	struct exit_kept *e = &ev->exits[ev->nexits++ % EXITS_KEPT];
	memset(e, 0, sizeof(*e));
	mem_utf8_cut(e->name, sizeof(e->name), st->name);
	skynet_mem_profile_sites(st->handle, e->sites, sizeof(e->sites), 3);
	e->x = (struct mem_history_exit){ .handle = st->handle, .name = e->name, .sites = e->sites, .t_ms = w->now,
		.bytes = st->bytes, .blocks = st->blocks, .lua_bytes = st->lua_bytes };
	return 0;
}

/* The crossings queued and the exits that left memory since the last call.
 * Out of memory, the exits wait for the next call. */
static void take_events(struct events *ev, uint64_t now) {
	take_hits(ev, now);
	struct exits_walk w = { ev, now, NULL, 0, 0, 0 };
	size_t before = ev->nexits;
	skynet_mem_foreach(take_exit, &w);
	if (w.nomem) {
		ev->nexits = before;
		free(w.now_seen);
		return;
	}
	qsort(w.now_seen, w.n, sizeof(*w.now_seen), cmp_handle);
	free(ev->seen);
	ev->seen = w.now_seen;
	ev->nseen = w.n;
}

/* Names the last sample's services from names (a handle missing there gets
 * "?"); returns how many were missing, pushing their handles as an array when any. */
static int name_last(lua_State *L, struct ring *r, int names) {
	struct mem_history_sample *s = &r->s[(r->n - 1) % r->cap];
	int missing = 0;
	for (size_t k = 0; k < s->ntop; k++) {
		const char *name = str_at(L, names, s->top[k].handle);
		if (name == NULL && s->top[k].name[0])
			continue;   /* the record's own name, from the sample */
		if (name == NULL && s->top[k].handle != 0) {
			if (missing++ == 0)
				lua_createtable(L, 4, 0);
			lua_pushinteger(L, (lua_Integer)s->top[k].handle);
			lua_rawseti(L, -2, missing);
		}
		mem_utf8_cut(s->top[k].name, sizeof(s->top[k].name),
			name ? name : s->top[k].handle == 0 ? "host" : "?");
	}
	return missing;
}

/* ring:sample(t_ms [, names]): a sample of the layer now, its services named
 * from names; returns the handles names lacked (an array), or nothing. */
static int ring_sample(lua_State *L) {
	struct ring *r = check_ring(L);
	lua_Integer t = luaL_checkinteger(L, 2);
	int names = lua_istable(L, 3) ? 3 : 0;
	mem_history_take(&r->s[r->n % r->cap], (uint64_t)t);
	r->n++;
	take_events(&r->ev, (uint64_t)t);
	return name_last(L, r, names) ? 1 : 0;
}

/* ring:rename(names): names the last sample's services again (after the
 * caller learnt the names sample lacked). */
static int ring_rename(lua_State *L) {
	struct ring *r = check_ring(L);
	luaL_checktype(L, 2, LUA_TTABLE);
	if (r->n)
		name_last(L, r, 2);
	return 0;
}

struct exited {
	lua_State *L;
	int names;
	FILE *f;
	size_t all, shown;
};

/* Exited records still owning C blocks (the first 50 found). */
static int write_exited(const struct skynet_mem_stat *st, void *ud) {
	struct exited *e = ud;
	if (!st->retired || (st->bytes == 0 && st->blocks == 0))
		return 0;
	if (e->shown++ < 50) {
		fprintf(e->f, "%s{\"handle\":\":%08x\",\"name\":", e->shown > 1 ? "," : "", st->handle);
		const char *name = str_at(e->L, e->names, st->handle);
		mem_views_json_string(e->f, name ? name : st->name);
		fprintf(e->f, ",\"c_bytes\":%zu,\"blocks\":%zu}", st->bytes, st->blocks);
	}
	e->all++;
	return 0;
}

/* The kept events, oldest first, for the renderer. */
static size_t kept_exits(const struct events *ev, struct mem_history_exit *out) {
	size_t n = ev->nexits < EXITS_KEPT ? ev->nexits : EXITS_KEPT;
	for (size_t i = 0; i < n; i++)
		out[i] = ev->exits[(ev->nexits - n + i) % EXITS_KEPT].x;
	return n;
}

static size_t kept_hits(const struct events *ev, struct mem_history_hit *out) {
	size_t n = ev->nhits < HITS_KEPT ? ev->nhits : HITS_KEPT;
	for (size_t i = 0; i < n; i++)
		out[i] = ev->hits[(ev->nhits - n + i) % HITS_KEPT].x;
	return n;
}

/* ring:json(since_ms, now_ms [, names]): /history.json. The exits and limit
 * hits are those the ring has seen (each sample and each call looks). */
static int ring_json(lua_State *L) {
	struct ring *r = check_ring(L);
	lua_Integer since = luaL_checkinteger(L, 2);
	lua_Integer now = luaL_checkinteger(L, 3);
	int names = lua_istable(L, 4) ? 4 : 0;
	size_t kept = r->n < r->cap ? r->n : r->cap, first = r->n - kept, skip = 0;
	while (skip < kept && (lua_Integer)r->s[(first + skip) % r->cap].t_ms <= since)
		skip++;
	size_t n = kept - skip;
	struct mem_history_sample *copy = malloc((n + 1) * sizeof(*copy));
	char *buf = NULL;
	size_t len = 0;
	FILE *f = copy ? open_memstream(&buf, &len) : NULL;
	if (f == NULL) {
		free(copy);
		return luaL_error(L, "not enough memory");
	}
	for (size_t i = 0; i < n; i++)
		copy[i] = r->s[(first + skip + i) % r->cap];
	fputc('{', f);
	mem_history_write(f, copy, n, 1000, r->cap, (uint64_t)now);
	free(copy);
	take_events(&r->ev, (uint64_t)now);
	struct mem_history_exit ex[EXITS_KEPT];
	struct mem_history_hit hits[HITS_KEPT];
	mem_history_write_exits(f, ex, kept_exits(&r->ev, ex));
	mem_history_write_hits(f, skynet_mem_limit_refusals(), hits, kept_hits(&r->ev, hits));
	fputs(",\"exited\":[", f);
	struct exited e = { L, names, f, 0, 0 };
	skynet_mem_foreach(write_exited, &e);
	fprintf(f, "],\"exited_with_leftovers\":%zu}", e.all);
	if (fclose(f) != 0) {
		free(buf);
		return luaL_error(L, "not enough memory");
	}
	return push_text(L, buf);
}

/* history([capacity]): a ring of capacity samples (600: ten minutes at one a second). */
static int lhistory(lua_State *L) {
	lua_Integer cap = luaL_optinteger(L, 1, 600);
	luaL_argcheck(L, cap >= 1 && cap <= 86400, 1, "capacity must be 1..86400");
	struct ring *r = lua_newuserdatauv(L, sizeof(*r) + (size_t)cap * sizeof(r->s[0]), 0);
	memset(r, 0, sizeof(*r));
	r->cap = (size_t)cap;
	if (luaL_newmetatable(L, HISTORY_META)) {
		static const luaL_Reg m[] = { { "sample", ring_sample }, { "rename", ring_rename }, { "json", ring_json },
			{ NULL, NULL } };
		luaL_newlib(L, m);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, ring_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	return 1;
}

void lmem_open_views(lua_State *L) {
	static const luaL_Reg l[] = {
		{ "metrics", lmetrics },
		{ "json", ljson },
		{ "utf8", lutf8 },
		{ "history", lhistory },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, l, 0);
}
