-- dumpheap and profactive in a process started with heap profiling on
-- (MALLOC_CONF=prof:true,prof_active:false, set by ctest). jemalloc builds only.
package.path = arg[0]:match("^(.*/)") .. "?.lua;" .. package.path
local T = require "testlib"
local memory = require "skynet.memory"

T.case("profactive reads and sets prof.active, returning the old value", function()
	T.eq(memory.mallctl_value("opt.prof"), true, "profiling on")
	T.eq(memory.mallctl("opt.prof"), 1, "skynet's mallctl: an integer")
	T.eq(memory.profactive(), false, "off at start")
	T.eq(memory.profactive(true), false, "old value")
	T.eq(memory.profactive(), true, "now on")
	T.eq(memory.profactive(false), true, "old value")
	T.eq(memory.profactive(), false, "off again")
	-- The debug console passes its argument as text.
	T.eq(memory.profactive("true"), false, "a string is true")
	T.eq(memory.profactive(), true, "on through a string")
	memory.profactive(false)
end)

T.case("dumpheap writes a heap profile", function()
	local file = os.tmpname()
	os.remove(file)
	memory.profactive(true)
	local keep = {}
	for i = 1, 1000 do
		keep[i] = string.rep("x", 1000 + i)
	end
	memory.dumpheap(file)
	memory.profactive(false)
	local f = assert(io.open(file, "r"), "no profile written")
	local head = f:read("l")
	f:close()
	os.remove(file)
	assert(head and head:find("heap", 1, true), "a jemalloc heap profile: " .. tostring(head))
	T.eq(select("#", memory.dumpheap("/nonexistent-dir/x.heap")), 0, "a failed dump raises nothing, as in skynet")
end)

T.done()
