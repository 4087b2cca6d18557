-- alloc K S: allocates K C blocks of S bytes, keeps them, reports "done".
local skynet = require "skynet"
local core = require "skynet.core"
local K, S = ...
K, S = math.tointeger(K), math.tointeger(S)
local keep = {}
skynet.start(function()
	for i = 1, K do keep[i] = assert(core.cmalloc(S)) end
	if K > 0 then skynet.error("alloc: block owner", skynet.address(core.cowner(keep[1]))) end
	skynet.send(".probe", "text", "done")
	skynet.dispatch("lua", function(session, source, cmd)
		if cmd == "free" then
			for i = 1, #keep do core.cfree(keep[i]) end
			keep = {}
			skynet.retpack(true)
		end
	end)
end)
