-- memcheck: exact figures of skynet services through skynet.memory and
-- through skynet's own debug console (on loopback, a port the system picks).
-- Prints "memcheck: ok" when every check held, "memcheck: FAIL ..." otherwise.
-- The config's harness_prof is "on" when the process runs with MALLOC_CONF=prof:true.
local skynet = require "skynet"
require "skynet.manager"   -- skynet.kill
local memory = require "skynet.memory"

local PROF = skynet.getenv "harness_prof" == "on"
local K = 1000          -- C blocks kept
local STRINGS = 20000   -- Lua strings grown

local T = require "testlib"
local check, eq, log_text, poll, count = T.check, T.eq, T.log_text, T.poll, T.count

-- The debug console: one command, its lines up to <CMD OK> (<CMD Error> fails).
local console = {}
function console.open()
	console.fd = T.console_open(T.console_start())
end
function console.cmd(line)
	return T.console_cmd(console.fd, line)
end
-- cmem's lines ("key\tvalue") as a table.
function console.cmem()
	local t = {}
	for _, l in ipairs(console.cmd "cmem") do
		local k, v = l:match("^(%S+)\t(%d+)$")
		check(k, "cmem line: " .. l)
		t[k] = math.tointeger(tonumber(v))
	end
	return t
end

local function case_blocks(keeper, ctl)
	local base, base_ctl = T.settled(keeper), T.settled(ctl)
	eq(skynet.call(keeper, "lua", "keep", K), K, "keeper kept")
	local st = T.settled(keeper)
	eq(st.blocks, base.blocks + K, "K more C blocks")
	check(st.bytes >= base.bytes + K * 8, string.format("K more blocks' bytes: %d -> %d", base.bytes, st.bytes))
	eq(memory.info()[keeper], st.bytes, "info() is the C bytes")
	eq(T.settled(ctl).blocks, base_ctl.blocks, "the control keeper did not change")
	local cmem = console.cmem()
	eq(cmem[skynet.address(keeper)], st.bytes, "console cmem shows the C bytes")
	check(math.type(cmem.total) == "integer" and math.type(cmem.block) == "integer", "cmem total/block")
	return st
end

local function case_lua_heap(keeper, before)
	eq(skynet.call(keeper, "lua", "grow", STRINGS), STRINGS, "keeper grew")
	local st = T.settled(keeper)
	local lua_count = skynet.call(keeper, "lua", "count")
	skynet.sleep(0)
	local lua_bytes = poll("the Lua heap published", function()
		local b = memory.stat(keeper).lua_bytes
		return b >= lua_count - 4096 and b <= lua_count * 1.25 + 4096 and b
	end)
	-- snlua's own count, within size-class rounding (at most 25% here): the
	-- poll above; and it holds the strings.
	check(lua_bytes >= STRINGS * 100, "the Lua heap shows in lua_bytes: " .. lua_bytes)
	eq(st.blocks, before.blocks, "the Lua heap is not C blocks")
	eq(st.bytes, before.bytes, "the Lua heap is not C bytes")
	eq(console.cmem()[skynet.address(keeper)], before.bytes, "cmem is C only")
	return st
end

local report_of = T.report_of

-- The keeper's report names exactly its K kept blocks (its context, mailbox,
-- instance and the code it loaded are gone or the code cache's by then), with
-- the bytes its retired record still holds, its name and no Lua heap; the
-- control, which kept nothing, is retired without a line.
local function case_kill(keeper, ctl)
	console.cmd("kill " .. skynet.address(keeper))
	console.cmd("kill " .. skynet.address(ctl))
	local text = poll("the leftover report of " .. skynet.address(keeper), function()
		local t = log_text()
		return t:find(report_of(keeper), 1, true) and t
	end)
	local bytes, blocks = text:match(report_of(keeper):gsub("%p", "%%%0") .. " (%d+) bytes in (%d+) blocks, lua 0 bytes %(snlua keeper%)")
	check(blocks, "the report of " .. skynet.address(keeper) .. " says lua 0 bytes and its name")
	eq(math.tointeger(tonumber(blocks)), K, "the report names the blocks kept")
	local st = memory.stat(keeper)
	check(st, "an exited service holding blocks keeps its record")
	eq(st.retired, true, "retired")
	eq(st.blocks, K, "leftover blocks")
	eq(math.tointeger(tonumber(bytes)), st.bytes, "the report names the bytes left")
	eq(st.lua_bytes, 0, "its Lua heap is gone")
	eq(st.name, "snlua keeper", "a retired record keeps its name")
	poll("the control retired", function()
		local c = memory.stat(ctl)
		return c == nil or c.retired
	end)
	eq(count(log_text(), report_of(ctl)), 0, "a service that kept nothing exits without a line")
end

