-- limits: C and Lua growth past a service's limit leave the node alive;
-- the C allocation succeeds and the crossing is logged once; Lua's fails
-- with a catchable "not enough memory" when the Lua heap itself would pass
-- the limit, and C bytes past it never stop the service's Lua.
local skynet = require "skynet"
require "skynet.manager"
local memory = require "skynet.memory"
local T = require "testlib"

T.start("limits", function()
	local g = skynet.newservice "grower"
	T.eq(skynet.call(g, "lua", "prepare", 8), true, "prepared")
	local st = T.settled(g)
	local limit = st.bytes + st.lua_bytes + 512 * 1024
	memory.setlimit(g, limit)
	-- 8 packs of 256 KiB: C blocks past the limit, in skynet's own C code;
	-- then Lua growth, caught.
	local made, ok, err = skynet.call(g, "lua", "cgrow")
	T.eq(made, 8, "every C block was made")
	T.eq(ok, false, "Lua growth past the limit fails")
	T.check(tostring(err):find("not enough memory", 1, true), "a Lua memory error: " .. tostring(err))
	-- skynet.pack makes small blocks, then the buffer, then frees the small
	-- ones: usage may cross more than once; each crossing is one line.
	local hits = memory.stat(g).limit_hits
	T.check(hits >= 1, "a crossing")
	local line = string.format("skynet-mem: service %s passed its limit of %d bytes", skynet.address(g), limit)
	local text = T.poll("the crossing's line", function()
		local t = T.log_text()
		return t:find(line, 1, true) and t
	end)
	T.eq(T.count(text, line), hits, "one line per crossing")
	local used, request = text:match(line:gsub("%p", "%%%0") .. " %((%d+) used%): a C allocation of (%d+) bytes admitted %(snlua grower%)")
	T.check(used and tonumber(used) + tonumber(request) > limit, "the line says a C block was admitted past the limit")
	-- The service lives on: it frees and grows again under the limit.
	T.check(skynet.call(g, "lua", "count") > 0, "it still answers")
	-- C kept past the limit: the service still runs Lua; Lua growth past the
	-- limit by itself is caught in a pcall and the service goes on.
	T.eq(skynet.call(g, "lua", "keep"), 8, "buffers kept")
	T.check(T.settled(g).bytes > limit, "its C bytes alone are past the limit")
	local lok, lerr, after = skynet.call(g, "lua", "lgrow")
	T.eq(lok, false, "Lua growth past the limit fails with C past it")
	T.check(lerr:find("not enough memory", 1, true), "a catchable Lua memory error: " .. lerr)
	T.eq(after, "after: false", "Lua runs after the error")
	T.eq(skynet.call(g, "lua", "drop"), true, "buffers freed")
	memory.setlimit(g, 0)
	skynet.kill(g)
	-- A 1 MiB payload to a limited receiver: queued C and its unpacked Lua
	-- string together pass the limit, the string alone does not: it answers.
	local r = skynet.newservice "grower"
	local rs = T.settled(r)
	memory.setlimit(r, rs.bytes + rs.lua_bytes + 1536 * 1024)
	T.eq(skynet.call(r, "lua", "len", string.rep("m", 1024 * 1024)), 1024 * 1024, "a reply to the 1 MiB call")
	T.check(memory.stat(r).limit_hits >= 1, "C + Lua passed the receiver's limit")
	memory.setlimit(r, 0)
	skynet.kill(r)
end)
