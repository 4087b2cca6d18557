-- labelled: a name needing escapes in Prometheus labels and JSON.
local skynet = require "skynet"
local core = require "skynet.core"
skynet.start(function()
	core.label('we"ird\\na\nme')
	skynet.send(".probe", "text", "done")
end)
