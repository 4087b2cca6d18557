-- names [probe]: starts one "namer" service per awkward name (UTF-8, emoji,
-- quotes, backslashes, newlines, invalid bytes); with "probe", tells .probe
-- "done" once all of them run. The names are in namer.lua.
local skynet = require "skynet"
local mode = ...
skynet.start(function()
	for i = 1, 8 do skynet.newservice("namer", i) end
	if mode == "probe" then skynet.send(".probe", "text", "done") end
	skynet.dispatch("lua", function() end)
end)
