-- idle: takes every message and does nothing.
local skynet = require "skynet"
skynet.start(function()
	skynet.dispatch("text", function() end)
	skynet.dispatch("lua", function() end)
end)