local function case_console_prof()
	local state = PROF and "active" or "deactive"
	eq(memory.mallctl("opt.prof"), PROF and 1 or 0, "mallctl opt.prof is an integer")
	eq(memory.mallctl("no.such.control"), 0, "mallctl of an unknown name")
	check(memory.mallctl("stats.allocated") > 0, "mallctl stats.allocated")
	eq(console.cmd("profactive")[1], "heap profilling is " .. state, "profactive")
	eq(console.cmd("profactive off")[1], "heap profilling is deactive", "profactive off")
	eq(console.cmd("profactive on")[1], "heap profilling is " .. state, "profactive on")
	eq(#console.cmd("dumpheap"), 0, "dumpheap prints nothing")
	local ls = io.popen("ls jeprof.*.heap 2>/dev/null")
	local files = ls:read "a"
	ls:close()
	if PROF then
		check(files:find("heap"), "dumpheap wrote a heap profile")
	else
		eq(files, "", "no heap profile without profiling")
	end
	local jmem = console.cmd "jmem"
	eq(#jmem, 5, "jmem: skynet's five jemalloc figures")
end

-- snlua's skynet.memlimit, the layer's limit, snlua's heap warning.
local function case_limits()
	local snlua = skynet.newservice("hog", "snlua")
	local ok, err = skynet.call(snlua, "lua", "fill", 8192)
	eq(ok, false, "past skynet.memlimit the allocation fails")
	check(tostring(err):find("not enough memory", 1, true), "snlua's limit: " .. tostring(err))
	eq(skynet.call(snlua, "lua", "drop"), true, "and the service lives on")

	local hog = skynet.newservice "hog"
	skynet.sleep(0)
	local limit = memory.stat(hog).total + (4 << 20)
	memory.setlimit(hog, limit)
	ok, err = skynet.call(hog, "lua", "fill", 8192)
	eq(ok, false, "past the layer's limit the allocation fails")
	check(tostring(err):find("not enough memory", 1, true), "the layer's limit: " .. tostring(err))
	-- skynet's soft C limits: the Lua heap itself stays under the limit (C +
	-- Lua may pass it; that is a crossing, logged).
	check(memory.stat(hog).lua_bytes <= limit, "the Lua heap stays under the layer's limit")
	-- After the refusals Lua's own count and the layer's charge still agree,
	-- within size-class rounding.
	local snlua_count = skynet.call(hog, "lua", "count")
	skynet.sleep(0)
	local heap = poll("the hog's heap published", function()
		local b = memory.stat(hog).lua_bytes
		return b >= snlua_count - 4096 and b <= snlua_count * 1.25 + 4096 and b
	end, 5)
	check(heap > 0, "the hog's heap")
	eq(skynet.call(hog, "lua", "drop"), true, "and the service lives on")
	memory.setlimit(hog, 0)

	local c_before = memory.total()
	ok = skynet.call(hog, "lua", "fill", 34 << 10)   -- 34 MiB: past snlua's 32 MiB warning
	eq(ok, true, "no limit: the heap grows")
	local hog_st = memory.stat(hog)
	check(hog_st.lua_bytes >= 34 << 20, "34 MiB of Lua heap in lua_bytes")
	-- skynet's figures are C only: the 34 MiB Lua heap is in none of them.
	check(memory.total() < c_before + (4 << 20),
		string.format("total() is C only: %d -> %d with a 34 MiB Lua heap", c_before, memory.total()))
	check((memory.info()[hog] or 0) < 4 << 20, "info() of the hog is C only: " .. tostring(memory.info()[hog]))
	check((console.cmem()[skynet.address(hog)] or 0) < 4 << 20, "cmem of the hog is C only")
	check(memory.current() < 4 << 20, "current() is C only: " .. memory.current())
	poll("snlua's memory warning", function()
		return log_text():find(string.format("[%s] Memory warning 32", skynet.address(hog)), 1, true)
	end)
	-- One warning per crossing: snlua's, not the layer's as well (the glue
	-- turns the layer's off; skynet_test.sh checks stderr has none).
	eq(count(log_text(), "Memory warning"), 1, "one heap warning in the log")
	skynet.call(hog, "lua", "drop")
	skynet.kill(snlua)
	skynet.kill(hog)
end

-- memory.dump() and the C dump_c_mem (called by the overflow module's
-- dump()) both write skynet's lines through its logger.
local function case_dump()
	memory.dump()
	-- from the service that asked (not [:00000000])
	local me = "[" .. skynet.address(skynet.self()) .. "] "
	poll("dump in the log", function()
		local t = log_text()
		return t:find(me .. "dump all service mem:", 1, true) and t:find(me:gsub("%p", "%%%0") .. "%+total: %d+kb")
	end)
	local before = count(log_text(), "] dump all service mem:")
	require("skynet_mem_overflow").dump_c_mem()
	poll("dump_c_mem in the log", function()
		local t = log_text()
		return count(t, "] dump all service mem:") == before + 1 and count(t, "] +total: ") == before + 1
	end)
end

T.start("memcheck", function()
	console.open()
	-- The first to load keeper.lua owns its cached code: not the two compared.
	skynet.newservice "keeper"
	local keeper, ctl = skynet.newservice "keeper", skynet.newservice "keeper"
	local kept = case_blocks(keeper, ctl)
	case_lua_heap(keeper, kept)
	case_kill(keeper, ctl)
	case_console_prof()
	case_limits()
	case_dump()
	eq(count(log_text(), report_of(keeper)), 1, "the leftover is reported once")
	eq(count(log_text(), report_of(ctl)), 0, "the control exits without a line")
end)
