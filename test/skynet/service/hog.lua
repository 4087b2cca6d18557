-- hog: grows its Lua heap on demand, to check limits and warnings.
--   hog snlua : starts with skynet.memlimit(4 MiB), snlua's own limit
--   hog       : no limit of its own (memcheck sets the layer's)
-- fill n: keeps n more strings of 1 KiB; returns pcall's ok, err.
-- count: its Lua heap as snlua counts it; drop: lets go of the strings.
local skynet = require "skynet"

local mode = ...
if mode == "snlua" then
	skynet.memlimit(4 << 20)   -- must be set before skynet.start
end

local kept = {}
local command = {}

function command.fill(n)
	return pcall(function()
		for i = 1, n do
			kept[#kept + 1] = string.rep("h", 1023) .. string.char(i % 256)
		end
	end)
end

function command.drop()
	kept = {}
	collectgarbage()
	return true
end

require "serve"(command)
