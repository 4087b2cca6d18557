-- flood N S: starts a target, sends it N messages of S bytes and kills it
-- at once: messages are delivered or dropped, and freed either way.
local skynet = require "skynet"
local N, S = ...
N, S = math.tointeger(N), math.tointeger(S)
skynet.start(function()
	local target = skynet.newservice("idle")
	for i = 1, N do skynet.send(target, "text", string.rep("y", S)) end
	skynet.kill(target)
	skynet.send(".probe", "text", "done " .. target)
end)
