-- hog LIMIT: a limit on C + Lua bytes; a C block past it is refused, the Lua
-- heap grows until "not enough memory"; then the service answers "ping".
local skynet = require "skynet"
local core = require "skynet.core"
local LIMIT = math.tointeger((...))
skynet.start(function()
	skynet.memlimit(LIMIT)
	local c = core.cmalloc(LIMIT)
	skynet.send(".probe", "text", "cmalloc " .. tostring(c))
	local t = {}
	local ok, err = pcall(function()
		for i = 1, math.huge do t[i] = string.rep("z", 1000 + i) end
	end)
	t = nil
	collectgarbage()
	skynet.send(".probe", "text", "hit " .. tostring(ok) .. " " .. tostring(err))
	skynet.dispatch("lua", function(session, source, cmd)
		skynet.retpack(cmd == "ping" and "pong" or "?")
	end)
end)
