-- leaker: keeps one C block it never frees (churn kills it).
local skynet = require "skynet"
LEAKED = nil
skynet.start(function()
	LEAKED = skynet.pack(string.rep("l", 100))   -- a lightuserdata: the buffer stays
end)
