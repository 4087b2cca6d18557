-- garbage: stops its GC, makes about 2 MB of garbage, reports "done".
local skynet = require "skynet"
skynet.start(function()
	collectgarbage("stop")
	for i = 1, 2000 do local t = { string.rep("g", 1000 + i) } end
	skynet.send(".probe", "text", "done")
end)
