-- selfstat K S: allocates K C blocks of S bytes, then reports what
-- skynet.memory says of itself: "stat <blocks> <bytes> <current>".
local skynet = require "skynet"
local core = require "skynet.core"
local memory = require "skynet.memory"
local K, S = ...
K, S = math.tointeger(K), math.tointeger(S)
local keep = {}
skynet.start(function()
	for i = 1, K do keep[i] = core.cmalloc(S) end
	local st = memory.stat(skynet.self())
	skynet.send(".probe", "text", string.format("stat %d %d %d", st.blocks, st.bytes, memory.current()))
end)
