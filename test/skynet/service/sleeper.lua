-- sleeper: waits on a long timeout (churn kills it meanwhile).
local skynet = require "skynet"
skynet.start(function()
	skynet.timeout(100000, function() end)
end)
