-- caller DEST: skynet.call(DEST, "lua", "ping"), reports "got <answer>".
local skynet = require "skynet"
local dest = math.tointeger((...))
skynet.start(function()
	local ok, r = pcall(skynet.call, dest, "lua", "ping")
	skynet.send(".probe", "text", "got " .. tostring(ok) .. " " .. tostring(r))
end)
