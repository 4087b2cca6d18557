-- skynet.memory from the stock lua5.4: every function, its result shape, and
-- its bad inputs. memtest (a test-only module) charges C blocks to services.
-- ctest passes EXPECT_JEMALLOC and EXPECT_CHECK for the build variant.
package.path = arg[0]:match("^(.*/)") .. "?.lua;" .. package.path
local T = require "testlib"
local memory = require "skynet.memory"
local memtest = require "memtest"

local function isint(v)
	return math.type(v) == "integer"
end

T.case("module flags match the build", function()
	T.eq(memory.jemalloc, EXPECT_JEMALLOC, "memory.jemalloc")
	T.eq(memory.check, EXPECT_CHECK, "memory.check")
end)

T.case("checkall: a clean heap has no damaged block (0 in release builds)", function()
	T.eq(memory.checkall(), 0, "memory.checkall()")
end)

T.case("skynet's process figures: total, block, current, handle", function()
	for _, name in ipairs { "total", "block", "current", "services", "handle" } do
		local v = memory[name]()
		assert(isint(v) and v >= 0, name .. " must be a non-negative integer")
	end
	local h = 0x0a000001
	local t0, b0 = memory.total(), memory.block()
	local p = memtest.malloc(h, 1000)
	local charge = memtest.charge(p)
	assert(charge >= 1000)
	T.eq(memory.total(), t0 + charge, "total after malloc")
	T.eq(memory.block(), b0 + 1, "block after malloc")
	memtest.setcurrent(h)
	T.eq(memory.handle(), h, "handle()")
	T.eq(memory.current(), charge, "current()")
	memtest.setcurrent(0)
	memtest.free(p)
	T.eq(memory.total(), t0, "total after free")
	T.eq(memory.block(), b0, "block after free")
end)

T.case("stat: the full record, nil when unknown", function()
	local h = 0x0a000002
	T.eq(memory.stat(h), nil, "unknown handle")
	local p, q = memtest.malloc(h, 100), memtest.malloc(h, 5000)
	local st = memory.stat(h)
	T.eq(st.handle, h, "handle")
	T.eq(st.bytes, memtest.charge(p) + memtest.charge(q), "bytes")
	T.eq(st.blocks, 2, "blocks")
	T.eq(st.lua_bytes, 0, "lua_bytes")
	T.eq(st.total, st.bytes, "total")
	T.eq(st.peak, st.bytes, "peak")
	T.eq(st.limit, 0, "limit")
	T.eq(st.allocs, 2, "allocs")
	T.eq(st.frees, 0, "frees")
	T.eq(st.retired, false, "retired")
	local both = st.bytes
	memtest.free(q)
	st = memory.stat(h)
	T.eq(st.bytes, memtest.charge(p), "bytes after free")
	T.eq(st.peak, both, "peak is the high-water mark")
	T.eq(st.frees, 1, "frees")
	-- skynet's address text names the same service.
	T.eq(memory.stat(string.format(":%08x", h)).handle, h, "':%08x' handle")
	memtest.free(p)
end)

T.case("bad handles raise clear errors", function()
	for _, fn in ipairs { memory.stat, memory.getlimit } do
		T.raises("handle out of range (0..0xffffffff)", fn, -1)
		T.raises("handle out of range (0..0xffffffff)", fn, 0x100000000)
		T.raises("number has no integer representation", fn, 1.5)
		T.raises("integer handle expected, got no value", fn)
		T.raises("integer handle expected, got table", fn, {})
		T.raises("integer handle expected, got boolean", fn, true)
		for _, text in ipairs { "12", ":", ":xyz", ":123456789", ":-1", ": 1" } do
			T.raises("handle expected (an integer or \":%08x\")", fn, text)
		end
	end
	T.eq(memory.stat(0xffffffff), nil, "largest handle is valid")
end)

T.case("info: { [handle] = bytes } of services holding memory", function()
	local a, b = 0x0a000003, 0x0a000004
	local pa, pb = memtest.malloc(a, 300), memtest.malloc(b, 70000)
	local info = memory.info()
	T.eq(info[a], memtest.charge(pa), "info[a]")
	T.eq(info[b], memtest.charge(pb), "info[b]")
	local sum = 0
	for h, bytes in pairs(info) do
		assert(isint(h) and h >= 0 and h <= 0xffffffff, "keys are handles")
		assert(isint(bytes) and bytes > 0, "values are bytes")
		sum = sum + bytes
	end
	T.eq(sum, memory.total(), "info sums to total")
	memtest.free(pa)
	memtest.free(pb)
	T.eq(memory.info()[a], nil, "a service holding nothing is left out")
end)

