-- spammer TARGET S: sends TARGET messages of S bytes until it is gone,
-- yielding now and then; reports "done <messages sent>".
local skynet = require "skynet"
local target, S = ...
target, S = math.tointeger(target), math.tointeger(S)
skynet.start(function()
	local payload = string.rep("s", S)
	local n = 0
	while skynet.send(target, "text", payload) do
		n = n + 1
		if n % 16 == 0 then skynet.yield() end
	end
	skynet.send(".probe", "text", "done " .. n)
end)
