-- grower N S T K: every T centiseconds allocates N C blocks of S bytes, K
-- times, and keeps them; tells .probe "done" at the end.
local skynet = require "skynet"
local core = require "skynet.core"
local N, S, T, K = ...
N, S, T, K = math.tointeger(N), math.tointeger(S), math.tointeger(T), math.tointeger(K)
local keep = {}
skynet.start(function()
	for _ = 1, K do
		for _ = 1, N do keep[#keep + 1] = assert(core.cmalloc(S)) end
		skynet.sleep(T)
	end
	skynet.send(".probe", "text", "done")
	skynet.dispatch("lua", function() end)
end)
