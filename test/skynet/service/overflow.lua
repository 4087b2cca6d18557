-- overflow: a service whose C module writes one byte past a malloc'd block.
local skynet = require "skynet"
local overflow = require "skynet_mem_overflow"

skynet.start(function()
	print("overflow: injected by " .. skynet.address(skynet.self()))
	overflow.write_past(24)
end)