T.case("top: records ranked by a key, largest first", function()
	local big, mid, many = 0x0a000005, 0x0a000006, 0x0a000007
	local blocks = { memtest.malloc(big, 4 << 20), memtest.malloc(mid, 2 << 20) }
	for _ = 1, 200 do
		blocks[#blocks + 1] = memtest.malloc(many, 16)
	end
	local top = memory.top(2)
	T.eq(#top, 2, "top(2) length")
	T.eq(top[1].handle, big, "largest first")
	T.eq(top[2].handle, mid, "then the next")
	T.eq(top[1].total, memory.stat(big).total, "entries are full records")
	T.eq(memory.top(1, "blocks")[1].handle, many, "ranked by blocks")
	T.eq(memory.top(1, "allocs")[1].handle, many, "ranked by allocs")
	T.eq(#memory.top(0), 0, "top(0) is empty")
	assert(#memory.top() <= 10, "default count is 10")
	T.eq(#memory.top(1000000), memory.services(), "never more than the services")
	for i = 2, #memory.top(50) do
		local t = memory.top(50)
		assert(t[i - 1].total >= t[i].total, "sorted")
	end
	T.raises("count must be >= 0", memory.top, -1)
	T.raises("invalid option 'nope'", memory.top, 1, "nope")
	T.raises("number expected, got table", memory.top, {})
	for _, p in ipairs(blocks) do
		memtest.free(p)
	end
end)

T.case("limits: get, set, errors, and the layer refuses growth past them", function()
	local h = 0x0a000008
	T.raises("setlimit: no service :0a000008 (never seen, or exited)", memory.setlimit, h, 1 << 20)
	T.eq(memory.stat(h), nil, "a refused limit makes no record")
	T.raises("setlimit: handle 0 is the host's own threads, not a service", memory.setlimit, 0, 1)
	local first = memtest.malloc(h, 16)   -- the service exists once it owns something
	T.eq(memory.getlimit(h), 0, "no limit by default")
	T.eq(memory.setlimit(h, 1 << 20), 0, "setlimit returns the previous limit")
	T.eq(memory.getlimit(h), 1 << 20, "getlimit")
	T.eq(memory.stat(h).limit, 1 << 20, "the record shows it")
	local p = memtest.malloc(h, 512 << 10)
	T.raises("not enough memory", memtest.malloc, h, 768 << 10)
	local q = memtest.malloc(h, 256 << 10)   -- still fits
	T.eq(memory.setlimit(h, 0), 1 << 20, "0 removes it")
	local r = memtest.malloc(h, 2 << 20)
	T.raises("limit must be >= 0 (0 removes it)", memory.setlimit, h, -1)
	T.raises("number has no integer representation", memory.setlimit, h, 0.5)
	T.raises("number expected, got no value", memory.setlimit, h)
	T.raises("number expected, got string", memory.setlimit, h, "lots")
	T.raises("handle out of range", memory.setlimit, -5, 10)
	for _, x in ipairs { first, p, q, r } do
		memtest.free(x)
	end
end)

T.case("guard: a service's blocks in guarded slots, its figures, bad input", function()
	local h = 0x0a000020
	if EXPECT_CHECK then
		T.raises("not in MEMORY_CHECK builds", memory.guard, h, 1)
		return
	end
	T.eq(memory.guard(h, 1), 0, "guard returns the previous every")
	local before = memory.guardinfo(h)
	T.eq(before.every, 1, "guardinfo(h).every")
	assert(before.slots > 0 and before.pool_bytes > before.slots * 4096, "the pool exists")
	local p = memtest.malloc(h, 100)
	local after = memory.guardinfo(h)
	T.eq(after.blocks, before.blocks + 1, "the block is guarded")
	T.eq(after.live, before.live + 1, "a slot in use")
	T.eq(after.guarded, before.guarded + 1, "guarded so far")
	memtest.free(p)
	T.eq(memory.guardinfo(h).blocks, before.blocks, "freed")
	T.eq(memory.guard(h, 0), 1, "0 stops")
	T.eq(memory.guardinfo(h).every, 0, "stopped")
	local q = memtest.malloc(h, 100)
	T.eq(memory.guardinfo(h).blocks, 0, "not guarded once stopped")
	memtest.free(q)
	T.raises("every must be 0 (stop) to 4294967295", memory.guard, h, -1)
	T.raises("number expected, got no value", memory.guard, h)
	T.raises("handle out of range", memory.guard, -5, 1)
end)

T.case("snapshot: the caller's row leaves out the list the records are read into", function()
	local me = 0x0a000030
	local others = {}
	for i = 1, 300 do   -- more records than a list's first size
		others[i] = memtest.malloc(0x0a001000 + i, 10)
	end
	local p = memtest.malloc(me, 1000)
	memtest.setcurrent(me)
	local a = memory.snapshot()
	local top = memory.top(1000)
	memtest.setcurrent(0)
	T.eq(a.services[me].bytes, memtest.charge(p), "caller's bytes in the snapshot")
	T.eq(a.services[me].blocks, 1, "caller's blocks in the snapshot")
	local row
	for _, r in ipairs(top) do
		if r.handle == me then row = r end
	end
	T.eq(row and row.bytes, memtest.charge(p), "caller's bytes in top")
	T.eq(memory.stat(me).bytes, memtest.charge(p), "the list is freed")
	memtest.free(p)
	for _, q in ipairs(others) do
		memtest.free(q)
	end
end)

T.case("snapshot and diff: growth per service over a window", function()
	local grow, shrink, still = 0x0a000010, 0x0a000011, 0x0a000012
	local s = memtest.malloc(shrink, 100000)
	local k = memtest.malloc(still, 100)
	local a = memory.snapshot()
	assert(type(a.time) == "number", "snapshot.time")
	T.eq(a.services[shrink].bytes, memtest.charge(s), "snapshot entry bytes")
	T.eq(a.services[shrink].blocks, 1, "snapshot entry blocks")
	T.eq(a.services[grow], nil, "grow not yet known")
	local g = { memtest.malloc(grow, 200000), memtest.malloc(grow, 10) }
	local shrunk = memtest.charge(s)
	memtest.free(s)
	local b = memory.snapshot()
	local d, seconds = memory.diff(a, b)
	assert(seconds >= 0, "window in seconds")
	T.eq(d[1].handle, grow, "largest growth first")
	T.eq(d[1].delta, memtest.charge(g[1]) + memtest.charge(g[2]), "delta")
	T.eq(d[1].bytes, d[1].delta, "bytes delta")
	T.eq(d[1].blocks, 2, "blocks delta")
	T.eq(d[1].allocs, 2, "allocs delta")
	T.eq(d[1].total, d[1].delta, "total now")
	T.eq(d[1].new, true, "new service")
	T.eq(d[#d].handle, shrink, "largest shrink last")
	T.eq(d[#d].delta, -shrunk, "negative delta")
	T.eq(d[#d].frees, 1, "frees delta")
	for _, e in ipairs(d) do
		assert(e.handle ~= still, "unchanged services are left out")
	end
	T.eq(#memory.diff(a, b, 1), 1, "diff(a, b, n) keeps n")
	-- The caller's row (here the host's, 0) counts the block each snapshot
	-- reads into in its allocs and frees, not in its bytes.
	local by_frees = memory.diff(a, b, nil, "frees")
	if by_frees[1].handle == memory.handle() then table.remove(by_frees, 1) end
	T.eq(by_frees[1].handle, shrink, "ranked by frees")
	T.eq(memory.diff(a, b, 1, "blocks")[1].handle, grow, "ranked by blocks")
	T.raises("invalid option 'peak'", memory.diff, a, b, 1, "peak")
	T.eq(#memory.diff(b, b), 0, "no change, no entries")
	-- An exited, drained service's record is reclaimed: "gone".
	local gone = 0x0a000013
	memtest.free(memtest.malloc(gone, 10))
	local c = memory.snapshot()
	memtest.exit(gone)
	local e = memory.snapshot()
	T.eq(e.services[gone], nil, "reclaimed record is not in a snapshot")
	local found
	for _, x in ipairs(memory.diff(c, e)) do
		if x.handle == gone then
			found = x
		end
	end
	assert(found and found.gone == true, "diff marks it gone")
	T.raises("bad argument #1 to 'skynet.memory.diff' (not a snapshot (no time))", memory.diff, {}, b)
	T.raises("not a snapshot (no services table)", memory.diff, a, { time = 1 })
	T.raises("bad argument #2", memory.diff, a)
	T.raises("table expected, got number", memory.diff, 1, b)
	T.raises("count must be >= 0", memory.diff, a, b, -1)
	T.raises("bad snapshot entry", memory.diff, a, { time = 2, services = { [1] = 5 } })
	T.raises("keys must be handles", memory.diff, a, { time = 2, services = { x = {} } })
	memtest.free(g[1])
	memtest.free(g[2])
	memtest.free(k)
end)

T.case("orphans, exited services and totals", function()
	local h = 0x0a000020
	local b0, n0 = memory.orphans()
	local p = memtest.malloc(h, 5000)
	local left = memtest.exit(h)
	T.eq(left.bytes, memtest.charge(p), "exit reports leftovers")
	local b1, n1 = memory.orphans()
	T.eq(b1, b0 + memtest.charge(p), "orphaned bytes")
	T.eq(n1, n0 + 1, "orphaned blocks")
	T.eq(memory.stat(h).retired, true, "record marked retired")
	memtest.free(p)
	local b2, n2 = memory.orphans()
	T.eq(b2, b0, "freed orphan")
	T.eq(n2, n0, "freed orphan block")
	local t = memory.totals()
	for _, f in ipairs { "bytes", "blocks", "lua_bytes", "total", "services", "allocs", "frees" } do
		assert(isint(t[f]) and t[f] >= 0, "totals." .. f)
	end
	T.eq(t.bytes, memory.total(), "total() is totals().bytes (C only)")
	T.eq(t.services, memory.services(), "services()")
	T.eq(t.blocks, memory.block(), "totals().blocks")
end)

T.case("10,000 services: info, top and snapshot see every one", function()
	local base, blocks = 0x0d000000, {}
	for i = 1, 10000 do
		blocks[i] = memtest.malloc(base + i, 16 * i)
	end
	local info = memory.info()
	for i = 1, 10000 do
		assert(info[base + i] == memtest.charge(blocks[i]), "info of service " .. i)
	end
	local top = memory.top(3)
	T.eq(top[1].total, memtest.charge(blocks[10000]), "largest charge first")
	assert(top[1].total >= top[2].total and top[2].total >= top[3].total, "sorted")
	-- Equal charges (one size class) rank by handle.
	assert(top[1].total > top[2].total or top[1].handle < top[2].handle, "ties by handle")
	local snap = memory.snapshot()
	T.eq(snap.services[base + 1].bytes, memtest.charge(blocks[1]), "snapshot entry")
	for i = 1, 10000 do
		memtest.free(blocks[i])
	end
	local shrank = 0
	for _, e in ipairs(memory.diff(snap, memory.snapshot())) do
		if e.handle ~= memory.handle() then shrank = shrank + 1 end   -- the caller: allocs, frees
	end
	T.eq(shrank, 10000, "all shrank")
end)

T.case("dump (the logger: stderr here) and dumpinfo", function()
	local p = memtest.malloc(0x0a000030, 64)
	memory.dump()
	if EXPECT_JEMALLOC then
		memory.dumpinfo("gmdablxe")   -- every section off: a short print
		memory.dumpinfo({})           -- skynet ignores what is not a string
	end
	memtest.free(p)
end)

if EXPECT_JEMALLOC then
	T.case("jestat: skynet's five jemalloc figures", function()
		local s = memory.jestat()
		for _, k in ipairs { "stats.allocated", "stats.resident", "stats.retained", "stats.mapped", "stats.active" } do
			assert(isint(s[k]) and s[k] >= 0, k)
		end
		assert(s["stats.allocated"] > 0, "something is allocated")
		assert(s["stats.allocated"] <= s["stats.active"], "allocated <= active")
		assert(s["stats.active"] <= s["stats.mapped"], "active <= mapped")
	end)

	T.case("mallctl: skynet's integers, 0 for what has none", function()
		T.eq(memory.mallctl("version"), 0, "a string-valued control")
		local n = memory.mallctl("opt.narenas")   -- unsigned
		assert(isint(n) and n > 0, "opt.narenas")
		assert(isint(memory.mallctl("stats.allocated")), "size_t")
		assert(isint(memory.mallctl("opt.dirty_decay_ms")), "ssize_t")
		local prof = memory.mallctl("config.prof")
		assert(prof == 0 or prof == 1, "a boolean as 0/1")
		T.eq(memory.mallctl("no.such.thing"), 0, "unknown name")
		T.eq(memory.mallctl("arena.0.purge"), 0, "a command")
		T.raises("string expected, got no value", memory.mallctl)
		T.raises("string expected, got table", memory.mallctl, {})
	end)

	T.case("mallctl_value: integers, booleans, strings; unknown names raise", function()
		local mv = memory.mallctl_value
		assert(mv("version"):match("^%d+%.%d+%.%d+"), "version is a string")
		T.eq(mv("opt.narenas"), memory.mallctl("opt.narenas"), "same integer as mallctl")
		T.eq(type(mv("config.prof")), "boolean", "config.prof")
		T.eq(type(mv("opt.dss")), "string", "opt.dss")
		T.raises("mallctl: unknown name 'no.such.thing'", mv, "no.such.thing")
		T.raises("is not readable", mv, "arena.0.purge")
		T.raises("string expected, got table", mv, {})
	end)

	T.case("dumpheap and profactive answer as skynet's without profiling", function()
		if not memory.mallctl_value("opt.prof") then
			T.eq(select("#", memory.dumpheap()), 0, "dumpheap: a no-op, no result")
			T.eq(memory.profactive(), false, "profactive() is false")
			T.eq(memory.profactive(true), false, "setting does nothing")
			T.eq(memory.profactive("on"), false, "the console's strings")
			T.eq(memory.profactive(), false, "still off")
		end
	end)
else
	T.case("jemalloc functions answer as skynet's NOUSE_JEMALLOC build", function()
		T.eq(memory.mallctl("stats.allocated"), 0, "mallctl")
		T.eq(memory.jestat()["stats.allocated"], 0, "jestat")
		T.eq(memory.profactive(true), false, "profactive")
		T.eq(select("#", memory.dumpheap()), 0, "dumpheap")
		memory.dumpinfo()
		T.raises("needs jemalloc", memory.mallctl_value, "stats.allocated")
	end)
end

-- The views' renderer (lualib-src/mem-views.c, mem-history.c, mem-utf8.c),
-- the one skynet's memory_web and the project's host both serve.
T.case("utf8: U+FFFD for bad bytes, each view's escapes", function()
	local bad = "a\xffb\xc3"          -- a stray byte, a sequence cut short
	T.eq(memory.utf8(bad), "a\u{fffd}b\u{fffd}", "raw")
	T.eq(memory.utf8("\xed\xa0\x80"), "\u{fffd}\u{fffd}\u{fffd}", "a surrogate")
	T.eq(memory.utf8('say "hi"\\\n', "label"), 'say \\"hi\\"\\\\\\n', "label")
	T.eq(memory.utf8("tab\there\n", "line"), "tab?here?", "line")
	T.eq(memory.utf8('q"\1房', "json"), 'q\\"\\u0001房', "json")
	T.raises("invalid option", memory.utf8, "x", "html")
end)

T.case("metrics and json: a service's exact figures under its awkward name", function()
	local h = 0x0a000031
	local p = memtest.malloc(h, 3000)
	local st = memory.stat(h)
	local names = { [h] = 'room "1" \xff' }
	local text = memory.metrics({ names = names, lua_mem = { [h] = 77 }, mailbox = { [h] = 2 } })
	local label = string.format('{handle=":%08x",name="room \\"1\\" \u{fffd}"}', h)
	for metric, want in pairs {
		skynet_mem_service_c_bytes = st.bytes, skynet_mem_service_blocks = st.blocks,
		skynet_mem_service_lua_bytes = st.lua_bytes, skynet_mem_service_lua_mem_bytes = 77,
		skynet_mem_service_mailbox_messages = 2,
	} do
		assert(text:find("\n" .. metric .. label .. " " .. want .. "\n", 1, true), metric .. " of the service")
	end
	assert(text:find("# TYPE skynet_mem_c_bytes gauge\n", 1, true), "the totals")
	assert(not text:find("limit_refusals", 1, true), "no refusal counter unless the host counts them")
	local top = memory.metrics({ names = names }, 1)
	assert(top:find('skynet_mem_service_c_bytes{handle="rest",name="rest"}', 1, true), "top=1: a rest series")
	assert(top:find("\nskynet_mem_services_in_rest ", 1, true), "top=1: services_in_rest")
	assert(not top:find("lua_mem_bytes", 1, true), "no own count: no such series")
	T.raises("top must be >= 0", memory.metrics, {}, -1)
	local json = memory.json({ names = names, lua_mem = { [h] = 77 } })
	local row = string.format('{"name": "room \\"1\\" \u{fffd}", "handle": ":%08x", "id": %d, "c_bytes": %d, "lua_bytes": %d, "lua_mem": 77, "blocks": %d',
		h, h, st.bytes, st.lua_bytes, st.blocks)
	assert(json:find(row, 1, true), "the service's row in /memory.json:\n" .. json)
	memtest.free(p)
end)

T.case("history: samples of the largest services, named, newer than since", function()
	local h = 0x0a000032
	local p = memtest.malloc(h, 1 << 20)   -- the largest service here
	local ring = memory.history(3)
	local unnamed = ring:sample(1000, {})
	assert(unnamed and #unnamed >= 1, "sample() returns the services it could not name")
	ring:rename({ [h] = "big" })
	for t = 2000, 4000, 1000 do ring:sample(t, { [h] = "big" }) end
	local all = ring:json(0, 4500)
	assert(all:find('"capacity":3,', 1, true) and all:find('"now":4500,', 1, true), all)
	local n = select(2, all:gsub('{"t":', ""))
	T.eq(n, 3, "the ring keeps its last 3 samples")
	assert(not all:find('{"t":1000,', 1, true), "the oldest sample went")
	assert(all:find(string.format('"names":{[^}]*":%08x":"big"', h)), "the service is named")
	local newer = ring:json(3000, 4500)
	T.eq(select(2, newer:gsub('{"t":', "")), 1, "since: only newer samples")
	T.raises("capacity must be 1..86400", memory.history, 0)
	memtest.free(p)
end)

-- What skynet's memory_web reads of the layer: the limit crossings (without
-- taking them) and the exits that left memory, each listed once.
T.case("history: limit hits and exits that left memory, and their metrics", function()
	local hog, leaker = 0x0a000040, 0x0a000041
	local ring = memory.history(4)
	ring:sample(1000, {})
	local before = tonumber(ring:json(0, 1000):match('"limit_refusals":(%d+)'))
	local base = memtest.malloc(hog, 100)
	local st = memory.stat(hog)
	assert(memory.setlimit(hog, st.bytes + st.lua_bytes + 1000))
	T.raises("not enough memory", memtest.malloc, hog, 4096)
	local p = memtest.malloc(leaker, 3000)
	memtest.exit(leaker)
	ring:sample(2000, {})
	local j = ring:json(0, 2500)
	T.eq(tonumber(j:match('"limit_refusals":(%d+)')), before + 1, "the refusal counted")
	local hit = j:match(string.format('"limit_hits":%%[.-({"handle":":%08x",[^}]*})', hog))
	assert(hit and hit:find('"kind":"C","refused":true,', 1, true) and hit:find('"count":1}', 1, true), hit or j)
	assert(hit:find('"first":2000,"last":2000,', 1, true), "seen at the sample: " .. hit)
	local exit = string.format('{"handle":":%08x","name":"[^"]*","t":2000,"bytes":%d,"blocks":1,"lua_bytes":0,"leak":true,',
		leaker, memtest.charge(p))
	assert(j:find(exit), "the leaker's exit: " .. j)
	ring:sample(3000, {})
	j = ring:json(0, 3500)
	T.eq(select(2, j:gsub(string.format('"handle":":%08x","name":"[^"]*","t":', leaker), "")), 1, "one exit, listed once")
	local text = memory.metrics({ limit_refusals = true })
	assert(text:find("\nskynet_mem_limit_refusals_total " .. (before + 1) .. "\n", 1, true), "the refusals' counter")
	assert(text:find(string.format('\nskynet_mem_service_limit_hits_total{handle=":%08x",name=""} 1\n', hog), 1, true),
		"the hog's crossing")
	memory.setlimit(hog, 0)
	memtest.free(base)
	memtest.free(p)
end)

T.done()
