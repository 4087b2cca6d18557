-- trasher: on "trash", packs a message and frees it twice (skynet.trash).
local skynet = require "skynet"

skynet.start(function()
	skynet.dispatch("lua", function(_, _, what)
		if what == "trash" then
			local msg, sz = skynet.pack("a message", 42)
			skynet.trash(msg, sz)
			skynet.trash(msg, sz)
			print("doublefree: not caught")
		end
	end)
end)
