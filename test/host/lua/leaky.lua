-- leaky K S: allocates K C blocks of S bytes, never frees them, exits.
local skynet = require "skynet"
local core = require "skynet.core"
local K, S = ...
K, S = math.tointeger(K), math.tointeger(S)
skynet.start(function()
	for i = 1, K do assert(core.cmalloc(S)) end
	skynet.exit()
end)
