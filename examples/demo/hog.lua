-- A service whose Lua heap grows until it reaches its limit: the allocation
-- fails with "not enough memory", the service recovers, the server lives on.
local skynet = require "skynet"

local LIMIT = 4 * 1024 * 1024

skynet.start(function()
	skynet.memlimit(LIMIT)
	skynet.fork(function()
		local round = 0
		while true do
			round = round + 1
			local cache = {}
			local ok, err = pcall(function()
				for i = 1, math.huge do
					cache[i] = string.rep(string.char(65 + i % 26), 64 * 1024)
					if i % 8 == 0 then skynet.sleep(20) end
				end
			end)
			skynet.error(string.format("hog: round %d hit its %d KiB limit after %d entries: %s (the service and the server go on)",
				round, LIMIT // 1024, #cache, tostring(err)))
			cache = nil
			collectgarbage()
			skynet.sleep(200)
		end
	end)
end)
