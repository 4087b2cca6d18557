-- storm SPAMMERS S: a target flooded by SPAMMERS services, killed mid-storm.
local skynet = require "skynet"
local M, S = ...
M, S = math.tointeger(M), math.tointeger(S)
skynet.start(function()
	local target = skynet.newservice("idle")
	for i = 1, M do skynet.newservice("spammer", target, S) end
	skynet.sleep(5)
	skynet.kill(target)
	skynet.send(".probe", "text", "done " .. target)
end)
