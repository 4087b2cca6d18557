-- ticker: another service of the node, beside a guarded one (doublefree.lua):
-- counts a tick every 10 ms, writes each as one line ("doublefree: tick N",
-- one write, so lines of other services do not split it), answers its count.
local skynet = require "skynet"

local n = 0

skynet.start(function()
	skynet.dispatch("lua", function()
		skynet.ret(skynet.pack(n))
	end)
	skynet.fork(function()
		while true do
			n = n + 1
			io.stdout:write("doublefree: tick " .. n .. "\n")
			skynet.sleep(1)
		end
	end)
end)
