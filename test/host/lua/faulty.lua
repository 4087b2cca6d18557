-- faulty: every request raises an error.
local skynet = require "skynet"
skynet.start(function()
	skynet.dispatch("lua", function(session, source, cmd)
		error("faulty: cannot " .. tostring(cmd))
	end)
end)
