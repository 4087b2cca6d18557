-- sender DEST S: sends one text message of S bytes to DEST, reports
-- "done <session or false>".
local skynet = require "skynet"
local dest, S = ...
dest, S = math.tointeger(dest), math.tointeger(S)
skynet.start(function()
	local r = skynet.send(dest, "text", string.rep("x", S))
	skynet.send(".probe", "text", "done " .. tostring(r))
end)
