-- Lua heaps under the accounted allocator, seen from skynet.memory: a state's
-- heap shows in its service's record, limits make growth fail with "not
-- enough memory" while the state (and the process) keep working, and closing
-- the state gives everything back. ctest passes WORKLOAD (workload.lua).
package.path = arg[0]:match("^(.*/)") .. "?.lua;" .. package.path
local T = require "testlib"
local memory = require "skynet.memory"
local memtest = require "memtest"

-- Size-class rounding: the charge is never below what Lua asked for, and on
-- the mixed workload below it stays well within this ratio.
local MAX_RATIO = 1.5

local function check_follows(state, h, what)
	local asked, charged = state:bytes(), memory.stat(h).lua_bytes
	assert(charged >= asked, ("%s: charged %d < Lua's count %d"):format(what, charged, asked))
	assert(charged <= asked * MAX_RATIO, ("%s: charged %d > %.2f x Lua's count %d"):format(what, charged, MAX_RATIO, asked))
end

T.case("a state's heap is its service's lua_bytes, and 0 once closed", function()
	local h = 0x0b000001
	local s = memtest.newstate(h)
	check_follows(s, h, "fresh state")
	local ok, sum = s:run(("return dofile(%q).run(1)"):format(WORKLOAD))
	assert(ok, sum)
	assert(sum > 0, "workload checksum")
	check_follows(s, h, "after the workload")
	assert(s:run("keep = {} for i = 1, 50000 do keep[i] = { i, tostring(i) } end"))
	check_follows(s, h, "holding 50000 tables")
	local st = memory.stat(h)
	T.eq(st.bytes, 0, "no C bytes")
	T.eq(st.total, st.lua_bytes, "total counts the Lua heap")
	assert(st.allocs > 50000 and st.frees > 0, "Lua blocks are counted")
	assert(st.peak >= st.lua_bytes, "peak")
	T.eq(memory.info()[h], nil, "info is C bytes only, as skynet's cmem")
	T.eq(memory.top(1, "lua_bytes")[1].handle, h, "top by lua_bytes")
	s:close()
	T.eq(memory.stat(h).lua_bytes, 0, "closed state holds nothing")
	T.eq(memory.stat(h).allocs, memory.stat(h).frees, "every block freed")
end)

T.case("past its limit a state gets 'not enough memory' and keeps working", function()
	local h = 0x0b000002
	local s = memtest.newstate(h)
	local base = memory.stat(h).total
	local limit = base + (2 << 20)
	memory.setlimit(h, limit)
	local ok, err = s:run("local t = {} for i = 1, 1e8 do t[i] = i end")
	T.eq(ok, false, "the runaway chunk fails")
	assert(err:find("not enough memory", 1, true), err)
	assert(memory.stat(h).total <= limit, "usage stays under the limit")
	-- Inside the state, pcall sees the error too.
	local ok2, msg = s:run("local ok, e = pcall(string.rep, 'x', 64 << 20) return e")
	assert(ok2, msg)
	T.eq(msg, "not enough memory", "pcall inside the state")
	-- And it keeps working.
	local ok3, v = s:run("local t = {} for i = 1, 1000 do t[i] = i * 2 end return t[1000]")
	T.eq(ok3, true, "works after")
	T.eq(v, 2000, "result after")
	memory.setlimit(h, 0)
	local ok4 = s:run("big = string.rep('y', 8 << 20)")
	T.eq(ok4, true, "no limit, big strings again")
	s:close()
	T.eq(memory.stat(h).total, 0, "closed")
end)

T.case("C bytes and Lua bytes share one limit", function()
	local h = 0x0b000003
	local s = memtest.newstate(h)
	memory.setlimit(h, memory.stat(h).total + (4 << 20))
	local p = memtest.malloc(h, 3 << 20)   -- C takes most of the room
	local ok, err = s:run("x = string.rep('z', 1 << 20)")
	T.eq(ok, false, "Lua cannot have what C holds")
	assert(err:find("not enough memory", 1, true), err)
	memtest.free(p)
	T.eq(s:run("x = string.rep('z', 1 << 20) return #x"), true, "room again once C frees")
	T.raises("not enough memory", memtest.malloc, h, 3 << 20)   -- and the other way
	memory.setlimit(h, 0)
	s:close()
end)

T.case("a limit below current usage: growth fails, frees always work", function()
	local h = 0x0b000004
	local s = memtest.newstate(h)
	assert(s:run("keep = {} for i = 1, 20000 do keep[i] = tostring(i) .. 'abc' end"))
	local before = memory.stat(h).lua_bytes
	memory.setlimit(h, 1)
	local ok, err = s:run("return 1")
	T.eq(ok, false, "even compiling a chunk needs memory")
	assert(err:find("not enough memory", 1, true), err)
	assert(memory.stat(h).lua_bytes <= before, "nothing grew")
	s:close()   -- frees proceed under any limit
	T.eq(memory.stat(h).lua_bytes, 0, "closed under the limit")
	memory.setlimit(h, 0)
end)

T.case("many states rank by their heaps", function()
	local states = {}
	for i = 1, 5 do
		local h = 0x0b000100 + i
		states[i] = memtest.newstate(h)
		assert(states[i]:run(("t = {} for i = 1, %d do t[i] = {} end"):format(i * 20000)))
	end
	local top = memory.top(5, "lua_bytes")
	for i = 1, 5 do
		T.eq(top[i].handle, 0x0b000100 + 6 - i, "rank " .. i)
	end
	for i = 1, 5 do
		states[i]:close()
	end
end)

T.done()
