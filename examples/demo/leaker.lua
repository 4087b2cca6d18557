-- A buggy service: every half second it allocates C memory (as a C library
-- would) and forgets it. After a while it exits, and the host's exit report
-- shows exactly what it leaked.
local skynet = require "skynet"
local core = require "skynet.core"

local LIFETIME = 8     -- seconds
local CHUNK = 16 * 1024

skynet.start(function()
	skynet.fork(function()
		for tick = 1, LIFETIME * 2 do
			core.cmalloc(CHUNK)   -- never freed: the leak
			skynet.sleep(50)
		end
		skynet.error("leaker: exiting, look at its exit report")
		skynet.newservice("leaker")   -- the bug lives on in the next one
		skynet.exit()
	end)
end)
