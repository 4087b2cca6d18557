-- limits: C and Lua growth past a service's limit leave the node alive;
-- the C allocation succeeds and the crossing is logged once; Lua's fails
-- with a catchable "not enough memory".
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
	memory.setlimit(g, 0)
	skynet.kill(g)
end)
